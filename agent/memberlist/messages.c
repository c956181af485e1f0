// SPDX-License-Identifier: GPL-2.0-only
/*
 * One table per body lists its fields sorted bytewise by Go field name, which
 * is the order go-msgpack writes them in; one encoder and one decoder walk
 * the tables.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "memberlist/messages.h"

enum fkind {
	F_STR,		/* char[aux], NUL-terminated */
	F_BYTES,	/* struct mg_bytes */
	F_IP,		/* struct mg_ml_ip */
	F_META,		/* struct mg_ml_meta */
	F_VSN,		/* uint8_t[6] */
	F_U8,
	F_U16,
	F_U32,		/* uint32 and Go int fields we bound to 32 bits */
	F_BOOL,
};

struct field {
	const char *name;
	uint8_t kind;
	bool omitempty;
	uint16_t off;
	uint16_t aux;
};

struct schema {
	const struct field *f;
	unsigned int n;
};

#define FLD(s, name, kind, member, omit) \
	{ name, kind, omit, offsetof(s, member), sizeof(((s *)0)->member) }

#define S struct mg_ml_ping
static const struct field ping_f[] = {
	FLD(S, "Node", F_STR, node, false),
	FLD(S, "SeqNo", F_U32, seq_no, false),
	FLD(S, "SourceAddr", F_IP, source_addr, true),
	FLD(S, "SourceNode", F_STR, source_node, true),
	FLD(S, "SourcePort", F_U16, source_port, true),
};
#undef S
#define S struct mg_ml_indirect_ping
static const struct field ind_f[] = {
	FLD(S, "Nack", F_BOOL, nack, false),
	FLD(S, "Node", F_STR, node, false),
	FLD(S, "Port", F_U16, port, false),
	FLD(S, "SeqNo", F_U32, seq_no, false),
	FLD(S, "SourceAddr", F_IP, source_addr, true),
	FLD(S, "SourceNode", F_STR, source_node, true),
	FLD(S, "SourcePort", F_U16, source_port, true),
	FLD(S, "Target", F_IP, target, false),
};
#undef S
#define S struct mg_ml_ack
static const struct field ack_f[] = {
	FLD(S, "Payload", F_BYTES, payload, false),
	FLD(S, "SeqNo", F_U32, seq_no, false),
};
#undef S
static const struct field nack_f[] = {
	FLD(struct mg_ml_nack, "SeqNo", F_U32, seq_no, false),
};
static const struct field err_f[] = {
	FLD(struct mg_ml_err, "Error", F_STR, error, false),
};
#define S struct mg_ml_suspect
static const struct field suspect_f[] = {
	FLD(S, "From", F_STR, from, false),
	FLD(S, "Incarnation", F_U32, incarnation, false),
	FLD(S, "Node", F_STR, node, false),
};
#undef S
#define S struct mg_ml_alive
static const struct field alive_f[] = {
	FLD(S, "Addr", F_IP, addr, false),
	FLD(S, "Incarnation", F_U32, incarnation, false),
	FLD(S, "Meta", F_META, meta, false),
	FLD(S, "Node", F_STR, node, false),
	FLD(S, "Port", F_U16, port, false),
	FLD(S, "Vsn", F_VSN, vsn, false),
};
#undef S
#define S struct mg_ml_push_pull_hdr
static const struct field pp_hdr_f[] = {
	FLD(S, "Join", F_BOOL, join, false),
	FLD(S, "Nodes", F_U32, nodes, false),
	FLD(S, "UserStateLen", F_U32, user_state_len, false),
};
#undef S
#define S struct mg_ml_push_node
static const struct field push_node_f[] = {
	FLD(S, "Addr", F_IP, addr, false),
	FLD(S, "Incarnation", F_U32, incarnation, false),
	FLD(S, "Meta", F_META, meta, false),
	FLD(S, "Name", F_STR, name, false),
	FLD(S, "Port", F_U16, port, false),
	FLD(S, "State", F_U8, state, false),
	FLD(S, "Vsn", F_VSN, vsn, false),
};
#undef S
static const struct field user_hdr_f[] = {
	FLD(struct mg_ml_user_hdr, "UserMsgLen", F_U32, user_msg_len, false),
};
#define S struct mg_ml_compress
static const struct field compress_f[] = {
	FLD(S, "Algo", F_U8, algo, false),
	FLD(S, "Buf", F_BYTES, buf, false),
};
#undef S

