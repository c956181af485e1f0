// SPDX-License-Identifier: GPL-2.0-only
/*
 * The global services' test fixture for either family (lbtest.h).  Where
 * the families differ, in the maps' keys and values, a switch on the
 * address's family picks the IPv4 or IPv6 struct; the packets come from
 * the family-generic builder (pkt_ip(), pkt_eth_ip()).
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include "lib/lbtest.h"

struct lbt_env lbt;

const uint8_t lbt_l1_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x20 };
const uint8_t lbt_nh_smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x01 };
const uint8_t lbt_nh_dmac2[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x02 };
const uint8_t lbt_gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static const struct {
	uint16_t port;
	uint8_t cid, flags, proto;
} backends[LBT_N_BE] = {
	[BE_R1] = { 8080, 2, MG_LB_BE_F_LIVE, IPPROTO_TCP },
	[BE_L1] = { 8080, 1, MG_LB_BE_F_LIVE | MG_LB_BE_F_LOCAL, IPPROTO_TCP },
	[BE_R2] = { 8080, 2, MG_LB_BE_F_LIVE, IPPROTO_TCP },
	[BE_R3] = { 5353, 2, MG_LB_BE_F_LIVE, IPPROTO_UDP },
};

#define N		(lbt.n)
#define V4		(N->pod.fam == 4)

/* --- maps ----------------------------------------------------------------- */

void lbt_backend_set(uint32_t slot, uint8_t flags, uint32_t gen)
{
	const struct mgt_addr *a = &N->be[slot];

	if (V4) {
		struct mg_lb_backend b = {
			.addr = a->v4,
			.port = htons(backends[slot].port),
			.cluster_id = backends[slot].cid,
			.flags = flags,
			.gen = gen,
		};

		mgt_dp_put(&lbt.dp, "mg_lbbe", &slot, &b);
	} else {
		struct mg_lb_backend6 b = {
			.port = htons(backends[slot].port),
			.cluster_id = backends[slot].cid,
			.flags = flags,
			.gen = gen,
		};

		memcpy(b.addr, a->v6, 16);
		mgt_dp_put(&lbt.dp, "mg_lbbe6", &slot, &b);
	}
}

void lbt_service(uint16_t port, uint8_t proto, uint32_t id)
{
	lbt_service_f(port, proto, id, 0);
}

void lbt_service_f(uint16_t port, uint8_t proto, uint32_t id, uint32_t flags)
{
	struct mg_svc_val v = { .id = id, .flags = flags };

	if (V4) {
		struct mg_svc_key k = { .vip = N->vip.v4, .port = htons(port),
					.proto = proto };

		mgt_dp_put(&lbt.dp, "mg_svc", &k, &v);
	} else {
		struct mg_svc6_key k = { .port = htons(port), .proto = proto };

		memcpy(k.vip, N->vip.v6, 16);
		mgt_dp_put(&lbt.dp, "mg_svc6", &k, &v);
	}
}

void lbt_lbrev(int be, const struct mgt_addr *vip0, uint16_t vport0,
	       const struct mgt_addr *vip1, uint16_t vport1)
{
	if (V4) {
		struct mg_lbrev_key rk = {
			.addr = N->be[be].v4,
			.port = htons(backends[be].port),
			.proto = backends[be].proto,
		};
		struct mg_lbrev_val rv = { .svc = {
			{ .vip = vip0->v4, .vport = htons(vport0) },
			{ .vip = vip1->v4, .vport = htons(vport1) },
		} };

		mgt_dp_put(&lbt.dp, "mg_lbrev", &rk, &rv);
	} else {
		struct mg_lbrev6_key rk = {
			.port = htons(backends[be].port),
			.proto = backends[be].proto,
		};
		struct mg_lbrev6_val rv = { 0 };

		memcpy(rk.addr, N->be[be].v6, 16);
		memcpy(rv.svc[0].vip, vip0->v6, 16);
		rv.svc[0].vport = htons(vport0);
		memcpy(rv.svc[1].vip, vip1->v6, 16);
		rv.svc[1].vport = htons(vport1);
		mgt_dp_put(&lbt.dp, "mg_lbrev6", &rk, &rv);
	}
}

