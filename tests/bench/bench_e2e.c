// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_e2e: the BPF side of the veth end-to-end benchmark (tests/bench/e2e.sh
 * builds the namespaces and switches the gateway between the cases).
 *
 *   bench_e2e attach NETNS DEV redirect|pass [TO_DEV]
 *	Put a gateway stand-in (e2e_gw.bpf.c) on DEV in NETNS, native mode,
 *	attached through netlink so that it outlives this process; the script
 *	removes it with `ip link set DEV xdpdrv off`.
 *
 *   bench_e2e attach NETNS DEV ref TO_DEV TUNNEL GW VNI PREFIX/LEN SMAC DMAC
 *	The same with the reference encap (ref_encap.bpf.c) in its place:
 *	frames to PREFIX/LEN pushed in VXLAN (VNI) from TUNNEL to GW, from
 *	SMAC to DMAC out of TO_DEV.
 *
 *   bench_e2e measure [options]
 *	Attach the counting sink in the sink namespace, run the live-frames
 *	generator on one CPU, and after a warm-up count what reaches the sink
 *	over a window.  Prints one line of key=value pairs, first mpps=.
 *	Fails when nothing of the expected kind arrived.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "gen.skel.h"
#include "sink.skel.h"
#include "e2e_gw.skel.h"
#include "ref_encap.skel.h"

enum { SINK_VXLAN, SINK_RAW, SINK_OTHER, SINK_MAX };	/* as sink.bpf.c */
#define MAX_CPUS	256
#define FRAME_LEN	64

struct opts {
	const char *gen_ns, *gen_dev, *sink_ns, *sink_dev;
	const char *dmac, *outer_dst, *saddr, *dst_net;
	const char *expect;
	unsigned int vni, vxlan_port, flows, batch;
	int gen_cpu, rt_prio;
	bool sink_tc;
	double warmup, seconds;
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "bench_e2e: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static int libbpf_quiet(enum libbpf_print_level lvl, const char *fmt,
			va_list ap)
{
	return lvl == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		die("cannot enter netns %s: %s", name, strerror(errno));
	close(fd);
}

static unsigned int ifindex_of(const char *dev)
{
	unsigned int idx = if_nametoindex(dev);

	if (!idx)
		die("interface %s: %s", dev, strerror(errno));
	return idx;
}

