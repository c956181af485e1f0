// SPDX-License-Identifier: GPL-2.0-only
/*
 * Traffic controls on the service path (datapath/rst.h, ratelimit.h,
 * lb.h; issue 13): the fast failure of a new flow no backend can take (a
 * TCP RST as RFC 793 builds it, an ICMP port unreachable for UDP), the
 * rate limits (packets and new flows per second) and circuit breaking
 * (max flows per backend, then overloaded), over the services' fixture
 * (tests/lib/lbtest.c).  IPv4 here; test_traffic6.c builds this file
 * again for IPv6.
 *
 * Every expected packet is built from scratch by tests/lib/pkt.c, whose
 * checksums (IPv4 header, TCP and ICMP over their pseudo-headers) are its
 * own C computation, not the datapath's.  The token buckets are driven
 * through the map: a bucket written with a last refill in the future
 * holds exactly the tokens written, whatever the clock says.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/lbtest.h"

#ifndef TRAFFIC_V6
static const struct lbt_net net = {
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
#define GROUP	"traffic"
#else
static const struct lbt_net net = {
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
#define GROUP	"traffic6"
#endif

/* Services of these tests: no backend at all (an empty table). */
#define SVC_RST		10	/* TCP port 83, on_no_backend = reset */
#define SVC_UNREACH	11	/* UDP port 54 */
#define RST_PORT	83
#define UNREACH_PORT	54

#define V4		(net.pod.fam == 4)
#define SEQ_IN		0x01020304	/* pkt_tcp()'s sequence number */
#define ACK_IN		0x0a0b0c0d

/* --- maps ----------------------------------------------------------------- */

static void services(void)
{
	lbt_service(RST_PORT, IPPROTO_TCP, SVC_RST);
	lbt_service(UNREACH_PORT, IPPROTO_UDP, SVC_UNREACH);
	mgt_ring_set(&lbt.dp, SVC_RST, 0xffffffff);
	mgt_ring_set(&lbt.dp, SVC_UNREACH, 0xffffffff);
}

static void svc_tc(uint32_t id, const struct mg_svc_tc *tc)
{
	mgt_dp_put(&lbt.dp, "mg_svctc", &id, tc);
}

/* Bucket key on every CPU: exactly n tokens, no refill. */
static void bucket(uint32_t key, uint64_t n)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mg_rlb v[ncpu];

	for (int i = 0; i < ncpu; i++)
		v[i] = (struct mg_rlb){ n * MG_RLB_UNIT, UINT64_MAX };
	mgt_dp_put(&lbt.dp, "mg_rlb", &key, v);
}

static void be_flows(uint32_t slot, uint32_t n)
{
	mgt_dp_put(&lbt.dp, "mg_beflows", &slot, &n);
}

static uint32_t be_flows_get(uint32_t slot)
{
	uint32_t n = 0;

	assert_int_equal(bpf_map_lookup_elem(mgt_dp_map(&lbt.dp,
							"mg_beflows"),
					     &slot, &n), 0);
	return n;
}

/* The service's table: a and b in turn (Maglev's entries interleave). */
static void ring_two(uint32_t id, uint32_t a, uint32_t b)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mg_ring", 4, 4,
				MG_LB_RING_SIZE, NULL);

	assert_true(fd >= 0);
	for (uint32_t i = 0; i < MG_LB_RING_SIZE; i++)
		mgt_map_put(fd, &i, i & 1 ? &b : &a);
	mgt_dp_put(&lbt.dp, "mg_lbring", &id, &fd);
	close(fd);
}

/* --- packets -------------------------------------------------------------- */

/* A TCP segment of the client's with flags and 24 bytes of payload. */
static void tcp_in(struct pkt *p, uint16_t sport, uint16_t dport,
		   uint8_t flags)
{
	lbt_pod_to(p, IPPROTO_TCP, sport, dport);
	pkt_put8(p, pkt_off(p, PKT_TCP, 0) + 13, flags);
	pkt_put32(p, pkt_off(p, PKT_TCP, 0) + 8, flags & 0x10 ? ACK_IN : 0);
}

/*
 * The RST the client should get for its segment to dport from sport:
 * from the VIP, MACs swapped, a bare TCP header.
 */
static void want_rst(struct pkt *w, uint16_t sport, uint16_t dport,
		     uint32_t seq, uint32_t ack, uint8_t flags)
{
	size_t t;

	pkt_eth(w, mgt_pod_mac, lbt_gw_mac, pkt_ethertype(&net.pod));
	pkt_ipx(w, &net.vip, &net.pod, IPPROTO_TCP, 64, 0, 0x4000);
	pkt_tcp(w, dport, sport, flags);
	t = pkt_off(w, PKT_TCP, 0);
	pkt_put32(w, t + 4, seq);
	pkt_put32(w, t + 8, ack);
	pkt_put16(w, t + 14, 0);	/* window */
}

