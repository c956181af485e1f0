#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Topology helpers shared by the e2e tests, the demo and the bench.
# Everything a run creates (namespaces, pin directories, files, processes)
# carries the run's prefix $MGP and is removed by topo_cleanup, which the
# caller installs as an EXIT trap.
#
#   underlay:   namespace $MGP-ul with bridge br0, 192.168.200.0/24
#   cluster K:  gateway namespace $MGP-gwK        (cl0 10.K.0.1/24, ul0 192.168.200.K/24)
#               switch namespace  $MGP-cK          (bridge br0)
#               pods              $MGP-cKpN         (eth0 10.K.0.(10+N)/24, default via 10.K.0.1)
#   pod CIDR of cluster K: 10.K.0.0/16; tunnel address of gateway K: 192.168.200.K

MESHGATE=${MESHGATE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/meshgate}
MGP=${MGP:-mg$(printf '%04x' $((RANDOM % 65536)))$$}
MGP=${MGP:0:9}
MGDIR=${MGDIR:-/tmp/$MGP}
UL_NET=192.168.200
mkdir -p "$MGDIR"

nsx() { local ns=$1; shift; ip netns exec "$MGP-$ns" "$@"; }
# `ip netns exec` mounts a private /sys, which hides /sys/fs/bpf: the agent
# and the CLI enter only the network namespace, so their pins stay shared.
nsnet() { local ns=$1; shift; nsenter --net="/run/netns/$MGP-$ns" "$@"; }

# nsx_bg / nsnet_bg NS CMD...: the same in the background, with $! the
# command's own pid.  (A shell function sent to the background runs in a
# subshell: $! would be that subshell, and killing it would leave the
# command running.)
nsx_bg() { local ns=$1; shift; ip netns exec "$MGP-$ns" "$@" & }
nsnet_bg() { local ns=$1; shift; nsenter --net="/run/netns/$MGP-$ns" "$@" & }

log() { printf '[%s] %s\n' "$(date +%T)" "$*"; }

# veth_into NS_A IF_A NS_B IF_B: a veth pair between two of our namespaces.
veth_into() {
	ip link add "$MGP-t0" type veth peer name "$MGP-t1" || return 1
	ip link set "$MGP-t0" netns "$MGP-$1" name "$2" || return 1
	ip link set "$MGP-t1" netns "$MGP-$3" name "$4" || return 1
	nsx "$1" ip link set "$2" up
	nsx "$3" ip link set "$4" up
}

# A switch port that receives frames redirected by XDP needs NAPI on its
# veth: GRO on is enough (Linux >= 5.13), no XDP program required.
napi_on() { nsx "$1" ethtool -K "$2" gro on >/dev/null 2>&1 || true; }

# A pod's veth would hand its TCP/UDP packets on with the checksum left to
# "hardware" (CHECKSUM_PARTIAL).  XDP sees the frame, not that promise: once
# encapsulated and redirected, the unfinished checksum is what arrives.  A
# pod behind a real NIC always sends complete checksums; make ours do so.
pod_csum() { nsx "$1" ethtool -K eth0 tx off >/dev/null 2>&1 || true; }

new_ns() {
	ip netns add "$MGP-$1" || return 1
	nsx "$1" ip link set lo up
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=0 2>/dev/null || true
}

# UL_MTU, when set, is the MTU of the underlay links (e.g. 1550: room for
# VXLAN's 50 bytes over 1500-byte pod frames, as on a jumbo-frame underlay).
# Unset, every link keeps the kernel's 1500.
UL_MTU=${UL_MTU:-}

# ul_mtu NS IF PORT: apply UL_MTU to an underlay veth (IF in NS, PORT on br0).
ul_mtu() {
	[ -n "$UL_MTU" ] || return 0
	nsx "$1" ip link set "$2" mtu "$UL_MTU"
	nsx ul ip link set "$3" mtu "$UL_MTU"
}

topo_underlay() {
	new_ns ul || return 1
	nsx ul ip link add br0 type bridge
	nsx ul ip link set br0 up
}

