/* A test double of the target interface: records every call, fails or
 * hangs on request, and never touches a real cluster.  For runner tests
 * only (tests/unit/test_runner.c); the integration tests use the real
 * bundled cluster. */
#ifndef DR_TESTS_TARGET_DOUBLE_H
#define DR_TESTS_TARGET_DOUBLE_H

#include <jansson.h>

#include "harness/core/target.h"

struct target_double {
	struct target base;
	char log[4096];            /* "action(step) action(step) ..." in call order */
	const char *fail_action;   /* this action fails (its first call, or every call with fail_always) */
	int fail_always;
	const char *hang_action;   /* this action waits until cancelled or its deadline */
	const char *interrupt_action; /* this action bumps ctx->interrupts (a SIGINT arriving) */
	int interrupt_times;       /* by how much */
	int leader;                /* status: 0 = no leader */
	const char *lose_leader_action; /* this action sets leader to 0 */
	const char *move_leader_action; /* this action makes the next node (leader + 1) lead */
	const char *lock_path;     /* NULL: lock always succeeds */
	int lock_fd;
	int started, closed, locked;
};

void target_double_init(struct target_double *d);
/* 1 when needle occurs in the call log. */
int target_double_called(const struct target_double *d, const char *needle);
/* Position of needle in the log (-1 when absent), to assert an order. */
int target_double_pos(const struct target_double *d, const char *needle);

#endif
