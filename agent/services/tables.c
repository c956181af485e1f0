// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tables: the backends gathered, chosen, given slots in mg_lbbe; the
 * Maglev tables built aside and swapped in; the reverse map; the traffic
 * controls (datapath/ratelimit.h); mg_services_sync().
 */
#include "services/svc_int.h"

/* --- the tables ------------------------------------------------------------ */

static bool cluster_alive(const struct mg_view *v, __u8 cid)
{
	if (!v || cid == v->cluster_id)
		return true;
	for (int i = 0; i < v->n_gw; i++)
		if (v->gw[i].cluster_id == cid && v->gw[i].alive)
			return true;
	return false;
}

static void be_add(struct svc *v, const struct mg_addr *addr, __u16 port,
		   __u16 weight, __u8 cid, bool local,
		   enum mg_health_state state, const char *origin)
{
	struct sbe *b;

	for (int i = 0; i < v->n_be; i++) {
		b = &v->be[i];
		if (b->port == port && b->cluster_id == cid &&
		    mg_addr_equal(&b->addr, addr)) {
			/* Two gateways of one cluster: UP if either says so. */
			if (state == MG_HEALTH_UP)
				b->state = state;
			return;
		}
	}
	if (v->n_be >= SVC_MAX_BE)
		return;
	b = &v->be[v->n_be++];
	memset(b, 0, sizeof(*b));
	b->addr = *addr;
	b->port = port;
	b->weight = weight ? weight : 1;
	b->cluster_id = cid;
	b->local = local;
	b->state = state;
	snprintf(b->origin, sizeof(b->origin), "%s", origin);
}

static void gather(struct mg_services *s, struct svc *v, struct mg_state *st,
		   const struct mg_view *view)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_origin_info oi;
	struct mg_state_entry e;
	__u8 own = s->cfg->cluster_id;

	v->n_be = 0;
	for (int i = 0; i < v->c.n_backends; i++)
		be_add(v, &v->local[i].b.addr, v->local[i].b.port,
		       v->local[i].b.weight, own, true, v->local[i].h.state,
		       s->cfg->gw_name);
	while (st && mg_state_iter_next(st, &it, &e)) {
		if (e.origin == 0 || e.key.kind != MG_STATE_BACKEND ||
		    e.val.type != MG_SVC_VT_BACKEND ||
		    e.val.len < SVC_WIRE_HDR ||
		    !mg_addr_equal(&e.key.be.vip, &v->c.vip) ||
		    e.key.be.vport != v->c.port ||
		    e.key.be.proto != svc_ipproto(&v->c) ||
		    e.key.be.addr.family != v->c.vip.family ||
		    mg_state_origin_get(st, e.origin, &oi))
			continue;
		/* Our siblings' backends are ours: we probe them ourselves. */
		if (oi.cluster_id == own)
			continue;
		be_add(v, &e.key.be.addr, e.key.be.port,
		       (__u16)(e.val.data[2] << 8 | e.val.data[3]),
		       oi.cluster_id, false,
		       e.val.data[1] <= MG_HEALTH_DOWN ? e.val.data[1] :
							 MG_HEALTH_UNKNOWN,
		       oi.name);
	}

	struct mg_svc_choice c[SVC_MAX_BE];

	svc_outlier_apply(s, v, st);
	for (int i = 0; i < v->n_be; i++) {
		struct sbe *b = &v->be[i];

		b->live = b->state == MG_HEALTH_UP &&
			  cluster_alive(view, b->cluster_id) && !b->ejected;
		c[i].local = b->local;
		c[i].live = b->live;
	}
	mg_services_choose(v->c.affinity, v->c.min_local, c, v->n_be);
	for (int i = 0; i < v->n_be; i++)
		v->be[i].in_use = c[i].in_use;
}

void mg_services_choose(int affinity, unsigned int min_local,
			struct mg_svc_choice *c, int n)
{
	unsigned int n_local = 0, n_remote = 0;

