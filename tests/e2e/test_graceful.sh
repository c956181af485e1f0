#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Graceful restart and data-plane liveness (agent/liveness.h) in a gossip
# mesh: clusters 1 (gw1 alone), 2 (gw2) and 3 (gw3, gw3b), no static peer.
# A UDP stream of 10,000 packets a second (8 flows) from a pod of cluster
# 2 to one of cluster 1 crosses gw2 and gw1, counted at the receiving pod:
#
#   - gw1's agent stopped (SIGTERM) and started: peers hear "restarting",
#     their gossip declares it gone, yet they keep its tunnels because its
#     datapath still answers their probes: 0 lost;
#   - gw1's agent killed (SIGKILL) and started: the same, logged "dead";
#   - gw1 upgraded (stopped, a rebuilt binary started): 0 lost;
#   - gw1's agent killed and not started again: its tunnels stay while its
#     datapath answers, for hold_time, then go;
#   - gw3's machine dies (agent killed, underlay link down): every peer
#     withdraws it (its datapath went silent) and cluster 3's traffic goes
#     through gw3b;
#   - a probe from an address that is no peer is dropped (peer_unknown).
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SEED=$UL_NET.2		# gw2: never restarted
GWS="1 2 3 3b"
HOLD=10			# s; long enough for a restart under load
PPS=10000
SECS=8			# of stream: a restart fits in it

log "topology: clusters 1 (gw1), 2 (gw2), 3 (gw3, gw3b); gossip only"
topo_underlay && topo_cluster 1 1 && topo_cluster 2 1 && topo_cluster 3 1 &&
	topo_gateway2 3 || exit 1
GOSSIP_EXTRA="hold_time = $HOLD"
for g in $GWS; do
	write_gossip_config "$g" "$(gw_cluster "$g")" "$SEED" >/dev/null
done
for g in $GWS; do start_agent "$g" || exit 1; done

others() { local g; for g in $GWS; do [ "$g" = "$1" ] || echo -n "$g "; done; }
for g in $GWS; do
	check "gw$g learns $(others "$g")by gossip" \
		wait_until 10 all_alive "$g" "$(others "$g")"
done

# datapath_of NAME PEER: what gateway NAME's liveness says of gwPEER.
datapath_of() {
	mgctl "$1" -j peers 2>/dev/null | jq -r --arg n "gw$2" \
		'.[] | select(.name == $n) | .datapath // empty'
}
dp_all_up() {
	local g p
	for g in $GWS; do
		for p in $(others "$g"); do
			[ "$(gw_cluster "$p")" = "$(gw_cluster "$g")" ] && continue
			[ "$(datapath_of "$g" "$p")" = up ] || return 1
		done
	done
}
check "every gateway's probes come back from every other cluster's" \
	wait_until 10 dp_all_up
check "status counts gw2's echoes (3 peers up)" eval \
	'mgctl 2 -j status | jq -e ".liveness_echoes > 0 and .liveness_peers_up == 3" >/dev/null'
maps_ready() {
	ep4_has 2 10.1.0.0/16 1 && ep4_has 2 10.3.0.0/16 3 &&
		[ "$(clus_gws 2 3)" = "$UL_NET.103 $UL_NET.3" ] &&
		[ "$(clus_gws 1 3)" = "$UL_NET.103 $UL_NET.3" ]
}
check "maps: cluster 3 through gw3 and gw3b everywhere" wait_until 10 maps_ready
nsx c2p1 ping -q -c 2 -i 0.1 -W 2 "$(pod_ip 1 1)" >/dev/null

kill_agent() {	# NAME SIGNAL: until it is gone (bounded)
	local pid i
	pid=$(cat "$MGDIR/gw$1.pid")
	kill "-$2" "$pid"
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$MGDIR/gw$1.pid"
	! kill -0 "$pid" 2>/dev/null || return 1
	{ wait "$pid"; } 2>/dev/null
	return 0
}

# gone_for NAME PEER STATE...: gateway NAME's gossip shows gwPEER in one
# of the states (it has given up on its agent).
gone_for() {
	local s n=$1 p=$2 want
	shift 2
	s=$(peer_state "$n" "$p")
	for want in "$@"; do [ "$s" = "$want" ] && return 0; done
	return 1
}

# restart_case HOW SIGNAL STATE: the stream through gw1 while its agent is
# stopped with SIGNAL, seen by gw2 as STATE, then started (HOW names the
# binary: "same" or "upgrade").
restart_case() {
	local how=$1 sig=$2 state=$3 from MESHGATE=$MESHGATE
	from=$(($(wc -l <"$MGDIR/gw2.log") + 1))
	stream_start "$sig$how" c2p1 c1p1 "$(pod_ip 1 1)" "$PPS" "$SECS" ||
		return 1
	sleep 1
	check "$how: gw1's agent stops on SIG$sig" kill_agent 1 "$sig"
	check "$how: gw2's gossip shows gw1 $state" \
		wait_until 10 gone_for 2 1 "$state"
	check "$how: gw3's gossip too" wait_until 10 gone_for 3 1 "$state" dead
	if [ "$how" = upgrade ]; then
		# A rebuilt binary: another file, another inode.
		cp "$MESHGATE" "$MGDIR/meshgate.new"
		MESHGATE=$MGDIR/meshgate.new	# for start_agent
	fi
	check "$how: gw1's agent starts" start_agent 1
	stream_lost "$sig$how"
	check "$how: 0 of $STREAM_SENT packets lost" test "$STREAM_LOST" = 0
	check "$how: gw2 kept gw1's tunnels (its log)" grep -q \
		"gateway gw1 $state (datapath up): its tunnels kept" \
		<(tail -n "+$from" "$MGDIR/gw2.log")
	check "$how: gw1 alive again everywhere" \
		wait_until 10 all_alive 2 1
}

