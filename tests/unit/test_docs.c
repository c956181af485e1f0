// SPDX-License-Identifier: GPL-2.0-only
/*
 * agent/gen_docs.c: meshgate(8) names every command and verb of the
 * command table, meshgate.conf(5) every section and key of the
 * configuration table, the bash completion every command and verb; and
 * the key descriptions come from the annotated default configuration.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "cli.h"
#include "config.h"
#include "gen_docs.h"

static char conf_path[PATH_MAX + 64];

/* The annotated configuration: under $MG_SRCDIR, the cwd, or three up
 * from the binary (build/tests/unit/test_docs). */
static int find_conf(void **state)
{
	const char *env = getenv("MG_SRCDIR");
	char exe[PATH_MAX];
	ssize_t n;

	snprintf(conf_path, sizeof(conf_path), "%s/firmware-config/meshgate.conf",
		 env ? env : ".");
	if (env || !access(conf_path, R_OK))
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (int i = 0; i < 4; i++)
		*strrchr(exe, '/') = '\0';
	snprintf(conf_path, sizeof(conf_path), "%s/firmware-config/meshgate.conf", exe);
	return access(conf_path, R_OK) ? -1 : 0;
}

static char *gen(const char *what, const char *conf)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(mg_gen_docs(what, conf, f), 0);
	fclose(f);
	return text;
}

/* The section of the page that starts at heading (".SH ..."). */
static const char *section_of(const char *page, const char *heading)
{
	const char *s = strstr(page, heading);

	if (!s)
		fail_msg("no %s", heading);
	return s;
}

static void test_man8_every_command(void **state)
{
	char *man = gen("man8", NULL), want[256];
	int n = 0;

	for (const struct mg_cmd *c = mg_commands; c->name; c++, n++) {
		if (c->verbs && !c->args) {
			for (const struct mg_verb *v = c->verbs; v->name; v++) {
				snprintf(want, sizeof(want),
					 "\\fBmeshgate %s %s\\fR", c->name,
					 v->name);
				if (!strstr(man, want))
					fail_msg("meshgate(8) lacks %s", want);
			}
		} else {
			snprintf(want, sizeof(want), "\\fBmeshgate %s\\fR",
				 c->name);
			if (!strstr(man, want))
				fail_msg("meshgate(8) lacks %s", want);
		}
	}
	assert_true(n >= 10);
	assert_non_null(strstr(man, ".TH MESHGATE 8"));
	/* The global options, as the CLI's usage prints them. */
	assert_non_null(strstr(man, "\\-\\-pin\\-dir"));
	assert_non_null(strstr(man, "bpftool"));
	free(man);
}

static void test_man5_every_key(void **state)
{
	char *man = gen("man5", conf_path), want[256];
	struct mg_config_key_info ki;
	unsigned int i;

	for (i = 0; mg_config_key_at(i, &ki); i++) {
		const char *sect, *next;

		snprintf(want, sizeof(want), ".SH [%s%s]\n", ki.section,
			 ki.named ? " NAME" : "");
		sect = section_of(man, want);
		next = strstr(sect + 1, ".SH ");
		snprintf(want, sizeof(want), ".TP\n\\fB%s\\fR = ", ki.name);
		sect = strstr(sect, want);
		if (!sect || (next && sect > next))
			fail_msg("meshgate.conf(5) lacks [%s] %s", ki.section,
				 ki.name);
	}
	assert_true(i >= 40);
	/* A description from the annotated configuration's comments. */
	assert_non_null(strstr(man, "a restart does not interrupt forwarding"));
	/* Its placeholders' mark is not one. */
	assert_null(strstr(man, "EDIT"));
	/* Ranges and choices from the table. */
	assert_non_null(strstr(man, "\\fBcluster_id\\fR = \\fInumber\\fR\n1 to 255."));
	assert_non_null(strstr(man, "\\fInative\\fR|\\fIgeneric"));
	free(man);
}

static void test_completion_every_command(void **state)
{
	char *comp = gen("completion", NULL), want[256];
	const char *objs = strstr(comp, "compgen -W 'agent");

	assert_non_null(objs);
	for (const struct mg_cmd *c = mg_commands; c->name; c++) {
		snprintf(want, sizeof(want), " %s", c->name);
		if (strncmp(objs + 12, c->name, strlen(c->name)) &&
		    !strstr(objs, want))
			fail_msg("completion lacks %s", c->name);
		for (const struct mg_verb *v = c->verbs; v && v->name; v++) {
			snprintf(want, sizeof(want), "\t%s) COMPREPLY",
				 c->name);
			const char *row = strstr(comp, want);

			if (!row || !strstr(row, v->name) ||
			    strstr(row, v->name) > strchr(row, '\n'))
				fail_msg("completion lacks %s %s", c->name,
					 v->name);
		}
	}
	assert_non_null(strstr(comp, "\tdown) COMPREPLY=($(compgen -W '--force "));
	assert_non_null(strstr(comp, "complete -F _meshgate meshgate"));
	/* help OBJECT completes the objects. */
	assert_non_null(strstr(comp, "\thelp) COMPREPLY=($(compgen -W 'agent "));
	free(comp);
}

static void test_unknown(void **state)
{
	assert_int_equal(mg_gen_docs("man1", NULL, stdout), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man8_every_command),
		cmocka_unit_test(test_man5_every_key),
		cmocka_unit_test(test_completion_every_command),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, find_conf, NULL);
}
