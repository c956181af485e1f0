#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Outlier ejection (agent/outlier.c, datapath/outlier.h) across three
# gossiping clusters: cluster 1 has the three backends of web
# (10.96.0.20:80/tcp), clusters 2 and 3 have clients.  One backend starts
# resetting every client's connection (nftables `reject with tcp reset`
# in its namespace, for the clients' addresses only: the health checks
# from its gateway still pass, so only outlier detection can see it).
#
#   - gw2, whose clients' new flows it refuses, ejects it within its
#     threshold (outlier_consecutive 5, a few more refused while the
#     agent reads its counters every 100 ms), and the clients are served
#     by the other two from then on;
#   - gw2 gossips the ejection: gw3 and gw1, which never saw a RST, eject
#     it too; `services list` shows it (ejected, until when);
#   - the health check never took it out (it answers gw1's probes).
#
# With --json FILE (make bench) it writes outlier_eject_ms there: from the
# backend starting to reset until no gateway's table holds it (polled
# every 50 ms through `services list`, so within about 100 ms).
set -u
JSON=
[ "${1:-}" = --json ] && JSON=$2
. "$(dirname "$0")/lib.sh"
# KEEP_LOGS=DIR: the run's files (agents' logs) copied there at the end.
trap '[ -n "${KEEP_LOGS:-}" ] && cp -r "$MGDIR" "$KEEP_LOGS"; topo_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v nft >/dev/null || { echo "SKIP: no nft"; exit 77; }

SEED=$UL_NET.1
VIP=10.96.0.20
BAD=$(pod_ip 1 2)

service_conf() {
	cat <<CONF

[service web]
vip = $VIP
port = 80
health_interval = 1000
health_timeout = 900
rise = 1
fall = 3
outlier_consecutive = 5
outlier_base_ms = 600000
outlier_max_percent = 50
CONF
	[ "$1" = 1 ] && printf 'backend = %s:8080\n' \
		"$(pod_ip 1 1)" "$(pod_ip 1 2)" "$(pod_ip 1 3)"
}

# ms since the epoch
now_ms() { date +%s%3N; }

# ejected K: gateway K's services list says the bad backend is ejected.
ejected() {
	mgctl "$1" -j services list 2>/dev/null | jq -e --arg a "$BAD:8080" \
		'.[] | select(.name == "web") | .backend[] | select(.address == $a and .outlier == "ejected" and (.in_use | not) and .ejected_until != null)' >/dev/null
}

# holds K: gateway K's table holds the bad backend.
holds() { in_use "$1" web | grep -q "$BAD:8080"; }

log "topology: cluster 1 with three backends, clusters 2 and 3 with clients"
topo_underlay && topo_cluster 1 3 && topo_cluster 2 1 && topo_cluster 3 1 ||
	exit 1
for p in 1 2 3; do
	greeter 1 "$p"
	echo $! >"$MGDIR/srv1$p.pid"
done
for k in 1 2 3; do
	write_gossip_config "$k" "$k" "$SEED" >/dev/null
	service_conf "$k" >>"$MGDIR/gw$k.conf"
done
for k in 1 2 3; do start_agent "$k" || exit 1; done
ALL3="$(pod_ip 1 1):8080 $(pod_ip 1 2):8080 $(pod_ip 1 3):8080"
for k in 1 2 3; do
	check "gw$k uses all three backends" \
		wait_until 15 eval '[ "$(in_use '"$k"' web)" = "$ALL3" ]'
done
connects c2p1 "$VIP" 30 >"$MGDIR/before"
check "before: 30 connections from cluster 2, every one served" \
	test "$(grep -c '^10\.1\.0\.' "$MGDIR/before")" -eq 30

log "$BAD resets every connection from the clients' clusters"
nsx c1p2 nft -f - <<'NFT'
table inet mgreset {
	chain input {
		type filter hook input priority 0; policy accept;
		ip saddr { 10.2.0.0/16, 10.3.0.0/16 } tcp dport 8080 reject with tcp reset
	}
}
NFT
t0=$(now_ms)
# A client that goes on connecting, up to 20 a second, until told to stop.
nsx_bg c2p1 bash -c '
	while [ ! -e '"$MGDIR"'/stop ]; do
		if exec 3<>/dev/tcp/'"$VIP"'/80; then
			read -t 5 -r who <&3 || who=none; exec 3<&- 3>&-
		else
			who=reset
		fi
		echo "$(date +%s%3N) $who"
		sleep 0.05
	done' >"$MGDIR/during" 2>/dev/null
echo $! >"$MGDIR/client.pid"

# until no gateway's table holds it (bounded: 60 s)
t1=
for i in $(seq 1 1200); do
	if ! holds 1 && ! holds 2 && ! holds 3; then t1=$(now_ms); break; fi
	sleep 0.05
done
check "no gateway's table holds $BAD any more" test -n "$t1"
[ -n "$t1" ] && log "ejected everywhere $((t1 - t0)) ms after it began to reset"
for k in 2 3 1; do
	check "gw$k: services list shows $BAD ejected, with until when" ejected "$k"
done
mgctl 3 services list | sed 's/^/    /'
sleep 1
touch "$MGDIR/stop"
sleep 0.5
kill "$(cat "$MGDIR/client.pid")" 2>/dev/null
rm -f "$MGDIR/client.pid"
resets=$(grep -c ' reset$' "$MGDIR/during")
log "the client's connections meanwhile: $(awk '{print $2}' "$MGDIR/during" | sort | uniq -c | tr -s ' \n' ' ')"
check "refused $resets times before the ejection (threshold 5, at most 15)" \
	test "$resets" -ge 5 -a "$resets" -le 15
grep -q "ejected for" "$MGDIR/gw2.log"
check "gw2 ejected it itself (its log says so)" test $? -eq 0
check "gw3 did not count it itself (gossip ejected it)" \
	eval '! grep -q "ejected for" "$MGDIR/gw3.log"'

connects c2p1 "$VIP" 40 >"$MGDIR/after2"
connects c3p1 "$VIP" 40 >"$MGDIR/after3"
check "after: 40 connections from cluster 2, every one served by the other two" \
	eval '[ "$(grep -c "^10\.1\.0\.1[13]$" "$MGDIR/after2")" -eq 40 ]'
check "after: 40 from cluster 3 (never refused, ejected by gossip), the same" \
	eval '[ "$(grep -c "^10\.1\.0\.1[13]$" "$MGDIR/after3")" -eq 40 ]'
check "the health check still has it up (outlier detection took it out)" \
	eval 'mgctl 1 -j services list | jq -e --arg a "$BAD:8080" ".[] | select(.name == \"web\") | .backend[] | select(.address == \$a and .health == \"up\")" >/dev/null'

if [ -n "$JSON" ]; then
	printf '{"outlier_eject_ms": %s}\n' \
		"$([ -n "$t1" ] && echo $((t1 - t0)) || echo null)" >"$JSON"
fi
summary
