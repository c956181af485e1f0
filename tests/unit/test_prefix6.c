// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compiled IPv6 prefix table (agent/prefix6.c) answers as a reference
 * longest-prefix match over the same prefixes: random sets of nested
 * prefixes over up to MG_PFX6_LENS lengths of /0../128, after deletions,
 * duplicates and host bits left set; and its bounds.
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
#include "prefix6.h"

#define NPFX 1500
#define NADDR 10000

static __u64 rng = 0x9e3779b97f4a7c15ull;

static __u32 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (__u32)(rng >> 16);
}

/* Bit i (0: the first) of a network-order address. */
static int bit(const __u32 a[4], unsigned int i)
{
	return ((const __u8 *)a)[i / 8] >> (7 - i % 8) & 1;
}

static void set_bit(__u32 a[4], unsigned int i, int b)
{
	__u8 *p = (__u8 *)a;

	if (b)
		p[i / 8] |= 0x80 >> (i % 8);
	else
		p[i / 8] &= ~(0x80 >> (i % 8));
}

static int holds(const struct mg_ep6_key *k, const __u32 a[4])
{
	for (unsigned int i = 0; i < k->prefixlen; i++)
		if (bit(k->addr, i) != bit(a, i))
			return 0;
	return 1;
}

/* Reference: the leaf of the longest (then the last) prefix holding a. */
static __u16 ref_find(const struct mg_ep6_key *k, const struct mg_ep_val *v,
		      size_t n, const __u32 a[4])
{
	int best = -1;
	__u16 leaf = 0;

	for (size_t i = 0; i < n; i++)
		if (holds(&k[i], a) && (int)k[i].prefixlen >= best) {
			best = k[i].prefixlen;
			leaf = mg_pfx_leaf(&v[i]);
		}
	return leaf;
}

/*
 * n random prefixes over the lengths lens[0..nl): a third at random, the
 * rest inside (or beside) an earlier one sharing its bits.
 */
static void random_set(struct mg_ep6_key *k, struct mg_ep_val *v, size_t n,
		       const __u32 *lens, int nl)
{
	for (size_t i = 0; i < n; i++) {
		__u32 len = lens[rnd() % nl];

		for (int w = 0; w < 4; w++)
			k[i].addr[w] = rnd() ^ rnd() << 16;
		if (i && rnd() % 3) {
			const struct mg_ep6_key *p = &k[rnd() % i];
			unsigned int share = len < p->prefixlen ? len :
								  p->prefixlen;

			for (unsigned int b = 0; b < share; b++)
				set_bit(k[i].addr, b, bit(p->addr, b));
		}
		k[i].prefixlen = len; /* host bits left set on purpose */
		memset(&v[i], 0, sizeof(v[i]));
		v[i].cluster_id = 1 + rnd() % 255;
		v[i].flags = rnd() % 2 ? MG_EP_F_LOCAL : 0;
		v[i].version = rnd();
	}
}

/* Addresses inside the prefixes, at their edges, and at random. */
static void probe(const struct mg_ep6_key *k, size_t n, __u32 a[4])
{
	const struct mg_ep6_key *p;
	int edge;

	for (int w = 0; w < 4; w++)
		a[w] = rnd() ^ rnd() << 16;
	if (!n || rnd() % 4 == 0)
		return;
	p = &k[rnd() % n];
	edge = rnd() % 4;
	for (unsigned int b = 0; b < 128; b++) {
		if (b < p->prefixlen)
			set_bit(a, b, bit(p->addr, b));
		else if (edge < 2)
			set_bit(a, b, edge); /* first, last address */
	}
	/* edge 2: just past the prefix (the bit before it flipped) */
	if (edge == 2 && p->prefixlen)
		set_bit(a, p->prefixlen - 1, !bit(p->addr, p->prefixlen - 1));
}

static void check_against_ref(const struct mg_ep6_key *k,
			      const struct mg_ep_val *v, size_t n)
{
	struct mg_pfx6 t;

	assert_int_equal(mg_pfx6_build(&t, k, v, n, NPFX), 0);
	for (int i = 0; i < NADDR; i++) {
		__u32 a[4];
		__u16 want, got;

		probe(k, n, a);
		want = ref_find(k, v, n, a);
		got = mg_pfx6_find(&t, a);
		if (want != got) {
			char s[INET6_ADDRSTRLEN];

			fail_msg("%s: table %#x, reference %#x (%zu prefixes)",
				 inet_ntop(AF_INET6, a, s, sizeof(s)), got,
				 want, n);
		}
	}
	mg_pfx6_free(&t);
}

