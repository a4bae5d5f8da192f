/* ledgerd hardening, on real single-node daemons on a random 127.A.B.x
 * network (tests/support/ledger_testnet.h).  The API is gRPC on --listen;
 * the HTTP listener (--http) serves /metrics, /healthz and the debug faults.
 *  - with --admin-token-file, every admin method (both dialects) answers
 *    UNAUTHENTICATED without the exact metadata "authorization: Bearer
 *    <token>", and every debug fault 401 without the same HTTP header;
 *    neither answer nor the log echoes the token; data, health and metrics
 *    calls need no token;
 *  - the daemon listens only on the addresses --listen/--http/--raft name;
 *  - a request over 1 MiB is RESOURCE_EXHAUSTED over gRPC and 413 over
 *    HTTP, and the node keeps serving; the HTTP listener drops an
 *    oversized body as it arrives instead of buffering it;
 *  - a client sending one byte a second, and 300 idle connections, delay no
 *    other client, on either port: Append and GetClusterStatus (gRPC),
 *    /metrics and /healthz (HTTP) from other clients keep answering within
 *    SLOW_BUDGET_MS at the median;
 *  - one client address holds at most CLIENT_BOUND connections on either
 *    port, and a gRPC connection that sends no HTTP/2 preface is closed
 *    after --header-timeout; 1100 half-open connections from one address
 *    to a node of `drillrig cluster up` (descriptors limited to 1024, the
 *    usual soft limit) leave its Appends and `drillrig cluster status`
 *    served;
 *  - 256 calls that send their headers and never their message (no
 *    deadline) delay no other client: its Appends are all served, and
 *    the node serves at once after they are cancelled;
 *  - a token file others can read is refused at start.
 * What ledgerd does not do yet would print "GAP:" and pass unless
 * DRILLRIG_STRICT_HARDENING=1 (nothing today).  One known
 * failure is an expected failure (docs/testing.md), which passes while the
 * failure is seen and fails once it is gone:
 * xfail:oversized_grpc_message_costs_no_memory (docs/security.md).  1100
 * descriptors held by idle gRPC connections leave the HTTP listener
 * answering. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/status.h>
#include <grpc/support/time.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "inferadb/ledger/v1/ledger.pb-c.h"
#include "ledger/client/client.h"
#include "ledger/client/methods.h"
#include "ledger/client/pbjson.h"
#include "ledger/client/rpc.h"
#include "ledger/client/wire.h"
#include "tests/support/drill_proc.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/ledger_testnet.h"

#define TOKEN "hardening-token-7f3a9c"
/* What "delays no other client" means here: the other client's calls
 * answer within SLOW_BUDGET_MS at the median (they take ~2 ms on an idle
 * machine) and none takes SLOW_MAX_MS: a server that waited for the slow
 * client would hold a call for a second per byte. */
#define SLOW_BUDGET_MS 100.0
#define SLOW_MAX_MS 1000.0
#define LAT_MAX 1024
/* The deadline of a measured call: well past SLOW_MAX_MS, so a slow answer
 * is measured as slow (and fails the check) rather than cut short. */
#define MEASURE_TIMEOUT_MS 5000L
#define LEADER_WAIT_S 20

#define ADMIN_SVC "inferadb.ledger.v1.Admin"
#define ADMIN_V1_SVC "ledger.v1.AdminService"

/* The client preface every HTTP/2 connection starts with (RFC 9113 3.4). */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

static char tokdir[128];

static int strict(void)
{
	const char *s = getenv("DRILLRIG_STRICT_HARDENING");

	return s && strcmp(s, "1") == 0;
}

/* A missing hardening feature: fail in strict mode, else say so.  No case
 * uses it today (the per-client bounds landed); kept for the next gap. */
static void gap(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void gap(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("GAP: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	if (strict())
		fail_msg("hardening gap (DRILLRIG_STRICT_HARDENING=1)");
}

/* ---- the HTTP listener ---------------------------------------------------- */

static size_t collect(char *p, size_t size, size_t nmemb, void *payload)
{
	strbuf_add(payload, p, size * nmemb);
	return size * nmemb;
}

struct answer {
	long status;    /* 0: no HTTP answer */
	json_t *body;   /* parsed body or NULL */
	char *text;     /* the raw body (heap, "" when none) */
	double ms;      /* wall time of the call */
};

static void answer_release(struct answer *a)
{
	json_decref(a->body);
	free(a->text);
	a->body = NULL;
	a->text = NULL;
}

/* path on node 0's HTTP listener: POST body (len bytes) with an optional
 * Authorization header, or GET when body is NULL. */
static struct answer http_call(struct testnet *t, const char *path, const char *body, size_t len,
			       const char *auth)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct strbuf sb = STRBUF_INIT;
	struct answer a = { 0, NULL, NULL, 0 };
	char *url = xasprintf("http://%s%s", t->http[0], path);
	char *authz = auth ? xasprintf("Authorization: %s", auth) : NULL;
	int64_t start;

	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	if (authz)
		hdrs = curl_slist_append(hdrs, authz);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	} else {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sb);
	start = clock_mono_ns();
	if (curl_easy_perform(h) == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
	a.ms = (double)(clock_mono_ns() - start) / 1e6;
	a.body = sb.len ? json_loadb(sb.buf, sb.len, 0, NULL) : NULL;
	a.text = sb.len ? strbuf_detach(&sb) : xstrdup("");
	strbuf_release(&sb);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(url);
	free(authz);
	return a;
}

static const char *code_of(const struct answer *a)
{
	const char *c = json_string_value(json_object_get(a->body, "code"));

	return c ? c : "(no code)";
}

/* ---- the gRPC API ----------------------------------------------------------- */

/* A client of node 0 as a new client makes one: its own channel (so its own
 * connection and HTTP/2 handshake), "authorization: Bearer token" when
 * token is set. */
static struct ledger_client *new_client(struct testnet *t, const char *token)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[1] = { t->addr[0] };

	opts.timeout_ms = MEASURE_TIMEOUT_MS;
	opts.admin_timeout_ms = MEASURE_TIMEOUT_MS;
	opts.admin_token = token;
	if (ledger_client_new(&c, addrs, 1, &opts, &err) != 0)
		fail_msg("cannot create a client of %s: %s", t->addr[0], err.msg);
	return c;
}

/* One raw call of path on node 0 with exactly this authorization metadata
 * (NULL: none); the test fails when the call cannot be started. */
static void raw_call(struct grpc_raw_result *r, struct testnet *t, const char *path,
		     const void *req, size_t len, const char *auth)
{
	struct grpc_raw_opts o = GRPC_RAW_OPTS_INIT;

	o.authorization = auth;
	if (grpc_raw_call(r, t->addr[0], path, req, len, &o) != 0)
		fail_msg("%s on %s: the call could not be started", path, t->addr[0]);
}

/* An AppendRequest's bytes (heap); payload_len bytes of 'x'. */
static unsigned char *append_bytes(size_t *len, const char *client_id, uint64_t seq,
				   size_t payload_len)
{
	Inferadb__Ledger__V1__AppendRequest a = INFERADB__LEDGER__V1__APPEND_REQUEST__INIT;
	char *payload = xmalloc(payload_len + 1);
	unsigned char *b;

	memset(payload, 'x', payload_len);
	payload[payload_len] = '\0';
	a.client_id = (char *)client_id;
	a.sequence = seq;
	a.payload = payload;
	*len = inferadb__ledger__v1__append_request__get_packed_size(&a);
	b = xmalloc(*len + 1);
	inferadb__ledger__v1__append_request__pack(&a, b);
	free(payload);
	return b;
}

/* An AppendRequest of exactly size bytes (heap). */
static unsigned char *append_bytes_sized(size_t size, const char *client_id, uint64_t seq)
{
	size_t payload_len = size, len = 0;
	unsigned char *b = NULL;

	for (int i = 0; i < 4; i++) {
		free(b);
		b = append_bytes(&len, client_id, seq, payload_len);
		if (len == size)
			return b;
		payload_len = payload_len + size - len;
	}
	free(b);
	fail_msg("cannot build an AppendRequest of exactly %zu bytes (got %zu)", size, len);
	return NULL;
}

/* Poll until the single node leads (bounded), authenticating with token
 * when set.  Each attempt on a new client: a channel of drillrig's client
 * whose first connects were refused (the node still starting) connects
 * again only about 5 s later, which would cost every case 5 s (gRPC's
 * re-resolution delay: the channels leave
 * GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS at its default). */
