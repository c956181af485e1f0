#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# e2e: alone (30,000 packets and connections load both CPUs)
#
# The SNAT ports of a local backend (datapath/ct.h): one gateway, a service
# whose only backend is a pod of its own cluster (every flow SNATed to the
# gateway's cluster-side address and a port of 61000-65535), clients in
# two other pods.
#
#   - 20,000 stray TCP packets without SYN (ACK, data, FIN, RST, SYN-ACK,
#     each a flow of its own, from a raw socket) to the VIP: none opens a
#     flow, each is counted under ct_no_syn, no SNAT port is taken;
#   - then 10,000 real short connections from one client to the VIP: every
#     one is served by the backend.  A client may hold half the pool
#     (2268 ports), each until 10 s after its flow closed: a burst fills
#     it in well under a second, and the next SYNs (no_snat) are retried
#     by the client's kernel until ports come back, so about 200
#     connections a second go through;
#   - meanwhile another client is served too;
#   - `meshgate bpf ct list` shows the flows with their state and expiry;
#   - the same over IPv6 (a service of its own, the backend's IPv6
#     address, SNAT to the gateway's): 5,000 strays open nothing, then
#     3,000 connections, more than a client's half of the pool, all
#     served;
#   - once the flows are over, the agent's sweep (agent/ctgc.c) takes
#     them out of the maps.
#
# Bounded: the connections stop at the first 3 that fail in a row, and
# are limited to SNAT_SECS (150).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib6.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

VIP=10.96.0.10
VIP6=fd00:96::10
NSTRAY=${NSTRAY:-20000}
NCONN=${NCONN:-10000}
NSTRAY6=${NSTRAY6:-5000}
NCONN6=${NCONN6:-3000}
SNAT_SECS=${SNAT_SECS:-150}

# stray SRC DST N NS: N TCP packets without SYN from SRC (the address of
# namespace NS) to DST:80 (IPv4 or IPv6), from source ports 1024.., flags
# cycling through ACK, ACK+PSH, FIN+ACK, RST, RST+ACK and SYN+ACK; sent in
# batches so that no ring on the way drops any.  Prints how many were sent.
stray() {
	nsx "$4" python3 - "$1" "$2" "$3" <<'PY'
import socket, struct, sys, time

v6 = ":" in sys.argv[2]
fam = socket.AF_INET6 if v6 else socket.AF_INET
src, dst = socket.inet_pton(fam, sys.argv[1]), socket.inet_pton(fam, sys.argv[2])
n = int(sys.argv[3])

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

if v6:
    # The kernel writes the IPv6 header, and the TCP checksum (offset 16).
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_TCP)
    s.setsockopt(socket.IPPROTO_IPV6, 7, 16)	# IPV6_CHECKSUM
else:
    s = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_RAW)
flags = [0x10, 0x18, 0x11, 0x04, 0x14, 0x12]
sent = 0
for i in range(n):
    tcp = struct.pack("!HHIIBBHHH", 1024 + i, 80, 1000 + i, 2000 + i,
                      5 << 4, flags[i % len(flags)], 65535, 0, 0)
    if v6:
        s.sendto(tcp, (sys.argv[2], 0))
    else:
        c = csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp),
                         i & 0xffff, 0x4000, 64, 6, 0, src, dst)
        s.sendto(ip + tcp, (sys.argv[2], 0))
    sent += 1
    if i % 64 == 63:
        time.sleep(0.002)
print(sent)
PY
}

# conns NS N [VIP]: N connections from NS to VIP:80, one after the other, each
# reading the backend's greeting; stops after 3 failures in a row.  Prints
# "served failed seconds"; each failure on stderr.
conns() {
	nsx "$1" timeout "$SNAT_SECS" python3 - "${3:-$VIP}" "$2" <<'PY'
import socket, sys, time

vip, n = sys.argv[1], int(sys.argv[2])
ok = bad = row = 0
t0 = time.time()
for i in range(n):
    phase = "connect"
    try:
        # A burst holds every port of the client's half of the pool
        # until 10 s after its flows close: the SYN's retries (1, 3, 7,
        # 15 s) wait for them, as a client's connect() does.
        c = socket.create_connection((vip, 80), timeout=30)
        phase = "greeting to port %d" % c.getsockname()[1]
        c.settimeout(5)
        got = c.recv(64)
        c.close()
        good = got.startswith(b"hello")
        why = "greeting %r" % got
    except OSError as e:
        good = False
        why = "%s: %r" % (phase, e)
    if not good:
        print("connection %d at %.1f s: %s" % (i + 1, time.time() - t0, why),
              file=sys.stderr)
    if good:
        ok += 1
        row = 0
    else:
        bad += 1
        row += 1
        if row >= 3:
            break
print(ok, bad, round(time.time() - t0, 1))
PY
}

