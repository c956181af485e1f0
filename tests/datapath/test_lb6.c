// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv6 global services in the XDP datapath (datapath/lb.h, ct.h, nat.h:
 * mg_svc6, mg_lbbe6, mg_lbrev6, mg_ct6_v2, mg_rnat6), run like test_lb.c:
 * one table of rows in order against one datapath (connection tracking
 * carries from row to row), each row maybe changing the maps first, then
 * one packet, its verdict, the one reason counter that moved and the
 * output packet, built from scratch here with every checksum recomputed
 * (IPv6 has no header checksum: TCP, UDP and ICMPv6 over the
 * pseudo-header).
 *
 * The mesh: we are cluster 1 (fd00:1::/64, cluster-side address
 * fd00:1::1, the SNAT source for local backends); cluster 2 (fd00:2::/64)
 * has one gateway, PEER2, over an IPv4 underlay.  Each service's Maglev
 * table is filled with one backend, so which backend a new flow gets is
 * known.
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
#include "lib/dptest.h"
#include "lib/netns.h"

#define OWN_CID		1
#define TUN		IP4(192, 0, 2, 1)
#define PEER2		IP4(192, 0, 2, 2)
#define VXLAN_PORT	4789

#define A6(...)		((const uint8_t[16]){ __VA_ARGS__ })
#define GW6		A6(0xfd, 0, 0, 1, [15] = 1)	/* SNAT source */
#define POD		A6(0xfd, 0, 0, 1, [15] = 5)	/* the client */
#define VIP		A6(0xfd, 0, 0, 0x96, [15] = 0x10)
#define OTHER_VIP	A6(0xfd, 0, 0, 0x96, [15] = 0x99)
#define R1		A6(0xfd, 0, 0, 2, [15] = 0x20)	/* cluster 2 */
#define R2		A6(0xfd, 0, 0, 2, [15] = 0x21)
#define R3		A6(0xfd, 0, 0, 2, [15] = 0x30)
#define L1		A6(0xfd, 0, 0, 1, [15] = 0x20)	/* our cluster */

enum { SVC_TCP, SVC_UDP, SVC_EMPTY, SVC_NO_RING };
enum { BE_R1, BE_L1, BE_R2, BE_R3, N_BE };

static const uint8_t l1_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x20 };
static const uint8_t nh_smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x01 };
static const uint8_t nh_dmac2[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x02 };
static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static const struct {
	const uint8_t *addr;
	uint16_t port;
	uint8_t cid, flags;
	uint8_t proto;
} backends[N_BE] = {
	[BE_R1] = { R1, 8080, 2, MG_LB_BE_F_LIVE, IPPROTO_TCP },
	[BE_L1] = { L1, 8080, 1, MG_LB_BE_F_LIVE | MG_LB_BE_F_LOCAL,
		    IPPROTO_TCP },
	[BE_R2] = { R2, 8080, 2, MG_LB_BE_F_LIVE, IPPROTO_TCP },
	[BE_R3] = { R3, 5353, 2, MG_LB_BE_F_LIVE, IPPROTO_UDP },
};

static struct {
	struct mgt_topo topo;
	struct mgt_dp dp;
	uint16_t snat_port;	/* what the local flow got, host order */
} env;

/* --- maps ----------------------------------------------------------------- */

static void backend_set(uint32_t slot, uint8_t flags, uint32_t gen)
{
	struct mg_lb_backend6 b = {
		.port = htons(backends[slot].port),
		.cluster_id = backends[slot].cid,
		.flags = flags,
		.gen = gen,
	};

	memcpy(b.addr, backends[slot].addr, 16);
	mgt_dp_put(&env.dp, "mg_lbbe6", &slot, &b);
}

static void service(uint16_t port, uint8_t proto, uint32_t id)
{
	struct mg_svc6_key k = { .port = htons(port), .proto = proto };
	struct mg_svc_val v = { .id = id };

	memcpy(k.vip, VIP, 16);
	mgt_dp_put(&env.dp, "mg_svc6", &k, &v);
}

