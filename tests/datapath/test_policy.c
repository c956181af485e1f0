// SPDX-License-Identifier: GPL-2.0-only
/*
 * Cross-cluster policy in mg_xdp (datapath/policy.h) with the maps
 * compiled by the agent's compiler (agent/policy.c), through
 * BPF_PROG_TEST_RUN: each rule kind (source cluster, source prefix, any;
 * destination prefix, any; protocol; port range) and each verdict, on
 * encapsulation (the destination cluster's policy, before the tunnel) and
 * on decapsulation (ours, again), IPv4 and IPv6, replies of allowed flows
 * (TCP, UDP, ICMP echo), the most specific rule deciding, and rules
 * added and removed between packets of a running flow.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lib/dptest.h"
#include "lib/netns.h"
#include "policy.h"

#define OWN_CID 1
#define TUN4 IP4(192, 0, 2, 1)
#define PEER2 IP4(192, 0, 2, 2) /* cluster 2, IPv4 underlay */
#define CL4 IP4(10, 1, 0, 1)
#define POD4 IP4(10, 1, 0, 5)
#define POD4_B IP4(10, 1, 1, 5) /* outside 10.1.0.0/24 */
#define REMOTE4_2 IP4(10, 2, 0, 9)
#define REMOTE4_2B IP4(10, 2, 1, 9) /* outside 10.2.0.0/24 */
#define REMOTE4_3 IP4(10, 3, 0, 9)

#define A6(...) ((const uint8_t[16]){ __VA_ARGS__ })
#define TUN6 A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 1)
#define PEER3 A6(0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 2)
#define CL6 A6(0xfd, 0, 0, 1, [15] = 1)
#define POD6 A6(0xfd, 0, 0, 1, [15] = 5)
#define REMOTE6_2 A6(0xfd, 0, 0, 2, [15] = 9)
#define REMOTE6_3 A6(0xfd, 0, 0, 3, [15] = 9)

static const uint8_t nh_smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x01 };
static const uint8_t nh_dmac[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x02 };
static const uint8_t pod_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x09 };
static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };

static struct {
	struct mgt_topo topo;
	struct mgt_dp dp;
	struct mg_pol_maps m;
} env;

static void ep4(uint32_t addr, uint32_t plen, uint8_t cid, uint8_t flags)
{
	struct mg_ep4_key k = { plen, addr };
	struct mg_ep_val v = { .cluster_id = cid, .flags = flags };

	mgt_dp_put(&env.dp, "mg_ep4", &k, &v);
	if (flags & MG_EP_F_LOCAL)
		mgt_dp_put(&env.dp, "mg_local4", &k, &v);
}

static void ep6(const uint8_t *addr, uint32_t plen, uint8_t cid, uint8_t flags)
{
	struct mg_ep6_key k = { .prefixlen = plen };
	struct mg_ep_val v = { .cluster_id = cid, .flags = flags };

	memcpy(k.addr, addr, 16);
	mgt_dp_put(&env.dp, "mg_ep6", &k, &v);
	if (flags & MG_EP_F_LOCAL)
		mgt_dp_put(&env.dp, "mg_local6", &k, &v);
}

static int setup(void **state)
{
	struct mg_dp_settings s = {
		.tunnel4 = TUN4,
		.cluster4 = CL4,
		.vxlan_port = MG_VXLAN_PORT_DEFAULT,
		.cluster_id = OWN_CID,
		.nh_table = true,
		.udp6_csum = true,
	};
	struct mg_cluster_val c2 = { .n_gw = 1 }, c3 = { .n_gw = 1 };
	struct mg_nh_val nh = { .ifindex = 1, .mtu = 1500 };
	struct mg_in6 peer3;
	uint32_t cid;

	memcpy(s.tunnel6, TUN6, 16);
	memcpy(s.cluster6, CL6, 16);
	if (mgt_dp_load(&env.dp, &s))
		return -1;
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
	memcpy(nh.dmac, nh_dmac, 6);
	mgt_dp_put(&env.dp, "mg_nh4_v2", &(uint32_t){ PEER2 }, &nh);
	mgt_dp_put(&env.dp, "mg_nh6", &peer3, &nh);

	env.m = (struct mg_pol_maps){
		.dst4 = mgt_dp_map(&env.dp, "mg_pold4"),
		.dst6 = mgt_dp_map(&env.dp, "mg_pold6"),
		.src4 = mgt_dp_map(&env.dp, "mg_pols4"),
		.src6 = mgt_dp_map(&env.dp, "mg_pols6"),
		.port = mgt_dp_map(&env.dp, "mg_polp"),
		.verdict = mgt_dp_map(&env.dp, "mg_polv"),
		.cfg = mgt_dp_map(&env.dp, "mg_polcfg"),
	};
	return 0;
}

