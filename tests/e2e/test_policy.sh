#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Cross-cluster policy at the receiving gateway (docs/policy.md): clusters
# 1, 2 and 3 with static peers (none enforces another's policy: the
# senders are gateways that do not know it).  Cluster 1 denies by default
# and allows ICMP from cluster 2: cluster 2's pings arrive, cluster 3's are
# dropped by gw1 on decapsulation and counted under policy_denied, while
# the replies of cluster 1's own pings to cluster 3 come back (the flows
# it allowed).  `meshgate policy add` lets cluster 3 in, `del` shuts it
# out again, and both survive a restart of the agent (state_dir/policy).
#
# The sender's gateway dropping before the tunnel (the policy gossiped):
# test_policy_gossip.sh.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

NPING=5

# pings SRC_NS DST_IP: NPING pings, all answered.
pings() {
	nsx "$1" ping -q -c "$NPING" -i 0.05 -W 1 "$2" | grep -q " $NPING received"
}
# no_pings SRC_NS DST_IP: none answered.
no_pings() {
	nsx "$1" ping -q -c "$NPING" -i 0.05 -W 1 "$2" | grep -q " 0 received"
}

# tcp_reaches SRC_NS IP PORT: a TCP SYN got an answer (a SYN-ACK, or a
# RST: connection refused; either means the packets got through).
tcp_reaches() {
	local out rc
	out=$(nsx "$1" timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>&1)
	rc=$?
	[ "$rc" -eq 0 ] && return 0
	case $out in *refused*) return 0 ;; esac
	return 1
}
# pol K ARGS...: meshgate policy on gateway K's agent.
pol() { local k=$1; shift; mgctl "$k" policy "$@"; }

log "topology: clusters 1, 2, 3, static peers; cluster 1 with a policy"
topo_underlay && topo_cluster 1 && topo_cluster 2 && topo_cluster 3 || exit 1
f=$(write_config 1 "2 3")
cat >>"$f" <<CONF

[policy]
default_in = deny
rule = 10 allow from cluster cluster2 to any proto icmp
CONF
write_config 2 "1 3" >/dev/null
write_config 3 "1 2" >/dev/null
start_agent 1 && start_agent 2 && start_agent 3 || exit 1

# Warm up the neighbours both ways.
for k in 2 3; do
	nsx "c1p1" ping -c 1 -W 2 "$(pod_ip "$k" 1)" >/dev/null
done

d0=$(stat_gw 1 policy_denied)
check "cluster 2 (allowed) pings cluster 1" pings c2p1 "$(pod_ip 1 1)"
check "cluster 3 (default deny) does not reach cluster 1" \
	no_pings c3p1 "$(pod_ip 1 1)"
d1=$(stat_gw 1 policy_denied)
check "gw1 counted them under policy_denied (+$((d1 - d0)))" \
	test "$((d1 - d0))" -ge "$NPING"
check "gw3 dropped none (it does not enforce cluster 1's policy)" \
	test "$(stat_gw 3 policy_denied)" -eq 0
check "cluster 1's own pings to cluster 3 get their replies" \
	pings c1p2 "$(pod_ip 3 2)"
check "TCP from cluster 3 to cluster 2 is answered (RST: no policy there)" \
	tcp_reaches c3p1 "$(pod_ip 2 1)" 9
check "TCP from cluster 2 is denied (only ICMP allowed)" \
	eval '! tcp_reaches c2p1 "$(pod_ip 1 1)" 9'
check "policy list shows the configuration's rule" \
	eval 'pol 1 list | grep -q "10 allow from cluster cluster2"'

check "policy add: cluster 3 allowed ICMP" \
	pol 1 add 20 allow from cluster 3 to 10.1.0.0/16 proto icmp
check "cluster 3 pings cluster 1 now" pings c3p1 "$(pod_ip 1 1)"
check "policy add refuses a taken id" eval '! pol 1 add 10 deny 2>/dev/null'
pol 1 add 21 allow from cluster 3 to 10.1.0.0/16 proto icmp >/dev/null
check "policy list names a shadowing rule" \
	eval 'pol 1 list | grep -q "rule 20 shadows rule 21"'
pol 1 del 21 >/dev/null

stop_agent 1
start_agent 1 || exit 1
check "after a restart the CLI's rule is still there" \
	pings c3p1 "$(pod_ip 1 1)"
check "policy del: cluster 3 shut out again" pol 1 del 20
check "cluster 3 does not reach cluster 1" no_pings c3p1 "$(pod_ip 1 1)"
summary
