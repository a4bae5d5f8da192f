/* The schema checker's building blocks: reporting with positions, value
 * types, argument tables and probes.  The plan's sections are checked in
 * plan_sections.c and plan_steps.c, its header and vars in plan_load.c. */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/strbuf.h"
#include "harness/plan/actions.h"
#include "harness/plan/duration.h"
#include "harness/plan/plan_check.h"

/* ---- names ----------------------------------------------------------------- */

int schema_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !isalnum((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return 0;
	return 1;
}

/* ---- value descriptions ---------------------------------------------------- */

static unsigned value_flags(struct schema_ctx *ctx, const json_t *parent, const char *key)
{
	const struct yj_pos *p = yj_value_pos(ctx->doc, parent, key);

	return p ? p->flags : 0;
}

/* "the integer 10", "the string 'x'", "a list" -- for "expected X, got Y".
 * A string is cut to 40 characters after the values of secret variables
 * are redacted in it: cut first, a long secret would keep its first 40
 * characters, which plan_load_text's redaction of whole values misses. */
static char *describe(const struct schema_ctx *ctx, const json_t *v, unsigned flags)
{
	if (flags & YJ_NONFINITE)
		return xasprintf("the non-finite float '%s'", json_string_value(v));
	switch (json_typeof(v)) {
	case JSON_OBJECT: return xstrdup("a mapping");
	case JSON_ARRAY: return xstrdup("a list");
	case JSON_STRING: {
		char *s = ctx->plan ? plan_redact(ctx->plan, json_string_value(v))
				    : xstrdup(json_string_value(v));
		char *out;

		if (strlen(s) > 40)
			out = xasprintf("the string '%.40s...'", s);
		else
			out = xasprintf("the string '%s'", s);
		free(s);
		return out;
	}
	case JSON_INTEGER: return xasprintf("the integer %" JSON_INTEGER_FORMAT, json_integer_value(v));
	case JSON_REAL: return xasprintf("the number %g", json_real_value(v));
	case JSON_TRUE: return xstrdup("true");
	case JSON_FALSE: return xstrdup("false");
	default: return xstrdup("null");
	}
}

static void err_type(struct schema_ctx *ctx, const json_t *parent, const char *path,
		     const char *key, const char *expected)
{
	json_t *v = json_object_get(parent, key);
	char *got = describe(ctx, v, value_flags(ctx, parent, key));
	const char *hint = "";

	if (json_is_string(v) && strstr(expected, "boolean")) {
		const char *s = json_string_value(v);

		if (!strcmp(s, "yes") || !strcmp(s, "no") || !strcmp(s, "on") ||
		    !strcmp(s, "off") || !strcmp(s, "y") || !strcmp(s, "n"))
			hint = " (YAML 1.2: yes/no/on/off are strings; write true or false)";
	}
	if (json_is_string(v) && !(value_flags(ctx, parent, key) & YJ_FROM_VAR) &&
	    (value_flags(ctx, parent, key) & YJ_QUOTED)) {
		unsigned flags;
		json_t *typed = yj_resolve_plain(json_string_value(v), strlen(json_string_value(v)),
						 &flags);

		/* "5" where a number is expected, "true" where a boolean is. */
		if (((strstr(expected, "integer") || strstr(expected, "number")) &&
		     json_is_number(typed)) ||
		    (strstr(expected, "boolean") && json_is_boolean(typed)))
			hint = " (remove the quotes)";
		json_decref(typed);
	}
	schema_err_key(ctx, parent, path, key, "expected %s, got %s%s", expected, got, hint);
	free(got);
}

/* A string that was exactly "${var}" takes the type its text has in YAML
 * ("3" -> 3, "true" -> true) where a typed value is expected. */
static json_t *coerce_var(struct schema_ctx *ctx, json_t *parent, const char *key)
{
	json_t *v = json_object_get(parent, key), *typed;
	const struct yj_pos *p = yj_value_pos(ctx->doc, parent, key);
	struct yj_pos pos;
	unsigned flags;

	if (!json_is_string(v) || !p || !(p->flags & YJ_FROM_VAR))
		return v;
	typed = yj_resolve_plain(json_string_value(v), strlen(json_string_value(v)), &flags);
	if (!typed || json_is_string(typed) || json_is_null(typed)) {
		json_decref(typed);
		return v;
	}
	pos = *p;
	json_object_set_new(parent, key, typed);
	yj_set_value_pos(ctx->doc, parent, key, &pos);
	return typed;
}

static int check_regex(struct schema_ctx *ctx, const json_t *parent, const char *path,
		       const char *key, const char *pattern)
{
	pcre2_code *re;
	int code;
	PCRE2_SIZE off;

	re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &off,
			   NULL);
	if (!re) {
		PCRE2_UCHAR buf[256];

		pcre2_get_error_message(code, buf, sizeof(buf));
		schema_err_key(ctx, parent, path, key,
			       "invalid regular expression '%s': %s at offset %zu", pattern,
			       (const char *)buf, (size_t)off);
		return -1;
	}
	pcre2_code_free(re);
	return 0;
}