static int teardown(void **state)
{
	mgt_dp_destroy(&env.dp);
	return 0;
}

/* --- policies ------------------------------------------------------------ */

static const struct mg_prefix *prefixes_of(uint8_t cid, int *n)
{
	static struct mg_prefix p[4][2];
	char a[32], b[32];

	snprintf(a, sizeof(a), "10.%u.0.0/16", cid);
	snprintf(b, sizeof(b), "fd00:%x::/64", cid);
	assert_int_equal(mg_prefix_parse(a, &p[cid][0]), 0);
	assert_int_equal(mg_prefix_parse(b, &p[cid][1]), 0);
	*n = 2;
	return p[cid];
}

static int resolve(const char *name, void *arg)
{
	(void)arg;
	return atoi(name);
}

/*
 * Compile: each of the n clusters' rules (NULL-ended lines of text),
 * their defaults ("allow"/"deny"), as the agent does.
 */
struct pol {
	uint8_t owner;
	const char *def;
	const char *rules[8];
};

static struct mg_pol_stats compile(const struct pol *p, int n,
				   uint8_t default_out)
{
	struct mg_pol_rule rules[4][8];
	struct mg_pol_set sets[4];
	struct mg_pol_stats st;
	char err[128];
	int i, j;

	for (i = 0; i < n; i++) {
		sets[i] = (struct mg_pol_set){
			.owner = p[i].owner,
			.def_in = (uint8_t)mg_pol_verdict_parse(p[i].def),
			.rules = rules[i],
		};
		sets[i].prefixes = prefixes_of(p[i].owner, &sets[i].n_prefixes);
		for (j = 0; p[i].rules[j]; j++) {
			if (mg_pol_rule_parse(p[i].rules[j], &rules[i][j], err,
					      sizeof(err)))
				fail_msg("%s: %s", p[i].rules[j], err);
		}
		sets[i].n = j;
		assert_int_equal(mg_pol_resolve(&sets[i], resolve, NULL, err,
						sizeof(err)),
				 0);
	}
	assert_int_equal(
		mg_pol_compile(sets, n, default_out, &env.m, NULL, &st), 0);
	return st;
}

static void no_policy(void)
{
	compile(NULL, 0, MG_POL_ALLOW);
}

/* --- packets ------------------------------------------------------------- */

static void l4(struct pkt *p, uint8_t proto, uint16_t sport, uint16_t dport,
	       uint8_t flags)
{
	if (proto == IPPROTO_TCP)
		pkt_tcp(p, sport, dport, flags);
	else if (proto == IPPROTO_UDP)
		pkt_udp(p, sport, dport, true);
	else if (proto == IPPROTO_ICMP)
		pkt_icmp(p, flags, 0, (uint32_t)sport << 16 | 1);
	else
		pkt_icmp6(p, flags, 0, (uint32_t)sport << 16 | 1);
	pkt_data(p, 16, 3);
}

/* A pod's packet to a remote cluster (path 1). */
static void out4(struct pkt *p, uint32_t dst, uint8_t proto, uint16_t sport,
		 uint16_t dport, uint8_t flags)
{
	pkt_init(p);
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD4,
				      .daddr = dst,
				      .proto = proto,
				      .ttl = 64,
				      .frag_off = 0x4000 });
	l4(p, proto, sport, dport, flags);
	pkt_finish(p);
}

