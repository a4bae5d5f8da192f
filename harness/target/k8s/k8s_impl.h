/* Private to harness/target_k8s*.c: the Kubernetes target's state and the
 * one function every kubectl call goes through. */
#ifndef DR_HARNESS_TARGET_K8S_K8S_IMPL_H
#define DR_HARNESS_TARGET_K8S_K8S_IMPL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "harness/core/target.h"
#include "harness/target/k8s/k8s_api.h"
#include "harness/target/k8s/k8s_cmd.h"
#include "harness/target/k8s/k8s_config.h"

struct journal;

struct k8s_target {
	struct k8s_config *cfg;
	struct ledger_v1_scope v1_scope; /* the canary's, for the workload's ledger.v1 writes */
	int dry_run;              /* --dry-run: print, run nothing */
	int server_dry_run;       /* --dry-run=server */
	FILE *out;                /* where dry-run commands are printed (stdout) */
	pthread_mutex_t lock;     /* the fields below: status() runs on several threads */
	struct journal *journal;  /* the drill's journal, from start() */
	size_t status_region;     /* region whose admin pod answered the last status */
	char *last_status_cmd;    /* last journaled status read (deduplicated) */
	int last_status_exit;
	unsigned long status_reads;
	int lease_held;
	char holder[256];         /* this runner's Lease holderIdentity */
	json_t *snapshots;        /* step name -> {pod, region, path, copy, answer} */
	json_t *cordoned;         /* [{region, node}] this drill cordoned */
	json_t *chaos;            /* [{region, kind, name}] Chaos Mesh objects it created */
	int64_t dry_run_commands;
	json_t *pending;          /* commands run before start() knew the journal */
	/* The state record beside the state file (harness/target/k8s/k8s_state.h),
	 * "" until this drill owns one: the Lease holder and cordoned nodes. */
	char record_path[4096];
	struct k8s_forwards *forwards; /* transport port-forward (k8s_forward.c) */
	struct k8s_channels *channels; /* gRPC channels by address (k8s_ledger.c) */
	struct k8s_lease_keeper *lease_keeper; /* renews the Lease (k8s_lease_state.c) */
	char *cluster_state;      /* the undos last copied onto the Lease; NULL none */
	int state_pending;        /* ... and they are not empty */
};

/* What one kubectl call left behind. */
struct k8s_out {
	int ran;            /* 0: dry run (nothing ran) */
	int exit_code;      /* -1: did not start, killed or timed out */
	int timed_out;
	char *out;          /* stdout (heap, "" when none) */
	char *errout;       /* stderr */
};

#define K8S_OUT_INIT { 0, -1, 0, NULL, NULL }

enum k8s_run_flags {
	K8S_RUN_CHANGE = 1,      /* changes the cluster: printed but not run in a dry run */
	K8S_RUN_READ = 2,        /* reads: also printed-only in a dry run */
	K8S_RUN_QUIET = 4,       /* status polls: journaled only when their outcome changes */
};

/* Run argv with cfg's command timeout (or timeout_ns when > 0 and
 * shorter), capture its output, journal it (journal may be NULL) and check
 * the exit status.  In a dry run: print the command and return 1 (nothing
 * ran).  Returns 0 when it exited 0, -1 with err quoting kubectl's stderr
 * otherwise.  res is always filled (release with k8s_out_release). */
int k8s_run(struct k8s_target *kt, struct k8s_out *res, const struct k8s_argv *argv,
	    const char *stdin_data, int64_t timeout_ns, unsigned flags, struct journal *journal,
	    struct dr_error *err);
void k8s_out_release(struct k8s_out *res);
/* Journal one command or call (display) as k8s_run does: QUIET ones only
 * when their outcome changed; before start() kept until the journal is
 * known.  out/errout may be NULL. */
void k8s_record(struct k8s_target *kt, struct journal *journal, const char *display, int exit_code,
		int64_t start, int64_t dur, unsigned flags, const char *out, const char *errout);

/* The cluster status, trying each region's admin pod (the last one that
 * answered first).  journal may be NULL. */
int k8s_read_status(struct k8s_target *kt, json_t **out, int64_t timeout_ns,
		    struct journal *journal, struct dr_error *err);
