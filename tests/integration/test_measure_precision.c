/* Precision of the measurements on the real ledger, with its debug hooks
 * (issue 4, "Tests"):
 *   - Debug/RefuseWrites for 700 ms on the leader during a drill: the
 *     measured unavailable time equals the window the node reports, within
 *     +-20 ms;
 *   - Debug/DropEntry of one acknowledged write: the loss is reported (count
 *     and sequence), the rpo objective fails and the drill exits 1.
 * One bundled cluster (random loopback network, data under /dev/shm) serves
 * both; `drillrig run --cluster` attaches to it.  Every wait is a bounded
 * poll.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/client.h"
#include "ledger/wire.h"

struct fixture {
	char dir[64];
	char *cluster;
	const char *drillrig;
	struct ledger_client *client;
};

static struct fixture fx;

static int run_quiet(char *const argv[], int64_t timeout_ns, char **out)
{
	struct proc_result res;
	struct dr_error err = DR_ERROR_INIT;
	int code;

	if (proc_run(&res, argv, NULL, timeout_ns, 1 << 20, &err) != 0) {
		print_error("cannot run %s: %s\n", argv[0], err.msg);
		return -1;
	}
	code = res.exited ? res.exit_code : -1;
	if (code != 0)
		print_error("%s exited %d: %s%s\n", argv[1], code, res.out ? res.out : "",
			    res.errout ? res.errout : "");
	if (out) {
		*out = res.out;
		res.out = NULL;
	}
	proc_result_release(&res);
	return code;
}

static int group_setup(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	json_error_t jerr;
	json_t *status = NULL, *m;
	char *text = NULL;
	const char *addrs[16];
	size_t i, n = 0;
	int ret = -1;

	(void)state;
	fx.drillrig = getenv("DRILLRIG_BIN") ? getenv("DRILLRIG_BIN") : "build/drillrig";
	str_copy(fx.dir, sizeof(fx.dir), "/dev/shm/dr-precision-XXXXXX");
	if (!mkdtemp(fx.dir)) {
		str_copy(fx.dir, sizeof(fx.dir), "/tmp/dr-precision-XXXXXX");
		if (!mkdtemp(fx.dir))
			return -1;
	}
	fx.cluster = xasprintf("%s/cluster", fx.dir);
	{
		char *up[] = { (char *)fx.drillrig, "cluster", "up", "--cluster", fx.cluster,
			       "--enable-debug", "--timeout", "30s", NULL };
		char *st[] = { (char *)fx.drillrig, "cluster", "status", "--cluster", fx.cluster,
			       "--json", NULL };

		if (run_quiet(up, 60 * NS_PER_SEC, NULL) != 0 ||
		    run_quiet(st, 30 * NS_PER_SEC, &text) != 0)
			goto out;
	}
	status = json_loads(text ? text : "", 0, &jerr);
	json_array_foreach(json_object_get(status, "members"), i, m) {
		const char *a = json_string_value(json_object_get(m, "address"));

		if (a && n < 16)
			addrs[n++] = a;
	}
	if (n == 0) {
		print_error("no member addresses in the cluster status: %s\n", text ? text : "");
		goto out;
	}
	if (ledger_client_new(&fx.client, addrs, n, NULL, &err) != 0) {
		print_error("%s\n", err.msg);
		goto out;
	}
	ret = 0;
out:
	json_decref(status);
	free(text);
	return ret;
}

static int group_teardown(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	char *down[] = { (char *)fx.drillrig, "cluster", "down", "--cluster", fx.cluster, NULL };

	(void)state;
	ledger_client_free(fx.client);
	if (fx.cluster)
		run_quiet(down, 60 * NS_PER_SEC, NULL);
	/* DRILLRIG_KEEP_TEST_DIR=1 keeps the drills' output for a post-mortem. */
	if (getenv("DRILLRIG_KEEP_TEST_DIR"))
		print_message("kept %s\n", fx.dir);
	else
		fs_remove_tree(fx.dir, &err);
	free(fx.cluster);
	return 0;
}

/* ---- a drill in the background ---- */

struct drill {
	pid_t pid;
	char *out_path;
};