static void wait_leader(struct testnet *t, const char *token)
{
	int64_t deadline = clock_mono_ns() + LEADER_WAIT_S * NS_PER_SEC;
	char last[1200] = "no answer";

	while (clock_mono_ns() < deadline) {
		struct ledger_client *c = new_client(t, token);
		struct dr_error err = DR_ERROR_INIT;
		enum ledger_code code = LEDGER_CODE_COUNT;
		json_t *resp = NULL;
		int ok = 0;

		if (ledger_call(c, 0, LEDGER_PATH_STATUS, NULL, &resp, &code, &err) != 0)
			snprintf(last, sizeof last, "%s", err.msg);
		else if (code != LEDGER_OK)
			snprintf(last, sizeof last, "%s: %s", ledger_code_name(code),
				 json_string_value(json_object_get(resp, "message")) ?: "");
		else
			ok = json_is_object(json_object_get(resp, "leader"));
		json_decref(resp);
		ledger_client_free(c);
		if (ok)
			return;
		clock_sleep_ns(30 * NS_PER_MS);
	}
	fail_msg("node %s has no leader after %d s (last GetClusterStatus: %s)", t->addr[0],
		 LEADER_WAIT_S, last);
}

static void write_token(const char *path, mode_t mode)
{
	struct dr_error err = DR_ERROR_INIT;

	/* With the newline `echo TOKEN > file` writes. */
	assert_int_equal(fs_write_atomic(path, TOKEN "\n", strlen(TOKEN) + 1, &err), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void start_node(struct testnet *t, const char *token_file)
{
	memset(t, 0, sizeof *t);
	if (token_file) {
		t->extra_arg = "--admin-token-file";
		t->extra_val = token_file;
	}
	assert_int_equal(testnet_start(t, 1, NULL), 0);
	wait_leader(t, token_file ? TOKEN : NULL);
}

/* Is this refusal one a well-behaved client retries (a leader not ready
 * yet, e.g. after a re-election on a loaded machine)? */
static int retryable(enum ledger_code code)
{
	return code == LEDGER_NOT_LEADER || code == LEDGER_UNAVAILABLE;
}

/* An Append that must succeed soon (after a request the node must
 * survive): NOT_LEADER and UNAVAILABLE are retried with the same sequence,
 * bounded. */
static void append_ok(struct testnet *t, const char *client_id, uint64_t seq)
{
	struct ledger_client *c = new_client(t, NULL);
	struct ledger_append_result res;
	int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;

	while (ledger_append(c, client_id, seq, "p", &res) != 0) {
		if (!retryable(ledger_code_parse(res.code)) || clock_mono_ns() > deadline) {
			ledger_client_free(c);
			fail_msg("Append %s/%llu: %s %s", client_id, (unsigned long long)seq, res.code,
				 res.message);
		}
		clock_sleep_ns(20 * NS_PER_MS);
	}
	ledger_client_free(c);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tokdir, sizeof tokdir, "/tmp/drillrig-hardening-XXXXXX");
	if (access("/dev/shm", W_OK) == 0)
		snprintf(tokdir, sizeof tokdir, "/dev/shm/drillrig-hardening-XXXXXX");
	return mkdtemp(tokdir) ? 0 : -1;
}

static int teardown(void **state)
{
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	testnet_destroy_all();
	fs_remove_tree(tokdir, &err);
	return 0;
}

static int each_teardown(void **state)
{
	(void)state;
	testnet_destroy_all();
	return 0;
}

/* Wrong or missing credentials: each must be refused.  NULL: none. */
static const char *const wrong_auth[] = {
	NULL, "Bearer", "Bearer ", "Bearer wrong", "Bearer " TOKEN "x",
	"Bearer hardening-token", "Basic " TOKEN, "bearer" TOKEN, TOKEN,
	"Bearer  " TOKEN,
};
#define NWRONG (sizeof wrong_auth / sizeof wrong_auth[0])

static const char *const debug_methods[] = {
	"Partition", "Heal", "RefuseWrites", "DropEntry", "Digest",
};
#define NDEBUG_METHODS (sizeof debug_methods / sizeof debug_methods[0])

/* Bytes that are no protobuf message (a varint cut short): a served
 * method answers INVALID_ARGUMENT to them, after the token check. */
static const unsigned char not_a_message[] = { 0xff, 0xff };

static void test_admin_calls_need_the_token(void **state)
{
	static const char *const runbook_admin[] = {
		"GetClusterStatus", "RequestLeaderTransfer", "ForceLeaderElection",
		"CreateSnapshot", "RestoreFromSnapshot", "AddMember", "RemoveMember",
	};
	struct testnet t;
	char *tok = xasprintf("%s/token", tokdir);
	const struct ledger_method *methods;
	struct grpc_raw_result r;
	struct answer a;
	size_t n, served_runbook = 0, checked = 0, open_methods = 0;

	(void)state;
	write_token(tok, 0600);
	start_node(&t, tok);
	methods = ledger_methods(&n);
	for (size_t i = 0; i < n; i++) {
		const char *svc = methods[i].service->name;
		int runbook = strcmp(svc, ADMIN_SVC) == 0;

		if (!runbook && strcmp(svc, ADMIN_V1_SVC) != 0) {
			/* Any other method needs no token: without one it gets
			 * past the check to the message, which it refuses. */
			raw_call(&r, &t, methods[i].path, not_a_message, sizeof not_a_message, NULL);
			if (r.status != GRPC_STATUS_INVALID_ARGUMENT)
				fail_msg("%s without a token and with a broken message: %s ledger-code "
					 "'%s' (%s), expected INVALID_ARGUMENT", methods[i].path,
					 grpc_raw_status_name(r.status), r.ledger_code, r.message);
			grpc_raw_result_release(&r);
			open_methods++;
			continue;
		}
		/* Served?  With the token, bytes that are no message:
		 * INVALID_ARGUMENT (and nothing runs); UNIMPLEMENTED would mean
		 * the method is not served, and its token check not tested. */
		raw_call(&r, &t, methods[i].path, not_a_message, sizeof not_a_message,
			 "Bearer " TOKEN);
		if (r.status != GRPC_STATUS_INVALID_ARGUMENT ||
		    strcmp(r.ledger_code, "INVALID_ARGUMENT") != 0)
			fail_msg("%s with the token and a broken message: %s ledger-code '%s' (%s), "
				 "expected INVALID_ARGUMENT", methods[i].path,
				 grpc_raw_status_name(r.status), r.ledger_code, r.message);
		grpc_raw_result_release(&r);
		served_runbook += runbook;
		/* Every wrong or missing credential: UNAUTHENTICATED (an empty
		 * message is a valid request of every type, so a method that
		 * skipped the check would run it). */
		for (size_t w = 0; w < NWRONG; w++) {
			raw_call(&r, &t, methods[i].path, "", 0, wrong_auth[w]);
			if (r.status != GRPC_STATUS_UNAUTHENTICATED ||
			    strcmp(r.ledger_code, "UNAUTHENTICATED") != 0)
				fail_msg("%s with authorization '%s': %s ledger-code '%s' (%s), expected "
					 "UNAUTHENTICATED", methods[i].path,
					 wrong_auth[w] ? wrong_auth[w] : "(none)",
					 grpc_raw_status_name(r.status), r.ledger_code, r.message);
			/* The refusal must not echo the token it was offered. */
			if (!r.message[0] || strstr(r.message, TOKEN))
				fail_msg("%s: the status message '%s' is empty or echoes the token",
					 methods[i].path, r.message);
			grpc_raw_result_release(&r);
			checked++;
		}
	}
	printf("%zu admin calls with a wrong or missing token refused (%zu of them to the runbook's "
	       "methods); %zu other methods reached without one\n", checked, served_runbook * NWRONG,
	       open_methods);
	assert_true(served_runbook >= sizeof runbook_admin / sizeof runbook_admin[0]);
	for (size_t i = 0; i < sizeof runbook_admin / sizeof runbook_admin[0]; i++) {
		char *path = xasprintf("/" ADMIN_SVC "/%s", runbook_admin[i]);
		assert_non_null(ledger_method_find(path));
		free(path);
	}
	/* The exact token opens them: through the client (start_node waited
	 * for the leader with it) and as raw metadata. */
	raw_call(&r, &t, LEDGER_PATH_STATUS, "", 0, "Bearer " TOKEN);
	if (r.status != GRPC_STATUS_OK)
		fail_msg("GetClusterStatus with the token: %s (%s)", grpc_raw_status_name(r.status),
			 r.message);
	{
		struct dr_error err = DR_ERROR_INIT;
		json_t *st = NULL;

		assert_int_equal(pbjson_unpack(&st, ledger_method_find(LEDGER_PATH_STATUS)->method->output,
					       r.answer, r.answer_len, 0, &err), 0);
		assert_true(json_is_object(json_object_get(st, "leader")));
		json_decref(st);
	}
	grpc_raw_result_release(&r);
	/* The debug faults are not reachable over gRPC, token or not. */
	for (size_t i = 0; i < NDEBUG_METHODS; i++) {
		char *path = xasprintf("/" LEDGER_SVC_DEBUG "/%s", debug_methods[i]);

		raw_call(&r, &t, path, "", 0, "Bearer " TOKEN);
		if (r.status != GRPC_STATUS_UNIMPLEMENTED)
			fail_msg("%s over gRPC: %s, expected UNIMPLEMENTED", path,
				 grpc_raw_status_name(r.status));
		grpc_raw_result_release(&r);
		free(path);
	}
	/* Nor are the admin methods over HTTP, where the metadata check does
	 * not run. */
	for (size_t i = 0; i < sizeof runbook_admin / sizeof runbook_admin[0]; i++) {
		char *path = xasprintf("/" ADMIN_SVC "/%s", runbook_admin[i]);

		a = http_call(&t, path, "{}", 2, NULL);
		if (a.status != 404)
			fail_msg("POST %s on the HTTP listener: HTTP %ld %s, expected 404", path, a.status,
				 code_of(&a));
		answer_release(&a);
		free(path);
	}
	/* Data, health and metrics need no token. */
	{
		size_t len;
		unsigned char *b = append_bytes(&len, "hardening", 1, 1);

		raw_call(&r, &t, LEDGER_PATH_APPEND, b, len, NULL);
		if (r.status != GRPC_STATUS_OK)
			fail_msg("Append without a token: %s ledger-code '%s' (%s)",
				 grpc_raw_status_name(r.status), r.ledger_code, r.message);
		grpc_raw_result_release(&r);
		free(b);
	}
	{
		Inferadb__Ledger__V1__ReadRequest rd = INFERADB__LEDGER__V1__READ_REQUEST__INIT;
		unsigned char buf[64];
		size_t len;

		rd.from_index = 1;
		len = inferadb__ledger__v1__read_request__pack(&rd, buf);
		raw_call(&r, &t, LEDGER_PATH_READ, buf, len, NULL);
		if (r.status != GRPC_STATUS_OK)
			fail_msg("Read without a token: %s (%s)", grpc_raw_status_name(r.status), r.message);
		grpc_raw_result_release(&r);
	}
	raw_call(&r, &t, "/" LEDGER_SVC_HEALTH "/Check", "", 0, NULL);
	if (r.status != GRPC_STATUS_OK)
		fail_msg("Health/Check without a token: %s (%s)", grpc_raw_status_name(r.status),
			 r.message);
	grpc_raw_result_release(&r);
	a = http_call(&t, "/metrics", NULL, 0, NULL);
	assert_int_equal(a.status, 200);
	answer_release(&a);
	a = http_call(&t, "/healthz", NULL, 0, NULL);
	assert_int_equal(a.status, 200);
	answer_release(&a);
	/* Neither the offered token nor the real one reaches the log. */
	if (testnet_log_count(&t, 0, TOKEN) != 0)
		fail_msg("the admin token appears in ledgerd's log %s/n1.log", t.dir);
	testnet_destroy(&t);
	free(tok);
}

static void test_debug_calls_need_the_token(void **state)
{
	struct testnet t;
	char *tok = xasprintf("%s/token-debug", tokdir);
	struct answer a;

	(void)state;
	write_token(tok, 0600);
	start_node(&t, tok);
	for (size_t i = 0; i < NDEBUG_METHODS; i++) {
		char *path = xasprintf("/" LEDGER_SVC_DEBUG "/%s", debug_methods[i]);

		for (size_t w = 0; w < NWRONG; w++) {
			a = http_call(&t, path, "{}", 2, wrong_auth[w]);
			if (a.status != 401 || strcmp(code_of(&a), "UNAUTHENTICATED") != 0)
				fail_msg("%s with Authorization '%s': HTTP %ld %s, expected 401 UNAUTHENTICATED",
					 path, wrong_auth[w] ? wrong_auth[w] : "(none)", a.status,
					 code_of(&a));
			/* A 401 body must not echo the token it was offered. */
			if (strstr(a.text, TOKEN))
				fail_msg("%s: the 401 body echoes the token: %s", path, a.text);
			answer_release(&a);
		}
		free(path);
	}
	/* The exact header opens them (Digest changes nothing). */
	a = http_call(&t, "/" LEDGER_SVC_DEBUG "/Digest", "{}", 2, "Bearer " TOKEN);
	if (a.status != 200 || !json_is_string(json_object_get(a.body, "digest")))
		fail_msg("Digest with the token: HTTP %ld %s", a.status, a.text);
	answer_release(&a);
	if (testnet_log_count(&t, 0, TOKEN) != 0)
		fail_msg("the admin token appears in ledgerd's log %s/n1.log", t.dir);
	testnet_destroy(&t);
	free(tok);
}

static void test_world_readable_token_file(void **state)
{
	struct testnet t;
	char *tok = xasprintf("%s/token-0644", tokdir);

	(void)state;
	write_token(tok, 0644);
	memset(&t, 0, sizeof t);
	t.extra_arg = "--admin-token-file";
	t.extra_val = tok;
	/* ledgerd refuses to start on a token others can read (ssh-style). */
	if (testnet_start(&t, 1, NULL) == 0) {
		int64_t deadline = clock_mono_ns() + 10 * NS_PER_SEC;
		int status = 0;
		pid_t r = 0;

		while ((r = waitpid(t.pid[0], &status, WNOHANG)) == 0 && clock_mono_ns() < deadline)
			clock_sleep_ns(20 * NS_PER_MS);
		if (r != t.pid[0])
			fail_msg("ledgerd kept running with a world-readable --admin-token-file");
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
		t.pid[0] = 0;
	}
	/* For that reason, not another one. */
	if (testnet_log_count(&t, 0, "readable by others (mode 644); chmod 600 it") != 1)
		fail_msg("ledgerd did not say why it refused the token file (see %s/n1.log)", t.dir);
	testnet_destroy(&t);
	free(tok);
}

/* The local addresses of the TCP sockets in LISTEN state that process pid
 * holds, from /proc/PID/fd and /proc/net/tcp{,6}: "a.b.c.d:port" for IPv4
 * and for IPv6 sockets bound to a v4-mapped address (::ffff:a.b.c.d, what
 * gRPC core binds for an IPv4 --listen, which accepts that IPv4 address
 * only), "[v6]:port" for any other IPv6 socket.  Each address once, with
 * how many sockets listen on it (gRPC opens one per completion queue, with
 * SO_REUSEPORT).  Returns how many addresses. */
struct listener {
	char addr[80];
	int sockets;
};

static size_t listening_addrs(struct listener *out, size_t max, pid_t pid)
{
	enum { MAX_INODES = 4096 };
	char path[64], link[128], line[512];
	static unsigned long inodes[MAX_INODES];
	size_t ninodes = 0, n = 0;
	struct dirent *de;
	DIR *d;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL && ninodes < MAX_INODES) {
		char fdpath[sizeof path + sizeof de->d_name + 2];
		ssize_t l;
		snprintf(fdpath, sizeof fdpath, "%s/%s", path, de->d_name);
		l = readlink(fdpath, link, sizeof link - 1);
		if (l <= 0)
			continue;
		link[l] = '\0';
		if (sscanf(link, "socket:[%lu]", &inodes[ninodes]) == 1)
			ninodes++;
	}
	closedir(d);
	assert_true(ninodes < MAX_INODES);
	for (int fam = 0; fam < 2; fam++) {
		f = fopen(fam ? "/proc/net/tcp6" : "/proc/net/tcp", "r");
		if (!f)
			continue;
		while (fgets(line, sizeof line, f)) {
			char local[64], addr[80], text[INET6_ADDRSTRLEN];
			unsigned st, port, w[4];
			unsigned long inode;
			size_t k, j;

			if (sscanf(line, " %*d: %63s %*s %x %*s %*s %*s %*s %*s %lu", local, &st,
				   &inode) != 3 || st != 0x0A)
				continue;
			for (k = 0; k < ninodes && inodes[k] != inode; k++)
				;
			if (k == ninodes)
				continue;
			/* /proc prints each 32-bit word of the address as the raw
			 * host-order value, then the port. */
			if (!fam) {
				struct in_addr ia;

				assert_int_equal(sscanf(local, "%8x:%x", &w[0], &port), 2);
				ia.s_addr = w[0];
				snprintf(addr, sizeof addr, "%s:%u", inet_ntoa(ia), port);
			} else {
				struct in6_addr a6;

				assert_int_equal(sscanf(local, "%8x%8x%8x%8x:%x", &w[0], &w[1], &w[2], &w[3],
							&port), 5);
				memcpy(&a6, w, sizeof a6);
				if (IN6_IS_ADDR_V4MAPPED(&a6))
					inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof text);
				else
					inet_ntop(AF_INET6, &a6, text, sizeof text);
				snprintf(addr, sizeof addr, IN6_IS_ADDR_V4MAPPED(&a6) ? "%s:%u" : "[%s]:%u",
					 text, port);
			}
			for (j = 0; j < n && strcmp(out[j].addr, addr) != 0; j++)
				;
			if (j == n) {
				if (n == max)
					fail_msg("ledgerd listens on more than %zu addresses (%s, ...)", max,
						 out[0].addr);
				snprintf(out[n++].addr, sizeof out[0].addr, "%s", addr);
				out[j].sockets = 0;
			}
			out[j].sockets++;
		}
		fclose(f);
	}
	return n;
}