static void ep(const struct mgt_addr *net, uint8_t cid, uint8_t flags)
{
	struct mg_ep_val v = { .cluster_id = cid, .flags = flags };

	if (V4) {
		struct mg_ep4_key k = { N->plen, net->v4 };

		mgt_dp_put(&lbt.dp, "mg_ep4", &k, &v);
	} else {
		struct mg_ep6_key k = { .prefixlen = N->plen };

		memcpy(k.addr, net->v6, 16);
		mgt_dp_put(&lbt.dp, "mg_ep6", &k, &v);
	}
}

static void maps_setup(void)
{
	struct mg_cluster_val cv = { .n_gw = 1 };
	struct mg_nh_val nv = { .ifindex = 1, .mtu = 1500 };
	uint32_t cid = 2, empty = 0xffffffff;

	ep(&N->local_net, 1, MG_EP_F_LOCAL);
	ep(&N->remote_net, 2, 0);
	cv.gw[0].family = MG_AF_INET;
	cv.gw[0].addr[0] = LBT_PEER2;
	mgt_dp_put(&lbt.dp, "mg_clus", &cid, &cv);
	mgt_dp_put(&lbt.dp, "mg_peer4", &(uint32_t){ LBT_PEER2 },
		   &(struct mg_peer_val){ 2, { 0 } });
	memcpy(nv.smac, lbt_nh_smac, 6);
	memcpy(nv.dmac, lbt_nh_dmac2, 6);
	mgt_dp_put(&lbt.dp, "mg_nh4_v2", &(uint32_t){ LBT_PEER2 }, &nv);

	for (uint32_t i = 0; i < LBT_N_BE; i++)
		lbt_backend_set(i, backends[i].flags, 1);
	lbt_service(80, IPPROTO_TCP, SVC_TCP);
	lbt_service(53, IPPROTO_UDP, SVC_UDP);
	/* on_no_backend = drop: the fast failure has its own rows. */
	lbt_service_f(81, IPPROTO_TCP, SVC_EMPTY, MG_SVC_F_NB_DROP);
	lbt_service_f(82, IPPROTO_TCP, SVC_NO_RING, MG_SVC_F_NB_DROP);
	lbt_service(0, 0, 0);			/* "the VIP is a VIP" */
	/* Another service first: the flow's is found after. */
	for (int i = 0; i < LBT_N_BE; i++)
		lbt_lbrev(i, &N->other_vip, 80, &N->vip,
			  i == BE_R3 ? 53 : 80);
	mgt_ring_set(&lbt.dp, SVC_TCP, BE_R1);
	mgt_ring_set(&lbt.dp, SVC_UDP, BE_R3);
	mgt_ring_set(&lbt.dp, SVC_EMPTY, empty);
}

static int setup(void **state)
{
	struct mg_dp_settings s = {
		.tunnel4 = LBT_TUN,
		.cluster4 = IP4(10, 1, 0, 1),
		.vxlan_port = LBT_VXLAN_PORT,
		.cluster_id = LBT_OWN_CID,
		.nh_table = true,
	};

	if (!V4)
		memcpy(s.cluster6, N->gw.v6, 16);
	if (mgt_dp_load(&lbt.dp, &s))
		return -1;
	maps_setup();
	return 0;
}

static int teardown(void **state)
{
	mgt_dp_destroy(&lbt.dp);
	return 0;
}

/* --- connection tracking -------------------------------------------------- */

uint64_t lbt_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * LBT_NSEC + ts.tv_nsec;
}

static struct mg_ct4_key flow4(const struct mgt_addr *client, uint16_t sport)
{
	return (struct mg_ct4_key){ .saddr = client->v4, .daddr = N->vip.v4,
				    .sport = htons(sport), .dport = htons(80),
				    .proto = IPPROTO_TCP };
}

static struct mg_ct6_key flow6(const struct mgt_addr *client, uint16_t sport)
{
	struct mg_ct6_key k = { .sport = htons(sport), .dport = htons(80),
				.proto = IPPROTO_TCP };

