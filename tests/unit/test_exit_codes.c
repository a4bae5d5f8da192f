/* The exit-code table: one row per enum value, in order, and the help text
 * `drillrig --help` prints from it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "harness/core/exit_codes.h"

/* Every value of enum exit_code, in order.  A code added to the enum is
 * added here too, and then needs its row. */
static const struct {
	int code;
	const char *name;
} enum_values[] = {
	{ EXIT_PASSED, "passed" },
	{ EXIT_FAILED, "failed" },
	{ EXIT_USAGE, "usage" },
	{ EXIT_INFRA, "infra" },
	{ EXIT_ABORTED, "aborted" },
	{ EXIT_ROLLBACK_FAILED, "rollback_failed" },
};

#define NVALUES (sizeof(enum_values) / sizeof(enum_values[0]))

static void test_one_row_per_enum_value_in_order(void **state)
{
	(void)state;
	assert_int_equal(exit_code_count, NVALUES);
	for (size_t i = 0; i < NVALUES; i++) {
		const struct exit_code_info *row = &exit_code_table[i];

		/* Codes are never renumbered: row i is code i. */
		assert_int_equal(enum_values[i].code, (int)i);
		assert_int_equal(row->code, enum_values[i].code);
		assert_string_equal(row->name, enum_values[i].name);
	}
}

static void test_rows_are_one_line_each(void **state)
{
	(void)state;
	for (size_t i = 0; i < exit_code_count; i++) {
		const struct exit_code_info *row = &exit_code_table[i];

		assert_non_null(row->meaning);
		assert_true(row->meaning[0] != '\0');
		assert_null(strchr(row->meaning, '\n'));
		for (size_t k = 0; k < i; k++)
			assert_string_not_equal(row->name, exit_code_table[k].name);
	}
}

static char *printed(const char *indent)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	assert_non_null(mem);
	exit_codes_print(mem, indent);
	assert_int_equal(fclose(mem), 0);
	return buf;
}

/* The text `drillrig --help` has always ended with. */
static void test_help_text_unchanged(void **state)
{
	char *text = printed("  ");

	(void)state;
	assert_string_equal(text,
		"exit codes:\n"
		"  0  drill passed every objective\n"
		"  1  drill ran, an objective or expectation failed\n"
		"  2  usage error or invalid plan\n"
		"  3  infrastructure error: target unreachable, tool missing, unhealthy before the fault\n"
		"  4  aborted by signal; rollback ran\n"
		"  5  rollback failed: the target may be left degraded\n"
		"  when several apply, the highest wins\n");
	free(text);
}

static void test_print_uses_the_indent(void **state)
{
	char *text = printed("");

	(void)state;
	assert_non_null(strstr(text, "exit codes:\n0  drill passed every objective\n"));
	assert_non_null(strstr(text, "\nwhen several apply, the highest wins\n"));
	free(text);
}

static void test_merge_takes_the_highest(void **state)
{
	(void)state;
	assert_int_equal(exit_code_merge(EXIT_FAILED, EXIT_INFRA), EXIT_INFRA);
	assert_int_equal(exit_code_merge(EXIT_ROLLBACK_FAILED, EXIT_ABORTED), EXIT_ROLLBACK_FAILED);
	assert_int_equal(exit_code_merge(EXIT_PASSED, EXIT_PASSED), EXIT_PASSED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_row_per_enum_value_in_order),
		cmocka_unit_test(test_rows_are_one_line_each),
		cmocka_unit_test(test_help_text_unchanged),
		cmocka_unit_test(test_print_uses_the_indent),
		cmocka_unit_test(test_merge_takes_the_highest),
	};

	return cmocka_run_group_tests_name("exit_codes", tests, NULL, NULL);
}
