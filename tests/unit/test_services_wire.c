// SPDX-License-Identifier: GPL-2.0-only
/*
 * Services on the wire (agent/services/wire.c, outlier.c's record): the
 * bytes of our backends' values in the replicated state, our stale ones
 * deleted, and what a remote gateway's entries teach: a row per entry, the
 * malformed ones ignored, a learned service stopped once no longer
 * advertised; the ejection record's decoding.  Uses the services' private
 * header (services/svc_int.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "services/svc_int.h"

/* A service of the configuration: "NAME VIP PORT" and its backends. */
static void cfg_svc(struct mg_config *cfg, const char *name, const char *vip,
		    __u16 port, int affinity, __u16 min_local,
		    const char *const *backends)
{
	struct mg_cfg_service *c = &cfg->services[cfg->n_services++];

	mg_cfg_service_defaults(c);
	snprintf(c->name, sizeof(c->name), "%s", name);
	assert_int_equal(mg_addr_parse(vip, &c->vip), 0);
	c->port = port;
	c->affinity = affinity;
	c->min_local = min_local;
	for (; backends && *backends; backends++)
		assert_int_equal(
			mg_cfg_backend_parse(*backends,
					     &c->backends[c->n_backends++]),
			0);
}

struct fixture {
	struct mg_config *cfg;
	struct mg_loop *loop;
	struct mg_state *st;
	struct mg_services *s;
};

static void fx_init(struct fixture *f, __u8 cluster_id)
{
	struct mg_state_cfg sc = { .name = "gw1",
				   .cluster_id = cluster_id,
				   .version_base = 100 };

	f->cfg = calloc(1, sizeof(*f->cfg));
	assert_non_null(f->cfg);
	mg_config_defaults(f->cfg);
	f->cfg->state_dir[0] = '\0';
	f->cfg->cluster_id = cluster_id;
	f->loop = mg_loop_new();
	assert_non_null(f->loop);
	assert_int_equal(mg_state_new(&sc, &f->st), 0);
}

