/* jansson builders for the journal (docs/journal.md): the names produced
 * here are a contract scripts and CI gates read.  A figure that does not
 * apply is JSON null, never 0.
 *
 * Each builder returns a NEW reference (the caller owns it; json_decref or
 * hand it to json_object_set_new); allocation failure aborts like xmalloc.
 */
#ifndef DR_ASSERTIONS_RESULTS_JSON_H
#define DR_ASSERTIONS_RESULTS_JSON_H

#include <jansson.h>

#include "assertions/measure.h"
#include "assertions/objectives.h"

/* "measurements": {"rto_ms", "rto_note", "unavailable_ms", "max_latency_ms",
 * "promotion_ms", "resync_ms", "max_lag_ms", "rpo_lost_writes",
 * "rpo_seconds", "availability", "latency_ms": {"p50","p99","max"},
 * "outages": [{"start_ms","end_ms","duration_ms","recovered"}] (every
 * unavailable span, the first 100),
 * "writes": {"ok","failed","unknown","unknown_present","lost","duplicated",
 * "definite_failed_present","reordered","unexpected"}, "lost_sequences",
 * "duplicated_sequences", "workload_mode"}.  "writes" is null and the
 * sequence lists are [] when the workload did not write. */
json_t *measurements_to_json(const struct measurements *m);

/* "objectives": [{"name","unit","limit","measured","margin","passed","message"}] */
json_t *objectives_to_json(const struct objective_results *r);

/* "outage": {"start_ms", "end_ms"} (end_ms null when not recovered), or
 * JSON null when no fault ran or there was no interruption. */
json_t *outage_to_json(const struct measurements *m);

/* "workload.series": [[t_ms, latency_ms, "ok"|"failed"|"unknown"], ...] */
json_t *series_to_json(const struct series *s);

/* "measurements.write_series": [[t_ms, latency_ms, outcome, attempts], ...],
 * one per logical write kept by series_build(). */
json_t *write_series_to_json(const struct series *s);

/* "measurements.attempts_by_class": {"bucket_ms", "attempts", "classes":
 * [{"class", "total", "counts": [per bucket]}]}, the classes that occurred,
 * "ok" first; bucket_ms null without attempts. */
json_t *attempt_classes_to_json(const struct series *s);

/* Convenience for the runner: sets "outage", "fault_start_ms",
 * "restore_start_ms", "measurements", "objectives" (when r is not NULL) and
 * "workload"."series", "measurements"."write_series" and
 * "measurements"."attempts_by_class" (when s is not NULL; creates
 * "workload" if absent and keeps its other keys) on the journal object.  Returns 0, or -1 when
 * journal is not an object. */
int results_json_set(json_t *journal, const struct measurements *m,
		     const struct objective_results *r, const struct series *s);

#endif
