// SPDX-License-Identifier: GPL-2.0-only
/*
 * The view policy (agent/mesh/policy.h) without sockets or maps: members
 * with their tags, state and datapaths' word in, the view out.  Our own
 * gateway is "a1" of cluster a (id 1, 10.1.0.0/16); the others are built
 * per test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "dpmaps.h"
#include "serf/tags.h"
#include "mesh/policy.h"

#define SEC 1000000ull
#define MAX_MEMBERS 8

struct gw {
	const char *name, *cluster, *id, *tunnel, *mode;
	const char *prefix[2];
	enum mg_member_state state;
	uint64_t died_s; /* state_change, seconds */
	enum mg_echo_state echo;
	bool no_state; /* its state not arrived yet */
};

static struct mg_config cfg;
static struct mesh_policy pol;
static struct mg_view view;
static struct mg_prefix own[1];
static char logged[4096];
static bool dp_cut; /* every probed datapath silent */

static void capture(enum mg_log_level level, const char *fmt, ...)
{
	size_t n = strlen(logged);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(logged + n, sizeof(logged) - n, fmt, ap);
	va_end(ap);
	n = strlen(logged);
	if (n + 1 < sizeof(logged))
		strcpy(logged + n, "\n");
}

static int setup(void **state)
{
	memset(&cfg, 0, sizeof(cfg));
	mg_config_defaults(&cfg);
	snprintf(cfg.cluster_name, sizeof(cfg.cluster_name), "a");
	cfg.cluster_id = 1;
	cfg.hold_time = 60;
	assert_int_equal(mg_addr_parse("192.0.2.1", &cfg.tunnel), 0);
	cfg.tunnels[0] = cfg.tunnel;
	cfg.n_tunnels = 1;
	assert_int_equal(mg_prefix_parse("10.1.0.0/16", &own[0]), 0);
	memset(&pol, 0, sizeof(pol));
	pol.log = capture;
	logged[0] = 0;
	dp_cut = false;
	return 0;
}

static int teardown(void **state)
{
	mesh_policy_free(&pol);
	return 0;
}

/* One build at @now_s of the gateways @g (in the order gossip met them). */
static void build(const struct gw *g, int n, uint64_t now_s)
{
	static struct mesh_member m[MAX_MEMBERS];
	static struct mg_ml_meta meta[MAX_MEMBERS];
	static struct mg_prefix pfx[MAX_MEMBERS][2];
	struct mesh_policy_in in = {
		.cfg = &cfg,
		.gossip = true,
		.members = m,
		.n_members = n,
		.local = own,
		.n_local = 1,
		.now = now_s * SEC,
	};

	assert_true(n <= MAX_MEMBERS);
	memset(m, 0, sizeof(m));
	for (int i = 0; i < n; i++) {
		struct mg_tag t[] = {
			{ "role", "meshgate" },	   { "cluster", g[i].cluster },
			{ "cluster_id", g[i].id }, { "tunnel", g[i].tunnel },
			{ "mode", g[i].mode },
		};

		assert_int_equal(mg_tags_encode(t, g[i].mode ? 5 : 4, &meta[i]),
				 0);
		m[i].info.name = g[i].name;
		assert_int_equal(mg_addr_parse(g[i].tunnel, &m[i].info.addr),
				 0);
		m[i].info.meta = meta[i].data;
		m[i].info.meta_len = meta[i].len;
		m[i].info.state = g[i].state;
		m[i].info.state_change = g[i].died_s * SEC;
		m[i].info.rtt_us = -1;
		m[i].origin = g[i].no_state ? -1 : i;
		for (int j = 0; j < 2 && g[i].prefix[j]; j++) {
			assert_int_equal(
				mg_prefix_parse(g[i].prefix[j], &pfx[i][j]), 0);
			m[i].n_prefixes = j + 1;
		}
		m[i].prefixes = pfx[i];
	}
	assert_int_equal(mesh_policy_rows(&pol, &in), 0);
	/* the datapaths' word, as the liveness probes would give it */
	for (int i = 0; i < pol.n_rows; i++)
		for (int k = 0; k < n; k++)
			if (!strcmp(pol.rows[i].name, g[k].name))
				pol.rows[i].echo = g[k].echo;
	in.dp_cut_off = dp_cut;
	assert_int_equal(mesh_policy_view(&pol, &in, &view), 0);
}

