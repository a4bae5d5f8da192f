/* Objectives pass / fail / not measured, the always-on rpo and history
 * objectives, and the journal JSON built from them (names from
 * docs/journal.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>

#include "assertions/objectives.h"
#include "assertions/results_json.h"
#include "common/strbuf.h"

#define MS INT64_C(1000000)

static void value(struct measure_value *v, double x)
{
	v->has = true;
	v->value = x;
}

static void none(struct measure_value *v, const char *why)
{
	v->has = false;
	str_copy(v->why, sizeof(v->why), why);
}

/* A failover drill: RTO 403 ms, promotion 250, resync 450, lag 900 ms,
 * nothing lost, availability 0.99. */
static struct measurements good_drill(void)
{
	struct measurements m;

	memset(&m, 0, sizeof(m));
	str_copy(m.workload_mode, sizeof(m.workload_mode), "ledger");
	value(&m.rto_ms, 403.0);
	value(&m.unavailable_ms, 403.0);
	value(&m.max_latency_ms, 403.0);
	value(&m.promotion_ms, 250.0);
	value(&m.resync_ms, 450.0);
	value(&m.max_lag_ms, 900.0);
	value(&m.rpo_lost_writes, 0);
	value(&m.rpo_seconds, 0);
	value(&m.availability, 0.99);
	value(&m.latency_p50_ms, 1.0);
	value(&m.latency_p99_ms, 4.5);
	value(&m.latency_max_ms, 403.0);
	m.has_writes = true;
	m.writes.ok = 1000;
	m.writes.failed = 2;
	m.writes.unknown = 1;
	m.writes.unknown_present = 1;
	m.has_fault = true;
	m.fault_start_ms = 100.0;
	m.has_outage = true;
	m.outage_start_ms = 100.0;
	m.has_outage_end = true;
	m.outage_end_ms = 503.0;
	m.outage_first_failure_ms = 100.0;
	return m;
}

static const struct objective_result *find(const struct objective_results *r, const char *name)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->items[i].name, name) == 0)
			return &r->items[i];
	fail_msg("no objective '%s'", name);
	return NULL;
}

static void assert_contains(const char *s, const char *fragment)
{
	if (!strstr(s, fragment))
		fail_msg("'%s' does not mention '%s'", s, fragment);
}

static void test_all_pass(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;
	const struct objective_result *rto;

	(void)state;
	lim.has_rto = true;
	lim.rto_ns = 60000 * MS;
	lim.has_promotion = true;
	lim.promotion_ns = 10000 * MS;
	lim.has_resync = true;
	lim.resync_ns = 30000 * MS;
	lim.has_max_lag = true;
	lim.max_lag_ns = 5000 * MS;
	lim.has_rpo_window = true;
	lim.rpo_window_ns = 0;
	lim.has_availability = true;
	lim.availability_pct = 95.0;
	objectives_evaluate(&r, &lim, &m);
	/* 7 stated (rpo always on) + history. */
	assert_int_equal(r.count, 8);
	assert_true(objectives_all_passed(&r));
	assert_null(objectives_first_failure(&r));
	rto = find(&r, "rto");
	assert_string_equal(rto->unit, "ms");
	assert_true(rto->limit == 60000.0);
	assert_true(rto->measured == 403.0);
	assert_true(rto->margin == 60000.0 - 403.0);
	assert_string_equal(rto->message, "");
	assert_true(find(&r, "availability")->measured == 99.0);
	assert_true(find(&r, "availability")->margin == 4.0);
	assert_string_equal(find(&r, "availability")->unit, "percent");
	assert_string_equal(find(&r, "rpo")->unit, "writes");
	assert_string_equal(find(&r, "history")->unit, "violations");
	assert_string_equal(r.items[0].name, "rto"); /* fixed order */
	assert_string_equal(r.items[7].name, "history");
}

