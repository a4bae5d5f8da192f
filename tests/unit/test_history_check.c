/* The set checker over logical writes: each anomaly on a small synthetic
 * history, plus grouping rules and malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "assertions/check.h"
#include "assertions/sort.h"

#define MS INT64_C(1000000)

struct fixture {
	struct history h;
	struct ledger_entry_ref entries[64];
	size_t n_entries;
};

static void add(struct fixture *f, uint64_t seq, int64_t inv_ms, int64_t done_ms, int outcome,
		uint64_t index)
{
	struct history_op op;

	memset(&op, 0, sizeof(op));
	op.sequence = seq;
	op.invoke_ns = inv_ms * MS;
	op.complete_ns = done_ms * MS;
	op.outcome = (uint8_t)outcome;
	op.index = outcome == HISTORY_OK ? index : 0;
	op.error = outcome == HISTORY_OK ? HISTORY_ERR_NONE
		   : outcome == HISTORY_FAILED ? HISTORY_ERR_NOT_LEADER : HISTORY_ERR_TIMEOUT;
	op.attempt = 1;
	assert_int_equal(history_append(&f->h, &op), 0);
}

static void in_ledger(struct fixture *f, uint64_t seq, uint64_t index)
{
	assert_true(f->n_entries < 64);
	f->entries[f->n_entries].sequence = seq;
	f->entries[f->n_entries].index = index;
	f->n_entries++;
}

/* Sequences 1..n each acknowledged once at index 10+seq, 2 ms apart, and
 * present in the ledger. */
static void clean_run(struct fixture *f, uint64_t n)
{
	for (uint64_t s = 1; s <= n; s++) {
		add(f, s, (int64_t)s * 2, (int64_t)s * 2 + 1, HISTORY_OK, 10 + s);
		in_ledger(f, s, 10 + s);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	history_init(&f->h, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	history_release(&f->h);
	free(f);
	return 0;
}

static struct check_result run(struct fixture *f)
{
	struct check_result r;
	struct dr_error err = DR_ERROR_INIT;

	if (history_check(&r, &f->h, f->entries, f->n_entries, &err) != 0)
		fail_msg("history_check failed: %s", err.msg);
	return r;
}

static void assert_no_anomaly(const struct check_result *r)
{
	assert_int_equal(r->lost, 0);
	assert_int_equal(r->duplicated, 0);
	assert_int_equal(r->definite_failed_present, 0);
	assert_int_equal(r->reordered, 0);
	assert_int_equal(r->unexpected, 0);
	assert_int_equal(check_integrity_violations(r), 0);
}

static void test_clean_run(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	clean_run(f, 20);
	r = run(f);
	assert_int_equal(r.attempts, 20);
	assert_int_equal(r.logical, 20);
	assert_int_equal(r.ok, 20);
	assert_int_equal(r.failed, 0);
	assert_int_equal(r.unknown, 0);
	assert_no_anomaly(&r);
}

static void test_empty_history(void **state)
{
	struct fixture *f = *state;
	struct check_result r = run(f);

	assert_int_equal(r.logical, 0);
	assert_no_anomaly(&r);
}

static void test_lost_write(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	clean_run(f, 10);
	/* Drop sequences 4 and 7 from the ledger read back. */
	f->entries[3] = f->entries[9];
	f->entries[6] = f->entries[8];
	f->n_entries = 8;
	r = run(f);
	assert_int_equal(r.ok, 10);
	assert_int_equal(r.lost, 2);
	assert_int_equal(r.n_lost_sequences, 2);
	assert_int_equal(r.lost_sequences[0], 4);
	assert_int_equal(r.lost_sequences[1], 7);
	/* Oldest lost ack: sequence 4 completed at 9 ms. */
	assert_int_equal(r.oldest_lost_ack_ns, 9 * MS);
	assert_int_equal(r.duplicated, 0);
	/* Lost writes are the RPO objective's, not an integrity violation. */
	assert_int_equal(check_integrity_violations(&r), 0);
}

static void test_duplicate(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	clean_run(f, 5);
	in_ledger(f, 3, 40);
	r = run(f);
	assert_int_equal(r.duplicated, 1);
	assert_int_equal(r.n_duplicated_sequences, 1);
	assert_int_equal(r.duplicated_sequences[0], 3);
	assert_int_equal(r.lost, 0);
	assert_int_equal(check_integrity_violations(&r), 1);
}

static void test_definite_failure_that_appears(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	clean_run(f, 3);
	/* Sequence 4: two rejections, never acknowledged, but in the ledger. */
	add(f, 4, 10, 11, HISTORY_FAILED, 0);
	add(f, 4, 11, 12, HISTORY_FAILED, 0);
	in_ledger(f, 4, 14);
	/* Sequence 5: rejected and absent: fine. */
	add(f, 5, 12, 13, HISTORY_FAILED, 0);
	r = run(f);
	assert_int_equal(r.failed, 2);
	assert_int_equal(r.definite_failed_present, 1);
	assert_int_equal(r.definite_failed_present_sequences[0], 4);
	assert_int_equal(check_integrity_violations(&r), 1);
}

static void test_unknown_present_and_absent(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	clean_run(f, 3);
	/* 4: timed out, then rejected: unknown (not every attempt definite). */
	add(f, 4, 10, 210, HISTORY_UNKNOWN, 0);
	add(f, 4, 210, 211, HISTORY_FAILED, 0);
	in_ledger(f, 4, 14);
	/* 5: timed out, absent. */
	add(f, 5, 211, 411, HISTORY_UNKNOWN, 0);
	r = run(f);
	assert_int_equal(r.unknown, 2);
	assert_int_equal(r.unknown_present, 1);
	assert_int_equal(r.failed, 0);
	assert_no_anomaly(&r);
}

static void test_retry_acknowledged_counts_once(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	/* NOT_LEADER, timeout, then ok: one logical ok write. */
	add(f, 1, 0, 1, HISTORY_FAILED, 0);
	add(f, 1, 1, 201, HISTORY_UNKNOWN, 0);
	add(f, 1, 201, 203, HISTORY_OK, 5);
	in_ledger(f, 1, 5);
	r = run(f);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.logical, 1);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.failed + r.unknown, 0);
	assert_no_anomaly(&r);
}

