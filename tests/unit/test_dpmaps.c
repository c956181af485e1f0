// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's view -> map programming, against real BPF maps (root).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "dpmaps.h"

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	assert_int_equal(mg_prefix_parse(s, &p), 0);
	return p;
}

static struct mg_addr addr(const char *s)
{
	struct mg_addr a;

	assert_int_equal(mg_addr_parse(s, &a), 0);
	return a;
}

static int hash_map(size_t ksz, size_t vsz, int max)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "t", ksz, vsz, max, NULL);

	assert_true(fd >= 0);
	return fd;
}

static int lpm_map(size_t ksz)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	int fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "t", ksz,
				sizeof(struct mg_ep_val), 64, &o);

	assert_true(fd >= 0);
	return fd;
}

static int count(int fd, size_t ksz)
{
	char k[64], n[64];
	void *prev = NULL;
	int c = 0;

	while (!bpf_map_get_next_key(fd, prev, n)) {
		memcpy(k, n, ksz);
		prev = k;
		c++;
	}
	return c;
}

static void test_cluster_slots_spread_over_live(void **state)
{
	struct mg_view_gw gw[3] = {
		{ .name = "a", .cluster_id = 2, .alive = true, .tunnel = addr("192.0.2.2") },
		{ .name = "b", .cluster_id = 2, .alive = false, .tunnel = addr("192.0.2.3") },
		{ .name = "c", .cluster_id = 2, .alive = true, .tunnel = addr("192.0.2.4") },
	};
	struct mg_view v = { .cluster_id = 1, .n_gw = 3, .gw = gw };
	struct mg_cluster_val cl;
	int used[2] = { 0, 0 };

	assert_int_equal(mg_cluster_build(&v, 2, &cl), 2);
	assert_int_equal(cl.n_gw, 2);
	assert_true(mg_addr_equal(&cl.gw[0], &gw[0].tunnel));
	assert_true(mg_addr_equal(&cl.gw[1], &gw[2].tunnel));
	for (int s = 0; s < MG_GW_SLOTS; s++) {
		assert_true(cl.slot[s] < 2);
		used[cl.slot[s]]++;
	}
	assert_int_equal(used[0], MG_GW_SLOTS / 2);
	assert_int_equal(used[1], MG_GW_SLOTS / 2);

	gw[0].alive = gw[2].alive = false;
	assert_int_equal(mg_cluster_build(&v, 2, &cl), 0);
	assert_int_equal(cl.n_gw, 0);
	assert_int_equal(mg_cluster_build(&v, 9, &cl), 0);
}

static void test_reconcile_upserts_then_deletes(void **state)
{
	int fd = hash_map(4, 4, 8);
	__u32 k, v, keys[2] = { 2, 3 }, vals[2] = { 22, 33 };
	struct mg_sync_stats st = { 0 };

	for (k = 1; k <= 2; k++) {
		v = k * 10;
		assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	}
	assert_int_equal(mg_map_reconcile(fd, "t", 4, 4, keys, vals, 2, &st), 0);
	assert_int_equal(st.written, 2);
	assert_int_equal(st.deleted, 1);
	assert_int_equal(count(fd, 4), 2);
	k = 1;
	assert_int_not_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	k = 2;
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	assert_int_equal(v, 22);

	/* Again: nothing to do, nothing rewritten. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(mg_map_reconcile(fd, "t", 4, 4, keys, vals, 2, &st), 0);
	assert_int_equal(st.written + st.deleted, 0);

	/* Empty desired set empties the map. */
	assert_int_equal(mg_map_reconcile(fd, "t", 4, 4, keys, vals, 0, &st), 0);
	assert_int_equal(count(fd, 4), 0);
	close(fd);
}

static void test_reconcile_full_map_is_an_error(void **state)
{
	int fd = hash_map(4, 4, 2);
	__u32 keys[3] = { 1, 2, 3 };
	struct mg_sync_stats st = { 0 };
	int err;

	err = mg_map_reconcile(fd, "t", 4, 4, keys, keys, 3, &st);
	assert_true(err == -E2BIG || err == -ENOSPC);
	assert_int_equal(st.written, 2);
	assert_int_equal(st.failed, 1);
	close(fd);
}

