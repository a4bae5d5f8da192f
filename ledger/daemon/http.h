/* ledgerd's HTTP/JSON server (libmicrohttpd, one thread per connection):
 * routing, body limits, auth, JSON parsing, then a call on the loop; also
 * relays to the leader and to the supervisor socket. */
#ifndef DR_LEDGER_DAEMON_HTTP_H
#define DR_LEDGER_DAEMON_HTTP_H

#include "common/error.h"
#include "ledger/daemon/node.h"

struct ledgerd_node;

/* The node's front end (struct ledgerd_frontend): start serving; stop
 * accepting and join connection threads (every call is answered). */
extern const struct ledgerd_frontend ledgerd_http_frontend;

/* The route table (ledgerd_svc_*.c). */
struct ledgerd_route;
const struct ledgerd_route *ledgerd_route_find(const char *path);

#endif
