#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Cross-cluster pod-to-pod forwarding (DESIGN §2 paths 1, 2 and 4): two
# clusters, a meshgate gateway each.  Pings and TCP transfers cross both
# ways; the counters show the encap and decap on both gateways; the frames
# on the underlay are VXLAN with the source cluster's VNI between the tunnel
# addresses; the gateways' own traffic still passes; the CLI's JSON listings
# say what the configuration said.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Room for the 50 bytes of VXLAN over full-size pod frames (path MTU
# discovery, DESIGN §2.5, is another test's concern).
UL_MTU=1550
NPING=20
TCP_BYTES=$((4 * 1024 * 1024))

log "topology: two clusters, two pods each"
topo_underlay && topo_cluster 1 && topo_cluster 2 || exit 1
write_config 1 "2" >/dev/null
write_config 2 "1" >/dev/null
start_agent 1 && start_agent 2 || exit 1

# Warm up the neighbours so that every measured packet takes the XDP path.
for p in 1 2; do
	nsx "c1p$p" ping -c 1 -W 2 "$(pod_ip 2 "$p")" >/dev/null
	nsx "c2p$p" ping -c 1 -W 2 "$(pod_ip 1 "$p")" >/dev/null
done

# ping_counted SRC_K SRC_P DST_K DST_P: NPING pings all answered, and both
# gateways counted every request and every reply.
ping_counted() {
	local sk=$1 sp=$2 dk=$3 dp=$4 e_s d_s e_d d_d
	e_s=$(stat_gw "$sk" encap) d_s=$(stat_gw "$sk" decap)
	e_d=$(stat_gw "$dk" encap) d_d=$(stat_gw "$dk" decap)
	nsx "c${sk}p$sp" ping -q -c "$NPING" -i 0.05 -W 2 "$(pod_ip "$dk" "$dp")" |
		grep -q " $NPING received" || return 1
	e_s=$(($(stat_gw "$sk" encap) - e_s)) d_s=$(($(stat_gw "$sk" decap) - d_s))
	e_d=$(($(stat_gw "$dk" encap) - e_d)) d_d=$(($(stat_gw "$dk" decap) - d_d))
	log "gw$sk encap +$e_s decap +$d_s, gw$dk encap +$e_d decap +$d_d"
	[ "$e_s" -ge "$NPING" ] && [ "$d_d" -ge "$NPING" ] &&
		[ "$e_d" -ge "$NPING" ] && [ "$d_s" -ge "$NPING" ]
}

# tcp_counted SRC_K SRC_P DST_K DST_P: a TCP transfer arrives intact, and
# the sender's gateway encapsulated / the receiver's decapsulated at least
# its bytes.
tcp_counted() {
	local sk=$1 sp=$2 dk=$3 dp=$4 e d
	e=$(stat_bytes_gw "$sk" encap) d=$(stat_bytes_gw "$dk" decap)
	tcp_transfer "c${sk}p$sp" "c${dk}p$dp" "$(pod_ip "$dk" "$dp")" \
		"$TCP_BYTES" || return 1
	e=$(($(stat_bytes_gw "$sk" encap) - e)) d=$(($(stat_bytes_gw "$dk" decap) - d))
	log "gw$sk encap +$e bytes, gw$dk decap +$d bytes"
	[ "$e" -ge "$TCP_BYTES" ] && [ "$d" -ge "$TCP_BYTES" ]
}

for p in 1 2; do
	check "ping c1p$p -> c2p$p, encap/decap counted" ping_counted 1 "$p" 2 "$p"
	check "ping c2p$p -> c1p$p, encap/decap counted" ping_counted 2 "$p" 1 "$p"
done
check "full-size frame c1p1 -> c2p1 (1472-byte ping, DF)" \
	nsx c1p1 ping -q -c 3 -i 0.1 -W 2 -M do -s 1472 "$(pod_ip 2 1)"
for p in 1 2; do
	check "TCP c1p$p -> c2p$p, counted" tcp_counted 1 "$p" 2 "$p"
	check "TCP c2p$p -> c1p$p, counted" tcp_counted 2 "$p" 1 "$p"
done

# --- the frames on the underlay --------------------------------------------
# On gw1's port of the underlay bridge: once the bridge has learnt the
# gateways' MACs, br0 itself sees none of the frames it switches.
cap="$MGDIR/ul.pcap"
check "capture on the underlay bridge" cap_start ul gw1 "$cap" udp port 4789
nsx c1p1 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip 2 1)" >/dev/null
nsx c2p2 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip 1 2)" >/dev/null
cap_stop "$cap"
tshark -r "$cap" -T fields -E separator=' ' -e vxlan.vni -e ip.src \
	-e ip.dst -e icmp.type 2>/dev/null >"$MGDIR/ul.txt"
log "underlay frames (VNI outer,inner-src outer,inner-dst icmp-type):"
sed 's/^/    /' "$MGDIR/ul.txt"