static void test_rto_exceeded(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;
	const struct objective_result *rto;

	(void)state;
	lim.has_rto = true;
	lim.rto_ns = 300 * MS;
	objectives_evaluate(&r, &lim, &m);
	rto = find(&r, "rto");
	assert_false(rto->passed);
	assert_true(rto->margin == -103.0);
	assert_contains(rto->message, "exceeds the limit 300 ms by 103 ms");
	assert_contains(rto->message, "recovered at 503.0 ms");
	assert_false(objectives_all_passed(&r));
	assert_ptr_equal(objectives_first_failure(&r), rto);

	/* An hour in ms prints as a plain number, not 3.6e+06. */
	value(&m.promotion_ms, 3700000.5);
	lim.has_promotion = true;
	lim.promotion_ns = INT64_C(3600000) * MS;
	objectives_evaluate(&r, &lim, &m);
	assert_contains(find(&r, "promotion")->message,
			"promotion 3700000.5 ms exceeds the limit 3600000 ms by 100000.5 ms");
}

static void test_limit_is_inclusive(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;

	(void)state;
	lim.has_promotion = true;
	lim.promotion_ns = 250 * MS;
	objectives_evaluate(&r, &lim, &m);
	assert_true(find(&r, "promotion")->passed);
	assert_true(find(&r, "promotion")->margin == 0.0);
}

static void test_not_measured_fails(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;
	const struct objective_result *resync;

	(void)state;
	none(&m.resync_ms, "the drill had no restore step");
	lim.has_resync = true;
	lim.resync_ns = 30000 * MS;
	objectives_evaluate(&r, &lim, &m);
	resync = find(&r, "resync");
	assert_false(resync->passed);
	assert_false(resync->has_measured);
	assert_string_equal(resync->message, "not measured: the drill had no restore step");
}

static void test_rpo_always_on_with_default_zero(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;
	const struct objective_result *rpo;

	(void)state;
	m.writes.lost = 2;
	m.writes.lost_sequences[0] = 17;
	m.writes.lost_sequences[1] = 18;
	m.writes.n_lost_sequences = 2;
	value(&m.rpo_lost_writes, 2);
	value(&m.rpo_seconds, 0.079);
	objectives_evaluate(&r, &lim, &m);
	rpo = find(&r, "rpo");
	assert_false(rpo->passed);
	assert_true(rpo->limit == 0.0);
	assert_true(rpo->measured == 2.0);
	assert_contains(rpo->message, "2 acknowledged writes lost (limit 0): sequence 17, 18");
	assert_contains(rpo->message, "0.079 s before the fault");
	/* Lost writes are not an integrity violation: history still passes. */
	assert_true(find(&r, "history")->passed);

	lim.has_rpo = true;
	lim.rpo = 2;
	objectives_evaluate(&r, &lim, &m);
	assert_true(find(&r, "rpo")->passed);
}

static void test_rpo_window_exceeded(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;

	(void)state;
	value(&m.rpo_seconds, 0.079);
	lim.has_rpo_window = true;
	lim.rpo_window_ns = 50 * MS;
	objectives_evaluate(&r, &lim, &m);
	assert_false(find(&r, "rpo_window")->passed);
	assert_true(find(&r, "rpo_window")->measured == 79.0);
}

static void test_history_violations_fail(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;
	const struct objective_result *h;

	(void)state;
	/* Even with a generous rpo, a duplicate and a reordering fail. */
	lim.has_rpo = true;
	lim.rpo = 100;
	m.writes.duplicated = 1;
	m.writes.duplicated_sequences[0] = 42;
	m.writes.n_duplicated_sequences = 1;
	m.writes.reordered = 1;
	m.writes.reorder_first_seq = 7;
	m.writes.reorder_first_index = 20;
	m.writes.reorder_second_seq = 8;
	m.writes.reorder_second_index = 19;
	objectives_evaluate(&r, &lim, &m);
	assert_true(find(&r, "rpo")->passed);
	h = find(&r, "history");
	assert_false(h->passed);
	assert_true(h->measured == 2.0);
	assert_contains(h->message, "1 write duplicated (first: sequence 42)");
	assert_contains(h->message, "sequence 7 acknowledged at index 20 before sequence 8");

	m = good_drill();
	m.writes.definite_failed_present = 1;
	m.writes.definite_failed_present_sequences[0] = 9;
	objectives_evaluate(&r, &lim, &m);
	assert_contains(find(&r, "history")->message, "1 rejected write present");

	m = good_drill();
	m.writes.history_overflow = true;
	m.writes.history_dropped = 12;
	objectives_evaluate(&r, &lim, &m);
	assert_false(find(&r, "history")->passed);
	assert_contains(find(&r, "history")->message, "overflowed");
}

