/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one table of runtime settings.  Each row gives the datapath a
 * read-only global (cfg_<name>, datapath/config.h) that the agent writes
 * into the skeleton's .rodata before load, so the verifier sees a constant
 * and dead branches cost nothing; the agent's struct mg_dp_settings
 * (agent/loader.h) and the copy between the two (agent/loader.c) come from
 * the same rows.  Changing a setting means loading a new program, which the
 * agent swaps in atomically through the pinned link.
 *
 * X(name, type, agent type, dims, default, copy, "what it means")
 *   type	the global's; agent type the struct field's
 *   dims	empty, or [N] for an array
 *   default	the global's value before the agent writes it
 *   copy	how the agent's value becomes the global's: COPY byte for
 *		byte (same type), BOOL 0 or 1, BE16 host to network order
 */
#ifndef MESHGATE_SETTINGS_H
#define MESHGATE_SETTINGS_H

#define MG_SETTINGS(X)							\
	X(tunnel4,	__u32, __u32, ,    0,	  COPY,			\
	  "own tunnel IPv4 address, network order; 0 = none")		\
	X(tunnel6,	__u32, __u32, [4], { 0 }, COPY,			\
	  "own tunnel IPv6 address, network order; all zero = none")	\
	X(cluster4,	__u32, __u32, ,    0,	  COPY,			\
	  "the cluster side's IPv4 address, network order: the source "	\
	  "of the ICMP errors the datapath sends to pods; 0 = unknown: "	\
	  "the error then comes from the address the quoted packet was for") \
	X(cluster6,	__u32, __u32, [4], { 0 }, COPY,			\
	  "the cluster side's IPv6 address, the same for ICMPv6 errors") \
	X(vxlan_port,	__u16, __u16, ,    0,	  BE16,			\
	  "VXLAN UDP port: host order in the agent, network order in "	\
	  "the datapath")							\
	X(cluster_id,	__u8,  __u8,  ,    0,	  COPY,			\
	  "own cluster, 1..255")					\
	X(nh_table,	__u8,  bool,  ,    1,	  BOOL,			\
	  "try mg_nh4_v2/mg_nh6 before bpf_fib_lookup")		\
	X(frag_stack,	__u8,  bool,  ,    0,	  BOOL,			\
	  "IPv4 without DF too big for the path: 0 drop, 1 hand to the " \
	  "kernel")							\
	X(udp6_csum,	__u8,  bool,  ,    1,	  BOOL,			\
	  "VXLAN over IPv6 carries a UDP checksum (RFC 6935); 0 sends zero") \
	X(mss_clamp,	__u16, __u16, ,    0,	  COPY,			\
	  "TCP MSS clamping on encapsulated SYNs: 0 off, MG_MSS_AUTO "	\
	  "from the next hop's MTU, else the largest IPv4 MSS (IPv6: 20 " \
	  "less)")

/* mss_clamp: fit the MSS to the next hop's MTU ("mss_clamp = auto"). */
#define MG_MSS_AUTO	0xffff

/* The datapath's globals, one per row (datapath/config.h). */
#define MG_SETTING_GLOBAL(name, type, atype, dims, def, copy, desc)	\
	const volatile type cfg_##name dims = def;

/* The agent's struct mg_dp_settings fields, one per row. */
#define MG_SETTING_FIELD(name, type, atype, dims, def, copy, desc)	\
	atype name dims;

/*
 * The agent's copy of its settings into a skeleton's .rodata, one per row:
 * from mg_s (const struct mg_dp_settings *) into mg_ro (the skeleton's
 * rodata; either skeleton, both build datapath/config.h).
 */
#define MG_SETTING_COPY_COPY(name)					\
	do {								\
		_Static_assert(sizeof(mg_ro->cfg_##name) ==		\
			       sizeof(mg_s->name), #name);		\
		memcpy((void *)&mg_ro->cfg_##name, &mg_s->name,		\
		       sizeof(mg_s->name));				\
	} while (0)
#define MG_SETTING_COPY_BOOL(name)	(mg_ro->cfg_##name = !!mg_s->name)
#define MG_SETTING_COPY_BE16(name)	(mg_ro->cfg_##name = htons(mg_s->name))
#define MG_SETTING_COPY(name, type, atype, dims, def, copy, desc)	\
	MG_SETTING_COPY_##copy(name);

#endif