	memcpy(k.saddr, client->v6, 16);
	memcpy(k.daddr, N->vip.v6, 16);
	return k;
}

int lbt_ct_get(const struct mgt_addr *client, uint16_t sport,
	       struct lbt_ct *v)
{
	int err;

	if (V4) {
		struct mg_ct4_key k = flow4(client, sport);
		struct mg_ct4_val c;

		err = bpf_map_lookup_elem(mgt_dp_map(&lbt.dp, "mg_ct4_v2"),
					  &k, &c);
		*v = (struct lbt_ct){ c.backend, c.gen, c.snat_port, c.state,
				      c.flags, c.expires };
	} else {
		struct mg_ct6_key k = flow6(client, sport);
		struct mg_ct6_val c;

		err = bpf_map_lookup_elem(mgt_dp_map(&lbt.dp, "mg_ct6_v2"),
					  &k, &c);
		*v = (struct lbt_ct){ c.backend, c.gen, c.snat_port, c.state,
				      c.flags, c.expires };
	}
	return err;
}

void lbt_ct_expect(uint8_t st, uint8_t flags, uint64_t secs)
{
	struct lbt_ct v;
	uint64_t now = lbt_mono_ns();

	assert_int_equal(lbt_ct_get(&N->pod, LBT_LT_PORT, &v), 0);
	assert_int_equal(v.state, st);
	assert_int_equal(v.flags, flags);
	/* The datapath's clock is the coarse one: up to a tick behind. */
	if (v.expires > now + secs * LBT_NSEC ||
	    v.expires + LBT_NSEC < now + secs * LBT_NSEC)
		fail_msg("expires in %lld ms, want %llu s",
			 (long long)(v.expires - now) / 1000000,
			 (unsigned long long)secs);
}

void lbt_ct_expire(const struct mgt_addr *client, uint16_t sport)
{
	if (V4) {
		struct mg_ct4_key k = flow4(client, sport);
		struct mg_ct4_val v;

		assert_int_equal(bpf_map_lookup_elem(
			mgt_dp_map(&lbt.dp, "mg_ct4_v2"), &k, &v), 0);
		v.expires = 1;
		mgt_dp_put(&lbt.dp, "mg_ct4_v2", &k, &v);
	} else {
		struct mg_ct6_key k = flow6(client, sport);
		struct mg_ct6_val v;

		assert_int_equal(bpf_map_lookup_elem(
			mgt_dp_map(&lbt.dp, "mg_ct6_v2"), &k, &v), 0);
		v.expires = 1;
		mgt_dp_put(&lbt.dp, "mg_ct6_v2", &k, &v);
	}
}

/* --- packets -------------------------------------------------------------- */

/* The IP packet of lbt_frame(), without its Ethernet header. */
static void l3(struct pkt *p, const struct mgt_addr *src,
	       const struct mgt_addr *dst, uint8_t proto, uint16_t sport,
	       uint16_t dport, uint8_t ttl)
{
	pkt_ipx(p, src, dst, proto, ttl, 0x1234, 0x4000);
	if (proto == IPPROTO_TCP)
		pkt_tcp(p, sport, dport, sport & 1 ? 0x02 : 0x18);
	else
		pkt_udp(p, sport, dport, true);
	pkt_data(p, 24, proto);
}

void lbt_frame(struct pkt *p, const uint8_t *dmac, const uint8_t *smac,
	       const struct mgt_addr *src, const struct mgt_addr *dst,
	       uint8_t proto, uint16_t sport, uint16_t dport, uint8_t ttl)
{
	pkt_eth(p, dmac, smac, pkt_ethertype(src));
	l3(p, src, dst, proto, sport, dport, ttl);
}

void lbt_pod_to(struct pkt *p, uint8_t proto, uint16_t sport, uint16_t dport)
{
	lbt_frame(p, lbt_gw_mac, mgt_pod_mac, &N->pod, &N->vip, proto, sport,
		  dport, 64);
}

