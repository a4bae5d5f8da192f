/* Sections shared by report.md and report_summary_markdown. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reports/redact.h"
#include "reports/render.h"
#include "reports/report_sections.h"
#include "reports/reports.h"

int report_strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void report_title(struct strbuf *sb, const json_t *j)
{
	const char *verdict = verdict_word(j), *reason = j_str(j, "reason");

	strbuf_adds(sb, "# ");
	md_cell(sb, j_str_or(j_obj(j, "drill"), "name", "drill"));
	strbuf_addf(sb, ": %s (", verdict);
	fmt_date(sb, j_str(j, "started_at"));
	strbuf_adds(sb, ")\n\n");
	if (strcmp(verdict, "PASSED") != 0) {
		strbuf_addf(sb, "**%s:** ", verdict);
		if (reason)
			md_cell(sb, reason);
		else
			strbuf_adds(sb, "the runner recorded no reason.");
		strbuf_adds(sb, "\n\n");
	}
}

/* "2.42 s", "1 write"; a figure not measured says so, never 0. */
static void headline_value(struct strbuf *sb, const json_t *o, const char *key, const char *unit)
{
	double v;

	if (j_num(o, key, &v))
		fmt_unit(sb, v, unit);
	else
		strbuf_adds(sb, "not measured");
}

/* "+1.00 s (+70.4 %)", "-1 write", "no change"; "n/a" unless both were
 * measured. */
static void headline_change(struct strbuf *sb, const json_t *now, const char *now_key,
			    const json_t *then, const char *then_key, const char *unit)
{
	double a, b;

	if (!j_num(now, now_key, &a) || !j_num(then, then_key, &b)) {
		strbuf_adds(sb, "n/a");
		return;
	}
	if (a == b) {
		strbuf_adds(sb, "no change");
		return;
	}
	if (a > b)
		strbuf_addch(sb, '+');
	fmt_unit(sb, a - b, unit);
	if (b != 0)
		strbuf_addf(sb, " (%+.1f %%)", 100.0 * (a - b) / b);
}

/* A headline row's limit, then the previous run's value and the change
 * (those two only when there is a previous run). */
static void headline_limit_and_previous(struct strbuf *sb, const json_t *objective,
					const json_t *m, const json_t *prev, const char *key,
					const char *unit)
{
	double v;

	strbuf_adds(sb, " | ");
	if (j_num(objective, "limit", &v))
		fmt_unit(sb, v, unit);
	else
		strbuf_adds(sb, "none set");
	if (!prev)
		return;
	strbuf_adds(sb, " | ");
	headline_value(sb, prev, key, unit);
	strbuf_adds(sb, " | ");
	headline_change(sb, m, key, prev, key, unit);
}

/* A date, as a link to that run's report when links are wanted. */
static void headline_run(struct strbuf *sb, const json_t *run, int links)
{
	if (links && j_str(run, "report")) {
		strbuf_adds(sb, "[");
		fmt_date(sb, j_str(run, "started_at"));
		strbuf_adds(sb, "](");
		md_cell(sb, j_str(run, "report"));
		strbuf_adds(sb, ")");
	} else {
		fmt_date(sb, j_str(run, "started_at"));
	}
}

