/* The compact history: append, cap and overflow, NDJSON lines, the status
 * timeline's change-only recording and its lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "assertions/history.h"
#include "common/strbuf.h"

static struct history_op op_make(uint64_t seq, int64_t inv_ms, int64_t done_ms, int outcome,
				 uint64_t index, int error)
{
	struct history_op op = { 0 };

	op.sequence = seq;
	op.invoke_ns = inv_ms * 1000000;
	op.complete_ns = done_ms * 1000000;
	op.outcome = (uint8_t)outcome;
	op.index = index;
	op.error = (uint8_t)error;
	op.attempt = 1;
	return op;
}

static void test_record_is_compact(void **state)
{
	(void)state;
	/* The hour-long-drill memory bound in history.h relies on this. */
	assert_int_equal(sizeof(struct history_op), 40);
}

static void test_append_keeps_order_and_grows(void **state)
{
	struct history h;

	(void)state;
	history_init(&h, 0);
	assert_int_equal(h.max_ops, HISTORY_DEFAULT_MAX_OPS);
	for (uint64_t i = 1; i <= 200000; i++) {
		struct history_op op = op_make(i, (int64_t)i, (int64_t)i + 1, HISTORY_OK, i, 0);

		assert_int_equal(history_append(&h, &op), 0);
	}
	assert_int_equal(h.count, 200000);
	assert_true(h.alloc >= h.count);
	assert_int_equal(h.ops[0].sequence, 1);
	assert_int_equal(h.ops[199999].sequence, 200000);
	assert_int_equal(h.ops[12345].index, 12346);
	assert_false(h.overflow);
	history_release(&h);
	assert_int_equal(h.count, 0);
	assert_null(h.ops);
}

static void test_cap_sets_overflow(void **state)
{
	struct history h;
	struct history_op op = op_make(1, 0, 1, HISTORY_OK, 1, 0);

	(void)state;
	history_init(&h, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(history_append(&h, &op), 0);
	assert_int_equal(history_append(&h, &op), -1);
	assert_int_equal(history_append(&h, &op), -1);
	assert_int_equal(h.count, 3);
	assert_true(h.overflow);
	assert_int_equal(h.dropped, 2);
	assert_true(h.alloc <= 3); /* never allocates past the cap */
	history_release(&h);
}

static void test_ndjson_ok_line(void **state)
{
	char buf[HISTORY_NDJSON_MAX];
	struct history_op op = op_make(12, 1012, 1013, HISTORY_OK, 130, HISTORY_ERR_NONE);
	json_error_t jerr;
	json_t *j;
	int n;

	(void)state;
	op.invoke_ns += 345000; /* 12.345 ms after the origin at 1000 ms */
	op.node = 2;
	n = history_format_ndjson(buf, sizeof(buf), &op, INT64_C(1000) * 1000000);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_int_equal(buf[n - 1], '\n');
	assert_string_equal(buf, "{\"seq\":12,\"attempt\":1,\"node\":2,\"invoke_ms\":12.345,"
				 "\"complete_ms\":13.000,\"outcome\":\"ok\",\"index\":130,"
				 "\"error\":null}\n");
	j = json_loads(buf, 0, &jerr);
	assert_non_null(j);
	json_decref(j);
}

static void test_ndjson_failure_line_and_small_buffer(void **state)
{
	char buf[HISTORY_NDJSON_MAX];
	struct history_op op = op_make(7, 5, 205, HISTORY_UNKNOWN, 99, HISTORY_ERR_TIMEOUT);
	json_error_t jerr;
	json_t *j;

	(void)state;
	assert_true(history_format_ndjson(buf, sizeof(buf), &op, 0) > 0);
	j = json_loads(buf, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "outcome")), "unknown");
	assert_string_equal(json_string_value(json_object_get(j, "error")), "TIMEOUT");
	/* index is only meaningful for ok attempts */
	assert_true(json_is_null(json_object_get(j, "index")));
	assert_true(json_real_value(json_object_get(j, "complete_ms")) == 205.0);
	json_decref(j);

	assert_int_equal(history_format_ndjson(buf, 20, &op, 0), -1);
	assert_string_equal(buf, "");
}

