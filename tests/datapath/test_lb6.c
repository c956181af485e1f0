// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv6 global services in the XDP datapath (datapath/lb.h, ct.h, nat.h:
 * mg_svc6, mg_lbbe6, mg_lbrev6, mg_ct6_v2, mg_rnat6), run like test_lb.c:
 * one table of rows in order against one datapath (connection tracking
 * carries from row to row), each row maybe changing the maps first, then
 * one packet, its verdict, the one reason counter that moved and the
 * output packet, built from scratch here with every checksum recomputed
 * (IPv6 has no header checksum: TCP, UDP and ICMPv6 over the
 * pseudo-header).  The fixture and the rows IPv4 shares are in
 * tests/lib/lbtest.c; here are the addresses and the rows of IPv6 alone.
 *
 * The mesh: we are cluster 1 (fd00:1::/64, cluster-side address
 * fd00:1::1, the SNAT source for local backends); cluster 2 (fd00:2::/64)
 * has one gateway, PEER2, over an IPv4 underlay.
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
#include "lib/lbt_outlier.h"
#include "lib/lbtest.h"

static const struct lbt_net net6 = {
	.gw = MGT_A6(0xfd, 0, 0, 1, [15] = 1),
	.pod = MGT_A6(0xfd, 0, 0, 1, [15] = 5),
	.pod2 = MGT_A6(0xfd, 0, 0, 1, [15] = 6),
	.fake = MGT_A6(0xfd, 0, 0, 1, [14] = 7, [15] = 7),
	.vip = MGT_A6(0xfd, 0, 0, 0x96, [15] = 0x10),
	.other_vip = MGT_A6(0xfd, 0, 0, 0x96, [15] = 0x99),
	.local_net = MGT_A6(0xfd, 0, 0, 1),
	.remote_net = MGT_A6(0xfd, 0, 0, 2),
	.plen = 64,
	.be = {
		[BE_R1] = MGT_A6(0xfd, 0, 0, 2, [15] = 0x20),
		[BE_L1] = MGT_A6(0xfd, 0, 0, 1, [15] = 0x20),
		[BE_R2] = MGT_A6(0xfd, 0, 0, 2, [15] = 0x21),
		[BE_R3] = MGT_A6(0xfd, 0, 0, 2, [15] = 0x30),
	},
	.l1_neigh = "ip -6 neigh replace fd00:1::20 lladdr 02:00:00:01:00:20"
		    " nud permanent dev mgc0",
};

#define GW6		(net6.gw.v6)		/* SNAT source */
#define POD		(net6.pod.v6)		/* the client */
#define VIP		(net6.vip.v6)
#define R1		(net6.be[BE_R1].v6)	/* cluster 2 */
#define R2		(net6.be[BE_R2].v6)
#define L1		(net6.be[BE_L1].v6)	/* our cluster */

#define l1_mac		lbt_l1_mac
#define gw_mac		lbt_gw_mac

/* A backend's TCP reply as the client should see it: from VIP:vport. */
static void reply_to_pod(struct pkt *w, const uint8_t *src, uint16_t sport,
			 uint16_t dport, uint8_t hops)
{
	pkt_eth(w, mgt_pod_mac, mgt_cluster_mac, ETH_P_IPV6);
	pkt_ip6(w, src, POD, IPPROTO_TCP, hops);
	pkt_tcp(w, sport, dport, 0x12);
	pkt_data(w, 20, 3);
}

/* --- the rows of IPv6 alone ---------------------------------------------- */

