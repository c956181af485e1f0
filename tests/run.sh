#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs one group of tests (unit, datapath, fuzz, e2e, or all) and prints each
# runner's own summary, then one closing line: "N passed, N failed".
set -u
BUILD=${BUILD:-$(pwd)/build}
here=$(cd "$(dirname "$0")" && pwd)
group=${1:-all}
pass=0 fail=0 failed=()

run_one() {	# name, command...
	local name=$1; shift
	echo "=== $name"
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); failed+=("$name"); fi
}

run_bins() {	# dir
	local b
	for b in "$BUILD/tests/$1"/test_*; do
		[ -x "$b" ] && [ -f "$b" ] || continue
		case $b in *.o|*.d) continue ;; esac
		run_one "$1/$(basename "$b")" "$b"
	done
}

run_fuzz() {
	local b name
	for b in "$BUILD"/tests/fuzz/fuzz_*_replay; do
		[ -x "$b" ] || continue
		name=$(basename "$b" _replay)
		run_one "fuzz/$name" "$b" "$here/fuzz/corpus/$name"
	done
}

run_e2e() {
	local t
	for t in "$here"/e2e/test_*.sh; do
		[ -x "$t" ] || continue
		run_one "e2e/$(basename "$t" .sh)" timeout 600 "$t"
	done
}

case $group in
unit) run_bins unit ;;
datapath) run_bins datapath ;;
fuzz) run_fuzz ;;
e2e) run_e2e ;;
all) run_bins unit; run_bins datapath; run_fuzz; run_e2e ;;
*) echo "usage: $0 unit|datapath|fuzz|e2e|all" >&2; exit 2 ;;
esac

echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
