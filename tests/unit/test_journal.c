/* The journal's events: one moment each (t_ms and wall agree, a field
 * never replaces them) and the array in t_ms order although events are
 * written late (issue 16: a probe's start overwrote t_ms and left wall a
 * second later; leader_change rows came out of order). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "common/clock.h"
#include "harness/core/journal.h"
#include "harness/probe/probe_result.h"

/* Milliseconds since the epoch of "2026-11-27T14:44:20.123Z". */
static double wall_ms(const char *s)
{
	struct tm tm;
	const char *rest;
	long ms;
	char *end;

	memset(&tm, 0, sizeof(tm));
	assert_non_null(s);
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(rest);
	assert_int_equal(rest[0], '.');
	ms = strtol(rest + 1, &end, 10);
	assert_string_equal(end, "Z");
	return (double)timegm(&tm) * 1000.0 + (double)ms;
}

/* wall - started_at agrees with t_ms to the wall clock's millisecond. */
static void assert_one_moment(const json_t *root, const json_t *ev)
{
	double start = wall_ms(json_string_value(json_object_get(root, "started_at")));
	double t = json_number_value(json_object_get(ev, "t_ms"));
	double w = wall_ms(json_string_value(json_object_get(ev, "wall")));

	if (w - start < t - 1.5 || w - start > t + 1.5)
		fail_msg("event '%s' at +%.1f ms has wall clock %s, %.0f ms after the start",
			 json_string_value(json_object_get(ev, "type")), t,
			 json_string_value(json_object_get(ev, "wall")), w - start);
}

static void test_probe_event_has_one_moment(void **state)
{
	struct journal *j = journal_new();
	struct probe_result pr = PROBE_RESULT_INIT;
	json_t *root, *ev;

	(void)state;
	snprintf(pr.name, sizeof(pr.name), "slow");
	snprintf(pr.kind, sizeof(pr.kind), "write_read");
	pr.ok = 1;
	pr.attempts = 3;
	/* A probe that started 5 s into the drill and took 1 s: its event is
	 * written now, its moment is its start. */
	pr.start_ns = journal_start_ns(j) + 5 * NS_PER_SEC;
	pr.duration_ns = NS_PER_SEC;
	probe_result_event(j, &pr);
	root = journal_snapshot(j);
	ev = json_array_get(json_object_get(root, "events"), 0);
	assert_string_equal(json_string_value(json_object_get(ev, "type")), "probe");
	assert_true(json_number_value(json_object_get(ev, "t_ms")) == 5000.0);
	assert_true(json_number_value(json_object_get(ev, "duration_ms")) == 1000.0);
	assert_one_moment(root, ev);
	json_decref(root);
	journal_free(j);
}

static void test_late_events_are_sorted(void **state)
{
	struct journal *j = journal_new();
	int64_t t0 = journal_start_ns(j);
	static const struct { int ms; const char *tag; } order[] = {
		{ 30, "c" }, { 10, "a" }, { 20, "b" }, { 10, "a2" }, { 40, "d" },
	};
	static const char *const want[] = { "a", "a2", "b", "c", "d" };
	json_t *root, *ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		journal_event_at(j, t0 + order[i].ms * NS_PER_MS, "note",
				 json_pack("{s:s}", "message", order[i].tag));
	root = journal_snapshot(j);
	assert_int_equal(json_array_size(json_object_get(root, "events")), 5);
	json_array_foreach(json_object_get(root, "events"), i, ev) {
		/* equal moments keep the order they were written in */
		assert_string_equal(json_string_value(json_object_get(ev, "message")), want[i]);
		assert_one_moment(root, ev);
	}
	json_decref(root);
	journal_free(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_event_has_one_moment),
		cmocka_unit_test(test_late_events_are_sorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
