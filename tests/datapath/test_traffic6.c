// SPDX-License-Identifier: GPL-2.0-only
/* test_traffic.c for IPv6: the same rows and tests over the IPv6 fixture. */
#define TRAFFIC_V6 1
#include "test_traffic.c"