static void out6(struct pkt *p, const uint8_t *dst, uint8_t proto,
		 uint16_t sport, uint16_t dport, uint8_t flags)
{
	pkt_init(p);
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, dst, proto, 64);
	l4(p, proto, sport, dport, flags);
	pkt_finish(p);
}

/* A tunnel packet from cluster 2 (IPv4 underlay) to one of our pods. */
static void in4(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
		uint16_t sport, uint16_t dport, uint8_t flags)
{
	const uint8_t mesh[6] = MG_MESH_MAC_INIT(2);
	const uint8_t own[6] = MG_MESH_MAC_INIT(OWN_CID);

	pkt_init(p);
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = PEER2,
				      .daddr = TUN4,
				      .proto = IPPROTO_UDP,
				      .ttl = 64,
				      .frag_off = 0x4000 });
	pkt_udp(p, 51234, MG_VXLAN_PORT_DEFAULT, false);
	pkt_vxlan(p, 0x08000000, 2);
	pkt_eth(p, own, mesh, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = src,
				      .daddr = dst,
				      .proto = proto,
				      .ttl = 63,
				      .frag_off = 0x4000 });
	l4(p, proto, sport, dport, flags);
	pkt_finish(p);
}

/* From cluster 3 (IPv6 underlay), an IPv6 or IPv4 inner packet. */
static void in6(struct pkt *p, const uint8_t *src, uint8_t proto,
		uint16_t sport, uint16_t dport, uint8_t flags)
{
	const uint8_t mesh[6] = MG_MESH_MAC_INIT(3);
	const uint8_t own[6] = MG_MESH_MAC_INIT(OWN_CID);

	pkt_init(p);
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IPV6);
	pkt_ip6(p, PEER3, TUN6, IPPROTO_UDP, 64);
	pkt_udp(p, 51234, MG_VXLAN_PORT_DEFAULT, true);
	pkt_vxlan(p, 0x08000000, 3);
	pkt_eth(p, own, mesh, ETH_P_IPV6);
	pkt_ip6(p, src, POD6, proto, 63);
	l4(p, proto, sport, dport, flags);
	pkt_finish(p);
}

/* What became of p: the one reason counted. */
static enum mg_reason run(const struct pkt *p)
{
	struct mg_stat before[MG_REASON_MAX], after[MG_REASON_MAX];
	enum mg_reason got = MG_REASON_MAX;
	struct pkt out;

	mgt_dp_stats(&env.dp, before);
	mgt_dp_run(&env.dp, p, &out, 0, MGT_COUNTS_ANY);
	mgt_dp_stats(&env.dp, after);
	for (int r = 0; r < MG_REASON_MAX; r++) {
		if (after[r].packets == before[r].packets)
			continue;
		assert_int_equal(after[r].packets - before[r].packets, 1);
		assert_int_equal(got, MG_REASON_MAX);
		got = (enum mg_reason)r;
	}
	return got;
}

#define DENIED(p) assert_int_equal(run(p), MG_DROP_POLICY)
/* Sent on: encapsulated (or clamped), or decapsulated (or to the stack). */
#define SENT(p)                                                       \
	do {                                                          \
		enum mg_reason r_ = run(p);                           \
		if (r_ != MG_ENCAP && r_ != MG_MSS_CLAMPED &&         \
		    r_ != MG_DECAP && r_ != MG_DECAP_STACK)           \
			fail_msg("%s:%d: counted under %d, not sent", \
				 __FILE__, __LINE__, r_);             \
	} while (0)

/* --- rows ---------------------------------------------------------------- */

/* No policy at all: nothing is looked up, everything goes. */
static void t_off(void **state)
{
	struct pkt p;

	no_policy();
	out4(&p, REMOTE4_2, IPPROTO_TCP, 40000, 80, 0x02);
	SENT(&p);
	in4(&p, REMOTE4_2, POD4, IPPROTO_TCP, 40000, 22, 0x02);
	SENT(&p);
}

