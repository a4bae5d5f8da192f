/* Entry framing: length prefix and zero padding to 8 bytes. */
#include "ledger/daemon/frame.h"

#include <stdint.h>
#include <string.h>

#include <raft.h>

static const unsigned char magic[4] = { 'L', 'D', 'G', '1' };

size_t ledgerd_frame_size(size_t len)
{
	return (LEDGERD_FRAME_HEADER + len + 7) & ~(size_t)7;
}

int ledgerd_frame_encode(void **out, size_t *out_len, const void *data, size_t len)
{
	unsigned char *buf;
	size_t total;

	if (len > LEDGERD_FRAME_MAX)
		return -1;
	total = ledgerd_frame_size(len);
	buf = raft_malloc(total);
	if (!buf)
		return -1;
	memset(buf, 0, total);
	memcpy(buf, magic, 4);
	buf[4] = (unsigned char)len;
	buf[5] = (unsigned char)(len >> 8);
	buf[6] = (unsigned char)(len >> 16);
	buf[7] = (unsigned char)(len >> 24);
	if (len)
		memcpy(buf + LEDGERD_FRAME_HEADER, data, len);
	*out = buf;
	*out_len = total;
	return 0;
}

int ledgerd_frame_decode(const void **data, size_t *len, const void *buf, size_t buf_len)
{
	const unsigned char *p = buf;
	size_t n, i;

	if (!buf || buf_len < LEDGERD_FRAME_HEADER || buf_len % 8 != 0)
		return -1;
	if (memcmp(p, magic, 4) != 0)
		return -1;
	n = (size_t)p[4] | (size_t)p[5] << 8 | (size_t)p[6] << 16 | (size_t)p[7] << 24;
	if (n > LEDGERD_FRAME_MAX || ledgerd_frame_size(n) != buf_len)
		return -1;
	for (i = LEDGERD_FRAME_HEADER + n; i < buf_len; i++)
		if (p[i] != 0)
			return -1;
	*data = p + LEDGERD_FRAME_HEADER;
	*len = n;
	return 0;
}
