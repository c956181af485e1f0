/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef MG_LOADER_H
#define MG_LOADER_H

#include <stdbool.h>
#include <net/if.h>
#include <linux/types.h>
#include <meshgate/settings.h>
#include "config.h"
#include "maplimits.h"

struct tc_bpf;
struct xdp_bpf;

/* Runtime settings written to the program's read-only globals before load. */
struct mg_dp_settings {
	/* The rows of include/meshgate/settings.h, as the agent keeps them. */
	MG_SETTINGS(MG_SETTING_FIELD)
	struct mg_map_limits limits;	/* all zero: the sizes in maps.h */
	/* Not globals: what mg_dp_attach() tells mg_ifs of an interface. */
	char cluster_if[IF_NAMESIZE];	/* "": any attached one may be */
	char underlay_if[IF_NAMESIZE];
};

/* The loaded datapath: the skeleton plus where its maps are pinned. */
struct mg_dp {
	struct xdp_bpf *skel;
	struct tc_bpf *tc;	/* TC egress (host traffic), on the same maps */
	char pin_dir[PATH_MAX];	/* empty: maps not pinned (tests) */
	char cluster_if[IF_NAMESIZE];	/* from the settings */
	char underlay_if[IF_NAMESIZE];
};

/*
 * The settings a configuration asks for.  cluster4/cluster6 (the source of
 * ICMP errors) are left for mg_dp_settings_cluster_addrs().
 */
void mg_dp_settings_from_config(struct mg_dp_settings *s,
				const struct mg_config *cfg);

/*
 * Take the cluster interface's first address of each family as the source
 * of the datapath's ICMP errors, when it lies inside one of the cluster's
 * own CIDRs (so that other gateways' anti-spoofing accepts an error sent
 * back through a tunnel).  Returns 0 or -errno.
 */
int mg_dp_settings_cluster_addrs(struct mg_dp_settings *s,
				 const struct mg_config *cfg);

/*
 * Open and load the XDP object.  With pin_dir, maps already pinned there are
 * re-used (so forwarding state survives a restart) and new ones are pinned;
 * the directory is created, and bpffs mounted on /sys/fs/bpf if it is not.
 * With pin_dir NULL nothing is pinned.  Returns 0 or -errno.
 */
int mg_dp_load(struct mg_dp *dp, const struct mg_dp_settings *s,
	       const char *pin_dir);
void mg_dp_destroy(struct mg_dp *dp);

/*
 * Attach the program to ifname through a BPF link pinned as
 * "<pin_dir>/link_<ifname>".  An existing pinned link is updated in place
 * (bpf_link_update), so the interface never runs without a program.
 * First its MAC and roles go into mg_ifs (mg_dp_describe_if()).
 */
int mg_dp_attach(struct mg_dp *dp, const char *ifname, enum mg_xdp_mode mode);

/*
 * Attach the TC egress program to ifindex (clsact, created when missing);
 * a filter already there from an earlier run is replaced in place.
 */
int mg_dp_attach_tc(struct mg_dp *dp, int ifindex);

/*
 * Tell the datapath (mg_ifs) interface ifindex's MAC (read from the
 * kernel) and roles: the cluster side, the underlay, or both on a
 * one-arm gateway (and with no interfaces in the settings).  Returns 0
 * or -errno.
 */
int mg_dp_describe_if(struct mg_dp *dp, const char *ifname, int ifindex);

/* Remove the pinned links, then the pinned maps and the directory. */
int mg_dp_teardown(const char *pin_dir);

/* Route libbpf's messages through the agent's logger. */
void mg_dp_set_libbpf_logger(void);

int mg_dp_map_fd(const struct mg_dp *dp, const char *name);

#endif
