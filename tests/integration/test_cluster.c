/* The local cluster with real processes: drillrig's supervisor running
 * real ledgerd nodes on a random loopback network, data under /dev/shm.
 *
 * Every wait is a bounded poll that fails with what it last saw.  Every
 * test takes its cluster down and checks that no process is left. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "ledger/cluster/cluster.h"
#include "ledger/cluster/cluster_state.h"

#define WAIT_NS (30 * NS_PER_SEC)
#define CALL_NS (5 * NS_PER_SEC)
#define STATUS "inferadb.ledger.v1.Admin/GetClusterStatus"

struct fixture {
	char *root;     /* mktemp -d */
	char *dir;      /* root/c: the cluster directory */
};

static int have_ledgerd(void)
{
	const char *bin = getenv("LEDGERD_BIN");

	return bin && access(bin, X_OK) == 0 && getenv("DRILLRIG_BIN") &&
	       access(getenv("DRILLRIG_BIN"), X_OK) == 0;
}

static int setup(void **state)
{
	char tmpl[] = "/dev/shm/drillrig-cluster-XXXXXX";
	char tmpl2[] = "/tmp/drillrig-cluster-XXXXXX";
	struct fixture *f = xcalloc(1, sizeof(*f));
	char *d = mkdtemp(tmpl);

	if (!d)
		d = mkdtemp(tmpl2);
	assert_non_null(d);
	f->root = xstrdup(d);
	f->dir = xasprintf("%s/c", d);
	*state = f;
	return 0;
}

static void dump_logs(const char *dir)
{
	struct dr_error err = DR_ERROR_INIT;
	char *log = xasprintf("%s/supervisor.log", dir), *text = NULL;

	if (fs_read_file(&text, NULL, log, 1 << 20, &err) == 0)
		fprintf(stderr, "--- %s\n%s", log, text);
	free(text);
	free(log);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	char *sj = xasprintf("%s/cluster.json", f->dir);

	if (fs_exists(sj) && cluster_down(f->dir, &err) != 0)
		fprintf(stderr, "teardown: %s\n", err.msg);
	if (!getenv("KEEP_CLUSTER"))
		fs_remove_tree(f->root, &err);
	free(sj);
	free(f->root);
	free(f->dir);
	free(f);
	return 0;
}

static void up(struct fixture *f, const char *topology, int debug)
{
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_spec spec;

	if (!have_ledgerd()) {
		fprintf(stderr, "LEDGERD_BIN/DRILLRIG_BIN not built: skipped\n");
		skip();
	}
	cluster_spec_init(&spec);
	if (topology)
		assert_int_equal(cluster_topology_parse(&spec, topology, &err), 0);
	spec.enable_debug = debug;
	if (cluster_up(f->dir, &spec, &err) != 0) {
		dump_logs(f->dir);
		fail_msg("cluster_up: %s", err.msg);
	}
}

/* Pids of the supervisor and of every node cluster.json names. */
static int cluster_pids(pid_t *out, int max, const char *dir)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *root = NULL, *n;
	size_t i;
	int count = 0;

	assert_int_equal(cluster_load(&root, dir, &err), 0);
	out[count++] = (pid_t)json_integer_value(json_object_get(root, "supervisor_pid"));
	json_array_foreach(json_object_get(root, "nodes"), i, n)
		if (count < max && json_integer_value(json_object_get(n, "pid")) > 0)
			out[count++] = (pid_t)json_integer_value(json_object_get(n, "pid"));
	json_decref(root);
	return count;
}

static void down_leaves_nothing(struct fixture *f)
{
	struct dr_error err = DR_ERROR_INIT;
	pid_t pids[CLUSTER_MAX_NODES + 1];
	int count = cluster_pids(pids, CLUSTER_MAX_NODES + 1, f->dir);
	char *sock = xasprintf("%s/supervisor.sock", f->dir);

	if (cluster_down(f->dir, &err) != 0)
		fail_msg("cluster_down: %s", err.msg);
	for (int i = 0; i < count; i++)
		if (cluster_pid_running(pids[i]))
			fail_msg("pid %d still runs after cluster_down", (int)pids[i]);
	assert_false(fs_exists(sock));
	free(sock);
}

