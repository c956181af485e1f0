// SPDX-License-Identifier: GPL-2.0-only
/*
 * `meshgate explain [from SRC] to DST[:PORT][/PROTO] [on IFACE] [sport N]
 * [size N]`:
 * which path a packet takes, answered by the loaded program itself.  The
 * XDP program attached to IFACE (its pinned link, link_IFACE) runs once on
 * a built frame with BPF_PROG_TEST_RUN, as if the frame had come in on
 * IFACE (ingress_ifindex); what it returned is decoded:
 *
 *   verdict   the XDP action
 *   reason    the mg_stats slot that moved on this CPU (the thread is
 *             pinned to one CPU and reads that CPU's counters around the
 *             run: other traffic on the same CPU in that instant can make
 *             it ambiguous, said so)
 *   maps      the endpoint entry DST matches (mg_ep4), its cluster's live
 *             gateways (mg_clus), the service DST:PORT/PROTO is (mg_svc)
 *   output    the frame as the program left it: outer IPv4/UDP/VXLAN
 *             (the gateway the flow hash picked, VNI, ports, next hop's
 *             MAC), the inner packet (after any NAT), an ICMP error with
 *             its MTU
 *
 * Nothing is re-implemented: a change in the datapath is what explain
 * shows.  A run is a packet: it is counted in mg_stats (and mg_lbstats
 * when it goes to a service).  A new flow to a service creates its
 * conntrack entry (mg_ct4_v2) as the flow's first packet would: explain
 * deletes it again when it was not there before the run (its SNAT entry
 * in mg_rnat4 then names no live flow: its port is free, ct.h), so a real
 * flow of the same addresses and ports later is a new flow.  A flow that
 * was there is left as the run left it (a SYN on it moves nothing but its
 * expiry).  IPv4 only for now.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/icmp.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cli.h"
#include "meshgate/abi.h"
#include "meshgate/limits.h"
#include "meshgate/reasons.h"
#include "lib/out.h"
#include "lib/reasons.h"

#define FRAME_MAX 9216 /* the largest frame explain builds */
#define SPORT 40000 /* the client's source port */

struct explain_req {
	__u32 src, dst; /* network order; src 0: from the cluster */
	__u16 port; /* host order; 0: none (ICMP echo) */
	__u8 proto; /* IPPROTO_TCP, _UDP, _ICMP */
	unsigned int size; /* IP total length; 0: the least */
	__u16 sport; /* host order */
	char ifname[IF_NAMESIZE];
};

static int usage(void)
{
	fprintf(stderr,
		"usage: meshgate explain [from SRC] to DST[:PORT][/tcp|udp] "
		"[on IFACE] [sport N] [size BYTES]\n");
	return 2;
}

static int parse_dst(const char *s, struct explain_req *r)
{
	char buf[64], *p;

	snprintf(buf, sizeof(buf), "%s", s);
	r->proto = IPPROTO_ICMP;
	p = strchr(buf, '/');
	if (p) {
		*p++ = '\0';
		if (!strcmp(p, "tcp"))
			r->proto = IPPROTO_TCP;
		else if (!strcmp(p, "udp"))
			r->proto = IPPROTO_UDP;
		else
			return -1;
	}
	p = strchr(buf, ':');
	if (p) {
		char *end;
		long v;

		*p++ = '\0';
		v = strtol(p, &end, 10);
		if (*end || v < 1 || v > 65535)
			return -1;
		r->port = v;
		if (r->proto == IPPROTO_ICMP)
			r->proto = IPPROTO_TCP;
	} else if (r->proto != IPPROTO_ICMP) {
		return -1; /* a protocol wants a port */
	}
	return inet_pton(AF_INET, buf, &r->dst) == 1 ? 0 : -1;
}

