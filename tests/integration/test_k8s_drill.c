/* The Kubernetes target end to end, against a real bundled cluster behind
 * the kubectl test double (tests/doubles/kubectl_double.c): region-failover
 * passes unchanged in both API dialects; a context outside the allow-list
 * is refused before any command; a run without --yes off a terminal exits 2
 * before any command; a kubectl failure mid-drill still runs the rollback;
 * a dry run prints the commands and runs none; a held Lease refuses a drill;
 * without a workload endpoint, canary writes measure RPO in both dialects
 * and a lost canary fails the drill. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
#include "tests/support/k8s_double_env.h"

#define DRILL_TIMEOUT_MS (180 * 1000)

static struct k8s_double_env fx;

static int run_cmd(char *const argv[], char **out)
{
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	if (proc_run(&r, argv, NULL, 60 * NS_PER_SEC, 1 << 20, &err) != 0) {
		fprintf(stderr, "cannot run %s: %s\n", argv[0], err.msg);
		return -1;
	}
	rc = r.exited ? r.exit_code : -1;
	if (rc != 0)
		fprintf(stderr, "%s exited %d: %s%s\n", argv[0], rc, r.errout ? r.errout : "", r.out ? r.out : "");
	if (out)
		*out = xstrdup(r.out ? r.out : "");
	proc_result_release(&r);
	return rc;
}

static int kubectl(const char *context, char **out, ...)
{
	char *argv[32] = { fx.kubectl, (char *)"--context", (char *)context, (char *)"-n", (char *)"inferadb" };
	int n = 5;
	va_list ap;
	char *a;

	va_start(ap, out);
	while ((a = va_arg(ap, char *)) != NULL && n < 31)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run_cmd(argv, out);
}

static json_t *status_via_double(void)
{
	char *out = NULL;
	json_t *st = NULL;

	for (int k = 0; k < 3 && !st; k++) {
		const char *ctx = k == 0 ? "drill-primary" : k == 1 ? "drill-dr" : "drill-witness";

		free(out);
		out = NULL;
		if (kubectl(ctx, &out, "exec", "inferadb-ledger-0", "--", "grpcurl", "-plaintext",
			    "localhost:50051", "inferadb.ledger.v1.Admin/GetClusterStatus", NULL) == 0)
			st = json_loads(out, 0, NULL);
	}
	free(out);
	return st;
}

/* The drill starts from the runbook's normal state: the leader in primary
 * and every pod back.  Bounded poll. */
static void settle_leader_in_primary(void)
{
	int64_t deadline = clock_mono_ns() + 30 * NS_PER_SEC;

	for (;;) {
		json_t *st = status_via_double(), *m;
		const char *r = json_string_value(json_object_get(json_object_get(st, "leader"), "region"));
		char region[64];
		size_t i, up = 0;

		snprintf(region, sizeof(region), "%s", r ? r : "none");
		json_array_foreach(json_object_get(st, "members"), i, m) {
			const char *s = json_string_value(json_object_get(m, "state"));

			up += s && strcmp(s, "unreachable") != 0;
		}
		json_decref(st);
		if (strcmp(region, "primary") == 0 && up == 5)
			return;
		if (clock_mono_ns() > deadline)
			fail_msg("the cluster did not settle with its leader in primary and 5 members up "
				 "within 30 s (leader in %s, %zu up)", region, up);
		if (strcmp(region, "none") != 0 && strcmp(region, "primary") != 0)
			kubectl("drill-dr", NULL, "exec", "inferadb-ledger-0", "--", "grpcurl", "-plaintext", "-d",
				"{\"region\":\"primary\"}", "localhost:50051",
				"inferadb.ledger.v1.Admin/RequestLeaderTransfer", NULL);
		clock_sleep_ns(200 * NS_PER_MS);
	}
}

static int setup(void **state)
{
	(void)state;
	/* Debug faults on: the lost-canary test hides an entry. */
	return k8s_double_env_up(&fx, "k8s", 1);
}

static int teardown(void **state)
{
	(void)state;
	k8s_double_env_down(&fx);
	return 0;
}

static void dump(struct drill_proc *p)
{
	char *out = drill_proc_stdout(p), *err = drill_proc_stderr(p);

	fprintf(stderr, "---- drillrig stdout\n%s\n---- drillrig stderr\n%s\n----\n", out, err);
	free(out);
	free(err);
}

