// SPDX-License-Identifier: GPL-2.0-only
/*
 * Global services in the XDP datapath (datapath/lb.h, ct.h, nat.h), run
 * through BPF_PROG_TEST_RUN like test_xdp.c.  One table of rows that run
 * in order against one datapath, because connection tracking carries from
 * row to row: a row may change the maps first (a new Maglev table, a
 * backend gone), then sends one packet and checks the verdict, the one
 * reason counter that moved, and the output packet.  Every expected
 * packet is built from scratch with all checksums computed anew, so the
 * datapath's incremental checksum updates are checked by recomputation.
 *
 * The mesh: we are cluster 1 (10.1/16, cluster-side address 10.1.0.1,
 * the SNAT source for local backends); cluster 2 (10.2/16) has one
 * gateway, PEER2.  The services' Maglev tables are filled with one backend
 * each, so which backend a new flow gets is known.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/dptest.h"
#include "lib/netns.h"

#define OWN_CID		1
#define TUN		IP4(192, 0, 2, 1)
#define PEER2		IP4(192, 0, 2, 2)
#define GWADDR		IP4(10, 1, 0, 1)	/* cluster side: SNAT source */
#define POD		IP4(10, 1, 0, 5)	/* the client, neighbour known */
#define VIP		IP4(10, 96, 0, 10)
#define R1		IP4(10, 2, 0, 20)	/* backends in cluster 2 */
#define R2		IP4(10, 2, 0, 21)
#define R3		IP4(10, 2, 0, 30)
#define L1		IP4(10, 1, 0, 20)	/* backend in our cluster */
#define VXLAN_PORT	4789

enum { SVC_TCP, SVC_UDP, SVC_EMPTY, SVC_NO_RING, SVC_TCP2 };
enum { BE_R1, BE_L1, BE_R2, BE_R3 };

static const uint8_t l1_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x20 };
static const uint8_t nh_smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x01 };
static const uint8_t nh_dmac2[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x02 };
static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static const struct {
	uint32_t addr;
	uint16_t port;
	uint8_t cid, flags;
} backends[] = {
	[BE_R1] = { R1, 8080, 2, MG_LB_BE_F_LIVE },
	[BE_L1] = { L1, 8080, 1, MG_LB_BE_F_LIVE | MG_LB_BE_F_LOCAL },
	[BE_R2] = { R2, 8080, 2, MG_LB_BE_F_LIVE },
	[BE_R3] = { R3, 5353, 2, MG_LB_BE_F_LIVE },
};

static struct {
	struct mgt_topo topo;
	struct mgt_dp dp;
	uint16_t snat_port;	/* what the local flow got, host order */
} env;

/* --- maps ----------------------------------------------------------------- */

static void backend_set(uint32_t slot, uint8_t flags, uint32_t gen)
{
	struct mg_lb_backend b = {
		.addr = backends[slot].addr,
		.port = htons(backends[slot].port),
		.cluster_id = backends[slot].cid,
		.flags = flags,
		.gen = gen,
	};

	mgt_dp_put(&env.dp, "mg_lbbe", &slot, &b);
}

static void service(uint16_t port, uint8_t proto, uint32_t id)
{
	struct mg_svc_key k = { .vip = VIP, .port = htons(port),
				.proto = proto };
	struct mg_svc_val v = { .id = id };

	mgt_dp_put(&env.dp, "mg_svc", &k, &v);
}

static void maps_setup(void)
{
	struct mg_ep4_key k1 = { 16, IP4(10, 1, 0, 0) };
	struct mg_ep4_key k2 = { 16, IP4(10, 2, 0, 0) };
	struct mg_ep_val v1 = { .cluster_id = 1, .flags = MG_EP_F_LOCAL };
	struct mg_ep_val v2 = { .cluster_id = 2 };
	struct mg_cluster_val cv = { .n_gw = 1 };
	struct mg_nh_val nv = { .ifindex = 1, .mtu = 1500 };
	uint32_t cid = 2, empty = 0xffffffff;

	mgt_dp_put(&env.dp, "mg_ep4", &k1, &v1);
	mgt_dp_put(&env.dp, "mg_ep4", &k2, &v2);
	cv.gw[0].family = MG_AF_INET;
	cv.gw[0].addr[0] = PEER2;
	mgt_dp_put(&env.dp, "mg_clus", &cid, &cv);
	mgt_dp_put(&env.dp, "mg_peer4", &(uint32_t){ PEER2 },
		   &(struct mg_peer_val){ 2, { 0 } });
	memcpy(nv.smac, nh_smac, 6);
	memcpy(nv.dmac, nh_dmac2, 6);
	mgt_dp_put(&env.dp, "mg_nh4_v2", &(uint32_t){ PEER2 }, &nv);

	for (uint32_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		backend_set(i, backends[i].flags, 1);
	service(80, IPPROTO_TCP, SVC_TCP);
	service(53, IPPROTO_UDP, SVC_UDP);
	service(81, IPPROTO_TCP, SVC_EMPTY);
	service(82, IPPROTO_TCP, SVC_NO_RING);
	service(0, 0, 0);			/* "10.96.0.10 is a VIP" */
	for (int i = 0; i < 4; i++) {
		struct mg_lbrev_key rk = {
			.addr = backends[i].addr,
			.port = htons(backends[i].port),
			.proto = i == BE_R3 ? IPPROTO_UDP : IPPROTO_TCP,
		};
		struct mg_lbrev_val rv = { .svc = {
			/* Another service first: the flow's is found after. */
			{ .vip = IP4(10, 96, 0, 99), .vport = htons(80) },
			{ .vip = VIP, .vport = htons(i == BE_R3 ? 53 : 80) },
		} };

		mgt_dp_put(&env.dp, "mg_lbrev", &rk, &rv);
	}
	mgt_ring_set(&env.dp, SVC_TCP, BE_R1);
	mgt_ring_set(&env.dp, SVC_UDP, BE_R3);
	mgt_ring_set(&env.dp, SVC_EMPTY, empty);
}

static int setup(void **state)
{
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.cluster4 = GWADDR,
		.vxlan_port = VXLAN_PORT,
		.cluster_id = OWN_CID,
		.nh_table = true,
	};

	if (mgt_dp_load(&env.dp, &s))
		return -1;
	maps_setup();
	return 0;
}

