/* ledgerd's gRPC front end: the ledger API on --listen (port 50051 by
 * default in the bundled cluster), both dialects and grpc.health.v1, for
 * any gRPC client (docs/ledger-api.md).  Errors are gRPC status codes with
 * the wire code in the trailing metadata "ledger-code"; NOT_LEADER is
 * UNAVAILABLE with a ledger.v1.ErrorDetails naming the leader. */
#ifndef DR_LEDGER_DAEMON_GRPC_SERVER_H
#define DR_LEDGER_DAEMON_GRPC_SERVER_H

#include "ledger/daemon/node.h"

extern const struct ledgerd_frontend ledgerd_grpc_frontend;

#endif
