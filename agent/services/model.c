// SPDX-License-Identifier: GPL-2.0-only
/*
 * A service's life: its backends' health probes (health.h), the service
 * started, replaced, stopped and found; the services made and freed.
 */
#include "services/svc_int.h"

/* --- health ---------------------------------------------------------------- */

static void probe_done(struct lbe *l, bool ok)
{
	struct svc *v = l->svc;
	char a[MG_ADDRSTRLEN];

	if (l->src)
		mg_loop_del(v->s->loop, l->src);
	l->src = NULL;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (!mg_health_result(&l->h, ok, mg_now_ms()))
		return;
	pr_info("service %s: backend %s:%u is %s", v->c.name,
		mg_addr_str(&l->b.addr, a, sizeof(a)), l->b.port,
		mg_health_state_name(l->h.state));
	if (v->s->changed)
		v->s->changed(v->s->arg);
}

static void on_probe(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct lbe *l = arg;

	probe_done(l, mg_health_probe_finish(l->fd) == 0);
}

static void on_health_tick(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct svc *v = arg;
	uint64_t now = mg_now_ms();

	for (int i = 0; i < v->c.n_backends; i++) {
		struct lbe *l = &v->local[i];
		int rc, fd = -1;

		if (l->fd >= 0) {
			if (now < l->deadline_ms)
				continue;
			probe_done(l, false);
		}
		rc = mg_health_probe_start(&l->b.addr, l->b.port, &fd);
		if (rc == 1) {
			l->fd = fd;
			probe_done(l, true);
			continue;
		}
		if (rc < 0) {
			probe_done(l, false);
			continue;
		}
		l->fd = fd;
		l->deadline_ms = now + v->hc.timeout_ms;
		l->src = mg_loop_add_fd(v->s->loop, fd, EPOLLOUT, on_probe, l);
		if (!l->src)
			probe_done(l, false);
	}
}

void svc_stop(struct svc *v)
{
	for (int i = 0; i < MG_CFG_MAX_BACKENDS; i++) {
		struct lbe *l = &v->local[i];

		if (l->src)
			mg_loop_del(v->s->loop, l->src);
		if (l->fd >= 0)
			close(l->fd);
		l->src = NULL;
		l->fd = -1;
	}
	if (v->timer)
		mg_loop_del(v->s->loop, v->timer);
	v->timer = NULL;
	v->used = false;
}

/* Start c in v (unused). */
static int svc_init(struct mg_services *s, struct svc *v,
		    const struct mg_cfg_service *c, enum svc_source source)
{
	uint64_t now = mg_now_ms();

	memset(v, 0, offsetof(struct svc, be));
	v->used = true;
	v->source = source;
	v->s = s;
	v->c = *c;
	v->n_be = 0;
	v->written = false;
	v->hc.interval_ms = c->health_interval;
	v->hc.timeout_ms = c->health_timeout;
	v->hc.rise = c->rise;
	v->hc.fall = c->fall;
	if (mg_health_cfg_check(&v->hc)) {
		v->used = false;
		return -EINVAL;
	}
	for (int i = 0; i < MG_CFG_MAX_BACKENDS; i++) {
		v->local[i].fd = -1;
		v->local[i].svc = v;
		if (i < c->n_backends) {
			v->local[i].b = c->backends[i];
			mg_health_init(&v->local[i].h, &v->hc, now);
		}
	}
	/* UDP has no connect to probe: its backends serve as configured. */
	if (c->proto == MG_SVC_UDP)
		for (int i = 0; i < c->n_backends; i++)
			mg_health_set(&v->local[i].h, MG_HEALTH_UP, now);
	if (c->n_backends && c->proto == MG_SVC_TCP) {
		v->timer = mg_loop_add_timer(s->loop, 1, v->hc.interval_ms,
					     on_health_tick, v);
		if (!v->timer) {
			v->used = false;
			return -ENOMEM;
		}
	}
	return 0;
}