static void test_listens_only_where_told(void **state)
{
	struct testnet t;
	static struct listener l[256];
	size_t n;
	int api = 0, http = 0, raft = 0;

	(void)state;
	start_node(&t, NULL);
	n = listening_addrs(l, sizeof l / sizeof l[0], t.pid[0]);
	for (size_t i = 0; i < n; i++) {
		printf("ledgerd listens on %s (%d socket%s)\n", l[i].addr, l[i].sockets,
		       l[i].sockets == 1 ? "" : "s");
		if (strcmp(l[i].addr, t.addr[0]) == 0)
			api = 1;
		else if (strcmp(l[i].addr, t.http[0]) == 0)
			http = 1;
		else if (strcmp(l[i].addr, t.raft[0]) == 0)
			raft = 1;
		else
			fail_msg("ledgerd listens on %s, which neither --listen %s, --http %s nor --raft %s names",
				 l[i].addr, t.addr[0], t.http[0], t.raft[0]);
	}
	if (!api || !http)
		fail_msg("ledgerd does not listen on %s%s%s", api ? "" : t.addr[0],
			 !api && !http ? " and " : "", http ? "" : t.http[0]);
	if (!raft)
		printf("note: the raft address %s is not a listening socket of the process\n", t.raft[0]);
	testnet_destroy(&t);
}