static int teardown(void **state)
{
	mgt_dp_destroy(&env.dp);
	return 0;
}

/* --- packets -------------------------------------------------------------- */

/* One IPv4 frame: TCP (ACK|PSH, or SYN when sport is odd) or UDP. */
static void frame(struct pkt *p, const uint8_t *dmac, const uint8_t *smac,
		  uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport,
		  uint16_t dport, uint8_t ttl)
{
	pkt_eth(p, dmac, smac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = src, .daddr = dst,
				      .proto = proto, .ttl = ttl,
				      .id = 0x1234, .frag_off = 0x4000 });
	if (proto == IPPROTO_TCP)
		pkt_tcp(p, sport, dport, sport & 1 ? 0x02 : 0x18);
	else
		pkt_udp(p, sport, dport, true);
	pkt_data(p, 24, proto);
}

static void pod_to(struct pkt *p, uint8_t proto, uint16_t sport,
		   uint16_t dport)
{
	frame(p, gw_mac, mgt_pod_mac, POD, VIP, proto, sport, dport, 64);
}

/* Outer headers from PEER2, as its gateway encapsulates. */
static void from_peer2(struct pkt *p)
{
	const uint8_t m1[6] = MG_MESH_MAC_INIT(OWN_CID);
	const uint8_t m2[6] = MG_MESH_MAC_INIT(2);

	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = PEER2, .daddr = TUN,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x4000 });
	pkt_udp(p, 51234, VXLAN_PORT, false);
	pkt_vxlan(p, 0x08000000, 2);
	pkt_eth(p, m1, m2, ETH_P_IP);
}

/* What we send to cluster 2: inner (MACs, TTL 63) to backend be. */
static void to_peer2(struct pkt *w, const struct pkt *out, uint16_t sport,
		     uint8_t proto, int be)
{
	/* Flagged: its replies come back through us (mg_pin). */
	const uint8_t m1[6] = { 0x02, 0x6d, 0x67, 0x00, MG_MESH_MAC_F_PIN,
				OWN_CID };
	const uint8_t m2[6] = MG_MESH_MAC_INIT(2);
	uint16_t osport = out->len >= 36 ? pkt_get16(out, 34) : 0;

	pkt_eth(w, nh_dmac2, nh_smac, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = TUN, .daddr = PEER2,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x4000 });
	pkt_udp(w, osport, VXLAN_PORT, false);
	pkt_vxlan(w, 0x08000000, OWN_CID);
	frame(w, m2, m1, POD, backends[be].addr, proto, sport,
	      backends[be].port, 63);
}

/* --- the rows ------------------------------------------------------------- */

struct row {
	const char *name;
	void (*before)(void);
	void (*in)(struct pkt *p);
	/* NULL: the packet leaves as it came */
	void (*want)(struct pkt *w, const struct pkt *out);
	int ifindex;		/* 0: loopback; 1: cluster side */
	int verdict;
	enum mg_reason reason;
	void (*after)(void);	/* checks of the maps after the packet */
};

/* A new TCP flow: Maglev gives R1, DNAT, encapsulated to cluster 2. */
static void in_syn(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40001, 80); }
static void want_syn_r1(struct pkt *w, const struct pkt *o)
{
	to_peer2(w, o, 40001, IPPROTO_TCP, BE_R1);
}

/* The table changes to R2: the flow keeps R1. */
static void ring_r2(void) { mgt_ring_set(&env.dp, SVC_TCP, BE_R2); }
static void in_ack(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40001, 80); }

/*
 * A SYN-ACK to POD:40001 from src:sport: through the tunnel from PEER2
 * (ttl 63), or as it reaches the pod (ttl 62, cluster-side MACs).
 */
static void reply_seg(struct pkt *p, uint32_t src, uint16_t sport, uint8_t ttl)
{
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = src, .daddr = POD,
				      .proto = IPPROTO_TCP, .ttl = ttl,
				      .id = 7 });
	pkt_tcp(p, sport, 40001, 0x12);
	pkt_data(p, 20, 3);
}

static void reply_in(struct pkt *p, uint32_t src)
{
	from_peer2(p);
	reply_seg(p, src, 8080, 63);
}

static void reply_out(struct pkt *w, uint32_t src, uint16_t sport)
{
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IP);
	reply_seg(w, src, sport, 62);
}

/* R1's reply through the tunnel: decapsulated and from the VIP again. */
static void in_reply_r1(struct pkt *p) { reply_in(p, R1); }
static void want_reply_vip(struct pkt *w, const struct pkt *o)
{
	reply_out(w, VIP, 80);
}

/* A reply no service flow knows is left alone (plain decap). */
static void in_reply_r2(struct pkt *p) { reply_in(p, R2); }
static void want_reply_r2(struct pkt *w, const struct pkt *o)
{
	reply_out(w, R2, 8080);
}

/* R1 is gone (not live): the established flow moves to the table's R2. */
static void r1_gone(void) { backend_set(BE_R1, 0, 1); }
static void want_ack_r2(struct pkt *w, const struct pkt *o)
{
	to_peer2(w, o, 40001, IPPROTO_TCP, BE_R2);
}

/* R1's slot re-used (new gen, live again): not the flow's backend. */
static void r1_reused(void)
{
	backend_set(BE_R1, MG_LB_BE_F_LIVE, 2);
	mgt_ring_set(&env.dp, SVC_TCP, BE_R1);
}