#define SCHEMA(a) { a, sizeof(a) / sizeof(a[0]) }
static const struct schema schemas[MG_ML_BODY_COUNT] = {
	[MG_ML_BODY_PING] = SCHEMA(ping_f),
	[MG_ML_BODY_INDIRECT_PING] = SCHEMA(ind_f),
	[MG_ML_BODY_ACK] = SCHEMA(ack_f),
	[MG_ML_BODY_NACK] = SCHEMA(nack_f),
	[MG_ML_BODY_ERR] = SCHEMA(err_f),
	[MG_ML_BODY_SUSPECT] = SCHEMA(suspect_f),
	[MG_ML_BODY_ALIVE] = SCHEMA(alive_f),
	[MG_ML_BODY_DEAD] = SCHEMA(suspect_f),
	[MG_ML_BODY_PUSH_PULL_HDR] = SCHEMA(pp_hdr_f),
	[MG_ML_BODY_PUSH_NODE] = SCHEMA(push_node_f),
	[MG_ML_BODY_USER_HDR] = SCHEMA(user_hdr_f),
	[MG_ML_BODY_COMPRESS] = SCHEMA(compress_f),
};

/* --- encoding ------------------------------------------------------------ */

static bool field_empty(const struct field *f, const void *obj)
{
	const uint8_t *p = (const uint8_t *)obj + f->off;

	switch (f->kind) {
	case F_STR:
		return !p[0];
	case F_IP:
		return !((const struct mg_ml_ip *)p)->len;
	case F_U16:
		return !*(const uint16_t *)p;
	default:
		return false;	/* omitempty is only used on the kinds above */
	}
}

static int field_encode(msgpack_packer *pk, const struct field *f,
			const void *obj)
{
	const uint8_t *p = (const uint8_t *)obj + f->off;
	const struct mg_ml_ip *ip;
	const struct mg_ml_meta *meta;
	const struct mg_bytes *b;

	switch (f->kind) {
	case F_STR:
		if (strnlen((const char *)p, f->aux) >= f->aux)
			return -EINVAL;
		return mg_mp_pack_cstr(pk, (const char *)p);
	case F_BYTES:
		b = (const struct mg_bytes *)p;
		return mg_mp_pack_bytes(pk, b->data, b->len);
	case F_IP:
		ip = (const struct mg_ml_ip *)p;
		if (ip->len != 0 && ip->len != 4 && ip->len != 16)
			return -EINVAL;
		return mg_mp_pack_bytes(pk, ip->len ? ip->a : NULL, ip->len);
	case F_META:
		meta = (const struct mg_ml_meta *)p;
		if (meta->len > MG_ML_META_MAX)
			return -EINVAL;
		return mg_mp_pack_bytes(pk, meta->len ? meta->data : NULL,
					meta->len);
	case F_VSN:
		return mg_mp_pack_raw(pk, p, MG_ML_VSN_LEN);
	case F_U8:
		return mg_mp_pack_uint(pk, *p);
	case F_U16:
		return mg_mp_pack_uint(pk, *(const uint16_t *)p);
	case F_U32:
		return mg_mp_pack_uint(pk, *(const uint32_t *)p);
	case F_BOOL:
		return mg_mp_pack_bool(pk, *(const bool *)p);
	}
	return -EINVAL;
}

