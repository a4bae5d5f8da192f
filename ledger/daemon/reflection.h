/* gRPC server reflection in ledgerd:
 * grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo, the
 * bidirectional stream grpcurl and other clients read a server's services
 * and message types from (docs/ledger-api.md, "Server reflection").
 *
 * It describes the descriptors protoc compiled from ledger/proto
 * (ledger/daemon/descriptors.h) and lists every service of the ledger's
 * method table (ledger/client/methods.h) and itself.
 *
 * Streams never touch the unary worker pool: they are served by one thread
 * of their own, asynchronously over one completion queue, at most
 * LEDGERD_REFLECTION_STREAMS at a time (more get RESOURCE_EXHAUSTED).  A
 * stream left waiting on its client for LEDGERD_REFLECTION_IDLE_MS (the
 * environment variable of that name overrides it, for tests) is cancelled
 * with DEADLINE_EXCEEDED, so a stuck client holds a slot for a bounded
 * time; the client's own deadline and cancellation end it sooner. */
#ifndef DR_LEDGER_DAEMON_REFLECTION_H
#define DR_LEDGER_DAEMON_REFLECTION_H

#include <stddef.h>
#include <stdint.h>

#include <grpc/grpc.h>

#include "common/error.h"
#include "ledger/daemon/descriptors.h"

#define LEDGERD_REFLECTION_STREAMS 32
#define LEDGERD_REFLECTION_IDLE_MS 30000

/* Before grpc_server_start: register the method and its completion queue
 * with server, load the descriptors.  -1 with err set when they do not
 * load (a build error); nothing is registered then. */
int ledgerd_reflection_register(grpc_server *server, struct dr_error *err);

/* After grpc_server_start: start the reflection thread.  -1 with err set
 * when it cannot start. */
int ledgerd_reflection_start(struct dr_error *err);

/* After the server was shut down and its calls cancelled (before
 * grpc_server_destroy): wait for the streams to end, stop the thread, free
 * everything.  Safe when nothing was registered or started. */
void ledgerd_reflection_stop(void);

/* The answer to one serialized ServerReflectionRequest req[0..len): a
 * serialized ServerReflectionResponse in *out (heap, *out_len bytes).  What
 * is not found is an error_response in it.  -1 (nothing allocated) when
 * req is not a ServerReflectionRequest. */
int ledgerd_reflection_answer(uint8_t **out, size_t *out_len, const struct ledgerd_descriptors *d,
			      const uint8_t *req, size_t len);

#endif
