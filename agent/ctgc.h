/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's sweep of the service flow tables (mg_ct4_v2, mg_rnat4,
 * mg_ct6_v2, mg_rnat6).  The datapath alone decides whether a flow lives
 * (its expiry, datapath/ct.h) and takes over the SNAT port of one that is
 * over; this only removes what is over from the maps, so that the LRU
 * makes room with dead entries rather than live ones and `meshgate bpf ct
 * list` shows flows, not history.  A bounded slice of each map per tick,
 * so the event loop stays responsive whatever the maps hold.
 */
#ifndef MG_CTGC_H
#define MG_CTGC_H

#include <stdint.h>

struct mg_loop;
struct mg_ctgc;

/* Map file descriptors (-1: that family's maps are not swept). */
struct mg_ctgc_maps {
	int ct4, rnat4, ct6, rnat6;
};

/* An entry is removed this long after it expired (a margin for clocks). */
#define MG_CTGC_GRACE_NS	(10ULL * 1000000000ULL)
/* Each tick looks at up to this many entries of each map. */
#define MG_CTGC_BATCH		4096
#define MG_CTGC_PERIOD_MS	1000

/* Sweep the maps from the loop's timer; 0 or -errno. */
int mg_ctgc_new(struct mg_loop *loop, const struct mg_ctgc_maps *maps,
		struct mg_ctgc **out);
void mg_ctgc_free(struct mg_ctgc *gc);

/*
 * One slice of each map at time now_ns (CLOCK_MONOTONIC, as the
 * datapath's): up to budget entries each, continuing where the last one
 * stopped.  Returns the entries removed, or -errno.
 */
int mg_ctgc_step(struct mg_ctgc *gc, uint64_t now_ns, unsigned int budget);

/*
 * Keep circuit breaking's per-backend flow counts (mg_beflows, fd) true:
 * written after each whole pass over the flow tables (ctgc.c).
 */
void mg_ctgc_set_beflows(struct mg_ctgc *gc, int fd);

/* Created without a loop, for a caller (a test) that steps it itself. */
int mg_ctgc_open(const struct mg_ctgc_maps *maps, struct mg_ctgc **out);

#endif
