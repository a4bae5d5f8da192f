/* Canary writes of the Kubernetes target: where no workload endpoint
 * reaches the ledger, a sparse writer (one write per canary.interval)
 * through `kubectl exec <leader pod> -- grpcurl`, read back after the
 * drill, so RPO is measured (harness/workload/recorder.c checks them like the
 * workload's writes).
 *
 *   runbook    inferadb.ledger.v1.Ledger/Append {clientId, sequence, payload}
 *              read back with Ledger/Read from the ledger's last index at
 *              the start, filtered by client id;
 *   ledger.v1  ledger.v1.WriteService/Write: one setEntity
 *              <key_prefix><client id>/<sequence:020> with a deterministic
 *              idempotency key (a retry of the same write is the same
 *              write), expiring after canary.ttl; read back with
 *              ReadService/ListEntities on that prefix, linearizable.
 *
 * An attempt is acknowledged only on a success answer; it is a definite
 * failure only when the request provably never reached the ledger or the
 * ledger refused it before doing anything (grpcurl's status codes such as
 * INVALID_ARGUMENT, FAILED_PRECONDITION; "Failed to dial"; kubectl's
 * NotFound).  Anything else (timeouts, a dropped exec stream, UNAVAILABLE,
 * UNKNOWN) is an unknown outcome: the checker then accepts the write
 * present or absent, so a canary never reports a loss it cannot prove.
 *
 * This header is the pure part (requests, classification, read-back pages;
 * tests/unit/test_k8s_canary.c); the writer itself is k8s_canary.c, reached
 * through k8s_impl.h.
 */
#ifndef DR_HARNESS_TARGET_K8S_K8S_CANARY_API_H
#define DR_HARNESS_TARGET_K8S_K8S_CANARY_API_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "assertions/check.h"
#include "harness/target/k8s/k8s_config.h"
#include "ledger/client/client.h"

/* The grpcurl -d body of one canary write (new reference).  now_s: wall
 * seconds, for ledger.v1's expiresAt. */
json_t *k8s_canary_write_request(const struct k8s_config *cfg, const char *client_id,
				 uint64_t sequence, const char *payload, int64_t now_s);
/* The read-back body of one page: runbook from from_index, ledger.v1 from
 * page_token (NULL or "" for the first page). */
json_t *k8s_canary_read_request(const struct k8s_config *cfg, const char *client_id,
				uint64_t from_index, const char *page_token);
/* ledger.v1: the entity key of one canary write (heap). */
/* The canary configuration (organization, vault, caller, key prefix, time
 * to live) as the ledger.v1 codec's scope; its strings borrowed from cfg. */
struct ledger_v1_scope k8s_canary_scope(const struct k8s_config *cfg);

char *k8s_canary_key(const struct k8s_config *cfg, const char *client_id, uint64_t sequence);

/* What one `kubectl exec ... grpcurl` of a write left behind. */
struct k8s_canary_exec {
	int ran;             /* kubectl started */
	int timed_out;
	int exit_code;       /* -1: killed or did not run */
	const char *out;     /* stdout */
	const char *errout;  /* stderr */
};

/* Classify one write attempt like ledger_append (outcome, index, code,
 * message); see the header comment for the rules. */
void k8s_canary_classify(const struct k8s_config *cfg, const struct k8s_canary_exec *x,
			 struct ledger_append_result *res);

/* The same for a write made with drillrig's own gRPC client (transport
 * port-forward or direct): answered_ok with its answer (JSON text),
 * otherwise how the call ended (answered with grpc_code, timed_out, or
 * not_sent: it never reached the ledger). */
void k8s_canary_classify_call(const struct k8s_config *cfg, int answered_ok, const char *answer,
			      int answered, int grpc_code, int timed_out, int not_sent,
			      const char *message, struct ledger_append_result *res);

/* Read-back pages accumulate here. */
struct k8s_canary_page {
	struct ledger_entry_ref *entries;   /* heap; the caller frees */
	size_t n, alloc;
	uint64_t next_from;    /* runbook: the next page's fromIndex */
	char next_token[512];  /* ledger.v1: the next page's pageToken */
	int more;              /* another page follows */
};

/* Parse one read-back answer (grpcurl stdout), appending client_id's
 * entries.  -1 with err on an answer of the wrong shape. */
int k8s_canary_parse_page(struct k8s_canary_page *page, const struct k8s_config *cfg,
			  const char *client_id, const char *text, struct dr_error *err);

#endif
