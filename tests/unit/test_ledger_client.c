/* The ledger client against scripted fake gRPC servers
 * (tests/support/fake_grpc_server.h, on ephemeral loopback ports): how each
 * answer is classified (OK, definite failure, unknown outcome), node
 * switching on NOT_LEADER / dead nodes / timeouts, one connection reused,
 * quick reconnection after a node comes back, ledger_call's wire code and
 * error body, the admin token, and no proxy from the environment. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "inferadb/ledger/v1/ledger.pb-c.h"
#include "ledger/client/client.h"
#include "ledger/client/rpc.h"
#include "tests/support/fake_grpc_server.h"
#include "tests/support/grpc_raw.h"

#define APPEND_PATH "/inferadb.ledger.v1.Ledger/Append"
#define STATUS_METHOD "inferadb.ledger.v1.Admin/GetClusterStatus"
#define TRANSFER_METHOD "inferadb.ledger.v1.Admin/RequestLeaderTransfer"

static struct fake_grpc_server *servers[2];

static const char *addr(int i)
{
	return fake_grpc_server_address(servers[i]);
}

static void seen(int i, struct fake_grpc_seen *out)
{
	fake_grpc_server_seen(servers[i], out);
}

/* A loopback port nobody listens on (bound, then closed). */
static void dead_address(char *out, size_t len)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	snprintf(out, len, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
}

static struct ledger_client *client_with(const char *a, const char *b, long timeout_ms,
					 const char *token)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[2] = { a, b };

	opts.timeout_ms = timeout_ms;
	opts.admin_timeout_ms = 2000;
	opts.admin_token = token;
	if (ledger_client_new(&c, addrs, b ? 2 : 1, &opts, &err) != 0)
		fail_msg("client: %s", err.msg);
	return c;
}

static struct ledger_client *client_for(const char *a, const char *b, long timeout_ms)
{
	return client_with(a, b, timeout_ms, NULL);
}

/* The Append request the server received, decoded with the generated code. */
static Inferadb__Ledger__V1__AppendRequest *last_append(int server)
{
	struct fake_grpc_seen s;
	Inferadb__Ledger__V1__AppendRequest *r;

	seen(server, &s);
	assert_string_equal(s.last_path, APPEND_PATH);
	r = inferadb__ledger__v1__append_request__unpack(NULL, s.last_request_len, s.last_request);
	assert_non_null(r);
	return r;
}

static void test_ok_on_one_connection(void **state)
{
	struct ledger_client *c = client_for(addr(0), addr(1), 1000);
	struct ledger_append_result res;
	struct fake_grpc_seen before, after;
	Inferadb__Ledger__V1__AppendRequest *sent;

	(void)state;
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_OK);
	fake_grpc_server_set_index(servers[0], 42, 3);
	seen(0, &before);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(ledger_append(c, "c1", (uint64_t)i + 7, "pay \"load\"", &res), 0);
		assert_int_equal(res.outcome, LEDGER_OUTCOME_OK);
		assert_int_equal(res.index, 42);
		assert_int_equal(res.term, 3);
		assert_int_equal(res.node, 0);
		assert_int_equal(res.http_status, 200);
		assert_string_equal(res.code, "");
		assert_string_equal(res.message, "");
	}
	seen(0, &after);
	assert_int_equal(after.calls - before.calls, 5);
	/* one connection (one HTTP/2 peer) carried every call */
	assert_int_equal(after.connections - before.connections, 1);
	assert_false(after.last_had_authorization);
	sent = last_append(0);
	assert_string_equal(sent->client_id, "c1");
	assert_int_equal(sent->sequence, 11);
	assert_string_equal(sent->payload, "pay \"load\"");
	inferadb__ledger__v1__append_request__free_unpacked(sent, NULL);
	assert_int_equal(ledger_client_current(c), 0);
	ledger_client_free(c);
}

