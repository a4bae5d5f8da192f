/* ledgerd's HTTP listener (libmicrohttpd, one thread per connection) on
 * --http: GET /metrics, GET /healthz, and the debug faults (POST
 * /inferadb.ledger.v1.Debug/<Method> with a JSON body, only with
 * --enable-debug).  The ledger API itself is gRPC (grpc_server.h). */
#ifndef DR_LEDGER_DAEMON_HTTP_H
#define DR_LEDGER_DAEMON_HTTP_H

#include "common/error.h"
#include "ledger/daemon/node.h"

struct ledgerd_node;

/* The node's front end (struct ledgerd_frontend): start serving; stop
 * accepting and join connection threads (every call is answered). */
extern const struct ledgerd_frontend ledgerd_http_frontend;

#endif
