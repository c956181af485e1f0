/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet context, so that one packet logic serves XDP and TC
 * (DESIGN §2.6).  xdp.bpf.c builds it over struct xdp_md; tc.bpf.c
 * defines MG_TC first and builds it over struct __sk_buff.  Everything
 * that differs between the hooks is here:
 *
 *   MG_ACT_PASS / MG_ACT_DROP   the stack's / a drop verdict
 *   MG_ACT_TX(ctx)              turn the packet around to its sender:
 *                               a redirect out of where it came in; on
 *                               TC egress, back into our own stack (the
 *                               sender is this host)
 *   MG_CTX_HOOK                 MG_EV_HOOK_XDP / MG_EV_HOOK_TC (events.h)
 *   MG_CTX_HOST                 1 on TC: the packets are this host's own,
 *                               not frames off a wire: no tunnel packets
 *                               and no interface roles (path.h), no traffic
 *                               controls (lb.h: rate limits, circuit
 *                               breaking, flow counts), no MSS clamping
 *                               (its route set the MSS), no resets
 *                               (rst.h), ICMP errors from where the packet
 *                               was going (icmp.h), the kernel resolves the
 *                               next hop (mg_ctx_redirect_neigh()), and a
 *                               packet XDP counted is not counted again
 *                               (stats.h)
 *   MG_CTX_CSUM_HELPERS         1 on TC: a packet may carry a partial
 *                               checksum (CHECKSUM_PARTIAL) the device
 *                               completes, which only the kernel's checksum
 *                               helpers update: addresses and ports are
 *                               rewritten through mg_ctx_nat_field() and
 *                               _nat_addr6(), which leave every packet
 *                               pointer stale (the caller parses again);
 *                               no checksum is summed byte by byte
 *   mg_ctx_len()                the whole packet's length
 *   mg_ctx_ifindex()            the device the packet is on
 *   mg_ctx_is_gso()             a TCP/UDP GSO packet, segmented after us
 *   mg_ctx_push() / _pop()      outer headers in front / away
 *   mg_ctx_trim()               cut to a length
 *   mg_ctx_trim_grow()          cut to a length, then grow the head
 *   mg_ctx_xmit(), _redirect()  out of a device (XDP's through the mg_tx
 *                               devmap, maps.h)
 *   mg_ctx_redirect_neigh()     out of a device, the kernel resolving the
 *                               next hop's MAC (TC; MG_CTX_HOST says)
 *   mg_ctx_load_bytes()         bytes of the packet copied out
 *   mg_ctx_nat_field(),         an address or port rewritten through the
 *   mg_ctx_nat_addr6()          checksum helpers (TC; MG_CTX_CSUM_HELPERS)
 *
 * A helper one hook cannot have is a stub there that its property keeps
 * unreachable (the constant prunes the call), so that the logic builds
 * once for both.
 *
 * On TC only the linear part is under ctx->data; the entry pulls the whole
 * packet in before anything parses it.
 */
#ifndef MG_DP_CTX_H
#define MG_DP_CTX_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#ifdef MG_TC

#include <linux/ip.h>
#include <linux/pkt_cls.h>

typedef struct __sk_buff mg_ctx_t;

#define MG_CTX_HOOK		MG_EV_HOOK_TC
#define MG_CTX_HOST		1
#define MG_CTX_CSUM_HELPERS	1

#define MG_ACT_PASS		TC_ACT_OK
#define MG_ACT_DROP		TC_ACT_SHOT
#define MG_ACT_TX(ctx)		bpf_redirect((ctx)->ifindex, BPF_F_INGRESS)

static __always_inline __u32 mg_ctx_len(const mg_ctx_t *ctx)
{
	return ctx->len;
}

static __always_inline __u32 mg_ctx_ifindex(const mg_ctx_t *ctx)
{
	return ctx->ifindex;
}

/* A GSO packet: the kernel cuts it into segments after us. */
static __always_inline int mg_ctx_is_gso(const mg_ctx_t *ctx)
{
	return ctx->gso_size != 0;
}

/*
 * olen bytes of outer Ethernet/IP/UDP/VXLAN in front of the frame.  The
 * kernel inserts them after the Ethernet header (so that GSO packets are
 * segmented as tunnel packets, each segment shrunk to still fit); the
 * frame's own Ethernet header then moves behind them, where XDP has it.
 */
