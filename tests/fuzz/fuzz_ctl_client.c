// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's framing on the client's side: the input is what the
 * agent's end of the socket sends (frames of a u32 length and a msgpack
 * answer), read by the CLI's reader through a socketpair whose other end
 * then hangs up.  The reader must return the status of a last frame (0..255)
 * or an error, and write no more than it was sent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>

#include "ctl.h"

#define FUZZ_MAX_INPUT (64u << 10) /* fits a socketpair's buffer */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *obuf = NULL, *ebuf = NULL;
	size_t olen = 0, elen = 0, done = 0;
	FILE *of, *ef;
	int sv[2], st;

	if (size > FUZZ_MAX_INPUT)
		size = FUZZ_MAX_INPUT;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	while (done < size) {
		ssize_t r = send(sv[0], data + done, size - done, MSG_NOSIGNAL);

		if (r <= 0)
			abort(); /* the buffer holds FUZZ_MAX_INPUT */
		done += r;
	}
	shutdown(sv[0], SHUT_WR);
	of = open_memstream(&obuf, &olen);
	ef = open_memstream(&ebuf, &elen);
	if (!of || !ef)
		abort();
	st = mg_ctl_read_answer(sv[1], of, ef);
	fclose(of);
	fclose(ef);
	if (st > 255 || (st < 0 && st != -EBADMSG && st != -EMSGSIZE &&
			 st != -ECONNRESET && st != -ENOMEM))
		abort();
	if (olen + elen > size)
		abort();
	free(obuf);
	free(ebuf);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
