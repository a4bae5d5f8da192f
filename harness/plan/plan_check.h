/* Private to the plan loader: the schema checker's state and the helpers
 * the per-action rules (harness/plan/actions.c) report through. */
#ifndef DR_HARNESS_PLAN_PLAN_CHECK_H
#define DR_HARNESS_PLAN_PLAN_CHECK_H

#include <jansson.h>

#include "harness/plan/actions.h"
#include "harness/plan/plan.h"
#include "harness/yaml/yaml_json.h"

struct schema_ctx {
	const char *file;
	struct yj_doc *doc;
	struct plan_diags *diags;
	const struct target_kind *target_kind; /* the target the plan is checked for */
	const char *target;
	/* Regions a plan may address: roles plus topology names. */
	const char *const *region_names;
	size_t nregion_names;
	/* Names of steps seen so far (for restore_snapshot from:). */
	json_t *snapshot_steps;       /* object name -> true, owned */
	int have_restore;             /* a restore_snapshot step came before */
};

/* Report an error at obj[key]'s value (or at obj when key is absent from
 * it); the key path is path + "." + key. */
void schema_err_key(struct schema_ctx *ctx, const json_t *obj, const char *path,
		    const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Report an error at the object itself, key path as given. */
void schema_err_obj(struct schema_ctx *ctx, const json_t *obj, const char *path,
		    const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void schema_warn_obj(struct schema_ctx *ctx, const json_t *obj, const char *path,
		     const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

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

/* Cross-argument rules shared by actions. */
void schema_require_one_of(struct schema_ctx *ctx, json_t *obj, const char *path,
			   const char *a, const char *b);

#endif