static void test_reordering(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	/* 1 acknowledged at index 20 (done at 5 ms); 2 invoked at 6 ms got
	 * index 19: the ledger ordered a later write before an earlier one. */
	add(f, 1, 0, 5, HISTORY_OK, 20);
	add(f, 2, 6, 8, HISTORY_OK, 19);
	add(f, 3, 9, 10, HISTORY_OK, 21);
	in_ledger(f, 1, 20);
	in_ledger(f, 2, 19);
	in_ledger(f, 3, 21);
	r = run(f);
	assert_int_equal(r.reordered, 1);
	assert_int_equal(r.reorder_first_seq, 1);
	assert_int_equal(r.reorder_first_index, 20);
	assert_int_equal(r.reorder_second_seq, 2);
	assert_int_equal(r.reorder_second_index, 19);
	assert_int_equal(check_integrity_violations(&r), 1);
}

/* An acknowledgement without an index (ledger.v1 may leave blockHeight
 * out) cannot be ordered: never a reordering. */
static void test_ack_without_index_is_not_reordered(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	add(f, 1, 0, 5, HISTORY_OK, 20);
	add(f, 2, 6, 8, HISTORY_OK, 0);
	add(f, 3, 9, 10, HISTORY_OK, 21);
	in_ledger(f, 1, 20);
	in_ledger(f, 2, 0);
	in_ledger(f, 3, 21);
	r = run(f);
	assert_int_equal(r.reordered, 0);
	assert_int_equal(r.lost, 0);
}

/* The same acknowledgement without an index, missing from the ledger: lost
 * like any other acknowledged write (and the oldest lost ack is its). */