static size_t log_lines(void)
{
	char *text = NULL;
	size_t len = 0, n = 0;

	if (!fs_exists(fx.log))
		return 0;
	if (fs_read_file(&text, &len, fx.log, 1 << 24, NULL) != 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	free(text);
	return n;
}

static void reset_log(void)
{
	unlink(fx.log);
}

static json_t *find_step(json_t *journal, const char *phase, const char *name)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(journal, "steps"), i, s) {
		const char *ph = json_string_value(json_object_get(s, "phase"));
		const char *nm = json_string_value(json_object_get(s, "name"));

		if (ph && nm && strcmp(ph, phase) == 0 && strstr(nm, name))
			return s;
	}
	return NULL;
}

static int run_plan(struct drill_proc *p, const char *plan_rel, const char *config,
		    const char *const extra[], json_t **journal)
{
	char *plan = drill_src_path(plan_rel);
	char *cfg = config[0] == '/' ? xstrdup(config) : drill_src_path(config);
	char *results = xasprintf("%s/results", fx.dir);
	/* region-failover's 2 s baseline period buys these tests nothing
	 * (test_drill_local checks the baseline) */
	const char *args[18] = { "run", plan, "--target", "kubernetes", "--target-config", cfg, "--json",
				 "--results-repo", results, "--baseline", "0s" };
	int n = 11, rc;

	char *run_dir = xasprintf("%s/run-XXXXXX", fx.dir);

	for (size_t i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	assert_non_null(mkdtemp(run_dir));
	assert_int_equal(drill_proc_start(p, run_dir, args), 0);
	free(run_dir);
	rc = drill_proc_wait(p, DRILL_TIMEOUT_MS);
	if (journal)
		*journal = drill_proc_journal(p);
	free(plan);
	free(cfg);
	free(results);
	return rc;
}

static int run_drill(struct drill_proc *p, const char *config, const char *const extra[], json_t **journal)
{
	return run_plan(p, "drills/region-failover.yaml", config, extra, journal);
}

/* Every command of the journal names its context and namespace. */
static void assert_commands_explicit(json_t *journal, const char *must_contain)
{
	json_t *c;
	size_t i;
	int seen = 0;

	assert_true(json_array_size(json_object_get(journal, "commands")) > 3);
	json_array_foreach(json_object_get(journal, "commands"), i, c) {
		const char *argv = json_string_value(json_object_get(c, "argv"));

		assert_non_null(argv);
		if (!strstr(argv, "--context drill-") || !strstr(argv, " -n inferadb "))
			fail_msg("command without an explicit context and namespace: %s", argv);
		seen |= strstr(argv, must_contain) != NULL;
	}
	if (!seen)
		fail_msg("no journaled command contains '%s'", must_contain);
}

/* The first journaled command whose argv contains what. */
static json_t *find_command(json_t *journal, const char *what)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(journal, "commands"), i, c)
		if (strstr(json_string_value(json_object_get(c, "argv")) ?: "", what))
			return c;
	return NULL;
}

/* Output in the journal: admin answers kept, kubectl's own JSON (specs can
 * hold secrets) only summarised. */
static void assert_command_output_kept(json_t *journal, const char *status_method)
{
	json_t *c = find_command(journal, status_method);
	const char *out;

	assert_non_null(c);
	out = json_string_value(json_object_get(c, "stdout"));
	if (!out || !strstr(out, "members"))
		fail_msg("the status answer is not in the journal: %s", out ? out : "(none)");
	c = find_command(journal, "get statefulset/inferadb-ledger -o json");
	assert_non_null(c);
	out = json_string_value(json_object_get(c, "stdout"));
	if (!out || !strstr(out, "parsed and not kept"))
		fail_msg("kubectl's own JSON should only be summarised: %s", out ? out : "(none)");
}

static void assert_lease_released(void)
{
	char *out = NULL;
	int rc = kubectl("drill-primary", &out, "get", "lease.coordination.k8s.io/drillrig-drill-lock", "-o",
			 "json", NULL);

	free(out);
	assert_int_not_equal(rc, 0); /* NotFound: the drill deleted its Lease */
}

static void failover_passes(const char *config, const char *status_method)
{
	struct drill_proc p;
	json_t *journal = NULL, *m;
	int rc;

	settle_leader_in_primary();
	reset_log();
	rc = run_drill(&p, config, (const char *const[]){ "--yes", NULL }, &journal);
	if (rc != 0) {
		dump(&p);
		fprintf(stderr, "reason: %s\n", json_string_value(json_object_get(journal, "reason")) ?: "?");
		json_decref(journal);
		fail_msg("region-failover through %s exited %d", config, rc);
	}
	assert_non_null(journal);
	assert_string_equal(json_string_value(json_object_get(journal, "status")), "passed");
	assert_string_equal(json_string_value(json_object_get(json_object_get(journal, "target"), "kind")),
			    "kubernetes");
	m = json_object_get(journal, "measurements");
	assert_true(json_number_value(json_object_get(m, "rto_ms")) < 60000);
	assert_int_equal(json_integer_value(json_object_get(m, "rpo_lost_writes")), 0);
	assert_true(json_is_number(json_object_get(m, "promotion_ms")));
	assert_commands_explicit(journal, "scale statefulset/inferadb-ledger --replicas=0");
	assert_commands_explicit(journal, status_method);
	assert_command_output_kept(journal, status_method);
	assert_lease_released();
	json_decref(journal);
}

