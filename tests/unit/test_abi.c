// SPDX-License-Identifier: GPL-2.0-only
/*
 * The map ABI (include/meshgate/abi.h) as the host compiler lays it out:
 * sizes, offsets and alignment of every struct, so a field moved or a hole
 * opened shows up by name here even where the header's size asserts still
 * hold; and the reason table's sanity.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <meshgate/abi.h>

struct layout {
	const char *what;
	size_t got, want;
};

#define SIZE(type, n)	{ "sizeof(" #type ")", sizeof(type), (n) }
#define ALIGN(type, n)	{ "alignof(" #type ")", alignof(type), (n) }
#define OFF(type, f, n)	{ #type "." #f, offsetof(type, f), (n) }
#define FSIZE(type, f, n) \
	{ "sizeof(" #type "." #f ")", sizeof(((type *)0)->f), (n) }

static const struct layout layouts[] = {
	SIZE(struct mg_ep4_key, 8),
	ALIGN(struct mg_ep4_key, 4),
	OFF(struct mg_ep4_key, prefixlen, 0),
	OFF(struct mg_ep4_key, addr, 4),

	SIZE(struct mg_ep6_key, 20),
	ALIGN(struct mg_ep6_key, 4),
	OFF(struct mg_ep6_key, prefixlen, 0),
	OFF(struct mg_ep6_key, addr, 4),
	FSIZE(struct mg_ep6_key, addr, 16),

	SIZE(struct mg_in6, 16),
	OFF(struct mg_in6, addr, 0),

	SIZE(struct mg_ep_val, 8),
	ALIGN(struct mg_ep_val, 4),
	OFF(struct mg_ep_val, cluster_id, 0),
	OFF(struct mg_ep_val, flags, 1),
	OFF(struct mg_ep_val, pad, 2),
	OFF(struct mg_ep_val, version, 4),

	SIZE(struct mg_addr, 20),
	ALIGN(struct mg_addr, 4),
	OFF(struct mg_addr, family, 0),
	OFF(struct mg_addr, pad, 1),
	FSIZE(struct mg_addr, pad, 3),
	OFF(struct mg_addr, addr, 4),
	FSIZE(struct mg_addr, addr, 16),

	SIZE(struct mg_cluster_val, 4 + MG_GW_SLOTS + 20 * MG_CLUSTER_GW_MAX),
	ALIGN(struct mg_cluster_val, 4),
	OFF(struct mg_cluster_val, n_gw, 0),
	OFF(struct mg_cluster_val, pad, 1),
	OFF(struct mg_cluster_val, slot, 4),
	FSIZE(struct mg_cluster_val, slot, MG_GW_SLOTS),
	OFF(struct mg_cluster_val, gw, 4 + MG_GW_SLOTS),
	FSIZE(struct mg_cluster_val, gw, 20 * MG_CLUSTER_GW_MAX),

	SIZE(struct mg_peer_val, 4),
	OFF(struct mg_peer_val, cluster_id, 0),
	OFF(struct mg_peer_val, pad, 1),

	SIZE(struct mg_nh_val, 20),
	ALIGN(struct mg_nh_val, 4),
	OFF(struct mg_nh_val, ifindex, 0),
	OFF(struct mg_nh_val, smac, 4),
	OFF(struct mg_nh_val, dmac, 10),
	OFF(struct mg_nh_val, mtu, 16),
	OFF(struct mg_nh_val, pad, 18),

	SIZE(struct mg_stat, 16),
	ALIGN(struct mg_stat, 8),
	OFF(struct mg_stat, packets, 0),
	OFF(struct mg_stat, bytes, 8),

	/* The flows' lifetime (v2): expires 8-aligned in both families. */
	SIZE(struct mg_ct4_val, 24),
	ALIGN(struct mg_ct4_val, 8),
	OFF(struct mg_ct4_val, snat_addr, 8),
	OFF(struct mg_ct4_val, snat_port, 12),
	OFF(struct mg_ct4_val, state, 14),
	OFF(struct mg_ct4_val, flags, 15),
	OFF(struct mg_ct4_val, expires, 16),

	SIZE(struct mg_ct6_val, 40),
	ALIGN(struct mg_ct6_val, 8),
	OFF(struct mg_ct6_val, snat_addr, 8),
	OFF(struct mg_ct6_val, snat_port, 24),
	OFF(struct mg_ct6_val, state, 26),
	OFF(struct mg_ct6_val, flags, 27),
	OFF(struct mg_ct6_val, pad, 28),
	OFF(struct mg_ct6_val, expires, 32),
};

