/* Parsing of recorded kubectl and grpcurl outputs of both API dialects into
 * the one cluster status shape (the JSON files in tests/data/k8s), and the target
 * configuration's validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/target/k8s/k8s_api.h"
#include "harness/target/k8s/k8s_config.h"

static char *src_path(const char *rel)
{
	const char *s = getenv("DRILLRIG_SRC");

	return xasprintf("%s/%s", s && *s ? s : ".", rel);
}

static char *data(const char *name)
{
	char *path = xasprintf("tests/data/k8s/%s", name), *full = src_path(path), *text = NULL;
	size_t len = 0;

	if (fs_read_file(&text, &len, full, 1 << 22, NULL) != 0)
		fail_msg("cannot read %s", full);
	free(path);
	free(full);
	return text;
}

static struct k8s_config *config(const char *name)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = NULL;
	char *path = xasprintf("tests/data/k8s/%s", name), *full = src_path(path);

	if (k8s_config_load(&cfg, full, &err) != 0)
		fail_msg("%s", err.msg);
	free(path);
	free(full);
	return cfg;
}

static json_t *member(json_t *st, int64_t id)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(st, "members"), i, m)
		if (json_integer_value(json_object_get(m, "id")) == id)
			return m;
	fail_msg("no member %lld", (long long)id);
	return NULL;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- runbook --------------------------------------------------------------- */

static void test_runbook_status_healthy(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = config("double.yaml");
	char *text = data("runbook-status.json");
	json_t *st = NULL, *leader, *m;

	(void)state;
	assert_int_equal(k8s_parse_cluster_status(&st, cfg, text, NULL, &err), 0);
	leader = json_object_get(st, "leader");
	/* grpcurl's "1" (int64 as a string) became an integer. */
	assert_true(json_is_integer(json_object_get(leader, "id")));
	assert_int_equal(json_integer_value(json_object_get(leader, "id")), 1);
	assert_string_equal(str(leader, "region"), "primary");
	assert_string_equal(str(leader, "region_role"), "primary");
	assert_true(json_is_true(json_object_get(st, "quorum")));
	assert_true(json_is_integer(json_object_get(st, "term")));
	assert_true(json_is_integer(json_object_get(st, "commit_index")));
	assert_int_equal(json_array_size(json_object_get(st, "members")), 5);
	m = member(st, 2);
	/* camelCase -> snake_case; defaults put back. */
	assert_non_null(json_object_get(m, "match_index"));
	assert_non_null(json_object_get(m, "raft_address"));
	assert_null(json_object_get(m, "matchIndex"));
	assert_true(json_is_integer(json_object_get(m, "lag_entries")));
	assert_true(json_is_real(json_object_get(m, "lag_seconds")));
	/* node_ids map members to pods and contexts. */
	assert_string_equal(str(m, "pod"), "inferadb-ledger-1");
	assert_string_equal(str(m, "context"), "drill-primary");
	assert_string_equal(str(member(st, 5), "pod"), "inferadb-ledger-0");
	assert_string_equal(str(member(st, 5), "context"), "drill-witness");
	assert_string_equal(str(st, "api"), "runbook");
	json_decref(st);
	free(text);
	k8s_config_free(cfg);
}

static void test_runbook_status_primary_down(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = config("double.yaml");
	char *text = data("runbook-status-primary-down.json");
	json_t *st = NULL, *m;

	(void)state;
	assert_int_equal(k8s_parse_cluster_status(&st, cfg, text, NULL, &err), 0);
	assert_string_equal(str(json_object_get(st, "leader"), "region"), "dr");
	m = member(st, 1);
	assert_string_equal(str(m, "state"), "unreachable");
	assert_int_equal(json_integer_value(json_object_get(m, "lag_entries")), 4);
	assert_true(json_real_value(json_object_get(m, "lag_seconds")) > 1.0);
	assert_string_equal(str(member(st, 3), "state"), "leader");
	assert_non_null(strstr(str(st, "replication"), "behind"));
	json_decref(st);
	free(text);
	k8s_config_free(cfg);
}

/* A region named differently in the ledger than in the configuration, and
 * proto3's habit of leaving defaults out (quorum false, no leader). */
