// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TC egress program (datapath/tc.bpf.c): what the gateway host itself
 * sends into its host device, run through BPF_PROG_TEST_RUN.  It shares
 * the packet logic with XDP (datapath/path.h over ctx.h), so most rows
 * send one frame through XDP, as if a pod had sent it to the cluster
 * side, and then through TC, and want the same bytes out of both (XDP's
 * output is itself checked field by field in test_xdp, test_xdp6 and
 * test_lb); each run checks its verdict and that exactly one counter
 * moved.  The rows that differ by design check the difference: the ICMP
 * error for a packet too big goes back into the host from the address
 * the packet was for (the kernel drops what comes in from one of its own
 * addresses), and the host's own addresses are the kernel's.
 *
 * The mesh: we are cluster 1 (10.1/16 and fd00:1::/64; our cluster-side
 * address 10.1.0.1 is the host's source); cluster 2 (10.2/16, fd00:2::/64)
 * has one gateway, PEER2, over the IPv4 underlay.  Services on VIP: port
 * 80 to R1 in cluster 2, port 81 to L1 (10.1.0.5) here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lib/dptest.h"
#include "lib/netns.h"

#define OWN_CID		1
#define TUN		IP4(192, 0, 2, 1)
#define PEER2		IP4(192, 0, 2, 2)
#define HOST		IP4(10, 1, 0, 1)	/* cluster-side address */
#define POD2		IP4(10, 2, 0, 11)
#define VIP		IP4(10, 96, 0, 10)
#define R1		IP4(10, 2, 0, 20)
#define L1		IP4(10, 1, 0, 5)	/* neighbour known */
#define NOWHERE		IP4(10, 9, 0, 1)
#define POD4		IP4(10, 4, 0, 11)	/* cluster 4: an IPv6 gateway */
#define VXLAN_PORT	4789
#define HOST_DEV	"mgt0"

static const uint8_t HOST6[16] = { 0xfd, 0, 0, 1, [15] = 1 };
static const uint8_t POD6_2[16] = { 0xfd, 0, 0, 2, [15] = 0x11 };
static const uint8_t VIP6[16] = { 0xfd, 0, 0, 0x96, [15] = 0x10 };
static const uint8_t R1_6[16] = { 0xfd, 0, 0, 2, [15] = 0x20 };
static const uint8_t L1_6[16] = { 0xfd, 0, 0, 1, [15] = 5 };	/* neighbour known */
static const uint8_t nh_smac[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x01 };
static const uint8_t nh_dmac2[6] = { 0x02, 0x00, 0x00, 0x00, 0x5e, 0x02 };
static const uint8_t TUN6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 1 };
static const uint8_t PEER4_6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0f, [15] = 4 };
static const uint8_t POD6_4[16] = { 0xfd, 0, 0, 4, [15] = 0x11 };
static const uint8_t host_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x77 };

enum { BE_R1, BE_L1, BE_R1_6, BE_L1_6 };

static struct {
	struct mgt_topo topo;
	struct mgt_dp dp;
	int host_if;
} env;

/* --- maps ----------------------------------------------------------------- */

static void service(uint16_t port, uint32_t id, uint32_t slot, uint32_t addr,
		    uint8_t cid, uint8_t flags)
{
	struct mg_svc_key k = { .vip = VIP, .port = htons(port),
				.proto = IPPROTO_TCP };
	struct mg_svc_val v = { .id = id };
	struct mg_lb_backend b = { .addr = addr, .port = htons(8080),
				   .cluster_id = cid, .flags = flags,
				   .gen = 1 };
	struct mg_lbrev_key rk = { .addr = addr, .port = htons(8080),
				   .proto = IPPROTO_TCP };
	struct mg_lbrev_val rv = { .svc = { { .vip = VIP,
					      .vport = htons(port) } } };

	mgt_dp_put(&env.dp, "mg_svc", &k, &v);
	mgt_dp_put(&env.dp, "mg_lbbe", &slot, &b);
	mgt_dp_put(&env.dp, "mg_lbrev", &rk, &rv);
	mgt_ring_set(&env.dp, id, slot);
}