# wire_gateway NS K PORT CL_ADDR UL_ADDR: gateway namespace NS gets cl0 on
# cluster K's switch (as port PORT) and ul0 on the underlay, forwarding on.
wire_gateway() {
	local g=$1 k=$2 port=$3
	nsx "$g" sysctl -qw net.ipv4.ip_forward=1
	nsx "$g" sysctl -qw net.ipv4.conf.all.rp_filter=0
	nsx "$g" sysctl -qw net.ipv4.conf.default.rp_filter=0

	veth_into "$g" cl0 "c$k" "$port" || return 1
	nsx "c$k" ip link set "$port" master br0
	napi_on "c$k" "$port"
	nsx "$g" ip addr add "$4/24" dev cl0

	veth_into "$g" ul0 ul "$g" || return 1
	nsx ul ip link set "$g" master br0
	napi_on ul "$g"
	ul_mtu "$g" ul0 "$g"
	nsx "$g" ip addr add "$5/24" dev ul0
	# Checksums completed on the way out, as a NIC does on the wire: a
	# veth hands the host's own packets (tc.bpf.c encapsulates them) to
	# its peer with the inner checksum still to do, and the peer
	# gateway's XDP would pass that on to a pod as it is.
	nsx "$g" ethtool -K ul0 tx off >/dev/null 2>&1 || true
}

# topo_cluster K [PODS]: switch, gateway and pods of cluster K (no agent yet).
topo_cluster() {
	local k=$1 pods=${2:-2} n
	new_ns "c$k" && new_ns "gw$k" || return 1
	nsx "c$k" ip link add br0 type bridge
	nsx "c$k" ip link set br0 up
	wire_gateway "gw$k" "$k" gw "10.$k.0.1" "$UL_NET.$k" || return 1

	for n in $(seq 1 "$pods"); do
		new_ns "c${k}p$n" || return 1
		veth_into "c${k}p$n" eth0 "c$k" "p$n" || return 1
		nsx "c$k" ip link set "p$n" master br0
		nsx "c${k}p$n" ip addr add "10.$k.0.$((10 + n))/24" dev eth0
		pod_csum "c${k}p$n"
		nsx "c${k}p$n" ip route add default via "10.$k.0.1"
	done
}

# pod_ip K N
pod_ip() { echo "10.$1.0.$((10 + $2))"; }

pin_dir() { echo "/sys/fs/bpf/$MGP-gw$1"; }

# config_head NAME K: the [agent] section of gateway NAME and the [cluster]
# section of cluster K, its IPv4 CIDR last (a caller may add more lines).
config_head() {
	cat <<CONF
[agent]
pin_dir = $(pin_dir "$1")
log_level = ${MG_LOG_LEVEL:-info}
state_dir = $MGDIR/state-gw$1
control_socket = $MGDIR/gw$1.sock

[cluster]
name = cluster$2
id = $2
cidr = 10.$2.0.0/16
CONF
}

# write_config K "PEER_K ..." [extra [gateway] lines]: meshgate config for gateway K
# with static peers (meshgate or kernel gateways alike).
write_config() { write_config_fams "$1" "$2" 4 0 "${3:-}"; }

# tunnel_lines K FAMILIES: gateway K's tunnel_address lines, one for each
# family of FAMILIES ("4", "6" or "4 6"; 6 needs lib6.sh).
tunnel_lines() {
	local fam
	for fam in $2; do
		case $fam in
		4) echo "tunnel_address = $UL_NET.$1" ;;
		6) echo "tunnel_address = $(gw_ul_ip6 "$1")" ;;
		esac
	done
}

# write_config_fams K "PEER_K ..." FAMILIES DUAL [extra [gateway] lines]:
# write_config with tunnel addresses (own and the peers') of FAMILIES, and
# with DUAL=1 each cluster's IPv6 pod CIDR too (lib6.sh's write_config6).
write_config_fams() {
	local k=$1 peers=$2 fams=$3 dual=$4 extra=${5:-} p f="$MGDIR/gw$1.conf"
	config_head "$k" "$k" >"$f"
	if [ "$dual" = 1 ]; then
		echo "cidr = $(cidr6 "$k")" >>"$f"
	fi
	cat >>"$f" <<CONF

[gateway]
name = gw$k
$(tunnel_lines "$k" "$fams")
cluster_interface = cl0
underlay_interface = ul0
$extra
CONF
	for p in $peers; do
		cat >>"$f" <<CONF

[peer gw$p]
cluster = cluster$p
cluster_id = $p
$(tunnel_lines "$p" "$fams")
cidr = 10.$p.0.0/16
CONF
		if [ "$dual" = 1 ]; then
			echo "cidr = $(cidr6 "$p")" >>"$f"
		fi
	done
	echo "$f"
}

