/* `drillrig preflight` for the Kubernetes target: everything a drill needs,
 * checked read-only before the maintenance window, one line per check. */
#ifndef DR_HARNESS_TARGET_K8S_K8S_PREFLIGHT_H
#define DR_HARNESS_TARGET_K8S_K8S_PREFLIGHT_H

#include <stdio.h>

#include "common/error.h"

struct plan;

/* Run every check against the configuration at config_path (actions of
 * plan, when given, decide which RBAC verbs are needed; NULL: all of them)
 * and print the table to out (json: one JSON object per check instead).
 * Returns the number of failed checks (0: ready), or a negative value
 * with err set when the configuration itself is invalid (-2: usage). */
int target_k8s_preflight(const char *config_path, const struct plan *plan, int json, FILE *out,
			 struct dr_error *err);

#endif
