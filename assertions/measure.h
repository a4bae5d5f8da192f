/* Measurements of a drill from its recorded history, status timeline and
 * markers: RTO, unavailable time, latency, availability, promotion, resync,
 * max lag, RPO.  Pure functions; docs/measurement.md defines every figure
 * precisely, with a worked example.
 *
 * A figure that does not apply (no fault ran, no restore step, no DR region,
 * no writes) is "not measured": has == false, JSON null, never 0, and
 * `why` says why in a sentence the objectives reuse.
 */
#ifndef DR_ASSERTIONS_MEASURE_H
#define DR_ASSERTIONS_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertions/check.h"
#include "assertions/history.h"
#include "common/error.h"

#define MEASURE_MAX_DR_REGIONS 8
#define MEASURE_MAX_FAULTS 16
#define MEASURE_WHY_MAX 160

/* What the runner knows about the drill; fill after MEASURE_MARKERS_INIT. */
struct measure_markers {
	int64_t drill_start_ns;      /* origin of every *_ms figure */
	int64_t drill_end_ns;
	bool has_fault;
	int64_t fault_start_ns;      /* start of the FIRST fault step */
	bool has_restore;
	int64_t restore_start_ns;    /* start of the restore step (failback / scale back) */
	/* Region names that count as DR for promotion (by name, as status
	 * points carry them).  Zero regions: promotion is not measured. */
	const char *dr_regions[MEASURE_MAX_DR_REGIONS];
	size_t n_dr_regions;
	/* The workload's per-call timeout: an attempt slower than this counts
	 * as a stalled write (an outage) even when it ended ok.  0: none. */
	int64_t call_timeout_ns;
	/* The baseline period the runner held before the first fault (plan
	 * workload.baseline): the "before" window when there is one. */
	bool has_baseline;
	int64_t baseline_start_ns;
	int64_t baseline_end_ns;
	/* The start of every fault step, in order (the first is
	 * fault_start_ns; the first MEASURE_MAX_FAULTS).  A DR leader lost
	 * before the next fault step began (or the restore) was a transient,
	 * not the promotion: promotion_figure() needs them. */
	int64_t fault_starts_ns[MEASURE_MAX_FAULTS];
	size_t n_fault_starts;
	/* The unsafe promotion (force_election with allow_data_loss, without
	 * a quorum), when one ran: its step's start and name, and the ledger
	 * index of the DR node it chose (its snapshot and whole log applied),
	 * when the target reported it. */
	bool has_unsafe_promotion;
	int64_t unsafe_promotion_ns;
	const char *unsafe_promotion_step;
	bool has_dr_ledger_index;
	uint64_t dr_ledger_index;
	/* Members a resynced cluster must have; 0: trust the status's count. */
	unsigned expected_members;
	/* "ledger" (history checked), "canary" (sparse canary writes: history
	 * checked for RPO, no write timing), "status-only" (no writes, timeline
	 * only) or "none".  "ledger" makes every write figure; "canary" the
	 * writes and RPO figures only. */
	const char *workload_mode;
};

#define MEASURE_MARKERS_INIT { .workload_mode = "ledger" }

/* One merged unavailable span, ms since drill start. */
struct measure_span {
	double start_ms;   /* invoke of its first bad attempt */
	double end_ms;     /* completion of the first good write after it, or the
			    * last attempt's completion when not recovered */
	bool recovered;
};

#define MEASURE_MAX_SPANS 100

/* A figure that may be not applicable. */
struct measure_value {
	bool has;
	double value;
	char why[MEASURE_WHY_MAX]; /* when !has: "the drill had no restore step" */
};

