/* Runner semantics against the target test double: order, undo before the
 * fault, rollback on failure and on SIGINT, failing undos not skipping the
 * others, timeouts, steady state, lock refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness/core/exit_codes.h"
#include "harness/core/journal.h"
#include "harness/core/progress.h"
#include "harness/plan/plan.h"
#include "harness/run/runner.h"
#include "harness/target/registry.h"
#include "tests/support/target_double.h"

/* Plans may name any registered target kind. */
static const struct plan_load_opts any_target = PLAN_LOAD_OPTS_TARGETS(target_registry);

static const char base_plan[] =
	"version: 1\n"
	"name: runner-test\n"
	"workload: {enabled: false}\n"
	"steady_state:\n"
	"  - {type: cluster_status, name: leader, retries: 0, expect: {leader: true}}\n"
	"steps:\n"
	"  - name: before\n"
	"    action: transfer_leader\n"
	"    region: dr\n"
	"  - name: fault-a\n"
	"    action: pause\n"
	"    what: leader\n"
	"    fault: true\n"
	"    undo: {action: resume, what: all}\n"
	"  - name: fault-b\n"
	"    action: stop\n"
	"    what: leader\n"
	"    fault: true\n"
	"    timeout: 200ms\n"
	"    undo: {action: start, what: all}\n"
	"  - name: after\n"
	"    action: heal\n"
	"rollback:\n"
	"  - {name: final-scale, action: scale, region: primary, replicas: normal}\n";

struct fixture {
	struct plan *plan;
	struct target_double dbl;
	struct journal *j;
	struct progress *progress;
	atomic_int interrupts;
	struct runner_result result;
};

static struct plan *load(const char *text)
{
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct plan *plan = NULL;

	if (plan_load_text(&plan, "test.yaml", text, strlen(text), &any_target, &diags) != 0) {
		plan_diags_print(stderr, &diags);
		fail_msg("test plan does not load");
	}
	plan_diags_release(&diags);
	return plan;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->plan = load(base_plan);
	target_double_init(&f->dbl);
	f->j = journal_new();
	f->progress = progress_new(stderr, PROGRESS_QUIET);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	plan_free(f->plan);
	journal_free(f->j);
	progress_free(f->progress);
	free(f);
	return 0;
}

static void run(struct fixture *f)
{
	struct runner_opts opts = RUNNER_OPTS_INIT;

	opts.no_workload = 1;
	opts.progress = f->progress;
	opts.interrupts = &f->interrupts;
	runner_run(&f->result, f->plan, &f->dbl.base, f->j, &opts);
}

/* Fails unless both calls are in the double's log, first before then: a
 * missing call is a failure of its own, never a position -1 that compares
 * as earlier. */
static void assert_called_before(const struct target_double *d, const char *first,
				 const char *then)
{
	int a = target_double_pos(d, first), b = target_double_pos(d, then);

	if (a < 0)
		fail_msg("'%s' was never called (calls: %s)", first, d->log);
	if (b < 0)
		fail_msg("'%s' was never called (calls: %s)", then, d->log);
	if (a >= b)
		fail_msg("'%s' was called after '%s' (calls: %s)", first, then, d->log);
}

static const char *step_result(struct fixture *f, const char *name)
{
	json_t *steps = journal_get(f->j, "steps"), *s;
	size_t i;

	json_array_foreach(steps, i, s)
		if (strcmp(json_string_value(json_object_get(s, "name")), name) == 0)
			return json_string_value(json_object_get(s, "result"));
	return NULL;
}

static void test_clean_run_order(void **state)
{
	struct fixture *f = *state;

	run(f);
	assert_int_equal(f->result.exit_code, EXIT_PASSED);
	assert_string_equal(f->result.status, "passed");
	/* steps in order, then undos newest first, then the rollback list */
	assert_called_before(&f->dbl, "transfer_leader(before)", "pause(fault-a)");
	assert_called_before(&f->dbl, "pause(fault-a)", "stop(fault-b)");
	assert_called_before(&f->dbl, "stop(fault-b)", "heal(after)");
	assert_called_before(&f->dbl, "heal(after)", "start(undo fault-b)");
	assert_called_before(&f->dbl, "start(undo fault-b)", "resume(undo fault-a)");
	assert_called_before(&f->dbl, "resume(undo fault-a)", "scale(final-scale)");
	assert_string_equal(json_string_value(journal_get(f->j, "status")), "passed");
	assert_false(f->dbl.locked); /* released */
}

