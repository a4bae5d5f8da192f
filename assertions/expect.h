/* Expectations, used by probes and by a step's `expect`: regular
 * expressions (pcre2), JSON path lookups, comparisons of a JSON value with
 * an expected value, and numeric thresholds.
 *
 * Conventions: functions return 0 when they could evaluate, with the
 * verdict in struct expect_result; -1 with err set when the EXPECTATION
 * itself is wrong (a regex that does not compile, `lt` against a string) --
 * a plan error, not a failed check.  A target answering something of the
 * wrong type is a failed check with a message, not an error.
 */
#ifndef DR_ASSERTIONS_EXPECT_H
#define DR_ASSERTIONS_EXPECT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/error.h"

#define EXPECT_MESSAGE_MAX 512

struct expect_result {
	bool passed;
	char message[EXPECT_MESSAGE_MAX]; /* why it failed, or what matched */
};

/* ---- regular expressions (pcre2, UTF-8) ---- */

struct expect_regex;

/* Compile pattern.  Errors: "invalid regex 'a(b': missing closing
 * parenthesis at offset 3".  *out is NULL on failure. */
int expect_regex_compile(struct expect_regex **out, const char *pattern, struct dr_error *err);
/* Does the regex match anywhere in subject[0..len)?  -1 with err set on a
 * match error (e.g. the match limit hit on a pathological pattern). */
int expect_regex_match(bool *out, const struct expect_regex *re, const char *subject,
		       size_t len, struct dr_error *err);
const char *expect_regex_pattern(const struct expect_regex *re);
void expect_regex_free(struct expect_regex *re);
/* Compile, match, free, with a message naming the pattern. */
int expect_regex_check(struct expect_result *out, const char *pattern, const char *subject,
		       size_t len, struct dr_error *err);

/* ---- JSON paths ----
 * `a.b[0].c`, `$.a.b`, `$` (the root), `$[2]`, `a["key.with.dots"]`.
 * Returns a BORROWED reference into root.  Errors say which part failed:
 * "no such field 'c' at 'a.b[0].c' (fields: x, y)",
 * "index 3 out of range at 'a[3]' (array of 2)",
 * "'a.b' is a string, not an object", "invalid path 'a..b' at offset 2". */
int json_path_lookup(json_t **out, json_t *root, const char *path, struct dr_error *err);

/* ---- comparisons ---- */

enum expect_op {
	EXPECT_EQUALS,  /* JSON equality; 3 == 3.0; a number equals a numeric string */
	EXPECT_NOT_EQUALS,
	EXPECT_MATCHES, /* expected is a regex; actual a string (numbers/bools as their JSON text) */
	EXPECT_LT,
	EXPECT_LE,
	EXPECT_GT,
	EXPECT_GE,
};

/* "equals" "==" "eq", "not_equals" "!=" "ne", "matches" "=~",
 * "lt" "<", "le" "<=", "gt" ">", "ge" ">=".  Error names the valid ones. */
int expect_op_parse(enum expect_op *out, const char *text, struct dr_error *err);
const char *expect_op_name(enum expect_op op);  /* "equals", "lt", ... */
const char *expect_op_symbol(enum expect_op op);/* "==", "<", ... */

/* actual (from the target; NULL means missing) OP expected (from the plan).
 * Ordering ops need a number (or numeric string) on both sides: a
 * non-number expected is an error (-1), a non-number actual a failed check.
 * what names the subject in messages ("field 'status'"). */
int expect_compare(struct expect_result *out, const json_t *actual, enum expect_op op,
		   const json_t *expected, const char *what, struct dr_error *err);

/* Look path up in root and compare; a missing field is a failed check
 * whose message is json_path_lookup's, except for a malformed path (-1). */
int expect_json_field(struct expect_result *out, json_t *root, const char *path,
		      enum expect_op op, const json_t *expected, struct dr_error *err);

/* value OP limit for numbers (matches is not allowed: -1).  NaN never
 * passes.  Message: "ledger_replication_lag_seconds 7.2 > 5: ok". */
int threshold_check(struct expect_result *out, double value, enum expect_op op, double limit,
		    const char *what, struct dr_error *err);

#endif
