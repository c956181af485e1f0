#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Traffic controls on the service path (issue 13; datapath/rst.h,
# ratelimit.h): one gateway, a backend pod, clients in two other pods.
#
#   - a service whose only backend is down answers a client's connect with
#     a RST from XDP: connect() fails with ECONNREFUSED (not a timeout),
#     counted under no_backend_reset; a UDP datagram to it gets an ICMP
#     port unreachable (ECONNREFUSED on the connected socket);
#   - with on_no_backend = drop (a service from services add) the SYN is
#     dropped under no_backend, and the connect times out;
#   - a SYN flood (NFLOOD SYNs from a raw socket, as fast as Python sends
#     them) against a VIP with newflow_rate 100: the flows it opens stay
#     within the limit (the burst plus the rate over the time it took),
#     the rest are counted under rate_limited; a legitimate client
#     connecting in a loop meanwhile is served every time (a SYN of its
#     dropped in the flood is sent again by its kernel a second later,
#     once the bucket has refilled).
#
# Bounded: every connect has a timeout, the client loop a count.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

VIP=10.96.0.10
DEAD=10.96.0.20
NFLOOD=${NFLOOD:-5000}
RATE=100

# connect_err NS ADDR PORT SECS: how a TCP connect ends ("ok", "refused",
# "timeout" or the error), and in how many ms.
connect_err() {
	nsx "$1" python3 - "$2" "$3" "$4" <<'PY'
import socket, sys, time
s = socket.socket()
s.settimeout(float(sys.argv[3]))
t0 = time.monotonic()
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    r = "ok"
except ConnectionRefusedError:
    r = "refused"
except socket.timeout:
    r = "timeout"
except OSError as e:
    r = "error-%d" % e.errno
print(r, int((time.monotonic() - t0) * 1000))
PY
}

# udp_err NS ADDR PORT: a datagram on a connected UDP socket, then a read:
# "refused" when an ICMP port unreachable came back.
udp_err() {
	nsx "$1" python3 - "$2" "$3" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"hi")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("timeout")
PY
}

# flood SRC DST N NS: N SYNs from SRC (NS's address) to DST:80 from a raw
# socket, each from a source port of its own.  Prints "sent seconds".
flood() {
	nsx "$4" python3 - "$1" "$2" "$3" <<'PY'
import socket, struct, sys, time
src, dst = socket.inet_aton(sys.argv[1]), socket.inet_aton(sys.argv[2])
n = int(sys.argv[3])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
t0 = time.monotonic()
sent = 0
for i in range(n):
    sport = 20000 + i % 40000
    tcp = struct.pack("!HHIIBBHHH", sport, 80, 1000 + i, 0, 5 << 4, 0x02,
                      65535, 0, 0)
    ph = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    try:
        s.sendto(tcp, (sys.argv[2], 0))
        sent += 1
    except OSError:
        time.sleep(0.001)
print(sent, round(time.monotonic() - t0, 3))
PY
}

# clients NS N: N connections to VIP:80 one after the other (each may take
# the kernel's SYN retransmits, up to 10 s), each reading the greeting.
# Prints "served failed".
clients() {
	nsx "$1" python3 - "$VIP" "$2" <<'PY'
import socket, sys
ok = bad = 0
for i in range(int(sys.argv[2])):
    try:
        c = socket.create_connection((sys.argv[1], 80), timeout=10)
        c.settimeout(5)
        if c.recv(16).startswith(b"hello"):
            ok += 1
        else:
            bad += 1
        c.close()
    except OSError as e:
        bad += 1
        print("failed:", e, file=sys.stderr)
print(ok, bad)
PY
}

log "topology: cluster 1, its gateway, a backend pod and two clients"
topo_underlay && topo_cluster 1 3 || exit 1
nsx_bg c1p1 python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080))
s.listen(4096)
while True:
    c, _ = s.accept()
    try:
        c.sendall(b"hello\n")
    except OSError:
        pass
    c.close()
