/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The mesh: membership (memberlist, memberlist/member.h) and the replicated
 * endpoint state (state/state.h) of this gateway, glued together and
 * turned into the agent's view of the remote gateways (dpmaps.h).
 *
 *   - our Member Meta carries serf tags: cluster, cluster_id, tunnel,
 *     role=meshgate, so `serf members` shows them;
 *   - our cluster's endpoints are ours to write: from the configuration,
 *     from `meshgate endpoints add` (kept in state_dir) and from kernel
 *     routes; everyone else's arrive by gossip;
 *   - state messages ride in memberlist user messages in an envelope that
 *     names the sender, so a digest can be answered with what it lacks,
 *     and go to gateways only;
 *   - to serf agents in the pool we are a serf member (serf/serf.h):
 *     serf's push/pull state (ours rides inside it), intents and clocks.
 */
#ifndef MG_MESH_H
#define MG_MESH_H

#include <stdbool.h>
#include "config.h"
#include "dpmaps.h"

struct mg_loop;
struct mg_mesh;
struct mg_cli;
struct mg_state;

struct mg_mesh_ops {
	/* The view changed (members, their state or endpoints): resync. */
	void (*changed)(void *arg);
};

/* 0 or -errno; a disabled [gossip] gives a mesh of static peers only. */
int mg_mesh_new(struct mg_loop *loop, const struct mg_config *cfg,
		const struct mg_mesh_ops *ops, void *arg,
		struct mg_mesh **out);
void mg_mesh_free(struct mg_mesh *mesh);
/*
 * Leave the mesh gracefully: serf's leave intent, then our own death
 * (From = self), so peers show "left"; done() runs when it has been sent.
 */
int mg_mesh_leave(struct mg_mesh *mesh, void (*done)(void *arg), void *arg);

/*
 * The current view: remote gateways (gossiped and static) with their
 * liveness and prefixes, and our local prefixes.  Valid until the mesh
 * runs again; the gossiped gateways' prefix lists only until the event
 * loop's next turn (they are released then: read them in the turn that
 * built the view).  Conflicting gateways are left out (and shown by
 * `peers`).
 */
int mg_mesh_view(struct mg_mesh *mesh, struct mg_view *view);

/*
 * False until the gateways this one expects (seeds, the ones the last run
 * saw) have been heard from; meanwhile the agent withdraws nothing.  Only
 * gateways that can send state count (not a member merely tagged
 * role=meshgate, nor one refused as a conflict), and one that stays silent
 * is waited for [gossip] settle_timeout at most, once another was heard.
 */
bool mg_mesh_settled(struct mg_mesh *mesh);

/*
 * Drain (on) or undrain: our "mode" tag tells every peer to withdraw us
 * from its slot tables (they go on taking our tunnel traffic), kept in
 * state_dir across restarts; drain_hook runs.  0, -EALREADY, -ENOTCONN
 * (gossip off).
 */
int mg_mesh_drain(struct mg_mesh *mesh, bool on);
bool mg_mesh_draining(const struct mg_mesh *mesh);
/* Tell the peers our agent restarts (they log "restarting", not "dead"). */
int mg_mesh_announce_restart(struct mg_mesh *mesh);

/* For `meshgate status`: gossip traffic and what was rejected. */
void mg_mesh_print_counters(struct mg_mesh *mesh);

/* Replace the endpoints learned from kernel routes. */
void mg_mesh_set_route_endpoints(struct mg_mesh *mesh,
				 const struct mg_prefix *p, int n);

/*
 * After a reload changed the configuration the mesh reads (its cfg, in
 * place): our endpoints again from [cluster] cidr (gossiped; the maps
 * follow the view) ...
 */
void mg_mesh_reload_local(struct mg_mesh *mesh);
/*
 * ... and the keyring from the key lines (the first sends, all are
 * taken): 0, 1 when the keyring file of `meshgate keys` outranks them
 * (nothing changed), or -errno (the running keyring kept).
 */
int mg_mesh_reload_keys(struct mg_mesh *mesh);

/* The replicated state (services publish their backends in it); NULL
 * when gossip is off. */
struct mg_state *mg_mesh_state(struct mg_mesh *mesh);

/* Control-socket commands: peers, endpoints, keys. */
int mg_mesh_cmd_peers(struct mg_cli *cli, int argc, char **argv);
int mg_mesh_cmd_endpoints(struct mg_cli *cli, int argc, char **argv);
int mg_mesh_cmd_keys(struct mg_cli *cli, int argc, char **argv);

#endif
