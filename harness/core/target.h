/* A target is what a drill runs against: the bundled ledger cluster, live
 * Kubernetes contexts, a local etcd cluster.  It is a struct of function
 * pointers with a void *impl, filled by the target's constructor; the runner
 * never switches on a target's kind.
 *
 * A target declares what it can do as a table of actions (struct
 * target_action); the executor (harness/run/executor.c) looks actions up,
 * describes dry runs and refuses what a target cannot do, once for every
 * target.  Each kind of target (struct target_kind) is listed once in the
 * registry (harness/target/registry.c) with its constructor, its action
 * table and its optional recover and preflight hooks.
 *
 * Every operation takes a struct action_ctx carrying its deadline and the
 * cancellation flags, so a target's waits are bounded polls that stop early
 * on SIGINT (except during rollback, which must finish).
 */
#ifndef DR_HARNESS_CORE_TARGET_H
#define DR_HARNESS_CORE_TARGET_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "assertions/check.h"
#include "common/error.h"
#include "ledger/client/client.h"

struct journal;
struct plan;

/* A connection the workload writes through, for targets whose store does
 * not speak the bundled ledger's wire contract (etcd).  One per thread.
 * append makes ONE attempt and classifies it like ledger_append (ok,
 * definite failure, unknown); read_all returns the entries of client_id
 * in the final store (any order; caller frees *out). */
struct workload_conn {
	void *impl;
	/* CLOCK_MONOTONIC time read_all must give up by (a probe's deadline);
	 * 0: the connection's own bounds. */
	int64_t deadline_ns;
	void (*append)(struct workload_conn *c, const char *client_id, uint64_t sequence,
		       const char *payload, struct ledger_append_result *res);
	int (*read_all)(struct workload_conn *c, const char *client_id,
			struct ledger_entry_ref **out, size_t *n, struct dr_error *err);
	void (*close)(struct workload_conn *c);
};

/* How often canary writes go, and how long the first may take. */
struct canary_pace {
	int64_t interval_ns;
	int64_t baseline_ns;
};

/* What an action or probe left behind. */
enum action_status {
	ACTION_OK = 0,
	ACTION_FAILED,
	ACTION_TIMED_OUT,
	ACTION_UNSUPPORTED,  /* the target cannot do this action */
	ACTION_CANCELLED,    /* interrupted by a signal */
};

struct action_result {
	enum action_status status;
	char message[1024];
	json_t *data;        /* optional details (owned; released by action_result_release) */
};

#define ACTION_RESULT_INIT { ACTION_OK, { 0 }, NULL }