void lbt_pod_tcp(struct pkt *p, uint16_t sport, uint8_t flags)
{
	lbt_pod_to(p, IPPROTO_TCP, sport, 80);
	pkt_put8(p, pkt_off(p, PKT_TCP, 0) + 13, flags);
}

void lbt_from_peer2(struct pkt *p)
{
	const uint8_t m1[6] = MG_MESH_MAC_INIT(LBT_OWN_CID);
	const uint8_t m2[6] = MG_MESH_MAC_INIT(2);

	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = LBT_PEER2, .daddr = LBT_TUN,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x4000 });
	pkt_udp(p, 51234, LBT_VXLAN_PORT, false);
	pkt_vxlan(p, 0x08000000, 2);
	pkt_eth(p, m1, m2, pkt_ethertype(&N->pod));
}

void lbt_encap_to_peer2(struct pkt *w, const struct pkt *out)
{
	/* Flagged: its replies come back through us (mg_pin). */
	const uint8_t m1[6] = { 0x02, 0x6d, 0x67, 0x00, MG_MESH_MAC_F_PIN,
				LBT_OWN_CID };
	const uint8_t m2[6] = MG_MESH_MAC_INIT(2);
	uint16_t osport = out->len >= 36 ? pkt_get16(out, 34) : 0;

	pkt_eth(w, lbt_nh_dmac2, lbt_nh_smac, ETH_P_IP);
	pkt_ip4(w, &(struct pkt_ip4){ .saddr = LBT_TUN, .daddr = LBT_PEER2,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .frag_off = 0x4000 });
	pkt_udp(w, osport, LBT_VXLAN_PORT, false);
	pkt_vxlan(w, 0x08000000, LBT_OWN_CID);
	pkt_eth(w, m2, m1, pkt_ethertype(&N->pod));
}

void lbt_to_peer2(struct pkt *w, const struct pkt *out, uint16_t sport,
		  uint8_t proto, int be)
{
	lbt_encap_to_peer2(w, out);
	l3(w, &N->pod, &N->be[be], proto, sport, backends[be].port, 63);
}

/* --- the rows both families have ------------------------------------------ */

/* A new TCP flow: Maglev gives R1, DNAT, encapsulated to cluster 2. */
void in_syn(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40001, 80); }
void want_syn_r1(struct pkt *w, const struct pkt *o)
{
	lbt_to_peer2(w, o, 40001, IPPROTO_TCP, BE_R1);
}

/* The table changes to R2: the flow keeps R1. */
void ring_r2(void) { mgt_ring_set(&lbt.dp, SVC_TCP, BE_R2); }
void in_ack(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40001, 80); }

/* R1 is gone (not live): the established flow moves to the table's R2. */
void r1_gone(void) { lbt_backend_set(BE_R1, 0, 1); }
void want_ack_r2(struct pkt *w, const struct pkt *o)
{
	lbt_to_peer2(w, o, 40001, IPPROTO_TCP, BE_R2);
}

/*
 * Affinity local (the agent's table holds the local backend only): DNAT
 * to L1 and SNAT to our cluster-side address, routed to it.
 */
void ring_l1(void) { mgt_ring_set(&lbt.dp, SVC_TCP, BE_L1); }
void in_syn_local(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40005, 80); }
void want_local(struct pkt *w, const struct pkt *o)
{
	size_t off = ETH_HLEN + pkt_ip_hlen(&N->pod);
	uint16_t sport = o->len >= off + 2 ? pkt_get16(o, off) : 0;

	if (sport < 61000)
		fail_msg("SNAT port %u is not in 61000..65535", sport);
	lbt.snat_port = sport;
	lbt_frame(w, lbt_l1_mac, mgt_cluster_mac, &N->gw, &N->be[BE_L1],
		  IPPROTO_TCP, sport, 8080, 63);
	/* lbt_frame() chose the flags from the port: the client's SYN. */
	pkt_put8(w, pkt_off(w, PKT_TCP, 0) + 13, 0x02);
}

