// SPDX-License-Identifier: GPL-2.0-only
/*
 * Replicated endpoint/service state: versions, deltas, tombstones and GC,
 * resets, restarts, callbacks, the wire form on good and hostile bytes, and
 * stores gossiping over a lossy, reordering network until they agree.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "lib/msgpack.h"
#include "state/state.h"
#include "state/statewire.h"

/* --- a node: a store, a fake clock, and a mirror kept by callbacks -------- */

struct mirror_ent {
	char origin[MG_STATE_NAME_MAX + 1];
	uint8_t kind;
	uint8_t k[MG_STATE_KEY_MAX];
	int klen;
	struct mg_state_val val;
};

struct node {
	struct mg_state *st;
	uint64_t *clock;
	struct mirror_ent *m;
	size_t n_m;
	size_t cap_m;
	unsigned int changes;
};

static uint64_t fake_now(void *ctx)
{
	return *((struct node *)ctx)->clock;
}

static struct mirror_ent *mirror_find(struct node *n, const char *origin,
				      const struct mg_state_key *key)
{
	uint8_t k[MG_STATE_KEY_MAX];
	int klen = mg_state_key_encode(key, k, sizeof(k));
	size_t i;

	assert_true(klen >= 0);
	for (i = 0; i < n->n_m; i++)
		if (!strcmp(n->m[i].origin, origin) &&
		    n->m[i].kind == key->kind && n->m[i].klen == klen &&
		    !memcmp(n->m[i].k, k, klen))
			return &n->m[i];
	return NULL;
}

static bool val_eq(const struct mg_state_val *a, const struct mg_state_val *b)
{
	return a->flags == b->flags && a->type == b->type && a->len == b->len &&
	       !memcmp(a->data, b->data, a->len);
}

/* Every callback must be a real change that matches what we saw before. */
static void on_change(void *ctx, const struct mg_state_change *c)
{
	struct node *n = ctx;
	struct mirror_ent *e = mirror_find(n, c->origin_name, c->key);

	n->changes++;
	assert_true(c->old_val || c->new_val);
	if (c->old_val) {
		assert_non_null(e);
		assert_true(val_eq(&e->val, c->old_val));
	} else {
		assert_null(e);
	}
	if (c->old_val && c->new_val)
		assert_false(val_eq(c->old_val, c->new_val));
	if (!c->new_val) {
		*e = n->m[--n->n_m];
		return;
	}
	if (!e) {
		if (n->n_m == n->cap_m) {
			n->cap_m = n->cap_m ? n->cap_m * 2 : 64;
			n->m = realloc(n->m, n->cap_m * sizeof(*n->m));
			assert_non_null(n->m);
		}
		e = &n->m[n->n_m++];
		strcpy(e->origin, c->origin_name);
		e->kind = c->key->kind;
		e->klen = mg_state_key_encode(c->key, e->k, sizeof(e->k));
	}
	e->val = *c->new_val;
}

static void node_init(struct node *n, const char *name, uint8_t cid,
		      uint64_t base, uint64_t *clock, uint64_t grace)
{
	struct mg_state_cfg cfg = {
		.name = name,
		.cluster_id = cid,
		.cluster_name = "c",
		.version_base = base,
		.grace_ms = grace,
		.hash_seed = 42,
		.now_ms = fake_now,
		.on_change = on_change,
		.ctx = n,
	};

	memset(n, 0, sizeof(*n));
	n->clock = clock;
	assert_int_equal(mg_state_new(&cfg, &n->st), 0);
}

static void node_fini(struct node *n)
{
	mg_state_free(n->st);
	free(n->m);
	n->st = NULL;
	n->m = NULL;
	n->n_m = n->cap_m = 0;
}

/* The mirror built from callbacks equals the store's live entries. */
static void check_mirror(struct node *n)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_origin_info oi;
	struct mg_state_entry e;
	size_t live = 0;

	while (mg_state_iter_next(n->st, &it, &e)) {
		struct mirror_ent *m;

		assert_int_equal(mg_state_origin_get(n->st, e.origin, &oi), 0);
		m = mirror_find(n, oi.name, &e.key);
		assert_non_null(m);
		assert_true(val_eq(&m->val, &e.val));
		live++;
	}
	assert_int_equal(live, n->n_m);
}

/* --- keys ----------------------------------------------------------------- */

static struct mg_state_key ep(const char *s)
{
	struct mg_state_key k = { .kind = MG_STATE_ENDPOINT };

	assert_int_equal(mg_prefix_parse(s, &k.ep), 0);
	return k;
}

static struct mg_state_key be(const char *vip, uint16_t vport,
			      const char *addr, uint16_t port)
{
	struct mg_state_key k = { .kind = MG_STATE_BACKEND };

	assert_int_equal(mg_addr_parse(vip, &k.be.vip), 0);
	assert_int_equal(mg_addr_parse(addr, &k.be.addr), 0);
	k.be.vport = vport;
	k.be.port = port;
	k.be.proto = 6;
	return k;
}

static struct mg_state_key ep_n(unsigned int i)
{
	struct mg_state_key k = { .kind = MG_STATE_ENDPOINT };

	k.ep.addr.family = MG_AF_INET;
	k.ep.addr.addr[0] = __builtin_bswap32(0x0a000000 | i);
	k.ep.len = 32;
	return k;
}

static const struct mg_state_val NOVAL;

static struct mg_state_val bval(uint8_t weight, uint8_t health)
{
	struct mg_state_val v = { .type = 16, .len = 2 };

	v.data[0] = weight;
	v.data[1] = health;
	return v;
}