int svc_start(struct mg_services *s, const struct mg_cfg_service *c,
	      enum svc_source source)
{
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++)
		if (!s->svc[i].used)
			return svc_init(s, &s->svc[i], c, source);
	return -ENOSPC;
}

/*
 * Restart v in place as c: the backends still present keep their health
 * (a changed weight must not take a backend out for its rise), and the
 * table is rewritten at the next sync over the same slots, so established
 * flows keep their backends where still present.  On failure v is back
 * as it was.
 */
int svc_replace(struct mg_services *s, struct svc *v,
		const struct mg_cfg_service *c)
{
	struct mg_cfg_service old = v->c;
	struct lbe prev[MG_CFG_MAX_BACKENDS];
	int n_prev = old.n_backends, rc;

	memcpy(prev, v->local, sizeof(prev));
	svc_stop(v);
	rc = svc_init(s, v, c, v->source);
	if (rc) {
		/* Same definition, same resources as a moment ago. */
		if (svc_init(s, v, &old, v->source))
			pr_err("service %s: lost by a failed set", old.name);
		return rc;
	}
	for (int i = 0; i < c->n_backends; i++)
		for (int j = 0; j < n_prev; j++)
			if (mg_addr_equal(&prev[j].b.addr,
					  &c->backends[i].addr) &&
			    prev[j].b.port == c->backends[i].port) {
				v->local[i].h = prev[j].h;
				v->local[i].h.cfg = &v->hc;
				break;
			}
	return 0;
}

struct svc *svc_find(struct mg_services *s, const char *name)
{
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++)
		if (s->svc[i].used && !strcmp(s->svc[i].c.name, name))
			return &s->svc[i];
	return NULL;
}

struct svc *svc_find_vip(struct mg_services *s, const struct mg_addr *vip,
			 __u16 port, __u8 proto)
{
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		struct svc *v = &s->svc[i];

		if (v->used && mg_addr_equal(&v->c.vip, vip) &&
		    v->c.port == port && svc_ipproto(&v->c) == proto)
			return v;
	}
	return NULL;
}

static void on_hold_end(struct mg_loop_src *src, uint32_t ev, void *arg)
{
	struct mg_services *s = arg;

	if (s->changed)
		s->changed(s->arg);
}

int mg_services_new(struct mg_loop *loop, const struct mg_config *cfg,
		    void (*changed)(void *arg), void *arg,
		    struct mg_services **out)
{
	struct mg_services *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->cfg = cfg;
	s->changed = changed;
	s->arg = arg;
	s->maps.svc = s->maps.be = s->maps.ring = s->maps.rev = -1;
	s->maps.svc6 = s->maps.be6 = s->maps.rev6 = -1;
	s->maps.outlier = -1;
	s->maps.tc = -1;
	if (cfg->state_dir[0])
		snprintf(s->path, sizeof(s->path), "%s/services",
			 cfg->state_dir);
	for (int i = 0; i < cfg->n_services; i++) {
		err = svc_start(s, &cfg->services[i], SRC_CONFIG);
		if (err) {
			pr_err("service %s: %s", cfg->services[i].name,
			       strerror(-err));
			mg_services_free(s);
			return err;
		}
	}
	svc_cli_load(s);
	s->hold_until_ms = mg_now_ms() + SVC_SETTLE_MS;
	s->hold_timer =
		mg_loop_add_timer(loop, SVC_SETTLE_MS, 0, on_hold_end, s);
	s->outlier_timer = mg_loop_add_timer(loop, MG_OUTLIER_TICK_MS,
					     MG_OUTLIER_TICK_MS,
					     svc_on_outlier_tick, s);
	*out = s;
	return 0;
}

void mg_services_free(struct mg_services *s)
{
	if (!s)
		return;
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++)
		if (s->svc[i].used)
			svc_stop(&s->svc[i]);
	if (s->hold_timer)
		mg_loop_del(s->loop, s->hold_timer);
	if (s->outlier_timer)
		mg_loop_del(s->loop, s->outlier_timer);
	free(s);
}
