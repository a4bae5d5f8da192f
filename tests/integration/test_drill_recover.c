/* A killed runner leaves nothing broken, and Ctrl-C at any step restores:
 * - kill -9 of drillrig during the fault step, then `drillrig recover`
 *   restores the primary region and the cluster is fully replicated; a new
 *   drill refuses the target until then;
 * - SIGINT at each step of region-failover always exits 4 with the final
 *   steady state holding;
 * - a rollback given up at the third SIGINT (exit 5) keeps the undos it did
 *   not finish in the state file, and `drillrig recover` restores them
 *   (issue 17: the state file was deleted anyway, recover said "nothing to
 *   recover" and the primary region stayed at 0);
 * - a secret variable an undo uses never reaches the state file (it keeps
 *   ${NAME}) nor recover's output; recover without it refuses to run that
 *   undo and keeps the state, with --var-file it runs it with the value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "tests/support/drill_proc.h"

static const char *const drill_steps[] = { "primary-leads", "scale-primary-to-zero",
					   "dr-promoted", "connectivity", "restore-primary",
					   "primary-resynced" };

static void dump(struct drill_proc *p)
{
	char *out = drill_proc_stdout(p), *err = drill_proc_stderr(p);

	fprintf(stderr, "---- drillrig stdout\n%s\n---- drillrig stderr\n%s\n----\n", out, err);
	free(out);
	free(err);
}

/* The cluster directory from the run's {"event":"target"} line. */
static char *cluster_dir_of(struct drill_proc *p)
{
	char *text = drill_proc_stdout(p), *line = text, *dir = NULL;

	while (line && *line && !dir) {
		char *end = strchr(line, '\n');
		json_t *o = json_loadb(line, end ? (size_t)(end - line) : strlen(line), 0, NULL);
		const char *e = json_string_value(json_object_get(o, "event"));

		if (e && strcmp(e, "target") == 0 && json_string_value(json_object_get(o, "cluster_dir")))
			dir = xstrdup(json_string_value(json_object_get(o, "cluster_dir")));
		json_decref(o);
		line = end ? end + 1 : NULL;
	}
	free(text);
	return dir;
}

static int run_cli(char **out, const char *const args[], int64_t timeout_s)
{
	const char *argv[16];
	struct proc_result pr;
	struct dr_error err = DR_ERROR_INIT;
	size_t n = 0;
	int code;

	argv[n++] = drill_bin();
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (proc_run(&pr, (char *const *)argv, NULL, timeout_s * NS_PER_SEC, 1 << 20, &err) != 0)
		fail_msg("cannot run drillrig: %s", err.msg);
	code = pr.exited ? pr.exit_code : 128 + pr.term_signal;
	if (out)
		*out = xasprintf("%s%s", pr.out, pr.errout);
	proc_result_release(&pr);
	return code;
}