static void test_key_codec(void **state)
{
	static const char *const eps[] = {
		"10.1.0.0/16", "0.0.0.0/0", "192.0.2.7/32", "fd00::/64",
		"2001:db8::1/128", "::/0",
	};
	struct mg_state_key k, back;
	struct mg_state_gwinfo gi = { .generation = 7, .n_addr = 3 }, gi2;
	struct mg_state_val v;
	uint8_t buf[MG_STATE_KEY_MAX];
	size_t i;
	int n;

	for (i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		k = ep(eps[i]);
		n = mg_state_key_encode(&k, buf, sizeof(buf));
		assert_true(n == 6 || n == 18);
		assert_int_equal(mg_state_key_decode(k.kind, buf, n, &back), 0);
		assert_true(mg_prefix_equal(&k.ep, &back.ep));
		assert_int_equal(back.ep.len, k.ep.len);
		/* one byte short or long */
		assert_int_equal(mg_state_key_decode(k.kind, buf, n - 1, &back),
				 -EINVAL);
		assert_int_equal(mg_state_key_decode(k.kind, buf, n + 1, &back),
				 -EINVAL);
	}
	k = be("10.96.0.1", 80, "2001:db8::5", 8080);
	n = mg_state_key_encode(&k, buf, sizeof(buf));
	assert_int_equal(n, 1 + 5 + 2 + 17 + 2);
	assert_int_equal(mg_state_key_decode(k.kind, buf, n, &back), 0);
	assert_memory_equal(&k.be, &back.be, sizeof(k.be));
	k.be.proto = 0;
	assert_int_equal(mg_state_key_encode(&k, buf, sizeof(buf)), -EINVAL);

	/* prefix longer than the family, host bits, bad family */
	k = ep("10.0.0.0/8");
	n = mg_state_key_encode(&k, buf, sizeof(buf));
	buf[1] = 33;
	assert_int_equal(mg_state_key_decode(k.kind, buf, n, &back), -EINVAL);
	buf[1] = 8;
	buf[3] = 1;
	assert_int_equal(mg_state_key_decode(k.kind, buf, n, &back), -EINVAL);
	buf[3] = 0;
	buf[0] = 5;
	assert_int_equal(mg_state_key_decode(k.kind, buf, n, &back), -EINVAL);
	k = ep("fd00::/64");
	k.ep.len = 129;
	assert_int_equal(mg_state_key_encode(&k, buf, sizeof(buf)), -EINVAL);
	k = ep("fd00::/64");
	k.ep.len = 4;
	assert_int_equal(mg_state_key_encode(&k, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(mg_state_key_decode(9, buf, 0, &back), -EINVAL);
	assert_int_equal(mg_state_key_decode(MG_STATE_GWINFO, buf, 0, &back), 0);
	assert_int_equal(mg_state_key_decode(MG_STATE_GWINFO, buf, 1, &back),
			 -EINVAL);

	assert_int_equal(mg_addr_parse("192.0.2.1", &gi.addr[0]), 0);
	assert_int_equal(mg_addr_parse("2001:db8::1", &gi.addr[1]), 0);
	assert_int_equal(mg_addr_parse("2001:db8::2", &gi.addr[2]), 0);
	assert_int_equal(mg_state_gwinfo_encode(&gi, &v), 0);
	assert_int_equal(mg_state_gwinfo_decode(&v, &gi2), 0);
	assert_memory_equal(&gi, &gi2, sizeof(gi));
	v.len--;
	assert_int_equal(mg_state_gwinfo_decode(&v, &gi2), -EINVAL);
	gi.n_addr = 4;
	assert_int_equal(mg_state_gwinfo_encode(&gi, &v), -EINVAL);
}

/* --- local writes --------------------------------------------------------- */

static void test_local_versions(void **state)
{
	struct mg_state_origin_info info;
	struct mg_state_key k = ep("10.1.0.0/16");
	struct mg_state_val v = NOVAL;
	struct mg_state_entry e;
	uint64_t clock = 5;
	struct node a;

	node_init(&a, "gw-a", 1, 1000, &clock, 0);
	assert_int_equal(mg_state_origin_get(a.st, 0, &info), 0);
	assert_true(info.self);
	assert_int_equal(info.max_version, 1000);
	assert_int_equal(info.gc_floor, 1000);

	assert_int_equal(mg_state_set_local(a.st, &k, &v), 0);
	assert_int_equal(mg_state_get(a.st, 0, &k, &e), 0);
	assert_int_equal(e.version, 1001);
	assert_false(e.deleted);
	assert_int_equal(a.changes, 1);

	/* the same value again is no write */
	assert_int_equal(mg_state_set_local(a.st, &k, &v), 0);
	mg_state_origin_get(a.st, 0, &info);
	assert_int_equal(info.max_version, 1001);
	assert_int_equal(a.changes, 1);

	v.flags = 1;
	assert_int_equal(mg_state_set_local(a.st, &k, &v), 0);
	assert_int_equal(mg_state_get(a.st, 0, &k, &e), 0);
	assert_int_equal(e.version, 1002);
	assert_int_equal(e.val.flags, 1);
	assert_int_equal(a.changes, 2);

	assert_int_equal(mg_state_del_local(a.st, &k), 0);
	assert_int_equal(mg_state_get(a.st, 0, &k, &e), 0);
	assert_true(e.deleted);
	assert_int_equal(e.version, 1003);
	assert_int_equal(mg_state_del_local(a.st, &k), -ENOENT);
	assert_int_equal(a.changes, 3);
	mg_state_origin_get(a.st, 0, &info);
	assert_int_equal(info.n_live, 0);
	assert_int_equal(info.n_tomb, 1);
	assert_int_equal(info.last_heard_ms, 5);

	v.len = MG_STATE_VAL_MAX + 1;
	assert_int_equal(mg_state_set_local(a.st, &k, &v), -EINVAL);
	k.ep.len = 40;
	v.len = 0;
	assert_int_equal(mg_state_set_local(a.st, &k, &v), -EINVAL);
	check_mirror(&a);
	node_fini(&a);
}

/* --- deltas --------------------------------------------------------------- */

static void fill(struct node *n, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		assert_int_equal(mg_state_set_local(n->st, (struct mg_state_key[1]){
						    ep_n(i) }, &NOVAL), 0);
}

static void test_deltas_since(void **state)
{
	struct mg_state_key k = ep_n(3);
	struct mg_state_cursor c;
	struct mg_state_entry e;
	struct mg_buf m = { 0 };
	uint64_t clock = 0, prev;
	struct node a, b;
	unsigned int n = 0;

	node_init(&a, "gw-a", 1, 100, &clock, 0);
	node_init(&b, "gw-b", 2, 5000, &clock, 0);
	fill(&a, 10);				/* 101..110 */
	assert_int_equal(mg_state_del_local(a.st, &k), 0);	/* 111 */
	k = ep_n(5);
	assert_int_equal(mg_state_set_local(a.st, &k, &(struct mg_state_val){
		.flags = 2 }), 0);		/* 112 */

	/* above 105: 107..110 (ep 5 moved on to 112), 111, 112 */
	mg_state_since(a.st, 0, 105, &c);
	prev = 105;
	while (mg_state_cursor_next(a.st, &c, &e)) {
		assert_true(e.version > prev);
		prev = e.version;
		n++;
	}
	assert_int_equal(n, 6);
	assert_int_equal(prev, 112);

	/* a store that has nothing of gw-a needs a reset, not a delta */
	assert_int_equal(mg_state_deltas_since(a.st, 0, 0, 1000, &m), -ESTALE);
	assert_int_equal(mg_state_encode_reset(a.st, 0, 100000, &m), 10);
	assert_int_equal(mg_sw_check(m.data, m.len), MG_SW_DELTA);
	assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	assert_int_equal(b.changes, 9);
	check_mirror(&b);

	/* then deltas: the next write only */
	k = ep_n(20);
	assert_int_equal(mg_state_set_local(a.st, &k, &NOVAL), 0);
	mg_buf_reset(&m);
	assert_int_equal(mg_state_deltas_since(a.st, 0, 112, 1000, &m), 1);
	assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	assert_int_equal(b.changes, 10);
	assert_int_equal(mg_state_get(b.st, 1, &k, &e), 0);
	assert_int_equal(e.version, 113);
	/* up to date: an empty message */
	mg_buf_reset(&m);
	assert_int_equal(mg_state_deltas_since(a.st, 0, 113, 1000, &m), 0);
	assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	check_mirror(&b);
	mg_buf_free(&m);
	node_fini(&a);
	node_fini(&b);
}

static uint64_t max_of(struct mg_state *st, const char *name)
{
	struct mg_state_origin_info info;
	int oi = mg_state_origin_find(st, name);

	if (oi < 0)
		return 0;
	assert_int_equal(mg_state_origin_get(st, oi, &info), 0);
	return info.max_version;
}

static void test_truncated_batch(void **state)
{
	struct mg_buf m = { 0 };
	uint64_t clock = 0, v;
	struct node a, b;
	int n, total = 0, rounds = 0;

	node_init(&a, "gw-a", 1, 100, &clock, 0);
	node_init(&b, "gw-b", 2, 5000, &clock, 0);
	/* b learns gw-a while it is empty */
	assert_int_equal(mg_state_encode_reset(a.st, 0, 1000, &m), 0);
	assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	assert_int_equal(max_of(b.st, "gw-a"), 100);
	fill(&a, 300);
	/* 300 writes do not fit 1000 bytes: several gap-free pieces */
	for (v = 100; v < 400; v = max_of(b.st, "gw-a")) {
		mg_buf_reset(&m);
		n = mg_state_deltas_since(a.st, 0, v, MG_SW_GOSSIP_BUDGET, &m);
		assert_true(n > 0 && n < 300);
		assert_true(m.len <= MG_SW_GOSSIP_BUDGET);
		assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
				 MG_SW_DELTA);
		/* the batch ends at its last entry: b's max is exact */
		assert_int_equal(max_of(b.st, "gw-a"), v + n);
		total += n;
		rounds++;
	}
	assert_int_equal(total, 300);
	assert_true(rounds >= 3);
	assert_int_equal(b.changes, 300);
	/* a budget below one batch header gives nothing */
	mg_buf_reset(&m);
	assert_int_equal(mg_state_deltas_since(a.st, 0, 100, 20, &m), -ENOSPC);
	mg_buf_free(&m);
	node_fini(&a);
	node_fini(&b);
}

/* --- merge rules ---------------------------------------------------------- */

static void test_apply_rules(void **state)
{
	struct mg_state_batch bt = {
		.origin = "gw-x", .cluster_name = "x", .cluster_id = 9,
		.reset = true, .from = 50, .to = 60,
	};
	struct mg_state_entry e[3] = {
		{ .key = ep_n(1), .version = 10 },
		{ .key = ep_n(2), .version = 55 },
		{ .key = ep_n(3), .version = 60 },
	};
	struct mg_state_origin_info info;
	uint64_t clock = 0;
	struct node a;
	int x;

	node_init(&a, "gw-a", 1, 1000, &clock, 0);
	fill(&a, 2);
	/* a delta from an unknown origin that does not start at 0: gap */
	bt.reset = false;
	assert_int_equal(mg_state_apply_delta(a.st, &bt, &e[1], 2),
			 MG_STATE_IGNORE);
	assert_int_equal(mg_state_origin_find(a.st, "gw-x"), -ENOENT);
	bt.reset = true;
	assert_int_equal(mg_state_apply_delta(a.st, &bt, e, 3), MG_STATE_APPLY);
	x = mg_state_origin_find(a.st, "gw-x");
	assert_true(x > 0);
	mg_state_origin_get(a.st, x, &info);
	assert_int_equal(info.max_version, 60);
	assert_int_equal(info.gc_floor, 50);
	assert_int_equal(info.cluster_id, 9);
	assert_int_equal(info.n_live, 3);

	/* stale: nothing above 60 */
	bt.reset = false;
	bt.from = 55;
	assert_int_equal(mg_state_apply_delta(a.st, &bt, NULL, 0),
			 MG_STATE_IGNORE);
	/* gap: starts above 60 */
	bt.from = 61;
	bt.to = 70;
	e[0].version = 65;
	assert_int_equal(mg_state_apply_delta(a.st, &bt, e, 1),
			 MG_STATE_IGNORE);
	/* overlapping is fine: entries at or below 60 are skipped */
	bt.from = 58;
	e[0] = (struct mg_state_entry){ .key = ep_n(3), .version = 60,
					.val.flags = 7 };
	e[1] = (struct mg_state_entry){ .key = ep_n(1), .version = 64,
					.deleted = true };
	assert_int_equal(mg_state_apply_delta(a.st, &bt, e, 2), MG_STATE_APPLY);
	mg_state_origin_get(a.st, x, &info);
	assert_int_equal(info.max_version, 70);
	assert_int_equal(info.n_live, 2);
	assert_int_equal(info.n_tomb, 1);
	assert_int_equal(mg_state_get(a.st, x, (struct mg_state_key[1]){ ep_n(3) },
				      &e[2]), 0);
	assert_int_equal(e[2].val.flags, 0);	/* 60 was not re-applied */

	/* out of order within a batch: refused, max stops at the last good */
	bt.from = 70;
	bt.to = 80;
	e[0] = (struct mg_state_entry){ .key = ep_n(4), .version = 72 };
	e[1] = (struct mg_state_entry){ .key = ep_n(5), .version = 71 };
	assert_int_equal(mg_state_apply_delta(a.st, &bt, e, 2), -EINVAL);
	assert_int_equal(max_of(a.st, "gw-x"), 72);
	/* beyond to */
	bt.from = 72;
	e[0].version = 81;
	assert_int_equal(mg_state_apply_delta(a.st, &bt, e, 1), -EINVAL);
	assert_int_equal(max_of(a.st, "gw-x"), 72);
	/* bad names */
	bt.origin = "";
	assert_int_equal(mg_state_apply_delta(a.st, &bt, NULL, 0), -EINVAL);
	bt.origin = "gw-x";
	bt.cluster_id = 0;
	assert_int_equal(mg_state_apply_delta(a.st, &bt, NULL, 0), -EINVAL);

	/* our own origin is never written by others */
	bt = (struct mg_state_batch){ .origin = "gw-a", .cluster_id = 1,
				      .cluster_name = "c", .from = 1001,
				      .to = 1002 };
	e[0] = (struct mg_state_entry){ .key = ep_n(0), .version = 1002,
					.deleted = true };
	assert_int_equal(mg_state_apply_delta(a.st, &bt, e, 1),
			 MG_STATE_IGNORE);
	assert_int_equal(mg_state_get(a.st, 0, (struct mg_state_key[1]){ ep_n(0) },
				      &e[1]), 0);
	assert_false(e[1].deleted);
	assert_int_equal(max_of(a.st, "gw-a"), 1002);
	/* ... but versions of ours above our own mean an older incarnation */
	bt.from = 1002;
	bt.to = 2000;
	assert_int_equal(mg_state_apply_delta(a.st, &bt, NULL, 0),
			 MG_STATE_IGNORE);
	mg_state_origin_get(a.st, 0, &info);
	assert_int_equal(info.max_version, 2001);
	assert_int_equal(info.gc_floor, 2001);
	assert_int_equal(info.n_live, 2);
	fill(&a, 3);
	assert_int_equal(max_of(a.st, "gw-a"), 2002);
	check_mirror(&a);
	node_fini(&a);
}

/* --- anti-entropy --------------------------------------------------------- */

/* One round a -> b: digest, digest+deltas, deltas. */
static void ae_round(struct node *a, struct node *b, size_t budget)
{
	struct mg_buf m1 = { 0 }, m2 = { 0 }, m3 = { 0 };

	assert_int_equal(mg_state_digest(a->st, budget, &m1), 0);
	assert_int_equal(mg_state_recv(b->st, m1.data, m1.len, budget, &m2),
			 MG_SW_DIGEST);
	assert_true(m2.len > 0);
	assert_int_equal(mg_state_recv(a->st, m2.data, m2.len, budget, &m3),
			 MG_SW_DIGEST_DELTAS);
	if (m3.len)
		assert_int_equal(mg_state_recv(b->st, m3.data, m3.len, budget,
					       NULL), MG_SW_DELTA);
	mg_buf_free(&m1);
	mg_buf_free(&m2);
	mg_buf_free(&m3);
}

struct dump_ent {
	char origin[MG_STATE_NAME_MAX + 1];
	struct mg_state_entry e;
};

static int dump_cmp(const void *pa, const void *pb)
{
	const struct dump_ent *a = pa, *b = pb;
	int c = strcmp(a->origin, b->origin);

	return c ? c : memcmp(&a->e.key, &b->e.key, sizeof(a->e.key));
}

static struct dump_ent *dump(struct mg_state *st, size_t *n)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_origin_info info;
	struct dump_ent *d = NULL;
	struct mg_state_entry e;
	size_t cap = 0;

	*n = 0;
	while (mg_state_iter_next(st, &it, &e)) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			d = realloc(d, cap * sizeof(*d));
			assert_non_null(d);
		}
		mg_state_origin_get(st, e.origin, &info);
		memset(&d[*n], 0, sizeof(d[*n]));
		strcpy(d[*n].origin, info.name);
		d[*n].e = e;
		d[*n].e.origin = 0;
		(*n)++;
	}
	qsort(d, *n, sizeof(*d), dump_cmp);
	return d;
}

