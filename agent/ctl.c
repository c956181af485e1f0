// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "ctl.h"
#include "lib/msgpack.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/out.h"

/*
 * The agent serves every client from its event loop, so no client may block
 * it: sockets are non-blocking and each client is a small state machine
 * (read the request, run it, write the answer) with a deadline.  A client
 * has CTL_REQUEST_MS from its connection to deliver the whole request (the
 * CLI sends it at once), and at most CTL_REPLY_IDLE_MS between two writes
 * of the answer it takes.  At most CTL_MAX_CLIENTS are served at a time;
 * the next ones wait in the listen backlog.  The socket and its clients are
 * the loop's priority sources (mg_loop_add_fd_prio): a flood of gossip
 * delays an answer by the one callback running, not by a round of them.
 */
#define CTL_REQUEST_MS		2000
#define CTL_REPLY_IDLE_MS	10000
#define CTL_MAX_CLIENTS		16
/* A request is an argv: 32 words of at most 1024 bytes, packed. */
#define CTL_MAX_REQUEST		(MG_CTL_MAX_ARGS * (MG_CTL_MAX_ARG + 5) + 16)
/* The client waits this long for each part of the answer. */
#define CTL_CLIENT_TIMEOUT_MS	60000

struct ctl_client {
	struct mg_ctl *ctl;
	struct ctl_client *next;
	struct mg_loop_src *src;	/* the socket */
	struct mg_loop_src *timer;	/* the deadline */
	int fd;
	/* Reading: 4 bytes of length, then the body. */
	uint8_t hdr[4];
	size_t got;
	uint32_t need;
	uint8_t *body;
	/* Writing: the answer, sent as frames of at most 2 chunks. */
	bool writing;
	bool last;		/* frame holds the final part */
	int status;
	char *obuf, *ebuf;
	size_t olen, elen, opos, epos;
	struct mg_buf frame;
	size_t fpos;
};

struct mg_ctl {
	struct mg_loop *loop;
	struct mg_loop_src *src;	/* NULL while CTL_MAX_CLIENTS are served */
	const struct mg_cmd *table;
	void *arg;
	int fd;
	unsigned int request_ms;
	struct ctl_client *clients;
	unsigned int nclients;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

int mg_ctl_request_decode(const uint8_t *p, size_t n,
			  struct mg_ctl_request *req)
{
	struct mg_mp_rd rd;
	uint32_t count, len;
	uint64_t vsn;
	const uint8_t *s;
	size_t used = 0;
	int err;

