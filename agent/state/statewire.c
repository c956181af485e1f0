// SPDX-License-Identifier: GPL-2.0-only
/*
 * Encoding and decoding of the replicated state, and the anti-entropy rounds
 * built from them.  Decoding never allocates in proportion to what a message
 * claims: it walks the bytes with the msgpack cursor, once to validate the
 * whole message, then again to merge it, so a bad message changes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/msgpack.h"
#include "state/statewire.h"

/* Batch header bytes beyond the names, at worst: see enc_batch(). */
#define BATCH_HDR_FIXED	32
/* Message header, top array, nil or digest array head, batches array head. */
#define MSG_OVERHEAD	(MG_SW_HDR_LEN + 1 + 5 + 5)

bool mg_sw_is_state(const void *msg, size_t len)
{
	const uint8_t *p = msg;

	return len >= MG_SW_HDR_LEN && p[0] == MG_SW_MAGIC &&
	       p[1] == MG_SW_FORMAT;
}

/* --- encoding ------------------------------------------------------------- */

static int enc_entry(msgpack_packer *pk, const struct mg_state_entry *e,
		     uint64_t prev)
{
	uint8_t k[MG_STATE_KEY_MAX];
	bool has_val = !e->deleted && (e->val.type || e->val.len);
	int klen = mg_state_key_encode(&e->key, k, sizeof(k));
	int err;

	if (klen < 0)
		return klen;
	err = msgpack_pack_array(pk, has_val ? 6 : 4) ? -ENOMEM : 0;
	err = err ?: mg_mp_pack_uint(pk, e->key.kind);
	err = err ?: mg_mp_pack_raw(pk, k, klen);
	err = err ?: mg_mp_pack_uint(pk, e->version - prev);
	err = err ?: mg_mp_pack_uint(pk, e->deleted ? MG_SW_ENTRY_DELETED :
					 e->val.flags);
	if (has_val) {
		err = err ?: mg_mp_pack_uint(pk, e->val.type);
		err = err ?: mg_mp_pack_raw(pk, e->val.data, e->val.len);
	}
	return err;
}

/*
 * Append one batch of @oi to @out: a delta above @since, or a reset.
 * @budget bounds the batch (a reset's entries up to the floor excepted) and
 * @left the entries.  Returns the entries it holds or -ENOSPC (nothing
 * useful fits), -ENOENT, -ENOMEM.
 */
static int enc_batch(const struct mg_state *st, unsigned int oi, bool reset,
		     uint64_t since, size_t budget, uint32_t *left,
		     struct mg_buf *out)
{
	struct mg_state_origin_info info;
	struct mg_buf body = { 0 };
	struct mg_state_cursor c;
	struct mg_state_entry e;
	msgpack_packer pk;
	uint64_t prev, to;
	size_t hdr_max;
	uint32_t n = 0;
	int err;

	err = mg_state_origin_get(st, oi, &info);
	if (err)
		return err;
	/* a store that filled up half-way through a reset serves nothing */
	if (info.max_version < info.gc_floor)
		return -ENOSPC;
	hdr_max = BATCH_HDR_FIXED + strlen(info.name) + strlen(info.cluster_name);
	if (!reset && (since < info.gc_floor || since >= info.max_version ||
		       budget < hdr_max))
		return -ENOSPC;
	mg_mp_packer_init(&pk, &body);
	prev = reset ? 0 : since;
	to = info.max_version;
	mg_state_since(st, oi, prev, &c);
	while (mg_state_cursor_next(st, &c, &e)) {
		size_t mark = body.len;
		bool must = reset && e.version <= info.gc_floor;

		err = enc_entry(&pk, &e, prev);
		if (err)
			goto cleanup;
		if (!must && (hdr_max + body.len > budget || n == *left)) {
			/* stop at the last entry that fits: no gap */
			body.len = mark;
			to = prev;
			if (reset && to < info.gc_floor)
				to = info.gc_floor;
			break;
		}
		prev = e.version;
		n++;
	}
	if (!reset && to == since) {
		err = -ENOSPC;
		goto cleanup;
	}
	mg_mp_packer_init(&pk, out);
	err = msgpack_pack_array(&pk, 7) ? -ENOMEM : 0;
	err = err ?: mg_mp_pack_uint(&pk, reset ? MG_SW_BATCH_RESET : 0);
	err = err ?: mg_mp_pack_cstr(&pk, info.name);
	err = err ?: mg_mp_pack_uint(&pk, info.cluster_id);
	err = err ?: mg_mp_pack_cstr(&pk, info.cluster_name);
	err = err ?: mg_mp_pack_uint(&pk, reset ? info.gc_floor : since);
	err = err ?: mg_mp_pack_uint(&pk, to);
	err = err ?: msgpack_pack_array(&pk, n) ? -ENOMEM : 0;
	err = err ?: mg_buf_put(out, body.data, body.len);
	if (!err) {
		*left -= n;
		err = n;
	}
cleanup:
	mg_buf_free(&body);
	return err;
}

