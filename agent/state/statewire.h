/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Wire form of the replicated state (state.h), for memberlist user messages
 * (type 8) and the user state of push/pull.  Every message:
 *
 *	0x4d 'M'  0x01 (format)  kind  msgpack [digest, batches]
 *
 * A serf agent sharing the cluster takes the first byte for its own message
 * type (0..11 in serf 0.9) and drops ours without harm.
 *
 *	digest   nil | [[origin str, max_version uint, gc_floor uint]...]
 *	batches  [[flags, origin str, cluster_id, cluster_name str,
 *		   from, to, [entry...]]...]
 *		 flags bit 0: reset (from is then the sender's gc_floor)
 *	entry    [kind, key raw, dv, flags]			(no value)
 *		 [kind, key raw, dv, flags, vtype, value raw]
 *		 version = previous entry's (first: from, or 0 in a reset)
 *		 + dv, dv >= 1; flags: bits 0-7 the value's user flags,
 *		 bit 8 tombstone.  key: see mg_state_key_encode().
 *
 * Integers are msgpack's smallest unsigned forms, strings old-spec raw.  A
 * decoder skips array elements past the ones it knows and entries of kinds
 * it does not know, so later formats can add both.
 *
 * Kinds and the anti-entropy exchange (chitchat's syn / syn-ack / ack):
 *	DELTA		batches only: piggybacked gossip, or the last leg
 *	DIGEST		our digest (+ our own recent writes): starts a round
 *	DIGEST_DELTAS	the answer: our digest + what the peer's digest lacks
 * A receiver of DIGEST answers DIGEST_DELTAS; a receiver of DIGEST_DELTAS
 * answers DELTA with what the answerer lacks; DELTA needs no answer.  Resets
 * are batches (flag bit 0), so any message that carries batches can carry
 * them.
 */
#ifndef MG_GOSSIP_STATEWIRE_H
#define MG_GOSSIP_STATEWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "state/state.h"

#define MG_SW_MAGIC		0x4d	/* 'M' */
#define MG_SW_FORMAT		1
#define MG_SW_HDR_LEN		3
/* Decoder bounds, per message. */
#define MG_SW_ENTRIES_MAX	(1u << 20)
#define MG_SW_BATCHES_MAX	MG_STATE_ORIGINS_MAX
#define MG_SW_DIGEST_MAX	MG_STATE_ORIGINS_MAX
/* What a piggybacked DELTA may take of a 1400-byte UDP packet. */
#define MG_SW_GOSSIP_BUDGET	1000

enum mg_sw_kind {
	MG_SW_DELTA = 1,
	MG_SW_DIGEST = 2,
	MG_SW_DIGEST_DELTAS = 3,
};

#define MG_SW_BATCH_RESET	0x01
#define MG_SW_ENTRY_DELETED	0x100

/* True when @msg starts like one of ours (magic and format). */
bool mg_sw_is_state(const void *msg, size_t len);

/*
 * Validate a whole message without touching any store.  Returns its kind,
 * -EPROTONOSUPPORT (not ours or a later format), -EBADMSG (malformed or
 * truncated) or -E2BIG (past the decoder bounds).
 */
int mg_sw_check(const void *msg, size_t len);

/*
 * Receive a message: validate it whole, then merge its batches and let a
 * digest in it raise our version if it shows a previous incarnation of ours.
 * When @reply is not NULL, it is reset and gets the answer the kind calls
 * for, batches capped at about @reply_budget bytes (resets excepted, see
 * mg_state_encode_reset()); an empty @reply means "send nothing".  Returns
 * the kind, or an error of mg_sw_check(), or -ENOMEM.
 */
int mg_state_recv(struct mg_state *st, const void *msg, size_t len,
		  size_t reply_budget, struct mg_buf *reply);

/*
 * A DELTA of @origin's writes above @since, in version order, within
 * @budget bytes: cut short at an entry (each has its own version), the batch
 * then ends at the last entry it holds, so the receiver stays gap-free.
 * Appends to @out.  Returns the entries it holds, -ESTALE when @since is
 * below the origin's gc_floor (the peer needs a reset), -ENOENT (no origin),
 * -ENOSPC (not even an empty batch fits) or -ENOMEM.
 */
int mg_state_deltas_since(const struct mg_state *st, unsigned int origin,
			  uint64_t since, size_t budget, struct mg_buf *out);

/*
 * A DELTA holding a reset of @origin: every entry of it, tombstones too.
 * The entries at or below the gc_floor go out whatever @budget says (a peer
 * cannot use less); the rest stop at the budget like a delta.
 */
int mg_state_encode_reset(const struct mg_state *st, unsigned int origin,
			  size_t budget, struct mg_buf *out);

/*
 * Piggybacked gossip: a DELTA of the current rumours (every origin whose
 * max version advanced lately, ours and relayed ones), fewest transmissions
 * first, within @budget; each rumour ends after @limit transmissions (the
 * agent passes memberlist's retransmit limit).  Appends to @out; returns
 * the batches it holds, 0 when there is nothing to say (@out untouched).
 */
int mg_state_gossip(struct mg_state *st, size_t budget, unsigned int limit,
		    struct mg_buf *out);

/*
 * Start an anti-entropy round: a DIGEST message (our digest, O(origins),
 * plus our own rumour within @budget).  Appends to @out.  0 or -ENOMEM.
 */
int mg_state_digest(const struct mg_state *st, size_t budget,
		    struct mg_buf *out);

#endif
