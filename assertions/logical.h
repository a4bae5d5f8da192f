/* Private to assertions/: logical writes (one per sequence number) built
 * from the attempts of a history, shared by the checker and the
 * measurements.  Not part of the module's face. */
#ifndef DR_ASSERTIONS_LOGICAL_H
#define DR_ASSERTIONS_LOGICAL_H

#include <stddef.h>
#include <stdint.h>

#include "assertions/history.h"

/* One logical write, built from its attempts. */
struct logical {
	uint64_t seq;
	int64_t first_invoke_ns;  /* invoke of its earliest attempt */
	int64_t ack_ns;           /* completion of its earliest-completing ok attempt */
	int64_t last_complete_ns; /* completion of its latest-completing attempt */
	uint32_t attempts;        /* attempts folded into it */
	uint64_t index;           /* index that attempt acknowledged */
	uint32_t present;         /* times it is in the ledger */
	uint8_t state;            /* enum history_outcome of the logical write */
};

/* Group h's attempts by sequence into *out (heap, free(); sorted by
 * sequence; the history's own order is kept when it is already sorted, the
 * normal case, which skips the sort).  Returns the number of writes. */
size_t logical_build(struct logical **out, const struct history *h);

#endif
