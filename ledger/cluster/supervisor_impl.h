/* Private to ledger/supervisor*.c: the supervisor's state and the helpers
 * its command handlers share. */
#ifndef DR_LEDGER_CLUSTER_SUPERVISOR_IMPL_H
#define DR_LEDGER_CLUSTER_SUPERVISOR_IMPL_H

#include <jansson.h>

#include "ledger/cluster/cluster_state.h"
#include "ledger/cluster/supervisor.h"

struct supervisor {
	struct cluster_state st;
	char *sock_path;
	int listen_fd;
	int shutdown;              /* set by `shutdown` or a signal */
	int64_t stop_grace_ns;     /* SIGTERM to SIGKILL */
	json_t *deferred;          /* a request to carry out once its answer is sent */
};

/* Log one line to the supervisor's stderr (DIR/supervisor.log), stamped. */
void sv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Save cluster.json; a failure is logged (the supervisor keeps running). */
void sv_save(struct supervisor *sv);

/* 1 when the node should be running (not stopped, fenced or scaled down). */
int sv_node_wanted(struct supervisor *sv, const struct cluster_node *n);

/* Start a node now (argv from the state; output to its log). */
int sv_node_start(struct supervisor *sv, struct cluster_node *n, struct dr_error *err);

/* Stop these nodes together: SIGTERM (and SIGCONT, should one be paused),
 * then SIGKILL after the grace period; returns once all are reaped. */
void sv_nodes_stop(struct supervisor *sv, struct cluster_node **nodes, int count);
/* sv_nodes_stop with sig instead of SIGTERM (SIGKILL: a crash, reaped the
 * same way, no grace period to wait out). */
void sv_nodes_signal_stop(struct supervisor *sv, struct cluster_node **nodes, int count, int sig);

/* Stop these nodes one after another, as a StatefulSet scales down: the
 * highest ordinal first, each reaped (or given up on after SIGKILL, as
 * sv_nodes_stop) before the next gets SIGTERM, so a stopping leader hands
 * over to a node that is running, never to one stopping beside it.  Sorts
 * nodes in place into that order. */
void sv_nodes_stop_in_order(struct supervisor *sv, struct cluster_node **nodes, int count);

/* Stop every node and a restored cluster; sets sv->shutdown. */
void sv_shutdown_all(struct supervisor *sv);

/* Reap exited children, schedule restarts, start what is due. */
void sv_reconcile(struct supervisor *sv);

/* Handle one request; returns the answer (caller owns). */
json_t *sv_handle(struct supervisor *sv, json_t *req);

json_t *sv_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
json_t *sv_status_json(struct supervisor *sv);

/* In supervisor_promote.c */
json_t *sv_cmd_promote(struct supervisor *sv, json_t *req);
/* Re-add fenced nodes of a region that is scaled back up: wipe their data
 * and join them to the running cluster as new members. */
int sv_rejoin_fenced(struct supervisor *sv, struct cluster_node **nodes, int count,
		     struct dr_error *err);

/* In supervisor_restore.c */
json_t *sv_cmd_restore(struct supervisor *sv, json_t *req);
json_t *sv_cmd_restore_down(struct supervisor *sv, json_t *req);
/* Take a restored cluster down, if any (shutdown path). */
void sv_restore_down(struct supervisor *sv);

#endif
