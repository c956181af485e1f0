// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_dp: nanoseconds per packet of the XDP datapath under
 * BPF_PROG_TEST_RUN, against a program that only returns XDP_PASS.
 *
 *   bench_dp [-n CALLS] [--json FILE] [--case NAME]...
 *
 * Every measurement is one call with repeat = 1 (the program rewrites the
 * packet, so repeat > 1 would time the drop path from the second run on);
 * the kernel's own duration of each call is kept and the median reported.
 * The cases take turns within one loop so that drift (frequency, noisy
 * neighbours) falls on all of them alike, in a new random order every
 * round so that none always runs after the same other (whose program,
 * maps and packet it would find in the caches, or not).  Runs in a
 * private network namespace (tests/lib/netns.h) so the FIB lookups are
 * the same everywhere.
 *
 *   xdp_pass_ns    the baseline program
 *   encap_ns       egress with 10k remote prefixes, next hop from mg_nh4
 *   encap_fib_ns   the same with mg_nh4 empty: bpf_fib_lookup()
 *   decap_ns       ingress from a peer to a local pod (FIB, redirect)
 *   lb_established_ns  a service flow already tracked: DNAT, encap
 *   lb_newflow_ns  a new service flow every call (source port + 1):
 *                  Maglev, one LRU insert, DNAT, encap
 *   encap6_ns      IPv6 inner over an IPv6 underlay, 10k remote IPv6
 *                  prefixes, UDP checksum over the inner frame (default)
 *   encap6_nocsum_ns  the same with udp6_checksum = no
 *   encap6_over4_ns   IPv6 inner over the IPv4 underlay
 *   decap6_ns      IPv6 inner from an IPv6 peer to a local pod
 *   ref_encap_ns   the reference encap (tests/bench/ref_encap.bpf.c: parse,
 *                  one LPM lookup over the same prefixes, push 50 bytes,
 *                  IPv4 checksum, XDP_TX) on the encap case's packet
 *   ref_decap_ns   the reference decap (parse, one LPM lookup of the inner
 *                  source, strip 50 bytes, XDP_TX) on decap's packet
 *   decap_fib_ns, decap6_fib_ns  the same two from a new inner source
 *                  every call (the next of the peer cluster's prefixes,
 *                  a host in it), so the cluster side's next hop is never
 *                  kept from an earlier packet (mg_fibc): bpf_fib_lookup()
 *                  and an insert.  These two take turns in a second loop
 *                  (they walk the tries cold and fill a cache)
 *   encap_noev_ns  encap_ns on the datapath built without the event
 *                  stream's code (tests/bench/noev.bpf.c, on dp's maps)
 *   monitor_off_ns encap_ns again, the stream compiled in and nobody
 *                  listening: minus encap_noev_ns, the cost of the
 *                  disabled stream (target <= 2 ns)
 *   drop_ns        a tunnel packet from a stranger (peer_unknown), no
 *                  monitor
 *   monitor_drop_ns  the same with a monitor listening to it (the event
 *                  copied into its ring, which is drained between calls)
 *
 * Then, for xdp_pass, encap, decap and the two references alone, in
 * --rounds rounds (3), three ways:
 *   hot   200 calls of 2000 repeats each: tests/bench/hot.bpf.c puts the
 *         original frame back before every run and tail-calls the case's
 *         program (the same loaded program), against the same with
 *         xdp_pass on the same frame; the last run's output must be one
 *         run's, or the bench fails
 *   b2b   each case's repeat = 1 calls back to back (--b2b, 20000)
 *   cold  the cases in turn, repeat = 1, --evict-kib KiB (4096) of other
 *         memory read before every call (--cold calls, 2000), as on a
 *         gateway busy with many flows
 * encap_vs_ref = (encap - xdp_pass) / (ref_encap - xdp_pass), decap_vs_ref
 * the same, from the interleaved loop above; *_hot, *_b2b and *_cold from
 * those phases, median of the rounds with the spread (_min, _max).
 *
 * And the size of every program the datapath loads (insns_<prog>: xlated
 * instructions, jited_bytes_<prog>), of the references' too, and tc_obj_insns
 * (tc_obj_jited_bytes): all of the TC object's.  These are with this bench's
 * settings (read-only globals prune what they turn off); e2e1.sh reads
 * the XDP sides from a running agent.
 *
 * Prints a table; with --json FILE also writes one JSON object with those
 * keys (FILE "-" is stdout) for the bench driver to merge.  --case runs
 * only the cases named (no ratios, no JSON): for a profiler (perf record)
 * to see one path alone.
 */
#include <errno.h>
#include <stdarg.h>
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
#include "tc.skel.h"
#include "pass.skel.h"
#include "noev.skel.h"
#include "ref_encap.skel.h"
#include "hot.skel.h"
#include "lib/netns.h"
#include "lib/pkt.h"

#define N_PREFIXES	10000
#define N_CLUSTERS	8		/* remote clusters 2..9 */
#define OWN_CID		1
#define TUN		IP4(192, 0, 2, 1)
#define PEER		IP4(192, 0, 2, 2)
#define POD		IP4(10, 1, 0, 5)

/* Remote prefix i: 10.(16 + i / 256).(i % 256).0/24, cluster 2 + i % 8. */
#define PREFIX(i)	IP4(10, 16 + (i) / 256, (i) % 256, 0)
#define REMOTE_POD	IP4(10, 35, 77, 9)	/* in prefix 4941, cluster 7 */
#define PEER_POD	IP4(10, 16, 0, 9)	/* in prefix 0, cluster 2 */

/*
 * IPv6: local fd00:1::/64, remote fd00:10:<i>::/48 for the same 10k
 * prefixes and clusters; clusters 2..5 have an IPv6 gateway, 6..9 an IPv4
 * one (so both underlays are measured against one table).
 */
#define A6(...)		((const uint8_t[16]){ __VA_ARGS__ })
#define TUN6		A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 1)
#define PEER6		A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 2)
#define POD6		A6(0xfd, 0, 0, 1, [15] = 5)
static void prefix6(__u32 i, uint8_t *a)
{
	memset(a, 0, 16);
	a[0] = 0xfd;
	a[3] = 0x10;
	a[4] = i >> 8;
	a[5] = i & 0xff;
}

