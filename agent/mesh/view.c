// SPDX-License-Identifier: GPL-2.0-only
/*
 * The view built: the members, their state in the store and the
 * datapaths' word gathered for the policy (policy.c, pure); settling;
 * forgetting; the status counters.
 */
#include "mesh/mesh_int.h"

/* --- the view ------------------------------------------------------------- */

bool mesh_is_forgotten(struct mg_mesh *mesh, const char *name)
{
	int i = mesh_policy_seen_find(&mesh->pol, name);

	return i >= 0 && mesh->pol.seen[i].forgotten;
}

/* Drop a left or dead gateway and its state now. */
void mesh_forget(struct mg_mesh *mesh, const char *name, const char *why)
{
	struct seen *s = mesh_policy_seen(&mesh->pol, name);

	if (s && s->forgotten)
		return;
	if (s)
		s->forgotten = true;
	mg_state_forget_origin(mesh->st, name);
	pr_info("forgot gateway %s and its state (%s)", name, why);
	mesh_changed(mesh);
}

struct collect {
	struct mg_mesh *mesh;
	struct mesh_policy_in *in;
};

static int collect_member(void *ctx, const struct mg_member_info *mi)
{
	struct collect *c = ctx;
	struct mg_mesh *mesh = c->mesh;
	struct mesh_policy_in *in = c->in;
	struct mesh_member *m;

	if (in->n_members == mesh->cap_members) {
		int cap = mesh->cap_members ? 2 * mesh->cap_members : 64;

		m = realloc(mesh->members, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		mesh->members = m;
		mesh->cap_members = cap;
		in->members = m;
	}
	m = &mesh->members[in->n_members++];
	memset(m, 0, sizeof(*m));
	m->info = *mi;
	m->origin = mg_state_origin_find(mesh->st, mi->name);
	return 0;
}

/* Members' endpoints out of the store, bucketed by member. */
static int fill_prefixes(struct mg_mesh *mesh, int n)
{
	unsigned int slots = mg_state_origin_slots(mesh->st);
	int *of = calloc(slots ? slots : 1, sizeof(int));
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_entry e;
	size_t total = 0, off = 0;

	if (!of)
		return -ENOMEM;
	for (unsigned int o = 0; o < slots; o++)
		of[o] = -1;
	for (int i = 0; i < n; i++) {
		int o = mesh->members[i].origin;

		if (o >= 0 && (unsigned int)o < slots)
			of[o] = i;
	}
	while (mg_state_iter_next(mesh->st, &it, &e))
		if (e.key.kind == MG_STATE_ENDPOINT && e.origin < slots &&
		    of[e.origin] >= 0)
			mesh->members[of[e.origin]].n_prefixes++, total++;
	if (total > mesh->cap_pfx) {
		struct mg_prefix *p = realloc(mesh->pfx, total * sizeof(*p));

		if (!p) {
			free(of);
			return -ENOMEM;
		}
		mesh->pfx = p;
		mesh->cap_pfx = total;
	}
	for (int i = 0; i < n; i++) {
		mesh->members[i].prefixes = mesh->pfx + off;
		off += mesh->members[i].n_prefixes;
		mesh->members[i].n_prefixes = 0;
	}
	it = (struct mg_state_iter)MG_STATE_ITER_INIT;
	while (mg_state_iter_next(mesh->st, &it, &e)) {
		struct mesh_member *m;

		if (e.key.kind != MG_STATE_ENDPOINT || e.origin >= slots ||
		    of[e.origin] < 0)
			continue;
		m = &mesh->members[of[e.origin]];
		mesh->pfx[m->prefixes - mesh->pfx + m->n_prefixes++] = e.key.ep;
	}
	free(of);
	return 0;
}

/* What the policy is given: the members, their state, the config, now. */
static int policy_input(struct mg_mesh *mesh, struct mesh_policy_in *in)
{
	int err;

	memset(in, 0, sizeof(*in));
	in->cfg = mesh->cfg;
	in->local = mesh->local;
	in->n_local = mesh->n_local;
	in->members = mesh->members;
	if (!mesh->member)
		return 0;
	in->gossip = true;
	in->now = mg_member_now(mesh->member);
	err = mg_member_foreach(mesh->member, collect_member,
				&(struct collect){ mesh, in });
	if (err)
		return err;
	return fill_prefixes(mesh, in->n_members);
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
	for (int i = 0; i < mesh->pol.n_rows; i++) {
		const struct row *r = &mesh->pol.rows[i];

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
		for (int i = 0; i < mesh->pol.n_rows; i++)
			if (settle_waits_for(&mesh->pol.rows[i]))
				pr_warn("settle_timeout: %s is alive but sent no state; settling without it",
					mesh->pol.rows[i].name);
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
	a = calloc(mesh->pol.n_rows + 1, sizeof(*a));
	if (!a)
		return;
	for (int i = 0; i < mesh->pol.n_rows; i++) {
		const struct row *r = &mesh->pol.rows[i];

		if (r->gateway && !r->sibling && !r->conflict &&
		    r->state != GW_STATIC && r->state != GW_LEFT)
			a[n++] = r->tunnel;
	}
	mg_liveness_watch(mesh->lv, a, n);
	free(a);
	for (int i = 0; i < mesh->pol.n_rows; i++)
		mesh->pol.rows[i].echo = mg_liveness_state(mesh->lv,
						       &mesh->pol.rows[i].tunnel);
}

void mesh_on_settle_timeout(struct mg_loop_src *src, uint32_t ev, void *arg)
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
	for (int i = 0; i < mesh->pol.n_rows; i++) {
		const struct row *r = &mesh->pol.rows[i];

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
	out_u64("gossip_names_evicted", ", %llu names evicted",
		mesh->pol.seen_evicted);
	out_u64("gossip_names_refused", " (%llu not remembered: "
		"MESH_SEEN_MAX)", mesh->pol.seen_refused);
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
	struct mesh_policy_in in;
	int err;

	err = policy_input(mesh, &in);
	err = err ?: mesh_policy_rows(&mesh->pol, &in);
	if (err)
		return err;
	check_settled(mesh);
	watch_datapaths(mesh);
	in.dp_cut_off = mg_liveness_cut_off(mesh->lv);
	err = mesh_policy_view(&mesh->pol, &in, view);
	if (err)
		return err;
	if (mesh->pol.hold_next_ms && mesh->hold_timer)
		mg_loop_timer_set(mesh->hold_timer, mesh->pol.hold_next_ms, 0);
	if (mesh->release_timer && mesh->pfx)
		mg_loop_timer_set(mesh->release_timer, 1, 0);
	return 0;
}

static bool in_pfx(const struct mg_mesh *mesh, const struct mg_prefix *p)
{
	return p && p >= mesh->pfx && p < mesh->pfx + mesh->cap_pfx;
}

/*
 * The gossiped gateways' endpoint lists of the view (mesh->pfx, a copy of
 * the store's: 24 bytes a prefix, 24 MB at a million) are read by the
 * syncs of the event-loop turn that built the view (maps, host routes),
 * never later: released once that turn is over.  The rows keep their
 * counts for `peers`; the view's gateways keep everything but the list.
 */
void mesh_on_view_release(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_mesh *mesh = arg;
	struct mesh_policy *p = &mesh->pol;

	for (int i = 0; i < p->n_rows; i++)
		if (in_pfx(mesh, p->rows[i].prefixes))
			p->rows[i].prefixes = NULL;
	/* the view's gateways are at most the rows; members are rebuilt */
	for (int i = 0; i < p->n_rows && i < p->cap_vgw; i++)
		if (in_pfx(mesh, p->vgw[i].prefixes)) {
			p->vgw[i].prefixes = NULL;
			p->vgw[i].n_prefixes = 0;
		}
	free(mesh->pfx);
	mesh->pfx = NULL;
	mesh->cap_pfx = 0;
}