static void test_not_leader_follows_the_hint(void **state)
{
	struct ledger_client *c = client_for(addr(0), addr(1), 1000);
	struct ledger_append_result res;
	char stranger[64];

	(void)state;
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_NOT_LEADER);
	fake_grpc_server_set_leader(servers[0], addr(1), 2, 7);
	fake_grpc_server_set_mode(servers[1], FAKE_GRPC_OK);
	fake_grpc_server_set_index(servers[1], 5, 7);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_string_equal(res.code, "NOT_LEADER");
	assert_string_equal(res.leader, addr(1));
	assert_string_equal(res.message, "this node is not the leader");
	assert_int_equal(res.http_status, 421);
	assert_false(res.refused);
	assert_false(res.timed_out);
	assert_int_equal(res.node, 0);
	assert_int_equal(ledger_client_current(c), 1);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), 0);
	assert_int_equal(res.node, 1);
	assert_int_equal(res.index, 5);
	assert_int_equal(res.term, 7);

	/* no hint: the next node */
	fake_grpc_server_set_mode(servers[1], FAKE_GRPC_NOT_LEADER);
	fake_grpc_server_set_leader(servers[1], NULL, 0, 0);
	assert_int_equal(ledger_append(c, "c", 2, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_string_equal(res.code, "NOT_LEADER");
	assert_string_equal(res.leader, "");
	assert_int_equal(ledger_client_current(c), 0);

	/* a leader the client does not know: the next node, the hint kept */
	dead_address(stranger, sizeof(stranger));
	fake_grpc_server_set_leader(servers[0], stranger, 9, 7);
	assert_int_equal(ledger_append(c, "c", 2, "x", &res), -1);
	assert_string_equal(res.leader, stranger);
	assert_int_equal(ledger_client_current(c), 1);
	ledger_client_free(c);
}

static void test_unknown_outcomes(void **state)
{
	struct ledger_client *c = client_for(addr(0), addr(1), 100);
	struct ledger_append_result res;

	(void)state;
	fake_grpc_server_set_mode(servers[1], FAKE_GRPC_OK);

	/* the node says it does not know: unknown, and it stays current */
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_UNKNOWN_OUTCOME);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	assert_string_equal(res.code, "UNKNOWN_OUTCOME");
	assert_int_equal(res.http_status, 500);
	assert_int_equal(ledger_client_current(c), 0);

	/* an answer that is no AppendResponse: unknown, the next node */
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_GARBAGE);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	assert_string_equal(res.code, "TRANSPORT");
	assert_false(res.refused);
	assert_int_equal(ledger_client_current(c), 1);

	/* the deadline passed after the request went out: unknown, next node */
	ledger_client_set_current(c, 0);
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_SLOW);
	fake_grpc_server_set_delay(servers[0], 400);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	assert_string_equal(res.code, "TRANSPORT");
	assert_true(res.timed_out);
	assert_false(res.refused);
	assert_int_equal(res.http_status, 0);
	assert_true(res.latency_ns >= 90 * NS_PER_MS);
	assert_true(res.latency_ns < 350 * NS_PER_MS);
	assert_int_equal(ledger_client_current(c), 1);

	/* UNAVAILABLE without a ledger-code is no node's answer: unknown */
	ledger_client_set_current(c, 0);
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_BARE_UNAVAILABLE);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	assert_string_equal(res.code, "TRANSPORT");
	assert_false(res.refused);
	assert_false(res.timed_out);
	assert_int_equal(ledger_client_current(c), 1);

	/* the node's own UNAVAILABLE (writes refused): definite, it stays */
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_OK);
	fake_grpc_server_set_mode(servers[1], FAKE_GRPC_LEDGER_UNAVAILABLE);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_string_equal(res.code, "UNAVAILABLE");
	assert_string_equal(res.message, "writes are refused");
	assert_int_equal(res.http_status, 503);
	assert_int_equal(ledger_client_current(c), 1);
	fake_grpc_server_set_mode(servers[1], FAKE_GRPC_OK);
	ledger_client_free(c);
}

/* A server that answered UNAVAILABLE got the request, whatever its message
 * says: only gRPC's own "could not connect" makes a write definitely not
 * sent.  (A proxy in front of a node answers such messages.) */
static void test_answer_mentioning_refused_is_not_definite(void **state)
{
	struct ledger_client *c = client_for(addr(0), addr(1), 1000);
	struct ledger_append_result res;

	(void)state;
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_BARE_UNAVAILABLE);
	fake_grpc_server_set_message(servers[0], "upstream connect error or disconnect/reset before "
				     "headers. reset reason: connection failure, transport failure "
				     "reason: delayed connect error: Connection refused");
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	fake_grpc_server_set_message(servers[0], NULL);
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_OK);
	assert_string_equal(res.code, "TRANSPORT");
	assert_false(res.refused);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	ledger_client_free(c);
}

