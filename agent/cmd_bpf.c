// SPDX-License-Identifier: GPL-2.0-only
/*
 * `meshgate bpf MAP list` and `meshgate stats`: read the pinned maps
 * directly, so they work without the agent.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <meshgate/abi.h>
#include "cli.h"
#include "lib/addr.h"
#include "lib/out.h"
#include "lib/reasons.h"

static const char *const reason_names[] = {
#define MG_REASON_NAME(e, name, cls, desc) name,
	MG_REASON_TABLE(MG_REASON_NAME)
#undef MG_REASON_NAME
};

static const char *const reason_descs[] = {
#define MG_REASON_DESC(e, name, cls, desc) desc,
	MG_REASON_TABLE(MG_REASON_DESC)
#undef MG_REASON_DESC
};

int mg_cli_open_map(const struct mg_cli *cli, const char *name)
{
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", cli->pin_dir, name);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		fd = -errno;
		fprintf(stderr, "meshgate: cannot open %s: %s%s\n", path,
			strerror(errno),
			errno == ENOENT ? " (is the agent set up? try -p DIR or -c FILE)" : "");
	}
	return fd;
}

/* A pinned map, or -1 without a word when there is none. */
static int open_map_if_pinned(const struct mg_cli *cli, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", cli->pin_dir, name);
	if (access(path, F_OK))
		return -1;
	return mg_cli_open_map(cli, name);
}

static void mac_str(const __u8 *m, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
}

static void ifname_str(__u32 ifindex, char *buf)
{
	if (!if_indextoname(ifindex, buf))
		snprintf(buf, IF_NAMESIZE, "#%u", ifindex);
}

static void addr4_str(__u32 be, char *buf, size_t len)
{
	struct mg_addr a = { .family = MG_AF_INET, .addr = { be } };

	mg_addr_str(&a, buf, len);
}

/* Calls fn on every key/value of a map; returns entries seen or -errno. */
static int map_walk(int fd, size_t ksz, size_t vsz,
		    void (*fn)(const void *k, const void *v))
{
	char key[64], next[64], *val = malloc(vsz);
	void *prev = NULL;
	int n = 0;

	if (!val || ksz > sizeof(key))
		return -ENOMEM;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		if (!bpf_map_lookup_elem(fd, next, val)) {
			fn(next, val);
			n++;
		}
		memcpy(key, next, ksz);
		prev = key;
	}
	free(val);
	return n;
}

static void addr6_str(const void *a, char *buf, size_t len)
{
	struct mg_addr m = { .family = MG_AF_INET6 };

	memcpy(m.addr, a, sizeof(m.addr));
	mg_addr_str(&m, buf, len);
}

static void print_ep(const struct mg_prefix *p, const struct mg_ep_val *val)
{
	char buf[MG_PREFIXSTRLEN];

	out_obj_open(NULL);
	out_str("prefix", "%-20s", mg_prefix_str(p, buf, sizeof(buf)));
	out_u64("cluster_id", " %-8llu", val->cluster_id);
	out_bool("local", " %-6s", val->flags & MG_EP_F_LOCAL);
	out_u64("version", " %llu", val->version);
	out_text("\n");
	out_obj_close();
}

static void print_ep4(const void *k, const void *v)
{
	const struct mg_ep4_key *key = k;
	struct mg_prefix p = { .addr = { .family = MG_AF_INET,
					 .addr = { key->addr } },
			       .len = key->prefixlen };

	print_ep(&p, v);
}

static void print_ep6(const void *k, const void *v)
{
	const struct mg_ep6_key *key = k;
	struct mg_prefix p = { .addr = { .family = MG_AF_INET6 },
			       .len = key->prefixlen };

	memcpy(p.addr.addr, key->addr, sizeof(key->addr));
	print_ep(&p, v);
}

