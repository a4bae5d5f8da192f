/* The Kubernetes target against a ledger as production runs it: the
 * kubectl test double in its distroless mode (no shell, no grpcurl, no
 * kill, no tar in the pods), the public ledger.v1 dialect, drillrig's own
 * gRPC client reaching every pod through `kubectl port-forward`, and the
 * workload writing through those forwards.  region-failover, pod-failure,
 * failback and backup-restore pass with no `kubectl exec` or `kubectl cp`
 * issued (asserted from the double's record of every command line); a
 * crash is a forced pod delete whose forward dies and is reopened; a dry
 * run prints every port-forward and every gRPC call with the address it
 * would reach; a runner killed with SIGKILL is recovered from another
 * machine through the undos on its Lease. */
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
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
#include "ledger/client/client.h"
#include "tests/support/drill_proc.h"
#include "tests/support/k8s_double_env.h"

#define DRILL_TIMEOUT_MS (240 * 1000)
#define CONFIG "tests/data/k8s/double-port-forward.yaml"

static struct k8s_double_env fx;

static char *state_dir;

static int setup(void **state)
{
	(void)state;
	/* Debug faults on: the double's NetworkChaos partitions through them. */
	if (k8s_double_env_up(&fx, "k8s-pf", 1) != 0)
		return -1;
	/* Never the developer's own ~/.local/state. */
	state_dir = xasprintf("%s/state", fx.dir);
	setenv("DRILLRIG_STATE_DIR", state_dir, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	k8s_double_env_down(&fx);
	free(state_dir);
	return 0;
}

/* A client of the bundled nodes themselves (cluster.json), to put the
 * cluster in the runbook's normal state between drills: the pods have no
 * grpcurl to do it through. */
static struct ledger_client *cluster_client(void)
{
	char *path = xasprintf("%s/cluster.json", fx.cluster), *text = NULL;
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[16];
	json_t *root, *n;
	size_t len = 0, i, k = 0;

	assert_int_equal(fs_read_file(&text, &len, path, 1 << 20, NULL), 0);
	root = json_loads(text, 0, NULL);
	assert_non_null(root);
	json_array_foreach(json_object_get(root, "nodes"), i, n)
		if (k < 16)
			addrs[k++] = json_string_value(json_object_get(n, "address"));
	if (ledger_client_new(&c, addrs, k, &opts, &err) != 0)
		fail_msg("cannot reach the bundled cluster: %s", err.msg);
	json_decref(root);
	free(text);
	free(path);
	return c;
}

/* The leader in primary and all five members up, within 30 s. */
static void settle_leader_in_primary(void)
{
	struct ledger_client *c = cluster_client();
	int64_t deadline = clock_mono_ns() + 30 * NS_PER_SEC;

	for (;;) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *st = NULL, *m;
		const char *lr = NULL;
		char seen[64] = "none"; /* lr outlives st only as this copy */
		size_t i, up = 0;
		int64_t primary_id = 0;

		if (ledger_cluster_status(c, &st, &err) == 0) {
			lr = json_string_value(json_object_get(json_object_get(st, "leader"), "region"));
			if (lr)
				snprintf(seen, sizeof seen, "%s", lr);
			json_array_foreach(json_object_get(st, "members"), i, m) {
				const char *s = json_string_value(json_object_get(m, "state"));
				const char *r = json_string_value(json_object_get(m, "region"));

				up += s && strcmp(s, "unreachable") != 0;
				if (r && strcmp(r, "primary") == 0 && !primary_id)
					primary_id = json_integer_value(json_object_get(m, "id"));
			}
			if (lr && strcmp(lr, "primary") == 0 && up == 5) {
				json_decref(st);
				break;
			}
			if (lr && strcmp(lr, "primary") != 0 && primary_id)
				ledger_transfer_leader(c, primary_id, &err);
		}
		json_decref(st);
		if (clock_mono_ns() > deadline)
			fail_msg("the cluster did not settle with its leader in primary and 5 members up "
				 "within 30 s (leader in %s, %zu up)", seen, up);
		clock_sleep_ns(200 * NS_PER_MS);
	}
	ledger_client_free(c);
}