static void test_refused_connection_is_definite(void **state)
{
	char dead[64];
	struct ledger_client *c;
	struct ledger_append_result res;

	(void)state;
	dead_address(dead, sizeof dead);
	c = client_for(dead, addr(0), 500);
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_OK);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_string_equal(res.code, "TRANSPORT");
	assert_true(res.refused);
	assert_false(res.timed_out);
	assert_int_equal(res.http_status, 0);
	assert_int_equal(res.node, 0);
	/* refused at once, not after the deadline */
	assert_true(res.latency_ns < 400 * NS_PER_MS);
	assert_int_equal(ledger_client_current(c), 1);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), 0);
	assert_int_equal(res.node, 1);
	ledger_client_free(c);
}

/* A node that comes back is used again within milliseconds, however long
 * it refused: gRPC's default reconnect backoff (1 s, growing) and its
 * resolver's 30 s between resolutions would hide the end of an outage from
 * an RTO measurement (ledger/client/rpc.c sets both to milliseconds). */
static void test_reconnects_quickly_after_restart(void **state)
{
	struct fake_grpc_server *f = NULL;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c;
	struct ledger_append_result res;
	int64_t restarted, deadline, took = -1;
	int port;

	(void)state;
	assert_int_equal(fake_grpc_server_start(&f, 0, &err), 0);
	port = fake_grpc_server_port(f);
	c = client_for(fake_grpc_server_address(f), NULL, 500);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), 0);

	/* the node goes away: the channel's next connection attempt fails and
	 * its backoff starts */
	fake_grpc_server_stop(f);
	f = NULL;
	deadline = clock_mono_ns() + 5 * NS_PER_SEC;
	do
		ledger_append(c, "c", 2, "x", &res);
	while (!res.refused && clock_mono_ns() < deadline);
	if (!res.refused)
		fail_msg("a stopped server's port was not refused: %s %s", res.code, res.message);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	/* A workload keeps trying while the node is down: every refusal asks
	 * the resolver again, which by default then waits 30 s between
	 * resolutions (the channel came back ~4.4 s late). */
	deadline = clock_mono_ns() + 600 * NS_PER_MS;
	while (clock_mono_ns() < deadline) {
		ledger_append(c, "c", 2, "x", &res);
		assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
		clock_sleep_ns(50 * NS_PER_MS);
	}

	/* it comes back on the same port */
	if (fake_grpc_server_start(&f, port, &err) != 0)
		fail_msg("restart on port %d: %s", port, err.msg);
	restarted = clock_mono_ns();
	deadline = restarted + 10 * NS_PER_SEC;
	while (clock_mono_ns() < deadline) {
		if (ledger_append(c, "c", 2, "x", &res) == 0) {
			took = clock_mono_ns() - restarted;
			break;
		}
		clock_sleep_ns(2 * NS_PER_MS);
	}
	fake_grpc_server_stop(f);
	if (took < 0)
		fail_msg("no call succeeded within 10 s of the restart: %s %s", res.code, res.message);
	fprintf(stderr, "# first successful call %.1f ms after the restart\n",
		(double)took / NS_PER_MS);
	/* gRPC's defaults wait 0.8-1.2 s after the first failed attempt */
	if (took > 500 * NS_PER_MS)
		fail_msg("the first successful call came %.0f ms after the restart (want < 500 ms)",
			 (double)took / NS_PER_MS);
	ledger_client_free(c);
}

