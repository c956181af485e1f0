// SPDX-License-Identifier: GPL-2.0-only
/*
 * The replicated state store: two arenas of fixed-size entries (32 bytes
 * for keys and values of up to 6 bytes, as every IPv4 endpoint is; 48 for
 * up to 22, as an IPv6 endpoint; larger ones in one allocation behind a
 * 48-byte entry), a chained hash on (origin, kind, key) and, per origin, a
 * list of its entries in version order, so that "everything above v" costs
 * what it returns.  A million IPv4 endpoints take 36 MB (entries and hash).
 *
 * Version scheme.  A gateway persists nothing, yet after a restart its writes
 * must sort above everything its previous incarnation wrote, or peers would
 * take the new writes for old ones.  The first version of an incarnation is
 * the wall clock in microseconds at startup, and each write adds one.  Unlike
 * (seconds << 32 | counter), a restart within the same second is safe, and an
 * incarnation would have to sustain a million writes per second to run ahead
 * of the clock its successor starts from.  Our own gc_floor starts at that
 * base too: we hold nothing below it, so a peer still at our old incarnation's
 * version is below our floor and gets a reset, which wipes the old entries.
 * If the clock stepped back across the restart, a peer's digest shows a
 * version of ours above our own; mg_state_observe() then jumps our version
 * and floor past it, with the same effect.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "state/state.h"

#define BLK_SHIFT	10
#define BLK_SIZE	(1u << BLK_SHIFT)
#define NIL		UINT32_MAX
/* An entry index: its arena in the top bit, its slot in the others. */
#define CLS_BIT		31
#define SLOT_MASK	((1u << CLS_BIT) - 1)
#define SMALL		0	/* 32-byte entries */
#define BIG		1	/* 48-byte entries */

enum {
	EF_USED = 1,
	EF_DEL = 2,	/* tombstone */
	EF_EXT = 4,	/* key and value live behind the pointer in data[] */
	EF_MARK = 8,	/* a reset has not re-sent it yet */
};

/*
 * The head of an entry, 26 bytes; key and value bytes follow inline in
 * the slot when they fit (6 bytes in a small slot, 22 in a big one: every
 * endpoint fits), else in one allocation whose pointer they hold (big).
 */
struct ent {
	uint64_t version;
	uint32_t hnext;		/* hash chain; free list when unused */
	uint32_t vprev;		/* the origin's version-ordered list */
	uint32_t vnext;
	uint32_t origin : 11;
	uint32_t kind : 3;
	uint32_t ef : 4;
	uint32_t klen : 6;
	uint32_t vlen : 7;
	uint8_t vtype;
	uint8_t uflags;
	uint8_t data[];
};

#define HEAD		offsetof(struct ent, data)
static const size_t slot_size[2] = { 32, 48 };
#define INLINE(cls)	(slot_size[cls] - HEAD)

_Static_assert(offsetof(struct ent, data) == 26, "keep entries compact");
_Static_assert(sizeof(struct ent) <= 32, "a head fits a small slot");
_Static_assert(MG_STATE_ORIGINS_MAX <= 1 << 11, "origin fits its bits");
_Static_assert(MG_STATE_KIND_MAX < 1 << 3, "kind fits its bits");
_Static_assert(MG_STATE_VAL_MAX < 1 << 7, "vlen fits its bits");
_Static_assert(sizeof(void *) <= 48 - 26, "a pointer fits a big slot");

enum { O_FREE, O_LIVE, O_FORGOTTEN };

struct origin {
	char name[MG_STATE_NAME_MAX + 1];
	char cluster_name[MG_STATE_NAME_MAX + 1];
	uint8_t cluster_id;
	uint8_t state;
	uint64_t max;
	uint64_t floor;
	uint32_t head;
	uint32_t tail;
	uint32_t n_live;
	uint32_t n_tomb;
	uint64_t last_heard;
	uint64_t forgot_at;
	uint64_t rumour_from;
	uint32_t rumour_tx;
};

/* A tombstone waiting for its grace period; stale once the entry moved on. */
struct tomb {
	uint64_t version;
	uint64_t at;
	uint32_t idx;
	uint16_t origin;
};

struct arena {
	uint8_t **blk;		/* blocks of BLK_SIZE slots */
	uint32_t n_blk;
	uint32_t hiwat;		/* slots ever handed out */
	uint32_t free_head;
};

struct mg_state {
	struct arena ar[2];	/* SMALL, BIG */
	uint32_t n_ent;
	uint32_t max_ent;
	uint32_t *bucket;
	uint32_t n_bucket;	/* power of two */
	struct origin **org;
	uint32_t n_org;
	struct tomb *tq;
	size_t tq_head;
	size_t tq_len;
	size_t tq_cap;
	size_t ext_bytes;
	uint64_t seed;
	uint64_t grace;
	uint64_t (*now_ms)(void *ctx);
	mg_state_change_fn on_change;
	void *ctx;
};

/* --- keys ----------------------------------------------------------------- */

static int addr_bytes(uint8_t family)
{
	return family == MG_AF_INET ? 4 : family == MG_AF_INET6 ? 16 : -1;
}

static bool host_bits_zero(const uint8_t *a, int n, unsigned int len)
{
	int i;

	for (i = 0; i < n; i++) {
		unsigned int bit = (unsigned int)i * 8;
		uint8_t mask;

		if (bit + 8 <= len)
			continue;
		mask = bit >= len ? 0xff : (uint8_t)(0xff >> (len - bit));
		if (a[i] & mask)
			return false;
	}
	return true;
}

