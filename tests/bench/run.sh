#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench`: run every benchmark source, print one table, write
# $BUILD/bench.json = {"date", "machine", "figures": {name: number}}.
# A source is a command that writes a flat JSON object of figures to the
# file given as {}; a source whose binary is not built is skipped.
# Adding one is adding one line to SOURCES.
#
# BENCH_ONLY="bench_dp e2e1.sh": run only the sources whose command's
# basename is in that list (the others are listed as skipped).

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD=${BUILD:-$(cd "$HERE/../.." && pwd)/build}
export BUILD MESHGATE=${MESHGATE:-$BUILD/meshgate}

SOURCES=(
	"$BUILD/tests/bench/bench_dp --json {}"
	"$BUILD/tests/bench/bench_ct --json {}"
	"$HERE/e2e1.sh {}"
	"$BUILD/tests/bench/bench_policy --json {}"
	"$BUILD/tests/bench/bench_prefix --json {}"
	"$BUILD/tests/bench/bench_pfxencap --json {}"
	"$BUILD/tests/bench/bench_rl --json {}"
	"$HERE/gossip.sh {}"
	"$HERE/liveness.sh {}"
	"$HERE/metrics.sh {}"
	"$HERE/../e2e/test_services.sh --json {}"
	"$HERE/../e2e/test_limits.sh --json {}"
	"$HERE/../e2e/test_gossip_flood.sh --json {}"
	"$HERE/outlier.sh {}"
	"$HERE/rss1m.sh {}"
	"$HERE/../sim/gossip_model.py --sizes 64,255,1000,5000 --flat {}"
)

# name|unit|target, for the table.  Unknown figures get a unit from their suffix.
CATALOGUE='
e2e_meshgate_mpps|Mpps|
e2e_kernel_vxlan_mpps|Mpps|
e2e_xdp_redirect_mpps|Mpps|
e2e_meshgate_vs_kernel_vxlan|x|>= 6
e2e_meshgate_minus_redirect_ns|ns|<= 30
e2e_ref_minus_redirect_ns|ns|the reference encap, same run
encap_vs_ref|x|<= 1.0 (goal 0.8), interleaved
decap_vs_ref|x|<= 1.0
encap_vs_ref_hot|x|<= 1.0 (goal 0.8)
encap_vs_ref_cold|x|<= 1.0 (goal 0.8)
encap_vs_ref_b2b|x|repeat = 1 calls back to back
decap_vs_ref_b2b|x|
decap_vs_ref_hot|x|<= 1.0
decap_vs_ref_cold|x|<= 1.0
lru_insert_ns|ns|LRU hash, half full (over the key alone)
lru_insert_full_ns|ns|LRU hash, full: evicts
hash_insert_ns|ns|plain hash, half full
lru_pcpu_insert_full_ns|ns|per-CPU LRU (Katran), full: evicts
gossip_converge_p99_ms_64|ms|< 250
gossip_converge_p99_ms_255|ms|< 1000 (goal 500)
gossip_failover_ms_64|ms|< 3000, lan (goal 2000)
gossip_failover_max_ms_64|ms|< 3000
gossip_failover_ms_255|ms|median; data-plane probes fail over faster
gossip_bytes_per_s_idle_255|B/s|per agent
agent_cpu_pct_idle_255|%|per agent; machine_cpu_busy_pct_* beside it
agent_rss_mib_100k|MiB|< 32
failover_dataplane_ms|ms|< 500, 16 gateways, median of 5
failover_dataplane_max_ms|ms|< 500
restart_loss_packets|pkts|0 (SIGTERM + SIGKILL, 10 kpps)
drain_loss_packets|pkts|0 (drain + undrain, 10 kpps)
encap6_ns|ns|(over xdp_pass) <= 1.2x encap_ns over it
decap6_ns|ns|(over xdp_pass) <= 1.2x decap_ns over it
decap_fib_ns|ns|decap_ns, next hop not kept (a new flow)
decap6_fib_ns|ns|decap6_ns, next hop not kept (a new flow)
lb_established_ns|ns|(over xdp_pass) <= 1.5x encap_ns over it
lb_newflow_ns|ns|(over xdp_pass) <= 3x encap_ns over it
ratelimit_ns|ns|a service with rate_pps (bench_rl)
ratelimit_minus_lb_ns|ns|ratelimit_ns - lb_established_ns, side by side in bench_rl
monitor_off_ns|ns|<= encap_noev_ns + 2 (event stream compiled in, off)
monitor_drop_ns|ns|drop_ns + the cost of one event
lb_failover_backend_ms|ms|health interval x fall + gossip (200 ms x 2 here)
lb_failover_gateway_ms|ms|< 3000, lan
outlier_eject_ms|ms|a backend resetting until no gateway holds it (client ~20 conn/s, threshold 5)
datapath_map_mib_noservices|MiB|<= 16 (no [service]: auto limits)
prefix_lookup_ns_10k|ns|warm, 1,024 lookups/run over 65,536 destinations
lpm_trie_ns_10k|ns|the kernel trie, same prefixes and run
prefix_lookup_ns_1m|ns|warm
lpm_trie_ns_1m|ns|warm
prefix_lookup_vs_trie|x|<= 0.33 (goal 0.1), warm, worse of 10k/1M
prefix_lookup_mib_1m|MiB|<= 96 (90% /24, 5% /16, 5% /26)
encap_10k_ns|ns|over xdp_pass, compiled table, 65,536 destinations (bench_pfxencap)
encap_100k_ns|ns|the same at 100k prefixes, side by side
encap_1m_ns|ns|the same at 1M prefixes, side by side
encap_100k_vs_10k|x|<= 1.10
encap_1m_vs_10k|x|<= 1.10
agent_rss_mib_1m|MiB|< 64 (1M remote IPv4 prefixes learned by gossip)
agent_hwm_mib_1m|MiB|peak of the same agent (VmHWM)
agent_rss_mib_1m_exporter|MiB|the agent exporting them (route_table)
gossip_1m_converge_ms|ms|1M prefixes from the start of the exporter to the maps of the other
prefix6_lookup_ns_10k|ns|IPv6 table, warm (region array, then a hash lookup per length there)
lpm6_trie_ns_10k|ns|the kernel trie (mg_ep6), same prefixes and run
prefix6_lookup_ns_1m|ns|warm
lpm6_trie_ns_1m|ns|warm
prefix6_lookup_vs_trie|x|< 1, warm, worse of 10k/1M
prefix6_lookup_mib_1m|MiB|<= 96 (90% /64, 5% /48, 5% /80 under fd00::/16)
datapath_map_mib_default|MiB|the example services, auto limits
metrics_scrape_ms|ms|< 50 (100k endpoints, 100 services)
metrics_render_walked_ms|ms|metrics_render_ms with mg_ep4 walked (before)
gossip_flood_cli_ms|ms|< 100, p99 of CLI calls under a hostile flood
gossip_flood_ctl_ms|ms|the agent answer alone (one client, no process)
gossip_flood_cli_start_ms|ms|a CLI process start alone (nsenter + exec)
gossip_flood_rss_mib|MiB|< 64
model_converge_p99_ms_255|ms|computed (tests/sim), docs/scale.md
model_failover_p50_ms_255|ms|computed (tests/sim), docs/scale.md
policy_minus_encap_ns_10k|ns|<= 30, flat with 10 and 100k rules
policy_minus_encap_ns_10|ns|beside encap, policy off, same loop
policy_minus_encap_ns_100k|ns|beside encap, policy off, same loop
'

