/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The view policy: the members gossip knows, their replicated endpoints and
 * the configuration turned into the gateways the agent programs.  Pure: no
 * sockets, no maps, no clock (the time is an input), no store; what it
 * remembers between builds (who was seen first, who was alive, whether we
 * are cut off) lives in struct mesh_policy, and what it has to say goes to
 * its log function.  Two steps, because the datapaths' word (liveness.h)
 * is asked about the rows the first step found:
 *
 *   mesh_policy_rows()  members + state + config -> rows: static peers,
 *                       gossiped gateways, siblings, conflicts (a cluster
 *                       id or name that disagrees, prefixes of two
 *                       clusters that overlap: the later gateway refused)
 *   (the caller sets each row's echo)
 *   mesh_policy_view()  rows + now -> the view: fail static (every peer
 *                       silent at once: keep the last view), hold_time for
 *                       a dead agent whose datapath answers, drain, our
 *                       cluster's prefixes and our siblings'
 */
#ifndef MG_MESH_POLICY_H
#define MG_MESH_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "dpmaps.h"
#include "liveness.h"
#include "memberlist/member.h"
#include "state/state.h"
#include "lib/log.h"

/* deaths this close before we find ourselves cut off are part of it */
/*
 * Names remembered across builds (struct seen), at most: twice the member
 * table, so that every member of this build and of the last one fits.  A
 * peer can make up names faster than the table reaps them; past this,
 * names no member of the last two builds carries are evicted (at most once
 * a build), and one that still finds no room is not remembered (counted).
 */
#define MESH_SEEN_MAX	(2 * MG_MEMBER_MAX_DEFAULT)

#define CUT_OFF_WINDOW_US (30ull * 1000000)

enum gw_state { GW_ALIVE, GW_SUSPECT, GW_DEAD, GW_LEFT, GW_STATIC };

extern const char *const gw_state_names[];

/* Remembered per gateway name across view builds. */
struct seen {
	char name[MG_STATE_NAME_MAX + 1];
	uint64_t order;		/* first seen: earlier wins a conflict */
	bool alive;		/* in the last view that was not cut off */
	bool refused;		/* its conflict was logged */
	bool forgotten;		/* out of the view until it is alive again */
	int was;		/* the state last logged (enum gw_state) */
	bool was_up;		/* ... and whether it carried traffic */
	uint64_t touched;	/* the last build that asked for it */
};

/* A gateway or other member, as the last view build saw it. */
struct row {
	char name[MG_STATE_NAME_MAX + 1];
	char cluster[MG_STATE_NAME_MAX + 1];
	__u8 cluster_id;
	struct mg_addr tunnel;		/* where we send to */
	struct mg_addr tunnel_alt;	/* its other family's, or unset */
	enum gw_state state;
	bool gateway;		/* has our tags */
	bool sibling;		/* a gateway of our own cluster */
	bool self;
	const char *conflict;	/* why it is refused, or NULL */
	char conflict_buf[128];
	uint32_t incarnation;
	int64_t rtt_us;
	int n_prefixes;
	const struct mg_prefix *prefixes;
	uint64_t order;
	uint64_t state_change;
	int origin;		/* state origin index, -1 none */
	bool draining;		/* its "mode" tag: withdrawn, still accepted */
	bool restarting;	/* its "mode" tag: its agent comes back */
	enum mg_echo_state echo;	/* its datapath (liveness.h) */
};

/* A member as gossip knows it, with the endpoints its state holds. */
struct mesh_member {
	struct mg_member_info info;
	const struct mg_prefix *prefixes;
	int n_prefixes;
	int origin;		/* its state's origin index, -1: none yet */
};

struct mesh_policy_in {
	const struct mg_config *cfg;
	bool gossip;		/* the membership engine runs */
	const struct mesh_member *members;	/* in the engine's order */
	int n_members;
	const struct mg_prefix *local;	/* ours: sorted, unique */
	int n_local;
	uint64_t now;		/* the engine's clock, microseconds */
	bool dp_cut_off;	/* every probed datapath silent (liveness.h) */
};

typedef void (*mesh_policy_log_fn)(enum mg_log_level level,
				   const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct mesh_policy {
	mesh_policy_log_fn log;	/* NULL: mg_log */
	/* the last build */
	struct row *rows;
	int n_rows, cap_rows;
	struct mg_view_gw *vgw;
	int cap_vgw;
	/* ours and our siblings': what the view calls local */
	struct mg_prefix *vlocal;
	int cap_vlocal;
	unsigned int hold_next_ms;	/* the first held gateway's hold end */
	/* remembered across builds */
	struct seen *seen;
	int n_seen, cap_seen;
	/*
	 * seen[] by name: open addressing, index + 1 (0: empty), a power
	 * of two >= 2 x cap_seen slots.  Each view build looks up every
	 * member: linearly, a flood of fake members made that quadratic
	 * (70% of the agent's CPU in strcmp, its CLI answers waiting).
	 */
	int *seen_idx;
	unsigned int seen_mask;
	unsigned int seen_max;	/* 0: MESH_SEEN_MAX */
	uint64_t build;		/* mesh_policy_rows() calls so far */
	uint64_t pruned;	/* the build of the last eviction pass */
	unsigned long long seen_evicted;	/* names evicted (bound) */
	unsigned long long seen_refused;	/* names not remembered */
	uint64_t order;
	bool cut_off;
};

/* The rows of @in; 0 or -ENOMEM. */
int mesh_policy_rows(struct mesh_policy *p, const struct mesh_policy_in *in);
/*
 * The view of the rows (their echo set); valid until the next build.
 * hold_next_ms: when to build again (0: no hold running).  0 or -ENOMEM.
 */
int mesh_policy_view(struct mesh_policy *p, const struct mesh_policy_in *in,
		     struct mg_view *view);
/*
 * The memory of @name, made on first sight; NULL: out of memory, or
 * MESH_SEEN_MAX names held (seen_refused counts it).
 */
struct seen *mesh_policy_seen(struct mesh_policy *p, const char *name);
/* The index of @name in seen[], or -1 (nothing added). */
int mesh_policy_seen_find(const struct mesh_policy *p, const char *name);
void mesh_policy_free(struct mesh_policy *p);

/* Whether a member's tags say role=meshgate (mesh/timers.c). */
bool mesh_is_gateway_meta(const uint8_t *meta, size_t len);
/* Prefixes by family, address, length (mesh/local.c). */
int mesh_prefix_cmp(const void *a, const void *b);

#endif
