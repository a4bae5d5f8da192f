/* Elections in ledgerd that libraft 0.15 alone gets wrong (issue 19):
 * a vote request to a just-restarted node must arrive, a follower whose
 * leader fell silent must consider the first candidate's vote (Raft thesis
 * 4.2.3), a follower whose leader's process is gone stands without waiting
 * for the election timeout (and a live leader whose stream closed keeps
 * its term), the early first election at boot must not disturb a live
 * leader when nodes restart one at a time, and a fresh cluster's chosen
 * node stands first.  Counts and what cannot happen before an election
 * timeout, never how fast: a timing-dependent assertion would be flaky on
 * a shared machine, and the figures live in bench/. */
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
#include "tests/support/ledger_testnet.h"

static double metric(struct testnet *t, int i, const char *name, int peer)
{
	char series[256];

	if (peer >= 0)
		snprintf(series, sizeof series, "%s{node=\"%d\",region=\"%s\",region_role=\"%s\",peer=\"%d\"}",
			 name, i + 1, t->role[i], t->role[i], peer + 1);
	else
		snprintf(series, sizeof series, "%s{node=\"%d\",region=\"%s\",region_role=\"%s\"}", name,
			 i + 1, t->role[i], t->role[i]);
	return testnet_metric(t, i, series);
}

/* A series that does not exist yet counts as 0 (a peer gets its series at
 * its first vote request). */
static double count(struct testnet *t, int i, const char *name, int peer)
{
	double v = metric(t, i, name, peer);

	return v < 0 ? 0 : v;
}

static void transfer(struct testnet *t, int from, int to)
{
	char body[64];
	json_t *resp = NULL;
	long status;
	int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;

	snprintf(body, sizeof body, "{\"node_id\":%d}", to + 1);
	status = testnet_post(t, from, "inferadb.ledger.v1.Admin/RequestLeaderTransfer", body, &resp);
	json_decref(resp);
	if (status != 200)
		fail_msg("transfer from node %d to node %d answered %ld", from + 1, to + 1, status);
	while (testnet_wait_leader(t, 500, -1) != to)
		if (clock_mono_ns() > deadline)
			fail_msg("leadership did not move to node %d within 10 s", to + 1);
}

static void wait_metric_at_least(struct testnet *t, int i, const char *name, double want,
				 const char *why)
{
	int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	double v;

	while ((v = count(t, i, name, -1)) < want) {
		if (clock_mono_ns() > deadline)
			fail_msg("node %d: %s is %g after 10 s, expected at least %g (%s)", i + 1, name,
				 v, want, why);
		clock_sleep_ns(20 * NS_PER_MS);
	}
}

static void wait_agreed_leader(struct testnet *t, int want, const char *why)
{
	int got = testnet_wait_leader(t, 10000, -1);

	if (got != want)
		fail_msg("expected every node to follow node %d %s, got %d", want + 1, why, got + 1);
}

/* Vote requests from node a to node b: sent as a counts them, received as
 * b counts them. */
struct votes {
	double sent, received;
};

static struct votes votes_between(struct testnet *t, int a, int b)
{
	struct votes v = {
		count(t, a, "ledger_raft_vote_requests_sent_total", b),
		count(t, b, "ledger_raft_vote_requests_received_total", a),
	};
	return v;
}

static double term_of(struct testnet *t, int i)
{
	return metric(t, i, "ledger_raft_term", -1);
}

#define TRIALS 6

/* Each trial: node S leads once (so it has a stream to node X), X
 * restarts (S's stream now leads to X's dead process), then the leader L
 * dies and S and X elect a new leader among themselves.  Odd trials kill
 * L (its streams close: the survivors stand at once,
 * transport_dead_leader.c), even trials freeze it with SIGSTOP (its
 * sockets stay open: only the election timeout and the thesis's rule for
 * a silent leader can elect, and no survivor may take it for dead).
 *
 * No vote request may be lost on the way: every one S or X sent the other
 * must have arrived, in every trial (a request into the stream to X's old
 * process would vanish).  And the first to stand must win at once: one
 * pre-vote and one vote, two requests in all.  Without the thesis's vote
 * rule the first candidate is always refused by the other, whose own
 * timer has not fired, so a trial takes three requests or more; with it, a
 * trial takes more only when both timers fire within the same millisecond
 * or two, so most trials, not all, must take exactly two. */
