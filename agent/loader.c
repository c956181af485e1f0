// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading the datapath: skeleton open -> read-only globals -> load (with
 * pinned maps re-used) -> attach through pinned links.  A restarted agent
 * swaps its new program into the existing links, so forwarding never stops.
 */
#include <errno.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "loader.h"
#include "lib/log.h"
#include "tc.skel.h"
#include "xdp.skel.h"

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	char buf[1024];
	enum mg_log_level lvl = level == LIBBPF_WARN ? MG_LOG_WARN :
				level == LIBBPF_INFO ? MG_LOG_DEBUG : -1;

	if ((int)lvl < 0 || lvl > mg_log_get_level())
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	mg_log(lvl, "libbpf: %s", buf);
	return 0;
}

void mg_dp_set_libbpf_logger(void)
{
	libbpf_set_print(libbpf_log);
}

void mg_dp_settings_from_config(struct mg_dp_settings *s,
				const struct mg_config *cfg)
{
	const struct mg_addr *t4 = mg_config_tunnel(cfg, MG_AF_INET);
	const struct mg_addr *t6 = mg_config_tunnel(cfg, MG_AF_INET6);

	memset(s, 0, sizeof(*s));
	s->tunnel4 = t4 ? t4->addr[0] : 0;
	if (t6)
		memcpy(s->tunnel6, t6->addr, sizeof(s->tunnel6));
	s->vxlan_port = cfg->vxlan_port;
	s->cluster_id = cfg->cluster_id;
	s->nh_table = cfg->nh_mode == MG_NH_TABLE;
	s->frag_stack = cfg->fragment == MG_FRAGMENT_STACK;
	s->udp6_csum = cfg->udp6_checksum;
	s->mss_clamp = cfg->mss_clamp;
	mg_limits_from_config(&s->limits, cfg);
	snprintf(s->cluster_if, sizeof(s->cluster_if), "%s", cfg->cluster_if);
	snprintf(s->underlay_if, sizeof(s->underlay_if), "%s",
		 cfg->underlay_if);
}

static bool in_own_cidrs(const struct mg_config *cfg, const struct mg_addr *a)
{
	struct mg_prefix host = { .addr = *a,
				  .len = a->family == MG_AF_INET ? 32 : 128 };

	for (int i = 0; i < cfg->n_cidrs; i++)
		if (mg_prefix_overlap(&cfg->cidrs[i], &host))
			return true;
	return false;
}

int mg_dp_settings_cluster_addrs(struct mg_dp_settings *s,
				 const struct mg_config *cfg)
{
	struct ifaddrs *ifa, *i;
	bool have4 = false, have6 = false;

	if (getifaddrs(&ifa))
		return -errno;
	for (i = ifa; i; i = i->ifa_next) {
		struct mg_addr a = { 0 };

		if (!i->ifa_addr || strcmp(i->ifa_name, cfg->cluster_if))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !have4) {
			a.family = MG_AF_INET;
			memcpy(a.addr, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
			if (in_own_cidrs(cfg, &a)) {
				s->cluster4 = a.addr[0];
				have4 = true;
			}
		} else if (i->ifa_addr->sa_family == AF_INET6 && !have6) {
			const struct in6_addr *in6 =
				&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;

			if (IN6_IS_ADDR_LINKLOCAL(in6))
				continue;
			a.family = MG_AF_INET6;
			memcpy(a.addr, in6, 16);
			if (in_own_cidrs(cfg, &a)) {
				memcpy(s->cluster6, a.addr, 16);
				have6 = true;
			}
		}
	}
	freeifaddrs(ifa);
	return 0;
}

