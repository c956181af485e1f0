#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# e2e: alone (its flood loads both CPUs, and it times the CLI under it)
#
# A hostile peer against one agent (issue 9, item 10): three gateways in
# one mesh, gw1 the seed; from gw3's underlay address mgpeer floods gw1
# with, at once:
#
#   - 24 connections trickling a push/pull of 65,536 fake members a few
#     bytes at a time (the agent takes 32 inbound streams at once);
#   - three push/pulls of 65,536 fake members (plaintext, no key: refused
#     at their header, more than a push/pull may carry) and three of 8,000
#     (taken, past the member table's bound: refused one by one);
#   - ten TCP streams and ten datagrams each an LZW bomb (32 MiB of zeros
#     in about 50 KB);
#
# and meanwhile gw2 is killed.  gw1 must keep answering its CLI (`meshgate
# status`, sampled every 0.2 s: every call answered), still see gw2 die,
# and keep its peak RSS (VmHWM) below 64 MiB.
# The peak RSS and the CLI's p99 latency are printed for the bench
# (gossip_flood_rss_mib, gossip_flood_cli_ms); no assertion on time.
# Beside the CLI, in the same run, two samplers split its time: the agent's
# own answer on the control socket from one persistent client
# (gossip_flood_ctl_ms, ctl_rtt.py: no process started) and the start of a
# CLI process that does not call the agent (gossip_flood_cli_start_ms:
# nsenter + `meshgate --version`).  With --json FILE (make bench) the
# figures are also written there.
set -u
JSON=
[ "${1:-}" = --json ] && JSON=$2
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
MGPEER=${MGPEER:-$BUILD/tests/bench/mgpeer}
SEED=$UL_NET.1
RSS_MAX_KIB=$((64 * 1024))
T_PASS=0 T_FAIL=0

if [ ! -x "$MGPEER" ]; then
	echo "FAIL: $MGPEER missing (make test builds it)"
	exit 1
fi

log "topology: clusters 1, 2, 3, one gateway each, gw1 the seed"
topo_underlay && topo_cluster 1 && topo_cluster 2 && topo_cluster 3 || exit 1
for g in 1 2 3; do write_gossip_config "$g" "$g" "$SEED" >/dev/null; done
for g in 1 2 3; do start_agent "$g" || exit 1; done
check "gw1 sees gw2 and gw3 alive" wait_until 15 all_alive 1 "2 3"
pid=$(cat "$MGDIR/gw1.pid")

# The CLI, sampled until the flood is over: "ok MS" or "fail MS" a line.
sample_cli() {
	local s e
	while [ -f "$MGDIR/sampling" ]; do
		s=$(date +%s%N)
		if mgctl 1 status >/dev/null 2>&1; then r=ok; else r=fail; fi
		e=$(date +%s%N)
		echo "$r $(((e - s) / 1000000))"
		sleep 0.2
	done >"$MGDIR/cli.lat"
}
# The start of a CLI process alone, the same way (nsenter + exec).
sample_start() {
	local s e
	while [ -f "$MGDIR/sampling" ]; do
		s=$(date +%s%N)
		nsnet gw1 "$MESHGATE" --version >/dev/null 2>&1
		e=$(date +%s%N)
		echo "ok $(((e - s) / 1000000))"
		sleep 0.2
	done >"$MGDIR/start.lat"
}
touch "$MGDIR/sampling"
sample_cli &
sampler=$!
sample_start &
starter=$!
python3 "$(dirname "$0")/ctl_rtt.py" "$MGDIR/gw1.sock" "$MGDIR/sampling" \
	>"$MGDIR/ctl.lat" 2>&1 &
rtt=$!

log "flood: trickles, push/pulls of 65,536 members, LZW bombs"
nsnet_bg gw3 "$MGPEER" -F trickle:24 -d 20 -j "$SEED" >"$MGDIR/trickle.out" 2>&1
trickler=$!
nsnet gw3 "$MGPEER" -F pushpull:3 -j "$SEED"
nsnet gw3 "$MGPEER" -F pushpull:3:8000 -j "$SEED"
nsnet gw3 "$MGPEER" -F bomb:10 -j "$SEED"

log "gw2 killed during the flood"
kill -9 "$(cat "$MGDIR/gw2.pid")"
killed=$(date +%s%N)
gone() { case $(peer_state 1 2) in dead|left) return 0 ;; esac; return 1; }
check "gw1 sees gw2 dead under the flood" wait_until 30 gone ||
	{ mgctl 1 peers; grep -a "gw2" "$MGDIR/gw1.log" | tail -20; }
detect_ms=$((($(date +%s%N) - killed) / 1000000))

wait "$trickler"
cat "$MGDIR/trickle.out"
rm -f "$MGDIR/sampling"
wait "$sampler" "$starter" "$rtt"

check "gw1's agent lives" kill -0 "$pid"
check "the flood reached gw1: its member table filled and refused the rest" \
	grep -q "member table full" "$MGDIR/gw1.log"
check "gw1 still sees gw3 alive" wait_until 10 all_alive 1 3
n=$(wc -l <"$MGDIR/cli.lat")
check "the CLI answered all $n calls during the flood" \
	eval '[ "$n" -gt 0 ] && ! grep -q "^fail" "$MGDIR/cli.lat"'
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
check "peak RSS bounded: VmHWM ${hwm:-?} KiB < $RSS_MAX_KIB KiB" \
	eval '[ "${hwm:-999999999}" -lt "$RSS_MAX_KIB" ]'
check "the agent answered all its control socket calls during the flood" \
	eval '[ -s "$MGDIR/ctl.lat" ] && ! grep -qv "^ok" "$MGDIR/ctl.lat"'
# p99 and p50 of a sample file's MS column ("?" when empty)
pct() {
	awk '{ print $2 }' "$1" | sort -n | awk -v q="$2" '{ v[NR] = $1 }
		END { i = int(NR * q); if (i < 1) i = 1; print (NR ? v[i] : "?") }'
}
p99=$(pct "$MGDIR/cli.lat" 0.99)
ctl99=$(pct "$MGDIR/ctl.lat" 0.99) start99=$(pct "$MGDIR/start.lat" 0.99)
echo "gossip_flood_rss_mib=$(( ${hwm:-0} / 1024 )) gossip_flood_cli_ms=${p99:-?} (p99 of $n calls, each an nsenter and a CLI process) gossip_flood_detect_ms=$detect_ms"
echo "  beside it: gossip_flood_ctl_ms=$ctl99 (p99 of $(wc -l <"$MGDIR/ctl.lat") calls from one client, no process)" \
	"gossip_flood_cli_start_ms=$start99 (p99 of $(wc -l <"$MGDIR/start.lat") nsenter + meshgate --version)"
echo "  p50: cli $(pct "$MGDIR/cli.lat" 0.5) ctl $(pct "$MGDIR/ctl.lat" 0.5) start $(pct "$MGDIR/start.lat" 0.5) ms; load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$JSON" ]; then
	num() { case $1 in '' | *[!0-9]*) echo null ;; *) echo "$1" ;; esac; }
	printf '{"gossip_flood_rss_mib": %s, "gossip_flood_cli_ms": %s, "gossip_flood_ctl_ms": %s, "gossip_flood_cli_start_ms": %s, "gossip_flood_detect_ms": %s}\n' \
		"$(num $(( ${hwm:-0} / 1024 )))" "$(num "$p99")" "$(num "$ctl99")" \
		"$(num "$start99")" "$(num "$detect_ms")" >"$JSON"
fi
summary