TMP=$(mktemp -d /tmp/mgbench.XXXXXX)
CHILD=
cleanup() {
	[ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null && wait "$CHILD"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

i=0 rc=0
for src in "${SOURCES[@]}"; do
	i=$((i + 1))
	set -- $src
	if [ -n "${BENCH_ONLY:-}" ] && [[ " $BENCH_ONLY " != *" $(basename "$1") "* ]]; then
		echo "  skip    $(basename "$1") (not in BENCH_ONLY)"
		continue
	fi
	if [ ! -x "$1" ]; then
		echo "  skip    $1 (not built)"
		continue
	fi
	echo "  BENCH   $(basename "$1")"
	# In the background so that a signal reaches our trap at once; the
	# source cleans up after itself on SIGTERM (background jobs ignore SIGINT).
	${src//\{\}/$TMP/$i.json} &
	CHILD=$!
	wait "$CHILD" || { echo "  FAIL    $(basename "$1")" >&2; rc=1; }
	CHILD=
done

# "name": number pairs of every flat object, later sources win.
cat "$TMP"/*.json 2>/dev/null | grep -oE '"[A-Za-z0-9_]+"[[:space:]]*:[[:space:]]*-?[0-9.eE+-]+' |
	sed 's/[[:space:]]//g; s/"//g; s/:/ /' | awk '!($1 in v) { o[++n] = $1 } { v[$1] = $2 }
	END { for (i = 1; i <= n; i++) print o[i], v[o[i]] }' >"$TMP/figures"

echo
awk -v cat="$CATALOGUE" 'BEGIN {
	n = split(cat, l, "\n")
	for (i = 1; i <= n; i++) if (split(l[i], f, "|") >= 2) { u[f[1]] = f[2]; t[f[1]] = f[3] }
	printf "%-34s %12s  %-5s %s\n", "name", "value", "unit", "target"
}
{
	unit = ($1 in u) ? u[$1] : $1 ~ /_mpps$/ ? "Mpps" : $1 ~ /_ns(_min|_max)?$/ ? "ns" : \
	       $1 ~ /_ms(_|$)/ ? "ms" : $1 ~ /_mib(_|$)/ ? "MiB" : \
	       $1 ~ /_bytes_per_s_/ ? "B/s" : $1 ~ /_pct_/ ? "%" : \
	       $1 ~ /^insns_|_insns$/ ? "insns" : $1 ~ /^jited_bytes_|_jited_bytes$/ ? "B" : \
	       $1 ~ /_vs_/ ? "x" : ""
	printf "%-34s %12s  %-5s %s\n", $1, $2, unit, t[$1]
}' "$TMP/figures"

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -1)
machine="Linux $(uname -r), ${cpu:-unknown CPU}, $(nproc) CPUs"
{
	printf '{"date": "%s", "machine": "%s", "figures": {' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${machine//\"/}"
	awk '{ printf "%s\"%s\": %s", (NR > 1 ? ", " : ""), $1, $2 }' "$TMP/figures"
	printf '}}\n'
} >"$BUILD/bench.json"
echo
echo "  wrote $BUILD/bench.json"
exit "$rc"
