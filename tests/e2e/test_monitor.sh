#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `meshgate monitor`: the datapath's event stream, seen by an operator.
# Two clusters and a rogue host on the underlay.  While a monitor runs on
# gw1 (JSON, and a pcapng capture), gw1 sees:
#   - spoofed tunnel packets (gw2's address and VNI, inner source in no
#     peer's cluster)                               -> inner_src_spoof
#   - a pod's connection to a VIP without backends  -> no_backend
#   - a pod's ping too big for the tunnel (DF)      -> icmp_frag_needed
# Each appears in `monitor -j` with its reason, its addresses and the ids
# the datapath knew (the spoofer's cluster and peer address, the VIP's
# service id, the too-big packet's destination cluster), and in the
# capture, which tshark decodes with the reason and ids in the comment.  A
# second monitor runs alongside; when both stop (SIGTERM) nothing is
# emitted any more, and one killed with SIGKILL is cleared by the next.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

N=3
U1=$UL_NET.1 U2=$UL_NET.2 ROGUE=$UL_NET.66
TARGET=$(pod_ip 1 1) REMOTE=$(pod_ip 2 1) VIP=10.96.0.99

command -v tshark >/dev/null || { echo "FAIL: tshark missing (make deps)"; exit 1; }

log "topology $MGP: two meshgate clusters and a rogue host on the underlay"
topo_underlay && topo_cluster 1 && topo_cluster 2 || exit 1
write_config 1 "2" >/dev/null
write_config 2 "1" >/dev/null
start_agent 1 && start_agent 2 || exit 1

rogue_setup() {
	new_ns rogue && veth_into rogue ul0 ul rogue || return 1
	nsx ul ip link set rogue master br0
	nsx rogue sysctl -qw net.ipv4.conf.all.arp_ignore=1
	nsx rogue sysctl -qw net.ipv4.conf.all.arp_announce=2
	nsx rogue ip addr add "$ROGUE/24" dev ul0
	nsx rogue ip addr add "$U2/32" dev lo
	nsx rogue ip addr add 10.3.0.99/32 dev lo	# in no peer's cluster
	nsx rogue ip link add vx0 type vxlan external dstport 4789 nolearning &&
	nsx rogue ip link set vx0 up &&
	nsx rogue ip neigh add 169.254.0.1 lladdr 02:6d:67:00:00:01 dev vx0 \
		nud permanent &&
	nsx rogue ip route replace 10.1.0.0/16 via 169.254.0.1 dev vx0 onlink \
		encap ip id 2 src "$U2" dst "$U1"
}
check "rogue host on the underlay" rogue_setup
check "a service without backends on gw1" \
	mgctl 1 services add nb vip "$VIP" port 80 on_no_backend drop
SID=$(mgcli 1 -j bpf services |
	jq -r --arg v "$VIP" '.[] | select(.vip == $v and .port == 80) | .id')
log "the service's id on gw1: $SID"
check "the service has an id" test -n "$SID"
check "c1p1 -> c2p1 works (the path is up)" \
	nsx c1p1 ping -q -c 2 -i 0.1 -W 2 "$REMOTE" >/dev/null

evmask() {
	bpftool -j map lookup pinned "$(pin_dir 1)/mg_evcfg" key 0 0 0 0 |
		jq -r '.formatted.value.mask // .value.mask'
}

# start_monitor NAME ARGS...: a monitor on gw1 in the background, its
# output in $MGDIR/NAME.out (stderr .err), pid in $MGDIR/NAME.pid; waits
# until it listens (bounded).
start_monitor() {
	local name=$1 i; shift
	# nsenter execs the CLI: $! is the monitor itself.
	nsenter --net="/run/netns/$MGP-gw1" "$MESHGATE" -p "$(pin_dir 1)" "$@" \
		>"$MGDIR/$name.out" 2>"$MGDIR/$name.err" &
	echo $! >"$MGDIR/$name.pid"
	for i in $(seq 1 50); do
		grep -qs listening "$MGDIR/$name.err" && return 0
		sleep 0.1
	done
	cat "$MGDIR/$name.err" >&2
	return 1
}
stop_monitor() {
	local pid; pid=$(cat "$MGDIR/$1.pid")
	kill -"${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

check "nothing is emitted before a monitor runs (mask 0)" test "$(evmask)" = 0
cap="$MGDIR/mon.pcapng"
check "monitor -j -w starts" start_monitor mon -j monitor \
	--reason inner_src_spoof --reason no_backend \
	--reason icmp_frag_needed -w "$cap"
check "a second monitor (drops, text) runs alongside" \
	start_monitor drops monitor --type drop
check "a third monitor, only the VIP's port 80 (--host, --port)" \
	start_monitor vip -j monitor --type all --host "$VIP" --port 80
check "the datapath's mask is the monitors' union (not 0)" \
	test "$(evmask)" != 0

nsx rogue ping -q -c "$N" -i 0.05 -W 1 -I 10.3.0.99 "$TARGET" >/dev/null
nsx c1p1 timeout 3 bash -c "exec 3<>/dev/tcp/$VIP/80" 2>/dev/null
f0=$(stat_gw 1 icmp_frag_needed)
nsx c1p1 ping -q -c 1 -M do -s 1472 -W 1 "$REMOTE" >/dev/null
log "icmp_frag_needed on gw1: +$(($(stat_gw 1 icmp_frag_needed) - f0))"
sleep 0.5

stop_monitor mon
stop_monitor drops
stop_monitor vip
check "both stopped: the mask is back to 0" test "$(evmask)" = 0

J="$MGDIR/mon.out"
log "monitor -j: $(wc -l <"$J") events; $(cat "$MGDIR/mon.err" | tail -1)"
check "every line is a JSON object" jq -e . "$J" >/dev/null
spoofs() {
	jq -c --arg u2 "$U2" --arg t "$TARGET" 'select(.reason ==
		"inner_src_spoof" and .type == "drop" and .ifname == "ul0" and
		.packet.src == $u2 and .packet.dport == 4789 and .vni == 2 and
		.inner.src == "10.3.0.99" and .inner.dst == $t and
		.cluster == 2 and .peer == $u2 and .service == null)' "$J" |
		wc -l
}
check "the $N spoofed tunnel packets: inner_src_spoof, addresses, cluster 2, peer" \
	test "$(spoofs)" -eq "$N"