static void in_syn2(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40003, 80); }
static void want_syn2_r1(struct pkt *w, const struct pkt *o)
{
	to_peer2(w, o, 40003, IPPROTO_TCP, BE_R1);
}

/*
 * Affinity local (the agent's table holds the local backend only): DNAT
 * to L1 and SNAT to our cluster-side address, routed to it.
 */
static void ring_l1(void) { mgt_ring_set(&env.dp, SVC_TCP, BE_L1); }
static void in_syn_local(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40005, 80); }
static void want_local(struct pkt *w, const struct pkt *o)
{
	uint16_t sport = o->len >= 36 ? pkt_get16(o, 34) : 0;

	if (sport < 61000)
		fail_msg("SNAT port %u is not in 61000..65535", sport);
	env.snat_port = sport;
	frame(w, l1_mac, mgt_cluster_mac, GWADDR, L1, IPPROTO_TCP, sport,
	      8080, 63);
	/* frame() chose the flags from the port: the client's SYN. */
	pkt_put8(w, pkt_off(w, PKT_TCP, 0) + 13, 0x02);
}

/* L1's reply to us: back to the client, from the VIP. */
static void in_reply_local(struct pkt *p)
{
	pkt_eth(p, mgt_cluster_mac, l1_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = L1, .daddr = GWADDR,
				      .proto = IPPROTO_TCP, .ttl = 64,
				      .id = 9 });
	pkt_tcp(p, 8080, env.snat_port, 0x12);
	pkt_data(p, 10, 5);
}

static void want_reply_local(struct pkt *w, const struct pkt *o)
{
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = VIP, .daddr = POD,
				      .proto = IPPROTO_TCP, .ttl = 63,
				      .id = 9 });
	pkt_tcp(w, 80, 40005, 0x12);
	pkt_data(w, 10, 5);
}

/* UDP: a datagram to the UDP service, and its reply. */
static void in_udp(struct pkt *p) { pod_to(p, IPPROTO_UDP, 40010, 53); }
static void want_udp(struct pkt *w, const struct pkt *o)
{
	to_peer2(w, o, 40010, IPPROTO_UDP, BE_R3);
}

static void in_udp_reply(struct pkt *p)
{
	from_peer2(p);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = R3, .daddr = POD,
				      .proto = IPPROTO_UDP, .ttl = 63 });
	pkt_udp(p, 5353, 40010, true);
	pkt_data(p, 33, 4);
}

static void want_udp_reply(struct pkt *w, const struct pkt *o)
{
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = VIP, .daddr = POD,
				      .proto = IPPROTO_UDP, .ttl = 62 });
	pkt_udp(w, 53, 40010, true);
	pkt_data(w, 33, 4);
}

/* UDP without a checksum keeps none. */
static void in_udp_nocsum(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD, .daddr = VIP,
				      .proto = IPPROTO_UDP, .ttl = 64 });
	pkt_udp(p, 40012, 53, false);
	pkt_data(p, 17, 1);
}

static void want_udp_nocsum(struct pkt *w, const struct pkt *o)
{
	/* Flagged: its replies come back through us (mg_pin). */
	const uint8_t m1[6] = { 0x02, 0x6d, 0x67, 0x00, MG_MESH_MAC_F_PIN,
				OWN_CID };
	const uint8_t m2[6] = MG_MESH_MAC_INIT(2);
	uint16_t osport = o->len >= 36 ? pkt_get16(o, 34) : 0;

	pkt_eth(w, nh_dmac2, nh_smac, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = TUN, .daddr = PEER2,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x4000 });
	pkt_udp(w, osport, VXLAN_PORT, false);
	pkt_vxlan(w, 0x08000000, OWN_CID);
	pkt_eth(w, m2, m1, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = POD, .daddr = R3,
				      .proto = IPPROTO_UDP, .ttl = 63 });
	pkt_udp(w, 40012, 5353, false);
	pkt_data(w, 17, 1);
}

/* An ICMP error from R1 about the flow: quoted and outer follow the VIP. */
static void quoted(struct pkt *q, uint32_t dst, uint16_t dport)
{
	pkt_init(q);
	pkt_ip4(q, &(struct pkt_ip4){ .saddr = POD, .daddr = dst,
				      .proto = IPPROTO_TCP, .ttl = 62,
				      .id = 0x55 });
	pkt_tcp(q, 40003, dport, 0x18);
	pkt_finish(q);
	pkt_truncate(q, 28);
}

static void in_icmp_r1(struct pkt *p)
{
	struct pkt q;

	quoted(&q, R1, 8080);
	from_peer2(p);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = R1, .daddr = POD,
				      .proto = IPPROTO_ICMP, .ttl = 63 });
	pkt_icmp(p, 3, 3, 0);
	pkt_raw(p, q.data, q.len);
}

static void want_icmp_vip(struct pkt *w, const struct pkt *o)
{
	struct pkt q;

	quoted(&q, VIP, 80);
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = VIP, .daddr = POD,
				      .proto = IPPROTO_ICMP, .ttl = 62 });
	pkt_icmp(w, 3, 3, 0);
	pkt_raw(w, q.data, q.len);
}

/*
 * Too big for the tunnel once encapsulated: the ICMP error path 1 sends
 * back quotes the client's packet, to the VIP, not the DNATed one.
 */
static void in_too_big(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD, .daddr = VIP,
				      .proto = IPPROTO_TCP, .ttl = 64,
				      .id = 0x77, .frag_off = 0x4000 });
	pkt_tcp(p, 40061, 80, 0x02);	/* a SYN: it opens the flow */
	pkt_data(p, 1440, 8);
}

