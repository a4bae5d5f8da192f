/* backup-restore, checked from outside the drill: the drill runs with
 * --keep-cluster and --commit-history, then this test reads the restored
 * cluster (DIR/restored) and proves what the drill itself cannot check yet:
 * every write the workload had acknowledged at an index up to the
 * snapshot's is in the restored cluster, at the same index, and the
 * restored entries 1..index are exactly the source cluster's.  Then it
 * takes both clusters down and checks nothing is left running.
 */
#include <glob.h>
#include <setjmp.h>
#include <signal.h>
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
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "ledger/cluster/cluster.h"
#include "tests/support/drill_proc.h"

static char *tmp;

static json_t *step_data(json_t *journal, const char *name)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(journal, "steps"), i, s)
		if (strcmp(json_string_value(json_object_get(s, "name")) ?: "", name) == 0)
			return json_object_get(s, "data");
	fail_msg("the journal has no step '%s'", name);
	return NULL;
}

/* Every entry of the cluster in dir whose nodes are listed in
 * nodes[].address (the client finds the leader with an admin call: the
 * cluster's token). */
static json_t *read_entries(const char *dir, json_t *nodes, const char *what)
{
	char *auth = cluster_admin_token(dir);
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[CLUSTER_MAX_NODES];
	json_t *node, *entries = NULL;
	size_t i, n = 0;
	int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;

	json_array_foreach(nodes, i, node)
		if (n < CLUSTER_MAX_NODES && json_string_value(json_object_get(node, "address")))
			addrs[n++] = json_string_value(json_object_get(node, "address"));
	if (n == 0)
		fail_msg("%s: no node addresses", what);
	opts.timeout_ms = 2000;
	opts.admin_timeout_ms = 2000;
	opts.admin_token = auth;
	assert_int_equal(ledger_client_new(&c, addrs, n, &opts, &err), 0);
	free(auth);
	/* Bounded poll: a node that just started may not know its leader yet. */
	while (ledger_read_all(c, &entries, &err) != 0) {
		if (clock_mono_ns() > deadline)
			fail_msg("cannot read the %s cluster: %s", what, err.msg);
		clock_sleep_ns(100 * NS_PER_MS);
	}
	ledger_client_free(c);
	return entries;
}

