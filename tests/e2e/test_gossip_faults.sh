#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Gossip under faults (DESIGN §4 Gossip, Failure semantics; §7 "no false
# deaths at 10% loss"), with the real agent: three clusters whose gateways
# find each other through one seed (192.168.200.1), gossip encrypted with
# one key.
#
#   - 10% of the gossip packets (UDP and TCP port 7946) between gateways
#     dropped by nftables in the underlay for 60 s: no gateway is ever
#     listed dead (`meshgate peers`, sampled every second), and an endpoint
#     added meanwhile still reaches every gateway's mg_ep4 within 10 s;
#   - key rotation (`meshgate keys install`, `use`, `remove`) on every
#     gateway while sampling: nobody is ever listed dead, and gossip still
#     carries new endpoints under the new key alone;
#   - fail static: gw3 cut off from every peer (nftables on its underlay)
#     keeps its mg_clus and mg_ep4 entries, while gw1 and gw2 withdraw it;
#     unblocked, it is back;
#   - a gateway with the wrong key, and one with none, cannot join: they
#     list nobody alive, nobody lists them, and the rejection is logged.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SEED=$UL_NET.1
GWS="1 2 3"
LOSS_S=${LOSS_S:-60}

others() { local g; for g in $GWS; do [ "$g" = "$1" ] || echo -n "$g "; done; }
mesh_alive() {
	local g
	for g in $GWS; do all_alive "$g" "$(others "$g")" || return 1; done
}
ep_everywhere() {	# PREFIX CLUSTER_ID
	local g
	for g in $GWS; do ep4_has "$g" "$1" "$2" || return 1; done
}
reach() { nsx "$1" ping -q -c 3 -i 0.1 -W 2 "$2" >/dev/null; }
keys_of() {	# NAME: "KEY*" for the primary, sorted
	mgctl "$1" -j keys | jq -r '[.[] | .key + (if .primary then "*" else "" end)] | sort | join(" ")'
}

# The sampler: every second, every gateway's `peers`, one line per
# (gateway, peer, state) into FILE, until FILE.stop exists (or 300 s).
sampler_start() {
	local f=$1
	rm -f "$f" "$f.stop"
	(
		next=${EPOCHREALTIME/./}
		for _ in $(seq 1 300); do
			[ -e "$f.stop" ] && break
			for g in $GWS; do
				out=$(mgctl "$g" -j peers 2>&1) &&
					jq -r --arg g "gw$g" '.[] | select(.meshgate) |
						"\($g) \(.name) \(.state)"' <<<"$out" ||
					echo "gw$g - error: $out"
			done | sed "s/^/$(date +%s) /"
			# on the second: the sample itself takes a while
			next=$((next + 1000000))
			d=$(((next - ${EPOCHREALTIME/./}) / 1000))
			[ "$d" -le 0 ] || sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
		done >>"$f"
	) &
	echo $! >"$MGDIR/sampler.pid"
}
sampler_stop() {
	touch "$1.stop"
	wait "$(cat "$MGDIR/sampler.pid")" 2>/dev/null
	rm -f "$MGDIR/sampler.pid"
}
# never_dead FILE: samples were taken, and none says dead or left.
never_dead() {
	local n
	n=$(awk '{print $1}' "$1" | sort -u | wc -l)
	log "$n samples; states seen: $(awk '{print $4}' "$1" | sort | uniq -c | tr -s ' \n' ' ')"
	grep -m3 ' error' "$1" | sed 's/^/    /'
	[ "$n" -ge "$2" ] && ! grep -qE ' (dead|left)$' "$1"
}

KEY1=$("$MESHGATE" keygen) && KEY2=$("$MESHGATE" keygen) &&
	KEY3=$("$MESHGATE" keygen) || exit 1

log "topology: clusters 1, 2, 3 (and gateways 4, 5 for the key checks); gossip encrypted"
topo_underlay && topo_cluster 1 1 && topo_cluster 2 1 && topo_cluster 3 1 &&
	topo_cluster 4 0 && topo_cluster 5 0 || exit 1
