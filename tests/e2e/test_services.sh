#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# e2e: alone (its connection loops and failover timings: a test beside it slows them)
#
# Global services across three clusters (DESIGN §2 path 3, §4 Health):
# gateways gossip (lan profile); clusters 1 and 2 have TCP backends in pod
# namespaces (socat), cluster 3 has clients only.
#
#   - web (10.96.0.10:80/tcp, affinity any): 1200 connections from cluster
#     3 land on all four backends, each within 15% of an equal share;
#   - near (10.96.0.11:80/tcp, affinity local, min_local 2): from cluster 1
#     only cluster 1's backends serve; with one of them stopped (below
#     min_local), cluster 2's join in;
#   - dns (10.96.0.10:53/udp): a UDP service answers through the tunnel;
#   - gw2 dies: within 3 s new connections avoid cluster 2, while a
#     long-lived connection to a cluster 1 backend keeps working;
#   - a backend of cluster 2 stops: within its health checks' fall time
#     gw3's table no longer holds it;
#   - `meshgate services list -j` and `meshgate bpf ct list -j` show it;
#   - `services set` changes a backend's weight under a connection loop
#     without a failed connection.
#
# With --json FILE (make bench) it also writes lb_failover_backend_ms and
# lb_failover_gateway_ms there.
set -u
JSON=
[ "${1:-}" = --json ] && JSON=$2
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
# nb_gw K: packets gateway K found no backend for, answered or dropped.
nb_gw() { echo $(($(stat_gw "$1" no_backend) + $(stat_gw "$1" no_backend_reset))); }
trap 'exit 130' INT
trap 'exit 143' TERM

SEED=$UL_NET.1
VIP=10.96.0.10
NEAR=10.96.0.11
NCONN=${NCONN:-1200}

# service_conf K: the [service] sections of gateway K.
service_conf() {
	local k=$1
	cat <<CONF

[service web]
vip = $VIP
port = 80
proto = tcp
affinity = any
health_interval = 200
health_timeout = 150
rise = 1
fall = 2
CONF
	case $k in 1|2) printf 'backend = %s:8080\nbackend = %s:8080\n' \
		"$(pod_ip "$k" 1)" "$(pod_ip "$k" 2)" ;; esac
	cat <<CONF

[service near]
vip = $NEAR
port = 80
affinity = local
min_local = 2
health_interval = 200
health_timeout = 150
rise = 1
fall = 2
CONF
	case $k in 1|2) printf 'backend = %s:8080\nbackend = %s:8080\n' \
		"$(pod_ip "$k" 1)" "$(pod_ip "$k" 2)" ;; esac
	cat <<CONF

[service dns]
vip = $VIP
port = 53
proto = udp
CONF
	case $k in 1) printf 'backend = %s:5353\n' "$(pod_ip 1 1)" ;; esac
}

# server K N: a TCP echo server on pod N of cluster K, port 8080, that
# first says who it is; and on pod 1 a UDP one on 5353.
server() {
	local ns="c$1p$2" me
	me=$(pod_ip "$1" "$2")
	nsx_bg "$ns" socat TCP-LISTEN:8080,reuseaddr,fork \
		SYSTEM:"echo $me; exec cat" >/dev/null 2>&1
	echo $! >"$MGDIR/srv$1$2.pid"
	if [ "$2" = 1 ]; then
		nsx_bg "$ns" socat UDP-RECVFROM:5353,fork \
			SYSTEM:"echo udp-$me" >/dev/null 2>&1
		echo $! >"$MGDIR/udp$1$2.pid"
	fi
}

log "topology: clusters 1 and 2 with backends, cluster 3 with clients"
topo_underlay && topo_cluster 1 3 && topo_cluster 2 2 && topo_cluster 3 2 || exit 1
for k in 1 2; do server "$k" 1; server "$k" 2; done
for k in 1 2 3; do
	write_gossip_config "$k" "$k" "$SEED" >/dev/null
	service_conf "$k" >>"$MGDIR/gw$k.conf"
done
for k in 1 2 3; do start_agent "$k" || exit 1; done
check "every gateway sees the others alive" wait_until 10 eval \
	'all_alive 1 "2 3" && all_alive 2 "1 3" && all_alive 3 "1 2"'

ALL4="$(pod_ip 1 1):8080 $(pod_ip 1 2):8080 $(pod_ip 2 1):8080 $(pod_ip 2 2):8080"
check "gw3 uses all four backends of web (health gossiped)" \
	wait_until 10 eval '[ "$(in_use 3 web)" = "$ALL4" ]'
mgctl 3 services list | sed 's/^/    /'

