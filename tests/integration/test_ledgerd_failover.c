/* ledgerd clusters as real processes: leader kill -9 under writes, catch-up,
 * full-cluster restart, leadership transfer, partition, witness. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "tests/support/ledger_testnet.h"

#define MAX_ACKS 100000

/* A writer thread with its own client: each sequence is retried until it
 * is acknowledged, as the harness's workload does. */
struct writer {
	struct testnet *t;
	pthread_t thread;
	volatile int stop;
	uint64_t acked_index[MAX_ACKS]; /* by sequence; 0: not acknowledged */
	volatile uint64_t n_acked;
	uint64_t next_seq;
	char client_id[32];
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct ledger_client *c = testnet_client(w->t, 300);
	struct ledger_append_result res;
	uint64_t seq = 1;

	while (!w->stop && seq < MAX_ACKS) {
		char payload[64];
		snprintf(payload, sizeof payload, "payload-%llu", (unsigned long long)seq);
		if (ledger_append(c, w->client_id, seq, payload, &res) == 0) {
			w->acked_index[seq] = res.index;
			w->n_acked++;
			seq++;
		} else if (res.outcome != LEDGER_OUTCOME_OK) {
			clock_sleep_ns(5 * NS_PER_MS);
		}
	}
	w->next_seq = seq;
	ledger_client_free(c);
	return NULL;
}

static void writer_start(struct writer *w, struct testnet *t, const char *id)
{
	memset(w, 0, sizeof *w);
	w->t = t;
	str_copy(w->client_id, sizeof w->client_id, id);
	pthread_create(&w->thread, NULL, writer_main, w);
}

static void writer_stop(struct writer *w)
{
	w->stop = 1;
	pthread_join(w->thread, NULL);
}

static void wait_acks(struct writer *w, uint64_t n, int timeout_ms, const char *why)
{
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;

	while (w->n_acked < n) {
		if (clock_mono_ns() > deadline)
			fail_msg("only %llu of %llu writes acknowledged within %d ms (%s)",
				 (unsigned long long)w->n_acked, (unsigned long long)n, timeout_ms, why);
		clock_sleep_ns(10 * NS_PER_MS);
	}
}

/* Every acknowledged write is present exactly once at its index; nothing
 * appears twice. */
