#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Key rotation and serf's events across a mixed pool (issue 10 item 9,
# issue 16 "what to build"): two stock serf agents s1, s3 and two meshgate
# gateways gw1, gw2, gossip encrypted with key K1.
#
#   - `serf keys -install K2 | -use K2 | -remove K1` report 4/4 success:
#     the gateways answer serf's internal key queries; the pool keeps
#     working (every member alive, the gateways still exchange endpoints);
#     `serf keys -list` shows the key on 4/4;
#   - `meshgate keys mesh install|use|remove|list` rotates the same pool
#     (serf agents included) with serf's 4/4 tally;
#   - serf's queries are acked by the gateways (node filters honoured);
#   - a serf user event from s1 reaches s3, and s3's ack of a query from s1
#     comes back relayed (serf's -relay-factor), when the only path between
#     them goes through the gateways (s1 <-> s3 cut with nftables): the
#     gateways relay serf's events as serf agents do.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SERF=${SERF:-serf}
command -v "$SERF" >/dev/null || { echo "FAIL: serf not installed (make deps)"; exit 1; }
command -v jq >/dev/null || { echo "FAIL: jq not installed (make deps)"; exit 1; }
command -v nft >/dev/null || { echo "FAIL: nft not installed (make deps)"; exit 1; }

GWS="1 2"
SEED=$UL_NET.201
K1=$("$MESHGATE" keygen)
K2=$("$MESHGATE" keygen)
K3=$("$MESHGATE" keygen)
SERF_N="s1:1 s3:3"
serf_n() { local e; for e in $SERF_N; do [ "${e%:*}" = "$1" ] && echo "${e#*:}"; done; }
serf_ip() { echo "$UL_NET.$((200 + $(serf_n "$1")))"; }
serf_rpc() { echo "127.0.0.1:$((7380 + $(serf_n "$1")))"; }
start_serf() {
	local name=$1; shift
	nsx ul ip addr add "$(serf_ip "$name")/24" dev br0
	nsx_bg ul "$SERF" agent -node "$name" -bind "$(serf_ip "$name"):7946" \
		-rpc-addr "$(serf_rpc "$name")" -log-level info \
		-encrypt "$K1" "$@" >"$MGDIR/serf-$name.log" 2>&1
	echo $! >"$MGDIR/serf-$name.pid"
	wait_until 10 serf_up "$name"
}
serf_up() { nsx ul "$SERF" members -rpc-addr "$(serf_rpc "$1")" >/dev/null 2>&1; }
serf_status() {
	nsx ul "$SERF" members -rpc-addr "$(serf_rpc "$1")" -format json 2>/dev/null |
		jq -r --arg n "$2" '.members[] | select(.name == $n) | .status' 2>/dev/null
}
# serf_keys SERF ARGS...: `serf keys` on that agent, its output in $MGDIR/keys.out
serf_keys() {
	local s=$1; shift
	nsx ul "$SERF" keys -rpc-addr "$(serf_rpc "$s")" "$@" >"$MGDIR/keys.out" 2>&1
	local rc=$?
	sed 's/^/    /' "$MGDIR/keys.out"
	return $rc
}
gw_sees() {
	[ "$(mgctl "$1" -j peers 2>/dev/null | jq -r --arg n "$2" \
		'.[] | select(.name == $n) | .state' 2>/dev/null)" = "$3" ]
}
pool_alive() {	# every serf agent lists every member alive, and so do gateways
	local s m
	for s in s1 s3; do
		for m in s1 s3 gw1 gw2; do
			[ "$(serf_status "$s" "$m")" = alive ] || return 1
		done
	done
	for s in $GWS; do
		for m in s1 s3 gw1 gw2; do
			[ "$m" = "gw$s" ] || gw_sees "$s" "$m" alive || return 1
		done
	done
}
EP_N=10
# endpoints_flow: a new endpoint on gw1 reaches gw2's maps
endpoints_flow() {
	EP_N=$((EP_N + 1))
	mgctl 1 endpoints add "10.$EP_N.0.0/24" >/dev/null &&
		wait_until 5 ep4_has 2 "10.$EP_N.0.0/24" 1
}
gw_keys() {	# NAME: its keyring, one "KEY primary?" line each, sorted
	mgctl "$1" -j keys | jq -r '.[] | "\(.key) \(.primary)"' | sort
}
# mg_keys NAME ARGS...: `meshgate keys mesh ...` on gateway NAME
mg_keys() {
	local n=$1; shift
	mgctl "$n" keys mesh "$@" >"$MGDIR/keys.out" 2>&1
	local rc=$?
	sed 's/^/    /' "$MGDIR/keys.out"
	return $rc
}

