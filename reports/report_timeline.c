/* The timeline of report.md: a mermaid gantt chart, written so that what
 * a reviewer's browser shows depends on the journal alone.
 *
 * Time: every date is whole milliseconds relative to the first fault (the
 * drill's start when no fault ran), given with `dateFormat x`, so mermaid
 * reads it as that many ms after the Unix epoch.  Mermaid formats the axis
 * with d3's local-time timeFormat, so every directive that reads a calendar
 * field (%H, %M, %S, ...) moves with the viewer's time zone (%M read
 * "30:01" in UTC+5:30).  The labels use only %s and %Q, which d3 computes
 * from the instant itself (floor(ms / 1000) and ms), and the ticks come from
 * an explicit `tickInterval` in milliseconds, which d3 places at multiples
 * of that many ms since the epoch: positions and labels are the same in
 * every zone, negative times (before the fault) included.
 *
 * Names: a step name is free text and mermaid's gantt lexer reads keywords
 * (title, section, click, ...) at the start of a line, ends a task name at
 * ':', starts a comment at '#', ends a statement at ';' and finds %%{...}%%
 * directives anywhere.  Each task's name starts with its step number, so no
 * name can start with a keyword, and the characters with a meaning are
 * replaced by look-alikes that have none. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "reports/render.h"
#include "reports/report_sections.h"

/* Look-alikes for characters the gantt grammar (or the markdown and HTML
 * around it) gives a meaning; the reader still sees the step's name. */
static const struct {
	char c;
	const char *utf8;
} lookalike[] = {
	{ ':', "\xea\x9e\x89" }, /* U+A789 modifier letter colon */
	{ '#', "\xef\xbc\x83" }, /* U+FF03 fullwidth number sign */
	{ ';', "\xef\xbc\x9b" }, /* U+FF1B fullwidth semicolon */
	{ '%', "\xef\xbc\x85" }, /* U+FF05 fullwidth percent: no %% comment or directive */
	{ '<', "\xe2\x80\xb9" }, /* U+2039: no HTML tag */
	{ '>', "\xe2\x80\xba" }, /* U+203A */
	{ '&', "\xef\xbc\x86" }, /* U+FF06: no entity */
	{ '"', "\xe2\x80\x9d" }, /* U+201D */
	{ '`', "\xcb\x8b" },     /* U+02CB: no code fence */
};

static void gantt_text(struct strbuf *sb, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : "?"); *p; p++) {
		size_t k;

		/* Line and paragraph separators end a line for JavaScript too. */
		if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			strbuf_addch(sb, ' ');
			p += 2;
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			strbuf_addch(sb, ' ');
			continue;
		}
		for (k = 0; k < sizeof(lookalike) / sizeof(lookalike[0]); k++)
			if (lookalike[k].c == (char)*p)
				break;
		if (k < sizeof(lookalike) / sizeof(lookalike[0]))
			strbuf_adds(sb, lookalike[k].utf8);
		else
			strbuf_addch(sb, (char)*p);
	}
}

struct chart {
	struct strbuf *sb;
	double origin;   /* journal ms of the chart's zero */
	long lo, hi;     /* chart ms covered so far, for the tick interval */
	size_t marks;    /* milestones written (their ids) */
};

static long at(struct chart *c, double journal_ms)
{
	long v = lround(journal_ms - c->origin);

	if (v < c->lo)
		c->lo = v;
	if (v > c->hi)
		c->hi = v;
	return v;
}

/* "+1.421 s" / "-0.010 s": the exact moment a mark stands for. */
static void offset_s(struct strbuf *sb, long ms)
{
	long a = ms < 0 ? -ms : ms;

	strbuf_addf(sb, "%c%ld.%03ld s", ms < 0 ? '-' : '+', a / 1000, a % 1000);
}

static void milestone(struct chart *c, const char *what, double journal_ms)
{
	long t = at(c, journal_ms);

	strbuf_addf(c->sb, "    %s at ", what);
	offset_s(c->sb, t);
	strbuf_addf(c->sb, " :milestone, m%zu, %ld, %ld\n", ++c->marks, t, t);
}

