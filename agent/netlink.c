// SPDX-License-Identifier: GPL-2.0-only
/*
 * rtnetlink for the agent: next-hop resolution for the datapath's mg_nh4
 * entries, kernel-managed neighbours, interface lookups and change events.
 *
 * Two sockets: a blocking one for request/reply (every request asks for an
 * ACK, so a reply always ends with NLMSG_ERROR and the read loop knows when
 * to stop) and a non-blocking one subscribed to the multicast groups, for
 * the agent's epoll loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <net/if.h>		/* before linux/if.h: libc-compat */
#include <netinet/in.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/veth.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "netlink.h"
#include "lib/log.h"

_Static_assert(MG_NL_IFNAMSIZ == IFNAMSIZ, "MG_NL_IFNAMSIZ");

#define NL_BUF_SIZE	32768
/* Request buffers start zeroed: libmnl leaves attribute padding as is. */
#define NL_REQ_SIZE	512
#define NL_RCV_TIMEOUT	2	/* s; rtnetlink replies synchronously */
#define NL_EV_RCVBUF	(4 << 20)	/* rides out bursts of events */
#define DISCARD_PORT	9

/* States whose link-layer address may be used (the kernel's NUD_VALID). */
#define NUD_RESOLVED	(NUD_REACHABLE | NUD_STALE | NUD_DELAY | \
			 NUD_PROBE | NUD_PERMANENT | NUD_NOARP)

struct mg_nl {
	struct mnl_socket *req;
	struct mnl_socket *ev;
	unsigned int portid;
	unsigned int seq;
	bool dirty;		/* a reply may be left unread on req */
	/* Messages are parsed in place: nlmsghdr and attributes need
	 * NLMSG_ALIGNTO, and an attribute payload may be read as a u64. */
	char buf[NL_BUF_SIZE] __attribute__((aligned(8)));
};

/* --- addresses ------------------------------------------------------------ */

static int sys_family(__u8 mg_family)
{
	switch (mg_family) {
	case MG_AF_INET:
		return AF_INET;
	case MG_AF_INET6:
		return AF_INET6;
	default:
		return -EAFNOSUPPORT;
	}
}

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Fills @addr from a kernel attribute payload; false if the size is wrong. */
static bool addr_set(struct mg_addr *addr, int family, const void *data,
		     size_t len)
{
	if (family != AF_INET && family != AF_INET6)
		return false;
	if (len != addr_len(family))
		return false;
	memset(addr, 0, sizeof(*addr));
	addr->family = family == AF_INET ? MG_AF_INET : MG_AF_INET6;
	memcpy(addr->addr, data, len);
	return true;
}

/* --- request / reply ------------------------------------------------------ */

struct talk {
	int err;		/* from the closing NLMSG_ERROR */
	mnl_cb_t cb;
	void *data;
};

static int talk_extack_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		*(const char **)data = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

static int talk_error_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct talk *t = data;
	const char *msg = NULL;
	unsigned int off;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		t->err = -EBADMSG;
		return MNL_CB_STOP;
	}
	t->err = e->error;
	if (e->error && (nlh->nlmsg_flags & NLM_F_ACK_TLVS)) {
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (mnl_nlmsg_size(off) <= nlh->nlmsg_len)
			mnl_attr_parse(nlh, off, talk_extack_cb, &msg);
		if (msg)
			pr_debug("netlink: %s (%s)", msg, strerror(-e->error));
	}
	return MNL_CB_STOP;
}

static int talk_stop_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_STOP;
}

static int talk_data_cb(const struct nlmsghdr *nlh, void *data)
{
	struct talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

/* Not const: mnl_cb_run2() takes a plain pointer. */
static mnl_cb_t talk_ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = talk_error_cb,
	[NLMSG_DONE] = talk_stop_cb,
};

static void nl_drain(struct mg_nl *nl)
{
	int fd = mnl_socket_get_fd(nl->req);

	while (recv(fd, nl->buf, sizeof(nl->buf), MSG_DONTWAIT) >= 0 ||
	       errno == EINTR)
		;
	nl->dirty = false;
}

/*
 * Sends @nlh (an ACK is always asked for) and feeds the reply to @cb until
 * the closing ACK or error.  @cb must not fail: it records problems in
 * @data, so the whole reply is always consumed.  Returns the kernel's
 * -errno, or 0.
 */