/* ---- request size ---------------------------------------------------------- */

/* A line of /proc/PID/status in kB ("VmHWM", "VmRSS"); -1 when absent. */
static long proc_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* Start measuring pid's peak resident memory: reset its high-water mark
 * (clear_refs 5, Linux 4.0) and return the peak to compare with, in kB. */
static long peak_reset(pid_t pid)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
	f = fopen(path, "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
	return proc_kb(pid, "VmHWM");
}

#define HTTP_BIG (32 << 20)

/* Issue 17: twelve concurrent `Read {limit: 10000}` of big entries took
 * the leader from 96 MB to 1.5 GB.  One answer holds at most
 * LEDGER_READ_MAX_BYTES of payload (and at least one entry); the client
 * pages on and still reads every entry back. */
static void test_read_answers_are_capped_in_bytes(void **state)
{
	enum { N = 12, SIZE = 400 * 1024 };
	struct testnet t;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c;
	struct ledger_append_result res;
	enum ledger_code code = LEDGER_CODE_COUNT;
	json_t *req, *resp = NULL, *all = NULL, *e;
	char *payload = xmalloc(SIZE + 1);
	size_t i, bytes = 0;

	(void)state;
	start_node(&t, NULL);
	c = testnet_client(&t, 10000);
	for (i = 0; i < N; i++) {
		memset(payload, 'a' + (int)i, SIZE);
		payload[SIZE] = '\0';
		if (ledger_append(c, "big", i + 1, payload, &res) != 0)
			fail_msg("append %zu of %d bytes: %s", i + 1, SIZE, res.message);
	}
	req = json_pack("{s:I, s:I}", "from_index", (json_int_t)1, "limit", (json_int_t)10000);
	if (ledger_call(c, 0, LEDGER_PATH_READ, req, &resp, &code, &err) != 0 || code != LEDGER_OK)
		fail_msg("Read {limit: 10000}: %s", err.msg);
	json_array_foreach(json_object_get(resp, "entries"), i, e)
		bytes += strlen(json_string_value(json_object_get(e, "payload")));
	if (json_array_size(json_object_get(resp, "entries")) == 0 ||
	    json_array_size(json_object_get(resp, "entries")) >= N || bytes > LEDGER_READ_MAX_BYTES)
		fail_msg("Read {limit: 10000} of %d entries of %d bytes answered %zu entries, %zu "
			 "payload bytes: expected fewer than all, at most %u bytes", N, SIZE,
			 json_array_size(json_object_get(resp, "entries")), bytes, LEDGER_READ_MAX_BYTES);
	json_decref(resp);
	json_decref(req);
	/* paging on from the last index returned reads everything, in order */
	if (ledger_read_all(c, &all, &err) != 0)
		fail_msg("read back: %s", err.msg);
	assert_int_equal(json_array_size(all), N);
	json_array_foreach(all, i, e) {
		const char *p = json_string_value(json_object_get(e, "payload"));

		assert_int_equal(json_integer_value(json_object_get(e, "sequence")), (json_int_t)i + 1);
		assert_true(p && strlen(p) == SIZE && p[0] == 'a' + (int)i);
	}
	json_decref(all);
	ledger_client_free(c);
	free(payload);
	testnet_destroy(&t);
}

static void test_oversized_request_is_refused(void **state)
{
	struct testnet t;
	size_t big = 8u << 20, len;
	char *body = xmalloc(big);
	unsigned char *msg;
	struct grpc_raw_result r;
	struct answer a;
	long before, grew;

	(void)state;
	start_node(&t, NULL);
	/* gRPC: an 8 MiB Append and one a byte over the limit are refused by
	 * size (gRPC's own RESOURCE_EXHAUSTED, no ledger-code), ... */
	msg = append_bytes(&len, "hardening", 1, big);
	raw_call(&r, &t, LEDGER_PATH_APPEND, msg, len, NULL);
	if (r.status != GRPC_STATUS_RESOURCE_EXHAUSTED || !r.message[0])
		fail_msg("an 8 MiB Append message: %s ledger-code '%s' (%s), expected RESOURCE_EXHAUSTED",
			 grpc_raw_status_name(r.status), r.ledger_code, r.message);
	grpc_raw_result_release(&r);
	free(msg);
	msg = append_bytes_sized(LEDGER_MAX_BODY + 1, "hardening", 1);
	raw_call(&r, &t, LEDGER_PATH_APPEND, msg, LEDGER_MAX_BODY + 1, NULL);
	if (r.status != GRPC_STATUS_RESOURCE_EXHAUSTED)
		fail_msg("an Append message of 1 MiB + 1 byte: %s ledger-code '%s' (%s), expected RESOURCE_EXHAUSTED",
			 grpc_raw_status_name(r.status), r.ledger_code, r.message);
	grpc_raw_result_release(&r);
	free(msg);
	/* ... while one of exactly 1 MiB gets past the size limit and reaches
	 * the node, which refuses its payload (over 512 KiB) itself. */
	msg = append_bytes_sized(LEDGER_MAX_BODY, "hardening", 1);
	raw_call(&r, &t, LEDGER_PATH_APPEND, msg, LEDGER_MAX_BODY, NULL);
	if (r.status != GRPC_STATUS_INVALID_ARGUMENT || strcmp(r.ledger_code, "INVALID_ARGUMENT") != 0)
		fail_msg("an Append message of exactly 1 MiB: %s ledger-code '%s' (%s), expected the node's "
			 "INVALID_ARGUMENT (payload over 512 KiB)",
			 grpc_raw_status_name(r.status), r.ledger_code, r.message);
	grpc_raw_result_release(&r);
	free(msg);
	append_ok(&t, "hardening", 2);
	/* HTTP: 413 with a JSON error, for 8 MiB and for 1 MiB + 1. */
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	a = http_call(&t, "/" LEDGER_SVC_DEBUG "/Digest", body, big, NULL);
	if (a.status != 413 || strcmp(code_of(&a), "RESOURCE_EXHAUSTED") != 0)
		fail_msg("an 8 MiB Digest body: HTTP %ld %s, expected 413 RESOURCE_EXHAUSTED", a.status,
			 code_of(&a));
	answer_release(&a);
	a = http_call(&t, "/" LEDGER_SVC_DEBUG "/Digest", body, LEDGER_MAX_BODY + 1, NULL);
	assert_int_equal(a.status, 413);
	answer_release(&a);
	/* The HTTP listener keeps at most the first 1 MiB of a body and drops
	 * the rest as it arrives: a 32 MiB body costs the daemon a few MiB of
	 * peak memory (the 1 MiB kept, a connection thread), not its size. */
	free(body);
	body = xmalloc(HTTP_BIG);
	memset(body, ' ', HTTP_BIG);
	before = peak_reset(t.pid[0]);
	a = http_call(&t, "/" LEDGER_SVC_DEBUG "/Digest", body, HTTP_BIG, NULL);
	assert_int_equal(a.status, 413);
	answer_release(&a);
	grew = proc_kb(t.pid[0], "VmHWM") - before;
	printf("HTTP: peak memory grew by %ld kB over one %d MiB body\n", grew, HTTP_BIG >> 20);
	if (before < 0 || grew > (HTTP_BIG >> 10) / 4)
		fail_msg("ledgerd's peak memory grew by %ld kB over a %d MiB body it refused "
			 "(VmHWM before: %ld kB): the body is buffered", grew, HTTP_BIG >> 20, before);
	/* Both listeners still serve. */
	a = http_call(&t, "/" LEDGER_SVC_DEBUG "/Digest", "{}", 2, NULL);
	assert_int_equal(a.status, 200);
	answer_release(&a);
	append_ok(&t, "hardening", 3);
	free(body);
	testnet_destroy(&t);
}