static void check_history(struct testnet *t, struct writer *w)
{
	struct ledger_client *c = testnet_client(t, 2000);
	struct dr_error err = DR_ERROR_INIT;
	json_t *entries = NULL, *e;
	char *seen = xcalloc(MAX_ACKS, 1);
	uint64_t seq, found = 0;
	size_t i;

	if (ledger_read_all(c, &entries, &err) != 0)
		fail_msg("cannot read the ledger: %s", err.msg);
	json_array_foreach(entries, i, e) {
		const char *cid = json_string_value(json_object_get(e, "client_id"));
		seq = (uint64_t)json_integer_value(json_object_get(e, "sequence"));
		assert_int_equal(json_integer_value(json_object_get(e, "index")), (json_int_t)(i + 1));
		if (strcmp(cid, w->client_id) != 0 || seq >= MAX_ACKS)
			continue;
		if (seen[seq])
			fail_msg("sequence %llu appears twice", (unsigned long long)seq);
		seen[seq] = 1;
		if (w->acked_index[seq] && w->acked_index[seq] != (uint64_t)(i + 1))
			fail_msg("sequence %llu acknowledged at index %llu but found at %zu",
				 (unsigned long long)seq, (unsigned long long)w->acked_index[seq], i + 1);
	}
	for (seq = 1; seq < MAX_ACKS; seq++)
		if (w->acked_index[seq]) {
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

/* POST and insist on an HTTP status, showing the answer otherwise.  A 503
 * (a transfer that did not complete in one election timeout, which a
 * loaded machine can cause) is retried a few times, as an operator would. */
static void post_expect(struct testnet *t, int node, const char *method, const char *body,
			long want)
{
	json_t *resp = NULL;
	long got = testnet_post(t, node, method, body, &resp);
	int tries = 0;

	while (got == 503 && want != 503 && ++tries < 5) {
		json_decref(resp);
		clock_sleep_ns(200 * NS_PER_MS);
		got = testnet_post(t, node, method, body, &resp);
	}

	if (got != want) {
		char *text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;
		fail_msg("%s %s on node %d: HTTP %ld (want %ld): %s", method, body, node + 1, got, want,
			 text ? text : "(no body)");
	}
	json_decref(resp);
}

static char *digest_of(struct testnet *t, int i)
{
	json_t *resp = NULL;
	char *d = NULL;

	if (testnet_post(t, i, "inferadb.ledger.v1.Debug/Digest", "{}", &resp) == 200)
		d = xasprintf("%s@%lld", json_string_value(json_object_get(resp, "digest")),
			      (long long)json_integer_value(json_object_get(resp, "last_index")));
	json_decref(resp);
	return d;
}

static void wait_digests_equal(struct testnet *t, int timeout_ms)
{
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;
	char *first = NULL;

	for (;;) {
		int i, same = 1;
		free(first);
		first = digest_of(t, 0);
		for (i = 1; i < t->n && same; i++) {
			char *d = digest_of(t, i);
			same = first && d && strcmp(first, d) == 0;
			free(d);
		}
		if (same)
			break;
		if (clock_mono_ns() > deadline)
			fail_msg("replicas did not converge to one digest within %d ms (node 1: %s)",
				 timeout_ms, first ? first : "none");
		clock_sleep_ns(50 * NS_PER_MS);
	}
	free(first);
}

static void kill_leader_under_writes(int nodes)
{
	static const char *roles[] = { "primary", "primary", "dr", "dr", "witness" };
	static struct writer w;
	static struct testnet t;
	int leader, next;
	uint64_t before;
	int64_t killed_at, elected_ns;

	assert_int_equal(testnet_start(&t, nodes, roles), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_true(leader >= 0);
	writer_start(&w, &t, "w-kill");
	wait_acks(&w, 30, 10000, "before the kill");
	before = w.n_acked;
	killed_at = clock_mono_ns();
	testnet_kill(&t, leader, SIGKILL);
	next = testnet_wait_leader(&t, 10000, leader);
	elected_ns = clock_mono_ns() - killed_at;
	if (next < 0)
		fail_msg("no new leader after kill -9 of node %d", leader + 1);
	wait_acks(&w, before + 30, 10000, "after the kill");
	writer_stop(&w);
	fprintf(stderr, "# new leader node %d elected %lld ms after kill -9; %llu writes acknowledged\n",
		next + 1, (long long)(elected_ns / NS_PER_MS), (unsigned long long)w.n_acked);
	check_history(&t, &w);
	/* The killed node restarts and catches up to the same state. */
	assert_int_equal(testnet_start_node(&t, leader), 0);
	wait_digests_equal(&t, 15000);
	testnet_destroy(&t);
}

static void test_kill_leader_under_writes_3(void **state)
{
	(void)state;
	kill_leader_under_writes(3);
}

static void test_kill_leader_under_writes_5(void **state)
{
	(void)state;
	kill_leader_under_writes(5);
}

/* SIGSTOP of the leader (a hung machine): the others elect a new leader;
 * after SIGCONT the old one steps down and catches up; nothing
 * acknowledged is lost. */
static void test_pause_leader(void **state)
{
	static struct writer w;
	static struct testnet t;
	int leader, next;
	json_t *st;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_true(leader >= 0);
	writer_start(&w, &t, "w-pause");
	wait_acks(&w, 20, 10000, "before the pause");
	kill(t.pid[leader], SIGSTOP);
	next = testnet_wait_leader(&t, 10000, leader);
	if (next < 0) {
		kill(t.pid[leader], SIGCONT);
		fail_msg("no new leader while node %d is paused", leader + 1);
	}
	wait_acks(&w, w.n_acked + 20, 10000, "while the old leader is paused");
	kill(t.pid[leader], SIGCONT);
	assert_true(testnet_wait_leader(&t, 10000, -1) >= 0);
	writer_stop(&w);
	check_history(&t, &w);
	wait_digests_equal(&t, 10000);
	/* status from the new leader: fully replicated again */
	{
		int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;
		for (;;) {
			st = NULL;
			if (testnet_post(&t, next, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}", &st) == 200 &&
			    strcmp(json_string_value(json_object_get(st, "replication")), "Fully replicated") == 0)
				break;
			json_decref(st);
			if (clock_mono_ns() > deadline)
				fail_msg("cluster never reported Fully replicated after the pause");
			clock_sleep_ns(50 * NS_PER_MS);
		}
		json_decref(st);
	}
	testnet_destroy(&t);
}

/* The member of st with ledger id id, or NULL. */
static json_t *status_member(json_t *st, int id)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(st, "members"), i, m)
		if (json_integer_value(json_object_get(m, "id")) == id)
			return m;
	return NULL;
}

/* A stopped follower shows up as unreachable and behind in the leader's
 * status, in entries and in seconds; after its restart "Fully replicated". */
static void test_status_reports_lag(void **state)
{
	static struct testnet t;
	json_t *st = NULL, *m;
	int leader, down;
	size_t i;
	int64_t deadline;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_true(leader >= 0);
	down = (leader + 1) % 3;
	testnet_kill(&t, down, SIGKILL);
	{
		struct ledger_client *c = testnet_client(&t, 1000);
		struct ledger_append_result res;
		uint64_t seq;

		deadline = clock_mono_ns() + 10 * NS_PER_SEC;
		for (seq = 1; seq <= 10; seq++)
			while (ledger_append(c, "lag", seq, "x", &res) != 0) {
				if (clock_mono_ns() > deadline)
					fail_msg("write %llu of 10 not acknowledged within 10 s with node %d "
						 "down", (unsigned long long)seq, down + 1);
				clock_sleep_ns(20 * NS_PER_MS);
			}
		ledger_client_free(c);
	}
	/* Contact ages past the election timeout and the lag grows: poll the
	 * leader's status until the stopped member shows both (10 s bound). */
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	for (;;) {
		const char *replication;

		st = NULL;
		assert_int_equal(testnet_post(&t, leader, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}",
					      &st), 200);
		m = status_member(st, down + 1);
		replication = json_string_value(json_object_get(st, "replication"));
		if (m && replication && strstr(replication, "Replicating (") &&
		    strcmp(json_string_value(json_object_get(m, "state")) ?: "", "unreachable") == 0 &&
		    json_integer_value(json_object_get(m, "lag_entries")) >= 10 &&
		    json_real_value(json_object_get(m, "lag_seconds")) > 0.1)
			break;
		if (clock_mono_ns() > deadline) {
			char *text = json_dumps(st, JSON_COMPACT);

			fail_msg("within 10 s the leader's status never showed node %d unreachable, "
				 "'Replicating (', 10 entries and 0.1 s behind; last: %s", down + 1,
				 text ? text : "?");
		}
		json_decref(st);
		clock_sleep_ns(50 * NS_PER_MS);
	}
	assert_true(json_is_true(json_object_get(st, "quorum")));
	assert_string_equal(json_string_value(json_object_get(m, "region")), "primary");
	assert_string_equal(json_string_value(json_object_get(m, "role")), "voter");
	json_decref(st);
	assert_int_equal(testnet_start_node(&t, down), 0);
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	for (;;) {
		st = NULL;
		int states_ok = 1;
		assert_int_equal(testnet_post(&t, leader, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}", &st), 200);
		/* contact is sampled by the tick, so states may trail the match
		 * index by a tick: wait for both */
		json_array_foreach(json_object_get(st, "members"), i, m)
			if (strcmp(json_string_value(json_object_get(m, "state")),
				   json_integer_value(json_object_get(m, "id")) == leader + 1 ? "leader" : "follower") != 0)
				states_ok = 0;
		if (states_ok &&
		    strcmp(json_string_value(json_object_get(st, "replication")), "Fully replicated") == 0)
			break;
		json_decref(st);
		if (clock_mono_ns() > deadline)
			fail_msg("no \"Fully replicated\" with every member leader/follower after the follower restarted");
		clock_sleep_ns(50 * NS_PER_MS);
	}
	json_decref(st);
	testnet_destroy(&t);
}

static void test_full_cluster_kill_and_restart(void **state)
{
	static struct testnet t;
	struct ledger_client *c;
	struct ledger_append_result res;
	static struct writer w;
	int i, leader;
	uint64_t seq;

	(void)state;
	memset(&w, 0, sizeof w);
	str_copy(w.client_id, sizeof w.client_id, "w-restart");
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) >= 0);
	c = testnet_client(&t, 1000);
	for (seq = 1; seq <= 60; seq++) {
		int tries = 0;
		while (ledger_append(c, w.client_id, seq, "x", &res) != 0 && ++tries < 50)
			clock_sleep_ns(20 * NS_PER_MS);
		assert_int_equal(res.outcome, LEDGER_OUTCOME_OK);
		w.acked_index[seq] = res.index;
		w.n_acked++;
	}
	ledger_client_free(c);
	for (i = 0; i < 3; i++)
		testnet_kill(&t, i, SIGKILL);
	for (i = 0; i < 3; i++)
		assert_int_equal(testnet_start_node(&t, i), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_true(leader >= 0);
	check_history(&t, &w);
	wait_digests_equal(&t, 10000);
	testnet_destroy(&t);
}

