#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Gossip (DESIGN §4 Gossip, Failure semantics) with the real agent: three
# clusters, cluster 1 with two gateways (gw1, gw1b), and no static peer
# anywhere: every gateway knows only the seed address 192.168.200.1 (gw1's).
#
#   - every gateway learns the three others; pods reach each other across
#     all clusters; mg_clus spreads cluster 1 over gw1 and gw1b;
#   - an endpoint added with `meshgate endpoints add` on gw1 reaches every
#     gateway's mg_ep4, is reachable from clusters 2 and 3 through both
#     gateways of cluster 1, and survives a restart of gw1's agent;
#   - gateways whose cluster id or CIDRs conflict with what is known are
#     refused: `conflict` in `meshgate peers`, nothing of theirs in the maps;
#   - a stock `serf agent` in the underlay lists every gateway alive with
#     its tags;
#   - gw1 dies: its tunnels are withdrawn everywhere and cluster 2's UDP
#     flows into cluster 1 move to gw1b within 3 s; restarted, the seed
#     gateway rejoins;
#   - `meshgate leave` on gw3: serf and the gateways show it left.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SEED=$UL_NET.1
GWS="1 1b 2 3"
SERF=${SERF:-serf}
SERF_IP=$UL_NET.250

# others NAME: the gateways of $GWS but NAME.
others() { local g; for g in $GWS; do [ "$g" = "$1" ] || echo -n "$g "; done; }

log "topology: clusters 1 (gw1, gw1b), 2, 3; gw4 and gw5 for the conflicts"
topo_underlay && topo_cluster 1 && topo_cluster 2 && topo_cluster 3 1 &&
	topo_gateway2 1 && topo_cluster 4 0 && topo_cluster 5 0 || exit 1
for g in $GWS; do
	write_gossip_config "$g" "$(gw_cluster "$g")" "$SEED" >/dev/null
done
for g in $GWS; do start_agent "$g" || exit 1; done

check "no static peer in any configuration" \
	eval '! grep -q "^\[peer" "$MGDIR"/gw*.conf'
for g in $GWS; do
	check "gw$g learns $(others "$g")by gossip from one seed" \
		wait_until 10 all_alive "$g" "$(others "$g")"
done

# maps_converged: every gateway maps every other cluster's CIDR, and
# cluster 1 goes through both of its gateways.
maps_converged() {
	local g k
	for g in $GWS; do
		for k in 1 2 3; do
			[ "$k" = "$(gw_cluster "$g")" ] && continue
			ep4_has "$g" "10.$k.0.0/16" "$k" || return 1
		done
	done
	[ "$(clus_gws 2 1)" = "$UL_NET.1 $UL_NET.101" ] &&
		[ "$(clus_gws 3 1)" = "$UL_NET.1 $UL_NET.101" ]
}
check "maps: every CIDR everywhere; cluster 1 through gw1 and gw1b" \
	wait_until 10 maps_converged

# reach SRC_POD DST_IP: a few pings get answered.
reach() { nsx "$1" ping -q -c 3 -i 0.1 -W 2 "$2" >/dev/null; }
for pair in "c1p1 2 1" "c1p2 3 1" "c2p1 1 1" "c2p2 3 1" "c3p1 1 2" "c3p1 2 2"; do
	set -- $pair
	check "pod $1 reaches pod $(pod_ip "$2" "$3") of cluster $2" \
		reach "$1" "$(pod_ip "$2" "$3")"
done

# --- UDP flows ------------------------------------------------------------
#
# flows_start SRC_POD DST_IP PORT SECONDS: 16 UDP flows (16 source ports
# of bash's /dev/udp sockets), one datagram each per round, ~80 rounds a
# second; each datagram reads "FLOW ROUND SEND_TIME_US".  The sink,
# socat in the pod that owns DST_IP, writes them to $MGDIR/sink.
FLOWS=16
sink_start() {	# POD PORT
	nsx_bg "$1" timeout 60 socat -u "UDP-RECV:$2" - >"$MGDIR/sink"
	echo $! >"$MGDIR/sink.pid"
	sleep 0.3
}
sink_stop() {
	sleep 0.5	# the last datagrams
	kill "$(cat "$MGDIR/sink.pid")" 2>/dev/null
	rm -f "$MGDIR/sink.pid"
}
flows_start() {
	nsx_bg "$1" timeout $(($4 + 10)) bash -c '
		fds=()
		for i in $(seq 1 '"$FLOWS"'); do
			exec {fd}>"/dev/udp/$0/$1" || exit 1
			fds+=("$fd")
		done
		end=$((${EPOCHREALTIME/./} + $2 * 1000000)) r=0
		while now=${EPOCHREALTIME/./}; [ "$now" -lt "$end" ]; do
			for i in "${!fds[@]}"; do
				printf "%d %d %s\n" "$i" "$r" "$now" >&"${fds[i]}"
			done 2>/dev/null
			r=$((r + 1))
			sleep 0.01
		done
		echo "$r"' "$2" "$3" "$4" >"$MGDIR/rounds"
	flows_pid=$!
}
# decap_of NAME: what a gateway decapsulated towards its cluster side.
decap_of() { echo $(($(stat_gw "$1" decap) + $(stat_gw "$1" decap_stack))); }

