/* The rules are in gantt_check.h. */
#include "tests/support/gantt_check.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/numparse.h"
#include "common/strbuf.h"

struct parse {
	struct gantt_chart *c;
	char *section;
	size_t line;
	char *why;
	size_t whylen;
};

static int fail(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->why, p->whylen, "line %zu of the gantt block: ", p->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->whylen)
		vsnprintf(p->why + n, p->whylen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Case-insensitive prefix, as the lexer's rules are. */
static int starts(const char *s, const char *kw)
{
	return strncasecmp(s, kw, strlen(kw)) == 0;
}

/* The keyword followed by whitespace (the lexer's "kw\s" rules). */
static int starts_ws(const char *s, const char *kw)
{
	return starts(s, kw) && (s[strlen(kw)] == ' ' || s[strlen(kw)] == '\t');
}

static char *trim_dup(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

/* Words no task name may start with: mermaid's gantt statements (and the
 * words of its click statements).  The lexer needs whitespace after most
 * of them; a name equal to one is refused all the same. */
static const char *const keywords[] = {
	"gantt", "title", "section", "dateFormat", "axisFormat", "tickInterval", "click",
	"href", "call", "excludes", "includes", "todayMarker", "weekday", "weekend",
	"inclusiveEndDates", "topAxis", "accTitle", "accDescr", "accDescription", "displayMode",
};

static const char *leading_keyword(const char *name)
{
	size_t w = 0;

	while (isalpha((unsigned char)name[w]))
		w++;
	for (size_t k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++) {
		size_t n = strlen(keywords[k]);

		/* "gantt", "topAxis", "inclusiveEndDates", "accTitle" and
		 * "accDescr" match as bare prefixes in the lexer. */
		if ((w == n && strncasecmp(name, keywords[k], n) == 0) ||
		    (starts(name, keywords[k]) &&
		     (!strcasecmp(keywords[k], "gantt") || !strcasecmp(keywords[k], "topAxis") ||
		      !strcasecmp(keywords[k], "inclusiveEndDates") || !strcasecmp(keywords[k], "accTitle") ||
		      !strcasecmp(keywords[k], "accDescr"))))
			return keywords[k];
	}
	return NULL;
}

static int is_date_prefix(const char *s)
{
	for (int i = 0; i < 10; i++) {
		int digit = i != 4 && i != 7;

		if (digit ? !isdigit((unsigned char)s[i]) : s[i] != '-')
			return 0;
	}
	return 1;
}

static int check_axis_format(struct parse *p, const char *fmt)
{
	int seconds = 0;

	for (const char *q = fmt; *q; q++) {
		if (*q != '%')
			continue;
		q++;
		if (*q == '-' || *q == '_' || *q == '0')
			q++;
		if (*q == 's')
			seconds = 1;
		else if (*q != 'L' && *q != 'Q' && *q != '%')
			return fail(p, "axisFormat '%s' uses %%%c, which d3 formats in the viewer's local "
				    "time (only %%s, %%Q and %%L do not depend on the time zone)", fmt, *q ? *q : '?');
	}
	return seconds ? 1 : 0;
}

/* 0, or -1 when the interval is not one mermaid knows or follows local time. */
static int tick_interval_ms(struct parse *p, const char *ti, long long *ms)
{
	char unit[16];
	size_t d = 0;
	int64_t n;
	char digits[24];

	while (isdigit((unsigned char)ti[d]) && d < sizeof(digits) - 1)
		d++;
	memcpy(digits, ti, d);
	digits[d] = '\0';
	if (d == 0 || ti[0] == '0' || parse_int64(&n, digits, 1, INT64_C(1) << 40) != 0 ||
	    strlen(ti + d) >= sizeof(unit))
		return fail(p, "tickInterval '%s' is not <number><unit>", ti);
	memcpy(unit, ti + d, strlen(ti + d) + 1);
	if (!strcmp(unit, "millisecond"))
		*ms = n;
	else if (!strcmp(unit, "second"))
		*ms = n * 1000;
	else if (!strcmp(unit, "minute") || !strcmp(unit, "hour") || !strcmp(unit, "day") ||
		 !strcmp(unit, "week") || !strcmp(unit, "month"))
		return fail(p, "tickInterval '%s': d3 places %s ticks in the viewer's local time", ti, unit);
	else
		return fail(p, "tickInterval '%s' has no unit mermaid knows", ti);
	return 0;
}

static int parse_time(struct parse *p, const char *s, const char *what, long long *out)
{
	int64_t v;

	if (strcmp(p->c->date_format, "x") != 0)
		return fail(p, "dateFormat '%s' is not supported by this check (only x)", p->c->date_format);
	if (parse_int64(&v, s[0] == '+' ? s + 1 : s, -(INT64_C(1) << 50), INT64_C(1) << 50) != 0)
		return fail(p, "the task's %s '%s' is not a date in dateFormat x (signed integer ms)", what, s);
	*out = v;
	return 0;
}

static int add_task(struct parse *p, const char *line, const char *colon)
{
	static const char *const tags[] = { "active", "done", "crit", "milestone", "vert" };
	struct gantt_task t = { 0 };
	char *fields[16], *data = NULL, *name = trim_dup(line, (size_t)(colon - line)), *q;
	size_t nf = 0, first = 0;
	const char *kw;
	int rc = -1;

	if (!*name) {
		fail(p, "a task without a name");
		goto out;
	}
	if ((kw = leading_keyword(name)) != NULL) {
		fail(p, "the task name '%s' starts with the keyword '%s'", name, kw);
		goto out;
	}
	if (strchr(colon + 1, ':')) {
		fail(p, "':' in the data of task '%s' (an unescaped ':' in a name splits it)", name);
		goto out;
	}
	if (!p->c->date_format) {
		fail(p, "task '%s' comes before any dateFormat", name);
		goto out;
	}
	data = xstrdup(colon + 1);
	for (q = data; nf < sizeof(fields) / sizeof(fields[0]);) {
		char *comma = strchr(q, ',');

		if (comma)
			*comma = '\0';
		fields[nf++] = q;
		if (!comma)
			break;
		q = comma + 1;
	}
	for (size_t i = 0; i < nf; i++) {
		char *f = trim_dup(fields[i], strlen(fields[i]));

		memcpy(fields[i], f, strlen(f) + 1);
		free(f);
	}
	/* Tags come first, in any order. */
	for (; first < nf; first++) {
		size_t k;

		for (k = 0; k < sizeof(tags) / sizeof(tags[0]); k++)
			if (!strcmp(fields[first], tags[k]))
				break;
		if (k == sizeof(tags) / sizeof(tags[0]))
			break;
		if (!strcmp(fields[first], "milestone"))
			t.milestone = 1;
	}
	if (nf - first != 3) {
		fail(p, "task '%s' has %zu fields after its tags, not id, start and end", name, nf - first);
		goto out;
	}
	for (const char *c = fields[first]; *c; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-') {
			fail(p, "task '%s' has the id '%s' (letters, digits, '_' and '-' only)", name,
			     fields[first]);
			goto out;
		}
	if (!fields[first][0]) {
		fail(p, "task '%s' has an empty id", name);
		goto out;
	}
	for (size_t i = 0; i < p->c->ntasks; i++)
		if (!strcmp(p->c->tasks[i].id, fields[first])) {
			fail(p, "task '%s' repeats the id '%s' of task '%s'", name, fields[first],
			     p->c->tasks[i].name);
			goto out;
		}
	if (parse_time(p, fields[first + 1], "start", &t.start) != 0 ||
	    parse_time(p, fields[first + 2], "end", &t.end) != 0)
		goto out;
	if (t.end < t.start) {
		fail(p, "task '%s' ends (%lld) before it starts (%lld)", name, t.end, t.start);
		goto out;
	}
	t.name = name;
	name = NULL;
	t.id = xstrdup(fields[first]);
	t.section = p->section ? xstrdup(p->section) : NULL;
	p->c->tasks = xrealloc(p->c->tasks, (p->c->ntasks + 1) * sizeof(*p->c->tasks));
	p->c->tasks[p->c->ntasks++] = t;
	rc = 0;
out:
	free(name);
	free(data);
	return rc;
}

static int set_once(struct parse *p, char **slot, const char *what, const char *value)
{
	if (*slot)
		return fail(p, "a second %s ('%s' after '%s'): a task line read as a statement?", what,
			    value, *slot);
	*slot = xstrdup(value);
	return 0;
}

static int statement(struct parse *p, const char *s)
{
	static const char *const ignored[] = { "excludes", "includes", "todayMarker", "weekday",
					       "weekend", "accDescription", "displayMode" };
	const char *colon;

	if (starts_ws(s, "click") || starts_ws(s, "href") || starts_ws(s, "call"))
		return fail(p, "'%s': drillrig writes no click statement (a task named after one?)", s);
	if (starts(s, "gantt"))
		return fail(p, "'gantt' again (a task name starting with it?)");
	if (starts(s, "accTitle") || starts(s, "accDescr") || starts(s, "inclusiveEndDates") ||
	    starts(s, "topAxis"))
		return fail(p, "'%s': drillrig writes no such statement (a task named after one?)", s);
	if (is_date_prefix(s))
		return fail(p, "a line starting with a date is a date token, not a task: '%s'", s);
	if (starts_ws(s, "title")) {
		if (strchr(s, ':'))
			return fail(p, "the title '%s' holds ':' (a task line read as the title?)", s + 6);
		return set_once(p, &p->c->title, "title", s + 6);
	}
	if (starts_ws(s, "section")) {
		if (strchr(s, ':'))
			return fail(p, "the section '%s' holds ':' (a task line read as a section?)", s + 8);
		free(p->section);
		p->section = xstrdup(s + 8);
		return 0;
	}
	if (starts_ws(s, "dateFormat"))
		return set_once(p, &p->c->date_format, "dateFormat", s + 11);
	if (starts_ws(s, "axisFormat")) {
		if (set_once(p, &p->c->axis_format, "axisFormat", s + 11) != 0)
			return -1;
		return check_axis_format(p, s + 11) < 0 ? -1 : 0;
	}
	if (starts_ws(s, "tickInterval")) {
		long long ms;

		if (set_once(p, &p->c->tick_interval, "tickInterval", s + 13) != 0)
			return -1;
		return tick_interval_ms(p, s + 13, &ms);
	}
	for (size_t k = 0; k < sizeof(ignored) / sizeof(ignored[0]); k++)
		if (starts_ws(s, ignored[k]))
			return 0;
	colon = strchr(s, ':');
	if (!colon)
		return fail(p, "'%s' is neither a statement nor a task (no ':')", s);
	return add_task(p, s, colon);
}

/* mermaid's axis spans the tasks (the earliest start to the latest end)
 * and d3 puts a tick at every multiple of tickInterval in it: fewer than
 * 3 is an axis nobody can read a time off (a 2 s chart once had one
 * label, "3 s"). */
static int check_ticks(struct parse *p)
{
	long long ms = 0, lo = LLONG_MAX, hi = LLONG_MIN, first, last;

	if (!p->c->tick_interval)
		return 0;
	if (tick_interval_ms(p, p->c->tick_interval, &ms) != 0)
		return -1;
	for (size_t i = 0; i < p->c->ntasks; i++) {
		lo = p->c->tasks[i].start < lo ? p->c->tasks[i].start : lo;
		hi = p->c->tasks[i].end > hi ? p->c->tasks[i].end : hi;
	}
	/* The multiples of ms in [lo, hi], rounding toward them. */
	first = lo >= 0 ? (lo + ms - 1) / ms : -((-lo) / ms);
	last = hi >= 0 ? hi / ms : -((-hi + ms - 1) / ms);
	if (last - first + 1 < 3)
		return fail(p, "the axis from %lld to %lld ms has %lld tick(s) of %lld ms: fewer "
			    "than 3 labels", lo, hi, last - first + 1 > 0 ? last - first + 1 : 0, ms);
	return 0;
}

/* The axis as a whole: %s labels need whole-second ticks. */
static int check_axis(struct parse *p)
{
	long long ms = 0;
	int seconds;

	if (!p->c->date_format)
		return fail(p, "no dateFormat");
	if (!p->c->axis_format)
		return fail(p, "no axisFormat (mermaid's default, %%Y-%%m-%%d, is a local date)");
	seconds = check_axis_format(p, p->c->axis_format);
	if (seconds < 0)
		return -1;
	if (seconds && !strstr(p->c->axis_format, "%L")) {
		if (!p->c->tick_interval)
			return fail(p, "axisFormat %%s without a tickInterval: d3 may pick sub-second "
				    "ticks, which %%s labels with the same (or, before 0, a wrong) second");
		if (tick_interval_ms(p, p->c->tick_interval, &ms) != 0)
			return -1;
		if (ms % 1000 != 0)
			return fail(p, "axisFormat %%s with a tickInterval of %lld ms: %%s floors, so "
				    "sub-second ticks repeat labels (or lie before 0)", ms);
	}
	if (p->c->ntasks == 0)
		return fail(p, "no task");
	return check_ticks(p);
}

int gantt_check(struct gantt_chart *out, const char *markdown, char *why, size_t whylen)
{
	struct parse p = { out, NULL, 0, why, whylen };
	const char *s = markdown, *end;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/* The first mermaid block whose first line is "gantt". */
	for (;;) {
		s = strstr(s, "```mermaid\n");
		if (!s) {
			snprintf(why, whylen, "no ```mermaid block with a gantt chart");
			return -1;
		}
		s += strlen("```mermaid\n");
		if (!strncmp(s, "gantt\n", 6))
			break;
	}
	s += 6;
	p.line = 1;
	end = strstr(s, "\n```");
	if (!end) {
		snprintf(why, whylen, "the gantt block never ends");
		return -1;
	}
	while (s <= end) {
		const char *nl = memchr(s, '\n', (size_t)(end + 1 - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end + 1 - s);
		char *line = trim_dup(s, n);
		int bad = 0;

		p.line++;
		if (strchr(line, '#'))
			bad = fail(&p, "'#' starts a comment: the rest of '%s' is lost", line);
		else if (strchr(line, ';'))
			bad = fail(&p, "';' ends the statement inside '%s'", line);
		else if (strstr(line, "%%"))
			bad = fail(&p, "'%%%%' (a comment or a directive) in '%s'", line);
		else if (*line)
			bad = statement(&p, line);
		free(line);
		if (bad)
			goto out;
		s += n + 1;
	}
	rc = check_axis(&p);
out:
	free(p.section);
	if (rc != 0)
		gantt_chart_release(out);
	return rc;
}

void gantt_chart_release(struct gantt_chart *c)
{
	for (size_t i = 0; i < c->ntasks; i++) {
		free(c->tasks[i].section);
		free(c->tasks[i].name);
		free(c->tasks[i].id);
	}
	free(c->tasks);
	free(c->title);
	free(c->date_format);
	free(c->axis_format);
	free(c->tick_interval);
	memset(c, 0, sizeof(*c));
}
