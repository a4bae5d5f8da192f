/* The results repository's run index (dr-drill-results/index.ndjson, one
 * entry per run, oldest first) and what is rendered from it: README.md's
 * history table and rto-trend.svg.  Rebuilding these from the index (never
 * editing them in place) is what lets a rejected push be redone on top of
 * someone else's run. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports/redact.h"
#include "reports/render.h"
#include "reports/report_sections.h"
#include "reports/results_private.h"

int results_run_dir_name(char *out, size_t len, const json_t *journal, struct dr_error *err)
{
	const char *t = j_str(journal, "started_at");
	const char *name = j_str(j_obj(journal, "drill"), "name");
	const char *run_id = j_str(journal, "run_id");
	struct strbuf sb = STRBUF_INIT;
	int rc = -1;

	if (!t || strlen(t) < 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
	    t[13] != ':' || t[16] != ':') {
		dr_error_set(err, "journal has no valid started_at ('%s')", t ? t : "missing");
		goto out;
	}
	if (!name || !*name) {
		dr_error_set(err, "journal has no drill name");
		goto out;
	}
	/* YYYY/MM/YYYYMMDDTHHMMSSZ-<drill>[-<first 6 of run_id>] */
	strbuf_add(&sb, t, 4);
	strbuf_addch(&sb, '/');
	strbuf_add(&sb, t + 5, 2);
	strbuf_addch(&sb, '/');
	strbuf_add(&sb, t, 4);
	strbuf_add(&sb, t + 5, 2);
	strbuf_add(&sb, t + 8, 2);
	strbuf_addch(&sb, 'T');
	strbuf_add(&sb, t + 11, 2);
	strbuf_add(&sb, t + 14, 2);
	strbuf_add(&sb, t + 17, 2);
	strbuf_adds(&sb, "Z-");
	for (const char *p = name; *p && sb.len < 200; p++) {
		char c = *p;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			c = '-';
		strbuf_addch(&sb, c);
	}
	/* Two drills of one name that start in the same second (two machines,
	 * or one twice) must not share a folder: the second's report would be
	 * refused, or dropped as "already there" when pushes race.  Journals
	 * from before run ids keep their old names. */
	if (run_id && strlen(run_id) >= 6 && strspn(run_id, "0123456789abcdef") >= 6) {
		strbuf_addch(&sb, '-');
		strbuf_add(&sb, run_id, 6);
	}
	for (size_t i = 0; i < sb.len; i++)
		if (sb.buf[i] != '/' && !((sb.buf[i] >= '0' && sb.buf[i] <= '9') ||
					   (sb.buf[i] >= 'A' && sb.buf[i] <= 'Z') ||
					   (sb.buf[i] >= 'a' && sb.buf[i] <= 'z') ||
					   sb.buf[i] == '-' || sb.buf[i] == '_' || sb.buf[i] == '.')) {
			dr_error_set(err, "journal started_at '%s' is not a UTC timestamp", t);
			goto out;
		}
	if (str_copy(out, len, sb.buf) != 0) {
		dr_error_set(err, "run directory name too long");
		goto out;
	}
	rc = 0;
out:
	strbuf_release(&sb);
	return rc;
}

static void set_num_or_null(json_t *o, const char *key, const json_t *src, const char *skey)
{
	double v;

	json_object_set_new(o, key, j_num(src, skey, &v) ? json_real(v) : json_null());
}

