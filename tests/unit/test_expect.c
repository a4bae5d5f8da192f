/* Expectations: regexes (and their compile errors), JSON paths (and their
 * "no such field" messages), every comparison operator, thresholds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <jansson.h>

#include "assertions/expect.h"

static void assert_contains(const char *s, const char *fragment)
{
	if (!strstr(s, fragment))
		fail_msg("'%s' does not mention '%s'", s, fragment);
}

static json_t *doc(void)
{
	json_error_t jerr;
	json_t *j = json_loads("{\"leader\": {\"id\": 3, \"region\": \"dr\"},"
			       " \"members\": [{\"id\": 1, \"lag\": 0.5}, {\"id\": 2, \"lag\": \"12\"}],"
			       " \"replication\": \"Fully replicated\", \"term\": 4, \"ratio\": 0.1,"
			       " \"ok\": true, \"nothing\": null, \"a.b\": {\"c\": 7}}", 0, &jerr);

	if (!j)
		fail_msg("fixture: %s", jerr.text);
	return j;
}

/* ---- regex ---- */

static void test_regex_match_and_no_match(void **state)
{
	struct expect_result r;
	struct dr_error err = DR_ERROR_INIT;
	const char *body = "{\"status\":\"SERVING\"}\nleader: 3\n";

	(void)state;
	assert_int_equal(expect_regex_check(&r, "\"status\":\"SERVING\"", body, strlen(body), &err), 0);
	assert_true(r.passed);
	assert_int_equal(expect_regex_check(&r, "^leader: [0-9]+$", body, strlen(body), &err), 0);
	assert_false(r.passed); /* ^/$ are whole-subject anchors without (?m) */
	assert_int_equal(expect_regex_check(&r, "(?m)^leader: [0-9]+$", body, strlen(body), &err), 0);
	assert_true(r.passed);
	assert_int_equal(expect_regex_check(&r, "NOT_SERVING", body, strlen(body), &err), 0);
	assert_false(r.passed);
	assert_contains(r.message, "does not match /NOT_SERVING/");
}

static void test_regex_compile_error_has_offset(void **state)
{
	struct expect_regex *re = NULL;
	struct expect_result r;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	assert_int_equal(expect_regex_compile(&re, "a(b", &err), -1);
	assert_null(re);
	assert_contains(err.msg, "invalid regex 'a(b': missing closing parenthesis");
	assert_contains(err.msg, "at offset 3");
	assert_int_equal(expect_regex_check(&r, "x[", "x", 1, &err), -1);
	assert_contains(err.msg, "invalid regex 'x['");
}

static void test_regex_reuse_and_binary_subject(void **state)
{
	struct expect_regex *re = NULL;
	struct dr_error err = DR_ERROR_INIT;
	bool m = false;
	const char subject[] = { 'a', '\0', 'b', 'c' };

	(void)state;
	assert_int_equal(expect_regex_compile(&re, "bc", &err), 0);
	assert_string_equal(expect_regex_pattern(re), "bc");
	/* The length is honoured: a NUL byte does not end the subject. */
	assert_int_equal(expect_regex_match(&m, re, subject, sizeof(subject), &err), 0);
	assert_true(m);
	assert_int_equal(expect_regex_match(&m, re, subject, 2, &err), 0);
	assert_false(m);
	expect_regex_free(re);
}

/* ---- JSON paths ---- */

static void test_path_forms(void **state)
{
	json_t *j = doc(), *v = NULL;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	assert_int_equal(json_path_lookup(&v, j, "leader.region", &err), 0);
	assert_string_equal(json_string_value(v), "dr");
	assert_int_equal(json_path_lookup(&v, j, "$.leader.id", &err), 0);
	assert_int_equal(json_integer_value(v), 3);
	assert_int_equal(json_path_lookup(&v, j, "members[1].id", &err), 0);
	assert_int_equal(json_integer_value(v), 2);
	assert_int_equal(json_path_lookup(&v, j, "$.members[-1].lag", &err), 0);
	assert_string_equal(json_string_value(v), "12");
	assert_int_equal(json_path_lookup(&v, j, "$", &err), 0);
	assert_ptr_equal(v, j);
	assert_int_equal(json_path_lookup(&v, j, "[\"a.b\"].c", &err), 0);
	assert_int_equal(json_integer_value(v), 7);
	assert_int_equal(json_path_lookup(&v, j, "$['a.b']['c']", &err), 0);
	assert_int_equal(json_integer_value(v), 7);
	assert_int_equal(json_path_lookup(&v, j, "nothing", &err), 0);
	assert_true(json_is_null(v));
	json_decref(j);
}

