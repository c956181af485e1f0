// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every command of `meshgate`, declared once: the CLI dispatches on this
 * table, the agent serves the MG_CMD_AGENT rows on its control socket, and
 * the usage and each command's help (-h anywhere) are printed from it.
 * The commands the CLI runs itself (agent, down, version, help) are here
 * too; bpf and stats are in cmd_bpf.c, monitor in cmd_monitor.c, keygen
 * in cmd_keygen.c.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "agent.h"
#include "cli.h"
#include "maplimits.h"
#include "config.h"
#include "ctl.h"
#include "hostroute.h"
#include "loader.h"
#include "pins.h"
#include "lib/out.h"

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
		{}
	};
	const char *path = cli->config ? cli->config : MG_DEFAULT_CONFIG;
	struct mg_config *cfg;
	bool check = false;
	int opt, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
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
	/* Before anything is written: a missing interface stops us here. */
	if (!err && mg_config_check_host(cfg, stderr)) {
		fprintf(stderr, "meshgate: %s: not usable on this host\n", path);
		err = -ENODEV;
	}
	if (err) {
		free(cfg);
		return 1;
	}
	/* A warning, not a refusal: the kernel charges maps as they fill. */
	mg_limits_check(cfg, 0, stderr);
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

/*
 * down --force under a running agent: the agent goes first (SIGTERM, as
 * systemctl stop), or it would put back the datapath it sees taken away.
 */
static int stop_holder(const char *dir)
{
	int pid = mg_pins_holder(dir);

	if (pid < 0) {
		fprintf(stderr, "meshgate down: an agent holds %s but its pid "
			"is not in /proc/locks: stop it first\n", dir);
		return -1;
	}
	if (kill(pid, SIGTERM)) {
		fprintf(stderr, "meshgate down: stopping the agent (pid %d): "
			"%s\n", pid, strerror(errno));
		return -1;
	}
	/* A stopping agent takes well under a second; 10 s at most. */
	for (int i = 0; i < 100 && mg_pins_busy(dir); i++)
		usleep(100 * 1000);
	if (mg_pins_busy(dir)) {
		fprintf(stderr, "meshgate down: the agent (pid %d) did not "
			"stop\n", pid);
		return -1;
	}
	printf("stopped the agent (pid %d) that held %s\n", pid, dir);
	return 0;
}

/*
 * Detach the pinned XDP links now: unpinning only drops a reference, and
 * the kernel lets the last one go later (from a work queue), so XDP could
 * still run when `down` has returned.
 */
static void detach_links(const char *dir)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd;

		if (strncmp(de->d_name, "link_", 5))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		if (bpf_link_detach(fd) && errno != EINVAL)
			fprintf(stderr, "meshgate down: detaching %s: %s\n",
				path, strerror(errno));
		close(fd);
	}
	closedir(d);
}

