/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map the datapath uses, BTF-typed and pinned by name under the
 * agent's pin directory.  Layouts live in include/meshgate/abi.h; docs/maps.md
 * lists who writes each one.
 */
#ifndef MG_DP_MAPS_H
#define MG_DP_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <meshgate/abi.h>

/* Endpoint prefix -> owning cluster (local and remote).  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MG_MAX_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_ep4_key);
	__type(value, struct mg_ep_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_ep4 SEC(".maps");

/* IPv6 endpoint prefix -> owning cluster (local and remote).  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MG_MAX_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_ep6_key);
	__type(value, struct mg_ep_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_ep6 SEC(".maps");

/*
 * The compiled IPv4 prefix table (prefix.h; layout in abi.h): mg_ep4's
 * prefixes as DIR-16-8-8 levels, two generations of each level in an
 * outer map, the one in use named by mg_pfx_gen.  The agent creates each
 * generation's level maps at the size the prefixes need and swaps them
 * in with one write to mg_pfx_gen; until it does the datapath asks mg_ep4.
 */
struct mg_pfx_l1_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32[256]);	/* struct mg_pfx_chunk32: a FWD in
					 * BTF where no code reads it */
};

/* Levels 2 and 3: as many chunks as the table needs (BPF_F_INNER_MAP). */
struct mg_pfx_l23_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u16[256]);	/* struct mg_pfx_chunk16 */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct mg_pfx_l1_map);
} mg_pfx4_l1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct mg_pfx_l23_map);
} mg_pfx4_l2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct mg_pfx_l23_map);
} mg_pfx4_l3 SEC(".maps");

/* Which generation is in use (struct mg_pfx_gen).  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_pfx_gen);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_pfx_gen SEC(".maps");

/*
 * The compiled IPv6 prefix table (prefix6.h; layout in abi.h): one hash
 * map per generation, of mg_ep6's prefixes keyed by (length, masked
 * address), the lengths present in mg_pfx6_lens, which of them each
 * region of the addresses holds in mg_pfx6_rgn, the generation in use
 * named by mg_pfx6_gen.  Until the agent publishes one the datapath asks
 * mg_ep6.
 */
struct mg_pfx6_h_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);		/* the agent's: as many as prefixes */
	__uint(key_size, sizeof(struct mg_pfx6_key));	/* a FWD in BTF */
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct mg_pfx6_h_map);
} mg_pfx6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct mg_pfx_l23_map);
} mg_pfx6_rgn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__type(value, struct mg_pfx6_lens);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_pfx6_lens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_pfx_gen);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_pfx6_gen SEC(".maps");

