// SPDX-License-Identifier: GPL-2.0-only
/*
 * serf's member layer on hostile bytes: the input is one user message or one
 * push/pull user state (first byte 0..9: serf's types; the harness feeds it
 * to both entries, and to the query codecs).  Whatever it leaves in the store must encode into a
 * push/pull that merges cleanly elsewhere, carrying our own bytes intact,
 * and the clocks only move forward.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serf/serf.h"
#include "serf/serfquery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool left_all(void *ctx, const char *name)
{
	return true;
}

static bool clock_le(const struct mg_serf_clock *a,
		     const struct mg_serf_clock *b)
{
	return a->ltime <= b->ltime && a->event <= b->event &&
	       a->query <= b->query;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ours[] = { 'G', 1, 2, 'g', 'w' };
	struct mg_serf *s = mg_serf_new("gw-fuzz"), *t = mg_serf_new("gw-t");
	struct mg_serf_clock c0, c1;
	struct mg_buf out = { 0 };
	const uint8_t *extra;
	size_t extra_len;
	int v;

	if (!s || !t)
		abort();
	mg_serf_clock_get(s, &c0);
	v = mg_serf_user_msg(s, data, size);
	if (v < MG_SERF_NOT_SERF || v > MG_SERF_FORWARD)
		abort();
	{
		struct mg_serf_query q;
		struct mg_serf_response r;
		struct mg_key k;
		char msg[32];
		bool ok;

		if (!mg_serf_query_decode(data, size, &q) &&
		    ((q.addr_len != 4 && q.addr_len != 16) ||
		     q.addr < data || q.addr + q.addr_len > data + size))
			abort();
		const uint8_t *dest, *inner;
		uint32_t dest_len;
		size_t inner_len;

		mg_serf_response_decode(data, size, &r);
		if (!mg_serf_relay_decode(data, size, &dest, &dest_len, &inner,
					  &inner_len) &&
		    (inner < data || inner + inner_len > data + size ||
		     !inner_len))
			abort();
		if (!mg_serf_key_request_decode(data, size, &k) &&
		    k.len != 16 && k.len != 24 && k.len != 32)
			abort();
		mg_serf_key_result_decode(data, size, &ok, msg, sizeof(msg),
					  NULL, NULL);
	}
	{
		/*
		 * The bare status clock (mgpeer's) and serf's own witness:
		 * a Lamport clock only moves forward, and past what it saw.
		 */
		uint64_t lt = 1000, lt0;
		struct mg_serf_clock w = { 0 }, got;

		lt0 = lt;
		mg_serf_witness_user(&lt, data, size);
		if (lt < lt0)
			abort();
		lt0 = lt;
		mg_serf_witness_state(&lt, data, size);
		if (lt < lt0)
			abort();
		if (size >= 24) {
			memcpy(&w.ltime, data, 8);
			memcpy(&w.event, data + 8, 8);
			memcpy(&w.query, data + 16, 8);
		}
		mg_serf_clock_get(t, &c0);
		mg_serf_clock_witness(t, &w);
		mg_serf_clock_get(t, &got);
		/* past each time seen (but one that cannot be passed) */
		if (!clock_le(&c0, &got) ||
		    (w.ltime < UINT64_MAX && got.ltime <= w.ltime) ||
		    (w.event < UINT64_MAX && got.event <= w.event) ||
		    (w.query < UINT64_MAX && got.query <= w.query))
			abort();
		mg_serf_free(t);
		t = mg_serf_new("gw-t");
		if (!t)
			abort();
		mg_serf_clock_get(s, &c0);
	}
	v = mg_serf_push_pull_merge(s, data, size, &extra, &extra_len);
	if (v >= 0 && extra && (extra < data || extra + extra_len > data + size))
		abort();
	mg_serf_clock_get(s, &c1);
	if (!clock_le(&c0, &c1))
		abort();
	if (mg_serf_push_pull_encode(s, left_all, NULL, ours, sizeof(ours),
				     &out))
		abort();
	v = mg_serf_push_pull_merge(t, out.data, out.len, &extra, &extra_len);
	if (v < 0 || !extra || extra_len != sizeof(ours) ||
	    memcmp(extra, ours, sizeof(ours)))
		abort();
	mg_buf_free(&out);
	mg_serf_free(s);
	mg_serf_free(t);
	return 0;
}
