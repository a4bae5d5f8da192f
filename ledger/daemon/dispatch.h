/* One API call, whatever carried it (gRPC or the HTTP debug listener):
 * hand it to the loop, wait for the answer, and do what the loop asked for
 * outside it (relay to the leader, ask the supervisor).  The front ends
 * (ledger/daemon/grpc_server.c, http.c) only decode, encode and send. */
#ifndef DR_LEDGER_DAEMON_DISPATCH_H
#define DR_LEDGER_DAEMON_DISPATCH_H

#include <jansson.h>

#include "ledger/client/wire.h"
#include "ledger/daemon/node.h"

struct ledgerd_answer {
	enum ledger_code code;   /* LEDGER_OK or the error */
	int http_status;         /* the HTTP status of code (the debug listener) */
	json_t *body;            /* the answer, or {"code","message",...} on error */
};

/* Run req (owned: released here) through route.  authorization is the
 * caller's credential, passed on when the call is relayed to the leader;
 * forwarded: the call is itself a relay (never relayed again).  Fills out;
 * release out->body. */
void ledgerd_dispatch(struct ledgerd_node *n, const struct ledgerd_route *route, json_t *req,
		      const char *authorization, int forwarded, struct ledgerd_answer *out);

/* Where ledgerd_dispatch_async delivers the answer: a (and a->body) is
 * borrowed for the call's duration.  It runs on the loop thread (most
 * answers), a relay helper thread (relayed calls, supervisor exchanges),
 * the node's watchdog (no answer in 30 s) or the submitting thread (the
 * node is shutting down): it must not block. */
typedef void (*ledgerd_answer_fn)(const struct ledgerd_answer *a, void *payload);

/* ledgerd_dispatch without a waiting thread: the same answer, delivered
 * once to fn(a, payload).  req is owned (released once answered);
 * authorization is copied. */
void ledgerd_dispatch_async(struct ledgerd_node *n, const struct ledgerd_route *route, json_t *req,
			    const char *authorization, int forwarded, ledgerd_answer_fn fn,
			    void *payload);

/* At shutdown, once no call is in flight: join the helper threads that
 * relayed calls and close the channels to the leader they used. */
void ledgerd_relay_close(void);

/* An answer of code with a message (no loop involved). */
void ledgerd_answer_error(struct ledgerd_answer *out, enum ledger_code code, const char *message);

/* Whether the credential ("Bearer <token>") may call admin and debug
 * methods: always when the node has no admin token.  Constant time. */
int ledgerd_authorized(const struct ledgerd_node *n, const char *authorization);

#endif