/* A full map whose entries are all replaced: room made by the deletes. */
static void test_reconcile_full_map_replaced(void **state)
{
	struct mg_map_cache c = { 0 };
	__u32 old[3] = { 1, 2, 3 }, new[3] = { 4, 5, 6 }, v;

	for (int cached = 0; cached < 2; cached++) {
		int fd = hash_map(4, 4, 3);
		struct mg_sync_stats st = { 0 };

		if (cached)
			assert_int_equal(mg_map_sync_cached(fd, "t", &c, 4, 4,
				old, old, 3, &st), 0);
		else
			assert_int_equal(mg_map_reconcile(fd, "t", 4, 4, old,
				old, 3, &st), 0);
		memset(&st, 0, sizeof(st));
		if (cached)
			assert_int_equal(mg_map_sync_cached(fd, "t", &c, 4, 4,
				new, new, 3, &st), 0);
		else
			assert_int_equal(mg_map_reconcile(fd, "t", 4, 4, new,
				new, 3, &st), 0);
		assert_int_equal(st.written, 3);
		assert_int_equal(st.deleted, 3);
		assert_int_equal(st.failed, 0);
		assert_int_equal(count(fd, 4), 3);
		assert_int_equal(bpf_map_lookup_elem(fd, &new[2], &v), 0);
		close(fd);
	}
	free(c.recs);
}

/* A full map's error names the map, its size and the limit to raise. */
static const struct {
	const char *map, *says;
} full_rows[] = {
	{ "mg_ep4",	"map mg_ep4 is full (max_entries 2, 3 wanted): raise [limits] endpoints in the configuration" },
	{ "mg_local4",	"map mg_local4 is full (max_entries 2, 3 wanted): raise [limits] local_endpoints in the configuration" },
	{ "mg_local6",	"map mg_local6 is full (max_entries 2, 3 wanted): raise [limits] local_endpoints in the configuration" },
	{ "mg_peer6",	"map mg_peer6 is full (max_entries 2, 3 wanted): raise MG_MAX_PEERS in include/meshgate/limits.h" },
	{ "mg_nh4_v2",	"map mg_nh4_v2 is full (max_entries 2, 3 wanted): raise MG_MAX_NEXTHOPS in include/meshgate/limits.h" },
	{ "mg_svc6",	"map mg_svc6 is full (max_entries 2, 3 wanted): raise MG_LB_MAX_SERVICES in include/meshgate/limits.h" },
};

static void test_full_map_hint(void **state)
{
	int fd = hash_map(4, 4, 2);
	char buf[192];

	for (size_t r = 0; r < sizeof(full_rows) / sizeof(full_rows[0]); r++) {
		mg_map_full_hint(fd, full_rows[r].map, 3, buf, sizeof(buf));
		assert_string_equal(buf, full_rows[r].says);
	}
	close(fd);
}

static void test_cached_sync_writes_only_the_difference(void **state)
{
	int fd = hash_map(4, 4, 16);
	struct mg_map_cache c = { 0 };
	struct mg_sync_stats st = { 0 };
	__u32 k1[3] = { 3, 1, 2 }, v1[3] = { 30, 10, 20 };
	__u32 k2[3] = { 4, 2, 3 }, v2[3] = { 40, 21, 30 };
	__u32 k, v;

	/* First sync: a full reconcile, which also clears strays. */
	k = 9, v = 90;
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	assert_int_equal(mg_map_sync_cached(fd, "t", &c, 4, 4, k1, v1, 3, &st), 0);
	assert_true(c.valid);
	assert_int_equal(count(fd, 4), 3);
	assert_int_equal(st.deleted, 1);

	/* Then only the difference: 1 gone, 2 changed, 4 new, 3 untouched. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(mg_map_sync_cached(fd, "t", &c, 4, 4, k2, v2, 3, &st), 0);
	assert_int_equal(st.written, 2);
	assert_int_equal(st.deleted, 1);
	assert_int_equal(count(fd, 4), 3);
	k = 1;
	assert_int_not_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	k = 2;
	assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
	assert_int_equal(v, 21);

	/* Drift (someone else wrote) survives a cached sync... */
	k = 9, v = 90;
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	memset(&st, 0, sizeof(st));
	assert_int_equal(mg_map_sync_cached(fd, "t", &c, 4, 4, k2, v2, 3, &st), 0);
	assert_int_equal(st.written + st.deleted, 0);
	assert_int_equal(count(fd, 4), 4);
	/* ...until the periodic full reconcile repairs it. */
	c.full_ms = 0;
	assert_int_equal(mg_map_sync_cached(fd, "t", &c, 4, 4, k2, v2, 3, &st), 0);
	assert_int_equal(count(fd, 4), 3);
	free(c.recs);
	close(fd);
}

