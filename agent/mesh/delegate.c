// SPDX-License-Identifier: GPL-2.0-only
/*
 * The membership engine's delegate: members, push/pull, user messages,
 * serf's intents and clocks, leaving, broadcasts, our tags.
 */
#include "mesh/mesh_int.h"

/* --- member delegate --------------------------------------------------- */

void mesh_on_member(void *arg, const struct mg_member_info *mi)
{
	mesh_changed(arg);
}

bool mesh_is_member(void *ctx, const char *name)
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
int mesh_local_state(void *arg, bool join, struct mg_buf *out)
{
	struct mg_mesh *mesh = arg;
	struct mg_buf ours = { 0 };
	int err = mesh_envelope(mesh, &ours);

	err = err ?: mg_state_digest(mesh->st, PUSHPULL_BUDGET, &ours);
	err = err ?: mg_serf_push_pull_encode(mesh->serf, is_left, mesh,
					      ours.data, ours.len, out);
	mg_buf_free(&ours);
	return err;
}

void mesh_merge_remote(void *arg, const uint8_t *p, size_t n, bool join)
{
	struct mg_mesh *mesh = arg;
	const uint8_t *ours;
	size_t len;
	int v;

	if (n && p[0] == ENV_MAGIC) {
		mesh_handle_msg(mesh, p, n); /* a gateway before serf's state */
		return;
	}
	v = mg_serf_push_pull_merge(mesh->serf, p, n, &ours, &len);
	if (v == MG_SERF_REFUTE) {
		pr_info("refuting serf's leave intent about us (a push/pull lists us as left)");
		mesh_send_join_intent(mesh);
	}
	if (v >= 0 && ours)
		mesh_handle_msg(mesh, ours, len);
}

void mesh_user_msg(void *arg, const uint8_t *p, size_t n)
{
	struct mg_mesh *mesh = arg;

	switch (mg_serf_user_msg(mesh->serf, p, n)) {
	case MG_SERF_NOT_SERF:
		mesh_handle_msg(mesh, p, n);
		break;
	case MG_SERF_RELAY:
		/* serf relays a new intent, event or query as it came */
		if (p[0] == MG_SERF_QUERY)
			mesh_serf_query(mesh, p, n);
		else
			mg_member_user_broadcast(mesh->member, p, n);
		break;
	case MG_SERF_RESPONSE:
		mesh_serf_response(mesh, p, n);
		break;
	case MG_SERF_FORWARD:
		mesh_serf_forward(mesh, p, n);
		break;
	case MG_SERF_REFUTE:
		/* a force-leave, or an old leave of ours relayed late */
		pr_info("refuting serf's leave intent about us with a newer join intent");
		mesh_send_join_intent(mesh);
		break;
	case MG_SERF_DONE:
		break;
	}
}

static int count_live_gw(void *ctx, const struct mg_member_info *mi)
{
	if (!mi->self &&
	    (mi->state == MG_MEMBER_ALIVE || mi->state == MG_MEMBER_SUSPECT) &&
	    mesh_is_gateway_meta(mi->meta, mi->meta_len))
		++*(int *)ctx;
	return 0;
}

/* Say when we cannot join (once), and when we do. */
void mesh_join_done(void *arg, unsigned int ok, unsigned int tried)
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
		mesh_send_join_intent(mesh);
		mesh_announce(mesh);
	}
}

static void leave_now(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_mesh *mesh = arg;

	if (mg_member_leave(mesh->member, 3000))
		mesh_leave_done(mesh, false);
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
void mesh_save_serf_clock(struct mg_mesh *mesh)
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

int mesh_load_serf_clock(void *ctx, const char *line, int lineno)
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

void mesh_send_join_intent(struct mg_mesh *mesh)
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
	mesh_save_serf_clock(mesh);
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
		mesh_save_serf_clock(mesh);
	}
	mesh->leave_timer = mg_loop_add_timer(mesh->loop,
					      MG_SERF_INTENT_LEAD_MS, 0,
					      leave_now, mesh);
	return mesh->leave_timer ? 0 : -ENOMEM;
}

void mesh_leave_done(void *arg, bool sent)
{
	struct mg_mesh *mesh = arg;

	pr_info("left the mesh%s", sent ? "" : " (not every peer heard it)");
	/* Left is not drained: a later start joins in service. */
	unlink(mesh->drain_path);
	if (mesh->left)
		mesh->left(mesh->left_arg);
}

void mesh_get_broadcasts(void *arg, const uint8_t *to_meta, size_t to_meta_len,
			 size_t overhead, size_t limit,
			 struct mg_member_bcast *out)
{
	struct mg_mesh *mesh = arg;
	struct mg_buf body = { 0 }, msg = { 0 };
	size_t hdr = 3 + strlen(mesh->cfg->gw_name);

	/* Only gateways read our state; serf would log each one unknown. */
	if (!to_meta || !mesh_is_mesh_gateway(to_meta, to_meta_len))
		return;
	if (limit < overhead + hdr + 64)
		return;
	if (mg_state_gossip(mesh->st, limit - overhead - hdr,
			    mesh_retransmit_limit(mesh), &body) > 0 &&
	    !mesh_envelope(mesh, &msg) &&
	    !mg_buf_put(&msg, body.data, body.len))
		mg_member_bcast_add(out, msg.data, msg.len);
	mg_buf_free(&body);
	mg_buf_free(&msg);
}

void mesh_node_meta(void *arg, struct mg_ml_meta *meta)
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

void mesh_on_state_change(void *ctx, const struct mg_state_change *c)
{
	struct mg_mesh *mesh = ctx;

	if (mesh->in_recv)
		mesh->recv_changed = true;
	else
		mesh_changed(mesh);
}