static __u32 ipv4_of(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		die("not an IPv4 address: %s", s);
	return a.s_addr;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --- attach --------------------------------------------------------------- */

static void parse_mac(const char *s, volatile __u8 *mac);

/* The reference encap on dev, sending out of argv[4]; see the top. */
static int attach_ref(unsigned int dev, int argc, char **argv)
{
	struct {
		__u32 prefixlen, addr;
	} k;
	struct {
		__u32 gw, cluster;
	} v = { 0 };
	struct ref_encap_bpf *skel;
	unsigned int to;
	char net[64], *slash;
	int err;

	if (argc != 11)
		die("usage: attach NETNS DEV ref TO_DEV TUNNEL GW VNI "
		    "PREFIX/LEN SMAC DMAC");
	to = ifindex_of(argv[4]);
	snprintf(net, sizeof(net), "%s", argv[8]);
	slash = strchr(net, '/');
	if (!slash)
		die("not a prefix: %s", argv[8]);
	*slash = 0;
	k.prefixlen = atoi(slash + 1);
	if (k.prefixlen > 32)
		die("not a prefix: %s", argv[8]);
	k.addr = ipv4_of(net);
	v.gw = ipv4_of(argv[6]);
	skel = ref_encap_bpf__open();
	if (!skel)
		die("cannot open ref_encap: %s", strerror(errno));
	skel->rodata->tunnel_addr = ipv4_of(argv[5]);
	skel->rodata->vxlan_port = htons(4789);
	skel->rodata->vni = strtoul(argv[7], NULL, 0);
	skel->rodata->tx_ifindex = to;
	parse_mac(argv[10], skel->rodata->dmac);
	parse_mac(argv[9], skel->rodata->smac);
	err = ref_encap_bpf__load(skel);
	if (err)
		die("cannot load ref_encap: %s", strerror(-err));
	if (bpf_map__update_elem(skel->maps.ref_ep4, &k, sizeof(k), &v,
				 sizeof(v), BPF_ANY) ||
	    bpf_map__update_elem(skel->maps.ref_tx, &to, sizeof(to), &to,
				 sizeof(to), BPF_ANY))
		die("cannot fill the reference's maps: %s", strerror(errno));
	err = bpf_xdp_attach(dev, bpf_program__fd(skel->progs.ref_encap),
			     XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
			     NULL);
	if (err)
		die("cannot attach to %s: %s", argv[2], strerror(-err));
	ref_encap_bpf__destroy(skel);
	return 0;
}

static int cmd_attach(int argc, char **argv)
{
	struct e2e_gw_bpf *skel;
	struct bpf_program *prog;
	unsigned int dev, to = 0;
	int err;

	if (argc >= 4 && !strcmp(argv[3], "ref")) {
		enter_netns(argv[1]);
		return attach_ref(ifindex_of(argv[2]), argc, argv);
	}
	if (argc < 4 || argc > 5)
		die("usage: attach NETNS DEV redirect|pass [TO_DEV]");
	enter_netns(argv[1]);
	dev = ifindex_of(argv[2]);
	if (!strcmp(argv[3], "redirect")) {
		if (argc < 5)
			die("attach redirect needs TO_DEV");
		to = ifindex_of(argv[4]);
	} else if (strcmp(argv[3], "pass")) {
		die("unknown stand-in '%s' (redirect or pass)", argv[3]);
	}

	skel = e2e_gw_bpf__open();
	if (!skel)
		die("cannot open e2e_gw: %s", strerror(errno));
	skel->rodata->tx_ifindex = to;
	err = e2e_gw_bpf__load(skel);
	if (err)
		die("cannot load e2e_gw: %s", strerror(-err));
	prog = to ? skel->progs.fwd_redirect : skel->progs.fwd_pass;
	if (to && bpf_map__update_elem(skel->maps.fwd_tx, &to, sizeof(to),
				       &to, sizeof(to), BPF_ANY))
		die("cannot fill fwd_tx: %s", strerror(errno));
	err = bpf_xdp_attach(dev, bpf_program__fd(prog),
			     XDP_FLAGS_DRV_MODE | XDP_FLAGS_UPDATE_IF_NOEXIST,
			     NULL);
	if (err)
		die("cannot attach to %s: %s", argv[2], strerror(-err));
	e2e_gw_bpf__destroy(skel);
	return 0;
}

/* --- measure -------------------------------------------------------------- */

struct cpu_times {
	unsigned long long busy[MAX_CPUS], total[MAX_CPUS];
};

static void read_cpu_times(struct cpu_times *t)
{
	unsigned long long v[8];
	char line[512];
	FILE *f = fopen("/proc/stat", "r");
	int cpu;

	memset(t, 0, sizeof(*t));
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu",
			   &cpu, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			   &v[6], &v[7]) != 9 || cpu < 0 || cpu >= MAX_CPUS)
			continue;
		t->total[cpu] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] +
				v[6] + v[7];
		t->busy[cpu] = t->total[cpu] - v[3] - v[4];
	}
	fclose(f);
}

struct sink_sample {
	unsigned long long n[SINK_MAX];
	unsigned long long per_cpu[MAX_CPUS];	/* all kinds */
};

static void read_sink(struct sink_bpf *sink, int ncpu, struct sink_sample *s)
{
	__u64 vals[MAX_CPUS];

	memset(s, 0, sizeof(*s));
	for (__u32 k = 0; k < SINK_MAX; k++) {
		if (bpf_map__lookup_elem(sink->maps.sink_cnt, &k, sizeof(k),
					 vals, sizeof(vals[0]) * ncpu, 0))
			die("cannot read sink_cnt: %s", strerror(errno));
		for (int c = 0; c < ncpu; c++) {
			s->n[k] += vals[c];
			s->per_cpu[c] += vals[c];
		}
	}
}

