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
 *
 * Then the two kinds of bucket side by side (tests/bench/rlb.bpf.c): the
 * datapath's per-CPU shares and one bucket shared through compare-and-swap
 * (GCRA), each alone in a program that takes one token a packet:
 *
 *   ratelimit_percpu_ns, ratelimit_atomic_ns   one thread, calls of each
 *                      in turn, a rate too high to refuse any
 *   ratelimit_{percpu,atomic}_2cpu_ns  the same, one thread on each of
 *                      two CPUs calling at once (contended: the atomic's
 *                      cache line moves between them)
 *   ratelimit_{percpu,atomic}_accuracy_pct_{2cpu,1cpu}  tokens given /
 *                      (rate x time + burst), at a rate of 2 000/s far
 *                      below what the callers ask: 100 is exact; per-CPU
 *                      shares give 1/n of the rate to traffic one CPU sees
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
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
#include "xdp.skel.h"
#include "rlb.skel.h"
#include "lib/netns.h"
#include "lib/pkt.h"

#define OWN_CID 1
#define TUN IP4(192, 0, 2, 1)
#define PEER IP4(192, 0, 2, 2)
#define POD IP4(10, 1, 0, 5)
#define VIP IP4(10, 96, 0, 10)
#define BE_CID 7

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

	err = put(mg_dp_map_fd(dp, "mg_ep4"), &k, &v)		 ?:
		      put(mg_dp_map_fd(dp, "mg_local4"), &k, &v) ?:
		      put(mg_dp_map_fd(dp, "mg_ifs"), &(__u32){ 1 },
			  &(struct mg_if_val){ .roles = MG_IF_CLUSTER |
							MG_IF_UNDERLAY });
	cv.gw[0].family = MG_AF_INET;
	cv.gw[0].addr[0] = PEER;
	memcpy(nv.smac, mgt_underlay_mac, 6);
	memcpy(nv.dmac, mgt_peer_mac, 6);
	err = err						    ?:
		      put(mg_dp_map_fd(dp, "mg_clus"), &cid, &cv)   ?:
		      put(mg_dp_map_fd(dp, "mg_peer4"), &addr, &pv) ?:
		      put(mg_dp_map_fd(dp, "mg_nh4_v2"), &addr, &nv);
	for (__u32 i = 0; i < 4 && !err; i++) {
		struct mg_lb_backend b = {
			.addr = IP4(10, 35, 77, 20 + i),
			.port = htons(8080),
			.cluster_id = BE_CID,
			.flags = MG_LB_BE_F_LIVE,
			.gen = 1,
		};

		err = put(mg_dp_map_fd(dp, "mg_lbbe"), &i, &b);
	}
	for (__u32 id = 0; id < 2 && !err; id++) {
		struct mg_svc_key sk = { .vip = VIP,
					 .port = htons(80 + id),
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
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD,
				      .daddr = VIP,
				      .proto = IPPROTO_TCP,
				      .ttl = 64 });
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

/* --- per-CPU shares against one atomic bucket (rlb.bpf.c) ----------------- */

struct rl_cfg {
	__u32 rate, burst, ncpu, pad;
};

struct rlb_arg {
	int prog, cpu;
	const struct pkt *p;
	struct timespec until;
	long given, calls;
	__u32 *ns;
	long max_ns;
};

static void *rlb_thread(void *a_)
{
	struct rlb_arg *a = a_;
	struct timespec t;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(a->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (;;) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = a->p->data,
			    .data_size_in = a->p->len, .repeat = 1, );

		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec > a->until.tv_sec ||
		    (t.tv_sec == a->until.tv_sec &&
		     t.tv_nsec >= a->until.tv_nsec))
			break;
		if (bpf_prog_test_run_opts(a->prog, &o))
			break;
		if (a->calls < a->max_ns)
			a->ns[a->calls] = o.duration;
		a->calls++;
		a->given += o.retval == XDP_PASS;
	}
	return NULL;
}

static int rlb_reset(struct rlb_bpf *sk, __u32 rate, __u32 burst, int ncpu)
{
	struct rl_cfg c = { rate, burst, (__u32)ncpu, 0 };
	__u64 zero64[2 * 256] = { 0 }, tat = 0;
	__u32 zero = 0;

	if (ncpu > 256)
		return -E2BIG;
	return put(bpf_map__fd(sk->maps.rl_cfg), &zero, &c)		 ?:
		       put(bpf_map__fd(sk->maps.rl_pcpu), &zero, zero64) ?:
		       put(bpf_map__fd(sk->maps.rl_tat), &zero, &tat);
}

/*
 * nthr threads (one per CPU) calling prog for ms: the tokens given, the
 * elapsed seconds, and the median duration of their calls.
 */