static json_t *node_json(const char *dir, int id)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *root = NULL, *n, *found = NULL;
	size_t i;

	assert_int_equal(cluster_load(&root, dir, &err), 0);
	json_array_foreach(json_object_get(root, "nodes"), i, n)
		if (json_integer_value(json_object_get(n, "id")) == id)
			found = json_incref(n);
	json_decref(root);
	assert_non_null(found);
	return found;
}

static json_t *status(const char *dir)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *s = NULL;

	if (cluster_status(&s, dir, &err) != 0)
		fail_msg("cluster_status: %s", err.msg);
	return s;
}

static const char *leader_address(json_t *s)
{
	return json_string_value(json_object_get(json_object_get(s, "leader"), "address"));
}

/* The leader's debug listener (Digest is a debug call, over HTTP). */
static const char *leader_http_address(json_t *s)
{
	json_int_t id = json_integer_value(json_object_get(json_object_get(s, "leader"), "id"));

	return json_string_value(json_object_get(
		ledger_member_by_id(json_object_get(s, "members"), id), "http_address"));
}

static const char *leader_region(json_t *s)
{
	return json_string_value(json_object_get(json_object_get(s, "leader"), "region"));
}

/* Append through the leader, retrying while leadership moves; returns the
 * ledger index. */
static long long append(const char *dir, const char *client, int seq)
{
	int64_t deadline = clock_mono_ns() + WAIT_NS;
	struct dr_error err = DR_ERROR_INIT;
	char payload[64];

	snprintf(payload, sizeof(payload), "entry %s/%d", client, seq);
	while (clock_mono_ns() < deadline) {
		json_t *s = status(dir), *answer = NULL;
		json_t *body = json_pack("{s:s,s:i,s:s}", "client_id", client, "sequence", seq,
					 "payload", payload);
		long long index = -1;

		/* Append is no admin method: no credential */
		if (leader_address(s) &&
		    cluster_api_call(&answer, NULL, leader_address(s), "inferadb.ledger.v1.Ledger/Append",
				     body, CALL_NS, &err) == 0)
			index = json_integer_value(json_object_get(answer, "index"));
		json_decref(answer);
		json_decref(body);
		json_decref(s);
		if (index > 0)
			return index;
		clock_sleep_ns(50 * NS_PER_MS);
	}
	fail_msg("append %s/%d: no acknowledgement within %lld s: %s", client, seq,
		 (long long)(WAIT_NS / NS_PER_SEC), err.msg);
	return -1;
}

/* Poll until GetClusterStatus says "Fully replicated" with `members`
 * members and a leader (in `region` when not NULL). */
static json_t *await_replicated(const char *dir, int members, const char *region)
{
	int64_t deadline = clock_mono_ns() + WAIT_NS;
	char *last = NULL;

	for (;;) {
		json_t *s = status(dir);
		const char *rep = json_string_value(json_object_get(s, "replication"));
		size_t n = json_array_size(json_object_get(s, "members"));

		if (rep && strcmp(rep, "Fully replicated") == 0 && (int)n == members &&
		    leader_address(s) && (!region || strcmp(leader_region(s), region) == 0)) {
			free(last);
			return s;
		}
		free(last);
		last = json_dumps(s, JSON_COMPACT);
		json_decref(s);
		if (clock_mono_ns() > deadline)
			fail_msg("not fully replicated with %d members within %lld s; last status: %s",
				 members, (long long)(WAIT_NS / NS_PER_SEC), last);
		clock_sleep_ns(100 * NS_PER_MS);
	}
}

static json_t *await_leader_in(const char *dir, const char *region)
{
	int64_t deadline = clock_mono_ns() + WAIT_NS;
	char *last = NULL;

	for (;;) {
		json_t *s = status(dir);

		if (leader_address(s) && (!region || strcmp(leader_region(s), region) == 0)) {
			free(last);
			return s;
		}
		free(last);
		last = json_dumps(s, JSON_COMPACT);
		json_decref(s);
		if (clock_mono_ns() > deadline)
			fail_msg("no leader in region '%s' within %lld s; last status: %s",
				 region ? region : "any", (long long)(WAIT_NS / NS_PER_SEC), last);
		clock_sleep_ns(100 * NS_PER_MS);
	}
}