log "topology: underlay, clusters 1, 2; serf agents s1, s3 and gateways gw1, gw2 (key K1)"
topo_underlay && topo_cluster 1 0 && topo_cluster 2 0 || exit 1
start_serf s1 || { log "serf did not start"; cat "$MGDIR/serf-s1.log"; exit 1; }
start_serf s3 -join "$SEED" || exit 1
for g in $GWS; do write_gossip_config "$g" "$g" "$SEED" "$K1" >/dev/null; done
for g in $GWS; do start_agent "$g" || exit 1; done
check "the pool: every member alive everywhere" wait_until 15 pool_alive
check "gw1's endpoint reaches gw2" endpoints_flow

# --- serf's key queries answered by the gateways -----------------------------
log "serf keys -install K2 (from s1)"
check "serf keys -install: no failure" serf_keys s1 -install "$K2"
check "... and no '/4 nodes reported success' shortfall" eval '! grep -q "nodes reported" "$MGDIR/keys.out"'
check "gw1 and gw2 hold K2 (not primary)" eval \
	'gw_keys 1 | grep -qx "$K2 false" && gw_keys 2 | grep -qx "$K2 false"'
check "gw2 saved it (keyring file)" grep -qx "$K2" "$MGDIR/state-gw2/keyring"
check "serf keys -list: K1 and K2 on 4/4" eval \
	'serf_keys s3 -list && grep -q "$K1 *\[4/4\]" "$MGDIR/keys.out" && grep -q "$K2 *\[4/4\]" "$MGDIR/keys.out"'
check "serf keys -use K2: no failure" serf_keys s1 -use "$K2"
check "gw1 and gw2 use K2" eval \
	'gw_keys 1 | grep -qx "$K2 true" && gw_keys 2 | grep -qx "$K2 true"'
check "serf keys -remove K1: no failure" serf_keys s3 -remove "$K1"
check "gw1 and gw2 dropped K1" eval \
	'! gw_keys 1 | grep -q "$K1" && ! gw_keys 2 | grep -q "$K1"'
check "serf keys -list: only K2, on 4/4" eval \
	'serf_keys s1 -list && grep -q "$K2 *\[4/4\]" "$MGDIR/keys.out" && ! grep -q "$K1" "$MGDIR/keys.out"'
check "the pool keeps working: every member alive" wait_until 10 pool_alive
check "... and gw1's new endpoint reaches gw2" endpoints_flow

# --- meshgate keys mesh: the same rotation from a gateway --------------------
log "meshgate keys mesh install/use/remove from gw2"
check "meshgate keys mesh install K3: 4/4" eval \
	'mg_keys 2 install "$K3" && grep -q "4/4 nodes reported success" "$MGDIR/keys.out"'
check "meshgate keys mesh list: K3 on 4/4" eval \
	'mg_keys 1 list && grep -q "$K3 \[4" "$MGDIR/keys.out" && grep -q "4/4 nodes reported success" "$MGDIR/keys.out"'
check "serf keys -list agrees: K3 on 4/4" eval \
	'serf_keys s1 -list && grep -q "$K3 *\[4/4\]" "$MGDIR/keys.out"'
check "meshgate keys mesh use K3: 4/4" eval \
	'mg_keys 2 use "$K3" && grep -q "4/4 nodes reported success" "$MGDIR/keys.out"'
