#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The single-CPU veth end-to-end benchmark (issue 15 item 4): cases that
# differ only in the gateway's program, the per-packet difference computed
# within one run.
#
#   $MGP-gen  g0 ──veth── cl0  $MGP-gw1  ul0 ──veth── s0  $MGP-sink
#   generator               gateway                     counting sink
#
# Everything runs on ONE CPU (E2E1_CPU), in one thread: the live-frames
# generator (bench_e2e, BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES)
# redirects a batch of 64 frames into g0; when the batch ends it enables
# bottom halves, and the softirq it raised runs there and then: cl0's NAPI
# (the gateway), which redirects to ul0, whose peer's NAPI (the sink) runs
# in the same softirq.  No NAPI is threaded, nothing waits for another CPU:
# a packet's time is generator + gateway + sink, and between two cases
# only the gateway's part differs.  So per packet
#
#   e2e_meshgate_minus_redirect_ns = 1e3 / meshgate_mpps - 1e3 / redirect_mpps
#
# is meshgate's cost over a bare redirect, generator and sink cancelled.
# The pipeline must not lose frames for this to hold (nothing then waits
# in a queue): each measurement reports what the generator offered and
# what arrived, and one that lost more than E2E1_MAX_LOSS (5%) or whose
# sink ran on another CPU fails the run.
#
#   xdp_redirect  a bare XDP redirect cl0 -> ul0 (e2e_gw.bpf.c)
#   ref           the reference encap (ref_encap.bpf.c): one LPM lookup,
#                 50 bytes pushed, checksum, the same devmap redirect
#   meshgate      the real agent (XDP on cl0 and ul0; the agent itself on
#                 another CPU)
#   kernel_vxlan  no XDP: routing into the kernel's VXLAN device (GRO on
#                 cl0 gives it NAPI), counted at TC ingress of the sink
#
# The cases run in a new random order every round (E2E1_ROUNDS, >= 3);
# each round gives its differences and ratio, and the figures are their
# medians with the spread (_min, _max).  Also the size of the programs the
# agent attached: xdp_cluster_insns, xdp_underlay_insns, tc_insns (on its
# host device; xlated instructions, and _jited_bytes).  The generator, and with it the whole pipeline, runs
# SCHED_FIFO (RT_PRIO) so that other load on the machine does not cut in.
#
# usage: e2e1.sh [OUT.json]     (root; writes a flat JSON object of figures)
# env:   E2E1_ROUNDS=3 E2E1_SECONDS=1.5 E2E1_WARMUP=0.3 E2E1_CPU=1
#        RT_PRIO=50 E2E1_CASES="xdp_redirect ref meshgate kernel_vxlan"

set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/../e2e/lib.sh"
. "$HERE/e2e_lib.sh"
BUILD=${BUILD:-$(cd "$HERE/../.." && pwd)/build}
BENCH_E2E=${BENCH_E2E:-$BUILD/tests/bench/bench_e2e}

OUT=${1:-}
ROUNDS=${E2E1_ROUNDS:-3}
SECONDS_PER=${E2E1_SECONDS:-1.5}
WARMUP=${E2E1_WARMUP:-0.3}
CPU=${E2E1_CPU:-1}
MAX_LOSS=${E2E1_MAX_LOSS:-0.05}
RT_PRIO=${RT_PRIO:-50}
CASES=${E2E1_CASES:-xdp_redirect ref meshgate kernel_vxlan}
VNI=1			# gateway 1's cluster id
REMOTE=$UL_NET.2	# tunnel address of the (absent) gateway 2: the sink

trap 'topo_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() { log "e2e1: $*" >&2; exit 1; }

# Another CPU than the pipeline's, for the agent and the script.
OTHER_CPU=$(( CPU == 0 ? 1 : 0 ))
[ "$(nproc)" -ge 2 ] || OTHER_CPU=$CPU

# --- cases: CASE_on / CASE_off; EXPECT_CASE what the sink must count, -------
# --- SINK_CASE where (xdp or tc) ---------------------------------------------

