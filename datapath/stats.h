/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one exit path: a result becomes a counter and a verdict (TC: unless
 * XDP counted the packet already).
 */
#ifndef MG_DP_STATS_H
#define MG_DP_STATS_H

#include "maps.h"
#include "ctx.h"

static __always_inline int mg_exit(mg_ctx_t *ctx, enum mg_reason reason,
				   int action)
{
	__u32 key = reason;
	struct mg_stat *st;

#if MG_CTX_TC
	/*
	 * Every packet is counted once per gateway.  One the kernel took in
	 * on an interface XDP runs on (mg_ifs) was counted there, as every
	 * frame XDP sees is (pass, say, when XDP left it to the kernel,
	 * which routed it here): what TC does with it is not counted again.
	 */
	key = ctx->ingress_ifindex;
	if (key && bpf_map_lookup_elem(&mg_ifs, &key))
		return action;
	key = reason;
#endif
	st = bpf_map_lookup_elem(&mg_stats, &key);
	if (st) {
		st->packets++;
		st->bytes += mg_ctx_len(ctx);
	}
	return action;
}

#endif