static void service6(uint16_t port, uint32_t id, uint32_t slot,
		     const uint8_t *addr, uint8_t cid, uint8_t flags)
{
	struct mg_svc6_key k = { .port = htons(port), .proto = IPPROTO_TCP };
	struct mg_svc_val v = { .id = id };
	struct mg_lb_backend6 b = { .port = htons(8080), .cluster_id = cid,
				    .flags = flags, .gen = 1 };
	struct mg_lbrev6_key rk = { .port = htons(8080),
				    .proto = IPPROTO_TCP };
	struct mg_lbrev6_val rv = { 0 };

	memcpy(k.vip, VIP6, 16);
	memcpy(b.addr, addr, 16);
	memcpy(rk.addr, addr, 16);
	memcpy(rv.svc[0].vip, VIP6, 16);
	rv.svc[0].vport = htons(port);
	mgt_dp_put(&env.dp, "mg_svc6", &k, &v);
	mgt_dp_put(&env.dp, "mg_lbbe6", &slot, &b);
	mgt_dp_put(&env.dp, "mg_lbrev6", &rk, &rv);
	mgt_ring_set(&env.dp, id, slot);
}

static void maps_setup(void)
{
	struct mg_ep4_key k1 = { 16, IP4(10, 1, 0, 0) };
	struct mg_ep4_key k2 = { 16, IP4(10, 2, 0, 0) };
	struct mg_ep6_key k61 = { .prefixlen = 64 }, k62 = { .prefixlen = 64 };
	struct mg_ep_val v1 = { .cluster_id = 1, .flags = MG_EP_F_LOCAL };
	struct mg_ep_val v2 = { .cluster_id = 2 };
	struct mg_cluster_val cv = { .n_gw = 1 };
	struct mg_nh_val nv = { .ifindex = env.topo.underlay_if, .mtu = 1500 };
	uint32_t cid = 2;

	mgt_dp_put(&env.dp, "mg_ep4", &k1, &v1);
	mgt_dp_put(&env.dp, "mg_ep4", &k2, &v2);
	memcpy(k61.addr, HOST6, 8);
	memcpy(k62.addr, POD6_2, 8);
	mgt_dp_put(&env.dp, "mg_ep6", &k61, &v1);
	mgt_dp_put(&env.dp, "mg_ep6", &k62, &v2);
	cv.gw[0].family = MG_AF_INET;
	cv.gw[0].addr[0] = PEER2;
	mgt_dp_put(&env.dp, "mg_clus", &cid, &cv);
	mgt_dp_put(&env.dp, "mg_peer4", &(uint32_t){ PEER2 },
		   &(struct mg_peer_val){ 2, { 0 } });
	memcpy(nv.smac, nh_smac, 6);
	memcpy(nv.dmac, nh_dmac2, 6);
	mgt_dp_put(&env.dp, "mg_nh4_v2", &(uint32_t){ PEER2 }, &nv);

	/* Cluster 4 over the IPv6 underlay. */
	k2.addr = IP4(10, 4, 0, 0);
	v2.cluster_id = cid = 4;
	mgt_dp_put(&env.dp, "mg_ep4", &k2, &v2);
	memcpy(k62.addr, POD6_4, 8);
	mgt_dp_put(&env.dp, "mg_ep6", &k62, &v2);
	cv.gw[0].family = MG_AF_INET6;
	memcpy(cv.gw[0].addr, PEER4_6, 16);
	mgt_dp_put(&env.dp, "mg_clus", &cid, &cv);
	mgt_dp_put(&env.dp, "mg_nh6", (const struct mg_in6 *)PEER4_6, &nv);
	service(80, 0, BE_R1, R1, 2, MG_LB_BE_F_LIVE);
	service(81, 1, BE_L1, L1, 1, MG_LB_BE_F_LIVE | MG_LB_BE_F_LOCAL);
	service6(80, 2, BE_R1_6, R1_6, 2, MG_LB_BE_F_LIVE);
	service6(81, 3, BE_L1_6, L1_6, 1, MG_LB_BE_F_LIVE | MG_LB_BE_F_LOCAL);
}

static int setup(void **state)
{
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.cluster4 = HOST,
		.vxlan_port = VXLAN_PORT,
		.cluster_id = OWN_CID,
		.nh_table = true,
		.udp6_csum = true,
	};

	memcpy(s.cluster6, HOST6, 16);
	memcpy(s.tunnel6, TUN6, 16);
	if (mgt_netns_topo(&env.topo))
		return -1;
	/* The host device as the agent makes it where there is no dummy. */
	if (mgt_sh("ip link add " HOST_DEV " type veth peer name "
		   HOST_DEV "p && ip link set " HOST_DEV "p up && "
		   "ip link set " HOST_DEV " arp off up"))
		return -1;
	env.host_if = if_nametoindex(HOST_DEV);
	if (!env.host_if || mgt_dp_load(&env.dp, &s))
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