static int put_addr(uint8_t *p, const struct mg_addr *a)
{
	int n = addr_bytes(a->family);

	if (n < 0)
		return -EINVAL;
	p[0] = a->family;
	memcpy(p + 1, a->addr, n);
	return 1 + n;
}

static int get_addr(const uint8_t *p, size_t left, struct mg_addr *a)
{
	int n;

	if (!left)
		return -EINVAL;
	n = addr_bytes(p[0]);
	if (n < 0 || left < (size_t)1 + n)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->family = p[0];
	memcpy(a->addr, p + 1, n);
	return 1 + n;
}

/* The encoded length of @key, or -EINVAL. */
static int key_len(const struct mg_state_key *key)
{
	const struct mg_state_backend_key *be = &key->be;
	int v, a;

	switch (key->kind) {
	case MG_STATE_ENDPOINT:
		a = addr_bytes(key->ep.addr.family);
		return a < 0 ? -EINVAL : 2 + a;
	case MG_STATE_BACKEND:
	case MG_STATE_EJECT:
		v = addr_bytes(be->vip.family);
		a = addr_bytes(be->addr.family);
		if (v < 0 || a < 0)
			return -EINVAL;
		return 1 + (1 + v + 2) + (1 + a + 2);
	case MG_STATE_GWINFO:
		return 0;
	case MG_STATE_POLICY:
		return 4;
	}
	return -EINVAL;
}

/* The longest key is a BACKEND with two IPv6 addresses; ent.klen is a u8. */
_Static_assert(MG_STATE_KEY_MAX ==
	       1 + 2 * (1 + sizeof(((struct mg_addr *)0)->addr) + 2),
	       "MG_STATE_KEY_MAX is the longest key_len()");
_Static_assert(MG_STATE_KEY_MAX < 1 << 6, "klen fits its bits");

int mg_state_key_encode(const struct mg_state_key *key, uint8_t *buf,
			size_t size)
{
	const struct mg_state_backend_key *be = &key->be;
	int n, off, len = key_len(key);

	if (len < 0)
		return len;
	if ((size_t)len > size)
		return -ENOSPC;
	switch (key->kind) {
	case MG_STATE_ENDPOINT:
		n = put_addr(buf, &key->ep.addr);
		if (n < 0 || key->ep.len > (n - 1) * 8 ||
		    !host_bits_zero(buf + 1, n - 1, key->ep.len))
			return -EINVAL;
		/* family, len, address */
		memmove(buf + 2, buf + 1, n - 1);
		buf[1] = key->ep.len;
		return n + 1;
	case MG_STATE_BACKEND:
	case MG_STATE_EJECT:
		if (!be->proto)
			return -EINVAL;
		buf[0] = be->proto;
		off = 1;
		off += put_addr(buf + off, &be->vip);
		buf[off++] = be->vport >> 8;
		buf[off++] = be->vport & 0xff;
		off += put_addr(buf + off, &be->addr);
		buf[off++] = be->port >> 8;
		buf[off++] = be->port & 0xff;
		return off;
	case MG_STATE_POLICY:
		buf[0] = key->pol_id >> 24;
		buf[1] = key->pol_id >> 16 & 0xff;
		buf[2] = key->pol_id >> 8 & 0xff;
		buf[3] = key->pol_id & 0xff;
		return 4;
	}
	return 0;	/* MG_STATE_GWINFO */
}

int mg_state_key_decode(uint8_t kind, const uint8_t *buf, size_t len,
			struct mg_state_key *key)
{
	struct mg_state_backend_key *be = &key->be;
	size_t off;
	int n;

	memset(key, 0, sizeof(*key));
	key->kind = kind;
	switch (kind) {
	case MG_STATE_ENDPOINT:
		if (len < 2)
			return -EINVAL;
		n = addr_bytes(buf[0]);
		if (n < 0 || len != (size_t)2 + n || buf[1] > n * 8 ||
		    !host_bits_zero(buf + 2, n, buf[1]))
			return -EINVAL;
		key->ep.addr.family = buf[0];
		key->ep.len = buf[1];
		memcpy(key->ep.addr.addr, buf + 2, n);
		return 0;
	case MG_STATE_BACKEND:
	case MG_STATE_EJECT:
		if (len < 1 || !buf[0])
			return -EINVAL;
		be->proto = buf[0];
		off = 1;
		n = get_addr(buf + off, len - off, &be->vip);
		if (n < 0 || len - off - n < 2)
			return -EINVAL;
		off += n;
		be->vport = (uint16_t)(buf[off] << 8 | buf[off + 1]);
		off += 2;
		n = get_addr(buf + off, len - off, &be->addr);
		if (n < 0 || len - off - n != 2)
			return -EINVAL;
		off += n;
		be->port = (uint16_t)(buf[off] << 8 | buf[off + 1]);
		return 0;
	case MG_STATE_GWINFO:
		return len ? -EINVAL : 0;
	case MG_STATE_POLICY:
		if (len != 4)
			return -EINVAL;
		key->pol_id = (uint32_t)buf[0] << 24 | buf[1] << 16 |
			      buf[2] << 8 | buf[3];
		return 0;
	}
	return -EINVAL;
}

int mg_state_gwinfo_encode(const struct mg_state_gwinfo *gi,
			   struct mg_state_val *val)
{
	unsigned int i;
	int off = 5, n;

