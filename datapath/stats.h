/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one exit path: a result becomes a counter, an event when a monitor
 * listens (events.h) and a verdict (TC: unless XDP counted the packet
 * already).
 */
#ifndef MG_DP_STATS_H
#define MG_DP_STATS_H

#include "maps.h"
#include "ctx.h"
#include "events.h"

/*
 * ids: what the event carries when a monitor listens (events.h,
 * MG_EV_IDS); rule: policy_denied's rule.  Constants where the caller
 * knows none (mg_exit()).
 */
static __always_inline int mg_exit_ev(mg_ctx_t *ctx, enum mg_reason reason,
				      int action, __u64 ids, __u32 rule)
{
	__u32 key = reason;
	struct mg_stat *st;

	if (MG_CTX_HOST) {
		/*
		 * Every packet is counted once per gateway.  One the kernel
		 * took in on an interface XDP runs on (mg_ifs) was counted
		 * there, as every frame XDP sees is (pass, say, when XDP left
		 * it to the kernel, which routed it here): what TC does with
		 * it is not counted again.
		 */
		key = ctx->ingress_ifindex;
		if (key && bpf_map_lookup_elem(&mg_ifs, &key))
			return action;
		key = reason;
	}
	st = bpf_map_lookup_elem(&mg_stats, &key);
	if (st) {
		st->packets++;
		st->bytes += mg_ctx_len(ctx);
	}
	mg_ev_verdict(ctx, reason, action, ids, rule);
	return action;
}

static __always_inline int mg_exit(mg_ctx_t *ctx, enum mg_reason reason,
				   int action)
{
	return mg_exit_ev(ctx, reason, action, 0, 0);
}

/* The verdict of a packet whose cluster, service or backend is known. */
static __always_inline int mg_exit_ids(mg_ctx_t *ctx, enum mg_reason reason,
				       int action, __u64 ids)
{
	return mg_exit_ev(ctx, reason, action, ids, 0);
}

/* A client's packet DNATed to a backend: counted for its service and slot. */
static __always_inline void mg_lb_count(mg_ctx_t *ctx, __u32 svc_id, __u32 slot)
{
	__u32 key = svc_id;
	struct mg_stat *st = bpf_map_lookup_elem(&mg_lbstats, &key);

	if (st) {
		st->packets++;
		st->bytes += mg_ctx_len(ctx);
	}
	key = MG_LBSTATS_BACKEND(slot);
	st = bpf_map_lookup_elem(&mg_lbstats, &key);
	if (st) {
		st->packets++;
		st->bytes += mg_ctx_len(ctx);
	}
}

/*
 * TC: a unicast packet routed into the host device that no map knows.
 * Nothing but the mesh's prefixes and VIPs is routed there, so its
 * prefix is one the agent found no room for in the maps (they are full):
 * dropped under no_room, never passed on silently.  One XDP counted as
 * pass when it came in (a pod's, whose destination XDP did not know
 * either) has that count moved here, so it stays counted once, under
 * what became of it (per-CPU counters: the sum over CPUs is right
 * whichever CPU each end runs on).  Not called on XDP.
 */
static __always_inline int mg_exit_no_room(mg_ctx_t *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	struct mg_stat *st;

	if (!MG_CTX_HOST || !key || !bpf_map_lookup_elem(&mg_ifs, &key))
		return mg_exit(ctx, MG_DROP_NO_ROOM, MG_ACT_DROP);
	key = MG_PASS;
	st = bpf_map_lookup_elem(&mg_stats, &key);
	if (st) {
		st->packets--;
		st->bytes -= mg_ctx_len(ctx);
	}
	key = MG_DROP_NO_ROOM;
	st = bpf_map_lookup_elem(&mg_stats, &key);
	if (st) {
		st->packets++;
		st->bytes += mg_ctx_len(ctx);
	}
	mg_ev_verdict(ctx, MG_DROP_NO_ROOM, MG_ACT_DROP, 0, 0);
	return MG_ACT_DROP;
}

#endif
