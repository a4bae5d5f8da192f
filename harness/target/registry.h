/* The registry of target kinds: the one place that knows every kind.
 * Adding a target is a folder harness/target/<kind>/ whose public header
 * declares its struct target_kind, and one line in registry.c
 * (docs/architecture.md walks through it). */
#ifndef DR_HARNESS_TARGET_REGISTRY_H
#define DR_HARNESS_TARGET_REGISTRY_H

#include "common/error.h"
#include "common/strbuf.h"
#include "harness/core/target.h"

/* Every kind, NULL-terminated, in the order help texts list them.  Plan
 * loading takes it as plan_load_opts.targets. */
extern const struct target_kind *const target_registry[];

/* The kind called name, or NULL. */
const struct target_kind *target_kind_find(const char *name);

/* "local, kubernetes, etcd" appended to sb; only kinds with a hook when
 * with_recover / with_preflight. */
void target_kind_names(struct strbuf *sb, int with_recover, int with_preflight);

/* Create a target of the kind called name (see struct target_kind's
 * create): 0, TARGET_EUSAGE (exit 2) or -1 with err.  A server-side dry
 * run of a kind without one (TARGET_KIND_SERVER_DRY_RUN) is TARGET_EUSAGE. */
int target_create(struct target **out, const char *name, const struct plan *plan,
		  const struct target_opts *opts, struct dr_error *err);

#endif
