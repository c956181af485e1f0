// SPDX-License-Identifier: GPL-2.0-only
/*
 * Weighted Maglev: shares follow weights, little disruption when a backend
 * goes, the table depends on the set of backends only, and the id hash
 * matches SipHash-2-4's reference vectors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "maglev.h"

#define MAX_BACKENDS	64

static const unsigned int sizes[] = {
	MG_MAGLEV_SIZE_SMALL, MG_MAGLEV_SIZE_LARGE,
};

/* What the services code will hash: a backend's address, port and cluster. */
struct backend_key {
	__u32 addr;
	__u16 port;
	__u8 cluster;
	__u8 pad;
};

static __u64 backend_id(unsigned int i)
{
	struct backend_key k = {
		.addr = 0x0a000000 + i, .port = 8080, .cluster = 1 + i % 3,
	};

	return mg_maglev_backend_id(&k, sizeof(k));
}

enum weights { W_EQUAL, W_1234, W_1_100 };
static const char *const weight_names[] = { "equal", "1,2,3,4", "1,100" };

static __u32 weight_of(enum weights w, unsigned int i)
{
	switch (w) {
	case W_1234:
		return 1 + i % 4;
	case W_1_100:
		return i % 2 ? 100 : 1;
	default:
		return 1;
	}
}

static void make_backends(struct mg_maglev_backend *b, unsigned int n,
			  enum weights w)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		b[i].id = backend_id(i);
		b[i].weight = weight_of(w, i);
	}
}

/* The table with ids instead of indices, to compare across b[] orders. */
static void table_ids(const struct mg_maglev_backend *b, const __u32 *t,
		      unsigned int size, __u64 *ids)
{
	unsigned int i;

	for (i = 0; i < size; i++)
		ids[i] = t[i] == MG_MAGLEV_EMPTY ? 0 : b[t[i]].id;
}

/* Reorder b[] by a fixed pseudo-random permutation (Fisher-Yates, LCG). */
static void shuffle(struct mg_maglev_backend *b, unsigned int n, __u32 seed)
{
	struct mg_maglev_backend tmp;
	unsigned int i, j;

	for (i = n; i > 1; i--) {
		seed = seed * 1664525 + 1013904223;
		j = (seed >> 8) % i;
		tmp = b[i - 1];
		b[i - 1] = b[j];
		b[j] = tmp;
	}
}

