/* JSON path lookups, comparisons and thresholds (see expect.h). */
#include "assertions/expect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/numparse.h"
#include "common/strbuf.h"

/* ---- JSON paths ---- */

/* "the document" for the root, else 'a.b[0]' (the path up to prefix_len). */
static void where(char *buf, size_t len, const char *path, size_t prefix_len)
{
	const char *p = path;
	size_t n = prefix_len;

	if (n > 0 && p[0] == '$') {
		p++;
		n--;
		if (n > 0 && p[0] == '.') {
			p++;
			n--;
		}
	}
	if (n == 0)
		snprintf(buf, len, "the document");
	else
		snprintf(buf, len, "'%.*s'", (int)n, p);
}

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static void field_list(struct strbuf *sb, const json_t *obj)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	if (json_object_size(obj) == 0) {
		strbuf_adds(sb, "the object is empty");
		return;
	}
	strbuf_adds(sb, "fields: ");
	json_object_foreach((json_t *)obj, key, v) {
		(void)v;
		if (i == 12) {
			strbuf_adds(sb, ", ...");
			break;
		}
		strbuf_addf(sb, "%s%s", i ? ", " : "", key);
		i++;
	}
}

static int path_error(struct dr_error *err, const char *path, size_t offset, const char *what)
{
	return dr_error_set(err, "invalid path '%s' at offset %zu: %s", path, offset, what);
}

/* Step into cur by object key; errors name the path so far. */
static int step_key(json_t **cur, const char *path, size_t seg_start, size_t seg_end,
		    const char *key, struct dr_error *err)
{
	char at[300];
	json_t *next;

	if (!json_is_object(*cur)) {
		where(at, sizeof(at), path, seg_start);
		return dr_error_set(err, "%s is %s, not an object (looking up '%s' in '%s')", at,
				    type_name(*cur), key, path);
	}
	next = json_object_get(*cur, key);
	if (!next) {
		struct strbuf sb = STRBUF_INIT;

		field_list(&sb, *cur);
		dr_error_set(err, "no such field '%s' at '%.*s' (%s)", key, (int)seg_end, path,
			     strbuf_str(&sb));
		strbuf_release(&sb);
		return -1;
	}
	*cur = next;
	return 0;
}

static int step_index(json_t **cur, const char *path, size_t seg_start, size_t seg_end,
		      long long idx, struct dr_error *err)
{
	char at[300];
	size_t size;
	long long real;

	if (!json_is_array(*cur)) {
		where(at, sizeof(at), path, seg_start);
		return dr_error_set(err, "%s is %s, not an array (at '%.*s')", at, type_name(*cur),
				    (int)seg_end, path);
	}
	size = json_array_size(*cur);
	/* Negative indices count from the end, like Python and jq. */
	real = idx < 0 ? (long long)size + idx : idx;
	if (real < 0 || (size_t)real >= size)
		return dr_error_set(err, "index %lld out of range at '%.*s' (array of %zu)", idx,
				    (int)seg_end, path, size);
	*cur = json_array_get(*cur, (size_t)real);
	return 0;
}

/* Parse a bracket at path[*i] == '[': a (possibly negative) integer or a
 * quoted key.  On return *i is past ']'. */
static int parse_bracket(const char *path, size_t *i, bool *is_key, long long *idx, char **key,
			 struct dr_error *err)
{
	size_t start = *i + 1, j = start;

	if (path[j] == '"' || path[j] == '\'') {
		char quote = path[j];
		struct strbuf sb = STRBUF_INIT;

		j++;
		while (path[j] && path[j] != quote) {
			if (path[j] == '\\' && path[j + 1])
				j++;
			strbuf_addch(&sb, path[j]);
			j++;
		}
		if (path[j] != quote || path[j + 1] != ']') {
			strbuf_release(&sb);
			return path_error(err, path, start, "unterminated quoted key");
		}
		*is_key = true;
		*key = strbuf_detach(&sb);
		*i = j + 2;
		return 0;
	}
	while (path[j] && path[j] != ']')
		j++;
	if (path[j] != ']')
		return path_error(err, path, *i, "missing ']'");
	{
		char num[32];
		int64_t v;

		if (j - start == 0 || j - start >= sizeof(num))
			return path_error(err, path, start, "expected an array index");
		memcpy(num, path + start, j - start);
		num[j - start] = '\0';
		if (parse_int64(&v, num, -(INT64_C(1) << 40), INT64_C(1) << 40) < 0)
			return path_error(err, path, start, "expected an array index");
		*idx = (long long)v;
	}
	*is_key = false;
	*i = j + 1;
	return 0;
}

/* Walk path from root; with syntax_only, check the syntax and touch no
 * JSON (so a malformed path is reported as such, whatever the document). */
static int path_walk(json_t **out, json_t *root, const char *path, bool syntax_only,
		     struct dr_error *err)
{
	json_t *cur = root;
	size_t i = 0;
	bool need_name = true; /* a bare name may follow (start, or after '.') */

