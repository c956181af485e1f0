// SPDX-License-Identifier: GPL-2.0-only
/* Command tables (prefix matching) and the text/JSON printer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cli.h"
#include "lib/out.h"

static int run_nop(struct mg_cli *cli, int argc, char **argv) { return 0; }

static const struct mg_cmd tab[] = {
	{ "endpoints", run_nop, "", "" },
	{ "events", run_nop, "", "" },
	{ "stats", run_nop, "", "" },
	{ NULL }
};

static void test_prefix_matching(void **state)
{
	FILE *saved = stderr;
	char *buf = NULL;
	size_t len = 0;

	assert_ptr_equal(mg_cmd_find(tab, "stats", "object"), &tab[2]);
	assert_ptr_equal(mg_cmd_find(tab, "st", "object"), &tab[2]);
	assert_ptr_equal(mg_cmd_find(tab, "endp", "object"), &tab[0]);
	assert_ptr_equal(mg_cmd_find(tab, "ev", "object"), &tab[1]);

	stderr = open_memstream(&buf, &len);
	assert_null(mg_cmd_find(tab, "e", "object"));
	assert_null(mg_cmd_find(tab, "bogus", "object"));
	assert_null(mg_cmd_find(tab, "", "object"));
	assert_null(mg_cmd_find(tab, "statsx", "object"));
	fclose(stderr);
	stderr = saved;
	assert_non_null(strstr(buf, "'e' is ambiguous; one of: endpoints events\n"));
	assert_non_null(strstr(buf, "'bogus' is unknown; one of: endpoints events stats\n"));
	free(buf);

	assert_true(mg_matches("li", "list"));
	assert_false(mg_matches("", "list"));
	assert_false(mg_matches("lists", "list"));
}

static char *render(bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	out_init(f, json);
	out_arr_open("rows");
	out_text("name value\n");
	for (int i = 0; i < 2; i++) {
		out_obj_open(NULL);
		out_str("name", "%s", i ? "quote\"back\\slash\n" : "plain");
		out_u64("value", " %llu", 10 + i);
		out_arr_open("list");
		out_u64(NULL, " %llu", 1);
		out_u64(NULL, " %llu", 2);
		out_arr_close();
		out_bool("ok", " %s\n", i);
		out_obj_close();
	}
	out_arr_close();
	out_finish();
	fclose(f);
	return buf;
}

static void test_json_and_text_twins(void **state)
{
	char *j = render(true), *t = render(false);

	assert_string_equal(j,
		"[{\"name\":\"plain\",\"value\":10,\"list\":[1,2],\"ok\":false},"
		"{\"name\":\"quote\\\"back\\\\slash\\u000a\",\"value\":11,"
		"\"list\":[1,2],\"ok\":true}]\n");
	assert_string_equal(t, "name value\nplain 10 1 2 no\n"
			       "quote\"back\\slash\n 11 1 2 yes\n");
	free(j);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_matching),
		cmocka_unit_test(test_json_and_text_twins),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