static void test_region_failover_runbook(void **state)
{
	(void)state;
	failover_passes("tests/data/k8s/double.yaml", "inferadb.ledger.v1.Admin/GetClusterStatus");
}

static void test_region_failover_ledger_v1(void **state)
{
	(void)state;
	failover_passes("tests/data/k8s/double-ledger-v1.yaml", "ledger.v1.AdminService/GetClusterInfo");
}

/* No workload endpoint, canary writes configured: region-failover passes
 * unchanged (its write_read probes write and read through the leader's
 * pod), RTO comes from the status and RPO from the canaries read back, and
 * each canary write and read is a journaled kubectl exec of the dialect's
 * own method. */
static void canary_failover_passes(const char *config, const char *write_method, const char *read_method)
{
	struct drill_proc p;
	json_t *journal = NULL, *m, *w;
	int rc;

	settle_leader_in_primary();
	/* The runbook's drill unchanged: its write_read probes go through the
	 * canary path too. */
	rc = run_plan(&p, "drills/region-failover.yaml", config, (const char *const[]){ "--yes", NULL },
		      &journal);
	if (rc != 0) {
		dump(&p);
		json_decref(journal);
		fail_msg("region-failover with canary writes through %s exited %d", config, rc);
	}
	m = json_object_get(journal, "measurements");
	w = json_object_get(m, "writes");
	assert_string_equal(json_string_value(json_object_get(m, "workload_mode")), "canary");
	assert_string_equal(json_string_value(json_object_get(json_object_get(journal, "target"), "measurement")),
			    "canary");
	/* The drill lasts about 2 s with a canary every 200 ms. */
	if (json_integer_value(json_object_get(w, "ok")) < 3)
		fail_msg("only %lld canary writes were acknowledged",
			 (long long)json_integer_value(json_object_get(w, "ok")));
	assert_int_equal(json_integer_value(json_object_get(m, "rpo_lost_writes")), 0);
	assert_int_equal(json_integer_value(json_object_get(w, "unexpected")), 0);
	assert_true(json_is_number(json_object_get(m, "rto_ms")));
	if (json_number_value(json_object_get(m, "rto_ms")) <= 0) {
		json_t *e;
		size_t i;

		/* The primary led at the fault (primary-leads): losing it is an
		 * interruption the status must show. */
		json_array_foreach(json_object_get(journal, "events"), i, e) {
			const char *type = json_string_value(json_object_get(e, "type"));

			if (type && (strcmp(type, "leader_change") == 0 || strcmp(type, "step_start") == 0)) {
				char *line = json_dumps(e, JSON_COMPACT);

				fprintf(stderr, "%s\n", line);
				free(line);
			}
		}
		fail_msg("RTO %.1f ms (%s): losing the leading primary region must show in the status",
			 json_number_value(json_object_get(m, "rto_ms")),
			 json_string_value(json_object_get(m, "rto_note")) ?: "?");
	}
	assert_commands_explicit(journal, write_method);
	assert_commands_explicit(journal, read_method);
	/* Read-back pages hold the ledger's entries: summarised, not kept. */
	assert_non_null(strstr(json_string_value(json_object_get(find_command(journal, read_method), "stdout"))
			       ?: "", "not kept"));
	assert_string_equal(json_string_value(json_object_get(find_step(journal, "steps", "connectivity"),
								  "result")), "ok");
	json_decref(journal);
}

static void test_canary_writes_measure_rpo_runbook(void **state)
{
	(void)state;
	canary_failover_passes("tests/data/k8s/double-canary.yaml", "inferadb.ledger.v1.Ledger/Append",
			       "inferadb.ledger.v1.Ledger/Read");
}

static void test_canary_writes_measure_rpo_ledger_v1(void **state)
{
	(void)state;
	canary_failover_passes("tests/data/k8s/double-canary-ledger-v1.yaml", "ledger.v1.WriteService/Write",
			       "ledger.v1.ReadService/ListEntities");
}

