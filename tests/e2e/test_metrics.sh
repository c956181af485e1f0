#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Prometheus metrics ([metrics] listen): a real Prometheus server (Debian's
# package) scrapes gateway 1's agent in its namespace and its HTTP API
# returns the datapath's counters after pod traffic crossed the mesh; the
# exposition passes `promtool check metrics`; it carries build info, map
# occupancy, peers, gossip counters and backend health; a gateway without
# [metrics] serves nothing.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for t in prometheus promtool curl jq; do
	command -v "$t" >/dev/null || {
		echo "FAIL - $t is missing (make deps installs it)"
		echo "0 passed, 1 failed"
		exit 1
	}
done

topo_underlay && topo_cluster 1 2 && topo_cluster 2 1 || exit 1
conf1=$(write_config 1 2)
write_config 2 1 >/dev/null
{
	lb_service web 10.96.0.10 "$(pod_ip 1 2)"
	printf '\n[metrics]\nlisten = on\n'
} >>"$conf1"
greeter 1 2
wait_listen c1p2 8080 || exit 1
start_agent 1 && start_agent 2 || exit 1

URL=http://127.0.0.1:9466/metrics
scrape() { nsx gw1 curl -sf --max-time 5 "$URL"; }

log "pods talk across the mesh"
nsx c1p1 ping -c 3 -i 0.2 -W 1 "$(pod_ip 2 1)" >/dev/null
check "ping from cluster 1 to cluster 2 crosses the mesh" \
	eval 'nsx c1p1 ping -c 1 -W 2 "$(pod_ip 2 1)" >/dev/null' 

log "a client of cluster 1 opens a flow to the service"
backend_in_use() { [ "$(in_use 1 web)" = "$(pod_ip 1 2):8080" ]; }
wait_until 10 backend_in_use
check "pod 1 reaches the service's backend through the VIP" \
	[ "$(greet c1p1 10.96.0.10)" = "$(pod_ip 1 2)" ]

# The agent's part of the metrics is a snapshot renewed every second.
backend_up_seen() {
	scrape >"$MGDIR/m1.txt" &&
		grep -q '^meshgate_backend_up{service="web",backend="10.1.0.12:8080"} 1$' "$MGDIR/m1.txt"
}
wait_until 5 backend_up_seen
log "one scrape: $(nsx gw1 curl -s -o /dev/null -w '%{time_total}' "$URL") s, $(wc -l <"$MGDIR/m1.txt") lines"
check "the agent serves /metrics on 127.0.0.1:9466 ([metrics] listen = on)" \
	grep -q '^meshgate_packets_total{reason="encap",class="forward"} [1-9]' "$MGDIR/m1.txt"
check "promtool check metrics passes" \
	eval 'promtool check metrics <"$MGDIR/m1.txt" >"$MGDIR/promtool.out" 2>&1'
[ -s "$MGDIR/promtool.out" ] && cat "$MGDIR/promtool.out"
check "every reason has a class: drops are class drop" \
	grep -q '^meshgate_packets_total{reason="inner_src_spoof",class="drop"} ' "$MGDIR/m1.txt"
check "bytes counted by reason" \
	grep -q '^meshgate_bytes_total{reason="encap",class="forward"} [1-9]' "$MGDIR/m1.txt"
check "build info with version and commit" \
	grep -q '^meshgate_build_info{version=".\+",commit=".\+"} 1$' "$MGDIR/m1.txt"
ep4=$(mgcli 1 -j bpf maps | jq -r '.[] | select(.map == "mg_ep4") | .entries')
check "map occupancy: mg_ep4's entries as \`bpf maps\` counts them ($ep4), and its limit" \
	eval 'grep -q "^meshgate_map_entries{map=\"mg_ep4\"} ${ep4:-x}$" "$MGDIR/m1.txt" &&
	      grep -q "^meshgate_map_max_entries{map=\"mg_ep4\"} [1-9]" "$MGDIR/m1.txt"'
check "every pinned map has its limit" \
	[ "$(grep -c '^meshgate_map_max_entries{' "$MGDIR/m1.txt")" -eq \
	  "$(ls -d "$(pin_dir 1)"/mg_* | wc -l)" ]
check "gateways per cluster: cluster2 has 1, alive (static)" \
	eval 'grep -q "^meshgate_cluster_gateways{cluster=\"cluster2\"} 1$" "$MGDIR/m1.txt" &&
	      grep -q "^meshgate_cluster_gateways_alive{cluster=\"cluster2\"} 1$" "$MGDIR/m1.txt"' 
check "peers by state" grep -q '^meshgate_peers{state="' "$MGDIR/m1.txt"
check "gossip counters" \
	grep -q '^meshgate_gossip_state_messages_total [0-9]' "$MGDIR/m1.txt"
check "backend health of service web: up" \
	grep -q '^meshgate_backend_up{service="web",backend="10.1.0.12:8080"} 1$' "$MGDIR/m1.txt"
check "the flow counted by service" \
	grep -q '^meshgate_service_flows{service="10.96.0.10:80/tcp"} [1-9]' "$MGDIR/m1.txt"
check "packets to the service counted (mg_lbstats)" \
	grep -q '^meshgate_service_packets_total{service="10.96.0.10:80/tcp"} [1-9]' "$MGDIR/m1.txt"
check "packets to the backend counted (mg_lbstats)" \
	grep -q '^meshgate_backend_packets_total{slot="[0-9]*",backend="10.1.0.12:8080"} [1-9]' "$MGDIR/m1.txt"
check "bytes to the backend counted" \
	grep -q '^meshgate_backend_bytes_total{slot="[0-9]*",backend="10.1.0.12:8080"} [1-9]' "$MGDIR/m1.txt"
check "the flow counted by backend" \
	grep -q '^meshgate_backend_flows{slot="[0-9]*",backend="10.1.0.12:8080"} [1-9]' "$MGDIR/m1.txt"
check "another path is 404" \
	[ "$(nsx gw1 curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:9466/)" = 404 ]
check "gateway 2 (no [metrics]) serves nothing" \
	eval '! nsx gw2 curl -sf --max-time 2 "$URL" >/dev/null'

log "Prometheus scrapes it"
mkdir -p "$MGDIR/prom"
cat >"$MGDIR/prom/prometheus.yml" <<'YML'
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: meshgate
    static_configs:
      - targets: ['127.0.0.1:9466']
YML
nsx_bg gw1 prometheus --config.file="$MGDIR/prom/prometheus.yml" \
	--storage.tsdb.path="$MGDIR/prom/data" \
	--web.listen-address=127.0.0.1:9090 >"$MGDIR/prom/log" 2>&1
echo $! >"$MGDIR/prometheus.pid"

API=http://127.0.0.1:9090/api/v1/query
query() {	# PROMQL: the first result's value ("" when none yet)
	nsx gw1 curl -sf --max-time 2 -G "$API" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null
}
encap_seen() { v=$(query 'meshgate_packets_total{reason="encap"}'); [ -n "$v" ] && [ "$v" -gt 0 ]; }
wait_until 30 encap_seen
check "Prometheus' API returns meshgate_packets_total{reason=\"encap\"} > 0 (got ${v:-nothing})" encap_seen
up=$(query 'up{job="meshgate"}')
check "the scrape target is up (up = ${up:-nothing})" [ "$up" = 1 ]
cls=$(query 'sum(meshgate_packets_total{class="forward"})')
check "sum by class forward > 0 in Prometheus (${cls:-nothing})" \
	awk -v v="${cls:-0}" 'BEGIN { exit !(v > 0) }'
[ -n "${SHOW:-}" ] && cat "$MGDIR/m1.txt"
summary