static int list_has(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n && list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return 1;
	return 0;
}

static char *join_list(const char *const *list, size_t n)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < n && list[i]; i++)
		strbuf_addf(&sb, "%s%s", i ? ", " : "", list[i]);
	return strbuf_detach(&sb);
}

static size_t count(const char *const *list)
{
	size_t n = 0;

	while (list && list[n])
		n++;
	return n;
}

static int check_enum(struct schema_ctx *ctx, json_t *parent, const char *path,
		      const char *key, const char *const *values)
{
	json_t *v = json_object_get(parent, key);
	const char *s = json_string_value(v), *near;
	char *all;

	if (!s) {
		char *want;

		all = join_list(values, count(values));
		want = xasprintf("one of: %s", all);
		err_type(ctx, parent, path, key, want);
		free(want);
		free(all);
		return -1;
	}
	if (list_has(values, count(values), s))
		return 0;
	all = join_list(values, count(values));
	if (strncmp(s, "SIG", 3) == 0 && list_has(values, count(values), s + 3))
		schema_err_key(ctx, parent, path, key, "unknown value '%s': write '%s' without "
			       "the SIG prefix", s, s + 3);
	else if ((near = action_closest(s, values, count(values))))
		schema_err_key(ctx, parent, path, key, "unknown value '%s' (did you mean '%s'? "
			       "expected one of: %s)", s, near, all);
	else
		schema_err_key(ctx, parent, path, key, "unknown value '%s' (expected one of: %s)",
			       s, all);
	free(all);
	return -1;
}

static int check_region(struct schema_ctx *ctx, json_t *parent, const char *path,
			const char *key)
{
	const char *s = json_string_value(json_object_get(parent, key)), *near;
	char *all;

	if (!s || !s[0]) {
		err_type(ctx, parent, path, key, "a region (a role: primary, dr, witness, or a "
			 "region name)");
		return -1;
	}
	if (!ctx->region_names)
		return 0;  /* regions come from the target's configuration */
	if (list_has(ctx->region_names, ctx->nregion_names, s))
		return 0;
	if (strcmp(s, "restored") == 0) {
		if (ctx->have_restore)
			return 0;
		schema_err_key(ctx, parent, path, key, "region 'restored' exists only after a "
			       "restore_snapshot step");
		return -1;
	}
	all = join_list(ctx->region_names, ctx->nregion_names);
	near = action_closest(s, ctx->region_names, ctx->nregion_names);
	if (near)
		schema_err_key(ctx, parent, path, key, "unknown region '%s' (did you mean '%s'? "
			       "expected a role or a region of the topology: %s)", s, near, all);
	else
		schema_err_key(ctx, parent, path, key, "unknown region '%s' (expected a role or "
			       "a region of the topology: %s)", s, all);
	free(all);
	return -1;
}

