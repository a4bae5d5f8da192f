/* Plan variables: ${name} substitution in strings and secret redaction.
 *
 * Syntax: "${name}" is replaced by the variable's value; "$${" is a literal
 * "${"; a "$" not followed by "{" is itself.  Names are
 * [A-Za-z_][A-Za-z0-9_]*.  Every reference must name a declared variable.
 */
#ifndef DR_HARNESS_PLAN_VARS_H
#define DR_HARNESS_PLAN_VARS_H

#include <stddef.h>

#include <jansson.h>

#include "common/error.h"
#include "harness/plan/plan.h"

/* Expand references in s using vars.  On success *out is a heap string and
 * *whole (if not NULL) is 1 when s was exactly one "${name}" reference.
 * Returns 0 when s has no reference at all (*out NULL then), 1 when it was
 * expanded, -1 on an error (err says which reference and why: unterminated,
 * bad name, undeclared with the closest declared name). */
int vars_expand(char **out, int *whole, const char *s, const struct plan_var *vars,
		size_t nvars, struct dr_error *err);

/* 1 when name is a valid variable name. */
int vars_valid_name(const char *name);

/* Copy of text with every secret variable's value replaced by
 * "[REDACTED]" (caller frees). */
char *vars_redact(const char *text, const struct plan_var *vars, size_t nvars);

/* For a file that must not hold secrets but must give the values back (a
 * drill's state file, read by `drillrig recover`): a deep copy of v whose
 * strings have every secret variable's value replaced by "${name}" and
 * every other "${" escaped as "$${", so vars_expand_json with the same
 * secret variables gives v back exactly. */
json_t *vars_unexpand_json(const json_t *v, const struct plan_var *vars, size_t nvars);
/* Expand every string of v (a deep copy); NULL with err set (naming the
 * reference) when a string refers to a variable not in vars. */
json_t *vars_expand_json(const json_t *v, const struct plan_var *vars, size_t nvars,
			 struct dr_error *err);

#endif