static void test_killed_runner_then_recover(void **state)
{
	char *dir = drill_tmpdir("recover"), *plan = drill_src_path("drills/region-failover.yaml");
	const char *args[] = { "run", plan, "--json", "--timing", "300ms/30ms", "--no-results",
			       "--baseline", "0s", NULL }; /* the baseline is test_drill_local's */
	struct drill_proc p;
	char *cluster, *state_file, *text = NULL;
	json_t *status;
	int rc;

	(void)state;
	assert_int_equal(drill_proc_start(&p, dir, args), 0);
	if (!drill_proc_wait_event(&p, "fault_start", NULL, 120 * 1000)) {
		dump(&p);
		fail_msg("the drill never reached its fault step");
	}
	kill(p.pid, SIGKILL);
	drill_proc_wait(&p, 10 * 1000);
	cluster = cluster_dir_of(&p);
	assert_non_null(cluster);
	state_file = xasprintf("%s/drill.state.json", cluster);
	assert_true(fs_exists(state_file));

	{
		const char *again[] = { "run", plan, "--cluster", cluster, "--no-results", NULL };

		rc = run_cli(&text, again, 60);
		if (rc != 3 || !strstr(text, "recover"))
			fail_msg("a drill against the unrecovered target was not refused (exit %d): %s",
				 rc, text);
		free(text);
	}
	{
		const char *recover[] = { "recover", "--cluster", cluster, "--keep-cluster", NULL };

		rc = run_cli(&text, recover, 120);
		if (rc != 0)
			fail_msg("recover failed (exit %d): %s", rc, text);
		free(text);
	}
	assert_false(fs_exists(state_file));
	{
		const char *st[] = { "cluster", "status", "--cluster", cluster, "--json", NULL };
		json_t *m;
		size_t i;

		assert_int_equal(run_cli(&text, st, 30), 0);
		status = json_loads(text, 0, NULL);
		assert_non_null(status);
		assert_string_equal(json_string_value(json_object_get(status, "replication")),
				    "Fully replicated");
		json_array_foreach(json_object_get(status, "members"), i, m)
			assert_string_not_equal(json_string_value(json_object_get(m, "state")),
						"unreachable");
		json_decref(status);
		free(text);
	}
	{
		const char *down[] = { "cluster", "down", "--cluster", cluster, NULL };

		assert_int_equal(run_cli(NULL, down, 60), 0);
	}
	fs_remove_tree(cluster, NULL);
	fs_remove_tree(dir, NULL);
	free(state_file);
	free(cluster);
	free(plan);
	free(dir);
}

/* Steps: the primary region scaled to 0, a fault whose undo touches a file
 * named after a secret, then a fault whose undo takes 5 s, then a long
 * sleep; rollback runs the slow undo first, the secret one second, the
 * scale-back last.  %s: the directory for the marker file. */
static const char interrupted_plan[] =
	"version: 1\n"
	"name: interrupted-rollback\n"
	"description: the rollback is given up at the third interrupt\n"
	"target: local\n"
	"vars:\n"
	"  tok: {secret: true, description: from DRILLRIG_VAR_tok}\n"
	"topology:\n"
	"  regions:\n"
	"    - {name: primary, role: primary, size: 2}\n"
	"    - {name: dr, role: dr, size: 2}\n"
	"    - {name: witness, role: witness, size: 1}\n"
	"  timing: {election_timeout: 300ms, heartbeat: 30ms}\n"
	"deadline: 5m\n"
	"workload: {enabled: false}\n"
	"steps:\n"
	"  - name: scale-primary-to-zero\n"
	"    action: scale\n"
	"    region: primary\n"
	"    replicas: 0\n"
	"    fault: true\n"
	"    undo: {action: scale, region: primary, replicas: normal}\n"
	"  - name: secret-undo\n"
	"    action: exec\n"
	"    argv: [\"true\"]\n"
	"    fault: true\n"
	"    undo: {action: exec, argv: [touch, \"%s/undone-${tok}\"]}\n"
	"  - name: slow-undo\n"
	"    action: exec\n"
	"    argv: [\"true\"]\n"
	"    fault: true\n"
	"    undo: {action: exec, argv: [sleep, \"5\"]}\n"
	"  - {name: hold, action: sleep, duration: 60s}\n";

/* The steps of the state file's pending undos, comma-separated (heap). */
static char *pending_undos(const char *state_file)
{
	json_t *state = json_load_file(state_file, 0, NULL), *u;
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	json_array_foreach(json_object_get(state, "undos"), i, u)
		strbuf_addf(&sb, "%s%s", i ? "," : "",
			    json_string_value(json_object_get(u, "step")) ?: "?");
	json_decref(state);
	return strbuf_detach(&sb);
}

