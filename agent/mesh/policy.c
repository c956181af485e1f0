// SPDX-License-Identifier: GPL-2.0-only
/*
 * The view policy (policy.h): pure, from (members, their state, the
 * configuration, now) to the view.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mesh/policy.h"
#include "serf/tags.h"

#define LOG(p, level, ...) ((p)->log ?: mg_log)(level, __VA_ARGS__)

const char *const gw_state_names[] = {
	[GW_ALIVE] = "alive", [GW_SUSPECT] = "suspect", [GW_DEAD] = "dead",
	[GW_LEFT] = "left", [GW_STATIC] = "static",
};

static uint32_t seen_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

int mesh_policy_seen_find(const struct mesh_policy *p, const char *name)
{
	uint32_t h;

	if (!p->seen_idx)
		return -1;
	for (h = seen_hash(name) & p->seen_mask;; h = (h + 1) & p->seen_mask) {
		int v = p->seen_idx[h];

		if (!v)
			return -1;
		if (!strcmp(p->seen[v - 1].name, name))
			return v - 1;
	}
}

static void seen_index_put(struct mesh_policy *p, int i)
{
	uint32_t h = seen_hash(p->seen[i].name) & p->seen_mask;

	while (p->seen_idx[h])
		h = (h + 1) & p->seen_mask;
	p->seen_idx[h] = i + 1;
}

/* The index rebuilt over seen[0..n_seen). */
static void seen_reindex(struct mesh_policy *p)
{
	memset(p->seen_idx, 0, ((size_t)p->seen_mask + 1) * sizeof(*p->seen_idx));
	for (int i = 0; i < p->n_seen; i++)
		seen_index_put(p, i);
}

/*
 * Full: evict the names that no member of this build or the last one
 * carries (their order, refusal and forgetting concern members that are
 * gone).  Once a build at most, so that names made up faster than they
 * can be evicted cost one pass a build, not one per name.
 */
static void seen_prune(struct mesh_policy *p)
{
	int k = 0;

	if (p->pruned == p->build)
		return;
	p->pruned = p->build;
	for (int i = 0; i < p->n_seen; i++) {
		if (p->seen[i].touched + 1 < p->build) {
			p->seen_evicted++;
			continue;
		}
		if (k != i)
			p->seen[k] = p->seen[i];
		k++;
	}
	if (k == p->n_seen)
		return;
	p->n_seen = k;
	seen_reindex(p);
}

struct seen *mesh_policy_seen(struct mesh_policy *p, const char *name)
{
	int max = p->seen_max ? (int)p->seen_max : MESH_SEEN_MAX;
	int i = mesh_policy_seen_find(p, name);

	if (i >= 0) {
		p->seen[i].touched = p->build;
		return &p->seen[i];
	}
	if (p->n_seen >= max)
		seen_prune(p);
	if (p->n_seen >= max) {
		p->seen_refused++;
		return NULL;
	}
	if (p->n_seen == p->cap_seen) {
		int cap = p->cap_seen ? 2 * p->cap_seen : 64;
		unsigned int slots = 64;
		struct seen *s;
		int *idx;

		if (cap > max)
			cap = max;
		while (slots < 2u * cap)
			slots *= 2;
		s = realloc(p->seen, cap * sizeof(*s));
		if (!s)
			return NULL;
		p->seen = s;
		idx = calloc(slots, sizeof(*idx));
		if (!idx)
			return NULL;
		free(p->seen_idx);
		p->seen_idx = idx;
		p->cap_seen = cap;
		p->seen_mask = slots - 1;
		seen_reindex(p);
	}
	memset(&p->seen[p->n_seen], 0, sizeof(struct seen));
	snprintf(p->seen[p->n_seen].name, sizeof(p->seen[0].name), "%s", name);
	p->seen[p->n_seen].order = ++p->order;
	p->seen[p->n_seen].touched = p->build;
	seen_index_put(p, p->n_seen);
	return &p->seen[p->n_seen++];
}

static struct row *row_add(struct mesh_policy *p)
{
	if (p->n_rows == p->cap_rows) {
		int cap = p->cap_rows ? 2 * p->cap_rows : 64;
		struct row *r = realloc(p->rows, cap * sizeof(*r));

		if (!r)
			return NULL;
		p->rows = r;
		p->cap_rows = cap;
	}
	memset(&p->rows[p->n_rows], 0, sizeof(struct row));
	p->rows[p->n_rows].origin = -1;
	return &p->rows[p->n_rows++];
}

/*
 * A gateway forgotten (`peers forget`, forget_after) stays out of the view
 * and of `peers` until it is alive again.
 */
