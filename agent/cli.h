/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The `meshgate` command line: objects and verbs are tables (struct
 * mg_cmd), matched by unambiguous prefix as ip(8) does.
 */
#ifndef MG_CLI_H
#define MG_CLI_H

#include <stdbool.h>
#include <limits.h>

#include <stdio.h>

struct mg_cli {
	bool json;
	char pin_dir[PATH_MAX];
	const char *config;		/* -c FILE, if given */
	char socket[PATH_MAX];		/* the agent's control socket */
	FILE *err;			/* where a command writes its errors */
	void *priv;			/* the agent, for commands it serves */
};

struct mg_cmd {
	const char *name;
	int (*run)(struct mg_cli *cli, int argc, char **argv);
	const char *args;
	const char *help;
};

/*
 * Find argv's word in a NULL-terminated-name table by unique prefix.
 * Returns the entry, or NULL after printing "what: 'word' is unknown/
 * ambiguous; one of: ...".
 */
const struct mg_cmd *mg_cmd_find(const struct mg_cmd *tab, const char *word,
				 const char *what);
/* Print "usage:" lines for a table. */
void mg_cmd_usage(const struct mg_cmd *tab, const char *prefix);
/* True when word is a non-empty prefix of full. */
bool mg_matches(const char *word, const char *full);

/* Commands. */
int cmd_bpf(struct mg_cli *cli, int argc, char **argv);
int cmd_bpf_maps(struct mg_cli *cli);	/* `bpf maps`: sizes and memory */
int cmd_stats(struct mg_cli *cli, int argc, char **argv);
int cmd_keygen(struct mg_cli *cli, int argc, char **argv);

/* Open a pinned map "<pin_dir>/<name>"; prints a clear error. */
int mg_cli_open_map(const struct mg_cli *cli, const char *name);

#endif
