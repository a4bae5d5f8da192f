/* Private to the plan loader: checking values, argument tables and probes
 * against the schema (harness/plan/actions.h); errors are reported through
 * harness/plan/schema_report.h. */
#ifndef DR_HARNESS_PLAN_PLAN_CHECK_H
#define DR_HARNESS_PLAN_PLAN_CHECK_H

#include <jansson.h>

#include "harness/plan/schema.h"
#include "harness/plan/schema_report.h"

/* A plan or step name: letters, digits, '.', '_' and '-', at most 64,
 * starting with a letter or digit. */
int schema_name_ok(const char *s);

/* Check obj against a table of arguments: unknown keys (except those in
 * extra_keys, NULL-terminated), types, required keys; fills defaults.
 * Returns the number of errors it reported. */
int schema_check_args(struct schema_ctx *ctx, json_t *obj, const char *path,
		      const struct arg_spec *args, const char *const *extra_keys,
		      const char *what);
/* One value against one argument spec (parent[key]); may replace the value
 * with a typed one (a "${n}" that became 3).  Returns 0 or -1. */
int schema_check_value(struct schema_ctx *ctx, json_t *parent, const char *key,
		       const char *path, const struct arg_spec *spec);
/* A probe object (steady_state entries, probe steps, abort_when). */
int schema_check_probe(struct schema_ctx *ctx, json_t *probe, const char *path);

#endif
