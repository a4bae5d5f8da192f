/* Golden tests: every fixture journal under tests/data/journals is first
 * checked to be a journal a drill could have written (its figures agree as
 * measure_compute makes them), then renders to exactly the files under
 * tests/data/golden/<fixture>/.  UPDATE_GOLDEN=1
 * rewrites the goldens instead (review the diff before committing).
 * xmllint --noout must accept every SVG, and every junit.xml with --schema
 * tests/data/junit/jenkins-junit.xsd (the Jenkins JUnit schema's rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "reports/render.h"
#include "reports/reports.h"
#include "reports/results_private.h"

static const char *const fixtures[] = { "passed", "failed-lost-write", "aborted", "kubernetes", "local-run",
					 "keyword-steps", "quorum-loss" };
static const char *const files[] = { "journal.json", "report.md", "junit.xml", "latency.svg", "summary.md" };

static char *src_path(const char *rel)
{
	const char *src = getenv("DRILLRIG_SRC");

	return xasprintf("%s/%s", src && *src ? src : ".", rel);
}

static json_t *load_fixture(const char *name)
{
	char *rel = xasprintf("tests/data/journals/%s.json", name), *path = src_path(rel);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j)
		fail_msg("cannot load fixture '%s': %s (line %d)", path, jerr.text, jerr.line);
	free(rel);
	free(path);
	return j;
}

static int have_xmllint(void)
{
	char *argv[] = { (char *)"xmllint", (char *)"--version", NULL };
	struct proc_result res;
	struct dr_error err = DR_ERROR_INIT;
	int ok;

	memset(&res, 0, sizeof(res));
	if (proc_run(&res, argv, NULL, 10 * INT64_C(1000000000), 4096, &err) != 0)
		return 0;
	ok = res.exited && res.exit_code == 0;
	proc_result_release(&res);
	return ok;
}

/* Set when an XML check could not run (no xmllint): the case ends in a
 * skip once its other checks held, so tests/run-tests.sh shows it (and
 * fails it under CI=true, where make deps installs xmllint). */
static int xml_unchecked;

static int can_xmllint(const char *what)
{
	if (have_xmllint())
		return 1;
	printf("xmllint not installed (apt-get install libxml2-utils): %s not validated\n", what);
	xml_unchecked = 1;
	return 0;
}

static void skip_if_xml_unchecked(void)
{
	if (xml_unchecked) {
		xml_unchecked = 0;
		skip();
	}
}

/* Well-formed, and a junit.xml valid against the Jenkins JUnit schema's
 * rules (tests/data/junit/jenkins-junit.xsd). */
static void xmllint_ok(const char *path)
{
	char *xsd = src_path("tests/data/junit/jenkins-junit.xsd");
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	int junit = strcmp(base, "junit.xml") == 0;
	char *argv[] = { (char *)"xmllint", (char *)"--noout", junit ? (char *)"--schema" : (char *)path,
			 junit ? xsd : NULL, junit ? (char *)path : NULL, NULL };
	struct proc_result res;
	struct dr_error err = DR_ERROR_INIT;

	memset(&res, 0, sizeof(res));
	assert_int_equal(proc_run(&res, argv, NULL, 20 * INT64_C(1000000000), 65536, &err), 0);
	if (!res.exited || res.exit_code != 0)
		fail_msg("xmllint rejects '%s': %s", path, res.errout);
	proc_result_release(&res);
	free(xsd);
}

/* ---- the fixtures must be journals a drill could have written ----------
 *
 * The hand-written fixtures once held figures no measurement can produce
 * (outages summing to 2.66 s with 1.40 s unavailable), and the goldens
 * blessed them.  Every fixture is now held to what assertions/measure.c
 * guarantees (docs/measurement.md), within the journal's rounding. */

#define EPS 0.0015 /* ms: two figures rounded to microseconds, subtracted */

static int near(double a, double b, double eps)
{
	return a > b - eps && a < b + eps;
}

/* obj[key] as a number into *out: 1; null or absent: 0; anything else fails. */
static int num_at(const char *fx, const json_t *obj, const char *key, double *out)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		fail_msg("%s: '%s' is not a number", fx, key);
	*out = json_number_value(v);
	return 1;
}

/* measurements.outages: each span's duration is end - start, spans are in
 * time order and apart, inside the drill, only the last one may be not
 * recovered, and unavailable_ms is their total. */
static void check_outages(const char *fx, const json_t *m, double drill_ms)
{
	const json_t *outages = json_object_get(m, "outages"), *o;
	double unavailable = 0, total = 0, prev_end = -1;
	size_t i, n = json_array_size(outages);

	if (!outages)
		return; /* journals older than the outages list (local-run) */
	json_array_foreach(outages, i, o) {
		double start = -1, end = -1, dur = -1;

		if (!num_at(fx, o, "start_ms", &start) || !num_at(fx, o, "end_ms", &end) ||
		    !num_at(fx, o, "duration_ms", &dur))
			fail_msg("%s: outage %zu lacks start_ms, end_ms or duration_ms (an unrecovered "
				 "span ends at the last attempt's completion, never null)", fx, i);
		if (!near(dur, end - start, EPS))
			fail_msg("%s: outage %zu lasts %.3f ms, but runs from %.3f to %.3f ms", fx, i,
				 dur, start, end);
		if (start < 0 || end <= start || end > drill_ms + EPS)
			fail_msg("%s: outage %zu [%.3f, %.3f] is not inside the drill (%.3f ms)", fx, i,
				 start, end, drill_ms);
		if (start < prev_end)
			fail_msg("%s: outage %zu starts at %.3f ms, before the previous one ended "
				 "(%.3f ms): spans are merged and in time order", fx, i, start, prev_end);
		if (!json_is_true(json_object_get(o, "recovered")) && i + 1 != n)
			fail_msg("%s: outage %zu is not recovered, yet another one follows", fx, i);
		prev_end = end;
		total += dur;
	}
	if (n < 100 && num_at(fx, m, "unavailable_ms", &unavailable) &&
	    !near(unavailable, total, EPS * (double)(n + 1)))
		fail_msg("%s: unavailable_ms is %.3f, but its %zu outages sum to %.3f ms", fx,
			 unavailable, n, total);
	if (n > 0 && !num_at(fx, m, "unavailable_ms", &unavailable))
		fail_msg("%s: %zu outages but unavailable_ms is not measured", fx, n);
}