static json_t *member(json_t *s, int id)
{
	size_t i;
	json_t *m;

	json_array_foreach(json_object_get(s, "members"), i, m)
		if (json_integer_value(json_object_get(m, "id")) == id)
			return m;
	return NULL;
}

/* dir: the cluster (its admin token). */
static char *digest_of(const char *dir, const char *http_address)
{
	struct dr_error err = DR_ERROR_INIT;
	char *auth = cluster_admin_token(dir);
	json_t *answer = NULL;
	long http = 0;
	char *d;
	int rc;

	rc = ledger_debug_call(http_address, auth, "inferadb.ledger.v1.Debug/Digest", NULL,
			       CALL_NS / NS_PER_MS, &answer, &http, &err);
	free(auth);
	if (rc != 0 || http != 200)
		fail_msg("Digest on %s: %s (HTTP %ld)", http_address, err.msg, http);
	/* the ledger's state, not the raft log position (which differs) */
	d = xasprintf("%s/%lld", json_string_value(json_object_get(answer, "digest")),
		      (long long)json_integer_value(json_object_get(answer, "last_index")));
	json_decref(answer);
	return d;
}

/* ---- tests ---- */

static void test_up_default_reaches_leader_and_down_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	pid_t pids[CLUSTER_MAX_NODES + 1];
	json_t *s;
	int count;

	up(f, NULL, 0);
	s = await_leader_in(f->dir, NULL);
	assert_int_equal(json_array_size(json_object_get(s, "members")), 5);
	assert_int_equal(json_array_size(json_object_get(s, "nodes")), 5);
	json_decref(s);
	count = cluster_pids(pids, CLUSTER_MAX_NODES + 1, f->dir);
	assert_int_equal(count, 6);
	/* detached: the supervisor leads its own session; each node is its own
	 * process group, so a terminal's Ctrl-C reaches neither */
	assert_int_equal(getsid(pids[0]), pids[0]);
	assert_int_not_equal(getsid(pids[0]), getsid(0));
	for (int i = 1; i < count; i++) {
		assert_true(cluster_pid_running(pids[i]));
		assert_int_equal(getpgid(pids[i]), pids[i]);
	}
	down_leaves_nothing(f);
}

static void test_kill9_node_is_restarted_and_catches_up(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	int64_t deadline;
	json_t *s, *n, *m;
	pid_t old_pid;
	int victim = 0;
	long long last = 0;

	up(f, NULL, 0);
	for (int i = 1; i <= 20; i++)
		last = append(f->dir, "t-kill", i);
	s = await_leader_in(f->dir, NULL);
	/* a follower of a data region, so the writes keep going */
	for (int id = 1; id <= 4 && !victim; id++)
		if (json_integer_value(json_object_get(json_object_get(s, "leader"), "id")) != id)
			victim = id;
	json_decref(s);
	n = node_json(f->dir, victim);
	old_pid = (pid_t)json_integer_value(json_object_get(n, "pid"));
	json_decref(n);
	if (cluster_kill(NULL, f->dir, victim, "KILL", &err) != 0)
		fail_msg("kill: %s", err.msg);
	for (int i = 21; i <= 40; i++)
		last = append(f->dir, "t-kill", i);
	deadline = clock_mono_ns() + WAIT_NS;
	for (;;) {
		n = node_json(f->dir, victim);
		if (json_integer_value(json_object_get(n, "restarts")) == 1 &&
		    json_integer_value(json_object_get(n, "pid")) != old_pid &&
		    json_integer_value(json_object_get(n, "pid")) > 0)
			break;
		json_decref(n);
		if (clock_mono_ns() > deadline)
			fail_msg("node %d was not restarted by the supervisor", victim);
		clock_sleep_ns(50 * NS_PER_MS);
	}
	assert_false(cluster_pid_running(old_pid));
	assert_true(cluster_pid_running((pid_t)json_integer_value(json_object_get(n, "pid"))));
	assert_string_equal(json_string_value(json_object_get(n, "last_exit")), "signal 9");
	json_decref(n);
	s = await_replicated(f->dir, 5, NULL);
	m = member(s, victim);
	assert_non_null(m);
	assert_true(json_integer_value(json_object_get(m, "match_index")) >=
		    json_integer_value(json_object_get(s, "commit_index")));
	assert_true(last >= 40);
	json_decref(s);
	down_leaves_nothing(f);
}