json_t *results_index_entry(const json_t *journal)
{
	json_t *j = redact_json(journal), *e = json_object();
	const json_t *target = j_obj(j, "target"), *m = j_obj(j, "measurements"), *rto;
	char dir[512];
	struct dr_error err = DR_ERROR_INIT;
	double v;

	json_object_set_new(e, "dir", results_run_dir_name(dir, sizeof(dir), j, &err) == 0
					      ? json_string(dir) : json_null());
	json_object_set_new(e, "started_at", json_string(j_str_or(j, "started_at", "")));
	json_object_set_new(e, "drill", json_string(j_str_or(j_obj(j, "drill"), "name", "")));
	json_object_set_new(e, "target_kind", json_string(j_str_or(target, "kind", "")));
	json_object_set_new(e, "target", json_string(j_str_or(target, "description", "")));
	json_object_set_new(e, "status", json_string(j_str_or(j, "status", "error")));
	json_object_set_new(e, "exit_code", j_num(j, "exit_code", &v) ? json_integer((json_int_t)v) : json_null());
	set_num_or_null(e, "rto_ms", m, "rto_ms");
	rto = find_objective(j, "rto");
	set_num_or_null(e, "rto_limit_ms", rto, "limit");
	set_num_or_null(e, "rpo_lost_writes", m, "rpo_lost_writes");
	set_num_or_null(e, "rpo_seconds", m, "rpo_seconds");
	set_num_or_null(e, "promotion_ms", m, "promotion_ms");
	json_object_set_new(e, "runner_class", json_string(j_str_or(j, "runner_class", "")));
	{
		json_t *timing = json_object_get(j_obj(target, "topology"), "timing");

		json_object_set_new(e, "timing", timing ? json_deep_copy(timing) : json_null());
	}
	json_decref(j);
	return e;
}

static int entry_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(j_str_or(x, "started_at", ""), j_str_or(y, "started_at", ""));

	return c ? c : strcmp(j_str_or(x, "dir", ""), j_str_or(y, "dir", ""));
}

void results_index_sort(json_t *index)
{
	size_t n = json_array_size(index);
	json_t **v = xcalloc(n + 1, sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(index, i));
	qsort(v, n, sizeof(*v), entry_cmp);
	json_array_clear(index);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(index, v[i]);
	free(v);
}

json_t *results_index_parse(const char *text)
{
	json_t *arr = json_array();
	const char *p = text ? text : "";

	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		json_error_t jerr;
		json_t *e = len ? json_loadb(p, len, 0, &jerr) : NULL;

		/* A damaged line is dropped, not fatal: the run folders stay. */
		if (json_is_object(e) && j_str(e, "dir"))
			json_array_append(arr, e);
		json_decref(e);
		p += len + (nl ? 1 : 0);
	}
	return arr;
}

char *results_index_dump(const json_t *index)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	json_t *e;

	json_array_foreach(index, i, e) {
		char *line = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));

		strbuf_adds(&sb, line ? line : "{}");
		strbuf_addch(&sb, '\n');
		free(line);
	}
	return strbuf_detach(&sb);
}

int results_index_has(const json_t *index, const char *dir)
{
	size_t i;
	json_t *e;

	json_array_foreach(index, i, e)
		if (strcmp(j_str_or(e, "dir", ""), dir) == 0)
			return 1;
	return 0;
}

/* Runs of the same drill on the same kind of target: a drill run against
 * both the bundled ledger and etcd (bench-failover does) has two histories
 * whose figures must not be compared with each other. */
static int same_drill(const json_t *a, const json_t *b)
{
	return strcmp(j_str_or(a, "drill", ""), j_str_or(b, "drill", "")) == 0 &&
	       strcmp(j_str_or(a, "target_kind", ""), j_str_or(b, "target_kind", "")) == 0;
}

/* A link from one run's folder (YYYY/MM/<run>/, three levels below
 * dr-drill-results/) to another run's report. */
static json_t *run_link(const json_t *e)
{
	char *l = xasprintf("../../../%s/" REPORT_FILE_MARKDOWN, j_str_or(e, "dir", ""));
	json_t *v = json_string(l);

	free(l);
	return v;
}

static json_t *earlier_run_json(const json_t *e)
{
	json_t *o = json_object();
	const char *keys[] = { "rto_ms", "rto_limit_ms", "rpo_lost_writes" };

	json_object_set_new(o, "dir", json_string(j_str_or(e, "dir", "")));
	json_object_set_new(o, "started_at", json_string(j_str_or(e, "started_at", "")));
	json_object_set_new(o, "status", json_string(j_str_or(e, "status", "error")));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		double v;

		json_object_set_new(o, keys[i], j_num(e, keys[i], &v) ? json_real(v) : json_null());
	}
	json_object_set_new(o, "report", run_link(e));
	return o;
}

