#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Gossip benchmark (DESIGN §7): N real agents in one network namespace
# ($MGP-bench), gossiping over loopback, each on its own address.
#
#   agent K (1..N)  gossip  127.0.1.K:7946, seed agent 1, profile lan
#                   cluster cK, id K (1..255), cidr 10.K.0.0/16
#                   datapath on veth dK (generic XDP; peer eK), tunnel
#                   address 100.64.K.1, nexthop = fib (no resolution work)
#                   pins /sys/fs/bpf/$MGP-aK, state and socket in $MGDIR
#   agent 2         also exports the routes of table 100 ([cluster]
#                   route_table): 1k /29s in 172.16.0.0/12 from the start,
#                   100k for the endpoint-scaling phase
#
# Phases (bench_gossip does the timing; see its header):
#   1. agents 1..16: convergence of endpoint changes at agent 1 (CHANGES
#      of them, add/del alternately, until every agent's mg_ep4 agrees);
#      gossip bytes idle and under churn; FAILOVERS_SMALL failovers (as
#      below); RSS.
#   2. for each further size in GOSSIP_N (64, then 255 ...), agents join up
#      to it: the same there; then FAILOVERS times SIGKILL of one agent
#      until every other one's mg_clus has withdrawn its cluster (the
#      killed agent restarts between rounds).
#   3. back to 16 agents (the others leave gracefully); agent 2's table grows
#      to 100k routes: time until every agent has them, RSS of a receiver,
#      bytes idle and under churn again.
#
# CPU: each phase also reports how busy the machine was (all its CPUs,
# from /proc/stat) beside the agents' own share: a figure taken on a
# saturated machine measures the machine (timers run late), not the
# protocol.  tests/sim/gossip_model.py computes the protocol's own figures.
#
# Bytes: nftables counters in the namespace's output hook on everything
# to or from port 7946 (UDP and TCP, IP headers included), over WINDOW
# seconds, divided by the number of agents: bytes each agent sends per
# second (on average, as much as it receives).  Churn: CHURN_RATE endpoint
# changes a second at agent 1.
#
# usage: gossip.sh [OUT.json]     (root; writes a flat JSON object of figures)
# env:   GOSSIP_N="16 64 255" (sizes in order, up to 255)
#        GOSSIP_CHANGES=100 GOSSIP_FAILOVERS=5 GOSSIP_FAILOVERS_SMALL=3
#        GOSSIP_WINDOW=10 GOSSIP_CHURN_RATE=10 GOSSIP_EPS=100000
#        GOSSIP_PROFILE=lan   (GOSSIP_EPS=0: no endpoint-scaling phase)

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../e2e/lib.sh"
BUILD=${BUILD:-$(cd "$HERE/../.." && pwd)/build}
BG=${BENCH_GOSSIP:-$BUILD/tests/bench/bench_gossip}