static void test_scale_region_to_zero_and_back(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	json_t *s, *answer = NULL;

	up(f, NULL, 0);
	append(f->dir, "t-scale", 1);
	if (cluster_scale(&answer, f->dir, "primary", 0, &err) != 0)
		fail_msg("scale primary=0: %s", err.msg);
	assert_int_equal(json_array_size(json_object_get(answer, "stopped")), 2);
	json_decref(answer);
	for (int id = 1; id <= 2; id++) {
		json_t *n = node_json(f->dir, id);

		assert_int_equal(json_integer_value(json_object_get(n, "pid")), 0);
		assert_string_equal(json_string_value(json_object_get(n, "process")), "scaled-down");
		json_decref(n);
	}
	/* 3 of 5 remain: a quorum, so writes go on with a leader outside primary */
	append(f->dir, "t-scale", 2);
	s = await_leader_in(f->dir, NULL);
	assert_string_not_equal(leader_region(s), "primary");
	json_decref(s);
	append(f->dir, "t-scale", 3);
	if (cluster_scale(NULL, f->dir, "primary", -1, &err) != 0)
		fail_msg("scale primary=normal: %s", err.msg);
	s = await_replicated(f->dir, 5, NULL);
	json_decref(s);
	down_leaves_nothing(f);
}

/* Offset of the first line of text holding both a and b, or -1. */
static long line_with(const char *text, const char *a, const char *b)
{
	for (const char *p = text; (p = strstr(p, a)) != NULL; p += strlen(a)) {
		const char *start = p, *end = strchr(p, '\n');

		while (start > text && start[-1] != '\n')
			start--;
		if (!end)
			end = p + strlen(p);
		for (const char *q = start; q + strlen(b) <= end; q++)
			if (strncmp(q, b, strlen(b)) == 0)
				return (long)(start - text);
	}
	return -1;
}

/* As a StatefulSet scales down: the highest ordinal first, and each node
 * has exited (by itself, after SIGTERM) before the next one is told to
 * stop, so a stopping leader always has running peers to hand over to.
 * The answer lists the nodes in the order they stopped. */
static void test_scale_down_stops_highest_ordinal_first(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	json_t *answer = NULL, *stopped;
	char *log = xasprintf("%s/supervisor.log", f->dir), *text = NULL;
	long prev_exit = -1;

	up(f, "primary=3,dr=2", 0);
	append(f->dir, "t-order", 1);
	if (cluster_scale(&answer, f->dir, "primary", 0, &err) != 0)
		fail_msg("scale primary=0: %s", err.msg);
	stopped = json_object_get(answer, "stopped");
	assert_int_equal(json_array_size(stopped), 3);
	for (int k = 0; k < 3; k++)
		assert_int_equal(json_integer_value(json_array_get(stopped, (size_t)k)), 3 - k);
	json_decref(answer);
	assert_int_equal(fs_read_file(&text, NULL, log, 1 << 20, &err), 0);
	for (int id = 3; id >= 1; id--) {
		char stopping[48], exited[48];
		long told, gone;

		snprintf(stopping, sizeof(stopping), "]: stopping node %d ", id);
		snprintf(exited, sizeof(exited), "]: node %d (pid ", id);
		told = line_with(text, stopping, "of region 'primary'");
		gone = line_with(text, exited, ") stopped: exit 0");
		if (told < 0 || gone < 0)
			fail_msg("no '%s' or no clean exit of node %d in the supervisor's log:\n%s",
				 stopping, id, text);
		if (told < prev_exit || gone < told)
			fail_msg("node %d was told to stop before node %d had exited:\n%s", id, id + 1,
				 text);
		prev_exit = gone;
	}
	free(text);
	free(log);
	if (cluster_scale(NULL, f->dir, "primary", -1, &err) != 0)
		fail_msg("scale primary=normal: %s", err.msg);
	json_decref(await_replicated(f->dir, 5, NULL));
	down_leaves_nothing(f);
}