/* An acknowledged canary write hidden from reads: RPO 1, exit 1. */
static void test_lost_canary_write_fails_the_drill(void **state)
{
	const char *client = "drill-canary-lost-test";
	json_t *st, *journal = NULL, *m;
	const char *addr;
	char *leader_var, *client_var = xasprintf("client=%s", client);
	struct drill_proc p;
	int rc;

	(void)state;
	/* The leader must stay put: it alone hides the entry. */
	settle_leader_in_primary();
	st = status_via_double();
	addr = json_string_value(json_object_get(json_object_get(st, "leader"), "address"));
	if (!addr)
		fail_msg("the cluster has no leader to hide an entry on");
	/* DropEntry is a debug fault: on the leader's HTTP listener, the
	 * member's httpAddress (grpcurl prints camelCase). */
	{
		json_t *member;
		const char *http = NULL;
		size_t i;

		json_array_foreach(json_object_get(st, "members"), i, member)
			if (strcmp(json_string_value(json_object_get(member, "address")) ?: "", addr) == 0)
				http = json_string_value(json_object_get(member, "httpAddress"));
		if (!http)
			fail_msg("the leader %s has no httpAddress in the cluster status", addr);
		leader_var = xasprintf("leader=%s", http);
	}
	json_decref(st);
	setenv("DRILLRIG_WORKLOAD_CLIENT_ID", client, 1);
	rc = run_plan(&p, "tests/data/plans/k8s/canary-lost.yaml", "tests/data/k8s/double-canary.yaml",
		      (const char *const[]){ "--yes", "--var", leader_var, "--var", client_var, NULL }, &journal);
	unsetenv("DRILLRIG_WORKLOAD_CLIENT_ID");
	if (rc != 1) {
		dump(&p);
		json_decref(journal);
		fail_msg("a lost canary write should fail the drill with exit 1, got %d", rc);
	}
	m = json_object_get(journal, "measurements");
	assert_string_equal(json_string_value(json_object_get(m, "workload_mode")), "canary");
	if (json_integer_value(json_object_get(m, "rpo_lost_writes")) != 1) {
		dump(&p);
		fail_msg("expected 1 lost canary write, got %lld (reason: %s)",
			 (long long)json_integer_value(json_object_get(m, "rpo_lost_writes")),
			 json_string_value(json_object_get(journal, "reason")) ?: "?");
	}
	assert_int_equal(json_integer_value(json_array_get(json_object_get(m, "lost_sequences"), 0)), 2);
	json_decref(journal);
	free(leader_var);
	free(client_var);
}

/* Canary writes that never get through (the caller may not write, the
 * method is missing) stop the drill before its first step: exit 3 naming
 * the last refusal, nothing changed, never a clean RPO 0. */
static void test_canary_write_path_broken_stops_before_any_step(void **state)
{
	char *src = drill_src_path("tests/data/k8s/double-canary.yaml"), *text = NULL;
	char *cfg = xasprintf("%s/canary-1s.yaml", fx.dir), *at;
	struct drill_proc p;
	json_t *journal = NULL;
	size_t len = 0;
	int rc;

	(void)state;
	settle_leader_in_primary();
	/* canary.timeout 1s: the drill gives the first canary 3 s. */
	assert_int_equal(fs_read_file(&text, &len, src, 1 << 20, NULL), 0);
	at = strstr(text, "timeout: 10s");
	assert_non_null(at);
	memcpy(at, "timeout: 1s ", 12);
	assert_int_equal(fs_write_atomic(cfg, text, len, NULL), 0);
	reset_log();
	setenv("KUBECTL_DOUBLE_FAIL", "Ledger/Append", 1);
	setenv("KUBECTL_DOUBLE_FAIL_EXIT", "71", 1); /* 64 + PERMISSION_DENIED */
	/* The plan without write_read probes: the steady state would stop it
	 * first (also before any change), and this is about the recorder. */
	rc = run_plan(&p, "tests/data/plans/k8s/region-failover-status-only.yaml", cfg,
		      (const char *const[]){ "--yes", NULL }, &journal);
	unsetenv("KUBECTL_DOUBLE_FAIL");
	unsetenv("KUBECTL_DOUBLE_FAIL_EXIT");
	if (rc != 3) {
		dump(&p);
		fail_msg("a canary write path that never works should exit 3, got %d", rc);
	}
	if (!strstr(json_string_value(json_object_get(journal, "reason")) ?: "",
		    "no canary write was acknowledged before the first step"))
		fail_msg("unexpected reason: %s", json_string_value(json_object_get(journal, "reason")) ?: "?");
	assert_non_null(strstr(json_string_value(json_object_get(journal, "reason")), "PERMISSION_DENIED"));
	assert_null(find_step(journal, "steps", "lead-from-primary"));
	assert_null(find_command(journal, "--replicas=0"));
	json_decref(journal);
	free(text);
	free(src);
	free(cfg);
}

