#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# `make bench` source: outlier_eject_ms, from a backend starting to reset
# every connection until no gateway's Maglev table holds it (three
# gossiping gateways, one of them seeing the resets; see
# tests/e2e/test_outlier.sh, which measures it).  Writes {} = $1.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exec "$HERE/../e2e/test_outlier.sh" --json "$1"
