/* Test-only: one raw unary gRPC call (gRPC core's client API) with
 * arbitrary request bytes, for tests that must send what drillrig's client
 * never would (malformed messages, oversized ones, unknown methods, no
 * credential) and read the whole answer: status, message, the trailing
 * "ledger-code" and grpc-status-details-bin, the answer's bytes.
 *
 * Each call opens its own channel (no proxy, unless use_proxy_env) and
 * closes it. */
#ifndef DR_TESTS_GRPC_RAW_H
#define DR_TESTS_GRPC_RAW_H

#include <stddef.h>
#include <stdint.h>

struct grpc_raw_opts {
	int64_t timeout_ns;          /* deadline from now; default 5 s */
	const char *authorization;   /* "authorization" metadata; NULL: none */
	int use_proxy_env;           /* 1: let gRPC honour http_proxy & co (its default) */
};

#define GRPC_RAW_OPTS_INIT { 5000000000LL, NULL, 0 }

struct grpc_raw_result {
	int status;                  /* gRPC status code */
	char message[1024];          /* status message */
	char ledger_code[32];        /* trailing "ledger-code", "" when absent */
	unsigned char *details;      /* grpc-status-details-bin (heap), NULL when absent */
	size_t details_len;
	unsigned char *answer;       /* the answer message's bytes (heap), NULL when none */
	size_t answer_len;
};

/* Call path ("/svc/Method") on address ("host:port") with len bytes of req.
 * Returns 0 when a status came back (any status: out says which), -1 when
 * the call could not be started.  Release out with grpc_raw_result_release. */
int grpc_raw_call(struct grpc_raw_result *out, const char *address, const char *path,
		  const void *req, size_t len, const struct grpc_raw_opts *opts);
void grpc_raw_result_release(struct grpc_raw_result *r);

/* gRPC's name of a status code ("UNAVAILABLE"), for messages. */
const char *grpc_raw_status_name(int status);

#endif
