#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Anti-spoofing on tunnel ingress (DESIGN §2 path 2).  A rogue host on the
# underlay sends VXLAN to gateway 1 with the kernel's own VXLAN device:
#   (a) from its own address, not a peer            -> peer_unknown
#   (b) from gw2's tunnel address, VNI of cluster 3  -> vni_mismatch
#   (c) from gw2's address, VNI 2, inner source outside cluster 2
#                                                    -> inner_src_spoof
# and a rogue pod of cluster 1 sends gw1 a perfect copy of gw2's VXLAN
# on the cluster side, where no tunnel comes in     -> tunnel_wrong_if
# Each counter rises by exactly what was sent, the target pod sees none of
# it, and the real gw2 is not disturbed.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

N=5
U1=$UL_NET.1 U2=$UL_NET.2 ROGUE=$UL_NET.66
TARGET=$(pod_ip 1 1)

log "topology: two meshgate clusters and a rogue host on the underlay"
topo_underlay && topo_cluster 1 && topo_cluster 2 || exit 1
write_config 1 "2" >/dev/null
write_config 2 "1" >/dev/null
start_agent 1 && start_agent 2 || exit 1

# The rogue: its own underlay address, gw2's tunnel address as a /32 on lo
# (arp_ignore keeps it from answering ARP for it, so gw1's neighbour entry
# for gw2 stays right), and the inner sources it pretends to send from.
rogue_setup() {
	new_ns rogue && veth_into rogue ul0 ul rogue || return 1
	nsx ul ip link set rogue master br0
	nsx rogue sysctl -qw net.ipv4.conf.all.arp_ignore=1
	nsx rogue sysctl -qw net.ipv4.conf.all.arp_announce=2
	nsx rogue ip addr add "$ROGUE/24" dev ul0
	nsx rogue ip addr add "$U2/32" dev lo
	nsx rogue ip addr add 10.2.0.99/32 dev lo	# in cluster 2
	nsx rogue ip addr add 10.3.0.99/32 dev lo	# in no peer's cluster
	nsx rogue ip addr add 10.1.0.99/32 dev lo	# in gw1's own cluster
	nsx rogue ip link add vx0 type vxlan external dstport 4789 nolearning &&
	nsx rogue ip link set vx0 up &&
	nsx rogue ip neigh add 169.254.0.1 lladdr 02:6d:67:00:00:01 dev vx0 \
		nud permanent
}
check "rogue host on the underlay" rogue_setup

# spoof VNI OUTER_SRC INNER_SRC: N pings to the target pod, tunnelled to
# gw1 with that VNI from that outer source.
spoof() {
	local src=""
	[ "$2" != "$ROGUE" ] && src="src $2"
	nsx rogue ip route replace 10.1.0.0/16 via 169.254.0.1 dev vx0 onlink \
		encap ip id "$1" $src dst "$U1" || return 1
	nsx rogue ping -q -c "$N" -i 0.05 -W 1 -I "$3" "$TARGET" >/dev/null
	return 0
}

# rises_by REASON BEFORE: gw1's counter rose by exactly N.
rises_by() {
	local d=$(($(stat_gw 1 "$1") - $2))
	log "$1 +$d (sent $N)"
	[ "$d" -eq "$N" ]
}

pod_cap="$MGDIR/pod.pcap" ul_cap="$MGDIR/rogue.pcap"
check "capture in the target pod" cap_start c1p1 eth0 "$pod_cap" icmp
check "capture on the rogue's underlay port" cap_start ul rogue "$ul_cap" \
	udp dst port 4789
dec0=$(stat_gw 1 decap) decs0=$(stat_gw 1 decap_stack)

b=$(stat_gw 1 peer_unknown)
spoof 2 "$ROGUE" 10.2.0.99
check "(a) not a peer: peer_unknown +$N" rises_by peer_unknown "$b"

b=$(stat_gw 1 vni_mismatch)
spoof 3 "$U2" 10.2.0.99
check "(b) gw2's address, VNI 3: vni_mismatch +$N" rises_by vni_mismatch "$b"

b=$(stat_gw 1 inner_src_spoof)
spoof 2 "$U2" 10.3.0.99
check "(c) gw2's address and VNI, inner source 10.3.0.99: inner_src_spoof +$N" \
	rises_by inner_src_spoof "$b"

b=$(stat_gw 1 inner_src_spoof)
spoof 2 "$U2" 10.1.0.99
check "(c') inner source in gw1's own cluster: inner_src_spoof +$N" \
	rises_by inner_src_spoof "$b"

# (d) The rogue pod: on cluster 1's switch, gw2's tunnel address on its
# lo, VXLAN to gw1's tunnel address through gw1's cluster side.
rogue_pod_setup() {
	new_ns rpod && veth_into rpod eth0 c1 rpod || return 1
	nsx c1 ip link set rpod master br0
	nsx rpod ip addr add 10.1.0.66/24 dev eth0
	nsx rpod ip addr add "$U2/32" dev lo
	nsx rpod ip addr add 10.2.0.98/32 dev lo	# in cluster 2
	nsx rpod ip route add "$UL_NET.0/24" via 10.1.0.1
	nsx rpod ip link add vx0 type vxlan external dstport 4789 nolearning &&
	nsx rpod ip link set vx0 up &&
	nsx rpod ip neigh add 169.254.0.1 lladdr 02:6d:67:00:00:01 dev vx0 \
		nud permanent &&
	nsx rpod ip route add "$(pod_ip 1 1)/32" via 169.254.0.1 dev vx0 \
		onlink encap ip id 2 src "$U2" dst "$U1"
}
check "rogue pod on cluster 1's side" rogue_pod_setup
b=$(stat_gw 1 tunnel_wrong_if)
nsx rpod ping -q -c "$N" -i 0.05 -W 1 -I 10.2.0.98 "$TARGET" >/dev/null
check "(d) gw2's VXLAN on gw1's cluster side: tunnel_wrong_if +$N" \
	rises_by tunnel_wrong_if "$b"

cap_stop "$ul_cap"
check "the rogue put $((4 * N)) VXLAN frames on the wire" \
	test "$(cap_count "$ul_cap")" -eq $((4 * N))
check "nothing spoofed was decapsulated" test \
	"$(stat_gw 1 decap)" -eq "$dec0" -a "$(stat_gw 1 decap_stack)" -eq "$decs0"

# The real gw2 is unaffected: its traffic flows (and shows that the pod's
# capture sees what does arrive) and gw1 still sends to gw2's MAC, not the
# rogue's.
check "c2p1 -> c1p1 still works" \
	nsx c2p1 ping -q -c 3 -i 0.1 -W 2 "$TARGET"
cap_stop "$pod_cap"
spoofed="src 10.2.0.99 or src 10.3.0.99 or src 10.1.0.99 or src 10.2.0.98"
log "in the pod: $(cap_count "$pod_cap" "$spoofed") spoofed," \
	"$(cap_count "$pod_cap" src "$(pod_ip 2 1)") from c2p1"
check "the target pod received none of the spoofed packets" \
	test "$(cap_count "$pod_cap" "$spoofed")" -eq 0
check "the target pod received c2p1's pings" \
	test "$(cap_count "$pod_cap" src "$(pod_ip 2 1)")" -ge 3
gw2_mac=$(nsx gw2 cat /sys/class/net/ul0/address)
nh_is_gw2() {
	mgcli 1 -j bpf nexthops | jq -e --arg d "$U2" --arg m "$gw2_mac" \
		'any(.[]; .destination == $d and .dst_mac == $m)' >/dev/null
}
check "gw1's next hop for $U2 is still gw2's MAC" nh_is_gw2

summary
