// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_rl: the cost of a service's token bucket on the service path
 * (datapath/ratelimit.h), under BPF_PROG_TEST_RUN.
 *
 *   bench_rl [-n CALLS] [--json FILE]
 *
 *   lb_established_ns  a tracked flow to a service without limits: DNAT,
 *                      encap (as bench_dp's case of that name, on a mesh
 *                      of one remote cluster)
 *   ratelimit_ns       the same to a service with rate_pps (a rate too
 *                      high to drop any): one more per-CPU bucket taken
 *   ratelimit_minus_lb_ns  the difference of the two medians
 *
 * One call each with repeat = 1, the two cases in turn within one loop
 * (in a random order each round), medians of the kernel's durations.
 * The bucket is per CPU: BPF_PROG_TEST_RUN from one thread cannot show
 * what an atomic bucket shared by CPUs would cost under contention,
 * which is why the datapath does not share one (ratelimit.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <meshgate/abi.h>
#include "loader.h"
#include "xdp.skel.h"
#include "lib/netns.h"
#include "lib/pkt.h"

#define OWN_CID		1
#define TUN		IP4(192, 0, 2, 1)
#define PEER		IP4(192, 0, 2, 2)
#define POD		IP4(10, 1, 0, 5)
#define VIP		IP4(10, 96, 0, 10)
#define BE_CID		7

static int fail(const char *what, int err)
{
	fprintf(stderr, "bench_rl: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	return 1;
}

static int put(int fd, const void *k, const void *v)
{
	return bpf_map_update_elem(fd, k, v, BPF_ANY) ? -errno : 0;
}

/* Local 10.1/16; cluster 7 behind PEER; services id 0 (:80), 1 (:81). */
static int fill(struct mg_dp *dp)
{
	struct mg_ep4_key k = { 16, IP4(10, 1, 0, 0) };
	struct mg_ep_val v = { .cluster_id = OWN_CID, .flags = MG_EP_F_LOCAL };
	struct mg_cluster_val cv = { .n_gw = 1 };
	struct mg_peer_val pv = { .cluster_id = BE_CID };
	struct mg_nh_val nv = { .ifindex = 1, .mtu = 1500 };
	struct mg_svc_tc tc = { .pps = 1000000000, .pps_burst = 1000000000 };
	__u32 addr = PEER, cid = BE_CID;
	int err, fd;

	err = put(mg_dp_map_fd(dp, "mg_ep4"), &k, &v) ?:
	      put(mg_dp_map_fd(dp, "mg_local4"), &k, &v) ?:
	      put(mg_dp_map_fd(dp, "mg_ifs"), &(__u32){ 1 },
		  &(struct mg_if_val){ .roles = MG_IF_CLUSTER |
						MG_IF_UNDERLAY });
	cv.gw[0].family = MG_AF_INET;
	cv.gw[0].addr[0] = PEER;
	memcpy(nv.smac, mgt_underlay_mac, 6);
	memcpy(nv.dmac, mgt_peer_mac, 6);
	err = err ?: put(mg_dp_map_fd(dp, "mg_clus"), &cid, &cv) ?:
	      put(mg_dp_map_fd(dp, "mg_peer4"), &addr, &pv) ?:
	      put(mg_dp_map_fd(dp, "mg_nh4_v2"), &addr, &nv);
	for (__u32 i = 0; i < 4 && !err; i++) {
		struct mg_lb_backend b = {
			.addr = IP4(10, 35, 77, 20 + i), .port = htons(8080),
			.cluster_id = BE_CID, .flags = MG_LB_BE_F_LIVE,
			.gen = 1,
		};

		err = put(mg_dp_map_fd(dp, "mg_lbbe"), &i, &b);
	}
	for (__u32 id = 0; id < 2 && !err; id++) {
		struct mg_svc_key sk = { .vip = VIP, .port = htons(80 + id),
					 .proto = IPPROTO_TCP };

		err = put(mg_dp_map_fd(dp, "mg_svc"), &sk,
			  &(struct mg_svc_val){ .id = id });
		fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mg_ring", 4, 4,
				    MG_LB_RING_SIZE, NULL);
		if (fd < 0)
			return -errno;
		for (__u32 i = 0; i < MG_LB_RING_SIZE && !err; i++)
			err = put(fd, &i, &(__u32){ i % 4 });
		err = err ?: put(mg_dp_map_fd(dp, "mg_lbring"), &id, &fd);
		close(fd);
	}
	return err ?: put(mg_dp_map_fd(dp, "mg_svctc"), &(__u32){ 1 }, &tc);
}

static void frame(struct pkt *p, uint16_t dport, uint8_t flags)
{
	static const uint8_t a[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t b[6] = { 0x02, 0, 0, 0, 0, 2 };

	pkt_init(p);
	pkt_eth(p, a, b, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD, .daddr = VIP,
				      .proto = IPPROTO_TCP, .ttl = 64 });
	pkt_tcp(p, 40000, dport, flags);
	pkt_data(p, 64, 1);
	pkt_finish(p);
}

static int run(int prog, const struct pkt *p, __u32 *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data,
		    .data_size_in = p->len, .repeat = 1);

	if (bpf_prog_test_run_opts(prog, &o))
		return -errno;
	if (o.retval != XDP_TX) {
		fprintf(stderr, "bench_rl: verdict %u, want XDP_TX\n",
			o.retval);
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

static double median(__u32 *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "calls", required_argument, NULL, 'n' },
		{ 0 },
	};
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.vxlan_port = MG_VXLAN_PORT_DEFAULT,
		.cluster_id = OWN_CID,
		.nh_table = true,
	};
	struct mg_dp dp = { 0 };
	struct mgt_topo topo;
	struct pkt est, lim, syn;
	const char *json = NULL;
	long calls = 20000;
	__u32 *ns[2] = { NULL, NULL };
	unsigned int seed = 1;
	double med[2];
	int err, opt, prog, rc = 1;

	while ((opt = getopt_long(argc, argv, "j:n:", opts, NULL)) != -1) {
		if (opt == 'j') {
			json = optarg;
		} else if (opt == 'n') {
			calls = strtol(optarg, NULL, 10);
			if (calls < 1 || calls > 10000000)
				return fail("-n", EINVAL);
		} else {
			fprintf(stderr,
				"usage: bench_rl [-n CALLS] [--json FILE]\n");
			return 2;
		}
	}
	err = mgt_netns_topo(&topo);
	if (err)
		return fail("network namespace", err);
	err = mg_dp_load(&dp, &s, NULL);
	if (err)
		return fail("loading the datapath", err);
	err = fill(&dp);
	if (err) {
		fail("filling the maps", err);
		goto out;
	}
	prog = bpf_program__fd(dp.skel->progs.mg_xdp);
	ns[0] = calloc(calls, sizeof(__u32));
	ns[1] = calloc(calls, sizeof(__u32));
	if (!ns[0] || !ns[1]) {
		fail("memory", ENOMEM);
		goto out;
	}
	/* Each flow opened by its SYN, then its ACKs measured. */
	frame(&syn, 80, 0x02);
	frame(&est, 80, 0x10);
	frame(&lim, 81, 0x10);
	err = run(prog, &syn, &ns[0][0]);
	frame(&syn, 81, 0x02);
	err = err ?: run(prog, &syn, &ns[0][0]);
	for (long i = 0; i < 1000 && !err; i++)
		err = run(prog, &est, &ns[0][0]) ?: run(prog, &lim, &ns[1][0]);
	for (long i = 0; i < calls && !err; i++) {
		int first = rand_r(&seed) & 1;

		for (int k = 0; k < 2 && !err; k++) {
			int c = k ^ first;

			err = run(prog, c ? &lim : &est, &ns[c][i]);
		}
	}
	if (err) {
		fail("running", err);
		goto out;
	}
	med[0] = median(ns[0], calls);
	med[1] = median(ns[1], calls);
	printf("lb_established_ns %8.1f\nratelimit_ns      %8.1f\n"
	       "a token bucket on the service path: %+.1f ns "
	       "(median of %ld calls each)\n",
	       med[0], med[1], med[1] - med[0], calls);
	if (json) {
		FILE *f = strcmp(json, "-") ? fopen(json, "w") : stdout;

		if (!f) {
			fail(json, errno);
			goto out;
		}
		fprintf(f, "{\"ratelimit_ns\": %.1f, "
			   "\"ratelimit_lb_established_ns\": %.1f, "
			   "\"ratelimit_minus_lb_ns\": %.1f}\n",
			med[1], med[0], med[1] - med[0]);
		if (f != stdout)
			fclose(f);
	}
	rc = 0;
out:
	free(ns[0]);
	free(ns[1]);
	mg_dp_destroy(&dp);
	return rc;
}
