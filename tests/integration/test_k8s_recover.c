/* `drillrig recover --target kubernetes` end to end: real drillrig
 * processes, the kubectl test double over a real bundled ledger cluster.
 * - kill -9 of a drill after its scale-down fault leaves the state file
 *   (0600, in $DRILLRIG_STATE_DIR) and the Lease; recover without --yes off
 *   a terminal exits 2 and changes nothing; --dry-run prints and runs
 *   nothing; recover --yes scales the primary back, removes the state and
 *   the Lease, exit 0; a new drill takes the lock at once;
 * - recover while that live drill holds the Lease exits 3 naming the holder
 *   and its expiry, and leaves the drill alone;
 * - kill -9 after drain_node: recover uncordons the recorded node;
 * - no state file: a stale Lease of a dead process on this host is
 *   released; a live Lease of another runner is refused (exit 3);
 * - option mistakes exit 2 before any command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "harness/target/k8s/k8s_state.h"
#include "tests/support/drill_proc.h"
#include "tests/support/k8s_double_env.h"

#define CONFIG "tests/data/k8s/double.yaml"
#define LEASE "lease.coordination.k8s.io/drillrig-drill-lock"

struct fixture {
	char *dir;        /* mktemp -d under /dev/shm */
	char *cluster;    /* dir/cluster */
	char *log;        /* every kubectl command line the double saw */
	char *kubectl;    /* the double */
	char *state_dir;  /* DRILLRIG_STATE_DIR */
	char *state;      /* the state file recover looks for */
	char *record;     /* its record */
	char *config;     /* CONFIG, absolute */
	char *path_env;
	char host[256];
};

static struct fixture fx;

/* Run argv (stdin not a terminal); *out gets stdout and stderr. */
static int run_argv(char *const argv[], char **out)
{
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result r;
	int rc;

	memset(&r, 0, sizeof(r));
	if (proc_run(&r, argv, NULL, 120 * NS_PER_SEC, 1 << 20, &err) != 0)
		fail_msg("cannot run %s: %s", argv[0], err.msg);
	rc = r.exited ? r.exit_code : 128 + r.term_signal;
	if (out)
		*out = xasprintf("%s%s", r.out ? r.out : "", r.errout ? r.errout : "");
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
	return run_argv(argv, out);
}

/* drillrig recover --target kubernetes --target-config CONFIG [extra...]. */
static int recover(char **out, const char *extra1, const char *extra2)
{
	char *bin = xstrdup(drill_bin());
	char *argv[] = { bin, (char *)"recover", (char *)"--target", (char *)"kubernetes",
			 (char *)"--target-config", fx.config, (char *)extra1, (char *)extra2, NULL };
	int rc = run_argv(argv, out);

	free(bin);
	return rc;
}

static json_t *kubectl_json(const char *context, const char *what)
{
	char *out = NULL;
	json_t *v = NULL;

	if (kubectl(context, &out, "get", what, "-o", "json", NULL) == 0)
		v = json_loads(out, 0, NULL);
	free(out);
	return v;
}

/* The Lease's holder (heap), or NULL when there is no Lease. */
static char *lease_holder(void)
{
	json_t *l = kubectl_json("drill-primary", LEASE);
	char *h = NULL;

	if (l)
		h = xstrdup(json_string_value(json_object_get(json_object_get(l, "spec"), "holderIdentity")) ?: "?");
	json_decref(l);
	return h;
}

static void create_lease(const char *holder, const char *renew)
{
	char *argv[] = { fx.kubectl, (char *)"--context", (char *)"drill-primary", (char *)"-n",
			 (char *)"inferadb", (char *)"create", (char *)"-f", (char *)"-", NULL };
	char *lease = xasprintf("{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
				"\"metadata\":{\"name\":\"drillrig-drill-lock\",\"namespace\":\"inferadb\"},"
				"\"spec\":{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":600,"
				"\"renewTime\":\"%s\"}}", holder, renew);
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result r;

	memset(&r, 0, sizeof(r));
	assert_int_equal(proc_run(&r, argv, lease, 30 * NS_PER_SEC, 1 << 20, &err), 0);
	assert_int_equal(r.exit_code, 0);
	proc_result_release(&r);
	free(lease);
}

