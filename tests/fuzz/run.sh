#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# `make fuzz`: run every libFuzzer harness to FUZZ_EXECS executions
# (-runs=N) over its corpus, tests/fuzz/corpus/<harness>/ (read only; what
# a run adds goes to $BUILD/fuzz-new/<harness>/), FUZZ_JOBS harnesses at a
# time, then write and print the report: $BUILD/fuzz-report.txt and .json,
# per harness the executions, exec/s, libFuzzer's final cov: and ft:, the
# corpus size, the crashes (inputs in $BUILD/fuzz-crash/<harness>/).
#
#	tests/fuzz/run.sh BUILD HARNESS_BIN...
#
# FUZZ_EXECS (default 10000000), FUZZ_JOBS (default 1), FUZZ_ONLY (names of
# harnesses to run, e.g. "fuzz_state fuzz_member"), FUZZ_MAX_LEN (passed as
# -max_len when set).  Exits 1 when a harness crashed or did not finish.
set -u
build=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
execs=${FUZZ_EXECS:-10000000}
jobs=${FUZZ_JOBS:-1}
only=${FUZZ_ONLY:-}
logs=$build/fuzz-logs
mkdir -p "$logs"

run_one() {	# harness binary
	local bin=$1 name new crash rc=0 t0 t1
	name=$(basename "$bin")
	new=$build/fuzz-new/$name
	crash=$build/fuzz-crash/$name
	rm -rf "$crash"	# this run's crashes only (libFuzzer stops at one)
	mkdir -p "$new" "$crash"
	t0=$(date +%s.%N)
	"$bin" -runs="$execs" -timeout=25 -rss_limit_mb=2048 \
		${FUZZ_MAX_LEN:+-max_len=$FUZZ_MAX_LEN} \
		-artifact_prefix="$crash/" -print_final_stats=1 \
		"$new" "$here/corpus/$name" >"$logs/$name.log" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	echo "$rc $t0 $t1" >"$logs/$name.rc"
}

bins=()
for b in "$@"; do
	n=$(basename "$b")
	if [ -n "$only" ] && ! [[ " $only " == *" $n "* ]]; then
		continue
	fi
	bins+=("$b")
done
export -f run_one
export build here execs logs FUZZ_MAX_LEN=${FUZZ_MAX_LEN:-}
printf '%s\n' "${bins[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {}

txt=$build/fuzz-report.txt json=$build/fuzz-report.json
fail=0
{
	printf '# make fuzz: FUZZ_EXECS=%s FUZZ_JOBS=%s, %s\n' "$execs" "$jobs" \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	printf '%-16s %10s %9s %8s %7s %7s %12s %7s %s\n' harness execs \
		seconds exec/s cov ft corpus crashes status
} >"$txt"
echo '[' >"$json"
sep=
for b in "${bins[@]}"; do
	n=$(basename "$b")
	log=$logs/$n.log
	read -r rc t0 t1 <"$logs/$n.rc"
	# libFuzzer's last status line: "#N DONE cov: X ft: Y corp: A/B ..."
	last=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
	done_execs=$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
	[ -n "$done_execs" ] || done_execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
	cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
	ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+')
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	eps=$(awk -v n="${done_execs:-0}" -v s="$secs" \
		'BEGIN { printf "%d", (s > 0) ? n / s : 0 }')
	files=$(find "$build/fuzz-new/$n" "$here/corpus/$n" -type f | wc -l)
	bytes=$(find "$build/fuzz-new/$n" "$here/corpus/$n" -type f \
		-printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
	crashes=$(find "$build/fuzz-crash/$n" -type f | wc -l)
	status=ok
	if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
		status="FAILED (exit $rc, see $log)"
		fail=1
	elif [ "${done_execs:-0}" -lt "$execs" ]; then
		status="SHORT (see $log)"
		fail=1
	fi
	printf '%-16s %10s %9s %8s %7s %7s %12s %7s %s\n' "$n" \
		"${done_execs:-0}" "$secs" "$eps" "${cov:--}" "${ft:--}" \
		"$files/${bytes}b" "$crashes" "$status" >>"$txt"
	printf '%s  {"harness": "%s", "execs": %s, "seconds": %s, "exec_per_s": %s, "cov": %s, "ft": %s, "corpus_files": %s, "corpus_bytes": %s, "crashes": %s, "ok": %s}' \
		"$sep" "$n" "${done_execs:-0}" "$secs" "$eps" "${cov:-null}" \
		"${ft:-null}" "$files" "$bytes" "$crashes" \
		"$([ "$status" = ok ] && echo true || echo false)" >>"$json"
	sep=$',\n'
done
printf '\n]\n' >>"$json"
cat "$txt"
exit $fail
