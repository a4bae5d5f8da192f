/* Private to assertions/: a stable LSD radix sort of (key, payload) pairs,
 * O(n) per non-trivial byte of the keys.  The checker sorts millions of
 * attempts; qsort's comparator calls made that the dominant cost. */
#ifndef DR_ASSERTIONS_SORT_H
#define DR_ASSERTIONS_SORT_H

#include <stddef.h>
#include <stdint.h>

struct sort_pair {
	uint64_t key;
	uint64_t payload;
};

/* Sort a[0..n) by key, ascending; equal keys keep their order (stable).
 * Uses n temporary pairs.  Byte positions where every key has the same
 * byte are skipped, so small keys (sequences) and close keys (timestamps
 * of one drill) cost 2-4 passes, not 8. */
void sort_pairs(struct sort_pair *a, size_t n);

/* A signed key mapped to an unsigned one with the same order. */
static inline uint64_t sort_key_i64(int64_t v)
{
	return (uint64_t)v ^ (UINT64_C(1) << 63);
}

#endif
