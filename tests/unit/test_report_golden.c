/* Golden tests: every fixture journal under tests/data/journals renders to
 * exactly the files under tests/data/golden/<fixture>/.  UPDATE_GOLDEN=1
 * rewrites the goldens instead (review the diff before committing).
 * xmllint --noout must accept every junit.xml and SVG. */
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

static const char *const fixtures[] = { "passed", "failed-lost-write", "aborted", "kubernetes", "local-run" };
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

static void xmllint_ok(const char *path)
{
	char *argv[] = { (char *)"xmllint", (char *)"--noout", (char *)path, NULL };
	struct proc_result res;
	struct dr_error err = DR_ERROR_INIT;

	memset(&res, 0, sizeof(res));
	assert_int_equal(proc_run(&res, argv, NULL, 20 * INT64_C(1000000000), 65536, &err), 0);
	if (!res.exited || res.exit_code != 0)
		fail_msg("xmllint rejects '%s': %s", path, res.errout);
	proc_result_release(&res);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_passed),
		cmocka_unit_test(test_golden_failed_lost_write),
		cmocka_unit_test(test_golden_aborted),
		cmocka_unit_test(test_golden_kubernetes),
		cmocka_unit_test(test_golden_local_run),
		cmocka_unit_test(test_golden_results_index),
		cmocka_unit_test(test_render_is_deterministic),
		cmocka_unit_test(test_hostile_text_is_escaped),
	};
	(void)fixtures;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