static void ep6(const uint8_t *addr, uint8_t cid, uint8_t flags)
{
	struct mg_ep6_key k = { .prefixlen = 64 };
	struct mg_ep_val v = { .cluster_id = cid, .flags = flags };

	memcpy(k.addr, addr, 16);
	mgt_dp_put(&env.dp, "mg_ep6", &k, &v);
}

static void maps_setup(void)
{
	struct mg_cluster_val cv = { .n_gw = 1 };
	struct mg_nh_val nv = { .ifindex = 1, .mtu = 1500 };
	uint32_t cid = 2, empty = 0xffffffff;

	ep6(A6(0xfd, 0, 0, 1), 1, MG_EP_F_LOCAL);
	ep6(A6(0xfd, 0, 0, 2), 2, 0);
	cv.gw[0].family = MG_AF_INET;
	cv.gw[0].addr[0] = PEER2;
	mgt_dp_put(&env.dp, "mg_clus", &cid, &cv);
	mgt_dp_put(&env.dp, "mg_peer4", &(uint32_t){ PEER2 },
		   &(struct mg_peer_val){ 2, { 0 } });
	memcpy(nv.smac, nh_smac, 6);
	memcpy(nv.dmac, nh_dmac2, 6);
	mgt_dp_put(&env.dp, "mg_nh4_v2", &(uint32_t){ PEER2 }, &nv);

	for (uint32_t i = 0; i < N_BE; i++)
		backend_set(i, backends[i].flags, 1);
	service(80, IPPROTO_TCP, SVC_TCP);
	service(53, IPPROTO_UDP, SVC_UDP);
	service(81, IPPROTO_TCP, SVC_EMPTY);
	service(82, IPPROTO_TCP, SVC_NO_RING);
	service(0, 0, 0);			/* "fd00:96::10 is a VIP" */
	for (int i = 0; i < N_BE; i++) {
		struct mg_lbrev6_key rk = {
			.port = htons(backends[i].port),
			.proto = backends[i].proto,
		};
		struct mg_lbrev6_val rv = { 0 };

		/* Another service first: the flow's is found after. */
		memcpy(rv.svc[0].vip, OTHER_VIP, 16);
		rv.svc[0].vport = htons(80);
		memcpy(rv.svc[1].vip, VIP, 16);
		rv.svc[1].vport = htons(i == BE_R3 ? 53 : 80);
		memcpy(rk.addr, backends[i].addr, 16);
		mgt_dp_put(&env.dp, "mg_lbrev6", &rk, &rv);
	}
	mgt_ring_set(&env.dp, SVC_TCP, BE_R1);
	mgt_ring_set(&env.dp, SVC_UDP, BE_R3);
	mgt_ring_set(&env.dp, SVC_EMPTY, empty);
}

static int setup(void **state)
{
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.cluster4 = IP4(10, 1, 0, 1),
		.vxlan_port = VXLAN_PORT,
		.cluster_id = OWN_CID,
		.nh_table = true,
	};

	memcpy(s.cluster6, GW6, 16);
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

/* One IPv6 frame: TCP (ACK|PSH, or SYN when sport is odd) or UDP. */
static void frame(struct pkt *p, const uint8_t *dmac, const uint8_t *smac,
		  const uint8_t *src, const uint8_t *dst, uint8_t proto,
		  uint16_t sport, uint16_t dport, uint8_t hops)
{
	pkt_eth(p, dmac, smac, ETH_P_IPV6);
	pkt_ip6(p, src, dst, proto, hops);
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
	pkt_eth(p, m1, m2, ETH_P_IPV6);
}

/* What we send to cluster 2: inner (MACs, hop limit 63) to backend be. */
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

/* A backend's TCP reply as the client should see it: from VIP:vport. */
static void reply_to_pod(struct pkt *w, const uint8_t *src, uint16_t sport,
			 uint16_t dport, uint8_t hops)
{
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IPV6);
	pkt_ip6(w, src, POD, IPPROTO_TCP, hops);
	pkt_tcp(w, sport, dport, 0x12);
	pkt_data(w, 20, 3);
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

