/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * LZW as Go's compress/lzw does it with LSB order and literal width 8 (the
 * flavour memberlist uses): codes 0-255 literals, 256 clear, 257 EOF, first
 * dictionary code 258, width 9 growing to 12, bits packed LSB first.
 */
#ifndef MG_GOSSIP_LZW_H
#define MG_GOSSIP_LZW_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/*
 * Append the compressed form of @in to @out.  Like the go1.19+ writer, the
 * stream starts with a clear code, emits a clear when the next code would be
 * 4095, and ends with EOF and a final partial byte.  Returns 0 or -ENOMEM.
 */
int mg_lzw_compress(const uint8_t *in, size_t n, struct mg_buf *out);

/*
 * Append the decompression of @in to @out.  Accepts an optional leading
 * clear code; requires the EOF code (bytes after it are ignored).  Fails with
 * -EBADMSG on an invalid code or a stream without EOF, and with -EMSGSIZE
 * when the output would exceed @max_out bytes (decompression bombs).
 */
int mg_lzw_decompress(const uint8_t *in, size_t n, size_t max_out,
		      struct mg_buf *out);

#endif
