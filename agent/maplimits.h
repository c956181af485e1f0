/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * How large the datapath's maps are: from the configuration's [limits]
 * section, or sized for what the gateway does ("auto").  A gateway with no
 * service of its own keeps small flow tables: it still balances its pods'
 * flows to services learned from other clusters, but does not reserve
 * room for a quarter of a million of them.
 */
#ifndef MG_MAPLIMITS_H
#define MG_MAPLIMITS_H

#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>

struct bpf_object;
struct mg_config;

#define MG_LIMIT_AUTO		0

/* [limits] key ranges. */
#define MG_LIMIT_EP_MIN		1024
#define MG_LIMIT_EP_MAX		(4u << 20)	/* mg_ep4/mg_ep6: 4 Mi prefixes */
#define MG_LIMIT_LOCAL_MIN	64
#define MG_LIMIT_LOCAL_MAX	(1u << 20)
#define MG_LIMIT_FLOWS_MIN	1024		/* LRU maps want room per CPU */
#define MG_LIMIT_FLOWS_MAX	(16u << 20)
#define MG_LIMIT_PINS_MIN	1024
#define MG_LIMIT_PINS_MAX	(4u << 20)

/* auto, with no [service] configured */
#define MG_LIMIT_FLOWS_NOSVC	16384
#define MG_LIMIT_PINS_NOSVC	4096

struct mg_map_limits {
	__u32 endpoints;	/* mg_ep4 and mg_ep6 each */
	__u32 local_endpoints;	/* mg_local4 and mg_local6 each */
	__u32 flows;		/* mg_ct4, mg_rnat4, mg_ct6, mg_rnat6 each */
	__u32 pinned_flows;	/* mg_pin */
};

/* The sizes a configuration asks for, auto resolved. */
void mg_limits_from_config(struct mg_map_limits *l,
			   const struct mg_config *cfg);

/*
 * Set the maps' max_entries in an opened (not yet loaded) object.  A map
 * already pinned in pin_dir with another size is set aside (unpinned, held
 * open): the load creates and pins one of the new size, and
 * mg_limits_migrate() then copies the old one's entries into it, before
 * the new program is attached; mg_limits_abort() pins the old ones back
 * when the load fails.  Returns 0 or -errno.
 */
int mg_limits_apply(struct bpf_object *obj, const struct mg_map_limits *l,
		    const char *pin_dir);
void mg_limits_migrate(struct bpf_object *obj);
void mg_limits_abort(void);

/*
 * What the sized maps may take at most, in bytes: a conservative estimate
 * (entries x (key + value + the kernel's per-element overhead)) for
 * --check-config to compare with the machine's memory.
 */
uint64_t mg_limits_estimate(const struct mg_map_limits *l, unsigned int ncpu);

/*
 * Warn on errf when the maps a configuration sizes could take more than
 * half of the machine's memory (they are charged as they fill): of
 * mem_bytes, or of /proc/meminfo's MemTotal when mem_bytes is 0.  Returns
 * 1 when it warned, else 0.
 */
int mg_limits_check(const struct mg_config *cfg, uint64_t mem_bytes,
		    FILE *errf);

#endif
