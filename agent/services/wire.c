// SPDX-License-Identifier: GPL-2.0-only
/*
 * Services on the wire: our backends published in the replicated state
 * (MG_STATE_BACKEND), the other clusters' learned.
 */
#include "services/svc_int.h"

/* --- gossip ------------------------------------------------------------------ */

static void be_key(struct mg_state_key *k, const struct mg_cfg_service *c,
		   const struct mg_cfg_backend *b)
{
	memset(k, 0, sizeof(*k));
	k->kind = MG_STATE_BACKEND;
	k->be.vip = c->vip;
	k->be.vport = c->port;
	k->be.proto = svc_ipproto(c);
	k->be.addr = b->addr;
	k->be.port = b->port;
}

static void be_val(struct mg_state_val *v, const struct mg_cfg_service *c,
		   const struct mg_cfg_backend *b, enum mg_health_state h)
{
	size_t n = strnlen(c->name, SVC_NAME_WIRE);

	memset(v, 0, sizeof(*v));
	v->type = MG_SVC_VT_BACKEND;
	v->data[0] = SVC_WIRE_V;
	v->data[1] = (__u8)h;
	v->data[2] = b->weight >> 8;
	v->data[3] = b->weight & 0xff;
	v->data[4] = (__u8)c->affinity;
	v->data[5] = c->min_local >> 8;
	v->data[6] = c->min_local & 0xff;
	memcpy(v->data + SVC_WIRE_HDR, c->name, n);
	v->len = (__u8)(SVC_WIRE_HDR + n);
}

static bool key_is_ours(struct mg_services *s, const struct mg_state_key *k)
{
	struct svc *v = svc_find_vip(s, &k->be.vip, k->be.vport, k->be.proto);

	if (!v || v->source == SRC_GOSSIP)
		return false;
	for (int i = 0; i < v->c.n_backends; i++)
		if (mg_addr_equal(&v->c.backends[i].addr, &k->be.addr) &&
		    v->c.backends[i].port == k->be.port)
			return true;
	return false;
}

/* Our backends in the store: written when new or changed, deleted when gone. */
void svc_publish(struct mg_services *s, struct mg_state *st)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_key stale[64];
	struct mg_state_entry e;
	int n_stale = 0;

	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		struct svc *v = &s->svc[i];

		if (!v->used || v->source == SRC_GOSSIP)
			continue;
		for (int b = 0; b < v->c.n_backends; b++) {
			struct mg_state_key k;
			struct mg_state_val val;
			int err;

			be_key(&k, &v->c, &v->local[b].b);
			be_val(&val, &v->c, &v->local[b].b,
			       v->local[b].h.state);
			err = mg_state_set_local(st, &k, &val);
			if (err)
				pr_warn("service %s: publishing a backend: %s",
					v->c.name, strerror(-err));
		}
	}
	while (mg_state_iter_next(st, &it, &e) && n_stale < 64)
		if (e.origin == 0 && e.key.kind == MG_STATE_BACKEND &&
		    !key_is_ours(s, &e.key))
			stale[n_stale++] = e.key;
	for (int i = 0; i < n_stale; i++)
		mg_state_del_local(st, &stale[i]);
	svc_outlier_publish(s, st);
}

/* Services other clusters advertise that we have no definition of. */
void svc_learn(struct mg_services *s, struct mg_state *st)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_entry e;

	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++)
		s->svc[i].seen = false;
	while (mg_state_iter_next(st, &it, &e)) {
		struct mg_cfg_service c;
		struct svc *v;

		if (e.origin == 0 || e.key.kind != MG_STATE_BACKEND ||
		    e.val.type != MG_SVC_VT_BACKEND ||
		    e.val.len < SVC_WIRE_HDR ||
		    (e.key.be.vip.family != MG_AF_INET &&
		     e.key.be.vip.family != MG_AF_INET6) ||
		    e.key.be.addr.family != e.key.be.vip.family ||
		    /* another protocol would be learned as TCP, then not
		     * found as seen at the next sync: stopped, learned
		     * again, a flap each sync (fuzz_services) */
		    (e.key.be.proto != IPPROTO_TCP &&
		     e.key.be.proto != IPPROTO_UDP))
			continue;
		v = svc_find_vip(s, &e.key.be.vip, e.key.be.vport,
				 e.key.be.proto);
		if (v) {
			v->seen = true;
			continue;
		}
		mg_cfg_service_defaults(&c);
		snprintf(c.name, sizeof(c.name), "%.*s",
			 (int)(e.val.len - SVC_WIRE_HDR),
			 (const char *)e.val.data + SVC_WIRE_HDR);
		c.vip = e.key.be.vip;
		c.port = e.key.be.vport;
		c.proto = e.key.be.proto == IPPROTO_UDP ? MG_SVC_UDP :
							  MG_SVC_TCP;
		c.affinity = e.val.data[4] <= MG_AFFINITY_REMOTE ?
				     e.val.data[4] :
				     MG_AFFINITY_ANY;
		c.min_local = (__u16)(e.val.data[5] << 8 | e.val.data[6]);
		if (!c.name[0] || svc_find(s, c.name))
			snprintf(c.name, sizeof(c.name), "svc-%08x-%u",
				 ntohl(c.vip.addr[0] ^ c.vip.addr[1] ^
				       c.vip.addr[2] ^ c.vip.addr[3]),
				 c.port);
		if (!svc_start(s, &c, SRC_GOSSIP)) {
			pr_info("service %s learned from %s", c.name, "gossip");
			svc_find(s, c.name)->seen = true;
		}
	}
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		struct svc *v = &s->svc[i];

		if (v->used && v->source == SRC_GOSSIP && !v->seen) {
			pr_info("service %s: no longer advertised", v->c.name);
			svc_stop(v);
		}
	}
}