static const struct mg_view_gw *vgw(const char *name)
{
	for (int i = 0; i < view.n_gw; i++)
		if (!strcmp(view.gw[i].name, name))
			return &view.gw[i];
	return NULL;
}

static const struct row *row(const char *name)
{
	for (int i = 0; i < pol.n_rows; i++)
		if (!strcmp(pol.rows[i].name, name))
			return &pol.rows[i];
	return NULL;
}

#define ALIVE MG_MEMBER_ALIVE
#define DEAD MG_MEMBER_DEAD

/* Two clusters claim one prefix: the one gossip met first keeps it. */
static void test_conflict_two_clusters_one_prefix(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
		{ .name = "c1",
		  .cluster = "c",
		  .id = "3",
		  .tunnel = "192.0.2.3",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
	};

	build(g, 2, 100);
	assert_non_null(vgw("b1"));
	assert_true(vgw("b1")->alive);
	assert_null(vgw("c1"));
	assert_non_null(row("c1")->conflict);
	assert_non_null(strstr(row("c1")->conflict, "overlaps cluster 2"));
	assert_non_null(strstr(logged, "gateway c1 refused"));
	/* said once; the memory of who came first holds on the next build */
	logged[0] = 0;
	build(g, 2, 101);
	assert_null(vgw("c1"));
	assert_null(strstr(logged, "refused"));
	/* the first one gone, the conflict goes with it */
	build(&g[1], 1, 102);
	assert_non_null(vgw("c1"));
	assert_non_null(strstr(logged, "gateway c1 accepted"));
}

/* Cluster names and ids agree with ours and with the earlier gateways. */
static void test_conflict_ids(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
		/* cluster b under another id */
		{ .name = "x1",
		  .cluster = "b",
		  .id = "4",
		  .tunnel = "192.0.2.4",
		  .prefix = { "10.4.0.0/16" },
		  .state = ALIVE },
		/* our id under another name */
		{ .name = "y1",
		  .cluster = "y",
		  .id = "1",
		  .tunnel = "192.0.2.5",
		  .prefix = { "10.5.0.0/16" },
		  .state = ALIVE },
		/* tags that do not parse */
		{ .name = "z1",
		  .cluster = "z",
		  .id = "300",
		  .tunnel = "192.0.2.6",
		  .prefix = { "10.6.0.0/16" },
		  .state = ALIVE },
	};

	build(g, 4, 100);
	assert_int_equal(view.n_gw, 1);
	assert_non_null(vgw("b1"));
	assert_non_null(strstr(row("x1")->conflict, "earlier gateway"));
	assert_non_null(strstr(row("y1")->conflict, "disagrees with ours"));
	assert_non_null(strstr(row("z1")->conflict, "malformed"));
}

/* Prefixes overlap across clusters: ours and the earlier one win. */
static void test_overlaps(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
		/* b's sibling: the same cluster may overlap itself */
		{ .name = "b2",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.7",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
		/* inside b's */
		{ .name = "c1",
		  .cluster = "c",
		  .id = "3",
		  .tunnel = "192.0.2.3",
		  .prefix = { "10.2.5.0/24" },
		  .state = ALIVE },
		/* inside ours: ours wins whoever came first */
		{ .name = "d1",
		  .cluster = "d",
		  .id = "4",
		  .tunnel = "192.0.2.4",
		  .prefix = { "10.1.7.0/24" },
		  .state = ALIVE },
		/* next to b's, not inside */
		{ .name = "e1",
		  .cluster = "e",
		  .id = "5",
		  .tunnel = "192.0.2.8",
		  .prefix = { "10.3.0.0/16" },
		  .state = ALIVE },
	};

	build(g, 5, 100);
	assert_non_null(vgw("b1"));
	assert_non_null(vgw("b2"));
	assert_non_null(vgw("e1"));
	assert_null(vgw("c1"));
	assert_null(vgw("d1"));
	assert_non_null(strstr(row("c1")->conflict, "10.2.5.0/24"));
	assert_non_null(strstr(row("d1")->conflict, "overlaps cluster 1"));
	assert_int_equal(view.n_gw, 3);
}