static void want_too_big(struct pkt *w, const struct pkt *o)
{
	struct pkt in;
	size_t quote = o->len > 42 ? o->len - 42 : 0;

	pkt_init(&in);
	in_too_big(&in);
	pkt_finish(&in);
	pkt_eth(w, mgt_pod_mac, gw_mac, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = GWADDR, .daddr = POD,
				      .proto = IPPROTO_ICMP,
				      .ttl = pkt_get8(o, 22),
				      .tos = pkt_get8(o, 15),
				      .id = pkt_get16(o, 18),
				      .frag_off = pkt_get16(o, 20) });
	pkt_icmp(w, 3, 4, 1450);
	pkt_raw(w, in.data + 14, quote);
}

/* No healthy backend: an empty table, or none at all. */
static void in_empty(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40021, 81); }
static void in_no_ring(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40021, 82); }

/* Malformed and hostile packets to a VIP. */
static void in_tcp_short(struct pkt *p)
{
	pod_to(p, IPPROTO_TCP, 40030, 80);
	pkt_truncate(p, pkt_off(p, PKT_TCP, 0) + 12);
	pkt_fix_lengths(p);
}

static void in_ports_short(struct pkt *p)
{
	pod_to(p, IPPROTO_UDP, 40030, 53);
	pkt_truncate(p, pkt_off(p, PKT_UDP, 0) + 2);
	pkt_fix_lengths(p);
}

static void in_fragment(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD, .daddr = VIP,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x2000 });
	pkt_udp(p, 40031, 53, true);
	pkt_data(p, 64, 2);
}

static void in_later_fragment(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD, .daddr = VIP,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x0008 });
	pkt_data(p, 64, 2);
}

static void in_ttl1(struct pkt *p)
{
	frame(p, gw_mac, mgt_pod_mac, POD, VIP, IPPROTO_TCP, 40040, 80, 1);
}

/* Not service traffic: passed untouched. */
static void in_other_port(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40050, 443); }
static void in_to_gw(struct pkt *p)
{
	frame(p, gw_mac, mgt_pod_mac, POD, GWADDR, IPPROTO_TCP, 40050, 22,
	      64);
}

static void in_ping_vip(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD, .daddr = VIP,
				      .proto = IPPROTO_ICMP, .ttl = 64 });
	pkt_icmp_echo(p, 1, 1);
}

/*
 * R1 serves two services, :80 and :83.  A client port that talked to :80
 * opens a flow to :83 with the same port: the reply must come from :83,
 * not from the old :80 entry still in the conntrack table.
 */
static void r1_two_services(void)
{
	struct mg_lbrev_key rk = {
		.addr = R1, .port = htons(8080), .proto = IPPROTO_TCP,
	};
	struct mg_lbrev_val rv = { .svc = {
		{ .vip = VIP, .vport = htons(80) },
		{ .vip = VIP, .vport = htons(83) },
	} };

	backend_set(BE_R1, MG_LB_BE_F_LIVE, 5);
	mgt_dp_put(&env.dp, "mg_lbrev", &rk, &rv);
	service(83, IPPROTO_TCP, SVC_TCP2);
	mgt_ring_set(&env.dp, SVC_TCP, BE_R1);
	mgt_ring_set(&env.dp, SVC_TCP2, BE_R1);
}

static void in_syn_80(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40033, 80); }
static void in_syn_83(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40033, 83); }
static void want_syn_r1_40033(struct pkt *w, const struct pkt *o)
{
	to_peer2(w, o, 40033, IPPROTO_TCP, BE_R1);
}

static void in_reply_r1_40033(struct pkt *p)
{
	from_peer2(p);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = R1, .daddr = POD,
				      .proto = IPPROTO_TCP, .ttl = 63,
				      .id = 9 });
	pkt_tcp(p, 8080, 40033, 0x12);
	pkt_data(p, 20, 3);
}

static void want_reply_83(struct pkt *w, const struct pkt *o)
{
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = VIP, .daddr = POD,
				      .proto = IPPROTO_TCP, .ttl = 62,
				      .id = 9 });
	pkt_tcp(w, 83, 40033, 0x12);
	pkt_data(w, 20, 3);
}

/*
 * Flow lifetimes (ct.h): what opens a flow, how its state and expiry
 * follow its packets, and that an expired flow is gone.  The clock is
 * not waited for: a row makes a flow old by writing its expiry.
 */
#define LT_PORT		40201	/* the client port of the flow followed */
#define NSEC		1000000000ULL

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static struct mg_ct4_key flow_of(uint32_t client, uint16_t sport)
{
	return (struct mg_ct4_key){ .saddr = client, .daddr = VIP,
				    .sport = htons(sport), .dport = htons(80),
				    .proto = IPPROTO_TCP };
}

static int ct_get(uint32_t client, uint16_t sport, struct mg_ct4_val *v)
{
	struct mg_ct4_key k = flow_of(client, sport);

	return bpf_map_lookup_elem(mgt_dp_map(&env.dp, "mg_ct4_v2"), &k, v);
}

/* The flow is in state st, and lives for about secs from now. */
static void lt_expect(uint8_t st, uint8_t flags, uint64_t secs)
{
	struct mg_ct4_val v;
	uint64_t now = mono_ns();

	assert_int_equal(ct_get(POD, LT_PORT, &v), 0);
	assert_int_equal(v.state, st);
	assert_int_equal(v.flags, flags);
	/* The datapath's clock is the coarse one: up to a tick behind. */
	if (v.expires > now + secs * NSEC || v.expires + NSEC < now + secs * NSEC)
		fail_msg("expires in %lld ms, want %llu s",
			 (long long)(v.expires - now) / 1000000,
			 (unsigned long long)secs);
}

static void lt_expire(uint32_t client, uint16_t sport)
{
	struct mg_ct4_key k = flow_of(client, sport);
	struct mg_ct4_val v;

	assert_int_equal(ct_get(client, sport, &v), 0);
	v.expires = 1;
	mgt_dp_put(&env.dp, "mg_ct4_v2", &k, &v);
}