static void dump(struct drill_proc *p)
{
	char *out = drill_proc_stdout(p), *err = drill_proc_stderr(p);

	fprintf(stderr, "---- drillrig stdout\n%s\n---- drillrig stderr\n%s\n----\n", out, err);
	free(out);
	free(err);
}

static char *double_log(void)
{
	char *text = NULL;
	size_t len = 0;

	if (fs_read_file(&text, &len, fx.log, 1 << 24, NULL) != 0)
		return xstrdup("");
	return text;
}

static const char *config_rel = CONFIG;

static int run_plan(struct drill_proc *p, const char *plan_rel, const char *const extra[],
		    json_t **journal)
{
	char *plan = drill_src_path(plan_rel), *cfg = drill_src_path(config_rel);
	char *results = xasprintf("%s/results", fx.dir), *run_dir = xasprintf("%s/run-XXXXXX", fx.dir);
	const char *args[16] = { "run", plan, "--target", "kubernetes", "--target-config", cfg, "--json",
				 "--results-repo", results };
	int n = 9, rc;

	for (size_t i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	assert_non_null(mkdtemp(run_dir));
	assert_int_equal(drill_proc_start(p, run_dir, args), 0);
	rc = drill_proc_wait(p, DRILL_TIMEOUT_MS);
	if (journal)
		*journal = drill_proc_journal(p);
	free(plan);
	free(cfg);
	free(results);
	free(run_dir);
	return rc;
}

/* The double's port-forward processes (their command line names the
 * double and "port-forward"): how many there are, each SIGKILLed first
 * when kill_them. */
static int double_forwards(int kill_them)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[300], *text = NULL;
		size_t len = 0;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if (fs_read_file(&text, &len, path, 1 << 16, NULL) != 0)
			continue;
		for (size_t i = 0; i + 1 < len; i++)
			if (text[i] == '\0')
				text[i] = ' ';
		if (strstr(text, fx.kubectl) && strstr(text, "port-forward")) {
			n++;
			if (kill_them)
				kill((pid_t)strtol(e->d_name, NULL, 10), SIGKILL);
		}
		free(text);
	}
	closedir(d);
	return n;
}

/* No forward outlives its drill: bounded poll (kubectl gets SIGTERM, then
 * SIGKILL after 2 s). */
static void assert_no_forward_left(void)
{
	int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;

	while (double_forwards(0) > 0) {
		if (clock_mono_ns() > deadline)
			fail_msg("%d kubectl port-forward processes outlived the drill",
				 double_forwards(0));
		clock_sleep_ns(100 * NS_PER_MS);
	}
}

static size_t count_events(json_t *journal, const char *type, const char *state)
{
	json_t *e;
	size_t i, n = 0;

	json_array_foreach(json_object_get(journal, "events"), i, e) {
		const char *t = json_string_value(json_object_get(e, "type"));
		const char *s = json_string_value(json_object_get(e, "state"));

		n += t && strcmp(t, type) == 0 && (!state || (s && strcmp(s, state) == 0));
	}
	return n;
}

/* The drill passed, measured at the write level through the forwards,
 * and nothing was exec'd or copied. */
