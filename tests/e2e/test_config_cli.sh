#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The configuration check and the CLI's errors (DESIGN §4, §5):
# `meshgate agent --check-config` accepts a good file and rejects bad ones
# with an error naming file:line and key; the agent refuses to start on a
# bad file; unknown or ambiguous objects and maps exit non-zero with a
# message that says what would do; `meshgate down` detaches the datapath
# and removes its pins, but not under a running agent.  The CLI cannot cut
# a gateway by accident (issue 10 item 7): what cuts or moves traffic is
# taken only spelled in full, -h anywhere is help (never sent to the
# agent), -j anywhere is JSON, and the default configuration is read.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run CMD...: runs it, keeping its exit code in $rc and its stderr in $err.
run() {
	"$@" >"$MGDIR/out" 2>"$MGDIR/err"
	rc=$?
	err=$(cat "$MGDIR/err")
}

# fails_with PATTERN CMD...: CMD exits non-zero and says PATTERN on stderr.
fails_with() {
	local pat=$1
	shift
	run "$@"
	[ "$rc" -ne 0 ] && grep -qE -- "$pat" <<<"$err" && return 0
	echo "    exit $rc, stderr: $err"
	return 1
}

# --- --check-config ----------------------------------------------------------
good=$(write_config 1 "2")
# The interfaces are judged where the agent would run: here (the root
# namespace of the test) there is no cl0.
check "missing interface: --check-config names it at file:line" fails_with \
	"^$good:$(grep -n '^cluster_interface' "$good" | cut -d: -f1): \[gateway\] cluster_interface: no interface \"cl0\"" \
	"$MESHGATE" agent --check-config -c "$good"
check "--check-config starts nothing (no pin directory)" \
	test ! -e "$(pin_dir 1)"

# bad NAME SED_SCRIPT: a copy of the good file, edited.
bad() { sed "$2" "$good" >"$MGDIR/$1.conf"; echo "$MGDIR/$1.conf"; }
# line_of FILE REGEX: the line number of the first match.
line_of() { grep -nE "$2" "$1" | head -1 | cut -d: -f1; }

f=$(bad id300 's/^id = 1$/id = 300/')
check "cluster id 300: error at file:line and key" fails_with \
	"^$f:$(line_of "$f" '^id = 300').*\bid\b" \
	"$MESHGATE" agent --check-config -c "$f"
check "... and says the configuration is not valid" \
	grep -q "$f: configuration is not valid" "$MGDIR/err"

f=$(bad unknown_key 's/^log_level = .*/&\nfrobnicate = yes/')
check "unknown key: error at file:line names it" fails_with \
	"^$f:$(line_of "$f" '^frobnicate').*frobnicate.*unknown" \
	"$MESHGATE" agent --check-config -c "$f"

f=$(bad unknown_section '$a [frobnicator]\nx = 1')
check "unknown section: error at file:line names it" fails_with \
	"^$f:$(line_of "$f" '^\[frobnicator\]').*frobnicator" \
	"$MESHGATE" agent --check-config -c "$f"

f=$(bad bad_addr 's/^tunnel_address = .*\.1$/tunnel_address = 192.168.300.1/')
check "bad tunnel address: error at file:line and key" fails_with \
	"^$f:$(line_of "$f" '192\.168\.300\.1').*tunnel_address" \
	"$MESHGATE" agent --check-config -c "$f"

f=$(bad overlap 's#^cidr = 10.2.0.0/16#cidr = 10.1.5.0/24#')
check "peer CIDR overlapping ours: error at file:line and key" fails_with \
	"^$f:$(line_of "$f" '10\.1\.5\.0/24').*cidr.*overlap" \
	"$MESHGATE" agent --check-config -c "$f"

f=$(bad twice 's/^name = cluster1$/&\nname = again/')
check "single-valued key set twice: error at file:line" fails_with \
	"^$f:$(line_of "$f" '^name = again').*name" \
	"$MESHGATE" agent --check-config -c "$f"

f=$(bad no_cluster_id '/^id = 1$/d')
check "missing cluster id: error names the key" fails_with \
	"^$f:[0-9]+:.*\bid\b" "$MESHGATE" agent --check-config -c "$f"

check "missing file: error names it" fails_with "$MGDIR/nonexistent.conf" \
	"$MESHGATE" agent --check-config -c "$MGDIR/nonexistent.conf"

f=$(bad id300_run 's/^id = 1$/id = 300/')
topo_underlay && topo_cluster 1 1 || exit 1
run nsnet gw1 "$MESHGATE" agent --check-config -c "$good"
check "good file where its interfaces are: exit 0, says OK" \
	test "$rc" -eq 0 -a -n "$(grep 'configuration OK' "$MGDIR/out")"