/* A transfer refused while the cluster elects (grpcurl: UNAVAILABLE) is
 * asked again until the step's deadline; one refused for good (kubectl
 * itself failed, as on an RBAC refusal) fails at once, quoting kubectl. */
static void test_refused_transfer_is_asked_again(void **state)
{
	char *counter = xasprintf("%s/kubectl-double-failures", fx.cluster);
	struct drill_proc p;
	json_t *journal = NULL, *e;
	size_t i;
	int rc, again = 0;

	(void)state;
	settle_leader_in_primary();
	unlink(counter);
	setenv("KUBECTL_DOUBLE_FAIL", "RequestLeaderTransfer", 1);
	setenv("KUBECTL_DOUBLE_FAIL_TIMES", "1", 1);
	setenv("KUBECTL_DOUBLE_FAIL_EXIT", "78", 1); /* 64 + UNAVAILABLE */
	rc = run_plan(&p, "tests/data/plans/k8s/transfer-to-dr.yaml", "tests/data/k8s/double.yaml",
		      (const char *const[]){ "--yes", NULL }, &journal);
	unsetenv("KUBECTL_DOUBLE_FAIL");
	unsetenv("KUBECTL_DOUBLE_FAIL_TIMES");
	unsetenv("KUBECTL_DOUBLE_FAIL_EXIT");
	unlink(counter);
	if (rc != 0) {
		dump(&p);
		json_decref(journal);
		fail_msg("a transfer refused once should be asked again and succeed; exit %d", rc);
	}
	json_array_foreach(json_object_get(journal, "events"), i, e) {
		const char *msg = json_string_value(json_object_get(e, "message"));

		again |= msg && strstr(msg, "asking again") != NULL;
	}
	assert_true(again);
	json_decref(journal);

	/* Refused for good: no second round, the step says why. */
	settle_leader_in_primary();
	{
		int64_t start = clock_mono_ns();
		json_t *step;

		setenv("KUBECTL_DOUBLE_FAIL", "RequestLeaderTransfer", 1);
		rc = run_plan(&p, "tests/data/plans/k8s/transfer-to-dr.yaml", "tests/data/k8s/double.yaml",
			      (const char *const[]){ "--yes", NULL }, &journal);
		unsetenv("KUBECTL_DOUBLE_FAIL");
		if (rc != 1) {
			dump(&p);
			fail_msg("a transfer kubectl refuses should fail the step (exit 1), got %d", rc);
		}
		step = find_step(journal, "steps", "lead-from-dr");
		assert_non_null(strstr(json_string_value(json_object_get(step, "message")) ?: "",
				       "injected failure"));
		if (clock_mono_ns() - start > 20 * NS_PER_SEC)
			fail_msg("a permanent refusal was retried until the step's 30 s timeout");
		json_decref(journal);
	}
	unlink(counter);
	free(counter);
}

static void test_context_not_allowed_refused_before_any_command(void **state)
{
	char *src = drill_src_path("tests/data/k8s/double.yaml"), *text = NULL, *bad;
	char *cfg_dir = xasprintf("%s/not-allowed", fx.dir);
	char *cfg = xasprintf("%s/not-allowed.yaml", cfg_dir);
	struct strbuf sb = STRBUF_INIT;
	struct drill_proc p;
	size_t len = 0;
	char *err;
	int rc;
	const char *args[] = { "run", NULL, "--target", "kubernetes", "--target-config", cfg, "--yes",
			       "--no-results", NULL };

	(void)state;
	assert_int_equal(fs_mkdir_p(cfg_dir, NULL), 0);
	assert_int_equal(fs_read_file(&text, &len, src, 1 << 20, NULL), 0);
	/* The dr region points at a context the allow-list does not name. */
	bad = strstr(text, "context: drill-dr");
	assert_non_null(bad);
	strbuf_add(&sb, text, (size_t)(bad - text));
	strbuf_adds(&sb, "context: eks-production");
	strbuf_adds(&sb, bad + strlen("context: drill-dr"));
	assert_int_equal(fs_write_atomic(cfg, sb.buf, sb.len, NULL), 0);
	args[1] = drill_src_path("drills/region-failover.yaml");
	reset_log();
	assert_int_equal(drill_proc_start(&p, cfg_dir, args), 0);
	rc = drill_proc_wait(&p, 30000);
	err = drill_proc_stderr(&p);
	/* A usage error: refused before any command, exit 2 (not 3). */
	assert_int_equal(rc, 2);
	if (!strstr(err, "context 'eks-production' of region 'dr' is not in allowed_contexts"))
		fail_msg("unexpected refusal: %s", err);
	assert_int_equal(log_lines(), 0); /* not a single kubectl command ran */
	free(err);
	free((char *)args[1]);
	free(text);
	free(src);
	free(cfg);
	free(cfg_dir);
	strbuf_release(&sb);
}