/* The fault's outage (journal "outage") against rto_ms and the spans. */
static void check_rto(const char *fx, const json_t *j, const json_t *m)
{
	const json_t *outage = json_object_get(j, "outage"), *o;
	const char *note = json_string_value(json_object_get(m, "rto_note"));
	double fault = 0, start = 0, end = 0, rto = 0;
	int has_fault = num_at(fx, j, "fault_start_ms", &fault);
	int has_rto = num_at(fx, m, "rto_ms", &rto);
	size_t i;

	if (!json_is_object(outage)) {
		if (has_rto && !(rto == 0 && note && strcmp(note, "no interruption") == 0))
			fail_msg("%s: no outage, yet rto_ms is %.3f (only 0, 'no interruption')", fx, rto);
		return;
	}
	if (!has_fault || !num_at(fx, outage, "start_ms", &start) || !near(start, fault, EPS))
		fail_msg("%s: the outage starts at %.3f ms, not at the fault (%s)", fx, start,
			 has_fault ? "fault_start_ms" : "no fault_start_ms");
	if (!num_at(fx, outage, "end_ms", &end)) {
		if (has_rto || !note || strcmp(note, "not recovered") != 0)
			fail_msg("%s: an outage without an end is 'not recovered' with rto_ms null", fx);
		return;
	}
	if (!has_rto || !near(rto, end - start, EPS))
		fail_msg("%s: rto_ms %.3f is not the outage's end - start (%.3f - %.3f)", fx, rto, end,
			 start);
	if (!json_object_get(m, "outages"))
		return;
	/* Its end is the end of a span: the first good write after it. */
	json_array_foreach(json_object_get(m, "outages"), i, o) {
		double e = 0;

		if (num_at(fx, o, "end_ms", &e) && near(e, end, EPS))
			return;
	}
	fail_msg("%s: the outage ends at %.3f ms, but no span of measurements.outages does", fx, end);
}

/* 1 when [a, b] lies inside one span of outages. */
static int in_span(const json_t *outages, double a, double b)
{
	const json_t *o;
	size_t i;

	json_array_foreach(outages, i, o)
		if (json_number_value(json_object_get(o, "start_ms")) <= a + EPS &&
		    b <= json_number_value(json_object_get(o, "end_ms")) + EPS)
			return 1;
	return 0;
}

/* Latency figures, the chart's series, availability and RPO. */
static void check_writes(const char *fx, const json_t *j, const json_t *m, double drill_ms)
{
	const json_t *lat = json_object_get(m, "latency_ms"), *w = json_object_get(m, "writes");
	const json_t *series = json_object_get(json_object_get(j, "workload"), "series"), *pt;
	double maxl = 0, p50 = 0, p99 = 0, lmax = 0, avail = 0, unavailable = 0, rpo_s = 0;
	const json_t *outages = json_object_get(m, "outages");
	double fault = 0, prev_t = 0, timeout = 0;
	int has_max = num_at(fx, m, "max_latency_ms", &maxl);
	size_t i;

	if (num_at(fx, lat, "p50", &p50) && num_at(fx, lat, "p99", &p99) && num_at(fx, lat, "max", &lmax) &&
	    (p50 > p99 || p99 > lmax || !has_max || !near(lmax, maxl, EPS)))
		fail_msg("%s: latency p50 %.3f, p99 %.3f, max %.3f and max_latency_ms %.3f disagree", fx,
			 p50, p99, lmax, maxl);
	if (!num_at(fx, json_object_get(j, "workload"), "timeout_ms", &timeout))
		timeout = 200; /* the workload's default per-call timeout */
	json_array_foreach(series, i, pt) {
		double t = json_number_value(json_array_get(pt, 0));
		double l = json_number_value(json_array_get(pt, 1));
		const char *outcome = json_string_value(json_array_get(pt, 2));
		int bad = !outcome || strcmp(outcome, "ok") != 0 || l > timeout;

		/* [completion, attempt latency, outcome]: sent after the start, and
		 * after the previous attempt ended (the recorder has one writer). */
		if (t - l < -EPS || t > drill_ms + EPS || t - l < prev_t - EPS)
			fail_msg("%s: series point %zu [%.3f, %.3f] was sent before the drill started "
				 "or before the previous attempt ended (%.3f), or ends after the drill",
				 fx, i, t, l, prev_t);
		/* An ok attempt is part of an ok write, which is no slower than the slowest. */
		if (!bad && has_max && l > maxl + EPS)
			fail_msg("%s: series point %zu is an ok attempt of %.3f ms, slower than "
				 "max_latency_ms %.3f", fx, i, l, maxl);
		/* Every failed, unknown or stalled attempt is kept in the series,
		 * and lies inside an unavailable span. */
		if (bad && outages && !in_span(outages, t - l, t))
			fail_msg("%s: series point %zu [%.3f, %.3f, %s] is a bad attempt outside every "
				 "outage", fx, i, t, l, outcome ? outcome : "?");
		prev_t = t;
	}
	/* Each span starts with the invoke of a bad attempt. */
	json_array_foreach(outages, i, pt) {
		double start = json_number_value(json_object_get(pt, "start_ms"));
		const json_t *q;
		size_t k;
		int found = 0;

		json_array_foreach(series, k, q) {
			double t = json_number_value(json_array_get(q, 0));
			double l = json_number_value(json_array_get(q, 1));
			const char *outcome = json_string_value(json_array_get(q, 2));

			found |= (!outcome || strcmp(outcome, "ok") != 0 || l > timeout) &&
				 near(t - l, start, EPS);
		}
		if (!found)
			fail_msg("%s: outage %zu starts at %.3f ms, when no bad attempt of the series was "
				 "sent", fx, i, start);
	}
	/* The write time is inside the drill, so the unavailable share of it is
	 * at least the unavailable share of the drill. */
	if (num_at(fx, m, "availability", &avail) &&
	    (avail < 0 || avail > 1 ||
	     (num_at(fx, m, "unavailable_ms", &unavailable) && avail > 1 - unavailable / drill_ms + 1e-6)))
		fail_msg("%s: availability %.6f with %.3f ms unavailable in a %.3f ms drill", fx, avail,
			 unavailable, drill_ms);
	if (!json_is_object(w))
		return;
	if (json_integer_value(json_object_get(m, "rpo_lost_writes")) != json_integer_value(json_object_get(w, "lost")) ||
	    json_array_size(json_object_get(m, "lost_sequences")) !=
		    (size_t)(json_integer_value(json_object_get(w, "lost")) < 100 ? json_integer_value(json_object_get(w, "lost")) : 100))
		fail_msg("%s: rpo_lost_writes, writes.lost and lost_sequences disagree", fx);
	if (num_at(fx, m, "rpo_seconds", &rpo_s)) {
		if (json_integer_value(json_object_get(w, "lost")) == 0 && rpo_s != 0)
			fail_msg("%s: rpo_seconds %.6f without a lost write", fx, rpo_s);
		/* The oldest lost write was acknowledged after the drill started. */
		if (num_at(fx, j, "fault_start_ms", &fault) && rpo_s * 1000.0 > fault + EPS)
			fail_msg("%s: rpo_seconds %.6f, but the fault came %.3f ms after the drill started",
				 fx, rpo_s, fault);
	}
}