log "spread: $NCONN connections from c3p1 to $VIP:80"
connects c3p1 "$VIP" "$NCONN" | sort | uniq -c >"$MGDIR/spread"
sed 's/^/    /' "$MGDIR/spread"
spread_ok() {
	local want=$(($NCONN / 4)) n who ok=0 tot=0
	while read -r n who; do
		[ "$who" = none ] && return 1
		tot=$((tot + n))
		[ $((n * 100)) -ge $((want * 85)) ] && [ $((n * 100)) -le $((want * 115)) ] &&
			ok=$((ok + 1))
	done <"$MGDIR/spread"
	[ "$ok" = 4 ] && [ "$tot" = "$NCONN" ]
}
check "all four backends within 15% of an equal share" spread_ok
check "bpf ct list shows the flows" eval \
	'[ "$(mgcli 3 -j bpf ct list | jq length)" -ge 100 ]'

log "affinity local: c1p3 to $NEAR:80"
connects c1p3 "$NEAR" 60 | sort | uniq -c >"$MGDIR/near"
sed 's/^/    /' "$MGDIR/near"
check "affinity local: only cluster 1's backends serve" eval \
	'! grep -v " 10\.1\.0\." "$MGDIR/near" | grep -q . && grep -q "10.1.0.11" "$MGDIR/near" && grep -q "10.1.0.12" "$MGDIR/near"'
server_stop 1 2
check "below min_local, cluster 2's backends join in" wait_until 5 eval \
	'[ "$(in_use 1 near)" = "$(pod_ip 1 1):8080 $(pod_ip 2 1):8080 $(pod_ip 2 2):8080" ]'
connects c1p3 "$NEAR" 60 | sort | uniq -c >"$MGDIR/near2"
sed 's/^/    /' "$MGDIR/near2"
check "... and serve" eval 'grep -q " 10\.2\.0\." "$MGDIR/near2" && ! grep -q "none\|10.1.0.12" "$MGDIR/near2"'
server 1 2
check "web back to four backends" wait_until 5 eval '[ "$(in_use 3 web)" = "$ALL4" ]'

log "UDP: c3p1 to $VIP:53"
udp_ok() {
	nsx c3p1 bash -c "echo hi | socat -T 1 - UDP:$VIP:53" 2>/dev/null |
		grep -q "udp-$(pod_ip 1 1)"
}
check "a UDP service answers through the tunnel" wait_until 5 udp_ok

log "CLI: services add on gw1 (with a backend) and gw3 (without)"
EXTRA=10.96.0.12
check "services add on gw1" mgctl 1 services add extra vip "$EXTRA" port 80 \
	backend "$(pod_ip 1 1):8080:5"
# gw3 learns it from gossip first, always: its own add then joins the
# learned service (the order once left to chance failed under load).
check "gw3 learns extra from gw1 by gossip" wait_until 5 eval \
	'mgctl 3 -j services list | jq -e ".[] | select(.name == \"extra\" and .source == \"gossip\")" >/dev/null'
check "services add on gw3 of the learned service, no backend of its own" \
	mgctl 3 services add extra vip "$EXTRA" port 80
check "... now gw3's own" eval \
	'mgctl 3 -j services list | jq -e ".[] | select(.name == \"extra\" and .source == \"cli\")" >/dev/null'
check "services add of a taken VIP:port is refused" \
	eval '! mgctl 3 services add other vip "$EXTRA" port 80 2>/dev/null'
check "gw3 uses gw1's backend of it, with its weight" wait_until 5 eval \
	'mgctl 3 -j services list | jq -e ".[] | select(.name == \"extra\") | .backend[] | select(.in_use and .weight == 5 and .cluster_id == 1)" >/dev/null'
connects c3p1 "$EXTRA" 20 | sort | uniq -c >"$MGDIR/extra"
sed "s/^/    /" "$MGDIR/extra"
check "... and it serves" eval '[ "$(cat "$MGDIR/extra" | awk "{print \$1, \$2}")" = "20 $(pod_ip 1 1)" ]'
check "kept in state_dir/services" grep -q "^extra vip $EXTRA port 80" \
	"$MGDIR/state-gw1/services"

log "CLI: services set changes a backend's weight under a connection loop"
# Until 3 s after gw3 has the new weight (a backend re-probed from
# scratch would be out for its rise, 2 s here), at most 5000.
nsx_bg c3p1 bash -c '
	for i in $(seq 1 5000); do
		[ -e '"$MGDIR"'/setstop ] && break
		exec 3<>/dev/tcp/'"$EXTRA"'/80 || { echo none; continue; }
		read -t 5 -r who <&3 || who=none
		echo "$who"
		exec 3<&- 3>&-
	done' >"$MGDIR/setloop" 2>&1
