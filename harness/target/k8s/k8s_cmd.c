#include "harness/target/k8s/k8s_cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/proc.h"
#include "common/strbuf.h"

void k8s_argv_add(struct k8s_argv *a, const char *s)
{
	if (a->n + 2 > a->alloc) {
		a->alloc = a->alloc ? a->alloc * 2 : 16;
		a->v = xrealloc(a->v, a->alloc * sizeof(char *));
	}
	a->v[a->n++] = xstrdup(s);
	a->v[a->n] = NULL;
}

void k8s_argv_addf(struct k8s_argv *a, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	k8s_argv_add(a, strbuf_str(&sb));
	strbuf_release(&sb);
}

void k8s_argv_release(struct k8s_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->alloc = 0;
}

static int is_header_flag(const char *s)
{
	return strcmp(s, "-H") == 0 || strcmp(s, "-rpc-header") == 0 ||
	       strcmp(s, "-reflect-header") == 0 || strcmp(s, "--rpc-header") == 0 ||
	       strcmp(s, "--reflect-header") == 0;
}

char *k8s_argv_display(const struct k8s_argv *a)
{
	char **copy = xcalloc(a->n + 1, sizeof(char *));
	char *text;

	for (size_t i = 0; i < a->n; i++) {
		if (i > 0 && is_header_flag(a->v[i - 1])) {
			const char *colon = strchr(a->v[i], ':');

			copy[i] = colon ? xasprintf("%.*s: [REDACTED]", (int)(colon - a->v[i]), a->v[i])
					: xstrdup("[REDACTED]");
		} else {
			copy[i] = xstrdup(a->v[i]);
		}
	}
	text = proc_argv_display(copy);
	for (size_t i = 0; i < a->n; i++)
		free(copy[i]);
	free(copy);
	return text;
}

const char *k8s_call_method(const struct k8s_config *cfg, enum k8s_call call)
{
	static const char *const runbook[] = {
		[K8S_CALL_STATUS] = "inferadb.ledger.v1.Admin/GetClusterStatus",
		[K8S_CALL_HEALTH] = "grpc.health.v1.Health/Check",
		[K8S_CALL_FORCE_ELECTION] = "inferadb.ledger.v1.Admin/ForceLeaderElection",
		[K8S_CALL_TRANSFER] = "inferadb.ledger.v1.Admin/RequestLeaderTransfer",
		[K8S_CALL_SNAPSHOT] = "inferadb.ledger.v1.Admin/CreateSnapshot",
		[K8S_CALL_RESTORE] = "inferadb.ledger.v1.Admin/RestoreFromSnapshot",
		[K8S_CALL_BACKUP] = NULL,
		[K8S_CALL_WRITE] = "inferadb.ledger.v1.Ledger/Append",
		[K8S_CALL_READ] = "inferadb.ledger.v1.Ledger/Read",
	};
	static const char *const ledger_v1[] = {
		[K8S_CALL_STATUS] = "ledger.v1.AdminService/GetClusterInfo",
		[K8S_CALL_HEALTH] = "ledger.v1.HealthService/Check",
		[K8S_CALL_FORCE_ELECTION] = NULL,
		[K8S_CALL_TRANSFER] = "ledger.v1.AdminService/TransferLeadership",
		[K8S_CALL_SNAPSHOT] = "ledger.v1.AdminService/CreateSnapshot",
		[K8S_CALL_RESTORE] = "ledger.v1.AdminService/RestoreBackup",
		[K8S_CALL_BACKUP] = "ledger.v1.AdminService/CreateBackup",
		[K8S_CALL_WRITE] = "ledger.v1.WriteService/Write",
		[K8S_CALL_READ] = "ledger.v1.ReadService/ListEntities",
	};

	if ((unsigned)call > K8S_CALL_READ)
		return NULL;
	return cfg->api == K8S_API_LEDGER_V1 ? ledger_v1[call] : runbook[call];
}

void k8s_cmd_base(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r)
{
	k8s_argv_add(a, cfg->kubectl);
	if (r->kubeconfig) {
		k8s_argv_add(a, "--kubeconfig");
		k8s_argv_add(a, r->kubeconfig);
	}
	k8s_argv_add(a, "--context");
	k8s_argv_add(a, r->context);
	k8s_argv_add(a, "-n");
	k8s_argv_add(a, r->namespace);
}

static void server_dry(struct k8s_argv *a, int server_dry_run)
{
	if (server_dry_run)
		k8s_argv_add(a, "--dry-run=server");
}