/* Cluster 2 denies our cluster TCP 80 into 10.2.0.0/16: dropped here. */
static void t_encap_cluster_port4(void **state)
{
	const struct pol p2 = {
		2,
		"allow",
		{ "1 deny from cluster 1 to 10.2.0.0/16 proto tcp port 80",
		  NULL }
	};
	struct pkt p;

	compile(&p2, 1, MG_POL_ALLOW);
	out4(&p, REMOTE4_2, IPPROTO_TCP, 40000, 80, 0x02);
	DENIED(&p);
	out4(&p, REMOTE4_2, IPPROTO_TCP, 40000, 81, 0x02);
	SENT(&p);
	out4(&p, REMOTE4_2, IPPROTO_UDP, 40000, 80, 0);
	SENT(&p);
	/* Cluster 3 has no policy: default_out allow. */
	out4(&p, REMOTE4_3, IPPROTO_TCP, 40000, 80, 0x02);
	SENT(&p);
}

static void t_encap_cluster_port6(void **state)
{
	const struct pol p2 = {
		2,
		"allow",
		{ "1 deny from cluster 1 to fd00:2::/64 proto tcp port 80-90",
		  NULL }
	};
	struct pkt p;

	compile(&p2, 1, MG_POL_ALLOW);
	out6(&p, REMOTE6_2, IPPROTO_TCP, 40000, 85, 0x02);
	DENIED(&p);
	out6(&p, REMOTE6_2, IPPROTO_TCP, 40000, 91, 0x02);
	SENT(&p);
	/* IPv4 to the same cluster: the rule is IPv6 only. */
	out4(&p, REMOTE4_2, IPPROTO_TCP, 40000, 85, 0x02);
	SENT(&p);
}

/* Defaults: a cluster that denies all by default; default_out. */
static void t_defaults(void **state)
{
	const struct pol p2 = { 2, "deny", { NULL } };
	struct pkt p;

	compile(&p2, 1, MG_POL_ALLOW);
	out4(&p, REMOTE4_2, IPPROTO_TCP, 40000, 80, 0x02);
	DENIED(&p);
	out6(&p, REMOTE6_2, IPPROTO_UDP, 40000, 53, 0);
	DENIED(&p);
	out6(&p, REMOTE6_3, IPPROTO_UDP, 40000, 53, 0);
	SENT(&p);
	/* default_out deny: a cluster that published nothing. */
	compile(NULL, 0, MG_POL_DENY);
	out6(&p, REMOTE6_3, IPPROTO_UDP, 40000, 53, 0);
	DENIED(&p);
}

/* Ours on decap: default deny, cluster 2 allowed TCP 80-90 to a /24. */
static void t_decap_cluster4(void **state)
{
	const struct pol p1 = {
		1,
		"deny",
		{ "5 allow from cluster 2 to 10.1.0.0/24 proto tcp port 80-90",
		  NULL }
	};
	struct pkt p;

	compile(&p1, 1, MG_POL_ALLOW);
	in4(&p, REMOTE4_2, POD4, IPPROTO_TCP, 40000, 80, 0x02);
	SENT(&p);
	in4(&p, REMOTE4_2, POD4, IPPROTO_TCP, 40000, 91, 0x02);
	DENIED(&p);
	in4(&p, REMOTE4_2, POD4_B, IPPROTO_TCP, 40000, 80, 0x02);
	DENIED(&p);
	in4(&p, REMOTE4_2, POD4, IPPROTO_UDP, 40000, 80, 0);
	DENIED(&p);
}

/* Cluster 3 over IPv6: not the cluster the rule names. */
static void t_decap_cluster6(void **state)
{
	const struct pol p1 = {
		1,
		"deny",
		{ "5 allow from cluster 2 to any proto tcp",
		  "6 allow from cluster 3 to fd00:1::/64 proto icmp", NULL }
	};
	struct pkt p;

	compile(&p1, 1, MG_POL_ALLOW);
	in6(&p, REMOTE6_3, IPPROTO_TCP, 40000, 80, 0x02);
	DENIED(&p);
	in6(&p, REMOTE6_3, IPPROTO_ICMPV6, 7, 0, 128);
	SENT(&p);
}

