/* Entities survive what the native ledger survives: a follower that missed
 * more than the trailing log catches up through a Raft snapshot (the
 * snapshot carries the entities and their idempotency records), a whole
 * cluster killed with SIGKILL comes back with the same state, and a new
 * cluster seeded from a ledger.v1 CreateSnapshot holds it too.  Replicas
 * are compared with Debug/Digest, which covers the entities. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/base64.h"
#include "common/clock.h"
#include "common/strbuf.h"
#include "tests/support/ledger_testnet.h"

#define WRITE "ledger.v1.WriteService/Write"
#define LIST "ledger.v1.ReadService/ListEntities"

static int teardown(void **state)
{
	(void)state;
	testnet_destroy_all();
	return 0;
}

/* The WriteRequest of key=value in organization 4, vault 2, with the
 * idempotency key made of n (16 bytes). */
static char *write_body(int n, const char *key, const char *value)
{
	unsigned char idem[16];
	char *k, *v, *body;

	memset(idem, 0, sizeof idem);
	idem[0] = 1;
	idem[12] = (unsigned char)(n >> 24);
	idem[13] = (unsigned char)(n >> 16);
	idem[14] = (unsigned char)(n >> 8);
	idem[15] = (unsigned char)n;
	k = b64_encode(idem, sizeof idem);
	v = b64_encode(value, strlen(value));
	body = xasprintf("{\"organization\":{\"slug\":4},\"vault\":{\"slug\":2},\"client_id\":{\"id\":\"st\"},"
			 "\"idempotency_key\":\"%s\",\"operations\":[{\"set_entity\":{\"key\":\"%s\",\"value\":\"%s\"}}]}",
			 k, key, v);
	free(k);
	free(v);
	return body;
}

/* Write n: its WriteResponse (new ref), retrying while the node is not
 * ready (the same idempotency key makes a retry safe). */
static json_t *write_n(struct testnet *t, int node, int n)
{
	char key[32], value[32], *body;
	json_t *resp = NULL;
	int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	long st;

	snprintf(key, sizeof key, "e:%05d", n);
	snprintf(value, sizeof value, "value-%d", n);
	body = write_body(n, key, value);
	while ((st = testnet_post(t, node, WRITE, body, &resp)) != 200 && clock_mono_ns() < deadline) {
		json_decref(resp);
		resp = NULL;
		clock_sleep_ns(50 * NS_PER_MS);
	}
	free(body);
	if (st != 200)
		fail_msg("write %d on node %d: status %ld", n, node + 1, st);
	return resp;
}

static void write_range(struct testnet *t, int node, int from, int to)
{
	for (int n = from; n <= to; n++) {
		json_t *r = write_n(t, node, n);
		if (!json_object_get(r, "success"))
			fail_msg("write %d was not a success", n);
		json_decref(r);
	}
}

/* Entities of organization 4, vault 2 on node (EVENTUAL: its own state). */
static int count_entities(struct testnet *t, int node)
{
	json_t *resp = NULL;
	int n = -1;

	if (testnet_post(t, node, LIST, "{\"organization\":{\"slug\":4},\"vault\":{\"slug\":2},"
			 "\"limit\":1000,\"consistency\":\"READ_CONSISTENCY_EVENTUAL\"}", &resp) == 200)
		n = (int)json_array_size(json_object_get(resp, "entities"));
	json_decref(resp);
	return n;
}

static char *digest(struct testnet *t, int node)
{
	json_t *resp = NULL;
	char *d = NULL;

	if (testnet_post(t, node, "inferadb.ledger.v1.Debug/Digest", "{}", &resp) == 200)
		d = xstrdup(json_string_value(json_object_get(resp, "digest")));
	json_decref(resp);
	return d;
}

/* Poll until node has want entities and the digest of node ref. */
static void wait_same_state(struct testnet *t, int node, int ref, int want, int timeout_ms)
{
	int64_t deadline = clock_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;
	char *a = NULL, *b = NULL;
	int n = -1;

	while (clock_mono_ns() < deadline) {
		free(a);
		free(b);
		a = digest(t, node);
		b = digest(t, ref);
		n = count_entities(t, node);
		if (a && b && strcmp(a, b) == 0 && n == want)
			break;
		clock_sleep_ns(50 * NS_PER_MS);
	}
	if (!a || !b || strcmp(a, b) != 0 || n != want)
		fail_msg("node %d: %d entities (want %d), digest %s (node %d: %s) after %d ms", node + 1, n,
			 want, a ? a : "?", ref + 1, b ? b : "?", timeout_ms);
	free(a);
	free(b);
}

/* A retry of write n answers ALREADY_COMMITTED: the idempotency record
 * survived. */
static void assert_known(struct testnet *t, int node, int n)
{
	json_t *r = write_n(t, node, n), *e = json_object_get(r, "error");
	const char *code = json_string_value(json_object_get(e, "code"));

	if (!code || strcmp(code, "WRITE_ERROR_CODE_ALREADY_COMMITTED") != 0) {
		char *text = json_dumps(r, JSON_COMPACT);
		fail_msg("retry of write %d answered %s", n, text);
	}
	json_decref(r);
}

