/* A browser-free check of a mermaid gantt block, written from mermaid's
 * gantt grammar (its lexer reads keywords at the start of a line, case
 * insensitively; a task is "name : [tags,] id, start, end"; '#' starts a
 * comment, ';' ends a statement, "%%" starts a comment or a directive) and
 * from d3's time formats (mermaid formats the axis in the viewer's local
 * time).  It is stricter than mermaid where mermaid would accept a chart
 * that silently differs from what drillrig meant: it fails on
 *
 *   - a task whose name starts with a keyword (title, section, click,
 *     dateFormat, axisFormat, tickInterval, excludes, includes, todayMarker,
 *     weekday, ...), a second title, a click/href/call line;
 *   - '#', ';' or "%%" anywhere, ':' in a task's data or a title or section
 *     (a ':' in a name splits it);
 *   - a task without exactly id, start and end after its tags, a start or
 *     end that is not a valid date in the declared dateFormat (only `x`,
 *     signed integer ms, is supported), an end before its start;
 *   - duplicate task ids;
 *   - an axisFormat directive other than %s, %Q, %L (every other one reads
 *     a local-time calendar field and moves with the viewer's zone), a
 *     tickInterval in minutes or more (d3 aligns those to local time), %s
 *     labels without a whole-second tickInterval (%s floors: repeated or
 *     wrong labels), fewer than 3 ticks between the earliest task start and
 *     the latest task end (mermaid's axis spans the tasks).
 *
 * Every task it returns is one mermaid would draw, so a caller checks that
 * none was lost by looking for each one it expects. */
#ifndef DR_TESTS_GANTT_CHECK_H
#define DR_TESTS_GANTT_CHECK_H

#include <stddef.h>

struct gantt_task {
	char *section;   /* NULL before the first section */
	char *name;      /* trimmed */
	char *id;
	long long start, end;
	int milestone;
};

struct gantt_chart {
	char *title, *date_format, *axis_format, *tick_interval;
	struct gantt_task *tasks;
	size_t ntasks;
};

/* Checks the first ```mermaid block of `markdown` that is a gantt chart.
 * 0: *out holds the chart (gantt_chart_release it).  -1: `why` says which
 * rule failed and on which line of the block; *out is left empty. */
int gantt_check(struct gantt_chart *out, const char *markdown, char *why, size_t whylen);
void gantt_chart_release(struct gantt_chart *c);

#endif