static void test_generic_call(void **state)
{
	struct ledger_client *c = client_for(addr(0), "http://127.0.0.1:1", 1000);
	struct dr_error err = DR_ERROR_INIT;
	json_t *resp = NULL, *req = json_pack("{s:i}", "node_id", 3);
	enum ledger_code code = LEDGER_OK;
	struct fake_grpc_seen s;
	Inferadb__Ledger__V1__RequestLeaderTransferRequest *tr;
	Inferadb__Ledger__V1__ClusterStatus st = INFERADB__LEDGER__V1__CLUSTER_STATUS__INIT;
	unsigned char packed[256];

	(void)state;
	assert_int_equal(ledger_client_size(c), 2);
	assert_string_equal(ledger_client_address(c, 1), "127.0.0.1:1");

	/* an error answer: its wire code and {"code","message"} */
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_LEDGER_UNAVAILABLE);
	assert_int_equal(ledger_call(c, 0, TRANSFER_METHOD, req, &resp, &code, &err), 0);
	assert_int_equal(code, LEDGER_UNAVAILABLE);
	assert_string_equal(json_string_value(json_object_get(resp, "code")), "UNAVAILABLE");
	assert_string_equal(json_string_value(json_object_get(resp, "message")), "writes are refused");
	assert_null(json_object_get(resp, "leader"));
	json_decref(resp);
	seen(0, &s);
	assert_string_equal(s.last_path, "/" TRANSFER_METHOD);
	tr = inferadb__ledger__v1__request_leader_transfer_request__unpack(NULL, s.last_request_len,
									    s.last_request);
	assert_non_null(tr);
	assert_int_equal(tr->node_id, 3);
	inferadb__ledger__v1__request_leader_transfer_request__free_unpacked(tr, NULL);

	/* NOT_LEADER: the leader from the ErrorDetails in the body */
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_NOT_LEADER);
	fake_grpc_server_set_leader(servers[0], "127.0.0.9:50051", 4, 12);
	assert_int_equal(ledger_call(c, 0, STATUS_METHOD, NULL, &resp, &code, &err), 0);
	assert_int_equal(code, LEDGER_NOT_LEADER);
	assert_string_equal(json_string_value(json_object_get(resp, "code")), "NOT_LEADER");
	assert_string_equal(json_string_value(json_object_get(resp, "message")),
			    "this node is not the leader");
	assert_string_equal(json_string_value(json_object_get(resp, "leader")), "127.0.0.9:50051");
	assert_int_equal(json_integer_value(json_object_get(resp, "leader_id")), 4);
	json_decref(resp);
	/* ... and without a leader: "leader": null, no leader_id */
	fake_grpc_server_set_leader(servers[0], NULL, 0, 0);
	assert_int_equal(ledger_call(c, 0, STATUS_METHOD, NULL, &resp, &code, &err), 0);
	assert_int_equal(code, LEDGER_NOT_LEADER);
	assert_true(json_is_null(json_object_get(resp, "leader")));
	assert_null(json_object_get(resp, "leader_id"));
	json_decref(resp);

	/* OK: the answer with every field, zero values included */
	st.cluster_id = "c-fake";
	st.term = 9;
	assert_true(inferadb__ledger__v1__cluster_status__get_packed_size(&st) <= sizeof(packed));
	fake_grpc_server_set_answer(servers[0], packed, inferadb__ledger__v1__cluster_status__pack(&st, packed));
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_OK);
	assert_int_equal(ledger_call(c, 0, STATUS_METHOD, NULL, &resp, &code, &err), 0);
	assert_int_equal(code, LEDGER_OK);
	assert_string_equal(json_string_value(json_object_get(resp, "cluster_id")), "c-fake");
	assert_int_equal(json_integer_value(json_object_get(resp, "term")), 9);
	assert_true(json_is_false(json_object_get(resp, "quorum")));
	assert_true(json_is_array(json_object_get(resp, "members")));
	json_decref(resp);
	fake_grpc_server_set_answer(servers[0], NULL, 0);

	/* no usable answer: -1, the error names the node */
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_GARBAGE);
	resp = NULL;
	assert_int_equal(ledger_call(c, 0, STATUS_METHOD, NULL, &resp, &code, &err), -1);
	assert_null(resp);
	assert_int_equal(code, LEDGER_CODE_COUNT);
	assert_non_null(strstr(err.msg, addr(0)));
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_OK);
	assert_int_equal(ledger_call(c, 1, STATUS_METHOD, NULL, &resp, &code, &err), -1);
	assert_non_null(strstr(err.msg, "127.0.0.1:1"));
	assert_int_equal(ledger_call(c, 5, STATUS_METHOD, NULL, &resp, &code, &err), -1);
	assert_int_equal(ledger_call(c, 0, "x/Y", NULL, &resp, &code, &err), -1);
	assert_non_null(strstr(err.msg, "x/Y"));
	json_decref(req);
	ledger_client_free(c);
}

