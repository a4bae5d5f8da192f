/* kubectl command lines of the Kubernetes target, built as argv arrays
 * (never a shell string).  Every builder starts with
 *   kubectl [--kubeconfig K] --context C -n NS
 * so no command ever depends on the operator's current context.  Changing
 * commands take server_dry_run and then carry --dry-run=server.
 *
 * Pure functions of the configuration: the unit tests compare them with
 * golden lists (tests/data/k8s/golden-argv-*.txt).
 */
#ifndef DR_HARNESS_TARGET_K8S_K8S_CMD_H
#define DR_HARNESS_TARGET_K8S_K8S_CMD_H

#include <stddef.h>

#include <jansson.h>

#include "harness/target/k8s/k8s_config.h"

/* A NULL-terminated, growable argv; every string is owned. */
struct k8s_argv {
	char **v;
	size_t n, alloc;
};

#define K8S_ARGV_INIT { NULL, 0, 0 }

void k8s_argv_add(struct k8s_argv *a, const char *s);
void k8s_argv_addf(struct k8s_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void k8s_argv_release(struct k8s_argv *a);
/* For display, journals and dry runs: words quoted as a shell would need,
 * grpcurl header values (-H, -rpc-header, -reflect-header) replaced by
 * [REDACTED] since they carry tokens.  Heap string. */
char *k8s_argv_display(const struct k8s_argv *a);

/* The admin calls of both dialects, by what they do. */
enum k8s_call {
	K8S_CALL_STATUS,          /* GetClusterStatus | GetClusterInfo */
	K8S_CALL_HEALTH,          /* grpc.health.v1.Health/Check | ledger.v1.HealthService/Check */
	K8S_CALL_FORCE_ELECTION,  /* ForceLeaderElection (runbook only) */
	K8S_CALL_TRANSFER,        /* RequestLeaderTransfer | TransferLeadership */
	K8S_CALL_SNAPSHOT,        /* CreateSnapshot */
	K8S_CALL_RESTORE,         /* RestoreFromSnapshot | RestoreBackup */
	K8S_CALL_BACKUP,          /* (ledger.v1) CreateBackup */
	K8S_CALL_WRITE,           /* canary writes: Ledger/Append | WriteService/Write */
	K8S_CALL_READ,            /* their read-back: Ledger/Read | ReadService/ListEntities */
};

/* The full method name in cfg's dialect, or NULL when the dialect has none. */
const char *k8s_call_method(const struct k8s_config *cfg, enum k8s_call call);

void k8s_cmd_base(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r);
void k8s_cmd_scale(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		   int replicas, int server_dry_run);
void k8s_cmd_get_statefulset(struct k8s_argv *a, const struct k8s_config *cfg,
			     const struct k8s_region *r);
void k8s_cmd_get_pods(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r);
void k8s_cmd_get_pod(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		     const char *pod);
/* Graceful delete: the pod's own grace period, never --force/--grace-period=0
 * (a forced delete of a StatefulSet pod can run two pods with one identity). */
void k8s_cmd_delete_pod(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
			const char *pod, int server_dry_run);
/* A crash without exec: delete --grace-period=0 --force.  The process
 * gets SIGKILL and the StatefulSet recreates the pod.  Used for every
 * kill but TERM: a distroless image has no kill, and inside its PID
 * namespace PID 1 ignores a SIGKILL sent from that namespace anyway. */
void k8s_cmd_force_delete_pod(struct k8s_argv *a, const struct k8s_config *cfg,
			      const struct k8s_region *r, const char *pod, int server_dry_run);
/* port-forward pod/P [LOCAL]:<admin_port> (local_port 0: any free port). */
void k8s_cmd_port_forward(struct k8s_argv *a, const struct k8s_config *cfg,
			  const struct k8s_region *r, const char *pod, int local_port);
/* kill -<SIG> 1 in the ledger container: a crash, not a shutdown. */
void k8s_cmd_kill_process(struct k8s_argv *a, const struct k8s_config *cfg,
			  const struct k8s_region *r, const char *pod, const char *signal_name);
/* exec without -t/-i, so stderr never mixes into the JSON on stdout.
 * payload may be NULL (no -d). */
void k8s_cmd_grpc(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		  const char *pod, enum k8s_call call, const json_t *payload);
/* grpcurl present in the pod (preflight). */
void k8s_cmd_grpcurl_version(struct k8s_argv *a, const struct k8s_config *cfg,
			     const struct k8s_region *r, const char *pod);
void k8s_cmd_cordon(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		    const char *node, int uncordon, int server_dry_run);
void k8s_cmd_drain(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		   const char *node, int timeout_s, int server_dry_run);
void k8s_cmd_get_nodes_in_zone(struct k8s_argv *a, const struct k8s_config *cfg,
			       const struct k8s_region *r, const char *zone);
/* kubectl cp POD:SRC DST (from 1) or SRC POD:DST (from 0). */
void k8s_cmd_cp(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		const char *pod, const char *pod_path, const char *local_path, int from_pod);
void k8s_cmd_lease_get(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r);
/* create -f - (the manifest on stdin): atomic, AlreadyExists when held. */
void k8s_cmd_lease_create(struct k8s_argv *a, const struct k8s_config *cfg,
			  const struct k8s_region *r, int server_dry_run);
void k8s_cmd_lease_delete(struct k8s_argv *a, const struct k8s_config *cfg,
			  const struct k8s_region *r, int server_dry_run);
/* subresource may be NULL ("scale", "exec", "eviction"). */
void k8s_cmd_auth_can_i(struct k8s_argv *a, const struct k8s_config *cfg,
			const struct k8s_region *r, const char *verb, const char *resource,
			const char *subresource);
void k8s_cmd_version(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r);

/* patch lease/<name> --type merge -p <merge_patch> (renewal, the undo copy). */
void k8s_cmd_lease_patch(struct k8s_argv *a, const struct k8s_config *cfg,
			 const struct k8s_region *r, const char *merge_patch);
/* A Kubernetes MicroTime (RFC 3339, microseconds, UTC) of wall_ns. */
void k8s_micro_time(char *buf, size_t len, int64_t wall_ns);

/* The Lease manifest (JSON) for holder, valid for cfg->lease_seconds from
 * now_wall_ns.  Heap string. */
char *k8s_lease_manifest(const struct k8s_config *cfg, const struct k8s_region *r,
			 const char *holder, int64_t now_wall_ns);

#endif
