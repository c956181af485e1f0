// SPDX-License-Identifier: GPL-2.0-only
/*
 * The XDP datapath (mg_xdp), run through BPF_PROG_TEST_RUN on packets built
 * here.  Each table row is one packet: how it is built (a builder, then a
 * cut and field edits), the ingress interface, the expected verdict, the one
 * reason counter that must go up by exactly one (all others unchanged), and
 * the expected output (unchanged, encapsulated, decapsulated), compared
 * field by field.  A table runs against one map setup (a fixture).
 *
 * The binary moves itself into a private network namespace (tests/lib/
 * netns.h) so bpf_fib_lookup() answers the same on every machine.
 *
 * test_run notes (kernel 6.x): without ctx_in the program sees the netns'
 * loopback as ingress (ingress_ifindex 1); ctx_in with struct xdp_md
 * { .data_end = size, .ingress_ifindex = N } selects any device of the
 * netns.  XDP_TX and XDP_REDIRECT come back as the return value only (with
 * repeat = 1 nothing is transmitted), data_out holds the rewritten packet.
 * Packets shorter than an Ethernet header are refused by the kernel
 * (EINVAL), so Ethernet truncation is tested at the IPv4 boundary.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lib/dptest.h"
#include "lib/netns.h"

/* --- the mesh under test -------------------------------------------------- */

#define OWN_CID		1
#define TUN		IP4(192, 0, 2, 1)	/* our tunnel address */
#define PEER2		IP4(192, 0, 2, 2)	/* cluster 2's gateway */
#define PEER3A		IP4(192, 0, 2, 3)	/* cluster 3's gateways */
#define PEER3B		IP4(192, 0, 2, 13)
#define GW6		IP4(198, 51, 100, 6)	/* cluster 6's, off-link */
#define STRANGER	IP4(192, 0, 2, 99)	/* not a peer */

/* Host-order twins for field edits. */
#define H4(a, b, c, d)	(((uint32_t)(a) << 24) | ((b) << 16) | ((c) << 8) | (d))

#define POD		IP4(10, 1, 0, 5)	/* local pod, neighbour known */
#define POD_NN		IP4(10, 1, 0, 6)	/* local pod, no neighbour */
#define REMOTE		IP4(10, 2, 0, 9)	/* pod of cluster 2 */

static const uint8_t nh_smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x01 };
static const uint8_t nh_dmac2[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x02 };
static const uint8_t nh_dmac3a[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x03 };
static const uint8_t nh_dmac3b[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x13 };
static const uint8_t nh_dmac6[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x06 };
/* What a local pod's frame to the gateway carries, and the underlay's. */
static const uint8_t pod_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x09 };
static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t wire_src[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static const struct {
	uint32_t addr;		/* network order */
	uint32_t plen;
	uint8_t cid, flags;
} endpoints[] = {
	{ IP4(10, 1, 0, 0), 16, 1, MG_EP_F_LOCAL },
	{ IP4(10, 9, 0, 0), 16, 1, MG_EP_F_LOCAL },	/* no route in FIB */
	{ IP4(10, 2, 0, 0), 16, 2, 0 },		/* one gateway */
	{ IP4(10, 3, 0, 0), 16, 3, 0 },		/* two gateways */
	{ IP4(10, 4, 0, 0), 16, 4, 0 },		/* no live gateway */
	{ IP4(10, 5, 0, 0), 16, 5, 0 },		/* not in mg_clus */
	{ IP4(10, 6, 0, 0), 16, 6, 0 },		/* gateway off-link */
	{ IP4(10, 7, 0, 0), 16, 7, 0 },		/* slot to an unset gateway */
};

/* --- fixtures ------------------------------------------------------------- */

struct dp_case;

struct fixture {
	struct mgt_group g;		/* rows: struct dp_case */
	uint16_t port;			/* VXLAN, host order */
	bool nh_table;
	bool one_arm;			/* mgc0 is the underlay too */
};

static struct {
	const struct fixture *fx;
	struct mgt_topo topo;
	struct mgt_dp dp;
} env;

static struct mg_cluster_val cluster(int n_gw, uint32_t a, uint32_t b)
{
	struct mg_cluster_val v = { .n_gw = n_gw };

	if (a) {
		v.gw[0].family = MG_AF_INET;
		v.gw[0].addr[0] = a;
	}
	if (b) {
		v.gw[1].family = MG_AF_INET;
		v.gw[1].addr[0] = b;
	}
	for (int i = 0; i < MG_GW_SLOTS; i++)
		v.slot[i] = b ? i % 2 : 0;
	return v;
}

static void set_cluster(uint32_t cid, struct mg_cluster_val v)
{
	mgt_dp_put(&env.dp, "mg_clus", &cid, &v);
}

static void maps_setup(void)
{
	struct mg_cluster_val unset = cluster(1, 0, 0);
	struct {
		uint32_t addr;
		uint32_t ifindex;
		const uint8_t *dmac;
	} nhs[] = {
		{ PEER2, 1, nh_dmac2 },
		{ PEER3A, 1, nh_dmac3a },
		{ PEER3B, env.topo.underlay_if, nh_dmac3b },
		{ GW6, env.topo.underlay_if, nh_dmac6 },
	};

	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		struct mg_ep4_key k = { endpoints[i].plen, endpoints[i].addr };
		struct mg_ep_val v = { .cluster_id = endpoints[i].cid,
				       .flags = endpoints[i].flags,
				       .version = 1 };

		mgt_dp_put(&env.dp, "mg_ep4", &k, &v);
		/*
		 * Our own prefixes in mg_local4 too, as the agent writes
		 * them (test_xdp6 and test_lb leave it empty: the checks
		 * then fall back to mg_ep4 alone).
		 */
		if (endpoints[i].flags & MG_EP_F_LOCAL)
			mgt_dp_put(&env.dp, "mg_local4", &k, &v);
	}
	set_cluster(2, cluster(1, PEER2, 0));
	set_cluster(3, cluster(2, PEER3A, PEER3B));
	set_cluster(4, cluster(0, 0, 0));
	set_cluster(6, cluster(1, GW6, 0));
	for (int i = 0; i < MG_GW_SLOTS; i++)
		unset.slot[i] = 1;
	set_cluster(7, unset);

	mgt_dp_put(&env.dp, "mg_peer4", &(uint32_t){ PEER2 },
		   &(struct mg_peer_val){ 2, { 0 } });
	mgt_dp_put(&env.dp, "mg_peer4", &(uint32_t){ PEER3A },
		   &(struct mg_peer_val){ 3, { 0 } });
	mgt_dp_put(&env.dp, "mg_peer4", &(uint32_t){ PEER3B },
		   &(struct mg_peer_val){ 3, { 0 } });

	for (size_t i = 0; i < sizeof(nhs) / sizeof(nhs[0]); i++) {
		struct mg_nh_val v = { .ifindex = nhs[i].ifindex };

		memcpy(v.smac, nh_smac, 6);
		memcpy(v.dmac, nhs[i].dmac, 6);
		mgt_dp_put(&env.dp, "mg_nh4_v2", &nhs[i].addr, &v);
	}
}