/* The admin token travels as "authorization: Bearer <token>" on every call;
 * without one, no authorization metadata at all. */
static void test_admin_token_is_a_bearer(void **state)
{
	struct ledger_client *c = client_with(addr(0), NULL, 1000, "s3cr3t-token");
	struct ledger_append_result res;
	struct dr_error err = DR_ERROR_INIT;
	struct fake_grpc_seen s;
	enum ledger_code code;
	json_t *resp = NULL;

	(void)state;
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_OK);
	assert_int_equal(ledger_call(c, 0, STATUS_METHOD, NULL, &resp, &code, &err), 0);
	json_decref(resp);
	seen(0, &s);
	assert_true(s.last_had_authorization);
	assert_string_equal(s.last_authorization, "Bearer s3cr3t-token");
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), 0);
	seen(0, &s);
	assert_string_equal(s.last_authorization, "Bearer s3cr3t-token");
	ledger_client_free(c);

	c = client_for(addr(0), NULL, 1000);
	assert_int_equal(ledger_call(c, 0, STATUS_METHOD, NULL, &resp, &code, &err), 0);
	json_decref(resp);
	seen(0, &s);
	assert_false(s.last_had_authorization);
	ledger_client_free(c);
}

/* CI runners set http_proxy: calls to the drill's own nodes must never go
 * through it (GRPC_ARG_ENABLE_HTTP_PROXY 0 in ledger/client/rpc.c).  The
 * control call shows gRPC would otherwise use the dead proxy. */
static void test_environment_proxy_is_ignored(void **state)
{
	static const char *const vars[] = { "grpc_proxy", "http_proxy", "HTTP_PROXY", "https_proxy",
					    "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
	static const char *const exempt[] = { "no_grpc_proxy", "no_proxy", "NO_PROXY" };
	char *saved[3] = { NULL, NULL, NULL };
	char dead[64], proxy[80];
	struct grpc_raw_opts ro = GRPC_RAW_OPTS_INIT;
	struct grpc_raw_result raw;
	struct ledger_client *c;
	struct ledger_append_result res;
	int control;

	(void)state;
	dead_address(dead, sizeof(dead));
	snprintf(proxy, sizeof(proxy), "http://%s", dead);
	for (size_t i = 0; i < 3; i++) {
		saved[i] = getenv(exempt[i]) ? xstrdup(getenv(exempt[i])) : NULL;
		unsetenv(exempt[i]);
	}
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		setenv(vars[i], proxy, 1);
	fake_grpc_server_set_mode(servers[0], FAKE_GRPC_OK);

	/* control: a channel that honours the environment fails */
	ro.use_proxy_env = 1;
	ro.timeout_ns = 2 * NS_PER_SEC;
	assert_int_equal(grpc_raw_call(&raw, addr(0), APPEND_PATH, "", 0, &ro), 0);
	control = raw.status;
	grpc_raw_result_release(&raw);

	c = client_for(addr(0), addr(1), 1000);
	ledger_append(c, "c1", 1, "p", &res);
	ledger_client_free(c);
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	for (size_t i = 0; i < 3; i++) {
		if (saved[i])
			setenv(exempt[i], saved[i], 1);
		free(saved[i]);
	}
	if (control == 0)
		fail_msg("control: a call through the dead proxy %s succeeded; the test proves nothing",
			 proxy);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_OK);
	assert_int_equal(res.index, 42);
}

static int setup(void **state)
{
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	if (fake_grpc_server_start(&servers[0], 0, &err) != 0 ||
	    fake_grpc_server_start(&servers[1], 0, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_grpc_server_stop(servers[0]);
	fake_grpc_server_stop(servers[1]);
	ledger_rpc_shutdown();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_on_one_connection),
		cmocka_unit_test(test_not_leader_follows_the_hint),
		cmocka_unit_test(test_unknown_outcomes),
		cmocka_unit_test(test_answer_mentioning_refused_is_not_definite),
		cmocka_unit_test(test_refused_connection_is_definite),
		cmocka_unit_test(test_reconnects_quickly_after_restart),
		cmocka_unit_test(test_generic_call),
		cmocka_unit_test(test_admin_token_is_a_bearer),
		cmocka_unit_test(test_environment_proxy_is_ignored),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
