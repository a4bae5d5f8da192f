/* The default workload connection: the bundled ledger's wire contract over
 * the ledger client (keep-alive, follows NOT_LEADER), for every target
 * whose endpoints speak it. */
#ifndef DR_HARNESS_WORKLOAD_WORKLOAD_LEDGER_H
#define DR_HARNESS_WORKLOAD_WORKLOAD_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "harness/core/target.h"

int workload_ledger_connect(struct workload_conn **out, char *const *endpoints, size_t n,
			    int64_t call_timeout_ns, struct dr_error *err);

#endif