static void test_failed_step_rolls_back_and_skips_rest(void **state)
{
	struct fixture *f = *state;

	f->dbl.fail_action = "stop";
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_FAILED);
	assert_string_equal(f->result.status, "failed");
	assert_non_null(strstr(f->result.reason, "fault-b"));
	assert_false(target_double_called(&f->dbl, "heal(after)"));
	assert_string_equal(step_result(f, "after"), "skipped");
	/* the undo of the failed fault was registered before it ran, so it runs */
	assert_true(target_double_called(&f->dbl, "start(undo fault-b)"));
	assert_true(target_double_called(&f->dbl, "resume(undo fault-a)"));
	assert_true(target_double_called(&f->dbl, "scale(final-scale)"));
}

static void test_step_timeout_is_reported(void **state)
{
	struct fixture *f = *state;

	f->dbl.hang_action = "stop";
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_FAILED);
	assert_string_equal(step_result(f, "fault-b"), "timed_out");
	assert_non_null(strstr(f->result.reason, "timed out"));
	assert_true(target_double_called(&f->dbl, "start(undo fault-b)"));
}

static void test_sigint_during_fault_exits_4_after_rollback(void **state)
{
	struct fixture *f = *state;

	f->dbl.interrupt_action = "pause";
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_ABORTED);
	assert_string_equal(f->result.status, "aborted");
	assert_false(target_double_called(&f->dbl, "stop(fault-b)"));
	assert_string_equal(step_result(f, "fault-b"), "skipped");
	assert_true(target_double_called(&f->dbl, "resume(undo fault-a)"));
	assert_true(target_double_called(&f->dbl, "scale(final-scale)"));
}

static void test_failing_undo_does_not_skip_others(void **state)
{
	struct fixture *f = *state;

	f->dbl.fail_action = "start"; /* the newest undo */
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_ROLLBACK_FAILED);
	assert_true(target_double_called(&f->dbl, "resume(undo fault-a)"));
	assert_true(target_double_called(&f->dbl, "scale(final-scale)"));
	assert_non_null(strstr(f->result.reason, "undo of step 'fault-b' failed"));
}

static void test_third_interrupt_gives_up_with_exit_5(void **state)
{
	struct fixture *f = *state;

	/* one interrupt stops the steps; two more during the first undo give up */
	f->dbl.interrupt_action = "stop";
	f->dbl.interrupt_times = 1;
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_ABORTED);

	teardown(state);
	setup(state);
	f = *state;
	f->dbl.interrupt_action = "start";
	f->dbl.interrupt_times = 3;
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_ROLLBACK_FAILED);
	assert_false(target_double_called(&f->dbl, "resume(undo fault-a)"));
	assert_false(target_double_called(&f->dbl, "scale(final-scale)"));
}

/* When several exit codes apply the highest wins, not the latest: a
 * SIGINT (4) during the fault, then the steady state after the rollback
 * fails (1) because the leader never came back. */
static void test_highest_exit_code_wins_over_a_later_lower_one(void **state)
{
	struct fixture *f = *state;
	json_t *after;

	f->dbl.interrupt_action = "pause";
	f->dbl.lose_leader_action = "pause";
	run(f);
	/* The later failure did happen ... */
	after = json_object_get(journal_get(f->j, "steady_state"), "after");
	assert_int_equal(json_array_size(after), 1);
	assert_false(json_is_true(json_object_get(json_array_get(after, 0), "ok")));
	/* ... yet the signal's code stands, and so does the first reason. */
	assert_int_equal(f->result.exit_code, EXIT_ABORTED);
	assert_int_equal(json_integer_value(journal_get(f->j, "exit_code")), EXIT_ABORTED);
	assert_string_equal(f->result.status, "aborted");
	assert_non_null(strstr(f->result.reason, "interrupted by a signal"));
}

static void test_unhealthy_before_is_exit_3_without_fault(void **state)
{
	struct fixture *f = *state;
	json_t *before;

	f->dbl.leader = 0;
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_INFRA);
	assert_false(target_double_called(&f->dbl, "pause(fault-a)"));
	assert_non_null(strstr(f->result.reason, "steady state before"));
	/* No fault ran: the cluster as the drill stopped is the evidence. */
	before = journal_get(f->j, "cluster_before");
	assert_true(json_is_object(before));
	assert_true(json_is_null(json_object_get(before, "leader")));
}

