/* Objectives: the plan's limits against the measurements, as pass/fail
 * results with measured value, limit and margin.
 *
 * Units (journal "unit"): ms for rto, promotion, resync, max_lag,
 * rpo_window; writes for rpo; percent for availability; violations for
 * history.  Every limit is an upper bound except availability (a floor).
 * margin = limit - measured (availability: measured - limit), so a positive
 * margin is headroom and a negative one the size of the miss.
 *
 * Two objectives are always on when the workload or canary writes went to
 * the ledger (workload_mode "ledger" or "canary"), stated in the plan or not:
 *   - rpo: lost acknowledged writes, limit 0 unless the plan says otherwise;
 *   - history: integrity violations (duplicated + definite failures present
 *     + reordered + unexpected + a history that overflowed its cap), limit 0,
 *     not configurable: a correctness bug no RPO budget excuses.
 * A stated objective whose measurement does not apply FAILS, with a message
 * saying why ("not measured: the drill had no restore step").
 */
#ifndef DR_ASSERTIONS_OBJECTIVES_H
#define DR_ASSERTIONS_OBJECTIVES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertions/measure.h"

/* From the plan's `objectives`; fill after OBJECTIVE_LIMITS_INIT. */
struct objective_limits {
	bool has_rto;          int64_t rto_ns;
	bool has_promotion;    int64_t promotion_ns;
	bool has_resync;       int64_t resync_ns;
	bool has_max_lag;      int64_t max_lag_ns;
	bool has_rpo_window;   int64_t rpo_window_ns;
	bool has_rpo;          uint64_t rpo;              /* lost writes allowed */
	bool has_availability; double availability_pct;   /* 0..100 */
};

#define OBJECTIVE_LIMITS_INIT { 0 }

enum { OBJECTIVE_MAX = 8, OBJECTIVE_NAME_MAX = 16, OBJECTIVE_MESSAGE_MAX = 320 };

struct objective_result {
	char name[OBJECTIVE_NAME_MAX];      /* rto promotion resync max_lag rpo_window rpo availability history */
	const char *unit;                   /* "ms" "writes" "percent" "violations" (static) */
	double limit;
	bool has_measured;                  /* false: JSON null, and passed is false */
	double measured;
	double margin;                      /* valid when has_measured */
	bool passed;
	char message[OBJECTIVE_MESSAGE_MAX];/* "" when passed (JSON null) */
};

struct objective_results {
	struct objective_result items[OBJECTIVE_MAX];
	size_t count;
};

/* Evaluate in a fixed order: rto, promotion, resync, max_lag, rpo_window,
 * rpo, availability, history (only those stated or always on). */
void objectives_evaluate(struct objective_results *out, const struct objective_limits *limits,
			 const struct measurements *m);

/* True when every result passed (an empty list passes). */
bool objectives_all_passed(const struct objective_results *r);

/* The first failed result, or NULL: its message is a ready-made "reason". */
const struct objective_result *objectives_first_failure(const struct objective_results *r);

#endif
