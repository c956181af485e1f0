// SPDX-License-Identifier: GPL-2.0-only
/*
 * Global services: model, health checks, gossip of backends, Maglev
 * tables written atomically.  See services.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <meshgate/abi.h>
#include "cli.h"
#include "gossip/state.h"
#include "health.h"
#include "maglev.h"
#include "outlier.h"
#include "services.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/out.h"
#include "lib/persist.h"

_Static_assert(MG_LB_RING_SIZE == MG_MAGLEV_SIZE_SMALL,
	       "the datapath's table size is the agent's Maglev size");
_Static_assert(MG_CFG_MAX_SERVICES <= MG_LB_MAX_SERVICES,
	       "service ids index mg_lbring");

#define SVC_MAX_BE	256	/* backends of one service, all clusters */
/*
 * After a restart over pinned maps: how long the maps keep the previous
 * run's tables while gossip brings the other clusters' backends back and
 * the probes run (lan failover is under 3 s).
 */
#define SVC_SETTLE_MS	3000
#define SVC_WIRE_V	1
#define SVC_WIRE_HDR	7	/* version, health, weight, affinity, min_local */
#define SVC_NAME_WIRE	(MG_STATE_VAL_MAX - SVC_WIRE_HDR)
/* An ejection record (MG_STATE_EJECT): version, until (u64 ms, unix). */
#define SVC_VT_EJECT	17
#define SVC_EJECT_V	1
#define SVC_EJECT_LEN	9

static const char *const affinity_names[] = {
	[MG_AFFINITY_ANY] = "any", [MG_AFFINITY_LOCAL] = "local",
	[MG_AFFINITY_REMOTE] = "remote", NULL
};

/* One of this cluster's backends: probed here. */
struct lbe {
	struct mg_cfg_backend b;
	struct mg_health h;
	int fd;				/* probe in flight, else -1 */
	struct mg_loop_src *src;
	uint64_t deadline_ms;
	struct svc *svc;
};

/* A backend as the last sync saw it, any cluster. */
struct sbe {
	struct mg_addr addr;
	__u16 port, weight;
	__u8 cluster_id;
	bool local;
	enum mg_health_state state;
	bool live;			/* UP and its cluster reachable */
	bool in_use;			/* in the Maglev table */
	bool ejected;			/* by outlier detection, ours or gossiped */
	uint64_t eject_until;		/* then until (unix ms) */
	__u32 slot;
	char origin[MG_STATE_NAME_MAX + 1];
};

enum svc_source { SRC_CONFIG, SRC_CLI, SRC_GOSSIP };

struct svc {
	bool used;
	enum svc_source source;
	bool seen;			/* gossip-learned: still advertised */
	struct mg_cfg_service c;
	struct mg_health_cfg hc;
	struct lbe local[MG_CFG_MAX_BACKENDS];
	struct mg_loop_src *timer;
	struct mg_services *s;
	struct sbe be[SVC_MAX_BE];
	int n_be;
	__u64 sig;			/* of the table last written */
	bool written;
};

/*
 * A backend slot: in mg_lbbe or mg_lbbe6 by its service's family (one
 * numbering for both, as the Maglev tables of both share mg_lbring).
 */
struct slot {
	bool used, seen;
	__u32 gen;
	struct mg_addr vip, addr;	/* of one family */
	__u16 vport, port;		/* host order */
	__u8 proto, cluster_id;
	bool live, local;
	struct mg_outlier_be ol;	/* this gateway's outlier detection */
	uint64_t ol_until_wall;		/* its ejection's end (unix ms) */
};

struct mg_services {
	struct mg_loop *loop;
	const struct mg_config *cfg;
	void (*changed)(void *arg);
	void *arg;
	struct svc svc[MG_CFG_MAX_SERVICES];
	struct slot slots[MG_LB_MAX_BACKENDS];
	struct mg_services_maps maps;	/* of the last sync */
	/*
	 * Next slot generation: above every one in mg_lbbe when we started,
	 * so that a flow tracked by an earlier run never takes a re-used
	 * slot for its backend (it is re-hashed instead).
	 */
	__u32 gen_next;
	char path[PATH_MAX + 16];	/* state_dir/services */
	uint64_t hold_until_ms;		/* restarted: tables untouched until */
	struct mg_loop_src *hold_timer;
	struct mg_loop_src *outlier_timer;
};

