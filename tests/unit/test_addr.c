// SPDX-License-Identifier: GPL-2.0-only
/* Addresses and prefixes: parse, format, compare. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "lib/addr.h"

static struct mg_prefix pfx(const char *s)
{
	struct mg_prefix p;

	assert_int_equal(mg_prefix_parse(s, &p), 0);
	return p;
}

static struct mg_addr addr(const char *s)
{
	struct mg_addr a;

	assert_int_equal(mg_addr_parse(s, &a), 0);
	return a;
}

static void test_addr_layout(void **state)
{
	struct mg_addr a = addr("10.1.2.3");
	const __u8 v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 };

	assert_int_equal(a.family, MG_AF_INET);
	assert_int_equal(a.addr[0], htonl(0x0a010203));
	assert_int_equal(a.addr[1] | a.addr[2] | a.addr[3], 0);
	assert_int_equal(a.pad[0] | a.pad[1] | a.pad[2], 0);

	a = addr("2001:db8::1");
	assert_int_equal(a.family, MG_AF_INET6);
	assert_memory_equal(a.addr, v6, 16);
}

static void test_addr_round_trip(void **state)
{
	static const char *const good[] = {
		"0.0.0.0", "10.1.2.3", "255.255.255.255", "192.0.2.1",
		"::", "::1", "2001:db8::1", "fd00:1:2:3:4:5:6:7",
		"::ffff:10.1.2.3", "fe80::1",
	};
	char buf[MG_ADDRSTRLEN];
	struct mg_addr a;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		a = addr(good[i]);
		assert_string_equal(mg_addr_str(&a, buf, sizeof(buf)),
				    good[i]);
	}
	/* Formatting is canonical, whatever the input's spelling. */
	a = addr("2001:DB8:0:0:0:0:0:1");
	assert_string_equal(mg_addr_str(&a, buf, sizeof(buf)), "2001:db8::1");
}

static void test_addr_bad(void **state)
{
	static const char *const bad[] = {
		"", " ", "10.1.2", "10.1.2.3.4", "256.1.1.1", "10.1.2.3 ",
		" 10.1.2.3", "010.1.2.3x", "0x0a.1.2.3", "10.1.2.3/32",
		"1.2.3.-4", "2001:db8::1::2", "2001:db8::g", "fe80::1%eth0",
		":", "::1/128", "abc", "10..1.2",
	};
	struct mg_addr a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0xaa, sizeof(a));
		if (mg_addr_parse(bad[i], &a) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(a.family, 0);
	}
}

static void test_addr_str_unset(void **state)
{
	struct mg_addr a = { 0 };
	char buf[MG_ADDRSTRLEN], small[4];

	assert_string_equal(mg_addr_str(&a, buf, sizeof(buf)), "unset");
	a.family = 5;
	assert_string_equal(mg_addr_str(&a, buf, sizeof(buf)), "invalid");
	/* Too small a buffer gives an empty string, never an overrun. */
	a = addr("10.1.2.3");
	assert_string_equal(mg_addr_str(&a, small, sizeof(small)), "");
}

static void test_prefix_round_trip(void **state)
{
	static const char *const good[] = {
		"10.1.0.0/16", "0.0.0.0/0", "10.1.2.3/32", "10.1.2.128/25",
		"192.168.0.0/23", "fd00::/8", "::/0", "2001:db8::1/128",
		"2001:db8:1:8000::/49", "fd00:1::/56",
	};
	char buf[MG_PREFIXSTRLEN];
	struct mg_prefix p;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		p = pfx(good[i]);
		assert_string_equal(mg_prefix_str(&p, buf, sizeof(buf)),
				    good[i]);
	}
	p = pfx("10.1.0.0/16");
	assert_int_equal(p.len, 16);
	assert_int_equal(p.addr.family, MG_AF_INET);
	assert_int_equal(p.addr.addr[0], htonl(0x0a010000));
	p = pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	assert_string_equal(mg_prefix_str(&p, buf, sizeof(buf)),
			    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

static void test_prefix_bad(void **state)
{
	static const char *const bad[] = {
		"10.1.0.1/16",		/* host bits set */
		"10.1.0.0/15",		/* host bit 16 set */
		"10.1.2.3/31", "10.1.2.128/24", "fd00::1/64",
		"2001:db8:1:8000::/48", "0.0.0.1/0",
		"10.1.0.0", "10.1.0.0/", "10.1.0.0/33", "fd00::/129",
		"10.1.0.0/+16", "10.1.0.0/-1", "10.1.0.0/ 16",
		"10.1.0.0/16 ", "10.1.0.0/0016", "10.1.0.0/16/16",
		"/16", "10.1.0/16", "10.1.0.0/1x", "fd00::/", "",
		"0000:0000:0000:0000:0000:0000:0000:0000:0/8",
	};
	struct mg_prefix p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&p, 0xaa, sizeof(p));
		if (mg_prefix_parse(bad[i], &p) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(p.addr.family, 0);
		assert_int_equal(p.len, 0);
	}
}