static int parse_args(int argc, char **argv, struct explain_req *r)
{
	bool have_to = false;

	for (int i = 1; i < argc; i++) {
		const char *w = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return -1;
		if (!strcmp(w, "from")) {
			if (inet_pton(AF_INET, v, &r->src) != 1) {
				fprintf(stderr,
					"meshgate explain: from %s: not an "
					"IPv4 address (IPv6: not yet)\n",
					v);
				return -1;
			}
		} else if (!strcmp(w, "to")) {
			if (parse_dst(v, r)) {
				fprintf(stderr,
					"meshgate explain: to %s: want "
					"ADDR[:PORT][/tcp|udp], IPv4 (IPv6: not "
					"yet)\n",
					v);
				return -1;
			}
			have_to = true;
		} else if (!strcmp(w, "on")) {
			snprintf(r->ifname, sizeof(r->ifname), "%s", v);
		} else if (!strcmp(w, "sport")) {
			char *end;
			long n = strtol(v, &end, 10);

			if (*end || n < 1 || n > 65535) {
				fprintf(stderr,
					"meshgate explain: sport %s: want "
					"1..65535\n",
					v);
				return -1;
			}
			r->sport = n;
		} else if (!strcmp(w, "size")) {
			char *end;
			long n = strtol(v, &end, 10);

			if (*end || n < 20 || n > FRAME_MAX - ETH_HLEN) {
				fprintf(stderr,
					"meshgate explain: size %s: want "
					"20..%d\n",
					v, FRAME_MAX - ETH_HLEN);
				return -1;
			}
			r->size = n;
		} else {
			fprintf(stderr, "meshgate explain: unexpected '%s'\n",
				w);
			return -1;
		}
		i++;
	}
	return have_to ? 0 : -1;
}

/* --- the frame ---------------------------------------------------------------- */

static __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static __u32 csum_add(__u32 sum, const void *p, size_t len)
{
	const __u8 *b = p;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	return sum;
}

/* Ethernet + IPv4 (DF) + TCP SYN, UDP or ICMP echo; its length. */
static size_t build(__u8 *f, const struct explain_req *r, const __u8 *mac)
{
	static const __u8 src_mac[6] = { 0x02, 0x6d, 0x67, 0xee, 0x00, 0x01 };
	struct ethhdr *eth = (void *)f;
	struct iphdr *ip = (void *)(eth + 1);
	void *l4 = ip + 1;
	size_t l4min = r->proto == IPPROTO_TCP ? sizeof(struct tcphdr) :
		       r->proto == IPPROTO_UDP ? sizeof(struct udphdr) :
						 8;
	size_t tot = r->size ? r->size : sizeof(*ip) + l4min + 32;
	__u32 sum;

	if (tot < sizeof(*ip) + l4min)
		tot = sizeof(*ip) + l4min;
	memset(f, 0, ETH_HLEN + tot);
	memcpy(eth->h_dest, mac, 6);
	memcpy(eth->h_source, src_mac, 6);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(tot);
	ip->id = htons(0x6d67);
	ip->frag_off = htons(0x4000); /* DF, as a PMTU-discovering host */
	ip->ttl = 64;
	ip->protocol = r->proto;
	ip->saddr = r->src;
	ip->daddr = r->dst;
	ip->check = htons(csum_fold(csum_add(0, ip, sizeof(*ip))));
	/* The pseudo-header, then the whole L4 part. */
	sum = csum_add(0, &ip->saddr, 8) + r->proto + (tot - sizeof(*ip));
	if (r->proto == IPPROTO_TCP) {
		struct tcphdr *t = l4;

		t->source = htons(r->sport);
		t->dest = htons(r->port);
		t->seq = htonl(1);
		t->doff = 5;
		t->syn = 1;
		t->window = htons(64240);
		t->check =
			htons(csum_fold(csum_add(sum, l4, tot - sizeof(*ip))));
	} else if (r->proto == IPPROTO_UDP) {
		struct udphdr *u = l4;

		u->source = htons(r->sport);
		u->dest = htons(r->port);
		u->len = htons(tot - sizeof(*ip));
		u->check =
			htons(csum_fold(csum_add(sum, l4, tot - sizeof(*ip))));
	} else {
		struct icmphdr *c = l4;

		c->type = ICMP_ECHO;
		c->un.echo.id = htons(r->sport);
		c->un.echo.sequence = htons(1);
		c->checksum =
			htons(csum_fold(csum_add(0, l4, tot - sizeof(*ip))));
	}
	return ETH_HLEN + tot;
}

