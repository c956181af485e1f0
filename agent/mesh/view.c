// SPDX-License-Identifier: GPL-2.0-only
/*
 * The view: members, their replicated state and the configuration turned into the gateways the agent programs (conflicts, overlaps, fail static, siblings, the datapaths' word); settling; the status counters.
 */
#include "mesh/mesh_int.h"

/* --- the view ------------------------------------------------------------- */

static struct seen *seen_get(struct mg_mesh *mesh, const char *name)
{
	for (int i = 0; i < mesh->n_seen; i++)
		if (!strcmp(mesh->seen[i].name, name))
			return &mesh->seen[i];
	if (mesh->n_seen == mesh->cap_seen) {
		int cap = mesh->cap_seen ? 2 * mesh->cap_seen : 64;
		struct seen *s = realloc(mesh->seen, cap * sizeof(*s));

		if (!s)
			return NULL;
		mesh->seen = s;
		mesh->cap_seen = cap;
	}
	memset(&mesh->seen[mesh->n_seen], 0, sizeof(struct seen));
	snprintf(mesh->seen[mesh->n_seen].name, sizeof(mesh->seen[0].name),
		 "%s", name);
	mesh->seen[mesh->n_seen].order = ++mesh->order;
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

bool mesh_is_forgotten(struct mg_mesh *mesh, const char *name)
{
	for (int i = 0; i < mesh->n_seen; i++)
		if (!strcmp(mesh->seen[i].name, name))
			return mesh->seen[i].forgotten;
	return false;
}

/* Drop a left or dead gateway and its state now. */
void mesh_forget(struct mg_mesh *mesh, const char *name, const char *why)
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
	    !mesh_is_gateway_meta(mi->meta, mi->meta_len))
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
	qsort(mesh->vlocal, n, sizeof(*mesh->vlocal), mesh_prefix_cmp);
	{
		int k = 0;

		for (int i = 0; i < n; i++)
			if (!k || mesh_prefix_cmp(&mesh->vlocal[k - 1],
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
