#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# e2e: alone (its connection loops and failover timings: a test beside it slows them)
#
# IPv6 global services across three dual-stack clusters (DESIGN §2 path 3)
# over the IPv4 underlay: gateways gossip (lan profile); clusters 1 and 2
# have IPv6 TCP backends in pod namespaces (socat), cluster 3 clients only.
#
#   - web6 ([fd00:96::10]:80/tcp, affinity any): NCONN connections from
#     cluster 3 land on all four backends, each within 20% of an equal
#     share (DNAT, encapsulation, reverse NAT on the decap path);
#   - near6 ([fd00:96::11]:80/tcp, affinity local): from cluster 1 only its
#     own backends serve, through the gateway's SNAT address fd00:1::1;
#   - 300 kB to web6 and back from a 1500-byte-MTU pod: gw3 answers the
#     segments too big for the tunnel with ICMPv6 packet too big quoting
#     the VIP (not the backend), so the client's path MTU discovery works;
#   - `services list -j` and `bpf ct list -j` show the IPv6 VIPs and flows;
#   - the gateways' own hosts reach the IPv6 VIPs (remote and local
#     backends) and remote pods through TC egress on their host device;
#   - the CLI adds an IPv6 service (kept in state_dir/services), refuses
#     one that mixes families, and a VIP without a healthy backend counts
#     its packets under no_backend;
#   - a stopped backend leaves gw3's table (health, gossip).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
trap topo_cleanup EXIT
# nb_gw K: packets gateway K found no backend for, answered or dropped.
nb_gw() { echo $(($(stat_gw "$1" no_backend) + $(stat_gw "$1" no_backend_reset))); }
trap 'exit 130' INT
trap 'exit 143' TERM

SEED=$UL_NET.1
VIP=fd00:96::10
NEAR=fd00:96::11
NCONN=${NCONN:-800}

# service_conf K: the [service] sections of gateway K.
service_conf() {
	local k=$1 s
	for s in "web6 $VIP any" "near6 $NEAR local"; do
		set -- $s
		cat <<CONF

[service $1]
vip = $2
port = 80
affinity = $3
health_interval = 200
health_timeout = 150
rise = 1
fall = 2
CONF
		case $k in 1|2) printf 'backend = [%s]:8080\nbackend = [%s]:8080\n' \
			"$(pod_ip6 "$k" 1)" "$(pod_ip6 "$k" 2)" ;; esac
	done
}

# server K N: an IPv6 TCP echo server on pod N of cluster K, port 8080,
# that first says who it is and whom it sees.
server() {
	local ns="c$1p$2" me
	me=$(pod_ip6 "$1" "$2")
	# socat splits its addresses at colons: the IPv6 one comes by env.
	nsx_bg "$ns" env ME="$me" socat TCP6-LISTEN:8080,reuseaddr,fork \
		SYSTEM:'echo $ME $SOCAT_PEERADDR; exec cat' >/dev/null 2>&1
	echo $! >"$MGDIR/srv$1$2.pid"
}