static json_t *drill_passes(const char *plan_rel)
{
	struct drill_proc p;
	json_t *journal = NULL, *m, *c;
	char *log;
	size_t i;
	int rc, grpc_calls = 0;

	unlink(fx.log);
	rc = run_plan(&p, plan_rel, (const char *const[]){ "--yes", NULL }, &journal);
	if (rc != 0) {
		dump(&p);
		fprintf(stderr, "reason: %s\n", json_string_value(json_object_get(journal, "reason")) ?: "?");
		json_decref(journal);
		fail_msg("%s through port-forwards exited %d", plan_rel, rc);
	}
	assert_non_null(journal);
	assert_string_equal(json_string_value(json_object_get(journal, "status")), "passed");
	assert_string_equal(json_string_value(json_object_get(json_object_get(journal, "target"),
								"measurement")), "workload");
	m = json_object_get(journal, "measurements");
	assert_int_equal(json_integer_value(json_object_get(m, "rpo_lost_writes")), 0);
	/* The workload's writes went through the forwards and were acknowledged. */
	assert_true(json_integer_value(json_object_get(json_object_get(m, "writes"), "ok")) > 0);
	log = double_log();
	if (strstr(log, " exec ") || strstr(log, " cp "))
		fail_msg("a kubectl exec or cp was issued against a distroless pod:\n%s", log);
	if (!strstr(log, "port-forward pod/inferadb-ledger-0 :50051"))
		fail_msg("no kubectl port-forward in the double's log:\n%s", log);
	free(log);
	json_array_foreach(json_object_get(journal, "commands"), i, c) {
		const char *argv = json_string_value(json_object_get(c, "argv")) ?: "";

		grpc_calls += strncmp(argv, "grpc ledger.v1.AdminService/GetClusterInfo -> 127.0.0.1:", 56) == 0;
		if (strstr(argv, "exec ") && strstr(argv, "kubectl"))
			fail_msg("journaled exec: %s", argv);
	}
	if (grpc_calls == 0)
		fail_msg("no GetClusterInfo through a forward in the journal's commands");
	/* Every pod's forward opened before the first fault. */
	assert_true(count_events(journal, "port_forward", "open") >= 5);
	assert_no_forward_left();
	return journal;
}

static void test_region_failover_through_port_forwards(void **state)
{
	json_t *journal, *m;

	(void)state;
	settle_leader_in_primary();
	journal = drill_passes("drills/region-failover.yaml");
	m = json_object_get(journal, "measurements");
	assert_true(json_is_number(json_object_get(m, "rto_ms")));
	assert_true(json_number_value(json_object_get(m, "rto_ms")) < 60000);
	assert_true(json_is_number(json_object_get(m, "promotion_ms")));
	json_decref(journal);
}

/* A crash is a forced delete; the killed pod's forward dies with it and is
 * reopened on the same port once the StatefulSet recreated the pod. */
static void test_pod_failure_is_a_forced_delete(void **state)
{
	json_t *journal;
	char *log;

	(void)state;
	settle_leader_in_primary();
	journal = drill_passes("drills/pod-failure.yaml");
	log = double_log();
	if (!strstr(log, "--grace-period=0 --force"))
		fail_msg("the crash was not a forced delete:\n%s", log);
	free(log);
	if (count_events(journal, "port_forward", "lost") == 0 ||
	    count_events(journal, "port_forward", "reopened") == 0)
		fail_msg("a killed pod's forward was not seen lost and reopened (%zu lost, %zu reopened)",
			 count_events(journal, "port_forward", "lost"),
			 count_events(journal, "port_forward", "reopened"));
	json_decref(journal);
}

static void test_failback_through_port_forwards(void **state)
{
	(void)state;
	settle_leader_in_primary();
	json_decref(drill_passes("drills/failback.yaml"));
}

/* ledger.v1 backups stay on the server: CreateSnapshot + CreateBackup,
 * then RestoreBackup{backup_id} stages it, and the step says what it
 * verified and what it could not. */
static void test_backup_restore_stages_the_backup(void **state)
{
	json_t *journal, *s;
	const char *msg = NULL;
	char *log;
	size_t i;

	(void)state;
	settle_leader_in_primary();
	journal = drill_passes("drills/backup-restore.yaml");
	json_array_foreach(json_object_get(journal, "steps"), i, s)
		if (strcmp(json_string_value(json_object_get(s, "name")) ?: "", "restore-into-new-cluster") == 0)
			msg = json_string_value(json_object_get(s, "message"));
	if (!msg || !strstr(msg, "staged for an offline restore") || !strstr(msg, "not verified: a restart"))
		fail_msg("the restore step does not say what it staged and what it did not verify: %s",
			 msg ? msg : "(no step)");
	log = double_log();
	if (strstr(log, " cp "))
		fail_msg("a kubectl cp was issued:\n%s", log);
	free(log);
	json_decref(journal);
}

/* Every kubectl command (the port-forwards among them) and every gRPC call
 * a status read would make, with the address it would reach. */