/* Expected failure: gRPC core 1.51 assembles a whole message before its
 * size check, so an oversized one costs ledgerd its size in memory until
 * it is refused (a 256 MiB message: about 350 MB peak). */
static void test_xfail_oversized_grpc_message(void **state)
{
	enum { MIB = 32 };
	struct testnet t;
	struct grpc_raw_result r;
	unsigned char *msg;
	size_t len;
	long before, grew;

	(void)state;
	start_node(&t, NULL);
	msg = append_bytes(&len, "hardening", 1, (size_t)MIB << 20);
	before = peak_reset(t.pid[0]);
	assert_true(before > 0);
	raw_call(&r, &t, LEDGER_PATH_APPEND, msg, len, NULL);
	grew = proc_kb(t.pid[0], "VmHWM") - before;
	free(msg);
	if (r.status != GRPC_STATUS_RESOURCE_EXHAUSTED)
		fail_msg("a %d MiB Append message: %s (%s), expected RESOURCE_EXHAUSTED", MIB,
			 grpc_raw_status_name(r.status), r.message);
	grpc_raw_result_release(&r);
	append_ok(&t, "hardening", 2);
	printf("gRPC: peak memory grew by %ld kB over one %d MiB message\n", grew, MIB);
	if (grew < (MIB << 10) / 2)
		fail_msg("ledgerd's peak memory grew by only %ld kB over a %d MiB message it refused: "
			 "the known failure (the message is assembled before its size check) is gone; "
			 "make this a plain check (grew < 2 MiB) and drop the xfail", grew, MIB);
	printf("expected failure (gRPC core 1.51 buffers a whole message before refusing it by "
	       "size; issue 17, docs/security.md): %ld kB for a %d MiB message\n", grew, MIB);
	testnet_destroy(&t);
}

/* ---- slow and idle clients ---------------------------------------------- */

/* A TCP connection to address ("a.b.c.d:port") that has sent nothing yet,
 * from the loopback address source (NULL: the kernel's choice, 127.0.0.1,
 * which every other client here uses); -1 on failure.  ledgerd bounds
 * connections per client address: an attacker gets an address of its
 * own, so the bound does not shut out the clients it must not delay. */