void k8s_cmd_scale(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		   int replicas, int server_dry_run)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "scale");
	k8s_argv_addf(a, "statefulset/%s", r->statefulset);
	k8s_argv_addf(a, "--replicas=%d", replicas);
	server_dry(a, server_dry_run);
}

void k8s_cmd_get_statefulset(struct k8s_argv *a, const struct k8s_config *cfg,
			     const struct k8s_region *r)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "get");
	k8s_argv_addf(a, "statefulset/%s", r->statefulset);
	k8s_argv_add(a, "-o");
	k8s_argv_add(a, "json");
}

void k8s_cmd_get_pods(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "get");
	k8s_argv_add(a, "pods");
	k8s_argv_add(a, "-o");
	k8s_argv_add(a, "json");
}

void k8s_cmd_get_pod(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		     const char *pod)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "get");
	k8s_argv_addf(a, "pod/%s", pod);
	k8s_argv_add(a, "-o");
	k8s_argv_add(a, "json");
}

/* A graceful delete, or with force a crash (grace 0, no wait for the
 * kubelet's confirmation). */
static void delete_pod(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		       const char *pod, int force, int server_dry_run)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "delete");
	k8s_argv_addf(a, "pod/%s", pod);
	if (force) {
		k8s_argv_add(a, "--grace-period=0");
		k8s_argv_add(a, "--force");
	}
	/* Return once deletion started; the target then watches the pod come back. */
	k8s_argv_add(a, "--wait=false");
	server_dry(a, server_dry_run);
}

void k8s_cmd_delete_pod(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
			const char *pod, int server_dry_run)
{
	delete_pod(a, cfg, r, pod, 0, server_dry_run);
}

void k8s_cmd_force_delete_pod(struct k8s_argv *a, const struct k8s_config *cfg,
			      const struct k8s_region *r, const char *pod, int server_dry_run)
{
	delete_pod(a, cfg, r, pod, 1, server_dry_run);
}

void k8s_cmd_port_forward(struct k8s_argv *a, const struct k8s_config *cfg,
			  const struct k8s_region *r, const char *pod, int local_port)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "port-forward");
	k8s_argv_addf(a, "pod/%s", pod);
	if (local_port > 0)
		k8s_argv_addf(a, "%d:%d", local_port, cfg->admin_port);
	else
		k8s_argv_addf(a, ":%d", cfg->admin_port);
}

static void exec_prefix(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
			const char *pod)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "exec");
	k8s_argv_add(a, pod);
	if (r->container) {
		k8s_argv_add(a, "-c");
		k8s_argv_add(a, r->container);
	}
	k8s_argv_add(a, "--");
}

void k8s_cmd_kill_process(struct k8s_argv *a, const struct k8s_config *cfg,
			  const struct k8s_region *r, const char *pod, const char *signal_name)
{
	exec_prefix(a, cfg, r, pod);
	k8s_argv_add(a, "kill");
	if (!signal_name || strcmp(signal_name, "KILL") == 0)
		k8s_argv_add(a, "-9");
	else
		k8s_argv_addf(a, "-%s", signal_name);
	k8s_argv_add(a, "1");
}

void k8s_cmd_grpc(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		  const char *pod, enum k8s_call call, const json_t *payload)
{
	const char *method = k8s_call_method(cfg, call);

	exec_prefix(a, cfg, r, pod);
	k8s_argv_add(a, cfg->grpcurl);
	for (size_t i = 0; i < cfg->ngrpcurl_flags; i++)
		k8s_argv_add(a, cfg->grpcurl_flags[i]);
	if (payload) {
		char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);

		k8s_argv_add(a, "-d");
		k8s_argv_add(a, text ? text : "{}");
		free(text);
	}
	k8s_argv_addf(a, "localhost:%d", cfg->admin_port);
	k8s_argv_add(a, method ? method : "?");
}

void k8s_cmd_grpcurl_version(struct k8s_argv *a, const struct k8s_config *cfg,
			     const struct k8s_region *r, const char *pod)
{
	exec_prefix(a, cfg, r, pod);
	k8s_argv_add(a, cfg->grpcurl);
	k8s_argv_add(a, "-version");
}

void k8s_cmd_cordon(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		    const char *node, int uncordon, int server_dry_run)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, uncordon ? "uncordon" : "cordon");
	k8s_argv_add(a, node);
	server_dry(a, server_dry_run);
}

