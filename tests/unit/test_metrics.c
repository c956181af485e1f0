// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent/metrics.c without a server: the class of every reason, the agent's
 * part read from the listings' JSON, and [metrics] listen as the
 * configuration takes it.  Serving and scraping: tests/e2e/test_metrics.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "config.h"
#include "metrics.h"
#include "meshgate/reasons.h"

static const struct {
	unsigned int reason;
	const char *class;
} class_rows[] = {
	{ MG_PASS, "forward" },
	{ MG_ENCAP, "forward" },
	{ MG_DECAP, "forward" },
	{ MG_LB_LOCAL, "forward" },
	{ MG_DROP_INNER_SRC, "drop" },
	{ MG_DROP_NO_BACKEND, "drop" },
	{ MG_ICMP_FRAG_NEEDED, "forward" },	/* answered: reasons.h's class */
	{ MG_DROP_NO_GATEWAY, "error" },
	{ MG_DROP_CT, "error" },
	{ MG_DROP_NO_ROOM, "error" },
	{ MG_REASON_MAX, "error" },
};

static void test_reason_class(void **state)
{
	for (size_t i = 0; i < sizeof(class_rows) / sizeof(class_rows[0]); i++)
		assert_string_equal(mg_metrics_reason_class(class_rows[i].reason),
				    class_rows[i].class);
	for (unsigned int r = 0; r < MG_REASON_MAX; r++) {
		const char *c = mg_metrics_reason_class(r);

		assert_true(!strcmp(c, "forward") || !strcmp(c, "drop") ||
			    !strcmp(c, "error"));
	}
}

static char *agent_part(const char *st, const char *pe, const char *sv)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	mg_metrics_agent_part(f, st, pe, sv);
	fclose(f);
	return text;
}

static void test_agent_part(void **state)
{
	const char *st = "{\"gateway\":\"gw1\",\"peers\":3,\"peers_alive\":2,"
		"\"state_messages\":7,\"gossip_decrypt_failed\":4}\n";
	const char *pe = "[{\"name\":\"gw2\",\"cluster\":\"c2\",\"state\":\"alive\","
		"\"meshgate\":true},{\"name\":\"gw3\",\"cluster\":\"c2\","
		"\"state\":\"dead\",\"meshgate\":true},{\"name\":\"serf\","
		"\"cluster\":\"-\",\"state\":\"alive\",\"meshgate\":false}]\n";
	const char *sv = "[{\"name\":\"web\",\"vip\":\"10.96.0.10\",\"backend\":["
		"{\"address\":\"10.1.0.11:80\",\"health\":\"up\"},"
		"{\"address\":\"10.1.0.12:80\",\"health\":\"down\"}]},"
		"{\"name\":\"q\\\"x\",\"backend\":[{\"address\":\"[fd00::1]:53\","
		"\"health\":\"unknown\"}]}]\n";
	char *m = agent_part(st, pe, sv);

	assert_non_null(strstr(m, "\nmeshgate_gateways 3\n"));
	assert_non_null(strstr(m, "\nmeshgate_gateways_alive 2\n"));
	assert_non_null(strstr(m, "# TYPE meshgate_gossip_state_messages_total counter\n"
			       "meshgate_gossip_state_messages_total 7\n"));
	assert_non_null(strstr(m, "\nmeshgate_gossip_rejected_wrong_key_total 4\n"));
	assert_non_null(strstr(m, "\nmeshgate_peers{state=\"alive\"} 2\n"));
	assert_non_null(strstr(m, "\nmeshgate_peers{state=\"dead\"} 1\n"));
	assert_non_null(strstr(m, "\nmeshgate_cluster_gateways{cluster=\"c2\"} 2\n"));
	assert_non_null(strstr(m, "\nmeshgate_cluster_gateways_alive{cluster=\"c2\"} 1\n"));
	assert_null(strstr(m, "cluster=\"-\""));
	assert_non_null(strstr(m, "\nmeshgate_backend_up{service=\"web\",backend=\"10.1.0.11:80\"} 1\n"));
	assert_non_null(strstr(m, "\nmeshgate_backend_up{service=\"web\",backend=\"10.1.0.12:80\"} 0\n"));
	/* A label value's quote is escaped. */
	assert_non_null(strstr(m, "{service=\"q\\\"x\",backend=\"[fd00::1]:53\"} 0\n"));
	free(m);
	/* Nothing known: nothing but the headers. */
	m = agent_part(NULL, NULL, NULL);
	assert_null(strstr(m, "meshgate_backend_up"));
	free(m);
}

