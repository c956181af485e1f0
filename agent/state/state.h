/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Replicated endpoint and service state: Scuttlebutt with single-writer
 * origins (van Renesse et al., LADIS 2008), chitchat-style tombstones and
 * resets.  Sans-IO: no sockets, no timers; the caller brings the clock.
 *
 * An origin is a gateway, named by its memberlist node name.  It alone writes
 * its entries, keyed by (kind, key).  Every write by the origin takes the next
 * version of that origin (u64, strictly increasing), and the entry keeps the
 * version of its last write; a delete leaves a tombstone carrying the delete's
 * version.  For every origin a store keeps:
 *
 *	max_version	it holds every write of that origin up to here, except
 *	gc_floor	tombstones at or below this, which it has collected.
 *
 * So a peer at version v needs the entries above v, in version order (a
 * "delta" from v), unless v < gc_floor: then it may hold entries whose
 * tombstones are gone, and it gets a "reset" (wipe that origin, here is all
 * of it).  Deltas travel as batches (from, to]: "these are all the writes in
 * (from, to]".  A store at v applies a batch only if from <= v < to; a batch
 * that would leave a gap is dropped and anti-entropy fills it later.
 *
 * statewire.h encodes all of this; this file is the store and the merge.
 */
#ifndef MG_GOSSIP_STATE_H
#define MG_GOSSIP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"

#define MG_STATE_NAME_MAX	63	/* node and cluster names, bytes */
#define MG_STATE_VAL_MAX	64	/* opaque value bytes */
/*
 * Longest encoded key, see mg_state_key_encode(): a BACKEND key with an IPv6
 * VIP and an IPv6 backend, proto + (family addr port) twice.  state.c checks
 * it against the encoder at build time and every encode against its buffer.
 */
#define MG_STATE_ADDR_ENC_MAX	(1 + 16)
#define MG_STATE_KEY_MAX	(1 + 2 * (MG_STATE_ADDR_ENC_MAX + 2))	/* 39 */
#define MG_STATE_ORIGINS_MAX	1024
#define MG_STATE_GW_ADDRS	3	/* tunnel addresses in a gateway info */
/*
 * Versions we take for ourselves stay below this (the year 148,000 in
 * microseconds), so a peer's claim cannot make us run out of versions.
 */
#define MG_STATE_VERSION_MAX	(1ull << 62)
/* Default bound on all entries of a store, tombstones included (~55 MiB). */
#define MG_STATE_ENTRIES_DEFAULT	(1u << 20)
/* chitchat's recommended marked_for_deletion_grace_period. */
#define MG_STATE_GRACE_DEFAULT_MS	(15ull * 60 * 1000)

enum mg_state_kind {
	MG_STATE_ENDPOINT = 1,	/* key: prefix; value: user flags only */
	MG_STATE_BACKEND = 2,	/* key: VIP:port/proto + backend IP:port */
	MG_STATE_GWINFO = 3,	/* no key (one per origin); value: gwinfo */
	/*
	 * key: as BACKEND; value: the service code's ejection record (a
	 * gateway's outlier detection ejected that backend).  A kind of its
	 * own, so that the owner's health entry of the same key stays.
	 */
	MG_STATE_EJECT = 4,
	MG_STATE_POLICY = 5,	/* key: rule id (0: the set); value: policy.h */
	MG_STATE_KIND_MAX = 5,
};

/* Value type tags; the service code defines its own from 16 up. */
enum mg_state_vtype {
	MG_STATE_VT_NONE = 0,
	MG_STATE_VT_GWINFO = 1,
};

struct mg_state_backend_key {
	struct mg_addr vip;
	struct mg_addr addr;
	uint16_t vport;		/* host order */
	uint16_t port;		/* host order */
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP, ... (not 0) */
};

struct mg_state_key {
	uint8_t kind;		/* enum mg_state_kind */
	union {
		struct mg_prefix ep;			/* MG_STATE_ENDPOINT */
		struct mg_state_backend_key be;		/* BACKEND, EJECT */
		uint32_t pol_id;			/* MG_STATE_POLICY */
	};
};

struct mg_state_val {
	uint8_t flags;		/* free for the kind's user (endpoint flags) */
	uint8_t type;		/* enum mg_state_vtype or a user tag */
	uint8_t len;		/* <= MG_STATE_VAL_MAX */
	uint8_t data[MG_STATE_VAL_MAX];
};

/* The value of MG_STATE_GWINFO, type MG_STATE_VT_GWINFO. */
struct mg_state_gwinfo {
	uint32_t generation;
	uint8_t n_addr;
	struct mg_addr addr[MG_STATE_GW_ADDRS];
};

