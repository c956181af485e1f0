// SPDX-License-Identifier: GPL-2.0-only
/*
 * `meshgate doctor`: the checks an operator would otherwise do by hand,
 * each ok, warn or fail with why and the fix.  It reads the configuration
 * (for the interfaces and the tunnel's family), the kernel (sysctls,
 * links, XDP), the pinned maps and links, and asks the running agent for
 * its status and peers.  Exit status: 0 all ok, 1 a warning, 2 a failure.
 */
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "config.h"
#include "ctl.h"
#include "metrics.h"
#include "pins.h"
#include "lib/bpfmaps.h"
#include "lib/out.h"

#define SNAT_PORT_MIN	61000	/* datapath/ct.h MG_LB_SNAT_PORT_MIN */
#define MAP_FULL_PCT	90
#define ENCAP4		50	/* VXLAN over an IPv4 underlay */
#define ENCAP6		70	/* over IPv6 */

enum verdict { OK, WARN, FAIL, SKIP };
static const char *const verdict_names[] = { "ok", "warn", "fail", "skip" };

struct doctor {
	const struct mg_cli *cli;
	struct mg_config *cfg;
	bool have_cfg;
	enum verdict worst;
	char *status, *peers;		/* the agent's JSON, NULL: not running */
};

static void report(struct doctor *d, const char *check, enum verdict v,
		   const char *fix, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void report(struct doctor *d, const char *check, enum verdict v,
		   const char *fix, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (v != SKIP && v > d->worst)
		d->worst = v;
	out_obj_open(NULL);
	out_str("check", "%-11s", check);
	out_str("status", " %-5s", verdict_names[v]);
	out_str("why", " %s\n", why);
	if (v == WARN || v == FAIL)
		out_str("fix", "                  fix: %s\n", fix ? fix : "");
	out_obj_close();
}

static int read_sysctl(const char *path, long *a, long *b)
{
	FILE *f = fopen(path, "r");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%ld %ld", a, b);
	fclose(f);
	return n >= 1 ? n : -EINVAL;
}

/* --- the agent's answers ------------------------------------------------------ */

/* One listing of the running agent's, as `meshgate -j OBJ` prints it. */
static char *ask_agent(const struct mg_cli *cli, const char *obj)
{
	char *argv[] = { (char *)obj, NULL }, *text = NULL, *etext = NULL;
	size_t len = 0, elen = 0;
	FILE *saved_out = stdout, *saved_err = stderr, *o, *e;
	int rc;

	o = open_memstream(&text, &len);
	e = open_memstream(&etext, &elen);
	if (!o || !e) {
		if (o)
			fclose(o);
		if (e)
			fclose(e);
		return NULL;
	}
	fflush(stdout);
	stdout = o;
	stderr = e;
	rc = mg_ctl_call(cli->socket, true, 1, argv);
	stdout = saved_out;
	stderr = saved_err;
	fclose(o);
	fclose(e);
	free(etext);
	if (rc) {
		free(text);
		return NULL;
	}
	return text;
}

struct num_find {
	const char *key;
	long long v;
	bool found;
};

static void num_pair(const char *key, const char *val, void *arg)
{
	struct num_find *n = arg;

	if (!strcmp(key, n->key)) {
		n->v = atoll(val);
		n->found = true;
	}
}

static long long status_num(const char *status, const char *key)
{
	struct num_find n = { .key = key };

	mg_metrics_json_pairs(status, num_pair, &n);
	return n.found ? n.v : -1;
}

/* --- checks ------------------------------------------------------------------- */

static void check_agent(struct doctor *d)
{
	const struct mg_cli *cli = d->cli;

	if (!mg_pins_busy(cli->pin_dir)) {
		report(d, "agent", FAIL, "systemctl start meshgate (then "
		       "journalctl -u meshgate says why it stops, if it does)",
		       "no agent holds %s: nothing keeps the maps current",
		       cli->pin_dir);
		return;
	}
	d->status = ask_agent(cli, "status");
	if (!d->status) {
		report(d, "agent", FAIL, "check -s/-c name the agent's "
		       "control_socket; journalctl -u meshgate",
		       "an agent holds %s but does not answer on %s",
		       cli->pin_dir, cli->socket);
		return;
	}
	d->peers = ask_agent(cli, "peers");
	report(d, "agent", OK, NULL, "running, answers on %s (up %llds)",
	       cli->socket, status_num(d->status, "uptime_s"));
}

static void check_forwarding(struct doctor *d)
{
	bool v6 = d->have_cfg && mg_config_tunnel(d->cfg, MG_AF_INET6);
	long a, b;

	if (read_sysctl("/proc/sys/net/ipv4/ip_forward", &a, &b) < 0)
		report(d, "forwarding", WARN, NULL,
		       "cannot read net.ipv4.ip_forward");
	else if (a != 1)
		report(d, "forwarding", FAIL,
		       "sysctl -w net.ipv4.ip_forward=1 (and keep it in "
		       "/etc/sysctl.d/99-meshgate.conf)",
		       "net.ipv4.ip_forward = %ld: packets XDP hands to the "
		       "kernel (decap_stack, lb_stack, frag_stack) are not "
		       "routed", a);
	else if (v6 && (read_sysctl("/proc/sys/net/ipv6/conf/all/forwarding",
				    &a, &b) < 0 || a != 1))
		report(d, "forwarding", WARN,
		       "sysctl -w net.ipv6.conf.all.forwarding=1",
		       "IPv6 forwarding is off with an IPv6 tunnel address");
	else
		report(d, "forwarding", OK, NULL, "net.ipv4.ip_forward = 1%s",
		       v6 ? ", IPv6 forwarding on" : "");
}

static void check_rp_filter(struct doctor *d)
{
	const char *ifs[2] = { d->cfg->cluster_if, d->cfg->underlay_if };
	char path[128], fix[256] = "", bad[128] = "";
	long all, v, b;

	if (!d->have_cfg) {
		report(d, "rp_filter", SKIP, NULL, "no configuration");
		return;
	}
	if (read_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter", &all, &b) < 0)
		all = 0;
	for (int i = 0; i < 2; i++) {
		if (i && !strcmp(ifs[0], ifs[1]))
			break;
		snprintf(path, sizeof(path),
			 "/proc/sys/net/ipv4/conf/%s/rp_filter", ifs[i]);
		if (read_sysctl(path, &v, &b) < 0)
			continue;
		/* The kernel applies the larger of all and the interface's. */
		if ((v > all ? v : all) == 1) {
			size_t n = strlen(bad), m = strlen(fix);

			snprintf(bad + n, sizeof(bad) - n, "%s%s", n ? ", " : "",
				 ifs[i]);
			snprintf(fix + m, sizeof(fix) - m,
				 "%ssysctl -w net.ipv4.conf.%s.rp_filter=0",
				 m ? "; " : "", ifs[i]);
		}
	}
	if (bad[0]) {
		if (all == 1)
			snprintf(fix, sizeof(fix), "sysctl -w "
				 "net.ipv4.conf.all.rp_filter=0 and for %s", bad);
		report(d, "rp_filter", FAIL, fix,
		       "strict reverse-path filtering on %s: decapsulated "
		       "packets from remote pods the kernel handles are "
		       "dropped (their source routes the other way)", bad);
	} else {
		report(d, "rp_filter", OK, NULL, "off or loose on %s%s%s",
		       ifs[0], strcmp(ifs[0], ifs[1]) ? " and " : "",
		       strcmp(ifs[0], ifs[1]) ? ifs[1] : "");
	}
}

static void check_port_range(struct doctor *d)
{
	long lo, hi;

	if (read_sysctl("/proc/sys/net/ipv4/ip_local_port_range", &lo, &hi) != 2) {
		report(d, "port_range", WARN, NULL,
		       "cannot read net.ipv4.ip_local_port_range");
		return;
	}
	if (hi >= SNAT_PORT_MIN)
		report(d, "port_range", WARN,
		       "sysctl -w net.ipv4.ip_local_port_range=\"32768 60999\"",
		       "ip_local_port_range %ld-%ld overlaps the SNAT ports "
		       "%d-65535: the host's own connections and NATed service "
		       "flows may pick the same port", lo, hi, SNAT_PORT_MIN);
	else
		report(d, "port_range", OK, NULL,
		       "ip_local_port_range %ld-%ld is below the SNAT ports "
		       "%d-65535", lo, hi, SNAT_PORT_MIN);
}

/* The interfaces the datapath attaches to: one, or two. */
static int our_ifs(const struct doctor *d, const char **ifs)
{
	ifs[0] = d->cfg->cluster_if;
	ifs[1] = d->cfg->underlay_if;
	return strcmp(ifs[0], ifs[1]) ? 2 : 1;
}

static void check_xdp(struct doctor *d)
{
	const char *ifs[2];
	int n = our_ifs(d, ifs);

	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		int idx = if_nametoindex(ifs[i]);
		char fix[160];

		snprintf(fix, sizeof(fix), "restart the agent (systemctl "
			 "restart meshgate) to attach to %s", ifs[i]);
		if (!idx) {
			report(d, "xdp", FAIL, "check [gateway] interfaces",
			       "%s does not exist here", ifs[i]);
			continue;
		}
		if (bpf_xdp_query(idx, 0, &q)) {
			report(d, "xdp", WARN, NULL, "%s: cannot query XDP: %s",
			       ifs[i], strerror(errno));
			continue;
		}
		if (q.attach_mode == XDP_ATTACHED_NONE)
			report(d, "xdp", FAIL, fix, "%s: no XDP program "
			       "attached: nothing forwards for the mesh",
			       ifs[i]);
		else if (q.drv_prog_id || q.hw_prog_id)
			report(d, "xdp", OK, NULL, "%s: native XDP (program %u)",
			       ifs[i], q.drv_prog_id ?: q.hw_prog_id);
		else
			report(d, "xdp", WARN, "a NIC whose driver has native "
			       "XDP, and xdp_mode = native",
			       "%s: generic XDP (program %u): works, at a "
			       "fraction of native's speed", ifs[i],
			       q.skb_prog_id);
	}
}

static void check_pins(struct doctor *d)
{
	const char *ifs[2];
	int n = our_ifs(d, ifs);

	for (int i = 0; i < n; i++) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		struct bpf_link_info li;
		__u32 len = sizeof(li);
		char path[PATH_MAX + 32];
		int fd, idx = if_nametoindex(ifs[i]);
		__u32 attached = 0;

		snprintf(path, sizeof(path), "%s/link_%s", d->cli->pin_dir,
			 ifs[i]);
		fd = bpf_obj_get(path);
		if (fd < 0) {
			report(d, "pins", FAIL, "restart the agent (it pins "
			       "its links)", "%s: %s", path, strerror(errno));
			continue;
		}
		memset(&li, 0, sizeof(li));
		if (bpf_obj_get_info_by_fd(fd, &li, &len)) {
			report(d, "pins", FAIL, NULL, "%s: %s", path,
			       strerror(errno));
			close(fd);
			continue;
		}
		close(fd);
		if (idx && !bpf_xdp_query(idx, 0, &q))
			attached = q.prog_id ?: q.drv_prog_id ?: q.skb_prog_id;
		if (li.type != BPF_LINK_TYPE_XDP || !li.xdp.ifindex ||
		    (int)li.xdp.ifindex != idx || li.prog_id != attached)
			report(d, "pins", FAIL, "meshgate down --force, then "
			       "start the agent", "%s: the pinned link "
			       "(program %u, ifindex %u) is not what runs on "
			       "%s (program %u, ifindex %d): detached or "
			       "replaced behind the agent", path, li.prog_id,
			       li.xdp.ifindex, ifs[i], attached, idx);
		else
			report(d, "pins", OK, NULL, "link_%s: program %u "
			       "attached", ifs[i], li.prog_id);
	}
}

