/* The undo stack (harness/run/undo_stack.h) and the state file it keeps for
 * `drillrig recover`, read back with the reader recover uses
 * (harness/target/shared/state_file.h):
 * - undos come back newest first;
 * - the state file lists the pending undos in the order they were pushed,
 *   each with its step and whole action, the plan's rollback list, the
 *   plan's path, the target and the runner's pid, and is private (0600);
 * - it follows every push and pop, and is gone once removed;
 * - secret values are never in it: each is "${name}" again, any other "${"
 *   escaped, a "$" just before a secret "${__dollar__}", so expanding with
 *   the same secrets gives the actions back exactly (vars_unexpand_json /
 *   vars_expand_json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/plan/vars.h"
#include "harness/run/undo_stack.h"
#include "harness/target/registry.h"
#include "harness/target/shared/state_file.h"

static const char plan_yaml[] =
	"version: 1\n"
	"name: undo-test\n"
	"workload: {enabled: false}\n"
	"steps:\n"
	"  - {name: fault-a, action: pause, what: leader, fault: true, undo: {action: resume, what: all}}\n"
	"rollback:\n"
	"  - {name: final-scale, action: scale, region: primary, replicas: normal}\n"
	"  - {name: final-heal, action: heal}\n";

static struct plan *load_plan(void)
{
	struct plan_load_opts opts = PLAN_LOAD_OPTS_TARGETS(target_registry);
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct plan *plan = NULL;

	if (plan_load_text(&plan, "undo-test.yaml", plan_yaml, strlen(plan_yaml), &opts, &diags) != 0) {
		plan_diags_print(stderr, &diags);
		fail_msg("the test plan does not load");
	}
	plan_diags_release(&diags);
	return plan;
}

static void test_pop_returns_newest_first(void **state)
{
	struct undo_stack s;
	struct undo_entry e;
	json_t *a = json_pack("{s:s}", "action", "resume"), *b = json_pack("{s:s}", "action", "start"),
	       *c = json_pack("{s:s}", "action", "heal");

	(void)state;
	undo_stack_init(&s);
	undo_stack_push(&s, "one", a);
	undo_stack_push(&s, "two", b);
	undo_stack_push(&s, "three", c);
	assert_int_equal(undo_stack_pop(&s, &e), 0);
	assert_string_equal(e.step_name, "three");
	assert_ptr_equal(e.action, c);
	undo_entry_release(&e);
	assert_int_equal(undo_stack_pop(&s, &e), 0);
	assert_string_equal(e.step_name, "two");
	undo_entry_release(&e);
	undo_stack_push(&s, "four", c);
	assert_int_equal(undo_stack_pop(&s, &e), 0);
	assert_string_equal(e.step_name, "four");
	undo_entry_release(&e);
	assert_int_equal(undo_stack_pop(&s, &e), 0);
	assert_string_equal(e.step_name, "one");
	assert_ptr_equal(e.action, a);
	undo_entry_release(&e);
	assert_int_equal(undo_stack_pop(&s, &e), -1);
	undo_stack_release(&s);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static json_t *load_state(const char *path)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *st = NULL;
	int missing = -1;

	if (state_file_load(&st, &missing, path, &err) != 0)
		fail_msg("%s", err.msg);
	assert_false(missing);
	return st;
}

static void test_state_file_lists_pending_undos_for_recover(void **state)
{
	char tmpl[] = "/tmp/drillrig-undo-XXXXXX";
	char *dir = mkdtemp(tmpl), *path;
	struct plan *plan = load_plan();
	struct undo_stack s;
	struct undo_entry e;
	struct stat sb;
	json_t *target = json_pack("{s:s,s:s}", "kind", "local", "cluster_dir", "/tmp/c");
	json_t *resume = json_pack("{s:s,s:s}", "action", "resume", "what", "all");
	json_t *start = json_pack("{s:s,s:s}", "action", "start", "what", "all");
	json_t *st, *undos, *rollback;
	struct dr_error err = DR_ERROR_INIT;
	int missing = 0;

	(void)state;
	assert_non_null(dir);
	path = xasprintf("%s/local.state.json", dir);
	undo_stack_init(&s);
	undo_stack_push(&s, "fault-a", resume);
	undo_stack_push(&s, "fault-b", start);
	free(undo_stack_save(&s, NULL, path, plan, target));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	st = load_state(path);
	assert_int_equal(json_integer_value(json_object_get(st, "pid")), getpid());
	assert_string_equal(json_string_value(json_object_get(st, "plan")), plan->path);
	assert_true(json_equal(json_object_get(st, "target"), target));
	undos = json_object_get(st, "undos");
	assert_int_equal(json_array_size(undos), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(undos, 0), "step")), "fault-a");
	assert_true(json_equal(json_object_get(json_array_get(undos, 0), "action"), resume));
	assert_string_equal(json_string_value(json_object_get(json_array_get(undos, 1), "step")), "fault-b");
	assert_true(json_equal(json_object_get(json_array_get(undos, 1), "action"), start));
	rollback = json_object_get(st, "rollback");
	assert_int_equal(json_array_size(rollback), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(rollback, 0), "step")),
			    "final-scale");
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(rollback, 0),
									       "action"), "replicas")), "normal");
	assert_string_equal(json_string_value(json_object_get(json_array_get(rollback, 1), "step")),
			    "final-heal");
	json_decref(st);

	/* The newest undo ran: the file follows. */
	assert_int_equal(undo_stack_pop(&s, &e), 0);
	undo_entry_release(&e);
	free(undo_stack_save(&s, NULL, path, plan, target));
	st = load_state(path);
	undos = json_object_get(st, "undos");
	assert_int_equal(json_array_size(undos), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(undos, 0), "step")), "fault-a");
	json_decref(st);

	/* A rollback that pops C (fails), B (runs), A (never runs): the file
	 * keeps A and C in their original order, so recover runs C, then A. */
	{
		struct undo_stack all, kept;
		const char *names[] = { "fault-a", "fault-b", "fault-c" };

		undo_stack_init(&all);
		undo_stack_init(&kept);
		for (int i = 0; i < 3; i++)
			undo_stack_push(&all, names[i], resume);
		assert_int_equal(undo_stack_pop(&all, &e), 0);       /* C: failed */
		undo_stack_push(&kept, e.step_name, e.action);
		undo_entry_release(&e);
		free(undo_stack_save(&all, &kept, path, plan, target));
		st = load_state(path);
		undos = json_object_get(st, "undos");
		assert_int_equal(json_array_size(undos), 3);
		assert_string_equal(json_string_value(json_object_get(json_array_get(undos, 2), "step")),
				    "fault-c");
		json_decref(st);
		assert_int_equal(undo_stack_pop(&all, &e), 0);       /* B: ran */
		undo_entry_release(&e);
		assert_int_equal(undo_stack_pop(&all, &e), 0);       /* A: never ran */
		undo_stack_push(&kept, e.step_name, e.action);
		undo_entry_release(&e);
		free(undo_stack_save(&all, &kept, path, plan, target));
		st = load_state(path);
		undos = json_object_get(st, "undos");
		assert_int_equal(json_array_size(undos), 2);
		assert_string_equal(json_string_value(json_object_get(json_array_get(undos, 0), "step")),
				    "fault-a");
		assert_string_equal(json_string_value(json_object_get(json_array_get(undos, 1), "step")),
				    "fault-c");
		json_decref(st);
		undo_stack_release(&all);
		undo_stack_release(&kept);
	}

	undo_stack_remove_state(path);
	assert_int_equal(state_file_load(&st, &missing, path, &err), 0);
	assert_true(missing);
	assert_null(st);

	undo_stack_release(&s);
	json_decref(resume);
	json_decref(start);
	json_decref(target);
	plan_free(plan);
	fs_remove_tree(dir, NULL);
	free(path);
}