static int fixture_setup(void **state)
{
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.vxlan_port = env.fx->port,
		.cluster_id = OWN_CID,
		.nh_table = env.fx->nh_table,
	};

	if (mgt_dp_load(&env.dp, &s))
		return -1;
	maps_setup();
	if (env.fx->one_arm) {
		struct mg_if_val v = { .roles = MG_IF_CLUSTER | MG_IF_UNDERLAY };
		uint32_t idx = env.topo.cluster_if;

		memcpy(v.mac, mgt_cluster_mac, 6);
		mgt_dp_put(&env.dp, "mg_ifs", &idx, &v);
	}
	return 0;
}

static int fixture_teardown(void **state)
{
	mgt_dp_destroy(&env.dp);
	return 0;
}

/* --- packets in ----------------------------------------------------------- */

static void pod_frame(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
		      const uint8_t *opts, size_t opt_len)
{
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = src, .daddr = dst,
				      .proto = proto, .ttl = 64, .tos = 0x10,
				      .id = 0x1234, .opts = opts,
				      .opt_len = opt_len });
	switch (proto) {
	case IPPROTO_TCP:
		pkt_tcp(p, 40000, 80, 0x18);
		break;
	case IPPROTO_UDP:
		pkt_udp(p, 40000, 53, true);
		break;
	case IPPROTO_ICMP:
		pkt_icmp_echo(p, 7, 1);
		break;
	}
	pkt_data(p, 32, proto);
}

/* Egress: a local pod to a pod of cluster 2. */
static void eg_tcp(struct pkt *p)
{
	pod_frame(p, POD, REMOTE, IPPROTO_TCP, NULL, 0);
}

static void eg_udp(struct pkt *p)
{
	pod_frame(p, POD, REMOTE, IPPROTO_UDP, NULL, 0);
}

static void eg_icmp(struct pkt *p)
{
	pod_frame(p, POD, REMOTE, IPPROTO_ICMP, NULL, 0);
}

/* Router alert, then NOP NOP NOP EOL. */
static const uint8_t ip_opts[8] = { 0x94, 0x04, 0x00, 0x00,
				    0x01, 0x01, 0x01, 0x00 };

static void eg_tcp_opts(struct pkt *p)
{
	pod_frame(p, POD, REMOTE, IPPROTO_TCP, ip_opts, sizeof(ip_opts));
}

/* Outer headers from peer 2 to us, then frame(). */
static void tunnel(struct pkt *p, const uint8_t *opts, size_t opt_len)
{
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = PEER2, .daddr = TUN,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x4000, .opts = opts,
				      .opt_len = opt_len });
	pkt_udp(p, 51234, env.fx->port, false);
	pkt_vxlan(p, 0x08000000, 2);
}

static void remote_frame(struct pkt *p)
{
	const uint8_t mesh2[6] = MG_MESH_MAC_INIT(2);
	const uint8_t mesh1[6] = MG_MESH_MAC_INIT(OWN_CID);

	pkt_eth(p, mesh1, mesh2, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = REMOTE, .daddr = POD,
				      .proto = IPPROTO_TCP, .ttl = 63,
				      .tos = 0x10, .id = 0x4321 });
	pkt_tcp(p, 80, 40000, 0x12);
	pkt_data(p, 40, 9);
}

/* Ingress: VXLAN from peer 2 carrying a pod of cluster 2 to a local pod. */
static void vx_tcp(struct pkt *p)
{
	tunnel(p, NULL, 0);
	remote_frame(p);
}

static void vx_opts(struct pkt *p)
{
	tunnel(p, ip_opts, sizeof(ip_opts));
	remote_frame(p);
}

static void vx_arp(struct pkt *p)
{
	const uint8_t mesh2[6] = MG_MESH_MAC_INIT(2);
	const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	tunnel(p, NULL, 0);
	pkt_eth(p, bcast, mesh2, ETH_P_ARP);
	pkt_arp(p, 1, mesh2, REMOTE, (uint8_t[6]){ 0 }, POD);
}

