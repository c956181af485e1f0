// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Hot runs of a program that rewrites its packet: BPF_PROG_TEST_RUN with
 * repeat > 1 runs the program again on its own output (an encapsulated
 * frame encapsulated again, a decapsulated one parsed as a tunnel packet),
 * so bench_dp runs this one instead.  Every run first puts the original
 * frame back (hot_orig: its length and bytes; the head moved back to where
 * it was), then tail-calls the program under test (hot_progs[0]), which
 * is the very program loaded for the other cases, not a rebuild.  Timed
 * against the same wrapper tail-calling a bare XDP_PASS on the same
 * frame, the restore and the tail call cancel out.  The frame is put back
 * in 8-byte words: a last partial word is left as it is (payload, which
 * none of the programs writes); bench_dp checks that the output of the
 * last run is the output of one run on the original frame.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define HOT_MAX 256 /* bytes of frame kept */

struct hot_frame {
	__u32 len;
	__u32 pad;
	__u64 q[HOT_MAX / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hot_frame);
} hot_orig SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} hot_progs SEC(".maps");

SEC("xdp")
int hot_run(struct xdp_md *ctx)
{
	struct hot_frame *o;
	__u32 key = 0;
	void *data, *end;
	int delta;

	o = bpf_map_lookup_elem(&hot_orig, &key);
	if (!o || o->len > HOT_MAX)
		return XDP_ABORTED;
	delta = (int)((long)ctx->data_end - (long)ctx->data) - (int)o->len;
	if (delta && bpf_xdp_adjust_head(ctx, delta))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
#pragma unroll
	for (int i = 0; i < HOT_MAX / 8; i++) {
		__u64 *d = (__u64 *)data + i;

		if ((void *)(d + 1) > end)
			break;
		*d = o->q[i];
	}
	bpf_tail_call(ctx, &hot_progs, 0);
	return XDP_ABORTED;
}