static void test_runbook_relabels_regions_and_fills_defaults(void **state)
{
	static const char cfg_text[] =
		"version: 1\napi: runbook\nallowed_contexts: [a, b]\nregions:\n"
		"  east: {role: primary, context: a, namespace: inferadb, statefulset: inferadb-ledger, replicas: 3, ledger_region: us-east-1}\n"
		"  west: {role: dr, context: b, namespace: inferadb, statefulset: inferadb-ledger, replicas: 3, ledger_region: us-west-2}\n";
	static const char answer[] =
		"{\"term\":\"9\",\"replication\":\"Unknown (no leader view)\",\"view\":\"own\","
		"\"members\":[{\"id\":\"4\",\"address\":\"inferadb-ledger-1.inferadb-ledger.inferadb.svc:50051\","
		"\"region\":\"us-west-2\",\"regionRole\":\"dr\",\"state\":\"MEMBER_STATE_FOLLOWER\",\"role\":\"VOTER\"}]}";
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = NULL;
	json_t *st = NULL, *m;

	(void)state;
	assert_int_equal(k8s_config_parse(&cfg, "inline.yaml", cfg_text, strlen(cfg_text), &err), 0);
	assert_int_equal(k8s_parse_cluster_status(&st, cfg, answer, NULL, &err), 0);
	assert_true(json_is_null(json_object_get(st, "leader")));
	assert_true(json_is_false(json_object_get(st, "quorum")));
	assert_int_equal(json_integer_value(json_object_get(st, "term")), 9);
	m = member(st, 4);
	assert_string_equal(str(m, "region"), "west");
	assert_string_equal(str(m, "state"), "follower");
	assert_string_equal(str(m, "role"), "voter");
	/* No node_ids: the pod comes from the headless-service address. */
	assert_string_equal(str(m, "pod"), "inferadb-ledger-1");
	assert_string_equal(str(m, "context"), "b");
	json_decref(st);
	k8s_config_free(cfg);
}

/* ---- ledger.v1 ---------------------------------------------------------------- */

static json_t *pods_object(const char *primary_file, int dr_ready, int witness_ready)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_pod *pods = NULL;
	size_t n = 0;
	json_t *all = json_object(), *list = json_array();
	char *text = data(primary_file);

	assert_int_equal(k8s_parse_pods(&pods, &n, text, "inferadb-ledger", &err), 0);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, k8s_pod_json(&pods[i]));
	json_object_set_new(all, "primary", list);
	json_object_set_new(all, "dr", json_pack("[{s:i,s:b},{s:i,s:b}]", "ordinal", 0, "ready", dr_ready,
						 "ordinal", 1, "ready", dr_ready));
	json_object_set_new(all, "witness", json_pack("[{s:i,s:b}]", "ordinal", 0, "ready", witness_ready));
	free(pods);
	free(text);
	return all;
}

static void test_ledger_v1_cluster_info(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = config("double-ledger-v1.yaml");
	char *text = data("ledger-v1-cluster-info.json");
	json_t *pods = pods_object("pods-primary.json", 1, 1), *st = NULL, *leader;

	(void)state;
	assert_int_equal(k8s_parse_cluster_status(&st, cfg, text, pods, &err), 0);
	leader = json_object_get(st, "leader");
	assert_int_equal(json_integer_value(json_object_get(leader, "id")), 1);
	/* Members carry no region in ledger.v1: it comes from node_ids. */
	assert_string_equal(str(leader, "region"), "primary");
	assert_string_equal(str(member(st, 4), "region"), "dr");
	assert_string_equal(str(member(st, 4), "pod"), "inferadb-ledger-1");
	assert_string_equal(str(member(st, 1), "state"), "leader");
	assert_string_equal(str(member(st, 2), "state"), "follower");
	assert_string_equal(str(member(st, 2), "role"), "voter"); /* MEMBER_ROLE_VOTER */
	assert_true(json_is_true(json_object_get(st, "quorum")));
	assert_string_equal(str(st, "replication"), "Fully replicated");
	assert_int_equal(json_integer_value(json_object_get(st, "term")), 2);
	json_decref(st);
	json_decref(pods);
	free(text);
	k8s_config_free(cfg);
}

static void test_ledger_v1_primary_down(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = config("double-ledger-v1.yaml");
	char *text = data("ledger-v1-cluster-info-primary-down.json");
	json_t *pods = pods_object("pods-primary-down.json", 1, 1), *st = NULL;

	(void)state;
	assert_int_equal(k8s_parse_cluster_status(&st, cfg, text, pods, &err), 0);
	assert_string_equal(str(json_object_get(st, "leader"), "region"), "dr");
	assert_string_equal(str(member(st, 1), "state"), "unreachable");
	assert_string_equal(str(member(st, 2), "state"), "unreachable");
	assert_true(json_is_true(json_object_get(st, "quorum"))); /* 3 of 5 */
	assert_string_equal(str(st, "replication"), "Replicating (2 members not ready)");
	json_decref(st);
	json_decref(pods);
	/* Lose the witness too: no quorum. */
	pods = pods_object("pods-primary-down.json", 1, 0);
	assert_int_equal(k8s_parse_cluster_status(&st, cfg, text, pods, &err), 0);
	assert_true(json_is_false(json_object_get(st, "quorum")));
	json_decref(st);
	json_decref(pods);
	free(text);
	k8s_config_free(cfg);
}

