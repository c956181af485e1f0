#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Map sizes from the configuration ([limits], agent/maplimits.h): a gateway
# with no service of its own keeps small flow tables, one with services the
# full ones, explicit limits are applied, a restart with other limits keeps
# the pinned maps (and their state) and says so, and `down` then a start
# applies them.  With --json FILE it writes the BPF memory of a gateway's
# maps (bpftool's bytes_memlock over its pin directory) for `make bench`:
# datapath_map_mib_noservices, datapath_map_mib_default (the example
# example services) and datapath_map_mib_explicit.
set -u
. "$(dirname "$0")/lib.sh"
trap topo_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

JSON=
[ "${1:-}" = --json ] && JSON=$2

topo_underlay && topo_cluster 1 1 || exit 1
conf=$(write_config 1 "")
base=$(cat "$conf")

pins=$(pin_dir 1)
max_of() { bpftool -j map show pinned "$pins/$1" | jq -r .max_entries; }
# mib_of: MiB the kernel charges for every map pinned in gw1's directory.
mib_of() {
	local f total=0 b
	for f in "$pins"/mg_*; do
		b=$(bpftool -j map show pinned "$f" 2>/dev/null | jq -r '.bytes_memlock // 0')
		total=$((total + ${b:-0}))
	done
	awk -v b="$total" 'BEGIN { printf "%.1f", b / 1048576 }'
}
restart() { stop_agent 1; start_agent 1; }
redo() { stop_agent 1; mgcli 1 down >/dev/null 2>&1; start_agent 1; }

# Example services (a web service per family, as in firmware-config/examples).
services='
[service web]
vip = 10.96.0.10
port = 80
backend = 10.1.0.11:8080

[service web6]
vip = fd00:96::10
port = 80
backend = [fd00:1::11]:8080
'
log "no service: auto sizes flow tables small"
start_agent 1 || exit 1
check "mg_ct4_v2 auto without services: 16384" [ "$(max_of mg_ct4_v2)" = 16384 ]
check "mg_rnat6 auto without services: 16384" [ "$(max_of mg_rnat6)" = 16384 ]
check "mg_pin auto without services: 4096" [ "$(max_of mg_pin)" = 4096 ]
check "mg_ep4 default: 131072" [ "$(max_of mg_ep4)" = 131072 ]
mib_nosvc=$(mib_of)
log "BPF memory, no service: $mib_nosvc MiB"
cli_mib=$(mgcli 1 -j bpf maps | jq '[.[].bytes_memlock] | add / 1048576 * 10 | round / 10')
check "bpf maps: the same memory as bpftool ($cli_mib MiB)" \
	awk -v a="$cli_mib" -v b="$mib_nosvc" 'BEGIN { exit !(a - b < 0.11 && b - a < 0.11) }'
check "bpf maps: mg_ct4_v2 limit 16384, mg_ep4 holds our prefix" \
	eval '[ "$(mgcli 1 -j bpf maps | jq -c ".[] | select(.map == \"mg_ct4_v2\") | .max_entries")" = 16384 ] &&
	      [ "$(mgcli 1 -j bpf maps | jq -c ".[] | select(.map == \"mg_local4\") | .entries")" = 1 ]'
check "no service: at most 16 MiB of maps ($mib_nosvc)" \
	awk -v m="$mib_nosvc" 'BEGIN { exit !(m <= 16) }'

log "with services: a restart resizes the pinned maps and keeps their entries"
# A flow entry (key 01 02 ..., value far from expiry) in the small map.
ksz=$(bpftool -j map show pinned "$pins/mg_ct4_v2" | jq .bytes_key)
vsz=$(bpftool -j map show pinned "$pins/mg_ct4_v2" | jq .bytes_value)
hexkey=$(seq 1 "$ksz" | awk '{ printf "%02x ", $1 }')
hexval=$(seq 1 "$vsz" | awk '{ printf "7f " }')
bpftool map update pinned "$pins/mg_ct4_v2" key hex $hexkey value hex $hexval
has_flow() { bpftool map lookup pinned "$pins/mg_ct4_v2" key hex $hexkey >/dev/null 2>&1; }
check "a flow in the 16384-entry mg_ct4_v2" has_flow
id0=$(bpftool -j map show pinned "$pins/mg_ct4_v2" | jq .id)
printf '%s\n%s\n' "$base" "$services" >"$conf"
restart || exit 1
check "restart: mg_ct4_v2 auto with services: 262144" [ "$(max_of mg_ct4_v2)" = 262144 ]
check "restart: mg_pin auto with services: 65536" [ "$(max_of mg_pin)" = 65536 ]
check "... a new map" [ "$(bpftool -j map show pinned "$pins/mg_ct4_v2" | jq .id)" != "$id0" ]
check "... with the flow copied into it" has_flow
check "the agent says so" \
	grep -q "mg_ct4_v2: resized from 16384 to 262144 entries" "$MGDIR/gw1.log"
check "the program in use reads the new map" \
	eval '[ "$(bpftool -j prog show id "$(xdp_prog_id gw1 cl0)" | jq -c ".map_ids | index($(bpftool -j map show pinned "$pins/mg_ct4_v2" | jq .id))")" != null ]'
mib_default=$(mib_of)
log "BPF memory, example services: $mib_default MiB"

log "explicit [limits]"
printf '%s\n%s\n[limits]\nendpoints = 1048576\nlocal_endpoints = 4096\nflows = 8192\npinned_flows = auto\n' \
	"$base" "$services" >"$conf"
redo || exit 1
check "endpoints = 1048576: mg_ep4" [ "$(max_of mg_ep4)" = 1048576 ]
check "endpoints = 1048576: mg_ep6" [ "$(max_of mg_ep6)" = 1048576 ]
check "local_endpoints = 4096: mg_local4" [ "$(max_of mg_local4)" = 4096 ]
check "flows = 8192: mg_ct4_v2, mg_rnat4, mg_ct6_v2" \
	[ "$(max_of mg_ct4_v2) $(max_of mg_rnat4) $(max_of mg_ct6_v2)" = "8192 8192 8192" ]
mib_explicit=$(mib_of)

log "refused limits"
bad() {	# LINE: --check-config refuses it, naming [limits] and the key
	printf '%s\n[limits]\n%s\n' "$base" "$1" >"$MGDIR/bad.conf"
	! "$MESHGATE" agent -c "$MGDIR/bad.conf" --check-config >"$MGDIR/bad.out" 2>&1 &&
		grep -q "\[limits\] ${1%% *}" "$MGDIR/bad.out"
}
check "flows = 10 refused (below 1024)" bad "flows = 10"
check "endpoints = lots refused" bad "endpoints = lots"
check "pinned_flows = 99999999 refused (above the maximum)" bad "pinned_flows = 99999999"

if [ -n "$JSON" ]; then
	printf '{"datapath_map_mib_noservices": %s, "datapath_map_mib_default": %s, "datapath_map_mib_explicit": %s}\n' \
		"$mib_nosvc" "$mib_default" "$mib_explicit" >"$JSON"
fi
summary