static void pod_tcp(struct pkt *p, uint16_t sport, uint8_t flags)
{
	pod_to(p, IPPROTO_TCP, sport, 80);
	pkt_put8(p, pkt_off(p, PKT_TCP, 0) + 13, flags);
}

static void lt_ring_l1(void)
{
	ring_l1();
	backend_set(BE_L1, MG_LB_BE_F_LIVE | MG_LB_BE_F_LOCAL, 1);
}

static void in_lt_ack0(struct pkt *p) { pod_tcp(p, 40200, 0x10); }
static void in_lt_fin0(struct pkt *p) { pod_tcp(p, 40200, 0x11); }
static void in_lt_rst0(struct pkt *p) { pod_tcp(p, 40200, 0x04); }
static void in_lt_synack0(struct pkt *p) { pod_tcp(p, 40200, 0x12); }
static void lt_nothing(void)
{
	struct mg_ct4_val v;

	assert_int_not_equal(ct_get(POD, 40200, &v), 0);
}

static void in_lt_syn(struct pkt *p) { pod_tcp(p, LT_PORT, 0x02); }
static void in_lt_ack(struct pkt *p) { pod_tcp(p, LT_PORT, 0x10); }
static void in_lt_fin(struct pkt *p) { pod_tcp(p, LT_PORT, 0x11); }

/* DNAT to L1, SNAT to our address and the flow's port, flags kept. */
static void want_lt_local(struct pkt *w, const struct pkt *o)
{
	uint8_t flags = o->len > 47 ? pkt_get8(o, 47) : 0;

	want_local(w, o);
	pkt_put8(w, pkt_off(w, PKT_TCP, 0) + 13, flags);
}

static void lt_opening(void)
{
	lt_expect(MG_CT_OPENING, 0, MG_CT_TCP_OPENING_S);
}

/* L1 answers (SYN-ACK, to our SNAT port): back to the client. */
static void lt_reply(struct pkt *p, int out, uint8_t flags)
{
	if (out)
		pkt_eth(p, mgt_pod_mac, mgt_cluster_mac, ETH_P_IP);
	else
		pkt_eth(p, mgt_cluster_mac, l1_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = out ? VIP : L1,
				      .daddr = out ? POD : GWADDR,
				      .proto = IPPROTO_TCP,
				      .ttl = out ? 63 : 64, .id = 9 });
	pkt_tcp(p, out ? 80 : 8080, out ? LT_PORT : env.snat_port, flags);
	pkt_data(p, 10, 5);
}

static void in_lt_synack(struct pkt *p) { lt_reply(p, 0, 0x12); }
static void want_lt_synack(struct pkt *w, const struct pkt *o)
{
	lt_reply(w, 1, 0x12);
}

static void in_lt_late_ack(struct pkt *p) { lt_reply(p, 0, 0x10); }

static void lt_answered(void)
{
	lt_expect(MG_CT_OPENING, MG_CT_F_REPLIED, MG_CT_TCP_OPENING_S);
}

static void lt_established(void)
{
	lt_expect(MG_CT_ESTABLISHED, MG_CT_F_REPLIED,
		  MG_CT_TCP_ESTABLISHED_S);
}

static void lt_closing(void)
{
	lt_expect(MG_CT_CLOSING, MG_CT_F_REPLIED, MG_CT_TCP_CLOSING_S);
}

static void lt_old(void) { lt_expire(POD, LT_PORT); }

/* Opened again after it expired: the same port (the old flow's). */
static void lt_reopened(void)
{
	struct mg_ct4_val v;

	lt_opening();
	assert_int_equal(ct_get(POD, LT_PORT, &v), 0);
	assert_int_equal(ntohs(v.snat_port), env.snat_port);
}

/*
 * A remote backend takes no SNAT port, and Maglev gives it again: a flow
 * whose entry was lost is picked up mid-stream, as opening (30 s).
 */
static void lt_ring_remote(void) { mgt_ring_set(&env.dp, SVC_TCP, BE_R1); }
static void in_lt_remote(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40210, 80); }
static void want_lt_remote(struct pkt *w, const struct pkt *o)
{
	to_peer2(w, o, 40210, IPPROTO_TCP, BE_R1);
}

static void lt_picked_up(void)
{
	struct mg_ct4_val v;

	assert_int_equal(ct_get(POD, 40210, &v), 0);
	assert_int_equal(v.state, MG_CT_OPENING);
}

#define TX	XDP_TX
#define REDIR	XDP_REDIRECT
#define DROP	XDP_DROP
#define PASS	XDP_PASS

