/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Outlier detection's datapath half (Envoy's model, agent/outlier.c has
 * the rest): per backend slot, how the backend answered the flows it was
 * given.  A reply (a remote backend's on decap, a local one's on reverse
 * NAT) to a flow still opening is the flow's first answer: a RST or an
 * ICMP destination unreachable counts a failure, anything else a success;
 * the client's SYN again to a flow still unanswered counts a failure
 * (mg_outlier_retry(), on the service path).
 * Later packets of a flow count nothing, so each new flow counts once
 * (an ICMP error leaves the flow opening: the client's retries, each
 * refused, count again, as they are new attempts).
 */
#ifndef MG_DP_OUTLIER_H
#define MG_DP_OUTLIER_H

#include "icmp4.h"
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"

/* Backend slot -> its new flows answered and refused.  Datapath writes. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MG_LB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct mg_outlier_ctr);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} mg_outlier SEC(".maps");

/*
 * What the reverse NAT's lookup is told of an ICMP error (its "TCP flags"
 * argument, negative: the flow's state is left alone): an unreachable
 * refuses the flow, any other error (time exceeded, fragmentation needed
 * or packet too big, a parameter problem) says nothing of the backend.
 */
#define MG_OUTLIER_ICMP (-1)
#define MG_OUTLIER_UNREACH (-2)

static __always_inline int mg_outlier_icmp4(__u8 type, __u8 code)
{
	return type == ICMP_DEST_UNREACH && code != ICMP_FRAG_NEEDED ?
		       MG_OUTLIER_UNREACH :
		       MG_OUTLIER_ICMP;
}

static __always_inline int mg_outlier_icmp6(__u8 type)
{
	return type == ICMPV6_DEST_UNREACH ? MG_OUTLIER_UNREACH :
					     MG_OUTLIER_ICMP;
}

/*
 * A backend's packet of its tracked flow, before the flow's state moves
 * on: slot the flow's backend, state and flags the flow's (MG_CT_*), tcp
 * the packet's TCP flags (0 for UDP) or MG_OUTLIER_* for an ICMP error.
 */
/*
 * The counting functions are global: the verifier checks each once, on its
 * own, not along every path of every caller (with them inline, the
 * program's MSS-clamping build passed the verifier's 1M-instruction
 * limit).  Their return value means nothing.
 */
__attribute__((noinline)) int mg_outlier_reply(__u32 slot, __u8 state,
					       __u8 flags, __u8 proto, int tcp)
{
	struct mg_outlier_ctr *c;

	if (state != MG_CT_OPENING || (flags & MG_CT_F_REPLIED) ||
	    tcp == MG_OUTLIER_ICMP)
		return 0;
	c = bpf_map_lookup_elem(&mg_outlier, &slot);
	if (!c)
		return 0;
	if (tcp == MG_OUTLIER_UNREACH ||
	    (proto == IPPROTO_TCP && tcp >= 0 && (tcp & 0x04))) /* RST */
		c->fail++;
	else
		c->ok++;
	return 0;
}

/*
 * The client's packet of its tracked flow, before the flow's state moves
 * on: a SYN again to a flow still opening and unanswered is the client's
 * retransmission (its SYN timed out: 1 s on Linux, then 2, 4, ...), a
 * new flow not answered within that time: a failure.
 */
__attribute__((noinline)) int mg_outlier_retry(__u32 slot, __u8 state,
					       __u8 flags, __u8 proto, __u8 tcp)
{
	struct mg_outlier_ctr *c;

	if (proto != IPPROTO_TCP || state != MG_CT_OPENING ||
	    (flags & MG_CT_F_REPLIED) || (tcp & 0x16) != 0x02) /* SYN only */
		return 0;
	c = bpf_map_lookup_elem(&mg_outlier, &slot);
	if (c)
		c->fail++;
	return 0;
}

#endif
