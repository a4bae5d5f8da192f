/* The kubectl double's view of the bundled cluster: contexts are regions,
 * pods are ledger nodes (by ordinal), Kubernetes nodes are zones. */
#include "tests/doubles/kubectl_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "ledger/client/client.h"


const char *kd_region_of_context(const char *ctx)
{
	size_t n = strlen(kd_context_prefix);
	json_t *r;
	size_t i;

	if (!ctx || strncmp(ctx, kd_context_prefix, n) != 0)
		return NULL;
	json_array_foreach(json_object_get(kd_cluster, "regions"), i, r)
		if (strcmp(json_string_value(json_object_get(r, "name")), ctx + n) == 0)
			return json_string_value(json_object_get(r, "name"));
	return NULL;
}

json_t *kd_region_entry(const char *region)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(kd_cluster, "regions"), i, r)
		if (strcmp(json_string_value(json_object_get(r, "name")), region) == 0)
			return r;
	return NULL;
}

json_t *kd_node_by_pod(const char *region, const char *pod)
{
	size_t n = strlen(kd_sts);
	json_t *node;
	size_t i;
	long ord;
	char *end;

	if (strncmp(pod, kd_sts, n) != 0 || pod[n] != '-' || !pod[n + 1])
		return NULL;
	ord = strtol(pod + n + 1, &end, 10);
	if (*end)
		return NULL;
	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node)
		if (strcmp(json_string_value(json_object_get(node, "region")), region) == 0 &&
		    json_integer_value(json_object_get(node, "ordinal")) == ord)
			return node;
	return NULL;
}

json_t *kd_node_by_id(json_t *cluster, long long id)
{
	json_t *node;
	size_t i;

	json_array_foreach(json_object_get(cluster, "nodes"), i, node)
		if (json_integer_value(json_object_get(node, "id")) == id)
			return node;
	return NULL;
}

char *kd_pod_name(json_t *node)
{
	return xasprintf("%s-%lld", kd_sts, (long long)json_integer_value(json_object_get(node, "ordinal")));
}

char *kd_k8s_node_name(json_t *node)
{
	return xasprintf("k8s-%s-%lld", json_string_value(json_object_get(node, "zone")),
			 (long long)json_integer_value(json_object_get(node, "id")));
}

int kd_is_cordoned(const char *k8s_node)
{
	json_t *c = kd_load_state("cordoned.json");
	int yes = json_object_get(c, k8s_node) != NULL;

	json_decref(c);
	return yes;
}

const char *kd_call_token;

int kd_node_call(json_t *node, const char *method, json_t *req, json_t **out,
		 enum ledger_code *code, long timeout_ms)
{
	struct ledger_client_opts o = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_client *c = NULL;
	struct dr_error err = DR_ERROR_INIT;
	const char *addrs[1] = { json_string_value(json_object_get(node, "address")) };
	int rc;

	*code = LEDGER_CODE_COUNT;
	o.timeout_ms = timeout_ms;
	o.admin_timeout_ms = timeout_ms;
	o.admin_token = kd_call_token;
	if (ledger_client_new(&c, addrs, 1, &o, &err) != 0)
		return -1;
	rc = ledger_call(c, 0, method, req, out, code, &err);
	ledger_client_free(c);
	if (rc != 0)
		fprintf(stderr, "%s\n", err.msg);
	return rc;
}
