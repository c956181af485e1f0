// SPDX-License-Identifier: GPL-2.0-only
/* The table runner of the datapath tests: see dptest.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "tc.skel.h"
#include "xdp.skel.h"
#include "lib/dptest.h"
#include "lib/netns.h"

static const char *const reason_name[MG_REASON_MAX] = {
#define X(e, name, cls, desc) [MG_##e] = name,
	MG_REASON_TABLE(X)
#undef X
};

/*
 * The namespace's interfaces in mg_ifs, as the agent describes those it
 * attaches to (mg_dp_describe_if()): mgc0 the cluster side, mgu0 the
 * underlay, and lo (where test_run puts a packet by default) both, with
 * no MAC of its own, so that rows on it may carry any unicast one.
 */
static int dp_ifaces(struct mgt_dp *t)
{
	static const struct {
		const char *name;
		const uint8_t *mac;
		uint8_t roles;
	} ifs[] = {
		{ "lo", NULL, MG_IF_CLUSTER | MG_IF_UNDERLAY },
		{ "mgc0", mgt_cluster_mac, MG_IF_CLUSTER },
		{ "mgu0", mgt_underlay_mac, MG_IF_UNDERLAY },
	};
	int fd = mgt_dp_map(t, "mg_ifs");

	for (size_t i = 0; i < sizeof(ifs) / sizeof(ifs[0]); i++) {
		struct mg_if_val v = { .roles = ifs[i].roles };
		__u32 idx = if_nametoindex(ifs[i].name);

		if (!idx)
			continue;
		if (ifs[i].mac)
			memcpy(v.mac, ifs[i].mac, sizeof(v.mac));
		if (bpf_map_update_elem(fd, &idx, &v, BPF_ANY))
			return -errno;
	}
	return 0;
}

/*
 * MGT_INSNS=1: one line per load on stderr with the instructions the
 * verifier processed for each program (its cost, and how near the 1M
 * limit a setting brings it), for comparing a datapath change before and
 * after; the settings that move it most are named.
 */
static void dp_insns(const struct mgt_dp *t, const struct mg_dp_settings *s)
{
	struct bpf_prog_info xi = { 0 }, ti = { 0 };
	__u32 xl = sizeof(xi), tl = sizeof(ti), t6;

	if (!getenv("MGT_INSNS"))
		return;
	if (bpf_obj_get_info_by_fd(t->prog, &xi, &xl) ||
	    bpf_obj_get_info_by_fd(t->tc_prog, &ti, &tl))
		return;
	t6 = s->tunnel6[0] | s->tunnel6[1] | s->tunnel6[2] | s->tunnel6[3];
	fprintf(stderr, "MGT_INSNS xdp %u tc %u (mss_clamp %u, tunnel6 %s)\n",
		xi.verified_insns, ti.verified_insns, (unsigned)s->mss_clamp,
		t6 ? "set" : "unset");
}

int mgt_dp_load(struct mgt_dp *t, const struct mg_dp_settings *s)
{
	int err = mg_dp_load(&t->dp, s, NULL);

	if (err) {
		fprintf(stderr, "cannot load the datapath: %s\n",
			strerror(-err));
		return -1;
	}
	t->prog = bpf_program__fd(t->dp.skel->progs.mg_xdp);
	t->tc_prog = bpf_program__fd(t->dp.tc->progs.mg_tc_egress);
	t->stats = mg_dp_map_fd(&t->dp, "mg_stats");
	err = dp_ifaces(t);
	if (err) {
		fprintf(stderr, "cannot fill mg_ifs: %s\n", strerror(-err));
		mgt_dp_destroy(t);
		return -1;
	}
	dp_insns(t, s);
	return 0;
}

void mgt_dp_destroy(struct mgt_dp *t)
{
	mg_dp_destroy(&t->dp);
}

int mgt_dp_map(const struct mgt_dp *t, const char *name)
{
	return mg_dp_map_fd(&t->dp, name);
}

void mgt_map_put(int fd, const void *key, const void *val)
{
	if (bpf_map_update_elem(fd, key, val, BPF_ANY))
		fail_msg("map update: %s", strerror(errno));
}

void mgt_dp_put(const struct mgt_dp *t, const char *map, const void *key,
		const void *val)
{
	if (bpf_map_update_elem(mgt_dp_map(t, map), key, val, BPF_ANY))
		fail_msg("%s update: %s", map, strerror(errno));
}

void mgt_ring_set(const struct mgt_dp *t, uint32_t id, uint32_t slot)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mg_ring", 4, 4,
				MG_LB_RING_SIZE, NULL);

	if (fd < 0)
		fail_msg("inner map: %s", strerror(errno));
	for (uint32_t i = 0; i < MG_LB_RING_SIZE; i++)
		mgt_map_put(fd, &i, &slot);
	mgt_dp_put(t, "mg_lbring", &id, &fd);
	close(fd);
}

const char *mgt_verdict_name(int verdict)
{
	static const char *const n[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS",
					 "XDP_TX", "XDP_REDIRECT" };

	return verdict >= 0 && verdict < 5 ? n[verdict] : "?";
}

void mgt_dp_stats(const struct mgt_dp *t, struct mg_stat *sum)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mg_stat v[ncpu];

	for (__u32 r = 0; r < MG_REASON_MAX; r++) {
		assert_int_equal(bpf_map_lookup_elem(t->stats, &r, v), 0);
		sum[r].packets = sum[r].bytes = 0;
		for (int c = 0; c < ncpu; c++) {
			sum[r].packets += v[c].packets;
			sum[r].bytes += v[c].bytes;
		}
	}
}