/* UDP: a datagram to the UDP service, and its reply. */
void in_udp(struct pkt *p) { lbt_pod_to(p, IPPROTO_UDP, 40010, 53); }
void want_udp(struct pkt *w, const struct pkt *o)
{
	lbt_to_peer2(w, o, 40010, IPPROTO_UDP, BE_R3);
}

void in_udp_reply(struct pkt *p)
{
	lbt_from_peer2(p);
	pkt_ip(p, &N->be[BE_R3], &N->pod, IPPROTO_UDP, 63);
	pkt_udp(p, 5353, 40010, true);
	pkt_data(p, 33, 4);
}

void want_udp_reply(struct pkt *w, const struct pkt *o)
{
	pkt_eth_ip(w, mgt_pod_mac, mgt_cluster_mac, &N->vip, &N->pod,
		   IPPROTO_UDP, 62);
	pkt_udp(w, 53, 40010, true);
	pkt_data(w, 33, 4);
}

/* No healthy backend: an empty table, or none at all. */
void in_empty(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40021, 81); }
void in_no_ring(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40021, 82); }

/* Malformed and hostile packets to a VIP. */
void in_tcp_short(struct pkt *p)
{
	lbt_pod_to(p, IPPROTO_TCP, 40030, 80);
	pkt_truncate(p, pkt_off(p, PKT_TCP, 0) + 12);
	pkt_fix_lengths(p);
}

void in_ports_short(struct pkt *p)
{
	lbt_pod_to(p, IPPROTO_UDP, 40030, 53);
	pkt_truncate(p, pkt_off(p, PKT_UDP, 0) + 2);
	pkt_fix_lengths(p);
}

/* Not service traffic: passed untouched. */
void in_other_port(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40050, 443); }
void in_to_gw(struct pkt *p)
{
	lbt_frame(p, lbt_gw_mac, mgt_pod_mac, &N->pod, &N->gw, IPPROTO_TCP,
		  40050, 22, 64);
}

/*
 * Flow lifetimes (ct.h): what opens a flow, how its state and expiry
 * follow its packets, and that an expired flow is gone.  The clock is
 * not waited for: a row makes a flow old by writing its expiry.
 */
void in_lt_ack0(struct pkt *p) { lbt_pod_tcp(p, 40200, 0x10); }
void in_lt_fin0(struct pkt *p) { lbt_pod_tcp(p, 40200, 0x11); }
void in_lt_rst0(struct pkt *p) { lbt_pod_tcp(p, 40200, 0x04); }
void lt_nothing(void)
{
	struct lbt_ct v;

	assert_int_not_equal(lbt_ct_get(&N->pod, 40200, &v), 0);
}

void in_lt_syn(struct pkt *p) { lbt_pod_tcp(p, LBT_LT_PORT, 0x02); }
void in_lt_ack(struct pkt *p) { lbt_pod_tcp(p, LBT_LT_PORT, 0x10); }

/* DNAT to L1, SNAT to our address and the flow's port, flags kept. */
void want_lt_local(struct pkt *w, const struct pkt *o)
{
	size_t off = ETH_HLEN + pkt_ip_hlen(&N->pod) + 13;
	uint8_t flags = o->len > off ? pkt_get8(o, off) : 0;

	want_local(w, o);
	pkt_put8(w, pkt_off(w, PKT_TCP, 0) + 13, flags);
}

void lt_opening(void)
{
	lbt_ct_expect(MG_CT_OPENING, 0, MG_CT_TCP_OPENING_S);
}

void lt_answered(void)
{
	lbt_ct_expect(MG_CT_OPENING, MG_CT_F_REPLIED, MG_CT_TCP_OPENING_S);
}

void lt_established(void)
{
	lbt_ct_expect(MG_CT_ESTABLISHED, MG_CT_F_REPLIED,
		      MG_CT_TCP_ESTABLISHED_S);
}

void lt_closing(void)
{
	lbt_ct_expect(MG_CT_CLOSING, MG_CT_F_REPLIED, MG_CT_TCP_CLOSING_S);
}

void lt_old(void) { lbt_ct_expire(&N->pod, LBT_LT_PORT); }

