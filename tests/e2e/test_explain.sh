#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `meshgate explain` against what traffic actually does, in one topology:
# clusters 1 and 2 gossiping (lan), MTU 1500 everywhere; service web
# (10.96.0.10:80/tcp) with a backend in each cluster (c1p2, c2p2).
#
#   - a remote pod (c2p1): explain says XDP_TX/REDIRECT, encap, the outer
#     packet to gw2's tunnel address with VNI 1; a ping from c1p1 crosses
#     and gw1's encap counter grows; tcpdump on the underlay sees VXLAN to
#     192.168.200.2;
#   - a foreign destination (192.0.2.1): explain says XDP_PASS, pass;
#   - too big (1500 bytes, DF): explain says icmp_frag_needed with MTU
#     1450; a ping of that size from c1p1 is refused with the same MTU;
#   - the VIP: explain from c1p1 over source ports until one flow lands on
#     the local backend (lb_local, DNAT to c1p2) and one on the remote one
#     (encap, inner destination c2p2); a real connection from c1p1 with
#     that source port is greeted by the backend explain named (explain
#     removed the conntrack entry its run created: the connection is a new
#     flow, placed by the datapath's Maglev lookup again).
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for t in jq socat tcpdump; do
	command -v "$t" >/dev/null || { echo "SKIP - $t is missing"; exit 77; }
done

VIP=10.96.0.10
topo_underlay && topo_cluster 1 2 && topo_cluster 2 2 || exit 1
for k in 1 2; do
	f=$(write_gossip_config "$k" "$k" "$UL_NET.1")
	lb_service web "$VIP" "$(pod_ip "$k" 2)" >>"$f"
	greeter "$k" 2
done
wait_listen c1p2 8080 && wait_listen c2p2 8080 || exit 1
start_agent 1 && start_agent 2 || exit 1

both_backends() {
	[ "$(mgctl 1 -j services list 2>/dev/null | jq -r \
		'[.[] | select(.name == "web") | .backend[] | select(.health == "up")] | length')" = 2 ]
}
check "gw1 knows both backends of web, up" wait_until 20 both_backends
check "gw1 maps cluster 2's pods" wait_until 10 ep4_has 1 10.2.0.0/16 2

# ex ARGS...: explain on gw1, JSON.
ex() { mgcli 1 -j explain "$@"; }
jget() { jq -r "$1" <<<"$2"; }

log "a remote pod"
src=$(pod_ip 1 1) dst=$(pod_ip 2 1)
out=$(ex from "$src" to "$dst")
echo "  $out"
check "explain to a remote pod: encap" [ "$(jget .reason "$out")" = encap ]
check "verdict XDP_TX or XDP_REDIRECT" \
	eval '[[ $(jget .verdict "$out") == XDP_TX || $(jget .verdict "$out") == XDP_REDIRECT ]]'
check "endpoint of cluster 2, its gateway $UL_NET.2" \
	eval '[ "$(jget .endpoint.cluster_id "$out")" = 2 ] &&
	      [ "$(jget ".cluster_gateways | join(\" \")" "$out")" = "$UL_NET.2" ]'
check "outer packet $UL_NET.1 > $UL_NET.2 udp 4789, VNI 1" \
	eval '[ "$(jget .output.ip.src "$out")" = "$UL_NET.1" ] &&
	      [ "$(jget .output.ip.dst "$out")" = "$UL_NET.2" ] &&
	      [ "$(jget .output.ip.dport "$out")" = 4789 ] &&
	      [ "$(jget .output.vni "$out")" = 1 ]'
check "inner packet $src > $dst" \
	eval '[ "$(jget .output.inner.src "$out")" = "$src" ] &&
	      [ "$(jget .output.inner.dst "$out")" = "$dst" ]'
nsx ul timeout 30 tcpdump -l -n -i gw1 "udp port 4789 and dst host $UL_NET.2" \
	>"$MGDIR/ul.txt" 2>"$MGDIR/ul.err" &
dump=$!
wait_until 10 grep -q "listening on" "$MGDIR/ul.err"
e0=$(stat_gw 1 encap)
nsx c1p1 ping -c 3 -i 0.2 -W 2 "$dst" >/dev/null
e1=$(stat_gw 1 encap)
sleep 0.5
kill -INT "$dump" 2>/dev/null
wait "$dump"
check "real traffic: the ping crosses, gw1 counted encap ($e0 -> $e1)" \
	[ "$e1" -ge $((e0 + 3)) ]
check "real traffic: tcpdump sees the ping in VXLAN to $UL_NET.2:4789, VNI 1" \
	eval 'grep -A1 "> $UL_NET.2.4789: VXLAN.* vni 1$" "$MGDIR/ul.txt" |
	      grep -q "$src > $dst: ICMP echo request"' 

log "a foreign destination"
out=$(ex from "$src" to 192.0.2.1)
echo "  $out"
check "explain to 192.0.2.1: XDP_PASS, pass, no endpoint" \
	eval '[ "$(jget .verdict "$out")" = XDP_PASS ] &&
	      [ "$(jget .reason "$out")" = pass ] &&
	      [ "$(jget .endpoint "$out")" = null ]'
p0=$(stat_gw 1 pass)
nsx c1p1 ping -c 1 -W 1 192.0.2.1 >/dev/null 2>&1
check "real traffic: gw1 passed it to its kernel (pass $p0 -> $(stat_gw 1 pass))" \
	[ "$(stat_gw 1 pass)" -gt "$p0" ]

log "too big"
out=$(ex from "$src" to "$dst" size 1500)
echo "  $out"
check "explain 1500 bytes with DF: icmp_frag_needed, back to the sender, MTU 1450" \
	eval '[ "$(jget .reason "$out")" = icmp_frag_needed ] &&
	      [[ $(jget .verdict "$out") == XDP_TX || $(jget .verdict "$out") == XDP_REDIRECT ]] &&
	      [ "$(jget .output.eth_dst "$out")" = 02:6d:67:ee:00:01 ] &&
	      [ "$(jget .output.ip.mtu "$out")" = 1450 ] &&
	      [ "$(jget .output.ip.dst "$out")" = "$src" ]'
ping_out=$(nsx c1p1 ping -c 1 -W 2 -M do -s 1472 "$dst" 2>&1)
check "real traffic: a 1500-byte ping with DF is refused with mtu 1450" \
	grep -q "mtu = 1450" <<<"$ping_out"

log "the VIP, local and remote backends"
local_port= remote_port=
for sp in $(seq 41000 41031); do
	out=$(ex from "$src" to "$VIP:80/tcp" sport "$sp")
	case $(jget .reason "$out") in
	lb_local) [ -n "$local_port" ] || { local_port=$sp; lout=$out; } ;;
	encap) [ -n "$remote_port" ] || { remote_port=$sp; rout=$out; } ;;
	esac
	[ -n "$local_port" ] && [ -n "$remote_port" ] && break
