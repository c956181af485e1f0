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

/* Own tunnel addresses, network order; 0 / all zero = none of that family. */
const volatile __u32 cfg_tunnel4 = 0;
const volatile __u32 cfg_tunnel6[4] = { 0 };
/*
 * The cluster side's own addresses, network order: the source of the ICMP
 * errors the datapath sends to pods.  0 / all zero = unknown: the error
 * then comes from the address the quoted packet was for.
 */
const volatile __u32 cfg_cluster4 = 0;
const volatile __u32 cfg_cluster6[4] = { 0 };
const volatile __u16 cfg_vxlan_port = 0;	/* network order */
const volatile __u8 cfg_cluster_id = 0;		/* own cluster, 1..255 */
const volatile __u8 cfg_nh_table = 1;		/* try mg_nh4_v2/mg_nh6 before bpf_fib_lookup */
/* IPv4 without DF too big for the path: 0 drop, 1 hand to the kernel. */
const volatile __u8 cfg_frag_stack = 0;
/* VXLAN over IPv6 carries a UDP checksum (RFC 6935); 0 sends zero. */
const volatile __u8 cfg_udp6_csum = 1;
/*
 * TCP MSS clamping on encapsulated SYNs: 0 off, MG_MSS_AUTO from the
 * next hop's MTU, else the largest IPv4 MSS (IPv6: 20 less).
 */
const volatile __u16 cfg_mss_clamp = 0;

#define MG_MSS_AUTO	0xffff

#endif