/* bpffs must be mounted where the pin directory lives. */
static int ensure_bpffs(const char *pin_dir)
{
	struct statfs st;
	char path[PATH_MAX];
	char *slash;

	if (!statfs("/sys/fs/bpf", &st) && st.f_type != BPF_FS_MAGIC &&
	    !strncmp(pin_dir, "/sys/fs/bpf/", 12)) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			pr_err("cannot mount bpffs on /sys/fs/bpf: %s",
			       strerror(errno));
			return -errno;
		}
		pr_info("mounted bpffs on /sys/fs/bpf");
	}
	/* mkdir -p */
	snprintf(path, sizeof(path), "%s", pin_dir);
	for (slash = path + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*slash = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST) {
		pr_err("cannot create %s: %s", path, strerror(errno));
		return -errno;
	}
	if (statfs(path, &st) || st.f_type != BPF_FS_MAGIC) {
		pr_err("%s is not on a BPF filesystem", path);
		return -EINVAL;
	}
	return 0;
}

/*
 * The kernel adds BPF_F_RDONLY_PROG to the flags of every devmap, so
 * libbpf before 1.3 finds a pinned mg_tx unlike its definition and refuses
 * to load: a restarted agent could not start.  mg_tx is pinned here
 * instead, and re-used after checking its layout.  Returns 1 when the
 * pinned map is re-used, 0 when there is none, or -errno.
 */
static int reuse_devmap(struct bpf_map *map, const char *path)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	int fd, err;

	bpf_map__set_pin_path(map, NULL);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : 0;
	if (!err && (info.type != bpf_map__type(map) ||
		     info.key_size != bpf_map__key_size(map) ||
		     info.value_size != bpf_map__value_size(map) ||
		     info.max_entries != bpf_map__max_entries(map)))
		err = -EINVAL;
	if (!err)
		err = bpf_map__reuse_fd(map, fd);
	close(fd);
	if (err)
		pr_err("cannot re-use %s: %s", path, strerror(-err));
	return err ? err : 1;
}

/* The same read-only globals in either skeleton (both build config.h). */
#define SET_RODATA(ro, s) do {						\
	__typeof__(ro) mg_ro = (ro);					\
	const struct mg_dp_settings *mg_s = (s);			\
									\
	MG_SETTINGS(MG_SETTING_COPY)					\
} while (0)

/*
 * The TC program (tc.bpf.c) over the XDP object's maps: each of its maps
 * re-uses the one of that name, so both hooks see one state.
 */
static int load_tc(struct mg_dp *dp, const struct mg_dp_settings *s)
{
	struct bpf_map *map, *twin;
	struct tc_bpf *tc;
	int err;

	tc = tc_bpf__open();
	if (!tc) {
		err = -errno;
		pr_err("cannot open the TC object: %s", strerror(-err));
		return err;
	}
	bpf_object__for_each_map(map, tc->obj) {
		bpf_map__set_pin_path(map, NULL);
		if (bpf_map__is_internal(map))
			continue;
		twin = bpf_object__find_map_by_name(dp->skel->obj,
						    bpf_map__name(map));
		err = twin ? bpf_map__reuse_fd(map, bpf_map__fd(twin)) :
			     -ENOENT;
		if (err) {
			pr_err("TC object: map %s: %s", bpf_map__name(map),
			       strerror(-err));
			tc_bpf__destroy(tc);
			return err;
		}
	}
	SET_RODATA(tc->rodata, s);
	err = tc_bpf__load(tc);
	if (err) {
		pr_err("cannot load the TC program: %s", strerror(-err));
		tc_bpf__destroy(tc);
		return err;
	}
	dp->tc = tc;
	return 0;
}

