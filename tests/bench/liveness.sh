#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Data-plane liveness, graceful restart and drain (agent/liveness.h),
# measured on a gossip mesh of LIVE_N gateways (default 16) in network
# namespaces (tests/e2e/lib.sh): cluster 1 with gw1 and gw1b, clusters
# 2..LIVE_N-1 with one gateway each; pods in clusters 1 and 2.
#
#   failover_dataplane_ms / _max_ms: a gateway's machine dies (agent
#       SIGKILLed and underlay link down at one instant) until every other
#       gateway's mg_clus has withdrawn its cluster, polled every
#       millisecond from the pinned maps (a bpf(2) lookup each); median
#       and max of LIVE_ROUNDS (default 5) gateways, restored in between.
#   restart_loss_packets: UDP datagrams lost (10,000 a second, counted at
#       the receiving pod) through gw1 while its agent is restarted with
#       SIGTERM, then with SIGKILL, each time after the peers' gossip has
#       declared it gone.
#   drain_loss_packets: the same stream while gw1 is drained, then
#       undrained.
#
# usage: liveness.sh [OUT.json]   (root; writes a flat JSON object of figures)

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../e2e/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

OUT=${1:-}
N=${LIVE_N:-16}
ROUNDS=${LIVE_ROUNDS:-5}
SEED=$UL_NET.2
PPS=10000

GWS="1 1b"
for k in $(seq 2 $((N - 1))); do GWS+=" $k"; done

log "topology: $N gateways (cluster 1: gw1, gw1b; clusters 2..$((N - 1)))"
topo_underlay && topo_cluster 1 1 && topo_cluster 2 1 && topo_gateway2 1 ||
	exit 1
for k in $(seq 3 $((N - 1))); do topo_cluster "$k" 0 || exit 1; done
for g in $GWS; do
	write_gossip_config "$g" "$(gw_cluster "$g")" "$SEED" >/dev/null
done
for g in $GWS; do start_agent "$g" || exit 1; done

# every_map_has K WANT: every gateway but gwK has cluster K in mg_clus with
# at least one gateway (WANT=1) or none (WANT=0).
every_map_has() {
	local g n
	for g in $GWS; do
		[ "$g" = "$1" ] && continue
		n=$(clus_gws "$g" "$1" | wc -w)
		[ $((n > 0)) = "$2" ] || return 1
	done
}
all_in() { local k; for k in $(seq 2 $((N - 1))); do every_map_has "$k" 1 || return 1; done; }
wait_until 60 all_in || { log "the mesh did not converge"; exit 1; }
log "mesh converged"

# Kill gateway K's agent and take its underlay down, then poll every other
# gateway's pinned mg_clus until cluster K has no gateway: milliseconds.
failover_ms() {
	local k=$1 pins="" g
	for g in $GWS; do [ "$g" = "$k" ] || pins+=" $(pin_dir "$g")/mg_clus"; done
	python3 - "$k" "$(cat "$MGDIR/gw$k.pid")" "$MGP-gw$k" $pins <<'PY'
import ctypes, os, struct, subprocess, sys, time
NR = {"x86_64": 321, "aarch64": 280}[os.uname().machine]
libc = ctypes.CDLL(None, use_errno=True)
def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    return libc.syscall(NR, cmd, buf, 128)
def obj_get(path):
    p = ctypes.create_string_buffer(path.encode())
    return bpf(7, struct.pack("QII", ctypes.addressof(p), 0, 0))
cid, pid, ns, maps = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
fds = [obj_get(m) for m in maps]
if min(fds) < 0:
    sys.exit("cannot open the maps")
key = ctypes.create_string_buffer(struct.pack("I", cid))
val = ctypes.create_string_buffer(4096)
attr = struct.pack("IIQQQ", 0, 0, ctypes.addressof(key), ctypes.addressof(val), 0)
def withdrawn(fd):
    if bpf(1, struct.pack("I", fd) + attr[4:]) < 0:
        return True		# no entry
    return val.raw[0] == 0	# n_gw
t0 = time.monotonic()
os.kill(pid, 9)
subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "ul0", "down"])
left = list(fds)
while left and time.monotonic() - t0 < 20:
    left = [fd for fd in left if not withdrawn(fd)]
    time.sleep(0.001)
print(-1 if left else round((time.monotonic() - t0) * 1000))
PY
}

fo=()
for r in $(seq 1 "$ROUNDS"); do
	k=$((3 + (r - 1) % (N - 3)))
	ms=$(failover_ms "$k")
	log "failover of gw$k: ${ms} ms"
	[ "$ms" -ge 0 ] 2>/dev/null && fo+=("$ms")
	rm -f "$MGDIR/gw$k.pid"
	nsx "gw$k" ip link set ul0 up
	start_agent "$k" || exit 1
	wait_until 30 every_map_has "$k" 1 || { log "gw$k did not come back"; exit 1; }
done
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : -1) }'; }
maxof() { printf '%s\n' "$@" | sort -n | tail -1; }

# --- restarts and drain under a stream into cluster 1 ----------------------------

stop_gw1() {	# SIGNAL, until gone
	local pid i
	pid=$(cat "$MGDIR/gw1.pid")
	kill "-$1" "$pid"
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$MGDIR/gw1.pid"
}
gone() { case $(peer_state 2 1) in dead|restarting) return 0 ;; esac; return 1; }

restart_loss=0
for sig in TERM KILL; do
	stream_start "restart$sig" c2p1 c1p1 "$(pod_ip 1 1)" "$PPS" 8 || exit 1
	sleep 1
	stop_gw1 "$sig"
	wait_until 10 gone
	start_agent 1 || exit 1
	stream_lost "restart$sig"
	log "SIG$sig restart: $STREAM_LOST of $STREAM_SENT lost"
	restart_loss=$((restart_loss + STREAM_LOST))
	wait_until 10 all_alive 2 1
done

stream_start drain c2p1 c1p1 "$(pod_ip 1 1)" "$PPS" 6 16 || exit 1
sleep 1.5
mgctl 1 drain >/dev/null
sleep 2
mgctl 1 undrain >/dev/null
stream_lost drain
drain_loss=$STREAM_LOST
log "drain and undrain: $drain_loss of $STREAM_SENT lost"

json=$(printf '{"failover_dataplane_ms": %s, "failover_dataplane_max_ms": %s, "restart_loss_packets": %s, "drain_loss_packets": %s}' \
	"$(median "${fo[@]}")" "$(maxof "${fo[@]}")" "$restart_loss" "$drain_loss")
echo "$json"
[ -z "$OUT" ] || echo "$json" >"$OUT"
