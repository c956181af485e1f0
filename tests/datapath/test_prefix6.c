// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compiled IPv6 prefix table (datapath/prefix6.h) and the mg_ep6 trie
 * agree: the real XDP program encapsulates a pod's IPv6 packet to random
 * destinations once through the table and once through the trie
 * (mg_pfx6_gen set to 0), and both give the same verdict and bytes, the
 * gateway of the cluster a reference longest-prefix match names, after
 * adds and after deletes.  And the table is what the program reads, for
 * the destination (encap) and the inner source (decap), when published.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lib/dptest.h"
#include "lib/netns.h"
#include "prefix6.h"

#define OWN_CID 1
#define TUN IP4(192, 0, 2, 1)
#define NCLUS 8 /* clusters 2..9 */
#define GW(cid) IP4(192, 0, 2, cid) /* cluster cid's gateway */
#define NPFX 400
#define NADDR 600

#define A6(...) ((const uint8_t[16]){ __VA_ARGS__ })
#define POD6 A6(0xfd, 0, 0, 1, [15] = 5) /* in our fd00:0:0:1::/64 */

static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t pod_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x09 };
/* The lengths the random prefixes take (at most MG_PFX6_LENS). */
static const uint32_t lens[] = { 20, 32, 48, 56, 63, 64, 65, 80, 96, 127, 128 };

static struct {
	struct mgt_topo topo;
	struct mgt_dp dp;
	struct mg_pfx6_maps pm;
	int ep6;
	struct mg_ep6_key k[NPFX + 1];
	struct mg_ep_val v[NPFX + 1];
	size_t n;
} env;

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static int bit(const uint32_t a[4], unsigned int i)
{
	return ((const uint8_t *)a)[i / 8] >> (7 - i % 8) & 1;
}

static void set_bit(uint32_t a[4], unsigned int i, int b)
{
	uint8_t *p = (uint8_t *)a;

	if (b)
		p[i / 8] |= 0x80 >> (i % 8);
	else
		p[i / 8] &= ~(0x80 >> (i % 8));
}

static void mask_to(uint32_t a[4], uint32_t len)
{
	for (unsigned int b = len; b < 128; b++)
		set_bit(a, b, 0);
}

/* Reference: the cluster of the longest prefix holding a, 0: none. */
static uint8_t ref_cluster(const uint32_t a[4])
{
	int best = -1;
	uint8_t cid = 0;

	for (size_t i = 0; i < env.n; i++) {
		unsigned int len = env.k[i].prefixlen, b;

		for (b = 0; b < len; b++)
			if (bit(env.k[i].addr, b) != bit(a, b))
				break;
		if (b == len && (int)len > best) {
			best = len;
			cid = env.v[i].cluster_id;
		}
	}
	return cid;
}

static void publish(const struct mg_ep6_key *k, const struct mg_ep_val *v,
		    size_t n)
{
	struct mg_pfx6 t;

	assert_int_equal(mg_pfx6_build(&t, k, v, n, NPFX + 1), 0);
	assert_int_equal(mg_pfx6_publish(&env.pm, &t), 0);
	mg_pfx6_free(&t);
}

static void set_gen(uint32_t active)
{
	struct mg_pfx_gen g = { .active = active };

	mgt_map_put(env.pm.gen, &(uint32_t){ 0 }, &g);
}

static uint32_t get_gen(void)
{
	struct mg_pfx_gen g;

	assert_int_equal(bpf_map_lookup_elem(env.pm.gen, &(uint32_t){ 0 }, &g),
			 0);
	return g.active;
}

static void frame(struct pkt *p, const uint32_t dst[4])
{
	pkt_init(p);
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IPV6);
	pkt_ip6(p, POD6, (const uint8_t *)dst, IPPROTO_UDP, 64);
	pkt_udp(p, 40000, 53, true);
	pkt_data(p, 32, 7);
	pkt_finish(p);
}