static __u8 svc_ipproto(const struct mg_cfg_service *c)
{
	return c->proto == MG_SVC_UDP ? IPPROTO_UDP : IPPROTO_TCP;
}

static const char *proto_name(__u8 p)
{
	return p == IPPROTO_UDP ? "udp" : "tcp";
}

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

static void svc_stop(struct svc *v)
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

static int svc_start(struct mg_services *s, const struct mg_cfg_service *c,
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
static int svc_replace(struct mg_services *s, struct svc *v,
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

static struct svc *svc_find(struct mg_services *s, const char *name)
{
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++)
		if (s->svc[i].used && !strcmp(s->svc[i].c.name, name))
			return &s->svc[i];
	return NULL;
}

static struct svc *svc_find_vip(struct mg_services *s,
				const struct mg_addr *vip, __u16 port,
				__u8 proto)
{
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		struct svc *v = &s->svc[i];

		if (v->used && mg_addr_equal(&v->c.vip, vip) &&
		    v->c.port == port && svc_ipproto(&v->c) == proto)
			return v;
	}
	return NULL;
}

/* --- arguments (CLI and state_dir/services) -------------------------------- */

static int parse_u(const char *s, unsigned long min, unsigned long max,
		   unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !*s || *end || errno || *out < min || *out > max ? -EINVAL : 0;
}

/*
 * The traffic controls' words (issue 13), as in [service]: 0 and *bad
 * nonzero when val is not valid for k; -ENOENT when k is none of them.
 */
static int svc_tc_arg(struct mg_cfg_service *c, const char *k,
		      const char *val, unsigned long *bad)
{
	static const struct {
		const char *name;
		size_t off;
		unsigned long max;
	} words[] = {
		{ "rate_pps", offsetof(struct mg_cfg_service, rate_pps),
		  MG_CFG_RATE_MAX },
		{ "rate_burst", offsetof(struct mg_cfg_service, rate_burst),
		  MG_CFG_RATE_MAX },
		{ "newflow_rate", offsetof(struct mg_cfg_service, newflow_rate),
		  MG_CFG_RATE_MAX },
		{ "newflow_burst",
		  offsetof(struct mg_cfg_service, newflow_burst),
		  MG_CFG_RATE_MAX },
		{ "max_flows_per_backend",
		  offsetof(struct mg_cfg_service, max_flows_per_backend),
		  100000000 },
	};
	unsigned long u;

	*bad = 0;
	if (!strcmp(k, "on_no_backend")) {
		if (!strcasecmp(val, "reset"))
			c->on_no_backend = MG_NB_RESET;
		else if (!strcasecmp(val, "drop"))
			c->on_no_backend = MG_NB_DROP;
		else
			*bad = 1;
		return 0;
	}
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcmp(k, words[i].name))
			continue;
		if (parse_u(val, 0, words[i].max, &u))
			*bad = 1;
		else
			*(__u32 *)((char *)c + words[i].off) = (__u32)u;
		return 0;
	}
	return -ENOENT;
}