/*
 * SCHED_FIFO at prio (0: leave the policy alone): on a shared machine a
 * CPU hog must not decide how often the generator or the sampler runs.
 */
static int set_fifo(int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	if (!prio)
		return 0;
	return sched_setscheduler(0, SCHED_FIFO, &sp) ? -errno : 0;
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/*
 * One test_run call for the whole measurement: every call sets up and tears
 * down a page pool, and the teardown waits for RCU, which stalls the
 * generator long enough for the gateway to go idle.  The call ends on a
 * signal (the kernel checks for one between batches).  Frames are counted
 * by the program itself (seq in its .bss).
 */
#define GEN_REPEAT	(1u << 31)

struct gen_thread {
	int prog_fd, cpu, rt_prio;
	unsigned int batch;
	atomic_bool stop, done;
	int err;
};

static void on_stop_signal(int sig)
{
	(void)sig;	/* only there to interrupt the test_run call */
}

static void *gen_run(void *arg)
{
	struct gen_thread *g = arg;
	unsigned char frame[FRAME_LEN] = {};	/* the program writes it */
	LIBBPF_OPTS(bpf_test_run_opts, ro,
		.data_in = frame,
		.data_size_in = sizeof(frame),
		.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		.repeat = GEN_REPEAT,
		.batch_size = g->batch,
	);
	int err = pin_cpu(g->cpu);

	if (err || (err = set_fifo(g->rt_prio)))
		g->err = -err;
	while (!g->err && !atomic_load(&g->stop))
		if (bpf_prog_test_run_opts(g->prog_fd, &ro) && errno != EINTR)
			g->err = errno;
	atomic_store(&g->done, true);
	return NULL;
}

static void gen_stop(struct gen_thread *g, pthread_t th)
{
	atomic_store(&g->stop, true);
	/* Again until it is out: the first may land before the call. */
	while (!atomic_load(&g->done)) {
		pthread_kill(th, SIGUSR1);
		sleep_s(0.01);
	}
	pthread_join(th, NULL);
}

static void parse_mac(const char *s, volatile __u8 *mac)
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4],
		   &b[5]) != 6)
		die("not a MAC address: %s", s);
	for (int i = 0; i < 6; i++)
		mac[i] = b[i];
}

static int sink_attach(struct sink_bpf *sink, unsigned int ifindex, bool tc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, to,
		    .prog_fd = bpf_program__fd(sink->progs.sink_tc));
	int err;

	if (!tc)
		return bpf_xdp_attach(ifindex,
				      bpf_program__fd(sink->progs.sink_xdp),
				      XDP_FLAGS_DRV_MODE, NULL);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	return bpf_tc_attach(&hook, &to);
}

static void sink_detach(unsigned int ifindex, bool tc)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

	if (tc)
		bpf_tc_hook_destroy(&hook);
	else
		bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
}

static void usage_measure(void)
{
	fprintf(stderr,
"usage: bench_e2e measure --gen-ns NS --sink-ns NS --dmac MAC\n"
"         --outer-dst IP --vni N --expect vxlan|raw\n"
"         [--gen-dev g0] [--sink-dev s0] [--saddr 10.1.0.11]\n"
"         [--dst-net 10.2.0.0] [--vxlan-port 4789] [--flows 1024]\n"
"         [--batch 64] [--gen-cpu 0] [--rt-prio 0] [--warmup 0.5]\n"
"         [--seconds 2] [--sink-hook xdp|tc]\n");
	exit(2);
}