/* Source prefixes, and the longest one deciding. */
static void t_src_prefix(void **state)
{
	const struct pol p1 = { 1,
				"deny",
				{ "7 allow from 10.2.0.0/16 to any",
				  "8 deny from 10.2.1.0/24 to any", NULL } };
	const struct pol p3 = {
		1,
		"allow",
		{ "9 deny from fd00:3::/64 to any proto tcp port 22", NULL }
	};
	struct pkt p;

	compile(&p1, 1, MG_POL_ALLOW);
	in4(&p, REMOTE4_2, POD4, IPPROTO_TCP, 40000, 80, 0x02);
	SENT(&p);
	in4(&p, REMOTE4_2B, POD4, IPPROTO_TCP, 40000, 80, 0x02);
	/* 10.2.1.9 is cluster 2's: the prefix rule denies it. */
	DENIED(&p);
	compile(&p3, 1, MG_POL_ALLOW);
	in6(&p, REMOTE6_3, IPPROTO_TCP, 40000, 22, 0x02);
	DENIED(&p);
	in6(&p, REMOTE6_3, IPPROTO_TCP, 40000, 23, 0x02);
	SENT(&p);
}

/* The most specific rule decides: a /24 allow inside a /16 deny. */
static void t_most_specific(void **state)
{
	const struct pol p2 = {
		2,
		"allow",
		{ "1 deny from any to 10.2.0.0/16",
		  "2 allow from cluster 1 to 10.2.0.0/24 proto tcp port 443",
		  "3 deny from cluster 1 to 10.2.0.9/32 proto tcp port 443",
		  NULL }
	};
	struct pkt p;

	compile(&p2, 1, MG_POL_ALLOW);
	out4(&p, IP4(10, 2, 0, 8), IPPROTO_TCP, 40000, 443, 0x02);
	SENT(&p);
	out4(&p, IP4(10, 2, 0, 8), IPPROTO_TCP, 40000, 80, 0x02);
	DENIED(&p);
	out4(&p, REMOTE4_2, IPPROTO_TCP, 40000, 443, 0x02);
	DENIED(&p);
	out4(&p, REMOTE4_2B, IPPROTO_TCP, 40000, 443, 0x02);
	DENIED(&p);
}

/*
 * Replies of allowed flows: ours denies everything into us, cluster 2
 * allows everything; our pods' flows to it get their answers.
 */
static void t_replies(void **state)
{
	const struct pol pols[] = { { 1, "deny", { NULL } },
				    { 2, "allow", { NULL } } };
	struct pkt p;

	compile(pols, 2, MG_POL_ALLOW);
	/* Unsolicited: denied. */
	in4(&p, REMOTE4_2, POD4, IPPROTO_TCP, 80, 40001, 0x12);
	DENIED(&p);
	/* TCP: the SYN out, then the SYN-ACK and data back. */
	out4(&p, REMOTE4_2, IPPROTO_TCP, 40001, 80, 0x02);
	SENT(&p);
	in4(&p, REMOTE4_2, POD4, IPPROTO_TCP, 80, 40001, 0x12);
	SENT(&p);
	in4(&p, REMOTE4_2, POD4, IPPROTO_TCP, 80, 40001, 0x18);
	SENT(&p);
	/* Not the same flow: another port. */
	in4(&p, REMOTE4_2, POD4, IPPROTO_TCP, 80, 40002, 0x12);
	DENIED(&p);
	/* A SYN of the peer's own with the reply's ports opens nothing. */
	in4(&p, REMOTE4_2, POD4, IPPROTO_TCP, 81, 40001, 0x02);
	DENIED(&p);
	/* UDP. */
	out4(&p, REMOTE4_2, IPPROTO_UDP, 5353, 53, 0);
	SENT(&p);
	in4(&p, REMOTE4_2, POD4, IPPROTO_UDP, 53, 5353, 0);
	SENT(&p);
	in4(&p, REMOTE4_2, POD4, IPPROTO_UDP, 53, 5354, 0);
	DENIED(&p);
	/* ICMP echo over IPv6: the request out, its reply back. */
	in6(&p, REMOTE6_3, IPPROTO_ICMPV6, 77, 0, 129);
	DENIED(&p);
	out6(&p, REMOTE6_3, IPPROTO_ICMPV6, 77, 0, 128);
	SENT(&p);
	in6(&p, REMOTE6_3, IPPROTO_ICMPV6, 77, 0, 129);
	SENT(&p);
	/* And a new request from the peer is still no reply. */
	in6(&p, REMOTE6_3, IPPROTO_ICMPV6, 77, 0, 128);
	DENIED(&p);
}