static int cmd_down(struct mg_cli *cli, int argc, char **argv)
{
	bool force = argc == 2 && !strcmp(argv[1], "--force");
	int err;

	if (argc > 1 && !force) {
		fprintf(stderr, "usage: meshgate [-p DIR | -c FILE] down [--force]\n");
		return 2;
	}
	if (mg_pins_busy(cli->pin_dir)) {
		if (!force) {
			fprintf(stderr, "meshgate down: an agent is running on "
				"%s (it holds the pins): stop it first "
				"(systemctl stop meshgate), or `meshgate down "
				"--force` to stop it and cut forwarding\n",
				cli->pin_dir);
			return 1;
		}
		if (stop_holder(cli->pin_dir))
			return 1;
	}
	err = mg_hostroute_remove(cli->pin_dir);
	if (err)
		fprintf(stderr, "meshgate down: host device: %s\n",
			strerror(-err));
	detach_links(cli->pin_dir);
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

void mg_cli_usage(FILE *f)
{
	fprintf(f,
		"usage: meshgate [-j] [-p PIN_DIR] [-s SOCKET] [-c CONFIG] OBJECT [ARGS]\n"
		"  -j, --json       JSON output (anywhere on the line)\n"
		"  -p, --pin-dir    where the maps are pinned (default %s)\n"
		"  -s, --socket     the agent's control socket (default %s)\n"
		"  -c, --config     configuration file that supplies the pin directory\n"
		"                   and the socket (default %s, when it exists)\n"
		"  -h, --help       help (anywhere on the line: that command's)\n"
		"objects (any unique prefix, except those marked spelled in full):\n",
		MG_PIN_DIR_DEFAULT, MG_CTL_SOCKET_DEFAULT, MG_DEFAULT_CONFIG);
	mg_cmd_usage(mg_commands, f);
}

static int cmd_help(struct mg_cli *cli, int argc, char **argv)
{
	const struct mg_cmd *c;

	if (argc < 2) {
		mg_cli_usage(stdout);
		return 0;
	}
	c = mg_cmd_find(mg_commands, argv[1], "object");
	if (!c)
		return 2;
	mg_cmd_help(c, stdout);
	return 0;
}

static const struct mg_verb peers_verbs[] = {
	{ .name = "list" },
	{ .name = "forget", .args = "NAME",
	  .flags = MG_CMD_FULL | MG_VERB_NAME },
	{ .name = NULL }
};

static const struct mg_verb endpoints_verbs[] = {
	{ .name = "list" },
	{ .name = "add", .args = "PREFIX" },
	{ .name = "del", .args = "PREFIX" },
	{ .name = NULL }
};

static const struct mg_verb services_verbs[] = {
	{ .name = "list" },
	{ .name = "add", .flags = MG_VERB_NAME,
	  .args = "NAME vip ADDR port N [proto tcp|udp] "
		  "[affinity any|local|remote] [min_local N] "
		  "[backend ADDR:PORT[:W]]..." },
	{ .name = "set", .flags = MG_VERB_NAME,
	  .args = "NAME [vip ADDR] [port N] [proto tcp|udp] "
		  "[affinity any|local|remote] [min_local N] "
		  "[backend ADDR:PORT[:W]]... (backends given replace them "
		  "all)" },
	{ .name = "del", .args = "NAME", .flags = MG_VERB_NAME },
	{ .name = NULL }
};

static const struct mg_verb policy_verbs[] = {
	{ .name = "list" },
	{ .name = "add",
	  .args = "ID allow|deny [from any|cluster NAME|PREFIX] "
		  "[to any|PREFIX] [proto tcp|udp|icmp|any] [port N[-M]]" },
	{ .name = "del", .args = "ID" },
	{ .name = NULL }
};

static const struct mg_verb keys_verbs[] = {
	{ .name = "list" },
	{ .name = "install", .args = "KEY" },
	{ .name = "use", .args = "KEY" },
	{ .name = "remove", .args = "KEY", .flags = MG_CMD_FULL },
	/* every member of the pool at once: spelled in full, as remove */
	{ .name = "mesh", .args = "list | install KEY | use KEY | remove KEY",
	  .flags = MG_CMD_FULL },
	{ .name = NULL }
};

/*
 * `keys mesh VERB [KEY]` sends serf's key query through the agent, then
 * asks for its tally until every member answered or the query's timeout
 * passed (the agent answers 75 meanwhile: one request per connection, and
 * the agent's loop must not wait).  Other forms go to the agent as they are.
 */
#define KEYS_WAIT_MAX	600	/* x 100 ms: well past serf's longest timeout */

static int cmd_keys(struct mg_cli *cli, int argc, char **argv)
{
	char *wait[] = { argv[0], "mesh", "wait", NULL };
	int rc;

	if (argc < 3 || strcmp(argv[1], "mesh") || !strcmp(argv[2], "wait"))
		return mg_ctl_call(cli->socket, cli->json, argc, argv);
	rc = mg_ctl_call(cli->socket, cli->json, argc, argv);
	for (int i = 0; !rc && i < KEYS_WAIT_MAX; i++) {
		usleep(100 * 1000);
		rc = mg_ctl_call(cli->socket, cli->json, 3, wait);
		if (rc != 75)
			return rc;
		rc = 0;
	}
	if (!rc)
		fprintf(stderr, "meshgate keys mesh: no tally from the agent\n");
	return 1;
}

const struct mg_cmd mg_commands[] = {
	{ .name = "agent", .run = cmd_agent, .flags = MG_CMD_NOCONF,
	  .args = "[-c FILE] [--check-config]",
	  .help = "run the gateway daemon (or only check its configuration "
		  "and the interfaces it names)" },
	{ .name = "bpf", .run = cmd_bpf, .args = "maps | MAP [list]",
	  .help = "maps: every pinned map's entries, limit and memory; MAP: "
		  "list a pinned map: endpoints[6] local[6] clusters peers[6] "
		  "nexthops[6] tx services backends ct pins stats" },
	{ .name = "stats", .run = cmd_stats, .args = "[-a] [-r | -w [-n N]]",
	  .help = "datapath counters by reason with its class (forward, "
		  "drop, error), summed over CPUs (-a: zeros too); -r: per "
		  "second over 1 s; -w: that every second until Ctrl-C (-n: N "
		  "times)" },
	{ .name = "monitor", .run = cmd_monitor,
	  .args = "[--type drop|trace|all] [--reason R]... [--host ADDR] "
		  "[--port N] [--cluster ID] [--service ID] [-w FILE.pcapng] "
		  "[-c COUNT] [--sample N] [--rate N]",
	  .help = "the datapath's drop (default) and trace events, one "
		  "decoded line each (-j: JSON) with the ids involved "
		  "(cluster, service, backend, policy rule, the peer a tunnel "
		  "packet is from or to), -w: a pcapng capture whose "
		  "packets carry them, their reason and interface; --sample 1 in "
		  "N per reason, --rate events per second and CPU (default "
		  "1000); works without the agent; -c 0 clears what killed "
		  "monitors left on" },
	{ .name = "explain", .run = cmd_explain,
	  .args = "[from SRC] to DST[:PORT][/tcp|udp] [on IFACE] [sport N] "
		  "[size BYTES]",
	  .help = "which path a packet takes: the XDP program attached to "
		  "IFACE (default: the cluster side) runs once on a built "
		  "frame (BPF_PROG_TEST_RUN); prints its verdict, reason, "
		  "the endpoint, cluster and service the maps hold for DST "
		  "and the frame it left (outer headers, VNI, NAT, an ICMP "
		  "error's MTU); SRC defaults to an address of the local "
		  "cluster, sport to 40000 (a TCP SYN, UDP, or ICMP echo "
		  "without PORT), size (IP bytes) to the least; IPv4; works from the pins (root), without the "
		  "agent.  A run is a packet: it moves mg_stats (and a "
		  "service's mg_lbstats); the conntrack entry a new service "
		  "flow creates is deleted again (its SNAT port is then "
		  "free), a flow tracked before is left as the run left it" },
	{ .name = "status", .flags = MG_CMD_AGENT, .args = "",
	  .serve = mg_agent_serve_status,
	  .help = "the running agent: gateway, cluster, interfaces, peers" },
	{ .name = "peers", .flags = MG_CMD_AGENT, .verbs = peers_verbs,
	  .serve = mg_agent_serve_peers,
	  .help = "gateways and other members: cluster, tunnel, state, "
		  "incarnation, RTT" },
	{ .name = "endpoints", .flags = MG_CMD_AGENT, .verbs = endpoints_verbs,
	  .serve = mg_agent_serve_endpoints,
	  .help = "local and learned endpoints; add/del this cluster's (kept "
		  "across restarts)" },
	{ .name = "services", .flags = MG_CMD_AGENT, .verbs = services_verbs,
	  .serve = mg_agent_serve_services,
	  .help = "global services, every cluster's backends with health, "
		  "weight and use" },
	{ .name = "policy", .flags = MG_CMD_AGENT, .verbs = policy_verbs,
	  .serve = mg_agent_serve_policy,
	  .help = "this cluster's policy of the traffic into it: rules from "
		  "the configuration and added here (kept across restarts), "
		  "the defaults, and the rules that conflict or shadow each "
		  "other" },
	{ .name = "keys", .flags = MG_CMD_AGENT, .verbs = keys_verbs,
	  .run = cmd_keys, .serve = mg_agent_serve_keys,
	  .help = "the gossip keyring of this gateway (rotate: install "
		  "everywhere, use, remove); mesh: the same on every member "
		  "of the pool, serf agents too, with serf's N/M tally" },
	{ .name = "doctor", .run = cmd_doctor, .args = "",
	  .help = "check this gateway as an operator would by hand: "
		  "forwarding and rp_filter sysctls, ip_local_port_range "
		  "against the SNAT ports, native XDP on each interface, "
		  "pinned links against what runs, underlay MTU headroom, "
		  "maps near full, gossip keys in agreement, peers alive, "
		  "the clock; each ok, warn or fail with the fix (exit 0, "
		  "1 or 2 by the worst)" },
	{ .name = "reload", .flags = MG_CMD_AGENT, .args = "",
	  .serve = mg_agent_serve_reload,
	  .help = "re-read the configuration and apply the difference (log "
		  "level, services, static peers, cidrs, route_table, "
		  "route_protocol, gossip keys, "
		  "forget_after, drain_hook, settle_timeout; the rest is "
		  "named as waiting for a restart) without touching the "
		  "attachment; a file that fails the check is refused and the "
		  "running one kept (SIGHUP does the same)" },
	{ .name = "leave", .flags = MG_CMD_AGENT | MG_CMD_FULL, .args = "",
	  .serve = mg_agent_serve_leave,
	  .help = "drain, leave the mesh, detach the datapath and stop the "
		  "agent" },
	{ .name = "drain", .flags = MG_CMD_AGENT | MG_CMD_FULL, .args = "",
	  .serve = mg_agent_serve_drain,
	  .help = "peers withdraw this gateway from their slot tables (its "
		  "datapath keeps forwarding); runs drain_hook" },
	{ .name = "undrain", .flags = MG_CMD_AGENT, .args = "",
	  .serve = mg_agent_serve_drain,
	  .help = "peers use this gateway again" },
	{ .name = "down", .run = cmd_down, .flags = MG_CMD_FULL,
	  .args = "[--force]",
	  .help = "detach the datapath and remove its pinned maps; refused "
		  "while an agent runs on them (--force: stop that agent "
		  "first)" },
	{ .name = "keygen", .run = cmd_keygen, .flags = MG_CMD_NOCONF,
	  .args = "[16|24|32]",
	  .help = "print a new random gossip key (base64; default 32 bytes)" },
	{ .name = "version", .run = cmd_version, .flags = MG_CMD_NOCONF,
	  .args = "", .help = "print the version" },
	{ .name = "help", .run = cmd_help, .flags = MG_CMD_NOCONF,
	  .args = "[OBJECT]", .help = "this text, or an object's help" },
	{ .name = NULL }
};