static void print_clus(const void *k, const void *v)
{
	const struct mg_cluster_val *val = v;
	char buf[MG_ADDRSTRLEN];

	out_obj_open(NULL);
	out_u64("cluster_id", "%-8llu", *(const __u32 *)k);
	out_u64("live_gateways", " %-6llu", val->n_gw);
	out_arr_open("gateways");
	for (int i = 0; i < val->n_gw && i < MG_CLUSTER_GW_MAX; i++)
		out_str(NULL, " %s", mg_addr_str(&val->gw[i], buf, sizeof(buf)));
	out_arr_close();
	out_arr_open("slots");
	out_text("  slots");
	for (int i = 0; i < MG_GW_SLOTS; i++)
		out_u64(NULL, " %llu", val->slot[i]);
	out_arr_close();
	out_text("\n");
	out_obj_close();
}

static void print_peer(const char *addr, const struct mg_peer_val *val)
{
	out_obj_open(NULL);
	out_str("tunnel_address", "%-18s", addr);
	out_u64("cluster_id", " %llu\n", val->cluster_id);
	out_obj_close();
}

static void print_peer4(const void *k, const void *v)
{
	char buf[MG_ADDRSTRLEN];

	addr4_str(*(const __u32 *)k, buf, sizeof(buf));
	print_peer(buf, v);
}

static void print_peer6(const void *k, const void *v)
{
	char buf[MG_ADDRSTRLEN];

	addr6_str(k, buf, sizeof(buf));
	print_peer(buf, v);
}

static void print_nh(const char *dst, const struct mg_nh_val *val)
{
	char mac[18], ifn[IF_NAMESIZE];

	ifname_str(val->ifindex, ifn);
	out_obj_open(NULL);
	out_str("destination", "%-18s", dst);
	out_str("interface", " %-12s", ifn);
	out_u64("ifindex", " %-6llu", val->ifindex);
	out_u64("mtu", " %-5llu", val->mtu);
	mac_str(val->smac, mac, sizeof(mac));
	out_str("src_mac", " %s", mac);
	mac_str(val->dmac, mac, sizeof(mac));
	out_str("dst_mac", " -> %s\n", mac);
	out_obj_close();
}

static void print_nh4(const void *k, const void *v)
{
	char buf[MG_ADDRSTRLEN];

	addr4_str(*(const __u32 *)k, buf, sizeof(buf));
	print_nh(buf, v);
}

static void print_nh6(const void *k, const void *v)
{
	char buf[MG_ADDRSTRLEN];

	addr6_str(k, buf, sizeof(buf));
	print_nh(buf, v);
}

static void print_tx(const void *k, const void *v)
{
	char ifn[IF_NAMESIZE];

	ifname_str(*(const __u32 *)k, ifn);
	out_obj_open(NULL);
	out_str("interface", "%-12s", ifn);
	out_u64("ifindex", " %llu\n", *(const __u32 *)k);
	out_obj_close();
}

static const char *l4_name(__u8 proto)
{
	return proto == 6 ? "tcp" : proto == 17 ? "udp" : "?";
}

/* One service (mg_svc or mg_svc6), its VIP already a string. */
static void print_svc_row(const char *vip, __u16 port, __u8 proto,
			  const struct mg_svc_val *val)
{
	out_obj_open(NULL);
	out_str("vip", "%-16s", vip);
	out_u64("port", " %-6llu", ntohs(port));
	out_str("proto", " %-5s", proto ? l4_name(proto) : "-");
	out_u64("id", " %llu\n", val->id);
	out_obj_close();
}

static void print_svc(const void *k, const void *v)
{
	const struct mg_svc_key *key = k;
	char buf[MG_ADDRSTRLEN];

	addr4_str(key->vip, buf, sizeof(buf));
	print_svc_row(buf, key->port, key->proto, v);
}

static void print_svc6(const void *k, const void *v)
{
	const struct mg_svc6_key *key = k;
	char buf[MG_ADDRSTRLEN];

	addr6_str(key->vip, buf, sizeof(buf));
	print_svc_row(buf, key->port, key->proto, v);
}

