// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memberlist/broadcast.h"

static void drop(struct mg_bcast_queue *q, unsigned int i, bool sent)
{
	struct mg_bcast b = q->items[i];

	q->items[i] = q->items[--q->n];
	free(b.name);
	free(b.msg);
	if (b.notify && q->finished)
		q->finished(q->arg, sent);
}

int mg_bcast_queue(struct mg_bcast_queue *q, const char *name,
		   const uint8_t *msg, size_t len, bool notify)
{
	struct mg_bcast *b;
	unsigned int i;

	if (name) {
		for (i = 0; i < q->n; i++) {
			if (q->items[i].name && !strcmp(q->items[i].name, name)) {
				drop(q, i, false);
				break;
			}
		}
	}
	if (q->max_depth && q->n >= q->max_depth) {
		/* memberlist prunes the oldest beyond the limit */
		unsigned int old = 0;

		for (i = 1; i < q->n; i++)
			if (q->items[i].id < q->items[old].id)
				old = i;
		drop(q, old, false);
	}
	if (q->n == q->cap) {
		unsigned int cap = q->cap ? 2 * q->cap : 16;

		b = realloc(q->items, cap * sizeof(*b));
		if (!b)
			return -ENOMEM;
		q->items = b;
		q->cap = cap;
	}
	b = &q->items[q->n];
	memset(b, 0, sizeof(*b));
	b->msg = malloc(len ? len : 1);
	b->name = name ? strdup(name) : NULL;
	if (!b->msg || (name && !b->name)) {
		free(b->msg);
		free(b->name);
		return -ENOMEM;
	}
	memcpy(b->msg, msg, len);
	b->len = len;
	b->id = ++q->next_id;
	b->notify = notify;
	q->n++;
	return 0;
}

unsigned int mg_bcast_get(struct mg_bcast_queue *q, size_t overhead,
			  size_t limit, unsigned int retransmit,
			  void (*fn)(void *ctx, const uint8_t *p, size_t n),
			  void *ctx)
{
	uint64_t round_id = q->next_id;	/* items queued later are skipped */
	unsigned int i, sent = 0;
	size_t used = 0;
	bool *taken;

	if (!q->n)
		return 0;
	taken = calloc(q->n, sizeof(*taken));
	if (!taken)
		return 0;
	for (;;) {
		int best = -1;
		size_t free_;

		if (used + overhead >= limit)
			break;
		free_ = limit - used - overhead;
		for (i = 0; i < q->n; i++) {
			struct mg_bcast *b = &q->items[i], *c;

			if (taken[i] || b->id > round_id || b->len > free_)
				continue;
			if (best < 0) {
				best = i;
				continue;
			}
			c = &q->items[best];
			if (b->transmits < c->transmits ||
			    (b->transmits == c->transmits &&
			     (b->len > c->len ||
			      (b->len == c->len && b->id > c->id))))
				best = i;
		}
		if (best < 0)
			break;
		taken[best] = true;
		used += overhead + q->items[best].len;
		fn(ctx, q->items[best].msg, q->items[best].len);
		q->items[best].transmits++;
		sent++;
	}
	/* retire what reached the limit; drop() moves the last item to i */
	for (i = q->n; i-- > 0;) {
		if (taken[i] && q->items[i].transmits >= retransmit)
			drop(q, i, true);
	}
	free(taken);
	return sent;
}

void mg_bcast_reset(struct mg_bcast_queue *q)
{
	while (q->n)
		drop(q, q->n - 1, false);
}

void mg_bcast_free(struct mg_bcast_queue *q)
{
	mg_bcast_reset(q);
	free(q->items);
	memset(q, 0, sizeof(*q));
}