/* A SYN with 24 bytes: RST|ACK, seq 0, ack = seq + 24 + 1 (the SYN). */
static void in_syn_rst(struct pkt *p) { tcp_in(p, 40101, RST_PORT, 0x02); }
static void want_syn_rst(struct pkt *w, const struct pkt *o)
{
	want_rst(w, 40101, RST_PORT, 0, SEQ_IN + 24 + 1, 0x14);
}

/* A FIN without ACK counts one too. */
static void in_fin_rst(struct pkt *p) { tcp_in(p, 40103, RST_PORT, 0x01); }
static void want_fin_rst(struct pkt *w, const struct pkt *o)
{
	want_rst(w, 40103, RST_PORT, 0, SEQ_IN + 24 + 1, 0x14);
}

/* With an ACK: a RST alone whose sequence is the segment's ACK. */
static void in_ack_rst(struct pkt *p) { tcp_in(p, 40105, RST_PORT, 0x18); }
static void want_ack_rst(struct pkt *w, const struct pkt *o)
{
	want_rst(w, 40105, RST_PORT, ACK_IN, 0, 0x04);
}

/* A RST is never answered. */
static void in_rst(struct pkt *p) { tcp_in(p, 40107, RST_PORT, 0x04); }

/* UDP: an ICMP port unreachable from the VIP quoting the datagram. */
static void in_udp_unreach(struct pkt *p)
{
	lbt_pod_to(p, IPPROTO_UDP, 40111, UNREACH_PORT);
}

static void want_unreach(struct pkt *w, const struct pkt *o)
{
	struct pkt in;

	pkt_init(&in);
	in_udp_unreach(&in);
	pkt_finish(&in);
	pkt_eth(w, mgt_pod_mac, lbt_gw_mac, pkt_ethertype(&net.pod));
	if (V4) {
		pkt_ip4(w, &(struct pkt_ip4){ .saddr = net.vip.v4,
					      .daddr = net.pod.v4,
					      .proto = IPPROTO_ICMP,
					      .ttl = 64, .tos = 0xc0 });
		pkt_icmp(w, 3, 3, 0);
	} else {
		pkt_ip6(w, net.vip.v6, net.pod.v6, IPPROTO_ICMPV6, 64);
		pkt_icmp6(w, 1, 4, 0);
	}
	pkt_raw(w, in.data + ETH_HLEN, in.len - ETH_HLEN);
}

/* on_no_backend = drop: no answer. */
static void nb_drop(void)
{
	lbt_service_f(RST_PORT, IPPROTO_TCP, SVC_RST, MG_SVC_F_NB_DROP);
}

static void nb_reset(void) { lbt_service(RST_PORT, IPPROTO_TCP, SVC_RST); }

static void in_syn_rst2(struct pkt *p) { tcp_in(p, 40121, RST_PORT, 0x02); }

static const struct lbt_row rows[] = {
	{ "rst_for_syn", services, in_syn_rst, want_syn_rst, 0, REDIR,
	  MG_NO_BACKEND_RESET, NULL },
	{ "rst_for_fin", NULL, in_fin_rst, want_fin_rst, 0, REDIR,
	  MG_NO_BACKEND_RESET, NULL },
	{ "rst_for_ack_takes_its_seq", NULL, in_ack_rst, want_ack_rst, 0,
	  REDIR, MG_NO_BACKEND_RESET, NULL },
	{ "rst_not_answered", NULL, in_rst, NULL, 0, DROP,
	  MG_DROP_NO_BACKEND, NULL },
	{ "udp_port_unreachable", NULL, in_udp_unreach, want_unreach, 0,
	  REDIR, MG_NO_BACKEND_RESET, NULL },
	{ "on_no_backend_drop", nb_drop, in_syn_rst2, NULL, 0, DROP,
	  MG_DROP_NO_BACKEND, nb_reset },
};

/* --- rate limits and circuit breaking ------------------------------------- */

static void pkt_send(uint16_t sport, uint8_t flags, int verdict,
		 enum mg_reason reason)
{
	struct pkt in, out;

	pkt_init(&in);
	lbt_pod_tcp(&in, sport, flags);
	pkt_finish(&in);
	mgt_dp_check(&lbt.dp, &in, &out, 0, reason, verdict);
}

/*
 * newflow_rate: 3 new flows in the bucket, 5 SYNs: 3 go to the backend,
 * 2 are dropped; the first flow goes on (it is no new flow); a token
 * written back lets one more in.
 */
static void t_newflow_rate(void **state)
{
	mgt_ring_set(&lbt.dp, SVC_TCP, BE_R1);
	svc_tc(SVC_TCP, &(struct mg_svc_tc){ .nf = 1, .nf_burst = 3 });
	bucket(MG_RLB_NF(SVC_TCP), 3);
	for (int i = 0; i < 5; i++)
		pkt_send(41001 + 2 * i, 0x02, i < 3 ? XDP_TX : XDP_DROP,
		     i < 3 ? MG_ENCAP : MG_DROP_RATE_LIMITED);
	pkt_send(41001, 0x10, XDP_TX, MG_ENCAP);
	pkt_send(41011, 0x02, XDP_DROP, MG_DROP_RATE_LIMITED);
	bucket(MG_RLB_NF(SVC_TCP), 1);
	pkt_send(41011, 0x02, XDP_TX, MG_ENCAP);
	pkt_send(41013, 0x02, XDP_DROP, MG_DROP_RATE_LIMITED);
	svc_tc(SVC_TCP, &(struct mg_svc_tc){ 0 });
	pkt_send(41015, 0x02, XDP_TX, MG_ENCAP);
}