/* Same live entries, same versions, same max version of every origin. */
static bool same(struct mg_state *a, struct mg_state *b)
{
	struct mg_state_origin_info info;
	size_t na, nb, i;
	struct dump_ent *da = dump(a, &na), *db = dump(b, &nb);
	bool eq = na == nb;

	for (i = 0; eq && i < na; i++)
		eq = !strcmp(da[i].origin, db[i].origin) &&
		     !memcmp(&da[i].e.key, &db[i].e.key, sizeof(da[i].e.key)) &&
		     da[i].e.version == db[i].e.version &&
		     val_eq(&da[i].e.val, &db[i].e.val);
	for (i = 0; eq && i < mg_state_origin_slots(a); i++)
		if (!mg_state_origin_get(a, i, &info))
			eq = max_of(b, info.name) == info.max_version;
	free(da);
	free(db);
	return eq;
}

static void test_tombstone_gc_reset(void **state)
{
	struct mg_state_key k1 = ep("10.1.0.0/16"), k2 = ep("10.2.0.0/16");
	struct mg_state_key k3 = be("10.96.0.1", 443, "10.1.2.3", 8443);
	struct mg_state_origin_info info;
	struct mg_state_entry e;
	uint64_t clock = 0;
	struct node a, b, c;
	unsigned int before;

	node_init(&a, "gw-a", 1, 1000, &clock, 10000);
	node_init(&b, "gw-b", 2, 2000, &clock, 10000);
	node_init(&c, "gw-c", 3, 3000, &clock, 10000);
	assert_int_equal(mg_state_set_local(a.st, &k1, &NOVAL), 0);
	assert_int_equal(mg_state_set_local(a.st, &k2, &NOVAL), 0);
	assert_int_equal(mg_state_set_local(a.st, &k3, (struct mg_state_val[1]){
					    bval(10, 1) }), 0);
	ae_round(&b, &a, 100000);
	ae_round(&c, &a, 100000);
	ae_round(&b, &a, 100000);
	assert_true(same(a.st, b.st));
	assert_true(same(a.st, c.st));
	assert_int_equal(b.n_m, 3);

	/* the tombstone travels, deletes, and is kept until the grace */
	assert_int_equal(mg_state_del_local(a.st, &k1), 0);
	ae_round(&b, &a, 100000);
	assert_int_equal(mg_state_get(b.st, 1, &k1, &e), 0);
	assert_true(e.deleted);
	assert_int_equal(b.n_m, 2);
	clock = 9999;
	assert_int_equal(mg_state_gc(a.st, clock), 0);
	assert_int_equal(mg_state_gc(b.st, clock), 0);
	clock = 10000;
	assert_int_equal(mg_state_gc(a.st, clock), 1);
	assert_int_equal(mg_state_get(a.st, 0, &k1, &e), -ENOENT);
	mg_state_origin_get(a.st, 0, &info);
	assert_int_equal(info.gc_floor, 1004);
	assert_int_equal(info.n_tomb, 0);
	assert_int_equal(mg_state_gc(b.st, clock), 1);
	assert_int_equal(mg_state_get(b.st, 1, &k1, &e), -ENOENT);

	/* c missed the tombstone and is below the floor: reset */
	assert_int_equal(mg_state_get(c.st, 1, &k1, &e), 0);
	assert_false(e.deleted);
	assert_int_equal(mg_state_set_local(a.st, &k2, &(struct mg_state_val){
		.flags = 3 }), 0);
	before = c.changes;
	ae_round(&c, &a, 100000);
	/* exactly: k1 gone, k2 changed; k3 untouched by the wipe */
	assert_int_equal(c.changes - before, 2);
	assert_int_equal(mg_state_get(c.st, 1, &k1, &e), -ENOENT);
	assert_true(same(a.st, c.st));
	check_mirror(&c);
	/* b could reset c too: floors travel with resets */
	mg_state_origin_get(c.st, 1, &info);
	assert_int_equal(info.gc_floor, 1004);
	node_fini(&a);
	node_fini(&b);
	node_fini(&c);
}