/* One entry as the store hands it out or takes it in. */
struct mg_state_entry {
	struct mg_state_key key;
	struct mg_state_val val;	/* zeroed for a tombstone */
	uint64_t version;
	bool deleted;
	uint16_t origin;		/* origin index (out only) */
};

struct mg_state_origin_info {
	const char *name;
	const char *cluster_name;
	uint8_t cluster_id;
	bool self;
	uint64_t max_version;
	uint64_t gc_floor;
	uint32_t n_live;
	uint32_t n_tomb;
	/* mg_state_cfg.now_ms when its max version last advanced */
	uint64_t last_heard_ms;
	/* The rumour: writes above rumour_from not yet gossiped enough. */
	uint64_t rumour_from;
	uint32_t rumour_tx;
};

/*
 * What the change callback sees: one per real change of a live entry (a new
 * key, a different value or flags, a delete of a live entry).  Version-only
 * changes, tombstones of unknown keys and tombstone GC are not changes.
 * The callback must not modify the store.
 */
struct mg_state_change {
	uint16_t origin;		/* origin index */
	const char *origin_name;
	uint8_t cluster_id;
	const struct mg_state_key *key;
	const struct mg_state_val *old_val;	/* NULL: the key is new */
	const struct mg_state_val *new_val;	/* NULL: the key is gone */
	uint64_t version;
};

typedef void (*mg_state_change_fn)(void *ctx, const struct mg_state_change *c);

struct mg_state_cfg {
	const char *name;		/* our node name, 1..63 bytes */
	uint8_t cluster_id;		/* 1..255 */
	const char *cluster_name;	/* 0..63 bytes, NULL = "" */
	/*
	 * Our first version; 0 = wall-clock microseconds now.  See the version
	 * scheme in state.c.  Tests set it to play restarts.
	 */
	uint64_t version_base;
	uint64_t grace_ms;		/* tombstone GC; 0 = default */
	uint32_t max_entries;		/* 0 = MG_STATE_ENTRIES_DEFAULT */
	uint64_t hash_seed;		/* 0 = random */
	/* Monotonic milliseconds; NULL = CLOCK_MONOTONIC. */
	uint64_t (*now_ms)(void *ctx);
	mg_state_change_fn on_change;
	void *ctx;			/* for now_ms and on_change */
};

struct mg_state;

/* --- the store ------------------------------------------------------------ */

/* A store holding only ourselves (origin index 0).  0 or -EINVAL/-ENOMEM. */
int mg_state_new(const struct mg_state_cfg *cfg, struct mg_state **out);
void mg_state_free(struct mg_state *st);

/*
 * Write or delete one of our own entries under the next version.  Writing
 * the value a live entry already has and deleting a missing key are no-ops.
 * 0, -EINVAL (bad key or value), -ENOENT (del: not there), -ENOSPC (full).
 */
int mg_state_set_local(struct mg_state *st, const struct mg_state_key *key,
		       const struct mg_state_val *val);
int mg_state_del_local(struct mg_state *st, const struct mg_state_key *key);

/* Live or tombstoned entry of @origin under @key.  0 or -ENOENT. */
int mg_state_get(const struct mg_state *st, unsigned int origin,
		 const struct mg_state_key *key, struct mg_state_entry *e);

/* --- origins -------------------------------------------------------------- */

/* Number of origin slots; indices below it may be free (-ENOENT). */
unsigned int mg_state_origin_slots(const struct mg_state *st);
/* Origin index by name, or -ENOENT. */
int mg_state_origin_find(const struct mg_state *st, const char *name);
int mg_state_origin_get(const struct mg_state *st, unsigned int origin,
			struct mg_state_origin_info *info);
/*
 * Drop an origin's entries (with delete callbacks) once membership has
 * reaped it.  Its name and max version are remembered for one grace period,
 * so that peers that have not reaped it yet cannot bring the same state back:
 * only a reset above the remembered version (a restarted gateway) revives it.
 * 0, -ENOENT, -EINVAL (ourselves).
 */
int mg_state_forget_origin(struct mg_state *st, const char *name);

/*
 * Collect tombstones older than the grace period (raising gc_floor) and
 * forgotten origins whose grace has passed.  Returns how many it collected.
 */
unsigned int mg_state_gc(struct mg_state *st, uint64_t now_ms);

/* --- iteration ------------------------------------------------------------ */

struct mg_state_iter {
	uint32_t next;
};

#define MG_STATE_ITER_INIT	{ 0 }

