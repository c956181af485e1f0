// SPDX-License-Identifier: GPL-2.0-only
/*
 * The drop and trace stream (datapath/events.h), run through
 * BPF_PROG_TEST_RUN.  Each row is one packet that ends under a reason; it
 * is run three times: with nobody listening (no event), with another
 * reason listened to (no event), and with its own (exactly one event,
 * carrying the reason, the verdict's type, the hook, the interface, the
 * length, the frame's first bytes and the ids the datapath knew at the
 * verdict: the cluster of a tunnel packet's peer or of a destination, a
 * service and its backend).  The rows cover the start-up hold
 * too (a known peer's packet from a prefix not learned yet: not_learned
 * while the agent holds, inner_src_spoof after).  Then the stream's
 * limits: 1 in N
 * sampling per reason, the per-CPU token bucket, and a full ring, which
 * counts what it refuses and never blocks.
 *
 * The binary pins itself to one CPU: the sampling and rate-limit state is
 * per CPU.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/dptest.h"
#include "lib/netns.h"

#define OWN_CID		1
#define TUN		IP4(192, 0, 2, 1)
#define PEER2		IP4(192, 0, 2, 2)
#define STRANGER	IP4(192, 0, 2, 99)
#define POD		IP4(10, 1, 0, 5)
#define REMOTE4		IP4(10, 4, 0, 9)	/* cluster 4: no live gateway */
#define VXLAN_PORT	4789
#define VIP_NB		IP4(10, 96, 0, 1)	/* a service without backends */
#define VIP_R		IP4(10, 96, 0, 2)	/* one backend, in cluster 4 */
#define SVC_NB		5
#define SVC_R		7
#define BE_R		9

static const uint8_t pod_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x09 };
static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static struct {
	struct mgt_topo topo;
	struct mgt_dp dp;
	int cfg, state;
	int ring[2];			/* listener slots 0 and 1 */
	struct ring_buffer *rb, *rb1;
	int n_ev;
	struct mg_event last;
	int ncpu;
} env;

/* --- packets -------------------------------------------------------------- */

static void tunnel(struct pkt *p, uint32_t src, uint32_t flags, uint32_t vni,
		   uint16_t frag_off)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = src, .daddr = TUN,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = frag_off });
	pkt_udp(p, 51234, VXLAN_PORT, false);
	pkt_vxlan(p, flags, vni);
}

static void inner(struct pkt *p, uint32_t src, uint32_t dst)
{
	const uint8_t m2[6] = MG_MESH_MAC_INIT(2);
	const uint8_t m1[6] = MG_MESH_MAC_INIT(OWN_CID);

	pkt_eth(p, m1, m2, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = src, .daddr = dst,
				      .proto = IPPROTO_UDP, .ttl = 64 });
	pkt_udp(p, 1000, 2000, true);
	pkt_data(p, 32, 7);
}

static void b_peer_unknown(struct pkt *p)
{
	tunnel(p, STRANGER, 0x08000000, 2, 0x4000);
	inner(p, IP4(10, 2, 0, 9), POD);
}

static void b_vni(struct pkt *p)
{
	tunnel(p, PEER2, 0x08000000, 3, 0x4000);
	inner(p, IP4(10, 2, 0, 9), POD);
}

static void b_vxlan_flags(struct pkt *p)
{
	tunnel(p, PEER2, 0, 2, 0x4000);
	inner(p, IP4(10, 2, 0, 9), POD);
}

static void b_spoof(struct pkt *p)
{
	tunnel(p, PEER2, 0x08000000, 2, 0x4000);
	inner(p, IP4(10, 3, 0, 9), POD);	/* cluster 3's, not 2's */
}

static void b_unknown_src(struct pkt *p)
{
	tunnel(p, PEER2, 0x08000000, 2, 0x4000);
	inner(p, IP4(10, 77, 0, 9), POD);	/* in no prefix */
}

static void b_inner_dst(struct pkt *p)
{
	tunnel(p, PEER2, 0x08000000, 2, 0x4000);
	inner(p, IP4(10, 2, 0, 9), IP4(10, 3, 0, 9));	/* not ours */
}

static void b_ip_options(struct pkt *p)
{
	static const uint8_t nop4[4] = { 1, 1, 1, 0 };

	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = PEER2, .daddr = TUN,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x4000, .opts = nop4,
				      .opt_len = 4 });
	pkt_udp(p, 51234, VXLAN_PORT, false);
	pkt_vxlan(p, 0x08000000, 2);
	inner(p, IP4(10, 2, 0, 9), POD);
}