json_t *results_earlier_runs(const json_t *journal, const json_t *index)
{
	json_t *me = results_index_entry(journal), *out = json_object();
	const json_t *previous = NULL, *passed = NULL;
	size_t runs = 0, ago = 0;

	/* Newest first; only runs that started before this one. */
	for (size_t i = json_array_size(index); i-- > 0;) {
		const json_t *e = json_array_get(index, i);

		if (!same_drill(e, me) || strcmp(j_str_or(e, "dir", ""), j_str_or(me, "dir", "-")) == 0 ||
		    strcmp(j_str_or(e, "started_at", ""), j_str_or(me, "started_at", "")) >= 0)
			continue;
		runs++;
		if (!previous)
			previous = e;
		if (!passed && strcmp(j_str_or(e, "status", ""), "passed") == 0) {
			passed = e;
			ago = runs;
		}
	}
	json_object_set_new(out, "runs", json_integer((json_int_t)runs));
	json_object_set_new(out, "previous", previous ? earlier_run_json(previous) : json_null());
	if (passed) {
		json_t *p = earlier_run_json(passed);

		json_object_set_new(p, "runs_ago", json_integer((json_int_t)ago));
		json_object_set_new(out, "last_passed", p);
	} else {
		json_object_set_new(out, "last_passed", json_null());
	}
	json_decref(me);
	return out;
}

void results_fmt_rpo(struct strbuf *sb, const json_t *e)
{
	double lost, secs;

	if (!j_num(e, "rpo_lost_writes", &lost)) {
		strbuf_adds(sb, "n/a");
		return;
	}
	if (lost == 0) {
		strbuf_adds(sb, "0");
		return;
	}
	strbuf_addf(sb, "%.0f %s", lost, lost == 1 ? "write" : "writes");
	if (j_num(e, "rpo_seconds", &secs))
		strbuf_addf(sb, " (%.2f s)", secs);
}

/* The README's per-drill summary: the median RTO is over this many of the
 * drill's latest runs (a month of weekly drills, or five monthly ones). */
#define README_MEDIAN_RUNS 5