for g in $GWS; do write_gossip_config "$g" "$g" "$SEED" "$KEY1" >/dev/null; done
for g in $GWS; do start_agent "$g" || exit 1; done
check "encrypted mesh: every gateway learns the others" wait_until 10 mesh_alive
check "agents say gossip is encrypted" \
	eval 'for g in $GWS; do grep -q "gossip on port 7946 (lan profile, encrypted)" "$MGDIR/gw$g.log" || exit 1; done'
check "every gateway maps every CIDR" wait_until 10 eval \
	'ep_everywhere 10.1.0.0/16 1 && ep_everywhere 10.2.0.0/16 2 && ep_everywhere 10.3.0.0/16 3'
check "pods reach each other (1 -> 2, 2 -> 3, 3 -> 1)" eval \
	'reach c1p1 $(pod_ip 2 1) && reach c2p1 $(pod_ip 3 1) && reach c3p1 $(pod_ip 1 1)'

# --- 10% loss -------------------------------------------------------------
log "10% of gossip (udp/tcp 7946) dropped in the underlay bridge for $LOSS_S s"
nsx ul nft -f - <<'NFT' || exit 1
table bridge mgloss {
	chain gossip {
		type filter hook forward priority 0; policy accept;
		udp dport 7946 numgen random mod 10 0 counter drop
		tcp dport 7946 numgen random mod 10 0 counter drop
		tcp sport 7946 numgen random mod 10 0 counter drop
	}
}
NFT
t_loss=$(date +%s)
sampler_start "$MGDIR/loss.samples"
sleep $((LOSS_S / 3))
mgctl 2 endpoints add 10.12.0.0/24
t0=$(date +%s%N)
if wait_until 10 ep_everywhere 10.12.0.0/24 2; then
	log "endpoint added under loss seen everywhere after $((($(date +%s%N) - t0) / 1000000)) ms"
	check "under loss, an endpoint reaches every mg_ep4 within 10 s" true
else
	check "under loss, an endpoint reaches every mg_ep4 within 10 s" false
fi
rest=$((t_loss + LOSS_S - $(date +%s)))
[ "$rest" -le 0 ] || sleep "$rest"
sampler_stop "$MGDIR/loss.samples"
dropped=$(nsx ul nft -j list table bridge mgloss |
	jq '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) | .packets] | add')
nsx ul nft delete table bridge mgloss
log "nftables dropped $dropped gossip packets"
check "the loss was real (nftables dropped gossip)" test "${dropped:-0}" -gt 20
check "no gateway listed dead at 10% loss (sampled every second)" \
	never_dead "$MGDIR/loss.samples" $((LOSS_S * 8 / 10))
grep -h 'suspect (from' "$MGDIR"/gw[123].log | sed 's/^/    /' | tail -5
check "after the loss every gateway lists the others alive" wait_until 10 mesh_alive

# --- key rotation ---------------------------------------------------------
log "key rotation on every gateway: install KEY2, use KEY2, remove KEY1"
sampler_start "$MGDIR/keys.samples"
rot() {	# VERB KEY: on every gateway
	local g
	for g in $GWS; do mgctl "$g" keys "$1" "$2" >/dev/null || return 1; done
}
check "keys install KEY2 everywhere" rot install "$KEY2"
sleep 2
check "keys use KEY2 everywhere" rot use "$KEY2"
sleep 2
check "keys remove KEY1 everywhere" rot remove "$KEY1"
sleep 3
sampler_stop "$MGDIR/keys.samples"
check "no gateway listed dead during the rotation" \
	never_dead "$MGDIR/keys.samples" 5
check "every keyring is KEY2 alone, primary" eval \
	'for g in $GWS; do [ "$(keys_of $g)" = "$KEY2*" ] || exit 1; done'
check "the keyring is saved in state_dir" eval \
	'for g in $GWS; do [ "$(cat $MGDIR/state-gw$g/keyring)" = "$KEY2" ] || exit 1; done'
mgctl 3 endpoints add 10.13.0.0/24
check "under KEY2 alone, an endpoint still reaches every mg_ep4" \
	wait_until 10 ep_everywhere 10.13.0.0/24 3
check "every gateway lists the others alive" mesh_alive