static void test_missing_yes_exits_2_before_any_command(void **state)
{
	struct drill_proc p;
	char *err;
	int rc;

	(void)state;
	reset_log();
	/* drill_proc_start gives the child /dev/null as stdin: not a terminal. */
	rc = run_drill(&p, "tests/data/k8s/double.yaml", (const char *const[]){ "--no-results", NULL }, NULL);
	err = drill_proc_stderr(&p);
	if (!strstr(err, "pass --yes"))
		fail_msg("no --yes hint: %s", err);
	assert_int_equal(log_lines(), 0);
	free(err);
	assert_int_equal(rc, 2);
}

static void test_kubectl_failure_mid_drill_still_rolls_back(void **state)
{
	struct drill_proc p;
	json_t *journal = NULL, *fault, *undo, *st, *m;
	int64_t deadline;
	size_t i, up;
	int rc;

	(void)state;
	settle_leader_in_primary();
	/* The scale to zero takes effect, then kubectl fails (as when the API
	 * server accepted it but the connection dropped). */
	setenv("KUBECTL_DOUBLE_FAIL", "--replicas=0", 1);
	setenv("KUBECTL_DOUBLE_FAIL_AFTER", "1", 1);
	rc = run_drill(&p, "tests/data/k8s/double.yaml", (const char *const[]){ "--yes", NULL }, &journal);
	unsetenv("KUBECTL_DOUBLE_FAIL");
	unsetenv("KUBECTL_DOUBLE_FAIL_AFTER");
	if (rc != 1)
		dump(&p);
	assert_int_equal(rc, 1);
	assert_non_null(journal);
	fault = find_step(journal, "steps", "scale-primary-to-zero");
	assert_non_null(fault);
	assert_string_equal(json_string_value(json_object_get(fault, "result")), "failed");
	assert_non_null(strstr(json_string_value(json_object_get(fault, "message")), "injected failure"));
	/* The failed command's stderr is in the journal. */
	assert_non_null(strstr(json_string_value(json_object_get(find_command(journal, "--replicas=0"),
								 "stderr")) ?: "", "injected failure"));
	undo = find_step(journal, "undo", "scale-primary-to-zero");
	assert_non_null(undo);
	assert_string_equal(json_string_value(json_object_get(undo, "result")), "ok");
	/* And the cluster is whole again: all five members answer. */
	deadline = clock_mono_ns() + 30 * NS_PER_SEC;
	for (;;) {
		st = status_via_double();
		up = 0;
		json_array_foreach(json_object_get(st, "members"), i, m) {
			const char *s = json_string_value(json_object_get(m, "state"));

			up += s && strcmp(s, "unreachable") != 0;
		}
		json_decref(st);
		if (up == 5)
			break;
		if (clock_mono_ns() > deadline)
			fail_msg("after the rollback only %zu of 5 members answer", up);
		clock_sleep_ns(200 * NS_PER_MS);
	}
	assert_lease_released();
	json_decref(journal);
}

/* The --json events of a dry run: every step's result starts with one of
 * the prefixes (it says what it would do, never what it did), the drill
 * ends with status dry_run (no verdict), and no report is written. */
static void assert_dry_run_events(const char *out, const char *const prefixes[])
{
	const char *line = out;
	int steps = 0, ended = 0;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		json_t *ev = line[0] == '{' ? json_loadb(line, eol ? (size_t)(eol - line) : strlen(line), 0, NULL)
					    : NULL;
		const char *event = json_string_value(json_object_get(ev, "event"));

		if (event && strcmp(event, "step_end") == 0) {
			const char *msg = json_string_value(json_object_get(ev, "message")) ?: "";
			int said = 0;

			for (size_t i = 0; prefixes[i]; i++)
				said |= strncmp(msg, prefixes[i], strlen(prefixes[i])) == 0;
			if (!said)
				fail_msg("step '%s' of a dry run says '%s'",
					 json_string_value(json_object_get(ev, "step")), msg);
			steps++;
		} else if (event && strcmp(event, "drill_end") == 0) {
			if (strcmp(json_string_value(json_object_get(ev, "status")) ?: "", "dry_run") != 0)
				fail_msg("a dry run ends with status '%s', not dry_run",
					 json_string_value(json_object_get(ev, "status")));
			ended = 1;
		} else if (event && strcmp(event, "report") == 0) {
			fail_msg("a dry run wrote a report: %.*s", (int)(eol ? eol - line : 200), line);
		}
		json_decref(ev);
		line = eol ? eol + 1 : NULL;
	}
	if (steps < 7 || !ended)
		fail_msg("%d step results and %s drill_end event in the dry run's output:\n%s", steps,
			 ended ? "a" : "no", out);
}