/*
 * test_run notes (kernel 6.x): without ctx_in the program sees the netns'
 * loopback as ingress; ctx_in with struct xdp_md { .data_end = size,
 * .ingress_ifindex = N } selects any device of the netns.
 */
static int dp_run(const struct mgt_dp *t, int prog, void *ctx, size_t ctx_size,
		  const struct pkt *in, struct pkt *out, enum mg_reason reason)
{
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in->data,
		.data_size_in = in->len,
		.data_out = out->data,
		.data_size_out = sizeof(out->data),
		.repeat = 1,
	);
	struct mg_stat before[MG_REASON_MAX], after[MG_REASON_MAX];
	bool ok = true;

	o.ctx_in = ctx;
	o.ctx_size_in = ctx ? ctx_size : 0;
	mgt_dp_stats(t, before);
	if (bpf_prog_test_run_opts(prog, &o))
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(errno));
	mgt_dp_stats(t, after);
	out->len = o.data_size_out;
	out->n = 0;

	for (int r = 0; r < MG_REASON_MAX && reason != MGT_COUNTS_ANY; r++) {
		__u64 dp = after[r].packets - before[r].packets;
		__u64 db = after[r].bytes - before[r].bytes;
		__u64 wp = r == (int)reason, wb = wp ? out->len : 0;

		if (dp != wp || db != wb) {
			print_error("counter %s: +%llu packets +%llu bytes, "
				    "want +%llu +%llu\n", reason_name[r],
				    (unsigned long long)dp,
				    (unsigned long long)db,
				    (unsigned long long)wp,
				    (unsigned long long)wb);
			ok = false;
		}
	}
	if (!ok)
		fail_msg("reason counters: want %s%s", reason < MG_REASON_MAX ?
			 "exactly one under " : "none",
			 reason < MG_REASON_MAX ? reason_name[reason] : "");
	return o.retval;
}

int mgt_dp_run(const struct mgt_dp *t, const struct pkt *in, struct pkt *out,
	       int ifindex, enum mg_reason reason)
{
	struct xdp_md md = { .data_end = in->len, .ingress_ifindex = ifindex };

	return dp_run(t, t->prog, ifindex ? &md : NULL, sizeof(md), in, out,
		      reason);
}

int mgt_dp_run_tc(const struct mgt_dp *t, const struct pkt *in,
		  struct pkt *out, int ifindex, enum mg_reason reason)
{
	return mgt_dp_run_tc_fwd(t, in, out, ifindex, 0, reason);
}

int mgt_dp_run_tc_fwd(const struct mgt_dp *t, const struct pkt *in,
		      struct pkt *out, int ifindex, int iif,
		      enum mg_reason reason)
{
	struct __sk_buff skb = { .ifindex = ifindex, .ingress_ifindex = iif };

	return dp_run(t, t->tc_prog, ifindex || iif ? &skb : NULL,
		      sizeof(skb), in, out, reason);
}

void mgt_dp_check(const struct mgt_dp *t, const struct pkt *in,
		  struct pkt *out, int ifindex, enum mg_reason reason,
		  int verdict)
{
	int got = mgt_dp_run(t, in, out, ifindex, reason);

	if (got != verdict)
		fail_msg("verdict %s, want %s", mgt_verdict_name(got),
			 mgt_verdict_name(verdict));
}

void mgt_expect_packet(const struct pkt *got, const struct pkt *want,
		       const struct pkt *in)
{
	if (!pkt_diff(got, want, stderr))
		return;
	fprintf(stderr, " in:\n");
	pkt_dump(in, stderr);
	fprintf(stderr, " got:\n");
	pkt_dump(got, stderr);
	fprintf(stderr, " want:\n");
	pkt_dump(want, stderr);
	fail_msg("output packet differs");
}

int mgt_run_table(const char *group, const void *rows, size_t n_rows,
		  size_t row_size, CMUnitTestFunction fn,
		  const struct CMUnitTest *extra, size_t n_extra,
		  CMFixtureFunction setup, CMFixtureFunction teardown)
{
	size_t n = n_rows + n_extra;
	struct CMUnitTest *t = calloc(n, sizeof(*t));
	int failed;

	if (!t) {
		fprintf(stderr, "%s: out of memory\n", group);
		return 1;
	}
	for (size_t i = 0; i < n_rows; i++) {
		const char *row = (const char *)rows + i * row_size;

		t[i].name = *(const char *const *)row;
		t[i].test_func = fn;
		t[i].initial_state = (void *)row;
	}
	for (size_t i = 0; i < n_extra; i++)
		t[n_rows + i] = extra[i];
	failed = _cmocka_run_group_tests(group, t, n, setup, teardown);
	free(t);
	return failed;
}

int mgt_run_fixtures(const void *fixtures, size_t n, size_t size,
		     void (*use)(const void *fixture), CMUnitTestFunction fn,
		     CMFixtureFunction setup, CMFixtureFunction teardown)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		const void *fx = (const char *)fixtures + i * size;
		const struct mgt_group *g = fx;

		use(fx);
		failed += mgt_run_table(g->name, g->rows, g->n_rows,
					g->row_size, fn, g->extra, g->n_extra,
					setup, teardown);
	}
	return failed;
}
