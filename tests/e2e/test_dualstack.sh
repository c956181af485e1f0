#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Dual stack (DESIGN §2, "inner IPv4 and IPv6, underlay IPv4 or IPv6"):
# two clusters with IPv4 and IPv6 pods, first over an IPv4 underlay, then
# (the same gateways reconfigured, their agents restarted) over an IPv6
# underlay, with a tunnel address of each family (IPv4 is preferred), and
# over IPv6 again with one gateway sending zero UDP checksums.  Each time
# IPv6 and IPv4 pings and TCP transfers cross, the gateways count the
# encap and decap, and the frames on the underlay bridge are VXLAN between
# the tunnel addresses of the expected family with the source cluster's
# VNI (over IPv6 with a good UDP checksum, or zero where udp6_checksum =
# no, which meshgate takes all the same).  Path MTU is test_pmtu.sh's:
# here the underlay has room for either family's tunnel overhead.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

UL_MTU=1570	# 1500-byte pod packets + 70 bytes of VXLAN over IPv6
NPING=10
TCP_BYTES=$((3 * 1024 * 1024))
u1=$UL_NET.1 u2=$UL_NET.2
v1=$(gw_ul_ip6 1) v2=$(gw_ul_ip6 2)

log "topology $MGP: two dual-stack clusters, two pods each"
topo_underlay && topo_cluster 1 && topo_cluster 2 &&
	topo6_cluster 1 && topo6_cluster 2 || exit 1

# addr_of FAM K N: pod N of cluster K's address of a family.
addr_of() { if [ "$1" = 6 ]; then pod_ip6 "$2" "$3"; else pod_ip "$2" "$3"; fi; }

# ping_counted FAM SRC_K SRC_P DST_K DST_P: NPING pings all answered, and
# both gateways counted every request and every reply.
ping_counted() {
	local f=$1 sk=$2 sp=$3 dk=$4 dp=$5 e_s d_s e_d d_d
	e_s=$(stat_gw "$sk" encap) d_s=$(stat_gw "$sk" decap)
	e_d=$(stat_gw "$dk" encap) d_d=$(stat_gw "$dk" decap)
	nsx "c${sk}p$sp" ping -q -c "$NPING" -i 0.05 -W 2 \
		"$(addr_of "$f" "$dk" "$dp")" | grep -q " $NPING received" ||
		return 1
	e_s=$(($(stat_gw "$sk" encap) - e_s)) d_s=$(($(stat_gw "$sk" decap) - d_s))
	e_d=$(($(stat_gw "$dk" encap) - e_d)) d_d=$(($(stat_gw "$dk" decap) - d_d))
	log "gw$sk encap +$e_s decap +$d_s, gw$dk encap +$e_d decap +$d_d"
	[ "$e_s" -ge "$NPING" ] && [ "$d_d" -ge "$NPING" ] &&
		[ "$e_d" -ge "$NPING" ] && [ "$d_s" -ge "$NPING" ]
}

# tcp_counted FAM SRC_K SRC_P DST_K DST_P PORT: a TCP transfer arrives
# intact, and the sender's gateway encapsulated / the receiver's
# decapsulated at least its bytes.
tcp_counted() {
	local f=$1 sk=$2 sp=$3 dk=$4 dp=$5 port=$6 e d
	e=$(stat_bytes_gw "$sk" encap) d=$(stat_bytes_gw "$dk" decap)
	tcp_transfer "c${sk}p$sp" "c${dk}p$dp" "$(addr_of "$f" "$dk" "$dp")" \
		"$TCP_BYTES" "$port" 15 || return 1
	e=$(($(stat_bytes_gw "$sk" encap) - e)) d=$(($(stat_bytes_gw "$dk" decap) - d))
	log "gw$sk encap +$e bytes, gw$dk decap +$d bytes"
	[ "$e" -ge "$TCP_BYTES" ] && [ "$d" -ge "$TCP_BYTES" ]
}