# start_agent K: run the agent of gateway K in its namespace, in the background.
start_agent() {
	local k=$1
	# wait_attached reads only what this run of the agent logs.
	cat "$MGDIR/gw$k.log" 2>/dev/null | wc -l >"$MGDIR/gw$k.logstart"
	nsnet_bg "gw$k" "$MESHGATE" agent -c "$MGDIR/gw$k.conf" \
		>>"$MGDIR/gw$k.log" 2>&1
	echo $! >"$MGDIR/gw$k.pid"
	wait_attached "$k"
}

# wait_attached K: until the XDP links of gateway K are pinned (bounded).
wait_attached() {
	local i from
	from=$(($(cat "$MGDIR/gw$1.logstart" 2>/dev/null || echo 0) + 1))
	for i in $(seq 1 100); do
		[ -e "$(pin_dir "$1")/link_cl0" ] && [ -e "$(pin_dir "$1")/link_ul0" ] &&
			tail -n "+$from" "$MGDIR/gw$1.log" 2>/dev/null |
			grep -q running && return 0
		sleep 0.1
	done
	log "agent of gw$1 did not start:"; tail -20 "$MGDIR/gw$1.log" >&2
	return 1
}

stop_agent() {
	local pidf="$MGDIR/gw$1.pid" pid i
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill "$pid" 2>/dev/null
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	rm -f "$pidf"
}

# kernel_vxlan_gateway K "PEER_K ...": gateway K is the kernel's own VXLAN
# device (no meshgate), speaking meshgate's conventions: VNI = own cluster
# id, inner MACs 02:6d:67:00:00:<cluster id>.
kernel_vxlan_gateway() {
	local k=$1 peers=$2 p
	nsx "gw$k" ip link add vx0 type vxlan external dstport 4789 \
		local "$UL_NET.$k" nolearning || return 1
	nsx "gw$k" ip link set vx0 address "02:6d:67:00:00:$(printf %02x "$k")" up
	for p in $peers; do
		nsx "gw$k" ip neigh add "169.254.0.$p" \
			lladdr "02:6d:67:00:00:$(printf %02x "$p")" dev vx0 nud permanent
		nsx "gw$k" ip route add "10.$p.0.0/16" via "169.254.0.$p" dev vx0 \
			onlink encap ip id "$k" dst "$UL_NET.$p"
	done
}

topo_cleanup() {
	local f ns
	for f in "$MGDIR"/*.pid; do
		[ -f "$f" ] || continue
		kill "$(cat "$f")" 2>/dev/null
	done
	sleep 0.2
	for f in "$MGDIR"/*.pid; do
		[ -f "$f" ] || continue
		kill -9 "$(cat "$f")" 2>/dev/null
	done
	for ns in $(ip netns list | awk '{print $1}' | grep "^$MGP-"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	for f in /sys/fs/bpf/"$MGP"-*; do
		[ -e "$f" ] || continue
		"$MESHGATE" -p "$f" down >/dev/null 2>&1 || rm -rf "$f"
	done
	rm -rf "$MGDIR"
}

# Test accounting: check NAME CMD... records a pass or a failure.
T_PASS=0 T_FAIL=0
check() {
	local name=$1; shift
	if "$@"; then
		T_PASS=$((T_PASS + 1)); echo "ok   - $name"
	else
		T_FAIL=$((T_FAIL + 1)); echo "FAIL - $name"
	fi
}
summary() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" -eq 0 ]
}

# stat_of PINDIR REASON: packets counted under a reason.
stat_of() {
	"$MESHGATE" -j -p "$1" stats | tr '{' '\n' |
		grep "\"reason\":\"$2\"" | sed 's/.*"packets":\([0-9]*\).*/\1/'
}

# --- helpers for the tests and the demo -----------------------------------

# mgcli K ARGS...: the CLI on gateway K's pins, in its namespace (so that
# interface names are its own).
mgcli() { local k=$1; shift; nsnet "gw$k" "$MESHGATE" -p "$(pin_dir "$k")" "$@"; }

# stat_gw K REASON: packets gateway K counted under a reason.
stat_gw() { local n; n=$(stat_of "$(pin_dir "$1")" "$2"); echo "${n:-0}"; }

