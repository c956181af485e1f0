// SPDX-License-Identifier: GPL-2.0-only
/*
 * serf's query messages (see serfquery.h).  Maps are read by key name and
 * unknown keys skipped, as go-msgpack decodes into a struct; written with
 * serf's field names.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

#include "lib/msgpack.h"
#include "serf/serf.h"
#include "serf/serfquery.h"


#define Q struct mg_serf_query
static const struct mg_mp_field query_fields[] = {
	MG_MP_FIELD_UINT(Q, "LTime", ltime, UINT64_MAX),
	MG_MP_FIELD_UINT(Q, "ID", id, UINT32_MAX),
	{ .name = "Addr", .type = MG_MP_F_BYTES, .off = offsetof(Q, addr),
	  .len = offsetof(Q, addr_len), .required = true },
	MG_MP_FIELD_UINT(Q, "Port", port, UINT16_MAX),
	MG_MP_FIELD_STR(Q, "SourceNode", source, source_len),
	/* nil or an array; only its length matters to us */
	MG_MP_FIELD_RAW(Q, "Filters", filters, filters_len),
	MG_MP_FIELD_UINT(Q, "Flags", flags, UINT32_MAX),
	MG_MP_FIELD_UINT(Q, "RelayFactor", relay_factor, UINT8_MAX),
	MG_MP_FIELD_UINT(Q, "Timeout", timeout_ns, INT64_MAX),
	MG_MP_FIELD_STR(Q, "Name", name, name_len),
	MG_MP_FIELD_BYTES(Q, "Payload", payload, payload_len),
};
#undef Q

int mg_serf_query_decode(const uint8_t *p, size_t n, struct mg_serf_query *q)
{
	struct mg_mp_rd rd;
	int err;

	memset(q, 0, sizeof(*q));
	if (n < 2 || p[0] != MG_SERF_QUERY)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	err = mg_mp_read_fields(&rd, query_fields, MG_MP_NFIELDS(query_fields),
				q);
	if (!err && q->filters && q->filters[0] != 0xc0) {
		struct mg_mp_rd f;

		mg_mp_rd_init(&f, q->filters, q->filters_len);
		err = mg_mp_read_array(&f, &q->n_filters);
	}
	if (!err && (q->addr_len != 4 && q->addr_len != 16))
		err = -EBADMSG;
	return err ? -EBADMSG : 0;
}

int mg_serf_query_encode(const struct mg_serf_query *q, struct mg_buf *out)
{
	msgpack_packer pk;
	int err;

	mg_mp_packer_init(&pk, out);
	err = mg_buf_put_u8(out, MG_SERF_QUERY);
	err = err ?: msgpack_pack_map(&pk, 11);
	err = err ?: mg_mp_pack_cstr(&pk, "LTime");
	err = err ?: mg_mp_pack_uint(&pk, q->ltime);
	err = err ?: mg_mp_pack_cstr(&pk, "ID");
	err = err ?: mg_mp_pack_uint(&pk, q->id);
	err = err ?: mg_mp_pack_cstr(&pk, "Addr");
	err = err ?: mg_mp_pack_raw(&pk, q->addr, q->addr_len);
	err = err ?: mg_mp_pack_cstr(&pk, "Port");
	err = err ?: mg_mp_pack_uint(&pk, q->port);
	err = err ?: mg_mp_pack_cstr(&pk, "SourceNode");
	err = err ?: mg_mp_pack_raw(&pk, q->source, q->source_len);
	err = err ?: mg_mp_pack_cstr(&pk, "Filters");
	err = err ?: msgpack_pack_nil(&pk);
	err = err ?: mg_mp_pack_cstr(&pk, "Flags");
	err = err ?: mg_mp_pack_uint(&pk, q->flags);
	err = err ?: mg_mp_pack_cstr(&pk, "RelayFactor");
	err = err ?: mg_mp_pack_uint(&pk, q->relay_factor);
	err = err ?: mg_mp_pack_cstr(&pk, "Timeout");
	err = err ?: mg_mp_pack_uint(&pk, q->timeout_ns);
	err = err ?: mg_mp_pack_cstr(&pk, "Name");
	err = err ?: mg_mp_pack_raw(&pk, q->name, q->name_len);
	err = err ?: mg_mp_pack_cstr(&pk, "Payload");
	err = err ?: mg_mp_pack_raw(&pk, q->payload, q->payload_len);
	return err ? -ENOMEM : 0;
}

