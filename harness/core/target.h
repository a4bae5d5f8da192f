/* A target is what a drill runs against: the bundled ledger cluster, live
 * Kubernetes contexts, a local etcd cluster.  It is a struct of function
 * pointers with a void *impl, filled by the target's constructor; the runner
 * never switches on a target's kind.
 *
 * Every operation takes a struct action_ctx carrying its deadline and the
 * cancellation flag, so a target's waits are bounded polls that stop early
 * on SIGINT (except during rollback, which must finish).
 */
#ifndef DR_HARNESS_CORE_TARGET_H
#define DR_HARNESS_CORE_TARGET_H

#include <jansson.h>
#include <signal.h>
#include <stdint.h>

#include "assertions/check.h"
#include "common/error.h"
#include "ledger/client/client.h"

struct journal;

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

struct action_ctx {
	int64_t deadline_ns;                  /* CLOCK_MONOTONIC; 0 = none */
	volatile sig_atomic_t *interrupts;    /* signals received so far */
	int interrupt_limit;                  /* cancel once *interrupts >= this; 0 = never */
	volatile int *abort_requested;        /* set by an abort_when condition or the deadline */
	struct journal *journal;              /* events and commands go here */
	const char *step_name;
	int dry_run;                          /* print what would be done, touch nothing */
	int server_dry_run;                   /* the target's server-side dry run: generic
					       * actions (awaits, probes) only describe */
};

#define ACTION_CTX_INIT { 0, NULL, 0, NULL, NULL, NULL, 0, 0 }

/* 1 when the action should stop now (deadline passed or interrupted). */
int action_ctx_expired(const struct action_ctx *ctx);
int action_ctx_cancelled(const struct action_ctx *ctx);
/* Sleep up to ns, waking early on cancellation.  Returns 1 if cancelled. */
int action_ctx_sleep(const struct action_ctx *ctx, int64_t ns);

struct target {
	const char *kind;        /* "local", "kubernetes", ... (for display only) */
	void *impl;

	/* Bring the target up (or attach to it) and wait until it answers. */
	int (*start)(struct target *t, const struct action_ctx *ctx, struct dr_error *err);
	/* Take the drill lock; refuses (with the holder named) if another drill holds it. */
	int (*lock)(struct target *t, struct dr_error *err);
	void (*unlock)(struct target *t);
	/* Run one target action ("scale", "kill", "partition", ...) with its
	 * validated arguments.  ACTION_UNSUPPORTED for anything it cannot do. */
	void (*action)(struct target *t, const char *action, json_t *args,
		       const struct action_ctx *ctx, struct action_result *res);
	/* The cluster's state in GetClusterStatus shape (members, leader, ...).
	 * Called from the runner and the status poller at once: thread-safe. */
	int (*status)(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err);
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
	/* A description for the journal: {"kind","description","topology","contexts"}. */
	json_t *(*describe)(struct target *t);
	/* Where the running drill keeps its pending undos for `drillrig recover`
	 * (heap string), next to the drill lock; NULL when the target has none. */
	char *(*state_path)(struct target *t);
	/* Tear down what start() created (unless asked to keep it) and free. */
	void (*close)(struct target *t, int keep);
};

/* Free-standing helpers every target uses. */
int target_region_has_role(json_t *member, const char *region, const char *role);

#endif
