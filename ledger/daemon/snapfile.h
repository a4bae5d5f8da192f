/* Snapshot files (Admin/CreateSnapshot, RestoreFromSnapshot, --seed-snapshot).
 *
 * One header line, then the serialized ledger state:
 *   LEDGERD-SNAPSHOT 1 index=<n> term=<n> bytes=<n> sha256=<hex of body>\n
 * The embedded checksum lets a copied file be verified on its own; the
 * checksum answered to callers is of the whole file (what sha256sum prints). */
#ifndef DR_LEDGER_DAEMON_SNAPFILE_H
#define DR_LEDGER_DAEMON_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/sha256.h"

struct ledgerd_snapinfo {
	uint64_t index;                     /* last ledger index in the file */
	uint64_t term;                      /* term of that entry (0 when empty) */
	size_t size;                        /* file size in bytes */
	char sha256[SHA256_HEX_LEN];        /* of the whole file */
};

/* Write atomically (tmp + fsync + rename).  Fills *out. */
int ledgerd_snapfile_write(struct ledgerd_snapinfo *out, const char *path,
			   const char *body, size_t len, uint64_t index, uint64_t term,
			   struct dr_error *err);
/* Read and verify.  *body is heap (free()), NUL-terminated.  Errors name the
 * file and say whether it is missing, not a snapshot or corrupt. */
int ledgerd_snapfile_read(char **body, size_t *len, struct ledgerd_snapinfo *info,
			  const char *path, struct dr_error *err);
/* Verify without keeping it (RestoreFromSnapshot, off the loop): the same
 * checks and messages as ledgerd_snapfile_read, reading the file in
 * chunks, so a file of hundreds of MiB costs no more memory than a chunk.
 * stop (may be NULL) is asked between chunks; when it returns nonzero the
 * check ends with -1 and "stopped".  Fills *info on success. */
int ledgerd_snapfile_check(struct ledgerd_snapinfo *info, const char *path,
			   int (*stop)(void *arg), void *stop_arg, struct dr_error *err);

#endif