/* A table's 16-bit answer -> the endpoint value lookups return.  Agent. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_PFX_ANSWERS);
	__type(key, __u32);
	__type(value, struct mg_ep_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_pfx_ans SEC(".maps");

/*
 * This cluster's own prefixes only (as in mg_ep4 / mg_ep6): the source
 * check of path 1 and the destination check of path 2 look here first, in
 * a trie of a few entries rather than of every cluster's.  Agent writes.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MG_MAX_LOCAL_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_ep4_key);
	__type(value, struct mg_ep_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_local4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MG_MAX_LOCAL_ENDPOINTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_ep6_key);
	__type(value, struct mg_ep_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_local6 SEC(".maps");

/* Remote cluster id -> its live gateways and flow slots.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_MAX_CLUSTERS);
	__type(key, __u32);
	__type(value, struct mg_cluster_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_clus SEC(".maps");

/* Peer tunnel address (IPv4, network order) -> its cluster.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_MAX_PEERS);
	__type(key, __u32);
	__type(value, struct mg_peer_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_peer4 SEC(".maps");

/* Peer tunnel address (IPv6) -> its cluster.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_MAX_PEERS);
	__type(key, struct mg_in6);
	__type(value, struct mg_peer_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_peer6 SEC(".maps");

/*
 * Underlay destination (IPv4) -> resolved next hop and path MTU.  Agent
 * writes from netlink.  v2: the MTU was added (mg_nh4 had none).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_MAX_NEXTHOPS);
	__type(key, __u32);
	__type(value, struct mg_nh_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_nh4_v2 SEC(".maps");

/* Underlay destination (IPv6) -> resolved next hop.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_MAX_NEXTHOPS);
	__type(key, struct mg_in6);
	__type(value, struct mg_nh_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_nh6 SEC(".maps");

/* Interfaces the datapath may redirect to (ifindex -> ifindex).  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, MG_MAX_TX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_tx SEC(".maps");

/* Interfaces XDP runs on: ifindex -> MAC and roles.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_MAX_TX_IFACES);
	__type(key, __u32);
	__type(value, struct mg_if_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_ifs SEC(".maps");

/* Global services: VIP:port/proto -> service id.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * MG_LB_MAX_SERVICES);	/* + one "VIP" entry each */
	__type(key, struct mg_svc_key);
	__type(value, struct mg_svc_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_svc SEC(".maps");

/* Backend slots the Maglev tables point into.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct mg_lb_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_lbbe SEC(".maps");

/* Backend -> the service it serves, for its replies.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_LB_MAX_BACKENDS);
	__type(key, struct mg_lbrev_key);
	__type(value, struct mg_lbrev_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_lbrev SEC(".maps");

/* One service's Maglev table: slot -> backend slot (template). */
struct mg_ring {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_LB_RING_SIZE);
	__type(key, __u32);
	__type(value, __u32);
};

/*
 * Service id -> its Maglev table.  Agent writes: a new table is filled
 * aside and swapped in with one update, never edited in place.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_LB_MAX_SERVICES);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct mg_ring);
} mg_lbring SEC(".maps");

/*
 * Service flows: client -> VIP tuple -> backend, and how long the flow
 * lives.  Datapath writes; the agent removes expired entries.  v2: the
 * lifetime was added (mg_ct4 had none).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MG_LB_CT_ENTRIES);
	__type(key, struct mg_ct4_key);
	__type(value, struct mg_ct4_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_ct4_v2 SEC(".maps");

/* Local backends' replies: backend -> us (SNAT) -> the VIP.  Datapath writes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MG_LB_CT_ENTRIES);
	__type(key, struct mg_ct4_key);
	__type(value, struct mg_rnat4_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_rnat4 SEC(".maps");

/* IPv6 global services: VIP:port/proto -> service id.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2 * MG_LB_MAX_SERVICES);	/* + one "VIP" entry each */
	__type(key, struct mg_svc6_key);
	__type(value, struct mg_svc_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_svc6 SEC(".maps");

/* IPv6 backends of the slots IPv6 services' tables point at.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct mg_lb_backend6);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_lbbe6 SEC(".maps");

/* IPv6 backend -> the services it serves, for its replies.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_LB_MAX_BACKENDS);
	__type(key, struct mg_lbrev6_key);
	__type(value, struct mg_lbrev6_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_lbrev6 SEC(".maps");

/* IPv6 service flows, as mg_ct4_v2. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MG_LB_CT_ENTRIES);
	__type(key, struct mg_ct6_key);
	__type(value, struct mg_ct6_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_ct6_v2 SEC(".maps");

/* Local IPv6 backends' replies: backend -> us (SNAT) -> the VIP.  Datapath writes. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MG_LB_CT_ENTRIES);
	__type(key, struct mg_ct6_key);
	__type(value, struct mg_rnat6_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_rnat6 SEC(".maps");

/*
 * Working memory of the IPv6 service path: its 40-byte flow keys do not
 * fit on the BPF stack (512 bytes over a call chain) beside the rest of
 * the program.  Per CPU, one entry, not pinned: it holds no state between
 * packets.
 */
struct mg_lb6_scratch {
	struct mg_ct6_key k;		/* the packet's flow (or a reply's) */
	struct mg_ct6_key fk;		/* a flow looked up or claimed */
	struct mg_ct6_key ok;		/* the flow holding a SNAT port */
	struct mg_ct6_val ct;
	struct mg_rnat6_val rv;
	struct mg_lb_backend6 be;
	struct mg_lbrev6_key bk;
	struct mg_svc6_key sk;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_lb6_scratch);
} mg_lb6_tmp SEC(".maps");

