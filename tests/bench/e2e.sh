#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# veth end-to-end benchmark (DESIGN §7): packets per second through one
# gateway namespace, three cases interleaved round by round on the same
# namespaces, generator and sink; the median of each is reported.
#
#   $MGP-gen  g0 ──veth── cl0  $MGP-gw1  ul0 ──veth── s0  $MGP-sink
#   generator               gateway                     counting sink
#
#   meshgate      the real agent: XDP encap, devmap redirect to ul0
#   kernel_vxlan  no meshgate: routing into the kernel's VXLAN device
#                 (lib.sh kernel_vxlan_gateway, permanent neighbours)
#   xdp_redirect  a bare XDP redirect cl0 -> ul0: the ceiling
#
# Placement (2 cores): the generator (bench_e2e, one live-frames test_run
# call per measurement) runs alone on GEN_CPU; cl0's NAPI runs threaded,
# its kthread pinned to GW_CPU, so everything the gateway does (XDP, or
# the kernel's forwarding and VXLAN path) runs there.  The sink's NAPI is
# scheduled from that CPU and runs after it in the same thread: with the
# sink on the generator's CPU the generator, not the gateway, set the
# pace.  Generator, sampler and NAPI thread are SCHED_FIFO (RT_PRIO) so
# that other load on a shared machine does not decide the figures.
# bench_e2e reports where the sink ran, how busy each CPU was and what the
# generator offered: the gateway CPU must be saturated and the offer must
# exceed what arrives, or the figure is not the gateway's.
#
# Each case is counted where it is cheapest to count: XDP sink for the XDP
# cases (frames arrive as xdp_frames), TC ingress for kernel_vxlan (skbs:
# an XDP sink would copy each into a page first, ~5% of that case's cost
# here), so the sink never flatters meshgate.
#
# usage: e2e.sh [OUT.json]     (root; writes a flat JSON object of figures)
# env:   E2E_ROUNDS=5 E2E_SECONDS=2 E2E_WARMUP=0.5 GEN_CPU=0 GW_CPU=1
#        E2E_KERNEL_RX=gro|pass|pass-nogro (how cl0 receives in kernel_vxlan)
#        RT_PRIO=50 (0: normal scheduling)
#        E2E_CASES="meshgate kernel_vxlan xdp_redirect"

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../e2e/lib.sh"
. "$HERE/e2e_lib.sh"
BUILD=${BUILD:-$(cd "$HERE/../.." && pwd)/build}
BENCH_E2E=${BENCH_E2E:-$BUILD/tests/bench/bench_e2e}

OUT=${1:-}
ROUNDS=${E2E_ROUNDS:-5}
SECONDS_PER=${E2E_SECONDS:-2}
WARMUP=${E2E_WARMUP:-0.5}
GEN_CPU=${GEN_CPU:-0}
GW_CPU=${GW_CPU:-1}
KERNEL_RX=${E2E_KERNEL_RX:-gro}
RT_PRIO=${RT_PRIO:-50}
CASES=${E2E_CASES:-meshgate kernel_vxlan xdp_redirect}
VNI=1			# gateway 1's cluster id
REMOTE=$UL_NET.2	# tunnel address of the (absent) gateway 2: the sink

trap 'topo_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { log "e2e: $*" >&2; exit 1; }

# cl0's NAPI in a kthread on GW_CPU.  GRO on keeps the NAPI instance (and
# its thread) alive across every XDP attach and detach of the run.
pin_gw_napi() {
	local before after pid
	nsx gw1 ethtool -K cl0 gro on >/dev/null || return 1
	before=$(pgrep '^napi/cl0-' | sort)
	nsx gw1 sh -c 'echo 1 >/sys/class/net/cl0/threaded' || return 1
	after=$(pgrep '^napi/cl0-' | sort)
	GW_NAPI=$(comm -13 <(echo "$before") <(echo "$after"))
	[ -n "$GW_NAPI" ] || { log "no NAPI thread appeared for cl0"; return 1; }
	for pid in $GW_NAPI; do
		taskset -pc "$GW_CPU" "$pid" >/dev/null || return 1
		[ "$RT_PRIO" -eq 0 ] || chrt -f -p "$RT_PRIO" "$pid" || return 1
	done
	# The sink's NAPI (GRO on for the TC sink) in softirq after the gateway.
	nsx sink ethtool -K s0 gro on >/dev/null || return 1
	log "cl0 NAPI thread(s) $GW_NAPI on CPU $GW_CPU; generator on CPU $GEN_CPU"
}

