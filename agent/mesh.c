// SPDX-License-Identifier: GPL-2.0-only
/*
 * The mesh: membership + replicated state -> the agent's view (see mesh.h).
 */
#include "mesh/mesh_int.h"

const char *const gw_state_names[] = {
	[GW_ALIVE] = "alive", [GW_SUSPECT] = "suspect", [GW_DEAD] = "dead",
	[GW_LEFT] = "left",   [GW_STATIC] = "static",
};
