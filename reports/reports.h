/* reports/: everything a drill leaves as evidence, rendered from the drill's
 * journal alone (docs/journal.md, a jansson tree), plus the drill-results
 * git repository (libgit2).  reports/ knows nothing of targets or the CLI.
 *
 * The runner's sequence at the end of a drill (docs/reports.md):
 *
 *   struct results_opts ro = RESULTS_OPTS_INIT;      // fill from the CLI
 *   struct results_regression reg;
 *   if (results_regression(&reg, journal, &ro, &err) == 0)   // before rendering
 *       json_object_set_new(journal, "regression", results_regression_json(&reg));
 *   // a failure here is reported and the run goes on without a verdict
 *   struct results_outcome out;
 *   results_publish(&out, journal, history_path, &ro, &err);  // renders + commits
 *   // out.report_path is the last line `run` prints; exit code from
 *   // journal status, out.push_failed (3) and reg.regressed (1 when gated)
 *
 * Secrets: every artefact is rendered from a redacted copy of the journal
 * (reports/redact.h) and the final text is redacted once more, so values of
 * token-like environment variables, URL credentials, Authorization headers
 * and registered secrets (redact_add_secret) never reach a file, a commit
 * message or an error message.
 */
#ifndef DR_REPORTS_REPORTS_H
#define DR_REPORTS_REPORTS_H

#include <limits.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

/* ---- artefacts of one run ------------------------------------------- */

/* File names inside a run directory. */
#define REPORT_FILE_JOURNAL "journal.json"
#define REPORT_FILE_MARKDOWN "report.md"
#define REPORT_FILE_JUNIT "junit.xml"
#define REPORT_FILE_CHART "latency.svg"
#define REPORT_FILE_HISTORY "history.ndjson"

/* Write journal.json, report.md, junit.xml and latency.svg into run_dir
 * (created when missing), each atomically.  On failure some of the four may
 * already be in place (each one whole); err names the file. */
int report_write_artifacts(const json_t *journal, const char *run_dir,
			   struct dr_error *err);

/* Renderers: each returns a heap string (free()), never NULL, already
 * redacted.  Output depends on the journal only (no clock, no hostname). */
char *report_render_journal(const json_t *journal);   /* journal.json */
char *report_render_markdown(const json_t *journal);  /* report.md */
char *report_render_junit(const json_t *journal);     /* junit.xml */
char *report_render_latency_svg(const json_t *journal); /* latency.svg */

/* A short markdown summary (verdict, reason, objectives, workload) for
 * $GITHUB_STEP_SUMMARY and `drillrig report show`.  Heap string. */
char *report_summary_markdown(const json_t *journal);

/* ---- the drill-results repository ------------------------------------ */

struct results_opts {
	const char *repo;         /* local path or URL; NULL: ./drill-results */
	const char *branch;       /* NULL: "main" */
	int push;                 /* push to remote "origin" after committing */
	const char *cache_dir;    /* where a URL (or bare repo) is cloned; NULL:
				   * $XDG_CACHE_HOME or ~/.cache /drillrig/results/<name> */
	int commit_history;       /* also commit history.ndjson */
	const char *author;       /* "Name <email>"; NULL: $DRILLRIG_GIT_AUTHOR,
				   * then git config user.name/email, then a default */
	double fail_on_regression_pct; /* < 0: no gate (the verdict is still computed) */
	double regression_floor_ms;    /* an RTO delta at or below this never regresses */
	int regression_runs;      /* baseline = median of this many previous runs */
	int regression_min_runs;  /* fewer comparable runs: no verdict */
	int push_attempts;        /* total attempts on rejection (fetch, rebuild, retry) */
};

#define RESULTS_OPTS_INIT { NULL, NULL, 0, NULL, 0, NULL, -1.0, 250.0, 5, 3, 5 }

struct results_regression {
	int computed;           /* 0: not enough comparable runs (or no RTO) */
	int gated;              /* opts.fail_on_regression_pct >= 0 */
	int runs;               /* comparable previous runs used */
	double rto_ms;          /* this run's RTO (NaN when not measured) */
	double baseline_ms;     /* median RTO of those runs */
	double delta_ms;        /* rto - baseline */
	double delta_pct;       /* 100 * delta / baseline */
	double threshold_pct;   /* opts.fail_on_regression_pct (or -1) */
	double floor_ms;
	int regressed;          /* computed && gated && over pct && over floor */
	int needed;             /* comparable runs a verdict needs (regression_min_runs) */
};

