// SPDX-License-Identifier: GPL-2.0-only
/*
 * `meshgate monitor`: the datapath's drop and trace stream (datapath/
 * events.h), one decoded line (or JSON object) per event, and with -w a
 * pcapng capture whose packets carry their reason and interface.  It reads
 * the pinned maps, as `meshgate bpf` does, so it works without the agent.
 *
 * Several monitors may run at once.  Each takes a listener slot in
 * mg_evcfg (its pid and the reasons it wants); the datapath's mask is the
 * OR of the slots.  Starting and stopping (Ctrl-C, SIGTERM, -c COUNT)
 * rewrite the mask under a lock file, and both clear the slots of
 * processes that are gone: a monitor killed with SIGKILL leaves its
 * reasons on until the next monitor starts or stops (`meshgate monitor
 * -c 0` does only that).  Events another monitor asked for are filtered
 * out here.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/file.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <meshgate/abi.h>
#include "cli.h"
#include "lib/addr.h"
#include "lib/pcapng.h"
#include "lib/reasons.h"

#define MONITOR_LOCK	"/run/meshgate-monitor.lock"
#define DEFAULT_RATE	1000	/* events per second and CPU */

struct monitor {
	struct mg_cli *cli;
	int cfg_fd, state_fd, rings_fd, ring_fd;
	uint64_t mask;			/* the reasons this one wants */
	struct mg_addr host;		/* --host; family 0: any */
	int port;			/* --port; -1: any */
	int cluster;			/* --cluster; 0: any */
	int service;			/* --service (its id); -1: any */
	long count;			/* -c; -1: no end */
	long shown;
	struct mg_pcapng pcap;
	bool pcap_on;
	uint64_t mono_to_real;		/* add to a CLOCK_MONOTONIC time */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* --- listener slots ------------------------------------------------------- */

static bool pid_alive(uint32_t pid)
{
	return pid && (kill(pid, 0) == 0 || errno != ESRCH);
}

/*
 * Under the lock: drop the slots of dead processes, then take (pid, mask)
 * into a slot with our ring (mask 0: leave it) and recompute the
 * datapath's mask.  sample/rate: when not 0, the new settings.  The ring
 * goes in first and comes out last, so the datapath never sees a slot
 * that wants events without a ring.  0 or -errno.
 */
static int listeners_update(struct monitor *m, uint32_t pid, uint64_t mask,
			    uint32_t sample, uint32_t rate)
{
	struct mg_ev_cfg c;
	__u32 key = 0;
	int lock, err = 0, free_slot = -1;

	lock = open(MONITOR_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX)) {
		err = -errno;
		fprintf(stderr, "meshgate monitor: %s: %s\n", MONITOR_LOCK,
			strerror(errno));
		if (lock >= 0)
			close(lock);
		return err;
	}
	if (bpf_map_lookup_elem(m->cfg_fd, &key, &c)) {
		err = -errno;
		goto out;
	}
	c.mask = 0;
	for (__u32 i = 0; i < MG_EV_LISTENERS; i++) {
		struct mg_ev_listener *l = &c.listener[i];

		if (l->pid && (l->pid == pid || !pid_alive(l->pid)))
			memset(l, 0, sizeof(*l));
		if (!l->pid && free_slot < 0)
			free_slot = i;
	}
	if (mask) {
		__u32 slot = free_slot;

		if (free_slot < 0) {
			fprintf(stderr, "meshgate monitor: %d monitors run "
				"already\n", MG_EV_LISTENERS);
			err = -EBUSY;
			goto out;
		}
		if (bpf_map_update_elem(m->rings_fd, &slot, &m->ring_fd,
					BPF_ANY)) {
			err = -errno;
			goto out;
		}
		c.listener[free_slot].pid = pid;
		c.listener[free_slot].mask = mask;
	}
	for (int i = 0; i < MG_EV_LISTENERS; i++)
		c.mask |= c.listener[i].mask;
	/* The last one out: the next monitor starts from the defaults. */
	if (!c.mask)
		c.sample = c.rate = c.burst = 0;
	if (sample)
		c.sample = sample;
	if (rate) {
		c.rate = rate;
		c.burst = rate;
	}
	if (!c.rate) {
		c.rate = DEFAULT_RATE;
		c.burst = DEFAULT_RATE;
	}
	if (bpf_map_update_elem(m->cfg_fd, &key, &c, BPF_ANY)) {
		err = -errno;
		goto out;
	}
	/* The rings of free slots go (ENOENT: there was none). */
	for (__u32 i = 0; i < MG_EV_LISTENERS; i++)
		if (!c.listener[i].pid)
			bpf_map_delete_elem(m->rings_fd, &i);
out:
	if (err && err != -EBUSY)
		fprintf(stderr, "meshgate monitor: mg_evcfg: %s\n",
			strerror(-err));
	close(lock);
	return err;
}

