#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The gateway host's own traffic (DESIGN §2.6, TC egress): two clusters
# whose gateways gossip; services with backends in cluster 2 (remote for
# gw1) and in cluster 1 (local).  From gw1's own namespace, as a process on
# the gateway would:
#
#   - the agent made its host device (mg0) with the TC program on its
#     egress, and routes into it for cluster 2's prefix and both VIPs;
#   - ping and a 20 MB TCP transfer to a pod of cluster 2 (GSO packets
#     whose checksums the device completes, encapsulated by TC), seen on
#     the underlay as VXLAN from gw1's cluster-side address;
#   - TCP to the VIP with remote backends, and to the one with local ones;
#   - mg0's MTU leaves room for the tunnel (1450), so the host sizes its
#     packets itself, and follows the underlay device's; with a route of a
#     lower MTU towards gw2, a packet too big for the tunnel with DF is
#     answered by the datapath into the host, which learns the path MTU
#     (1350) and then fits;
#   - a restart keeps the routes (none doubled), `meshgate down` removes
#     the device and its routes with it.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SEED=$UL_NET.1
VIP=10.96.0.10		# backends in cluster 2
NEAR=10.96.0.11		# backends in cluster 1

service_conf() {
	local b2= b1=
	[ "$1" = 2 ] && b2=$(pod_ip 2 1)
	[ "$1" = 1 ] && b1=$(pod_ip 1 1)
	lb_service web "$VIP" $b2
	lb_service near "$NEAR" $b1
}

# host_routes K: gateway K's routes of protocol 109 (meshgate), one a line.
host_routes() { nsx "gw$1" ip -4 route show proto 109 | awk '{print $1}' | sort; }

log "topology: clusters 1 and 2, a backend in each"
topo_underlay && topo_cluster 1 2 && topo_cluster 2 2 || exit 1
greeter 1 1
greeter 2 1
for k in 1 2; do
	write_gossip_config "$k" "$k" "$SEED" >/dev/null
	service_conf "$k" >>"$MGDIR/gw$k.conf"
done
for k in 1 2; do start_agent "$k" || exit 1; done
check "the gateways see each other" wait_until 10 eval \
	'all_alive 1 2 && all_alive 2 1'
check "services healthy on gw1" wait_until 10 eval \
	"mgctl 1 -j services list | jq -e '[.[] | .backend[]? | select(.in_use)] | length == 2' >/dev/null"

# --- the device and its routes ---------------------------------------------
check "gw1 has its host device mg0, without ARP" \
	eval "nsx gw1 ip -d link show mg0 | grep -q NOARP"
check "TC egress program on mg0" \
	eval "nsx gw1 tc filter show dev mg0 egress | grep -q 'bpf.*direct-action'"
want=$(printf '%s\n' 10.2.0.0/16 "$VIP" "$NEAR" | sort)
check "routes into mg0: cluster 2's prefix and both VIPs" \
	wait_until 5 eval '[ "$(host_routes 1)" = "$want" ]'
check "from the cluster-side address" \
	eval "nsx gw1 ip route get 10.2.0.11 | grep -q 'dev mg0 src 10.1.0.1'"
check "status shows the host device and its routes" \
	eval "mgctl 1 -j status | jq -e '.host_device == \"mg0\" and .host_routes == 3' >/dev/null"

# --- host to a remote pod --------------------------------------------------
cap="$MGDIR/ul.pcap"
check "capture on gw1's underlay port" cap_start ul gw1 "$cap" udp port 4789
enc0=$(stat_gw 1 encap)
check "gw1 host pings a pod of cluster 2" \
	nsx gw1 ping -q -c 3 -i 0.2 -W 2 "$(pod_ip 2 1)"
cap_stop "$cap"
check "encapsulated by the datapath (encap counted)" \
	test "$(stat_gw 1 encap)" -ge $((enc0 + 3))
check "on the wire: VXLAN VNI 1, inner 10.1.0.1 -> $(pod_ip 2 1)" test \
	"$(tshark -r "$cap" -T fields -E separator=' ' -e vxlan.vni -e ip.src \
		-e ip.dst -e icmp.type 2>/dev/null |
	   grep -cx "1 $UL_NET.1,10.1.0.1 $UL_NET.2,$(pod_ip 2 1) 8")" -ge 3
check "20 MB TCP from gw1 host to a pod of cluster 2, intact" \
	tcp_transfer gw1 c2p2 "$(pod_ip 2 2)" 20000000 5001 30
