/* Probes against a real loopback HTTP server (libmicrohttpd): http status,
 * body regex and JSON fields; metric from Prometheus text and from the
 * query API; tcp; command.  The target is the runner's test double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/strbuf.h"
#include "harness/probe/probe.h"
#include "tests/support/target_double.h"

static const char metrics_text[] =
	"# HELP ledger_raft_leader 1 when this node knows a current leader\n"
	"# TYPE ledger_raft_leader gauge\n"
	"ledger_raft_leader 1\n"
	"ledger_raft_term{node=\"1\"} 7\n"
	"ledger_raft_term{node=\"2\"} 6\n";
static const char query_json[] =
	"{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
	"[{\"metric\":{\"job\":\"ledger\"},\"value\":[1700000000.1,\"3\"]}]}}";
static const char status_json[] = "{\"leader\":{\"id\":2,\"region\":\"dr\"},\"quorum\":true}";

static struct MHD_Daemon *daemon_h;
static char base_url[64];
static char last_query[256];

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	const char *body = "not found";
	unsigned code = 404;
	struct MHD_Response *resp;
	enum MHD_Result rc;

	(void)cls; (void)method; (void)version; (void)data; (void)size; (void)con_cls;
	if (strcmp(url, "/metrics") == 0) {
		body = metrics_text;
		code = 200;
	} else if (strcmp(url, "/api/v1/query") == 0) {
		const char *q = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "query");

		snprintf(last_query, sizeof(last_query), "%s", q ? q : "");
		body = query_json;
		code = 200;
	} else if (strcmp(url, "/status") == 0) {
		body = status_json;
		code = 200;
	}
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	rc = MHD_queue_response(conn, code, resp);
	MHD_destroy_response(resp);
	return rc;
}

static int setup(void **state)
{
	struct sockaddr_in a;
	const union MHD_DaemonInfo *info;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	daemon_h = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, on_request, NULL,
				    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_END);
	if (!daemon_h)
		return -1;
	info = MHD_get_daemon_info(daemon_h, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%u", (unsigned)info->port);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(daemon_h);
	return 0;
}

static struct probe_result run_probe(json_t *spec)
{
	struct target_double dbl;
	struct action_ctx ctx = ACTION_CTX_INIT;
	struct probe_result pr = PROBE_RESULT_INIT;

	target_double_init(&dbl);
	json_object_set_new(spec, "retries", json_integer(0));
	json_object_set_new(spec, "timeout", json_string("2s"));
	probe_run(&pr, &dbl.base, spec, &ctx);
	json_decref(spec);
	return pr;
}

static void test_http_status_regex_and_json(void **state)
{
	struct probe_result pr;
	char *url = xasprintf("%s/status", base_url);

	(void)state;
	pr = run_probe(json_pack("{s:s,s:s,s:{s:i,s:s,s:[{s:s,s:s}]}}", "type", "http", "url", url,
				 "expect", "status", 200, "body_regex", "\"quorum\":true",
				 "json", "path", "leader.region", "equals", "dr"));
	assert_true(pr.ok);
	probe_result_release(&pr);
	pr = run_probe(json_pack("{s:s,s:s,s:{s:[{s:s,s:s}]}}", "type", "http", "url", url,
				 "expect", "json", "path", "leader.region", "equals", "primary"));
	assert_false(pr.ok);
	assert_non_null(strstr(pr.message, "leader.region"));
	probe_result_release(&pr);
	free(url);
	url = xasprintf("%s/missing", base_url);
	pr = run_probe(json_pack("{s:s,s:s}", "type", "http", "url", url));
	assert_false(pr.ok);
	assert_non_null(strstr(pr.message, "404"));
	probe_result_release(&pr);
	free(url);
}

static void test_metric_from_text(void **state)
{
	struct probe_result pr;
	char *url = xasprintf("%s/metrics", base_url);

	(void)state;
	pr = run_probe(json_pack("{s:s,s:s,s:s,s:s,s:f}", "type", "metric", "url", url,
				 "name", "ledger_raft_leader", "op", "eq", "value", 1.0));
	assert_true(pr.ok);
	probe_result_release(&pr);
	pr = run_probe(json_pack("{s:s,s:s,s:s,s:{s:s},s:s,s:f}", "type", "metric", "url", url,
				 "name", "ledger_raft_term", "labels", "node", "2", "op", "ge",
				 "value", 7.0));
	assert_false(pr.ok); /* node 2's term is 6 */
	probe_result_release(&pr);
	free(url);
}

static void test_metric_from_query_api(void **state)
{
	struct probe_result pr;

	(void)state;
	pr = run_probe(json_pack("{s:s,s:s,s:s,s:s,s:f}", "type", "metric", "url", base_url,
				 "query", "sum(ledger_raft_leader) by (job)", "op", "ge", "value", 3.0));
	assert_true(pr.ok);
	assert_string_equal(last_query, "sum(ledger_raft_leader) by (job)");
	probe_result_release(&pr);
	pr = run_probe(json_pack("{s:s,s:s,s:s,s:s,s:f}", "type", "metric", "url", base_url,
				 "query", "up", "op", "lt", "value", 3.0));
	assert_false(pr.ok);
	probe_result_release(&pr);
}

static void test_tcp_and_command(void **state)
{
	struct probe_result pr;
	char *addr = xasprintf("%s", base_url + strlen("http://"));

	(void)state;
	pr = run_probe(json_pack("{s:s,s:s}", "type", "tcp", "address", addr));
	assert_true(pr.ok);
	probe_result_release(&pr);
	pr = run_probe(json_pack("{s:s,s:s}", "type", "tcp", "address", "127.0.0.1:1"));
	assert_false(pr.ok);
	probe_result_release(&pr);
	pr = run_probe(json_pack("{s:s,s:[s,s],s:{s:i,s:s}}", "type", "command", "argv", "echo",
				 "hello drill", "expect", "exit_code", 0, "stdout_regex", "^hello"));
	assert_true(pr.ok);
	probe_result_release(&pr);
	pr = run_probe(json_pack("{s:s,s:[s],s:{s:i}}", "type", "command", "argv", "false",
				 "expect", "exit_code", 0));
	assert_false(pr.ok);
	assert_non_null(strstr(pr.message, "exited with 1"));
	probe_result_release(&pr);
	free(addr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_status_regex_and_json),
		cmocka_unit_test(test_metric_from_text),
		cmocka_unit_test(test_metric_from_query_api),
		cmocka_unit_test(test_tcp_and_command),
	};

	return cmocka_run_group_tests_name("probe_http", tests, setup, teardown);
}
