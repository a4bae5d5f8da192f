/* The route table: every method ledgerd serves, over gRPC or (the debug
 * faults) over HTTP, with its validator and its handler on the loop. */
#ifndef DR_LEDGER_DAEMON_ROUTES_H
#define DR_LEDGER_DAEMON_ROUTES_H

#include "ledger/daemon/node.h"

/* The route of path ("/inferadb.ledger.v1.Ledger/Append"), or NULL. */
const struct ledgerd_route *ledgerd_route_find(const char *path);

#endif
