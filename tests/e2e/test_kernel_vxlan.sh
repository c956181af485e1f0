#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Interop with the kernel's own VXLAN device (DESIGN §6): clusters 1 and 2
# have meshgate gateways, cluster 3's gateway is a Linux vxlan device in
# external mode with lightweight-tunnel routes (lib.sh
# kernel_vxlan_gateway).  meshgate lists it as a static peer; pings and TCP
# cross both ways, and the frames the kernel sends pass meshgate's checks.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

UL_MTU=1550
NPING=10
TCP_BYTES=$((2 * 1024 * 1024))

log "topology: meshgate clusters 1 and 2, kernel VXLAN cluster 3"
topo_underlay && topo_cluster 1 && topo_cluster 2 && topo_cluster 3 || exit 1
write_config 1 "2 3" >/dev/null
write_config 2 "1 3" >/dev/null
start_agent 1 && start_agent 2 || exit 1
check "kernel VXLAN gateway of cluster 3 set up" kernel_vxlan_gateway 3 "1 2"
nsx gw3 ip -d link show vx0 | sed -n 's/^ *\(vxlan .*dstport [0-9]*\).*/    \1/p'
nsx gw3 ip route show dev vx0 | sed 's/^/    /'

# pings SRC_NS DST_IP: NPING pings, all answered.
pings() {
	nsx "$1" ping -q -c "$NPING" -i 0.05 -W 2 "$2" | grep -q " $NPING received"
}

# Warm up the neighbours (the kernel side resolves its pods on first use).
for k in 1 2; do
	nsx "c${k}p1" ping -c 1 -W 2 "$(pod_ip 3 1)" >/dev/null
done

# accepted K: tunnel packets gateway K took in (straight to the pod, or
# through the kernel while it resolves the pod's neighbour).
accepted() { echo $(($(stat_gw "$1" decap) + $(stat_gw "$1" decap_stack))); }

d0=$(accepted 1) e0=$(stat_gw 1 encap)
check "ping meshgate c1p1 -> kernel c3p1" pings c1p1 "$(pod_ip 3 1)"
check "ping kernel c3p1 -> meshgate c1p1" pings c3p1 "$(pod_ip 1 1)"
check "ping kernel c3p2 -> meshgate c1p2" pings c3p2 "$(pod_ip 1 2)"
check "ping meshgate c2p2 -> kernel c3p2" pings c2p2 "$(pod_ip 3 2)"
check "gw1 encapsulated for cluster 3 (+$(($(stat_gw 1 encap) - e0)))" \
	test "$(($(stat_gw 1 encap) - e0))" -ge $((3 * NPING))
check "gw1 accepted the kernel's frames (+$(($(accepted 1) - d0)))" \
	test "$(($(accepted 1) - d0))" -ge $((3 * NPING))

check "TCP meshgate c1p1 -> kernel c3p1" \
	tcp_transfer c1p1 c3p1 "$(pod_ip 3 1)" "$TCP_BYTES"
check "TCP kernel c3p2 -> meshgate c1p2" \
	tcp_transfer c3p2 c1p2 "$(pod_ip 1 2)" "$TCP_BYTES"
check "TCP kernel c3p1 -> meshgate c2p1" \
	tcp_transfer c3p1 c2p1 "$(pod_ip 2 1)" "$TCP_BYTES"

# The kernel's frames on the wire: VNI 3 from 192.168.200.3.
cap="$MGDIR/ul.pcap"
check "capture on gw3's underlay port" cap_start ul gw3 "$cap" udp port 4789
nsx c3p1 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip 1 1)" >/dev/null
cap_stop "$cap"
check "kernel sends VNI 3 from $UL_NET.3, meshgate answers with VNI 1" test \
	"$(tshark -r "$cap" -T fields -E separator=' ' -e vxlan.vni -e ip.src \
	2>/dev/null | sort | uniq -c | awk '{print $1, $2, $3}' | tr '\n' ' ')" \
	= "3 1 $UL_NET.1,10.1.0.11 3 3 $UL_NET.3,10.3.0.11 "

check "no drops on gw1" sh -c "'$MESHGATE' -j -p '$(pin_dir 1)' stats |
	jq -e '[.[] | select(.reason | test(\"^(pass|encap|decap|decap_stack)\$\") | not) |
		.packets] | add == 0' >/dev/null"
lists_cluster3() {
	mgcli 1 -j bpf clusters | jq -e --arg gw "$UL_NET.3" \
		'any(.[]; .cluster_id == 3 and .gateways == [$gw])' >/dev/null
}
check "gw1 lists cluster 3 with its gateway $UL_NET.3" lists_cluster3

summary
