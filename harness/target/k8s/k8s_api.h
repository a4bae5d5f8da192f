/* The two admin API dialects (runbook, ledger.v1) and kubectl's JSON, parsed
 * into the one cluster status shape the runner, probes and reports read
 * (ledgerd's GetClusterStatus: snake_case keys, integers as numbers,
 * members[] with region, state and lag).
 *
 * grpcurl prints proto3 JSON: lowerCamelCase names, 64-bit integers as
 * strings, enums by their declared names, fields at their default value
 * left out.  The parsers accept that and the ledger's own snake_case.
 * Pure functions: tests/unit/test_k8s_api.c feeds recorded outputs.
 */
#ifndef DR_HARNESS_TARGET_K8S_K8S_API_H
#define DR_HARNESS_TARGET_K8S_K8S_API_H

#include <jansson.h>

#include "common/error.h"
#include "harness/target/k8s/k8s_config.h"

/* A pod of a region's StatefulSet, from `kubectl get pods -o json`. */
struct k8s_pod {
	char name[254];
	int ordinal;          /* from the name <statefulset>-<n>; -1 if it does not match */
	int ready;            /* condition Ready=True and not being deleted */
	int deleting;         /* metadata.deletionTimestamp set */
	char node[254];       /* spec.nodeName, "" when unscheduled */
	char phase[32];
};

/* Pods owned by statefulset (by name <sts>-<ordinal>), sorted by ordinal.
 * *out is heap (free()); *n may be 0. */
int k8s_parse_pods(struct k8s_pod **out, size_t *n, const char *text, const char *statefulset,
		   struct dr_error *err);

struct k8s_sts_state {
	int spec_replicas;
	int replicas;         /* status.replicas: pods that exist */
	int ready;            /* status.readyReplicas */
	int current;
	int updated;
	long long generation, observed_generation;
};

int k8s_parse_statefulset(struct k8s_sts_state *out, const char *text, struct dr_error *err);

/* Node names from `kubectl get nodes -o json`; *out is a heap array of
 * heap strings, NULL-terminated. */
int k8s_parse_node_names(char ***out, size_t *n, const char *text, struct dr_error *err);

/* "lastIndex" -> "last_index" (proto3 JSON names to the ledger's; heap). */
char *k8s_snake_case(const char *k);
/* Proto3 JSON -> snake_case keys, decimal strings of the named integer
 * fields -> integers.  Returns a new value. */
json_t *k8s_json_normalize(const json_t *in);

/* The status answer of cfg's dialect (grpcurl's stdout) into the cluster
 * status shape.  pods (ledger.v1 only; may be NULL) is an object region name
 * -> array of pod objects {name, ordinal, ready}: members carry no region or
 * state in ledger.v1, so they come from the configuration (node_ids) and
 * from the pods' readiness.  *out is a new reference. */
int k8s_parse_cluster_status(json_t **out, const struct k8s_config *cfg, const char *text,
			     const json_t *pods, struct dr_error *err);

/* The same from an answer already parsed (drillrig's own gRPC client). */
int k8s_parse_cluster_status_json(json_t **out, const struct k8s_config *cfg, const json_t *raw,
				  const json_t *pods, struct dr_error *err);

/* 1 when a health answer of cfg's dialect says serving/healthy. */
int k8s_parse_health(const struct k8s_config *cfg, const char *text, char *why, size_t len);

/* Request bodies (new references; NULL when the dialect cannot do it). */
json_t *k8s_payload_transfer(const struct k8s_config *cfg, int64_t node_id, const char *ledger_region,
			     int64_t timeout_ms);
json_t *k8s_payload_force_election(const struct k8s_config *cfg, const char *ledger_region,
				   int allow_data_loss);
/* what: the snapshot's path in the pod (runbook), the backup id (ledger.v1). */
json_t *k8s_payload_restore(const struct k8s_config *cfg, const char *what);

/* A pod object {name, ordinal, ready, deleting, node} for the status. */
json_t *k8s_pod_json(const struct k8s_pod *p);

#endif