static void test_health_both_dialects(void **state)
{
	struct k8s_config *rb = config("double.yaml"), *v1 = config("double-ledger-v1.yaml");
	char *healthy = data("ledger-v1-health-serving.json"), *degraded = data("ledger-v1-health-degraded.json");
	char why[64];

	(void)state;
	assert_true(k8s_parse_health(v1, healthy, why, sizeof(why)));
	assert_false(k8s_parse_health(v1, degraded, why, sizeof(why)));
	assert_string_equal(why, "HEALTH_STATUS_DEGRADED");
	/* "HEALTHY" is no name of the public enum: a server saying it is not healthy. */
	assert_false(k8s_parse_health(v1, "{\"status\":\"HEALTHY\"}", why, sizeof(why)));
	assert_true(k8s_parse_health(rb, "{\"status\":\"SERVING\"}", why, sizeof(why)));
	assert_false(k8s_parse_health(rb, "{\"status\":\"NOT_SERVING\"}", why, sizeof(why)));
	/* proto3 leaves the zero enum out. */
	assert_false(k8s_parse_health(rb, "{}", why, sizeof(why)));
	assert_string_equal(why, "UNKNOWN");
	assert_false(k8s_parse_health(rb, "ERROR: not json", why, sizeof(why)));
	free(healthy);
	free(degraded);
	k8s_config_free(rb);
	k8s_config_free(v1);
}

/* ---- kubectl objects -------------------------------------------------------------- */

static void test_pods_of_the_statefulset_only(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_pod *pods = NULL;
	size_t n = 0;
	char *text = data("pods-eks-rolling.json");

	(void)state;
	assert_int_equal(k8s_parse_pods(&pods, &n, text, "inferadb-ledger", &err), 0);
	/* The backup Job's pod and the engine's are not the StatefulSet's. */
	assert_int_equal(n, 4);
	assert_string_equal(pods[0].name, "inferadb-ledger-0");
	assert_int_equal(pods[0].ordinal, 0);
	assert_true(pods[0].ready);
	assert_string_equal(pods[0].node, "ip-10-0-1-5.ec2.internal");
	/* Terminating: Ready=True but being deleted is not ready. */
	assert_int_equal(pods[1].ordinal, 1);
	assert_true(pods[1].deleting);
	assert_false(pods[1].ready);
	assert_int_equal(pods[2].ordinal, 2);
	assert_false(pods[2].ready);
	assert_int_equal(pods[3].ordinal, 3);
	assert_string_equal(pods[3].phase, "Pending");
	assert_string_equal(pods[3].node, "");
	free(pods);
	free(text);
	text = data("pods-primary-down.json");
	assert_int_equal(k8s_parse_pods(&pods, &n, text, "inferadb-ledger", &err), 0);
	assert_int_equal(n, 0);
	free(pods);
	free(text);
	assert_int_equal(k8s_parse_pods(&pods, &n, "Error from server", "inferadb-ledger", &err), -1);
	assert_non_null(strstr(err.msg, "cannot parse kubectl get pods"));
}

static void test_statefulset_states(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_sts_state s;
	char *a = data("statefulset-ready.json"), *b = data("statefulset-scaled-to-zero.json"),
	     *c = data("statefulset-eks-scaling-down.json");

	(void)state;
	assert_int_equal(k8s_parse_statefulset(&s, a, &err), 0);
	assert_int_equal(s.spec_replicas, 2);
	assert_int_equal(s.replicas, 2);
	assert_int_equal(s.ready, 2);
	/* readyReplicas left out at zero. */
	assert_int_equal(k8s_parse_statefulset(&s, b, &err), 0);
	assert_int_equal(s.spec_replicas, 0);
	assert_int_equal(s.replicas, 0);
	assert_int_equal(s.ready, 0);
	/* Scaled to 0 but a pod still terminating: not gone yet. */
	assert_int_equal(k8s_parse_statefulset(&s, c, &err), 0);
	assert_int_equal(s.spec_replicas, 0);
	assert_int_equal(s.replicas, 1);
	assert_int_equal(s.generation, 7);
	free(a);
	free(b);
	free(c);
}

