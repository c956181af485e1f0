// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "memberlist/transport.h"
#include "memberlist/wire.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/loop.h"

#define UDP_RX_MAX	65536
#define UDP_BURST	64		/* datagrams per wakeup */
#define STREAM_MAX	(MG_STREAM_MAX_BLOB + 64)
#define STREAM_CHUNK	16384
/*
 * What all inbound streams may hold at once before they are complete (and
 * so before they are authenticated, with a key): one stream of the largest
 * size and some room beside it.  A stream that would go past it is closed.
 */
#define INBOUND_BUDGET	(24u << 20)
/*
 * A plaintext stream does not say how long it is, so it is decoded again
 * as it grows; to keep a trickle (a byte at a time over many connections)
 * from costing a full decode per byte, it is decoded again only once it
 * has doubled, or after a pause that grows with its size.
 */
#define REPARSE_MIN_MS	10
#define REPARSE_MAX_MS	500

struct conn {
	struct mg_mtransport *t;
	struct conn *next;
	int fd;
	struct mg_loop_src *src, *timer;
	uint32_t events;
	bool outbound, connecting, reading;
	uint32_t token;			/* outbound: 0 = no reply wanted */
	struct mg_buf out;
	size_t out_off;
	struct mg_buf in;
	size_t tried;			/* in.len at the last -EAGAIN decode */
	struct mg_loop_src *reparse;	/* the pause before decoding again */
};

struct mg_mtransport {
	struct mg_loop *loop;
	struct mg_mtransport_deliver d;
	int udp, tcp;
	struct mg_loop_src *udp_src, *tcp_src;
	struct conn *conns;
	unsigned int inbound;
	size_t in_bytes;		/* inbound streams' buffers */
	uint64_t refused_warned;
	unsigned int tcp_timeout;
	uint8_t *rx;
};

static socklen_t to_sa(const struct mg_addr *a, uint16_t port,
		       struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == MG_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		return sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, &a->addr[0], 4);
		return sizeof(*s4);
	}
}

static void from_sa(const struct sockaddr_storage *ss, struct mg_addr *a,
		    uint16_t *port)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			a->family = MG_AF_INET;
			memcpy(&a->addr[0], &s6->sin6_addr.s6_addr[12], 4);
		} else {
			a->family = MG_AF_INET6;
			memcpy(a->addr, &s6->sin6_addr, 16);
		}
		*port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;

		a->family = MG_AF_INET;
		memcpy(&a->addr[0], &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	}
}

/* An IPv4 destination through an IPv6 socket goes v4-mapped. */
static socklen_t dest_sa(int fd_family, const struct mg_addr *a, uint16_t port,
			 struct sockaddr_storage *ss)
{
	struct mg_addr m = *a;

	if (fd_family == AF_INET6 && a->family == MG_AF_INET) {
		memset(m.addr, 0, sizeof(m.addr));
		((uint8_t *)m.addr)[10] = 0xff;
		((uint8_t *)m.addr)[11] = 0xff;
		memcpy((uint8_t *)m.addr + 12, &a->addr[0], 4);
		m.family = MG_AF_INET6;
	}
	return to_sa(&m, port, ss);
}

static int sock_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return AF_INET;
	return ss.ss_family;
}

/* --- streams ------------------------------------------------------------------ */

static void conn_cb(struct mg_loop_src *src, uint32_t events, void *arg);