int mg_dp_load(struct mg_dp *dp, const struct mg_dp_settings *s,
	       const char *pin_dir)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts);
	char tx_path[PATH_MAX + 8];
	struct bpf_map *map;
	struct xdp_bpf *skel;
	int tx_reused = 0;
	int err;

	memset(dp, 0, sizeof(*dp));
	memcpy(dp->cluster_if, s->cluster_if, sizeof(dp->cluster_if));
	memcpy(dp->underlay_if, s->underlay_if, sizeof(dp->underlay_if));
	if (pin_dir) {
		err = ensure_bpffs(pin_dir);
		if (err)
			return err;
		snprintf(dp->pin_dir, sizeof(dp->pin_dir), "%s", pin_dir);
		opts.pin_root_path = dp->pin_dir;
	}
	skel = xdp_bpf__open_opts(&opts);
	if (!skel) {
		err = -errno;
		pr_err("cannot open the datapath object: %s", strerror(-err));
		return err;
	}
	if (!pin_dir) {
		bpf_object__for_each_map(map, skel->obj)
			bpf_map__set_pin_path(map, NULL);
	} else {
		snprintf(tx_path, sizeof(tx_path), "%s/mg_tx", dp->pin_dir);
		tx_reused = reuse_devmap(skel->maps.mg_tx, tx_path);
		if (tx_reused < 0) {
			xdp_bpf__destroy(skel);
			return tx_reused;
		}
	}
	if (s->limits.endpoints) {
		err = mg_limits_apply(skel->obj, &s->limits,
				      pin_dir ? dp->pin_dir : NULL);
		if (err) {
			xdp_bpf__destroy(skel);
			return err;
		}
	}
	SET_RODATA(skel->rodata, s);

	err = xdp_bpf__load(skel);
	if (err)
		mg_limits_abort();
	else
		mg_limits_migrate(skel->obj);
	if (err) {
		pr_err("cannot load the datapath: %s (a map pinned in %s with "
		       "an older layout? 'meshgate down' removes them)",
		       strerror(-err), pin_dir ? pin_dir : "-");
		xdp_bpf__destroy(skel);
		return err;
	}
	if (pin_dir && !tx_reused) {
		err = bpf_map__pin(skel->maps.mg_tx, tx_path);
		if (err) {
			pr_err("cannot pin %s: %s", tx_path, strerror(-err));
			xdp_bpf__destroy(skel);
			return err;
		}
	}
	dp->skel = skel;
	err = load_tc(dp, s);
	if (err) {
		xdp_bpf__destroy(skel);
		dp->skel = NULL;
	}
	return err;
}

void mg_dp_destroy(struct mg_dp *dp)
{
	tc_bpf__destroy(dp->tc);
	dp->tc = NULL;
	xdp_bpf__destroy(dp->skel);
	dp->skel = NULL;
}

int mg_dp_attach_tc(struct mg_dp *dp, int ifindex)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = 1, .priority = 1,
		    .flags = BPF_TC_F_REPLACE);
	int err;

	opts.prog_fd = bpf_program__fd(dp->tc->progs.mg_tc_egress);
	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST) {
		pr_err("ifindex %d: cannot add clsact: %s", ifindex,
		       strerror(-err));
		return err;
	}
	/* Same handle and priority: a restart replaces the filter in place. */
	err = bpf_tc_attach(&hook, &opts);
	if (err)
		pr_err("ifindex %d: cannot attach TC egress: %s", ifindex,
		       strerror(-err));
	return err;
}

int mg_dp_map_fd(const struct mg_dp *dp, const char *name)
{
	struct bpf_map *map;

	map = bpf_object__find_map_by_name(dp->skel->obj, name);
	return map ? bpf_map__fd(map) : -ENOENT;
}

