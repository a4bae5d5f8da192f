/* Stable LSD radix sort of (key, payload) pairs (see sort.h). */
#include "assertions/sort.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"

void sort_pairs(struct sort_pair *a, size_t n)
{
	size_t counts[8][256];
	struct sort_pair *tmp, *src = a, *dst;

	if (n < 2)
		return;
	/* One pass counts every byte position at once. */
	memset(counts, 0, sizeof(counts));
	for (size_t i = 0; i < n; i++) {
		uint64_t k = a[i].key;

		for (int b = 0; b < 8; b++)
			counts[b][(k >> (8 * b)) & 0xff]++;
	}
	tmp = xmalloc(n * sizeof(*tmp));
	dst = tmp;
	for (int b = 0; b < 8; b++) {
		size_t offsets[256], sum = 0;
		bool trivial = false;
		struct sort_pair *swap;

		for (int d = 0; d < 256; d++) {
			if (counts[b][d] == n)
				trivial = true; /* every key has this byte */
			offsets[d] = sum;
			sum += counts[b][d];
		}
		if (trivial)
			continue;
		for (size_t i = 0; i < n; i++)
			dst[offsets[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
		swap = src;
		src = dst;
		dst = swap;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
	free(tmp);
}
