// SPDX-License-Identifier: GPL-2.0-only
/*
 * meshgate [-j] [-p PIN_DIR] [-c CONFIG] OBJECT [VERB] [ARGS]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "agent.h"
#include "cli.h"
#include "config.h"
#include "ctl.h"
#include "hostroute.h"
#include "loader.h"
#include "lib/log.h"
#include "lib/out.h"

#define MG_VERSION "0.1.0"
#define MG_DEFAULT_CONFIG "/etc/meshgate/meshgate.conf"

static int load_config(struct mg_config *cfg, const char *path)
{
	int err = mg_config_load(cfg, path, stderr);

	if (err == -EINVAL)
		fprintf(stderr, "meshgate: %s: configuration is not valid\n",
			path);
	return err;
}

static int cmd_agent(struct mg_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *path = cli->config ? cli->config : MG_DEFAULT_CONFIG;
	struct mg_config *cfg;
	bool check = false;
	int opt, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			check = true;
			break;
		default:
			fprintf(stderr, "usage: meshgate agent [-c FILE] [--check-config]\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "meshgate agent: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	cfg = malloc(sizeof(*cfg));
	if (!cfg)
		return 1;
	err = load_config(cfg, path);
	if (err) {
		free(cfg);
		return 1;
	}
	if (check) {
		printf("%s: configuration OK (cluster %s id %u, %d static peers)\n",
		       path, cfg->cluster_name, cfg->cluster_id, cfg->n_peers);
		free(cfg);
		return 0;
	}
	err = mg_agent_run(cfg);
	free(cfg);
	return err ? 1 : 0;
}

static int cmd_down(struct mg_cli *cli, int argc, char **argv)
{
	int err;

	if (argc > 1) {
		fprintf(stderr, "usage: meshgate [-p DIR | -c FILE] down\n");
		return 2;
	}
	err = mg_hostroute_remove(cli->pin_dir);
	if (err)
		fprintf(stderr, "meshgate down: host device: %s\n",
			strerror(-err));
	err = mg_dp_teardown(cli->pin_dir);
	if (err) {
		fprintf(stderr, "meshgate down: %s: %s\n", cli->pin_dir,
			strerror(-err));
		return 1;
	}
	printf("datapath detached; host device and pinned maps in %s removed\n",
	       cli->pin_dir);
	return 0;
}

static int cmd_version(struct mg_cli *cli, int argc, char **argv)
{
	printf("meshgate %s\n", MG_VERSION);
	return 0;
}

static int cmd_help(struct mg_cli *cli, int argc, char **argv);

/* Commands the running agent answers, through its control socket. */
static int cmd_remote(struct mg_cli *cli, int argc, char **argv)
{
	return mg_ctl_call(cli->socket, cli->json, argc, argv);
}

static const struct mg_cmd commands[] = {
	{ "agent", cmd_agent, "[-c FILE] [--check-config]",
	  "run the gateway daemon (or only validate its configuration)" },
	{ "bpf", cmd_bpf, "MAP [list]",
	  "list a pinned map: endpoints[6] local[6] clusters peers[6] nexthops[6] tx services backends ct pins stats" },
	{ "stats", cmd_stats, "[-a]",
	  "datapath counters by reason, summed over CPUs (-a: zeros too)" },
	{ "status", cmd_remote, "",
	  "the running agent: gateway, cluster, interfaces, peers" },
	{ "peers", cmd_remote, "[list] | forget NAME",
	  "gateways and other members: cluster, tunnel, state, incarnation, RTT" },
	{ "endpoints", cmd_remote, "[list] | add PREFIX | del PREFIX",
	  "local and learned endpoints; add/del this cluster's (kept across restarts)" },
	{ "services", cmd_remote,
	  "[list] | add NAME vip ADDR port N [proto tcp|udp] [affinity any|local|remote] [min_local N] [backend ADDR:PORT[:W]]... | del NAME",
	  "global services, every cluster's backends with health, weight and use" },
	{ "keys", cmd_remote, "[list] | install KEY | use KEY | remove KEY",
	  "the gossip keyring of this gateway (rotate: install everywhere, use, remove)" },
	{ "leave", cmd_remote, "",
	  "drain, leave the mesh, detach the datapath and stop the agent" },
	{ "drain", cmd_remote, "",
	  "peers withdraw this gateway (its datapath keeps forwarding); runs drain_hook" },
	{ "undrain", cmd_remote, "", "peers use this gateway again" },
	{ "down", cmd_down, "",
	  "detach the datapath and remove its pinned maps" },
	{ "keygen", cmd_keygen, "[16|24|32]",
	  "print a new random gossip key (base64; default 32 bytes)" },
	{ "version", cmd_version, "", "print the version" },
	{ "help", cmd_help, "", "this text" },
	{ NULL }
};

static int cmd_help(struct mg_cli *cli, int argc, char **argv)
{
	fprintf(stderr,
		"usage: meshgate [-j] [-p PIN_DIR] [-s SOCKET] [-c CONFIG] OBJECT [ARGS]\n"
		"  -j, --json       JSON output\n"
		"  -p, --pin-dir    where the maps are pinned (default %s)\n"
		"  -s, --socket     the agent's control socket (default %s)\n"
		"  -c, --config     configuration file (default %s);\n"
		"                   supplies the pin directory and the socket\n"
		"objects (any unique prefix):\n",
		MG_PIN_DIR_DEFAULT, MG_CTL_SOCKET_DEFAULT, MG_DEFAULT_CONFIG);
	mg_cmd_usage(commands, "meshgate");
	return argc >= 0 ? 0 : 2;
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
	bool pin_given = false, sock_given = false;
	int opt;

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
			snprintf(cli.pin_dir, sizeof(cli.pin_dir), "%s", optarg);
			pin_given = true;
			break;
		case 'c':
			cli.config = optarg;
			break;
		case 's':
			snprintf(cli.socket, sizeof(cli.socket), "%s", optarg);
			sock_given = true;
			break;
		case 'V':
			return cmd_version(&cli, 0, NULL);
		case 'h':
			return cmd_help(&cli, 0, NULL);
		default:
			cmd_help(&cli, -1, NULL);
			return 2;
		}
	}
	if (optind >= argc) {
		cmd_help(&cli, -1, NULL);
		return 2;
	}
	cmd = mg_cmd_find(commands, argv[optind], "object");
	if (!cmd)
		return 2;
	/* The CLI commands take the pin directory from -c unless -p says. */
	if (cli.config && cmd->run != cmd_agent) {
		struct mg_config *cfg = malloc(sizeof(*cfg));

		if (!cfg || load_config(cfg, cli.config)) {
			free(cfg);
			return 1;
		}
		if (!pin_given)
			snprintf(cli.pin_dir, sizeof(cli.pin_dir), "%s", cfg->pin_dir);
		if (!sock_given)
			snprintf(cli.socket, sizeof(cli.socket), "%s",
				 cfg->control_socket);
		free(cfg);
	}
	out_init(stdout, cli.json);
	return cmd->run(&cli, argc - optind, argv + optind);
}