static void test_normalize_only_integer_fields(void **state)
{
	json_t *in = json_pack("{s:s,s:s,s:{s:s,s:s}}", "commitIndex", "18446744073", "address", "12345",
			       "leader", "id", "7", "regionRole", "dr");
	json_t *out = k8s_json_normalize(in);

	(void)state;
	assert_int_equal(json_integer_value(json_object_get(out, "commit_index")), INT64_C(18446744073));
	assert_true(json_is_string(json_object_get(out, "address"))); /* not an integer field */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "leader"), "id")), 7);
	assert_string_equal(str(json_object_get(out, "leader"), "region_role"), "dr");
	json_decref(in);
	json_decref(out);
}

/* ---- configuration ------------------------------------------------------------------ */

static void expect_config_error(const char *text, const char *want)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = NULL;

	assert_int_not_equal(k8s_config_parse(&cfg, "t.yaml", text, strlen(text), &err), 0);
	assert_null(cfg);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not contain '%s'", err.msg, want);
}

#define REGION_P "  p: {role: primary, context: eks-primary, namespace: inferadb, statefulset: inferadb-ledger, replicas: 3"

static void test_config_errors(void **state)
{
	(void)state;
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\nregions:\n"
			    "  p: {role: primary, context: eks-prod, namespace: inferadb, statefulset: s, replicas: 3}\n",
			    "t.yaml:5:");
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\nregions:\n"
			    "  p: {role: primary, context: eks-prod, namespace: inferadb, statefulset: s, replicas: 3}\n",
			    "context 'eks-prod' of region 'p' is not in allowed_contexts");
	expect_config_error("version: 1\napi: runbook\nregions:\n" REGION_P "}\n", "allowed_contexts: required");
	/* No default dialect: the wrong one fails every call. */
	expect_config_error("version: 1\nallowed_contexts: [eks-primary]\nregions:\n" REGION_P "}\n",
			    "t.yaml:1:1: 'api' is required");
	expect_config_error("version: 1\napi: runbook\ntransport: ssh\nallowed_contexts: [eks-primary]\nregions:\n"
			    REGION_P "}\n", "t.yaml:3:1: transport: expected port-forward, direct or exec-grpcurl");
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\nregions:\n" REGION_P
			    ", transport: direct}\n", "region 'p' uses transport: direct and needs an address_template");
	expect_config_error("version: 1\napi: runbook\naddress_template: \"{pod}.{cluster}:50051\"\n"
			    "allowed_contexts: [eks-primary]\nregions:\n" REGION_P "}\n",
			    "address_template: unknown placeholder at '{cluster}:50051'");
	expect_config_error("version: 1\napi: runbook\naddress_template: \"{pod}.svc\"\n"
			    "allowed_contexts: [eks-primary]\nregions:\n" REGION_P "}\n",
			    "address_template: expected host:port");
	expect_config_error("version: 1\napi: runbook\ntransport: exec-grpcurl\nworkload_endpoint: pods\n"
			    "allowed_contexts: [eks-primary]\nregions:\n" REGION_P "}\n",
			    "workload_endpoint: pods needs every region on transport port-forward or direct");
	expect_config_error("version: 1\napi: runbook\nfault_engine: litmus\nallowed_contexts: [eks-primary]\n"
			    "regions:\n" REGION_P "}\n", "fault_engine: expected kubectl or chaos-mesh");
	expect_config_error("version: 1\napi: grpc\nallowed_contexts: [eks-primary]\nregions:\n" REGION_P "}\n",
			    "t.yaml:2:1: api: expected runbook or ledger.v1");
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\nregions:\n" REGION_P ", replicaz: 3}\n",
			    "replicaz: unknown key in region 'p'");
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\nregions:\n" REGION_P "}\n"
			    "  q: {role: primary, context: eks-primary, namespace: inferadb, statefulset: s, replicas: 3}\n",
			    "exactly one region must have role: primary (found 2)");
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\nregions:\n"
			    "  p: {role: primary, context: eks-primary, namespace: InferaDB, statefulset: s, replicas: 3}\n",
			    "'InferaDB' is not a valid Kubernetes name");
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\ncommand_timeout: 5\nregions:\n" REGION_P "}\n",
			    "command_timeout: expected a duration");
	expect_config_error("version: 2\napi: runbook\nallowed_contexts: [eks-primary]\nregions:\n" REGION_P "}\n",
			    "expected version: 1");
}

