/* The history checker (see check.h for the rules). */
#include "assertions/check.h"

#include <stdlib.h>
#include <string.h>

#include "assertions/logical.h"
#include "common/strbuf.h"

/* (key, payload) pairs for the sorts. */
struct key_pair {
	int64_t key;
	uint64_t a;
	uint64_t b;
};

static int cmp_u64(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return a < b ? -1 : a > b;
}

static int cmp_key_pair(const void *pa, const void *pb)
{
	const struct key_pair *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->a < b->a ? -1 : a->a > b->a;
}

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
	uint64_t *seqs = xmalloc((n_entries ? n_entries : 1) * sizeof(*seqs));
	bool sorted = true;
	size_t e = 0;

	for (size_t i = 0; i < n_entries; i++) {
		seqs[i] = entries[i].sequence;
		if (i > 0 && seqs[i - 1] > seqs[i])
			sorted = false;
	}
	if (!sorted)
		qsort(seqs, n_entries, sizeof(*seqs), cmp_u64);
	for (size_t w = 0; w < n; w++) {
		while (e < n_entries && seqs[e] < ws[w].seq) {
			r->unexpected++;
			e++;
		}
		while (e < n_entries && seqs[e] == ws[w].seq) {
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

/* Fill pairs (key, index, seq) for the ok writes; sorts by key unless it
 * is already in order (the normal case for a sequential writer). */
static void sorted_pairs(struct key_pair *pairs, const struct logical *ws, size_t n, bool by_ack,
			 size_t *count)
{
	size_t k = 0;
	bool sorted = true;

	for (size_t i = 0; i < n; i++) {
		if (ws[i].state != HISTORY_OK)
			continue;
		pairs[k].key = by_ack ? ws[i].ack_ns : ws[i].first_invoke_ns;
		pairs[k].a = ws[i].index;
		pairs[k].b = ws[i].seq;
		if (k > 0 && cmp_key_pair(&pairs[k - 1], &pairs[k]) > 0)
			sorted = false;
		k++;
	}
	if (!sorted)
		qsort(pairs, k, sizeof(*pairs), cmp_key_pair);
	*count = k;
}

/* Real-time order: sweep the writes by first invoke; `done` holds those
 * acknowledged strictly before the current invoke, of which we keep the
 * highest index.  A write whose index is below it was ordered after a write
 * that finished before it started. */
static void check_order(struct check_result *r, const struct logical *ws, size_t n)
{
	struct key_pair *acks = xmalloc((r->ok ? r->ok : 1) * sizeof(*acks));
	struct key_pair *invokes = xmalloc((r->ok ? r->ok : 1) * sizeof(*invokes));
	size_t n_acks, n_invokes, a = 0;
	uint64_t max_index = 0, max_seq = 0;
	bool have_max = false;

	sorted_pairs(acks, ws, n, true, &n_acks);
	sorted_pairs(invokes, ws, n, false, &n_invokes);
	for (size_t i = 0; i < n_invokes; i++) {
		while (a < n_acks && acks[a].key < invokes[i].key) {
			if (!have_max || acks[a].a > max_index) {
				max_index = acks[a].a;
				max_seq = acks[a].b;
				have_max = true;
			}
			a++;
		}
		if (have_max && max_index > invokes[i].a) {
			if (r->reordered == 0) {
				r->reorder_first_seq = max_seq;
				r->reorder_first_index = max_index;
				r->reorder_second_seq = invokes[i].b;
				r->reorder_second_index = invokes[i].a;
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