# expand6 ADDR: an IPv6 address written out in full, as socat shows a peer
# (fd00:3::11 -> fd00:0003:0000:0000:0000:0000:0000:0011).
expand6() {
	local l=$1 r= i n out=()
	if [[ $1 == *::* ]]; then l=${1%%::*}; r=${1#*::}; fi
	IFS=: read -ra L <<<"$l"
	IFS=: read -ra R <<<"$r"
	n=$((8 - ${#L[@]} - ${#R[@]}))
	for i in "${L[@]}"; do out+=("$(printf %04x "0x$i")"); done
	for ((i = 0; i < n; i++)); do out+=(0000); done
	for i in "${R[@]}"; do out+=("$(printf %04x "0x$i")"); done
	(IFS=:; echo "${out[*]}")
}

log "topology: three dual-stack clusters, IPv4 underlay"
topo_underlay || exit 1
for k in 1 2 3; do
	pods=2
	[ "$k" = 1 ] && pods=3
	topo_cluster "$k" "$pods" && topo6_cluster "$k" "$pods" || exit 1
done
for k in 1 2; do server "$k" 1; server "$k" 2; done
for k in 1 2 3; do
	f=$(write_gossip_config "$k" "$k" "$SEED")
	# The cluster's IPv6 pod CIDR beside its IPv4 one.
	sed -i "s|^cidr = 10.$k.0.0/16\$|&\ncidr = $(cidr6 "$k")|" "$f"
	service_conf "$k" >>"$f"
done
for k in 1 2 3; do start_agent "$k" || exit 1; done
check "every gateway sees the others alive" wait_until 10 eval \
	'all_alive 1 "2 3" && all_alive 2 "1 3" && all_alive 3 "1 2"'

ALL4="[$(pod_ip6 1 1)]:8080 [$(pod_ip6 1 2)]:8080 [$(pod_ip6 2 1)]:8080 [$(pod_ip6 2 2)]:8080"
check "gw3 uses all four IPv6 backends of web6 (health gossiped)" \
	wait_until 10 eval '[ "$(in_use 3 web6)" = "$ALL4" ]'
mgctl 3 services list | sed 's/^/    /'
check "services list -j shows the IPv6 VIP" eval \
	'mgctl 3 -j services list | jq -e ".[] | select(.name == \"web6\" and .vip == \"$VIP\" and .port == 80)" >/dev/null'
check "bpf services lists the IPv6 VIP" eval \
	'mgcli 3 -j bpf services | jq -e ".[] | select(.vip == \"$VIP\" and .port == 80 and .proto == \"tcp\")" >/dev/null'

log "spread: $NCONN connections from c3p1 to [$VIP]:80"
connects c3p1 "$VIP" "$NCONN" | awk '{print $1}' | sort | uniq -c >"$MGDIR/spread"
sed 's/^/    /' "$MGDIR/spread"
spread_ok() {
	local want=$((NCONN / 4)) n who ok=0 tot=0
	while read -r n who; do
		[ "$who" = none ] && return 1
		tot=$((tot + n))
		[ $((n * 100)) -ge $((want * 80)) ] && [ $((n * 100)) -le $((want * 120)) ] &&
			ok=$((ok + 1))
	done <"$MGDIR/spread"
	[ "$ok" = 4 ] && [ "$tot" = "$NCONN" ]
}
check "all four backends within 20% of an equal share" spread_ok
check "a remote backend sees the real client address" eval \
	'connects c3p1 "$VIP" 4 | grep -q " \\[$(expand6 "$(pod_ip6 3 1)")\\]\$"'
check "bpf ct list -j shows the IPv6 flows" eval \
	'[ "$(mgcli 3 -j bpf ct list | jq "[.[] | select(.vip == \"[$VIP]:80\" and (.client | startswith(\"[$(pod_ip6 3 1)]:\")))] | length")" -ge 100 ]'
mgcli 3 bpf ct list | head -3 | sed 's/^/    /'

# echo_bulk NS VIP BYTES: BYTES random bytes to [VIP]:80 and back (the
# backends echo after their greeting); true when all came back intact.
echo_bulk() {
	local tx="$MGDIR/bulk.tx" rx="$MGDIR/bulk.rx"
	head -c "$3" /dev/urandom >"$tx"
	nsx "$1" timeout 20 socat -t 3 - "TCP6:[$2]:80" <"$tx" >"$rx" \
		2>/dev/null
	log "bulk: $(stat -c %s "$rx") bytes back for $3 sent"
	tail -n +2 "$rx" | cmp -s - "$tx"
}
too_big0=$(stat_gw 3 icmp6_too_big)
check "300 kB through the VIP and back (path MTU: packet too big quotes the VIP)" \
	echo_bulk c3p1 "$VIP" 300000
check "... after gw3 answered too-big segments with packet too big" \
	test "$(stat_gw 3 icmp6_too_big)" -gt "$too_big0"

log "affinity local: c1p3 to [$NEAR]:80 (local backends, SNAT)"
check "gw1 uses only cluster 1's backends of near6" wait_until 5 eval \
	'[ "$(in_use 1 near6)" = "[$(pod_ip6 1 1)]:8080 [$(pod_ip6 1 2)]:8080" ]'
connects c1p3 "$NEAR" 60 | sort | uniq -c >"$MGDIR/near"
sed 's/^/    /' "$MGDIR/near"
check "only cluster 1's backends serve, both of them" eval \
	'! grep -v " fd00:1::1[12] " "$MGDIR/near" | grep -q . && grep -q "fd00:1::11 " "$MGDIR/near" && grep -q "fd00:1::12 " "$MGDIR/near"'
check "... and see the gateway's SNAT address" eval \
	'! grep -qv " \[$(expand6 "$(gw_cl_ip6 1)")\]\$" "$MGDIR/near"'
check "bpf ct list -j shows the SNAT of a local flow" eval \
	'mgcli 1 -j bpf ct list | jq -e ".[] | select(.vip == \"[$NEAR]:80\" and (.snat | startswith(\"[$(gw_cl_ip6 1)]:6\")))" >/dev/null'
check "local flows counted under lb_local and lb_reply" eval \
	'[ "$(stat_gw 1 lb_local)" -ge 60 ] && [ "$(stat_gw 1 lb_reply)" -ge 60 ]'

log "the gateways' own hosts to the IPv6 VIPs and pods (TC egress on mg0)"
check "gw3's host routes [$VIP] into mg0 from its cluster address" eval \
	"nsx gw3 ip -6 route get $VIP | grep -q 'dev mg0 .*src $(gw_cl_ip6 3)'"
check "gw3's host to [$VIP]:80: a remote backend, which sees gw3's address" \
	eval '[[ "$(greet gw3 $VIP)" == fd00:[12]::1[12]\ \[$(expand6 "$(gw_cl_ip6 3)")\] ]]'
check "gw1's host to [$NEAR]:80: a local backend (SNAT)" \
	eval '[[ "$(greet gw1 $NEAR)" == fd00:1::1[12]\ * ]]'
check "gw3's host pings a pod of cluster 1 over IPv6" \
	nsx gw3 ping -6 -q -c 2 -i 0.2 -W 2 "$(pod_ip6 1 1)"

log "CLI: services add of IPv6 services"
EXTRA=fd00:96::12
check "services add on gw1 (an IPv6 backend with a weight)" \
	mgctl 1 services add extra6 vip "$EXTRA" port 80 \
	backend "[$(pod_ip6 1 1)]:8080:5"
# gw3 learns it from gossip first, always: its own add then joins the
# learned service (the order once left to chance failed under load).
check "gw3 learns extra6 from gw1 by gossip" wait_until 5 eval \
	'mgctl 3 -j services list | jq -e ".[] | select(.name == \"extra6\" and .source == \"gossip\")" >/dev/null'
check "services add on gw3 of the learned service, no backend of its own" \
	mgctl 3 services add extra6 vip "$EXTRA" port 80
check "... now gw3's own" eval \
	'mgctl 3 -j services list | jq -e ".[] | select(.name == \"extra6\" and .source == \"cli\")" >/dev/null'
check "services add mixing families is refused, and says why" eval \
	'mgctl 3 services add mixed vip fd00:96::13 port 80 backend 10.3.0.11:8080 2>&1 >/dev/null | grep -q "one family per service"'
check "gw3 uses gw1's backend of it, with its weight" wait_until 5 eval \
	'mgctl 3 -j services list | jq -e ".[] | select(.name == \"extra6\") | .backend[] | select(.in_use and .weight == 5 and .cluster_id == 1)" >/dev/null'
connects c3p1 "$EXTRA" 20 | awk '{print $1}' | sort | uniq -c >"$MGDIR/extra"
sed "s/^/    /" "$MGDIR/extra"
check "... and it serves" eval '[ "$(awk "{print \$1, \$2}" "$MGDIR/extra")" = "20 $(pod_ip6 1 1)" ]'
check "kept in state_dir/services" grep -q \
	"^extra6 vip $EXTRA port 80 .* backend \[$(pod_ip6 1 1)\]:8080:5" \
	"$MGDIR/state-gw1/services"
check "services del on gw1" mgctl 1 services del extra6
check "gw3's table of it empties" wait_until 5 eval '[ -z "$(in_use 3 extra6)" ]'
nb0=$(nb_gw 3)
nsx c3p1 timeout 2 bash -c "exec 3<>/dev/tcp/$EXTRA/80" 2>/dev/null
check "... and its packets count under no_backend(_reset)" \
	test "$(nb_gw 3)" -gt "$nb0"
mgctl 3 services del extra6 >/dev/null

log "backend failover: c2p2's server stops"
server_stop 2 2
no_c2p2() { ! in_use 3 web6 | grep -q "$(pod_ip6 2 2)\]"; }
check "a stopped backend leaves gw3's table (health fall, gossip)" \
	wait_until 5 no_c2p2
connects c3p1 "$VIP" 60 | awk '{print $1}' | sort | uniq -c >"$MGDIR/after"
sed 's/^/    /' "$MGDIR/after"
check "new connections go to the three left" eval \
	'! grep -q "none\|$(pod_ip6 2 2)" "$MGDIR/after" && [ "$(wc -l <"$MGDIR/after")" = 3 ]'

for k in 1 2; do server_stop "$k" 1; server_stop "$k" 2; done
summary
