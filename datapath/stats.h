/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one exit path: a result becomes a counter and a verdict. */
#ifndef MG_DP_STATS_H
#define MG_DP_STATS_H

#include "maps.h"
#include "ctx.h"

static __always_inline int mg_exit(mg_ctx_t *ctx, enum mg_reason reason,
				   int action)
{
	__u32 key = reason;
	struct mg_stat *st = bpf_map_lookup_elem(&mg_stats, &key);

	if (st) {
		st->packets++;
		st->bytes += mg_ctx_len(ctx);
	}
	return action;
}

#endif
