// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_pfxencap [--json FILE] [-n CALLS] [--rounds R]: the XDP datapath's
 * encapsulation at 10k, 100k and 1M remote IPv4 prefixes (issue 9: the same
 * per-packet cost at a million), side by side in one process.
 *
 * Three datapaths are loaded, each with its own maps (mg_ep4 sized for its
 * prefixes) holding N prefixes compiled into the prefix table the agent
 * publishes (agent/prefix.c), as a gateway with [limits] prefix_lookup =
 * table has them: 95% /24s and 5% /26s (a /26 takes the table's third
 * level), over 8 remote clusters.  Each call is one packet (repeat = 1, so
 * nothing has to be restored) to the next of 65,536 destinations drawn at
 * random from that datapath's prefixes: the walk is spread over the whole
 * table, not one cached path.  The cases (xdp_pass, encap 10k, 100k, 1M)
 * take turns in a new random order every round; the kernel's duration of
 * each call is kept and the median over the calls of a round taken, then
 * the median of the rounds.
 *
 * Figures (ns per packet over xdp_pass): encap_10k_ns, encap_100k_ns,
 * encap_1m_ns; encap_1m_vs_10k, encap_100k_vs_10k (target <= 1.10), each
 * with its spread over the rounds (_min, _max).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <meshgate/abi.h>
#include "loader.h"
#include "prefix.h"
#include "xdp.skel.h"
#include "pass.skel.h"
#include "lib/netns.h"
#include "lib/pkt.h"

#define N_SIZES 3
#define N_CLUSTERS 8 /* remote clusters 2..9 */
#define OWN_CID 1
#define TUN IP4(192, 0, 2, 1)
#define PEER IP4(192, 0, 2, 2)
#define POD IP4(10, 1, 0, 5)
#define NDST 65536
#define MAX_ROUNDS 20

static const __u32 sizes[N_SIZES] = { 10000, 100000, 1000000 };
static const char *const size_names[N_SIZES] = { "10k", "100k", "1m" };

static __u64 rng = 0x853c49e6748fea9bull;

static __u32 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (__u32)(rng >> 16);
}

/* Prefix i: (32 + i / 65536).(i / 256 % 256).(i % 256).0, a /26 every 20th. */
static __u32 prefix_addr(__u32 i)
{
	return (32u + i / 65536) << 24 | (i / 256 % 256) << 16 | (i % 256) << 8;
}

static __u32 prefix_len(__u32 i)
{
	return i % 20 == 0 ? 26 : 24;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "bench_pfxencap: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	return 1;
}

static int put(int fd, const void *k, const void *v)
{
	return bpf_map_update_elem(fd, k, v, BPF_ANY) ? -errno : 0;
}

/* N prefixes in mg_ep4 and in the published table; one IPv4 gateway each. */
static int fill(struct mg_dp *dp, __u32 n)
{
	struct mg_pfx_maps pm = {
		.gen = mg_dp_map_fd(dp, "mg_pfx_gen"),
		.ans = mg_dp_map_fd(dp, "mg_pfx_ans"),
		.l1 = mg_dp_map_fd(dp, "mg_pfx4_l1"),
		.l2 = mg_dp_map_fd(dp, "mg_pfx4_l2"),
		.l3 = mg_dp_map_fd(dp, "mg_pfx4_l3"),
	};
	int ep = mg_dp_map_fd(dp, "mg_ep4");
	struct mg_ep4_key *k = calloc(n + 1, sizeof(*k));
	struct mg_ep_val *v = calloc(n + 1, sizeof(*v));
	struct mg_cluster_val cv = { .n_gw = 1 };
	struct mg_peer_val pv = { .cluster_id = 2 };
	struct mg_nh_val nv = { .ifindex = 1, .mtu = 1500 };
	__u32 cnt, addr = PEER;
	struct mg_pfx4 t;
	int err = -ENOMEM;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	if (!k || !v)
		goto out;
	k[0] = (struct mg_ep4_key){ 16, IP4(10, 1, 0, 0) };
	v[0] = (struct mg_ep_val){ .cluster_id = OWN_CID,
				   .flags = MG_EP_F_LOCAL };
	for (__u32 i = 0; i < n; i++) {
		k[i + 1] = (struct mg_ep4_key){ prefix_len(i),
						htonl(prefix_addr(i)) };
		v[i + 1] =
			(struct mg_ep_val){ .cluster_id = 2 + i % N_CLUSTERS };
	}
	cnt = n + 1;
	err = bpf_map_update_batch(ep, k, v, &cnt, &bo) ? -errno : 0;
	err = err ?: put(mg_dp_map_fd(dp, "mg_local4"), &k[0], &v[0]);
	/* test_run's ingress, lo: a one-arm interface without a MAC. */
	err = err   ?:
		      put(mg_dp_map_fd(dp, "mg_ifs"), &(__u32){ 1 },
			  &(struct mg_if_val){ .roles = MG_IF_CLUSTER |
							MG_IF_UNDERLAY });
	cv.gw[0].family = MG_AF_INET;
	cv.gw[0].addr[0] = PEER;
	for (__u32 cid = 2; cid < 2 + N_CLUSTERS && !err; cid++)
		err = put(mg_dp_map_fd(dp, "mg_clus"), &cid, &cv);
	err = err ?: put(mg_dp_map_fd(dp, "mg_peer4"), &addr, &pv);
	memcpy(nv.smac, mgt_underlay_mac, 6);
	memcpy(nv.dmac, mgt_peer_mac, 6);
	err = err ?: put(mg_dp_map_fd(dp, "mg_nh4_v2"), &addr, &nv);
	if (err)
		goto out;
	err = mg_pfx4_build(&t, k, v, n + 1);
	if (!err) {
		err = mg_pfx4_publish(&pm, &t);
		mg_pfx4_free(&t);
	}
out:
	free(k);
	free(v);
	return err;
}

