/* Measurement during a drill: a workload thread writing continuously to the
 * ledger and a status poller watching the cluster, both recording into the
 * compact structures of assertions/history.h.  At the end the recorder
 * reads the whole ledger back, checks the history (assertions/check.h),
 * computes RTO, RPO, promotion, resync and the objectives
 * (assertions/measure.h, objectives.h) and puts them into the journal.
 *
 * Threads block every signal: SIGINT and SIGTERM belong to the runner.
 * Neither thread ever blocks the runner: stopping them is bounded by one
 * per-call timeout.
 */
#ifndef DR_HARNESS_WORKLOAD_RECORDER_H
#define DR_HARNESS_WORKLOAD_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "harness/core/journal.h"
#include "harness/core/progress.h"
#include "harness/core/target.h"

struct plan;
struct recorder;

/* Start both threads against t's endpoints (status polling alone when the
 * target has no ledger endpoints). */
int recorder_start(struct recorder **out, const struct plan *plan, struct target *t,
		   struct journal *j, struct progress *progress, struct dr_error *err);
/* Canary mode: wait (bounded by ctx) until a canary write is acknowledged,
 * so there is something a fault could lose; a write path that does not
 * work stops the drill here, before anything changed.  0 at once in the
 * other modes. */
int recorder_await_baseline(struct recorder *r, const struct action_ctx *ctx, struct dr_error *err);
void recorder_mark_fault(struct recorder *r, int64_t mono_ns);
void recorder_mark_restore(struct recorder *r, int64_t mono_ns);
/* The baseline period the runner held before the first fault: the
 * "before" window of the measurements.  Same thread as recorder_finish. */
void recorder_mark_baseline(struct recorder *r, int64_t start_ns, int64_t end_ns);
/* Stop writing and polling (bounded by one per-call timeout), after one
 * last status poll so the timeline ends on the cluster's final state. */
void recorder_stop(struct recorder *r);
/* Stop the threads if still running, read the ledger back, check and measure; writes the
 * per-attempt history to history_path (NULL: not written) and sets
 * measurements, objectives, outage, workload into the journal. */
int recorder_finish(struct recorder *r, const struct plan *plan, struct target *t,
		    struct journal *j, const char *history_path, struct dr_error *err);
/* After recorder_finish: 1 when an objective failed, with its message. */
int recorder_failed_objective(const struct recorder *r, char *reason, size_t len);
void recorder_free(struct recorder *r);

#endif