log "--- restarts of gw1, cluster 1's only gateway, under $PPS pps"
restart_case "SIGTERM restart" TERM restarting
restart_case "SIGKILL restart" KILL dead
restart_case upgrade TERM restarting
check "the upgrade runs the new binary" \
	grep -q meshgate.new "/proc/$(cat "$MGDIR/gw1.pid")/cmdline"

log "--- gw1's agent killed for good: held for hold_time ($HOLD s), then withdrawn"
check "gw1's agent dies (SIGKILL)" kill_agent 1 KILL
check "gw2's gossip shows gw1 dead" wait_until 10 gone_for 2 1 dead
check "gw2 keeps cluster 1 through gw1 while its datapath answers" \
	test "$(clus_gws 2 1)" = "$UL_NET.1"
check "pod of cluster 2 still reaches cluster 1" \
	nsx c2p1 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip 1 1)"
withdrawn_1() { [ -z "$(clus_gws 2 1)" ] && [ -z "$(clus_gws 3 1)" ]; }
check "after hold_time its tunnels go everywhere" \
	wait_until $((HOLD + 10)) withdrawn_1
check "gw2 says why" grep -q "gateway gw1 (dead, datapath up): tunnels withdrawn" \
	"$MGDIR/gw2.log"
start_agent 1 || exit 1
check "gw1 back: cluster 1 through it again" \
	wait_until 10 eval '[ "$(clus_gws 2 1)" = "$UL_NET.1" ]'

log "--- gw3's machine dies: agent killed, underlay down"
to3=$(pod_ip 3 1)
check "pod of cluster 2 reaches cluster 3" nsx c2p1 ping -q -c 3 -i 0.1 -W 2 "$to3"
decap_of() { echo $(($(stat_gw "$1" decap) + $(stat_gw "$1" decap_stack))); }
only_3b() {
	[ "$(clus_gws 2 3)" = "$UL_NET.103" ] &&
		[ "$(clus_gws 1 3)" = "$UL_NET.103" ]
}
from=$(($(wc -l <"$MGDIR/gw2.log") + 1))
t0=$(date +%s%N)
kill -9 "$(cat "$MGDIR/gw3.pid")"
nsx gw3 ip link set ul0 down
check "gw3 withdrawn everywhere: cluster 3 through gw3b alone" \
	wait_until 10 only_3b
log "withdrawn everywhere $((($(date +%s%N) - t0) / 1000000)) ms after the death"
check "gw2 withdrew it for its silent datapath" grep -q \
	"gateway gw3 .*datapath down.*withdrawn" <(tail -n "+$from" "$MGDIR/gw2.log")
# Its pods' replies would still go to gw3, their dead gateway (the
# cluster's own routing moves that): one way, counted at the pod.
d3b=$(decap_of 3b)
stream_start to3b c2p1 c3p1 "$to3" "$PPS" 1 || exit 1
stream_lost to3b
check "cluster 3's traffic on gw3b: 0 of $STREAM_SENT lost" test "$STREAM_LOST" = 0
check "... decapsulated by gw3b" test "$(decap_of 3b)" -ge $((d3b + STREAM_SENT))
check "gw2's datapath answered probes (counted as echo)" \
	test "$(stat_gw 2 echo)" -gt 0

# A probe from an address that is no peer: dropped, counted peer_unknown.
probe_from_stranger() {
	local hex='\x08\x00\x00\x00\x00\x00\x02\x00'
	hex+='\x02\x6d\x67\x00\x00\x02\x02\x6d\x67\x00\x00\x02\x88\xb5'
	hex+='\x4d\x47\x45\x43\x01\x04\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00'
	hex+='\x00\x00\x00\x00\x00\x00\x00\x00\xc0\xa8\xc8\xfa'
	hex+='\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
	printf "$hex" | nsx ul socat -u - \
		"UDP4-SENDTO:$UL_NET.2:4789,bind=$UL_NET.250:40404"
}
nsx ul ip addr add "$UL_NET.250/24" dev br0
u0=$(stat_gw 2 peer_unknown)
probe_from_stranger
check "a stranger's probe is dropped as peer_unknown" \
	wait_until 3 eval '[ "$(stat_gw 2 peer_unknown)" -gt "$u0" ]'

[ -n "${MG_KEEP_LOGS:-}" ] && cp "$MGDIR"/*.log "$MG_KEEP_LOGS"/
summary