static __always_inline int mg_ctx_push(mg_ctx_t *ctx, __u32 olen, int v6)
{
	__u64 flags = BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
		      BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
		      BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN) |
		      (v6 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 :
			    BPF_F_ADJ_ROOM_ENCAP_L3_IPV4);
	struct ethhdr eth;

	if (bpf_skb_load_bytes(ctx, 0, &eth, sizeof(eth)))
		return -1;
	if (bpf_skb_adjust_room(ctx, olen, BPF_ADJ_ROOM_MAC, flags))
		return -1;
	if (bpf_skb_store_bytes(ctx, olen, &eth, sizeof(eth), 0))
		return -1;
	/* adjust_room leaves only the headers linear: they are all we write. */
	return 0;
}

static __always_inline int mg_ctx_pop(mg_ctx_t *ctx, __u32 olen)
{
	return bpf_skb_adjust_room(ctx, -(int)olen, BPF_ADJ_ROOM_MAC, 0) ?
	       -1 : 0;
}

static __always_inline int mg_ctx_trim(mg_ctx_t *ctx, __u32 len)
{
	return bpf_skb_change_tail(ctx, len, 0) ? -1 : 0;
}

static __always_inline int mg_ctx_trim_grow(mg_ctx_t *ctx, __u32 len,
					    __u32 hlen)
{
	if (mg_ctx_trim(ctx, len))
		return -1;
	return bpf_skb_change_head(ctx, hlen, 0) ? -1 : 0;
}

/* Out of ifindex; TC_ACT_OK when it is the device the packet is on. */
static __always_inline int mg_ctx_xmit(mg_ctx_t *ctx, __u32 ifindex)
{
	if (ifindex == ctx->ifindex)
		return TC_ACT_OK;
	return bpf_redirect(ifindex, 0);
}

static __always_inline int mg_ctx_redirect(mg_ctx_t *ctx, __u32 ifindex)
{
	return mg_ctx_xmit(ctx, ifindex);
}

/* The kernel fills in the MACs, resolving the neighbour if it must. */
static __always_inline int mg_ctx_redirect_neigh(__u32 ifindex)
{
	return bpf_redirect_neigh(ifindex, NULL, 0, 0);
}

static __always_inline int mg_ctx_load_bytes(mg_ctx_t *ctx, __u32 off,
					     void *to, __u32 n)
{
	return bpf_skb_load_bytes(ctx, off, to, n);
}

/*
 * One address or port of an IPv4 TCP/UDP packet rewritten through the
 * kernel's checksum helpers: the host's own packets on TC carry a checksum
 * the device completes (CHECKSUM_PARTIAL), which only they know how to
 * update.  csum_off: the L4 checksum's offset.  Packet pointers are stale
 * after.
 */
static __always_inline int mg_ctx_nat_field(mg_ctx_t *ctx, __u32 l3_off,
					    __u32 csum_off, __u32 off,
					    __u32 from, __u32 to, __u32 size,
					    int addr, int udp)
{
	__u64 f = size | (udp ? BPF_F_MARK_MANGLED_0 : 0);

	if (addr) {
		if (bpf_l3_csum_replace(ctx, l3_off +
					__builtin_offsetof(struct iphdr, check),
					from, to, size))
			return -1;
		f |= BPF_F_PSEUDO_HDR;
	}
	if (bpf_l4_csum_replace(ctx, csum_off, from, to, f))
		return -1;
	return bpf_skb_store_bytes(ctx, off, &to, size, 0) ? -1 : 0;
}

/*
 * An IPv6 address at off rewritten to addr: word by word through the L4
 * checksum (IPv6 has no header checksum), then stored.  Pointers are stale
 * after.
 */
static __always_inline int mg_ctx_nat_addr6(mg_ctx_t *ctx, __u32 csum_off,
					    __u32 off, const __u32 *addr,
					    int udp)
{
	__u64 f = 4 | BPF_F_PSEUDO_HDR | (udp ? BPF_F_MARK_MANGLED_0 : 0);
	__u32 old[4], new[4];

	if (bpf_skb_load_bytes(ctx, off, old, sizeof(old)))
		return -1;
	for (int i = 0; i < 4; i++) {
		new[i] = addr[i];
		if (bpf_l4_csum_replace(ctx, csum_off, old[i], new[i], f))
			return -1;
	}
	return bpf_skb_store_bytes(ctx, off, new, sizeof(new), 0) ? -1 : 0;
}

#else /* XDP */

typedef struct xdp_md mg_ctx_t;