static int check_argv(struct schema_ctx *ctx, json_t *parent, const char *path,
		      const char *key)
{
	json_t *v = json_object_get(parent, key);
	char *full;
	int bad = 0;

	if (json_is_string(v)) {
		schema_err_key(ctx, parent, path, key, "expected a list of strings (argv), got a "
			       "string: drillrig never runs a shell; write [\"sh\", \"-c\", "
			       "\"...\"] if you need one");
		return -1;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		err_type(ctx, parent, path, key, "a non-empty list of strings (argv)");
		return -1;
	}
	full = schema_join_key(path, key);
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i);

		if (!json_is_string(e) || (i == 0 && !json_string_value(e)[0])) {
			const struct yj_pos *p = yj_index_pos(ctx->doc, v, i);
			char *got = describe(ctx, e, p ? p->flags : 0);

			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, p ? p->line : 0,
				       p ? p->column : 0, "", "%s[%zu]: expected %s, got %s", full,
				       i, i == 0 ? "a program name" : "a string (quote numbers)",
				       got);
			free(got);
			bad = 1;
		}
	}
	free(full);
	return bad ? -1 : 0;
}

/* Strings, numbers and booleans are accepted (label: 200) and stored as
 * strings, since headers, labels and environments are text. */
static int check_strmap(struct schema_ctx *ctx, json_t *parent, const char *path,
			const char *key)
{
	json_t *v = json_object_get(parent, key), *e;
	const char *k;
	char *full;
	int bad = 0;

	if (!json_is_object(v)) {
		err_type(ctx, parent, path, key, "a mapping of names to strings");
		return -1;
	}
	full = schema_join_key(path, key);
	json_object_foreach(v, k, e) {
		char *text = NULL;

		if (json_is_integer(e))
			text = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(e));
		else if (json_is_real(e))
			text = xasprintf("%g", json_real_value(e));
		else if (json_is_boolean(e))
			text = xstrdup(json_is_true(e) ? "true" : "false");
		else if (!json_is_string(e)) {
			err_type(ctx, v, full, k, "a string");
			bad = 1;
		}
		if (text) {
			const struct yj_pos *p = yj_value_pos(ctx->doc, v, k);
			struct yj_pos pos = p ? *p : (struct yj_pos){ 0, 0, 0 };

			json_object_set_new(v, k, json_string(text));
			yj_set_value_pos(ctx->doc, v, k, &pos);
			free(text);
		}
	}
	free(full);
	return bad ? -1 : 0;
}

/* One key of an expect.json entry e (at path ep).  Returns -1 when it is
 * wrong; *nops counts the comparisons seen. */
/* A step's check may say on which targets it applies: the evidence an
 * action returns differs by target (a bundled snapshot has a sha256, a
 * Kubernetes backup an id). */
static int check_expect_targets(struct schema_ctx *ctx, json_t *e, const char *ep, json_t *v)
{
	static const char *const kinds[] = { "local", "kubernetes", "etcd", NULL };
	json_t *t;
	size_t i;

	if (!json_is_array(v) || json_array_size(v) == 0) {
		err_type(ctx, e, ep, "targets", "a list of target kinds (local, kubernetes, etcd)");
		return -1;
	}
	json_array_foreach(v, i, t) {
		const char *k = json_string_value(t);
		const char *near = k ? action_closest(k, kinds, count(kinds)) : NULL;

		if (k && list_has(kinds, count(kinds), k))
			continue;
		schema_err_key(ctx, e, ep, "targets", "'%s' is no target kind%s%s%s", k ? k : "?",
			       near ? " (did you mean '" : " (local, kubernetes or etcd",
			       near ? near : "", near ? "'?)" : ")");
		return -1;
	}
	return 0;
}