/* By ioctl, not /sys: sysfs shows the namespace it was mounted in. */
static unsigned int link_mtu(const char *ifname)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned int mtu = 0;

	if (fd < 0)
		return 0;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (!ioctl(fd, SIOCGIFMTU, &ifr))
		mtu = ifr.ifr_mtu;
	close(fd);
	return mtu;
}

static void check_mtu(struct doctor *d)
{
	bool v6 = mg_config_tunnel(d->cfg, MG_AF_INET6) &&
		  !mg_config_tunnel(d->cfg, MG_AF_INET);
	unsigned int over = v6 ? ENCAP6 : ENCAP4;
	unsigned int cl = link_mtu(d->cfg->cluster_if);
	unsigned int ul = link_mtu(d->cfg->underlay_if);
	char fix[192];

	if (!cl || !ul) {
		report(d, "mtu", WARN, NULL, "cannot read the MTU of %s or %s",
		       d->cfg->cluster_if, d->cfg->underlay_if);
		return;
	}
	snprintf(fix, sizeof(fix), "ip link set %s mtu %u (the underlay), or "
		 "pods' MTU %u; mss_clamp = auto helps TCP",
		 d->cfg->underlay_if, cl + over, ul - over);
	if (ul < cl + over)
		report(d, "mtu", WARN, fix, "underlay %s MTU %u leaves %d "
		       "bytes over %s's %u: full-size pod packets get ICMP "
		       "too big (the tunnel adds %u)", d->cfg->underlay_if, ul,
		       (int)ul - (int)cl, d->cfg->cluster_if, cl, over);
	else
		report(d, "mtu", OK, NULL, "underlay %s MTU %u has room for "
		       "%s's %u plus %u bytes of tunnel", d->cfg->underlay_if,
		       ul, d->cfg->cluster_if, cl, over);
}

