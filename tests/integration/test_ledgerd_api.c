/* ledgerd's API contract on real nodes: bad gRPC input gets its status
 * (INVALID_ARGUMENT, UNIMPLEMENTED, RESOURCE_EXHAUSTED, UNAUTHENTICATED) and
 * the node stays up, a follower names the leader in ErrorDetails, the HTTP
 * listener's own contract (/healthz, debug faults, 404/405/413), the
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
#include <grpc/status.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/sha256.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "ledger/client/wire.h"
#include "inferadb/ledger/v1/ledger.pb-c.h"
#include "ledger/v1/ledger.pb-c.h"
#include "tests/support/grpc_raw.h"
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

/* ---- the gRPC API: bad input gets its status, the node stays up -------- */

#define APPEND_PATH "/inferadb.ledger.v1.Ledger/Append"
#define STATUS_PATH "/inferadb.ledger.v1.Admin/GetClusterStatus"

/* One raw call on address; fails the test unless the status is want and
 * the trailing ledger-code is want_code ("" when gRPC itself answers, as
 * for oversized messages, and no ledger-code is expected). */
static void expect_status(const char *address, const char *path, const void *bytes, size_t len,
			  const char *authorization, int want, const char *want_code)
{
	struct grpc_raw_opts o = GRPC_RAW_OPTS_INIT;
	struct grpc_raw_result r;

	o.authorization = authorization;
	if (grpc_raw_call(&r, address, path, bytes, len, &o) != 0)
		fail_msg("%s: the call could not be started", path);
	if (r.status != want || strcmp(r.ledger_code, want_code) != 0)
		fail_msg("%s (%zu bytes): %s ledger-code '%s' (%s), want %s ledger-code '%s'", path, len,
			 grpc_raw_status_name(r.status), r.ledger_code, r.message,
			 grpc_raw_status_name(want), want_code);
	if (want != 0 && !r.message[0])
		fail_msg("%s: %s without a message", path, grpc_raw_status_name(r.status));
	grpc_raw_result_release(&r);
}

/* An AppendRequest's bytes (generated code), heap. */
static unsigned char *append_bytes(size_t *len, const char *client_id, uint64_t seq,
				   const char *payload)
{
	Inferadb__Ledger__V1__AppendRequest a = INFERADB__LEDGER__V1__APPEND_REQUEST__INIT;
	unsigned char *b;

	a.client_id = (char *)client_id;
	a.sequence = seq;
	a.payload = (char *)payload;
	*len = inferadb__ledger__v1__append_request__get_packed_size(&a);
	b = xmalloc(*len + 1);
	inferadb__ledger__v1__append_request__pack(&a, b);
	return b;
}

static json_int_t last_index(struct testnet *t, int i)
{
	json_t *resp = NULL;
	json_int_t v;

	assert_int_equal(testnet_post(t, i, "inferadb.ledger.v1.Ledger/Read", "{}", &resp), 200);
	v = json_integer_value(json_object_get(resp, "last_index"));
	json_decref(resp);
	return v;
}

