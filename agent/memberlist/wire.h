/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * memberlist packet (UDP) and stream (TCP) framing, sans IO: bytes in,
 * decoded messages out, and back.
 *
 * Packet, innermost first: message or compound (7) -> compress (9, only if
 * smaller) -> hasCrc (12) -> encryption (bare blob).  Stream: payload ->
 * compress (9, always when enabled) -> [10][len][blob] with the header as AAD.
 */
#ifndef MG_GOSSIP_WIRE_H
#define MG_GOSSIP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "memberlist/crypto.h"
#include "memberlist/messages.h"

#define MG_ML_UDP_SIZE		1400	/* memberlist UDPBufferSize */
#define MG_ML_COMPOUND_MAX	255
#define MG_ML_MAX_DEPTH		8	/* nested compound/compress/crc */
#define MG_ML_PACKET_INFLATE_MAX (1u << 20)	/* LZW output per packet */
/* LZW output per stream: memberlist's maxPushStateBytes */
#define MG_ML_STREAM_INFLATE_MAX (20u << 20)
/*
 * Members one push/pull may carry: twice the member table's default bound
 * (MG_MEMBER_MAX_DEFAULT).  Decoded entries take about 800 bytes each, so
 * a push/pull of 65,536 fake members is refused at its header instead of
 * costing 52 MB to decode.
 */
#define MG_ML_STREAM_MAX_NODES	8192
#define MG_ML_LABEL		244	/* later memberlist: [244][len][label] */

struct mg_ml_opts {
	/* NULL or empty: no encryption either way */
	const struct mg_keyring *kr;
	/* rx with a keyring: take plaintext too (GossipVerifyIncoming=false) */
	bool accept_plaintext;
	/* tx: LZW-compress (packets only when that makes them smaller) */
	bool compress;
	/* tx: prefix packets with hasCrc (peer advertises PMax >= 5) */
	bool crc;
	/* tx: datagram budget before encryption; 0 = MG_ML_UDP_SIZE */
	size_t udp_size;
};

/* --- framing pieces ---------------------------------------------------------- */

/* Append [7][n][n x len BE16][parts...].  -EINVAL: n > 255 or a part > 64K. */
int mg_ml_compound_build(const struct mg_bytes *parts, unsigned int n,
			 struct mg_buf *out);

struct mg_ml_compound {
	unsigned int n;			/* complete parts */
	unsigned int truncated;		/* announced parts missing at the end */
	struct mg_bytes parts[MG_ML_COMPOUND_MAX];
};

/*
 * Split the body of a compound (the bytes after the 7).  Complete parts are
 * kept, missing ones counted in ->truncated.  -EBADMSG when even the count
 * or the length table is cut short.
 */
int mg_ml_compound_split(const uint8_t *p, size_t n, struct mg_ml_compound *c);

/* Append [12][crc32 BE][msg]. */
int mg_ml_crc_wrap(const uint8_t *msg, size_t n, struct mg_buf *out);
/* Check [12][crc][inner] and point @inner at inner.  -EBADMSG on mismatch. */
int mg_ml_crc_verify(const uint8_t *p, size_t n, struct mg_bytes *inner);

/* Append [9][msgpack compress{Algo: 0, Buf: lzw(msg)}]. */
int mg_ml_compress_wrap(const uint8_t *msg, size_t n, struct mg_buf *out);
/*
 * Decode a compress body (the msgpack after the 9) at @rd and append the
 * decompressed message to @out.  -EPROTONOSUPPORT for Algo != 0, -EMSGSIZE
 * past @max_out, -EBADMSG for bad LZW or an empty result, -EAGAIN truncated.
 */
int mg_ml_compress_unwrap(struct mg_mp_rd *rd, size_t max_out,
			  struct mg_buf *out);

/* --- packets --------------------------------------------------------------- */

struct mg_ml_rx_stats {
	unsigned int msgs;		/* delivered to the callback */
	unsigned int truncated;		/* compound parts cut off */
	unsigned int bad;		/* compound parts that failed to decode */
	bool encrypted;
	bool crc;
	bool compressed;
	bool compound;
};

/*
 * Called once per decoded message.  Views in @m (ack payload, user data)
 * are valid only during the call.  A negative return aborts the decode and
 * is returned by mg_ml_packet_decode().
 */
typedef int (*mg_ml_msg_fn)(void *ctx, const struct mg_ml_msg *m);

