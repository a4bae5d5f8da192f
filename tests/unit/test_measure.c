/* Measurements on hand-computed histories and timelines: RTO, unavailable
 * time, availability, latency, RPO, promotion, resync, max lag, series.
 * The expected figures are worked out in the comments above each test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "assertions/measure.h"
#include "assertions/objectives.h"
#include "common/strbuf.h"

#define MS INT64_C(1000000)

struct fixture {
	struct history h;
	struct status_timeline tl;
	struct ledger_entry_ref entries[16384];
	size_t n_entries;
	struct measure_markers mk;
	struct check_result check;
	struct measurements m;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct measure_markers mk = MEASURE_MARKERS_INIT;

	history_init(&f->h, 0);
	status_timeline_init(&f->tl, 0);
	f->mk = mk;
	f->mk.call_timeout_ns = 200 * MS;
	f->mk.dr_regions[0] = "dr";
	f->mk.n_dr_regions = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	history_release(&f->h);
	status_timeline_release(&f->tl);
	free(f);
	return 0;
}

/* One attempt; ok attempts go to the ledger too unless lost. */
static void attempt(struct fixture *f, uint64_t seq, int64_t inv_ms, int64_t done_ms,
		    int outcome)
{
	struct history_op op;

	memset(&op, 0, sizeof(op));
	op.sequence = seq;
	op.invoke_ns = inv_ms * MS;
	op.complete_ns = done_ms * MS;
	op.outcome = (uint8_t)outcome;
	op.attempt = 1;
	if (outcome == HISTORY_OK) {
		op.index = seq;
		assert_true(f->n_entries < sizeof(f->entries) / sizeof(f->entries[0]));
		f->entries[f->n_entries].sequence = seq;
		f->entries[f->n_entries].index = seq;
		f->n_entries++;
	} else {
		op.error = outcome == HISTORY_FAILED ? HISTORY_ERR_NOT_LEADER : HISTORY_ERR_TIMEOUT;
	}
	assert_int_equal(history_append(&f->h, &op), 0);
}

/* Sequences first..last, one 1 ms write every 10 ms from start_ms. */
static void steady(struct fixture *f, uint64_t first, uint64_t last, int64_t start_ms)
{
	for (uint64_t s = first; s <= last; s++) {
		int64_t t = start_ms + (int64_t)(s - first) * 10;

		attempt(f, s, t, t + 1, HISTORY_OK);
	}
}

static void compute(struct fixture *f)
{
	struct dr_error err = DR_ERROR_INIT;

	if (history_check(&f->check, &f->h, f->entries, f->n_entries, &err) != 0)
		fail_msg("history_check: %s", err.msg);
	if (f->mk.drill_end_ns == 0 && f->h.count)
		f->mk.drill_end_ns = f->h.ops[f->h.count - 1].complete_ns;
	if (measure_compute(&f->m, &f->h, &f->check, &f->tl, &f->mk, &err) != 0)
		fail_msg("measure_compute: %s", err.msg);
}

static void assert_ms(const struct measure_value *v, double expected)
{
	if (!v->has)
		fail_msg("expected %g, got not measured (%s)", expected, v->why);
	if (v->value < expected - 1e-6 || v->value > expected + 1e-6)
		fail_msg("expected %g, got %g", expected, v->value);
}

static void assert_none(const struct measure_value *v, const char *why_fragment)
{
	if (v->has)
		fail_msg("expected not measured, got %g", v->value);
	if (!strstr(v->why, why_fragment))
		fail_msg("why '%s' does not mention '%s'", v->why, why_fragment);
}

/* Writes at 0..90 ms (1 ms each); fault at 100.  Sequence 11: timeout
 * 100->300, NOT_LEADER 300->301, timeout 301->501, ok 501->503; then 12 at
 * 503->504 and 13 at 510->511.  Unavailable: [100, 503] = 403 ms (the
 * three bad attempts' spans all end at 503, the first good completion after
 * them).  RTO = 503 - 100 = 403.  Write time [0, 511]: availability
 * 1 - 403/511.  Latencies: twelve of 1 ms and sequence 11's 403 ms. */
static void outage_history(struct fixture *f)
{
	steady(f, 1, 10, 0);
	attempt(f, 11, 100, 300, HISTORY_UNKNOWN);
	attempt(f, 11, 300, 301, HISTORY_FAILED);
	attempt(f, 11, 301, 501, HISTORY_UNKNOWN);
	attempt(f, 11, 501, 503, HISTORY_OK);
	attempt(f, 12, 503, 504, HISTORY_OK);
	attempt(f, 13, 510, 511, HISTORY_OK);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
}

static void test_outage_with_failures(void **state)
{
	struct fixture *f = *state;

	outage_history(f);
	compute(f);
	assert_ms(&f->m.rto_ms, 403.0);
	assert_null(f->m.rto_note);
	assert_ms(&f->m.unavailable_ms, 403.0);
	assert_ms(&f->m.availability, 1.0 - 403.0 / 511.0);
	assert_ms(&f->m.write_window_ms, 511.0); /* what the availability is a fraction of */
	assert_true(f->m.has_outage);
	assert_true(f->m.has_outage_end);
	assert_true(f->m.outage_start_ms == 100.0);
	assert_true(f->m.outage_end_ms == 503.0);
	assert_true(f->m.outage_first_failure_ms == 100.0);
	assert_ms(&f->m.max_latency_ms, 403.0);
	assert_ms(&f->m.latency_p50_ms, 1.0);
	assert_ms(&f->m.latency_p99_ms, 403.0);
	assert_ms(&f->m.latency_max_ms, 403.0);
	assert_ms(&f->m.rpo_lost_writes, 0);
	assert_ms(&f->m.rpo_seconds, 0);
	assert_true(f->m.has_fault);
	assert_true(f->m.fault_start_ms == 100.0);
}

/* Nearest rank: the p50 of 4, 1, 3 and 2 ms is 2 ms (the smallest value
 * with half the samples at or below it), not the mean of the middle two
 * or the upper middle; p99 and max are 4 ms. */
static void test_latency_percentiles_nearest_rank(void **state)
{
	struct fixture *f = *state;

	attempt(f, 1, 0, 4, HISTORY_OK);
	attempt(f, 2, 10, 11, HISTORY_OK);
	attempt(f, 3, 20, 23, HISTORY_OK);
	attempt(f, 4, 30, 32, HISTORY_OK);
	compute(f);
	assert_ms(&f->m.latency_p50_ms, 2.0);
	assert_ms(&f->m.latency_p99_ms, 4.0);
	assert_ms(&f->m.latency_max_ms, 4.0);
}

/* Same writes, drill started 1000 ms earlier: every *_ms is relative to
 * the drill start, durations do not move. */