static void test_status_only_has_no_write_objectives(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;

	(void)state;
	str_copy(m.workload_mode, sizeof(m.workload_mode), "status-only");
	m.has_writes = false;
	none(&m.rpo_lost_writes, "the workload did not write to the ledger");
	objectives_evaluate(&r, &lim, &m);
	assert_int_equal(r.count, 0);
	assert_true(objectives_all_passed(&r));

	lim.has_rpo = true;
	objectives_evaluate(&r, &lim, &m);
	assert_int_equal(r.count, 1);
	assert_false(r.items[0].passed);
	assert_contains(r.items[0].message, "not measured: the workload did not write");
}

/* Canary writes were checked: rpo and history are on as with a workload,
 * and a lost canary fails the drill. */
static void test_canary_has_rpo_and_history(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;

	(void)state;
	str_copy(m.workload_mode, sizeof(m.workload_mode), "canary");
	objectives_evaluate(&r, &lim, &m);
	assert_non_null(find(&r, "rpo"));
	assert_non_null(find(&r, "history"));
	assert_true(objectives_all_passed(&r));
	m.rpo_lost_writes.value = 1;
	m.writes.lost = 1;
	objectives_evaluate(&r, &lim, &m);
	assert_false(find(&r, "rpo")->passed);
}

static void test_availability_floor(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;

	(void)state;
	lim.has_availability = true;
	lim.availability_pct = 99.9;
	objectives_evaluate(&r, &lim, &m);
	assert_false(find(&r, "availability")->passed);
	assert_contains(find(&r, "availability")->message, "below the objective 99.9%");
}

/* ---- JSON ---- */

static void test_measurements_json_names(void **state)
{
	struct measurements m = good_drill();
	json_t *j, *w;
	const char *names[] = { "rto_ms", "rto_note", "unavailable_ms", "max_latency_ms", "outages",
				"promotion_ms", "resync_ms", "max_lag_ms", "rpo_lost_writes",
				"rpo_seconds", "availability", "latency_ms", "writes",
				"lost_sequences", "duplicated_sequences", "workload_mode" };
	const char *wnames[] = { "ok", "failed", "unknown", "unknown_present", "lost",
				 "duplicated", "definite_failed_present", "reordered" };

	(void)state;
	none(&m.resync_ms, "the drill had no restore step");
	m.n_spans = 1;
	m.spans[0].start_ms = 100.0;
	m.spans[0].end_ms = 503.25;
	m.spans[0].recovered = true;
	m.writes.lost = 1;
	m.writes.lost_sequences[0] = 5;
	m.writes.n_lost_sequences = 1;
	j = measurements_to_json(&m);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!json_object_get(j, names[i]))
			fail_msg("measurements has no '%s'", names[i]);
	w = json_object_get(j, "writes");
	for (size_t i = 0; i < sizeof(wnames) / sizeof(wnames[0]); i++)
		if (!json_is_integer(json_object_get(w, wnames[i])))
			fail_msg("writes.%s is not an integer", wnames[i]);
	assert_int_equal(json_integer_value(json_object_get(w, "ok")), 1000);
	assert_true(json_real_value(json_object_get(j, "rto_ms")) == 403.0);
	/* Not applicable is null, never 0. */
	assert_true(json_is_null(json_object_get(j, "resync_ms")));
	assert_true(json_is_null(json_object_get(j, "rto_note")));
	assert_true(json_real_value(json_object_get(json_object_get(j, "latency_ms"), "p99")) ==
		    4.5);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "lost_sequences"),
							   0)), 5);
	assert_string_equal(json_string_value(json_object_get(j, "workload_mode")), "ledger");
	w = json_array_get(json_object_get(j, "outages"), 0);
	assert_true(json_real_value(json_object_get(w, "duration_ms")) == 403.25);
	assert_true(json_is_true(json_object_get(w, "recovered")));
	json_decref(j);
}

