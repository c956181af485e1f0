// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * bench_rl's comparison of two token buckets (datapath/ratelimit.h): each
 * program takes one token of one bucket per packet and returns XDP_PASS
 * when it got one, XDP_DROP when the bucket was empty.
 *
 *   rl_percpu  the datapath's: a bucket per CPU (a per-CPU array) with
 *              the CPU's share of the rate and burst, mg_rl_take()'s
 *              arithmetic, no atomic
 *   rl_atomic  one bucket shared by every CPU: GCRA (a theoretical
 *              arrival time moved on by compare-and-swap, up to 4 tries)
 *
 * cfg[0]: rate per second and burst of the whole bucket, and the number
 * of CPUs that share it (the per-CPU shares are rate / ncpu).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define UNIT 1000000000ULL /* tokens in units of 1e-9 */
#define GAP_NS (10ULL * 1000000000ULL)

struct rl_cfg {
	__u32 rate, burst, ncpu, pad;
};

struct rl_pcpu {
	__u64 tokens, last;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rl_cfg);
} rl_cfg SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rl_pcpu);
} rl_pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64); /* GCRA: the theoretical arrival time */
} rl_tat SEC(".maps");

SEC("xdp")
int rl_percpu(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct rl_cfg *c = bpf_map_lookup_elem(&rl_cfg, &zero);
	struct rl_pcpu *b = bpf_map_lookup_elem(&rl_pcpu, &zero);
	__u64 now = bpf_ktime_get_ns(), cap, gap, rate;
	__u32 n;

	if (!c || !b)
		return XDP_ABORTED;
	n = c->ncpu ?: 1;
	rate = c->rate / n;
	cap = (__u64)((c->burst / n) ?: 1) * UNIT;
	if (!b->last) {
		b->tokens = cap;
		b->last = now;
	} else if (now > b->last) {
		gap = now - b->last;
		if (gap > GAP_NS)
			gap = GAP_NS;
		b->tokens += gap * rate;
		b->last = now;
	}
	if (b->tokens > cap)
		b->tokens = cap;
	if (b->tokens < UNIT)
		return XDP_DROP;
	b->tokens -= UNIT;
	return XDP_PASS;
}

SEC("xdp")
int rl_atomic(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct rl_cfg *c = bpf_map_lookup_elem(&rl_cfg, &zero);
	__u64 *tat = bpf_map_lookup_elem(&rl_tat, &zero);
	__u64 now = bpf_ktime_get_ns(), interval, tau, old, t;

	if (!c || !tat || !c->rate)
		return XDP_ABORTED;
	interval = 1000000000ULL / c->rate;
	tau = (__u64)(c->burst ?: 1) * interval;
	for (int i = 0; i < 4; i++) {
		old = *(volatile __u64 *)tat;
		t = old > now ? old : now;
		if (t + interval - now > tau)
			return XDP_DROP;
		if (__sync_val_compare_and_swap(tat, old, t + interval) == old)
			return XDP_PASS;
	}
	return XDP_DROP; /* contended four times: counted as over */
}