log "endpoint 10.11.0.0/24 (a node's pod CIDR behind c1p2) added on gw1 with the CLI"
nsx c1p2 ip addr add 10.11.0.12/32 dev lo
for g in 1 1b; do nsx "gw$g" ip route add 10.11.0.0/24 via 10.1.0.12 dev cl0; done
check "meshgate endpoints add on gw1" mgctl 1 endpoints add 10.11.0.0/24
ep_everywhere() {
	local g
	for g in $GWS; do ep4_has "$g" "$1" "$2" || return 1; done
}
t0=$(date +%s%N)
check "10.11.0.0/24 reaches every gateway's mg_ep4 within 5 s" \
	wait_until 5 ep_everywhere 10.11.0.0/24 1
log "seen everywhere after $((($(date +%s%N) - t0) / 1000000)) ms"
check "gw1b maps its sibling's endpoint as local" eval \
	'mgcli 1b -j bpf endpoints | jq -e "any(.[]; .prefix == \"10.11.0.0/24\" and .local)" >/dev/null'
check "pod of cluster 3 reaches 10.11.0.12" reach c3p1 10.11.0.12
check "pod of cluster 2 reaches 10.11.0.12" reach c2p2 10.11.0.12

a0=$(decap_of 1) b0=$(decap_of 1b)
sink_start c1p2 9001
flows_start c2p1 10.11.0.12 9001 2
wait "$flows_pid"
sink_stop
sent=$(($(cat "$MGDIR/rounds") * FLOWS)) got=$(wc -l <"$MGDIR/sink")
a1=$(decap_of 1) b1=$(decap_of 1b)
log "UDP to 10.11.0.12: $got of $sent arrived; gw1 decapsulated $((a1 - a0)), gw1b $((b1 - b0))"
check "UDP flows to the new endpoint all arrive" test "$sent" -gt 0 -a "$got" -eq "$sent"
check "... through both gateways of cluster 1" test $((a1 - a0)) -gt 0 -a $((b1 - b0)) -gt 0

log "restart of gw1's agent: the CLI endpoint is persisted"
stop_agent 1
check "the endpoint is in gw1's state_dir" grep -qx 10.11.0.0/24 "$MGDIR/state-gw1/endpoints"
start_agent 1 || exit 1
check "after the restart gw1 lists 10.11.0.0/24 (source cli)" eval \
	'mgctl 1 -j endpoints | jq -e "any(.[]; .prefix == \"10.11.0.0/24\" and .source == \"cli\" and .origin == \"gw1\")" >/dev/null'
check "gw1 (the seed) is back in the mesh within 5 s" \
	wait_until 5 all_alive 1 "$(others 1)"
sleep 2	# anti-entropy round: the others must not lose the endpoint
check "every gateway still maps 10.11.0.0/24" ep_everywhere 10.11.0.0/24 1
check "pod of cluster 3 still reaches 10.11.0.12" reach c3p1 10.11.0.12

# --- conflicts --------------------------------------------------------------
log "gw4: cluster4 with id 2 (cluster 2's); gw5: cluster5 also claiming 10.2.128.0/17"
write_gossip_config 4 4 "$SEED" >/dev/null
sed -i 's/^id = 4$/id = 2/' "$MGDIR/gw4.conf"
write_gossip_config 5 5 "$SEED" >/dev/null
sed -i 's|^cidr = 10.5.0.0/16$|&\ncidr = 10.2.128.0/17|' "$MGDIR/gw5.conf"
start_agent 4 && start_agent 5 || exit 1
for g in $GWS; do
	check "gw$g refuses gw4 (cluster id) and gw5 (CIDR): state conflict" \
		wait_until 10 eval '[ "$(peer_state '"$g"' 4)" = conflict ] && [ "$(peer_state '"$g"' 5)" = conflict ]'
done
mgctl 2 peers | grep -E '^gw[45] ' | sed 's/^/    /'
check "gw2 logs why gw4 and gw5 are refused" eval \
	'grep -q "gateway gw4 refused: cluster" "$MGDIR/gw2.log" &&
	 grep -q "gateway gw5 refused: its prefix 10.2.128.0/17" "$MGDIR/gw2.log"'
