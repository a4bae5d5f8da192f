/* ledgerd stops cleanly on SIGTERM and SIGINT while clients have Appends in
 * flight, also when the signal lands in a leadership transfer: exit status
 * 0, one "raft closed" and one "stopped cleanly" per stop, and (in a
 * SANITIZE build) no sanitizer report in the node's log.
 *
 * Each case stops a node several times under 16 concurrent writers.  Before
 * the fix in ledger/daemon/node.c (close_raft_when_stored, io_closed_once)
 * a stop often crashed in libraft 0.15: raft_close with two or more appends
 * queued in its uv backend truncated its log past the end (SIGSEGV), and
 * its io close callback could fire a second time after raft_uv_close had
 * freed the backend. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "tests/support/ledger_testnet.h"

#define WRITERS 16
#define ROUNDS 8            /* stops of the single node per case */
#define TRANSFER_ROUNDS 4   /* stops in the leadership transfer case */
#define ACKS_PER_ROUND 100  /* writes acknowledged before each stop */
#define ACK_TIMEOUT_MS 15000
#define EXIT_TIMEOUT_MS 15000
#define LEADER_TIMEOUT_MS 10000

/* Writers that keep Appends in flight against a testnet, each with its own
 * client and client id, retrying through leader changes.  Each stop gets
 * fresh writers: a gRPC channel that tried a node while it was down took
 * about 5 s to reach it once it was back.  Static: a failed case longjmps
 * out, and its teardown stops them. */
struct writer {
	struct load *load;
	int k;
	pthread_t thread;
};

struct load {
	struct testnet *t;
	struct writer w[WRITERS];
	int round;
	int running;
	atomic_int stop;
	atomic_ulong acked;
};

static struct load load;

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct load *l = w->load;
	struct ledger_client *c = testnet_client(l->t, 1000);
	struct ledger_append_result res;
	char id[32];
	uint64_t seq = 1;

	/* Sequences start afresh: a new client id per writer and round. */
	snprintf(id, sizeof id, "sig-%d-%d", l->round, w->k);
	while (!atomic_load(&l->stop)) {
		if (ledger_append(c, id, seq, "x", &res) == 0) {
			atomic_fetch_add(&l->acked, 1);
			seq++;
		} else if (res.outcome != LEDGER_OUTCOME_OK) {
			clock_sleep_ns(5 * NS_PER_MS); /* node down or not ready: retry */
		}
	}
	ledger_client_free(c);
	return NULL;
}

static void load_start(struct load *l, struct testnet *t, int round)
{
	memset(l, 0, sizeof *l);
	l->t = t;
	l->round = round;
	for (int k = 0; k < WRITERS; k++) {
		l->w[k].load = l;
		l->w[k].k = k;
		assert_int_equal(pthread_create(&l->w[k].thread, NULL, writer_main, &l->w[k]), 0);
		l->running = k + 1;
	}
}

static void load_stop(struct load *l)
{
	atomic_store(&l->stop, 1);
	for (int k = 0; k < l->running; k++)
		pthread_join(l->w[k].thread, NULL);
	l->running = 0;
}

/* Bounded poll until n writes are acknowledged. */
static void wait_acks(struct load *l, unsigned long n, const char *why)
{
	int64_t deadline = clock_mono_ns() + (int64_t)ACK_TIMEOUT_MS * NS_PER_MS;

	while (atomic_load(&l->acked) < n) {
		if (clock_mono_ns() > deadline)
			fail_msg("only %lu of %lu writes acknowledged within %d ms (%s)",
				 atomic_load(&l->acked), n, ACK_TIMEOUT_MS, why);
		clock_sleep_ns(5 * NS_PER_MS);
	}
}

/* The last bytes of node i's log, for failure messages (static: a failure
 * longjmps out before anything could free it). */
static const char *log_tail(struct testnet *t, int i)
{
	static char tail[2048];
	struct dr_error err = DR_ERROR_INIT;
	char *path = xasprintf("%s/n%d.log", t->dir, i + 1), *data = NULL;
	size_t len = 0;

	if (fs_read_file(&data, &len, path, 64 << 20, &err) == 0)
		str_copy(tail, sizeof tail, len >= sizeof tail ? data + len - (sizeof tail - 1) : data);
	else
		str_copy(tail, sizeof tail, err.msg);
	free(data);
	free(path);
	return tail;
}

/* Send sig to node i and wait for it to exit: status 0, and its log has
 * `stops` clean closes in all and no sanitizer report. */
