#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Every BPF object includes kernel UAPI and libbpf headers only: a glibc
# header (sys/, bits/, gnu/ ...) would make the build need the 32-bit libc
# headers (gnu/stubs-32.h), which a fresh Debian machine does not have.
# Reads the dependency files clang wrote beside each BPF object.
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/../.." && pwd)/build}
pass=0 fail=0
shopt -s nullglob
deps=("$BUILD"/datapath/*.bpf.d "$BUILD"/tests/bpf/*.bpf.d)
if [ ${#deps[@]} -eq 0 ]; then
	echo "FAIL no BPF dependency files under $BUILD (build first)"
	echo "0 passed, 1 failed"; exit 1
fi
for d in "${deps[@]}"; do
	# Header paths outside the tree: allowed are linux/, asm/, asm-generic/
	# and bpf/ (libbpf), wherever the include directory puts them.
	bad=$(tr ' \\' '\n\n' < "$d" | grep '^/' | grep -v ':$' |
		grep -Ev '/include/(linux|asm|asm-generic|bpf)/|/include/[^/]+-linux-gnu/asm/' | sort -u)
	if [ -n "$bad" ]; then
		echo "FAIL $(basename "$d" .d): includes non-UAPI headers:"
		printf '    %s\n' $bad
		fail=$((fail + 1))
	else
		echo "ok   $(basename "$d" .d)"
		pass=$((pass + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
