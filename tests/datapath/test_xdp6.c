// SPDX-License-Identifier: GPL-2.0-only
/*
 * Dual stack and path MTU in mg_xdp, through BPF_PROG_TEST_RUN (the same
 * harness as test_xdp.c: one table row is one packet, its verdict, the one
 * reason counter that goes up and the packet that comes out, compared
 * field by field).  IPv6 inner packets over an IPv4 and an IPv6 underlay,
 * IPv4 over IPv6, hostile IPv6 (extension header chains, truncation,
 * fragments), neighbour discovery, and the ICMP / ICMPv6 errors the
 * datapath builds, checked byte by byte with every checksum recomputed
 * here from scratch.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lib/dptest.h"
#include "lib/netns.h"

/* --- the mesh under test -------------------------------------------------- */

#define OWN_CID		1
#define TUN4		IP4(192, 0, 2, 1)
#define PEER2		IP4(192, 0, 2, 2)	/* cluster 2, IPv4 underlay */
#define CL4		IP4(10, 1, 0, 1)	/* cluster side: ICMP source */
#define POD4		IP4(10, 1, 0, 5)
#define REMOTE4_3	IP4(10, 3, 0, 9)	/* cluster 3, IPv6 underlay */
#define REMOTE4_2	IP4(10, 2, 0, 9)

#define A6(...)		((const uint8_t[16]){ __VA_ARGS__ })
#define TUN6		A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 1)
#define PEER3		A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 2)
#define STRANGER6	A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 0x99)
#define CL6		A6(0xfd, 0, 0, 1, [15] = 1)
#define POD6		A6(0xfd, 0, 0, 1, [15] = 5)
#define POD6_B		A6(0xfd, 0, 0, 1, [15] = 6)
#define REMOTE6_2	A6(0xfd, 0, 0, 2, [15] = 9)
#define REMOTE6_3	A6(0xfd, 0, 0, 3, [15] = 9)
#define SOLICITED	A6(0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 9)

#define MTU		1500

static const uint8_t nh_smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x01 };
static const uint8_t nh_dmac2[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x02 };
static const uint8_t nh_dmac3[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x03 };
static const uint8_t pod_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x09 };
static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

struct fixture {
	struct mgt_group g;		/* rows: struct dp6_case */
	uint16_t mss_clamp;
	bool frag_stack;
};

static struct {
	const struct fixture *fx;
	struct mgt_topo topo;
	struct mgt_dp dp;
} env;

static void ep4(uint32_t addr, uint32_t plen, uint8_t cid, uint8_t flags)
{
	struct mg_ep4_key k = { plen, addr };
	struct mg_ep_val v = { .cluster_id = cid, .flags = flags };

	mgt_dp_put(&env.dp, "mg_ep4", &k, &v);
}

static void ep6(const uint8_t *addr, uint32_t plen, uint8_t cid,
		uint8_t flags)
{
	struct mg_ep6_key k = { .prefixlen = plen };
	struct mg_ep_val v = { .cluster_id = cid, .flags = flags };

	memcpy(k.addr, addr, 16);
	mgt_dp_put(&env.dp, "mg_ep6", &k, &v);
}

static void maps_setup(void)
{
	struct mg_cluster_val c2 = { .n_gw = 1 }, c3 = { .n_gw = 1 };
	struct mg_nh_val nh = { .ifindex = 1, .mtu = MTU };
	struct mg_in6 peer3;
	uint32_t cid;

	ep4(IP4(10, 1, 0, 0), 16, OWN_CID, MG_EP_F_LOCAL);
	ep4(IP4(10, 2, 0, 0), 16, 2, 0);
	ep4(IP4(10, 3, 0, 0), 16, 3, 0);
	ep6(A6(0xfd, 0, 0, 1), 64, OWN_CID, MG_EP_F_LOCAL);
	ep6(A6(0xfd, 0, 0, 2), 64, 2, 0);
	ep6(A6(0xfd, 0, 0, 3), 64, 3, 0);

	c2.gw[0].family = MG_AF_INET;
	c2.gw[0].addr[0] = PEER2;
	c3.gw[0].family = MG_AF_INET6;
	memcpy(c3.gw[0].addr, PEER3, 16);
	cid = 2;
	mgt_dp_put(&env.dp, "mg_clus", &cid, &c2);
	cid = 3;
	mgt_dp_put(&env.dp, "mg_clus", &cid, &c3);

	mgt_dp_put(&env.dp, "mg_peer4", &(uint32_t){ PEER2 },
		   &(struct mg_peer_val){ .cluster_id = 2 });
	memcpy(peer3.addr, PEER3, 16);
	mgt_dp_put(&env.dp, "mg_peer6", &peer3,
		   &(struct mg_peer_val){ .cluster_id = 3 });

	memcpy(nh.smac, nh_smac, 6);
	memcpy(nh.dmac, nh_dmac2, 6);
	mgt_dp_put(&env.dp, "mg_nh4_v2", &(uint32_t){ PEER2 }, &nh);
	memcpy(nh.dmac, nh_dmac3, 6);
	mgt_dp_put(&env.dp, "mg_nh6", &peer3, &nh);
}

static int fixture_setup(void **state)
{
	struct mg_dp_settings s = {
		.tunnel4 = TUN4,
		.cluster4 = CL4,
		.vxlan_port = MG_VXLAN_PORT_DEFAULT,
		.cluster_id = OWN_CID,
		.nh_table = true,
		.udp6_csum = true,
		.frag_stack = env.fx->frag_stack,
		.mss_clamp = env.fx->mss_clamp,
	};

	memcpy(s.tunnel6, TUN6, 16);
	memcpy(s.cluster6, CL6, 16);
	if (mgt_dp_load(&env.dp, &s))
		return -1;
	maps_setup();
	return 0;
}

static int fixture_teardown(void **state)
{
	mgt_dp_destroy(&env.dp);
	return 0;
}

/* --- packets in ----------------------------------------------------------- */

/* A TCP segment of n data bytes. */
static void tcp_data(struct pkt *p, size_t n)
{
	pkt_tcp(p, 40000, 80, 0x18);
	pkt_data(p, n, 7);
}

static void pod6(struct pkt *p, const uint8_t *dst, size_t n)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6x(p, POD6, dst, IPPROTO_TCP, 64, 0x28, 0x12345);
	tcp_data(p, n);
}

static void pod4(struct pkt *p, uint32_t dst, size_t n, uint16_t frag)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD4, .daddr = dst,
				      .proto = IPPROTO_TCP, .ttl = 64,
				      .tos = 0x10, .id = 0x1234,
				      .frag_off = frag });
	tcp_data(p, n);
}