static int nl_talk(struct mg_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb,
		   void *data)
{
	struct talk t = { .err = 0, .cb = cb, .data = data };
	int ret = MNL_CB_OK;
	unsigned int seq;
	ssize_t n;

	if (nl->dirty)
		nl_drain(nl);
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq = ++nl->seq;
	if (mnl_socket_sendto(nl->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;

	nl->dirty = true;
	do {
		n = mnl_socket_recvfrom(nl->req, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return -errno;
		}
		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, talk_data_cb,
				  &t, talk_ctl_cbs, NLMSG_MIN_TYPE);
		if (ret < 0)
			return -errno;
	} while (ret > MNL_CB_STOP);
	nl->dirty = false;
	return t.err;
}

/* --- open / close --------------------------------------------------------- */

static int nl_setopt(struct mnl_socket *s, int opt)
{
	int one = 1;

	return mnl_socket_setsockopt(s, opt, &one, sizeof(one));
}

static int open_req(struct mg_nl *nl)
{
	struct timeval tv = { .tv_sec = NL_RCV_TIMEOUT };

	nl->req = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->req)
		return -errno;
	if (mnl_socket_bind(nl->req, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	nl->portid = mnl_socket_get_portid(nl->req);
	/* Kernel error strings for the logs; strict checks on GET requests. */
	nl_setopt(nl->req, NETLINK_CAP_ACK);
	nl_setopt(nl->req, NETLINK_EXT_ACK);
	nl_setopt(nl->req, NETLINK_GET_STRICT_CHK);
	if (setsockopt(mnl_socket_get_fd(nl->req), SOL_SOCKET, SO_RCVTIMEO,
		       &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static int open_ev(struct mg_nl *nl)
{
	static const int groups[] = {
		RTNLGRP_LINK, RTNLGRP_NEIGH,
		RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE,
	};
	int rcvbuf = NL_EV_RCVBUF;
	unsigned int i;
	int fd, grp;

	nl->ev = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!nl->ev)
		return -errno;
	if (mnl_socket_bind(nl->ev, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		grp = groups[i];
		if (mnl_socket_setsockopt(nl->ev, NETLINK_ADD_MEMBERSHIP,
					  &grp, sizeof(grp)) < 0)
			return -errno;
	}
	/* Best effort: FORCE needs CAP_NET_ADMIN, plain RCVBUF is capped. */
	fd = mnl_socket_get_fd(nl->ev);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
		       sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	return 0;
}

struct mg_nl *mg_nl_open(void)
{
	struct mg_nl *nl;
	int err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return NULL;
	err = open_req(nl);
	if (!err)
		err = open_ev(nl);
	if (err) {
		pr_err("netlink: cannot open rtnetlink sockets: %s",
		       strerror(-err));
		mg_nl_close(nl);
		errno = -err;
		return NULL;
	}
	return nl;
}

void mg_nl_close(struct mg_nl *nl)
{
	if (!nl)
		return;
	if (nl->ev)
		mnl_socket_close(nl->ev);
	if (nl->req)
		mnl_socket_close(nl->req);
	free(nl);
}

int mg_nl_event_fd(const struct mg_nl *nl)
{
	return mnl_socket_get_fd(nl->ev);
}

/* --- links ---------------------------------------------------------------- */

int mg_nl_ifindex(const char *name)
{
	unsigned int idx;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	idx = if_nametoindex(name);
	if (!idx)
		return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
	return idx;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct mg_nl_link *link = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
			snprintf(link->name, sizeof(link->name), "%s",
				 mnl_attr_get_str(attr));
		break;
	case IFLA_ADDRESS:
		if (mnl_attr_get_payload_len(attr) == sizeof(link->mac)) {
			memcpy(link->mac, mnl_attr_get_payload(attr),
			       sizeof(link->mac));
			link->mac_ok = true;
		}
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			link->mtu = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static bool link_is_up(unsigned int flags)
{
	return (flags & IFF_UP) && (flags & IFF_LOWER_UP);
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct mg_nl_link *link = data;

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifi)))
		return MNL_CB_OK;
	link->ifindex = ifi->ifi_index;
	link->flags = ifi->ifi_flags;
	link->up = link_is_up(ifi->ifi_flags);
	mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, link);
	return MNL_CB_OK;
}

int mg_nl_link_get(struct mg_nl *nl, int ifindex, struct mg_nl_link *link)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int err;

	if (ifindex <= 0)
		return -ENODEV;
	memset(link, 0, sizeof(*link));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

	err = nl_talk(nl, nlh, link_cb, link);
	if (!err && link->ifindex != ifindex)
		err = -ENODEV;
	return err;
}

/* --- routes --------------------------------------------------------------- */

struct route {
	unsigned char type;	/* RTN_* */
	int family;		/* of the destination */
	int oif;
	struct mg_addr gw;	/* family 0 when directly connected */
	unsigned int mtu;	/* route MTU metric, 0 when none */
};

static int route_metric_cb(const struct nlattr *attr, void *data)
{
	if (mnl_attr_get_type(attr) == RTAX_MTU &&
	    mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
		*(unsigned int *)data = mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	const struct rtvia *via;
	struct route *rt = data;
	size_t len = mnl_attr_get_payload_len(attr);

	switch (mnl_attr_get_type(attr)) {
	case RTA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			rt->oif = mnl_attr_get_u32(attr);
		break;
	case RTA_GATEWAY:
		addr_set(&rt->gw, rt->family, mnl_attr_get_payload(attr), len);
		break;
	case RTA_VIA:	/* IPv4 route with an IPv6 next hop (RFC 5549) */
		via = mnl_attr_get_payload(attr);
		if (len >= sizeof(*via))
			addr_set(&rt->gw, via->rtvia_family, via->rtvia_addr,
				 len - sizeof(*via));
		break;
	case RTA_METRICS:
		mnl_attr_parse_nested(attr, route_metric_cb, &rt->mtu);
		break;
	}
	return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct route *rt = data;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
		return MNL_CB_OK;
	rt->type = rtm->rtm_type;
	mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, rt);
	return MNL_CB_OK;
}

/* The route the kernel would use for a packet it sends to @dst itself. */
static int route_get(struct mg_nl *nl, int family, const void *dst,
		     struct route *rt)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	memset(rt, 0, sizeof(*rt));
	rt->family = family;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = addr_len(family) * 8;
	mnl_attr_put(nlh, RTA_DST, addr_len(family), dst);

	return nl_talk(nl, nlh, route_cb, rt);
}