int mg_services_parse_args(struct mg_cfg_service *c, int argc, char **argv,
			   char *err, size_t errlen)
{
	bool vip = false, port = false;
	unsigned long u;

	mg_cfg_service_defaults(c);
	for (int i = 0; i < argc; i += 2) {
		const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!val) {
			snprintf(err, errlen, "\"%s\" needs a value", k);
			return -EINVAL;
		}
		if (!strcmp(k, "vip")) {
			if (mg_addr_parse(val, &c->vip))
				goto bad;
			vip = true;
		} else if (!strcmp(k, "port")) {
			if (parse_u(val, 1, 65535, &u))
				goto bad;
			c->port = (__u16)u;
			port = true;
		} else if (!strcmp(k, "proto")) {
			if (!strcasecmp(val, "tcp"))
				c->proto = MG_SVC_TCP;
			else if (!strcasecmp(val, "udp"))
				c->proto = MG_SVC_UDP;
			else
				goto bad;
		} else if (!strcmp(k, "affinity")) {
			int a;

			for (a = 0; affinity_names[a]; a++)
				if (!strcasecmp(val, affinity_names[a]))
					break;
			if (!affinity_names[a])
				goto bad;
			c->affinity = a;
		} else if (!strcmp(k, "min_local")) {
			if (parse_u(val, 0, MG_CFG_MAX_BACKENDS, &u))
				goto bad;
			c->min_local = (__u16)u;
		} else if (!svc_tc_arg(c, k, val, &u)) {
			if (u)
				goto bad;
		} else if (!strcmp(k, "backend")) {
			char b[128];
			char *colon;

			/*
			 * ADDR:PORT[:WEIGHT] on the command line ([ADDR] when
			 * IPv6); the configuration's "ADDR:PORT WEIGHT".
			 */
			snprintf(b, sizeof(b), "%s", val);
			colon = b[0] == '[' ? strstr(b, "]:") : b;
			colon = colon ? strchr(colon, ':') : NULL;
			if (colon && strchr(colon + 1, ':'))
				*strchr(colon + 1, ':') = ' ';
			if (c->n_backends >= MG_CFG_MAX_BACKENDS ||
			    mg_cfg_backend_parse(b,
						 &c->backends[c->n_backends]))
				goto bad;
			c->n_backends++;
		} else {
			snprintf(err, errlen, "unknown word \"%s\"", k);
			return -EINVAL;
		}
		continue;
bad:
		snprintf(err, errlen, "%s: \"%s\" is not valid", k, val);
		return -EINVAL;
	}
	if (!vip || !port) {
		snprintf(err, errlen, "vip ADDR and port N are required");
		return -EINVAL;
	}
	for (int b = 0; b < c->n_backends; b++) {
		char a[MG_ADDRSTRLEN];

		if (c->backends[b].addr.family == c->vip.family)
			continue;
		snprintf(err, errlen,
			 "backend %s is %s but the VIP is %s: one family per service",
			 mg_addr_str(&c->backends[b].addr, a, sizeof(a)),
			 c->backends[b].addr.family == MG_AF_INET ? "IPv4" :
								     "IPv6",
			 c->vip.family == MG_AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	return 0;
}

static void cli_line(FILE *f, const struct mg_cfg_service *c)
{
	char a[MG_ADDRSTRLEN];

	fprintf(f, "%s vip %s port %u proto %s affinity %s min_local %u",
		c->name, mg_addr_str(&c->vip, a, sizeof(a)), c->port,
		proto_name(svc_ipproto(c)), affinity_names[c->affinity],
		c->min_local);
	/* The traffic controls when set: older lines stay as they were. */
	if (c->on_no_backend == MG_NB_DROP)
		fprintf(f, " on_no_backend drop");
	if (c->rate_pps)
		fprintf(f, " rate_pps %u rate_burst %u", c->rate_pps,
			c->rate_burst);
	if (c->newflow_rate)
		fprintf(f, " newflow_rate %u newflow_burst %u",
			c->newflow_rate, c->newflow_burst);
	if (c->max_flows_per_backend)
		fprintf(f, " max_flows_per_backend %u",
			c->max_flows_per_backend);
	for (int b = 0; b < c->n_backends; b++) {
		char ap[MG_ADDRPORTSTRLEN];

		fprintf(f, " backend %s:%u",
			mg_addr_port_str(&c->backends[b].addr,
					 c->backends[b].port, ap, sizeof(ap)),
			c->backends[b].weight);
	}
	fputc('\n', f);
}

/*
 * state_dir/services, one line per CLI service (NAME followed by its
 * words), as it would be without skip: saved before the change it records
 * is applied.  0 (also when there is no state_dir) or -errno, logged.
 */
static int cli_save(struct mg_services *s, const struct svc *skip)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int err;

	if (!s->path[0])
		return 0;
	f = open_memstream(&buf, &len);
	if (!f)
		return -errno;
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		const struct svc *v = &s->svc[i];

		if (v->used && v->source == SRC_CLI && v != skip)
			cli_line(f, &v->c);
	}
	err = fclose(f) ? -ENOMEM : mg_persist_write(s->path, buf, len);
	free(buf);
	if (err)
		pr_err("saving services in %s: %s", s->path, strerror(-err));
	return err;
}