no_trace_of_conflicts() {
	local g eps
	for g in $GWS; do
		eps=$(mgcli "$g" -j bpf endpoints) || return 1
		jq -e 'any(.[]; .prefix == "10.4.0.0/16" or .prefix == "10.5.0.0/16"
			or .prefix == "10.2.128.0/17")' <<<"$eps" >/dev/null && return 1
		mgcli "$g" -j bpf clusters | jq -e 'any(.[]; .cluster_id == 5 or
			any(.gateways[]?; . == "'"$UL_NET.4"'" or . == "'"$UL_NET.5"'"))' \
			>/dev/null && return 1
		mgcli "$g" -j bpf peers | jq -e 'any(.[]; .tunnel_address == "'"$UL_NET.4"'"
			or .tunnel_address == "'"$UL_NET.5"'")' >/dev/null && return 1
	done
	return 0
}
sleep 1
check "no prefix, cluster or peer entry of gw4 or gw5 in any map" no_trace_of_conflicts
check "cluster 2 is still gw2 alone in gw1's mg_clus" test "$(clus_gws 1 2)" = "$UL_NET.2"
check "pod of cluster 1 still reaches cluster 2" reach c1p1 "$(pod_ip 2 1)"
# agent_gone NAME: its agent has exited (pid file removed when it has).
agent_gone() {
	kill -0 "$(cat "$MGDIR/gw$1.pid" 2>/dev/null)" 2>/dev/null && return 1
	rm -f "$MGDIR/gw$1.pid"
}
check "refused gateways can leave" eval 'mgctl 4 leave >/dev/null && mgctl 5 leave >/dev/null'
check "... and their agents stop" wait_until 10 eval 'agent_gone 4 && agent_gone 5'

# --- serf -------------------------------------------------------------------
if command -v "$SERF" >/dev/null; then
	log "serf agent in the underlay ($SERF_IP) joins through the seed"
	nsx ul ip addr add "$SERF_IP/24" dev br0
	nsx_bg ul "$SERF" agent -node serf-ul -bind "$SERF_IP:7946" \
		-rpc-addr 127.0.0.1:7373 -join "$SEED" -log-level info \
		>"$MGDIR/serf.log" 2>&1
	echo $! >"$MGDIR/serf.pid"
	serf_json() { nsx ul "$SERF" members -rpc-addr 127.0.0.1:7373 -format json 2>/dev/null; }
	serf_lists() {	# NAME STATUS
		serf_json | jq -e --arg n "gw$1" --arg s "$2" \
			'any(.members[]; .name == $n and .status == $s)' >/dev/null 2>&1
	}
	serf_all_alive() {
		local g
		for g in $GWS; do serf_lists "$g" alive || return 1; done
	}
	serf_tags_ok() {
		local g
		for g in $GWS; do
			serf_json | jq -e --arg n "gw$g" --arg c "cluster$(gw_cluster "$g")" \
				--arg i "$(gw_cluster "$g")" --arg t "$(gw_tunnel "$g")" \
				'any(.members[]; .name == $n and .tags.cluster == $c and
				 .tags.cluster_id == $i and .tags.tunnel == $t and
				 .tags.role == "meshgate")' >/dev/null 2>&1 || return 1
		done
	}
	check "serf lists every gateway alive" wait_until 10 serf_all_alive
	check "serf shows each gateway's cluster, cluster_id, tunnel tags" serf_tags_ok
	nsx ul "$SERF" members -rpc-addr 127.0.0.1:7373 | sed 's/^/    /'
	check "gateways list serf-ul alive, as a member that is no gateway" \
		wait_until 5 eval 'mgctl 2 -j peers | jq -e "any(.[]; .name == \"serf-ul\" and .state == \"alive\" and (.meshgate | not))" >/dev/null'
	check "serf is in no map" eval \
		'! mgcli 2 -j bpf peers | grep -q "$SERF_IP"'
else
	log "SKIP serf checks: serf not installed"
fi

# --- gateway death and failover to the sibling ------------------------------
#
# Death = SIGKILL of the agent AND its underlay link down: the XDP
# datapath outlives its agent by design (pinned links), so a killed agent
# alone leaves gw1 forwarding with its last maps.
#
# The flows are one-way UDP from cluster 2 into cluster 1: the pods of
# cluster 1 send everything (replies too) through their default route via
# 10.1.0.1 = gw1, which is what dies, so round trips would measure the
# pods' routing, not the mesh's failover.  What we measure is what the
# mesh decides: cluster 2's choice of gateway for cluster 1.
log "failover: 16 UDP flows c2p1 -> c1p1 over gw1 and gw1b; gw1 dies"
sink_start c1p1 9000
flows_start c2p1 "$(pod_ip 1 1)" 9000 9
sleep 0.5
a0=$(decap_of 1) b0=$(decap_of 1b)
sleep 1.5
a1=$(decap_of 1) b1=$(decap_of 1b)
log "before: gw1 decapsulated $((a1 - a0)), gw1b $((b1 - b0)) in 1.5 s"
check "before the death both gateways of cluster 1 carry flows" \
	test $((a1 - a0)) -gt 20 -a $((b1 - b0)) -gt 20

