// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_policy: what the cross-cluster policy adds to encapsulation, in
 * nanoseconds per packet under BPF_PROG_TEST_RUN, with 10, 10 000 and
 * 100 000 rules of the destination cluster in the maps.
 *
 *   bench_policy [-n CALLS] [--json FILE]
 *
 * One datapath; for each rule count the agent's compiler (agent/policy.c)
 * fills its maps, then two cases take turns in a random order every
 * round: encap with the policy switched off (mg_polcfg, written between
 * calls, outside the timed run) and encap with it on.  The packet is a
 * TCP ACK of an allowed flow to a destination whose class has rules of
 * every kind (a source cluster, a source prefix, ports), so every lookup
 * is taken: destination LPM, source LPM, port LPM, verdict hash.  The
 * kernel's duration of each call is kept and the median reported.
 *
 *   encap_ns_pol_off      encap, policy off (median over the three runs)
 *   policy_ns_N           encap with N rules
 *   policy_minus_encap_ns_N   the difference, side by side (target <= 30
 *                         at 10 000, flat)
 *   policy_compile_ms_N   the agent's compile, replacing the previous count's
 *   policy_{dst_miss,dst_verdict,dst_src}_ns_N   the ablation (see cases[])
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <meshgate/abi.h>
#include "loader.h"
#include "policy.h"
#include "xdp.skel.h"
#include "lib/netns.h"
#include "lib/pkt.h"

#define OWN_CID 1
#define TUN IP4(192, 0, 2, 1)
#define PEER IP4(192, 0, 2, 2)
#define POD IP4(10, 1, 0, 5)
#define TARGET IP4(10, 128, 0, 9) /* rule 1's destination */

