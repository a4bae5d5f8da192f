/* The results index and the regression verdict as pure functions, without
 * a git repository (tests/unit/test_gitstore.c runs them through one):
 * - the verdict's baseline is the median RTO of the previous comparable
 *   passed runs; a run regresses when it is over the threshold in percent
 *   AND over the floor in milliseconds (an increase within the floor is
 *   noise, whatever its percentage);
 * - the index is sorted by start time, runs of the same second by their
 *   directory, so every clone writes the same index;
 * - a report's earlier runs are those of its drill on its target kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include "common/strbuf.h"
#include "reports/render.h"
#include "reports/reports.h"
#include "reports/results_private.h"

static json_t *fixture(const char *name)
{
	const char *src = getenv("DRILLRIG_SRC");
	char *path = xasprintf("%s/tests/data/journals/%s.json", src && *src ? src : ".", name);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j)
		fail_msg("cannot load '%s': %s", path, jerr.text);
	free(path);
	return j;
}

/* The passed fixture on day `day` of October 2026 with this RTO. */
static json_t *run_on(int day, double rto_ms)
{
	json_t *j = fixture("passed");
	char t[64];

	snprintf(t, sizeof(t), "2026-10-%02dT03:00:00.000Z", day);
	json_object_set_new(j, "started_at", json_string(t));
	json_object_set_new(json_object_get(j, "measurements"), "rto_ms", json_real(rto_ms));
	return j;
}

/* An index of five earlier runs, RTO 1000..1400 ms (median 1200), listed
 * out of order, plus one of another drill that must not count. */
static json_t *earlier_runs(void)
{
	const double rtos[] = { 1300, 1000, 1400, 1100, 1200 };
	json_t *index = json_array(), *other;

	for (int i = 0; i < 5; i++) {
		json_t *j = run_on(i + 1, rtos[i]);

		json_array_append_new(index, results_index_entry(j));
		json_decref(j);
	}
	other = run_on(6, 90000);
	json_object_set_new(json_object_get(other, "drill"), "name", json_string("another-drill"));
	json_array_append_new(index, results_index_entry(other));
	json_decref(other);
	results_index_sort(index);
	return index;
}

static struct results_regression verdict(const json_t *index, double rto_ms)
{
	struct results_opts o = RESULTS_OPTS_INIT;
	struct results_regression r;
	json_t *j = run_on(20, rto_ms);

	o.fail_on_regression_pct = 10;
	o.regression_floor_ms = 250;
	results_regression_compute(&r, j, index, &o);
	json_decref(j);
	return r;
}

static void test_regression_needs_percent_and_floor(void **state)
{
	json_t *index = earlier_runs();
	struct results_regression r;

	(void)state;
	/* 1400 ms: 16.7 % over the median, but only 200 ms: within the floor. */
	r = verdict(index, 1400);
	assert_true(r.computed);
	assert_int_equal(r.runs, 5);
	assert_true(r.baseline_ms == 1200.0);
	assert_true(r.delta_ms == 200.0);
	assert_false(r.regressed);
	/* 1500 ms: 25 % and 300 ms over: a regression. */
	r = verdict(index, 1500);
	assert_true(r.regressed);
	assert_true(fabs(r.delta_pct - 25.0) < 1e-9);
	/* 1290 ms: 90 ms and 7.5 % over: under both. */
	r = verdict(index, 1290);
	assert_false(r.regressed);
	json_decref(index);
}

static void test_index_sorted_by_time_then_directory(void **state)
{
	json_t *index = json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]",
				  "started_at", "2026-10-02T03:00:00.000Z", "dir", "2026/10/b-run",
				  "started_at", "2026-10-02T03:00:00.000Z", "dir", "2026/10/a-run",
				  "started_at", "2026-10-01T03:00:00.000Z", "dir", "2026/10/z-run",
				  "started_at", "2026-10-02T03:00:00.000Z", "dir", "2026/10/c-run");
	const char *want[] = { "2026/10/z-run", "2026/10/a-run", "2026/10/b-run", "2026/10/c-run" };

	(void)state;
	results_index_sort(index);
	assert_int_equal(json_array_size(index), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(json_string_value(json_object_get(json_array_get(index, i), "dir")),
				    want[i]);
	json_decref(index);
}

