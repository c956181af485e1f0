/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IPv4 endpoint prefixes compiled into the DIR-16-8-8 table the
 * datapath walks instead of the mg_ep4 trie (layout: include/meshgate/abi.h,
 * reader: datapath/prefix.h), and its publication in the pinned maps as
 * a new generation swapped in with one write.
 */
#ifndef MG_PREFIX_H
#define MG_PREFIX_H

#include <stddef.h>
#include <meshgate/abi.h>

struct mg_pfx4 {
	struct mg_pfx_chunk32 l1[256];
	struct mg_pfx_chunk16 *l2, *l3;
	size_t n_l2, n_l3; /* chunks used */
	size_t cap_l2, cap_l3; /* chunks allocated */
};

/* The 16-bit answer of an endpoint value (0 never: ids are 1..255). */
static inline __u16 mg_pfx_leaf(const struct mg_ep_val *v)
{
	return v->cluster_id |
	       ((v->flags & MG_EP_F_LOCAL) ? MG_PFX_LEAF_LOCAL : 0);
}

/*
 * Compile the n prefixes k[i] -> v[i] (as written to mg_ep4; bits past a
 * prefix's length ignored, as the trie does; of two equal prefixes the
 * later wins) into t (zeroed or freed before).  Returns 0, -EINVAL for a
 * length over 32 or a cluster id 0, -E2BIG past MG_PFX_L3_MAX level-3
 * chunks (t is then freed), -ENOMEM.
 */
int mg_pfx4_build(struct mg_pfx4 *t, const struct mg_ep4_key *k,
		  const struct mg_ep_val *v, size_t n);
/*
 * The same over keys and values @stride bytes apart (k[i] at k + i *
 * stride): records of key then value, as the agent's map sync keeps them.
 */
int mg_pfx4_build_stride(struct mg_pfx4 *t, const struct mg_ep4_key *k,
			 const struct mg_ep_val *v, size_t stride, size_t n);

/* The leaf of the longest prefix holding addr (network order); 0: none. */
__u16 mg_pfx4_find(const struct mg_pfx4 *t, __u32 addr);

/* What the table takes in the kernel's maps, in bytes. */
size_t mg_pfx4_bytes(const struct mg_pfx4 *t);

void mg_pfx4_free(struct mg_pfx4 *t);

/* The pinned maps a table is published into (0: not there). */
struct mg_pfx_maps {
	int gen; /* mg_pfx_gen */
	int ans; /* mg_pfx_ans */
	int l1, l2, l3; /* mg_pfx4_l1, mg_pfx4_l2, mg_pfx4_l3 (outer) */
};

/*
 * Make t the table the datapath reads: its level maps are created and
 * filled aside, put in the inactive generation's slots, then mg_pfx_gen
 * names that generation (one write); the other generation's maps are then
 * dropped (a reader still walking them finds a slot empty and asks the
 * trie, which holds the same prefixes).  Returns 0 or -errno (the table
 * in use is then left as it was).
 */
int mg_pfx4_publish(const struct mg_pfx_maps *m, const struct mg_pfx4 *t);

/*
 * mg_pfx_ans: leaf -> the endpoint value the datapath hands its callers
 * (shared by the IPv4 and IPv6 tables).  Returns 0 or -errno.
 */
int mg_pfx_write_answers(int fd);

/* Back to the trie: mg_pfx_gen says no table, both generations dropped. */
int mg_pfx4_disable(const struct mg_pfx_maps *m);

#endif