static void stop_cleanly(struct testnet *t, int i, int sig, int stops, const char *when)
{
	int64_t deadline = clock_mono_ns() + (int64_t)EXIT_TIMEOUT_MS * NS_PER_MS;
	pid_t pid = t->pid[i], got;
	int status = 0;
	const char *tail;

	assert_true(pid > 0);
	assert_int_equal(kill(pid, sig), 0);
	while ((got = proc_wait(pid, &status, WNOHANG)) == 0) {
		if (clock_mono_ns() > deadline) {
			tail = log_tail(t, i);
			fail_msg("node %d still runs %d ms after %s (%s); log ends:\n%s", i + 1,
				 EXIT_TIMEOUT_MS, strsignal(sig), when, tail);
		}
		clock_sleep_ns(10 * NS_PER_MS);
	}
	assert_int_equal(got, pid);
	t->pid[i] = 0; /* reaped: testnet's teardown leaves it alone */
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		tail = log_tail(t, i);
		if (WIFSIGNALED(status))
			fail_msg("node %d died of %s after %s (%s); log ends:\n%s", i + 1,
				 strsignal(WTERMSIG(status)), strsignal(sig), when, tail);
		fail_msg("node %d exited %d after %s (%s); log ends:\n%s", i + 1,
			 WEXITSTATUS(status), strsignal(sig), when, tail);
	}
	if (testnet_log_count(t, i, "ERROR: AddressSanitizer") ||
	    testnet_log_count(t, i, "ERROR: LeakSanitizer") ||
	    testnet_log_count(t, i, "runtime error:")) {
		tail = log_tail(t, i);
		fail_msg("node %d: sanitizer report after %s (%s); log ends:\n%s", i + 1,
			 strsignal(sig), when, tail);
	}
	if (testnet_log_count(t, i, "raft closed") != stops ||
	    testnet_log_count(t, i, "stopped cleanly") != stops) {
		tail = log_tail(t, i);
		fail_msg("node %d: %d 'raft closed' and %d 'stopped cleanly' lines after stop %d "
			 "(%s); log ends:\n%s", i + 1, testnet_log_count(t, i, "raft closed"),
			 testnet_log_count(t, i, "stopped cleanly"), stops, when, tail);
	}
}

/* One node, restarted after each stop: stop it ROUNDS times under load. */
static void stop_single_node_under_appends(int sig)
{
	static struct testnet t;
	struct load *l = &load;
	char when[64];

	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	for (int r = 1; r <= ROUNDS; r++) {
		if (r > 1)
			assert_int_equal(testnet_start_node(&t, 0), 0);
		assert_int_equal(testnet_wait_leader(&t, LEADER_TIMEOUT_MS, -1), 0);
		snprintf(when, sizeof when, "stop %d of %d, %d writers", r, ROUNDS, WRITERS);
		load_start(l, &t, r);
		wait_acks(l, ACKS_PER_ROUND, when);
		stop_cleanly(&t, 0, sig, r, when); /* the writers still append */
		load_stop(l);
	}
	testnet_destroy(&t);
}

static void test_sigterm_with_appends_in_flight_exits_cleanly(void **state)
{
	(void)state;
	stop_single_node_under_appends(SIGTERM);
}

static void test_sigint_with_appends_in_flight_exits_cleanly(void **state)
{
	(void)state;
	stop_single_node_under_appends(SIGINT);
}

struct transfer {
	struct testnet *t;
	int from, to;
	pthread_t thread;
};

static void *transfer_main(void *arg)
{
	struct transfer *x = arg;
	char body[64];
	json_t *resp = NULL;

	/* Its answer does not matter: the node may be stopping meanwhile. */
	snprintf(body, sizeof body, "{\"node_id\":%d}", x->to + 1);
	testnet_post(x->t, x->from, "inferadb.ledger.v1.Admin/RequestLeaderTransfer", body, &resp);
	json_decref(resp);
	return NULL;
}

/* Three nodes: the leader hands leadership to the next node under load,
 * and SIGTERM reaches the old leader (odd rounds) or the new one (even
 * rounds) as soon as the old leader logs the transfer's start. */
static void test_sigterm_during_leadership_transfer_exits_cleanly(void **state)
{
	static struct testnet t;
	struct load *l = &load;
	int stops[3] = { 0, 0, 0 };
	char when[96], started_line[64];

	(void)state;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	for (int r = 1; r <= TRANSFER_ROUNDS; r++) {
		static struct transfer x; /* its thread may outlive a failed case */
		int leader, victim, started;
		int64_t deadline;

		leader = testnet_wait_leader(&t, LEADER_TIMEOUT_MS, -1);
		assert_true(leader >= 0);
		load_start(l, &t, r);
		wait_acks(l, ACKS_PER_ROUND, "before the transfer");
		x.t = &t;
		x.from = leader;
		x.to = (leader + 1) % 3;
		snprintf(started_line, sizeof started_line, "leadership transfer to node %d started",
			 x.to + 1);
		started = testnet_log_count(&t, leader, started_line);
		assert_int_equal(pthread_create(&x.thread, NULL, transfer_main, &x), 0);
		deadline = clock_mono_ns() + 5 * NS_PER_SEC;
		while (testnet_log_count(&t, leader, started_line) == started) {
			if (clock_mono_ns() > deadline)
				fail_msg("node %d did not start the leadership transfer within 5 s",
					 leader + 1);
			clock_sleep_ns(NS_PER_MS);
		}
		victim = r % 2 ? x.from : x.to;
		snprintf(when, sizeof when, "round %d: transfer from node %d to node %d, stopping node %d",
			 r, x.from + 1, x.to + 1, victim + 1);
		stop_cleanly(&t, victim, SIGTERM, ++stops[victim], when);
		pthread_join(x.thread, NULL);
		load_stop(l);
		/* The other two keep a quorum; the stopped node rejoins. */
		assert_int_equal(testnet_start_node(&t, victim), 0);
	}
	assert_true(testnet_wait_leader(&t, LEADER_TIMEOUT_MS, -1) >= 0);
	load_start(l, &t, TRANSFER_ROUNDS + 1);
	wait_acks(l, ACKS_PER_ROUND, "after the last restart");
	load_stop(l);
	testnet_destroy(&t);
}

static int teardown(void **state)
{
	(void)state;
	load_stop(&load); /* writers of a case that failed */
	testnet_destroy_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sigterm_with_appends_in_flight_exits_cleanly, teardown),
		cmocka_unit_test_teardown(test_sigint_with_appends_in_flight_exits_cleanly, teardown),
		cmocka_unit_test_teardown(test_sigterm_during_leadership_transfer_exits_cleanly,
					  teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