/* "cluster_before" is the cluster the first fault met: taken after the
 * steady state and the steps before the fault, not before them (issue 16:
 * it showed a cluster still starting for a drill whose steady state
 * passed). */
static void test_cluster_before_is_taken_just_before_the_first_fault(void **state)
{
	struct fixture *f = *state;
	const char *calls;

	run(f);
	assert_int_equal(f->result.exit_code, EXIT_PASSED);
	calls = json_string_value(json_object_get(journal_get(f->j, "cluster_before"), "calls"));
	assert_non_null(calls);
	if (!strstr(calls, "transfer_leader(before)") || strstr(calls, "pause(fault-a)"))
		fail_msg("cluster_before was taken after the calls '%s', not just before the first "
			 "fault (pause(fault-a))", calls);
}

static void test_lock_held_by_another_is_exit_3(void **state)
{
	struct fixture *f = *state;
	char path[] = "/tmp/drillrig-lock-test-XXXXXX";
	int fd = mkstemp(path);
	struct target_double other;
	struct dr_error err = DR_ERROR_INIT;

	assert_true(fd >= 0);
	close(fd);
	target_double_init(&other);
	other.lock_path = path;
	assert_int_equal(other.base.lock(&other.base, &err), 0);
	f->dbl.lock_path = path;
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_INFRA);
	assert_non_null(strstr(f->result.reason, "lock"));
	assert_false(f->dbl.started);
	other.base.unlock(&other.base);
	unlink(path);
}

static void test_notify_failure_never_fails_drill(void **state)
{
	struct fixture *f = *state;

	plan_free(f->plan);
	f->plan = load("version: 1\nname: notify-test\nworkload: {enabled: false}\n"
		       "steps:\n"
		       "  - {name: tell, action: notify, url: 'http://127.0.0.1:9/hook', message: hi, timeout: 2s}\n"
		       "  - {name: next, action: heal}\n");
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_PASSED);
	assert_string_equal(step_result(f, "tell"), "failed");
	assert_true(target_double_called(&f->dbl, "heal(next)"));
}

static void test_abort_when_no_leader_stops_and_rolls_back(void **state)
{
	struct fixture *f = *state;

	plan_free(f->plan);
	f->plan = load("version: 1\nname: abort-test\nworkload: {enabled: false}\n"
		       "abort_when:\n  - no_leader_for: 300ms\n"
		       "steps:\n"
		       "  - {name: lose-leader, action: pause, what: leader, fault: true,\n"
		       "     undo: {action: resume, what: all}}\n"
		       "  - {name: wait, action: sleep, duration: 20s}\n"
		       "  - {name: never, action: heal}\n");
	f->dbl.lose_leader_action = "pause";
	run(f);
	assert_string_equal(f->result.status, "aborted");
	assert_int_equal(f->result.exit_code, EXIT_FAILED);
	assert_non_null(strstr(f->result.reason, "no leader for 300ms"));
	assert_false(target_double_called(&f->dbl, "heal(never)"));
	assert_true(target_double_called(&f->dbl, "resume(undo lose-leader)"));
	assert_string_equal(step_result(f, "wait"), "cancelled");
}

static void test_deadline_aborts_the_drill(void **state)
{
	struct fixture *f = *state;

	plan_free(f->plan);
	f->plan = load("version: 1\nname: deadline-test\nworkload: {enabled: false}\n"
		       "deadline: 300ms\n"
		       "steps:\n"
		       "  - {name: wait, action: sleep, duration: 20s}\n"
		       "rollback:\n  - {name: cleanup, action: heal}\n");
	run(f);
	assert_string_equal(f->result.status, "aborted");
	assert_non_null(strstr(f->result.reason, "deadline of 300ms passed"));
	assert_true(target_double_called(&f->dbl, "heal(cleanup)"));
}

