// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "memberlist/lzw.h"
#include "memberlist/wire.h"
#include "lib/log.h"

static bool kr_on(const struct mg_ml_opts *o)
{
	return o && o->kr && o->kr->n;
}

/* --- framing pieces ---------------------------------------------------------- */

int mg_ml_compound_build(const struct mg_bytes *parts, unsigned int n,
			 struct mg_buf *out)
{
	size_t total = 2 + 2 * (size_t)n;
	unsigned int i;
	int err;

	if (n > MG_ML_COMPOUND_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (parts[i].len > UINT16_MAX)
			return -EINVAL;
		total += parts[i].len;
	}
	err = mg_buf_reserve(out, total);
	if (err)
		return err;
	mg_buf_put_u8(out, MG_ML_COMPOUND);
	mg_buf_put_u8(out, n);
	for (i = 0; i < n; i++)
		mg_buf_put_be16(out, parts[i].len);
	for (i = 0; i < n; i++)
		mg_buf_put(out, parts[i].data, parts[i].len);
	return 0;
}

int mg_ml_compound_split(const uint8_t *p, size_t n, struct mg_ml_compound *c)
{
	unsigned int count, i;
	size_t off;

	c->n = 0;
	c->truncated = 0;
	if (n < 1)
		return -EBADMSG;
	count = p[0];
	if (n - 1 < 2 * (size_t)count)
		return -EBADMSG;
	off = 1 + 2 * (size_t)count;
	for (i = 0; i < count; i++) {
		size_t len = mg_get_be16(p + 1 + 2 * i);

		if (n - off < len) {
			c->truncated = count - i;
			break;
		}
		c->parts[c->n].data = p + off;
		c->parts[c->n].len = len;
		c->n++;
		off += len;
	}
	return 0;
}

int mg_ml_crc_wrap(const uint8_t *msg, size_t n, struct mg_buf *out)
{
	int err;

	if (n > UINT_MAX)
		return -EMSGSIZE;
	/* room reserved: the puts below cannot fail */
	err = mg_buf_reserve(out, 5 + n);
	if (err)
		return err;
	mg_buf_put_u8(out, MG_ML_HAS_CRC);
	mg_buf_put_be32(out, crc32(0, msg, n));
	mg_buf_put(out, msg, n);
	return 0;
}

int mg_ml_crc_verify(const uint8_t *p, size_t n, struct mg_bytes *inner)
{
	if (n < 5 || p[0] != MG_ML_HAS_CRC)
		return -EBADMSG;
	if (crc32(0, p + 5, n - 5) != mg_get_be32(p + 1))
		return -EBADMSG;
	inner->data = p + 5;
	inner->len = n - 5;
	return 0;
}

int mg_ml_compress_wrap(const uint8_t *msg, size_t n, struct mg_buf *out)
{
	struct mg_ml_compress c = { .algo = 0 };
	struct mg_buf lzw = { 0 };
	size_t start = out->len;
	int err;

	err = mg_lzw_compress(msg, n, &lzw);
	if (err)
		goto out;
	c.buf.data = lzw.data;
	c.buf.len = lzw.len;
	err = mg_buf_put_u8(out, MG_ML_COMPRESS);
	if (!err)
		err = mg_ml_body_encode(MG_ML_BODY_COMPRESS, &c, out);
	if (err)
		out->len = start;
out:
	mg_buf_free(&lzw);
	return err;
}

int mg_ml_compress_unwrap(struct mg_mp_rd *rd, size_t max_out,
			  struct mg_buf *out)
{
	struct mg_ml_compress c;
	size_t start = out->len;
	int err;

	err = mg_ml_body_decode(MG_ML_BODY_COMPRESS, rd, &c);
	if (err)
		return err;
	if (c.algo != 0)
		return -EPROTONOSUPPORT;
	if (!c.buf.data)
		return -EBADMSG;
	err = mg_lzw_decompress(c.buf.data, c.buf.len, max_out, out);
	if (!err && out->len == start)
		err = -EBADMSG;		/* no message type */
	return err;
}

/* --- packets ---------------------------------------------------------------- */

struct rx {
	mg_ml_msg_fn fn;
	void *ctx;
	struct mg_ml_rx_stats *st;
	size_t inflate_left;		/* shared by all nested compress layers */
	bool dry;			/* structure only: inflate nothing */
	int abort;			/* callback's error */
};

static int dispatch(struct rx *rx, const uint8_t *p, size_t n, int depth);

