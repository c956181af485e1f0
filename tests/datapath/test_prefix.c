// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compiled prefix table (datapath/prefix.h) and the mg_ep4 trie agree:
 * the real XDP program encapsulates a pod's packet to random destinations
 * once through the table and once through the trie (mg_pfx_gen set to 0),
 * and both give the same verdict and bytes, the gateway of the cluster a
 * reference longest-prefix match names, after adds and after deletes.
 * And the table is what the program reads when it is published.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lib/dptest.h"
#include "lib/netns.h"
#include "prefix.h"

#define OWN_CID 1
#define TUN IP4(192, 0, 2, 1)
#define POD IP4(10, 1, 0, 5)
#define NCLUS 8 /* clusters 2..9 */
#define GW(cid) IP4(192, 0, 2, cid) /* cluster cid's gateway */
#define NPFX 400
#define NADDR 600

static const uint8_t gw_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t pod_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x09 };

static struct {
	struct mgt_topo topo;
	struct mgt_dp dp;
	struct mg_pfx_maps pm;
	int ep4;
	struct mg_ep4_key k[NPFX + 1];
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

static uint32_t mask(uint32_t len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* Reference: the cluster of the longest prefix holding addr, 0: none. */
static uint8_t ref_cluster(uint32_t addr)
{
	uint32_t a = ntohl(addr);
	int best = -1;
	uint8_t cid = 0;

	for (size_t i = 0; i < env.n; i++) {
		uint32_t len = env.k[i].prefixlen;

		if ((a & mask(len)) == (ntohl(env.k[i].addr) & mask(len)) &&
		    (int)len > best) {
			best = len;
			cid = env.v[i].cluster_id;
		}
	}
	return cid;
}

static void publish(const struct mg_ep4_key *k, const struct mg_ep_val *v,
		    size_t n)
{
	struct mg_pfx4 t;

	assert_int_equal(mg_pfx4_build(&t, k, v, n), 0);
	assert_int_equal(mg_pfx4_publish(&env.pm, &t), 0);
	mg_pfx4_free(&t);
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

static void frame(struct pkt *p, uint32_t dst)
{
	pkt_init(p);
	pkt_eth(p, gw_mac, pod_mac, ETH_P_IP);
	pkt_ip4(p, &(struct pkt_ip4){ .saddr = POD,
				      .daddr = dst,
				      .proto = IPPROTO_UDP,
				      .ttl = 64 });
	pkt_udp(p, 40000, 53, true);
	pkt_data(p, 32, 7);
	pkt_finish(p);
}

/* A destination: inside a prefix, at its edges, or anywhere in 20/8. */
static uint32_t probe(void)
{
	const struct mg_ep4_key *p;
	uint32_t m;

	if (!env.n || rnd() % 4 == 0)
		return htonl(0x14000000 | (rnd() & 0xffffff));
	p = &env.k[rnd() % env.n];
	m = mask(p->prefixlen);
	switch (rnd() % 4) {
	case 0:
		return htonl(ntohl(p->addr) & m);
	case 1:
		return htonl((ntohl(p->addr) & m) | ~m);
	case 2:
		return htonl(((ntohl(p->addr) & m) | ~m) + 1);
	default:
		return htonl((ntohl(p->addr) & m) | (rnd() & ~m));
	}
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
		uint32_t dst = probe(), outer;
		uint8_t cid = ref_cluster(dst);
		struct pkt in, o1, o2;
		int v1, v2;

		frame(&in, dst);
		v1 = mgt_dp_run(&env.dp, &in, &o1, 0, MGT_COUNTS_ANY);
		set_gen(0);
		v2 = mgt_dp_run(&env.dp, &in, &o2, 0, MGT_COUNTS_ANY);
		set_gen(active);
		if (v1 != v2 || o1.len != o2.len ||
		    memcmp(o1.data, o2.data, o1.len))
			fail_msg("%s: table %s, trie %s (or other bytes)",
				 inet_ntoa((struct in_addr){ dst }),
				 mgt_verdict_name(v1), mgt_verdict_name(v2));
		if (cid <= OWN_CID)
			continue;
		if (v1 != XDP_TX && v1 != XDP_REDIRECT)
			fail_msg("%s (cluster %u): %s, not tunnelled",
				 inet_ntoa((struct in_addr){ dst }), cid,
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
		struct mg_ep4_key *k = &env.k[env.n];
		struct mg_ep_val *v = &env.v[env.n];
		uint32_t len = 8 + rnd() % 25,
			 a = 0x14000000 | (rnd() & 0xffffff);

		if (env.n > 1 && rnd() % 2) {
			const struct mg_ep4_key *p =
				&env.k[1 + rnd() % (env.n - 1)];

			a = (ntohl(p->addr) & mask(p->prefixlen)) |
			    (a & ~mask(p->prefixlen));
			if (len <= p->prefixlen)
				len = p->prefixlen + (p->prefixlen < 32);
		}
		k->prefixlen = len;
		k->addr = htonl(a & mask(len));
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
		mgt_dp_put(&env.dp, "mg_ep4", k ? k : &env.k[env.n], v);
		if (k)
			env.n++;
	}
}

static void del_random(size_t n)
{
	for (size_t j = 0; j < n && env.n > 1; j++) {
		size_t i = 1 + rnd() % (env.n - 1); /* the pods' /16 stays */

		assert_int_equal(bpf_map_delete_elem(env.ep4, &env.k[i]), 0);
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
	struct mg_ep4_key k[2] = { env.k[0], { 16, htonl(0x14000000) } };
	struct mg_ep_val v[2] = { env.v[0], { .cluster_id = 2 } };
	struct mg_ep4_key tk = { 16, htonl(0x14000000) };
	struct mg_ep_val tv = { .cluster_id = 3 };
	struct pkt in, out;
	uint32_t outer;

	(void)state;
	mgt_dp_put(&env.dp, "mg_ep4", &tk, &tv);
	publish(k, v, 2);
	frame(&in, htonl(0x14000105));
	mgt_dp_run(&env.dp, &in, &out, 0, MGT_COUNTS_ANY);
	memcpy(&outer, out.data + ETH_HLEN + 16, 4);
	assert_int_equal(outer, GW(2));
	/* The trie, once the table is withdrawn. */
	assert_int_equal(mg_pfx4_disable(&env.pm), 0);
	mgt_dp_run(&env.dp, &in, &out, 0, MGT_COUNTS_ANY);
	memcpy(&outer, out.data + ETH_HLEN + 16, 4);
	assert_int_equal(outer, GW(3));
	assert_int_equal(bpf_map_delete_elem(env.ep4, &tk), 0);
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
	env.ep4 = mgt_dp_map(&env.dp, "mg_ep4");
	env.pm.gen = mgt_dp_map(&env.dp, "mg_pfx_gen");
	env.pm.ans = mgt_dp_map(&env.dp, "mg_pfx_ans");
	env.pm.l1 = mgt_dp_map(&env.dp, "mg_pfx4_l1");
	env.pm.l2 = mgt_dp_map(&env.dp, "mg_pfx4_l2");
	env.pm.l3 = mgt_dp_map(&env.dp, "mg_pfx4_l3");
	/* Our pods' /16, first of the set and never deleted. */
	env.k[0] = (struct mg_ep4_key){ 16, IP4(10, 1, 0, 0) };
	env.v[0] = (struct mg_ep_val){ .cluster_id = OWN_CID,
				       .flags = MG_EP_F_LOCAL,
				       .version = 1 };
	env.n = 1;
	mgt_dp_put(&env.dp, "mg_ep4", &env.k[0], &env.v[0]);
	mgt_dp_put(&env.dp, "mg_local4", &env.k[0], &env.v[0]);
	for (uint32_t cid = 2; cid < 2 + NCLUS; cid++) {
		struct mg_cluster_val c = { .n_gw = 1 };
		struct mg_nh_val nh = { .ifindex = 1,
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
	};

	if (mgt_netns_topo(&env.topo))
		return 1;
	return cmocka_run_group_tests_name("prefix table", tests, setup,
					   teardown);
}