static void cli_load(struct mg_services *s)
{
	char line[4096], err[128];
	int lineno = 0;
	FILE *f = fopen(s->path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		struct mg_cfg_service c;
		char *argv[2 * (MG_CFG_MAX_BACKENDS + 8)], *tok, *save;
		int argc = 0;

		lineno++;
		tok = strtok_r(line, " \t\n", &save);
		if (!tok)
			continue;
		while (argc < (int)(sizeof(argv) / sizeof(argv[0])) &&
		       (argv[argc] = strtok_r(NULL, " \t\n", &save)))
			argc++;
		if (mg_services_parse_args(&c, argc, argv, err, sizeof(err))) {
			pr_warn("%s:%d: %s", s->path, lineno, err);
			continue;
		}
		snprintf(c.name, sizeof(c.name), "%s", tok);
		if (svc_find(s, c.name) || svc_start(s, &c, SRC_CLI))
			pr_warn("%s:%d: service %s not taken", s->path, lineno,
				c.name);
	}
	fclose(f);
}

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
		if (!sl || mg_outlier_read(s->maps.outlier, b->slot, &ok,
					   &fail))
			continue;
		switch (mg_outlier_update(&sl->ol, &c, ok, fail, now,
					  out < max)) {
		case MG_OUTLIER_EJECTED:
			out++;
			changed = true;
			sl->ol_until_wall = wall + (sl->ol.until_ms - now);
			pr_warn("service %s: backend %s ejected for %llu ms "
				"(%u new flows refused in a row)", v->c.name,
				mg_addr_port_str(&b->addr, b->port, ap,
						 sizeof(ap)),
				(unsigned long long)(sl->ol.until_ms - now),
				c.consecutive);
			break;
		case MG_OUTLIER_RETURNED:
			changed = true;
			pr_info("service %s: backend %s back from ejection",
				v->c.name, mg_addr_port_str(&b->addr, b->port,
							    ap, sizeof(ap)));
			break;
		default:
			break;
		}
	}
	return changed;
}

static void on_outlier_tick(struct mg_loop_src *src, uint32_t ev, void *arg)
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
static uint64_t eject_until(const struct mg_state_val *val)
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
static void outlier_publish(struct mg_services *s, struct mg_state *st)
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
					"failed", v->c.name);
		}
	}
	while (mg_state_iter_next(st, &it, &e) && n_stale < 64)
		if (e.origin == 0 && e.key.kind == MG_STATE_EJECT &&
		    eject_until(&e.val) <= wall)
			stale[n_stale++] = e.key;
	for (int i = 0; i < n_stale; i++)
		mg_state_del_local(st, &stale[i]);
}

static struct slot *slot_get(struct mg_services *s, const struct svc *v,
			     const struct sbe *b, __u32 *idx);

/*
 * Which of v's backends are ejected: by our own outlier detection, or by
 * another gateway's (its record in st, not yet over).
 */
static void outlier_apply(struct mg_services *s, struct svc *v,
			  struct mg_state *st)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	uint64_t now = mg_now_ms(), wall = wall_ms();
	struct mg_state_entry e;

	for (int i = 0; i < v->n_be; i++) {
		struct sbe *b = &v->be[i];
		__u32 idx;
		struct slot *sl = slot_get(s, v, b, &idx);

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
		until = eject_until(&e.val);
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
	cli_load(s);
	s->hold_until_ms = mg_now_ms() + SVC_SETTLE_MS;
	s->hold_timer = mg_loop_add_timer(loop, SVC_SETTLE_MS, 0, on_hold_end,
					  s);
	s->outlier_timer = mg_loop_add_timer(loop, MG_OUTLIER_TICK_MS,
					     MG_OUTLIER_TICK_MS,
					     on_outlier_tick, s);
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
static void publish(struct mg_services *s, struct mg_state *st)
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
	outlier_publish(s, st);
}