#define NCASES		18
#define N_FIB_FIRST	16	/* the new-source cases: a loop of their own */
/* Cases of the hot and cold phases (indices into c[]). */
enum { C_PASS = 0, C_ENCAP = 1, C_DECAP = 3, C_REF_ENCAP = 14,
       C_REF_DECAP = 15 };
#define MAX_ROUNDS	20
#define MAX_FIGS	128

struct bcase {
	const char *name;
	bool new_flow;		/* a new TCP source port every call */
	int new_src;		/* a new inner source every call: 4, 6 or 0 */
	int prog;
	struct pkt *pkt;
	int verdict;
	struct ring_buffer *drain;	/* emptied before each call */
	__u32 *ns;
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "bench_dp: %s: %s\n", what,
		strerror(err < 0 ? -err : err));
	return 1;
}

static int put(int fd, const void *k, const void *v)
{
	return bpf_map_update_elem(fd, k, v, BPF_ANY) ? -errno : 0;
}

/* The mesh: local 10.1/16, 10k remote /24s over 8 clusters, one gateway. */
static int fill_maps(struct mg_dp *dp, bool nh_entry)
{
	int ep = mg_dp_map_fd(dp, "mg_ep4");
	int clus = mg_dp_map_fd(dp, "mg_clus");
	int peer = mg_dp_map_fd(dp, "mg_peer4");
	int nh = mg_dp_map_fd(dp, "mg_nh4_v2");
	int ep6 = mg_dp_map_fd(dp, "mg_ep6");
	int peer6_fd = mg_dp_map_fd(dp, "mg_peer6");
	int nh6 = mg_dp_map_fd(dp, "mg_nh6");
	int local4 = mg_dp_map_fd(dp, "mg_local4");
	int local6 = mg_dp_map_fd(dp, "mg_local6");
	struct mg_ep4_key k = { 16, IP4(10, 1, 0, 0) };
	struct mg_ep_val v = { .cluster_id = OWN_CID, .flags = MG_EP_F_LOCAL };
	struct mg_cluster_val cv = { .n_gw = 1 };
	struct mg_peer_val pv = { .cluster_id = 2 };
	struct mg_nh_val nv = { .ifindex = 1 };
	__u32 addr = PEER;
	int err;

	struct mg_ep6_key k6 = { .prefixlen = 64 };
	struct mg_in6 peer6;

	/* Our own prefix in mg_local4 too, as the agent writes it. */
	err = put(ep, &k, &v) ?: put(local4, &k, &v);
	/* test_run's ingress, lo: a one-arm interface without a MAC. */
	if (!err)
		err = put(mg_dp_map_fd(dp, "mg_ifs"), &(__u32){ 1 },
			  &(struct mg_if_val){ .roles = MG_IF_CLUSTER |
							MG_IF_UNDERLAY });
	for (__u32 i = 0; i < N_PREFIXES && !err; i++) {
		k = (struct mg_ep4_key){ 24, PREFIX(i) };
		v = (struct mg_ep_val){ .cluster_id = 2 + i % N_CLUSTERS };
		err = put(ep, &k, &v);
	}
	memcpy(k6.addr, POD6, 16);
	k6.addr[2] = k6.addr[3] = 0;
	v = (struct mg_ep_val){ .cluster_id = OWN_CID, .flags = MG_EP_F_LOCAL };
	if (!err)
		err = put(ep6, &k6, &v) ?: put(local6, &k6, &v);
	for (__u32 i = 0; i < N_PREFIXES && !err; i++) {
		k6.prefixlen = 48;
		prefix6(i, (uint8_t *)k6.addr);
		v = (struct mg_ep_val){ .cluster_id = 2 + i % N_CLUSTERS };
		err = put(ep6, &k6, &v);
	}
	for (__u32 cid = 2; cid < 2 + N_CLUSTERS && !err; cid++) {
		memset(&cv.gw[0], 0, sizeof(cv.gw[0]));
		if (cid < 6) {
			cv.gw[0].family = MG_AF_INET6;
			memcpy(cv.gw[0].addr, PEER6, 16);
		} else {
			cv.gw[0].family = MG_AF_INET;
			cv.gw[0].addr[0] = PEER;
		}
		err = put(clus, &cid, &cv);
	}
	if (!err)
		err = put(peer, &addr, &pv);
	memcpy(peer6.addr, PEER6, 16);
	if (!err)
		err = put(peer6_fd, &peer6, &pv);
	if (!err && nh_entry) {
		nv.mtu = 1500;
		memcpy(nv.smac, mgt_underlay_mac, 6);
		memcpy(nv.dmac, mgt_peer_mac, 6);
		err = put(nh, &addr, &nv) ?: put(nh6, &peer6, &nv);
	}
	return err;
}

/*
 * A service 10.96.0.10:80/tcp over four backends of cluster 7 (IPv4
 * gateway), its Maglev table spread over them.
 */
#define VIP	IP4(10, 96, 0, 10)

static int fill_lb(struct mg_dp *dp)
{
	int svc = mg_dp_map_fd(dp, "mg_svc");
	int be = mg_dp_map_fd(dp, "mg_lbbe");
	int ring = mg_dp_map_fd(dp, "mg_lbring");
	struct mg_svc_key sk = { .vip = VIP, .port = htons(80),
				 .proto = IPPROTO_TCP };
	struct mg_svc_val sv = { .id = 0 };
	__u32 id = 0;
	int fd, err;

	err = put(svc, &sk, &sv);
	for (__u32 i = 0; i < 4 && !err; i++) {
		struct mg_lbrev_key rk = { .addr = IP4(10, 35, 77, 20 + i),
					   .port = htons(8080),
					   .proto = IPPROTO_TCP };
		struct mg_lbrev_val rv = { .svc = {
			{ .vip = VIP, .vport = htons(80) } } };

		err = put(mg_dp_map_fd(dp, "mg_lbrev"), &rk, &rv);
	}
	for (__u32 i = 0; i < 4 && !err; i++) {
		struct mg_lb_backend b = {
			.addr = IP4(10, 35, 77, 20 + i), .port = htons(8080),
			.cluster_id = 7, .flags = MG_LB_BE_F_LIVE, .gen = 1,
		};

		err = put(be, &i, &b);
	}
	if (err)
		return err;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mg_ring", 4, 4,
			    MG_LB_RING_SIZE, NULL);
	if (fd < 0)
		return -errno;
	for (__u32 i = 0; i < MG_LB_RING_SIZE && !err; i++)
		err = put(fd, &i, &(__u32){ i % 4 });
	if (!err)
		err = put(ring, &id, &fd);
	close(fd);
	return err;
}

