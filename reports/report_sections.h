/* Private: report sections shared by report.md and the short summary. */
#ifndef DR_REPORTS_REPORT_SECTIONS_H
#define DR_REPORTS_REPORT_SECTIONS_H

#include <jansson.h>

#include "common/strbuf.h"

/* "# region-failover: FAILED (2026-11-28 03:00:05 UTC)" and, when the run
 * did not pass, the one-sentence reason right below it. */
void report_title(struct strbuf *sb, const json_t *j);
/* What a reviewer asks first: verdict, RTO and RPO against their limits
 * and, when the journal has `earlier_runs` (the results repository's
 * history), the previous run of this drill with the change since it and
 * when it last passed, as links to their reports when `links`. */
void report_headline(struct strbuf *sb, const json_t *j, int links);
/* The objectives table with units, then the messages of failed ones. */
void report_objectives(struct strbuf *sb, const json_t *j);
/* One paragraph on journal.regression (nothing when null). */
void report_regression(struct strbuf *sb, const json_t *j);
/* The mermaid gantt of the run (report_timeline.c). */
void report_timeline(struct strbuf *sb, const json_t *j);
/* qsort comparator over const char * elements. */
int report_strcmp_ptr(const void *a, const void *b);

#endif
