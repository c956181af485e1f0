#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Reload (issue 10 item 5): SIGHUP and `meshgate reload` re-read the
# configuration and apply the difference without touching the attachment.
# Two gossiping clusters; a global service whose backends live in cluster 2.
# While a ping stream as fast as ping goes (tens of thousands a second here)
# crosses from cluster 1 to cluster 2 (counted by nftables as it leaves the
# sending pod and as it reaches the receiving one) and a TCP connection
# through the VIP stays open, gw2's
# service gains a backend and a weight by SIGHUP: no packet is lost, the
# connection keeps its backend, the links and programs are the same, and
# both gateways see the new backend set.  Under the same stream a pod
# CIDR added to gw2 becomes reachable from cluster 1, and the gossip key
# rotates by reload (added everywhere, made primary, the old one removed):
# no packet lost, the members stay alive.  A static peer comes and goes by
# reload.  A file that fails the check is
# refused with its message (by `meshgate reload` and by SIGHUP), the agent
# keeps running with the configuration it had; a key only a restart applies
# is named; the log level changes at once.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

VIP=10.96.0.10
C2P1=$(pod_ip 2 1)
C2P2=$(pod_ip 2 2)

# count_echo NS HOOK MATCH: an nftables counter of echo requests in NS.
count_setup() {
	nsx "$1" nft -f - <<NFT
table inet mgcnt {
	chain c { type filter hook $2 priority 0; $3 icmp type echo-request counter; }
}
NFT
}
count_read() {
	nsx "$1" nft -j list chain inet mgcnt c |
		jq '[.. | .counter? | select(. != null) | .packets] | add // 0'
}

run() {
	"$@" >"$MGDIR/out" 2>"$MGDIR/err"
	rc=$?
}

# service K BACKEND...: gateway K's [service web].
service() {
	local k=$1 b
	shift
	printf '\n[service web]\nvip = %s\nport = 80\nhealth_interval = 200\nhealth_timeout = 150\nrise = 1\n' "$VIP"
	for b in "$@"; do printf 'backend = %s\n' "$b"; done
}

log "topology: two clusters, gossip, [service web] with backends in cluster 2"
topo_underlay && topo_cluster 1 && topo_cluster 2 || exit 1
K1=$("$MESHGATE" keygen)
K2=$("$MESHGATE" keygen)
f1=$(write_gossip_config 1 1 "$UL_NET.2" "$K1")
f2=$(write_gossip_config 2 2 "$UL_NET.1" "$K1")
service 1 >>"$f1"
service 2 "$C2P1:8080" >>"$f2"
start_agent 1 && start_agent 2 || exit 1
greeter 2 1
greeter 2 2
check "the gateways see each other alive" \
	wait_until 10 all_alive 1 2
check "gw1 uses the one backend of web" \
	wait_until 10 eval '[ "$(in_use 1 web)" = "$C2P1:8080" ]'
nsx c1p1 ping -c 1 -W 2 "$C2P1" >/dev/null

pid2=$(cat "$MGDIR/gw2.pid")
pin2=$(pin_dir 2)
link_id() { bpftool -j link show pinned "$pin2/link_$1" | jq -r .id; }
links0="$(link_id cl0) $(link_id ul0) $(xdp_prog_id gw2 cl0) $(xdp_prog_id gw2 ul0)"
attached_as_before() {
	[ "$(link_id cl0) $(link_id ul0) $(xdp_prog_id gw2 cl0) $(xdp_prog_id gw2 ul0)" = "$links0" ]
}

# A TCP connection through the VIP opened before the reload, used after.
nsx_bg c1p1 timeout 60 bash -c '
	exec 3<>/dev/tcp/'"$VIP"'/80 || exit 1
	read -t 5 -r who <&3; echo "before $who"
	for i in $(seq 1 400); do [ -e '"$MGDIR"'/go ] && break; sleep 0.1; done
	echo hello >&3; read -t 5 -r back <&3; echo "after $back"' \
	>"$MGDIR/conn.txt" 2>&1