/* A backend's reply through the tunnel. */
static void in_reply(struct pkt *p, const uint8_t *from)
{
	lbt_from_peer2(p);
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
	lbt_from_peer2(p);
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

/* L1's reply to us: back to the client, from the VIP. */
static void in_reply_local(struct pkt *p)
{
	pkt_eth(p, mgt_cluster_mac, l1_mac, ETH_P_IPV6);
	pkt_ip6(p, L1, GW6, IPPROTO_TCP, 64);
	pkt_tcp(p, 8080, lbt.snat_port, 0x12);
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

	quoted_n(&q, GW6, lbt.snat_port, L1, 8080, 8);
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

/* The IPv6 header claims more than the frame holds. */
static void in_payload_long(struct pkt *p)
{
	lbt_pod_to(p, IPPROTO_TCP, 40032, 80);
	pkt_finish(p);
	lbt.in_raw = true;
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
	lbt_frame(p, gw_mac, mgt_pod_mac, &net6.pod, &net6.vip, IPPROTO_TCP,
		  40040, 80, 1);
}

static void in_ping_vip(struct pkt *p)
{
	pkt_eth(p, gw_mac, mgt_pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD, VIP, IPPROTO_ICMPV6, 64);
	pkt_icmp6(p, 128, 0, 0x00070001);
}

/* Flow lifetimes (lbtest.c's lt_ rows): the rows of IPv6 alone. */

static void in_lt_rst(struct pkt *p) { lbt_pod_tcp(p, LBT_LT_PORT, 0x14); }

/* L1 answers (SYN-ACK to our SNAT port): back to the client. */
static void in_lt_synack(struct pkt *p)
{
	pkt_eth(p, mgt_cluster_mac, l1_mac, ETH_P_IPV6);
	pkt_ip6(p, L1, GW6, IPPROTO_TCP, 64);
	pkt_tcp(p, 8080, lbt.snat_port, 0x12);
	pkt_data(p, 20, 3);
}

static void want_lt_synack(struct pkt *w, const struct pkt *o)
{
	reply_to_pod(w, VIP, 80, LBT_LT_PORT, 63);
}

/* The flow lbtest.c's lt_picked_up finds is R2's (R1 is gone here). */
static void lt_ring_remote(void) { mgt_ring_set(&lbt.dp, SVC_TCP, BE_R2); }
static void want_lt_remote(struct pkt *w, const struct pkt *o)
{
	lbt_to_peer2(w, o, 40210, IPPROTO_TCP, BE_R2);
}

static const struct lbt_row rows[] = {
	LBT_ROWS_NEW_FLOW,
	{ "icmp6_error_reverse_nat", NULL, in_icmp_r1, want_icmp_vip, 0,
	  REDIR, MG_DECAP, NULL },
	{ "too_big_icmp6_quotes_the_vip", NULL, in_too_big, want_too_big, 0,
	  REDIR, MG_ICMP6_TOO_BIG, NULL },
	{ "backend_gone_flow_moves", r1_gone, in_ack, want_ack_r2, 0, TX,
	  MG_ENCAP, NULL },
	LBT_ROWS_LOCAL,
	{ "local_icmp6_error_reverse_nat", NULL, in_icmp_local,
	  want_icmp_local, 1, REDIR, MG_LB_REPLY, NULL },
	LBT_ROWS_UDP,
	LBT_ROWS_NO_BACKEND,
	{ "vip_payload_length_past_the_end", NULL, in_payload_long, NULL, 0,
	  DROP, MG_DROP_MALFORMED, NULL },
	LBT_ROWS_FRAGMENTS,
	{ "vip_hop_limit_1_to_kernel", NULL, in_hop1, NULL, 0, PASS,
	  MG_TTL_EXCEEDED, NULL },
	LBT_ROWS_NOT_SERVICE,
	LBT_ROWS_LT_NO_FLOW,
	LBT_ROWS_LT_OPEN,
	{ "lt_rst_closes_10s", NULL, in_lt_rst, want_lt_local, 0, REDIR,
	  MG_LB_LOCAL, lt_closing },
	{ "lt_expired_flow_is_gone", lt_old, in_lt_ack, NULL, 0, DROP,
	  MG_DROP_CT_NO_SYN, NULL },
	{ "lt_expired_flow_reply_not_natted", NULL, in_lt_synack, NULL, 1,
	  PASS, MG_PASS, NULL },
	LBT_ROWS_LT_AGAIN,
};

int main(void)
{
	const struct CMUnitTest extra[] = {
		{ "t_outlier_counts", lbt_outlier_counts, NULL, NULL, NULL },
		{ "t_snat6_exhausted_then_recovers",
		  lbt_snat_exhausted_then_recovers, NULL, NULL, NULL },
		{ "t_snat6_client_share", lbt_snat_client_share, NULL, NULL,
		  NULL },
	};

	return lbt_main("lb6", &net6, rows, sizeof(rows) / sizeof(rows[0]),
			extra, sizeof(extra) / sizeof(extra[0]));
}
