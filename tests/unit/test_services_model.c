// SPDX-License-Identifier: GPL-2.0-only
/*
 * A service's life (agent/services/model.c): started with its backends'
 * health (TCP ones unknown until probed, UDP ones up), refused with a bad
 * health configuration or when every slot is taken, found by name and by
 * VIP:port/proto, stopped, and replaced keeping the health of the backends
 * the new definition keeps (a failed replace keeps the old definition).
 * Uses the services' private header (services/svc_int.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>
#include "services/svc_int.h"

struct fixture {
	struct mg_config *cfg;
	struct mg_loop *loop;
	struct mg_services *s;
};

static void fx_init(struct fixture *f)
{
	f->cfg = calloc(1, sizeof(*f->cfg));
	assert_non_null(f->cfg);
	mg_config_defaults(f->cfg);
	f->cfg->state_dir[0] = '\0';
	f->cfg->cluster_id = 1;
	f->loop = mg_loop_new();
	assert_non_null(f->loop);
	assert_int_equal(mg_services_new(f->loop, f->cfg, NULL, NULL, &f->s),
			 0);
}

static void fx_free(struct fixture *f)
{
	mg_services_free(f->s);
	mg_loop_free(f->loop);
	free(f->cfg);
}

static void svc_def(struct mg_cfg_service *c, const char *name, const char *vip,
		    __u16 port, int proto, const char *const *backends)
{
	mg_cfg_service_defaults(c);
	snprintf(c->name, sizeof(c->name), "%s", name);
	assert_int_equal(mg_addr_parse(vip, &c->vip), 0);
	c->port = port;
	c->proto = proto;
	c->n_backends = 0;
	for (; backends && *backends; backends++)
		assert_int_equal(
			mg_cfg_backend_parse(*backends,
					     &c->backends[c->n_backends++]),
			0);
}

static void test_start(void **state)
{
	static const char *const be[] = { "10.1.0.5:80", "10.1.0.6:80", NULL };
	struct mg_cfg_service c;
	struct fixture f;
	struct svc *v;

	fx_init(&f);
	svc_def(&c, "web", "10.96.0.20", 80, MG_SVC_TCP, be);
	assert_int_equal(svc_start(f.s, &c, SRC_CLI), 0);
	v = svc_find(f.s, "web");
	assert_non_null(v);
	assert_int_equal(v->source, SRC_CLI);
	assert_int_equal(v->local[0].h.state, MG_HEALTH_UNKNOWN);
	assert_int_equal(v->local[1].h.state, MG_HEALTH_UNKNOWN);
	assert_non_null(v->timer); /* probed */
	assert_int_equal(v->local[0].fd, -1);

	/* UDP: nothing to probe, its backends serve as configured. */
	svc_def(&c, "dns", "10.96.0.53", 53, MG_SVC_UDP, be);
	assert_int_equal(svc_start(f.s, &c, SRC_CONFIG), 0);
	v = svc_find(f.s, "dns");
	assert_int_equal(v->local[0].h.state, MG_HEALTH_UP);
	assert_int_equal(v->local[1].h.state, MG_HEALTH_UP);
	assert_null(v->timer);

	/* No backends of ours: nothing to probe. */
	svc_def(&c, "far", "10.96.0.30", 80, MG_SVC_TCP, NULL);
	assert_int_equal(svc_start(f.s, &c, SRC_GOSSIP), 0);
	assert_null(svc_find(f.s, "far")->timer);
	fx_free(&f);
}

