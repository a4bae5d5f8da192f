/* The supervisor's primitives against real ledgerd processes: `ledgerd
 * info`, `ledgerd recover` (unsafe promotion to a survivor), re-adding a
 * wiped member with --join + AddMember, RemoveMember, the supervisor
 * socket for ForceLeaderElection / RestoreFromSnapshot, catch-up through
 * Raft snapshots, and the admin token. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "tests/support/ledger_testnet.h"

static int teardown(void **state)
{
	(void)state;
	testnet_destroy_all();
	return 0;
}

static void append_n(struct testnet *t, const char *cid, int from, int to)
{
	struct ledger_client *c = testnet_client(t, 1000);
	struct ledger_append_result res;
	int seq;

	for (seq = from; seq <= to; seq++) {
		int tries = 0;
		while (ledger_append(c, cid, (uint64_t)seq, "v", &res) != 0) {
			if (++tries > 200)
				fail_msg("append %s/%d failed: %s %s", cid, seq, res.code, res.message);
			clock_sleep_ns(20 * NS_PER_MS);
		}
	}
	ledger_client_free(c);
}

static json_t *post_ok(struct testnet *t, int node, const char *method, const char *body)
{
	json_t *resp = NULL;
	long st = testnet_post(t, node, method, body, &resp);

	if (st != 200) {
		char *text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
		fail_msg("%s %s on node %d: HTTP %ld: %s", method, body, node + 1, st, text ? text : "");
	}
	return resp;
}

static char *digest(struct testnet *t, int i)
{
	json_t *resp = NULL;
	char *d = NULL;

	if (testnet_post(t, i, "inferadb.ledger.v1.Debug/Digest", "{}", &resp) == 200)
		d = xasprintf("%s@%lld", json_string_value(json_object_get(resp, "digest")),
			      (long long)json_integer_value(json_object_get(resp, "last_index")));
	json_decref(resp);
	return d;
}

static void wait_same_digest(struct testnet *t, int a, int b, int timeout_ms)
{
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;

	for (;;) {
		char *da = digest(t, a), *db = digest(t, b);
		int same = da && db && strcmp(da, db) == 0;
		if (!same && clock_mono_ns() > deadline)
			fail_msg("nodes %d and %d did not converge: %s vs %s", a + 1, b + 1, da ? da : "-",
				 db ? db : "-");
		free(da);
		free(db);
		if (same)
			return;
		clock_sleep_ns(50 * NS_PER_MS);
	}
}

static json_t *run_json(char *const argv[], int want_exit)
{
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result pr;
	json_t *j;

	assert_int_equal(proc_run(&pr, argv, NULL, 20 * NS_PER_SEC, 1 << 16, &err), 0);
	if (!pr.exited || pr.exit_code != want_exit)
		fail_msg("%s %s exited %d: %s", argv[0], argv[1], pr.exit_code, pr.errout);
	j = json_loads(pr.out, 0, NULL);
	proc_result_release(&pr);
	return j;
}

static void test_info_recover_and_readd(void **state)
{
	static const char *roles[] = { "primary", "primary", "dr" };
	static struct testnet t;
	struct dr_error err = DR_ERROR_INIT;
	char data[3][256], peers[256], *text;
	json_t *info[3], *resp, *doc;
	int i, leader;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, roles), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) >= 0);
	append_n(&t, "r", 1, 20);
	for (i = 0; i < 3; i++)
		testnet_kill(&t, i, SIGKILL);
	/* info on every stopped node */
	for (i = 0; i < 3; i++) {
		char *argv[] = { (char *)t.bin, "info", "--data", data[i], NULL };
		snprintf(data[i], sizeof data[i], "%s/n%d", t.dir, i + 1);
		info[i] = run_json(argv, 0);
		assert_non_null(info[i]);
		assert_true(json_integer_value(json_object_get(info[i], "term")) >= 1);
		assert_true(json_integer_value(json_object_get(info[i], "last_index")) >= 1);
		json_decref(info[i]);
	}
	{
		char *argv[] = { (char *)t.bin, "info", "--data", "/nonexistent-ledgerd", NULL };
		run_json(argv, 1);
	}
	/* Unsafe promotion: node 3 (dr) alone, under a new cluster id. */
	snprintf(peers, sizeof peers, "%s/peers.json", t.dir);
	{
		char *old = NULL;
		size_t len;
		assert_int_equal(fs_read_file(&old, &len, peers, 1 << 20, &err), 0);
		doc = json_loads(old, 0, NULL);
		free(old);
		json_object_set_new(doc, "cluster_id", json_string("c-promoted"));
		text = json_dumps(doc, JSON_COMPACT);
		assert_int_equal(fs_write_atomic(peers, text, strlen(text), &err), 0);
		free(text);
		json_decref(doc);
	}
	{
		char *bad[] = { (char *)t.bin, "recover", "--data", data[2], "--peers", peers, "--voters", "9", NULL };
		char *argv[] = { (char *)t.bin, "recover", "--data", data[2], "--peers", peers, "--voters", "3", NULL };
		json_decref(run_json(bad, 1));
		resp = run_json(argv, 0);
		assert_true(json_is_true(json_object_get(resp, "recovered")));
		json_decref(resp);
	}
	assert_int_equal(testnet_start_node(&t, 2), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_int_equal(leader, 2);
	resp = post_ok(&t, 2, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}");
	assert_string_equal(json_string_value(json_object_get(resp, "cluster_id")), "c-promoted");
	assert_int_equal(json_integer_value(json_object_get(resp, "voters")), 1);
	assert_int_equal(json_integer_value(json_object_get(resp, "last_index")), 20);
	json_decref(resp);
	append_n(&t, "r", 21, 25);

	/* Re-add node 1 on wiped data: --join, then AddMember on the leader. */
	assert_int_equal(fs_remove_tree(data[0], &err), 0);
	t.extra_arg = "--join";
	assert_int_equal(testnet_start_node(&t, 0), 0);
	t.extra_arg = NULL;
	{
		char body[512];
		snprintf(body, sizeof body,
			 "{\"id\":1,\"address\":\"%s\",\"raft_address\":\"%s\",\"region\":\"primary\",\"region_role\":\"primary\",\"zone\":\"primary-a\"}",
			 t.addr[0], t.raft[0]);
		json_decref(post_ok(&t, 2, "inferadb.ledger.v1.Admin/AddMember", body));
	}
	wait_same_digest(&t, 0, 2, 10000);
	resp = post_ok(&t, 2, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}");
	assert_int_equal(json_integer_value(json_object_get(resp, "voters")), 2);
	json_decref(resp);
	/* Node 1 now follows and forwards status to the leader. */
	resp = post_ok(&t, 0, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(resp, "leader"), "id")), 3);
	json_decref(resp);
	json_decref(post_ok(&t, 2, "inferadb.ledger.v1.Admin/RemoveMember", "{\"id\":1}"));
	resp = post_ok(&t, 2, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}");
	assert_int_equal(json_integer_value(json_object_get(resp, "voters")), 1);
	json_decref(resp);
	testnet_destroy(&t);
}