static int rx_compound(struct rx *rx, const uint8_t *p, size_t n, int depth)
{
	struct mg_ml_compound *c;
	unsigned int i;
	int err, delivered = 0;

	c = malloc(sizeof(*c));
	if (!c)
		return -ENOMEM;
	err = mg_ml_compound_split(p, n, c);
	if (err)
		goto out;
	rx->st->compound = true;
	rx->st->truncated += c->truncated;
	for (i = 0; i < c->n; i++) {
		err = dispatch(rx, c->parts[i].data, c->parts[i].len,
			       depth + 1);
		if (rx->abort) {
			err = rx->abort;
			goto out;
		}
		if (err < 0) {
			pr_debug("gossip: compound part %u: %s\n", i,
				 strerror(-err));
			rx->st->bad++;
			continue;
		}
		delivered += err;
	}
	err = delivered;
out:
	free(c);
	return err;
}

static int rx_compress(struct rx *rx, const uint8_t *p, size_t n, int depth)
{
	struct mg_buf inflated = { 0 };
	struct mg_mp_rd rd;
	int err;

	if (rx->dry)
		return 1;	/* a compressed message, as far as we look */
	mg_mp_rd_init(&rd, p, n);
	err = mg_ml_compress_unwrap(&rd, rx->inflate_left, &inflated);
	if (err == -EAGAIN)
		err = -EBADMSG;
	if (err)
		goto out;
	rx->st->compressed = true;
	rx->inflate_left -= inflated.len;
	err = dispatch(rx, inflated.data, inflated.len, depth + 1);
out:
	mg_buf_free(&inflated);
	return err;
}

static int dispatch(struct rx *rx, const uint8_t *p, size_t n, int depth)
{
	struct mg_ml_msg *m;
	struct mg_bytes inner;
	int err;

	if (!n)
		return -EBADMSG;
	if (depth > MG_ML_MAX_DEPTH)
		return -ELOOP;
	switch (p[0]) {
	case MG_ML_COMPOUND:
		return rx_compound(rx, p + 1, n - 1, depth);
	case MG_ML_COMPRESS:
		return rx_compress(rx, p + 1, n - 1, depth);
	case MG_ML_HAS_CRC:
		err = mg_ml_crc_verify(p, n, &inner);
		if (err)
			return err;
		rx->st->crc = true;
		return dispatch(rx, inner.data, inner.len, depth + 1);
	case MG_ML_ERR:
		return -EPROTO;		/* stream-only */
	}
	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	err = mg_ml_msg_decode(p, n, m);
	if (!err) {
		err = rx->fn ? rx->fn(rx->ctx, m) : 0;
		if (err < 0)
			rx->abort = err;
		else
			err = 1;
	}
	free(m);
	if (err > 0)
		rx->st->msgs++;
	return err;
}

static int packet_decode(const uint8_t *pkt, size_t n,
			 const struct mg_ml_opts *o, mg_ml_msg_fn fn, void *ctx,
			 struct mg_ml_rx_stats *st, bool dry)
{
	struct mg_ml_rx_stats dummy;
	struct mg_buf plain = { 0 };
	struct rx rx = {
		.fn = fn,
		.ctx = ctx,
		.st = st ? st : &dummy,
		.inflate_left = MG_ML_PACKET_INFLATE_MAX,
		.dry = dry,
	};
	int err;

	memset(rx.st, 0, sizeof(*rx.st));
	/* A label from later memberlists sits outside everything else. */
	if (n >= 2 && pkt[0] == MG_ML_LABEL) {
		if (n < 2 + (size_t)pkt[1])
			return -EBADMSG;
		n -= 2 + pkt[1];
		pkt += 2 + pkt[1];
	}
	if (kr_on(o)) {
		err = mg_crypt_packet_open(o->kr, pkt, n, &plain);
		if (!err) {
			rx.st->encrypted = true;
			pkt = plain.data;
			n = plain.len;
		} else if (!o->accept_plaintext) {
			/* wrong key, tampered, or plaintext: all refused */
			if (err != -ENOMEM)
				err = -EACCES;
			goto out;
		}
	}
	err = dispatch(&rx, pkt, n, 0);
	if (rx.abort)
		err = rx.abort;
out:
	if (err == -EBADMSG || err == -EACCES)
		pr_debug("gossip: packet dropped: %s\n", strerror(-err));
	mg_buf_free(&plain);
	return err;
}

int mg_ml_packet_decode(const uint8_t *pkt, size_t n,
			const struct mg_ml_opts *o, mg_ml_msg_fn fn, void *ctx,
			struct mg_ml_rx_stats *st)
{
	return packet_decode(pkt, n, o, fn, ctx, st, false);
}

int mg_ml_packet_looks_plain(const uint8_t *pkt, size_t n)
{
	return packet_decode(pkt, n, NULL, NULL, NULL, NULL, true) >= 0;
}

int mg_ml_packet_wrap(const uint8_t *msg, size_t n, const struct mg_ml_opts *o,
		      struct mg_buf *out)
{
	struct mg_buf a = { 0 }, b = { 0 };
	const uint8_t *cur = msg;
	size_t len = n;
	int err = 0;

