/* The types of the plan schema: arguments, actions and probes as the
 * tables in harness/plan/actions.c describe them.  Types only, so the
 * plan model, the tables and the checker can all use them without
 * depending on each other. */
#ifndef DR_HARNESS_PLAN_SCHEMA_H
#define DR_HARNESS_PLAN_SCHEMA_H

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
	ARG_STEP_JSON_EXPECT, /* the same, each check may name the targets it applies to */
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

struct schema_ctx;      /* the checker's state (harness/plan/schema_report.h) */
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

struct probe_spec {
	const char *name;               /* the probe's type */
	const char *summary;
	const struct arg_spec *args;    /* besides type/name/retries/interval/timeout */
	const struct arg_spec *expect;  /* keys of its expect object, or NULL */
	void (*check)(struct schema_ctx *ctx, struct json_t *obj, const char *path);
};

#endif