/* --- decoding ------------------------------------------------------------- */

struct flow {
	struct mg_addr src, dst;
	int proto;			/* -1: not IP */
	int sport, dport;		/* -1: none */
	int icmp_type, icmp_code;	/* -1: not ICMP */
};

static const char *proto_name(int p, char *buf, size_t n)
{
	switch (p) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case IPPROTO_ICMP:
		return "icmp";
	case IPPROTO_ICMPV6:
		return "icmp6";
	}
	snprintf(buf, n, "proto-%d", p);
	return buf;
}

/*
 * The IP header at b[off..n): fills f, returns the offset of its payload
 * or -1 (f->proto -1) when it is not IP or cut short.
 */
static int decode_ip(const uint8_t *b, int off, int n, int ethertype,
		     struct flow *f)
{
	int hl;

	memset(f, 0, sizeof(*f));
	f->proto = f->sport = f->dport = f->icmp_type = f->icmp_code = -1;
	if (ethertype == ETH_P_IP && n - off >= 20 && (b[off] >> 4) == 4) {
		hl = (b[off] & 15) * 4;
		f->src.family = f->dst.family = MG_AF_INET;
		memcpy(&f->src.addr[0], b + off + 12, 4);
		memcpy(&f->dst.addr[0], b + off + 16, 4);
		f->proto = b[off + 9];
		/* A later fragment has no ports. */
		if ((b[off + 6] & 0x1f) || b[off + 7])
			return -1;
		off += hl < 20 ? 20 : hl;
	} else if (ethertype == ETH_P_IPV6 && n - off >= 40 &&
		   (b[off] >> 4) == 6) {
		f->src.family = f->dst.family = MG_AF_INET6;
		memcpy(f->src.addr, b + off + 8, 16);
		memcpy(f->dst.addr, b + off + 24, 16);
		f->proto = b[off + 6];
		off += 40;
	} else {
		return -1;
	}
	if ((f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP) &&
	    n - off >= 4) {
		f->sport = b[off] << 8 | b[off + 1];
		f->dport = b[off + 2] << 8 | b[off + 3];
	} else if ((f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) &&
		   n - off >= 2) {
		f->icmp_type = b[off];
		f->icmp_code = b[off + 1];
	}
	return off;
}

/* The Ethernet header at b[off..n): its ethertype and payload offset. */
static int decode_eth(const uint8_t *b, int off, int n, int *ethertype)
{
	if (n - off < ETH_HLEN)
		return -1;
	*ethertype = b[off + 12] << 8 | b[off + 13];
	return off + ETH_HLEN;
}

/*
 * A VXLAN header after the UDP one (flags with the I bit, reserved bytes
 * zero) and an inner Ethernet frame: its offset and the VNI, or -1.
 */
static int decode_vxlan(const uint8_t *b, int off, int n, uint32_t *vni)
{
	off += 8;	/* UDP */
	if (n - off < 8 || b[off] != 0x08 || b[off + 1] || b[off + 2] ||
	    b[off + 3] || b[off + 7])
		return -1;
	*vni = b[off + 4] << 16 | b[off + 5] << 8 | b[off + 6];
	return off + 8;
}

static bool flow_has(const struct flow *f, const struct monitor *m)
{
	if (m->host.family && !mg_addr_equal(&f->src, &m->host) &&
	    !mg_addr_equal(&f->dst, &m->host))
		return false;
	if (m->port >= 0 && f->sport != m->port && f->dport != m->port)
		return false;
	return true;
}

