/* Test double: a scripted fake ledger node speaking gRPC (gRPC core's
 * server API) on a loopback port.  It answers every call the way its mode
 * says, whatever the method, and records what it was sent, so a test can
 * check how drillrig's ledger client classifies each kind of answer.
 *
 * Answers are built with the generated protobuf-c code (ledger/proto), not
 * with ledger/client/pbjson.c, so a bug in the client's own encoding is not
 * mirrored here.  Thread-safe: calls are served by worker threads of the
 * double; setters and fake_grpc_server_seen take its lock. */
#ifndef DR_TESTS_FAKE_GRPC_SERVER_H
#define DR_TESTS_FAKE_GRPC_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum fake_grpc_mode {
	/* OK: an AppendResponse {index, term} for Append; for any other
	 * method the message set with fake_grpc_server_set_answer (empty
	 * when none). */
	FAKE_GRPC_OK,
	/* UNAVAILABLE, trailing "ledger-code: NOT_LEADER" and a
	 * ledger.v1.ErrorDetails in grpc-status-details-bin naming the leader
	 * set with fake_grpc_server_set_leader, as ledgerd answers on a
	 * follower (ledger/daemon/grpc_server.c).  No leader set: the details
	 * carry none. */
	FAKE_GRPC_NOT_LEADER,
	/* UNKNOWN, "ledger-code: UNKNOWN_OUTCOME" (leadership lost mid-call). */
	FAKE_GRPC_UNKNOWN_OUTCOME,
	/* UNAVAILABLE, "ledger-code: UNAVAILABLE" (a node refusing writes). */
	FAKE_GRPC_LEDGER_UNAVAILABLE,
	/* UNAVAILABLE without any ledger-code: not a ledger node's answer
	 * (a proxy, a server going away). */
	FAKE_GRPC_BARE_UNAVAILABLE,
	/* The OK answer, after delay_ms (default 400): past a short deadline. */
	FAKE_GRPC_SLOW,
	/* OK with bytes that are no protobuf message at all. */
	FAKE_GRPC_GARBAGE,
};

/* What the double saw (a copy). */
struct fake_grpc_seen {
	int calls;                 /* calls answered since start */
	int connections;           /* distinct client connections (peer addresses) */
	char last_path[256];       /* "/inferadb.ledger.v1.Ledger/Append" */
	unsigned char last_request[4096];
	size_t last_request_len;   /* bytes of the last request (cut at 4096) */
	int last_had_authorization;
	char last_authorization[256];
};

struct fake_grpc_server;

/* Listen on 127.0.0.1:port (0: any free port).  0, or -1 with err. */
int fake_grpc_server_start(struct fake_grpc_server **out, int port, struct dr_error *err);
/* Stop listening, cancel calls in flight, free.  NULL is ignored. */
void fake_grpc_server_stop(struct fake_grpc_server *f);

const char *fake_grpc_server_address(const struct fake_grpc_server *f); /* "127.0.0.1:port" */
int fake_grpc_server_port(const struct fake_grpc_server *f);

void fake_grpc_server_set_mode(struct fake_grpc_server *f, enum fake_grpc_mode mode);
/* The leader NOT_LEADER names (address NULL: none). */
void fake_grpc_server_set_leader(struct fake_grpc_server *f, const char *address, uint64_t id,
				 uint64_t term);
/* Append's OK answer (default index 42, term 3). */
void fake_grpc_server_set_index(struct fake_grpc_server *f, uint64_t index, uint64_t term);
/* The OK answer of methods other than Append: serialized bytes of the
 * method's answer message (copied; NULL: an empty message). */
void fake_grpc_server_set_answer(struct fake_grpc_server *f, const void *bytes, size_t len);
void fake_grpc_server_set_delay(struct fake_grpc_server *f, int delay_ms);
/* The status message of error answers (default per mode). */
void fake_grpc_server_set_message(struct fake_grpc_server *f, const char *message);

void fake_grpc_server_seen(struct fake_grpc_server *f, struct fake_grpc_seen *out);

#endif