/* What the host sends into its device: MACs both the device's own. */
static void host4(struct pkt *p, uint32_t src, uint32_t dst, uint8_t proto,
		  uint16_t sport, uint16_t dport, size_t payload)
{
	pkt_init(p);
	pkt_eth(p, host_mac, host_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = src, .daddr = dst,
				      .proto = proto, .ttl = 64,
				      .id = 0x4321, .frag_off = 0x4000 });
	if (proto == IPPROTO_TCP)	/* a SYN to a VIP: it opens a flow */
		pkt_tcp(p, sport, dport, dst == VIP ? 0x02 : 0x18);
	else
		pkt_udp(p, sport, dport, true);
	pkt_data(p, payload, proto);
	pkt_finish(p);
}

static void host6n(struct pkt *p, const uint8_t *src, const uint8_t *dst,
		   uint8_t proto, uint16_t sport, uint16_t dport,
		   size_t payload)
{
	pkt_init(p);
	pkt_eth(p, host_mac, host_mac, ETH_P_IPV6);
	pkt_ip6(p, src, dst, proto, 64);
	if (proto == IPPROTO_TCP)
		pkt_tcp(p, sport, dport, memcmp(dst, VIP6, 16) ? 0x18 : 0x02);
	else
		pkt_udp(p, sport, dport, true);
	pkt_data(p, payload, 6);
	pkt_finish(p);
}

static void host6(struct pkt *p, const uint8_t *src, const uint8_t *dst,
		  uint16_t sport, uint16_t dport)
{
	host6n(p, src, dst, IPPROTO_TCP, sport, dport, 40);
}

/* --- same as XDP ---------------------------------------------------------- */

struct same_row {
	const char *name;
	void (*in)(struct pkt *p);
	enum mg_reason reason;
	int xdp_verdict;
};

static void in_tcp(struct pkt *p) { host4(p, HOST, POD2, IPPROTO_TCP, 40001, 22, 64); }
static void in_udp(struct pkt *p) { host4(p, HOST, POD2, IPPROTO_UDP, 40002, 53, 64); }
static void in_over6(struct pkt *p) { host4(p, HOST, POD4, IPPROTO_TCP, 40003, 22, 33); }
static void in_v6(struct pkt *p) { host6(p, HOST6, POD6_2, 40100, 22); }
static void in_vip6_remote(struct pkt *p) { host6(p, HOST6, VIP6, 40101, 80); }
static void in_vip6_local(struct pkt *p) { host6(p, HOST6, VIP6, 40102, 81); }
static void in_vip_remote(struct pkt *p)
{
	host4(p, HOST, VIP, IPPROTO_TCP, 40003, 80, 32);
}
static void in_vip_local(struct pkt *p)
{
	host4(p, HOST, VIP, IPPROTO_TCP, 40004, 81, 32);
}

static const struct same_row same_rows[] = {
	{ "host tcp to a remote pod: encapsulated as XDP does", in_tcp,
	  MG_ENCAP, XDP_REDIRECT },
	{ "host udp to a remote pod: encapsulated as XDP does", in_udp,
	  MG_ENCAP, XDP_REDIRECT },
	{ "host ipv6 to a remote pod: encapsulated as XDP does", in_v6,
	  MG_ENCAP, XDP_REDIRECT },
	{ "host tcp over an ipv6 underlay: with the outer checksum XDP sums",
	  in_over6, MG_ENCAP, XDP_REDIRECT },
	{ "host to a VIP, remote backend: DNAT and encapsulated as XDP does",
	  in_vip_remote, MG_ENCAP, XDP_REDIRECT },
	{ "host to a VIP, local backend: DNAT, SNAT, routed as XDP does",
	  in_vip_local, MG_LB_LOCAL, XDP_REDIRECT },
	{ "host to an IPv6 VIP, remote backend: as XDP does",
	  in_vip6_remote, MG_ENCAP, XDP_REDIRECT },
	{ "host to an IPv6 VIP, local backend: as XDP does",
	  in_vip6_local, MG_LB_LOCAL, XDP_REDIRECT },
};

