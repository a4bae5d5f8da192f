/* The schema checker's state and how it reports: every error and warning
 * with the file, line and column of the value or key it is about, and its
 * key path.  The checker (plan_check.c, the section files) and the
 * per-action rules of the tables (actions.c) report through here. */
#ifndef DR_HARNESS_PLAN_SCHEMA_REPORT_H
#define DR_HARNESS_PLAN_SCHEMA_REPORT_H

#include <jansson.h>

#include "harness/plan/plan.h"
#include "harness/yaml/yaml_json.h"

struct schema_ctx {
	const char *file;
	struct yj_doc *doc;
	struct plan_diags *diags;
	const struct target_kind *target_kind; /* the target the plan is checked for */
	const char *target;
	/* The plan being checked: its secret variables are redacted from a
	 * value before a message quotes (and cuts) it.  NULL: none known. */
	const struct plan *plan;
	/* Regions a plan may address: roles plus topology names. */
	const char *const *region_names;
	size_t nregion_names;
	/* Names of steps seen so far (for restore_snapshot from:). */
	json_t *snapshot_steps;       /* object name -> true, owned */
	int have_restore;             /* a restore_snapshot step came before */
	int have_fault;               /* a fault step came before */
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

/* An error about the key itself (an unknown key), at the key's position. */
void schema_err_keyname(struct schema_ctx *ctx, const json_t *obj, const char *path,
			const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* "path.key" (or "key" at the top), heap. */
char *schema_join_key(const char *path, const char *key);

/* Cross-argument rule: exactly one of a and b. */
void schema_require_one_of(struct schema_ctx *ctx, json_t *obj, const char *path,
			   const char *a, const char *b);

#endif
