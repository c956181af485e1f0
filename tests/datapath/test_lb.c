// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv4 global services in the XDP datapath (datapath/lb.h, ct.h, nat.h),
 * run through BPF_PROG_TEST_RUN like test_xdp.c.  One table of rows that
 * run in order against one datapath, because connection tracking carries
 * from row to row: a row may change the maps first (a new Maglev table, a
 * backend gone), then sends one packet and checks the verdict, the one
 * reason counter that moved, and the output packet.  Every expected
 * packet is built from scratch with all checksums computed anew, so the
 * datapath's incremental checksum updates are checked by recomputation.
 * The fixture and the rows IPv6 shares are in tests/lib/lbtest.c; here
 * are the addresses and the rows of IPv4 alone.
 *
 * The mesh: we are cluster 1 (10.1/16, cluster-side address 10.1.0.1,
 * the SNAT source for local backends); cluster 2 (10.2/16) has one
 * gateway, PEER2.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/lbt_outlier.h"
#include "lib/lbtest.h"

#define OWN_CID		LBT_OWN_CID
#define TUN		LBT_TUN
#define PEER2		LBT_PEER2
#define VXLAN_PORT	LBT_VXLAN_PORT
static const struct lbt_net net4 = {
	.gw = MGT_A4(10, 1, 0, 1),
	.pod = MGT_A4(10, 1, 0, 5),
	.pod2 = MGT_A4(10, 1, 0, 6),
	.fake = MGT_A4(10, 1, 7, 7),
	.vip = MGT_A4(10, 96, 0, 10),
	.other_vip = MGT_A4(10, 96, 0, 99),
	.local_net = MGT_A4(10, 1, 0, 0),
	.remote_net = MGT_A4(10, 2, 0, 0),
	.plen = 16,
	.be = {
		[BE_R1] = MGT_A4(10, 2, 0, 20),
		[BE_L1] = MGT_A4(10, 1, 0, 20),
		[BE_R2] = MGT_A4(10, 2, 0, 21),
		[BE_R3] = MGT_A4(10, 2, 0, 30),
	},
	.l1_neigh = "ip neigh replace 10.1.0.20 lladdr 02:00:00:01:00:20"
		    " nud permanent dev mgc0",
};

#define GWADDR		(net4.gw.v4)	/* cluster side: SNAT source */
#define POD		(net4.pod.v4)	/* the client, neighbour known */
#define VIP		(net4.vip.v4)
#define R1		(net4.be[BE_R1].v4)	/* backends in cluster 2 */
#define R2		(net4.be[BE_R2].v4)
#define R3		(net4.be[BE_R3].v4)
#define L1		(net4.be[BE_L1].v4)	/* backend in our cluster */

#define l1_mac		lbt_l1_mac
#define nh_smac		lbt_nh_smac
#define nh_dmac2	lbt_nh_dmac2
#define gw_mac		lbt_gw_mac
#define A(x)		(&(struct mgt_addr){ .fam = 4, .v4 = (x) })

/* One IPv4 frame: TCP (ACK|PSH, or SYN when sport is odd) or UDP. */
static void frame(struct pkt *p, const uint8_t *dmac, const uint8_t *smac,
		  uint32_t src, uint32_t dst, uint8_t proto, uint16_t sport,
		  uint16_t dport, uint8_t ttl)
{
	lbt_frame(p, dmac, smac, A(src), A(dst), proto, sport, dport, ttl);
}

/* --- the rows of IPv4 alone ----------------------------------------------- */
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
	lbt_from_peer2(p);
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

/* R1's slot re-used (new gen, live again): not the flow's backend. */
static void r1_reused(void)
{
	lbt_backend_set(BE_R1, MG_LB_BE_F_LIVE, 2);
	mgt_ring_set(&lbt.dp, SVC_TCP, BE_R1);
}

static void in_syn2(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40003, 80); }
static void want_syn2_r1(struct pkt *w, const struct pkt *o)
{
	lbt_to_peer2(w, o, 40003, IPPROTO_TCP, BE_R1);
}

