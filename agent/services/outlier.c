// SPDX-License-Identifier: GPL-2.0-only
/*
 * Outlier ejection (outlier.h): our own ejections published in the
 * replicated state, everybody's applied to the backends.
 */
#include "services/svc_int.h"

/* --- outlier ejection (outlier.h) ----------------------------------------- */

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The slot the last sync gave b, or NULL. */
static struct slot *be_slot(struct mg_services *s, const struct svc *v,
			    const struct sbe *b)
{
	struct slot *sl;

	if (b->slot >= MG_LB_MAX_BACKENDS)
		return NULL;
	sl = &s->slots[b->slot];
	if (!sl->used || sl->port != b->port || sl->vport != v->c.port ||
	    !mg_addr_equal(&sl->addr, &b->addr) ||
	    !mg_addr_equal(&sl->vip, &v->c.vip))
		return NULL;
	return sl;
}

static void outlier_cfg(const struct svc *v, struct mg_outlier_cfg *c)
{
	c->consecutive = v->c.outlier_consecutive;
	c->base_ms = v->c.outlier_base_ms;
	c->max_percent = v->c.outlier_max_percent;
}

/* One service's backends' counters read: 1 when an ejection began or ended. */
static bool outlier_svc(struct mg_services *s, struct svc *v, uint64_t now,
			uint64_t wall)
{
	struct mg_outlier_cfg c;
	unsigned int out = 0, max;
	bool changed = false;
	char ap[MG_ADDRPORTSTRLEN];

	outlier_cfg(v, &c);
	max = mg_outlier_max_ejected((unsigned int)v->n_be, c.max_percent);
	for (int i = 0; i < v->n_be; i++) {
		struct slot *sl = be_slot(s, v, &v->be[i]);

		out += v->be[i].ejected ||
		       (sl && mg_outlier_ejected(&sl->ol, now));
	}
	for (int i = 0; i < v->n_be; i++) {
		struct sbe *b = &v->be[i];
		struct slot *sl = be_slot(s, v, b);
		uint64_t ok, fail;

		/* Another gateway's ejection is over. */
		if (b->ejected && wall >= b->eject_until)
			changed = true;
		if (!sl ||
		    mg_outlier_read(s->maps.outlier, b->slot, &ok, &fail))
			continue;
		switch (mg_outlier_update(&sl->ol, &c, ok, fail, now,
					  out < max)) {
		case MG_OUTLIER_EJECTED:
			out++;
			changed = true;
			sl->ol_until_wall = wall + (sl->ol.until_ms - now);
			pr_warn("service %s: backend %s ejected for %llu ms "
				"(%u new flows refused in a row)",
				v->c.name,
				mg_addr_port_str(&b->addr, b->port, ap,
						 sizeof(ap)),
				(unsigned long long)(sl->ol.until_ms - now),
				c.consecutive);
			break;
		case MG_OUTLIER_RETURNED:
			changed = true;
			pr_info("service %s: backend %s back from ejection",
				v->c.name,
				mg_addr_port_str(&b->addr, b->port, ap,
						 sizeof(ap)));
			break;
		default:
			break;
		}
	}
	return changed;
}

void svc_on_outlier_tick(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_services *s = arg;
	uint64_t now = mg_now_ms(), wall = wall_ms();
	bool changed = false;

	if (s->maps.outlier <= 0 || now < s->hold_until_ms)
		return;
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++)
		if (s->svc[i].used && outlier_svc(s, &s->svc[i], now, wall))
			changed = true;
	if (changed && s->changed)
		s->changed(s->arg);
}

static void eject_key(struct mg_state_key *k, const struct svc *v,
		      const struct mg_addr *addr, __u16 port)
{
	memset(k, 0, sizeof(*k));
	k->kind = MG_STATE_EJECT;
	k->be.vip = v->c.vip;
	k->be.vport = v->c.port;
	k->be.proto = svc_ipproto(&v->c);
	k->be.addr = *addr;
	k->be.port = port;
}

/* An ejection record's end (unix ms), or 0 when it is none. */
uint64_t svc_eject_until(const struct mg_state_val *val)
{
	uint64_t t = 0;

	if (val->type != SVC_VT_EJECT || val->len < SVC_EJECT_LEN ||
	    val->data[0] != SVC_EJECT_V)
		return 0;
	for (int i = 1; i < SVC_EJECT_LEN; i++)
		t = t << 8 | val->data[i];
	return t;
}

/*
 * Our ejections in the store, so that every gateway ejects the backend
 * too (each record says until when); those that ended, deleted.
 */
void svc_outlier_publish(struct mg_services *s, struct mg_state *st)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_key stale[64];
	uint64_t now = mg_now_ms(), wall = wall_ms();
	struct mg_state_entry e;
	int n_stale = 0;

	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		struct svc *v = &s->svc[i];

		for (int b = 0; v->used && b < v->n_be; b++) {
			struct slot *sl = be_slot(s, v, &v->be[b]);
			struct mg_state_key k;
			struct mg_state_val val = { .type = SVC_VT_EJECT,
						    .len = SVC_EJECT_LEN };

			if (!sl || !mg_outlier_ejected(&sl->ol, now))
				continue;
			val.data[0] = SVC_EJECT_V;
			for (int j = 0; j < 8; j++)
				val.data[1 + j] = (__u8)(sl->ol_until_wall >>
							 (56 - 8 * j));
			eject_key(&k, v, &v->be[b].addr, v->be[b].port);
			if (mg_state_set_local(st, &k, &val))
				pr_warn("service %s: gossiping an ejection "
					"failed",
					v->c.name);
		}
	}
	while (mg_state_iter_next(st, &it, &e) && n_stale < 64)
		if (e.origin == 0 && e.key.kind == MG_STATE_EJECT &&
		    svc_eject_until(&e.val) <= wall)
			stale[n_stale++] = e.key;
	for (int i = 0; i < n_stale; i++)
		mg_state_del_local(st, &stale[i]);
}

/*
 * Which of v's backends are ejected: by our own outlier detection, or by
 * another gateway's (its record in st, not yet over).
 */
void svc_outlier_apply(struct mg_services *s, struct svc *v,
		       struct mg_state *st)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	uint64_t now = mg_now_ms(), wall = wall_ms();
	struct mg_state_entry e;

	for (int i = 0; i < v->n_be; i++) {
		struct sbe *b = &v->be[i];
		__u32 idx;
		struct slot *sl = svc_slot_get(s, v, b, &idx);

		b->ejected = sl && mg_outlier_ejected(&sl->ol, now);
		b->eject_until = b->ejected ? sl->ol_until_wall : 0;
	}
	while (st && mg_state_iter_next(st, &it, &e)) {
		uint64_t until;

		if (e.origin == 0 || e.key.kind != MG_STATE_EJECT ||
		    !mg_addr_equal(&e.key.be.vip, &v->c.vip) ||
		    e.key.be.vport != v->c.port ||
		    e.key.be.proto != svc_ipproto(&v->c))
			continue;
		until = svc_eject_until(&e.val);
		if (until <= wall)
			continue;
		for (int i = 0; i < v->n_be; i++) {
			struct sbe *b = &v->be[i];

			if (b->port != e.key.be.port ||
			    !mg_addr_equal(&b->addr, &e.key.be.addr))
				continue;
			b->ejected = true;
			if (until > b->eject_until)
				b->eject_until = until;
		}
	}
}