static void test_path_errors(void **state)
{
	json_t *j = doc(), *v = NULL;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	assert_int_equal(json_path_lookup(&v, j, "leader.zone", &err), -1);
	assert_null(v);
	assert_contains(err.msg, "no such field 'zone' at 'leader.zone' (fields: id, region)");
	assert_int_equal(json_path_lookup(&v, j, "members[2].id", &err), -1);
	assert_contains(err.msg, "index 2 out of range at 'members[2]' (array of 2)");
	assert_int_equal(json_path_lookup(&v, j, "leader.region.name", &err), -1);
	assert_contains(err.msg, "'leader.region' is a string, not an object");
	assert_int_equal(json_path_lookup(&v, j, "leader[0]", &err), -1);
	assert_contains(err.msg, "'leader' is an object, not an array");
	assert_int_equal(json_path_lookup(&v, j, "$.missing", &err), -1);
	assert_contains(err.msg, "no such field 'missing' at '$.missing'");
	assert_int_equal(json_path_lookup(&v, j, "a..b", &err), -1);
	assert_contains(err.msg, "invalid path 'a..b' at offset 2");
	assert_int_equal(json_path_lookup(&v, j, "members[x]", &err), -1);
	assert_contains(err.msg, "expected an array index");
	assert_int_equal(json_path_lookup(&v, j, "members[0", &err), -1);
	assert_contains(err.msg, "missing ']'");
	assert_int_equal(json_path_lookup(&v, j, "", &err), -1);
	assert_contains(err.msg, "empty");
	assert_int_equal(json_path_lookup(&v, j, "$x", &err), -1);
	assert_contains(err.msg, "after '$'");
	assert_int_equal(json_path_lookup(&v, j, "members[0]x", &err), -1);
	assert_contains(err.msg, "expected '.' or '['");
	json_decref(j);
}

/* ---- comparisons ---- */

static bool cmp(json_t *root, const char *path, const char *op_text, json_t *expected)
{
	struct expect_result r;
	struct dr_error err = DR_ERROR_INIT;
	enum expect_op op;

	if (expect_op_parse(&op, op_text, &err) < 0)
		fail_msg("%s", err.msg);
	if (expect_json_field(&r, root, path, op, expected, &err) < 0)
		fail_msg("%s %s: %s", path, op_text, err.msg);
	json_decref(expected);
	return r.passed;
}

static void test_equals(void **state)
{
	json_t *j = doc();

	(void)state;
	assert_true(cmp(j, "leader.region", "equals", json_string("dr")));
	assert_false(cmp(j, "leader.region", "equals", json_string("primary")));
	assert_true(cmp(j, "term", "==", json_real(4.0)));        /* 4 == 4.0 */
	assert_true(cmp(j, "members[1].lag", "eq", json_integer(12))); /* "12" == 12 */
	assert_false(cmp(j, "leader.region", "equals", json_integer(3)));
	assert_true(cmp(j, "ok", "equals", json_true()));
	assert_true(cmp(j, "nothing", "equals", json_null()));
	assert_true(cmp(j, "leader", "equals", json_pack("{s:i,s:s}", "id", 3, "region", "dr")));
	assert_true(cmp(j, "leader.region", "not_equals", json_string("primary")));
	assert_false(cmp(j, "term", "!=", json_integer(4)));
	json_decref(j);
}

static void test_matches(void **state)
{
	json_t *j = doc();

	(void)state;
	assert_true(cmp(j, "replication", "matches", json_string("^Fully")));
	assert_false(cmp(j, "replication", "=~", json_string("^Not")));
	assert_true(cmp(j, "term", "matches", json_string("^[0-9]+$"))); /* number as text */
	assert_true(cmp(j, "ok", "matches", json_string("true")));
	json_decref(j);
}

static void test_ordering(void **state)
{
	json_t *j = doc();

	(void)state;
	assert_true(cmp(j, "term", "lt", json_integer(5)));
	assert_false(cmp(j, "term", "lt", json_integer(4)));
	assert_true(cmp(j, "term", "le", json_integer(4)));
	assert_false(cmp(j, "term", "le", json_real(3.5)));
	assert_true(cmp(j, "members[0].lag", "gt", json_real(0.25)));
	assert_false(cmp(j, "members[0].lag", ">", json_real(0.5)));
	assert_true(cmp(j, "members[0].lag", ">=", json_real(0.5)));
	assert_false(cmp(j, "members[0].lag", "ge", json_integer(1)));
	assert_true(cmp(j, "members[1].lag", "<", json_string("13"))); /* numeric strings */
	json_decref(j);
}