static const uint8_t ip6_a[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t ip6_b[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };

static void vx_ip6(struct pkt *p)
{
	const uint8_t mesh1[6] = MG_MESH_MAC_INIT(OWN_CID);
	const uint8_t mesh2[6] = MG_MESH_MAC_INIT(2);

	tunnel(p, NULL, 0);
	pkt_eth(p, mesh1, mesh2, ETH_P_IPV6);
	pkt_ip6(p, ip6_a, ip6_b, IPPROTO_UDP, 64);
	pkt_udp(p, 1000, 2000, true);
	pkt_data(p, 16, 6);
}

/* Pass-through traffic. */
static void arp_req(struct pkt *p)
{
	const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	pkt_eth(p, bcast, wire_src, ETH_P_ARP);
	pkt_arp(p, 1, wire_src, PEER2, (uint8_t[6]){ 0 }, TUN);
}

static void ip6_udp(struct pkt *p)
{
	pkt_eth(p, gw_mac, wire_src, ETH_P_IPV6);
	pkt_ip6(p, ip6_a, ip6_b, IPPROTO_UDP, 64);
	pkt_udp(p, 1000, 2000, true);
	pkt_data(p, 16, 6);
}

/* Management: SSH to the gateway's tunnel address. */
static void tun_ssh(struct pkt *p)
{
	pkt_eth(p, mgt_underlay_mac, wire_src, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = IP4(203, 0, 113, 7),
				      .daddr = TUN, .proto = IPPROTO_TCP,
				      .ttl = 64, .frag_off = 0x4000 });
	pkt_tcp(p, 50000, 22, 0x02);
}

static void tun_ping(struct pkt *p)
{
	pkt_eth(p, mgt_underlay_mac, wire_src, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = PEER2, .daddr = TUN,
				      .proto = IPPROTO_ICMP, .ttl = 64 });
	pkt_icmp_echo(p, 1, 1);
	pkt_data(p, 56, 1);
}

static void vlan_frame(struct pkt *p)
{
	pkt_eth(p, gw_mac, pod_mac, 0x8100);
	pkt_data(p, 64, 3);
}

/* --- the tables ----------------------------------------------------------- */

enum want { SAME, ENCAP, DECAP, DECAP_STACK };
/* mgc1: the cluster veth's other end, an interface mg_ifs does not know. */
enum in_if { IF_LO, IF_CLUSTER, IF_UNDERLAY, IF_UNKNOWN };

struct pkt_at {
	bool on;
	enum pkt_layer_type type;
	int8_t nth;
	int16_t delta;
};

struct dp_case {
	const char *name;
	void (*in)(struct pkt *p);
	struct pkt_at cut;	/* truncate here, then fit lengths to it */
	struct pkt_edit edit[3];	/* then set these fields ... */
	bool raw;		/* ... and leave checksums as they are */
	struct pkt_at chop;	/* truncate last: lengths keep their values */
	uint8_t pad;		/* then bytes past every length (a trailer) */
	enum in_if ingress;
	int verdict;
	enum mg_reason reason;
	enum want want;
	uint32_t gw;		/* ENCAP: outer destination */
	uint8_t to;		/* ENCAP: destination cluster */
	const uint8_t *smac, *dmac;	/* ENCAP: outer MACs */
};

#define AT(t, n, d)	{ true, PKT_##t, n, d }
#define IPF(n, f, v) \
	{ PKT_IP4, n, offsetof(struct iphdr, f), \
	  sizeof(((struct iphdr *)0)->f), v }
#define IHL(n, v)	{ PKT_IP4, n, 0, 1, 0x40 | (v) }
#define UDPF(n, f, v) \
	{ PKT_UDP, n, offsetof(struct udphdr, f), \
	  sizeof(((struct udphdr *)0)->f), v }
#define TCPF(f, v) \
	{ PKT_TCP, 0, offsetof(struct tcphdr, f), \
	  sizeof(((struct tcphdr *)0)->f), v }
#define VXF_FLAGS(v)	{ PKT_VXLAN, 0, 0, 4, v }
/* The destination MAC a:b (4 and 2 bytes, host order). */
#define ETH_DST(a, b)	{ PKT_ETH, 0, 0, 4, a }, { PKT_ETH, 0, 4, 2, b }
#define VXF_VNI(v)	{ PKT_VXLAN, 0, 4, 4, v }

/* Egress to cluster 2 through mg_nh4 (ifindex 1 = where it came in: TX). */
#define TO_PEER2	.want = ENCAP, .gw = PEER2, .to = 2, \
			.smac = nh_smac, .dmac = nh_dmac2