static int enc_digest(const struct mg_state *st, struct mg_buf *out)
{
	struct mg_state_origin_info info;
	struct mg_buf body = { 0 };
	msgpack_packer pk;
	uint32_t i, n = 0;
	int err = 0;

	mg_mp_packer_init(&pk, &body);
	for (i = 0; i < mg_state_origin_slots(st) && !err; i++) {
		if (mg_state_origin_get(st, i, &info))
			continue;
		err = msgpack_pack_array(&pk, 3) ? -ENOMEM : 0;
		err = err ?: mg_mp_pack_cstr(&pk, info.name);
		err = err ?: mg_mp_pack_uint(&pk, info.max_version);
		err = err ?: mg_mp_pack_uint(&pk, info.gc_floor);
		n++;
	}
	mg_mp_packer_init(&pk, out);
	err = err ?: msgpack_pack_array(&pk, n) ? -ENOMEM : 0;
	err = err ?: mg_buf_put(out, body.data, body.len);
	mg_buf_free(&body);
	return err;
}

/* Header, [digest or nil, [batches]]; @digest NULL for nil. */
static int enc_msg(struct mg_buf *out, uint8_t kind,
		   const struct mg_buf *digest, const struct mg_buf *batches,
		   uint32_t n_batches)
{
	const uint8_t hdr[MG_SW_HDR_LEN] = { MG_SW_MAGIC, MG_SW_FORMAT, kind };
	msgpack_packer pk;
	int err;

	mg_mp_packer_init(&pk, out);
	err = mg_buf_put(out, hdr, sizeof(hdr));
	err = err ?: msgpack_pack_array(&pk, 2) ? -ENOMEM : 0;
	if (digest)
		err = err ?: mg_buf_put(out, digest->data, digest->len);
	else
		err = err ?: msgpack_pack_nil(&pk) ? -ENOMEM : 0;
	err = err ?: msgpack_pack_array(&pk, n_batches) ? -ENOMEM : 0;
	err = err ?: mg_buf_put(out, batches->data, batches->len);
	return err;
}

static size_t room(size_t budget, size_t used)
{
	return budget > used + MSG_OVERHEAD ? budget - used - MSG_OVERHEAD : 0;
}

int mg_state_deltas_since(const struct mg_state *st, unsigned int origin,
			  uint64_t since, size_t budget, struct mg_buf *out)
{
	struct mg_state_origin_info info;
	struct mg_buf b = { 0 };
	uint32_t left = MG_SW_ENTRIES_MAX;
	int n, err;

	err = mg_state_origin_get(st, origin, &info);
	if (err)
		return err;
	if (since < info.gc_floor)
		return -ESTALE;
	if (since >= info.max_version)
		n = 0;		/* up to date: an empty message */
	else
		n = enc_batch(st, origin, false, since, room(budget, 0), &left,
			      &b);
	if (n < 0) {
		err = n;
		goto cleanup;
	}
	err = enc_msg(out, MG_SW_DELTA, NULL, &b, !!b.len);
cleanup:
	mg_buf_free(&b);
	return err ?: n;
}

