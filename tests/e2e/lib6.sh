#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# IPv6 additions to lib.sh (source it after lib.sh): dual-stack pods and
# gateways, an IPv6 underlay, configurations with a tunnel address of one
# or both families, captures over IPv4 or IPv6 (lib.sh's tcp_transfer
# takes either family).
#
#   underlay:   fd00:200::K/64 on gateway K's ul0, beside 192.168.200.K
#   cluster K:  gateway cl0 fd00:K::1/64, pods eth0 fd00:K::(10+N)/64,
#               default route via fd00:K::1
#   pod CIDRs of cluster K: 10.K.0.0/16 and fd00:K::/64
#
# Every address is added nodad (no 1-2 s of tentative state), and the
# gateways forward IPv6 (bpf_fib_lookup() answers only for a forwarding
# interface, and the kernel fallback paths route).

UL6_NET=fd00:200:

pod_ip6() { echo "fd00:$1::$((10 + $2))"; }
gw_cl_ip6() { echo "fd00:$1::1"; }
gw_ul_ip6() { echo "$UL6_NET:$1"; }
cidr6() { echo "fd00:$1::/64"; }

# topo6_cluster K [PODS]: the IPv6 half of cluster K, after topo_cluster.
topo6_cluster() {
	local k=$1 pods=${2:-2} n
	nsx "gw$k" sysctl -qw net.ipv6.conf.all.forwarding=1 || return 1
	nsx "gw$k" ip -6 addr add "$(gw_cl_ip6 "$k")/64" dev cl0 nodad || return 1
	nsx "gw$k" ip -6 addr add "$(gw_ul_ip6 "$k")/64" dev ul0 nodad || return 1
	for n in $(seq 1 "$pods"); do
		nsx "c${k}p$n" ip -6 addr add "$(pod_ip6 "$k" "$n")/64" \
			dev eth0 nodad || return 1
		nsx "c${k}p$n" ip -6 route add default via "$(gw_cl_ip6 "$k")" ||
			return 1
	done
}

# write_config6 K "PEER_K ..." FAMILIES [extra [gateway] lines]: meshgate
# config for gateway K with static peers, pod CIDRs of both families, and
# tunnel addresses (own and the peers') of FAMILIES: "4", "6" or "4 6".
write_config6() { write_config_fams "$1" "$2" "$3" 1 "${4:-}"; }

# ping_any NS ADDR [ARGS...]: ping (IPv4 or IPv6 by the address), quiet.
ping_any() {
	local ns=$1 ip=$2
	shift 2
	nsx "$ns" ping -q "$@" "$ip" >/dev/null
}

# route_mtu NS ADDR: the MTU the kernel of NS has cached towards ADDR
# (learnt from ICMP fragmentation needed / packet too big), "" when none.
route_mtu() {
	nsx "$1" ip route get "$2" 2>/dev/null |
		sed -n 's/.* mtu \([0-9]*\).*/\1/p' | head -1
}

# nh_mtu K TUNNEL: the MTU gateway K's next-hop map holds for a peer's
# tunnel address ("" when no entry).
nh_mtu() {
	local map=nexthops
	[[ $2 == *:* ]] && map=nexthops6
	mgcli "$1" -j bpf "$map" 2>/dev/null |
		jq -r --arg d "$2" '.[] | select(.destination == $d) | .mtu' \
		2>/dev/null
}