check "meshgate keys mesh remove K2: 4/4" eval \
	'mg_keys 1 remove "$K2" && grep -q "4/4 nodes reported success" "$MGDIR/keys.out"'
check "serf keys -list: only K3, on 4/4" eval \
	'serf_keys s3 -list && grep -q "$K3 *\[4/4\]" "$MGDIR/keys.out" && ! grep -q "$K2" "$MGDIR/keys.out"'
check "meshgate keys mesh use of a key nobody has: failures named" eval \
	'! mg_keys 1 use "$K1" && grep -q "0/4 nodes reported success" "$MGDIR/keys.out" && grep -q "s1: Requested key is not in the keyring" "$MGDIR/keys.out" && grep -q "gw2: Requested key is not in the keyring" "$MGDIR/keys.out"'
check "meshgate keys mesh rem (not in full) is refused" eval \
	'! mgctl 1 keys mesh rem "$K3" 2>/dev/null'
check "meshgate keys me (not in full) is refused" eval \
	'! mgctl 1 keys me list 2>/dev/null'
check "the pool keeps working after both rotations" wait_until 10 pool_alive
check "... and gw2's endpoints still reach gw1" endpoints_flow

# --- serf's queries acked by the gateways (serf query asks for acks) ------
acks() {	# ARGS...: `serf query` from s1, its "Total Acks" count
	nsx ul "$SERF" query -rpc-addr "$(serf_rpc s1)" -timeout 2s "$@" mgq 2>/dev/null |
		sed -n 's/^Total Acks: //p'
}
check "serf query: 4 acks (the gateways ack as serf agents do)" eval \
	'[ "$(acks)" = 4 ]'
check "serf query -node s3 -node gw1: 2 acks (a node filter)" eval \
	'[ "$(acks -node s3 -node gw1)" = 2 ]'

# --- serf's user events relayed by the gateways ------------------------------
# Both serf agents live in the underlay namespace: what one sends the other
# goes over lo, its source address whichever the local route picks (TCP
# from s1 to s3 leaves from s3's own address).  So everything local to s1's
# and s3's addresses is cut; the gateways' packets come in on br0.
log "s1 <-> s3 cut (nftables): they hear each other only through the gateways"
nsx ul nft -f - <<NFT || exit 1
table inet mgcut {
	chain in {
		type filter hook input priority 0;
		iifname "lo" ip daddr { $(serf_ip s1), $(serf_ip s3) } drop;
	}
}
NFT
check "the cut holds: serf join s3 -> s1 fails" eval \
	'! nsx ul "$SERF" join -rpc-addr "$(serf_rpc s3)" "$SEED" >/dev/null 2>&1'
EV=mgev$$
check "serf event $EV sent from s1" nsx ul "$SERF" event \
	-rpc-addr "$(serf_rpc s1)" "$EV" hello
check "s3 received $EV through a gateway" wait_until 10 \
	grep -q "Received event: user-event: $EV" "$MGDIR/serf-s3.log"
check "s3 received it once" eval \
	'[ "$(grep -c "Received event: user-event: $EV" "$MGDIR/serf-s3.log")" = 1 ]'
# serf's relay factor: s3's ack cannot reach s1 directly; relayed through
# members s3 picks (with 3 it picks all: s1, gw1, gw2), the gateways pass it on
check "serf query -relay-factor 3 from s1, s1-s3 cut: s3's ack relayed by a gateway (4 acks)" \
	eval '[ "$(acks -relay-factor 3)" = 4 ]'
nsx ul nft delete table inet mgcut

# the deliberate use of a key nobody has aside
serf_errs() {
	grep "\[ERR\] serf:" "$MGDIR/serf-$1.log" |
		grep -v "Failed to change primary key: Requested key is not in the keyring"
}
for s in s1 s3; do
	serf_errs "$s" | sed "s/^/    $s: /"
	check "serf $s logged no other [ERR] serf: line" eval '[ -z "$(serf_errs "$s")" ]'
done
summary