/* A backend's reply through the tunnel. */
static void in_reply(struct pkt *p, const uint8_t *from)
{
	from_peer2(p);
	pkt_ip6(p, from, POD, IPPROTO_TCP, 63);
	pkt_tcp(p, 8080, 40001, 0x12);
	pkt_data(p, 20, 3);
}

static void in_reply_r1(struct pkt *p) { in_reply(p, R1); }
static void want_reply_vip(struct pkt *w, const struct pkt *o)
{
	reply_to_pod(w, VIP, 80, 40001, 62);
}

/* A reply no service flow knows is left alone (plain decap). */
static void in_reply_r2(struct pkt *p) { in_reply(p, R2); }
static void want_reply_r2(struct pkt *w, const struct pkt *o)
{
	reply_to_pod(w, R2, 8080, 40001, 62);
}

/*
 * The packet an ICMPv6 error quotes, cut after len bytes of TCP: with its
 * checksum in (20), the quote's changes cancel out in the ICMPv6
 * checksum; without (8), they do not.
 */
static void quoted_n(struct pkt *q, const uint8_t *src, uint16_t sport,
		     const uint8_t *dst, uint16_t dport, size_t len)
{
	pkt_init(q);
	pkt_ip6(q, src, dst, IPPROTO_TCP, 62);
	pkt_tcp(q, sport, dport, 0x18);
	pkt_data(q, 100, 6);
	pkt_finish(q);
	pkt_truncate(q, 40 + len);
}

/* An ICMPv6 error from R1 about the flow: quoted and outer follow the VIP. */
static void quoted(struct pkt *q, const uint8_t *src, uint16_t sport,
		   const uint8_t *dst, uint16_t dport)
{
	quoted_n(q, src, sport, dst, dport, 20 + 8);
}

static void in_icmp_r1(struct pkt *p)
{
	struct pkt q;

	quoted(&q, POD, 40001, R1, 8080);
	from_peer2(p);
	pkt_ip6(p, R1, POD, IPPROTO_ICMPV6, 63);
	pkt_icmp6(p, 1, 4, 0);		/* port unreachable */
	pkt_raw(p, q.data, q.len);
}

static void want_icmp_vip(struct pkt *w, const struct pkt *o)
{
	struct pkt q;

	quoted(&q, POD, 40001, VIP, 80);
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IPV6);
	pkt_ip6(w, VIP, POD, IPPROTO_ICMPV6, 62);
	pkt_icmp6(w, 1, 4, 0);
	pkt_raw(w, q.data, q.len);
}

/*
 * Too big for the tunnel once encapsulated: the ICMPv6 packet too big
 * that path 1 sends back quotes the client's packet, to the VIP, not the
 * DNATed one (the new flow got R2).
 */
static void in_too_big(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD, VIP, IPPROTO_TCP, 64);
	pkt_tcp(p, 40061, 80, 0x02);	/* a SYN: it opens the flow */
	pkt_data(p, 1440, 8);
}

static void want_too_big(struct pkt *w, const struct pkt *o)
{
	struct pkt in;
	size_t quote = o->len > 62 ? o->len - 62 : 0;

	pkt_init(&in);
	in_too_big(&in);
	pkt_finish(&in);
	if (quote != 1280 - 48)
		fail_msg("quoted %zu bytes, not %d", quote, 1280 - 48);
	pkt_eth(w, mgt_pod_mac, gw_mac, ETH_P_IPV6);
	pkt_ip6(w, GW6, POD, IPPROTO_ICMPV6, 64);
	pkt_icmp6(w, 2, 0, 1450);
	pkt_raw(w, in.data + 14, quote);
}

/* R1 is gone (not live): the established flow moves to the table's R2. */
static void r1_gone(void) { backend_set(BE_R1, 0, 1); }
static void want_ack_r2(struct pkt *w, const struct pkt *o)
{
	to_peer2(w, o, 40001, IPPROTO_TCP, BE_R2);
}