static void b_src_not_local(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = IP4(192, 168, 9, 9),
				      .daddr = IP4(10, 2, 0, 9),
				      .proto = IPPROTO_UDP, .ttl = 64 });
	pkt_udp(p, 1000, 2000, true);
}

static void b_fragment(struct pkt *p)
{
	tunnel(p, PEER2, 0x08000000, 2, 0x2000);	/* MF */
	inner(p, IP4(10, 2, 0, 9), POD);
}

static void b_no_gateway(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD, .daddr = REMOTE4,
				      .proto = IPPROTO_UDP, .ttl = 64 });
	pkt_udp(p, 1000, 2000, true);
	pkt_data(p, 200, 3);	/* longer than an event's snapshot */
}

/* A pod's UDP datagram to vip:53. */
static void svc_udp(struct pkt *p, uint32_t vip)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD, .daddr = vip,
				      .proto = IPPROTO_UDP, .ttl = 64 });
	pkt_udp(p, 1000, 53, true);
	pkt_data(p, 16, 5);
}

static void b_svc_no_backend(struct pkt *p)
{
	svc_udp(p, VIP_NB);
}

static void b_svc_remote(struct pkt *p)
{
	svc_udp(p, VIP_R);
}

static void b_malformed(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_data(p, 12, 1);	/* half an IPv4 header */
}

static void b_pass(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD,
				      .daddr = IP4(198, 51, 100, 1),
				      .proto = IPPROTO_UDP, .ttl = 64 });
	pkt_udp(p, 1000, 53, true);
}

/* --- maps and the ring ---------------------------------------------------- */

static void maps_setup(void)
{
	static const struct {
		uint32_t addr, plen;
		uint8_t cid, flags;
	} eps[] = {
		{ IP4(10, 1, 0, 0), 16, 1, MG_EP_F_LOCAL },
		{ IP4(10, 2, 0, 0), 16, 2, 0 },
		{ IP4(10, 3, 0, 0), 16, 3, 0 },
		{ IP4(10, 4, 0, 0), 16, 4, 0 },
	};
	struct mg_peer_val pv = { .cluster_id = 2 };
	struct mg_cluster_val cv = { .n_gw = 0 };
	__u32 cid = 4, peer = PEER2;

	for (size_t i = 0; i < sizeof(eps) / sizeof(eps[0]); i++) {
		struct mg_ep4_key k = { eps[i].plen, eps[i].addr };
		struct mg_ep_val v = { .cluster_id = eps[i].cid,
				       .flags = eps[i].flags };

		mgt_dp_put(&env.dp, "mg_ep4", &k, &v);
		if (eps[i].flags & MG_EP_F_LOCAL)
			mgt_dp_put(&env.dp, "mg_local4", &k, &v);
	}
	struct mg_svc_key nb = { .vip = VIP_NB, .port = htons(53),
				 .proto = IPPROTO_UDP };
	struct mg_svc_key rk = { .vip = VIP_R, .port = htons(53),
				 .proto = IPPROTO_UDP };
	struct mg_svc_val nbv = { .id = SVC_NB, .flags = MG_SVC_F_NB_DROP };
	struct mg_svc_val rv = { .id = SVC_R };
	struct mg_lb_backend be = { .addr = IP4(10, 4, 0, 7),
				    .port = htons(53), .cluster_id = 4,
				    .flags = MG_LB_BE_F_LIVE, .gen = 1 };
	__u32 slot = BE_R;

	mgt_dp_put(&env.dp, "mg_peer4", &peer, &pv);
	mgt_dp_put(&env.dp, "mg_clus", &cid, &cv);
	/* SVC_NB has no Maglev table; SVC_R's names BE_R, in cluster 4. */
	mgt_dp_put(&env.dp, "mg_svc", &nb, &nbv);
	mgt_dp_put(&env.dp, "mg_svc", &rk, &rv);
	mgt_dp_put(&env.dp, "mg_lbbe", &slot, &be);
	mgt_ring_set(&env.dp, SVC_R, BE_R);
}

static int on_event(void *ctx, void *data, size_t size)
{
	if (size >= sizeof(env.last))
		memcpy(&env.last, data, sizeof(env.last));
	env.n_ev++;
	return 0;
}