static void test_times_are_relative_to_drill_start(void **state)
{
	struct fixture *f = *state;

	outage_history(f);
	f->mk.drill_start_ns = -1000 * MS;
	compute(f);
	assert_ms(&f->m.rto_ms, 403.0);
	assert_true(f->m.outage_start_ms == 1100.0);
	assert_true(f->m.outage_end_ms == 1503.0);
	assert_true(f->m.fault_start_ms == 1100.0);
}

static void test_outage_without_failures(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 30, 0);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_ms(&f->m.rto_ms, 0.0);
	assert_non_null(f->m.rto_note);
	assert_string_equal(f->m.rto_note, "no interruption");
	assert_false(f->m.has_outage);
	assert_ms(&f->m.unavailable_ms, 0.0);
	assert_ms(&f->m.availability, 1.0);
	assert_ms(&f->m.max_latency_ms, 1.0);
}

/* A write that took 300 ms (> the 200 ms call timeout) but ended ok is a
 * stall: sequence 11 at 99->399, 12 at 399->400.  Span [99, 400]: 301 ms
 * unavailable; RTO from the fault at 100 to 400 = 300 ms. */
static void test_stalled_write_counts(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 10, 0);
	attempt(f, 11, 99, 399, HISTORY_OK);
	attempt(f, 12, 399, 400, HISTORY_OK);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_ms(&f->m.rto_ms, 300.0);
	assert_ms(&f->m.unavailable_ms, 301.0);
	assert_true(f->m.outage_first_failure_ms == 99.0);
	assert_ms(&f->m.max_latency_ms, 300.0);
}

/* Without a call timeout the slow write is only latency. */
static void test_slow_write_without_timeout_is_latency(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 10, 0);
	attempt(f, 11, 99, 399, HISTORY_OK);
	f->mk.call_timeout_ns = 0;
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_ms(&f->m.rto_ms, 0.0);
	assert_string_equal(f->m.rto_note, "no interruption");
	assert_ms(&f->m.max_latency_ms, 300.0);
}

/* A failure that completed before the fault is not the fault's outage:
 * 40->41 NOT_LEADER, retried 41->42 ok; fault at 100; nothing fails after.
 * RTO 0 ("no interruption"), and the 2 ms blip is reported as a pre-fault
 * blip, not an outage: no unavailable time, availability 1 (issue 16: such
 * blips were drawn and counted as outages). */
static void test_blip_before_fault(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 4, 0);
	attempt(f, 5, 40, 41, HISTORY_FAILED);
	attempt(f, 5, 41, 42, HISTORY_OK);
	steady(f, 6, 20, 50);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_ms(&f->m.rto_ms, 0.0);
	assert_string_equal(f->m.rto_note, "no interruption");
	assert_ms(&f->m.unavailable_ms, 0.0);
	assert_ms(&f->m.availability, 1.0);
	assert_int_equal(f->m.n_spans, 0);
	assert_int_equal(f->m.n_blips, 1);
	assert_int_equal(f->m.n_blips_total, 1);
	assert_true(f->m.blips[0].start_ms == 40.0 && f->m.blips[0].end_ms == 42.0);
	assert_true(f->m.blips_ms == 2.0);
}

/* Blips before the fault and the fault's outage after it: only the outage
 * is unavailable time.  Blips 20->24 (4 ms, a timeout-free NOT_LEADER
 * retried) and 60->65 (5 ms); fault at 100, outage [100, 151].  Write time
 * [0, 301]: availability 1 - 51/301, not 1 - 60/301. */
static void test_blips_apart_from_the_outage(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 2, 0);
	attempt(f, 3, 20, 23, HISTORY_FAILED);
	attempt(f, 3, 23, 24, HISTORY_OK);
	steady(f, 4, 6, 30);
	attempt(f, 7, 60, 64, HISTORY_FAILED);
	attempt(f, 7, 64, 65, HISTORY_OK);
	steady(f, 8, 10, 70);
	attempt(f, 11, 100, 150, HISTORY_FAILED);
	attempt(f, 11, 150, 151, HISTORY_OK);
	steady(f, 12, 26, 160);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_ms(&f->m.rto_ms, 51.0);
	assert_ms(&f->m.unavailable_ms, 51.0);
	assert_ms(&f->m.write_window_ms, 301.0);
	assert_ms(&f->m.availability, 1.0 - 51.0 / 301.0);
	assert_int_equal(f->m.n_spans, 1);
	assert_true(f->m.spans[0].start_ms == 100.0 && f->m.spans[0].end_ms == 151.0);
	assert_int_equal(f->m.n_blips, 2);
	assert_true(f->m.blips[0].start_ms == 20.0 && f->m.blips[0].end_ms == 24.0);
	assert_true(f->m.blips[1].start_ms == 60.0 && f->m.blips[1].end_ms == 65.0);
	assert_true(f->m.blips_ms == 9.0);
}

/* A blip whose failures all completed before the fault, though the write
 * that ended it completed just after the fault began (98 -> 99 failed,
 * 99 -> 102 ok, fault at 100): the fault did not cause it, so it is a blip,
 * as RTO already treated it ("no interruption"). */
static void test_blip_ending_after_the_fault_starts(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 9, 0);
	attempt(f, 10, 98, 99, HISTORY_FAILED);
	attempt(f, 10, 99, 102, HISTORY_OK);
	steady(f, 11, 20, 110);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_ms(&f->m.rto_ms, 0.0);
	assert_ms(&f->m.unavailable_ms, 0.0);
	assert_int_equal(f->m.n_spans, 0);
	assert_int_equal(f->m.n_blips, 1);
	assert_true(f->m.blips[0].start_ms == 98.0 && f->m.blips[0].end_ms == 102.0);
}

/* Without a fault nothing is "before the fault": a failure is an outage. */
static void test_no_fault_blip_is_an_outage(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 4, 0);
	attempt(f, 5, 40, 41, HISTORY_FAILED);
	attempt(f, 5, 41, 42, HISTORY_OK);
	steady(f, 6, 10, 50);
	compute(f);
	assert_ms(&f->m.unavailable_ms, 2.0);
	assert_int_equal(f->m.n_spans, 1);
	assert_int_equal(f->m.n_blips, 0);
}

/* Before / during / after, each over its stated window.  Writes of 1 ms
 * every 10 ms from 0 to 591; a blip 20->24 (before); baseline 50..100;
 * fault at 100 with an outage [100, 151]; restore at 300; a 50 ms write
 * 400->450 ok after it (slow, under the call timeout).
 *   before = the baseline [50, 100): the blip lies outside it, so 100 %,
 *            writes acked at 51..91 (5), latency 1 ms;
 *   during = [100, 300): 51 ms down of 200 -> 74.5 %;
 *   after  = [300, 591]: no outage -> 100 %, max latency 50 ms. */