static int rlb_run(int prog, const struct pkt *p, int nthr, int ms, long *given,
		   double *secs, double *med, long *calls)
{
	struct rlb_arg a[2];
	pthread_t th[2];
	struct timespec t0, t1;
	long n = 0;
	__u32 *all;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	t1 = t0;
	t1.tv_nsec += (long)ms * 1000000L;
	t1.tv_sec += t1.tv_nsec / 1000000000L;
	t1.tv_nsec %= 1000000000L;
	for (int i = 0; i < nthr; i++) {
		a[i] = (struct rlb_arg){ .prog = prog,
					 .cpu = i,
					 .p = p,
					 .until = t1,
					 .max_ns = 1000000 };
		a[i].ns = calloc(a[i].max_ns, sizeof(__u32));
		if (!a[i].ns || pthread_create(&th[i], NULL, rlb_thread, &a[i]))
			return -ENOMEM;
	}
	*given = 0;
	*calls = 0;
	for (int i = 0; i < nthr; i++) {
		pthread_join(th[i], NULL);
		*given += a[i].given;
		*calls += a[i].calls;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	*secs = (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	all = calloc(2 * 1000000, sizeof(__u32));
	for (int i = 0; i < nthr; i++) {
		long k = a[i].calls < a[i].max_ns ? a[i].calls : a[i].max_ns;

		if (all)
			memcpy(all + n, a[i].ns, (size_t)k * sizeof(__u32));
		n += k;
		free(a[i].ns);
	}
	*med = all && n ? median(all, n) : 0;
	free(all);
	return 0;
}

/* One call of a bucket program: its duration; -EPROTO unless it passed. */
static int rlb_once(int prog, const struct pkt *p, __u32 *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = p->data,
		    .data_size_in = p->len, .repeat = 1, );

	if (bpf_prog_test_run_opts(prog, &o))
		return -errno;
	*ns = o.duration;
	return o.retval == XDP_PASS ? 0 : -EPROTO;
}

/* The figures of the comparison, as "name": value pairs into f. */
static int rlb_bench(long calls, FILE *f)
{
	enum { RATE = 2000, BURST = 20, MS = 500 };
	static const char *const kind[2] = { "percpu", "atomic" };
	struct rlb_bpf *sk = rlb_bpf__open_and_load();
	int ncpu = libbpf_num_possible_cpus(), prog[2], err = 0;
	double one[2], two[2], acc[2][2];
	__u32 *ns[2] = { NULL, NULL };
	unsigned int seed = 2;
	struct pkt p;

	if (!sk)
		return fail("loading rlb.bpf.o", errno);
	prog[0] = bpf_program__fd(sk->progs.rl_percpu);
	prog[1] = bpf_program__fd(sk->progs.rl_atomic);
	frame(&p, 80, 0x10);
	ns[0] = calloc(calls, sizeof(__u32));
	ns[1] = calloc(calls, sizeof(__u32));
	if (!ns[0] || !ns[1]) {
		err = fail("memory", ENOMEM);
		goto out;
	}
	/* Cost: a rate no caller reaches, each kind in turn. */
	err = rlb_reset(sk, 1000000000U, 1000000000U, ncpu);
	for (long i = 0; i < calls && !err; i++) {
		int first = rand_r(&seed) & 1;

		for (int k = 0; k < 2 && !err; k++)
			err = rlb_once(prog[k ^ first], &p, &ns[k ^ first][i]);
	}
	if (err) {
		err = fail("running rlb", err);
		goto out;
	}
	for (int k = 0; k < 2; k++) {
		long given, ncalls;
		double secs, med;

		one[k] = median(ns[k], calls);
		/* Contended: both CPUs at once, the same high rate. */
		err = rlb_reset(sk, 1000000000U, 1000000000U, ncpu) ?:
			      rlb_run(prog[k], &p, ncpu >= 2 ? 2 : 1, MS / 2,
				      &given, &secs, &two[k], &ncalls);
		/* Accuracy at the limit: two CPUs asking, then one. */
		for (int c = 0; c < 2 && !err; c++) {
			int nthr = c == 0 && ncpu >= 2 ? 2 : 1;

			err = rlb_reset(sk, RATE, BURST, ncpu) ?:
				      rlb_run(prog[k], &p, nthr, MS, &given,
					      &secs, &med, &ncalls);
			acc[k][c] = 100.0 * (double)given /
				    ((double)RATE * secs + BURST);
			/* Asked for fewer than the rate gives: not at it. */
			if (!err && ncalls < 2 * ((double)RATE * secs + BURST))
				fprintf(stderr,
					"bench_rl: %s: %ld calls in %.2f s, not twice the rate: accuracy not at the limit\n",
					kind[k], ncalls, secs);
		}
		if (err) {
			err = fail("running rlb", err);
			goto out;
		}
	}
	for (int k = 0; k < 2; k++) {
		printf("ratelimit_%s_ns %8.1f  2 CPUs at once %.1f  "
		       "accuracy %.1f%% (2 CPUs), %.1f%% (1 CPU of %d)\n",
		       kind[k], one[k], two[k], acc[k][0], acc[k][1], ncpu);
		if (f)
			fprintf(f,
				", \"ratelimit_%s_ns\": %.1f, \"ratelimit_%s_2cpu_ns\": %.1f, \"ratelimit_%s_accuracy_pct_2cpu\": %.1f, \"ratelimit_%s_accuracy_pct_1cpu\": %.1f",
				kind[k], one[k], kind[k], two[k], kind[k],
				acc[k][0], kind[k], acc[k][1]);
	}
out:
	free(ns[0]);
	free(ns[1]);
	rlb_bpf__destroy(sk);
	return err;
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
	if (!json && rlb_bench(calls, NULL))
		goto out;
	if (json) {
		FILE *f = strcmp(json, "-") ? fopen(json, "w") : stdout;

		if (!f) {
			fail(json, errno);
			goto out;
		}
		fprintf(f,
			"{\"ratelimit_ns\": %.1f, "
			"\"ratelimit_lb_established_ns\": %.1f, "
			"\"ratelimit_minus_lb_ns\": %.1f",
			med[1], med[0], med[1] - med[0]);
		if (rlb_bench(calls, f))
			goto out;
		fprintf(f, "}\n");
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