static void test_first_candidate_wins_through_restarted_follower(void **state)
{
	static struct testnet t;
	int trial, two = 0, forgotten = 0, dead_elections = 0;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	for (trial = 0; trial < TRIALS; trial++) {
		struct votes sx0, xs0, sx, xs;
		double dead0, early0, early;
		int l, s, x, w, frozen = trial % 2 == 1;
		int64_t deadline;

		l = testnet_wait_leader(&t, 10000, -1);
		assert_true(l >= 0);
		s = (l + 1) % 3;
		x = (l + 2) % 3;
		transfer(&t, l, s);
		transfer(&t, s, l);
		dead0 = count(&t, s, "ledger_raft_dead_links_total", -1);
		testnet_kill(&t, x, SIGKILL);
		assert_int_equal(testnet_start_node(&t, x), 0);
		wait_agreed_leader(&t, l, "after a follower restarted");
		wait_metric_at_least(&t, s, "ledger_raft_dead_links_total", dead0 + 1,
				     "the restarted node's old process closed the stream S sends on");

		sx0 = votes_between(&t, s, x);
		xs0 = votes_between(&t, x, s);
		early0 = count(&t, s, "ledger_raft_dead_leader_elections_total", -1) +
			 count(&t, x, "ledger_raft_dead_leader_elections_total", -1);
		if (frozen)
			kill(t.pid[l], SIGSTOP);
		else
			testnet_kill(&t, l, SIGKILL);
		w = testnet_wait_leader(&t, 10000, l);
		if (w != s && w != x)
			fail_msg("trial %d: no new leader within 10 s after node %d died", trial + 1, l + 1);
		/* the counters follow within a poll of /metrics */
		deadline = clock_mono_ns() + 5 * NS_PER_SEC;
		do {
			sx = votes_between(&t, s, x);
			xs = votes_between(&t, x, s);
			if (sx.received - sx0.received == sx.sent - sx0.sent &&
			    xs.received - xs0.received == xs.sent - xs0.sent)
				break;
			clock_sleep_ns(20 * NS_PER_MS);
		} while (clock_mono_ns() < deadline);
		if (sx.received - sx0.received != sx.sent - sx0.sent)
			fail_msg("trial %d: node %d sent %g vote requests to the restarted node %d, "
				 "which received %g: lost in the stream to its old process",
				 trial + 1, s + 1, sx.sent - sx0.sent, x + 1, sx.received - sx0.received);
		if (xs.received - xs0.received != xs.sent - xs0.sent)
			fail_msg("trial %d: node %d sent %g vote requests to node %d, which received %g",
				 trial + 1, x + 1, xs.sent - xs0.sent, s + 1, xs.received - xs0.received);
		if ((sx.sent - sx0.sent) + (xs.sent - xs0.sent) == 2)
			two++;
		early = count(&t, s, "ledger_raft_dead_leader_elections_total", -1) +
			count(&t, x, "ledger_raft_dead_leader_elections_total", -1) - early0;
		if (frozen && early != 0)
			fail_msg("trial %d: node %d was frozen, its sockets open, yet %g early "
				 "election(s) took it for dead", trial + 1, l + 1, early);
		if (!frozen)
			dead_elections += (int)early;
		printf("trial %d: node %d %s, node %d leads; vote requests %g from node %d, %g from "
		       "node %d; early elections %g\n", trial + 1, l + 1, frozen ? "frozen" : "died",
		       w + 1, sx.sent - sx0.sent, s + 1, xs.sent - xs0.sent, x + 1, early);
		if (frozen)
			testnet_kill(&t, l, SIGKILL);
		assert_int_equal(testnet_start_node(&t, l), 0);
		wait_agreed_leader(&t, w, "after the old leader restarted");
	}
	for (int i = 0; i < 3; i++)
		forgotten += (int)count(&t, i, "ledger_raft_silent_leader_votes_total", -1);
	if (two * 2 <= TRIALS)
		fail_msg("only %d of %d elections were won with one pre-vote and one vote: a follower "
			 "refused the first candidate although its leader had been silent for an "
			 "election timeout (%d such votes considered)", two, TRIALS, forgotten);
	if (forgotten < 1)
		fail_msg("no vote was considered for a leader silent for an election timeout, "
			 "though %d leaders were frozen", TRIALS / 2);
	if (dead_elections < 1)
		fail_msg("no survivor stood early for a killed leader in %d trials", TRIALS / 2);
	testnet_destroy(&t);
}