static void test_measurements_json_without_writes(void **state)
{
	struct measurements m;
	json_t *j;

	(void)state;
	memset(&m, 0, sizeof(m));
	str_copy(m.workload_mode, sizeof(m.workload_mode), "none");
	m.rto_note = NULL;
	j = measurements_to_json(&m);
	assert_true(json_is_null(json_object_get(j, "writes")));
	assert_true(json_is_null(json_object_get(j, "rto_ms")));
	assert_true(json_is_null(json_object_get(j, "rpo_lost_writes")));
	assert_int_equal(json_array_size(json_object_get(j, "lost_sequences")), 0);
	json_decref(j);
}

static void test_objectives_json(void **state)
{
	struct measurements m = good_drill();
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;
	json_t *a, *o;

	(void)state;
	none(&m.resync_ms, "the drill had no restore step");
	lim.has_rto = true;
	lim.rto_ns = 60000 * MS;
	lim.has_resync = true;
	lim.resync_ns = 1000 * MS;
	objectives_evaluate(&r, &lim, &m);
	a = objectives_to_json(&r);
	assert_int_equal(json_array_size(a), r.count);
	o = json_array_get(a, 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "rto");
	assert_string_equal(json_string_value(json_object_get(o, "unit")), "ms");
	assert_true(json_number_value(json_object_get(o, "limit")) == 60000.0);
	assert_true(json_number_value(json_object_get(o, "measured")) == 403.0);
	assert_true(json_number_value(json_object_get(o, "margin")) == 59597.0);
	assert_true(json_is_true(json_object_get(o, "passed")));
	assert_true(json_is_null(json_object_get(o, "message")));
	o = json_array_get(a, 1);
	assert_string_equal(json_string_value(json_object_get(o, "name")), "resync");
	assert_true(json_is_null(json_object_get(o, "measured")));
	assert_true(json_is_null(json_object_get(o, "margin")));
	assert_true(json_is_false(json_object_get(o, "passed")));
	assert_string_equal(json_string_value(json_object_get(o, "message")),
			    "not measured: the drill had no restore step");
	json_decref(a);
}

static void test_outage_json(void **state)
{
	struct measurements m = good_drill();
	json_t *o;

	(void)state;
	o = outage_to_json(&m);
	assert_true(json_real_value(json_object_get(o, "start_ms")) == 100.0);
	assert_true(json_real_value(json_object_get(o, "end_ms")) == 503.0);
	json_decref(o);

	m.has_outage_end = false;
	o = outage_to_json(&m);
	assert_true(json_is_null(json_object_get(o, "end_ms")));
	json_decref(o);

	m.has_outage = false;
	o = outage_to_json(&m);
	assert_true(json_is_null(o));
	json_decref(o);
}

