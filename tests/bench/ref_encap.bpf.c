// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The reference the datapath is measured against (issue 15): the least a
 * VXLAN gateway has to do per packet, written plainly.
 *
 *   ref_encap  parse Ethernet + IPv4 (no options), one LPM trie lookup of
 *              the destination, push 50 bytes (Ethernet, IPv4, UDP, VXLAN),
 *              the outer IPv4 header checksum, XDP_TX (or, with tx_ifindex
 *              set, a devmap redirect to it, as meshgate sends)
 *   ref_decap  parse the outer Ethernet, IPv4, UDP to our port and VXLAN
 *              header, one LPM trie lookup of the inner source (the
 *              anti-spoofing check every gateway needs), strip 50 bytes,
 *              XDP_TX (or the redirect)
 *
 * No TTL, no MTU, no stats, no events, no services: what is left over when
 * meshgate's cost is divided by this one is the price of its features.
 * bench_dp fills ref_ep4 with the same prefixes as mg_ep4; the e2e harness
 * with the prefix of the remote cluster.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define REF_ENCAP_LEN                                   \
	(sizeof(struct ethhdr) + sizeof(struct iphdr) + \
	 sizeof(struct udphdr) + sizeof(struct ref_vxlanhdr))

const volatile __u32 tunnel_addr = 0; /* network order: outer source */
const volatile __u16 vxlan_port = 0; /* network order */
const volatile __u32 vni = 0; /* host order: the VNI pushed */
const volatile __u8 smac[ETH_ALEN] = {};
const volatile __u8 dmac[ETH_ALEN] = {};
const volatile __u32 tx_ifindex = 0; /* 0: XDP_TX */

struct ref_vxlanhdr {
	__be32 flags;
	__be32 vni;
};

struct ref_key {
	__u32 prefixlen;
	__u32 addr; /* network order */
};

struct ref_val {
	__u32 gw; /* network order: the remote gateway's tunnel address */
	__u32 cluster;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1 << 20);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct ref_key);
	__type(value, struct ref_val);
} ref_ep4 SEC(".maps");

/* Same kind of map as meshgate's mg_tx. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} ref_tx SEC(".maps");

static __always_inline int ref_send(void)
{
	return tx_ifindex ? bpf_redirect_map(&ref_tx, tx_ifindex, 0) : XDP_TX;
}

SEC("xdp")
int ref_encap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct ref_key key = { .prefixlen = 32 };
	struct ref_vxlanhdr *vx;
	struct ref_val *v;
	struct udphdr *udp;
	__u32 len, gw, sum = 0;
	__u16 sport, *w;

	if ((void *)(ip + 1) > end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
		return XDP_PASS;
	key.addr = ip->daddr;
	v = bpf_map_lookup_elem(&ref_ep4, &key);
	if (!v)
		return XDP_PASS;
	gw = v->gw;
	/* Entropy for the underlay's ECMP, from the inner addresses. */
	sport = bpf_htons(49152 | ((ip->saddr ^ ip->daddr) & 0x3fff));
	len = end - data;
	if (bpf_xdp_adjust_head(ctx, -(int)REF_ENCAP_LEN))
		return XDP_DROP;

	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	eth = data;
	ip = (void *)(eth + 1);
	udp = (void *)(ip + 1);
	vx = (void *)(udp + 1);
	if ((void *)(vx + 1) > end)
		return XDP_DROP;

	for (int i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = dmac[i];
		eth->h_source[i] = smac[i];
	}
	eth->h_proto = bpf_htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tos = 0;
	ip->tot_len = bpf_htons(len + REF_ENCAP_LEN - sizeof(*eth));
	ip->id = 0;
	ip->frag_off = bpf_htons(0x4000); /* DF */
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->check = 0;
	ip->saddr = tunnel_addr;
	ip->daddr = gw;
	w = (__u16 *)ip;
#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = (__u16)~sum;
	udp->source = sport;
	udp->dest = vxlan_port;
	udp->len = bpf_htons(len + sizeof(*udp) + sizeof(*vx));
	udp->check = 0;
	vx->flags = bpf_htonl(0x08000000);
	vx->vni = bpf_htonl(vni << 8);
	return ref_send();
}

SEC("xdp")
int ref_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	struct ref_vxlanhdr *vx = (void *)(udp + 1);
	struct ethhdr *ieth = (void *)(vx + 1);
	struct iphdr *iip = (void *)(ieth + 1);
	struct ref_key key = { .prefixlen = 32 };

	if ((void *)(iip + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || ip->daddr != tunnel_addr ||
	    udp->dest != vxlan_port)
		return XDP_PASS;
	if (vx->flags != bpf_htonl(0x08000000) ||
	    ieth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_DROP;
	key.addr = iip->saddr;
	if (!bpf_map_lookup_elem(&ref_ep4, &key))
		return XDP_DROP;
	if (bpf_xdp_adjust_head(ctx, (int)REF_ENCAP_LEN))
		return XDP_DROP;
	return ref_send();
}
