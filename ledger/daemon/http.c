/* The HTTP listener of ledgerd: /metrics, /healthz and the debug faults
 * (ledger/daemon/http.h).  The API itself is gRPC (grpc_server.c). */
#include "ledger/daemon/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/dispatch.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/routes.h"


struct conn_ctx {
	struct strbuf body;
	int too_big;
};

static enum MHD_Result send_json(struct MHD_Connection *conn, int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT);
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;

	if (!text)
		text = xstrdup("{\"code\":\"UNKNOWN_OUTCOME\",\"message\":\"cannot encode answer\"}");
	len = strlen(text);
	text = xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_error(struct ledgerd_node *n, struct MHD_Connection *conn,
				  const char *method, int64_t start, enum ledger_code code,
				  const char *message)
{
	json_t *o = json_pack("{s:s, s:s}", "code", ledger_code_name(code), "message", message);
	enum MHD_Result ret = send_json(conn, ledger_code_http_status(code), o);

	json_decref(o);
	ledgerd_metrics_observe(&n->metrics, method, code, (double)(clock_mono_ns() - start) / 1e9);
	return ret;
}

/* A drill opens a few connections per thread; this leaves room for that
 * and for hundreds of slow clients while bounding the daemon's threads. */
#define LEDGERD_MAX_CONNECTIONS 1024

/* ---- request handling ---- */

static enum MHD_Result serve_metrics(struct ledgerd_node *n, struct MHD_Connection *conn)
{
	struct strbuf sb = STRBUF_INIT;
	struct ledgerd_gauges g;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;

	pthread_mutex_lock(&n->mu);
	g = n->gauges;
	pthread_mutex_unlock(&n->mu);
	ledgerd_metrics_render(&sb, &n->metrics, &g, &n->transport.counters, n->cfg.id, n->cfg.region, n->cfg.role);
	len = sb.len;
	resp = MHD_create_response_from_buffer(len, strbuf_detach(&sb), MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A debug method (only with --enable-debug) through the loop. */
static enum MHD_Result run_debug(struct ledgerd_node *n, struct MHD_Connection *conn,
				 const struct ledgerd_route *route, json_t *req, int64_t start)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	struct ledgerd_answer a;
	enum MHD_Result ret;

	ledgerd_dispatch(n, route, req, auth, 1, &a);
	ret = send_json(conn, a.http_status, a.body);
	ledgerd_metrics_observe(&n->metrics, route->method, a.code,
				(double)(clock_mono_ns() - start) / 1e9);
	json_decref(a.body);
	return ret;
}

/* GET /healthz: 200 {"status":"SERVING"} when the node knows a leader,
 * 503 {"status":"NOT_SERVING"} otherwise (the gRPC health check's answer). */
static enum MHD_Result serve_health(struct ledgerd_node *n, struct MHD_Connection *conn)
{
	const struct ledgerd_route *route = ledgerd_route_find("/" LEDGER_SVC_HEALTH "/Check");
	struct ledgerd_answer a;
	enum MHD_Result ret;
	int serving;

	ledgerd_dispatch(n, route, json_object(), NULL, 1, &a);
	serving = a.code == LEDGER_OK &&
		  strcmp(json_string_value(json_object_get(a.body, "status")) ?: "", "SERVING") == 0;
	ret = send_json(conn, serving ? 200 : 503, a.body);
	json_decref(a.body);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct ledgerd_node *n = cls;
	struct conn_ctx *ctx = *con_cls;
	const struct ledgerd_route *route;
	struct dr_error err = DR_ERROR_INIT;
	json_error_t jerr;
	json_t *req;
	int64_t start = clock_mono_ns();

