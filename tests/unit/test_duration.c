/* Duration parser: every accepted form and every rejection names its cause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "harness/plan/duration.h"

static int64_t parse_ok(const char *text)
{
	struct dr_error err = DR_ERROR_INIT;
	int64_t ns = -1;

	if (duration_parse(&ns, text, &err) != 0)
		fail_msg("'%s' should parse, got: %s", text, err.msg);
	return ns;
}

static void expect_error(const char *text, const char *fragment)
{
	struct dr_error err = DR_ERROR_INIT;
	int64_t ns = 12345;

	assert_int_equal(duration_parse(&ns, text, &err), -1);
	assert_int_equal(ns, 12345); /* untouched on failure */
	if (!strstr(err.msg, fragment))
		fail_msg("error for '%s' was '%s', expected it to mention '%s'",
			 text ? text : "(null)", err.msg, fragment);
}

static void test_simple_units(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("250ms"), INT64_C(250000000));
	assert_int_equal(parse_ok("10s"), INT64_C(10000000000));
	assert_int_equal(parse_ok("2m"), INT64_C(120000000000));
	assert_int_equal(parse_ok("1h"), INT64_C(3600000000000));
	assert_int_equal(parse_ok("15us"), INT64_C(15000));
	assert_int_equal(parse_ok("7ns"), INT64_C(7));
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("0s"), 0);
}

static void test_compound_and_fraction(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1h30m"), INT64_C(5400000000000));
	assert_int_equal(parse_ok("2m30s"), INT64_C(150000000000));
	assert_int_equal(parse_ok("1s500ms"), INT64_C(1500000000));
	assert_int_equal(parse_ok("1.5s"), INT64_C(1500000000));
	assert_int_equal(parse_ok("0.25s"), INT64_C(250000000));
}

static void test_rejects_empty_and_sign(void **state)
{
	(void)state;
	expect_error("", "empty duration");
	expect_error(NULL, "empty duration");
	expect_error("-5s", "must not have a sign");
	expect_error("+5s", "must not have a sign");
}

static void test_rejects_unknown_unit_and_missing_unit(void **state)
{
	(void)state;
	expect_error("10x", "unknown unit 'x'");
	expect_error("10sec", "unknown unit 'sec'");
	expect_error("5d", "unknown unit 'd'");
	expect_error("10", "missing unit");
	expect_error("1.", "expected digits after '.'");
}

static void test_rejects_trailing_junk_and_order(void **state)
{
	(void)state;
	expect_error("10s ", "unexpected ' '");
	expect_error(" 10s", "unexpected ' '");
	expect_error("10s!", "unexpected '!'");
	expect_error("30m1h", "out of order");
	expect_error("1s1s", "out of order");
}

static void test_rejects_overflow(void **state)
{
	(void)state;
	expect_error("99999999999999999999s", "too large");
	expect_error("9223372036854775807ns9s", "too large");
	expect_error("8d", "unknown unit");
	expect_error("200h", "too large");
	assert_int_equal(parse_ok("168h"), DURATION_MAX_NS);
}

static void test_format_round_trips(void **state)
{
	static const char *const cases[] = { "250ms", "10s", "2m", "1h30m", "1.5s", "0s", "2m30s" };
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		duration_format(buf, sizeof(buf), parse_ok(cases[i]));
		assert_string_equal(buf, cases[i]);
	}
}

/* Found by fuzzing: a long fraction of an hour overflowed int64. */
static void test_duration_long_fraction_does_not_overflow(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("1.99999999999h"), INT64_C(7199999996400));
	assert_int_equal(parse_ok("0.000000001s"), 1);
}

/* Found by fuzzing: 1ns formatted as "0us", 1500us as "1ms". */
static void test_duration_format_is_exact(void **state)
{
	static const char *const cases[] = { "1ns", "1500us", "1us", "2s1ns" };
	static const char *const want[] = { "1ns", "1500us", "1us", "2000000001ns" };
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		duration_format(buf, sizeof(buf), parse_ok(cases[i]));
		assert_string_equal(buf, want[i]);
		assert_int_equal(parse_ok(buf), parse_ok(cases[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_units),
		cmocka_unit_test(test_compound_and_fraction),
		cmocka_unit_test(test_rejects_empty_and_sign),
		cmocka_unit_test(test_rejects_unknown_unit_and_missing_unit),
		cmocka_unit_test(test_rejects_trailing_junk_and_order),
		cmocka_unit_test(test_rejects_overflow),
		cmocka_unit_test(test_format_round_trips),
		cmocka_unit_test(test_duration_long_fraction_does_not_overflow),
		cmocka_unit_test(test_duration_format_is_exact),
	};

	return cmocka_run_group_tests_name("duration", tests, NULL, NULL);
}