static void test_siphash_vectors(void **state)
{
	__u8 msg[15];
	unsigned int i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = i;
	/* SipHash-2-4, key 00..0f, message 00..(len-1): vectors.h, and the
	 * paper's appendix for 15 bytes. */
	assert_true(mg_maglev_backend_id(msg, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(mg_maglev_backend_id(msg, 8) == 0x93f5f5799a932462ULL);
	assert_true(mg_maglev_backend_id(msg, 15) == 0xa129ca6149be45e5ULL);
}

static void test_is_prime(void **state)
{
	assert_true(mg_maglev_is_prime(MG_MAGLEV_SIZE_SMALL));
	assert_true(mg_maglev_is_prime(MG_MAGLEV_SIZE_LARGE));
	assert_true(mg_maglev_is_prime(2));
	assert_true(mg_maglev_is_prime(4294967291u));
	assert_false(mg_maglev_is_prime(0));
	assert_false(mg_maglev_is_prime(1));
	assert_false(mg_maglev_is_prime(16384));
	assert_false(mg_maglev_is_prime(65536));
	assert_false(mg_maglev_is_prime(16383));	/* 3 * 43 * 127 */
	assert_false(mg_maglev_is_prime(65521u * 65519u));
}

/*
 * Every backend's slots against its weight's share of the table, for
 * n = 1..64.  Allowed: 1% of its expected slots, or 2 slots where 1% is
 * less than that (a slot is 6% of a weight-1 backend's share among 32 of
 * weight 100).
 */
static void check_shares(unsigned int size, enum weights w, __u32 *t)
{
	struct mg_maglev_backend b[MAX_BACKENDS];
	unsigned int n, i, count[MAX_BACKENDS];
	double worst_pts = 0, worst_rel = 0, worst_slots = 0;
	double total, want, diff;

	for (n = 1; n <= MAX_BACKENDS; n++) {
		make_backends(b, n, w);
		assert_int_equal(mg_maglev_build(b, n, size, t), 0);
		memset(count, 0, sizeof(count));
		for (i = 0; i < size; i++) {
			assert_true(t[i] < n);
			count[t[i]]++;
		}
		for (i = 0, total = 0; i < n; i++)
			total += b[i].weight;
		for (i = 0; i < n; i++) {
			want = size * b[i].weight / total;
			diff = count[i] > want ? count[i] - want
					       : want - count[i];
			assert_true(diff <= (want / 100 > 2 ? want / 100 : 2));
			if (diff > worst_slots)
				worst_slots = diff;
			if (diff * 100 / size > worst_pts)
				worst_pts = diff * 100 / size;
			if (want >= 100 && diff / want > worst_rel)
				worst_rel = diff / want;
		}
	}
	printf("  shares, %5u slots, weights %-7s n=1..%u: worst %.2f slots "
	       "= %.4f%% of the table, %.3f%% of a share of >= 100 slots\n",
	       size, weight_names[w], MAX_BACKENDS, worst_slots, worst_pts,
	       worst_rel * 100);
}

static void test_shares(void **state)
{
	__u32 *t = malloc(MG_MAGLEV_SIZE_LARGE * sizeof(*t));
	unsigned int si, w;

	assert_non_null(t);
	for (si = 0; si < 2; si++)
		for (w = W_EQUAL; w <= W_1_100; w++)
			check_shares(sizes[si], w, t);
	free(t);
}

/*
 * Remove one of N backends: the slots that change are the removed one's
 * plus a few others ("extra churn"); putting it back (at another place in
 * b[]) gives the original table exactly.  Every victim is tried at the
 * small size, every (N/4)-th one at the large size.
 *
 * Extra churn is Maglev's price for its balance and shrinks with the slots
 * per backend: at 65537 slots it stays under 0.6% for every victim.  At
 * 16381 slots the mean over victims stays under 1% but single victims
 * reach 1.1% from N = 26 on, hence the separate worst-victim bound.
 */
static void check_disruption(unsigned int size, enum weights w,
			     double max_extra_pct, double max_mean_pct)
{
	struct mg_maglev_backend b[32], r[32];
	unsigned int n, k, i, moved, extra, stride, victims, worst_n = 0;
	double worst = 0, worst_mean = 0, e, sum, total, share;
	__u32 *t = malloc(size * sizeof(*t)), *t2 = malloc(size * sizeof(*t));
	__u64 *before = malloc(size * sizeof(__u64));
	__u64 *after = malloc(size * sizeof(__u64));

	assert_true(t && t2 && before && after);
	for (n = 2; n <= 32; n++) {
		make_backends(b, n, w);
		for (i = 0, total = 0; i < n; i++)
			total += b[i].weight;
		assert_int_equal(mg_maglev_build(b, n, size, t), 0);
		table_ids(b, t, size, before);

		stride = size == MG_MAGLEV_SIZE_LARGE && n >= 4 ? n / 4 : 1;
		for (k = 0, sum = 0, victims = 0; k < n; k += stride) {
			memcpy(r, b, sizeof(b));
			r[k] = r[n - 1];
			assert_int_equal(mg_maglev_build(r, n - 1, size, t2),
					 0);
			table_ids(r, t2, size, after);

			moved = extra = 0;
			for (i = 0; i < size; i++) {
				if (before[i] == after[i])
					continue;
				moved++;
				extra += before[i] != b[k].id;
			}
			e = extra * 100.0 / size;
			share = b[k].weight * 100.0 / total;
			assert_true(e <= max_extra_pct);
			assert_true(moved * 100.0 / size <=
				    share + max_extra_pct + 200.0 / size);
			sum += e;
			victims++;
			if (e > worst) {
				worst = e;
				worst_n = n;
			}

			/* back in, last instead of at k */
			r[n - 1] = b[k];
			assert_int_equal(mg_maglev_build(r, n, size, t2), 0);
			table_ids(r, t2, size, after);
			assert_memory_equal(before, after,
					    size * sizeof(__u64));
		}
		assert_true(sum / victims <= max_mean_pct);
		if (sum / victims > worst_mean)
			worst_mean = sum / victims;
	}
	printf("  removal, %5u slots, weights %-7s N=2..32: extra churn "
	       "worst victim %.3f%% (N=%u), worst mean over victims %.3f%%\n",
	       size, weight_names[w], worst, worst_n, worst_mean);
	free(after);
	free(before);
	free(t2);
	free(t);
}

static void test_disruption(void **state)
{
	check_disruption(MG_MAGLEV_SIZE_SMALL, W_EQUAL, 1.25, 1.0);
	check_disruption(MG_MAGLEV_SIZE_SMALL, W_1234, 1.25, 1.0);
	check_disruption(MG_MAGLEV_SIZE_LARGE, W_EQUAL, 1.0, 1.0);
	check_disruption(MG_MAGLEV_SIZE_LARGE, W_1234, 1.0, 1.0);
}

static void test_order_independent(void **state)
{
	enum { SZ = MG_MAGLEV_SIZE_SMALL };
	struct mg_maglev_backend b[MAX_BACKENDS], s[MAX_BACKENDS];
	static __u32 t[SZ], t2[SZ];
	static __u64 a[SZ], c[SZ];
	unsigned int w, seed;

	for (w = W_EQUAL; w <= W_1_100; w++) {
		make_backends(b, MAX_BACKENDS, w);
		assert_int_equal(mg_maglev_build(b, MAX_BACKENDS, SZ, t), 0);
		table_ids(b, t, SZ, a);
		for (seed = 1; seed <= 5; seed++) {
			memcpy(s, b, sizeof(b));
			shuffle(s, MAX_BACKENDS, seed);
			assert_int_equal(mg_maglev_build(s, MAX_BACKENDS, SZ,
							 t2), 0);
			table_ids(s, t2, SZ, c);
			assert_memory_equal(a, c, sizeof(a));
		}
	}
}

/*
 * Pins the table itself: every gateway (and every version of the agent
 * during an upgrade) must build the same table from the same backends.
 * If this fails the algorithm changed, which is an upgrade concern.
 */
static void test_golden(void **state)
{
	struct mg_maglev_backend b[4];
	__u32 t[MG_MAGLEV_SIZE_SMALL];

	make_backends(b, 4, W_1234);
	assert_int_equal(mg_maglev_build(b, 4, MG_MAGLEV_SIZE_SMALL, t), 0);
	assert_true(mg_maglev_backend_id(t, sizeof(t)) ==
		    0xf3af67dcc44bd7c7ULL);
}

static void test_weight_zero(void **state)
{
	struct mg_maglev_backend b[8], live[4];
	__u32 t[MG_MAGLEV_SIZE_SMALL], t2[MG_MAGLEV_SIZE_SMALL];
	static __u64 a[MG_MAGLEV_SIZE_SMALL], c[MG_MAGLEV_SIZE_SMALL];
	unsigned int i, m = 0;

	make_backends(b, 8, W_1234);
	for (i = 0; i < 8; i += 2)
		b[i].weight = 0;
	for (i = 0; i < 8; i++)
		if (b[i].weight)
			live[m++] = b[i];
	assert_int_equal(mg_maglev_build(b, 8, MG_MAGLEV_SIZE_SMALL, t), 0);
	for (i = 0; i < MG_MAGLEV_SIZE_SMALL; i++)
		assert_true(t[i] < 8 && t[i] % 2 == 1);
	assert_int_equal(mg_maglev_build(live, m, MG_MAGLEV_SIZE_SMALL, t2), 0);
	table_ids(b, t, MG_MAGLEV_SIZE_SMALL, a);
	table_ids(live, t2, MG_MAGLEV_SIZE_SMALL, c);
	assert_memory_equal(a, c, sizeof(a));
}

static void test_empty(void **state)
{
	struct mg_maglev_backend b[3];
	__u32 t[MG_MAGLEV_SIZE_SMALL];
	unsigned int i;

	memset(t, 0, sizeof(t));
	assert_int_equal(mg_maglev_build(NULL, 0, MG_MAGLEV_SIZE_SMALL, t), 0);
	for (i = 0; i < MG_MAGLEV_SIZE_SMALL; i++)
		assert_int_equal(t[i], MG_MAGLEV_EMPTY);

	make_backends(b, 3, W_EQUAL);
	for (i = 0; i < 3; i++)
		b[i].weight = 0;
	memset(t, 0, sizeof(t));
	assert_int_equal(mg_maglev_build(b, 3, MG_MAGLEV_SIZE_SMALL, t), 0);
	for (i = 0; i < MG_MAGLEV_SIZE_SMALL; i++)
		assert_int_equal(t[i], MG_MAGLEV_EMPTY);
}

static void test_errors(void **state)
{
	struct mg_maglev_backend b[4];
	__u32 t[MG_MAGLEV_SIZE_SMALL + 3];

	make_backends(b, 4, W_EQUAL);
	assert_int_equal(mg_maglev_build(b, 4, 16384, t), -EINVAL);
	assert_int_equal(mg_maglev_build(b, 4, 16383, t), -EINVAL);
	assert_int_equal(mg_maglev_build(b, 4, 1, t), -EINVAL);
	assert_int_equal(mg_maglev_build(b, 4, 0, t), -EINVAL);
	assert_int_equal(mg_maglev_build(NULL, 0, 16384, t), -EINVAL);

	b[2].weight = MG_MAGLEV_WEIGHT_MAX + 1;
	assert_int_equal(mg_maglev_build(b, 4, MG_MAGLEV_SIZE_SMALL, t),
			 -EINVAL);
	b[2].weight = MG_MAGLEV_WEIGHT_MAX;
	assert_int_equal(mg_maglev_build(b, 4, MG_MAGLEV_SIZE_SMALL, t), 0);

	b[3].id = b[1].id;	/* two backends, one id */
	assert_int_equal(mg_maglev_build(b, 4, MG_MAGLEV_SIZE_SMALL, t),
			 -EINVAL);
	b[3].weight = 0;	/* ... unless one of them is left out */
	assert_int_equal(mg_maglev_build(b, 4, MG_MAGLEV_SIZE_SMALL, t), 0);

	make_backends(b, 4, W_EQUAL);
	assert_int_equal(mg_maglev_build(b, 4, 3, t), -E2BIG);
	assert_int_equal(mg_maglev_build(b, 3, 3, t), 0);
}

/* Not asserted: how long the agent blocks when a service changes. */
static void test_build_time(void **state)
{
	struct mg_maglev_backend b[MAX_BACKENDS];
	__u32 *t = malloc(MG_MAGLEV_SIZE_LARGE * sizeof(*t));
	struct timespec t0, t1;
	double ms, best = 1e9, sum = 0;
	int i, runs = 10;

	assert_non_null(t);
	make_backends(b, MAX_BACKENDS, W_1234);
	for (i = 0; i < runs; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(mg_maglev_build(b, MAX_BACKENDS,
						 MG_MAGLEV_SIZE_LARGE, t), 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (t1.tv_sec - t0.tv_sec) * 1e3 +
		     (t1.tv_nsec - t0.tv_nsec) / 1e6;
		sum += ms;
		if (ms < best)
			best = ms;
	}
	printf("  build time, %u backends x %u slots: best %.3f ms, "
	       "mean %.3f ms over %d runs\n", MAX_BACKENDS,
	       MG_MAGLEV_SIZE_LARGE, best, sum / runs, runs);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test(test_is_prime),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_disruption),
		cmocka_unit_test(test_order_independent),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_weight_zero),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_build_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