/* A static peer of the configuration outranks every gossiped gateway. */
static void test_static_peer_wins(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
	};
	struct mg_cfg_peer *p = &cfg.peers[cfg.n_peers++];

	snprintf(p->name, sizeof(p->name), "s1");
	snprintf(p->cluster, sizeof(p->cluster), "s");
	p->cluster_id = 9;
	assert_int_equal(mg_addr_parse("192.0.2.9", &p->tunnel), 0);
	assert_int_equal(mg_prefix_parse("10.2.0.0/20", &p->cidrs[0]), 0);
	p->n_cidrs = 1;
	build(g, 1, 100);
	assert_non_null(vgw("s1"));
	assert_true(vgw("s1")->alive);
	assert_null(vgw("b1"));
	assert_int_equal(row("s1")->state, GW_STATIC);
}

/* Every peer silent at once: it is us who are cut off; keep the view. */
static void test_fail_static(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
		{ .name = "c1",
		  .cluster = "c",
		  .id = "3",
		  .tunnel = "192.0.2.3",
		  .prefix = { "10.3.0.0/16" },
		  .state = ALIVE },
	};

	build(g, 2, 100);
	assert_true(vgw("b1")->alive && vgw("c1")->alive);
	/* b1 dies 10 s before c1: the first death looks like b1's alone */
	g[0].state = DEAD;
	g[0].died_s = 200;
	build(g, 2, 500);
	assert_false(vgw("b1")->alive);
	assert_true(vgw("c1")->alive);
	/* c1 dies at 210: both dead, we are cut off; b1's death was part
	 * of it, so both are kept as before b1 died */
	g[1].state = DEAD;
	g[1].died_s = 210;
	build(g, 2, 210);
	assert_non_null(strstr(logged, "cut off from every peer gateway"));
	assert_non_null(strstr(logged, "keeping b1"));
	assert_true(vgw("b1")->alive);
	assert_true(vgw("c1")->alive);
	assert_true(pol.cut_off);
	/* still cut off long after: nothing is withdrawn */
	build(g, 2, 5000);
	assert_true(vgw("b1")->alive && vgw("c1")->alive);
	/* c1 answers again: the cut is over, b1 is dead */
	g[1].state = ALIVE;
	build(g, 2, 5001);
	assert_false(pol.cut_off);
	assert_non_null(strstr(logged, "peers reachable again"));
	assert_true(vgw("c1")->alive);
	assert_false(vgw("b1")->alive);
}

/*
 * Cut off, the datapaths fall silent at once while gossip declares the
 * peers dead one by one: a death then changes nothing.
 */
static void test_fail_static_datapaths_silent(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
		{ .name = "c1",
		  .cluster = "c",
		  .id = "3",
		  .tunnel = "192.0.2.3",
		  .prefix = { "10.3.0.0/16" },
		  .state = ALIVE },
	};

	build(g, 2, 100);
	dp_cut = true;
	g[0].state = DEAD;
	g[0].died_s = 100;
	build(g, 2, 200);
	assert_false(pol.cut_off);
	assert_true(vgw("b1")->alive);
	assert_non_null(strstr(logged, "we seem cut off"));
	/* the datapaths answer again: b1's death counts */
	dp_cut = false;
	build(g, 2, 201);
	assert_false(vgw("b1")->alive);
}