int mg_ml_body_encode(enum mg_ml_body body, const void *obj, struct mg_buf *out)
{
	const struct schema *s;
	msgpack_packer pk;
	size_t start = out->len;
	unsigned int i, n = 0;
	int err;

	if ((unsigned int)body >= MG_ML_BODY_COUNT)
		return -EINVAL;
	s = &schemas[body];
	for (i = 0; i < s->n; i++)
		n += !(s->f[i].omitempty && field_empty(&s->f[i], obj));
	mg_mp_packer_init(&pk, out);
	err = msgpack_pack_map(&pk, n) ? -ENOMEM : 0;
	for (i = 0; !err && i < s->n; i++) {
		if (s->f[i].omitempty && field_empty(&s->f[i], obj))
			continue;
		err = mg_mp_pack_cstr(&pk, s->f[i].name);
		if (!err)
			err = field_encode(&pk, &s->f[i], obj);
	}
	if (err)
		out->len = start;
	return err;
}

/* --- decoding ------------------------------------------------------------ */

static int field_decode(struct mg_mp_rd *rd, const struct field *f, void *obj)
{
	uint8_t *p = (uint8_t *)obj + f->off;
	const uint8_t *s;
	uint32_t len;
	uint64_t v;
	int err;

	switch (f->kind) {
	case F_STR:
		err = mg_mp_read_str(rd, &s, &len);
		if (err)
			return err;
		if (len >= f->aux || memchr(s, 0, len))
			return -EINVAL;
		memcpy(p, s, len);
		p[len] = 0;
		return 0;
	case F_BYTES:
		err = mg_mp_read_bytes(rd, &s, &len);
		if (err)
			return err;
		((struct mg_bytes *)p)->data = s;
		((struct mg_bytes *)p)->len = len;
		return 0;
	case F_IP:
		err = mg_mp_read_bytes(rd, &s, &len);
		if (err)
			return err;
		if (len != 0 && len != 4 && len != 16)
			return -EINVAL;
		((struct mg_ml_ip *)p)->len = len;
		if (len)
			memcpy(((struct mg_ml_ip *)p)->a, s, len);
		return 0;
	case F_META:
		err = mg_mp_read_bytes(rd, &s, &len);
		if (err)
			return err;
		if (len > MG_ML_META_MAX)
			return -EINVAL;
		((struct mg_ml_meta *)p)->len = len;
		if (len)
			memcpy(((struct mg_ml_meta *)p)->data, s, len);
		return 0;
	case F_VSN:
		err = mg_mp_read_bytes(rd, &s, &len);
		if (err)
			return err;
		if (len != 0 && len != MG_ML_VSN_LEN)
			return -EINVAL;
		memset(p, 0, MG_ML_VSN_LEN);
		if (len)
			memcpy(p, s, len);
		return 0;
	case F_U8:
		err = mg_mp_read_uint(rd, UINT8_MAX, &v);
		if (!err)
			*p = v;
		return err;
	case F_U16:
		err = mg_mp_read_uint(rd, UINT16_MAX, &v);
		if (!err)
			*(uint16_t *)p = v;
		return err;
	case F_U32:
		err = mg_mp_read_uint(rd, UINT32_MAX, &v);
		if (!err)
			*(uint32_t *)p = v;
		return err;
	case F_BOOL:
		return mg_mp_read_bool(rd, (bool *)p);
	}
	return -EINVAL;
}

static size_t body_size(enum mg_ml_body body)
{
	static const size_t size[MG_ML_BODY_COUNT] = {
		[MG_ML_BODY_PING] = sizeof(struct mg_ml_ping),
		[MG_ML_BODY_INDIRECT_PING] = sizeof(struct mg_ml_indirect_ping),
		[MG_ML_BODY_ACK] = sizeof(struct mg_ml_ack),
		[MG_ML_BODY_NACK] = sizeof(struct mg_ml_nack),
		[MG_ML_BODY_ERR] = sizeof(struct mg_ml_err),
		[MG_ML_BODY_SUSPECT] = sizeof(struct mg_ml_suspect),
		[MG_ML_BODY_ALIVE] = sizeof(struct mg_ml_alive),
		[MG_ML_BODY_DEAD] = sizeof(struct mg_ml_suspect),
		[MG_ML_BODY_PUSH_PULL_HDR] = sizeof(struct mg_ml_push_pull_hdr),
		[MG_ML_BODY_PUSH_NODE] = sizeof(struct mg_ml_push_node),
		[MG_ML_BODY_USER_HDR] = sizeof(struct mg_ml_user_hdr),
		[MG_ML_BODY_COMPRESS] = sizeof(struct mg_ml_compress),
	};

	return size[body];
}

