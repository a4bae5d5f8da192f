/* The action tables agree: every action a target kind declares is in the
 * plan schema and is not one the executor runs itself; the executor's
 * generic actions are exactly the schema's ACTION_GENERIC ones; every other
 * schema action is run by some kind; the registry finds every kind and
 * refuses a server-side dry run to the kinds without one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "harness/plan/actions.h"
#include "harness/run/executor.h"
#include "harness/target/registry.h"

static void test_kind_tables_name_schema_actions_once(void **state)
{
	(void)state;
	for (size_t k = 0; target_registry[k]; k++) {
		const struct target_kind *kind = target_registry[k];

		assert_non_null(kind->create);
		assert_ptr_equal(target_kind_find(kind->name), kind);
		for (const struct target_action *a = kind->actions; a->name; a++) {
			const struct action_spec *spec = action_find(a->name);

			if (!spec)
				fail_msg("%s declares '%s', which the plan schema lacks", kind->name,
					 a->name);
			if (spec->flags & ACTION_GENERIC)
				fail_msg("%s declares '%s', which the executor runs for every target",
					 kind->name, a->name);
			assert_non_null(a->run);
			assert_ptr_equal(target_action_find(kind->actions, a->name), a);
		}
	}
}

static void test_generic_actions_are_the_executors(void **state)
{
	(void)state;
	for (size_t i = 0; action_specs[i]; i++) {
		const struct action_spec *spec = action_specs[i];
		int generic = (spec->flags & ACTION_GENERIC) != 0;

		if (generic != executor_is_generic(spec->name))
			fail_msg("'%s': schema says %sgeneric, the executor %s", spec->name,
				 generic ? "" : "not ", executor_is_generic(spec->name) ? "runs it" :
				 "does not");
	}
}

static void test_every_target_action_has_a_kind(void **state)
{
	(void)state;
	for (size_t i = 0; action_specs[i]; i++) {
		int found = 0;

		if (action_specs[i]->flags & ACTION_GENERIC)
			continue;
		for (size_t k = 0; target_registry[k]; k++)
			found |= target_action_find(target_registry[k]->actions,
						    action_specs[i]->name) != NULL;
		if (!found)
			fail_msg("no target kind runs '%s'", action_specs[i]->name);
	}
}

/* --dry-run=server on a kind without a server-side dry run is a usage
 * error before the target exists: its actions would otherwise really run
 * (the local target once started a cluster and killed a node). */
static void test_server_dry_run_only_where_a_kind_has_one(void **state)
{
	struct target_opts opts = TARGET_OPTS_INIT;
	int with = 0;

	(void)state;
	opts.server_dry_run = 1;
	for (size_t k = 0; target_registry[k]; k++) {
		const struct target_kind *kind = target_registry[k];
		struct dr_error err = DR_ERROR_INIT;
		struct target *t = NULL;

		if (kind->flags & TARGET_KIND_SERVER_DRY_RUN) {
			with++;
			continue;
		}
		assert_int_equal(target_create(&t, kind->name, NULL, &opts, &err), TARGET_EUSAGE);
		assert_null(t);
		if (!strstr(err.msg, "--dry-run=server needs a target with a server-side dry run"))
			fail_msg("%s: %s", kind->name, err.msg);
	}
	/* kubernetes has one. */
	assert_int_equal(with, 1);
	assert_true(target_kind_find("kubernetes")->flags & TARGET_KIND_SERVER_DRY_RUN);
}

static void test_unknown_kind_is_not_found(void **state)
{
	(void)state;
	assert_null(target_kind_find("nomad"));
	assert_null(target_kind_find(NULL));
	assert_null(target_action_find(target_registry[0]->actions, "teleport"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_tables_name_schema_actions_once),
		cmocka_unit_test(test_generic_actions_are_the_executors),
		cmocka_unit_test(test_every_target_action_has_a_kind),
		cmocka_unit_test(test_server_dry_run_only_where_a_kind_has_one),
		cmocka_unit_test(test_unknown_kind_is_not_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
