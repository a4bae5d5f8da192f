/* Private to reports/: the results repository's index and git plumbing. */
#ifndef DR_REPORTS_RESULTS_PRIVATE_H
#define DR_REPORTS_RESULTS_PRIVATE_H

#include <jansson.h>

#include "common/error.h"
#include "common/strbuf.h"
#include "reports/reports.h"

#define RESULTS_ROOT "dr-drill-results"
#define RESULTS_INDEX "index.ndjson"
#define RESULTS_README "README.md"
#define RESULTS_TREND "rto-trend.svg"

/* "YYYY/MM/YYYYMMDDTHHMMSSZ-<drill>" (relative to dr-drill-results/). */
int results_run_dir_name(char *out, size_t len, const json_t *journal, struct dr_error *err);
/* index.ndjson text <-> array of entries (damaged lines are dropped). */
json_t *results_index_parse(const char *text);
char *results_index_dump(const json_t *index);
void results_index_sort(json_t *index);
int results_index_has(const json_t *index, const char *dir);
/* "0", "1 write (0.84 s)", "n/a". */
void results_fmt_rpo(struct strbuf *sb, const json_t *entry);

/* The journal's `earlier_runs` (new reference): the earlier runs of the
 * same drill on the same target kind in `index` (those that started before
 * this one), {"runs": n, "previous": run | null, "last_passed": run with
 * "runs_ago" | null}; a run is {"dir", "started_at", "status", "rto_ms",
 * "rto_limit_ms", "rpo_lost_writes", "report"}, "report" being the link to
 * its report.md relative to this run's folder. */
json_t *results_earlier_runs(const json_t *journal, const json_t *index);

/* The regression verdict from an index already loaded. */
void results_regression_compute(struct results_regression *out, const json_t *journal,
				const json_t *index, const struct results_opts *opts);

#endif