/*
 * Decode one datagram: skip a label, decrypt, verify/strip CRC, and dispatch,
 * recursing through compound and compress up to MG_ML_MAX_DEPTH levels.
 * Parts of a compound that fail are counted in @st (optional) and skipped,
 * as memberlist does.  Returns the number of messages delivered or -errno:
 * -EACCES (no key opens it / plaintext refused), -EBADMSG (malformed, bad
 * CRC), -EPROTO (not a packet message type), -EMSGSIZE, -ELOOP (too deep).
 */
int mg_ml_packet_decode(const uint8_t *pkt, size_t n,
			const struct mg_ml_opts *o, mg_ml_msg_fn fn, void *ctx,
			struct mg_ml_rx_stats *st);

/*
 * Would this datagram, refused with -EACCES, have made sense unencrypted?
 * Looks at its structure only: nothing compressed is inflated (with a key
 * set, plaintext is refused before any expensive work), no callback.
 */
int mg_ml_packet_looks_plain(const uint8_t *pkt, size_t n);

/*
 * Wrap one message (or a compound built by the caller) for the wire:
 * compress if enabled and smaller, CRC if enabled, encrypt if a keyring.
 */
int mg_ml_packet_wrap(const uint8_t *msg, size_t n, const struct mg_ml_opts *o,
		      struct mg_buf *out);

/*
 * Build one datagram from the leading messages of @msgs (each a complete
 * [type][body]): as many as fit the budget (udp_size minus CRC and
 * encryption overhead, 2 bytes compound header, 2 per part), in order; a
 * single message is sent as is, several as a compound.  The first message
 * is always taken, even if too big on its own.  Returns how many were used
 * (>= 1), 0 when @n is 0, or -errno.
 */
int mg_ml_packet_build(const struct mg_bytes *msgs, unsigned int n,
		       const struct mg_ml_opts *o, struct mg_buf *out);

/* --- streams --------------------------------------------------------------- */

struct mg_ml_stream {
	uint8_t type;			/* innermost type: 6, 8, 0, 2 or 13 */
	bool encrypted;
	bool compressed;
	size_t consumed;		/* input bytes this stream used */
	/* type 6 */
	struct mg_ml_push_pull_hdr pp;
	struct mg_ml_push_node *nodes;	/* pp.nodes entries, malloc'd */
	struct mg_bytes user_state;	/* pp.user_state_len raw bytes */
	/* type 8 */
	struct mg_ml_user_hdr user_hdr;
	struct mg_bytes user_data;
	/* types 0, 2, 13 */
	struct mg_ml_msg msg;
	/* owned: decrypted and decompressed bytes the views point into */
	struct mg_buf plain;
	struct mg_buf inflated;
};

/*
 * Decode one stream message from the bytes read so far.  Returns 0 and
 * fills @s (release with mg_ml_stream_free(), also after an error), or
 * -EAGAIN when more bytes are needed, -EACCES for an encrypted stream we
 * cannot open or a plaintext one when a keyring requires encryption,
 * -EPROTO for a type a stream does not carry, other -errno when malformed.
 */
int mg_ml_stream_decode(const uint8_t *p, size_t n, const struct mg_ml_opts *o,
			struct mg_ml_stream *s);
void mg_ml_stream_free(struct mg_ml_stream *s);
/*
 * How many bytes the stream starting at @p (@n read so far) needs in all
 * before mg_ml_stream_decode() can finish: an encrypted stream says so in
 * its header (label + 5 + length).  0 when it cannot be known (plaintext:
 * the reader must try).  A stream reader waits for that much instead of
 * decoding again on every arrival.
 */
size_t mg_ml_stream_need(const uint8_t *p, size_t n);

/* Append [6][header][nodes][user state]; hdr.nodes/user_state_len are set. */
int mg_ml_push_pull_encode(bool join, const struct mg_ml_push_node *nodes,
			   unsigned int n, const uint8_t *user_state,
			   size_t user_state_len, struct mg_buf *out);
/* Append [8][{UserMsgLen}][data]. */
int mg_ml_user_stream_encode(const uint8_t *data, size_t len,
			     struct mg_buf *out);
/* Compress (if enabled, always) then encrypt (if a keyring) a payload. */
int mg_ml_stream_wrap(const uint8_t *payload, size_t n,
		      const struct mg_ml_opts *o, struct mg_buf *out);

#endif