	*out = NULL;
	if (!path || !*path)
		return dr_error_set(err, "invalid path: empty");
	if (path[0] == '$') {
		i = 1;
		need_name = false;
		if (path[i] && path[i] != '.' && path[i] != '[')
			return path_error(err, path, i, "expected '.' or '[' after '$'");
	}
	while (path[i]) {
		size_t seg_start = i;

		if (path[i] == '.') {
			i++;
			if (!path[i] || path[i] == '.' || path[i] == '[')
				return path_error(err, path, i, "expected a field name after '.'");
			need_name = true;
			continue;
		}
		if (path[i] == '[') {
			bool is_key = false;
			long long idx = 0;
			char *key = NULL;
			int rc;

			if (parse_bracket(path, &i, &is_key, &idx, &key, err) < 0)
				return -1;
			rc = syntax_only ? 0
			     : is_key ? step_key(&cur, path, seg_start, i, key, err)
				      : step_index(&cur, path, seg_start, i, idx, err);
			free(key);
			if (rc < 0)
				return -1;
			need_name = false;
			continue;
		}
		if (!need_name)
			return path_error(err, path, i, "expected '.' or '['");
		{
			size_t j = i;
			char *key;
			int rc;

			while (path[j] && path[j] != '.' && path[j] != '[')
				j++;
			key = xstrndup(path + i, j - i);
			/* seg_start for the message is where the parent ended. */
			rc = syntax_only ? 0 : step_key(&cur, path, seg_start > 0 ? seg_start - 1 : 0,
							j, key, err);
			free(key);
			if (rc < 0)
				return -1;
			i = j;
			need_name = false;
		}
	}
	*out = cur;
	return 0;
}

int json_path_lookup(json_t **out, json_t *root, const char *path, struct dr_error *err)
{
	json_t *ignored;

	*out = NULL;
	if (path_walk(&ignored, NULL, path, true, err) < 0)
		return -1;
	return path_walk(out, root, path, false, err);
}

/* ---- comparisons ---- */

static const struct {
	enum expect_op op;
	const char *name;
	const char *symbol;
	const char *alias;
} ops[] = {
	{ EXPECT_EQUALS, "equals", "==", "eq" },
	{ EXPECT_NOT_EQUALS, "not_equals", "!=", "ne" },
	{ EXPECT_MATCHES, "matches", "=~", "match" },
	{ EXPECT_LT, "lt", "<", "less_than" },
	{ EXPECT_LE, "le", "<=", "at_most" },
	{ EXPECT_GT, "gt", ">", "greater_than" },
	{ EXPECT_GE, "ge", ">=", "at_least" },
};

#define N_OPS (sizeof(ops) / sizeof(ops[0]))

int expect_op_parse(enum expect_op *out, const char *text, struct dr_error *err)
{
	for (size_t i = 0; text && i < N_OPS; i++) {
		if (strcmp(text, ops[i].name) == 0 || strcmp(text, ops[i].symbol) == 0 ||
		    strcmp(text, ops[i].alias) == 0) {
			*out = ops[i].op;
			return 0;
		}
	}
	return dr_error_set(err, "unknown comparison '%s' (expected equals, not_equals, matches, "
			    "lt, le, gt, ge or ==, !=, =~, <, <=, >, >=)", text ? text : "");
}

const char *expect_op_name(enum expect_op op)
{
	for (size_t i = 0; i < N_OPS; i++)
		if (ops[i].op == op)
			return ops[i].name;
	return "?";
}

const char *expect_op_symbol(enum expect_op op)
{
	for (size_t i = 0; i < N_OPS; i++)
		if (ops[i].op == op)
			return ops[i].symbol;
	return "?";
}

/* Compact JSON text of v, at most ~120 bytes, into buf. */
static void render(char *buf, size_t len, const json_t *v)
{
	char *s;

	if (!v) {
		snprintf(buf, len, "missing");
		return;
	}
	s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
	if (!s) {
		snprintf(buf, len, "?");
		return;
	}
	if (strlen(s) > 120)
		snprintf(buf, len, "%.117s...", s);
	else
		snprintf(buf, len, "%s", s);
	free(s);
}

/* A number, or a string that is entirely a number (APIs such as etcd's
 * JSON gateway send 64-bit integers as strings). */
static bool as_number(const json_t *v, double *out)
{
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	if (json_is_string(v))
		return parse_double(out, json_string_value(v)) == 0;
	return false;
}

static bool values_equal(const json_t *a, const json_t *b)
{
	double x, y;

	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if ((json_is_number(a) || json_is_number(b)) && as_number(a, &x) && as_number(b, &y))
		return x == y;
	return json_equal((json_t *)a, (json_t *)b);
}

static bool order_holds(double a, enum expect_op op, double b)
{
	switch (op) {
	case EXPECT_LT: return a < b;
	case EXPECT_LE: return a <= b;
	case EXPECT_GT: return a > b;
	case EXPECT_GE: return a >= b;
	default: return false;
	}
}