/* A gateway restarts with nothing: its new writes win, the old ones go. */
static void test_restart(void **state)
{
	struct mg_state_key k1 = ep("10.1.0.0/16"), k2 = ep("10.2.0.0/16");
	struct mg_state_key k3 = ep("10.3.0.0/16");
	struct mg_state_entry e;
	uint64_t clock = 0;
	struct node a, b, c;

	node_init(&a, "gw-a", 1, 1000, &clock, 0);
	node_init(&b, "gw-b", 2, 2000, &clock, 0);
	node_init(&c, "gw-c", 3, 3000, &clock, 0);
	fill(&a, 50);
	assert_int_equal(mg_state_set_local(a.st, &k1, &NOVAL), 0);
	assert_int_equal(mg_state_set_local(a.st, &k2, &NOVAL), 0);
	ae_round(&b, &a, 100000);
	ae_round(&c, &a, 100000);
	assert_int_equal(b.n_m, 52);

	/* restart later: a higher base */
	node_fini(&a);
	node_init(&a, "gw-a", 1, 1000000, &clock, 0);
	assert_int_equal(mg_state_set_local(a.st, &k2, &(struct mg_state_val){
		.flags = 1 }), 0);
	assert_int_equal(mg_state_set_local(a.st, &k3, &NOVAL), 0);
	ae_round(&a, &b, 100000);
	assert_true(same(a.st, b.st));
	assert_int_equal(b.n_m, 2);
	assert_int_equal(mg_state_get(b.st, 1, &k1, &e), -ENOENT);
	assert_int_equal(mg_state_get(b.st, 1, &k2, &e), 0);
	assert_int_equal(e.val.flags, 1);
	/* b passes the reset on to c, which a never talks to */
	ae_round(&c, &b, 100000);
	assert_true(same(a.st, c.st));
	check_mirror(&b);
	check_mirror(&c);

	/* restart with the clock stepped back: b's digest makes a jump */
	node_fini(&a);
	node_init(&a, "gw-a", 1, 500, &clock, 0);
	assert_int_equal(mg_state_set_local(a.st, &k1, &NOVAL), 0);
	ae_round(&b, &a, 100000);	/* a sees b's 1000002 for itself */
	assert_true(max_of(a.st, "gw-a") > 1000002);
	ae_round(&b, &a, 100000);
	assert_true(same(a.st, b.st));
	assert_int_equal(b.n_m, 1);
	assert_int_equal(mg_state_get(b.st, 1, &k3, &e), -ENOENT);
	assert_int_equal(mg_state_set_local(a.st, &k3, &NOVAL), 0);
	ae_round(&c, &b, 100000);
	ae_round(&c, &a, 100000);
	ae_round(&b, &a, 100000);
	assert_true(same(a.st, c.st));
	assert_true(same(b.st, c.st));
	check_mirror(&c);
	node_fini(&a);
	node_fini(&b);
	node_fini(&c);
}

static void test_forget_origin(void **state)
{
	struct mg_buf m = { 0 };
	uint64_t clock = 0;
	struct node a, b, c;

	node_init(&a, "gw-a", 1, 1000, &clock, 5000);
	node_init(&b, "gw-b", 2, 2000, &clock, 5000);
	node_init(&c, "gw-c", 3, 3000, &clock, 5000);
	fill(&a, 5);
	ae_round(&b, &a, 100000);
	ae_round(&c, &a, 100000);
	assert_int_equal(mg_state_forget_origin(b.st, "gw-a"), 0);
	assert_int_equal(b.n_m, 0);
	assert_int_equal(mg_state_origin_find(b.st, "gw-a"), -ENOENT);
	assert_int_equal(mg_state_forget_origin(b.st, "gw-b"), -EINVAL);
	assert_int_equal(mg_state_forget_origin(b.st, "nope"), -ENOENT);
	/* c has not reaped it yet: its reset does not bring it back */
	ae_round(&b, &c, 100000);
	assert_int_equal(b.n_m, 0);
	/* a newer incarnation does */
	node_fini(&a);
	node_init(&a, "gw-a", 1, 9000, &clock, 5000);
	fill(&a, 2);
	ae_round(&b, &a, 100000);
	assert_int_equal(b.n_m, 2);
	assert_true(same(a.st, b.st));
	/* after the grace, a forgotten name is free again */
	assert_int_equal(mg_state_forget_origin(b.st, "gw-a"), 0);
	clock = 5000;
	assert_true(mg_state_gc(b.st, clock) >= 1);
	assert_int_equal(mg_state_encode_reset(c.st, 1, 100000, &m), 5);
	assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	assert_int_equal(b.n_m, 5);
	check_mirror(&b);
	mg_buf_free(&m);
	node_fini(&a);
	node_fini(&b);
	node_fini(&c);
}