static int check_json_expect_key(struct schema_ctx *ctx, json_t *e, const char *ep,
				 const char *k, int *nops, int step)
{
	static const char *const keys[] = { "path", "equals", "ne", "matches", "lt", "le",
					    "gt", "ge", "exists", NULL };
	json_t *v = json_object_get(e, k);

	if (step && strcmp(k, "targets") == 0)
		return check_expect_targets(ctx, e, ep, v);
	if (!list_has(keys, count(keys), k)) {
		const char *near = action_closest(k, keys, count(keys));

		schema_err_keyname(ctx, e, ep, k, "unknown key '%s'%s%s%s", k,
			       near ? " (did you mean '" : " (expected path and one "
			       "of equals, ne, matches, lt, le, gt, ge, exists",
			       near ? near : "", near ? "'?)" : ")");
		return -1;
	}
	if (strcmp(k, "path") == 0) {
		if (!json_is_string(v) || !json_string_value(v)[0]) {
			err_type(ctx, e, ep, k, "a field path like 'leader.region' or "
				 "'members[0].lag'");
			return -1;
		}
		return 0;
	}
	(*nops)++;
	if (strcmp(k, "matches") == 0) {
		if (!json_is_string(v)) {
			err_type(ctx, e, ep, k, "a regular expression");
			return -1;
		}
		if (check_regex(ctx, e, ep, k, json_string_value(v)))
			return -1;
	} else if (k[0] == 'l' || k[0] == 'g') {
		v = coerce_var(ctx, e, k);
		if (!json_is_number(v)) {
			err_type(ctx, e, ep, k, "a number");
			return -1;
		}
	} else if (strcmp(k, "exists") == 0) {
		if (!json_is_boolean(v)) {
			err_type(ctx, e, ep, k, "a boolean");
			return -1;
		}
	}
	return 0;
}

/* Entry i of an expect.json list: {path, and exactly one comparison}. */
static int check_json_expect_entry(struct schema_ctx *ctx, json_t *list, size_t i,
				   const char *ep, int step)
{
	static const char *const ops[] = { "equals", "ne", "matches", "lt", "le", "gt", "ge",
					   "exists", NULL };
	json_t *e = json_array_get(list, i), *v;
	const char *k;
	int nops = 0, bad = 0;

	if (!json_is_object(e)) {
		const struct yj_pos *p = yj_index_pos(ctx->doc, list, i);
		char *got = describe(ctx, e, p ? p->flags : 0);

		plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, p ? p->line : 0,
			       p ? p->column : 0, ep, "expected a mapping {path: ..., "
			       "equals: ...}, got %s", got);
		free(got);
		return -1;
	}
	json_object_foreach(e, k, v) {
		(void)v;
		if (check_json_expect_key(ctx, e, ep, k, &nops, step) != 0)
			bad = 1;
	}
	if (!json_object_get(e, "path")) {
		schema_err_obj(ctx, e, ep, "missing required key 'path'");
		bad = 1;
	}
	if (nops != 1) {
		char *all = join_list(ops, count(ops));

		schema_err_obj(ctx, e, ep, "expected exactly one comparison (%s), found %d",
			       all, nops);
		free(all);
		bad = 1;
	}
	return bad ? -1 : 0;
}

static int check_json_expect(struct schema_ctx *ctx, json_t *parent, const char *path,
			     const char *key, int step)
{
	json_t *list = json_object_get(parent, key);
	char *full;
	int bad = 0;

	if (!json_is_array(list)) {
		err_type(ctx, parent, path, key, "a list of {path, equals|ne|matches|lt|le|gt|ge|"
			 "exists}");
		return -1;
	}
	full = schema_join_key(path, key);
	for (size_t i = 0; i < json_array_size(list); i++) {
		char *ep = xasprintf("%s[%zu]", full, i);

		if (check_json_expect_entry(ctx, list, i, ep, step) != 0)
			bad = 1;
		free(ep);
	}
	free(full);
	return bad ? -1 : 0;
}

