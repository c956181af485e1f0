// SPDX-License-Identifier: GPL-2.0-only
/*
 * libmicrohttpd, loaded when the metrics server starts instead of at every
 * start of the binary: the CLI never serves HTTP, and the library with
 * gnutls and its dependencies was a third of each CLI call's start (see
 * docs/development.md).  The functions metrics.c calls, forwarded to the
 * library opened on first use; without it, MHD_start_daemon() fails with
 * a message and the agent runs without metrics, as when the port is taken.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "lib/log.h"

static void *mhd(const char *name)
{
	static const char *const libs[] = { "libmicrohttpd.so.12",
					    "libmicrohttpd.so" };
	static void *h;
	static bool tried;

	if (!h && !tried) {
		tried = true;
		for (size_t i = 0; !h && i < sizeof(libs) / sizeof(libs[0]);
		     i++)
			h = dlopen(libs[i], RTLD_NOW | RTLD_LOCAL);
		if (!h)
			pr_err("metrics: cannot load libmicrohttpd: %s",
			       dlerror());
	}
	return h ? dlsym(h, name) : NULL;
}

#define MHD_FN(name) ((__typeof__(&name))mhd(#name))

struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
				    MHD_AcceptPolicyCallback apc, void *apc_cls,
				    MHD_AccessHandlerCallback dh, void *dh_cls,
				    ...)
{
	__typeof__(&MHD_start_daemon_va) f = MHD_FN(MHD_start_daemon_va);
	struct MHD_Daemon *d;
	va_list ap;

	if (!f) {
		errno = ELIBACC;
		return NULL;
	}
	va_start(ap, dh_cls);
	d = f(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

void MHD_stop_daemon(struct MHD_Daemon *daemon)
{
	__typeof__(&MHD_stop_daemon) f = MHD_FN(MHD_stop_daemon);

	if (f)
		f(daemon);
}

struct MHD_Response *
MHD_create_response_from_buffer(size_t size, void *buffer,
				enum MHD_ResponseMemoryMode mode)
{
	__typeof__(&MHD_create_response_from_buffer) f =
		MHD_FN(MHD_create_response_from_buffer);

	return f ? f(size, buffer, mode) : NULL;
}

void MHD_destroy_response(struct MHD_Response *response)
{
	__typeof__(&MHD_destroy_response) f = MHD_FN(MHD_destroy_response);

	if (f)
		f(response);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection,
				   unsigned int status_code,
				   struct MHD_Response *response)
{
	__typeof__(&MHD_queue_response) f = MHD_FN(MHD_queue_response);

	return f ? f(connection, status_code, response) : MHD_NO;
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *response,
					const char *header, const char *content)
{
	__typeof__(&MHD_add_response_header) f =
		MHD_FN(MHD_add_response_header);

	return f ? f(response, header, content) : MHD_NO;
}