/* A gateway dead long before the cut is not revived by it. */
static void test_fail_static_old_death(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = DEAD,
		  .died_s = 100 },
		{ .name = "c1",
		  .cluster = "c",
		  .id = "3",
		  .tunnel = "192.0.2.3",
		  .prefix = { "10.3.0.0/16" },
		  .state = ALIVE },
	};

	build(g, 2, 100);
	build(g, 2, 1000);
	assert_false(vgw("b1")->alive);
	g[1].state = DEAD;
	g[1].died_s = 1000;
	build(g, 2, 1000);
	assert_true(pol.cut_off);
	assert_false(vgw("b1")->alive);
	assert_true(vgw("c1")->alive);
}

/* One gateway of a two-gateway cluster dead: its sibling takes it all. */
static void test_sibling_failover(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
		{ .name = "b2",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.7",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
		{ .name = "c1",
		  .cluster = "c",
		  .id = "3",
		  .tunnel = "192.0.2.3",
		  .prefix = { "10.3.0.0/16" },
		  .state = ALIVE },
	};
	struct mg_cluster_val cl;

	build(g, 3, 100);
	assert_int_equal(mg_cluster_build(&view, 2, &cl), 2);
	/* b1's agent dead and its datapath silent: withdrawn at once */
	g[0].state = DEAD;
	g[0].died_s = 200;
	g[0].echo = MG_ECHO_DOWN;
	build(g, 3, 201);
	assert_false(vgw("b1")->alive);
	assert_false(vgw("b1")->accept);
	assert_true(vgw("b2")->alive);
	assert_int_equal(mg_cluster_build(&view, 2, &cl), 1);
	assert_non_null(strstr(logged, "gateway b1 dead"));
	/* its agent dead, its datapath answering: kept for hold_time */
	g[0].echo = MG_ECHO_UP;
	build(g, 3, 230);
	assert_true(vgw("b1")->alive);
	assert_true(vgw("b1")->accept);
	assert_int_equal(pol.hold_next_ms, 30 * 1000 + 10);
	build(g, 3, 260);
	assert_false(vgw("b1")->alive);
	assert_true(vgw("b1")->accept);
	assert_int_equal(mg_cluster_build(&view, 2, &cl), 1);
}

/* Our own cluster's gateways: not remote, their prefixes ours too. */
static void test_own_siblings(void **state)
{
	struct gw g[] = {
		{ .name = "a2",
		  .cluster = "a",
		  .id = "1",
		  .tunnel = "192.0.2.12",
		  .prefix = { "10.1.0.0/16", "10.9.0.0/24" },
		  .state = ALIVE },
		{ .name = "a3",
		  .cluster = "a",
		  .id = "1",
		  .tunnel = "192.0.2.13",
		  .prefix = { "10.9.0.0/24" },
		  .state = DEAD,
		  .died_s = 50 },
	};
	char s[MG_PREFIXSTRLEN];

	build(g, 2, 100);
	assert_int_equal(view.n_gw, 0);
	assert_true(row("a2")->sibling);
	/* ours and a2's and dead a3's, sorted and unique */
	assert_int_equal(view.n_local, 2);
	mg_prefix_str(&view.local[1], s, sizeof(s));
	assert_string_equal(s, "10.9.0.0/24");
	assert_false(pol.cut_off); /* siblings do not count */
}

/* State of gateways that are gone: left, forgotten, not arrived yet. */
static void test_stale_state(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = MG_MEMBER_LEFT,
		  .died_s = 90 },
		{ .name = "c1",
		  .cluster = "c",
		  .id = "3",
		  .tunnel = "192.0.2.3",
		  .prefix = { "10.3.0.0/16" },
		  .state = DEAD,
		  .died_s = 90 },
		{ .name = "d1",
		  .cluster = "d",
		  .id = "4",
		  .tunnel = "192.0.2.4",
		  .prefix = { "10.4.0.0/16" },
		  .state = ALIVE },
	};

	/* left: never up, its traffic not taken, whatever its datapath says */
	g[0].echo = MG_ECHO_UP;
	build(g, 3, 100);
	assert_false(vgw("b1")->alive);
	assert_false(vgw("b1")->accept);
	/* forgotten (peers forget, forget_after): out while it is dead */
	mesh_policy_seen(&pol, "c1")->forgotten = true;
	build(g, 3, 101);
	assert_null(row("c1"));
	assert_null(vgw("c1"));
	/* ... back once it is alive again */
	g[1].state = ALIVE;
	build(g, 3, 102);
	assert_non_null(vgw("c1"));
	assert_true(vgw("c1")->alive);
	assert_false(mesh_policy_seen(&pol, "c1")->forgotten);
	/* alive with no state yet: in the view without prefixes */
	g[2].no_state = true;
	g[2].prefix[0] = NULL;
	build(g, 3, 103);
	assert_int_equal(row("d1")->origin, -1);
	assert_int_equal(vgw("d1")->n_prefixes, 0);
}