static void test_secrets_leave_and_come_back(void **state)
{
	struct plan_var vars[] = {
		{ (char *)"tok", (char *)"s3cr3t-token", 1, NULL, 1 },
		{ (char *)"tok_long", (char *)"s3cr3t-token-and-more", 1, NULL, 1 },
		{ (char *)"region", (char *)"primary", 0, NULL, 0 },
	};
	json_t *action = json_pack(
		"{s:s, s:[s,s,s,s,s], s:{s:s}, s:i, s:b}", "action", "exec", "argv",
		"curl", "-H", "Bearer s3cr3t-token", "literal ${not_a_var} and $${ and $ and $s3cr3t-token",
		"s3cr3t-token$s3cr3t-token",
		"env", "LONG", "xs3cr3t-token-and-morex", "n", 7, "flag", 1);
	json_t *saved, *back;
	struct dr_error err = DR_ERROR_INIT;
	char *text;

	(void)state;
	saved = vars_unexpand_json(action, vars, 3);
	text = json_dumps(saved, JSON_SORT_KEYS);
	assert_null(strstr(text, "s3cr3t"));
	/* the longest secret wins, a non-secret stays as it is */
	assert_non_null(strstr(text, "\"Bearer ${tok}\""));
	assert_non_null(strstr(text, "\"x${tok_long}x\""));
	assert_non_null(strstr(text, "literal $${not_a_var} and $$${ and $ and ${__dollar__}${tok}"));
	assert_non_null(strstr(text, "\"${tok}${__dollar__}${tok}\""));
	free(text);
	back = vars_expand_json(saved, vars, 2, &err); /* the secrets alone suffice */
	assert_non_null(back);
	assert_true(json_equal(back, action));
	json_decref(back);
	/* a state with no secret at all: recover expands it with none */
	{
		json_t *plain = json_pack("{s:s}", "argv", "$${x} and $"), *same;

		same = vars_expand_json(plain, NULL, 0, &err);
		assert_non_null(same);
		assert_string_equal(json_string_value(json_object_get(same, "argv")), "${x} and $");
		json_decref(same);
		json_decref(plain);
	}
	/* without the secret nothing comes back, and err names the reference */
	assert_null(vars_expand_json(saved, vars + 1, 1, &err));
	assert_non_null(strstr(err.msg, "${tok}"));
	json_decref(saved);
	json_decref(action);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pop_returns_newest_first),
		cmocka_unit_test(test_state_file_lists_pending_undos_for_recover),
		cmocka_unit_test(test_secrets_leave_and_come_back),
	};

	return cmocka_run_group_tests_name("undo_stack", tests, NULL, NULL);
}