static void test_series_json_and_journal(void **state)
{
	struct measurements m = good_drill();
	struct objective_results r;
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct series_point pts[2] = { { 12.0, 1.2, HISTORY_OK }, { 13.4, 200.0, HISTORY_UNKNOWN } };
	struct series s = { .points = pts, .count = 2 };
	json_t *journal, *p;
	char *text;

	(void)state;
	objectives_evaluate(&r, &lim, &m);
	journal = json_pack("{s:{s:s}}", "workload", "client_id", "drill-x-1");
	assert_int_equal(results_json_set(journal, &m, &r, &s), 0);
	p = json_array_get(json_object_get(json_object_get(journal, "workload"), "series"), 1);
	assert_true(json_real_value(json_array_get(p, 0)) == 13.4);
	assert_true(json_real_value(json_array_get(p, 1)) == 200.0);
	assert_string_equal(json_string_value(json_array_get(p, 2)), "unknown");
	/* The runner's keys survive. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(journal, "workload"),
							      "client_id")), "drill-x-1");
	assert_true(json_real_value(json_object_get(journal, "fault_start_ms")) == 100.0);
	assert_true(json_is_null(json_object_get(journal, "restore_start_ms")));
	assert_true(json_is_object(json_object_get(journal, "outage")));
	assert_true(json_is_array(json_object_get(journal, "objectives")));
	assert_true(json_is_object(json_object_get(journal, "measurements")));
	/* Serialisable (no NaN/Inf sneaks in). */
	text = json_dumps(journal, 0);
	assert_non_null(text);
	free(text);
	/* A series built without the history (a canary) has no logical
	 * writes or classes: null, never an empty chart of "0 attempts". */
	assert_true(json_is_null(json_object_get(json_object_get(journal, "measurements"),
						 "write_series")));
	assert_true(json_is_null(json_object_get(json_object_get(journal, "measurements"),
						 "attempts_by_class")));
	json_decref(journal);

	/* The logical writes and the classes, only those that occurred. */
	{
		struct series_write ws[1] = { { 636.0, 626.0, HISTORY_OK, 4 } };
		uint32_t counts[SERIES_NCLASSES * 2] = { 0 };
		const json_t *abc, *c;

		counts[SERIES_CLASS_OK * 2 + 1] = 1;
		counts[HISTORY_ERR_CONNECT * 2 + 0] = 3;
		s.writes = ws;
		s.n_writes = 1;
		s.bucket_ms = 100.0;
		s.n_buckets = 2;
		s.counts = counts;
		s.class_totals[SERIES_CLASS_OK] = 1;
		s.class_totals[HISTORY_ERR_CONNECT] = 3;
		s.attempts = 4;
		journal = json_object();
		assert_int_equal(results_json_set(journal, &m, &r, &s), 0);
		p = json_array_get(json_object_get(json_object_get(journal, "measurements"),
						   "write_series"), 0);
		assert_true(json_real_value(json_array_get(p, 1)) == 626.0);
		assert_string_equal(json_string_value(json_array_get(p, 2)), "ok");
		assert_int_equal(json_integer_value(json_array_get(p, 3)), 4);
		abc = json_object_get(json_object_get(journal, "measurements"), "attempts_by_class");
		assert_true(json_real_value(json_object_get(abc, "bucket_ms")) == 100.0);
		assert_int_equal(json_integer_value(json_object_get(abc, "attempts")), 4);
		assert_int_equal(json_array_size(json_object_get(abc, "classes")), 2);
		c = json_array_get(json_object_get(abc, "classes"), 1);
		assert_string_equal(json_string_value(json_object_get(c, "class")), "CONNECT");
		assert_int_equal(json_integer_value(json_object_get(c, "total")), 3);
		assert_int_equal(json_integer_value(json_array_get(json_object_get(c, "counts"), 0)), 3);
		json_decref(journal);
	}

	journal = json_array();
	assert_int_equal(results_json_set(journal, &m, NULL, NULL), -1);
	json_decref(journal);
}

/* An ok attempt that is a whole write (one attempt) is written once, in
 * write_series; the attempts of a retried write, its ok one included, and
 * every failed or unknown attempt stay in workload.series.  The two lists
 * together still hold every attempt (journals doubled when both held the
 * one-attempt writes). */
