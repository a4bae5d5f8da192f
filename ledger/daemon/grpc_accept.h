/* ledgerd's own accept loop for the gRPC port (issue 17, finding 10).
 *
 * gRPC core 1.51 bounds neither connections per client nor, on an
 * insecure port, the time a connection may take to send its HTTP/2
 * preface (GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS is not honoured there:
 * measured, docs/ledger-api.md).  So ledgerd listens on --listen itself,
 * one thread in epoll:
 *  - a connection from an address that already holds max_per_client
 *    connections is closed at once;
 *  - the others go to gRPC at once (grpc_server_add_channel_from_fd), so
 *    gRPC answers with its SETTINGS as before;
 *  - one whose client has not sent the HTTP/2 preface and a frame header
 *    (33 bytes, TCP_INFO) within header_timeout_ms is shut down.
 * A connection counts for its client until gRPC closes it (the descriptor
 * no longer names the same socket). */
#ifndef DR_LEDGER_DAEMON_GRPC_ACCEPT_H
#define DR_LEDGER_DAEMON_GRPC_ACCEPT_H

#include <stddef.h>

#include <grpc/grpc.h>

#include "common/error.h"

/* Bind and listen on addr ("host:port"; every address host resolves to)
 * before gRPC starts, so a port in use fails the start.  -1 with err set. */
int grpc_accept_listen(const char *addr, struct dr_error *err);
/* Start the thread that hands connections to server (started, not yet
 * shut down).  max_per_client 0: no bound.  -1 with err set. */
int grpc_accept_run(grpc_server *server, unsigned max_per_client, unsigned header_timeout_ms,
		    struct dr_error *err);
/* Stop the thread and close the listeners and every connection not yet
 * handed over (before the server shuts down).  Safe when never started. */
void grpc_accept_stop(void);

#endif