static struct testnet net;

static void test_follower_catches_up_through_a_raft_snapshot(void **state)
{
	int leader, lagging;

	(void)state;
	net.extra_arg = "--snapshot-threshold";
	net.extra_val = "16";
	assert_int_equal(testnet_start(&net, 3, NULL), 0);
	leader = testnet_wait_leader(&net, 10000, -1);
	assert_true(leader >= 0);
	write_range(&net, leader, 1, 10);
	lagging = (leader + 1) % 3;
	testnet_kill(&net, lagging, SIGKILL);
	/* far more than the 16 trailing entries: the lagging node's next
	 * entry is gone from the leader's log */
	write_range(&net, leader, 11, 80);
	assert_int_equal(testnet_start_node(&net, lagging), 0);
	wait_same_state(&net, lagging, leader, 80, 15000);
	if (testnet_log_count(&net, lagging, "restored state from a raft snapshot") < 1)
		fail_msg("node %d caught up without installing a snapshot (see %s)", lagging + 1, net.dir);
	/* its idempotency records came with the snapshot: after a transfer to
	 * it, a retry is still known */
	{
		json_t *resp = NULL;
		char body[64];

		snprintf(body, sizeof body, "{\"node_id\":%d}", lagging + 1);
		assert_int_equal(testnet_post(&net, leader, "inferadb.ledger.v1.Admin/RequestLeaderTransfer",
					      body, &resp), 200);
		json_decref(resp);
		assert_int_equal(testnet_wait_leader(&net, 10000, -1), lagging);
		assert_known(&net, lagging, 3);
		assert_known(&net, lagging, 42);
	}
}

static void test_cluster_killed_comes_back_with_its_entities(void **state)
{
	char *before;
	int leader;

	(void)state;
	net.extra_arg = "--snapshot-threshold";
	net.extra_val = "16";
	assert_int_equal(testnet_start(&net, 3, NULL), 0);
	leader = testnet_wait_leader(&net, 10000, -1);
	assert_true(leader >= 0);
	write_range(&net, leader, 1, 40);
	wait_same_state(&net, (leader + 1) % 3, leader, 40, 10000);
	before = digest(&net, leader);
	assert_non_null(before);
	for (int i = 0; i < 3; i++)
		testnet_kill(&net, i, SIGKILL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(testnet_start_node(&net, i), 0);
	leader = testnet_wait_leader(&net, 10000, -1);
	assert_true(leader >= 0);
	for (int i = 0; i < 3; i++) {
		char *d;
		wait_same_state(&net, i, leader, 40, 10000);
		d = digest(&net, i);
		if (!d || strcmp(d, before) != 0)
			fail_msg("node %d digest %s after the restart, %s before", i + 1, d ? d : "?", before);
		free(d);
	}
	assert_known(&net, leader, 40);
	free(before);
}

/* Static, as every testnet a failing case may leave to the teardown. */
static struct testnet seeded;

static void test_seed_snapshot_carries_entities(void **state)
{
	json_t *resp = NULL;
	char *path, *src_digest, *d;
	int leader;

	(void)state;
	net.extra_arg = NULL;
	net.extra_val = NULL;
	assert_int_equal(testnet_start(&net, 1, NULL), 0);
	leader = testnet_wait_leader(&net, 10000, -1);
	assert_int_equal(leader, 0);
	write_range(&net, 0, 1, 25);
	assert_int_equal(testnet_post(&net, 0, "ledger.v1.AdminService/CreateSnapshot", "{}", &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(resp, "block_height")), 25);
	path = xstrdup(json_string_value(json_object_get(resp, "snapshot_path")));
	json_decref(resp);
	src_digest = digest(&net, 0);
	assert_non_null(src_digest);

	memset(&seeded, 0, sizeof seeded);
	seeded.extra_arg = "--seed-snapshot";
	seeded.extra_val = path;
	assert_int_equal(testnet_start(&seeded, 1, NULL), 0);
	assert_int_equal(testnet_wait_leader(&seeded, 10000, -1), 0);
	assert_int_equal(count_entities(&seeded, 0), 25);
	d = digest(&seeded, 0);
	if (!d || strcmp(d, src_digest) != 0)
		fail_msg("seeded digest %s, source %s", d ? d : "?", src_digest);
	assert_known(&seeded, 0, 7);
	/* the next block follows the seeded height */
	{
		json_t *r = write_n(&seeded, 0, 26);
		assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "success"),
								    "block_height")), 26);
		json_decref(r);
	}
	testnet_destroy(&seeded);
	free(d);
	free(src_digest);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_follower_catches_up_through_a_raft_snapshot, teardown),
		cmocka_unit_test_teardown(test_cluster_killed_comes_back_with_its_entities, teardown),
		cmocka_unit_test_teardown(test_seed_snapshot_carries_entities, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
