/* The randomized fault soak (`drillrig soak`, docs/soak.md): on one bundled
 * cluster, each iteration of a schedule (harness/soak/soak_schedule.h)
 *
 *   1. starts a fresh recorder (workload writer + status poller, its own
 *      client id) and lets it write for a moment,
 *   2. injects the fault (harness/soak/soak_fault.h) and holds it,
 *   3. heals it and waits until the cluster is healthy and "Fully
 *      replicated" (the recovery time),
 *   4. stops the workload, reads the ledger back and runs the history
 *      checker (lost, duplicated, reordered ... writes),
 *   5. compares every replica's digest (harness/soak/soak_digest.h).
 *
 * The soak stops at the first iteration that finds a violation (the cluster
 * stays diverged, every later iteration would repeat it), at an
 * infrastructure error, or on SIGINT/SIGTERM after healing the current
 * fault.
 */
#ifndef DR_HARNESS_SOAK_SOAK_H
#define DR_HARNESS_SOAK_SOAK_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "harness/core/target.h"
#include "harness/soak/soak_schedule.h"

struct plan;

enum soak_verdict {
	SOAK_PASSED = 0,        /* no violation, digests equal */
	SOAK_VIOLATION,         /* lost/duplicated/... writes or unequal digests */
	SOAK_NOT_RECOVERED,     /* not healthy and fully replicated in time */
	SOAK_INFRA,             /* a fault, heal or read-back could not be done */
	SOAK_INTERRUPTED,       /* SIGINT/SIGTERM: healed, not checked */
	SOAK_ANOMALY,           /* checks passed, but the fault missed its effect
				 * (a transfer that ended elsewhere); a failure
				 * only with soak_opts.strict */
};

struct soak_iteration {
	size_t number;              /* 1-based */
	struct soak_fault fault;
	char target[96];            /* what the fault hit: "node 2 (leader)", "region dr" */
	int64_t inject_ns;          /* from starting the fault to the fault in place
				     * (the "fault applied" line); -1: never in place */
	int64_t held_ns;            /* how long it was actually held */
	int64_t recovery_ns;        /* heal to healthy + fully replicated; -1: never */
	double outage_ms;           /* the workload's write outage (RTO); -1: none */
	uint64_t ok, failed, unknown;        /* logical writes by outcome */
	uint64_t lost, duplicated;
	uint64_t other_violations;  /* definite failures present, reordered, unexpected */
	int digests_checked;
	int digests_equal;
	uint64_t ledger_index;      /* the ledger's last index after the iteration */
	size_t nodes;               /* replicas compared */
	enum soak_verdict verdict;
	char note[768];             /* why it did not pass */
};

struct soak_result {
	struct soak_iteration *iterations;   /* the ones that ran (n <= schedule's) */
	size_t n;
	int exit_code;                       /* harness/core/exit_codes.h */
};

struct soak_opts {
	FILE *out;                       /* one line per iteration; NULL: stdout */
	int64_t warmup_ns;               /* workload before each fault (default 300 ms) */
	int64_t recovery_timeout_ns;     /* default 60 s */
	int64_t digest_timeout_ns;       /* default 15 s */
	atomic_int *interrupts;            /* SIGINT/SIGTERM counter, or NULL */
	const char *history_dir;         /* keep a failing iteration's history.ndjson here */
	int strict;                      /* an anomaly fails the soak (exit 1) */
};

#define SOAK_OPTS_INIT { NULL, 0, 0, 0, NULL, NULL, 0 }

/* Run the schedule against t (started, locked).  The plan supplies the
 * workload settings; its name is replaced per iteration so that every
 * recorder writes under a fresh client id.  Never fails as a call: every
 * outcome is in *out (release with soak_result_release). */
void soak_run(struct soak_result *out, struct plan *plan, struct target *t,
	      const struct soak_schedule *s, const struct soak_opts *opts);
void soak_result_release(struct soak_result *r);

/* ---- output (harness/soak/soak_report.c) ------------------------------------- */

const char *soak_verdict_name(enum soak_verdict v);
/* "  3/10 kill-leader node 2 (leader)  hold 840ms  recovery 1.21s ..." */
void soak_iteration_print(FILE *f, const struct soak_iteration *it, size_t total);
/* The moment the fault is in place, printed while it is held (the caller
 * flushes): "soak  3/10  fault applied: kill-leader node 2 (leader) in 0.01s,
 * holding 724ms".  missed: the fault missed its effect (an anomaly). */
void soak_fault_applied_print(FILE *f, const struct soak_iteration *it, size_t total, int missed);
/* SIGINT/SIGTERM cut the hold short: "soak  3/10  interrupted after 1.52s of
 * the 20s hold". */
void soak_interrupt_print(FILE *f, const struct soak_iteration *it, size_t total);
/* After an interrupted hold, the fault was undone: "soak  3/10  healed
 * partition-region region dr; waiting for recovery ...", or for faults the
 * cluster undoes by itself (healed == 0) "... needs no undo ...". */
void soak_heal_print(FILE *f, const struct soak_iteration *it, size_t total, int healed);
/* The final table: faults by kind with recovery min/median/max, writes
 * checked, violations, digests. */
void soak_summary_print(FILE *f, const struct soak_result *r);
/* Median of n values (sorted copy; 0 for n == 0). */
int64_t soak_median_ns(const int64_t *values, size_t n);

#endif