static void test_sync_view(void **state)
{
	struct mg_prefix local[2] = { pfx("10.1.0.0/16"), pfx("fd00:1::/64") };
	struct mg_prefix c2[2] = { pfx("10.2.0.0/16"), pfx("fd00:2::/64") };
	struct mg_prefix c3[1] = { pfx("10.3.0.0/16") };
	struct mg_view_gw gw[3] = {
		{ .name = "gw2a", .cluster_id = 2, .alive = true,
		  .tunnel = addr("192.0.2.2"), .tunnel_alt = addr("fd00:f::2"),
		  .n_prefixes = 2, .prefixes = c2 },
		{ .name = "gw2b", .cluster_id = 2, .alive = true,
		  .tunnel = addr("192.0.2.3"), .n_prefixes = 2, .prefixes = c2 },
		{ .name = "gw3", .cluster_id = 3, .alive = false,
		  .tunnel = addr("192.0.2.4"), .n_prefixes = 1, .prefixes = c3 },
	};
	struct mg_view v = { .cluster_id = 1, .n_local = 2, .local = local,
			     .n_gw = 3, .gw = gw };
	struct mg_dpmaps m = {
		.ep4 = lpm_map(sizeof(struct mg_ep4_key)),
		.ep6 = lpm_map(sizeof(struct mg_ep6_key)),
		.clus = hash_map(4, sizeof(struct mg_cluster_val), 16),
		.peer4 = hash_map(4, sizeof(struct mg_peer_val), 16),
		.peer6 = hash_map(16, sizeof(struct mg_peer_val), 16),
		.local4 = lpm_map(sizeof(struct mg_ep4_key)),
		.local6 = lpm_map(sizeof(struct mg_ep6_key)),
	};
	struct mg_ep4_key k = { .prefixlen = 32 };
	struct mg_ep6_key k6 = { .prefixlen = 128 };
	struct mg_addr a6;
	struct mg_cluster_val cl;
	struct mg_peer_val pv;
	struct mg_ep_val ev;
	__u32 cid;

	assert_int_equal(mg_dpmaps_sync(&m, &v, NULL), 0);
	/* Siblings' identical prefixes collapse; IPv6 ones go to mg_ep6. */
	assert_int_equal(count(m.ep4, sizeof(k)), 3);
	assert_int_equal(count(m.ep6, sizeof(k6)), 2);
	a6 = addr("fd00:2::77");
	memcpy(k6.addr, a6.addr, 16);
	assert_int_equal(bpf_map_lookup_elem(m.ep6, &k6, &ev), 0);
	assert_int_equal(ev.cluster_id, 2);
	assert_false(ev.flags & MG_EP_F_LOCAL);
	a6 = addr("fd00:1::5");
	memcpy(k6.addr, a6.addr, 16);
	assert_int_equal(bpf_map_lookup_elem(m.ep6, &k6, &ev), 0);
	assert_true(ev.flags & MG_EP_F_LOCAL);
	/* The local maps hold our own prefixes, and only them. */
	assert_int_equal(count(m.local4, sizeof(k)), 1);
	assert_int_equal(count(m.local6, sizeof(k6)), 1);
	a6 = addr("fd00:1::5");
	memcpy(k6.addr, a6.addr, 16);
	assert_int_equal(bpf_map_lookup_elem(m.local6, &k6, &ev), 0);
	assert_true(ev.flags & MG_EP_F_LOCAL);
	k.addr = inet_addr("10.2.9.9");
	assert_int_not_equal(bpf_map_lookup_elem(m.local4, &k, &ev), 0);
	/* A gateway's other-family address is a peer too. */
	assert_int_equal(count(m.peer6, 16), 1);
	a6 = addr("fd00:f::2");
	assert_int_equal(bpf_map_lookup_elem(m.peer6, a6.addr, &pv), 0);
	assert_int_equal(pv.cluster_id, 2);
	k.addr = inet_addr("10.1.2.3");
	assert_int_equal(bpf_map_lookup_elem(m.ep4, &k, &ev), 0);
	assert_int_equal(ev.cluster_id, 1);
	assert_true(ev.flags & MG_EP_F_LOCAL);
	k.addr = inet_addr("10.2.9.9");
	assert_int_equal(bpf_map_lookup_elem(m.ep4, &k, &ev), 0);
	assert_int_equal(ev.cluster_id, 2);
	assert_false(ev.flags & MG_EP_F_LOCAL);
	/* A dead gateway is no peer, and its cluster has no live gateway. */
	assert_int_equal(count(m.peer4, 4), 2);
	cid = inet_addr("192.0.2.4");
	assert_int_not_equal(bpf_map_lookup_elem(m.peer4, &cid, &pv), 0);
	cid = 3;
	assert_int_equal(bpf_map_lookup_elem(m.clus, &cid, &cl), 0);
	assert_int_equal(cl.n_gw, 0);
	cid = 2;
	assert_int_equal(bpf_map_lookup_elem(m.clus, &cid, &cl), 0);
	assert_int_equal(cl.n_gw, 2);

	/*
	 * A view that differs in liveness alone rebuilds no endpoint entry;
	 * one whose prefixes or versions changed rewrites what changed.
	 */
	{
		struct mg_sync_stats st = { 0 };

		gw[2].alive = true;
		assert_int_equal(mg_dpmaps_sync(&m, &v, &st), 0);
		assert_true(m.ep_hash_ok);
		/* the cluster and the peer: two writes, no endpoint */
		assert_int_equal(st.written, 2);
		gw[2].alive = false;
		gw[2].version = 7;
		memset(&st, 0, sizeof(st));
		assert_int_equal(mg_dpmaps_sync(&m, &v, &st), 0);
		/* 10.3/16's version and the cluster; the peer goes */
		assert_int_equal(st.written, 2);
		assert_int_equal(st.deleted, 1);
		k.addr = inet_addr("10.3.0.1");
		assert_int_equal(bpf_map_lookup_elem(m.ep4, &k, &ev), 0);
		assert_int_equal(ev.version, 7);
		c3[0] = pfx("10.4.0.0/16");
		memset(&st, 0, sizeof(st));
		assert_int_equal(mg_dpmaps_sync(&m, &v, &st), 0);
		assert_int_equal(st.written, 1);
		assert_int_equal(st.deleted, 1);
		k.addr = inet_addr("10.4.0.1");
		assert_int_equal(bpf_map_lookup_elem(m.ep4, &k, &ev), 0);
		assert_int_equal(ev.cluster_id, 3);
		c3[0] = pfx("10.3.0.0/16");
		assert_int_equal(mg_dpmaps_sync(&m, &v, NULL), 0);
	}

	/* Held (startup): cluster 3 leaves the view, yet nothing goes. */
	v.n_gw = 2;
	m.keep = true;
	assert_int_equal(mg_dpmaps_sync(&m, &v, NULL), 0);
	assert_int_equal(count(m.ep4, sizeof(k)), 3);
	cid = 3;
	assert_int_equal(bpf_map_lookup_elem(m.clus, &cid, &cl), 0);
	m.keep = false;

	/* Cluster 3 leaves the view: every trace of it goes. */
	assert_int_equal(mg_dpmaps_sync(&m, &v, NULL), 0);
	assert_int_equal(count(m.ep4, sizeof(k)), 2);
	cid = 3;
	assert_int_not_equal(bpf_map_lookup_elem(m.clus, &cid, &cl), 0);
	mg_dpmaps_free(&m);
	close(m.ep4);
	close(m.ep6);
	close(m.clus);
	close(m.peer4);
	close(m.peer6);
	close(m.local4);
	close(m.local6);
}