/* Services other clusters advertise that we have no definition of. */
static void learn(struct mg_services *s, struct mg_state *st)
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
			     e.val.data[4] : MG_AFFINITY_ANY;
		c.min_local = (__u16)(e.val.data[5] << 8 | e.val.data[6]);
		if (!c.name[0] || svc_find(s, c.name))
			snprintf(c.name, sizeof(c.name), "svc-%08x-%u",
				 ntohl(c.vip.addr[0] ^ c.vip.addr[1] ^
				       c.vip.addr[2] ^ c.vip.addr[3]), c.port);
		if (!svc_start(s, &c, SRC_GOSSIP)) {
			pr_info("service %s learned from %s", c.name,
				"gossip");
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

	outlier_apply(s, v, st);
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
			c[i].in_use = c[i].live &&
				      (c[i].local || n_local < min_local ||
				       !n_local);
			break;
		case MG_AFFINITY_REMOTE:
			c[i].in_use = c[i].live && (!c[i].local || !n_remote);
			break;
		default:
			c[i].in_use = c[i].live;
		}
	}
}

static struct slot *slot_get(struct mg_services *s, const struct svc *v,
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
		    sl->vport == v->c.port &&
		    sl->proto == svc_ipproto(&v->c) &&
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
		       -errno : 0;
	memcpy(val6.addr, sl->addr.addr, sizeof(val6.addr));
	return bpf_map_update_elem(m->be6, &idx, &val6, BPF_ANY) ? -errno : 0;
}

/* FNV-1a over the table's (slot, weight) pairs, in backend order. */
static __u64 table_sig(const struct svc *v)
{
	__u64 h = 0xcbf29ce484222325ull;

	for (int i = 0; i < v->n_be; i++) {
		__u64 x = v->be[i].in_use ?
			  (__u64)v->be[i].slot << 16 | v->be[i].weight : 0;

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
			.vip = v->c.vip.addr[0], .addr = v->be[i].addr.addr[0],
			.vport = v->c.port, .port = v->be[i].port,
			.proto = svc_ipproto(&v->c),
			.cid = v->be[i].cluster_id,
		};
		/* IPv6: whole addresses (IPv4 keeps its key: its tables). */
		struct {
			__u32 vip[4], addr[4];
			__u16 vport, port;
			__u8 proto, cid, pad[2];
		} key6 = {
			.vport = v->c.port, .port = v->be[i].port,
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
static bool slot_restore(struct mg_services *s, __u32 i, __u32 gen,
			 __u8 flags, const struct mg_addr *addr, __u16 port)
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
	__u16 port;			/* host order */
	__u8 proto;
	int n;
	struct {
		struct mg_addr vip;
		__u16 vport;		/* host order */
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
						 sizeof(a)), MG_LB_REV_SVCS);
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
			.port = htons(r->port), .proto = r->proto };
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
		tc.nf_burst = cpu_share(c->newflow_burst ?: c->newflow_rate,
					cpus);
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
		publish(s, st);
		learn(s, st);
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
			struct slot *sl = slot_get(s, v, b, &b->slot);

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
		sig = table_sig(v);
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
			vals6[n_keys6++] = (struct mg_svc_val){ .id = id,
				.flags = svc_flags(&v->c) };
			k6.port = 0;
			k6.proto = 0;
			keys6[n_keys6] = k6;
			vals6[n_keys6++] = (struct mg_svc_val){ .id = id };
			continue;
		}
		keys[n_keys] = (struct mg_svc_key){ .vip = v->c.vip.addr[0],
			.port = htons(v->c.port), .proto = svc_ipproto(&v->c) };
		vals[n_keys++] = (struct mg_svc_val){ .id = id,
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

/* --- the CLI ----------------------------------------------------------------- */

static int svc_list(struct mg_cli *cli, struct mg_services *s)
{
	static const char *const src[] = { "config", "cli", "gossip" };
	char a[MG_ADDRSTRLEN];

	out_arr_open("services");
	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		const struct svc *v = &s->svc[i];
		int in_use = 0;

		if (!v->used)
			continue;
		for (int b = 0; b < v->n_be; b++)
			in_use += v->be[b].in_use;
		out_obj_open(NULL);
		out_str("name", "%s", v->c.name);
		out_str("vip", "  %s", mg_addr_str(&v->c.vip, a, sizeof(a)));
		out_u64("port", ":%llu", v->c.port);
		out_str("proto", "/%s", proto_name(svc_ipproto(&v->c)));
		out_str("affinity", "  affinity %s",
			affinity_names[v->c.affinity]);
		out_u64("min_local", " min_local %llu", v->c.min_local);
		out_str("source", "  (%s)", src[v->source]);
		out_u64("in_use", "  %llu", in_use);
		out_u64("backends", "/%llu backends in use\n", v->n_be);
		out_arr_open("backend");
		for (int b = 0; b < v->n_be; b++) {
			const struct sbe *e = &v->be[b];
			char ap[MG_ADDRPORTSTRLEN];

			mg_addr_port_str(&e->addr, e->port, ap, sizeof(ap));
			out_obj_open(NULL);
			out_str("address", "    %-22s", ap);
			out_u64("cluster_id", " cluster %-3llu", e->cluster_id);
			out_str("origin", " %-16s", e->origin);
			out_str("health", " %-7s", mg_health_state_name(e->state));
			out_str("outlier", " %-7s", e->ejected ? "ejected" : "ok");
			if (e->ejected) {
				time_t t = (time_t)(e->eject_until / 1000);
				char ts[32];

				strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ",
					 gmtime(&t));
				out_str("ejected_until", " until %s", ts);
			}
			out_u64("weight", " weight %-5llu", e->weight);
			out_bool("live", " %s", e->live);
			out_bool("in_use", " %s\n", e->in_use);
			out_obj_close();
		}
		out_arr_close();
		out_obj_close();
	}
	out_arr_close();
	out_finish();
	return 0;
}

