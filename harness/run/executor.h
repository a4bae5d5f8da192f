/* Runs one plan action: the generic ones (probe, exec, sleep, notify,
 * await_leader, await_replicated, await_healthy) here, every other one
 * through the target's action hook.  Also checks a step's `expect`. */
#ifndef DR_HARNESS_RUN_EXECUTOR_H
#define DR_HARNESS_RUN_EXECUTOR_H

#include <jansson.h>
#include <stdint.h>

#include "harness/core/target.h"

struct plan_step;

void executor_run(struct target *t, const char *action, json_t *args, json_t *expect,
		  const struct action_ctx *ctx, struct action_result *res);

/* An action's arguments for display ("{"region":"primary","replicas":0}"),
 * without the step's bookkeeping keys (name, action, fault, undo).  Heap. */
char *action_args_display(json_t *args);
/* A dry run's answer: ok, "would run <action> <args> <where>" (where may be
 * NULL: "on the etcd cluster"). */
void action_result_would_run(struct action_result *res, const char *action, json_t *args,
			     const char *where);

/* The timeout of an action object (an undo): its own "timeout", else the
 * action's default. */
int64_t executor_default_timeout(json_t *action_obj);

/* Steps whose start marks the beginning of recovery (resync is measured
 * from there): bringing capacity back after a fault. */
int is_restore_action(const struct plan_step *step);

#endif