static void eg6_over4(struct pkt *p) { pod6(p, REMOTE6_2, 32); }
static void eg6_over6(struct pkt *p) { pod6(p, REMOTE6_3, 32); }
static void eg4_over6(struct pkt *p) { pod4(p, REMOTE4_3, 32, 0x4000); }
static void eg6_big4(struct pkt *p) { pod6(p, REMOTE6_2, MTU - 60); }
static void eg6_big6(struct pkt *p) { pod6(p, REMOTE6_3, MTU - 60); }
static void eg4_big_df(struct pkt *p) { pod4(p, REMOTE4_2, MTU - 40, 0x4000); }
static void eg4_big(struct pkt *p) { pod4(p, REMOTE4_2, MTU - 40, 0); }
/* Fits exactly: 1450 + 50 over IPv4, 1430 + 70 over IPv6. */
static void eg4_fits(struct pkt *p) { pod4(p, REMOTE4_2, 1450 - 40, 0x4000); }
static void eg6_fits6(struct pkt *p) { pod6(p, REMOTE6_3, 1430 - 60); }

/* Extension headers: n of them (hop-by-hop first), then TCP. */
static void eg6_ext(struct pkt *p, int n, bool hbh_first)
{
	static const uint8_t kinds[] = { IPPROTO_DSTOPTS, IPPROTO_ROUTING,
					 IPPROTO_DSTOPTS, IPPROTO_ROUTING,
					 IPPROTO_DSTOPTS, IPPROTO_ROUTING,
					 IPPROTO_DSTOPTS };
	uint8_t first = hbh_first ? IPPROTO_HOPOPTS : kinds[0];

	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, REMOTE6_2, n ? first : IPPROTO_TCP, 64);
	for (int i = 0; i < n; i++)
		pkt_ip6_ext(p, i + 1 < n ? kinds[i + 1] : IPPROTO_TCP,
			    i == 1 ? 16 : 8);
	tcp_data(p, 16);
}

static void eg6_hbh(struct pkt *p) { eg6_ext(p, 1, true); }
static void eg6_ext6(struct pkt *p) { eg6_ext(p, 6, true); }
static void eg6_ext7(struct pkt *p) { eg6_ext(p, 7, true); }
static void eg6_ext3(struct pkt *p) { eg6_ext(p, 3, false); }

/* Hop-by-hop after a destination options header. */
static void eg6_hbh_second(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, REMOTE6_2, IPPROTO_DSTOPTS, 64);
	pkt_ip6_ext(p, IPPROTO_HOPOPTS, 8);
	pkt_ip6_ext(p, IPPROTO_TCP, 8);
	tcp_data(p, 16);
}

static void eg6_frag(struct pkt *p, uint16_t offset, bool more)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, REMOTE6_2, IPPROTO_FRAGMENT, 64);
	pkt_ip6_frag(p, IPPROTO_UDP, offset, more, 0xabcd);
	if (!offset)
		pkt_udp(p, 5000 + more, 53, false);
	pkt_data(p, 64, 3);
}

static void eg6_frag_first(struct pkt *p) { eg6_frag(p, 0, true); }
static void eg6_frag_later(struct pkt *p) { eg6_frag(p, 8, false); }

/*
 * Over the IPv6 underlay the outer UDP checksum is derived from the inner
 * L4 checksum where that covers the rest of the frame (tunnel.h,
 * mg_inner_lco), else summed byte by byte: every kind of inner packet,
 * the expected checksum always summed from scratch here.
 */
static void eg6_l4(struct pkt *p, uint8_t proto, size_t n)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6x(p, POD6, REMOTE6_3, proto, 64, 0, 0x2468a);
	if (proto == IPPROTO_UDP)
		pkt_udp(p, 5353, 53, true);
	else if (proto == IPPROTO_ICMPV6)
		pkt_icmp6(p, 128, 0, 0x12340001);
	pkt_data(p, n, 9);
}

static void eg4_l4f(struct pkt *p, uint8_t proto, bool csum, size_t n,
		    uint16_t frag)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD4, .daddr = REMOTE4_3,
				      .proto = proto, .ttl = 64,
				      .frag_off = frag });
	if (proto == IPPROTO_UDP)
		pkt_udp(p, 5353, 53, csum);
	else if (proto == IPPROTO_ICMP)
		pkt_icmp_echo(p, 0x77, 1);
	pkt_data(p, n, 9);
}

static void eg4_l4(struct pkt *p, uint8_t proto, bool csum, size_t n)
{
	eg4_l4f(p, proto, csum, n, 0);
}

static void eg6_udp6(struct pkt *p) { eg6_l4(p, IPPROTO_UDP, 33); }
static void eg6_icmp6(struct pkt *p) { eg6_l4(p, IPPROTO_ICMPV6, 56); }
static void eg6_other6(struct pkt *p) { eg6_l4(p, IPPROTO_GRE, 21); }
static void eg4_udp_over6(struct pkt *p) { eg4_l4(p, IPPROTO_UDP, true, 17); }
static void eg4_udp0_over6(struct pkt *p) { eg4_l4(p, IPPROTO_UDP, false, 17); }
static void eg4_icmp_over6(struct pkt *p) { eg4_l4(p, IPPROTO_ICMP, true, 40); }
/* More fragments: the UDP checksum covers the whole datagram. */
static void eg4_frag_over6(struct pkt *p) { eg4_l4f(p, IPPROTO_UDP, true, 24, 0x2000); }

static void eg6_dstopts6(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, REMOTE6_3, IPPROTO_DSTOPTS, 64);
	pkt_ip6_ext(p, IPPROTO_TCP, 8);
	tcp_data(p, 16);
}

static void eg6_frag_first6(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, REMOTE6_3, IPPROTO_FRAGMENT, 64);
	pkt_ip6_frag(p, IPPROTO_UDP, 0, true, 0xabce);
	pkt_udp(p, 5001, 53, true);
	pkt_data(p, 64, 3);
}

/* ND and other traffic of the kernel's. */
static void nd_ns(struct pkt *p)
{
	const uint8_t mc[6] = { 0x33, 0x33, 0xff, 0, 0, 9 };

	pkt_eth(p, mc, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, SOLICITED, IPPROTO_ICMPV6, 255);
	pkt_icmp6(p, 135, 0, 0);
	pkt_data(p, 16, 0);
}

/* A neighbour advertisement sent straight to a remote prefix's address. */
static void nd_na_remote(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, REMOTE6_2, IPPROTO_ICMPV6, 255);
	pkt_icmp6(p, 136, 0, 0x60000000);
	pkt_data(p, 16, 0);
}

static void ping6_remote(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, REMOTE6_2, IPPROTO_ICMPV6, 64);
	pkt_icmp6(p, 128, 0, 0x00070001);
	pkt_data(p, 56, 0);
}

static void ping6_gw(struct pkt *p)
{
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IPV6);
	pkt_ip6(p, PEER3, TUN6, IPPROTO_ICMPV6, 64);
	pkt_icmp6(p, 128, 0, 0x00070001);
	pkt_data(p, 56, 0);
}