/*
 * `services set NAME WORDS...`: the words over the service's current
 * definition (a later word wins); backends given replace them all.
 */
static int set_args(const struct mg_cfg_service *cur, int argc, char **argv,
		    struct mg_cfg_service *c, char *err, size_t errlen)
{
	char *line = NULL, *words[2 * (MG_CFG_MAX_BACKENDS + 8) + 64];
	char *tok, *save;
	size_t len = 0;
	bool backends = false;
	int n = 0, rc;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return -ENOMEM;
	cli_line(f, cur);
	fclose(f);
	for (int i = 0; i < argc; i += 2)
		if (!strcmp(argv[i], "backend"))
			backends = true;
	/* The first word is the name. */
	strtok_r(line, " \n", &save);
	while ((tok = strtok_r(NULL, " \n", &save)) &&
	       n < (int)(sizeof(words) / sizeof(words[0])) - 1) {
		if (backends && !strcmp(tok, "backend")) {
			strtok_r(NULL, " \n", &save);
			continue;
		}
		words[n++] = tok;
	}
	if (n + argc > (int)(sizeof(words) / sizeof(words[0]))) {
		snprintf(err, errlen, "too many words");
		free(line);
		return -EINVAL;
	}
	for (int i = 0; i < argc; i++)
		words[n++] = argv[i];
	rc = mg_services_parse_args(c, n, words, err, errlen);
	free(line);
	if (!rc)
		snprintf(c->name, sizeof(c->name), "%s", cur->name);
	return rc;
}

/*
 * Saved first, applied after: a restart finds what we answer.  0 or an
 * exit code, with the message in cli->err.
 */
static int svc_set(struct mg_cli *cli, struct mg_services *s, int argc,
		   char **argv)
{
	struct svc *v = svc_find(s, argv[2]), *other;
	struct mg_cfg_service c, old;
	char err[160];
	int rc;

	if (!v || v->source != SRC_CLI) {
		fprintf(cli->err, "meshgate services set: %s is not a service added with 'services add'\n",
			argv[2]);
		return 1;
	}
	rc = set_args(&v->c, argc - 3, argv + 3, &c, err, sizeof(err));
	if (rc) {
		fprintf(cli->err, "meshgate services set: %s\n",
			rc == -EINVAL ? err : strerror(-rc));
		return 2;
	}
	other = svc_find_vip(s, &c.vip, c.port, svc_ipproto(&c));
	if (other && other != v) {
		fprintf(cli->err, "meshgate services set: that VIP:port/proto has a service (%s)\n",
			other->c.name);
		return 1;
	}
	old = v->c;
	v->c = c;
	rc = cli_save(s, NULL);
	v->c = old;
	if (rc) {
		fprintf(cli->err, "meshgate services set: not changed: saving %s: %s\n",
			s->path, strerror(-rc));
		return 1;
	}
	rc = svc_replace(s, v, &c);
	if (rc) {
		/* Saved but not applied: save what runs again. */
		cli_save(s, NULL);
		fprintf(cli->err, "meshgate services set: not changed: %s\n",
			strerror(-rc));
		return 1;
	}
	pr_info("service %s: changed by services set", c.name);
	return 0;
}