/* --- route dumps ---------------------------------------------------------- */

struct dump {
	__u32 table;
	__u8 protocol;
	mg_nl_route_cb cb;
	void *arg;
	int n;
};

struct dump_attrs {
	__u32 table;
	const void *dst;
	size_t dst_len;
};

static int dump_attr_cb(const struct nlattr *attr, void *data)
{
	struct dump_attrs *a = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_TABLE:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			a->table = mnl_attr_get_u32(attr);
		break;
	case RTA_DST:
		a->dst = mnl_attr_get_payload(attr);
		a->dst_len = mnl_attr_get_payload_len(attr);
		break;
	}
	return MNL_CB_OK;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct dump *d = data;
	struct dump_attrs a = { 0 };
	struct mg_prefix pfx;

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
		return MNL_CB_OK;
	if (rtm->rtm_type != RTN_UNICAST || !rtm->rtm_dst_len ||
	    (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6))
		return MNL_CB_OK;
	a.table = rtm->rtm_table;
	mnl_attr_parse(nlh, sizeof(*rtm), dump_attr_cb, &a);
	if (!((d->table && a.table == d->table) ||
	      (d->protocol && rtm->rtm_protocol == d->protocol)))
		return MNL_CB_OK;
	/* Our own routes to remote prefixes are never local endpoints. */
	if (rtm->rtm_protocol == MG_NL_RTPROT && d->protocol != MG_NL_RTPROT)
		return MNL_CB_OK;
	memset(&pfx, 0, sizeof(pfx));
	if (!a.dst || !addr_set(&pfx.addr, rtm->rtm_family, a.dst, a.dst_len))
		return MNL_CB_OK;
	pfx.len = rtm->rtm_dst_len;
	if (pfx.len > addr_len(rtm->rtm_family) * 8)
		return MNL_CB_OK;
	d->cb(&pfx, d->arg);
	d->n++;
	return MNL_CB_OK;
}

