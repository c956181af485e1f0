/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The IPv6 endpoint prefixes compiled into the table the datapath reads
 * instead of the mg_ep6 trie: one hash map keyed by (length, masked
 * address), the lengths present, longest first, and per region of the
 * addresses which lengths it holds (layout:
 * include/meshgate/abi.h, reader: datapath/prefix6.h), published in the
 * pinned maps as a new generation swapped in with one write.
 */
#ifndef MG_PREFIX6_H
#define MG_PREFIX6_H

#include <stdbool.h>
#include <stddef.h>
#include <meshgate/abi.h>

struct mg_pfx6 {
	struct mg_pfx6_key *k; /* sorted, one per prefix */
	__u32 *leaf; /* beside k */
	size_t n;
	struct mg_pfx6_lens lens;
	struct mg_pfx_chunk16 *rgn; /* 2^lens.k slots (none for k 0) */
	size_t n_rgn; /* chunks */
};

/*
 * Compile the n prefixes k[i] -> v[i] (as written to mg_ep6; bits past a
 * prefix's length ignored, as the trie does; of two equal prefixes the
 * later wins) into t.  Returns 0, -EINVAL for a length over 128 or a
 * cluster id 0, -E2BIG for more than max prefixes or more than
 * MG_PFX6_LENS lengths (t is then empty), -ENOMEM.
 */
int mg_pfx6_build(struct mg_pfx6 *t, const struct mg_ep6_key *k,
		  const struct mg_ep_val *v, size_t n, size_t max);

/* The leaf of the longest prefix holding addr (network order); 0: none. */
__u16 mg_pfx6_find(const struct mg_pfx6 *t, const __u32 addr[4]);

/*
 * What the table takes in the kernel's maps, in bytes: the preallocated
 * hash map (the kernel's element: a 48-byte header, the key and the value
 * each rounded up to 8 bytes; a 16-byte bucket per power of two), the
 * lengths and the regions.
 */
size_t mg_pfx6_bytes(const struct mg_pfx6 *t);

void mg_pfx6_free(struct mg_pfx6 *t);

/* The pinned maps a table is published into (0: not there). */
struct mg_pfx6_maps {
	int gen; /* mg_pfx6_gen */
	int ans; /* mg_pfx_ans (shared with IPv4) */
	int h; /* mg_pfx6 (outer) */
	int lens; /* mg_pfx6_lens */
	int rgn; /* mg_pfx6_rgn (outer) */
};

/*
 * Make t the table the datapath reads: the inactive generation's lengths
 * are written and its hash map created, filled and put in its slot of
 * mg_pfx6, then mg_pfx6_gen names that generation (one write); the other
 * generation's map is then dropped (a reader still on it finds its slot
 * empty and asks the trie, which holds the same prefixes).  Returns 0 or
 * -errno (the table in use is then left as it was).
 */
int mg_pfx6_publish(const struct mg_pfx6_maps *m, const struct mg_pfx6 *t);

/* Back to the trie: mg_pfx6_gen says no table, both generations dropped. */
int mg_pfx6_disable(const struct mg_pfx6_maps *m);

/* What the agent keeps of the table between syncs. */
struct mg_pfx6_state {
	struct mg_pfx6_maps maps; /* gen 0: no table maps */
	size_t max; /* prefixes at most (mg_ep6's size) */
	enum { MG_PFX6_UNKNOWN, MG_PFX6_OFF, MG_PFX6_ON, MG_PFX6_FAILED } state;
	unsigned long long hash; /* of the set last compiled */
	size_t bytes; /* the table in use, in the kernel */
};

/*
 * After the prefixes k -> v were written to mg_ep6: with on, compile and
 * publish them (only when the set changed); else (or when that fails,
 * logged once per set and counted in *failed) the datapath reads the trie.
 */
void mg_pfx6_sync(struct mg_pfx6_state *s, bool on, const struct mg_ep6_key *k,
		  const struct mg_ep_val *v, size_t n, unsigned int *failed);

#endif