void action_result_set(struct action_result *res, enum action_status st,
		       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void action_result_release(struct action_result *res);
const char *action_status_name(enum action_status st);

/* Shared between threads (and, for interrupts, a signal handler): atomics,
 * lock-free on every platform drillrig builds on (harness/cli/signals.c
 * checks). */
struct action_ctx {
	int64_t deadline_ns;                  /* CLOCK_MONOTONIC; 0 = none */
	atomic_int *interrupts;               /* signals received so far */
	int interrupt_limit;                  /* cancel once *interrupts >= this; 0 = never */
	atomic_int *abort_requested;          /* set by an abort_when condition or the deadline */
	struct journal *journal;              /* events and commands go here */
	const char *step_name;
	int dry_run;                          /* print what would be done, touch nothing */
	int server_dry_run;                   /* the target's server-side dry run: generic
					       * actions (awaits, probes) only describe */
	/* The node that led just before the first fault (await_leader
	 * changed: true): its id, ACTION_NO_LEADER_BEFORE when none led, 0
	 * when not recorded (no fault yet, or the status failed). */
	int64_t leader_before_fault;
};

#define ACTION_NO_LEADER_BEFORE (-1)
#define ACTION_CTX_INIT { 0, NULL, 0, NULL, NULL, NULL, 0, 0, 0 }

/* 1 when the action should stop now (deadline passed or interrupted). */
int action_ctx_expired(const struct action_ctx *ctx);
int action_ctx_cancelled(const struct action_ctx *ctx);
/* Sleep up to ns, waking early on cancellation.  Returns 1 if cancelled. */
int action_ctx_sleep(const struct action_ctx *ctx, int64_t ns);

struct target;

/* One action a target can run ("scale", "kill", "partition", ...), with its
 * arguments validated against the plan schema (harness/plan/actions.h). */
typedef void (*target_action_fn)(struct target *t, json_t *args, const struct action_ctx *ctx,
				 struct action_result *res);

/* Flags of a target action. */
#define TARGET_ACTION_OWN_DRY_RUN 0x1u  /* runs in a dry run and describes itself
					 * (the Kubernetes target prints the exact
					 * kubectl commands); otherwise the executor
					 * says "would run ..." and calls nothing */

struct target_action {
	const char *name;        /* the plan's action name */
	unsigned flags;          /* TARGET_ACTION_* */
	target_action_fn run;
};

/* The entry of table (terminated by { NULL }) named name, or NULL. */
const struct target_action *target_action_find(const struct target_action *table, const char *name);

struct target {
	const char *kind;        /* "local", "kubernetes", ... (for display only) */
	void *impl;
	/* The ledger dialect the drill's writes, read-back, probes and
	 * transfers use (zero: the runbook's); set by the constructor from
	 * the plan's `api` / --api or the target's configuration. */
	enum ledger_api api;
	/* LEDGER_API_V1: where those writes go; NULL: the bundled ledger's
	 * scope (LEDGER_V1_SCOPE_BUNDLED). */
	const struct ledger_v1_scope *v1_scope;
	/* What this target can run besides the generic actions every target
	 * runs (awaits, probe, exec, sleep, notify): { NULL }-terminated. */
	const struct target_action *actions;
	/* A dry run's "would run ... <where>" ("on the bundled cluster"), or NULL. */
	const char *dry_run_where;
	/* Dry runs of the generic actions (awaits, probes): print the calls
	 * they would make against this target; returns 1 when it printed
	 * something.  NULL: the action is only described. */
	int (*dry_run_calls)(struct target *t, const char *action, json_t *args,
			     const struct action_ctx *ctx);

	/* Bring the target up (or attach to it) and wait until it answers. */
	int (*start)(struct target *t, const struct action_ctx *ctx, struct dr_error *err);
	/* Take the drill lock; refuses (with the holder named) if another drill holds it. */
	int (*lock)(struct target *t, struct dr_error *err);
	void (*unlock)(struct target *t);
	/* The cluster's state in GetClusterStatus shape (members, leader, ...).
	 * Called from the runner and the status poller at once: thread-safe. */
	int (*status)(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err);
	/* Optional: the cluster's state as the member behind endpoints()[i]
	 * sees it, GetClusterStatus shape.  The recorder polls every member in
	 * parallel with it and trusts the freshest highest-term answer, so one
	 * hung member never stalls the timeline.  Calls for different i may run
	 * at once; calls for the same i never do. */
	int (*member_status)(struct target *t, size_t i, json_t **out, int64_t timeout_ns,
			     struct dr_error *err);
	/* Ledger endpoints the workload writes through ("127.0.0.1:50051"), or
	 * NULL when the target has none (status-only measurement). */
	int (*endpoints)(struct target *t, char ***out, size_t *n, struct dr_error *err);
	/* Optional (NULL: the workload writes to endpoints() with the ledger
	 * client): open a workload connection with a per-call timeout.  The
	 * status poller then polls status() instead of each endpoint. */
	int (*workload_connect)(struct target *t, int64_t call_timeout_ns,
				struct workload_conn **out, struct dr_error *err);
	/* Optional: canary writes where there is no workload (no endpoints,
	 * no workload_connect): a sparse writer, one attempt per
	 * pace->interval_ns, whose writes are read back after the drill so RPO
	 * is measured; the drill starts once one is acknowledged (within
	 * pace->baseline_ns).  0 with *out NULL when the target has none. */
	int (*canary_connect)(struct target *t, struct workload_conn **out, struct canary_pace *pace,
			      struct dr_error *err);
	/* Optional: a separate cluster addressed like a region (the local
	 * target's `restored`, seeded by restore_snapshot).  Returns a target
	 * for it (owned by t, valid until t closes) or NULL when ref is an
	 * ordinary region. */
	struct target *(*scope)(struct target *t, const char *ref);
	/* Map a region reference (a role such as "dr", or a region name) to the
	 * region's name; NULL when unknown.  The string lives as long as t. */
	const char *(*resolve_region)(struct target *t, const char *ref);
	/* The region of one of endpoints()'s addresses, when the address alone
	 * says nothing (a local port-forward); NULL: match members' addresses. */
	const char *(*endpoint_region)(struct target *t, const char *endpoint);
	/* Optional: the admin token its nodes' admin and debug calls need
	 * (heap), for code that calls them directly: the ledger client (it
	 * finds the leader with GetClusterStatus, an admin method), the soak's
	 * debug faults and digests.  NULL: none needed. */
	char *(*admin_token)(struct target *t);
	/* A description for the journal: {"kind","description","topology","contexts"}. */
	json_t *(*describe)(struct target *t);
	/* Where the running drill keeps its pending undos for `drillrig recover`
	 * (heap string), next to the drill lock; NULL when the target has none. */
	char *(*state_path)(struct target *t);
	/* The pending undos as just written to the state file (JSON text), or
	 * NULL once the drill ended with nothing left to undo: a target may
	 * keep a copy where another machine's `drillrig recover` finds it.
	 * NULL hook: the state file is the only copy. */
	void (*state_saved)(struct target *t, const char *state);
	/* Tear down what start() created (unless asked to keep it) and free. */
	void (*close)(struct target *t, int keep);
};

/* ---- kinds of target ---------------------------------------------------- */

/* What the CLI passes a target's constructor and its hooks. */
struct target_opts {
	const char *cluster_dir;    /* local: attach to a running cluster */
	int keep;                   /* local: leave the cluster running */
	const char *config_path;    /* kubernetes/etcd: --target-config */
	int yes;                    /* confirmed non-interactively (--yes) */
	int dry_run;
	int server_dry_run;         /* kubernetes: --dry-run=server */
};

#define TARGET_OPTS_INIT { NULL, 0, NULL, 0, 0, 0 }

/* A constructor's return for a usage error (bad configuration, a context
 * not allowed, live infrastructure without --yes): the CLI exits 2. */
#define TARGET_EUSAGE (-2)

/* The generic part of `drillrig recover` that a kind's recover hook calls
 * back: the pending undos of state (newest first), its rollback list, then
 * extra (one more {"step": label, "action": {...}} the kind adds, or NULL),
 * then a bounded wait for full replication; one failure never skips the
 * rest.  Prints one line per action.  0 when everything succeeded. */
typedef int (*target_replay_fn)(struct target *t, struct journal *j, json_t *state,
				json_t *extra, int dry_run);

struct target_recover_args {
	struct target_opts opts;
	target_replay_fn replay;
	/* Called once the hook is past anything interactive (a confirmation
	 * prompt): from then on SIGINT/SIGTERM are counted, not fatal, so the
	 * replay can finish (the 3rd gives up, as in a drill's rollback). */
	void (*catch_interrupts)(void);
	/* Set by the hook when the options do not suit its kind (it then
	 * returns 2 and prints nothing): the CLI prints it with its usage. */
	char usage_error[256];
};

/* Flags of a kind. */
#define TARGET_KIND_PLAN_TOPOLOGY 0x1u  /* builds the cluster from the plan's topology
					 * (or the default one), so a plan may name its
					 * regions; other kinds name regions in their
					 * configuration */
#define TARGET_KIND_LEDGER_API 0x2u     /* speaks the ledger API in either dialect, so
					 * a plan's `api` (or --api) applies */
#define TARGET_KIND_SERVER_DRY_RUN 0x4u /* has a server-side dry run (--dry-run=server);
					 * other kinds refuse it, since without one
					 * every action would really run */

struct target_kind {
	const char *name;                       /* "local", "kubernetes", "etcd" */
	unsigned flags;                         /* TARGET_KIND_* */
	const struct target_action *actions;    /* the same table its targets carry */
	/* Create a target for plan (NULL: recover and preflight, which have
	 * no plan).  0, TARGET_EUSAGE or -1 with err. */
	int (*create)(struct target **out, const struct plan *plan, const struct target_opts *opts,
		      struct dr_error *err);
	/* Optional: finish the rollback of a drill whose runner died
	 * (drillrig recover).  Prints its progress; returns an exit code
	 * (harness/core/exit_codes.h). */
	int (*recover)(struct target_recover_args *args);
	/* Optional: read-only checks that a drill can run (drillrig
	 * preflight), one line per check on out (JSON objects with json).
	 * 0 every check passed, 1 one failed, TARGET_EUSAGE or -1 with err. */
	int (*preflight)(const struct target_opts *opts, const struct plan *plan, int json,
			 FILE *out, struct dr_error *err);
};

#endif