static int wait_for_leader_id(struct testnet *t, int want, int timeout_ms)
{
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;

	while (clock_mono_ns() < deadline) {
		if (testnet_wait_leader(t, 500, -1) == want)
			return 1;
	}
	return 0;
}

static void test_transfer_to_node_and_region(void **state)
{
	static const char *roles[] = { "primary", "dr", "dr" };
	static struct testnet t;
		int leader, target;
	char body[64];

	(void)state;
	assert_int_equal(testnet_start(&t, 3, roles), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_true(leader >= 0);
	target = (leader + 1) % 3;
	snprintf(body, sizeof body, "{\"node_id\":%d}", target + 1);
	/* Sent to a follower on purpose: it forwards to the leader. */
	post_expect(&t, (leader + 2) % 3, "inferadb.ledger.v1.Admin/RequestLeaderTransfer", body, 200);
	if (!wait_for_leader_id(&t, target, 5000))
		fail_msg("leadership did not move to node %d", target + 1);
	post_expect(&t, target, "inferadb.ledger.v1.Admin/RequestLeaderTransfer", "{\"region\":\"primary\"}", 200);
	if (!wait_for_leader_id(&t, 0, 5000))
		fail_msg("leadership did not move to region primary (node 1)");
	/* ForceLeaderElection with a quorum alive is a transfer into the region. */
	post_expect(&t, 0, "inferadb.ledger.v1.Admin/ForceLeaderElection", "{\"region\":\"dr\"}", 200);
	leader = testnet_wait_leader(&t, 5000, 0);
	assert_true(leader == 1 || leader == 2);
	/* Unknown region */
	post_expect(&t, leader, "inferadb.ledger.v1.Admin/RequestLeaderTransfer", "{\"region\":\"mars\"}", 404);
	testnet_destroy(&t);
}

static void partition_from(struct testnet *t, int isolated)
{
	char body[128];
	json_t *resp = NULL;
	int i;

	for (i = 0; i < t->n; i++) {
		struct strbuf sb = STRBUF_INIT;
		int j;
		if (i == isolated) {
			strbuf_adds(&sb, "{\"peers\":[");
			for (j = 0; j < t->n; j++)
				if (j != isolated)
					strbuf_addf(&sb, "%s%d", sb.len > 10 ? "," : "", j + 1);
			strbuf_adds(&sb, "]}");
		} else {
			strbuf_addf(&sb, "{\"peers\":[%d]}", isolated + 1);
		}
		str_copy(body, sizeof body, sb.buf);
		strbuf_release(&sb);
		assert_int_equal(testnet_post(t, i, "inferadb.ledger.v1.Debug/Partition", body, &resp), 200);
		json_decref(resp);
	}
}

static void test_partition_leader_away(void **state)
{
	static struct writer w;
	static struct testnet t;
	json_t *resp = NULL;
	int leader, next, i;
	uint64_t before;

	(void)state;
	assert_int_equal(testnet_start(&t, 5, NULL), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_true(leader >= 0);
	writer_start(&w, &t, "w-part");
	wait_acks(&w, 20, 10000, "before the partition");
	partition_from(&t, leader);
	assert_int_equal(testnet_log_count(&t, leader, "partition took effect"), 1);
	next = testnet_wait_leader(&t, 10000, leader);
	if (next < 0)
		fail_msg("no leader elected on the majority side");
	before = w.n_acked;
	wait_acks(&w, before + 20, 10000, "on the majority side");
	for (i = 0; i < t.n; i++) {
		assert_int_equal(testnet_post(&t, i, "inferadb.ledger.v1.Debug/Heal", "{}", &resp), 200);
		json_decref(resp);
	}
	writer_stop(&w);
	assert_true(testnet_wait_leader(&t, 10000, -1) >= 0);
	check_history(&t, &w);
	wait_digests_equal(&t, 10000);
	testnet_destroy(&t);
}

static void test_witness_never_keeps_leadership(void **state)
{
	static const char *roles[] = { "primary", "dr", "witness" };
	static struct testnet t;
		int leader;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, roles), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) >= 0);
	post_expect(&t, 0, "inferadb.ledger.v1.Admin/RequestLeaderTransfer", "{\"node_id\":3}", 200);
	/* The witness takes it and hands it on at once. */
	leader = testnet_wait_leader(&t, 5000, 2);
	assert_true(leader == 0 || leader == 1);
	{
		int64_t deadline = clock_mono_ns() + 3 * NS_PER_SEC;
		while (testnet_log_count(&t, 2, "witness won the election") < 1 && clock_mono_ns() < deadline)
			clock_sleep_ns(20 * NS_PER_MS);
	}
	assert_true(testnet_log_count(&t, 2, "witness won the election") >= 1);
	testnet_destroy(&t);
}

