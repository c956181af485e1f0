// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent/maplimits.c: what a configuration's [limits] (and auto) size, and
 * the warning when that could outgrow the machine.  Loading maps of those
 * sizes is tests/e2e/test_limits.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <meshgate/limits.h>
#include "config.h"
#include "maplimits.h"

static const char base[] =
	"[cluster]\nname = c1\nid = 1\ncidr = 10.1.0.0/16\n"
	"[gateway]\ntunnel_address = 192.0.2.1\ncluster_interface = lo\n";

static struct mg_config *load(const char *extra)
{
	struct mg_config *cfg = malloc(sizeof(*cfg));
	char text[2048];

	assert_non_null(cfg);
	snprintf(text, sizeof(text), "%s%s", base, extra);
	assert_int_equal(mg_config_load_string(cfg, "t.conf", text, stderr), 0);
	return cfg;
}

static const struct {
	const char *extra;
	__u32 endpoints, local, flows, pins;
} rows[] = {
	/* auto, no service: small flow tables */
	{ "", MG_MAX_ENDPOINTS, MG_MAX_LOCAL_ENDPOINTS, MG_LIMIT_FLOWS_NOSVC,
	  MG_LIMIT_PINS_NOSVC },
	/* auto, a service: the full ones */
	{ "[service web]\nvip = 10.96.0.10\nport = 80\nbackend = 10.1.0.5:80\n",
	  MG_MAX_ENDPOINTS, MG_MAX_LOCAL_ENDPOINTS, MG_LB_CT_ENTRIES,
	  MG_LB_PIN_ENTRIES },
	/* explicit, auto beside it */
	{ "[limits]\nendpoints = 1048576\nflows = 2048\npinned_flows = auto\n",
	  1048576, MG_MAX_LOCAL_ENDPOINTS, 2048, MG_LIMIT_PINS_NOSVC },
	{ "[limits]\nlocal_endpoints = 64\nflows = AUTO\n",
	  MG_MAX_ENDPOINTS, 64, MG_LIMIT_FLOWS_NOSVC, MG_LIMIT_PINS_NOSVC },
};

static void test_from_config(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct mg_config *cfg = load(rows[i].extra);
		struct mg_map_limits l;

		mg_limits_from_config(&l, cfg);
		print_message("row %zu\n", i);
		assert_int_equal(l.endpoints, rows[i].endpoints);
		assert_int_equal(l.local_endpoints, rows[i].local);
		assert_int_equal(l.flows, rows[i].flows);
		assert_int_equal(l.pinned_flows, rows[i].pins);
		free(cfg);
	}
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"[limits]\nflows = 1023\n",		/* below the minimum */
		"[limits]\nendpoints = 4194305\n",	/* above the maximum */
		"[limits]\npinned_flows = -1\n",
		"[limits]\nflows = 10k\n",
		"[limits]\nroutes = 5\n",		/* no such key */
	};
	char text[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mg_config *cfg = malloc(sizeof(*cfg));

		assert_non_null(cfg);
		snprintf(text, sizeof(text), "%s%s", base, bad[i]);
		print_message("%s", bad[i]);
		assert_int_equal(mg_config_load_string(cfg, "t.conf", text,
						       stderr), -EINVAL);
		free(cfg);
	}
}

static void test_memory_warning(void **state)
{
	struct mg_config *big = load("[limits]\nendpoints = 4194304\n"
				     "flows = 16777216\npinned_flows = 4194304\n");
	struct mg_config *small = load("");
	struct mg_map_limits lb, ls;
	FILE *devnull = fopen("/dev/null", "w");

	(void)state;
	assert_non_null(devnull);
	mg_limits_from_config(&lb, big);
	mg_limits_from_config(&ls, small);
	assert_true(mg_limits_estimate(&lb, 2) > mg_limits_estimate(&ls, 2));
	/* a 1 GiB appliance: the largest limits warn, the defaults do not */
	assert_int_equal(mg_limits_check(big, 1ull << 30, devnull), 1);
	assert_int_equal(mg_limits_check(small, 1ull << 30, devnull), 0);
	/* 64 GiB: neither */
	assert_int_equal(mg_limits_check(big, 64ull << 30, devnull), 0);
	fclose(devnull);
	free(big);
	free(small);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_config),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_memory_warning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