/* Drain: withdrawn from the slots, its tunnel traffic still taken. */
static void test_drain(void **state)
{
	struct gw g[] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .mode = "draining",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
		{ .name = "b2",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.7",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
	};
	struct mg_cluster_val cl;

	build(g, 2, 100);
	assert_false(vgw("b1")->alive);
	assert_true(vgw("b1")->accept);
	assert_true(row("b1")->draining);
	assert_true(vgw("b2")->alive);
	assert_int_equal(mg_cluster_build(&view, 2, &cl), 1);
	/* a draining gateway that dies is not held */
	g[0].state = DEAD;
	g[0].died_s = 100;
	g[0].echo = MG_ECHO_UP;
	build(g, 2, 101);
	assert_false(vgw("b1")->alive);
	/* a restarting one is, while its datapath answers */
	g[0].mode = "restarting";
	build(g, 2, 102);
	assert_true(vgw("b1")->alive);
	assert_true(row("b1")->restarting);
}

/*
 * Names made up faster than the member table reaps them (issue 9): the
 * memory of names stays within its bound by evicting names that no
 * member of the last two builds carries, while a member present all along
 * keeps its first sighting, and with it the prefix it won.
 */
static void test_seen_bounded(void **state)
{
	static char names[3][16];
	struct gw g[4] = {
		{ .name = "b1",
		  .cluster = "b",
		  .id = "2",
		  .tunnel = "192.0.2.2",
		  .prefix = { "10.2.0.0/16" },
		  .state = ALIVE },
	};

	pol.seen_max = 8;
	for (int round = 0; round < 100; round++) {
		for (int i = 0; i < 3; i++) {
			snprintf(names[i], sizeof(names[i]), "x%d",
				 round * 3 + i);
			g[1 + i] = (struct gw){ .name = names[i],
						.cluster = "c",
						.id = "3",
						.tunnel = "192.0.2.3",
						.prefix = { "10.2.0.0/16" },
						.state = ALIVE };
		}
		build(g, 4, 100 + round);
		assert_true(pol.n_seen <= 8);
		assert_non_null(vgw("b1"));
		assert_true(vgw("b1")->alive);
		assert_null(vgw(names[0]));
		assert_non_null(row(names[0])->conflict);
	}
	/* 301 names met, at most 8 held: the others evicted, none refused */
	assert_true(pol.seen_evicted >= 300 - 8);
	assert_int_equal(pol.seen_refused, 0);
	assert_int_equal(mesh_policy_seen_find(&pol, "x0"), -1);
	assert_true(mesh_policy_seen_find(&pol, "b1") >= 0);

	/* More names in one build than the bound: the rest are counted. */
	mesh_policy_free(&pol);
	pol.log = capture;
	pol.seen_max = 2;
	build(g, 4, 300);
	assert_true(pol.n_seen <= 2);
	assert_true(pol.seen_refused > 0);
	assert_non_null(vgw("b1"));
	assert_true(vgw("b1")->alive);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_conflict_two_clusters_one_prefix),
		T(test_conflict_ids),
		T(test_overlaps),
		T(test_static_peer_wins),
		T(test_fail_static),
		T(test_fail_static_datapaths_silent),
		T(test_fail_static_old_death),
		T(test_sibling_failover),
		T(test_own_siblings),
		T(test_stale_state),
		T(test_drain),
		T(test_seen_bounded),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