	if (gi->n_addr > MG_STATE_GW_ADDRS)
		return -EINVAL;
	memset(val, 0, sizeof(*val));
	val->type = MG_STATE_VT_GWINFO;
	val->data[0] = gi->generation >> 24;
	val->data[1] = gi->generation >> 16;
	val->data[2] = gi->generation >> 8;
	val->data[3] = gi->generation;
	val->data[4] = gi->n_addr;
	for (i = 0; i < gi->n_addr; i++) {
		n = put_addr(val->data + off, &gi->addr[i]);
		if (n < 0)
			return -EINVAL;
		off += n;
	}
	val->len = off;
	return 0;
}

int mg_state_gwinfo_decode(const struct mg_state_val *val,
			   struct mg_state_gwinfo *gi)
{
	const uint8_t *d = val->data;
	unsigned int i;
	size_t off = 5;
	int n;

	memset(gi, 0, sizeof(*gi));
	if (val->type != MG_STATE_VT_GWINFO || val->len < 5 ||
	    val->len > MG_STATE_VAL_MAX || d[4] > MG_STATE_GW_ADDRS)
		return -EINVAL;
	gi->generation = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
			 (uint32_t)d[2] << 8 | d[3];
	gi->n_addr = d[4];
	for (i = 0; i < gi->n_addr; i++) {
		n = get_addr(d + off, val->len - off, &gi->addr[i]);
		if (n < 0)
			return -EINVAL;
		off += n;
	}
	return off == val->len ? 0 : -EINVAL;
}

/* --- arena and hash ------------------------------------------------------- */

static inline unsigned int cls_of(uint32_t idx)
{
	return idx >> CLS_BIT;
}

static inline struct ent *E(const struct mg_state *st, uint32_t idx)
{
	const struct arena *a = &st->ar[cls_of(idx)];
	uint32_t slot = idx & SLOT_MASK;

	return (struct ent *)(a->blk[slot >> BLK_SHIFT] +
			      (slot & (BLK_SIZE - 1)) *
			      slot_size[cls_of(idx)]);
}

static uint8_t *ent_bytes(struct ent *e)
{
	uint8_t *p;

	if (!(e->ef & EF_EXT))
		return e->data;
	memcpy(&p, e->data, sizeof(p));
	return p;
}

/* The arena an entry of @need key and value bytes goes to. */
static unsigned int cls_for(size_t need)
{
	return need <= INLINE(SMALL) ? SMALL : BIG;
}