f2=$(bad no_if 's/^underlay_interface = ul0$/underlay_interface = ul9/')
check "the agent refuses to start on a missing interface, naming it" \
	fails_with "underlay_interface: no interface \"ul9\"" \
	timeout 10 nsenter --net="/run/netns/$MGP-gw1" "$MESHGATE" agent -c "$f2"
check "... before anything is written: nothing pinned or attached" \
	test ! -e "$(pin_dir 1)" -a -z "$(xdp_prog_id gw1 cl0)"
check "the agent refuses to start on a bad file" fails_with "id" \
	timeout 10 nsenter --net="/run/netns/$MGP-gw1" "$MESHGATE" agent -c "$f"
check "... and leaves nothing pinned or attached" test ! -e "$(pin_dir 1)" \
	-a -z "$(xdp_prog_id gw1 cl0)"

# --- CLI errors --------------------------------------------------------------
check "no object: usage, non-zero" fails_with "usage" "$MESHGATE"
check "unknown object: says so and lists the objects" \
	fails_with "'frob' is unknown.* agent .*bpf .*stats" "$MESHGATE" frob
check "ambiguous object prefix: says so and lists the candidates" \
	fails_with "'stat' is ambiguous.*stats.*status|'stat' is ambiguous.*status.*stats" \
	"$MESHGATE" stat
check "unknown map: says so and lists the maps" \
	fails_with "no map 'bogus'.*endpoints.*clusters.*peers" \
	"$MESHGATE" -p "$(pin_dir 1)" bpf bogus
check "bpf without a map: usage" fails_with "usage" \
	"$MESHGATE" -p "$(pin_dir 1)" bpf
check "stats with an unknown argument" fails_with "unknown argument" \
	"$MESHGATE" -p "$(pin_dir 1)" stats --frob
check "no pinned maps: says where it looked and what to try" \
	fails_with "$(pin_dir 1)/mg_.*(-p DIR|-c FILE)" \
	"$MESHGATE" -p "$(pin_dir 1)" bpf clusters

# Help needs no agent, and goes to stdout with exit 0.
run "$MESHGATE" -s "$MGDIR/nobody.sock" status --help
check "status --help without an agent: usage on stdout, exit 0" \
	test "$rc" -eq 0 -a -n "$(grep '^usage: meshgate status' "$MGDIR/out")"
run "$MESHGATE" -s "$MGDIR/nobody.sock" keys remove -h
check "keys remove -h: the keys help, which says remove is full-only" \
	test "$rc" -eq 0 -a -n "$(grep "'keys remove' is taken only spelled in full" "$MGDIR/out")"
run "$MESHGATE" --help
check "--help: the objects on stdout, exit 0" \
	test "$rc" -eq 0 -a -n "$(grep 'meshgate down \[--force\]' "$MGDIR/out")"
check "a name the configuration would refuse is refused, not cut" \
	fails_with "is not a name: 1 to 63" "$MESHGATE" -s "$MGDIR/nobody.sock" \
	services add "$(printf 'x%.0s' $(seq 70))" vip 10.96.0.1 port 80
check "a socket path that does not fit is refused, not cut" \
	fails_with "-s: longer than" "$MESHGATE" -s "$MGDIR/$(printf 'x%.0s' $(seq 120))" status

# --- a running datapath, then `meshgate down` --------------------------------
write_config 1 "2" >/dev/null
check "agent starts" start_agent 1
agent_pid=$(cat "$MGDIR/gw1.pid")
check "unique prefixes work: 'bp cl'" mgcli 1 bp cl
check "-c FILE supplies the pin directory" \
	nsnet gw1 "$MESHGATE" -j -c "$good" bpf peers

# What cuts or moves traffic is never guessed from a prefix.
check "'d' (doctor, drain or down) is refused as ambiguous" \
	fails_with "'d' is ambiguous; one of: doctor drain down" mgcli 1 d
check "'do' (doctor or down) is refused as ambiguous" \
	fails_with "'do' is ambiguous; one of: doctor down" mgcli 1 do
check "'dow' (a prefix of down) is refused, says so" \
	fails_with "'dow' would be 'down', which is taken only spelled in full" \
	mgcli 1 dow
check "'dra' (a prefix of drain) is refused, says so" \
	fails_with "'dra' would be 'drain', which is taken only spelled in full" \
	mgcli 1 dra
check "... and XDP is still attached" test -n "$(xdp_prog_id gw1 cl0)"
check "'le' (a prefix of leave) is refused" \
	fails_with "'le' would be 'leave'" mgctl 1 le
check "'keys rem' is refused" \
	fails_with "'rem' would be 'remove'" mgctl 1 keys rem AAAA
check "'peers f' is refused" \
	fails_with "'f' would be 'forget'" mgctl 1 peers f gw2
