#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# A service client in a cluster with two gateways (DESIGN §2 path 3): the
# pods of cluster 1 route through gw1, which balances their connections to
# a VIP whose backends are in cluster 2.  gw2 spreads what it sends to
# cluster 1 over gw1 and gw1b by flow hash, but a backend's reply must go
# through gw1, the gateway that tracks the flow and turns the backend's
# address back into the VIP's.  gw1 flags what it balances; gw2 pins those
# flows' replies to the gateway that sent them (mg_pin).
#
#   - 200 connections from cluster 1's pods to the VIP: every one is
#     answered, from the VIP (a reply through gw1b would come from the
#     backend's address and be refused by the client);
#   - gw2's mg_pin holds those flows, all pinned to gw1; gw1b decapsulated
#     none of their replies;
#   - plain pod-to-pod traffic still spreads over both gateways.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SEED=$UL_NET.2
VIP=10.96.0.10
NCONN=${NCONN:-200}

service_conf() {
	if [ "$1" = 2 ]; then
		lb_service web "$VIP" "$(pod_ip 2 1)" "$(pod_ip 2 2)"
	else
		lb_service web "$VIP"
	fi
}

log "topology: cluster 1 with gw1 and gw1b, cluster 2 with two backends"
topo_underlay && topo_cluster 1 2 && topo_gateway2 1 && topo_cluster 2 2 ||
	exit 1
greeter 2 1
greeter 2 2
for g in 1 1b 2; do
	write_gossip_config "$g" "$(gw_cluster "$g")" "$SEED" >/dev/null
	service_conf "$g" >>"$MGDIR/gw$g.conf"
done
for g in 2 1 1b; do start_agent "$g" || exit 1; done
check "gw2 sees both gateways of cluster 1 alive" \
	wait_until 10 eval '[ "$(clus_gws 2 1)" = "$UL_NET.1 $(gw_tunnel 1b)" ]'
check "gw1 uses both backends" wait_until 10 eval \
	"mgctl 1 -j services list | jq -e '[.[] | .backend[] | select(.in_use)] | length == 2' >/dev/null"

# --- pod to pod spreads over both gateways ---------------------------------
d1=$(stat_gw 1 decap) d1b=$(stat_gw 1b decap)
for p in 1 2; do
	for s in 1 2; do
		nsx "c2p$s" ping -q -c 5 -i 0.05 -W 2 "$(pod_ip 1 "$p")" >/dev/null
	done
done
check "pod replies reach cluster 1 through both gateways (flow hash)" \
	eval '[ "$(stat_gw 1 decap)" -gt "$d1" ] && [ "$(stat_gw 1b decap)" -gt "$d1b" ]'

# --- service replies come back through gw1 ---------------------------------
d1b=$(stat_gw 1b decap)
connects c1p1 "$VIP" $((NCONN / 2)) >"$MGDIR/got.txt"
connects c1p2 "$VIP" $((NCONN / 2)) >>"$MGDIR/got.txt"
log "greetings: $(sort "$MGDIR/got.txt" | uniq -c | tr -s ' \n' ' ')"
check "$NCONN connections to $VIP from cluster 1, every one answered" \
	test "$(grep -c '^10\.2\.0\.' "$MGDIR/got.txt")" -eq "$NCONN"
check "both backends served" \
	test "$(sort -u "$MGDIR/got.txt" | grep -c '^10\.2\.0\.')" -eq 2
check "gw1b decapsulated none of their replies" \
	test "$(stat_gw 1b decap)" -eq "$d1b"
# pins: the gateways gw2's mg_pin sends service replies to, one a line.
pins() { mgcli 2 -j bpf pins 2>/dev/null | jq -r '.[].gateway'; }
check "gw2 pinned the flows' replies to gw1 ($NCONN or more entries)" \
	test "$(pins | grep -cx "$UL_NET.1")" -ge "$NCONN"
check "and to no other gateway" test "$(pins | grep -vcx "$UL_NET.1")" -eq 0
mgcli 2 bpf pins | head -4 | sed 's/^/    /'

summary
