/* `drillrig preflight` for the Kubernetes target: everything a drill needs,
 * checked read-only before the maintenance window, one line per check. */

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/target/k8s/k8s.h"
#include "harness/target/k8s/k8s_canary_api.h"
#include "harness/target/k8s/k8s_impl.h"

/* kubectl port-forward connects through the API server and the kubelet:
 * a real cluster takes a few seconds for the first one. */
#define PREFLIGHT_FORWARD_NS (15 * NS_PER_SEC)

/* kubectl supports one minor version of skew either way with the API server. */
#define SKEW_MINORS 1
#define LAG_ALERT_SECONDS 5.0   /* the runbook's ledger_replication_lag_seconds alert */

struct pf {
	struct k8s_target *kt;
	FILE *out;
	int json;
	int failed;
	int checks;
};

static void report(struct pf *pf, const char *check, const char *where, int ok, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void report(struct pf *pf, const char *check, const char *where, int ok, const char *fmt, ...)
{
	char detail[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	pf->checks++;
	pf->failed += !ok;
	if (pf->json) {
		json_t *o = json_pack("{s:s,s:s,s:b,s:s}", "check", check, "where", where, "ok", ok,
				      "detail", detail);
		char *s = json_dumps(o, JSON_COMPACT);

		fprintf(pf->out, "%s\n", s);
		free(s);
		json_decref(o);
	} else {
		fprintf(pf->out, "%-4s  %-18s %-28s %s\n", ok ? "ok" : "FAIL", check, where, detail);
	}
	fflush(pf->out);
}

static int minor_of(json_t *v)
{
	const char *m = json_string_value(json_object_get(v, "minor"));
	int64_t n = 0;
	char digits[16];
	size_t k = 0;

	/* EKS says "29+". */
	while (m && m[k] >= '0' && m[k] <= '9' && k < sizeof(digits) - 1) {
		digits[k] = m[k];
		k++;
	}
	digits[k] = '\0';
	if (!k || parse_int64(&n, digits, 0, 1000) != 0)
		return -1;
	return (int)n;
}

/* kubectl present, the context reachable, and the version skew. */
static int check_version(struct pf *pf, const struct k8s_region *r)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	json_t *v = NULL;
	int rc, cm, sm;

	k8s_cmd_version(&a, pf->kt->cfg, r);
	rc = k8s_run(pf->kt, &o, &a, NULL, 20 * NS_PER_SEC, K8S_RUN_READ, NULL, &err);
	k8s_argv_release(&a);
	if (rc != 0 && !o.ran) {
		report(pf, "kubectl", r->context, 0, "%s", err.msg);
		k8s_out_release(&o);
		return -1;
	}
	v = json_loads(o.out, 0, NULL);
	cm = minor_of(json_object_get(v, "clientVersion"));
	sm = minor_of(json_object_get(v, "serverVersion"));
	if (rc != 0 || sm < 0) {
		report(pf, "context reachable", r->context, 0, "%s", err.msg[0] ? err.msg : "no server version");
		rc = -1;
	} else {
		report(pf, "context reachable", r->context, 1, "API server %s",
		       json_string_value(json_object_get(json_object_get(v, "serverVersion"), "gitVersion")) ?: "?");
		if (cm < 0 || abs(cm - sm) > SKEW_MINORS) {
			report(pf, "kubectl skew", r->context, 0,
			       "kubectl 1.%d against API server 1.%d: outside the supported skew of +/-%d minor",
			       cm, sm, SKEW_MINORS);
		} else {
			report(pf, "kubectl skew", r->context, 1, "kubectl 1.%d, server 1.%d", cm, sm);
		}
	}
	json_decref(v);
	k8s_out_release(&o);
	return rc;
}

static void check_statefulset(struct pf *pf, const struct k8s_region *r)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	struct k8s_sts_state st;
	char where[160];

	snprintf(where, sizeof(where), "%s/%s", r->context, r->namespace);
	k8s_cmd_get_statefulset(&a, pf->kt->cfg, r);
	if (k8s_run(pf->kt, &o, &a, NULL, 0, K8S_RUN_READ, NULL, &err) != 0 ||
	    k8s_parse_statefulset(&st, o.out, &err) != 0)
		report(pf, "statefulset", where, 0, "%s", err.msg);
	else
		report(pf, "statefulset", where, st.ready == r->replicas && st.spec_replicas == r->replicas,
		       "statefulset/%s: %d/%d Ready (normal %d)", r->statefulset, st.ready, st.spec_replicas,
		       r->replicas);
	k8s_out_release(&o);
	k8s_argv_release(&a);
}

struct verb {
	const char *verb, *resource, *sub;
	const char *const *for_actions;  /* NULL: always needed */
};

static const char *const scale_actions[] = { "scale", NULL };
static const char *const delete_actions[] = { "kill", "zone_down", "drain_node", NULL };
static const char *const node_actions[] = { "drain_node", "zone_down", "start", NULL };
static const char *const cp_actions[] = { "snapshot", "restore_snapshot", NULL };
static const char *const partition_actions[] = { "partition", "heal", NULL };