# --- cases: CASE_on / CASE_off; EXPECT_CASE is what the sink must count, -----
# --- SINK_CASE where it counts (xdp or tc) --------------------------------------

EXPECT_meshgate=vxlan SINK_meshgate=xdp
meshgate_on() {
	: >"$MGDIR/gw1.log"	# wait_attached looks for this start's "running"
	no_xdp_on_cl0 || { log "XDP still on cl0 before the agent"; return 1; }
	start_agent 1 || return 1
	taskset -pc "$GEN_CPU" "$(cat "$MGDIR/gw1.pid")" >/dev/null
}
meshgate_off() {
	stop_agent 1
	"$MESHGATE" -p "$(pin_dir 1)" down >/dev/null || return 1
	no_xdp_on_cl0 || { log "meshgate left XDP on cl0"; return 1; }
}

EXPECT_kernel_vxlan=vxlan SINK_kernel_vxlan=tc
kernel_vxlan_on() {
	case $KERNEL_RX in
	gro) ;;		# NAPI from GRO, frames become skbs with no program run
	pass) "$BENCH_E2E" attach "$MGP-gw1" cl0 pass ;;
	pass-nogro)	# XDP turns GRO on; turning it off after elides GRO
		"$BENCH_E2E" attach "$MGP-gw1" cl0 pass &&
			nsx gw1 ethtool -K cl0 gro off >/dev/null ;;
	*) die "E2E_KERNEL_RX: gro, pass or pass-nogro" ;;
	esac
}
kernel_vxlan_off() {
	cl0_xdp_off || return 1
	nsx gw1 ethtool -K cl0 gro on >/dev/null
}

EXPECT_xdp_redirect=raw SINK_xdp_redirect=xdp
xdp_redirect_on() { "$BENCH_E2E" attach "$MGP-gw1" cl0 redirect ul0; }
xdp_redirect_off() { cl0_xdp_off; }

measure() {
	local expect=$1 hook=$2
	"$BENCH_E2E" measure --sink-hook "$hook" --rt-prio "$RT_PRIO" \
		--gen-ns "$MGP-gen" --sink-ns "$MGP-sink" \
		--dmac "$(nsx gw1 cat /sys/class/net/cl0/address)" \
		--outer-dst "$REMOTE" --vni "$VNI" --expect "$expect" \
		--gen-cpu "$GEN_CPU" --warmup "$WARMUP" --seconds "$SECONDS_PER"
}

# --- run -----------------------------------------------------------------------

[ -x "$BENCH_E2E" ] || die "$BENCH_E2E not built (make $BENCH_E2E)"
[ -x "$MESHGATE" ] || die "$MESHGATE not built (make)"
bench_topo || die "cannot build the namespaces"
pin_gw_napi || die "cannot pin the gateway's NAPI"

declare -A RES
for r in $(seq 1 "$ROUNDS"); do
	for c in $CASES; do
		"${c}_on" || die "cannot set up case $c"
		exp=EXPECT_$c hook=SINK_$c
		line=$(measure "${!exp}" "${!hook}") || { "${c}_off"; die "case $c failed"; }
		"${c}_off" || die "cannot tear down case $c"
		log "round $r $c: $line"
		RES[$c]+="${line%% *} "
	done
done

fig() { tr ' ' '\n' <<<"${RES[$1]:-}" | sed -n 's/^mpps=//p' | median; }
mg=$(fig meshgate) kv=$(fig kernel_vxlan) rd=$(fig xdp_redirect)
json=$(awk -v mg="$mg" -v kv="$kv" -v rd="$rd" 'BEGIN {
	n = 0
	if (mg != "") f[++n] = sprintf("\"e2e_meshgate_mpps\": %.3f", mg)
	if (kv != "") f[++n] = sprintf("\"e2e_kernel_vxlan_mpps\": %.3f", kv)
	if (rd != "") f[++n] = sprintf("\"e2e_xdp_redirect_mpps\": %.3f", rd)
	if (mg > 0 && kv > 0)
		f[++n] = sprintf("\"e2e_meshgate_vs_kernel_vxlan\": %.2f", mg / kv)
	if (mg > 0 && rd > 0)
		f[++n] = sprintf("\"e2e_meshgate_minus_redirect_ns\": %.1f",
				 1e3 / mg - 1e3 / rd)
	printf "{"
	for (i = 1; i <= n; i++) printf "%s%s", (i > 1 ? ", " : ""), f[i]
	printf "}\n"
}')
if [ -n "$OUT" ]; then echo "$json" >"$OUT"; else echo "$json"; fi