static void test_snapshot_restore_gives_same_digest(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	json_t *s, *snap = NULL, *answer = NULL, *restored = NULL;
	const char *path, *raddr;
	char *want, *got, *rdir, *auth;

	up(f, NULL, 1);
	for (int i = 1; i <= 25; i++)
		append(f->dir, "t-restore", i);
	s = await_replicated(f->dir, 5, NULL);
	auth = cluster_admin_token(f->dir);
	if (cluster_api_call(&snap, auth, leader_address(s), "inferadb.ledger.v1.Admin/CreateSnapshot",
			     NULL, 10 * NS_PER_SEC, &err) != 0)
		fail_msg("CreateSnapshot: %s", err.msg);
	free(auth);
	path = json_string_value(json_object_get(snap, "path"));
	assert_non_null(path);
	want = digest_of(f->dir, leader_http_address(s));
	if (cluster_restore(&answer, f->dir, path, &err) != 0) {
		rdir = xasprintf("%s/restored", f->dir);
		dump_logs(rdir);
		fail_msg("restore: %s", err.msg);
	}
	rdir = xasprintf("%s/restored", f->dir);
	assert_string_equal(json_string_value(json_object_get(answer, "cluster")), rdir);
	assert_true(json_array_size(json_object_get(answer, "nodes")) > 0);
	/* a separate cluster: its own id and its own network */
	assert_string_not_equal(json_string_value(json_object_get(answer, "cluster_id")),
				json_string_value(json_object_get(s, "cluster_id")));
	restored = await_leader_in(rdir, NULL);
	raddr = leader_address(restored);
	assert_string_not_equal(raddr, leader_address(s));
	got = digest_of(rdir, leader_http_address(restored));
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_decref(restored);
	json_decref(answer);
	json_decref(snap);
	json_decref(s);
	/* restore-down removes it; the original keeps running */
	answer = NULL;
	{
		json_t *req = json_pack("{s:s}", "cmd", "restore-down");

		if (cluster_request(&answer, f->dir, req, 60 * NS_PER_SEC, &err) != 0)
			fail_msg("restore-down: %s", err.msg);
		json_decref(req);
		json_decref(answer);
	}
	assert_int_equal(cluster_supervisor_status(&answer, rdir, &err), -1);
	json_decref(answer);
	free(rdir);
	append(f->dir, "t-restore", 26);
	down_leaves_nothing(f);
}