static void test_series_leaves_one_attempt_writes_to_write_series(void **state)
{
	struct measurements m = good_drill();
	struct objective_results r;
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct series_point pts[5] = {
		{ 10.0, 1.0, HISTORY_OK }, { 210.0, 200.0, HISTORY_UNKNOWN },
		{ 212.0, 2.0, HISTORY_OK }, { 220.0, 1.5, HISTORY_OK }, { 230.0, 1.0, HISTORY_FAILED },
	};
	struct series_write ws[4] = {
		{ 10.0, 1.0, HISTORY_OK, 1 }, { 212.0, 202.0, HISTORY_OK, 2 },
		{ 220.0, 1.5, HISTORY_OK, 1 }, { 230.0, 1.0, HISTORY_FAILED, 1 },
	};
	struct series s = { .points = pts, .count = 5, .writes = ws, .n_writes = 4, .attempts = 5 };
	json_t *journal = json_object(), *series, *p;
	size_t i, one_attempt_ok = 0;

	(void)state;
	objectives_evaluate(&r, &lim, &m);
	assert_int_equal(results_json_set(journal, &m, &r, &s), 0);
	series = json_object_get(json_object_get(journal, "workload"), "series");
	assert_int_equal(json_array_size(series), 3);
	assert_true(json_real_value(json_array_get(json_array_get(series, 0), 0)) == 210.0);
	assert_true(json_real_value(json_array_get(json_array_get(series, 1), 0)) == 212.0);
	assert_string_equal(json_string_value(json_array_get(json_array_get(series, 1), 2)), "ok");
	assert_string_equal(json_string_value(json_array_get(json_array_get(series, 2), 2)), "failed");
	json_array_foreach(json_object_get(json_object_get(journal, "measurements"), "write_series"),
			   i, p)
		if (json_integer_value(json_array_get(p, 3)) == 1 &&
		    strcmp(json_string_value(json_array_get(p, 2)), "ok") == 0)
			one_attempt_ok++;
	assert_int_equal(json_array_size(series) + one_attempt_ok, s.attempts);
	json_decref(journal);

	/* Without logical writes (a canary), every attempt stays. */
	s.writes = NULL;
	s.n_writes = 0;
	journal = json_object();
	assert_int_equal(results_json_set(journal, &m, &r, &s), 0);
	assert_int_equal(json_array_size(json_object_get(json_object_get(journal, "workload"),
							 "series")), 5);
	json_decref(journal);
}

static void test_json_rounds_to_microseconds(void **state)
{
	struct measurements m = good_drill();
	struct objective_results r;
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	json_t *j, *o;

	(void)state;
	value(&m.rto_ms, 591.553568);
	value(&m.availability, 0.68132704291);
	j = measurements_to_json(&m);
	assert_true(json_real_value(json_object_get(j, "rto_ms")) == 591.554);
	assert_true(json_real_value(json_object_get(j, "availability")) == 0.681327);
	json_decref(j);

	/* A clean history's margin is 0, not -0 ("margin": -0.0 in JSON). */
	objectives_evaluate(&r, &lim, &m);
	o = objectives_to_json(&r);
	j = json_object_get(json_array_get(o, r.count - 1), "margin");
	assert_false(signbit(json_real_value(j)));
	json_decref(o);
}

static void test_nan_becomes_null(void **state)
{
	struct measurements m = good_drill();
	json_t *j;

	(void)state;
	value(&m.availability, NAN);
	j = measurements_to_json(&m);
	assert_true(json_is_null(json_object_get(j, "availability")));
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_pass),
		cmocka_unit_test(test_rto_exceeded),
		cmocka_unit_test(test_limit_is_inclusive),
		cmocka_unit_test(test_not_measured_fails),
		cmocka_unit_test(test_rpo_always_on_with_default_zero),
		cmocka_unit_test(test_rpo_window_exceeded),
		cmocka_unit_test(test_history_violations_fail),
		cmocka_unit_test(test_status_only_has_no_write_objectives),
		cmocka_unit_test(test_canary_has_rpo_and_history),
		cmocka_unit_test(test_availability_floor),
		cmocka_unit_test(test_measurements_json_names),
		cmocka_unit_test(test_measurements_json_without_writes),
		cmocka_unit_test(test_objectives_json),
		cmocka_unit_test(test_outage_json),
		cmocka_unit_test(test_series_json_and_journal),
		cmocka_unit_test(test_series_leaves_one_attempt_writes_to_write_series),
		cmocka_unit_test(test_json_rounds_to_microseconds),
		cmocka_unit_test(test_nan_becomes_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