/* --- the program and the maps ---------------------------------------------- */

static int open_pin(const struct mg_cli *cli, const char *name)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/%s", cli->pin_dir, name);
	return bpf_obj_get(path);
}

/*
 * The interface (given, or the first of mg_ifs with the cluster role) and
 * its MAC as mg_ifs knows it.
 */
static int pick_iface(const struct mg_cli *cli, struct explain_req *r,
		      __u32 *ifindex, struct mg_if_val *iv)
{
	int fd = mg_cli_open_map(cli, "mg_ifs");
	__u32 key, next, best = 0;
	bool more;

	if (fd < 0)
		return -1;
	if (r->ifname[0]) {
		*ifindex = if_nametoindex(r->ifname);
		if (!*ifindex || bpf_map_lookup_elem(fd, ifindex, iv)) {
			fprintf(stderr,
				"meshgate explain: on %s: not an interface "
				"the datapath runs on (mg_ifs)\n",
				r->ifname);
			close(fd);
			return -1;
		}
		close(fd);
		return 0;
	}
	more = !bpf_map_get_next_key(fd, NULL, &next);
	for (int n = 0; more && n < MG_MAX_TX_IFACES; n++) {
		struct mg_if_val v;

		key = next;
		more = !bpf_map_get_next_key(fd, &key, &next);
		if (bpf_map_lookup_elem(fd, &key, &v) ||
		    !(v.roles & MG_IF_CLUSTER))
			continue;
		if (!best || key < best) {
			best = key;
			*iv = v;
		}
	}
	close(fd);
	if (!best || !if_indextoname(best, r->ifname)) {
		fprintf(stderr,
			"meshgate explain: no cluster-side interface in "
			"mg_ifs (is the agent set up?): name one with on IFACE\n");
		return -1;
	}
	*ifindex = best;
	return 0;
}

/* The program attached to ifname through the agent's pinned link. */
static int prog_of(const struct mg_cli *cli, const char *ifname, __u32 *id)
{
	struct bpf_link_info li = { 0 };
	__u32 len = sizeof(li);
	char name[IF_NAMESIZE + 8];
	int lfd, pfd;

	snprintf(name, sizeof(name), "link_%s", ifname);
	lfd = open_pin(cli, name);
	if (lfd < 0) {
		fprintf(stderr,
			"meshgate explain: %s/%s: %s (no meshgate XDP "
			"link on %s)\n",
			cli->pin_dir, name, strerror(errno), ifname);
		return -1;
	}
	if (bpf_obj_get_info_by_fd(lfd, &li, &len) || !li.prog_id) {
		fprintf(stderr, "meshgate explain: %s: not a link\n", name);
		close(lfd);
		return -1;
	}
	close(lfd);
	*id = li.prog_id;
	pfd = bpf_prog_get_fd_by_id(li.prog_id);
	if (pfd < 0)
		fprintf(stderr, "meshgate explain: program %u: %s\n",
			li.prog_id, strerror(errno));
	return pfd;
}

/* An address in the cluster's own prefixes (mg_local4): the client. */
static __u32 default_src(const struct mg_cli *cli)
{
	struct mg_ep4_key k;
	int fd = open_pin(cli, "mg_local4");
	__u32 a = 0;

	if (fd < 0)
		return 0;
	if (!bpf_map_get_next_key(fd, NULL, &k)) {
		a = ntohl(k.addr);
		a += k.prefixlen <= 24 ? 10 : k.prefixlen < 32 ? 1 : 0;
		a = htonl(a);
	}
	close(fd);
	return a;
}

/*
 * The conntrack entry of the run's flow (TCP, UDP); fd -1 when none can
 * be.  *had: it was there before.
 */