static void test_dry_run_prints_and_runs_nothing(void **state)
{
	static const char *const would[] = { "would ", NULL };
	struct drill_proc p;
	char *out;
	int rc;

	(void)state;
	reset_log();
	rc = run_drill(&p, "tests/data/k8s/double.yaml", (const char *const[]){ "--dry-run", NULL }, NULL);
	out = drill_proc_stdout(&p);
	if (rc != 0)
		dump(&p);
	assert_int_equal(rc, 0);
	if (!strstr(out, "would run: kubectl --context drill-primary -n inferadb scale statefulset/inferadb-ledger --replicas=0") ||
	    !strstr(out, "would run: kubectl --context drill-primary -n inferadb scale statefulset/inferadb-ledger --replicas=2"))
		fail_msg("the dry run did not print the scale commands:\n%s", out);
	assert_dry_run_events(out, would);
	assert_int_equal(log_lines(), 0);
	free(out);
}

/* --dry-run=server sends each change with kubectl's server-side dry run:
 * its results say what the API server accepted, and nothing is scaled. */
static void test_server_dry_run_changes_nothing(void **state)
{
	static const char *const said[] = { "would ", "server dry run: ", NULL };
	struct drill_proc p;
	char *out, *log = NULL;
	size_t len = 0, scales = 0;
	int rc;

	(void)state;
	reset_log();
	rc = run_drill(&p, "tests/data/k8s/double.yaml",
		       (const char *const[]){ "--dry-run=server", "--yes", NULL }, NULL);
	out = drill_proc_stdout(&p);
	if (rc != 0)
		dump(&p);
	assert_int_equal(rc, 0);
	assert_dry_run_events(out, said);
	if (!strstr(out, "server dry run: scaling statefulset/inferadb-ledger in drill-primary to 0 was "
			 "accepted (nothing changed)"))
		fail_msg("no accepted server-side scale to 0 in:\n%s", out);
	/* Every scale the double saw was a server-side dry run. */
	assert_int_equal(fs_read_file(&log, &len, fx.log, 1 << 24, NULL), 0);
	for (char *l = log, *eol; l && *l; l = eol ? eol + 1 : NULL) {
		eol = strchr(l, '\n');
		if (eol)
			*eol = '\0';
		if (!strstr(l, " scale "))
			continue;
		scales++;
		if (!strstr(l, "--dry-run=server"))
			fail_msg("a server dry run scaled for real: %s", l);
	}
	assert_true(scales >= 3);
	free(log);
	free(out);
}

static void test_held_lease_refuses_a_second_drill(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result r;
	struct drill_proc p;
	char *argv[] = { fx.kubectl, (char *)"--context", (char *)"drill-primary", (char *)"-n",
			 (char *)"inferadb", (char *)"create", (char *)"-f", (char *)"-", NULL };
	char *lease = xasprintf("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
				"\"metadata\":{\"name\":\"drillrig-drill-lock\",\"namespace\":\"inferadb\"},"
				"\"spec\":{\"holderIdentity\":\"drillrig@other-runner/42\",\"leaseDurationSeconds\":600,"
				"\"renewTime\":\"2999-01-01T00:00:00.000000Z\"}}");
	json_t *journal = NULL;
	const char *reason;
	int rc;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(proc_run(&r, argv, lease, 30 * NS_PER_SEC, 1 << 20, &err), 0);
	assert_int_equal(r.exit_code, 0);
	proc_result_release(&r);
	rc = run_drill(&p, "tests/data/k8s/double.yaml", (const char *const[]){ "--yes", NULL }, &journal);
	assert_int_equal(rc, 3);
	assert_non_null(journal);
	reason = json_string_value(json_object_get(journal, "reason"));
	if (!reason || !strstr(reason, "held by drillrig@other-runner/42"))
		fail_msg("the refusal does not name the holder: %s", reason ? reason : "(no reason)");
	/* Nothing was changed: no scale ran. */
	assert_int_equal(json_array_size(json_object_get(journal, "steps")), 0);
	json_decref(journal);
	/* The other runner's Lease is left alone. */
	assert_int_equal(kubectl("drill-primary", NULL, "delete", "lease.coordination.k8s.io/drillrig-drill-lock",
				 NULL), 0);
	free(lease);
}

