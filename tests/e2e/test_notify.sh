#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The agent and systemd (issue 10 item 6), without systemd: the test plays
# the notify socket (an AF_UNIX datagram socket, as systemd's) and records
# what arrives and what was true when it did.  READY=1 comes once the
# datapath is attached and the control socket open, and is the first
# message; WATCHDOG=1 keeps coming when WATCHDOG_USEC asks for it, and
# never when it does not; SIGHUP gives RELOADING=1 with MONOTONIC_USEC,
# then READY=1; SIGTERM gives STOPPING=1.  With stderr on the journal
# (JOURNAL_STREAM), every log line carries its syslog priority.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

command -v python3 >/dev/null || { echo "python3 missing (make deps)"; exit 1; }

NSOCK=$MGDIR/notify.sock
NLOG=$MGDIR/notify.log
PIN=$(pin_dir 1)

# The notify socket: one line per datagram, "links=L sock=S mono=USEC MSG"
# with newlines in MSG as '|': L and S say whether the XDP links were
# pinned and the control socket there when it arrived.
notify_listen() {
	rm -f "$NSOCK" "$NLOG"
	python3 - "$NSOCK" "$NLOG" "$PIN" "$MGDIR/gw1.sock" <<'PY' &
import os, socket, sys, time
path, out, pin, ctl = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(1.0)
end = time.monotonic() + 120
with open(out, "a", buffering=1) as f:
    while time.monotonic() < end and os.path.exists(path):
        try:
            msg = s.recv(4096).decode()
        except socket.timeout:
            continue
        links = int(os.path.exists(pin + "/link_cl0") and
                    os.path.exists(pin + "/link_ul0"))
        sock = int(os.path.exists(ctl))
        mono = int(time.monotonic() * 1e6)
        f.write("links=%d sock=%d mono=%d %s\n" %
                (links, sock, mono, msg.strip().replace("\n", "|")))
PY
	echo $! >"$MGDIR/listener.pid"
	for _ in $(seq 1 50); do [ -S "$NSOCK" ] && return 0; sleep 0.1; done
	return 1
}
notify_stop() {
	rm -f "$NSOCK"
	wait "$(cat "$MGDIR/listener.pid")" 2>/dev/null
}

# start_with ENV...: gw1's agent with these variables in its environment.
start_with() {
	cat "$MGDIR/gw1.log" 2>/dev/null | wc -l >"$MGDIR/gw1.logstart"
	nsnet_bg gw1 env "$@" "$MESHGATE" agent -c "$MGDIR/gw1.conf" \
		>>"$MGDIR/gw1.log" 2>&1
	echo $! >"$MGDIR/gw1.pid"
	wait_attached 1
}
count() { grep -c -- "$1" "$NLOG" 2>/dev/null || true; }

topo_underlay && topo_cluster 1 1 && topo_cluster 2 1 || exit 1
write_config 1 "2" >/dev/null

log "agent with NOTIFY_SOCKET and WATCHDOG_USEC=200000"
notify_listen || exit 1
check "agent starts" start_with NOTIFY_SOCKET="$NSOCK" WATCHDOG_USEC=200000
pid=$(cat "$MGDIR/gw1.pid")
check "READY=1 arrives" wait_until 5 grep -q "READY=1" "$NLOG"
check "READY=1 is the first message" \
	eval 'head -1 "$NLOG" | grep -q "READY=1"'
check "... sent with the XDP links pinned and the control socket open" \
	eval 'grep "READY=1" "$NLOG" | head -1 | grep -q "^links=1 sock=1 "'
check "WATCHDOG=1 keeps coming (at least 5)" \
	wait_until 10 eval '[ "$(count WATCHDOG=1)" -ge 5 ]'
check "the log says the watchdog period" \
	grep -q "watchdog: alive every 100 ms" "$MGDIR/gw1.log"

kill -HUP "$pid"
check "SIGHUP: RELOADING=1 with MONOTONIC_USEC" \
	wait_until 5 grep -q "RELOADING=1|MONOTONIC_USEC=[0-9]" "$NLOG"
check "... then READY=1 again" \
	wait_until 5 eval 'sed -n "/RELOADING=1/,\$p" "$NLOG" | grep -q "READY=1"'
# MONOTONIC_USEC is the agent's CLOCK_MONOTONIC: not after the arrival.
check "... MONOTONIC_USEC is the monotonic clock of the reload" \
	eval 'grep "RELOADING=1" "$NLOG" | head -1 |
		sed "s/^.* mono=\([0-9]*\) .*MONOTONIC_USEC=\([0-9]*\).*/\1 \2/" |
		{ read -r at sent; [ "$sent" -le "$at" ] && [ "$sent" -gt $((at - 5000000)) ]; }'
check "the agent runs on after SIGHUP" kill -0 "$pid"

kill -TERM "$pid"
check "SIGTERM: STOPPING=1" wait_until 5 grep -q "STOPPING=1" "$NLOG"
check "... and the agent exits" \
	wait_until 5 eval '! kill -0 $pid 2>/dev/null'
rm -f "$MGDIR/gw1.pid"
notify_stop

log "agent with NOTIFY_SOCKET, no watchdog asked for"
notify_listen || exit 1
check "agent starts" start_with NOTIFY_SOCKET="$NSOCK"
check "READY=1 arrives" wait_until 5 grep -q "READY=1" "$NLOG"
sleep 1
check "no WATCHDOG=1 when WATCHDOG_USEC is not set" \
	test "$(count WATCHDOG=1)" -eq 0
stop_agent 1
notify_stop

log "agent with stderr on the \"journal\" (JOURNAL_STREAM names it)"
jlog=$MGDIR/journal.log
: >"$jlog"
nsnet_bg gw1 env JOURNAL_STREAM="$(stat -c %d:%i "$jlog")" \
	"$MESHGATE" agent -c "$MGDIR/gw1.conf" 2>>"$jlog" >/dev/null
echo $! >"$MGDIR/gw1.pid"
check "agent starts" wait_until 10 grep -q "running" "$jlog"
stop_agent 1
check "info lines carry <6>" grep -q "^<6>info: gateway gw1 of cluster" "$jlog"
check "every line carries a priority" \
	eval '[ "$(grep -vc "^<[3467]>" "$jlog")" -eq 0 ]'
check "without JOURNAL_STREAM: no priority, the usual tag" \
	eval 'grep -q "^meshgate: info: gateway gw1" "$MGDIR/gw1.log" &&
		! grep -q "^<[0-7]>" "$MGDIR/gw1.log"'

# --- the unit: generated from PREFIX, hardened -------------------------------
SRC=$(cd "$(dirname "$0")/../.." && pwd)
unit=$MGDIR/unit/meshgate.service
check "make writes the unit with PREFIX's path" \
	eval 'make -s -C "$SRC" BUILD="$MGDIR/unit" PREFIX=/opt/mg "$unit" >/dev/null &&
		grep -q "^ExecStart=/opt/mg/sbin/meshgate agent " "$unit" &&
		grep -q "^Type=notify$" "$unit" && grep -q "^ExecReload=/bin/kill -HUP \$MAINPID$" "$unit"'
if command -v systemd-analyze >/dev/null; then
	score=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
		sed -n 's/.*Overall exposure level for meshgate.service: \([0-9.]*\).*/\1/p')
	log "systemd-analyze security: ${score:-?}"
	check "systemd-analyze security rates the unit below 4" \
		eval '[ -n "$score" ] && [ "$(echo "$score < 4" | bc)" = 1 ]'
else
	log "no systemd-analyze here (no systemd): the unit's rating is not checked"
fi

summary