	(void)version;
	if (!ctx) {
		ctx = xcalloc(1, sizeof *ctx);
		*con_cls = ctx;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (ctx->body.len + *upload_data_size > LEDGER_MAX_BODY)
			ctx->too_big = 1;
		else
			strbuf_add(&ctx->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0) {
		if (strcmp(method, "GET") != 0)
			return send_error(n, conn, "Metrics", start, LEDGER_METHOD_NOT_ALLOWED,
					  strcmp(url, "/metrics") == 0 ? "use GET /metrics" : "use GET /healthz");
		return url[1] == 'm' ? serve_metrics(n, conn) : serve_health(n, conn);
	}
	route = ledgerd_route_find(url);
	if (!route || route->kind != ROUTE_DEBUG || !n->cfg.enable_debug) {
		char *msg = !route ? xasprintf("unknown method '%s'", url) :
			    route->kind != ROUTE_DEBUG ?
			    xasprintf("'%s' is served over gRPC on %s, not over HTTP", url, n->cfg.listen) :
			    xasprintf("debug methods are disabled (start ledgerd with --enable-debug): '%s'", url);
		enum MHD_Result r = send_error(n, conn, "Unknown", start, LEDGER_NOT_FOUND, msg);
		free(msg);
		return r;
	}
	if (strcmp(method, "POST") != 0)
		return send_error(n, conn, route->method, start, LEDGER_METHOD_NOT_ALLOWED,
				  "methods are called with POST and a JSON body");
	if (ctx->too_big)
		return send_error(n, conn, route->method, start, LEDGER_TOO_LARGE,
				  "request body is larger than 1 MiB");
	if (!ledgerd_authorized(n, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization")))
		return send_error(n, conn, route->method, start, LEDGER_UNAUTHENTICATED,
				  "debug methods need 'Authorization: Bearer <token>'");
	if (ctx->body.len == 0) {
		req = json_object();
	} else {
		req = json_loadb(ctx->body.buf, ctx->body.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!req) {
			char *msg = xasprintf("malformed JSON body: %s at line %d column %d", jerr.text,
					      jerr.line, jerr.column);
			enum MHD_Result r = send_error(n, conn, route->method, start,
						       LEDGER_INVALID_ARGUMENT, msg);
			free(msg);
			return r;
		}
	}
	if (!json_is_object(req)) {
		json_decref(req);
		return send_error(n, conn, route->method, start, LEDGER_INVALID_ARGUMENT,
				  "request body must be a JSON object");
	}
	if (route->validate && route->validate(req, &err) != 0) {
		json_decref(req);
		return send_error(n, conn, route->method, start, LEDGER_INVALID_ARGUMENT, err.msg);
	}
	return run_debug(n, conn, route, req, start);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *ctx = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (ctx) {
		strbuf_release(&ctx->body);
		free(ctx);
	}
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512];

	(void)cls;
	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	ledgerd_log("http: %s", buf);
}

static int http_start(struct ledgerd_node *n, struct dr_error *err)
{
	struct addrinfo hints, *ai = NULL;
	char host[256];
	const char *colon = strrchr(n->cfg.http, ':');
	int rv;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((size_t)(colon - n->cfg.http) >= sizeof host)
		return dr_error_set(err, "--http address '%s' is too long", n->cfg.http);
	memcpy(host, n->cfg.http, (size_t)(colon - n->cfg.http));
	host[colon - n->cfg.http] = '\0';
	rv = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rv != 0)
		return dr_error_set(err, "cannot resolve --http '%s': %s", n->cfg.http,
				    gai_strerror(rv));
	/* MHD_USE_POLL: with select() (MHD's default) a connection whose
	 * descriptor is FD_SETSIZE (1024) or more is refused, and idle gRPC
	 * connections alone can push the node's descriptors past that. */
	n->httpd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					    MHD_USE_POLL | MHD_USE_ERROR_LOG,
				    0, NULL, NULL, on_request, n,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, n,
				    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				    MHD_OPTION_NOTIFY_COMPLETED, on_completed, n,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				    /* A thread per connection: bound them, and bound
				     * one client address's share (--max-client-connections,
				     * as on the gRPC port), so one client cannot take them
				     * all; on loopback every local client is 127.0.0.1, so
				     * the default leaves room for a drill and its probes. */
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned)LEDGERD_MAX_CONNECTIONS,
				    MHD_OPTION_PER_IP_CONNECTION_LIMIT, n->cfg.max_client_conns,
				    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!n->httpd)
		return dr_error_set(err, "cannot listen for HTTP on '%s' (address in use?)",
				    n->cfg.http);
	ledgerd_log("http listening on %s", n->cfg.http);
	return 0;
}

static void http_stop(struct ledgerd_node *n)
{
	if (n->httpd) {
		MHD_stop_daemon(n->httpd);
		n->httpd = NULL;
	}
}

const struct ledgerd_frontend ledgerd_http_frontend = { http_start, http_stop };
