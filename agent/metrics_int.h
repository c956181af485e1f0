/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the two halves of the exposition (metrics_expo.c: the datapath's
 * maps; metrics_agent.c: the agent's listings) write with.
 */
#ifndef MG_METRICS_INT_H
#define MG_METRICS_INT_H

#include <stdio.h>

static inline void head(FILE *f, const char *name, const char *type,
			const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static inline void label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

#endif