/* One backend slot (mg_lbbe or mg_lbbe6), its address already a string. */
static void print_be_row(__u32 slot, const char *addr, __u16 port, __u8 cid,
			 __u8 flags, __u32 gen)
{
	out_obj_open(NULL);
	out_u64("slot", "%-6llu", slot);
	out_str("address", " %-16s", addr);
	out_u64("port", " %-6llu", ntohs(port));
	out_u64("cluster_id", " %-8llu", cid);
	out_bool("live", " %-6s", flags & MG_LB_BE_F_LIVE);
	out_bool("local", " %-6s", flags & MG_LB_BE_F_LOCAL);
	out_u64("gen", " %llu\n", gen);
	out_obj_close();
}

static void print_lbbe(const void *k, const void *v)
{
	const struct mg_lb_backend *b = v;
	char buf[MG_ADDRSTRLEN];

	if (!b->addr && !b->gen)
		return;		/* never used */
	addr4_str(b->addr, buf, sizeof(buf));
	print_be_row(*(const __u32 *)k, buf, b->port, b->cluster_id, b->flags,
		     b->gen);
}

static void print_lbbe6(const void *k, const void *v)
{
	const struct mg_lb_backend6 *b = v;
	char buf[MG_ADDRSTRLEN];

	if (!b->gen)
		return;		/* never used */
	addr6_str(b->addr, buf, sizeof(buf));
	print_be_row(*(const __u32 *)k, buf, b->port, b->cluster_id, b->flags,
		     b->gen);
}

/* A pinned reply direction (mg_pin) and the gateway it goes back to. */
static void print_pin(const void *k, const void *v)
{
	const struct mg_pin_key *key = k;
	const struct mg_pin_val *val = v;
	struct mg_addr s = { .family = key->family }, d = s;
	char c[MG_ADDRPORTSTRLEN], g[MG_ADDRSTRLEN];

	memcpy(s.addr, key->saddr, sizeof(s.addr));
	memcpy(d.addr, key->daddr, sizeof(d.addr));
	out_obj_open(NULL);
	out_str("proto", "%-5s", l4_name(key->proto));
	out_str("backend", " %-40s", mg_addr_port_str(&s, ntohs(key->sport), c,
						      sizeof(c)));
	out_str("client", " %-40s", mg_addr_port_str(&d, ntohs(key->dport), c,
						     sizeof(c)));
	out_str("gateway", " %s\n", mg_addr_str(&val->gw, g, sizeof(g)));
	out_obj_close();
}

/* mg_lbbe or mg_lbbe6 (by the flow's family), to name a flow's backend. */
static int ct_be_fd = -1;

/*
 * One tracked flow of either family: client and VIP, the backend (from
 * the backend map when the slot still holds it: same gen), the SNAT.
 */
static const char *ct_state_name(__u8 st)
{
	switch (st) {
	case MG_CT_OPENING:	return "opening";
	case MG_CT_ESTABLISHED:	return "established";
	case MG_CT_CLOSING:	return "closing";
	}
	return "?";
}

/* Whole seconds a flow has left (0: expired, the entry not swept yet). */
static unsigned long long ct_left_s(__u64 expires)
{
	struct timespec ts;
	__u64 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	return expires > now ? (expires - now) / 1000000000ULL : 0;
}

static void print_flow(__u8 proto, const struct mg_addr *client, __u16 cport,
		       const struct mg_addr *vip, __u16 vport, __u32 slot,
		       const struct mg_addr *be, __u16 be_port, __u8 cid,
		       bool live, __u8 state, __u64 expires,
		       const struct mg_addr *snat, __u16 snat_port)
{
	char c[MG_ADDRPORTSTRLEN];

	out_obj_open(NULL);
	out_str("proto", "%-5s", l4_name(proto));
	out_str("client", " %-22s", mg_addr_port_str(client, ntohs(cport), c,
						     sizeof(c)));
	out_str("vip", " %-22s", mg_addr_port_str(vip, ntohs(vport), c,
						  sizeof(c)));
	out_str("backend", " %-22s", mg_addr_port_str(be, ntohs(be_port), c,
						      sizeof(c)));
	out_u64("cluster_id", " %-8llu", cid);
	out_bool("live", " %-6s", live);
	out_u64("slot", " %-6llu", slot);
	out_str("state", " %-11s", ct_state_name(state));
	out_u64("expires_in_s", " %-8llu", ct_left_s(expires));
	out_str("snat", " %s\n", snat ? mg_addr_port_str(snat, ntohs(snat_port),
						c, sizeof(c)) : "-");
	out_obj_close();
}

