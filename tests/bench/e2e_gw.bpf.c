// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Stand-ins on the bench gateway's cluster side for the cases without
 * meshgate:
 *   fwd_redirect  the ceiling: every frame to the underlay through a devmap,
 *                 as meshgate sends it, with no parsing and no encapsulation
 *   fwd_pass      the kernel-VXLAN case: every frame to the stack.  A veth
 *                 only takes redirected frames when its NAPI runs (an XDP
 *                 program or GRO); XDP_PASS with GRO off gives the kernel
 *                 its cheapest receive path (no GRO layer per packet).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 tx_ifindex = 0;	/* the underlay interface */

/* Same kind of map as meshgate's mg_tx.  bench_e2e writes it. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} fwd_tx SEC(".maps");

SEC("xdp")
int fwd_redirect(struct xdp_md *ctx)
{
	return bpf_redirect_map(&fwd_tx, tx_ifindex, 0);
}

SEC("xdp")
int fwd_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
