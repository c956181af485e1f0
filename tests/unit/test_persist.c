// SPDX-License-Identifier: GPL-2.0-only
/*
 * Atomic saves into state_dir (lib/persist.c), where saving really fails
 * as root: a file where the directory should be, a read-only and a full
 * tmpfs mounted in a private mount namespace.  On failure the old file is
 * untouched and no temporary is left; on success the file is new, 0600.
 * And the mesh's CLI writers (endpoints, keys): applied only once saved.
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
#include "cli.h"
#include "config.h"
#include "dpmaps.h"
#include "mesh.h"
#include "lib/loop.h"
#include "lib/out.h"
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

/* --- the mesh's CLI writers ------------------------------------------------ */

/* Run `WORDS...` through fn; exit code, stderr in err, stdout in out. */
static int mesh_cmd(int (*fn)(struct mg_cli *, int, char **),
		    struct mg_mesh *mesh, const char *line, char *err,
		    size_t errlen, char *out, size_t outlen)
{
	char buf[256], *argv[16], *save = NULL, *tok;
	struct mg_cli cli = { .priv = mesh };
	FILE *of;
	int argc = 0, rc;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok && argc < 15;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	argv[argc] = NULL;
	memset(err, 0, errlen);
	memset(out, 0, outlen);
	cli.err = fmemopen(err, errlen, "w");
	of = fmemopen(out, outlen, "w");
	out_init(of, true);
	rc = fn(&cli, argc, argv);
	fclose(cli.err);
	fclose(of);
	return rc;
}

/* A file where the directory is: saving fails, even as root. */
static void break_dir(const char *dir, bool broken)
{
	char good[PATH_MAX + 8];

	snprintf(good, sizeof(good), "%s.good", dir);
	if (broken) {
		assert_int_equal(rename(dir, good), 0);
		put(dir, "", 0600);
	} else {
		assert_int_equal(unlink(dir), 0);
		assert_int_equal(rename(good, dir), 0);
	}
}

#define KEY_A "cGFzc3dvcmRwYXNzd29yZA=="	/* 16 bytes */
#define KEY_B "c2Vjb25kIGtleSBvZiAxNg=="

struct mesh_step {
	const char *cmd;	/* endpoints ... | keys ...; NULL: restart */
	bool broken;
	int rc;
	const char *says;	/* in stderr */
	int n_local;		/* own prefixes in the view after */
	int n_keys;		/* keys listed after */
};

static const struct mesh_step mesh_steps[] = {
	{ "endpoints add 10.11.0.0/24", true, 1,
	  "meshgate endpoints: ", 1, 1 },
	/* Not "already there": the failed add was not applied either. */
	{ "endpoints add 10.11.0.0/24", false, 0, "", 2, 1 },
	{ "endpoints add 10.12.0.0/24", true, 1,
	  "not changed: saving ", 2, 1 },
	{ NULL, false, 0, NULL, 2, 1 },
	{ "endpoints del 10.11.0.0/24", true, 1, "Not a directory", 2, 1 },
	{ NULL, false, 0, NULL, 2, 1 },
	{ "keys install " KEY_B, true, 1, "not changed: saving ", 2, 1 },
	{ "keys install " KEY_B, false, 0, "", 2, 2 },
	{ "keys use " KEY_B, true, 1, "not changed: saving ", 2, 2 },
	{ NULL, false, 0, NULL, 2, 2 },
	{ "endpoints del 10.11.0.0/24", false, 0, "", 1, 2 },
	{ NULL, false, 0, NULL, 1, 2 },
};

static int count_of(const char *s, const char *what)
{
	int n = 0;

	while ((s = strstr(s, what))) {
		n++;
		s += strlen(what);
	}
	return n;
}

static void test_mesh_cli_saves_before_applying(void **state)
{
	struct mg_config *cfg = calloc(1, sizeof(*cfg));
	struct mg_loop *loop = mg_loop_new();
	struct mg_mesh_ops ops = { 0 };
	struct mg_mesh *mesh = NULL;
	char err[PATH_MAX + 64], out[4096];
	struct mg_view v;

	mg_config_defaults(cfg);
	snprintf(cfg->gw_name, sizeof(cfg->gw_name), "gw1");
	snprintf(cfg->cluster_name, sizeof(cfg->cluster_name), "c1");
	cfg->cluster_id = 1;
	cfg->n_cidrs = 1;
	assert_int_equal(mg_prefix_parse("10.1.0.0/16", &cfg->cidrs[0]), 0);
	cfg->gossip_enabled = 0;
	cfg->n_keys = 1;
	snprintf(cfg->keys[0], sizeof(cfg->keys[0]), "%s", KEY_A);
	path_of(cfg->state_dir, sizeof(cfg->state_dir), "mesh");
	assert_int_equal(mkdir(cfg->state_dir, 0700), 0);
	assert_int_equal(mg_mesh_new(loop, cfg, &ops, NULL, &mesh), 0);
	for (size_t i = 0; i < sizeof(mesh_steps) / sizeof(mesh_steps[0]); i++) {
		const struct mesh_step *t = &mesh_steps[i];

		print_message("step: %s%s\n", t->cmd ? t->cmd : "restart",
			      t->broken ? " (state_dir broken)" : "");
		if (!t->cmd) {
			mg_mesh_free(mesh);
			assert_int_equal(mg_mesh_new(loop, cfg, &ops, NULL,
						     &mesh), 0);
		} else {
			if (t->broken)
				break_dir(cfg->state_dir, true);
			assert_int_equal(mesh_cmd(!strncmp(t->cmd, "keys", 4) ?
					mg_mesh_cmd_keys : mg_mesh_cmd_endpoints,
					mesh, t->cmd, err, sizeof(err), out,
					sizeof(out)), t->rc);
			if (t->broken)
				break_dir(cfg->state_dir, false);
			if (!strstr(err, t->says))
				fail_msg("stderr \"%s\" lacks \"%s\"", err,
					 t->says);
		}
		assert_int_equal(mg_mesh_view(mesh, &v), 0);
		assert_int_equal(v.n_local, t->n_local);
		mesh_cmd(mg_mesh_cmd_keys, mesh, "keys list", err, sizeof(err),
			 out, sizeof(out));
		assert_int_equal(count_of(out, "\"key\""), t->n_keys);
		/* KEY_B stays a secondary: its `use` was never saved. */
		if (t->n_keys == 2)
			assert_int_equal(count_of(out, "\"primary\":true"), 1);
	}
	mesh_cmd(mg_mesh_cmd_keys, mesh, "keys list", err, sizeof(err), out,
		 sizeof(out));
	assert_non_null(strstr(out, KEY_A "\",\"bits\":128,\"primary\":true"));
	mg_mesh_free(mesh);
	mg_loop_free(loop);
	free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_save),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_mesh_cli_saves_before_applying),
	};

	return cmocka_run_group_tests_name("persist", tests, setup, teardown);
}