static void print_ct(const void *k, const void *v)
{
	const struct mg_ct4_key *key = k;
	const struct mg_ct4_val *val = v;
	struct mg_lb_backend b = { 0 };
	struct mg_addr cl = { .family = MG_AF_INET, .addr = { key->saddr } };
	struct mg_addr vip = { .family = MG_AF_INET, .addr = { key->daddr } };
	struct mg_addr be = { .family = MG_AF_INET };
	struct mg_addr sn = { .family = MG_AF_INET,
			      .addr = { val->snat_addr } };
	bool ok;

	ok = ct_be_fd >= 0 && !bpf_map_lookup_elem(ct_be_fd, &val->backend, &b) &&
	     b.gen == val->gen;
	if (!ok)
		memset(&b, 0, sizeof(b));
	be.addr[0] = b.addr;
	print_flow(key->proto, &cl, key->sport, &vip, key->dport,
		   val->backend, &be, b.port, b.cluster_id,
		   b.flags & MG_LB_BE_F_LIVE, val->state, val->expires,
		   val->snat_addr ? &sn : NULL, val->snat_port);
}

static void print_ct6(const void *k, const void *v)
{
	const struct mg_ct6_key *key = k;
	const struct mg_ct6_val *val = v;
	struct mg_lb_backend6 b = { 0 };
	struct mg_addr cl = { .family = MG_AF_INET6 };
	struct mg_addr vip = { .family = MG_AF_INET6 };
	struct mg_addr be = { .family = MG_AF_INET6 };
	struct mg_addr sn = { .family = MG_AF_INET6 };
	bool ok, snat;

	ok = ct_be_fd >= 0 && !bpf_map_lookup_elem(ct_be_fd, &val->backend, &b) &&
	     b.gen == val->gen;
	if (!ok)
		memset(&b, 0, sizeof(b));
	memcpy(cl.addr, key->saddr, 16);
	memcpy(vip.addr, key->daddr, 16);
	memcpy(be.addr, b.addr, 16);
	memcpy(sn.addr, val->snat_addr, 16);
	snat = val->snat_addr[0] | val->snat_addr[1] | val->snat_addr[2] |
	       val->snat_addr[3];
	print_flow(key->proto, &cl, key->sport, &vip, key->dport,
		   val->backend, &be, b.port, b.cluster_id,
		   b.flags & MG_LB_BE_F_LIVE, val->state, val->expires,
		   snat ? &sn : NULL, val->snat_port);
}

struct map_desc {
	const char *cli_name;
	const char *map;
	size_t ksz, vsz;
	void (*print)(const void *k, const void *v);
	const char *header;
};

/*
 * Services, backends and flows: the IPv6 map is listed after the IPv4
 * one, in one listing; be_map and be_map6 name the flows' backends.
 */
static const struct map6_desc {
	const char *map, *map6;
	size_t ksz, vsz;
	void (*print)(const void *k, const void *v);
	const char *be_map, *be_map6;
} maps6[] = {
	{ "mg_svc", "mg_svc6", sizeof(struct mg_svc6_key),
	  sizeof(struct mg_svc_val), print_svc6, NULL, NULL },
	{ "mg_lbbe", "mg_lbbe6", sizeof(__u32), sizeof(struct mg_lb_backend6),
	  print_lbbe6, NULL, NULL },
	{ "mg_ct4_v2", "mg_ct6_v2", sizeof(struct mg_ct6_key),
	  sizeof(struct mg_ct6_val), print_ct6, "mg_lbbe", "mg_lbbe6" },
};