/* L1's reply to us: back to the client, from the VIP. */
static void in_reply_local(struct pkt *p)
{
	pkt_eth(p, mgt_cluster_mac, l1_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = L1, .daddr = GWADDR,
				      .proto = IPPROTO_TCP, .ttl = 64,
				      .id = 9 });
	pkt_tcp(p, 8080, lbt.snat_port, 0x12);
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
	lbt_encap_to_peer2(w, o);
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
	lbt_from_peer2(p);
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
	const struct mgt_addr *vip = &net4.vip;

	lbt_backend_set(BE_R1, MG_LB_BE_F_LIVE, 5);
	lbt_lbrev(BE_R1, vip, 80, vip, 83);
	lbt_service(83, IPPROTO_TCP, SVC_TCP2);
	mgt_ring_set(&lbt.dp, SVC_TCP, BE_R1);
	mgt_ring_set(&lbt.dp, SVC_TCP2, BE_R1);
}

static void in_syn_80(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40033, 80); }
static void in_syn_83(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40033, 83); }
static void want_syn_r1_40033(struct pkt *w, const struct pkt *o)
{
	lbt_to_peer2(w, o, 40033, IPPROTO_TCP, BE_R1);
}

static void in_reply_r1_40033(struct pkt *p)
{
	lbt_from_peer2(p);
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

/* Flow lifetimes (lbtest.c's lt_ rows): the rows of IPv4 alone. */

static void in_lt_synack0(struct pkt *p) { lbt_pod_tcp(p, 40200, 0x12); }

static void in_lt_fin(struct pkt *p) { lbt_pod_tcp(p, LBT_LT_PORT, 0x11); }

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
	pkt_tcp(p, out ? 80 : 8080, out ? LBT_LT_PORT : lbt.snat_port, flags);
	pkt_data(p, 10, 5);
}

static void in_lt_synack(struct pkt *p) { lt_reply(p, 0, 0x12); }
static void want_lt_synack(struct pkt *w, const struct pkt *o)
{
	lt_reply(w, 1, 0x12);
}

static void in_lt_late_ack(struct pkt *p) { lt_reply(p, 0, 0x10); }

/* The flow lbtest.c's lt_picked_up finds is R1's. */
static void lt_ring_remote(void) { mgt_ring_set(&lbt.dp, SVC_TCP, BE_R1); }
static void want_lt_remote(struct pkt *w, const struct pkt *o)
{
	lbt_to_peer2(w, o, 40210, IPPROTO_TCP, BE_R1);
}

static const struct lbt_row rows[] = {
	LBT_ROWS_NEW_FLOW,
	{ "backend_gone_flow_moves", r1_gone, in_ack, want_ack_r2, 0, TX,
	  MG_ENCAP, NULL },
	{ "backend_slot_reused_new_flow", r1_reused, in_syn2, want_syn2_r1, 0,
	  TX, MG_ENCAP, NULL },
	{ "icmp_error_reverse_nat", NULL, in_icmp_r1, want_icmp_vip, 0, REDIR,
	  MG_DECAP, NULL },
	{ "too_big_icmp_quotes_the_vip", NULL, in_too_big, want_too_big, 0,
	  REDIR, MG_ICMP_FRAG_NEEDED, NULL },
	LBT_ROWS_LOCAL,
	LBT_ROWS_UDP,
	{ "udp_zero_checksum_kept", NULL, in_udp_nocsum, want_udp_nocsum, 0,
	  TX, MG_ENCAP, NULL },
	LBT_ROWS_NO_BACKEND,
	LBT_ROWS_FRAGMENTS,
	{ "vip_ttl_1_to_kernel", NULL, in_ttl1, NULL, 0, PASS,
	  MG_TTL_EXCEEDED, NULL },
	LBT_ROWS_NOT_SERVICE,
	{ "shared_backend_first_service", r1_two_services, in_syn_80,
	  want_syn_r1_40033, 0, TX, MG_ENCAP, NULL },
	{ "shared_backend_same_port_other_service", NULL, in_syn_83,
	  want_syn_r1_40033, 0, TX, MG_ENCAP, NULL },
	{ "shared_backend_reply_from_the_new_service", NULL,
	  in_reply_r1_40033, want_reply_83, 0, REDIR, MG_DECAP, NULL },
	LBT_ROWS_LT_NO_FLOW,
	{ "lt_synack_opens_no_flow", NULL, in_lt_synack0, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, lt_nothing },
	LBT_ROWS_LT_OPEN,
	{ "lt_fin_closes_10s", NULL, in_lt_fin, want_lt_local, 0, REDIR,
	  MG_LB_LOCAL, lt_closing },
	{ "lt_expired_flow_is_gone", lt_old, in_lt_ack, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, NULL },
	{ "lt_expired_flow_reply_not_natted", NULL, in_lt_late_ack, NULL, 1,
	  PASS, MG_PASS, NULL },
	LBT_ROWS_LT_AGAIN,
};

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
	mgt_dp_put(&lbt.dp, "mg_clus", &cid, &cv);
}

