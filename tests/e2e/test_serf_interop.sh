#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The membership engine against a stock serf agent (serf 0.9.4, memberlist
# 0.2.2) on loopback, through build/tests/bench/mgpeer: joins either way,
# tags, failure detection both ways, graceful leaves both ways, encryption
# with the right key, and refusal with a wrong key or none.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
trap topo_cleanup EXIT

BUILD=${BUILD:-$here/../../build}
MGPEER=${MGPEER:-$BUILD/tests/bench/mgpeer}
SERF=${SERF:-serf}
PORT=${PORT:-$((20000 + RANDOM % 20000))}
RPC=$((PORT + 1))

# make deps installs serf and make test builds mgpeer: either missing is a
# failure of the set-up, not a reason to skip.
command -v "$SERF" >/dev/null || { echo "FAIL: serf not installed (make deps)"; exit 1; }
[ -x "$MGPEER" ] || { echo "FAIL: $MGPEER not built (make test builds it)"; exit 1; }

# start_serf NAME IP [serf agent args...]
start_serf() {
	local name=$1 ip=$2; shift 2
	"$SERF" agent -node "$name" -bind "$ip:$PORT" -rpc-addr "$ip:$RPC" \
		-tag "cluster=serf-$name" -log-level debug "$@" \
		>"$MGDIR/$name.log" 2>&1 &
	echo $! >"$MGDIR/$name.pid"
	wait_for 10 serf_up "$ip"
}
serf_up() { "$SERF" members -rpc-addr "$1:$RPC" >/dev/null 2>&1; }

# start_mg NAME IP [mgpeer args...]
start_mg() {
	local name=$1 ip=$2; shift 2
	"$MGPEER" -n "$name" -b "$ip:$PORT" -t "cluster=mesh-$name" \
		-t "tunnel=$ip" "$@" >"$MGDIR/$name.out" 2>"$MGDIR/$name.err" &
	echo $! >"$MGDIR/$name.pid"
	wait_for 5 grep -qs "^ready" "$MGDIR/$name.out"
}

pid_of() { cat "$MGDIR/$1.pid"; }
kill9() { kill -9 "$(pid_of "$1")" 2>/dev/null; rm -f "$MGDIR/$1.pid"; }

