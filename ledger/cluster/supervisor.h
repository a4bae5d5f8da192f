/* The cluster supervisor: a detached process (started by cluster_up as
 * `drillrig cluster supervise --cluster DIR`) that owns every ledgerd of the
 * cluster in DIR, restarts them like a StatefulSet's pods, and answers
 * one-line JSON commands on DIR/supervisor.sock (see docs/cluster.md).
 */
#ifndef DR_LEDGER_CLUSTER_SUPERVISOR_H
#define DR_LEDGER_CLUSTER_SUPERVISOR_H

#include "common/error.h"

/* Load DIR/cluster.json, start the nodes and serve until a `shutdown`
 * command or SIGTERM/SIGINT, then stop every node.  Returns 0 after a
 * clean shutdown, -1 when it could not start (err says why). */
int supervisor_run(const char *dir, struct dr_error *err);

#endif
