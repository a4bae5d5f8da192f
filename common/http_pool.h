/* A keep-alive HTTP/JSON POST client over a fixed set of endpoints
 * ("host:port"): one libcurl easy handle per endpoint, so each keeps its
 * connection between calls.  The one place that knows libcurl's options
 * for drillrig's own cluster traffic: the ledger client (ledger/client/client.c)
 * and the etcd target (harness/target/etcd/etcd_http.c) both sit on it.
 *
 * Not thread-safe: one pool per thread.  An answer's body lives in the
 * pool until its next post.
 */
#ifndef DR_COMMON_HTTP_POOL_H
#define DR_COMMON_HTTP_POOL_H

#include <stddef.h>

#include <jansson.h>

#include "common/error.h"

struct http_pool;

/* What one POST left behind. */
struct http_answer {
	int ok;              /* an HTTP answer arrived (any status) */
	long status;         /* its status; 0 when none arrived */
	const char *body;    /* its body (NUL-terminated, "" when none); owned by the pool */
	size_t len;
	int refused;         /* no connection: the request was certainly not sent */
	int timed_out;       /* the whole-request timeout expired */
	const char *error;   /* libcurl's message when !ok */
};

/* addresses: "host:port" or "http://host:port" (copied).  headers: extra
 * request headers ("Authorization: Bearer ..."), NULL-terminated, may be
 * NULL; Content-Type: application/json is always sent. */
int http_pool_new(struct http_pool **out, const char *const addresses[], size_t n,
		  const char *const headers[], struct dr_error *err);
void http_pool_free(struct http_pool *p);

size_t http_pool_size(const struct http_pool *p);
/* "host:port" of endpoint i, NULL when out of range. */
const char *http_pool_address(const struct http_pool *p, size_t i);
/* The endpoint with this address (with or without http://), or -1. */
int http_pool_find(const struct http_pool *p, const char *address);

/* POST body (JSON text) to http://<endpoint i>/<path> (a leading '/' is
 * allowed).  connect_timeout_ms bounds the TCP connect, timeout_ms the
 * whole request.  Never goes through a proxy: the endpoints are the
 * drill's own nodes, and CI runners set http_proxy. */
void http_pool_post(struct http_pool *p, size_t i, const char *path, const char *body,
		    long timeout_ms, long connect_timeout_ms, struct http_answer *ans);

/* POST req (NULL: {}) and parse the JSON answer: 0 with *resp (a new
 * reference) and *status for any HTTP status; -1 with err ("cannot call
 * <path> on '<address>': ..." or "... is not JSON") otherwise. */
int http_pool_call(struct http_pool *p, size_t i, const char *path, const json_t *req,
		   long timeout_ms, long connect_timeout_ms, json_t **resp, long *status,
		   struct dr_error *err);

#endif
