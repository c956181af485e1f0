/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The mesh: membership + replicated state -> the agent's view.  Its
 * insides, shared by the files of agent/mesh/ and the mesh commands: the
 * one struct mg_mesh and the functions one file calls in another.  Callers
 * outside use mesh.h.
 *
 *   mesh/life.c      the engine started, the mesh made and freed
 *   mesh/delegate.c  the membership engine's delegate, serf's intents
 *   mesh/messages.c  our state messages
 *   mesh/timers.c    anti-entropy, rejoin, garbage collection
 *   mesh/local.c     our own endpoints
 *   mesh/view.c      the view built, settling, the status counters
 *   mesh/policy.c    the view policy, pure (policy.h)
 *   mesh/drain.c     drain, undrain, restart
 *   mesh/persist.c, mesh/keyring.c   files in state_dir
 *   cmd_peers.c, cmd_keys.c          the commands
 */
#ifndef MG_MESH_INT_H
#define MG_MESH_INT_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "mesh.h"
#include "cli.h"
#include "liveness.h"
#include "memberlist/member.h"
#include "serf/serf.h"
#include "serf/serfquery.h"
#include "state/state.h"
#include "state/statewire.h"
#include "serf/tags.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/out.h"
#include "lib/persist.h"
#include "mesh/policy.h"

#define ENV_MAGIC	0x47	/* 'G': our envelope around state messages */
#define ENV_FORMAT	1
#define ENV_HDR_MAX	(3 + MG_STATE_NAME_MAX)
#define STREAM_BUDGET	(2 * 1024 * 1024)	/* state per TCP user message */
#define PUSHPULL_BUDGET	(32 * 1024)	/* our digest + rumour in push/pull */
#define GC_MS		10000
#define MAX_CLI_EPS	1024
#define REJOIN_AE	5	/* rejoin check every 5 anti-entropy rounds */
#define REJOIN_MAX	16	/* addresses tried per check */
#define SERF_SAVE_AE	30	/* serf's clocks saved every 30 AE rounds */

struct mg_mesh {
	struct mg_loop *loop;
	const struct mg_config *cfg;
	struct mg_mesh_ops ops;
	void *arg;
	struct mg_member *member;
	struct mg_state *st;
	struct mg_keyring kr;
	struct mg_loop_src *ae_timer, *gc_timer, *leave_timer, *rejoin_timer;
	struct mg_loop_src *settle_timer;
	struct mg_serf *serf;		/* serf's clocks and intents */
	struct mg_serf_clock serf_saved;	/* as last written */
	char serf_path[PATH_MAX + 16];
	bool serf_joined;	/* join intent sent after a successful join */
	struct keyq *keyq;	/* our mesh-wide key query, until read */
	unsigned int serf_save_round;
	void (*left)(void *arg);	/* mg_mesh_leave() finished */
	void *left_arg;
	unsigned int ae_ms;
	unsigned int retransmit_mult;

	/* local endpoint sources */
	struct mg_prefix cli_eps[MAX_CLI_EPS];
	int n_cli_eps;
	struct mg_prefix *route_eps;
	int n_route_eps;
	struct mg_prefix *local;	/* union, for the view */
	int n_local;

	/* the last view (policy.h), and what it was built from */
	struct mesh_policy pol;
	struct mesh_member *members;
	int cap_members;
	struct mg_prefix *pfx;
	size_t cap_pfx;
	/* mesh->pfx released once the turn that built the view is over */
	struct mg_loop_src *release_timer;
	bool in_recv;		/* merging a message: one change for all of it */
	bool recv_changed;
	bool join_failed;	/* the last join reached nobody, logged */

	char eps_path[PATH_MAX + 16];
	char keys_path[PATH_MAX + 16];
	char members_path[PATH_MAX + 16];
	bool expect_peers;	/* seeds or remembered gateways to hear from */
	unsigned long long state_in, state_rejected;	/* state messages */
	bool settled;		/* ... and we have heard from them */
	bool settle_expired;	/* settle_timeout passed */
	uint64_t started_ms;
	int settle_pending;	/* live gateways not heard from yet */
	char members_saved[REJOIN_MAX * (MG_ADDRSTRLEN + 10)];
	/* the last run's live gateways, read at start */
	char known[REJOIN_MAX][MG_ADDRSTRLEN + 10];
	int n_known;