static void fx_start(struct fixture *f)
{
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

/* Our own (origin 0) live entries of a kind. */
static int own_entries(struct mg_state *st, int kind, struct mg_state_entry *e,
		       int max)
{
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_state_entry x;
	int n = 0;

	while (mg_state_iter_next(st, &it, &x))
		if (x.origin == 0 && x.key.kind == kind) {
			if (n < max)
				e[n] = x;
			n++;
		}
	return n;
}

static void test_publish_bytes(void **state)
{
	static const char *const be[] = { "10.1.0.5:80 300", NULL };
	struct fixture f;
	struct mg_state_entry e[4];
	char a[MG_ADDRSTRLEN];

	fx_init(&f, 1);
	cfg_svc(f.cfg, "web", "10.96.0.20", 80, MG_AFFINITY_LOCAL, 258, be);
	fx_start(&f);
	svc_find(f.s, "web")->local[0].h.state = MG_HEALTH_UP;
	svc_publish(f.s, f.st);
	assert_int_equal(own_entries(f.st, MG_STATE_BACKEND, e, 4), 1);
	assert_string_equal(mg_addr_str(&e[0].key.be.vip, a, sizeof(a)),
			    "10.96.0.20");
	assert_string_equal(mg_addr_str(&e[0].key.be.addr, a, sizeof(a)),
			    "10.1.0.5");
	assert_int_equal(e[0].key.be.vport, 80);
	assert_int_equal(e[0].key.be.port, 80);
	assert_int_equal(e[0].key.be.proto, IPPROTO_TCP);
	assert_int_equal(e[0].val.type, MG_SVC_VT_BACKEND);
	/* version, health, weight (BE), affinity, min_local (BE), the name */
	assert_int_equal(e[0].val.len, SVC_WIRE_HDR + 3);
	assert_int_equal(e[0].val.data[0], SVC_WIRE_V);
	assert_int_equal(e[0].val.data[1], MG_HEALTH_UP);
	assert_int_equal(e[0].val.data[2] << 8 | e[0].val.data[3], 300);
	assert_int_equal(e[0].val.data[4], MG_AFFINITY_LOCAL);
	assert_int_equal(e[0].val.data[5] << 8 | e[0].val.data[6], 258);
	assert_memory_equal(e[0].val.data + SVC_WIRE_HDR, "web", 3);

	/* The health changes: the value follows at the next publish. */
	svc_find(f.s, "web")->local[0].h.state = MG_HEALTH_DOWN;
	svc_publish(f.s, f.st);
	assert_int_equal(own_entries(f.st, MG_STATE_BACKEND, e, 4), 1);
	assert_int_equal(e[0].val.data[1], MG_HEALTH_DOWN);

	/* The service gone: its backend is deleted from the store. */
	svc_stop(svc_find(f.s, "web"));
	svc_publish(f.s, f.st);
	assert_int_equal(own_entries(f.st, MG_STATE_BACKEND, e, 4), 0);
	fx_free(&f);
}

/* A long name is cut to what a value holds. */
static void test_publish_long_name(void **state)
{
	static const char *const be[] = { "10.1.0.5:80", NULL };
	char name[MG_CFG_NAME_MAX];
	struct fixture f;
	struct mg_state_entry e[2];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	fx_init(&f, 1);
	cfg_svc(f.cfg, name, "10.96.0.20", 80, MG_AFFINITY_ANY, 1, be);
	fx_start(&f);
	svc_publish(f.s, f.st);
	assert_int_equal(own_entries(f.st, MG_STATE_BACKEND, e, 2), 1);
	assert_true(e[0].val.len <= MG_STATE_VAL_MAX);
	assert_int_equal(e[0].val.len,
			 SVC_WIRE_HDR + (strlen(name) < SVC_NAME_WIRE ?
						 strlen(name) :
						 SVC_NAME_WIRE));
	fx_free(&f);
}

/*
 * One remote entry (from gw2, cluster 2) per row: what gw1 learns from it.
 * want: the learned service's name, or NULL when nothing is learned.
 */
struct learn_case {
	const char *what;
	const char *vip, *addr;
	__u8 proto;
	__u8 type, len; /* len 0: the header and the name */
	const char *name;
	__u8 affinity;
	__u16 min_local;
	const char *want;
	int want_affinity;
};

static const struct learn_case learn_cases[] = {
	{ "valid", "10.96.0.40", "10.2.0.5", IPPROTO_TCP, MG_SVC_VT_BACKEND, 0,
	  "api", MG_AFFINITY_REMOTE, 3, "api", MG_AFFINITY_REMOTE },
	{ "udp, ipv6", "fd00::40", "fd02::5", IPPROTO_UDP, MG_SVC_VT_BACKEND, 0,
	  "dns", MG_AFFINITY_ANY, 1, "dns", MG_AFFINITY_ANY },
	{ "affinity out of range: any", "10.96.0.41", "10.2.0.5", IPPROTO_TCP,
	  MG_SVC_VT_BACKEND, 0, "odd", 9, 1, "odd", MG_AFFINITY_ANY },
	{ "no name: one made of the VIP and port", "10.96.0.42", "10.2.0.5",
	  IPPROTO_TCP, MG_SVC_VT_BACKEND, 0, "", MG_AFFINITY_ANY, 1,
	  "svc-0a60002a-80", MG_AFFINITY_ANY },
	{ "another value type", "10.96.0.43", "10.2.0.5", IPPROTO_TCP, 99, 0,
	  "x", 0, 1, NULL, 0 },
	{ "shorter than the header", "10.96.0.44", "10.2.0.5", IPPROTO_TCP,
	  MG_SVC_VT_BACKEND, SVC_WIRE_HDR - 1, "x", 0, 1, NULL, 0 },
	{ "families differ", "10.96.0.45", "fd02::5", IPPROTO_TCP,
	  MG_SVC_VT_BACKEND, 0, "x", 0, 1, NULL, 0 },
	{ "neither TCP nor UDP", "10.96.0.46", "10.2.0.5", IPPROTO_ICMP,
	  MG_SVC_VT_BACKEND, 0, "x", 0, 1, NULL, 0 },
};

static void remote_entry(struct mg_state_entry *e, const struct learn_case *t,
			 uint64_t version)
{
	size_t n = strlen(t->name);

	memset(e, 0, sizeof(*e));
	e->key.kind = MG_STATE_BACKEND;
	assert_int_equal(mg_addr_parse(t->vip, &e->key.be.vip), 0);
	assert_int_equal(mg_addr_parse(t->addr, &e->key.be.addr), 0);
	e->key.be.vport = 80;
	e->key.be.port = 8080;
	e->key.be.proto = t->proto;
	e->val.type = t->type;
	e->val.data[0] = SVC_WIRE_V;
	e->val.data[1] = MG_HEALTH_UP;
	e->val.data[3] = 1;
	e->val.data[4] = t->affinity;
	e->val.data[5] = t->min_local >> 8;
	e->val.data[6] = t->min_local & 0xff;
	memcpy(e->val.data + SVC_WIRE_HDR, t->name, n);
	e->val.len = t->len ? t->len : (__u8)(SVC_WIRE_HDR + n);
	e->version = version;
}

static void gw2_says(struct mg_state *st, const struct mg_state_entry *e,
		     size_t n, uint64_t to)
{
	struct mg_state_batch bt = {
		.origin = "gw2", .cluster_id = 2, .reset = true, .to = to
	};

	assert_int_equal(mg_state_apply_delta(st, &bt, e, n), MG_STATE_APPLY);
}

static int used_services(const struct mg_services *s)
{
	int n = 0;

	for (int i = 0; i < MG_CFG_MAX_SERVICES; i++)
		n += s->svc[i].used;
	return n;
}

static void test_learn_rows(void **state)
{
	for (size_t k = 0; k < sizeof(learn_cases) / sizeof(learn_cases[0]);
	     k++) {
		const struct learn_case *t = &learn_cases[k];
		struct mg_state_entry e;
		struct fixture f;
		struct svc *v;

		print_message("row: %s\n", t->what);
		fx_init(&f, 1);
		fx_start(&f);
		remote_entry(&e, t, 1);
		gw2_says(f.st, &e, 1, 1);
		svc_learn(f.s, f.st);
		if (!t->want) {
			assert_int_equal(used_services(f.s), 0);
			fx_free(&f);
			continue;
		}
		assert_int_equal(used_services(f.s), 1);
		v = svc_find(f.s, t->want);
		if (!v)
			fail_msg("no service %s learned", t->want);
		assert_int_equal(v->source, SRC_GOSSIP);
		assert_true(mg_addr_equal(&v->c.vip, &e.key.be.vip));
		assert_int_equal(v->c.port, 80);
		assert_int_equal(svc_ipproto(&v->c), t->proto);
		assert_int_equal(v->c.affinity, t->want_affinity);
		assert_int_equal(v->c.min_local, t->min_local);
		assert_int_equal(v->c.n_backends, 0);
		fx_free(&f);
	}
}

/*
 * Learned, then no longer advertised: stopped.  A name already taken by
 * our own service: the learned one gets the VIP's name instead.
 */
static void test_learn_gone_and_name_taken(void **state)
{
	static const char *const be[] = { "10.1.0.5:80", NULL };
	const struct learn_case api = { "api",
					"10.96.0.40",
					"10.2.0.5",
					IPPROTO_TCP,
					MG_SVC_VT_BACKEND,
					0,
					"web",
					MG_AFFINITY_ANY,
					1,
					NULL,
					0 };
	struct mg_state_entry e;
	struct fixture f;
	struct svc *v;

	fx_init(&f, 1);
	cfg_svc(f.cfg, "web", "10.96.0.20", 80, MG_AFFINITY_ANY, 1, be);
	fx_start(&f);
	remote_entry(&e, &api, 1);
	gw2_says(f.st, &e, 1, 1);
	svc_learn(f.s, f.st);
	assert_int_equal(used_services(f.s), 2);
	v = svc_find(f.s, "svc-0a600028-80");
	assert_non_null(v);
	assert_int_equal(v->source, SRC_GOSSIP);
	assert_int_equal(svc_find(f.s, "web")->source, SRC_CONFIG);

	/* gw2 no longer has it: the learned one stops, ours stays. */
	e.deleted = true;
	memset(&e.val, 0, sizeof(e.val));
	e.version = 2;
	assert_int_equal(
		mg_state_apply_delta(f.st,
				     &(struct mg_state_batch){ .origin = "gw2",
							       .cluster_id = 2,
							       .from = 1,
							       .to = 2 },
				     &e, 1),
		MG_STATE_APPLY);
	svc_learn(f.s, f.st);
	assert_int_equal(used_services(f.s), 1);
	assert_null(svc_find(f.s, "svc-0a600028-80"));
	assert_non_null(svc_find(f.s, "web"));
	fx_free(&f);
}

/* Our own backends (origin 0) never teach us a service. */
static void test_learn_not_from_ourselves(void **state)
{
	static const char *const be[] = { "10.1.0.5:80", NULL };
	struct fixture f;

	fx_init(&f, 1);
	cfg_svc(f.cfg, "web", "10.96.0.20", 80, MG_AFFINITY_ANY, 1, be);
	fx_start(&f);
	svc_publish(f.s, f.st);
	svc_stop(svc_find(f.s, "web"));
	svc_learn(f.s, f.st);
	assert_int_equal(used_services(f.s), 0);
	fx_free(&f);
}

/* The ejection record: version 1 then until (u64, ms) big endian. */
static void test_eject_until(void **state)
{
	struct mg_state_val v = { .type = SVC_VT_EJECT, .len = SVC_EJECT_LEN };

	v.data[0] = SVC_EJECT_V;
	for (int i = 1; i < SVC_EJECT_LEN; i++)
		v.data[i] = (__u8)i;
	assert_true(svc_eject_until(&v) == 0x0102030405060708ULL);
	v.len = SVC_EJECT_LEN - 1;
	assert_true(svc_eject_until(&v) == 0);
	v.len = SVC_EJECT_LEN;
	v.data[0] = SVC_EJECT_V + 1;
	assert_true(svc_eject_until(&v) == 0);
	v.data[0] = SVC_EJECT_V;
	v.type = MG_SVC_VT_BACKEND;
	assert_true(svc_eject_until(&v) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_bytes),
		cmocka_unit_test(test_publish_long_name),
		cmocka_unit_test(test_learn_rows),
		cmocka_unit_test(test_learn_gone_and_name_taken),
		cmocka_unit_test(test_learn_not_from_ourselves),
		cmocka_unit_test(test_eject_until),
	};

	return cmocka_run_group_tests_name("services_wire", tests, NULL, NULL);
}