struct full_walk {
	struct doctor *d;
	int n_full;
};

static int map_full(const struct mg_bpfmap *m, int fd, void *arg)
{
	struct full_walk *w = arg;
	char fix[160];
	long long pct;

	/* Arrays hold all of theirs: full by construction. */
	if (fd < 0 || m->entries < 0 || !m->info.max_entries ||
	    m->info.type == BPF_MAP_TYPE_ARRAY ||
	    m->info.type == BPF_MAP_TYPE_PERCPU_ARRAY)
		return 0;
	pct = m->entries * 100 / m->info.max_entries;
	if (pct < MAP_FULL_PCT)
		return 0;
	w->n_full++;
	snprintf(fix, sizeof(fix), "raise its [limits] entry and restart "
		 "the agent (the map is resized, its entries kept)");
	report(w->d, "maps", pct >= 100 ? FAIL : WARN, fix,
	       "%s holds %lld of %u entries (%lld%%): new entries will be "
	       "refused%s", m->name, m->entries, m->info.max_entries, pct,
	       m->info.type == BPF_MAP_TYPE_LRU_HASH ||
	       m->info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH ?
	       " (LRU: old ones evicted)" : "");
	return 0;
}

static void check_maps(struct doctor *d)
{
	struct full_walk w = { .d = d };
	int err = mg_bpfmap_each(d->cli->pin_dir, map_full, &w);

	if (err < 0)
		report(d, "maps", FAIL, "start the agent (it pins its maps)",
		       "cannot read %s: %s", d->cli->pin_dir, strerror(-err));
	else if (!w.n_full)
		report(d, "maps", OK, NULL, "every map below %d%% of its limit",
		       MAP_FULL_PCT);
}