/* measurements.write_series and attempts_by_class, when the journal has
 * them: the longest logical write is the table's maximum (thinning keeps
 * the stall), unthinned points count the table's writes, each class's
 * counts sum to its total and the totals to every attempt. */
static void check_write_series(const char *fx, const json_t *j, const json_t *m)
{
	const json_t *ws = json_object_get(m, "write_series"), *abc = json_object_get(m, "attempts_by_class");
	const json_t *w = json_object_get(m, "writes"), *pt, *c;
	const json_t *attempts = json_object_get(json_object_get(j, "workload"), "series");
	double maxl = 0, longest = 0, total = 0, attempts_n = 0;
	long long ok = 0, failed = 0, unknown = 0;
	size_t i, one_attempt_ok = 0;

	json_array_foreach(ws, i, pt) {
		const char *outcome = json_string_value(json_array_get(pt, 2));
		double l = json_number_value(json_array_get(pt, 1));

		if (!outcome || json_integer_value(json_array_get(pt, 3)) < 1)
			fail_msg("%s: write_series point %zu has no outcome or no attempts", fx, i);
		ok += strcmp(outcome, "ok") == 0;
		failed += strcmp(outcome, "failed") == 0;
		unknown += strcmp(outcome, "unknown") == 0;
		if (strcmp(outcome, "ok") == 0 && l > longest)
			longest = l;
	}
	if (ws && num_at(fx, m, "max_latency_ms", &maxl) && !near(longest, maxl, EPS))
		fail_msg("%s: the slowest ok write of write_series takes %.3f ms, max_latency_ms is %.3f",
			 fx, longest, maxl);
	if (ws && json_array_size(ws) < 2000 && json_is_object(w) &&
	    (ok != json_integer_value(json_object_get(w, "ok")) ||
	     failed != json_integer_value(json_object_get(w, "failed")) ||
	     unknown != json_integer_value(json_object_get(w, "unknown"))))
		fail_msg("%s: write_series holds %lld ok, %lld failed, %lld unknown writes; "
			 "measurements.writes says otherwise", fx, ok, failed, unknown);
	if (!abc)
		return;
	json_array_foreach(json_object_get(abc, "classes"), i, c) {
		const json_t *n;
		size_t b;
		double sum = 0, t = -1;

		json_array_foreach(json_object_get(c, "counts"), b, n)
			sum += json_number_value(n);
		if (!num_at(fx, c, "total", &t) || sum != t)
			fail_msg("%s: class %zu's counts sum to %.0f, its total is %.0f", fx, i, sum, t);
		total += t;
	}
	if (!num_at(fx, abc, "attempts", &attempts_n) || total != attempts_n)
		fail_msg("%s: the classes count %.0f attempts, attempts_by_class.attempts %.0f", fx,
			 total, attempts_n);
	/* An ok write of one attempt is that attempt: it is in write_series
	 * only, so the two lists, unthinned, hold every attempt once. */
	json_array_foreach(ws, i, pt)
		one_attempt_ok += json_integer_value(json_array_get(pt, 3)) == 1 &&
				  strcmp(json_string_value(json_array_get(pt, 2)), "ok") == 0;
	if (json_array_size(attempts) < 2000 && json_array_size(ws) < 2000 &&
	    (size_t)attempts_n != json_array_size(attempts) + one_attempt_ok)
		fail_msg("%s: %.0f attempts by class, %zu in the unthinned workload.series and %zu "
			 "one-attempt ok writes in write_series", fx, attempts_n,
			 json_array_size(attempts), one_attempt_ok);
}