# warm_up: one ping each way and family, so that the neighbours are known
# and every measured packet takes the XDP path.
warm_up() {
	local f p
	for f in 4 6; do
		for p in 1 2; do
			ping_any "c1p$p" "$(addr_of $f 2 "$p")" -c 1 -W 2
			ping_any "c2p$p" "$(addr_of $f 1 "$p")" -c 1 -W 2
		done
	done
}

# traffic UNDERLAY: the pings and transfers of one underlay.
traffic() {
	local ul=$1 port=$2
	check "[$ul] ping6 c1p1 -> c2p1, encap/decap counted" ping_counted 6 1 1 2 1
	check "[$ul] ping6 c2p2 -> c1p2, encap/decap counted" ping_counted 6 2 2 1 2
	check "[$ul] ping c1p2 -> c2p2 (IPv4 beside IPv6), counted" \
		ping_counted 4 1 2 2 2
	check "[$ul] full-size IPv6 packet c1p1 -> c2p1 (1452-byte ping6)" \
		ping_any c1p1 "$(pod_ip6 2 1)" -c 3 -i 0.1 -W 2 -M do -s 1452
	check "[$ul] TCP6 c1p1 -> c2p1, $TCP_BYTES bytes intact, counted" \
		tcp_counted 6 1 1 2 1 "$port"
	check "[$ul] TCP6 c2p2 -> c1p2, $TCP_BYTES bytes intact, counted" \
		tcp_counted 6 2 2 1 2 "$((port + 1))"
	check "[$ul] TCP c1p2 -> c2p1 (IPv4 beside IPv6), intact, counted" \
		tcp_counted 4 1 2 2 1 "$((port + 2))"
}

# capture NAME: VXLAN frames sent by gw1 and gw2 (at their ports of the
# underlay bridge) while pods ping both ways in both families, decoded as
# "VNI outer-src outer-dst inner-src inner-dst" lines into $MGDIR/NAME.txt.
capture() {
	local n=$1 f
	cap_start ul gw1 "$MGDIR/$n.1.pcap" udp port 4789 &&
		cap_start ul gw2 "$MGDIR/$n.2.pcap" udp port 4789 || return 1
	for f in 4 6; do
		ping_any c1p1 "$(addr_of $f 2 1)" -c 3 -i 0.1 -W 2
		ping_any c2p2 "$(addr_of $f 1 2)" -c 3 -i 0.1 -W 2
	done
	cap_stop "$MGDIR/$n.1.pcap"
	cap_stop "$MGDIR/$n.2.pcap"
	for f in "$MGDIR/$n".[12].pcap; do
		# Fields of the outer and the inner IP header: "outer,inner"
		# in one field when both are of one family.
		tshark -r "$f" -o udp.check_checksum:TRUE -T fields \
			-E occurrence=a -E aggregator=, \
			-e vxlan.vni -e udp.dstport -e udp.checksum.status \
			-e ip.src -e ip.dst -e ipv6.src -e ipv6.dst 2>/dev/null
	done | awk 'BEGIN { FS = "\t"; OFS = " " }
		{ $1 = $1; for (i = 1; i <= NF; i++) if ($i == "") $i = "-"; print }' \
		>"$MGDIR/$n.txt"
	log "underlay frames ($n): VNI dport csum-status ip.src ip.dst ipv6.src ipv6.dst (- none)"
	sort "$MGDIR/$n.txt" | uniq -c | sed 's/^/    /'
}

# frames NAME PATTERN: at least 3 frames of a capture match (grep -E -x).
frames() { [ "$(grep -cEx "$2" "$MGDIR/$1.txt")" -ge 3 ]; }
# only NAME PATTERN: every frame of a capture matches, and there are some.
only() {
	[ -s "$MGDIR/$1.txt" ] && ! grep -qvEx "$2" "$MGDIR/$1.txt"
}
# no_drops K: nothing counted but pass, encap, decap, decap_stack.
no_drops() {
	mgcli "$1" -j stats | jq -e '[.[] | select(.reason != "pass" and
		.reason != "encap" and .reason != "decap" and
		.reason != "decap_stack") | .packets] | add == 0' >/dev/null
}
json_is() {
	local out
	out=$(mgcli "$1" -j bpf "$2") || return 1
	[ "$(jq -c "$3" <<<"$out")" = true ]
}