/*
 * Affinity local (the agent's table holds the local backend only): DNAT
 * to L1 and SNAT to our cluster-side address, routed to it.
 */
static void ring_l1(void) { mgt_ring_set(&env.dp, SVC_TCP, BE_L1); }
static void in_syn_local(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40005, 80); }
static void want_local(struct pkt *w, const struct pkt *o)
{
	size_t off = 14 + 40;
	uint16_t sport = o->len >= off + 2 ? pkt_get16(o, off) : 0;

	if (sport < 61000)
		fail_msg("SNAT port %u is not in 61000..65535", sport);
	env.snat_port = sport;
	frame(w, l1_mac, mgt_cluster_mac, GW6, L1, IPPROTO_TCP, sport, 8080,
	      63);
	/* frame() chose the flags from the port: the client's SYN. */
	pkt_put8(w, pkt_off(w, PKT_TCP, 0) + 13, 0x02);
}

/* L1's reply to us: back to the client, from the VIP. */
static void in_reply_local(struct pkt *p)
{
	pkt_eth(p, mgt_cluster_mac, l1_mac, ETH_P_IPV6);
	pkt_ip6(p, L1, GW6, IPPROTO_TCP, 64);
	pkt_tcp(p, 8080, env.snat_port, 0x12);
	pkt_data(p, 20, 3);
}

static void want_reply_local(struct pkt *w, const struct pkt *o)
{
	reply_to_pod(w, VIP, 80, 40005, 63);
}

/*
 * L1's ICMPv6 error to us about the flow, quoting only the ports: to the
 * client, about the VIP.
 */
static void in_icmp_local(struct pkt *p)
{
	struct pkt q;

	quoted_n(&q, GW6, env.snat_port, L1, 8080, 8);
	pkt_eth(p, mgt_cluster_mac, l1_mac, ETH_P_IPV6);
	pkt_ip6(p, L1, GW6, IPPROTO_ICMPV6, 64);
	pkt_icmp6(p, 1, 4, 0);
	pkt_raw(p, q.data, q.len);
}

static void want_icmp_local(struct pkt *w, const struct pkt *o)
{
	struct pkt q;

	quoted_n(&q, POD, 40005, VIP, 80, 8);
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IPV6);
	pkt_ip6(w, VIP, POD, IPPROTO_ICMPV6, 63);
	pkt_icmp6(w, 1, 4, 0);
	pkt_raw(w, q.data, q.len);
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
	pkt_ip6(p, R3, POD, IPPROTO_UDP, 63);
	pkt_udp(p, 5353, 40010, true);
	pkt_data(p, 33, 4);
}

static void want_udp_reply(struct pkt *w, const struct pkt *o)
{
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IPV6);
	pkt_ip6(w, VIP, POD, IPPROTO_UDP, 62);
	pkt_udp(w, 53, 40010, true);
	pkt_data(w, 33, 4);
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

/* The IPv6 header claims more than the frame holds. */
static void in_payload_long(struct pkt *p)
{
	pod_to(p, IPPROTO_TCP, 40032, 80);
	pkt_finish(p);
	pkt_put16(p, 14 + 4, pkt_get16(p, 14 + 4) + 8);
}

static void in_fragment(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD, VIP, IPPROTO_FRAGMENT, 64);
	pkt_ip6_frag(p, IPPROTO_UDP, 0, true, 0x1234);
	pkt_udp(p, 40031, 53, true);
	pkt_data(p, 64, 2);
}

static void in_later_fragment(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD, VIP, IPPROTO_FRAGMENT, 64);
	pkt_ip6_frag(p, IPPROTO_UDP, 8, false, 0x1234);
	pkt_data(p, 64, 2);
}

static void in_hop1(struct pkt *p)
{
	frame(p, gw_mac, mgt_pod_mac, POD, VIP, IPPROTO_TCP, 40040, 80, 1);
}

/* Not service traffic: passed untouched. */
static void in_other_port(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40050, 443); }
static void in_to_gw(struct pkt *p)
{
	frame(p, gw_mac, mgt_pod_mac, POD, GW6, IPPROTO_TCP, 40050, 22, 64);
}

