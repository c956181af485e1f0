// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compiled IPv4 prefix table (agent/prefix.c) answers as a reference
 * longest-prefix match over the same prefixes: random sets with nested
 * prefixes of every length /0../32, after deletions, duplicates, and the
 * bound on level-3 chunks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "prefix.h"

#define NPFX 1500
#define NADDR 20000

static __u64 rng = 0x9e3779b97f4a7c15ull;

static __u32 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (__u32)(rng >> 16);
}

static __u32 mask(__u32 len)
{
	return len ? ~0u << (32 - len) : 0;
}

/* Reference: the leaf of the longest (then the last) prefix holding a. */
static __u16 ref_find(const struct mg_ep4_key *k, const struct mg_ep_val *v,
		      size_t n, __u32 addr)
{
	__u32 a = ntohl(addr);
	int best = -1;
	__u16 leaf = 0;

	for (size_t i = 0; i < n; i++) {
		__u32 len = k[i].prefixlen;

		if ((a & mask(len)) != (ntohl(k[i].addr) & mask(len)))
			continue;
		if ((int)len >= best) {
			best = len;
			leaf = mg_pfx_leaf(&v[i]);
		}
	}
	return leaf;
}

/*
 * n random prefixes: a third at random, the rest nested in (or beside)
 * an earlier one, lengths over /0../32 with most at /16../28.
 */
static void random_set(struct mg_ep4_key *k, struct mg_ep_val *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		__u32 len, a = rnd();

		switch (rnd() % 4) {
		case 0:
			len = rnd() % 33;
			break;
		default:
			len = 16 + rnd() % 13;
			break;
		}
		if (i && rnd() % 3) {
			const struct mg_ep4_key *p = &k[rnd() % i];

			/* inside p when longer: p's bits, then random */
			a = (ntohl(p->addr) & mask(p->prefixlen)) |
			    (a & ~mask(p->prefixlen));
			if (len < p->prefixlen)
				len = p->prefixlen +
				      rnd() % (33 - p->prefixlen);
		}
		k[i].prefixlen = len;
		k[i].addr = htonl(a); /* host bits left set on purpose */
		memset(&v[i], 0, sizeof(v[i]));
		v[i].cluster_id = 1 + rnd() % 255;
		v[i].flags = rnd() % 2 ? MG_EP_F_LOCAL : 0;
		v[i].version = rnd();
	}
}