/* spec.replicas and status.readyReplicas of the primary StatefulSet. */
static void primary_replicas(int *spec, int *ready)
{
	json_t *s = kubectl_json("drill-primary", "statefulset/inferadb-ledger");

	assert_non_null(s);
	*spec = (int)json_integer_value(json_object_get(json_object_get(s, "spec"), "replicas"));
	*ready = (int)json_integer_value(json_object_get(json_object_get(s, "status"), "readyReplicas"));
	json_decref(s);
}

static json_t *status_via_double(void)
{
	static const char *const ctxs[] = { "drill-primary", "drill-dr", "drill-witness" };
	json_t *st = NULL;

	for (size_t k = 0; k < 3 && !st; k++) {
		char *out = NULL;

		if (kubectl(ctxs[k], &out, "exec", "inferadb-ledger-0", "--", "grpcurl", "-plaintext",
			    "localhost:50051", "inferadb.ledger.v1.Admin/GetClusterStatus", NULL) == 0)
			st = json_loads(out, 0, NULL);
		free(out);
	}
	return st;
}

/* Bounded poll: a leader, all five members up and fully replicated. */
static void await_whole_cluster(const char *when)
{
	int64_t deadline = clock_mono_ns() + 30 * NS_PER_SEC;

	for (;;) {
		json_t *st = status_via_double(), *m;
		char repl[64];
		int leader = json_is_object(json_object_get(st, "leader"));
		size_t i, up = 0;

		snprintf(repl, sizeof(repl), "%s",
			 json_string_value(json_object_get(st, "replication")) ?: "no replication status");

		json_array_foreach(json_object_get(st, "members"), i, m) {
			const char *s = json_string_value(json_object_get(m, "state"));

			up += s && strcmp(s, "unreachable") != 0;
		}
		json_decref(st);
		if (leader && up == 5 && strcmp(repl, "Fully replicated") == 0)
			return;
		if (clock_mono_ns() > deadline)
			fail_msg("%s: the cluster is not whole within 30 s (leader %d, %zu of 5 up, %s)", when,
				 leader, up, repl);
		clock_sleep_ns(100 * NS_PER_MS);
	}
}