#define R struct mg_serf_response
static const struct mg_mp_field response_fields[] = {
	MG_MP_FIELD_UINT(R, "LTime", ltime, UINT64_MAX),
	MG_MP_FIELD_UINT(R, "ID", id, UINT32_MAX),
	MG_MP_FIELD_STR(R, "From", from, from_len),
	MG_MP_FIELD_UINT(R, "Flags", flags, UINT32_MAX),
	MG_MP_FIELD_BYTES(R, "Payload", payload, payload_len),
};
#undef R

int mg_serf_response_decode(const uint8_t *p, size_t n,
			    struct mg_serf_response *r)
{
	struct mg_mp_rd rd;

	memset(r, 0, sizeof(*r));
	if (n < 2 || p[0] != MG_SERF_QUERY_RESPONSE)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	if (mg_mp_read_fields(&rd, response_fields,
			      MG_MP_NFIELDS(response_fields), r))
		return -EBADMSG;
	return 0;
}

int mg_serf_response_encode(const struct mg_serf_response *r,
			    struct mg_buf *out)
{
	msgpack_packer pk;
	int err;

	mg_mp_packer_init(&pk, out);
	err = mg_buf_put_u8(out, MG_SERF_QUERY_RESPONSE);
	err = err ?: msgpack_pack_map(&pk, 5);
	err = err ?: mg_mp_pack_cstr(&pk, "LTime");
	err = err ?: mg_mp_pack_uint(&pk, r->ltime);
	err = err ?: mg_mp_pack_cstr(&pk, "ID");
	err = err ?: mg_mp_pack_uint(&pk, r->id);
	err = err ?: mg_mp_pack_cstr(&pk, "From");
	err = err ?: mg_mp_pack_raw(&pk, r->from, r->from_len);
	err = err ?: mg_mp_pack_cstr(&pk, "Flags");
	err = err ?: mg_mp_pack_uint(&pk, r->flags);
	err = err ?: mg_mp_pack_cstr(&pk, "Payload");
	err = err ?: mg_mp_pack_bytes(&pk, r->payload, r->payload_len);
	return err ? -ENOMEM : 0;
}

struct relay_hdr {
	const uint8_t *dest;
	uint32_t dest_len;
};

static const struct mg_mp_field relay_fields[] = {
	{ .name = "DestName", .type = MG_MP_F_STR,
	  .off = offsetof(struct relay_hdr, dest),
	  .len = offsetof(struct relay_hdr, dest_len), .required = true },
};

int mg_serf_relay_decode(const uint8_t *p, size_t n, const uint8_t **dest,
			 uint32_t *dest_len, const uint8_t **inner,
			 size_t *inner_len)
{
	struct relay_hdr h = { 0 };
	struct mg_mp_rd rd;
	int err;

	*dest = NULL;
	*dest_len = 0;
	if (n < 2 || p[0] != MG_SERF_RELAY_MSG)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	err = mg_mp_read_fields(&rd, relay_fields, MG_MP_NFIELDS(relay_fields),
				&h);
	*dest = h.dest;
	*dest_len = h.dest_len;
	if (err || !*dest_len || rd.off >= rd.n)
		return -EBADMSG;
	*inner = rd.p + rd.off;
	*inner_len = rd.n - rd.off;
	return 0;
}

int mg_serf_relay_encode(const uint8_t *addr, uint32_t addr_len,
			 uint16_t port, const uint8_t *dest, uint32_t dest_len,
			 const uint8_t *inner, size_t inner_len,
			 struct mg_buf *out)
{
	msgpack_packer pk;
	int err;