static int open_conn_from(const char *address, const char *source)
{
	struct sockaddr_in sa;
	char host[64];
	char *colon;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd >= 0 && source) {
		memset(&sa, 0, sizeof sa);
		sa.sin_family = AF_INET;
		inet_pton(AF_INET, source, &sa.sin_addr);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
			close(fd);
			return -1;
		}
	}

	snprintf(host, sizeof host, "%s", address);
	colon = strrchr(host, ':');
	*colon = '\0';
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)strtol(colon + 1, NULL, 10));
	inet_pton(AF_INET, host, &sa.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int open_conn(const char *address)
{
	return open_conn_from(address, NULL);
}

/* Is the server's side of fd still open?  What the server sent (gRPC sends
 * its SETTINGS at once) is read and dropped; a closed side reads EOF (or a
 * reset), an open and silent one would block. */
static int conn_open(int fd)
{
	char buf[4096];

	for (;;) {
		ssize_t r = recv(fd, buf, sizeof buf, MSG_DONTWAIT);

		if (r > 0)
			continue;
		return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
}

struct latency {
	double max_ms, sum_ms;
	int n;
	double ms[LAT_MAX];
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_ms(struct latency *lat)
{
	int n = lat->n < LAT_MAX ? lat->n : LAT_MAX;

	qsort(lat->ms, (size_t)n, sizeof lat->ms[0], cmp_double);
	return n ? lat->ms[n / 2] : 0;
}

static void lat_add(struct latency *lat, double ms)
{
	lat->max_ms = ms > lat->max_ms ? ms : lat->max_ms;
	lat->sum_ms += ms;
	if (lat->n < LAT_MAX)
		lat->ms[lat->n] = ms;
	lat->n++;
}

static void lat_print(struct latency *lat, const char *what)
{
	printf("%s: %d calls, median %.1f ms, mean %.1f ms, max %.1f ms\n", what, lat->n,
	       median_ms(lat), lat->n ? lat->sum_ms / lat->n : 0, lat->max_ms);
}

/* The verdict on one series of calls beside misbehaving clients. */
static void lat_check(struct latency *lat, const char *beside)
{
	char *what = xasprintf("beside %s", beside);
	double med = median_ms(lat);

	lat_print(lat, what);
	free(what);
	if (med > SLOW_BUDGET_MS)
		fail_msg("median call took %.1f ms beside %s (budget %.0f ms)", med, beside,
			 SLOW_BUDGET_MS);
	if (lat->max_ms > SLOW_MAX_MS)
		fail_msg("a call took %.1f ms beside %s (at most %.0f ms)", lat->max_ms, beside,
			 SLOW_MAX_MS);
}

/* One Append and one GetClusterStatus from a new gRPC client (its own
 * connection), as a well-behaved client makes them: UNAVAILABLE with
 * ledger-code NOT_LEADER or UNAVAILABLE is retried after 20 ms (the same
 * client_id and sequence: the ledger deduplicates), for up to
 * SLOW_MAX_MS; the time reported covers every attempt. */
static void measure_grpc(struct testnet *t, struct latency *lat, int *seq)
{
	struct ledger_client *c = new_client(t, NULL);
	struct ledger_append_result res;
	struct dr_error err = DR_ERROR_INIT;
	enum ledger_code code = LEDGER_CODE_COUNT;
	json_t *resp = NULL;
	uint64_t s = (uint64_t)(*seq)++;
	int64_t start = clock_mono_ns();
	int rc;

	while ((rc = ledger_append(c, "victim", s, "p", &res)) != 0 &&
	       retryable(ledger_code_parse(res.code)) &&
	       clock_mono_ns() - start < (int64_t)(SLOW_MAX_MS * 1e6)) {
		printf("note: Append answered %s: %s; retrying\n", res.code, res.message);
		clock_sleep_ns(20 * NS_PER_MS);
	}
	if (rc != 0) {
		ledger_client_free(c);
		fail_msg("Append while misbehaving clients are connected: %s: %s", res.code,
			 res.message);
	}
	lat_add(lat, (double)(clock_mono_ns() - start) / 1e6);
	start = clock_mono_ns();
	while ((rc = ledger_call(c, 0, LEDGER_PATH_STATUS, NULL, &resp, &code, &err)) == 0 &&
	       retryable(code) && clock_mono_ns() - start < (int64_t)(SLOW_MAX_MS * 1e6)) {
		printf("note: GetClusterStatus answered %s; retrying\n", ledger_code_name(code));
		json_decref(resp);
		resp = NULL;
		clock_sleep_ns(20 * NS_PER_MS);
	}
	json_decref(resp);
	ledger_client_free(c);
	if (rc != 0 || code != LEDGER_OK)
		fail_msg("GetClusterStatus while misbehaving clients are connected: %s",
			 rc != 0 ? err.msg : ledger_code_name(code));
	lat_add(lat, (double)(clock_mono_ns() - start) / 1e6);
}

/* GET /metrics and GET /healthz on the HTTP listener, each on a new
 * connection; a 503 /healthz (no leader known yet) is retried like the
 * gRPC calls. */
static void measure_http(struct testnet *t, struct latency *lat)
{
	struct answer a = http_call(t, "/metrics", NULL, 0, NULL);
	double ms = 0;

	if (a.status != 200)
		fail_msg("GET /metrics while misbehaving clients are connected: HTTP %ld", a.status);
	lat_add(lat, a.ms);
	answer_release(&a);
	for (;;) {
		a = http_call(t, "/healthz", NULL, 0, NULL);
		ms += a.ms;
		if (a.status != 503 || ms >= SLOW_MAX_MS)
			break;
		printf("note: /healthz answered 503 %s; retrying\n", a.text);
		answer_release(&a);
		clock_sleep_ns(20 * NS_PER_MS);
		ms += 20;
	}
	if (a.status != 200)
		fail_msg("GET /healthz while misbehaving clients are connected: HTTP %ld %s", a.status,
			 a.text);
	answer_release(&a);
	lat_add(lat, ms);
}

/* A client that sends what[] one byte a second for 5 s to address, while
 * other clients call: gRPC ones always, HTTP ones when lat_http is set.  A
 * server that closes the slow connection is fine (that is hardening too):
 * the slow client stops sending and the others go on. */
static void slow_client(struct testnet *t, const char *address, const char *what, size_t what_len,
			struct latency *lat, struct latency *lat_http, int *seq)
{
	size_t sent = 0;
	int64_t start, next_byte;
	int fd = open_conn(address), closed = 0;

	assert_true(fd >= 0);
	start = clock_mono_ns();
	next_byte = start;
	while (clock_mono_ns() - start < 5 * NS_PER_SEC) {
		if (!closed && clock_mono_ns() >= next_byte && sent < what_len) {
			if (send(fd, what + sent, 1, MSG_NOSIGNAL) == 1) {
				sent++;
			} else {
				printf("note: the server closed the slow connection to %s after %zu bytes "
				       "in %.1f s (%s)\n", address, sent,
				       (double)(clock_mono_ns() - start) / 1e9, strerror(errno));
				closed = 1;
			}
			next_byte += NS_PER_SEC;
		}
		measure_grpc(t, lat, seq);
		if (lat_http)
			measure_http(t, lat_http);
		clock_sleep_ns(50 * NS_PER_MS);
	}
	if (!closed && conn_open(fd))
		printf("note: the slow connection to %s is still open after %zu bytes in 5 s\n", address,
		       sent);
	close(fd);
}

static void test_slow_grpc_client_delays_no_one(void **state)
{
	struct testnet t;
	static struct latency base, lat;
	int seq = 1;

	(void)state;
	memset(&base, 0, sizeof base);
	memset(&lat, 0, sizeof lat);
	start_node(&t, NULL);
	for (int i = 0; i < 10; i++)
		measure_grpc(&t, &base, &seq);
	/* The HTTP/2 client preface, one byte a second. */
	slow_client(&t, t.addr[0], h2_preface, sizeof h2_preface - 1, &lat, NULL, &seq);
	lat_print(&base, "baseline (gRPC)");
	lat_check(&lat, "a 1 byte/s client of the gRPC port");
	testnet_destroy(&t);
}

static void test_slow_http_client_delays_no_one(void **state)
{
	static const char req[] = "POST /inferadb.ledger.v1.Debug/Digest HTTP/1.1\r\n"
				  "Host: x\r\nContent-Type: application/json\r\n"
				  "Content-Length: 60\r\n\r\n{";
	struct testnet t;
	static struct latency base, base_http, lat, lat_http;
	int seq = 1;

	(void)state;
	memset(&base, 0, sizeof base);
	memset(&base_http, 0, sizeof base_http);
	memset(&lat, 0, sizeof lat);
	memset(&lat_http, 0, sizeof lat_http);
	start_node(&t, NULL);
	for (int i = 0; i < 10; i++) {
		measure_grpc(&t, &base, &seq);
		measure_http(&t, &base_http);
	}
	slow_client(&t, t.http[0], req, sizeof req - 1, &lat, &lat_http, &seq);
	lat_print(&base_http, "baseline (HTTP)");
	lat_print(&base, "baseline (gRPC)");
	lat_check(&lat_http, "a 1 byte/s client of the HTTP listener (HTTP calls)");
	lat_check(&lat, "a 1 byte/s client of the HTTP listener (gRPC calls)");
	testnet_destroy(&t);
}

enum { IDLE_N = 300 };
/* ledgerd's default bound on one client address's connections, on each
 * listener (--max-client-connections, docs/ledger-api.md). */
#define CLIENT_BOUND 256
/* The --header-timeout of the cases that wait for it to pass. */
#define HEADER_TIMEOUT_MS 2000
#define HEADER_TIMEOUT_ARG "2000"

/* The k-th attacker's address: on the node's network, never a node's. */
static void attacker_source(char *buf, size_t len, const struct testnet *t, int k)
{
	snprintf(buf, len, "%s.%d", t->net, 200 + k);
}

/* Open IDLE_N connections to address from source, sending each partial
 * (half of them only, when alternate is set: the others send nothing). */
static int open_idle(int *fds, const char *address, const char *source, const char *partial,
		     size_t len, int alternate)
{
	int open_n = 0;

	for (int i = 0; i < IDLE_N; i++) {
		fds[i] = open_conn_from(address, source);
		if (fds[i] < 0)
			continue;
		open_n++;
		if (!alternate || i % 2)
			(void)send(fds[i], partial, len, MSG_NOSIGNAL);
	}
	return open_n;
}

/* How many of fds[0..n) the server keeps open (they stay ours). */
static int count_open(const int *fds, int n)
{
	int still = 0;

	for (int i = 0; i < n; i++)
		still += fds[i] >= 0 && conn_open(fds[i]);
	return still;
}

/* Poll until the server keeps at most max of fds[0..n) open, for up to
 * timeout_ns; the last count. */
static int wait_open_at_most(const int *fds, int n, int max, int64_t timeout_ns)
{
	int64_t deadline = clock_mono_ns() + timeout_ns;
	int still;

	while ((still = count_open(fds, n)) > max && clock_mono_ns() < deadline)
		clock_sleep_ns(50 * NS_PER_MS);
	return still;
}

static void start_node_with(struct testnet *t, const char *arg, const char *val)
{
	memset(t, 0, sizeof *t);
	t->extra_arg = arg;
	t->extra_val = val;
	assert_int_equal(testnet_start(t, 1, NULL), 0);
	wait_leader(t, NULL);
}

/* How many of the IDLE_N connections the server keeps open; closes them. */
static int close_idle(int *fds)
{
	int still = 0;

	for (int i = 0; i < IDLE_N; i++) {
		if (fds[i] < 0)
			continue;
		still += conn_open(fds[i]);
		close(fds[i]);
	}
	return still;
}

/* Issue 17: half-open connections were kept 120 s (gRPC core's own bound,
 * and 1.51 ignores GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS on an insecure
 * port), as many as one client liked.  Now one address holds at most
 * CLIENT_BOUND (the rest are closed at once), and a connection that has
 * not sent its HTTP/2 preface within --header-timeout is closed. */
static void test_many_idle_grpc_connections(void **state)
{
	struct testnet t;
	static struct latency base, lat;
	char src[32];
	int fds[IDLE_N], open_n, seq = 1, bounded, left;
	int64_t t0;

	(void)state;
	memset(&base, 0, sizeof base);
	memset(&lat, 0, sizeof lat);
	start_node_with(&t, "--header-timeout", HEADER_TIMEOUT_ARG);
	for (int i = 0; i < 10; i++)
		measure_grpc(&t, &base, &seq);
	/* Half send nothing, half the first 10 bytes of the preface. */
	attacker_source(src, sizeof src, &t, 0);
	t0 = clock_mono_ns();
	open_n = open_idle(fds, t.addr[0], src, h2_preface, 10, 1);
	/* The bound must show before the header timeout could close anything:
	 * waited for at most half of it, from the first connection. */
	bounded = wait_open_at_most(fds, IDLE_N, CLIENT_BOUND,
				    t0 + HEADER_TIMEOUT_MS * NS_PER_MS / 2 - clock_mono_ns());
	for (int i = 0; i < 20; i++)
		measure_grpc(&t, &lat, &seq);
	left = wait_open_at_most(fds, IDLE_N, 0, HEADER_TIMEOUT_MS * NS_PER_MS + 10 * NS_PER_SEC);
	printf("%d of %d idle connections from %s to the gRPC port opened, %d kept; none left "
	       "%.1f s after they connected (--header-timeout %d ms): %d\n", open_n, IDLE_N, src,
	       bounded, (double)(clock_mono_ns() - t0) / 1e9, HEADER_TIMEOUT_MS, left);
	close_idle(fds);
	assert_int_equal(open_n, IDLE_N);
	lat_print(&base, "baseline (gRPC)");
	lat_check(&lat, "300 idle connections to the gRPC port");
	if (bounded > CLIENT_BOUND)
		fail_msg("ledgerd's gRPC port keeps %d of %d idle connections from one client address "
			 "open (bound: %d)", bounded, IDLE_N, CLIENT_BOUND);
	if (left > 0)
		fail_msg("%d connections that sent no whole HTTP/2 preface are still open well past "
			 "--header-timeout %d ms", left, HEADER_TIMEOUT_MS);
	testnet_destroy(&t);
}

static void test_many_idle_http_connections(void **state)
{
	static const char partial[] = "POST /inferadb.ledger.v1.Debug/Digest HTTP/1.1\r\nHost: x\r\n";
	struct testnet t;
	static struct latency lat, lat_http;
	char src[32];
	int fds[IDLE_N], open_n, seq = 1, still;

	(void)state;
	memset(&lat, 0, sizeof lat);
	memset(&lat_http, 0, sizeof lat_http);
	start_node(&t, NULL);
	attacker_source(src, sizeof src, &t, 0);
	open_n = open_idle(fds, t.http[0], src, partial, sizeof partial - 1, 0);
	for (int i = 0; i < 20; i++) {
		measure_http(&t, &lat_http);
		measure_grpc(&t, &lat, &seq);
	}
	printf("%d of %d half-sent connections to the HTTP listener open\n", open_n, IDLE_N);
	still = close_idle(fds);
	assert_int_equal(open_n, IDLE_N);
	lat_check(&lat_http, "300 half-sent connections to the HTTP listener (HTTP calls)");
	lat_check(&lat, "300 half-sent connections to the HTTP listener (gRPC calls)");
	/* Each holds a thread until the 120 s idle timeout (1 byte a second
	 * resets it): one address may hold no more than its share. */
	if (still > CLIENT_BOUND)
		fail_msg("ledgerd's HTTP listener keeps %d of %d half-sent connections from one "
			 "client address open (bound: %d)", still, IDLE_N, CLIENT_BOUND);
	testnet_destroy(&t);
}

/* How many descriptors process pid has open (-1 when unknown). */
static int fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* libmicrohttpd started without MHD_USE_POLL watches each connection with
 * select(), which takes no descriptor from FD_SETSIZE (1024) up; gRPC keeps
 * idle connections open (120 s without a handshake), so about 940 of them
 * pushed ledgerd's descriptors past 1024 and every new HTTP connection
 * (/metrics, /healthz, the debug faults) was refused. */
#define FD_PAST 1100
#define FD_CONNS_MAX 1500

static void test_idle_grpc_connections_leave_http_alone(void **state)
{
	static int fds[FD_CONNS_MAX];
	struct rlimit rl;
	struct testnet t;
	struct latency lat;
	struct answer a;
	long during;
	int n = 0, nfd = 0, seq = 1, recovered = 0;
	int64_t deadline;

	(void)state;
	/* Room for FD_CONNS_MAX connections in this process. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < FD_CONNS_MAX + 256 && rl.rlim_max >= FD_CONNS_MAX + 256) {
		rl.rlim_cur = FD_CONNS_MAX + 256;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < FD_CONNS_MAX + 256) {
		printf("this process may open %llu descriptors, not the %d the check needs "
		       "(ulimit -n)\n", (unsigned long long)rl.rlim_cur, FD_CONNS_MAX + 256);
		skip();
	}
	memset(&lat, 0, sizeof lat);
	start_node(&t, NULL);
	a = http_call(&t, "/metrics", NULL, 0, NULL);
	assert_int_equal(a.status, 200);
	answer_release(&a);
	while (n < FD_CONNS_MAX && (nfd = fd_count(t.pid[0])) < FD_PAST) {
		/* The kernel completes connect() before ledgerd accepts: open a
		 * batch, then count again.  Spread over addresses, CLIENT_BOUND
		 * from each: one address may hold no more. */
		for (int k = 0; k < 50 && n < FD_CONNS_MAX; k++) {
			char src[32];

			attacker_source(src, sizeof src, &t, n / (CLIENT_BOUND - 6));
			if ((fds[n] = open_conn_from(t.addr[0], src)) >= 0)
				n++;
		}
		clock_sleep_ns(20 * NS_PER_MS);
	}
	nfd = fd_count(t.pid[0]);
	a = http_call(&t, "/metrics", NULL, 0, NULL);
	during = a.status;
	answer_release(&a);
	measure_grpc(&t, &lat, &seq); /* the gRPC API itself still serves */
	for (int i = 0; i < n; i++)
		close(fds[i]);
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	while (!recovered && clock_mono_ns() < deadline) {
		a = http_call(&t, "/metrics", NULL, 0, NULL);
		recovered = a.status == 200;
		answer_release(&a);
		if (!recovered)
			clock_sleep_ns(100 * NS_PER_MS);
	}
	printf("%d idle connections to the gRPC port: ledgerd holds %d descriptors; GET /metrics: "
	       "HTTP %ld; gRPC Append and GetClusterStatus: %.1f ms at most\n", n, nfd, during,
	       lat.max_ms);
	if (nfd < FD_PAST)
		fail_msg("ledgerd holds only %d descriptors after %d idle gRPC connections (wanted %d)",
			 nfd, n, FD_PAST);
	if (!recovered)
		fail_msg("GET /metrics did not answer within 10 s after the idle connections closed");
	if (during != 200)
		fail_msg("GET /metrics answered HTTP %ld beside %d idle gRPC connections (%d "
			 "descriptors open)", during, n, nfd);
	testnet_destroy(&t);
}

/* Calls whose message never comes hold nothing in ledgerd's gRPC front end
 * (its methods are registered with the request read ahead: a call reaches
 * a worker only with its message).  Before that, each such call held one
 * of 64 workers, and 256 of them shut every other client out. */
#define STALLED 256

static void test_stalled_calls_delay_no_one(void **state)
{
	grpc_arg args[] = {
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_ENABLE_HTTP_PROXY, { .integer = 0 } },
		{ GRPC_ARG_INTEGER, (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, { .integer = 1 } },
	};
	grpc_channel_args cargs = { sizeof(args) / sizeof(args[0]), args };
	static grpc_call *calls[STALLED];
	grpc_channel_credentials *creds;
	grpc_completion_queue *cq;
	grpc_channel *ch;
	grpc_slice method;
	struct testnet t;
	struct grpc_raw_result r;
	char other[1200] = "";
	int started = 0, sent = 0, served_ok = 0, seen = 0, recovered = 0, seq = 1;
	int64_t deadline, t0;
	double blocked_ms = 0, recover_ms = 0;

	(void)state;
	start_node(&t, NULL);
	grpc_init();
	creds = grpc_insecure_credentials_create();
	ch = grpc_channel_create(t.addr[0], creds, &cargs);
	grpc_channel_credentials_release(creds);
	cq = grpc_completion_queue_create_for_next(NULL);
	method = grpc_slice_from_static_string(LEDGER_PATH_APPEND);
	/* STALLED Appends that send their headers and nothing else, with no
	 * deadline. */
	for (int i = 0; i < STALLED; i++) {
		grpc_op op;

		calls[i] = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
						    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		memset(&op, 0, sizeof op);
		op.op = GRPC_OP_SEND_INITIAL_METADATA;
		started += grpc_call_start_batch(calls[i], &op, 1, &calls[i], NULL) == GRPC_CALL_OK;
	}
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	while (sent < started && clock_mono_ns() < deadline) {
		grpc_event ev = grpc_completion_queue_next(
			cq, gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(100, GPR_TIMESPAN)),
			NULL);

		sent += ev.type == GRPC_OP_COMPLETE && ev.success;
	}
	/* Another client's Appends, each on its own connection with a 2 s
	 * deadline, for 3 s or until one is held past it. */
	deadline = clock_mono_ns() + 3 * NS_PER_SEC;
	while (sent == STALLED && !seen && !other[0] && clock_mono_ns() < deadline) {
		struct grpc_raw_opts o = GRPC_RAW_OPTS_INIT;
		size_t len;
		unsigned char *b = append_bytes(&len, "victim", (uint64_t)seq++, 1);

		o.timeout_ns = 2 * NS_PER_SEC;
		t0 = clock_mono_ns();
		if (grpc_raw_call(&r, t.addr[0], LEDGER_PATH_APPEND, b, len, &o) != 0)
			snprintf(other, sizeof other, "the victim's Append could not be started");
		else if (r.status == GRPC_STATUS_DEADLINE_EXCEEDED)
			seen = 1;
		else if (r.status == GRPC_STATUS_OK)
			served_ok++;
		else
			snprintf(other, sizeof other, "the victim's Append: %s ledger-code '%s' (%s)",
				 grpc_raw_status_name(r.status), r.ledger_code, r.message);
		blocked_ms = (double)(clock_mono_ns() - t0) / 1e6;
		grpc_raw_result_release(&r);
		free(b);
		if (!seen)
			clock_sleep_ns(100 * NS_PER_MS);
	}
	/* The stalled client goes away: its calls are cancelled, and the
	 * node must serve again (bounded poll). */
	for (int i = 0; i < STALLED; i++) {
		grpc_call_cancel(calls[i], NULL);
		grpc_call_unref(calls[i]);
		calls[i] = NULL;
	}
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
	       GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	grpc_channel_destroy(ch);
	grpc_shutdown();
	t0 = clock_mono_ns();
	deadline = t0 + 10 * NS_PER_SEC;
	while (!recovered && clock_mono_ns() < deadline) {
		struct grpc_raw_opts o = GRPC_RAW_OPTS_INIT;
		size_t len;
		unsigned char *b = append_bytes(&len, "victim", (uint64_t)seq, 1);

		o.timeout_ns = 1 * NS_PER_SEC;
		if (grpc_raw_call(&r, t.addr[0], LEDGER_PATH_APPEND, b, len, &o) == 0 &&
		    r.status == GRPC_STATUS_OK)
			recovered = 1;
		grpc_raw_result_release(&r);
		free(b);
		if (!recovered)
			clock_sleep_ns(50 * NS_PER_MS);
	}
	recover_ms = (double)(clock_mono_ns() - t0) / 1e6;
	if (sent != STALLED)
		fail_msg("only %d of %d stalled calls sent their headers within 10 s", sent, STALLED);
	if (other[0])
		fail_msg("%s", other);
	if (!recovered)
		fail_msg("ledgerd served no Append within 10 s after the stalled calls were cancelled");
	printf("%d Appends of another client served beside %d stalled calls; served again %.0f ms "
	       "after they were cancelled\n", served_ok, STALLED, recover_ms);
	if (seen)
		fail_msg("another client's Append was held %.0f ms, past its 2 s deadline, beside %d "
			 "calls that never sent their message", blocked_ms, STALLED);
	if (served_ok < 3)
		fail_msg("only %d Appends of another client were served beside the stalled calls",
			 served_ok);
	testnet_destroy(&t);
}

/* ---- the attack on a bundled cluster -------------------------------- */

/* Issue 17, finding 10: "1100 slow half-open connections lock out every
 * other client, and `cluster status` then misreports healthy nodes as
 * unreachable".  The lockout is the node's descriptor limit: 1024, the
 * soft limit a service usually gets, which the cluster's processes
 * inherit here; gRPC then cannot accept anyone, for the 120 s it keeps a
 * connection without a preface.  With ledgerd's bound the attacker holds
 * CLIENT_BOUND of them and everyone else is served. */
#define FLOOD_N 1100
#define NODE_NOFILE 1024
#define FLOOD_SOURCE "127.0.200.200"

static char *flood_dir;   /* the flood case's cluster, for its teardown */

/* drillrig args... run to its end (bounded); its exit code, stdout in *out. */
static int drillrig(char **out, const char *const args[], int64_t timeout_ms)
{
	struct drill_proc p;
	char *path;
	int rc;

	/* Its output files are appended to: each run starts them afresh. */
	path = xasprintf("%s/drillrig.out", flood_dir);
	unlink(path);
	free(path);
	path = xasprintf("%s/drillrig.err", flood_dir);
	unlink(path);
	free(path);
	if (drill_proc_start(&p, flood_dir, args) != 0)
		fail_msg("cannot start drillrig %s %s", args[0], args[1]);
	rc = drill_proc_wait(&p, timeout_ms);
	*out = drill_proc_stdout(&p);
	if (rc != 0) {
		char *e = drill_proc_stderr(&p);

		printf("drillrig %s %s: exit %d: %s\n", args[0], args[1], rc, e ? e : "");
		free(e);
	}
	return rc;
}

static int flood_teardown(void **state)
{
	struct dr_error err = DR_ERROR_INIT;

	if (flood_dir) {
		char *cdir = xasprintf("%s/c", flood_dir), *out = NULL;
		const char *const down[] = { "cluster", "down", "--cluster", cdir, NULL };

		(void)drillrig(&out, down, 60000);
		free(out);
		free(cdir);
		fs_remove_tree(flood_dir, &err);
		free(flood_dir);
		flood_dir = NULL;
	}
	return each_teardown(state);
}

/* Poll until process pid's descriptor count holds still (ledgerd has
 * accepted what it will), for up to 5 s; the last count. */
static int fd_count_settled(pid_t pid)
{
	int64_t deadline = clock_mono_ns() + 5 * NS_PER_SEC;
	int last = -2, now, same = 0;

	while (same < 3 && clock_mono_ns() < deadline) {
		clock_sleep_ns(100 * NS_PER_MS);
		now = fd_count(pid);
		same = now == last ? same + 1 : 0;
		last = now;
	}
	return last;
}

static void test_half_open_flood_locks_no_one_out(void **state)
{
	static int fds[FLOOD_N];
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	struct ledger_append_result res;
	struct rlimit rl, low;
	json_t *st;
	char *out = NULL, *cdir, *addr, status_err[256] = "";
	const char *addrs[1];
	int n = 0, rc, nfd, kept, appended = 0, status_rc;
	pid_t pid;
	int64_t deadline;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < FLOOD_N + 256 && rl.rlim_max >= FLOOD_N + 256) {
		rl.rlim_cur = FLOOD_N + 256;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	if (rl.rlim_cur < FLOOD_N + 256) {
		printf("this process may open %llu descriptors, not the %d the check needs\n",
		       (unsigned long long)rl.rlim_cur, FLOOD_N + 256);
		skip();
	}
	flood_dir = drill_tmpdir("flood");
	assert_non_null(flood_dir);
	cdir = xasprintf("%s/c", flood_dir);
	{
		const char *const up[] = { "cluster", "up", "--cluster", cdir, "--topology",
					   "primary=1", "--timing", "300ms/30ms", NULL };

		low = rl;
		low.rlim_cur = NODE_NOFILE;
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
		rc = drillrig(&out, up, 60000);
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
		free(out);
		if (rc != 0)
			fail_msg("drillrig cluster up: exit %d", rc);
	}
	{
		const char *const status[] = { "cluster", "status", "--cluster", cdir, "--json", NULL };

		rc = drillrig(&out, status, 30000);
		st = out ? json_loads(out, 0, NULL) : NULL;
		free(out);
		if (rc != 0 || !st)
			fail_msg("drillrig cluster status --json before the attack: exit %d", rc);
		addr = xstrdup(json_string_value(json_object_get(
			json_array_get(json_object_get(st, "nodes"), 0), "address")) ?: "");
		pid = (pid_t)json_integer_value(json_object_get(
			json_array_get(json_object_get(st, "nodes"), 0), "pid"));
		json_decref(st);
		assert_true(addr[0] && pid > 0);
	}
	/* The attack: FLOOD_N connections from one address, none of which
	 * ever sends its preface. */
	for (int i = 0; i < FLOOD_N; i++)
		if ((fds[n] = open_conn_from(addr, FLOOD_SOURCE)) >= 0)
			n++;
	nfd = fd_count_settled(pid);
	kept = count_open(fds, n);
	/* Another client: an Append (retried while the node answers
	 * NOT_LEADER or UNAVAILABLE, for 10 s), ... */
	addrs[0] = addr;
	opts.timeout_ms = MEASURE_TIMEOUT_MS;
	if (ledger_client_new(&c, addrs, 1, &opts, &err) != 0)
		fail_msg("cannot create a client of %s: %s", addr, err.msg);
	deadline = clock_mono_ns() + 10 * NS_PER_SEC;
	while (!(appended = ledger_append(c, "flood-victim", 1, "p", &res) == 0) &&
	       retryable(ledger_code_parse(res.code)) && clock_mono_ns() < deadline)
		clock_sleep_ns(50 * NS_PER_MS);
	ledger_client_free(c);
	/* ... and the operator's view of the cluster. */
	{
		const char *const status[] = { "cluster", "status", "--cluster", cdir, NULL };

		status_rc = drillrig(&out, status, 60000);
		if (status_rc != 0)
			snprintf(status_err, sizeof status_err, "exit %d", status_rc);
		else if (!out || strstr(out, "view partial") || !strstr(out, "\nleader ") ||
			 strstr(out, "\nleader none"))
			snprintf(status_err, sizeof status_err, "it printed: %.200s", out ? out : "");
		free(out);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	printf("%d half-open connections from %s to %s: ledgerd keeps %d of them, holds %d "
	       "descriptors (limit %d); another client's Append %s; cluster status %s\n", n,
	       FLOOD_SOURCE, addr, kept, nfd, NODE_NOFILE, appended ? "served" : "NOT served",
	       status_err[0] ? status_err : "answered with the node in its view");
	free(addr);
	free(cdir);
	assert_int_equal(n, FLOOD_N);
	if (!appended)
		fail_msg("another client's Append beside %d half-open connections from one address: "
			 "%s %s", FLOOD_N, res.code, res.message);
	if (status_err[0])
		fail_msg("drillrig cluster status beside %d half-open connections from one address: %s",
			 FLOOD_N, status_err);
	if (kept > CLIENT_BOUND)
		fail_msg("ledgerd keeps %d half-open connections from one address (bound: %d)", kept,
			 CLIENT_BOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_admin_calls_need_the_token, each_teardown),
		cmocka_unit_test_teardown(test_debug_calls_need_the_token, each_teardown),
		cmocka_unit_test_teardown(test_world_readable_token_file, each_teardown),
		cmocka_unit_test_teardown(test_listens_only_where_told, each_teardown),
		cmocka_unit_test_teardown(test_oversized_request_is_refused, each_teardown),
		cmocka_unit_test_teardown(test_read_answers_are_capped_in_bytes, each_teardown),
		{ "xfail:oversized_grpc_message_costs_no_memory", test_xfail_oversized_grpc_message,
		  NULL, each_teardown, NULL },
		cmocka_unit_test_teardown(test_slow_grpc_client_delays_no_one, each_teardown),
		cmocka_unit_test_teardown(test_slow_http_client_delays_no_one, each_teardown),
		cmocka_unit_test_teardown(test_many_idle_grpc_connections, each_teardown),
		cmocka_unit_test_teardown(test_many_idle_http_connections, each_teardown),
		cmocka_unit_test_teardown(test_stalled_calls_delay_no_one, each_teardown),
		cmocka_unit_test_teardown(test_idle_grpc_connections_leave_http_alone, each_teardown),
		cmocka_unit_test_teardown(test_half_open_flood_locks_no_one_out, flood_teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	ledger_rpc_shutdown();
	curl_global_cleanup();
	return rc;
}
