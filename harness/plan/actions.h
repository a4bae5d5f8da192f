/* The schema of drill actions and probes: one table entry per action and
 * per probe type, with its arguments (type, required, default), default
 * timeout, and whether it may be a fault.  Which targets can run an action
 * is not here: each target declares its own table (struct target_action,
 * harness/core/target.h), and the plan checker asks the target kind.  The
 * types of the tables are in harness/plan/schema.h.
 *
 * The plan checker (harness/plan/plan_check.c and the section files)
 * validates plans against these
 * tables; the runner reads spec->default_timeout_ns and the flags; the docs
 * (docs/plan-reference.md) list the same.  Tables are static and immutable.
 */
#ifndef DR_HARNESS_PLAN_ACTIONS_H
#define DR_HARNESS_PLAN_ACTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "harness/plan/schema.h"

/* NULL-terminated table, in the order of the reference. */
extern const struct action_spec *const action_specs[];
const struct action_spec *action_find(const char *name);


extern const struct probe_spec *const probe_specs[];
const struct probe_spec *probe_find(const char *type);

/* Keys every probe accepts, with their defaults. */
extern const struct arg_spec probe_common_args[];
#define PROBE_DEFAULT_RETRIES 2
#define PROBE_DEFAULT_INTERVAL "1s"
#define PROBE_DEFAULT_TIMEOUT "5s"

/* Keys of a step's expect object (all actions; exec adds exit_code etc.). */
extern const struct arg_spec step_expect_args[];
extern const struct arg_spec exec_expect_args[];

/* The closest of candidates to word by edit distance, or NULL when nothing
 * is close enough to be a plausible typo. */
const char *action_closest(const char *word, const char *const *candidates, size_t n);

#endif