/* A destination: inside a prefix, at its edges, or anywhere in fd14::/16. */
static void probe(uint32_t a[4])
{
	const struct mg_ep6_key *p;
	int edge;

	for (int w = 0; w < 4; w++)
		a[w] = rnd() ^ rnd() << 16;
	((uint8_t *)a)[0] = 0xfd;
	((uint8_t *)a)[1] = 0x14;
	if (env.n < 2 || rnd() % 4 == 0)
		return;
	p = &env.k[1 + rnd() % (env.n - 1)];
	edge = rnd() % 4;
	for (unsigned int b = 0; b < 128; b++) {
		if (b < p->prefixlen)
			set_bit(a, b, bit(p->addr, b));
		else if (edge < 2)
			set_bit(a, b, edge);
	}
	if (edge == 2 && p->prefixlen > 16)
		set_bit(a, p->prefixlen - 1, !bit(p->addr, p->prefixlen - 1));
}

/*
 * NADDR destinations through the table and through the trie: the same
 * verdict and bytes, and a remote cluster's packet to its gateway.
 * Returns how many went out in the tunnel.
 */
static int agree(void)
{
	uint32_t active = get_gen();
	int tunnelled = 0;

	assert_int_not_equal(active, 0);
	for (int i = 0; i < NADDR; i++) {
		uint32_t dst[4], outer;
		struct pkt in, o1, o2;
		uint8_t cid;
		int v1, v2;

		probe(dst);
		cid = ref_cluster(dst);
		frame(&in, dst);
		v1 = mgt_dp_run(&env.dp, &in, &o1, 0, MGT_COUNTS_ANY);
		set_gen(0);
		v2 = mgt_dp_run(&env.dp, &in, &o2, 0, MGT_COUNTS_ANY);
		set_gen(active);
		if (v1 != v2 || o1.len != o2.len ||
		    memcmp(o1.data, o2.data, o1.len)) {
			char s[INET6_ADDRSTRLEN];

			fail_msg("%s: table %s, trie %s (or other bytes)",
				 inet_ntop(AF_INET6, dst, s, sizeof(s)),
				 mgt_verdict_name(v1), mgt_verdict_name(v2));
		}
		if (cid <= OWN_CID)
			continue;
		if (v1 != XDP_TX && v1 != XDP_REDIRECT)
			fail_msg("cluster %u: %s, not tunnelled", cid,
				 mgt_verdict_name(v1));
		memcpy(&outer, o1.data + ETH_HLEN + 16, 4);
		assert_int_equal(outer, GW(cid));
		tunnelled++;
	}
	return tunnelled;
}

static void add_random(size_t n)
{
	for (size_t j = 0; j < n && env.n < NPFX; j++) {
		struct mg_ep6_key *k = &env.k[env.n];
		struct mg_ep_val *v = &env.v[env.n];
		uint32_t len = lens[rnd() % (sizeof(lens) / sizeof(lens[0]))];

		for (int w = 0; w < 4; w++)
			k->addr[w] = rnd() ^ rnd() << 16;
		((uint8_t *)k->addr)[0] = 0xfd;
		((uint8_t *)k->addr)[1] = 0x14;
		if (env.n > 1 && rnd() % 2) {
			const struct mg_ep6_key *p =
				&env.k[1 + rnd() % (env.n - 1)];
			unsigned int share = len < p->prefixlen ? len :
								  p->prefixlen;

			for (unsigned int b = 0; b < share; b++)
				set_bit(k->addr, b, bit(p->addr, b));
		}
		k->prefixlen = len;
		mask_to(k->addr, len);
		memset(v, 0, sizeof(*v));
		v->cluster_id = 2 + rnd() % NCLUS;
		v->version = 1;
		/* a prefix the trie already holds is replaced in both */
		for (size_t i = 0; i < env.n; i++)
			if (!memcmp(&env.k[i], k, sizeof(*k))) {
				env.v[i] = *v;
				k = NULL;
				break;
			}
		mgt_dp_put(&env.dp, "mg_ep6", k ? k : &env.k[env.n], v);
		if (k)
			env.n++;
	}
}