/* Each objective judges the figure of measurements it names. */
static void check_objectives(const char *fx, const json_t *j, const json_t *m)
{
	static const struct {
		const char *name, *figure;
		double scale;
	} figures[] = {
		{ "rto", "rto_ms", 1 }, { "promotion", "promotion_ms", 1 }, { "resync", "resync_ms", 1 },
		{ "max_lag", "max_lag_ms", 1 }, { "rpo_window", "rpo_seconds", 1000 },
		{ "availability", "availability", 100 }, { "rpo", "rpo_lost_writes", 1 },
	};
	const json_t *o;
	size_t i;
	int failed = 0;

	json_array_foreach(json_object_get(j, "objectives"), i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		int floor = name && strcmp(name, "availability") == 0, passed;
		double limit = 0, measured = 0, margin = 0, figure = 0;

		passed = json_is_true(json_object_get(o, "passed"));
		failed |= !passed;
		if (!passed && !json_string_value(json_object_get(o, "message")))
			fail_msg("%s: objective %s failed without a message", fx, name);
		if (!num_at(fx, o, "measured", &measured)) {
			if (passed)
				fail_msg("%s: objective %s passed without a measurement", fx, name);
			continue;
		}
		if (!num_at(fx, o, "limit", &limit) || !num_at(fx, o, "margin", &margin) ||
		    !near(margin, floor ? measured - limit : limit - measured, EPS) ||
		    passed != (floor ? measured >= limit : measured <= limit))
			fail_msg("%s: objective %s: limit %.3f, measured %.3f, margin %.3f and passed %d "
				 "disagree", fx, name, limit, measured, margin, passed);
		for (size_t k = 0; k < sizeof(figures) / sizeof(figures[0]); k++)
			if (name && strcmp(name, figures[k].name) == 0 &&
			    (!num_at(fx, m, figures[k].figure, &figure) ||
			     !near(figure * figures[k].scale, measured, 0.01)))
				fail_msg("%s: objective %s measured %.3f, but measurements.%s is %.6f", fx,
					 name, measured, figures[k].figure, figure);
	}
	if (failed && json_integer_value(json_object_get(j, "exit_code")) == 0)
		fail_msg("%s: an objective failed, yet the drill exited 0", fx);
	if (strcmp(json_string_value(json_object_get(j, "status")) ?: "", "passed") == 0 &&
	    (failed || json_integer_value(json_object_get(j, "exit_code")) != 0))
		fail_msg("%s: status passed with a failed objective or a non-zero exit", fx);
}

static void assert_consistent(const char *fx, const json_t *j)
{
	const json_t *m = json_object_get(j, "measurements");
	double drill_ms = 0, promotion = 0, resync = 0, fault = 0, restore = 0;

	if (!num_at(fx, j, "duration_ms", &drill_ms) || !json_is_object(m))
		fail_msg("%s: no duration_ms or measurements", fx);
	check_outages(fx, m, drill_ms);
	check_rto(fx, j, m);
	check_writes(fx, j, m, drill_ms);
	check_write_series(fx, j, m);
	check_objectives(fx, j, m);
	if (num_at(fx, m, "promotion_ms", &promotion) &&
	    (!num_at(fx, j, "fault_start_ms", &fault) || fault + promotion > drill_ms + EPS))
		fail_msg("%s: promotion_ms %.3f does not fit after the fault in the drill", fx, promotion);
	if (num_at(fx, m, "resync_ms", &resync) &&
	    (!num_at(fx, j, "restore_start_ms", &restore) || restore + resync > drill_ms + EPS))
		fail_msg("%s: resync_ms %.3f does not fit after the restore in the drill", fx, resync);
}

static void check_fixture(const char *name)
{
	json_t *j = load_fixture(name);
	char tmpl[] = "/tmp/dr-golden-XXXXXX";
	char *dir = mkdtemp(tmpl), *summary;
	struct dr_error err = DR_ERROR_INIT;
	int update = getenv("UPDATE_GOLDEN") && strcmp(getenv("UPDATE_GOLDEN"), "1") == 0;

	xml_unchecked = 0;
	assert_non_null(dir);
	assert_consistent(name, j);
	if (report_write_artifacts(j, dir, &err) != 0)
		fail_msg("report_write_artifacts(%s): %s", name, err.msg);
	summary = report_summary_markdown(j);
	{
		char *p = xasprintf("%s/summary.md", dir);

		assert_int_equal(fs_write_atomic(p, summary, strlen(summary), &err), 0);
		free(p);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *got_path = xasprintf("%s/%s", dir, files[i]);
		char *rel = xasprintf("tests/data/golden/%s/%s", name, files[i]);
		char *want_path = src_path(rel), *got = NULL, *want = NULL;

		assert_int_equal(fs_read_file(&got, NULL, got_path, 16 << 20, &err), 0);
		if (update) {
			{
				char *d = xstrdup(want_path);

				*strrchr(d, '/') = '\0';
				assert_int_equal(fs_mkdir_p(d, &err), 0);
				free(d);
			}
			if (fs_write_atomic(want_path, got, strlen(got), &err) != 0)
				fail_msg("cannot update golden: %s", err.msg);
			printf("updated %s\n", rel);
		} else {
			if (fs_read_file(&want, NULL, want_path, 16 << 20, &err) != 0)
				fail_msg("missing golden (run with UPDATE_GOLDEN=1): %s", err.msg);
			if (strcmp(got, want) != 0)
				fail_msg("%s differs from the golden %s; diff -u %s %s "
					 "(UPDATE_GOLDEN=1 to accept)", got_path, rel, want_path, got_path);
		}
		if ((strstr(files[i], ".xml") || strstr(files[i], ".svg")) && can_xmllint(rel))
			xmllint_ok(got_path);
		free(got);
		free(want);
		free(rel);
		free(want_path);
		free(got_path);
	}
	{
		struct dr_error e2 = DR_ERROR_INIT;

		assert_int_equal(fs_remove_tree(dir, &e2), 0);
	}
	free(summary);
	json_decref(j);
	skip_if_xml_unchecked();
}

