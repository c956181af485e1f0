#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Path MTU (DESIGN §2, path 5).  Every interface keeps the kernel's 1500,
# no MTU is changed by hand on a pod: 50 MB over TCP from a pod of cluster
# 1 to a pod of cluster 2, over IPv4 and over IPv6, completes; gw1 answered
# the first too-big segments with ICMP fragmentation needed / ICMPv6 packet
# too big (counted), the sender cached the path MTU 1500 - 50 = 1450 and
# sent full-size segments after it (its socket, its route cache, and the
# frames on the underlay: outer packets of exactly the underlay's MTU).
# The errors reach the sender from gw1's cluster-side address with that
# MTU.  Then the same with the underlay lowered to 1400 on the fly (the
# agent follows, path MTU 1350), over an IPv6 underlay (1400 - 70 = 1330),
# with next hops from bpf_fib_lookup() instead of the agent's table, and
# finally MSS clamping (mss_clamp = auto, over either underlay): SYNs and
# SYN-ACKs arrive at the other pod with the MSS lowered to what fits,
# mss_clamped counts them, and no ICMP error is needed.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BIG=$((50 * 1024 * 1024))
PODS=9		# a fresh pair of pods per case: nothing cached before it
UL_LOW=1400
u1=$UL_NET.1 u2=$UL_NET.2
v1=$(gw_ul_ip6 1) v2=$(gw_ul_ip6 2)

log "topology $MGP: two dual-stack clusters, $PODS pods each, MTU 1500 everywhere"
topo_underlay && topo_cluster 1 "$PODS" && topo_cluster 2 "$PODS" &&
	topo6_cluster 1 "$PODS" && topo6_cluster 2 "$PODS" || exit 1
write_config6 1 "2" "4" >/dev/null
write_config6 2 "1" "4" >/dev/null
start_agent 1 && start_agent 2 || exit 1

# ss_sampler NS DST FILE: `ss -tin` towards DST every 50 ms into FILE, in
# the background (its pid in FILE.pid) until killed, at most 60 s.
ss_sampler() {
	local dst=$2
	[[ $dst == *:* ]] && dst="[$dst]"
	nsx_bg "$1" timeout 60 bash -c \
		"while :; do ss -Htin dst '$dst'; sleep 0.05; done" >"$3" 2>&1
	echo $! >"$3.pid"
}
ss_stop() { kill "$(cat "$1.pid")" 2>/dev/null; wait "$(cat "$1.pid")" 2>/dev/null; }

# ss_seen FILE FIELD: the values of FIELD:N the sampler saw, sorted.
ss_seen() {
	grep -o " $2:[0-9]*" "$1" | cut -d: -f2 | sort -nu | tr '\n' ' '
}

# seg_stats PCAP: "max-outer-L3 max-TCP-payload count-at-max count" of
# the TCP data segments captured in VXLAN on the underlay.
seg_stats() {
	tshark -r "$1" -T fields -E occurrence=f -e frame.len -e tcp.len \
		2>/dev/null | awk -F'\t' '
		$2 > 0 {
			if ($1 - 14 > ml3) ml3 = $1 - 14
			if ($2 > max) { max = $2; at = 0 }
			if ($2 == max) at++
			n++
		}
		END { printf "%d %d %d %d\n", ml3, max, at, n }'
}