static void test_layout(void **state)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		if (layouts[i].got == layouts[i].want)
			continue;
		print_error("%s is %zu, the ABI says %zu\n", layouts[i].what,
			    layouts[i].got, layouts[i].want);
		bad++;
	}
	assert_int_equal(bad, 0);
}

/* Every gateway index fits in a flow slot; cluster ids fit in a byte. */
static void test_limits(void **state)
{
	const struct mg_cluster_val cv = { 0 };

	assert_true(MG_CLUSTER_GW_MAX <= (1 << (8 * sizeof(cv.slot[0]))));
	assert_true(MG_GW_SLOTS >= MG_CLUSTER_GW_MAX);
	assert_int_equal(MG_MAX_CLUSTERS, 256);
	/* Ethernet + IPv4 + UDP + VXLAN: the datapath's headroom. */
	assert_int_equal(MG_ENCAP4_LEN, 14 + 20 + 8 + 8);
	assert_int_equal(MG_ENCAP6_LEN, 14 + 40 + 8 + 8);
	/* The ICMP errors' limits: RFC 1812 and RFC 4443. */
	assert_int_equal(MG_ICMP4_MAX, 576);
	assert_int_equal(MG_ICMP6_MAX, 1280);
}

/* 02:6d:67:00:00:<id>: locally administered, unicast, id in the last byte. */
static void test_mesh_mac(void **state)
{
	const __u8 mac[6] = MG_MESH_MAC_INIT(0xab);

	assert_true(mac[0] & 0x02);
	assert_false(mac[0] & 0x01);
	assert_int_equal(mac[5], 0xab);
}

static const char *const reason_names[] = {
#define NAME(e, name, cls, desc) name,
	MG_REASON_TABLE(NAME)
#undef NAME
};

static const char *const reason_descs[] = {
#define DESC(e, name, cls, desc) desc,
	MG_REASON_TABLE(DESC)
#undef DESC
};

static const int reason_values[] = {
#define VALUE(e, name, cls, desc) MG_##e,
	MG_REASON_TABLE(VALUE)
#undef VALUE
};

static void test_reasons(void **state)
{
	size_t n = sizeof(reason_names) / sizeof(reason_names[0]);
	const char *p;
	size_t i, j;

	assert_int_equal(n, MG_REASON_MAX);
	assert_true(MG_REASON_MAX <= MG_STATS_SLOTS);
	/* The counters index by reason: PASS first, then in table order. */
	assert_int_equal(MG_PASS, 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(reason_values[i], (int)i);
		/* Names are metric labels and CLI words: [a-z0-9_]+. */
		assert_true(reason_names[i][0]);
		for (p = reason_names[i]; *p; p++)
			if (!islower((unsigned char)*p) &&
			    !isdigit((unsigned char)*p) && *p != '_')
				fail_msg("reason %zu: bad name \"%s\"", i,
					 reason_names[i]);
		assert_true(strlen(reason_descs[i]) > 8);
		for (j = 0; j < i; j++)
			if (!strcmp(reason_names[i], reason_names[j]))
				fail_msg("reason name \"%s\" used twice",
					 reason_names[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mesh_mac),
		cmocka_unit_test(test_reasons),
	};

	return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
