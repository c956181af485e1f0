// SPDX-License-Identifier: GPL-2.0-only
/*
 * The reflector of data-plane liveness (datapath/echo.h), through
 * BPF_PROG_TEST_RUN: a peer's probe comes back byte for byte with outer
 * MACs, addresses and UDP ports swapped (checksums still right); a probe
 * from anyone else, or with the wrong VNI, or not an echo, is dropped and
 * counted; the reflected reply arriving at the prober goes up to its
 * agent's socket untouched.  One row per packet, as in test_xdp.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <cmocka.h>
#include <meshgate/echo.h>
#include "lib/dptest.h"
#include "lib/netns.h"

#define OWN_CID		1
#define TUN		IP4(192, 0, 2, 1)
#define PEER2		IP4(192, 0, 2, 2)	/* cluster 2's gateway */
#define STRANGER	IP4(192, 0, 2, 99)	/* not a peer */
#define A6(...)		((const uint8_t[16]){ __VA_ARGS__ })
#define TUN6		A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 1)
#define PEER3		A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 2)
#define STRANGER6	A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 0x99)
#define VXLAN_PORT	MG_VXLAN_PORT_DEFAULT
#define PROBER_PORT	40404		/* the prober's socket */

static struct {
	struct mgt_topo topo;
	struct mgt_dp dp;
} env;

static int fixture_setup(void **state)
{
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.vxlan_port = VXLAN_PORT,
		.cluster_id = OWN_CID,
		.nh_table = true,
	};
	struct mg_in6 peer3;

	memcpy(s.tunnel6, TUN6, 16);
	if (mgt_dp_load(&env.dp, &s))
		return -1;
	mgt_dp_put(&env.dp, "mg_peer4", &(uint32_t){ PEER2 },
		   &(struct mg_peer_val){ .cluster_id = 2 });
	memcpy(peer3.addr, PEER3, 16);
	mgt_dp_put(&env.dp, "mg_peer6", &peer3,
		   &(struct mg_peer_val){ .cluster_id = 3 });
	return 0;
}

static int fixture_teardown(void **state)
{
	mgt_dp_destroy(&env.dp);
	return 0;
}

/* --- packets in ------------------------------------------------------------ */

/* VXLAN, inner Ethernet of type, and an echo from origin (family fam). */
static void echo_body(struct pkt *p, uint8_t cid, uint16_t type,
		      uint8_t fam, const void *origin)
{
	const uint8_t to[6] = MG_MESH_MAC_INIT(OWN_CID);
	const uint8_t from[6] = MG_MESH_MAC_INIT(cid);
	struct mg_echo e = {
		.magic = htonl(MG_ECHO_MAGIC),
		.version = MG_ECHO_VERSION,
		.family = fam,
		.seq = htonl(77),
		.sent_us = 0x0102030405060708ull,
	};

	memcpy(e.origin, origin, fam == MG_AF_INET ? 4 : 16);
	pkt_vxlan(p, 0x08000000, cid);
	pkt_eth(p, to, from, type);
	pkt_raw(p, &e, sizeof(e));
}

/* A probe over IPv4 from saddr (cluster cid), with a real UDP checksum. */
static void probe4_from(struct pkt *p, uint32_t saddr, uint8_t cid,
			uint16_t type)
{
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = saddr, .daddr = TUN,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .id = 0x2222, .frag_off = 0x4000 });
	pkt_udp(p, PROBER_PORT, VXLAN_PORT, true);
	echo_body(p, cid, type, MG_AF_INET, &saddr);
}

static void probe4(struct pkt *p)
{
	probe4_from(p, PEER2, 2, MG_ECHO_ETH_P);
}

static void probe4_stranger(struct pkt *p)
{
	probe4_from(p, STRANGER, 2, MG_ECHO_ETH_P);
}

static void probe4_vni(struct pkt *p)
{
	probe4_from(p, PEER2, 3, MG_ECHO_ETH_P);
}

/* The reflected probe as it reaches the prober: to its own port. */
static void reply4(struct pkt *p)
{
	uint32_t own = TUN;

	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = PEER2, .daddr = TUN,
				      .proto = IPPROTO_UDP, .ttl = 64,
				      .id = 0x2222, .frag_off = 0x4000 });
	pkt_udp(p, VXLAN_PORT, PROBER_PORT, true);
	echo_body(p, OWN_CID, MG_ECHO_ETH_P, MG_AF_INET, &own);
}

static void probe6_from(struct pkt *p, const uint8_t *saddr)
{
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IPV6);
	pkt_ip6(p, saddr, TUN6, IPPROTO_UDP, 64);
	pkt_udp(p, PROBER_PORT, VXLAN_PORT, true);
	echo_body(p, 3, MG_ECHO_ETH_P, MG_AF_INET6, saddr);
}

static void probe6(struct pkt *p)
{
	probe6_from(p, PEER3);
}

static void probe6_stranger(struct pkt *p)
{
	probe6_from(p, STRANGER6);
}

/* --- the table ------------------------------------------------------------- */

enum want { SAME, REFLECTED };

