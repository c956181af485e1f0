/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's view of the mesh, turned into the datapath's maps.  Whoever
 * knows about gateways (static config now, gossip later) fills a
 * struct mg_view; mg_dpmaps_sync() makes the pinned maps say exactly that:
 * new and changed entries are written first, stale ones deleted after, so
 * a flow never sees a gap.
 */
#ifndef MG_DPMAPS_H
#define MG_DPMAPS_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/addr.h"
#include "config.h"
#include "prefix.h"
#include "prefix6.h"

struct mg_view_gw {
	char name[MG_CFG_NAME_MAX];
	__u8 cluster_id;
	bool alive;
	bool accept;		/* not alive, its tunnel traffic still taken
				 * (draining, liveness.h) */
	struct mg_addr tunnel;		/* where we send its tunnel traffic */
	struct mg_addr tunnel_alt;	/* its other family's, family 0 if none:
					 * accepted from, never sent to */
	int n_prefixes;
	const struct mg_prefix *prefixes;
	__u32 version;		/* origin's version of its endpoint set */
};

struct mg_view {
	__u8 cluster_id;			/* own */
	int n_local;
	const struct mg_prefix *local;		/* own cluster's prefixes */
	int n_gw;
	const struct mg_view_gw *gw;		/* remote gateways */
};

/* Map file descriptors the sync writes to. */
/*
 * What was last written to a map, sorted by key, so that the next sync
 * writes only the difference: with 100k endpoints a full reconcile (a
 * walk of the map and a lookup per entry it holds) costs ~0.3 s, the
 * difference costs what changed.  A full reconcile still runs at first and every
 * MG_MAP_FULL_MS, and after any failure, to repair drift.
 */
struct mg_map_cache {
	void *recs;		/* n records of key then value, packed */
	size_t n;
	size_t bytes;		/* of recs */
	unsigned long long full_ms;
	bool valid;
};

#define MG_MAP_FULL_MS	60000

struct mg_dpmaps {
	int ep4, ep6, clus, peer4, peer6;
	int local4, local6;	/* own addresses only (aggregated); 0: none */
	struct mg_map_cache ep4c, ep6c;
	bool keep;		/* write, but delete nothing (startup) */
	/*
	 * The compiled IPv4 prefix table (prefix.h): its maps (pfx.gen 0:
	 * none), whether to publish it ([limits] prefix_lookup = table),
	 * what the datapath reads, and a hash of the prefix set last
	 * published, so an unchanged set is not compiled again.
	 */
	struct mg_pfx_maps pfx;
	bool pfx_table;
	enum { MG_PFX_UNKNOWN, MG_PFX_OFF, MG_PFX_ON, MG_PFX_FAILED } pfx_state;
	unsigned long long pfx_hash;
	size_t pfx_bytes;	/* the table in use, in the kernel */
	/*
	 * A hash of what mg_ep4 and mg_ep6 were last built from (the view's
	 * prefixes, their clusters and versions): a view that differs only
	 * in liveness (a suspicion, a refutation) skips rebuilding them,
	 * which at a million prefixes is seconds and 40 MB for nothing.
	 */
	unsigned long long ep_hash;
	bool ep_hash_ok;
	/* The compiled IPv6 prefix table (prefix6.h), on with pfx_table. */
	struct mg_pfx6_state pfx6;
};

struct mg_sync_stats {
	unsigned int written, deleted, failed;
};

/*
 * The flow slots of a cluster: slot i goes to the (i mod n)-th live
 * gateway.  Exposed for the tests.  Returns the number of live gateways.
 */
int mg_cluster_build(const struct mg_view *v, __u8 cluster_id,
		     struct mg_cluster_val *out);

int mg_dpmaps_sync(struct mg_dpmaps *m, const struct mg_view *v,
		   struct mg_sync_stats *st);
void mg_dpmaps_free(struct mg_dpmaps *m);

/*
 * mg_map_reconcile() through a cache of what was last written: only the
 * difference goes to the kernel (see struct mg_map_cache).
 */
int mg_map_sync_cached(int fd, const char *name, struct mg_map_cache *c,
		       size_t key_size, size_t val_size, const void *keys,
		       const void *vals, size_t n, struct mg_sync_stats *st);

/*
 * Make map fd hold exactly n entries (keys[i] -> vals[i]): what it holds is
 * read by walking its keys (exact, also on an LPM trie), new and changed
 * entries are written, then any other key is deleted.  Returns 0, or
 * -errno of the first failure (the rest is still attempted; a full map is
 * logged with mg_map_full_hint()).
 */
int mg_map_reconcile(int fd, const char *name, size_t key_size,
		     size_t val_size, const void *keys, const void *vals,
		     size_t n, struct mg_sync_stats *st);

/*
 * The fewest prefixes covering exactly the addresses of p[0..n) (one
 * family): covered prefixes dropped, the two halves of a prefix merged
 * into it.  In place; returns how many are left, sorted by address.
 */
size_t mg_prefix_aggregate(struct mg_prefix *p, size_t n);

/*
 * "map NAME is full (max_entries N, W wanted): raise KNOB in
 * include/meshgate/limits.h", for the error of a write that found the map
 * full (E2BIG or ENOSPC).
 */
void mg_map_full_hint(int fd, const char *name, size_t wanted, char *buf,
		      size_t len);

#endif