static void flow_text(const struct flow *f, char *buf, size_t n)
{
	char a[MG_ADDRPORTSTRLEN], b[MG_ADDRPORTSTRLEN], p[16];

	if (f->proto < 0 && !f->src.family) {
		snprintf(buf, n, "non-IP");
		return;
	}
	if (f->sport >= 0) {
		mg_addr_port_str(&f->src, f->sport, a, sizeof(a));
		mg_addr_port_str(&f->dst, f->dport, b, sizeof(b));
	} else {
		mg_addr_str(&f->src, a, sizeof(a));
		mg_addr_str(&f->dst, b, sizeof(b));
	}
	if (f->icmp_type >= 0)
		snprintf(buf, n, "%s -> %s %s type %d code %d", a, b,
			 proto_name(f->proto, p, sizeof(p)), f->icmp_type,
			 f->icmp_code);
	else
		snprintf(buf, n, "%s -> %s %s", a, b,
			 proto_name(f->proto, p, sizeof(p)));
}

static void flow_json(const char *key, const struct flow *f)
{
	char a[MG_ADDRSTRLEN], b[MG_ADDRSTRLEN], p[16];

	if (!f->src.family)
		return;
	printf(",\"%s\":{\"src\":\"%s\",\"dst\":\"%s\",\"proto\":\"%s\"",
	       key, mg_addr_str(&f->src, a, sizeof(a)),
	       mg_addr_str(&f->dst, b, sizeof(b)),
	       proto_name(f->proto, p, sizeof(p)));
	if (f->sport >= 0)
		printf(",\"sport\":%d,\"dport\":%d", f->sport, f->dport);
	if (f->icmp_type >= 0)
		printf(",\"icmp_type\":%d,\"icmp_code\":%d", f->icmp_type,
		       f->icmp_code);
	printf("}");
}

static bool icmp_is_error(const struct flow *f)
{
	if (f->proto == IPPROTO_ICMP)
		return f->icmp_type == 3 || f->icmp_type == 11 ||
		       f->icmp_type == 12;
	if (f->proto == IPPROTO_ICMPV6)
		return f->icmp_type >= 1 && f->icmp_type <= 4;
	return false;
}

/*
 * The ids an event carries (the datapath fills them where it knows them
 * at the verdict), as the listings show them: the cluster id, the
 * service's id (`meshgate bpf services`), the backend's slot (`meshgate
 * bpf backends`), the policy rule; -1 (cluster, rule: 0) for none.  The
 * peer is read from the frame: a tunnel packet's outer source, or its
 * outer destination when we sent it (encap, mss_clamped).
 */
struct ev_ids {
	int cluster;
	long service, backend;
	unsigned long rule;
	struct mg_addr peer;		/* family 0: none */
};

static void ev_ids(const struct mg_event *e, bool tunnel,
		   const struct flow *outer, struct ev_ids *id)
{
	id->cluster = e->cluster;
	id->service = (long)e->service - 1;
	id->backend = (long)e->backend - 1;
	id->rule = e->rule;
	id->peer.family = 0;
	if (tunnel)
		id->peer = e->reason == MG_ENCAP || e->reason == MG_MSS_CLAMPED ?
			   outer->dst : outer->src;
}

/* " cluster 2 service 0 backend 3 rule 7 peer 192.0.2.2": those there. */
static void ids_text(const struct ev_ids *id, char *buf, size_t n)
{
	char a[MG_ADDRSTRLEN];
	int o = 0;

	buf[0] = 0;
	if (id->cluster)
		o += snprintf(buf + o, n - o, " cluster %d", id->cluster);
	if (id->service >= 0 && (size_t)o < n)
		o += snprintf(buf + o, n - o, " service %ld", id->service);
	if (id->backend >= 0 && (size_t)o < n)
		o += snprintf(buf + o, n - o, " backend %ld", id->backend);
	if (id->rule && (size_t)o < n)
		o += snprintf(buf + o, n - o, " rule %lu", id->rule);
	if (id->peer.family && (size_t)o < n)
		snprintf(buf + o, n - o, " peer %s",
			 mg_addr_str(&id->peer, a, sizeof(a)));
}