static void test_lost_write_acknowledged_without_index(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	add(f, 1, 0, 1, HISTORY_OK, 11);
	add(f, 2, 2, 3, HISTORY_OK, 0);
	add(f, 3, 4, 5, HISTORY_OK, 13);
	in_ledger(f, 1, 11);
	in_ledger(f, 3, 13);
	r = run(f);
	assert_int_equal(r.ok, 3);
	assert_int_equal(r.lost, 1);
	assert_int_equal(r.n_lost_sequences, 1);
	assert_int_equal(r.lost_sequences[0], 2);
	assert_int_equal(r.oldest_lost_ack_ns, 3 * MS);
	assert_int_equal(r.reordered, 0);
}

/* A write acknowledged twice (a retry whose first attempt was answered
 * too) counts from its earliest acknowledgement: that is when the client
 * was told it was durable. */
static void test_earliest_acknowledgement_counts(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	add(f, 1, 0, 3, HISTORY_OK, 11);
	add(f, 1, 5, 8, HISTORY_OK, 11);
	r = run(f);
	assert_int_equal(r.logical, 1);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.lost, 1);
	assert_int_equal(r.oldest_lost_ack_ns, 3 * MS);
}

static void test_concurrent_writes_may_order_freely(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	/* Overlapping writes: 2 was invoked before 1 completed, so either
	 * order is linearizable. */
	add(f, 1, 0, 10, HISTORY_OK, 8);
	add(f, 2, 5, 7, HISTORY_OK, 7);
	in_ledger(f, 1, 8);
	in_ledger(f, 2, 7);
	r = run(f);
	assert_int_equal(r.reordered, 0);
	assert_no_anomaly(&r);
}

static void test_unexpected_sequence(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	clean_run(f, 3);
	in_ledger(f, 99, 50); /* never tried */
	r = run(f);
	assert_int_equal(r.unexpected, 1);
	assert_int_equal(check_integrity_violations(&r), 1);
}

static void test_unsorted_history_and_ledger(void **state)
{
	struct fixture *f = *state;
	struct check_result r;

	/* Attempts out of sequence order, ledger read back shuffled. */
	add(f, 3, 4, 5, HISTORY_OK, 13);
	add(f, 1, 0, 1, HISTORY_FAILED, 0);
	add(f, 2, 2, 3, HISTORY_OK, 12);
	add(f, 1, 1, 2, HISTORY_OK, 11);
	in_ledger(f, 2, 12);
	in_ledger(f, 3, 13);
	r = run(f);
	assert_int_equal(r.logical, 3);
	assert_int_equal(r.ok, 3);
	assert_int_equal(r.lost, 1);
	assert_int_equal(r.lost_sequences[0], 1);
	assert_int_equal(r.oldest_lost_ack_ns, 2 * MS);
	assert_int_equal(r.reordered, 0);
}

static void test_lists_are_capped(void **state)
{
	struct history h;
	struct check_result r;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	history_init(&h, 0);
	for (uint64_t s = 1; s <= 250; s++) {
		struct history_op op = { .sequence = s, .invoke_ns = (int64_t)s * 10,
					 .complete_ns = (int64_t)s * 10 + 5,
					 .index = s, .outcome = HISTORY_OK, .attempt = 1 };

		assert_int_equal(history_append(&h, &op), 0);
	}
	assert_int_equal(history_check(&r, &h, NULL, 0, &err), 0);
	assert_int_equal(r.lost, 250);
	assert_int_equal(r.n_lost_sequences, CHECK_MAX_LISTED);
	assert_int_equal(r.lost_sequences[99], 100);
	assert_int_equal(r.oldest_lost_ack_ns, 15);
	history_release(&h);
}

static void test_overflow_is_reported(void **state)
{
	struct history h;
	struct check_result r;
	struct dr_error err = DR_ERROR_INIT;
	struct history_op op = { .sequence = 1, .complete_ns = 1, .index = 1,
				 .outcome = HISTORY_OK, .attempt = 1 };
	struct ledger_entry_ref e = { 1, 1 };

	(void)state;
	history_init(&h, 1);
	history_append(&h, &op);
	history_append(&h, &op);
	assert_int_equal(history_check(&r, &h, &e, 1, &err), 0);
	assert_true(r.history_overflow);
	assert_int_equal(r.history_dropped, 1);
	history_release(&h);
}