static const struct map_desc maps[] = {
	{ "endpoints", "mg_ep4", sizeof(struct mg_ep4_key),
	  sizeof(struct mg_ep_val), print_ep4,
	  "prefix               cluster  local  version\n" },
	{ "endpoints6", "mg_ep6", sizeof(struct mg_ep6_key),
	  sizeof(struct mg_ep_val), print_ep6,
	  "prefix               cluster  local  version\n" },
	{ "local", "mg_local4", sizeof(struct mg_ep4_key),
	  sizeof(struct mg_ep_val), print_ep4,
	  "prefix               cluster  local  version\n" },
	{ "local6", "mg_local6", sizeof(struct mg_ep6_key),
	  sizeof(struct mg_ep_val), print_ep6,
	  "prefix               cluster  local  version\n" },
	{ "clusters", "mg_clus", sizeof(__u32), sizeof(struct mg_cluster_val),
	  print_clus, "cluster  live   gateways\n" },
	{ "peers", "mg_peer4", sizeof(__u32), sizeof(struct mg_peer_val),
	  print_peer4, "tunnel address     cluster\n" },
	{ "peers6", "mg_peer6", sizeof(struct mg_in6),
	  sizeof(struct mg_peer_val), print_peer6,
	  "tunnel address     cluster\n" },
	{ "nexthops", "mg_nh4_v2", sizeof(__u32), sizeof(struct mg_nh_val),
	  print_nh4, "destination        interface    ifindex mtu   mac\n" },
	{ "nexthops6", "mg_nh6", sizeof(struct mg_in6),
	  sizeof(struct mg_nh_val), print_nh6,
	  "destination        interface    ifindex mtu   mac\n" },
	{ "tx", "mg_tx", sizeof(__u32), sizeof(__u32), print_tx,
	  "interface    ifindex\n" },
	{ "services", "mg_svc", sizeof(struct mg_svc_key),
	  sizeof(struct mg_svc_val), print_svc,
	  "vip              port   proto id\n" },
	{ "backends", "mg_lbbe", sizeof(__u32), sizeof(struct mg_lb_backend),
	  print_lbbe,
	  "slot   address          port   cluster  live   local  gen\n" },
	{ "ct", "mg_ct4_v2", sizeof(struct mg_ct4_key), sizeof(struct mg_ct4_val),
	  print_ct,
	  "proto client                 vip                    backend                cluster  live   slot   state       left (s) snat\n" },
	{ "pins", "mg_pin", sizeof(struct mg_pin_key),
	  sizeof(struct mg_pin_val), print_pin,
	  "proto backend (reply source)                     client                                   gateway\n" },
	{ "stats", "mg_stats", 0, 0, NULL, NULL },
};

#define N_MAPS (sizeof(maps) / sizeof(maps[0]))

/* Every reason's packets and bytes, summed over CPUs.  0 or -1. */
static int read_stats(int fd, struct mg_stat *per, int ncpu,
		      struct mg_stat *sum)
{
	for (__u32 r = 0; r < MG_REASON_MAX; r++) {
		if (bpf_map_lookup_elem(fd, &r, per)) {
			fprintf(stderr, "meshgate: reading mg_stats: %s\n",
				strerror(errno));
			return -1;
		}
		sum[r].packets = sum[r].bytes = 0;
		for (int c = 0; c < ncpu; c++) {
			sum[r].packets += per[c].packets;
			sum[r].bytes += per[c].bytes;
		}
	}
	return 0;
}

/*
 * The counters (prev NULL), or their rates per second since prev, taken
 * secs ago.  A counter that went down (a per-CPU move, mg_exit_no_room)
 * shows 0.
 */