static void parse_measure(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "gen-ns", required_argument, NULL, 'G' },
		{ "gen-dev", required_argument, NULL, 'g' },
		{ "sink-ns", required_argument, NULL, 'S' },
		{ "sink-dev", required_argument, NULL, 's' },
		{ "dmac", required_argument, NULL, 'm' },
		{ "outer-dst", required_argument, NULL, 'o' },
		{ "saddr", required_argument, NULL, 'a' },
		{ "dst-net", required_argument, NULL, 'd' },
		{ "vni", required_argument, NULL, 'v' },
		{ "vxlan-port", required_argument, NULL, 'p' },
		{ "expect", required_argument, NULL, 'e' },
		{ "flows", required_argument, NULL, 'f' },
		{ "batch", required_argument, NULL, 'b' },
		{ "gen-cpu", required_argument, NULL, 'c' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "seconds", required_argument, NULL, 't' },
		{ "rt-prio", required_argument, NULL, 'r' },
		{ "sink-hook", required_argument, NULL, 'k' },
		{ }
	};
	int ch;

	*o = (struct opts){
		.gen_dev = "g0", .sink_dev = "s0", .saddr = "10.1.0.11",
		.dst_net = "10.2.0.0", .vxlan_port = 4789, .flows = 1024,
		.batch = 64, .gen_cpu = 0, .warmup = 0.5, .seconds = 2,
		.rt_prio = 0,
	};
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'G': o->gen_ns = optarg; break;
		case 'g': o->gen_dev = optarg; break;
		case 'S': o->sink_ns = optarg; break;
		case 's': o->sink_dev = optarg; break;
		case 'm': o->dmac = optarg; break;
		case 'o': o->outer_dst = optarg; break;
		case 'a': o->saddr = optarg; break;
		case 'd': o->dst_net = optarg; break;
		case 'v': o->vni = strtoul(optarg, NULL, 0); break;
		case 'p': o->vxlan_port = strtoul(optarg, NULL, 0); break;
		case 'e': o->expect = optarg; break;
		case 'f': o->flows = strtoul(optarg, NULL, 0); break;
		case 'b': o->batch = strtoul(optarg, NULL, 0); break;
		case 'c': o->gen_cpu = atoi(optarg); break;
		case 'w': o->warmup = atof(optarg); break;
		case 't': o->seconds = atof(optarg); break;
		case 'r': o->rt_prio = atoi(optarg); break;
		case 'k':
			if (strcmp(optarg, "xdp") && strcmp(optarg, "tc"))
				usage_measure();
			o->sink_tc = !strcmp(optarg, "tc");
			break;
		default: usage_measure();
		}
	}
	if (!o->gen_ns || !o->sink_ns || !o->dmac || !o->outer_dst ||
	    !o->vni || !o->expect || o->seconds <= 0 ||
	    (strcmp(o->expect, "vxlan") && strcmp(o->expect, "raw")))
		usage_measure();
	if (o->rt_prio < 0 || o->rt_prio > 98)
		die("--rt-prio: 0 (off) to 98");
	if (!o->flows || (o->flows & (o->flows - 1)))
		die("--flows must be a power of two");
}