OUT=${1:-}
read -r -a SIZES <<<"${GOSSIP_N:-16 64 255}"
N_SMALL=${SIZES[0]}
N_LARGE=${SIZES[${#SIZES[@]} - 1]}
CHANGES=${GOSSIP_CHANGES:-100}
FAILOVERS=${GOSSIP_FAILOVERS:-5}
FAILOVERS_SMALL=${GOSSIP_FAILOVERS_SMALL:-3}
WINDOW=${GOSSIP_WINDOW:-10}
CHURN_RATE=${GOSSIP_CHURN_RATE:-10}
EPS_BIG=${GOSSIP_EPS:-100000}
EPS_SMALL=1000
PROFILE=${GOSSIP_PROFILE:-lan}
EXPORTER=2
PINS="/sys/fs/bpf/$MGP-a%d"
SOCKS="$MGDIR/a%d.sock"

# Agents die at once (no graceful leave to wait for), then lib.sh's cleanup.
cleanup() {
	local f pids=
	for f in "$MGDIR"/a*.pid; do [ -f "$f" ] && pids="$pids $(cat "$f")"; done
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	topo_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { log "gossip: $*" >&2; exit 1; }
FIG=()
fig() { FIG+=("\"$1\": $2"); log "  $1 = $2"; }

pin() { printf "$PINS" "$1"; }

# --- agents ----------------------------------------------------------------------

agent_config() {
	local k=$1 extra=
	[ "$k" -eq "$EXPORTER" ] && extra="route_table = 100"
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
# All agents share one namespace: one host device would be everyone's.
host_device = none

[gossip]
bind_address = 127.0.1.$k
profile = $PROFILE
seed = 127.0.1.1
# The protocol alone: every agent shares one namespace, so the echo
# probes of the data-plane liveness (tests/bench/liveness.sh measures
# it) would go through loopback, never a datapath, 10 per peer a second.
echo_interval = 0
CONF
}

agent_start() {
	local k=$1
	if ! nsx bench ip link show "d$k" >/dev/null 2>&1; then
		nsx bench ip link add "d$k" type veth peer name "e$k" || return 1
		nsx bench ip link set "e$k" up
		nsx bench ip link set "d$k" up
		nsx bench ip addr add "100.64.$k.1/32" dev "d$k"
	fi
	[ -f "$MGDIR/a$k.conf" ] || agent_config "$k"
	# Not our child: the shell would report every kill of it.
	(nsnet_bg bench "$MESHGATE" agent -c "$MGDIR/a$k.conf" \
		>>"$MGDIR/a$k.log" 2>&1; echo $! >"$MGDIR/a$k.pid")
}

# agents_start FROM TO: start them, wait until their maps are pinned; in
# batches of 32, so that a 255-agent mesh forms as one would in the field
# (gateways come up over time) rather than in one storm of joins on a
# 2-CPU machine.
agents_start() {
	local k i to
	if [ $(($2 - $1)) -ge 32 ]; then
		for ((k = $1; k <= $2; k += 32)); do
			to=$((k + 31)); [ "$to" -gt "$2" ] && to=$2
			agents_start "$k" "$to" || return 1
		done
		return 0
	fi
	for k in $(seq "$1" "$2"); do agent_start "$k" || return 1; done
	for k in $(seq "$1" "$2"); do
		for i in $(seq 1 300); do
			[ -e "$(pin "$k")/mg_clus" ] && [ -S "$MGDIR/a$k.sock" ] && break
			kill -0 "$(cat "$MGDIR/a$k.pid")" 2>/dev/null ||
				{ tail -5 "$MGDIR/a$k.log" >&2; return 1; }
			sleep 0.1
		done
	done
}

# agents_stop FROM TO [SIG]: stop them (TERM: a graceful leave) and remove
# their pins.
agents_stop() {
	local k pid i
	for k in $(seq "$1" "$2"); do
		kill "-${3:-TERM}" "$(cat "$MGDIR/a$k.pid")" 2>/dev/null
	done
	for k in $(seq "$1" "$2"); do
		pid=$(cat "$MGDIR/a$k.pid")
		for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null
		rm -f "$MGDIR/a$k.pid"
		nsnet bench "$MESHGATE" -p "$(pin "$k")" down >/dev/null 2>&1
	done
}

# ready N [EXCLUDED]: every agent sees every other one alive in mg_clus.
ready() {
	"$BG" ready -n "$1" -P "$PINS" -x "${2:-0}" -t "${3:-60000}" >/dev/null
}

rss_mib() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$(cat "$MGDIR/a$1.pid")/status"; }

# Busy and total jiffies of the whole machine so far.
machine_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
busy_pct() {	# "BUSY0 TOTAL0" "BUSY1 TOTAL1"
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ")
		printf "%.1f", 100 * (y[1] - x[1]) / (y[2] - x[2] + 1e-9) }'
}

# CPU seconds used by agents FROM..TO so far.
cpu_s() {
	local k t=0
	for k in $(seq "$1" "$2"); do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$(cat "$MGDIR/a$k.pid")/stat")))
	done
	awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }'
}

# --- routes of the exporter ----------------------------------------------------------

# route_batch add|del FROM TO: /29s number FROM..TO-1 of 172.16.0.0/12 in table 100.
route_batch() {
	awk -v op="$1" -v a="$2" -v b="$3" 'BEGIN {
		for (i = a; i < b; i++) {
			x = i * 8
			printf "route %s 172.%d.%d.%d/29 dev lo table 100\n", op,
				16 + int(x / 65536), int(x / 256) % 256, x % 256
		}
	}' | nsx bench ip -batch -
}

# sample FROM TO: a few of those prefixes, first and last included.
sample() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		for (j = 0; j < 16; j++) {
			i = a + int((b - 1 - a) * j / 15); x = i * 8
			printf "172.%d.%d.%d/29\n", 16 + int(x / 65536),
				int(x / 256) % 256, x % 256
		}
	}'
}

