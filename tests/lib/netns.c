// SPDX-License-Identifier: GPL-2.0-only
/* The private network namespace of the datapath tests and the bench. */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/wait.h>
#include "lib/netns.h"

const uint8_t mgt_cluster_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0xc0, 0x01 };
const uint8_t mgt_pod_mac[6] = { 0x02, 0x00, 0x00, 0x01, 0x00, 0x05 };
const uint8_t mgt_underlay_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0xd0, 0x01 };
const uint8_t mgt_peer_mac[6] = { 0x02, 0x00, 0x00, 0x02, 0x00, 0x02 };

#define MAC_FMT "%02x:%02x:%02x:%02x:%02x:%02x"
#define MAC_ARG(m) (m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]

int mgt_sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc)) {
		fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
		return rc == -1 ? -errno : -ECHILD;
	}
	return 0;
}

static int write_file(const char *path, const char *val)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(val, f) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

int mgt_netns_topo(struct mgt_topo *t)
{
	int err;

	if (unshare(CLONE_NEWNET)) {
		err = -errno;
		fprintf(stderr, "unshare(CLONE_NEWNET): %s (run as root)\n",
			strerror(errno));
		return err;
	}
	err = mgt_sh("ip link set lo up") ?:
	      mgt_sh("ip link add mgc0 address " MAC_FMT
		     " type veth peer name mgc1", MAC_ARG(mgt_cluster_mac)) ?:
	      mgt_sh("ip link add mgu0 address " MAC_FMT
		     " type veth peer name mgu1", MAC_ARG(mgt_underlay_mac)) ?:
	      mgt_sh("ip link set mgc1 up && ip link set mgc0 up && "
		     "ip link set mgu1 up && ip link set mgu0 up") ?:
	      mgt_sh("ip addr add 10.1.0.1/16 dev mgc0 && "
		     "ip addr add 192.0.2.1/24 dev mgu0") ?:
	      mgt_sh("ip neigh replace 10.1.0.5 lladdr " MAC_FMT
		     " nud permanent dev mgc0", MAC_ARG(mgt_pod_mac)) ?:
	      mgt_sh("ip neigh replace 192.0.2.2 lladdr " MAC_FMT
		     " nud permanent dev mgu0", MAC_ARG(mgt_peer_mac));
	if (err)
		return err;
	err = write_file("/proc/sys/net/ipv6/conf/all/disable_ipv6", "0") ?:
	      write_file("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	if (err) {
		fprintf(stderr, "cannot enable IPv6 forwarding: %s\n",
			strerror(-err));
		return err;
	}
	err = mgt_sh("ip -6 addr add fd00:1::1/64 dev mgc0 nodad && "
		     "ip -6 addr add 2001:db8:f::1/64 dev mgu0 nodad") ?:
	      mgt_sh("ip -6 neigh replace fd00:1::5 lladdr " MAC_FMT
		     " nud permanent dev mgc0", MAC_ARG(mgt_pod_mac)) ?:
	      mgt_sh("ip -6 neigh replace 2001:db8:f::2 lladdr " MAC_FMT
		     " nud permanent dev mgu0", MAC_ARG(mgt_peer_mac));
	if (err)
		return err;
	/* bpf_fib_lookup() answers FWD_DISABLED on an interface without it. */
	err = write_file("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	if (err) {
		fprintf(stderr, "cannot enable forwarding: %s\n",
			strerror(-err));
		return err;
	}
	t->lo = if_nametoindex("lo");
	t->cluster_if = if_nametoindex("mgc0");
	t->underlay_if = if_nametoindex("mgu0");
	if (!t->lo || !t->cluster_if || !t->underlay_if)
		return -ENODEV;
	return 0;
}
