// SPDX-License-Identifier: GPL-2.0-only
/*
 * Global services, the agent's pure parts: which live backends a table
 * holds for each affinity (mg_services_choose) and the words of `meshgate
 * services add` and state_dir/services (mg_services_parse_args); and the
 * CLI's add, set and del against a real state_dir: applied only once saved, and
 * an add of a service learned from gossip.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "cli.h"
#include "config.h"
#include "state/state.h"
#include "lib/loop.h"
#include "lib/out.h"
#include "services.h"

/*
 * One row: the backends as "Ll rR" letters (L local, R remote; upper case
 * live, lower case not), the affinity and min_local, and which are in the
 * table as a string of 0/1.
 */
struct choose_case {
	const char *backends;
	int affinity;
	unsigned int min_local;
	const char *want;
};

static const struct choose_case choose_cases[] = {
	{ "LLRR", MG_AFFINITY_ANY, 1, "1111" },
	{ "LlRr", MG_AFFINITY_ANY, 1, "1010" },
	{ "lr", MG_AFFINITY_ANY, 1, "00" },
	/* local: the local ones while enough are live */
	{ "LLRR", MG_AFFINITY_LOCAL, 1, "1100" },
	{ "LLRR", MG_AFFINITY_LOCAL, 2, "1100" },
	/* ... the remote ones join below min_local */
	{ "LlRR", MG_AFFINITY_LOCAL, 2, "1011" },
	{ "llRr", MG_AFFINITY_LOCAL, 1, "0010" },
	/* min_local 0: remote ones only when no local one is live */
	{ "LR", MG_AFFINITY_LOCAL, 0, "10" },
	{ "lR", MG_AFFINITY_LOCAL, 0, "01" },
	/* remote: the remote ones, the local ones only when none is live */
	{ "LLRR", MG_AFFINITY_REMOTE, 1, "0011" },
	{ "LLrr", MG_AFFINITY_REMOTE, 1, "1100" },
	{ "", MG_AFFINITY_LOCAL, 1, "" },
};

static void test_choose(void **state)
{
	for (size_t k = 0; k < sizeof(choose_cases) / sizeof(choose_cases[0]);
	     k++) {
		const struct choose_case *t = &choose_cases[k];
		struct mg_svc_choice c[8];
		char got[9] = { 0 };
		int n = (int)strlen(t->backends);

		for (int i = 0; i < n; i++) {
			c[i].local = t->backends[i] == 'L' ||
				     t->backends[i] == 'l';
			c[i].live = t->backends[i] == 'L' ||
				    t->backends[i] == 'R';
			c[i].in_use = true;	/* must be overwritten */
		}
		mg_services_choose(t->affinity, t->min_local, c, n);
		for (int i = 0; i < n; i++)
			got[i] = c[i].in_use ? '1' : '0';
		if (strcmp(got, t->want))
			fail_msg("%s affinity %d min_local %u: got %s want %s",
				 t->backends, t->affinity, t->min_local, got,
				 t->want);
	}
}

static int parse(const char *line, struct mg_cfg_service *c, char *err)
{
	char buf[512], *argv[64], *save = NULL, *tok;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok && argc < 64;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	return mg_services_parse_args(c, argc, argv, err, 160);
}

static void test_parse_good(void **state)
{
	struct mg_cfg_service c;
	char err[160];

	assert_int_equal(parse("vip 10.96.0.10 port 53 proto udp affinity local "
			       "min_local 3 backend 10.1.0.20:5353 "
			       "backend 10.1.0.21:5354:7", &c, err), 0);
	assert_int_equal(c.vip.family, MG_AF_INET);
	assert_int_equal(c.port, 53);
	assert_int_equal(c.proto, MG_SVC_UDP);
	assert_int_equal(c.affinity, MG_AFFINITY_LOCAL);
	assert_int_equal(c.min_local, 3);
	assert_int_equal(c.n_backends, 2);
	assert_int_equal(c.backends[0].port, 5353);
	assert_int_equal(c.backends[0].weight, 100);
	assert_int_equal(c.backends[1].port, 5354);
	assert_int_equal(c.backends[1].weight, 7);

	/* IPv6: [ADDR]:PORT[:WEIGHT] backends. */
	assert_int_equal(parse("vip fd00:96::10 port 80 "
			       "backend [fd00:1::20]:8080 "
			       "backend [fd00:1::21]:8081:9", &c, err), 0);
	assert_int_equal(c.vip.family, MG_AF_INET6);
	assert_int_equal(c.n_backends, 2);
	assert_int_equal(c.backends[0].addr.family, MG_AF_INET6);
	assert_int_equal(c.backends[0].addr.addr[3], htonl(0x20));
	assert_int_equal(c.backends[0].port, 8080);
	assert_int_equal(c.backends[0].weight, 100);
	assert_int_equal(c.backends[1].addr.addr[3], htonl(0x21));
	assert_int_equal(c.backends[1].port, 8081);
	assert_int_equal(c.backends[1].weight, 9);

	/* The defaults. */
	assert_int_equal(parse("port 80 vip 10.96.0.11", &c, err), 0);
	assert_int_equal(c.proto, MG_SVC_TCP);
	assert_int_equal(c.affinity, MG_AFFINITY_ANY);
	assert_int_equal(c.min_local, 1);
	assert_int_equal(c.n_backends, 0);
	assert_int_equal(c.health_interval, 1000);
}