static void test_given_up_rollback_stays_for_recover(void **state)
{
	char *dir = drill_tmpdir("rollback-given-up");
	char *plan = xasprintf("%s/interrupted.yaml", dir), *cluster = xasprintf("%s/cluster", dir);
	const char *up[] = { "cluster", "up", "--cluster", cluster, "--timing", "300ms/30ms", NULL };
	const char *args[] = { "run", plan, "--cluster", cluster, "--json", "--no-results", NULL };
	/* random, so a hit cannot be a coincidence */
	char *tok = xasprintf("tok%llx", (unsigned long long)clock_mono_ns() * 2654435761ull);
	char *tok_file = xasprintf("%s/tok.secret", dir), *marker = xasprintf("%s/undone-%s", dir, tok);
	char *plan_text = xasprintf(interrupted_plan, dir);
	struct drill_proc p;
	char *state_file, *text = NULL, *pending, *out;
	int rc;

	(void)state;
	assert_int_equal(fs_write_atomic(plan, plan_text, strlen(plan_text), NULL), 0);
	assert_int_equal(fs_write_atomic(tok_file, tok, strlen(tok), NULL), 0);
	setenv("DRILLRIG_VAR_tok", tok, 1); /* the drill's value: out of its argv */
	/* A cluster brought up by hand, as the monthly drill's is: it outlives
	 * the drill, so what the rollback left undone stays undone. */
	assert_int_equal(drill_proc_start(&p, dir, up), 0);
	rc = drill_proc_wait(&p, 120 * 1000); /* files, not pipes: the cluster outlives it */
	if (rc != 0) {
		dump(&p);
		fail_msg("cluster up exited %d", rc);
	}
	unlink(p.out_path);
	unlink(p.err_path);
	assert_int_equal(drill_proc_start(&p, dir, args), 0);
	unsetenv("DRILLRIG_VAR_tok"); /* recover gets it from a file */
	if (!drill_proc_wait_event(&p, "step_start", "hold", 120 * 1000)) {
		dump(&p);
		fail_msg("the drill never reached its last step");
	}
	kill(p.pid, SIGINT); /* 1st: the steps stop, the rollback starts */
	if (!drill_proc_wait_event(&p, "step_start", "undo slow-undo", 60 * 1000)) {
		dump(&p);
		fail_msg("the rollback never started the slow undo");
	}
	kill(p.pid, SIGINT);
	clock_sleep_ns(100 * NS_PER_MS);
	kill(p.pid, SIGINT); /* 3rd: the rollback gives up */
	rc = drill_proc_wait(&p, 120 * 1000);
	if (rc != 5) {
		dump(&p);
		fail_msg("a rollback given up at the third interrupt exited %d, wanted 5", rc);
	}
	state_file = xasprintf("%s/drill.state.json", cluster);
	if (!fs_exists(state_file)) {
		dump(&p);
		fail_msg("the state file of an unfinished rollback was removed");
	}
	{
		char *o = drill_proc_stdout(&p), *e = drill_proc_stderr(&p);

		out = xasprintf("%s%s", o, e);
		free(o);
		free(e);
	}
	if (!strstr(out, "\"recover_needed\"") || !strstr(out, "drillrig recover"))
		fail_msg("the drill's output does not point to 'drillrig recover': %s", out);
	free(out);
	pending = pending_undos(state_file);
	if (!strstr(pending, "scale-primary-to-zero") || !strstr(pending, "secret-undo"))
		fail_msg("the undos that never ran are not pending in the state file: [%s]",
			 pending);
	free(pending);
	{
		char *saved = NULL;

		assert_int_equal(fs_read_file(&saved, NULL, state_file, 1 << 20, NULL), 0);
		if (strstr(saved, tok))
			fail_msg("the state file holds the secret variable's value: %s", saved);
		if (!strstr(saved, "undone-${tok}"))
			fail_msg("the state file does not keep ${tok} for recover: %s", saved);
		free(saved);
	}
	{
		/* Without the secret the undo cannot be filled: refused, named,
		 * and the state stays for the next try. */
		const char *recover[] = { "recover", "--cluster", cluster, "--keep-cluster", NULL };

		rc = run_cli(&text, recover, 180);
		if (rc != 5 || !strstr(text, "${tok}") || !strstr(text, "--var-file"))
			fail_msg("recover without the secret (exit %d, wanted 5 naming ${tok}): %s", rc,
				 text);
		free(text);
		assert_true(fs_exists(state_file));
		assert_false(fs_exists(marker));
	}
	{
		char *var_file = xasprintf("tok=%s", tok_file);
		const char *recover[] = { "recover", "--cluster", cluster, "--keep-cluster",
					  "--var-file", var_file, NULL };

		rc = run_cli(&text, recover, 180);
		if (rc != 0 || strstr(text, "nothing to recover"))
			fail_msg("recover after a given-up rollback (exit %d): %s", rc, text);
		if (strstr(text, tok))
			fail_msg("recover printed the secret variable's value: %s", text);
		free(text);
		free(var_file);
	}
	assert_false(fs_exists(state_file));
	if (!fs_exists(marker))
		fail_msg("the secret undo did not run with the secret's value (no %s)", marker);
	{
		const char *st[] = { "cluster", "status", "--cluster", cluster, "--json", NULL };
		json_t *status, *m;
		size_t i, running = 0;

		assert_int_equal(run_cli(&text, st, 30), 0);
		status = json_loads(text, 0, NULL);
		assert_non_null(status);
		json_array_foreach(json_object_get(status, "members"), i, m)
			running += strcmp(json_string_value(json_object_get(m, "state")) ?: "",
					  "unreachable") != 0;
		if (running != 5 || strcmp(json_string_value(json_object_get(status, "replication")) ?:
					   "", "Fully replicated") != 0)
			fail_msg("after recover, %zu of 5 members answer: %s", running, text);
		json_decref(status);
		free(text);
	}
	{
		const char *down[] = { "cluster", "down", "--cluster", cluster, NULL };

		assert_int_equal(run_cli(NULL, down, 60), 0);
	}
	fs_remove_tree(dir, NULL);
	free(state_file);
	free(cluster);
	free(plan);
	free(plan_text);
	free(tok);
	free(tok_file);
	free(marker);
	free(dir);
}