static void test_bad_messages_get_grpc_errors(void **state)
{
	static struct testnet t;
	/* client_id as a varint (wrong wire type), then sequence 1, payload "x" */
	static const unsigned char wrong_type[] = { 0x08, 0x01, 0x10, 0x01, 0x1a, 0x01, 'x' };
	/* payload "a\0b": a NUL inside a string */
	static const unsigned char nul[] = { 0x0a, 0x01, 'c', 0x10, 0x01, 0x1a, 0x03, 'a', 0x00, 'b' };
	/* client_id "\xff": not UTF-8, which proto3 strings must be */
	static const unsigned char not_utf8[] = { 0x0a, 0x01, 0xff, 0x10, 0x01, 0x1a, 0x01, 'x' };
	struct ledger_client *c;
	struct ledger_append_result res;
	unsigned char *b;
	char *payload;
	size_t len;
	json_t *resp = NULL, *entry;

	(void)state;
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) == 0);
	/* malformed message bytes */
	expect_status(t.addr[0], APPEND_PATH, "{bad", 4, NULL, GRPC_STATUS_INVALID_ARGUMENT,
		      "INVALID_ARGUMENT");
	expect_status(t.addr[0], APPEND_PATH, wrong_type, sizeof(wrong_type), NULL,
		      GRPC_STATUS_INVALID_ARGUMENT, "INVALID_ARGUMENT");
	b = append_bytes(&len, "c", 1, "truncated");
	expect_status(t.addr[0], APPEND_PATH, b, len - 3, NULL, GRPC_STATUS_INVALID_ARGUMENT,
		      "INVALID_ARGUMENT");
	free(b);
	expect_status(t.addr[0], APPEND_PATH, nul, sizeof(nul), NULL, GRPC_STATUS_INVALID_ARGUMENT,
		      "INVALID_ARGUMENT");
	expect_status(t.addr[0], APPEND_PATH, not_utf8, sizeof(not_utf8), NULL,
		      GRPC_STATUS_INVALID_ARGUMENT, "INVALID_ARGUMENT");
	/* well-formed but invalid: no client_id, too long a payload */
	b = append_bytes(&len, "", 1, "x");
	expect_status(t.addr[0], APPEND_PATH, b, len, NULL, GRPC_STATUS_INVALID_ARGUMENT,
		      "INVALID_ARGUMENT");
	free(b);
	payload = xmalloc(LEDGER_MAX_PAYLOAD + 2);
	memset(payload, 'a', LEDGER_MAX_PAYLOAD + 1);
	payload[LEDGER_MAX_PAYLOAD + 1] = '\0';
	b = append_bytes(&len, "c", 1, payload);
	expect_status(t.addr[0], APPEND_PATH, b, len, NULL, GRPC_STATUS_INVALID_ARGUMENT,
		      "INVALID_ARGUMENT");
	free(b);
	free(payload);
	/* over 1 MiB: gRPC's own limit answers, before the node decodes it */
	payload = xmalloc(LEDGER_BIG + 1);
	memset(payload, 'a', LEDGER_BIG);
	payload[LEDGER_BIG] = '\0';
	b = append_bytes(&len, "c", 1, payload);
	assert_true(len > LEDGER_MAX_BODY);
	expect_status(t.addr[0], APPEND_PATH, b, len, NULL, GRPC_STATUS_RESOURCE_EXHAUSTED, "");
	free(b);
	free(payload);
	/* unknown methods and services; the debug faults are not on gRPC */
	expect_status(t.addr[0], "/inferadb.ledger.v1.Ledger/Nope", "", 0, NULL,
		      GRPC_STATUS_UNIMPLEMENTED, "UNIMPLEMENTED");
	expect_status(t.addr[0], "/nope.v1.Nothing/Call", "", 0, NULL, GRPC_STATUS_UNIMPLEMENTED,
		      "UNIMPLEMENTED");
	expect_status(t.addr[0], "/inferadb.ledger.v1.Debug/DropEntry", "", 0, NULL,
		      GRPC_STATUS_UNIMPLEMENTED, "UNIMPLEMENTED");
	/* fields out of range, through the client */
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Ledger/Read", "{\"limit\":10001}", &resp),
			 400);
	assert_string_equal(json_string_value(json_object_get(resp, "code")), "INVALID_ARGUMENT");
	json_decref(resp);
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Admin/RequestLeaderTransfer", "{}",
				      &resp), 400);
	assert_string_equal(json_string_value(json_object_get(resp, "code")), "INVALID_ARGUMENT");
	assert_non_null(strstr(json_string_value(json_object_get(resp, "message")), "node_id"));
	json_decref(resp);

	/* nothing was appended by any of it; the node is up and answers */
	assert_int_equal(kill(t.pid[0], 0), 0);
	assert_int_equal(last_index(&t, 0), 0);
	expect_status(t.addr[0], STATUS_PATH, "", 0, NULL, GRPC_STATUS_OK, "OK");
	c = testnet_client(&t, 2000);
	append_ok(c, "after", 1, "fine");
	assert_int_equal(ledger_append(c, "after", 2, "second", &res), 0);
	assert_int_equal(res.index, 2);
	ledger_client_free(c);
	assert_int_equal(last_index(&t, 0), 2);
	/* Sequence 0 and an empty payload are proto3's zero values: nothing on
	 * the wire, and still a valid write (docs/ledger-api.md). */
	b = append_bytes(&len, "zero", 0, "");
	assert_true(len == 6); /* only client_id travels */
	expect_status(t.addr[0], APPEND_PATH, b, len, NULL, GRPC_STATUS_OK, "OK");
	free(b);
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Ledger/Read", "{\"from_index\":3}",
				      &resp), 200);
	entry = json_array_get(json_object_get(resp, "entries"), 0);
	assert_string_equal(json_string_value(json_object_get(entry, "client_id")), "zero");
	assert_int_equal(json_integer_value(json_object_get(entry, "sequence")), 0);
	assert_string_equal(json_string_value(json_object_get(entry, "payload")), "");
	json_decref(resp);
	testnet_destroy(&t);
}