static void test_unsafe_promotion_then_fenced_region_rejoins(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	json_t *s, *answer = NULL;
	int64_t deadline;

	up(f, "primary=3,dr=2", 0);
	for (int i = 1; i <= 10; i++)
		append(f->dir, "t-promote", i);
	json_decref(await_replicated(f->dir, 5, NULL));
	if (cluster_scale(NULL, f->dir, "primary", 0, &err) != 0)
		fail_msg("scale primary=0: %s", err.msg);
	/* 2 of 5: no quorum, no leader */
	deadline = clock_mono_ns() + WAIT_NS;
	for (;;) {
		s = status(f->dir);
		if (!leader_address(s))
			break;
		json_decref(s);
		if (clock_mono_ns() > deadline)
			fail_msg("dr alone still reports a leader");
		clock_sleep_ns(100 * NS_PER_MS);
	}
	json_decref(s);
	/* refused without allow_data_loss */
	assert_int_equal(cluster_promote(&answer, f->dir, "dr", 0, &err), -1);
	assert_non_null(strstr(err.msg, "allow_data_loss"));
	json_decref(answer);
	if (cluster_promote(&answer, f->dir, "dr", 1, &err) != 0) {
		dump_logs(f->dir);
		fail_msg("promote: %s", err.msg);
	}
	assert_true(json_is_true(json_object_get(answer, "unsafe")));
	assert_int_equal(json_array_size(json_object_get(answer, "voters")), 2);
	assert_int_equal(json_array_size(json_object_get(answer, "fenced")), 3);
	json_decref(answer);
	s = await_leader_in(f->dir, "dr");
	json_decref(s);
	append(f->dir, "t-promote", 11);
	/* fenced nodes are never restarted with their old data */
	for (int id = 1; id <= 3; id++) {
		json_t *n = node_json(f->dir, id);

		assert_true(json_is_true(json_object_get(n, "fenced")));
		assert_int_equal(json_integer_value(json_object_get(n, "pid")), 0);
		json_decref(n);
	}
	assert_int_equal(cluster_start(NULL, f->dir, 1, &err), -1);
	assert_non_null(strstr(err.msg, "fenced"));
	if (cluster_scale(&answer, f->dir, "primary", 3, &err) != 0) {
		dump_logs(f->dir);
		fail_msg("scale primary=3 after promotion: %s", err.msg);
	}
	assert_int_equal(json_array_size(json_object_get(answer, "rejoined")), 3);
	json_decref(answer);
	s = await_replicated(f->dir, 5, NULL);
	json_decref(s);
	append(f->dir, "t-promote", 12);
	down_leaves_nothing(f);
}