static int fail(const char *what, int err)
{
	fprintf(stderr, "bench_policy: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	return 1;
}

static int put(int fd, const void *k, const void *v)
{
	return bpf_map_update_elem(fd, k, v, BPF_ANY) ? -errno : 0;
}

/*
 * Local 10.1/16; cluster 2 owns 10.128/9, one IPv4 gateway; cluster 3
 * (10.64/10, the same gateway) publishes no policy.
 */
static int fill_maps(struct mg_dp *dp)
{
	struct mg_ep4_key k = { 16, IP4(10, 1, 0, 0) };
	struct mg_ep_val v = { .cluster_id = OWN_CID, .flags = MG_EP_F_LOCAL };
	struct mg_cluster_val cv = { .n_gw = 1 };
	struct mg_nh_val nv = { .ifindex = 1, .mtu = 1500 };
	__u32 cid = 2, addr = PEER;

	cv.gw[0].family = MG_AF_INET;
	cv.gw[0].addr[0] = PEER;
	memcpy(nv.dmac, "\x02\0\0\0\0\x02", 6);
	return put(mg_dp_map_fd(dp, "mg_ep4"), &k, &v)		  ?:
		       put(mg_dp_map_fd(dp, "mg_local4"), &k, &v) ?:
		       put(mg_dp_map_fd(dp, "mg_ifs"), &(__u32){ 1 }, &(struct mg_if_val){ .roles = MG_IF_CLUSTER | MG_IF_UNDERLAY }) ?:
		       put(mg_dp_map_fd(dp, "mg_ep4"), &(struct mg_ep4_key){ 9, IP4(10, 128, 0, 0) }, &(struct mg_ep_val){ .cluster_id = 2 }) ?:
		       put(mg_dp_map_fd(dp, "mg_clus"), &cid, &cv) ?:
		       put(mg_dp_map_fd(dp, "mg_ep4"), &(struct mg_ep4_key){ 10, IP4(10, 64, 0, 0) }, &(struct mg_ep_val){ .cluster_id = 3 }) ?:
		       put(mg_dp_map_fd(dp, "mg_clus"), &(__u32){ 3 }, &cv) ?:
		       put(mg_dp_map_fd(dp, "mg_peer4"), &addr, &(struct mg_peer_val){ .cluster_id = 2 }) ?:
		       put(mg_dp_map_fd(dp, "mg_nh4_v2"), &addr, &nv);
}

static int resolve(const char *name, void *arg)
{
	return atoi(name);
}

/*
 * n rules of cluster 2: three on the target (a source cluster, a source
 * prefix, ports), the rest each on a /32 of its own across 10.128/9,
 * mixing the kinds.
 */
static int compile(const struct mg_pol_maps *m, int n, double *ms)
{
	struct mg_prefix own;
	struct mg_pol_set set = { .owner = 2,
				  .def_in = MG_POL_DENY,
				  .prefixes = &own,
				  .n_prefixes = 1 };
	struct mg_pol_stats st;
	struct timespec a, b;
	char text[MG_POL_TEXT_MAX], err[160];
	int rc;

	mg_prefix_parse("10.128.0.0/9", &own);
	set.rules = calloc((size_t)n, sizeof(*set.rules));
	if (!set.rules)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		__u32 h = 0x0a800000u + 16 + (__u32)i * 7;
		char dst[32];

		snprintf(dst, sizeof(dst), "%u.%u.%u.%u/32", h >> 24,
			 (h >> 16) & 255, (h >> 8) & 255, h & 255);
		if (i == 0)
			snprintf(
				text, sizeof(text),
				"1 allow from cluster 1 to 10.128.0.9/32 proto tcp port 80");
		else if (i == 1)
			snprintf(
				text, sizeof(text),
				"2 deny from 10.1.1.0/24 to 10.128.0.9/32 proto tcp port 80");
		else if (i == 2)
			snprintf(
				text, sizeof(text),
				"3 deny from any to 10.128.0.9/32 proto udp port 1000-2000");
		else if (i == 3)
			/* The ablation's destinations (10.128.0.10-12). */
			snprintf(text, sizeof(text),
				 "4 allow from any to 10.128.0.10/32");
		else if (i == 4)
			snprintf(text, sizeof(text),
				 "5 allow from cluster 1 to 10.128.0.11/32");
		else if (i == 5)
			snprintf(text, sizeof(text),
				 "6 allow from 10.1.0.0/16 to 10.128.0.12/32");
		else if (i % 3 == 0)
			snprintf(
				text, sizeof(text),
				"%d allow from cluster %d to %s proto tcp port %d",
				i + 1, 1 + i % 9, dst, 1 + i % 60000);
		else if (i % 3 == 1)
			snprintf(text, sizeof(text),
				 "%d deny from 10.%d.0.0/16 to %s", i + 1,
				 i % 250, dst);
		else
			snprintf(text, sizeof(text),
				 "%d allow from any to %s proto udp port %d-%d",
				 i + 1, dst, i % 1000, i % 1000 + 100);
		if (mg_pol_rule_parse(text, &set.rules[i], err, sizeof(err))) {
			fprintf(stderr, "bench_policy: %s: %s\n", text, err);
			free(set.rules);
			return -EINVAL;
		}
	}
	set.n = n;
	rc = mg_pol_resolve(&set, resolve, NULL, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = rc ?: mg_pol_compile(&set, 1, MG_POL_ALLOW, m, NULL, &st);
	clock_gettime(CLOCK_MONOTONIC, &b);
	*ms = (double)(b.tv_sec - a.tv_sec) * 1e3 +
	      (double)(b.tv_nsec - a.tv_nsec) / 1e6;
	free(set.rules);
	return rc;
}

static int set_on(int cfg_fd, bool on)
{
	struct mg_pol_cfg c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(cfg_fd, &zero, &c))
		return -errno;
	c.flags = on ? MG_POL_CFG_ON : 0;
	return put(cfg_fd, &zero, &c);
}