# stat_bytes_gw K REASON: bytes gateway K counted under a reason.
stat_bytes_gw() {
	"$MESHGATE" -j -p "$(pin_dir "$1")" stats |
		jq -r --arg r "$2" '.[] | select(.reason == $r) | .bytes'
}

# xdp_prog_id NS IF: id of the XDP program on an interface ("" when none).
xdp_prog_id() {
	nsx "$1" ip -j link show dev "$2" | jq -r '.[0].xdp.prog.id // empty'
}

# greeter K N: a TCP server on pod N of cluster K, port 8080, that first
# says which pod it is and then echoes (keeping the connection open until
# the client closes it).
greeter() {
	local me
	me=$(pod_ip "$1" "$2")
	nsx_bg "c$1p$2" socat TCP-LISTEN:8080,reuseaddr,fork \
		SYSTEM:"echo $me; exec cat" >/dev/null 2>&1
}

# greet NS IP: the first line a TCP connection to IP:80 (IPv4 or IPv6)
# from namespace NS gets; nothing when none comes within 4 s.
greet() {
	nsx "$1" timeout 5 bash -c 'exec 3<>/dev/tcp/'"$2"'/80 &&
		read -t 4 -r who <&3 && echo "$who"' 2>/dev/null
}

# connects NS IP N: N short connections from NS to IP:80 (IPv4 or IPv6);
# prints the greeting of each, "none" when none came within 5 s.
connects() {
	nsx "$1" bash -c '
		for i in $(seq 1 '"$3"'); do
			exec 3<>/dev/tcp/'"$2"'/80 || { echo none; continue; }
			read -t 5 -r who <&3 || who=none
			echo "$who"
			exec 3<&- 3>&-
		done'
}

# in_use NAME SVC: the backends gateway NAME's Maglev table holds for a
# service (ADDR:PORT, sorted, space separated).
in_use() {
	mgctl "$1" -j services list 2>/dev/null | jq -r --arg s "$2" \
		'[.[] | select(.name == $s) | .backend[] | select(.in_use) | .address] | sort | join(" ")'
}

# server_stop K N: stop the servers of pod N of cluster K (its pid file
# $MGDIR/srvKN.pid, and whatever else runs in its namespace).
server_stop() {
	local f="$MGDIR/srv$1$2.pid"
	[ -f "$f" ] || return 0
	kill "$(cat "$f")" 2>/dev/null
	ip netns pids "$MGP-c$1p$2" | xargs -r kill 2>/dev/null
	rm -f "$f"
}

# lb_service NAME VIP [BACKEND...]: a [service] section (port 80, TCP,
# health checked every 200 ms, up after one success) with backends
# ADDR:8080.
lb_service() {
	local name=$1 vip=$2 b
	shift 2
	printf '\n[service %s]\nvip = %s\nport = 80\nhealth_interval = 200\nhealth_timeout = 150\nrise = 1\n' \
		"$name" "$vip"
	for b in "$@"; do printf 'backend = %s:8080\n' "$b"; done
}

# wait_listen NS PORT: until a TCP socket (IPv4 or IPv6) listens on PORT in
# NS (bounded).
wait_listen() {
	local i
	for i in $(seq 1 50); do
		nsx "$1" ss -Hltn "sport = :$2" | grep -q . && return 0
		sleep 0.1
	done
	return 1
}

# tcp_transfer SRC DST DST_IP BYTES [PORT [SECONDS]]: send BYTES random
# bytes over TCP from pod SRC to pod DST with socat, IPv4 or IPv6 by the
# address, within SECONDS (default 15); true when all of them arrived
# intact.
tcp_transfer() {
	local src=$1 dst=$2 ip=$3 bytes=$4 port=${5:-5001} secs=${6:-15}
	local tx="$MGDIR/tcp.$src.tx" rx="$MGDIR/tcp.$dst.rx" lsn conn at pid got rc
	if [[ $ip == *:* ]]; then
		lsn=TCP6-LISTEN at="[$ip]:$port"
	else
		lsn=TCP4-LISTEN at="$ip:$port"
	fi
	conn=${lsn%-LISTEN}:$at
	head -c "$bytes" /dev/urandom >"$tx"
	rm -f "$rx"
	nsx_bg "$dst" timeout "$((secs + 5))" socat -u \
		"$lsn:$port,reuseaddr" "CREATE:$rx"
	pid=$!
	wait_listen "$dst" "$port" || { kill "$pid" 2>/dev/null; return 1; }
	nsx "$src" timeout "$secs" socat -u "OPEN:$tx" "$conn"
	wait "$pid"
	got=$(stat -c %s "$rx" 2>/dev/null || echo 0)
	log "TCP $src -> $dst ($at): $got of $bytes bytes received"
	[ "$got" -eq "$bytes" ] && cmp -s "$tx" "$rx"
	rc=$?
	rm -f "$tx" "$rx"
	return $rc
}