static void conn_close(struct conn *c)
{
	struct mg_mtransport *t = c->t;
	struct conn **pp;

	for (pp = &t->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (!c->outbound) {
		t->inbound--;
		t->in_bytes -= c->in.cap;
	}
	mg_loop_del(t->loop, c->src);
	mg_loop_del(t->loop, c->timer);
	mg_loop_del(t->loop, c->reparse);
	close(c->fd);
	mg_buf_free(&c->out);
	mg_buf_free(&c->in);
	free(c);
}

static void conn_fail(struct conn *c, int err)
{
	struct mg_mtransport *t = c->t;
	uint32_t token = c->outbound ? c->token : 0;

	conn_close(c);
	if (token)
		t->d.stream_fail(t->d.arg, token, err);
}

static int conn_watch(struct conn *c, uint32_t events)
{
	if (c->src && c->events == events)
		return 0;
	mg_loop_del(c->t->loop, c->src);
	c->src = mg_loop_add_fd(c->t->loop, c->fd, events, conn_cb, c);
	c->events = events;
	return c->src ? 0 : -ENOMEM;
}

static void conn_timeout(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct conn *c = arg;

	pr_debug("gossip: stream timed out\n");
	conn_fail(c, -ETIMEDOUT);
}

static struct conn *conn_new(struct mg_mtransport *t, int fd, bool outbound,
			     unsigned int timeout_ms)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->t = t;
	c->fd = fd;
	c->outbound = outbound;
	c->timer = mg_loop_add_timer(t->loop, timeout_ms ? timeout_ms : 1, 0,
				     conn_timeout, c);
	if (!c->timer) {
		free(c);
		return NULL;
	}
	c->next = t->conns;
	t->conns = c;
	if (!outbound)
		t->inbound++;
	return c;
}

/* Write what is pending; true when all is out. */
static int conn_flush(struct conn *c)
{
	while (c->out_off < c->out.len) {
		ssize_t w = send(c->fd, c->out.data + c->out_off,
				 c->out.len - c->out_off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return -EAGAIN;
			return -errno;
		}
		c->out_off += w;
	}
	return 0;
}

static void conn_written(struct conn *c)
{
	if (!c->outbound || !c->token) {
		conn_close(c);		/* reply sent, or fire and forget */
		return;
	}
	c->reading = true;
	if (conn_watch(c, EPOLLIN))
		conn_fail(c, -ENOMEM);
}

/* A stream refused for the peer's sake: counted, logged every 10 s. */
static void refuse(struct mg_mtransport *t, const char *why)
{
	uint64_t now = mg_now_ms();
	uint64_t refused = t->d.stream_refused(t->d.arg);

	if (t->refused_warned && now - t->refused_warned < 10000)
		return;
	t->refused_warned = now;
	pr_warn("gossip: refusing inbound streams: %s (%llu so far)\n", why,
		(unsigned long long)refused);
}

/* Room for the next read, within the stream's and the inbound budget. */
static int conn_grow(struct conn *c)
{
	struct mg_mtransport *t = c->t;
	size_t want = c->in.len + STREAM_CHUNK, cap;
	uint8_t *p;

	if (want <= c->in.cap)
		return 0;
	cap = c->in.cap ? 2 * c->in.cap : STREAM_CHUNK;
	if (cap < want)
		cap = want;
	if (cap > STREAM_MAX)
		cap = STREAM_MAX;
	if (!c->outbound && t->in_bytes - c->in.cap + cap > INBOUND_BUDGET) {
		refuse(t, "their buffers would pass the budget");
		return -ENOBUFS;
	}
	p = realloc(c->in.data, cap);
	if (!p)
		return -ENOMEM;
	if (!c->outbound)
		t->in_bytes += cap - c->in.cap;
	c->in.data = p;
	c->in.cap = cap;
	return 0;
}

static void conn_input(struct conn *c);

static void conn_reparse(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct conn *c = arg;

	mg_loop_del(c->t->loop, c->reparse);
	c->reparse = NULL;
	c->tried = 0;
	conn_input(c);
}

/*
 * Whether an inbound stream of in.len bytes is worth decoding now: an
 * encrypted one once it is whole, a plaintext one when it doubled since
 * the last try or after a pause (armed here).
 */