static void test_equal(void **state)
{
	struct mg_addr a = addr("10.1.2.3"), b = addr("10.1.2.3");
	struct mg_addr c = addr("10.1.2.4"), d = addr("::ffff:10.1.2.3");
	struct mg_prefix p = pfx("10.1.0.0/16"), q = pfx("10.1.0.0/16");
	struct mg_prefix r = pfx("10.1.0.0/17"), s = pfx("::/16");

	assert_true(mg_addr_equal(&a, &b));
	assert_false(mg_addr_equal(&a, &c));
	assert_false(mg_addr_equal(&a, &d));	/* families differ */
	/* Padding and unused words never matter. */
	b.pad[1] = 7;
	b.addr[3] = 0xffffffff;
	assert_true(mg_addr_equal(&a, &b));

	assert_true(mg_prefix_equal(&p, &q));
	assert_false(mg_prefix_equal(&p, &r));
	assert_false(mg_prefix_equal(&p, &s));
	a = addr("2001:db8::1");
	b = addr("2001:db8::2");
	assert_false(mg_addr_equal(&a, &b));
}

struct overlap_case {
	const char *a, *b;
	bool overlap;
};

static void test_overlap(void **state)
{
	static const struct overlap_case cases[] = {
		{ "10.1.0.0/16", "10.1.0.0/16", true },
		{ "10.1.0.0/16", "10.1.5.0/24", true },
		{ "10.1.0.0/16", "10.1.255.255/32", true },
		{ "10.0.0.0/8", "10.200.0.0/16", true },
		{ "0.0.0.0/0", "192.0.2.0/24", true },
		{ "10.1.0.0/16", "10.2.0.0/16", false },
		{ "10.1.0.0/16", "10.0.0.0/16", false },
		{ "10.3.0.0/17", "10.3.128.0/17", false },
		{ "10.3.0.0/17", "10.3.127.255/32", true },
		{ "10.3.0.0/17", "10.3.128.0/32", false },
		{ "10.1.2.3/32", "10.1.2.2/32", false },
		{ "fd00::/8", "fd00:1::/56", true },
		{ "fd00:1::/56", "fd00:2::/56", false },
		{ "fd00:1::/56", "fd00:1:0:ff::/64", true },
		{ "fd00:1::/56", "fd00:1:0:100::/64", false },
		{ "2001:db8::1/128", "2001:db8::/127", true },
		{ "2001:db8::2/128", "2001:db8::/127", false },
		{ "::/0", "fd00::/8", true },
		/* IPv4 and IPv6 never overlap, not even ::/0 and 0/0. */
		{ "0.0.0.0/0", "::/0", false },
		{ "10.1.0.0/16", "::ffff:10.1.0.0/112", false },
	};
	struct mg_prefix a, b;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = pfx(cases[i].a);
		b = pfx(cases[i].b);
		if (mg_prefix_overlap(&a, &b) != cases[i].overlap ||
		    mg_prefix_overlap(&b, &a) != cases[i].overlap)
			fail_msg("%s and %s: expected %s", cases[i].a,
				 cases[i].b, cases[i].overlap ?
				 "overlap" : "no overlap");
	}
}

struct contains_case {
	const char *pfx, *addr;
	bool in;
};

static void test_contains(void **state)
{
	static const struct contains_case cases[] = {
		{ "10.1.0.0/16", "10.1.0.0", true },
		{ "10.1.0.0/16", "10.1.255.255", true },
		{ "10.1.0.0/16", "10.2.0.0", false },
		{ "10.1.0.0/16", "10.0.255.255", false },
		{ "10.1.2.3/32", "10.1.2.3", true },
		{ "10.1.2.3/32", "10.1.2.4", false },
		{ "0.0.0.0/0", "203.0.113.9", true },
		{ "10.1.2.128/25", "10.1.2.127", false },
		{ "10.1.2.128/25", "10.1.2.200", true },
		{ "fd00:1::/56", "fd00:1:0:ff::1", true },
		{ "fd00:1::/56", "fd00:1:0:100::1", false },
		{ "::/0", "2001:db8::1", true },
		{ "::/0", "10.1.2.3", false },
		{ "0.0.0.0/0", "::1", false },
	};
	struct mg_prefix p;
	struct mg_addr a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = pfx(cases[i].pfx);
		a = addr(cases[i].addr);
		if (mg_prefix_contains(&p, &a) != cases[i].in)
			fail_msg("%s in %s: expected %d", cases[i].addr,
				 cases[i].pfx, cases[i].in);
	}
}

/* Structs from elsewhere (maps, the wire) may hold anything: no overrun. */
static void test_hostile_lengths(void **state)
{
	struct mg_prefix a = pfx("10.1.0.0/16"), b = pfx("10.1.0.0/16");
	struct mg_prefix c = { 0 }, d = { 0 };
	struct mg_addr x = addr("10.1.0.0"), y = addr("10.1.0.1");

	a.len = 255;
	b.len = 200;
	assert_true(mg_prefix_overlap(&a, &b));
	assert_true(mg_prefix_contains(&a, &x));	/* as a /32 */
	assert_false(mg_prefix_contains(&a, &y));
	/* Unset families never match anything. */
	assert_false(mg_prefix_overlap(&c, &d));
	x.family = 0;
	assert_false(mg_prefix_contains(&c, &x));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_layout),
		cmocka_unit_test(test_addr_round_trip),
		cmocka_unit_test(test_addr_bad),
		cmocka_unit_test(test_addr_str_unset),
		cmocka_unit_test(test_prefix_round_trip),
		cmocka_unit_test(test_prefix_bad),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_hostile_lengths),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