static long long rejects(const char *status)
{
	long long a = status_num(status, "gossip_decrypt_failed");
	long long b = status_num(status, "gossip_plaintext_rejected");

	return (a > 0 ? a : 0) + (b > 0 ? b : 0);
}

static void check_keys(struct doctor *d)
{
	const char *fix = "the same keys on every gateway: meshgate keys "
			  "list here and on the peers; install, use, then "
			  "remove to rotate";
	long long r0, r1;
	char *again;

	if (!d->status) {
		report(d, "keys", SKIP, NULL, "no agent to ask");
		return;
	}
	r0 = rejects(d->status);
	if (!r0) {
		report(d, "keys", OK, NULL, "no gossip packet rejected for its "
		       "key or lack of one");
		return;
	}
	/* Once, long ago, or still: a second look tells. */
	sleep(2);
	again = ask_agent(d->cli, "status");
	r1 = again ? rejects(again) : r0;
	free(again);
	if (r1 > r0)
		report(d, "keys", FAIL, fix, "gossip packets rejected for "
		       "their key (wrong key or plaintext) are growing: %lld, "
		       "then %lld 2 s later", r0, r1);
	else
		report(d, "keys", WARN, fix, "%lld gossip packets rejected for "
		       "their key since the agent started (not growing now)",
		       r0);
}

struct peer_walk {
	struct doctor *d;
	char name[128], state[32], datapath[16];
	bool open, gateway;
	int n, bad;
	int dp_up, dp_down, dp_unknown;	/* answers to our echo probes */
	char dp_down_name[128];
};

static void peer_done(struct peer_walk *w)
{
	if (!w->open || !w->gateway)
		goto out;
	w->n++;
	if (!strcmp(w->datapath, "up")) {
		w->dp_up++;
	} else if (!strcmp(w->datapath, "down")) {
		if (!w->dp_down++)
			snprintf(w->dp_down_name, sizeof(w->dp_down_name),
				 "%s", w->name);
	} else {
		w->dp_unknown++;
	}
	if (!strcmp(w->state, "alive") || !strcmp(w->state, "static"))
		goto out;
	w->bad++;
	report(w->d, "peers", !strcmp(w->state, "suspect") ||
	       !strcmp(w->state, "left") ? WARN : FAIL,
	       "check the underlay path and the gossip port to it (ip route "
	       "get, firewall), and its agent", "%s is %s on gossip", w->name,
	       w->state);
out:
	w->open = w->gateway = false;
	w->datapath[0] = 0;
}

static void peer_pair(const char *key, const char *val, void *arg)
{
	struct peer_walk *w = arg;

	if (!strcmp(key, "name")) {
		peer_done(w);
		w->open = true;
		snprintf(w->name, sizeof(w->name), "%s", val);
	} else if (!strcmp(key, "state")) {
		snprintf(w->state, sizeof(w->state), "%s", val);
	} else if (!strcmp(key, "meshgate")) {
		w->gateway = !strcmp(val, "true");
	} else if (!strcmp(key, "datapath")) {
		snprintf(w->datapath, sizeof(w->datapath), "%s", val);
	}
}

