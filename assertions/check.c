/* The history checker (see check.h for the rules). */
#include "assertions/check.h"

#include <stdlib.h>
#include <string.h>

#include "assertions/logical.h"
#include "assertions/sort.h"
#include "common/strbuf.h"

static int validate(const struct history *h, struct dr_error *err)
{
	for (size_t i = 0; i < h->count; i++) {
		const struct history_op *op = &h->ops[i];

		if (op->sequence == 0)
			return dr_error_set(err, "invalid history: attempt %zu has sequence 0", i);
		if (op->complete_ns < op->invoke_ns)
			return dr_error_set(err,
					    "invalid history: attempt %zu (sequence %llu) completed "
					    "before it was invoked", i,
					    (unsigned long long)op->sequence);
		if (op->outcome > HISTORY_UNKNOWN)
			return dr_error_set(err,
					    "invalid history: attempt %zu (sequence %llu) has "
					    "outcome %u", i, (unsigned long long)op->sequence,
					    (unsigned)op->outcome);
	}
	return 0;
}

static void list_add(uint64_t *list, size_t *n, uint64_t seq)
{
	if (*n < CHECK_MAX_LISTED)
		list[(*n)++] = seq;
}

/* Merge the sorted ledger sequences into the logical writes. */
static void match_ledger(struct check_result *r, struct logical *ws, size_t n,
			 const struct ledger_entry_ref *entries, size_t n_entries)
{
	struct sort_pair *seqs = xmalloc((n_entries ? n_entries : 1) * sizeof(*seqs));
	bool sorted = true;
	size_t e = 0;

	for (size_t i = 0; i < n_entries; i++) {
		seqs[i].key = entries[i].sequence;
		seqs[i].payload = 0;
		if (i > 0 && seqs[i - 1].key > seqs[i].key)
			sorted = false;
	}
	if (!sorted)
		sort_pairs(seqs, n_entries);
	for (size_t w = 0; w < n; w++) {
		while (e < n_entries && seqs[e].key < ws[w].seq) {
			r->unexpected++;
			e++;
		}
		while (e < n_entries && seqs[e].key == ws[w].seq) {
			ws[w].present++;
			e++;
		}
	}
	r->unexpected += n_entries - e;
	free(seqs);
}

static void tally(struct check_result *r, const struct logical *ws, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct logical *w = &ws[i];

		switch (w->state) {
		case HISTORY_OK:
			r->ok++;
			if (w->present == 0) {
				if (r->lost == 0 || w->ack_ns < r->oldest_lost_ack_ns)
					r->oldest_lost_ack_ns = w->ack_ns;
				r->lost++;
				list_add(r->lost_sequences, &r->n_lost_sequences, w->seq);
			}
			break;
		case HISTORY_FAILED:
			r->failed++;
			if (w->present > 0) {
				r->definite_failed_present++;
				list_add(r->definite_failed_present_sequences,
					 &r->n_definite_failed_present_sequences, w->seq);
			}
			break;
		default:
			r->unknown++;
			if (w->present > 0)
				r->unknown_present++;
			break;
		}
		if (w->present > 1) {
			r->duplicated++;
			list_add(r->duplicated_sequences, &r->n_duplicated_sequences, w->seq);
		}
	}
}

/* The ok writes' positions in ws, ordered by ack time (by_ack) or by
 * first invoke.  Already in order for a sequential writer: no sort then. */
static size_t ok_order(struct sort_pair *order, const struct logical *ws, size_t n, bool by_ack)
{
	size_t k = 0;
	bool sorted = true;

	for (size_t i = 0; i < n; i++) {
		/* An acknowledgement without an index (a ledger.v1 answer may
		 * leave it out) says nothing about order. */
		if (ws[i].state != HISTORY_OK || ws[i].index == 0)
			continue;
		order[k].key = sort_key_i64(by_ack ? ws[i].ack_ns : ws[i].first_invoke_ns);
		order[k].payload = i;
		if (k > 0 && order[k - 1].key > order[k].key)
			sorted = false;
		k++;
	}
	if (!sorted)
		sort_pairs(order, k);
	return k;
}

/* Real-time order: sweep the writes by first invoke; `done` holds those
 * acknowledged strictly before the current invoke, of which we keep the
 * highest index.  A write whose index is below it was ordered after a write
 * that finished before it started. */
static void check_order(struct check_result *r, const struct logical *ws, size_t n)
{
	struct sort_pair *acks = xmalloc((r->ok ? r->ok : 1) * sizeof(*acks));
	struct sort_pair *invokes = xmalloc((r->ok ? r->ok : 1) * sizeof(*invokes));
	size_t n_acks = ok_order(acks, ws, n, true);
	size_t n_invokes = ok_order(invokes, ws, n, false);
	size_t a = 0;
	const struct logical *max = NULL;

	for (size_t i = 0; i < n_invokes; i++) {
		const struct logical *b = &ws[invokes[i].payload];

		while (a < n_acks && acks[a].key < invokes[i].key) {
			const struct logical *done = &ws[acks[a].payload];

			if (!max || done->index > max->index)
				max = done;
			a++;
		}
		if (max && max->index > b->index) {
			if (r->reordered == 0) {
				r->reorder_first_seq = max->seq;
				r->reorder_first_index = max->index;
				r->reorder_second_seq = b->seq;
				r->reorder_second_index = b->index;
			}
			r->reordered++;
		}
	}
	free(acks);
	free(invokes);
}

int history_check(struct check_result *out, const struct history *h,
		  const struct ledger_entry_ref *entries, size_t n_entries,
		  struct dr_error *err)
{
	struct logical *ws = NULL;
	size_t n;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (validate(h, err) < 0)
		goto out;
	n = logical_build(&ws, h);
	out->attempts = h->count;
	out->logical = n;
	out->history_overflow = h->overflow;
	out->history_dropped = h->dropped;
	match_ledger(out, ws, n, entries, n_entries);
	tally(out, ws, n);
	check_order(out, ws, n);
	ret = 0;
out:
	free(ws);
	return ret;
}

uint64_t check_integrity_violations(const struct check_result *r)
{
	return r->duplicated + r->definite_failed_present + r->reordered + r->unexpected;
}