	mg_mp_packer_init(&pk, out);
	err = mg_buf_put_u8(out, MG_SERF_RELAY_MSG);
	err = err ?: msgpack_pack_map(&pk, 2);
	err = err ?: mg_mp_pack_cstr(&pk, "DestAddr");
	err = err ?: msgpack_pack_map(&pk, 3);
	err = err ?: mg_mp_pack_cstr(&pk, "IP");
	err = err ?: mg_mp_pack_raw(&pk, addr, addr_len);
	err = err ?: mg_mp_pack_cstr(&pk, "Port");
	err = err ?: mg_mp_pack_uint(&pk, port);
	err = err ?: mg_mp_pack_cstr(&pk, "Zone");
	err = err ?: mg_mp_pack_cstr(&pk, "");
	err = err ?: mg_mp_pack_cstr(&pk, "DestName");
	err = err ?: mg_mp_pack_raw(&pk, dest, dest_len);
	err = err ?: mg_buf_put(out, inner, inner_len);
	return err ? -ENOMEM : 0;
}

/* One filter (type byte, then msgpack): a node filter naming @self. */
static bool filter_ok(const uint8_t *f, uint32_t n, const char *self)
{
	const uint8_t *name;
	uint32_t count, len;
	struct mg_mp_rd rd;

	if (n < 1 || f[0] != 0)		/* filterTagType, or unknown */
		return false;
	mg_mp_rd_init(&rd, f + 1, n - 1);
	if (mg_mp_read_array(&rd, &count))
		return false;
	while (count--) {
		if (mg_mp_read_str(&rd, &name, &len))
			return false;
		if (len == strlen(self) && !memcmp(name, self, len))
			return true;
	}
	return false;
}

bool mg_serf_query_for(const struct mg_serf_query *q, const char *self)
{
	const uint8_t *f;
	struct mg_mp_rd rd;
	uint32_t count, len;

	if (!q->n_filters)
		return true;
	mg_mp_rd_init(&rd, q->filters, q->filters_len);
	if (mg_mp_read_array(&rd, &count))
		return false;
	while (count--)
		if (mg_mp_read_bytes(&rd, &f, &len) || !f ||
		    !filter_ok(f, len, self))
			return false;
	return true;
}

const char *mg_serf_key_query(const struct mg_serf_query *q)
{
	static const char *const verbs[] = {
		"install-key", "use-key", "remove-key", "list-keys",
	};
	size_t plen = strlen(MG_SERF_INTERNAL);

	if (q->name_len <= plen || memcmp(q->name, MG_SERF_INTERNAL, plen))
		return NULL;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (q->name_len - plen == strlen(verbs[i]) &&
		    !memcmp(q->name + plen, verbs[i], q->name_len - plen))
			return verbs[i];
	return NULL;
}

int mg_serf_key_request_encode(const struct mg_key *key, struct mg_buf *out)
{
	msgpack_packer pk;
	int err;

	mg_mp_packer_init(&pk, out);
	err = mg_buf_put_u8(out, MG_SERF_KEY_REQUEST);
	err = err ?: msgpack_pack_map(&pk, 1);
	err = err ?: mg_mp_pack_cstr(&pk, "Key");
	err = err ?: (key ? mg_mp_pack_raw(&pk, key->b, key->len) :
			    msgpack_pack_nil(&pk));
	return err ? -ENOMEM : 0;
}

struct key_req {
	const uint8_t *b;
	uint32_t len;
};

static const struct mg_mp_field key_req_fields[] = {
	MG_MP_FIELD_BYTES(struct key_req, "Key", b, len),
};

int mg_serf_key_request_decode(const uint8_t *p, size_t n, struct mg_key *key)
{
	struct key_req kr = { 0 };
	struct mg_mp_rd rd;

	memset(key, 0, sizeof(*key));
	if (n < 1 || p[0] != MG_SERF_KEY_REQUEST)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	if (mg_mp_read_fields(&rd, key_req_fields,
			      MG_MP_NFIELDS(key_req_fields), &kr))
		return -EBADMSG;
	if (kr.len != 16 && kr.len != 24 && kr.len != 32)
		return -EINVAL;
	key->len = kr.len;
	memcpy(key->b, kr.b, kr.len);
	return 0;
}