/* rate_pps: 2 packets in the bucket: the third, of a live flow, dropped. */
static void t_pps_rate(void **state)
{
	mgt_ring_set(&lbt.dp, SVC_TCP, BE_R1);
	svc_tc(SVC_TCP, &(struct mg_svc_tc){ .pps = 1, .pps_burst = 2 });
	bucket(MG_RLB_PPS(SVC_TCP), 2);
	pkt_send(41101, 0x02, XDP_TX, MG_ENCAP);
	pkt_send(41101, 0x10, XDP_TX, MG_ENCAP);
	pkt_send(41101, 0x10, XDP_DROP, MG_DROP_RATE_LIMITED);
	bucket(MG_RLB_PPS(SVC_TCP), 1);
	pkt_send(41101, 0x10, XDP_TX, MG_ENCAP);
	svc_tc(SVC_TCP, &(struct mg_svc_tc){ 0 });
}

/* A bucket never used starts full: burst packets, then none. */
static void t_bucket_starts_full(void **state)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mg_rlb v[ncpu];
	uint32_t key = MG_RLB_PPS(SVC_TCP);

	memset(v, 0, sizeof(v));
	mgt_dp_put(&lbt.dp, "mg_rlb", &key, v);
	/* A rate so low nothing comes back while the test runs. */
	svc_tc(SVC_TCP, &(struct mg_svc_tc){ .pps = 1, .pps_burst = 4 });
	for (int i = 0; i < 4; i++)
		pkt_send(41201, i ? 0x10 : 0x02, XDP_TX, MG_ENCAP);
	pkt_send(41201, 0x10, XDP_DROP, MG_DROP_RATE_LIMITED);
	svc_tc(SVC_TCP, &(struct mg_svc_tc){ 0 });
}

/*
 * max_flows_per_backend 1 over a table of R1 and R2: R1 full, a new flow
 * goes to R2 (whichever the hash named), counted there; both full, the
 * next is answered with a RST under overloaded; a flow already tracked
 * keeps its backend.
 */
static void t_circuit_breaker(void **state)
{
	struct pkt in, out, want;
	struct lbt_ct ct;

	ring_two(SVC_TCP, BE_R1, BE_R2);
	svc_tc(SVC_TCP, &(struct mg_svc_tc){ .max_flows = 1 });
	be_flows(BE_R1, 1);
	be_flows(BE_R2, 0);
	pkt_send(41301, 0x02, XDP_TX, MG_ENCAP);
	assert_int_equal(lbt_ct_get(&net.pod, 41301, &ct), 0);
	assert_int_equal(ct.backend, BE_R2);
	assert_int_equal(be_flows_get(BE_R2), 1);
	assert_int_equal(be_flows_get(BE_R1), 1);

	pkt_init(&in);
	tcp_in(&in, 41303, 80, 0x02);
	pkt_finish(&in);
	mgt_dp_check(&lbt.dp, &in, &out, 0, MG_DROP_OVERLOADED,
		     XDP_REDIRECT);
	pkt_init(&want);
	want_rst(&want, 41303, 80, 0, SEQ_IN + 24 + 1, 0x14);
	pkt_finish(&want);
	mgt_expect_packet(&out, &want, &in);
	assert_int_not_equal(lbt_ct_get(&net.pod, 41303, &ct), 0);

	pkt_send(41301, 0x10, XDP_TX, MG_ENCAP);	/* tracked: kept */
	be_flows(BE_R1, 0);
	pkt_send(41305, 0x02, XDP_TX, MG_ENCAP);
	assert_int_equal(lbt_ct_get(&net.pod, 41305, &ct), 0);
	assert_int_equal(ct.backend, BE_R1);

	svc_tc(SVC_TCP, &(struct mg_svc_tc){ 0 });
	be_flows(BE_R1, 0);
	be_flows(BE_R2, 0);
	mgt_ring_set(&lbt.dp, SVC_TCP, BE_R1);
}

int main(void)
{
	const struct CMUnitTest extra[] = {
		cmocka_unit_test(t_newflow_rate),
		cmocka_unit_test(t_pps_rate),
		cmocka_unit_test(t_bucket_starts_full),
		cmocka_unit_test(t_circuit_breaker),
	};

	return lbt_main(GROUP, &net, rows, sizeof(rows) / sizeof(rows[0]),
			extra, sizeof(extra) / sizeof(extra[0]));
}