done
echo "  local:  ${lout:-}"
echo "  remote: ${rout:-}"
check "explain finds a flow to the local backend (sport ${local_port:-none})" \
	eval '[ -n "$local_port" ] && [ "$(jget .output.ip.dst "$lout")" = "$(pod_ip 1 2)" ] &&
	      [ "$(jget .output.ip.dport "$lout")" = 8080 ]'
check "and one to the remote backend, encapsulated to gw2 (sport ${remote_port:-none})" \
	eval '[ -n "$remote_port" ] && [ "$(jget .output.ip.dst "$rout")" = "$UL_NET.2" ] &&
	      [ "$(jget .output.inner.dst "$rout")" = "$(pod_ip 2 2)" ] &&
	      [ "$(jget .output.inner.dport "$rout")" = 8080 ]'
check "explain names the service (mg_svc)" \
	eval '[ "$(jget .service_id "${lout:-{\}}")" != null ]'
check "explain removed the conntrack entry its run created" \
	eval '[ "$(jget .ct_existed "${lout:-{\}}")" = false ] &&
	      [ "$(jget .ct_removed "${lout:-{\}}")" = true ] &&
	      ! mgcli 1 -j bpf ct list | jq -e --argjson p "${local_port:-0}" \
		"any(.[]; .client | endswith(\":\(\$p)\"))" >/dev/null'
# greet_from PORT: the greeting a connection from c1p1:PORT to the VIP gets.
greet_from() {
	nsx c1p1 timeout 20 socat -T 15 - "TCP:$VIP:80,sourceport=$1,reuseaddr" \
		</dev/null 2>/dev/null | head -n 1
}
if [ -n "$local_port" ]; then
	got=$(greet_from "$local_port")
	check "real traffic from sport $local_port: greeted by $(pod_ip 1 2) (got ${got:-nothing})" \
		[ "$got" = "$(pod_ip 1 2)" ]
fi
if [ -n "$remote_port" ]; then
	got=$(greet_from "$remote_port")
	check "real traffic from sport $remote_port: greeted by $(pod_ip 2 2) (got ${got:-nothing})" \
		[ "$got" = "$(pod_ip 2 2)" ]
fi

log "arguments"
check "no destination: usage, exit 2" \
	eval 'mgcli 1 explain from "$src" >/dev/null 2>&1; [ $? = 2 ]'
check "an interface the datapath is not on: a clear error" \
	eval 'mgcli 1 explain to "$dst" on lo 2>&1 | grep -q "on lo: not an interface the datapath runs on"'
out=$(ex to "$dst")
check "SRC defaults to an address of cluster 1 ($(jget .src "$out"))" \
	eval '[[ $(jget .src "$out") == 10.1.* ]] && [ "$(jget .reason "$out")" = encap ]'
if [ -n "${EXPLAIN_HOLD:-}" ]; then
	touch "$MGDIR/hold"; log "holding: rm $MGDIR/hold"
	for i in $(seq 1 900); do [ -e "$MGDIR/hold" ] || break; sleep 1; done
fi
summary