# big_transfer CASE FAM PORT PMTU TCPHDR COUNTER: pod N=CASE of cluster 1
# sends BIG bytes to pod N of cluster 2 (family FAM) while the underlay
# port of gw1 and the sender's socket are watched.  PMTU: the path MTU the
# sender must end up with; TCPHDR: IP + TCP header bytes (without options)
# of that family; COUNTER: gw1's reason for the ICMP errors.
big_transfer() {
	local n=$1 fam=$2 port=$3 pmtu=$4 hdr=$5 why=$6
	local src="c1p$n" dst="c2p$n" ip c0 cap="$MGDIR/ul.$n.pcap"
	local ssf="$MGDIR/ss.$n" icmp="$MGDIR/icmp.$n.pcap" got mss st rmtu errs
	local tag="[$n: IPv$fam, path MTU $pmtu]"
	if [ "$fam" = 6 ]; then ip=$(pod_ip6 2 "$n"); else ip=$(pod_ip 2 "$n"); fi

	check "$tag $src has no path MTU cached towards $ip before" \
		test -z "$(route_mtu "$src" "$ip")"
	c0=$(stat_gw 1 "$why")
	cap_start ul gw1 "$cap" -Q in -s 200 udp port 4789 &&
		cap_start "$src" eth0 "$icmp" -Q in \
			'icmp[0] = 3 or (icmp6 and ip6[40] = 2)' || return 1
	ss_sampler "$src" "$ip" "$ssf"
	check "$tag 50 MB $src -> $dst over TCP, intact (bounded: 40 s)" \
		tcp_transfer "$src" "$dst" "$ip" "$BIG" "$port" 40
	ss_stop "$ssf"
	cap_stop "$cap"
	cap_stop "$icmp"

	got=$(($(stat_gw 1 "$why") - c0))
	log "gw1 $why +$got"
	check "$tag gw1 answered with $why (+$got)" test "$got" -ge 1
	# What reached the sender: "source type/code mtu" of each error.
	errs=$(tshark -r "$icmp" -T fields -E separator=' ' -E occurrence=f \
		-e ip.src -e ipv6.src -e icmp.type -e icmp.code -e icmp.mtu \
		-e icmpv6.type -e icmpv6.code -e icmpv6.mtu 2>/dev/null |
		tr -s ' ' | sort | uniq -c | tr -s ' \n' ' ')
	log "ICMP errors at $src (count src type code mtu): ${errs:-none}"
	if [ "$fam" = 6 ]; then
		check "$tag $src got ICMPv6 packet too big, mtu $pmtu, from fd00:1::1" \
			test "$(tshark -r "$icmp" -Y "ipv6.src == fd00:1::1 and
				icmpv6.type == 2 and icmpv6.mtu == $pmtu" 2>/dev/null |
				wc -l)" -ge 1
	else
		check "$tag $src got ICMP fragmentation needed, mtu $pmtu, from 10.1.0.1" \
			test "$(tshark -r "$icmp" -Y "ip.src == 10.1.0.1 and
				icmp.type == 3 and icmp.code == 4 and
				icmp.mtu == $pmtu" 2>/dev/null | wc -l)" -ge 1
	fi
	check "$tag ... and no error with another MTU" test "$(tshark -r "$icmp" \
		-Y "(icmp.mtu and icmp.mtu != $pmtu) or
		    (icmpv6.mtu and icmpv6.mtu != $pmtu)" 2>/dev/null | wc -l)" -eq 0
	rmtu=$(route_mtu "$src" "$ip")
	log "$src: ip route get $ip: $(nsx "$src" ip route get "$ip" | tr -s ' \n' ' ')"
	check "$tag $src cached path MTU $pmtu towards $ip (got ${rmtu:-none})" \
		test "${rmtu:-0}" -eq "$pmtu"
	log "$src: socket: pmtu seen: $(ss_seen "$ssf" pmtu); mss seen: $(ss_seen "$ssf" mss)($(wc -l <"$ssf") samples)"
	check "$tag $src's socket learnt pmtu:$pmtu" \
		grep -q " pmtu:$pmtu " "$ssf"
	mss=$(grep " pmtu:$pmtu " "$ssf" | grep -o ' mss:[0-9]*' | cut -d: -f2 |
		sort -n | tail -1)
	check "$tag ... with mss ${mss:-none}: $((pmtu - hdr - 12)) to $((pmtu - hdr))" \
		test "${mss:-0}" -ge $((pmtu - hdr - 12)) -a "${mss:-0}" -le $((pmtu - hdr))
	st=$(seg_stats "$cap")
	log "underlay, from gw1: max outer L3 / max TCP payload / segments at max / data segments: $st"
	set -- $st
	check "$tag outer packets fill the underlay MTU: max $1 = $((pmtu + ${OLEN:-50}))" \
		test "$1" -eq $((pmtu + ${OLEN:-50}))
	check "$tag full-size segments: max TCP payload $2 in $((pmtu - hdr - 12))..$((pmtu - hdr))" \
		test "$2" -ge $((pmtu - hdr - 12)) -a "$2" -le $((pmtu - hdr))
	check "$tag most data segments are full-size ($3 of $4)" \
		test "$3" -gt 1000 -a $(($3 * 2)) -gt "$4"
	rm -f "$cap" "$icmp"
}

