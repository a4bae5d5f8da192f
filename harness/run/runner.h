/* The drill runner: connect -> steady state -> steps -> rollback ->
 * steady state again, with undos registered before their faults and run in
 * reverse on success, failure and SIGINT/SIGTERM.
 *
 * The runner owns the order and the verdict; the target does the actions,
 * the recorder measures, the reports render the journal afterwards.
 */
#ifndef DR_HARNESS_RUN_RUNNER_H
#define DR_HARNESS_RUN_RUNNER_H

#include <signal.h>

#include "harness/core/journal.h"
#include "harness/core/progress.h"
#include "harness/core/target.h"

struct plan;

struct runner_opts {
	int dry_run;                        /* print every action, touch nothing */
	int server_dry_run;                 /* target actions only, as the target's own dry
					     * run (kubectl --dry-run=server); no workload,
					     * no awaits, no steady state, no measurement */
	int no_workload;                    /* measurement threads off (tests) */
	struct progress *progress;
	atomic_int *interrupts;             /* bumped by the CLI's SIGINT/SIGTERM handler */
	const char *history_path;           /* where the per-attempt history goes; NULL: none */
	int baseline_set;                   /* baseline_ns replaces the plan's workload.baseline */
	int64_t baseline_ns;                /* (drillrig run --baseline) */
};

#define RUNNER_OPTS_INIT { 0, 0, 0, NULL, NULL, NULL, 0, 0 }

struct runner_result {
	int exit_code;          /* enum exit_code */
	const char *status;     /* "passed", "failed", "aborted", "error"; "dry_run" for
				 * a dry run (client or server side) that completed */
	char reason[1024];      /* one sentence when not passed */
	/* The state file left for `drillrig recover` when the rollback did not
	 * finish (an undo failed or was given up); "" otherwise. */
	char state_kept[1024];
};

/* Run plan against t (constructed, not started), recording into j.  Always
 * leaves the journal complete (status, exit code, reason, steps) and the
 * target restored as far as the undos and rollback could. */
void runner_run(struct runner_result *out, const struct plan *plan, struct target *t,
		struct journal *j, const struct runner_opts *opts);

#endif
