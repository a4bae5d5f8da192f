/* A restarted follower whose InstallSnapshot is lost resyncs quickly.
 *
 * libraft 0.15's leader, once it has written an InstallSnapshot to a
 * follower, waits for that follower's answer and sends it nothing else but
 * heartbeats until the install-snapshot timeout (30 s by default) expires:
 * the soak saw a restarted follower stall that long.  ledger/daemon/node.c
 * sets the timeout to a few election timeouts.  This test provokes the loss
 * itself (Debug/DropInstallSnapshot on the follower, the message dropped
 * after it arrived, never applied nor answered) and bounds the resync well
 * below 30 s, so it fails when that setting goes (the mutant
 * ledgerd-snapshot-timeout-default of tests/mutants/mutants.list). */
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

#define STATUS "inferadb.ledger.v1.Admin/GetClusterStatus"
#define DIGEST "inferadb.ledger.v1.Debug/Digest"
#define DROP_IS "inferadb.ledger.v1.Debug/DropInstallSnapshot"

/* With the timeout ledgerd sets (2 s with these 300 ms election timeouts)
 * the resync takes about 2.1 s; with libraft's default it takes 30 s.  The
 * bound leaves a loaded 2-core machine four times the expected time and is
 * still far from 30 s. */
#define RESYNC_BOUND_MS 8000

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

static json_int_t get_int(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The member with this id in a GetClusterStatus answer (borrowed). */
static json_t *member(json_t *status, int id)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(status, "members"), i, m)
		if (get_int(m, "id") == id)
			return m;
	return NULL;
}

/* Poll the leader's view until node f's match index is the leader's last
 * index (lag 0), at most bound_ms; the milliseconds it took, or -1 with
 * what was last seen in seen. */
static int64_t wait_caught_up(struct testnet *t, int leader, int f, int64_t bound_ms,
			      char *seen, size_t seen_len)
{
	int64_t start = clock_mono_ns(), deadline = start + bound_ms * NS_PER_MS;

	snprintf(seen, seen_len, "no GetClusterStatus answer from node %d", leader + 1);
	for (;;) {
		json_t *resp = NULL, *m, *self;
		int done = 0;

		if (testnet_post(t, leader, STATUS, "{}", &resp) == 200) {
			m = member(resp, f + 1);
			self = member(resp, leader + 1);
			if (m && self) {
				snprintf(seen, seen_len, "view %s, node %d match_index %lld lag_entries %lld, leader's last index %lld",
					 json_string_value(json_object_get(resp, "view")), f + 1,
					 (long long)get_int(m, "match_index"), (long long)get_int(m, "lag_entries"),
					 (long long)get_int(self, "match_index"));
				done = strcmp(json_string_value(json_object_get(resp, "view")) ?: "", "leader") == 0 &&
				       get_int(m, "lag_entries") == 0 &&
				       get_int(m, "match_index") == get_int(self, "match_index");
			}
		}
		json_decref(resp);
		if (done)
			return (clock_mono_ns() - start) / NS_PER_MS;
		if (clock_mono_ns() > deadline)
			return -1;
		clock_sleep_ns(20 * NS_PER_MS);
	}
}

/* Poll until node i answers on its debug listener (it was just started). */
static void wait_debug_listener(struct testnet *t, int i, int timeout_ms)
{
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;

	for (;;) {
		json_t *resp = NULL;
		long st = testnet_post(t, i, DIGEST, "{}", &resp);

		json_decref(resp);
		if (st == 200)
			return;
		if (clock_mono_ns() > deadline)
			fail_msg("node %d did not answer Debug/Digest within %d ms after its restart (see %s)",
				 i + 1, timeout_ms, t->dir);
		clock_sleep_ns(100 * NS_PER_MS);
	}
}

/* libraft's leader gives up on an unanswered snapshot early when a
 * follower's rejection of its heartbeat names the snapshot's own index,
 * which happens when its last entry is the one its snapshot ends at.  A
 * lost snapshot only stalls when the log goes past it, as under any write
 * load; make that so (writes are sequential, so each one moves the last
 * index and a snapshot can end at most at every 16th). */
