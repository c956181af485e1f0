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
#include "gossip/serf.h"
#include "gossip/serfquery.h"

#define IS(k) (klen == sizeof(k) - 1 && !memcmp(key, k, klen))

int mg_serf_query_decode(const uint8_t *p, size_t n, struct mg_serf_query *q)
{
	uint32_t count, i, klen;
	const uint8_t *key;
	struct mg_mp_rd rd;
	uint64_t v;
	int err;

	memset(q, 0, sizeof(*q));
	if (n < 2 || p[0] != MG_SERF_QUERY)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	err = mg_mp_read_map(&rd, &count);
	for (i = 0; !err && i < count; i++) {
		err = mg_mp_read_str(&rd, &key, &klen);
		if (err)
			break;
		if (IS("LTime")) {
			err = mg_mp_read_uint(&rd, UINT64_MAX, &q->ltime);
		} else if (IS("ID")) {
			err = mg_mp_read_uint(&rd, UINT32_MAX, &v);
			q->id = v;
		} else if (IS("Addr")) {
			err = mg_mp_read_bytes(&rd, &q->addr, &q->addr_len);
		} else if (IS("Port")) {
			err = mg_mp_read_uint(&rd, UINT16_MAX, &v);
			q->port = v;
		} else if (IS("SourceNode")) {
			err = mg_mp_read_str(&rd, &q->source, &q->source_len);
		} else if (IS("Filters")) {
			size_t at = rd.off;

			/* nil or an array; only its length matters to us */
			if (at < rd.n && rd.p[at] == 0xc0)
				err = mg_mp_skip(&rd);
			else
				err = mg_mp_read_array(&rd, &q->n_filters);
			for (uint32_t f = 0; !err && at != rd.off &&
			     f < q->n_filters; f++)
				err = mg_mp_skip(&rd);
			q->filters = rd.p + at;
			q->filters_len = rd.off - at;
		} else if (IS("Flags")) {
			err = mg_mp_read_uint(&rd, UINT32_MAX, &v);
			q->flags = v;
		} else if (IS("RelayFactor")) {
			err = mg_mp_read_uint(&rd, UINT8_MAX, &v);
			q->relay_factor = v;
		} else if (IS("Timeout")) {
			err = mg_mp_read_uint(&rd, INT64_MAX, &v);
			q->timeout_ns = v;
		} else if (IS("Name")) {
			err = mg_mp_read_str(&rd, &q->name, &q->name_len);
		} else if (IS("Payload")) {
			err = mg_mp_read_bytes(&rd, &q->payload, &q->payload_len);
		} else {
			err = mg_mp_skip(&rd);
		}
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

int mg_serf_response_decode(const uint8_t *p, size_t n,
			    struct mg_serf_response *r)
{
	uint32_t count, i, klen;
	const uint8_t *key;
	struct mg_mp_rd rd;
	uint64_t v;
	int err;

	memset(r, 0, sizeof(*r));
	if (n < 2 || p[0] != MG_SERF_QUERY_RESPONSE)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	err = mg_mp_read_map(&rd, &count);
	for (i = 0; !err && i < count; i++) {
		err = mg_mp_read_str(&rd, &key, &klen);
		if (err)
			break;
		if (IS("LTime")) {
			err = mg_mp_read_uint(&rd, UINT64_MAX, &r->ltime);
		} else if (IS("ID")) {
			err = mg_mp_read_uint(&rd, UINT32_MAX, &v);
			r->id = v;
		} else if (IS("From")) {
			err = mg_mp_read_str(&rd, &r->from, &r->from_len);
		} else if (IS("Flags")) {
			err = mg_mp_read_uint(&rd, UINT32_MAX, &v);
			r->flags = v;
		} else if (IS("Payload")) {
			err = mg_mp_read_bytes(&rd, &r->payload,
					       &r->payload_len);
		} else {
			err = mg_mp_skip(&rd);
		}
	}
	return err ? -EBADMSG : 0;
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

int mg_serf_relay_decode(const uint8_t *p, size_t n, const uint8_t **dest,
			 uint32_t *dest_len, const uint8_t **inner,
			 size_t *inner_len)
{
	uint32_t count, i, klen;
	const uint8_t *key;
	struct mg_mp_rd rd;
	int err;

	*dest = NULL;
	*dest_len = 0;
	if (n < 2 || p[0] != MG_SERF_RELAY_MSG)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	err = mg_mp_read_map(&rd, &count);
	for (i = 0; !err && i < count; i++) {
		err = mg_mp_read_str(&rd, &key, &klen);
		if (err)
			break;
		if (IS("DestName"))
			err = mg_mp_read_str(&rd, dest, dest_len);
		else
			err = mg_mp_skip(&rd);
	}
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

int mg_serf_key_request_decode(const uint8_t *p, size_t n, struct mg_key *key)
{
	uint32_t count, i, klen, len = 0;
	const uint8_t *k, *b = NULL;
	struct mg_mp_rd rd;
	int err;

	memset(key, 0, sizeof(*key));
	if (n < 1 || p[0] != MG_SERF_KEY_REQUEST)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	err = mg_mp_read_map(&rd, &count);
	for (i = 0; !err && i < count; i++) {
		err = mg_mp_read_str(&rd, &k, &klen);
		if (err)
			break;
		if (klen == 3 && !memcmp(k, "Key", 3))
			err = mg_mp_read_bytes(&rd, &b, &len);
		else
			err = mg_mp_skip(&rd);
	}
	if (err)
		return -EBADMSG;
	if (len != 16 && len != 24 && len != 32)
		return -EINVAL;
	key->len = len;
	memcpy(key->b, b, len);
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

int mg_serf_key_result_decode(const uint8_t *p, size_t n, bool *result,
			      char *msg, size_t msg_size,
			      void (*key_fn)(void *ctx, const uint8_t *b64,
					     uint32_t len, bool primary),
			      void *ctx)
{
	uint32_t count, i, klen, len, nk;
	const uint8_t *key, *s;
	struct mg_mp_rd rd;
	int err;

	*result = false;
	if (msg_size)
		msg[0] = 0;
	if (n < 1 || p[0] != MG_SERF_KEY_RESPONSE)
		return -EBADMSG;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	err = mg_mp_read_map(&rd, &count);
	for (i = 0; !err && i < count; i++) {
		err = mg_mp_read_str(&rd, &key, &klen);
		if (err)
			break;
		if (IS("Result")) {
			err = mg_mp_read_bool(&rd, result);
		} else if (IS("Message")) {
			err = mg_mp_read_str(&rd, &s, &len);
			if (!err && msg_size)
				snprintf(msg, msg_size, "%.*s", (int)len, s);
		} else if (IS("Keys")) {
			if (rd.off < rd.n && rd.p[rd.off] == 0xc0) {
				err = mg_mp_skip(&rd);
				continue;
			}
			err = mg_mp_read_array(&rd, &nk);
			for (uint32_t k = 0; !err && k < nk; k++) {
				err = mg_mp_read_str(&rd, &s, &len);
				if (!err && key_fn)
					key_fn(ctx, s, len, false);
			}
		} else if (IS("PrimaryKey")) {
			err = mg_mp_read_str(&rd, &s, &len);
			if (!err && len && key_fn)
				key_fn(ctx, s, len, true);
		} else {
			err = mg_mp_skip(&rd);
		}
	}
	return err ? -EBADMSG : 0;
}
