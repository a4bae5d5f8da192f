/* A graceful stop hands leadership over; a kill -9 stays a crash.
 *
 * - SIGTERM to the leader of three nodes while a writer runs, three times
 *   (the stopped node rejoins in between): the stopped node logs that it
 *   handed leadership to node X, node X is the leader the others agree on,
 *   the node exits 0, and every acknowledged write reads back at its index
 *   afterwards.
 * - SIGKILL to the leader: a new leader is elected without any handover
 *   (no such line in the killed node's log), and nothing acknowledged is
 *   lost.
 * - SIGTERM to a leader whose followers are frozen: it says it is not
 *   serving, answers a new write NOT_LEADER instead of taking it, gives up
 *   the handover (it says so) and still exits 0.
 * - The raft listener's backlog is more than libraft's 1.
 *
 * Nothing here is timed: each wait is a bounded poll that fails with what
 * it last saw. */
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

#include <pthread.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "ledger/client/ledger_v1.h"
#include "ledger/client/wire.h"
#include "tests/support/ledger_testnet.h"

#define MAX_ACKS 200000
#define WAIT_MS 15000
#define ROUNDS 3
#define HANDED "graceful stop: leadership handed to node "

/* One writer with its own client, retrying each sequence until it is
 * acknowledged, as the drill's workload does. */
struct writer {
	struct testnet *t;
	pthread_t thread;
	int running;
	volatile int stop;
	uint64_t acked_index[MAX_ACKS]; /* by sequence; 0: not acknowledged */
	volatile uint64_t n_acked;
	char client_id[32];
};

static struct writer writer; /* static: a failed case longjmps past its stop */

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct ledger_client *c = testnet_client(w->t, 1000);
	struct ledger_append_result res;
	uint64_t seq = 1;

	while (!w->stop && seq < MAX_ACKS) {
		char payload[64];

		snprintf(payload, sizeof payload, "graceful-%llu", (unsigned long long)seq);
		if (ledger_append(c, w->client_id, seq, payload, &res) == 0) {
			w->acked_index[seq] = res.index;
			w->n_acked++;
			seq++;
		} else if (res.outcome != LEDGER_OUTCOME_OK) {
			clock_sleep_ns(2 * NS_PER_MS);
		}
	}
	ledger_client_free(c);
	return NULL;
}

static void writer_start(struct writer *w, struct testnet *t, const char *id)
{
	memset(w, 0, sizeof *w);
	w->t = t;
	str_copy(w->client_id, sizeof w->client_id, id);
	assert_int_equal(pthread_create(&w->thread, NULL, writer_main, w), 0);
	w->running = 1;
}

static void writer_stop(struct writer *w)
{
	if (!w->running)
		return;
	w->stop = 1;
	pthread_join(w->thread, NULL);
	w->running = 0;
}

static void wait_acks(struct writer *w, uint64_t n, const char *why)
{
	int64_t deadline = clock_mono_ns() + (int64_t)WAIT_MS * NS_PER_MS;

	while (w->n_acked < n) {
		if (clock_mono_ns() > deadline)
			fail_msg("only %llu of %llu writes acknowledged within %d ms (%s)",
				 (unsigned long long)w->n_acked, (unsigned long long)n, WAIT_MS, why);
		clock_sleep_ns(5 * NS_PER_MS);
	}
}

/* Every acknowledged write is in the ledger exactly once, at the index it
 * was acknowledged with. */
static void check_history(struct testnet *t, struct writer *w)
{
	struct ledger_client *c = testnet_client(t, 2000);
	struct dr_error err = DR_ERROR_INIT;
	json_t *entries = NULL, *e;
	char *seen = xcalloc(MAX_ACKS, 1);
	uint64_t seq, found = 0;
	size_t i;

	if (ledger_read_all(c, &entries, &err) != 0)
		fail_msg("cannot read the ledger back: %s", err.msg);
	json_array_foreach(entries, i, e) {
		const char *cid = json_string_value(json_object_get(e, "client_id"));

		seq = (uint64_t)json_integer_value(json_object_get(e, "sequence"));
		if (!cid || strcmp(cid, w->client_id) != 0 || seq >= MAX_ACKS)
			continue;
		if (seen[seq])
			fail_msg("sequence %llu appears twice", (unsigned long long)seq);
		seen[seq] = 1;
		if (w->acked_index[seq] &&
		    w->acked_index[seq] != (uint64_t)json_integer_value(json_object_get(e, "index")))
			fail_msg("sequence %llu acknowledged at index %llu but read back at %lld",
				 (unsigned long long)seq, (unsigned long long)w->acked_index[seq],
				 (long long)json_integer_value(json_object_get(e, "index")));
	}
	for (seq = 1; seq < MAX_ACKS; seq++) {
		if (!w->acked_index[seq])
			continue;
		if (!seen[seq])
			fail_msg("acknowledged sequence %llu (index %llu) is lost",
				 (unsigned long long)seq, (unsigned long long)w->acked_index[seq]);
		found++;
	}
	assert_int_equal(found, w->n_acked);
	json_decref(entries);
	free(seen);
	ledger_client_free(c);
}

