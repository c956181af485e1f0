// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What a new service flow's insert costs (issue 15 item 3): the same
 * key and value as mg_ct4_v2 (16 and 24 bytes) and the same number of
 * entries, into bench-only maps.  Every run of a program inserts one new
 * key (a counter); bench_ct times them with repeat > 1, which is honest
 * here: nothing in the packet changes.
 *
 *   ct_none       the key made, nothing inserted: the baseline
 *   ct_lru        an LRU hash as mg_ct4_v2 is, kept half full by bench_ct
 *                 deleting the oldest keys between calls (the agent's
 *                 expiry of flows)
 *   ct_lru_full   an LRU hash always full: every insert evicts
 *   ct_hash       a plain (preallocated) hash, kept half full the same way
 *   ct_lru_pcpu_full  Katran's way: an LRU hash with a list per CPU
 *                 (BPF_F_NO_COMMON_LRU), always full, every insert evicting
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <meshgate/abi.h>
#include <meshgate/limits.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CT_MAP(name, kind)                             \
	struct {                                       \
		__uint(type, kind);                    \
		__uint(max_entries, MG_LB_CT_ENTRIES); \
		__type(key, struct mg_ct4_key);        \
		__type(value, struct mg_ct4_val);      \
	} name SEC(".maps")

CT_MAP(ct_lru_m, BPF_MAP_TYPE_LRU_HASH);
CT_MAP(ct_lru_full_m, BPF_MAP_TYPE_LRU_HASH);
CT_MAP(ct_hash_m, BPF_MAP_TYPE_HASH);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MG_LB_CT_ENTRIES);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, struct mg_ct4_key);
	__type(value, struct mg_ct4_val);
} ct_lru_pcpu_m SEC(".maps");

/* The next key of each map (one thread runs them). */
__u32 seq_none, seq_lru, seq_lru_full, seq_hash, seq_lru_pcpu;
/* Inserts that failed (a full plain hash), per map. */
__u64 fail_lru, fail_lru_full, fail_hash, fail_lru_pcpu;

static __always_inline int insert(void *map, __u32 *seq, __u64 *fail)
{
	struct mg_ct4_key k = {
		.saddr = *seq,
		.daddr = 0x0a60000a,
		.sport = (__u16)(*seq >> 16),
		.dport = 80,
		.proto = 6,
	};
	struct mg_ct4_val v = { .backend = *seq & 3, .gen = 1, .state = 1 };

	*seq += 1;
	if (map && bpf_map_update_elem(map, &k, &v, BPF_NOEXIST))
		*fail += 1;
	return XDP_PASS;
}

SEC("xdp")
int ct_none(struct xdp_md *ctx)
{
	return insert(NULL, &seq_none, &fail_lru);
}

SEC("xdp")
int ct_lru(struct xdp_md *ctx)
{
	return insert(&ct_lru_m, &seq_lru, &fail_lru);
}

SEC("xdp")
int ct_lru_full(struct xdp_md *ctx)
{
	return insert(&ct_lru_full_m, &seq_lru_full, &fail_lru_full);
}

SEC("xdp")
int ct_hash(struct xdp_md *ctx)
{
	return insert(&ct_hash_m, &seq_hash, &fail_hash);
}

SEC("xdp")
int ct_lru_pcpu_full(struct xdp_md *ctx)
{
	return insert(&ct_lru_pcpu_m, &seq_lru_pcpu, &fail_lru_pcpu);
}
