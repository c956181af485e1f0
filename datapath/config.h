/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Runtime settings: the read-only globals cfg_<name>, one per row of
 * include/meshgate/settings.h (which says what each means), that the
 * agent writes into the skeleton's .rodata before load, so the verifier
 * sees them as constants and dead branches cost nothing.  Changing one
 * means loading a new program, which the agent swaps in atomically through
 * the pinned link.
 */
#ifndef MG_DP_CONFIG_H
#define MG_DP_CONFIG_H

#include <linux/types.h>
#include <meshgate/settings.h>

MG_SETTINGS(MG_SETTING_GLOBAL)

#endif
