/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A private network namespace with a fixed topology, so that what
 * bpf_fib_lookup() answers in BPF_PROG_TEST_RUN does not depend on the host:
 *
 *   lo                          up; IPv4 and IPv6 forwarding on everywhere
 *   mgc0 <-> mgc1 (veth)        cluster side, 10.1.0.1/16, fd00:1::1/64,
 *                               neighbours 10.1.0.5, fd00:1::5 (permanent),
 *                               none for 10.1.0.6, fd00:1::6
 *   mgu0 <-> mgu1 (veth)        underlay, 192.0.2.1/24, 2001:db8:f::1/64,
 *                               neighbours 192.0.2.2, 2001:db8:f::2
 *                               (permanent), none for .3 / ::3
 *   MTU 1500 everywhere
 *
 * No default route: anything else has no route.
 */
#ifndef MG_TEST_NETNS_H
#define MG_TEST_NETNS_H

#include <stdint.h>

extern const uint8_t mgt_cluster_mac[6];	/* mgc0 */
extern const uint8_t mgt_pod_mac[6];		/* neighbour 10.1.0.5 */
extern const uint8_t mgt_underlay_mac[6];	/* mgu0 */
extern const uint8_t mgt_peer_mac[6];		/* neighbour 192.0.2.2 */

struct mgt_topo {
	int lo;
	int cluster_if;		/* mgc0 */
	int underlay_if;	/* mgu0 */
};

/* Run a shell command; returns its exit status, reports a failure. */
int mgt_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Move the calling process into a new network namespace and build the
 * topology there.  Needs CAP_SYS_ADMIN and CAP_NET_ADMIN (root).
 * Returns 0 or -errno.
 */
int mgt_netns_topo(struct mgt_topo *t);

#endif