	for (int i = 0; i < n; i++) {
		n_local += c[i].live && c[i].local;
		n_remote += c[i].live && !c[i].local;
	}
	for (int i = 0; i < n; i++) {
		switch (affinity) {
		case MG_AFFINITY_LOCAL:
			c[i].in_use =
				c[i].live &&
				(c[i].local || n_local < min_local || !n_local);
			break;
		case MG_AFFINITY_REMOTE:
			c[i].in_use = c[i].live && (!c[i].local || !n_remote);
			break;
		default:
			c[i].in_use = c[i].live;
		}
	}
}

struct slot *svc_slot_get(struct mg_services *s, const struct svc *v,
			  const struct sbe *b, __u32 *idx)
{
	struct slot *free_slot = NULL;
	__u32 free_idx = 0;

	for (__u32 i = 0; i < MG_LB_MAX_BACKENDS; i++) {
		struct slot *sl = &s->slots[i];

		if (!sl->used) {
			if (!free_slot) {
				free_slot = sl;
				free_idx = i;
			}
			continue;
		}
		if (mg_addr_equal(&sl->vip, &v->c.vip) &&
		    sl->vport == v->c.port && sl->proto == svc_ipproto(&v->c) &&
		    mg_addr_equal(&sl->addr, &b->addr) && sl->port == b->port &&
		    sl->cluster_id == b->cluster_id) {
			*idx = i;
			return sl;
		}
	}
	if (!free_slot)
		return NULL;
	free_slot->used = true;
	free_slot->gen = s->gen_next++;
	free_slot->vip = v->c.vip;
	free_slot->vport = v->c.port;
	free_slot->proto = svc_ipproto(&v->c);
	free_slot->addr = b->addr;
	free_slot->port = b->port;
	free_slot->cluster_id = b->cluster_id;
	memset(&free_slot->ol, 0, sizeof(free_slot->ol));
	*idx = free_idx;
	return free_slot;
}

/* The slot into mg_lbbe or mg_lbbe6, by its family. */
static int slot_write(const struct mg_services_maps *m, __u32 idx,
		      const struct slot *sl, bool live)
{
	__u8 flags = (live ? MG_LB_BE_F_LIVE : 0) |
		     (sl->local ? MG_LB_BE_F_LOCAL : 0);
	struct mg_lb_backend val = {
		.addr = sl->addr.addr[0],
		.port = htons(sl->port),
		.cluster_id = sl->cluster_id,
		.flags = flags,
		.gen = sl->gen,
	};
	struct mg_lb_backend6 val6 = {
		.port = htons(sl->port),
		.cluster_id = sl->cluster_id,
		.flags = flags,
		.gen = sl->gen,
	};

	if (sl->addr.family != MG_AF_INET6)
		return bpf_map_update_elem(m->be, &idx, &val, BPF_ANY) ?
			       -errno :
			       0;
	memcpy(val6.addr, sl->addr.addr, sizeof(val6.addr));
	return bpf_map_update_elem(m->be6, &idx, &val6, BPF_ANY) ? -errno : 0;
}

/* FNV-1a over the table's (slot, weight) pairs, in backend order. */
__u64 svc_table_sig(const struct svc *v)
{
	__u64 h = 0xcbf29ce484222325ull;

	for (int i = 0; i < v->n_be; i++) {
		__u64 x = v->be[i].in_use ?
				  (__u64)v->be[i].slot << 16 | v->be[i].weight :
				  0;

		for (int k = 0; k < 8; k++) {
			h ^= (x >> (8 * k)) & 0xff;
			h *= 0x100000001b3ull;
		}
	}
	return h;
}

