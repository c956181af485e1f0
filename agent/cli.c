// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "config.h"

bool mg_matches(const char *word, const char *full)
{
	size_t n = strlen(word);

	return n && n <= strlen(full) && !strncmp(word, full, n);
}

const struct mg_cmd *mg_cmd_find(const struct mg_cmd *tab, const char *word,
				 const char *what)
{
	const struct mg_cmd *hit = NULL;
	int hits = 0;

	for (const struct mg_cmd *c = tab; c->name; c++) {
		if (!strcmp(word, c->name))
			return c;
		if (mg_matches(word, c->name)) {
			hit = c;
			hits++;
		}
	}
	if (hits == 1 && !(hit->flags & MG_CMD_FULL))
		return hit;
	/*
	 * `meshgate d` once meant `down` and cut a forwarding gateway: what
	 * cuts or moves traffic is never guessed from a prefix.
	 */
	if (hits == 1) {
		fprintf(stderr, "meshgate: %s '%s' would be '%s', which is "
			"taken only spelled in full\n", what, word, hit->name);
		return NULL;
	}
	fprintf(stderr, "meshgate: %s '%s' is %s; one of:", what, word,
		hits ? "ambiguous" : "unknown");
	for (const struct mg_cmd *c = tab; c->name; c++)
		if (!hits || mg_matches(word, c->name))
			fprintf(stderr, " %s", c->name);
	fprintf(stderr, "\n");
	return NULL;
}

int mg_cmd_check_args(const struct mg_cmd *c, int argc, char **argv,
		      FILE *err)
{
	const struct mg_verb *exact = NULL, *full = NULL, *pre = NULL;
	int n_pre = 0;

	if (!c->verbs || argc < 2)
		return 0;
	for (const struct mg_verb *v = c->verbs; v->name; v++) {
		if (!strcmp(argv[1], v->name))
			exact = v;
		else if (mg_matches(argv[1], v->name) &&
			 (v->flags & MG_CMD_FULL))
			full = v;
		else if (mg_matches(argv[1], v->name))
			pre = v, n_pre++;
	}
	if (!exact && full) {
		fprintf(err, "meshgate %s: '%s' would be '%s', which is taken "
			"only spelled in full\n", c->name, argv[1], full->name);
		return 2;
	}
	if (!exact && n_pre == 1)
		exact = pre;
	/* A name the configuration would refuse is refused here too. */
	if (exact && (exact->flags & MG_VERB_NAME) && argc >= 3 &&
	    !mg_config_name_valid(argv[2])) {
		fprintf(err, "meshgate %s %s: \"%.64s%s\" is not a name: 1 to "
			"%d of A-Z a-z 0-9 . _ -\n", c->name, exact->name,
			argv[2], strlen(argv[2]) > 64 ? "..." : "",
			MG_CFG_NAME_MAX - 1);
		return 2;
	}
	return 0;
}

/* The arguments of a command: its own, or its verbs' joined by " | ". */
static void print_args(const struct mg_cmd *c, FILE *f)
{
	if (c->args || !c->verbs) {
		fprintf(f, "%s", c->args ? c->args : "");
		return;
	}
	for (const struct mg_verb *v = c->verbs; v->name; v++)
		fprintf(f, "%s%s%s%s", v == c->verbs ? "" : " | ", v->name,
			v->args ? " " : "", v->args ? v->args : "");
}

void mg_cmd_help(const struct mg_cmd *c, FILE *f)
{
	if (!c->verbs) {
		fprintf(f, "usage: meshgate %s%s", c->name,
			c->args && c->args[0] ? " " : "");
		print_args(c, f);
		fprintf(f, "\n");
	}
	for (const struct mg_verb *v = c->verbs; v && v->name; v++)
		fprintf(f, "%s meshgate %s %s%s%s\n",
			v == c->verbs ? "usage:" : "      ", c->name, v->name,
			v->args ? " " : "", v->args ? v->args : "");
	fprintf(f, "\n%s\n", c->help);
	if (c->flags & MG_CMD_FULL)
		fprintf(f, "'%s' is taken only spelled in full.\n", c->name);
	for (const struct mg_verb *v = c->verbs; v && v->name; v++)
		if (v->flags & MG_CMD_FULL)
			fprintf(f, "'%s %s' is taken only spelled in full.\n",
				c->name, v->name);
	if (c->flags & MG_CMD_AGENT)
		fprintf(f, "The running agent answers it (control socket: "
			"-s SOCKET, or -c FILE's control_socket).\n");
	else if (!(c->flags & MG_CMD_NOCONF))
		fprintf(f, "Reads the pinned maps itself (-p DIR, or -c "
			"FILE's pin_dir): works without the agent.\n");
	fprintf(f, "-j anywhere: JSON.  -h anywhere: this help.\n");
}

void mg_cmd_usage(const struct mg_cmd *tab, FILE *f)
{
	for (const struct mg_cmd *c = tab; c->name; c++) {
		fprintf(f, "  meshgate %s%s", c->name,
			c->args && !c->args[0] ? "" : " ");
		print_args(c, f);
		fprintf(f, "\n      %s%s\n", c->help,
			c->flags & MG_CMD_FULL ? " (spelled in full)" : "");
	}
}
