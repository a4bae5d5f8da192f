/* Logical writes from attempts (see logical.h). */
#include "assertions/logical.h"

#include <stdbool.h>
#include <stdlib.h>

#include "assertions/sort.h"
#include "common/strbuf.h"

/* Fold the attempt into its logical write (first attempt: w->seq == 0). */
static void fold(struct logical *w, const struct history_op *op, bool *all_failed)
{
	if (w->seq == 0) {
		w->seq = op->sequence;
		w->first_invoke_ns = op->invoke_ns;
		w->last_complete_ns = op->complete_ns;
		*all_failed = true;
	}
	w->attempts++;
	if (op->complete_ns > w->last_complete_ns)
		w->last_complete_ns = op->complete_ns;
	if (op->invoke_ns < w->first_invoke_ns)
		w->first_invoke_ns = op->invoke_ns;
	if (op->outcome == HISTORY_OK && (w->state != HISTORY_OK || op->complete_ns < w->ack_ns)) {
		w->state = HISTORY_OK;
		w->ack_ns = op->complete_ns;
		w->index = op->index;
	}
	if (op->outcome != HISTORY_FAILED)
		*all_failed = false;
}

size_t logical_build(struct logical **out, const struct history *h)
{
	struct logical *ws = xcalloc(h->count ? h->count : 1, sizeof(*ws));
	struct sort_pair *order = NULL;
	bool sorted = true;
	size_t n = 0;
	bool all_failed = false;

	for (size_t i = 1; i < h->count && sorted; i++)
		sorted = h->ops[i - 1].sequence <= h->ops[i].sequence;
	if (!sorted) {
		order = xmalloc(h->count * sizeof(*order));
		for (size_t i = 0; i < h->count; i++) {
			order[i].key = h->ops[i].sequence;
			order[i].payload = i;
		}
		sort_pairs(order, h->count); /* stable: a sequence's attempts keep their order */
	}
	for (size_t i = 0; i < h->count; i++) {
		const struct history_op *op = &h->ops[order ? order[i].payload : i];

		if (n > 0 && ws[n - 1].seq == op->sequence) {
			fold(&ws[n - 1], op, &all_failed);
		} else {
			if (n > 0 && ws[n - 1].state != HISTORY_OK)
				ws[n - 1].state = all_failed ? HISTORY_FAILED : HISTORY_UNKNOWN;
			ws[n].state = HISTORY_UNKNOWN;
			fold(&ws[n], op, &all_failed);
			n++;
		}
	}
	if (n > 0 && ws[n - 1].state != HISTORY_OK)
		ws[n - 1].state = all_failed ? HISTORY_FAILED : HISTORY_UNKNOWN;
	free(order);
	*out = ws;
	return n;
}