/* Build the service's Maglev table aside and swap it in. */
static int table_write(const struct mg_services_maps *m, struct svc *v,
		       __u32 id)
{
	struct mg_maglev_backend mb[SVC_MAX_BE];
	__u32 *table, *keys = NULL, count = MG_LB_RING_SIZE;
	int fd, err;

	for (int i = 0; i < v->n_be; i++) {
		struct {
			__u32 vip, addr;
			__u16 vport, port;
			__u8 proto, cid, pad[2];
		} key = {
			.vip = v->c.vip.addr[0],
			.addr = v->be[i].addr.addr[0],
			.vport = v->c.port,
			.port = v->be[i].port,
			.proto = svc_ipproto(&v->c),
			.cid = v->be[i].cluster_id,
		};
		/* IPv6: whole addresses (IPv4 keeps its key: its tables). */
		struct {
			__u32 vip[4], addr[4];
			__u16 vport, port;
			__u8 proto, cid, pad[2];
		} key6 = {
			.vport = v->c.port,
			.port = v->be[i].port,
			.proto = svc_ipproto(&v->c),
			.cid = v->be[i].cluster_id,
		};

		if (v->c.vip.family == MG_AF_INET6) {
			memcpy(key6.vip, v->c.vip.addr, sizeof(key6.vip));
			memcpy(key6.addr, v->be[i].addr.addr,
			       sizeof(key6.addr));
			mb[i].id = mg_maglev_backend_id(&key6, sizeof(key6));
		} else {
			mb[i].id = mg_maglev_backend_id(&key, sizeof(key));
		}
		mb[i].weight = v->be[i].in_use ? v->be[i].weight : 0;
	}
	table = malloc(sizeof(*table) * MG_LB_RING_SIZE);
	keys = malloc(sizeof(*keys) * MG_LB_RING_SIZE);
	if (!table || !keys) {
		err = -ENOMEM;
		goto out;
	}
	err = mg_maglev_build(mb, v->n_be, MG_LB_RING_SIZE, table);
	if (err)
		goto out;
	for (__u32 i = 0; i < MG_LB_RING_SIZE; i++) {
		keys[i] = i;
		if (table[i] != MG_MAGLEV_EMPTY)
			table[i] = v->be[table[i]].slot;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "mg_ring", sizeof(__u32),
			    sizeof(__u32), MG_LB_RING_SIZE, NULL);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = bpf_map_update_batch(fd, keys, table, &count, NULL);
	if (err) {
		err = 0;
		for (__u32 i = 0; i < MG_LB_RING_SIZE && !err; i++)
			if (bpf_map_update_elem(fd, &i, &table[i], BPF_ANY))
				err = -errno;
	}
	if (!err && bpf_map_update_elem(m->ring, &id, &fd, BPF_ANY))
		err = -errno;
	close(fd);
out:
	free(table);
	free(keys);
	return err;
}

/*
 * Restarted over pinned maps: a local backend the previous run had LIVE
 * serves again at once (fail static) instead of waiting to rise; its
 * probes take it down within fall intervals if it is not.
 */
static void restore_up(struct mg_services *s, const struct mg_addr *addr,
		       __u16 port)
{
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		struct svc *v = &s->svc[i];

		for (int b = 0; v->used && b < v->c.n_backends; b++)
			if (mg_addr_equal(&v->local[b].b.addr, addr) &&
			    v->local[b].b.port == port)
				mg_health_set(&v->local[b].h, MG_HEALTH_UP,
					      mg_now_ms());
	}
}

/*
 * Slot i as the previous run left it in mg_lbbe or mg_lbbe6: its gen is
 * not to be handed out again, and a LIVE slot is kept.  Returns true when
 * it is LIVE.
 */
static bool slot_restore(struct mg_services *s, __u32 i, __u32 gen, __u8 flags,
			 const struct mg_addr *addr, __u16 port)
{
	if (gen >= s->gen_next)
		s->gen_next = gen + 1;
	if (!(flags & MG_LB_BE_F_LIVE))
		return false;
	/*
	 * The previous run's slot: not re-used while its old table may
	 * point at it, freed by the first full sync (no key matches it).
	 */
	s->slots[i].used = s->slots[i].live = true;
	s->slots[i].gen = gen;
	s->slots[i].addr.family = addr->family;
	if (flags & MG_LB_BE_F_LOCAL)
		restore_up(s, addr, port);
	return true;
}