static void test_parse_bad(void **state)
{
	static const struct {
		const char *line, *msg;
	} bad[] = {
		{ "vip 10.96.0.10", "vip ADDR and port N are required" },
		{ "port 80", "vip ADDR and port N are required" },
		{ "vip fd00::1: port 80", "vip: \"fd00::1:\" is not valid" },
		{ "vip fd00::1 port 80 backend 10.1.0.1:80",
		  "backend 10.1.0.1 is IPv4 but the VIP is IPv6: one family per service" },
		{ "vip 10.96.0.10 port 80 backend [fd00::1]:80",
		  "backend fd00::1 is IPv6 but the VIP is IPv4: one family per service" },
		{ "vip fd00::1 port 80 backend fd00::2:80", "backend: \"fd00::2:80\" is not valid" },
		{ "vip fd00::1 port 80 backend [fd00::2]:80:0", "backend: \"[fd00::2]:80:0\" is not valid" },
		{ "vip fd00::1 port 80 backend [fd00::2]", "backend: \"[fd00::2]\" is not valid" },
		{ "vip 10.96.0.10 port 0", "port: \"0\" is not valid" },
		{ "vip 10.96.0.10 port 80 proto sctp", "proto: \"sctp\" is not valid" },
		{ "vip 10.96.0.10 port 80 affinity near", "affinity: \"near\" is not valid" },
		{ "vip 10.96.0.10 port 80 backend 10.1.0.1", "backend: \"10.1.0.1\" is not valid" },
		{ "vip 10.96.0.10 port 80 backend 10.1.0.1:80:0", "backend: \"10.1.0.1:80:0\" is not valid" },
		{ "vip 10.96.0.10 port 80 weight 3", "unknown word \"weight\"" },
		{ "vip 10.96.0.10 port", "\"port\" needs a value" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mg_cfg_service c;
		char err[160] = "";

		if (parse(bad[i].line, &c, err) != -EINVAL ||
		    strcmp(err, bad[i].msg))
			fail_msg("\"%s\": got \"%s\", want \"%s\"", bad[i].line,
				 err, bad[i].msg);
	}
}

/* --- the CLI against a state_dir ------------------------------------------ */

static char sdbase[] = "/tmp/mg-services.XXXXXX";

/*
 * state_dir broken as it really breaks as root (permission bits do not
 * stop root): a regular file where the directory is.
 */
static void state_dir_break(const char *dir, bool broken)
{
	char good[300];
	FILE *f;

	snprintf(good, sizeof(good), "%s.good", dir);
	if (broken) {
		assert_int_equal(rename(dir, good), 0);
		f = fopen(dir, "w");
		assert_non_null(f);
		fclose(f);
	} else {
		assert_int_equal(unlink(dir), 0);
		assert_int_equal(rename(good, dir), 0);
	}
}

/* Run `services WORDS...` (split at spaces); its exit code, stderr in err. */
static int svc_cmd(struct mg_services *s, const char *line, char *err,
		   size_t errlen)
{
	char buf[512], *argv[32], *save = NULL, *tok;
	struct mg_cli cli = { .priv = s };
	FILE *out = fopen("/dev/null", "w");
	int argc = 0, rc;

	snprintf(buf, sizeof(buf), "services %s", line);
	for (tok = strtok_r(buf, " ", &save); tok && argc < 31;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	cli.err = fmemopen(err, errlen, "w");
	out_init(out, false);
	memset(err, 0, errlen);
	rc = mg_services_cmd(&cli, argc, argv);
	fclose(cli.err);
	fclose(out);
	return rc;
}

struct cli_step {
	const char *cmd;	/* NULL: restart (a new mg_services) */
	bool broken;		/* state_dir is not writable */
	int rc;
	const char *says;	/* in stderr */
	int n_vips;		/* services after */
	const char *vip;	/* the (first) VIP served after, or NULL */
	const char *saved;	/* in state_dir/services after, or NULL */
};

static const struct cli_step cli_steps[] = {
	{ "add web vip 10.96.0.20 port 80 backend 10.1.0.5:80", true, 1,
	  "services add: not added: saving ", 0, NULL, NULL },
	{ NULL, false, 0, NULL, 0, NULL, NULL },
	{ "add web vip 10.96.0.20 port 80 backend 10.1.0.5:80", false, 0,
	  "", 1, "10.96.0.20", "backend 10.1.0.5:80:100\n" },
	/* set: changed in place, saved first, the words over the old ones */
	{ "set web backend 10.1.0.5:80:7", false, 0, "", 1, "10.96.0.20",
	  "web vip 10.96.0.20 port 80 " },
	{ "set web vip 10.96.0.30", true, 1,
	  "services set: not changed: saving ", 1, "10.96.0.20",
	  "backend 10.1.0.5:80:7\n" },
	{ "set web vip 10.96.0.30 affinity local", false, 0, "", 1,
	  "10.96.0.30", "web vip 10.96.0.30 port 80 proto tcp affinity local" },
	{ NULL, false, 0, NULL, 1, "10.96.0.30", "backend 10.1.0.5:80:7\n" },
	{ "set web backend 10.1.0.6:80 backend 10.1.0.7:80:2", false, 0, "",
	  1, "10.96.0.30",
	  "local min_local 1 backend 10.1.0.6:80:100 backend 10.1.0.7:80:2\n" },
	{ "set nope port 81", false, 1, "nope is not a service added", 1,
	  NULL, NULL },
	{ "set web port x", false, 2, "port: \"x\" is not valid", 1,
	  "10.96.0.30", "backend 10.1.0.6:80:100 " },
	{ "add web2 vip 10.96.0.21 port 80", true, 1, "Not a directory", 1,
	  NULL, NULL },
	{ "del web", true, 1, "services del: not deleted: saving ", 1, NULL,
	  NULL },
	{ NULL, false, 0, NULL, 1, NULL, NULL },
	{ "del web", false, 0, "", 0, NULL, NULL },
	{ NULL, false, 0, NULL, 0, NULL, NULL },
};

static void test_cli_saves_before_applying(void **state)
{
	struct mg_config *cfg = calloc(1, sizeof(*cfg));
	struct mg_loop *loop = mg_loop_new();
	struct mg_services *s = NULL;
	struct mg_addr vips[4];
	char err[PATH_MAX + 32], path[PATH_MAX + 16];
	struct stat sb;

	assert_non_null(mkdtemp(sdbase));
	mg_config_defaults(cfg);
	cfg->cluster_id = 1;
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s/state", sdbase);
	assert_int_equal(mkdir(cfg->state_dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/services", cfg->state_dir);
	assert_int_equal(mg_services_new(loop, cfg, NULL, NULL, &s), 0);
	for (size_t i = 0; i < sizeof(cli_steps) / sizeof(cli_steps[0]); i++) {
		const struct cli_step *t = &cli_steps[i];

		print_message("step: %s%s\n", t->cmd ? t->cmd : "restart",
			      t->broken ? " (state_dir broken)" : "");
		if (!t->cmd) {
			mg_services_free(s);
			assert_int_equal(mg_services_new(loop, cfg, NULL, NULL,
							 &s), 0);
		} else {
			if (t->broken)
				state_dir_break(cfg->state_dir, true);
			assert_int_equal(svc_cmd(s, t->cmd, err, sizeof(err)),
					 t->rc);
			if (t->broken)
				state_dir_break(cfg->state_dir, false);
			if (!strstr(err, t->says))
				fail_msg("stderr \"%s\" lacks \"%s\"", err,
					 t->says);
		}
		assert_int_equal(mg_services_vips(s, vips, 4), t->n_vips);
		if (t->vip) {
			char a[MG_ADDRSTRLEN];

			assert_string_equal(mg_addr_str(&vips[0], a,
							sizeof(a)), t->vip);
		}
		if (t->saved) {
			char text[1024] = "";
			FILE *f = fopen(path, "r");

			assert_non_null(f);
			text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
			fclose(f);
			if (!strstr(text, t->saved))
				fail_msg("%s: \"%s\" lacks \"%s\"", path,
					 text, t->saved);
		}
		/* Saved: 0600, and no temporary beside it. */
		if (!stat(path, &sb))
			assert_int_equal(sb.st_mode & 07777, 0600);
		snprintf(err, sizeof(err), "%s.tmp", path);
		assert_int_not_equal(access(err, F_OK), 0);
	}
	mg_services_free(s);
	mg_loop_free(loop);
	free(cfg);
	snprintf(err, sizeof(err), "rm -rf '%s'", sdbase);
	assert_int_equal(system(err), 0);
}

/*
 * `services add` of a service this gateway learned from another cluster:
 * this cluster's backends join it (it is published as ours), whichever of
 * the add and the learning came first.  A different service by that name
 * or VIP is still refused.
 */
static void test_cli_add_learned(void **state)
{
	struct mg_state_cfg c1 = { .name = "gw1", .cluster_id = 1,
				   .version_base = 100 };
	struct mg_state_cfg c2 = { .name = "gw2", .cluster_id = 2,
				   .version_base = 100 };
	struct mg_services_maps none = { -1, -1, -1, -1, -1, -1, -1, -1, -1 };
	struct mg_config *cfg1 = calloc(1, sizeof(*cfg1));
	struct mg_config *cfg2 = calloc(1, sizeof(*cfg2));
	struct mg_loop *loop = mg_loop_new();
	struct mg_state *st1, *st2;
	struct mg_services *s1, *s2;
	struct mg_state_entry e[8];
	struct mg_state_batch bt = { .origin = "gw2", .cluster_id = 2,
				     .reset = true };
	struct mg_state_cursor cur;
	struct mg_state_iter it = MG_STATE_ITER_INIT;
	struct mg_addr vips[4];
	char err[256];
	size_t n = 0;
	int ours = 0;

	mg_config_defaults(cfg1);
	mg_config_defaults(cfg2);
	cfg1->state_dir[0] = cfg2->state_dir[0] = '\0';
	cfg1->cluster_id = 1;
	cfg2->cluster_id = 2;
	assert_int_equal(mg_state_new(&c1, &st1), 0);
	assert_int_equal(mg_state_new(&c2, &st2), 0);
	assert_int_equal(mg_services_new(loop, cfg1, NULL, NULL, &s1), 0);
	assert_int_equal(mg_services_new(loop, cfg2, NULL, NULL, &s2), 0);

	/* gw2 adds extra and publishes it; gw1 learns it. */
	assert_int_equal(svc_cmd(s2, "add extra vip 10.96.0.30 port 80 backend 10.2.0.5:80",
				 err, sizeof(err)), 0);
	mg_services_sync(s2, st2, NULL, &none);
	mg_state_since(st2, 0, 0, &cur);
	while (n < 8 && mg_state_cursor_next(st2, &cur, &e[n]))
		n++;
	assert_int_equal(n, 1);
	bt.to = e[n - 1].version;
	assert_int_equal(mg_state_apply_delta(st1, &bt, e, n), MG_STATE_APPLY);
	mg_services_sync(s1, st1, NULL, &none);
	assert_int_equal(mg_services_vips(s1, vips, 4), 1);

	/* Another service by its name, or by its VIP, is still refused. */
	assert_int_equal(svc_cmd(s1, "add extra vip 10.96.0.31 port 80",
				 err, sizeof(err)), 1);
	assert_non_null(strstr(err, "extra is learned from another cluster with another VIP:port/proto"));
	/* The same one: it takes this cluster's backends. */
	assert_int_equal(svc_cmd(s1, "add extra vip 10.96.0.30 port 80 backend 10.1.0.5:80",
				 err, sizeof(err)), 0);
	assert_int_equal(mg_services_vips(s1, vips, 4), 1);
	mg_services_sync(s1, st1, NULL, &none);
	while (mg_state_iter_next(st1, &it, &e[0]))
		if (e[0].origin == 0 && e[0].key.kind == MG_STATE_BACKEND &&
		    e[0].key.be.addr.addr[0] == inet_addr("10.1.0.5"))
			ours++;
	assert_int_equal(ours, 1);
	assert_int_equal(svc_cmd(s1, "add extra vip 10.96.0.31 port 80",
				 err, sizeof(err)), 1);
	assert_non_null(strstr(err, "extra exists (del it first)"));
	assert_int_equal(svc_cmd(s1, "add other vip 10.96.0.30 port 80",
				 err, sizeof(err)), 1);
	assert_non_null(strstr(err, "that VIP:port/proto has a service (extra)"));
	/* Deleted here, it is learned again from the other cluster. */
	assert_int_equal(svc_cmd(s1, "del extra", err, sizeof(err)), 0);
	mg_services_sync(s1, st1, NULL, &none);
	assert_int_equal(mg_services_vips(s1, vips, 4), 1);

	mg_services_free(s1);
	mg_services_free(s2);
	mg_state_free(st1);
	mg_state_free(st2);
	mg_loop_free(loop);
	free(cfg1);
	free(cfg2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_cli_saves_before_applying),
		cmocka_unit_test(test_cli_add_learned),
	};

	return cmocka_run_group_tests_name("services", tests, NULL, NULL);
}