/*
 * Drain listener slot 0's ring (1: slot 1's): how many events were in it
 * (the last one in env.last).
 */
static int drain_slot(int slot)
{
	env.n_ev = 0;
	if (ring_buffer__consume(slot ? env.rb1 : env.rb) < 0)
		fail_msg("ring_buffer__consume: %s", strerror(errno));
	return env.n_ev;
}

static int drain(void)
{
	drain_slot(1);
	return drain_slot(0);
}

/* Listener slot 0 wants mask, slot 1 mask1, as two monitors would ask. */
static void listen2(uint64_t mask, uint64_t mask1, uint32_t sample,
		    uint32_t rate, uint32_t burst)
{
	struct mg_ev_cfg c = { .mask = mask | mask1, .sample = sample,
			       .rate = rate, .burst = burst };
	__u32 key = 0;

	c.listener[0].pid = mask ? 1 : 0;
	c.listener[0].mask = mask;
	c.listener[1].pid = mask1 ? 1 : 0;
	c.listener[1].mask = mask1;
	mgt_map_put(env.cfg, &key, &c);
}

static void listen_to(uint64_t mask, uint32_t sample, uint32_t rate,
		      uint32_t burst)
{
	listen2(mask, 0, sample, rate, burst);
}

/* Every CPU's sampling and bucket state set to *st (NULL: zeros). */
static void state_set(const struct mg_ev_state *st)
{
	struct mg_ev_state v[env.ncpu];
	__u32 key = 0;

	for (int c = 0; c < env.ncpu; c++) {
		if (st)
			v[c] = *st;
		else
			memset(&v[c], 0, sizeof(v[c]));
	}
	mgt_map_put(env.state, &key, v);
}

static void state_sum(struct mg_ev_state *sum)
{
	struct mg_ev_state v[env.ncpu];
	__u32 key = 0;

	assert_int_equal(bpf_map_lookup_elem(env.state, &key, v), 0);
	memset(sum, 0, sizeof(*sum));
	for (int c = 0; c < env.ncpu; c++) {
		sum->lost += v[c].lost;
		sum->limited += v[c].limited;
	}
}

/* --- rows ----------------------------------------------------------------- */

struct ev_case {
	const char *name;
	void (*in)(struct pkt *p);
	bool tc;			/* through TC egress, out of mgc0 */
	enum mg_reason reason;
	bool trace;			/* a trace event, not a drop */
	bool starting;			/* in the agent's start-up hold */
	uint8_t cluster;		/* the event's ids (0: none; service */
	uint16_t service, backend;	/* and backend: slot + 1) */
};

