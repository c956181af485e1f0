// SPDX-License-Identifier: GPL-2.0-only
/* Addresses; request / reply on the blocking socket; the sockets opened. */
#include "netlink/nl_int.h"

/* --- addresses ------------------------------------------------------------ */

int nl_sys_family(__u8 mg_family)
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

size_t nl_addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Fills @addr from a kernel attribute payload; false if the size is wrong. */
bool nl_addr_set(struct mg_addr *addr, int family, const void *data, size_t len)
{
	if (family != AF_INET && family != AF_INET6)
		return false;
	if (len != nl_addr_len(family))
		return false;
	memset(addr, 0, sizeof(*addr));
	addr->family = family == AF_INET ? MG_AF_INET : MG_AF_INET6;
	memcpy(addr->addr, data, len);
	return true;
}

/* --- request / reply ------------------------------------------------------ */

struct talk {
	int err; /* from the closing NLMSG_ERROR */
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
int nl_talk(struct mg_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
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
		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, talk_data_cb, &t,
				  talk_ctl_cbs, NLMSG_MIN_TYPE);
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
	if (setsockopt(mnl_socket_get_fd(nl->req), SOL_SOCKET, SO_RCVTIMEO, &tv,
		       sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static int open_ev(struct mg_nl *nl)
{
	static const int groups[] = {
		RTNLGRP_LINK,
		RTNLGRP_NEIGH,
		RTNLGRP_IPV4_ROUTE,
		RTNLGRP_IPV6_ROUTE,
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
		if (mnl_socket_setsockopt(nl->ev, NETLINK_ADD_MEMBERSHIP, &grp,
					  sizeof(grp)) < 0)
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