loop_pid=$!
wait_until 5 eval '[ "$(wc -l <"$MGDIR/setloop")" -ge 20 ]'
# A SYN dropped for want of a backend is retransmitted a second later and
# the connection still succeeds: the drop counter is what tells.
nb0=$(nb_gw 3)
check "services set on gw1 (weight 5 -> 9)" mgctl 1 services set extra \
	backend "$(pod_ip 1 1):8080:9"
check "gw3 sees the new weight" wait_until 5 eval \
	'mgctl 3 -j services list | jq -e ".[] | select(.name == \"extra\") | .backend[] | select(.in_use and .weight == 9 and .cluster_id == 1)" >/dev/null'
sleep 3
touch "$MGDIR/setstop"
wait "$loop_pid"
log "    $(wc -l <"$MGDIR/setloop") connections, $(grep -vc "^$(pod_ip 1 1)$" "$MGDIR/setloop") failed"
check "no packet found no backend on gw3 across the set" \
	test "$(nb_gw 3)" = "$nb0"
check "no connection failed across the set" eval \
	'[ "$(wc -l <"$MGDIR/setloop")" -ge 100 ] && ! grep -qv "^$(pod_ip 1 1)$" "$MGDIR/setloop"'
check "set saved in state_dir/services" grep -q \
	"^extra vip $EXTRA port 80 .* backend $(pod_ip 1 1):8080:9$" \
	"$MGDIR/state-gw1/services"
check "services set of an unknown service is refused" \
	eval '! mgctl 1 services set nosuch port 81 2>/dev/null'
check "services del on gw1" mgctl 1 services del extra
check "gw3's table of it empties" wait_until 5 eval '[ -z "$(in_use 3 extra)" ]'
nb0=$(nb_gw 3)
nsx c3p1 timeout 2 bash -c "exec 3<>/dev/tcp/$EXTRA/80" 2>/dev/null
check "... and its packets count under no_backend(_reset)" \
	test "$(nb_gw 3)" -gt "$nb0"
mgctl 3 services del extra >/dev/null

log "CLI: changes that cannot be saved are refused, and not applied"
mgctl 1 services add kept vip 10.96.0.14 port 80 >/dev/null
# As root, permission bits do not stop a write: a file where gw1's
# state_dir is does.
mv "$MGDIR/state-gw1" "$MGDIR/state-gw1.good" && : >"$MGDIR/state-gw1"
KEY=$("$MESHGATE" keygen)
check "services add says why it is not added" eval \
	'mgctl 1 services add unsaved vip 10.96.0.13 port 80 2>&1 >/dev/null | grep -q "not added: saving .*: Not a directory"'
check "... and the service is not there" eval \
	'! mgctl 1 -j services list | jq -e ".[] | select(.name == \"unsaved\")" >/dev/null'
check "services del says why it is not deleted" eval \
	'mgctl 1 services del kept 2>&1 >/dev/null | grep -q "not deleted: saving .*: Not a directory"'
check "... and the service is still there" eval \
	'mgctl 1 -j services list | jq -e ".[] | select(.name == \"kept\")" >/dev/null'
check "endpoints add says why" eval \
	'mgctl 1 endpoints add 10.21.0.0/24 2>&1 >/dev/null | grep -q "not changed: saving .*: Not a directory"'
check "... and the endpoint is not there" eval \
	'! mgctl 1 -j endpoints | jq -e ".[] | select(.prefix == \"10.21.0.0/24\")" >/dev/null'
check "keys install says why" eval \
	'mgctl 1 keys install "$KEY" 2>&1 >/dev/null | grep -q "not changed: saving .*: Not a directory"'
check "... and the keyring is unchanged (no keys)" eval \
	'[ "$(mgctl 1 -j keys | jq length)" = 0 ]'
rm -f "$MGDIR/state-gw1" && mv "$MGDIR/state-gw1.good" "$MGDIR/state-gw1"
check "state_dir back: services add works, saved 0600, no temporary" eval \
	'mgctl 1 services add saved vip 10.96.0.13 port 80 >/dev/null && [ "$(stat -c %a "$MGDIR/state-gw1/services")" = 600 ] && ! ls "$MGDIR/state-gw1" | grep -q tmp'
mgctl 1 services del saved >/dev/null
mgctl 1 services del kept >/dev/null

log "backend failover: c2p2's server stops"
t0=${EPOCHREALTIME/./}
server_stop 2 2
no_c2p2() { ! in_use 3 web | grep -q "$(pod_ip 2 2):"; }
if wait_until 5 no_c2p2; then
	tb=$(((${EPOCHREALTIME/./} - t0) / 1000))
	log "gw3 dropped $(pod_ip 2 2) from web's table after $tb ms"
	check "a stopped backend leaves every table (health fall, gossip)" true
else
	tb=
	check "a stopped backend leaves every table (health fall, gossip)" false
fi
server 2 2
check "... and comes back when it serves again" wait_until 5 eval \
	'[ "$(in_use 3 web)" = "$ALL4" ]'