static const char base[] =
	"[cluster]\nname = c1\nid = 1\ncidr = 10.1.0.0/16\n"
	"[gateway]\ntunnel_address = 192.0.2.1\ncluster_interface = lo\n";

static const struct {
	const char *extra;
	int ok;
	const char *addr;
	unsigned int port;
} listen_rows[] = {
	{ "", 1, NULL, 0 },
	{ "[metrics]\nlisten = off\n", 1, NULL, 0 },
	{ "[metrics]\nlisten = on\n", 1, "127.0.0.1", 9466 },
	{ "[metrics]\nlisten = 9100\n", 1, "127.0.0.1", 9100 },
	{ "[metrics]\nlisten = 192.0.2.1:9466\n", 1, "192.0.2.1", 9466 },
	{ "[metrics]\nlisten = [::1]:9466\n", 1, "::1", 9466 },
	{ "[metrics]\nlisten = 192.0.2.1\n", 0, NULL, 0 },
	{ "[metrics]\nlisten = 70000\n", 0, NULL, 0 },
	{ "[metrics]\nlisten = 0\n", 0, NULL, 0 },
	{ "[metrics]\nlisten = yes\n", 0, NULL, 0 },
	{ "[metrics]\nport = 1\n", 0, NULL, 0 },
};

static void test_listen(void **state)
{
	struct mg_config *cfg = malloc(sizeof(*cfg));

	assert_non_null(cfg);
	for (size_t i = 0; i < sizeof(listen_rows) / sizeof(listen_rows[0]); i++) {
		char text[1024], a[MG_ADDRSTRLEN];
		FILE *err = fopen("/dev/null", "w");
		int rc;

		snprintf(text, sizeof(text), "%s%s", base, listen_rows[i].extra);
		rc = mg_config_load_string(cfg, "t.conf", text, err);
		fclose(err);
		if (!listen_rows[i].ok) {
			if (!rc)
				fail_msg("taken: %s", listen_rows[i].extra);
			continue;
		}
		if (rc)
			fail_msg("refused: %s", listen_rows[i].extra);
		assert_int_equal(cfg->metrics_listen.port, listen_rows[i].port);
		if (listen_rows[i].addr)
			assert_string_equal(mg_addr_str(&cfg->metrics_listen.addr,
							a, sizeof(a)),
					    listen_rows[i].addr);
	}
	free(cfg);
}

/*
 * Without pins (no agent ever ran there): an error for the caller (the
 * server answers 500), build info still written, no map rows, and the
 * times of the parts add up to at most the total.
 */
static void test_render_no_pins(void **state)
{
	struct mg_metrics_known known[] = { { "mg_ep4", 100000 } };
	struct mg_metrics_times t;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	memset(&t, 0xff, sizeof(t));
	assert_int_not_equal(mg_metrics_render(f, "/nonexistent/meshgate",
					       NULL, known, 1, &t), 0);
	fclose(f);
	assert_non_null(strstr(text, "meshgate_build_info{"));
	/* A known count names a map only when the map is pinned. */
	assert_null(strstr(text, "meshgate_map_entries{map=\"mg_ep4\"}"));
	assert_true(t.reasons + t.maps + t.flows + t.lbstats <= t.total);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_class),
		cmocka_unit_test(test_agent_part),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_render_no_pins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