static int cmp_ms(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

static int cmp_drill_kind(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(j_str_or(x, "drill", ""), j_str_or(y, "drill", ""));

	return c ? c : strcmp(j_str_or(x, "target_kind", ""), j_str_or(y, "target_kind", ""));
}

static void readme_run_cell(struct strbuf *sb, const json_t *e)
{
	fmt_date(sb, j_str(e, "started_at"));
	strbuf_adds(sb, " ([report](");
	strbuf_adds(sb, j_str_or(e, "dir", ""));
	strbuf_adds(sb, "/report.md))");
}

/* One row for the drill (on one target kind) whose newest run is `newest`. */
static void readme_drill_row(struct strbuf *sb, const json_t *index, const json_t *newest)
{
	const json_t *passed = NULL;
	double rtos[README_MEDIAN_RUNS], v;
	size_t n = json_array_size(index), considered = 0, measured = 0, streak = 0;
	int streak_pass = strcmp(j_str_or(newest, "status", ""), "passed") == 0, streak_open = 1;

	for (size_t i = n; i-- > 0;) {
		const json_t *e = json_array_get(index, i);
		int pass = strcmp(j_str_or(e, "status", ""), "passed") == 0;

		if (!same_drill(e, newest))
			continue;
		if (pass && !passed)
			passed = e;
		if (streak_open && pass == streak_pass)
			streak++;
		else
			streak_open = 0;
		if (considered < README_MEDIAN_RUNS) {
			considered++;
			if (j_num(e, "rto_ms", &v))
				rtos[measured++] = v;
		}
	}
	strbuf_adds(sb, "| ");
	md_cell(sb, j_str_or(newest, "drill", "?"));
	strbuf_adds(sb, " | ");
	md_cell(sb, j_str_or(newest, "target_kind", "?"));
	strbuf_addf(sb, " | %s ", verdict_mark(j_str_or(newest, "status", "error")));
	readme_run_cell(sb, newest);
	strbuf_adds(sb, " | ");
	if (passed)
		readme_run_cell(sb, passed);
	else
		strbuf_adds(sb, "never");
	/* A failure is any run that did not pass: failed, aborted, error. */
	strbuf_addf(sb, " | %s %zu %s | ", streak_pass ? "✅" : "❌", streak,
		    streak_pass ? (streak == 1 ? "pass" : "passes") : (streak == 1 ? "failure" : "failures"));
	if (measured) {
		qsort(rtos, measured, sizeof(rtos[0]), cmp_ms);
		fmt_ms(sb, measured % 2 ? rtos[measured / 2]
				       : (rtos[measured / 2 - 1] + rtos[measured / 2]) / 2.0);
		/* Runs that never recovered have no RTO: say how many the median
		 * leaves out rather than let it look better than the drill. */
		if (measured < considered)
			strbuf_addf(sb, " (%zu of %zu measured)", measured, considered);
	} else {
		strbuf_adds(sb, "not measured");
	}
	strbuf_adds(sb, " | ");
	if (j_num(newest, "rto_limit_ms", &v))
		fmt_ms(sb, v);
	else
		strbuf_adds(sb, "none set");
	strbuf_adds(sb, " |\n");
}

/* "## Drills": one row per drill and target kind, alphabetical. */
static void readme_drills(struct strbuf *sb, const json_t *index)
{
	size_t n = json_array_size(index), nd = 0;
	const json_t **newest = xcalloc(n + 1, sizeof(*newest));

	for (size_t i = n; i-- > 0;) {
		const json_t *e = json_array_get(index, i);
		size_t k;

		for (k = 0; k < nd && !same_drill(newest[k], e); k++)
			;
		if (k == nd)
			newest[nd++] = e;
	}
	qsort(newest, nd, sizeof(*newest), cmp_drill_kind);
	strbuf_addf(sb, "## Drills (%zu)\n\n", nd);
	strbuf_addf(sb, "| Drill | Target | Last run | Last pass | Streak | Median RTO (last %d runs) | RTO objective |\n",
		    README_MEDIAN_RUNS);
	strbuf_adds(sb, "|---|---|---|---|---|---:|---:|\n");
	for (size_t k = 0; k < nd; k++)
		readme_drill_row(sb, index, newest[k]);
	strbuf_addch(sb, '\n');
	free(newest);
}

char *readme_render(const json_t *index)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = json_array_size(index);
	double v;

	strbuf_adds(&sb, "# Drill results\n\n"
		    "Written by drillrig; one folder per run under "
		    "`YYYY/MM/<UTC timestamp>-<drill>/` with `report.md`, `journal.json`, "
		    "`junit.xml` and `latency.svg`. Do not edit by hand: this page and "
		    "`rto-trend.svg` are regenerated from `index.ndjson` on every run.\n\n");
	if (n)
		readme_drills(&sb, index);
	strbuf_adds(&sb, "![RTO of recent runs against the objective](rto-trend.svg)\n\n");
	strbuf_addf(&sb, "## History (%zu run%s, newest first)\n\n", n, n == 1 ? "" : "s");
	if (!n) {
		strbuf_adds(&sb, "No runs yet.\n");
		return strbuf_detach(&sb);
	}
	strbuf_adds(&sb, "| Date (UTC) | Drill | Target | Verdict | RTO | RPO | Promotion | Report |\n");
	strbuf_adds(&sb, "|---|---|---|---|---:|---:|---:|---|\n");
	for (size_t k = n; k-- > 0;) {
		const json_t *e = json_array_get(index, k);
		const char *dir = j_str_or(e, "dir", "");

		strbuf_adds(&sb, "| ");
		fmt_date(&sb, j_str(e, "started_at"));
		strbuf_adds(&sb, " | ");
		md_cell(&sb, j_str_or(e, "drill", "?"));
		strbuf_adds(&sb, " | ");
		md_cell(&sb, j_str_or(e, "target_kind", "?"));
		if (j_str(e, "target") && *j_str(e, "target")) {
			strbuf_adds(&sb, ": ");
			md_cell(&sb, j_str(e, "target"));
		}
		strbuf_addf(&sb, " | %s | ", verdict_mark(j_str_or(e, "status", "error")));
		if (j_num(e, "rto_ms", &v))
			fmt_ms(&sb, v);
		else
			strbuf_adds(&sb, "n/a");
		strbuf_adds(&sb, " | ");
		results_fmt_rpo(&sb, e);
		strbuf_adds(&sb, " | ");
		if (j_num(e, "promotion_ms", &v))
			fmt_ms(&sb, v);
		else
			strbuf_adds(&sb, "n/a");
		strbuf_adds(&sb, " | [report](");
		strbuf_adds(&sb, dir);
		strbuf_adds(&sb, "/report.md) |\n");
	}
	return strbuf_detach(&sb);
}

