/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The one exit path: a result becomes a counter and a verdict. */
#ifndef MG_DP_STATS_H
#define MG_DP_STATS_H

#include "maps.h"

static __always_inline int mg_exit(struct xdp_md *ctx, enum mg_reason reason,
				   int action)
{
	__u32 key = reason;
	struct mg_stat *st = bpf_map_lookup_elem(&mg_stats, &key);

	if (st) {
		st->packets++;
		st->bytes += ctx->data_end - ctx->data;
	}
	return action;
}

#endif