static void test_random_sets(void **state)
{
	struct mg_ep6_key *k = calloc(NPFX, sizeof(*k));
	struct mg_ep_val *v = calloc(NPFX, sizeof(*v));

	(void)state;
	assert_non_null(k);
	assert_non_null(v);
	for (int round = 0; round < 8; round++) {
		__u32 lens[MG_PFX6_LENS], base[4];
		size_t n = NPFX;
		int nl = 1 + round * 2;
		/* From round 4: every prefix shares its first s bits. */
		unsigned int s = round < 4 ? 0 : 16 + 23 * (round - 4);

		/* Round 0: one length; then more, edges of words among them. */
		for (int i = 0; i < nl && i < MG_PFX6_LENS; i++) {
			static const __u32 edges[] = { 0,  1,  31, 32,	33, 63,
						       64, 65, 96, 127, 128 };

			lens[i] = rnd() % 2 ? edges[rnd() % 11] : rnd() % 129;
			if (lens[i] < s)
				lens[i] = s + rnd() % (129 - s);
		}
		if (nl > MG_PFX6_LENS)
			nl = MG_PFX6_LENS;
		random_set(k, v, n, lens, nl);
		for (int w = 0; w < 4; w++)
			base[w] = rnd();
		for (size_t i = 0; i < n; i++)
			for (unsigned int b = 0; b < s; b++)
				set_bit(k[i].addr, b, bit(base, b));
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

/* Lengths at one address: each /L answers for its own range only. */
static void test_lengths(void **state)
{
	static const __u32 lens[] = { 0,  1,  16, 31, 32,  33,	48,  63,
				      64, 65, 80, 96, 112, 126, 127, 128 };
	struct mg_ep6_key k[16];
	struct mg_ep_val v[16];
	__u32 base[4];
	struct mg_pfx6 t;

	(void)state;
	inet_pton(AF_INET6, "fd00:1234:5678:9abc:def0:1357:9bdf:2468", base);
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 16; i++) {
		/* in reverse order: the compiler sorts */
		k[15 - i].prefixlen = lens[i];
		memcpy(k[15 - i].addr, base, 16);
		v[15 - i].cluster_id = 1 + i;
	}
	assert_int_equal(mg_pfx6_build(&t, k, v, 16, 16), 0);
	assert_int_equal(t.lens.n, 16);
	assert_int_equal(t.lens.l[0].len, 128);
	assert_int_equal(t.lens.l[15].len, 0);
	for (int i = 0; i < 16; i++) {
		__u32 a[4];

		memcpy(a, base, 16);
		/* flip bit lens[i]: inside /lens[i], outside the longer ones */
		if (lens[i] < 128)
			set_bit(a, lens[i], !bit(a, lens[i]));
		assert_int_equal(mg_pfx6_find(&t, a), 1 + i);
	}
	mg_pfx6_free(&t);
	/* Nothing: every address misses. */
	assert_int_equal(mg_pfx6_build(&t, k, v, 0, 16), 0);
	assert_int_equal(mg_pfx6_find(&t, base), 0);
	assert_int_equal(t.lens.n, 0);
	mg_pfx6_free(&t);
}

/* The same prefix twice (host bits apart): the later one answers. */
static void test_duplicates_and_leaf(void **state)
{
	struct mg_ep6_key k[2] = { { .prefixlen = 64 }, { .prefixlen = 64 } };
	struct mg_ep_val v[2] = { { .cluster_id = 3 },
				  { .cluster_id = 7, .flags = MG_EP_F_LOCAL } };
	struct mg_pfx6 t;
	__u32 a[4];

	(void)state;
	inet_pton(AF_INET6, "fd00:1::1", k[0].addr);
	inet_pton(AF_INET6, "fd00:1::2", k[1].addr);
	assert_int_equal(mg_pfx6_build(&t, k, v, 2, 2), 0);
	assert_int_equal(t.n, 1);
	inet_pton(AF_INET6, "fd00:1::ffff", a);
	assert_int_equal(mg_pfx6_find(&t, a), 7 | MG_PFX_LEAF_LOCAL);
	inet_pton(AF_INET6, "fd00:2::1", a);
	assert_int_equal(mg_pfx6_find(&t, a), 0);
	/* One element (80 bytes), one bucket (16), the lengths, 256 regions. */
	assert_int_equal(t.lens.c, 64);
	assert_int_equal(t.n_rgn, 1);
	assert_int_equal(mg_pfx6_bytes(&t),
			 80 + 16 + sizeof(struct mg_pfx6_lens) + 512);
	mg_pfx6_free(&t);
}

static void test_errors(void **state)
{
	struct mg_ep6_key bad = { .prefixlen = 129 }, k[MG_PFX6_LENS + 1];
	struct mg_ep_val v[MG_PFX6_LENS + 1], zero = { 0 };
	struct mg_pfx6 t;

	(void)state;
	memset(k, 0, sizeof(k));
	memset(v, 0, sizeof(v));
	v[0].cluster_id = 1;
	assert_int_equal(mg_pfx6_build(&t, &bad, v, 1, 10), -EINVAL);
	assert_int_equal(mg_pfx6_build(&t, k, &zero, 1, 10), -EINVAL);
	/* MG_PFX6_LENS lengths fit, one more does not. */
	for (int i = 0; i <= MG_PFX6_LENS; i++) {
		k[i].prefixlen = 8 * i;
		v[i].cluster_id = 1;
	}
	assert_int_equal(mg_pfx6_build(&t, k, v, MG_PFX6_LENS, 100), 0);
	mg_pfx6_free(&t);
	assert_int_equal(mg_pfx6_build(&t, k, v, MG_PFX6_LENS + 1, 100),
			 -E2BIG);
	assert_null(t.k);
	/* More prefixes than the bound. */
	assert_int_equal(mg_pfx6_build(&t, k, v, 4, 4), 0);
	mg_pfx6_free(&t);
	assert_int_equal(mg_pfx6_build(&t, k, v, 5, 4), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_sets),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_duplicates_and_leaf),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