/* A remote backend and the services its replies may belong to. */
struct rev {
	struct mg_addr addr;
	__u16 port; /* host order */
	__u8 proto;
	int n;
	struct {
		struct mg_addr vip;
		__u16 vport; /* host order */
	} svc[MG_LB_REV_SVCS];
};

/* mg_lbrev and mg_lbrev6 from the slots in use. */
static int rev_write(struct mg_services *s, const struct mg_services_maps *m)
{
	static struct rev revs[MG_LB_MAX_BACKENDS];
	static struct mg_lbrev_key rkeys[MG_LB_MAX_BACKENDS];
	static struct mg_lbrev_val rvals[MG_LB_MAX_BACKENDS];
	static struct mg_lbrev6_key rkeys6[MG_LB_MAX_BACKENDS];
	static struct mg_lbrev6_val rvals6[MG_LB_MAX_BACKENDS];
	size_t n_rev = 0, n4 = 0, n6 = 0;
	int err, rc;

	for (__u32 i = 0; i < MG_LB_MAX_BACKENDS; i++) {
		const struct slot *sl = &s->slots[i];
		struct rev *r = NULL;
		int k;

		if (!sl->used || !sl->seen || sl->local)
			continue;
		for (size_t j = 0; j < n_rev && !r; j++)
			if (mg_addr_equal(&revs[j].addr, &sl->addr) &&
			    revs[j].port == sl->port &&
			    revs[j].proto == sl->proto)
				r = &revs[j];
		if (!r) {
			r = &revs[n_rev++];
			memset(r, 0, sizeof(*r));
			r->addr = sl->addr;
			r->port = sl->port;
			r->proto = sl->proto;
		}
		for (k = 0; k < r->n; k++)
			if (mg_addr_equal(&r->svc[k].vip, &sl->vip) &&
			    r->svc[k].vport == sl->vport)
				break;
		if (k < r->n)
			continue;
		if (r->n == MG_LB_REV_SVCS) {
			char a[MG_ADDRPORTSTRLEN];

			pr_warn("backend %s serves more than %d services: replies of the others stay unNATed",
				mg_addr_port_str(&sl->addr, sl->port, a,
						 sizeof(a)),
				MG_LB_REV_SVCS);
			continue;
		}
		r->svc[r->n].vip = sl->vip;
		r->svc[r->n++].vport = sl->vport;
	}
	for (size_t j = 0; j < n_rev; j++) {
		const struct rev *r = &revs[j];

		if (r->addr.family == MG_AF_INET6) {
			struct mg_lbrev6_key *k6 = &rkeys6[n6];
			struct mg_lbrev6_val *v6 = &rvals6[n6++];

			memset(k6, 0, sizeof(*k6));
			memset(v6, 0, sizeof(*v6));
			memcpy(k6->addr, r->addr.addr, sizeof(k6->addr));
			k6->port = htons(r->port);
			k6->proto = r->proto;
			for (int k = 0; k < r->n; k++) {
				memcpy(v6->svc[k].vip, r->svc[k].vip.addr,
				       sizeof(v6->svc[k].vip));
				v6->svc[k].vport = htons(r->svc[k].vport);
			}
			continue;
		}
		rkeys[n4] = (struct mg_lbrev_key){ .addr = r->addr.addr[0],
						   .port = htons(r->port),
						   .proto = r->proto };
		memset(&rvals[n4], 0, sizeof(rvals[0]));
		for (int k = 0; k < r->n; k++) {
			rvals[n4].svc[k].vip = r->svc[k].vip.addr[0];
			rvals[n4].svc[k].vport = htons(r->svc[k].vport);
		}
		n4++;
	}
	err = mg_map_reconcile(m->rev, "mg_lbrev", sizeof(rkeys[0]),
			       sizeof(rvals[0]), rkeys, rvals, n4, NULL);
	if (m->rev6 >= 0) {
		rc = mg_map_reconcile(m->rev6, "mg_lbrev6", sizeof(rkeys6[0]),
				      sizeof(rvals6[0]), rkeys6, rvals6, n6,
				      NULL);
		err = err ?: rc;
	}
	return err;
}

