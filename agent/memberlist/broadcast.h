/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memberlist's TransmitLimitedQueue: broadcasts about a node, each sent
 * RetransmitMult x ceil(log10(n + 1)) times; a new broadcast about a node
 * replaces any queued one about the same node.  Selection per packet:
 * fewest transmissions first, then the largest message that still fits,
 * then the newest.
 */
#ifndef MG_GOSSIP_BROADCAST_H
#define MG_GOSSIP_BROADCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct mg_bcast {
	char *name;			/* node it is about; NULL = none */
	uint8_t *msg;			/* [type][body] */
	size_t len;
	unsigned int transmits;
	uint64_t id;
	bool notify;			/* report when finished/invalidated */
};

struct mg_bcast_queue {
	struct mg_bcast *items;
	unsigned int n, cap;
	uint64_t next_id;
	unsigned int max_depth;		/* 0 = unlimited */
	/* a broadcast queued with notify finished or was replaced */
	void (*finished)(void *arg, bool sent);
	void *arg;
};

/* Queue a copy of @msg about @name (may be NULL).  0 or -ENOMEM. */
int mg_bcast_queue(struct mg_bcast_queue *q, const char *name,
		   const uint8_t *msg, size_t len, bool notify);
/*
 * Hand out broadcasts for one packet: each chosen message costs
 * @overhead + its length out of @limit.  @fn receives each message (the
 * bytes are valid during the call).  @retransmit is the current limit.
 * Returns the number of messages handed out.
 */
unsigned int mg_bcast_get(struct mg_bcast_queue *q, size_t overhead,
			  size_t limit, unsigned int retransmit,
			  void (*fn)(void *ctx, const uint8_t *p, size_t n),
			  void *ctx);
/* Drop everything (notifying waiters as not sent). */
void mg_bcast_reset(struct mg_bcast_queue *q);
void mg_bcast_free(struct mg_bcast_queue *q);

#endif