static void test_dry_run_prints_forwards_and_calls(void **state)
{
	struct drill_proc p;
	char *out;
	int rc;

	(void)state;
	unlink(fx.log);
	rc = run_plan(&p, "drills/region-failover.yaml", (const char *const[]){ "--dry-run", NULL }, NULL);
	out = drill_proc_stdout(&p);
	if (rc != 0) {
		dump(&p);
		fail_msg("dry run exited %d", rc);
	}
	if (!strstr(out, "would run: kubectl --context drill-primary -n inferadb port-forward "
			 "pod/inferadb-ledger-1 :50051"))
		fail_msg("the dry run does not print the port-forwards:\n%s", out);
	if (!strstr(out, "would call: ledger.v1.AdminService/GetClusterInfo on pod inferadb-ledger-0 in "
			 "drill-primary at 127.0.0.1:<its port-forward's local port>"))
		fail_msg("the dry run does not print the status call:\n%s", out);
	if (strstr(out, "would run await_leader"))
		fail_msg("an action described instead of its commands:\n%s", out);
	free(out);
	/* Nothing ran: the double saw no command at all. */
	out = double_log();
	if (strstr(out, "port-forward") || strstr(out, "scale"))
		fail_msg("a dry run ran commands:\n%s", out);
	free(out);
}

static int run_in_env(char *const argv[], char *const envp[], char **out)
{
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	if (proc_run_in(&r, argv, NULL, 180 * NS_PER_SEC, 1 << 20, NULL, envp, &err) != 0)
		fail_msg("cannot run %s: %s", argv[0], err.msg);
	rc = r.exited ? r.exit_code : -1;
	*out = xasprintf("%s%s", r.out ? r.out : "", r.errout ? r.errout : "");
	proc_result_release(&r);
	return rc;
}

static int kubectl_get(const char *context, const char *what, json_t **out)
{
	char *argv[] = { fx.kubectl, (char *)"--context", (char *)context, (char *)"-n", (char *)"inferadb",
			 (char *)"get", (char *)what, (char *)"-o", (char *)"json", NULL };
	char *text = NULL;
	int rc = run_in_env(argv, NULL, &text);

	*out = rc == 0 ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return rc;
}

/* Our environment without the state directory's variables, and a HOME
 * that never saw the drill: another machine. */
static char **other_machine_env(const char *home)
{
	extern char **environ;
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + 2, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "DRILLRIG_STATE_DIR=", 19) != 0 &&
		    strncmp(environ[i], "XDG_STATE_HOME=", 15) != 0 && strncmp(environ[i], "HOME=", 5) != 0)
			env[k++] = xstrdup(environ[i]);
	env[k] = xasprintf("HOME=%s", home);
	return env;
}

/* A runner SIGKILLed with the primary scaled to zero leaves its undos on
 * the drill lock: recover from another machine (a new HOME, no state
 * directory) scales the primary back and releases the Lease. */