static void test_phases_before_during_after(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 2, 0);
	attempt(f, 3, 20, 23, HISTORY_FAILED);
	attempt(f, 3, 23, 24, HISTORY_OK);
	steady(f, 4, 10, 30);
	attempt(f, 11, 100, 150, HISTORY_FAILED);
	attempt(f, 11, 150, 151, HISTORY_OK);
	steady(f, 12, 35, 160);
	attempt(f, 36, 400, 450, HISTORY_OK);
	steady(f, 37, 51, 450);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	f->mk.has_restore = true;
	f->mk.restore_start_ns = 300 * MS;
	f->mk.has_baseline = true;
	f->mk.baseline_start_ns = 50 * MS;
	f->mk.baseline_end_ns = 100 * MS;
	compute(f);
	{
		const struct measure_phase *b = &f->m.phases[MEASURE_BEFORE];
		const struct measure_phase *d = &f->m.phases[MEASURE_DURING];
		const struct measure_phase *a = &f->m.phases[MEASURE_AFTER];

		assert_true(b->has && b->start_ms == 50.0 && b->end_ms == 100.0);
		assert_ms(&b->availability, 1.0);
		assert_int_equal(b->writes_ok, 5);
		assert_ms(&b->latency_max_ms, 1.0);
		assert_true(d->has && d->start_ms == 100.0 && d->end_ms == 300.0);
		assert_ms(&d->unavailable_ms, 51.0);
		assert_ms(&d->availability, 1.0 - 51.0 / 200.0);
		assert_true(a->has && a->start_ms == 300.0 && a->end_ms == 591.0);
		assert_ms(&a->availability, 1.0);
		assert_ms(&a->latency_max_ms, 50.0);
	}
}

/* Without a baseline "before" runs from the first attempt to the fault and
 * counts the pre-fault blip there (20->24: 4 ms of 100); without a restore
 * "during" runs to the last attempt and there is no "after". */
static void test_phases_without_baseline_or_restore(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 2, 0);
	attempt(f, 3, 20, 23, HISTORY_FAILED);
	attempt(f, 3, 23, 24, HISTORY_OK);
	steady(f, 4, 20, 30);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_true(f->m.phases[MEASURE_BEFORE].has);
	assert_true(f->m.phases[MEASURE_BEFORE].start_ms == 0.0 &&
		    f->m.phases[MEASURE_BEFORE].end_ms == 100.0);
	assert_ms(&f->m.phases[MEASURE_BEFORE].unavailable_ms, 4.0);
	assert_ms(&f->m.phases[MEASURE_BEFORE].availability, 0.96);
	assert_true(f->m.phases[MEASURE_DURING].has && f->m.phases[MEASURE_DURING].end_ms == 191.0);
	assert_false(f->m.phases[MEASURE_AFTER].has);
	assert_non_null(strstr(f->m.phases[MEASURE_AFTER].why, "no restore step"));
}

/* Two outages after the fault and no restore: the fault's outage runs to
 * the end of the second (100 -> 352, RTO 252; a graceful stop's handover
 * blip followed by the quorum loss it led to measured 6.6 ms for a 1.4 s
 * outage when RTO ended with the first); unavailable is their union:
 * [100,151] + [300,352] = 51 + 52 = 103. */
static void two_outages(struct fixture *f)
{
	steady(f, 1, 10, 0);
	attempt(f, 11, 100, 150, HISTORY_FAILED);
	attempt(f, 11, 150, 151, HISTORY_OK);
	steady(f, 12, 25, 160);
	attempt(f, 26, 300, 350, HISTORY_UNKNOWN);
	attempt(f, 26, 350, 352, HISTORY_OK);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
}

static void test_two_outages(void **state)
{
	struct fixture *f = *state;

	two_outages(f);
	compute(f);
	assert_ms(&f->m.rto_ms, 252.0);
	assert_ms(&f->m.unavailable_ms, 103.0);
	/* Both spans are listed, in time order. */
	assert_int_equal(f->m.n_spans, 2);
	assert_int_equal(f->m.n_spans_total, 2);
	assert_true(f->m.spans[0].start_ms == 100.0 && f->m.spans[0].end_ms == 151.0);
	assert_true(f->m.spans[1].start_ms == 300.0 && f->m.spans[1].end_ms == 352.0);
	assert_true(f->m.spans[1].recovered);
}

/* The same two outages with the restore starting between them: the second
 * is the restore's, not the fault's (RTO 51); unavailable still counts it. */
static void test_outage_after_restore_is_not_the_faults(void **state)
{
	struct fixture *f = *state;

	two_outages(f);
	f->mk.has_restore = true;
	f->mk.restore_start_ns = 200 * MS;
	compute(f);
	assert_ms(&f->m.rto_ms, 51.0);
	assert_ms(&f->m.unavailable_ms, 103.0);
}

/* A later outage that never ended makes the fault's outage unrecovered. */
static void test_second_outage_not_recovered(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 10, 0);
	attempt(f, 11, 100, 150, HISTORY_FAILED);
	attempt(f, 11, 150, 151, HISTORY_OK);
	steady(f, 12, 25, 160);
	attempt(f, 26, 300, 500, HISTORY_UNKNOWN);
	attempt(f, 26, 500, 700, HISTORY_UNKNOWN);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_none(&f->m.rto_ms, "not recovered");
}

/* Nothing succeeds after the fault: RTO not measured, "not recovered";
 * the outage has no end; unavailable runs to the last attempt (100..700). */
static void test_not_recovered(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 10, 0);
	attempt(f, 11, 100, 300, HISTORY_UNKNOWN);
	attempt(f, 11, 300, 500, HISTORY_UNKNOWN);
	attempt(f, 11, 500, 700, HISTORY_UNKNOWN);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_none(&f->m.rto_ms, "not recovered");
	assert_string_equal(f->m.rto_note, "not recovered");
	assert_true(f->m.has_outage);
	assert_false(f->m.has_outage_end);
	assert_ms(&f->m.unavailable_ms, 600.0);
	assert_ms(&f->m.availability, 1.0 - 600.0 / 700.0);
	assert_int_equal(f->m.n_spans, 1);
	assert_false(f->m.spans[0].recovered);
	assert_true(f->m.spans[0].end_ms == 700.0);
}

/* Overlapping writers: a 500 ms stall (100->600) while other writes
 * invoked after it complete at 121: the service was up.  Its span ends at
 * 121 (the first good completion of a write sent after it). */
static void test_concurrent_writer_stall(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 10, 0);
	attempt(f, 11, 100, 600, HISTORY_UNKNOWN);
	attempt(f, 12, 120, 121, HISTORY_OK);
	attempt(f, 13, 600, 601, HISTORY_OK);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 110 * MS;
	compute(f);
	assert_ms(&f->m.unavailable_ms, 21.0);
	assert_ms(&f->m.rto_ms, 11.0);
}