	memset(req, 0, offsetof(struct mg_ctl_request, storage));
	mg_mp_rd_init(&rd, p, n);
	err = mg_mp_read_array(&rd, &count);
	if (err)
		return -EBADMSG;
	if (count < 3 || count > MG_CTL_MAX_ARGS + 2)
		return -EINVAL;
	if (mg_mp_read_uint(&rd, UINT8_MAX, &vsn) || vsn != MG_CTL_VERSION)
		return -EINVAL;
	if (mg_mp_read_bool(&rd, &req->json))
		return -EBADMSG;
	for (uint32_t i = 2; i < count; i++) {
		if (mg_mp_read_str(&rd, &s, &len))
			return -EBADMSG;
		if (len > MG_CTL_MAX_ARG || memchr(s, '\0', len))
			return -EINVAL;
		req->argv[req->argc++] = req->storage + used;
		memcpy(req->storage + used, s, len);
		req->storage[used + len] = '\0';
		used += len + 1;
	}
	if (mg_mp_rd_left(&rd))
		return -EBADMSG;
	req->argv[req->argc] = NULL;
	return 0;
}

/* --- server ----------------------------------------------------------------- */

static void on_accept(struct mg_loop_src *src, uint32_t events, void *arg);
static void on_client(struct mg_loop_src *src, uint32_t events, void *arg);

/* Listen for new clients while there is room for them. */
static void listen_update(struct mg_ctl *ctl)
{
	if (!ctl->src && ctl->nclients < CTL_MAX_CLIENTS)
		ctl->src = mg_loop_add_fd_prio(ctl->loop, ctl->fd, EPOLLIN,
					  on_accept, ctl);
	else if (ctl->src && ctl->nclients >= CTL_MAX_CLIENTS) {
		mg_loop_del(ctl->loop, ctl->src);
		ctl->src = NULL;
	}
}

static void client_free(struct ctl_client *c)
{
	struct mg_ctl *ctl = c->ctl;
	struct ctl_client **pp;

	for (pp = &ctl->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	ctl->nclients--;
	mg_loop_del(ctl->loop, c->src);
	mg_loop_del(ctl->loop, c->timer);
	close(c->fd);
	free(c->body);
	free(c->obuf);
	free(c->ebuf);
	mg_buf_free(&c->frame);
	free(c);
	listen_update(ctl);
}

/*
 * Read what the socket has of the request.  1 when it is complete, 0 when
 * more is to come, -errno when the client is to be dropped.
 */
static int client_read(struct ctl_client *c)
{
	for (;;) {
		uint8_t *dst;
		size_t want;
		ssize_t r;

		if (c->got < 4) {
			dst = c->hdr + c->got;
			want = 4 - c->got;
		} else {
			dst = c->body + (c->got - 4);
			want = c->need - (c->got - 4);
		}
		r = recv(c->fd, dst, want, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? 0 : -errno;
		if (r == 0)
			return -ECONNRESET;
		c->got += r;
		if (c->got == 4) {
			c->need = mg_get_be32(c->hdr);
			if (c->need > CTL_MAX_REQUEST)
				return -EMSGSIZE;
			c->body = malloc(c->need ? c->need : 1);
			if (!c->body)
				return -ENOMEM;
		}
		if (c->got >= 4 && c->got - 4 == c->need)
			return 1;
	}
}

/* Run the request; its answer goes to c->obuf/ebuf and c->status. */
static int client_run(struct ctl_client *c)
{
	struct mg_ctl *ctl = c->ctl;
	struct mg_ctl_request *req = malloc(sizeof(*req));
	const struct mg_cmd *cmd;
	struct mg_cli cli;
	FILE *of = NULL, *ef = NULL;
	int err = 0;

	c->status = 2;
	if (req) {
		of = open_memstream(&c->obuf, &c->olen);
		ef = open_memstream(&c->ebuf, &c->elen);
	}
	if (!req || !of || !ef) {
		err = -ENOMEM;
		goto out;
	}
	if (mg_ctl_request_decode(c->body, c->need, req)) {
		fprintf(ef, "meshgate: the agent could not read the request "
			"(CLI and agent of different versions?)\n");
	} else if (req->argc < 1) {
		fprintf(ef, "meshgate: empty request\n");
	} else {
		/* Errors about the word go to the client, not our log. */
		FILE *saved = stderr;

		stderr = ef;
		cmd = mg_cmd_find(ctl->table, req->argv[0], "object");
		stderr = saved;
		if (cmd) {
			memset(&cli, 0, sizeof(cli));
			cli.json = req->json;
			cli.err = ef;
			cli.priv = ctl->arg;
			out_init(of, req->json);
			c->status = cmd->run(&cli, req->argc, req->argv);
		}
	}
out:
	if (of)
		fclose(of);
	if (ef)
		fclose(ef);
	free(req);
	free(c->body);
	c->body = NULL;
	return err;
}

/*
 * Frame the next part of the answer.  A frame holds at most
 * MG_CTL_CHUNK bytes of each stream, so an answer of any size is sent
 * in frames the client accepts: [stdout, stderr] while more is to
 * come, [status, stdout, stderr] for the last.
 */
static int client_next_frame(struct ctl_client *c)
{
	size_t o = c->olen - c->opos, e = c->elen - c->epos;
	msgpack_packer pk;
	int err;

	if (o > MG_CTL_CHUNK)
		o = MG_CTL_CHUNK;
	if (e > MG_CTL_CHUNK)
		e = MG_CTL_CHUNK;
	c->last = c->opos + o == c->olen && c->epos + e == c->elen;
	mg_buf_reset(&c->frame);
	c->fpos = 0;
	err = mg_buf_put_be32(&c->frame, 0);
	if (err)
		return err;
	mg_mp_packer_init(&pk, &c->frame);
	if (msgpack_pack_array(&pk, c->last ? 3 : 2) ||
	    (c->last && msgpack_pack_int(&pk, c->status)) ||
	    mg_mp_pack_raw(&pk, c->obuf + c->opos, o) ||
	    mg_mp_pack_raw(&pk, c->ebuf + c->epos, e))
		return -ENOMEM;
	mg_put_be32(c->frame.data, c->frame.len - 4);
	c->opos += o;
	c->epos += e;
	return 0;
}

/* Send what the socket takes.  1 when all is sent, 0 or -errno. */
static int client_write(struct ctl_client *c)
{
	bool progress = false;

	for (;;) {
		ssize_t r;

		if (c->fpos == c->frame.len) {
			int err;

			if (c->last)
				return 1;
			err = client_next_frame(c);
			if (err)
				return err;
		}
		r = send(c->fd, c->frame.data + c->fpos,
			 c->frame.len - c->fpos, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			break;
		if (r < 0)
			return -errno;
		c->fpos += r;
		progress = true;
	}
	if (progress)
		mg_loop_timer_set(c->timer, CTL_REPLY_IDLE_MS, 0);
	return 0;
}

/* The request is in: run it and start answering. */
static int client_answer(struct ctl_client *c)
{
	struct mg_ctl *ctl = c->ctl;
	int err = client_run(c);

	if (err)
		return err;
	c->writing = true;
	c->frame.len = c->fpos = 0;	/* empty: the first call frames */
	err = client_write(c);
	if (err)
		return err;
	/* Wait for room to write instead of for bytes to read. */
	mg_loop_del(ctl->loop, c->src);
	c->src = mg_loop_add_fd_prio(ctl->loop, c->fd, EPOLLOUT, on_client, c);
	if (!c->src)
		return -ENOMEM;
	mg_loop_timer_set(c->timer, CTL_REPLY_IDLE_MS, 0);
	return 0;
}

static void on_client(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct ctl_client *c = arg;
	int r;

	if (!c->writing) {
		r = client_read(c);
		if (r > 0)
			r = client_answer(c);
	} else {
		r = client_write(c);
	}
	if (r < 0)
		pr_debug("control socket: dropping a client: %s",
			 strerror(-r));
	if (r)	/* done, or dropped */
		client_free(c);
}

static void on_deadline(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct ctl_client *c = arg;

	pr_debug("control socket: a client too slow %s, dropped",
		 c->writing ? "to read its answer" : "to send its request");
	client_free(c);
}

static void on_accept(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct mg_ctl *ctl = arg;
	struct ctl_client *c;
	int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->ctl = ctl;
	c->fd = fd;
	c->src = mg_loop_add_fd_prio(ctl->loop, fd, EPOLLIN, on_client, c);
	c->timer = mg_loop_add_timer(ctl->loop, ctl->request_ms, 0,
				     on_deadline, c);
	c->next = ctl->clients;
	ctl->clients = c;
	ctl->nclients++;
	if (!c->src || !c->timer) {
		pr_warn("control socket: cannot watch a client: %s",
			strerror(errno));
		client_free(c);
		return;
	}
	listen_update(ctl);
}

struct mg_ctl *mg_ctl_open(struct mg_loop *loop, const char *path,
			   const struct mg_cmd *table, void *arg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mg_ctl *ctl;
	char dir[sizeof(sa.sun_path)], *slash;
	struct stat sb;
	mode_t old;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("control socket path too long: %s", path);
		errno = ENAMETOOLONG;
		return NULL;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return NULL;
	ctl->loop = loop;
	ctl->table = table;
	ctl->arg = arg;
	ctl->request_ms = CTL_REQUEST_MS;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	strcpy(sa.sun_path, path);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0)
		goto fail;
	if (!lstat(path, &sb) && S_ISSOCK(sb.st_mode))
		unlink(path);
	old = umask(0077);
	if (bind(ctl->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		umask(old);
		goto fail;
	}
	umask(old);
	if (listen(ctl->fd, 16))
		goto fail;
	listen_update(ctl);
	if (!ctl->src)
		goto fail;
	return ctl;
fail:
	pr_err("control socket %s: %s", path, strerror(errno));
	if (ctl->fd >= 0)
		close(ctl->fd);
	free(ctl);
	return NULL;
}

void mg_ctl_set_request_timeout(struct mg_ctl *ctl, unsigned int ms)
{
	ctl->request_ms = ms;
}

void mg_ctl_close(struct mg_ctl *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	mg_loop_del(ctl->loop, ctl->src);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl);
}

/* --- client ----------------------------------------------------------------- */

/* Read or write exactly n bytes, each part within the client's timeout. */
static int io_full(int fd, void *buf, size_t n, bool wr)
{
	struct pollfd pfd = { .fd = fd, .events = wr ? POLLOUT : POLLIN };
	size_t done = 0;

	while (done < n) {
		ssize_t r;

		if (poll(&pfd, 1, CTL_CLIENT_TIMEOUT_MS) <= 0)
			return -ETIMEDOUT;
		r = wr ? send(fd, (char *)buf + done, n - done, MSG_NOSIGNAL) :
			 recv(fd, (char *)buf + done, n - done, 0);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		done += r;
	}
	return 0;
}

/* Receive one frame into *buf (reused from frame to frame). */
static int recv_frame(int fd, struct mg_buf *buf)
{
	uint8_t hdr[4];
	uint32_t n;
	int err;

	err = io_full(fd, hdr, 4, false);
	if (err)
		return err;
	n = mg_get_be32(hdr);
	if (n > MG_CTL_MAX_FRAME)
		return -EMSGSIZE;
	mg_buf_reset(buf);
	err = mg_buf_reserve(buf, n ? n : 1);
	if (err)
		return err;
	err = io_full(fd, buf->data, n, false);
	if (err)
		return err;
	buf->len = n;
	return 0;
}

/*
 * Print the frames of the answer as they come (an answer may be far larger
 * than a frame).  Returns the command's status, or -errno.
 */
int mg_ctl_read_answer(int fd, FILE *out, FILE *errf)
{
	struct mg_buf body = { 0 };
	const uint8_t *o, *e;
	struct mg_mp_rd rd;
	uint32_t count, olen, elen;
	uint64_t status;
	int err;

	for (;;) {
		err = recv_frame(fd, &body);
		if (err)
			break;
		mg_mp_rd_init(&rd, body.data, body.len);
		err = -EBADMSG;
		if (mg_mp_read_array(&rd, &count) || count < 2 || count > 3 ||
		    (count == 3 && mg_mp_read_uint(&rd, 255, &status)))
			break;
		if (mg_mp_read_str(&rd, &o, &olen) ||
		    mg_mp_read_str(&rd, &e, &elen))
			break;
		fwrite(o, 1, olen, out);
		fwrite(e, 1, elen, errf);
		if (count == 3) {
			err = (int)status;
			break;
		}
	}
	mg_buf_free(&body);
	return err;
}

int mg_ctl_call(const char *path, bool json, int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mg_buf req = { 0 };
	msgpack_packer pk;
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path) || argc > MG_CTL_MAX_ARGS) {
		fprintf(stderr, "meshgate: bad control socket path or too many arguments\n");
		return 2;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "meshgate: cannot reach the agent at %s: %s "
			"(is `meshgate agent` running? -c FILE names its socket)\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	mg_buf_put_be32(&req, 0);
	mg_mp_packer_init(&pk, &req);
	msgpack_pack_array(&pk, argc + 2);
	mg_mp_pack_uint(&pk, MG_CTL_VERSION);
	mg_mp_pack_bool(&pk, json);
	for (int i = 0; i < argc; i++)
		mg_mp_pack_cstr(&pk, argv[i]);
	err = req.data ? 0 : -ENOMEM;
	if (!err) {
		mg_put_be32(req.data, req.len - 4);
		err = io_full(fd, req.data, req.len, true);
	}
	if (!err)
		err = mg_ctl_read_answer(fd, stdout, stderr);
	close(fd);
	mg_buf_free(&req);
	if (err == -EBADMSG) {
		fprintf(stderr, "meshgate: the agent's answer is not readable\n");
		return 1;
	}
	if (err < 0) {
		fprintf(stderr, "meshgate: talking to the agent at %s: %s\n",
			path, strerror(-err));
		return 1;
	}
	return err;
}