/*
 * Rules added and removed while a flow runs: each packet sees the policy
 * of the moment, and a recompile leaves no entry of the old one behind.
 */
static void t_live_changes(void **state)
{
	const struct pol allow = { 2, "allow", { NULL } };
	const struct pol deny = {
		2,
		"allow",
		{ "4 deny from cluster 1 to 10.2.0.0/24 proto udp port 4000-4100",
		  NULL }
	};
	struct mg_pol_stats st;
	struct mg_pol_key k, nk;
	struct pkt p;
	int n;

	for (int round = 0; round < 3; round++) {
		compile(&allow, 1, MG_POL_ALLOW);
		out4(&p, REMOTE4_2, IPPROTO_UDP, 5000, 4050, 0);
		SENT(&p);
		st = compile(&deny, 1, MG_POL_ALLOW);
		out4(&p, REMOTE4_2, IPPROTO_UDP, 5000, 4050, 0);
		DENIED(&p);
		/* Exactly what this compile made is in the maps. */
		n = 0;
		for (void *prev = NULL;
		     !bpf_map_get_next_key(env.m.verdict, prev, &nk);
		     prev = &k, k = nk)
			n++;
		assert_int_equal(n, st.verdicts);
	}
	compile(&allow, 1, MG_POL_ALLOW);
	out4(&p, REMOTE4_2, IPPROTO_UDP, 5000, 4050, 0);
	SENT(&p);
}

/* --- the rules' text and conflicts (no packets) -------------------------- */

static void t_text(void **state)
{
	static const char *const good[] = {
		"1 allow from any to any proto any",
		"2 deny from cluster b to 10.2.0.0/16 proto tcp port 80",
		"3 allow from 10.3.0.0/24 to 10.0.0.0/8 proto udp port 53-54",
	};
	static const char *const bad[] = {
		"0 allow",
		"x allow",
		"1 permit",
		"1 allow from",
		"1 allow to 10.0.0.1/8",
		"1 allow proto sctp",
		"1 allow port 80",
		"1 allow proto tcp port 90-80",
		"1 allow from 10.0.0.0/8 to fd00::/8",
		"1 allow via x",
	};
	struct mg_pol_rule r, r2;
	char buf[MG_POL_TEXT_MAX], err[128];

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(
			mg_pol_rule_parse(good[i], &r, err, sizeof(err)), 0);
		mg_pol_rule_str(&r, buf, sizeof(buf));
		assert_string_equal(buf, good[i]);
		assert_int_equal(mg_pol_rule_parse(buf, &r2, err, sizeof(err)),
				 0);
		assert_memory_equal(&r, &r2, sizeof(r));
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!mg_pol_rule_parse(bad[i], &r, err, sizeof(err)))
			fail_msg("'%s' taken", bad[i]);
}