static void test_no_fault(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 10, 0);
	compute(f);
	assert_none(&f->m.rto_ms, "no fault step ran");
	assert_null(f->m.rto_note);
	assert_none(&f->m.promotion_ms, "no fault step ran");
	assert_none(&f->m.resync_ms, "no restore step");
	assert_false(f->m.has_outage);
	assert_false(f->m.has_fault);
	assert_ms(&f->m.rpo_seconds, 0.0); /* nothing lost: the window is 0 */
}

/* Sequence 3 (acked at 21 ms) and 5 (acked at 41) lost; fault at 100:
 * RPO = 2 writes, oldest acknowledged 79 ms before the fault. */
static void test_rpo_window(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 10, 0);
	f->entries[2] = f->entries[9];
	f->entries[4] = f->entries[8];
	f->n_entries = 8;
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	compute(f);
	assert_ms(&f->m.rpo_lost_writes, 2);
	assert_ms(&f->m.rpo_seconds, 0.079);
	assert_int_equal(f->m.writes.lost, 2);
	assert_true(f->m.has_writes);
}

static void test_rpo_window_without_fault(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 10, 0);
	f->n_entries = 9;
	compute(f);
	assert_ms(&f->m.rpo_lost_writes, 1);
	assert_none(&f->m.rpo_seconds, "no fault step ran");
}

static void test_status_only_mode(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;

	f->mk.workload_mode = "status-only";
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	assert_int_equal(measure_compute(&f->m, &f->h, NULL, &f->tl, &f->mk, &err), 0);
	assert_none(&f->m.rto_ms, "did not write");
	assert_none(&f->m.rpo_lost_writes, "did not write");
	assert_none(&f->m.availability, "did not write");
	assert_false(f->m.has_writes);
	assert_string_equal(f->m.workload_mode, "status-only");
}

static void test_bad_markers(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;

	f->mk.drill_start_ns = 10;
	f->mk.drill_end_ns = 5;
	assert_int_equal(measure_compute(&f->m, &f->h, &f->check, &f->tl, &f->mk, &err), -1);
	assert_non_null(strstr(err.msg, "ends before it starts"));
	f->mk.drill_end_ns = 20;
	assert_int_equal(measure_compute(&f->m, &f->h, NULL, &f->tl, &f->mk, &err), -1);
	assert_non_null(strstr(err.msg, "history check"));
}

static void observe(struct fixture *f, int64_t t_ms, uint64_t term, uint64_t leader,
		    const char *region, bool full, unsigned present, int64_t lag_ms)
{
	struct status_point p;

	memset(&p, 0, sizeof(p));
	p.t_ns = t_ms * MS;
	p.term = term;
	p.leader_id = leader;
	str_copy(p.leader_region, sizeof(p.leader_region), region);
	p.quorum = leader != 0;
	p.fully_replicated = full;
	p.members = 5;
	p.members_present = (uint16_t)present;
	p.max_lag_ns = lag_ms * MS;
	status_timeline_observe(&f->tl, &p);
}

/* Primary leads until the fault at 100; no leader at 120; DR leader 3 of
 * term 3 seen at 350 -> promotion 250 ms.  Restore at 2000; all 5 members
 * back at 2100 but replicating; "Fully replicated" at 2450 -> resync
 * 450 ms.  Max lag 900 ms (seen at 2200, not a recorded point). */
static void failover_timeline(struct fixture *f)
{
	observe(f, 0, 2, 1, "primary", true, 5, 2);
	observe(f, 120, 2, 0, "", false, 3, 0);
	observe(f, 350, 3, 3, "dr", false, 3, 10);
	observe(f, 2100, 3, 3, "dr", false, 5, 400);
	observe(f, 2200, 3, 3, "dr", false, 5, 900);
	observe(f, 2450, 3, 3, "dr", true, 5, 5);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	f->mk.has_restore = true;
	f->mk.restore_start_ns = 2000 * MS;
	f->mk.drill_end_ns = 3000 * MS;
}

static void test_promotion_and_resync(void **state)
{
	struct fixture *f = *state;

	failover_timeline(f);
	compute(f);
	assert_ms(&f->m.promotion_ms, 250.0);
	assert_ms(&f->m.resync_ms, 450.0);
	assert_ms(&f->m.max_lag_ms, 900.0);
	assert_true(f->m.has_restore);
	assert_true(f->m.restore_start_ms == 2000.0);
}

/* Writes 1..10 acknowledged at ledger indexes 1..10 (0..91 ms); the
 * primary is lost at 100 and DR promoted unsafely at 500, its chosen node
 * holding the ledger up to index 7 (its Raft index, with group commit,
 * would be lower: it is not what the figure compares).  Sequences 8..10 are
 * acknowledged above the DR index: 3 at risk; the new cluster hands out
 * indexes 8, 9 again after the promotion (sequences 11, 12 acknowledged at
 * 600, 610): those are not at risk.  The ledger afterwards lacks 8..10:
 * 3 lost. */
static void unsafe_promotion_history(struct fixture *f, uint64_t dr_index)
{
	steady(f, 1, 10, 0);
	f->n_entries = 7;
	attempt(f, 11, 600, 601, HISTORY_OK);
	attempt(f, 12, 610, 611, HISTORY_OK);
	f->h.ops[f->h.count - 2].index = 8;
	f->h.ops[f->h.count - 1].index = 9;
	f->entries[f->n_entries - 2].index = 8;
	f->entries[f->n_entries - 1].index = 9;
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	f->mk.has_unsafe_promotion = true;
	f->mk.unsafe_promotion_ns = 500 * MS;
	f->mk.unsafe_promotion_step = "force-dr-promotion";
	f->mk.has_dr_ledger_index = true;
	f->mk.dr_ledger_index = dr_index;
}

static void test_unsafe_promotion_writes_at_risk(void **state)
{
	struct fixture *f = *state;

	unsafe_promotion_history(f, 7);
	compute(f);
	assert_true(f->m.unsafe_promotion.has);
	assert_string_equal(f->m.unsafe_promotion.step, "force-dr-promotion");
	assert_true(f->m.unsafe_promotion.t_ms == 500.0);
	assert_ms(&f->m.unsafe_promotion.dr_last_index, 7);
	assert_ms(&f->m.unsafe_promotion.primary_acked_index, 10);
	assert_ms(&f->m.unsafe_promotion.writes_at_risk, 3);
	assert_ms(&f->m.unsafe_promotion.writes_lost, 3);
}

/* The DR side had everything acknowledged (index 10): nothing at risk,
 * so 0 lost is "nothing could be lost". */
static void test_unsafe_promotion_nothing_at_risk(void **state)
{
	struct fixture *f = *state;

	unsafe_promotion_history(f, 10);
	f->n_entries = 12;
	for (size_t i = 0; i < 12; i++) {
		f->entries[i].sequence = i + 1;
		f->entries[i].index = i + 1;
	}
	f->h.ops[f->h.count - 2].index = 11;
	f->h.ops[f->h.count - 1].index = 12;
	compute(f);
	assert_ms(&f->m.unsafe_promotion.writes_at_risk, 0);
	assert_ms(&f->m.unsafe_promotion.writes_lost, 0);
	assert_ms(&f->m.unsafe_promotion.primary_acked_index, 10);
}

