/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a memberlist member needs of serf's own layer to be a well-behaved
 * member of a serf pool (serf 0.9.4, serf/serf.go and serf/delegate.go):
 *
 *   - serf's three Lamport clocks (member status, user events, queries),
 *     witnessed from everything serf sends, kept across restarts by the
 *     caller (mg_serf_clock_get/set);
 *   - the member intents (serf messages 0 "leave" and 1 "join", each with
 *     an LTime), honoured as serf does: a member's status follows its newest
 *     intent; a leave intent about ourselves while we are not leaving is
 *     refuted with a newer join intent; new intents are relayed;
 *   - serf's push/pull state (message 2, messagePushPull: LTime,
 *     StatusLTimes, LeftMembers, EventLTime, Events, QueryLTime), sent and
 *     merged as serf does.  A caller's own state rides in the same msgpack
 *     map under MG_SERF_PP_EXTRA: serf decodes the map into its struct and
 *     skips keys it does not know.
 *
 * serf shows a member that leaves as "left" only when the leave intent
 * reaches it before the member's own death; serf handles user messages
 * last-in first-out, so the intent has to go out ahead of the death
 * (MG_SERF_INTENT_LEAD_MS), not beside it.  A member that comes back must
 * send a join intent newer than its leave, or serf agents keep it "leaving".
 */
#ifndef MG_GOSSIP_SERF_H
#define MG_GOSSIP_SERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct mg_member;

#define MG_SERF_LEAVE_INTENT	0
#define MG_SERF_JOIN_INTENT	1
#define MG_SERF_PUSH_PULL	2
#define MG_SERF_USER_EVENT	3
#define MG_SERF_QUERY		4
#define MG_SERF_TYPE_MAX	9	/* messageRelayType, serf's last */
#define MG_SERF_INTENT_LEAD_MS	1000
/* Members whose intents we remember (serf keeps every member's). */
#define MG_SERF_MEMBERS_MAX	4096
/*
 * serf's EventBuffer and QueryBuffer (512 Lamport times each): an event or
 * query older than the clock minus this is ignored, as serf ignores it.
 * Per Lamport time we remember at most MG_SERF_SEEN_PER_TIME of them (serf
 * appends without bound); one more is dropped and counted, not relayed.
 */
#define MG_SERF_BUFFER		512
#define MG_SERF_SEEN_PER_TIME	16
/* Our own key in serf's push/pull map: serf skips it. */
#define MG_SERF_PP_EXTRA	"Meshgate"

struct mg_serf;

/* What the event and query buffers did. */
struct mg_serf_stats {
	uint64_t events_new;	/* relayed */
	uint64_t events_seen;	/* already seen: not relayed */
	uint64_t events_old;	/* older than the buffer: ignored */
	uint64_t queries_new;
	uint64_t queries_seen;
	uint64_t queries_old;
	uint64_t seen_full;	/* MG_SERF_SEEN_PER_TIME hit: dropped */
};

/* Lamport times, as serf's LamportClock: the next time to use. */
struct mg_serf_clock {
	uint64_t ltime;		/* member status intents */
	uint64_t event;		/* user events */
	uint64_t query;		/* queries */
};

/* @self: our node name.  NULL on -ENOMEM. */
struct mg_serf *mg_serf_new(const char *self);
void mg_serf_free(struct mg_serf *s);

void mg_serf_clock_get(const struct mg_serf *s, struct mg_serf_clock *c);
/* Witness a clock read back after a restart. */
void mg_serf_clock_witness(struct mg_serf *s, const struct mg_serf_clock *c);

/*
 * Our join intent at the clock's time (serf's broadcastJoin), or our leave
 * intent (serf's Leave: at the clock's time, then the clock moves on; from
 * then on leave intents about us are not refuted).  The message as a user
 * message body (serf type byte first).
 */
int mg_serf_join_msg(struct mg_serf *s, struct mg_buf *out);
int mg_serf_leave_msg(struct mg_serf *s, struct mg_buf *out);

enum mg_serf_verdict {
	MG_SERF_NOT_SERF = 0,	/* not a serf message: the caller's own */
	MG_SERF_DONE,		/* handled, nothing to do */
	MG_SERF_RELAY,		/* a new intent: relay the message as is */
	MG_SERF_REFUTE,		/* an intent says we leave: send a join */
	MG_SERF_RESPONSE,	/* a query response: the caller's if it asked */
	MG_SERF_FORWARD,	/* a relayed message: forward it (serfquery.h) */
};

/*
 * A user message (type byte first).  Intents are applied as serf applies
 * them.  A user event or query new to the buffer of its Lamport clock is
 * MG_SERF_RELAY (serf's handleUserEvent / handleQuery): relay it as it came
 * (a query unless it says NoBroadcast) and, for a query, answer it if it
 * is one of ours to answer.  Malformed serf messages are MG_SERF_DONE.
 */
enum mg_serf_verdict mg_serf_user_msg(struct mg_serf *s, const uint8_t *p,
				      size_t n);

/*
 * Our push/pull state: serf's messagePushPull with every member we know the
 * status time of, @left_fn telling which of them memberlist holds as left,
 * and @extra (may be NULL) under MG_SERF_PP_EXTRA.
 */
int mg_serf_push_pull_encode(struct mg_serf *s,
			     bool (*left_fn)(void *ctx, const char *name),
			     void *ctx, const uint8_t *extra, size_t extra_len,
			     struct mg_buf *out);
/*
 * Merge a remote push/pull state as serf's MergeRemoteState does.  Sets
 * *extra to the bytes under MG_SERF_PP_EXTRA (NULL if none).  Returns
 * MG_SERF_NOT_SERF (not a push/pull state), MG_SERF_DONE or MG_SERF_REFUTE
 * (it lists us as left or leaving: send a join), or -EBADMSG.
 */
int mg_serf_push_pull_merge(struct mg_serf *s, const uint8_t *p, size_t n,
			    const uint8_t **extra, size_t *extra_len);

/*
 * Forget the intents of names @keep does not keep (members gone from the
 * member table; serf forgets reaped members and old intents too).  Our own
 * is kept.  Returns how many were forgotten.
 */
unsigned int mg_serf_prune(struct mg_serf *s,
			   bool (*keep)(void *ctx, const char *name), void *ctx);

const struct mg_serf_stats *mg_serf_stats(const struct mg_serf *s);
/*
 * A query we send ourselves: its Lamport time (the clock's, then witnessed
 * as serf's Query does) and it marked seen, so that it is not relayed back.
 */
uint64_t mg_serf_query_time(struct mg_serf *s, uint32_t id);

/* A member's status as its intents say: its status time, leaving or not. */
int mg_serf_member(const struct mg_serf *s, const char *name, uint64_t *ltime,
		   bool *leaving);

/*
 * For a member that keeps only serf's status clock (tests/bench/mgpeer):
 * witness the LTime of an intent or of a push/pull state, and the leave
 * intent for @name at *ltime + 1 (encoded, or broadcast through @m).
 */
void mg_serf_witness_user(uint64_t *ltime, const uint8_t *p, size_t n);
void mg_serf_witness_state(uint64_t *ltime, const uint8_t *p, size_t n);
int mg_serf_leave_intent_encode(const char *name, uint64_t *ltime,
				struct mg_buf *out);
int mg_serf_leave_intent(struct mg_member *m, const char *name,
			 uint64_t *ltime);

#endif