static int run_once(int prog, struct pkt *p, __u32 *ns, int *verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data,
		    .data_size_in = p->len, .repeat = 1, );

	if (bpf_prog_test_run_opts(prog, &o))
		return -errno;
	*ns = o.duration;
	*verdict = (int)o.retval;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static double median(__u32 *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/*
 * The packets, each timed beside itself with the policy off; case 0 is
 * the figure, the others the ablation (what each lookup costs): the
 * extra over encap of
 *   dst_miss_ns      a destination no rule names (cluster 3 has no
 *                    policy): the query, the destination lookup, missing
 *   dst_verdict_ns   a class whose rules name nothing else (rule 4): the
 *                    destination lookup and the verdict's
 *   dst_src_ns       ... and a source prefix (rule 6): plus the source
 *                    lookup
 * and case 0 (rules 1-3) adds the port lookup and the cluster's bitmap.
 */
#define NCASES 4
static const struct {
	const char *name;
	__u32 dst;
} cases[NCASES] = {
	{ "all", TARGET },
	{ "dst_miss", IP4(10, 64, 0, 9) },
	{ "dst_verdict", IP4(10, 128, 0, 10) },
	{ "dst_src", IP4(10, 128, 0, 12) },
};

int main(int argc, char **argv)
{
	static int counts[] = { 10, 10000, 100000 };
	static const char *const names[] = { "10", "10k", "100k" };
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "calls", required_argument, NULL, 'n' },
		{ "rules", required_argument, NULL, 'r' },
		{ 0 },
	};
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.vxlan_port = MG_VXLAN_PORT_DEFAULT,
		.cluster_id = OWN_CID,
		.nh_table = true,
		.udp6_csum = true,
	};
	double off[3][NCASES], on[3][NCASES], cms[3], all_off;
	bool skipped[3] = { false };
	long nm = 0;
	static const uint8_t ma[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t mb[6] = { 0x02, 0, 0, 0, 0, 2 };
	__u32 *ns_off = NULL, *ns_on = NULL, *ns_all = NULL;
	const char *json = NULL;
	long calls = 20000;
	unsigned int seed = 1;
	struct mg_pol_maps m;
	struct mgt_topo topo;
	struct mg_dp dp = { 0 };
	struct pkt p[NCASES];
	int err, opt, prog, rc = 1, want = -1, v = 0;
	FILE *f;

	while ((opt = getopt_long(argc, argv, "j:n:r:", opts, NULL)) != -1) {
		if (opt == 'r') {
			/* One count for all three runs: for a profiler. */
			counts[0] = counts[1] = counts[2] = atoi(optarg);
			if (counts[0] < 6 || counts[0] > 200000)
				return fail("-r", EINVAL);
		} else if (opt == 'j') {
			json = optarg;
		} else if (opt == 'n') {
			calls = strtol(optarg, NULL, 10);
			if (calls < 1 || calls > 10000000)
				return fail("-n", EINVAL);
		} else {
			fprintf(stderr,
				"usage: bench_policy [-n CALLS] [--json FILE]\n");
			return 2;
		}
	}
	err = mgt_netns_topo(&topo);
	if (err)
		return fail("network namespace", err);
	err = mg_dp_load(&dp, &s, NULL);
	if (err)
		return fail("loading the datapath", err);
	err = fill_maps(&dp);
	if (err) {
		fail("filling the maps", err);
		goto out;
	}
	m = (struct mg_pol_maps){
		.dst4 = mg_dp_map_fd(&dp, "mg_pold4"),
		.dst6 = mg_dp_map_fd(&dp, "mg_pold6"),
		.src4 = mg_dp_map_fd(&dp, "mg_pols4"),
		.src6 = mg_dp_map_fd(&dp, "mg_pols6"),
		.port = mg_dp_map_fd(&dp, "mg_polp"),
		.verdict = mg_dp_map_fd(&dp, "mg_polv"),
		.cfg = mg_dp_map_fd(&dp, "mg_polcfg"),
	};
	prog = bpf_program__fd(dp.skel->progs.mg_xdp);
	for (int c = 0; c < NCASES; c++) {
		pkt_init(&p[c]);
		pkt_eth(&p[c], ma, mb, ETH_P_IP);
		pkt_ip4(&p[c], &(struct pkt_ip4){ .saddr = POD,
						  .daddr = cases[c].dst,
						  .proto = IPPROTO_TCP,
						  .ttl = 64,
						  .frag_off = 0x4000 });
		pkt_tcp(&p[c], 40000, 80, 0x10);
		pkt_data(&p[c], 64, 1);
		pkt_finish(&p[c]);
	}
	ns_off = calloc((size_t)calls * NCASES, sizeof(*ns_off));
	ns_on = calloc((size_t)calls * NCASES, sizeof(*ns_on));
	ns_all = calloc((size_t)calls * 3, sizeof(*ns_all));
	if (!ns_off || !ns_on || !ns_all) {
		fail("memory", ENOMEM);
		goto out;
	}
	for (int r = 0; r < 3; r++) {
		err = compile(&m, counts[r], &cms[r]);
		skipped[r] = err == -E2BIG;
		if (skipped[r]) {
			/* Past the maps' bounds (limits.h): no figure. */
			fprintf(stderr,
				"bench_policy: %d rules: past the maps' bounds, not measured\n",
				counts[r]);
			continue;
		}
		if (err) {
			fail("compiling the rules", err);
			goto out;
		}
		for (long i = 0; i < calls; i++) {
			for (int c = 0; c < NCASES; c++) {
				int first = rand_r(&seed) & 1;

				for (int k = 0; k < 2; k++) {
					bool pol = k ^ first;
					long at = c * calls + i;

					err = set_on(m.cfg, pol);
					err = err   ?:
						      run_once(
							      prog, &p[c],
							      pol ? &ns_on[at] :
								    &ns_off[at],
							      &v);
					if (err) {
						fail("running", err);
						goto out;
					}
					/* Allowed and sent: the same verdict. */
					if (want < 0)
						want = v;
					if (v != want) {
						fprintf(stderr,
							"bench_policy: %s: verdict %d, want %d (policy %s)\n",
							cases[c].name, v, want,
							pol ? "on" : "off");
						goto out;
					}
				}
			}
		}
		memcpy(ns_all + nm++ * calls, ns_off,
		       (size_t)calls * sizeof(*ns_off));
		for (int c = NCASES - 1; c >= 0; c--) {
			off[r][c] = median(ns_off + c * calls, calls);
			on[r][c] = median(ns_on + c * calls, calls);
		}
	}
	all_off = nm ? median(ns_all, calls * nm) : 0;
	printf("%-34s %10s\n", "figure", "ns");
	printf("%-34s %10.1f\n", "encap_ns_pol_off", all_off);
	for (int r = 0; r < 3; r++) {
		if (skipped[r])
			continue;
		printf("policy_ns_%-24s %10.1f\n", names[r], on[r][0]);
		printf("policy_minus_encap_ns_%-12s %10.1f  (off %.1f beside it)\n",
		       names[r], on[r][0] - off[r][0], off[r][0]);
		printf("policy_compile_ms_%-16s %10.1f\n", names[r], cms[r]);
		for (int c = 1; c < NCASES; c++)
			printf("policy_%s_ns_%-*s %10.1f\n", cases[c].name,
			       (int)(21 - strlen(cases[c].name)), names[r],
			       on[r][c] - off[r][c]);
	}
	if (json) {
		f = strcmp(json, "-") ? fopen(json, "w") : stdout;
		if (!f) {
			fail(json, errno);
			goto out;
		}
		fprintf(f, "{\"encap_ns_pol_off\": %.1f", all_off);
		for (int r = 0; r < 3; r++) {
			if (skipped[r])
				continue;
			fprintf(f,
				", \"policy_ns_%s\": %.1f, \"policy_minus_encap_ns_%s\": %.1f, \"policy_compile_ms_%s\": %.1f",
				names[r], on[r][0], names[r],
				on[r][0] - off[r][0], names[r], cms[r]);
			for (int c = 1; c < NCASES; c++)
				fprintf(f, ", \"policy_%s_ns_%s\": %.1f",
					cases[c].name, names[r],
					on[r][c] - off[r][c]);
		}
		fprintf(f, "}\n");
		if (f != stdout)
			fclose(f);
	}
	rc = 0;
out:
	free(ns_off);
	free(ns_on);
	free(ns_all);
	mg_dp_destroy(&dp);
	return rc;
}