static void pod_frame(struct pkt *p, uint32_t src, uint32_t dst)
{
	static const uint8_t a[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t b[6] = { 0x02, 0, 0, 0, 0, 2 };

	pkt_eth(p, a, b, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = src, .daddr = dst,
				      .proto = IPPROTO_TCP, .ttl = 64 });
	pkt_tcp(p, 40000, 80, 0x10);
	pkt_data(p, 64, 1);
}

static void pod6_frame(struct pkt *p, const uint8_t *src, const uint8_t *dst)
{
	static const uint8_t a[6] = { 0x02, 0, 0, 0, 0, 1 };
	static const uint8_t b[6] = { 0x02, 0, 0, 0, 0, 2 };

	pkt_eth(p, a, b, ETH_P_IPV6);
	pkt_ip6(p, src, dst, IPPROTO_TCP, 64);
	pkt_tcp(p, 40000, 80, 0x10);
	pkt_data(p, 64, 1);
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static int run_once(struct bcase *c, __u32 *ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = c->pkt->data,
		.data_size_in = c->pkt->len,
		.repeat = 1,
	);

	if (c->new_src == 4) {
		/* Cluster 2's /24s are every 8th prefix: 1250 x 254. */
		static __u32 i;
		__u32 n = N_PREFIXES / N_CLUSTERS;
		__u32 a = ntohl(PREFIX(i % n * N_CLUSTERS)) + 1 + i / n % 254;

		i++;
		pkt_put32(c->pkt, pkt_off(c->pkt, PKT_IP4, 1) + 12, a);
	} else if (c->new_src == 6) {
		/* The same walk over cluster 2's /48s. */
		static __u32 i;
		__u32 n = N_PREFIXES / N_CLUSTERS;
		size_t ip = pkt_off(c->pkt, PKT_IP6, 1);
		uint8_t a[16];

		prefix6(i % n * N_CLUSTERS, a);
		for (int k = 0; k < 16; k++)
			pkt_put8(c->pkt, ip + 8 + k, a[k]);
		pkt_put16(c->pkt, ip + 8 + 14, 1 + i / n % 254);
		i++;
		/* The outer UDP checksum covers it: gateways check it. */
		pkt_fix_csums(c->pkt);
	}
	if (c->new_flow) {
		size_t tcp = pkt_off(c->pkt, PKT_TCP, 0);

		pkt_put16(c->pkt, tcp, pkt_get16(c->pkt, tcp) + 1);
	}
	if (c->drain && ring_buffer__consume(c->drain) < 0)
		return -EIO;
	if (bpf_prog_test_run_opts(c->prog, &o))
		return -errno;
	if ((int)o.retval != c->verdict) {
		fprintf(stderr, "bench_dp: %s: verdict %u, want %d\n",
			c->name, o.retval, c->verdict);
		return -EPROTO;
	}
	*ns = o.duration;
	return 0;
}

/* calls rounds of the n cases, in a new random order every round. */
static int run_rounds(struct bcase *c, int n, long calls, unsigned int *seed)
{
	for (long i = 0; i < calls; i++) {
		int order[NCASES], err;

		for (int k = 0; k < n; k++)
			order[k] = k;
		for (int k = n - 1; k > 0; k--) {
			int j = rand_r(seed) % (k + 1), t = order[k];

			order[k] = order[j];
			order[j] = t;
		}
		for (int k = 0; k < n; k++) {
			struct bcase *b = &c[order[k]];

			err = run_once(b, &b->ns[i]);
			if (err)
				return fail(b->name, err);
		}
	}
	return 0;
}

/*
 * The datapath without the event stream, on dp's maps and with its
 * settings (the same globals, so the same .rodata).
 */
static struct noev_bpf *load_noev(struct mg_dp *dp)
{
	struct noev_bpf *ne = noev_bpf__open();
	struct bpf_map *m;
	size_t a, b;
	const void *ro;
	int err = 0;

	if (!ne)
		return NULL;
	bpf_object__for_each_map(m, ne->obj) {
		int fd = mg_dp_map_fd(dp, bpf_map__name(m));

		/* dp's maps are not pinned; nor are these (libbpf would pin
		 * them by name at the bpffs root) */
		bpf_map__set_pin_path(m, NULL);
		if (fd >= 0 && (err = bpf_map__reuse_fd(m, fd)))
			break;
	}
	ro = bpf_map__initial_value(dp->skel->maps.rodata, &a);
	bpf_map__initial_value(ne->maps.rodata, &b);
	if (!err && ro && a == b)
		err = bpf_map__set_initial_value(ne->maps.rodata, ro, a);
	else if (!err)
		err = -EINVAL;
	if (err || (err = noev_bpf__load(ne))) {
		noev_bpf__destroy(ne);
		errno = -err;
		return NULL;
	}
	return ne;
}

static int ev_count(void *ctx, void *data, size_t size)
{
	return 0;
}

/*
 * A monitor on dp: its ring in slot 0, listening to reason, no sampling
 * and no rate limit.  The ring buffer to drain, or NULL.
 */
static struct ring_buffer *listen_on(struct mg_dp *dp, enum mg_reason r)
{
	struct mg_ev_cfg cfg = { .mask = 1ULL << r };
	__u32 key = 0;
	int ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "mg_evring", 0, 0,
				  MG_EV_RING_BYTES, NULL);

	cfg.listener[0].pid = getpid();
	cfg.listener[0].mask = cfg.mask;
	if (ring < 0 ||
	    put(mg_dp_map_fd(dp, "mg_evrings"), &key, &ring) ||
	    put(mg_dp_map_fd(dp, "mg_evcfg"), &key, &cfg))
		return NULL;
	return ring_buffer__new(ring, ev_count, NULL, NULL);
}