static void print_table(const struct mg_stat *now, const struct mg_stat *prev,
			double secs, bool all)
{
	bool rate = prev != NULL;

	out_arr_open("stats");
	out_text("%-18s %-7s %14s %16s  %s\n", "reason", "class",
		 rate ? "packets/s" : "packets", rate ? "bytes/s" : "bytes",
		 "meaning");
	for (__u32 r = 0; r < MG_REASON_MAX; r++) {
		unsigned long long pk = now[r].packets, by = now[r].bytes;

		if (rate) {
			pk = pk > prev[r].packets ?
			     (pk - prev[r].packets) / secs + 0.5 : 0;
			by = by > prev[r].bytes ?
			     (by - prev[r].bytes) / secs + 0.5 : 0;
		}
		if (!pk && !all && !out_is_json())
			continue;
		out_obj_open(NULL);
		out_str("reason", "%-18s", reason_names[r]);
		out_str("class", " %-7s",
			mg_reason_class_name(mg_reason_class(r)));
		out_u64(rate ? "packets_per_s" : "packets", " %14llu", pk);
		out_u64(rate ? "bytes_per_s" : "bytes", " %16llu", by);
		out_str("meaning", "  %s\n", reason_descs[r]);
		out_obj_close();
	}
	out_arr_close();
	out_finish();
}

/*
 * Text only: the events of `meshgate monitor` that a full ring refused or
 * the rate limit held back (mg_evstate), when there were any.
 */
static void print_event_losses(const struct mg_cli *cli, int ncpu)
{
	unsigned long long lost = 0, limited = 0;
	int fd = open_map_if_pinned(cli, "mg_evstate");
	struct mg_ev_state *v;
	__u32 key = 0;

	if (fd < 0)
		return;
	v = calloc(ncpu, sizeof(*v));
	if (v && !bpf_map_lookup_elem(fd, &key, v))
		for (int c = 0; c < ncpu; c++) {
			lost += v[c].lost;
			limited += v[c].limited;
		}
	if (lost || limited)
		out_text("monitor events: %llu lost (a ring full), %llu over "
			 "the rate limit\n", lost, limited);
	free(v);
	close(fd);
}

static volatile sig_atomic_t stats_stop;

static void stats_on_signal(int sig)
{
	stats_stop = 1;
}

static double mono_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * rounds 0: the counters once.  Else their rates over 1 s, rounds times
 * (-1: until Ctrl-C), each table after a line with the time (text).
 */
static int print_stats(const struct mg_cli *cli, bool all, long rounds)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mg_stat now[MG_REASON_MAX], prev[MG_REASON_MAX];
	struct sigaction sa = { .sa_handler = stats_on_signal };
	struct mg_stat *per;
	double t0, t1;
	int fd, rc = 0;

	if (ncpu <= 0)
		return 1;
	fd = mg_cli_open_map(cli, "mg_stats");
	if (fd < 0)
		return 1;
	per = calloc(ncpu, sizeof(*per));
	if (!per) {
		close(fd);
		return 1;
	}
	if (!rounds) {
		if (read_stats(fd, per, ncpu, now))
			rc = 1;
		else
			print_table(now, NULL, 0, all);
		if (!rc && !out_is_json())
			print_event_losses(cli, ncpu);
		goto out;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	t0 = mono_secs();
	if (read_stats(fd, per, ncpu, prev)) {
		rc = 1;
		goto out;
	}
	for (long i = 0; !stats_stop && (rounds < 0 || i < rounds); i++) {
		sleep(1);
		if (stats_stop)
			break;
		t1 = mono_secs();
		if (read_stats(fd, per, ncpu, now)) {
			rc = 1;
			break;
		}
		if (!out_is_json()) {
			time_t t = time(NULL);
			char when[32];

			strftime(when, sizeof(when), "%T", localtime(&t));
			out_text("%s%s, per second over %.2f s\n",
				 i ? "\n" : "", when, t1 - t0);
		}
		print_table(now, prev, t1 - t0, all);
		out_init(stdout, out_is_json());
		memcpy(prev, now, sizeof(prev));
		t0 = t1;
	}
out:
	free(per);
	close(fd);
	return rc;
}