#define MG_CTX_HOOK		MG_EV_HOOK_XDP
#define MG_CTX_HOST		0
#define MG_CTX_CSUM_HELPERS	0

#define MG_ACT_PASS		XDP_PASS
#define MG_ACT_DROP		XDP_DROP
/*
 * Redirected out of where it came in (mg_ctx_redirect), not XDP_TX: a veth peer
 * without an XDP program is only woken by a redirect's flush, and an
 * error sent with XDP_TX would wait in its ring for the next frame.
 */
#define MG_ACT_TX(ctx)		mg_ctx_redirect(ctx, (ctx)->ingress_ifindex)

static __always_inline __u32 mg_ctx_len(const mg_ctx_t *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	/*
	 * A scalar from here: clang would fold it into arithmetic on
	 * data_end, which the verifier refuses.
	 */
	barrier_var(len);
	return len;
}

static __always_inline __u32 mg_ctx_ifindex(const mg_ctx_t *ctx)
{
	return ctx->ingress_ifindex;
}

static __always_inline int mg_ctx_is_gso(const mg_ctx_t *ctx)
{
	return 0;
}

static __always_inline int mg_ctx_push(mg_ctx_t *ctx, __u32 olen, int v6)
{
	return bpf_xdp_adjust_head(ctx, -(int)olen) ? -1 : 0;
}

static __always_inline int mg_ctx_pop(mg_ctx_t *ctx, __u32 olen)
{
	return bpf_xdp_adjust_head(ctx, olen) ? -1 : 0;
}

static __always_inline int mg_ctx_trim(mg_ctx_t *ctx, __u32 len)
{
	return bpf_xdp_adjust_tail(ctx, (int)len - (int)mg_ctx_len(ctx)) ?
	       -1 : 0;
}

static __always_inline int mg_ctx_trim_grow(mg_ctx_t *ctx, __u32 len,
					    __u32 hlen)
{
	if (mg_ctx_trim(ctx, len))
		return -1;
	return bpf_xdp_adjust_head(ctx, -(int)hlen) ? -1 : 0;
}

/*
 * The devmap comes from maps.h, which this header does not include (the
 * bench's packet generator includes csum.h, hence ctx.h, and must not get
 * the datapath's pinned maps): the helpers take it, and the macros below
 * name it where they are used.
 *
 * XDP_TX when it is where the packet came in; else through the devmap
 * (bulked), or a plain redirect for a device not in it.
 */
static __always_inline int mg_ctx_xmit_dev(mg_ctx_t *ctx, void *devmap,
					   __u32 ifindex)
{
	long rc;

	if (ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	rc = bpf_redirect_map(devmap, ifindex, 0);
	if (rc == XDP_REDIRECT)
		return rc;
	return bpf_redirect(ifindex, 0);
}

/*
 * Out of ifindex even when it is the one the packet came in on: XDP_TX
 * on a veth only reaches a peer that runs XDP itself.
 */
static __always_inline int mg_ctx_redirect_dev(void *devmap, __u32 ifindex)
{
	long rc = bpf_redirect_map(devmap, ifindex, 0);

	return rc == XDP_REDIRECT ? rc : bpf_redirect(ifindex, 0);
}

/* Unreachable on XDP (MG_CTX_HOST is 0): the stack resolves it instead. */
static __always_inline int mg_ctx_redirect_neigh(__u32 ifindex)
{
	return XDP_PASS;
}

static __always_inline int mg_ctx_load_bytes(mg_ctx_t *ctx, __u32 off,
					     void *to, __u32 n)
{
	return bpf_xdp_load_bytes(ctx, off, to, n);
}

/* Unreachable on XDP (MG_CTX_CSUM_HELPERS is 0): rewritten in place. */
static __always_inline int mg_ctx_nat_field(mg_ctx_t *ctx, __u32 l3_off,
					    __u32 csum_off, __u32 off,
					    __u32 from, __u32 to, __u32 size,
					    int addr, int udp)
{
	return -1;
}

static __always_inline int mg_ctx_nat_addr6(mg_ctx_t *ctx, __u32 csum_off,
					    __u32 off, const __u32 *addr,
					    int udp)
{
	return -1;
}

#define mg_ctx_xmit(ctx, ifindex)	mg_ctx_xmit_dev(ctx, &mg_tx, ifindex)
#define mg_ctx_redirect(ctx, ifindex)	mg_ctx_redirect_dev(&mg_tx, ifindex)

#endif

#endif