/* --- traffic controls (datapath/ratelimit.h) ------------------------------- */

static __u32 svc_flags(const struct mg_cfg_service *c)
{
	return c->on_no_backend == MG_NB_DROP ? MG_SVC_F_NB_DROP : 0;
}

/* Each CPU's share of n (rounded up, 1 at least when n is not 0). */
static __u32 cpu_share(__u32 n, long cpus)
{
	return n ? (__u32)((n + cpus - 1) / cpus) : 0;
}

/*
 * Service id's limits into mg_svctc (zeros when it is not used): the
 * rates and bursts split over the online CPUs, as each CPU keeps its own
 * buckets; a burst of 0 is one second of the rate.  0 or -errno.
 */
static int tc_write(const struct mg_services_maps *m, const struct svc *v,
		    __u32 id)
{
	struct mg_svc_tc tc = { 0 }, old;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (m->tc < 0)
		return 0;
	if (cpus < 1)
		cpus = 1;
	if (v->used) {
		const struct mg_cfg_service *c = &v->c;

		tc.pps = cpu_share(c->rate_pps, cpus);
		tc.pps_burst = cpu_share(c->rate_burst ?: c->rate_pps, cpus);
		tc.nf = cpu_share(c->newflow_rate, cpus);
		tc.nf_burst =
			cpu_share(c->newflow_burst ?: c->newflow_rate, cpus);
		tc.max_flows = c->max_flows_per_backend;
	}
	if (!bpf_map_lookup_elem(m->tc, &id, &old) &&
	    !memcmp(&old, &tc, sizeof(tc)))
		return 0;
	if (bpf_map_update_elem(m->tc, &id, &tc, BPF_ANY)) {
		pr_err("service %s: writing its limits (mg_svctc): %s",
		       v->used ? v->c.name : "-", strerror(errno));
		return -errno;
	}
	return 0;
}