/*
 * LPM tries: a lookup of an absent prefix answers with its covering
 * prefix's value, so "unchanged" must be judged from what the map holds
 * exactly.  Nested prefixes with one value are the case that tells.
 */
#define NEST_MAX 4

enum lpm_how { BY_RECONCILE, BY_CACHED_FIRST, BY_CACHED_NEXT };

struct lpm_row {
	const char *name;
	const char *had[NEST_MAX];	/* in the map before */
	const char *want[NEST_MAX];	/* wanted */
	int written, deleted;		/* the map after: want, exactly */
};

static const struct lpm_row lpm_rows[] = {
	{ "nested, equal values, into an empty map", {},
	  { "100.64.0.0/16", "100.64.5.0/24", "100.64.5.16/28" }, 3, 0 },
	{ "restart: the covering /16 alone was left", { "100.64.0.0/16" },
	  { "100.64.0.0/16", "100.64.5.0/24", "100.64.5.16/28" }, 2, 0 },
	{ "restart: the /24 alone was left", { "100.64.5.0/24" },
	  { "100.64.0.0/16", "100.64.5.0/24", "100.64.5.16/28" }, 2, 0 },
	{ "withdraw the /16: the more specifics stay",
	  { "100.64.0.0/16", "100.64.5.0/24", "100.64.5.16/28" },
	  { "100.64.5.0/24", "100.64.5.16/28" }, 0, 1 },
	{ "withdraw the /24 under a kept /16 and /28",
	  { "100.64.0.0/16", "100.64.5.0/24", "100.64.5.16/28" },
	  { "100.64.0.0/16", "100.64.5.16/28" }, 0, 1 },
	{ "withdraw the /16 and the /28 together",
	  { "100.64.0.0/16", "100.64.5.0/24", "100.64.5.16/28" },
	  { "100.64.5.0/24" }, 0, 2 },
	{ "nothing to do", { "100.64.0.0/16", "100.64.5.0/24" },
	  { "100.64.0.0/16", "100.64.5.0/24" }, 0, 0 },
};