int cmd_stats(struct mg_cli *cli, int argc, char **argv)
{
	bool all = false, rate = false, watch = false;
	long count = -1;
	char *end;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-a") || !strcmp(argv[i], "--all")) {
			all = true;
		} else if (!strcmp(argv[i], "-r") ||
			   !strcmp(argv[i], "--rate")) {
			rate = true;
		} else if (!strcmp(argv[i], "-w") ||
			   !strcmp(argv[i], "--watch")) {
			watch = true;
		} else if ((!strcmp(argv[i], "-n") ||
			    !strcmp(argv[i], "--count")) && i + 1 < argc) {
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 1) {
				fprintf(stderr, "meshgate stats: -n '%s': a "
					"count of 1 or more\n", argv[i]);
				return 2;
			}
		} else {
			fprintf(stderr, "meshgate stats: unknown argument '%s' "
				"(usage: meshgate stats [-a] [-r | -w [-n "
				"N]])\n", argv[i]);
			return 2;
		}
	}
	if (count > 0 && !watch) {
		fprintf(stderr, "meshgate stats: -n goes with -w\n");
		return 2;
	}
	return print_stats(cli, all, watch ? count : rate ? 1 : 0);
}

int cmd_bpf(struct mg_cli *cli, int argc, char **argv)
{
	const struct map_desc *d = NULL;
	const struct map6_desc *d6 = NULL;
	const char *name;
	bool exact;
	int fd, n, rc;

	if (argc == 2 && !strcmp(argv[1], "maps"))
		return cmd_bpf_maps(cli);
	if (argc < 2 || (argc > 2 && !mg_matches(argv[2], "list")) || argc > 3) {
		fprintf(stderr, "usage: meshgate [-j] bpf maps | bpf MAP [list]\nMAP:");
		for (size_t i = 0; i < N_MAPS; i++)
			fprintf(stderr, " %s (%s)", maps[i].cli_name, maps[i].map);
		fprintf(stderr, "\n");
		return 2;
	}
	/* An exact name first: "endpoints" is also a prefix of "endpoints6". */
	for (size_t i = 0; i < N_MAPS && !d; i++)
		if (!strcmp(argv[1], maps[i].map) ||
		    !strcmp(argv[1], maps[i].cli_name))
			d = &maps[i];
	exact = d != NULL;
	for (size_t i = 0; i < N_MAPS && !exact; i++) {
		if (mg_matches(argv[1], maps[i].cli_name)) {
			if (d) {
				fprintf(stderr, "meshgate bpf: '%s' is ambiguous\n",
					argv[1]);
				return 2;
			}
			d = &maps[i];
		}
	}
	if (!d) {
		fprintf(stderr, "meshgate bpf: no map '%s'; one of:", argv[1]);
		for (size_t i = 0; i < N_MAPS; i++)
			fprintf(stderr, " %s", maps[i].cli_name);
		fprintf(stderr, "\n");
		return 2;
	}
	if (!d->print)
		return print_stats(cli, true, 0);
	name = d->map;

	for (size_t i = 0; i < sizeof(maps6) / sizeof(maps6[0]); i++)
		if (!strcmp(maps6[i].map, d->map))
			d6 = &maps6[i];
	fd = mg_cli_open_map(cli, d->map);
	if (fd < 0)
		return 1;
	out_arr_open(d->cli_name);
	out_text("%s", d->header);
	if (d6 && d6->be_map)
		ct_be_fd = mg_cli_open_map(cli, d6->be_map);
	n = map_walk(fd, d->ksz, d->vsz, d->print);
	if (ct_be_fd >= 0)
		close(ct_be_fd);
	ct_be_fd = -1;
	close(fd);
	/* The IPv6 map beside it; pins of an older agent may lack it. */
	if (n >= 0 && d6 && (fd = open_map_if_pinned(cli, d6->map6)) >= 0) {
		if (d6->be_map6)
			ct_be_fd = mg_cli_open_map(cli, d6->be_map6);
		rc = map_walk(fd, d6->ksz, d6->vsz, d6->print);
		if (ct_be_fd >= 0)
			close(ct_be_fd);
		ct_be_fd = -1;
		close(fd);
		if (rc < 0) {
			n = rc;
			name = d6->map6;
		}
	}
	out_arr_close();
	out_finish();
	if (n < 0) {
		fprintf(stderr, "meshgate bpf: reading %s: %s\n", name,
			strerror(-n));
		return 1;
	}
	return 0;
}
