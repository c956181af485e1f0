/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IPv4 endpoint lookup through the compiled prefix table (maps.h,
 * layout in include/meshgate/abi.h): at most three array lookups where
 * the mg_ep4 trie walks up to 32 nodes.  With no table published (the
 * agent's [limits] prefix_lookup = trie, or none yet) the caller asks the
 * trie, which always holds the same prefixes.
 */
#ifndef MG_DP_PREFIX_H
#define MG_DP_PREFIX_H

#include "maps.h"

/*
 * The endpoint of addr (network order) by the table: returns 1 with *ep
 * the answer (NULL: no prefix holds addr), or 0 when there is no table to
 * ask (none published, or a generation dropped under this reader).
 */
/*
 * The walk itself is a global function: the verifier checks it once, on its
 * own, rather than along every path of every caller (the program's paths
 * with MSS clamping otherwise pass the verifier's limit).  Returns 0 when
 * no table is published, else MG_PFX_FOUND | the leaf (0: no prefix).
 */
#define MG_PFX_FOUND 0x80000000u

__attribute__((noinline)) int mg_pfx4_leaf(__u32 addr)
{
	__u32 zero = 0, h = bpf_ntohl(addr), g, k, leaf;
	struct mg_pfx_chunk32 *c1;
	struct mg_pfx_chunk16 *c;
	struct mg_pfx_gen *gen;
	void *m;

	gen = bpf_map_lookup_elem(&mg_pfx_gen, &zero);
	if (!gen || !gen->active)
		return 0;
	g = gen->active - 1;
	m = bpf_map_lookup_elem(&mg_pfx4_l1, &g);
	if (!m)
		return 0;
	k = h >> 24;
	c1 = bpf_map_lookup_elem(m, &k);
	if (!c1)
		return 0;
	leaf = c1->s[(h >> 16) & 0xff];
	if (leaf & MG_PFX_L1_PTR) {
		m = bpf_map_lookup_elem(&mg_pfx4_l2, &g);
		if (!m)
			return 0;
		k = leaf & ~MG_PFX_L1_PTR;
		c = bpf_map_lookup_elem(m, &k);
		if (!c)
			return 0;
		leaf = c->s[(h >> 8) & 0xff];
		if (leaf >= MG_PFX_L2_PTR) {
			m = bpf_map_lookup_elem(&mg_pfx4_l3, &g);
			if (!m)
				return 0;
			k = leaf - MG_PFX_L2_PTR;
			c = bpf_map_lookup_elem(m, &k);
			if (!c)
				return 0;
			leaf = c->s[h & 0xff];
		}
	}
	return MG_PFX_FOUND | (leaf & (MG_PFX_ANSWERS - 1));
}

static __always_inline int mg_pfx4_find(__u32 addr, struct mg_ep_val **ep)
{
	__u32 leaf = mg_pfx4_leaf(addr);

	if (!(leaf & MG_PFX_FOUND))
		return 0;
	leaf &= MG_PFX_ANSWERS - 1;
	*ep = leaf ? bpf_map_lookup_elem(&mg_pfx_ans, &leaf) : NULL;
	return 1;
}

#endif