/* By feature (docs/kubernetes.md, RBAC): what each plan action needs.
 * The transport's own verb (exec or portforward) is checked per region. */
static const struct verb verbs[] = {
	{ "get", "statefulsets.apps", NULL, NULL },
	{ "list", "pods", NULL, NULL },
	{ "patch", "statefulsets.apps", "scale", scale_actions },
	{ "delete", "pods", NULL, delete_actions },
	{ "patch", "nodes", NULL, node_actions },
	{ "list", "nodes", NULL, node_actions },
	{ "create", "pods", "eviction", node_actions },
	{ "get", "daemonsets.apps", NULL, node_actions },  /* drain --ignore-daemonsets */
	{ "get", "pods", NULL, cp_actions },
};

static int plan_uses(const struct plan *plan, const char *const *actions)
{
	if (!plan || !actions)
		return 1;
	for (size_t i = 0; i < plan->nsteps; i++) {
		const char *undo = plan->steps[i].undo ?
			json_string_value(json_object_get(plan->steps[i].undo, "action")) : NULL;

		for (size_t k = 0; actions[k]; k++)
			if (strcmp(plan->steps[i].action, actions[k]) == 0 || (undo && strcmp(undo, actions[k]) == 0))
				return 1;
	}
	for (size_t i = 0; i < plan->nrollback; i++)
		for (size_t k = 0; actions[k]; k++)
			if (strcmp(plan->rollback[i].action, actions[k]) == 0)
				return 1;
	return 0;
}

static void can_i(struct pf *pf, const struct k8s_region *r, const char *verb, const char *resource,
		  const char *sub)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	char what[160];
	int rc;

	snprintf(what, sizeof(what), "%s %s%s%s", verb, resource, sub ? "/" : "", sub ? sub : "");
	k8s_cmd_auth_can_i(&a, pf->kt->cfg, r, verb, resource, sub);
	rc = k8s_run(pf->kt, &o, &a, NULL, 0, K8S_RUN_READ, NULL, &err);
	/* can-i exits 1 and prints "no" for a refusal; anything else is an error. */
	if (rc == 0)
		report(pf, "rbac", r->context, 1, "can %s", what);
	else if (o.ran && o.exit_code == 1 && strncmp(o.out, "no", 2) == 0)
		report(pf, "rbac", r->context, 0, "cannot %s in namespace %s (see docs/kubernetes.md for the Role)",
		       what, r->namespace);
	else
		report(pf, "rbac", r->context, 0, "cannot check %s: %s", what, err.msg);
	k8s_out_release(&o);
	k8s_argv_release(&a);
}

/* The region's transport carries a ledger call to its admin pod: a
 * port-forward opens and the status answers through it (or the direct
 * address answers). */
static void check_transport(struct pf *pf, const struct k8s_region *r)
{
	struct dr_error err = DR_ERROR_INIT;
	char where[300], addr[300];
	json_t *answer = NULL;

	snprintf(where, sizeof(where), "%s/%s", r->context, r->admin_pod);
	if (k8s_ledger_address(pf->kt, r, r->admin_pod, PREFLIGHT_FORWARD_NS, addr, sizeof(addr), &err) != 0) {
		report(pf, "ledger api", where, 0, "%s: %s", k8s_transport_name(r->transport), err.msg);
		return;
	}
	if (k8s_ledger_call(pf->kt, r, r->admin_pod, K8S_CALL_STATUS, NULL, 10 * NS_PER_SEC, K8S_RUN_READ,
			    NULL, &answer, NULL, &err) != 0)
		report(pf, "ledger api", where, 0, "%s to %s: %s", k8s_transport_name(r->transport), addr,
		       err.msg);
	else
		report(pf, "ledger api", where, 1, "%s: %s answers at %s", k8s_transport_name(r->transport),
		       k8s_call_method(pf->kt->cfg, K8S_CALL_STATUS), addr);
	json_decref(answer);
}

static void check_grpcurl(struct pf *pf, const struct k8s_region *r)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	char where[300];

	snprintf(where, sizeof(where), "%s/%s", r->context, r->admin_pod);
	k8s_cmd_grpcurl_version(&a, pf->kt->cfg, r, r->admin_pod);
	if (k8s_run(pf->kt, &o, &a, NULL, 0, K8S_RUN_READ, NULL, &err) != 0) {
		report(pf, "grpcurl in pod", where, 0, "%s", err.msg);
	} else {
		const char *v = o.out[0] ? o.out : o.errout;

		report(pf, "grpcurl in pod", where, 1, "%.*s", (int)strcspn(v, "\n"), v);
	}
	k8s_out_release(&o);
	k8s_argv_release(&a);
}