/* rto-trend.svg: one panel per drill and target kind (alphabetical), the
 * last TREND_RUNS runs' RTO in seconds against each run's own objective.
 * A run without an RTO (it did not recover, or nothing was measured) is a
 * marker hanging from the top of the axis: drawn on the zero line it would
 * look like the best run of all. */
#define TREND_RUNS 20
#define TW 720.0
#define TPH 150.0   /* panel height */
#define TML 60.0
#define TMR 110.0
#define TMT 30.0
#define TMB 30.0
#define TLEGEND 30.0 /* the legend's row above the panels */
#define TLABEL_GAP 44.0 /* least room between two date labels, px */
#define C_PASS "#1f6feb"
#define C_FAIL "#d1242f"
#define C_NONE "#6e7781"

static double trend_x(size_t i, size_t nr, double pw)
{
	return TML + (nr == 1 ? pw / 2 : pw * (0.03 + 0.94 * i / (double)(nr - 1)));
}

/* "27 Nov" from an RFC 3339 time: the year is in the panel's title. */
static void trend_day(char *out, size_t len, const char *t)
{
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	int mon = 0, day = 0;

	if (t && strlen(t) >= 10 && t[4] == '-' && t[7] == '-') {
		mon = (t[5] - '0') * 10 + (t[6] - '0');
		day = (t[8] - '0') * 10 + (t[9] - '0');
	}
	if (mon >= 1 && mon <= 12 && day >= 1 && day <= 31)
		snprintf(out, len, "%d %s", day, months[mon - 1]);
	else
		snprintf(out, len, "?");
}

static void trend_legend(struct strbuf *sb)
{
	strbuf_addf(sb, "<g font-size=\"11\">"
		    "<circle cx=\"%.1f\" cy=\"16\" r=\"3.5\" fill=\"" C_PASS "\"/><text x=\"%.1f\" y=\"20\">passed</text>"
		    "<circle cx=\"%.1f\" cy=\"16\" r=\"3.5\" fill=\"" C_FAIL "\"/><text x=\"%.1f\" y=\"20\">did not pass</text>"
		    "<path d=\"M%.1f 12h10l-5 9z\" fill=\"" C_FAIL "\"/><text x=\"%.1f\" y=\"20\">no RTO (not recovered), at the top</text>"
		    "<line x1=\"%.1f\" y1=\"16\" x2=\"%.1f\" y2=\"16\" stroke=\"" C_FAIL "\" stroke-dasharray=\"6 4\"/><text x=\"%.1f\" y=\"20\">each run's RTO objective</text>"
		    "</g>\n",
		    TML, TML + 8, TML + 60, TML + 68, TML + 150, TML + 165, TML + 385, TML + 415, TML + 421);
}

/* Each run's own objective: a dashed step over the runs that had it, or,
 * for a stretch of runs whose objective is above the chart, its value
 * written at the top. */