/* A killed leader's followers stand as soon as its streams close.  At a
 * 10 s election timeout no follower may stand before 10 s have passed
 * since the leader's last heartbeat unless it took the closed stream and
 * the refused raft port for what they are; with the rule the survivors
 * draw [20 ms, 5 s), so a new leader within 9 s is certain with it and
 * impossible without it. */
static void test_killed_leader_is_replaced_before_the_election_timeout(void **state)
{
	static struct testnet t;
	double term0;
	int l, w;

	(void)state;
	t.election_ms = 10000;
	t.heartbeat_ms = 100;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	l = testnet_wait_leader(&t, 25000, -1);
	assert_true(l >= 0);
	wait_metric_at_least(&t, l, "ledger_raft_is_leader", 1, "the leader's gauges");
	term0 = term_of(&t, l);
	testnet_kill(&t, l, SIGKILL);
	w = testnet_wait_leader(&t, 9000, l);
	if (w < 0)
		fail_msg("no new leader within 9 s of killing node %d, election timeout 10 s: the "
			 "followers waited for silence instead of seeing its streams close", l + 1);
	wait_metric_at_least(&t, w, "ledger_raft_dead_leader_elections_total", 1,
			     "the new leader stood because its leader's process was gone");
	if (term_of(&t, w) != term0 + 1)
		fail_msg("node %d leads term %g after term %g: not the first early election", w + 1,
			 term_of(&t, w), term0);
	if (testnet_log_count(&t, w, "process is gone and it has sent nothing since") != 1 ||
	    testnet_log_count(&t, w, "raft port refuses connections") < 1)
		fail_msg("node %d's log does not say once why it stood early", w + 1);
	testnet_destroy(&t);
}

/* A live leader that closes a follower's stream (here: Debug/Partition on
 * the leader alone, which shuts its streams to that follower but keeps
 * listening) is not taken for dead: the follower's connection to its raft
 * port is accepted, so it does not stand early, and the term stays. */
static void test_closed_stream_of_a_live_leader_moves_nothing(void **state)
{
	static struct testnet t;
	char body[64];
	json_t *resp = NULL;
	double term0;
	int l, b;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	l = testnet_wait_leader(&t, 10000, -1);
	assert_true(l >= 0);
	wait_metric_at_least(&t, l, "ledger_raft_is_leader", 1, "the leader's gauges");
	term0 = term_of(&t, l);
	b = (l + 1) % 3;
	snprintf(body, sizeof body, "{\"peers\":[%d]}", b + 1);
	assert_int_equal(testnet_post(&t, l, "inferadb.ledger.v1.Debug/Partition", body, &resp), 200);
	json_decref(resp);
	wait_metric_at_least(&t, b, "ledger_raft_closed_leader_listening_total", 1,
			     "the cut-off follower saw its stream close and found the leader listening");
	if (count(&t, b, "ledger_raft_dead_leader_elections_total", -1) != 0)
		fail_msg("node %d stood early although its leader still listened", b + 1);
	for (int i = 0; i < 3; i++)
		if (term_of(&t, i) != term0)
			fail_msg("node %d is at term %g, the leader was at %g: a closed stream of a "
				 "live leader disturbed it", i + 1, term_of(&t, i), term0);
	assert_int_equal(testnet_post(&t, l, "inferadb.ledger.v1.Debug/Partition", "{\"peers\":[]}",
				      &resp), 200);
	json_decref(resp);
	wait_agreed_leader(&t, l, "after the heal");
	if (term_of(&t, l) != term0)
		fail_msg("the leader's term moved from %g to %g", term0, term_of(&t, l));
	testnet_destroy(&t);
}

