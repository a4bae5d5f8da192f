/* Request handlers of ledgerd, one file per service:
 * ledger/daemon/svc_ledger.c (Ledger/Read, Health), ledger/daemon/svc_append.c
 * (Ledger/Append), ledger/daemon/svc_admin.c (Admin),
 * ledger/daemon/svc_debug.c (Debug).  Validators run on HTTP threads and are
 * exported for unit tests; run functions run on the loop thread. */
#ifndef DR_LEDGER_DAEMON_SVC_H
#define DR_LEDGER_DAEMON_SVC_H

#include <jansson.h>
#include <raft.h>

#include "common/error.h"

struct ledgerd_node;
struct ledgerd_call;

/* Debug/DropInstallSnapshot: the largest count one call arms. */
#define LEDGERD_MAX_DROP_INSTALL_SNAPSHOT 1000

int ledgerd_validate_append(const json_t *req, struct dr_error *err);
int ledgerd_validate_read(const json_t *req, struct dr_error *err);
int ledgerd_validate_transfer(const json_t *req, struct dr_error *err);
int ledgerd_validate_force(const json_t *req, struct dr_error *err);
int ledgerd_validate_restore(const json_t *req, struct dr_error *err);
int ledgerd_validate_add_member(const json_t *req, struct dr_error *err);
int ledgerd_validate_remove_member(const json_t *req, struct dr_error *err);
int ledgerd_validate_partition(const json_t *req, struct dr_error *err);
int ledgerd_validate_refuse(const json_t *req, struct dr_error *err);
int ledgerd_validate_drop(const json_t *req, struct dr_error *err);
int ledgerd_validate_drop_install_snapshot(const json_t *req, struct dr_error *err);

/* Appends are proposed in groups: run_append adds the call to the node's
 * batch, ledgerd_append_flush (the end of each pass over the call queue)
 * proposes the batch as one Raft entry. */
void ledgerd_run_append(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_append_flush(struct ledgerd_node *n);
void ledgerd_run_read(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_health(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_status(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_transfer(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_force(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_snapshot(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_restore(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_add_member(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_remove_member(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_partition(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_heal(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_refuse(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_drop(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_drop_install_snapshot(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_digest(struct ledgerd_node *n, struct ledgerd_call *c);

/* Leader and ready (its post-election barrier applied): 1; otherwise the
 * call is answered (NOT_LEADER, or UNAVAILABLE while not ready) and 0.
 * While the node hands leadership over before stopping, the call is parked
 * instead (c->parked; ledger/daemon/handover.c answers it NOT_LEADER once
 * another node leads) and 0. */
int ledgerd_leader_ready(struct ledgerd_node *n, struct ledgerd_call *c);
/* ledgerd_leader_ready for a write: also refused (UNAVAILABLE) while a
 * Debug/RefuseWrites window is open.  Both dialects' writes use it. */
int ledgerd_write_ready(struct ledgerd_node *n, struct ledgerd_call *c);
/* A linearizable read: when leader and ready, cb runs once everything
 * committed before the call is applied; otherwise the call is answered. */
void ledgerd_read_barrier(struct ledgerd_node *n, struct ledgerd_call *c, raft_barrier_cb cb);
/* The start of a write's apply callback (status is libraft's): 1 when the
 * entry was applied and the call still waits for its answer; 0 when the
 * call is done -- answered before (a timeout), or answered now
 * UNKNOWN_OUTCOME because the apply failed (the entry may still commit). */
int ledgerd_write_applied(struct ledgerd_node *n, struct ledgerd_call *c, int status);
/* Propose cmd (taken, freed here) to raft with cb as its apply callback;
 * 0 when proposed, else the call is answered ("<noun> is too large",
 * NOT_LEADER, or "cannot <verb>: ...") and -1. */
int ledgerd_propose(struct ledgerd_node *n, struct ledgerd_call *c, char *cmd, raft_apply_cb cb,
		    const char *noun, const char *verb);

/* Write this node's applied state to the snapshot file path
 * (ledger/daemon/snapfile.h, atomically); fills *info.  -1 with err. */
struct ledgerd_snapinfo;
int ledgerd_snapshot_take(struct ledgerd_node *n, const char *path, struct ledgerd_snapinfo *info,
			  struct dr_error *err);
/* The same in two steps, the second off the loop: capture (loop) copies
 * the applied state and takes path (heap); write (any thread) hashes and
 * writes it (-1 with err); free releases the job (void *: a build's
 * release function). */
struct ledgerd_snapjob {
	char *path;
	char *body;          /* the serialized state */
	size_t len;
	uint64_t index, term; /* the last ledger entry's */
	uint64_t height;     /* ledger.v1 block height */
};
struct ledgerd_snapjob *ledgerd_snapshot_capture(struct ledgerd_node *n, char *path);
int ledgerd_snapshot_write(struct ledgerd_snapjob *j, struct ledgerd_snapinfo *info,
			   struct dr_error *err);
void ledgerd_snapjob_free(void *j);
/* 1 while LEDGERD_SNAPSHOTS_IN_FLIGHT captured states are waiting to be
 * written: CreateSnapshot and CreateBackup then answer UNAVAILABLE. */
#define LEDGERD_SNAPSHOTS_IN_FLIGHT 2
int ledgerd_snapshot_busy(void);
#define LEDGERD_SNAPSHOT_BUSY_MSG \
	"%d snapshots are being written already (each holds a copy of the whole state); " \
	"try again when one is done"


/* The answer of a health check route (grpc.health.v1 or ledger.v1) on a
 * node that is stopping: not serving, in that route's dialect.  Any
 * thread: it reads nothing of the node.  New reference. */
struct ledgerd_route;
json_t *ledgerd_health_stopping(const struct ledgerd_route *route);

/* Cluster status as this node sees it (leader view or own view). */
json_t *ledgerd_cluster_status(struct ledgerd_node *n);

#endif