int mg_services_cmd(struct mg_cli *cli, int argc, char **argv)
{
	struct mg_services *s = cli->priv;
	struct svc *v, *learned = NULL;
	struct mg_cfg_service c;
	char err[160];
	int rc;

	if (argc < 2 || mg_matches(argv[1], "list"))
		return svc_list(cli, s);
	if (argc >= 3 && mg_matches(argv[1], "add")) {
		if (mg_services_parse_args(&c, argc - 3, argv + 3, err,
					   sizeof(err))) {
			fprintf(cli->err, "meshgate services add: %s\n", err);
			return 2;
		}
		snprintf(c.name, sizeof(c.name), "%s", argv[2]);
		/*
		 * A service learned from another cluster is this one too:
		 * adding it here (by its name or its VIP) adds this
		 * cluster's backends to it, under the definition given.
		 */
		learned = svc_find_vip(s, &c.vip, c.port, svc_ipproto(&c));
		v = svc_find(s, argv[2]);
		if (v && v != learned) {
			fprintf(cli->err, v->source == SRC_GOSSIP ?
				"meshgate services add: %s is learned from another cluster with another VIP:port/proto\n" :
				"meshgate services add: %s exists (del it first)\n",
				argv[2]);
			return 1;
		}
		if (learned && learned->source != SRC_GOSSIP) {
			fprintf(cli->err, "meshgate services add: that VIP:port/proto has a service (%s)\n",
				learned->c.name);
			return 1;
		}
		if (learned)
			svc_stop(learned);
		rc = svc_start(s, &c, SRC_CLI);
		if (rc) {
			fprintf(cli->err, "meshgate services add: %s\n",
				strerror(-rc));
			goto undone;
		}
		/* Applied only once saved: a restart finds what we answer. */
		rc = cli_save(s, NULL);
		if (rc) {
			svc_stop(svc_find(s, c.name));
			fprintf(cli->err, "meshgate services add: not added: saving %s: %s\n",
				s->path, strerror(-rc));
			goto undone;
		}
		if (learned)
			pr_info("service %s: this cluster's backends added to the one learned from gossip",
				c.name);
	} else if (argc >= 3 && mg_matches(argv[1], "set")) {
		rc = svc_set(cli, s, argc, argv);
		if (rc)
			return rc;
	} else if (argc == 3 && (mg_matches(argv[1], "del") ||
				 mg_matches(argv[1], "delete"))) {
		v = svc_find(s, argv[2]);
		if (!v || v->source != SRC_CLI) {
			fprintf(cli->err, "meshgate services del: %s is not a service added with 'services add'\n",
				argv[2]);
			return 1;
		}
		rc = cli_save(s, v);
		if (rc) {
			fprintf(cli->err, "meshgate services del: not deleted: saving %s: %s\n",
				s->path, strerror(-rc));
			return 1;
		}
		svc_stop(v);
	} else {
		fprintf(cli->err,
			"usage: meshgate services [list]\n"
			"       meshgate services add NAME vip ADDR port N [proto tcp|udp]\n"
			"                [affinity any|local|remote] [min_local N] [backend ADDR:PORT[:WEIGHT]]...\n"
			"       meshgate services set NAME [vip ADDR] [port N] [proto tcp|udp]\n"
			"                [affinity any|local|remote] [min_local N] [backend ADDR:PORT[:WEIGHT]]...\n"
			"       meshgate services del NAME\n");
		return 2;
	}
	if (s->changed)
		s->changed(s->arg);
	out_text("ok\n");
	out_finish();
	return 0;
undone:
	/* The learned service comes back from gossip at the next sync. */
	if (learned && s->changed)
		s->changed(s->arg);
	return 1;
}

int mg_services_vips(const struct mg_services *s, struct mg_addr *out, int max)
{
	int n = 0;

	for (int i = 0; i < MG_CFG_MAX_SERVICES && n < max; i++) {
		const struct svc *v = &s->svc[i];
		int j;

		if (!v->used)
			continue;
		for (j = 0; j < n; j++)
			if (mg_addr_equal(&out[j], &v->c.vip))
				break;
		if (j == n)
			out[n++] = v->c.vip;
	}
	return n;
}
