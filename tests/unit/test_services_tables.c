// SPDX-License-Identifier: GPL-2.0-only
/*
 * The services' tables (agent/services/tables.c) without the datapath: the
 * backends one sync gathers for a service from its own configuration and
 * the other clusters' entries in the replicated state, which of them are
 * live (UP, their cluster reachable) and in the table, their slots (one
 * each, kept from sync to sync), and the table's signature (changes with
 * what the table holds).  The maps are -1: only what the agent decides is
 * checked here; tests/datapath and the e2e tests check the maps.  And
 * another gateway's ejection record applied (services/outlier.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "services/svc_int.h"

static const struct mg_services_maps none = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1
};

struct fixture {
	struct mg_config *cfg;
	struct mg_loop *loop;
	struct mg_state *st;
	struct mg_services *s;
	uint64_t version[4]; /* per remote gateway */
};

static void fx_init(struct fixture *f, int affinity, __u16 min_local,
		    const char *const *backends)
{
	struct mg_state_cfg sc = { .name = "gw1",
				   .cluster_id = 1,
				   .version_base = 100 };
	struct mg_cfg_service *c;

	memset(f, 0, sizeof(*f));
	f->cfg = calloc(1, sizeof(*f->cfg));
	assert_non_null(f->cfg);
	mg_config_defaults(f->cfg);
	f->cfg->state_dir[0] = '\0';
	f->cfg->cluster_id = 1;
	snprintf(f->cfg->gw_name, sizeof(f->cfg->gw_name), "gw1");
	c = &f->cfg->services[f->cfg->n_services++];
	mg_cfg_service_defaults(c);
	snprintf(c->name, sizeof(c->name), "web");
	assert_int_equal(mg_addr_parse("10.96.0.20", &c->vip), 0);
	c->port = 80;
	c->affinity = affinity;
	c->min_local = min_local;
	for (; backends && *backends; backends++)
		assert_int_equal(
			mg_cfg_backend_parse(*backends,
					     &c->backends[c->n_backends++]),
			0);
	f->loop = mg_loop_new();
	assert_non_null(f->loop);
	assert_int_equal(mg_state_new(&sc, &f->st), 0);
	assert_int_equal(mg_services_new(f->loop, f->cfg, NULL, NULL, &f->s),
			 0);
}

static void fx_free(struct fixture *f)
{
	mg_services_free(f->s);
	mg_state_free(f->st);
	mg_loop_free(f->loop);
	free(f->cfg);
}

static const char *const gw_names[] = { "gw2", "gw3", "gw4" };
static const __u8 gw_cluster[] = { 2, 2, 1 }; /* gw4: our sibling */

/* Gateway g (0..2) says backend ADDR of web is in health h, weight w. */
static void remote_be(struct fixture *f, int g, const char *addr, __u16 port,
		      enum mg_health_state h, __u16 w)
{
	struct mg_state_batch bt = { .origin = gw_names[g],
				     .cluster_id = gw_cluster[g] };
	struct mg_state_entry e = { 0 };

	e.key.kind = MG_STATE_BACKEND;
	assert_int_equal(mg_addr_parse("10.96.0.20", &e.key.be.vip), 0);
	assert_int_equal(mg_addr_parse(addr, &e.key.be.addr), 0);
	e.key.be.vport = 80;
	e.key.be.port = port;
	e.key.be.proto = IPPROTO_TCP;
	e.val.type = MG_SVC_VT_BACKEND;
	e.val.len = SVC_WIRE_HDR + 3;
	e.val.data[0] = SVC_WIRE_V;
	e.val.data[1] = (__u8)h;
	e.val.data[2] = w >> 8;
	e.val.data[3] = w & 0xff;
	memcpy(e.val.data + SVC_WIRE_HDR, "web", 3);
	bt.from = f->version[g];
	bt.to = e.version = ++f->version[g];
	assert_int_equal(mg_state_apply_delta(f->st, &bt, &e, 1),
			 MG_STATE_APPLY);
}