/* [start, end] as a bar; a zero-length bar would not show, so it gets 1 ms. */
static void bar_times(struct chart *c, double start, double end)
{
	long a = at(c, start), b = at(c, end);

	if (b <= a)
		b = a + 1;
	c->hi = b > c->hi ? b : c->hi;
	strbuf_addf(c->sb, "%ld, %ld\n", a, b);
}

static void outages(struct chart *c, const json_t *j)
{
	/* Every window without successful writes (measurements.outages), or
	 * the one outage when the journal predates that list. */
	const json_t *list = j_arr(j_obj(j, "measurements"), "outages"), *o;
	const json_t *outage = j_obj(j, "outage");
	size_t n = json_array_size(list), k;
	double start, end, dur = 0;

	j_num(j, "duration_ms", &dur);
	if (n > 0 || (outage && j_num(outage, "start_ms", &start)))
		strbuf_adds(c->sb, "    section Outage\n");
	for (k = 0; k < (n ? n : 1); k++) {
		int open;

		o = n ? json_array_get(list, k) : outage;
		if (!o || !j_num(o, "start_ms", &start))
			continue;
		open = !j_num(o, "end_ms", &end);
		if (open)
			end = dur > start ? dur : start + 1;
		strbuf_adds(c->sb, "    ");
		/* A span that never recovered ends at the last attempt, and says
		 * so (a journal before the outages list: no end). */
		if (open || json_is_false(json_object_get(o, "recovered"))) {
			strbuf_adds(c->sb, "outage (not recovered)");
		} else {
			strbuf_adds(c->sb, "outage ");
			fmt_ms(c->sb, end - start);
		}
		strbuf_addf(c->sb, " :crit, outage%zu, ", k + 1);
		bar_times(c, start, end);
	}
}

static void steps(struct chart *c, const json_t *j)
{
	static const char *const phases[] = { "steps", "undo", "rollback" };
	const json_t *list = j_arr(j, "steps"), *s;
	size_t i;

	for (size_t ph = 0; ph < 3; ph++) {
		int header = 0;

		json_array_foreach(list, i, s) {
			const char *res = j_str_or(s, "result", "");
			double start, dur = 0;

			if (strcmp(j_str_or(s, "phase", "steps"), phases[ph]) != 0 ||
			    !j_num(s, "start_ms", &start))
				continue;
			if (!header) {
				strbuf_addf(c->sb, "    section %s\n", phases[ph]);
				header = 1;
			}
			j_num(s, "duration_ms", &dur);
			/* The number (as in the Steps table) first: a name can then
			 * never be read as a keyword. */
			strbuf_addf(c->sb, "    %zu. ", i + 1);
			gantt_text(c->sb, j_str(s, "name"));
			strbuf_addf(c->sb, " :%s%ss%zu, ", strcmp(res, "ok") != 0 ? "crit, " : "done, ",
				    json_is_true(json_object_get(s, "fault")) ? "active, " : "", i + 1);
			bar_times(c, start, start + dur);
		}
	}
}

/* The workload's first attempt (the earliest send of the attempts and of
 * the logical writes: an ok write of one attempt is only in write_series)
 * and the baseline period, when the journal has them. */
static void workload(struct chart *c, const json_t *j)
{
	const json_t *lists[] = { j_arr(j_obj(j, "workload"), "series"),
				  j_arr(j_obj(j, "measurements"), "write_series") };
	const json_t *base = j_obj(j, "baseline"), *pt;
	double first = INFINITY, start, end;
	size_t i;

	for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
		json_array_foreach(lists[k], i, pt) {
			double t = json_number_value(json_array_get(pt, 0));
			double l = json_number_value(json_array_get(pt, 1));

			if (json_is_number(json_array_get(pt, 0)) && t - l < first)
				first = t - l;
		}
	}
	if (!isfinite(first) && !(base && j_num(base, "start_ms", &start)))
		return;
	strbuf_adds(c->sb, "    section Workload\n");
	if (base && j_num(base, "start_ms", &start) && j_num(base, "end_ms", &end)) {
		strbuf_adds(c->sb, "    baseline ");
		fmt_ms(c->sb, end - start);
		strbuf_adds(c->sb, " :done, baseline, ");
		bar_times(c, start, end);
	}
	if (isfinite(first))
		milestone(c, "workload starts", first < 0 ? 0 : first);
}

