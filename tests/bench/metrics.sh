#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# metrics_scrape_ms: one scrape of /metrics on a gateway whose mg_ep4 holds
# 100k endpoints and which has 100 services.
#
#   gw2 (cluster 2) exports the routes of its table 100 ([cluster]
#       route_table): METRICS_EPS /29s in 172.16.0.0/12, learned by gw1
#       through gossip (so they are in gw1's mg_ep4 as any remote
#       endpoint is);
#   gw1 (cluster 1) has [metrics] on and METRICS_SERVICES [service]s
#       (default 100, one local backend each; the agent holds at most 128,
#       MG_CFG_MAX_SERVICES;
#       the maps' side, mg_svc and mg_lbstats, is read whole whatever the
#       number).
#
# Once gw1's mg_ep4 holds them all, METRICS_SCRAPES scrapes by curl in
# gw1's namespace (time_total: connect, render, transfer): the median is
# metrics_scrape_ms, the slowest metrics_scrape_max_ms.  Then bench_metrics
# renders over gw1's pins, side by side, with the endpoint count handed
# over as the agent does (metrics_render_ms) and with mg_ep4 walked as
# before (metrics_render_walked_ms), and where the time goes
# (metrics_render_{maps,flows,lbstats,reasons}_ms).  The machine may be
# shared: the figures are wall time.
#
# usage: metrics.sh [OUT.json]     (root; writes a flat JSON object)
# env:   METRICS_EPS=100000 METRICS_SERVICES=100 METRICS_SCRAPES=21

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../e2e/lib.sh"
BUILD=${BUILD:-$(cd "$HERE/../.." && pwd)/build}
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

OUT=${1:-}
EPS=${METRICS_EPS:-100000}
NSVC=${METRICS_SERVICES:-100}
SCRAPES=${METRICS_SCRAPES:-21}
URL=http://127.0.0.1:9466/metrics

die() { log "metrics: $*"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "metrics: needs root"; exit 77; }
command -v curl >/dev/null || { echo "metrics: curl missing"; exit 77; }

topo_underlay && topo_cluster 1 0 && topo_cluster 2 0 || die "topology"
conf1=$(write_gossip_config 1 1 "$UL_NET.2")
conf2=$(write_gossip_config 2 2 "$UL_NET.1")
sed -i 's/^cidr = 10.2.0.0\/16$/&\nroute_table = 100/' "$conf2"
{
	for i in $(seq 1 "$NSVC"); do
		printf '\n[service s%d]\nvip = 10.96.%d.%d\nport = 80\nbackend = 10.1.0.%d:8080\n' \
			"$i" $((i / 256)) $((i % 256)) $((10 + i % 200))
	done
	printf '\n[metrics]\nlisten = on\n'
} >>"$conf1"

log "metrics: $EPS routes in gw2's table 100"
awk -v n="$EPS" 'BEGIN {
	for (i = 0; i < n; i++) {
		x = i * 8
		printf "route add 172.%d.%d.%d/29 dev lo table 100\n",
			16 + int(x / 65536), int(x / 256) % 256, x % 256
	}
}' | nsx gw2 ip -batch - || die "routes"
start_agent 2 && start_agent 1 || die "agents"

ep4_count() {
	mgcli 1 -j bpf maps | jq -r '.[] | select(.map == "mg_ep4") | .entries'
}
all_there() { [ "$(ep4_count)" -ge "$EPS" ]; }
wait_until 180 all_there || die "gw1's mg_ep4 has $(ep4_count) of $EPS"
nsvc=$(mgctl 1 -j services | jq length)
log "metrics: gw1 has $(ep4_count) endpoints in mg_ep4, $nsvc services"
[ "$nsvc" -ge "$NSVC" ] || die "only $nsvc services"
# The agent's part is a snapshot renewed every second: one after the last write.
sleep 1.5

nsx gw1 curl -sf --max-time 10 "$URL" >"$MGDIR/scrape.txt" || die "no scrape"
grep -q "^meshgate_map_entries{map=\"mg_ep4\"} $(ep4_count)$" "$MGDIR/scrape.txt" ||
	die "mg_ep4's entries in the scrape: $(grep 'map_entries{map="mg_ep4"}' "$MGDIR/scrape.txt")"
for i in $(seq 1 "$SCRAPES"); do
	nsx gw1 curl -sf --max-time 10 -o /dev/null -w '%{time_total}\n' "$URL"
done >"$MGDIR/times" || die "a scrape failed"
read -r med max < <(sort -n "$MGDIR/times" |
	awk '{ t[NR] = $1 * 1000 } END { printf "%.1f %.1f\n", t[int((NR + 1) / 2)], t[NR] }')
log "metrics: scrape median $med ms, max $max ms ($SCRAPES scrapes, $(wc -c <"$MGDIR/scrape.txt") bytes)"
BM=${BENCH_METRICS:-$BUILD/tests/bench/bench_metrics}
render='{}'
if [ -x "$BM" ]; then
	render=$("$BM" "$(pin_dir 1)" 11) || die "bench_metrics"
	log "metrics: render $render"
fi
if [ -n "$OUT" ]; then
	printf '{"metrics_scrape_ms": %s, "metrics_scrape_max_ms": %s, "metrics_scrape_services": %s}\n' \
		"$med" "$max" "$nsvc" | jq -c --argjson r "$render" '. + $r' >"$OUT"
fi
# METRICS_HOLD=1: keep the topology until $MGDIR/hold is removed (at most
# 20 minutes), to look at it by hand.
if [ -n "${METRICS_HOLD:-}" ]; then
	touch "$MGDIR/hold"
	log "metrics: holding; rm $MGDIR/hold to end"
	for i in $(seq 1 1200); do [ -e "$MGDIR/hold" ] || break; sleep 1; done
fi