/* Gateway g's ejection record of backend ADDR of web: until (unix ms). */
static void remote_eject(struct fixture *f, int g, const char *addr, __u16 port,
			 uint64_t until)
{
	struct mg_state_batch bt = { .origin = gw_names[g],
				     .cluster_id = gw_cluster[g] };
	struct mg_state_entry e = { 0 };

	e.key.kind = MG_STATE_EJECT;
	assert_int_equal(mg_addr_parse("10.96.0.20", &e.key.be.vip), 0);
	assert_int_equal(mg_addr_parse(addr, &e.key.be.addr), 0);
	e.key.be.vport = 80;
	e.key.be.port = port;
	e.key.be.proto = IPPROTO_TCP;
	e.val.type = SVC_VT_EJECT;
	e.val.len = SVC_EJECT_LEN;
	e.val.data[0] = SVC_EJECT_V;
	for (int i = 0; i < 8; i++)
		e.val.data[1 + i] = (__u8)(until >> (56 - 8 * i));
	bt.from = f->version[g];
	bt.to = e.version = ++f->version[g];
	assert_int_equal(mg_state_apply_delta(f->st, &bt, &e, 1),
			 MG_STATE_APPLY);
}

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sync_view(struct fixture *f, bool cluster2_alive)
{
	struct mg_view_gw gw[2] = {
		{ .name = "gw2", .cluster_id = 2, .alive = cluster2_alive },
		{ .name = "gw3", .cluster_id = 2, .alive = false },
	};
	struct mg_view v = { .cluster_id = 1, .n_gw = 2, .gw = gw };

	mg_services_sync(f->s, f->st, &v, &none);
}

static struct sbe *be_of(struct fixture *f, const char *addr)
{
	struct svc *v = svc_find(f->s, "web");
	struct mg_addr a;

	assert_int_equal(mg_addr_parse(addr, &a), 0);
	for (int i = 0; i < v->n_be; i++)
		if (mg_addr_equal(&v->be[i].addr, &a))
			return &v->be[i];
	fail_msg("no backend %s gathered", addr);
	return NULL;
}

static void set_local(struct fixture *f, int i, enum mg_health_state h)
{
	svc_find(f->s, "web")->local[i].h.state = h;
}

/* Ours and theirs gathered: live, in the table, their cluster and weight. */
static void test_gather(void **state)
{
	static const char *const be[] = { "10.1.0.5:80 7", "10.1.0.6:80",
					  NULL };
	struct fixture f;
	struct sbe *b;

	fx_init(&f, MG_AFFINITY_ANY, 1, be);
	set_local(&f, 0, MG_HEALTH_UP);
	remote_be(&f, 0, "10.2.0.5", 8080, MG_HEALTH_UP, 0);
	remote_be(&f, 0, "10.2.0.6", 8080, MG_HEALTH_DOWN, 3);
	/* our sibling's backend of the same service: we probe ours ourselves */
	remote_be(&f, 2, "10.1.0.9", 80, MG_HEALTH_UP, 1);
	sync_view(&f, true);
	assert_int_equal(svc_find(f.s, "web")->n_be, 4);

	b = be_of(&f, "10.1.0.5");
	assert_true(b->local && b->live && b->in_use);
	assert_int_equal(b->cluster_id, 1);
	assert_int_equal(b->weight, 7);
	assert_string_equal(b->origin, "gw1");
	b = be_of(&f, "10.1.0.6"); /* not yet risen */
	assert_true(b->local && !b->live && !b->in_use);
	b = be_of(&f, "10.2.0.5");
	assert_true(!b->local && b->live && b->in_use);
	assert_int_equal(b->cluster_id, 2);
	assert_int_equal(b->weight, 1); /* 0 on the wire: 1 */
	assert_int_equal(b->port, 8080);
	assert_string_equal(b->origin, "gw2");
	b = be_of(&f, "10.2.0.6");
	assert_true(!b->live && !b->in_use);
	assert_int_equal(b->state, MG_HEALTH_DOWN);

	/* Cluster 2 unreachable: its backends are not live. */
	sync_view(&f, false);
	assert_false(be_of(&f, "10.2.0.5")->live);
	assert_false(be_of(&f, "10.2.0.5")->in_use);
	assert_true(be_of(&f, "10.1.0.5")->in_use);
	fx_free(&f);
}

/* Two gateways of one cluster on one backend: UP if either says so. */
static void test_gather_two_gateways(void **state)
{
	struct fixture f;

	fx_init(&f, MG_AFFINITY_ANY, 1, NULL);
	remote_be(&f, 0, "10.2.0.5", 8080, MG_HEALTH_UNKNOWN, 1);
	remote_be(&f, 1, "10.2.0.5", 8080, MG_HEALTH_UP, 1);
	sync_view(&f, true);
	assert_int_equal(svc_find(f.s, "web")->n_be, 1);
	assert_int_equal(be_of(&f, "10.2.0.5")->state, MG_HEALTH_UP);
	assert_true(be_of(&f, "10.2.0.5")->live);
	fx_free(&f);
}

