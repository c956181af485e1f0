// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <string.h>
#include "cli.h"

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
	if (hits == 1)
		return hit;
	fprintf(stderr, "meshgate: %s '%s' is %s; one of:", what, word,
		hits ? "ambiguous" : "unknown");
	for (const struct mg_cmd *c = tab; c->name; c++)
		if (!hits || mg_matches(word, c->name))
			fprintf(stderr, " %s", c->name);
	fprintf(stderr, "\n");
	return NULL;
}

void mg_cmd_usage(const struct mg_cmd *tab, const char *prefix)
{
	for (const struct mg_cmd *c = tab; c->name; c++)
		fprintf(stderr, "  %s %s %s\n      %s\n", prefix, c->name,
			c->args ? c->args : "", c->help);
}
