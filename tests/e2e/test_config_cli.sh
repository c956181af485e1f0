#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The configuration check and the CLI's errors (DESIGN §4, §5):
# `meshgate agent --check-config` accepts a good file and rejects bad ones
# with an error naming file:line and key; the agent refuses to start on a
# bad file; unknown or ambiguous objects and maps exit non-zero with a
# message that says what would do; `meshgate down` detaches the datapath
# and removes its pins.
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
run "$MESHGATE" agent --check-config -c "$good"
check "good file: exit 0, says OK" \
	test "$rc" -eq 0 -a -n "$(grep 'configuration OK' "$MGDIR/out")"
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

# --- a running datapath, then `meshgate down` --------------------------------
write_config 1 "2" >/dev/null
check "agent starts" start_agent 1
check "unique prefixes work: 'bp cl'" mgcli 1 bp cl
check "-c FILE supplies the pin directory" \
	nsnet gw1 "$MESHGATE" -j -c "$good" bpf peers
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

summary