struct echo_case {
	const char *name;
	void (*in)(struct pkt *p);
	struct pkt_edit edit[2];	/* after checksums: left wrong */
	size_t cut;			/* bytes off the end, lengths kept */
	int verdict;
	enum mg_reason reason;
	enum want want;
};

/* The echo's magic and version, in the raw layer after inner Ethernet. */
#define MAGIC(v)	{ PKT_DATA, 0, 0, 4, v }
#define VERSION(v)	{ PKT_DATA, 0, 4, 1, v }

static const struct echo_case cases[] = {
	{ "probe from a peer: reflected", probe4, .verdict = XDP_REDIRECT,
	  .reason = MG_ECHO, .want = REFLECTED },
	{ "probe over IPv6 from a peer: reflected", probe6,
	  .verdict = XDP_REDIRECT, .reason = MG_ECHO, .want = REFLECTED },
	{ "probe from an unknown address: dropped", probe4_stranger,
	  .verdict = XDP_DROP, .reason = MG_DROP_PEER_UNKNOWN },
	{ "probe over IPv6 from an unknown address: dropped",
	  probe6_stranger, .verdict = XDP_DROP,
	  .reason = MG_DROP_PEER_UNKNOWN },
	{ "probe with another cluster's VNI: dropped", probe4_vni,
	  .verdict = XDP_DROP, .reason = MG_DROP_VNI },
	{ "probe with a wrong magic: dropped", probe4,
	  .edit = { MAGIC(0x4d474544) }, .verdict = XDP_DROP,
	  .reason = MG_DROP_MALFORMED },
	{ "probe of another version: dropped", probe4,
	  .edit = { VERSION(2) }, .verdict = XDP_DROP,
	  .reason = MG_DROP_MALFORMED },
	{ "probe cut short: dropped", probe4, .cut = 8,
	  .verdict = XDP_DROP, .reason = MG_DROP_MALFORMED },
	{ "reflected reply at the prober: up to its agent", reply4,
	  .verdict = XDP_PASS, .reason = MG_PASS },
};

static void build(const struct echo_case *c, struct pkt *p)
{
	pkt_init(p);
	c->in(p);
	pkt_finish(p);
	for (int i = 0; i < 2 && c->edit[i].width; i++)
		pkt_apply(p, &c->edit[i]);
	if (c->cut)
		p->len -= c->cut;
}

/* in with outer MACs, addresses and UDP ports swapped: nothing else. */
static void want_reflected(const struct pkt *in, struct pkt *w)
{
	size_t ip = ETH_HLEN, alen, udp;
	uint8_t tmp[16];
	bool v6 = pkt_get16(in, 12) == ETH_P_IPV6;

	*w = *in;
	memcpy(w->data, in->data + 6, 6);
	memcpy(w->data + 6, in->data, 6);
	alen = v6 ? 16 : 4;
	ip += v6 ? 8 : 12;
	memcpy(tmp, w->data + ip, alen);
	memcpy(w->data + ip, w->data + ip + alen, alen);
	memcpy(w->data + ip + alen, tmp, alen);
	udp = pkt_off(in, PKT_UDP, 0);
	pkt_put16(w, udp, pkt_get16(in, udp + 2));
	pkt_put16(w, udp + 2, pkt_get16(in, udp));
}

/* The UDP checksum at udp verifies (swapping kept it right). */
static bool udp_csum_ok(const struct pkt *p, size_t udp)
{
	size_t len = p->len - udp;
	bool v6 = pkt_get16(p, 12) == ETH_P_IPV6;
	uint8_t ph[40] = { 0 };
	size_t phl;

	if (v6) {
		memcpy(ph, p->data + ETH_HLEN + 8, 32);
		ph[34] = len >> 8;
		ph[35] = len & 0xff;
		ph[39] = IPPROTO_UDP;
		phl = 40;
	} else {
		memcpy(ph, p->data + ETH_HLEN + 12, 8);
		ph[9] = IPPROTO_UDP;
		ph[10] = len >> 8;
		ph[11] = len & 0xff;
		phl = 12;
	}
	return pkt_csum(p->data + udp, len, ~pkt_csum(ph, phl, 0) & 0xffff) == 0;
}

static void run_case(void **state)
{
	const struct echo_case *c = *state;
	struct pkt in, out, want;

	build(c, &in);
	mgt_dp_check(&env.dp, &in, &out, env.topo.underlay_if, c->reason,
		     c->verdict);
	if (c->want == REFLECTED) {
		want_reflected(&in, &want);
		assert_true(udp_csum_ok(&out, pkt_off(&in, PKT_UDP, 0)));
		if (pkt_get16(&in, 12) == ETH_P_IP)
			assert_true(pkt_ip4_csum_ok(&out, ETH_HLEN));
	} else {
		want = in;
	}
	mgt_expect_packet(&out, &want, &in);
}

int main(void)
{
	if (mgt_netns_topo(&env.topo))
		return 1;
	return mgt_run_table("echo", cases, sizeof(cases) / sizeof(cases[0]),
			     sizeof(cases[0]), run_case, NULL, 0,
			     fixture_setup, fixture_teardown) ? 1 : 0;
}
