#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The compiled IPv4 prefix table (docs/maps.md) in a running gateway: gw1
# ([limits] prefix_lookup = table, the default) publishes one, gw2
# (prefix_lookup = trie) does not; pods ping across both ways (gw1 encap
# and decap through the table, gw2 through the trie); after a restart gw1
# publishes the table again and traffic flows.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "topology: two clusters, gw1 on the table, gw2 on the trie"
topo_underlay && topo_cluster 1 && topo_cluster 2 || exit 1
write_config 1 "2" >/dev/null
write_config 2 "1" >/dev/null
printf '\n[limits]\nprefix_lookup = trie\n' >>"$MGDIR/gw2.conf"
start_agent 1 && start_agent 2 || exit 1

# gen_active K: mg_pfx_gen's active of gateway K (0: the trie).
gen_active() {
	bpftool -j map lookup pinned "$(pin_dir "$1")/mg_pfx_gen" key 0 0 0 0 |
		jq -r '.formatted.value.active'
}

# wait_gen K WANT: up to 10 s for gateway K's active generation to be WANT
# ("set": any but 0).
wait_gen() {
	local i g
	for i in $(seq 1 50); do
		g=$(gen_active "$1")
		case $2 in
		set) [ -n "$g" ] && [ "$g" != 0 ] && [ "$g" != null ] && return 0 ;;
		*) [ "$g" = "$2" ] && return 0 ;;
		esac
		sleep 0.2
	done
	echo "gw$1: mg_pfx_gen active = $g" >&2
	return 1
}

pings() {
	nsx c1p1 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip 2 1)" | grep -q " 3 received" &&
		nsx c2p1 ping -q -c 3 -i 0.1 -W 2 "$(pod_ip 1 1)" | grep -q " 3 received"
}

check "gw1 publishes a table" wait_gen 1 set
check "gw2 (prefix_lookup = trie) does not" wait_gen 2 0
check "gw1's table: one generation of level 1" sh -c \
	"bpftool -j map dump pinned '$(pin_dir 1)/mg_pfx4_l1' | jq -e 'length == 1' >/dev/null"
check "pods ping across both ways" pings

stop_agent 1
start_agent 1 || exit 1
check "after a restart gw1 publishes a table again" wait_gen 1 set
check "pods ping across after the restart" pings

summary