int mg_ml_body_decode(enum mg_ml_body body, struct mg_mp_rd *rd, void *obj)
{
	const struct schema *s;
	size_t save = rd->off;
	const uint8_t *key;
	uint32_t n, klen, i;
	unsigned int j;
	int err;

	if ((unsigned int)body >= MG_ML_BODY_COUNT)
		return -EINVAL;
	s = &schemas[body];
	memset(obj, 0, body_size(body));
	err = mg_mp_read_map(rd, &n);
	for (i = 0; !err && i < n; i++) {
		err = mg_mp_read_str(rd, &key, &klen);
		if (err)
			break;
		for (j = 0; j < s->n; j++)
			if (strlen(s->f[j].name) == klen &&
			    !memcmp(s->f[j].name, key, klen))
				break;
		if (j == s->n)
			err = mg_mp_skip(rd);	/* unknown key */
		else
			err = field_decode(rd, &s->f[j], obj);
	}
	if (err)
		rd->off = save;
	return err;
}

/* --- whole messages ------------------------------------------------------ */

int mg_ml_type_body(uint8_t type)
{
	switch (type) {
	case MG_ML_PING: return MG_ML_BODY_PING;
	case MG_ML_INDIRECT_PING: return MG_ML_BODY_INDIRECT_PING;
	case MG_ML_ACK: return MG_ML_BODY_ACK;
	case MG_ML_SUSPECT: return MG_ML_BODY_SUSPECT;
	case MG_ML_ALIVE: return MG_ML_BODY_ALIVE;
	case MG_ML_DEAD: return MG_ML_BODY_DEAD;
	case MG_ML_NACK: return MG_ML_BODY_NACK;
	case MG_ML_ERR: return MG_ML_BODY_ERR;
	}
	return -EPROTO;
}

const char *mg_ml_type_name(uint8_t type)
{
	static const char *const names[] = {
		"ping", "indirect-ping", "ack", "suspect", "alive", "dead",
		"push-pull", "compound", "user", "compress", "encrypt", "nack",
		"has-crc", "err",
	};

	return type <= MG_ML_TYPE_MAX ? names[type] : "unknown";
}

int mg_ml_msg_encode(const struct mg_ml_msg *m, struct mg_buf *out)
{
	size_t start = out->len;
	int body, err;

	if (m->type == MG_ML_USER) {
		err = mg_buf_put_u8(out, MG_ML_USER);
		if (!err)
			err = mg_buf_put(out, m->user.data, m->user.len);
		goto out;
	}
	body = mg_ml_type_body(m->type);
	if (body < 0)
		return body;
	err = mg_buf_put_u8(out, m->type);
	if (!err)
		err = mg_ml_body_encode(body, &m->ping, out);
out:
	if (err)
		out->len = start;
	return err;
}

int mg_ml_msg_decode(const uint8_t *p, size_t n, struct mg_ml_msg *m)
{
	struct mg_mp_rd rd;
	int body, err;

	if (!n)
		return -EBADMSG;
	m->type = p[0];
	if (m->type == MG_ML_USER) {
		m->user.data = p + 1;
		m->user.len = n - 1;
		return 0;
	}
	body = mg_ml_type_body(m->type);
	if (body < 0)
		return body;
	mg_mp_rd_init(&rd, p + 1, n - 1);
	err = mg_ml_body_decode(body, &rd, &m->ping);
	return err == -EAGAIN ? -EBADMSG : err;
}
