#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Cross-cluster policy gossiped (docs/policy.md): clusters 1, 2 and 3 by
# gossip (seed gw1), cluster 4 a static peer of gw1 without gossip.
# Cluster 1 denies by default and allows ICMP from cluster 2 only:
#   - gw3 learns cluster 1's set and drops cluster 3's pings on
#     encapsulation (policy_denied counted at gw3), gw1 counts nothing;
#   - cluster 4 (its gateway knows no policy) is dropped at gw1, on
#     decapsulation;
#   - a rule added on gw1 with `meshgate policy add` reaches gw3 and lets
#     cluster 3 in; deleted, cluster 3 is dropped at gw3 again.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SEED=$UL_NET.1
NPING=5

pings() {
	nsx "$1" ping -q -c "$NPING" -i 0.05 -W 1 "$2" | grep -q " $NPING received"
}
no_pings() {
	nsx "$1" ping -q -c "$NPING" -i 0.05 -W 1 "$2" | grep -q " 0 received"
}
pol() { local k=$1; shift; mgctl "$k" policy "$@"; }
# learned K RULE_TEXT: gateway K lists RULE_TEXT as learned by gossip.
learned() { pol "$1" list 2>/dev/null | grep -q "$2  (gossip)"; }

log "topology: clusters 1, 2, 3 by gossip; cluster 4 a static peer of gw1"
topo_underlay && topo_cluster 1 && topo_cluster 2 && topo_cluster 3 &&
	topo_cluster 4 1 || exit 1
for g in 1 2 3; do write_gossip_config "$g" "$g" "$SEED" >/dev/null; done
cat >>"$MGDIR/gw1.conf" <<CONF

[peer gw4]
cluster = cluster4
cluster_id = 4
tunnel_address = $UL_NET.4
cidr = 10.4.0.0/16

[policy]
default_in = deny
rule = 10 allow from cluster 2 to any proto icmp
CONF
write_config 4 "1" >/dev/null
for g in 1 2 3 4; do start_agent "$g" || exit 1; done

check "gw2 and gw3 learn gw1 by gossip" \
	wait_until 10 all_alive 1 "2 3"
check "gw3 learns cluster 1's policy (rule 10)" \
	wait_until 10 learned 3 "10 allow from cluster 2 to any proto icmp"
check "gw3 maps cluster 1" wait_until 10 ep4_has 3 10.1.0.0/16 1
check "gw2 maps cluster 1" wait_until 10 ep4_has 2 10.1.0.0/16 1
check "gw1 lists no set of its own cluster as learned (only gw2's, gw3's)" \
	eval '! pol 1 list | grep -q "policy of cluster 1 (learned"'

d1=$(stat_gw 1 policy_denied)
check "cluster 2 (allowed) pings cluster 1" pings c2p1 "$(pod_ip 1 1)"
d3=$(stat_gw 3 policy_denied)
check "cluster 3 (default deny) does not reach cluster 1" \
	no_pings c3p1 "$(pod_ip 1 1)"
n3=$(stat_gw 3 policy_denied)
check "gw3 dropped them before the tunnel (+$((n3 - d3)) policy_denied)" \
	test "$((n3 - d3))" -ge "$NPING"
check "gw1 counted nothing (they never used the tunnel)" \
	test "$(stat_gw 1 policy_denied)" -eq "$d1"

check "cluster 4 (static peer, no gossip) does not reach cluster 1" \
	no_pings c4p1 "$(pod_ip 1 1)"
n1=$(stat_gw 1 policy_denied)
check "gw1 dropped them on decapsulation (+$((n1 - d1)) policy_denied)" \
	test "$((n1 - d1))" -ge "$NPING"
check "gw4 counted none (it knows no policy)" \
	test "$(stat_gw 4 policy_denied)" -eq 0

check "policy add on gw1: cluster 3 allowed ICMP" \
	pol 1 add 20 allow from cluster 3 to any proto icmp
check "the rule reaches gw3" \
	wait_until 10 learned 3 "20 allow from cluster 3 to any proto icmp"
check "cluster 3 pings cluster 1 now" pings c3p1 "$(pod_ip 1 1)"
check "policy del on gw1" pol 1 del 20
# without_20: gw3 holds cluster 1's set, rule 10 and not rule 20.
without_20() {
	local l
	l=$(pol 3 list 2>/dev/null) &&
		grep -q "10 allow from cluster 2 to any proto icmp  (gossip)" <<<"$l" &&
		! grep -q "20 allow from cluster 3" <<<"$l"
}
check "gw3 forgets the rule" wait_until 10 without_20
d3=$(stat_gw 3 policy_denied)
check "cluster 3 does not reach cluster 1 again" \
	no_pings c3p1 "$(pod_ip 1 1)"
check "dropped at gw3 again" \
	test "$(stat_gw 3 policy_denied)" -ge "$((d3 + NPING))"
summary