# --- 1. IPv4 underlay ------------------------------------------------------
log "IPv4 underlay"
write_config6 1 "2" "4" >/dev/null
write_config6 2 "1" "4" >/dev/null
start_agent 1 && start_agent 2 || exit 1
warm_up

check "[ul4] bpf endpoints6: own fd00:1::/64 local, fd00:2::/64 of cluster 2" \
	json_is 1 endpoints6 '(length == 2) and
	 any(.[]; .prefix == "fd00:1::/64" and .cluster_id == 1 and .local) and
	 any(.[]; .prefix == "fd00:2::/64" and .cluster_id == 2 and (.local|not))'
check "[ul4] bpf clusters: cluster 2 through $u2" json_is 1 clusters \
	'length == 1 and .[0].gateways == ["'"$u2"'"]'
traffic ul4 5001

capture ul4
check "[ul4] IPv6 c1p1 -> c2p1 in VXLAN VNI 1 over IPv4 $u1 -> $u2" \
	frames ul4 "1 4789 [^ ]* $u1 $u2 $(pod_ip6 1 1) $(pod_ip6 2 1)"
check "[ul4] IPv6 reply c2p1 -> c1p1: VNI 2, $u2 -> $u1" \
	frames ul4 "2 4789 [^ ]* $u2 $u1 $(pod_ip6 2 1) $(pod_ip6 1 1)"
check "[ul4] IPv4 c2p2 -> c1p2: VNI 2, $u2 -> $u1" \
	frames ul4 "2 4789 [^ ]* $u2,$(pod_ip 2 2) $u1,$(pod_ip 1 2) - -"
check "[ul4] every tunnel frame is outer IPv4 between $u1 and $u2" \
	only ul4 "[12] 4789 [^ ]* ($u1|$u2)[^ ]* ($u1|$u2)[^ ]* [^ ]* [^ ]*"
check "[ul4] no drops on gw1" no_drops 1
check "[ul4] no drops on gw2" no_drops 2

# --- 2. IPv6 underlay: the same gateways reconfigured, agents restarted ----
log "IPv6 underlay (reconfigure, restart the agents)"
stop_agent 1 && stop_agent 2
write_config6 1 "2" "6" >/dev/null
write_config6 2 "1" "6" >/dev/null
start_agent 1 && start_agent 2 || exit 1
warm_up

check "[ul6] bpf peers6: $v2 of cluster 2" json_is 1 peers6 \
	'. == [{"tunnel_address": "'"$v2"'", "cluster_id": 2}]'
check "[ul6] bpf peers: no IPv4 tunnel address left" json_is 1 peers \
	'length == 0'
check "[ul6] bpf clusters: cluster 2 through $v2" json_is 1 clusters \
	'length == 1 and .[0].gateways == ["'"$v2"'"]'
check "[ul6] bpf nexthops6: $v2 via ul0" json_is 1 nexthops6 \
	'length == 1 and .[0].destination == "'"$v2"'" and
	 .[0].interface == "ul0"'
traffic ul6 5011

capture ul6
# Outer IPv6 with a good UDP checksum (status 1).  Two headers of one
# family show as "outer,inner" in one field; "-" is a field with none.
check "[ul6] IPv6 c1p1 -> c2p1: VNI 1, outer IPv6 $v1 -> $v2, port 4789, UDP checksum good" \
	frames ul6 "1 4789 1 - - $v1,$(pod_ip6 1 1) $v2,$(pod_ip6 2 1)"
check "[ul6] IPv6 reply c2p1 -> c1p1: VNI 2, $v2 -> $v1" \
	frames ul6 "2 4789 1 - - $v2,$(pod_ip6 2 1) $v1,$(pod_ip6 1 1)"
