/* ledgerd's HTTP contract on a single real node: bad input answers, the
 * RefuseWrites window, snapshots (checksum, corruption, seeding a new
 * cluster), /metrics through promtool, SIGTERM. */
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

#include <curl/curl.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/sha256.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "ledger/client/wire.h"
#include "tests/support/ledger_testnet.h"

#define LEDGER_BIG (LEDGER_MAX_BODY + 4096)

static size_t collect(char *p, size_t size, size_t nmemb, void *payload)
{
	strbuf_add(payload, p, size * nmemb);
	return size * nmemb;
}

/* Raw HTTP request; returns the status, body in *out (heap). */
static long raw(const char *method, const char *url, const char *body, size_t len, char **out)
{
	CURL *h = curl_easy_init();
	struct strbuf sb = STRBUF_INIT;
	long status = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sb);
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	*out = strbuf_detach(&sb);
	return status;
}

static void expect_4xx(struct testnet *t, const char *method, const char *path, const char *body,
		       size_t len, long want, const char *code)
{
	char *url = xasprintf("http://%s%s", t->addr[0], path), *out = NULL;
	long status = raw(method, url, body, len, &out);
	json_t *j = json_loads(out, 0, NULL);

	if (status != want)
		fail_msg("%s %s: HTTP %ld, want %ld: %s", method, path, status, want, out);
	if (!j || !json_is_string(json_object_get(j, "message")) ||
	    strcmp(json_string_value(json_object_get(j, "code")), code) != 0)
		fail_msg("%s %s: answer is not a {code:%s, message} JSON error: %s", method, path, code, out);
	json_decref(j);
	free(out);
	free(url);
}

static int teardown(void **state)
{
	(void)state;
	testnet_destroy_all();
	return 0;
}

static void append_ok(struct ledger_client *c, const char *cid, uint64_t seq, const char *payload)
{
	struct ledger_append_result res;
	int tries = 0;

	while (ledger_append(c, cid, seq, payload, &res) != 0) {
		if (++tries > 100)
			fail_msg("append %s/%llu kept failing: %s %s", cid, (unsigned long long)seq, res.code,
				 res.message);
		clock_sleep_ns(20 * NS_PER_MS);
	}
}

static void test_bad_input_gets_4xx_json(void **state)
{
	static struct testnet t;
	const char *A = "/inferadb.ledger.v1.Ledger/Append";
	char *big = xmalloc(LEDGER_BIG);
	json_t *resp = NULL;

	(void)state;
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) == 0);
	expect_4xx(&t, "POST", A, "{bad", 4, 400, "INVALID_ARGUMENT");
	expect_4xx(&t, "POST", A, "[1,2]", 5, 400, "INVALID_ARGUMENT");
	expect_4xx(&t, "POST", A, "{\"client_id\":1,\"sequence\":1,\"payload\":\"x\"}", 42, 400, "INVALID_ARGUMENT");
	expect_4xx(&t, "POST", A, "{\"client_id\":\"c\",\"payload\":\"x\"}", 31, 400, "INVALID_ARGUMENT");
	expect_4xx(&t, "POST", A, "{\"client_id\":\"c\",\"client_id\":\"d\",\"sequence\":1,\"payload\":\"x\"}", 59, 400, "INVALID_ARGUMENT");
	expect_4xx(&t, "POST", A, "{\"client_id\":\"c\",\"sequence\":1,\"payload\":\"a\\u0000b\"}", 48, 400, "INVALID_ARGUMENT");
	memset(big, 'a', LEDGER_BIG);
	expect_4xx(&t, "POST", A, big, LEDGER_BIG, 413, "INVALID_ARGUMENT");
	expect_4xx(&t, "GET", A, NULL, 0, 405, "INVALID_ARGUMENT");
	expect_4xx(&t, "POST", "/inferadb.ledger.v1.Ledger/Nope", "{}", 2, 404, "NOT_FOUND");
	expect_4xx(&t, "POST", "/", "{}", 2, 404, "NOT_FOUND");
	expect_4xx(&t, "POST", "/inferadb.ledger.v1.Ledger/Read", "{\"limit\":0}", 11, 400, "INVALID_ARGUMENT");
	expect_4xx(&t, "POST", "/inferadb.ledger.v1.Admin/RequestLeaderTransfer", "{}", 2, 400, "INVALID_ARGUMENT");
	expect_4xx(&t, "POST", "/inferadb.ledger.v1.Debug/DropEntry", "{\"client_id\":\"zz\",\"sequence\":1}", 31, 404, "NOT_FOUND");
	expect_4xx(&t, "PUT", "/metrics", "", 0, 405, "INVALID_ARGUMENT");
	/* nothing was appended by any of it */
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Ledger/Read", "{}", &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(resp, "last_index")), 0);
	json_decref(resp);
	free(big);
	testnet_destroy(&t);
}

