#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The compiled IPv4 and IPv6 prefix tables (docs/maps.md) in a running
# gateway: gw1 ([limits] prefix_lookup = table, the default) publishes
# both, gw2 (prefix_lookup = trie) neither; dual-stack pods ping across
# both ways over each family (gw1 encap and decap through the tables, gw2
# through the tries); after a restart gw1 publishes them again and traffic
# flows.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "topology: two clusters, gw1 on the table, gw2 on the trie"
topo_underlay && topo_cluster 1 && topo_cluster 2 &&
	topo6_cluster 1 && topo6_cluster 2 || exit 1
write_config6 1 "2" "4" >/dev/null
write_config6 2 "1" "4" >/dev/null
printf '\n[limits]\nprefix_lookup = trie\n' >>"$MGDIR/gw2.conf"
start_agent 1 && start_agent 2 || exit 1

# gen_active K [MAP]: MAP's (mg_pfx_gen, or mg_pfx6_gen) active of
# gateway K (0: the trie).
gen_active() {
	bpftool -j map lookup pinned "$(pin_dir "$1")/${2:-mg_pfx_gen}" \
		key 0 0 0 0 | jq -r '.formatted.value.active'
}

# wait_gen K WANT [MAP]: up to 10 s for gateway K's active generation to
# be WANT ("set": any but 0).
wait_gen() {
	local i g
	for i in $(seq 1 50); do
		g=$(gen_active "$1" "${3:-}")
		case $2 in
		set) [ -n "$g" ] && [ "$g" != 0 ] && [ "$g" != null ] && return 0 ;;
		*) [ "$g" = "$2" ] && return 0 ;;
		esac
		sleep 0.2
	done
	echo "gw$1: ${3:-mg_pfx_gen} active = $g" >&2
	return 1
}

pings() {
	nsx c1p1 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip 2 1)" | grep -q " 3 received" &&
		nsx c2p1 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip 1 1)" | grep -q " 3 received"
}

pings6() {
	nsx c1p1 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip6 2 1)" | grep -q " 3 received" &&
		nsx c2p1 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip6 1 1)" | grep -q " 3 received"
}

check "gw1 publishes a table" wait_gen 1 set
check "gw2 (prefix_lookup = trie) does not" wait_gen 2 0
check "gw1's table: one generation of level 1" sh -c \
	"bpftool -j map dump pinned '$(pin_dir 1)/mg_pfx4_l1' | jq -e 'length == 1' >/dev/null"
check "pods ping across both ways" pings
check "gw1 publishes an IPv6 table" wait_gen 1 set mg_pfx6_gen
check "gw2 (prefix_lookup = trie) has none" wait_gen 2 0 mg_pfx6_gen
check "gw1's IPv6 table: one generation, one length (/64)" sh -c \
	"bpftool -j map dump pinned '$(pin_dir 1)/mg_pfx6' | jq -e 'length == 1' >/dev/null &&
	 bpftool -j map dump pinned '$(pin_dir 1)/mg_pfx6_lens' |
	 jq -e '[.[] | .formatted.value.n] | index(1) != null' >/dev/null"
check "IPv6 pods ping across both ways" pings6

stop_agent 1
start_agent 1 || exit 1
check "after a restart gw1 publishes a table again" wait_gen 1 set
check "pods ping across after the restart" pings
check "after a restart gw1 publishes an IPv6 table again" wait_gen 1 set mg_pfx6_gen
check "IPv6 pods ping across after the restart" pings6

summary