static void interrupt_at_step(const char *step)
{
	char *dir = drill_tmpdir("sigint-step"), *plan = drill_src_path("drills/region-failover.yaml");
	const char *args[] = { "run", plan, "--json", "--timing", "300ms/30ms", "--no-results",
			       "--baseline", "0s", NULL }; /* the baseline is test_drill_local's */
	struct drill_proc p;
	json_t *journal, *after, *probe;
	size_t i;
	int rc;

	assert_int_equal(drill_proc_start(&p, dir, args), 0);
	if (!drill_proc_wait_event(&p, "step_start", step, 120 * 1000)) {
		dump(&p);
		fail_msg("the drill never reached step %s", step);
	}
	kill(p.pid, SIGINT);
	rc = drill_proc_wait(&p, 240 * 1000);
	journal = drill_proc_journal(&p);
	if (rc == 0 && journal &&
	    strcmp(json_string_value(json_object_get(journal, "status")) ?: "", "passed") == 0) {
		/* The signal landed after the last step ended: nothing to assert. */
		fprintf(stderr, "SIGINT at %s arrived after the steps; drill passed\n", step);
	} else {
		if (rc != 4)
			dump(&p);
		assert_int_equal(rc, 4);
		assert_non_null(journal);
		assert_string_equal(json_string_value(json_object_get(journal, "status")), "aborted");
		after = json_object_get(json_object_get(journal, "steady_state"), "after");
		assert_true(json_array_size(after) > 0);
		json_array_foreach(after, i, probe)
			if (!json_is_true(json_object_get(probe, "ok")))
				fail_msg("SIGINT at %s: steady state after failed: %s", step,
					 json_string_value(json_object_get(probe, "message")));
	}
	json_decref(journal);
	fs_remove_tree(dir, NULL);
	free(plan);
	free(dir);
}

static void test_sigint_at_every_step_restores(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(drill_steps) / sizeof(drill_steps[0]); i++)
		interrupt_at_step(drill_steps[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_killed_runner_then_recover),
		cmocka_unit_test(test_given_up_rollback_stays_for_recover),
		cmocka_unit_test(test_sigint_at_every_step_restores),
	};

	return cmocka_run_group_tests_name("drill_recover", tests, NULL, NULL);
}