/* The reference's trie: the same prefixes as fill_maps() gives mg_ep4. */
static int fill_ref(struct ref_encap_bpf *ref)
{
	struct {
		__u32 prefixlen, addr;
	} k = { 16, IP4(10, 1, 0, 0) };
	struct {
		__u32 gw, cluster;
	} v = { 0, OWN_CID };
	int fd = bpf_map__fd(ref->maps.ref_ep4), err;

	err = put(fd, &k, &v);
	for (__u32 i = 0; i < N_PREFIXES && !err; i++) {
		k.prefixlen = 24;
		k.addr = PREFIX(i);
		v.gw = PEER;
		v.cluster = 2 + i % N_CLUSTERS;
		err = put(fd, &k, &v);
	}
	return err;
}

static struct ref_encap_bpf *load_ref(void)
{
	struct ref_encap_bpf *ref = ref_encap_bpf__open();

	if (!ref)
		return NULL;
	ref->rodata->tunnel_addr = TUN;
	ref->rodata->vxlan_port = htons(MG_VXLAN_PORT_DEFAULT);
	ref->rodata->vni = OWN_CID;
	for (int i = 0; i < 6; i++) {
		ref->rodata->smac[i] = mgt_underlay_mac[i];
		ref->rodata->dmac[i] = mgt_peer_mac[i];
	}
	if (ref_encap_bpf__load(ref) || fill_ref(ref)) {
		ref_encap_bpf__destroy(ref);
		return NULL;
	}
	return ref;
}

/*
 * The reference does what it says: encap pushes 50 bytes of VXLAN to the
 * peer with a valid outer checksum and the frame behind it untouched;
 * decap gives back the inner frame.
 */
