/* The default workload connection: the ledger client (one gRPC channel
 * per node, follows NOT_LEADER) in the target's dialect, for every target
 * whose endpoints speak the ledger API. */
#ifndef DR_HARNESS_WORKLOAD_WORKLOAD_LEDGER_H
#define DR_HARNESS_WORKLOAD_WORKLOAD_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "harness/core/target.h"

/* admin_token: the target's (or NULL): the client finds the leader with
 * GetClusterStatus, an admin method. */
int workload_ledger_connect(struct workload_conn **out, char *const *endpoints, size_t n,
			    int64_t call_timeout_ns, enum ledger_api api,
			    const struct ledger_v1_scope *v1_scope, const char *admin_token,
			    struct dr_error *err);

#endif