static void test_start_refused(void **state)
{
	struct mg_cfg_service c;
	struct fixture f;
	char name[32];
	int i;

	fx_init(&f);
	svc_def(&c, "web", "10.96.0.20", 80, MG_SVC_TCP, NULL);
	c.health_timeout = c.health_interval + 1;
	assert_int_equal(svc_start(f.s, &c, SRC_CLI), -EINVAL);
	assert_null(svc_find(f.s, "web"));
	for (i = 0; i < MG_CFG_MAX_SERVICES; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		svc_def(&c, name, "10.96.0.20", (__u16)(1000 + i), MG_SVC_TCP,
			NULL);
		assert_int_equal(svc_start(f.s, &c, SRC_CLI), 0);
	}
	svc_def(&c, "one-more", "10.96.0.21", 80, MG_SVC_TCP, NULL);
	assert_int_equal(svc_start(f.s, &c, SRC_CLI), -ENOSPC);
	/* One stopped: its slot is free again. */
	svc_stop(svc_find(f.s, "s7"));
	assert_null(svc_find(f.s, "s7"));
	assert_int_equal(svc_start(f.s, &c, SRC_CLI), 0);
	fx_free(&f);
}

static void test_find_vip(void **state)
{
	struct mg_cfg_service c;
	struct fixture f;
	struct mg_addr vip, other;

	fx_init(&f);
	assert_int_equal(mg_addr_parse("10.96.0.20", &vip), 0);
	assert_int_equal(mg_addr_parse("10.96.0.21", &other), 0);
	svc_def(&c, "web", "10.96.0.20", 80, MG_SVC_TCP, NULL);
	assert_int_equal(svc_start(f.s, &c, SRC_CLI), 0);
	svc_def(&c, "web-udp", "10.96.0.20", 80, MG_SVC_UDP, NULL);
	assert_int_equal(svc_start(f.s, &c, SRC_CLI), 0);
	assert_ptr_equal(svc_find_vip(f.s, &vip, 80, IPPROTO_TCP),
			 svc_find(f.s, "web"));
	assert_ptr_equal(svc_find_vip(f.s, &vip, 80, IPPROTO_UDP),
			 svc_find(f.s, "web-udp"));
	assert_null(svc_find_vip(f.s, &vip, 81, IPPROTO_TCP));
	assert_null(svc_find_vip(f.s, &other, 80, IPPROTO_TCP));
	svc_stop(svc_find(f.s, "web"));
	assert_null(svc_find_vip(f.s, &vip, 80, IPPROTO_TCP));
	assert_null(svc_find(f.s, "nope"));
	fx_free(&f);
}

static void test_replace(void **state)
{
	static const char *const be1[] = { "10.1.0.5:80", "10.1.0.6:80", NULL };
	static const char *const be2[] = { "10.1.0.7:80", "10.1.0.6:80", NULL };
	struct mg_cfg_service c;
	struct fixture f;
	struct svc *v;

	fx_init(&f);
	svc_def(&c, "web", "10.96.0.20", 80, MG_SVC_TCP, be1);
	assert_int_equal(svc_start(f.s, &c, SRC_CLI), 0);
	v = svc_find(f.s, "web");
	v->local[1].h.state = MG_HEALTH_UP; /* 10.1.0.6 */
	v->local[1].h.successes = 5;

	/* 10.1.0.6, kept by the new definition, keeps its health. */
	svc_def(&c, "web", "10.96.0.20", 80, MG_SVC_TCP, be2);
	assert_int_equal(svc_replace(f.s, v, &c), 0);
	assert_ptr_equal(svc_find(f.s, "web"), v);
	assert_int_equal(v->source, SRC_CLI);
	assert_int_equal(v->c.n_backends, 2);
	assert_int_equal(v->local[0].h.state, MG_HEALTH_UNKNOWN);
	assert_int_equal(v->local[1].h.state, MG_HEALTH_UP);
	assert_int_equal(v->local[1].h.successes, 5);
	assert_ptr_equal(v->local[1].h.cfg, &v->hc);

	/* A bad one: refused, the old definition still runs. */
	c.health_timeout = c.health_interval + 1;
	c.port = 81;
	assert_int_equal(svc_replace(f.s, v, &c), -EINVAL);
	assert_true(v->used);
	assert_int_equal(v->c.port, 80);
	assert_int_equal(v->c.n_backends, 2);
	assert_non_null(v->timer);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_start_refused),
		cmocka_unit_test(test_find_vip),
		cmocka_unit_test(test_replace),
	};

	return cmocka_run_group_tests_name("services_model", tests, NULL, NULL);
}