static json_t *entry_of(json_t *j)
{
	json_t *e = results_index_entry(j);

	json_decref(j);
	return e;
}

static const char *earlier_str(const json_t *er, const char *run, const char *key)
{
	return json_string_value(json_object_get(json_object_get(er, run), key));
}

/* The headline's history: the previous run of the same drill on the same
 * target kind (a failed one counts), the last pass before this run with how
 * many runs ago, links relative to this run's folder; runs of other drills,
 * of another target kind and runs after this one never count. */
static void test_earlier_runs_previous_and_last_pass(void **state)
{
	json_t *index = earlier_runs(), *failed = run_on(7, 0), *other_kind = run_on(8, 100);
	json_t *later = run_on(25, 100), *me = run_on(20, 1500), *er;

	(void)state;
	json_object_set_new(failed, "status", json_string("failed"));
	json_object_del(json_object_get(failed, "measurements"), "rto_ms");
	json_array_append_new(index, entry_of(failed));
	json_object_set_new(json_object_get(other_kind, "target"), "kind", json_string("etcd"));
	json_array_append_new(index, entry_of(other_kind));
	json_array_append_new(index, entry_of(later));
	results_index_sort(index);
	er = results_earlier_runs(me, index);
	assert_int_equal(json_integer_value(json_object_get(er, "runs")), 6);
	assert_string_equal(earlier_str(er, "previous", "status"), "failed");
	assert_non_null(strstr(earlier_str(er, "previous", "started_at"), "2026-10-07"));
	/* Not measured stays null: never a 0 that reads as an instant recovery. */
	assert_true(json_is_null(json_object_get(json_object_get(er, "previous"), "rto_ms")));
	assert_non_null(strstr(earlier_str(er, "last_passed", "started_at"), "2026-10-05"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(er, "last_passed"), "runs_ago")), 2);
	{
		char *want = xasprintf("../../../%s/report.md", earlier_str(er, "last_passed", "dir"));

		assert_string_equal(earlier_str(er, "last_passed", "report"), want);
		assert_true(strncmp(want, "../../../2026/10/20261005T030000Z-region-failover", 49) == 0);
		free(want);
	}
	json_decref(er);
	json_decref(me);
	json_decref(index);
}

static void test_earlier_runs_first_run_and_never_passed(void **state)
{
	json_t *index = json_array(), *me = run_on(20, 1500), *failed = run_on(3, 0), *er;

	(void)state;
	er = results_earlier_runs(me, index);
	assert_int_equal(json_integer_value(json_object_get(er, "runs")), 0);
	assert_true(json_is_null(json_object_get(er, "previous")));
	assert_true(json_is_null(json_object_get(er, "last_passed")));
	json_decref(er);
	json_object_set_new(failed, "status", json_string("failed"));
	json_array_append_new(index, entry_of(failed));
	er = results_earlier_runs(me, index);
	assert_int_equal(json_integer_value(json_object_get(er, "runs")), 1);
	assert_string_equal(earlier_str(er, "previous", "status"), "failed");
	assert_true(json_is_null(json_object_get(er, "last_passed")));
	json_decref(er);
	json_decref(me);
	json_decref(index);
}

/* The results README's row for one drill: last run, last pass, the streak
 * of passes or failures, the median RTO over the drill's last 5 runs only
 * (a run without an RTO is left out of the median and counted as such),
 * and the objective. */
