/* Probes: checks of the target's health, used in steady_state, `probe`
 * steps, `exec` steps and abort_when.  Each probe has retries and an
 * interval (as Litmus and Chaos Mesh do), so one dropped packet does not
 * fail a drill; each attempt has its own timeout.
 *
 * Kinds: http, tcp, write_read, cluster_status, metric, command.
 */
#ifndef DR_HARNESS_PROBE_PROBE_H
#define DR_HARNESS_PROBE_PROBE_H

#include <jansson.h>
#include <stdint.h>

#include "harness/core/target.h"
#include "harness/probe/probe_result.h"

struct journal;


/* Run the probe spec (validated by the plan loader) with its retries. */
void probe_run(struct probe_result *out, struct target *t, json_t *spec,
	       const struct action_ctx *ctx);
/* An `exec` step: run argv once, check exit code / stdout regex from expect. */
void probe_run_command(struct probe_result *out, struct target *t, json_t *args,
		       json_t *expect, const struct action_ctx *ctx);

/* abort_when conditions: evaluated once per call (no retries). */
struct abort_check {
	int holds;           /* 1: the drill may go on */
	int64_t for_ns;      /* how long it may fail before the drill aborts */
	char message[512];
};

#define ABORT_CHECK_INIT { 1, 0, { 0 } }

/* 0 when evaluated (out->holds says the verdict), -1 when the condition
 * could not be evaluated at all. */
int probe_abort_condition(struct abort_check *out, struct target *t, json_t *cond,
			  const struct action_ctx *ctx);

#endif