/* Every live entry of every origin, in no particular order. */
bool mg_state_iter_next(const struct mg_state *st, struct mg_state_iter *it,
			struct mg_state_entry *e);

/*
 * An origin's entries (tombstones too) with version > @since, in version
 * order: the body of a delta.  The store must not change during the walk.
 */
struct mg_state_cursor {
	uint32_t idx;
};

void mg_state_since(const struct mg_state *st, unsigned int origin,
		    uint64_t since, struct mg_state_cursor *c);
bool mg_state_cursor_next(const struct mg_state *st, struct mg_state_cursor *c,
			  struct mg_state_entry *e);

/* --- merge ---------------------------------------------------------------- */

/*
 * A batch of one origin's writes.  A delta claims every write in (from, to];
 * a reset claims every write up to @to, with tombstones at or below @from
 * (the sender's gc_floor) collected.
 */
struct mg_state_batch {
	const char *origin;		/* 1..63 bytes */
	const char *cluster_name;	/* 0..63 bytes */
	uint8_t cluster_id;		/* 1..255 */
	bool reset;
	uint64_t from;
	uint64_t to;
};

enum mg_state_verdict {
	MG_STATE_APPLY = 1,	/* entries will be merged */
	MG_STATE_IGNORE = 0,	/* stale, gapped, our own, or forgotten */
};

/* In-progress merge of one batch; opaque to callers. */
struct mg_state_apply {
	struct mg_state_batch b;
	unsigned int origin;
	uint64_t above;		/* apply entries above this version */
	uint64_t last;		/* version of the last entry seen */
	uint64_t done;		/* version up to which the batch is applied */
	bool wipe;
	bool active;
	bool full;
};

/*
 * Merge a batch entry by entry: begin says whether it applies (and, for a
 * reset of an origin we are behind on, marks that origin's entries for the
 * sweep), entry takes entries in strictly increasing version order within
 * the batch's range, end sweeps and moves max_version to @to (or to the last
 * entry merged if the store filled up).  A batch for our own origin is never
 * merged, but if it claims versions above ours we jump past them (restart).
 * begin: MG_STATE_APPLY, MG_STATE_IGNORE or -EINVAL; entry: 0 or -EINVAL
 * (out of order, out of range, bad key) or -ENOSPC; after an error, call end
 * to close the batch at the last good entry.
 */
int mg_state_apply_begin(struct mg_state *st, const struct mg_state_batch *b,
			 struct mg_state_apply *ap);
int mg_state_apply_entry(struct mg_state *st, struct mg_state_apply *ap,
			 const struct mg_state_entry *e);
int mg_state_apply_end(struct mg_state *st, struct mg_state_apply *ap);
/* All three for an array of entries.  Verdict as begin, or -errno. */
int mg_state_apply_delta(struct mg_state *st, const struct mg_state_batch *b,
			 const struct mg_state_entry *e, size_t n);

/*
 * A peer says it holds @origin_name up to @max.  If that is above what we
 * hold for ourselves, a previous incarnation of us wrote it: jump our
 * version and gc_floor past it, so that every peer gets a reset.
 */
void mg_state_observe(struct mg_state *st, const char *origin_name,
		      uint64_t max);

/*
 * The rumour of @origin (its writes above rumour_from) went out once more;
 * after @limit times it is over until the origin advances again.
 */
void mg_state_rumour_sent(struct mg_state *st, unsigned int origin,
			  unsigned int limit);

/* --- keys and values ------------------------------------------------------ */

/*
 * Canonical key bytes (also the wire form), by kind:
 *	ENDPOINT  family(4|6) len addr(4|16)
 *	BACKEND   proto vfamily vip vport(be16) family addr port(be16)
 *	GWINFO    (empty)
 *	POLICY    id(be32)
 * Returns the length (<= MG_STATE_KEY_MAX), -EINVAL, or -ENOSPC when it
 * would not fit in @size bytes (nothing written past @size).  Decoding
 * refuses anything that would not encode back to the same bytes (prefix
 * length past the family, host bits set, trailing bytes).
 */
int mg_state_key_encode(const struct mg_state_key *key, uint8_t *buf,
			size_t size);
int mg_state_key_decode(uint8_t kind, const uint8_t *buf, size_t len,
			struct mg_state_key *key);

int mg_state_gwinfo_encode(const struct mg_state_gwinfo *gi,
			   struct mg_state_val *val);
int mg_state_gwinfo_decode(const struct mg_state_val *val,
			   struct mg_state_gwinfo *gi);

/* Bytes the store holds in the heap (arena, hash, tombstone queue...). */
size_t mg_state_mem_bytes(const struct mg_state *st);

#endif