/* Node i's log (static: a failure longjmps before anything could free it);
 * the last bytes when it is long. */
static const char *log_of(struct testnet *t, int i)
{
	static char text[4096];
	struct dr_error err = DR_ERROR_INIT;
	char *path = xasprintf("%s/n%d.log", t->dir, i + 1), *data = NULL;
	size_t len = 0;

	if (fs_read_file(&data, &len, path, 64 << 20, &err) == 0)
		str_copy(text, sizeof text, len >= sizeof text ? data + len - (sizeof text - 1) : data);
	else
		str_copy(text, sizeof text, err.msg);
	free(data);
	free(path);
	return text;
}

/* Wait for node i to exit after sig; it must exit 0. */
static void expect_clean_exit(struct testnet *t, int i, const char *why)
{
	int64_t deadline = clock_mono_ns() + (int64_t)WAIT_MS * NS_PER_MS;
	pid_t pid = t->pid[i], got;
	int status = 0;

	while ((got = proc_wait(pid, &status, WNOHANG)) == 0) {
		if (clock_mono_ns() > deadline)
			fail_msg("node %d still runs %d ms after %s; log ends:\n%s", i + 1, WAIT_MS, why,
				 log_of(t, i));
		clock_sleep_ns(5 * NS_PER_MS);
	}
	assert_int_equal(got, pid);
	t->pid[i] = 0; /* reaped: the testnet's teardown leaves it alone */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("node %d %s %d after %s; log ends:\n%s", i + 1,
			 WIFSIGNALED(status) ? "died of signal" : "exited",
			 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), why, log_of(t, i));
}

/* The node id the nth "leadership handed to node X" line of node i names;
 * fails when there is no such line. */
static int handed_to(struct testnet *t, int i, int nth)
{
	struct dr_error err = DR_ERROR_INIT;
	char *path = xasprintf("%s/n%d.log", t->dir, i + 1), *data = NULL, *p;
	size_t len = 0;
	long id = -1;

	if (fs_read_file(&data, &len, path, 64 << 20, &err) != 0)
		fail_msg("cannot read node %d's log: %s", i + 1, err.msg);
	for (p = data; p && nth > 0; nth--) {
		p = strstr(p, HANDED);
		if (p)
			p += strlen(HANDED);
	}
	if (p)
		id = strtol(p, NULL, 10);
	free(data);
	free(path);
	if (id <= 0)
		fail_msg("node %d stopped without logging '%s<id>'; log ends:\n%s", i + 1, HANDED,
			 log_of(t, i));
	return (int)id;
}

/* SIGTERM to the leader under writes, ROUNDS times. */
static void test_sigterm_leader_hands_over_under_writes(void **state)
{
	static struct testnet t;
	struct writer *w = &writer;
	int stops[3] = { 0, 0, 0 };

	(void)state;
	/* 100 ms heartbeats: a loaded machine must not make a live node look
	 * stopped (the handover gives up after two silent heartbeats). */
	t.election_ms = 1000;
	t.heartbeat_ms = 100;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	writer_start(w, &t, "graceful");
	for (int r = 1; r <= ROUNDS; r++) {
		char why[96];
		int leader = testnet_wait_leader(&t, WAIT_MS, -1), to, next;
		uint64_t before;

		assert_true(leader >= 0);
		snprintf(why, sizeof why, "round %d: SIGTERM to the leader, node %d", r, leader + 1);
		wait_acks(w, w->n_acked + 50, "before the stop");
		assert_int_equal(kill(t.pid[leader], SIGTERM), 0);
		expect_clean_exit(&t, leader, why);
		stops[leader]++;
		/* (a) it handed leadership to X, and X leads */
		to = handed_to(&t, leader, stops[leader]);
		if (to == leader + 1)
			fail_msg("%s: it handed leadership to itself", why);
		if (testnet_log_count(&t, leader, "stopping anyway") ||
		    testnet_log_count(&t, leader, "without handing leadership over"))
			fail_msg("%s: the handover gave up; log ends:\n%s", why, log_of(&t, leader));
		next = testnet_wait_leader(&t, WAIT_MS, leader);
		if (next != to - 1)
			fail_msg("%s: it handed leadership to node %d, but the leader is node %d", why, to,
				 next + 1);
		/* writes go on with the new leader */
		before = w->n_acked;
		wait_acks(w, before + 50, "after the stop");
		/* the stopped node rejoins for the next round */
		assert_int_equal(testnet_start_node(&t, leader), 0);
	}
	writer_stop(w);
	/* (b) every acknowledged write is there */
	assert_true(testnet_wait_leader(&t, WAIT_MS, -1) >= 0);
	check_history(&t, w);
	testnet_destroy(&t);
}

