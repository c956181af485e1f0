#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make demo`: two clusters joined by meshgate, on this machine, in network
# namespaces, the gateways meeting by gossip (a seed and a key) as
# deployed.  Shows `meshgate peers` and `status`, a cross-cluster ping and TCP transfer, the frames on
# the underlay, the counters and the maps; then removes everything (also
# on Ctrl-C).  DEMO_WAIT=1 keeps it up until Enter, to look around.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'echo; exit 130' INT
trap 'exit 143' TERM

# Room for VXLAN's 50 bytes over 1500-byte pod frames, as on an underlay
# with jumbo frames.
UL_MTU=1550
TCP_BYTES=$((10 * 1000 * 1000))
failed=0

if [ -t 1 ]; then B=$'\e[1m' N=$'\e[0m'; else B="" N=""; fi
say() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
run() { printf '%s$ %s%s\n' "$B" "$*" "$N"; "$@"; }
# pod NS CMD...: a command in a pod (or any namespace), shown as run there.
pod() { local ns=$1; shift; printf '%s[%s]$ %s%s\n' "$B" "$ns" "$*" "$N"; nsx "$ns" "$@"; }
# gw K ARGS...: the meshgate CLI on gateway K.
gw() {
	local k=$1; shift
	printf '%s[gw%s]$ meshgate -c gw%s.conf %s%s\n' "$B" "$k" "$k" "$*" "$N"
	mgctl "$k" "$@"
}
must() { "$@" || { echo "!!! failed: $*"; failed=1; }; }

[ "$(id -u)" = 0 ] || { echo "demo: needs root (namespaces, XDP)" >&2; exit 1; }
[ -x "$MESHGATE" ] || { echo "demo: $MESHGATE not built (make)" >&2; exit 1; }

say "Building two clusters (namespaces prefixed $MGP-)"
cat <<EOF
    cluster 1: pods 10.1.0.11, 10.1.0.12 --- gateway gw1 (tunnel $UL_NET.1)
    cluster 2: pods 10.2.0.11, 10.2.0.12 --- gateway gw2 (tunnel $UL_NET.2)
    the gateways meet on an underlay bridge, $UL_NET.0/24
EOF
topo_underlay && topo_cluster 1 2 && topo_cluster 2 2 || exit 1
# As deployed: no static peer; the gateways find each other by gossip
# through a seed (gw1), encrypted with a key from `meshgate keygen`.
KEY=$("$MESHGATE" keygen)
write_gossip_config 1 1 "$UL_NET.1" "$KEY" >/dev/null
write_gossip_config 2 2 "$UL_NET.1" "$KEY" >/dev/null

say "Starting one meshgate agent per gateway; gw1's configuration:"
grep -v '^#' "$MGDIR/gw1.conf" | sed -n '/^\[cluster\]/,$p' |
	sed 's/^key = .*/key = (a key from meshgate keygen)/; s/^/    /'
start_agent 1 && start_agent 2 || exit 1
sed 's/^/    gw1: /' "$MGDIR/gw1.log"
echo "    XDP program on gw1: cl0 id $(xdp_prog_id gw1 cl0), ul0 id $(xdp_prog_id gw1 ul0)"

say "The gateways find each other by gossip (seed gw1, encrypted)"
if ! wait_until 10 eval 'all_alive 1 2 && all_alive 2 1'; then
	echo "!!! the gateways did not see each other alive"
	failed=1
fi
# The tunnels follow the view: wait until gw1 has programmed cluster 2.
wait_until 10 eval 'mgcli 1 bpf endpoints 2>/dev/null | grep -q "10\.2\."' ||
	true
gw 1 peers
gw 1 status

say "Ping from a pod of cluster 1 to a pod of cluster 2, and back"
must pod c1p1 ping -c 3 -i 0.2 -W 2 10.2.0.11
must pod c2p2 ping -c 3 -i 0.2 -W 2 10.1.0.12

say "What the underlay sees: VXLAN, VNI = the sending cluster's id"
cap="$MGDIR/ul.pcap"
cap_start ul gw1 "$cap" udp port 4789
nsx c1p2 ping -c 2 -i 0.2 -W 2 10.2.0.12 >/dev/null
cap_stop "$cap"
printf '    %-4s %-32s %-32s\n' VNI "outer src, inner src" "outer dst, inner dst"
tshark -r "$cap" -T fields -e vxlan.vni -e ip.src -e ip.dst 2>/dev/null |
	awk '{ printf "    %-4s %-32s %-32s\n", $1, $2, $3 }'

say "A 10 MB TCP transfer from c1p1 to c2p2 (socat)"
start=$(date +%s.%N)
if tcp_transfer c1p1 c2p2 10.2.0.12 "$TCP_BYTES"; then
	echo "    all $TCP_BYTES bytes arrived, identical to those sent, in" \
		"$(echo "$(date +%s.%N) - $start" | bc | xargs printf '%.2f') s"
else
	echo "!!! the transfer did not arrive intact"
	failed=1
fi

say "gw1 itself reaches cluster 2 too: its routes into mg0 (TC egress)"
nsx gw1 ip route show proto 109 | sed 's/^/    /'
if out=$(nsx gw1 ping -c 2 -i 0.2 -W 2 10.2.0.11); then
	echo "$out" | sed -n 's/^/    /; 2,3p'
else
	echo "!!! gw1's host could not reach 10.2.0.11"
	failed=1
fi

say "Counters of gw1 and gw2 (meshgate stats)"
gw 1 stats
gw 2 stats

say "gw1's maps through the CLI and through bpftool (BTF-named fields)"
gw 1 bpf endpoints
gw 1 bpf peers
gw 1 bpf nexthops
run bpftool map dump pinned "$(pin_dir 1)/mg_ep4"

if [ "${DEMO_WAIT:-0}" = 1 ]; then
	say "Up and running: have a look around"
	cat <<EOF
    a pod:        ip netns exec $MGP-c1p1 ping 10.2.0.12
    a gateway:    nsenter --net=/run/netns/$MGP-gw1 $MESHGATE -p $(pin_dir 1) stats
                  nsenter --net=/run/netns/$MGP-gw1 $MESHGATE -p $(pin_dir 1) bpf clusters
                  ip netns exec $MGP-gw1 ip -d link show cl0
    the maps:     bpftool map dump pinned $(pin_dir 1)/mg_peer4
    the wire:     ip netns exec $MGP-ul tcpdump -ni gw1 udp port 4789
    agent logs:   $MGDIR/gw1.log, $MGDIR/gw2.log
EOF
	read -r -p "${B}Press Enter to tear everything down${N} " _ || true
fi

say "Tearing down (namespaces, agents, pinned maps)"
[ "$failed" -eq 0 ] && echo "demo: done" || echo "demo: something failed (see above)"
exit "$failed"