static void run_same(void **state)
{
	const struct same_row *r = *state;
	struct pkt in, xdp_in, xdp_out, tc_out;
	char why[160];
	int v;

	r->in(&in);
	/* XDP first: a service flow is tracked, TC then finds its entry. */
	xdp_in = in;
	memcpy(xdp_in.data, mgt_cluster_mac, 6);	/* to the cluster side */
	v = mgt_dp_run(&env.dp, &xdp_in, &xdp_out, env.topo.cluster_if,
		       r->reason);
	if (v != r->xdp_verdict)
		fail_msg("XDP verdict %s, want %s", mgt_verdict_name(v),
			 mgt_verdict_name(r->xdp_verdict));
	v = mgt_dp_run_tc(&env.dp, &in, &tc_out, env.host_if, r->reason);
	if (v != TC_ACT_REDIRECT)
		fail_msg("TC verdict %d, want TC_ACT_REDIRECT", v);
	/* Not the input: something was done to it. */
	if (tc_out.len == in.len && !memcmp(tc_out.data, in.data, in.len))
		fail_msg("TC sent the packet on unchanged");
	mgt_expect_packet(&tc_out, &xdp_out, &in);
	if (pkt_verify_csums(&tc_out, VXLAN_PORT, false, why, sizeof(why)))
		fail_msg("checksums: %s", why);
}

/* --- what differs --------------------------------------------------------- */

/*
 * In no map: nothing but the mesh is routed here, so the maps had no room
 * for its prefix (mg_ep4 full).  Dropped and counted, not passed on.  A
 * multicast packet (the host's IGMP, say) is not the mesh's: left.
 */
static void t_no_room(void **state)
{
	struct pkt in, out;
	int v;

	host4(&in, HOST, NOWHERE, IPPROTO_TCP, 40010, 22, 16);
	v = mgt_dp_run_tc(&env.dp, &in, &out, env.host_if, MG_DROP_NO_ROOM);
	assert_int_equal(v, TC_ACT_SHOT);
	host4(&in, HOST, IP4(224, 0, 0, 22), IPPROTO_UDP, 40010, 22, 16);
	v = mgt_dp_run_tc(&env.dp, &in, &out, env.host_if, MG_PASS);
	assert_int_equal(v, TC_ACT_OK);
	mgt_expect_packet(&out, &in, &in);
}

/*
 * Counted once per gateway: what the kernel took in on an interface XDP
 * runs on was counted there, so TC, through which the kernel routes it
 * on, counts nothing more, whatever it does (here: an encapsulation);
 * from an interface XDP does not run on (mgc1), TC counts.  A pod's
 * packet for a prefix the maps had no room for, which XDP passed, ends
 * counted once, under no_room.
 */
static void t_forwarded_counted_once(void **state)
{
	struct mg_stat before[MG_REASON_MAX], after[MG_REASON_MAX];
	struct pkt in, xdp_in, out;
	int v;

	host4(&in, L1, NOWHERE, IPPROTO_TCP, 40013, 22, 16);
	xdp_in = in;
	memcpy(xdp_in.data, mgt_cluster_mac, 6);
	mgt_dp_stats(&env.dp, before);
	v = mgt_dp_run(&env.dp, &xdp_in, &out, env.topo.cluster_if, MG_PASS);
	assert_int_equal(v, XDP_PASS);
	v = mgt_dp_run_tc_fwd(&env.dp, &in, &out, env.host_if,
			      env.topo.cluster_if, MGT_COUNTS_ANY);
	assert_int_equal(v, TC_ACT_SHOT);
	mgt_dp_stats(&env.dp, after);
	for (int r = 0; r < MG_REASON_MAX; r++)
		assert_int_equal(after[r].packets - before[r].packets,
				 r == MG_DROP_NO_ROOM);

	in_tcp(&in);
	v = mgt_dp_run_tc_fwd(&env.dp, &in, &out, env.host_if,
			      env.topo.cluster_if, MGT_COUNTS_NONE);
	assert_int_equal(v, TC_ACT_REDIRECT);
	v = mgt_dp_run_tc_fwd(&env.dp, &in, &out, env.host_if,
			      if_nametoindex("mgc1"), MG_ENCAP);
	assert_int_equal(v, TC_ACT_REDIRECT);
}

/*
 * Every checksum of what TC sends, over every length of the host's TCP and
 * UDP (IPv4 and IPv6) to a pod behind an IPv6 underlay, checked against a plain sum
 * (pkt_verify_csums): the outer UDP checksum, derived from the inner one,
 * up to what fits; past that the ICMP error back into the host.
 */
