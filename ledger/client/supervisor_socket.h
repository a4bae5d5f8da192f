/* The supervisor's socket exchange: one JSON command line out, one JSON
 * answer line back, over a unix socket.  The cluster launcher
 * (ledger/cluster) sends its commands this way, and ledgerd relays a
 * node's requests (promote, restore) to its supervisor the same way, so
 * the exchange lives here, below both. */
#ifndef DR_LEDGER_CLIENT_SUPERVISOR_SOCKET_H
#define DR_LEDGER_CLIENT_SUPERVISOR_SOCKET_H

#include <stdint.h>
#include <sys/un.h>

#include <jansson.h>

#include "common/error.h"

/* Send request (serialized as one line) to the socket at path and read one
 * answer line, whatever it says (ledgerd relays a refusal to its caller):
 * 0 with *out a JSON object (caller owns), -1 with err when none came back
 * within timeout_ns. */
int supervisor_socket_request(json_t **out, const char *path, const json_t *request,
			      int64_t timeout_ns, struct dr_error *err);

/* The address of the socket at path (the supervisor listens on it, clients
 * connect to it); -1 with err when path does not fit a sockaddr_un. */
int supervisor_socket_addr(struct sockaddr_un *out, const char *path, struct dr_error *err);

#endif
