// SPDX-License-Identifier: GPL-2.0-only
/* Routes: one looked up (RTM_GETROUTE), a table dumped. */
#include "netlink/nl_int.h"

/* --- routes --------------------------------------------------------------- */

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
		nl_addr_set(&rt->gw, rt->family, mnl_attr_get_payload(attr),
			    len);
		break;
	case RTA_VIA: /* IPv4 route with an IPv6 next hop (RFC 5549) */
		via = mnl_attr_get_payload(attr);
		if (len >= sizeof(*via))
			nl_addr_set(&rt->gw, via->rtvia_family, via->rtvia_addr,
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
int nl_route_get(struct mg_nl *nl, int family, const void *dst,
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
	rtm->rtm_dst_len = nl_addr_len(family) * 8;
	mnl_attr_put(nlh, RTA_DST, nl_addr_len(family), dst);

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
	if (!a.dst ||
	    !nl_addr_set(&pfx.addr, rtm->rtm_family, a.dst, a.dst_len))
		return MNL_CB_OK;
	pfx.len = rtm->rtm_dst_len;
	if (pfx.len > nl_addr_len(rtm->rtm_family) * 8)
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