' >/dev/null 2>&1
disown
check "backend listens" wait_listen c1p1 8080
write_config 1 "" >/dev/null
{
	lb_service web "$VIP" "$(pod_ip 1 1)"
	printf 'newflow_rate = %s\nnewflow_burst = %s\n' "$RATE" "$RATE"
	# Its backend (c1p2) listens on nothing: never up.
	lb_service dead "$DEAD" "$(pod_ip 1 2)"
	printf '\n[service deadudp]\nvip = %s\nport = 53\nproto = udp\nbackend = %s:5353\n' \
		"$DEAD" "$(pod_ip 1 2)"
} >>"$MGDIR/gw1.conf"
start_agent 1 || exit 1
check "web's backend is in use" \
	wait_until 10 eval '[ "$(in_use 1 web)" = "$(pod_ip 1 1):8080" ]'

log "fast failure: c1p3 to $DEAD:80, whose only backend is down"
rst0=$(stat_gw 1 no_backend_reset)
read -r how ms < <(connect_err c1p3 "$DEAD" 80 5)
log "    connect: ${how:-?} after ${ms:-?} ms"
check "connect refused (a RST), not timed out" test "${how:-}" = refused
check "counted under no_backend_reset" \
	test "$(stat_gw 1 no_backend_reset)" -gt "$rst0"
check "UDP: ICMP port unreachable, the socket refused" \
	test "$(udp_err c1p3 "$DEAD" 53)" = refused

log "on_no_backend = drop: a service added so on the command line"
check "services add dropper ... on_no_backend drop" \
	mgctl 1 services add dropper vip "$DEAD" port 81 \
	backend "$(pod_ip 1 2):8080" on_no_backend drop
check "... kept in state_dir/services" grep -q \
	"^dropper vip $DEAD port 81 .* on_no_backend drop" \
	"$MGDIR/state-gw1/services"
check "a malformed value is refused" \
	eval '! mgctl 1 services add bad vip 10.96.0.30 port 80 rate_pps x 2>/dev/null'
nb0=$(stat_gw 1 no_backend)
read -r how ms < <(connect_err c1p3 "$DEAD" 81 1.5)
log "    connect: ${how:-?} after ${ms:-?} ms"
check "the SYN is dropped: the connect times out" test "${how:-}" = timeout
check "counted under no_backend" test "$(stat_gw 1 no_backend)" -gt "$nb0"

log "SYN flood: $NFLOOD SYNs from c1p2 to $VIP:80 (newflow_rate $RATE), c1p3 connecting meanwhile"
check "a first connection is served" \
	eval '[ "$(clients c1p3 1)" = "1 0" ]'
rl0=$(stat_gw 1 rate_limited)
flows0=$(mgcli 1 -j bpf ct list | jq '[.[] | select(.client | startswith("'"$(pod_ip 1 2)"':"))] | length' 2>/dev/null || echo 0)
clients c1p3 20 >"$MGDIR/legit" 2>"$MGDIR/legit.err" &
legit=$!
read -r sent secs < <(flood "$(pod_ip 1 2)" "$VIP" "$NFLOOD" c1p2)
wait "$legit"
read -r served failed <"$MGDIR/legit"
sleep 0.5
rl=$(($(stat_gw 1 rate_limited) - rl0))
flows=$(mgcli 1 -j bpf ct list | jq '[.[] | select(.client | startswith("'"$(pod_ip 1 2)"':"))] | length' 2>/dev/null || echo -1)
flows=$((flows - flows0))
cpus=$(nproc)
# The bucket: the burst, the rate over the flood's time (a second more
# for the clock's tick), plus a token of rounding per CPU.
max=$(python3 -c "import math; print(int($RATE + $RATE * (${secs:-0} + 1) + $cpus))")
log "    sent ${sent:-0} in ${secs:-?} s: flows opened $flows (at most $max), rate_limited +$rl;" \
	"legitimate client: ${served:-0} served, ${failed:-?} failed"
sed 's/^/    /' "$MGDIR/legit.err" | head -5
check "all $NFLOOD sent" test "${sent:-0}" = "$NFLOOD"
check "the flood's flows held to the limit" \
	eval '[ "$flows" -ge 1 ] && [ "$flows" -le "$max" ]'
check "the rest counted under rate_limited" \
	eval '[ "$rl" -ge $((NFLOOD - flows)) ]'
check "the legitimate client served every time" \
	eval '[ "${served:-0}" = 20 ] && [ "${failed:-1}" = 0 ]'

summary