static void trend_limits(struct strbuf *sb, const json_t **runs, size_t nr, double top,
			 double pw, double ymax)
{
	double half = nr > 1 ? pw * 0.47 / (double)(nr - 1) : pw / 2;
	size_t i = 0;

	while (i < nr) {
		double limit, other, x0, x1;
		size_t k = i;

		if (!j_num(runs[i], "rto_limit_ms", &limit)) {
			i++;
			continue;
		}
		while (k + 1 < nr && j_num(runs[k + 1], "rto_limit_ms", &other) && other == limit)
			k++;
		x0 = trend_x(i, nr, pw) - half;
		x1 = trend_x(k, nr, pw) + half;
		x0 = x0 < TML ? TML : x0;
		x1 = x1 > TML + pw ? TML + pw : x1;
		if (limit / 1000.0 <= ymax) {
			double y = top + TPH * (1 - limit / 1000.0 / ymax);

			strbuf_addf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"" C_FAIL
				    "\" stroke-dasharray=\"6 4\"><title>objective %.2f s</title></line>\n",
				    x0, y, x1, y, limit / 1000.0);
		} else {
			strbuf_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\" fill=\""
				    C_FAIL "\">objective %.2f s above</text>\n", (x0 + x1) / 2, top + 24, limit / 1000.0);
		}
		i = k + 1;
	}
}