log "topology: cluster 1, its gateway, a backend pod and two clients"
topo_underlay && topo_cluster 1 3 && topo6_cluster 1 3 || exit 1
# The backend greets and closes: a short connection.  (The health checks
# hang up at once: a greeting they miss is no error.)
nsx_bg c1p1 python3 -c '
import socket
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 8080))
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
write_config6 1 "" 4 >/dev/null
lb_service web "$VIP" "$(pod_ip 1 1)" >>"$MGDIR/gw1.conf"
lb_service web6 "$VIP6" "[$(pod_ip6 1 1)]" >>"$MGDIR/gw1.conf"
start_agent 1 || exit 1
check "the services' local backend is in use" \
	wait_until 10 eval '[ "$(in_use 1 web)" = "$(pod_ip 1 1):8080" ] &&
		[ -n "$(in_use 1 web6)" ]'
check "a first connection is served" \
	eval '[ "$(conns c1p2 1 | cut -d" " -f1)" = 1 ]'

log "$NSTRAY stray packets without SYN from c1p2 to $VIP:80"
nosyn0=$(stat_gw 1 ct_no_syn)
local0=$(stat_gw 1 lb_local)
snat0=$(stat_gw 1 no_snat)
flows0=$(mgcli 1 -j bpf ct list | jq length)
sent=$(stray "$(pod_ip 1 2)" "$VIP" "$NSTRAY" c1p2)
check "all $NSTRAY sent" test "${sent:-0}" = "$NSTRAY"
nosyn=$(($(stat_gw 1 ct_no_syn) - nosyn0))
log "ct_no_syn +$nosyn, lb_local +$(($(stat_gw 1 lb_local) - local0)), no_snat +$(($(stat_gw 1 no_snat) - snat0))"
check "every one counted under ct_no_syn" test "$nosyn" = "$NSTRAY"
check "none NATed to the backend" test "$(stat_gw 1 lb_local)" = "$local0"
check "none opened a flow" \
	test "$(mgcli 1 -j bpf ct list | jq length)" = "$flows0"

log "$NCONN short connections from c1p2 to $VIP:80 (c1p3 connecting meanwhile)"
conns c1p3 200 >"$MGDIR/other" &
other=$!
read -r served failed secs < <(conns c1p2 "$NCONN")
wait "$other"
read -r oserved ofailed osecs <"$MGDIR/other"
log "c1p2: ${served:-0} served, ${failed:-?} failed in ${secs:-?} s;" \
	"c1p3: ${oserved:-0} served, ${ofailed:-?} failed;" \
	"no_snat +$(($(stat_gw 1 no_snat) - snat0))"
check "every one of $NCONN served" \
	eval '[ "${served:-0}" = "$NCONN" ] && [ "${failed:-1}" = 0 ]'
check "the other client served too" \
	eval '[ "${oserved:-0}" = 200 ] && [ "${ofailed:-1}" = 0 ]'
check "bpf ct list shows closing flows with their expiry" eval \
	"mgcli 1 -j bpf ct list | jq -e 'any(.[]; .state == \"closing\" and .expires_in_s <= 10)' >/dev/null"
mgcli 1 bpf ct list | head -3 | sed 's/^/    /'

log "IPv6: $NSTRAY6 stray packets from c1p2 to [$VIP6]:80, then $NCONN6 connections"
nosyn0=$(stat_gw 1 ct_no_syn)
local0=$(stat_gw 1 lb_local)
flows0=$(mgcli 1 -j bpf ct list | jq length)
sent=$(stray "$(pod_ip6 1 2)" "$VIP6" "$NSTRAY6" c1p2)
nosyn=$(($(stat_gw 1 ct_no_syn) - nosyn0))
log "sent ${sent:-0}: ct_no_syn +$nosyn, lb_local +$(($(stat_gw 1 lb_local) - local0))"
check "IPv6: every stray counted under ct_no_syn, none NATed, no flow" eval \
	'[ "${sent:-0}" = "$NSTRAY6" ] && [ "$nosyn" = "$NSTRAY6" ] &&
	 [ "$(stat_gw 1 lb_local)" = "$local0" ] &&
	 [ "$(mgcli 1 -j bpf ct list | jq length)" -le "$flows0" ]'
read -r served failed secs < <(conns c1p2 "$NCONN6" "$VIP6")
log "c1p2: ${served:-0} served, ${failed:-?} failed in ${secs:-?} s"
check "IPv6: every one of $NCONN6 served" \
	eval '[ "${served:-0}" = "$NCONN6" ] && [ "${failed:-1}" = 0 ]'

# Every flow closed: 10 s later they are over, 10 s more and the agent's
# sweep (a slice a second) has taken them out of the maps.
check "the agent sweeps the flows out of the maps once over" \
	wait_until 40 eval '[ "$(mgcli 1 -j bpf ct list | jq length)" = 0 ]'

summary
