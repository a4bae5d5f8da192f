/* One call to the ledger API of a pod, whatever carries it: drillrig's own
 * gRPC client (ledger/client/rpc.h) through the pod's port-forward or its
 * direct address, or — opt-in, for images that ship it — `kubectl exec P
 * -- grpcurl`.  Every call is journaled like a command, with what carried
 * it; in a dry run it is printed (method, pod, the address it would reach)
 * and not made.
 */
#ifndef DR_HARNESS_TARGET_K8S_K8S_LEDGER_H
#define DR_HARNESS_TARGET_K8S_K8S_LEDGER_H

#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "harness/target/k8s/k8s_cmd.h"
#include "harness/target/k8s/k8s_config.h"

struct k8s_target;
struct journal;

/* What became of one call. */
struct k8s_call_result {
	int answered;        /* a gRPC status came back (OK or not) */
	int grpc_code;       /* that status (0: OK) */
	int timed_out;       /* its deadline passed with no answer */
	int not_sent;        /* provably never reached the ledger (no forward, refused) */
	int kubectl_failed;  /* exec-grpcurl: kubectl itself failed (RBAC, no such pod):
			      * asking again will not help */
};

#define K8S_CALL_RESULT_INIT { 0, -1, 0, 0, 0 }

/* call in cfg's dialect with payload (NULL: {}) on pod of region r, with
 * timeout_ns as its deadline (a kubectl exec gets the same).  flags are
 * k8s_run's (K8S_RUN_QUIET for status polls).  Returns 0 when the ledger
 * answered OK (*answer, when answer is not NULL, the answer in snake_case
 * with integers as numbers: k8s_json_normalize), 1 in a dry run (printed,
 * not made) and in a server-side dry run for a call that changes something,
 * -1 with err otherwise (cr says how it failed; cr may be NULL). */
int k8s_ledger_call(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
		    enum k8s_call call, const json_t *payload, int64_t timeout_ns, unsigned flags,
		    struct journal *journal, json_t **answer, struct k8s_call_result *cr,
		    struct dr_error *err);

/* Where pod's ledger API answers for this runner: the forward's local
 * address or the direct one ("host:port" in addr).  -1 with err for
 * exec-grpcurl regions and forwards that are down after wait_ns. */
int k8s_ledger_address(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
		       int64_t wait_ns, char *addr, size_t len, struct dr_error *err);

/* Close every channel (the target's end). */
void k8s_ledger_close(struct k8s_target *kt);

#endif
