/* The Kubernetes target: live ledger StatefulSets, one per region, each
 * region a kubectl context.  Every change is a kubectl command run from an
 * argv array with an explicit --context and -n, a timeout, and its stdout,
 * stderr and exit status captured into the journal; admin calls go through
 * `kubectl exec POD -- grpcurl ...` in one of two API dialects (runbook or
 * ledger.v1).  Only contexts on the configuration's allow-list are touched.
 * docs/kubernetes.md is the user's reference.
 */
#ifndef DR_HARNESS_TARGET_K8S_K8S_H
#define DR_HARNESS_TARGET_K8S_K8S_H

#include <stdio.h>

#include "common/error.h"
#include "harness/core/target.h"

struct plan;

struct target_k8s_opts {
	const char *config_path;  /* --target-config (required) */
	int yes;                  /* --yes: confirmed non-interactively */
	int dry_run;              /* --dry-run: print every command, run none */
	int server_dry_run;       /* --dry-run=server: changes carry --dry-run=server */
	int interactive;          /* -1: decide from isatty(stdin/stderr); 0/1 forced (tests) */
	FILE *out;                /* dry-run commands and the summary; NULL: stdout */
};

#define TARGET_K8S_OPTS_INIT { NULL, 0, 0, 0, -1, NULL }

/* The kind the registry lists: its create takes --target-config, --yes and
 * the dry-run options; it has a recover and a preflight hook. */
extern const struct target_kind target_kind_kubernetes;

/* Load and validate the configuration, refuse contexts outside the
 * allow-list, and (unless a dry run) obtain the operator's confirmation,
 * all before any command runs.  Returns 0, -1 or TARGET_EUSAGE with err
 * set (TARGET_EUSAGE: an invalid configuration, a context outside the
 * allow-list, a run that needs --yes; -1: kubectl missing, a context
 * unreachable); nothing is left behind on failure. */
int target_k8s_new(struct target **out, const struct plan *plan,
		   const struct target_k8s_opts *opts, struct dr_error *err);

#endif