static bool forgotten(struct mesh_policy *p, const struct mg_member_info *mi)
{
	struct seen *s = mesh_policy_seen(p, mi->name);

	if (!s || !s->forgotten)
		return false;
	if (mi->state != MG_MEMBER_ALIVE)
		return true;
	s->forgotten = false;
	return false;
}

static int row_from_member(struct mesh_policy *p,
			   const struct mesh_policy_in *in,
			   const struct mesh_member *m)
{
	const struct mg_member_info *mi = &m->info;
	const struct mg_config *cfg = in->cfg;
	struct mg_ml_meta meta;
	char id[8], tun[MG_ADDRSTRLEN];
	struct seen *s;
	struct row *r;
	unsigned long v;
	char *end;

	if (mi->self)
		return 0;
	/* A gateway in the configuration is static: the config wins. */
	for (int i = 0; i < cfg->n_peers; i++)
		if (!strcmp(cfg->peers[i].name, mi->name))
			return 0;
	if (forgotten(p, mi))
		return 0;
	r = row_add(p);
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
	r->origin = m->origin;
	r->prefixes = m->prefixes;
	r->n_prefixes = m->n_prefixes;
	s = mesh_policy_seen(p, r->name);
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
	    r->tunnel_alt.family == cfg->tunnel.family) {
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
static void check_ids(struct mesh_policy *p,
			 const struct mesh_policy_in *in)
{
	const struct mg_config *cfg = in->cfg;

	for (int i = 0; i < p->n_rows; i++) {
		struct row *r = &p->rows[i];

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
		for (int j = 0; j < p->n_rows; j++) {
			struct row *q = &p->rows[j];

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

/*
 * A prefix in the overlap check: row -1 for our own (local[j]), else
 * rows[row].prefixes[j].  8 bytes, so that a million prefixes cost 8 MB
 * to sort, not the 40 of a copy of each prefix with its row's data.
 */
struct pfx_ref {
	int32_t row;
	uint32_t j;
};

struct refs_ctx {
	const struct mesh_policy *p;
	const struct mesh_policy_in *in;
};

static const struct mg_prefix *ref_pfx(const struct refs_ctx *c,
				       const struct pfx_ref *r)
{
	return r->row < 0 ? &c->in->local[r->j] :
			    &c->p->rows[r->row].prefixes[r->j];
}

static __u8 ref_cluster(const struct refs_ctx *c, const struct pfx_ref *r)
{
	return r->row < 0 ? c->in->cfg->cluster_id :
			    c->p->rows[r->row].cluster_id;
}

static uint64_t ref_order(const struct refs_ctx *c, const struct pfx_ref *r)
{
	return r->row < 0 ? 0 : c->p->rows[r->row].order;
}

static int pfx_ref_cmp(const void *a, const void *b, void *arg)
{
	const struct mg_prefix *x = ref_pfx(arg, a), *y = ref_pfx(arg, b);
	int c;

	if (x->addr.family != y->addr.family)
		return x->addr.family - y->addr.family;
	c = memcmp(x->addr.addr, y->addr.addr, sizeof(x->addr.addr));
	if (c)
		return c;
	return (int)x->len - (int)y->len;
}

/*
 * No prefix of one cluster may overlap a prefix of another: sorted by
 * address, a prefix overlaps exactly the ones on the stack of prefixes
 * that contain it.  The later gateway of an overlapping pair is refused.
 */
static void check_overlaps(struct mesh_policy *p,
			 const struct mesh_policy_in *in)
{
	struct refs_ctx c = { p, in };
	size_t n = in->n_local, k = 0, depth = 0;
	struct pfx_ref *refs, *stack[129];

	for (int i = 0; i < p->n_rows; i++)
		n += p->rows[i].n_prefixes;
	refs = malloc((n ? n : 1) * sizeof(*refs));
	if (!refs)
		return;
	for (int i = 0; i < in->n_local; i++)
		refs[k++] = (struct pfx_ref){ -1, (uint32_t)i };
	for (int i = 0; i < p->n_rows; i++) {
		struct row *r = &p->rows[i];

		if (r->sibling || r->conflict)
			continue;
		for (int j = 0; j < r->n_prefixes; j++)
			refs[k++] = (struct pfx_ref){ i, (uint32_t)j };
	}
	qsort_r(refs, k, sizeof(*refs), pfx_ref_cmp, &c);
	for (size_t i = 0; i < k; i++) {
		struct pfx_ref *x = &refs[i];
		const struct mg_prefix *xp = ref_pfx(&c, x);

		while (depth) {
			const struct mg_prefix *tp = ref_pfx(&c, stack[depth - 1]);

			if (tp->addr.family == xp->addr.family &&
			    mg_prefix_contains(tp, &xp->addr))
				break;
			depth--;
		}
		for (size_t d = 0; d < depth; d++) {
			struct pfx_ref *y = stack[d];
			struct pfx_ref *loser;
			char a[MG_PREFIXSTRLEN];

			if (ref_cluster(&c, y) == ref_cluster(&c, x))
				continue;
			loser = y->row < 0 ? x : x->row < 0 ? y :
				ref_order(&c, x) > ref_order(&c, y) ? x : y;
			if (loser->row >= 0) {
				mg_prefix_str(ref_pfx(&c, loser), a, sizeof(a));
				row_conflict(&p->rows[loser->row],
					     "its prefix %s overlaps cluster %u's",
					     a, ref_cluster(&c, loser == x ? y : x));
			}
		}
		if (depth < 129)
			stack[depth++] = x;
	}
	free(refs);
}

/*
 * Our cluster's prefixes are ours and our siblings': a remote gateway
 * spreads a cluster's flows over all its gateways, so a prefix that a
 * sibling added (CLI, routes) must be local here too, or its share of the
 * traffic is dropped as "inner destination not in this cluster".  A dead
 * sibling's prefixes stay, as they stay in the remote gateways' maps.
 */
static int view_local(struct mesh_policy *p,
			 const struct mesh_policy_in *in, struct mg_view *view)
{
	int n = in->n_local, total = n;

	for (int i = 0; i < p->n_rows; i++)
		if (p->rows[i].sibling && !p->rows[i].conflict)
			total += p->rows[i].n_prefixes;
	if (total > p->cap_vlocal) {
		struct mg_prefix *v = realloc(p->vlocal, total * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->vlocal = v;
		p->cap_vlocal = total;
	}
	if (n)
		memcpy(p->vlocal, in->local, n * sizeof(*p->vlocal));
	if (total == n)
		goto done;	/* no sibling prefixes: ours are sorted, unique */
	for (int i = 0; i < p->n_rows; i++) {
		const struct row *r = &p->rows[i];

		if (!r->sibling || r->conflict)
			continue;
		for (int j = 0; j < r->n_prefixes; j++) {
			struct mg_prefix *q = &p->vlocal[n++];

			*q = r->prefixes[j];
			if (q->addr.family == MG_AF_INET)
				memset(&q->addr.addr[1], 0, 12);
		}
	}
	/* Siblings announce the same CIDRs: sorted and unique, n log n. */
	qsort(p->vlocal, n, sizeof(*p->vlocal), mesh_prefix_cmp);
	{
		int k = 0;

		for (int i = 0; i < n; i++)
			if (!k || mesh_prefix_cmp(&p->vlocal[k - 1],
						  &p->vlocal[i]))
				p->vlocal[k++] = p->vlocal[i];
		n = k;
	}
done:
	view->n_local = n;
	view->local = p->vlocal;
	return 0;
}

/*
 * Cut off, we learn of it one peer at a time: the probes of every peer
 * fail, but each is declared dead on its own, a probe round and a
 * suspicion timeout apart.  Only the last one tells us it is us.  The
 * state to keep is the one from before the first of those deaths: revive
 * the gateways that died shortly before.
 */
static void revive_recent(struct mesh_policy *p,
			 const struct mesh_policy_in *in)
{
	uint64_t now = in->now;
	uint64_t since = now > CUT_OFF_WINDOW_US ? now - CUT_OFF_WINDOW_US : 0;

	for (int i = 0; i < p->n_rows; i++) {
		struct row *r = &p->rows[i];
		struct seen *s;

		if (!r->gateway || r->sibling || r->conflict ||
		    r->state != GW_DEAD || r->state_change < since)
			continue;
		s = mesh_policy_seen(p, r->name);
		if (s && !s->alive) {
			LOG(p, MG_LOG_INFO, "cut off: keeping %s, dead %llu ms before the others",
				r->name, (unsigned long long)
				(now - r->state_change) / 1000);
			s->alive = true;
		}
	}
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
static bool gw_up(struct mesh_policy *p,
			 const struct mesh_policy_in *in, const struct row *r, bool *accept)
{
	uint64_t now, hold = in->cfg->hold_time * 1000000ull, left;

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
	now = in->now;
	if (r->draining || now - r->state_change >= hold)
		return false;
	/* Look again when its hold ends. */
	left = (hold - (now - r->state_change)) / 1000 + 10;
	if (!p->hold_next_ms || left < p->hold_next_ms)
		p->hold_next_ms = left;
	return true;
}

/* Say what became of a gateway: peers log "restarting", not "dead". */
static void log_change(struct mesh_policy *p,
			 const struct mesh_policy_in *in, const struct row *r,
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
		LOG(p, MG_LOG_INFO, "gateway %s %s (datapath %s): %s", r->name,
			r->restarting ? "restarting" : "dead", echo,
			!up ? "its tunnels withdrawn" :
			p->cut_off || in->dp_cut_off ?
			      "its tunnels kept (we seem cut off)" :
			      "its tunnels kept for hold_time");
	else if (s->was_up != up)
		LOG(p, MG_LOG_INFO, "gateway %s (%s, datapath %s): tunnels %s", r->name,
			r->draining ? "draining" : gw_state_names[r->state],
			echo, up ? "in use" : "withdrawn");
	s->was = r->state + 1;
	s->was_up = up;
}

int mesh_policy_rows(struct mesh_policy *p, const struct mesh_policy_in *in)
{
	const struct mg_config *cfg = in->cfg;
	int err;

	p->build++;
	p->n_rows = 0;
	for (int i = 0; i < cfg->n_peers; i++) {
		const struct mg_cfg_peer *c = &cfg->peers[i];
		struct row *r = row_add(p);

		if (!r)
			return -ENOMEM;
		snprintf(r->name, sizeof(r->name), "%s", c->name);
		snprintf(r->cluster, sizeof(r->cluster), "%s", c->cluster);
		r->cluster_id = c->cluster_id;
		r->tunnel = c->tunnel;
		for (int t = 0; t < c->n_tunnels; t++)
			if (c->tunnels[t].family != c->tunnel.family)
				r->tunnel_alt = c->tunnels[t];
		r->state = GW_STATIC;
		r->gateway = true;
		r->rtt_us = -1;
		r->order = 0;	/* configuration outranks gossip */
		r->n_prefixes = c->n_cidrs;
		r->prefixes = c->cidrs;
	}
	for (int i = 0; in->gossip && i < in->n_members; i++) {
		err = row_from_member(p, in, &in->members[i]);
		if (err)
			return err;
	}
	check_ids(p, in);
	check_overlaps(p, in);
	/* Say once why a gateway is refused, and when it no longer is. */
	for (int i = 0; i < p->n_rows; i++) {
		struct row *r = &p->rows[i];
		struct seen *sn;

		if (!r->gateway || r->state == GW_STATIC)
			continue;
		sn = mesh_policy_seen(p, r->name);
		if (!sn || sn->refused == !!r->conflict)
			continue;
		sn->refused = r->conflict;
		if (r->conflict)
			LOG(p, MG_LOG_WARN, "gateway %s refused: %s", r->name,
			    r->conflict);
		else
			LOG(p, MG_LOG_INFO,
			    "gateway %s accepted: its conflict is gone",
			    r->name);
	}
	return 0;
}

int mesh_policy_view(struct mesh_policy *p, const struct mesh_policy_in *in,
		     struct mg_view *view)
{
	int err, n = 0, alive = 0, gossiped = 0;

	if (p->n_rows > p->cap_vgw) {
		struct mg_view_gw *v = realloc(p->vgw, p->n_rows * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->vgw = v;
		p->cap_vgw = p->n_rows;
	}
	for (int i = 0; i < p->n_rows; i++) {
		struct row *r = &p->rows[i];

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
		if (!p->cut_off) {
			LOG(p, MG_LOG_WARN,
			    "cut off from every peer gateway: keeping the last known state");
			revive_recent(p, in);
		}
		p->cut_off = true;
	} else if (p->cut_off) {
		LOG(p, MG_LOG_INFO, "peers reachable again");
		p->cut_off = false;
	}
	p->hold_next_ms = 0;
	for (int i = 0; i < p->n_rows; i++) {
		struct row *r = &p->rows[i];
		struct mg_view_gw *g = &p->vgw[n];
		struct seen *s;
		bool up, accept;

		if (!r->gateway || r->sibling || r->conflict)
			continue;
		up = gw_up(p, in, r, &accept);
		s = r->state == GW_STATIC ? NULL : mesh_policy_seen(p, r->name);
		/*
		 * Cut off, the datapaths fall silent together within the
		 * detect time, while gossip declares the peers dead one by
		 * one, seconds apart: a death while every datapath is silent
		 * changes nothing (fail static), not only the last one.
		 */
		if (s && (p->cut_off || (r->state == GW_DEAD && in->dp_cut_off)))
			up = s->alive;
		else if (s)
			s->alive = up;
		if (s)
			log_change(p, in, r, s, up);
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
	memset(view, 0, sizeof(*view));
	view->cluster_id = in->cfg->cluster_id;
	err = view_local(p, in, view);
	if (err)
		return err;
	view->n_gw = n;
	view->gw = p->vgw;
	return 0;
}

void mesh_policy_free(struct mesh_policy *p)
{
	free(p->rows);
	free(p->vgw);
	free(p->vlocal);
	free(p->seen);
	free(p->seen_idx);
	memset(p, 0, sizeof(*p));
}
