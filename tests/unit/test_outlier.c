// SPDX-License-Identifier: GPL-2.0-only
/*
 * Outlier detection's ejection state machine (agent/outlier.c): the
 * threshold of failures in a row, a success starting the run over, the
 * ejection's length doubling on repeat up to its cap and forgiven with
 * time, the maximum share of a service, and the return to service.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "outlier.h"

static const struct mg_outlier_cfg cfg = {
	.consecutive = 5,
	.base_ms = 30000,
	.max_percent = 50,
};

/* A backend, its running totals and the clock. */
struct be {
	struct mg_outlier_be st;
	uint64_t ok, fail, now;
};

/* ok and fail more flows, t ms later. */
static enum mg_outlier_event step(struct be *b, uint64_t ok, uint64_t fail,
				  uint64_t t, bool may)
{
	b->ok += ok;
	b->fail += fail;
	b->now += t;
	return mg_outlier_update(&b->st, &cfg, b->ok, b->fail, b->now, may);
}

static void prime(struct be *b)
{
	b->now = 1000;
	b->ok = 100; /* flows before the agent looked: not counted */
	b->fail = 7;
	assert_int_equal(step(b, 0, 0, 0, true), MG_OUTLIER_NONE);
}

static void test_threshold(void **state)
{
	struct be b = { 0 };

	prime(&b);
	/* Four failures in a row: not yet. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(step(&b, 0, 1, 100, true), MG_OUTLIER_NONE);
	assert_int_equal(b.st.consec, 4);
	assert_false(mg_outlier_ejected(&b.st, b.now));
	/* The fifth: ejected for base_ms. */
	assert_int_equal(step(&b, 0, 1, 100, true), MG_OUTLIER_EJECTED);
	assert_true(mg_outlier_ejected(&b.st, b.now));
	assert_int_equal(b.st.until_ms, b.now + 30000);
	/* Several in one reading count as several. */
	struct be c = { 0 };

	prime(&c);
	assert_int_equal(step(&c, 0, 3, 100, true), MG_OUTLIER_NONE);
	assert_int_equal(step(&c, 0, 2, 100, true), MG_OUTLIER_EJECTED);
}

static void test_success_resets(void **state)
{
	struct be b = { 0 };

	prime(&b);
	for (int i = 0; i < 4; i++)
		step(&b, 0, 1, 100, true);
	assert_int_equal(step(&b, 1, 0, 100, true), MG_OUTLIER_NONE);
	assert_int_equal(b.st.consec, 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(step(&b, 0, 1, 100, true), MG_OUTLIER_NONE);
	/* A reading with both: the run starts over. */
	assert_int_equal(step(&b, 1, 3, 100, true), MG_OUTLIER_NONE);
	assert_int_equal(b.st.consec, 0);
	assert_false(mg_outlier_ejected(&b.st, b.now));
	/* Off: never ejected. */
	struct mg_outlier_cfg off = cfg;
	struct mg_outlier_be o = { 0 };

	off.consecutive = 0;
	mg_outlier_update(&o, &off, 0, 0, 0, true);
	assert_int_equal(mg_outlier_update(&o, &off, 0, 1000, 10, true),
			 MG_OUTLIER_NONE);
	assert_false(mg_outlier_ejected(&o, 10));
}

static void test_doubling_and_return(void **state)
{
	struct be b = { 0 };
	uint64_t want = 30000;

	prime(&b);
	for (int round = 1; round <= 6; round++) {
		assert_int_equal(step(&b, 0, 5, 100, true), MG_OUTLIER_EJECTED);
		assert_int_equal(b.st.until_ms - b.now, want);
		/* Its old flows' refusals meanwhile change nothing. */
		assert_int_equal(step(&b, 0, 9, want - 1, true),
				 MG_OUTLIER_NONE);
		assert_true(mg_outlier_ejected(&b.st, b.now));
		/* Back in service when the time is up, its run at 0. */
		assert_int_equal(step(&b, 0, 0, 1, true), MG_OUTLIER_RETURNED);
		assert_false(mg_outlier_ejected(&b.st, b.now));
		assert_int_equal(b.st.consec, 0);
		want = want * 2 > MG_OUTLIER_MAX_MS ? MG_OUTLIER_MAX_MS :
						      want * 2;
	}
	/* 30, 60, 120, 240, then the 300 s cap. */
	assert_int_equal(want, MG_OUTLIER_MAX_MS);
}

static void test_forgiven(void **state)
{
	struct be b = { 0 };

	prime(&b);
	assert_int_equal(step(&b, 0, 5, 100, true), MG_OUTLIER_EJECTED);
	assert_int_equal(step(&b, 0, 0, 30000, true), MG_OUTLIER_RETURNED);
	assert_int_equal(b.st.ejections, 1);
	/* base_ms in service, answering: one ejection of the row forgiven. */
	assert_int_equal(step(&b, 5, 0, 30000, true), MG_OUTLIER_NONE);
	assert_int_equal(b.st.ejections, 0);
	/* So the next ejection is base_ms again, not twice it. */
	assert_int_equal(step(&b, 0, 5, 100, true), MG_OUTLIER_EJECTED);
	assert_int_equal(b.st.until_ms - b.now, 30000);
}

static void test_max_share(void **state)
{
	struct be b = { 0 };

	assert_int_equal(mg_outlier_max_ejected(2, 50), 1);
	assert_int_equal(mg_outlier_max_ejected(3, 50), 1);
	assert_int_equal(mg_outlier_max_ejected(4, 50), 2);
	assert_int_equal(mg_outlier_max_ejected(1, 50), 0);
	assert_int_equal(mg_outlier_max_ejected(10, 0), 0);
	assert_int_equal(mg_outlier_max_ejected(7, 100), 7);

	/* No room: the run is kept, and ejects once there is room. */
	prime(&b);
	assert_int_equal(step(&b, 0, 6, 100, false), MG_OUTLIER_NONE);
	assert_false(mg_outlier_ejected(&b.st, b.now));
	assert_int_equal(b.st.consec, 6);
	assert_int_equal(step(&b, 0, 0, 100, true), MG_OUTLIER_EJECTED);
}

static void test_counters_reset(void **state)
{
	struct be b = { 0 };

	prime(&b);
	step(&b, 0, 3, 100, true);
	/* The slot re-used or the map made anew: totals fall. */
	b.ok = 0;
	b.fail = 1;
	assert_int_equal(step(&b, 0, 0, 100, true), MG_OUTLIER_NONE);
	assert_int_equal(b.st.consec, 3 + 1); /* the one counted anew */
	assert_int_equal(step(&b, 0, 1, 100, true), MG_OUTLIER_EJECTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_success_resets),
		cmocka_unit_test(test_doubling_and_return),
		cmocka_unit_test(test_forgiven),
		cmocka_unit_test(test_max_share),
		cmocka_unit_test(test_counters_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