run mgctl 1 leave --help
check "leave --help: help on stdout, exit 0" \
	test "$rc" -eq 0 -a -n "$(grep '^usage: meshgate leave' "$MGDIR/out")"
run mgctl 1 leave -h
check "leave -h: the same" \
	test "$rc" -eq 0 -a -n "$(grep '^usage: meshgate leave' "$MGDIR/out")"
check "leave with an argument: the agent refuses it (usage)" \
	fails_with "usage: meshgate leave" mgctl 1 leave now
check "... and the agent is still running, and answers" \
	eval 'kill -0 "$agent_pid" && mgctl 1 status >/dev/null'
check "... it never heard of a leave" \
	eval '! grep -q "leaving the mesh" "$MGDIR/gw1.log"'

# -j anywhere on the line.
check "-j after the object: JSON (bpf peers -j)" \
	eval 'mgcli 1 bpf peers -j | jq -e "type == \"array\"" >/dev/null'
check "-j after the verb: JSON (bpf peers list -j)" \
	eval 'mgcli 1 bpf peers list -j | jq -e "type == \"array\"" >/dev/null'
check "-j at the end of an agent command: JSON (status -j)" \
	eval 'mgctl 1 status -j | jq -e ".gateway == \"gw1\"" >/dev/null'

# The default configuration, when it exists, names the pins and the
# socket.  /etc is left alone: the file exists only in an overlay of /etc
# in a mount namespace of this command.
mkdir -p "$MGDIR/etc-up" "$MGDIR/etc-work"
with_default_conf() {
	unshare -m sh -c 'mount --make-rprivate / &&
		mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc &&
		mkdir -p /etc/meshgate && cp "$3" /etc/meshgate/meshgate.conf &&
		shift 3 && exec nsenter --net="$0" "$@"' \
		"/run/netns/$MGP-gw1" "$MGDIR/etc-up" "$MGDIR/etc-work" "$good" "$@"
}
run with_default_conf "$MESHGATE" -j bpf peers
check "no -p or -c: /etc/meshgate/meshgate.conf names the pins" \
	eval '[ "$rc" -eq 0 ] && jq -e "type == \"array\"" "$MGDIR/out" >/dev/null'
run with_default_conf "$MESHGATE" status -j
check "... and the agent's socket" \
	eval '[ "$rc" -eq 0 ] && jq -e ".gateway == \"gw1\"" "$MGDIR/out" >/dev/null'
check "... /etc itself is untouched" eval '! grep -qs "$MGP" /etc/meshgate/meshgate.conf'

# down under a running agent: refused, and forwarding stays.
run mgcli 1 down
check "down while the agent runs: refused (exit 1), says why" \
	eval '[ "$rc" -eq 1 ] && grep -q "an agent is running on $(pin_dir 1)" "$MGDIR/err"'
check "... XDP still attached, pins still there, agent still running" \
	test -n "$(xdp_prog_id gw1 cl0)" -a -e "$(pin_dir 1)" -a -d "/proc/$agent_pid"
stop_agent 1
check "XDP stays after the agent stops" \
	test -n "$(xdp_prog_id gw1 cl0)" -a -n "$(xdp_prog_id gw1 ul0)"
run mgcli 1 down
check "down: exit 0" test "$rc" -eq 0
check "down: XDP detached from cl0 and ul0" \
	test -z "$(xdp_prog_id gw1 cl0)" -a -z "$(xdp_prog_id gw1 ul0)"
check "down: pin directory removed" test ! -e "$(pin_dir 1)"
run mgcli 1 down
check "down again: nothing to do, exit 0" test "$rc" -eq 0
check "after down, the agent starts afresh" start_agent 1
agent_pid=$(cat "$MGDIR/gw1.pid")
run mgcli 1 down --force
check "down --force under a running agent: stops it first, says so" \
	eval '[ "$rc" -eq 0 ] && grep -q "stopped the agent (pid $agent_pid)" "$MGDIR/out" &&
		! kill -0 $agent_pid 2>/dev/null'
check "... then XDP detached and the pins removed" \
	test -z "$(xdp_prog_id gw1 cl0)" -a -z "$(xdp_prog_id gw1 ul0)" -a ! -e "$(pin_dir 1)"
stop_agent 1

# --- the keyring file outranks `key =` lines: the agent says so -----------
printf '\n[gossip]\nkey = %s\n' "$("$MESHGATE" keygen)" >>"$MGDIR/gw1.conf"
mkdir -p "$MGDIR/state-gw1"
"$MESHGATE" keygen >"$MGDIR/state-gw1/keyring"
check "agent starts with a keyring file and a key line" start_agent 1
check "... and says the keyring file outranks the key line" \
	grep -q "state-gw1/keyring (written by \`meshgate keys\`) outranks the 1 \`key =\` line of" \
	"$MGDIR/gw1.log"
stop_agent 1

summary
