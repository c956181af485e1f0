// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_prefix's programs: nlook endpoint lookups per run, of the
 * destinations in pfx_dst (pfx_dst6) from pos on, through the compiled
 * table (datapath/prefix.h, prefix6.h: the datapath's own code) or the
 * mg_ep4 (mg_ep6) trie.  The
 * maps are the datapath's, declared here unpinned (maps.h pins them).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <meshgate/abi.h>

#define MG_DP_MAPS_H /* these maps instead of maps.h's */

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1); /* set by the bench */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_ep4_key);
	__type(value, struct mg_ep_val);
} mg_ep4 SEC(".maps");

struct mg_pfx_l1_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32[256]);
};

struct mg_pfx_l23_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u16[256]);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__array(values, struct mg_pfx_l1_map);
} mg_pfx4_l1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__array(values, struct mg_pfx_l23_map);
} mg_pfx4_l2 SEC(".maps"), mg_pfx4_l3 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_pfx_gen);
} mg_pfx_gen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_PFX_ANSWERS);
	__type(key, __u32);
	__type(value, struct mg_ep_val);
} mg_pfx_ans SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1); /* set by the bench */
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mg_ep6_key);
	__type(value, struct mg_ep_val);
} mg_ep6 SEC(".maps");

struct mg_pfx6_h_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(struct mg_pfx6_key));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__array(values, struct mg_pfx6_h_map);
} mg_pfx6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__array(values, struct mg_pfx_l23_map);
} mg_pfx6_rgn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_PFX_GENS);
	__type(key, __u32);
	__type(value, struct mg_pfx6_lens);
} mg_pfx6_lens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_pfx_gen);
} mg_pfx6_gen SEC(".maps");

#include "prefix.h"
#include "prefix6.h"

#define PFX_DSTS 65536

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PFX_DSTS);
	__type(key, __u32);
	__type(value, __u32);
} pfx_dst SEC(".maps");

__u32 mode; /* 0: loop only, 1: table, 2: trie */
__u32 nlook = 1; /* lookups per run, <= 1024 */
__u32 pos; /* next destination */
__u32 spread = 1; /* 0: the same destination every lookup (hot) */
__u32 hits;

struct look_ctx {
	__u32 p, found;
};

static long look_one(__u32 i, struct look_ctx *c)
{
	__u32 k = (c->p + i * spread) & (PFX_DSTS - 1), *d;
	struct mg_ep4_key key = { .prefixlen = 32 };
	struct mg_ep_val *ep = NULL;

	d = bpf_map_lookup_elem(&pfx_dst, &k);
	if (!d)
		return 1;
	if (mode == 1) {
		if (!mg_pfx4_find(*d, &ep))
			ep = NULL;
	} else if (mode == 2) {
		key.addr = *d;
		ep = bpf_map_lookup_elem(&mg_ep4, &key);
	}
	c->found += ep != NULL;
	return 0;
}

/* bpf_loop (5.17): a bench program, not the datapath (6.1 has it too). */
SEC("xdp")
int pfx_look(struct xdp_md *ctx)
{
	struct look_ctx c = { .p = pos };

	bpf_loop(nlook, look_one, &c, 0);
	pos = c.p + nlook * spread;
	hits += c.found;
	return XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PFX_DSTS);
	__type(key, __u32);
	__type(value, struct mg_in6);
} pfx_dst6 SEC(".maps");

static long look_one6(__u32 i, struct look_ctx *c)
{
	__u32 k = (c->p + i * spread) & (PFX_DSTS - 1);
	struct mg_ep6_key key = { .prefixlen = 128 };
	struct mg_ep_val *ep = NULL;
	struct mg_in6 *d;

	d = bpf_map_lookup_elem(&pfx_dst6, &k);
	if (!d)
		return 1;
	if (mode == 1) {
		if (!mg_pfx6_find(d->addr, &ep))
			ep = NULL;
	} else if (mode == 2) {
		__builtin_memcpy(key.addr, d->addr, 16);
		ep = bpf_map_lookup_elem(&mg_ep6, &key);
	}
	c->found += ep != NULL;
	return 0;
}

/* The same over IPv6 destinations: the table of prefix6.h or mg_ep6. */
SEC("xdp")
int pfx_look6(struct xdp_md *ctx)
{
	struct look_ctx c = { .p = pos };

	bpf_loop(nlook, look_one6, &c, 0);
	pos = c.p + nlook * spread;
	hits += c.found;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