static int link_path(char *buf, size_t len, const char *pin_dir,
		     const char *ifname)
{
	int n = snprintf(buf, len, "%s/link_%s", pin_dir, ifname);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Entries of interfaces that are gone (re-created ones come back with a
 * new ifindex): the number could be given to another interface later.
 */
static void forget_gone_ifs(int map_fd)
{
	__u32 keys[MG_MAX_TX_IFACES], *prev = NULL;
	char name[IF_NAMESIZE];
	int n = 0;

	while (n < MG_MAX_TX_IFACES &&
	       !bpf_map_get_next_key(map_fd, prev, &keys[n]))
		prev = &keys[n++];
	for (int i = 0; i < n; i++)
		if (!if_indextoname(keys[i], name) && errno == ENXIO)
			bpf_map_delete_elem(map_fd, &keys[i]);
}

int mg_dp_describe_if(struct mg_dp *dp, const char *ifname, int ifindex)
{
	int map_fd = bpf_map__fd(dp->skel->maps.mg_ifs);
	struct mg_if_val v = { 0 };
	struct ifreq ifr = { 0 };
	__u32 key = ifindex;
	int fd, err = 0;

	if (!dp->cluster_if[0] || !strcmp(ifname, dp->cluster_if))
		v.roles |= MG_IF_CLUSTER;
	if (!dp->underlay_if[0] || !strcmp(ifname, dp->underlay_if))
		v.roles |= MG_IF_UNDERLAY;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	close(fd);
	if (err) {
		pr_err("%s: cannot read its MAC address: %s", ifname,
		       strerror(-err));
		return err;
	}
	/* Ethernet only; an interface without one (lo) stays all zero. */
	if (ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER)
		memcpy(v.mac, ifr.ifr_hwaddr.sa_data, sizeof(v.mac));
	forget_gone_ifs(map_fd);
	if (bpf_map_update_elem(map_fd, &key, &v, BPF_ANY)) {
		err = -errno;
		pr_err("%s: cannot describe it to the datapath (mg_ifs): %s%s",
		       ifname, strerror(-err),
		       err == -E2BIG ? " (map full)" : "");
		return err;
	}
	return 0;
}

int mg_dp_attach(struct mg_dp *dp, const char *ifname, enum mg_xdp_mode mode)
{
	LIBBPF_OPTS(bpf_link_create_opts, lopts);
	int prog_fd = bpf_program__fd(dp->skel->progs.mg_xdp);
	struct bpf_link_info info;
	__u32 info_len = sizeof(info);
	char path[PATH_MAX];
	int ifindex, fd, err;

	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		pr_err("interface %s: %s", ifname, strerror(errno));
		return -ENODEV;
	}
	if (!dp->pin_dir[0])
		return -EINVAL;
	/* Before the program runs there: it routes nothing it cannot place. */
	err = mg_dp_describe_if(dp, ifname, ifindex);
	if (err)
		return err;
	err = link_path(path, sizeof(path), dp->pin_dir, ifname);
	if (err)
		return err;

	fd = bpf_obj_get(path);
	if (fd >= 0) {
		memset(&info, 0, sizeof(info));
		/* Still bound to the same interface?  Then swap in place. */
		if (!bpf_obj_get_info_by_fd(fd, &info, &info_len) &&
		    info.xdp.ifindex == (__u32)ifindex &&
		    !bpf_link_update(fd, prog_fd, NULL)) {
			pr_info("%s: datapath updated in place", ifname);
			close(fd);
			return 0;
		}
		pr_warn("%s: pinned link is stale, attaching anew", ifname);
		close(fd);
		unlink(path);
	}

	lopts.flags = mode == MG_XDP_GENERIC ? XDP_FLAGS_SKB_MODE :
					       XDP_FLAGS_DRV_MODE;
	fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, &lopts);
	if (fd < 0) {
		err = -errno;
		pr_err("%s: cannot attach XDP (%s mode): %s%s", ifname,
		       mode == MG_XDP_GENERIC ? "generic" : "native",
		       strerror(-err),
		       err == -EBUSY ? " (another XDP program is attached)" :
		       err == -EOPNOTSUPP ? " (no native XDP: set xdp_mode = generic)" : "");
		return err;
	}
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		pr_err("%s: cannot pin link at %s: %s", ifname, path,
		       strerror(-err));
		close(fd);
		return err;
	}
	close(fd);
	pr_info("%s: datapath attached (%s)", ifname,
		mode == MG_XDP_GENERIC ? "generic" : "native");
	return 0;
}

int mg_dp_teardown(const char *pin_dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int err = 0;

	d = opendir(pin_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	/* Links first, so no program runs against maps being removed. */
	for (int pass = 0; pass < 2; pass++) {
		rewinddir(d);
		while ((de = readdir(d))) {
			bool is_link = !strncmp(de->d_name, "link_", 5);

			if (de->d_name[0] == '.' || is_link != (pass == 0))
				continue;
			snprintf(path, sizeof(path), "%s/%s", pin_dir, de->d_name);
			if (unlink(path) && !err)
				err = -errno;
		}
	}
	closedir(d);
	if (rmdir(pin_dir) && !err)
		err = -errno;
	return err;
}