static void test_golden_passed(void **state) { (void)state; check_fixture("passed"); }
static void test_golden_failed_lost_write(void **state) { (void)state; check_fixture("failed-lost-write"); }
static void test_golden_aborted(void **state) { (void)state; check_fixture("aborted"); }
static void test_golden_kubernetes(void **state) { (void)state; check_fixture("kubernetes"); }
/* A journal the runner wrote (drills/region-failover.yaml on the bundled
 * cluster), kept as a fixture so schema drift shows up here. */
static void test_golden_local_run(void **state) { (void)state; check_fixture("local-run"); }
/* Steps named click, title and section (and one with ':', '#', ';',
 * quotes, a newline and %%{...}%%), two faults and a baseline period. */
static void test_golden_keyword_steps(void **state) { (void)state; check_fixture("keyword-steps"); }
/* A journal the runner wrote (drills/quorum-loss.yaml, --baseline 300ms,
 * its second run in a results repository): the unsafe promotion's writes
 * at risk, the phases, the headline's earlier runs. */
static void test_golden_quorum_loss(void **state) { (void)state; check_fixture("quorum-loss"); }

/* journal.json puts an array of scalars on one line (a series point, a
 * bucket's counts), keeps objects indented, and reads back as the same
 * tree, strings holding brackets, quotes and commas included. */
static void test_journal_layout(void **state)
{
	json_t *j = json_pack("{s:s,s:{s:[[f,f,s],[f,f,s]],s:s},s:[{s:[i,i,i]}],s:[]}",
			      "status", "passed", "workload", "series", 1.5, 2.0, "ok", 3.0, 200.0,
			      "unknown", "client_id", "a [\"b\", c]\n", "list", "counts", 1, 0, 3,
			      "empty");
	char *text = report_render_journal(j);
	json_t *back = json_loads(text, 0, NULL);

	(void)state;
	assert_non_null(back);
	assert_true(json_equal(j, back));
	assert_non_null(strstr(text, "\n      [1.5, 2.0, \"ok\"],\n      [3.0, 200.0, \"unknown\"]\n"));
	assert_non_null(strstr(text, "\"counts\": [1, 0, 3]\n"));
	assert_non_null(strstr(text, "\"client_id\": \"a [\\\"b\\\", c]\\n\""));
	assert_non_null(strstr(text, "\"empty\": []"));
	json_decref(back);
	json_decref(j);
	free(text);
}

static void compare_or_update(const char *rel, const char *got)
{
	char *path = src_path(rel), *want = NULL;
	struct dr_error err = DR_ERROR_INIT;

	if (getenv("UPDATE_GOLDEN") && strcmp(getenv("UPDATE_GOLDEN"), "1") == 0) {
		char *d = xstrdup(path);

		*strrchr(d, '/') = '\0';
		assert_int_equal(fs_mkdir_p(d, &err), 0);
		free(d);
		assert_int_equal(fs_write_atomic(path, got, strlen(got), &err), 0);
		printf("updated %s\n", rel);
	} else {
		if (fs_read_file(&want, NULL, path, 16 << 20, &err) != 0)
			fail_msg("missing golden (run with UPDATE_GOLDEN=1): %s", err.msg);
		if (strcmp(got, want) != 0)
			fail_msg("%s differs from what the fixtures render (UPDATE_GOLDEN=1 to accept)", rel);
	}
	free(want);
	free(path);
}

/* The results repository's README history table and RTO trend chart, from
 * the index entries of every fixture (the order they are given in does not
 * matter: the index is sorted by start time). */
static void test_golden_results_index(void **state)
{
	json_t *index = json_array();
	char *readme, *trend, *dump;
	const char *order[] = { "kubernetes", "passed", "local-run", "aborted", "failed-lost-write" };

	(void)state;
	xml_unchecked = 0;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		json_t *j = load_fixture(order[i]);

		json_array_append_new(index, results_index_entry(j));
		json_decref(j);
	}
	results_index_sort(index);
	readme = readme_render(index);
	trend = svg_rto_trend(index);
	dump = results_index_dump(index);
	compare_or_update("tests/data/golden/results/README.md", readme);
	compare_or_update("tests/data/golden/results/rto-trend.svg", trend);
	compare_or_update("tests/data/golden/results/index.ndjson", dump);
	if (can_xmllint("rto-trend.svg")) {
		char tmpl[] = "/tmp/dr-trend-XXXXXX";
		int fd = mkstemp(tmpl);
		struct dr_error err = DR_ERROR_INIT;

		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(fs_write_atomic(tmpl, trend, strlen(trend), &err), 0);
		xmllint_ok(tmpl);
		unlink(tmpl);
	}
	/* Parsing the dump gives the same index back. */
	{
		json_t *again = results_index_parse(dump);

		assert_true(json_equal(again, index));
		json_decref(again);
	}
	free(readme);
	free(trend);
	free(dump);
	json_decref(index);
	skip_if_xml_unchecked();
}

static void assert_has(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("expected '%s' in:\n%s", want, text);
}

/* The headline at the top of report.md: RTO and RPO against their limits,
 * the change since the previous run with a link to its report, when the
 * drill last passed; a figure not measured says so instead of 0.  The
 * summary has the same figures without links (they lead nowhere on a CI
 * page). */