/* Opened again after it expired: the same port (the old flow's). */
void lt_reopened(void)
{
	struct lbt_ct v;

	lt_opening();
	assert_int_equal(lbt_ct_get(&N->pod, LBT_LT_PORT, &v), 0);
	assert_int_equal(ntohs(v.snat_port), lbt.snat_port);
}

/*
 * A remote backend takes no SNAT port, and Maglev gives it again: a flow
 * whose entry was lost is picked up mid-stream, as opening (30 s).
 */
void in_lt_remote(struct pkt *p) { lbt_pod_to(p, IPPROTO_TCP, 40210, 80); }
void lt_picked_up(void)
{
	struct lbt_ct v;

	assert_int_equal(lbt_ct_get(&N->pod, 40210, &v), 0);
	assert_int_equal(v.state, MG_CT_OPENING);
}

static void run_row(void **state)
{
	const struct lbt_row *r = *state;
	struct pkt in, out, want;

	if (r->before)
		r->before();
	pkt_init(&in);
	lbt.in_raw = false;
	r->in(&in);
	if (!lbt.in_raw)
		pkt_finish(&in);
	mgt_dp_check(&lbt.dp, &in, &out, r->ifindex ? lbt.topo.cluster_if : 0,
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

static int syn_from(const struct mgt_addr *client, uint16_t sport)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	uint8_t buf[256];
	struct pkt in;

	pkt_init(&in);
	lbt_frame(&in, lbt_gw_mac, mgt_pod_mac, client, &N->vip, IPPROTO_TCP,
		  sport, 80, 64);
	pkt_put8(&in, pkt_off(&in, PKT_TCP, 0) + 13, 0x02);
	pkt_finish(&in);
	o.data_in = in.data;
	o.data_size_in = in.len;
	o.data_out = buf;
	o.data_size_out = sizeof(buf);
	assert_int_equal(bpf_prog_test_run_opts(lbt.dp.prog, &o), 0);
	return o.retval;
}

static void pool_fill4(uint32_t p, uint64_t expires)
{
	uint32_t gw = N->gw.v4, l1 = N->be[BE_L1].v4;
	struct mg_ct4_key rk = { .saddr = l1, .daddr = gw,
				 .sport = htons(8080), .dport = htons(p),
				 .proto = IPPROTO_TCP };
	struct mg_rnat4_val rv = { .vip = N->vip.v4, .client = N->fake.v4,
				   .vport = htons(80), .cport = htons(p) };
	struct mg_ct4_key k = flow4(&N->fake, p);
	struct mg_ct4_val v = { .backend = BE_L1, .gen = 1, .snat_addr = gw,
				.snat_port = htons(p),
				.state = MG_CT_ESTABLISHED,
				.flags = MG_CT_F_REPLIED, .expires = expires };

	mgt_map_put(mgt_dp_map(&lbt.dp, "mg_rnat4"), &rk, &rv);
	mgt_dp_put(&lbt.dp, "mg_ct4_v2", &k, &v);
}

static void pool_fill6(uint32_t p, uint64_t expires)
{
	struct mg_ct6_key rk = { .sport = htons(8080), .dport = htons(p),
				 .proto = IPPROTO_TCP };
	struct mg_rnat6_val rv = { .vport = htons(80), .cport = htons(p) };
	struct mg_ct6_key k = flow6(&N->fake, p);
	struct mg_ct6_val v = { .backend = BE_L1, .gen = 1,
				.snat_port = htons(p),
				.state = MG_CT_ESTABLISHED,
				.flags = MG_CT_F_REPLIED, .expires = expires };

	memcpy(rk.saddr, N->be[BE_L1].v6, 16);
	memcpy(rk.daddr, N->gw.v6, 16);
	memcpy(rv.vip, N->vip.v6, 16);
	memcpy(rv.client, N->fake.v6, 16);
	memcpy(v.snat_addr, N->gw.v6, 16);
	mgt_map_put(mgt_dp_map(&lbt.dp, "mg_rnat6"), &rk, &rv);
	mgt_dp_put(&lbt.dp, "mg_ct6_v2", &k, &v);
}

/* Every port of L1's pool to a flow of FAKE, live until expires. */
static void pool_fill(uint64_t expires)
{
	for (uint32_t p = 61000; p <= 65535; p++) {
		if (V4)
			pool_fill4(p, expires);
		else
			pool_fill6(p, expires);
	}
}

/* The reverse NAT of the local flow from our SNAT port: to the client? */
static void rnat_is(uint16_t snat_port, const struct mgt_addr *client,
		    uint16_t cport)
{
	int fd;

	if (V4) {
		struct mg_ct4_key rk = { .saddr = N->be[BE_L1].v4,
					 .daddr = N->gw.v4,
					 .sport = htons(8080),
					 .dport = snat_port,
					 .proto = IPPROTO_TCP };
		struct mg_rnat4_val rv;

		fd = mgt_dp_map(&lbt.dp, "mg_rnat4");
		assert_int_equal(bpf_map_lookup_elem(fd, &rk, &rv), 0);
		assert_int_equal(rv.client, client->v4);
		assert_int_equal(rv.cport, htons(cport));
	} else {
		struct mg_ct6_key rk = { .sport = htons(8080),
					 .dport = snat_port,
					 .proto = IPPROTO_TCP };
		struct mg_rnat6_val rv;

		memcpy(rk.saddr, N->be[BE_L1].v6, 16);
		memcpy(rk.daddr, N->gw.v6, 16);
		fd = mgt_dp_map(&lbt.dp, "mg_rnat6");
		assert_int_equal(bpf_map_lookup_elem(fd, &rk, &rv), 0);
		assert_memory_equal(rv.client, client->v6, 16);
		assert_int_equal(rv.cport, htons(cport));
	}
}

void lt_ring_l1(void)
{
	ring_l1();
	lbt_backend_set(BE_L1, MG_LB_BE_F_LIVE | MG_LB_BE_F_LOCAL, 1);
}

/*
 * Every port of L1 held by live flows: a new flow is refused (no_snat),
 * and takes a port as soon as those flows are over, without anyone
 * clearing them.
 */
void lbt_snat_exhausted_then_recovers(void **state)
{
	struct lbt_ct v;
	struct pkt in, out;

	lt_ring_l1();
	pool_fill(lbt_mono_ns() + 3600 * LBT_NSEC);
	pkt_init(&in);
	lbt_pod_tcp(&in, 40301, 0x02);
	pkt_finish(&in);
	mgt_dp_check(&lbt.dp, &in, &out, 0, MG_DROP_NO_SNAT, XDP_DROP);

	pool_fill(1);		/* all of them over */
	mgt_dp_check(&lbt.dp, &in, &out, 0, MG_LB_LOCAL, XDP_REDIRECT);
	assert_int_equal(lbt_ct_get(&N->pod, 40301, &v), 0);
	rnat_is(v.snat_port, &N->pod, 40301);
	pool_fill(1);
}

/*
 * One client opening flow after flow to L1 gets at most half its ports;
 * another client still gets one.
 */
void lbt_snat_client_share(void **state)
{
	int got = 0;

	lt_ring_l1();
	for (int i = 0; i < 4536; i++) {
		int v = syn_from(&N->pod2, 1024 + i);

		if (v == XDP_DROP)
			break;
		assert_int_equal(v, XDP_REDIRECT);
		got++;
	}
	print_message("one client got %d of 4536 ports\n", got);
	assert_true(got <= 4536 / 2);
	assert_true(got >= 4536 / 4);
	assert_int_equal(syn_from(&N->pod, 40401), XDP_REDIRECT);
}

int lbt_main(const char *group, const struct lbt_net *n,
	     const struct lbt_row *rows, size_t n_rows,
	     const struct CMUnitTest *extra, size_t n_extra)
{
	lbt.n = n;
	if (mgt_netns_topo(&lbt.topo))
		return 1;
	if (mgt_sh("%s", n->l1_neigh))
		return 1;
	return mgt_run_table(group, rows, n_rows, sizeof(rows[0]), run_row,
			     extra, n_extra, setup, teardown) ? 1 : 0;
}
