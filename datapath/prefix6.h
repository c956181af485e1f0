/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IPv6 endpoint lookup through the compiled prefix table (maps.h,
 * layout in include/meshgate/abi.h): an array lookup says which prefix
 * lengths the address's region holds, then one hash lookup per such
 * length, longest first, where the mg_ep6 trie walks up to 128 nodes.
 * With no table published (the agent's [limits] prefix_lookup = trie, a
 * set it could not compile, or none yet) the caller asks the trie, which
 * always holds the same prefixes.
 */
#ifndef MG_DP_PREFIX6_H
#define MG_DP_PREFIX6_H

#include "maps.h"

#ifndef MG_PFX_FOUND
#define MG_PFX_FOUND 0x80000000u
#endif

/*
 * The walk is a global function with scalar arguments (the address as
 * four network-order words) and a scalar return: the verifier checks it
 * once, on its own.  Returns 0 when there is no table to ask (none
 * published, or a generation dropped under this reader), else
 * MG_PFX_FOUND | the leaf (0: no prefix holds the address).
 */
__attribute__((noinline)) int mg_pfx6_leaf(__u32 a0, __u32 a1, __u32 a2,
					   __u32 a3)
{
	__u32 zero = 0, g, n, bm = 0xffff, kb, sh, w, r;
	struct mg_pfx_chunk16 *ch;
	struct mg_pfx6_lens *ls;
	struct mg_pfx6_key k;
	struct mg_pfx_gen *gen;
	__u64 win;
	__u32 *leaf;
	void *m, *rm;

	gen = bpf_map_lookup_elem(&mg_pfx6_gen, &zero);
	if (!gen || !gen->active)
		return 0;
	g = gen->active - 1;
	ls = bpf_map_lookup_elem(&mg_pfx6_lens, &g);
	m = bpf_map_lookup_elem(&mg_pfx6, &g);
	if (!ls || !m)
		return 0;
	/* Outside the bits every prefix shares: in no prefix. */
	if ((a0 & ls->bmask[0]) != ls->base[0] ||
	    (a1 & ls->bmask[1]) != ls->base[1] ||
	    (a2 & ls->bmask[2]) != ls->base[2] ||
	    (a3 & ls->bmask[3]) != ls->base[3])
		return MG_PFX_FOUND;
	/* The region's lengths: the k bits after those c, in a 64-bit window. */
	kb = ls->k;
	if (kb && kb <= MG_PFX6_RGN_BITS) {
		w = ls->c >> 5;
		sh = ls->c & 31;
		if (w == 0)
			win = (__u64)bpf_ntohl(a0) << 32 | bpf_ntohl(a1);
		else if (w == 1)
			win = (__u64)bpf_ntohl(a1) << 32 | bpf_ntohl(a2);
		else if (w == 2)
			win = (__u64)bpf_ntohl(a2) << 32 | bpf_ntohl(a3);
		else
			win = (__u64)bpf_ntohl(a3) << 32;
		r = (win << sh) >> (64 - kb);
		rm = bpf_map_lookup_elem(&mg_pfx6_rgn, &g);
		if (!rm)
			return 0;
		w = r >> 8;
		ch = bpf_map_lookup_elem(rm, &w);
		if (!ch)
			return 0;
		bm = ch->s[r & 0xff];
	}
	n = ls->n;
	for (__u32 i = 0; i < MG_PFX6_LENS; i++) {
		const struct mg_pfx6_len *l = &ls->l[i];

		if (i >= n)
			break;
		if (!(bm & 1u << i))
			continue;
		k.len = l->len;
		k.addr[0] = a0 & l->mask[0];
		k.addr[1] = a1 & l->mask[1];
		k.addr[2] = a2 & l->mask[2];
		k.addr[3] = a3 & l->mask[3];
		leaf = bpf_map_lookup_elem(m, &k);
		if (leaf)
			return MG_PFX_FOUND | (*leaf & (MG_PFX_ANSWERS - 1));
	}
	return MG_PFX_FOUND;
}

/*
 * The endpoint of addr (16 bytes, network order) by the table: returns 1
 * with *ep the answer (NULL: no prefix holds addr), or 0 when there is no
 * table to ask.
 */
static __always_inline int mg_pfx6_find(const void *addr, struct mg_ep_val **ep)
{
	const __u32 *a = addr;
	__u32 leaf = mg_pfx6_leaf(a[0], a[1], a[2], a[3]);

	if (!(leaf & MG_PFX_FOUND))
		return 0;
	leaf &= MG_PFX_ANSWERS - 1;
	*ep = leaf ? bpf_map_lookup_elem(&mg_pfx_ans, &leaf) : NULL;
	return 1;
}

#endif