static void test_headline_against_earlier_runs(void **state)
{
	json_t *index = json_array(), *j = load_fixture("failed-lost-write");
	const char *earlier[] = { "passed", "aborted" };
	char *md, *summary;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		json_t *e = load_fixture(earlier[i]);

		json_array_append_new(index, results_index_entry(e));
		json_decref(e);
	}
	results_index_sort(index);
	json_object_set_new(j, "earlier_runs", results_earlier_runs(j, index));
	md = report_render_markdown(j);
	summary = report_summary_markdown(j);
	assert_has(md, "| Verdict | ❌ FAILED |  | ⚠️ ABORTED |  |\n");
	/* The aborted previous run never recovered: no RTO change to show. */
	assert_has(md, "| RTO | 2.42 s | 5.00 s | not measured | n/a |\n");
	assert_has(md, "| RPO (lost writes) | 1 write | 0 writes | 0 writes | +1 write |\n");
	assert_has(md, "Previous run: [2026-11-27 16:10:00 UTC](../../../2026/11/20261127T161000Z-region-failover/report.md). "
		       "Last passed before this run: [2026-11-27 14:44:20 UTC](../../../2026/11/20261127T144420Z-region-failover/report.md) (2 runs ago).");
	assert_has(summary, "Previous run: 2026-11-27 16:10:00 UTC. Last passed before this run: 2026-11-27 14:44:20 UTC (2 runs ago).");
	assert_null(strstr(summary, "](../"));
	/* It comes before the objectives: the first thing a reviewer reads. */
	assert_true(strstr(md, "| RTO | 2.42 s") < strstr(md, "## Objectives"));
	free(md);
	free(summary);

	/* Against the passed run only: the change in RTO with its percentage. */
	json_array_remove(index, 1);
	json_object_set_new(j, "earlier_runs", results_earlier_runs(j, index));
	md = report_render_markdown(j);
	assert_has(md, "| RTO | 2.42 s | 5.00 s | 1.42 s | +1.00 s (+70.4 %) |\n");
	assert_has(md, "(the previous run).");
	free(md);

	/* Neither RTO nor RPO measured; no earlier run of this drill passed. */
	json_object_del(json_object_get(j, "measurements"), "rto_ms");
	json_object_del(json_object_get(j, "measurements"), "rpo_lost_writes");
	json_object_set_new(json_array_get(index, 0), "status", json_string("failed"));
	json_object_set_new(j, "earlier_runs", results_earlier_runs(j, index));
	md = report_render_markdown(j);
	assert_has(md, "| RPO (lost writes) | not measured | 0 writes | 0 writes | n/a |\n");
	assert_has(md, "| RTO | not measured");
	assert_has(md, "Last passed before this run: never passed (1 earlier run).");
	free(md);

	/* The first run of a drill says so. */
	json_array_clear(index);
	json_object_set_new(j, "earlier_runs", results_earlier_runs(j, index));
	md = report_render_markdown(j);
	assert_has(md, "First run of `region-failover` on this kind of target in the results repository: "
		       "nothing to compare with; it has never passed.");
	assert_null(strstr(md, "Previous run"));
	free(md);
	json_decref(index);
	json_decref(j);
}

/* The number after `label` in svg, or -1 when it is not there. */
static long long count_after(const char *svg, const char *label)
{
	const char *p = strstr(svg, label);
	long long n = -1;

	if (p && sscanf(p + strlen(label), "%lld", &n) != 1)
		n = -1;
	return n;
}

/* Issue 16: the chart counted attempts ("failed (132)") where the table
 * counted logical writes ("Writes failed | 0").  The legend now shows the
 * table's figures: it follows measurements.writes when they change, and
 * the attempts are only ever called attempts, with the class totals. */
static void test_latency_legend_counts_the_tables_writes(void **state)
{
	json_t *j = load_fixture("local-run");
	const json_t *w = json_object_get(json_object_get(j, "measurements"), "writes");
	char *svg = report_render_latency_svg(j), *md = report_render_markdown(j), *row;

	(void)state;
	assert_int_equal(count_after(svg, "ok ("), json_integer_value(json_object_get(w, "ok")));
	assert_int_equal(count_after(svg, "failed ("), json_integer_value(json_object_get(w, "failed")));
	assert_int_equal(count_after(svg, "unknown ("), json_integer_value(json_object_get(w, "unknown")));
	/* The same figures as report.md's table rows. */
	row = xasprintf("| Writes failed | %lld |", (long long)count_after(svg, "failed ("));
	assert_has(md, row);
	free(row);
	assert_has(svg, "logical writes:");
	assert_has(svg, "(133 of 187 attempts)");
	assert_has(svg, ">NOT_LEADER (132)</text>");
	free(svg);
	free(md);

	/* The legend reads the table's figures, not the points it drew. */
	json_object_set_new((json_t *)w, "failed", json_integer(7));
	svg = report_render_latency_svg(j);
	assert_int_equal(count_after(svg, "failed ("), 7);
	free(svg);

	/* A journal without logical writes labels its points as attempts. */
	json_object_del(json_object_get(j, "measurements"), "write_series");
	svg = report_render_latency_svg(j);
	assert_has(svg, "attempts (this journal has no logical writes):");
	assert_null(strstr(svg, "logical writes:"));
	free(svg);
	json_decref(j);
}

/* The largest value on the latency axis (its decade labels) holds the
 * longest write of every fixture, so the table's "Latency max" is on the
 * chart (it stopped at 10 ms under a 636 ms stall), and the stall is
 * named. */