static bool conn_ready(struct conn *c, bool eof)
{
	size_t need = mg_ml_stream_need(c->in.data, c->in.len);
	unsigned int ms;

	if (eof)
		return true;
	if (need)
		return need <= c->in.len || need > STREAM_MAX;
	if (!c->tried || c->in.len >= 2 * c->tried)
		return true;
	if (!c->reparse) {
		ms = REPARSE_MIN_MS + (c->in.len >> 12);
		if (ms > REPARSE_MAX_MS)
			ms = REPARSE_MAX_MS;
		c->reparse = mg_loop_add_timer(c->t->loop, ms, 0,
					       conn_reparse, c);
		if (!c->reparse)
			return true;
	}
	return false;
}

static void conn_input(struct conn *c)
{
	struct mg_mtransport *t = c->t;
	struct mg_buf reply = { 0 };
	uint32_t token = c->token;
	bool eof = false;
	int err;

	for (;;) {
		ssize_t r;

		if (c->in.len >= STREAM_MAX) {
			conn_fail(c, -EMSGSIZE);
			return;
		}
		err = conn_grow(c);
		if (err) {
			conn_fail(c, err);
			return;
		}
		r = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len,
			 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			conn_fail(c, -errno);
			return;
		}
		if (!r) {
			eof = true;
			break;
		}
		c->in.len += r;
	}
	if (c->outbound) {
		/* the engine may free us through a callback: close first */
		struct mg_buf in = c->in;

		c->in = (struct mg_buf){ 0 };
		if (!in.len && eof) {
			conn_fail(c, -ECONNRESET);
			return;
		}
		err = t->d.stream_reply(t->d.arg, token, in.data, in.len);
		if (err == -EAGAIN && !eof) {
			c->in = in;
			return;
		}
		conn_close(c);
		mg_buf_free(&in);
		if (err == -EAGAIN)
			t->d.stream_fail(t->d.arg, token, -ECONNRESET);
		return;
	}
	if (!c->in.len) {
		conn_close(c);
		return;
	}
	if (!conn_ready(c, eof))
		return;
	err = t->d.stream_in(t->d.arg, c->in.data, c->in.len, &reply);
	if (err == -EAGAIN && !eof) {
		c->tried = c->in.len;
		mg_buf_free(&reply);
		return;
	}
	if (err || !reply.len) {
		mg_buf_free(&reply);
		conn_close(c);
		return;
	}
	c->reading = false;
	mg_buf_free(&c->out);
	c->out = reply;
	c->out_off = 0;
	err = conn_flush(c);
	if (!err)
		conn_written(c);
	else if (err != -EAGAIN || conn_watch(c, EPOLLOUT))
		conn_close(c);
}

static void conn_cb(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct conn *c = arg;
	int err;

	if (c->connecting) {
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
			conn_fail(c, err ? -err : -EIO);
			return;
		}
		c->connecting = false;
	}
	if (c->reading) {
		conn_input(c);
		return;
	}
	if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLOUT)) {
		conn_fail(c, -ECONNRESET);
		return;
	}
	err = conn_flush(c);
	if (!err)
		conn_written(c);
	else if (err != -EAGAIN)
		conn_fail(c, err);
}

int mg_mtransport_stream(void *arg, const struct mg_addr *to, uint16_t port,
			 const uint8_t *p, size_t n, uint64_t deadline,
			 uint32_t token)
{
	struct mg_mtransport *t = arg;
	uint64_t now = t->d.now(t->d.arg);
	unsigned int timeout = deadline > now ? (deadline - now) / 1000 : 1;
	struct sockaddr_storage ss;
	socklen_t len = to_sa(to, port, &ss);
	struct conn *c;
	int fd, err;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	c = conn_new(t, fd, true, timeout ? timeout : 1);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->token = token;
	err = mg_buf_put(&c->out, p, n);
	if (err)
		goto fail;
	if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS) {
		err = -errno;
		goto fail;
	}
	c->connecting = true;
	err = conn_watch(c, EPOLLOUT);
	if (err)
		goto fail;
	return 0;
fail:
	c->token = 0;
	conn_close(c);
	return err;
}