/* L1's reply to CLIENT2: the outer destination it is sent to. */
static uint32_t reply_goes_to(void)
{
	struct pkt in, out;
	int v;

	pkt_init(&in);
	frame(&in, mgt_cluster_mac, l1_mac, L1, CLIENT2, IPPROTO_TCP, 8080, 40100, 64);
	pkt_finish(&in);
	v = mgt_dp_run(&lbt.dp, &in, &out, lbt.topo.cluster_if, MG_ENCAP);
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
	mgt_dp_put(&lbt.dp, "mg_nh4_v2", &(uint32_t){ PEER2B }, &nv);
	mgt_dp_put(&lbt.dp, "mg_peer4", &(uint32_t){ PEER2B },
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
	assert_int_not_equal(mgt_dp_run(&lbt.dp, &in, &out,
					lbt.topo.underlay_if, MG_DECAP),
			     XDP_DROP);
	assert_int_equal(bpf_map_lookup_elem(mgt_dp_map(&lbt.dp, "mg_pin"),
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
	bpf_map_delete_elem(mgt_dp_map(&lbt.dp, "mg_pin"), &pk);
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
	mgt_dp_run(&lbt.dp, &in, &out, lbt.topo.underlay_if, MG_DECAP);
	assert_int_not_equal(bpf_map_lookup_elem(mgt_dp_map(&lbt.dp, "mg_pin"),
						 &pk, &pv), 0);

	peer = PEER2;
	cluster2_gws(&peer, 1);
	bpf_map_delete_elem(mgt_dp_map(&lbt.dp, "mg_peer4"), &(uint32_t){ PEER2B });
}

/* mg_lbstats[key] summed over CPUs. */
static struct mg_stat lbstat(uint32_t key)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mg_stat v[ncpu], sum = { 0 };

	assert_int_equal(bpf_map_lookup_elem(mgt_dp_map(&lbt.dp, "mg_lbstats"),
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

	lbt_backend_set(BE_R1, MG_LB_BE_F_LIVE, 1);
	mgt_ring_set(&lbt.dp, SVC_TCP, BE_R1);
	pkt_init(&in);
	lbt_pod_to(&in, IPPROTO_TCP, 40200, 80);
	pkt_finish(&in);
	mgt_dp_run(&lbt.dp, &in, &out, 0, MG_ENCAP);
	s1 = lbstat(SVC_TCP);
	b1 = lbstat(MG_LBSTATS_BACKEND(BE_R1));
	assert_int_equal(s1.packets - s0.packets, 1);
	assert_int_equal(s1.bytes - s0.bytes, in.len);
	assert_int_equal(b1.packets - b0.packets, 1);
	assert_int_equal(b1.bytes - b0.bytes, in.len);

	pkt_init(&in);
	lbt_pod_to(&in, IPPROTO_TCP, 40201, 81);
	pkt_finish(&in);
	mgt_dp_run(&lbt.dp, &in, &out, 0, MG_DROP_NO_BACKEND);
	e1 = lbstat(SVC_EMPTY);
	assert_int_equal(e1.packets, e0.packets);
	assert_int_equal(lbstat(MG_LBSTATS_BACKEND(BE_R1)).packets, b1.packets);
}

int main(void)
{
	const struct CMUnitTest extra[] = {
		{ "t_outlier_counts", lbt_outlier_counts, NULL, NULL, NULL },
		cmocka_unit_test(t_lbstats),
		cmocka_unit_test(t_reply_pinned),
		{ "t_snat_exhausted_then_recovers",
		  lbt_snat_exhausted_then_recovers, NULL, NULL, NULL },
		{ "t_snat_client_share", lbt_snat_client_share, NULL, NULL,
		  NULL },
	};

	return lbt_main("lb", &net4, rows, sizeof(rows) / sizeof(rows[0]),
			extra, sizeof(extra) / sizeof(extra[0]));
}
