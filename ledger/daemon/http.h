/* ledgerd's HTTP/JSON server (libmicrohttpd, one thread per connection):
 * routing, body limits, auth, JSON parsing, then a call on the loop; also
 * relays to the leader and to the supervisor socket. */
#ifndef DR_LEDGER_DAEMON_HTTP_H
#define DR_LEDGER_DAEMON_HTTP_H

#include "common/error.h"

struct ledgerd_node;

int ledgerd_http_start(struct ledgerd_node *n, struct dr_error *err);
/* Stop accepting and join connection threads (every call is answered). */
void ledgerd_http_stop(struct ledgerd_node *n);

/* The route table (ledgerd_svc_*.c). */
struct ledgerd_route;
const struct ledgerd_route *ledgerd_route_find(const char *path);

#endif