/* affinity local, min_local 2: the remote ones join below two live local. */
static void test_gather_affinity(void **state)
{
	static const char *const be[] = { "10.1.0.5:80", "10.1.0.6:80", NULL };
	struct fixture f;

	fx_init(&f, MG_AFFINITY_LOCAL, 2, be);
	set_local(&f, 0, MG_HEALTH_UP);
	set_local(&f, 1, MG_HEALTH_UP);
	remote_be(&f, 0, "10.2.0.5", 8080, MG_HEALTH_UP, 1);
	sync_view(&f, true);
	assert_true(be_of(&f, "10.1.0.5")->in_use);
	assert_true(be_of(&f, "10.1.0.6")->in_use);
	assert_false(be_of(&f, "10.2.0.5")->in_use);
	assert_true(be_of(&f, "10.2.0.5")->live);
	set_local(&f, 1, MG_HEALTH_DOWN);
	sync_view(&f, true);
	assert_true(be_of(&f, "10.1.0.5")->in_use);
	assert_false(be_of(&f, "10.1.0.6")->in_use);
	assert_true(be_of(&f, "10.2.0.5")->in_use);
	fx_free(&f);
}

/*
 * Slots: one per backend, distinct, kept from sync to sync; a backend that
 * goes down keeps its slot, no longer live; the signature follows what the
 * table holds.
 */
static void test_slots_and_sig(void **state)
{
	static const char *const be[] = { "10.1.0.5:80", "10.1.0.6:80", NULL };
	struct fixture f;
	__u32 s5, s6, s7;
	__u64 sig1, sig2;

	fx_init(&f, MG_AFFINITY_ANY, 1, be);
	set_local(&f, 0, MG_HEALTH_UP);
	set_local(&f, 1, MG_HEALTH_UP);
	sync_view(&f, true);
	s5 = be_of(&f, "10.1.0.5")->slot;
	s6 = be_of(&f, "10.1.0.6")->slot;
	assert_int_not_equal(s5, s6);
	assert_true(s5 < MG_LB_MAX_BACKENDS && s6 < MG_LB_MAX_BACKENDS);
	assert_true(f.s->slots[s5].used && f.s->slots[s5].live);
	sig1 = svc_table_sig(svc_find(f.s, "web"));

	sync_view(&f, true);
	assert_int_equal(be_of(&f, "10.1.0.5")->slot, s5);
	assert_int_equal(be_of(&f, "10.1.0.6")->slot, s6);
	assert_true(svc_table_sig(svc_find(f.s, "web")) == sig1);

	/* One goes down: out of the table, the signature changes, its slot
	 * kept but no longer live. */
	set_local(&f, 1, MG_HEALTH_DOWN);
	sync_view(&f, true);
	sig2 = svc_table_sig(svc_find(f.s, "web"));
	assert_true(sig2 != sig1);
	assert_int_equal(be_of(&f, "10.1.0.6")->slot, s6);
	assert_false(f.s->slots[s6].live);

	/* A remote one joins: a slot of its own. */
	remote_be(&f, 0, "10.2.0.7", 80, MG_HEALTH_UP, 1);
	sync_view(&f, true);
	s7 = be_of(&f, "10.2.0.7")->slot;
	assert_int_not_equal(s7, s5);
	assert_int_not_equal(s7, s6);
	assert_true(f.s->slots[s7].live);
	assert_int_equal(f.s->slots[s7].cluster_id, 2);
	fx_free(&f);
}

/*
 * Another gateway's ejection of a backend (services/outlier.c): ejected,
 * not live, out of the table while the record's time runs; an ended
 * record ejects nothing.
 */
static void test_gossiped_ejection(void **state)
{
	static const char *const be[] = { "10.1.0.5:80", "10.1.0.6:80", NULL };
	struct fixture f;
	struct sbe *b;

	fx_init(&f, MG_AFFINITY_ANY, 1, be);
	set_local(&f, 0, MG_HEALTH_UP);
	set_local(&f, 1, MG_HEALTH_UP);
	remote_eject(&f, 0, "10.1.0.5", 80, unix_ms() + 3600 * 1000);
	remote_eject(&f, 1, "10.1.0.6", 80, 1000);
	sync_view(&f, true);
	b = be_of(&f, "10.1.0.5");
	assert_true(b->ejected);
	assert_true(b->eject_until > unix_ms());
	assert_false(b->live);
	assert_false(b->in_use);
	b = be_of(&f, "10.1.0.6");
	assert_false(b->ejected);
	assert_true(b->live && b->in_use);
	fx_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gather),
		cmocka_unit_test(test_gather_two_gateways),
		cmocka_unit_test(test_gather_affinity),
		cmocka_unit_test(test_slots_and_sig),
		cmocka_unit_test(test_gossiped_ejection),
	};

	return cmocka_run_group_tests_name("services_tables", tests, NULL,
					   NULL);
}