/* The early first election at boot (one heartbeat plus a random part of
 * the election timeout) must not unseat a live leader when the followers
 * restart one after the other: pre-vote keeps the term. */
static void test_rolling_restart_keeps_leader_and_term(void **state)
{
	static struct testnet t;
	char series[128];
	double term0, term1;
	int l, round, f;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	l = testnet_wait_leader(&t, 10000, -1);
	assert_true(l >= 0);
	snprintf(series, sizeof series, "ledger_raft_term{node=\"%d\",region=\"%s\",region_role=\"%s\"}",
		 l + 1, t.role[l], t.role[l]);
	/* the gauges are published by the node's tick: wait for the election */
	wait_metric_at_least(&t, l, "ledger_raft_is_leader", 1, "the leader's gauges");
	term0 = testnet_metric(&t, l, series);
	assert_true(term0 >= 2);
	for (round = 0; round < 2; round++) {
		for (f = 0; f < 3; f++) {
			if (f == l)
				continue;
			testnet_kill(&t, f, SIGKILL);
			assert_int_equal(testnet_start_node(&t, f), 0);
			if (testnet_wait_leader(&t, 10000, -1) != l)
				fail_msg("round %d: node %d no longer leads after node %d restarted",
					 round + 1, l + 1, f + 1);
		}
	}
	term1 = testnet_metric(&t, l, series);
	if (term1 != term0)
		fail_msg("the term moved from %g to %g while followers restarted one at a time",
			 term0, term1);
	testnet_destroy(&t);
}

/* A cluster that never elected a leader: the lowest-id voter of the
 * primary region stands one heartbeat after start and wins, whatever the
 * others drew.  With a 10 s election timeout the others' first elections
 * are spread over 10 s, so without the rule the first leader is any node,
 * usually seconds later. */
static void test_fresh_cluster_elects_the_chosen_node_first(void **state)
{
	static const char *const roles[] = { "dr", "primary", "primary" };
	static struct testnet t;
	const char *series =
		"ledger_raft_term{node=\"2\",region=\"primary\",region_role=\"primary\"}";
	int l;

	(void)state;
	/* four fresh clusters: a rule that only sometimes holds passes all
	 * four rarely (the first version drew the timeout again after the
	 * advance was computed from it; node 2 then won two times in three,
	 * so all four rounds one time in five) */
	for (int round = 1; round <= 4; round++) {
		t.election_ms = 10000;
		t.heartbeat_ms = 50;
		assert_int_equal(testnet_start(&t, 3, roles), 0);
		l = testnet_wait_leader(&t, 20000, -1);
		if (l != 1)
			fail_msg("round %d: the first leader is node %d, not node 2 (the lowest-id "
				 "primary voter)", round, l + 1);
		for (int i = 0; i < 3; i++)
			if (testnet_log_count(&t, i, "standing for the first election") != (i == 1))
				fail_msg("round %d: node %d's log %s that it stood first", round, i + 1,
					 i == 1 ? "does not say" : "says");
		wait_metric_at_least(&t, 1, "ledger_raft_is_leader", 1, "the leader's gauges");
		/* one election, no split vote or second round first */
		if (testnet_metric(&t, 1, series) != 2)
			fail_msg("round %d: the first leader leads term %g, not 2", round,
				 testnet_metric(&t, 1, series));
		testnet_destroy(&t);
	}
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
		cmocka_unit_test_teardown(test_first_candidate_wins_through_restarted_follower, teardown),
		cmocka_unit_test_teardown(test_killed_leader_is_replaced_before_the_election_timeout,
					  teardown),
		cmocka_unit_test_teardown(test_closed_stream_of_a_live_leader_moves_nothing, teardown),
		cmocka_unit_test_teardown(test_rolling_restart_keeps_leader_and_term, teardown),
		cmocka_unit_test_teardown(test_fresh_cluster_elects_the_chosen_node_first, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