check "[ul6] IPv4 c2p2 -> c1p2: VNI 2, outer IPv6 $v2 -> $v1" \
	frames ul6 "2 4789 1 $(pod_ip 2 2) $(pod_ip 1 2) $v2 $v1"
check "[ul6] IPv4 reply c1p2 -> c2p2: VNI 1, $v1 -> $v2" \
	frames ul6 "1 4789 1 $(pod_ip 1 2) $(pod_ip 2 2) $v1 $v2"
check "[ul6] every tunnel frame is outer IPv6 between $v1 and $v2, checksum good" \
	only ul6 "[12] 4789 1 [^ ]* [^ ]* ($v1|$v2)[^ ]* ($v1|$v2)[^ ]*"
check "[ul6] no drops on gw1" no_drops 1
check "[ul6] no drops on gw2" no_drops 2

# --- 3. a tunnel address of each family: IPv4 is preferred ----------------
log "both underlay families (reconfigure, restart the agents)"
stop_agent 1 && stop_agent 2
write_config6 1 "2" "4 6" >/dev/null
write_config6 2 "1" "4 6" >/dev/null
start_agent 1 && start_agent 2 || exit 1
warm_up
check "[ul46] ping6 c1p1 -> c2p1, counted" ping_counted 6 1 1 2 1
check "[ul46] ping c2p2 -> c1p2, counted" ping_counted 4 2 2 1 2
check "[ul46] TCP6 c1p1 -> c2p1, intact, counted" tcp_counted 6 1 1 2 1 5021
capture ul46
check "[ul46] tunnel frames are outer IPv4 (preferred when both have both)" \
	only ul46 "[12] 4789 [^ ]* ($u1|$u2)[^ ]* ($u1|$u2)[^ ]* [^ ]* [^ ]*"
check "[ul46] IPv6 c1p1 -> c2p1 among them (VNI 1)" \
	frames ul46 "1 4789 [^ ]* $u1 $u2 $(pod_ip6 1 1) $(pod_ip6 2 1)"

# --- 4. IPv6 underlay, gw2 sends zero UDP checksums ------------------------
log "IPv6 underlay, udp6_checksum = no on gw2 (reconfigure, restart the agents)"
stop_agent 1 && stop_agent 2
write_config6 1 "2" "6" >/dev/null
write_config6 2 "1" "6" "udp6_checksum = no" >/dev/null
start_agent 1 && start_agent 2 || exit 1
warm_up
check "[ul6z] ping6 c1p1 -> c2p1, counted" ping_counted 6 1 1 2 1
check "[ul6z] ping c2p2 -> c1p2, counted" ping_counted 4 2 2 1 2
check "[ul6z] TCP6 c2p1 -> c1p1, intact, counted" tcp_counted 6 2 1 1 1 5031
capture ul6z
# n_frames NAME FILTER: frames of a capture's two pcaps matching a filter.
n_frames() {
	cat "$MGDIR/$1".[12].pcap >/dev/null || return 1
	for f in "$MGDIR/$1".[12].pcap; do
		tshark -r "$f" -o udp.check_checksum:TRUE -Y "$2" 2>/dev/null
	done | wc -l
}
check "[ul6z] gw2's tunnel frames carry UDP checksum zero" test \
	"$(n_frames ul6z "ipv6.src == $v2 and udp.checksum == 0")" -ge 6 -a \
	"$(n_frames ul6z "ipv6.src == $v2 and udp.checksum != 0")" -eq 0
check "[ul6z] gw1's still carry a good one" test \
	"$(n_frames ul6z "ipv6.src == $v1 and udp.checksum.status == 1")" -ge 6 -a \
	"$(n_frames ul6z "ipv6.src == $v1 and udp.checksum.status != 1")" -eq 0
check "[ul6z] no drops on gw1 (zero checksums taken)" no_drops 1

summary