#define ROW(n, b, r, ...) \
	{ .name = n, .in = b, .reason = MG_##r, __VA_ARGS__ }

static const struct ev_case cases[] = {
	ROW("malformed", b_malformed, DROP_MALFORMED),
	ROW("peer_unknown", b_peer_unknown, DROP_PEER_UNKNOWN),
	/* The peer (cluster 2) is known from here on: its cluster. */
	ROW("vni_mismatch", b_vni, DROP_VNI, .cluster = 2),
	ROW("vxlan_flags", b_vxlan_flags, DROP_VXLAN_FLAGS),
	ROW("inner_src_spoof", b_spoof, DROP_INNER_SRC, .cluster = 2),
	/* From a known peer, inner source in no prefix: before and after. */
	ROW("not_learned_starting", b_unknown_src, DROP_NOT_LEARNED,
	    .starting = true, .cluster = 2),
	ROW("not_learned_settled", b_unknown_src, DROP_INNER_SRC,
	    .cluster = 2),
	/* In a prefix of another cluster: spoofed, hold or not. */
	ROW("inner_src_spoof_starting", b_spoof, DROP_INNER_SRC,
	    .starting = true, .cluster = 2),
	ROW("fragment", b_fragment, DROP_FRAG),
	ROW("inner_dst_foreign", b_inner_dst, DROP_INNER_DST, .cluster = 2),
	ROW("ip_options", b_ip_options, DROP_IP_OPTS),
	/* Egress: the destination's cluster. */
	ROW("src_not_local", b_src_not_local, DROP_SRC_FOREIGN, .cluster = 2),
	ROW("no_gateway", b_no_gateway, DROP_NO_GATEWAY, .cluster = 4),
	ROW("no_gateway_tc", b_no_gateway, DROP_NO_GATEWAY, .tc = true,
	    .cluster = 4),
	/* Services: the service; its backend and that one's cluster. */
	ROW("svc_no_backend", b_svc_no_backend, DROP_NO_BACKEND,
	    .service = SVC_NB + 1),
	ROW("svc_remote_no_gateway", b_svc_remote, DROP_NO_GATEWAY,
	    .cluster = 4, .service = SVC_R + 1, .backend = BE_R + 1),
	ROW("svc_remote_no_gateway_tc", b_svc_remote, DROP_NO_GATEWAY,
	    .tc = true, .cluster = 4, .service = SVC_R + 1,
	    .backend = BE_R + 1),
	ROW("pass_traced", b_pass, PASS, .trace = true),
};

static int run(const struct ev_case *c, const struct pkt *in, struct pkt *out)
{
	if (c->tc)
		return mgt_dp_run_tc(&env.dp, in, out, env.topo.cluster_if,
				     c->reason);
	return mgt_dp_run(&env.dp, in, out, 0, c->reason);
}

static void run_case(void **state)
{
	const struct ev_case *c = *state;
	uint64_t bit = 1ULL << c->reason;
	struct mg_gw_state gw = { .flags = c->starting ? MG_GW_STARTING : 0 };
	struct pkt in, out;
	__u32 key = 0;
	size_t cap;

	mgt_dp_put(&env.dp, "mg_gwstate", &key, &gw);
	pkt_init(&in);
	c->in(&in);
	pkt_finish(&in);
	state_set(NULL);
	drain();

	listen_to(0, 0, 0, 0);
	run(c, &in, &out);
	assert_int_equal(drain(), 0);

	listen_to(~0ULL & ~bit, 0, 0, 0);
	run(c, &in, &out);
	assert_int_equal(drain(), 0);

	listen_to(bit, 0, 0, 0);
	run(c, &in, &out);
	assert_int_equal(drain(), 1);
	assert_int_equal(env.last.reason, c->reason);
	assert_int_equal(env.last.type, c->trace ? MG_EV_TRACE : MG_EV_DROP);
	assert_int_equal(env.last.hook, c->tc ? MG_EV_HOOK_TC :
						MG_EV_HOOK_XDP);
	assert_int_equal(env.last.ifindex, c->tc ? env.topo.cluster_if :
						   env.topo.lo);
	assert_int_equal(env.last.len, out.len);
	cap = out.len < MG_EV_SNAP ? out.len : MG_EV_SNAP;
	assert_int_equal(env.last.cap_len, cap);
	assert_memory_equal(env.last.data, out.data, cap);
	assert_true(env.last.ts_ns != 0);
	assert_int_equal(env.last.cluster, c->cluster);
	assert_int_equal(env.last.service, c->service);
	assert_int_equal(env.last.backend, c->backend);
	assert_int_equal(env.last.rule, 0);
	listen_to(0, 0, 0, 0);
	gw.flags = 0;
	mgt_dp_put(&env.dp, "mg_gwstate", &key, &gw);
}

/* --- the stream's limits -------------------------------------------------- */

static void run_n(const struct ev_case *c, int n)
{
	struct pkt in, out;

	pkt_init(&in);
	c->in(&in);
	pkt_finish(&in);
	for (int i = 0; i < n; i++)
		run(c, &in, &out);
}

/* 1 in 4 per reason: 5 of 20 peer_unknown, 3 of 12 vni_mismatch. */
static void test_sampling(void **state)
{
	state_set(NULL);
	drain();
	listen_to(1ULL << MG_DROP_PEER_UNKNOWN | 1ULL << MG_DROP_VNI, 4, 0, 0);
	run_n(&cases[1], 3);		/* peer_unknown: 1 event (the 1st) */
	run_n(&cases[2], 12);		/* vni_mismatch: its own count */
	run_n(&cases[1], 17);		/* peer_unknown 4..20: 4 more */
	assert_int_equal(drain(), 5 + 3);
	listen_to(0, 0, 0, 0);
}

/*
 * 3 tokens and a refill that is an hour away (the bucket's last refill
 * set in the future): 3 of 10 go, 7 are counted as limited.
 */
static void test_rate_limit(void **state)
{
	struct mg_ev_state st = { .tokens = 3 }, sum;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	st.last_ns = (uint64_t)now.tv_sec * 1000000000ULL + now.tv_nsec +
		     3600ULL * 1000000000ULL;
	state_set(&st);
	drain();
	listen_to(1ULL << MG_DROP_PEER_UNKNOWN, 0, 1, 3);
	run_n(&cases[1], 10);
	assert_int_equal(drain(), 3);
	state_sum(&sum);
	assert_int_equal(sum.limited, 7);
	assert_int_equal(sum.lost, 0);
	listen_to(0, 0, 0, 0);
}

/*
 * More events than the ring holds, nobody reading: every run returns
 * (the program never waits), each event is either in the ring or
 * counted as lost, and the ring is full.
 */
static void test_ring_full(void **state)
{
	const int n = 4000;
	struct pkt in, out;
	struct mg_ev_state sum;
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = in.data,
		.data_out = out.data,
		.data_size_out = sizeof(out.data),
		.repeat = n,
	);
	int got;

	pkt_init(&in);
	b_peer_unknown(&in);
	pkt_finish(&in);
	o.data_size_in = in.len;
	state_set(NULL);
	drain();
	listen_to(1ULL << MG_DROP_PEER_UNKNOWN, 0, 0, 0);
	assert_int_equal(bpf_prog_test_run_opts(env.dp.prog, &o), 0);
	assert_int_equal(o.retval, XDP_DROP);
	got = drain();
	state_sum(&sum);
	assert_true(sum.lost > 0);
	assert_int_equal(got + sum.lost, n);
	/* Full: room for less than one more event. */
	assert_true((got + 1) * (sizeof(struct mg_event) + 8) >
		    MG_EV_RING_BYTES);
	listen_to(0, 0, 0, 0);
}

