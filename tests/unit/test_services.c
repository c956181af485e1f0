// SPDX-License-Identifier: GPL-2.0-only
/*
 * Global services, the agent's pure parts: which live backends a table
 * holds for each affinity (mg_services_choose) and the words of `meshgate
 * services add` and state_dir/services (mg_services_parse_args).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_choose),
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
	};

	return cmocka_run_group_tests_name("services", tests, NULL, NULL);
}