static void test_config_defaults_and_lookup(void **state)
{
	struct k8s_config *cfg = config("eks-runbook.yaml");
	const struct k8s_region *r;
	int ord = -1;

	(void)state;
	assert_int_equal(cfg->api, K8S_API_RUNBOOK);
	assert_string_equal(cfg->kubectl, "kubectl");
	assert_int_equal(cfg->admin_port, 50051);
	assert_string_equal(cfg->lease_name, "drillrig-drill-lock");
	/* exec-grpcurl carries no continuous workload: status-only. */
	assert_null(cfg->workload_endpoint);
	assert_int_equal(cfg->regions[0].transport, K8S_TRANSPORT_EXEC_GRPCURL);
	assert_int_equal(cfg->fault_engine, K8S_FAULTS_KUBECTL);
	r = k8s_config_region(cfg, "dr");
	assert_non_null(r);
	assert_string_equal(r->admin_pod, "inferadb-ledger-0");
	assert_string_equal(r->zone_label, "topology.kubernetes.io/zone");
	assert_ptr_equal(k8s_config_region(cfg, "primary"), &cfg->regions[0]);
	assert_null(k8s_config_region(cfg, "witness"));
	assert_ptr_equal(k8s_config_node_region(cfg, 5, &ord), r);
	assert_int_equal(ord, 1);
	assert_true(k8s_config_context_allowed(cfg, "eks-dr"));
	assert_false(k8s_config_context_allowed(cfg, "eks-dr2"));
	k8s_config_free(cfg);
}

/* The public ledger's members carry no region: an address_template (or a
 * headless-service name of one region's StatefulSet) maps them to pods. */
static void test_member_addresses_map_to_pods(void **state)
{
	static const char cfg_text[] =
		"version: 1\napi: ledger.v1\nallowed_contexts: [a, b]\n"
		"address_template: \"{pod}.ledger.{region}.mesh:50051\"\nregions:\n"
		"  east: {role: primary, context: a, namespace: inferadb, statefulset: inferadb-ledger, replicas: 2}\n"
		"  west: {role: dr, context: b, namespace: inferadb, statefulset: inferadb-ledger, replicas: 2}\n";
	static const char answer[] =
		"{\"members\":[{\"nodeId\":\"8123456789012345678\",\"address\":\"inferadb-ledger-1.ledger.west.mesh:50051\","
		"\"role\":\"CLUSTER_MEMBER_ROLE_VOTER\",\"isLeader\":true},"
		"{\"nodeId\":\"77\",\"address\":\"inferadb-ledger-0.ledger.east.mesh:50051\",\"role\":\"CLUSTER_MEMBER_ROLE_VOTER\"},"
		"{\"nodeId\":\"78\",\"address\":\"10.0.0.9:50051\",\"role\":\"CLUSTER_MEMBER_ROLE_LEARNER\"}],"
		"\"leaderId\":\"8123456789012345678\",\"term\":\"4\"}";
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = NULL;
	json_t *st = NULL, *m;
	char *a;

	(void)state;
	assert_int_equal(k8s_config_parse(&cfg, "inline.yaml", cfg_text, strlen(cfg_text), &err), 0);
	/* port-forward by default, and the workload writes through the pods. */
	assert_int_equal(cfg->regions[0].transport, K8S_TRANSPORT_PORT_FORWARD);
	assert_string_equal(cfg->workload_endpoint, "pods");
	a = k8s_config_direct_address(&cfg->regions[1], "inferadb-ledger-1");
	assert_string_equal(a, "inferadb-ledger-1.ledger.west.mesh:50051");
	free(a);
	assert_int_equal(k8s_parse_cluster_status(&st, cfg, answer, NULL, &err), 0);
	m = member(st, INT64_C(8123456789012345678));
	assert_string_equal(str(m, "region"), "west");
	assert_string_equal(str(m, "pod"), "inferadb-ledger-1");
	assert_string_equal(str(m, "state"), "leader");
	assert_string_equal(str(json_object_get(st, "leader"), "region"), "west");
	m = member(st, 77);
	assert_string_equal(str(m, "region"), "east");
	assert_string_equal(str(m, "pod"), "inferadb-ledger-0");
	/* An address nothing maps: no pod is guessed. */
	m = member(st, 78);
	assert_null(json_object_get(m, "pod"));
	assert_string_equal(str(m, "role"), "learner");
	json_decref(st);
	k8s_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runbook_status_healthy),
		cmocka_unit_test(test_runbook_status_primary_down),
		cmocka_unit_test(test_runbook_relabels_regions_and_fills_defaults),
		cmocka_unit_test(test_ledger_v1_cluster_info),
		cmocka_unit_test(test_ledger_v1_primary_down),
		cmocka_unit_test(test_health_both_dialects),
		cmocka_unit_test(test_pods_of_the_statefulset_only),
		cmocka_unit_test(test_statefulset_states),
		cmocka_unit_test(test_normalize_only_integer_fields),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_defaults_and_lookup),
		cmocka_unit_test(test_member_addresses_map_to_pods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