static int check_status(struct schema_ctx *ctx, json_t *parent, const char *path,
			const char *key)
{
	json_t *v = coerce_var(ctx, parent, key);

	if (json_is_integer(v)) {
		if (json_integer_value(v) < 100 || json_integer_value(v) > 599) {
			schema_err_key(ctx, parent, path, key, "HTTP status %" JSON_INTEGER_FORMAT
				       " is out of range (100 to 599)", json_integer_value(v));
			return -1;
		}
		return 0;
	}
	if (json_is_array(v) && json_array_size(v) > 0) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);

			if (!json_is_integer(e) || json_integer_value(e) < 100 ||
			    json_integer_value(e) > 599) {
				const struct yj_pos *p = yj_index_pos(ctx->doc, v, i);
				char *full = schema_join_key(path, key);

				plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file,
					       p ? p->line : 0, p ? p->column : 0, "",
					       "%s[%zu]: expected an HTTP status (100 to 599)", full, i);
				free(full);
				return -1;
			}
		}
		return 0;
	}
	err_type(ctx, parent, path, key, "an HTTP status (100 to 599) or a list of them");
	return -1;
}

static int check_snapshot_ref(struct schema_ctx *ctx, json_t *parent, const char *path,
			      const char *key)
{
	const char *s = json_string_value(json_object_get(parent, key));

	if (!s || !s[0]) {
		err_type(ctx, parent, path, key, "the name of an earlier snapshot step or a path");
		return -1;
	}
	if (strchr(s, '/'))
		return 0;  /* a file path */
	if (json_object_get(ctx->snapshot_steps, s))
		return 0;
	if (json_object_size(ctx->snapshot_steps) == 0)
		schema_err_key(ctx, parent, path, key, "'%s' is not an earlier snapshot step (no "
			       "snapshot step comes before this one); a file path must contain "
			       "'/' (./%s)", s, s);
	else {
		struct strbuf sb = STRBUF_INIT;
		const char *k;
		json_t *v;

		json_object_foreach(ctx->snapshot_steps, k, v)
			strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", k);
		schema_err_key(ctx, parent, path, key, "'%s' is not an earlier snapshot step "
			       "(earlier snapshot steps: %s); a file path must contain '/'", s,
			       strbuf_str(&sb));
		strbuf_release(&sb);
	}
	return -1;
}

/* ---- one checker per argument type ----------------------------------------- */

static int check_string(struct schema_ctx *ctx, json_t *parent, const char *path,
			const char *key)
{
	json_t *v = json_object_get(parent, key);

	if (!json_is_string(v) || (value_flags(ctx, parent, key) & YJ_NONFINITE)) {
		err_type(ctx, parent, path, key, "a string");
		return -1;
	}
	if (!json_string_value(v)[0]) {
		schema_err_key(ctx, parent, path, key, "expected a non-empty string");
		return -1;
	}
	return 0;
}

static int check_int(struct schema_ctx *ctx, json_t *parent, const char *path,
		     const char *key, const struct arg_spec *spec)
{
	json_t *v = coerce_var(ctx, parent, key);

	if (!json_is_integer(v)) {
		err_type(ctx, parent, path, key, "an integer");
		return -1;
	}
	if (spec->max == INT64_MAX && json_integer_value(v) < spec->min) {
		schema_err_key(ctx, parent, path, key, "%" JSON_INTEGER_FORMAT
			       " is out of range (at least %lld)", json_integer_value(v),
			       (long long)spec->min);
		return -1;
	}
	if (spec->min < spec->max && (json_integer_value(v) < spec->min ||
				      json_integer_value(v) > spec->max)) {
		schema_err_key(ctx, parent, path, key, "%" JSON_INTEGER_FORMAT
			       " is out of range (%lld to %lld)", json_integer_value(v),
			       (long long)spec->min, (long long)spec->max);
		return -1;
	}
	return 0;
}

