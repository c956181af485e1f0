// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's view -> map programming, against real BPF maps (root).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_slots_spread_over_live),
		cmocka_unit_test(test_reconcile_upserts_then_deletes),
		cmocka_unit_test(test_reconcile_full_map_is_an_error),
		cmocka_unit_test(test_cached_sync_writes_only_the_difference),
		cmocka_unit_test(test_sync_view),
	};

	return cmocka_run_group_tests_name("dpmaps", tests, NULL, NULL);
}
