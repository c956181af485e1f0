// SPDX-License-Identifier: GPL-2.0-only
/*
 * A main() for every libFuzzer harness, so its corpus runs as a plain test
 * (under valgrind too) without clang's fuzzer runtime.
 *
 *	fuzz_X_replay FILE|DIR...
 *
 * Runs LLVMFuzzerTestOneInput() once on every file, recursing into
 * directories (in name order, skipping dot files).  Each input is copied
 * into a buffer of exactly its size, so a read past the end is caught by
 * ASan or valgrind.  A harness crashes or aborts on a bad input; this
 * returns non-zero only when a path is missing, unreadable, or a directory
 * holds no inputs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
	uint8_t *data = NULL;
	size_t size = 0;
	FILE *f;
	long len;
	int err = 0;

	f = fopen(path, "rb");
	if (!f) {
		err = -errno;
		goto cleanup;
	}
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET)) {
		err = -errno;
		goto cleanup;
	}
	size = (size_t)len;
	data = malloc(size ? size : 1);
	if (!data) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (size && fread(data, 1, size, f) != size) {
		err = -EIO;
		goto cleanup;
	}
	LLVMFuzzerTestOneInput(data, size);
cleanup:
	if (err)
		fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(-err));
	free(data);
	if (f)
		fclose(f);
	return err;
}

static int filter_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Returns the number of inputs run under path, or -errno. */
static long run_path(const char *path)
{
	struct dirent **names = NULL;
	struct stat st;
	long total = 0, n_run;
	char *child;
	int n, i;

	if (stat(path, &st))
		goto err;
	if (!S_ISDIR(st.st_mode))
		return run_file(path) ? -EIO : 1;

	n = scandir(path, &names, filter_dot, alphasort);
	if (n < 0)
		goto err;
	for (i = 0; i < n; i++) {
		if (total >= 0) {
			if (asprintf(&child, "%s/%s", path,
				     names[i]->d_name) < 0) {
				total = -ENOMEM;
			} else {
				n_run = run_path(child);
				total = n_run < 0 ? n_run : total + n_run;
				free(child);
			}
		}
		free(names[i]);
	}
	free(names);
	return total;
err:
	n = errno;
	fprintf(stderr, "fuzz replay: %s: %s\n", path, strerror(n));
	return -n;
}

int main(int argc, char **argv)
{
	long n, total = 0;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		n = run_path(argv[i]);
		if (n < 0)
			return 1;
		if (n == 0) {
			fprintf(stderr, "fuzz replay: %s: no inputs\n",
				argv[i]);
			return 1;
		}
		total += n;
	}
	printf("fuzz replay: %ld inputs OK\n", total);
	return 0;
}