static const struct mg_ep_val nest_val = { .cluster_id = 2, .version = 1 };

static struct mg_ep4_key ep4k(const char *s)
{
	struct mg_prefix p = pfx(s);

	return (struct mg_ep4_key){ .prefixlen = p.len, .addr = p.addr.addr[0] };
}

/* Is k in the map?  By walking its keys, not by a (longest) lookup. */
static bool lpm_has(int fd, const struct mg_ep4_key *k)
{
	struct mg_ep4_key got, cur;
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, &got)) {
		if (!memcmp(&got, k, sizeof(got)))
			return true;
		cur = got;
		prev = &cur;
	}
	return false;
}

/* The map holds exactly these prefixes, each with nest_val. */
static void assert_lpm_holds(int fd, const char *const *pfxs)
{
	int n = 0;

	for (; n < NEST_MAX && pfxs[n]; n++) {
		struct mg_ep4_key k = ep4k(pfxs[n]);
		struct mg_ep_val ev;

		if (!lpm_has(fd, &k))
			fail_msg("%s missing from the map", pfxs[n]);
		assert_int_equal(bpf_map_lookup_elem(fd, &k, &ev), 0);
		assert_memory_equal(&ev, &nest_val, sizeof(ev));
	}
	assert_int_equal(count(fd, sizeof(struct mg_ep4_key)), n);
}

static size_t nest_keys(const char *const *pfxs, struct mg_ep4_key *k,
			struct mg_ep_val *v)
{
	size_t n = 0;

	for (; n < NEST_MAX && pfxs[n]; n++) {
		k[n] = ep4k(pfxs[n]);
		v[n] = nest_val;
	}
	return n;
}

static void test_lpm_nested_equal_values(void **state)
{
	static const char *const how_name[] = { "reconcile",
		"first cached sync", "incremental cached sync" };

	for (size_t r = 0; r < sizeof(lpm_rows) / sizeof(lpm_rows[0]); r++)
	for (int how = BY_RECONCILE; how <= BY_CACHED_NEXT; how++) {
		const struct lpm_row *row = &lpm_rows[r];
		struct mg_ep4_key hk[NEST_MAX], wk[NEST_MAX];
		struct mg_ep_val hv[NEST_MAX], wv[NEST_MAX];
		struct mg_map_cache c = { 0 };
		struct mg_sync_stats st = { 0 };
		int fd = lpm_map(sizeof(hk[0]));
		size_t nh = nest_keys(row->had, hk, hv);
		size_t nw = nest_keys(row->want, wk, wv);

		print_message("row: %s (%s)\n", row->name, how_name[how]);
		for (size_t i = 0; i < nh; i++)
			assert_int_equal(bpf_map_update_elem(fd, &hk[i], &hv[i],
							     BPF_ANY), 0);
		if (how == BY_RECONCILE) {
			assert_int_equal(mg_map_reconcile(fd, "mg_ep4",
				sizeof(wk[0]), sizeof(wv[0]), wk, wv, nw,
				&st), 0);
		} else {
			if (how == BY_CACHED_NEXT) {
				/* A cache that says the map holds "had". */
				assert_int_equal(mg_map_sync_cached(fd, "mg_ep4",
					&c, sizeof(hk[0]), sizeof(hv[0]), hk,
					hv, nh, &st), 0);
				memset(&st, 0, sizeof(st));
			}
			assert_int_equal(mg_map_sync_cached(fd, "mg_ep4", &c,
				sizeof(wk[0]), sizeof(wv[0]), wk, wv, nw,
				&st), 0);
		}
		assert_int_equal(st.written, row->written);
		assert_int_equal(st.deleted, row->deleted);
		assert_lpm_holds(fd, row->want);
		free(c.recs);
		close(fd);
	}
}

