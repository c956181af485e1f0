#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Runs one group of tests (unit, datapath, fuzz, e2e, or all) and prints each
# runner's own summary, then one closing line: "N passed, N failed, N skipped".
# A runner that cannot run exits 77 and says why: it is counted as skipped,
# never as passed.
set -u
BUILD=${BUILD:-$(pwd)/build}
here=$(cd "$(dirname "$0")" && pwd)
group=${1:-all}
pass=0 fail=0 skip=0 failed=() skipped=()

count() {	# name, rc
	case $2 in
	0) pass=$((pass + 1)) ;;
	77) skip=$((skip + 1)); skipped+=("$1") ;;
	*) fail=$((fail + 1)); failed+=("$1") ;;
	esac
}

run_one() {	# name, command...
	local name=$1; shift
	echo "=== $name"
	local rc=0 t0=$SECONDS
	"$@" || rc=$?
	echo "--- $name: rc $rc, $((SECONDS - t0)) s"
	count "$name" "$rc"
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

run_build() {
	local t
	for t in "$here"/build/test_*.sh; do
		[ -x "$t" ] || continue
		run_one "build/$(basename "$t" .sh)" "$t"
	done
}

# The e2e tests, E2E_JOBS at a time (default 2: each spends most of its
# time waiting on timers and peers, and each has its own namespaces, pins
# and files under a prefix of its own).  Each one's output is printed
# whole when it ends, so outputs never interleave.
run_e2e() {
	local t name jobs=${E2E_JOBS:-2} out pid rc
	local -A names=()
	out=$(mktemp -d /tmp/mg-e2e.XXXXXX) || return 1
	for t in "$here"/e2e/test_*.sh; do
		[ -x "$t" ] || continue
		# A test marked "# e2e: alone" (one that loads the machine, or
		# that times what a loaded machine would slow) runs by itself.
		if grep -q '^# e2e: alone' "$t"; then
			while [ "${#names[@]}" -gt 0 ]; do e2e_reap "$out"; done
		fi
		while [ "${#names[@]}" -ge "$jobs" ]; do e2e_reap "$out"; done
		name=e2e/$(basename "$t" .sh)
		(
			# Expanded here, not in the redirection: bash performs a
			# simple command's redirections after its fork, where
			# $BASHPID is the child's (timeout's) pid.
			log=$out/$BASHPID.log t0=$SECONDS
			timeout 600 "$t" >"$log" 2>&1
			rc=$?
			echo "--- $name: rc $rc, $((SECONDS - t0)) s" >>"$log"
			exit $rc
		) &
		names[$!]=$name
		if grep -q '^# e2e: alone' "$t"; then
			while [ "${#names[@]}" -gt 0 ]; do e2e_reap "$out"; done
		fi
	done
	while [ "${#names[@]}" -gt 0 ]; do e2e_reap "$out"; done
	rm -rf "$out"
}

e2e_reap() {	# out: wait for one e2e job, print its output, count it
	local pid rc=0
	wait -n -p pid || rc=$?
	[ -n "${pid:-}" ] && [ -n "${names[$pid]:-}" ] || return 0
	echo "=== ${names[$pid]}"
	cat "$1/$pid.log"
	count "${names[$pid]}" "$rc"
	unset "names[$pid]"
}

case $group in
unit) run_bins unit ;;
datapath) run_bins datapath ;;
fuzz) run_fuzz ;;
e2e) run_e2e ;;
build) run_build ;;
all)
	# make test: the sanitizer tree is built niced beside the other
	# groups (its status in a file: run_e2e's `wait -n` may reap it), and
	# its tests run last, one runner of the total.
	asan_log=$(mktemp /tmp/mg-asan-build.XXXXXX)
	if [ -n "${MG_ASAN_BUILD:-}" ]; then
		(nice -n 10 sh -c "$MG_ASAN_BUILD" >"$asan_log" 2>&1
		 echo $? >"$asan_log.rc") &
		asan_pid=$!
	fi
	run_build; run_bins unit; run_bins datapath; run_fuzz; run_e2e
	if [ -n "${MG_ASAN_BUILD:-}" ]; then
		wait "$asan_pid" 2>/dev/null
		echo "=== asan build (beside the tests): rc $(cat "$asan_log.rc" 2>/dev/null)"
		cat "$asan_log"
	fi
	rm -f "$asan_log" "$asan_log.rc"
	[ -n "${MG_TEST_ASAN:-}" ] && run_one "asan/test-asan" sh -c "$MG_TEST_ASAN"
	;;
*) echo "usage: $0 build|unit|datapath|fuzz|e2e|all" >&2; exit 2 ;;
esac

echo
[ ${#skipped[@]} -gt 0 ] && printf 'skipped: %s\n' "${skipped[@]}"
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