static void t_conflicts(void **state)
{
	static const char *const text[] = {
		"1 allow from cluster 2 to 10.1.0.0/16 proto tcp port 80",
		"2 allow from cluster 2 to 10.1.0.0/16 proto tcp port 80",
		"3 deny from cluster 2 to 10.1.0.0/16 proto tcp port 80",
		"4 deny from cluster 2 to 10.1.0.0/16 proto tcp port 70-85",
		"5 allow from cluster 3 to 10.1.0.0/16 proto tcp port 70-85",
		"6 allow from any to 10.9.0.0/16",
	};
	struct mg_pol_rule rules[6];
	struct mg_pol_set set = {
		.owner = 1, .def_in = MG_POL_ALLOW, .rules = rules, .n = 6
	};
	char err[128], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	for (int i = 0; i < 6; i++)
		assert_int_equal(mg_pol_rule_parse(text[i], &rules[i], err,
						   sizeof(err)),
				 0);
	set.prefixes = prefixes_of(1, &set.n_prefixes);
	assert_int_equal(mg_pol_conflicts(&set, f), 6);
	fclose(f);
	assert_non_null(strstr(buf, "rule 1 shadows rule 2"));
	assert_non_null(strstr(buf, "rules 1 and 3 conflict: the same match"));
	assert_non_null(strstr(buf, "rules 2 and 4 conflict on ports 80-80"));
	assert_non_null(strstr(buf, "rule 6 matches nothing"));
	free(buf);
}

/*
 * Destination classes by prefix length (a hash per length in use): nested
 * IPv6 destinations at /64, /65 (a mask within a word), /120 and /128, the
 * longest holding the address deciding, and a length gone after a
 * recompile no longer matching.
 */
static void t_nested6(void **state)
{
	const struct pol p2 = {
		2,
		"allow",
		{ "1 deny from any to fd00:2::/64 proto tcp",
		  "2 allow from any to fd00:2::/120 proto tcp port 443",
		  "3 deny from any to fd00:2::9/128 proto tcp port 443",
		  "4 allow from any to fd00:2:0:0:8000::/65 proto tcp", NULL }
	};
	const struct pol p2b = {
		2, "allow", { "1 deny from any to fd00:2::/64 proto tcp", NULL }
	};
	struct pkt p;

	compile(&p2, 1, MG_POL_ALLOW);
	out6(&p, REMOTE6_2, IPPROTO_TCP, 46000, 443, 0x02);
	DENIED(&p); /* rule 3, /128 */
	out6(&p, A6(0xfd, 0, 0, 2, [15] = 8), IPPROTO_TCP, 46000, 443, 0x02);
	SENT(&p); /* rule 2, /120 */
	out6(&p, A6(0xfd, 0, 0, 2, [15] = 8), IPPROTO_TCP, 46000, 80, 0x02);
	DENIED(&p); /* /120's class, rule 1 of the /64 holding it */
	out6(&p, A6(0xfd, 0, 0, 2, [14] = 1, [15] = 8), IPPROTO_TCP, 46000, 443,
	     0x02);
	DENIED(&p); /* outside the /120: rule 1 */
	out6(&p, A6(0xfd, 0, 0, 2, [8] = 0x80, [15] = 5), IPPROTO_TCP, 46000,
	     80, 0x02);
	SENT(&p); /* rule 4, /65 */
	out6(&p, A6(0xfd, 0, 0, 2, [8] = 0x40, [15] = 5), IPPROTO_TCP, 46000,
	     80, 0x02);
	DENIED(&p); /* the other half of the /64 */
	out6(&p, A6(0xfd, 0, 0, 2, [15] = 8), IPPROTO_UDP, 46000, 53, 0);
	SENT(&p); /* no rule: the default */
	/* The /65, /120 and /128 gone: the /64 decides everywhere. */
	compile(&p2b, 1, MG_POL_ALLOW);
	out6(&p, A6(0xfd, 0, 0, 2, [8] = 0x80, [15] = 5), IPPROTO_TCP, 46001,
	     80, 0x02);
	DENIED(&p);
	out6(&p, A6(0xfd, 0, 0, 2, [15] = 8), IPPROTO_TCP, 46001, 443, 0x02);
	DENIED(&p);
}

/* --- the drop stream ----------------------------------------------------- */

static struct mg_event ev_last;
static int ev_n;

static int on_event(void *ctx, void *data, size_t size)
{
	(void)ctx;
	if (size >= sizeof(ev_last))
		memcpy(&ev_last, data, sizeof(ev_last));
	ev_n++;
	return 0;
}