static void test_latency_axis_holds_the_longest_stall(void **state)
{
	(void)state;
	for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
		json_t *j = load_fixture(fixtures[f]);
		char *svg = report_render_latency_svg(j);
		const char *labels = strstr(svg, "<g text-anchor=\"end\">"), *end, *p;
		double top = -1, maxl = 0;

		assert_non_null(labels);
		end = strstr(labels, "</g>");
		for (p = strstr(labels, "\">"); p && p < end; p = strstr(p + 1, "\">")) {
			double v;

			if (sscanf(p + 2, "%lf", &v) == 1 && v > top)
				top = v;
		}
		if (num_at(fixtures[f], json_object_get(j, "measurements"), "max_latency_ms", &maxl)) {
			if (top < maxl)
				fail_msg("%s: the latency axis ends at %g ms, under the longest write's %.3f ms",
					 fixtures[f], top, maxl);
			/* Older journals (attempts only) may name a longer
			 * unknown attempt instead. */
			if (json_object_get(json_object_get(j, "measurements"), "write_series"))
				assert_has(svg, "longest write ");
		}
		free(svg);
		json_decref(j);
	}
}

/* The stacked classes: one legend entry per class with its total, the
 * totals summing to every attempt; a hostile class name stays escaped. */
static void test_latency_attempts_by_class(void **state)
{
	json_t *j = load_fixture("local-run");
	json_t *abc = json_object_get(json_object_get(j, "measurements"), "attempts_by_class"), *c;
	char *svg = report_render_latency_svg(j);
	long long sum = 0;
	size_t i;

	(void)state;
	assert_has(svg, "attempts per 100 ms");
	json_array_foreach(json_object_get(abc, "classes"), i, c) {
		char *label = xasprintf(">%s (", json_string_value(json_object_get(c, "class")));

		sum += count_after(svg, label);
		free(label);
	}
	assert_int_equal(sum, json_integer_value(json_object_get(abc, "attempts")));
	free(svg);

	json_object_set_new(json_array_get(json_object_get(abc, "classes"), 1), "class",
			    json_string("<x>&\"]]>"));
	svg = report_render_latency_svg(j);
	assert_null(strstr(svg, "<x>"));
	assert_has(svg, "&lt;x&gt;&amp;");
	if (can_xmllint("latency.svg with a hostile class name")) {
		char tmpl[] = "/tmp/dr-classes-XXXXXX";
		int fd = mkstemp(tmpl);
		struct dr_error err = DR_ERROR_INIT;

		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(fs_write_atomic(tmpl, svg, strlen(svg), &err), 0);
		xmllint_ok(tmpl);
		unlink(tmpl);
	}
	free(svg);
	json_decref(j);
	skip_if_xml_unchecked();
}

/* Rendering twice gives the same bytes (no clock, no hostname lookups). */
static void test_render_is_deterministic(void **state)
{
	json_t *j = load_fixture("failed-lost-write");
	char *a = report_render_markdown(j), *b = report_render_markdown(j);
	char *c = report_render_latency_svg(j), *d = report_render_latency_svg(j);

	(void)state;
	assert_string_equal(a, b);
	assert_string_equal(c, d);
	free(a);
	free(b);
	free(c);
	free(d);
	json_decref(j);
}