static void udp6_gw(struct pkt *p)
{
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IPV6);
	pkt_ip6(p, PEER3, TUN6, IPPROTO_UDP, 64);
	pkt_udp(p, 7946, 7946, true);
	pkt_data(p, 40, 1);
}

static void local6(struct pkt *p) { pod6(p, POD6_B, 16); }

/* Tunnel packets: outer IPv4 from PEER2 or IPv6 from PEER3. */
static void outer4(struct pkt *p)
{
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = PEER2, .daddr = TUN4,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x4000 });
	pkt_udp(p, 51234, MG_VXLAN_PORT_DEFAULT, false);
	pkt_vxlan(p, 0x08000000, 2);
}

static void outer6(struct pkt *p, uint8_t next)
{
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IPV6);
	pkt_ip6x(p, PEER3, TUN6, next, 64, 0, 51234);
	if (next == IPPROTO_DSTOPTS)
		pkt_ip6_ext(p, IPPROTO_UDP, 8);
	if (next == IPPROTO_FRAGMENT)
		pkt_ip6_frag(p, IPPROTO_UDP, 0, true, 7);
	pkt_udp(p, 51234, MG_VXLAN_PORT_DEFAULT, true);
	pkt_vxlan(p, 0x08000000, 3);
}

static void inner6(struct pkt *p, uint8_t from, const uint8_t *src,
		   size_t n)
{
	const uint8_t mesh[6] = MG_MESH_MAC_INIT(from);
	const uint8_t own[6] = MG_MESH_MAC_INIT(OWN_CID);

	pkt_eth(p, own, mesh, ETH_P_IPV6);
	pkt_ip6x(p, src, POD6, IPPROTO_TCP, 63, 0x28, 0x54321);
	tcp_data(p, n);
}

static void inner4(struct pkt *p, uint8_t from, uint32_t src, size_t n)
{
	const uint8_t mesh[6] = MG_MESH_MAC_INIT(from);
	const uint8_t own[6] = MG_MESH_MAC_INIT(OWN_CID);

	pkt_eth(p, own, mesh, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = src, .daddr = POD4,
				      .proto = IPPROTO_TCP, .ttl = 63,
				      .tos = 0x10, .id = 0x4321,
				      .frag_off = 0x4000 });
	tcp_data(p, n);
}

static void vx6_over4(struct pkt *p) { outer4(p); inner6(p, 2, REMOTE6_2, 40); }
static void vx6_over6(struct pkt *p) { outer6(p, IPPROTO_UDP); inner6(p, 3, REMOTE6_3, 40); }
static void vx4_over6(struct pkt *p) { outer6(p, IPPROTO_UDP); inner4(p, 3, REMOTE4_3, 40); }
static void vx6_spoof(struct pkt *p) { outer6(p, IPPROTO_UDP); inner6(p, 3, REMOTE6_2, 40); }
static void vx6_dstopts(struct pkt *p) { outer6(p, IPPROTO_DSTOPTS); inner6(p, 3, REMOTE6_3, 40); }
static void vx6_frag(struct pkt *p) { outer6(p, IPPROTO_FRAGMENT); inner6(p, 3, REMOTE6_3, 40); }
/* Larger than the cluster side's MTU once decapsulated. */
static void vx4_big(struct pkt *p) { outer4(p); inner4(p, 2, REMOTE4_2, MTU + 60); }
static void vx6_big6(struct pkt *p) { outer6(p, IPPROTO_UDP); inner6(p, 3, REMOTE6_3, MTU + 40); }

/* TCP SYNs with options: MSS first, or after a NOP (odd offset). */
static void syn(struct pkt *p, bool v6, uint16_t mss, bool odd, uint8_t flags)
{
	const uint8_t opts_even[8] = { 2, 4, mss >> 8, mss & 0xff, 1, 1, 4, 2 };
	const uint8_t opts_odd[8] = { 1, 2, 4, mss >> 8, mss & 0xff, 1, 4, 2 };
	size_t t;

	pkt_eth(p, gw_mac, pod_mac, v6 ? ETH_P_IPV6 : ETH_P_IP);
	if (v6)
		pkt_ip6(p, POD6, REMOTE6_3, IPPROTO_TCP, 64);
	else
		pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD4,
					      .daddr = REMOTE4_2,
					      .proto = IPPROTO_TCP, .ttl = 64,
					      .frag_off = 0x4000 });
	t = p->len;
	pkt_tcp(p, 40000, 443, flags);
	pkt_put8(p, t + 12, 7 << 4);
	pkt_raw(p, odd ? opts_odd : opts_even, 8);
}

static void syn4(struct pkt *p) { syn(p, false, 1460, false, 0x02); }
static void syn4_odd(struct pkt *p) { syn(p, false, 1460, true, 0x02); }
static void synack4(struct pkt *p) { syn(p, false, 1460, false, 0x12); }
static void syn4_small(struct pkt *p) { syn(p, false, 1200, false, 0x02); }
static void ack4_mss(struct pkt *p) { syn(p, false, 1460, false, 0x10); }
static void syn6(struct pkt *p) { syn(p, true, 1440, false, 0x02); }

/* --- the tables ----------------------------------------------------------- */

enum want {
	SAME,		/* unchanged */
	ENCAP,		/* behind outer headers to the destination's gateway */
	DECAP,		/* the inner packet, to the pod */
	DECAP_STACK,	/* the inner packet, to the kernel */
	ICMP_BACK,	/* an ICMP error to the pod */
	ICMP_TUNNEL,	/* an ICMP error back through the tunnel */
};

struct dp6_case {
	const char *name;
	void (*in)(struct pkt *p);
	struct pkt_edit edit[2];
	size_t cut;		/* truncate to this length (0: no) */
	bool raw;		/* leave checksums as the edits made them */
	uint8_t pad;		/* then bytes past every length (a trailer) */
	int verdict;
	enum mg_reason reason;
	enum want want;
	uint16_t mtu;		/* ICMP_*: the MTU the error reports */
	uint16_t mss;		/* ENCAP: the MSS the SYN leaves with */
};

#define IP6_PLEN(v)	{ PKT_IP6, 0, 4, 2, v }
#define IP6_HLIM(n, v)	{ PKT_IP6, n, 7, 1, v }

