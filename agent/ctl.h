/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket (DESIGN §4): a root-only UNIX stream socket through
 * which the CLI asks the running agent.  One request per connection:
 *
 *   frame    = u32 length (network order, <= MG_CTL_MAX_FRAME) + msgpack body
 *   request  = [1, json (bool), "word", "word", ...]   (the CLI's argv)
 *   response = part* last
 *   part     = [stdout (raw), stderr (raw)]             (more to come)
 *   last     = [status (int), stdout (raw), stderr (raw)]
 *
 * Each frame of the response carries at most MG_CTL_CHUNK bytes of each
 * stream, so an answer of any size (a listing of 50,000 endpoints) reaches
 * the client in frames it accepts, and the client prints each as it comes.
 *
 * The agent renders the answer with the same printer as the CLI (text or
 * JSON), so a command prints the same whether it ran here or there.
 */
#ifndef MG_CTL_H
#define MG_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "cli.h"

#define MG_CTL_SOCKET_DEFAULT	"/run/meshgate/meshgate.sock"
#define MG_CTL_VERSION		1
#define MG_CTL_MAX_FRAME	(1u << 20)
#define MG_CTL_CHUNK		(256u << 10)
#define MG_CTL_MAX_ARGS		32
#define MG_CTL_MAX_ARG		1024

struct mg_loop;
struct mg_ctl;

struct mg_ctl_request {
	bool json;
	int argc;
	char *argv[MG_CTL_MAX_ARGS + 1];
	char storage[MG_CTL_MAX_ARGS * (MG_CTL_MAX_ARG + 1)];
};

/* Decode a request body (after the length).  0, or -EBADMSG / -EINVAL. */
int mg_ctl_request_decode(const uint8_t *p, size_t n,
			  struct mg_ctl_request *req);

/*
 * Listen on path (mode 0600, parent created 0700; a stale socket is
 * replaced) and serve requests from the loop with the commands of table,
 * whose run() gets a struct mg_cli with priv = arg.
 */
struct mg_ctl *mg_ctl_open(struct mg_loop *loop, const char *path,
			   const struct mg_cmd *table, void *arg);
void mg_ctl_close(struct mg_ctl *ctl);
/*
 * How long a client has from connecting to deliver its whole request
 * (default 2 s; the agent keeps it, tests that hold a client stalled on
 * purpose lengthen it so that nothing depends on the machine's speed).
 */
void mg_ctl_set_request_timeout(struct mg_ctl *ctl, unsigned int ms);

/*
 * Client: send argv to the agent at path and print its answer on our
 * stdout/stderr.  Returns the command's exit status, or 1 with a message
 * when the agent cannot be reached.
 */
int mg_ctl_call(const char *path, bool json, int argc, char **argv);
/*
 * The client's reader of an answer on fd: each frame's stdout and stderr
 * parts written to out and err as they come.  Returns the command's
 * status, -EBADMSG for a frame that is not an answer, -EMSGSIZE for one
 * over MG_CTL_MAX_FRAME, or another -errno (the agent hung up, timeout).
 */
int mg_ctl_read_answer(int fd, FILE *out, FILE *err);

#endif