static void test_restored_cluster_holds_every_acknowledged_entry(void **state)
{
	struct drill_proc p;
	struct dr_error err = DR_ERROR_INIT;
	char *plan = drill_src_path("drills/backup-restore.yaml");
	char *results = xasprintf("%s/results", tmp), *clusters = xasprintf("%s/clusters", tmp);
	const char *args[] = { "run", plan, "--json", "--keep-cluster", "--commit-history",
			       "--results-repo", results, NULL };
	json_t *journal, *snap, *restore, *restored, *source, *info = NULL, *e;
	const char *client_id, *restored_dir;
	char *history_path = NULL, *history = NULL, *cluster_dir, *line, *next;
	size_t len = 0, i;
	int64_t snap_index;
	int rc, checked = 0;

	(void)state;
	setenv("DRILLRIG_CLUSTER_ROOT", clusters, 1);
	assert_int_equal(drill_proc_start(&p, tmp, args), 0);
	rc = drill_proc_wait(&p, 120000);
	if (rc != 0) {
		char *out = drill_proc_stdout(&p), *errout = drill_proc_stderr(&p);
		size_t olen = strlen(out);

		fail_msg("backup-restore exited %d\n...%s\n%s", rc, out + (olen > 3000 ? olen - 3000 : 0),
			 errout);
	}
	journal = drill_proc_journal(&p);
	assert_non_null(journal);
	snap = step_data(journal, "take-snapshot");
	restore = step_data(journal, "restore-into-new-cluster");
	snap_index = json_integer_value(json_object_get(snap, "index"));
	client_id = json_string_value(json_object_get(json_object_get(journal, "workload"), "client_id"));
	restored_dir = json_string_value(json_object_get(restore, "cluster"));
	assert_true(snap_index > 0);
	assert_non_null(client_id);
	assert_non_null(restored_dir);

	/* The restored cluster holds exactly the snapshot's entries ... */
	restored = read_entries(restored_dir, json_object_get(restore, "nodes"), "restored");
	if ((int64_t)json_array_size(restored) != snap_index)
		fail_msg("the restored cluster has %zu entries, the snapshot was taken at index %lld",
			 json_array_size(restored), (long long)snap_index);
	/* ... which are the source's first entries, byte for byte. */
	cluster_dir = xasprintf("%.*s", (int)(strlen(restored_dir) - strlen("/restored")), restored_dir);
	assert_int_equal(cluster_load(&info, cluster_dir, &err), 0);
	source = read_entries(cluster_dir, json_object_get(info, "nodes"), "source");
	assert_true((int64_t)json_array_size(source) >= snap_index);
	json_array_foreach(restored, i, e) {
		if (!json_equal(e, json_array_get(source, i)))
			fail_msg("restored entry %zu differs from the source's", i + 1);
	}

	/* Every write acknowledged at an index up to the snapshot's is there:
	 * history.ndjson sits beside the report the last stdout line names. */
	{
		char *out = drill_proc_stdout(&p), *last = out + strlen(out);
		json_t *ev;
		const char *report;

		while (last > out && last[-1] == '\n')
			*--last = '\0';
		while (last > out && last[-1] != '\n')
			last--;
		ev = json_loads(last, 0, NULL);
		report = json_string_value(json_object_get(ev, "path"));
		if (!report)
			fail_msg("no report event at the end of the drill's output: %s", last);
		history_path = xasprintf("%.*s/history.ndjson", (int)(strrchr(report, '/') - report), report);
		json_decref(ev);
		free(out);
	}
	assert_int_equal(fs_read_file(&history, &len, history_path, (size_t)1 << 28, &err), 0);
	for (line = history; line && *line; line = next) {
		json_t *w, *entry;
		int64_t index;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		w = json_loads(line, 0, NULL);
		assert_non_null(w);
		index = json_integer_value(json_object_get(w, "index"));
		if (strcmp(json_string_value(json_object_get(w, "outcome")) ?: "", "ok") == 0 &&
		    index >= 1 && index <= snap_index) {
			entry = json_array_get(restored, (size_t)index - 1);
			if (strcmp(json_string_value(json_object_get(entry, "client_id")) ?: "", client_id) != 0 ||
			    json_integer_value(json_object_get(entry, "sequence")) !=
				    json_integer_value(json_object_get(w, "seq")))
				fail_msg("write seq %lld acknowledged at index %lld is not at that index in the "
					 "restored cluster", (long long)json_integer_value(json_object_get(w, "seq")),
					 (long long)index);
			checked++;
		}
		json_decref(w);
	}
	/* The drill lets the workload write for a second before the snapshot. */
	if (checked < 10)
		fail_msg("only %d acknowledged writes before the snapshot (index %lld)", checked,
			 (long long)snap_index);
	fprintf(stderr, "# %d acknowledged writes up to snapshot index %lld found in the restored cluster\n",
		checked, (long long)snap_index);

	/* Taking the drill's cluster down takes the restored one with it. */
	assert_int_equal(cluster_down(cluster_dir, &err), 0);
	json_array_foreach(json_object_get(restore, "nodes"), i, e) {
		struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
		struct ledger_client *c = NULL;
		const char *addr = json_string_value(json_object_get(e, "address"));
		json_t *resp = NULL;
		enum ledger_code code;

		opts.timeout_ms = 300;
		opts.admin_timeout_ms = 300;
		assert_int_equal(ledger_client_new(&c, &addr, 1, &opts, &err), 0);
		if (ledger_call(c, 0, "grpc.health.v1.Health/Check", NULL, &resp, &code, &err) == 0)
			fail_msg("restored node %s still answers after cluster down", addr);
		ledger_client_free(c);
	}

	json_decref(info);
	json_decref(source);
	json_decref(restored);
	json_decref(journal);
	free(history);
	free(history_path);
	free(cluster_dir);
	free(results);
	free(clusters);
	free(plan);
}

static int setup(void **state)
{
	(void)state;
	/* A short root: the restored cluster's socket path, DIR/restored/
	 * supervisor.sock under the drill's cluster directory, must stay within
	 * the 108 bytes of a unix socket address. */
	tmp = xstrdup(access("/dev/shm", W_OK) == 0 ? "/dev/shm/dbk.XXXXXX" : "/tmp/dbk.XXXXXX");
	if (!mkdtemp(tmp)) {
		free(tmp);
		tmp = NULL;
	}
	return tmp ? 0 : -1;
}

/* Whatever failed, the kept clusters go down (by their supervisor's
 * cluster.json, never by process name). */
static int teardown(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	char *pattern = xasprintf("%s/clusters/drillrig-*", tmp);
	glob_t g;

	(void)state;
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++)
			cluster_down(g.gl_pathv[i], &err);
		globfree(&g);
	}
	free(pattern);
	fs_remove_tree(tmp, &err);
	free(tmp);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_restored_cluster_holds_every_acknowledged_entry,
						setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