conn=$!
check "a connection through the VIP reaches $C2P1" \
	wait_until 5 grep -q "^before $C2P1" "$MGDIR/conn.txt"

count_setup c1p1 output "ip daddr $C2P1" && \
	count_setup c2p1 input "ip saddr $(pod_ip 1 1)" || exit 1
log "stream c1p1 -> c2p1: pings as fast as ping sends them, until stopped"
t0=$(date +%s.%N)
nsx_bg c1p1 timeout 60 ping -q -i 0.0001 "$C2P1" >"$MGDIR/stream.txt" 2>&1
stream=$!
sleep 1

log "gw2: web gains $C2P2 (weight 50); SIGHUP"
service 2 "$C2P1:8080" "$C2P2:8080 50" >"$MGDIR/web2"
sed -i '/^\[service web\]/,$d' "$f2"
cat "$MGDIR/web2" >>"$f2"
kill -HUP "$pid2"
check "SIGHUP: the agent reloads and keeps running" \
	wait_until 5 eval 'grep -q "reload: done (services, applied)" "$MGDIR/gw2.log" && kill -0 $pid2'
check "gw2 uses both backends of web, $C2P2 with weight 50" \
	wait_until 15 eval '[ "$(in_use 2 web)" = "$C2P1:8080 $C2P2:8080" ] &&
		mgctl 2 -j services list | jq -e ".[] | select(.name == \"web\") | .backend[] | select(.address == \"$C2P2:8080\" and .weight == 50)" >/dev/null'
check "gw1 learns the new backend by gossip" \
	wait_until 15 eval '[ "$(in_use 1 web)" = "$C2P1:8080 $C2P2:8080" ]'
touch "$MGDIR/go"
check "the connection opened before keeps its backend" \
	eval 'wait $conn; grep -q "^after hello" "$MGDIR/conn.txt"'
sleep 1
kill -INT "$stream"
check "ping stream stopped" wait "$stream"
t1=$(date +%s.%N)
sleep 0.5	# the last ones in flight
sent=$(count_read c1p1)
got=$(count_read c2p1)
log "echo requests: $sent sent by c1p1, $got at c2p1, over $(echo "$t1 - $t0" | bc) s"
check "the stream ran through the reload (at least 10000 packets)" \
	test "$sent" -ge 10000
check "no packet lost across the reload (counted at c2p1)" \
	test "$got" -eq "$sent"
check "the attachment is untouched: same links, same programs" \
	attached_as_before

# around DESC CMD...: CMD under a ping stream c1p1 -> c2p1 as fast as ping
# sends; every echo request that left c1p1 arrived at c2p1 (nftables
# counters, as above) and the gateways stay alive to each other.
around() {
	local desc=$1 s0 g0 s1 g1 st
	shift
	s0=$(count_read c1p1) g0=$(count_read c2p1)
	nsx_bg c1p1 timeout 60 ping -q -i 0.0001 "$C2P1" >/dev/null 2>&1
	st=$!
	sleep 1
	"$@"
	sleep 1
	kill -INT "$st"
	wait "$st"
	sleep 0.5
	s1=$(($(count_read c1p1) - s0)) g1=$(($(count_read c2p1) - g0))
	log "echo requests across $desc: $s1 sent, $g1 arrived"
	check "$desc: the stream ran (at least 10000 packets)" test "$s1" -ge 10000
	check "$desc: no packet lost" test "$g1" -eq "$s1"
	check "$desc: the members stay alive" eval \
		'all_alive 1 2 && all_alive 2 1 && ! grep -q "gossip: \(gw[12] suspect\|probe of gw[12] failed\|marking gw[12] failed\)" "$MGDIR"/gw[12].log'
}
reload_all() { run mgctl 1 reload && run mgctl 2 reload; }
primary() { mgctl "$1" -j keys | jq -r '.[] | select(.primary) | .key'; }

