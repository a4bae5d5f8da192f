/* Payload framing for Raft entries.
 *
 * libraft 0.15's uv backend needs every entry payload to be a multiple of
 * 8 bytes (otherwise a node restarted after kill -9 judges its segments
 * corrupt and drops them), so each command travels as
 *   [4 bytes magic "LDG1"][4 bytes little-endian data length][data][zeros]
 * padded to the next multiple of 8. */
#ifndef DR_LEDGER_DAEMON_FRAME_H
#define DR_LEDGER_DAEMON_FRAME_H

#include <stddef.h>

#define LEDGERD_FRAME_HEADER 8
#define LEDGERD_FRAME_MAX (64u * 1024 * 1024)

/* Size of the framed buffer for len data bytes (a multiple of 8). */
size_t ledgerd_frame_size(size_t len);
/* Frame data into a buffer from raft_malloc (*out, *out_len).  Returns 0,
 * or -1 when len is over LEDGERD_FRAME_MAX or memory ran out. */
int ledgerd_frame_encode(void **out, size_t *out_len, const void *data, size_t len);
/* Find the data inside a framed buffer without copying.  Returns 0, or -1
 * when the buffer is not a well-formed frame (bad magic, length past the
 * end, non-zero padding, size not a multiple of 8). */
int ledgerd_frame_decode(const void **data, size_t *len, const void *buf, size_t buf_len);

#endif