static void accept_cb(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct mg_mtransport *t = arg;

	for (;;) {
		int fd = accept4(t->tcp, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		if (t->inbound >= MG_MTRANSPORT_INBOUND_MAX) {
			refuse(t, "too many at once");
			close(fd);
			continue;
		}
		c = conn_new(t, fd, false, t->tcp_timeout);
		if (!c) {
			close(fd);
			continue;
		}
		c->reading = true;
		if (conn_watch(c, EPOLLIN))
			conn_close(c);
	}
}

/* --- packets -------------------------------------------------------------------- */

int mg_mtransport_send(void *arg, const struct mg_addr *to, uint16_t port,
		       const uint8_t *p, size_t n)
{
	struct mg_mtransport *t = arg;
	struct sockaddr_storage ss;
	socklen_t len = dest_sa(sock_family(t->udp), to, port, &ss);

	if (sendto(t->udp, p, n, 0, (struct sockaddr *)&ss, len) < 0)
		return -errno;
	return 0;
}

static void udp_cb(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct mg_mtransport *t = arg;
	int i;

	for (i = 0; i < UDP_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct mg_addr from;
		uint16_t port;
		ssize_t r;

		r = recvfrom(t->udp, t->rx, UDP_RX_MAX, 0,
			     (struct sockaddr *)&ss, &len);
		if (r < 0)
			return;
		if (r < 1)
			continue;
		from_sa(&ss, &from, &port);
		t->d.packet(t->d.arg, &from, port, t->rx, r);
	}
}

/* --- setup ----------------------------------------------------------------------- */

static int bind_sock(int type, const struct mg_addr *local, uint16_t port)
{
	struct mg_addr any = { .family = MG_AF_INET };
	struct sockaddr_storage ss;
	socklen_t len = to_sa(local->family ? local : &any, port, &ss);
	int one = 1, fd, err;

	fd = socket(ss.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len))
		goto fail;
	if (type == SOCK_STREAM && listen(fd, MG_MTRANSPORT_INBOUND_MAX))
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

struct mg_mtransport *mg_mtransport_new(struct mg_loop *loop,
					const struct mg_addr *bind,
					uint16_t port,
					const struct mg_mtransport_deliver *d,
					unsigned int tcp_timeout_ms, int *errp)
{
	struct mg_mtransport *t = calloc(1, sizeof(*t));
	int err = -ENOMEM, sz = 2 << 20;
	char buf[MG_ADDRSTRLEN];

	if (!t)
		goto fail;
	t->loop = loop;
	t->d = *d;
	t->udp = t->tcp = -1;
	t->tcp_timeout = tcp_timeout_ms;
	t->rx = malloc(UDP_RX_MAX);
	if (!t->rx)
		goto fail;
	err = t->udp = bind_sock(SOCK_DGRAM, bind, port);
	if (err < 0)
		goto fail;
	setsockopt(t->udp, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	err = t->tcp = bind_sock(SOCK_STREAM, bind, port);
	if (err < 0)
		goto fail;
	err = -ENOMEM;
	t->udp_src = mg_loop_add_fd(loop, t->udp, EPOLLIN, udp_cb, t);
	t->tcp_src = mg_loop_add_fd(loop, t->tcp, EPOLLIN, accept_cb, t);
	if (!t->udp_src || !t->tcp_src)
		goto fail;
	return t;
fail:
	pr_err("gossip: cannot bind %s port %u: %s\n",
	       bind->family ? mg_addr_str(bind, buf, sizeof(buf)) : "0.0.0.0",
	       port, strerror(-err));
	mg_mtransport_free(t);
	if (errp)
		*errp = err;
	return NULL;
}

void mg_mtransport_free(struct mg_mtransport *t)
{
	if (!t)
		return;
	while (t->conns)
		conn_close(t->conns);
	mg_loop_del(t->loop, t->udp_src);
	mg_loop_del(t->loop, t->tcp_src);
	if (t->udp >= 0)
		close(t->udp);
	if (t->tcp >= 0)
		close(t->tcp);
	free(t->rx);
	free(t);
}