static void check_peers(struct doctor *d)
{
	struct peer_walk w = { .d = d };

	if (!d->peers) {
		report(d, "peers", SKIP, NULL, "no agent to ask");
		report(d, "tunnel", SKIP, NULL, "no agent to ask");
		return;
	}
	mg_metrics_json_pairs(d->peers, peer_pair, &w);
	peer_done(&w);
	if (!w.n)
		report(d, "peers", WARN, "[peer NAME] sections or [gossip] "
		       "seed lines", "no peer gateway known: nothing to "
		       "forward to");
	else if (!w.bad)
		report(d, "peers", OK, NULL, "every peer gateway (%d) alive "
		       "on gossip (or static)", w.n);
	/* Datapath liveness: the peers' answers to our echo probes. */
	if (d->status && status_num(d->status, "liveness_cut_off") > 0)
		report(d, "tunnel", FAIL, "check this gateway's underlay: its "
		       "link, route and MTU to the peers, a firewall on the "
		       "VXLAN port", "no peer's datapath answers our probes: "
		       "this gateway is cut off on the tunnel (%d peer%s kept, "
		       "fail static)", w.n, w.n > 1 ? "s" : "");
	else if (w.dp_down)
		report(d, "tunnel", FAIL, "check the underlay path to it (ip "
		       "route get, MTU, a firewall on the VXLAN port) and that "
		       "its XDP program is attached",
		       "%d peer datapath%s silent on the tunnel (%s%s)",
		       w.dp_down, w.dp_down > 1 ? "s" : "", w.dp_down_name,
		       w.dp_down > 1 ? ", ..." : "");
	else if (w.dp_up)
		report(d, "tunnel", OK, NULL, "%d peer datapath%s answer%s on "
		       "the tunnel%s", w.dp_up, w.dp_up > 1 ? "s" : "",
		       w.dp_up > 1 ? "" : "s", w.dp_unknown ?
		       " (others not probed: static, same cluster or older)" : "");
	else
		report(d, "tunnel", SKIP, NULL, "no peer datapath probed "
		       "(echo_interval = 0, static peers or none yet)");
}

static void check_clock(struct doctor *d)
{
	struct timex tx = { 0 };
	time_t now = time(NULL);
	int state = adjtimex(&tx);

	/*
	 * 2024-01-01: a clock before this program was written is wrong.
	 * Gossip itself carries no timestamps (memberlist orders by
	 * incarnation), so an unsynchronized clock is only noted: it makes
	 * the gateways' logs hard to line up, it breaks nothing.
	 */
	if (now < 1704067200)
		report(d, "clock", FAIL, "set the time (timedatectl, NTP)",
		       "the system clock says %lld: before 2024", (long long)now);
	else
		report(d, "clock", OK, NULL, "the system clock is set%s",
		       state == TIME_ERROR ? " (not NTP-synchronized: logs of "
		       "different gateways may not line up)" :
		       " and synchronized");
}

int cmd_doctor(struct mg_cli *cli, int argc, char **argv)
{
	const char *path = cli->config ? cli->config : MG_DEFAULT_CONFIG;
	struct doctor d = { .cli = cli };
	int err;

	if (argc > 1) {
		fprintf(stderr, "usage: meshgate [-j] [-c FILE] doctor\n");
		return 2;
	}
	d.cfg = malloc(sizeof(*d.cfg));
	if (!d.cfg)
		return 2;
	err = mg_config_load(d.cfg, path, NULL);
	d.have_cfg = !err || err == -EINVAL;

	out_arr_open("checks");
	if (err)
		report(&d, "config", FAIL,
		       "meshgate agent --check-config -c FILE says why",
		       "%s: %s", path, err == -EINVAL ?
		       "does not pass the check" : strerror(-err));
	else
		report(&d, "config", OK, NULL, "%s passes the check", path);
	check_agent(&d);
	check_forwarding(&d);
	check_port_range(&d);
	if (d.have_cfg) {
		check_rp_filter(&d);
		check_xdp(&d);
		check_pins(&d);
		check_mtu(&d);
	}
	check_maps(&d);
	check_keys(&d);
	check_peers(&d);
	check_clock(&d);
	out_arr_close();
	out_text("%s\n", d.worst == OK ? "all ok" : d.worst == WARN ?
		 "warnings: see fix lines" : "failures: see fix lines");
	out_finish();
	free(d.status);
	free(d.peers);
	free(d.cfg);
	return d.worst == OK ? 0 : d.worst == WARN ? 1 : 2;
}