static const struct row rows[] = {
	{ "tcp_new_flow_remote", NULL, in_syn, want_syn_r1, 0, TX, MG_ENCAP, NULL },
	{ "tcp_established_keeps_backend", ring_r2, in_ack, want_syn_r1, 0,
	  TX, MG_ENCAP, NULL },
	{ "tcp_reply_reverse_nat", NULL, in_reply_r1, want_reply_vip, 0,
	  REDIR, MG_DECAP, NULL },
	{ "reply_of_no_flow_untouched", NULL, in_reply_r2, want_reply_r2, 0,
	  REDIR, MG_DECAP, NULL },
	{ "backend_gone_flow_moves", r1_gone, in_ack, want_ack_r2, 0, TX,
	  MG_ENCAP, NULL },
	{ "backend_slot_reused_new_flow", r1_reused, in_syn2, want_syn2_r1, 0,
	  TX, MG_ENCAP, NULL },
	{ "icmp_error_reverse_nat", NULL, in_icmp_r1, want_icmp_vip, 0, REDIR,
	  MG_DECAP, NULL },
	{ "too_big_icmp_quotes_the_vip", NULL, in_too_big, want_too_big, 0,
	  REDIR, MG_ICMP_FRAG_NEEDED, NULL },
	{ "affinity_local_dnat_snat", ring_l1, in_syn_local, want_local, 0,
	  REDIR, MG_LB_LOCAL, NULL },
	{ "local_reply_reverse_nat", NULL, in_reply_local, want_reply_local, 1,
	  REDIR, MG_LB_REPLY, NULL },
	{ "udp_new_flow", NULL, in_udp, want_udp, 0, TX, MG_ENCAP, NULL },
	{ "udp_reply_reverse_nat", NULL, in_udp_reply, want_udp_reply, 0,
	  REDIR, MG_DECAP, NULL },
	{ "udp_zero_checksum_kept", NULL, in_udp_nocsum, want_udp_nocsum, 0,
	  TX, MG_ENCAP, NULL },
	{ "no_backend_empty_table", NULL, in_empty, NULL, 0, DROP,
	  MG_DROP_NO_BACKEND, NULL },
	{ "no_backend_no_table", NULL, in_no_ring, NULL, 0, DROP,
	  MG_DROP_NO_BACKEND, NULL },
	{ "vip_tcp_header_cut", NULL, in_tcp_short, NULL, 0, DROP,
	  MG_DROP_MALFORMED, NULL },
	{ "vip_ports_cut", NULL, in_ports_short, NULL, 0, DROP,
	  MG_DROP_MALFORMED, NULL },
	{ "vip_first_fragment", NULL, in_fragment, NULL, 0, DROP,
	  MG_DROP_VIP_FRAG, NULL },
	{ "vip_later_fragment", NULL, in_later_fragment, NULL, 0, DROP,
	  MG_DROP_VIP_FRAG, NULL },
	{ "vip_ttl_1_to_kernel", NULL, in_ttl1, NULL, 0, PASS,
	  MG_TTL_EXCEEDED, NULL },
	{ "vip_other_port_passes", NULL, in_other_port, NULL, 0, PASS,
	  MG_PASS, NULL },
	{ "to_gateway_no_flow_passes", NULL, in_to_gw, NULL, 0, PASS,
	  MG_PASS, NULL },
	{ "vip_ping_passes", NULL, in_ping_vip, NULL, 0, PASS, MG_PASS, NULL },
	{ "shared_backend_first_service", r1_two_services, in_syn_80,
	  want_syn_r1_40033, 0, TX, MG_ENCAP, NULL },
	{ "shared_backend_same_port_other_service", NULL, in_syn_83,
	  want_syn_r1_40033, 0, TX, MG_ENCAP, NULL },
	{ "shared_backend_reply_from_the_new_service", NULL,
	  in_reply_r1_40033, want_reply_83, 0, REDIR, MG_DECAP, NULL },
	{ "lt_ack_opens_no_flow", lt_ring_l1, in_lt_ack0, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, lt_nothing },
	{ "lt_fin_opens_no_flow", NULL, in_lt_fin0, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, lt_nothing },
	{ "lt_rst_opens_no_flow", NULL, in_lt_rst0, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, lt_nothing },
	{ "lt_synack_opens_no_flow", NULL, in_lt_synack0, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, lt_nothing },
	{ "lt_syn_opens_a_flow_30s", NULL, in_lt_syn, want_lt_local, 0, REDIR,
	  MG_LB_LOCAL, lt_opening },
	{ "lt_backend_answers", NULL, in_lt_synack, want_lt_synack, 1, REDIR,
	  MG_LB_REPLY, lt_answered },
	{ "lt_client_acks_established_6h", NULL, in_lt_ack, want_lt_local, 0,
	  REDIR, MG_LB_LOCAL, lt_established },
	{ "lt_fin_closes_10s", NULL, in_lt_fin, want_lt_local, 0, REDIR,
	  MG_LB_LOCAL, lt_closing },
	{ "lt_expired_flow_is_gone", lt_old, in_lt_ack, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, NULL },
	{ "lt_expired_flow_reply_not_natted", NULL, in_lt_late_ack, NULL, 1,
	  PASS, MG_PASS, NULL },
	{ "lt_syn_reopens_on_its_old_port", NULL, in_lt_syn, want_lt_local, 0,
	  REDIR, MG_LB_LOCAL, lt_reopened },
	{ "lt_remote_ack_picked_up", lt_ring_remote, in_lt_remote,
	  want_lt_remote, 0, TX, MG_ENCAP, lt_picked_up },
};

/* --- running -------------------------------------------------------------- */

static void run_row(void **state)
{
	const struct row *r = *state;
	struct pkt in, out, want;

	if (r->before)
		r->before();
	pkt_init(&in);
	r->in(&in);
	pkt_finish(&in);
	mgt_dp_check(&env.dp, &in, &out, r->ifindex ? env.topo.cluster_if : 0,
		     r->reason, r->verdict);

	pkt_init(&want);
	if (r->want) {
		r->want(&want, &out);
		pkt_finish(&want);
	} else {
		want = in;
	}
	mgt_expect_packet(&out, &want, &in);
	if (r->after)
		r->after();
}

/* --- the SNAT port pool --------------------------------------------------- */

#define FAKE		IP4(10, 1, 7, 7)	/* holds every port of L1 */
#define POD2		IP4(10, 1, 0, 6)	/* a second client */

static int syn_from(uint32_t client, uint16_t sport)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	uint8_t buf[256];
	struct pkt in;

	pkt_init(&in);
	frame(&in, gw_mac, mgt_pod_mac, client, VIP, IPPROTO_TCP, sport, 80,
	      64);
	pkt_put8(&in, pkt_off(&in, PKT_TCP, 0) + 13, 0x02);
	pkt_finish(&in);
	o.data_in = in.data;
	o.data_size_in = in.len;
	o.data_out = buf;
	o.data_size_out = sizeof(buf);
	assert_int_equal(bpf_prog_test_run_opts(env.dp.prog, &o), 0);
	return o.retval;
}