/* Addresses inside the prefixes, at their edges, and at random. */
static __u32 probe(const struct mg_ep4_key *k, size_t n)
{
	const struct mg_ep4_key *p;
	__u32 m;

	if (!n || rnd() % 4 == 0)
		return rnd();
	p = &k[rnd() % n];
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

static void check_against_ref(const struct mg_ep4_key *k,
			      const struct mg_ep_val *v, size_t n)
{
	struct mg_pfx4 t;

	assert_int_equal(mg_pfx4_build(&t, k, v, n), 0);
	for (int i = 0; i < NADDR; i++) {
		__u32 a = probe(k, n);
		__u16 want = ref_find(k, v, n, a), got = mg_pfx4_find(&t, a);

		if (want != got)
			fail_msg(
				"%08x: table %#x, reference %#x (%zu prefixes)",
				ntohl(a), got, want, n);
	}
	mg_pfx4_free(&t);
}

static void test_random_sets(void **state)
{
	struct mg_ep4_key *k = calloc(NPFX, sizeof(*k));
	struct mg_ep_val *v = calloc(NPFX, sizeof(*v));

	(void)state;
	assert_non_null(k);
	assert_non_null(v);
	for (int round = 0; round < 8; round++) {
		size_t n = NPFX;

		random_set(k, v, n);
		check_against_ref(k, v, n);
		/* Deletions: drop a random third, then down to none. */
		while (n) {
			size_t drop = n > 3 ? n / 3 : 1;

			for (size_t d = 0; d < drop; d++) {
				size_t i = rnd() % n;

				k[i] = k[n - 1];
				v[i] = v[n - 1];
				n--;
			}
			check_against_ref(k, v, n);
		}
	}
	free(k);
	free(v);
}

/* Every length at one address: each /L answers for its own range only. */
static void test_every_length(void **state)
{
	struct mg_ep4_key k[33];
	struct mg_ep_val v[33];
	struct mg_pfx4 t;
	__u32 base = 0x0a0b0c0d;

	(void)state;
	memset(v, 0, sizeof(v));
	for (int l = 0; l <= 32; l++) {
		/* in reverse order: the compiler sorts */
		k[32 - l].prefixlen = l;
		k[32 - l].addr = htonl(base);
		v[32 - l].cluster_id = 1 + l;
	}
	assert_int_equal(mg_pfx4_build(&t, k, v, 33), 0);
	for (int l = 0; l <= 32; l++) {
		/* flip bit 31 - l: inside /l, outside /(l + 1) */
		__u32 a = l < 32 ? base ^ (1u << (31 - l)) : base;

		assert_int_equal(mg_pfx4_find(&t, htonl(a)), 1 + l);
	}
	mg_pfx4_free(&t);
	/* Nothing: every address misses. */
	assert_int_equal(mg_pfx4_build(&t, k, v, 0), 0);
	assert_int_equal(mg_pfx4_find(&t, htonl(base)), 0);
	assert_int_equal(t.n_l2 + t.n_l3, 0);
	mg_pfx4_free(&t);
}

/* The same prefix twice: the later one answers (as the map's last write). */
static void test_duplicates_and_leaf(void **state)
{
	struct mg_ep4_key k[2] = { { 24, htonl(0x0a000100) },
				   { 24, htonl(0x0a000100) } };
	struct mg_ep_val v[2] = { { .cluster_id = 3 },
				  { .cluster_id = 7, .flags = MG_EP_F_LOCAL } };
	struct mg_pfx4 t;

	(void)state;
	assert_int_equal(mg_pfx4_build(&t, k, v, 2), 0);
	assert_int_equal(mg_pfx4_find(&t, htonl(0x0a000105)),
			 7 | MG_PFX_LEAF_LOCAL);
	assert_int_equal(mg_pfx4_find(&t, htonl(0x0a000205)), 0);
	assert_int_equal(t.n_l2, 1);
	assert_int_equal(t.n_l3, 0);
	assert_int_equal(mg_pfx4_bytes(&t), 1024 * 256 + 512);
	mg_pfx4_free(&t);
}

static void test_errors(void **state)
{
	struct mg_ep4_key bad = { 33, 0 }, ok = { 8, htonl(0x0a000000) };
	struct mg_ep_val v = { .cluster_id = 1 }, zero = { 0 };
	struct mg_ep4_key *k;
	struct mg_ep_val *vv;
	struct mg_pfx4 t;
	size_t n = MG_PFX_L3_MAX + 1;

	(void)state;
	assert_int_equal(mg_pfx4_build(&t, &bad, &v, 1), -EINVAL);
	assert_int_equal(mg_pfx4_build(&t, &ok, &zero, 1), -EINVAL);
	/* One /25 in each of MG_PFX_L3_MAX + 1 /24s: one chunk too many. */
	k = calloc(n, sizeof(*k));
	vv = calloc(n, sizeof(*vv));
	assert_non_null(k);
	assert_non_null(vv);
	for (size_t i = 0; i < n; i++) {
		k[i].prefixlen = 25;
		k[i].addr = htonl((__u32)i << 8);
		vv[i].cluster_id = 1;
	}
	assert_int_equal(mg_pfx4_build(&t, k, vv, n - 1), 0);
	assert_int_equal(t.n_l3, MG_PFX_L3_MAX);
	mg_pfx4_free(&t);
	assert_int_equal(mg_pfx4_build(&t, k, vv, n), -E2BIG);
	assert_null(t.l2);
	free(k);
	free(vv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sets),
		cmocka_unit_test(test_every_length),
		cmocka_unit_test(test_duplicates_and_leaf),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
