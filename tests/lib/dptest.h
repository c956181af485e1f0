/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The table runner of the datapath tests (tests/datapath/): mg_xdp loaded
 * without pinning, one packet run through BPF_PROG_TEST_RUN, and the checks
 * every row makes: the verdict, exactly one reason counter up by one packet
 * of the output's length (all others unchanged), and the output packet
 * compared field by field.  The rows, the maps and what a row expects stay
 * in each test.
 */
#ifndef MG_TEST_DPTEST_H
#define MG_TEST_DPTEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <linux/bpf.h>		/* XDP_* verdicts */
#include <meshgate/abi.h>
#include "loader.h"
#include "lib/pkt.h"

/* A loaded datapath and the descriptors every row needs. */
struct mgt_dp {
	struct mg_dp dp;
	int prog;		/* mg_xdp */
	int tc_prog;		/* mg_tc_egress, on the same maps */
	int stats;		/* mg_stats */
};

/*
 * Load with settings s (nothing pinned), the namespace's interfaces
 * described in mg_ifs as the agent would (mgc0 the cluster side, mgu0
 * the underlay, lo both and without a MAC); 0, or -1 with a message.
 */
int mgt_dp_load(struct mgt_dp *t, const struct mg_dp_settings *s);
void mgt_dp_destroy(struct mgt_dp *t);

int mgt_dp_map(const struct mgt_dp *t, const char *name);

/* Write one map element; fails the running test when the kernel refuses. */
void mgt_map_put(int fd, const void *key, const void *val);
/* The same in the datapath's map of that name. */
void mgt_dp_put(const struct mgt_dp *t, const char *map, const void *key,
		const void *val);

/*
 * A new Maglev table for service id, every slot on backend slot, swapped
 * into mg_lbring whole (as the agent does), so a flow's backend is known.
 */
void mgt_ring_set(const struct mgt_dp *t, uint32_t id, uint32_t slot);

const char *mgt_verdict_name(int verdict);

/* The per-CPU counters of every reason, summed: sum[MG_REASON_MAX]. */
void mgt_dp_stats(const struct mgt_dp *t, struct mg_stat *sum);

/*
 * Run the program once on in (ingress ifindex, 0: the netns' loopback);
 * out gets the packet as it left.  Fails unless exactly one packet of out's
 * length was counted, under reason (MGT_COUNTS_NONE: none at all;
 * MGT_COUNTS_ANY: not checked).  Returns
 * the verdict.
 */
int mgt_dp_run(const struct mgt_dp *t, const struct pkt *in, struct pkt *out,
	       int ifindex, enum mg_reason reason);

/*
 * The same through the TC egress program, as sent out of device ifindex
 * (0: the loopback).  Returns the TC verdict.
 */
int mgt_dp_run_tc(const struct mgt_dp *t, const struct pkt *in,
		  struct pkt *out, int ifindex, enum mg_reason reason);

/* No counter may move; any may (the caller checks them). */
#define MGT_COUNTS_NONE		MG_REASON_MAX
#define MGT_COUNTS_ANY		((enum mg_reason)(MG_REASON_MAX + 1))

/*
 * The same for a packet the kernel received on device iif and routes out
 * of ifindex.
 */
int mgt_dp_run_tc_fwd(const struct mgt_dp *t, const struct pkt *in,
		      struct pkt *out, int ifindex, int iif,
		      enum mg_reason reason);

/* mgt_dp_run(), then fail unless the verdict is verdict. */
void mgt_dp_check(const struct mgt_dp *t, const struct pkt *in,
		  struct pkt *out, int ifindex, enum mg_reason reason,
		  int verdict);

/* Fail, with in, got and want dumped, unless got equals want. */
void mgt_expect_packet(const struct pkt *got, const struct pkt *want,
		       const struct pkt *in);

/*
 * Run one cmocka group: one test per row of a table of n_rows rows of
 * row_size bytes, each starting with its name (a const char *), run by fn
 * with the row as its state; then the n_extra tests of extra.  Returns the
 * number that failed.
 */
int mgt_run_table(const char *group, const void *rows, size_t n_rows,
		  size_t row_size, CMUnitTestFunction fn,
		  const struct CMUnitTest *extra, size_t n_extra,
		  CMFixtureFunction setup, CMFixtureFunction teardown);

/*
 * One cmocka group of a test that runs its rows under several fixtures
 * (settings): the head of each fixture struct.
 */
struct mgt_group {
	const char *name;
	const void *rows;
	size_t n_rows, row_size;
	const struct CMUnitTest *extra;	/* tests that are not one packet */
	size_t n_extra;
};

/* A table's rows, or its extra tests, for a struct mgt_group. */
#define MGT_ROWS(t)	(t), sizeof(t) / sizeof((t)[0]), sizeof((t)[0])
#define MGT_TESTS(t)	(t), sizeof(t) / sizeof((t)[0])

/*
 * mgt_run_table() for each of the n fixtures (size bytes each, starting
 * with a struct mgt_group), use(fixture) called first so that setup
 * finds it.  Returns the number of tests that failed.
 */
int mgt_run_fixtures(const void *fixtures, size_t n, size_t size,
		     void (*use)(const void *fixture), CMUnitTestFunction fn,
		     CMFixtureFunction setup, CMFixtureFunction teardown);

#endif