# --- 1. MTU 1500 everywhere, IPv4 underlay: path MTU 1450 -----------------
big_transfer 1 4 5001 1450 40 icmp_frag_needed
big_transfer 2 6 5002 1450 60 icmp6_too_big

# --- 2. the underlay lowered to 1400 under the running agents -------------
log "underlay MTU $UL_LOW on the gateways and the bridge ports"
for k in 1 2; do
	nsx "gw$k" ip link set ul0 mtu "$UL_LOW"
	nsx ul ip link set "gw$k" mtu "$UL_LOW"
done
nh_is() { [ "$(nh_mtu "$1" "$2")" = "$3" ]; }
check "gw1's agent follows: next hop $u2 has MTU $UL_LOW" \
	wait_until 5 nh_is 1 "$u2" "$UL_LOW"
big_transfer 3 4 5003 $((UL_LOW - 50)) 40 icmp_frag_needed
big_transfer 4 6 5004 $((UL_LOW - 50)) 60 icmp6_too_big

# --- 3. IPv6 underlay (70 bytes of VXLAN), still at 1400 ------------------
log "IPv6 underlay (reconfigure, restart the agents)"
stop_agent 1 && stop_agent 2
write_config6 1 "2" "6" >/dev/null
write_config6 2 "1" "6" >/dev/null
start_agent 1 && start_agent 2 || exit 1
OLEN=70
big_transfer 5 4 5005 $((UL_LOW - 70)) 40 icmp_frag_needed
big_transfer 6 6 5006 $((UL_LOW - 70)) 60 icmp6_too_big
OLEN=50

# --- 4. next hops from bpf_fib_lookup() per packet ------------------------
log "nexthop = fib (IPv4 underlay at $UL_LOW; reconfigure, restart the agents)"
stop_agent 1 && stop_agent 2
write_config6 1 "2" "4" "nexthop = fib" >/dev/null
write_config6 2 "1" "4" "nexthop = fib" >/dev/null
start_agent 1 && start_agent 2 || exit 1
check "[fib] no next-hop table entries" test -z "$(nh_mtu 1 "$u2")"
# With nexthop = fib the agent does not resolve the peers' underlay
# neighbours (it does so only for its table), and bpf_fib_lookup() does
# not either: a gateway that has never talked to its peer drops all its
# tunnel traffic as no_neigh.  Here the earlier phases resolved them; make
# sure of it the way an operator would, from the gateways themselves.
nsx gw1 ping -q -c 1 -W 2 "$u2" >/dev/null
nsx gw2 ping -q -c 1 -W 2 "$u1" >/dev/null
big_transfer 7 4 5007 $((UL_LOW - 50)) 40 icmp_frag_needed
big_transfer 8 6 5008 $((UL_LOW - 50)) 60 icmp6_too_big

# --- 5. MSS clamping ------------------------------------------------------
log "mss_clamp = auto (IPv4 underlay at $UL_LOW; reconfigure, restart the agents)"
stop_agent 1 && stop_agent 2
write_config6 1 "2" "4" "mss_clamp = auto" >/dev/null
write_config6 2 "1" "4" "mss_clamp = auto" >/dev/null
start_agent 1 && start_agent 2 || exit 1