static void drill_start(struct drill *d, const char *name, const char *plan_text)
{
	struct dr_error err = DR_ERROR_INIT;
	struct proc_spawn_opts opts = PROC_SPAWN_OPTS_INIT;
	char *plan = xasprintf("%s/%s.yaml", fx.dir, name);
	char *results = xasprintf("%s/results", fx.dir);
	char *err_path = xasprintf("%s/%s.err", fx.dir, name);
	char *argv[] = { (char *)fx.drillrig, "run", plan, "--cluster", fx.cluster, "--json",
			 "--results-repo", results, "--commit-history", NULL };

	d->out_path = xasprintf("%s/%s.jsonl", fx.dir, name);
	if (fs_write_atomic(plan, plan_text, strlen(plan_text), &err) != 0)
		fail_msg("%s", err.msg);
	opts.stdout_path = d->out_path;
	opts.stderr_path = err_path;
	if (proc_spawn(&d->pid, argv, &opts, &err) != 0)
		fail_msg("%s", err.msg);
	free(plan);
	free(results);
	free(err_path);
}

/* Bounded poll for a line of the drill's --json output containing both
 * fragments; returns that line (heap). */
static char *drill_wait_line(const struct drill *d, const char *a, const char *b,
			     int64_t timeout_ns)
{
	int64_t deadline = clock_mono_ns() + timeout_ns;

	for (;;) {
		char *text = NULL;
		size_t len = 0;
		struct dr_error err = DR_ERROR_INIT;

		if (fs_read_file(&text, &len, d->out_path, 1 << 20, &err) == 0) {
			char *line = text;

			while (line && *line) {
				char *nl = strchr(line, '\n');
				char *copy = nl ? xstrndup(line, (size_t)(nl - line)) : xstrdup(line);

				if (strstr(copy, a) && strstr(copy, b)) {
					free(text);
					return copy;
				}
				free(copy);
				line = nl ? nl + 1 : NULL;
			}
		}
		free(text);
		if (clock_mono_ns() > deadline)
			fail_msg("the drill never printed a line with '%s' and '%s' (see %s)", a, b,
				 d->out_path);
		clock_sleep_ns(20 * NS_PER_MS);
	}
}