static int check_ref(struct ref_encap_bpf *ref, const struct pkt *eg,
		     const struct pkt *vx)
{
	uint8_t out[512];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = eg->data,
		    .data_size_in = eg->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	__u32 sum = 0, daddr;

	if (bpf_prog_test_run_opts(bpf_program__fd(ref->progs.ref_encap), &o))
		return -errno;
	if (o.retval != XDP_TX || o.data_size_out != eg->len + 50 ||
	    out[12] != 0x08 || out[13] != 0 || out[23] != IPPROTO_UDP ||
	    memcmp(out + 50, eg->data, eg->len) || out[36] != 0x12 ||
	    out[37] != 0xb5 || out[42] != 0x08 || out[49] != 0 ||
	    out[48] != OWN_CID)
		return -EPROTO;
	for (int i = 14; i < 34; i += 2)
		sum += out[i] << 8 | out[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	memcpy(&daddr, out + 30, 4);
	if (sum != 0xffff || daddr != PEER)
		return -EPROTO;

	o.data_in = vx->data;
	o.data_size_in = vx->len;
	o.data_size_out = sizeof(out);
	if (bpf_prog_test_run_opts(bpf_program__fd(ref->progs.ref_decap), &o))
		return -errno;
	if (o.retval != XDP_TX || o.data_size_out != vx->len - 50 ||
	    memcmp(out, vx->data + 50, vx->len - 50))
		return -EPROTO;
	return 0;
}

/* Figures beyond one per case, for the table's end and the JSON. */
struct figs {
	int n;
	char name[MAX_FIGS][48];
	double v[MAX_FIGS];
};

static void fig(struct figs *f, double v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fig(struct figs *f, double v, const char *fmt, ...)
{
	va_list ap;

	if (f->n == MAX_FIGS)
		return;
	va_start(ap, fmt);
	vsnprintf(f->name[f->n], sizeof(f->name[0]), fmt, ap);
	va_end(ap);
	f->v[f->n++] = v;
}

static double median_u32(__u32 *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of n round figures, and their spread (sorts v). */
static void round_figs(struct figs *f, double *v, int n, const char *name)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	fig(f, n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, "%s", name);
	fig(f, v[0], "%s_min", name);
	fig(f, v[n - 1], "%s_max", name);
}

/* Read (and so cache) n bytes of buf: what was in the caches is gone. */
static volatile unsigned long evict_sink;
static void evict(const unsigned char *buf, size_t n)
{
	unsigned long s = 0;

	for (size_t i = 0; i < n; i += 64)
		s += buf[i];
	evict_sink += s;
}

/* The cases of the hot and cold phases. */
static const int phase_cases[] = { C_PASS, C_ENCAP, C_DECAP, C_REF_ENCAP,
				   C_REF_DECAP };
#define N_PHASE	 (int)(sizeof(phase_cases) / sizeof(phase_cases[0]))

static double vs(const double *m, int a, int ref)
{
	double d = m[ref] - m[C_PASS];

	return d > 0 ? (m[a] - m[C_PASS]) / d : 0;
}

/*
 * rounds of a b2b phase (b2b calls of each case back to back, the first
 * tenth not kept) and a cold phase (cold calls of each case, in turn,
 * evict_kib KiB read before each).
 */
static int run_phases(struct bcase *c, int rounds, long b2b, long cold,
		      long evict_kib, unsigned int *seed, struct figs *f)
{
	static const char *const mode[2] = { "b2b", "cold" };
	double ratio[2][2][MAX_ROUNDS], abs_ns[2][N_PHASE][MAX_ROUNDS];
	size_t ebytes = (size_t)evict_kib << 10;
	long n = b2b > cold ? b2b : cold;
	unsigned char *ebuf = malloc(ebytes ? ebytes : 1);
	__u32 *ns = calloc(n, sizeof(*ns) * N_PHASE);
	int err = 0;

	if (!ebuf || !ns) {
		err = -ENOMEM;
		goto out;
	}
	memset(ebuf, 1, ebytes);
	for (int r = 0; r < rounds && !err; r++) {
		double m[2][NCASES] = { { 0 } };
		int order[N_PHASE];

		/* b2b: a shuffled order of cases, each run b2b times */
		for (int k = 0; k < N_PHASE; k++)
			order[k] = k;
		for (int k = N_PHASE - 1; k > 0; k--) {
			int j = rand_r(seed) % (k + 1), t = order[k];

			order[k] = order[j];
			order[j] = t;
		}
		for (int k = 0; k < N_PHASE && !err; k++) {
			struct bcase *b = &c[phase_cases[order[k]]];
			__u32 *v = ns + (size_t)order[k] * n;

			for (long i = 0; i < b2b && !err; i++)
				err = run_once(b, &v[i]);
			m[0][phase_cases[order[k]]] =
				median_u32(v + b2b / 10, b2b - b2b / 10);
		}
		/* cold: every call after the caches were flooded */
		for (long i = 0; i < cold && !err; i++) {
			for (int k = N_PHASE - 1; k > 0; k--) {
				int j = rand_r(seed) % (k + 1), t = order[k];

				order[k] = order[j];
				order[j] = t;
			}
			for (int k = 0; k < N_PHASE && !err; k++) {
				evict(ebuf, ebytes);
				err = run_once(&c[phase_cases[order[k]]],
					       &ns[(size_t)order[k] * n + i]);
			}
		}
		for (int k = 0; k < N_PHASE && !err; k++)
			m[1][phase_cases[k]] =
				median_u32(ns + (size_t)k * n, cold);
		for (int h = 0; h < 2 && !err; h++) {
			ratio[h][0][r] = vs(m[h], C_ENCAP, C_REF_ENCAP);
			ratio[h][1][r] = vs(m[h], C_DECAP, C_REF_DECAP);
			for (int k = 0; k < N_PHASE; k++)
				abs_ns[h][k][r] = m[h][phase_cases[k]];
			printf("round %d %-5s: pass %.0f encap %.0f decap %.0f "
			       "ref_encap %.0f ref_decap %.0f ns: encap_vs_ref "
			       "%.2f decap_vs_ref %.2f\n", r + 1, mode[h],
			       m[h][C_PASS], m[h][C_ENCAP], m[h][C_DECAP],
			       m[h][C_REF_ENCAP], m[h][C_REF_DECAP],
			       ratio[h][0][r], ratio[h][1][r]);
		}
	}
	if (err)
		goto out;
	for (int h = 0; h < 2; h++) {
		char name[48];

		snprintf(name, sizeof(name), "encap_vs_ref_%s", mode[h]);
		round_figs(f, ratio[h][0], rounds, name);
		snprintf(name, sizeof(name), "decap_vs_ref_%s", mode[h]);
		round_figs(f, ratio[h][1], rounds, name);
		for (int k = 0; k < N_PHASE; k++) {
			const char *cn = c[phase_cases[k]].name;
			double *v = abs_ns[h][k];

			/* "encap_ns" -> "encap_hot_ns" */
			qsort(v, rounds, sizeof(*v), cmp_dbl);
			fig(f, rounds % 2 ? v[rounds / 2] :
			    (v[rounds / 2 - 1] + v[rounds / 2]) / 2,
			    "%.*s_%s_ns", (int)(strlen(cn) - 3), cn, mode[h]);
		}
	}
out:
	free(ebuf);
	free(ns);
	return err;
}

/*
 * Hot with repeats: hot.bpf.c puts the case's frame back before every run
 * and tail-calls its program, repeat times per call; the baseline is the
 * same with xdp_pass on the same frame.  Rounds of calls calls of each, in
 * turn; per round the medians give the ratios.
 */
struct hot_case {
	const char *name;
	struct bcase *c;	/* program, packet, verdict */
	uint8_t want[512];	/* one run's output */
	__u32 want_len;
};

static int hot_call(struct hot_bpf *hot, struct hot_case *h, __u32 repeat,
		    __u32 *ns)
{
	struct {
		__u32 len, pad;
		uint8_t b[256];
	} fr = { .len = h->c->pkt->len };
	uint8_t out[512];
	__u32 k = 0, fd = h->c->prog;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = h->c->pkt->data,
		    .data_size_in = h->c->pkt->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = repeat);

	if (h->c->pkt->len > sizeof(fr.b))
		return -E2BIG;
	memcpy(fr.b, h->c->pkt->data, h->c->pkt->len);
	if (put(bpf_map__fd(hot->maps.hot_orig), &k, &fr) ||
	    put(bpf_map__fd(hot->maps.hot_progs), &k, &fd) ||
	    bpf_prog_test_run_opts(bpf_program__fd(hot->progs.hot_run), &o))
		return -errno;
	/* The last run saw the original frame: so did every one before. */
	if ((int)o.retval != h->c->verdict || o.data_size_out != h->want_len ||
	    memcmp(out, h->want, h->want_len)) {
		fprintf(stderr, "bench_dp: %s: a repeated run differs from "
				"one run (verdict %u)\n", h->name, o.retval);
		return -EPROTO;
	}
	*ns = o.duration;
	return 0;
}

static int run_hot(struct bcase *c, int rounds, long calls, __u32 repeat,
		   unsigned int *seed, struct figs *f)
{
	struct bcase pass_eg = c[C_PASS], pass_vx = c[C_PASS];
	static struct hot_case h[6] = {
		{ .name = "xdp_pass" },	 { .name = "xdp_pass_vx" },
		{ .name = "encap" },	 { .name = "decap" },
		{ .name = "ref_encap" }, { .name = "ref_decap" },
	};
	double ratio[2][MAX_ROUNDS], absn[6][MAX_ROUNDS];
	struct hot_bpf *hot = hot_bpf__open_and_load();
	__u32 *ns = calloc(calls * 6, sizeof(*ns));
	int err = 0;

	pass_vx.pkt = c[C_DECAP].pkt;
	h[0].c = &pass_eg;
	h[1].c = &pass_vx;
	h[2].c = &c[C_ENCAP];
	h[3].c = &c[C_DECAP];
	h[4].c = &c[C_REF_ENCAP];
	h[5].c = &c[C_REF_DECAP];
	if (!hot || !ns) {
		err = hot ? -ENOMEM : -errno;
		goto out;
	}
	for (int k = 0; k < 6 && !err; k++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = h[k].c->pkt->data,
			    .data_size_in = h[k].c->pkt->len,
			    .data_out = h[k].want,
			    .data_size_out = sizeof(h[k].want), .repeat = 1);

		if (bpf_prog_test_run_opts(h[k].c->prog, &o))
			err = -errno;
		h[k].want_len = o.data_size_out;
	}
	for (int r = 0; r < rounds && !err; r++) {
		double m[6];

		for (long i = 0; i < calls && !err; i++) {
			int order[6] = { 0, 1, 2, 3, 4, 5 };

			for (int k = 5; k > 0; k--) {
				int j = rand_r(seed) % (k + 1), t = order[k];

				order[k] = order[j];
				order[j] = t;
			}
			for (int k = 0; k < 6 && !err; k++)
				err = hot_call(hot, &h[order[k]], repeat,
					       &ns[order[k] * calls + i]);
		}
		if (err)
			break;
		for (int k = 0; k < 6; k++)
			absn[k][r] = m[k] = median_u32(ns + k * calls, calls);
		ratio[0][r] = m[4] - m[0] > 0 ?
				      (m[2] - m[0]) / (m[4] - m[0]) : 0;
		ratio[1][r] = m[5] - m[1] > 0 ?
				      (m[3] - m[1]) / (m[5] - m[1]) : 0;
		printf("round %d hot  : pass %.0f/%.0f encap %.0f decap %.0f "
		       "ref_encap %.0f ref_decap %.0f ns: encap_vs_ref %.2f "
		       "decap_vs_ref %.2f\n", r + 1, m[0], m[1], m[2], m[3],
		       m[4], m[5], ratio[0][r], ratio[1][r]);
	}
	if (err)
		goto out;
	round_figs(f, ratio[0], rounds, "encap_vs_ref_hot");
	round_figs(f, ratio[1], rounds, "decap_vs_ref_hot");
	for (int k = 0; k < 6; k++) {
		double *v = absn[k];

		qsort(v, rounds, sizeof(*v), cmp_dbl);
		fig(f, rounds % 2 ? v[rounds / 2] :
		    (v[rounds / 2 - 1] + v[rounds / 2]) / 2, "%s_hot_ns",
		    h[k].name);
	}
out:
	free(ns);
	hot_bpf__destroy(hot);
	return err;
}