	/* data-plane liveness, drain, restart (liveness.h) */
	struct mg_liveness *lv;
	struct mg_loop_src *hold_timer;	/* a held gateway's hold ends */
	const char *mode;		/* our "mode" tag, NULL: none */
	char drain_path[PATH_MAX + 16];	/* state_dir/draining: kept drained */
};

static inline void mesh_changed(struct mg_mesh *mesh)
{
	if (mesh->ops.changed)
		mesh->ops.changed(mesh->arg);
}

/* persist.c: files in state_dir */
int mesh_read_lines(const char *path,
		    int (*fn)(void *ctx, const char *line, int lineno),
		    void *ctx);
int mesh_load_cli_ep(void *ctx, const char *line, int lineno);
int mesh_save_cli_eps(struct mg_mesh *mesh, const struct mg_prefix *eps, int n);

/* keyring.c: the keyring file */
void mesh_key_b64(const struct mg_key *k, char *out, size_t len);
int mesh_load_key(void *ctx, const char *line, int lineno);
int mesh_save_keys(struct mg_mesh *mesh, const struct mg_keyring *kr);

/* messages.c */
int mesh_envelope(const struct mg_mesh *mesh, struct mg_buf *out);
void mesh_send_to(struct mg_mesh *mesh, const char *name,
		  const struct mg_buf *body);
void mesh_handle_msg(struct mg_mesh *mesh, const uint8_t *p, size_t n);
unsigned int mesh_retransmit_limit(const struct mg_mesh *mesh);

/* delegate.c: the membership engine's delegate */
void mesh_on_member(void *arg, const struct mg_member_info *mi);
bool mesh_is_member(void *ctx, const char *name);
int mesh_local_state(void *arg, bool join, struct mg_buf *out);
void mesh_merge_remote(void *arg, const uint8_t *p, size_t n, bool join);
void mesh_user_msg(void *arg, const uint8_t *p, size_t n);
void mesh_join_done(void *arg, unsigned int ok, unsigned int tried);
void mesh_save_serf_clock(struct mg_mesh *mesh);
int mesh_load_serf_clock(void *ctx, const char *line, int lineno);
void mesh_send_join_intent(struct mg_mesh *mesh);
void mesh_leave_done(void *arg, bool sent);
void mesh_get_broadcasts(void *arg, const uint8_t *to_meta, size_t to_meta_len,
			 size_t overhead, size_t limit,
			 struct mg_member_bcast *out);
void mesh_node_meta(void *arg, struct mg_ml_meta *meta);
void mesh_on_state_change(void *ctx, const struct mg_state_change *c);

/* timers.c */
bool mesh_is_mesh_gateway(const uint8_t *meta, size_t len);
int mesh_load_member(void *ctx, const char *line, int lineno);
void mesh_on_ae(struct mg_loop_src *src, uint32_t ev, void *arg);
void mesh_announce(struct mg_mesh *mesh);
void mesh_on_rejoin(struct mg_loop_src *src, uint32_t ev, void *arg);
void mesh_on_gc(struct mg_loop_src *src, uint32_t ev, void *arg);

/* local.c: local endpoints */
bool mesh_prefix_in(const struct mg_prefix *set, int n,
		    const struct mg_prefix *p);
void mesh_sync_local(struct mg_mesh *mesh);

/* view.c */
bool mesh_is_forgotten(struct mg_mesh *mesh, const char *name);
void mesh_forget(struct mg_mesh *mesh, const char *name, const char *why);
void mesh_on_settle_timeout(struct mg_loop_src *src, uint32_t ev, void *arg);
void mesh_on_view_release(struct mg_loop_src *src, uint32_t ev, void *arg);

/* cmd_keys.c: `meshgate keys` and serf's key queries */
void mesh_serf_response(struct mg_mesh *mesh, const uint8_t *p, size_t n);
void mesh_serf_forward(struct mg_mesh *mesh, const uint8_t *p, size_t n);
void mesh_serf_query(struct mg_mesh *mesh, const uint8_t *p, size_t n);

#endif
