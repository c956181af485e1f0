// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The XDP datapath without the event stream's code (events.h compiled
 * out): what bench_dp measures the disabled stream's cost against.
 */
#define MG_EV_COMPILED_OUT 1
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "path.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int mg_xdp(struct xdp_md *ctx)
{
	return mg_path(ctx);
}
