/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The drop and trace stream (`meshgate monitor`): the one exit (stats.h)
 * hands every verdict here.  When nobody listens the cost is one load
 * (mg_evcfg's mask, an array element the verifier turns into a direct
 * address) and a branch; the rest is a separate function, so its code is
 * not inlined at each of the exit's many call sites.
 *
 * A listened-to reason goes through, in order:
 *   sampling    1 in cfg->sample per reason and CPU (a flood of one reason
 *               does not hide the others)
 *   rate limit  a token bucket per CPU (cfg->rate per second, cfg->burst
 *               deep): a flood can neither fill the ring nor make every
 *               packet pay for a copy
 *   the rings   each monitor that asked has its own (mg_evrings): reserve,
 *               copy the first MG_EV_SNAP bytes, submit; a full ring
 *               counts the event as lost, never waits
 */
#ifndef MG_DP_EVENTS_H
#define MG_DP_EVENTS_H

#include "maps.h"
#include "ctx.h"

/* n (1..MG_EV_SNAP) bytes of the frame from off into to. */
static __always_inline int mg_ev_load_bytes(mg_ctx_t *ctx, __u32 off,
					    void *to, __u32 n)
{
	return mg_ctx_load_bytes(ctx, off, to, n);
}

/*
 * Whether the verdict's reason is one a monitor listens to.  NULL when
 * not (the hot path's one load); else the settings.
 */
static __always_inline const struct mg_ev_cfg *mg_ev_wanted(__u32 reason)
{
	__u32 key = 0;
	const struct mg_ev_cfg *cfg = bpf_map_lookup_elem(&mg_evcfg, &key);

	if (!cfg || !(cfg->mask & (1ULL << (reason & 63))))
		return NULL;
	return cfg;
}

/* A token from this CPU's bucket: 1, or 0 when over the rate. */
static __always_inline int mg_ev_token(struct mg_ev_state *st,
				       const struct mg_ev_cfg *cfg)
{
	__u64 burst = cfg->burst ? cfg->burst : cfg->rate;
	__u64 now, add;

	if (!cfg->rate)
		return 1;
	now = bpf_ktime_get_ns();
	if (!st->last_ns) {
		st->tokens = burst;
		st->last_ns = now;
	} else if (now > st->last_ns) {
		add = (now - st->last_ns) * cfg->rate / 1000000000ULL;
		if (add) {
			st->tokens += add;
			if (st->tokens > burst)
				st->tokens = burst;
			st->last_ns = now;
		}
	}
	if (!st->tokens)
		return 0;
	st->tokens--;
	return 1;
}

/*
 * The ids an event carries (struct mg_event's cluster, service, backend),
 * packed into one scalar the exit's call sites hand over: a register, so
 * a verdict that nobody listens to pays nothing for them.  svc and be are
 * already slot + 1 (0: none).
 */
#define MG_EV_IDS(cl, svc, be)						\
	((__u64)(__u8)(cl) | (__u64)(__u16)(svc) << 8 |			\
	 (__u64)(__u16)(be) << 24)
/* A service's slot and a backend's (-1: none) as MG_EV_IDS wants them. */
#define MG_EV_SVC(svc_id, slot)						\
	MG_EV_IDS(0, (svc_id) + 1, (slot) + 1)

/*
 * policy_denied: the rule the policy's decision left (policy.h); any
 * other reason: 0.  Without a branch: the verifier walks this function
 * along every path of the exit's callers, and the program is near its
 * limit (MSS clamping, IPv6).
 */
static __always_inline __u32 mg_ev_rule(const struct mg_ev_state *st,
					__u32 reason)
{
	__u64 x = reason ^ MG_DROP_POLICY, nx = -x;

	/* Hidden from clang, which would make a branch of a compare. */
	asm volatile("" : "+r"(nx));
	/* (x | -x) >> 63: 1 unless x is 0; minus 1: all ones when it is. */
	return st->pol_rule & (__u32)(((x | nx) >> 63) - 1);
}

/* One copy of the event into a listener's ring. */
static __always_inline void mg_ev_put(mg_ctx_t *ctx, void *ring,
				      struct mg_ev_state *st, __u32 reason,
				      int action, __u64 ids, __u32 rule)
{
	__u32 len = mg_ctx_len(ctx);
	struct mg_event *e;
	__u64 cap;

	e = bpf_ringbuf_reserve(ring, sizeof(*e), 0);
	if (!e) {
		st->lost++;
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->ifindex = mg_ctx_ifindex(ctx);
	e->len = len;
	e->cpu = bpf_get_smp_processor_id();
	e->reason = reason;
	e->type = action == MG_ACT_DROP ? MG_EV_DROP : MG_EV_TRACE;
	e->hook = MG_CTX_HOOK;
	e->cluster = ids;
	e->service = ids >> 8;
	e->backend = ids >> 24;
	e->rule = rule | mg_ev_rule(st, reason);
	e->cap_len = 0;
	/*
	 * Clamped in the register the helper gets: clang would compare a
	 * copy, and the verifier wants the size itself bounded.
	 */
	cap = len;
	asm volatile("if %[c] <= %[max] goto +1\n\t%[c] = %[max]"
		     : [c] "+r"(cap) : [max] "i"(MG_EV_SNAP));
	if (cap && !mg_ev_load_bytes(ctx, 0, e->data, cap))
		e->cap_len = cap;
	/*
	 * A wake-up per event costs ten times the event (an irq_work): the
	 * reader is woken once the ring is a quarter full, and polls with a
	 * short timeout for the rest.
	 */
	bpf_ringbuf_submit(e, bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) >=
			      MG_EV_RING_BYTES / 4 ? BPF_RB_FORCE_WAKEUP :
						     BPF_RB_NO_WAKEUP);
}

static __noinline int mg_ev_emit(mg_ctx_t *ctx, __u32 reason, int action,
				 __u64 ids, __u32 rule)
{
	__u64 bit = 1ULL << (reason & 63);
	const struct mg_ev_cfg *cfg;
	struct mg_ev_state *st;
	__u32 key = 0, n;
	void *ring;

	/* Looked up again: five arguments at most, and this is the slow side. */
	cfg = bpf_map_lookup_elem(&mg_evcfg, &key);
	st = bpf_map_lookup_elem(&mg_evstate, &key);
	if (!cfg || !st)
		return 0;
	n = st->seen[reason & (MG_STATS_SLOTS - 1)]++;
	if (cfg->sample > 1 && n % cfg->sample)
		return 0;
	if (!mg_ev_token(st, cfg)) {
		st->limited++;
		return 0;
	}
	/* Every monitor that asked for it gets its own copy. */
	for (__u32 i = 0; i < MG_EV_LISTENERS; i++) {
		if (!(cfg->listener[i].mask & bit))
			continue;
		ring = bpf_map_lookup_elem(&mg_evrings, &i);
		if (ring)
			mg_ev_put(ctx, ring, st, reason, action, ids, rule);
	}
	return 0;
}

/*
 * The exit's hook: an event for reason when a monitor wants one, with the
 * ids (MG_EV_IDS) and the policy rule involved.  The bench builds a
 * program without it (MG_EV_COMPILED_OUT), to measure what the disabled
 * stream costs.
 */
static __always_inline void mg_ev_verdict(mg_ctx_t *ctx, __u32 reason,
					  int action, __u64 ids, __u32 rule)
{
#ifndef MG_EV_COMPILED_OUT
	if (mg_ev_wanted(reason))
		mg_ev_emit(ctx, reason, action, ids, rule);
#endif
}

#endif