# has_frames VNI OUTER_SRC INNER_SRC OUTER_DST INNER_DST ICMP_TYPE: at least
# three frames decoded as VXLAN with exactly these fields.
has_frames() {
	[ "$(grep -cx "$1 $2,$3 $4,$5 $6" "$MGDIR/ul.txt")" -ge 3 ]
}
u1=$UL_NET.1 u2=$UL_NET.2
check "VXLAN c1p1 -> c2p1: VNI 1, $u1 -> $u2" \
	has_frames 1 "$u1" 10.1.0.11 "$u2" 10.2.0.11 8
check "VXLAN c2p1 -> c1p1 (reply): VNI 2, $u2 -> $u1" \
	has_frames 2 "$u2" 10.2.0.11 "$u1" 10.1.0.11 0
check "VXLAN c2p2 -> c1p2: VNI 2, $u2 -> $u1" \
	has_frames 2 "$u2" 10.2.0.12 "$u1" 10.1.0.12 8
check "VXLAN c1p2 -> c2p2 (reply): VNI 1, $u1 -> $u2" \
	has_frames 1 "$u1" 10.1.0.12 "$u2" 10.2.0.12 0
check "no other VXLAN frames" \
	test "$(grep -vc '^[12] ' "$MGDIR/ul.txt")" -eq 0
check "UDP source ports vary with the flow (ECMP entropy)" test \
	"$(tshark -r "$cap" -T fields -e udp.srcport 2>/dev/null | sort -u | wc -l)" -ge 2
check "outer destination port 4789" test \
	"$(tshark -r "$cap" -T fields -e udp.dstport 2>/dev/null | sort -u)" = 4789

# --- path 4: the gateways' own traffic passes ------------------------------
pass0=$(stat_gw 1 pass)
nsx gw1 ip neigh flush dev ul0
check "gateway to gateway over the underlay (ping tunnel addresses)" \
	nsx gw1 ping -q -c 3 -i 0.1 -W 2 "$u2"
check "ARP resolves the peer gateway with XDP attached" \
	sh -c "ip netns exec $MGP-gw1 ip neigh show $u2 dev ul0 | grep -q lladdr"
check "gateway's own traffic counted as pass" \
	test "$(($(stat_gw 1 pass) - pass0))" -ge 4
check "pod to its own gateway (cluster side)" \
	nsx c1p1 ping -q -c 2 -i 0.1 -W 2 10.1.0.1
check "pod to pod inside a cluster (not through the gateway)" \
	nsx c1p1 ping -q -c 2 -i 0.1 -W 2 "$(pod_ip 1 2)"
check "XDP on both interfaces of both gateways" \
	test -n "$(xdp_prog_id gw1 cl0)" -a -n "$(xdp_prog_id gw1 ul0)" \
	-a -n "$(xdp_prog_id gw2 cl0)" -a -n "$(xdp_prog_id gw2 ul0)"

# --- the CLI's JSON says what the configuration said -----------------------
# json_is K MAP JQ_EXPR: `meshgate -j bpf MAP` on gateway K parses and the
# expression is true of it.
json_is() {
	local out
	out=$(mgcli "$1" -j bpf "$2") || return 1
	python3 -c 'import json,sys; json.loads(sys.argv[1])' "$out" || return 1
	[ "$(jq -c "$3" <<<"$out")" = true ]
}
ul2_mac=$(nsx gw2 cat /sys/class/net/ul0/address)
ul1_mac=$(nsx gw1 cat /sys/class/net/ul0/address)
check "bpf endpoints: own CIDR local, peer's CIDR of cluster 2" json_is 1 \
	endpoints '(length == 2) and
	 any(.[]; .prefix == "10.1.0.0/16" and .cluster_id == 1 and .local) and
	 any(.[]; .prefix == "10.2.0.0/16" and .cluster_id == 2 and (.local|not))'
check "bpf clusters: cluster 2 through $u2" json_is 1 clusters \
	'. == [.[0]] and .[0].cluster_id == 2 and .[0].live_gateways == 1 and
	 .[0].gateways == ["'"$u2"'"]'
check "bpf peers: $u2 of cluster 2" json_is 1 peers \
	'. == [{"tunnel_address": "'"$u2"'", "cluster_id": 2}]'
check "bpf nexthops: $u2 via ul0 to gw2's MAC" json_is 1 nexthops \
	'length == 1 and .[0].destination == "'"$u2"'" and
	 .[0].interface == "ul0" and .[0].src_mac == "'"$ul1_mac"'" and
	 .[0].dst_mac == "'"$ul2_mac"'"'
check "bpf tx: cl0 and ul0" json_is 1 tx '[.[].interface] | sort == ["cl0", "ul0"]'
check "bpf endpoints on gw2 mirror gw1" json_is 2 endpoints \
	'(length == 2) and
	 any(.[]; .prefix == "10.2.0.0/16" and .cluster_id == 2 and .local) and
	 any(.[]; .prefix == "10.1.0.0/16" and .cluster_id == 1 and (.local|not))'
check "stats -j parses, no drops" sh -c "'$MESHGATE' -j -p '$(pin_dir 1)' stats |
	jq -e '[.[] | select(.reason != \"pass\" and .reason != \"encap\" and
		.reason != \"decap\" and .reason != \"decap_stack\") | .packets] | add == 0' >/dev/null"

summary