/* A write retried and acknowledged twice at the same index is one write;
 * without the DR index the figure is not measured, with its reason; no
 * unsafe promotion, no figure. */
static void test_unsafe_promotion_counts_and_gaps(void **state)
{
	struct fixture *f = *state;

	unsafe_promotion_history(f, 7);
	attempt(f, 9, 95, 96, HISTORY_OK);
	f->h.ops[f->h.count - 1].index = 9;
	f->n_entries--;
	compute(f);
	assert_ms(&f->m.unsafe_promotion.writes_at_risk, 3);

	f->mk.has_dr_ledger_index = false;
	compute(f);
	assert_none(&f->m.unsafe_promotion.writes_at_risk, "ledger index");
	assert_none(&f->m.unsafe_promotion.dr_last_index, "ledger index");
	assert_ms(&f->m.unsafe_promotion.writes_lost, 3);

	f->mk.has_unsafe_promotion = false;
	compute(f);
	assert_false(f->m.unsafe_promotion.has);
}

/* Fault steps starting at the given times (ms; the first is the fault's
 * start), the drill ending at 3000 ms. */
static void fault_steps(struct fixture *f, int n, const int64_t *at_ms)
{
	f->mk.has_fault = true;
	f->mk.fault_start_ns = at_ms[0] * MS;
	for (int i = 0; i < n; i++)
		f->mk.fault_starts_ns[i] = at_ms[i] * MS;
	f->mk.n_fault_starts = n;
	f->mk.drill_end_ns = 3000 * MS;
}

/* The quorum-loss drill: the primary region (3 of 5 voters) stops
 * gracefully at 100 and its last leader hands over to DR node 4 (term 5,
 * seen at 200), which loses it at 700 when the primary's last voter stops:
 * no quorum.  The drill's promotion (a second fault step) starts at 1400;
 * DR node 5 leads in term 6 from 1800 until the restore at 2300.  The
 * promotion is that leader: 1700 ms, not the handover's 100 ms. */
static void quorum_loss_timeline(struct fixture *f)
{
	observe(f, 0, 3, 1, "primary", true, 5, 0);
	observe(f, 200, 5, 4, "dr", false, 4, 0);
	observe(f, 700, 5, 0, "", false, 2, 0);
	observe(f, 1800, 6, 5, "dr", false, 2, 0);
	observe(f, 2500, 6, 5, "dr", true, 5, 0);
	fault_steps(f, 2, (const int64_t[]){ 100, 1400 });
	f->mk.has_restore = true;
	f->mk.restore_start_ns = 2300 * MS;
}

static void test_promotion_skips_a_transient_handover_leader(void **state)
{
	struct fixture *f = *state;

	quorum_loss_timeline(f);
	compute(f);
	assert_ms(&f->m.promotion_ms, 1700.0);
}

/* Without the drill's promotion, the handover leader alone did not hold:
 * not measured, saying so. */
static void test_promotion_not_measured_when_no_dr_leader_held(void **state)
{
	struct fixture *f = *state;

	observe(f, 0, 3, 1, "primary", true, 5, 0);
	observe(f, 200, 5, 4, "dr", false, 4, 0);
	observe(f, 700, 5, 0, "", false, 2, 0);
	fault_steps(f, 1, (const int64_t[]){ 100 });
	compute(f);
	assert_none(&f->m.promotion_ms, "did not hold");
}

/* A DR leader that moves to another DR node without a gap still holds,
 * and one lost only after the next fault step began (that fault's doing)
 * is the promotion too. */
static void test_promotion_held_until_the_next_fault(void **state)
{
	struct fixture *f = *state;

	observe(f, 0, 3, 1, "primary", true, 5, 0);
	observe(f, 200, 4, 4, "dr", false, 3, 0);
	observe(f, 400, 5, 5, "dr", false, 3, 0);
	observe(f, 1100, 5, 0, "", false, 2, 0);
	observe(f, 1500, 6, 4, "dr", false, 2, 0);
	fault_steps(f, 2, (const int64_t[]){ 100, 1000 });
	compute(f);
	assert_ms(&f->m.promotion_ms, 100.0);
}

/* Failback on a slow machine: the status poller first sees the DR leader
 * (term 6, at 800) after the restore (scaling the primary back) began at
 * 700, and the drill's own transfer back ends it at 1800.  That leader is
 * the promotion: 700 ms, not "did not hold" (a kubernetes failback in CI
 * said so). */
static void test_promotion_seen_after_the_restore_began(void **state)
{
	struct fixture *f = *state;

	observe(f, 0, 5, 1, "primary", true, 5, 0);
	observe(f, 800, 6, 3, "dr", false, 3, 0);
	observe(f, 1800, 7, 1, "primary", true, 5, 0);
	fault_steps(f, 1, (const int64_t[]){ 100 });
	f->mk.has_restore = true;
	f->mk.restore_start_ns = 700 * MS;
	compute(f);
	assert_ms(&f->m.promotion_ms, 700.0);
}

static void test_promotion_needs_a_dr_leader(void **state)
{
	struct fixture *f = *state;

	failover_timeline(f);
	f->mk.dr_regions[0] = "eu-west";
	compute(f);
	assert_none(&f->m.promotion_ms, "'eu-west'");

	f->mk.n_dr_regions = 0;
	compute(f);
	assert_none(&f->m.promotion_ms, "no DR region");
}

/* The DR region already led at the fault (term 3): promotion is the next
 * DR leader of a later term, at 700 -> 600 ms after the fault at 100. */
static void test_promotion_when_dr_already_leads(void **state)
{
	struct fixture *f = *state;

	observe(f, 0, 3, 3, "dr", true, 5, 0);
	observe(f, 300, 3, 0, "", false, 4, 0);
	observe(f, 700, 4, 4, "dr", false, 4, 0);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	f->mk.drill_end_ns = 1000 * MS;
	compute(f);
	assert_ms(&f->m.promotion_ms, 600.0);
}

static void test_resync_needs_every_member(void **state)
{
	struct fixture *f = *state;

	/* "Fully replicated" among the 3 present is not resynced. */
	observe(f, 0, 2, 1, "primary", false, 3, 0);
	observe(f, 150, 3, 3, "dr", true, 3, 0);
	f->mk.has_restore = true;
	f->mk.restore_start_ns = 100 * MS;
	f->mk.drill_end_ns = 1000 * MS;
	compute(f);
	assert_none(&f->m.resync_ms, "not fully replicated");

	/* A configuration that shrank to 5 when the plan expects 6. */
	observe(f, 200, 3, 3, "dr", true, 5, 0);
	f->mk.expected_members = 6;
	compute(f);
	assert_none(&f->m.resync_ms, "not fully replicated");
	f->mk.expected_members = 5;
	compute(f);
	assert_ms(&f->m.resync_ms, 100.0);
}

