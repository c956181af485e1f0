/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Outlier detection (Envoy's consecutive-failure ejection): the agent's
 * half.  The datapath counts, per backend slot, the new flows a backend
 * answered and those it refused (RST, ICMP unreachable: mg_outlier,
 * datapath/outlier.h); this keeps each backend's failures in a row from
 * those totals and ejects a backend whose run reaches a threshold, for a
 * time that doubles with each ejection in a row, never more of a
 * service's backends at once than a share of them.  An ejected backend
 * leaves the service's Maglev table as an unhealthy one does
 * (agent/services/outlier.c), and is gossiped so that every gateway ejects it.
 * The health check stays: outlier detection only ever takes a backend
 * out for a while, sooner.
 *
 * The state machine is pure (the caller brings the totals and the
 * clock); mg_outlier_read() reads one slot's totals from the map.
 */
#ifndef MG_OUTLIER_H
#define MG_OUTLIER_H

#include <stdbool.h>
#include <stdint.h>
#include <meshgate/abi.h>

#define MG_OUTLIER_CONSECUTIVE_DEFAULT 5
#define MG_OUTLIER_BASE_MS_DEFAULT 30000
#define MG_OUTLIER_MAX_PERCENT_DEFAULT 50
/* The longest one ejection lasts (Envoy's max_ejection_time default). */
#define MG_OUTLIER_MAX_MS 300000
/* How often the agent reads the counters. */
#define MG_OUTLIER_TICK_MS 100

struct mg_outlier_cfg {
	unsigned int consecutive; /* failures in a row; 0: off */
	unsigned int base_ms; /* the first ejection's length */
	unsigned int max_percent; /* of a service's backends at once */
};

/* One backend of one service (one datapath slot). */
struct mg_outlier_be {
	bool primed; /* ok, fail hold a reading */
	uint64_t ok, fail; /* the totals last read */
	unsigned int consec; /* failures in a row */
	unsigned int ejections; /* in a row: the time doubles */
	uint64_t until_ms; /* ejected until (monotonic); 0: not */
	uint64_t decay_ms; /* ejections falls by one then */
};

enum mg_outlier_event {
	MG_OUTLIER_NONE,
	MG_OUTLIER_EJECTED, /* ejected just now */
	MG_OUTLIER_RETURNED, /* its ejection is over */
};

/**
 * mg_outlier_update() - one reading of a backend's counters
 * @b:         the backend's state
 * @c:         its service's settings
 * @ok:        new flows it answered, in all (mg_outlier)
 * @fail:      new flows it refused, in all
 * @now_ms:    monotonic clock
 * @may_eject: the service's share of ejected backends leaves room
 *
 * Failures since the last reading add to the run, unless a success came
 * too: then the run starts over (within one reading their order is not
 * known; a backend that still answers some flows is not called an
 * outlier).  A run of @c->consecutive ejects the backend (when
 * @may_eject; else the run is kept until there is room) for @c->base_ms
 * times 2 for each ejection in a row before it, at most
 * MG_OUTLIER_MAX_MS (or base_ms, if longer).  Each base_ms spent back in
 * service forgives one ejection of the row.  Totals that went down (the
 * slot re-used, the map made anew) start the count over.
 *
 * Return: what changed, enum mg_outlier_event.
 */
enum mg_outlier_event mg_outlier_update(struct mg_outlier_be *b,
					const struct mg_outlier_cfg *c,
					uint64_t ok, uint64_t fail,
					uint64_t now_ms, bool may_eject);

static inline bool mg_outlier_ejected(const struct mg_outlier_be *b,
				      uint64_t now_ms)
{
	return b->until_ms && now_ms < b->until_ms;
}

/* How many of a service's n backends may be ejected at once. */
unsigned int mg_outlier_max_ejected(unsigned int n, unsigned int max_percent);

/* 0 with slot's totals over every CPU, or -errno. */
int mg_outlier_read(int fd, uint32_t slot, uint64_t *ok, uint64_t *fail);

#endif
