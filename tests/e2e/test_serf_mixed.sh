#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Gateways in a pool of stock serf agents (Debian's serf 0.9.4), as an
# operator adds them to an existing serf (or consul-lan) pool: three serf
# agents s1..s3, a fourth one "sx" tagged role=meshgate and nothing else (a
# careless operator's), and three meshgate gateways gw1..gw3 whose only
# seed is serf agent s1.
#
#   - every serf agent lists every gateway alive, and every gateway the serf
#     agents; sx is refused by the gateways as a gateway whose tags are
#     malformed ...
#   - ... and does not hold up settling: an endpoint deleted on gw1 leaves
#     every gateway's maps within 4 s (issue 16, defect 1);
#   - a gateway that left and is restarted is alive on every serf agent
#     within 5 s (serf's join intent, newer than its leave: defect 3);
#   - a gateway that waits for a silent "gateway" (sy: serf with all of
#     meshgate's tags) says so in `meshgate status`, and settles anyway
#     after its settle_timeout;
#   - over the whole run no serf agent (sy, which asks for gateway traffic
#     by posing as one, aside) logs "[ERR] serf:" or an unknown message
#     type: serf's push/pull state is what serf expects, our own messages
#     go to gateways only (defect 4).
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SERF=${SERF:-serf}
# make deps installs serf: missing is a failure of the set-up, not a skip.
command -v "$SERF" >/dev/null || { echo "FAIL: serf not installed (make deps)"; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq not installed (make deps)"; exit 1; }

GWS="1 2 3"
SEED=$UL_NET.201
# serf agent NAME: its address on the underlay, its RPC address (loopback
# of the underlay namespace)
SERF_N="s1:1 s2:2 s3:3 sx:4 sy:5"
serf_n() { local e; for e in $SERF_N; do [ "${e%:*}" = "$1" ] && echo "${e#*:}"; done; }
serf_ip() { echo "$UL_NET.$((200 + $(serf_n "$1")))"; }
serf_rpc() { echo "127.0.0.1:$((7380 + $(serf_n "$1")))"; }

# start_serf NAME [serf agent args...]: a serf agent in the underlay namespace
start_serf() {
	local name=$1; shift
	nsx ul ip addr add "$(serf_ip "$name")/24" dev br0
	nsx_bg ul "$SERF" agent -node "$name" -bind "$(serf_ip "$name"):7946" \
		-rpc-addr "$(serf_rpc "$name")" -log-level info "$@" \
		>"$MGDIR/serf-$name.log" 2>&1
	echo $! >"$MGDIR/serf-$name.pid"
	wait_until 10 serf_up "$name"
}
serf_up() { nsx ul "$SERF" members -rpc-addr "$(serf_rpc "$1")" >/dev/null 2>&1; }
serf_json() {
	nsx ul "$SERF" members -rpc-addr "$(serf_rpc "$1")" -format json 2>/dev/null
}
# serf_status SERF MEMBER: alive, leaving, left, failed or ""
serf_status() {
	serf_json "$1" | jq -r --arg n "$2" '.members[] | select(.name == $n) | .status' 2>/dev/null
}
# every_serf_sees MEMBER STATUS: on s1, s2 and s3
every_serf_sees() {
	local s
	for s in s1 s2 s3; do [ "$(serf_status "$s" "$1")" = "$2" ] || return 1; done
}
# serf_wait SECONDS MEMBER STATUS: every_serf_sees within the bound; on
# failure, what each serf agent shows instead
serf_wait() {
	wait_until "$1" every_serf_sees "$2" "$3" && return 0
	local s
	for s in s1 s2 s3; do
		log "  $s lists $2 as '$(serf_status "$s" "$2")'"
	done
	return 1
}
all_gws_on_serf() {
	local g
	for g in $GWS; do every_serf_sees "gw$g" alive || return 1; done
}
# gw_sees NAME MEMBER STATE: the state gateway NAME's `peers` shows
gw_sees() {
	[ "$(mgctl "$1" -j peers 2>/dev/null | jq -r --arg n "$2" \
		'.[] | select(.name == $n) | .state' 2>/dev/null)" = "$3" ]
}
gw_sees_all() {	# NAME: every other gateway and s1..s3 alive
	local m
	for m in gw1 gw2 gw3 s1 s2 s3; do
		[ "$m" = "gw$1" ] || gw_sees "$1" "$m" alive || return 1
	done
}
settled() { [ "$(mgctl "$1" -j status 2>/dev/null | jq -r .settled)" = true ]; }
all_settled() { local g; for g in $GWS; do settled "$g" || return 1; done; }
ep_on() {	# PREFIX CLUSTER GW...: in every listed gateway's mg_ep4
	local p=$1 c=$2 g; shift 2
	for g in "$@"; do ep4_has "$g" "$p" "$c" || return 1; done
}
ep_gone() {	# PREFIX GW...
	local p=$1 g; shift
	for g in "$@"; do ! ep4_has "$g" "$p" 1 || return 1; done
}
agent_gone() {
	kill -0 "$(cat "$MGDIR/gw$1.pid" 2>/dev/null)" 2>/dev/null && return 1
	rm -f "$MGDIR/gw$1.pid"
}

log "topology: underlay, clusters 1..3 (no pods); serf agents s1..s3 and sx"
topo_underlay && topo_cluster 1 0 && topo_cluster 2 0 && topo_cluster 3 0 || exit 1
start_serf s1 || { log "serf did not start"; cat "$MGDIR/serf-s1.log"; exit 1; }
start_serf s2 -join "$SEED" || exit 1
start_serf s3 -join "$SEED" || exit 1
# role=meshgate and nothing else: no cluster, cluster_id or tunnel
start_serf sx -join "$SEED" -tag role=meshgate || exit 1
check "serf pool: s1 lists s2, s3, sx alive" wait_until 10 eval \
	'[ "$(serf_status s1 s2)$(serf_status s1 s3)$(serf_status s1 sx)" = alivealivealive ]'

log "gateways gw1..gw3 join through serf agent s1 ($SEED)"
for g in $GWS; do write_gossip_config "$g" "$g" "$SEED" >/dev/null; done
for g in $GWS; do start_agent "$g" || exit 1; done
check "every serf agent lists every gateway alive" wait_until 15 all_gws_on_serf
for g in $GWS; do
	check "gw$g lists the other gateways and s1..s3 alive" \
		wait_until 10 gw_sees_all "$g"
	check "gw$g refuses sx (role=meshgate, other tags missing)" \
		wait_until 5 gw_sees "$g" sx conflict
done
check "serf shows gw1's tags" eval \
	'serf_json s2 | jq -e "any(.members[]; .name == \"gw1\" and .tags.role == \"meshgate\" and .tags.cluster == \"cluster1\" and .tags.cluster_id == \"1\" and .tags.tunnel == \"$UL_NET.1\")" >/dev/null'

check "serf shows gw1's protocol versions as a serf agent's" eval \
	'[ "$(serf_json s2 | jq -c ".members[] | select(.name == \"gw1\") | .protocol")" = "$(serf_json s2 | jq -c ".members[] | select(.name == \"s1\") | .protocol")" ]'

# --- defect 1: the malformed member holds nothing up --------------------------
check "every gateway settles with sx in the pool" wait_until 10 all_settled
check "meshgate endpoints add 10.11.0.0/24 on gw1" mgctl 1 endpoints add 10.11.0.0/24
check "10.11.0.0/24 reaches gw2's and gw3's mg_ep4" \
	wait_until 5 ep_on 10.11.0.0/24 1 2 3
check "meshgate endpoints del 10.11.0.0/24 on gw1" mgctl 1 endpoints del 10.11.0.0/24
check "the delete leaves gw2's and gw3's mg_ep4 within 4 s (sx still in the pool)" \
	wait_until 4 ep_gone 10.11.0.0/24 2 3
check "sx is still a member" eval '[ "$(serf_status s1 sx)" = alive ]'

# --- defect 3: leave, restart, alive on serf ----------------------------------
log "meshgate leave on gw3, then its agent restarted"
check "meshgate leave answers" mgctl 3 leave
check "gw3's agent stops after leaving" wait_until 10 agent_gone 3
check "every serf agent shows gw3 left" serf_wait 10 gw3 left
start_agent 3 || exit 1
check "restarted gw3 is alive on every serf agent within 5 s" \
	serf_wait 5 gw3 alive
check "... and stays alive (no later leave intent wins)" eval \
	'sleep 3; every_serf_sees gw3 alive'
check "gw3 kept serf's clock across the restart" \
	test -s "$MGDIR/state-gw3/serf_clock"
check "gw1 lists gw3 alive again" wait_until 5 gw_sees 1 gw3 alive

# serf agents that missed a gateway's return still list it as left, and
# serf's push/pull turns that into a leave intent one past the gateway's
# status time ("LeftMembers"): a serf agent that had it alive goes to
# "leaving" and stays there, unless the gateway refutes it with a newer
# join intent, as a serf agent does.  s3 is cut off while gw3 leaves and
# comes back, then push/pulls with s1.
log "gw3 leaves and restarts again while s3 is cut off; then s3 push/pulls with s1"
check "meshgate leave on gw3 (again)" mgctl 3 leave
check "... its agent stops" wait_until 10 agent_gone 3
check "every serf agent shows gw3 left" serf_wait 10 gw3 left
nsx ul nft -f - <<NFT || exit 1
table inet mgs3 {
	chain in { type filter hook input priority 0; ip daddr $(serf_ip s3) drop; }
	chain out { type filter hook output priority 0; ip saddr $(serf_ip s3) drop; }
}
NFT
start_agent 3 || exit 1
check "restarted gw3 is alive on s1 and s2 within 5 s" wait_until 5 eval \
	'[ "$(serf_status s1 gw3)$(serf_status s2 gw3)" = alivealive ]'
sleep 3		# the gossip of gw3's return is over
nsx ul nft delete table inet mgs3
check "s3, cut off, still lists gw3 left" eval '[ "$(serf_status s3 gw3)" = left ]'
check "serf join s3 -> s1 (a push/pull)" nsx ul "$SERF" join \
	-rpc-addr "$(serf_rpc s3)" "$SEED" >/dev/null
check "gw3 is alive on every serf agent within 5 s of it" \
	serf_wait 5 gw3 alive
check "... and stays alive" eval 'sleep 3; every_serf_sees gw3 alive'

# serf's force-leave of a live member is a leave intent about it, which a
# live serf agent refutes with a newer join intent; so does a gateway.
log "serf force-leave gw3 while it is alive"
check "serf force-leave answers" nsx ul "$SERF" force-leave \
	-rpc-addr "$(serf_rpc s1)" gw3
check "gw3 refutes it: alive on every serf agent within 5 s" \
	serf_wait 5 gw3 alive
check "... and stays alive" eval 'sleep 2; every_serf_sees gw3 alive'
check "gw3 logged the refutation" \
	grep -q "refuting serf's leave intent" "$MGDIR/gw3.log"

# --- settling is bounded, and says what it waits for ------------------------
log "sy: a serf agent with all of meshgate's tags that never sends state"
start_serf sy -join "$SEED" -tag role=meshgate -tag cluster=cluster9 \
	-tag cluster_id=9 -tag "tunnel=$UL_NET.205" || exit 1
check "gw1 takes sy for a gateway" wait_until 10 gw_sees 1 sy alive
stop_agent 3
GOSSIP_EXTRA="settle_timeout = 10" write_gossip_config 3 3 "$SEED" >/dev/null
check "gw3 starts with settle_timeout = 10" start_agent 3
check "gw3's status: not settled, waiting for sy" wait_until 5 eval \
	'mgctl 3 -j status | jq -e ".settled == false and any(.settle_waiting[]; .name == \"sy\" and (.why | test(\"no state\")))" >/dev/null'
mgctl 3 status | grep settled | sed 's/^/    /'
check "... and not for gw1, gw2 (heard from) nor sx (refused)" eval \
	'! mgctl 3 -j status | jq -e "any(.settle_waiting[]?; .name == \"gw1\" or .name == \"gw2\" or .name == \"sx\")" >/dev/null'
check "gw3 settles after its settle_timeout (10 s) anyway" wait_until 15 settled 3
check "gw3 logged whom it settled without" \
	grep -q "settle_timeout: sy is alive but sent no state" "$MGDIR/gw3.log"

# --- serf's member states in `meshgate peers` ---------------------------------
# s2 stops answering and is force-left while memberlist still has it alive:
# serf shows it "leaving", then, when it fails, "left" (not "failed"); the
# gateways show what serf shows.  Then it comes back.
log "s2 frozen (SIGSTOP) and force-left from s1"
kill -STOP "$(cat "$MGDIR/serf-s2.pid")"
check "serf force-leave s2 answers" nsx ul "$SERF" force-leave \
	-rpc-addr "$(serf_rpc s1)" s2
check "s1 shows s2 left once it fails" wait_until 20 eval \
	'[ "$(serf_status s1 s2)" = left ]'
check "gw1's peers shows s2 left too, as serf does (not dead)" \
	wait_until 15 gw_sees 1 s2 left
kill -CONT "$(cat "$MGDIR/serf-s2.pid")"
# a left member is neither probed nor reconnected: s2 learns what became
# of it at its next push/pull, here at once
check "serf join s2 -> s1 (a push/pull)" nsx ul "$SERF" join \
	-rpc-addr "$(serf_rpc s2)" "$SEED" >/dev/null
check "s2 back: alive on s1 and on gw1" wait_until 10 eval \
	'[ "$(serf_status s1 s2)" = alive ] && gw_sees 1 s2 alive'

# --- defect 4: serf's logs ------------------------------------------------------
sleep 2		# a few more push/pulls and gossip rounds
for s in s1 s2 s3 sx; do
	f=$MGDIR/serf-$s.log
	log "serf $s: $(grep -c "\[ERR\] serf:" "$f") [ERR] serf: lines, $(grep -ci "unknown type" "$f") unknown types"
	check "serf $s logged no [ERR] serf: line" eval '! grep -q "\[ERR\] serf:" "$f"'
	check "serf $s logged no unknown message type" eval '! grep -qi "unknown type" "$f"'
done
check "serf s1 ran push/pulls with the gateways" \
	eval '[ "$(mgctl 1 -j status | jq .gossip_packets_in)" -gt 0 ]'

summary