/* A measured value, or none with the reason ("not measured: <why>"). */
void measure_value_set(struct measure_value *v, double value);
void measure_value_none(struct measure_value *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Before / during / after the fault, each over its stated window:
 *   before: the baseline period, else the first attempt to the fault;
 *   during: the first fault to the restore (else to the last attempt);
 *   after:  the restore to the last attempt.
 * Availability counts every unavailable span in the window, pre-fault
 * blips included (they are what "before" looked like); latency is of the
 * ok logical writes acknowledged in it. */
enum measure_phase_id { MEASURE_BEFORE, MEASURE_DURING, MEASURE_AFTER, MEASURE_NPHASES };

struct measure_phase {
	bool has;                 /* false: the phase does not apply (why) */
	char why[MEASURE_WHY_MAX];
	double start_ms, end_ms;  /* the window, ms since drill start */
	struct measure_value availability;   /* a fraction 0..1 */
	struct measure_value unavailable_ms;
	uint64_t writes_ok;       /* ok logical writes acknowledged in it */
	struct measure_value latency_p50_ms;
	struct measure_value latency_p99_ms;
	struct measure_value latency_max_ms;
};

/* What an unsafe promotion put at risk, in the ledger's own indexes (a
 * Raft index is no count of writes: group commit puts several Appends in
 * one Raft entry).  At the promotion, the DR node chosen had the ledger up
 * to dr_last_index; the old cluster had acknowledged writes up to
 * primary_acked_index (the highest ledger index of a workload write
 * acknowledged before the promotion began: what the old primary had
 * committed, as far as the workload can know).  The writes at risk are the
 * acknowledged writes above dr_last_index: those the promotion could lose.
 * 0 at risk means nothing could be lost, so 0 lost proves nothing about the
 * loss path; lost is the history check's count (measurements.writes.lost). */
struct measure_promotion_risk {
	bool has;                     /* an unsafe promotion ran */
	double t_ms;                  /* its step's start, ms since drill start */
	char step[64];
	struct measure_value dr_last_index;
	struct measure_value primary_acked_index; /* not measured: nothing acknowledged before it */
	struct measure_value writes_at_risk;      /* logical writes */
	struct measure_value writes_lost;
};

struct measurements {
	/* All *_ms are milliseconds. */
	struct measure_value rto_ms;
	const char *rto_note;            /* "no interruption", "not recovered" or NULL */
	struct measure_value unavailable_ms;
	struct measure_value max_latency_ms;
	struct measure_value promotion_ms;
	struct measure_value resync_ms;
	struct measure_value max_lag_ms;
	struct measure_value rpo_lost_writes;
	struct measure_value rpo_seconds;
	struct measure_value availability; /* a fraction 0..1 */
	struct measure_value write_window_ms; /* what availability is a fraction of */
	struct measure_value latency_p50_ms;
	struct measure_value latency_p99_ms;
	struct measure_value latency_max_ms;
	struct check_result writes;      /* valid when has_writes */
	bool has_writes;                 /* workload_mode "ledger" or "canary": checked */
	char workload_mode[16];

	/* The outage the fault caused, ms since drill start: starts at the
	 * fault, ends at the first good write after it (journal "outage"). */
	bool has_outage;
	double outage_start_ms;
	bool has_outage_end;             /* false: not recovered by the end */
	double outage_end_ms;
	/* First failed/unknown/stalled attempt that made the outage. */
	double outage_first_failure_ms;
	/* Every unavailable span that overlaps or follows the first fault, in
	 * time order (the first MEASURE_MAX_SPANS; n_spans_total counts them
	 * all).  unavailable_ms is their total; without a fault, every span. */
	struct measure_span spans[MEASURE_MAX_SPANS];
	size_t n_spans;
	size_t n_spans_total;
	/* Pre-fault blips: spans over before the first fault began (every bad
	 * attempt in them completed before it, or a good write ended them
	 * before it).  The fault did not cause them: they are listed here and
	 * left out of unavailable_ms, availability, the outages and RTO.
	 * Same limits as spans; blips_ms is their total length. */
	struct measure_span blips[MEASURE_MAX_SPANS];
	size_t n_blips;
	size_t n_blips_total;
	double blips_ms;
	struct measure_phase phases[MEASURE_NPHASES];
	struct measure_promotion_risk unsafe_promotion;
	/* Markers as ms since drill start (journal fault_start_ms, restore_start_ms). */
	bool has_fault;
	double fault_start_ms;
	bool has_restore;
	double restore_start_ms;
};

/* Compute every figure.  check is the result of history_check() over h
 * (NULL when workload_mode is neither "ledger" nor "canary").  Returns 0, or -1 with err set
 * on inconsistent markers (drill_end before drill_start, fault outside the
 * drill).  Memory: O(n) temporary, freed before return. */
int measure_compute(struct measurements *out, const struct history *h,
		    const struct check_result *check, const struct status_timeline *tl,
		    const struct measure_markers *mk, struct dr_error *err);

/* Fill out (struct measure_promotion_risk above) from the history of
 * acknowledged writes h, the check c of h (lost writes; NULL: not checked)
 * and the markers' unsafe promotion; out->has false when none ran.
 * measure_compute() calls it; exposed for tests. */
void measure_promotion_risk(struct measure_promotion_risk *out, const struct history *h,
			    const struct check_result *c, const struct measure_markers *mk);

/* Without timed writes (workload_mode "status-only" or "canary"), RTO read
 * off the status timeline: from the fault to the first status with a
 * leader and a quorum after the first one without; or, when the polls
 * (kubectl exec, far apart) never saw the leaderless gap, to the first
 * status with a new leader (a term above the last one before the fault);
 * 0 with "no interruption" otherwise.  Sets m->rto_ms and m->rto_note. */
void measure_rto_from_status(struct measurements *m, const struct status_timeline *tl,
			     const struct measure_markers *mk);

/* ---- Latency series for charts ---------------------------------------- */

struct series_point {
	double t_ms;        /* completion, ms since drill start */
	double latency_ms;  /* of the attempt */
	uint8_t outcome;    /* enum history_outcome */
};

/* One logical write (a sequence retried until acknowledged): what the
 * application felt. */
struct series_write {
	double t_ms;        /* acknowledgement (or the last attempt's end), ms since drill start */
	double latency_ms;  /* first attempt's invoke to t_ms */
	uint8_t outcome;    /* enum history_outcome of the logical write */
	uint32_t attempts;  /* attempts it took */
};

/* Attempt classes: "ok", then the history_error names in enum order (a
 * failed attempt without an error counts as OTHER). */
#define SERIES_NCLASSES HISTORY_ERR_COUNT_
#define SERIES_CLASS_OK 0
#define SERIES_BUCKET_MS 100.0
#define SERIES_MAX_BUCKETS 1200

struct series {
	struct series_point *points; /* heap; series_release() frees */
	size_t count;
	bool failures_thinned;       /* more failures than max_points: not all kept */
	/* Logical writes, at most max_points, in time order; thinned like
	 * the attempts (every failed/unknown one kept, ok ones the slowest of
	 * their time bucket, so the longest stall always survives). */
	struct series_write *writes; /* heap */
	size_t n_writes;
	size_t n_writes_total;       /* logical writes in the history */
	/* Attempts per bucket by class, bucketed by completion from the drill
	 * start: counts[c * n_buckets + b].  The bucket is SERIES_BUCKET_MS
	 * unless that makes more than SERIES_MAX_BUCKETS buckets; then the
	 * next 1-2-5 step that does not.  Every attempt is counted once:
	 * the counts of all classes sum to attempts. */
	double bucket_ms;
	size_t n_buckets;
	uint32_t *counts;            /* heap; NULL when there are no attempts */
	uint64_t class_totals[SERIES_NCLASSES];
	uint64_t attempts;
};

#define SERIES_INIT { .points = NULL }

#define SERIES_DEFAULT_MAX 2000

/* Downsample the attempts to at most max_points (0: SERIES_DEFAULT_MAX),
 * in time order, with the logical writes and the attempt classes above.  Every failed/unknown attempt is kept (unless there are
 * more than max_points of them: then they are thinned evenly and
 * failures_thinned is set); ok attempts fill the remaining budget, one per
 * equal time bucket, the slowest of its bucket (so spikes survive). */
void series_build(struct series *out, const struct history *h, int64_t origin_ns,
		  size_t max_points);
/* "ok" or the error name of class c (SERIES_NCLASSES entries). */
const char *series_class_name(size_t c);
void series_release(struct series *s);

#endif