static void ids_json(const struct ev_ids *id)
{
	char a[MG_ADDRSTRLEN];

	if (id->cluster)
		printf(",\"cluster\":%d", id->cluster);
	if (id->service >= 0)
		printf(",\"service\":%ld", id->service);
	if (id->backend >= 0)
		printf(",\"backend\":%ld", id->backend);
	if (id->rule)
		printf(",\"rule\":%lu", id->rule);
	if (id->peer.family)
		printf(",\"peer\":\"%s\"",
		       mg_addr_str(&id->peer, a, sizeof(a)));
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct monitor *m = ctx;
	const struct mg_event *e = data;
	struct flow outer, in;
	char ifname[IF_NAMESIZE] = "?", when[64], fo[160], fi[160];
	char comment[256], ids[128];
	struct ev_ids id;
	int off, et;
	uint32_t vni = 0;
	bool tunnel = false;
	uint64_t real;
	time_t sec;
	struct tm tm;

	if (size < sizeof(*e) || e->reason >= 64 || e->cap_len > MG_EV_SNAP)
		return 0;
	if (!(m->mask & (1ULL << e->reason)))
		return 0;	/* another monitor's */
	if (m->count >= 0 && m->shown >= m->count)
		return 0;

	off = decode_eth(e->data, 0, e->cap_len, &et);
	off = off < 0 ? -1 : decode_ip(e->data, off, e->cap_len, et, &outer);
	if (off < 0 && !outer.src.family)
		outer.proto = -1;
	in.src.family = 0;
	if (off >= 0 && outer.proto == IPPROTO_UDP) {
		int o = decode_vxlan(e->data, off, e->cap_len, &vni);

		if (o >= 0 && (o = decode_eth(e->data, o, e->cap_len, &et)) >= 0) {
			tunnel = true;
			decode_ip(e->data, o, e->cap_len, et, &in);
		}
	}
	/* An ICMP error (too big, say): the packet it quotes. */
	if (off >= 0 && !tunnel && icmp_is_error(&outer) &&
	    off + 8 < e->cap_len)
		decode_ip(e->data, off + 8, e->cap_len,
			  outer.src.family == MG_AF_INET ? ETH_P_IP :
							   ETH_P_IPV6, &in);
	if (!flow_has(&outer, m) && !(in.src.family && flow_has(&in, m)))
		return 0;
	ev_ids(e, tunnel, &outer, &id);
	if ((m->cluster && id.cluster != m->cluster) ||
	    (m->service >= 0 && id.service != m->service))
		return 0;
	m->shown++;

	if (!if_indextoname(e->ifindex, ifname))
		snprintf(ifname, sizeof(ifname), "if%u", e->ifindex);
	real = e->ts_ns + m->mono_to_real;
	sec = real / 1000000000ULL;
	localtime_r(&sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	ids_text(&id, ids, sizeof(ids));

	if (m->cli->json) {
		printf("{\"time_ns\":%llu,\"cpu\":%u,\"ifindex\":%u,"
		       "\"ifname\":\"%s\",\"hook\":\"%s\",\"type\":\"%s\","
		       "\"reason\":\"%s\",\"class\":\"%s\",\"len\":%u,"
		       "\"cap_len\":%u",
		       (unsigned long long)real, e->cpu, e->ifindex, ifname,
		       e->hook == MG_EV_HOOK_TC ? "tc" : "xdp",
		       e->type == MG_EV_DROP ? "drop" : "trace",
		       mg_reason_name(e->reason),
		       mg_reason_class_name(mg_reason_class(e->reason)),
		       e->len, e->cap_len);
		flow_json("packet", &outer);
		if (tunnel)
			printf(",\"vni\":%u", vni);
		/* The tunnelled packet, or the one an ICMP error quotes. */
		flow_json("inner", &in);
		ids_json(&id);
		printf("}\n");
	} else {
		flow_text(&outer, fo, sizeof(fo));
		fi[0] = 0;
		if (in.src.family) {
			char t[140];

			flow_text(&in, t, sizeof(t));
			if (tunnel)
				snprintf(fi, sizeof(fi), " vni %u [%s]", vni,
					 t);
			else
				snprintf(fi, sizeof(fi), " quoting [%s]", t);
		}
		printf("%s.%06llu cpu %u %s %s %-5s %-16s %s%s", when,
		       (unsigned long long)(real % 1000000000ULL) / 1000,
		       e->cpu, ifname, e->hook == MG_EV_HOOK_TC ? "tc" : "xdp",
		       e->type == MG_EV_DROP ? "drop" : "trace",
		       mg_reason_name(e->reason), fo, fi);
		printf("%s len %u\n", ids, e->len);
	}
	fflush(stdout);

	if (m->pcap_on) {
		int err;

		snprintf(comment, sizeof(comment), "%s %s on %s (%s)%s",
			 e->type == MG_EV_DROP ? "drop" : "trace",
			 mg_reason_name(e->reason), ifname,
			 e->hook == MG_EV_HOOK_TC ? "tc" : "xdp", ids);
		err = mg_pcapng_write(&m->pcap, real, e->ifindex, ifname,
				      e->data, e->cap_len, e->len, comment);
		if (err) {
			fprintf(stderr, "meshgate monitor: writing the "
				"capture: %s\n", strerror(-err));
			stop = 1;
		}
	}
	if (m->count >= 0 && m->shown >= m->count)
		stop = 1;
	return 0;
}

/* --- the command ---------------------------------------------------------- */

static uint64_t class_mask(int type)
{
	uint64_t mask = 0;

	for (int r = 0; r < MG_REASON_MAX; r++) {
		bool drop = mg_reason_class(r) != MG_CLASS_FORWARD;

		/* Passing to the kernel is every other packet: asked by name. */
		if (r == MG_PASS || r == MG_PASS_OTHER_HOST)
			continue;
		if ((type & MG_EV_DROP && drop) || (type & MG_EV_TRACE && !drop))
			mask |= 1ULL << r;
	}
	return mask;
}

static void state_sum(const struct monitor *m, uint64_t *lost,
		      uint64_t *limited)
{
	int ncpu = libbpf_num_possible_cpus();
	struct mg_ev_state *v;
	__u32 key = 0;

	*lost = *limited = 0;
	if (ncpu <= 0 || !(v = calloc(ncpu, sizeof(*v))))
		return;
	if (!bpf_map_lookup_elem(m->state_fd, &key, v))
		for (int c = 0; c < ncpu; c++) {
			*lost += v[c].lost;
			*limited += v[c].limited;
		}
	free(v);
}

static int usage(void)
{
	fprintf(stderr, "usage: meshgate [-j] monitor [--type drop|trace|all] "
		"[--reason R]... [--host ADDR] [--port N] [--cluster ID] "
		"[--service ID] [-w FILE.pcapng] [-c COUNT] [--sample N] "
		"[--rate N]\n");
	return 2;
}

int cmd_monitor(struct mg_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "cluster", required_argument, NULL, 'C' },
		{ "service", required_argument, NULL, 'V' },
		{ "write", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ "sample", required_argument, NULL, 'S' },
		{ "rate", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{}
	};
	struct monitor m = { .cli = cli, .port = -1, .count = -1,
			     .service = -1, .state_fd = -1, .rings_fd = -1,
			     .ring_fd = -1 };
	const char *wfile = NULL;
	unsigned long sample = 0, rate = 0;
	struct ring_buffer *rb = NULL;
	uint64_t reasons = 0, lost0, lim0, lost1, lim1;
	struct timespec mono, real;
	struct sigaction sa = { .sa_handler = on_signal };
	int type = MG_EV_DROP, opt, rc = 1, r;
	char *end;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jw:c:", opts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (!strcmp(optarg, "drop"))
				type = MG_EV_DROP;
			else if (!strcmp(optarg, "trace"))
				type = MG_EV_TRACE;
			else if (!strcmp(optarg, "all"))
				type = MG_EV_DROP | MG_EV_TRACE;
			else {
				fprintf(stderr, "meshgate monitor: --type "
					"'%s': drop, trace or all\n", optarg);
				return 2;
			}
			break;
		case 'r':
			r = mg_reason_find(optarg);
			if (r < 0) {
				fprintf(stderr, "meshgate monitor: no reason "
					"'%s' (`meshgate stats -a` lists "
					"them)\n", optarg);
				return 2;
			}
			reasons |= 1ULL << r;
			break;
		case 'H':
			if (mg_addr_parse(optarg, &m.host)) {
				fprintf(stderr, "meshgate monitor: --host "
					"'%s' is not an address\n", optarg);
				return 2;
			}
			break;
		case 'P':
			m.port = strtol(optarg, &end, 10);
			if (*end || m.port < 0 || m.port > 65535) {
				fprintf(stderr, "meshgate monitor: --port "
					"'%s' is not a port\n", optarg);
				return 2;
			}
			break;
		case 'C':
			m.cluster = strtol(optarg, &end, 10);
			if (*end || !*optarg || m.cluster < 1 ||
			    m.cluster > 255) {
				fprintf(stderr, "meshgate monitor: --cluster "
					"'%s' is not a cluster id (1..255)\n",
					optarg);
				return 2;
			}
			break;
		case 'V':
			m.service = strtol(optarg, &end, 10);
			if (*end || !*optarg || m.service < 0 ||
			    m.service >= MG_LB_MAX_SERVICES) {
				fprintf(stderr, "meshgate monitor: --service "
					"'%s' is not a service id (`meshgate "
					"bpf services`)\n", optarg);
				return 2;
			}
			break;
		case 'w':
			wfile = optarg;
			break;
		case 'c':
			m.count = strtol(optarg, &end, 10);
			if (*end || m.count < 0) {
				fprintf(stderr, "meshgate monitor: -c '%s' is "
					"not a count\n", optarg);
				return 2;
			}
			break;
		case 'S':
		case 'R':
			errno = 0;
			*(opt == 'S' ? &sample : &rate) =
				strtoul(optarg, &end, 10);
			if (*end || errno || !*optarg ||
			    (opt == 'S' ? sample : rate) > UINT32_MAX) {
				fprintf(stderr, "meshgate monitor: '%s' is "
					"not a number\n", optarg);
				return 2;
			}
			break;
		case 'j':
			cli->json = true;
			break;
		default:
			return usage();
		}
	}
	if (optind < argc) {
		fprintf(stderr, "meshgate monitor: unexpected argument '%s'\n",
			argv[optind]);
		return usage();
	}
	m.mask = reasons ? reasons : class_mask(type);

	m.cfg_fd = mg_cli_open_map(cli, "mg_evcfg");
	if (m.cfg_fd < 0)
		return 1;
	m.state_fd = mg_cli_open_map(cli, "mg_evstate");
	m.rings_fd = mg_cli_open_map(cli, "mg_evrings");
	if (m.state_fd < 0 || m.rings_fd < 0)
		goto out;

	/* -c 0: only clear what monitors that are gone left on. */
	if (m.count == 0) {
		rc = listeners_update(&m, getpid(), 0, 0, 0) ? 1 : 0;
		goto out;
	}
	/* Our own ring: one reader each (the datapath copies to each). */
	m.ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "mg_evring", 0, 0,
				   MG_EV_RING_BYTES, NULL);
	rb = m.ring_fd < 0 ? NULL :
	     ring_buffer__new(m.ring_fd, on_event, &m, NULL);
	if (!rb) {
		fprintf(stderr, "meshgate monitor: a ring buffer: %s\n",
			strerror(errno));
		goto out;
	}
	if (wfile) {
		int err = mg_pcapng_open(&m.pcap, wfile, MG_EV_SNAP);

		if (err) {
			fprintf(stderr, "meshgate monitor: %s: %s\n", wfile,
				strerror(-err));
			goto out;
		}
		m.pcap_on = true;
	}
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	m.mono_to_real = (real.tv_sec - mono.tv_sec) * 1000000000LL +
			 (real.tv_nsec - mono.tv_nsec);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	state_sum(&m, &lost0, &lim0);
	if (listeners_update(&m, getpid(), m.mask, sample, rate))
		goto out;
	fprintf(stderr, "listening for %s events (Ctrl-C to stop)\n",
		reasons ? "the reasons asked" :
		type == MG_EV_DROP ? "drop" :
		type == MG_EV_TRACE ? "trace" : "drop and trace");
	rc = 0;
	/*
	 * The datapath wakes us only when the ring fills up (a wake-up per
	 * event would cost more than the event): the rest is read every
	 * 100 ms.
	 */
	while (!stop) {
		int n = ring_buffer__poll(rb, 100);

		if (n >= 0)
			n = ring_buffer__consume(rb);

		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "meshgate monitor: the ring: %s\n",
				strerror(-n));
			rc = 1;
			break;
		}
	}
	listeners_update(&m, getpid(), 0, 0, 0);
	/* What was already in the ring when the last wanted one came. */
	if (m.count < 0 || m.shown < m.count)
		ring_buffer__consume(rb);
	state_sum(&m, &lost1, &lim1);
	fprintf(stderr, "%ld events shown; since this monitor started, "
		"%llu lost (ring full) and %llu over the rate limit (all "
		"monitors)\n", m.shown, (unsigned long long)(lost1 - lost0),
		(unsigned long long)(lim1 - lim0));
out:
	if (m.pcap_on && mg_pcapng_close(&m.pcap))
		rc = 1;
	ring_buffer__free(rb);
	close(m.cfg_fd);
	if (m.state_fd >= 0)
		close(m.state_fd);
	if (m.rings_fd >= 0)
		close(m.rings_fd);
	if (m.ring_fd >= 0)
		close(m.ring_fd);
	return rc;
}