# cap_start NS IF FILE [FILTER...]: tcpdump into FILE in the background,
# until cap_stop FILE (or 60 s).
cap_start() {
	local ns=$1 ifc=$2 f=$3 i
	shift 3
	nsx_bg "$ns" timeout 60 tcpdump -i "$ifc" -n -U --immediate-mode \
		-w "$f" "$@" 2>"$f.err"
	echo $! >"$f.cap"
	for i in $(seq 1 50); do
		grep -q listening "$f.err" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

cap_stop() {
	local pid
	pid=$(cat "$1.cap" 2>/dev/null) || return 0
	sleep 0.3	# let the last frames in
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rm -f "$1.cap"
	return 0
}

# cap_count FILE [FILTER...]: packets in a capture that match a filter.
cap_count() {
	local f=$1
	shift
	tcpdump -n -r "$f" --count "$@" 2>/dev/null | awk '{print $1 + 0}'
}

# --- gossip: gateways that find each other, a second gateway per cluster ----
#
# A gateway is named by its namespace suffix: "K" is gateway gwK of cluster
# K (topo_cluster), "Kb" its sibling gwKb (topo_gateway2).  pin_dir,
# start_agent, stop_agent, wait_attached, mgcli and stat_gw take that name
# in place of K as they are.
#
#   sibling Kb: namespace $MGP-gwKb (cl0 10.K.0.2/24 on cluster K's switch,
#               ul0 192.168.200.(K+100)/24), tunnel address 192.168.200.(K+100)

# gw_cluster NAME: the cluster id of a gateway name ("1b" -> 1).
gw_cluster() { echo "${1%b}"; }

# gw_tunnel NAME: the tunnel address of a gateway name.
gw_tunnel() {
	case $1 in
	*b) echo "$UL_NET.$((${1%b} + 100))" ;;
	*) echo "$UL_NET.$1" ;;
	esac
}

# topo_gateway2 K: a second gateway gwKb for cluster K (no agent yet).
topo_gateway2() {
	local k=$1 g="gw$1b"
	new_ns "$g" || return 1
	wire_gateway "$g" "$k" gwb "10.$k.0.2" "$(gw_tunnel "${k}b")"
}

# write_gossip_config NAME K "SEED ..." ["KEY ..."]: meshgate config for
# gateway NAME of cluster K with no static peer: it learns the mesh by
# gossip (lan profile) through the seeds; with keys, gossip is encrypted
# (the first one sends).  GOSSIP_EXTRA, when set, is appended to [gossip].
write_gossip_config() {
	local name=$1 k=$2 seeds=$3 keys=${4:-} s f="$MGDIR/gw$1.conf"
	config_head "$name" "$k" >"$f"
	cat >>"$f" <<CONF

[gateway]
name = gw$name
tunnel_address = $(gw_tunnel "$name")
cluster_interface = cl0
underlay_interface = ul0

[gossip]
enabled = yes
profile = lan
CONF
	for s in $seeds; do echo "seed = $s" >>"$f"; done
	for s in $keys; do echo "key = $s" >>"$f"; done
	[ -z "${GOSSIP_EXTRA:-}" ] || echo "$GOSSIP_EXTRA" >>"$f"
	echo "$f"
}

# mgctl NAME ARGS...: the CLI towards gateway NAME's agent (control socket
# and pins from its config), in its namespace.  -j goes before the object.
mgctl() {
	local n=$1; shift
	nsnet "gw$n" "$MESHGATE" -c "$MGDIR/gw$n.conf" "$@"
}

# peer_state NAME PEER: the state gateway NAME shows for gateway gwPEER
# (alive, suspect, dead, left, conflict; "" when it does not list it).
peer_state() {
	mgctl "$1" -j peers 2>/dev/null |
		jq -r --arg n "gw$2" '.[] | select(.name == $n) | .state' 2>/dev/null
}

