/* A follower relays a call to the leader's HTTP API.  Node to node on our
 * own API, so one small blocking HTTP/1.1 POST over a socket is enough; the
 * daemon links no HTTP client library (docs/architecture.md). */
#ifndef DR_LEDGER_DAEMON_FORWARD_H
#define DR_LEDGER_DAEMON_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* POST req as JSON to http://addr/path with X-Ledger-Forwarded: 1 (and
 * Authorization: auth unless NULL).  Connecting may take connect_timeout_ns,
 * the whole exchange timeout_ns; an answer body over max_body bytes is a
 * failure.  0 with *status and *body (caller owns) when the leader answered
 * with JSON; -1 otherwise (unreachable, timed out, not JSON). */
int ledgerd_forward_post(int *status, json_t **body, const char *addr, const char *path,
			 const json_t *req, const char *auth, int64_t connect_timeout_ns,
			 int64_t timeout_ns, size_t max_body);

#endif