static void test_ndjson_worst_case_fits(void **state)
{
	char buf[HISTORY_NDJSON_MAX];
	struct history_op op;

	(void)state;
	memset(&op, 0, sizeof(op));
	op.sequence = UINT64_MAX;
	op.index = UINT64_MAX;
	op.invoke_ns = INT64_MIN / 2;
	op.complete_ns = INT64_MAX / 2;
	op.node = UINT16_MAX;
	op.attempt = UINT32_MAX;
	op.outcome = HISTORY_OK;
	op.error = HISTORY_ERR_UNKNOWN_OUTCOME;
	assert_true(history_format_ndjson(buf, sizeof(buf), &op, INT64_MAX / 2) > 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(history_outcome_name(HISTORY_FAILED), "failed");
	assert_string_equal(history_error_name(HISTORY_ERR_NOT_LEADER), "NOT_LEADER");
	assert_string_equal(history_error_name(HISTORY_ERR_COUNT_), "?");
	assert_string_equal(history_error_name(-1), "?");
	assert_string_equal(history_outcome_name(9), "?");
}

static struct status_point st(int64_t t_ms, uint64_t term, uint64_t leader, const char *region,
			      bool full, int64_t lag_ms)
{
	struct status_point p;

	memset(&p, 0, sizeof(p));
	p.t_ns = t_ms * 1000000;
	p.term = term;
	p.leader_id = leader;
	str_copy(p.leader_region, sizeof(p.leader_region), region);
	p.quorum = leader != 0;
	p.fully_replicated = full;
	p.members = 5;
	p.members_present = full ? 5 : 3;
	p.max_lag_ns = lag_ms * 1000000;
	return p;
}

static void test_timeline_records_changes_only(void **state)
{
	struct status_timeline tl;
	struct status_point p;

	(void)state;
	status_timeline_init(&tl, 0);
	p = st(0, 2, 1, "primary", true, 1);
	assert_int_equal(status_timeline_observe(&tl, &p), 1);
	p = st(20, 2, 1, "primary", true, 3); /* only lag moved */
	assert_int_equal(status_timeline_observe(&tl, &p), 0);
	p = st(40, 2, 0, "", false, 0);
	assert_int_equal(status_timeline_observe(&tl, &p), 1);
	p = st(60, 3, 3, "dr", false, 250);
	assert_int_equal(status_timeline_observe(&tl, &p), 1);
	p = st(80, 3, 3, "dr", false, 40);
	assert_int_equal(status_timeline_observe(&tl, &p), 0);
	assert_int_equal(tl.count, 3);
	assert_int_equal(tl.observations, 5);
	/* The max lag comes from every observation, not just recorded points. */
	assert_int_equal(tl.max_lag_ns, 250 * 1000000);
	assert_int_equal(tl.max_lag_t_ns, 60 * 1000000);

	assert_null(status_timeline_at(&tl, -1));
	assert_int_equal(status_timeline_at(&tl, 0)->leader_id, 1);
	assert_int_equal(status_timeline_at(&tl, 39 * 1000000)->leader_id, 1);
	assert_int_equal(status_timeline_at(&tl, 40 * 1000000)->leader_id, 0);
	assert_string_equal(status_timeline_at(&tl, INT64_MAX)->leader_region, "dr");
	status_timeline_release(&tl);
}

static void test_timeline_stays_sorted(void **state)
{
	struct status_timeline tl;
	struct status_point p;

	(void)state;
	status_timeline_init(&tl, 0);
	p = st(100, 2, 1, "primary", true, 0);
	status_timeline_observe(&tl, &p);
	/* An older answer (a slow node's, with a higher term) arrives later. */
	p = st(90, 3, 3, "dr", false, 0);
	assert_int_equal(status_timeline_observe(&tl, &p), 1);
	assert_int_equal(tl.points[1].t_ns, 100 * 1000000);
	assert_int_equal(status_timeline_at(&tl, 100 * 1000000)->term, 3);
	status_timeline_release(&tl);
}

static void test_timeline_cap(void **state)
{
	struct status_timeline tl;

	(void)state;
	status_timeline_init(&tl, 2);
	for (int i = 0; i < 4; i++) {
		struct status_point p = st(i, (uint64_t)i + 1, 1, "primary", true, i);

		status_timeline_observe(&tl, &p);
	}
	assert_int_equal(tl.count, 2);
	assert_true(tl.overflow);
	assert_int_equal(tl.max_lag_ns, 3 * 1000000); /* maxima still tracked */
	status_timeline_release(&tl);
}

static void test_status_ndjson_escapes_region(void **state)
{
	char buf[STATUS_NDJSON_MAX];
	struct status_point p = st(1500, 4, 3, "d\"r\\x", false, 12);
	json_error_t jerr;
	json_t *j;

	(void)state;
	assert_true(status_format_ndjson(buf, sizeof(buf), &p, 500 * 1000000) > 0);
	j = json_loads(buf, 0, &jerr);
	if (!j)
		fail_msg("not JSON: %s (%s)", buf, jerr.text);
	assert_string_equal(json_string_value(json_object_get(j, "region")), "d\"r\\x");
	assert_true(json_real_value(json_object_get(j, "t_ms")) == 1000.0);
	assert_true(json_is_false(json_object_get(j, "fully_replicated")));
	assert_int_equal(json_integer_value(json_object_get(j, "members_present")), 3);
	json_decref(j);

	/* Worst case: a full-length region of quote characters still fits. */
	memset(p.leader_region, '"', STATUS_REGION_MAX - 1);
	p.leader_region[STATUS_REGION_MAX - 1] = '\0';
	p.term = p.leader_id = p.max_lag_entries = UINT64_MAX;
	assert_true(status_format_ndjson(buf, sizeof(buf), &p, INT64_MIN / 2) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_is_compact),
		cmocka_unit_test(test_append_keeps_order_and_grows),
		cmocka_unit_test(test_cap_sets_overflow),
		cmocka_unit_test(test_ndjson_ok_line),
		cmocka_unit_test(test_ndjson_failure_line_and_small_buffer),
		cmocka_unit_test(test_ndjson_worst_case_fits),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_timeline_records_changes_only),
		cmocka_unit_test(test_timeline_stays_sorted),
		cmocka_unit_test(test_timeline_cap),
		cmocka_unit_test(test_status_ndjson_escapes_region),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