# --- bytes ---------------------------------------------------------------------------

nft_setup() {
	nsx bench nft -f - <<'NFT'
table inet mgbench {
	counter gossip {}
	chain out {
		type filter hook output priority 0; policy accept;
		udp dport 7946 counter name gossip
		udp sport 7946 counter name gossip
		tcp dport 7946 counter name gossip
		tcp sport 7946 counter name gossip
	}
}
NFT
}

nft_bytes() {
	nsx bench nft -j list counter inet mgbench gossip |
		jq '.nftables[] | select(.counter) | .counter.bytes'
}

# bytes LABEL N: per-agent gossip bytes/s over WINDOW s idle, then under churn.
bytes() {
	local label=$1 n=$2 b0 b1 c0 c1 m0 m1 changes
	sleep 2		# let the previous phase's rumours die down
	b0=$(nft_bytes) c0=$(cpu_s 1 "$n") m0=$(machine_jiffies)
	sleep "$WINDOW"
	b1=$(nft_bytes) c1=$(cpu_s 1 "$n") m1=$(machine_jiffies)
	fig "machine_cpu_busy_pct_idle_$label" "$(busy_pct "$m0" "$m1")"
	fig "gossip_bytes_per_s_idle_$label" \
		"$(awk -v d=$((b1 - b0)) -v n="$n" -v w="$WINDOW" 'BEGIN { printf "%.0f", d / n / w }')"
	fig "agent_cpu_pct_idle_$label" \
		"$(awk -v a="$c0" -v b="$c1" -v n="$n" -v w="$WINDOW" 'BEGIN { printf "%.2f", 100 * (b - a) / n / w }')"
	b0=$(nft_bytes) c0=$(cpu_s 1 "$n") m0=$(machine_jiffies)
	changes=$("$BG" churn -S "$SOCKS" -a 1 -r "$CHURN_RATE" -D "$WINDOW") ||
		die "churn at agent 1 failed"
	b1=$(nft_bytes) c1=$(cpu_s 1 "$n") m1=$(machine_jiffies)
	fig "machine_cpu_busy_pct_churn_$label" "$(busy_pct "$m0" "$m1")"
	fig "gossip_bytes_per_s_churn_$label" \
		"$(awk -v d=$((b1 - b0)) -v n="$n" -v w="$WINDOW" 'BEGIN { printf "%.0f", d / n / w }')"
	fig "agent_cpu_pct_churn_$label" \
		"$(awk -v a="$c0" -v b="$c1" -v n="$n" -v w="$WINDOW" 'BEGIN { printf "%.2f", 100 * (b - a) / n / w }')"
	set -- $changes
	log "  ($1 changes in ${WINDOW}s)"
	[ "$2" -eq 0 ] || log "  ($2 of them not answered within the control socket's timeout)"
}

# --- measurements -----------------------------------------------------------------

converge() {
	local n=$1 r
	r=$("$BG" converge -n "$n" -P "$PINS" -S "$SOCKS" -a 1 -c "$CHANGES" -t 10000) ||
		die "convergence at $n agents: ${r:-failed}"
	set -- $r
	fig "gossip_converge_p50_ms_$n" "$1"
	fig "gossip_converge_p99_ms_$n" "$2"
	fig "gossip_converge_max_ms_$n" "$3"
}

