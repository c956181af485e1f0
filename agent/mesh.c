// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mesh: membership + replicated state -> the agent's view (see mesh.h).
 */
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
#include "gossip/member.h"
#include "gossip/serf.h"
#include "gossip/serfquery.h"
#include "gossip/state.h"
#include "gossip/statewire.h"
#include "gossip/tags.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/out.h"
#include "lib/persist.h"

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
/* deaths this close before we find ourselves cut off are part of it */
#define CUT_OFF_WINDOW_US	(30ull * 1000000)

enum gw_state { GW_ALIVE, GW_SUSPECT, GW_DEAD, GW_LEFT, GW_STATIC };

static const char *const gw_state_names[] = {
	[GW_ALIVE] = "alive", [GW_SUSPECT] = "suspect", [GW_DEAD] = "dead",
	[GW_LEFT] = "left", [GW_STATIC] = "static",
};

/* Remembered per gateway name across view builds. */
struct seen {
	char name[MG_STATE_NAME_MAX + 1];
	uint64_t order;		/* first seen: earlier wins a conflict */
	bool alive;		/* in the last view that was not cut off */
	bool refused;		/* its conflict was logged */
	bool forgotten;		/* out of the view until it is alive again */
	int was;		/* the state last logged (enum gw_state) */
	bool was_up;		/* ... and whether it carried traffic */
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
	struct mg_prefix *prefixes;
	uint64_t order;
	uint64_t state_change;
	int origin;		/* state origin index, -1 none */
	bool draining;		/* its "mode" tag: withdrawn, still accepted */
	bool restarting;	/* its "mode" tag: its agent comes back */
	enum mg_echo_state echo;	/* its datapath (liveness.h) */
};

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
	/* ours and our siblings': what the view calls local */
	struct mg_prefix *vlocal;
	int cap_vlocal;

	/* the last view */
	struct row *rows;
	int n_rows, cap_rows;
	struct mg_prefix *pfx;
	size_t cap_pfx;
	struct mg_view_gw *vgw;
	int cap_vgw;
	struct seen *seen;
	int n_seen, cap_seen;
	/*
	 * seen[] by name: open addressing, index + 1 (0: empty), 2 x cap_seen
	 * slots.  Each view build looks up every member: linearly, a flood of
	 * fake members made that quadratic (70% of the agent's CPU in strcmp,
	 * its CLI answers waiting behind it).
	 */
	int *seen_idx;
	unsigned int seen_mask;
	uint64_t order;
	bool cut_off;
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
	unsigned int hold_next_ms;	/* the first held gateway's hold end */
	char drain_path[PATH_MAX + 16];	/* state_dir/draining: kept drained */
};

static void mesh_changed(struct mg_mesh *mesh)
{
	if (mesh->ops.changed)
		mesh->ops.changed(mesh->arg);
}

static void forget(struct mg_mesh *mesh, const char *name, const char *why);
static bool is_forgotten(struct mg_mesh *mesh, const char *name);

/* --- files in state_dir ------------------------------------------------ */

/* Calls fn on every non-empty, non-comment line; returns lines or -errno. */
static int read_lines(const char *path, int (*fn)(void *ctx, const char *line,
						  int lineno), void *ctx)
{
	char line[512];
	int n = 0, lineno = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strcspn(line, "\r\n");

		line[len] = '\0';
		lineno++;
		if (!line[0] || line[0] == '#')
			continue;
		if (!fn(ctx, line, lineno))
			n++;
	}
	fclose(f);
	return n;
}

static int load_cli_ep(void *ctx, const char *line, int lineno)
{
	struct mg_mesh *mesh = ctx;
	struct mg_prefix p;

	if (mg_prefix_parse(line, &p) || mesh->n_cli_eps >= MAX_CLI_EPS) {
		pr_warn("%s:%d: not a prefix, skipped: %s", mesh->eps_path,
			lineno, line);
		return -EINVAL;
	}
	mesh->cli_eps[mesh->n_cli_eps++] = p;
	return 0;
}

/* eps (n of them) into state_dir/endpoints; 0 or -errno, logged. */
static int save_cli_eps(struct mg_mesh *mesh, const struct mg_prefix *eps,
			int n)
{
	char (*buf)[MG_PREFIXSTRLEN] = calloc(n + 1, sizeof(*buf));
	const char **lines = calloc(n + 1, sizeof(*lines));
	int err = -ENOMEM;

	if (buf && lines) {
		for (int i = 0; i < n; i++)
			lines[i] = mg_prefix_str(&eps[i], buf[i],
						 sizeof(buf[i]));
		err = mg_persist_write_lines(mesh->eps_path, lines, n);
	}
	free(buf);
	free(lines);
	if (err)
		pr_err("saving %s: %s", mesh->eps_path, strerror(-err));
	return err;
}

/* --- keyring --------------------------------------------------------------- */