# long_lived NS VIP PREFIX N OUT: in the background, a connection to VIP:80
# that a backend whose address starts with PREFIX took, then N echoes
# 0.2 s apart, one "ok" or "fail" line each, into OUT.
long_lived() {
	nsx_bg "$1" bash -c '
		for try in $(seq 1 40); do
			exec 3<>/dev/tcp/'"$2"'/80 || continue
			read -t 2 -r who <&3
			case $who in '"$3"'*) break ;; esac
			exec 3<&- 3>&-
		done
		echo "long-lived to $who"
		for i in $(seq 1 '"$4"'); do
			echo "ping$i" >&3
			if read -t 1 -r r <&3 && [ "$r" = "ping$i" ]; then echo ok; else echo fail; fi
			sleep 0.2
		done' >"$5" 2>&1
}

log "agent restart: gw3 and gw1 restart under long-lived connections"
long_lived c3p1 "$VIP" 10.2. 25 "$MGDIR/long3"
l3=$!
long_lived c1p3 "$NEAR" 10.1. 25 "$MGDIR/long1"
l1=$!
sleep 1
nb0=$(($(nb_gw 3) + $(nb_gw 1)))
stop_agent 3 && start_agent 3 && stop_agent 1 && start_agent 1
wait "$l3" "$l1"
nb1=$(($(nb_gw 3) + $(nb_gw 1)))
check "no service packet found no backend across the restarts" \
	test "$nb1" = "$nb0"
check "a flow to a remote backend survives gw3's restart" eval \
	'grep -q "long-lived to 10.2" "$MGDIR/long3" && [ "$(grep -c ok "$MGDIR/long3")" = 25 ]'
check "a flow to a local backend survives gw1's restart" eval \
	'grep -q "long-lived to 10.1" "$MGDIR/long1" && [ "$(grep -c ok "$MGDIR/long1")" = 25 ]'
check "web back to four backends on gw3 after the restarts" wait_until 10 eval \
	'[ "$(in_use 3 web)" = "$ALL4" ] && all_alive 3 "1 2"'
connects c3p1 "$VIP" 40 | sort | uniq -c >"$MGDIR/restarted"
check "new connections work after the restarts" eval \
	'! grep -q none "$MGDIR/restarted" && [ "$(wc -l <"$MGDIR/restarted")" = 4 ]'

log "gateway death: a long-lived connection to cluster 1, then gw2 dies"
nsx_bg c3p1 bash -c '
	for try in $(seq 1 40); do
		exec 3<>/dev/tcp/'"$VIP"'/80 || continue
		read -t 2 -r who <&3
		case $who in 10.1.*) break ;; esac
		exec 3<&- 3>&-
	done
	echo "long-lived to $who"
	for i in $(seq 1 40); do
		echo "ping$i" >&3
		if read -t 1 -r r <&3 && [ "$r" = "ping$i" ]; then echo ok; else echo fail; fi
		sleep 0.2
	done' >"$MGDIR/long" 2>&1
long_pid=$!
sleep 1
t0=${EPOCHREALTIME/./}
pid=$(cat "$MGDIR/gw2.pid")
disown "$pid" 2>/dev/null
kill -9 "$pid"
nsx gw2 ip link set ul0 down
rm -f "$MGDIR/gw2.pid"
only1() { [ "$(in_use 3 web)" = "$(pod_ip 1 1):8080 $(pod_ip 1 2):8080" ]; }
if wait_until 6 only1; then
	tw=$(((${EPOCHREALTIME/./} - t0) / 1000))
	log "cluster 2's backends withdrawn by gw3 after $tw ms"
	check "cluster 2's backends withdrawn within 3 s" test "$tw" -le 3000
else
	tw=
	check "cluster 2's backends withdrawn within 3 s" false
fi
connects c3p1 "$VIP" 100 | sort | uniq -c >"$MGDIR/after"
sed 's/^/    /' "$MGDIR/after"
check "new connections go to cluster 1 only" eval \
	'! grep -qv " 10\.1\.0\.1[12]$" "$MGDIR/after"'
wait "$long_pid"
head -1 "$MGDIR/long" | sed 's/^/    /'
check "the long-lived connection kept working" eval \
	'grep -q "long-lived to 10.1" "$MGDIR/long" && ! grep -q fail "$MGDIR/long" && [ "$(grep -c ok "$MGDIR/long")" = 40 ]'

for k in 1 2; do server_stop "$k" 1; server_stop "$k" 2; done
if [ -n "$JSON" ]; then
	printf '{"lb_failover_backend_ms": %s, "lb_failover_gateway_ms": %s}\n' \
		"${tb:-null}" "${tw:-null}" >"$JSON"
fi
summary