int mg_state_encode_reset(const struct mg_state *st, unsigned int origin,
			  size_t budget, struct mg_buf *out)
{
	uint32_t left = MG_SW_ENTRIES_MAX;
	struct mg_buf b = { 0 };
	int n, err;

	n = enc_batch(st, origin, true, 0, room(budget, 0), &left, &b);
	if (n < 0) {
		err = n;
		goto cleanup;
	}
	err = enc_msg(out, MG_SW_DELTA, NULL, &b, 1);
cleanup:
	mg_buf_free(&b);
	return err ?: n;
}

struct rumour {
	unsigned int origin;
	uint32_t tx;
};

static int rumour_cmp(const void *a, const void *b)
{
	const struct rumour *x = a, *y = b;

	if (x->tx != y->tx)
		return x->tx < y->tx ? -1 : 1;
	return x->origin < y->origin ? -1 : x->origin > y->origin;
}

int mg_state_gossip(struct mg_state *st, size_t budget, unsigned int limit,
		    struct mg_buf *out)
{
	struct mg_state_origin_info info;
	uint32_t left = MG_SW_ENTRIES_MAX;
	struct rumour *r = NULL;
	struct mg_buf b = { 0 };
	unsigned int i, n = 0, sent = 0;
	int err = 0;

	r = malloc(mg_state_origin_slots(st) * sizeof(*r) + 1);
	if (!r)
		return -ENOMEM;
	for (i = 0; i < mg_state_origin_slots(st); i++) {
		if (mg_state_origin_get(st, i, &info) ||
		    info.rumour_from >= info.max_version ||
		    info.rumour_tx >= limit)
			continue;
		r[n++] = (struct rumour){ .origin = i, .tx = info.rumour_tx };
	}
	qsort(r, n, sizeof(*r), rumour_cmp);
	for (i = 0; i < n; i++) {
		uint64_t since;
		int ret;

		mg_state_origin_get(st, r[i].origin, &info);
		/* below the floor we no longer hold every write */
		since = info.rumour_from > info.gc_floor ? info.rumour_from :
							   info.gc_floor;
		ret = enc_batch(st, r[i].origin, false, since,
				room(budget, b.len), &left, &b);
		if (ret == -ENOMEM) {
			err = ret;
			goto cleanup;
		}
		if (ret >= 0)
			sent++;
		/* a rumour that cannot go out (too big, stale) still ages */
		mg_state_rumour_sent(st, r[i].origin, limit);
	}
	if (sent)
		err = enc_msg(out, MG_SW_DELTA, NULL, &b, sent);
cleanup:
	mg_buf_free(&b);
	free(r);
	return err ?: (int)sent;
}

static int own_rumour(const struct mg_state *st, size_t budget,
		      struct mg_buf *b)
{
	struct mg_state_origin_info info;
	uint32_t left = MG_SW_ENTRIES_MAX;
	int n;

	mg_state_origin_get(st, 0, &info);
	if (info.rumour_from >= info.max_version ||
	    info.rumour_from < info.gc_floor)
		return 0;
	n = enc_batch(st, 0, false, info.rumour_from, budget, &left, b);
	return n == -ENOSPC ? 0 : n < 0 ? n : 1;
}

int mg_state_digest(const struct mg_state *st, size_t budget,
		    struct mg_buf *out)
{
	struct mg_buf d = { 0 }, b = { 0 };
	int n, err;

	err = enc_digest(st, &d);
	if (err)
		goto cleanup;
	n = own_rumour(st, room(budget, d.len), &b);
	if (n < 0) {
		err = n;
		goto cleanup;
	}
	err = enc_msg(out, MG_SW_DIGEST, &d, &b, n);
cleanup:
	mg_buf_free(&d);
	mg_buf_free(&b);
	return err;
}

/* --- what a peer lacks ---------------------------------------------------- */

