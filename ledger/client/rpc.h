/* One unary gRPC call to a ledger node, JSON in and JSON out (gRPC core's C
 * API, protobuf through ledger/client/pbjson.h).  Shared by drillrig's
 * ledger client and by ledgerd, which relays a follower's call to the
 * leader with it.
 *
 * Channels are tuned for failover measurement (docs/ledger-api.md):
 * reconnect backoff of a few milliseconds (gRPC's defaults start near one
 * second and would swallow an RTO), no transparent retries (a retry
 * behind the measurement's back would hide an outage), no HTTP proxy
 * (node to node), the call's timeout as its deadline.  A channel is
 * thread-safe; each call has its own completion queue.
 *
 * gRPC core starts threads: processes that use it start their children
 * with posix_spawn (common/proc.h), never fork without exec. */
#ifndef DR_LEDGER_CLIENT_RPC_H
#define DR_LEDGER_CLIENT_RPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "ledger/client/wire.h"

struct ledger_channel;

/* A channel to address ("host:port"), connecting lazily.  0, or -1 with err. */
int ledger_channel_open(struct ledger_channel **out, const char *address, struct dr_error *err);
void ledger_channel_close(struct ledger_channel *ch);
const char *ledger_channel_address(const struct ledger_channel *ch);

/* gRPC status codes drillrig acts on (grpc/status.h has them all). */
#define LEDGER_GRPC_OK 0
#define LEDGER_GRPC_UNKNOWN 2
#define LEDGER_GRPC_DEADLINE_EXCEEDED 4
#define LEDGER_GRPC_UNIMPLEMENTED 12
#define LEDGER_GRPC_UNAVAILABLE 14

struct ledger_rpc_result {
	int grpc_code;           /* gRPC status; LEDGER_GRPC_OK on success */
	enum ledger_code code;   /* the node's wire code (trailing "ledger-code"), or
				  * LEDGER_CODE_COUNT when no node answered */
	char message[512];       /* the status message */
	json_t *body;            /* OK: the answer (new reference); else NULL */
	/* NOT_LEADER: the leader the node named (ErrorDetails context). */
	char leader[128];
	uint64_t leader_id;
	uint64_t leader_term;
	/* No node answered and the request provably never left (no connection
	 * could be made): a definite failure for a write. */
	int refused;
	int timed_out;           /* the deadline passed */
	int64_t latency_ns;
};

#define LEDGER_RPC_RESULT_INIT { 0, LEDGER_OK, { 0 }, NULL, { 0 }, 0, 0, 0, 0, 0 }

struct ledger_rpc_opts {
	int64_t timeout_ns;          /* the call's deadline from now */
	const char *authorization;   /* sent as "authorization" (e.g. "Bearer x"); NULL: none */
	int forwarded;               /* a relay from another node ("x-ledger-forwarded: 1") */
	unsigned json_flags;         /* PBJSON_* for the answer (EMIT_DEFAULTS by default) */
};

#define LEDGER_RPC_OPTS_INIT { 2000000000LL, NULL, 0, 1u }

/* Call path ("/inferadb.ledger.v1.Admin/GetClusterStatus", or without the
 * leading slash) with req (NULL: {}).  Returns 0 when a gRPC status came
 * back (OK or not: res says which), -1 with err when the call could not be
 * made at all (unknown method, req does not fit its message).  Release
 * res with ledger_rpc_result_release. */
int ledger_rpc(struct ledger_channel *ch, const char *path, const json_t *req,
	       const struct ledger_rpc_opts *opts, struct ledger_rpc_result *res,
	       struct dr_error *err);
void ledger_rpc_result_release(struct ledger_rpc_result *res);

/* The error of a failed call as the HTTP API answered it, for callers that
 * read {"code","message","leader","leader_id"} (new reference). */
json_t *ledger_rpc_error_json(const struct ledger_rpc_result *res);

/* gRPC core's global state: started by the first channel; a program that
 * used it calls this once before it exits (after every channel closed). */
void ledger_rpc_shutdown(void);

#endif