nobackend() {
	jq -c --arg vip "$VIP" --arg src "$TARGET" --argjson sid "$SID" \
		'select(.reason == "no_backend" and .type == "drop" and
		.class == "drop" and .ifname == "cl0" and .packet.src == $src and
		.packet.dst == $vip and .packet.dport == 80 and
		.packet.proto == "tcp" and .service == $sid and
		.backend == null and .peer == null)' "$J" | wc -l
}
check "the connection to a VIP without backends: no_backend, to VIP:80, its service id" \
	test "$(nobackend)" -ge 1
toobig() {
	jq -c --arg src "$TARGET" --arg dst "$REMOTE" 'select(.reason ==
		"icmp_frag_needed" and .type == "trace" and
		.packet.proto == "icmp" and .packet.icmp_type == 3 and
		.packet.icmp_code == 4 and .packet.dst == $src and
		.inner.src == $src and .inner.dst == $dst and
		.cluster == 2)' "$J" | wc -l
}
check "the too-big ping: icmp_frag_needed, the error quoting it, cluster 2" \
	test "$(toobig)" -eq 1
check "nothing else was shown (only the reasons asked)" test \
	"$(jq -r .reason "$J" | sort -u | tr '\n' ' ')" = \
	"icmp_frag_needed inner_src_spoof no_backend "
check "--host VIP --port 80: only the packets to the VIP" test \
	"$(jq -r '"\(.reason) \(.packet.dst):\(.packet.dport)"' \
		"$MGDIR/vip.out" | sort -u)" = "no_backend $VIP:80"
check "the text monitor showed the drops, decoded" \
	grep -q "xdp drop  inner_src_spoof  $U2:[0-9]* -> $U1:4789 udp vni 2 \[10.3.0.99 -> $TARGET icmp.*\] cluster 2 peer $U2 len" \
	"$MGDIR/drops.out"

fields() {
	tshark -r "$cap" -T fields -E separator='|' -e frame.comment \
		-e frame.interface_name "$@" 2>/dev/null
}
log "tshark: $(fields | sort | uniq -c | tr '\n' ';')"
check "tshark reads as many packets as monitor -j showed" \
	test "$(fields | wc -l)" -eq "$(wc -l <"$J")"
check "tshark: the spoofed packets with their reason and interface" \
	test "$(fields -Y "ip.src == $U2 && vxlan.vni == 2 && ip.src == 10.3.0.99" |
		grep -c "^drop inner_src_spoof on ul0 (xdp) cluster 2 peer $U2|ul0\$")" -eq "$N"
check "tshark: the packet to the VIP, with its service id" \
	test "$(fields -Y "ip.dst == $VIP && tcp.dstport == 80" |
		grep -c "^drop no_backend on cl0 (xdp) service $SID|")" -ge 1
check "tshark: the ICMP error for the too-big packet" \
	test "$(fields -Y "icmp.type == 3 && icmp.code == 4" |
		grep -c '^trace icmp_frag_needed on cl0')" -eq 1

# A monitor killed with SIGKILL cannot clear its reasons; the next one
# (here `monitor -c 0`, which only clears) does.
check "a monitor to be killed" start_monitor killed monitor --type all
stop_monitor killed KILL
check "after SIGKILL its reasons are still on" test "$(evmask)" != 0
check "monitor -c 0 clears what the dead one left" mgcli 1 monitor -c 0
check "the mask is 0 again" test "$(evmask)" = 0

# stats: the class of each reason, and rates per second.
check "stats shows each reason's class" test "$(mgcli 1 -j stats |
	jq -r '.[] | select(.reason == "inner_src_spoof") | .class')" = drop
nsx_bg rogue ping -q -c 20 -i 0.1 -W 1 -I 10.3.0.99 "$TARGET" >/dev/null
pinger=$!
sleep 0.3
spoof_rate=$(mgcli 1 -j stats --rate |
	jq -r '.[] | select(.reason == "inner_src_spoof") | .packets_per_s')
log "inner_src_spoof over stats --rate: $spoof_rate/s (10/s sent)"
# Not a timing goal: only that the packets sent meanwhile show as a rate.
check "stats --rate: the spoofed packets show per second" \
	test "${spoof_rate:-0}" -ge 1 -a "${spoof_rate:-0}" -le 20
check "stats -w -n 2: two tables, a second apart" \
	test "$(mgcli 1 -j stats -w -n 2 | jq -s length)" -eq 2
wait "$pinger"

summary