/* A follower answers UNAVAILABLE with the leader's id, address and term in
 * a ledger.v1.ErrorDetails (grpc-status-details-bin), as the public ledger
 * does; the client follows it. */
static void test_follower_names_the_leader(void **state)
{
	static struct testnet t;
	struct grpc_raw_opts o = GRPC_RAW_OPTS_INIT;
	struct grpc_raw_result r;
	struct ledger_client *c;
	struct ledger_append_result res;
	Ledger__V1__ErrorDetails *d;
	json_t *st = NULL;
	char term[32], id[16];
	unsigned char *b;
	size_t len;
	int leader, follower, seen = 0;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	leader = testnet_wait_leader(&t, 10000, -1);
	assert_true(leader >= 0);
	follower = (leader + 1) % 3;
	assert_int_equal(testnet_post(&t, leader, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}", &st),
			 200);
	snprintf(term, sizeof(term), "%lld", (long long)json_integer_value(json_object_get(st, "term")));
	json_decref(st);
	snprintf(id, sizeof(id), "%d", leader + 1);

	b = append_bytes(&len, "f", 1, "to a follower");
	assert_int_equal(grpc_raw_call(&r, t.addr[follower], APPEND_PATH, b, len, &o), 0);
	free(b);
	if (r.status != GRPC_STATUS_UNAVAILABLE || strcmp(r.ledger_code, "NOT_LEADER") != 0)
		fail_msg("Append on a follower: %s ledger-code '%s' (%s)", grpc_raw_status_name(r.status),
			 r.ledger_code, r.message);
	assert_string_equal(r.message, "this node is not the leader");
	assert_non_null(r.details);
	d = ledger__v1__error_details__unpack(NULL, r.details_len, r.details);
	assert_non_null(d);
	assert_true(d->is_retryable);
	for (size_t i = 0; i < d->n_context; i++) {
		const char *k = d->context[i]->key, *v = d->context[i]->value;
		const char *want = strcmp(k, "leader_id") == 0 ? id :
				   strcmp(k, "leader_endpoint") == 0 ? t.addr[leader] :
				   strcmp(k, "leader_term") == 0 ? term : NULL;

		if (!want)
			continue;
		if (strcmp(v, want) != 0)
			fail_msg("ErrorDetails context %s is '%s', want '%s'", k, v, want);
		seen |= strcmp(k, "leader_id") == 0 ? 1 : strcmp(k, "leader_endpoint") == 0 ? 2 : 4;
	}
	if (seen != 7)
		fail_msg("ErrorDetails lacks leader_id, leader_endpoint or leader_term (have mask %d)", seen);
	ledger__v1__error_details__free_unpacked(d, NULL);
	grpc_raw_result_release(&r);

	/* the follower still answers: status relayed from the leader, and
	 * the client, sent there first, ends on the leader */
	assert_int_equal(testnet_post(&t, follower, "inferadb.ledger.v1.Admin/GetClusterStatus", "{}", &st),
			 200);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "leader"), "id")),
			 leader + 1);
	json_decref(st);
	c = testnet_client(&t, 2000);
	ledger_client_set_current(c, follower);
	assert_int_equal(ledger_append(c, "f", 1, "x", &res), -1);
	assert_string_equal(res.code, "NOT_LEADER");
	assert_string_equal(res.leader, t.addr[leader]);
	assert_int_equal(ledger_client_current(c), leader);
	/* The hint led to the leader: from here only its post-election
	 * barrier may still hold the write back (UNAVAILABLE, retried). */
	for (int tries = 0; ledger_append(c, "f", 1, "x", &res) != 0; tries++) {
		if (strcmp(res.code, "UNAVAILABLE") != 0 || tries > 100)
			fail_msg("the append the hint led to failed: %s: %s", res.code, res.message);
		assert_int_equal(ledger_client_current(c), leader);
		clock_sleep_ns(20 * NS_PER_MS);
	}
	assert_int_equal(res.index, 1);
	ledger_client_free(c);
	testnet_destroy(&t);
}