void report_headline(struct strbuf *sb, const json_t *j, int links)
{
	const json_t *m = j_obj(j, "measurements"), *er = j_obj(j, "earlier_runs");
	const json_t *prev = j_obj(er, "previous"), *passed = j_obj(er, "last_passed");
	const json_t *rto = find_objective(j, "rto"), *rpo = find_objective(j, "rpo");
	const char *name = j_str_or(j_obj(j, "drill"), "name", "drill");
	double v;

	strbuf_adds(sb, prev ? "| | This run | Limit | Previous run | Change |\n|---|---:|---:|---:|---:|\n"
			     : "| | This run | Limit |\n|---|---:|---:|\n");
	strbuf_addf(sb, "| Verdict | %s | ", verdict_mark(j_str(j, "status")));
	if (prev)
		strbuf_addf(sb, " | %s | ", verdict_mark(j_str(prev, "status")));
	strbuf_adds(sb, " |\n| RTO | ");
	if (j_num(m, "rto_ms", &v)) {
		fmt_ms(sb, v);
	} else {
		strbuf_adds(sb, "not measured");
		if (j_str(m, "rto_note")) {
			strbuf_adds(sb, " (");
			md_cell(sb, j_str(m, "rto_note"));
			strbuf_adds(sb, ")");
		}
	}
	headline_limit_and_previous(sb, rto, m, prev, "rto_ms", "ms");
	strbuf_adds(sb, " |\n| RPO (lost writes) | ");
	headline_value(sb, m, "rpo_lost_writes", "writes");
	headline_limit_and_previous(sb, rpo, m, prev, "rpo_lost_writes", "writes");
	strbuf_adds(sb, " |\n\n");
	/* Without the results repository's history there is nothing to say
	 * about earlier runs (report render, drillrig run --no-results). */
	if (!er)
		return;
	if (!prev) {
		strbuf_adds(sb, "First run of ");
		md_code(sb, name);
		strbuf_adds(sb, " on this kind of target in the results repository: nothing to compare with");
		strbuf_adds(sb, strcmp(verdict_word(j), "PASSED") == 0 ? "." : "; it has never passed.");
		strbuf_adds(sb, "\n\n");
		return;
	}
	strbuf_adds(sb, "Previous run: ");
	headline_run(sb, prev, links);
	strbuf_adds(sb, ". Last passed before this run: ");
	if (passed) {
		headline_run(sb, passed, links);
		if (j_num(passed, "runs_ago", &v))
			strbuf_addf(sb, v == 1 ? " (the previous run)" : " (%.0f runs ago)", v);
		strbuf_adds(sb, ".");
	} else {
		j_num(er, "runs", &v);
		strbuf_addf(sb, "never passed (%.0f earlier run%s).", v, v == 1 ? "" : "s");
	}
	strbuf_adds(sb, "\n\n");
}

void report_objectives(struct strbuf *sb, const json_t *j)
{
	const json_t *objs = j_arr(j, "objectives"), *o;
	size_t i, failed = 0;
	double v;

	strbuf_adds(sb, "## Objectives\n\n");
	if (json_array_size(objs) == 0) {
		strbuf_adds(sb, "No objectives were set.\n\n");
		return;
	}
	strbuf_adds(sb, "| Objective | Limit | Measured | Margin | Result |\n");
	strbuf_adds(sb, "|---|---:|---:|---:|---|\n");
	json_array_foreach(objs, i, o) {
		const char *unit = j_str(o, "unit");
		int passed = json_is_true(json_object_get(o, "passed"));

		strbuf_adds(sb, "| ");
		md_cell(sb, j_str_or(o, "name", "?"));
		strbuf_adds(sb, " | ");
		if (j_num(o, "limit", &v))
			fmt_unit(sb, v, unit);
		else
			strbuf_adds(sb, "n/a");
		strbuf_adds(sb, " | ");
		if (j_num(o, "measured", &v))
			fmt_unit(sb, v, unit);
		else
			strbuf_adds(sb, "not measured");
		strbuf_adds(sb, " | ");
		if (j_num(o, "margin", &v))
			fmt_unit(sb, v, unit);
		else
			strbuf_adds(sb, "n/a");
		strbuf_adds(sb, passed ? " | ✅ pass |\n" : " | ❌ **FAIL** |\n");
		if (!passed)
			failed++;
	}
	strbuf_addch(sb, '\n');
	if (!failed)
		return;
	json_array_foreach(objs, i, o) {
		if (json_is_true(json_object_get(o, "passed")))
			continue;
		strbuf_adds(sb, "- ");
		md_cell(sb, j_str_or(o, "name", "?"));
		strbuf_adds(sb, ": ");
		if (j_str(o, "message")) {
			md_cell(sb, j_str(o, "message"));
		} else {
			const char *unit = j_str(o, "unit");

			strbuf_adds(sb, "measured ");
			if (j_num(o, "measured", &v))
				fmt_unit(sb, v, unit);
			else
				strbuf_adds(sb, "nothing");
			strbuf_adds(sb, " against a limit of ");
			if (j_num(o, "limit", &v))
				fmt_unit(sb, v, unit);
			else
				strbuf_adds(sb, "n/a");
		}
		strbuf_addch(sb, '\n');
	}
	strbuf_addch(sb, '\n');
}