int mg_nl_routes(struct mg_nl *nl, __u32 table, __u8 protocol,
		 mg_nl_route_cb cb, void *arg)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	struct dump d = { table, protocol, cb, arg, 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int err;

	if (!table && !protocol)
		return 0;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_DUMP;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_UNSPEC;
	err = nl_talk(nl, nlh, dump_cb, &d);
	return err ? err : d.n;
}

/* --- the host's own device and routes -------------------------------------- */

static int link_flags_up(struct mg_nl *nl, int ifindex, unsigned int flags,
			 unsigned int mtu)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = flags;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return nl_talk(nl, nlh, NULL, NULL);
}

/* A new link of kind (dummy or veth: its peer is <name>p). */
static int link_add(struct mg_nl *nl, const char *name, const char *kind,
		    unsigned int mtu)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	char peer[IFNAMSIZ];
	struct nlattr *info, *data, *p;
	struct nlmsghdr *nlh;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	if (!strcmp(kind, "veth")) {
		if (snprintf(peer, sizeof(peer), "%sp", name) >=
		    (int)sizeof(peer))
			return -ENAMETOOLONG;
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		p = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
		mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
		mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
		mnl_attr_nest_end(nlh, p);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nl, nlh, NULL, NULL);
}

int mg_nl_host_dev(struct mg_nl *nl, const char *name, unsigned int mtu)
{
	char peer[IFNAMSIZ];
	int idx, err;

	idx = mg_nl_ifindex(name);
	if (idx == -ENODEV) {
		err = link_add(nl, name, "dummy", mtu);
		/* A kernel without dummy devices: one end of a veth pair. */
		if (err == -EOPNOTSUPP)
			err = link_add(nl, name, "veth", mtu);
		if (err && err != -EEXIST)
			return err;
		idx = mg_nl_ifindex(name);
	}
	if (idx < 0)
		return idx;
	/* A veth's peer up too, or the device has no carrier. */
	snprintf(peer, sizeof(peer), "%sp", name);
	err = mg_nl_ifindex(peer);
	if (err > 0 && (err = link_flags_up(nl, err, IFF_UP, mtu)))
		return err;
	err = link_flags_up(nl, idx, IFF_UP | IFF_NOARP, mtu);
	return err ? err : idx;
}

int mg_nl_link_del(struct mg_nl *nl, int ifindex)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_DELLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_index = ifindex;
	return nl_talk(nl, nlh, NULL, NULL);
}

int mg_nl_route(struct mg_nl *nl, bool add, const struct mg_prefix *pfx,
		int ifindex, const struct mg_addr *src)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	int family = sys_family(pfx->addr.family);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (family < 0)
		return family;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = add ? RTM_NEWROUTE : RTM_DELROUTE;
	/* Never over a route of someone else's for the same prefix. */
	nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = family;
	rtm->rtm_dst_len = pfx->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = MG_NL_RTPROT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	mnl_attr_put(nlh, RTA_DST, addr_len(family), pfx->addr.addr);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	if (add && src && src->family == pfx->addr.family)
		mnl_attr_put(nlh, RTA_PREFSRC, addr_len(family), src->addr);
	return nl_talk(nl, nlh, NULL, NULL);
}

/* --- neighbours ----------------------------------------------------------- */

struct neigh {
	bool found;
	__u16 state;		/* NUD_* */
	__u32 flags_ext;	/* NTF_EXT_* */
	__u8 lladdr[6];
	bool lladdr_ok;
};

static int neigh_attr_cb(const struct nlattr *attr, void *data)
{
	struct neigh *ne = data;

	switch (mnl_attr_get_type(attr)) {
	case NDA_LLADDR:
		if (mnl_attr_get_payload_len(attr) == sizeof(ne->lladdr)) {
			memcpy(ne->lladdr, mnl_attr_get_payload(attr),
			       sizeof(ne->lladdr));
			ne->lladdr_ok = true;
		}
		break;
	case NDA_FLAGS_EXT:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			ne->flags_ext = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static int neigh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
	struct neigh *ne = data;

	if (nlh->nlmsg_type != RTM_NEWNEIGH ||
	    nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ndm)))
		return MNL_CB_OK;
	ne->found = true;
	ne->state = ndm->ndm_state;
	mnl_attr_parse(nlh, sizeof(*ndm), neigh_attr_cb, ne);
	return MNL_CB_OK;
}