static void key_b64(const struct mg_key *k, char *out, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;

	for (int i = 0; i < k->len && o + 5 < len; i += 3) {
		uint32_t v = k->b[i] << 16;
		int rem = k->len - i;

		if (rem > 1)
			v |= k->b[i + 1] << 8;
		if (rem > 2)
			v |= k->b[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = rem > 1 ? tab[(v >> 6) & 63] : '=';
		out[o++] = rem > 2 ? tab[v & 63] : '=';
	}
	out[o] = '\0';
}

static int load_key(void *ctx, const char *line, int lineno)
{
	struct mg_mesh *mesh = ctx;

	if (mg_keyring_add_b64(&mesh->kr, line, false)) {
		pr_warn("%s:%d: not a key, skipped", mesh->keys_path, lineno);
		return -EINVAL;
	}
	return 0;
}

/* kr into state_dir/keyring; 0 or -errno. */
static int save_keys(struct mg_mesh *mesh, const struct mg_keyring *kr)
{
	char buf[8][64];
	const char *lines[8];
	int n = 0;

	/* The primary first: that is how the file is read back. */
	key_b64(&kr->keys[kr->primary], buf[n], sizeof(buf[n]));
	lines[n] = buf[n];
	n++;
	for (unsigned int i = 0; i < kr->n && n < 8; i++) {
		if (i == kr->primary)
			continue;
		key_b64(&kr->keys[i], buf[n], sizeof(buf[n]));
		lines[n] = buf[n];
		n++;
	}
	return mg_persist_write_lines(mesh->keys_path, lines, kr->n ? n : 0);
}

/* --- messages ------------------------------------------------------------ */

static int envelope(const struct mg_mesh *mesh, struct mg_buf *out)
{
	size_t n = strlen(mesh->cfg->gw_name);

	if (n > MG_STATE_NAME_MAX)
		return -ENAMETOOLONG;
	if (mg_buf_put_u8(out, ENV_MAGIC) || mg_buf_put_u8(out, ENV_FORMAT) ||
	    mg_buf_put_u8(out, (uint8_t)n) ||
	    mg_buf_put(out, mesh->cfg->gw_name, n))
		return -ENOMEM;
	return 0;
}

/* Send the state message in body to member name (UDP or TCP by size). */
static void send_to(struct mg_mesh *mesh, const char *name,
		    const struct mg_buf *body)
{
	struct mg_buf msg = { 0 };

	if (!envelope(mesh, &msg) && !mg_buf_put(&msg, body->data, body->len)) {
		int err = mg_member_send_user(mesh->member, name, msg.data,
					      msg.len);

		if (err)
			pr_debug("state to %s: %s", name, strerror(-err));
	}
	mg_buf_free(&msg);
}

static void handle_msg(struct mg_mesh *mesh, const uint8_t *p, size_t n)
{
	char sender[MG_STATE_NAME_MAX + 1];
	struct mg_buf reply = { 0 };
	size_t nl;
	int kind;

	if (n < 3 || p[0] != ENV_MAGIC || p[1] != ENV_FORMAT)
		return;		/* serf's, or a later format of ours */
	nl = p[2];
	if (!nl || nl > MG_STATE_NAME_MAX || 3 + nl > n) {
		mesh->state_rejected++;
		return;
	}
	memcpy(sender, p + 3, nl);
	sender[nl] = '\0';
	/*
	 * A batch changes up to thousands of entries, each with a callback:
	 * tell the agent once, not once per entry (a timer re-arm each).
	 */
	mesh->in_recv = true;
	mesh->recv_changed = false;
	kind = mg_state_recv(mesh->st, p + 3 + nl, n - 3 - nl, STREAM_BUDGET,
			     &reply);
	mesh->in_recv = false;
	if (mesh->recv_changed)
		mesh_changed(mesh);
	mesh->state_in++;
	if (kind < 0) {
		mesh->state_rejected++;
		pr_debug("state message from %s refused: %s", sender,
			 strerror(-kind));
	}
	else if (reply.len && strcmp(sender, mesh->cfg->gw_name))
		send_to(mesh, sender, &reply);
	mg_buf_free(&reply);
}

static unsigned int retransmit_limit(const struct mg_mesh *mesh)
{
	unsigned int n = mg_member_count(mesh->member), lim = 0;

	for (unsigned int v = n + 1; v > 1; v = (v + 9) / 10)
		lim++;
	return mesh->retransmit_mult * (lim ? lim : 1);
}

/* --- member delegate --------------------------------------------------- */

static void on_member(void *arg, const struct mg_member_info *mi)
{
	mesh_changed(arg);
}

static bool is_member(void *ctx, const char *name)
{
	struct mg_mesh *mesh = ctx;
	struct mg_member_info mi;

	return !mg_member_find(mesh->member, name, &mi);
}

static bool is_left(void *ctx, const char *name)
{
	struct mg_mesh *mesh = ctx;
	struct mg_member_info mi;

	return !mg_member_find(mesh->member, name, &mi) &&
	       mi.state == MG_MEMBER_LEFT;
}

/*
 * serf's push/pull state, as every serf agent expects it, with ours (the
 * envelope and our digest) inside it under a key serf skips.
 */
static int local_state(void *arg, bool join, struct mg_buf *out)
{
	struct mg_mesh *mesh = arg;
	struct mg_buf ours = { 0 };
	int err = envelope(mesh, &ours);

	err = err ?: mg_state_digest(mesh->st, PUSHPULL_BUDGET, &ours);
	err = err ?: mg_serf_push_pull_encode(mesh->serf, is_left, mesh,
					      ours.data, ours.len, out);
	mg_buf_free(&ours);
	return err;
}

static void send_join_intent(struct mg_mesh *mesh);

static void merge_remote(void *arg, const uint8_t *p, size_t n, bool join)
{
	struct mg_mesh *mesh = arg;
	const uint8_t *ours;
	size_t len;
	int v;

	if (n && p[0] == ENV_MAGIC) {
		handle_msg(mesh, p, n);		/* a gateway before serf's state */
		return;
	}
	v = mg_serf_push_pull_merge(mesh->serf, p, n, &ours, &len);
	if (v == MG_SERF_REFUTE) {
		pr_info("refuting serf's leave intent about us (a push/pull lists us as left)");
		send_join_intent(mesh);
	}
	if (v >= 0 && ours)
		handle_msg(mesh, ours, len);
}

static void serf_query(struct mg_mesh *mesh, const uint8_t *p, size_t n);
static void serf_response(struct mg_mesh *mesh, const uint8_t *p, size_t n);
static void serf_forward(struct mg_mesh *mesh, const uint8_t *p, size_t n);

static void user_msg(void *arg, const uint8_t *p, size_t n)
{
	struct mg_mesh *mesh = arg;

	switch (mg_serf_user_msg(mesh->serf, p, n)) {
	case MG_SERF_NOT_SERF:
		handle_msg(mesh, p, n);
		break;
	case MG_SERF_RELAY:
		/* serf relays a new intent, event or query as it came */
		if (p[0] == MG_SERF_QUERY)
			serf_query(mesh, p, n);
		else
			mg_member_user_broadcast(mesh->member, p, n);
		break;
	case MG_SERF_RESPONSE:
		serf_response(mesh, p, n);
		break;
	case MG_SERF_FORWARD:
		serf_forward(mesh, p, n);
		break;
	case MG_SERF_REFUTE:
		/* a force-leave, or an old leave of ours relayed late */
		pr_info("refuting serf's leave intent about us with a newer join intent");
		send_join_intent(mesh);
		break;
	case MG_SERF_DONE:
		break;
	}
}

static bool is_gateway_meta(const uint8_t *meta, size_t len);
static bool is_mesh_gateway(const uint8_t *meta, size_t len);

static int count_live_gw(void *ctx, const struct mg_member_info *mi)
{
	if (!mi->self && (mi->state == MG_MEMBER_ALIVE ||
			  mi->state == MG_MEMBER_SUSPECT) &&
	    is_gateway_meta(mi->meta, mi->meta_len))
		++*(int *)ctx;
	return 0;
}

static void announce(struct mg_mesh *mesh);

/* Say when we cannot join (once), and when we do. */
static void join_done(void *arg, unsigned int ok, unsigned int tried)
{
	struct mg_mesh *mesh = arg;
	int live = 0;

	mg_member_foreach(mesh->member, count_live_gw, &live);
	if (!ok && !live) {
		if (!mesh->join_failed)
			pr_warn("cannot join the mesh: none of %u seeds or known gateways answered (unreachable, or another gossip key?); retrying",
				tried);
		mesh->join_failed = true;
	} else if (ok && mesh->join_failed) {
		pr_info("joined the mesh (%u of %u answered)", ok, tried);
		mesh->join_failed = false;
	}
	/*
	 * serf's Join: after memberlist's, a join intent at the clock the
	 * push/pull made us witness, newer than any leave of ours it holds.
	 */
	if (ok && !mesh->serf_joined) {
		mesh->serf_joined = true;
		send_join_intent(mesh);
		announce(mesh);
	}
}

static void leave_done(void *arg, bool sent);

static void leave_now(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_mesh *mesh = arg;

	if (mg_member_leave(mesh->member, 3000))
		leave_done(mesh, false);
}

struct intent_ctx {
	struct mg_member *m;
	const struct mg_buf *b;
};

static int intent_one(void *ctx, const struct mg_member_info *mi)
{
	struct intent_ctx *ic = ctx;

	if (!mi->self && (mi->state == MG_MEMBER_ALIVE ||
			  mi->state == MG_MEMBER_SUSPECT))
		mg_member_send_user(ic->m, mi->name, ic->b->data, ic->b->len);
	return 0;
}

/*
 * Our leave intent goes out as serf's broadcast and, since the broadcast
 * alone may miss a serf agent before we die, to every live member directly.
 */
static int send_intent(struct mg_mesh *mesh, const struct mg_buf *b)
{
	int err = mg_member_user_broadcast(mesh->member, b->data, b->len);

	if (!err)
		mg_member_foreach(mesh->member, intent_one,
				  &(struct intent_ctx){ mesh->member, b });
	return err;
}

/*
 * serf's clocks survive restarts (serf's snapshot keeps "clock: N"): our
 * join intent after a restart must be newer than the leave intent of the
 * run before, or serf agents keep us "leaving".
 */
static void save_serf_clock(struct mg_mesh *mesh)
{
	struct mg_serf_clock c;
	char line[96];
	const char *lines[] = { line };
	int err;

	mg_serf_clock_get(mesh->serf, &c);
	if (!memcmp(&c, &mesh->serf_saved, sizeof(c)))
		return;
	snprintf(line, sizeof(line), "%llu %llu %llu",
		 (unsigned long long)c.ltime, (unsigned long long)c.event,
		 (unsigned long long)c.query);
	err = mg_persist_write_lines(mesh->serf_path, lines, 1);
	if (err)
		pr_warn("saving %s: %s", mesh->serf_path, strerror(-err));
	else
		mesh->serf_saved = c;
}

static int load_serf_clock(void *ctx, const char *line, int lineno)
{
	struct mg_mesh *mesh = ctx;
	unsigned long long t, e, q;
	struct mg_serf_clock c;

	if (sscanf(line, "%llu %llu %llu", &t, &e, &q) != 3) {
		pr_warn("%s:%d: not serf's clocks, skipped", mesh->serf_path,
			lineno);
		return -EINVAL;
	}
	c = (struct mg_serf_clock){ t, e, q };
	mg_serf_clock_witness(mesh->serf, &c);
	mesh->serf_saved = c;
	return 0;
}

static void send_join_intent(struct mg_mesh *mesh)
{
	struct mg_buf b = { 0 };

	if (!mesh->member || mesh->leave_timer)
		return;
	/*
	 * serf's broadcastJoin: gossiped, not sent to every member, so that
	 * a peer's stream of leave intents about us costs one broadcast each.
	 */
	if (mg_serf_join_msg(mesh->serf, &b) ||
	    mg_member_user_broadcast(mesh->member, b.data, b.len))
		pr_warn("cannot queue serf's join intent");
	mg_buf_free(&b);
	save_serf_clock(mesh);
}

int mg_mesh_leave(struct mg_mesh *mesh, void (*done)(void *arg), void *arg)
{
	mesh->left = done;
	mesh->left_arg = arg;
	if (!mesh->member)
		return -ENOTCONN;
	if (mesh->leave_timer)
		return -EALREADY;
	/* serf's leave intent first, so serf shows us "left", not "failed". */
	{
		struct mg_buf b = { 0 };

		if (mg_serf_leave_msg(mesh->serf, &b) || send_intent(mesh, &b))
			pr_warn("cannot queue serf's leave intent");
		mg_buf_free(&b);
		/* the restart's join intent must come after this leave */
		save_serf_clock(mesh);
	}
	mesh->leave_timer = mg_loop_add_timer(mesh->loop,
					      MG_SERF_INTENT_LEAD_MS, 0,
					      leave_now, mesh);
	return mesh->leave_timer ? 0 : -ENOMEM;
}

static void leave_done(void *arg, bool sent)
{
	struct mg_mesh *mesh = arg;

	pr_info("left the mesh%s", sent ? "" : " (not every peer heard it)");
	/* Left is not drained: a later start joins in service. */
	unlink(mesh->drain_path);
	if (mesh->left)
		mesh->left(mesh->left_arg);
}

static void get_broadcasts(void *arg, const uint8_t *to_meta,
			   size_t to_meta_len, size_t overhead, size_t limit,
			   struct mg_member_bcast *out)
{
	struct mg_mesh *mesh = arg;
	struct mg_buf body = { 0 }, msg = { 0 };
	size_t hdr = 3 + strlen(mesh->cfg->gw_name);

	/* Only gateways read our state; serf would log each one unknown. */
	if (!to_meta || !is_mesh_gateway(to_meta, to_meta_len))
		return;
	if (limit < overhead + hdr + 64)
		return;
	if (mg_state_gossip(mesh->st, limit - overhead - hdr,
			    retransmit_limit(mesh), &body) > 0 &&
	    !envelope(mesh, &msg) && !mg_buf_put(&msg, body.data, body.len))
		mg_member_bcast_add(out, msg.data, msg.len);
	mg_buf_free(&body);
	mg_buf_free(&msg);
}

static void node_meta(void *arg, struct mg_ml_meta *meta)
{
	struct mg_mesh *mesh = arg;
	const struct mg_config *cfg = mesh->cfg;
	char id[4], tun[MG_ADDRSTRLEN], tun2[MG_ADDRSTRLEN];
	struct mg_tag tags[] = {
		{ "role", "meshgate" },
		{ "cluster", cfg->cluster_name },
		{ "cluster_id", id },
		{ "tunnel", tun },
		{ "tunnel2", tun2 },	/* the other family's, if any */
		{ "mode", mesh->mode },	/* draining, restarting */
	};
	unsigned int n = cfg->n_tunnels > 1 ? 5 : 4;

	snprintf(id, sizeof(id), "%u", cfg->cluster_id);
	mg_addr_str(&cfg->tunnels[0], tun, sizeof(tun));
	if (cfg->n_tunnels > 1)
		mg_addr_str(&cfg->tunnels[1], tun2, sizeof(tun2));
	if (mesh->mode)
		tags[n++] = tags[5];
	if (mg_tags_encode(tags, n, meta))
		meta->len = 0;
}

static void on_state_change(void *ctx, const struct mg_state_change *c)
{
	struct mg_mesh *mesh = ctx;

	if (mesh->in_recv)
		mesh->recv_changed = true;
	else
		mesh_changed(mesh);
}

/* --- timers -------------------------------------------------------------- */

struct pick {
	struct mg_mesh *mesh;
	const char *self;
	char name[MG_ML_NAME_MAX + 1];
	unsigned int seen;
	uint32_t rnd;
	uint64_t now, dead_before;
	char forget[16][MG_STATE_NAME_MAX + 1];
	int n_forget;
};

static bool is_gateway_meta(const uint8_t *meta, size_t len)
{
	struct mg_ml_meta m;
	char role[16];

	if (len > sizeof(m.data))
		return false;
	m.len = len;
	memcpy(m.data, meta, len);
	return mg_tags_get(&m, "role", role, sizeof(role)) > 0 &&
	       !strcmp(role, "meshgate");
}

/*
 * A gateway that can read our state messages: every tag a meshgate agent
 * sets, well-formed.  A serf agent merely tagged role=meshgate is not one.
 */
static bool is_mesh_gateway(const uint8_t *meta, size_t len)
{
	struct mg_ml_meta m;
	char cl[MG_STATE_NAME_MAX + 1], id[8], tun[MG_ADDRSTRLEN];
	struct mg_addr a;
	unsigned long v;
	char *end;

	if (!is_gateway_meta(meta, len))
		return false;
	m.len = len;
	memcpy(m.data, meta, len);
	if (mg_tags_get(&m, "cluster", cl, sizeof(cl)) < 0 ||
	    mg_tags_get(&m, "cluster_id", id, sizeof(id)) < 0 ||
	    mg_tags_get(&m, "tunnel", tun, sizeof(tun)) < 0 ||
	    mg_addr_parse(tun, &a))
		return false;
	v = strtoul(id, &end, 10);
	return !*end && v >= 1 && v <= 255;
}

static int pick_cb(void *ctx, const struct mg_member_info *mi)
{
	struct pick *pk = ctx;

	if (mi->self || !is_gateway_meta(mi->meta, mi->meta_len))
		return 0;
	if (mi->state == MG_MEMBER_ALIVE &&
	    is_mesh_gateway(mi->meta, mi->meta_len)) {
		/* Reservoir sampling: a uniform pick in one pass. */
		pk->seen++;
		if (pk->rnd % pk->seen == 0)
			snprintf(pk->name, sizeof(pk->name), "%s", mi->name);
		pk->rnd = pk->rnd * 1103515245u + 12345u;
	} else if ((mi->state == MG_MEMBER_DEAD ||
		    mi->state == MG_MEMBER_LEFT) &&
		   mi->state_change < pk->dead_before && pk->n_forget < 16 &&
		   !is_forgotten(pk->mesh, mi->name)) {
		snprintf(pk->forget[pk->n_forget++], MG_STATE_NAME_MAX + 1,
			 "%s", mi->name);
	}
	return 0;
}

/*
 * The live gateways' gossip addresses, kept in state_dir (serf's snapshot,
 * in small): a restarted gateway dials them as well as its seeds, so a
 * seed gateway whose only seed is itself finds its mesh again at once.
 */
struct snap {
	char lines[REJOIN_MAX][MG_ADDRSTRLEN + 10];
	const char *lp[REJOIN_MAX];
	int n;
};

static int snap_cb(void *ctx, const struct mg_member_info *mi)
{
	struct snap *sn = ctx;
	char a[MG_ADDRSTRLEN];

	if (mi->self || sn->n >= REJOIN_MAX ||
	    (mi->state != MG_MEMBER_ALIVE && mi->state != MG_MEMBER_SUSPECT) ||
	    !is_gateway_meta(mi->meta, mi->meta_len))
		return 0;
	mg_addr_str(&mi->addr, a, sizeof(a));
	snprintf(sn->lines[sn->n], sizeof(sn->lines[0]),
		 mi->addr.family == MG_AF_INET6 ? "[%s]:%u" : "%s:%u", a,
		 mi->port);
	sn->lp[sn->n] = sn->lines[sn->n];
	sn->n++;
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void save_members(struct mg_mesh *mesh)
{
	struct snap sn = { .n = 0 };
	char all[sizeof(mesh->members_saved)];
	size_t o = 0;

	mg_member_foreach(mesh->member, snap_cb, &sn);
	if (!sn.n)
		return;		/* alone: keep what the last run knew */
	qsort(sn.lp, sn.n, sizeof(sn.lp[0]), str_cmp);
	all[0] = '\0';
	for (int i = 0; i < sn.n && o < sizeof(all); i++)
		o += snprintf(all + o, sizeof(all) - o, "%s\n", sn.lp[i]);
	if (!strcmp(all, mesh->members_saved))
		return;
	if (!mg_persist_write_lines(mesh->members_path, sn.lp, sn.n))
		snprintf(mesh->members_saved, sizeof(mesh->members_saved),
			 "%s", all);
}

static int load_member(void *ctx, const char *line, int lineno)
{
	struct mg_mesh *mesh = ctx;

	if (mesh->n_known >= REJOIN_MAX || strlen(line) >= sizeof(mesh->known[0]))
		return -EINVAL;
	snprintf(mesh->known[mesh->n_known++], sizeof(mesh->known[0]), "%s",
		 line);
	return 0;
}

/* Anti-entropy: our digest to one random live gateway. */
static void on_ae(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_mesh *mesh = arg;
	struct pick pk = { .mesh = mesh, .self = mesh->cfg->gw_name };
	struct mg_buf body = { 0 };
	uint64_t forget_us;

	if (getrandom(&pk.rnd, sizeof(pk.rnd), GRND_NONBLOCK) < 0)
		pk.rnd = (uint32_t)mg_now_ms();
	pk.now = mg_member_now(mesh->member);
	forget_us = mesh->cfg->forget_after * 1000000ull;
	pk.dead_before = pk.now > forget_us ? pk.now - forget_us : 0;
	mg_member_foreach(mesh->member, pick_cb, &pk);
	for (int i = 0; i < pk.n_forget; i++)
		forget(mesh, pk.forget[i], "left or dead for forget_after");
	if (pk.name[0] && !mg_state_digest(mesh->st, STREAM_BUDGET, &body))
		send_to(mesh, pk.name, &body);
	mg_buf_free(&body);
	save_members(mesh);
	/*
	 * Our own intents save the clocks at once; what we only witnessed
	 * may wait (a restart's join witnesses the pool's clock anyway).
	 */
	if (++mesh->serf_save_round >= SERF_SAVE_AE) {
		mesh->serf_save_round = 0;
		save_serf_clock(mesh);
		/* intents of names no longer members: bounded by the table */
		mg_serf_prune(mesh->serf, is_member, mesh);
	}
}

/*
 * Rejoin, as serf's reconnect does: memberlist never dials a dead member
 * again, and forgets it after gossip_to_dead.  Without this, a partition
 * that outlasts that window never heals, and a seed gateway that restarts
 * (its only seed being itself) stays alone for good.  So, now and then,
 * push/pull with every configured seed that is not a live member and with
 * every gateway that died (not left).
 */
struct rejoin {
	const struct mg_config *cfg;
	char addrs[REJOIN_MAX][MG_ADDRSTRLEN + 10];
	const char *sp[REJOIN_MAX];
	bool seed_alive[MG_CFG_MAX_SEEDS];
	int n;
};

static void rejoin_add(struct rejoin *rj, const struct mg_addr *a,
		       uint16_t port)
{
	char s[MG_ADDRSTRLEN];

	if (rj->n >= REJOIN_MAX)
		return;
	mg_addr_str(a, s, sizeof(s));
	snprintf(rj->addrs[rj->n], sizeof(rj->addrs[0]),
		 a->family == MG_AF_INET6 ? "[%s]:%u" : "%s:%u", s, port);
	for (int i = 0; i < rj->n; i++)
		if (!strcmp(rj->addrs[i], rj->addrs[rj->n]))
			return;
	rj->sp[rj->n] = rj->addrs[rj->n];
	rj->n++;
}

static int rejoin_cb(void *ctx, const struct mg_member_info *mi)
{
	struct rejoin *rj = ctx;

	if (mi->self)
		return 0;
	if (mi->state == MG_MEMBER_ALIVE || mi->state == MG_MEMBER_SUSPECT) {
		for (int i = 0; i < rj->cfg->n_seeds; i++)
			if (mg_addr_equal(&mi->addr, &rj->cfg->seeds[i].addr) &&
			    mi->port == rj->cfg->seeds[i].port)
				rj->seed_alive[i] = true;
	} else if (mi->state == MG_MEMBER_DEAD &&
		   is_gateway_meta(mi->meta, mi->meta_len)) {
		rejoin_add(rj, &mi->addr, mi->port);
	}
	return 0;
}

static int announce_cb(void *ctx, const struct mg_member_info *mi)
{
	if (!mi->self && (mi->state == MG_MEMBER_ALIVE ||
			  mi->state == MG_MEMBER_SUSPECT))
		rejoin_add(ctx, &mi->addr, mi->port);
	return 0;
}

/*
 * Back after a leave or a crash, every member holds us left or dead at an
 * incarnation our refutation has just passed, but only gossip carries the
 * refutation, and a member it misses keeps us "left" until its next
 * push/pull (30 s with serf).  So, once per start, push/pull with up to
 * REJOIN_MAX live members besides the seeds: our state reaches them at once.
 */
static void announce(struct mg_mesh *mesh)
{
	struct rejoin rj = { .cfg = mesh->cfg };

	mg_member_foreach(mesh->member, announce_cb, &rj);
	if (rj.n)
		mg_member_join(mesh->member, rj.sp, rj.n);
}

static void on_rejoin(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_mesh *mesh = arg;
	const struct mg_config *cfg = mesh->cfg;
	struct rejoin rj = { .cfg = cfg };

	if (mesh->leave_timer)
		return;		/* leaving */
	mg_member_foreach(mesh->member, rejoin_cb, &rj);
	for (int i = 0; i < cfg->n_seeds; i++) {
		const struct mg_cfg_seed *s = &cfg->seeds[i];

		if (rj.seed_alive[i] ||
		    (mg_addr_equal(&s->addr, &cfg->gossip_advertise) &&
		     s->port == cfg->gossip_port))
			continue;
		rejoin_add(&rj, &s->addr, s->port);
	}
	if (!rj.n)
		return;
	pr_debug("rejoin: trying %d addresses (first %s)", rj.n, rj.sp[0]);
	mg_member_join(mesh->member, rj.sp, rj.n);
}

static void on_gc(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_mesh *mesh = arg;

	mg_state_gc(mesh->st, mg_now_ms());
}

/* --- local endpoints ------------------------------------------------------ */

static bool prefix_in(const struct mg_prefix *set, int n,
		      const struct mg_prefix *p)
{
	for (int i = 0; i < n; i++)
		if (mg_prefix_equal(&set[i], p))
			return true;
	return false;
}

static int prefix_cmp(const void *a, const void *b)
{
	const struct mg_prefix *x = a, *y = b;
	int c = (int)x->addr.family - (int)y->addr.family;

	if (c)
		return c;
	c = memcmp(x->addr.addr, y->addr.addr, sizeof(x->addr.addr));
	return c ? c : (int)x->len - (int)y->len;
}

/*
 * The union of config, CLI and route endpoints becomes our origin's state.
 * Sorted, so that a hundred thousand routes cost n log n, not n squared.
 */
static void sync_local(struct mg_mesh *mesh)
{
	const struct mg_config *cfg = mesh->cfg;
	int cap = cfg->n_cidrs + mesh->n_cli_eps + mesh->n_route_eps, n = 0;
	struct mg_prefix *u = calloc(cap ? cap : 1, sizeof(*u));
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_entry e;
	struct mg_state_val val = { 0 };
	const struct mg_prefix *src[3] = { cfg->cidrs, mesh->cli_eps,
					   mesh->route_eps };
	int cnt[3] = { cfg->n_cidrs, mesh->n_cli_eps, mesh->n_route_eps };
	struct mg_prefix *stale = NULL;
	int n_stale = 0, cap_stale = 0, k = 0;

	if (!u)
		return;
	for (int sidx = 0; sidx < 3; sidx++)
		for (int i = 0; i < cnt[sidx]; i++) {
			u[n] = src[sidx][i];
			/* Zero what prefix_cmp compares beyond the family. */
			if (u[n].addr.family == MG_AF_INET)
				memset(&u[n].addr.addr[1], 0, 12);
			n++;
		}
	qsort(u, n, sizeof(*u), prefix_cmp);
	for (int i = 0; i < n; i++)
		if (!k || prefix_cmp(&u[k - 1], &u[i]))
			u[k++] = u[i];
	n = k;
	for (int i = 0; i < n; i++) {
		struct mg_state_key key = { .kind = MG_STATE_ENDPOINT,
					    .ep = u[i] };
		int err = mg_state_set_local(mesh->st, &key, &val);

		if (err)
			pr_warn("endpoint %d of our own: %s", i, strerror(-err));
	}
	while (mg_state_iter_next(mesh->st, &it, &e)) {
		if (e.origin != 0 || e.key.kind != MG_STATE_ENDPOINT ||
		    bsearch(&e.key.ep, u, n, sizeof(*u), prefix_cmp))
			continue;
		if (n_stale == cap_stale) {
			struct mg_prefix *b;

			cap_stale = cap_stale ? 2 * cap_stale : 16;
			b = realloc(stale, cap_stale * sizeof(*b));
			if (!b)
				break;
			stale = b;
		}
		stale[n_stale++] = e.key.ep;
	}
	for (int i = 0; i < n_stale; i++) {
		struct mg_state_key key = { .kind = MG_STATE_ENDPOINT,
					    .ep = stale[i] };

		mg_state_del_local(mesh->st, &key);
	}
	free(stale);
	free(mesh->local);
	mesh->local = u;
	mesh->n_local = n;
	mesh_changed(mesh);
}

void mg_mesh_set_route_endpoints(struct mg_mesh *mesh,
				 const struct mg_prefix *p, int n)
{
	struct mg_prefix *copy = NULL;

	if (n) {
		copy = calloc(n, sizeof(*copy));
		if (!copy)
			return;
		for (int i = 0; i < n; i++) {
			copy[i] = p[i];
			if (copy[i].addr.family == MG_AF_INET)
				memset(&copy[i].addr.addr[1], 0, 12);
		}
		/* Sorted: compared as a whole, searched by `endpoints list`. */
		qsort(copy, n, sizeof(*copy), prefix_cmp);
	}
	if (n == mesh->n_route_eps &&
	    (!n || !memcmp(copy, mesh->route_eps, n * sizeof(*copy)))) {
		free(copy);
		return;
	}
	free(mesh->route_eps);
	mesh->route_eps = copy;
	mesh->n_route_eps = n;
	pr_info("%d endpoints from kernel routes", n);
	sync_local(mesh);
}

void mg_mesh_reload_local(struct mg_mesh *mesh)
{
	sync_local(mesh);
}

static int count_key(void *ctx, const char *line, int lineno)
{
	return mg_keyring_add_b64(ctx, line, false) ? -EINVAL : 0;
}

int mg_mesh_reload_keys(struct mg_mesh *mesh)
{
	const struct mg_config *cfg = mesh->cfg;
	struct mg_keyring kr;
	int err;

	mg_keyring_clear(&kr);
	/* As at start: the keyring file, once written by `keys`, outranks. */
	if (read_lines(mesh->keys_path, count_key, &kr) > 0) {
		err = 1;
		goto out;
	}
	mg_keyring_clear(&kr);
	for (int i = 0; i < cfg->n_keys; i++) {
		err = mg_keyring_add_b64(&kr, cfg->keys[i], i == 0);
		if (err)
			goto out;
	}
	err = mesh->member ? mg_member_set_keyring(mesh->member, &kr) : 0;
	if (!err)
		mesh->kr = kr;
out:
	mg_keyring_clear(&kr);
	return err;
}

/* --- the view ------------------------------------------------------------- */

static uint32_t seen_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static int seen_lookup(const struct mg_mesh *mesh, const char *name)
{
	uint32_t h;

	if (!mesh->seen_idx)
		return -1;
	for (h = seen_hash(name) & mesh->seen_mask;;
	     h = (h + 1) & mesh->seen_mask) {
		int v = mesh->seen_idx[h];

		if (!v)
			return -1;
		if (!strcmp(mesh->seen[v - 1].name, name))
			return v - 1;
	}
}

static void seen_index_put(struct mg_mesh *mesh, int i)
{
	uint32_t h = seen_hash(mesh->seen[i].name) & mesh->seen_mask;

	while (mesh->seen_idx[h])
		h = (h + 1) & mesh->seen_mask;
	mesh->seen_idx[h] = i + 1;
}

static struct seen *seen_get(struct mg_mesh *mesh, const char *name)
{
	int i = seen_lookup(mesh, name);

	if (i >= 0)
		return &mesh->seen[i];
	if (mesh->n_seen == mesh->cap_seen) {
		int cap = mesh->cap_seen ? 2 * mesh->cap_seen : 64;
		struct seen *s = realloc(mesh->seen, cap * sizeof(*s));
		int *idx;

		if (!s)
			return NULL;
		mesh->seen = s;
		idx = calloc(2 * cap, sizeof(*idx));
		if (!idx)
			return NULL;
		free(mesh->seen_idx);
		mesh->seen_idx = idx;
		mesh->seen_mask = 2 * cap - 1;
		mesh->cap_seen = cap;
		for (i = 0; i < mesh->n_seen; i++)
			seen_index_put(mesh, i);
	}
	memset(&mesh->seen[mesh->n_seen], 0, sizeof(struct seen));
	snprintf(mesh->seen[mesh->n_seen].name, sizeof(mesh->seen[0].name),
		 "%s", name);
	mesh->seen[mesh->n_seen].order = ++mesh->order;
	seen_index_put(mesh, mesh->n_seen);
	return &mesh->seen[mesh->n_seen++];
}

static struct row *row_add(struct mg_mesh *mesh)
{
	if (mesh->n_rows == mesh->cap_rows) {
		int cap = mesh->cap_rows ? 2 * mesh->cap_rows : 64;
		struct row *r = realloc(mesh->rows, cap * sizeof(*r));

		if (!r)
			return NULL;
		mesh->rows = r;
		mesh->cap_rows = cap;
	}
	memset(&mesh->rows[mesh->n_rows], 0, sizeof(struct row));
	mesh->rows[mesh->n_rows].origin = -1;
	return &mesh->rows[mesh->n_rows++];
}

/*
 * A gateway forgotten (`peers forget`, forget_after) stays out of the view
 * and of `peers` until it is alive again.
 */
static bool forgotten(struct mg_mesh *mesh, const struct mg_member_info *mi)
{
	struct seen *s = seen_get(mesh, mi->name);

	if (!s || !s->forgotten)
		return false;
	if (mi->state != MG_MEMBER_ALIVE)
		return true;
	s->forgotten = false;
	return false;
}

static bool is_forgotten(struct mg_mesh *mesh, const char *name)
{
	int i = seen_lookup(mesh, name);

	return i >= 0 && mesh->seen[i].forgotten;
}

/* Drop a left or dead gateway and its state now. */
static void forget(struct mg_mesh *mesh, const char *name, const char *why)
{
	struct seen *s = seen_get(mesh, name);

	if (s && s->forgotten)
		return;
	if (s)
		s->forgotten = true;
	mg_state_forget_origin(mesh->st, name);
	pr_info("forgot gateway %s and its state (%s)", name, why);
	mesh_changed(mesh);
}

static int row_from_member(void *ctx, const struct mg_member_info *mi)
{
	struct mg_mesh *mesh = ctx;
	struct mg_ml_meta meta;
	char id[8], tun[MG_ADDRSTRLEN];
	struct seen *s;
	struct row *r;
	unsigned long v;
	char *end;

	if (mi->self)
		return 0;
	/* A gateway in the configuration is static: the config wins. */
	for (int i = 0; i < mesh->cfg->n_peers; i++)
		if (!strcmp(mesh->cfg->peers[i].name, mi->name))
			return 0;
	if (forgotten(mesh, mi))
		return 0;
	r = row_add(mesh);
	if (!r)
		return -ENOMEM;
	snprintf(r->name, sizeof(r->name), "%s", mi->name);
	r->state = mi->state == MG_MEMBER_ALIVE ? GW_ALIVE :
		   mi->state == MG_MEMBER_SUSPECT ? GW_SUSPECT :
		   mi->state == MG_MEMBER_LEFT ? GW_LEFT : GW_DEAD;
	r->incarnation = mi->incarnation;
	r->rtt_us = mi->rtt_us;
	r->tunnel = mi->addr;
	r->state_change = mi->state_change;
	s = seen_get(mesh, r->name);
	r->order = s ? s->order : ~0ull;
	if (mi->meta_len > sizeof(meta.data) ||
	    !is_gateway_meta(mi->meta, mi->meta_len))
		return 0;
	meta.len = mi->meta_len;
	memcpy(meta.data, mi->meta, mi->meta_len);
	r->gateway = true;
	if (mg_tags_get(&meta, "cluster", r->cluster, sizeof(r->cluster)) < 0 ||
	    mg_tags_get(&meta, "cluster_id", id, sizeof(id)) < 0 ||
	    mg_tags_get(&meta, "tunnel", tun, sizeof(tun)) < 0 ||
	    (v = strtoul(id, &end, 10), *end || v < 1 || v > 255) ||
	    mg_addr_parse(tun, &r->tunnel)) {
		r->conflict = "tags missing or malformed (cluster, cluster_id, tunnel)";
		return 0;
	}
	r->cluster_id = (__u8)v;
	if (mg_tags_get(&meta, "tunnel2", tun, sizeof(tun)) > 0 &&
	    !mg_addr_parse(tun, &r->tunnel_alt) &&
	    r->tunnel_alt.family != r->tunnel.family &&
	    r->tunnel_alt.family == mesh->cfg->tunnel.family) {
		/* Send in our own family; accept from both. */
		struct mg_addr t = r->tunnel;

		r->tunnel = r->tunnel_alt;
		r->tunnel_alt = t;
	}
	if (r->tunnel_alt.family == r->tunnel.family)
		memset(&r->tunnel_alt, 0, sizeof(r->tunnel_alt));
	if (mg_tags_get(&meta, "mode", tun, sizeof(tun)) > 0) {
		r->draining = !strcmp(tun, "draining");
		r->restarting = !strcmp(tun, "restarting");
	}
	return 0;
}

static void row_conflict(struct row *r, const char *fmt, const char *a,
			 unsigned int b)
{
	if (r->conflict)
		return;
	snprintf(r->conflict_buf, sizeof(r->conflict_buf), fmt, a, b);
	r->conflict = r->conflict_buf;
}

/* Cluster ids and names must agree everywhere; the earlier one keeps its. */
static void check_ids(struct mg_mesh *mesh)
{
	const struct mg_config *cfg = mesh->cfg;

	for (int i = 0; i < mesh->n_rows; i++) {
		struct row *r = &mesh->rows[i];

		if (!r->gateway || r->conflict)
			continue;
		if ((r->cluster_id == cfg->cluster_id) !=
		    !strcmp(r->cluster, cfg->cluster_name)) {
			row_conflict(r, "cluster \"%s\" id %u disagrees with ours",
				     r->cluster, r->cluster_id);
			continue;
		}
		if (r->cluster_id == cfg->cluster_id) {
			r->sibling = true;
			continue;
		}
		for (int j = 0; j < mesh->n_rows; j++) {
			struct row *q = &mesh->rows[j];

			if (j == i || !q->gateway || q->conflict ||
			    q->order > r->order)
				continue;
			if ((q->cluster_id == r->cluster_id) !=
			    !strcmp(q->cluster, r->cluster)) {
				row_conflict(r, "cluster \"%s\" id %u disagrees with an earlier gateway",
					     r->cluster, r->cluster_id);
				break;
			}
		}
	}
}

struct pfx_ref {
	struct mg_prefix p;
	int row;		/* -1: our own */
	__u8 cluster_id;
	uint64_t order;
};

static int pfx_ref_cmp(const void *a, const void *b)
{
	const struct pfx_ref *x = a, *y = b;
	int c;

	if (x->p.addr.family != y->p.addr.family)
		return x->p.addr.family - y->p.addr.family;
	c = memcmp(x->p.addr.addr, y->p.addr.addr, sizeof(x->p.addr.addr));
	if (c)
		return c;
	return (int)x->p.len - (int)y->p.len;
}

/*
 * No prefix of one cluster may overlap a prefix of another: sorted by
 * address, a prefix overlaps exactly the ones on the stack of prefixes
 * that contain it.  The later gateway of an overlapping pair is refused.
 */
static void check_overlaps(struct mg_mesh *mesh)
{
	size_t n = mesh->n_local, k = 0, depth = 0;
	struct pfx_ref *refs, *stack[129];

	for (int i = 0; i < mesh->n_rows; i++)
		n += mesh->rows[i].n_prefixes;
	refs = calloc(n ? n : 1, sizeof(*refs));
	if (!refs)
		return;
	for (int i = 0; i < mesh->n_local; i++)
		refs[k++] = (struct pfx_ref){ mesh->local[i], -1,
					      mesh->cfg->cluster_id, 0 };
	for (int i = 0; i < mesh->n_rows; i++) {
		struct row *r = &mesh->rows[i];

		if (r->sibling || r->conflict)
			continue;
		for (int p = 0; p < r->n_prefixes; p++)
			refs[k++] = (struct pfx_ref){ r->prefixes[p], i,
						      r->cluster_id, r->order };
	}
	qsort(refs, k, sizeof(*refs), pfx_ref_cmp);
	for (size_t i = 0; i < k; i++) {
		struct pfx_ref *x = &refs[i];

		while (depth && (stack[depth - 1]->p.addr.family !=
				 x->p.addr.family ||
				 !mg_prefix_contains(&stack[depth - 1]->p,
						     &x->p.addr)))
			depth--;
		for (size_t d = 0; d < depth; d++) {
			struct pfx_ref *y = stack[d];
			struct pfx_ref *loser;
			char a[MG_PREFIXSTRLEN];

			if (y->cluster_id == x->cluster_id)
				continue;
			loser = y->row < 0 ? x : x->row < 0 ? y :
				x->order > y->order ? x : y;
			if (loser->row >= 0) {
				mg_prefix_str(&loser->p, a, sizeof(a));
				row_conflict(&mesh->rows[loser->row],
					     "its prefix %s overlaps cluster %u's",
					     a, loser == x ? y->cluster_id :
							     x->cluster_id);
			}
		}
		if (depth < 129)
			stack[depth++] = x;
	}
	free(refs);
}

/* Gateways' prefixes out of the store, bucketed by row. */
static int fill_prefixes(struct mg_mesh *mesh)
{
	unsigned int slots = mg_state_origin_slots(mesh->st);
	int *row_of = calloc(slots ? slots : 1, sizeof(int));
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_entry e;
	size_t total = 0, off = 0;

	if (!row_of)
		return -ENOMEM;
	for (unsigned int o = 0; o < slots; o++)
		row_of[o] = -1;
	for (int i = 0; i < mesh->n_rows; i++) {
		struct row *r = &mesh->rows[i];
		int o = mg_state_origin_find(mesh->st, r->name);

		r->origin = o;
		if (o >= 0 && (unsigned int)o < slots)
			row_of[o] = i;
	}
	while (mg_state_iter_next(mesh->st, &it, &e))
		if (e.key.kind == MG_STATE_ENDPOINT && e.origin < slots &&
		    row_of[e.origin] >= 0)
			mesh->rows[row_of[e.origin]].n_prefixes++, total++;
	if (total > mesh->cap_pfx) {
		struct mg_prefix *p = realloc(mesh->pfx, total * sizeof(*p));

		if (!p) {
			free(row_of);
			return -ENOMEM;
		}
		mesh->pfx = p;
		mesh->cap_pfx = total;
	}
	for (int i = 0; i < mesh->n_rows; i++) {
		mesh->rows[i].prefixes = mesh->pfx + off;
		off += mesh->rows[i].n_prefixes;
		mesh->rows[i].n_prefixes = 0;
	}
	it = (struct mg_state_iter)MG_STATE_ITER_INIT;
	while (mg_state_iter_next(mesh->st, &it, &e)) {
		struct row *r;

		if (e.key.kind != MG_STATE_ENDPOINT || e.origin >= slots ||
		    row_of[e.origin] < 0)
			continue;
		r = &mesh->rows[row_of[e.origin]];
		r->prefixes[r->n_prefixes++] = e.key.ep;
	}
	free(row_of);
	return 0;
}

static int build_rows(struct mg_mesh *mesh)
{
	const struct mg_config *cfg = mesh->cfg;
	int err;

	mesh->n_rows = 0;
	for (int i = 0; i < cfg->n_peers; i++) {
		const struct mg_cfg_peer *p = &cfg->peers[i];
		struct row *r = row_add(mesh);

		if (!r)
			return -ENOMEM;
		snprintf(r->name, sizeof(r->name), "%s", p->name);
		snprintf(r->cluster, sizeof(r->cluster), "%s", p->cluster);
		r->cluster_id = p->cluster_id;
		r->tunnel = p->tunnel;
		for (int t = 0; t < p->n_tunnels; t++)
			if (p->tunnels[t].family != p->tunnel.family)
				r->tunnel_alt = p->tunnels[t];
		r->state = GW_STATIC;
		r->gateway = true;
		r->rtt_us = -1;
		r->order = 0;	/* configuration outranks gossip */
		r->n_prefixes = p->n_cidrs;
		r->prefixes = (struct mg_prefix *)p->cidrs;
	}
	if (mesh->member) {
		int n_static = mesh->n_rows;

		err = mg_member_foreach(mesh->member, row_from_member, mesh);
		if (err)
			return err;
		/* Static rows keep their own prefixes: fill only gossiped. */
		{
			struct row *saved = mesh->rows;
			int saved_n = mesh->n_rows;

			mesh->rows = saved + n_static;
			mesh->n_rows = saved_n - n_static;
			err = fill_prefixes(mesh);
			mesh->rows = saved;
			mesh->n_rows = saved_n;
			if (err)
				return err;
		}
	}
	check_ids(mesh);
	check_overlaps(mesh);
	/* Say once why a gateway is refused, and when it no longer is. */
	for (int i = 0; i < mesh->n_rows; i++) {
		struct row *r = &mesh->rows[i];
		struct seen *sn;

		if (!r->gateway || r->state == GW_STATIC)
			continue;
		sn = seen_get(mesh, r->name);
		if (!sn || sn->refused == !!r->conflict)
			continue;
		sn->refused = r->conflict;
		if (r->conflict)
			pr_warn("gateway %s refused: %s", r->name, r->conflict);
		else
			pr_info("gateway %s accepted: its conflict is gone",
				r->name);
	}
	return 0;
}

/*
 * Our cluster's prefixes are ours and our siblings': a remote gateway
 * spreads a cluster's flows over all its gateways, so a prefix that a
 * sibling added (CLI, routes) must be local here too, or its share of the
 * traffic is dropped as "inner destination not in this cluster".  A dead
 * sibling's prefixes stay, as they stay in the remote gateways' maps.
 */
static int view_local(struct mg_mesh *mesh, struct mg_view *view)
{
	int n = mesh->n_local, total = n;

	for (int i = 0; i < mesh->n_rows; i++)
		if (mesh->rows[i].sibling && !mesh->rows[i].conflict)
			total += mesh->rows[i].n_prefixes;
	if (total > mesh->cap_vlocal) {
		struct mg_prefix *p = realloc(mesh->vlocal, total * sizeof(*p));

		if (!p)
			return -ENOMEM;
		mesh->vlocal = p;
		mesh->cap_vlocal = total;
	}
	if (n)
		memcpy(mesh->vlocal, mesh->local, n * sizeof(*mesh->vlocal));
	if (total == n)
		goto done;	/* no sibling prefixes: ours are sorted, unique */
	for (int i = 0; i < mesh->n_rows; i++) {
		const struct row *r = &mesh->rows[i];

		if (!r->sibling || r->conflict)
			continue;
		for (int p = 0; p < r->n_prefixes; p++) {
			struct mg_prefix *q = &mesh->vlocal[n++];

			*q = r->prefixes[p];
			if (q->addr.family == MG_AF_INET)
				memset(&q->addr.addr[1], 0, 12);
		}
	}
	/* Siblings announce the same CIDRs: sorted and unique, n log n. */
	qsort(mesh->vlocal, n, sizeof(*mesh->vlocal), prefix_cmp);
	{
		int k = 0;

		for (int i = 0; i < n; i++)
			if (!k || prefix_cmp(&mesh->vlocal[k - 1],
					     &mesh->vlocal[i]))
				mesh->vlocal[k++] = mesh->vlocal[i];
		n = k;
	}
done:
	view->n_local = n;
	view->local = mesh->vlocal;
	return 0;
}

/*
 * Cut off, we learn of it one peer at a time: the probes of every peer
 * fail, but each is declared dead on its own, a probe round and a
 * suspicion timeout apart.  Only the last one tells us it is us.  The
 * state to keep is the one from before the first of those deaths: revive
 * the gateways that died shortly before.
 */
static void revive_recent(struct mg_mesh *mesh)
{
	uint64_t now = mg_member_now(mesh->member);
	uint64_t since = now > CUT_OFF_WINDOW_US ? now - CUT_OFF_WINDOW_US : 0;

	for (int i = 0; i < mesh->n_rows; i++) {
		struct row *r = &mesh->rows[i];
		struct seen *s;

		if (!r->gateway || r->sibling || r->conflict ||
		    r->state != GW_DEAD || r->state_change < since)
			continue;
		s = seen_get(mesh, r->name);
		if (s && !s->alive) {
			pr_info("cut off: keeping %s, dead %llu ms before the others",
				r->name, (unsigned long long)
				(now - r->state_change) / 1000);
			s->alive = true;
		}
	}
}

/*
 * Right after a start the view knows no gossiped gateway yet, while the
 * pinned maps still hold what the previous run learnt: withdrawing that
 * would cut forwarding until the mesh answers (or for good, if it does
 * not: fail static).  The mesh is settled once some gateway is alive and
 * every live gateway's state has arrived; a gateway that expects no peer
 * (no seeds, none remembered) is settled at once.  Only gateways we can
 * hear state from count: a member tagged role=meshgate with missing or
 * malformed tags, or refused as a conflict, never sends any.  And one that
 * looks right but stays silent holds us back for settle_timeout at most,
 * once some other gateway has been heard from.
 */
static bool settle_waits_for(const struct row *r)
{
	return r->gateway && r->state != GW_STATIC && !r->conflict &&
	       (r->state == GW_ALIVE || r->state == GW_SUSPECT) &&
	       r->origin < 0;
}

static void check_settled(struct mg_mesh *mesh)
{
	int alive = 0, pending = 0;

	if (mesh->settled)
		return;
	if (!mesh->member || !mesh->expect_peers) {
		mesh->settled = true;
		return;
	}
	for (int i = 0; i < mesh->n_rows; i++) {
		const struct row *r = &mesh->rows[i];

		if (!r->gateway || r->state == GW_STATIC || r->conflict ||
		    (r->state != GW_ALIVE && r->state != GW_SUSPECT))
			continue;
		alive++;
		pending += settle_waits_for(r);
	}
	mesh->settle_pending = pending;
	if (alive && !pending) {
		mesh->settled = true;
		pr_info("mesh settled: %d gateways heard from", alive);
	} else if (mesh->settle_expired && alive > pending) {
		/*
		 * Some gateway answered, others stay silent.  With none heard
		 * from at all we may be the one cut off: keep failing static.
		 */
		mesh->settled = true;
		for (int i = 0; i < mesh->n_rows; i++)
			if (settle_waits_for(&mesh->rows[i]))
				pr_warn("settle_timeout: %s is alive but sent no state; settling without it",
					mesh->rows[i].name);
		pr_warn("mesh settled after %us (settle_timeout): %d of %d live gateways heard from",
			mesh->cfg->settle_timeout, alive - pending, alive);
	}
}

/* The gossiped gateways of other clusters: whose datapaths we probe. */
static void watch_datapaths(struct mg_mesh *mesh)
{
	struct mg_addr *a;
	int n = 0;

	if (!mesh->lv)
		return;
	a = calloc(mesh->n_rows + 1, sizeof(*a));
	if (!a)
		return;
	for (int i = 0; i < mesh->n_rows; i++) {
		const struct row *r = &mesh->rows[i];

		if (r->gateway && !r->sibling && !r->conflict &&
		    r->state != GW_STATIC && r->state != GW_LEFT)
			a[n++] = r->tunnel;
	}
	mg_liveness_watch(mesh->lv, a, n);
	free(a);
	for (int i = 0; i < mesh->n_rows; i++)
		mesh->rows[i].echo = mg_liveness_state(mesh->lv,
						       &mesh->rows[i].tunnel);
}

/*
 * Whether a gateway carries our traffic: its agent's word (gossip) and its
 * datapath's (liveness.h) together.  A datapath that stopped answering is
 * down whatever its agent says; an agent that is gone (dead) leaves its
 * gateway up for hold_time while its datapath answers, so a restart
 * loses nothing; a draining gateway is withdrawn.  The traffic of a
 * withdrawn gateway is still taken (*accept) while its agent or its
 * datapath is there.  Static peers and gateways that never answered keep
 * gossip's word alone.
 */
static bool gw_up(struct mg_mesh *mesh, const struct row *r, bool *accept)
{
	uint64_t now, hold = mesh->cfg->hold_time * 1000000ull, left;

	*accept = false;
	switch (r->state) {
	case GW_STATIC:
		return true;
	case GW_LEFT:
		return false;
	case GW_ALIVE:
	case GW_SUSPECT:
		/* Its agent is there: what it sends us is taken. */
		*accept = true;
		return !r->draining && r->echo != MG_ECHO_DOWN;
	case GW_DEAD:
		break;
	}
	if (r->echo != MG_ECHO_UP)
		return false;
	*accept = true;
	now = mg_member_now(mesh->member);
	if (r->draining || now - r->state_change >= hold)
		return false;
	/* Look again when its hold ends. */
	left = (hold - (now - r->state_change)) / 1000 + 10;
	if (!mesh->hold_next_ms || left < mesh->hold_next_ms)
		mesh->hold_next_ms = left;
	return true;
}

/* Say what became of a gateway: peers log "restarting", not "dead". */
static void log_change(struct mg_mesh *mesh, const struct row *r,
		       struct seen *s, bool up)
{
	const char *echo = mg_echo_state_name(r->echo);

	if (s->was == (int)r->state + 1 && s->was_up == up)
		return;
	if (!s->was) {
		s->was = r->state + 1;
		s->was_up = up;
		return;		/* first sight: nothing happened to it */
	}
	if (r->state == GW_DEAD && s->was != GW_DEAD + 1)
		pr_info("gateway %s %s (datapath %s): %s", r->name,
			r->restarting ? "restarting" : "dead", echo,
			!up ? "its tunnels withdrawn" :
			mesh->cut_off || mg_liveness_cut_off(mesh->lv) ?
			      "its tunnels kept (we seem cut off)" :
			      "its tunnels kept for hold_time");
	else if (s->was_up != up)
		pr_info("gateway %s (%s, datapath %s): tunnels %s", r->name,
			r->draining ? "draining" : gw_state_names[r->state],
			echo, up ? "in use" : "withdrawn");
	s->was = r->state + 1;
	s->was_up = up;
}

static void on_settle_timeout(struct mg_loop_src *src, uint32_t ev,
			      void *arg)
{
	struct mg_mesh *mesh = arg;

	mesh->settle_expired = true;
	mesh_changed(mesh);	/* the agent's resync builds the view */
}

/* For `meshgate status`: settled or not, and whom we still wait for. */
/* serf's events and queries: relayed, or not and why (serf.h). */
static void print_serf_counters(const struct mg_serf_stats *st)
{
	out_u64("serf_events_relayed", "serf        %llu events relayed",
		st->events_new);
	out_u64("serf_events_seen", " (%llu seen before", st->events_seen);
	out_u64("serf_events_old", ", %llu too old)", st->events_old);
	out_u64("serf_queries_relayed", ", %llu queries relayed",
		st->queries_new);
	out_u64("serf_queries_seen", " (%llu seen before", st->queries_seen);
	out_u64("serf_queries_old", ", %llu too old)", st->queries_old);
	out_u64("serf_seen_full", "; %llu dropped: too many at one time\n",
		st->seen_full);
}

static void print_settle(struct mg_mesh *mesh)
{
	uint64_t now = mg_now_ms(), end;

	out_bool("settled", "settled     %s", mesh->settled);
	if (mesh->settled) {
		out_text("\n");
		return;
	}
	end = mesh->started_ms + mesh->cfg->settle_timeout * 1000ull;
	if (end > now)
		out_u64("settle_timeout_left_s",
			", withdrawing nothing for %llus more at most",
			(end - now + 999) / 1000);
	else
		out_text(", withdrawing nothing until some gateway is heard from");
	out_arr_open("settle_waiting");
	for (int i = 0; i < mesh->n_rows; i++) {
		const struct row *r = &mesh->rows[i];

		if (!settle_waits_for(r))
			continue;
		out_obj_open(NULL);
		out_str("name", "; waiting for %s", r->name);
		out_str("why", " (%s)", r->state == GW_SUSPECT ?
			"suspect, no state received yet" :
			"alive, no state received yet");
		out_obj_close();
	}
	out_arr_close();
	if (!mesh->settle_pending)
		out_text("; no live gateway heard of yet");
	out_text("\n");
}

void mg_mesh_print_counters(struct mg_mesh *mesh)
{
	const struct mg_member_stats *ms;

	/* the rows of the last view: the agent rebuilds it on every change */
	if (mesh->member)
		print_settle(mesh);

	out_u64("state_messages", "state msgs  %llu in", mesh->state_in);
	out_u64("state_rejected", ", %llu rejected\n", mesh->state_rejected);
	mg_liveness_print_counters(mesh->lv);
	if (!mesh->member)
		return;
	ms = mg_member_stats(mesh->member);
	out_u64("gossip_packets_in", "gossip      %llu packets in", ms->pkts_in);
	out_u64("gossip_packets_out", ", %llu out", ms->pkts_out);
	out_u64("gossip_decrypt_failed", "; rejected: %llu wrong key",
		ms->decrypt_failed);
	out_u64("gossip_plaintext_rejected", ", %llu plaintext",
		ms->plaintext_rejected);
	out_u64("gossip_decode_errors", ", %llu malformed\n",
		ms->decode_errors);
	/* What the bounds against hostile or broken peers refused. */
	out_u64("gossip_members_refused", "            refused: %llu members "
		"(table full)", ms->members_refused);
	out_u64("gossip_bad_names", ", %llu bad names", ms->bad_names);
	out_u64("gossip_streams_refused", ", %llu streams (too many or too "
		"large)\n", ms->streams_refused);
	print_serf_counters(mg_serf_stats(mesh->serf));
}

bool mg_mesh_settled(struct mg_mesh *mesh)
{
	return mesh->settled;
}

int mg_mesh_view(struct mg_mesh *mesh, struct mg_view *view)
{
	int err, n = 0, alive = 0, gossiped = 0;

	err = build_rows(mesh);
	if (err)
		return err;
	check_settled(mesh);
	if (mesh->n_rows > mesh->cap_vgw) {
		struct mg_view_gw *v = realloc(mesh->vgw,
					       mesh->n_rows * sizeof(*v));

		if (!v)
			return -ENOMEM;
		mesh->vgw = v;
		mesh->cap_vgw = mesh->n_rows;
	}
	for (int i = 0; i < mesh->n_rows; i++) {
		struct row *r = &mesh->rows[i];

		if (r->gateway && !r->sibling && r->state != GW_STATIC) {
			gossiped++;
			alive += r->state == GW_ALIVE || r->state == GW_SUSPECT;
		}
	}
	/*
	 * Fail static: when every gossiped gateway looks dead at once, it is
	 * us who are cut off.  Keep forwarding as the last view said.
	 */
	if (gossiped && !alive) {
		if (!mesh->cut_off) {
			pr_warn("cut off from every peer gateway: keeping the last known state");
			revive_recent(mesh);
		}
		mesh->cut_off = true;
	} else if (mesh->cut_off) {
		pr_info("peers reachable again");
		mesh->cut_off = false;
	}
	watch_datapaths(mesh);
	mesh->hold_next_ms = 0;
	for (int i = 0; i < mesh->n_rows; i++) {
		struct row *r = &mesh->rows[i];
		struct mg_view_gw *g = &mesh->vgw[n];
		struct seen *s;
		bool up, accept;

		if (!r->gateway || r->sibling || r->conflict)
			continue;
		up = gw_up(mesh, r, &accept);
		s = r->state == GW_STATIC ? NULL : seen_get(mesh, r->name);
		/*
		 * Cut off, the datapaths fall silent together within the
		 * detect time, while gossip declares the peers dead one by
		 * one, seconds apart: a death while every datapath is silent
		 * changes nothing (fail static), not only the last one.
		 */
		if (s && (mesh->cut_off || (r->state == GW_DEAD &&
					    mg_liveness_cut_off(mesh->lv))))
			up = s->alive;
		else if (s)
			s->alive = up;
		if (s)
			log_change(mesh, r, s, up);
		memset(g, 0, sizeof(*g));
		g->accept = accept;
		snprintf(g->name, sizeof(g->name), "%s", r->name);
		g->cluster_id = r->cluster_id;
		g->alive = up;
		g->tunnel = r->tunnel;
		g->tunnel_alt = r->tunnel_alt;
		g->n_prefixes = r->n_prefixes;
		g->prefixes = r->prefixes;
		n++;
	}
	if (mesh->hold_next_ms && mesh->hold_timer)
		mg_loop_timer_set(mesh->hold_timer, mesh->hold_next_ms, 0);
	memset(view, 0, sizeof(*view));
	view->cluster_id = mesh->cfg->cluster_id;
	err = view_local(mesh, view);
	if (err)
		return err;
	view->n_gw = n;
	view->gw = mesh->vgw;
	return 0;
}

/* --- life cycle ---------------------------------------------------------- */

static const struct mg_member_ops member_ops = {
	.notify_join = on_member,
	.notify_leave = on_member,
	.notify_update = on_member,
	.node_meta = node_meta,
	.local_state = local_state,
	.merge_remote_state = merge_remote,
	.notify_user_msg = user_msg,
	.get_broadcasts = get_broadcasts,
	.join_done = join_done,
	.leave_done = leave_done,
};

static const unsigned int ae_ms[] = {
	[MG_PROFILE_LAN] = 2000, [MG_PROFILE_WAN] = 10000,
	[MG_PROFILE_LOCAL] = 1000,
};

static int start_member(struct mg_mesh *mesh)
{
	const struct mg_config *cfg = mesh->cfg;
	struct mg_member_cfg *mc = calloc(1, sizeof(*mc));
	static const enum mg_member_profile prof[] = {
		[MG_PROFILE_LAN] = MG_MEMBER_LAN,
		[MG_PROFILE_WAN] = MG_MEMBER_WAN,
		[MG_PROFILE_LOCAL] = MG_MEMBER_LOCAL,
	};
	char seeds[MG_CFG_MAX_SEEDS][MG_ADDRSTRLEN + 10];
	const char *sp[MG_CFG_MAX_SEEDS + REJOIN_MAX];
	int err = 0, n = 0;

	if (!mc)
		return -ENOMEM;
	mg_member_cfg_init(mc, prof[cfg->profile]);
	if (cfg->profile == MG_PROFILE_LAN) {
		/*
		 * memberlist's LAN timers act on a death in 5 s or more; a
		 * gateway mesh must fail over in under 3 s (DESIGN §7).  A
		 * probe every 0.3 s, and a suspicion that needs one other
		 * accuser to end at its minimum, 3 x probe interval x
		 * max(1, log10(members)): 0.9 s up to ten gateways, 1.6 s at
		 * 64.  Measured by tests/bench/gossip.sh (loopback), death to
		 * withdrawal everywhere: 1.5 s at 16 gateways, 2.2 s (max
		 * 2.4 s) at 64; 0.5 s probes gave 3.0 s and 3.9 s.  Indirect
		 * probes, the TCP fallback and refutation keep 10% loss from
		 * killing anyone (tests/e2e/test_gossip_faults.sh).  Costs
		 * about a third more idle gossip bytes than 0.5 s probes.
		 */
		mc->t.probe_interval = 300;
		mc->t.probe_timeout = 200;
		mc->t.suspicion_mult = 3;
		mc->t.suspicion_max_mult = 4;
		/*
		 * Gossip every 50 ms: a change reaches every gateway in
		 * log(N) rounds, each a gossip interval (tests/sim
		 * model: p99 ~250 ms at 64 and ~290 ms at 255 gateways,
		 * against ~470 and ~570 at 100 ms).  An idle gateway
		 * sends nothing more (a tick without broadcasts sends
		 * nothing); a change costs the same retransmissions,
		 * only sooner.
		 */
		mc->t.gossip_interval = 50;
		mc->t.tcp_timeout = 2000;
	}
	/* A dead gateway held (gw_up) must not be reaped meanwhile. */
	if (mc->t.gossip_to_dead < cfg->hold_time * 1000 + 5000)
		mc->t.gossip_to_dead = cfg->hold_time * 1000 + 5000;
	snprintf(mc->name, sizeof(mc->name), "%s", cfg->gw_name);
	mc->bind = cfg->gossip_bind;
	mc->port = cfg->gossip_port;
	mc->advertise = cfg->gossip_advertise;
	mc->keyring = mesh->kr;
	mesh->retransmit_mult = mc->t.retransmit_mult;
	mesh->member = mg_member_new(mesh->loop, mc, &member_ops, mesh, &err);
	free(mc);
	if (!mesh->member) {
		pr_err("gossip on port %u: %s", cfg->gossip_port,
		       strerror(-err));
		return err ? err : -EINVAL;
	}
	for (int i = 0; i < cfg->n_seeds; i++) {
		char a[MG_ADDRSTRLEN];
		const struct mg_cfg_seed *s = &cfg->seeds[i];

		mg_addr_str(&s->addr, a, sizeof(a));
		if (s->addr.family == MG_AF_INET6)
			snprintf(seeds[n], sizeof(seeds[n]), "[%s]:%u", a, s->port);
		else
			snprintf(seeds[n], sizeof(seeds[n]), "%s:%u", a, s->port);
		/* Joining ourselves is pointless. */
		if (mg_addr_equal(&s->addr, &cfg->gossip_advertise) &&
		    s->port == cfg->gossip_port)
			continue;
		sp[n] = seeds[n];
		n++;
	}
	/* The gateways the last run saw alive (state_dir/members). */
	for (int i = 0; i < mesh->n_known; i++) {
		bool dup = false;

		for (int j = 0; j < n; j++)
			dup |= !strcmp(sp[j], mesh->known[i]);
		if (!dup)
			sp[n++] = mesh->known[i];
	}
	/* Until we hear from the gateways we expect, nothing is withdrawn. */
	mesh->expect_peers = n > 0;
	if (n && mg_member_join(mesh->member, sp, n) < 0)
		pr_warn("no seed could be tried yet; gossip will retry through push/pull");
	return 0;
}

static void on_liveness(void *arg)
{
	mesh_changed(arg);
}

static void on_hold_end(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	mesh_changed(arg);
}

int mg_mesh_new(struct mg_loop *loop, const struct mg_config *cfg,
		const struct mg_mesh_ops *ops, void *arg,
		struct mg_mesh **out)
{
	struct mg_state_cfg sc = { 0 };
	struct mg_mesh *mesh;
	int err;

	mesh = calloc(1, sizeof(*mesh));
	if (!mesh)
		return -ENOMEM;
	mesh->loop = loop;
	mesh->cfg = cfg;
	if (ops)
		mesh->ops = *ops;
	mesh->arg = arg;
	snprintf(mesh->eps_path, sizeof(mesh->eps_path), "%s/endpoints",
		 cfg->state_dir);
	snprintf(mesh->keys_path, sizeof(mesh->keys_path), "%s/keyring",
		 cfg->state_dir);
	snprintf(mesh->members_path, sizeof(mesh->members_path), "%s/members",
		 cfg->state_dir);
	read_lines(mesh->members_path, load_member, mesh);
	snprintf(mesh->drain_path, sizeof(mesh->drain_path), "%s/draining",
		 cfg->state_dir);
	if (!access(mesh->drain_path, F_OK)) {
		mesh->mode = "draining";
		pr_warn("draining (since before the restart; `meshgate undrain` ends it)");
	}
	snprintf(mesh->serf_path, sizeof(mesh->serf_path), "%s/serf_clock",
		 cfg->state_dir);
	mesh->serf = mg_serf_new(cfg->gw_name);
	if (!mesh->serf) {
		err = -ENOMEM;
		goto fail;
	}
	read_lines(mesh->serf_path, load_serf_clock, mesh);

	read_lines(mesh->eps_path, load_cli_ep, mesh);
	/* The keyring file, once written by `keys`, outranks the config. */
	if (read_lines(mesh->keys_path, load_key, mesh) <= 0) {
		mg_keyring_clear(&mesh->kr);
		for (int i = 0; i < cfg->n_keys; i++)
			mg_keyring_add_b64(&mesh->kr, cfg->keys[i], i == 0);
	}

	sc.name = cfg->gw_name;
	sc.cluster_id = cfg->cluster_id;
	sc.cluster_name = cfg->cluster_name;
	sc.on_change = on_state_change;
	sc.ctx = mesh;
	err = mg_state_new(&sc, &mesh->st);
	if (err)
		goto fail;
	sync_local(mesh);

	if (cfg->gossip_enabled) {
		mesh->started_ms = mg_now_ms();
		err = start_member(mesh);
		if (err)
			goto fail;
		/* our status time, newer than the last run's leave */
		send_join_intent(mesh);
		mesh->settle_timer = mg_loop_add_timer(loop,
						       cfg->settle_timeout * 1000,
						       0, on_settle_timeout,
						       mesh);
		mesh->ae_ms = ae_ms[cfg->profile];
		mesh->ae_timer = mg_loop_add_timer(loop, mesh->ae_ms,
						   mesh->ae_ms, on_ae, mesh);
		mesh->gc_timer = mg_loop_add_timer(loop, GC_MS, GC_MS, on_gc,
						   mesh);
		mesh->rejoin_timer = mg_loop_add_timer(loop,
						       REJOIN_AE * mesh->ae_ms,
						       REJOIN_AE * mesh->ae_ms,
						       on_rejoin, mesh);
		if (!mesh->ae_timer || !mesh->gc_timer || !mesh->rejoin_timer ||
		    !mesh->settle_timer) {
			err = -ENOMEM;
			goto fail;
		}
		mesh->hold_timer = mg_loop_add_timer(loop, 0, 0, on_hold_end,
						     mesh);
		err = cfg->echo_interval ?
		      mg_liveness_new(loop, cfg, on_liveness, mesh, &mesh->lv) :
		      0;
		if (err)
			pr_warn("running without data-plane liveness: %s",
				strerror(-err));
		pr_info("gossip on port %u (%s profile, %s)", cfg->gossip_port,
			cfg->profile == MG_PROFILE_WAN ? "wan" :
			cfg->profile == MG_PROFILE_LOCAL ? "local" : "lan",
			mesh->kr.n ? "encrypted" : "not encrypted");
	}
	*out = mesh;
	return 0;
fail:
	mg_mesh_free(mesh);
	return err;
}

void mg_mesh_free(struct mg_mesh *mesh)
{
	if (!mesh)
		return;
	mg_loop_del(mesh->loop, mesh->ae_timer);
	mg_loop_del(mesh->loop, mesh->gc_timer);
	mg_loop_del(mesh->loop, mesh->rejoin_timer);
	mg_loop_del(mesh->loop, mesh->leave_timer);
	mg_loop_del(mesh->loop, mesh->hold_timer);
	mg_liveness_free(mesh->lv);
	mg_loop_del(mesh->loop, mesh->settle_timer);
	mg_member_free(mesh->member);
	mg_serf_free(mesh->serf);
	free(mesh->keyq);
	mg_state_free(mesh->st);
	free(mesh->route_eps);
	free(mesh->local);
	free(mesh->vlocal);
	free(mesh->rows);
	free(mesh->pfx);
	free(mesh->vgw);
	free(mesh->seen);
	free(mesh->seen_idx);
	free(mesh);
}

/* --- drain and restart -------------------------------------------------------- */

/*
 * drain_hook, a command line for /bin/sh, with the event (drain, undrain)
 * as its last argument and in MESHGATE_EVENT; in the background, not
 * waited for.
 */
static void run_hook(const struct mg_mesh *mesh, const char *event)
{
	const char *hook = mesh->cfg->drain_hook;
	char cmd[PATH_MAX + 8];
	pid_t pid;

	if (!hook[0])
		return;
	pr_info("drain_hook: %s %s", hook, event);
	pid = fork();
	if (pid < 0) {
		pr_warn("drain_hook: %s", strerror(errno));
		return;
	}
	if (!pid) {
		/* Orphaned at once: init reaps it, our loop never has to. */
		if (!fork()) {
			setenv("MESHGATE_EVENT", event, 1);
			snprintf(cmd, sizeof(cmd), "%s \"$1\"", hook);
			execl("/bin/sh", "sh", "-c", cmd, "drain_hook", event,
			      (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

static bool is_draining(const struct mg_mesh *mesh)
{
	return mesh->mode && !strcmp(mesh->mode, "draining");
}

bool mg_mesh_draining(const struct mg_mesh *mesh)
{
	return is_draining(mesh);
}

int mg_mesh_drain(struct mg_mesh *mesh, bool on)
{
	if (!mesh->member)
		return -ENOTCONN;
	if (on == is_draining(mesh))
		return -EALREADY;
	if (on) {
		/* Kept across a restart: an empty file, saved as the others. */
		int err = mg_persist_write(mesh->drain_path, "", 0);

		if (err)
			pr_warn("%s: %s (a restart ends the drain)",
				mesh->drain_path, strerror(-err));
	} else if (unlink(mesh->drain_path) && errno != ENOENT) {
		pr_warn("%s: %s", mesh->drain_path, strerror(errno));
	}
	mesh->mode = on ? "draining" : NULL;
	mg_member_update_meta(mesh->member, NULL);
	pr_info(on ? "draining: peers withdraw this gateway; its datapath keeps forwarding what arrives" :
		     "undrained: peers use this gateway again");
	run_hook(mesh, on ? "drain" : "undrain");
	return 0;
}

int mg_mesh_announce_restart(struct mg_mesh *mesh)
{
	if (!mesh->member || mesh->leave_timer)
		return -ENOTCONN;
	if (is_draining(mesh))
		return 0;	/* drained it stays, through the restart */
	mesh->mode = "restarting";
	return mg_member_update_meta(mesh->member, NULL);
}

/* --- commands (through the control socket) --------------------------------- */

static const char *row_state(const struct mg_mesh *mesh, const struct row *r);

/* `peers forget NAME`: a left or dead gateway and its entries, now. */
static int peers_forget(struct mg_cli *cli, struct mg_mesh *mesh,
			const char *name)
{
	struct mg_view view;
	int err = mg_mesh_view(mesh, &view);

	if (err) {
		fprintf(cli->err, "meshgate peers forget: %s\n", strerror(-err));
		return 1;
	}
	for (int i = 0; i < mesh->n_rows; i++) {
		const struct row *r = &mesh->rows[i];

		if (strcmp(r->name, name))
			continue;
		if (r->state != GW_DEAD && r->state != GW_LEFT) {
			fprintf(cli->err, "meshgate peers forget: %s is %s: only a left or dead gateway can be forgotten\n",
				name, row_state(mesh, r));
			return 1;
		}
		forget(mesh, name, "peers forget");
		out_text("forgot %s\n", name);
		out_finish();
		return 0;
	}
	fprintf(cli->err, "meshgate peers forget: no gateway %s (see meshgate peers)\n",
		name);
	return 1;
}

/*
 * A member's state as `serf members` shows it: memberlist's, and serf's
 * intents on top: alive but with a newer leave intent is "leaving", dead
 * after one is "left" (serf's force-leave of a failed member, too).
 * Then ours: draining (alive, withdrawn on request) and restarting (dead
 * to gossip after it told us it restarts).
 */
static const char *row_state(const struct mg_mesh *mesh, const struct row *r)
{
	uint64_t t;
	bool leaving;

	if (r->conflict)
		return "conflict";
	if (r->state != GW_STATIC && mesh->serf &&
	    !mg_serf_member(mesh->serf, r->name, &t, &leaving) && leaving) {
		if (r->state == GW_ALIVE || r->state == GW_SUSPECT)
			return "leaving";
		if (r->state == GW_DEAD)
			return "left";
	}
	if (r->draining && (r->state == GW_ALIVE || r->state == GW_SUSPECT))
		return "draining";
	if (r->restarting && r->state == GW_DEAD)
		return "restarting";
	return gw_state_names[r->state];
}

int mg_mesh_cmd_peers(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_mesh *mesh = cli->priv;
	struct mg_view view;
	char tun[MG_ADDRSTRLEN], rtt[32];
	int err;

	/* Destructive: the verb in full only. */
	if (argc == 3 && !strcmp(argv[1], "forget"))
		return peers_forget(cli, mesh, argv[2]);
	if (argc > 2 || (argc == 2 && !mg_matches(argv[1], "list"))) {
		fprintf(cli->err, "usage: meshgate peers [list]\n"
			"       meshgate peers forget NAME\n");
		return 2;
	}
	err = mg_mesh_view(mesh, &view);
	if (err) {
		fprintf(cli->err, "meshgate peers: %s\n", strerror(-err));
		return 1;
	}
	out_arr_open("peers");
	out_text("%-20s %-14s %-4s %-16s %-9s %5s %9s %6s\n", "name",
		 "cluster", "id", "tunnel", "state", "inc", "rtt", "eps");
	for (int i = 0; i < mesh->n_rows; i++) {
		const struct row *r = &mesh->rows[i];
		const char *state = row_state(mesh, r);

		if (r->rtt_us >= 0)
			snprintf(rtt, sizeof(rtt), "%.3fms", r->rtt_us / 1000.0);
		else
			snprintf(rtt, sizeof(rtt), "-");
		out_obj_open(NULL);
		out_str("name", "%-20s", r->name);
		out_str("cluster", " %-14s", r->gateway ? r->cluster : "-");
		out_u64("cluster_id", " %-4llu", r->cluster_id);
		out_str("tunnel_address", " %-16s",
			mg_addr_str(&r->tunnel, tun, sizeof(tun)));
		out_str("state", " %-9s", state);
		out_u64("incarnation", " %5llu", r->incarnation);
		if (out_is_json()) {
			if (r->rtt_us >= 0)
				out_u64("rtt_us", NULL, r->rtt_us);
		} else {
			out_text(" %9s", rtt);
		}
		out_u64("endpoints", " %6llu", r->n_prefixes);
		if (r->gateway && r->state != GW_STATIC) {
			int64_t us = mg_liveness_rtt_us(mesh->lv, &r->tunnel);

			out_str("datapath", NULL, mg_echo_state_name(r->echo));
			if (us >= 0)
				out_u64("datapath_rtt_us", NULL, us);
		}
		out_bool("meshgate", NULL, r->gateway);
		out_bool("sibling", NULL, r->sibling);
		if (r->conflict)
			out_str("conflict", "  refused: %s", r->conflict);
		else if (!r->gateway)
			out_text("  (not a meshgate gateway)");
		else if (r->sibling)
			out_text("  (our own cluster)");
		out_text("\n");
		out_obj_close();
	}
	out_arr_close();
	out_finish();
	return 0;
}

static const char *local_source(const struct mg_mesh *mesh,
				const struct mg_prefix *p)
{
	if (prefix_in(mesh->cfg->cidrs, mesh->cfg->n_cidrs, p))
		return "config";
	if (prefix_in(mesh->cli_eps, mesh->n_cli_eps, p))
		return "cli";
	if (bsearch(p, mesh->route_eps, mesh->n_route_eps, sizeof(*p),
		    prefix_cmp))
		return "route";
	return "?";
}

static int eps_list(struct mg_cli *cli, struct mg_mesh *mesh)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_origin_info oi;
	struct mg_state_entry e;
	char buf[MG_PREFIXSTRLEN];

	out_arr_open("endpoints");
	out_text("%-22s %-14s %-4s %-20s %-8s %s\n", "prefix", "cluster", "id",
		 "origin", "source", "version");
	while (mg_state_iter_next(mesh->st, &it, &e)) {
		if (e.key.kind != MG_STATE_ENDPOINT ||
		    mg_state_origin_get(mesh->st, e.origin, &oi))
			continue;
		out_obj_open(NULL);
		out_str("prefix", "%-22s", mg_prefix_str(&e.key.ep, buf,
							  sizeof(buf)));
		out_str("cluster", " %-14s", oi.cluster_name);
		out_u64("cluster_id", " %-4llu", oi.cluster_id);
		out_str("origin", " %-20s", oi.name);
		out_str("source", " %-8s", oi.self ?
			local_source(mesh, &e.key.ep) : "gossip");
		out_u64("version", " %llu\n", e.version);
		out_obj_close();
	}
	for (int i = 0; i < mesh->cfg->n_peers; i++) {
		const struct mg_cfg_peer *p = &mesh->cfg->peers[i];

		for (int c = 0; c < p->n_cidrs; c++) {
			out_obj_open(NULL);
			out_str("prefix", "%-22s",
				mg_prefix_str(&p->cidrs[c], buf, sizeof(buf)));
			out_str("cluster", " %-14s", p->cluster);
			out_u64("cluster_id", " %-4llu", p->cluster_id);
			out_str("origin", " %-20s", p->name);
			out_str("source", " %-8s", "static");
			out_u64("version", " %llu\n", 0);
			out_obj_close();
		}
	}
	out_arr_close();
	out_finish();
	return 0;
}

/* A new endpoint of ours must not overlap another cluster's. */
static const char *ep_conflict(struct mg_mesh *mesh, const struct mg_prefix *p,
			       char *buf, size_t len)
{
	struct mg_view view;
	char a[MG_PREFIXSTRLEN];

	if (mg_mesh_view(mesh, &view))
		return NULL;
	for (int g = 0; g < view.n_gw; g++)
		for (int i = 0; i < view.gw[g].n_prefixes; i++)
			if (mg_prefix_overlap(p, &view.gw[g].prefixes[i])) {
				snprintf(buf, len, "overlaps %s of cluster %u (gateway %s)",
					 mg_prefix_str(&view.gw[g].prefixes[i],
						       a, sizeof(a)),
					 view.gw[g].cluster_id, view.gw[g].name);
				return buf;
			}
	return NULL;
}

int mg_mesh_cmd_endpoints(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_mesh *mesh = cli->priv;
	struct mg_prefix p, *eps;
	char why[160];
	int i, n, err;

	if (argc == 1 || (argc == 2 && mg_matches(argv[1], "list")))
		return eps_list(cli, mesh);
	if (argc != 3 || (!mg_matches(argv[1], "add") &&
			  !mg_matches(argv[1], "del") &&
			  !mg_matches(argv[1], "delete"))) {
		fprintf(cli->err, "usage: meshgate endpoints [list]\n"
			"       meshgate endpoints add|del PREFIX\n");
		return 2;
	}
	if (mg_prefix_parse(argv[2], &p)) {
		fprintf(cli->err, "meshgate endpoints: \"%s\" is not a prefix "
			"(ADDRESS/LENGTH, host bits zero, e.g. 10.1.7.0/24)\n",
			argv[2]);
		return 2;
	}
	for (i = 0; i < mesh->n_cli_eps; i++)
		if (mg_prefix_equal(&mesh->cli_eps[i], &p))
			break;
	if (mg_matches(argv[1], "add")) {
		if (i < mesh->n_cli_eps) {
			fprintf(cli->err, "meshgate endpoints: %s is already there\n",
				argv[2]);
			return 1;
		}
		if (ep_conflict(mesh, &p, why, sizeof(why))) {
			fprintf(cli->err, "meshgate endpoints: %s %s\n", argv[2],
				why);
			return 1;
		}
		if (mesh->n_cli_eps >= MAX_CLI_EPS) {
			fprintf(cli->err, "meshgate endpoints: at most %d can be added\n",
				MAX_CLI_EPS);
			return 1;
		}
	} else if (i == mesh->n_cli_eps) {
		fprintf(cli->err, "meshgate endpoints: %s was not added "
			"with the CLI (endpoints from the config or "
			"from routes change there)\n", argv[2]);
		return 1;
	}
	/* The new set is saved first, and applied only once it is. */
	eps = calloc(mesh->n_cli_eps + 1, sizeof(*eps));
	if (!eps) {
		fprintf(cli->err, "meshgate endpoints: %s\n", strerror(ENOMEM));
		return 1;
	}
	memcpy(eps, mesh->cli_eps, mesh->n_cli_eps * sizeof(*eps));
	n = mesh->n_cli_eps;
	if (mg_matches(argv[1], "add"))
		eps[n++] = p;
	else
		eps[i] = eps[--n];
	err = save_cli_eps(mesh, eps, n);
	if (err) {
		fprintf(cli->err, "meshgate endpoints: not changed: saving %s: %s\n",
			mesh->eps_path, strerror(-err));
		free(eps);
		return 1;
	}
	memcpy(mesh->cli_eps, eps, n * sizeof(*eps));
	mesh->n_cli_eps = n;
	free(eps);
	sync_local(mesh);
	return 0;
}

/* --- the keyring: `meshgate keys` and serf's key queries ------------------- */

/*
 * Change the keyring (verb install, use or remove) and save it.  0, or
 * non-zero with why in @msg.  @serf: memberlist's rules (serf's queries):
 * removing a key that is not there succeeds.
 */
static int keys_change(struct mg_mesh *mesh, const char *verb,
		       const struct mg_key *key, bool serf, char *msg,
		       size_t msg_size)
{
	struct mg_keyring kr = mesh->kr;
	int err;

	if (!strcmp(verb, "install"))
		err = mg_keyring_add(&kr, key, false);
	else if (!strcmp(verb, "use"))
		err = mg_keyring_use(&kr, key);
	else
		err = mg_keyring_remove(&kr, key);
	if (err == -ENOENT && serf && !strcmp(verb, "remove"))
		return 0;
	if (err) {
		/* a serf agent answers with memberlist's words */
		snprintf(msg, msg_size, "%s",
			 err == -ENOENT && serf ? "Requested key is not in the keyring" :
			 err == -EBUSY && serf ? "Removing the primary key is not allowed" :
			 err == -ENOENT ? "no such key installed" :
			 err == -EBUSY ? "that is the primary key; `keys use` another one first" :
			 err == -ENOSPC ? "the keyring is full (8 keys)" :
			 strerror(-err));
		return 1;
	}
	/*
	 * Saved first: a keyring in use that a restart would not find cuts
	 * this gateway off once its peers drop the old key.
	 */
	err = save_keys(mesh, &kr);
	if (err) {
		snprintf(msg, msg_size, "not changed: saving %.100s: %s",
			 mesh->keys_path, strerror(-err));
		return 1;
	}
	if (mesh->member) {
		err = mg_member_set_keyring(mesh->member, &kr);
		if (err) {
			/* Back to the file of the keyring still in use. */
			save_keys(mesh, &mesh->kr);
			snprintf(msg, msg_size, "%s", strerror(-err));
			return 1;
		}
	}
	mesh->kr = kr;
	return 0;
}

/* What serf's handleInstallKey etc. answer, as a nodeKeyResponse. */
static int key_query_answer(struct mg_mesh *mesh, const char *verb,
			    const uint8_t *payload, size_t len,
			    struct mg_buf *out)
{
	struct mg_serf_key_result r = { .message = "" };
	char why[160] = "";
	struct mg_key key;

	if (!mesh->kr.n) {
		r.message = strcmp(verb, "list-keys") ?
			"No keyring to modify (encryption not enabled)" :
			"Keyring is empty (encryption not enabled)";
	} else if (!strcmp(verb, "list-keys")) {
		r.result = true;
		r.n_keys = mesh->kr.n;
		r.keys = mesh->kr.keys;
		r.primary = &mesh->kr.keys[mesh->kr.primary];
	} else if (mg_serf_key_request_decode(payload, len, &key)) {
		r.message = "Failed to decode key request";
	} else {
		char v[16];

		snprintf(v, sizeof(v), "%.*s", (int)(strchr(verb, '-') - verb),
			 verb);
		if (keys_change(mesh, v, &key, true, why, sizeof(why)))
			r.message = why;
		else
			r.result = true;
		pr_info("serf's %s query: %s%s", verb,
			r.result ? "done" : "refused: ", r.result ? "" : why);
	}
	return mg_serf_key_result_encode(&r, out);
}

/* A mesh-wide key query of ours, while it runs (and until read). */
#define KEYQ_NODES_MAX	1024	/* responders remembered */
#define KEYQ_KEYS_MAX	32	/* distinct keys counted (list) */
#define KEYQ_MSG_MAX	128

struct keyq_node {
	char name[MG_ML_NAME_MAX + 1];
	char msg[KEYQ_MSG_MAX];
	bool ok;
};

struct keyq {
	char verb[16];			/* install-key, ... */
	uint64_t ltime;
	uint32_t id;
	uint64_t deadline_us;		/* engine clock */
	unsigned int n_nodes;		/* members alive when it went out */
	unsigned int n_resp, n_err;
	unsigned int n_over;		/* responders beyond KEYQ_NODES_MAX */
	struct keyq_node node[KEYQ_NODES_MAX];
	unsigned int n_keys;
	unsigned int n_keys_over;	/* keys beyond KEYQ_KEYS_MAX */
	struct {
		char b64[64];
		unsigned int n, primary;
	} key[KEYQ_KEYS_MAX];
};

static void keyq_key(void *ctx, const uint8_t *b64, uint32_t len,
		     bool primary)
{
	struct keyq *q = ctx;
	unsigned int i;

	if (len >= sizeof(q->key[0].b64))
		return;
	for (i = 0; i < q->n_keys; i++)
		if (strlen(q->key[i].b64) == len &&
		    !memcmp(q->key[i].b64, b64, len))
			break;
	if (i == q->n_keys) {
		if (q->n_keys >= KEYQ_KEYS_MAX) {
			q->n_keys_over++;
			return;
		}
		memcpy(q->key[i].b64, b64, len);
		q->key[i].b64[len] = 0;
		q->n_keys++;
	}
	if (primary)
		q->key[i].primary++;
	else
		q->key[i].n++;
}

/* A response from @from (serf's streamKeyResp); duplicates ignored. */
static void keyq_add(struct keyq *q, const uint8_t *from, uint32_t from_len,
		     const uint8_t *p, size_t n)
{
	struct keyq_node *e;
	unsigned int i;
	bool ok;

	if (!from_len || from_len > MG_ML_NAME_MAX)
		return;
	for (i = 0; i < q->n_resp && i < KEYQ_NODES_MAX; i++)
		if (strlen(q->node[i].name) == from_len &&
		    !memcmp(q->node[i].name, from, from_len))
			return;
	if (q->n_resp >= KEYQ_NODES_MAX) {
		q->n_over++;
		return;
	}
	e = &q->node[q->n_resp++];
	memcpy(e->name, from, from_len);
	e->name[from_len] = 0;
	if (mg_serf_key_result_decode(p, n, &ok, e->msg, sizeof(e->msg),
				      keyq_key, q)) {
		snprintf(e->msg, sizeof(e->msg),
			 "Failed to decode key query response");
		ok = false;
	}
	e->ok = ok;
	q->n_err += !ok;
}

static void serf_response(struct mg_mesh *mesh, const uint8_t *p, size_t n)
{
	struct mg_serf_response r;

	if (!mesh->keyq || mg_serf_response_decode(p, n, &r) ||
	    r.ltime != mesh->keyq->ltime || r.id != mesh->keyq->id ||
	    (r.flags & MG_SERF_QFLAG_ACK) ||
	    mg_member_now(mesh->member) > mesh->keyq->deadline_us)
		return;
	keyq_add(mesh->keyq, r.from, r.from_len, r.payload, r.payload_len);
}

/* serf's messageRelayType: pass the message on to its destination. */
static void serf_forward(struct mg_mesh *mesh, const uint8_t *p, size_t n)
{
	char name[MG_ML_NAME_MAX + 1];
	const uint8_t *dest, *inner;
	uint32_t dest_len;
	size_t inner_len;

	if (mg_serf_relay_decode(p, n, &dest, &dest_len, &inner, &inner_len) ||
	    dest_len > MG_ML_NAME_MAX)
		return;
	snprintf(name, sizeof(name), "%.*s", (int)dest_len, dest);
	mg_member_send_user(mesh->member, name, inner, inner_len);
}

/* serf's relayResponse: up to @want other live members, at random. */
struct relay_pick {
	const char *self;
	unsigned int want, seen, n;
	char name[8][MG_ML_NAME_MAX + 1];
};

static int relay_pick_one(void *ctx, const struct mg_member_info *mi)
{
	struct relay_pick *rp = ctx;
	uint32_t r;

	/* serf: alive, protocol max 5 or more, not us */
	if (mi->self || mi->state != MG_MEMBER_ALIVE || mi->vsn[1] < 5)
		return 0;
	rp->seen++;
	if (rp->n < rp->want) {
		snprintf(rp->name[rp->n++], sizeof(rp->name[0]), "%s",
			 mi->name);
		return 0;
	}
	/* reservoir sampling */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r) &&
	    r % rp->seen < rp->want)
		snprintf(rp->name[r % rp->seen], sizeof(rp->name[0]), "%s",
			 mi->name);
	return 0;
}

static void serf_relay_response(struct mg_mesh *mesh,
				const struct mg_serf_query *q,
				const struct mg_buf *resp)
{
	struct relay_pick rp = { .want = q->relay_factor };
	struct mg_buf b = { 0 };

	if (!q->relay_factor)
		return;
	if (rp.want > 8)
		rp.want = 8;	/* serf's -relay-factor is at most 5 */
	mg_member_foreach(mesh->member, relay_pick_one, &rp);
	/* serf: only when there are relayFactor other members */
	if (rp.seen < q->relay_factor ||
	    mg_serf_relay_encode(q->addr, q->addr_len, q->port, q->source,
				 q->source_len, resp->data, resp->len, &b)) {
		mg_buf_free(&b);
		return;
	}
	for (unsigned int i = 0; i < rp.n; i++)
		mg_member_send_user(mesh->member, rp.name[i], b.data, b.len);
	mg_buf_free(&b);
}

/* Answer @q with @payload, to its SourceNode as serf's Respond does. */
static void serf_respond(struct mg_mesh *mesh, const struct mg_serf_query *q,
			 uint32_t flags, const struct mg_buf *payload)
{
	struct mg_serf_response r = {
		.ltime = q->ltime, .id = q->id, .flags = flags,
		.from = (const uint8_t *)mesh->cfg->gw_name,
		.from_len = strlen(mesh->cfg->gw_name),
		.payload = payload ? payload->data : NULL,
		.payload_len = payload ? payload->len : 0,
	};
	char name[MG_ML_NAME_MAX + 1];
	struct mg_buf b = { 0 };
	int err;

	if (!q->source_len || q->source_len > MG_ML_NAME_MAX)
		return;		/* serf 0.9.4 always names its source */
	snprintf(name, sizeof(name), "%.*s", (int)q->source_len, q->source);
	err = mg_serf_response_encode(&r, &b);
	err = err ?: mg_member_send_user(mesh->member, name, b.data, b.len);
	if (err)
		pr_debug("cannot answer %s's query: %s", name, strerror(-err));
	if (b.len)
		serf_relay_response(mesh, q, &b);
	mg_buf_free(&b);
}

/*
 * serf's handleQuery after its buffer said new: relay it (unless it says
 * NoBroadcast), ack when asked, and answer serf's key queries.  Other
 * queries (user queries, serf's ping and conflict) are relayed only:
 * there is nothing here to run them.  A query whose filters leave us out
 * (or that filters by tag) is relayed but not acked nor answered.
 */
static void serf_query(struct mg_mesh *mesh, const uint8_t *p, size_t n)
{
	struct mg_serf_query q;
	struct mg_buf ans = { 0 };
	const char *verb;

	if (mg_serf_query_decode(p, n, &q))
		return;
	if (!(q.flags & MG_SERF_QFLAG_NO_BCAST))
		mg_member_user_broadcast(mesh->member, p, n);
	if (!mg_serf_query_for(&q, mesh->cfg->gw_name))
		return;
	if (q.flags & MG_SERF_QFLAG_ACK)
		serf_respond(mesh, &q, MG_SERF_QFLAG_ACK, NULL);
	verb = mg_serf_key_query(&q);
	if (!verb)
		return;
	if (!key_query_answer(mesh, verb, q.payload, q.payload_len, &ans))
		serf_respond(mesh, &q, 0, &ans);
	mg_buf_free(&ans);
}

/* serf's DefaultQueryTimeout: GossipInterval (200 ms) x 16 x ceil(log10(N+1)). */
static uint64_t query_timeout_us(unsigned int n)
{
	unsigned int lg = 1;

	for (unsigned int v = 10; v < n + 1 && lg < 9; v *= 10)
		lg++;
	return 200000ull * 16 * lg;
}

/* Send serf's @verb key query to the pool and answer it here too. */
static int keyq_start(struct mg_cli *cli, struct mg_mesh *mesh,
		      const char *verb, const struct mg_key *key)
{
	struct mg_serf_query q = { 0 };
	struct mg_member_info self;
	struct mg_buf req = { 0 }, msg = { 0 }, ans = { 0 };
	char name[32];
	uint32_t id;
	int err;

	if (!mesh->member ||
	    mg_member_find(mesh->member, mesh->cfg->gw_name, &self)) {
		fprintf(cli->err, "meshgate keys mesh: gossip is off\n");
		return 1;
	}
	if (mesh->keyq && mesh->keyq->n_resp < mesh->keyq->n_nodes &&
	    mg_member_now(mesh->member) <= mesh->keyq->deadline_us) {
		fprintf(cli->err, "meshgate keys mesh: another %s query is still running\n",
			mesh->keyq->verb);
		return 1;
	}
	if (!mesh->keyq) {
		mesh->keyq = calloc(1, sizeof(*mesh->keyq));
		if (!mesh->keyq) {
			fprintf(cli->err, "meshgate keys mesh: %s\n",
				strerror(ENOMEM));
			return 1;
		}
	}
	memset(mesh->keyq, 0, sizeof(*mesh->keyq));
	snprintf(name, sizeof(name), MG_SERF_INTERNAL "%s", verb);
	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) < 0)
		id = (uint32_t)mg_member_now(mesh->member);
	id &= 0x7fffffff;	/* rand.Int31() */
	q.id = id;
	q.addr = (const uint8_t *)self.addr.addr;
	q.addr_len = self.addr.family == MG_AF_INET6 ? 16 : 4;
	q.port = self.port;
	q.source = (const uint8_t *)mesh->cfg->gw_name;
	q.source_len = strlen(mesh->cfg->gw_name);
	q.timeout_ns = query_timeout_us(mg_member_alive(mesh->member)) * 1000;
	q.name = (const uint8_t *)name;
	q.name_len = strlen(name);
	err = mg_serf_key_request_encode(key, &req);
	q.payload = req.data;
	q.payload_len = req.len;
	q.ltime = mg_serf_query_time(mesh->serf, id);
	err = err ?: mg_serf_query_encode(&q, &msg);
	if (!err && msg.len > MG_SERF_QUERY_SIZE_MAX)
		err = -EMSGSIZE;
	err = err ?: mg_member_user_broadcast(mesh->member, msg.data, msg.len);
	if (err) {
		fprintf(cli->err, "meshgate keys mesh: %s\n", strerror(-err));
		mg_buf_free(&req);
		mg_buf_free(&msg);
		free(mesh->keyq);
		mesh->keyq = NULL;
		return 1;
	}
	snprintf(mesh->keyq->verb, sizeof(mesh->keyq->verb), "%s", verb);
	mesh->keyq->ltime = q.ltime;
	mesh->keyq->id = id;
	mesh->keyq->n_nodes = mg_member_alive(mesh->member);
	mesh->keyq->deadline_us = mg_member_now(mesh->member) +
				  q.timeout_ns / 1000;
	/* serf's Query handles it locally too: our own answer */
	if (!key_query_answer(mesh, verb, req.data, req.len, &ans))
		keyq_add(mesh->keyq, q.source, q.source_len, ans.data,
			 ans.len);
	mg_buf_free(&ans);
	mg_buf_free(&req);
	mg_buf_free(&msg);
	return 0;
}

#define KEYQ_PENDING	75	/* EX_TEMPFAIL: ask again */

/* The tally as serf's `keys` prints it, once every member answered or
 * the timeout passed; KEYQ_PENDING before. */
static int keyq_result(struct mg_cli *cli, struct mg_mesh *mesh)
{
	struct keyq *q = mesh->keyq;
	unsigned int i;
	bool ok;

	if (!q) {
		fprintf(cli->err, "meshgate keys mesh: no query sent\n");
		return 1;
	}
	if (q->n_resp < q->n_nodes &&
	    mg_member_now(mesh->member) <= q->deadline_us)
		return KEYQ_PENDING;
	ok = !q->n_err && q->n_resp >= q->n_nodes;
	out_obj_open(NULL);
	out_str("query", "%s: ", q->verb);
	out_u64("success", "%llu", q->n_resp - q->n_err);
	out_u64("nodes", "/%llu nodes reported success\n", q->n_nodes);
	out_u64("failures", NULL, q->n_err);
	if (q->n_over)
		out_u64("responses_dropped",
			"  (%llu more responses not counted: too many)\n",
			q->n_over);
	out_arr_open("failed");
	for (i = 0; i < q->n_resp; i++)
		if (!q->node[i].ok) {
			out_obj_open(NULL);
			out_str("node", "  %s: ", q->node[i].name);
			out_str("message", "%s\n", q->node[i].msg);
			out_obj_close();
		}
	out_arr_close();
	if (!strcmp(q->verb, "list-keys")) {
		out_arr_open("keys");
		for (i = 0; i < q->n_keys; i++) {
			if (!q->key[i].n)
				continue;
			out_obj_open(NULL);
			out_str("key", "  %s", q->key[i].b64);
			out_u64("nodes", " [%llu", q->key[i].n);
			out_text("/%u]", q->n_resp);
			out_u64("primary", q->key[i].primary ?
				" primary on %llu" : NULL, q->key[i].primary);
			out_text("\n");
			out_obj_close();
		}
		out_arr_close();
	}
	out_obj_close();
	out_finish();
	free(q);
	mesh->keyq = NULL;
	return ok ? 0 : 1;
}

/*
 * `keys mesh VERB [KEY]`: serf's key query to the whole pool (serf and
 * meshgate members alike); `keys mesh wait`: its tally.  The CLI sends the
 * first, then asks the second until it is not KEYQ_PENDING.
 */
static int keys_mesh(struct mg_cli *cli, struct mg_mesh *mesh, int argc,
		     char **argv)
{
	static const char *const verbs[][2] = {
		{ "install", "install-key" }, { "use", "use-key" },
		{ "remove", "remove-key" }, { "list", "list-keys" },
	};
	struct mg_key key;

	if (argc == 3 && !strcmp(argv[2], "wait"))
		return keyq_result(cli, mesh);
	for (unsigned int i = 0; i < 4; i++) {
		if (strcmp(argv[2], verbs[i][0]))
			continue;
		if (i == 3 && argc == 3)
			return keyq_start(cli, mesh, verbs[i][1], NULL);
		if (i < 3 && argc == 4 && !mg_key_parse_b64(argv[3], &key))
			return keyq_start(cli, mesh, verbs[i][1], &key);
		break;
	}
	fprintf(cli->err, "usage: meshgate keys mesh list | install KEY | "
		"use KEY | remove KEY   (verbs in full)\n");
	return 2;
}

int mg_mesh_cmd_keys(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_mesh *mesh = cli->priv;
	struct mg_keyring kr = mesh->kr;
	const char *verb = NULL;
	struct mg_key key;
	char b64[64], why[160];

	if (argc == 1 || (argc == 2 && mg_matches(argv[1], "list"))) {
		out_arr_open("keys");
		for (unsigned int i = 0; i < kr.n; i++) {
			key_b64(&kr.keys[i], b64, sizeof(b64));
			out_obj_open(NULL);
			out_str("key", "%s", b64);
			out_u64("bits", "  AES-%llu", kr.keys[i].len * 8ull);
			out_bool("primary", NULL, i == kr.primary);
			out_text("%s\n", i == kr.primary ? "  primary" : "");
			out_obj_close();
		}
		if (!kr.n)
			out_text("no keys: gossip is not encrypted\n");
		out_arr_close();
		out_finish();
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "mesh"))
		return keys_mesh(cli, mesh, argc, argv);
	if (argc != 3 || mg_key_parse_b64(argv[2], &key)) {
		fprintf(cli->err, "usage: meshgate keys [list]\n"
			"       meshgate keys install|use|remove KEY   "
			"(KEY: base64 of 16, 24 or 32 bytes)\n"
			"       meshgate keys mesh list | install|use|remove KEY\n");
		return 2;
	}
	if (mg_matches(argv[1], "install"))
		verb = "install";
	else if (mg_matches(argv[1], "use"))
		verb = "use";
	else if (mg_matches(argv[1], "remove"))
		verb = "remove";
	if (!verb) {
		fprintf(cli->err, "meshgate keys: unknown verb '%s' (list, install, use, remove, mesh)\n",
			argv[1]);
		return 2;
	}
	if (keys_change(mesh, verb, &key, false, why, sizeof(why))) {
		fprintf(cli->err, "meshgate keys %s: %s\n", verb, why);
		return 1;
	}
	return 0;
}

struct mg_state *mg_mesh_state(struct mg_mesh *mesh)
{
	return mesh ? mesh->st : NULL;
}
