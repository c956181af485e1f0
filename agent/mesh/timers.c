// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mesh's timers: anti-entropy, rejoin, garbage collection; who is a
 * gateway.
 */
#include "mesh/mesh_int.h"

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

bool mesh_is_gateway_meta(const uint8_t *meta, size_t len)
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
bool mesh_is_mesh_gateway(const uint8_t *meta, size_t len)
{
	struct mg_ml_meta m;
	char cl[MG_STATE_NAME_MAX + 1], id[8], tun[MG_ADDRSTRLEN];
	struct mg_addr a;
	unsigned long v;
	char *end;

	if (!mesh_is_gateway_meta(meta, len))
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

	if (mi->self || !mesh_is_gateway_meta(mi->meta, mi->meta_len))
		return 0;
	if (mi->state == MG_MEMBER_ALIVE &&
	    mesh_is_mesh_gateway(mi->meta, mi->meta_len)) {
		/* Reservoir sampling: a uniform pick in one pass. */
		pk->seen++;
		if (pk->rnd % pk->seen == 0)
			snprintf(pk->name, sizeof(pk->name), "%s", mi->name);
		pk->rnd = pk->rnd * 1103515245u + 12345u;
	} else if ((mi->state == MG_MEMBER_DEAD ||
		    mi->state == MG_MEMBER_LEFT) &&
		   mi->state_change < pk->dead_before && pk->n_forget < 16 &&
		   !mesh_is_forgotten(pk->mesh, mi->name)) {
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
	    !mesh_is_gateway_meta(mi->meta, mi->meta_len))
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

int mesh_load_member(void *ctx, const char *line, int lineno)
{
	struct mg_mesh *mesh = ctx;

	if (mesh->n_known >= REJOIN_MAX || strlen(line) >= sizeof(mesh->known[0]))
		return -EINVAL;
	snprintf(mesh->known[mesh->n_known++], sizeof(mesh->known[0]), "%s",
		 line);
	return 0;
}

/* Anti-entropy: our digest to one random live gateway. */
void mesh_on_ae(struct mg_loop_src *src, uint32_t ev, void *arg)
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
		mesh_forget(mesh, pk.forget[i],
			    "left or dead for forget_after");
	if (pk.name[0] && !mg_state_digest(mesh->st, STREAM_BUDGET, &body))
		mesh_send_to(mesh, pk.name, &body);
	mg_buf_free(&body);
	save_members(mesh);
	/*
	 * Our own intents save the clocks at once; what we only witnessed
	 * may wait (a restart's join witnesses the pool's clock anyway).
	 */
	if (++mesh->serf_save_round >= SERF_SAVE_AE) {
		mesh->serf_save_round = 0;
		mesh_save_serf_clock(mesh);
		/* intents of names no longer members: bounded by the table */
		mg_serf_prune(mesh->serf, mesh_is_member, mesh);
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
		   mesh_is_gateway_meta(mi->meta, mi->meta_len)) {
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
void mesh_announce(struct mg_mesh *mesh)
{
	struct rejoin rj = { .cfg = mesh->cfg };

	mg_member_foreach(mesh->member, announce_cb, &rj);
	if (rj.n)
		mg_member_join(mesh->member, rj.sp, rj.n);
}

void mesh_on_rejoin(struct mg_loop_src *src, uint32_t ev, void *arg)
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

void mesh_on_gc(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_mesh *mesh = arg;

	mg_state_gc(mesh->st, mg_now_ms());
}