check "20 MB TCP from a pod of cluster 2 to gw1 host, intact" \
	tcp_transfer c2p2 gw1 10.1.0.1 20000000 5002 30

# --- host to VIPs ----------------------------------------------------------
check "gw1 host to $VIP:80 reaches cluster 2's backend" \
	eval '[ "$(greet gw1 $VIP)" = "$(pod_ip 2 1)" ]'
check "gw1 host to $NEAR:80 reaches cluster 1's backend" \
	eval '[ "$(greet gw1 $NEAR)" = "$(pod_ip 1 1)" ]'
check "ten more of each" eval '
	for i in $(seq 1 10); do
		[ "$(greet gw1 $VIP)" = "$(pod_ip 2 1)" ] &&
		[ "$(greet gw1 $NEAR)" = "$(pod_ip 1 1)" ] || exit 1
	done'

# --- path MTU --------------------------------------------------------------
P=$(pod_ip 2 1)
check "mg0's MTU leaves room for the tunnel: 1500 - 50" \
	eval '[ "$(nsx gw1 ip -j link show mg0 | jq ".[0].mtu")" = 1450 ]'
check "the host itself refuses a larger packet with DF" \
	eval '! nsx gw1 ping -c 1 -W 1 -M do -s 1423 $P >/dev/null 2>&1'
check "a 1450-byte packet fits" nsx gw1 ping -q -c 1 -W 2 -M do -s 1422 "$P"
log "a route to gw2 with MTU 1400 on gw1's underlay (the device stays at 1500)"
nsx gw1 ip route add "$UL_NET.2/32" dev ul0 mtu lock 1400
nh1400() { [ "$(mgcli 1 -j bpf nexthops | jq -r ".[] | select(.destination == \"$UL_NET.2\") | .mtu")" = 1400 ]; }
check "the agent follows: next hop $UL_NET.2 has MTU 1400" wait_until 5 nh1400
big0=$(stat_gw 1 icmp_frag_needed)
nsx gw1 ping -c 1 -W 2 -M do -s 1422 "$P" >/dev/null 2>&1
check "now too big for the tunnel: frag-needed from TC, counted" \
	test "$(stat_gw 1 icmp_frag_needed)" -gt "$big0"
check "the host learnt the path MTU 1350 from it" \
	eval "nsx gw1 ip route get $P | grep -q 'mtu 1350'"
check "1350-byte packets then fit" \
	nsx gw1 ping -q -c 2 -i 0.2 -W 2 -M do -s 1322 "$P"
check "TCP from the host follows (5 MB intact)" \
	tcp_transfer gw1 c2p1 "$P" 5000000 5003 30
nsx gw1 ip route del "$UL_NET.2/32" dev ul0

log "gw1's underlay device lowered to 1400, then back to 1500"
mg0_mtu() { [ "$(nsx gw1 ip -j link show mg0 | jq ".[0].mtu")" = "$1" ]; }
nsx gw1 ip link set ul0 mtu 1400
nsx ul ip link set gw1 mtu 1400
check "mg0 follows the underlay: 1400 - 50" wait_until 5 mg0_mtu 1350
nsx gw1 ip link set ul0 mtu 1500
nsx ul ip link set gw1 mtu 1500
check "... and back: 1450" wait_until 5 mg0_mtu 1450

# --- restart and down ------------------------------------------------------
stop_agent 1
check "routes stay while the agent is down" \
	eval '[ "$(host_routes 1)" = "$want" ]'
check "host traffic still flows without the agent" \
	nsx gw1 ping -q -c 2 -i 0.2 -W 2 "$(pod_ip 2 1)"
start_agent 1 || exit 1
check "after a restart: the same routes, none doubled" \
	wait_until 5 eval '[ "$(host_routes 1)" = "$want" ]'
check "one TC filter on mg0" \
	test "$(nsx gw1 tc filter show dev mg0 egress | grep -c 'direct-action')" -eq 1
check "host to a remote pod after the restart" \
	nsx gw1 ping -q -c 2 -i 0.2 -W 2 "$(pod_ip 2 1)"
stop_agent 1
check "meshgate down removes mg0" mgcli 1 down
check "mg0 and its routes are gone" \
	eval '! nsx gw1 ip link show mg0 >/dev/null 2>&1 && [ -z "$(host_routes 1)" ]'

summary
