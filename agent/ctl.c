// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "ctl.h"
#include "gossip/msgpack.h"
#include "lib/log.h"
#include "lib/loop.h"
#include "lib/out.h"

#define CTL_IO_TIMEOUT_MS	2000

struct mg_ctl {
	struct mg_loop *loop;
	struct mg_loop_src *src;
	const struct mg_cmd *table;
	void *arg;
	int fd;
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

/* Read or write exactly n bytes within the I/O deadline. */
static int io_full(int fd, void *buf, size_t n, bool wr)
{
	struct pollfd pfd = { .fd = fd, .events = wr ? POLLOUT : POLLIN };
	size_t done = 0;

	while (done < n) {
		ssize_t r;

		if (poll(&pfd, 1, CTL_IO_TIMEOUT_MS) <= 0)
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

static int send_frame(int fd, const struct mg_buf *b)
{
	uint8_t hdr[4] = { b->len >> 24, b->len >> 16, b->len >> 8, b->len };
	int err = io_full(fd, hdr, 4, true);

	return err ? err : io_full(fd, b->data, b->len, true);
}

static int recv_frame(int fd, uint8_t **out, size_t *len)
{
	uint8_t hdr[4];
	uint32_t n;
	int err;

	err = io_full(fd, hdr, 4, false);
	if (err)
		return err;
	n = (uint32_t)hdr[0] << 24 | hdr[1] << 16 | hdr[2] << 8 | hdr[3];
	if (n > MG_CTL_MAX_FRAME)
		return -EMSGSIZE;
	*out = malloc(n ? n : 1);
	if (!*out)
		return -ENOMEM;
	err = io_full(fd, *out, n, false);
	if (err) {
		free(*out);
		return err;
	}
	*len = n;
	return 0;
}

static void serve(struct mg_ctl *ctl, int fd)
{
	struct mg_ctl_request *req = malloc(sizeof(*req));
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0, n;
	const struct mg_cmd *cmd;
	struct mg_buf resp = { 0 };
	msgpack_packer pk;
	struct mg_cli cli;
	uint8_t *body = NULL;
	FILE *of, *ef;
	int status = 2;

	if (!req || recv_frame(fd, &body, &n))
		goto out;
	of = open_memstream(&obuf, &olen);
	ef = open_memstream(&ebuf, &elen);
	if (!of || !ef) {
		if (of)
			fclose(of);
		if (ef)
			fclose(ef);
		goto out;
	}
	if (mg_ctl_request_decode(body, n, req)) {
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
			status = cmd->run(&cli, req->argc, req->argv);
		}
	}
	fclose(of);
	fclose(ef);

	mg_mp_packer_init(&pk, &resp);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, status);
	mg_mp_pack_raw(&pk, obuf, olen);
	mg_mp_pack_raw(&pk, ebuf, elen);
	if (send_frame(fd, &resp))
		pr_debug("control socket: client went away");
out:
	mg_buf_free(&resp);
	free(obuf);
	free(ebuf);
	free(body);
	free(req);
}

static void on_accept(struct mg_loop_src *src, uint32_t events, void *arg)
{
	struct mg_ctl *ctl = arg;
	int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	serve(ctl, fd);
	close(fd);
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
	ctl->src = mg_loop_add_fd(loop, ctl->fd, EPOLLIN, on_accept, ctl);
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

void mg_ctl_close(struct mg_ctl *ctl)
{
	if (!ctl)
		return;
	mg_loop_del(ctl->loop, ctl->src);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl);
}

int mg_ctl_call(const char *path, bool json, int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct mg_buf req = { 0 };
	const uint8_t *s;
	struct mg_mp_rd rd;
	msgpack_packer pk;
	uint8_t *body = NULL;
	uint32_t count, len;
	uint64_t status = 1;
	size_t n;
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
	mg_mp_packer_init(&pk, &req);
	msgpack_pack_array(&pk, argc + 2);
	mg_mp_pack_uint(&pk, MG_CTL_VERSION);
	mg_mp_pack_bool(&pk, json);
	for (int i = 0; i < argc; i++)
		mg_mp_pack_cstr(&pk, argv[i]);
	err = send_frame(fd, &req);
	if (!err)
		err = recv_frame(fd, &body, &n);
	close(fd);
	mg_buf_free(&req);
	if (err) {
		fprintf(stderr, "meshgate: talking to the agent at %s: %s\n",
			path, strerror(-err));
		return 1;
	}
	mg_mp_rd_init(&rd, body, n);
	if (mg_mp_read_array(&rd, &count) || count != 3 ||
	    mg_mp_read_uint(&rd, 255, &status)) {
		fprintf(stderr, "meshgate: the agent's answer is not readable\n");
		free(body);
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		if (mg_mp_read_str(&rd, &s, &len))
			break;
		fwrite(s, 1, len, i ? stderr : stdout);
	}
	free(body);
	return (int)status;
}