static struct nlmsghdr *neigh_msg(char *buf, __u16 type, int ifindex,
				  int family, const struct mg_addr *addr)
{
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
	ndm->ndm_family = family;
	ndm->ndm_ifindex = ifindex;
	mnl_attr_put(nlh, NDA_DST, addr_len(family), addr->addr);
	return nlh;
}

/* @ne->found is false (and 0 returned) when there is no entry. */
static int neigh_get(struct mg_nl *nl, int ifindex, const struct mg_addr *addr,
		     struct neigh *ne)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	int family = sys_family(addr->family);
	int err;

	memset(ne, 0, sizeof(*ne));
	if (family < 0)
		return family;
	err = nl_talk(nl, neigh_msg(buf, RTM_GETNEIGH, ifindex, family, addr),
		      neigh_cb, ne);
	return err == -ENOENT ? 0 : err;
}

/* --- resolution ----------------------------------------------------------- */

int mg_nl_resolve(struct mg_nl *nl, const struct mg_addr *dst,
		  struct mg_nl_hop *hop)
{
	int family = sys_family(dst->family);
	struct mg_nl_link link;
	struct route rt;
	struct neigh ne;
	int err;

	memset(hop, 0, sizeof(*hop));
	if (family < 0)
		return family;

	err = route_get(nl, family, dst->addr, &rt);
	switch (err) {
	case 0:
		break;
	case -ENETUNREACH:
	case -EHOSTUNREACH:
	case -EACCES:	/* prohibit */
	case -EINVAL:	/* IPv4 blackhole */
		return -EHOSTUNREACH;
	default:
		return err;
	}
	if (rt.type != RTN_UNICAST || rt.oif <= 0)
		return -EHOSTUNREACH;
	hop->ifindex = rt.oif;
	hop->via = rt.gw.family ? rt.gw : *dst;

	err = mg_nl_link_get(nl, rt.oif, &link);
	if (err)
		return err;
	hop->mtu = rt.mtu && rt.mtu < link.mtu ? rt.mtu : link.mtu;
	if (!link.mac_ok)
		return -EOPNOTSUPP;

	err = neigh_get(nl, rt.oif, &hop->via, &ne);
	if (err)
		return err;
	if (!ne.found || !(ne.state & NUD_RESOLVED) || !ne.lladdr_ok)
		return -EAGAIN;

	hop->val.ifindex = rt.oif;
	hop->val.mtu = hop->mtu > 0xffff ? 0xffff : hop->mtu;
	memcpy(hop->val.smac, link.mac, sizeof(hop->val.smac));
	memcpy(hop->val.dmac, ne.lladdr, sizeof(hop->val.dmac));
	return 0;
}

static int resolve_out(struct mg_nl *nl, const struct mg_addr *dst,
		       struct mg_nh_val *out)
{
	struct mg_nl_hop hop;
	int err;

	err = mg_nl_resolve(nl, dst, &hop);
	if (!err)
		*out = hop.val;
	return err;
}

int mg_nl_resolve4(struct mg_nl *nl, __u32 dst_be, struct mg_nh_val *out)
{
	struct mg_addr dst = { .family = MG_AF_INET, .addr = { dst_be } };

	return resolve_out(nl, &dst, out);
}

int mg_nl_resolve6(struct mg_nl *nl, const __u8 dst[16],
		   struct mg_nh_val *out)
{
	struct mg_addr addr = { .family = MG_AF_INET6 };

	memcpy(addr.addr, dst, sizeof(addr.addr));
	return resolve_out(nl, &addr, out);
}

/* --- managed neighbours --------------------------------------------------- */

/*
 * Pre-5.16 fallback: sending to @via makes the kernel queue the datagram on
 * @via's neighbour entry and start ARP / neighbour discovery.  The socket is
 * not bound to @ifindex (only a link-local IPv6 @via needs it, as the scope):
 * the kernel routes the datagram like any other, which is the path the
 * route lookup in mg_nl_resolve() chose.  Port 9 is discard; nothing answers
 * that matters.
 */