int mg_services_sync(struct mg_services *s, struct mg_state *st,
		     const struct mg_view *view,
		     const struct mg_services_maps *m)
{
	struct mg_svc_key keys[2 * MG_CFG_MAX_SERVICES];
	struct mg_svc_val vals[2 * MG_CFG_MAX_SERVICES];
	struct mg_svc6_key keys6[2 * MG_CFG_MAX_SERVICES];
	struct mg_svc_val vals6[2 * MG_CFG_MAX_SERVICES];
	size_t n_keys = 0, n_keys6 = 0;
	int err = 0, rc;

	s->maps = *m;
	if (!s->gen_next) {
		bool pinned = false;

		s->gen_next = 1;
		for (__u32 i = 0; i < MG_LB_MAX_BACKENDS; i++) {
			struct mg_lb_backend b;
			struct mg_lb_backend6 b6;
			struct mg_addr a = { .family = MG_AF_INET };

			if (!bpf_map_lookup_elem(m->be, &i, &b)) {
				a.addr[0] = b.addr;
				if (slot_restore(s, i, b.gen, b.flags, &a,
						 ntohs(b.port)))
					pinned = true;
			}
			if (m->be6 < 0 || bpf_map_lookup_elem(m->be6, &i, &b6))
				continue;
			a.family = MG_AF_INET6;
			memcpy(a.addr, b6.addr, sizeof(a.addr));
			if (slot_restore(s, i, b6.gen, b6.flags, &a,
					 ntohs(b6.port)))
				pinned = true;
		}
		/* A fresh start has nothing to keep: program at once. */
		if (!pinned)
			s->hold_until_ms = 0;
	}
	if (st) {
		svc_publish(s, st);
		svc_learn(s, st);
	}
	/*
	 * Restarted: the previous run's tables keep forwarding until the
	 * other clusters' backends are back (a table without them would
	 * move their flows).
	 */
	if (mg_now_ms() < s->hold_until_ms)
		return 0;
	for (__u32 i = 0; i < MG_LB_MAX_BACKENDS; i++)
		s->slots[i].seen = false;

	/* Backends first: a new table must find its slots filled. */
	for (__u32 id = 0; id < MG_CFG_MAX_SERVICES; id++) {
		struct svc *v = &s->svc[id];

		if (!v->used)
			continue;
		gather(s, v, st, view);
		for (int i = 0; i < v->n_be; i++) {
			struct sbe *b = &v->be[i];
			struct slot *sl = svc_slot_get(s, v, b, &b->slot);

			if (!sl) {
				pr_warn("service %s: more than %d backends in all",
					v->c.name, MG_LB_MAX_BACKENDS);
				b->in_use = b->live = false;
				continue;
			}
			sl->seen = true;
			sl->local = b->local;
			if (b->live && !sl->live) {
				rc = slot_write(m, b->slot, sl, true);
				err = err ?: rc;
			}
			if (b->live)
				sl->live = true;
		}
	}
	/*
	 * Before the tables: which service each backend's replies belong
	 * to (one per backend).
	 */
	rc = rev_write(s, m);
	err = err ?: rc;
	for (__u32 id = 0; id < MG_CFG_MAX_SERVICES; id++) {
		struct svc *v = &s->svc[id];
		__u64 sig;

		rc = tc_write(m, v, id);
		err = err ?: rc;
		if (!v->used) {
			bpf_map_delete_elem(m->ring, &id);
			continue;
		}
		sig = svc_table_sig(v);
		if (!v->written || sig != v->sig) {
			rc = table_write(m, v, id);
			if (rc)
				pr_err("service %s: writing its table: %s",
				       v->c.name, strerror(-rc));
			else
				v->written = true, v->sig = sig;
			err = err ?: rc;
		}
		if (v->c.vip.family == MG_AF_INET6) {
			struct mg_svc6_key k6 = { .port = htons(v->c.port),
						  .proto = svc_ipproto(&v->c) };

			memcpy(k6.vip, v->c.vip.addr, sizeof(k6.vip));
			keys6[n_keys6] = k6;
			vals6[n_keys6++] = (struct mg_svc_val){
				.id = id, .flags = svc_flags(&v->c)
			};
			k6.port = 0;
			k6.proto = 0;
			keys6[n_keys6] = k6;
			vals6[n_keys6++] = (struct mg_svc_val){ .id = id };
			continue;
		}
		keys[n_keys] =
			(struct mg_svc_key){ .vip = v->c.vip.addr[0],
					     .port = htons(v->c.port),
					     .proto = svc_ipproto(&v->c) };
		vals[n_keys++] =
			(struct mg_svc_val){ .id = id,
					     .flags = svc_flags(&v->c) };
		keys[n_keys] = (struct mg_svc_key){ .vip = v->c.vip.addr[0] };
		vals[n_keys++] = (struct mg_svc_val){ .id = id };
	}
	/* Then what is gone or sick loses LIVE: its flows move. */
	for (int id = 0; id < MG_CFG_MAX_SERVICES; id++) {
		struct svc *v = &s->svc[id];

		for (int i = 0; v->used && i < v->n_be; i++) {
			struct slot *sl = &s->slots[v->be[i].slot];

			if (!v->be[i].live && sl->live) {
				sl->live = false;
				rc = slot_write(m, v->be[i].slot, sl, false);
				err = err ?: rc;
			}
		}
	}
	for (__u32 i = 0; i < MG_LB_MAX_BACKENDS; i++) {
		struct slot *sl = &s->slots[i];

		if (sl->used && !sl->seen) {
			sl->used = sl->live = false;
			rc = slot_write(m, i, sl, false);
			err = err ?: rc;
		}
	}
	rc = mg_map_reconcile(m->svc, "mg_svc", sizeof(keys[0]),
			      sizeof(vals[0]), keys, vals, n_keys, NULL);
	err = err ?: rc;
	if (m->svc6 >= 0) {
		rc = mg_map_reconcile(m->svc6, "mg_svc6", sizeof(keys6[0]),
				      sizeof(vals6[0]), keys6, vals6, n_keys6,
				      NULL);
		err = err ?: rc;
	}
	return err;
}
