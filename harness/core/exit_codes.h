/* The CLI's exit codes: a documented table, never renumbered.  When several
 * apply, the highest wins (exit_code_merge).
 *
 * The enum names the codes for the code; exit_code_table (exit_codes.c)
 * holds one row per enum value, in the same order, with each code's meaning
 * as the help texts print it.  A new code gets both (tests/unit/
 * test_exit_codes.c checks they agree). */
#ifndef DR_HARNESS_CORE_EXIT_CODES_H
#define DR_HARNESS_CORE_EXIT_CODES_H

#include <stddef.h>
#include <stdio.h>

enum exit_code {
	EXIT_PASSED = 0,
	EXIT_FAILED = 1,
	EXIT_USAGE = 2,
	EXIT_INFRA = 3,
	EXIT_ABORTED = 4,
	EXIT_ROLLBACK_FAILED = 5,
};

struct exit_code_info {
	int code;               /* enum exit_code */
	const char *name;       /* short and stable: "usage", "rollback_failed" */
	const char *meaning;    /* one line, lowercase, no final period */
};

/* Row i describes code i; exit_code_count rows. */
extern const struct exit_code_info exit_code_table[];
extern const size_t exit_code_count;

/* The table as `drillrig --help` shows it: an "exit codes:" line, one line
 * per code ("<indent>3  infrastructure error: ..."), then the rule that the
 * highest wins, at the same indent. */
void exit_codes_print(FILE *f, const char *indent);

static inline int exit_code_merge(int a, int b)
{
	return a > b ? a : b;
}

#endif