static void test_refuse_writes_window_logged(void **state)
{
	static struct testnet t;
	struct ledger_client *c;
	struct ledger_append_result res;
	json_t *resp = NULL;
	int64_t deadline;

	(void)state;
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) == 0);
	c = testnet_client(&t, 2000);
	append_ok(c, "c", 1, "before");
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Debug/RefuseWrites", "{\"duration_ms\":400}", &resp), 200);
	json_decref(resp);
	assert_int_equal(testnet_log_count(&t, 0, "RefuseWrites took effect"), 1);
	assert_int_equal(ledger_append(c, "c", 2, "during", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_string_equal(res.code, "UNAVAILABLE");
	assert_int_equal(res.http_status, 503);
	deadline = clock_mono_ns() + 5 * NS_PER_SEC;
	while (testnet_log_count(&t, 0, "RefuseWrites window ended") < 1 && clock_mono_ns() < deadline)
		clock_sleep_ns(20 * NS_PER_MS);
	assert_int_equal(testnet_log_count(&t, 0, "RefuseWrites window ended"), 1);
	assert_int_equal(ledger_append(c, "c", 2, "after", &res), 0);
	assert_int_equal(res.index, 2);
	/* idempotent: the same sequence answers the original index */
	assert_int_equal(ledger_append(c, "c", 1, "again", &res), 0);
	assert_int_equal(res.index, 1);
	ledger_client_free(c);
	testnet_destroy(&t);
}

/* DropEntry hides an entry from reads (a checker must see the loss);
 * Health reports SERVING with a leader. */
static void test_drop_entry_and_health(void **state)
{
	static struct testnet t;
	struct ledger_client *c;
	struct dr_error err = DR_ERROR_INIT;
	json_t *resp = NULL, *entries = NULL;

	(void)state;
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) == 0);
	assert_int_equal(testnet_post(&t, 0, "grpc.health.v1.Health/Check", "{}", &resp), 200);
	assert_string_equal(json_string_value(json_object_get(resp, "status")), "SERVING");
	json_decref(resp);
	c = testnet_client(&t, 2000);
	append_ok(c, "d", 1, "one");
	append_ok(c, "d", 2, "two");
	append_ok(c, "d", 3, "three");
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Debug/DropEntry",
				      "{\"client_id\":\"d\",\"sequence\":2}", &resp), 200);
	assert_int_equal(json_integer_value(json_object_get(resp, "index")), 2);
	json_decref(resp);
	assert_int_equal(testnet_log_count(&t, 0, "DropEntry took effect"), 1);
	assert_int_equal(ledger_read_all(c, &entries, &err), 0);
	assert_int_equal(json_array_size(entries), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(entries, 0), "index")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(entries, 1), "index")), 3);
	json_decref(entries);
	ledger_client_free(c);
	testnet_destroy(&t);
}

