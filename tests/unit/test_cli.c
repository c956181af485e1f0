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
	{ .name = "endpoints", .run = run_nop },
	{ .name = "events", .run = run_nop },
	{ .name = "stats", .run = run_nop },
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

/* --- the command table: what cannot be guessed --------------------------- */

static int find_quiet(const char *word, const struct mg_cmd **out, char **msg)
{
	FILE *saved = stderr;
	size_t len = 0;

	*msg = NULL;
	stderr = open_memstream(msg, &len);
	*out = mg_cmd_find(mg_commands, word, "object");
	fclose(stderr);
	stderr = saved;
	return *out != NULL;
}

struct find_row {
	const char *word;
	const char *want;	/* the command found, or NULL */
	const char *msg;	/* in the error, when not found */
};

static const struct find_row find_rows[] = {
	{ "down", "down", NULL },
	{ "d", NULL, "'d' is ambiguous; one of: doctor drain down" },
	{ "do", NULL, "'do' is ambiguous; one of: doctor down" },
	{ "doc", "doctor", NULL },
	{ "drain", "drain", NULL },
	{ "dr", NULL, "'dr' would be 'drain', which is taken only spelled in full" },
	{ "und", "undrain", NULL },
	{ "dow", NULL, "'dow' would be 'down', which is taken only spelled in full" },
	{ "leave", "leave", NULL },
	{ "l", NULL, "'l' would be 'leave'" },
	{ "lea", NULL, "'lea' would be 'leave'" },
	{ "st", NULL, "'st' is ambiguous; one of: stats status" },
	{ "stat", NULL, "'stat' is ambiguous; one of: stats status" },
	{ "statu", "status", NULL },
	{ "rel", "reload", NULL },
	{ "p", NULL, "'p' is ambiguous; one of: peers policy" },
	{ "pe", "peers", NULL },
	{ "po", "policy", NULL },
	{ "se", "services", NULL },
	{ "k", NULL, "'k' is ambiguous; one of: keys keygen" },
	{ "keys", "keys", NULL },
	{ "ve", "version", NULL },
	{ "frob", NULL, "'frob' is unknown; one of: agent bpf" },
};

static void test_find_rows(void **state)
{
	for (size_t i = 0; i < sizeof(find_rows) / sizeof(find_rows[0]); i++) {
		const struct find_row *r = &find_rows[i];
		const struct mg_cmd *c;
		char *msg;

		find_quiet(r->word, &c, &msg);
		if (r->want && (!c || strcmp(c->name, r->want)))
			fail_msg("'%s': want %s, got %s (%s)", r->word, r->want,
				 c ? c->name : "nothing", msg);
		if (!r->want && c)
			fail_msg("'%s': want nothing, got %s", r->word,
				 c->name);
		if (r->msg && !strstr(msg, r->msg))
			fail_msg("'%s': want \"%s\" in \"%s\"", r->word,
				 r->msg, msg);
		free(msg);
	}
}

struct args_row {
	const char *argv[4];
	int rc;
	const char *msg;
};