static void t_csum_sweep(void **state)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	struct pkt in, out;
	char why[160];

	for (size_t k = 0; k < 2 * sizeof(protos); k++) {
		bool v6 = k >= sizeof(protos);
		uint8_t proto = protos[k % sizeof(protos)];
		size_t hdrs = (v6 ? 40 : 20) + (proto == IPPROTO_TCP ? 20 : 8);

		for (size_t l3 = hdrs; l3 <= 1500; l3++) {
			bool fits = l3 + 70 <= 1500;
			int v;

			if (v6)
				host6n(&in, HOST6, POD6_4, proto, 40020, 22,
				       l3 - hdrs);
			else
				host4(&in, HOST, POD4, proto, 40020, 22,
				      l3 - hdrs);
			v = mgt_dp_run_tc(&env.dp, &in, &out, env.host_if,
					  fits ? MG_ENCAP : v6 ?
					  MG_ICMP6_TOO_BIG :
					  MG_ICMP_FRAG_NEEDED);
			assert_int_equal(v, TC_ACT_REDIRECT);
			if (pkt_verify_csums(&out, VXLAN_PORT, false, why,
					     sizeof(why)))
				fail_msg("ipv%d proto %u, l3 length %zu: %s",
					 v6 ? 6 : 4, proto, l3, why);
		}
	}
}

/* From an address outside the cluster's prefixes: peers would drop it. */
static void t_foreign_source(void **state)
{
	struct pkt in, out;
	int v;

	host4(&in, TUN, POD2, IPPROTO_TCP, 40011, 22, 16);
	v = mgt_dp_run_tc(&env.dp, &in, &out, env.host_if,
			  MG_DROP_SRC_FOREIGN);
	assert_int_equal(v, TC_ACT_SHOT);
}

/*
 * Too big for the tunnel, DF set: the ICMP error goes back into the host
 * (a redirect to the device's ingress), from the remote pod's address.
 * XDP's answer to the same packet is the same error from our cluster-side
 * address, checked byte by byte in test_xdp: the two differ in the source
 * and the IPv4 header checksum only.
 */
static void t_too_big(void **state)
{
	struct pkt in, xdp_in, xdp_out, tc_out;
	size_t ip;
	int v;

	host4(&in, HOST, POD2, IPPROTO_UDP, 40012, 53, 1500 - 20 - 8);
	xdp_in = in;
	memcpy(xdp_in.data, mgt_cluster_mac, 6);	/* to the cluster side */
	v = mgt_dp_run(&env.dp, &xdp_in, &xdp_out, env.topo.cluster_if,
		       MG_ICMP_FRAG_NEEDED);
	assert_int_equal(v, XDP_REDIRECT);
	v = mgt_dp_run_tc(&env.dp, &in, &tc_out, env.host_if,
			  MG_ICMP_FRAG_NEEDED);
	assert_int_equal(v, TC_ACT_REDIRECT);

	ip = ETH_HLEN;
	assert_int_equal(pkt_get32(&xdp_out, ip + 12), ntohl(HOST));
	assert_int_equal(pkt_get32(&tc_out, ip + 12), ntohl(POD2));
	assert_int_equal(pkt_get32(&tc_out, ip + 16), ntohl(HOST));
	assert_true(pkt_ip4_csum_ok(&tc_out, ip));
	/* Else the same: type, code, MTU 1450, quote, ICMP checksum. */
	pkt_put32(&xdp_out, ip + 12, ntohl(POD2));
	pkt_put16(&xdp_out, ip + 10, 0);
	pkt_put16(&xdp_out, ip + 10, pkt_csum(xdp_out.data + ip, 20, 0));
	assert_int_equal(pkt_get8(&tc_out, ip + 20), 3);
	assert_int_equal(pkt_get8(&tc_out, ip + 21), 4);
	assert_int_equal(pkt_get16(&tc_out, ip + 26), 1450);
	assert_int_equal(tc_out.len, xdp_out.len);
	assert_memory_equal(tc_out.data + ip, xdp_out.data + ip,
			    tc_out.len - ip);
}

int main(void)
{
	const struct CMUnitTest extra[] = {
		cmocka_unit_test(t_no_room),
		cmocka_unit_test(t_forwarded_counted_once),
		cmocka_unit_test(t_foreign_source),
		cmocka_unit_test(t_too_big),
		cmocka_unit_test(t_csum_sweep),
	};

	return mgt_run_table("tc egress", same_rows,
			     sizeof(same_rows) / sizeof(same_rows[0]),
			     sizeof(same_rows[0]), run_same, extra,
			     sizeof(extra) / sizeof(extra[0]), setup,
			     teardown);
}
