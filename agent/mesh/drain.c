// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drain, undrain and restart: our "mode" tag and drain_hook.
 */
#include "mesh/mesh_int.h"

/* --- drain and restart -------------------------------------------------------- */

/*
 * drain_hook, a command line for /bin/sh, with the event (drain, undrain)
 * as its last argument and in MESHGATE_EVENT; in the background, not
 * waited for.
 */
static void run_hook(const struct mg_mesh *mesh, const char *event)
{
	const char *hook = mesh->cfg->drain_hook;
	char cmd[PATH_MAX + 8];
	pid_t pid;

	if (!hook[0])
		return;
	pr_info("drain_hook: %s %s", hook, event);
	pid = fork();
	if (pid < 0) {
		pr_warn("drain_hook: %s", strerror(errno));
		return;
	}
	if (!pid) {
		/* Orphaned at once: init reaps it, our loop never has to. */
		if (!fork()) {
			setenv("MESHGATE_EVENT", event, 1);
			snprintf(cmd, sizeof(cmd), "%s \"$1\"", hook);
			execl("/bin/sh", "sh", "-c", cmd, "drain_hook", event,
			      (char *)NULL);
			_exit(127);
		}
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

static bool is_draining(const struct mg_mesh *mesh)
{
	return mesh->mode && !strcmp(mesh->mode, "draining");
}

bool mg_mesh_draining(const struct mg_mesh *mesh)
{
	return is_draining(mesh);
}

int mg_mesh_drain(struct mg_mesh *mesh, bool on)
{
	if (!mesh->member)
		return -ENOTCONN;
	if (on == is_draining(mesh))
		return -EALREADY;
	if (on) {
		/* Kept across a restart: an empty file, saved as the others. */
		int err = mg_persist_write(mesh->drain_path, "", 0);

		if (err)
			pr_warn("%s: %s (a restart ends the drain)",
				mesh->drain_path, strerror(-err));
	} else if (unlink(mesh->drain_path) && errno != ENOENT) {
		pr_warn("%s: %s", mesh->drain_path, strerror(errno));
	}
	mesh->mode = on ? "draining" : NULL;
	mg_member_update_meta(mesh->member, NULL);
	pr_info(on ? "draining: peers withdraw this gateway; its datapath keeps forwarding what arrives" :
		     "undrained: peers use this gateway again");
	run_hook(mesh, on ? "drain" : "undrain");
	return 0;
}

int mg_mesh_announce_restart(struct mg_mesh *mesh)
{
	if (!mesh->member || mesh->leave_timer)
		return -ENOTCONN;
	if (is_draining(mesh))
		return 0;	/* drained it stays, through the restart */
	mesh->mode = "restarting";
	return mg_member_update_meta(mesh->member, NULL);
}