void report_regression(struct strbuf *sb, const json_t *j)
{
	const json_t *r = j_obj(j, "regression"), *m = j_obj(j, "measurements");
	double base, runs, pct, rto, needed;

	if (r && json_is_false(json_object_get(r, "evaluated")) && j_num(r, "runs", &runs) &&
	    j_num(r, "needed", &needed)) {
		strbuf_addf(sb, "**RTO regression check:** gate not evaluated: %.0f of %.0f comparable "
			    "runs (%s).\n\n", runs, needed, j_str_or(r, "reason", "?"));
		return;
	}
	if (!r || !j_num(r, "baseline_ms", &base))
		return;
	strbuf_adds(sb, "**RTO regression check:** ");
	if (json_is_true(json_object_get(r, "regressed")))
		strbuf_adds(sb, "**REGRESSED.** ");
	else if (j_num(r, "threshold_pct", &pct) && pct >= 0)
		strbuf_adds(sb, "no regression. ");
	else
		strbuf_adds(sb, "informational (no gate set). ");
	if (j_num(m, "rto_ms", &rto)) {
		strbuf_adds(sb, "RTO ");
		fmt_ms(sb, rto);
		strbuf_adds(sb, " against a baseline of ");
	} else {
		strbuf_adds(sb, "Baseline ");
	}
	fmt_ms(sb, base);
	if (j_num(r, "runs", &runs))
		strbuf_addf(sb, " (median of the previous %.0f comparable runs)", runs);
	if (j_num(m, "rto_ms", &rto) && base > 0)
		strbuf_addf(sb, ", %+.1f %%", 100.0 * (rto - base) / base);
	if (j_num(r, "threshold_pct", &pct) && pct >= 0) {
		double floor_ms;

		strbuf_addf(sb, "; the gate fails above +%.0f %%", pct);
		if (j_num(r, "floor_ms", &floor_ms)) {
			strbuf_adds(sb, " and ");
			fmt_ms(sb, floor_ms);
		}
	}
	strbuf_adds(sb, ".\n\n");
}

char *report_summary_markdown(const json_t *journal)
{
	json_t *j = redact_json(journal);
	const json_t *m, *w, *lat;
	struct strbuf sb = STRBUF_INIT;
	char *out;
	double v;

	report_title(&sb, j);
	/* The summary is read on a CI page or a terminal, where the links
	 * (relative to the run's folder) would lead nowhere. */
	report_headline(&sb, j, 0);
	report_objectives(&sb, j);
	report_regression(&sb, j);
	m = j_obj(j, "measurements");
	w = j_obj(m, "writes");
	lat = j_obj(m, "latency_ms");
	if (m) {
		strbuf_adds(&sb, "Writes: ");
		strbuf_addf(&sb, "%.0f ok, %.0f failed, %.0f unknown, %.0f lost, %.0f duplicated",
			    j_num(w, "ok", &v) ? v : 0, j_num(w, "failed", &v) ? v : 0,
			    j_num(w, "unknown", &v) ? v : 0, j_num(w, "lost", &v) ? v : 0,
			    j_num(w, "duplicated", &v) ? v : 0);
		if (j_num(lat, "p99", &v)) {
			strbuf_adds(&sb, "; latency p99 ");
			fmt_ms(&sb, v);
		}
		if (j_num(lat, "max", &v)) {
			strbuf_adds(&sb, ", max ");
			fmt_ms(&sb, v);
		}
		if (j_num(m, "availability", &v))
			strbuf_addf(&sb, "; availability %.2f %%", v * 100.0);
		strbuf_adds(&sb, ".\n");
	}
	json_decref(j);
	out = redact_text(sb.buf);
	strbuf_release(&sb);
	return out;
}
