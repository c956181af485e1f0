// SPDX-License-Identifier: GPL-2.0-only
/*
 * Atomic saves into state_dir (lib/persist.c), where saving really fails
 * as root: a file where the directory should be, a read-only and a full
 * tmpfs mounted in a private mount namespace.  On failure the old file is
 * untouched and no temporary is left; on success the file is new, 0600.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "lib/persist.h"

static char base[] = "/tmp/mg-persist.XXXXXX";
static bool mounted;

static void put(const char *path, const char *s, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	fchmod(fd, mode);
	close(fd);
}

static void path_of(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", base, rel);
}

/* A tmpfs at base/rel holding "state" = "old\n". */
static int tmpfs_at(const char *rel, const char *opts)
{
	char dir[256], f[300];

	path_of(dir, sizeof(dir), rel);
	if (mkdir(dir, 0700) || mount("tmpfs", dir, "tmpfs", 0, opts))
		return -errno;
	snprintf(f, sizeof(f), "%s/state", dir);
	put(f, "old\n", 0600);
	return 0;
}

static int setup(void **state)
{
	char p[300], *buf;
	int fd;

	if (!mkdtemp(base))
		return -1;
	path_of(p, sizeof(p), "ok");
	mkdir(p, 0700);
	path_of(p, sizeof(p), "ok/state");
	put(p, "old\n", 0644);
	path_of(p, sizeof(p), "ok/state.tmp");	/* as a crash leaves it */
	put(p, "half", 0644);
	path_of(p, sizeof(p), "file");
	put(p, "not a directory\n", 0600);

	/* Mounts only this process sees, gone when it exits. */
	if (unshare(CLONE_NEWNS) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    tmpfs_at("ro", "size=64k") || tmpfs_at("full", "size=64k"))
		return 0;	/* the rows that need them skip */
	path_of(p, sizeof(p), "ro");
	if (mount(NULL, p, NULL, MS_REMOUNT | MS_RDONLY, NULL))
		return 0;
	path_of(p, sizeof(p), "full/filler");
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	buf = calloc(1, 4096);
	while (fd >= 0 && buf && write(fd, buf, 4096) > 0)
		;
	free(buf);
	if (fd >= 0)
		close(fd);
	mounted = true;
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	if (mounted) {
		snprintf(cmd, sizeof(cmd), "%s/ro", base);
		umount2(cmd, MNT_DETACH);
		snprintf(cmd, sizeof(cmd), "%s/full", base);
		umount2(cmd, MNT_DETACH);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) ? -1 : 0;
}

struct save_row {
	const char *name;
	const char *file;	/* under base */
	bool needs_mounts;
	size_t len;		/* bytes to save */
	int err;		/* expected: 0 or -errno */
};

static const struct save_row save_rows[] = {
	{ "replaces a 0644 file and a crash's temporary", "ok/state", false,
	  100, 0 },
	{ "makes a missing directory, 0700", "new/sub/state", false, 10, 0 },
	{ "a file where the directory should be", "file/state", false, 10,
	  -ENOTDIR },
	{ "a read-only file system", "ro/state", true, 10, -EROFS },
	{ "a full file system", "full/state", true, 65536, -ENOSPC },
};

/* The names in dir that end in ".tmp". */
static int temporaries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		n += l > 4 && !strcmp(e->d_name + l - 4, ".tmp");
	}
	closedir(d);
	return n;
}

static void test_save(void **state)
{
	for (size_t r = 0; r < sizeof(save_rows) / sizeof(save_rows[0]); r++) {
		const struct save_row *row = &save_rows[r];
		char path[300], dir[300], got[8] = { 0 };
		char *data = malloc(row->len);
		struct stat sb;
		int fd, err;

		print_message("row: %s\n", row->name);
		if (row->needs_mounts && !mounted) {
			print_message("  SKIP: no private mount namespace (not root?)\n");
			free(data);
			continue;
		}
		path_of(path, sizeof(path), row->file);
		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		memset(data, 'n', row->len);
		err = mg_persist_write(path, data, row->len);
		free(data);
		assert_int_equal(err, row->err);
		assert_int_equal(temporaries(dir), 0);
		if (row->err) {
			/* The old file, as it was (where there is one). */
			fd = open(path, O_RDONLY);
			if (fd >= 0) {
				assert_int_equal(read(fd, got, sizeof(got) - 1), 4);
				assert_string_equal(got, "old\n");
				close(fd);
			}
			continue;
		}
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0600);
		assert_int_equal(sb.st_size, (off_t)row->len);
		assert_int_equal(stat(dir, &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0700);
	}
}

static void test_lines(void **state)
{
	const char *const lines[] = { "10.1.0.0/16", "fd00:1::/64" };
	char path[300], got[64] = { 0 };
	int fd;

	path_of(path, sizeof(path), "ok/lines");
	assert_int_equal(mg_persist_write_lines(path, lines, 2), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, sizeof(got) - 1), 24);
	close(fd);
	assert_string_equal(got, "10.1.0.0/16\nfd00:1::/64\n");
	/* No lines: an empty file, not a missing one. */
	assert_int_equal(mg_persist_write_lines(path, lines, 0), 0);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, got, sizeof(got)), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save),
		cmocka_unit_test(test_lines),
	};

	return cmocka_run_group_tests_name("persist", tests, setup, teardown);
}
