/* Fuzz the expectation evaluator (assertions/expect.h).  The first byte
 * picks what to fuzz, the rest of the first line is the expectation and
 * everything after the first newline is what the target answered:
 *   r<pattern>\n<subject>          regex compile + match (pcre2)
 *   p<json path>\n<json document>  path lookup, then compare the field
 *   c<op> <expected json>\n<json>  comparison of two JSON values
 *   t<op> <limit>\n<number>        numeric threshold
 * Any other first byte is mapped onto one of these. */
#include <stdio.h>

#include "assertions/expect.h"
#include "tests/fuzz/fuzz_util.h"

/* Every evaluation ends in either a verdict or an error with a message. */
static void check_outcome(int rc, const struct dr_error *err, const char *what)
{
	if (rc != 0 && rc != -1) {
		fprintf(stderr, "%s returned %d\n", what, rc);
		abort();
	}
	if (rc == -1 && err->msg[0] == '\0') {
		fprintf(stderr, "%s failed without a message\n", what);
		abort();
	}
}

static void fuzz_regex(const char *pattern, const uint8_t *subject, size_t len)
{
	struct expect_result res;
	struct dr_error err = DR_ERROR_INIT;

	check_outcome(expect_regex_check(&res, pattern, (const char *)subject, len, &err), &err,
		      "expect_regex_check");
}

static void fuzz_path(const char *path, const uint8_t *doc, size_t len)
{
	struct expect_result res;
	struct dr_error err = DR_ERROR_INIT;
	json_t *root = json_loadb((const char *)doc, len, JSON_DECODE_ANY, NULL);
	json_t *found = NULL, *expected = json_string("ok");

	if (!root)
		root = json_null();
	check_outcome(json_path_lookup(&found, root, path, &err), &err, "json_path_lookup");
	err.msg[0] = '\0';
	check_outcome(expect_json_field(&res, root, path, EXPECT_EQUALS, expected, &err), &err,
		      "expect_json_field");
	json_decref(expected);
	json_decref(root);
}

static void fuzz_compare(const char *spec, const uint8_t *doc, size_t len)
{
	struct expect_result res;
	struct dr_error err = DR_ERROR_INIT;
	const char *sp = strchr(spec, ' ');
	char *opname = sp ? strndup(spec, (size_t)(sp - spec)) : strdup(spec);
	json_t *expected = json_loads(sp ? sp + 1 : "", JSON_DECODE_ANY, NULL);
	json_t *actual = json_loadb((const char *)doc, len, JSON_DECODE_ANY, NULL);
	enum expect_op op;

	if (expect_op_parse(&op, opname, &err) == 0) {
		if (!expected)
			expected = json_string(sp ? sp + 1 : "");
		err.msg[0] = '\0';
		check_outcome(expect_compare(&res, actual, op, expected, "field 'x'", &err), &err,
			      "expect_compare");
		(void)expect_op_name(op);
		(void)expect_op_symbol(op);
	}
	free(opname);
	json_decref(expected);
	json_decref(actual);
}

static void fuzz_threshold(const char *spec, const uint8_t *num, size_t len)
{
	struct expect_result res;
	struct dr_error err = DR_ERROR_INIT;
	const char *sp = strchr(spec, ' ');
	char *opname = sp ? strndup(spec, (size_t)(sp - spec)) : strdup(spec);
	char *value = fuzz_strndup(num, len);
	enum expect_op op;

	if (expect_op_parse(&op, opname, &err) == 0) {
		err.msg[0] = '\0';
		check_outcome(threshold_check(&res, strtod(value, NULL), op,
					      sp ? strtod(sp + 1, NULL) : 0.0, "metric 'x'", &err),
			      &err, "threshold_check");
	}
	free(opname);
	free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *rest;
	size_t rest_len;
	char *head;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	head = fuzz_split_line(data + 1, size - 1, &rest, &rest_len);
	switch (mode == 'r' || mode == 'p' || mode == 'c' || mode == 't' ? mode : "rpct"[mode % 4]) {
	case 'r':
		fuzz_regex(head, rest, rest_len);
		break;
	case 'p':
		fuzz_path(head, rest, rest_len);
		break;
	case 'c':
		fuzz_compare(head, rest, rest_len);
		break;
	default:
		fuzz_threshold(head, rest, rest_len);
		break;
	}
	free(head);
	return 0;
}