/*
 * Working memory of an IPv4 flow's SNAT claim (ct.h), off the stack it
 * would add to the program's deepest call chain.  Per CPU, one entry, not
 * pinned: no state between packets.
 */
struct mg_snat4_scratch {
	struct mg_ct4_key rk;		/* the reply a port would get */
	struct mg_rnat4_val rv;		/* and what it turns back into */
	struct mg_ct4_key fk;		/* the flow holding a port */
	__u64 now;
	__u32 h, base;			/* the flow's hash, its window */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_snat4_scratch);
} mg_snat4_tmp SEC(".maps");

/* A service flow's replies -> the gateway that balanced it.  Datapath. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MG_LB_PIN_ENTRIES);
	__type(key, struct mg_pin_key);
	__type(value, struct mg_pin_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_pin SEC(".maps");

/* The key being built, off the stack (per CPU; no state between packets). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_pin_key);
} mg_pin_tmp SEC(".maps");

/* Packets and bytes per outcome (enum mg_reason).  Datapath writes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct mg_stat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_stats SEC(".maps");

/*
 * The event stream (events.h): what to emit (monitors write), the
 * per-CPU sampling and rate-limit state with the events refused (the
 * datapath's; the CLI reads it), and each monitor's own ring, in the slot
 * of its listener entry (a ring has one reader: monitors sharing one
 * would take each other's events).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_ev_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_evcfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_ev_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_evstate SEC(".maps");

/* A monitor's ring (template: the monitor creates it). */
struct mg_ev_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, MG_EV_RING_BYTES);
};

/* Listener slot -> its ring.  Monitors write. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_EV_LISTENERS);
	__type(key, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct mg_ev_ring);
} mg_evrings SEC(".maps");

/* The gateway's state the datapath needs (MG_GW_*).  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_gw_state);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_gwstate SEC(".maps");

/* Packets and bytes per service and backend slot (abi.h).  Datapath writes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_LBSTATS_ENTRIES);
	__type(key, __u32);
	__type(value, struct mg_stat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_lbstats SEC(".maps");

/*
 * Cross-cluster policy, compiled by the agent (agent/policy.c; layouts
 * and the lookup order in abi.h).  Agent writes, but mg_polct (datapath).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_POL_MAX_DST);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_ep4_key);
	__type(value, struct mg_pol_dst);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_pold4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_POL_MAX_DST);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_ep6_key);
	__type(value, struct mg_pol_dst);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_pold6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MG_POL_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_pol_src4_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_pols4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MG_POL_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_pol_src6_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_pols6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_POL_HASH_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_pol_port_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_polp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MG_POL_HASH_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_pol_key);
	__type(value, struct mg_pol_verdict);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_polv SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_pol_cfg);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_polcfg SEC(".maps");

/*
 * The packet as the policy sees it (policy.h), handed to its decision,
 * a function the verifier checks once, whatever path called it.  Per
 * CPU, one entry, not pinned: no state between packets.
 */
struct mg_pol_query {
	__u32 saddr[4];			/* network order; IPv4 in [0] */
	__u32 daddr[4];
	__u16 sport, dport;		/* network order; ICMP echo: id, 0 */
	__u8 family;			/* MG_AF_* */
	__u8 proto;			/* IPPROTO_* */
	__u8 pclass;			/* MG_POL_P_* */
	__u8 flags;			/* MG_POL_Q_* */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_pol_query);
} mg_pol_tmp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MG_POL_CT_ENTRIES);
	__type(key, struct mg_pol_ct_key);
	__type(value, struct mg_pol_ct_val);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_polct SEC(".maps");

#endif
