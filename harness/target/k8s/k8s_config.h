/* The Kubernetes target's configuration (--target-config FILE, YAML or
 * JSON): regions as kubectl contexts, the API dialect, the allow-list.
 * Loaded into plain structs once; everything in a loaded config has been
 * validated, so readers never re-check.  docs/kubernetes.md documents it.
 */
#ifndef DR_HARNESS_TARGET_K8S_K8S_CONFIG_H
#define DR_HARNESS_TARGET_K8S_K8S_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

enum k8s_api {
	K8S_API_RUNBOOK = 0,   /* inferadb.ledger.v1.Admin/..., grpc.health.v1.Health */
	K8S_API_LEDGER_V1,     /* ledger.v1.AdminService/..., ledger.v1.HealthService */
};

/* How drillrig reaches a pod's ledger API (docs/kubernetes.md). */
enum k8s_transport {
	K8S_TRANSPORT_PORT_FORWARD = 0, /* kubectl port-forward pod/P :admin_port, one per pod */
	K8S_TRANSPORT_DIRECT,           /* address_template: the runner is in the cluster network */
	K8S_TRANSPORT_EXEC_GRPCURL,     /* kubectl exec P -- grpcurl (images that ship grpcurl) */
};

/* Who injects the faults a pod or the network suffers. */
enum k8s_fault_engine {
	K8S_FAULTS_KUBECTL = 0,         /* delete pod (--force for a crash), scale, cordon/drain */
	K8S_FAULTS_CHAOS_MESH,          /* PodChaos and NetworkChaos objects */
};

struct k8s_region {
	char *name;            /* the key under regions: */
	char *role;            /* primary | dr | witness */
	char *kubeconfig;      /* NULL: kubectl's default */
	char *context;
	char *namespace;
	char *statefulset;
	int replicas;          /* the normal size ("replicas: normal") */
	char *admin_pod;       /* default <statefulset>-0 */
	char *container;       /* exec -c; NULL: the pod's default */
	char *zone_label;      /* default topology.kubernetes.io/zone */
	char *ledger_region;   /* the name the ledger reports for it; default name */
	int64_t *node_ids;     /* ordinal i -> ledger node id; optional (ids are discovered) */
	size_t nnode_ids;
	enum k8s_transport transport;
	char *address_template;/* direct: "{pod}.svc.{namespace}...:50051"; NULL otherwise */
};

/* Canary writes: without a workload endpoint, a sparse writer through
 * kubectl exec grpcurl whose acknowledged writes are read back after the
 * drill, so RPO is measured anyway (harness/target/k8s/k8s_canary.h).  They
 * write into the production ledger, so they only run when configured. */
struct k8s_canary {
	int enabled;               /* a canary: mapping is present */
	char *organization;        /* ledger.v1 slugs, decimal uint64 strings */
	char *vault;
	char *caller;
	char *key_prefix;          /* ledger.v1 entity keys; default "drillrig/canary/" */
	int64_t interval_ns;       /* between canary writes; default 1s */
	int64_t timeout_ns;        /* per write or read call; default 10s */
	int64_t ttl_ns;            /* ledger.v1 expires_at; default 24h, 0 never */
};

struct k8s_config {
	char *path;
	enum k8s_api api;
	char *kubectl;             /* default "kubectl" (PATH) */
	char *grpcurl;             /* inside the pod; default "grpcurl" */
	int admin_port;            /* default 50051 */
	char **grpcurl_flags;      /* default ["-plaintext"] */
	size_t ngrpcurl_flags;
	char **allowed_contexts;
	size_t nallowed;
	struct k8s_region *regions;
	size_t nregions;
	char *workload_endpoint;   /* URL, "members", "pods", or NULL (status-only or canary) */
	enum k8s_fault_engine fault_engine;
	char *lease_name;          /* default drillrig-drill-lock */
	int lease_seconds;         /* default 600 */
	char *snapshot_dir;        /* in the pod; default /var/lib/ledger/snapshots */
	int64_t command_timeout_ns;/* per kubectl call; default 30s */
	struct k8s_canary canary;
};

/* Parse text (YAML or JSON; path is only for messages).  On failure *out is
 * untouched and err names file:line:column and the key when known. */
int k8s_config_parse(struct k8s_config **out, const char *path, const char *text,
		     size_t len, struct dr_error *err);
int k8s_config_load(struct k8s_config **out, const char *path, struct dr_error *err);
void k8s_config_free(struct k8s_config *cfg);

/* 1 when ctx is on the allow-list. */
int k8s_config_context_allowed(const struct k8s_config *cfg, const char *ctx);
/* A region by name, role or ledger_region name; NULL when none. */
const struct k8s_region *k8s_config_region(const struct k8s_config *cfg, const char *ref);
/* The region holding ledger node id (node_ids), NULL when none; *ordinal set. */
const struct k8s_region *k8s_config_node_region(const struct k8s_config *cfg, int64_t id,
						 int *ordinal);
const char *k8s_api_name(enum k8s_api api);
const char *k8s_transport_name(enum k8s_transport t);
/* 1 when some region uses transport t. */
int k8s_config_uses_transport(const struct k8s_config *cfg, enum k8s_transport t);
/* The direct address of pod (ordinal) in r: its address_template filled in
 * ({pod}, {ordinal}, {namespace}, {statefulset}, {region}, {context}).
 * Heap string. */
char *k8s_config_direct_address(const struct k8s_region *r, const char *pod);

#endif
