// SPDX-License-Identifier: GPL-2.0-only
/* The multicast events: links, neighbours and routes, for the agent's loop. */
#include "netlink/nl_int.h"

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
	else if (nl_link_is_up(ifi->ifi_flags))
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
		nl_addr_set(&ev->addr, ev->family, mnl_attr_get_payload(attr),
			    mnl_attr_get_payload_len(attr));
	return MNL_CB_OK;
}

static bool ev_neigh(const struct nlmsghdr *nlh, struct mg_nl_event *ev)
{
	const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);

	if (ndm->ndm_family != AF_INET && ndm->ndm_family != AF_INET6)
		return false; /* bridge FDB and the like */
	ev->type = MG_NL_EV_NEIGH_CHANGE;
	ev->family = ndm->ndm_family;
	ev->ifindex = ndm->ndm_ifindex;
	ev->prefixlen = nl_addr_len(ev->family) * 8;
	mnl_attr_parse(nlh, sizeof(*ndm), ev_neigh_attr_cb, ev);
	return true;
}

static int ev_route_attr_cb(const struct nlattr *attr, void *data)
{
	struct mg_nl_event *ev = data;

	switch (mnl_attr_get_type(attr)) {
	case RTA_DST:
		nl_addr_set(&ev->addr, ev->family, mnl_attr_get_payload(attr),
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
		return false; /* a cache entry, not configuration */
	ev->type = MG_NL_EV_ROUTE_CHANGE;
	ev->family = rtm->rtm_family;
	ev->prefixlen = rtm->rtm_dst_len;
	mnl_attr_parse(nlh, sizeof(*rtm), ev_route_attr_cb, ev);
	if (!ev->addr.family) /* default route: no RTA_DST */
		ev->addr.family = ev->family == AF_INET ? MG_AF_INET :
							  MG_AF_INET6;
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
