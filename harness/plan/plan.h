/* Drill plans: load a YAML or JSON plan, check it against the schema
 * (docs/plan-reference.md) and expose it as typed fields.
 *
 * plan_load() reads the file, parses it into one jansson tree that keeps a
 * line and column for every key and value, substitutes ${vars}, and checks
 * everything, collecting ALL errors of the file into a plan_diags (each with
 * file, line, column, key path and message).  Only a plan without errors is
 * returned; everything in it has been validated, so the plan_arg_* readers
 * below never fail on a plan returned by plan_load().
 *
 * Ownership: the struct plan owns every string and json_t it points to;
 * plan_free() releases all of it.  Borrowed pointers (step->args, ...) live
 * as long as the plan.
 */
#ifndef DR_HARNESS_PLAN_PLAN_H
#define DR_HARNESS_PLAN_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "harness/plan/schema.h"

struct target_kind;

/* ---- diagnostics -------------------------------------------------------- */

enum plan_diag_severity {
	PLAN_DIAG_ERROR = 0,
	PLAN_DIAG_WARNING = 1,
};

struct plan_diag {
	enum plan_diag_severity severity;
	char *file;        /* the path as given to plan_load */
	unsigned line;     /* 1-based; 0 when the error has no place (I/O, --var) */
	unsigned column;   /* 1-based; 0 with line 0 */
	char *path;        /* key path "steps[2].timeout" ("" for the document) */
	char *message;     /* lowercase, says what was expected */
};

struct plan_diags {
	struct plan_diag *items;   /* in file order (sorted by line, column) */
	size_t n, alloc;
	size_t errors, warnings;
};

#define PLAN_DIAGS_INIT { NULL, 0, 0, 0, 0 }

/* Print every diagnostic as "file:line:col: path: message" (warnings as
 * "file:line:col: warning: path: message"); without a place, "file: ...". */