/* The poller's last word was from before the fault (a step failed 60 ms
 * after it and the workload stopped right after the undo): no resync was
 * seen, so none is measured -- never a passing 0 ms (issue 16). */
static void test_resync_not_measured_from_a_stale_point(void **state)
{
	struct fixture *f = *state;

	observe(f, 0, 2, 1, "primary", true, 5, 0);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	f->mk.has_restore = true;
	f->mk.restore_start_ns = 160 * MS;
	f->mk.drill_end_ns = 170 * MS;
	compute(f);
	assert_none(&f->m.resync_ms, "no cluster status was observed after the restore");
}

/* Resynced before the restore step ran (the members came back by
 * themselves) and seen so after it, with no change: 0 ms is true. */
static void test_resync_already_done_at_restore(void **state)
{
	struct fixture *f = *state;

	observe(f, 0, 2, 1, "primary", true, 5, 0);
	observe(f, 120, 2, 1, "primary", false, 4, 0);
	observe(f, 300, 2, 1, "primary", true, 5, 0);
	observe(f, 600, 2, 1, "primary", true, 5, 0); /* no new point */
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	f->mk.has_restore = true;
	f->mk.restore_start_ns = 500 * MS;
	f->mk.drill_end_ns = 700 * MS;
	compute(f);
	assert_ms(&f->m.resync_ms, 0.0);
}

static void test_no_timeline(void **state)
{
	struct fixture *f = *state;

	steady(f, 1, 3, 0);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 10 * MS;
	compute(f);
	assert_none(&f->m.promotion_ms, "no cluster status");
	assert_none(&f->m.max_lag_ms, "no cluster status");
}

/* 10000 ok writes with one 80 ms spike, and 5 failures: at most 2000
 * points, every failure, the spike, in time order. */
static void test_series_downsamples_keeping_failures(void **state)
{
	struct fixture *f = *state;
	struct series s;
	size_t failures = 0;
	bool spike = false;

	for (uint64_t i = 1; i <= 10000; i++) {
		int64_t t = (int64_t)i * 2;

		if (i % 2000 == 0)
			attempt(f, i, t, t + 1, HISTORY_UNKNOWN);
		else
			attempt(f, i, t, i == 4321 ? t + 80 : t + 1, HISTORY_OK);
	}
	series_build(&s, &f->h, 0, 0);
	assert_true(s.count <= SERIES_DEFAULT_MAX);
	assert_true(s.count > 1900);
	assert_false(s.failures_thinned);
	for (size_t i = 0; i < s.count; i++) {
		if (s.points[i].outcome != HISTORY_OK)
			failures++;
		if (s.points[i].latency_ms == 80.0)
			spike = true;
		if (i > 0)
			assert_true(s.points[i - 1].t_ms <= s.points[i].t_ms);
	}
	assert_int_equal(failures, 5);
	assert_true(spike);
	series_release(&s);
}

static void test_series_small_history_kept_whole(void **state)
{
	struct fixture *f = *state;
	struct series s;

	outage_history(f);
	series_build(&s, &f->h, 0, 0);
	assert_int_equal(s.count, f->h.count);
	assert_true(s.points[10].t_ms == 300.0);
	assert_true(s.points[10].latency_ms == 200.0);
	assert_int_equal(s.points[10].outcome, HISTORY_UNKNOWN);
	series_release(&s);
}

static void test_series_too_many_failures(void **state)
{
	struct fixture *f = *state;
	struct series s;

	for (uint64_t i = 1; i <= 50; i++)
		attempt(f, i, (int64_t)i, (int64_t)i + 1, HISTORY_FAILED);
	series_build(&s, &f->h, 0, 20);
	assert_int_equal(s.count, 20);
	assert_true(s.failures_thinned);
	series_release(&s);
}

/* One attempt with its error class and attempt number (retries reuse
 * the sequence); never in the ledger, these tests do not check RPO. */
static void attempt_class(struct fixture *f, uint64_t seq, uint32_t nth, int64_t inv_ms,
			  int64_t done_ms, int outcome, int error)
{
	struct history_op op;

	memset(&op, 0, sizeof(op));
	op.sequence = seq;
	op.attempt = nth;
	op.invoke_ns = inv_ms * MS;
	op.complete_ns = done_ms * MS;
	op.outcome = (uint8_t)outcome;
	op.error = (uint8_t)error;
	op.index = outcome == HISTORY_OK ? seq : 0;
	assert_int_equal(history_append(&f->h, &op), 0);
}

static uint64_t class_sum(const struct series *s, size_t c)
{
	uint64_t n = 0;

	for (size_t b = 0; b < s->n_buckets; b++)
		n += s->counts[c * s->n_buckets + b];
	return n;
}

/* The chart's story (issue 16): a write retried through the outage is one
 * logical write of 626 ms and 4 attempts, although no attempt took longer
 * than 416 ms; its attempts land in their 100 ms buckets by class, and
 * the classes add up to every attempt. */
static void test_series_logical_write_spans_its_retries(void **state)
{
	struct fixture *f = *state;
	struct series s;
	uint64_t total = 0;

	attempt_class(f, 1, 1, 0, 1, HISTORY_OK, HISTORY_ERR_NONE);
	attempt_class(f, 2, 1, 10, 12, HISTORY_FAILED, HISTORY_ERR_CONNECT);
	attempt_class(f, 2, 2, 20, 25, HISTORY_FAILED, HISTORY_ERR_NOT_LEADER);
	attempt_class(f, 2, 3, 130, 220, HISTORY_UNKNOWN, HISTORY_ERR_UNAVAILABLE);
	attempt_class(f, 2, 4, 220, 636, HISTORY_OK, HISTORY_ERR_NONE);
	attempt_class(f, 3, 1, 640, 641, HISTORY_OK, HISTORY_ERR_NONE);
	attempt_class(f, 4, 1, 650, 652, HISTORY_FAILED, HISTORY_ERR_NONE);
	series_build(&s, &f->h, 0, 0);

	assert_int_equal(s.n_writes_total, 4);
	assert_int_equal(s.n_writes, 4);
	assert_true(s.writes[1].latency_ms == 626.0);
	assert_true(s.writes[1].t_ms == 636.0);
	assert_int_equal(s.writes[1].attempts, 4);
	assert_int_equal(s.writes[1].outcome, HISTORY_OK);
	/* A write that never succeeded ends at its last attempt. */
	assert_int_equal(s.writes[3].outcome, HISTORY_FAILED);
	assert_true(s.writes[3].latency_ms == 2.0);

	assert_true(s.bucket_ms == 100.0);
	assert_int_equal(s.n_buckets, 7);
	assert_int_equal(s.class_totals[SERIES_CLASS_OK], 3);
	assert_int_equal(s.class_totals[HISTORY_ERR_CONNECT], 1);
	assert_int_equal(s.class_totals[HISTORY_ERR_NOT_LEADER], 1);
	assert_int_equal(s.class_totals[HISTORY_ERR_UNAVAILABLE], 1);
	/* A failure without an error code is still counted, as OTHER. */
	assert_int_equal(s.class_totals[HISTORY_ERR_OTHER], 1);
	assert_int_equal(s.counts[HISTORY_ERR_UNAVAILABLE * s.n_buckets + 2], 1);
	assert_int_equal(s.counts[SERIES_CLASS_OK * s.n_buckets + 6], 2);
	assert_string_equal(series_class_name(SERIES_CLASS_OK), "ok");
	assert_string_equal(series_class_name(HISTORY_ERR_CONNECT), "CONNECT");
	for (size_t c = 0; c < SERIES_NCLASSES; c++) {
		assert_int_equal(class_sum(&s, c), s.class_totals[c]);
		total += s.class_totals[c];
	}
	assert_int_equal(total, f->h.count);
	assert_int_equal(s.attempts, f->h.count);
	series_release(&s);
}

