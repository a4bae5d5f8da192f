/* SHA-256 (FIPS 180-4), for snapshot checksums and state digests.
 * Small and dependency-free so every module can checksum files the same way. */
#ifndef DR_COMMON_SHA256_H
#define DR_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN 65 /* 64 hex digits and a NUL */

struct sha256 {
	uint32_t h[8];
	uint64_t total;       /* bytes hashed so far */
	unsigned char block[64];
	size_t used;          /* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_DIGEST_LEN]);
/* Lowercase hex of a finished digest; hex must hold SHA256_HEX_LEN bytes. */
void sha256_final_hex(struct sha256 *s, char hex[SHA256_HEX_LEN]);
/* One-shot helper: hex digest of data. */
void sha256_hex(char hex[SHA256_HEX_LEN], const void *data, size_t len);

#endif