/* The one event p's drop put in rb: its reason and rule. */
static void denied_by(struct ring_buffer *rb, const struct pkt *p,
		      uint32_t rule)
{
	DENIED(p);
	ev_n = 0;
	assert_true(ring_buffer__consume(rb) >= 0);
	assert_int_equal(ev_n, 1);
	assert_int_equal(ev_last.reason, MG_DROP_POLICY);
	assert_int_equal(ev_last.type, MG_EV_DROP);
	assert_int_equal(ev_last.rule, rule);
}

/*
 * A policy drop's event names the rule that denied it (the most specific
 * one), or 0 when it was a default; events of other reasons carry none.
 */
static void t_event_rule(void **state)
{
	const struct pol p2 = {
		2,
		"deny",
		{ "7 deny from any to 10.2.0.0/16 proto udp",
		  "1000 allow from cluster 1 to 10.2.0.0/24 proto tcp port 443",
		  "16777215 deny from cluster 1 to 10.2.0.9/32 proto tcp port 443",
		  NULL }
	};
	struct mg_ev_cfg c = { .mask = 1ULL << MG_DROP_POLICY };
	int ring, evcfg = mgt_dp_map(&env.dp, "mg_evcfg");
	struct ring_buffer *rb;
	__u32 zero = 0;
	struct pkt p;

	ring = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "mg_evring", 0, 0,
			      MG_EV_RING_BYTES, NULL);
	assert_true(ring >= 0);
	assert_int_equal(bpf_map_update_elem(mgt_dp_map(&env.dp, "mg_evrings"),
					     &zero, &ring, BPF_ANY),
			 0);
	rb = ring_buffer__new(ring, on_event, NULL, NULL);
	assert_non_null(rb);
	c.listener[0].pid = 1;
	c.listener[0].mask = c.mask;
	mgt_map_put(evcfg, &zero, &c);

	compile(&p2, 1, MG_POL_ALLOW);
	out4(&p, IP4(10, 2, 0, 8), IPPROTO_TCP, 47000, 443, 0x02);
	SENT(&p);
	out4(&p, REMOTE4_2, IPPROTO_TCP, 47000, 443, 0x02);
	denied_by(rb, &p, 16777215);
	out4(&p, IP4(10, 2, 0, 8), IPPROTO_UDP, 47000, 53, 0);
	denied_by(rb, &p, 7);
	/* No rule: the class's default (deny), no rule id. */
	out4(&p, IP4(10, 2, 0, 8), IPPROTO_TCP, 47000, 80, 0x02);
	denied_by(rb, &p, 0);
	/* A rule again, after a default: not a stale id. */
	out4(&p, REMOTE4_2, IPPROTO_TCP, 47001, 443, 0x02);
	denied_by(rb, &p, 16777215);
	/* The same on decap: ours denies cluster 2's UDP by rule 9. */
	{
		const struct pol p1 = {
			1,
			"allow",
			{ "9 deny from cluster 2 to 10.1.0.0/16 proto udp",
			  NULL }
		};

		compile(&p1, 1, MG_POL_ALLOW);
		in4(&p, REMOTE4_2, POD4, IPPROTO_UDP, 47053, 47353, 0);
		denied_by(rb, &p, 9);
	}

	memset(&c, 0, sizeof(c));
	mgt_map_put(evcfg, &zero, &c);
	ring_buffer__free(rb);
	close(ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_off),
		cmocka_unit_test(t_encap_cluster_port4),
		cmocka_unit_test(t_encap_cluster_port6),
		cmocka_unit_test(t_defaults),
		cmocka_unit_test(t_decap_cluster4),
		cmocka_unit_test(t_decap_cluster6),
		cmocka_unit_test(t_src_prefix),
		cmocka_unit_test(t_most_specific),
		cmocka_unit_test(t_replies),
		cmocka_unit_test(t_live_changes),
		cmocka_unit_test(t_text),
		cmocka_unit_test(t_conflicts),
		cmocka_unit_test(t_event_rule),
		cmocka_unit_test(t_nested6),
	};

	if (mgt_netns_topo(&env.topo))
		return 1;
	return cmocka_run_group_tests_name("policy", tests, setup, teardown) ?
		       1 :
		       0;
}
