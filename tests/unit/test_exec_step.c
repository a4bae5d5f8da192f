/* The exec step (probe_run_command, what the executor runs for `action:
 * exec`): its `cwd` and `env` reach the child (issue 17: both were
 * accepted by validation and ignored, so a cleanup step ran in the
 * runner's directory with the runner's environment); a missing directory
 * is a clear error naming it; a step without them inherits the runner's;
 * the rest of the environment (PATH) is kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/probe/probe.h"
#include "tests/support/target_double.h"

static char *dir;

static int setup(void **state)
{
	char tmpl[] = "/tmp/drillrig-exec-XXXXXX";

	(void)state;
	if (!mkdtemp(tmpl))
		return -1;
	dir = xstrdup(tmpl);
	setenv("DRILLRIG_EXEC_TEST_INHERITED", "from-runner", 1);
	setenv("DRILLRIG_EXEC_TEST_REPLACED", "old", 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_remove_tree(dir, NULL);
	free(dir);
	return 0;
}

/* Run args as an exec step (its stdout is in the result's data). */
static struct probe_result run_step(json_t *args)
{
	struct target_double dbl;
	struct action_ctx ctx = ACTION_CTX_INIT;
	struct probe_result pr = PROBE_RESULT_INIT;

	target_double_init(&dbl);
	probe_run_command(&pr, &dbl.base, args, json_object_get(args, "expect"), &ctx);
	json_decref(args);
	return pr;
}

static const char *step_stdout(const struct probe_result *pr)
{
	return json_string_value(json_object_get(pr->data, "stdout"));
}

static void test_cwd_is_applied(void **state)
{
	struct probe_result pr;
	char want[PATH_MAX + 2], real[PATH_MAX];

	(void)state;
	assert_non_null(realpath(dir, real));
	snprintf(want, sizeof(want), "%s\n", real);
	pr = run_step(json_pack("{s:[s], s:s}", "argv", "pwd", "cwd", dir));
	assert_true(pr.ok);
	assert_string_equal(step_stdout(&pr), want);
	probe_result_release(&pr);
}

static void test_without_cwd_the_runner_directory(void **state)
{
	struct probe_result pr;
	char here[PATH_MAX], want[PATH_MAX + 2];

	(void)state;
	assert_non_null(getcwd(here, sizeof(here)));
	snprintf(want, sizeof(want), "%s\n", here);
	pr = run_step(json_pack("{s:[s]}", "argv", "pwd"));
	assert_true(pr.ok);
	assert_string_equal(step_stdout(&pr), want);
	probe_result_release(&pr);
}

static void test_missing_cwd_is_named(void **state)
{
	struct probe_result pr;
	char *missing = xasprintf("%s/no-such-dir", dir);

	(void)state;
	pr = run_step(json_pack("{s:[s], s:s}", "argv", "pwd", "cwd", missing));
	assert_false(pr.ok);
	if (!strstr(pr.message, missing) || !strstr(pr.message, "not a directory"))
		fail_msg("message does not name the missing directory: %s", pr.message);
	probe_result_release(&pr);
	free(missing);
}

static void test_env_is_added_and_replaces(void **state)
{
	struct probe_result pr;

	(void)state;
	/* printenv is found through the inherited PATH. */
	pr = run_step(json_pack("{s:[s,s,s,s], s:{s:s, s:s}}", "argv", "printenv",
				"DRILLRIG_EXEC_TEST_NEW", "DRILLRIG_EXEC_TEST_REPLACED",
				"DRILLRIG_EXEC_TEST_INHERITED", "env", "DRILLRIG_EXEC_TEST_NEW",
				"added value", "DRILLRIG_EXEC_TEST_REPLACED", "new"));
	assert_true(pr.ok);
	assert_string_equal(step_stdout(&pr), "added value\nnew\nfrom-runner\n");
	probe_result_release(&pr);
	/* The runner's own environment is untouched. */
	assert_string_equal(getenv("DRILLRIG_EXEC_TEST_REPLACED"), "old");
	assert_null(getenv("DRILLRIG_EXEC_TEST_NEW"));
}

static void test_env_and_cwd_with_stdin(void **state)
{
	struct probe_result pr;
	char *file = xasprintf("%s/written-by-step", dir);

	(void)state;
	/* tee writes its stdin to a relative path: it must land in cwd. */
	pr = run_step(json_pack("{s:[s,s], s:s, s:s, s:{s:s}}", "argv", "tee", "written-by-step",
				"cwd", dir, "stdin", "cleanup ran\n", "env", "LC_ALL", "C"));
	assert_true(pr.ok);
	assert_string_equal(step_stdout(&pr), "cleanup ran\n");
	assert_int_equal(access(file, F_OK), 0);
	probe_result_release(&pr);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cwd_is_applied),
		cmocka_unit_test(test_without_cwd_the_runner_directory),
		cmocka_unit_test(test_missing_cwd_is_named),
		cmocka_unit_test(test_env_is_added_and_replaces),
		cmocka_unit_test(test_env_and_cwd_with_stdin),
	};

	return cmocka_run_group_tests_name("exec_step", tests, setup, teardown);
}