/* --- gossip over a lossy, reordering network ------------------------------ */

#define NET_MAX		256

struct packet {
	int to;
	int from;
	struct mg_buf b;
};

struct net {
	struct node *nodes;
	int n;
	struct packet q[NET_MAX];
	int len;
	unsigned int seed;
	unsigned int loss;	/* percent */
};

static unsigned int rnd(struct net *net, unsigned int n)
{
	return rand_r(&net->seed) % n;
}

static void net_send(struct net *net, int from, int to, struct mg_buf *b)
{
	struct packet *p;

	if (!b->len || rnd(net, 100) < net->loss || net->len == NET_MAX)
		return;
	p = &net->q[net->len++];
	p->from = from;
	p->to = to;
	p->b = (struct mg_buf){ 0 };
	assert_int_equal(mg_buf_put(&p->b, b->data, b->len), 0);
}

/* Deliver a random packet: reordering comes free. */
static void net_deliver_one(struct net *net)
{
	struct mg_buf reply = { 0 };
	struct packet p;
	int i = rnd(net, net->len), ret;

	p = net->q[i];
	net->q[i] = net->q[--net->len];
	ret = mg_state_recv(net->nodes[p.to].st, p.b.data, p.b.len,
			    4000, &reply);
	assert_true(ret > 0);
	net_send(net, p.to, p.from, &reply);
	mg_buf_free(&reply);
	mg_buf_free(&p.b);
}

static void net_write(struct net *net, struct node *n)
{
	struct mg_state_key k;
	struct mg_state_val v = { 0 };
	unsigned int r = rnd(net, 100);

	if (r < 60) {
		k = ep_n(rnd(net, 40));
		v.flags = rnd(net, 3);
		mg_state_set_local(n->st, &k, &v);
	} else if (r < 70) {
		k = be("10.96.0.1", 80, "10.0.0.1", 1000 + rnd(net, 10));
		v = bval(rnd(net, 4), rnd(net, 2));
		mg_state_set_local(n->st, &k, &v);
	} else if (r < 75) {
		/* too big to sit inline in the entry */
		k = be("fd00::1", 80, "fd00::2", 1000 + rnd(net, 10));
		v = bval(rnd(net, 4), rnd(net, 2));
		v.len = MG_STATE_VAL_MAX - rnd(net, 40);
		mg_state_set_local(n->st, &k, &v);
	} else {
		k = ep_n(rnd(net, 40));
		mg_state_del_local(n->st, &k);
	}
}

static void net_run(int nodes, unsigned int seed)
{
	struct node nd[6];
	struct net net = { .nodes = nd, .n = nodes, .seed = seed, .loss = 30 };
	uint64_t clock = 0;
	char name[16];
	int i, j, t, round;
	bool converged = false;

	for (i = 0; i < nodes; i++) {
		snprintf(name, sizeof(name), "gw-%d", i);
		node_init(&nd[i], name, i + 1, 1000000 * (i + 1), &clock, 3000);
	}
	for (t = 0; t < 300; t++) {
		clock += 100;
		for (i = 0; i < nodes; i++) {
			struct mg_buf b = { 0 };

			if (rnd(&net, 100) < 40)
				net_write(&net, &nd[i]);
			if (rnd(&net, 100) < 3 && t < 200) {
				/* a restart, now and then */
				snprintf(name, sizeof(name), "gw-%d", i);
				node_fini(&nd[i]);
				node_init(&nd[i], name, i + 1,
					  1000000 * (i + 1) + clock * 1000,
					  &clock, 3000);
			}
			assert_true(mg_state_gossip(nd[i].st,
						    MG_SW_GOSSIP_BUDGET, 3,
						    &b) >= 0);
			assert_true(b.len <= MG_SW_GOSSIP_BUDGET);
			for (j = 0; j < 2; j++)
				net_send(&net, i, (i + 1 + rnd(&net, nodes - 1)) %
					 nodes, &b);
			if (rnd(&net, 100) < 10) {
				mg_buf_reset(&b);
				assert_int_equal(mg_state_digest(nd[i].st, 4000,
								 &b), 0);
				net_send(&net, i, (i + 1 + rnd(&net, nodes - 1)) %
					 nodes, &b);
			}
			mg_buf_free(&b);
			mg_state_gc(nd[i].st, clock);
		}
		for (j = rnd(&net, net.len + 1); j > 0 && net.len; j--)
			net_deliver_one(&net);
	}
	/* the network heals: what is in flight arrives, then full rounds */
	while (net.len)
		net_deliver_one(&net);
	for (round = 0; round < 10 && !converged; round++) {
		for (i = 0; i < nodes; i++)
			for (j = 0; j < nodes; j++)
				if (i != j)
					ae_round(&nd[i], &nd[j], 4000);
		converged = true;
		for (i = 1; i < nodes; i++)
			converged &= same(nd[0].st, nd[i].st);
	}
	if (!converged)
		fail_msg("seed %u: %d nodes did not converge", seed, nodes);
	for (i = 0; i < nodes; i++) {
		check_mirror(&nd[i]);
		node_fini(&nd[i]);
	}
}

static void test_converge_lossy(void **state)
{
	unsigned int seed;

	for (seed = 1; seed <= 60; seed++)
		net_run(3 + seed % 4, seed);
}

/* A full store merges what fits and stays gap-free; a reset cut by the
 * budget still covers the floor. */
static void test_limits(void **state)
{
	struct mg_state_cfg cfg = {
		.name = "gw-b", .cluster_id = 2, .version_base = 5000,
		.max_entries = 10,
	};
	struct mg_state_origin_info info;
	struct mg_buf m = { 0 };
	struct mg_state *b;
	uint64_t clock = 0;
	unsigned int i;
	struct node a;
	int n;

	node_init(&a, "gw-a", 1, 1000, &clock, 1000);
	fill(&a, 30);					/* 1001..1030 */
	for (i = 0; i < 20; i++)			/* 1031..1050 */
		assert_int_equal(mg_state_del_local(a.st, (struct mg_state_key[1]){
			ep_n(i) }), 0);
	clock = 1000;
	assert_int_equal(mg_state_gc(a.st, clock), 20);
	mg_state_origin_get(a.st, 0, &info);
	assert_int_equal(info.gc_floor, 1050);
	/* live entries 1021..1030 sit below the floor: all of them go */
	fill(&a, 20);				/* 0..19 again: 1051..1070 */
	n = mg_state_encode_reset(a.st, 0, 0, &m);
	assert_int_equal(n, 10);
	assert_int_equal(mg_state_new(&cfg, &b), 0);
	assert_int_equal(mg_state_recv(b, m.data, m.len, 0, NULL), MG_SW_DELTA);
	mg_state_origin_get(b, 1, &info);
	assert_int_equal(info.max_version, 1050);	/* the floor */
	assert_int_equal(info.gc_floor, 1050);
	assert_int_equal(info.n_live, 10);
	/* full: the delta merges nothing, max stays where it was */
	mg_buf_reset(&m);
	assert_int_equal(mg_state_deltas_since(a.st, 0, 1050, 1000, &m), 20);
	assert_int_equal(mg_state_recv(b, m.data, m.len, 0, NULL), MG_SW_DELTA);
	assert_int_equal(max_of(b, "gw-a"), 1050);
	assert_int_equal(mg_state_set_local(b, (struct mg_state_key[1]){
		ep_n(1) }, &NOVAL), -ENOSPC);
	mg_buf_free(&m);
	mg_state_free(b);
	node_fini(&a);
}

/* --- gossip piggyback ----------------------------------------------------- */