static uint64_t hash_key(const struct mg_state *st, unsigned int origin,
			 uint8_t kind, const uint8_t *k, size_t klen)
{
	uint64_t h = st->seed ^ ((uint64_t)origin << 8 | kind);
	size_t i;

	/* FNV-1a over a seeded start, then a murmur finaliser. */
	for (i = 0; i < klen; i++)
		h = (h ^ k[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint32_t *bucket_of(const struct mg_state *st, unsigned int origin,
			   uint8_t kind, const uint8_t *k, size_t klen)
{
	return &st->bucket[hash_key(st, origin, kind, k, klen) &
			   (st->n_bucket - 1)];
}

/* The slot that points at the entry (for unlinking), or at NIL. */
static uint32_t *find_slot(const struct mg_state *st, unsigned int origin,
			   uint8_t kind, const uint8_t *k, size_t klen)
{
	uint32_t *slot = bucket_of(st, origin, kind, k, klen);

	while (*slot != NIL) {
		struct ent *e = E(st, *slot);

		if (e->origin == origin && e->kind == kind &&
		    e->klen == klen && !memcmp(ent_bytes(e), k, klen))
			return slot;
		slot = &e->hnext;
	}
	return slot;
}

static int rehash(struct mg_state *st, uint32_t n_bucket)
{
	uint32_t *b, i;

	b = malloc((size_t)n_bucket * sizeof(*b));
	if (!b)
		return -ENOMEM;
	memset(b, 0xff, (size_t)n_bucket * sizeof(*b));
	free(st->bucket);
	st->bucket = b;
	st->n_bucket = n_bucket;
	for (unsigned int c = SMALL; c <= BIG; c++) {
		for (i = 0; i < st->ar[c].hiwat; i++) {
			uint32_t idx = (uint32_t)c << CLS_BIT | i;
			struct ent *e = E(st, idx);
			uint32_t *slot;

			if (!(e->ef & EF_USED))
				continue;
			slot = bucket_of(st, e->origin, e->kind, ent_bytes(e),
					 e->klen);
			e->hnext = *slot;
			*slot = idx;
		}
	}
	return 0;
}

/*
 * A zeroed entry in arena @cls, counted; NIL when full or out of memory.
 * @moving: for an entry about to be freed, which the bound already counts.
 */
static uint32_t ent_alloc(struct mg_state *st, unsigned int cls, bool moving)
{
	struct arena *a = &st->ar[cls];
	uint32_t idx;

	if (st->n_ent >= st->max_ent && !moving)
		return NIL;
	if (st->n_ent >= st->n_bucket && st->n_bucket < (1u << 31) &&
	    rehash(st, st->n_bucket * 2))
		return NIL;
	if (a->free_head != NIL) {
		idx = a->free_head;
		a->free_head = E(st, idx)->hnext;
	} else {
		if (a->hiwat >= SLOT_MASK)
			return NIL;
		if (a->hiwat == a->n_blk * BLK_SIZE) {
			uint8_t **blk;

			blk = realloc(a->blk, (a->n_blk + 1) * sizeof(*blk));
			if (!blk)
				return NIL;
			a->blk = blk;
			blk[a->n_blk] = calloc(BLK_SIZE, slot_size[cls]);
			if (!blk[a->n_blk])
				return NIL;
			a->n_blk++;
		}
		idx = (uint32_t)cls << CLS_BIT | a->hiwat++;
	}
	memset(E(st, idx), 0, slot_size[cls]);
	st->n_ent++;
	return idx;
}

/* Back to its arena's free list (unlinked, bytes released). */
static void ent_free(struct mg_state *st, uint32_t idx)
{
	struct arena *a = &st->ar[cls_of(idx)];
	struct ent *e = E(st, idx);

	e->ef = 0;
	e->hnext = a->free_head;
	a->free_head = idx;
	st->n_ent--;
}

static void ent_put_bytes(struct mg_state *st, struct ent *e)
{
	if (e->ef & EF_EXT) {
		free(ent_bytes(e));
		st->ext_bytes -= e->klen + e->vlen;
		e->ef &= ~EF_EXT;
	}
}

/*
 * Store key and value bytes in entry @idx; the old ones are released.
 * A small entry takes only what fits it (upsert moves the others).
 */
static int ent_set_bytes(struct mg_state *st, uint32_t idx,
			 const uint8_t *k, size_t klen,
			 const uint8_t *v, size_t vlen)
{
	uint8_t tmp[MG_STATE_KEY_MAX + MG_STATE_VAL_MAX];
	struct ent *e = E(st, idx);
	uint8_t *p = e->data;

	if (klen > MG_STATE_KEY_MAX || vlen > MG_STATE_VAL_MAX)
		return -EINVAL;
	if (klen + vlen > INLINE(cls_of(idx)) && cls_of(idx) == SMALL)
		return -EINVAL;
	/* the key may be the entry's own bytes */
	memcpy(tmp, k, klen);
	memcpy(tmp + klen, v, vlen);
	if (klen + vlen > INLINE(cls_of(idx))) {
		p = malloc(klen + vlen);
		if (!p)
			return -ENOMEM;
	}
	ent_put_bytes(st, e);
	if (p != e->data) {
		memcpy(e->data, &p, sizeof(p));
		e->ef |= EF_EXT;
		st->ext_bytes += klen + vlen;
	}
	memcpy(p, tmp, klen + vlen);
	e->klen = klen;
	e->vlen = vlen;
	return 0;
}

/* --- origins and version lists -------------------------------------------- */

static uint64_t now(const struct mg_state *st)
{
	return st->now_ms(st->ctx);
}

static void list_unlink(struct mg_state *st, struct origin *o, uint32_t idx)
{
	struct ent *e = E(st, idx);

	if (e->vprev != NIL)
		E(st, e->vprev)->vnext = e->vnext;
	else
		o->head = e->vnext;
	if (e->vnext != NIL)
		E(st, e->vnext)->vprev = e->vprev;
	else
		o->tail = e->vprev;
	e->vprev = e->vnext = NIL;
}

static void list_append(struct mg_state *st, struct origin *o, uint32_t idx)
{
	struct ent *e = E(st, idx);

	e->vnext = NIL;
	e->vprev = o->tail;
	if (o->tail != NIL)
		E(st, o->tail)->vnext = idx;
	else
		o->head = idx;
	o->tail = idx;
}

static void ent_view(const struct mg_state *st, uint32_t idx,
		     struct mg_state_entry *out)
{
	struct ent *e = E(st, idx);
	const uint8_t *b = ent_bytes(e);

	memset(out, 0, sizeof(*out));
	/* stored keys were validated on the way in */
	mg_state_key_decode(e->kind, b, e->klen, &out->key);
	out->version = e->version;
	out->deleted = e->ef & EF_DEL;
	out->origin = e->origin;
	if (!out->deleted) {
		out->val.flags = e->uflags;
		out->val.type = e->vtype;
		out->val.len = e->vlen;
		memcpy(out->val.data, b + e->klen, e->vlen);
	}
}

static void notify(struct mg_state *st, unsigned int oi,
		   const struct mg_state_key *key,
		   const struct mg_state_val *old_val,
		   const struct mg_state_val *new_val, uint64_t version)
{
	struct mg_state_change c = {
		.origin = oi,
		.origin_name = st->org[oi]->name,
		.cluster_id = st->org[oi]->cluster_id,
		.key = key,
		.old_val = old_val,
		.new_val = new_val,
		.version = version,
	};

	if (st->on_change)
		st->on_change(st->ctx, &c);
}

/* Unlink and free an entry, with a delete callback if it was live. */
static void ent_drop(struct mg_state *st, uint32_t idx, bool tell)
{
	struct ent *e = E(st, idx);
	struct origin *o = st->org[e->origin];
	struct mg_state_entry old;
	uint32_t *slot;

	if (tell && !(e->ef & EF_DEL))
		ent_view(st, idx, &old);
	slot = find_slot(st, e->origin, e->kind, ent_bytes(e), e->klen);
	*slot = e->hnext;
	list_unlink(st, o, idx);
	if (e->ef & EF_DEL)
		o->n_tomb--;
	else
		o->n_live--;
	if (tell && !(e->ef & EF_DEL))
		notify(st, e->origin, &old.key, &old.val, NULL, old.version);
	ent_put_bytes(st, e);
	ent_free(st, idx);
}

static void drop_all(struct mg_state *st, struct origin *o, uint8_t only_ef,
		     bool tell)
{
	uint32_t idx = o->head, next;

	while (idx != NIL) {
		next = E(st, idx)->vnext;
		if ((E(st, idx)->ef & only_ef) == only_ef)
			ent_drop(st, idx, tell);
		idx = next;
	}
}

static int tq_push(struct mg_state *st, uint32_t idx)
{
	struct ent *e = E(st, idx);

	if (st->tq_head + st->tq_len == st->tq_cap) {
		if (st->tq_head > st->tq_cap / 2) {
			memmove(st->tq, st->tq + st->tq_head,
				st->tq_len * sizeof(*st->tq));
			st->tq_head = 0;
		} else {
			size_t cap = st->tq_cap ? st->tq_cap * 2 : 64;
			struct tomb *tq = realloc(st->tq, cap * sizeof(*tq));

			if (!tq)
				return -ENOMEM;
			st->tq = tq;
			st->tq_cap = cap;
		}
	}
	st->tq[st->tq_head + st->tq_len++] = (struct tomb){
		.version = e->version,
		.at = now(st),
		.idx = idx,
		.origin = e->origin,
	};
	return 0;
}

static bool val_equal(struct ent *e, const struct mg_state_val *v)
{
	return e->uflags == v->flags && e->vtype == v->type &&
	       e->vlen == v->len &&
	       !memcmp(ent_bytes(e) + e->klen, v->data, v->len);
}

/*
 * Move a small entry whose value outgrew it to a big one, in its place in
 * its hash chain and version list.  The new index, or NIL (no memory).
 */
static uint32_t ent_move(struct mg_state *st, struct origin *o, uint32_t idx)
{
	uint32_t nidx = ent_alloc(st, BIG, true), *slot;
	struct ent *e, *n;

	if (nidx == NIL)
		return NIL;
	/* after ent_alloc: it may have rehashed, and grown an arena */
	e = E(st, idx);
	n = E(st, nidx);
	memcpy(n, e, slot_size[SMALL]);	/* a small one is never EF_EXT */
	slot = find_slot(st, e->origin, e->kind, e->data, e->klen);
	*slot = nidx;
	if (n->vprev != NIL)
		E(st, n->vprev)->vnext = nidx;
	else
		o->head = nidx;
	if (n->vnext != NIL)
		E(st, n->vnext)->vprev = nidx;
	else
		o->tail = nidx;
	ent_free(st, idx);
	return nidx;
}

/*
 * Write an entry of origin @oi: the core of local writes and merges.  The
 * entry moves to the tail of its origin's version list, so the caller must
 * bring versions in increasing order per origin.
 */
static int upsert(struct mg_state *st, unsigned int oi,
		  const struct mg_state_key *key, const uint8_t *k,
		  size_t klen, const struct mg_state_val *val, bool del,
		  uint64_t version)
{
	static const struct mg_state_val none;
	struct origin *o = st->org[oi];
	struct mg_state_entry old;
	bool was_live = false, tell;
	uint32_t *slot, idx;
	struct ent *e;
	int err;

	if (del)
		val = &none;
	slot = find_slot(st, oi, key->kind, k, klen);
	idx = *slot;
	if (idx == NIL) {
		idx = ent_alloc(st, cls_for(klen + val->len), false);
		if (idx == NIL)
			return -ENOSPC;
		e = E(st, idx);
		if (ent_set_bytes(st, idx, k, klen, val->data, val->len)) {
			ent_free(st, idx);
			return -ENOMEM;
		}
		e->ef = EF_USED | (e->ef & EF_EXT);
		e->origin = oi;
		e->kind = key->kind;
		e->vprev = e->vnext = NIL;
		/* ent_alloc may have rehashed: look the bucket up again */
		slot = bucket_of(st, oi, key->kind, k, klen);
		e->hnext = *slot;
		*slot = idx;
		list_append(st, o, idx);
		tell = !del;
	} else {
		if (cls_of(idx) == SMALL && klen + val->len > INLINE(SMALL)) {
			idx = ent_move(st, o, idx);
			if (idx == NIL)
				return -ENOMEM;
		}
		e = E(st, idx);
		was_live = !(e->ef & EF_DEL);
		if (was_live)
			ent_view(st, idx, &old);
		tell = was_live ? del || !val_equal(e, val) : !del;
		if (e->vlen != val->len || (!del && tell)) {
			err = ent_set_bytes(st, idx, ent_bytes(e), klen,
					    val->data, val->len);
			if (err)
				return err;
		}
		if (was_live)
			o->n_live--;
		else
			o->n_tomb--;
		list_unlink(st, o, idx);
		list_append(st, o, idx);
	}
	e->version = version;
	e->uflags = val->flags;
	e->vtype = val->type;
	e->ef &= ~(EF_DEL | EF_MARK);
	if (del) {
		e->ef |= EF_DEL;
		o->n_tomb++;
		/* without its queue record it would just never be collected */
		tq_push(st, idx);
	} else {
		o->n_live++;
	}
	if (tell)
		notify(st, oi, key, was_live ? &old.val : NULL,
		       del ? NULL : val, version);
	return 0;
}

static void advanced(struct mg_state *st, struct origin *o, uint64_t max)
{
	o->max = max;
	o->last_heard = now(st);
	o->rumour_tx = 0;	/* the rumour now covers (rumour_from, max] */
}

static int origin_add(struct mg_state *st, const char *name,
		      uint8_t cluster_id, const char *cluster_name)
{
	struct origin **org, *o;
	uint32_t i;

	for (i = 0; i < st->n_org; i++)
		if (st->org[i]->state == O_FREE)
			break;
	if (i == st->n_org) {
		if (st->n_org >= MG_STATE_ORIGINS_MAX)
			return -ENOSPC;
		org = realloc(st->org, (st->n_org + 1) * sizeof(*org));
		if (!org)
			return -ENOMEM;
		st->org = org;
		org[i] = malloc(sizeof(**org));
		if (!org[i])
			return -ENOMEM;
		st->n_org++;
	}
	o = st->org[i];
	memset(o, 0, sizeof(*o));
	strcpy(o->name, name);
	strcpy(o->cluster_name, cluster_name ? cluster_name : "");
	o->cluster_id = cluster_id;
	o->state = O_LIVE;
	o->head = o->tail = NIL;
	o->last_heard = now(st);
	return i;
}

static int find_origin(const struct mg_state *st, const char *name)
{
	uint32_t i;

	for (i = 0; i < st->n_org; i++)
		if (st->org[i]->state != O_FREE && !strcmp(st->org[i]->name, name))
			return i;
	return -ENOENT;
}

/* --- the store ------------------------------------------------------------ */

static uint64_t clock_ms(void *ctx)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool name_ok(const char *s, bool empty_ok)
{
	size_t n = s ? strnlen(s, MG_STATE_NAME_MAX + 1) : 0;

	return n <= MG_STATE_NAME_MAX && (n || empty_ok);
}

int mg_state_new(const struct mg_state_cfg *cfg, struct mg_state **out)
{
	struct mg_state *st;
	struct timespec ts;
	int err;

	*out = NULL;
	if (!name_ok(cfg->name, false) || !cfg->cluster_id ||
	    !name_ok(cfg->cluster_name, true))
		return -EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->ar[SMALL].free_head = st->ar[BIG].free_head = NIL;
	st->max_ent = cfg->max_entries ? cfg->max_entries :
		      MG_STATE_ENTRIES_DEFAULT;
	st->grace = cfg->grace_ms ? cfg->grace_ms : MG_STATE_GRACE_DEFAULT_MS;
	st->now_ms = cfg->now_ms ? cfg->now_ms : clock_ms;
	st->on_change = cfg->on_change;
	st->ctx = cfg->ctx;
	st->seed = cfg->hash_seed;
	if (!st->seed && getrandom(&st->seed, sizeof(st->seed), 0) < 0)
		st->seed = (uintptr_t)st ^ clock_ms(NULL);
	err = rehash(st, 64);
	if (err)
		goto cleanup;
	err = origin_add(st, cfg->name, cfg->cluster_id, cfg->cluster_name);
	if (err < 0)
		goto cleanup;
	st->org[0]->max = cfg->version_base;
	if (!st->org[0]->max) {
		clock_gettime(CLOCK_REALTIME, &ts);
		st->org[0]->max = (uint64_t)ts.tv_sec * 1000000 +
				  ts.tv_nsec / 1000;
	}
	st->org[0]->floor = st->org[0]->max;
	st->org[0]->rumour_from = st->org[0]->max;
	*out = st;
	return 0;
cleanup:
	mg_state_free(st);
	return err;
}

void mg_state_free(struct mg_state *st)
{
	uint32_t i;

	if (!st)
		return;
	/* only big entries hold bytes of their own */
	for (i = 0; i < st->ar[BIG].hiwat; i++)
		if (E(st, (uint32_t)BIG << CLS_BIT | i)->ef & EF_EXT)
			free(ent_bytes(E(st, (uint32_t)BIG << CLS_BIT | i)));
	for (unsigned int c = SMALL; c <= BIG; c++) {
		for (i = 0; i < st->ar[c].n_blk; i++)
			free(st->ar[c].blk[i]);
		free(st->ar[c].blk);
	}
	for (i = 0; i < st->n_org; i++)
		free(st->org[i]);
	free(st->org);
	free(st->bucket);
	free(st->tq);
	free(st);
}

static int check_val(const struct mg_state_val *val)
{
	return val->len > MG_STATE_VAL_MAX ? -EINVAL : 0;
}

static int local_write(struct mg_state *st, const struct mg_state_key *key,
		       const struct mg_state_val *val, bool del)
{
	struct origin *o = st->org[0];
	uint8_t k[MG_STATE_KEY_MAX];
	uint32_t idx;
	int klen, err;

	klen = mg_state_key_encode(key, k, sizeof(k));
	if (klen < 0 || (!del && check_val(val)))
		return -EINVAL;
	if (o->max >= MG_STATE_VERSION_MAX)
		return -EOVERFLOW;
	idx = *find_slot(st, 0, key->kind, k, klen);
	if (del && (idx == NIL || E(st, idx)->ef & EF_DEL))
		return -ENOENT;
	if (!del && idx != NIL && !(E(st, idx)->ef & EF_DEL) &&
	    val_equal(E(st, idx), val))
		return 0;
	err = upsert(st, 0, key, k, klen, val, del, o->max + 1);
	if (!err)
		advanced(st, o, o->max + 1);
	return err;
}

int mg_state_set_local(struct mg_state *st, const struct mg_state_key *key,
		       const struct mg_state_val *val)
{
	return local_write(st, key, val, false);
}

int mg_state_del_local(struct mg_state *st, const struct mg_state_key *key)
{
	return local_write(st, key, NULL, true);
}

int mg_state_get(const struct mg_state *st, unsigned int origin,
		 const struct mg_state_key *key, struct mg_state_entry *e)
{
	uint8_t k[MG_STATE_KEY_MAX];
	uint32_t idx;
	int klen;

	if (origin >= st->n_org || st->org[origin]->state != O_LIVE)
		return -ENOENT;
	klen = mg_state_key_encode(key, k, sizeof(k));
	if (klen < 0)
		return -EINVAL;
	idx = *find_slot(st, origin, key->kind, k, klen);
	if (idx == NIL)
		return -ENOENT;
	ent_view(st, idx, e);
	return 0;
}

/* --- origins -------------------------------------------------------------- */

unsigned int mg_state_origin_slots(const struct mg_state *st)
{
	return st->n_org;
}

int mg_state_origin_find(const struct mg_state *st, const char *name)
{
	int oi = find_origin(st, name);

	return oi >= 0 && st->org[oi]->state != O_LIVE ? -ENOENT : oi;
}

int mg_state_origin_get(const struct mg_state *st, unsigned int origin,
			struct mg_state_origin_info *info)
{
	const struct origin *o;

	if (origin >= st->n_org || st->org[origin]->state != O_LIVE)
		return -ENOENT;
	o = st->org[origin];
	*info = (struct mg_state_origin_info){
		.name = o->name,
		.cluster_name = o->cluster_name,
		.cluster_id = o->cluster_id,
		.self = origin == 0,
		.max_version = o->max,
		.gc_floor = o->floor,
		.n_live = o->n_live,
		.n_tomb = o->n_tomb,
		.last_heard_ms = o->last_heard,
		.rumour_from = o->rumour_from,
		.rumour_tx = o->rumour_tx,
	};
	return 0;
}

int mg_state_forget_origin(struct mg_state *st, const char *name)
{
	int oi = mg_state_origin_find(st, name);
	struct origin *o;

	if (oi < 0)
		return oi;
	if (oi == 0)
		return -EINVAL;
	o = st->org[oi];
	drop_all(st, o, EF_USED, true);
	o->state = O_FORGOTTEN;
	o->forgot_at = now(st);
	return 0;
}

unsigned int mg_state_gc(struct mg_state *st, uint64_t now_ms)
{
	unsigned int n = 0;
	uint32_t i;

	while (st->tq_len) {
		struct tomb *t = &st->tq[st->tq_head];
		struct ent *e = E(st, t->idx);
		struct origin *o = st->org[t->origin];

		if (t->at + st->grace > now_ms)
			break;
		st->tq_head++;
		st->tq_len--;
		if ((e->ef & (EF_USED | EF_DEL)) != (EF_USED | EF_DEL) ||
		    e->origin != t->origin || e->version != t->version)
			continue;	/* rewritten or dropped since */
		ent_drop(st, t->idx, false);
		if (o->floor < t->version)
			o->floor = t->version;
		n++;
	}
	if (!st->tq_len)
		st->tq_head = 0;
	for (i = 1; i < st->n_org; i++) {
		struct origin *o = st->org[i];

		if (o->state == O_FORGOTTEN && o->forgot_at + st->grace <= now_ms) {
			o->state = O_FREE;
			n++;
		}
	}
	return n;
}

/* --- iteration ------------------------------------------------------------ */

bool mg_state_iter_next(const struct mg_state *st, struct mg_state_iter *it,
			struct mg_state_entry *e)
{
	/* it->next is an entry index: the small arena's, then the big one's */
	for (;;) {
		uint32_t idx = it->next;
		struct ent *x;

		if ((idx & SLOT_MASK) >= st->ar[cls_of(idx)].hiwat) {
			if (cls_of(idx) == BIG)
				return false;
			it->next = (uint32_t)BIG << CLS_BIT;
			continue;
		}
		it->next++;
		x = E(st, idx);
		if ((x->ef & (EF_USED | EF_DEL)) == EF_USED) {
			ent_view(st, idx, e);
			return true;
		}
	}
}

void mg_state_since(const struct mg_state *st, unsigned int origin,
		    uint64_t since, struct mg_state_cursor *c)
{
	const struct origin *o;
	uint32_t idx;

	c->idx = NIL;
	if (origin >= st->n_org || st->org[origin]->state != O_LIVE)
		return;
	o = st->org[origin];
	/* walk back from the newest: costs what the delta holds */
	for (idx = o->tail; idx != NIL && E(st, idx)->version > since;
	     idx = E(st, idx)->vprev)
		c->idx = idx;
}

bool mg_state_cursor_next(const struct mg_state *st, struct mg_state_cursor *c,
			  struct mg_state_entry *e)
{
	if (c->idx == NIL)
		return false;
	ent_view(st, c->idx, e);
	c->idx = E(st, c->idx)->vnext;
	return true;
}

/* --- merge ---------------------------------------------------------------- */

void mg_state_observe(struct mg_state *st, const char *origin_name,
		      uint64_t max)
{
	struct origin *o = st->org[0];

	if (strcmp(origin_name, o->name) || max <= o->max ||
	    max >= MG_STATE_VERSION_MAX)
		return;
	/*
	 * A previous incarnation of ours wrote up to @max.  Everything of ours
	 * now sits at or below the new floor: peers get a reset carrying our
	 * live entries, and our old tombstones are no longer needed.
	 */
	drop_all(st, o, EF_USED | EF_DEL, false);
	o->floor = max + 1;
	o->rumour_from = max + 1;
	advanced(st, o, max + 1);
}

void mg_state_rumour_sent(struct mg_state *st, unsigned int origin,
			  unsigned int limit)
{
	struct origin *o;

	if (origin >= st->n_org)
		return;
	o = st->org[origin];
	if (++o->rumour_tx >= limit)
		o->rumour_from = o->max;
}

int mg_state_apply_begin(struct mg_state *st, const struct mg_state_batch *b,
			 struct mg_state_apply *ap)
{
	struct origin *o;
	uint32_t idx;
	int oi;

	memset(ap, 0, sizeof(*ap));
	if (!name_ok(b->origin, false) || !name_ok(b->cluster_name, true) ||
	    !b->cluster_id || b->from > b->to)
		return -EINVAL;
	oi = find_origin(st, b->origin);
	if (oi == 0) {
		mg_state_observe(st, b->origin, b->to);
		return MG_STATE_IGNORE;
	}
	if (oi >= 0 && st->org[oi]->state == O_FORGOTTEN) {
		o = st->org[oi];
		/* only a newer incarnation brings it back */
		if (!b->reset || b->to <= o->max)
			return MG_STATE_IGNORE;
		o->state = O_LIVE;
		o->max = o->floor = o->rumour_from = 0;
	}
	if (oi < 0) {
		if (!b->reset && b->from)
			return MG_STATE_IGNORE;	/* it needs a reset first */
		oi = origin_add(st, b->origin, b->cluster_id, b->cluster_name);
		if (oi < 0)
			return MG_STATE_IGNORE;
	}
	o = st->org[oi];
	if (b->to <= o->max || (!b->reset && b->from > o->max))
		return MG_STATE_IGNORE;
	ap->b = *b;
	ap->origin = oi;
	ap->active = true;
	ap->above = o->max;
	ap->done = o->max;
	ap->last = b->reset ? 0 : b->from;
	if (b->reset && o->max < b->from) {
		/* we may hold entries whose tombstones are gone: wipe */
		ap->wipe = true;
		ap->above = 0;
		ap->done = 0;
		for (idx = o->head; idx != NIL; idx = E(st, idx)->vnext)
			E(st, idx)->ef |= EF_MARK;
		o->cluster_id = b->cluster_id;
		strcpy(o->cluster_name, b->cluster_name ? b->cluster_name : "");
	}
	ap->b.origin = o->name;
	ap->b.cluster_name = o->cluster_name;
	return MG_STATE_APPLY;
}

int mg_state_apply_entry(struct mg_state *st, struct mg_state_apply *ap,
			 const struct mg_state_entry *e)
{
	uint8_t k[MG_STATE_KEY_MAX];
	int klen, err;

	if (!ap->active)
		return -EINVAL;
	if (e->version <= ap->last || e->version > ap->b.to)
		goto bad;
	klen = mg_state_key_encode(&e->key, k, sizeof(k));
	if (klen < 0 || (!e->deleted && check_val(&e->val)))
		goto bad;
	ap->last = e->version;
	if (ap->full)
		return -ENOSPC;
	if (e->version > ap->above) {
		err = upsert(st, ap->origin, &e->key, k, klen, &e->val,
			     e->deleted, e->version);
		if (err) {
			ap->full = true;
			return err;
		}
	}
	ap->done = e->version;
	return 0;
bad:
	/* later entries cannot be trusted to follow on from here */
	ap->full = true;
	return -EINVAL;
}

int mg_state_apply_end(struct mg_state *st, struct mg_state_apply *ap)
{
	struct origin *o;
	uint64_t max;

	if (!ap->active)
		return 0;
	ap->active = false;
	o = st->org[ap->origin];
	if (ap->wipe) {
		drop_all(st, o, EF_USED | EF_MARK, true);
		o->floor = ap->b.from;
		o->max = 0;
	}
	max = ap->full ? ap->done : ap->b.to;
	if (max > o->max)
		advanced(st, o, max);
	return 0;
}

int mg_state_apply_delta(struct mg_state *st, const struct mg_state_batch *b,
			 const struct mg_state_entry *e, size_t n)
{
	struct mg_state_apply ap;
	int ret, err = 0;
	size_t i;

	ret = mg_state_apply_begin(st, b, &ap);
	if (ret != MG_STATE_APPLY)
		return ret;
	for (i = 0; i < n && !err; i++)
		err = mg_state_apply_entry(st, &ap, &e[i]);
	mg_state_apply_end(st, &ap);
	return err ? err : ret;
}

size_t mg_state_mem_bytes(const struct mg_state *st)
{
	size_t n_ext = 0, blk = 0;
	uint32_t i;

	for (i = 0; st->ext_bytes && i < st->ar[BIG].hiwat; i++)
		n_ext += !!(E(st, (uint32_t)BIG << CLS_BIT | i)->ef & EF_EXT);
	for (unsigned int c = SMALL; c <= BIG; c++)
		blk += (size_t)st->ar[c].n_blk *
		       (BLK_SIZE * slot_size[c] + sizeof(uint8_t *));
	/* malloc keeps ~16 bytes beside each small allocation */
	return blk + (size_t)st->n_bucket * sizeof(uint32_t) +
	       st->ext_bytes + 16 * n_ext +
	       st->tq_cap * sizeof(struct tomb) +
	       st->n_org * (sizeof(struct origin) + sizeof(void *)) +
	       sizeof(*st);
}
