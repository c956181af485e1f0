/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Files in state_dir, saved so that what the agent answers "ok" to is what
 * a restart finds: the whole file is written to a temporary beside it,
 * flushed to disk, renamed over the old one, and the directory flushed too.
 * A failure at any step leaves the old file as it was and no temporary
 * behind, and is returned, so the caller applies only what was saved.
 */
#ifndef MG_PERSIST_H
#define MG_PERSIST_H

#include <stddef.h>

/* mkdir -p, each directory made 0700 (state_dir holds keys). */
int mg_persist_mkdir(const char *dir);

/*
 * Replace path with len bytes of data, mode 0600, its directory made if
 * missing.  Returns 0, or -errno of the step that failed before the
 * rename (path then unchanged).  A failure to flush the directory after
 * the rename is only logged: the file already says the new content.
 */
int mg_persist_write(const char *path, const void *data, size_t len);

/* The same for n lines, each followed by a newline. */
int mg_persist_write_lines(const char *path, const char *const *lines, int n);

#endif
