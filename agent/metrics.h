/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Prometheus metrics on HTTP ([metrics] listen), served by libmicrohttpd
 * from a thread of its own.  That thread touches no agent structure: it
 * reads the pinned maps (syscalls) and a text snapshot of the agent's
 * state (peers, gossip counters, backend health) that the event loop
 * renders once a second and publishes under a mutex.
 */
#ifndef MG_METRICS_H
#define MG_METRICS_H

#include <stdio.h>
#include "config.h"

struct mg_loop;
struct mg_metrics;

/*
 * Serve cfg->metrics_listen (nothing when its port is 0); agent is handed
 * to the control-socket listings (mg_agent_serve_status, ...) that the
 * snapshot is made of.  0 or -errno (logged).
 */
int mg_metrics_start(struct mg_loop *loop, const struct mg_config *cfg,
		     void *agent, struct mg_metrics **out);
void mg_metrics_stop(struct mg_metrics *m);

/* forward, drop or error: the class of a reason (enum mg_reason). */
const char *mg_metrics_reason_class(unsigned int reason);

/*
 * The whole exposition: build info, the datapath's counters, flows and
 * map occupancy from the maps pinned in pin_dir, then snapshot (the agent's
 * part, may be NULL).  0, or -errno when the counters cannot be read.
 */
/*
 * Entries of a map the agent knows without walking it (it wrote every one:
 * mg_ep4, mg_ep6 with 100k endpoints cost ~40 ms of get_next_key each
 * scrape otherwise).  entries < 0: not known, the map is walked.
 */
struct mg_metrics_known {
	const char *map;
	long long entries;
};

/* Where a scrape's time went (tests/bench/bench_metrics.c), in ns. */
struct mg_metrics_times {
	unsigned long long reasons, maps, flows, lbstats, total;
};

int mg_metrics_render(FILE *f, const char *pin_dir, const char *snapshot,
		      const struct mg_metrics_known *known, int n_known,
		      struct mg_metrics_times *times);

/*
 * The agent's part of the exposition from the JSON of `status`, `peers`
 * and `services` (any may be NULL): exposed for the tests.
 */
void mg_metrics_agent_part(FILE *f, const char *status, const char *peers,
			   const char *services);

/*
 * The agent's listings are flat enough to be read as a sequence of
 * "key": value pairs (arrays and objects only group them): fn gets each
 * scalar, strings unquoted, true/false/numbers as written.  s may be NULL.
 */
void mg_metrics_json_pairs(const char *s,
			   void (*fn)(const char *key, const char *val,
				      void *arg),
			   void *arg);

#endif