static size_t log_lines(void)
{
	char *text = NULL;
	size_t len = 0, n = 0;

	if (!fs_exists(fx.log) || fs_read_file(&text, &len, fx.log, 1 << 24, NULL) != 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	free(text);
	return n;
}

/* Changing commands the double saw after its first `from` lines. */
static size_t changes_since(size_t from)
{
	char *text = NULL, *line;
	size_t n = 0, k = 0;

	if (!fs_exists(fx.log) || fs_read_file(&text, NULL, fx.log, 1 << 24, NULL) != 0)
		return 0;
	for (line = text; line && *line; k++) {
		char *end = strchr(line, '\n');

		if (end)
			*end = '\0';
		if (k >= from && (strstr(line, " scale ") || strstr(line, " delete ") ||
				  strstr(line, " create ") || strstr(line, "cordon ") || strstr(line, " drain ")))
			n++;
		line = end ? end + 1 : NULL;
	}
	free(text);
	return n;
}

static char *file_text(const char *path)
{
	char *text = NULL;

	if (fs_read_file(&text, NULL, path, 1 << 20, NULL) != 0)
		return xstrdup("");
	return text;
}

static void dump(struct drill_proc *p)
{
	char *out = drill_proc_stdout(p), *err = drill_proc_stderr(p);

	fprintf(stderr, "---- drillrig stdout\n%s\n---- drillrig stderr\n%s\n----\n", out, err);
	free(out);
	free(err);
}

/* Start a fixture plan through the Kubernetes target and wait (bounded)
 * until step `step` has ended: its fault is in place. */
static void start_drill(struct drill_proc *p, const char *plan_rel, const char *step)
{
	char *plan = drill_src_path(plan_rel);
	char *run_dir = xasprintf("%s/run-XXXXXX", fx.dir);
	const char *args[] = { "run", plan, "--target", "kubernetes", "--target-config", fx.config,
			       "--yes", "--json", "--no-results", NULL };

	assert_non_null(mkdtemp(run_dir));
	assert_int_equal(drill_proc_start(p, run_dir, args), 0);
	if (!drill_proc_wait_event(p, "step_end", step, 60 * 1000)) {
		dump(p);
		kill(p->pid, SIGKILL);
		drill_proc_wait(p, 10 * 1000);
		fail_msg("the drill never finished step %s", step);
	}
	free(run_dir);
	free(plan);
}

static void kill9(struct drill_proc *p)
{
	assert_int_equal(kill(p->pid, SIGKILL), 0);
	assert_int_equal(drill_proc_wait(p, 10 * 1000), 128 + SIGKILL);
}

static char *holder_of(pid_t pid)
{
	return xasprintf("drillrig@%s/%ld", fx.host, (long)pid);
}

/* The double over a bundled cluster (tests/support/k8s_double_env.h); the
 * strings it owns are borrowed into fx. */
static struct k8s_double_env env;

static int setup(void **state)
{
	char *name;

	(void)state;
	if (k8s_double_env_up(&env, "k8s-recover", 0) != 0)
		return -1;
	fx.dir = env.dir;
	fx.cluster = env.cluster;
	fx.log = env.log;
	fx.kubectl = env.kubectl;
	fx.path_env = env.path_env;
	fx.state_dir = xasprintf("%s/state", fx.dir);
	fx.config = drill_src_path(CONFIG);
	name = k8s_state_file_name("drill-primary", "inferadb", "drillrig-drill-lock");
	fx.state = xasprintf("%s/%s", fx.state_dir, name);
	fx.record = k8s_state_record_path(fx.state);
	free(name);
	gethostname(fx.host, sizeof(fx.host) - 1);
	/* Never the developer's own ~/.local/state. */
	setenv("DRILLRIG_STATE_DIR", fx.state_dir, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	k8s_double_env_down(&env);
	free(fx.state_dir);
	free(fx.state);
	free(fx.record);
	free(fx.config);
	return 0;
}

static void test_killed_runner_then_recover(void **state)
{
	struct drill_proc p, live;
	struct stat st;
	json_t *rec;
	char *out = NULL, *holder, *h, *dead_holder;
	size_t before;
	int spec, ready, rc;
	int64_t t0;

	(void)state;
	await_whole_cluster("before the drill");
	start_drill(&p, "tests/data/plans/k8s/scale-down-and-hold.yaml", "scale-primary-to-zero");
	primary_replicas(&spec, &ready);
	assert_int_equal(spec, 0);
	dead_holder = holder_of(p.pid);
	kill9(&p);

	/* What the dead drill left: its state (private), its record, its Lease. */
	assert_int_equal(stat(fx.state, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(fx.state_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	{
		char *text = file_text(fx.state);

		if (!strstr(text, "scale-primary-to-zero"))
			fail_msg("the state file has no pending undo: %s", text);
		free(text);
	}
	rec = json_load_file(fx.record, 0, NULL);
	assert_non_null(rec);
	assert_string_equal(json_string_value(json_object_get(rec, "holder")), dead_holder);
	json_decref(rec);
	holder = lease_holder();
	assert_non_null(holder);
	assert_string_equal(holder, dead_holder);
	free(holder);

	/* Without --yes and without a terminal: exit 2, not one kubectl call. */
	before = log_lines();
	rc = recover(&out, NULL, NULL);
	if (rc != 2 || !strstr(out, "--yes"))
		fail_msg("recover without --yes: exit %d: %s", rc, out);
	free(out);
	assert_int_equal(log_lines(), before);
	assert_true(fs_exists(fx.state));

	/* --dry-run prints the commands and runs none. */
	rc = recover(&out, "--dry-run", NULL);
	if (rc != 0 || !strstr(out, "would run: kubectl --context drill-primary -n inferadb scale "
				    "statefulset/inferadb-ledger --replicas=2") ||
	    !strstr(out, "would run: kubectl --context drill-primary -n inferadb delete " LEASE))
		fail_msg("recover --dry-run: exit %d: %s", rc, out);
	free(out);
	assert_int_equal(log_lines(), before);
	assert_true(fs_exists(fx.state));
	primary_replicas(&spec, &ready);
	assert_int_equal(spec, 0);

	/* The recovery. */
	t0 = clock_mono_ns();
	rc = recover(&out, "--yes", NULL);
	if (rc != 0 || !strstr(out, "interrupted drill") || !strstr(out, dead_holder))
		fail_msg("recover --yes: exit %d: %s", rc, out);
	fprintf(stderr, "recover took %.2f s\n", (double)(clock_mono_ns() - t0) / 1e9);
	free(out);
	primary_replicas(&spec, &ready);
	assert_int_equal(spec, 2);
	assert_int_equal(ready, 2);
	assert_null(lease_holder());
	assert_false(fs_exists(fx.state));
	assert_false(fs_exists(fx.record));
	await_whole_cluster("after recover");
	/* Every command recover ran named its context and namespace. */
	{
		char *text = file_text(fx.log), *line = text;
		size_t n = 0;

		for (size_t k = 0; k < before && line; k++)
			line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
		while (line && *line) {
			if (!strstr(line, "--context drill-") || !strstr(line, "-n inferadb"))
				fail_msg("a command without --context/-n: %.200s", line);
			n++;
			line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
		}
		assert_true(n >= 4); /* get lease, delete, create, scale, ... */
		free(text);
	}

	/* A new drill takes the lock at once ... */
	t0 = clock_mono_ns();
	start_drill(&live, "tests/data/plans/k8s/scale-down-and-hold.yaml", "scale-primary-to-zero");
	fprintf(stderr, "the next drill had its fault in place %.2f s after recover\n",
		(double)(clock_mono_ns() - t0) / 1e9);
	holder = lease_holder();
	h = holder_of(live.pid);
	assert_non_null(holder);
	assert_string_equal(holder, h);
	free(holder);

	/* ... and recover refuses to touch it while it runs: exit 3 naming the
	 * holder and the expiry, nothing changed. */
	before = log_lines();
	rc = recover(&out, "--yes", NULL);
	if (rc != 3 || !strstr(out, h) || !strstr(out, "expires at") || !strstr(out, "still running"))
		fail_msg("recover during a live drill: exit %d: %s", rc, out);
	free(out);
	assert_int_equal(changes_since(before), 0); /* it only read the Lease */
	assert_true(fs_exists(fx.state));
	holder = lease_holder();
	assert_string_equal(holder, h);
	free(holder);
	primary_replicas(&spec, &ready);
	assert_int_equal(spec, 0);
	assert_true(pid_alive(live.pid));

	/* The live drill ends normally on SIGINT: rollback, Lease and state gone. */
	kill(live.pid, SIGINT);
	rc = drill_proc_wait(&live, 120 * 1000);
	if (rc != 4)
		dump(&live);
	assert_int_equal(rc, 4);
	assert_null(lease_holder());
	assert_false(fs_exists(fx.state));
	assert_false(fs_exists(fx.record));
	primary_replicas(&spec, &ready);
	assert_int_equal(spec, 2);
	free(h);
	free(dead_holder);
}

static void test_killed_after_drain_recover_uncordons(void **state)
{
	struct drill_proc p;
	json_t *rec, *cordoned;
	char *out = NULL, *cpath = xasprintf("%s/k8s-double-cordoned.json", fx.cluster);
	int rc;

	(void)state;
	await_whole_cluster("before the drain drill");
	start_drill(&p, "tests/data/plans/k8s/drain-and-hold.yaml", "drain-dr-node");
	kill9(&p);
	cordoned = json_load_file(cpath, 0, NULL);
	assert_true(json_object_size(cordoned) == 1);
	json_decref(cordoned);
	rec = json_load_file(fx.record, 0, NULL);
	assert_non_null(rec);
	assert_int_equal(json_array_size(json_object_get(rec, "cordoned")), 1);
	json_decref(rec);

	rc = recover(&out, "--yes", NULL);
	if (rc != 0 || !strstr(out, "uncordoned 1 node"))
		fail_msg("recover after drain: exit %d: %s", rc, out);
	free(out);
	cordoned = json_load_file(cpath, 0, NULL);
	assert_int_equal(json_object_size(cordoned), 0);
	json_decref(cordoned);
	assert_null(lease_holder());
	assert_false(fs_exists(fx.state));
	await_whole_cluster("after recover of the drain");
	free(cpath);
}

static void test_no_state_stale_and_live_leases(void **state)
{
	char *true_argv[] = { (char *)"/bin/true", NULL }, *out = NULL, *stale, *holder;
	pid_t dead;
	int rc, ws;

	(void)state;
	/* Nothing at all: exit 0, saying so. */
	rc = recover(&out, "--yes", NULL);
	if (rc != 0 || !strstr(out, "nothing to recover"))
		fail_msg("recover with nothing to do: exit %d: %s", rc, out);
	free(out);

	/* A pid that surely ran on this host and is gone. */
	dead = fork();
	assert_true(dead >= 0);
	if (dead == 0) {
		execv(true_argv[0], true_argv);
		_exit(127);
	}
	assert_int_equal(waitpid(dead, &ws, 0), dead);
	stale = holder_of(dead);
	create_lease(stale, "2999-01-01T00:00:00.000000Z");
	rc = recover(&out, "--yes", NULL);
	if (rc != 0 || !strstr(out, "stale") || !strstr(out, stale))
		fail_msg("recover of a stale Lease: exit %d: %s", rc, out);
	free(out);
	assert_null(lease_holder());

	/* Another runner's live Lease: refused, named, left alone. */
	create_lease("drillrig@other-runner/42", "2999-01-01T00:00:00.000000Z");
	rc = recover(&out, "--yes", NULL);
	if (rc != 3 || !strstr(out, "held by drillrig@other-runner/42") || !strstr(out, "expires at 2999-01-01T00:10:00"))
		fail_msg("recover against another runner's Lease: exit %d: %s", rc, out);
	free(out);
	holder = lease_holder();
	assert_non_null(holder);
	assert_string_equal(holder, "drillrig@other-runner/42");
	free(holder);
	assert_int_equal(kubectl("drill-primary", NULL, "delete", LEASE, NULL), 0);
	free(stale);
}

/* Option mistakes are usage errors (exit 2) before anything runs. */
static void test_usage_errors(void **state)
{
	char *bin = xstrdup(drill_bin()), *out = NULL;
	char *no_config[] = { bin, (char *)"recover", (char *)"--target", (char *)"kubernetes", NULL };
	char *both[] = { bin, (char *)"recover", (char *)"--target", (char *)"kubernetes", (char *)"--target-config",
			 fx.config, (char *)"--cluster", fx.cluster, (char *)"--yes", NULL };
	char *etcd[] = { bin, (char *)"recover", (char *)"--target", (char *)"etcd", (char *)"--target-config",
			 fx.config, NULL };
	char *none[] = { bin, (char *)"recover", NULL };
	size_t before = log_lines();
	int rc;

	(void)state;
	rc = run_argv(no_config, &out);
	if (rc != 2 || !strstr(out, "--target-config FILE"))
		fail_msg("recover --target kubernetes without a config: exit %d: %s", rc, out);
	free(out);
	rc = run_argv(both, &out);
	if (rc != 2 || !strstr(out, "--cluster and --keep-cluster are for the local target"))
		fail_msg("recover with --cluster and --target kubernetes: exit %d: %s", rc, out);
	free(out);
	rc = run_argv(etcd, &out);
	if (rc != 2 || !strstr(out, "cannot recover target 'etcd'"))
		fail_msg("recover --target etcd: exit %d: %s", rc, out);
	free(out);
	rc = run_argv(none, &out);
	if (rc != 2 || !strstr(out, "usage: drillrig recover --cluster DIR"))
		fail_msg("recover without options: exit %d: %s", rc, out);
	free(out);
	assert_int_equal(log_lines(), before);
	free(bin);
}

/* Every command line this file's drills gave kubectl, replayed with the
 * real kubectl binary (tests/support/kubectl_real.c). */
static void test_real_kubectl_parses_every_command(void **state)
{
	(void)state;
	k8s_real_kubectl_case(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_no_state_stale_and_live_leases),
		cmocka_unit_test(test_killed_runner_then_recover),
		cmocka_unit_test(test_killed_after_drain_recover_uncordons),
		cmocka_unit_test(test_real_kubectl_parses_every_command),
	};

	return cmocka_run_group_tests_name("k8s_recover", tests, setup, teardown);
}