void plan_diags_print(FILE *f, const struct plan_diags *diags);
/* Free the items; diags is reusable afterwards. */
void plan_diags_release(struct plan_diags *diags);
/* Append one (used by the loader; public for the runner's own checks). */
void plan_diags_add(struct plan_diags *diags, enum plan_diag_severity sev,
		    const char *file, unsigned line, unsigned column,
		    const char *path, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* ---- the plan ------------------------------------------------------------ */

enum plan_role {
	PLAN_ROLE_PRIMARY = 0,
	PLAN_ROLE_DR = 1,
	PLAN_ROLE_WITNESS = 2,
};

struct plan_region {
	char *name;
	enum plan_role role;
	int size;          /* nodes, >= 1 */
	int zones;         /* zones <name>-a, -b, ... (default 2, at most size) */
};

struct plan_topology {
	int has_topology;            /* 0: not in the plan; regions then hold the
				      * default primary=2, dr=2, witness=1 */
	struct plan_region *regions;
	size_t nregions;
	int has_timing;              /* timing given in the plan or --timing */
	int64_t election_timeout_ns; /* default 300ms */
	int64_t heartbeat_ns;        /* default 30ms */
};

/* Each objective: has_x says whether the plan set it. */
struct plan_objectives {
	int has_rto;          int64_t rto_ns;
	int has_promotion;    int64_t promotion_ns;
	int has_resync;       int64_t resync_ns;
	int has_max_lag;      int64_t max_lag_ns;
	int has_rpo_window;   int64_t rpo_window_ns;
	int has_rpo_writes;   int64_t rpo_writes;      /* always set: default 0 */
	int rpo_stated;       /* the plan wrote rpo: (fails when it cannot be measured) */
	int has_availability; double availability_pct; /* 0..100 */
};

struct plan_workload {
	int enabled;             /* default 1 */
	double rate;             /* writes per second; 0 = closed loop (default) */
	int64_t timeout_ns;      /* per call, default 200ms */
	int64_t poll_interval_ns;/* default 20ms */
	int payload_size;        /* bytes, default 64 */
	/* Writes held steady this long just before the first fault, so the
	 * report has a "before" to compare with; 0 (default): none. */
	int64_t baseline_ns;
};

struct plan_step {
	const char *name;                /* unique; "<action>-<n>" when omitted */
	const char *action;
	const struct action_spec *spec;  /* the action's schema entry */
	json_t *args;        /* the step object after ${var} substitution,
			      * validated, optional arguments with a default
			      * filled in (keys name/action/timeout/... included) */
	int64_t timeout_ns;  /* step timeout or the action's default */
	int fault;           /* fault: true */
	int continue_on_failure; /* continue_on_failure: true */
	json_t *undo;        /* the undo action object, or NULL */
	const struct plan_step *undo_step; /* the same, as a step; or NULL */
	json_t *expect;      /* expectations on the result, or NULL */
	unsigned line, column; /* where the step starts in the file */
	size_t index;        /* position in steps[] (or rollback[]) */
};

struct plan_var {
	char *name;
	char *value;         /* after --var; NULL never (a var needs a value) */
	int secret;          /* redact everywhere (journal, reports, logs) */
	char *description;   /* or NULL */
	int from_cli;        /* the value came from --var */
};

struct plan {
	char *path;          /* as given */
	char *source;        /* the file's text exactly as written (no ${} substitution) */
	int is_json;         /* parsed as JSON (else YAML) */
	int version;         /* 1 */
	char *name;
	char *description;   /* "" when absent */
	char *target;        /* "local" | "kubernetes" | "etcd" (after --target) */
	const struct target_kind *target_kind; /* its kind, from plan_load_opts.targets */
	char *api;           /* "runbook" | "ledger.v1" (after --api); NULL: the
			      * target's own (runbook, or a Kubernetes target's
			      * configuration) */
	struct plan_topology topology;
	int64_t deadline_ns; /* 0: no deadline */
	struct plan_objectives objectives;
	struct plan_workload workload;
	json_t *steady_state;/* array of validated probe objects (may be empty) */
	json_t *abort_when;  /* array of validated conditions (may be empty) */
	struct plan_step *steps;
	size_t nsteps;
	struct plan_step *rollback; /* actions that always run at the end */
	size_t nrollback;
	struct plan_var *vars;
	size_t nvars;
	json_t *root;        /* the whole tree after substitution and defaults */
};

struct plan_load_opts {
	/* The target kinds a plan may name, NULL-terminated: the registry
	 * (target_registry, harness/target/registry.h).  Required: the checker
	 * asks a kind's action table whether it runs each step. */
	const struct target_kind *const *targets;
	const char *target;            /* NULL: the plan's own target */
	const char *api;               /* NULL: the plan's own api */
	const char *const *vars;       /* "name=value" strings from --var */
	size_t nvars;
	const char *timing;            /* "300ms/30ms" (election/heartbeat) or NULL */
	unsigned flags;                /* PLAN_LOAD_* */
};

/* Treat the text as JSON / YAML whatever the file name says (default: by
 * extension .json / .yaml / .yml, else JSON when it starts with '{'). */
#define PLAN_LOAD_FORCE_JSON 0x1u
#define PLAN_LOAD_FORCE_YAML 0x2u
/* A variable not given by --var takes DRILLRIG_VAR_<name> when it is set. */
#define PLAN_LOAD_VARS_FROM_ENV 0x4u

#define PLAN_LOAD_OPTS_TARGETS(kinds) { kinds, NULL, NULL, NULL, 0, NULL, 0 }
#define PLAN_LOAD_OPTS_INIT PLAN_LOAD_OPTS_TARGETS(NULL)

/* Load and check the plan at path.  On success returns 0 and *out is the
 * plan (caller frees with plan_free); diags may hold warnings.  On failure
 * returns -1, *out is NULL and diags holds at least one error (I/O errors
 * too).  opts->targets is required.  Diagnostics are appended: diags may
 * already hold items of other files. */
int plan_load(struct plan **out, const char *path, const struct plan_load_opts *opts,
	      struct plan_diags *diags);
/* The same from text in memory; path is used in messages and to guess the
 * format. */
int plan_load_text(struct plan **out, const char *path, const char *text, size_t len,
		   const struct plan_load_opts *opts, struct plan_diags *diags);
void plan_free(struct plan *plan);

/* Find a step by name (NULL if none). */
const struct plan_step *plan_find_step(const struct plan *plan, const char *name);
/* Region by name or role ("primary" finds the region whose role is primary
 * when no region is named so).  NULL when none matches. */
const struct plan_region *plan_find_region(const struct plan *plan, const char *name_or_role);
const char *plan_role_name(enum plan_role role);

/* Copy of text with every secret variable's value replaced by
 * "[REDACTED]" (caller frees).  Use on anything that leaves the process. */
char *plan_redact(const struct plan *plan, const char *text);
/* Deep copy of a json value with secrets redacted in every string. */
json_t *plan_redact_json(const struct plan *plan, const json_t *value);

/* ---- readers of validated arguments --------------------------------------
 * For an object validated by plan_load (step args, undo, probe specs,
 * expect): absent keys give the fallback. */
/* What running the plan needs from the machine (plan_needs.c). */
#define PLAN_NEEDS_ROOT 0x1u     /* disk_full (a tmpfs per node), nftables */
#define PLAN_NEEDS_NFTABLES 0x2u /* a one-way cut, a loss rate, method: nftables */
unsigned plan_needs(const struct plan *plan);
/* "root, nftables" (heap; "" for none). */
char *plan_needs_text(unsigned needs);

const char *plan_arg_str(const json_t *args, const char *key);      /* NULL if absent */
int64_t plan_arg_int(const json_t *args, const char *key, int64_t fallback);
double plan_arg_number(const json_t *args, const char *key, double fallback);
int plan_arg_bool(const json_t *args, const char *key, int fallback);
int64_t plan_arg_duration_ns(const json_t *args, const char *key, int64_t fallback);
/* An argv array as a NULL-terminated vector of borrowed strings (free()
 * the vector only); NULL when absent. */
const char **plan_arg_argv(const json_t *args, const char *key);

#endif
