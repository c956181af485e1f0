#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# What the two veth end-to-end benchmarks share (e2e.sh, e2e1.sh): the
# namespaces and their links, taking a stand-in off the gateway's cluster
# side, a median.  Sourced after tests/e2e/lib.sh, with REMOTE set.
#
#   $MGP-gen  g0 ──veth── cl0  $MGP-gw1  ul0 ──veth── s0  $MGP-sink
#   generator               gateway                     counting sink

# --- topology ------------------------------------------------------------------

bench_topo() {
	local mac
	new_ns gen && new_ns gw1 && new_ns sink || return 1
	nsx gw1 sysctl -qw net.ipv4.ip_forward=1
	nsx gw1 sysctl -qw net.ipv4.conf.all.rp_filter=0
	nsx gw1 sysctl -qw net.ipv4.conf.default.rp_filter=0
	# IPv6 autoconfiguration would send ND/RS into the sink mid-run.
	nsx gw1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	nsx sink sysctl -qw net.ipv6.conf.all.disable_ipv6=1

	veth_into gen g0 gw1 cl0 || return 1
	veth_into gw1 ul0 sink s0 || return 1
	nsx gen ip addr add "$(pod_ip 1 1)/24" dev g0
	nsx gw1 ip addr add 10.1.0.1/24 dev cl0
	nsx gw1 ip addr add "$UL_NET.1/24" dev ul0
	nsx sink ip addr add "$REMOTE/24" dev s0
	mac=$(nsx sink cat /sys/class/net/s0/address)
	nsx gw1 ip neigh replace "$REMOTE" lladdr "$mac" dev ul0 nud permanent

	kernel_vxlan_gateway 1 2 || return 1
	write_config 1 2 >/dev/null
}

no_xdp_on_cl0() { ! nsx gw1 ip -d link show cl0 | grep -q 'prog/xdp'; }

# Detach a stand-in from cl0 and wait (bounded) until the kernel shows none.
cl0_xdp_off() {
	local i
	for i in $(seq 1 20); do
		nsx gw1 ip link set dev cl0 xdpdrv off 2>/dev/null
		no_xdp_on_cl0 && return 0
		sleep 0.1
	done
	log "cannot remove XDP from cl0: $(nsx gw1 ip -d link show cl0 | grep prog/)"
	return 1
}

median() { sort -g | awk '{ v[NR] = $1 } END {
	if (NR) printf "%.4f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
