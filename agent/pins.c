// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "pins.h"
#include "lib/log.h"

int mg_pins_lock(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 && flock(fd, LOCK_SH | LOCK_NB)) {
		pr_warn("%s: cannot lock: %s", dir, strerror(errno));
		close(fd);
		fd = -1;
	}
	return fd;
}

bool mg_pins_busy(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK;
	close(fd);
	return busy;
}

/*
 * /proc/locks: "ID: FLOCK ADVISORY READ PID MAJ:MIN:INODE START END", the
 * device in hex.
 */
int mg_pins_holder(const char *dir)
{
	unsigned int maj, min;
	unsigned long ino;
	char line[256];
	struct stat st;
	int pid, found = 0;
	FILE *f;

	if (stat(dir, &st))
		return -errno;
	f = fopen("/proc/locks", "re");
	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		if (!strstr(line, " FLOCK ") ||
		    sscanf(line, "%*d: %*s %*s %*s %d %x:%x:%lu", &pid, &maj,
			   &min, &ino) != 4)
			continue;
		if (ino == st.st_ino && maj == major(st.st_dev) &&
		    min == minor(st.st_dev) && pid > 0)
			found = pid;
	}
	fclose(f);
	return found ? found : -ESRCH;
}