static int check_number(struct schema_ctx *ctx, json_t *parent, const char *path,
			const char *key, const struct arg_spec *spec)
{
	json_t *v = coerce_var(ctx, parent, key);

	if (!json_is_number(v)) {
		err_type(ctx, parent, path, key, "a number");
		return -1;
	}
	if (spec->min < spec->max && (json_number_value(v) < (double)spec->min ||
				      json_number_value(v) > (double)spec->max)) {
		schema_err_key(ctx, parent, path, key, "%g is out of range (%lld to %lld)",
			       json_number_value(v), (long long)spec->min,
			       (long long)spec->max);
		return -1;
	}
	return 0;
}

static int check_bool(struct schema_ctx *ctx, json_t *parent, const char *path,
		      const char *key)
{
	json_t *v = coerce_var(ctx, parent, key);

	if (!json_is_boolean(v)) {
		err_type(ctx, parent, path, key, "a boolean (true or false)");
		return -1;
	}
	return 0;
}

/* A duration string ("250ms"), or the integer 0. */
static int check_duration(struct schema_ctx *ctx, json_t *parent, const char *path,
			  const char *key)
{
	json_t *v = json_object_get(parent, key);
	struct dr_error err = DR_ERROR_INIT;
	int64_t ns;

	if (json_is_integer(v) && json_integer_value(v) == 0)
		return 0;
	if (!json_is_string(v) || (value_flags(ctx, parent, key) & YJ_NONFINITE)) {
		char *got = describe(ctx, v, value_flags(ctx, parent, key));

		if (json_is_number(v))
			schema_err_key(ctx, parent, path, key, "expected a duration like "
				       "250ms, 10s or 2m, got %s (add a unit, e.g. '%gs')",
				       got, json_number_value(v));
		else
			schema_err_key(ctx, parent, path, key, "expected a duration like "
				       "250ms, 10s or 2m, got %s", got);
		free(got);
		return -1;
	}
	if (duration_parse(&ns, json_string_value(v), &err) != 0) {
		char *shown = ctx->plan ? plan_redact(ctx->plan, json_string_value(v)) : NULL;

		/* The parser's message quotes pieces of the value (a character,
		 * an unknown unit), which redacting whole values afterwards
		 * misses: for a value holding a secret, only the redacted value. */
		if (shown && strcmp(shown, json_string_value(v)) != 0)
			schema_err_key(ctx, parent, path, key, "invalid duration '%s' (expected "
				       "e.g. '250ms', '10s', '2m')", shown);
		else
			schema_err_key(ctx, parent, path, key, "invalid duration: %s", err.msg);
		free(shown);
		return -1;
	}
	return 0;
}

static int check_node(struct schema_ctx *ctx, json_t *parent, const char *path,
		      const char *key)
{
	json_t *v = coerce_var(ctx, parent, key);

	if (json_is_integer(v) && json_integer_value(v) >= 1)
		return 0;
	if (json_is_string(v) && json_string_value(v)[0] &&
	    !(value_flags(ctx, parent, key) & YJ_NONFINITE))
		return 0;
	err_type(ctx, parent, path, key, "a node id (integer >= 1) or a node name");
	return -1;
}

static int check_replicas(struct schema_ctx *ctx, json_t *parent, const char *path,
			  const char *key)
{
	json_t *v = coerce_var(ctx, parent, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 100)
		return 0;
	if (json_is_string(v) && strcmp(json_string_value(v), "normal") == 0)
		return 0;
	err_type(ctx, parent, path, key, "a replica count (0 to 100) or \"normal\"");
	return -1;
}

static int check_regex_arg(struct schema_ctx *ctx, json_t *parent, const char *path,
			   const char *key)
{
	json_t *v = json_object_get(parent, key);

	if (!json_is_string(v)) {
		err_type(ctx, parent, path, key, "a regular expression (string)");
		return -1;
	}
	return check_regex(ctx, parent, path, key, json_string_value(v));
}

