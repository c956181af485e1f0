/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Endpoint lookups: which cluster an address belongs to (mg_ep4, mg_ep6
 * and the prefix table, prefix.h), and whether it is one of our own.
 */
#ifndef MG_DP_ENDPOINT_H
#define MG_DP_ENDPOINT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"
#include "prefix.h"
#include "prefix6.h"

/*
 * The IPv4 endpoint entry of addr as a scalar: 0 none, else MG_EP_FOUND |
 * flags << 8 | cluster id.  A global function: the table and the trie
 * answer from two maps, and two kinds of pointer on every path after the
 * lookup made the verifier walk each path twice (with policy, traffic
 * controls and the table merged, past its 1M-instruction limit).
 */
#define MG_EP_FOUND 0x10000

__attribute__((noinline)) int mg_ep4_find(__u32 addr)
{
	struct mg_ep4_key key = { .prefixlen = 32, .addr = addr };
	struct mg_ep_val *ep;

	if (!mg_pfx4_find(addr, &ep))
		ep = bpf_map_lookup_elem(&mg_ep4, &key);
	return ep ? MG_EP_FOUND | ep->flags << 8 | ep->cluster_id : 0;
}

/* Per-CPU room for the one entry mg_ep4_lookup() hands out at a time. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mg_ep_val);
} mg_ep_tmp SEC(".maps");

/*
 * mg_ep4_find() as an entry (cluster_id and flags; no version), valid
 * until the next call: callers hold one at a time.
 */
static __always_inline struct mg_ep_val *mg_ep4_lookup(__u32 addr)
{
	int r = mg_ep4_find(addr);
	struct mg_ep_val *ep;
	__u32 zero = 0;

	if (!(r & MG_EP_FOUND))
		return NULL;
	ep = bpf_map_lookup_elem(&mg_ep_tmp, &zero);
	if (ep) {
		ep->cluster_id = r & 0xff;
		ep->flags = (r >> 8) & 0xff;
	}
	return ep;
}

/* mg_ep4_find() for IPv6: the table (prefix6.h), else the mg_ep6 trie. */
__attribute__((noinline)) int mg_ep6_find(__u32 a0, __u32 a1, __u32 a2,
					  __u32 a3)
{
	struct mg_ep6_key key = { .prefixlen = 128,
				  .addr = { a0, a1, a2, a3 } };
	__u32 leaf = mg_pfx6_leaf(a0, a1, a2, a3);
	struct mg_ep_val *ep;

	if (leaf & MG_PFX_FOUND) /* the leaf: cluster id | MG_PFX_LEAF_LOCAL */
		return leaf & 0xff ? MG_EP_FOUND | (leaf & 0xff) |
					     (leaf & MG_PFX_LEAF_LOCAL ?
						      MG_EP_F_LOCAL << 8 :
						      0) :
				     0;
	ep = bpf_map_lookup_elem(&mg_ep6, &key);
	return ep ? MG_EP_FOUND | ep->flags << 8 | ep->cluster_id : 0;
}

/* mg_ep4_lookup() for IPv6 (the same per-CPU room). */
static __always_inline struct mg_ep_val *mg_ep6_lookup(const void *addr)
{
	const __u32 *a = addr;
	int r = mg_ep6_find(a[0], a[1], a[2], a[3]);
	struct mg_ep_val *ep;
	__u32 zero = 0;

	if (!(r & MG_EP_FOUND))
		return NULL;
	ep = bpf_map_lookup_elem(&mg_ep_tmp, &zero);
	if (ep) {
		ep->cluster_id = r & 0xff;
		ep->flags = (r >> 8) & 0xff;
	}
	return ep;
}

/*
 * Is addr inside this cluster's own prefixes?  mg_local4 / mg_local6 hold
 * only those (a few entries, a shallow trie, where mg_ep4 / mg_ep6 hold
 * every cluster's); an address they miss is looked up in the whole table,
 * so the answer never depends on the agent having filled them.
 */
static __always_inline int mg_is_local4(__u32 addr)
{
	struct mg_ep4_key key = { .prefixlen = 32, .addr = addr };

	if (bpf_map_lookup_elem(&mg_local4, &key))
		return 1;
	return !!(mg_ep4_find(addr) & (MG_EP_F_LOCAL << 8));
}

static __always_inline int mg_is_local6(const void *addr)
{
	struct mg_ep6_key key = { .prefixlen = 128 };
	const __u32 *a = addr;

	__builtin_memcpy(key.addr, addr, 16);
	if (bpf_map_lookup_elem(&mg_local6, &key))
		return 1;
	return !!(mg_ep6_find(a[0], a[1], a[2], a[3]) & (MG_EP_F_LOCAL << 8));
}

#endif