/* Hostile text in every field stays well-formed XML and a sane table. */
/* A duration is rounded before its unit is chosen. */
static void test_fmt_ms_rounds_before_choosing_the_unit(void **state)
{
	static const struct {
		double ms;
		const char *shown;
	} cases[] = {
		{ 12.54, "12.5 ms" }, { 999.94, "999.9 ms" }, { 999.96, "1.00 s" },
		{ 1420.5, "1.42 s" }, { 59994.0, "59.99 s" }, { 59996.0, "1 min" },
		{ 60049.0, "1 min" }, { 123100.0, "2 min 3.1 s" }, { 119990.0, "2 min" },
		{ 119940.0, "1 min 59.9 s" }, { -1500.0, "-1.50 s" }, { -61000.0, "-1 min 1.0 s" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = STRBUF_INIT;

		fmt_ms(&sb, cases[i].ms);
		if (strcmp(strbuf_str(&sb), cases[i].shown) != 0)
			fail_msg("fmt_ms(%g) = '%s', expected '%s'", cases[i].ms, strbuf_str(&sb),
				 cases[i].shown);
		strbuf_release(&sb);
	}
}

static void test_hostile_text_is_escaped(void **state)
{
	json_t *j = load_fixture("failed-lost-write"), *step;
	const char *nasty = "a<b>&c\"d'e]]>f|g\x01h\nnext line";
	char tmpl[] = "/tmp/dr-escape-XXXXXX";
	char *dir = mkdtemp(tmpl), *md, *p;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	xml_unchecked = 0;
	assert_non_null(dir);
	step = json_array_get(json_object_get(j, "steps"), 0);
	json_object_set_new(step, "name", json_string(nasty));
	json_object_set_new(step, "message", json_string(nasty));
	json_object_set_new(step, "result", json_string("failed"));
	json_object_set_new(json_object_get(j, "drill"), "name", json_string(nasty));
	json_object_set_new(j, "reason", json_string(nasty));
	assert_int_equal(report_write_artifacts(j, dir, &err), 0);
	if (can_xmllint("junit.xml and latency.svg with hostile text")) {
		p = xasprintf("%s/junit.xml", dir);
		xmllint_ok(p);
		free(p);
		p = xasprintf("%s/latency.svg", dir);
		xmllint_ok(p);
		free(p);
	}
	md = report_render_markdown(j);
	/* Pipes cannot break table rows; raw tags cannot reach the page. */
	assert_non_null(strstr(md, "a&lt;b&gt;&c\"d'e]]&gt;f\\|g"));
	/* The only raw copy is inside the title's code span. */
	p = strstr(md, "a<b>");
	assert_non_null(p);
	assert_true(p > md && p[-1] == '`');
	assert_null(strstr(p + 1, "a<b>"));
	free(md);
	assert_int_equal(fs_remove_tree(dir, &err), 0);
	json_decref(j);
	skip_if_xml_unchecked();
}

static int occurrences(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Each outage of measurements.outages is shaded, in both panels; a
 * pre-fault blip is not an outage (issue 16: 4-5 ms blips before the fault
 * were drawn as outages). */
static void test_latency_shades_outages_not_blips(void **state)
{
	json_t *j = load_fixture("failed-lost-write");
	json_t *m = json_object_get(j, "measurements");
	char *svg;

	(void)state;
	json_object_set_new(m, "pre_fault_blips",
			    json_pack("[{s:f,s:f,s:f,s:b}]", "start_ms", 5.0, "end_ms", 9.5,
				      "duration_ms", 4.5, "recovered", 1));
	svg = report_render_latency_svg(j);
	assert_int_equal(occurrences(svg, "z\" fill=\"#fde2e2\"/>"),
			 (int)json_array_size(json_object_get(m, "outages")));
	assert_int_equal(occurrences(svg, "z\" fill=\"#fde2e2\"/>"), 2);
	free(svg);
	json_decref(j);
}

/* One cause is one failure: a failed objective is not failed again by the
 * verdict case; a run whose reason no case carries still fails one case. */
static void test_junit_one_cause_is_one_failure(void **state)
{
	json_t *j = load_fixture("failed-lost-write");
	char *x = report_render_junit(j);

	(void)state;
	assert_int_equal(occurrences(x, "<failure"), 1);
	assert_non_null(strstr(x, "failures=\"1\""));
	assert_null(strstr(x, "name=\"verdict\""));
	/* The reason is still there, once, as the suite's property. */
	assert_non_null(strstr(x, "<property name=\"reason\" value=\"objective rpo failed"));
	free(x);
	json_decref(j);

	/* Failed for a reason no case carries: the verdict fails. */
	j = load_fixture("passed");
	json_object_set_new(j, "status", json_string("failed"));
	json_object_set_new(j, "reason", json_string("results repository rejected the commit"));
	x = report_render_junit(j);
	assert_int_equal(occurrences(x, "<failure"), 1);
	assert_non_null(strstr(x, "name=\"verdict\" time=\"11.333\">\n      <failure type=\"failed\" "
				  "message=\"results repository rejected the commit\""));
	free(x);
	json_decref(j);

	/* An abort is its own cause, beside the objectives it left unmeasured. */
	j = load_fixture("aborted");
	x = report_render_junit(j);
	assert_int_equal(occurrences(x, "<error"), 1);
	assert_non_null(strstr(x, "<error type=\"aborted\" message=\"aborted by SIGINT"));
	free(x);
	json_decref(j);
}

/* Every objective's case holds its measured value, limit and unit; the
 * suite's timestamp keeps the journal's zone; skipped has no message. */
static void test_junit_cases_carry_their_figures(void **state)
{
	const char *const fx[] = { "passed", "aborted", "local-run" };

	(void)state;
	for (size_t f = 0; f < sizeof(fx) / sizeof(fx[0]); f++) {
		json_t *j = load_fixture(fx[f]), *o;
		char *x = report_render_junit(j), *ts;
		size_t i;

		json_array_foreach(json_object_get(j, "objectives"), i, o) {
			const char *name = json_string_value(json_object_get(o, "name"));
			const char *unit = json_string_value(json_object_get(o, "unit"));
			char *head = xasprintf("objectives\" name=\"%s\"", name), *want;
			const char *c = strstr(x, head), *end;
			struct strbuf m = STRBUF_INIT;

			assert_non_null(c);
			end = strstr(c, "</testcase>");
			assert_non_null(end);
			if (json_is_number(json_object_get(o, "measured")))
				fmt_num(&m, json_number_value(json_object_get(o, "measured")));
			else
				strbuf_adds(&m, "not measured");
			want = json_is_number(json_object_get(o, "measured"))
				       ? xasprintf("<system-out>measured: %s %s\nlimit: ", m.buf, unit)
				       : xasprintf("<system-out>measured: not measured\nlimit: ");
			if (!strstr(c, want) || strstr(c, want) > end)
				fail_msg("%s: objective %s's case lacks '%s'", fx[f], name, want);
			strbuf_release(&m);
			free(want);
			free(head);
		}
		ts = xasprintf("timestamp=\"%s\"", json_string_value(json_object_get(j, "started_at")));
		assert_non_null(strstr(x, ts));
		assert_null(strstr(x, "<skipped message"));
		assert_null(strstr(x, "<testsuites name=\"drillrig\" tests=\"0\""));
		free(ts);
		free(x);
		json_decref(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_passed),
		cmocka_unit_test(test_golden_failed_lost_write),
		cmocka_unit_test(test_golden_aborted),
		cmocka_unit_test(test_golden_kubernetes),
		cmocka_unit_test(test_golden_local_run),
		cmocka_unit_test(test_golden_keyword_steps),
		cmocka_unit_test(test_golden_quorum_loss),
		cmocka_unit_test(test_journal_layout),
		cmocka_unit_test(test_golden_results_index),
		cmocka_unit_test(test_headline_against_earlier_runs),
		cmocka_unit_test(test_render_is_deterministic),
		cmocka_unit_test(test_latency_legend_counts_the_tables_writes),
		cmocka_unit_test(test_latency_axis_holds_the_longest_stall),
		cmocka_unit_test(test_latency_attempts_by_class),
		cmocka_unit_test(test_latency_shades_outages_not_blips),
		cmocka_unit_test(test_fmt_ms_rounds_before_choosing_the_unit),
		cmocka_unit_test(test_hostile_text_is_escaped),
		cmocka_unit_test(test_junit_one_cause_is_one_failure),
		cmocka_unit_test(test_junit_cases_carry_their_figures),
	};
	(void)fixtures;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