log "a new pod subnet of cluster 2 (10.22.0.0/16) by reload"
nsx gw2 ip addr add 10.22.0.1/24 dev cl0
new_ns c2p9 && veth_into c2p9 eth0 c2 p9 || exit 1
nsx c2 ip link set p9 master br0
nsx c2p9 ip addr add 10.22.0.11/24 dev eth0
pod_csum c2p9
nsx c2p9 ip route add default via 10.22.0.1
check "before: 10.22.0.11 is not reachable from cluster 1" \
	eval '! nsx c1p1 ping -q -c 1 -W 1 10.22.0.11 >/dev/null'
add_cidr() {
	sed -i 's|^cidr = 10.2.0.0/16$|&\ncidr = 10.22.0.0/16|' "$f2"
	run mgctl 2 reload
}
around "a CIDR added by reload" add_cidr
check "reload: exit 0, the CIDR applied" eval \
	'[ "$rc" -eq 0 ] && grep -q "reload: done (cidrs, applied)" "$MGDIR/gw2.log"'
check "gw1 learns 10.22.0.0/16 of cluster 2 by gossip" wait_until 5 eval \
	'mgcli 1 -j bpf endpoints | jq -e ".[] | select(.prefix == \"10.22.0.0/16\" and .cluster_id == 2)" >/dev/null'
check "c1p1 reaches the new pod 10.22.0.11, and back" \
	nsx c1p1 ping -q -c 3 -i 0.1 -W 2 10.22.0.11
check "... the new pod reaches c1p1" \
	nsx c2p9 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip 1 1)"

log "endpoints from a route table, switched on and off by reload"
nsx gw2 ip route add 10.23.0.0/24 via "$C2P1" dev cl0 table 100
sed -i 's|^cidr = 10.22.0.0/16$|&\nroute_table = 100|' "$f2"
run mgctl 2 reload
check "route_table = 100 by reload: exit 0" test "$rc" -eq 0
check "... gw1 learns 10.23.0.0/24 of cluster 2" wait_until 5 eval \
	'mgcli 1 -j bpf endpoints | jq -e ".[] | select(.prefix == \"10.23.0.0/24\" and .cluster_id == 2)" >/dev/null'
sed -i '/^route_table = 100$/d' "$f2"
run mgctl 2 reload
check "route_table off by reload: gone from gw1 again" wait_until 5 eval \
	'! mgcli 1 -j bpf endpoints | jq -e ".[] | select(.prefix == \"10.23.0.0/24\")" >/dev/null'

log "key rotation by reload: the new key everywhere, then primary, then the old one out"
add_key() {
	sed -i "s|^key = $K1\$|&\nkey = $K2|" "$f1" "$f2"
	reload_all
}
around "a second key added by reload" add_key
check "both gateways hold two keys, $K1 still primary" eval \
	'[ "$(mgctl 1 -j keys | jq length)" = 2 ] && [ "$(mgctl 2 -j keys | jq length)" = 2 ] &&
	 [ "$(primary 1)" = "$K1" ] && [ "$(primary 2)" = "$K1" ]'
use_key() {
	# (a key may hold "/": sed addresses use "|")
	sed -i "\\|^key = $K2\$|d; s|^key = $K1\$|key = $K2\\nkey = $K1|" \
		"$f1" "$f2"
	reload_all
}
around "the new key made primary by reload" use_key
check "the new key is primary on both" eval \
	'[ "$(primary 1)" = "$K2" ] && [ "$(primary 2)" = "$K2" ]'
drop_key() {
	sed -i "\\|^key = $K1\$|d" "$f1" "$f2"
	reload_all
}
around "the old key removed by reload" drop_key
check "one key left on both, the new one" eval \
	'[ "$(mgctl 1 -j keys | jq -r ".[].key")" = "$K2" ] && [ "$(mgctl 2 -j keys | jq -r ".[].key")" = "$K2" ]'
check "gossip still flows: gw1 sees gw2 alive after a fresh probe round" \
	wait_until 5 all_alive 1 2
K3=$("$MESHGATE" keygen)
mgctl 2 keys install "$K3" >/dev/null
sed -i "s|^key = $K2\$|&\\nkey = $K3|" "$f2"
run mgctl 2 reload
check "key lines under a keyring of \`meshgate keys\`: said to be outranked" \
	eval '[ "$rc" -eq 0 ] && grep -q "outranks the key lines" "$MGDIR/err"'