# syn_mss PCAP FLAGS: the MSS options of the captured SYNs (FLAGS "S" or
# "S." for SYN-ACK), one per line.
syn_mss() {
	tcpdump -n -v -r "$1" 2>/dev/null | grep "Flags \[$2\]" |
		grep -o 'mss [0-9]*' | awk '{ print $2 }'
}

# clamp_case FAM PORT MSS UL: a connection from c1p9 to c2p9 over an IPv$UL
# underlay; the SYN arrives at c2p9 and the SYN-ACK at c1p9 with the MSS
# lowered to exactly MSS, and the segments fit from the start (no ICMP).
clamp_case() {
	local fam=$1 port=$2 want=$3 ip c1 c2 i0 rx="$MGDIR/syn.rx.pcap"
	local tx="$MGDIR/syn.tx.pcap" tag="[9: IPv$1 over IPv$4, mss_clamp auto]" s a
	if [ "$fam" = 6 ]; then ip=$(pod_ip6 2 9); else ip=$(pod_ip 2 9); fi
	c1=$(stat_gw 1 mss_clamped) c2=$(stat_gw 2 mss_clamped)
	i0=$(($(stat_gw 1 icmp_frag_needed) + $(stat_gw 1 icmp6_too_big)))
	cap_start c2p9 eth0 "$rx" -s 128 tcp &&
		cap_start c1p9 eth0 "$tx" -s 128 tcp ||
		return 1
	check "$tag 1 MB c1p9 -> c2p9 over TCP, intact" \
		tcp_transfer c1p9 c2p9 "$ip" $((1024 * 1024)) "$port" 15
	cap_stop "$rx"
	cap_stop "$tx"
	s=$(syn_mss "$rx" S | sort -u | tr '\n' ' ')
	a=$(syn_mss "$tx" 'S\.' | sort -u | tr '\n' ' ')
	log "SYN at c2p9: mss ${s:-none}; SYN-ACK at c1p9: mss ${a:-none}"
	check "$tag SYN arrives with mss $want (<= 1410)" test "$s" = "$want "
	check "$tag SYN-ACK arrives with mss $want" test "$a" = "$want "
	check "$tag gw1 and gw2 counted mss_clamped" \
		test $(($(stat_gw 1 mss_clamped) - c1)) -ge 1 -a \
		$(($(stat_gw 2 mss_clamped) - c2)) -ge 1
	check "$tag segments fit from the start: no ICMP error from gw1" test \
		$(($(stat_gw 1 icmp_frag_needed) + $(stat_gw 1 icmp6_too_big))) -eq "$i0"
}
clamp_case 4 5009 $((UL_LOW - 50 - 40)) 4
clamp_case 6 5010 $((UL_LOW - 50 - 60)) 4

log "mss_clamp = auto over the IPv6 underlay (reconfigure, restart the agents)"
stop_agent 1 && stop_agent 2
write_config6 1 "2" "6" "mss_clamp = auto" >/dev/null
write_config6 2 "1" "6" "mss_clamp = auto" >/dev/null
start_agent 1 && start_agent 2 || exit 1
clamp_case 4 5011 $((UL_LOW - 70 - 40)) 6
clamp_case 6 5012 $((UL_LOW - 70 - 60)) 6

# --- nobody changed an MTU by hand but on the underlay --------------------
mtus() {
	local k n
	for k in 1 2; do
		nsx "gw$k" cat /sys/class/net/cl0/mtu
		for n in $(seq 1 "$PODS"); do
			nsx "c${k}p$n" cat /sys/class/net/eth0/mtu
		done
	done | sort -u | tr '\n' ' '
}
check "pods and cluster sides still at MTU 1500 ($(mtus))" test "$(mtus)" = "1500 "

summary