static int run_preflight(const char *config, const char *deny, char **out)
{
	char *drillrig = xstrdup(drill_bin()), *cfg = drill_src_path(config);
	char *plan = drill_src_path("drills/region-failover.yaml");
	char *argv[] = { drillrig, (char *)"preflight", (char *)"--target-config", cfg, (char *)"--plan", plan, NULL };
	int rc;

	if (deny)
		setenv("KUBECTL_DOUBLE_DENY", deny, 1);
	rc = run_cmd(argv, out);
	unsetenv("KUBECTL_DOUBLE_DENY");
	free(drillrig);
	free(cfg);
	free(plan);
	return rc;
}

static void test_preflight(void **state)
{
	char *out = NULL, *cfg = xasprintf("%s/no-kubectl.yaml", fx.dir);
	static const char no_kubectl[] =
		"version: 1\napi: runbook\nkubectl: /nonexistent/kubectl\nallowed_contexts: [drill-primary]\nregions:\n"
		"  primary: {role: primary, context: drill-primary, namespace: inferadb, statefulset: inferadb-ledger, replicas: 2}\n";

	(void)state;
	settle_leader_in_primary();
	assert_int_equal(run_preflight("tests/data/k8s/double.yaml", NULL, &out), 0);
	assert_non_null(strstr(out, "ok    leader             cluster                      node "));
	assert_non_null(strstr(out, "can patch statefulsets.apps/scale"));
	assert_non_null(strstr(out, ", 0 failed"));
	free(out);
	/* RBAC refuses the scale: exit 3, and the line names the verb. */
	assert_int_equal(run_preflight("tests/data/k8s/double-ledger-v1.yaml", "statefulsets.apps --subresource=scale", &out), 3);
	assert_non_null(strstr(out, "FAIL  rbac               drill-primary                cannot patch statefulsets.apps/scale"));
	free(out);
	/* Canary writes configured: their read path is tried (nothing written). */
	assert_int_equal(run_preflight("tests/data/k8s/double-canary-ledger-v1.yaml", NULL, &out), 0);
	assert_non_null(strstr(out, "ok    canary read-back"));
	assert_non_null(strstr(out, "ledger.v1.ReadService/ListEntities answers"));
	free(out);
	setenv("KUBECTL_DOUBLE_FAIL", "ListEntities", 1);
	assert_int_equal(run_preflight("tests/data/k8s/double-canary-ledger-v1.yaml", NULL, &out), 3);
	unsetenv("KUBECTL_DOUBLE_FAIL");
	assert_non_null(strstr(out, "FAIL  canary read-back"));
	free(out);
	/* No kubectl at all: exit 3 naming it. */
	assert_int_equal(fs_write_atomic(cfg, no_kubectl, strlen(no_kubectl), NULL), 0);
	{
		char *drillrig = xstrdup(drill_bin());
		char *argv[] = { drillrig, (char *)"preflight", (char *)"--target-config", cfg, NULL };

		assert_int_equal(run_cmd(argv, &out), 3);
		assert_non_null(strstr(out, "kubectl is missing or cannot run"));
		assert_non_null(strstr(out, "/nonexistent/kubectl"));
		free(out);
		free(drillrig);
	}
	free(cfg);
}

/* Every command line this file's drills gave kubectl, replayed with the
 * real kubectl binary (tests/support/kubectl_real.c). */
static void test_real_kubectl_parses_every_command(void **state)
{
	(void)state;
	k8s_real_kubectl_case(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_context_not_allowed_refused_before_any_command),
		cmocka_unit_test(test_missing_yes_exits_2_before_any_command),
		cmocka_unit_test(test_dry_run_prints_and_runs_nothing),
		cmocka_unit_test(test_server_dry_run_changes_nothing),
		cmocka_unit_test(test_region_failover_runbook),
		cmocka_unit_test(test_region_failover_ledger_v1),
		cmocka_unit_test(test_canary_writes_measure_rpo_runbook),
		cmocka_unit_test(test_canary_writes_measure_rpo_ledger_v1),
		cmocka_unit_test(test_lost_canary_write_fails_the_drill),
		cmocka_unit_test(test_canary_write_path_broken_stops_before_any_step),
		cmocka_unit_test(test_refused_transfer_is_asked_again),
		cmocka_unit_test(test_kubectl_failure_mid_drill_still_rolls_back),
		cmocka_unit_test(test_held_lease_refuses_a_second_drill),
		cmocka_unit_test(test_preflight),
		cmocka_unit_test(test_real_kubectl_parses_every_command),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
