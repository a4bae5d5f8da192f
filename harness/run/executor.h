/* Runs one plan action: the generic ones (probe, exec, sleep, notify,
 * await_leader, await_replicated, await_healthy) here, every other one
 * from the target's action table, for every target alike: lookup, a dry
 * run's description, and "the <kind> target cannot run '<action>'".  Also
 * checks a step's `expect`. */
#ifndef DR_HARNESS_RUN_EXECUTOR_H
#define DR_HARNESS_RUN_EXECUTOR_H

#include <jansson.h>
#include <stdint.h>

#include "harness/core/target.h"

struct plan_step;

void executor_run(struct target *t, const char *action, json_t *args, json_t *expect,
		  const struct action_ctx *ctx, struct action_result *res);

/* 1 when action is one of the generic actions above (every target runs
 * them; a target's table never lists them). */
int executor_is_generic(const char *action);

/* The timeout of an action object (an undo): its own "timeout", else the
 * action's default. */
int64_t executor_default_timeout(json_t *action_obj);

/* Steps whose start marks the beginning of recovery (resync is measured
 * from there): bringing capacity back after a fault. */
int is_restore_action(const struct plan_step *step);

#endif
