#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The agent's memory at a million remote prefixes (issue 9: under 64 MiB):
# two agents in one network namespace ($MGP-rss), gossiping over loopback.
#
#   agent 2   exports the routes of table 100 ([cluster] route_table):
#             RSS_EPS (1,000,000) prefixes, added before it starts, so
#             that it reads them in one dump
#   agent 1   learns them from agent 2 by gossip; its RSS is the figure
#
# IPv4: /24s from 64.0.0.0 up (a /24 each, as pod CIDRs of nodes are);
# with RSS_FAMILY=6, /64s of 2001:db8::/32 instead (figures *_1m6).
# Both agents' maps are sized for them ([limits] endpoints).
#
# Figures: agent_rss_mib_1m (agent 1's VmRSS once its maps hold every
# prefix: the median of one sample a second over RSS_SETTLE seconds, with
# _min and _max), agent_hwm_mib_1m (its peak, VmHWM), agent_rss_mib_1m_exporter, gossip_1m_converge_ms (from agent 2's
# start until agent 1's mg_ep4 holds a sample of the prefixes, first and
# last included).
#
# usage: rss1m.sh [OUT.json]   (root)
# env:   RSS_EPS=1000000 RSS_FAMILY=4 RSS_SETTLE=30 (seconds sampled after arrival)

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../e2e/lib.sh"
BUILD=${BUILD:-$(cd "$HERE/../.." && pwd)/build}
BG=${BENCH_GOSSIP:-$BUILD/tests/bench/bench_gossip}

OUT=${1:-}
EPS=${RSS_EPS:-1000000}
FAM=${RSS_FAMILY:-4}
SETTLE=${RSS_SETTLE:-30}
SUFFIX=1m
[ "$FAM" = 6 ] && SUFFIX=1m6
[ "$EPS" -ne 1000000 ] && SUFFIX="$((EPS / 1000))k$([ "$FAM" = 6 ] && echo 6)"
PINS="/sys/fs/bpf/$MGP-a%d"

cleanup() {
	local f pids=
	for f in "$MGDIR"/a*.pid; do [ -f "$f" ] && pids="$pids $(cat "$f")"; done
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	topo_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { log "rss1m: $*" >&2; exit 1; }
FIG=()
fig() { FIG+=("\"$1\": $2"); log "  $1 = $2"; }
pin() { printf "$PINS" "$1"; }

agent_config() {
	local k=$1 extra=
	[ "$k" -eq 2 ] && extra="route_table = 100"
	cat >"$MGDIR/a$k.conf" <<CONF
[agent]
pin_dir = $(pin "$k")
log_level = ${MG_LOG_LEVEL:-warn}
state_dir = $MGDIR/state-a$k
control_socket = $MGDIR/a$k.sock

[cluster]
name = c$k
id = $k
cidr = 10.$k.0.0/16
$extra

[gateway]
name = a$k
tunnel_address = 100.64.$k.1
cluster_interface = d$k
xdp_mode = generic
nexthop = fib
host_device = none

[gossip]
bind_address = 127.0.1.$k
seed = 127.0.1.1
echo_interval = 0

[limits]
endpoints = $((EPS + EPS / 16 + 1024))
CONF
}

agent_start() {
	local k=$1 i
	nsx rss ip link add "d$k" type veth peer name "e$k" || return 1
	nsx rss ip link set "e$k" up
	nsx rss ip link set "d$k" up
	nsx rss ip addr add "100.64.$k.1/32" dev "d$k"
	agent_config "$k"
	(nsnet_bg rss "$MESHGATE" agent -c "$MGDIR/a$k.conf" \
		>>"$MGDIR/a$k.log" 2>&1; echo $! >"$MGDIR/a$k.pid")
	for i in $(seq 1 600); do
		[ -e "$(pin "$k")/mg_clus" ] && [ -S "$MGDIR/a$k.sock" ] && return 0
		kill -0 "$(cat "$MGDIR/a$k.pid")" 2>/dev/null ||
			{ tail -5 "$MGDIR/a$k.log" >&2; return 1; }
		sleep 0.1
	done
	return 1
}

status_kib() { awk -v k="$2" '$1 == k ":" { print $2 }' "/proc/$(cat "$MGDIR/a$1.pid")/status"; }
mib() { awk -v v="$1" 'BEGIN { printf "%.1f", v / 1024 }'; }

# The I-th prefix (0-based) of the exported set.
pfx_awk='function pfx(i) {
	if (fam == 6)
		return sprintf("2001:db8:%x:%x::/64", int(i / 65536), i % 65536)
	return sprintf("%d.%d.%d.0/24", 64 + int(i / 65536), int(i / 256) % 256, i % 256)
}'

routes() {
	awk -v n="$EPS" -v fam="$FAM" "$pfx_awk"'
	BEGIN { for (i = 0; i < n; i++) printf "route add %s dev lo table 100\n", pfx(i) }' |
		nsx rss ip "-$FAM" -batch -
}

sample() {
	awk -v n="$EPS" -v fam="$FAM" "$pfx_awk"'
	BEGIN { for (j = 0; j < 16; j++) print pfx(int((n - 1) * j / 15)) }'
}

[ -x "$BG" ] || die "$BG not built"
[ -x "$MESHGATE" ] || die "$MESHGATE not built"
new_ns rss || die "cannot create the namespace"
log "rss1m: $EPS IPv$FAM routes in table 100"
routes || die "routes"
agent_start 1 || die "agent 1 did not start"
t0=$(date +%s.%N)
agent_start 2 || die "agent 2 did not start"
log "rss1m: agent 2 exports them; waiting for agent 1's maps"
"$BG" has -n 2 -P "$PINS" -t 600000 $(sample) >/dev/null ||
	die "the prefixes did not reach agent 1"
fig "gossip_${SUFFIX}_converge_ms" \
	"$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", 1000 * (b - a) }')"
# Once a second for RSS_SETTLE s: the view is rebuilt now and then (a
# suspicion, a refutation), each rebuild holding its arrays for a moment.
for i in $(seq 1 "$SETTLE"); do status_kib 1 VmRSS; sleep 1; done | sort -n >"$MGDIR/rss"
fig "agent_rss_mib_$SUFFIX" "$(mib "$(awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' "$MGDIR/rss")")"
fig "agent_rss_mib_${SUFFIX}_min" "$(mib "$(head -1 "$MGDIR/rss")")"
fig "agent_rss_mib_${SUFFIX}_max" "$(mib "$(tail -1 "$MGDIR/rss")")"
fig "agent_hwm_mib_$SUFFIX" "$(mib "$(status_kib 1 VmHWM)")"
fig "agent_rss_mib_${SUFFIX}_exporter" "$(mib "$(status_kib 2 VmRSS)")"
grep -iE "error|warn" "$MGDIR/a1.log" | head -5

if [ -n "$OUT" ]; then
	(IFS=,; echo "{${FIG[*]}}") >"$OUT"
fi