static void del_random(size_t n)
{
	for (size_t j = 0; j < n && env.n > 1; j++) {
		size_t i = 1 + rnd() % (env.n - 1); /* the pods' /64 stays */

		assert_int_equal(bpf_map_delete_elem(env.ep6, &env.k[i]), 0);
		env.k[i] = env.k[env.n - 1];
		env.v[i] = env.v[env.n - 1];
		env.n--;
	}
}

static void test_agree_adds_deletes(void **state)
{
	(void)state;
	add_random(NPFX / 2);
	publish(env.k, env.v, env.n);
	assert_true(agree() > NADDR / 4);
	add_random(NPFX / 2);
	publish(env.k, env.v, env.n);
	assert_true(agree() > NADDR / 4);
	del_random(env.n / 2);
	publish(env.k, env.v, env.n);
	assert_true(agree() > NADDR / 8);
	del_random(env.n);
	publish(env.k, env.v, env.n);
	assert_int_equal(agree(), 0);
}

/* A table saying otherwise than the trie is what the program follows. */
static void test_table_is_read(void **state)
{
	struct mg_ep6_key tk = { .prefixlen = 48 };
	struct mg_ep6_key k[2] = { env.k[0], { .prefixlen = 48 } };
	struct mg_ep_val v[2] = { env.v[0], { .cluster_id = 2 } };
	struct mg_ep_val tv = { .cluster_id = 3 };
	uint32_t dst[4], outer;
	struct pkt in, out;

	(void)state;
	inet_pton(AF_INET6, "fd14:1:2::", tk.addr);
	memcpy(k[1].addr, tk.addr, 16);
	mgt_dp_put(&env.dp, "mg_ep6", &tk, &tv);
	publish(k, v, 2);
	inet_pton(AF_INET6, "fd14:1:2:3::9", dst);
	frame(&in, dst);
	mgt_dp_run(&env.dp, &in, &out, 0, MGT_COUNTS_ANY);
	memcpy(&outer, out.data + ETH_HLEN + 16, 4);
	assert_int_equal(outer, GW(2));
	/* The trie, once the table is withdrawn. */
	assert_int_equal(mg_pfx6_disable(&env.pm), 0);
	mgt_dp_run(&env.dp, &in, &out, 0, MGT_COUNTS_ANY);
	memcpy(&outer, out.data + ETH_HLEN + 16, 4);
	assert_int_equal(outer, GW(3));
	assert_int_equal(bpf_map_delete_elem(env.ep6, &tk), 0);
}

/* A tunnel packet from cluster 2's gateway, inner source src, to a pod. */
static void tunnelled(struct pkt *p, const uint32_t src[4])
{
	const uint8_t mesh2[6] = MG_MESH_MAC_INIT(2);
	const uint8_t mesh1[6] = MG_MESH_MAC_INIT(OWN_CID);

	pkt_init(p);
	pkt_eth(p, mgt_underlay_mac, mgt_peer_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = GW(2),
				      .daddr = TUN,
				      .proto = IPPROTO_UDP,
				      .ttl = 64 });
	pkt_udp(p, 51234, MG_VXLAN_PORT_DEFAULT, false);
	pkt_vxlan(p, 0x08000000, 2);
	pkt_eth(p, mesh1, mesh2, ETH_P_IPV6);
	pkt_ip6(p, (const uint8_t *)src, POD6, IPPROTO_UDP, 64);
	pkt_udp(p, 53, 40000, true);
	pkt_data(p, 16, 3);
	pkt_finish(p);
}

/*
 * Decap: the inner source's cluster is the table's answer (cluster 2,
 * accepted from cluster 2's gateway) where the trie says cluster 3
 * (dropped as a spoofed source), and the trie's once the table is gone.
 */
