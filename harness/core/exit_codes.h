/* The CLI's exit codes: a documented table, never renumbered.  When several
 * apply, the highest wins (exit_code_merge). */
#ifndef DR_HARNESS_CORE_EXIT_CODES_H
#define DR_HARNESS_CORE_EXIT_CODES_H

enum exit_code {
	EXIT_PASSED = 0,          /* drill passed every objective */
	EXIT_FAILED = 1,          /* drill ran; an objective or expectation failed */
	EXIT_USAGE = 2,           /* usage error or invalid plan */
	EXIT_INFRA = 3,           /* target unreachable, tool missing, unhealthy before the fault */
	EXIT_ABORTED = 4,         /* aborted by signal; rollback ran */
	EXIT_ROLLBACK_FAILED = 5, /* rollback failed: the target may be degraded */
};

static inline int exit_code_merge(int a, int b)
{
	return a > b ? a : b;
}

#endif
