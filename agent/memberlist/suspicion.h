/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * SWIM + Lifeguard arithmetic as memberlist 0.2.2 does it: the suspicion
 * timer (suspicion.go: starts at max, decays logarithmically towards min
 * with each independent confirmation), the retransmit limit and the
 * push/pull interval scaling (util.go), the awareness score (awareness.go).
 *
 * Times are in microseconds; nothing here reads a clock.
 */
#ifndef MG_GOSSIP_SUSPICION_H
#define MG_GOSSIP_SUSPICION_H

#include <stdbool.h>
#include <stdint.h>

#include "memberlist/messages.h"

/* Natural logarithm (we do not link libm). */
double mg_swim_ln(double x);

/* SuspicionMult x max(1, log10(max(1, n))) x interval: the minimum timeout. */
uint64_t mg_swim_suspicion_min(unsigned int mult, unsigned int n,
			       uint64_t interval);
/*
 * Timeout after @c confirmations out of @k expected:
 * max - ln(c + 1) / ln(k + 1) x (max - min), in whole milliseconds, at least
 * min.  Not yet reduced by the time already elapsed.
 */
uint64_t mg_swim_suspicion_timeout(unsigned int c, unsigned int k,
				   uint64_t min, uint64_t max);
/* RetransmitMult x ceil(log10(n + 1)). */
unsigned int mg_swim_retransmit_limit(unsigned int mult, unsigned int n);
/* PushPullInterval x (ceil(log2 n - log2 32) + 1) for n > 32. */
uint64_t mg_swim_push_pull_scale(uint64_t interval, unsigned int n);

/* One suspicion timer: who accused, how many confirmed, when it fires. */
struct mg_suspicion {
	unsigned int k;			/* confirmations expected */
	unsigned int n;			/* confirmations received */
	uint64_t min, max;
	uint64_t start;
	uint64_t deadline;		/* absolute; fire at or after */
	unsigned int n_from;		/* accusers seen (k + 1 at most) */
	char (*from)[MG_ML_NAME_MAX + 1];
};

/*
 * Start a timer accused by @from at @now.  n is the cluster size estimate
 * (self and not yet reaped dead included); k = mult - 2, or 0 when fewer
 * than k other members could confirm.  0 or -ENOMEM.
 */
int mg_suspicion_start(struct mg_suspicion *s, const char *from,
		       unsigned int mult, unsigned int max_mult,
		       unsigned int n, uint64_t interval, uint64_t now);
/*
 * Record an accusation by @from; true when it was a new confirmation (the
 * caller re-gossips the suspect message) and the deadline moved earlier.
 */
bool mg_suspicion_confirm(struct mg_suspicion *s, const char *from);
void mg_suspicion_clear(struct mg_suspicion *s);

/*
 * Lifeguard local health: a score in [0, max - 1] that scales the probe
 * interval and timeout by (score + 1).
 */
struct mg_awareness {
	int max;
	int score;
};

static inline void mg_awareness_delta(struct mg_awareness *a, int delta)
{
	a->score += delta;
	if (a->score < 0)
		a->score = 0;
	else if (a->score > a->max - 1)
		a->score = a->max - 1;
}

static inline uint64_t mg_awareness_scale(const struct mg_awareness *a,
					  uint64_t t)
{
	return t * (uint64_t)(a->score + 1);
}

#endif
