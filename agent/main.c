// SPDX-License-Identifier: GPL-2.0-only
/*
 * meshgate [-j] [-p PIN_DIR] [-s SOCKET] [-c CONFIG] OBJECT [VERB] [ARGS]
 *
 * The global options, then one row of mg_commands (commands.c): run here,
 * or sent to the agent.  -h/--help and -j/--json are taken anywhere on the
 * line; help never reaches the agent.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/un.h>
#include "cli.h"
#include "config.h"
#include "ctl.h"
#include "loader.h"
#include "lib/out.h"

/* A path option that would not fit is an error, never cut short. */
static int set_path(char *dst, size_t size, const char *val, const char *opt)
{
	if (strlen(val) >= size) {
		fprintf(stderr, "meshgate: %s: longer than %zu characters\n",
			opt, size - 1);
		return -1;
	}
	strcpy(dst, val);
	return 0;
}

/*
 * The pin directory and the socket from a configuration file: -c FILE, or
 * the default one when it exists and the command needs what -p or -s did
 * not give; -p and -s win.
 */
static int apply_config(struct mg_cli *cli, const struct mg_cmd *cmd,
			bool pin_given, bool sock_given)
{
	const char *path = cli->config;
	struct mg_config *cfg;
	int err;

	bool needed = cmd->flags & MG_CMD_AGENT ? !sock_given : !pin_given;

	if (cmd->flags & MG_CMD_NOCONF)
		return 0;
	if (!path && needed && !access(MG_DEFAULT_CONFIG, F_OK))
		path = MG_DEFAULT_CONFIG;
	if (!path)
		return 0;
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return -1;
	err = mg_config_load(cfg, path, NULL);
	/*
	 * A file that fails the check still names the pins and the socket
	 * (its other lines are the agent's to judge): `meshgate reload` must
	 * reach the agent to hear why it refuses the file.
	 */
	if (err == -EINVAL) {
		fprintf(stderr, "meshgate: warning: %s does not pass the check "
			"(`meshgate agent --check-config -c %s` says why); its "
			"pin_dir and control_socket are used\n", path, path);
	} else if (err) {
		fprintf(stderr, "meshgate: %s: %s\n", path, strerror(-err));
		free(cfg);
		return -1;
	}
	if (!pin_given)
		snprintf(cli->pin_dir, sizeof(cli->pin_dir), "%s", cfg->pin_dir);
	if (!sock_given)
		snprintf(cli->socket, sizeof(cli->socket), "%s",
			 cfg->control_socket);
	free(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	struct mg_cli cli = { 0 };
	const struct mg_cmd *cmd;
	bool pin_given = false, sock_given = false, help = false;
	int opt, n, rc;

	/*
	 * Arrays of 128 KiB and more (the view, the map syncs: tens of MB at
	 * a million prefixes) straight from mmap and back to the kernel when
	 * freed.  By default glibc raises this threshold to the largest block
	 * freed (up to 32 MiB) and keeps up to twice that free in its heap:
	 * the agent's resident memory then held its peaks, not what it uses.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);

	snprintf(cli.pin_dir, sizeof(cli.pin_dir), "%s", MG_PIN_DIR_DEFAULT);
	snprintf(cli.socket, sizeof(cli.socket), "%s", MG_CTL_SOCKET_DEFAULT);
	cli.err = stderr;
	/* '+': stop at the object, its options are its own. */
	while ((opt = getopt_long(argc, argv, "+jp:c:s:hV", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			cli.json = true;
			break;
		case 'p':
			if (set_path(cli.pin_dir, sizeof(cli.pin_dir), optarg,
				     "-p"))
				return 2;
			pin_given = true;
			break;
		case 'c':
			cli.config = optarg;
			break;
		case 's':
			if (set_path(cli.socket, sizeof(((struct sockaddr_un *)0)->sun_path),
				     optarg, "-s"))
				return 2;
			sock_given = true;
			break;
		case 'V':
			printf("meshgate %s\n", MG_VERSION);
			return 0;
		case 'h':
			help = true;
			break;
		default:
			mg_cli_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		mg_cli_usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	cmd = mg_cmd_find(mg_commands, argv[optind], "object");
	if (!cmd)
		return 2;
	argc -= optind;
	argv += optind;
	/* -h and -j anywhere after the object (up to "--"). */
	for (int i = n = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			help = true;
		else if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			cli.json = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	argc = n;
	if (help) {
		mg_cmd_help(cmd, stdout);
		return 0;
	}
	rc = mg_cmd_check_args(cmd, argc, argv, stderr);
	if (rc)
		return rc;
	if (apply_config(&cli, cmd, pin_given, sock_given))
		return 1;
	out_init(stdout, cli.json);
	/* The agent gets the full word, whatever prefix was typed. */
	argv[0] = (char *)cmd->name;
	if (cmd->run)
		return cmd->run(&cli, argc, argv);
	return mg_ctl_call(cli.socket, cli.json, argc, argv);
}
