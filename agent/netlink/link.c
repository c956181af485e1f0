// SPDX-License-Identifier: GPL-2.0-only
/* Links: looked up, created, brought up, deleted; the host's own device and its routes. */
#include "netlink/nl_int.h"

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

bool nl_link_is_up(unsigned int flags)
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
	link->up = nl_link_is_up(ifi->ifi_flags);
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
	int family = nl_sys_family(pfx->addr.family);
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
	mnl_attr_put(nlh, RTA_DST, nl_addr_len(family), pfx->addr.addr);
	mnl_attr_put_u32(nlh, RTA_OIF, ifindex);
	if (add && src && src->family == pfx->addr.family)
		mnl_attr_put(nlh, RTA_PREFSRC, nl_addr_len(family), src->addr);
	return nl_talk(nl, nlh, NULL, NULL);
}