/*
 * The case through the whole sync: a peer exports the three nested
 * prefixes, then withdraws the /16; a restart over maps a run left short
 * (startup holds deletes) writes what is missing.
 */
static void test_sync_nested_prefixes(void **state)
{
	struct mg_prefix three[3] = { pfx("100.64.0.0/16"),
		pfx("100.64.5.0/24"), pfx("100.64.5.16/28") };
	struct mg_view_gw gw = { .name = "gw2", .cluster_id = 2, .alive = true,
				 .tunnel = addr("192.0.2.2"), .version = 1,
				 .n_prefixes = 3, .prefixes = three };
	struct mg_view v = { .cluster_id = 1, .n_gw = 1, .gw = &gw };
	struct mg_dpmaps m = {
		.ep4 = lpm_map(sizeof(struct mg_ep4_key)),
		.ep6 = lpm_map(sizeof(struct mg_ep6_key)),
		.clus = hash_map(4, sizeof(struct mg_cluster_val), 16),
		.peer4 = hash_map(4, sizeof(struct mg_peer_val), 16),
		.peer6 = hash_map(16, sizeof(struct mg_peer_val), 16),
	};
	struct mg_dpmaps again = m;
	static const char *const all[] = { "100.64.0.0/16", "100.64.5.0/24",
					   "100.64.5.16/28", NULL };
	struct mg_ep4_key k;

	/* First (full) sync. */
	assert_int_equal(mg_dpmaps_sync(&m, &v, NULL), 0);
	assert_lpm_holds(m.ep4, all);
	/* Incremental: the /16 is withdrawn, the others stay. */
	gw.n_prefixes = 2;
	gw.prefixes = three + 1;
	assert_int_equal(mg_dpmaps_sync(&m, &v, NULL), 0);
	assert_lpm_holds(m.ep4, all + 1);
	/* And back. */
	gw.n_prefixes = 3;
	gw.prefixes = three;
	assert_int_equal(mg_dpmaps_sync(&m, &v, NULL), 0);
	assert_lpm_holds(m.ep4, all);

	/* Restart over a map left with the /16 only: held, then full. */
	k = ep4k("100.64.5.0/24");
	assert_int_equal(bpf_map_delete_elem(m.ep4, &k), 0);
	k = ep4k("100.64.5.16/28");
	assert_int_equal(bpf_map_delete_elem(m.ep4, &k), 0);
	again.ep4c = again.ep6c = (struct mg_map_cache){ 0 };
	again.keep = true;
	assert_int_equal(mg_dpmaps_sync(&again, &v, NULL), 0);
	assert_lpm_holds(again.ep4, all);
	k = ep4k("100.64.5.16/28");
	assert_int_equal(bpf_map_delete_elem(m.ep4, &k), 0);
	again.keep = false;
	assert_int_equal(mg_dpmaps_sync(&again, &v, NULL), 0);
	assert_lpm_holds(again.ep4, all);
	mg_dpmaps_free(&m);
	mg_dpmaps_free(&again);
	close(m.ep4);
	close(m.ep6);
	close(m.clus);
	close(m.peer4);
	close(m.peer6);
}

/* The local maps' aggregation: the same addresses, the fewest prefixes. */
#define AGG_MAX 6

static const struct agg_row {
	const char *in[AGG_MAX], *out[AGG_MAX];
} agg_rows[] = {
	{ { "10.1.0.0/16", "10.1.5.0/24", "10.1.5.16/32" }, { "10.1.0.0/16" } },
	{ { "172.16.0.8/29", "172.16.0.0/29" }, { "172.16.0.0/28" } },
	{ { "172.16.0.0/29", "172.16.0.8/29", "172.16.0.16/29",
	    "172.16.0.24/29" }, { "172.16.0.0/27" } },
	/* Adjacent, but not the halves of one prefix. */
	{ { "172.16.0.8/29", "172.16.0.16/29" },
	  { "172.16.0.8/29", "172.16.0.16/29" } },
	/* A merge that makes a sibling of what came before. */
	{ { "10.0.0.0/25", "10.0.0.128/26", "10.0.0.192/26", "10.0.1.0/24" },
	  { "10.0.0.0/23" } },
	{ { "0.0.0.0/1", "128.0.0.0/1" }, { "0.0.0.0/0" } },
	{ { "fd00:1::/65", "fd00:1:0:0:8000::/65", "fd00:1::5/128" },
	  { "fd00:1::/64" } },
	{ { "fd00:1::/64", "fd00:2::/64" }, { "fd00:1::/64", "fd00:2::/64" } },
	{ {}, {} },
};

