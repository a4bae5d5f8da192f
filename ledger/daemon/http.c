/* HTTP front end of ledgerd (see ledger/daemon/http.h). */
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
#include "ledger/client/supervisor_socket.h"
#include "ledger/daemon/forward.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/node.h"

/* Short: a paused leader must not make followers' status calls hang past
 * the caller's own timeout; on failure the node answers its own view. */
#define FORWARD_TIMEOUT_MS 1000
#define FORWARD_CONNECT_TIMEOUT_MS 300
#define SUPERVISOR_TIMEOUT_MS 20000

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

/* ---- supervisor socket ---- */

/* Send one JSON line to the supervisor and read its one-line answer (the
 * launcher's own exchange, ledger/client/supervisor_socket.h). */
static int supervisor_exchange(json_t **ack, const char *sock_path, const json_t *msg,
			       struct dr_error *err)
{
	return supervisor_socket_request(ack, sock_path, msg, (int64_t)SUPERVISOR_TIMEOUT_MS * NS_PER_MS, err);
}

/* A drill opens a few connections per thread; this leaves room for that
 * and for hundreds of slow clients while bounding the daemon's threads. */
#define LEDGERD_MAX_CONNECTIONS 1024

/* ---- request handling ---- */

static int authorized(struct ledgerd_node *n, struct MHD_Connection *conn)
{
	const char *h;
	size_t tl;

	if (!n->admin_token)
		return 1;
	h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!h || strncmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	tl = strlen(n->admin_token);
	if (strlen(h) != tl)
		return 0;
	/* Constant time: how far a guess matches must not show in the timing. */
	{
		unsigned char diff = 0;

		for (size_t i = 0; i < tl; i++)
			diff |= (unsigned char)(h[i] ^ n->admin_token[i]);
		return diff == 0;
	}
}

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
	ledgerd_metrics_render(&sb, &n->metrics, &g, n->cfg.id, n->cfg.region, n->cfg.role);
	len = sb.len;
	resp = MHD_create_response_from_buffer(len, strbuf_detach(&sb), MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum ledger_code code_of(int status, const json_t *body)
{
	enum ledger_code code;

	if (status == 200)
		return LEDGER_OK;
	code = ledger_code_parse(json_string_value(json_object_get(body, "code")));
	return code == LEDGER_CODE_COUNT ? LEDGER_UNAVAILABLE : code;
}

static enum MHD_Result run_call(struct ledgerd_node *n, struct MHD_Connection *conn,
				const struct ledgerd_route *route, json_t *req, int forwarded,
				int64_t start)
{
	struct ledgerd_call *c = xcalloc(1, sizeof *c);
	enum MHD_Result ret;
	json_t *body = NULL;
	int status = 0, done;

	c->route = route;
	c->req = req;
	c->forwarded = forwarded;
again:
	ledgerd_node_submit(n, c);
	pthread_mutex_lock(&n->mu);
	done = c->done;
	pthread_mutex_unlock(&n->mu);
	if (!done) {
		int append = strcmp(route->method, "Append") == 0;
		ledgerd_call_unref(n, c);
		return send_error(n, conn, route->method, start,
				  append ? LEDGER_UNKNOWN_OUTCOME : LEDGER_UNAVAILABLE,
				  "the node did not answer in time");
	}
	if (c->action == CALL_FORWARD) {
		const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
		if (ledgerd_forward_post(&status, &body, c->forward_addr, route->path, c->req, auth,
					 (int64_t)FORWARD_CONNECT_TIMEOUT_MS * NS_PER_MS,
					 (int64_t)FORWARD_TIMEOUT_MS * NS_PER_MS, LEDGER_MAX_BODY * 16) == 0) {
			ret = send_json(conn, status, body);
			ledgerd_metrics_observe(&n->metrics, route->method, code_of(status, body),
						(double)(clock_mono_ns() - start) / 1e9);
			json_decref(body);
			ledgerd_call_unref(n, c);
			return ret;
		}
		/* The leader did not answer: let this node answer for itself. */
		{
			struct ledgerd_call *again_call = xcalloc(1, sizeof *again_call);
			again_call->route = route;
			again_call->req = json_incref(c->req);
			again_call->forwarded = 1;
			ledgerd_call_unref(n, c);
			c = again_call;
		}
		goto again;
	}
	if (c->action == CALL_SUPERVISOR) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *ack = NULL;
		if (supervisor_exchange(&ack, n->cfg.supervisor_socket, c->supervisor_msg, &err) != 0) {
			ledgerd_log("supervisor exchange failed: %s", err.msg);
			ledgerd_call_unref(n, c);
			return send_error(n, conn, route->method, start, LEDGER_UNAVAILABLE, err.msg);
		}
		if (json_is_false(json_object_get(ack, "ok")) || json_object_get(ack, "error")) {
			const char *why = json_string_value(json_object_get(ack, "error"));
			char *msg = xasprintf("supervisor refused: %s", why ? why : "no reason given");
			ret = send_error(n, conn, route->method, start, LEDGER_FAILED_PRECONDITION, msg);
			free(msg);
		} else {
			const char *cmd = json_string_value(json_object_get(c->supervisor_msg, "cmd"));
			if (cmd && strcmp(cmd, "promote") == 0)
				body = json_pack("{s:b, s:b, s:O, s:O}", "unsafe", 1, "accepted", 1,
						 "region", json_object_get(c->supervisor_msg, "region"),
						 "supervisor", ack);
			else
				body = json_incref(ack);
			ret = send_json(conn, 200, body);
			ledgerd_metrics_observe(&n->metrics, route->method, LEDGER_OK,
						(double)(clock_mono_ns() - start) / 1e9);
			json_decref(body);
		}
		{
			char *t = json_dumps(ack, JSON_COMPACT);
			ledgerd_log("supervisor answered %s", t ? t : "?");
			free(t);
		}
		json_decref(ack);
		ledgerd_call_unref(n, c);
		return ret;
	}
	ret = send_json(conn, c->http_status, c->resp);
	ledgerd_metrics_observe(&n->metrics, route->method, code_of(c->http_status, c->resp),
				(double)(clock_mono_ns() - start) / 1e9);
	ledgerd_call_unref(n, c);
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
	const char *fwd;

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
	if (strcmp(url, "/metrics") == 0) {
		if (strcmp(method, "GET") != 0)
			return send_error(n, conn, "Metrics", start, LEDGER_METHOD_NOT_ALLOWED,
					  "use GET /metrics");
		return serve_metrics(n, conn);
	}
	route = ledgerd_route_find(url);
	if (!route || (route->kind == ROUTE_DEBUG && !n->cfg.enable_debug)) {
		char *msg = xasprintf(route ? "debug methods are disabled (start ledgerd with --enable-debug): '%s'"
					    : "unknown method '%s'", url);
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
	if ((route->kind == ROUTE_ADMIN || route->kind == ROUTE_DEBUG) && !authorized(n, conn))
		return send_error(n, conn, route->method, start, LEDGER_UNAUTHENTICATED,
				  "admin methods need 'Authorization: Bearer <token>'");
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
	fwd = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Ledger-Forwarded");
	return run_call(n, conn, route, req, fwd != NULL, start);
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
	const char *colon = strrchr(n->cfg.listen, ':');
	int rv;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((size_t)(colon - n->cfg.listen) >= sizeof host)
		return dr_error_set(err, "--listen address '%s' is too long", n->cfg.listen);
	memcpy(host, n->cfg.listen, (size_t)(colon - n->cfg.listen));
	host[colon - n->cfg.listen] = '\0';
	rv = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rv != 0)
		return dr_error_set(err, "cannot resolve --listen '%s': %s", n->cfg.listen,
				    gai_strerror(rv));
	n->httpd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
					    MHD_USE_ERROR_LOG,
				    0, NULL, NULL, on_request, n,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, n,
				    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
				    MHD_OPTION_NOTIFY_COMPLETED, on_completed, n,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				    /* A thread per connection: bound them.  No per-IP
				     * limit: on loopback every client shares one address,
				     * and a slow one must not lock the others out. */
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned)LEDGERD_MAX_CONNECTIONS,
				    MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!n->httpd)
		return dr_error_set(err, "cannot listen for HTTP on '%s' (address in use?)",
				    n->cfg.listen);
	ledgerd_log("http listening on %s", n->cfg.listen);
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