static void wait_leader_is(struct testnet *t, int want, int exclude, const char *why)
{
	int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;

	while (testnet_wait_leader(t, 500, exclude) != want)
		if (clock_mono_ns() > deadline)
			fail_msg("node %d does not lead within 10 s %s", want + 1, why);
}

/* A witness that wins hands leadership on, but only to a voter that
 * answered it: right after an election libraft's match indexes are all 0,
 * and the first primary/DR voter in the configuration here is node 1,
 * which is dead.  Handing over to it would wait an election timeout and
 * try again ("still leader, will retry"). */
static void test_witness_hands_over_to_a_live_voter(void **state)
{
	static const char *roles[] = { "primary", "dr", "dr", "witness" };
	static struct testnet t;
	int leader;

	(void)state;
	assert_int_equal(testnet_start(&t, 4, roles), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_true(leader >= 0);
	if (leader != 1) {
		char body[32];

		snprintf(body, sizeof body, "{\"node_id\":2}");
		post_expect(&t, leader, "inferadb.ledger.v1.Admin/RequestLeaderTransfer", body, 200);
		wait_leader_is(&t, 1, -1, "after a transfer to it");
	}
	testnet_kill(&t, 0, SIGKILL);
	wait_leader_is(&t, 1, 0, "after node 1 died");
	post_expect(&t, 1, "inferadb.ledger.v1.Admin/RequestLeaderTransfer", "{\"node_id\":4}", 200);
	{
		int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;

		while (testnet_log_count(&t, 3, "witness leadership transfer finished") < 1)
			if (clock_mono_ns() > deadline)
				fail_msg("the witness never finished a leadership transfer");
			else
				clock_sleep_ns(20 * NS_PER_MS);
	}
	if (testnet_log_count(&t, 3, "transferring leadership to node 1") != 0)
		fail_msg("the witness tried to hand leadership to node 1, which is dead");
	if (testnet_log_count(&t, 3, "still leader, will retry") != 0)
		fail_msg("the witness's first transfer failed");
	leader = testnet_wait_leader(&t, 5000, 3);
	if (leader != 1 && leader != 2)
		fail_msg("node %d leads after the witness handed over, not a DR node", leader + 1);
	testnet_destroy(&t);
}

static int teardown(void **state)
{
	(void)state;
	testnet_destroy_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_kill_leader_under_writes_3, teardown),
		cmocka_unit_test_teardown(test_kill_leader_under_writes_5, teardown),
		cmocka_unit_test_teardown(test_pause_leader, teardown),
		cmocka_unit_test_teardown(test_status_reports_lag, teardown),
		cmocka_unit_test_teardown(test_full_cluster_kill_and_restart, teardown),
		cmocka_unit_test_teardown(test_transfer_to_node_and_region, teardown),
		cmocka_unit_test_teardown(test_partition_leader_away, teardown),
		cmocka_unit_test_teardown(test_witness_never_keeps_leadership, teardown),
		cmocka_unit_test_teardown(test_witness_hands_over_to_a_live_voter, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