/* Every port of L1's pool to a flow of FAKE, live until expires. */
static void pool_fill(uint64_t expires)
{
	int rnat = mgt_dp_map(&env.dp, "mg_rnat4");

	for (uint32_t p = 61000; p <= 65535; p++) {
		struct mg_ct4_key rk = { .saddr = L1, .daddr = GWADDR,
					 .sport = htons(8080),
					 .dport = htons(p),
					 .proto = IPPROTO_TCP };
		struct mg_rnat4_val rv = { .vip = VIP, .client = FAKE,
					   .vport = htons(80),
					   .cport = htons(p) };
		struct mg_ct4_key k = flow_of(FAKE, p);
		struct mg_ct4_val v = { .backend = BE_L1, .gen = 1,
					.snat_addr = GWADDR,
					.snat_port = htons(p),
					.state = MG_CT_ESTABLISHED,
					.flags = MG_CT_F_REPLIED,
					.expires = expires };

		mgt_map_put(rnat, &rk, &rv);
		mgt_dp_put(&env.dp, "mg_ct4_v2", &k, &v);
	}
}

/*
 * Every port of L1 held by live flows: a new flow is refused (no_snat),
 * and takes a port as soon as those flows are over, without anyone
 * clearing them.
 */
static void t_snat_exhausted_then_recovers(void **state)
{
	struct mg_rnat4_val rv;
	struct mg_ct4_key rk = { .saddr = L1, .daddr = GWADDR,
				 .sport = htons(8080), .proto = IPPROTO_TCP };
	struct mg_ct4_val v;
	struct pkt in, out;

	lt_ring_l1();
	pool_fill(mono_ns() + 3600 * NSEC);
	pkt_init(&in);
	pod_tcp(&in, 40301, 0x02);
	pkt_finish(&in);
	mgt_dp_check(&env.dp, &in, &out, 0, MG_DROP_NO_SNAT, XDP_DROP);

	pool_fill(1);		/* all of them over */
	mgt_dp_check(&env.dp, &in, &out, 0, MG_LB_LOCAL, XDP_REDIRECT);
	assert_int_equal(ct_get(POD, 40301, &v), 0);
	rk.dport = v.snat_port;
	assert_int_equal(bpf_map_lookup_elem(mgt_dp_map(&env.dp, "mg_rnat4"),
					     &rk, &rv), 0);
	assert_int_equal(rv.client, POD);
	assert_int_equal(rv.cport, htons(40301));
	pool_fill(1);
}

/*
 * One client opening flow after flow to L1 gets at most half its ports;
 * another client still gets one.
 */
static void t_snat_client_share(void **state)
{
	int got = 0;

	lt_ring_l1();
	for (int i = 0; i < 4536; i++) {
		int v = syn_from(POD2, 1024 + i);

		if (v == XDP_DROP)
			break;
		assert_int_equal(v, XDP_REDIRECT);
		got++;
	}
	print_message("one client got %d of 4536 ports\n", got);
	assert_true(got <= 4536 / 2);
	assert_true(got >= 4536 / 4);
	assert_int_equal(syn_from(POD, 40401), XDP_REDIRECT);
}

/* --- reply pinning (mg_pin) ----------------------------------------------- */

#define PEER2B		IP4(192, 0, 2, 3)	/* cluster 2's second gateway */
#define CLIENT2		IP4(10, 2, 0, 77)

static void cluster2_gws(const uint32_t *gws, int n)
{
	struct mg_cluster_val cv = { .n_gw = n };
	uint32_t cid = 2;

	for (int i = 0; i < n; i++) {
		cv.gw[i].family = MG_AF_INET;
		cv.gw[i].addr[0] = gws[i];
	}
	for (int i = 0; i < MG_GW_SLOTS; i++)
		cv.slot[i] = i % n;
	mgt_dp_put(&env.dp, "mg_clus", &cid, &cv);
}

/* L1's reply to CLIENT2: the outer destination it is sent to. */
static uint32_t reply_goes_to(void)
{
	struct pkt in, out;
	int v;

	pkt_init(&in);
	frame(&in, mgt_cluster_mac, l1_mac, L1, CLIENT2, IPPROTO_TCP, 8080, 40100, 64);
	pkt_finish(&in);
	v = mgt_dp_run(&env.dp, &in, &out, env.topo.cluster_if, MG_ENCAP);
	assert_int_not_equal(v, XDP_DROP);
	return htonl(pkt_get32(&out, ETH_HLEN + 16));
}

/*
 * Cluster 2 has two gateways.  Whichever one the flow hash sends L1's
 * replies to, a flagged frame of the flow (CLIENT2 -> L1, balanced by the
 * other gateway) pins them to that other one; once it is no longer live,
 * the hash decides again.
 */