static void in_ping_vip(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD, VIP, IPPROTO_ICMPV6, 64);
	pkt_icmp6(p, 128, 0, 0x00070001);
}

/*
 * Flow lifetimes (ct.h), as test_lb.c's lt_ rows: what opens a flow, its
 * states and expiry, an expired flow gone.  A row makes a flow old by
 * writing its expiry, not by waiting.
 */
#define LT_PORT		40201
#define NSEC		1000000000ULL

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static struct mg_ct6_key flow_of(const uint8_t *client, uint16_t sport)
{
	struct mg_ct6_key k = { .sport = htons(sport), .dport = htons(80),
				.proto = IPPROTO_TCP };

	memcpy(k.saddr, client, 16);
	memcpy(k.daddr, VIP, 16);
	return k;
}

static int ct_get(const uint8_t *client, uint16_t sport,
		  struct mg_ct6_val *v)
{
	struct mg_ct6_key k = flow_of(client, sport);

	return bpf_map_lookup_elem(mgt_dp_map(&env.dp, "mg_ct6_v2"), &k, v);
}

static void lt_expect(uint8_t st, uint8_t flags, uint64_t secs)
{
	struct mg_ct6_val v;
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

static void pod_tcp(struct pkt *p, uint16_t sport, uint8_t flags)
{
	pod_to(p, IPPROTO_TCP, sport, 80);
	pkt_put8(p, pkt_off(p, PKT_TCP, 0) + 13, flags);
}

static void in_lt_ack0(struct pkt *p) { pod_tcp(p, 40200, 0x10); }
static void in_lt_fin0(struct pkt *p) { pod_tcp(p, 40200, 0x11); }
static void in_lt_rst0(struct pkt *p) { pod_tcp(p, 40200, 0x04); }
static void lt_nothing(void)
{
	struct mg_ct6_val v;

	assert_int_not_equal(ct_get(POD, 40200, &v), 0);
}

static void in_lt_syn(struct pkt *p) { pod_tcp(p, LT_PORT, 0x02); }
static void in_lt_ack(struct pkt *p) { pod_tcp(p, LT_PORT, 0x10); }
static void in_lt_rst(struct pkt *p) { pod_tcp(p, LT_PORT, 0x14); }

static void want_lt_local(struct pkt *w, const struct pkt *o)
{
	size_t off = 14 + 40 + 13;
	uint8_t flags = o->len > off ? pkt_get8(o, off) : 0;

	want_local(w, o);
	pkt_put8(w, pkt_off(w, PKT_TCP, 0) + 13, flags);
}

static void lt_opening(void)
{
	lt_expect(MG_CT_OPENING, 0, MG_CT_TCP_OPENING_S);
}

/* L1 answers (SYN-ACK to our SNAT port): back to the client. */
static void in_lt_synack(struct pkt *p)
{
	pkt_eth(p, mgt_cluster_mac, l1_mac, ETH_P_IPV6);
	pkt_ip6(p, L1, GW6, IPPROTO_TCP, 64);
	pkt_tcp(p, 8080, env.snat_port, 0x12);
	pkt_data(p, 20, 3);
}

static void want_lt_synack(struct pkt *w, const struct pkt *o)
{
	reply_to_pod(w, VIP, 80, LT_PORT, 63);
}

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

static void lt_old(void)
{
	struct mg_ct6_key k = flow_of(POD, LT_PORT);
	struct mg_ct6_val v;

	assert_int_equal(ct_get(POD, LT_PORT, &v), 0);
	v.expires = 1;
	mgt_dp_put(&env.dp, "mg_ct6_v2", &k, &v);
}

static void lt_reopened(void)
{
	struct mg_ct6_val v;

	lt_opening();
	assert_int_equal(ct_get(POD, LT_PORT, &v), 0);
	assert_int_equal(ntohs(v.snat_port), env.snat_port);
}

/*
 * A remote backend takes no SNAT port, and Maglev gives it again: a flow
 * whose entry was lost is picked up mid-stream, as opening (30 s).
 */
static void lt_ring_remote(void) { mgt_ring_set(&env.dp, SVC_TCP, BE_R2); }
static void in_lt_remote(struct pkt *p) { pod_to(p, IPPROTO_TCP, 40210, 80); }
static void want_lt_remote(struct pkt *w, const struct pkt *o)
{
	to_peer2(w, o, 40210, IPPROTO_TCP, BE_R2);
}

static void lt_picked_up(void)
{
	struct mg_ct6_val v;

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
	{ "icmp6_error_reverse_nat", NULL, in_icmp_r1, want_icmp_vip, 0,
	  REDIR, MG_DECAP, NULL },
	{ "too_big_icmp6_quotes_the_vip", NULL, in_too_big, want_too_big, 0,
	  REDIR, MG_ICMP6_TOO_BIG, NULL },
	{ "backend_gone_flow_moves", r1_gone, in_ack, want_ack_r2, 0, TX,
	  MG_ENCAP, NULL },
	{ "affinity_local_dnat_snat", ring_l1, in_syn_local, want_local, 0,
	  REDIR, MG_LB_LOCAL, NULL },
	{ "local_reply_reverse_nat", NULL, in_reply_local, want_reply_local, 1,
	  REDIR, MG_LB_REPLY, NULL },
	{ "local_icmp6_error_reverse_nat", NULL, in_icmp_local,
	  want_icmp_local, 1, REDIR, MG_LB_REPLY, NULL },
	{ "udp_new_flow", NULL, in_udp, want_udp, 0, TX, MG_ENCAP, NULL },
	{ "udp_reply_reverse_nat", NULL, in_udp_reply, want_udp_reply, 0,
	  REDIR, MG_DECAP, NULL },
	{ "no_backend_empty_table", NULL, in_empty, NULL, 0, DROP,
	  MG_DROP_NO_BACKEND, NULL },
	{ "no_backend_no_table", NULL, in_no_ring, NULL, 0, DROP,
	  MG_DROP_NO_BACKEND, NULL },
	{ "vip_tcp_header_cut", NULL, in_tcp_short, NULL, 0, DROP,
	  MG_DROP_MALFORMED, NULL },
	{ "vip_ports_cut", NULL, in_ports_short, NULL, 0, DROP,
	  MG_DROP_MALFORMED, NULL },
	{ "vip_payload_length_past_the_end", NULL, in_payload_long, NULL, 0,
	  DROP, MG_DROP_MALFORMED, NULL },
	{ "vip_first_fragment", NULL, in_fragment, NULL, 0, DROP,
	  MG_DROP_VIP_FRAG, NULL },
	{ "vip_later_fragment", NULL, in_later_fragment, NULL, 0, DROP,
	  MG_DROP_VIP_FRAG, NULL },
	{ "vip_hop_limit_1_to_kernel", NULL, in_hop1, NULL, 0, PASS,
	  MG_TTL_EXCEEDED, NULL },
	{ "vip_other_port_passes", NULL, in_other_port, NULL, 0, PASS,
	  MG_PASS, NULL },
	{ "to_gateway_no_flow_passes", NULL, in_to_gw, NULL, 0, PASS,
	  MG_PASS, NULL },
	{ "vip_ping_passes", NULL, in_ping_vip, NULL, 0, PASS, MG_PASS, NULL },
	{ "lt_ack_opens_no_flow", ring_l1, in_lt_ack0, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, lt_nothing },
	{ "lt_fin_opens_no_flow", NULL, in_lt_fin0, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, lt_nothing },
	{ "lt_rst_opens_no_flow", NULL, in_lt_rst0, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, lt_nothing },
	{ "lt_syn_opens_a_flow_30s", NULL, in_lt_syn, want_lt_local, 0, REDIR,
	  MG_LB_LOCAL, lt_opening },
	{ "lt_backend_answers", NULL, in_lt_synack, want_lt_synack, 1, REDIR,
	  MG_LB_REPLY, lt_answered },
	{ "lt_client_acks_established_6h", NULL, in_lt_ack, want_lt_local, 0,
	  REDIR, MG_LB_LOCAL, lt_established },
	{ "lt_rst_closes_10s", NULL, in_lt_rst, want_lt_local, 0, REDIR,
	  MG_LB_LOCAL, lt_closing },
	{ "lt_expired_flow_is_gone", lt_old, in_lt_ack, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, NULL },
	{ "lt_expired_flow_reply_not_natted", NULL, in_lt_synack, NULL, 1,
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
	if (r->in != in_payload_long)
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

#define FAKE		A6(0xfd, 0, 0, 1, [14] = 7, [15] = 7)
#define POD2		A6(0xfd, 0, 0, 1, [15] = 6)

static int syn_from(const uint8_t *client, uint16_t sport)
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
	int rnat = mgt_dp_map(&env.dp, "mg_rnat6");

	for (uint32_t p = 61000; p <= 65535; p++) {
		struct mg_ct6_key rk = { .sport = htons(8080),
					 .dport = htons(p),
					 .proto = IPPROTO_TCP };
		struct mg_rnat6_val rv = { .vport = htons(80),
					   .cport = htons(p) };
		struct mg_ct6_key k = flow_of(FAKE, p);
		struct mg_ct6_val v = { .backend = BE_L1, .gen = 1,
					.snat_port = htons(p),
					.state = MG_CT_ESTABLISHED,
					.flags = MG_CT_F_REPLIED,
					.expires = expires };

		memcpy(rk.saddr, L1, 16);
		memcpy(rk.daddr, GW6, 16);
		memcpy(rv.vip, VIP, 16);
		memcpy(rv.client, FAKE, 16);
		memcpy(v.snat_addr, GW6, 16);
		mgt_map_put(rnat, &rk, &rv);
		mgt_dp_put(&env.dp, "mg_ct6_v2", &k, &v);
	}
}

/* As test_lb.c's: every port held, refused, then free as flows expire. */
static void t_snat6_exhausted_then_recovers(void **state)
{
	struct mg_ct6_key rk = { .sport = htons(8080), .proto = IPPROTO_TCP };
	struct mg_rnat6_val rv;
	struct mg_ct6_val v;
	struct pkt in, out;

	ring_l1();
	pool_fill(mono_ns() + 3600 * NSEC);
	pkt_init(&in);
	pod_tcp(&in, 40301, 0x02);
	pkt_finish(&in);
	mgt_dp_check(&env.dp, &in, &out, 0, MG_DROP_NO_SNAT, XDP_DROP);

	pool_fill(1);
	mgt_dp_check(&env.dp, &in, &out, 0, MG_LB_LOCAL, XDP_REDIRECT);
	assert_int_equal(ct_get(POD, 40301, &v), 0);
	memcpy(rk.saddr, L1, 16);
	memcpy(rk.daddr, GW6, 16);
	rk.dport = v.snat_port;
	assert_int_equal(bpf_map_lookup_elem(mgt_dp_map(&env.dp, "mg_rnat6"),
					     &rk, &rv), 0);
	assert_memory_equal(rv.client, POD, 16);
	assert_int_equal(rv.cport, htons(40301));
	pool_fill(1);
}

static void t_snat6_client_share(void **state)
{
	int got = 0;

	ring_l1();
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

int main(void)
{
	if (mgt_netns_topo(&env.topo))
		return 1;
	if (mgt_sh("ip -6 neigh replace fd00:1::20 lladdr 02:00:00:01:00:20"
		   " nud permanent dev mgc0"))
		return 1;
	const struct CMUnitTest extra[] = {
		cmocka_unit_test(t_snat6_exhausted_then_recovers),
		cmocka_unit_test(t_snat6_client_share),
	};

	return mgt_run_table("lb6", rows, sizeof(rows) / sizeof(rows[0]),
			     sizeof(rows[0]), run_row, extra,
			     sizeof(extra) / sizeof(extra[0]), setup,
			     teardown) ? 1 : 0;
}