static void test_prefix_aggregate(void **state)
{
	for (size_t r = 0; r < sizeof(agg_rows) / sizeof(agg_rows[0]); r++) {
		struct mg_prefix p[AGG_MAX];
		size_t n = 0, got;
		char buf[MG_PREFIXSTRLEN];

		while (n < AGG_MAX && agg_rows[r].in[n]) {
			p[n] = pfx(agg_rows[r].in[n]);
			n++;
		}
		got = mg_prefix_aggregate(p, n);
		for (size_t i = 0; i < got; i++)
			if (!agg_rows[r].out[i] ||
			    strcmp(mg_prefix_str(&p[i], buf, sizeof(buf)),
				   agg_rows[r].out[i]))
				fail_msg("row %zu: #%zu is %s, want %s", r, i,
					 buf, agg_rows[r].out[i] ?
					 agg_rows[r].out[i] : "nothing");
		if (got < AGG_MAX && agg_rows[r].out[got])
			fail_msg("row %zu: %zu prefixes, want more", r, got);
	}
}

/*
 * An exporter's 100,000 adjacent /29 routes fit a local map of 16 entries
 * (and answer for exactly their addresses); 20 routes that cannot be
 * merged do not fit 16, and the sync says which map and what to raise.
 */
static void test_local_map_aggregated(void **state)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	size_t n = 100000;
	struct mg_prefix *local = calloc(n + 1, sizeof(*local));
	struct mg_view v = { .cluster_id = 1, .local = local };
	struct mg_dpmaps m = {
		.ep4 = lpm_map(sizeof(struct mg_ep4_key)),
		.ep6 = lpm_map(sizeof(struct mg_ep6_key)),
		.clus = hash_map(4, sizeof(struct mg_cluster_val), 16),
		.peer4 = hash_map(4, sizeof(struct mg_peer_val), 16),
		.peer6 = hash_map(16, sizeof(struct mg_peer_val), 16),
		.local4 = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "t",
					 sizeof(struct mg_ep4_key),
					 sizeof(struct mg_ep_val), 16, &o),
		.local6 = lpm_map(sizeof(struct mg_ep6_key)),
	};
	struct mg_ep4_key k = { .prefixlen = 32 };
	struct mg_ep_val ev;

	assert_true(m.local4 >= 0);
	for (size_t i = 0; i < n; i++) {
		local[i].addr.family = MG_AF_INET;
		local[i].addr.addr[0] = htonl(0xac100000 + 8 * i);
		local[i].len = 29;
	}
	/* And a pod route inside the cluster's CIDR, which covers it. */
	local[n] = pfx("10.1.5.16/32");
	v.n_local = (int)n + 1;
	v.local = local;
	/* mg_ep4 keeps every one: only the local maps aggregate. */
	close(m.ep4);
	m.ep4 = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "t",
			       sizeof(struct mg_ep4_key),
			       sizeof(struct mg_ep_val), n + 8, &o);
	local[n + 0] = pfx("10.1.0.0/16");
	assert_int_equal(mg_dpmaps_sync(&m, &v, NULL), 0);
	/* 100,000 = 0b11000011010100000: six prefixes, and the /16. */
	assert_int_equal(count(m.local4, sizeof(k)), 7);
	assert_int_equal(count(m.ep4, sizeof(k)), (int)n + 1);
	k.addr = htonl(0xac100000);
	assert_int_equal(bpf_map_lookup_elem(m.local4, &k, &ev), 0);
	assert_true(ev.flags & MG_EP_F_LOCAL);
	k.addr = htonl(0xac100000 + 8 * n - 1);
	assert_int_equal(bpf_map_lookup_elem(m.local4, &k, &ev), 0);
	k.addr = htonl(0xac100000 + 8 * n);
	assert_int_not_equal(bpf_map_lookup_elem(m.local4, &k, &ev), 0);
	k.addr = inet_addr("10.1.200.1");
	assert_int_equal(bpf_map_lookup_elem(m.local4, &k, &ev), 0);

	/* Every other /32: nothing merges, 20 do not fit in 16. */
	for (int i = 0; i < 20; i++) {
		local[i].addr.addr[0] = htonl(0xac100000 + 2 * i);
		local[i].len = 32;
	}
	v.n_local = 20;
	assert_int_equal(mg_dpmaps_sync(&m, &v, NULL), -ENOSPC);
	assert_int_equal(count(m.local4, sizeof(k)), 16);
	mg_dpmaps_free(&m);
	close(m.ep4);
	close(m.ep6);
	close(m.clus);
	close(m.peer4);
	close(m.peer6);
	close(m.local4);
	close(m.local6);
	free(local);
}