/* With --admin-token-file, admin calls without the token, or with a wrong
 * one, get UNAUTHENTICATED; the ledger's own methods need none. */
static void test_admin_calls_need_the_token(void **state)
{
	static struct testnet t;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client_opts lo = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[1];
	char token_file[] = "/tmp/ledgerd-token-XXXXXX";
	const char *bearer = "Bearer s3cr3t-admin";
	json_t *st = NULL;
	unsigned char *b;
	size_t len;
	int64_t deadline;
	int fd;

	(void)state;
	fd = mkstemp(token_file);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "s3cr3t-admin\n", 13), 13);
	close(fd);
	t.extra_arg = "--admin-token-file";
	t.extra_val = token_file;
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	addrs[0] = t.addr[0];
	lo.admin_token = "s3cr3t-admin";
	assert_int_equal(ledger_client_new(&c, addrs, 1, &lo, &err), 0);
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	while (ledger_cluster_status(c, &st, &err) != 0 ||
	       !json_is_object(json_object_get(st, "leader"))) {
		json_decref(st);
		st = NULL;
		if (clock_mono_ns() > deadline)
			fail_msg("no leader with the admin token within 10 s: %s", err.msg);
		clock_sleep_ns(30 * NS_PER_MS);
	}
	json_decref(st);
	unlink(token_file);

	expect_status(t.addr[0], STATUS_PATH, "", 0, NULL, GRPC_STATUS_UNAUTHENTICATED,
		      "UNAUTHENTICATED");
	expect_status(t.addr[0], STATUS_PATH, "", 0, "Bearer s3cr3t-admiN", GRPC_STATUS_UNAUTHENTICATED,
		      "UNAUTHENTICATED");
	expect_status(t.addr[0], STATUS_PATH, "", 0, "Bearer s3cr3t-admin-and-more",
		      GRPC_STATUS_UNAUTHENTICATED, "UNAUTHENTICATED");
	expect_status(t.addr[0], STATUS_PATH, "", 0, "s3cr3t-admin", GRPC_STATUS_UNAUTHENTICATED,
		      "UNAUTHENTICATED");
	expect_status(t.addr[0], "/inferadb.ledger.v1.Admin/CreateSnapshot", "", 0, NULL,
		      GRPC_STATUS_UNAUTHENTICATED, "UNAUTHENTICATED");
	expect_status(t.addr[0], STATUS_PATH, "", 0, bearer, GRPC_STATUS_OK, "OK");
	/* the ledger's own methods are not admin methods */
	b = append_bytes(&len, "t", 1, "no token needed");
	expect_status(t.addr[0], APPEND_PATH, b, len, NULL, GRPC_STATUS_OK, "OK");
	free(b);
	/* the node is still up and serves the token holder */
	assert_int_equal(ledger_cluster_status(c, &st, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(st, "last_index")), 1);
	json_decref(st);
	ledger_client_free(c);
	testnet_destroy(&t);
}

/* ---- the HTTP listener (--http): metrics, health, debug faults ---------- */

static void expect_http(struct testnet *t, const char *method, const char *path, const char *body,
			size_t len, long want, const char *code, const char *in_message)
{
	char *url = xasprintf("http://%s%s", t->http[0], path), *out = NULL;
	long status = raw(method, url, body, len, &out);
	json_t *j = json_loads(out, 0, NULL);
	const char *msg = json_string_value(json_object_get(j, "message"));

	if (status != want)
		fail_msg("%s %s: HTTP %ld, want %ld: %s", method, path, status, want, out);
	if (!j || !msg || strcmp(json_string_value(json_object_get(j, "code")) ?: "", code) != 0)
		fail_msg("%s %s: answer is not a {code:%s, message} JSON error: %s", method, path, code, out);
	if (in_message && !strstr(msg, in_message))
		fail_msg("%s %s: message does not name '%s': %s", method, path, in_message, msg);
	json_decref(j);
	free(out);
	free(url);
}