/* A peer's digest, by our origin index. */
struct peer {
	uint64_t max[MG_STATE_ORIGINS_MAX];
	uint8_t known[MG_STATE_ORIGINS_MAX];
};

struct want {
	unsigned int origin;
	bool reset;
	uint64_t since;
	uint64_t cost;
};

static int want_cmp(const void *a, const void *b)
{
	const struct want *x = a, *y = b;

	if (x->reset != y->reset)
		return x->reset ? 1 : -1;
	if (x->cost != y->cost)
		return x->cost < y->cost ? -1 : 1;
	return x->origin < y->origin ? -1 : x->origin > y->origin;
}

/*
 * Batches for what @p lacks, smallest first so that one big origin cannot
 * starve the others (the rest of it goes in later rounds: no gap either way).
 */
static int enc_missing(const struct mg_state *st, const struct peer *p,
		       size_t budget, struct mg_buf *b, uint32_t *n_batches)
{
	struct mg_state_origin_info info;
	uint32_t left = MG_SW_ENTRIES_MAX;
	struct want *w;
	unsigned int i, n = 0;
	int err = 0;

	*n_batches = 0;
	w = malloc(mg_state_origin_slots(st) * sizeof(*w) + 1);
	if (!w)
		return -ENOMEM;
	for (i = 0; i < mg_state_origin_slots(st); i++) {
		uint64_t pv;

		if (mg_state_origin_get(st, i, &info))
			continue;
		pv = p->known[i] ? p->max[i] : 0;
		if (info.max_version <= pv)
			continue;
		w[n] = (struct want){
			.origin = i,
			.reset = pv < info.gc_floor,
			.since = pv,
			.cost = info.max_version - pv,
		};
		n++;
	}
	qsort(w, n, sizeof(*w), want_cmp);
	for (i = 0; i < n; i++) {
		int ret = enc_batch(st, w[i].origin, w[i].reset, w[i].since,
				    budget > b->len ? budget - b->len : 0,
				    &left, b);

		if (ret == -ENOMEM) {
			err = ret;
			break;
		}
		if (ret >= 0)
			++*n_batches;
	}
	free(w);
	return err;
}

/* --- decoding ------------------------------------------------------------- */

struct rx {
	struct mg_state *st;	/* NULL: validate only */
	struct peer *peer;	/* NULL: nobody wants the digest */
	uint32_t entries;
	uint8_t kind;
	size_t digest_off;
	size_t batches_off;
};

static int rd_name(struct mg_mp_rd *r, char *buf, bool empty_ok)
{
	const uint8_t *s;
	uint32_t n;
	int err;

	err = mg_mp_read_str(r, &s, &n);
	if (err)
		return err;
	if (n > MG_STATE_NAME_MAX || (!n && !empty_ok) || memchr(s, 0, n))
		return -EBADMSG;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return 0;
}

static int skip_n(struct mg_mp_rd *r, uint32_t n)
{
	int err = 0;

	while (n-- && !err)
		err = mg_mp_skip(r);
	return err;
}

static int rd_entry(struct rx *rx, struct mg_mp_rd *r, uint64_t *prev,
		    uint64_t to, struct mg_state_apply *ap)
{
	const uint8_t *k = NULL, *v = NULL;
	uint64_t kind, dv, flags, vtype = 0;
	uint32_t n, klen = 0, vlen = 0;
	struct mg_state_entry e;
	int err;

	err = mg_mp_read_array(r, &n);
	if (err)
		return err;
	if (n < 4 || n == 5)
		return -EBADMSG;
	err = mg_mp_read_uint(r, UINT8_MAX, &kind);
	err = err ?: mg_mp_read_bytes(r, &k, &klen);
	err = err ?: mg_mp_read_uint(r, UINT64_MAX, &dv);
	err = err ?: mg_mp_read_uint(r, 0x1ff, &flags);
	if (!err && n >= 6) {
		err = mg_mp_read_uint(r, UINT8_MAX, &vtype);
		err = err ?: mg_mp_read_bytes(r, &v, &vlen);
		err = err ?: skip_n(r, n - 6);
	}
	if (err)
		return err;
	if (!dv || dv > to - *prev)
		return -EBADMSG;	/* out of order or out of the batch */
	*prev += dv;
	if (!kind || kind > MG_STATE_KIND_MAX)
		return 0;		/* a later format's kind: skip */
	if (vlen > MG_STATE_VAL_MAX ||
	    mg_state_key_decode(kind, k, klen, &e.key))
		return -EBADMSG;
	if (!ap || !ap->active)
		return 0;
	e.version = *prev;
	e.deleted = flags & MG_SW_ENTRY_DELETED;
	memset(&e.val, 0, sizeof(e.val));
	if (!e.deleted) {
		e.val.flags = flags & 0xff;
		e.val.type = vtype;
		e.val.len = vlen;
		if (vlen)
			memcpy(e.val.data, v, vlen);
	}
	/* only a full store fails here; the rest of the batch waits */
	mg_state_apply_entry(rx->st, ap, &e);
	return 0;
}