static void check_leader(struct pf *pf)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *st = NULL, *leader, *m;
	double worst = 0;
	size_t i, down = 0;

	if (k8s_read_status(pf->kt, &st, 10 * NS_PER_SEC, NULL, &err) != 0) {
		report(pf, "leader", "cluster", 0, "%s", err.msg);
		return;
	}
	leader = json_object_get(st, "leader");
	if (!json_is_object(leader))
		report(pf, "leader", "cluster", 0, "no leader (replication: %s)",
		       json_string_value(json_object_get(st, "replication")) ?: "?");
	else
		report(pf, "leader", "cluster", 1, "node %lld in region %s (term %lld)",
		       (long long)json_integer_value(json_object_get(leader, "id")),
		       json_string_value(json_object_get(leader, "region")) ?: "?",
		       (long long)json_integer_value(json_object_get(st, "term")));
	json_array_foreach(json_object_get(st, "members"), i, m) {
		const char *s = json_string_value(json_object_get(m, "state"));
		double lag = json_number_value(json_object_get(m, "lag_seconds"));

		down += s && strcmp(s, "unreachable") == 0;
		if (lag > worst)
			worst = lag;
	}
	report(pf, "replication", "cluster", down == 0 && worst <= LAG_ALERT_SECONDS,
	       "%s; largest lag %.3fs (alert above %.0fs); %zu member%s unreachable",
	       json_string_value(json_object_get(st, "replication")) ?: "?", worst, LAG_ALERT_SECONDS, down,
	       down == 1 ? "" : "s");
	json_decref(st);
}

/* Canary writes configured: their read path answers (a preflight writes
 * nothing into the ledger, so the write itself is not tried). */
static void check_canary(struct pf *pf)
{
	const struct k8s_config *cfg = pf->kt->cfg;
	struct dr_error err = DR_ERROR_INIT;
	char where[300];

	if (!cfg->canary.enabled || cfg->workload_endpoint)
		return;
	if (k8s_canary_check(pf->kt, where, sizeof(where), &err) != 0)
		report(pf, "canary read-back", where, 0, "%s", err.msg);
	else
		report(pf, "canary read-back", where, 1, "%s answers; writes will use %s",
		       k8s_call_method(cfg, K8S_CALL_READ), k8s_call_method(cfg, K8S_CALL_WRITE));
}

int k8s_preflight(const struct target_opts *opts, const struct plan *plan, int json, FILE *out,
		  struct dr_error *err)
{
	struct target_k8s_opts o = TARGET_K8S_OPTS_INIT;
	struct target *t = NULL;
	struct pf pf;
	int rc;

	if (!opts->config_path) {
		dr_error_set(err, "--target-config FILE is required");
		return TARGET_EUSAGE;
	}
	o.config_path = opts->config_path;
	o.yes = 1;        /* read-only: nothing to confirm */
	o.interactive = 0;
	o.out = out;
	rc = target_k8s_new(&t, plan, &o, err);
	if (rc != 0)
		return rc;
	memset(&pf, 0, sizeof(pf));
	pf.kt = t->impl;
	pf.out = out;
	pf.json = json;
	if (!json)
		fprintf(out, "%-4s  %-18s %-28s %s\n", "", "CHECK", "WHERE", "DETAIL");
	for (size_t i = 0; i < pf.kt->cfg->nregions; i++) {
		const struct k8s_region *r = &pf.kt->cfg->regions[i];

		if (check_version(&pf, r) != 0)
			continue; /* the rest of this context would only repeat why */
		check_statefulset(&pf, r);
		for (size_t k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
			if (plan_uses(plan, verbs[k].for_actions))
				can_i(&pf, r, verbs[k].verb, verbs[k].resource, verbs[k].sub);
		if (pf.kt->cfg->fault_engine == K8S_FAULTS_CHAOS_MESH) {
			can_i(&pf, r, "create", "podchaos.chaos-mesh.org", NULL);
			can_i(&pf, r, "delete", "podchaos.chaos-mesh.org", NULL);
			if (plan_uses(plan, partition_actions)) {
				can_i(&pf, r, "create", "networkchaos.chaos-mesh.org", NULL);
				can_i(&pf, r, "delete", "networkchaos.chaos-mesh.org", NULL);
			}
		}
		if (r->transport == K8S_TRANSPORT_EXEC_GRPCURL)
			can_i(&pf, r, "create", "pods", "exec");
		else if (r->transport == K8S_TRANSPORT_PORT_FORWARD)
			can_i(&pf, r, "create", "pods", "portforward");
		if (strcmp(r->role, "primary") == 0) {
			can_i(&pf, r, "get", "leases.coordination.k8s.io", NULL);
			can_i(&pf, r, "create", "leases.coordination.k8s.io", NULL);
			can_i(&pf, r, "patch", "leases.coordination.k8s.io", NULL); /* renewal, the undo copy */
			can_i(&pf, r, "delete", "leases.coordination.k8s.io", NULL);
		}
		if (r->transport == K8S_TRANSPORT_EXEC_GRPCURL)
			check_grpcurl(&pf, r);
		else
			check_transport(&pf, r);
	}
	check_leader(&pf);
	check_canary(&pf);
	if (!json)
		fprintf(out, "%d check%s, %d failed\n", pf.checks, pf.checks == 1 ? "" : "s", pf.failed);
	t->close(t, 0);
	return pf.failed;
}