static int pack_key_b64(msgpack_packer *pk, const struct mg_key *k)
{
	unsigned char b64[4 * ((MG_KEY_MAX + 2) / 3) + 1];
	int n = EVP_EncodeBlock(b64, k->b, k->len);

	return mg_mp_pack_raw(pk, b64, n);
}

int mg_serf_key_result_encode(const struct mg_serf_key_result *kr,
			      struct mg_buf *out)
{
	msgpack_packer pk;
	int err;

	mg_mp_packer_init(&pk, out);
	err = mg_buf_put_u8(out, MG_SERF_KEY_RESPONSE);
	err = err ?: msgpack_pack_map(&pk, 4);
	err = err ?: mg_mp_pack_cstr(&pk, "Result");
	err = err ?: mg_mp_pack_bool(&pk, kr->result);
	err = err ?: mg_mp_pack_cstr(&pk, "Message");
	err = err ?: mg_mp_pack_cstr(&pk, kr->message ? kr->message : "");
	err = err ?: mg_mp_pack_cstr(&pk, "Keys");
	if (!kr->n_keys) {
		err = err ?: msgpack_pack_nil(&pk);
	} else {
		err = err ?: msgpack_pack_array(&pk, kr->n_keys);
		for (unsigned int i = 0; !err && i < kr->n_keys; i++)
			err = pack_key_b64(&pk, &kr->keys[i]);
	}
	err = err ?: mg_mp_pack_cstr(&pk, "PrimaryKey");
	err = err ?: (kr->primary ? pack_key_b64(&pk, kr->primary) :
				    mg_mp_pack_cstr(&pk, ""));
	return err ? -ENOMEM : 0;
}

/* serf's nodeKeyResponse as read: Keys kept encoded (nil or strings). */
struct key_res {
	bool result;
	const uint8_t *msg, *keys, *primary;
	uint32_t msg_len, primary_len;
	size_t keys_len;
};

static const struct mg_mp_field key_res_fields[] = {
	MG_MP_FIELD_BOOL(struct key_res, "Result", result),
	MG_MP_FIELD_STR(struct key_res, "Message", msg, msg_len),
	MG_MP_FIELD_RAW(struct key_res, "Keys", keys, keys_len),
	MG_MP_FIELD_STR(struct key_res, "PrimaryKey", primary, primary_len),
};

int mg_serf_key_result_decode(const uint8_t *p, size_t n, bool *result,
			      char *msg, size_t msg_size,
			      void (*key_fn)(void *ctx, const uint8_t *b64,
					     uint32_t len, bool primary),
			      void *ctx)
{
	struct key_res kr = { 0 };
	struct mg_mp_rd rd, keys;
	uint32_t nk, k, len;
	const uint8_t *s;
	int err;

	*result = false;
	if (msg_size)
		msg[0] = 0;
	if (n < 1 || p[0] != MG_SERF_KEY_RESPONSE)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	err = mg_mp_read_fields(&rd, key_res_fields,
				MG_MP_NFIELDS(key_res_fields), &kr);
	/* Keys: nil, or an array of strings, all read before any is given */
	nk = 0;
	mg_mp_rd_init(&keys, kr.keys, kr.keys_len);
	if (!err && kr.keys && kr.keys[0] != 0xc0)
		err = mg_mp_read_array(&keys, &nk);
	for (k = 0; !err && k < nk; k++)
		err = mg_mp_read_str(&keys, &s, &len);
	if (err)
		return -EBADMSG;
	*result = kr.result;
	if (msg_size && kr.msg)
		snprintf(msg, msg_size, "%.*s", (int)kr.msg_len, kr.msg);
	if (!key_fn)
		return 0;
	mg_mp_rd_init(&keys, kr.keys, kr.keys_len);
	if (nk)
		mg_mp_read_array(&keys, &nk);
	for (k = 0; k < nk; k++)
		if (!mg_mp_read_str(&keys, &s, &len))
			key_fn(ctx, s, len, false);
	if (kr.primary_len)
		key_fn(ctx, kr.primary, kr.primary_len, true);
	return 0;
}