static int ct_before(const struct mg_cli *cli, const struct explain_req *r,
		     struct mg_ct4_key *k, bool *had)
{
	struct mg_ct4_val v;
	int fd;

	if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		return -1;
	memset(k, 0, sizeof(*k));
	k->saddr = r->src;
	k->daddr = r->dst;
	k->sport = htons(r->sport);
	k->dport = htons(r->port);
	k->proto = r->proto;
	fd = open_pin(cli, "mg_ct4_v2");
	if (fd >= 0)
		*had = !bpf_map_lookup_elem(fd, k, &v);
	return fd;
}

/* This CPU's mg_stats packets, every slot. */
static int stats_here(int fd, int ncpu, int cpu, __u64 *out)
{
	struct mg_stat per[ncpu];

	for (__u32 r = 0; r < MG_STATS_SLOTS; r++) {
		if (bpf_map_lookup_elem(fd, &r, per))
			return -errno;
		out[r] = per[cpu].packets;
	}
	return 0;
}

/* --- decoding ---------------------------------------------------------------- */

static const char *verdict_name(__u32 v)
{
	static const char *const n[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS",
					 "XDP_TX", "XDP_REDIRECT" };

	return v < 5 ? n[v] : "?";
}

static void addr_out(const char *key, const char *fmt, __u32 a)
{
	char s[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, s, sizeof(s));
	out_str(key, fmt, s);
}

static void mac_out(const char *key, const char *fmt, const __u8 *m)
{
	char s[18];

	snprintf(s, sizeof(s), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
		 m[2], m[3], m[4], m[5]);
	out_str(key, fmt, s);
}

static const char *proto_name(__u8 p)
{
	return p == IPPROTO_TCP	 ? "tcp" :
	       p == IPPROTO_UDP	 ? "udp" :
	       p == IPPROTO_ICMP ? "icmp" :
				   "?";
}

/* An IPv4 packet at p (len bytes): addresses, protocol, ports or ICMP. */
static const __u8 *ip_out(const char *key, const __u8 *p, size_t len,
			  const struct udphdr **udp_out)
{
	const struct iphdr *ip = (const void *)p;
	const __u8 *l4;

	*udp_out = NULL;
	if (len < sizeof(*ip) || ip->version != 4 || ip->ihl * 4u > len)
		return NULL;
	l4 = p + ip->ihl * 4;
	out_obj_open(key);
	addr_out("src", " %s", ip->saddr);
	addr_out("dst", " > %s", ip->daddr);
	out_str("proto", " %s", proto_name(ip->protocol));
	out_u64("length", " len %llu", ntohs(ip->tot_len));
	out_u64("ttl", " ttl %llu", ip->ttl);
	if ((ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) &&
	    l4 + 4 <= p + len) {
		const struct udphdr *u = (const void *)l4;

		out_u64("sport", " ports %llu", ntohs(u->source));
		out_u64("dport", " > %llu", ntohs(u->dest));
		if (ip->protocol == IPPROTO_UDP && l4 + sizeof(*u) <= p + len)
			*udp_out = u;
	} else if (ip->protocol == IPPROTO_ICMP && l4 + 8 <= p + len) {
		const struct icmphdr *c = (const void *)l4;

		out_u64("icmp_type", " type %llu", c->type);
		out_u64("icmp_code", " code %llu", c->code);
		if (c->type == ICMP_DEST_UNREACH && c->code == ICMP_FRAG_NEEDED)
			out_u64("mtu", " (fragmentation needed, mtu %llu)",
				ntohs(c->un.frag.mtu));
	}
	out_obj_close();
	return l4;
}

