// SPDX-License-Identifier: GPL-2.0-only
/*
 * The replicated-state decoder and merge on hostile bytes: the input is one
 * message as received, merged into a fresh store, with a reply asked for.
 * What the store then holds must encode into messages we accept, and the
 * same message merged twice must change nothing the second time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "state/statewire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_now(void *ctx)
{
	return 1000;
}

static void count(void *ctx, const struct mg_state_change *c)
{
	(*(unsigned int *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned int changes = 0, before, i;
	struct mg_state_cfg cfg = {
		.name = "gw-fuzz",
		.cluster_id = 1,
		.version_base = 1000,
		.hash_seed = 1,
		.max_entries = 4096,
		.now_ms = fuzz_now,
		.on_change = count,
		.ctx = &changes,
	};
	struct mg_buf reply = { 0 }, out = { 0 };
	struct mg_state *st;
	int ret;

	if (mg_state_new(&cfg, &st))
		abort();
	ret = mg_state_recv(st, data, size, 65536, &reply);
	if (ret < 0)
		goto cleanup;
	if (reply.len && mg_sw_check(reply.data, reply.len) < 0)
		abort();
	before = changes;
	if (mg_state_recv(st, data, size, 0, NULL) != ret || changes != before)
		abort();
	for (i = 0; i < mg_state_origin_slots(st); i++) {
		mg_buf_reset(&out);
		if (mg_state_encode_reset(st, i, SIZE_MAX, &out) >= 0 &&
		    mg_sw_check(out.data, out.len) != MG_SW_DELTA)
			abort();
	}
	mg_buf_reset(&out);
	if (mg_state_digest(st, 1000, &out) ||
	    mg_sw_check(out.data, out.len) != MG_SW_DIGEST)
		abort();
	mg_buf_reset(&out);
	if (mg_state_gossip(st, MG_SW_GOSSIP_BUDGET, 3, &out) < 0 ||
	    out.len > MG_SW_GOSSIP_BUDGET ||
	    (out.len && mg_sw_check(out.data, out.len) != MG_SW_DELTA))
		abort();
	mg_state_gc(st, UINT64_MAX / 2);
cleanup:
	mg_buf_free(&reply);
	mg_buf_free(&out);
	mg_state_free(st);
	return 0;
}