static int rd_batch(struct rx *rx, struct mg_mp_rd *r)
{
	char name[MG_STATE_NAME_MAX + 1], cname[MG_STATE_NAME_MAX + 1];
	struct mg_state_batch b = { .origin = name, .cluster_name = cname };
	struct mg_state_apply ap = { 0 };
	uint64_t flags, cid, prev;
	uint32_t n, ne, i;
	int err;

	err = mg_mp_read_array(r, &n);
	if (err)
		return err;
	if (n < 7)
		return -EBADMSG;
	err = mg_mp_read_uint(r, UINT32_MAX, &flags);
	err = err ?: rd_name(r, name, false);
	err = err ?: mg_mp_read_uint(r, UINT8_MAX, &cid);
	err = err ?: rd_name(r, cname, true);
	err = err ?: mg_mp_read_uint(r, UINT64_MAX, &b.from);
	err = err ?: mg_mp_read_uint(r, UINT64_MAX, &b.to);
	err = err ?: mg_mp_read_array(r, &ne);
	if (err)
		return err;
	if (!cid || b.from > b.to)
		return -EBADMSG;
	if (ne > MG_SW_ENTRIES_MAX - rx->entries)
		return -E2BIG;
	rx->entries += ne;
	b.cluster_id = cid;
	b.reset = flags & MG_SW_BATCH_RESET;
	prev = b.reset ? 0 : b.from;
	if (rx->st)
		mg_state_apply_begin(rx->st, &b, &ap);
	for (i = 0; i < ne && !err; i++)
		err = rd_entry(rx, r, &prev, b.to, &ap);
	if (rx->st)
		mg_state_apply_end(rx->st, &ap);
	return err ?: skip_n(r, n - 7);
}

static int rd_digest_item(struct rx *rx, struct mg_mp_rd *r)
{
	char name[MG_STATE_NAME_MAX + 1];
	uint64_t max, floor;
	uint32_t n;
	int err, oi;

	err = mg_mp_read_array(r, &n);
	if (err)
		return err;
	if (n < 3)
		return -EBADMSG;
	err = rd_name(r, name, false);
	err = err ?: mg_mp_read_uint(r, UINT64_MAX, &max);
	err = err ?: mg_mp_read_uint(r, UINT64_MAX, &floor);
	err = err ?: skip_n(r, n - 3);
	if (err || !rx->st)
		return err;
	/* it may show a previous incarnation of ours */
	mg_state_observe(rx->st, name, max);
	oi = mg_state_origin_find(rx->st, name);
	if (oi >= 0 && rx->peer) {
		rx->peer->max[oi] = max;
		rx->peer->known[oi] = 1;
	}
	return 0;
}

static int rd_digest(struct rx *rx, struct mg_mp_rd *r)
{
	uint32_t n, i;
	int err;

	err = mg_mp_read_array(r, &n);
	if (err)
		return err;
	if (n > MG_SW_DIGEST_MAX)
		return -E2BIG;
	for (i = 0; i < n && !err; i++)
		err = rd_digest_item(rx, r);
	return err;
}