void k8s_cmd_drain(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		   const char *node, int timeout_s, int server_dry_run)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "drain");
	k8s_argv_add(a, node);
	/* Evictions honour PodDisruptionBudgets and grace periods; no --force,
	 * no --grace-period=0. */
	k8s_argv_add(a, "--ignore-daemonsets");
	k8s_argv_add(a, "--delete-emptydir-data");
	k8s_argv_addf(a, "--timeout=%ds", timeout_s > 0 ? timeout_s : 60);
	server_dry(a, server_dry_run);
}

void k8s_cmd_get_nodes_in_zone(struct k8s_argv *a, const struct k8s_config *cfg,
			       const struct k8s_region *r, const char *zone)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "get");
	k8s_argv_add(a, "nodes");
	k8s_argv_add(a, "-l");
	k8s_argv_addf(a, "%s=%s", r->zone_label, zone);
	k8s_argv_add(a, "-o");
	k8s_argv_add(a, "json");
}

void k8s_cmd_cp(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r,
		const char *pod, const char *pod_path, const char *local_path, int from_pod)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "cp");
	if (r->container) {
		k8s_argv_add(a, "-c");
		k8s_argv_add(a, r->container);
	}
	if (from_pod) {
		k8s_argv_addf(a, "%s:%s", pod, pod_path);
		k8s_argv_add(a, local_path);
	} else {
		k8s_argv_add(a, local_path);
		k8s_argv_addf(a, "%s:%s", pod, pod_path);
	}
}

void k8s_cmd_lease_get(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "get");
	k8s_argv_addf(a, "lease.coordination.k8s.io/%s", cfg->lease_name);
	k8s_argv_add(a, "-o");
	k8s_argv_add(a, "json");
}

void k8s_cmd_lease_create(struct k8s_argv *a, const struct k8s_config *cfg,
			  const struct k8s_region *r, int server_dry_run)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "create");
	k8s_argv_add(a, "-f");
	k8s_argv_add(a, "-");
	k8s_argv_add(a, "-o");
	k8s_argv_add(a, "json");
	server_dry(a, server_dry_run);
}

void k8s_cmd_lease_delete(struct k8s_argv *a, const struct k8s_config *cfg,
			  const struct k8s_region *r, int server_dry_run)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "delete");
	k8s_argv_addf(a, "lease.coordination.k8s.io/%s", cfg->lease_name);
	k8s_argv_add(a, "--ignore-not-found");
	server_dry(a, server_dry_run);
}

void k8s_cmd_auth_can_i(struct k8s_argv *a, const struct k8s_config *cfg,
			const struct k8s_region *r, const char *verb, const char *resource,
			const char *subresource)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "auth");
	k8s_argv_add(a, "can-i");
	k8s_argv_add(a, verb);
	/* "pods/exec" would be read as the pod named exec: the flag is exact. */
	k8s_argv_add(a, resource);
	if (subresource)
		k8s_argv_addf(a, "--subresource=%s", subresource);
}

void k8s_cmd_version(struct k8s_argv *a, const struct k8s_config *cfg, const struct k8s_region *r)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "version");
	k8s_argv_add(a, "-o");
	k8s_argv_add(a, "json");
}

void k8s_micro_time(char *buf, size_t len, int64_t wall_ns)
{
	time_t secs = (time_t)(wall_ns / NS_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)((wall_ns % NS_PER_SEC) / 1000));
}

void k8s_cmd_lease_patch(struct k8s_argv *a, const struct k8s_config *cfg,
			 const struct k8s_region *r, const char *merge_patch)
{
	k8s_cmd_base(a, cfg, r);
	k8s_argv_add(a, "patch");
	k8s_argv_addf(a, "lease.coordination.k8s.io/%s", cfg->lease_name);
	k8s_argv_add(a, "--type");
	k8s_argv_add(a, "merge");
	k8s_argv_add(a, "-p");
	k8s_argv_add(a, merge_patch);
}

char *k8s_lease_manifest(const struct k8s_config *cfg, const struct k8s_region *r,
			 const char *holder, int64_t now_wall_ns)
{
	char when[64];
	json_t *m;
	char *text;

	k8s_micro_time(when, sizeof(when), now_wall_ns);
	m = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:{s:s,s:i,s:s,s:s,s:i}}",
		      "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
		      "metadata", "name", cfg->lease_name, "namespace", r->namespace,
		      "labels", "app.kubernetes.io/managed-by", "drillrig",
		      "spec", "holderIdentity", holder, "leaseDurationSeconds", cfg->lease_seconds,
		      "acquireTime", when, "renewTime", when, "leaseTransitions", 0);
	text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(m);
	return text;
}