static int cmd_measure(int argc, char **argv)
{
	struct sink_sample s0, s1;
	struct cpu_times c0, c1;
	struct sigaction sa = { .sa_handler = on_stop_signal };
	struct gen_thread g = { .err = 0 };
	struct gen_bpf *gen;
	struct sink_bpf *sink;
	unsigned int gen_if, sink_if;
	__u32 f0, f1;
	unsigned long long d[SINK_MAX];
	int ncpu = libbpf_num_possible_cpus(), kind, sink_cpu = 0, err;
	double t0, t1, dt;
	pthread_t th;
	struct opts o;

	parse_measure(argc, argv, &o);
	if (ncpu <= 0 || ncpu > MAX_CPUS)
		die("cannot count CPUs");
	kind = !strcmp(o.expect, "vxlan") ? SINK_VXLAN : SINK_RAW;

	enter_netns(o.gen_ns);
	gen_if = ifindex_of(o.gen_dev);
	enter_netns(o.sink_ns);
	sink_if = ifindex_of(o.sink_dev);

	gen = gen_bpf__open();
	sink = sink_bpf__open();
	if (!gen || !sink)
		die("cannot open the BPF programs: %s", strerror(errno));
	gen->rodata->tx_ifindex = gen_if;
	parse_mac(o.dmac, gen->rodata->dmac);
	parse_mac("02:62:65:6e:63:68", gen->rodata->smac);
	gen->rodata->saddr = ntohl(ipv4_of(o.saddr));
	gen->rodata->daddr_base = ntohl(ipv4_of(o.dst_net)) + 256;
	gen->rodata->n_flows = o.flows;
	sink->rodata->outer_daddr = ipv4_of(o.outer_dst);
	sink->rodata->vxlan_port = htons(o.vxlan_port);
	sink->rodata->vni = o.vni;
	sink->rodata->inner_saddr = ipv4_of(o.saddr);
	sink->rodata->inner_net = ipv4_of(o.dst_net);
	sink->rodata->inner_mask = htonl(0xffff0000);
	if ((err = gen_bpf__load(gen)) || (err = sink_bpf__load(sink)))
		die("cannot load the BPF programs: %s", strerror(-err));

	err = sink_attach(sink, sink_if, o.sink_tc);
	if (err)
		die("cannot attach the sink to %s: %s", o.sink_dev,
		    strerror(-err));

	/* The generator thread inherits the namespace it is created in. */
	enter_netns(o.gen_ns);
	g.prog_fd = bpf_program__fd(gen->progs.gen_xdp);
	g.cpu = o.gen_cpu;
	g.batch = o.batch;
	g.rt_prio = o.rt_prio;
	/* The sampler preempts the generator it shares the CPU with. */
	if ((err = pin_cpu(o.gen_cpu)) ||
	    (err = set_fifo(o.rt_prio ? o.rt_prio + 1 : 0)))
		die("cannot place the sampler: %s", strerror(-err));
	sigaction(SIGUSR1, &sa, NULL);
	if (pthread_create(&th, NULL, gen_run, &g))
		die("cannot start the generator");

	sleep_s(o.warmup);
	read_sink(sink, ncpu, &s0);
	read_cpu_times(&c0);
	f0 = gen->bss->seq;
	t0 = now();
	sleep_s(o.seconds);
	read_sink(sink, ncpu, &s1);
	read_cpu_times(&c1);
	f1 = gen->bss->seq;
	t1 = now();
	gen_stop(&g, th);

	enter_netns(o.sink_ns);
	sink_detach(sink_if, o.sink_tc);
	if (g.err)
		die("generator: %s", strerror(g.err));

	dt = t1 - t0;
	for (int k = 0; k < SINK_MAX; k++)
		d[k] = s1.n[k] - s0.n[k];
	for (int c = 1; c < ncpu; c++)
		if (s1.per_cpu[c] - s0.per_cpu[c] >
		    s1.per_cpu[sink_cpu] - s0.per_cpu[sink_cpu])
			sink_cpu = c;
	printf("mpps=%.4f expect=%s vxlan=%llu raw=%llu other=%llu "
	       "offered_mpps=%.2f sink_cpu=%d", d[kind] / dt / 1e6, o.expect,
	       d[SINK_VXLAN], d[SINK_RAW], d[SINK_OTHER],
	       (__u32)(f1 - f0) / dt / 1e6, sink_cpu);
	for (int c = 0; c < ncpu; c++) {
		unsigned long long tot = c1.total[c] - c0.total[c];

		printf(" cpu%d_busy=%.2f", c,
		       tot ? (double)(c1.busy[c] - c0.busy[c]) / tot : 0);
	}
	printf("\n");
	gen_bpf__destroy(gen);
	sink_bpf__destroy(sink);
	if (!d[kind])
		die("no %s packet reached the sink", o.expect);
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(libbpf_quiet);
	if (argc >= 2 && !strcmp(argv[1], "attach"))
		return cmd_attach(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "measure"))
		return cmd_measure(argc - 1, argv + 1);
	fprintf(stderr, "usage: bench_e2e attach|measure ... (see the source)\n");
	return 2;
}