# --- fail static ----------------------------------------------------------
# The cut is in the underlay's bridge: an nftables drop in gw3's own stack
# would leave its XDP datapath answering the peers' liveness probes, and
# they would rightly keep its tunnels (agent/liveness.h).
log "gw3 cut off: the underlay's bridge drops everything to or from its port"
snap3() {	# gw3's mg_clus and mg_ep4, sorted
	echo "$(mgcli 3 -j bpf clusters | jq -cS 'sort_by(.cluster_id)')" \
		"$(mgcli 3 -j bpf endpoints | jq -cS 'sort_by(.prefix)')"
}
before=$(snap3)
nsx ul nft -f - <<'NFT' || exit 1
table bridge mgcut {
	chain cut { type filter hook forward priority 0; iifname "gw3" drop; oifname "gw3" drop; }
}
NFT
check "gw1 and gw2 list gw3 dead" wait_until 10 eval \
	'[ "$(peer_state 1 3)" = dead ] && [ "$(peer_state 2 3)" = dead ]'
check "gw1 and gw2 withdraw gw3 (mg_clus, mg_peer4)" wait_until 3 eval \
	'[ -z "$(clus_gws 1 3)" ] && [ -z "$(clus_gws 2 3)" ] && ! mgcli 1 -j bpf peers | grep -q "\"$UL_NET.3\""'
check "gw3 lists gw1 and gw2 dead" wait_until 10 eval \
	'[ "$(peer_state 3 1)" = dead ] && [ "$(peer_state 3 2)" = dead ]'
check "gw3 says it is cut off" grep -q "cut off from every peer gateway" "$MGDIR/gw3.log"
sleep 2
check "gw3 keeps its mg_clus and mg_ep4 entries (fail static)" \
	test "$(snap3)" = "$before"
mgcli 3 bpf clusters | sed 's/^/    /'
nsx ul nft delete table bridge mgcut
check "unblocked, gw3 is back in the mesh" wait_until 20 mesh_alive
check "gw1 maps cluster 3 through gw3 again" wait_until 5 eval \
	'[ "$(clus_gws 1 3)" = "$UL_NET.3" ]'
check "pod of cluster 1 reaches cluster 3 again" reach c1p1 "$(pod_ip 3 1)"

# --- the wrong key, and none ----------------------------------------------
log "gw4 with another key, gw5 with none, both seeded with $SEED"
write_gossip_config 4 4 "$SEED" "$KEY3" >/dev/null
write_gossip_config 5 5 "$SEED" >/dev/null
start_agent 4 && start_agent 5 || exit 1
sleep 5
outsiders_unknown() {
	local g
	for g in $GWS; do
		[ -z "$(peer_state "$g" 4)" ] && [ -z "$(peer_state "$g" 5)" ] || return 1
	done
}
alive_count() { mgctl "$1" -j peers | jq '[.[] | select(.state == "alive")] | length'; }
check "wrong key: gw4 lists nobody alive" test "$(alive_count 4)" = 0
check "no key: gw5 lists nobody alive" test "$(alive_count 5)" = 0
check "no gateway of the mesh lists gw4 or gw5" outsiders_unknown
check "the seed logs the rejected gossip (wrong key and plaintext)" eval \
	'grep -q "rejected gossip encrypted with a key we do not have" "$MGDIR/gw1.log" &&
	 grep -q "rejected unencrypted gossip" "$MGDIR/gw1.log"'
check "gw4 and gw5 log that they cannot join" eval \
	'grep -q "cannot join the mesh" "$MGDIR/gw4.log" && grep -q "cannot join the mesh" "$MGDIR/gw5.log"'
check "meshgate status counts them on the seed" eval \
	'mgctl 1 -j status | jq -e ".gossip_decrypt_failed > 0 and .gossip_plaintext_rejected > 0" >/dev/null'
grep -h 'rejected\|cannot join' "$MGDIR"/gw[145].log | sort -u | sed 's/^/    /'
check "nothing of cluster 4 or 5 in gw1's maps" eval \
	'! mgcli 1 -j bpf endpoints | grep -q "10\.[45]\.0\.0"'
check "the mesh is unharmed" mesh_alive

summary