/*
 * insns_<prog> and jited_bytes_<prog> of every program of obj; with role,
 * also <role>_insns and <role>_jited_bytes over all of them (what one
 * attachment loads, tail calls included).
 */
static int prog_sizes(struct bpf_object *obj, const char *role,
		      struct figs *f)
{
	double insns = 0, jited = 0;
	struct bpf_program *p;

	bpf_object__for_each_program(p, obj) {
		struct bpf_prog_info info = { 0 };
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (fd < 0)
			continue;	/* not loaded (autoload off) */
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return -errno;
		fig(f, info.xlated_prog_len / 8, "insns_%s",
		    bpf_program__name(p));
		fig(f, info.jited_prog_len, "jited_bytes_%s",
		    bpf_program__name(p));
		insns += info.xlated_prog_len / 8;
		jited += info.jited_prog_len;
	}
	if (role) {
		fig(f, insns, "%s_insns", role);
		fig(f, jited, "%s_jited_bytes", role);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_dp [-n CALLS] [--json FILE] [--case NAME]...\n"
		   "                [--rounds N] [--b2b CALLS] [--cold CALLS] "
		   "[--evict-kib KIB]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "calls", required_argument, NULL, 'n' },
		{ "case", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'R' },
		{ "b2b", required_argument, NULL, 'H' },
		{ "cold", required_argument, NULL, 'C' },
		{ "evict-kib", required_argument, NULL, 'E' },
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
	struct mg_dp dp = { 0 }, dp_fib = { 0 }, dp_nocsum = { 0 };
	struct pass_bpf *pass = NULL;
	struct noev_bpf *noev = NULL;
	struct ref_encap_bpf *ref = NULL;
	static struct figs figs;
	long rounds = 3, b2b = 20000, cold = 2000, evict_kib = 4096;
	long hot_calls = 200;
	__u32 hot_repeat = 2000;
	struct ring_buffer *mon = NULL;
	struct pkt stranger;
	struct pkt eg, vx, eg6, eg6_4, vx6, lb_est, lb_new, vx_new, vx6_new;
	uint8_t remote6[16], peer_pod6[16];
	struct mgt_topo topo;
	const char *json = NULL;
	long calls = 20000;
	struct bcase c[NCASES] = { 0 };
	int err, opt, n = NCASES, rc = 1;
	double med[NCASES];
	unsigned int seed = 1;
	const char *only[NCASES];
	int n_only = 0;

	while ((opt = getopt_long(argc, argv, "c:j:n:h", opts, NULL)) != -1) {
		long *lv = opt == 'R' ? &rounds : opt == 'H' ? &b2b :
			   opt == 'C' ? &cold : &evict_kib;

		switch (opt) {
		case 'R':
		case 'H':
		case 'C':
		case 'E':
			*lv = strtol(optarg, NULL, 10);
			if (rounds < 1 || rounds > MAX_ROUNDS || b2b < 10 ||
			    b2b > 10000000 || cold < 1 || cold > 10000000 ||
			    evict_kib < 0 || evict_kib > 1 << 20) {
				fprintf(stderr, "bench_dp: want --rounds 1..%d, "
						"--b2b 10.., --cold 1.., "
						"--evict-kib 0..1048576\n",
					MAX_ROUNDS);
				return 2;
			}
			break;
		case 'c':
			if (n_only == NCASES) {
				usage(stderr);
				return 2;
			}
			only[n_only++] = optarg;
			break;
		case 'j':
			json = optarg;
			break;
		case 'n':
			calls = strtol(optarg, NULL, 10);
			if (calls < 1 || calls > 10000000) {
				fprintf(stderr,
					"bench_dp: -n %s: want 1..10000000\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}

	memcpy(s.tunnel6, TUN6, 16);
	err = mgt_netns_topo(&topo);
	if (err)
		return fail("network namespace", err);

	pass = pass_bpf__open_and_load();
	if (!pass)
		return fail("loading the baseline", errno);
	err = mg_dp_load(&dp, &s, NULL);
	if (err) {
		fail("loading the datapath", err);
		goto out;
	}
	err = mg_dp_load(&dp_fib, &s, NULL);
	if (err) {
		fail("loading the datapath", err);
		goto out;
	}
	s.udp6_csum = false;
	err = mg_dp_load(&dp_nocsum, &s, NULL);
	if (err) {
		fail("loading the datapath", err);
		goto out;
	}
	err = fill_maps(&dp, true) ?: fill_maps(&dp_fib, false) ?:
	      fill_maps(&dp_nocsum, true) ?: fill_lb(&dp);
	if (err) {
		fail("filling the maps", err);
		goto out;
	}
	noev = load_noev(&dp);
	if (!noev) {
		fail("loading the datapath without events", -errno);
		goto out;
	}
	ref = load_ref();
	if (!ref) {
		fail("loading the reference encap", -errno);
		goto out;
	}
	/* dp_nocsum's cases pass nothing it would emit. */
	mon = listen_on(&dp_nocsum, MG_DROP_PEER_UNKNOWN);
	if (!mon) {
		fail("a monitor's ring", -errno);
		goto out;
	}

	pkt_init(&eg);
	pod_frame(&eg, POD, REMOTE_POD);
	pkt_finish(&eg);
	pkt_init(&vx);
	pkt_eth(&vx, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(&vx, &(struct pkt_ip4){ .saddr = PEER, .daddr = TUN,
				       .proto = IPPROTO_UDP, .ttl = 64,
				       .frag_off = 0x4000 });
	pkt_udp(&vx, 50000, MG_VXLAN_PORT_DEFAULT, false);
	pkt_vxlan(&vx, 0x08000000, 2);
	pod_frame(&vx, PEER_POD, POD);
	pkt_finish(&vx);

	/* Prefix 4941 is cluster 7 (IPv4 gateway), 4940 cluster 6... */
	prefix6(4936, remote6);		/* cluster 2: IPv6 gateway */
	remote6[15] = 9;
	pkt_init(&eg6);
	pod6_frame(&eg6, POD6, remote6);
	pkt_finish(&eg6);
	prefix6(4941, remote6);		/* cluster 7: IPv4 gateway */
	remote6[15] = 9;
	pkt_init(&eg6_4);
	pod6_frame(&eg6_4, POD6, remote6);
	pkt_finish(&eg6_4);
	prefix6(0, peer_pod6);		/* cluster 2 */
	peer_pod6[15] = 9;
	pkt_init(&vx6);
	pkt_eth(&vx6, mgt_underlay_mac, mgt_peer_mac, ETH_P_IPV6);
	pkt_ip6(&vx6, PEER6, TUN6, IPPROTO_UDP, 64);
	pkt_udp(&vx6, 50000, MG_VXLAN_PORT_DEFAULT, true);
	pkt_vxlan(&vx6, 0x08000000, 2);
	pod6_frame(&vx6, peer_pod6, POD6);
	pkt_finish(&vx6);
	pkt_init(&lb_est);
	pod_frame(&lb_est, POD, VIP);
	pkt_finish(&lb_est);
	lb_new = lb_est;
	/* Only a SYN opens a flow: lb_new's open one each call (its port
	 * moves on), lb_est's is opened once below, then its ACKs follow. */
	pkt_put8(&lb_new, pkt_off(&lb_new, PKT_TCP, 0) + 13, 0x02);
	vx_new = vx;
	vx6_new = vx6;
	stranger = vx;
	pkt_put32(&stranger, pkt_off(&stranger, PKT_IP4, 0) + 12,
		  ntohl(IP4(192, 0, 2, 99)));
	pkt_fix_csums(&stranger);

	err = check_ref(ref, &eg, &vx);
	if (err) {
		fail("the reference's output", err);
		goto out;
	}
	c[0] = (struct bcase){ .name = "xdp_pass_ns", .pkt = &eg,
			       .prog = bpf_program__fd(pass->progs.xdp_pass),
			       .verdict = XDP_PASS };
	c[1] = (struct bcase){ .name = "encap_ns", .pkt = &eg,
			       .prog = bpf_program__fd(dp.skel->progs.mg_xdp),
			       .verdict = XDP_TX };
	c[2] = (struct bcase){ .name = "encap_fib_ns", .pkt = &eg,
			       .prog = bpf_program__fd(
					dp_fib.skel->progs.mg_xdp),
			       .verdict = XDP_REDIRECT };
	c[3] = (struct bcase){ .name = "decap_ns", .pkt = &vx,
			       .prog = bpf_program__fd(dp.skel->progs.mg_xdp),
			       .verdict = XDP_REDIRECT };
	c[4] = (struct bcase){ .name = "encap6_ns", .pkt = &eg6,
			       .prog = bpf_program__fd(dp.skel->progs.mg_xdp),
			       .verdict = XDP_TX };
	c[5] = (struct bcase){ .name = "encap6_nocsum_ns", .pkt = &eg6,
			       .prog = bpf_program__fd(
					dp_nocsum.skel->progs.mg_xdp),
			       .verdict = XDP_TX };
	c[6] = (struct bcase){ .name = "encap6_over4_ns", .pkt = &eg6_4,
			       .prog = bpf_program__fd(dp.skel->progs.mg_xdp),
			       .verdict = XDP_TX };
	c[7] = (struct bcase){ .name = "decap6_ns", .pkt = &vx6,
			       .prog = bpf_program__fd(dp.skel->progs.mg_xdp),
			       .verdict = XDP_REDIRECT };
	c[8] = (struct bcase){ .name = "lb_established_ns", .pkt = &lb_est,
			       .prog = bpf_program__fd(dp.skel->progs.mg_xdp),
			       .verdict = XDP_TX };
	c[9] = (struct bcase){ .name = "lb_newflow_ns", .pkt = &lb_new,
			       .prog = bpf_program__fd(dp.skel->progs.mg_xdp),
			       .verdict = XDP_TX, .new_flow = true };
	{
		struct pkt syn = lb_est;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = syn.data,
			    .data_size_in = syn.len);

		pkt_put8(&syn, pkt_off(&syn, PKT_TCP, 0) + 13, 0x02);
		bpf_prog_test_run_opts(c[8].prog, &o);
	}
	c[10] = (struct bcase){ .name = "encap_noev_ns", .pkt = &eg,
				.prog = bpf_program__fd(noev->progs.mg_xdp),
				.verdict = XDP_TX };
	c[11] = (struct bcase){ .name = "monitor_off_ns", .pkt = &eg,
				.prog = bpf_program__fd(dp.skel->progs.mg_xdp),
				.verdict = XDP_TX };
	c[12] = (struct bcase){ .name = "drop_ns", .pkt = &stranger,
				.prog = bpf_program__fd(dp.skel->progs.mg_xdp),
				.verdict = XDP_DROP };
	c[13] = (struct bcase){ .name = "monitor_drop_ns", .pkt = &stranger,
				.prog = bpf_program__fd(
					dp_nocsum.skel->progs.mg_xdp),
				.verdict = XDP_DROP, .drain = mon };
	c[C_REF_ENCAP] = (struct bcase){ .name = "ref_encap_ns", .pkt = &eg,
					 .prog = bpf_program__fd(
						 ref->progs.ref_encap),
					 .verdict = XDP_TX };
	c[C_REF_DECAP] = (struct bcase){ .name = "ref_decap_ns", .pkt = &vx,
					 .prog = bpf_program__fd(
						 ref->progs.ref_decap),
					 .verdict = XDP_TX };
	/* On a program of their own: they fill its cache, not dp's. */
	c[16] = (struct bcase){ .name = "decap_fib_ns", .pkt = &vx_new,
				.prog = bpf_program__fd(
					dp_fib.skel->progs.mg_xdp),
				.verdict = XDP_REDIRECT, .new_src = 4 };
	c[17] = (struct bcase){ .name = "decap6_fib_ns", .pkt = &vx6_new,
				.prog = bpf_program__fd(
					dp_fib.skel->progs.mg_xdp),
				.verdict = XDP_REDIRECT, .new_src = 6 };
	if (n_only) {
		int m = 0;

		for (int k = 0; k < n; k++)
			for (int i = 0; i < n_only; i++)
				if (!strcmp(c[k].name, only[i]))
					c[m++] = c[k];
		if (!m) {
			fprintf(stderr, "bench_dp: no such case\n");
			goto out;
		}
		n = m;
	}
	for (int k = 0; k < n; k++) {
		c[k].ns = calloc(calls, sizeof(*c[k].ns));
		if (!c[k].ns) {
			err = -ENOMEM;
			fail("memory", err);
			goto out;
		}
	}

	/* Warm up (and check every case takes the path it is meant to). */
	for (long i = 0; i < 1000; i++) {
		for (int k = 0; k < n; k++) {
			err = run_once(&c[k], &c[k].ns[0]);
			if (err) {
				fail(c[k].name, err);
				goto out;
			}
		}
	}
	/*
	 * The new-source cases fill a cache and walk the tries cold: in a
	 * loop of their own, so that they do not slow the others down.
	 */
	err = run_rounds(c, n_only ? n : N_FIB_FIRST, calls, &seed) ?:
	      (n_only ? 0 : run_rounds(c + N_FIB_FIRST, n - N_FIB_FIRST,
				       calls, &seed));
	if (err)
		goto out;

	printf("%-17s %8s %8s %8s %10s\n", "case", "p10", "median", "p90",
	       "- baseline");
	for (int k = 0; k < n; k++) {
		__u32 *v = c[k].ns;

		qsort(v, calls, sizeof(*v), cmp_u32);
		med[k] = calls % 2 ? v[calls / 2] :
				     (v[calls / 2 - 1] + v[calls / 2]) / 2.0;
		printf("%-17s %8u %8.1f %8u %+10.1f\n", c[k].name,
		       v[calls / 10], med[k], v[calls * 9 / 10],
		       med[k] - med[0]);
	}
	printf("(ns per packet, median of %ld calls each, "
	       "%d remote prefixes per family)\n", calls, N_PREFIXES);
	if (n_only) {
		rc = 0;
		goto out;
	}
	printf("encap6 / encap over the baseline: %.2fx (target <= 1.2x); "
	       "decap6 / decap: %.2fx (target <= 1.2x), both without the "
	       "kept next hop: %.2fx\n",
	       (med[4] - med[0]) / (med[1] - med[0]),
	       (med[7] - med[0]) / (med[3] - med[0]),
	       (med[17] - med[0]) / (med[16] - med[0]));
	printf("event stream: disabled %+.1f ns on encap (monitor_off - "
	       "encap_noev, target <= 2 ns); a drop with its event %+.1f ns "
	       "over one without (monitor_drop - drop)\n",
	       med[11] - med[10], med[13] - med[12]);
	printf("service LB over the baseline / encap's: established %.2fx "
	       "(target <= 1.5x), new flow %.2fx (target <= 3x)\n",
	       (med[8] - med[0]) / (med[1] - med[0]),
	       (med[9] - med[0]) / (med[1] - med[0]));

	fig(&figs, (med[C_ENCAP] - med[0]) / (med[C_REF_ENCAP] - med[0]),
	    "encap_vs_ref");
	fig(&figs, (med[C_DECAP] - med[0]) / (med[C_REF_DECAP] - med[0]),
	    "decap_vs_ref");
	printf("against the reference (over the baseline): encap %.2fx, "
	       "decap %.2fx (target <= 1.0, goal 0.8)\n", figs.v[0],
	       figs.v[1]);
	err = run_hot(c, rounds, hot_calls, hot_repeat, &seed, &figs) ?:
	      run_phases(c, rounds, b2b, cold, evict_kib, &seed, &figs);
	if (err) {
		fail("hot and cold phases", err);
		goto out;
	}
	err = prog_sizes(dp.skel->obj, NULL, &figs) ?:
	      prog_sizes(dp.tc->obj, "tc_obj", &figs) ?:
	      prog_sizes(ref->obj, NULL, &figs);
	if (err) {
		fail("program sizes", err);
		goto out;
	}
	printf("(hot: %ld calls of %u repeats; b2b: %ld calls back to back; "
	       "cold: %ld calls, %ld KiB read before each; %ld rounds)\n",
	       hot_calls, hot_repeat, b2b, cold, evict_kib, rounds);
	for (int k = 0; k < figs.n; k++)
		printf("%-28s %10.2f\n", figs.name[k], figs.v[k]);

	if (json) {
		FILE *f = strcmp(json, "-") ? fopen(json, "w") : stdout;

		if (!f) {
			err = -errno;
			fail(json, err);
			goto out;
		}
		fprintf(f, "{");
		for (int k = 0; k < n; k++)
			fprintf(f, "%s\"%s\": %.1f", k ? ", " : "", c[k].name,
				med[k]);
		for (int k = 0; k < figs.n; k++)
			fprintf(f, ", \"%s\": %.3f", figs.name[k], figs.v[k]);
		fprintf(f, "}\n");
		if (f != stdout && fclose(f)) {
			err = -errno;
			fail(json, err);
			goto out;
		}
	}
	rc = 0;
out:
	for (int k = 0; k < n; k++)
		free(c[k].ns);
	if (dp_nocsum.skel)
		mg_dp_destroy(&dp_nocsum);
	if (dp_fib.skel)
		mg_dp_destroy(&dp_fib);
	if (dp.skel)
		mg_dp_destroy(&dp);
	ring_buffer__free(mon);
	noev_bpf__destroy(noev);
	ref_encap_bpf__destroy(ref);
	pass_bpf__destroy(pass);
	return rc;
}
