#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `meshgate doctor` on a healthy gateway says ok everywhere (exit 0), then
# finds each set-up broken on purpose with the right check and verdict:
# IPv4 forwarding off, strict rp_filter, ip_local_port_range over the
# SNAT ports, an underlay MTU without room for the tunnel, a map nearly
# full, generic XDP, XDP detached behind the agent, the agent not
# running, gossip keys that disagree, and a peer gateway dead.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Room for VXLAN's 50 bytes over the pods' 1500: a healthy underlay.
UL_MTU=1600
topo_underlay && topo_cluster 1 1 && topo_cluster 2 1 || exit 1
conf1=$(write_config 1 2)
write_config 2 1 >/dev/null
# A small endpoint map (the least [limits] takes), to fill it below.
printf '\n[limits]\nendpoints = 1024\n' >>"$conf1"
start_agent 1 && start_agent 2 || exit 1

# doctor: run it in gw1's namespace; its JSON in $MGDIR/doc.json, exit
# status in $MGDIR/doc.rc.
doctor() {
	mgctl 1 -j doctor >"$MGDIR/doc.json" 2>"$MGDIR/doc.err"
	echo $? >"$MGDIR/doc.rc"
	mgctl 1 doctor >"$MGDIR/doc.txt" 2>&1
}
rc() { cat "$MGDIR/doc.rc"; }
# verdict CHECK: the worst status of a check's rows (ok, warn, fail, skip, none).
verdict() {
	jq -r --arg c "$1" '[.[] | select(.check == $c) | .status] |
		if index("fail") then "fail" elif index("warn") then "warn"
		elif index("ok") then "ok" elif length > 0 then "skip"
		else "none" end' "$MGDIR/doc.json" 2>/dev/null
}
# found NAME CHECK VERDICT RC: doctor says VERDICT for CHECK and exits RC.
found() {
	local got
	doctor
	got="$(verdict "$2") $(rc)"
	if [ "$got" = "$3 $4" ]; then
		check "$1: $2 $3, exit $4" true
	else
		check "$1: $2 $3, exit $4 (got: $got)" false
		cat "$MGDIR/doc.txt"
	fi
}

log "healthy"
doctor
check "healthy gateway: exit 0 (got $(rc))" [ "$(rc)" = 0 ]
for c in config agent forwarding port_range rp_filter xdp pins mtu maps keys peers clock; do
	check "healthy: $c ok" [ "$(verdict "$c")" = ok ]
done
grep -q '^all ok$' "$MGDIR/doc.txt" || cat "$MGDIR/doc.txt"
check "text mode says all ok" grep -q '^all ok$' "$MGDIR/doc.txt"

log "1. IPv4 forwarding off"
nsx gw1 sysctl -qw net.ipv4.ip_forward=0
found "ip_forward off" forwarding fail 2
nsx gw1 sysctl -qw net.ipv4.ip_forward=1
check "the fix line names the sysctl" grep -q 'fix: sysctl -w net.ipv4.ip_forward=1' "$MGDIR/doc.txt"

log "2. strict rp_filter on the cluster interface"
nsx gw1 sysctl -qw net.ipv4.conf.cl0.rp_filter=1
found "rp_filter strict" rp_filter fail 2
nsx gw1 sysctl -qw net.ipv4.conf.cl0.rp_filter=0

log "3. ip_local_port_range over the SNAT ports"
nsx gw1 sysctl -qw net.ipv4.ip_local_port_range="32768 65000"
found "port range over 61000" port_range warn 1
nsx gw1 sysctl -qw net.ipv4.ip_local_port_range="32768 60999"

log "4. underlay MTU without room for the tunnel"
nsx gw1 ip link set ul0 mtu 1520
found "underlay MTU 1520 under 1500 pods" mtu warn 1
nsx gw1 ip link set ul0 mtu 1600

log "5. a map nearly full (mg_ep4: 1024 entries)"
ep4() { mgcli 1 -j bpf maps | jq -r '.[] | select(.map == "mg_ep4") | .entries'; }
ep4_at_least() { [ "$(ep4)" -ge "$1" ]; }
for i in $(seq 0 3); do
	for j in $(seq 0 239); do
		echo "endpoints add 10.1.$((i * 60 + j / 4)).$((j % 4 * 64))/26"
	done
done >"$MGDIR/adds"
n=0
while read -r line; do
	# shellcheck disable=SC2086
	mgctl 1 $line >/dev/null 2>&1 && n=$((n + 1))
