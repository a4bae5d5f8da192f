/* ledgerd's own accept loop for the gRPC port (issue 17, finding 10).
 *
 * gRPC core 1.51 bounds neither connections per client nor, on an
 * insecure port, the time a connection may take to send its HTTP/2
 * preface (GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS is not honoured there:
 * measured, docs/ledger-api.md).  So ledgerd listens on --listen itself,
 * one thread in epoll:
 *  - a connection from an address that already holds max_per_client
 *    connections (waiting or handed over) is closed at once;
 *  - a connection is handed to gRPC (grpc_server_add_channel_from_fd) once
 *    the client preface and its SETTINGS frame have arrived (peeked, so
 *    gRPC reads them itself), or at once when the first bytes are no
 *    preface (gRPC refuses them as it always did);
 *  - one that has not sent them within header_timeout_ms is closed.
 * A connection handed over is gRPC's; it counts for its client until gRPC
 * closes it (the descriptor no longer names the same socket). */
#ifndef DR_LEDGER_DAEMON_GRPC_ACCEPT_H
#define DR_LEDGER_DAEMON_GRPC_ACCEPT_H

#include <stddef.h>

#include <grpc/grpc.h>

#include "common/error.h"

/* What the first n bytes a client sent say. */
enum grpc_accept_preface {
	GRPC_ACCEPT_MORE,       /* a prefix of preface + SETTINGS: wait */
	GRPC_ACCEPT_COMPLETE,   /* the preface and one whole SETTINGS frame */
	GRPC_ACCEPT_NOT_H2,     /* anything else: gRPC answers it */
};
enum grpc_accept_preface grpc_accept_preface_check(const unsigned char *b, size_t n);

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