int expect_compare(struct expect_result *out, const json_t *actual, enum expect_op op,
		   const json_t *expected, const char *what, struct dr_error *err)
{
	char a[160], e[160];
	const char *subject = what && *what ? what : "value";
	double x, y;

	memset(out, 0, sizeof(*out));
	render(a, sizeof(a), actual);
	render(e, sizeof(e), expected);
	if (!expected)
		return dr_error_set(err, "'%s' needs an expected value", expect_op_name(op));
	switch (op) {
	case EXPECT_EQUALS:
	case EXPECT_NOT_EQUALS: {
		bool eq = actual && values_equal(actual, expected);

		out->passed = op == EXPECT_EQUALS ? eq : (actual && !eq);
		snprintf(out->message, sizeof(out->message), "%s is %s, expected %s%s", subject, a,
			 op == EXPECT_EQUALS ? "" : "anything but ", e);
		return 0;
	}
	case EXPECT_MATCHES: {
		const char *text;
		char *dumped = NULL;
		int rc;

		if (!json_is_string(expected))
			return dr_error_set(err, "'matches' needs a regex string, got %s", e);
		if (!actual) {
			/* Still compile the regex: a bad pattern is a plan error. */
			struct expect_regex *re = NULL;

			if (expect_regex_compile(&re, json_string_value(expected), err) < 0)
				return -1;
			expect_regex_free(re);
			snprintf(out->message, sizeof(out->message), "%s is missing", subject);
			return 0;
		}
		if (json_is_string(actual)) {
			text = json_string_value(actual);
		} else {
			dumped = json_dumps(actual, JSON_ENCODE_ANY | JSON_COMPACT);
			text = dumped ? dumped : "";
		}
		rc = expect_regex_check(out, json_string_value(expected), text, strlen(text), err);
		if (rc == 0)
			snprintf(out->message, sizeof(out->message), "%s is %s, which %s /%s/",
				 subject, a, out->passed ? "matches" : "does not match",
				 json_string_value(expected));
		free(dumped);
		return rc;
	}
	case EXPECT_LT:
	case EXPECT_LE:
	case EXPECT_GT:
	case EXPECT_GE:
		if (!as_number(expected, &y))
			return dr_error_set(err, "'%s' needs a number, got %s", expect_op_name(op), e);
		if (!actual || !as_number(actual, &x)) {
			snprintf(out->message, sizeof(out->message), "%s is %s, not a number "
				 "(expected %s %s)", subject, a, expect_op_symbol(op), e);
			return 0;
		}
		out->passed = order_holds(x, op, y);
		snprintf(out->message, sizeof(out->message), "%s is %s, expected %s %s", subject, a,
			 expect_op_symbol(op), e);
		return 0;
	}
	return dr_error_set(err, "unknown comparison %d", (int)op);
}

int expect_json_field(struct expect_result *out, json_t *root, const char *path,
		      enum expect_op op, const json_t *expected, struct dr_error *err)
{
	struct dr_error lookup = DR_ERROR_INIT;
	json_t *v = NULL;
	char what[300];

	memset(out, 0, sizeof(*out));
	if (json_path_lookup(&v, root, path, &lookup) < 0) {
		/* A malformed path is the plan's fault; a missing field the target's. */
		if (strncmp(lookup.msg, "invalid path", 12) == 0) {
			*err = lookup;
			return -1;
		}
		/* The expectation is still checked for validity. */
		if (expect_compare(out, NULL, op, expected, path, err) < 0)
			return -1;
		out->passed = false;
		str_copy(out->message, sizeof(out->message), lookup.msg);
		return 0;
	}
	snprintf(what, sizeof(what), "field '%s'", path);
	return expect_compare(out, v, op, expected, what, err);
}

int threshold_check(struct expect_result *out, double value, enum expect_op op, double limit,
		    const char *what, struct dr_error *err)
{
	const char *subject = what && *what ? what : "value";

	memset(out, 0, sizeof(*out));
	switch (op) {
	case EXPECT_MATCHES:
		return dr_error_set(err, "a threshold needs a numeric comparison, not 'matches'");
	case EXPECT_EQUALS:
		out->passed = value == limit;
		break;
	case EXPECT_NOT_EQUALS:
		out->passed = !isnan(value) && value != limit;
		break;
	default:
		out->passed = order_holds(value, op, limit);
		break;
	}
	/* %.15g reads well (0.1, not 0.10000000000000001); fall back to
	 * %.17g when it would not read back as the same number. */
	{
		char v[40], l[40];

		snprintf(v, sizeof(v), "%.15g", value);
		if (strtod(v, NULL) != value)
			snprintf(v, sizeof(v), "%.17g", value);
		snprintf(l, sizeof(l), "%.15g", limit);
		if (strtod(l, NULL) != limit)
			snprintf(l, sizeof(l), "%.17g", limit);
		snprintf(out->message, sizeof(out->message), "%s is %s, expected %s %s", subject, v,
			 expect_op_symbol(op), l);
	}
	return 0;
}