EXPECT_xdp_redirect=raw SINK_xdp_redirect=xdp
xdp_redirect_on() { "$BENCH_E2E" attach "$MGP-gw1" cl0 redirect ul0; }
xdp_redirect_off() { cl0_xdp_off; }

EXPECT_ref=vxlan SINK_ref=xdp
ref_on() {
	"$BENCH_E2E" attach "$MGP-gw1" cl0 ref ul0 "$UL_NET.1" "$REMOTE" "$VNI" \
		10.2.0.0/16 "$(nsx gw1 cat /sys/class/net/ul0/address)" \
		"$(nsx sink cat /sys/class/net/s0/address)"
}
ref_off() { cl0_xdp_off; }

EXPECT_meshgate=vxlan SINK_meshgate=xdp
meshgate_on() {
	: >"$MGDIR/gw1.log"	# wait_attached looks for this start's "running"
	no_xdp_on_cl0 || { log "XDP still on cl0 before the agent"; return 1; }
	start_agent 1 || return 1
	taskset -apc "$OTHER_CPU" "$(cat "$MGDIR/gw1.pid")" >/dev/null
	[ -n "${INSNS_DONE:-}" ] || prog_sizes
}
meshgate_off() {
	stop_agent 1
	"$MESHGATE" -p "$(pin_dir 1)" down >/dev/null || return 1
	no_xdp_on_cl0 || { log "meshgate left XDP on cl0"; return 1; }
}

EXPECT_kernel_vxlan=vxlan SINK_kernel_vxlan=tc
kernel_vxlan_on() { nsx gw1 ethtool -K cl0 gro on >/dev/null; }
kernel_vxlan_off() { nsx gw1 ethtool -K cl0 gro off >/dev/null; }

