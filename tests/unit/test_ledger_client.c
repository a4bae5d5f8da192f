/* The ledger client against scripted fake servers (libmicrohttpd on
 * ephemeral loopback ports): outcome classification, node switching on
 * NOT_LEADER / timeouts / refused connections, keep-alive, ledger_call, and
 * (through common/http_pool.c, which the etcd target shares) no proxy. */
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

#include <microhttpd.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"

enum mode { M_OK, M_NOT_LEADER, M_NOT_LEADER_NULL, M_UNKNOWN, M_SLOW, M_UNAVAILABLE, M_GARBAGE };

struct fake {
	struct MHD_Daemon *d;
	char addr[64];
	volatile int mode;
	volatile int connections;
	volatile int requests;
	char leader[64];           /* for M_NOT_LEADER */
	char last_body[1024];
	char last_path[256];
};

static struct fake servers[2];

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **ctx)
{
	struct fake *f = cls;
	struct strbuf *body = *ctx;
	struct MHD_Response *resp;
	const char *text = NULL;
	char buf[256];
	int status = 200;
	enum MHD_Result ret;

	(void)method;
	(void)version;
	if (!body) {
		body = xcalloc(1, sizeof *body);
		*ctx = body;
		return MHD_YES;
	}
	if (*upload_size) {
		strbuf_add(body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	f->requests++;
	str_copy(f->last_body, sizeof f->last_body, body->buf ? body->buf : "");
	str_copy(f->last_path, sizeof f->last_path, url);
	switch (f->mode) {
	case M_OK:
		text = "{\"index\":42,\"term\":3}";
		break;
	case M_NOT_LEADER:
		snprintf(buf, sizeof buf, "{\"code\":\"NOT_LEADER\",\"message\":\"no\",\"leader\":\"%s\"}", f->leader);
		text = buf;
		status = 421;
		break;
	case M_NOT_LEADER_NULL:
		text = "{\"code\":\"NOT_LEADER\",\"message\":\"no\",\"leader\":null}";
		status = 421;
		break;
	case M_UNKNOWN:
		text = "{\"code\":\"UNKNOWN_OUTCOME\",\"message\":\"leadership lost\"}";
		status = 500;
		break;
	case M_SLOW:
		clock_sleep_ns(400 * NS_PER_MS);
		text = "{\"index\":1,\"term\":1}";
		break;
	case M_UNAVAILABLE:
		text = "{\"code\":\"UNAVAILABLE\",\"message\":\"not ready\"}";
		status = 503;
		break;
	default:
		text = "<html>bad gateway</html>";
		status = 502;
	}
	resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx, enum MHD_RequestTerminationCode t)
{
	struct strbuf *body = *ctx;

	(void)cls;
	(void)c;
	(void)t;
	if (body) {
		strbuf_release(body);
		free(body);
	}
	*ctx = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct fake *f = cls;

	(void)c;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		f->connections++;
}

static int start_fake(struct fake *f)
{
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	f->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
				NULL, handler, f, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_NOTIFY_COMPLETED, completed, f,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, f, MHD_OPTION_END);
	if (!f->d)
		return -1;
	info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(f->addr, sizeof f->addr, "127.0.0.1:%u", (unsigned)info->port);
	return 0;
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
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	close(fd);
	snprintf(out, len, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
}

static struct ledger_client *client_for(const char *a, const char *b, long timeout_ms)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[2] = { a, b };

	opts.timeout_ms = timeout_ms;
	if (ledger_client_new(&c, addrs, b ? 2 : 1, &opts, &err) != 0)
		fail_msg("client: %s", err.msg);
	return c;
}

static void test_ok_and_keep_alive(void **state)
{
	struct ledger_client *c = client_for(servers[0].addr, servers[1].addr, 1000);
	struct ledger_append_result res;
	int i, before = servers[0].connections;
	json_t *sent;

	(void)state;
	servers[0].mode = M_OK;
	for (i = 0; i < 5; i++) {
		assert_int_equal(ledger_append(c, "c1", (uint64_t)i + 7, "pay \"load\"", &res), 0);
		assert_int_equal(res.outcome, LEDGER_OUTCOME_OK);
		assert_int_equal(res.index, 42);
		assert_int_equal(res.term, 3);
		assert_int_equal(res.node, 0);
		assert_int_equal(res.http_status, 200);
		assert_string_equal(res.code, "");
	}
	/* one connection reused for every call */
	assert_int_equal(servers[0].connections - before, 1);
	assert_string_equal(servers[0].last_path, "/inferadb.ledger.v1.Ledger/Append");
	sent = json_loads(servers[0].last_body, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(sent, "client_id")), "c1");
	assert_int_equal(json_integer_value(json_object_get(sent, "sequence")), 11);
	assert_string_equal(json_string_value(json_object_get(sent, "payload")), "pay \"load\"");
	json_decref(sent);
	ledger_client_free(c);
}