static void t_reply_pinned(void **state)
{
	const uint32_t both[2] = { PEER2, PEER2B };
	const uint8_t m1[6] = MG_MESH_MAC_INIT(OWN_CID);
	const uint8_t flagged[6] = { 0x02, 0x6d, 0x67, 0x00,
				     MG_MESH_MAC_F_PIN, 2 };
	struct mg_nh_val nv = { .ifindex = 1, .mtu = 1500 };
	struct mg_pin_key pk = { .saddr = { L1 }, .daddr = { CLIENT2 },
				 .sport = htons(8080), .dport = htons(40100),
				 .proto = IPPROTO_TCP, .family = MG_AF_INET };
	struct mg_pin_val pv;
	uint32_t hashed, other, peer;
	struct pkt in, out;

	memcpy(nv.smac, nh_smac, 6);
	memcpy(nv.dmac, nh_dmac2, 6);
	mgt_dp_put(&env.dp, "mg_nh4_v2", &(uint32_t){ PEER2B }, &nv);
	mgt_dp_put(&env.dp, "mg_peer4", &(uint32_t){ PEER2B },
		   &(struct mg_peer_val){ 2, { 0 } });
	cluster2_gws(both, 2);

	hashed = reply_goes_to();
	assert_true(hashed == PEER2 || hashed == PEER2B);
	other = hashed == PEER2 ? PEER2B : PEER2;
	assert_int_equal(reply_goes_to(), hashed);	/* stable */

	/* The other gateway sends us a flagged frame of the flow. */
	pkt_init(&in);
	pkt_eth(&in, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(&in, &(struct pkt_ip4){ .saddr = other, .daddr = TUN,
				       .proto = IPPROTO_UDP, .ttl = 64,
				       .frag_off = 0x4000 });
	pkt_udp(&in, 51234, VXLAN_PORT, false);
	pkt_vxlan(&in, 0x08000000, 2);
	frame(&in, m1, flagged, CLIENT2, L1, IPPROTO_TCP, 40100, 8080, 64);
	pkt_finish(&in);
	assert_int_not_equal(mgt_dp_run(&env.dp, &in, &out,
					env.topo.underlay_if, MG_DECAP),
			     XDP_DROP);
	assert_int_equal(bpf_map_lookup_elem(mgt_dp_map(&env.dp, "mg_pin"),
					     &pk, &pv), 0);
	assert_int_equal(pv.gw.family, MG_AF_INET);
	assert_int_equal(pv.gw.addr[0], other);

	/* L1's replies now go to it, every time. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(reply_goes_to(), other);

	/* Not live any more: the hash decides among those that are. */
	peer = hashed;
	cluster2_gws(&peer, 1);
	assert_int_equal(reply_goes_to(), hashed);

	/* An unflagged frame (plain pod traffic) pins nothing. */
	bpf_map_delete_elem(mgt_dp_map(&env.dp, "mg_pin"), &pk);
	pkt_init(&in);
	pkt_eth(&in, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(&in, &(struct pkt_ip4){ .saddr = PEER2, .daddr = TUN,
				       .proto = IPPROTO_UDP, .ttl = 64,
				       .frag_off = 0x4000 });
	pkt_udp(&in, 51234, VXLAN_PORT, false);
	pkt_vxlan(&in, 0x08000000, 2);
	frame(&in, m1, (const uint8_t[6])MG_MESH_MAC_INIT(2), CLIENT2, L1,
	      IPPROTO_TCP, 40100, 8080, 64);
	pkt_finish(&in);
	mgt_dp_run(&env.dp, &in, &out, env.topo.underlay_if, MG_DECAP);
	assert_int_not_equal(bpf_map_lookup_elem(mgt_dp_map(&env.dp, "mg_pin"),
						 &pk, &pv), 0);

	peer = PEER2;
	cluster2_gws(&peer, 1);
	bpf_map_delete_elem(mgt_dp_map(&env.dp, "mg_peer4"), &(uint32_t){ PEER2B });
}

/* mg_lbstats[key] summed over CPUs. */
static struct mg_stat lbstat(uint32_t key)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mg_stat v[ncpu], sum = { 0 };

	assert_int_equal(bpf_map_lookup_elem(mgt_dp_map(&env.dp, "mg_lbstats"),
					     &key, v), 0);
	for (int c = 0; c < ncpu; c++) {
		sum.packets += v[c].packets;
		sum.bytes += v[c].bytes;
	}
	return sum;
}

/*
 * A client packet DNATed to a backend counts once for its service and
 * once for the backend's slot (packets and bytes, mg_lbstats); one to a
 * service without a backend counts for neither.
 */
static void t_lbstats(void **state)
{
	struct mg_stat s0 = lbstat(SVC_TCP), b0 = lbstat(MG_LBSTATS_BACKEND(BE_R1));
	struct mg_stat e0 = lbstat(SVC_EMPTY), s1, b1, e1;
	struct pkt in, out;

	backend_set(BE_R1, backends[BE_R1].flags, 1);
	mgt_ring_set(&env.dp, SVC_TCP, BE_R1);
	pkt_init(&in);
	pod_to(&in, IPPROTO_TCP, 40200, 80);
	pkt_finish(&in);
	mgt_dp_run(&env.dp, &in, &out, 0, MG_ENCAP);
	s1 = lbstat(SVC_TCP);
	b1 = lbstat(MG_LBSTATS_BACKEND(BE_R1));
	assert_int_equal(s1.packets - s0.packets, 1);
	assert_int_equal(s1.bytes - s0.bytes, in.len);
	assert_int_equal(b1.packets - b0.packets, 1);
	assert_int_equal(b1.bytes - b0.bytes, in.len);

	pkt_init(&in);
	pod_to(&in, IPPROTO_TCP, 40201, 81);
	pkt_finish(&in);
	mgt_dp_run(&env.dp, &in, &out, 0, MG_DROP_NO_BACKEND);
	e1 = lbstat(SVC_EMPTY);
	assert_int_equal(e1.packets, e0.packets);
	assert_int_equal(lbstat(MG_LBSTATS_BACKEND(BE_R1)).packets, b1.packets);
}

int main(void)
{
	const struct CMUnitTest extra[] = {
		cmocka_unit_test(t_lbstats),
		cmocka_unit_test(t_reply_pinned),
		cmocka_unit_test(t_snat_exhausted_then_recovers),
		cmocka_unit_test(t_snat_client_share),
	};

	if (mgt_netns_topo(&env.topo))
		return 1;
	if (mgt_sh("ip neigh replace 10.1.0.20 lladdr 02:00:00:01:00:20"
		   " nud permanent dev mgc0"))
		return 1;
	return mgt_run_table("lb", rows, sizeof(rows) / sizeof(rows[0]),
			     sizeof(rows[0]), run_row, extra,
			     sizeof(extra) / sizeof(extra[0]), setup,
			     teardown) ? 1 : 0;
}