/*
 * The cache keeps what it wrote packed (neighbours as the bytes they
 * differ in): 200 random syncs of up to 3,000 prefixes (added, dropped,
 * their values changed) against the difference alone, each leaving the map
 * exactly as wanted, with the writes and deletes of that difference only.
 */
static void test_cached_sync_packed(void **state)
{
	enum { N = 4096 };
	static struct mg_ep4_key k[N];
	static struct mg_ep_val v[N];
	static bool in[N], was[N];
	static struct mg_ep_val had[N];
	struct mg_map_cache c = { 0 };
	int fd = hash_map(sizeof(k[0]), sizeof(v[0]), N);
	unsigned int rng = 12345;

	for (int round = 0; round < 200; round++) {
		struct mg_sync_stats st = { 0 };
		unsigned int want_w = 0, want_d = 0;
		size_t n = 0;

		for (int i = 0; i < N; i++) {
			struct mg_ep_val nv = had[i];

			rng = rng * 1103515245 + 12345;
			in[i] = was[i] ? (rng >> 16) % 10 != 0 :
					 (rng >> 16) % 3 == 0;
			if (in[i] && (rng >> 8) % 7 == 0)
				nv = (struct mg_ep_val){
					.cluster_id = 1 + (rng >> 4) % 200,
					.flags = (rng >> 12) & 1,
					.version = rng };
			if (!nv.cluster_id)
				nv.cluster_id = 1;
			if (in[i]) {
				k[n] = (struct mg_ep4_key){
					24 + i % 9,
					htonl(0x0a000000 | (uint32_t)i << 8) };
				v[n] = nv;
				n++;
				want_w += !was[i] || memcmp(&nv, &had[i],
							    sizeof(nv));
				had[i] = nv;
			} else {
				want_d += was[i];
			}
		}
		assert_int_equal(mg_map_sync_cached(fd, "mg_ep4", &c,
				 sizeof(k[0]), sizeof(v[0]), k, v, n, &st), 0);
		assert_true(c.valid);
		if (round) {
			assert_int_equal(st.written, want_w);
			assert_int_equal(st.deleted, want_d);
			/* packed: never more than a record and its bitmap */
			assert_true(c.bytes <= n * (sizeof(k[0]) +
						    sizeof(v[0]) + 2));
		}
		assert_int_equal(count(fd, sizeof(k[0])), n);
		for (size_t j = 0; j < n; j++) {
			struct mg_ep_val got;

			assert_int_equal(bpf_map_lookup_elem(fd, &k[j], &got),
					 0);
			assert_memory_equal(&got, &v[j], sizeof(got));
		}
		memcpy(was, in, sizeof(was));
	}
	free(c.recs);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_slots_spread_over_live),
		cmocka_unit_test(test_reconcile_upserts_then_deletes),
		cmocka_unit_test(test_reconcile_full_map_is_an_error),
		cmocka_unit_test(test_full_map_hint),
		cmocka_unit_test(test_reconcile_full_map_replaced),
		cmocka_unit_test(test_cached_sync_writes_only_the_difference),
		cmocka_unit_test(test_cached_sync_packed),
		cmocka_unit_test(test_sync_view),
		cmocka_unit_test(test_lpm_nested_equal_values),
		cmocka_unit_test(test_sync_nested_prefixes),
		cmocka_unit_test(test_prefix_aggregate),
		cmocka_unit_test(test_local_map_aggregated),
	};

	return cmocka_run_group_tests_name("dpmaps", tests, NULL, NULL);
}
