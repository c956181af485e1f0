// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * meshgate XDP entry: attached to the cluster side and the underlay side
 * (one program for both; a one-arm gateway has a single NIC).  What takes
 * which frame: path.h.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "path.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int mg_xdp(struct xdp_md *ctx)
{
	return mg_path(ctx);
}
