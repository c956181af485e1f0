#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Agent restarts (DESIGN §4 Loading): while a fast ping stream crosses from
# cluster 1 to cluster 2, gateway 1's agent is stopped (SIGTERM) and
# started, killed (SIGKILL) and started, and gateway 2's is killed and
# started.  No packet is lost; the pinned XDP links stay attached and get
# the new program swapped in; the pinned maps are the same maps with their
# entries.  Finally a peer removed from the configuration before a restart
# leaves no entry behind.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

COUNT=1500	# at 10 ms: 15 s of stream, enough for four restarts

log "topology: clusters 1 and 2, and a cluster 3 that gw1 will forget"
topo_underlay && topo_cluster 1 && topo_cluster 2 && topo_cluster 3 1 || exit 1
write_config 1 "2 3" >/dev/null
write_config 2 "1" >/dev/null
write_config 3 "1" >/dev/null
start_agent 1 && start_agent 2 && start_agent 3 || exit 1
nsx c1p1 ping -c 1 -W 2 "$(pod_ip 2 1)" >/dev/null
check "c1p1 reaches cluster 3 before" nsx c1p1 ping -q -c 2 -i 0.1 -W 2 \
	"$(pod_ip 3 1)"

pin1=$(pin_dir 1)
link_id() { bpftool -j link show pinned "$pin1/link_$1" | jq -r .id; }
link_prog() { bpftool -j link show pinned "$pin1/link_$1" | jq -r .prog_id; }
map_id() { bpftool -j map show pinned "$pin1/$1" | jq -r .id; }
# listing MAP: gw1's map as sorted JSON, for before/after comparisons.
listing() { mgcli 1 -j bpf "$1" | jq -cS 'sort_by(tostring)'; }

links0="$(link_id cl0) $(link_id ul0)"
maps0=""
for m in mg_ep4 mg_clus mg_peer4 mg_nh4 mg_tx mg_stats; do
	maps0+="$(map_id "$m") "
done
prog0=$(xdp_prog_id gw1 cl0)
eps0=$(listing endpoints)
log "links $links0, maps $maps0, program $prog0"

# restarted_in_place: gw1's links are the same, carry a new program, and
# the interfaces run it.
progs_seen=$prog0
restarted_in_place() {
	local p
	p=$(xdp_prog_id gw1 cl0)
	log "program now $p (was: $progs_seen)"
	[ "$(link_id cl0) $(link_id ul0)" = "$links0" ] &&
		[ "$(link_prog cl0)" = "$p" ] && [ "$(link_prog ul0)" = "$p" ] &&
		[ "$(xdp_prog_id gw1 ul0)" = "$p" ] &&
		! grep -qw "$p" <<<"$progs_seen" || return 1
	progs_seen+=" $p"
}

same_maps() {
	local m now=""
	for m in mg_ep4 mg_clus mg_peer4 mg_nh4 mg_tx mg_stats; do
		now+="$(map_id "$m") "
	done
	[ "$now" = "$maps0" ]
}

kill_agent() {	# K SIGNAL: until it is gone (bounded)
	local pid i
	pid=$(cat "$MGDIR/gw$1.pid")
	kill "-$2" "$pid"
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	rm -f "$MGDIR/gw$1.pid"
	! kill -0 "$pid" 2>/dev/null || return 1
	{ wait "$pid"; } 2>/dev/null	# reap it quietly
	return 0
}

log "ping stream c1p1 -> c2p1: $COUNT packets, 10 ms apart"
nsx_bg c1p1 timeout 60 ping -q -i 0.01 -c "$COUNT" -W 1 "$(pod_ip 2 1)" \
	>"$MGDIR/stream.txt" 2>&1
stream=$!
sleep 1

check "gw1 agent stops on SIGTERM" kill_agent 1 TERM
check "XDP stays attached while gw1's agent is away" \
	test "$(xdp_prog_id gw1 cl0)" = "$prog0" -a "$(xdp_prog_id gw1 ul0)" = "$prog0"
check "maps keep their entries while gw1's agent is away" \
	test "$(listing endpoints)" = "$eps0"
sleep 0.5
check "gw1 agent starts again" start_agent 1
check "new program swapped into the same links (SIGTERM)" restarted_in_place
check "log says updated in place" \
	grep -q "cl0: datapath updated in place" "$MGDIR/gw1.log"
sleep 1

check "gw1 agent dies on SIGKILL" kill_agent 1 KILL
sleep 0.5
check "gw1 agent starts after SIGKILL" start_agent 1
check "new program swapped into the same links (SIGKILL)" restarted_in_place
sleep 1

check "gw2 agent dies on SIGKILL" kill_agent 2 KILL
sleep 0.5
check "gw2 agent starts after SIGKILL" start_agent 2
sleep 1

log "gw1 forgets cluster 3: peer removed from its configuration"
write_config 1 "2" >/dev/null
check "gw1 agent stops (config change)" kill_agent 1 TERM
check "gw1 agent starts with cluster 3 gone" start_agent 1
check "new program swapped into the same links (config change)" \
	restarted_in_place

check "ping stream done" wait "$stream"
sed -n 's/^/    /; /packet loss/p' "$MGDIR/stream.txt"
check "no packet lost across the restarts" \
	grep -q "^$COUNT packets transmitted, $COUNT received, 0% packet loss" \
	"$MGDIR/stream.txt"
check "same pinned maps throughout" same_maps
check "other entries kept: endpoints of clusters 1 and 2" test \
	"$(listing endpoints | jq -c '[.[] | [.prefix, .cluster_id, .local]]')" \
	= '[["10.1.0.0/16",1,true],["10.2.0.0/16",2,false]]'

# no_trace_of_3 MAP JQ: no entry of gw1's map matches.
no_trace_of_3() {
	local out
	out=$(mgcli 1 -j bpf "$1") || return 1
	[ "$(jq -c "[.[] | select($2)] | length" <<<"$out")" = 0 ] &&
		[ "$(jq length <<<"$out")" -ge 1 ]
}
check "no stale endpoint of cluster 3" no_trace_of_3 endpoints '.cluster_id == 3'
check "no stale cluster 3" no_trace_of_3 clusters '.cluster_id == 3'
check "no stale peer $UL_NET.3" no_trace_of_3 peers \
	".tunnel_address == \"$UL_NET.3\""
check "no stale next hop $UL_NET.3" no_trace_of_3 nexthops \
	".destination == \"$UL_NET.3\""
check "bpftool agrees: mg_ep4 has 2 entries" \
	test "$(bpftool -j map dump pinned "$pin1/mg_ep4" | jq length)" = 2
check "c1p1 no longer reaches cluster 3" \
	sh -c "! ip netns exec $MGP-c1p1 ping -q -c 2 -i 0.1 -W 1 $(pod_ip 3 1) >/dev/null"
check "c1p1 still reaches cluster 2" \
	nsx c1p1 ping -q -c 2 -i 0.1 -W 2 "$(pod_ip 2 1)"

summary