/* SIGKILL to the leader: an election, not a handover; nothing lost. */
static void test_sigkill_leader_stays_a_crash(void **state)
{
	static struct testnet t;
	struct writer *w = &writer;
	int leader, next;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	leader = testnet_wait_leader(&t, WAIT_MS, -1);
	assert_true(leader >= 0);
	writer_start(w, &t, "crash");
	wait_acks(w, 50, "before the kill");
	testnet_kill(&t, leader, SIGKILL);
	next = testnet_wait_leader(&t, WAIT_MS, leader);
	if (next < 0)
		fail_msg("no new leader after kill -9 of node %d", leader + 1);
	wait_acks(w, w->n_acked + 50, "after the kill");
	writer_stop(w);
	if (testnet_log_count(&t, leader, "handing leadership over") ||
	    testnet_log_count(&t, leader, "graceful stop"))
		fail_msg("kill -9 of node %d looks like a graceful stop; log ends:\n%s", leader + 1,
			 log_of(&t, leader));
	for (int i = 0; i < 3; i++)
		if (i != leader && (testnet_log_count(&t, i, "graceful stop") ||
				    testnet_log_count(&t, i, "leadership transfer")))
			fail_msg("node %d logged a transfer after kill -9 of node %d; log ends:\n%s",
				 i + 1, leader + 1, log_of(&t, i));
	check_history(&t, w);
	testnet_destroy(&t);
}

/* The status field of a health check's answer (caller frees). */
static char *health(struct testnet *t, int i, const char *method)
{
	json_t *resp = NULL;
	long got = testnet_post(t, i, method, "{}", &resp);
	char *s = xasprintf("%ld %s", got, json_string_value(json_object_get(resp, "status")) ?: "-");

	json_decref(resp);
	return s;
}

/* SIGTERM to a leader that no follower answers: not serving, a new write
 * refused, the handover given up, exit 0. */