static int check_probe_arg(struct schema_ctx *ctx, json_t *parent, const char *path,
			   const char *key)
{
	char *full = schema_join_key(path, key);
	int rc = schema_check_probe(ctx, json_object_get(parent, key), full);

	free(full);
	return rc;
}

static int check_url(struct schema_ctx *ctx, json_t *parent, const char *path,
		     const char *key)
{
	const char *s = json_string_value(json_object_get(parent, key));

	if (!s) {
		err_type(ctx, parent, path, key, "a URL (http:// or https://)");
		return -1;
	}
	if ((strncmp(s, "http://", 7) != 0 || !s[7]) &&
	    (strncmp(s, "https://", 8) != 0 || !s[8])) {
		schema_err_key(ctx, parent, path, key, "expected an http:// or https:// "
			       "URL, got '%s'", s);
		return -1;
	}
	return 0;
}

int schema_check_value(struct schema_ctx *ctx, json_t *parent, const char *key,
		       const char *path, const struct arg_spec *spec)
{
	/* A failed ${var} was reported already; its text says nothing more. */
	if (value_flags(ctx, parent, key) & YJ_VAR_ERROR)
		return -1;
	switch (spec->type) {
	case ARG_STRING: return check_string(ctx, parent, path, key);
	case ARG_INT: return check_int(ctx, parent, path, key, spec);
	case ARG_NUMBER: return check_number(ctx, parent, path, key, spec);
	case ARG_BOOL: return check_bool(ctx, parent, path, key);
	case ARG_DURATION: return check_duration(ctx, parent, path, key);
	case ARG_ENUM: return check_enum(ctx, parent, path, key, spec->values);
	case ARG_REGION: return check_region(ctx, parent, path, key);
	case ARG_NODE: return check_node(ctx, parent, path, key);
	case ARG_REPLICAS: return check_replicas(ctx, parent, path, key);
	case ARG_ARGV: return check_argv(ctx, parent, path, key);
	case ARG_STRMAP: return check_strmap(ctx, parent, path, key);
	case ARG_REGEX: return check_regex_arg(ctx, parent, path, key);
	case ARG_PROBE: return check_probe_arg(ctx, parent, path, key);
	case ARG_JSON_EXPECT: return check_json_expect(ctx, parent, path, key, 0);
	case ARG_STEP_JSON_EXPECT: return check_json_expect(ctx, parent, path, key, 1);
	case ARG_STATUS: return check_status(ctx, parent, path, key);
	case ARG_URL: return check_url(ctx, parent, path, key);
	case ARG_SNAPSHOT: return check_snapshot_ref(ctx, parent, path, key);
	}
	return 0;
}

/* A default as written in the table, typed for its argument. */
static json_t *default_value(const struct arg_spec *spec)
{
	int64_t n;

	switch (spec->type) {
	case ARG_INT:
	case ARG_STATUS:
		n = strtoll(spec->dflt, NULL, 10);
		return json_integer(n);
	case ARG_NUMBER:
		return json_real(strtod(spec->dflt, NULL));
	case ARG_BOOL:
		return json_boolean(strcmp(spec->dflt, "true") == 0);
	default:
		return json_string(spec->dflt);
	}
}

static const struct arg_spec *find_arg(const struct arg_spec *args, const char *name)
{
	for (; args && args->name; args++)
		if (strcmp(args->name, name) == 0)
			return args;
	return NULL;
}