struct bcase {
	const char *name;
	int prog;
	int verdict;
	__u32 *dst; /* NDST destinations, or NULL: the template's */
	__u32 next;
	__u32 *ns;
};

static struct pkt tmpl;

static int run_once(struct bcase *c, __u32 *ns)
{
	struct pkt p = tmpl;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p.data,
		    .data_size_in = p.len, .repeat = 1);

	if (c->dst) {
		pkt_put32(&p, pkt_off(&p, PKT_IP4, 0) + 16,
			  c->dst[c->next++ % NDST]);
		pkt_fix_csums(&p);
	}
	if (bpf_prog_test_run_opts(c->prog, &o))
		return -errno;
	if ((int)o.retval != c->verdict) {
		fprintf(stderr, "bench_pfxencap: %s: verdict %u, want %d\n",
			c->name, o.retval, c->verdict);
		return -EPROTO;
	}
	*ns = o.duration;
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_u32(__u32 *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_pfxencap [--json FILE] [-n CALLS] "
		   "[--rounds R]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "calls", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.vxlan_port = MG_VXLAN_PORT_DEFAULT,
		.cluster_id = OWN_CID,
		.nh_table = true,
		.udp6_csum = true,
	};
	static const uint8_t ma[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t mb[6] = { 0x02, 0, 0, 0, 0, 2 };
	struct mg_dp dp[N_SIZES] = { 0 };
	struct pass_bpf *pass = NULL;
	struct bcase c[1 + N_SIZES] = { 0 };
	double r[1 + N_SIZES][MAX_ROUNDS];
	long calls = 20000, rounds = 3;
	const char *json = NULL;
	struct mgt_topo topo;
	int opt, err = 0, rc = 1;
	FILE *out = NULL;

	while ((opt = getopt_long(argc, argv, "j:n:r:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = optarg;
			break;
		case 'n':
			calls = strtol(optarg, NULL, 10);
			break;
		case 'r':
			rounds = strtol(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (calls < 100 || calls > 10000000 || rounds < 1 ||
	    rounds > MAX_ROUNDS) {
		usage(stderr);
		return 2;
	}
	err = mgt_netns_topo(&topo);
	if (err)
		return fail("network namespace", err);
	pass = pass_bpf__open_and_load();
	if (!pass)
		return fail("loading the baseline", errno);
	for (int i = 0; i < N_SIZES; i++) {
		s.limits = (struct mg_map_limits){
			.endpoints = sizes[i] + 1024,
			.local_endpoints = MG_LIMIT_LOCAL_MIN,
			.flows = MG_LIMIT_FLOWS_NOSVC,
			.pinned_flows = MG_LIMIT_PINS_NOSVC,
		};
		err = mg_dp_load(&dp[i], &s, NULL);
		if (err) {
			fail("loading the datapath", err);
			goto out;
		}
		err = fill(&dp[i], sizes[i]);
		if (err) {
			fail("filling the maps and the prefix table", err);
			goto out;
		}
	}

	pkt_init(&tmpl);
	pkt_eth(&tmpl, ma, mb, ETH_P_IP);
	pkt_ip4(&tmpl, &(struct pkt_ip4){ .saddr = POD,
					  .daddr = htonl(prefix_addr(0) | 9),
					  .proto = IPPROTO_TCP,
					  .ttl = 64 });
	pkt_tcp(&tmpl, 40000, 80, 0x10);
	pkt_data(&tmpl, 64, 1);
	pkt_finish(&tmpl);

	c[0] = (struct bcase){ .name = "xdp_pass",
			       .prog = bpf_program__fd(pass->progs.xdp_pass),
			       .verdict = XDP_PASS };
	for (int i = 0; i < N_SIZES; i++) {
		c[1 + i] = (struct bcase){
			.name = size_names[i],
			.prog = bpf_program__fd(dp[i].skel->progs.mg_xdp),
			.verdict = XDP_TX,
			.dst = calloc(NDST, sizeof(__u32)),
		};
		if (!c[1 + i].dst)
			goto out;
		/* a host inside a random prefix of this size's set */
		for (__u32 d = 0; d < NDST; d++) {
			__u32 p = rnd() % sizes[i];
			__u32 host =
				1 + rnd() % (prefix_len(p) == 26 ? 62 : 254);

			c[1 + i].dst[d] = prefix_addr(p) + host;
		}
	}
	for (int i = 0; i < 1 + N_SIZES; i++) {
		c[i].ns = calloc(calls, sizeof(__u32));
		if (!c[i].ns)
			goto out;
	}

	for (long round = 0; round < rounds; round++) {
		for (long k = 0; k < calls; k++) {
			int order[1 + N_SIZES];

			for (int i = 0; i < 1 + N_SIZES; i++)
				order[i] = i;
			for (int i = N_SIZES; i > 0; i--) {
				int j = rnd() % (i + 1), t = order[i];

				order[i] = order[j];
				order[j] = t;
			}
			for (int i = 0; i < 1 + N_SIZES; i++) {
				err = run_once(&c[order[i]],
					       &c[order[i]].ns[k]);
				if (err) {
					fail(c[order[i]].name, err);
					goto out;
				}
			}
		}
		for (int i = 0; i < 1 + N_SIZES; i++)
			r[i][round] = median_u32(c[i].ns, calls);
	}

	if (json)
		out = strcmp(json, "-") ? fopen(json, "w") : stdout;
	if (json && !out) {
		fail(json, errno);
		goto out;
	}
	printf("encap over xdp_pass, one packet per call to one of %d "
	       "destinations, %ld calls x %ld rounds (medians):\n",
	       NDST, calls, rounds);
	if (out)
		fprintf(out, "{");
	for (int i = 0; i < N_SIZES; i++) {
		double d[MAX_ROUNDS], q[MAX_ROUNDS];

		for (long k = 0; k < rounds; k++) {
			d[k] = r[1 + i][k] - r[0][k];
			q[k] = d[k] / (r[1][k] - r[0][k]);
		}
		qsort(d, rounds, sizeof(*d), cmp_d);
		qsort(q, rounds, sizeof(*q), cmp_d);
		printf("  %-5s %7u prefixes  %6.1f ns (%.1f..%.1f)  x%.3f of 10k "
		       "(%.3f..%.3f)\n",
		       size_names[i], sizes[i], d[rounds / 2], d[0],
		       d[rounds - 1], q[rounds / 2], q[0], q[rounds - 1]);
		if (!out)
			continue;
		fprintf(out,
			"%s\"encap_%s_ns\": %.1f, \"encap_%s_ns_min\": %.1f, "
			"\"encap_%s_ns_max\": %.1f",
			i ? ", " : "", size_names[i], d[rounds / 2],
			size_names[i], d[0], size_names[i], d[rounds - 1]);
		if (i)
			fprintf(out,
				", \"encap_%s_vs_10k\": %.3f, "
				"\"encap_%s_vs_10k_min\": %.3f, "
				"\"encap_%s_vs_10k_max\": %.3f",
				size_names[i], q[rounds / 2], size_names[i],
				q[0], size_names[i], q[rounds - 1]);
	}
	printf("  xdp_pass %.1f ns\n", r[0][rounds / 2]);
	if (out) {
		fprintf(out, "}\n");
		if (out != stdout)
			fclose(out);
	}
	rc = 0;
out:
	for (int i = 0; i < 1 + N_SIZES; i++) {
		free(c[i].ns);
		free(c[i].dst);
	}
	for (int i = 0; i < N_SIZES; i++)
		mg_dp_destroy(&dp[i]);
	pass_bpf__destroy(pass);
	return rc;
}