static void test_rejects_malformed_history(void **state)
{
	struct fixture *f = *state;
	struct check_result r;
	struct dr_error err = DR_ERROR_INIT;

	add(f, 1, 10, 5, HISTORY_OK, 1);
	assert_int_equal(history_check(&r, &f->h, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "completed before it was invoked"));

	f->h.count = 0;
	add(f, 0, 1, 2, HISTORY_OK, 1);
	assert_int_equal(history_check(&r, &f->h, NULL, 0, &err), -1);
	assert_non_null(strstr(err.msg, "sequence 0"));
}

static uint64_t prng(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Property: on random overlapping histories the O(n log n) order check
 * counts exactly what the O(n^2) definition counts. */
static void test_reordered_matches_brute_force(void **state)
{
	uint64_t x = 0x2545F4914F6CDD1DULL;

	(void)state;
	for (int round = 0; round < 300; round++) {
		struct history h;
		struct check_result r;
		struct dr_error err = DR_ERROR_INIT;
		uint64_t n = 1 + prng(&x) % 40, expected = 0;
		int64_t inv[41], ack[41];
		uint64_t idx[41];

		history_init(&h, 0);
		for (uint64_t s = 1; s <= n; s++) {
			struct history_op op = { .sequence = s, .outcome = HISTORY_OK, .attempt = 1 };

			inv[s] = (int64_t)(prng(&x) % 100);
			ack[s] = inv[s] + (int64_t)(prng(&x) % 30);
			/* Mostly ordered indices, some swapped. */
			idx[s] = (uint64_t)ack[s] * 4 + prng(&x) % 6;
			op.invoke_ns = inv[s];
			op.complete_ns = ack[s];
			op.index = idx[s];
			assert_int_equal(history_append(&h, &op), 0);
		}
		for (uint64_t b = 1; b <= n; b++) {
			for (uint64_t a = 1; a <= n; a++) {
				if (ack[a] < inv[b] && idx[a] > idx[b]) {
					expected++;
					break;
				}
			}
		}
		assert_int_equal(history_check(&r, &h, NULL, 0, &err), 0);
		if (r.reordered != expected)
			fail_msg("round %d: reordered %llu, brute force %llu", round,
				 (unsigned long long)r.reordered, (unsigned long long)expected);
		history_release(&h);
	}
}

/* The radix sort behind the checker: order, stability, signed keys. */
static void test_sort_pairs(void **state)
{
	enum { N = 5000 };
	struct sort_pair *a = calloc(N, sizeof(*a));
	uint64_t x = 88172645463325252ULL;

	(void)state;
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Few distinct keys (stability matters), spread over all bytes,
		 * half of them negative as signed values. */
		a[i].key = sort_key_i64((int64_t)((x % 64) * 0x0101010101010101ULL) -
					(int64_t)(x % 2) * INT64_C(0x4000000000000000));
		a[i].payload = i;
	}
	sort_pairs(a, N);
	for (size_t i = 1; i < N; i++) {
		assert_true(a[i - 1].key <= a[i].key);
		if (a[i - 1].key == a[i].key)
			assert_true(a[i - 1].payload < a[i].payload); /* stable */
	}
	assert_true(sort_key_i64(-1) < sort_key_i64(0));
	assert_true(sort_key_i64(INT64_MIN) < sort_key_i64(INT64_MAX));
	sort_pairs(a, 0);
	sort_pairs(a, 1);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_definite_failure_that_appears, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_present_and_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_acknowledged_counts_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reordering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_without_index_is_not_reordered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_write_acknowledged_without_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_earliest_acknowledgement_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writes_may_order_freely, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unexpected_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsorted_history_and_ledger, setup, teardown),
		cmocka_unit_test(test_lists_are_capped),
		cmocka_unit_test(test_overflow_is_reported),
		cmocka_unit_test_setup_teardown(test_rejects_malformed_history, setup, teardown),
		cmocka_unit_test(test_sort_pairs),
		cmocka_unit_test(test_reordered_matches_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