static void test_snapshot_seeds_a_new_cluster(void **state)
{
	static struct testnet t, t2;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c;
	struct proc_result pr;
	json_t *resp = NULL;
	char *path, *file = NULL, *bad, hex[SHA256_HEX_LEN], *digest1, body[512];
	size_t flen = 0;
	int i, status;

	(void)state;
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) == 0);
	c = testnet_client(&t, 2000);
	for (i = 1; i <= 25; i++)
		append_ok(c, "snap", (uint64_t)i, "entry");
	ledger_client_free(c);
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Admin/CreateSnapshot", "{}", &resp), 200);
	path = xstrdup(json_string_value(json_object_get(resp, "path")));
	assert_int_equal(json_integer_value(json_object_get(resp, "index")), 25);
	assert_int_equal(fs_read_file(&file, &flen, path, 64 << 20, &err), 0);
	assert_int_equal((json_int_t)flen, json_integer_value(json_object_get(resp, "size")));
	sha256_hex(hex, file, flen);
	assert_string_equal(hex, json_string_value(json_object_get(resp, "sha256")));
	json_decref(resp);
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Debug/Digest", "{}", &resp), 200);
	digest1 = xstrdup(json_string_value(json_object_get(resp, "digest")));
	json_decref(resp);

	/* A valid file without a supervisor: FAILED_PRECONDITION; corrupt: 400. */
	snprintf(body, sizeof body, "{\"path\":\"%s\"}", path);
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Admin/RestoreFromSnapshot", body, &resp), 412);
	assert_string_equal(json_string_value(json_object_get(resp, "code")), "FAILED_PRECONDITION");
	json_decref(resp);
	bad = xasprintf("%s/corrupt.ledgersnap", t.dir);
	file[flen - 5] ^= 0x20;
	assert_int_equal(fs_write_atomic(bad, file, flen, &err), 0);
	snprintf(body, sizeof body, "{\"path\":\"%s\"}", bad);
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Admin/RestoreFromSnapshot", body, &resp), 400);
	assert_non_null(strstr(json_string_value(json_object_get(resp, "message")), "sha256 mismatch"));
	json_decref(resp);

	/* SIGTERM: clean exit 0. */
	kill(t.pid[0], SIGTERM);
	assert_int_equal(proc_wait(t.pid[0], &status, 0), t.pid[0]);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	t.pid[0] = 0;

	/* A corrupt seed is refused with a non-zero exit and a clear message. */
	{
		char data[256], peers[256];
		char *argv[] = { (char *)t.bin, "--id", "1", "--data", data, "--listen", t.addr[0],
				 "--raft", t.raft[0], "--region", "primary", "--role", "primary",
				 "--zone", "z", "--peers", peers, "--seed-snapshot", bad, NULL };
		snprintf(data, sizeof data, "%s/seed-bad", t.dir);
		snprintf(peers, sizeof peers, "%s/peers.json", t.dir);
		assert_int_equal(proc_run(&pr, argv, NULL, 10 * NS_PER_SEC, 1 << 16, &err), 0);
		assert_true(pr.exited && pr.exit_code != 0);
		if (!strstr(pr.errout, "sha256 mismatch"))
			fail_msg("corrupt seed message: %s", pr.errout);
		proc_result_release(&pr);
	}

	/* A new 3-node cluster seeded from the file has the same state. */
	{
		static const char *roles[] = { "primary", "dr", "dr" };
		t2.extra_arg = "--seed-snapshot";
		t2.extra_val = path;
		assert_int_equal(testnet_start(&t2, 3, roles), 0);
	}
	assert_true(testnet_wait_leader(&t2, 10000, -1) >= 0);
	for (i = 0; i < 3; i++) {
		int64_t deadline = clock_mono_ns() + 5 * NS_PER_SEC;
		for (;;) {
			assert_int_equal(testnet_post(&t2, i, "inferadb.ledger.v1.Debug/Digest", "{}", &resp), 200);
			if (strcmp(json_string_value(json_object_get(resp, "digest")), digest1) == 0)
				break;
			json_decref(resp);
			if (clock_mono_ns() > deadline)
				fail_msg("seeded node %d has a different digest", i + 1);
			clock_sleep_ns(50 * NS_PER_MS);
		}
		assert_int_equal(json_integer_value(json_object_get(resp, "last_index")), 25);
		json_decref(resp);
	}
	/* entries keep their ledger index; new ones continue after them */
	c = testnet_client(&t2, 2000);
	{
		struct ledger_append_result res;
		int tries = 0;
		while (ledger_append(c, "after-restore", 1, "x", &res) != 0 && ++tries < 100)
			clock_sleep_ns(20 * NS_PER_MS);
		assert_int_equal(res.index, 26);
		assert_int_equal(ledger_append(c, "snap", 3, "dup", &res), 0);
		assert_int_equal(res.index, 3);
	}
	ledger_client_free(c);
	free(bad);
	free(digest1);
	free(file);
	free(path);
	testnet_destroy(&t2);
	testnet_destroy(&t);
}

static void test_metrics_pass_promtool(void **state)
{
	static struct testnet t;
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result pr;
	struct ledger_client *c;
	char *url, *out = NULL;
	char *argv[] = { "promtool", "check", "metrics", NULL };

	(void)state;
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) == 0);
	c = testnet_client(&t, 2000);
	append_ok(c, "m", 1, "x");
	ledger_client_free(c);
	url = xasprintf("http://%s/metrics", t.addr[0]);
	assert_int_equal(raw("GET", url, NULL, 0, &out), 200);
	assert_non_null(strstr(out, "ledger_raft_leader{"));
	assert_non_null(strstr(out, "ledger_raft_is_leader{node=\"1\""));
	assert_non_null(strstr(out, "ledger_raft_peers_connected{"));
	assert_non_null(strstr(out, "ledger_requests_total{method=\"Append\",code=\"OK\"}"));
	assert_non_null(strstr(out, "ledger_request_duration_seconds_bucket{method=\"Append\""));
	if (access("/usr/bin/promtool", X_OK) != 0 && access("/usr/local/bin/promtool", X_OK) != 0) {
		/* The text checks above held; the promtool check cannot run: a
		 * skip, which tests/run-tests.sh shows (and fails under CI=true). */
		fprintf(stderr, "# promtool not installed (apt-get install prometheus): the promtool check is skipped\n");
		free(out);
		free(url);
		testnet_destroy(&t);
		skip();
	}
	assert_int_equal(proc_run(&pr, argv, out, 20 * NS_PER_SEC, 1 << 16, &err), 0);
	if (!pr.exited || pr.exit_code != 0)
		fail_msg("promtool check metrics failed: %s%s", pr.out, pr.errout);
	proc_result_release(&pr);
	free(out);
	free(url);
	testnet_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_bad_input_gets_4xx_json, teardown),
		cmocka_unit_test_teardown(test_refuse_writes_window_logged, teardown),
		cmocka_unit_test_teardown(test_drop_entry_and_health, teardown),
		cmocka_unit_test_teardown(test_snapshot_seeds_a_new_cluster, teardown),
		cmocka_unit_test_teardown(test_metrics_pass_promtool, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
