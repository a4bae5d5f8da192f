/* The local target: the bundled ledger cluster (ledger/cluster/cluster.h), started
 * fresh with the plan's topology and timing, or attached with --cluster. */
#ifndef DR_HARNESS_TARGET_LOCAL_LOCAL_H
#define DR_HARNESS_TARGET_LOCAL_LOCAL_H

#include "common/error.h"
#include "harness/core/target.h"

struct plan;

struct target_local_opts {
	const char *cluster_dir;  /* attach to this running cluster; NULL: start one */
	const char *root_dir;     /* where a fresh cluster's directory is made; NULL:
				   * $DRILLRIG_CLUSTER_ROOT, else $TMPDIR or /tmp */
	int keep;                 /* leave a started cluster running at the end */
	int dry_run;              /* --dry-run: a fresh cluster is neither started nor
				   * given a directory */
};

#define TARGET_LOCAL_OPTS_INIT { NULL, NULL, 0, 0 }

/* The kind the registry lists (its create attaches with --cluster DIR). */
extern const struct target_kind target_kind_local;

/* A local target with options beyond struct target_opts (root_dir). */
int target_local_new(struct target **out, const struct plan *plan,
		     const struct target_local_opts *opts, struct dr_error *err);

#endif