static void test_http_listener_contract(void **state)
{
	static struct testnet t;
	char *url, *out = NULL, *big = xmalloc(LEDGER_BIG);
	json_t *j, *resp = NULL;

	(void)state;
	assert_int_equal(testnet_start(&t, 1, NULL), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) == 0);
	/* /healthz: SERVING with a leader */
	url = xasprintf("http://%s/healthz", t.http[0]);
	assert_int_equal(raw("GET", url, NULL, 0, &out), 200);
	j = json_loads(out, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "SERVING");
	json_decref(j);
	free(out);
	free(url);
	/* a debug method is served here */
	assert_int_equal(testnet_post(&t, 0, "inferadb.ledger.v1.Debug/Digest", "{}", &resp), 200);
	assert_true(json_is_string(json_object_get(resp, "digest")));
	assert_int_equal(json_integer_value(json_object_get(resp, "last_index")), 0);
	json_decref(resp);
	expect_http(&t, "POST", "/inferadb.ledger.v1.Debug/DropEntry",
		    "{\"client_id\":\"zz\",\"sequence\":1}", 31, 404, "NOT_FOUND", NULL);
	expect_http(&t, "POST", "/inferadb.ledger.v1.Debug/RefuseWrites", "{bad", 4, 400,
		    "INVALID_ARGUMENT", NULL);
	expect_http(&t, "POST", "/inferadb.ledger.v1.Debug/RefuseWrites", "[1,2]", 5, 400,
		    "INVALID_ARGUMENT", NULL);
	/* the API is not: 404 naming the gRPC address */
	expect_http(&t, "POST", "/inferadb.ledger.v1.Ledger/Append",
		    "{\"client_id\":\"c\",\"sequence\":1,\"payload\":\"x\"}", 42, 404, "NOT_FOUND", t.addr[0]);
	expect_http(&t, "POST", "/inferadb.ledger.v1.Admin/GetClusterStatus", "{}", 2, 404,
		    "NOT_FOUND", t.addr[0]);
	expect_http(&t, "POST", "/inferadb.ledger.v1.Ledger/Nope", "{}", 2, 404, "NOT_FOUND", NULL);
	expect_http(&t, "POST", "/", "{}", 2, 404, "NOT_FOUND", NULL);
	/* methods and sizes */
	expect_http(&t, "GET", "/inferadb.ledger.v1.Debug/Digest", NULL, 0, 405, "INVALID_ARGUMENT",
		    NULL);
	expect_http(&t, "PUT", "/metrics", "", 0, 405, "INVALID_ARGUMENT", NULL);
	expect_http(&t, "POST", "/healthz", "", 0, 405, "INVALID_ARGUMENT", NULL);
	memset(big, 'a', LEDGER_BIG);
	expect_http(&t, "POST", "/inferadb.ledger.v1.Debug/RefuseWrites", big, LEDGER_BIG, 413,
		    "RESOURCE_EXHAUSTED", NULL);
	free(big);
	/* none of it touched the ledger; the node still answers */
	assert_int_equal(kill(t.pid[0], 0), 0);
	assert_int_equal(last_index(&t, 0), 0);
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
	url = xasprintf("http://%s/metrics", t.http[0]);
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
		cmocka_unit_test_teardown(test_bad_messages_get_grpc_errors, teardown),
		cmocka_unit_test_teardown(test_follower_names_the_leader, teardown),
		cmocka_unit_test_teardown(test_admin_calls_need_the_token, teardown),
		cmocka_unit_test_teardown(test_http_listener_contract, teardown),
		cmocka_unit_test_teardown(test_refuse_writes_window_logged, teardown),
		cmocka_unit_test_teardown(test_drop_entry_and_health, teardown),
		cmocka_unit_test_teardown(test_snapshot_seeds_a_new_cluster, teardown),
		cmocka_unit_test_teardown(test_metrics_pass_promtool, teardown),
	};
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