/* A fake supervisor: answers each line with an ack and remembers it. */
struct fake_supervisor {
	char path[108];
	int fd;
	pthread_t thread;
	char lines[4][512];
	int n;
};

static void *supervisor_main(void *arg)
{
	struct fake_supervisor *s = arg;
	int c;

	while (s->n < 4 && (c = accept(s->fd, NULL, NULL)) >= 0) {
		char buf[512];
		ssize_t r = read(c, buf, sizeof buf - 1);
		const char *ack = "{\"ok\":true,\"cluster\":\"restored-1\"}\n";
		if (r > 0) {
			buf[r] = '\0';
			str_copy(s->lines[s->n++], sizeof s->lines[0], buf);
			if (write(c, ack, strlen(ack)) < 0)
				break;
		}
		close(c);
	}
	return NULL;
}

static void test_supervisor_socket(void **state)
{
	static const char *roles[] = { "primary", "primary", "dr" };
	static struct testnet t;
	static struct fake_supervisor sup;
	struct sockaddr_un sa;
	json_t *resp = NULL, *snap;
	char body[512];
	int64_t deadline;

	(void)state;
	memset(&sup, 0, sizeof sup);
	snprintf(sup.path, sizeof sup.path, "/tmp/ledgerd-sup-%d.sock", getpid());
	unlink(sup.path);
	sup.fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	str_copy(sa.sun_path, sizeof sa.sun_path, sup.path);
	assert_int_equal(bind(sup.fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(sup.fd, 4), 0);
	pthread_create(&sup.thread, NULL, supervisor_main, &sup);

	t.extra_arg = "--supervisor-socket";
	t.extra_val = sup.path;
	assert_int_equal(testnet_start(&t, 3, roles), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) >= 0);
	append_n(&t, "s", 1, 5);
	snap = post_ok(&t, 2, "inferadb.ledger.v1.Admin/CreateSnapshot", "{}");
	/* the primary region is lost: node 3 alone has no quorum */
	testnet_kill(&t, 0, SIGKILL);
	testnet_kill(&t, 1, SIGKILL);
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	for (;;) {
		resp = post_ok(&t, 2, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}");
		if (json_is_null(json_object_get(resp, "leader")))
			break;
		json_decref(resp);
		if (clock_mono_ns() > deadline)
			fail_msg("node 3 still reports a leader with the primary region down");
		clock_sleep_ns(50 * NS_PER_MS);
	}
	assert_false(json_is_true(json_object_get(resp, "quorum")));
	json_decref(resp);
	assert_int_equal(testnet_post(&t, 2, "inferadb.ledger.v1.Admin/ForceLeaderElection",
				      "{\"region\":\"dr\"}", &resp), 412);
	json_decref(resp);
	resp = post_ok(&t, 2, "inferadb.ledger.v1.Admin/ForceLeaderElection",
		       "{\"region\":\"dr\",\"allow_data_loss\":true}");
	assert_true(json_is_true(json_object_get(resp, "unsafe")));
	assert_true(json_is_true(json_object_get(resp, "accepted")));
	json_decref(resp);
	snprintf(body, sizeof body, "{\"path\":\"%s\"}",
		 json_string_value(json_object_get(snap, "path")));
	resp = post_ok(&t, 2, "inferadb.ledger.v1.Admin/RestoreFromSnapshot", body);
	/* RestoreFromSnapshotResponse carries the supervisor's answer as it
	 * gave it, in 'supervisor' */
	assert_string_equal(json_string_value(json_object_get(json_object_get(resp, "supervisor"),
							      "cluster")) ?: "(none)", "restored-1");
	json_decref(resp);
	assert_int_equal(sup.n, 2);
	assert_string_equal(sup.lines[0], "{\"cmd\":\"promote\",\"region\":\"dr\",\"allow_data_loss\":true}\n");
	snprintf(body, sizeof body, "{\"cmd\":\"restore\",\"snapshot\":\"%s\"}\n",
		 json_string_value(json_object_get(snap, "path")));
	assert_string_equal(sup.lines[1], body);
	json_decref(snap);
	testnet_destroy(&t);
	shutdown(sup.fd, SHUT_RDWR);
	close(sup.fd);
	pthread_join(sup.thread, NULL);
	unlink(sup.path);
}