static int rd_batches(struct rx *rx, struct mg_mp_rd *r)
{
	uint32_t n, i;
	int err;

	err = mg_mp_read_array(r, &n);
	if (err)
		return err;
	if (n > MG_SW_BATCHES_MAX)
		return -E2BIG;
	for (i = 0; i < n && !err; i++)
		err = rd_batch(rx, r);
	return err;
}

/* Pass one: the whole message, no store; notes where the parts start. */
static int rd_check(struct rx *rx, const uint8_t *p, size_t len)
{
	struct mg_mp_rd r;
	uint32_t n;
	int err;

	if (!mg_sw_is_state(p, len))
		return -EPROTONOSUPPORT;
	rx->kind = p[2];
	if (rx->kind < MG_SW_DELTA || rx->kind > MG_SW_DIGEST_DELTAS)
		return -EPROTONOSUPPORT;
	mg_mp_rd_init(&r, p + MG_SW_HDR_LEN, len - MG_SW_HDR_LEN);
	err = mg_mp_read_array(&r, &n);
	if (err)
		goto out;
	if (n < 2) {
		err = -EBADMSG;
		goto out;
	}
	rx->digest_off = r.off;
	if (mg_mp_rd_left(&r) && r.p[r.off] == 0xc0) {
		r.off++;
		rx->digest_off = 0;
		if (rx->kind != MG_SW_DELTA)
			err = -EBADMSG;
	} else if (rx->kind == MG_SW_DELTA) {
		err = -EBADMSG;
	} else {
		err = rd_digest(rx, &r);
	}
	if (err)
		goto out;
	rx->batches_off = r.off;
	err = rd_batches(rx, &r);
	err = err ?: skip_n(&r, n - 2);
	if (!err && mg_mp_rd_left(&r))
		err = -EBADMSG;		/* trailing bytes */
out:
	if (err && err != -E2BIG)
		err = -EBADMSG;
	return err ? err : rx->kind;
}

int mg_sw_check(const void *msg, size_t len)
{
	struct rx rx = { 0 };

	return rd_check(&rx, msg, len);
}

int mg_state_recv(struct mg_state *st, const void *msg, size_t len,
		  size_t reply_budget, struct mg_buf *reply)
{
	struct mg_buf d = { 0 }, b = { 0 };
	struct rx rx = { 0 };
	struct mg_mp_rd r;
	uint32_t n_batches;
	int kind, err;

	if (reply)
		mg_buf_reset(reply);
	kind = rd_check(&rx, msg, len);
	if (kind < 0)
		return kind;
	/* pass two: batches first, so the digest maps onto their origins */
	rx.st = st;
	if (reply && kind != MG_SW_DELTA) {
		rx.peer = calloc(1, sizeof(*rx.peer));
		if (!rx.peer)
			return -ENOMEM;
	}
	mg_mp_rd_init(&r, (const uint8_t *)msg + MG_SW_HDR_LEN,
		      len - MG_SW_HDR_LEN);
	r.off = rx.batches_off;
	err = rd_batches(&rx, &r);
	if (!err && rx.digest_off) {
		r.off = rx.digest_off;
		err = rd_digest(&rx, &r);
	}
	if (err || !rx.peer)
		goto cleanup;
	if (kind == MG_SW_DIGEST) {
		err = enc_digest(st, &d);
		err = err ?: enc_missing(st, rx.peer, room(reply_budget, d.len),
					 &b, &n_batches);
		err = err ?: enc_msg(reply, MG_SW_DIGEST_DELTAS, &d, &b,
				     n_batches);
	} else {
		err = enc_missing(st, rx.peer, room(reply_budget, 0), &b,
				  &n_batches);
		if (!err && n_batches)
			err = enc_msg(reply, MG_SW_DELTA, NULL, &b, n_batches);
	}
cleanup:
	mg_buf_free(&d);
	mg_buf_free(&b);
	free(rx.peer);
	return err ? err : kind;
}
