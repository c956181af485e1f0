/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MG_AGENT_H
#define MG_AGENT_H

#include "config.h"

/*
 * Run the gateway daemon until SIGTERM or SIGINT; SIGHUP reloads cfg->path.  The datapath stays
 * attached after the agent exits (links and maps are pinned), so a restart
 * or a crash does not stop forwarding; `meshgate down` removes it.
 */
int mg_agent_run(const struct mg_config *cfg);

/*
 * What the agent answers on its control socket, one function per
 * MG_CMD_AGENT row of mg_commands (cli.h); cli->priv is the agent.
 */
struct mg_cli;
int mg_agent_serve_status(struct mg_cli *cli, int argc, char **argv);
int mg_agent_serve_peers(struct mg_cli *cli, int argc, char **argv);
int mg_agent_serve_endpoints(struct mg_cli *cli, int argc, char **argv);
int mg_agent_serve_keys(struct mg_cli *cli, int argc, char **argv);
int mg_agent_serve_services(struct mg_cli *cli, int argc, char **argv);
int mg_agent_serve_policy(struct mg_cli *cli, int argc, char **argv);
int mg_agent_serve_reload(struct mg_cli *cli, int argc, char **argv);
int mg_agent_serve_leave(struct mg_cli *cli, int argc, char **argv);
int mg_agent_serve_drain(struct mg_cli *cli, int argc, char **argv);	/* and undrain */

/*
 * Entries of mg_ep4 and mg_ep6 as the agent last wrote them (its write
 * cache, exact while valid), or -1 each when not known: the metrics count
 * them without walking 100k keys.  From the event loop only.
 */
void mg_agent_known_entries(void *agent, long long *ep4, long long *ep6);

#endif