static void test_catch_up_through_raft_snapshot(void **state)
{
	static struct testnet t;
	int leader, behind;

	(void)state;
	t.extra_arg = "--snapshot-threshold";
	t.extra_val = "16";
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_true(leader >= 0);
	behind = (leader + 1) % 3;
	testnet_kill(&t, behind, SIGKILL);
	append_n(&t, "snapcatch", 1, 120); /* several Raft snapshots meanwhile */
	assert_int_equal(testnet_start_node(&t, behind), 0);
	wait_same_digest(&t, leader, behind, 15000);
	/* and a restart from its own snapshot + log keeps the state */
	testnet_kill(&t, behind, SIGKILL);
	assert_int_equal(testnet_start_node(&t, behind), 0);
	wait_same_digest(&t, leader, behind, 15000);
	testnet_destroy(&t);
}

static void test_admin_token(void **state)
{
	static struct testnet t;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_client *c = NULL;
	struct ledger_append_result res;
	const char *addr;
	static char token_path[256];
	json_t *resp = NULL;
	enum ledger_code code = LEDGER_CODE_COUNT;
	int64_t deadline;

	(void)state;
	snprintf(token_path, sizeof token_path, "/tmp/ledgerd-token-%d", getpid());
	assert_int_equal(fs_write_atomic(token_path, "s3cret\n", 7, &err), 0);
	assert_int_equal(chmod(token_path, 0600), 0); /* ledgerd refuses a readable token */
	t.extra_arg = "--admin-token-file";
	t.extra_val = token_path;
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	/* without a token: 401 on admin calls */
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	while (testnet_post(&t, 0, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}", &resp) != 401) {
		json_decref(resp);
		if (clock_mono_ns() > deadline)
			fail_msg("admin call without a token was not refused with 401");
		clock_sleep_ns(50 * NS_PER_MS);
	}
	assert_string_equal(json_string_value(json_object_get(resp, "code")), "UNAUTHENTICATED");
	json_decref(resp);
	addr = t.addr[0];
	opts.admin_token = "s3cret";
	assert_int_equal(ledger_client_new(&c, &addr, 1, &opts, &err), 0);
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	while (ledger_append(c, "tok", 1, "x", &res) != 0 && clock_mono_ns() < deadline)
		clock_sleep_ns(20 * NS_PER_MS); /* data calls need no token */
	assert_int_equal(res.outcome, LEDGER_OUTCOME_OK);
	assert_int_equal(ledger_call(c, 0, "inferadb.ledger.v1.Admin/GetClusterStatus", NULL, &resp, &code, &err), 0);
	assert_int_equal(code, LEDGER_OK);
	json_decref(resp);
	ledger_client_free(c);
	testnet_destroy(&t);
	unlink(token_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_info_recover_and_readd, teardown),
		cmocka_unit_test_teardown(test_supervisor_socket, teardown),
		cmocka_unit_test_teardown(test_catch_up_through_raft_snapshot, teardown),
		cmocka_unit_test_teardown(test_admin_token, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
