/* Measurement precision on the real ledger with its debug faults:
 * - the leader refuses writes for 700 ms: the measured unavailability
 *   matches the window the node reports within +-20 ms;
 * - the leader hides one acknowledged write: the checker reports it lost
 *   (count and sequence) and the drill exits 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "tests/support/drill_proc.h"

struct fixture {
	char *dir;
	char *cluster;
	char *leader;  /* HTTP address of the leader */
};

static void dump(struct drill_proc *p)
{
	char *out = drill_proc_stdout(p), *err = drill_proc_stderr(p);

	fprintf(stderr, "---- drillrig stdout\n%s\n---- drillrig stderr\n%s\n----\n", out, err);
	free(out);
	free(err);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *bin = drill_bin();
	struct proc_result pr;
	struct dr_error err = DR_ERROR_INIT;
	json_t *status;

	f->dir = drill_tmpdir("precision");
	f->cluster = xasprintf("%s/cluster", f->dir);
	{
		const char *argv[] = { bin, "cluster", "up", "--cluster", f->cluster, "--timing",
				       "300ms/30ms", "--enable-debug", NULL };

		if (proc_run(&pr, (char *const *)argv, NULL, 60 * NS_PER_SEC, 1 << 20, &err) != 0 ||
		    !pr.exited || pr.exit_code != 0) {
			fprintf(stderr, "cluster up failed: %s %s %s\n", err.msg, pr.out, pr.errout);
			return -1;
		}
		proc_result_release(&pr);
	}
	{
		const char *argv[] = { bin, "cluster", "status", "--cluster", f->cluster, "--json", NULL };

		if (proc_run(&pr, (char *const *)argv, NULL, 20 * NS_PER_SEC, 1 << 20, &err) != 0)
			return -1;
		status = json_loads(pr.out, 0, NULL);
		proc_result_release(&pr);
	}
	/* The debug faults are on the leader's HTTP listener, not its gRPC
	 * address: the member's http_address. */
	{
		json_t *m = ledger_member_by_id(json_object_get(status, "members"),
						json_integer_value(json_object_get(
							json_object_get(status, "leader"), "id")));

		f->leader = xstrdup(json_string_value(json_object_get(m, "http_address")) ?: "");
	}
	json_decref(status);
	if (!f->leader[0]) {
		fprintf(stderr, "no leader (or no http_address for it) in the precision cluster\n");
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = { drill_bin(), "cluster", "down", "--cluster", f->cluster, NULL };
	struct proc_result pr;
	struct dr_error err = DR_ERROR_INIT;

	if (proc_run(&pr, (char *const *)argv, NULL, 60 * NS_PER_SEC, 1 << 20, &err) == 0)
		proc_result_release(&pr);
	fs_remove_tree(f->dir, NULL);
	free(f->leader);
	free(f->cluster);
	free(f->dir);
	free(f);
	return 0;
}

static json_t *step_data(json_t *journal, const char *name)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(journal, "steps"), i, s)
		if (strcmp(json_string_value(json_object_get(s, "name")) ?: "", name) == 0)
			return json_object_get(s, "data");
	return NULL;
}