static const struct args_row args_rows[] = {
	{ { "keys", "remove", "K" }, 0, NULL },
	{ { "keys", "rem", "K" }, 2, "meshgate keys: 'rem' would be 'remove', which is taken only spelled in full" },
	{ { "keys", "r", "K" }, 2, "'r' would be 'remove'" },
	{ { "keys", "in", "K" }, 0, NULL },
	{ { "keys", "mesh", "install", "K" }, 0, NULL },
	{ { "keys", "mes", "list" }, 2, "'mes' would be 'mesh'" },
	{ { "keys", "m", "list" }, 2, "'m' would be 'mesh'" },
	{ { "keys" }, 0, NULL },
	{ { "peers", "forget", "gw2" }, 0, NULL },
	{ { "peers", "f", "gw2" }, 2, "'f' would be 'forget'" },
	{ { "peers", "forget", "gw 2" }, 2, "meshgate peers forget: \"gw 2\" is not a name" },
	{ { "services", "add", "web", "vip" }, 0, NULL },
	{ { "services", "a", "we/b" }, 2, "meshgate services add: \"we/b\" is not a name" },
	{ { "services", "add",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
	  2, "is not a name: 1 to 63" },
	{ { "services", "del", "web" }, 0, NULL },
	{ { "services", "frob", "x y" }, 0, NULL },	/* the agent's to judge */
	{ { "status" }, 0, NULL },
};

static void test_args_rows(void **state)
{
	for (size_t i = 0; i < sizeof(args_rows) / sizeof(args_rows[0]); i++) {
		const struct args_row *r = &args_rows[i];
		const struct mg_cmd *c;
		char *msg = NULL, *fmsg;
		size_t len = 0;
		FILE *f;
		int argc = 0, rc;

		while (argc < 4 && r->argv[argc])
			argc++;
		assert_true(find_quiet(r->argv[0], &c, &fmsg));
		free(fmsg);
		f = open_memstream(&msg, &len);
		rc = mg_cmd_check_args(c, argc, (char **)r->argv, f);
		fclose(f);
		if (rc != r->rc)
			fail_msg("%s %s: rc %d, want %d (%s)", r->argv[0],
				 r->argv[1] ? r->argv[1] : "", rc, r->rc, msg);
		if (r->msg && !strstr(msg, r->msg))
			fail_msg("want \"%s\" in \"%s\"", r->msg, msg);
		if (!r->msg)
			assert_string_equal(msg, "");
		free(msg);
	}
}

/* The one table is complete: who runs each row, and what is full-only. */
static void test_table_is_whole(void **state)
{
	static const char *const full_only[] = { "down", "leave", "drain" };
	int n_full = 0;

	for (const struct mg_cmd *c = mg_commands; c->name; c++) {
		if (c->flags & MG_CMD_AGENT) {
			/* run: a CLI-side wrapper around the agent (keys mesh) */
			if (!c->serve || (c->run && strcmp(c->name, "keys")))
				fail_msg("%s: an agent command needs serve, not run",
					 c->name);
		} else if (!c->run || c->serve) {
			fail_msg("%s: a CLI command needs run", c->name);
		}
		assert_non_null(c->help);
		n_full += !!(c->flags & MG_CMD_FULL);
	}
	for (size_t i = 0; i < sizeof(full_only) / sizeof(full_only[0]); i++) {
		const struct mg_cmd *c;
		char *msg;

		assert_true(find_quiet(full_only[i], &c, &msg));
		free(msg);
		assert_true(c->flags & MG_CMD_FULL);
	}
	assert_int_equal(n_full, sizeof(full_only) / sizeof(full_only[0]));
}

/* Help comes from the table, for every command, with or without agent. */
static void test_help(void **state)
{
	const struct mg_cmd *c;
	char *buf = NULL, *msg;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_true(find_quiet("keys", &c, &msg));
	free(msg);
	mg_cmd_help(c, f);
	fclose(f);
	assert_non_null(strstr(buf, "usage: meshgate keys list\n"
				    "       meshgate keys install KEY\n"));
	assert_non_null(strstr(buf, "'keys remove' is taken only spelled in full"));
	assert_non_null(strstr(buf, "The running agent answers it"));
	free(buf);

	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_true(find_quiet("down", &c, &msg));
	free(msg);
	mg_cmd_help(c, f);
	fclose(f);
	assert_non_null(strstr(buf, "usage: meshgate down [--force]\n"));
	assert_non_null(strstr(buf, "'down' is taken only spelled in full"));
	free(buf);
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
		cmocka_unit_test(test_find_rows),
		cmocka_unit_test(test_args_rows),
		cmocka_unit_test(test_table_is_whole),
		cmocka_unit_test(test_help),
	};

	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
