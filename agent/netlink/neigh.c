// SPDX-License-Identifier: GPL-2.0-only
/*
 * Neighbours: looked up, next hops resolved for mg_nh4 / mg_nh6, and
 * kernel-managed neighbours kept for the datapath's next hops.
 */
#include "netlink/nl_int.h"

/* --- neighbours ----------------------------------------------------------- */

struct neigh {
	bool found;
	__u16 state; /* NUD_* */
	__u32 flags_ext; /* NTF_EXT_* */
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
	mnl_attr_put(nlh, NDA_DST, nl_addr_len(family), addr->addr);
	return nlh;
}

/* @ne->found is false (and 0 returned) when there is no entry. */
static int neigh_get(struct mg_nl *nl, int ifindex, const struct mg_addr *addr,
		     struct neigh *ne)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	int family = nl_sys_family(addr->family);
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
	int family = nl_sys_family(dst->family);
	struct mg_nl_link link;
	struct route rt;
	struct neigh ne;
	int err;

	memset(hop, 0, sizeof(*hop));
	if (family < 0)
		return family;

	err = nl_route_get(nl, family, dst->addr, &rt);
	switch (err) {
	case 0:
		break;
	case -ENETUNREACH:
	case -EHOSTUNREACH:
	case -EACCES: /* prohibit */
	case -EINVAL: /* IPv4 blackhole */
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

int mg_nl_resolve6(struct mg_nl *nl, const __u8 dst[16], struct mg_nh_val *out)
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

int mg_nl_neigh_manage(struct mg_nl *nl, int ifindex, const struct mg_addr *via)
{
	char buf[NL_REQ_SIZE] __attribute__((aligned(4))) = { 0 };
	int family = nl_sys_family(via->family);
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
