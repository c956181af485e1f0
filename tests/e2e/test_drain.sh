#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Drain, leave and forget in a gossip mesh: cluster 1 with two gateways
# (gw1, its pods' default gateway, and gw1b), cluster 2 with gw2.  A UDP
# stream of 10,000 packets a second from a pod of cluster 2 into cluster
# 1, and one of 2,000 back (through gw1), counted at the receiving pods:
#
#   - `meshgate drain` on gw1: every peer withdraws it from its slot
#     tables (cluster 1's traffic all goes to gw1b) and shows it draining;
#     its datapath goes on forwarding (the replies) and peers take it;
#     drain_hook runs; nothing is lost; `undrain` brings it back;
#   - a drained gateway stays drained across a restart;
#   - `meshgate leave` on gw1b drains it, leaves, and detaches its
#     datapath: nothing lost, peers show it left;
#   - `meshgate peers forget gw1b` removes it at once (an alive gateway
#     cannot be forgotten); forget_after removes it by itself.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SEED=$UL_NET.2
GWS="1 1b 2"
PPS=10000

log "topology: cluster 1 (gw1, gw1b), cluster 2 (gw2); gossip only"
topo_underlay && topo_cluster 1 1 && topo_cluster 2 1 && topo_gateway2 1 ||
	exit 1
cat >"$MGDIR/hook.sh" <<EOF
#!/bin/sh
echo "\$1 \$MESHGATE_EVENT" >>"$MGDIR/hook.log"
EOF
chmod +x "$MGDIR/hook.sh"
GOSSIP_EXTRA="drain_hook = $MGDIR/hook.sh
forget_after = 4" write_gossip_config 1 1 "$SEED" >/dev/null
write_gossip_config 1b 1 "$SEED" >/dev/null
write_gossip_config 2 2 "$SEED" >/dev/null
for g in $GWS; do start_agent "$g" || exit 1; done

others() { local g; for g in $GWS; do [ "$g" = "$1" ] || echo -n "$g "; done; }
for g in $GWS; do
	check "gw$g learns $(others "$g")by gossip" \
		wait_until 10 all_alive "$g" "$(others "$g")"
done
both=$(printf '%s\n' "$UL_NET.1" "$UL_NET.101" | sort | xargs)
check "gw2 spreads cluster 1 over gw1 and gw1b" \
	wait_until 10 eval '[ "$(clus_gws 2 1)" = "$both" ]'
nsx c2p1 ping -q -c 2 -i 0.1 -W 2 "$(pod_ip 1 1)" >/dev/null
nsx c1p1 ping -q -c 2 -i 0.1 -W 2 "$(pod_ip 2 1)" >/dev/null

decap_of() { echo $(($(stat_gw "$1" decap) + $(stat_gw "$1" decap_stack))); }
streams_start() {	# NAME SECONDS
	stream_start "$1" c2p1 c1p1 "$(pod_ip 1 1)" "$PPS" "$2" 16 &&
		stream_start "$1-back" c1p1 c2p1 "$(pod_ip 2 1)" 2000 "$2"
}
streams_check() {	# NAME WHAT
	stream_lost "$1"
	check "$2: 0 of $STREAM_SENT lost into cluster 1" test "$STREAM_LOST" = 0
	stream_lost "$1-back"
	check "$2: 0 of $STREAM_SENT lost back (through gw1)" \
		test "$STREAM_LOST" = 0
}

log "--- drain gw1 under the stream"
unk0=$(stat_gw 2 peer_unknown)
streams_start drain 6 || exit 1
sleep 1.5
check "meshgate drain on gw1" mgctl 1 drain
check "gw2 sends cluster 1's traffic to gw1b alone" \
	wait_until 5 eval '[ "$(clus_gws 2 1)" = "$UL_NET.101" ]'
check "gw2 shows gw1 draining" wait_until 5 eval '[ "$(peer_state 2 1)" = draining ]'
check "gw1b shows its sibling draining" \
	wait_until 5 eval '[ "$(peer_state 1b 1)" = draining ]'
check "drain_hook ran with drain" wait_until 5 grep -qx "drain drain" "$MGDIR/hook.log"
check "gw1's status says draining" eval \
	'[ "$(mgctl 1 -j status | jq -r .mode)" = draining ]'
sleep 0.5
d1=$(decap_of 1)
streams_check drain "drain"
check "gw1 got no tunnel traffic once drained" test "$(decap_of 1)" = "$d1"
check "gw2 took gw1's traffic all along (no peer_unknown)" \
	test "$(stat_gw 2 peer_unknown)" = "$unk0"
check "meshgate drain again: already draining" \
	eval 'mgctl 1 drain | grep -q "already draining"'

log "--- a drained gateway stays drained across a restart"
stop_agent 1
start_agent 1 || exit 1
check "gw1 restarted drained: gw2 still shows it draining" \
	wait_until 10 eval '[ "$(peer_state 2 1)" = draining ]'
check "... and keeps cluster 1 on gw1b" test "$(clus_gws 2 1)" = "$UL_NET.101"

log "--- undrain gw1"
check "meshgate undrain on gw1" mgctl 1 undrain
check "gw2 spreads cluster 1 over both again" \
	wait_until 5 eval '[ "$(clus_gws 2 1)" = "$both" ]'
check "gw2 shows gw1 alive" wait_until 5 eval '[ "$(peer_state 2 1)" = alive ]'
check "drain_hook ran with undrain" grep -qx "undrain undrain" "$MGDIR/hook.log"

log "--- gw1b leaves under the stream"
streams_start leave 5 || exit 1
sleep 1.5
check "meshgate leave on gw1b" mgctl 1b leave
check "gw2 shows gw1b left" wait_until 10 eval '[ "$(peer_state 2 1b)" = left ]'
check "gw2 sends cluster 1's traffic to gw1 alone" \
	test "$(clus_gws 2 1)" = "$UL_NET.1"
streams_check leave "leave"
agent_gone() { ! kill -0 "$(cat "$MGDIR/gw1b.pid")" 2>/dev/null; }
check "gw1b's agent stopped" wait_until 10 agent_gone
check "gw1b's datapath detached" test -z "$(xdp_prog_id gw1b cl0)$(xdp_prog_id gw1b ul0)"
check "gw1b's pins removed" test ! -e "$(pin_dir 1b)"

log "--- forget"
listed() { mgctl "$1" -j peers | jq -e --arg n "gw$2" 'any(.[]; .name == $n)' >/dev/null; }
check "meshgate peers forget gw1 on gw2 is refused (alive)" \
	eval '! mgctl 2 peers forget gw1 2>/dev/null'
check "meshgate peers forget gw1b on gw2" mgctl 2 peers forget gw1b
check "gw2 no longer lists gw1b" eval '! listed 2 1b'
check "gw1 (forget_after = 4 s) forgets gw1b by itself" \
	wait_until 15 eval '! listed 1 1b'
check "gw1 logged it" grep -q "forgot gateway gw1b" "$MGDIR/gw1.log"

[ -n "${MG_KEEP_LOGS:-}" ] && cp "$MGDIR"/*.log "$MG_KEEP_LOGS"/
summary
