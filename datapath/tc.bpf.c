// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * meshgate TC egress entry (DESIGN §2.6): what the gateway host itself
 * sends to remote pods and to service VIPs.  The agent routes those
 * prefixes into its own device (mg0 by default, without ARP: no neighbours
 * to resolve) and attaches this program to that device's egress; it takes
 * the same paths as XDP (path.h): encapsulated out of the underlay, or
 * DNATed to a backend.  What it does not take (nothing else is routed
 * there) the device drops, counted as pass.
 */
#define MG_TC 1
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include "path.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int mg_tc_egress(struct __sk_buff *ctx)
{
	/*
	 * The host's packets carry their payload in pages: bring all of it
	 * into the linear part, where the paths read and checksum it.
	 */
	if (bpf_skb_pull_data(ctx, ctx->len))
		return mg_exit(ctx, MG_DROP_HEADROOM, TC_ACT_SHOT);
	return mg_path(ctx);
}
