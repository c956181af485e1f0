#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Every example configuration (firmware-config/examples, and the installed
# meshgate.conf) passes `meshgate agent --check-config`.  The check also
# refuses interfaces this host lacks, so each file is checked in a
# throwaway network namespace holding interfaces of the names the
# file gives (cluster_interface, underlay_interface): what is checked is
# the file, not this machine.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$root/build}
MESHGATE=${MESHGATE:-$BUILD/meshgate}
pass=0 fail=0
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (network namespaces)"; exit 77; }
if [ ! -x "$MESHGATE" ]; then
	echo "FAIL $MESHGATE not built"; echo "0 passed, 1 failed"; exit 1
fi
ns=mgex$$
trap 'ip netns del "$ns" 2>/dev/null' EXIT
shopt -s nullglob globstar

# ifnames FILE: the interface names FILE gives (each once).
ifnames() {
	sed -n 's/^[[:space:]]*\(cluster\|underlay\)_interface[[:space:]]*=[[:space:]]*\([^[:space:];#]*\).*/\2/p' "$1" |
		sort -u
}

files=("$root"/firmware-config/examples/**/*.conf "$root"/firmware-config/meshgate.conf)
for f in "${files[@]}"; do
	name=${f#"$root"/}
	ip netns del "$ns" 2>/dev/null
	ip netns add "$ns" || { echo "FAIL $name: no namespace"; fail=$((fail + 1)); continue; }
	for i in $(ifnames "$f"); do
		# veth: the kernel may have no dummy devices.
		ip -n "$ns" link add "$i" type veth peer name "x${i:0:14}" &&
			ip -n "$ns" link set "$i" up
	done
	if out=$(ip netns exec "$ns" "$MESHGATE" agent --check-config -c "$f" 2>&1); then
		echo "ok   $name: ${out##*: }"
		pass=$((pass + 1))
	else
		echo "FAIL $name:"
		printf '%s\n' "$out" | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
# The test itself can fail: a file with a mistake is refused.
bad=$(mktemp)
sed 's/^id = 1$/id = 300/' "$root"/firmware-config/examples/gossip.conf >"$bad"
if ip netns exec "$ns" "$MESHGATE" agent --check-config -c "$bad" >/dev/null 2>&1; then
	echo "FAIL a file with id = 300 passed the check"
	fail=$((fail + 1))
else
	echo "ok   a file with a mistake (id = 300) is refused"
	pass=$((pass + 1))
fi
rm -f "$bad"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
