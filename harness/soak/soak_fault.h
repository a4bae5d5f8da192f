/* Turning one scheduled soak fault into target actions: inject it, and
 * later heal it.  Every cluster action goes through executor_run() (the same
 * code paths a drill plan uses: kill, scale, partition/heal, pause/resume,
 * transfer_leader); only the planted loss (drop-entry) calls ledgerd's
 * Debug API itself, as no drill action exists for it.
 */
#ifndef DR_HARNESS_SOAK_SOAK_FAULT_H
#define DR_HARNESS_SOAK_SOAK_FAULT_H

#include <stdint.h>

#include "common/error.h"
#include "harness/core/target.h"
#include "harness/soak/soak_schedule.h"

/* What an injected fault hit, for healing it and for the per-iteration line. */
struct soak_applied {
	int64_t node;           /* the node acted on, 0 for a region fault */
	char target[96];        /* "node 2 (leader)", "region dr", ... */
	int needs_heal;         /* inject changed something heal must undo */
};

/* A fault that was applied but did not have its effect: a leadership
 * transfer that ended with another node leading (err says which). */
#define SOAK_FAULT_MISSED 1
/* How long a transfer may take before it counts as missed. */
#define SOAK_TRANSFER_TIMEOUT_NS (INT64_C(5) * 1000000000)

/* Inject f.  client_id and sequence name an acknowledged write of the
 * current workload (drop-entry hides it on the leader).  Returns 0,
 * SOAK_FAULT_MISSED (err set), or -1 with err set when the target refused or
 * the fault could not be resolved (no leader to kill, ...): an
 * infrastructure error. */
int soak_fault_inject(struct soak_applied *out, struct target *t, const struct soak_fault *f,
		      const char *client_id, uint64_t sequence, const struct action_ctx *ctx,
		      struct dr_error *err);

/* Undo what inject did (scale back, heal, resume); nothing for faults the
 * cluster recovers from by itself (kills, a transfer).  Returns 0 or -1. */
int soak_fault_heal(struct target *t, const struct soak_fault *f, const struct soak_applied *a,
		    const struct action_ctx *ctx, struct dr_error *err);

#endif
