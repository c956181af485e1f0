/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a memberlist member needs of serf's own layer to look right to a
 * serf agent: serf's Lamport clock, witnessed from its messages, and the
 * leave intent (serf message 0).  serf shows a member that leaves as
 * "left" only when the intent reaches it before the member's own death;
 * serf handles user messages last-in first-out, so the intent has to go
 * out ahead of the death (MG_SERF_INTENT_LEAD_MS), not beside it.
 */
#ifndef MG_GOSSIP_SERF_H
#define MG_GOSSIP_SERF_H

#include <stddef.h>
#include <stdint.h>

struct mg_member;

#define MG_SERF_LEAVE_INTENT	0
#define MG_SERF_JOIN_INTENT	1
#define MG_SERF_PUSH_PULL	2
#define MG_SERF_INTENT_LEAD_MS	1000

/* A user message (type byte stripped) or push/pull user state from serf. */
void mg_serf_witness_user(uint64_t *ltime, const uint8_t *p, size_t n);
void mg_serf_witness_state(uint64_t *ltime, const uint8_t *p, size_t n);

#include "gossip/buf.h"

/* serf's leave intent for node name, at *ltime + 1, as a user message. */
int mg_serf_leave_intent_encode(const char *name, uint64_t *ltime,
				struct mg_buf *out);
/* The same, broadcast. */
int mg_serf_leave_intent(struct mg_member *m, const char *name,
			 uint64_t *ltime);

#endif