/* The frame the program left: outer headers, VXLAN, the inner packet. */
static void frame_out(const __u8 *f, size_t len)
{
	const struct ethhdr *eth = (const void *)f;
	const struct udphdr *udp;
	const __u8 *l4, *end = f + len;

	if (len < ETH_HLEN || eth->h_proto != htons(ETH_P_IP))
		return;
	out_text("\n  output  ");
	out_obj_open("output");
	mac_out("eth_src", "eth %s", eth->h_source);
	mac_out("eth_dst", " > %s\n          ", eth->h_dest);
	l4 = ip_out("ip", f + ETH_HLEN, len - ETH_HLEN, &udp);
	/* VXLAN: the I flag, then an Ethernet frame. */
	if (l4 && udp && l4 + 8 + 8 + ETH_HLEN <= end && l4[8] == 0x08) {
		const __u8 *vx = l4 + 8;
		const struct ethhdr *in = (const void *)(vx + 8);
		const struct udphdr *iu;

		out_u64("vni", "\n          vxlan vni %llu",
			(vx[4] << 16) | (vx[5] << 8) | vx[6]);
		mac_out("inner_eth_src", " eth %s", in->h_source);
		mac_out("inner_eth_dst", " > %s\n          inner", in->h_dest);
		if (in->h_proto == htons(ETH_P_IP))
			ip_out("inner", (const __u8 *)(in + 1),
			       end - (const __u8 *)(in + 1), &iu);
	}
	out_obj_close();
}

/* What the maps say of the destination: endpoint, cluster, service. */
static void maps_out(const struct mg_cli *cli, const struct explain_req *r)
{
	struct mg_ep4_key k = { .prefixlen = 32, .addr = r->dst };
	struct mg_ep_val ep;
	int fd = open_pin(cli, "mg_ep4");

	if (fd >= 0 && !bpf_map_lookup_elem(fd, &k, &ep)) {
		struct mg_cluster_val cv;
		__u32 cid = ep.cluster_id;
		int cfd;

		out_obj_open("endpoint");
		out_u64("cluster_id", "\n  endpoint cluster %llu",
			ep.cluster_id);
		out_bool("local", " (local: %s)", ep.flags & MG_EP_F_LOCAL);
		out_obj_close();
		cfd = open_pin(cli, "mg_clus");
		if (cfd >= 0 && !(ep.flags & MG_EP_F_LOCAL) &&
		    !bpf_map_lookup_elem(cfd, &cid, &cv)) {
			out_text("\n  cluster %u: %u live gateway(s)", cid,
				 cv.n_gw);
			out_arr_open("cluster_gateways");
			for (int i = 0; i < cv.n_gw && i < MG_CLUSTER_GW_MAX;
			     i++)
				if (cv.gw[i].family == MG_AF_INET)
					addr_out(NULL, " %s",
						 *(__u32 *)cv.gw[i].addr);
			out_arr_close();
		}
		if (cfd >= 0)
			close(cfd);
	} else {
		out_text("\n  endpoint none (not a mesh address)");
	}
	if (fd >= 0)
		close(fd);
	fd = open_pin(cli, "mg_svc");
	if (fd >= 0 && r->port) {
		struct mg_svc_key sk = { .vip = r->dst,
					 .port = htons(r->port),
					 .proto = r->proto };
		struct mg_svc_val sv;

		if (!bpf_map_lookup_elem(fd, &sk, &sv))
			out_u64("service_id", "\n  service id %llu (mg_svc)",
				sv.id);
	}
	if (fd >= 0)
		close(fd);
}