static void test_killed_runner_recovered_from_another_machine(void **state)
{
	struct drill_proc p;
	char *plan = drill_src_path("tests/data/plans/k8s/scale-down-and-hold.yaml");
	char *cfg = drill_src_path(CONFIG), *run_dir = xasprintf("%s/run-XXXXXX", fx.dir);
	char *home = xasprintf("%s/other-home", fx.dir), *out = NULL, *bin = xstrdup(drill_bin());
	const char *args[] = { "run", plan, "--target", "kubernetes", "--target-config", cfg, "--yes",
			       "--json", "--no-results", NULL };
	char *rargv[] = { bin, (char *)"recover", (char *)"--target", (char *)"kubernetes",
			  (char *)"--target-config", cfg, (char *)"--yes", NULL };
	char **env;
	json_t *sts = NULL, *lease = NULL, *ann;
	int rc;

	(void)state;
	settle_leader_in_primary();
	assert_non_null(mkdtemp(run_dir));
	assert_int_equal(drill_proc_start(&p, run_dir, args), 0);
	if (!drill_proc_wait_event(&p, "step_end", "scale-primary-to-zero", 90 * 1000)) {
		dump(&p);
		kill(p.pid, SIGKILL);
		drill_proc_wait(&p, 10 * 1000);
		fail_msg("the drill never scaled the primary down");
	}
	/* The Lease is renewed while the drill holds (every third of its 15 s):
	 * its renewTime moves with no step running. */
	{
		int64_t deadline = clock_mono_ns() + 12 * NS_PER_SEC;
		char *first = NULL;

		for (;;) {
			const char *renew;
			int moved;

			assert_int_equal(kubectl_get("drill-primary", "lease.coordination.k8s.io/drillrig-drill-lock",
						     &lease), 0);
			renew = json_string_value(json_object_get(json_object_get(lease, "spec"), "renewTime")) ?: "";
			if (!first)
				first = xstrdup(renew);
			moved = strcmp(first, renew) != 0;
			json_decref(lease);
			if (moved)
				break;
			if (clock_mono_ns() > deadline)
				fail_msg("the drill lock was not renewed within 12 s (lease of 15 s, renewTime %s)",
					 first);
			clock_sleep_ns(250 * NS_PER_MS);
		}
		free(first);
	}
	assert_int_equal(kill(p.pid, SIGKILL), 0);
	assert_int_equal(drill_proc_wait(&p, 10 * 1000), 128 + SIGKILL);
	/* That runner's machine is gone, with its forwards and its state. */
	double_forwards(1); /* orphans: a CI runner's VM would vanish with them */
	fs_remove_tree(state_dir, NULL);
	/* The undos are on the Lease, where another machine finds them. */
	assert_int_equal(kubectl_get("drill-primary", "lease.coordination.k8s.io/drillrig-drill-lock", &lease), 0);
	ann = json_object_get(json_object_get(lease, "metadata"), "annotations");
	if (!strstr(json_string_value(json_object_get(ann, "drillrig.io/undos")) ?: "", "scale"))
		fail_msg("the Lease carries no undo of the scale: %s",
			 json_dumps(lease, JSON_COMPACT) ?: "?");
	json_decref(lease);
	assert_int_equal(mkdir(home, 0700), 0);
	env = other_machine_env(home);
	rc = run_in_env(rargv, env, &out);
	if (rc != 0)
		fail_msg("recover from another machine exited %d:\n%s", rc, out);
	if (!strstr(out, "the drill lock's copy"))
		fail_msg("recover did not take the undos from the Lease:\n%s", out);
	free(out);
	assert_int_equal(kubectl_get("drill-primary", "statefulset/inferadb-ledger", &sts), 0);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(sts, "spec"), "replicas")), 2);
	json_decref(sts);
	if (kubectl_get("drill-primary", "lease.coordination.k8s.io/drillrig-drill-lock", &lease) == 0)
		fail_msg("the Lease outlived the recovery: %s", json_dumps(lease, JSON_COMPACT) ?: "?");
	proc_env_free(env);
	assert_no_forward_left();
	free(bin);
	free(home);
	free(run_dir);
	free(cfg);
	free(plan);
}

/* Preflight names the verb a configured RBAC denial takes away, and says
 * which transport works. */
static void test_preflight_names_a_denied_verb(void **state)
{
	char *bin = xstrdup(drill_bin()), *cfg = drill_src_path(CONFIG), *out = NULL;
	char *argv[] = { bin, (char *)"preflight", (char *)"--target-config", cfg, (char *)"--plan", NULL, NULL };
	char *plan = drill_src_path("drills/region-failover.yaml");
	int rc;

	(void)state;
	argv[5] = plan;
	settle_leader_in_primary();
	rc = run_in_env(argv, NULL, &out);
	if (rc != 0 || !strstr(out, "ok    ledger api") || !strstr(out, "port-forward: ledger.v1.AdminService/GetClusterInfo answers at 127.0.0.1:"))
		fail_msg("preflight on a healthy target: exit %d\n%s", rc, out);
	free(out);
	setenv("KUBECTL_DOUBLE_DENY", "create pods/portforward", 1);
	rc = run_in_env(argv, NULL, &out);
	unsetenv("KUBECTL_DOUBLE_DENY");
	if (rc != 3 || !strstr(out, "cannot create pods/portforward in namespace inferadb"))
		fail_msg("preflight with port-forward denied: exit %d\n%s", rc, out);
	if (!strstr(out, "FAIL  ledger api"))
		fail_msg("preflight does not say the transport fails:\n%s", out);
	free(out);
	assert_no_forward_left();
	free(plan);
	free(cfg);
	free(bin);
}