/* Wait (bounded) for the drill to exit; returns its exit code. */
static int drill_finish(struct drill *d, int64_t timeout_ns)
{
	int64_t deadline = clock_mono_ns() + timeout_ns;
	int status = 0;

	while (proc_wait(d->pid, &status, WNOHANG) == 0) {
		if (clock_mono_ns() > deadline) {
			kill(-d->pid, SIGKILL);
			proc_wait(d->pid, &status, 0);
			fail_msg("the drill did not finish within %lld s",
				 (long long)(timeout_ns / NS_PER_SEC));
		}
		clock_sleep_ns(50 * NS_PER_MS);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The journal of a finished drill (from its last --json line). */
static json_t *drill_journal(struct drill *d)
{
	char *line = drill_wait_line(d, "\"event\":\"report\"", "\"path\"", 5 * NS_PER_SEC);
	json_error_t jerr;
	json_t *ev = json_loads(line, 0, &jerr), *journal;
	const char *path = json_string_value(json_object_get(ev, "path"));
	char *dir, *slash, *jpath;

	if (!path)
		fail_msg("no report path in '%s'", line);
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	jpath = xasprintf("%s/journal.json", dir);
	journal = json_load_file(jpath, 0, &jerr);
	if (!journal)
		fail_msg("cannot read %s: %s", jpath, jerr.text);
	free(jpath);
	free(dir);
	json_decref(ev);
	free(line);
	free(d->out_path);
	return journal;
}

/* Bounded poll until the ledger holds at least `want` entries of a client
 * whose id starts with prefix; returns that client id (heap). */
static char *wait_for_writes(const char *prefix, size_t want)
{
	int64_t deadline = clock_mono_ns() + 20 * NS_PER_SEC;

	for (;;) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *entries = NULL, *e;
		size_t i, count = 0;
		char *cid = NULL;

		if (ledger_read_all(fx.client, &entries, &err) == 0) {
			json_array_foreach(entries, i, e) {
				const char *c = json_string_value(json_object_get(e, "client_id"));

				if (!c || strncmp(c, prefix, strlen(prefix)) != 0)
					continue;
				if (!cid)
					cid = xstrdup(c);
				if (strcmp(cid, c) == 0)
					count++;
			}
		}
		json_decref(entries);
		if (cid && count >= want)
			return cid;
		free(cid);
		if (clock_mono_ns() > deadline)
			fail_msg("the workload (client '%s...') never wrote %zu entries", prefix, want);
		clock_sleep_ns(20 * NS_PER_MS);
	}
}

static double measurement(json_t *journal, const char *name)
{
	json_t *v = json_object_get(json_object_get(journal, "measurements"), name);

	if (!json_is_number(v))
		fail_msg("measurements.%s is not a number", name);
	return json_number_value(v);
}

/* The refusal window as the node logged it: "<mono ms> ledgerd[N] debug:
 * RefuseWrites took effect ..." to "... RefuseWrites window ended ...", from
 * the nodes' logs in the cluster directory.  The node ends the window on
 * its next tick, so it can be a little longer than asked for. */
static double logged_refusal_window_ms(void)
{
	int64_t start = -1, end = -1;

	for (int node = 1; node <= 16; node++) {
		struct dr_error err = DR_ERROR_INIT;
		char *path = xasprintf("%s/n%d.log", fx.cluster, node);
		char *text = NULL, *line;
		size_t len = 0;

		if (fs_read_file(&text, &len, path, 64 << 20, &err) != 0) {
			free(path);
			continue;
		}
		for (line = text; line && *line;) {
			char *nl = strchr(line, '\n');
			char *space = strchr(line, ' ');
			int64_t t;

			if (nl)
				*nl = '\0';
			if (space) {
				*space = '\0';
				if (parse_int64(&t, line, 0, INT64_MAX) == 0) {
					if (strstr(space + 1, "RefuseWrites took effect"))
						start = t;
					else if (strstr(space + 1, "RefuseWrites window ended"))
						end = t;
				}
			}
			line = nl ? nl + 1 : NULL;
		}
		free(text);
		free(path);
	}
	if (start < 0 || end < start)
		fail_msg("no RefuseWrites window in the nodes' logs under %s", fx.cluster);
	return (double)(end - start);
}

/* Issue 4 asks for +-20 ms.  A sanitizer build runs every process (five
 * ledgerd, drillrig) several times slower, and the outage's edges are
 * known only to within one write and one retry pause: give it more room
 * there, where the point is memory errors, not timing. */
#if defined(__SANITIZE_ADDRESS__)
#define TOLERANCE_MS 50.0
#else
#define TOLERANCE_MS 20.0
#endif

/* ---- the tests ---- */

static const char refuse_plan[] =
	"version: 1\n"
	"name: precision-refuse\n"
	"target: local\n"
	"workload: {enabled: true, rate: 0, timeout: 200ms}\n"
	"steps:\n"
	"  - {name: hold, action: sleep, duration: 4s}\n";

static void test_refused_window_is_the_measured_outage(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct drill d;
	json_t *req, *resp = NULL, *journal;
	long http = 0;
	int leader;
	char *line, *cid;
	double window_ms, logged_ms, outage_ms = 0;
	size_t i;
	json_t *o;

	(void)state;
	drill_start(&d, "refuse", refuse_plan);
	line = drill_wait_line(&d, "\"step_start\"", "\"hold\"", 60 * NS_PER_SEC);
	free(line);
	cid = wait_for_writes("drill-precision-refuse", 50);
	free(cid);
	leader = ledger_leader_index(fx.client, &err);
	if (leader < 0)
		fail_msg("no leader: %s", err.msg);
	req = json_pack("{s:i}", "duration_ms", 700);
	if (ledger_call(fx.client, leader, LEDGER_SVC_DEBUG "/RefuseWrites", req, &resp, &http,
			&err) != 0 || http != 200)
		fail_msg("RefuseWrites failed (HTTP %ld): %s", http, err.msg);
	/* The window as the node took it. */
	window_ms = (double)(json_integer_value(json_object_get(resp, "until_mono_ms")) -
			     json_integer_value(json_object_get(resp, "mono_ms")));
	assert_true(window_ms == 700.0);
	json_decref(req);
	json_decref(resp);

	assert_int_equal(drill_finish(&d, 60 * NS_PER_SEC), 0);
	journal = drill_journal(&d);
	/* The refusal is the longest outage; a stray NOT_LEADER at the start or
	 * a slow write at the end may add short ones to unavailable_ms. */
	json_array_foreach(json_object_get(json_object_get(journal, "measurements"), "outages"),
			   i, o) {
		double dur = json_number_value(json_object_get(o, "duration_ms"));

		if (dur > outage_ms)
			outage_ms = dur;
	}
	logged_ms = logged_refusal_window_ms();
	print_message("asked %.0f ms, node logged %.0f ms, measured outage %.3f ms (%.3f ms "
		      "unavailable in all)\n", window_ms, logged_ms, outage_ms,
		      measurement(journal, "unavailable_ms"));
	if (fabs(outage_ms - logged_ms) > TOLERANCE_MS)
		fail_msg("measured a %.3f ms outage for a %.0f ms refusal window logged by the "
			 "node (more than %.0f ms apart)", outage_ms, logged_ms, TOLERANCE_MS);
	assert_true(measurement(journal, "unavailable_ms") >= outage_ms);
	/* No fault step: RTO does not apply (null, not 0). */
	assert_true(json_is_null(json_object_get(json_object_get(journal, "measurements"),
						 "rto_ms")));
	assert_true(measurement(journal, "rpo_lost_writes") == 0.0);
	json_decref(journal);
}

static const char drop_plan[] =
	"version: 1\n"
	"name: precision-drop\n"
	"target: local\n"
	"objectives: {rpo: 0}\n"
	"workload: {enabled: true, rate: 0, timeout: 200ms}\n"
	"steps:\n"
	"  - {name: hold, action: sleep, duration: 3s}\n";

static void test_dropped_entry_is_reported_lost(void **state)
{
	struct drill d;
	json_t *journal, *lost, *objectives, *o, *req;
	char *line, *cid;
	size_t i;
	bool rpo_failed = false;

	(void)state;
	drill_start(&d, "drop", drop_plan);
	line = drill_wait_line(&d, "\"step_start\"", "\"hold\"", 60 * NS_PER_SEC);
	free(line);
	cid = wait_for_writes("drill-precision-drop", 20);
	/* Hide sequence 5 from reads on every node (the hook is per node). */
	req = json_pack("{s:s,s:i}", "client_id", cid, "sequence", 5);
	for (size_t node = 0; node < ledger_client_size(fx.client); node++) {
		int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;

		for (;;) {
			struct dr_error err = DR_ERROR_INIT;
			json_t *resp = NULL;
			long http = 0;
			int rc = ledger_call(fx.client, (int)node, LEDGER_SVC_DEBUG "/DropEntry", req,
					     &resp, &http, &err);

			json_decref(resp);
			if (rc == 0 && http == 200)
				break;
			/* A follower that has not applied it yet: poll. */
			if (clock_mono_ns() > deadline)
				fail_msg("DropEntry on node %zu failed (HTTP %ld): %s", node, http,
					 err.msg);
			clock_sleep_ns(20 * NS_PER_MS);
		}
	}
	json_decref(req);

	assert_int_equal(drill_finish(&d, 60 * NS_PER_SEC), 1);
	journal = drill_journal(&d);
	assert_true(measurement(journal, "rpo_lost_writes") == 1.0);
	lost = json_object_get(json_object_get(journal, "measurements"), "lost_sequences");
	assert_int_equal(json_array_size(lost), 1);
	assert_int_equal(json_integer_value(json_array_get(lost, 0)), 5);
	objectives = json_object_get(journal, "objectives");
	json_array_foreach(objectives, i, o) {
		if (strcmp(json_string_value(json_object_get(o, "name")), "rpo") == 0) {
			rpo_failed = json_is_false(json_object_get(o, "passed"));
			assert_non_null(strstr(json_string_value(json_object_get(o, "message")),
					       "sequence 5"));
		}
	}
	assert_true(rpo_failed);
	assert_int_equal(json_integer_value(json_object_get(journal, "exit_code")), 1);
	json_decref(journal);
	free(cid);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_window_is_the_measured_outage),
		cmocka_unit_test(test_dropped_entry_is_reported_lost),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