static void test_dry_run_touches_nothing(void **state)
{
	struct fixture *f = *state;
	struct runner_opts opts = RUNNER_OPTS_INIT;

	opts.no_workload = 1;
	opts.dry_run = 1;
	opts.progress = f->progress;
	opts.interrupts = &f->interrupts;
	runner_run(&f->result, f->plan, &f->dbl.base, f->j, &opts);
	assert_int_equal(f->result.exit_code, EXIT_PASSED);
	/* No drill ran, so no verdict: the dry run completed. */
	assert_string_equal(f->result.status, "dry_run");
	assert_string_equal(json_string_value(journal_get(f->j, "status")), "dry_run");
	assert_false(f->dbl.started);
	/* Each step says what it would do, never what it did. */
	{
		json_t *s;
		size_t i;

		assert_true(json_array_size(journal_get(f->j, "steps")) >= 5);
		json_array_foreach(journal_get(f->j, "steps"), i, s) {
			const char *msg = json_string_value(json_object_get(s, "message"));

			if (!msg || strncmp(msg, "would ", 6) != 0)
				fail_msg("step '%s' of a dry run says '%s'",
					 json_string_value(json_object_get(s, "name")), msg ? msg : "");
		}
	}
	/* every target action was only described, in plan order, undos included */
	assert_called_before(&f->dbl, "dry(transfer_leader)", "dry(pause)");
	assert_true(target_double_called(&f->dbl, "dry(resume)"));
	assert_true(target_double_called(&f->dbl, "dry(scale)"));
	assert_false(target_double_called(&f->dbl, "pause(fault-a)"));
	assert_false(target_double_called(&f->dbl, "scale(final-scale)"));
}

static void test_continue_on_failure_goes_on_but_fails(void **state)
{
	struct fixture *f = *state;

	plan_free(f->plan);
	f->plan = load("version: 1\nname: continue-test\nworkload: {enabled: false}\n"
		       "steps:\n"
		       "  - {name: flaky, action: stop, what: leader, continue_on_failure: true}\n"
		       "  - {name: next, action: heal}\n");
	f->dbl.fail_action = "stop";
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_FAILED);
	assert_true(target_double_called(&f->dbl, "heal(next)"));
	assert_non_null(strstr(f->result.reason, "flaky"));
}

/* await_leader changed: true waits for a node other than the one that led
 * before the first fault; a status still naming that node never passes it
 * (the disk-full drill passed on a leader that had not noticed its fault). */
static const char changed_plan[] =
	"version: 1\nname: changed-test\nworkload: {enabled: false}\n"
	"steps:\n"
	"  - {name: stop-leader, action: stop, what: leader, fault: true}\n"
	"  - {name: new-leader, action: await_leader, changed: true, timeout: 300ms}\n";

static void test_await_leader_changed_refuses_the_old_leader(void **state)
{
	struct fixture *f = *state;
	const char *msg;

	plan_free(f->plan);
	f->plan = load(changed_plan);
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_FAILED);
	assert_string_equal(step_result(f, "new-leader"), "timed_out");
	msg = f->result.reason;
	if (!strstr(msg, "leader 1 is still the one from before the first fault"))
		fail_msg("reason does not say the old leader still leads: %s", msg);
}

static void test_await_leader_changed_passes_on_another_node(void **state)
{
	struct fixture *f = *state;
	json_t *steps = NULL, *s;
	size_t i;
	const char *msg = NULL;

	plan_free(f->plan);
	f->plan = load(changed_plan);
	f->dbl.move_leader_action = "stop";
	run(f);
	assert_int_equal(f->result.exit_code, EXIT_PASSED);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(journal_get(f->j, "cluster_before"), "leader"), "id")),
			 1);
	steps = journal_get(f->j, "steps");
	json_array_foreach(steps, i, s)
		if (strcmp(json_string_value(json_object_get(s, "name")), "new-leader") == 0)
			msg = json_string_value(json_object_get(s, "message"));
	assert_non_null(msg);
	if (!strstr(msg, "leader 2 in region primary") ||
	    !strstr(msg, "not the one from before the first fault"))
		fail_msg("unexpected await_leader message: %s", msg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean_run_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_step_rolls_back_and_skips_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step_timeout_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigint_during_fault_exits_4_after_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failing_undo_does_not_skip_others, setup, teardown),
		cmocka_unit_test_setup_teardown(test_third_interrupt_gives_up_with_exit_5, setup, teardown),
		cmocka_unit_test_setup_teardown(test_highest_exit_code_wins_over_a_later_lower_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unhealthy_before_is_exit_3_without_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_before_is_taken_just_before_the_first_fault,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_held_by_another_is_exit_3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_failure_never_fails_drill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_when_no_leader_stops_and_rolls_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline_aborts_the_drill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_touches_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_continue_on_failure_goes_on_but_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_await_leader_changed_refuses_the_old_leader, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_await_leader_changed_passes_on_another_node, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("runner", tests, NULL, NULL);
}