static int neigh_poke(int ifindex, const struct mg_addr *via)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr *sa;
	socklen_t salen;
	int fd, err = 0;

	if (via->family == MG_AF_INET) {
		sin.sin_port = htons(DISCARD_PORT);
		sin.sin_addr.s_addr = via->addr[0];
		sa = (struct sockaddr *)&sin;
		salen = sizeof(sin);
	} else {
		sin6.sin6_port = htons(DISCARD_PORT);
		memcpy(&sin6.sin6_addr, via->addr, sizeof(sin6.sin6_addr));
		if (IN6_IS_ADDR_LINKLOCAL(&sin6.sin6_addr))
			sin6.sin6_scope_id = ifindex;
		sa = (struct sockaddr *)&sin6;
		salen = sizeof(sin6);
	}

	fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0)
		return -errno;
	if (connect(fd, sa, salen) < 0 || send(fd, "", 0, 0) < 0)
		err = -errno;
	close(fd);
	return err;
}

int mg_nl_neigh_manage(struct mg_nl *nl, int ifindex,
		       const struct mg_addr *via)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	int family = sys_family(via->family);
	struct nlmsghdr *nlh;
	struct ndmsg *ndm;
	struct neigh ne;
	bool keep;
	int err;

	if (family < 0)
		return family;
	if (ifindex <= 0)
		return -ENODEV;

	err = neigh_get(nl, ifindex, via, &ne);
	if (err)
		return err;
	/* Managing a PERMANENT entry would make it a dynamic one. */
	if (ne.found && ((ne.flags_ext & NTF_EXT_MANAGED) ||
			 (ne.state & (NUD_PERMANENT | NUD_NOARP))))
		return 0;

	/*
	 * With the managed flag the kernel ignores the requested state: a
	 * valid entry keeps its address and state, anything else is resolved
	 * right away (neigh_add(), __neigh_update()).  A kernel that ignores
	 * the flag applies the state, so a valid entry is handed over as
	 * STALE with its own address rather than wiped to NONE.
	 */
	keep = ne.found && (ne.state & NUD_RESOLVED) && ne.lladdr_ok;
	nlh = neigh_msg(buf, RTM_NEWNEIGH, ifindex, family, via);
	nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	ndm = mnl_nlmsg_get_payload(nlh);
	ndm->ndm_state = keep ? NUD_STALE : NUD_NONE;
	if (keep)
		mnl_attr_put(nlh, NDA_LLADDR, sizeof(ne.lladdr), ne.lladdr);
	mnl_attr_put_u32(nlh, NDA_FLAGS_EXT, NTF_EXT_MANAGED);

	err = nl_talk(nl, nlh, NULL, NULL);
	if (err == -EINVAL || err == -EOPNOTSUPP) {
		pr_debug("netlink: no managed neighbours (%s), poking instead",
			 strerror(-err));
		return neigh_poke(ifindex, via);
	}
	if (err)
		return err;

	/* Kernels before 5.16 ignore NDA_FLAGS_EXT instead of failing. */
	err = neigh_get(nl, ifindex, via, &ne);
	if (err)
		return err;
	if (!(ne.flags_ext & NTF_EXT_MANAGED))
		return neigh_poke(ifindex, via);
	return 0;
}

int mg_nl_neigh_manage4(struct mg_nl *nl, int ifindex, __u32 nexthop_be)
{
	struct mg_addr via = { .family = MG_AF_INET, .addr = { nexthop_be } };

	return mg_nl_neigh_manage(nl, ifindex, &via);
}

/* --- events --------------------------------------------------------------- */

struct ev_ctx {
	mg_nl_event_cb cb;
	void *arg;
	int count;
};

static void ev_emit(struct ev_ctx *ctx, const struct mg_nl_event *ev)
{
	ctx->cb(ev, ctx->arg);
	ctx->count++;
}

static int ev_link_attr_cb(const struct nlattr *attr, void *data)
{
	struct mg_nl_event *ev = data;

	if (mnl_attr_get_type(attr) == IFLA_IFNAME &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		snprintf(ev->ifname, sizeof(ev->ifname), "%s",
			 mnl_attr_get_str(attr));
	return MNL_CB_OK;
}

static void ev_link(const struct nlmsghdr *nlh, struct mg_nl_event *ev)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_type == RTM_DELLINK)
		ev->type = MG_NL_EV_LINK_DEL;
	else if (link_is_up(ifi->ifi_flags))
		ev->type = MG_NL_EV_LINK_UP;
	else
		ev->type = MG_NL_EV_LINK_DOWN;
	ev->ifindex = ifi->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifi), ev_link_attr_cb, ev);
}

