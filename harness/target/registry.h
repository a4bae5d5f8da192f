/* The table of targets: a name and a constructor each.  Adding a target is
 * one entry here and one file behind harness/target.h. */
#ifndef DR_HARNESS_TARGET_REGISTRY_H
#define DR_HARNESS_TARGET_REGISTRY_H

#include "common/error.h"
#include "harness/core/target.h"

struct plan;

struct target_opts {
	const char *cluster_dir;    /* local: attach to a running cluster */
	int keep;                   /* local: leave the cluster running */
	const char *config_path;    /* kubernetes/etcd: --target-config */
	int yes;                    /* confirmed non-interactively (--yes) */
	int dry_run;
	int server_dry_run;         /* kubernetes: --dry-run=server */
};

#define TARGET_OPTS_INIT { NULL, 0, NULL, 0, 0, 0 }

/* target_create's return for a usage error (bad configuration, a context
 * not allowed, live infrastructure without --yes): the CLI exits 2. */
#define TARGET_EUSAGE (-2)

int target_create(struct target **out, const char *kind, const struct plan *plan,
		  const struct target_opts *opts, struct dr_error *err);
/* "local, kubernetes, ..." for messages. */
const char *target_kinds(void);

#endif