	if (o && o->compress) {
		err = mg_ml_compress_wrap(msg, n, &a);
		if (err)
			goto out;
		if (a.len < n) {
			cur = a.data;
			len = a.len;
		}
	}
	if (o && o->crc) {
		err = mg_ml_crc_wrap(cur, len, &b);
		if (err)
			goto out;
		cur = b.data;
		len = b.len;
	}
	if (kr_on(o))
		err = mg_crypt_packet_seal(o->kr, cur, len, out);
	else
		err = mg_buf_put(out, cur, len);
out:
	mg_buf_free(&a);
	mg_buf_free(&b);
	return err;
}

int mg_ml_packet_build(const struct mg_bytes *msgs, unsigned int n,
		       const struct mg_ml_opts *o, struct mg_buf *out)
{
	size_t budget = o && o->udp_size ? o->udp_size : MG_ML_UDP_SIZE;
	struct mg_buf compound = { 0 };
	size_t used = 2;
	unsigned int k;
	int err;

	if (!n)
		return 0;
	if (kr_on(o))
		budget -= budget > MG_CRYPT_OVERHEAD ? MG_CRYPT_OVERHEAD : budget;
	if (o && o->crc)
		budget -= budget > 5 ? 5 : budget;
	for (k = 0; k < n && k < MG_ML_COMPOUND_MAX; k++) {
		if (msgs[k].len > UINT16_MAX ||
		    used + 2 + msgs[k].len > budget)
			break;
		used += 2 + msgs[k].len;
	}
	if (k <= 1) {
		err = mg_ml_packet_wrap(msgs[0].data, msgs[0].len, o, out);
		return err ? err : 1;
	}
	err = mg_ml_compound_build(msgs, k, &compound);
	if (!err)
		err = mg_ml_packet_wrap(compound.data, compound.len, o, out);
	mg_buf_free(&compound);
	return err ? err : (int)k;
}

/* --- streams ---------------------------------------------------------------- */

/* Truncation inside a buffer we already hold in full is malformation. */
static int held(int err, bool wire)
{
	return err == -EAGAIN && !wire ? -EBADMSG : err;
}

static int stream_push_pull(struct mg_mp_rd *rd, bool wire,
			    struct mg_ml_stream *s)
{
	struct mg_ml_push_node *nodes;
	uint32_t i, cap = 0;
	int err;

	err = mg_ml_body_decode(MG_ML_BODY_PUSH_PULL_HDR, rd, &s->pp);
	if (err)
		return held(err, wire);
	if (s->pp.nodes > MG_ML_STREAM_MAX_NODES ||
	    s->pp.user_state_len > MG_ML_STREAM_INFLATE_MAX)
		return -EINVAL;
	for (i = 0; i < s->pp.nodes; i++) {
		if (i == cap) {
			/* grow as entries arrive, never from the header alone */
			cap = cap ? 2 * cap : 8;
			if (cap > s->pp.nodes)
				cap = s->pp.nodes;
			nodes = realloc(s->nodes, cap * sizeof(*nodes));
			if (!nodes)
				return -ENOMEM;
			s->nodes = nodes;
		}
		err = mg_ml_body_decode(MG_ML_BODY_PUSH_NODE, rd, &s->nodes[i]);
		if (err)
			return held(err, wire);
	}
	if (mg_mp_rd_left(rd) < s->pp.user_state_len)
		return wire ? -EAGAIN : -EBADMSG;
	s->user_state.data = rd->p + rd->off;
	s->user_state.len = s->pp.user_state_len;
	rd->off += s->pp.user_state_len;
	return 0;
}

/* @p/@n: a payload starting with its type byte. */
static int stream_payload(const uint8_t *p, size_t n, bool wire, bool inner,
			  struct mg_ml_stream *s)
{
	struct mg_mp_rd rd;
	int body, err;

	if (!n)
		return wire ? -EAGAIN : -EBADMSG;
	s->type = p[0];
	mg_mp_rd_init(&rd, p + 1, n - 1);
	switch (p[0]) {
	case MG_ML_COMPRESS:
		if (inner)
			return -EPROTO;		/* one compress layer only */
		err = mg_ml_compress_unwrap(&rd, MG_ML_STREAM_INFLATE_MAX,
					    &s->inflated);
		if (err)
			return held(err, wire);
		s->compressed = true;
		if (wire)
			s->consumed = 1 + rd.off;
		return stream_payload(s->inflated.data, s->inflated.len,
				      false, true, s);
	case MG_ML_PUSH_PULL:
		err = stream_push_pull(&rd, wire, s);
		break;
	case MG_ML_USER:
		err = mg_ml_body_decode(MG_ML_BODY_USER_HDR, &rd, &s->user_hdr);
		if (err)
			return held(err, wire);
		if (mg_mp_rd_left(&rd) < s->user_hdr.user_msg_len)
			return wire ? -EAGAIN : -EBADMSG;
		s->user_data.data = rd.p + rd.off;
		s->user_data.len = s->user_hdr.user_msg_len;
		rd.off += s->user_hdr.user_msg_len;
		break;
	case MG_ML_PING:
	case MG_ML_ACK:
	case MG_ML_ERR:
		body = mg_ml_type_body(p[0]);
		s->msg.type = p[0];
		err = mg_ml_body_decode(body, &rd, &s->msg.ping);
		err = held(err, wire);
		break;
	default:
		return -EPROTO;
	}
	if (!err && wire)
		s->consumed = 1 + rd.off;
	return err;
}