# The programs the agent attached on each side, as the kernel holds them.
prog_sizes() {
	local side dev id info pin
	for side in cluster:cl0 underlay:ul0; do
		dev=${side#*:}
		id=$(xdp_prog_id gw1 "$dev")
		[ -n "$id" ] || { log "no XDP program on $dev"; return 1; }
		info=$(bpftool -j prog show id "$id") || return 1
		SIZES+="\"xdp_${side%%:*}_insns\": $(jq '.bytes_xlated / 8' <<<"$info"), "
		SIZES+="\"xdp_${side%%:*}_jited_bytes\": $(jq '.bytes_jited' <<<"$info"), "
		log "agent's XDP on $dev: prog $id, $(jq -r '"\(.name), \(.bytes_xlated / 8) insns, \(.bytes_jited) bytes jited"' <<<"$info")"
	done
	# TC egress on the host device (mg0 by default), pinned by the agent.
	for pin in "$(pin_dir 1)"/tc_*; do
		[ -e "$pin" ] || { log "no TC program pinned in $(pin_dir 1)"; return 1; }
		info=$(bpftool -j prog show pinned "$pin") || return 1
		SIZES+="\"tc_insns\": $(jq '.bytes_xlated / 8' <<<"$info"), "
		SIZES+="\"tc_jited_bytes\": $(jq '.bytes_jited' <<<"$info"), "
		log "agent's TC egress ($(basename "$pin")): $(jq -r '"\(.name), \(.bytes_xlated / 8) insns, \(.bytes_jited) bytes jited"' <<<"$info")"
		break
	done
	INSNS_DONE=1
}

measure() {
	"$BENCH_E2E" measure --sink-hook "$2" --rt-prio "$RT_PRIO" \
		--gen-ns "$MGP-gen" --sink-ns "$MGP-sink" \
		--dmac "$(nsx gw1 cat /sys/class/net/cl0/address)" \
		--outer-dst "$REMOTE" --vni "$VNI" --expect "$1" \
		--gen-cpu "$CPU" --warmup "$WARMUP" --seconds "$SECONDS_PER"
}

# value KEY LINE: KEY's value in a key=value line.
value() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# --- run -----------------------------------------------------------------------

[ -x "$BENCH_E2E" ] || die "$BENCH_E2E not built (make $BENCH_E2E)"
[ -x "$MESHGATE" ] || die "$MESHGATE not built (make)"
[ "$ROUNDS" -ge 1 ] || die "E2E1_ROUNDS: at least 1"
bench_topo || die "cannot build the namespaces"
# Only what a case turns on gives cl0 its NAPI (none threaded).
nsx gw1 ethtool -K cl0 gro off >/dev/null
taskset -pc "$OTHER_CPU" $$ >/dev/null
log "e2e1: generator, gateway and sink on CPU $CPU; load $(cut -d' ' -f1-3 /proc/loadavg)"

SIZES=
declare -A MPPS
for r in $(seq 1 "$ROUNDS"); do
	for c in $(shuf -e $CASES); do
		"${c}_on" || die "cannot set up case $c"
		exp=EXPECT_$c hook=SINK_$c
		line=$(measure "${!exp}" "${!hook}") || { "${c}_off"; die "case $c failed"; }
		"${c}_off" || die "cannot tear down case $c"
		log "round $r $c: $line"
		mpps=$(value mpps "$line") offered=$(value offered_mpps "$line")
		[ "$(value sink_cpu "$line")" = "$CPU" ] ||
			die "round $r $c: the sink ran on another CPU than $CPU: not one pipeline"
		awk -v m="$mpps" -v o="$offered" -v l="$MAX_LOSS" \
			'BEGIN { exit !(o > 0 && m >= o * (1 - l)) }' ||
			die "round $r $c: $mpps of $offered Mpps arrived (more than $MAX_LOSS lost): frames queued or dropped, not one pipeline"
		MPPS[$r.$c]=$mpps
	done
done

# Per round: differences and the ratio; then median, min, max of each.
has() { [[ " $CASES " == *" $1 "* ]]; }
declare -A PER
for r in $(seq 1 "$ROUNDS"); do
	rd=${MPPS[$r.xdp_redirect]:-} mg=${MPPS[$r.meshgate]:-}
	rf=${MPPS[$r.ref]:-} kv=${MPPS[$r.kernel_vxlan]:-}
	[ -n "$rd" ] && [ -n "$mg" ] &&
		PER[e2e_meshgate_minus_redirect_ns]+="$(awk -v a="$mg" -v b="$rd" 'BEGIN { printf "%.2f", 1e3 / a - 1e3 / b }') "
	[ -n "$rd" ] && [ -n "$rf" ] &&
		PER[e2e_ref_minus_redirect_ns]+="$(awk -v a="$rf" -v b="$rd" 'BEGIN { printf "%.2f", 1e3 / a - 1e3 / b }') "
	[ -n "$rf" ] && [ -n "$mg" ] &&
		PER[e2e_meshgate_minus_ref_ns]+="$(awk -v a="$mg" -v b="$rf" 'BEGIN { printf "%.2f", 1e3 / a - 1e3 / b }') "
	[ -n "$kv" ] && [ -n "$mg" ] &&
		PER[e2e_meshgate_vs_kernel_vxlan]+="$(awk -v a="$mg" -v b="$kv" 'BEGIN { printf "%.3f", a / b }') "
	[ -n "$kv" ] && [ -n "$rd" ] &&
		PER[e2e_redirect_vs_kernel_vxlan]+="$(awk -v a="$rd" -v b="$kv" 'BEGIN { printf "%.3f", a / b }') "
done
for c in xdp_redirect ref meshgate kernel_vxlan; do
	has "$c" || continue
	v=
	for r in $(seq 1 "$ROUNDS"); do v+="${MPPS[$r.$c]} "; done
	PER[e2e_${c}_mpps]=$v
done
json="{$SIZES"
for k in "${!PER[@]}"; do
	vals=$(tr ' ' '\n' <<<"${PER[$k]}" | grep .)
	name=${k/e2e_ref_mpps/e2e_ref_encap_mpps}
	json+="\"$name\": $(median <<<"$vals"), "
	case $k in *_mpps) continue ;; esac
	json+="\"${name}_min\": $(sort -g <<<"$vals" | head -1), "
	json+="\"${name}_max\": $(sort -g <<<"$vals" | tail -1), "
	log "$name: rounds $(tr '\n' ' ' <<<"$vals")"
done
json="${json%, }}"
if [ -n "$OUT" ]; then echo "$json" >"$OUT"; else echo "$json"; fi
