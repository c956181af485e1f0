#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The ICMP errors the datapath builds reach a veth peer that runs no XDP
# program (GRO on, as lib.sh's switch ports have): each is redirected out
# of the interface it came in on, whose flush wakes the peer.  Sent with
# XDP_TX they would wait in the peer's ring until some other frame
# crossed.  Here nothing else crosses: one packet too big for the tunnel,
# and its error must be back within a second.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "topology: two meshgate clusters, 1500-byte underlay"
topo_underlay && topo_cluster 1 && topo_cluster 2 || exit 1
topo6_cluster 1 && topo6_cluster 2 || exit 1
write_config6 1 "2" 4 >/dev/null
write_config6 2 "1" 4 >/dev/null
start_agent 1 && start_agent 2 || exit 1
log "gw1's switch port: $(nsx c1 ip -d link show gw | grep -c 'prog/xdp') XDP programs"

# Neighbours and next hops resolved first, with small packets.
nsx c1p1 ping -q -c 2 -W 2 "$(pod_ip 2 1)" >/dev/null
nsx c1p1 ping -q -c 2 -W 2 "$(pod_ip6 2 1)" >/dev/null
sleep 0.5

# too_big_answered FAMILY DST: one 1500-byte packet with DF from c1p1; the
# pod learns the tunnel's MTU from the error within a second.
too_big_answered() {
	local out
	out=$(nsx c1p1 ping "-$1" -c 1 -W 1 -M do -s "$3" "$2" 2>&1)
	log "$(echo "$out" | grep -iE 'mtu|too big|frag' | head -1)"
	[ "$(route_mtu c1p1 "$2")" = "$4" ]
}

n0=$(stat_gw 1 icmp_frag_needed) m0=$(stat_gw 1 icmp6_too_big)
check "IPv4: fragmentation needed back within 1 s (route MTU 1450)" \
	too_big_answered 4 "$(pod_ip 2 1)" 1472 1450
check "IPv6: packet too big back within 1 s (route MTU 1450)" \
	too_big_answered 6 "$(pod_ip6 2 1)" 1452 1450
check "gw1 answered both ($(($(stat_gw 1 icmp_frag_needed) - n0)) + $(($(stat_gw 1 icmp6_too_big) - m0)))" \
	test "$(($(stat_gw 1 icmp_frag_needed) - n0 + $(stat_gw 1 icmp6_too_big) - m0))" -eq 2

summary