static void test_not_leader_follows_the_hint(void **state)
{
	struct ledger_client *c = client_for(servers[0].addr, servers[1].addr, 1000);
	struct ledger_append_result res;

	(void)state;
	servers[0].mode = M_NOT_LEADER;
	str_copy(servers[0].leader, sizeof servers[0].leader, servers[1].addr);
	servers[1].mode = M_OK;
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_string_equal(res.code, "NOT_LEADER");
	assert_string_equal(res.leader, servers[1].addr);
	assert_int_equal(res.http_status, 421);
	assert_int_equal(ledger_client_current(c), 1);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), 0);
	assert_int_equal(res.node, 1);
	/* no hint: the next node */
	servers[1].mode = M_NOT_LEADER_NULL;
	assert_int_equal(ledger_append(c, "c", 2, "x", &res), -1);
	assert_int_equal(ledger_client_current(c), 0);
	ledger_client_free(c);
}

static void test_unknown_outcomes(void **state)
{
	struct ledger_client *c = client_for(servers[0].addr, servers[1].addr, 100);
	struct ledger_append_result res;

	(void)state;
	servers[0].mode = M_UNKNOWN;
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	assert_string_equal(res.code, "UNKNOWN_OUTCOME");
	assert_int_equal(ledger_client_current(c), 0); /* the node answered */
	servers[0].mode = M_GARBAGE;
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	servers[0].mode = M_SLOW; /* a timeout after sending: unknown, next node */
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	assert_string_equal(res.code, "TRANSPORT");
	assert_true(res.timed_out);
	assert_false(res.refused);
	assert_true(res.latency_ns < 350 * NS_PER_MS);
	assert_int_equal(ledger_client_current(c), 1);
	servers[0].mode = M_OK;
	servers[1].mode = M_UNAVAILABLE; /* definite, stays */
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_string_equal(res.code, "UNAVAILABLE");
	assert_int_equal(ledger_client_current(c), 1);
	ledger_client_free(c);
}

static void test_refused_connection_is_definite(void **state)
{
	char dead[64];
	struct ledger_client *c;
	struct ledger_append_result res;

	(void)state;
	dead_address(dead, sizeof dead);
	c = client_for(dead, servers[0].addr, 500);
	servers[0].mode = M_OK;
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), -1);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_string_equal(res.code, "TRANSPORT");
	assert_true(res.refused);
	assert_false(res.timed_out);
	assert_int_equal(res.http_status, 0);
	assert_int_equal(ledger_client_current(c), 1);
	assert_int_equal(ledger_append(c, "c", 1, "x", &res), 0);
	ledger_client_free(c);
}

static void test_generic_call(void **state)
{
	struct ledger_client *c = client_for(servers[0].addr, "http://127.0.0.1:1", 1000);
	struct dr_error err = DR_ERROR_INIT;
	json_t *resp = NULL, *req = json_pack("{s:i}", "x", 1);
	long status = 0;

	(void)state;
	assert_int_equal(ledger_client_size(c), 2);
	assert_string_equal(ledger_client_address(c, 1), "127.0.0.1:1");
	servers[0].mode = M_UNAVAILABLE;
	assert_int_equal(ledger_call(c, 0, "inferadb.ledger.v1.Admin/GetClusterStatus", req, &resp, &status, &err), 0);
	assert_int_equal(status, 503);
	assert_string_equal(json_string_value(json_object_get(resp, "code")), "UNAVAILABLE");
	assert_string_equal(servers[0].last_path, "/inferadb.ledger.v1.Admin/GetClusterStatus");
	assert_string_equal(servers[0].last_body, "{\"x\":1}");
	json_decref(resp);
	servers[0].mode = M_GARBAGE;
	assert_int_equal(ledger_call(c, 0, "inferadb.ledger.v1.Admin/GetClusterStatus", NULL, &resp, &status, &err), -1);
	assert_non_null(strstr(err.msg, "not JSON"));
	assert_int_equal(ledger_call(c, 1, "inferadb.ledger.v1.Admin/GetClusterStatus", NULL, &resp, &status, &err), -1);
	assert_non_null(strstr(err.msg, "127.0.0.1:1"));
	assert_int_equal(ledger_call(c, 5, "x/Y", NULL, &resp, &status, &err), -1);
	json_decref(req);
	ledger_client_free(c);
}

/* CI runners set http_proxy: calls to the drill's own nodes must never go
 * through it (common/http_pool.c, shared with the etcd target). */
static void test_environment_proxy_is_ignored(void **state)
{
	struct ledger_client *c;
	struct ledger_append_result res;

	(void)state;
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
	c = client_for(servers[0].addr, servers[1].addr, 1000);
	servers[0].mode = M_OK;
	assert_int_equal(ledger_append(c, "c1", 1, "p", &res), 0);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_OK);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("ALL_PROXY");
	ledger_client_free(c);
}

static int setup(void **state)
{
	(void)state;
	memset(servers, 0, sizeof servers);
	return start_fake(&servers[0]) || start_fake(&servers[1]);
}

static int teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(servers[0].d);
	MHD_stop_daemon(servers[1].d);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_and_keep_alive),
		cmocka_unit_test(test_not_leader_follows_the_hint),
		cmocka_unit_test(test_unknown_outcomes),
		cmocka_unit_test(test_refused_connection_is_definite),
		cmocka_unit_test(test_generic_call),
		cmocka_unit_test(test_environment_proxy_is_ignored),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