static void test_failed_check_messages(void **state)
{
	json_t *j = doc(), *e;
	struct expect_result r;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	e = json_string("primary");
	assert_int_equal(expect_json_field(&r, j, "leader.region", EXPECT_EQUALS, e, &err), 0);
	assert_false(r.passed);
	assert_string_equal(r.message, "field 'leader.region' is \"dr\", expected \"primary\"");
	json_decref(e);

	/* A string where a number was expected: a failed check, not an error. */
	e = json_integer(5);
	assert_int_equal(expect_json_field(&r, j, "leader.region", EXPECT_LT, e, &err), 0);
	assert_false(r.passed);
	assert_contains(r.message, "not a number");

	/* A missing field fails with the lookup's message. */
	assert_int_equal(expect_json_field(&r, j, "leader.zone", EXPECT_LT, e, &err), 0);
	assert_false(r.passed);
	assert_contains(r.message, "no such field 'zone'");
	json_decref(e);
	json_decref(j);
}

static void test_plan_errors(void **state)
{
	json_t *j = doc(), *e;
	struct expect_result r;
	struct dr_error err = DR_ERROR_INIT;
	enum expect_op op;

	(void)state;
	e = json_string("abc");
	assert_int_equal(expect_json_field(&r, j, "term", EXPECT_GT, e, &err), -1);
	assert_contains(err.msg, "'gt' needs a number, got \"abc\"");
	json_decref(e);

	e = json_integer(3);
	assert_int_equal(expect_json_field(&r, j, "term", EXPECT_MATCHES, e, &err), -1);
	assert_contains(err.msg, "'matches' needs a regex string");
	json_decref(e);

	e = json_string("a(");
	assert_int_equal(expect_json_field(&r, j, "replication", EXPECT_MATCHES, e, &err), -1);
	assert_contains(err.msg, "invalid regex 'a('");
	/* ... even when the field is missing. */
	assert_int_equal(expect_json_field(&r, j, "zone", EXPECT_MATCHES, e, &err), -1);
	json_decref(e);

	e = json_integer(1);
	assert_int_equal(expect_json_field(&r, j, "a..b", EXPECT_EQUALS, e, &err), -1);
	assert_contains(err.msg, "invalid path");
	json_decref(e);

	assert_int_equal(expect_op_parse(&op, "approximately", &err), -1);
	assert_contains(err.msg, "unknown comparison 'approximately'");
	json_decref(j);
}

static void test_op_names(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	enum expect_op op;
	const char *names[] = { "equals", "not_equals", "matches", "lt", "le", "gt", "ge" };

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(expect_op_parse(&op, names[i], &err), 0);
		assert_string_equal(expect_op_name(op), names[i]);
		assert_int_equal(expect_op_parse(&op, expect_op_symbol(op), &err), 0);
		assert_string_equal(expect_op_name(op), names[i]);
	}
}

/* ---- thresholds ---- */

static bool thr(double v, enum expect_op op, double limit)
{
	struct expect_result r;
	struct dr_error err = DR_ERROR_INIT;

	if (threshold_check(&r, v, op, limit, "x", &err) < 0)
		fail_msg("%s", err.msg);
	return r.passed;
}

static void test_thresholds(void **state)
{
	struct expect_result r;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	assert_true(thr(4, EXPECT_LT, 5));
	assert_false(thr(5, EXPECT_LT, 5));
	assert_true(thr(5, EXPECT_LE, 5));
	assert_true(thr(6, EXPECT_GT, 5));
	assert_false(thr(5, EXPECT_GT, 5));
	assert_true(thr(5, EXPECT_GE, 5));
	assert_true(thr(1, EXPECT_EQUALS, 1));
	assert_true(thr(2, EXPECT_NOT_EQUALS, 1));
	assert_true(thr(INFINITY, EXPECT_GT, 1e300));
	/* NaN never passes, whatever the operator. */
	assert_false(thr(NAN, EXPECT_LT, 5));
	assert_false(thr(NAN, EXPECT_GE, 5));
	assert_false(thr(NAN, EXPECT_EQUALS, NAN));
	assert_false(thr(NAN, EXPECT_NOT_EQUALS, 5));

	assert_int_equal(threshold_check(&r, 7.2, EXPECT_LE, 5, "ledger_replication_lag_seconds",
					 &err), 0);
	assert_false(r.passed);
	assert_string_equal(r.message, "ledger_replication_lag_seconds is 7.2, expected <= 5");
	assert_int_equal(threshold_check(&r, 0.1, EXPECT_GE, 0.1, "x", &err), 0);
	assert_string_equal(r.message, "x is 0.1, expected >= 0.1");
	assert_int_equal(threshold_check(&r, 1, EXPECT_MATCHES, 1, "x", &err), -1);
	assert_contains(err.msg, "not 'matches'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regex_match_and_no_match),
		cmocka_unit_test(test_regex_compile_error_has_offset),
		cmocka_unit_test(test_regex_reuse_and_binary_subject),
		cmocka_unit_test(test_path_forms),
		cmocka_unit_test(test_path_errors),
		cmocka_unit_test(test_equals),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_ordering),
		cmocka_unit_test(test_failed_check_messages),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_op_names),
		cmocka_unit_test(test_thresholds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