# wait_for SECONDS CMD...: poll every 0.2 s, bounded
wait_for() {
	local n=$(($1 * 5)); shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# serf_state SERF_IP MEMBER: alive / failed / left / leaving / ""
serf_state() {
	"$SERF" members -rpc-addr "$1:$RPC" 2>/dev/null |
		awk -v n="$2" '$1 == n { print $3 }'
}
serf_is() { [ "$(serf_state "$1" "$2")" = "$3" ]; }
serf_tags() {
	"$SERF" members -rpc-addr "$1:$RPC" 2>/dev/null |
		awk -v n="$2" '$1 == n { print $4 }'
}

# mg_json NAME: the member table mgpeer prints on SIGUSR1
mg_json() {
	local before after i
	before=$(grep -c '^{' "$MGDIR/$1.out")
	kill -USR1 "$(pid_of "$1")" 2>/dev/null || return 1
	for i in $(seq 1 25); do
		after=$(grep -c '^{' "$MGDIR/$1.out")
		[ "$after" -gt "$before" ] && break
		sleep 0.1
	done
	grep '^{' "$MGDIR/$1.out" | tail -1
}
# mg_state NAME MEMBER
mg_state() {
	mg_json "$1" | grep -o "{\"name\":\"$2\",[^{]*" |
		sed 's/.*"state":"\([a-z]*\)".*/\1/'
}
mg_is() { [ "$(mg_state "$1" "$2")" = "$3" ]; }
mg_stat() {
	mg_json "$1" | grep -o "\"$2\":[0-9]*" | cut -d: -f2
}
mg_tag() {
	mg_json "$1" | grep -o "{\"name\":\"$2\",[^}]*}" |
		grep -o "\"$3\":\"[^\"]*\"" | cut -d'"' -f4
}
mg_alive_count() { mg_json "$1" | grep -o '"state":"alive"' | wc -l; }

# elapsed SINCE_NS
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

log "plaintext: serf s1 (127.0.0.21), mgpeer m1 joins it, serf s2 joins m1 (port $PORT)"
start_serf s1 127.0.0.21 || { log "serf did not start"; cat "$MGDIR/s1.log"; exit 1; }
start_mg m1 127.0.0.22 -j "127.0.0.21:$PORT"
check "mgpeer joins serf (push/pull answered)" wait_for 10 grep -q "^joined 1/1" "$MGDIR/m1.out"
check "serf lists mgpeer alive" wait_for 10 serf_is 127.0.0.21 m1 alive
check "serf shows mgpeer's tags" \
	wait_for 5 eval '[[ $(serf_tags 127.0.0.21 m1) == *cluster=mesh-m1* && $(serf_tags 127.0.0.21 m1) == *tunnel=127.0.0.22* ]]'
check "mgpeer lists serf alive" wait_for 5 mg_is m1 s1 alive
check "mgpeer reads serf's tags" eval '[ "$(mg_tag m1 s1 cluster)" = serf-s1 ]'

start_serf s2 127.0.0.23 -join "127.0.0.22:$PORT"
check "serf joins through mgpeer" wait_for 10 serf_is 127.0.0.23 m1 alive
check "serf s2 learns s1 through mgpeer's push/pull" wait_for 10 serf_is 127.0.0.23 s1 alive
check "mgpeer lists the serf that joined it" wait_for 10 mg_is m1 s2 alive
check "s1 learns s2 (gossip through the cluster)" wait_for 10 serf_is 127.0.0.21 s2 alive

sleep 3
check "no false suspicion while healthy" eval '[ "$(mg_stat m1 suspects)" = 0 ]'
check "mgpeer's probes are acked" eval '[ "$(mg_stat m1 acks_recv)" -gt 0 ]'

log "SIGKILL of serf s2"
t0=$(date +%s%N)
kill9 s2
if wait_for 15 mg_is m1 s2 dead; then
	t=$(ms_since "$t0")
	log "mgpeer marked s2 dead after $t ms"
	check "mgpeer marks a killed serf dead within ~10 s" [ "$t" -le 10500 ]
else
	check "mgpeer marks a killed serf dead within ~10 s" false
fi
check "serf s1 agrees: s2 failed" wait_for 10 serf_is 127.0.0.21 s2 failed

log "serf s3 joins m1, then leaves gracefully"
start_serf s3 127.0.0.24 -join "127.0.0.22:$PORT"
check "mgpeer lists s3 alive" wait_for 10 mg_is m1 s3 alive
"$SERF" leave -rpc-addr "127.0.0.24:$RPC" >/dev/null 2>&1
check "serf leave -> mgpeer shows left" wait_for 10 mg_is m1 s3 left
rm -f "$MGDIR/s3.pid"

log "graceful leave of mgpeer m1 (SIGTERM)"
kill -TERM "$(pid_of m1)"
check "mgpeer's leave broadcast went out" wait_for 10 grep -q "^left ok" "$MGDIR/m1.out"
check "serf shows mgpeer left" wait_for 10 serf_is 127.0.0.21 m1 left

log "mgpeer m2 joins, then is SIGKILLed"
start_mg m2 127.0.0.25 -j "127.0.0.21:$PORT"
check "serf lists m2 alive" wait_for 10 serf_is 127.0.0.21 m2 alive
sleep 2
t0=$(date +%s%N)
kill9 m2
# s1's table holds 5 members by now (k = 2, no confirmer): up to 6 x 4 s
if wait_for 40 serf_is 127.0.0.21 m2 failed; then
	log "serf marked m2 failed after $(ms_since "$t0") ms"
	check "serf shows a killed mgpeer failed" true
else
	check "serf shows a killed mgpeer failed" false
fi
check "serf never saw a bad packet from us" \
	eval '! grep -qi "failed to decode\|unknown message type\|checksum\|incompatible\|error" "$MGDIR/s1.log"'

log "encrypted: serf s4 -encrypt, mgpeer m3 with the key, m4 with another"
KEY=$("$SERF" keygen)
KEY2=$("$SERF" keygen)
start_serf s4 127.0.0.31 -encrypt "$KEY"
start_mg m3 127.0.0.32 -k "$KEY" -j "127.0.0.31:$PORT"
check "encrypted: mgpeer joins serf" wait_for 10 grep -q "^joined 1/1" "$MGDIR/m3.out"
check "encrypted: serf lists mgpeer alive with tags" \
	wait_for 10 eval '[ "$(serf_state 127.0.0.31 m3)" = alive ] && [[ $(serf_tags 127.0.0.31 m3) == *cluster=mesh-m3* ]]'
check "encrypted: mgpeer lists serf alive" wait_for 5 mg_is m3 s4 alive
sleep 3
check "encrypted: probes both ways keep everyone alive" \
	eval 'serf_is 127.0.0.31 m3 alive && mg_is m3 s4 alive && [ "$(mg_stat m3 acks_recv)" -gt 0 ]'
check "encrypted: nothing undecryptable between the right keys" \
	eval '[ "$(mg_stat m3 decrypt_failed)" = 0 ] && [ "$(mg_stat m3 decode_errors)" = 0 ]'

start_mg m4 127.0.0.33 -k "$KEY2" -j "127.0.0.31:$PORT"
check "wrong key: mgpeer cannot join" wait_for 10 grep -q "^joined 0/1" "$MGDIR/m4.out"
"$SERF" join -rpc-addr "127.0.0.31:$RPC" "127.0.0.33:$PORT" >/dev/null 2>&1
check "wrong key: serf's traffic counted as undecryptable" \
	wait_for 5 eval '[ "$(mg_stat m4 decrypt_failed)" -gt 0 ]'
check "wrong key: mgpeer lists only itself" eval '[ "$(mg_alive_count m4)" = 1 ]'
check "wrong key: serf does not list it" eval '[ -z "$(serf_state 127.0.0.31 m4)" ]'

"$SERF" join -rpc-addr "127.0.0.21:$RPC" "127.0.0.32:$PORT" >/dev/null 2>&1
check "plaintext serf towards a keyed mgpeer: rejected and counted" \
	wait_for 5 eval '[ "$(mg_stat m3 plaintext_rejected)" -gt 0 ]'
check "keyed mgpeer did not take the plaintext member" \
	eval '[ -z "$(mg_state m3 s1)" ]'

summary