done <"$MGDIR/adds"
log "$n endpoints added"
wait_until 10 ep4_at_least 940
check "mg_ep4 filled to $(ep4) of 1024" ep4_at_least 940
found "mg_ep4 over 90%" maps warn 1
check "it names mg_ep4 and the fix" \
	eval 'grep -q "mg_ep4 holds" "$MGDIR/doc.txt" && grep -q "fix: raise its \[limits\]" "$MGDIR/doc.txt"'

log "6. generic XDP"
stop_agent 1
mgcli 1 down >/dev/null
sed -i 's/^underlay_interface = ul0$/&\nxdp_mode = generic/' "$conf1"
start_agent 1 || exit 1
found "xdp_mode = generic" xdp warn 1
check "it says generic" grep -q 'cl0: generic XDP' "$MGDIR/doc.txt"

log "7. XDP detached behind the agent"
bpftool link detach pinned "$(pin_dir 1)/link_cl0"
found "XDP detached from cl0" xdp fail 2
check "pins: the pinned link is not what runs" [ "$(verdict pins)" = fail ]

log "8. agent not running"
stop_agent 1
found "agent stopped" agent fail 2
check "keys and peers are skipped without an agent" \
	[ "$(verdict keys) $(verdict peers)" = "skip skip" ]

log "9. gossip keys that disagree"
stop_agent 2
K1=$("$MESHGATE" keygen) && K2=$("$MESHGATE" keygen) || exit 1
write_gossip_config 1 1 "" "$K1" >/dev/null
write_gossip_config 2 2 "$(gw_tunnel 1)" "$K2" >/dev/null
start_agent 1 && start_agent 2 || exit 1
rejected() { [ "$(mgctl 1 -j status | jq '.gossip_decrypt_failed // 0')" -gt 0 ]; }
wait_until 20 rejected
check "gw1 rejects gw2's gossip (wrong key)" rejected
doctor
check "keys: not ok (got $(verdict keys), exit $(rc))" \
	eval '[ "$(verdict keys)" != ok ] && [ "$(rc)" != 0 ]'
check "it says rejected for their key" grep -q 'rejected for' "$MGDIR/doc.txt"
check "peers: no peer gateway known (got $(verdict peers))" [ "$(verdict peers)" = warn ]

log "10. a peer gateway dead on gossip"
stop_agent 2
write_gossip_config 2 2 "$(gw_tunnel 1)" "$K1" >/dev/null
start_agent 2 || exit 1
alive2() { [ "$(peer_state 1 2)" = alive ]; }
wait_until 20 alive2
doctor
check "gw2 alive: peers ok (got $(verdict peers))" [ "$(verdict peers)" = ok ]
dp_up2() { mgctl 1 -j peers | jq -e '.[] | select(.name == "gw2") | .datapath == "up"' >/dev/null; }
wait_until 10 dp_up2
doctor
check "gw2's datapath answers: tunnel ok (got $(verdict tunnel))" [ "$(verdict tunnel)" = ok ]

log "11. a peer's datapath silent on the tunnel, its gossip alive"
# VXLAN to gw2 dropped in the underlay bridge; gossip (7946) still passes.
nsx ul nft -f - <<NFT || exit 1
table bridge mgdoc {
	chain cut {
		type filter hook forward priority 0; policy accept;
		ip daddr $(gw_tunnel 2) udp dport 4789 drop
	}
}
NFT
# gw2 is gw1's only peer: all of them silent at once is gw1 cut off.
cut1() { [ "$(mgctl 1 -j status | jq '.liveness_cut_off // 0')" = 1 ]; }
wait_until 10 cut1
found "the tunnel to every peer cut" tunnel fail 2
check "it says we are cut off" grep -q 'this gateway is cut off on the tunnel' "$MGDIR/doc.txt"
check "gossip still says gw2 alive (peers ok)" [ "$(verdict peers)" = ok ]
nsx ul nft delete table bridge mgdoc
wait_until 10 dp_up2
doctor
check "healed: tunnel ok again (got $(verdict tunnel))" [ "$(verdict tunnel)" = ok ]
kill -9 "$(cat "$MGDIR/gw2.pid")"; rm -f "$MGDIR/gw2.pid"
dead2() { [ "$(peer_state 1 2)" = dead ]; }
wait_until 30 dead2
check "gw1 sees gw2 dead" dead2
found "gw2 killed" peers fail 2
check "it names gw2" grep -q 'gw2 is dead on gossip' "$MGDIR/doc.txt"
summary