t0=${EPOCHREALTIME/./}
pid=$(cat "$MGDIR/gw1.pid")
disown "$pid" 2>/dev/null	# (no "Killed" notice from bash)
kill -9 "$pid"
nsx gw1 ip link set ul0 down
rm -f "$MGDIR/gw1.pid"
withdrawn() {
	[ "$(clus_gws 2 1)" = "$UL_NET.101" ] && [ "$(clus_gws 3 1)" = "$UL_NET.101" ]
}
if wait_until 6 withdrawn; then
	tw=$(((${EPOCHREALTIME/./} - t0) / 1000))
	log "gw1's tunnels withdrawn by gw2 and gw3 after $tw ms"
	check "gw1's tunnels withdrawn everywhere within 3 s" test "$tw" -le 3000
else
	check "gw1's tunnels withdrawn everywhere within 3 s" false
fi
sleep_until() {	# T_US: sleep until that time
	local d=$((($1 - ${EPOCHREALTIME/./}) / 1000))
	[ "$d" -gt 0 ] && sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
	return 0
}
sleep_until $((t0 + 3500000))
a2=$(decap_of 1) b2=$(decap_of 1b) t2=${EPOCHREALTIME/./}
sleep 2
a3=$(decap_of 1) b3=$(decap_of 1b) t3=${EPOCHREALTIME/./}
wait "$flows_pid"
sink_stop
for g in 1b 2 3; do
	check "gw$g shows gw1 dead" wait_until 3 eval '[ "$(peer_state '"$g"' 1)" = dead ]'
done

# Per round: how many of the 16 datagrams arrived, and when it was sent.
rounds=$(cat "$MGDIR/rounds")
read -r lost incomplete last_ms empty < <(awk -v t0="$t0" -v f="$FLOWS" -v n="$rounds" '
	{ got[$2]++; t[$2] = $3 }
	END {
		last = -1e9
		for (r = 0; r < n; r++) {
			if (!(r in got)) { empty++; continue }
			if (got[r] < f) {
				lost += f - got[r]; inc++
				if (t[r] - t0 > last) last = t[r] - t0
			}
		}
		printf "%d %d %d %d\n", lost, inc, last / 1000, empty
	}' "$MGDIR/sink")
n_in_window=$(awk -v a="$t2" -v b="$t3" '$3 >= a && $3 < b' "$MGDIR/sink" | wc -l)
log "flows: $rounds rounds of $FLOWS; $lost datagrams lost in $incomplete rounds, the last sent $last_ms ms after the kill; $empty rounds lost whole"
log "from kill+3.5 s for 2 s: gw1 decapsulated $((a3 - a2)), gw1b $((b3 - b2)); the pod got $n_in_window sent then"
check "the flows lost packets only in the 3 s after the kill" \
	test "$last_ms" -le 3000
check "no round lost whole (gw1b carried its share throughout)" test "$empty" -eq 0
check "after the failover gw1 decapsulates nothing" test "$a3" -eq "$a2"
check "after the failover all of it arrives through gw1b" \
	test "$n_in_window" -gt 1000 -a $((b3 - b2)) -ge $((n_in_window * 98 / 100))

log "gw1 comes back (underlay up, agent started): the seed rejoins"
nsx gw1 ip link set ul0 up
start_agent 1 || exit 1
check "restarted seed gw1 is alive everywhere again" wait_until 20 eval \
	'all_alive 1 "$(others 1)" && all_alive 2 "$(others 2)" && all_alive 3 "$(others 3)" && all_alive 1b "$(others 1b)"'
check "cluster 1 through both gateways again" wait_until 5 eval \
	'[ "$(clus_gws 2 1)" = "$UL_NET.1 $UL_NET.101" ]'
check "pod of cluster 1 reaches cluster 3 through gw1 again" \
	wait_until 5 reach c1p1 "$(pod_ip 3 1)"

# --- graceful leave ---------------------------------------------------------
log "meshgate leave on gw3"
check "meshgate leave answers" mgctl 3 leave
check "gw3's agent stops after leaving" wait_until 10 agent_gone 3
for g in 1 1b 2; do
	check "gw$g shows gw3 left" wait_until 5 eval '[ "$(peer_state '"$g"' 3)" = left ]'
done
if command -v "$SERF" >/dev/null; then
	check "serf members shows gw3 left" wait_until 10 serf_lists 3 left
fi
check "gw2 withdrew cluster 3's tunnel" wait_until 5 eval \
	'[ -z "$(clus_gws 2 3)" ]'

summary