static void test_sigterm_leader_without_followers_stops_anyway(void **state)
{
	static struct testnet t;
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_append_result res;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *addr[1];
	char *h;
	int leader;
	int64_t deadline;

	(void)state;
	/* The handover waits two heartbeats for an answer: 2 x 800 ms leaves
	 * room for the checks below on a loaded machine. */
	t.election_ms = 2400;
	t.heartbeat_ms = 800;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	leader = testnet_wait_leader(&t, 30000, -1);
	assert_true(leader >= 0);
	/* healthy first (a new leader is DEGRADED until its barrier applies) */
	deadline = clock_mono_ns() + (int64_t)WAIT_MS * NS_PER_MS;
	while (strcmp(h = health(&t, leader, LEDGER_V1_HEALTH), "200 HEALTH_STATUS_HEALTHY") != 0) {
		if (clock_mono_ns() > deadline)
			fail_msg("leader node %d never became healthy: %s", leader + 1, h);
		free(h);
		clock_sleep_ns(20 * NS_PER_MS);
	}
	free(h);
	h = health(&t, leader, LEDGER_SVC_HEALTH "/Check");
	assert_string_equal(h, "200 SERVING");
	free(h);
	for (int i = 0; i < 3; i++)
		if (i != leader)
			assert_int_equal(kill(t.pid[i], SIGSTOP), 0);
	assert_int_equal(kill(t.pid[leader], SIGTERM), 0);
	deadline = clock_mono_ns() + (int64_t)WAIT_MS * NS_PER_MS;
	while (!testnet_log_count(&t, leader, "handing leadership over before stopping")) {
		if (clock_mono_ns() > deadline)
			fail_msg("node %d did not start its handover; log ends:\n%s", leader + 1,
				 log_of(&t, leader));
		clock_sleep_ns(2 * NS_PER_MS);
	}
	/* not ready, in both dialects */
	h = health(&t, leader, LEDGER_SVC_HEALTH "/Check");
	assert_string_equal(h, "200 NOT_SERVING");
	free(h);
	h = health(&t, leader, LEDGER_V1_HEALTH);
	assert_string_equal(h, "200 HEALTH_STATUS_UNAVAILABLE");
	free(h);
	/* a new write is not taken: NOT_LEADER, naming nobody */
	addr[0] = t.addr[leader];
	opts.timeout_ms = WAIT_MS;
	assert_int_equal(ledger_client_new(&c, addr, 1, &opts, &err), 0);
	assert_int_not_equal(ledger_append(c, "late", 1, "x", &res), 0);
	ledger_client_free(c);
	if (strcmp(res.code, "NOT_LEADER") != 0 || res.leader[0])
		fail_msg("a write during the handover got %s (leader '%s'): %s", res.code, res.leader,
			 res.message);
	expect_clean_exit(&t, leader, "SIGTERM with the followers frozen");
	/* Given up for want of answers, or (had it stepped down meanwhile for
	 * the same reason) at the deadline: either way it says so. */
	if (!testnet_log_count(&t, leader, "stopping without handing leadership over") &&
	    !testnet_log_count(&t, leader, "stopping anyway"))
		fail_msg("node %d did not say it gave the handover up; log ends:\n%s", leader + 1,
			 log_of(&t, leader));
	if (testnet_log_count(&t, leader, "leadership handed to"))
		fail_msg("node %d claims a handover no follower could take; log ends:\n%s",
			 leader + 1, log_of(&t, leader));
	/* the other two carry on */
	for (int i = 0; i < 3; i++)
		if (i != leader)
			assert_int_equal(kill(t.pid[i], SIGCONT), 0);
	assert_true(testnet_wait_leader(&t, 30000, leader) >= 0);
	testnet_destroy(&t);
}

/* libraft 0.15 listens on the raft port with a backlog of 1; when every
 * voter connected to a new leader at once, the kernel dropped SYNs and the
 * voter retried a second later, so a handover in a young cluster found its
 * target deaf to a voter and fell back to an election.  ledgerd raises the
 * backlog: ss(8) shows it as the listening socket's Send-Q. */
static void test_raft_listener_backlog_is_raised(void **state)
{
	static struct testnet t;
	struct proc_result res;
	struct dr_error err = DR_ERROR_INIT;
	char filter[96];
	char *argv[] = { "ss", "-Hltn", "src", filter, NULL };
	char state_[16] = "", local[96] = "";
	unsigned long recvq = 0, sendq = 0;

	(void)state;
	if (access("/usr/bin/ss", X_OK) != 0 && access("/bin/ss", X_OK) != 0) {
		fprintf(stderr, "ss (iproute2) is not installed: skipped\n");
		skip();
	}
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	assert_true(testnet_wait_leader(&t, WAIT_MS, -1) == 0);
	str_copy(filter, sizeof filter, t.raft[0]);
	memset(&res, 0, sizeof res);
	if (proc_run(&res, argv, NULL, 10 * NS_PER_SEC, 1 << 16, &err) != 0 || !res.exited ||
	    res.exit_code != 0)
		fail_msg("ss -Hltn src %s: %s%s", filter, err.msg, res.errout ? res.errout : "");
	if (sscanf(res.out, "%15s %lu %lu %95s", state_, &recvq, &sendq, local) != 4 ||
	    strcmp(state_, "LISTEN") != 0)
		fail_msg("no listening socket on %s in ss's answer: '%s'", filter, res.out);
	if (sendq < 16)
		fail_msg("the raft listener on %s has a backlog of %lu", filter, sendq);
	proc_result_release(&res);
	testnet_destroy(&t);
}

static int teardown(void **state)
{
	(void)state;
	writer_stop(&writer);
	testnet_destroy_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sigterm_leader_hands_over_under_writes, teardown),
		cmocka_unit_test_teardown(test_sigkill_leader_stays_a_crash, teardown),
		cmocka_unit_test_teardown(test_sigterm_leader_without_followers_stops_anyway, teardown),
		cmocka_unit_test_teardown(test_raft_listener_backlog_is_raised, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
