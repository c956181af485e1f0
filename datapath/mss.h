/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP MSS clamping on SYNs that go into a tunnel (cfg_mss_clamp), so both
 * ends of a connection across the mesh send segments that fit it from the
 * start, without waiting for path MTU discovery.
 */
#ifndef MG_DP_MSS_H
#define MG_DP_MSS_H

#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <meshgate/abi.h>
#include "config.h"
#include "csum.h"
#include "ctx.h"

/*
 * Options walked looking for the MSS: every common stack sends it first
 * (Linux, BSD, Windows), maybe after a NOP; a longer walk costs the
 * verifier more than it could ever find.
 */
#define MG_TCP_OPTS_WALK	4
#ifndef TCPOPT_EOL
#define TCPOPT_EOL		0
#define TCPOPT_NOP		1
#define TCPOPT_MSS		2
#define TCPOLEN_MSS		4
#endif

#define MG_MSS_TCP_OFF_MAX	256	/* where the TCP header may start */

/*
 * Lower the MSS option of a SYN whose TCP header is tcp_off bytes into the
 * packet to mss when it is larger; the TCP checksum is updated
 * incrementally.  Returns 1 when it was lowered.  A global function, so the
 * verifier walks the option loop once, not once per caller.  The first
 * MG_TCP_OPTS_WALK options are looked at.
 */
__attribute__((noinline))
int mg_mss_clamp(mg_ctx_t *ctx, __u32 tcp_off, __u32 mss)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct tcphdr *tcp;
	__u8 *opts;
	__u32 olen, off = 0;

	if (tcp_off > MG_MSS_TCP_OFF_MAX)
		return 0;
	tcp = data + tcp_off;
	if ((void *)(tcp + 1) > end || !tcp->syn)
		return 0;
	opts = (void *)(tcp + 1);
	olen = tcp->doff * 4;
	if (olen <= sizeof(*tcp))
		return 0;
	olen -= sizeof(*tcp);

#pragma clang loop unroll(disable)
	for (int i = 0; i < MG_TCP_OPTS_WALK; i++) {
		__u8 *o = opts + (off & 0x3f);
		__u16 old, w_old, w_new;

		if (off >= olen || (void *)(o + 4) > end)
			break;
		if (o[0] == TCPOPT_EOL)
			break;
		if (o[0] == TCPOPT_NOP) {
			off++;
			continue;
		}
		if (o[1] < 2 || off + o[1] > olen)
			break;
		if (o[0] != TCPOPT_MSS || o[1] != TCPOLEN_MSS) {
			off += o[1];
			continue;
		}
		old = (__u16)o[2] << 8 | o[3];
		if (old <= mss)
			return 0;
		/* A field at an odd offset straddles two checksum words. */
		w_old = bpf_htons(old);
		w_new = bpf_htons(mss);
		if (off & 1) {
			w_old = __builtin_bswap16(w_old);
			w_new = __builtin_bswap16(w_new);
		}
		o[2] = mss >> 8;
		o[3] = mss & 0xff;
		csum_replace2(&tcp->check, w_old, w_new);
		return 1;
	}
	return 0;
}

/*
 * The MSS a SYN into this tunnel may carry: cfg_mss_clamp, or with
 * MG_MSS_AUTO what fits the next hop's MTU (the FIB does not say it when
 * the packet fitted: ask the device).  overhead: what the tunnel adds to
 * the inner L3 packet.  0 = leave it.
 */
static __always_inline __u16 mg_mss_for(mg_ctx_t *ctx, __u32 family,
					__u32 mtu, __u32 ifindex,
					__u32 overhead)
{
	__u32 l3hdr = family == MG_AF_INET ? 20 : 40;

	if (cfg_mss_clamp != MG_MSS_AUTO)
		return cfg_mss_clamp - (family == MG_AF_INET ? 0 : 20);
	if (!mtu && bpf_check_mtu(ctx, ifindex, &mtu, 0, 0) < 0)
		return 0;
	if (mtu < overhead + l3hdr + 20 + 8)
		return 0;
	return mtu - overhead - l3hdr - 20;
}

/*
 * Clamp the SYN whose TCP header is at l4off to what fits: 1 clamped, 0
 * left.  fam_olen: the inner family << 16 | the tunnel's overhead.  A
 * global function: the verifier checks it once, and its answer is one
 * unknown scalar to the caller, not two paths through the rest of encap
 * (with MSS clamping on, the program passed the verifier's limit).
 */
__attribute__((noinline)) int mg_mss_step(mg_ctx_t *ctx, __u32 l4off,
					  __u32 mtu, __u32 ifindex,
					  __u32 fam_olen)
{
	__u16 mss = mg_mss_for(ctx, fam_olen >> 16, mtu, ifindex,
			       fam_olen & 0xffff);

	return mss && mg_mss_clamp(ctx, l4off, mss) ? 1 : 0;
}

#endif