static void test_decap_source(void **state)
{
	struct mg_ep6_key tk = { .prefixlen = 64 };
	struct mg_ep6_key k[2] = { env.k[0], { .prefixlen = 64 } };
	struct mg_ep_val v[2] = { env.v[0], { .cluster_id = 2 } };
	struct mg_ep_val tv = { .cluster_id = 3 };
	struct pkt in, out;
	uint32_t src[4];
	int v1, v2;

	(void)state;
	inet_pton(AF_INET6, "fd14:9:9:9::", tk.addr);
	memcpy(k[1].addr, tk.addr, 16);
	mgt_dp_put(&env.dp, "mg_ep6", &tk, &tv);
	publish(k, v, 2);
	inet_pton(AF_INET6, "fd14:9:9:9::7", src);
	tunnelled(&in, src);
	v1 = mgt_dp_run(&env.dp, &in, &out, 0, MGT_COUNTS_ANY);
	assert_int_not_equal(v1, XDP_DROP);
	assert_int_equal(mg_pfx6_disable(&env.pm), 0);
	v2 = mgt_dp_run(&env.dp, &in, &out, 0, MG_DROP_INNER_SRC);
	assert_int_equal(v2, XDP_DROP);
	assert_int_equal(bpf_map_delete_elem(env.ep6, &tk), 0);
}

static int setup(void **state)
{
	struct mg_dp_settings s = {
		.tunnel4 = TUN,
		.vxlan_port = MG_VXLAN_PORT_DEFAULT,
		.cluster_id = OWN_CID,
		.nh_table = true,
	};

	(void)state;
	if (mgt_dp_load(&env.dp, &s))
		return -1;
	env.ep6 = mgt_dp_map(&env.dp, "mg_ep6");
	env.pm.gen = mgt_dp_map(&env.dp, "mg_pfx6_gen");
	env.pm.ans = mgt_dp_map(&env.dp, "mg_pfx_ans");
	env.pm.h = mgt_dp_map(&env.dp, "mg_pfx6");
	env.pm.lens = mgt_dp_map(&env.dp, "mg_pfx6_lens");
	env.pm.rgn = mgt_dp_map(&env.dp, "mg_pfx6_rgn");
	/* Our pods' /64, first of the set and never deleted. */
	env.k[0] = (struct mg_ep6_key){ .prefixlen = 64 };
	memcpy(env.k[0].addr, POD6, 8);
	env.v[0] = (struct mg_ep_val){ .cluster_id = OWN_CID,
				       .flags = MG_EP_F_LOCAL,
				       .version = 1 };
	env.n = 1;
	mgt_dp_put(&env.dp, "mg_ep6", &env.k[0], &env.v[0]);
	mgt_dp_put(&env.dp, "mg_local6", &env.k[0], &env.v[0]);
	for (uint32_t cid = 2; cid < 2 + NCLUS; cid++) {
		struct mg_cluster_val c = { .n_gw = 1 };
		struct mg_nh_val nh = { .ifindex = 1,
					.mtu = 1500,
					.dmac = { 2, 0, 0, 0, 0x5e, cid } };
		uint32_t gw = GW(cid);

		c.gw[0].family = MG_AF_INET;
		c.gw[0].addr[0] = gw;
		mgt_dp_put(&env.dp, "mg_clus", &cid, &c);
		mgt_dp_put(&env.dp, "mg_peer4", &gw,
			   &(struct mg_peer_val){ cid, { 0 } });
		memcpy(nh.smac, gw_mac, 6);
		mgt_dp_put(&env.dp, "mg_nh4_v2", &gw, &nh);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mgt_dp_destroy(&env.dp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree_adds_deletes),
		cmocka_unit_test(test_table_is_read),
		cmocka_unit_test(test_decap_source),
	};

	if (mgt_netns_topo(&env.topo))
		return 1;
	return cmocka_run_group_tests_name("IPv6 prefix table", tests, setup,
					   teardown);
}