int cmd_explain(struct mg_cli *cli, int argc, char **argv)
{
	struct explain_req r = { 0 };
	static __u8 in[FRAME_MAX], outf[FRAME_MAX + 256];
	__u64 before[MG_STATS_SLOTS], after[MG_STATS_SLOTS];
	struct mg_ct4_key ctk;
	struct mg_ct4_val ctv;
	bool ct_had = true, ct_removed = false;
	int ctfd = -1;
	struct xdp_md ctx = { 0 };
	struct mg_if_val iv;
	int ncpu = libbpf_num_possible_cpus(), cpu, pfd, sfd, moved = 0;
	int reason = -1;
	__u32 ifindex, prog_id;
	cpu_set_t set;
	size_t len;
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	r.sport = SPORT;
	if (parse_args(argc, argv, &r))
		return usage();
	if (pick_iface(cli, &r, &ifindex, &iv))
		return 1;
	if (!r.src && !(r.src = default_src(cli))) {
		fprintf(stderr,
			"meshgate explain: no local prefix in mg_local4: "
			"give from SRC\n");
		return 1;
	}
	pfd = prog_of(cli, r.ifname, &prog_id);
	if (pfd < 0)
		return 1;
	sfd = mg_cli_open_map(cli, "mg_stats");
	if (sfd < 0 || ncpu <= 0) {
		close(pfd);
		return 1;
	}
	/* One CPU: the run and the counters read around it. */
	cpu = sched_getcpu();
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (cpu < 0 || cpu >= ncpu || sched_setaffinity(0, sizeof(set), &set)) {
		fprintf(stderr,
			"meshgate explain: cannot stay on one CPU: %s\n",
			strerror(errno));
		goto fail;
	}
	len = build(in, &r, iv.mac);
	ctx.data_end = len;
	ctx.ingress_ifindex = ifindex;
	opts.data_in = in;
	opts.data_size_in = len;
	opts.data_out = outf;
	opts.data_size_out = sizeof(outf);
	opts.ctx_in = &ctx;
	opts.ctx_size_in = sizeof(ctx);
	opts.repeat = 1;
	ctfd = ct_before(cli, &r, &ctk, &ct_had);
	if (stats_here(sfd, ncpu, cpu, before))
		goto fail_stats;
	if (bpf_prog_test_run_opts(pfd, &opts)) {
		fprintf(stderr, "meshgate explain: BPF_PROG_TEST_RUN: %s\n",
			strerror(errno));
		goto fail;
	}
	if (stats_here(sfd, ncpu, cpu, after))
		goto fail_stats;
	if (ctfd >= 0 && !ct_had && !bpf_map_lookup_elem(ctfd, &ctk, &ctv))
		ct_removed = !bpf_map_delete_elem(ctfd, &ctk);
	for (int i = 0; i < MG_STATS_SLOTS; i++)
		if (after[i] != before[i]) {
			moved++;
			if (reason < 0)
				reason = i;
		}
	close(sfd);
	close(pfd);

	out_obj_open(NULL);
	addr_out("src", "packet  %s", r.src);
	addr_out("dst", " > %s", r.dst);
	out_str("proto", " %s", proto_name(r.proto));
	if (r.port)
		out_u64("port", " port %llu", r.port);
	out_u64("size", " size %llu", len - ETH_HLEN);
	out_str("interface", " on %s", r.ifname);
	out_u64("program_id", " (program %llu)\n", prog_id);
	out_str("verdict", "  verdict %s", verdict_name(opts.retval));
	if (reason >= 0 && moved == 1) {
		out_str("reason", ", reason %s", mg_reason_name(reason));
		out_str("class",
			" (%s:", mg_reason_class_name(mg_reason_class(reason)));
		out_str("reason_desc", " %s)", mg_reason_desc(reason));
	} else {
		out_str("reason", ", reason %s",
			moved ? "ambiguous" : "unknown");
		out_text(" (%d counters moved on CPU %d: other traffic there; "
			 "run it again)",
			 moved, cpu);
	}
	maps_out(cli, &r);
	if (opts.retval == XDP_TX || opts.retval == XDP_REDIRECT)
		frame_out(outf, opts.data_size_out);
	if (ctfd >= 0) {
		out_bool("ct_existed",
			 "\n  conntrack  the flow was tracked before: %s",
			 ct_had);
		out_bool("ct_removed", "; the run's new entry removed: %s",
			 ct_removed);
		close(ctfd);
	}
	out_text("\n");
	out_obj_close();
	out_finish();
	return 0;
fail_stats:
	fprintf(stderr, "meshgate explain: mg_stats: %s\n", strerror(errno));
fail:
	if (ctfd >= 0)
		close(ctfd);
	close(sfd);
	close(pfd);
	return 1;
}