int schema_check_args(struct schema_ctx *ctx, json_t *obj, const char *path,
		      const struct arg_spec *args, const char *const *extra_keys,
		      const char *what)
{
	size_t before = ctx->diags->errors;
	const char *key;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(obj, tmp, key, v) {
		const char *cands[96];
		size_t n = 0;
		const char *near;

		(void)v;
		if (find_arg(args, key) || list_has(extra_keys, count(extra_keys), key))
			continue;
		for (const struct arg_spec *a = args; a && a->name && n < 64; a++)
			cands[n++] = a->name;
		for (size_t i = 0; extra_keys && extra_keys[i] && n < 95; i++)
			cands[n++] = extra_keys[i];
		cands[n] = NULL;
		near = action_closest(key, cands, n);
		if (near) {
			schema_err_keyname(ctx, obj, path, key, "unknown key '%s' for %s (did you mean "
				       "'%s'?)", key, what, near);
		} else {
			char *all = join_list(cands, n);

			schema_err_keyname(ctx, obj, path, key, "unknown key '%s' for %s (expected one "
				       "of: %s)", key, what, all);
			free(all);
		}
	}
	for (const struct arg_spec *a = args; a && a->name; a++) {
		if (json_object_get(obj, a->name)) {
			schema_check_value(ctx, obj, a->name, path, a);
		} else if (a->required) {
			schema_err_obj(ctx, obj, path, "missing required argument '%s' for %s (%s)",
				       a->name, what, a->doc);
		} else if (a->dflt) {
			json_object_set_new(obj, a->name, default_value(a));
		}
	}
	return (int)(ctx->diags->errors - before);
}

/* ---- probes ---------------------------------------------------------------- */

int schema_check_probe(struct schema_ctx *ctx, json_t *probe, const char *path)
{
	const char *types[16], *type, *near;
	const struct probe_spec *spec;
	struct strbuf what = STRBUF_INIT;
	size_t before = ctx->diags->errors, n = 0;
	struct arg_spec args[32];
	size_t na = 0;
	json_t *expect;

	for (; probe_specs[n] && n < 15; n++)
		types[n] = probe_specs[n]->name;
	types[n] = NULL;
	if (!json_is_object(probe)) {
		char *got = describe(ctx, probe, 0);

		schema_err_obj(ctx, probe, path, "expected a probe mapping like {type: write_read}, "
			       "got %s", got);
		free(got);
		return -1;
	}
	type = json_string_value(json_object_get(probe, "type"));
	if (!type) {
		if (json_object_get(probe, "type"))
			err_type(ctx, probe, path, "type", "a probe type");
		else
			schema_err_obj(ctx, probe, path, "missing required key 'type' (a probe type: "
				       "http, tcp, write_read, cluster_status, metric, command)");
		return -1;
	}
	spec = probe_find(type);
	if (!spec) {
		char *all = join_list(types, n);

		near = action_closest(type, types, n);
		if (near)
			schema_err_key(ctx, probe, path, "type", "unknown probe type '%s' (did you "
				       "mean '%s'?)", type, near);
		else
			schema_err_key(ctx, probe, path, "type", "unknown probe type '%s' (expected "
				       "one of: %s)", type, all);
		free(all);
		return -1;
	}
	/* One table: the common keys, then the type's own. */
	for (const struct arg_spec *a = probe_common_args; a->name; a++)
		if (strcmp(a->name, "type") != 0)
			args[na++] = *a;
	for (const struct arg_spec *a = spec->args; a && a->name && na < 30; a++)
		args[na++] = *a;
	memset(&args[na], 0, sizeof(args[na]));
	strbuf_addf(&what, "probe type '%s'", type);
	{
		static const char *const with_type[] = { "type", "expect", NULL };
		static const char *const type_only[] = { "type", NULL };

		schema_check_args(ctx, probe, path, args, spec->expect ? with_type : type_only,
				  what.buf);
	}
	expect = json_object_get(probe, "expect");
	if (expect && spec->expect) {
		char *ep = schema_join_key(path, "expect");

		if (!json_is_object(expect))
			err_type(ctx, probe, path, "expect", "a mapping of expectations");
		else
			schema_check_args(ctx, expect, ep, spec->expect, NULL, "this probe's expect");
		free(ep);
	}
	if (spec->check)
		spec->check(ctx, probe, path);
	strbuf_release(&what);
	return ctx->diags->errors > before ? -1 : 0;
}