static void trend_panel(struct strbuf *sb, const json_t *index, const json_t *key, double top)
{
	const json_t *runs[TREND_RUNS];
	size_t nr = 0, n = json_array_size(index);
	double ymax = 0, ytop_rto = 0, v, pw = TW - TML - TMR, last_label = -1e9, limit = NAN;
	struct strbuf line = STRBUF_INIT;
	int segments = 0, gap = 1;
	char a[16] = "", b[16] = "", prev_day[16] = "";

	for (size_t i = n; i-- > 0 && nr < TREND_RUNS;) {
		const json_t *e = json_array_get(index, i);

		if (same_drill(e, key))
			runs[nr++] = e;
	}
	/* runs[] is newest first; the chart reads left to right. */
	for (size_t i = 0; i < nr / 2; i++) {
		const json_t *t = runs[i];

		runs[i] = runs[nr - 1 - i];
		runs[nr - 1 - i] = t;
	}
	for (size_t i = 0; i < nr; i++)
		if (j_num(runs[i], "rto_ms", &v) && v / 1000.0 > ytop_rto)
			ytop_rto = v / 1000.0;
	ymax = ytop_rto;
	/* An objective far above every RTO would squash the points onto the
	 * axis: it is then written at the top instead of drawn. */
	for (size_t i = 0; i < nr; i++)
		if (j_num(runs[i], "rto_limit_ms", &v) && v / 1000.0 > ymax &&
		    (ytop_rto <= 0 || v / 1000.0 <= 3.0 * ytop_rto))
			ymax = v / 1000.0;
	ymax = ymax > 0 ? ymax * 1.15 : 1.0;
	str_copy(a, 11, j_str_or(runs[0], "started_at", ""));
	str_copy(b, 11, j_str_or(runs[nr - 1], "started_at", ""));
	strbuf_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\">", TML, top - 10);
	xml_escape(sb, j_str_or(key, "drill", "?"));
	strbuf_adds(sb, " on ");
	xml_escape(sb, j_str_or(key, "target_kind", "?"));
	strbuf_addf(sb, ": RTO (s) of the last %zu run%s, ", nr, nr == 1 ? "" : "s");
	xml_escape(sb, a);
	if (strcmp(a, b) != 0) {
		strbuf_adds(sb, " to ");
		xml_escape(sb, b);
	}
	strbuf_adds(sb, "</text>\n");
	strbuf_addf(sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#555555\"/>\n",
		    TML, top, pw, TPH);
	for (int k = 0; k <= 4; k++) {
		double yv = ymax * k / 4.0, y = top + TPH * (1 - k / 4.0);

		strbuf_addf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eeeeee\"/>"
			    "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
			    TML, y, TML + pw, y, TML - 6, y + 4, yv);
	}
	trend_limits(sb, runs, nr, top, pw, ymax);
	/* The newest objective named at the right, where the eye ends. */
	if (j_num(runs[nr - 1], "rto_limit_ms", &v))
		limit = v / 1000.0;
	if (isfinite(limit))
		strbuf_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" fill=\"" C_FAIL "\">objective %.2f s</text>\n",
			    TML + pw + 6, limit <= ymax ? top + TPH * (1 - limit / ymax) + 4 : top + 10, limit);
	/* The line joins runs that have an RTO; a run without one breaks it. */
	for (size_t i = 0; i < nr; i++) {
		if (j_num(runs[i], "rto_ms", &v)) {
			strbuf_addf(&line, "%s%.1f %.1f", gap ? (line.len ? " M" : "M") : " L",
				    trend_x(i, nr, pw), top + TPH * (1 - (v / 1000.0) / ymax));
			segments += !gap;
			gap = 0;
		} else {
			gap = 1;
		}
	}
	if (segments)
		strbuf_addf(sb, "<path d=\"%s\" stroke=\"" C_PASS "\" fill=\"none\" stroke-width=\"1.5\"/>\n", line.buf);
	for (size_t i = 0; i < nr; i++) {
		double x = trend_x(i, nr, pw);
		const char *st = j_str_or(runs[i], "status", "error");
		int passed = strcmp(st, "passed") == 0;

		if (j_num(runs[i], "rto_ms", &v)) {
			strbuf_addf(sb, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>", x,
				    top + TPH * (1 - (v / 1000.0) / ymax), passed ? C_PASS : C_FAIL);
			xml_escape(sb, j_str_or(runs[i], "started_at", ""));
			strbuf_addf(sb, " %s rto=%.2fs</title></circle>\n", st, v / 1000.0);
		} else {
			strbuf_addf(sb, "<path d=\"M%.1f %.1fh10l-5 9z\" fill=\"%s\"><title>", x - 5, top,
				    passed ? C_NONE : C_FAIL);
			xml_escape(sb, j_str_or(runs[i], "started_at", ""));
			strbuf_addf(sb, " %s, no RTO</title></path>\n", st);
		}
	}
	/* A date under each run, as many as fit without overlapping (always
	 * the newest), each day once. */
	for (size_t i = 0; i < nr; i++) {
		double x = trend_x(i, nr, pw);
		char day[16];

		trend_day(day, sizeof(day), j_str(runs[i], "started_at"));
		if (strcmp(day, prev_day) == 0 || x - last_label < TLABEL_GAP ||
		    (i + 1 < nr && trend_x(nr - 1, nr, pw) - x < TLABEL_GAP))
			continue;
		strbuf_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x,
			    top + TPH + 16, day);
		last_label = x;
		str_copy(prev_day, sizeof(prev_day), day);
	}
	strbuf_release(&line);
}

char *svg_rto_trend(const json_t *index)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = json_array_size(index), nd = 0;
	const json_t **keys = xcalloc(n + 1, sizeof(*keys));
	double height;

	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(index, i);
		size_t k;

		for (k = 0; k < nd && !same_drill(keys[k], e); k++)
			;
		if (k == nd)
			keys[nd++] = e;
	}
	qsort(keys, nd, sizeof(*keys), cmp_drill_kind);
	height = TLEGEND + 20 + (nd ? nd : 1) * (TPH + TMT + TMB);
	strbuf_addf(&sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"11\">\n",
		    TW, height, TW, height);
	strbuf_adds(&sb, "<title>RTO of recent drill runs against each run's objective</title>\n"
		    "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
	trend_legend(&sb);
	if (!nd)
		strbuf_addf(&sb, "<text x=\"20\" y=\"%.0f\">no runs yet</text>\n", TLEGEND + 40);
	for (size_t d = 0; d < nd; d++)
		trend_panel(&sb, index, keys[d], TLEGEND + 20 + d * (TPH + TMT + TMB) + TMT);
	strbuf_adds(&sb, "</svg>\n");
	free(keys);
	return strbuf_detach(&sb);
}