sed -i "\\|^key = $K3\$|d" "$f2"
run mgctl 2 reload

log "meshgate reload: the log level"
sed -i 's/^log_level = .*/log_level = debug/' "$f2"
run mgctl 2 reload
check "reload: exit 0, says reloaded" \
	eval '[ "$rc" -eq 0 ] && grep -q "reloaded" "$MGDIR/out"'
check "... the log level is debug at once" \
	grep -q "reload: done (log level, applied)" "$MGDIR/gw2.log"

log "a static peer added and removed by reload"
cp "$f1" "$MGDIR/gw1.before"
printf '\n[peer gw9]\ncluster = cluster9\ncluster_id = 9\ntunnel_address = %s.9\ncidr = 10.9.0.0/16\n' \
	"$UL_NET" >>"$f1"
run mgctl 1 reload
check "reload with a new [peer]: exit 0" test "$rc" -eq 0
check "... its tunnel and its cluster are in gw1's maps" \
	wait_until 5 eval 'mgcli 1 -j bpf peers | jq -e ".[] | select(.tunnel_address == \"$UL_NET.9\")" >/dev/null &&
		mgcli 1 -j bpf endpoints | jq -e ".[] | select(.prefix == \"10.9.0.0/16\" and .cluster_id == 9)" >/dev/null'
cp "$MGDIR/gw1.before" "$f1"
run mgctl 1 reload
check "reload without it: gone from the maps again" \
	wait_until 5 eval '! mgcli 1 -j bpf peers | jq -e ".[] | select(.tunnel_address == \"$UL_NET.9\")" >/dev/null &&
		! mgcli 1 -j bpf endpoints | jq -e ".[] | select(.cluster_id == 9)" >/dev/null'

log "a key only a restart applies"
sed -i 's/^underlay_interface = ul0$/&\nvxlan_port = 4790/' "$f2"
run mgctl 2 reload
check "reload: exit 0, names what waits for a restart" \
	eval '[ "$rc" -eq 0 ] && grep -q "applied at the next restart: vxlan_port" "$MGDIR/gw2.log"'
sed -i '/^vxlan_port = 4790$/d' "$f2"

log "a file that fails the check"
cp "$f2" "$MGDIR/good2.conf"
sed -i 's/^id = 2$/id = 300/' "$f2"
run mgctl 2 reload
check "reload of a bad file: exit 1" test "$rc" -eq 1
check "... says file:line and key" \
	grep -q "^$f2:[0-9]*: \[cluster\] id:" "$MGDIR/err"
check "... and that the running configuration is kept" \
	grep -q "refused; the running configuration is kept" "$MGDIR/err"
check "... the agent runs on and answers" \
	eval 'kill -0 $pid2 && mgctl 2 status >/dev/null'
kill -HUP "$pid2"
check "SIGHUP with a bad file: refused in the log" \
	wait_until 5 eval '[ "$(grep -c "refused; the running configuration is kept" "$MGDIR/gw2.log")" -ge 2 ]'
check "... the agent runs on" eval 'kill -0 $pid2 && mgctl 2 status >/dev/null'
check "... with the services it had" \
	eval '[ "$(in_use 2 web)" = "$C2P1:8080 $C2P2:8080" ]'
sed -i "s/^id = 300$/id = 2/; s/^\(tunnel_address = \).*/\110.2.0.99/" "$f2"
run mgctl 2 reload
check "a tunnel address inside a pod CIDR is refused" \
	eval '[ "$rc" -eq 1 ] && grep -q "tunnel_address: 10.2.0.99 is inside 10.2.0.0/16" "$MGDIR/err"'
cp "$MGDIR/good2.conf" "$f2"
check "still forwarding: c1p1 reaches c2p1" \
	nsx c1p1 ping -q -c 3 -i 0.1 -W 2 "$C2P1"
check "the attachment is still untouched" attached_as_before

summary
