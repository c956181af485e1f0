/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MG_AGENT_H
#define MG_AGENT_H

#include "config.h"

/*
 * Run the gateway daemon until SIGTERM or SIGINT.  The datapath stays
 * attached after the agent exits (links and maps are pinned), so a restart
 * or a crash does not stop forwarding; `meshgate down` removes it.
 */
int mg_agent_run(const struct mg_config *cfg);

#endif