static void test_gossip_rumours(void **state)
{
	struct mg_buf m = { 0 };
	uint64_t clock = 0;
	struct node a, b, c;
	int i;

	node_init(&a, "gw-a", 1, 1000, &clock, 0);
	node_init(&b, "gw-b", 2, 2000, &clock, 0);
	node_init(&c, "gw-c", 3, 3000, &clock, 0);
	ae_round(&b, &a, 100000);
	ae_round(&c, &b, 100000);
	ae_round(&c, &a, 100000);
	/* nothing to say */
	assert_int_equal(mg_state_gossip(a.st, 1000, 3, &m), 0);
	assert_int_equal(m.len, 0);
	fill(&a, 4);
	/* a's rumour goes out 3 times, then stops */
	for (i = 0; i < 3; i++) {
		mg_buf_reset(&m);
		assert_int_equal(mg_state_gossip(a.st, 1000, 3, &m), 1);
		if (i == 1)	/* b hears the second one */
			assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0,
						       NULL), MG_SW_DELTA);
	}
	mg_buf_reset(&m);
	assert_int_equal(mg_state_gossip(a.st, 1000, 3, &m), 0);
	/* b relays what it learnt by gossip: c hears it from b */
	fill(&a, 5);
	mg_buf_reset(&m);
	assert_int_equal(mg_state_gossip(a.st, 1000, 3, &m), 1);
	assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	assert_true(same(a.st, b.st));
	mg_buf_reset(&m);
	/* b's rumour covers both of a's writes */
	assert_int_equal(mg_state_gossip(b.st, 1000, 3, &m), 1);
	assert_int_equal(mg_state_recv(c.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	assert_true(same(a.st, c.st));
	assert_int_equal(c.n_m, 5);
	mg_buf_free(&m);
	node_fini(&a);
	node_fini(&b);
	node_fini(&c);
}

/* --- wire ----------------------------------------------------------------- */

/* Build a message by hand: header + msgpack written with the packer. */
struct hand {
	struct mg_buf b;
	msgpack_packer pk;
};

static void hand_start(struct hand *h, uint8_t kind)
{
	const uint8_t hdr[3] = { MG_SW_MAGIC, MG_SW_FORMAT, kind };

	h->b = (struct mg_buf){ 0 };
	mg_mp_packer_init(&h->pk, &h->b);
	assert_int_equal(mg_buf_put(&h->b, hdr, 3), 0);
}

/* A DELTA with one batch of @origin holding one entry of @kind/@key. */
static void hand_delta(struct hand *h, const char *origin, uint64_t from,
		       uint64_t to, uint8_t kind, const void *key, size_t klen,
		       uint64_t dv)
{
	hand_start(h, MG_SW_DELTA);
	msgpack_pack_array(&h->pk, 2);
	msgpack_pack_nil(&h->pk);
	msgpack_pack_array(&h->pk, 1);
	msgpack_pack_array(&h->pk, 7);
	mg_mp_pack_uint(&h->pk, 0);
	mg_mp_pack_cstr(&h->pk, origin);
	mg_mp_pack_uint(&h->pk, 7);
	mg_mp_pack_cstr(&h->pk, "x");
	mg_mp_pack_uint(&h->pk, from);
	mg_mp_pack_uint(&h->pk, to);
	msgpack_pack_array(&h->pk, 1);
	msgpack_pack_array(&h->pk, 4);
	mg_mp_pack_uint(&h->pk, kind);
	mg_mp_pack_raw(&h->pk, key, klen);
	mg_mp_pack_uint(&h->pk, dv);
	mg_mp_pack_uint(&h->pk, 0);
}

static void test_wire_round_trip(void **state)
{
	struct mg_state_key kb = be("fd00::10", 53, "10.1.0.9", 5353);
	struct mg_state_val vb = bval(200, 1);
	struct mg_state_gwinfo gi = { .generation = 3, .n_addr = 1 };
	struct mg_state_key kg = { .kind = MG_STATE_GWINFO };
	struct mg_state_val vg;
	struct mg_state_entry e;
	struct mg_buf m = { 0 };
	const uint8_t *p;
	uint64_t clock = 0;
	struct node a, b;

	node_init(&a, "gw-a", 1, 1000, &clock, 0);
	node_init(&b, "gw-b", 2, 2000, &clock, 0);
	assert_int_equal(mg_addr_parse("192.0.2.10", &gi.addr[0]), 0);
	assert_int_equal(mg_state_gwinfo_encode(&gi, &vg), 0);
	assert_int_equal(mg_state_set_local(a.st, (struct mg_state_key[1]){
					    ep("fd00:1::/48") },
					    &(struct mg_state_val){ .flags = 5 }), 0);
	assert_int_equal(mg_state_set_local(a.st, &kb, &vb), 0);
	assert_int_equal(mg_state_set_local(a.st, &kg, &vg), 0);
	assert_int_equal(mg_state_set_local(a.st, (struct mg_state_key[1]){
					    ep_n(1) }, &NOVAL), 0);

	/* the exact bytes of a one-entry delta */
	assert_int_equal(mg_state_deltas_since(a.st, 0, 1003, 1000, &m), 1);
	{
		static const uint8_t want[] = {
			0x4d, 0x01, 0x01, 0x92, 0xc0, 0x91,
			0x97, 0x00, 0xa4, 'g', 'w', '-', 'a', 0x01, 0xa1, 'c',
			0xcd, 0x03, 0xeb, 0xcd, 0x03, 0xec,
			0x91, 0x94, 0x01, 0xa6, 0x04, 0x20, 10, 0, 0, 1,
			0x01, 0x00,
		};

		assert_int_equal(m.len, sizeof(want));
		assert_memory_equal(m.data, want, sizeof(want));
	}
	mg_buf_reset(&m);
	assert_int_equal(mg_state_encode_reset(a.st, 0, 1000, &m), 4);
	assert_int_equal(mg_sw_check(m.data, m.len), MG_SW_DELTA);
	assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	assert_true(same(a.st, b.st));
	assert_int_equal(mg_state_get(b.st, 1, &kb, &e), 0);
	assert_true(val_eq(&e.val, &vb));
	assert_int_equal(mg_state_get(b.st, 1, &kg, &e), 0);
	assert_int_equal(mg_state_gwinfo_decode(&e.val, &gi), 0);
	assert_int_equal(gi.generation, 3);
	assert_int_equal(mg_state_get(b.st, 1, (struct mg_state_key[1]){
				      ep("fd00:1::/48") }, &e), 0);
	assert_int_equal(e.val.flags, 5);

	/* a digest: O(origins) */
	mg_buf_reset(&m);
	assert_int_equal(mg_state_digest(b.st, 0, &m), 0);
	assert_int_equal(mg_sw_check(m.data, m.len), MG_SW_DIGEST);
	p = m.data;
	assert_true(mg_sw_is_state(p, m.len));
	assert_true(m.len < 40);
	mg_buf_free(&m);
	node_fini(&a);
	node_fini(&b);
}

/*
 * BACKEND keys of every family pair, the IPv6/IPv6 one the longest key there
 * is (it once overflowed 37-byte buffers): exact length, nothing written past
 * a buffer one byte short, and through a store and the wire unchanged.
 */
static void test_backend_key_sizes(void **state)
{
	static const struct {
		const char *vip, *addr;
		int len;
	} rows[] = {
		{ "10.96.0.1", "10.1.0.9", 15 },
		{ "10.96.0.1", "2001:db8::5", 27 },
		{ "fd00::10", "10.1.0.9", 27 },
		{ "fd00:ffff::10", "2001:db8:ffff::5", 39 },
	};
	uint8_t buf[MG_STATE_KEY_MAX + 8];
	struct mg_state_key k, back;
	struct mg_state_val v = bval(7, 1);
	struct mg_state_entry e;
	struct mg_buf m = { 0 };
	uint64_t clock = 0;
	struct node a, b;
	size_t i;
	int n;

	assert_int_equal(MG_STATE_KEY_MAX, 39);
	node_init(&a, "gw-a", 1, 1000, &clock, 0);
	node_init(&b, "gw-b", 2, 2000, &clock, 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		k = be(rows[i].vip, 65535, rows[i].addr, 65534);
		memset(buf, 0xa5, sizeof(buf));
		n = mg_state_key_encode(&k, buf, MG_STATE_KEY_MAX);
		assert_int_equal(n, rows[i].len);
		assert_true(n <= MG_STATE_KEY_MAX);
		assert_int_equal(buf[MG_STATE_KEY_MAX], 0xa5);
		assert_int_equal(mg_state_key_decode(k.kind, buf, n, &back), 0);
		assert_memory_equal(&k.be, &back.be, sizeof(k.be));
		memset(buf, 0xa5, sizeof(buf));
		assert_int_equal(mg_state_key_encode(&k, buf, n - 1), -ENOSPC);
		assert_int_equal(buf[n - 1], 0xa5);
		assert_int_equal(mg_state_set_local(a.st, &k, &v), 0);
		assert_int_equal(mg_state_get(a.st, 0, &k, &e), 0);
		assert_true(val_eq(&e.val, &v));
	}
	assert_int_equal(mg_state_encode_reset(a.st, 0, 1000, &m), 4);
	assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	assert_true(same(a.st, b.st));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		k = be(rows[i].vip, 65535, rows[i].addr, 65534);
		assert_int_equal(mg_state_get(b.st, 1, &k, &e), 0);
		assert_true(val_eq(&e.val, &v));
	}
	check_mirror(&b);
	/* and deleted: the tombstone carries the long key too */
	k = be(rows[3].vip, 65535, rows[3].addr, 65534);
	assert_int_equal(mg_state_del_local(a.st, &k), 0);
	mg_buf_reset(&m);
	assert_true(mg_state_deltas_since(a.st, 0, 1004, 1000, &m) >= 1);
	assert_int_equal(mg_state_recv(b.st, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	assert_int_equal(mg_state_get(b.st, 1, &k, &e), 0);
	assert_true(e.deleted);
	mg_buf_free(&m);
	node_fini(&a);
	node_fini(&b);
}

static void test_wire_hostile(void **state)
{
	static const uint8_t k4[] = { 4, 24, 10, 1, 2, 0 };
	static const uint8_t k33[] = { 4, 33, 10, 1, 2, 0 };
	static const uint8_t khost[] = { 4, 16, 10, 1, 2, 0 };
	struct mg_buf m = { 0 }, reply = { 0 };
	uint64_t clock = 0;
	struct hand h;
	struct node a, b;
	unsigned int seed = 7;
	size_t i, len;
	int ret;

	node_init(&a, "gw-a", 1, 1000, &clock, 0);
	node_init(&b, "gw-b", 2, 2000, &clock, 0);

	/* the hand-built good one applies */
	hand_delta(&h, "gw-x", 0, 5, MG_STATE_ENDPOINT, k4, sizeof(k4), 5);
	assert_int_equal(mg_state_recv(b.st, h.b.data, h.b.len, 0, NULL),
			 MG_SW_DELTA);
	assert_int_equal(b.n_m, 1);
	mg_buf_free(&h.b);

	/* prefix length past the family, host bits, dv 0, dv past to */
	hand_delta(&h, "gw-y", 0, 5, MG_STATE_ENDPOINT, k33, sizeof(k33), 5);
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -EBADMSG);
	mg_buf_free(&h.b);
	hand_delta(&h, "gw-y", 0, 5, MG_STATE_ENDPOINT, khost, sizeof(khost), 5);
	assert_int_equal(mg_state_recv(b.st, h.b.data, h.b.len, 0, NULL),
			 -EBADMSG);
	mg_buf_free(&h.b);
	hand_delta(&h, "gw-y", 0, 5, MG_STATE_ENDPOINT, k4, sizeof(k4), 0);
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -EBADMSG);
	mg_buf_free(&h.b);
	hand_delta(&h, "gw-y", 0, 5, MG_STATE_ENDPOINT, k4, sizeof(k4), 6);
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -EBADMSG);
	mg_buf_free(&h.b);
	hand_delta(&h, "gw-y", 9, 5, MG_STATE_ENDPOINT, k4, sizeof(k4), 1);
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -EBADMSG);
	mg_buf_free(&h.b);
	/* an unknown kind is skipped, its version still counts */
	hand_delta(&h, "gw-z", 0, 5, 77, "??", 2, 5);
	assert_int_equal(mg_state_recv(b.st, h.b.data, h.b.len, 0, NULL),
			 MG_SW_DELTA);
	assert_int_equal(max_of(b.st, "gw-z"), 5);
	assert_int_equal(b.n_m, 1);
	mg_buf_free(&h.b);
	assert_int_equal(mg_state_origin_find(b.st, "gw-y"), -ENOENT);

	/* counts far past the bytes and the bounds */
	hand_start(&h, MG_SW_DELTA);
	msgpack_pack_array(&h.pk, 2);
	msgpack_pack_nil(&h.pk);
	msgpack_pack_array(&h.pk, 1);
	msgpack_pack_array(&h.pk, 7);
	mg_mp_pack_uint(&h.pk, 0);
	mg_mp_pack_cstr(&h.pk, "gw-q");
	mg_mp_pack_uint(&h.pk, 7);
	mg_mp_pack_cstr(&h.pk, "");
	mg_mp_pack_uint(&h.pk, 0);
	mg_mp_pack_uint(&h.pk, 5);
	msgpack_pack_array(&h.pk, 0xffffffff);
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -E2BIG);
	mg_buf_free(&h.b);
	hand_start(&h, MG_SW_DIGEST);
	msgpack_pack_array(&h.pk, 2);
	msgpack_pack_array(&h.pk, 0xfffff);
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -E2BIG);
	mg_buf_free(&h.b);
	hand_start(&h, MG_SW_DIGEST);
	msgpack_pack_array(&h.pk, 2);
	msgpack_pack_array(&h.pk, 1000);
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -EBADMSG);
	mg_buf_free(&h.b);
	/* a DELTA with a digest, a DIGEST without */
	hand_start(&h, MG_SW_DELTA);
	msgpack_pack_array(&h.pk, 2);
	msgpack_pack_array(&h.pk, 0);
	msgpack_pack_array(&h.pk, 0);
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -EBADMSG);
	h.b.data[2] = MG_SW_DIGEST;
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), MG_SW_DIGEST);
	h.b.data[2] = 9;
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -EPROTONOSUPPORT);
	h.b.data[2] = MG_SW_DIGEST;
	h.b.data[1] = 2;
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -EPROTONOSUPPORT);
	h.b.data[1] = MG_SW_FORMAT;
	/* trailing bytes */
	mg_buf_put_u8(&h.b, 0);
	assert_int_equal(mg_sw_check(h.b.data, h.b.len), -EBADMSG);
	mg_buf_free(&h.b);
	assert_int_equal(mg_sw_check("", 0), -EPROTONOSUPPORT);
	assert_int_equal(mg_sw_check("\x02\x00", 2), -EPROTONOSUPPORT);

	/* every prefix and many bit flips of a real message: no crash */
	fill(&a, 20);
	assert_int_equal(mg_state_set_local(a.st, (struct mg_state_key[1]){
					    be("10.96.0.1", 80, "10.0.0.1", 81) },
					    (struct mg_state_val[1]){ bval(1, 1) }), 0);
	assert_int_equal(mg_state_digest(a.st, 100000, &m), 0);
	for (len = 0; len < m.len; len++) {
		ret = mg_sw_check(m.data, len);
		assert_true(ret == -EBADMSG || ret == -EPROTONOSUPPORT);
	}
	for (i = 0; i < 20000; i++) {
		struct node c;
		struct mg_buf x = { 0 };

		mg_buf_put(&x, m.data, m.len);
		x.data[3 + rand_r(&seed) % (x.len - 3)] ^= 1 << rand_r(&seed) % 8;
		if (i % 2)
			x.data[3 + rand_r(&seed) % (x.len - 3)] = rand_r(&seed);
		if (i % 100 == 0) {
			node_init(&c, "gw-c", 3, 3000, &clock, 0);
			ret = mg_state_recv(c.st, x.data, x.len, 100000,
					    &reply);
			assert_true(ret > 0 || ret == -EBADMSG || ret == -E2BIG);
			check_mirror(&c);
			node_fini(&c);
		} else {
			ret = mg_sw_check(x.data, x.len);
			assert_true(ret > 0 || ret == -EBADMSG || ret == -E2BIG);
		}
		mg_buf_free(&x);
	}
	mg_buf_free(&m);
	mg_buf_free(&reply);
	node_fini(&a);
	node_fini(&b);
}