static const struct dp_case base_cases[] = {
	/* Path 1: encapsulation. */
	{ "encap tcp", eg_tcp,
	  .verdict = XDP_TX, .reason = MG_ENCAP, TO_PEER2 },
	{ "encap udp", eg_udp,
	  .verdict = XDP_TX, .reason = MG_ENCAP, TO_PEER2 },
	{ "encap icmp", eg_icmp,
	  .verdict = XDP_TX, .reason = MG_ENCAP, TO_PEER2 },
	{ "encap inner ip options", eg_tcp_opts, .verdict = XDP_TX,
	  .reason = MG_ENCAP, TO_PEER2 },
	{ "encap inner fragment", eg_udp, .edit = { IPF(0, frag_off, 0x2000) },
	  .verdict = XDP_TX, .reason = MG_ENCAP, TO_PEER2 },
	{ "encap inner later fragment", eg_udp,
	  .edit = { IPF(0, frag_off, 0x0010) },
	  .verdict = XDP_TX, .reason = MG_ENCAP, TO_PEER2 },
	{ "encap inner without l4 header", eg_tcp, .cut = AT(TCP, 0, 0),
	  .verdict = XDP_TX, .reason = MG_ENCAP, TO_PEER2 },
	{ "encap ttl 2", eg_tcp, .edit = { IPF(0, ttl, 2) },
	  .verdict = XDP_TX, .reason = MG_ENCAP, TO_PEER2 },
	{ "encap from the underlay side: redirect", eg_tcp,
	  .ingress = IF_UNDERLAY,
	  .verdict = XDP_REDIRECT, .reason = MG_ENCAP, TO_PEER2 },
	{ "encap next hop on another interface: redirect", eg_tcp,
	  .edit = { IPF(0, daddr, H4(10, 6, 1, 1)) },
	  .verdict = XDP_REDIRECT, .reason = MG_ENCAP, .want = ENCAP,
	  .gw = GW6, .to = 6, .smac = nh_smac, .dmac = nh_dmac6 },
	{ "encap no gateway: n_gw 0", eg_tcp,
	  .edit = { IPF(0, daddr, H4(10, 4, 0, 1)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_NO_GATEWAY },
	{ "encap no gateway: cluster unknown", eg_tcp,
	  .edit = { IPF(0, daddr, H4(10, 5, 0, 1)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_NO_GATEWAY },
	{ "encap no gateway: slot to an unset gateway", eg_tcp,
	  .edit = { IPF(0, daddr, H4(10, 7, 0, 1)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_NO_GATEWAY },

	/* Path 1: hostile and malformed. */
	{ "egress source of another cluster", eg_tcp,
	  .edit = { IPF(0, saddr, H4(10, 3, 0, 5)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_SRC_FOREIGN },
	{ "egress source of the destination cluster", eg_tcp,
	  .edit = { IPF(0, saddr, H4(10, 2, 0, 5)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_SRC_FOREIGN },
	{ "egress source in no endpoint", eg_tcp,
	  .edit = { IPF(0, saddr, H4(203, 0, 113, 5)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_SRC_FOREIGN },
	{ "egress ttl 1", eg_tcp, .edit = { IPF(0, ttl, 1) },
	  .verdict = XDP_PASS, .reason = MG_TTL_EXCEEDED },
	{ "egress ttl 0", eg_tcp, .edit = { IPF(0, ttl, 0) },
	  .verdict = XDP_PASS, .reason = MG_TTL_EXCEEDED },
	{ "egress truncated at the ipv4 header", eg_tcp, .cut = AT(IP4, 0, 0),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "egress truncated in the ipv4 header", eg_tcp, .cut = AT(IP4, 0, 19),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "egress ihl 4", eg_tcp, .edit = { IHL(0, 4) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "egress ihl past the packet", eg_tcp, .cut = AT(TCP, 0, 20),
	  .edit = { IHL(0, 15) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "egress tot_len past the packet", eg_tcp,
	  .edit = { IPF(0, tot_len, 20 + 20 + 32 + 1) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "egress tot_len below ihl", eg_tcp, .edit = { IPF(0, tot_len, 19) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "egress ip version 6 in an ipv4 frame", eg_tcp,
	  .edit = { { PKT_IP4, 0, 0, 1, 0x65 } },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },

	/* Path 2: decapsulation. */
	{ "decap tcp", vx_tcp, .verdict = XDP_REDIRECT, .reason = MG_DECAP,
	  .want = DECAP },
	/* Tunnel ingress belongs to the underlay (a one-arm one: below). */
	{ "vxlan on the cluster side dropped", vx_tcp, .ingress = IF_CLUSTER,
	  .verdict = XDP_DROP, .reason = MG_DROP_TUNNEL_IF },
	{ "vxlan on the underlay side taken", vx_tcp, .ingress = IF_UNDERLAY,
	  .verdict = XDP_REDIRECT, .reason = MG_DECAP, .want = DECAP },
	{ "decap vxlan reserved flag bits ignored", vx_tcp,
	  .edit = { VXF_FLAGS(0x08000000 | 0x00ff00ff) },
	  .verdict = XDP_REDIRECT, .reason = MG_DECAP, .want = DECAP },
	{ "decap from the second gateway of cluster 3", vx_tcp,
	  .edit = { IPF(0, saddr, H4(192, 0, 2, 13)), VXF_VNI(3 << 8),
		    IPF(1, saddr, H4(10, 3, 0, 7)) },
	  .verdict = XDP_REDIRECT, .reason = MG_DECAP, .want = DECAP },
	{ "decap pod neighbour unresolved: to the stack", vx_tcp,
	  .edit = { IPF(1, daddr, H4(10, 1, 0, 6)) },
	  .verdict = XDP_PASS, .reason = MG_DECAP_STACK, .want = DECAP_STACK },
	{ "decap inner ttl 1: to the stack", vx_tcp, .edit = { IPF(1, ttl, 1) },
	  .verdict = XDP_PASS, .reason = MG_TTL_EXCEEDED, .want = DECAP_STACK },
	{ "decap inner ttl 0: to the stack", vx_tcp, .edit = { IPF(1, ttl, 0) },
	  .verdict = XDP_PASS, .reason = MG_TTL_EXCEEDED, .want = DECAP_STACK },
	{ "decap local prefix without a route", vx_tcp,
	  .edit = { IPF(1, daddr, H4(10, 9, 0, 5)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_NO_ROUTE },

	/* Path 2: hostile and malformed. */
	{ "vxlan truncated at the outer ipv4 header", vx_tcp,
	  .cut = AT(IP4, 0, 0),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan truncated in the outer ipv4 header", vx_tcp,
	  .cut = AT(IP4, 0, 12),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan truncated at the udp header", vx_tcp, .cut = AT(UDP, 0, 0),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan truncated in the udp header", vx_tcp, .cut = AT(UDP, 0, 4),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan truncated at the vxlan header", vx_tcp,
	  .cut = AT(VXLAN, 0, 0),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan truncated in the vxlan header", vx_tcp,
	  .cut = AT(VXLAN, 0, 4),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan truncated at the inner ethernet header", vx_tcp,
	  .cut = AT(ETH, 1, 0),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan truncated in the inner ethernet header", vx_tcp,
	  .cut = AT(ETH, 1, 13),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan truncated at the inner ipv4 header", vx_tcp,
	  .cut = AT(IP4, 1, 0),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan truncated in the inner ipv4 header", vx_tcp,
	  .cut = AT(IP4, 1, 10),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan cut short, lengths unchanged", vx_tcp,
	  .chop = AT(IP4, 1, 0),
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan outer ihl 4", vx_tcp, .edit = { IHL(0, 4) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan outer ihl past the packet", vx_tcp, .cut = AT(VXLAN, 0, 8),
	  .edit = { IHL(0, 15) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan outer ip options", vx_opts,
	  .verdict = XDP_DROP, .reason = MG_DROP_IP_OPTS },
	{ "vxlan outer tot_len past the packet", vx_tcp,
	  .edit = { IPF(0, tot_len, 20 + 16 + 14 + 20 + 20 + 40 + 1) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan outer tot_len below ihl", vx_tcp,
	  .edit = { IPF(0, tot_len, 16) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan outer tot_len ends in the udp header", vx_tcp,
	  .edit = { IPF(0, tot_len, 24) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan outer more fragments", vx_tcp,
	  .edit = { IPF(0, frag_off, 0x2000) },
	  .verdict = XDP_DROP, .reason = MG_DROP_FRAG },
	/*
	 * A later fragment has no UDP header to tell VXLAN from the agent's
	 * own UDP (gossip), so it goes to the kernel, like any fragment
	 * that is not to a remote endpoint.
	 */
	{ "vxlan outer later fragment: to the kernel", vx_tcp,
	  .edit = { IPF(0, frag_off, 0x00b9) },
	  .verdict = XDP_PASS, .reason = MG_PASS },
	/* Bytes past the outer datagram are not the inner packet's. */
	{ "decap bytes past the outer datagram cut off", vx_tcp, .pad = 8,
	  .verdict = XDP_REDIRECT, .reason = MG_DECAP, .want = DECAP },
	{ "vxlan inner packet runs past the outer datagram", vx_tcp,
	  .edit = { IPF(1, tot_len, 20 + 20 + 40 + 8) }, .pad = 8,
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan outer bad checksum", vx_tcp,
	  .edit = { IPF(0, check, 0xbad0) }, .raw = true,
	  .verdict = XDP_DROP, .reason = MG_DROP_CSUM },
	{ "vxlan udp len below 8", vx_tcp, .edit = { UDPF(0, len, 7) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan udp len past the ip payload", vx_tcp,
	  .edit = { UDPF(0, len, 8 + 8 + 14 + 20 + 20 + 40 + 1) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan udp len short of the inner frame", vx_tcp,
	  .edit = { UDPF(0, len, 16) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan without the I flag", vx_tcp, .edit = { VXF_FLAGS(0) },
	  .verdict = XDP_DROP, .reason = MG_DROP_VXLAN_FLAGS },
	{ "vxlan unknown vni", vx_tcp, .edit = { VXF_VNI(99 << 8) },
	  .verdict = XDP_DROP, .reason = MG_DROP_VNI },
	{ "vxlan another cluster's vni", vx_tcp, .edit = { VXF_VNI(3 << 8) },
	  .verdict = XDP_DROP, .reason = MG_DROP_VNI },
	{ "vxlan our own vni", vx_tcp, .edit = { VXF_VNI(OWN_CID << 8) },
	  .verdict = XDP_DROP, .reason = MG_DROP_VNI },
	{ "vxlan vni reserved byte set", vx_tcp,
	  .edit = { VXF_VNI(2 << 8 | 1) },
	  .verdict = XDP_DROP, .reason = MG_DROP_VNI },
	{ "vxlan outer source not a peer", vx_tcp,
	  .edit = { IPF(0, saddr, H4(192, 0, 2, 99)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_PEER_UNKNOWN },
	{ "vxlan inner source of another cluster", vx_tcp,
	  .edit = { IPF(1, saddr, H4(10, 3, 0, 7)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_SRC },
	{ "vxlan inner source of our cluster", vx_tcp,
	  .edit = { IPF(1, saddr, H4(10, 1, 0, 7)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_SRC },
	{ "vxlan inner source in no endpoint", vx_tcp,
	  .edit = { IPF(1, saddr, H4(203, 0, 113, 7)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_SRC },
	{ "vxlan inner destination in another remote cluster", vx_tcp,
	  .edit = { IPF(1, daddr, H4(10, 3, 0, 5)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_DST },
	{ "vxlan inner destination back in the sender's cluster", vx_tcp,
	  .edit = { IPF(1, daddr, H4(10, 2, 0, 5)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_DST },
	{ "vxlan inner destination in no endpoint", vx_tcp,
	  .edit = { IPF(1, daddr, H4(203, 0, 113, 5)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_DST },
	{ "vxlan inner arp", vx_arp,
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_PROTO },
	{ "vxlan inner ipv6 from no endpoint", vx_ip6,
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_SRC },
	{ "vxlan inner lldp", vx_arp, .edit = { { PKT_ETH, 1, 12, 2, 0x88cc } },
	  .verdict = XDP_DROP, .reason = MG_DROP_INNER_PROTO },
	{ "vxlan inner ihl 4", vx_tcp, .edit = { IHL(1, 4) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan inner tot_len past the packet", vx_tcp,
	  .edit = { IPF(1, tot_len, 20 + 20 + 40 + 1) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "vxlan inner tot_len below ihl", vx_tcp,
	  .edit = { IPF(1, tot_len, 12) },
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },

	/*
	 * Only unicast frames to the interface's own MAC are routed, as the
	 * kernel routes only those (rows on lo, which has no MAC, take any).
	 */
	{ "encap to the cluster side's MAC", eg_tcp, .ingress = IF_CLUSTER,
	  .verdict = XDP_REDIRECT, .reason = MG_ENCAP, TO_PEER2 },
	{ "pass another host's MAC to a remote pod", eg_tcp,
	  .ingress = IF_CLUSTER, .edit = { ETH_DST(0x02000000, 0x0077) },
	  .verdict = XDP_PASS, .reason = MG_PASS_OTHER_HOST },
	{ "pass broadcast to a remote pod", eg_tcp, .ingress = IF_CLUSTER,
	  .edit = { ETH_DST(0xffffffff, 0xffff) },
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass multicast to a remote pod", eg_tcp, .ingress = IF_CLUSTER,
	  .edit = { ETH_DST(0x01005e00, 0x0001) },
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass vxlan to another host's MAC", vx_tcp, .ingress = IF_UNDERLAY,
	  .edit = { ETH_DST(0x02000000, 0x0077) },
	  .verdict = XDP_PASS, .reason = MG_PASS_OTHER_HOST },
	{ "pass a frame on an interface mg_ifs does not describe", eg_tcp,
	  .ingress = IF_UNKNOWN,
	  .verdict = XDP_PASS, .reason = MG_PASS_OTHER_HOST },

	/* Path 4: everything else passes untouched. */
	{ "pass arp", arp_req, .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass ipv6", ip6_udp, .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass vlan tagged", vlan_frame, .verdict = XDP_PASS,
	  .reason = MG_PASS },
	{ "pass ipv4 to no endpoint", eg_tcp,
	  .edit = { IPF(0, daddr, H4(203, 0, 113, 9)) },
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass local to local", eg_tcp,
	  .edit = { IPF(0, daddr, H4(10, 1, 0, 6)) },
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass remote pod to local pod, not in a tunnel", eg_tcp,
	  .edit = { IPF(0, saddr, H4(10, 2, 0, 9)),
		    IPF(0, daddr, H4(10, 1, 0, 5)) },
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass tcp to the tunnel address (ssh)", tun_ssh,
	  .ingress = IF_UNDERLAY, .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass icmp to the tunnel address", tun_ping,
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass udp to the tunnel address, another port", vx_tcp,
	  .edit = { UDPF(0, dest, 7946) },
	  .verdict = XDP_PASS, .reason = MG_PASS },
	{ "pass vxlan for another address", vx_tcp,
	  .edit = { IPF(0, daddr, H4(192, 0, 2, 50)) },
	  .verdict = XDP_PASS, .reason = MG_PASS },
};

/* A non-default VXLAN port: what is sent and what is taken both follow it. */
static const struct dp_case port_cases[] = {
	{ "encap to the configured port", eg_tcp, .verdict = XDP_TX,
	  .reason = MG_ENCAP, TO_PEER2 },
	{ "decap on the configured port", vx_tcp, .verdict = XDP_REDIRECT,
	  .reason = MG_DECAP, .want = DECAP },
	{ "pass vxlan on the default port", vx_tcp,
	  .edit = { UDPF(0, dest, MG_VXLAN_PORT_DEFAULT) },
	  .verdict = XDP_PASS, .reason = MG_PASS },
};

/* One arm: the cluster side is the underlay too. */
static const struct dp_case one_arm_cases[] = {
	{ "decap onto the interface it came in: tx", vx_tcp,
	  .ingress = IF_CLUSTER,
	  .verdict = XDP_TX, .reason = MG_DECAP, .want = DECAP },
	{ "encap on the one arm", eg_tcp, .ingress = IF_CLUSTER,
	  .verdict = XDP_REDIRECT, .reason = MG_ENCAP, TO_PEER2 },
};

/* nh_table off: every underlay next hop comes from bpf_fib_lookup(). */
static const struct dp_case fib_cases[] = {
	{ "encap next hop from the fib", eg_tcp,
	  .verdict = XDP_REDIRECT, .reason = MG_ENCAP, .want = ENCAP,
	  .gw = PEER2, .to = 2, .smac = mgt_underlay_mac,
	  .dmac = mgt_peer_mac },
	{ "encap onto the interface it came in: tx", eg_tcp,
	  .ingress = IF_UNDERLAY,
	  .verdict = XDP_TX, .reason = MG_ENCAP, .want = ENCAP,
	  .gw = PEER2, .to = 2, .smac = mgt_underlay_mac,
	  .dmac = mgt_peer_mac },
	{ "encap gateway neighbour unresolved", eg_tcp,
	  .edit = { IPF(0, daddr, H4(10, 3, 0, 1)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_NO_NEIGH },
	{ "encap gateway without a route", eg_tcp,
	  .edit = { IPF(0, daddr, H4(10, 6, 0, 1)) },
	  .verdict = XDP_DROP, .reason = MG_DROP_NO_ROUTE },
};

/* --- expected packets ----------------------------------------------------- */

static int iface_index(enum in_if i)
{
	return i == IF_CLUSTER ? env.topo.cluster_if :
	       i == IF_UNDERLAY ? env.topo.underlay_if :
	       i == IF_UNKNOWN ? (int)if_nametoindex("mgc1") : 0;
}

/* The MAC of the interface a row's frame comes in on (lo: as built). */
static const uint8_t *iface_mac(enum in_if i)
{
	return i == IF_CLUSTER ? mgt_cluster_mac :
	       i == IF_UNDERLAY ? mgt_underlay_mac : NULL;
}

static void inner_ttl_dec(struct pkt *p, int nth)
{
	size_t ip = pkt_off(p, PKT_IP4, nth);

	pkt_put8(p, ip + 8, pkt_get8(p, ip + 8) - 1);
}

/* The input frame behind outer Ethernet/IPv4/UDP/VXLAN to gw. */
static void want_encap(const struct dp_case *c, const struct pkt *in,
		       const struct pkt *out, struct pkt *w)
{
	const uint8_t src[6] = MG_MESH_MAC_INIT(OWN_CID);
	uint8_t dst[6] = MG_MESH_MAC_INIT(0);
	struct pkt inner = *in;
	uint16_t sport = out->len >= 36 ? pkt_get16(out, 34) : 0;

	/* The source port is the flow hash: from the dynamic range. */
	if (sport < 49152)
		fail_msg("outer udp source port %u is not in 49152..65535",
			 sport);
	dst[5] = c->to;
	memcpy(inner.data, dst, 6);
	memcpy(inner.data + 6, src, 6);
	inner_ttl_dec(&inner, 0);

	pkt_init(w);
	pkt_eth(w, c->dmac, c->smac, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = TUN, .daddr = c->gw,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .tos = pkt_get8(in, 15),
				      .frag_off = 0x4000 });
	pkt_udp(w, sport, env.fx->port, false);
	pkt_vxlan(w, 0x08000000, OWN_CID);
	pkt_append(w, &inner, 0);
	pkt_fix_lengths(w);
	/* Outer header, inner header (TTL): full checksums, computed anew. */
	pkt_fix_csums(w);
}

/* The inner frame; MACs from the FIB, TTL one less (or as it came). */
static void want_decap(const struct dp_case *c, const struct pkt *in,
		       struct pkt *w)
{
	pkt_init(w);
	pkt_append(w, in, pkt_off(in, PKT_ETH, 1));
	if (c->want == DECAP) {
		memcpy(w->data, mgt_pod_mac, 6);
		memcpy(w->data + 6, mgt_cluster_mac, 6);
		inner_ttl_dec(w, 0);
	} else {
		/* To the stack: our own MAC, so the kernel takes it. */
		memcpy(w->data, in->data, 12);
	}
	pkt_fix_csums(w);
}

static void build(const struct dp_case *c, struct pkt *p)
{
	pkt_init(p);
	c->in(p);
	if (iface_mac(c->ingress))
		memcpy(p->data, iface_mac(c->ingress), 6);
	if (c->cut.on)
		pkt_truncate(p, pkt_off(p, c->cut.type, c->cut.nth) +
				c->cut.delta);
	pkt_finish(p);
	for (int i = 0; i < 3 && c->edit[i].width; i++)
		pkt_apply(p, &c->edit[i]);
	if (!c->raw)
		pkt_fix_csums(p);
	if (c->chop.on)
		pkt_truncate(p, pkt_off(p, c->chop.type, c->chop.nth) +
				c->chop.delta);
	for (int i = 0; i < c->pad; i++)
		p->data[p->len++] = 0xa0 + i;
}

static void run_case(void **state)
{
	const struct dp_case *c = *state;
	struct pkt in, out, want, cut;

	build(c, &in);
	mgt_dp_check(&env.dp, &in, &out, iface_index(c->ingress), c->reason,
		     c->verdict);
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
	}
	/* A dropped packet has no output to compare. */
	if (c->verdict == XDP_DROP)
		return;
	mgt_expect_packet(&out, &want, &in);
}

/* --- tests that are not one packet ---------------------------------------- */

#define N_FLOWS 64

/* Encap one TCP flow (by source port) to cluster 3; returns the gateway. */
static uint32_t encap_flow3(uint16_t sport, uint16_t *outer_sport)
{
	struct pkt in, out;
	int verdict;
	uint32_t gw;

	pkt_init(&in);
	pod_frame(&in, POD, IP4(10, 3, 0, 9), IPPROTO_TCP, NULL, 0);
	pkt_finish(&in);
	pkt_put16(&in, pkt_off(&in, PKT_TCP, 0), sport);
	pkt_fix_csums(&in);
	verdict = mgt_dp_run(&env.dp, &in, &out, 0, MG_ENCAP);
	assert_true(out.len == in.len + MG_ENCAP4_LEN);
	memcpy(&gw, out.data + 14 + 16, 4);
	*outer_sport = pkt_get16(&out, 34);
	/* PEER3A's next hop is where it came in, PEER3B's is not. */
	if (gw == PEER3A)
		assert_int_equal(verdict, XDP_TX);
	else if (gw == PEER3B)
		assert_int_equal(verdict, XDP_REDIRECT);
	else
		fail_msg("flow %u went to a gateway not of cluster 3", sport);
	return gw;
}

static void test_spread(void **state)
{
	uint32_t gw[N_FLOWS];
	uint16_t sp[N_FLOWS], again;
	int on_a = 0, on_b = 0, ports = 0;

	for (int i = 0; i < N_FLOWS; i++) {
		gw[i] = encap_flow3(30000 + i, &sp[i]);
		on_a += gw[i] == PEER3A;
		on_b += gw[i] == PEER3B;
		ports += i && sp[i] != sp[i - 1];
		/* The same flow, again and again: the same gateway and port. */
		for (int k = 0; k < 3; k++) {
			assert_true(encap_flow3(30000 + i, &again) == gw[i]);
			assert_int_equal(again, sp[i]);
		}
	}
	print_message("  %d flows: %d on %s, %d on the other gateway\n",
		      N_FLOWS, on_a, "192.0.2.3", on_b);
	assert_true(on_a > 0 && on_b > 0);
	assert_true(ports > N_FLOWS / 2);

	/* Gateway A dies: the agent rewrites the slots, B takes every flow. */
	set_cluster(3, cluster(1, PEER3B, 0));
	for (int i = 0; i < N_FLOWS; i++) {
		assert_true(encap_flow3(30000 + i, &again) == PEER3B);
		assert_int_equal(again, sp[i]);
	}
	set_cluster(3, cluster(2, PEER3A, PEER3B));
}

/* Fragments of one datagram must take one tunnel: no ports in the hash. */
static void test_fragments_one_flow(void **state)
{
	struct pkt first, later, out;
	uint16_t sp_first, sp_later;

	pkt_init(&first);
	pod_frame(&first, POD, REMOTE, IPPROTO_UDP, NULL, 0);
	pkt_finish(&first);
	pkt_put16(&first, pkt_off(&first, PKT_IP4, 0) + 6, 0x2000);
	pkt_fix_csums(&first);

	pkt_init(&later);
	pod_frame(&later, POD, REMOTE, IPPROTO_UDP, NULL, 0);
	pkt_finish(&later);
	pkt_put16(&later, pkt_off(&later, PKT_IP4, 0) + 6, 0x0005);
	pkt_fix_csums(&later);

	mgt_dp_run(&env.dp, &first, &out, 0, MG_ENCAP);
	sp_first = pkt_get16(&out, 34);
	mgt_dp_run(&env.dp, &later, &out, 0, MG_ENCAP);
	sp_later = pkt_get16(&out, 34);
	if (sp_first != sp_later)
		fail_msg("first fragment on outer port %u, later one on %u",
			 sp_first, sp_later);
}

/*
 * The TTL is decremented with an incremental checksum update (RFC 1624):
 * over every IP id (hence every starting checksum) the result must equal a
 * full recomputation, on both paths.
 */
#define SWEEP_STEP	1

static void expect_full_csum(const struct pkt *out, size_t ip,
			     const char *path, uint32_t id)
{
	struct pkt ref = *out;
	uint16_t got = pkt_get16(out, ip + 10), want;

	pkt_put16(&ref, ip + 10, 0);
	want = pkt_csum(ref.data + ip, 20, 0);
	if (got != want)
		fail_msg("%s, ip id 0x%04x: checksum 0x%04x, want 0x%04x",
			 path, id, got, want);
}

static void test_ttl_csum_sweep(void **state)
{
	struct pkt eg, vx, out;
	size_t eip, vip;

	pkt_init(&eg);
	eg_tcp(&eg);
	pkt_finish(&eg);
	eip = pkt_off(&eg, PKT_IP4, 0);
	pkt_init(&vx);
	vx_tcp(&vx);
	pkt_finish(&vx);
	vip = pkt_off(&vx, PKT_IP4, 1);

	for (uint32_t id = 0; id <= 0xffff; id += SWEEP_STEP) {
		pkt_put16(&eg, eip + 4, id);
		pkt_fix_csums(&eg);
		mgt_dp_check(&env.dp, &eg, &out, 0, MG_ENCAP, XDP_TX);
		expect_full_csum(&out, MG_ENCAP4_LEN + eip, "egress", id);

		pkt_put16(&vx, vip + 4, id);
		pkt_fix_csums(&vx);
		mgt_dp_check(&env.dp, &vx, &out, 0, MG_DECAP, XDP_REDIRECT);
		expect_full_csum(&out, 14, "decap", id);
	}
}

/* Packets shorter than Ethernet never reach XDP through test_run. */
static void test_runt_refused(void **state)
{
	uint8_t runt[13] = { 0 }, out[64];
	LIBBPF_OPTS(bpf_test_run_opts, o,
		.data_in = runt,
		.data_size_in = sizeof(runt),
		.data_out = out,
		.data_size_out = sizeof(out),
		.repeat = 1,
	);

	assert_int_not_equal(bpf_prog_test_run_opts(env.dp.prog, &o), 0);
	assert_int_equal(errno, EINVAL);
}

/*
 * The agent describes an interface as it attaches (loader.c): its MAC,
 * read from the kernel, and its roles; an interface that is gone is
 * forgotten the next time (a re-created one comes back with a new
 * ifindex, and the old number could go to another).
 */
static void test_describe_if(void **state)
{
	const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x33, 0x01 };
	int fd = mgt_dp_map(&env.dp, "mg_ifs");
	struct mg_if_val v;
	uint32_t idx, cl = env.topo.cluster_if;

	assert_int_equal(mgt_sh("ip link add mgx0 address 02:00:00:00:33:01 "
				"type veth peer name mgx1"), 0);
	idx = if_nametoindex("mgx0");
	assert_int_equal(mg_dp_describe_if(&env.dp.dp, "mgx0", idx), 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &idx, &v), 0);
	assert_memory_equal(v.mac, mac, 6);
	assert_int_equal(v.roles, MG_IF_CLUSTER | MG_IF_UNDERLAY);

	assert_int_equal(mgt_sh("ip link del mgx0"), 0);
	assert_int_equal(mg_dp_describe_if(&env.dp.dp, "mgc0", cl), 0);
	assert_int_not_equal(bpf_map_lookup_elem(fd, &idx, &v), 0);
	assert_int_equal(bpf_map_lookup_elem(fd, &cl, &v), 0);
	assert_memory_equal(v.mac, mgt_cluster_mac, 6);
	/* As the fixture had it: the cluster side only. */
	v.roles = MG_IF_CLUSTER;
	mgt_map_put(fd, &cl, &v);
}

static const struct CMUnitTest base_extra[] = {
	cmocka_unit_test(test_spread),
	cmocka_unit_test(test_fragments_one_flow),
	cmocka_unit_test(test_ttl_csum_sweep),
	cmocka_unit_test(test_runt_refused),
	cmocka_unit_test(test_describe_if),
};

static const struct fixture fixtures[] = {
	{ { "datapath: port 4789, mg_nh4_v2", MGT_ROWS(base_cases),
	    MGT_TESTS(base_extra) }, MG_VXLAN_PORT_DEFAULT, true, false },
	{ { "datapath: port 8472", MGT_ROWS(port_cases), NULL, 0 }, 8472,
	  true, false },
	{ { "datapath: one arm", MGT_ROWS(one_arm_cases), NULL, 0 },
	  MG_VXLAN_PORT_DEFAULT, true, true },
	{ { "datapath: next hops from the fib", MGT_ROWS(fib_cases), NULL, 0 },
	  MG_VXLAN_PORT_DEFAULT, false, false },
};

static void use(const void *fx) { env.fx = fx; }

int main(void)
{
	if (mgt_netns_topo(&env.topo))
		return 1;
	return mgt_run_fixtures(fixtures, sizeof(fixtures) / sizeof(fixtures[0]),
				sizeof(fixtures[0]), use, run_case,
				fixture_setup, fixture_teardown) ? 1 : 0;
}
