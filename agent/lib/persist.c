// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "lib/log.h"
#include "lib/persist.h"

int mg_persist_mkdir(const char *dir)
{
	char path[PATH_MAX], *s;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (s = path + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory entry of a rename is durable once the directory is. */
static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

int mg_persist_write(const char *path, const void *data, size_t len)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	char *slash;
	int fd, err;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	err = mg_persist_mkdir(dir);
	if (err)
		return err;
	/*
	 * One writer per file (the agent's loop): a fixed temporary name,
	 * so that one a crash left is simply overwritten.  Never through a
	 * link someone planted.
	 */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0)
		return -errno;
	err = fchmod(fd, 0600) ? -errno : 0;
	if (!err)
		err = write_all(fd, data, len);
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	/*
	 * Renamed: the new content is what any later read (a restart) finds,
	 * so it is saved as far as the caller is concerned; only a power
	 * loss could still take the rename back.
	 */
	err = sync_dir(dir);
	if (err)
		pr_warn("%s: flushing the directory: %s", dir, strerror(-err));
	return 0;
}

int mg_persist_write_lines(const char *path, const char *const *lines, int n)
{
	size_t len = 0, o = 0;
	char *buf;
	int err;

	for (int i = 0; i < n; i++)
		len += strlen(lines[i]) + 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);

		memcpy(buf + o, lines[i], l);
		o += l;
		buf[o++] = '\n';
	}
	err = mg_persist_write(path, buf, len);
	free(buf);
	return err;
}
