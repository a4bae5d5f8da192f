/* Comparing every replica's state after a soak iteration: ledgerd's
 * `inferadb.ledger.v1.Debug/Digest` (sha256 of all entries, with the
 * node's applied index) on every node, once the workload has stopped.
 *
 * Replicas apply the last entries a heartbeat apart, so the comparison is a
 * bounded poll: it settles as soon as every node answers at the same applied
 * index, and then the digests must be equal.
 */
#ifndef DR_HARNESS_SOAK_SOAK_DIGEST_H
#define DR_HARNESS_SOAK_SOAK_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

struct soak_digests {
	size_t nodes;          /* nodes asked */
	size_t answered;       /* nodes that answered in the last round */
	int settled;           /* every node answered at one applied index */
	int equal;             /* settled and every digest the same */
	uint64_t last_index;   /* ledger index of the first answering node */
	char digest[65];       /* that node's digest */
	char detail[512];      /* why not equal: per-node digests or indexes */
};

/* Decide from one round of answers: answers[i] is node i's Debug/Digest
 * answer or NULL when it did not answer.  Fills out (nodes = n). */
void soak_digests_judge(struct soak_digests *out, json_t *const *answers, size_t n);

/* Ask every endpoint (with the admin token, or NULL) until
 * the answers settle or timeout_ns passes.  Returns 0 with out filled
 * (settled or not), or -1 with err set when the client cannot be made at
 * all. */
int soak_digests_compare(struct soak_digests *out, char *const *endpoints, size_t n,
			 const char *admin_token, int64_t timeout_ns, struct dr_error *err);

#endif
