/* Standard base64 (RFC 4648, with padding): the bytes fields of proto3
 * JSON (ledger.v1 values and idempotency keys, through grpcurl) and of
 * etcd's JSON gateway. */
#ifndef DR_COMMON_BASE64_H
#define DR_COMMON_BASE64_H

#include <stddef.h>

/* Heap string. */
char *b64_encode(const void *data, size_t len);
/* NULL on malformed input; *len (may be NULL) the decoded length; the
 * result is also NUL-terminated.  Heap. */
char *b64_decode(const char *text, size_t *len);

#endif