/* Compute the regression verdict for `journal` against the previous
 * comparable runs in the results repository (same drill name, target kind
 * and description, topology timing and runner_class; status passed, RTO
 * measured).  Opens (clones / fetches) the repository like results_publish.
 * A repository with no runs yet gives computed = 0, not an error. */
int results_regression(struct results_regression *out, const json_t *journal,
		       const struct results_opts *opts, struct dr_error *err);
/* The journal's `regression` object (docs/journal.md), new reference;
 * json null when !r->computed. */
json_t *results_regression_json(const struct results_regression *r);

struct results_outcome {
	char repo_dir[PATH_MAX];    /* the local work tree used */
	char run_dir[PATH_MAX];     /* absolute run folder in the work tree */
	char report_path[PATH_MAX]; /* run_dir/report.md */
	char commit_id[41];         /* hex id of the commit made ("" if none) */
	int committed;
	int pushed;
	int push_failed;            /* push asked and not landed: exit 3; the
				     * local commit stays, `report push` retries */
	int push_attempts;          /* attempts made */
	char push_error[DR_ERROR_MAX]; /* why, when push_failed (no secrets) */
	struct results_regression regression; /* the verdict against the history
					       * this commit was built on (same
					       * rules as results_regression) */
	char warning[DR_ERROR_MAX];    /* non-fatal trouble to print ("" if none):
					* the remote could not be fetched (the run
					* was committed on the last known tip), or
					* history.ndjson could not be copied */
};

/* Render the run into dr-drill-results/YYYY/MM/<UTC timestamp>-<drill>/ of
 * the repository's work tree, regenerate dr-drill-results/README.md,
 * index.ndjson and rto-trend.svg, and commit all of it in one commit on
 * opts->branch ("drill: region-failover PASSED rto=1.42s rpo=0").  With
 * opts->push, push; a rejected push is fetched, rebuilt on the new tip and
 * retried (opts->push_attempts in total).  history_path (may be NULL) is
 * copied beside the run as history.ndjson, committed only with
 * opts->commit_history.  The report's headline compares with the earlier
 * runs of the drill in the repository: journal.json and report.md carry
 * them as `earlier_runs`, and once the commit is made the caller's journal
 * gets the same `earlier_runs` (a summary rendered afterwards agrees).
 * Returns 0 when the commit was made (even if the push failed: see
 * out->push_failed); -1 when nothing was committed, in which case the
 * branch, index and work tree are as they were, and the journal too. */
/* Before a drill touches anything: can its results be committed?  Opens
 * (or creates) the repository as results_publish would, without fetching:
 * not a repository, a detached HEAD, another branch checked out, a held
 * lock or a work tree or git directory that cannot be written are errors. */
int results_check(const struct results_opts *opts, struct dr_error *err);

int results_publish(struct results_outcome *out, json_t *journal,
		    const char *history_path, const struct results_opts *opts,
		    struct dr_error *err);

/* Push the branch's local commits that the remote lacks (a run whose push
 * failed), merging them onto the remote tip when it moved.  out->pushed. */
int results_push_pending(struct results_outcome *out,
			 const struct results_opts *opts, struct dr_error *err);

/* The repository's run index (dr-drill-results/index.ndjson at the branch
 * tip) as a json array of run entries, oldest first; the local work tree
 * directory in *repo_dir_out when not NULL (PATH_MAX bytes).  An empty
 * repository gives an empty array.  New reference. */
int results_index_load(json_t **out, char *repo_dir_out,
		       const struct results_opts *opts, struct dr_error *err);

/* The index entry the git store records for a journal (new reference):
 * dir, started_at, drill, target, target_kind, status, rto_ms, rto_limit_ms,
 * rpo_lost_writes, rpo_seconds, promotion_ms, runner_class, timing. */
json_t *results_index_entry(const json_t *journal);

/* ---- notifications --------------------------------------------------- */

/* POST payload (JSON) to url with libcurl, within timeout_ns.  The URL is a
 * secret: it is registered with redact_add_secret and never appears in
 * err.  Returns -1 on any failure (non-2xx too); callers report it and go
 * on: a webhook never changes a verdict. */
int notify_webhook(const char *url, const json_t *payload, int64_t timeout_ns,
		   struct dr_error *err);
/* Slack-compatible payloads {"text": ...} (new references), redacted. */
json_t *notify_start_message(const json_t *journal);
json_t *notify_end_message(const json_t *journal);

#endif