/* Pods of region r (sorted by ordinal). */
int k8s_read_pods(struct k8s_target *kt, const struct k8s_region *r, struct k8s_pod **out,
		  size_t *n, struct journal *journal, struct dr_error *err);

/* The actions ({ NULL }-terminated; harness/target/k8s/k8s_actions.c). */
extern const struct target_action k8s_actions[];

/* Canary writes (k8s_canary.c; the target's canary_connect hook). */
int k8s_canary_connect(struct target *t, struct workload_conn **out, struct canary_pace *pace,
		       struct dr_error *err);
/* Preflight: one read-back page for a client id nothing wrote, through the
 * leader's pod, once: proves the read method, the credentials and
 * (ledger.v1) the organization, vault and caller.  Writes nothing.  *where
 * is set to "<context>/<pod>" of the leader when it was found. */
int k8s_canary_check(struct k8s_target *kt, char *where, size_t where_len, struct dr_error *err);

/* drillrig recover (k8s_recover.c). */
int k8s_recover(struct target_recover_args *args);
/* drillrig preflight (k8s_preflight.c): every check against the
 * configuration of opts (actions of plan, when given, decide which RBAC
 * verbs are needed; NULL: all of them), the table printed to out (json:
 * one JSON object per check instead).  Returns the number of failed checks
 * (0: ready), or TARGET_EUSAGE / -1 with err when the configuration itself
 * is invalid or unreadable. */
int k8s_preflight(const struct target_opts *opts, const struct plan *plan, int json, FILE *out,
		  struct dr_error *err);

/* Uncordon every node drain_node/zone_down cordoned; warns on failure. */
void k8s_uncordon_all(struct k8s_target *kt, const struct action_ctx *ctx);

/* The Lease drill lock (harness/target/k8s/k8s_lease.c). */
int k8s_lease_acquire(struct k8s_target *kt, struct dr_error *err);
void k8s_lease_release(struct k8s_target *kt);

/* The Lease as read back (k8s_lease_get). */
struct k8s_lease_info {
	char holder[256];         /* holderIdentity, "(nobody)" when unset */
	int64_t renew_s;          /* renewTime (else acquireTime), epoch seconds; -1 unknown */
	int duration_s;           /* leaseDurationSeconds; 0 unknown */
};

/* The region whose namespace holds the Lease: the primary, else the first. */
const struct k8s_region *k8s_lease_region(const struct k8s_config *cfg);
/* Read the Lease.  *absent = 1 (and -1 returned) when it does not exist.
 * In a dry run the command is printed and 1 returned. */
int k8s_lease_get(struct k8s_target *kt, struct k8s_lease_info *li, int *absent,
		  struct dr_error *err);
int k8s_lease_delete(struct k8s_target *kt, struct dr_error *err);

/* The drill's state on its Lease (harness/target/k8s/k8s_lease_state.c):
 * renewal while held, the undo copy (the target's state_saved hook), the
 * record's copy (after the cordoned nodes changed), parking a Lease whose
 * drill left undos, and reading a Lease's copy for recover (*state and
 * *record NULL when absent; 0 also when there is no Lease). */
void k8s_lease_keeper_start(struct k8s_target *kt);
void k8s_lease_keeper_stop(struct k8s_target *kt);
void k8s_state_saved_hook(struct target *t, const char *state);
void k8s_lease_note_record(struct k8s_target *kt);
int k8s_lease_park(struct k8s_target *kt, struct dr_error *err);
int k8s_lease_cluster_state(struct k8s_target *kt, json_t **state, json_t **record,
			    struct dr_error *err);

/* The state file (harness/target/k8s/k8s_state.c): t->state_path.  Creates the
 * state directory (0700) and, when no earlier drill's state is there, this
 * drill's record (0600).  NULL in dry runs. */
char *k8s_state_path_hook(struct target *t);
/* Rewrite this drill's record (holder, cordoned nodes) when it owns one;
 * warns on failure.  Call after kt->cordoned changed. */
void k8s_state_note(struct k8s_target *kt);
/* Remove this drill's record (its Lease is released). */
void k8s_state_forget(struct k8s_target *kt);

/* Confirmation before the first change (harness/target/k8s/k8s_confirm.c).
 * interactive < 0: decided by isatty.  Returns 0 (confirmed),
 * TARGET_EUSAGE (non-interactive without --yes, or declined). */
