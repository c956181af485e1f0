/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Runtime settings: read-only globals the agent writes into the skeleton's
 * .rodata before load, so the verifier sees them as constants and dead
 * branches cost nothing.  Changing one means loading a new program, which
 * the agent swaps in atomically through the pinned link.
 */
#ifndef MG_DP_CONFIG_H
#define MG_DP_CONFIG_H

#include <linux/types.h>

const volatile __u32 cfg_tunnel4 = 0;		/* own tunnel address, network order */
const volatile __u16 cfg_vxlan_port = 0;	/* network order */
const volatile __u8 cfg_cluster_id = 0;		/* own cluster, 1..255 */
const volatile __u8 cfg_nh_table = 1;		/* try mg_nh4 before bpf_fib_lookup */

#endif