/* A long drill keeps the journal small: buckets widen so there are at
 * most SERIES_MAX_BUCKETS, and still count every attempt; thinned logical
 * writes keep the one stall among 10000 fast ones. */
static void test_series_long_drill_widens_buckets(void **state)
{
	struct fixture *f = *state;
	struct series s;
	uint64_t total = 0;
	bool stall = false;

	for (uint64_t i = 1; i <= 10000; i++) {
		int64_t t = (int64_t)i * 60;

		if (i == 5000) {
			attempt_class(f, i, 1, t, t + 30, HISTORY_FAILED, HISTORY_ERR_CONNECT);
			attempt_class(f, i, 2, t + 30, t + 59, HISTORY_OK, HISTORY_ERR_NONE);
		} else {
			attempt_class(f, i, 1, t, t + 1, HISTORY_OK, HISTORY_ERR_NONE);
		}
	}
	series_build(&s, &f->h, 0, 0);
	assert_true(s.n_buckets <= SERIES_MAX_BUCKETS);
	assert_true(s.bucket_ms == 1000.0); /* 600 s: 500 ms would make 1201 buckets */
	assert_true(s.n_writes <= SERIES_DEFAULT_MAX);
	assert_int_equal(s.n_writes_total, 10000);
	for (size_t i = 0; i < s.n_writes; i++) {
		stall |= s.writes[i].latency_ms == 59.0 && s.writes[i].attempts == 2;
		if (i > 0)
			assert_true(s.writes[i - 1].t_ms <= s.writes[i].t_ms);
	}
	assert_true(stall);
	for (size_t c = 0; c < SERIES_NCLASSES; c++)
		total += class_sum(&s, c);
	assert_int_equal(total, f->h.count);
	series_release(&s);
}