static void test_readme_drill_row(void **state)
{
	json_t *index = json_array(), *j;
	char *md;

	(void)state;
	for (int day = 1; day <= 7; day++) {
		j = run_on(day, day * 100.0);
		if (day <= 2)
			json_object_set_new(j, "status", json_string("failed"));
		json_array_append_new(index, entry_of(j));
	}
	md = readme_render(index);
	/* Days 3..7 passed: 300..700 ms, median 500 ms; days 1-2 are older. */
	if (!strstr(md, " | ✅ 5 passes | 500.0 ms | 1 min |\n"))
		fail_msg("five passes, median 500 ms expected:\n%s", md);
	assert_non_null(strstr(md, "| region-failover | local | ✅ PASSED 2026-10-07 03:00:00 UTC ([report](2026/10/20261007T030000Z-region-failover"));
	free(md);
	j = run_on(8, 0);
	json_object_set_new(j, "status", json_string("failed"));
	json_object_del(json_object_get(j, "measurements"), "rto_ms");
	json_array_append_new(index, entry_of(j));
	md = readme_render(index);
	/* Days 4..8: 400..700 ms and one never recovered: 550 ms of 4. */
	if (!strstr(md, " | ❌ 1 failure | 550.0 ms (4 of 5 measured) | 1 min |\n"))
		fail_msg("one failure, median of 4 expected:\n%s", md);
	assert_non_null(strstr(md, "| ❌ FAILED 2026-10-08 03:00:00 UTC ([report](2026/10/20261008T030000Z-region-failover"));
	assert_non_null(strstr(md, " | 2026-10-07 03:00:00 UTC ([report](2026/10/20261007T030000Z-region-failover"));
	/* The summary comes before the run table. */
	assert_true(strstr(md, "## Drills (1)") < strstr(md, "## History (8 runs"));
	free(md);
	json_decref(index);
}

static void set_rto_limit(json_t *j, double ms)
{
	size_t i;
	json_t *o;

	json_array_foreach(json_object_get(j, "objectives"), i, o)
		if (strcmp(json_string_value(json_object_get(o, "name")), "rto") == 0)
			json_object_set_new(o, "limit", json_real(ms));
}

/* rto-trend.svg: a run without an RTO hangs from the top of its panel
 * (on the zero line it would read as the best run), each run's own
 * objective is drawn (not only the newest), the runs are dated, and a
 * legend says what the marks mean. */
static void test_trend_chart_marks(void **state)
{
	json_t *index = json_array(), *j;
	const double rto[] = { 1000, -1, 2000 }, limit[] = { 5000, 5000, 4000 };
	char *svg;
	const char *p;
	double top = -1, y = -1;

	(void)state;
	for (int i = 0; i < 3; i++) {
		j = run_on(i + 1, rto[i]);
		if (rto[i] < 0) {
			json_object_set_new(j, "status", json_string("failed"));
			json_object_del(json_object_get(j, "measurements"), "rto_ms");
		}
		set_rto_limit(j, limit[i]);
		json_array_append_new(index, entry_of(j));
	}
	svg = svg_rto_trend(index);
	p = strstr(svg, "<rect x=\"60.0\" y=\"");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "<rect x=\"60.0\" y=\"%lf\"", &top), 1);
	p = strstr(svg, "no RTO</title>");
	assert_non_null(p);
	while (p > svg && strncmp(p, "<path d=\"M", 10) != 0)
		p--;
	assert_int_equal(sscanf(p, "<path d=\"M%*f %lfh10", &y), 1);
	if (y != top)
		fail_msg("the run without an RTO is at y=%g, the top of the axis is %g:\n%s", y, top, svg);
	assert_non_null(strstr(svg, "<title>objective 5.00 s</title>"));
	assert_non_null(strstr(svg, "<title>objective 4.00 s</title>"));
	assert_non_null(strstr(svg, ">1 Oct</text>"));
	assert_non_null(strstr(svg, ">3 Oct</text>"));
	assert_non_null(strstr(svg, "each run's RTO objective"));
	assert_non_null(strstr(svg, "no RTO (not recovered), at the top"));
	free(svg);
	json_decref(index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regression_needs_percent_and_floor),
		cmocka_unit_test(test_index_sorted_by_time_then_directory),
		cmocka_unit_test(test_earlier_runs_previous_and_last_pass),
		cmocka_unit_test(test_earlier_runs_first_run_and_never_passed),
		cmocka_unit_test(test_readme_drill_row),
		cmocka_unit_test(test_trend_chart_marks),
	};

	return cmocka_run_group_tests_name("results_index", tests, NULL, NULL);
}
