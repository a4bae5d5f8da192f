/* Kubernetes nodes (one per ledger node, k8s-<zone>-<id>): get nodes,
 * cordon, uncordon and drain.  Cordoned nodes are kept in
 * DIR/k8s-double-cordoned.json.  The ledger's volumes are zonal: a pod
 * evicted from a cordoned node stays Pending (its node stopped) until the
 * node is uncordoned. */
#include "tests/doubles/kubectl_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/cluster/cluster.h"

int kd_get_nodes(struct cmd *c, const char *region)
{
	const char *sel = NULL, *label = "topology.kubernetes.io/zone=";
	json_t *node, *items, *list;
	size_t i;

	if (kd_check(c, "list", "nodes", "", NULL, NULL))
		return 1;
	for (int k = 2; k < c->nargs; k++)
		if (strcmp(c->args[k], "-l") == 0 && k + 1 < c->nargs)
			sel = c->args[k + 1];
	items = json_array();
	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node) {
		char *kn;

		if (strcmp(json_string_value(json_object_get(node, "region")), region) != 0)
			continue;
		if (sel && (strncmp(sel, label, strlen(label)) != 0 ||
			    strcmp(sel + strlen(label), json_string_value(json_object_get(node, "zone"))) != 0))
			continue;
		kn = kd_k8s_node_name(node);
		json_array_append_new(items, json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:b}}", "apiVersion", "v1",
			"kind", "Node", "metadata", "name", kn, "labels", "topology.kubernetes.io/zone",
			json_string_value(json_object_get(node, "zone")), "spec", "unschedulable", kd_is_cordoned(kn)));
		free(kn);
	}
	list = json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind", "List", "items", items);
	kd_print_json(list);
	json_decref(list);
	return 0;
}

int kd_cordon(struct cmd *c, const char *region, int on)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *name = c->nargs > 1 ? c->args[1] : "";
	json_t *cordoned, *node;
	size_t i;
	int found = 0, lock;

	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node) {
		char *kn = kd_k8s_node_name(node);

		if (strcmp(kn, name) == 0 && strcmp(json_string_value(json_object_get(node, "region")), region) == 0)
			found = 1;
		free(kn);
	}
	if (!found)
		return kd_not_found("nodes", name);
	if (kd_check(c, "patch", "nodes", "", NULL, name))
		return 1;
	if (!c->server_dry_run) {
		lock = kd_state_lock();
		cordoned = kd_load_state("cordoned.json");
		if (on)
			json_object_set_new(cordoned, name, json_true());
		else
			json_object_del(cordoned, name);
		kd_save_state("cordoned.json", cordoned);
		json_decref(cordoned);
		kd_state_unlock(lock);
	}
	/* Uncordoning lets its Pending pod start again. */
	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node) {
		char *kn = kd_k8s_node_name(node);

		if (!on && !c->server_dry_run && strcmp(kn, name) == 0 &&
		    json_is_true(json_object_get(node, "stopped")))
			cluster_start(NULL, kd_dir, (int)json_integer_value(json_object_get(node, "id")), &err);
		free(kn);
	}
	printf("node/%s %s%s\n", name, on ? "cordoned" : "uncordoned", c->server_dry_run ? " (server dry run)" : "");
	return 0;
}

int kd_drain(struct cmd *c, const char *region)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *name = c->nargs > 1 ? c->args[1] : "";
	json_t *node;
	size_t i;
	int rc = kd_cordon(c, region, 1);

	if (rc != 0)
		return rc;
	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node) {
		char *kn = kd_k8s_node_name(node);
		char *pod = kd_pod_name(node);

		if (strcmp(kn, name) == 0 && kd_pod_exists(node) && !c->server_dry_run) {
			if (kd_denied("create", "pods", "", "eviction")) {
				rc = kd_fail(1, "error: unable to drain node \"%s\" due to error: cannot evict pod as it "
					     "would violate the pod's disruption budget or is forbidden: pods \"%s\" is "
					     "forbidden: User \"drill\" cannot create resource \"pods/eviction\" in API "
					     "group \"\" in the namespace \"%s\"", name, pod, c->ns);
			} else {
				printf("evicting pod %s/%s\n", c->ns, pod);
				kd_pod_replaced(node);
				if (cluster_stop(NULL, kd_dir, (int)json_integer_value(json_object_get(node, "id")),
						 &err) != 0)
					rc = kd_fail(1, "error when evicting: %s", err.msg);
				else
					printf("pod/%s evicted\n", pod);
			}
		}
		free(pod);
		free(kn);
	}
	if (rc == 0)
		printf("node/%s drained\n", name);
	return rc;
}
