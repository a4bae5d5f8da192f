/* The schema of drill actions and probes: one table entry per action and
 * per probe type, with its arguments (type, required, default), default
 * timeout, and whether it may be a fault.  Which targets can run an action
 * is not here: each target declares its own table (struct target_action,
 * harness/core/target.h), and the plan checker asks the target kind.
 *
 * The plan checker (harness/plan_check*.c) validates plans against these
 * tables; the runner reads spec->default_timeout_ns and the flags; the docs
 * (docs/plan-reference.md) list the same.  Tables are static and immutable.
 */
#ifndef DR_HARNESS_PLAN_ACTIONS_H
#define DR_HARNESS_PLAN_ACTIONS_H

#include <stddef.h>
#include <stdint.h>

enum arg_type {
	ARG_STRING,      /* non-empty string */
	ARG_INT,         /* integer (min..max) */
	ARG_NUMBER,      /* integer or finite float (min..max) */
	ARG_BOOL,
	ARG_DURATION,    /* "250ms", "10s" (harness/plan/duration.h) */
	ARG_ENUM,        /* one of values[] */
	ARG_REGION,      /* a role (primary|dr|witness) or a topology region name */
	ARG_NODE,        /* node id (integer >= 1) or a node/pod name (string) */
	ARG_REPLICAS,    /* integer >= 0 or "normal" */
	ARG_ARGV,        /* non-empty array of strings (never a shell string) */
	ARG_STRMAP,      /* object of string values (headers, labels, env) */
	ARG_REGEX,       /* string that compiles as a PCRE2 pattern */
	ARG_PROBE,       /* a probe object (see probe_specs) */
	ARG_JSON_EXPECT, /* list of {path, equals|matches|lt|le|gt|ge|ne} */
	ARG_STATUS,      /* HTTP status: integer 100..599 or a list of them */
	ARG_URL,         /* http:// or https:// URL */
	ARG_SNAPSHOT,    /* a previous snapshot step's name, or a file path */
};

struct arg_spec {
	const char *name;
	enum arg_type type;
	int required;
	const char *dflt;               /* default as written in a plan, or NULL */
	const char *const *values;      /* ARG_ENUM: NULL-terminated */
	int64_t min, max;               /* ARG_INT / ARG_NUMBER bounds (if min < max) */
	const char *doc;                /* one line for the reference */
};

/* Action flags. */
#define ACTION_MAY_FAULT 0x1u     /* may carry fault: true (and so an undo) */
#define ACTION_HAS_STDOUT 0x2u    /* result has exit_code/stdout/stderr (exec) */
#define ACTION_GENERIC 0x4u       /* every target runs it (the executor's own:
				   * awaits, probe, exec, sleep, notify) */

struct schema_ctx;      /* the checker's state (harness/plan/plan_check.h) */
struct json_t;

struct action_spec {
	const char *name;
	const char *summary;
	const struct arg_spec *args;    /* terminated by { NULL } */
	int64_t default_timeout_ns;
	unsigned flags;                 /* ACTION_* */
	/* Rules across arguments ("node required when what: node"), or NULL.
	 * Reports through the checker; obj is the validated step object. */
	void (*check)(struct schema_ctx *ctx, struct json_t *obj, const char *path);
};

/* NULL-terminated table, in the order of the reference. */
extern const struct action_spec *const action_specs[];
const struct action_spec *action_find(const char *name);

struct probe_spec {
	const char *name;               /* the probe's type */
	const char *summary;
	const struct arg_spec *args;    /* besides type/name/retries/interval/timeout */
	const struct arg_spec *expect;  /* keys of its expect object, or NULL */
	void (*check)(struct schema_ctx *ctx, struct json_t *obj, const char *path);
};

extern const struct probe_spec *const probe_specs[];
const struct probe_spec *probe_find(const char *type);

/* Keys every probe accepts, with their defaults. */
extern const struct arg_spec probe_common_args[];
#define PROBE_DEFAULT_RETRIES 2
#define PROBE_DEFAULT_INTERVAL "1s"
#define PROBE_DEFAULT_TIMEOUT "5s"

/* Keys of a step's expect object (all actions; exec adds exit_code etc.). */
extern const struct arg_spec step_expect_args[];
extern const struct arg_spec exec_expect_args[];

/* The closest of candidates to word by edit distance, or NULL when nothing
 * is close enough to be a plausible typo. */
const char *action_closest(const char *word, const char *const *candidates, size_t n);

#endif