/*
 * Two monitors: each has its own ring and gets its own copy of what it
 * asked for, and only that.
 */
static void test_two_listeners(void **state)
{
	uint64_t pu = 1ULL << MG_DROP_PEER_UNKNOWN, vni = 1ULL << MG_DROP_VNI;

	state_set(NULL);
	drain();
	listen2(pu | vni, pu, 0, 0, 0);
	run_n(&cases[1], 2);		/* peer_unknown: both */
	run_n(&cases[2], 3);		/* vni_mismatch: slot 0 only */
	assert_int_equal(drain_slot(1), 2);
	assert_int_equal(env.last.reason, MG_DROP_PEER_UNKNOWN);
	assert_int_equal(drain_slot(0), 5);
	listen_to(0, 0, 0, 0);
}

static const struct CMUnitTest extra[] = {
	cmocka_unit_test(test_two_listeners),
	cmocka_unit_test(test_sampling),
	cmocka_unit_test(test_rate_limit),
	cmocka_unit_test(test_ring_full),
};

int main(void)
{
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.vxlan_port = VXLAN_PORT,
		.cluster_id = OWN_CID,
		.nh_table = true,
	};
	cpu_set_t one;
	int failed;

	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		perror("sched_setaffinity");
		return 1;
	}
	if (mgt_netns_topo(&env.topo))
		return 1;
	if (mgt_dp_load(&env.dp, &s))
		return 1;
	env.ncpu = libbpf_num_possible_cpus();
	env.cfg = mgt_dp_map(&env.dp, "mg_evcfg");
	env.state = mgt_dp_map(&env.dp, "mg_evstate");
	for (__u32 i = 0; i < 2; i++) {
		env.ring[i] = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "mg_evring",
					     0, 0, MG_EV_RING_BYTES, NULL);
		if (env.ring[i] < 0 ||
		    bpf_map_update_elem(mgt_dp_map(&env.dp, "mg_evrings"), &i,
					&env.ring[i], BPF_ANY)) {
			fprintf(stderr, "ring %u: %s\n", i, strerror(errno));
			return 1;
		}
	}
	env.rb = ring_buffer__new(env.ring[0], on_event, NULL, NULL);
	env.rb1 = ring_buffer__new(env.ring[1], on_event, NULL, NULL);
	if (!env.rb || !env.rb1) {
		fprintf(stderr, "ring_buffer__new: %s\n", strerror(errno));
		return 1;
	}
	maps_setup();
	failed = mgt_run_table("events", cases, sizeof(cases) / sizeof(cases[0]),
			       sizeof(cases[0]), run_case, extra,
			       sizeof(extra) / sizeof(extra[0]), NULL, NULL);
	ring_buffer__free(env.rb);
	ring_buffer__free(env.rb1);
	mgt_dp_destroy(&env.dp);
	return failed ? 1 : 0;
}