int mg_ml_stream_decode(const uint8_t *p, size_t n, const struct mg_ml_opts *o,
			struct mg_ml_stream *s)
{
	long used;
	int err;

	memset(s, 0, sizeof(*s));
	if (n >= 2 && p[0] == MG_ML_LABEL) {
		if (n < 2 + (size_t)p[1])
			return -EAGAIN;
		s->consumed = 2 + p[1];
	}
	p += s->consumed;
	n -= s->consumed;
	if (!n)
		return -EAGAIN;
	if (p[0] == MG_ML_ENCRYPT) {
		if (!kr_on(o))
			return -EACCES;
		used = mg_crypt_stream_open(o->kr, p, n, &s->plain);
		if (used < 0)
			return used;
		s->encrypted = true;
		s->consumed += used;
		return stream_payload(s->plain.data, s->plain.len, false,
				      false, s);
	}
	if (kr_on(o) && !o->accept_plaintext)
		return -EACCES;
	used = s->consumed;
	err = stream_payload(p, n, true, false, s);
	s->consumed += used;
	return err;
}

size_t mg_ml_stream_need(const uint8_t *p, size_t n)
{
	size_t off = 0;

	if (n >= 1 && p[0] == MG_ML_LABEL) {
		if (n < 2)
			return 2;
		off = 2 + (size_t)p[1];
	}
	if (n < off + 1)
		return off + 1;
	if (p[off] != MG_ML_ENCRYPT)
		return 0;
	if (n < off + MG_STREAM_CRYPT_HDR)
		return off + MG_STREAM_CRYPT_HDR;
	return off + MG_STREAM_CRYPT_HDR + (size_t)mg_get_be32(p + off + 1);
}

void mg_ml_stream_free(struct mg_ml_stream *s)
{
	free(s->nodes);
	s->nodes = NULL;
	mg_buf_free(&s->plain);
	mg_buf_free(&s->inflated);
}

int mg_ml_push_pull_encode(bool join, const struct mg_ml_push_node *nodes,
			   unsigned int n, const uint8_t *user_state,
			   size_t user_state_len, struct mg_buf *out)
{
	struct mg_ml_push_pull_hdr hdr = {
		.join = join,
		.nodes = n,
		.user_state_len = user_state_len,
	};
	size_t start = out->len;
	unsigned int i;
	int err;

	if (user_state_len > UINT32_MAX)
		return -EINVAL;
	err = mg_buf_put_u8(out, MG_ML_PUSH_PULL);
	if (!err)
		err = mg_ml_body_encode(MG_ML_BODY_PUSH_PULL_HDR, &hdr, out);
	for (i = 0; !err && i < n; i++)
		err = mg_ml_body_encode(MG_ML_BODY_PUSH_NODE, &nodes[i], out);
	if (!err)
		err = mg_buf_put(out, user_state, user_state_len);
	if (err)
		out->len = start;
	return err;
}

int mg_ml_user_stream_encode(const uint8_t *data, size_t len,
			     struct mg_buf *out)
{
	struct mg_ml_user_hdr hdr = { .user_msg_len = len };
	size_t start = out->len;
	int err;

	if (len > UINT32_MAX)
		return -EINVAL;
	err = mg_buf_put_u8(out, MG_ML_USER);
	if (!err)
		err = mg_ml_body_encode(MG_ML_BODY_USER_HDR, &hdr, out);
	if (!err)
		err = mg_buf_put(out, data, len);
	if (err)
		out->len = start;
	return err;
}

int mg_ml_stream_wrap(const uint8_t *payload, size_t n,
		      const struct mg_ml_opts *o, struct mg_buf *out)
{
	struct mg_buf c = { 0 };
	int err = 0;

	if (o && o->compress) {
		err = mg_ml_compress_wrap(payload, n, &c);
		if (err)
			goto out;
		payload = c.data;
		n = c.len;
	}
	if (kr_on(o))
		err = mg_crypt_stream_seal(o->kr, payload, n, out);
	else
		err = mg_buf_put(out, payload, n);
out:
	mg_buf_free(&c);
	return err;
}
