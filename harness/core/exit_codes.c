/* The one table of exit codes, row for row with enum exit_code. */
#include "harness/core/exit_codes.h"

const struct exit_code_info exit_code_table[] = {
	{ EXIT_PASSED, "passed", "drill passed every objective" },
	{ EXIT_FAILED, "failed", "drill ran, an objective or expectation failed" },
	{ EXIT_USAGE, "usage", "usage error or invalid plan" },
	{ EXIT_INFRA, "infra",
	  "infrastructure error: target unreachable, tool missing, unhealthy before the fault" },
	{ EXIT_ABORTED, "aborted", "aborted by signal; rollback ran" },
	{ EXIT_ROLLBACK_FAILED, "rollback_failed",
	  "rollback failed: the target may be left degraded" },
};

const size_t exit_code_count = sizeof(exit_code_table) / sizeof(exit_code_table[0]);

void exit_codes_print(FILE *f, const char *indent)
{
	fprintf(f, "exit codes:\n");
	for (size_t i = 0; i < exit_code_count; i++)
		fprintf(f, "%s%d  %s\n", indent, exit_code_table[i].code, exit_code_table[i].meaning);
	fprintf(f, "%swhen several apply, the highest wins\n", indent);
}
