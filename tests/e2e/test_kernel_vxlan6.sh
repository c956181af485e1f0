#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Interop with the kernel's own VXLAN device over an IPv6 underlay: cluster
# 1 has a meshgate gateway, cluster 3's gateway is a Linux vxlan device in
# external mode whose routes encapsulate over IPv6 (ip6 lightweight
# tunnels).  The kernel checks the UDP checksum of every datagram it takes
# in (udp6zerocsumrx off, its default) and meshgate checks the kernel's:
# IPv6 and IPv4 pings of 256 consecutive sizes, the gateway host's own
# pings, and 1 MiB of TCP both ways in both inner families, all get
# through, and neither side counts a bad checksum.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Room for 70 bytes of VXLAN over IPv6 around 1500-byte pod frames.
UL_MTU=1570
TCP_BYTES=$((1024 * 1024))
SIZES="$(seq 1000 1255)"

# kernel_vxlan6_gateway K PEER: gateway K is the kernel's VXLAN device,
# tunnelling both inner families to gateway PEER over IPv6.
kernel_vxlan6_gateway() {
	local k=$1 p=$2 mac
	mac="02:6d:67:00:00:$(printf %02x "$p")"
	nsx "gw$k" ip link add vx0 type vxlan external dstport 4789 \
		local "$(gw_ul_ip6 "$k")" nolearning || return 1
	nsx "gw$k" ip link set vx0 address "02:6d:67:00:00:$(printf %02x "$k")" \
		mtu 1500 up || return 1
	nsx "gw$k" ip neigh add "169.254.0.$p" lladdr "$mac" dev vx0 \
		nud permanent || return 1
	nsx "gw$k" ip -6 neigh add "fe80::6d67:$p" lladdr "$mac" dev vx0 \
		nud permanent || return 1
	nsx "gw$k" ip route add "10.$p.0.0/16" via "169.254.0.$p" dev vx0 \
		onlink encap ip6 id "$k" dst "$(gw_ul_ip6 "$p")" || return 1
	nsx "gw$k" ip -6 route add "$(cidr6 "$p")" via "fe80::6d67:$p" \
		dev vx0 encap ip6 id "$k" dst "$(gw_ul_ip6 "$p")"
}

# udp6_csum_errors K: UDP over IPv6 datagrams gateway K's kernel dropped
# for a wrong checksum.
udp6_csum_errors() {
	nsx "gw$1" awk '$1 == "Udp6InCsumErrors" { print $2 }' /proc/net/snmp6
}

# sizes_answered SRC DST: one ping of each size in SIZES, every one
# answered (the failures are listed).
sizes_answered() {
	local s bad=""
	for s in $SIZES; do
		nsx "$1" ping -q -c 1 -W 1 -s "$s" "$2" >/dev/null 2>&1 ||
			bad="$bad $s"
	done
	[ -z "$bad" ] || log "no answer to sizes:$bad"
	[ -z "$bad" ]
}

# drops K: packets gateway K counted under any reason but a delivery
# (the first packets of the warm-up may wait for a neighbour: no_neigh).
drops() {
	"$MESHGATE" -j -p "$(pin_dir "$1")" stats | jq '[.[] |
		select(.reason | test("^(pass|encap|decap|decap_stack)$") | not) |
		.packets] | add // 0'
}

pings() { nsx "$1" ping -q -c 5 -i 0.05 -W 2 -s 1000 "$2" | grep -q " 5 received"; }

log "topology: meshgate cluster 1, kernel VXLAN cluster 3, IPv6 underlay"
topo_underlay && topo_cluster 1 && topo_cluster 3 || exit 1
topo6_cluster 1 && topo6_cluster 3 || exit 1
write_config6 1 "3" 6 >/dev/null
start_agent 1 || exit 1
check "kernel VXLAN gateway of cluster 3 over IPv6 set up" \
	kernel_vxlan6_gateway 3 1
nsx gw3 ip -d link show vx0 | sed -n 's/^ *\(vxlan .*dstport [0-9]*\).*/    \1/p'

# Neighbours first (the kernel side resolves its pods on first use).
for ip in "$(pod_ip6 3 1)" "$(pod_ip6 3 2)" "$(pod_ip 3 1)"; do
	nsx c1p1 ping -c 1 -W 2 "$ip" >/dev/null 2>&1
done

e0=$(udp6_csum_errors 3) d0=$(drops 1)
check "ping -s 1000 meshgate c1p1 -> kernel c3p1 (IPv6)" \
	pings c1p1 "$(pod_ip6 3 1)"
check "ping -s 1000 kernel c3p2 -> meshgate c1p2 (IPv6)" \
	pings c3p2 "$(pod_ip6 1 2)"
check "ping -s 1000 meshgate c1p2 -> kernel c3p1 (IPv4 inner)" \
	pings c1p2 "$(pod_ip 3 1)"
check "IPv6 ping sizes 1000..1255 meshgate c1p1 -> kernel c3p2" \
	sizes_answered c1p1 "$(pod_ip6 3 2)"
check "IPv6 ping sizes 1000..1255 kernel c3p1 -> meshgate c1p2" \
	sizes_answered c3p1 "$(pod_ip6 1 2)"
check "IPv4 ping sizes 1000..1255 meshgate c1p2 -> kernel c3p1" \
	sizes_answered c1p2 "$(pod_ip 3 1)"

# The gateway host's own packets (TC on its host device) carry the
# outer checksum too (non-GSO ones: see docs/limits.md).
check "ping -s 1000 gw1 itself -> kernel c3p1 (IPv6, host device)" \
	pings gw1 "$(pod_ip6 3 1)"
check "ping -s 1000 gw1 itself -> kernel c3p2 (IPv4 inner, host device)" \
	pings gw1 "$(pod_ip 3 2)"

check "TCP 1 MiB meshgate c1p1 -> kernel c3p1 (IPv6)" \
	tcp_transfer c1p1 c3p1 "$(pod_ip6 3 1)" "$TCP_BYTES"
check "TCP 1 MiB kernel c3p2 -> meshgate c1p2 (IPv6)" \
	tcp_transfer c3p2 c1p2 "$(pod_ip6 1 2)" "$TCP_BYTES"
check "TCP 1 MiB meshgate c1p2 -> kernel c3p2 (IPv4 inner)" \
	tcp_transfer c1p2 c3p2 "$(pod_ip 3 2)" "$TCP_BYTES" 5002
check "TCP 1 MiB kernel c3p1 -> meshgate c1p1 (IPv4 inner)" \
	tcp_transfer c3p1 c1p1 "$(pod_ip 1 1)" "$TCP_BYTES" 5003

e1=$(udp6_csum_errors 3)
check "the kernel found no bad UDP checksum (Udp6InCsumErrors +$((e1 - e0)))" \
	test "$e1" -eq "$e0"
check "gw1 decapsulated the kernel's frames ($(stat_gw 1 decap))" \
	test "$(stat_gw 1 decap)" -gt 0
check "gw1 found no bad outer checksum ($(stat_gw 1 outer_csum))" \
	test "$(stat_gw 1 outer_csum)" -eq 0
d1=$(drops 1)
check "no drops on gw1 after the warm-up (+$((d1 - d0)))" test "$d1" -eq "$d0"
summary