/* Every Chaos Mesh object of kind the last drill deleted (as the double's
 * log says) answers NotFound now; at least min of them. */
static void assert_chaos_gone(const char *kind, int min)
{
	json_t *list = NULL;
	char *log = double_log();
	int checked = 0;

	for (char *line = log, *next; line && *line; line = next) {
		char ctx[64], what[200];
		const char *c, *d;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		c = strstr(line, "--context ");
		d = strstr(line, " delete ");
		if (!c || !d || strncmp(d + 8, kind, strlen(kind)) != 0)
			continue;
		snprintf(ctx, sizeof(ctx), "%.*s", (int)strcspn(c + 10, " "), c + 10);
		snprintf(what, sizeof(what), "%.*s", (int)strcspn(d + 8, " "), d + 8);
		checked++;
		if (kubectl_get(ctx, what, &list) == 0)
			fail_msg("%s in %s outlived the drill", what, ctx);
	}
	free(log);
	if (checked < min)
		fail_msg("%d %s objects deleted, expected at least %d", checked, kind, min);
}

/* Chaos Mesh partitions a region (NetworkChaos) and kills pods (PodChaos);
 * every object it created is gone after the drill. */
static void test_chaos_mesh_partition_and_pod_kill(void **state)
{
	json_t *journal;
	char *log;

	(void)state;
	setenv("KUBECTL_DOUBLE_CHAOS_MESH", "1", 1);
	unlink(fx.log);
	config_rel = "tests/data/k8s/double-chaos-mesh.yaml";
	settle_leader_in_primary();
	journal = drill_passes("drills/network-partition.yaml");
	json_decref(journal);
	log = double_log();
	if (!strstr(log, "create -f -") || !strstr(log, "delete networkchaos.chaos-mesh.org/"))
		fail_msg("the partition was not a NetworkChaos created and deleted:\n%s", log);
	free(log);
	assert_chaos_gone("networkchaos.", 2); /* one per pod of the primary */
	settle_leader_in_primary();
	journal = drill_passes("drills/pod-failure.yaml");
	json_decref(journal);
	log = double_log();
	if (!strstr(log, "delete podchaos.chaos-mesh.org/") || strstr(log, "--grace-period=0"))
		fail_msg("the crashes were not PodChaos objects:\n%s", log);
	free(log);
	assert_chaos_gone("podchaos.", 2); /* the leader's, then a follower's */
	config_rel = CONFIG;
	unsetenv("KUBECTL_DOUBLE_CHAOS_MESH");
}

/* A fault the configured engine cannot inject fails validation, before any
 * command, naming the setting. */
static void test_partition_without_chaos_mesh_is_refused(void **state)
{
	struct drill_proc p;
	char *err;
	int rc;

	(void)state;
	unlink(fx.log);
	rc = run_plan(&p, "drills/network-partition.yaml", (const char *const[]){ "--yes", NULL }, NULL);
	err = drill_proc_stderr(&p);
	if (rc != 2 || !strstr(err, "partition needs fault_engine: chaos-mesh"))
		fail_msg("exit %d, stderr:\n%s", rc, err);
	free(err);
	err = double_log();
	if (*err)
		fail_msg("a refused plan ran kubectl:\n%s", err);
	free(err);
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
		cmocka_unit_test(test_dry_run_prints_forwards_and_calls),
		cmocka_unit_test(test_region_failover_through_port_forwards),
		cmocka_unit_test(test_pod_failure_is_a_forced_delete),
		cmocka_unit_test(test_failback_through_port_forwards),
		cmocka_unit_test(test_backup_restore_stages_the_backup),
		cmocka_unit_test(test_killed_runner_recovered_from_another_machine),
		cmocka_unit_test(test_partition_without_chaos_mesh_is_refused),
		cmocka_unit_test(test_preflight_names_a_denied_verb),
		cmocka_unit_test(test_chaos_mesh_partition_and_pod_kill),
		cmocka_unit_test(test_real_kubectl_parses_every_command),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