# wait_until SECONDS CMD...: poll every 0.2 s until CMD succeeds (bounded).
wait_until() {
	local n=$(($1 * 5)); shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}

# all_alive NAME "PEER ...": gateway NAME lists every PEER alive.
all_alive() {
	local p
	for p in $2; do [ "$(peer_state "$1" "$p")" = alive ] || return 1; done
}

# ep4_has NAME PREFIX CLUSTER_ID: gateway NAME's mg_ep4 maps PREFIX to the
# cluster (read from the pinned map, not from the agent).
ep4_has() {
	mgcli "$1" -j bpf endpoints 2>/dev/null | jq -e --arg p "$2" \
		--argjson c "$3" 'any(.[]; .prefix == $p and .cluster_id == $c)' \
		>/dev/null
}

# clus_gws NAME CLUSTER_ID: the live gateways of a cluster in gateway
# NAME's mg_clus, sorted, space separated ("" when none or no entry).
clus_gws() {
	mgcli "$1" -j bpf clusters 2>/dev/null | jq -r --argjson c "$2" \
		'[.[] | select(.cluster_id == $c) | .gateways[]?] | sort | join(" ")' \
		2>/dev/null
}

# --- a paced UDP stream, counted at the receiving pod --------------------------
#
# stream_start NAME SRC_NS DST_NS DST_IP PPS SECONDS [FLOWS]: DST_NS counts
# the distinct datagrams of stream NAME it receives on port 9100 + (its
# number), SRC_NS sends PPS a second for SECONDS, spread over FLOWS source
# ports (default 8), each datagram numbered.  stream_lost NAME waits for
# both and sets STREAM_SENT and STREAM_LOST (sent but never received); it
# must run in this shell (not in $(...)) to wait for them.
STREAM_N=0
stream_start() {
	local name=$1 src=$2 dst=$3 ip=$4 pps=$5 secs=$6 flows=${7:-8}
	local port=$((9100 + STREAM_N))
	STREAM_N=$((STREAM_N + 1))
	nsx_bg "$dst" timeout $((secs + 30)) python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
seen = set()
s.settimeout(int(sys.argv[2]) + 10)
while True:
    try:
        d = s.recv(64)
    except socket.timeout:
        break
    if d == b"end":
        s.settimeout(1.0)	# what is still on its way
        continue
    seen.add(int.from_bytes(d[:8], "big"))
print(len(seen), flush=True)' "$port" "$secs" >"$MGDIR/stream.$name.rx" 2>&1
	echo $! >"$MGDIR/stream.$name.rxpid"
	wait_until 5 grep -q ready "$MGDIR/stream.$name.rx" || return 1
	nsx_bg "$src" timeout $((secs + 30)) python3 -c '
import socket, sys, time
ip, port, pps, secs, flows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(flows)]
n, i, t0 = int(pps * secs), 0, time.monotonic()
while i < n:
    due = min(n, int((time.monotonic() - t0) * pps) + 1)
    while i < due:
        try:
            socks[i % flows].sendto(i.to_bytes(8, "big"), (ip, port))
        except OSError:
            pass	# counted as lost: it never arrives
        i += 1
    time.sleep(0.0002)
for _ in range(3):
    socks[0].sendto(b"end", (ip, port))
print(n, time.monotonic() - t0, flush=True)' "$ip" "$port" "$pps" "$secs" "$flows" \
		>"$MGDIR/stream.$name.tx" 2>&1
	echo $! >"$MGDIR/stream.$name.txpid"
}

stream_lost() {
	local name=$1 sent got
	STREAM_SENT=0 STREAM_LOST=-1
	wait "$(cat "$MGDIR/stream.$name.txpid")" 2>/dev/null
	wait "$(cat "$MGDIR/stream.$name.rxpid")" 2>/dev/null
	rm -f "$MGDIR/stream.$name.txpid" "$MGDIR/stream.$name.rxpid"
	sent=$(awk 'NR == 1 { print $1 }' "$MGDIR/stream.$name.tx")
	got=$(tail -n 1 "$MGDIR/stream.$name.rx")
	log "stream $name: $got of $sent received ($(awk 'NR == 1 { printf "%.0f pps", $1 / $2 }' "$MGDIR/stream.$name.tx"))"
	[[ $sent =~ ^[0-9]+$ && $got =~ ^[0-9]+$ ]] || return 1
	STREAM_SENT=$sent STREAM_LOST=$((sent - got))
}
