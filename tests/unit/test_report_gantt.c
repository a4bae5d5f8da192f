/* The timeline's mermaid gantt, checked without a browser
 * (tests/support/gantt_check.c): every golden report and every rendering of
 * the fixtures follows the grammar, draws every step under its own name,
 * marks every fault, and labels its axis the same in every time zone.  The
 * checker itself must fail on what the renderer wrote before (keywords as
 * task names, a local-time axis). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "reports/reports.h"
#include "tests/support/gantt_check.h"

static const char *const fixtures[] = { "passed", "failed-lost-write", "aborted", "kubernetes",
					"local-run", "keyword-steps", "quorum-loss" };

static char *src_path(const char *rel)
{
	const char *src = getenv("DRILLRIG_SRC");

	return xasprintf("%s/%s", src && *src ? src : ".", rel);
}

static json_t *load_journal(const char *name)
{
	char *path = xasprintf("%s/tests/data/journals/%s.json",
			       getenv("DRILLRIG_SRC") ? getenv("DRILLRIG_SRC") : ".", name);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j)
		fail_msg("cannot load '%s': %s", path, jerr.text);
	free(path);
	return j;
}

/* The step's name as the chart should show it: the look-alikes read back
 * as what they stand for, control characters as spaces. */
static char *shown_back(const char *name)
{
	static const struct {
		const char *utf8;
		char c;
	} back[] = {
		{ "\xea\x9e\x89", ':' }, { "\xef\xbc\x83", '#' }, { "\xef\xbc\x9b", ';' },
		{ "\xef\xbc\x85", '%' }, { "\xe2\x80\xb9", '<' }, { "\xe2\x80\xba", '>' },
		{ "\xef\xbc\x86", '&' }, { "\xe2\x80\x9d", '"' }, { "\xcb\x8b", '`' },
	};
	struct strbuf sb = STRBUF_INIT;

	for (const char *p = name; *p;) {
		size_t k;

		for (k = 0; k < sizeof(back) / sizeof(back[0]); k++)
			if (!strncmp(p, back[k].utf8, strlen(back[k].utf8)))
				break;
		if (k < sizeof(back) / sizeof(back[0])) {
			strbuf_addch(&sb, back[k].c);
			p += strlen(back[k].utf8);
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	return strbuf_detach(&sb);
}

static const struct gantt_task *task_by_id(const struct gantt_chart *c, const char *id)
{
	for (size_t i = 0; i < c->ntasks; i++)
		if (!strcmp(c->tasks[i].id, id))
			return &c->tasks[i];
	return NULL;
}

static int has_task_starting(const struct gantt_chart *c, const char *prefix)
{
	for (size_t i = 0; i < c->ntasks; i++)
		if (!strncmp(c->tasks[i].name, prefix, strlen(prefix)))
			return 1;
	return 0;
}

/* `markdown` passes the check, and shows everything `j` has to show. */
static void assert_chart_of(const char *what, const char *markdown, const json_t *j)
{
	struct gantt_chart c;
	char why[512];
	const json_t *s;
	size_t i, faults = 0;

	if (gantt_check(&c, markdown, why, sizeof(why)) != 0)
		fail_msg("%s: %s", what, why);
	json_array_foreach(json_object_get(j, "steps"), i, s) {
		char *id = xasprintf("s%zu", i + 1), *want, *got;
		const char *name = json_string_value(json_object_get(s, "name"));
		const struct gantt_task *t = task_by_id(&c, id);
		struct strbuf expect = STRBUF_INIT;

		if (!t)
			fail_msg("%s: step %zu '%s' is not in the chart", what, i + 1, name);
		strbuf_addf(&expect, "%zu. ", i + 1);
		for (const char *p = name; *p; p++) {
			/* U+2028 and U+2029 end a line in JavaScript: spaces too. */
			if (!strncmp(p, "\xe2\x80\xa8", 3) || !strncmp(p, "\xe2\x80\xa9", 3)) {
				strbuf_addch(&expect, ' ');
				p += 2;
				continue;
			}
			strbuf_addch(&expect, (unsigned char)*p < 0x20 ? ' ' : *p);
		}
		want = strbuf_detach(&expect);
		/* The checker trims the name, as mermaid does. */
		while (*want && want[strlen(want) - 1] == ' ')
			want[strlen(want) - 1] = '\0';
		got = shown_back(t->name);
		if (strcmp(got, want) != 0)
			fail_msg("%s: step %zu is drawn as '%s', not '%s'", what, i + 1, got, want);
		if (json_is_true(json_object_get(s, "fault"))) {
			char *mark = xasprintf("fault %zu (step %zu) at ", ++faults, i + 1);

			if (!has_task_starting(&c, mark))
				fail_msg("%s: no mark '%s...' for the fault of step %zu", what, mark, i + 1);
			free(mark);
		}
		free(got);
		free(want);
		free(id);
	}
	/* The first fault is the axis' zero. */
	if (faults && !has_task_starting(&c, "fault 1 (step") )
		fail_msg("%s: no first fault", what);
	for (i = 0; faults && i < c.ntasks; i++)
		if (!strncmp(c.tasks[i].name, "fault 1 (step", 13) && c.tasks[i].start != 0)
			fail_msg("%s: the first fault is at %lld, not 0", what, c.tasks[i].start);
	if (json_array_size(json_object_get(json_object_get(j, "workload"), "series")) > 0 &&
	    !has_task_starting(&c, "workload starts at "))
		fail_msg("%s: the workload's start is not marked", what);
	if (json_is_object(json_object_get(j, "baseline")) && !task_by_id(&c, "baseline"))
		fail_msg("%s: the journal has a baseline period, the chart does not", what);
	gantt_chart_release(&c);
}

static void test_golden_reports_pass_the_gantt_check(void **state)
{
	(void)state;
	for (size_t f = 0; f < sizeof(fixtures) / sizeof(fixtures[0]); f++) {
		char *rel = xasprintf("tests/data/golden/%s/report.md", fixtures[f]);
		char *path = src_path(rel), *md = NULL, *fresh;
		struct dr_error err = DR_ERROR_INIT;
		json_t *j = load_journal(fixtures[f]);

		if (fs_read_file(&md, NULL, path, 16 << 20, &err) != 0)
			fail_msg("cannot read '%s': %s", path, err.msg);
		assert_chart_of(rel, md, j);
		fresh = report_render_markdown(j);
		assert_chart_of(fixtures[f], fresh, j);
		free(fresh);
		free(md);
		free(path);
		free(rel);
		json_decref(j);
	}
}

/* Names drillrig validate accepts, each of which broke or changed the
 * chart when written as it was. */
static void test_no_step_name_changes_the_chart(void **state)
{
	static const char *const names[] = {
		"click", "title", "section", "Title x", "SECTION y", "dateFormat YYYY", "axisFormat %H",
		"tickInterval 1day", "excludes weekends", "includes 2026-01-01", "todayMarker on",
		"weekday monday", "gantt", "ganttry", "topAxis", "inclusiveEndDates", "accTitle: t",
		"accDescr { x }", "href \"x\"", "call f()", "2026-01-01 restore", "a: b", "a # b",
		"a ; b", "say \"hi\" `now`", "line\nbreak", "cr\rlf", "%%{init: {'theme':'dark'}}%%",
		"50%% done", "<b>bold</b> &amp;", "", "   ", "s1", "tab\there",
		"\xe2\x80\xa8separator",
	};
	json_t *j = load_journal("passed"), *steps = json_array(), *tmpl;
	char *md;

	(void)state;
	tmpl = json_array_get(json_object_get(j, "steps"), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *s = json_deep_copy(tmpl);

		json_object_set_new(s, "name", json_string(names[i]));
		json_object_set_new(s, "start_ms", json_real(12.5 + 10.0 * (double)i));
		json_object_set_new(s, "fault", json_boolean(i % 7 == 0));
		json_array_append_new(steps, s);
	}
	json_object_set_new(j, "steps", steps);
	json_object_set_new(json_object_get(j, "drill"), "name", json_string("title: #1; %%{x}%%"));
	md = report_render_markdown(j);
	assert_chart_of("hostile step names", md, j);
	free(md);
	json_decref(j);
}

/* A drill refused before its first step (a held lock, an unrecovered
 * target) has no task: the report says so instead of crashing or drawing
 * an empty frame. */
static void test_drill_without_steps_draws_nothing(void **state)
{
	json_t *j = load_journal("passed");
	char *md;

	(void)state;
	json_object_set_new(j, "steps", json_array());
	json_object_set_new(j, "outages", json_array());
	json_object_del(j, "outage");
	json_object_set_new(j, "fault_start_ms", json_null());
	json_object_set_new(j, "restore_start_ms", json_null());
	json_object_del(j, "workload");
	json_object_set_new(json_object_get(j, "measurements"), "outages", json_array());
	md = report_render_markdown(j);
	assert_non_null(md);
	if (!strstr(md, "## Timeline\n\nNo step ran: there is nothing to draw."))
		fail_msg("%s", strstr(md, "## Timeline") ? strstr(md, "## Timeline") : md);
	assert_null(strstr(md, "gantt"));
	free(md);
	json_decref(j);
}

/* A 10-minute drill (the passed fixture, 120 times slower) is labelled in whole seconds, a short one in ms; both
 * follow the zone-free rules. */
static void test_axis_fits_the_drill(void **state)
{
	static const struct {
		double scale;
		const char *tick, *axis;
	} cases[] = {
		{ 1.0, "1000millisecond", "%s s" },
		{ 120.0, "60000millisecond", "%s s" },
		{ 0.05, "50millisecond", "%Q ms" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		json_t *j = load_journal("passed"), *s, *o;
		struct gantt_chart c;
		char why[512], *md;
		size_t i;
		double v;

		/* Every time in the journal scaled: the same drill, longer or shorter. */
		json_array_foreach(json_object_get(j, "steps"), i, s) {
			json_object_set_new(s, "start_ms", json_real(json_number_value(json_object_get(s, "start_ms")) * cases[k].scale));
			json_object_set_new(s, "duration_ms", json_real(json_number_value(json_object_get(s, "duration_ms")) * cases[k].scale));
		}
		json_array_foreach(json_object_get(json_object_get(j, "measurements"), "outages"), i, o) {
			json_object_set_new(o, "start_ms", json_real(json_number_value(json_object_get(o, "start_ms")) * cases[k].scale));
			json_object_set_new(o, "end_ms", json_real(json_number_value(json_object_get(o, "end_ms")) * cases[k].scale));
		}
		json_object_set_new(j, "duration_ms", json_real(json_number_value(json_object_get(j, "duration_ms")) * cases[k].scale));
		v = json_number_value(json_object_get(j, "fault_start_ms"));
		json_object_set_new(j, "fault_start_ms", json_real(v * cases[k].scale));
		v = json_number_value(json_object_get(j, "restore_start_ms"));
		json_object_set_new(j, "restore_start_ms", json_real(v * cases[k].scale));
		o = json_object_get(j, "outage");
		json_object_set_new(o, "start_ms", json_real(json_number_value(json_object_get(o, "start_ms")) * cases[k].scale));
		json_object_set_new(o, "end_ms", json_real(json_number_value(json_object_get(o, "end_ms")) * cases[k].scale));
		md = report_render_markdown(j);
		if (gantt_check(&c, md, why, sizeof(why)) != 0)
			fail_msg("drill scaled by %g: %s", cases[k].scale, why);
		if (strcmp(c.tick_interval, cases[k].tick) != 0 || strcmp(c.axis_format, cases[k].axis) != 0)
			fail_msg("drill scaled by %g: tickInterval %s, axisFormat %s; expected %s, %s",
				 cases[k].scale, c.tick_interval, c.axis_format, cases[k].tick, cases[k].axis);
		gantt_chart_release(&c);
		free(md);
		json_decref(j);
	}
}

/* A drill without a fault whose steps run from +2.0 to +3.7 s (the shape
 * of backup-restore) and a 2.5 s drill with one (failback): the axis spans
 * the tasks, not 0, and each gets at least 3 labels.  The chart once took
 * its span from 0: 1 s ticks on a 2 s axis, one label, "3 s"; and from 2 s
 * on, whole seconds: "0 s" and "1 s" for 2.5 s. */
static void test_axis_has_three_labels(void **state)
{
	static const struct {
		int fault;
		double first, step;
		const char *tick;
	} cases[] = {
		{ 0, 2000.0, 600.0, "200millisecond" },
		{ 1, -700.0, 800.0, "200millisecond" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		json_t *j = load_journal("passed"), *s, *m = json_object_get(j, "measurements");
		struct gantt_chart c;
		char why[512], *md;
		size_t i;

		json_object_set_new(json_object_get(j, "workload"), "series", json_array());
		json_object_set_new(m, "outages", json_array());
		json_object_set_new(j, "outage", json_null());
		json_object_set_new(j, "restore_start_ms", json_null());
		json_object_set_new(j, "fault_start_ms", cases[k].fault ? json_real(0.0) : json_null());
		json_array_foreach(json_object_get(j, "steps"), i, s) {
			json_object_set_new(s, "start_ms", json_real(cases[k].first + cases[k].step * (double)i));
			json_object_set_new(s, "duration_ms", json_real(cases[k].step - 100.0));
			json_object_set_new(s, "fault", json_boolean(cases[k].fault && i == 1));
		}
		md = report_render_markdown(j);
		if (gantt_check(&c, md, why, sizeof(why)) != 0)
			fail_msg("case %zu: %s\n%s", k, why, strstr(md, "```mermaid"));
		if (strcmp(c.tick_interval, cases[k].tick) != 0)
			fail_msg("case %zu: tickInterval %s, expected %s", k, c.tick_interval, cases[k].tick);
		gantt_chart_release(&c);
		free(md);
		json_decref(j);
	}
}

/* What the renderer wrote before this check existed (the passed fixture's
 * chart, and a step named click, title or section, or holding '#' or ':')
 * must fail it, each for its own reason. */
static void test_checker_fails_the_old_output(void **state)
{
	static const char head[] = "```mermaid\ngantt\n    title region-failover (time since the drill started)\n"
				   "    dateFormat x\n";
	static const char good_axis[] = "    axisFormat %s s\n    tickInterval 1000millisecond\n";
	static const struct {
		const char *axis, *body, *reason;
	} cases[] = {
		{ "    axisFormat %M:%S\n",
		  "    section steps\n    scale-down-primary :done, active, s1, 13, 410\n", "local time" },
		{ good_axis, "    section steps\n    click :done, active, s1, 13, 410\n", "click" },
		{ good_axis, "    section steps\n    ok :done, s1, 13, 410\n    title :done, s2, 411, 2433\n", "title" },
		{ good_axis, "    section steps\n    ok :done, s1, 13, 410\n    title x :done, s2, 411, 2433\n", "title" },
		{ good_axis, "    section undo\n    section :done, s3, 2000, 5150\n", "section" },
		{ good_axis, "    section steps\n    Dateformat x :done, s1, 13, 410\n", "dateFormat" },
		{ good_axis, "    section steps\n    a: b :done, s1, 13, 410\n", "':'" },
		{ good_axis, "    section steps\n    a #1 :done, s1, 13, 410\n", "'#'" },
		{ good_axis, "    section steps\n    a ;1 :done, s1, 13, 410\n", "';'" },
		{ good_axis, "    section steps\n    a %%{init: {}}%% :done, s1, 13, 410\n", "%%" },
		{ good_axis, "    section steps\n    a :done, s1, 13, 410\n    b :done, s1, 411, 500\n", "repeats the id" },
		{ good_axis, "    section steps\n    a :done, s1, 13\n", "fields" },
		{ good_axis, "    section steps\n    a :done, s1, 2026-01-01, 410\n", "dateFormat x" },
		{ good_axis, "    section steps\n    a :done, s1, 410, 13\n", "before it starts" },
		{ good_axis, "    section steps\n    a done, s1, 13, 410\n", "no ':'" },
		{ "    axisFormat %s s\n", "    section steps\n    a :done, s1, 13, 410\n", "tickInterval" },
		{ "    axisFormat %s s\n    tickInterval 500millisecond\n", "    section steps\n    a :done, s1, 13, 410\n", "sub-second" },
		{ "    axisFormat %s s\n    tickInterval 2minute\n", "    section steps\n    a :done, s1, 13, 410\n", "local time" },
		{ good_axis, "    section steps\n    a :done, s1, 2056, 3056\n    b :done, s2, 3056, 3985\n",
		  "fewer than 3 labels" },
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char *md = xasprintf("%s%s%s```\n", head, cases[k].axis, cases[k].body);
		struct gantt_chart c;
		char why[512];

		if (gantt_check(&c, md, why, sizeof(why)) == 0)
			fail_msg("case %zu passed the check:\n%s", k, md);
		if (!strstr(why, cases[k].reason))
			fail_msg("case %zu failed for '%s', expected a reason with '%s'", k, why,
				 cases[k].reason);
		free(md);
	}
	/* And the same chart, written right, passes. */
	{
		char *md = xasprintf("%s%s    section steps\n    1. click :done, active, s1, -13, 2410\n```\n",
				     head, good_axis);
		struct gantt_chart c;
		char why[512];

		if (gantt_check(&c, md, why, sizeof(why)) != 0)
			fail_msg("a valid chart failed: %s", why);
		assert_int_equal(c.ntasks, 1);
		assert_int_equal(c.tasks[0].start, -13);
		gantt_chart_release(&c);
		free(md);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checker_fails_the_old_output),
		cmocka_unit_test(test_golden_reports_pass_the_gantt_check),
		cmocka_unit_test(test_no_step_name_changes_the_chart),
		cmocka_unit_test(test_drill_without_steps_draws_nothing),
		cmocka_unit_test(test_axis_fits_the_drill),
		cmocka_unit_test(test_axis_has_three_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
