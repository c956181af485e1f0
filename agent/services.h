/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Global services (DESIGN §2 path 3, §4 Health): the agent's half.
 *
 *   - services come from [service NAME] sections and from `meshgate
 *     services add` (kept in state_dir/services); a service another
 *     cluster advertises is learned from its backends' gossip, so every
 *     gateway knows every service;
 *   - this cluster's backends are probed here (TCP connect, rise/fall,
 *     health.h) and published in the replicated state (MG_STATE_BACKEND,
 *     value type MG_SVC_VT_BACKEND: weight, health, the service's
 *     affinity and min_local); other clusters' arrive the same way;
 *   - a backend serves while it is UP and its cluster has a live gateway;
 *     affinity and min_local choose which serving backends a service's
 *     Maglev table holds;
 *   - each table is built aside (a new inner map of mg_lbring) and swapped
 *     in with one update; backends get stable slots in mg_lbbe, and lose
 *     their LIVE flag only after no new table points at them, so
 *     established flows keep their backend until it is gone.
 */
#ifndef MG_SERVICES_H
#define MG_SERVICES_H

#include <stdbool.h>
#include "config.h"
#include "dpmaps.h"

struct mg_loop;
struct mg_state;
struct mg_cli;
struct mg_services;

#define MG_SVC_VT_BACKEND	16	/* value type tag in the replicated state */

/*
 * Map file descriptors of the datapath's service maps; the IPv6 ones may
 * be -1 (no IPv6 service is then written).
 */
struct mg_services_maps {
	int svc, be, ring, rev;
	int svc6, be6, rev6;
	int outlier;		/* mg_outlier; -1 (or 0): no outlier detection */
	int tc;			/* mg_svctc; -1: no traffic controls */
};

/*
 * 0 or -errno.  changed(arg) runs when a local backend's health changes
 * (the caller then calls mg_services_sync()).
 */
int mg_services_new(struct mg_loop *loop, const struct mg_config *cfg,
		    void (*changed)(void *arg), void *arg,
		    struct mg_services **out);
void mg_services_free(struct mg_services *s);

/*
 * Publish our backends in st (NULL: gossip is off), take the other
 * clusters' from it, and make the maps hold every service's table.
 * Returns 0 or the first -errno (the rest is still attempted).
 */
int mg_services_sync(struct mg_services *s, struct mg_state *st,
		     const struct mg_view *v, const struct mg_services_maps *m);

/* A backend as the table choice sees it. */
struct mg_svc_choice {
	bool local;		/* in this gateway's cluster */
	bool live;		/* UP, and its cluster has a live gateway */
	bool in_use;		/* out: in the service's Maglev table */
};

/**
 * mg_services_choose() - which live backends a service's table holds
 * @affinity:  enum mg_affinity
 * @min_local: with MG_AFFINITY_LOCAL, the live local backends below which
 *             the live remote ones join in
 * @c:         the backends; in_use is set on each
 * @n:         how many
 *
 * any: every live backend.  local: the live local ones, and the remote
 * ones too while fewer than @min_local (or no) local ones are live.
 * remote: the live remote ones, or the local ones when none is.
 */
void mg_services_choose(int affinity, unsigned int min_local,
			struct mg_svc_choice *c, int n);

/*
 * The VIPs of every known service (configured, added, or learned), each
 * once, at most max; returns how many.
 */
int mg_services_vips(const struct mg_services *s, struct mg_addr *out,
		     int max);

/* Control socket: services [list] | add NAME ... | set NAME ... | del NAME. */
int mg_services_cmd(struct mg_cli *cli, int argc, char **argv);

/*
 * "vip ADDR port N [proto tcp|udp] [affinity any|local|remote]
 * [min_local N] [backend ADDR:PORT[:WEIGHT]]..." into svc (name set by
 * the caller); ADDR IPv4 or IPv6 ([ADDR] in a backend), one family per
 * service.  Returns 0 or -EINVAL with a message in err.
 */
int mg_services_parse_args(struct mg_cfg_service *svc, int argc,
			   char **argv, char *err, size_t errlen);

#endif