/* --- scale ---------------------------------------------------------------- */

static double secs(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) + (b->tv_nsec - a->tv_nsec) / 1e9;
}

static void test_scale_100k(void **state)
{
	const unsigned int N = 100000;
	struct mg_state_cfg cfg = {
		.name = "gw-big", .cluster_id = 2, .version_base = 1000,
	};
	struct mg_buf m = { 0 }, d = { 0 };
	struct mg_state *src, *dst;
	struct timespec t0, t1, t2, t3, t4;
	struct mg_state_key k;
	size_t mem;
	unsigned int i;
	int n;

	assert_int_equal(mg_state_new(&cfg, &src), 0);
	cfg.name = "gw-small";
	assert_int_equal(mg_state_new(&cfg, &dst), 0);
	for (i = 0; i < N; i++) {
		k = ep_n(i);
		if (i % 4 == 0)	/* a quarter IPv6 /64s */
			k = (struct mg_state_key){ .kind = MG_STATE_ENDPOINT,
				.ep = { .addr = { .family = MG_AF_INET6,
				.addr = { 0xfd, __builtin_bswap32(i) } },
				.len = 64 } };
		assert_int_equal(mg_state_set_local(src, &k, &NOVAL), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = mg_state_encode_reset(src, 0, SIZE_MAX, &m);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(n, N);
	assert_int_equal(mg_state_recv(dst, m.data, m.len, 0, NULL),
			 MG_SW_DELTA);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	mem = mg_state_mem_bytes(dst);
	assert_true(mem / N <= 64);

	/* a digest and a small delta cost what they say, not the store */
	for (i = 0; i < 100; i++)
		assert_int_equal(mg_state_set_local(src, (struct mg_state_key[1]){
						    ep_n(i) }, &(struct mg_state_val){
						    .flags = 1 }), 0);
	for (i = 0; i < 1000; i++) {
		mg_buf_reset(&d);
		assert_int_equal(mg_state_digest(dst, 1000, &d), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t3);
	for (i = 0; i < 1000; i++) {
		mg_buf_reset(&d);
		n = mg_state_deltas_since(src, 0, 1000 + N, 100000, &d);
		assert_int_equal(n, 100);
	}
	clock_gettime(CLOCK_MONOTONIC, &t4);
	assert_int_equal(mg_state_recv(dst, d.data, d.len, 0, NULL),
			 MG_SW_DELTA);
	assert_true(same(src, dst));
	print_message("state at %u entries: %zu bytes in the heap, %.1f B/entry; "
		      "reset %zu bytes (%.1f B/entry) encode %.1f ms, "
		      "decode+merge %.1f ms; digest %.2f us; "
		      "100-entry delta %.2f us\n",
		      N, mem, (double)mem / N, m.len, (double)m.len / N,
		      secs(&t0, &t1) * 1e3, secs(&t1, &t2) * 1e3,
		      secs(&t2, &t3) * 1e3, secs(&t3, &t4) * 1e3);
	mg_buf_free(&m);
	mg_buf_free(&d);
	mg_state_free(src);
	mg_state_free(dst);
}

/*
 * The store keeps entries in arenas by size (state.c): a value that
 * outgrows its entry moves it, to a bigger one or behind a pointer, and
 * back.  Every move keeps the entry's place in the hash and in the
 * origin's version order, and the live count exact; the full store
 * refuses new keys but still takes a value that grows in place.
 */
static void test_entry_sizes(void **state)
{
	struct mg_state_key pk = { .kind = MG_STATE_POLICY, .pol_id = 7 };
	struct mg_state_key k1 = ep("10.1.0.0/16"), k2 = ep("fd00:1::/48");
	struct mg_state_key k3 = ep("10.3.0.0/16");
	static const uint8_t lens[] = { 1, 2, 6, 17, 18, 60, 2, 64, 0, 3 };
	struct mg_state_cfg cfg = { 0 };
	struct mg_state_cursor c;
	struct mg_state_val v = NOVAL;
	struct mg_state_entry e;
	uint64_t clock = 5, last;
	struct node a;
	int n;

	node_init(&a, "gw-a", 1, 1000, &clock, 0);
	assert_int_equal(mg_state_set_local(a.st, &k1, &v), 0);
	for (size_t i = 0; i < sizeof(lens); i++) {
		v.len = lens[i];
		memset(v.data, 0xa0 + (int)i, v.len);
		v.type = 16;
		assert_int_equal(mg_state_set_local(a.st, &pk, &v), 0);
		assert_int_equal(mg_state_set_local(a.st, &k2, &NOVAL), 0);
		assert_int_equal(mg_state_get(a.st, 0, &pk, &e), 0);
		assert_int_equal(e.val.len, lens[i]);
		assert_true(val_eq(&e.val, &v));
		/* the policy entry, then k2: the newest two, in order */
		mg_state_since(a.st, 0, 0, &c);
		n = 0;
		last = 0;
		while (mg_state_cursor_next(a.st, &c, &e)) {
			assert_true(e.version > last);
			last = e.version;
			n++;
		}
		assert_int_equal(n, 3);
		assert_int_equal(mg_state_del_local(a.st, &k2), 0);
		check_mirror(&a);
	}
	assert_int_equal(mg_state_del_local(a.st, &pk), 0);
	assert_int_equal(mg_state_get(a.st, 0, &pk, &e), 0);
	assert_true(e.deleted);
	check_mirror(&a);
	node_fini(&a);

	/* Full (two entries): no new key, but a value grows in place. */
	node_init(&a, "gw-a", 1, 1000, &clock, 0);
	mg_state_free(a.st);
	cfg = (struct mg_state_cfg){ .name = "gw-a", .cluster_id = 1,
				     .version_base = 1000, .max_entries = 2,
				     .hash_seed = 42, .now_ms = fake_now,
				     .on_change = on_change, .ctx = &a };
	assert_int_equal(mg_state_new(&cfg, &a.st), 0);
	v = NOVAL;
	v.len = 1;
	assert_int_equal(mg_state_set_local(a.st, &pk, &v), 0);
	assert_int_equal(mg_state_set_local(a.st, &k1, &NOVAL), 0);
	assert_int_equal(mg_state_set_local(a.st, &k3, &NOVAL), -ENOSPC);
	v.len = 40;
	memset(v.data, 0x5a, v.len);
	assert_int_equal(mg_state_set_local(a.st, &pk, &v), 0);
	assert_int_equal(mg_state_get(a.st, 0, &pk, &e), 0);
	assert_true(val_eq(&e.val, &v));
	assert_int_equal(mg_state_set_local(a.st, &k3, &NOVAL), -ENOSPC);
	check_mirror(&a);
	node_fini(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_codec),
		cmocka_unit_test(test_local_versions),
		cmocka_unit_test(test_entry_sizes),
		cmocka_unit_test(test_deltas_since),
		cmocka_unit_test(test_truncated_batch),
		cmocka_unit_test(test_apply_rules),
		cmocka_unit_test(test_tombstone_gc_reset),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_forget_origin),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_gossip_rumours),
		cmocka_unit_test(test_wire_round_trip),
		cmocka_unit_test(test_backend_key_sizes),
		cmocka_unit_test(test_wire_hostile),
		cmocka_unit_test(test_converge_lossy),
		cmocka_unit_test(test_scale_100k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