int k8s_confirm(const struct k8s_config *cfg, int yes, int interactive, FILE *in, FILE *out,
		struct dr_error *err);
/* The summary printed before asking: contexts, namespaces, StatefulSets. */
void k8s_print_plan(const struct k8s_config *cfg, FILE *out);

/* ---- k8s_ledger.c ---- */
/* One call to the ledger API of a pod, whatever carries it: drillrig's own
 * gRPC client (ledger/client/rpc.h) through the pod's port-forward or its
 * direct address, or — opt-in, for images that ship it — `kubectl exec P
 * -- grpcurl`.  Every call is journaled like a command, with what carried
 * it; in a dry run it is printed (method, pod, the address it would reach)
 * and not made.
 */

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

/* ---- k8s_forward.c ---- */
/* transport: port-forward — one `kubectl port-forward pod/P :<admin_port>`
 * per ledger pod, so drillrig's own gRPC client reaches a ledger whose
 * image has nothing to exec (distroless).
 *
 * The forwards are opened before the first fault, so a failover measures
 * the ledger and not kubectl's start-up.  A forward dies with its pod
 * (kubectl exits on "lost connection to pod"); a keeper thread reopens it
 * on the same local port once the pod runs again, so every address handed
 * out (the workload's endpoints among them) stays valid for the whole
 * drill.  Every forward is stopped by k8s_forwards_stop, which the target
 * calls on every way out (close, and the runner's signal paths end there).
 *
 * Owned by struct k8s_target (kt->forwards); thread-safe.
 */

/* Open a forward to every pod (ordinals below the normal size) of every
 * region whose transport is port-forward, and wait up to timeout_ns for
 * each to say where it listens.  A pod that is not running yet is retried
 * in the background; it is an error only when no forward came up at all.
 * In a dry run the commands are printed and nothing runs.  journal may be
 * NULL (the events are then only counted). */
int k8s_forwards_start(struct k8s_target *kt, struct journal *journal, int64_t timeout_ns,
		       struct dr_error *err);

/* "127.0.0.1:<port>" of pod's forward in region r (opened on demand for a
 * pod not opened at start).  When it is down, waits up to wait_ns for the
 * keeper to bring it back; -1 with err (kubectl's last message) when it
 * is still down. */
int k8s_forward_address(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
			int64_t wait_ns, char *addr, size_t len, struct dr_error *err);

/* The local port pod's forward listens on, opened or not yet: the
 * workload's endpoints are fixed at its start.  0 when pod has none. */
int k8s_forward_port(struct k8s_target *kt, const struct k8s_region *r, const char *pod);

/* Stop every forward (SIGTERM, then SIGKILL), reap them, stop the keeper.
 * Safe to call twice and when nothing was started. */
void k8s_forwards_stop(struct k8s_target *kt);

/* k8s_forwards_stop, then release what k8s_forward_* allocated. */
void k8s_forwards_free(struct k8s_target *kt);

/* How many times forwards were opened and lost (for the report and tests). */
void k8s_forwards_counts(struct k8s_target *kt, unsigned *opened, unsigned *lost);

/* The local port in a line kubectl port-forward prints
 * ("Forwarding from 127.0.0.1:43121 -> 50051"); 0 when it is not one. */
int k8s_forward_parse_line(const char *line);

/* ---- k8s_chaos.c ---- */
/* fault_engine: chaos-mesh (harness/target/k8s/k8s_chaos.c): PodChaos and
 * NetworkChaos objects, each recorded before it is created and deleted by
 * heal, at the drill's end, or by recover. */

/* A crash of pod in r: a PodChaos pod-kill.  0, 1 (dry run), -1 with err. */
int k8s_chaos_kill(struct k8s_target *kt, const struct action_ctx *ctx, const struct k8s_region *r,
		   const char *pod, struct dr_error *err);
/* The `partition` action (what: region) and `heal`. */
void k8s_chaos_partition(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
			 struct action_result *res);
void k8s_chaos_heal(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res);
/* Delete every object this drill (or the adopted record) created; warns. */
void k8s_chaos_delete_all(struct k8s_target *kt, const struct action_ctx *ctx);
/* An interrupted drill's recorded objects become ours (recover). */
void k8s_chaos_adopt(struct k8s_target *kt, const json_t *record);

#endif