static void leader_log_past_snapshot(struct testnet *t, int leader, int *seq)
{
	int tries;

	for (tries = 0; tries < 40; tries++) {
		json_t *d = post_ok(t, leader, DIGEST, "{}");
		json_int_t applied = get_int(d, "applied_index"), snap = get_int(d, "snapshot_index");

		json_decref(d);
		if (snap > 0 && applied > snap)
			return;
		(*seq)++;
		append_n(t, "tail", *seq, *seq);
	}
	fail_msg("node %d's log never went past its newest snapshot in 40 writes", leader + 1);
}

static void test_lost_install_snapshot_is_resent_quickly(void **state)
{
	static struct testnet t;
	char body[64], seen[256];
	json_t *resp = NULL;
	int leader, f, tail = 0;
	int64_t ms;

	(void)state;
	t.extra_arg = "--snapshot-threshold";
	t.extra_val = "16";
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	if (leader < 0)
		fail_msg("no leader within 10 s (see %s)", t.dir);
	f = (leader + 1) % 3;

	/* f misses far more than the 16 trailing entries: its next entry is
	 * gone from the leader's log, only a snapshot brings it back */
	testnet_kill(&t, f, SIGKILL);
	append_n(&t, "resync", 1, 80);

	/* The leader must not send the snapshot before the fault is armed on
	 * the restarted f (libraft contacts a restarted node within 100 ms):
	 * the leader keeps f cut off until then. */
	snprintf(body, sizeof body, "{\"peers\":[%d]}", f + 1);
	json_decref(post_ok(&t, leader, "inferadb.ledger.v1.Debug/Partition", body));
	assert_int_equal(testnet_start_node(&t, f), 0);
	wait_debug_listener(&t, f, 10000);

	/* malformed arming is refused, nothing armed */
	assert_int_equal(testnet_post(&t, f, DROP_IS, "{\"count\":\"one\"}", &resp), 400);
	assert_string_equal(json_string_value(json_object_get(resp, "code")), "INVALID_ARGUMENT");
	json_decref(resp);
	assert_int_equal(testnet_post(&t, f, DROP_IS, "{}", &resp), 400);
	json_decref(resp);
	assert_int_equal(testnet_post(&t, f, DROP_IS, "{\"count\":-1}", &resp), 400);
	json_decref(resp);
	resp = post_ok(&t, f, DROP_IS, "{\"count\":1}");
	assert_int_equal(get_int(resp, "count"), 1);
	json_decref(resp);
	assert_int_equal(testnet_log_count(&t, f, "debug: DropInstallSnapshot armed"), 1);

	leader_log_past_snapshot(&t, leader, &tail);
	json_decref(post_ok(&t, leader, "inferadb.ledger.v1.Debug/Heal", "{}"));
	ms = wait_caught_up(&t, leader, f, RESYNC_BOUND_MS, seen, sizeof seen);
	if (ms < 0)
		fail_msg("node %d did not resync within %d ms after its InstallSnapshot was lost "
			 "(libraft's default install-snapshot timeout is 30 s: does ledger/daemon/node.c "
			 "still set its own?); last seen: %s; drops logged: %d (see %s)",
			 f + 1, RESYNC_BOUND_MS, seen,
			 testnet_log_count(&t, f, "debug: DropInstallSnapshot took effect"), t.dir);
	printf("node %d resynced %lld ms after the heal, its first InstallSnapshot lost\n", f + 1,
	       (long long)ms);

	/* the fault did what the scenario needs: exactly one snapshot lost,
	 * and the catch-up went through a snapshot sent again */
	if (testnet_log_count(&t, f, "debug: DropInstallSnapshot took effect") != 1)
		fail_msg("node %d logged %d dropped InstallSnapshot messages, expected 1 (see %s)", f + 1,
			 testnet_log_count(&t, f, "debug: DropInstallSnapshot took effect"), t.dir);
	if (testnet_log_count(&t, f, "restored state from a raft snapshot") < 1)
		fail_msg("node %d caught up without installing a snapshot (see %s)", f + 1, t.dir);
	testnet_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_lost_install_snapshot_is_resent_quickly, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