static void test_killed_drillrig_leaves_supervisor_running(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	const char *bin = getenv("DRILLRIG_BIN");
	char *argv[] = { (char *)bin, (char *)"cluster", (char *)"up", (char *)"--cluster",
			 f->dir, NULL };
	struct proc_spawn_opts opts = PROC_SPAWN_OPTS_INIT;
	char *log = xasprintf("%s/drillrig.log", f->root);
	int64_t deadline = clock_mono_ns() + WAIT_NS;
	json_t *answer = NULL;
	pid_t pid, sup = 0;
	int status = 0;

	if (!have_ledgerd()) {
		free(log);
		skip();
	}
	opts.stdout_path = log;
	opts.stderr_path = log;
	assert_int_equal(proc_spawn(&pid, argv, &opts, &err), 0);
	/* as soon as the supervisor answers, kill drillrig and its group */
	while (clock_mono_ns() < deadline) {
		json_t *req = json_pack("{s:s}", "cmd", "ping");

		if (cluster_request(&answer, f->dir, req, NS_PER_SEC, &err) == 0)
			sup = (pid_t)json_integer_value(json_object_get(answer, "pid"));
		json_decref(req);
		json_decref(answer);
		answer = NULL;
		if (sup)
			break;
		clock_sleep_ns(10 * NS_PER_MS);
	}
	if (!sup)
		fail_msg("the supervisor never answered: %s", err.msg);
	kill(-pid, SIGKILL);
	assert_int_equal(proc_wait(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	/* the cluster still comes up, under the same supervisor */
	if (cluster_wait_ready(f->dir, WAIT_NS, &err) != 0)
		fail_msg("after drillrig was killed: %s", err.msg);
	assert_true(cluster_pid_running(sup));
	assert_int_equal(cluster_supervisor_status(&answer, f->dir, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(answer, "supervisor_pid")), sup);
	json_decref(answer);
	free(log);
	down_leaves_nothing(f);
}

static void test_malformed_commands_get_errors(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	const char *bad[] = {
		"{\"cmd\":\"kill\"}", "{\"cmd\":\"kill\",\"node\":99}",
		"{\"cmd\":\"kill\",\"node\":1,\"signal\":\"NOPE\"}", "{\"cmd\":42}",
		"{\"cmd\":\"scale\",\"region\":\"primary\",\"replicas\":7}",
		"{\"cmd\":\"scale\",\"region\":\"mars\",\"replicas\":1}", "{\"cmd\":\"dance\"}",
		"[1,2]", "{\"cmd\":\"promote\",\"region\":\"witness\",\"allow_data_loss\":true}",
		"{\"cmd\":\"restore\",\"snapshot\":\"relative.snap\"}",
	};
	json_t *answer = NULL;

	up(f, NULL, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *req = json_loads(bad[i], 0, NULL);

		assert_non_null(req);
		if (cluster_request(&answer, f->dir, req, CALL_NS, &err) != -1 || !answer)
			fail_msg("'%s' should get an error answer: %s", bad[i], err.msg);
		assert_false(json_is_true(json_object_get(answer, "ok")));
		assert_true(strlen(err.msg) > 0);
		json_decref(answer);
		json_decref(req);
	}
	/* the supervisor survived them all */
	assert_int_equal(cluster_supervisor_status(&answer, f->dir, &err), 0);
	json_decref(answer);
	down_leaves_nothing(f);
}

static char proc_state(pid_t pid)
{
	struct dr_error err = DR_ERROR_INIT;
	char path[64], *text = NULL, *paren, st = '?';

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (fs_read_file(&text, NULL, path, 4096, &err) != 0)
		return '?';
	paren = strrchr(text, ')');
	if (paren && paren[1] == ' ')
		st = paren[2];
	free(text);
	return st;
}

static void test_stop_start_pause_resume(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	json_t *n, *answer = NULL;
	pid_t pid;
	int64_t deadline;

	up(f, NULL, 0);
	if (cluster_stop(NULL, f->dir, 3, &err) != 0)
		fail_msg("stop: %s", err.msg);
	n = node_json(f->dir, 3);
	assert_int_equal(json_integer_value(json_object_get(n, "pid")), 0);
	assert_string_equal(json_string_value(json_object_get(n, "process")), "stopped");
	json_decref(n);
	/* a stopped node is a lost machine: writes go on, nobody restarts it */
	append(f->dir, "t-stop", 1);
	append(f->dir, "t-stop", 2);
	n = node_json(f->dir, 3);
	assert_int_equal(json_integer_value(json_object_get(n, "pid")), 0);
	assert_int_equal(json_integer_value(json_object_get(n, "restarts")), 0);
	json_decref(n);
	if (cluster_start(&answer, f->dir, 3, &err) != 0)
		fail_msg("start: %s", err.msg);
	pid = (pid_t)json_integer_value(json_object_get(answer, "pid"));
	json_decref(answer);
	assert_true(pid > 0 && cluster_pid_running(pid));
	json_decref(await_replicated(f->dir, 5, NULL));

	if (cluster_pause(NULL, f->dir, 4, &err) != 0)
		fail_msg("pause: %s", err.msg);
	n = node_json(f->dir, 4);
	pid = (pid_t)json_integer_value(json_object_get(n, "pid"));
	assert_string_equal(json_string_value(json_object_get(n, "process")), "paused");
	json_decref(n);
	deadline = clock_mono_ns() + WAIT_NS;
	while (proc_state(pid) != 'T' && clock_mono_ns() < deadline)
		clock_sleep_ns(10 * NS_PER_MS);
	assert_int_equal(proc_state(pid), 'T');
	append(f->dir, "t-stop", 3); /* 4 of 5 still serve */
	if (cluster_resume(NULL, f->dir, 4, &err) != 0)
		fail_msg("resume: %s", err.msg);
	deadline = clock_mono_ns() + WAIT_NS;
	while (proc_state(pid) == 'T' && clock_mono_ns() < deadline)
		clock_sleep_ns(10 * NS_PER_MS);
	assert_int_not_equal(proc_state(pid), 'T');
	/* the same process, not a restart */
	n = node_json(f->dir, 4);
	assert_int_equal(json_integer_value(json_object_get(n, "pid")), pid);
	assert_int_equal(json_integer_value(json_object_get(n, "restarts")), 0);
	json_decref(n);
	json_decref(await_replicated(f->dir, 5, NULL));

	/* stop with SIGTERM is a clean exit; with KILL it is a crash, and the
	 * node stays down all the same */
	n = node_json(f->dir, 3);
	assert_string_equal(json_string_value(json_object_get(n, "last_exit")), "exit 0");
	json_decref(n);
	if (cluster_stop_signal(NULL, f->dir, 5, "KILL", &err) != 0)
		fail_msg("stop with KILL: %s", err.msg);
	n = node_json(f->dir, 5);
	assert_int_equal(json_integer_value(json_object_get(n, "pid")), 0);
	assert_string_equal(json_string_value(json_object_get(n, "process")), "stopped");
	assert_string_equal(json_string_value(json_object_get(n, "last_exit")), "signal 9");
	json_decref(n);
	assert_int_equal(cluster_stop_signal(NULL, f->dir, 4, "HUP", &err), -1);
	assert_non_null(strstr(err.msg, "must be \"TERM\""));
	if (cluster_start(NULL, f->dir, 5, &err) != 0)
		fail_msg("start after KILL: %s", err.msg);
	json_decref(await_replicated(f->dir, 5, NULL));

	/* a scaled-down node cannot be started behind the region's back */
	if (cluster_scale(NULL, f->dir, "dr", 1, &err) != 0)
		fail_msg("scale dr=1: %s", err.msg);
	assert_int_equal(cluster_start(NULL, f->dir, 4, &err), -1);
	assert_non_null(strstr(err.msg, "scaled to 1"));
	down_leaves_nothing(f);
}

static void test_down_after_the_supervisor_was_killed(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_spec spec;
	pid_t pids[CLUSTER_MAX_NODES + 1];
	int count;

	up(f, "primary=1,dr=1,witness=1", 0);
	count = cluster_pids(pids, CLUSTER_MAX_NODES + 1, f->dir);
	assert_int_equal(count, 4);
	kill(pids[0], SIGKILL);
	{
		int64_t deadline = clock_mono_ns() + WAIT_NS;

		while (cluster_pid_running(pids[0]) && clock_mono_ns() < deadline)
			clock_sleep_ns(10 * NS_PER_MS);
		if (cluster_pid_running(pids[0]))
			fail_msg("the supervisor survived SIGKILL");
	}
	/* orphaned nodes keep serving; a new `up` refuses to run over them */
	for (int i = 1; i < count; i++)
		assert_true(cluster_pid_running(pids[i]));
	cluster_spec_init(&spec);
	assert_int_equal(cluster_up(f->dir, &spec, &err), -1);
	assert_non_null(strstr(err.msg, "still runs"));
	/* down finds them through cluster.json and leaves nothing */
	if (cluster_down(f->dir, &err) != 0)
		fail_msg("cluster_down: %s", err.msg);
	for (int i = 1; i < count; i++)
		if (cluster_pid_running(pids[i]))
			fail_msg("node pid %d survived cluster_down", (int)pids[i]);
	/* and the directory can hold a fresh cluster again */
	up(f, "primary=1,dr=1,witness=1", 0);
	down_leaves_nothing(f);
}

static void test_sigterm_to_the_supervisor_stops_everything(void **state)
{
	struct fixture *f = *state;
	pid_t pids[CLUSTER_MAX_NODES + 1];
	int64_t deadline;
	int count, left;

	up(f, "primary=1,dr=1,witness=1", 0);
	count = cluster_pids(pids, CLUSTER_MAX_NODES + 1, f->dir);
	assert_int_equal(count, 4);
	kill(pids[0], SIGTERM);
	deadline = clock_mono_ns() + WAIT_NS;
	do {
		left = 0;
		for (int i = 0; i < count; i++)
			left += cluster_pid_running(pids[i]);
		if (left)
			clock_sleep_ns(20 * NS_PER_MS);
	} while (left && clock_mono_ns() < deadline);
	if (left)
		fail_msg("%d processes still run after SIGTERM to the supervisor", left);
	/* it recorded that nothing runs */
	assert_int_equal(cluster_pids(pids, CLUSTER_MAX_NODES + 1, f->dir), 1);
	assert_int_equal(pids[0], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_up_default_reaches_leader_and_down_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_commands_get_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_killed_drillrig_leaves_supervisor_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_down_after_the_supervisor_was_killed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_to_the_supervisor_stops_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill9_node_is_restarted_and_catches_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_start_pause_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scale_region_to_zero_and_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scale_down_stops_highest_ordinal_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_restore_gives_same_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_promotion_then_fenced_region_rejoins, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