# failover N ROUNDS
failover() {
	local n=$1 r v ms=() pid t
	[ "$2" -gt 0 ] || return 0
	for r in $(seq 1 "$2"); do
		v=$((3 + (r - 1) % (n - 2)))	# not the seed, not the exporter
		pid=$(cat "$MGDIR/a$v.pid")
		t=$("$BG" failover -n "$n" -P "$PINS" -v "$v" -p "$pid" -t 30000) ||
			die "failover of agent $v"
		ms+=("$t")
		log "  round $r: agent $v withdrawn everywhere in $t ms"
		rm -f "$MGDIR/a$v.pid"
		agent_start "$v" || die "restarting agent $v"
		ready "$n" || die "agent $v did not come back everywhere"
	done
	r=$(printf '%s\n' "${ms[@]}" | sort -n)
	fig "gossip_failover_ms_$n" "$(echo "$r" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
	fig "gossip_failover_max_ms_$n" "$(echo "$r" | tail -1)"
}

# --- run ------------------------------------------------------------------------------

[ -x "$BG" ] || die "$BG not built"
[ -x "$MESHGATE" ] || die "$MESHGATE not built"
new_ns bench || die "cannot create the namespace"
nft_setup || die "nftables"
route_batch add 0 "$EPS_SMALL" || die "routes"

t_start=$(date +%s)
log "gossip: $N_SMALL agents ($PROFILE profile)"
agents_start 1 "$N_SMALL" || die "agents did not start"
ready "$N_SMALL" || die "the mesh did not form"
"$BG" has -n "$N_SMALL" -P "$PINS" -t 60000 $(sample 0 "$EPS_SMALL") >/dev/null ||
	die "agent $EXPORTER's routes did not spread"
converge "$N_SMALL"
bytes "$N_SMALL" "$N_SMALL"
failover "$N_SMALL" "$FAILOVERS_SMALL"
fig "agent_rss_mib_1k" "$(rss_mib 3)"

prev=$N_SMALL
for n in "${SIZES[@]:1}"; do
	[ "$n" -gt "$prev" ] && [ "$n" -le 255 ] || die "GOSSIP_N: sizes must grow, up to 255"
	log "gossip: $n agents"
	agents_start $((prev + 1)) "$n" || die "agents did not start"
	ready "$n" 0 120000 || die "the mesh did not form"
	converge "$n"
	bytes "$n" "$n"
	failover "$n" "$FAILOVERS"
	fig "agent_rss_mib_$n" "$(rss_mib 3)"
	prev=$n
done

if [ "$EPS_BIG" -gt "$EPS_SMALL" ]; then
	if [ "$N_LARGE" -gt "$N_SMALL" ]; then
		log "gossip: back to $N_SMALL agents"
		agents_stop $((N_SMALL + 1)) "$N_LARGE"
		ready "$N_SMALL" || die "the mesh did not settle"
	fi
	log "gossip: agent $EXPORTER exports $EPS_BIG endpoints"
	t0=$(date +%s.%N)
	route_batch add "$EPS_SMALL" "$EPS_BIG" || die "routes"
	t1=$(date +%s.%N)
	log "  routes in table 100 after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
	"$BG" has -n "$N_SMALL" -P "$PINS" -t 120000 $(sample 0 "$EPS_BIG") >/dev/null ||
		die "$EPS_BIG endpoints did not spread"
	# From the last route in the kernel until every agent's map has them.
	fig "gossip_100k_converge_ms" \
		"$(awk -v a="$t1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", 1000 * (b - a) }')"
	fig "agent_rss_mib_100k" "$(for k in $(seq 1 "$N_SMALL"); do
		[ "$k" -ne "$EXPORTER" ] && rss_mib "$k" && echo; done | sort -n | tail -1)"
	fig "agent_rss_mib_100k_exporter" "$(rss_mib "$EXPORTER")"
	sleep 5		# the last agents' map writes, rumours of the bulk
	bytes "${N_SMALL}_100k" "$N_SMALL"
fi
log "gossip: done in $(($(date +%s) - t_start)) s"

if [ -n "$OUT" ]; then
	(IFS=,; echo "{${FIG[*]}}") >"$OUT"
fi