static void moments(struct chart *c, const json_t *j)
{
	const json_t *list = j_arr(j, "steps"), *s;
	size_t i, faults = 0;
	double v;

	strbuf_adds(c->sb, "    section Moments\n");
	json_array_foreach(list, i, s) {
		struct strbuf what = STRBUF_INIT;
		double start;

		if (!json_is_true(json_object_get(s, "fault")) || !j_num(s, "start_ms", &start))
			continue;
		/* The first fault is the chart's zero; fault_start_ms is its
		 * moment when the journal has it. */
		if (++faults == 1)
			j_num(j, "fault_start_ms", &start);
		strbuf_addf(&what, "fault %zu (step %zu)", faults, i + 1);
		milestone(c, what.buf, start);
		strbuf_release(&what);
	}
	if (j_num(j_obj(j, "outage"), "end_ms", &v))
		milestone(c, "recovered", v);
	if (j_num(j, "restore_start_ms", &v))
		milestone(c, "restore starts", v);
}

/* A tick every 10 ms .. 1 h, the smallest giving at most 12 ticks; whole
 * seconds (labelled in seconds) once the chart spans 4 s, so there are at
 * least 4 of them (from 2 s, 1 s ticks left a 2.5 s chart two labels). */
static long tick_ms(long span)
{
	static const long steps_ms[] = { 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 15000,
					 30000, 60000, 120000, 300000, 600000, 1800000, 3600000 };
	size_t n = sizeof(steps_ms) / sizeof(steps_ms[0]);

	for (size_t k = 0; k < n; k++)
		if (span / steps_ms[k] <= 11 && (steps_ms[k] >= 1000 || span < 4000))
			return steps_ms[k];
	return steps_ms[n - 1];
}

void report_timeline(struct strbuf *sb, const json_t *j)
{
	struct strbuf body = STRBUF_INIT;
	/* lo and hi follow what is drawn: mermaid's axis spans the tasks, not
	 * 0 (a drill without a fault whose steps began at +2 s got 1 s ticks
	 * for a 2 s axis: one label). */
	struct chart c = { &body, 0, LONG_MAX, LONG_MIN, 0 };
	int has_fault = j_num(j, "fault_start_ms", &c.origin);
	double restore;
	long tick;

	if (!has_fault)
		c.origin = 0;
	outages(&c, j);
	steps(&c, j);
	workload(&c, j);
	if (has_fault || j_num(j, "restore_start_ms", &restore))
		moments(&c, j);
	if (!body.len) {
		/* A drill refused before its first step has no task to draw (and
		 * a gantt without tasks draws an empty frame). */
		strbuf_adds(sb, "## Timeline\n\nNo step ran: there is nothing to draw.\n\n");
		strbuf_release(&body);
		return;
	}
	tick = tick_ms(c.hi - c.lo);

	strbuf_adds(sb, "## Timeline\n\n```mermaid\ngantt\n    title ");
	gantt_text(sb, j_str(j_obj(j, "drill"), "name"));
	strbuf_adds(sb, has_fault ? " (time since the first fault)\n" : " (time since the drill started)\n");
	/* Whole-second ticks read best in seconds; a sub-second tick needs ms
	 * (%s floors, so "-1 s" would label -500 ms). */
	strbuf_addf(sb, "    dateFormat x\n    axisFormat %s\n    tickInterval %ldmillisecond\n"
		    "    todayMarker off\n", tick % 1000 == 0 ? "%s s" : "%Q ms", tick);
	strbuf_adds(sb, strbuf_str(&body));
	strbuf_adds(sb, "```\n\n");
	strbuf_release(&body);
}
