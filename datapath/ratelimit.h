/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic controls of a service (issue 13): token buckets for its packets
 * and its new flows, and the flows each backend holds (circuit breaking).
 *
 * The buckets are per CPU (mg_rlb, a per-CPU array): no atomic and no
 * shared cache line on the service path; the agent gives each CPU its
 * share of the rate and the burst (mg_svc_tc).  The cost: a flood that
 * RSS spreads over k of n CPUs gets k/n of the rate, and one CPU's
 * traffic alone gets 1/n of it; make bench measures it against one
 * atomic bucket (tests/bench/bench_rl.c).
 *
 * They hold the clients' packets that XDP sees; the gateway host's own
 * flows to a service (TC egress) are neither limited nor broken (its
 * program is near the verifier's limit, and the host is trusted).
 *
 * A bucket holds tokens in units of 1/MG_RLB_UNIT: a rate of r per second
 * adds r units per nanosecond, so the arithmetic stays in integers with no
 * division.  The time since the last refill is capped at MG_RLB_GAP_NS,
 * which keeps elapsed * rate within 64 bits for any rate below 1e9/s.
 */
#ifndef MG_DP_RATELIMIT_H
#define MG_DP_RATELIMIT_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <meshgate/abi.h>

#define MG_RLB_GAP_NS	(10ULL * 1000000000ULL)
#define MG_RLB_RATE_MAX	1000000000U	/* per CPU, per second */

/* Service id -> its limits.  Agent writes. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_LB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, struct mg_svc_tc);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_svctc SEC(".maps");

/* Token buckets, each CPU its own (MG_RLB_PPS/NF(id), MG_RLB_REPLY). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_RLB_ENTRIES);
	__type(key, __u32);
	__type(value, struct mg_rlb);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_rlb SEC(".maps");

/* Backend slot -> its tracked flows.  Datapath adds, agent recounts. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MG_LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_beflows SEC(".maps");

/*
 * Take one token from bucket key (rate per second, burst tokens) at now:
 * 1 taken, 0 the bucket is empty.  A rate of 0 is no limit.  Only XDP
 * takes buckets: TC's program is near the verifier's limit.  A global
 * function: the verifier checks it once, not along every caller's path.
 */
__attribute__((noinline)) int mg_rl_take(__u32 key, __u32 rate, __u32 burst,
					  __u64 now)
{
	struct mg_rlb *b;
	__u64 cap, gap;

	if (!rate)
		return 1;
	b = bpf_map_lookup_elem(&mg_rlb, &key);
	if (!b)
		return 1;
	if (rate > MG_RLB_RATE_MAX)
		rate = MG_RLB_RATE_MAX;
	cap = (__u64)(burst ?: 1) * MG_RLB_UNIT;
	if (!b->last) {
		b->tokens = cap;
		b->last = now;
	} else if (now > b->last) {
		gap = now - b->last;
		if (gap > MG_RLB_GAP_NS)
			gap = MG_RLB_GAP_NS;
		b->tokens += gap * rate;
		b->last = now;
	}
	if (b->tokens > cap)
		b->tokens = cap;
	if (b->tokens < MG_RLB_UNIT)
		return 0;
	b->tokens -= MG_RLB_UNIT;
	return 1;
}

/*
 * A token of service svc_id's bucket (nf: its new flows', else its
 * packets'): 1 taken or no limit, 0 over it.  Global functions, as
 * mg_rl_take(): the callers see one scalar, not a map value that may be
 * NULL on every path (inline, the program passed the verifier's limit).
 */
__attribute__((noinline)) int mg_svc_take(__u32 svc_id, __u32 nf, __u64 now)
{
	struct mg_svc_tc *tc = bpf_map_lookup_elem(&mg_svctc, &svc_id);

	if (!tc)
		return 1;
	if (nf)
		return mg_rl_take(MG_RLB_NF(svc_id), tc->nf, tc->nf_burst, now);
	return mg_rl_take(MG_RLB_PPS(svc_id), tc->pps, tc->pps_burst, now);
}

/* Service svc_id's max_flows_per_backend, 0: no maximum. */
__attribute__((noinline)) int mg_svc_maxflows(__u32 svc_id)
{
	struct mg_svc_tc *tc = bpf_map_lookup_elem(&mg_svctc, &svc_id);

	return tc ? tc->max_flows : 0;
}

/* Whether backend slot holds max flows already (0: no maximum). */
static __always_inline int mg_be_full(__u32 slot, __u32 max)
{
	__u32 *n;

	if (!max)
		return 0;
	n = bpf_map_lookup_elem(&mg_beflows, &slot);
	return n && *n >= max;
}

/* A new flow tracked to backend slot. */
static __always_inline void mg_be_flow_add(__u32 slot)
{
	__u32 *n = bpf_map_lookup_elem(&mg_beflows, &slot);

	if (n)
		__sync_fetch_and_add(n, 1);
}

#endif