static const struct dp6_case base_cases[] = {
	/* Path 1 in every mix of families. */
	{ "encap ipv6 over ipv4", eg6_over4, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap ipv6 over ipv6", eg6_over6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap ipv4 over ipv6", eg4_over6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap ipv6 hop limit 2", eg6_over6, .edit = { IP6_HLIM(0, 2) },
	  .verdict = XDP_TX, .reason = MG_ENCAP, .want = ENCAP },
	{ "encap ipv4 that just fits", eg4_fits, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap ipv6 that just fits over ipv6", eg6_fits6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap with hop-by-hop options", eg6_hbh, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap with six extension headers", eg6_ext6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap with dstopts, routing, dstopts", eg6_ext3, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap first fragment", eg6_frag_first, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap later fragment", eg6_frag_later, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	/* The outer UDP checksum over IPv6, derived or summed. */
	{ "encap ipv6 udp over ipv6", eg6_udp6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap icmpv6 over ipv6", eg6_icmp6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap ipv6 gre over ipv6 (summed)", eg6_other6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap ipv4 udp over ipv6", eg4_udp_over6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap ipv4 udp without checksum over ipv6 (summed)",
	  eg4_udp0_over6, .verdict = XDP_TX, .reason = MG_ENCAP,
	  .want = ENCAP },
	{ "encap ipv4 icmp over ipv6", eg4_icmp_over6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "encap dstopts over ipv6 (summed)", eg6_dstopts6,
	  .verdict = XDP_TX, .reason = MG_ENCAP, .want = ENCAP },
	{ "encap first fragment over ipv6 (summed)", eg6_frag_first6,
	  .verdict = XDP_TX, .reason = MG_ENCAP, .want = ENCAP },
	{ "encap ipv4 first fragment over ipv6 (summed)", eg4_frag_over6,
	  .verdict = XDP_TX, .reason = MG_ENCAP, .want = ENCAP },
	{ "egress ipv6 hop limit 1: to the kernel", eg6_over4,
	  .edit = { IP6_HLIM(0, 1) },
	  .verdict = XDP_PASS, .reason = MG_TTL_EXCEEDED },
	{ "egress ipv6 source of another cluster", eg6_over4,
	  .edit = { { PKT_IP6, 0, 8 + 3, 1, 3 } },
	  .verdict = XDP_DROP, .reason = MG_DROP_SRC_FOREIGN },

	/* Hostile IPv6. */
	{ "ipv6 seven extension headers", eg6_ext7,
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "ipv6 hop-by-hop not first", eg6_hbh_second,
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "ipv6 extension header past the payload", eg6_hbh,
	  .edit = { IP6_PLEN(4) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "ipv6 extension header cut short", eg6_hbh, .cut = 14 + 40 + 6,
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "ipv6 extension header length past the packet", eg6_hbh,
	  .edit = { { PKT_DATA, 0, 1, 1, 200 } },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "ipv6 truncated in the fixed header", eg6_over4, .cut = 14 + 39,
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "ipv6 payload length past the packet", eg6_over4,
	  .edit = { IP6_PLEN(20 + 32 + 1) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "ipv6 version 4 in an ipv6 frame", eg6_over4,
	  .edit = { { PKT_IP6, 0, 0, 1, 0x40 } },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },

	/* Neighbour discovery and the gateway's own traffic pass. */
	{ "pass neighbour solicitation", nd_ns,
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass neighbour advertisement to a remote prefix", nd_na_remote,
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass ping to the ipv6 tunnel address", ping6_gw,
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass udp to the ipv6 tunnel address, another port", udp6_gw,
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass ipv6 local to local", local6,
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "encap ping6 to a remote pod", ping6_remote, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },

	/* Path 2 in every mix. */
	{ "decap ipv6 over ipv4", vx6_over4, .verdict = XDP_REDIRECT,
	  .reason = MG_DECAP, .want = DECAP },
	{ "decap ipv6 over ipv6", vx6_over6, .verdict = XDP_REDIRECT,
	  .reason = MG_DECAP, .want = DECAP },
	{ "decap ipv4 over ipv6", vx4_over6, .verdict = XDP_REDIRECT,
	  .reason = MG_DECAP, .want = DECAP },
	{ "decap zero udp checksum over ipv6 taken", vx6_over6,
	  .edit = { { PKT_UDP, 0, 6, 2, 0 } }, .raw = true,
	  .verdict = XDP_REDIRECT, .reason = MG_DECAP, .want = DECAP },
	{ "decap wrong udp checksum over ipv6 dropped", vx6_over6,
	  .edit = { { PKT_UDP, 0, 6, 2, 0x1234 } }, .raw = true,
	  .verdict = XDP_DROP, .reason = MG_DROP_OUTER_CSUM },
	{ "decap inner hop limit 1: to the kernel", vx6_over6,
	  .edit = { IP6_HLIM(1, 1) },
	  .verdict = XDP_PASS, .reason = MG_TTL_EXCEEDED,
	  .want = DECAP_STACK },
	{ "decap bytes past the outer ipv6 datagram cut off", vx6_over6,
	  .pad = 8, .verdict = XDP_REDIRECT, .reason = MG_DECAP,
	  .want = DECAP },
	{ "decap bytes past the outer ipv4 datagram cut off", vx6_over4,
	  .pad = 5, .verdict = XDP_REDIRECT, .reason = MG_DECAP,
	  .want = DECAP },
	{ "vxlan over ipv6 inner packet runs past the datagram", vx6_over6,
	  .edit = { { PKT_IP6, 1, 4, 2, 20 + 40 + 8 } }, .pad = 8,
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan over ipv6 from a stranger", vx6_over6,
	  .edit = { { PKT_IP6, 0, 8 + 15, 1, 0x99 } },
	  .verdict = XDP_DROP, .reason = MG_DROP_PEER_UNKNOWN },
	{ "vxlan over ipv6 with destination options", vx6_dstopts,
	  .verdict = XDP_DROP, .reason = MG_DROP_IP_OPTS },
	{ "vxlan over ipv6 fragmented", vx6_frag,
	  .verdict = XDP_DROP, .reason = MG_DROP_FRAG },
	{ "vxlan over ipv6 another cluster's vni", vx6_over6,
	  .edit = { { PKT_VXLAN, 0, 4, 4, 2 << 8 } },
	  .verdict = XDP_DROP, .reason = MG_DROP_VNI },
	{ "vxlan over ipv6 inner source of another cluster", vx6_spoof,
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_SRC },
	{ "vxlan over ipv6 udp length short", vx6_over6,
	  .edit = { { PKT_UDP, 0, 4, 2, 16 } },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan over ipv6 inner truncated", vx6_over6, .cut = 84 + 30,
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },

	/* Path 5: too big, answered in the datapath. */
	{ "too big: ipv4 with DF", eg4_big_df, .verdict = XDP_REDIRECT,
	  .reason = MG_ICMP_FRAG_NEEDED, .want = ICMP_BACK, .mtu = 1450 },
	{ "too big: ipv4 without DF dropped", eg4_big,
	  .verdict = XDP_DROP, .reason = MG_DROP_FRAG_NEEDED },
	{ "too big: ipv6 over ipv4", eg6_big4, .verdict = XDP_REDIRECT,
	  .reason = MG_ICMP6_TOO_BIG, .want = ICMP_BACK, .mtu = 1450 },
	{ "too big: ipv6 over ipv6", eg6_big6, .verdict = XDP_REDIRECT,
	  .reason = MG_ICMP6_TOO_BIG, .want = ICMP_BACK, .mtu = 1430 },
	{ "too big for the cluster side: ipv4 over ipv4", vx4_big,
	  .verdict = XDP_REDIRECT, .reason = MG_ICMP_FRAG_NEEDED,
	  .want = ICMP_TUNNEL, .mtu = MTU },
	{ "too big for the cluster side: ipv6 over ipv6", vx6_big6,
	  .verdict = XDP_REDIRECT, .reason = MG_ICMP6_TOO_BIG,
	  .want = ICMP_TUNNEL, .mtu = MTU },
};

/* mss_clamp = auto: 1500 - 50 - 40 over IPv4, 1500 - 70 - 60 over IPv6. */
static const struct dp6_case mss_cases[] = {
	{ "clamp ipv4 syn", syn4, .verdict = XDP_TX,
	  .reason = MG_MSS_CLAMPED, .want = ENCAP, .mss = 1410 },
	{ "clamp ipv4 syn-ack", synack4, .verdict = XDP_TX,
	  .reason = MG_MSS_CLAMPED, .want = ENCAP, .mss = 1410 },
	{ "clamp mss at an odd offset", syn4_odd, .verdict = XDP_TX,
	  .reason = MG_MSS_CLAMPED, .want = ENCAP, .mss = 1410 },
	{ "clamp ipv6 syn over ipv6", syn6, .verdict = XDP_TX,
	  .reason = MG_MSS_CLAMPED, .want = ENCAP, .mss = 1370 },
	{ "clamp leaves a smaller mss", syn4_small, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "clamp leaves a non-syn", ack4_mss, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
	{ "clamp leaves a syn without options", eg4_over6, .verdict = XDP_TX,
	  .reason = MG_ENCAP, .want = ENCAP },
};

/* fragment = stack. */
static const struct dp6_case stack_cases[] = {
	{ "too big: ipv4 without DF to the kernel", eg4_big,
	  .verdict = XDP_PASS, .reason = MG_FRAG_STACK },
	{ "too big: ipv4 with DF still answered", eg4_big_df,
	  .verdict = XDP_REDIRECT, .reason = MG_ICMP_FRAG_NEEDED,
	  .want = ICMP_BACK, .mtu = 1450 },
};

/* --- expected packets ----------------------------------------------------- */

static bool is_v6(const struct pkt *p, size_t eth)
{
	return pkt_get16(p, eth + 12) == ETH_P_IPV6;
}

/* TTL or hop limit of the IP header at off, minus one. */
static void ttl_dec(struct pkt *p, size_t off, bool v6)
{
	size_t at = off + (v6 ? 7 : 8);

	pkt_put8(p, at, pkt_get8(p, at) - 1);
}

/* The MSS option's value in a TCP header with 8 bytes of options. */
static size_t mss_at(const struct pkt *p, size_t tcp)
{
	return tcp + 20 + (pkt_get8(p, tcp + 20) == 1 ? 3 : 2);
}

static void want_encap(const struct dp6_case *c, const struct pkt *in,
		       const struct pkt *out, struct pkt *w)
{
	const uint8_t src[6] = MG_MESH_MAC_INIT(OWN_CID);
	uint8_t dst[6] = MG_MESH_MAC_INIT(0);
	bool inner6 = is_v6(in, 0), outer6 = is_v6(out, 0);
	struct pkt inner = *in;
	size_t o = outer6 ? 54 : 34, tcp;
	uint16_t sport = pkt_get16(out, o);
	uint32_t ip_dst;
	uint8_t tos;
	int cid;

	if (sport < 49152)
		fail_msg("outer udp source port %u is not in 49152..65535",
			 sport);
	if (inner6)
		cid = pkt_get8(in, 14 + 24 + 3);
	else
		cid = pkt_get8(in, 14 + 16 + 1);
	dst[5] = cid;
	memcpy(inner.data, dst, 6);
	memcpy(inner.data + 6, src, 6);
	ttl_dec(&inner, 14, inner6);
	if (c->mss) {
		tcp = pkt_off(&inner, PKT_TCP, 0);
		pkt_put16(&inner, mss_at(&inner, tcp), c->mss);
	}
	/* Only the inner IPv4 header and a rewritten TCP are re-summed. */
	for (int i = 0; i < inner.n; i++)
		if (inner.l[i].type == PKT_UDP || inner.l[i].type == PKT_ICMP6 ||
		    (inner.l[i].type == PKT_TCP && !c->mss))
			inner.l[i].type = PKT_DATA;

	tos = inner6 ? pkt_get32(in, 14) >> 20 : pkt_get8(in, 15);
	pkt_init(w);
	if (outer6) {
		pkt_eth(w, nh_dmac3, nh_smac, ETH_P_IPV6);
		pkt_ip6x(w, TUN6, cid == 3 ? PEER3 : STRANGER6, IPPROTO_UDP,
			 64, tos, pkt_get32(out, 14) & 0xfffff);
	} else {
		ip_dst = cid == 2 ? PEER2 : 0;
		pkt_eth(w, nh_dmac2, nh_smac, ETH_P_IP);
		pkt_ip4(w, &(struct pkt_ip4){ .saddr = TUN4, .daddr = ip_dst,
					      .proto = IPPROTO_UDP, .ttl = 64,
					      .tos = tos,
					      .frag_off = 0x4000 });
	}
	pkt_udp(w, sport, MG_VXLAN_PORT_DEFAULT, outer6);
	pkt_vxlan(w, 0x08000000, OWN_CID);
	pkt_append(w, &inner, 0);
	pkt_finish(w);
}

static void want_decap(const struct dp6_case *c, const struct pkt *in,
		       struct pkt *w)
{
	size_t ieth = pkt_off(in, PKT_ETH, 1);
	bool v6 = is_v6(in, ieth);

	pkt_init(w);
	pkt_append(w, in, ieth);
	if (c->want == DECAP) {
		memcpy(w->data, mgt_pod_mac, 6);
		memcpy(w->data + 6, mgt_cluster_mac, 6);
		ttl_dec(w, 14, v6);
	} else {
		memcpy(w->data, in->data, 12);
	}
	for (int i = 0; i < w->n; i++)
		if (w->l[i].type == PKT_TCP)
			w->l[i].type = PKT_DATA;
	pkt_finish(w);
}

/*
 * The ICMP error about the IP packet at ip of in: from the cluster side's
 * address to the packet's source, quoting what fits in 576 / 1280 bytes.
 */
static void icmp_error(struct pkt *w, const struct pkt *in, size_t ip,
		       uint16_t mtu)
{
	bool v6 = (pkt_get8(in, ip) >> 4) == 6;
	size_t max = v6 ? 1280 - 48 : 576 - 28;
	size_t len = in->len - ip;
	uint32_t src4;

	if (len > max)
		len = max;
	len &= ~(size_t)3;
	if (v6) {
		pkt_ip6(w, CL6, in->data + ip + 8, IPPROTO_ICMPV6, 64);
		pkt_icmp6(w, 2, 0, mtu);
	} else {
		memcpy(&src4, in->data + ip + 12, 4);
		pkt_ip4(w, &(struct pkt_ip4){ .saddr = CL4, .daddr = src4,
					      .proto = IPPROTO_ICMP, .ttl = 64,
					      .tos = 0xc0 });
		pkt_icmp(w, 3, 4, mtu);
	}
	pkt_raw(w, in->data + ip, len);
}

static void want_icmp(const struct dp6_case *c, const struct pkt *in,
		      struct pkt *w)
{
	pkt_init(w);
	if (c->want == ICMP_BACK) {
		pkt_eth(w, in->data + 6, in->data, pkt_get16(in, 12));
		icmp_error(w, in, 14, c->mtu);
	} else {
		size_t ieth = pkt_off(in, PKT_ETH, 1);
		bool o6 = is_v6(in, 0);
		uint16_t sport = pkt_get16(in, ieth - 16);
		const uint8_t own[6] = MG_MESH_MAC_INIT(OWN_CID);

		pkt_eth(w, in->data + 6, in->data, pkt_get16(in, 12));
		if (o6)
			pkt_ip6x(w, TUN6, PEER3, IPPROTO_UDP, 64, 0, sport);
		else
			pkt_ip4(w, &(struct pkt_ip4){
				.saddr = TUN4, .daddr = PEER2,
				.proto = IPPROTO_UDP, .ttl = 64,
				.frag_off = 0x4000 });
		pkt_udp(w, sport, MG_VXLAN_PORT_DEFAULT, o6);
		pkt_vxlan(w, 0x08000000, OWN_CID);
		pkt_eth(w, in->data + ieth + 6, own, pkt_get16(in, ieth + 12));
		icmp_error(w, in, ieth + 14, c->mtu);
	}
	pkt_finish(w);
}

static void build(const struct dp6_case *c, struct pkt *p)
{
	pkt_init(p);
	c->in(p);
	pkt_finish(p);
	for (int i = 0; i < 2 && c->edit[i].width; i++)
		pkt_apply(p, &c->edit[i]);
	if (!c->raw)
		pkt_fix_csums(p);
	if (c->cut)
		pkt_truncate(p, c->cut);
	for (int i = 0; i < c->pad; i++)
		p->data[p->len++] = 0xa0 + i;
}

static void run_case(void **state)
{
	const struct dp6_case *c = *state;
	struct pkt in, out, want, cut;

	build(c, &in);
	mgt_dp_check(&env.dp, &in, &out, 0, c->reason, c->verdict);
	switch (c->want) {
	case SAME:
		want = in;
		break;
	case ENCAP:
		want_encap(c, &in, &out, &want);
		break;
	case DECAP:
	case DECAP_STACK:
		cut = in;
		cut.len -= c->pad;	/* the trailer is cut off */
		want_decap(c, &cut, &want);
		break;
	case ICMP_BACK:
	case ICMP_TUNNEL:
		want_icmp(c, &in, &want);
		break;
	}
	/* A dropped packet has no output to compare. */
	if (c->verdict == XDP_DROP)
		return;
	mgt_expect_packet(&out, &want, &in);
}

/* --- tests that are not one packet ---------------------------------------- */

/* Every fragment of a datagram takes the same tunnel and source port. */
static void test_fragments_one_flow(void **state)
{
	struct pkt first, later, out;
	uint16_t sp;

	pkt_init(&first);
	eg6_frag_first(&first);
	pkt_finish(&first);
	pkt_init(&later);
	eg6_frag_later(&later);
	pkt_finish(&later);
	mgt_dp_check(&env.dp, &first, &out, 0, MG_ENCAP, XDP_TX);
	sp = pkt_get16(&out, 34);
	mgt_dp_check(&env.dp, &later, &out, 0, MG_ENCAP, XDP_TX);
	assert_int_equal(pkt_get16(&out, 34), sp);
}

/* in goes out over IPv6 with a UDP checksum right for its bytes. */
static void expect_udp6_csum(const struct pkt *in, const char *what)
{
	struct pkt out;
	uint32_t sum = 0;
	size_t ulen;

	mgt_dp_check(&env.dp, in, &out, 0, MG_ENCAP, XDP_TX);
	assert_int_equal(out.len, in->len + 70);
	ulen = out.len - 54;
	for (size_t i = 22; i < 54; i += 2)
		sum += pkt_get16(&out, i);
	sum += IPPROTO_UDP + ulen;
	if (pkt_csum(out.data + 54, ulen, sum) != 0)
		fail_msg("%s: udp checksum 0x%04x is wrong", what,
			 pkt_get16(&out, 60));
}

/*
 * Where no inner checksum covers the frame: bytes past the inner IP packet
 * (Ethernet padding), and a first fragment, whose UDP checksum covers the
 * datagram (here: a checksum of other bytes than this fragment's).
 */
static void test_udp6_checksum_not_derived(void **state)
{
	struct pkt in;

	for (size_t k = 1; k <= 9; k++) {
		char what[32];

		pkt_init(&in);
		pod6(&in, REMOTE6_3, 32);
		pkt_finish(&in);
		for (size_t i = 0; i < k; i++)
			in.data[in.len + i] = 0x40 + i;
		in.len += k;
		snprintf(what, sizeof(what), "%zu bytes past the packet", k);
		expect_udp6_csum(&in, what);
	}
	pkt_init(&in);
	eg4_frag_over6(&in);
	pkt_finish(&in);
	pkt_put16(&in, pkt_off(&in, PKT_UDP, 0) + 6, 0x1234);
	expect_udp6_csum(&in, "ipv4 first fragment");
	pkt_init(&in);
	eg6_frag_first6(&in);
	pkt_finish(&in);
	pkt_put16(&in, pkt_off(&in, PKT_UDP, 0) + 6, 0x1234);
	expect_udp6_csum(&in, "ipv6 first fragment");
}

static void vx4_over4(struct pkt *p) { outer4(p); inner4(p, 2, REMOTE4_2, 40); }

/* One packet through the datapath, built as a table row would be. */
static void one(void (*fn)(struct pkt *), struct pkt *in, struct pkt *out,
		enum mg_reason reason, int verdict)
{
	pkt_init(in);
	fn(in);
	pkt_finish(in);
	mgt_dp_check(&env.dp, in, out, 0, reason, verdict);
}

/* Entries in mg_fibc, the cluster side's next hops kept (fib.h). */
static int fibc_entries(void)
{
	int fd = mgt_dp_map(&env.dp, "mg_fibc"), n = 0;
	uint8_t key[64], next[64];
	void *prev = NULL;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

static void fibc_clear(void)
{
	int fd = mgt_dp_map(&env.dp, "mg_fibc");
	uint8_t key[64];

	while (!bpf_map_get_next_key(fd, NULL, key))
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
	/* And what was asked before (mg_fibc_seen) is older than the TTL. */
	usleep(100 * 1000);
}

/*
 * The cluster side's next hop comes from the kernel FIB and is kept for a
 * while (fib.h, mg_fibc), from the second packet asking for it on: a
 * one-packet flow costs no insert.
 */
static void test_decap_kept_from_second(void **state)
{
	struct pkt in, out;

	fibc_clear();
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_int_equal(fibc_entries(), 0);
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_int_equal(fibc_entries(), 1);
	one(vx4_over4, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_int_equal(fibc_entries(), 1);
	one(vx4_over4, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_int_equal(fibc_entries(), 2);
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_memory_equal(out.data, mgt_pod_mac, 6);
	assert_int_equal(fibc_entries(), 2);
}

/* A packet too big for the route is still answered from what is kept. */
static void test_decap_cached_mtu(void **state)
{
	const struct dp6_case c = { .want = ICMP_TUNNEL, .mtu = MTU };
	struct pkt in, out, want;

	fibc_clear();
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_memory_equal(out.data, mgt_pod_mac, 6);
	one(vx6_big6, &in, &out, MG_ICMP6_TOO_BIG, XDP_REDIRECT);
	want_icmp(&c, &in, &want);
	mgt_expect_packet(&out, &want, &in);
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);

	one(vx4_over4, &in, &out, MG_DECAP, XDP_REDIRECT);
	one(vx4_over4, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_memory_equal(out.data, mgt_pod_mac, 6);
	one(vx4_big, &in, &out, MG_ICMP_FRAG_NEEDED, XDP_REDIRECT);
	want_icmp(&c, &in, &want);
	mgt_expect_packet(&out, &want, &in);
	assert_int_equal(fibc_entries(), 2);
}

#define MACF	"%02x:%02x:%02x:%02x:%02x:%02x"
#define MACA(m)	m[0], m[1], m[2], m[3], m[4], m[5]

/*
 * ... and a neighbour that changes or goes is seen once what was kept has
 * expired (MG_FIBC_TTL_NS, 50 ms): the new MAC, then the kernel's.
 */
static void test_decap_cache_expires(void **state)
{
	static const uint8_t moved[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x77 };
	struct pkt in, out;

	fibc_clear();
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_memory_equal(out.data, mgt_pod_mac, 6);
	assert_int_equal(fibc_entries(), 1);
	assert_int_equal(mgt_sh("ip -6 neigh replace fd00:1::5 lladdr " MACF
				" nud permanent dev mgc0", MACA(moved)), 0);
	usleep(150 * 1000);
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_memory_equal(out.data, moved, 6);
	assert_int_equal(mgt_sh("ip -6 neigh del fd00:1::5 dev mgc0"), 0);
	usleep(150 * 1000);
	one(vx6_over6, &in, &out, MG_DECAP_STACK, XDP_PASS);
	assert_int_equal(mgt_sh("ip -6 neigh replace fd00:1::5 lladdr " MACF
				" nud permanent dev mgc0",
				MACA(mgt_pod_mac)), 0);
	usleep(150 * 1000);
	one(vx6_over6, &in, &out, MG_DECAP, XDP_REDIRECT);
	assert_memory_equal(out.data, mgt_pod_mac, 6);
}

/* --- every checksum, every length ---------------------------------------- */

/*
 * Each row sweeps one kind of inner packet over every length, from its
 * bare headers to past the MTU, through one path, and checks every
 * checksum of what comes out with pkt_verify_csums() (a plain one's
 * complement sum written apart from the datapath's code): the outer UDP
 * checksum over IPv6 (derived from the inner one, or summed), the outer
 * and inner IPv4 headers, and the ICMP / ICMPv6 errors of the lengths
 * that do not fit, sent back to the pod or through the tunnel.
 */
enum sweep_dir { SW_ENCAP, SW_DECAP };

struct sweep_row {
	const char *name;
	enum sweep_dir dir;
	bool under6;		/* underlay family */
	bool v6;		/* inner family */
	uint8_t proto;
	bool csum;		/* UDP: with a checksum */
	bool ext;		/* IPv6: destination options first */
};

/*
 * The verdict of an ICMP error sent back out of where it came in: a
 * redirect, which wakes a veth peer without XDP (XDP_TX would not).
 */
#define ICMP_VERDICT	XDP_REDIRECT
/* Decap: inner L3 lengths swept past the cluster side's MTU. */
#define SW_PAST_MTU	260

static size_t sw_hdrs(const struct sweep_row *r)
{
	size_t l4 = r->proto == IPPROTO_TCP ? 20 : 8;

	return (r->v6 ? 40 + (r->ext ? 8 : 0) : 20) + l4;
}

static void sw_ip(struct pkt *p, const struct sweep_row *r,
		  const uint8_t *src6, const uint8_t *dst6, uint32_t src4,
		  uint32_t dst4, uint8_t ttl, size_t n)
{
	if (r->v6) {
		pkt_ip6x(p, src6, dst6, r->ext ? IPPROTO_DSTOPTS : r->proto,
			 ttl, 0, 0x2468a);
		if (r->ext)
			pkt_ip6_ext(p, r->proto, 8);
	} else {
		pkt_ip4(p, &(struct pkt_ip4){ .saddr = src4, .daddr = dst4,
					      .proto = r->proto, .ttl = ttl,
					      .id = 0x1234,
					      .frag_off = 0x4000 });
	}
	if (r->proto == IPPROTO_TCP)
		pkt_tcp(p, 40000, 80, 0x18);
	else if (r->proto == IPPROTO_UDP)
		pkt_udp(p, 5353, 53, r->csum);
	else if (r->proto == IPPROTO_ICMP)
		pkt_icmp_echo(p, 0x77, 1);
	else
		pkt_icmp6(p, 128, 0, 0x12340001);
	pkt_data(p, n, (uint8_t)n);
	pkt_finish(p);
}

/* A pod's packet of n data bytes to a remote pod. */
static void sw_encap_in(struct pkt *p, const struct sweep_row *r, size_t n)
{
	pkt_init(p);
	pkt_eth(p, gw_mac, pod_mac, r->v6 ? ETH_P_IPV6 : ETH_P_IP);
	sw_ip(p, r, POD6, r->under6 ? REMOTE6_3 : REMOTE6_2, POD4,
	      r->under6 ? REMOTE4_3 : REMOTE4_2, 64, n);
}

/*
 * The same from a pod of cluster 3 to ours, in VXLAN over IPv6 (or of
 * cluster 2, over IPv4).
 */
static void sw_decap_in(struct pkt *p, const struct sweep_row *r, size_t n)
{
	const uint8_t mesh[6] = MG_MESH_MAC_INIT(r->under6 ? 3 : 2);
	const uint8_t own[6] = MG_MESH_MAC_INIT(OWN_CID);

	pkt_init(p);
	if (r->under6)
		outer6(p, IPPROTO_UDP);
	else
		outer4(p);
	pkt_eth(p, own, mesh, r->v6 ? ETH_P_IPV6 : ETH_P_IP);
	if (r->under6)
		sw_ip(p, r, REMOTE6_3, POD6, REMOTE4_3, POD4, 63, n);
	else
		sw_ip(p, r, REMOTE6_2, POD6, REMOTE4_2, POD4, 63, n);
}

static void sw_expect(const struct pkt *in, const struct pkt *out,
		      const char *what, size_t l3)
{
	char why[160];

	if (!pkt_verify_csums(out, MG_VXLAN_PORT_DEFAULT, false, why,
			      sizeof(why)))
		return;
	fprintf(stderr, " in:\n");
	pkt_dump(in, stderr);
	fprintf(stderr, " out:\n");
	pkt_dump(out, stderr);
	fail_msg("%s, inner l3 length %zu: %s", what, l3, why);
}

static void run_sweep(void **state)
{
	const struct sweep_row *r = *state;
	size_t hdrs = sw_hdrs(r), olen = r->under6 ? 70 : 50, runs = 0;
	size_t last = MTU + (r->dir == SW_DECAP ? SW_PAST_MTU : 0);
	struct pkt in, out;

	for (size_t l3 = hdrs; l3 <= last; l3++, runs++) {
		bool fits;

		if (r->dir == SW_ENCAP) {
			fits = l3 + olen <= MTU;
			sw_encap_in(&in, r, l3 - hdrs);
			mgt_dp_check(&env.dp, &in, &out, 0,
				     fits ? MG_ENCAP : r->v6 ? MG_ICMP6_TOO_BIG :
				     MG_ICMP_FRAG_NEEDED,
				     fits ? XDP_TX : ICMP_VERDICT);
			sw_expect(&in, &out, fits ? "encap" : "icmp error", l3);
			continue;
		}
		fits = l3 <= MTU;
		sw_decap_in(&in, r, l3 - hdrs);
		mgt_dp_check(&env.dp, &in, &out, 0,
			     fits ? MG_DECAP : r->v6 ? MG_ICMP6_TOO_BIG :
			     MG_ICMP_FRAG_NEEDED,
			     fits ? XDP_REDIRECT : ICMP_VERDICT);
		sw_expect(&in, &out, fits ? "decap" : "icmp error back", l3);
		if (!fits || !r->under6)
			continue;
		/* One bit off in the outer UDP checksum: dropped, counted. */
		in.data[60] ^= in.data[60] == 0x80 ? 0x40 : 0x80;
		mgt_dp_check(&env.dp, &in, &out, 0, MG_DROP_OUTER_CSUM,
			     XDP_DROP);
	}
	print_message("  %zu lengths, %zu..%zu\n", runs, hdrs, last);
}

#define SWEEP_ENCAP6(n, v6, proto, csum, ...) \
	{ n, SW_ENCAP, true, v6, proto, csum, __VA_ARGS__ + 0 }
#define SWEEP_ENCAP4(n, v6, proto, csum, ...) \
	{ n, SW_ENCAP, false, v6, proto, csum, __VA_ARGS__ + 0 }
#define SWEEP_DECAP6(n, v6, proto, csum, ...) \
	{ n, SW_DECAP, true, v6, proto, csum, __VA_ARGS__ + 0 }
#define SWEEP_DECAP4(n, v6, proto, csum, ...) \
	{ n, SW_DECAP, false, v6, proto, csum, __VA_ARGS__ + 0 }

static const struct sweep_row sweep_rows[] = {
	SWEEP_ENCAP6("encap over ipv6: ipv6 tcp", true, IPPROTO_TCP, true),
	SWEEP_ENCAP6("encap over ipv6: ipv6 udp", true, IPPROTO_UDP, true),
	SWEEP_ENCAP6("encap over ipv6: ipv6 icmpv6", true, IPPROTO_ICMPV6,
		     true),
	SWEEP_ENCAP6("encap over ipv6: ipv6 dstopts tcp (summed)", true,
		     IPPROTO_TCP, true, true),
	SWEEP_ENCAP6("encap over ipv6: ipv4 tcp", false, IPPROTO_TCP, true),
	SWEEP_ENCAP6("encap over ipv6: ipv4 udp", false, IPPROTO_UDP, true),
	SWEEP_ENCAP6("encap over ipv6: ipv4 udp without checksum (summed)",
		     false, IPPROTO_UDP, false),
	SWEEP_ENCAP6("encap over ipv6: ipv4 icmp", false, IPPROTO_ICMP, true),
	SWEEP_ENCAP4("encap over ipv4: ipv4 tcp", false, IPPROTO_TCP, true),
	SWEEP_ENCAP4("encap over ipv4: ipv4 icmp", false, IPPROTO_ICMP, true),
	SWEEP_ENCAP4("encap over ipv4: ipv6 udp", true, IPPROTO_UDP, true),
	SWEEP_DECAP6("decap over ipv6: ipv6 tcp", true, IPPROTO_TCP, true),
	SWEEP_DECAP6("decap over ipv6: ipv6 icmpv6", true, IPPROTO_ICMPV6,
		     true),
	SWEEP_DECAP6("decap over ipv6: ipv4 udp", false, IPPROTO_UDP, true),
	SWEEP_DECAP6("decap over ipv6: ipv4 icmp", false, IPPROTO_ICMP, true),
	SWEEP_DECAP4("decap over ipv4: ipv4 tcp", false, IPPROTO_TCP, true),
	SWEEP_DECAP4("decap over ipv4: ipv6 icmpv6", true, IPPROTO_ICMPV6,
		     true),
};

static const struct CMUnitTest base_extra[] = {
	cmocka_unit_test(test_fragments_one_flow),
	cmocka_unit_test(test_udp6_checksum_not_derived),
	cmocka_unit_test(test_decap_kept_from_second),
	cmocka_unit_test(test_decap_cached_mtu),
	cmocka_unit_test(test_decap_cache_expires),
};

static const struct fixture fixtures[] = {
	{ { "dual stack and path MTU", MGT_ROWS(base_cases),
	    MGT_TESTS(base_extra) }, 0, false },
	{ { "mss_clamp = auto", MGT_ROWS(mss_cases), NULL, 0 }, 0xffff,
	  false },
	{ { "fragment = stack", MGT_ROWS(stack_cases), NULL, 0 }, 0, true },
};

static void use(const void *fx) { env.fx = fx; }

int main(void)
{
	int failed;

	if (mgt_netns_topo(&env.topo))
		return 1;
	failed = mgt_run_fixtures(fixtures,
				  sizeof(fixtures) / sizeof(fixtures[0]),
				  sizeof(fixtures[0]), use, run_case,
				  fixture_setup, fixture_teardown);
	env.fx = &fixtures[0];
	failed += mgt_run_table("checksums over every length", sweep_rows,
				sizeof(sweep_rows) / sizeof(sweep_rows[0]),
				sizeof(sweep_rows[0]), run_sweep, NULL, 0,
				fixture_setup, fixture_teardown);
	return failed ? 1 : 0;
}