static uint64_t prng(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Property: on random overlapping histories (integer ms), unavailable_ms
 * equals the brute-force measure of the union of [b.invoke, R(b)), R(b)
 * the earliest completion of a good attempt sent at or after b. */
static void test_unavailable_matches_brute_force(void **state)
{
	uint64_t x = 0x9E3779B97F4A7C15ULL;

	(void)state;
	for (int round = 0; round < 300; round++) {
		struct history h;
		struct check_result c;
		struct measurements m;
		struct measure_markers mk = MEASURE_MARKERS_INIT;
		struct dr_error err = DR_ERROR_INIT;
		bool covered[400];
		int64_t last = 0, expected = 0;
		size_t n = 1 + prng(&x) % 30;

		memset(covered, 0, sizeof(covered));
		history_init(&h, 0);
		for (size_t i = 0; i < n; i++) {
			struct history_op op = { .sequence = i + 1, .attempt = 1 };
			int64_t inv = (int64_t)(prng(&x) % 200);

			op.invoke_ns = inv * MS;
			op.complete_ns = (inv + 1 + (int64_t)(prng(&x) % 60)) * MS;
			op.outcome = prng(&x) % 3 == 0 ? HISTORY_UNKNOWN : HISTORY_OK;
			op.index = i + 1;
			if (op.complete_ns / MS > last)
				last = op.complete_ns / MS;
			assert_int_equal(history_append(&h, &op), 0);
		}
		for (size_t i = 0; i < n; i++) {
			const struct history_op *b = &h.ops[i];
			int64_t end = INT64_MAX;

			/* bad: not ok, or slower than the 40 ms call timeout */
			if (b->outcome == HISTORY_OK && b->complete_ns - b->invoke_ns <= 40 * MS)
				continue;
			for (size_t j = 0; j < n; j++) {
				const struct history_op *g = &h.ops[j];

				if (g->outcome == HISTORY_OK && g->complete_ns - g->invoke_ns <= 40 * MS &&
				    g->invoke_ns >= b->invoke_ns && g->complete_ns / MS < end)
					end = g->complete_ns / MS;
			}
			if (end == INT64_MAX)
				end = last;
			for (int64_t t = b->invoke_ns / MS; t < end; t++)
				covered[t] = true;
		}
		for (int t = 0; t < 400; t++)
			expected += covered[t];
		mk.call_timeout_ns = 40 * MS;
		mk.drill_end_ns = last * MS;
		assert_int_equal(history_check(&c, &h, NULL, 0, &err), 0);
		assert_int_equal(measure_compute(&m, &h, &c, NULL, &mk, &err), 0);
		if (!m.unavailable_ms.has || m.unavailable_ms.value != (double)expected)
			fail_msg("round %d: unavailable %g ms, brute force %lld ms", round,
				 m.unavailable_ms.value, (long long)expected);
		history_release(&h);
	}
}

/* docs/measurement.md's worked example, end to end: the same history with
 * sequence 3 missing from the ledger, and `rto: 300ms`. */
static void test_worked_example_in_the_docs(void **state)
{
	struct fixture *f = *state;
	struct objective_limits lim = OBJECTIVE_LIMITS_INIT;
	struct objective_results r;

	outage_history(f);
	f->entries[2] = f->entries[f->n_entries - 1];
	f->n_entries--;
	compute(f);
	lim.has_rto = true;
	lim.rto_ns = 300 * MS;
	objectives_evaluate(&r, &lim, &f->m);
	assert_int_equal(r.count, 3); /* rto, rpo, history */
	assert_string_equal(r.items[0].message,
			    "rto 403 ms exceeds the limit 300 ms by 103 ms (writes failed from "
			    "100.0 ms, recovered at 503.0 ms)");
	assert_string_equal(r.items[1].name, "rpo");
	assert_string_equal(r.items[1].message,
			    "1 acknowledged write lost (limit 0): sequence 3; the oldest was "
			    "acknowledged 0.079 s before the fault");
	assert_true(r.items[2].passed);
	assert_ms(&f->m.availability, 1.0 - 403.0 / 511.0);
}

/* Canary mode: the writes are checked (a lost canary is RPO 1) but too
 * sparse to time; RTO then comes from the status (below). */
static void test_canary_mode(void **state)
{
	struct fixture *f = *state;

	f->mk.workload_mode = "canary";
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	attempt(f, 1, 0, 40, HISTORY_OK);
	attempt(f, 2, 1000, 1040, HISTORY_OK);
	f->n_entries = 1; /* canary 2 was acknowledged, then lost */
	f->mk.drill_end_ns = 2000 * MS;
	compute(f);
	assert_true(f->m.has_writes);
	assert_int_equal(f->m.writes.ok, 2);
	assert_ms(&f->m.rpo_lost_writes, 1);
	assert_none(&f->m.rto_ms, "too sparse");
	assert_none(&f->m.availability, "too sparse");
	assert_none(&f->m.latency_p99_ms, "too sparse");
	assert_string_equal(f->m.workload_mode, "canary");
}

/* Canaries that were never acknowledged before the fault prove nothing:
 * RPO is "not measured" (which fails a stated rpo), never a clean 0. */
static void test_canary_without_an_acknowledged_write(void **state)
{
	struct fixture *f = *state;

	f->mk.workload_mode = "canary";
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	attempt(f, 1, 0, 40, HISTORY_FAILED);
	attempt(f, 2, 1000, 1040, HISTORY_UNKNOWN);
	f->mk.drill_end_ns = 2000 * MS;
	compute(f);
	assert_none(&f->m.rpo_lost_writes, "no canary write was acknowledged (2 attempts)");
	assert_none(&f->m.rpo_seconds, "no canary write was acknowledged");
	/* Acknowledged only after the fault: nothing could have been lost. */
	attempt(f, 3, 1500, 1540, HISTORY_OK);
	compute(f);
	assert_none(&f->m.rpo_lost_writes, "before the fault");
}

/* Status-only RTO: a leaderless status at 120 and a new leader at 350 ->
 * 250 ms after the fault at 100. */
static void test_rto_from_status_gap_seen(void **state)
{
	struct fixture *f = *state;

	failover_timeline(f);
	measure_rto_from_status(&f->m, &f->tl, &f->mk);
	assert_ms(&f->m.rto_ms, 250);
	assert_non_null(strstr(f->m.rto_note, "cluster status"));
}

/* kubectl exec polls are far apart: the gap fell between two reads, but
 * the term went from 2 to 3 with a new leader seen at 700 -> 600 ms, not
 * "no interruption". */
static void test_rto_from_status_gap_missed(void **state)
{
	struct fixture *f = *state;

	observe(f, 0, 2, 1, "primary", true, 5, 2);
	observe(f, 700, 3, 3, "dr", false, 3, 10);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	measure_rto_from_status(&f->m, &f->tl, &f->mk);
	assert_ms(&f->m.rto_ms, 600);
	assert_non_null(strstr(f->m.rto_note, "between two status reads"));
}

/* The first status read landed after the fault (kubectl exec is slow):
 * it still shows the old leader (term 2), the new one (term 3) at 900 ->
 * 800 ms. */
static void test_rto_from_status_without_a_status_before_the_fault(void **state)
{
	struct fixture *f = *state;

	observe(f, 150, 2, 1, "primary", true, 5, 2);
	observe(f, 900, 3, 3, "dr", false, 3, 10);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	measure_rto_from_status(&f->m, &f->tl, &f->mk);
	assert_ms(&f->m.rto_ms, 800);
}

static void test_rto_from_status_no_interruption_or_no_recovery(void **state)
{
	struct fixture *f = *state;

	observe(f, 0, 2, 1, "primary", true, 5, 2);
	observe(f, 500, 2, 1, "primary", false, 4, 2);
	f->mk.has_fault = true;
	f->mk.fault_start_ns = 100 * MS;
	measure_rto_from_status(&f->m, &f->tl, &f->mk);
	assert_ms(&f->m.rto_ms, 0);
	assert_non_null(strstr(f->m.rto_note, "no interruption"));
	memset(&f->m, 0, sizeof(f->m));
	observe(f, 800, 2, 0, "", false, 2, 0);
	measure_rto_from_status(&f->m, &f->tl, &f->mk);
	assert_false(f->m.rto_ms.has);
	assert_non_null(strstr(f->m.rto_note, "not recovered"));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_outage_with_failures),
		T(test_latency_percentiles_nearest_rank),
		T(test_times_are_relative_to_drill_start),
		T(test_outage_without_failures),
		T(test_stalled_write_counts),
		T(test_slow_write_without_timeout_is_latency),
		T(test_blip_before_fault),
		T(test_blips_apart_from_the_outage),
		T(test_blip_ending_after_the_fault_starts),
		T(test_no_fault_blip_is_an_outage),
		T(test_phases_before_during_after),
		T(test_phases_without_baseline_or_restore),
		T(test_two_outages),
		T(test_outage_after_restore_is_not_the_faults),
		T(test_second_outage_not_recovered),
		T(test_not_recovered),
		T(test_concurrent_writer_stall),
		T(test_no_fault),
		T(test_rpo_window),
		T(test_rpo_window_without_fault),
		T(test_status_only_mode),
		T(test_canary_mode),
		T(test_canary_without_an_acknowledged_write),
		T(test_rto_from_status_gap_seen),
		T(test_rto_from_status_gap_missed),
		T(test_rto_from_status_without_a_status_before_the_fault),
		T(test_rto_from_status_no_interruption_or_no_recovery),
		T(test_bad_markers),
		T(test_promotion_and_resync),
		T(test_unsafe_promotion_writes_at_risk),
		T(test_unsafe_promotion_nothing_at_risk),
		T(test_unsafe_promotion_counts_and_gaps),
		T(test_promotion_skips_a_transient_handover_leader),
		T(test_promotion_seen_after_the_restore_began),
		T(test_promotion_not_measured_when_no_dr_leader_held),
		T(test_promotion_held_until_the_next_fault),
		T(test_promotion_needs_a_dr_leader),
		T(test_promotion_when_dr_already_leads),
		T(test_resync_needs_every_member),
		T(test_resync_not_measured_from_a_stale_point),
		T(test_resync_already_done_at_restore),
		T(test_no_timeline),
		T(test_series_downsamples_keeping_failures),
		T(test_series_small_history_kept_whole),
		T(test_series_too_many_failures),
		T(test_series_logical_write_spans_its_retries),
		T(test_series_long_drill_widens_buckets),
		T(test_worked_example_in_the_docs),
		cmocka_unit_test(test_unavailable_matches_brute_force),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
