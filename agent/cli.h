/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The `meshgate` command line: objects and verbs are tables (struct
 * mg_cmd, struct mg_verb), matched by unambiguous prefix as ip(8) does,
 * except the ones that cut or change forwarding, which must be spelled in
 * full.  One table (commands.c) serves the CLI, the agent's control
 * socket, the usage text and each command's help.
 */
#ifndef MG_CLI_H
#define MG_CLI_H

#include <stdbool.h>
#include <limits.h>

#include <stdio.h>

/* The Makefile passes git describe and the commit. */
#ifndef MG_VERSION
#define MG_VERSION "0.1.0"
#endif
#ifndef MG_COMMIT
#define MG_COMMIT "unknown"
#endif

struct mg_cli {
	bool json;
	char pin_dir[PATH_MAX];
	const char *config;		/* -c FILE, if given */
	char socket[PATH_MAX];		/* the agent's control socket */
	FILE *err;			/* where a command writes its errors */
	void *priv;			/* the agent, for commands it serves */
};

typedef int (*mg_cmd_fn)(struct mg_cli *cli, int argc, char **argv);

/* Flags of commands and verbs. */
#define MG_CMD_AGENT	(1u << 0)	/* the running agent answers it */
#define MG_CMD_FULL	(1u << 1)	/* cuts or moves traffic: no prefix */
#define MG_CMD_NOCONF	(1u << 2)	/* reads neither maps nor socket */
#define MG_VERB_NAME	(1u << 3)	/* its first argument is a NAME */

struct mg_verb {
	const char *name;
	const char *args;
	unsigned int flags;		/* MG_CMD_FULL, MG_VERB_NAME */
};

struct mg_cmd {
	const char *name;
	mg_cmd_fn run;			/* in the CLI; NULL: sent to the agent */
	const char *args;		/* NULL: made of the verbs */
	const char *help;
	unsigned int flags;
	const struct mg_verb *verbs;	/* NULL-named end, or NULL */
	mg_cmd_fn serve;		/* in the agent (MG_CMD_AGENT) */
};

/* Every command of `meshgate`, NULL-named end (commands.c). */
extern const struct mg_cmd mg_commands[];

/*
 * Find argv's word in a NULL-terminated-name table by unique prefix; a
 * MG_CMD_FULL entry only by its full name.  Returns the entry, or NULL
 * after printing "what 'word' is unknown/ambiguous; one of: ..." or, for
 * the prefix of a full-only entry, that it must be spelled in full.
 */
const struct mg_cmd *mg_cmd_find(const struct mg_cmd *tab, const char *word,
				 const char *what);
/*
 * The arguments after the object: a verb that is the prefix of a full-only
 * verb, or a NAME the configuration would not take, is an error (written
 * to err).  0, or 2 (the exit status of a usage error).
 */
int mg_cmd_check_args(const struct mg_cmd *c, int argc, char **argv,
		      FILE *err);
/* "usage: meshgate OBJ ..." lines and the help of one command. */
void mg_cmd_help(const struct mg_cmd *c, FILE *f);
/* One line per command of a table: name, arguments, help. */
void mg_cmd_usage(const struct mg_cmd *tab, FILE *f);
/* True when word is a non-empty prefix of full. */
bool mg_matches(const char *word, const char *full);

/* The general usage and the table's lines (commands.c). */
void mg_cli_usage(FILE *f);

/* Commands the CLI runs itself. */
int cmd_bpf(struct mg_cli *cli, int argc, char **argv);
int cmd_bpf_maps(struct mg_cli *cli);	/* `bpf maps`: sizes and memory */
int cmd_stats(struct mg_cli *cli, int argc, char **argv);
int cmd_keygen(struct mg_cli *cli, int argc, char **argv);
int cmd_monitor(struct mg_cli *cli, int argc, char **argv);
int cmd_doctor(struct mg_cli *cli, int argc, char **argv);
int cmd_explain(struct mg_cli *cli, int argc, char **argv);

/* Open a pinned map "<pin_dir>/<name>"; prints a clear error. */
int mg_cli_open_map(const struct mg_cli *cli, const char *name);

#endif
