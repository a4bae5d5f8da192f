/* Private to the plan loader: one checker per section of a plan, each
 * filling its part of struct plan as it validates (plan_sections.c,
 * plan_steps.c). */
#ifndef DR_HARNESS_PLAN_PLAN_SECTIONS_H
#define DR_HARNESS_PLAN_PLAN_SECTIONS_H

#include "harness/plan/plan_check.h"

void plan_section_topology(struct schema_ctx *ctx, json_t *root, struct plan *plan,
			   const char *timing_override);
void plan_section_objectives(struct schema_ctx *ctx, json_t *root, struct plan *plan);
void plan_section_workload(struct schema_ctx *ctx, json_t *root, struct plan *plan);
void plan_section_steady_state(struct schema_ctx *ctx, json_t *root, struct plan *plan);
void plan_section_abort_when(struct schema_ctx *ctx, json_t *root, struct plan *plan);
void plan_section_steps(struct schema_ctx *ctx, json_t *root, struct plan *plan);
void plan_section_rollback(struct schema_ctx *ctx, json_t *root, struct plan *plan);

/* Read a duration already validated (0 when absent). */
int64_t plan_section_duration(const json_t *v);

#endif