static int ev_neigh_attr_cb(const struct nlattr *attr, void *data)
{
	struct mg_nl_event *ev = data;

	if (mnl_attr_get_type(attr) == NDA_DST)
		addr_set(&ev->addr, ev->family, mnl_attr_get_payload(attr),
			 mnl_attr_get_payload_len(attr));
	return MNL_CB_OK;
}

static bool ev_neigh(const struct nlmsghdr *nlh, struct mg_nl_event *ev)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return false;	/* bridge FDB and the like */
	ev->type = MG_NL_EV_NEIGH_CHANGE;
	ev->family = ndm->ndm_family;
	ev->ifindex = ndm->ndm_ifindex;
	ev->prefixlen = addr_len(ev->family) * 8;
	mnl_attr_parse(nlh, sizeof(*ndm), ev_neigh_attr_cb, ev);
	return true;
}

static int ev_route_attr_cb(const struct nlattr *attr, void *data)
{
	struct mg_nl_event *ev = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_DST:
		addr_set(&ev->addr, ev->family, mnl_attr_get_payload(attr),
			 mnl_attr_get_payload_len(attr));
		break;
	case RTA_OIF:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) == 0)
			ev->ifindex = mnl_attr_get_u32(attr);
		break;
	}
	return MNL_CB_OK;
}

static bool ev_route(const struct nlmsghdr *nlh, struct mg_nl_event *ev)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);

	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return false;
	if (rtm->rtm_flags & RTM_F_CLONED)
		return false;	/* a cache entry, not configuration */
	ev->type = MG_NL_EV_ROUTE_CHANGE;
	ev->family = rtm->rtm_family;
	ev->prefixlen = rtm->rtm_dst_len;
	mnl_attr_parse(nlh, sizeof(*rtm), ev_route_attr_cb, ev);
	if (!ev->addr.family)	/* default route: no RTA_DST */
		ev->addr.family = ev->family == AF_INET ? MG_AF_INET
							: MG_AF_INET6;
	return true;
}

static int ev_cb(const struct nlmsghdr *nlh, void *data)
{
	struct mg_nl_event ev = { .family = AF_UNSPEC };
	size_t hdr;
	bool ok;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		hdr = sizeof(struct ifinfomsg);
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		hdr = sizeof(struct ndmsg);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		hdr = sizeof(struct rtmsg);
		break;
	default:
		return MNL_CB_OK;
	}
	if (nlh->nlmsg_len < mnl_nlmsg_size(hdr))
		return MNL_CB_OK;

	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		ev_link(nlh, &ev);
		ok = true;
		break;
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		ok = ev_neigh(nlh, &ev);
		break;
	default:
		ok = ev_route(nlh, &ev);
		break;
	}
	if (ok)
		ev_emit(data, &ev);
	return MNL_CB_OK;
}

int mg_nl_process_events(struct mg_nl *nl, mg_nl_event_cb cb, void *arg)
{
	struct ev_ctx ctx = { .cb = cb, .arg = arg };
	struct mg_nl_event resync = { .type = MG_NL_EV_RESYNC };
	bool lost = false;
	ssize_t n;

	for (;;) {
		n = mnl_socket_recvfrom(nl->ev, nl->buf, sizeof(nl->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* Overrun, or (ENOSPC) a message too big for buf. */
			if (errno == ENOBUFS || errno == ENOSPC) {
				if (!lost)
					ev_emit(&ctx, &resync);
				lost = true;
				continue;
			}
			return -errno;
		}
		if (mnl_cb_run(nl->buf, n, 0, 0, ev_cb, &ctx) < 0 &&
		    errno != EINTR)
			pr_debug("netlink: bad event message: %s",
				 strerror(errno));
	}
	if (lost)
		pr_warn("netlink: event overrun, resynchronising");
	return ctx.count;
}

const char *mg_nl_event_name(enum mg_nl_event_type type)
{
	static const char *const names[] = {
		[MG_NL_EV_LINK_UP] = "link-up",
		[MG_NL_EV_LINK_DOWN] = "link-down",
		[MG_NL_EV_LINK_DEL] = "link-del",
		[MG_NL_EV_NEIGH_CHANGE] = "neigh-change",
		[MG_NL_EV_ROUTE_CHANGE] = "route-change",
		[MG_NL_EV_RESYNC] = "resync",
	};

	if ((unsigned int)type >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[type];
}