static void test_refuse_writes_window_is_measured(void **state)
{
	struct fixture *f = *state;
	char *plan = drill_src_path("tests/data/plans/precision/refuse-writes.yaml");
	char *var = xasprintf("leader=%s", f->leader);
	char *token = xasprintf("token=%s/admin-token", f->cluster);
	const char *args[] = { "run", plan, "--cluster", f->cluster, "--var", var, "--var-file",
			       token, "--json", "--no-results", NULL };
	struct drill_proc p;
	json_t *journal, *answer, *m;
	double window_ms, unavailable_ms;
	int rc;

	assert_int_equal(drill_proc_start(&p, f->dir, args), 0);
	rc = drill_proc_wait(&p, 120 * 1000);
	if (rc != 0)
		dump(&p);
	assert_int_equal(rc, 0);
	journal = drill_proc_journal(&p);
	assert_non_null(journal);
	/* The window as the node reported it (curl's stdout in the step data). */
	answer = json_loads(json_string_value(json_object_get(json_object_get(
				step_data(journal, "refuse-writes"), "data"), "stdout")) ?: "", 0, NULL);
	assert_non_null(answer);
	window_ms = (double)(json_integer_value(json_object_get(answer, "until_mono_ms")) -
			     json_integer_value(json_object_get(answer, "mono_ms")));
	assert_true(fabs(window_ms - 700) < 1.5);
	m = json_object_get(journal, "measurements");
	/* The outage the refusal caused (a busy machine may add other, short
	 * ones elsewhere in the drill): the one that starts nearest the step. */
	{
		json_t *step = NULL, *sp, *best = NULL;
		double start, best_gap = 1e18;
		size_t k;

		json_array_foreach(json_object_get(journal, "steps"), k, sp)
			if (strcmp(json_string_value(json_object_get(sp, "name")) ?: "", "refuse-writes") == 0)
				step = sp;
		assert_non_null(step);
		start = json_number_value(json_object_get(step, "start_ms"));
		json_array_foreach(json_object_get(m, "outages"), k, sp) {
			double gap = fabs(json_number_value(json_object_get(sp, "start_ms")) - start);

			if (gap < best_gap) {
				best_gap = gap;
				best = sp;
			}
		}
		assert_non_null(best);
		unavailable_ms = json_number_value(json_object_get(best, "duration_ms"));
	}
	fprintf(stderr, "refuse window %.1f ms, measured unavailable %.1f ms, rto %.1f ms\n",
		window_ms, unavailable_ms, json_number_value(json_object_get(m, "rto_ms")));
	if (fabs(unavailable_ms - window_ms) > 20)
		fail_msg("measured unavailability %.1f ms is not within 20 ms of the %.1f ms window",
			 unavailable_ms, window_ms);
	assert_true(json_integer_value(json_object_get(json_object_get(m, "writes"), "failed")) +
		    json_integer_value(json_object_get(json_object_get(m, "writes"), "ok")) > 0);
	assert_int_equal(json_integer_value(json_object_get(m, "rpo_lost_writes")), 0);
	json_decref(answer);
	json_decref(journal);
	free(var);
	free(token);
	free(plan);
}

static void test_dropped_entry_is_reported_lost(void **state)
{
	struct fixture *f = *state;
	char *plan = drill_src_path("tests/data/plans/precision/drop-entry.yaml");
	char *client = xasprintf("precision-%ld", (long)getpid());
	char *var_leader = xasprintf("leader=%s", f->leader);
	char *var_client = xasprintf("client=%s", client);
	char *token = xasprintf("token=%s/admin-token", f->cluster);
	const char *args[] = { "run", plan, "--cluster", f->cluster, "--var", var_leader, "--var",
			       var_client, "--var-file", token, "--json", "--no-results", NULL };
	struct drill_proc p;
	json_t *journal, *m, *lost, *rpo = NULL, *o;
	size_t i;
	int rc;

	setenv("DRILLRIG_WORKLOAD_CLIENT_ID", client, 1);
	assert_int_equal(drill_proc_start(&p, f->dir, args), 0);
	unsetenv("DRILLRIG_WORKLOAD_CLIENT_ID");
	rc = drill_proc_wait(&p, 120 * 1000);
	if (rc != 1)
		dump(&p);
	assert_int_equal(rc, 1);
	journal = drill_proc_journal(&p);
	assert_non_null(journal);
	m = json_object_get(journal, "measurements");
	assert_int_equal(json_integer_value(json_object_get(m, "rpo_lost_writes")), 1);
	lost = json_object_get(m, "lost_sequences");
	assert_int_equal(json_array_size(lost), 1);
	assert_int_equal(json_integer_value(json_array_get(lost, 0)), 3);
	json_array_foreach(json_object_get(journal, "objectives"), i, o)
		if (strcmp(json_string_value(json_object_get(o, "name")) ?: "", "rpo") == 0)
			rpo = o;
	assert_non_null(rpo);
	assert_false(json_is_true(json_object_get(rpo, "passed")));
	assert_string_equal(json_string_value(json_object_get(journal, "status")), "failed");
	json_decref(journal);
	free(var_client);
	free(var_leader);
	free(token);
	free(client);
	free(plan);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_refuse_writes_window_is_measured, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_entry_is_reported_lost, setup, teardown),
	};

	return cmocka_run_group_tests_name("measure_precision", tests, NULL, NULL);
}
