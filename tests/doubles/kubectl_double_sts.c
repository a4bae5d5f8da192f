/* The StatefulSet: `get statefulset` and `scale`.
 *
 * As with the API server, a scale bumps metadata.generation at once and
 * the controller catches up later: status (observedGeneration and the
 * replica counts) keeps what it said before the scale for
 * KUBECTL_DOUBLE_STATUS_LAG_MS (default 300), then reflects the pods as
 * they really are.  Per region in DIR/k8s-double-sts.json: generation,
 * observed (the generation the stale status was for), changed (ns, when
 * the generation moved) and stale (that status). */
#include "tests/doubles/kubectl_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/cluster/cluster.h"

/* The status the controller would write now. */
static json_t *live_status(const char *region, long long generation)
{
	json_t *node, *st;
	size_t i;
	int exist = 0, ready = 0;

	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node)
		if (strcmp(json_string_value(json_object_get(node, "region")), region) == 0) {
			exist += kd_pod_exists(node);
			ready += kd_pod_ready(node);
		}
	st = json_pack("{s:i,s:i,s:i,s:i,s:i,s:I}", "replicas", exist, "readyReplicas", ready, "currentReplicas",
		       exist, "updatedReplicas", exist, "availableReplicas", ready, "observedGeneration",
		       (json_int_t)generation);
	/* As the API server does: omitempty counters vanish at zero. */
	if (!ready) {
		json_object_del(st, "readyReplicas");
		json_object_del(st, "availableReplicas");
	}
	if (!exist) {
		json_object_del(st, "currentReplicas");
		json_object_del(st, "updatedReplicas");
	}
	return st;
}

static long long generation_of(json_t *rec)
{
	long long g = json_integer_value(json_object_get(rec, "generation"));

	return g > 0 ? g : 1;
}

static int lagging(json_t *rec)
{
	int64_t changed = json_integer_value(json_object_get(rec, "changed"));

	return json_object_get(rec, "stale") &&
	       clock_mono_ns() - changed < (int64_t)kd_env_ms("KUBECTL_DOUBLE_STATUS_LAG_MS", 300) * NS_PER_MS;
}

int kd_get_statefulset(struct cmd *c, const char *region, const char *name)
{
	json_t *all = kd_load_state("sts.json"), *rec = json_object_get(all, region), *st, *o;
	long long gen = generation_of(rec);

	if (!name)
		name = kd_sts;
	if (strcmp(name, kd_sts) != 0) {
		json_decref(all);
		return kd_not_found("statefulsets.apps", name);
	}
	if (kd_check(c, "get", "statefulsets", "apps", NULL, name)) {
		json_decref(all);
		return 1;
	}
	st = lagging(rec) ? json_deep_copy(json_object_get(rec, "stale")) : live_status(region, gen);
	o = json_pack("{s:s,s:s,s:{s:s,s:s,s:I},s:{s:I,s:s,s:{s:{s:s}}},s:o}",
		      "apiVersion", "apps/v1", "kind", "StatefulSet",
		      "metadata", "name", kd_sts, "namespace", c->ns, "generation", (json_int_t)gen,
		      "spec", "replicas", json_integer_value(json_object_get(kd_region_entry(region), "replicas")),
		      "serviceName", kd_sts, "selector", "matchLabels", "app.kubernetes.io/name", kd_sts,
		      "status", st);
	kd_print_json(o);
	json_decref(o);
	json_decref(all);
	return 0;
}

int kd_scale(struct cmd *c, const char *region)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *name = NULL;
	char *type = NULL;
	long n = -1;
	int rc = 0;

	for (int i = 1; i < c->nargs; i++) {
		if (strncmp(c->args[i], "--replicas=", 11) == 0)
			n = strtol(c->args[i] + 11, NULL, 10);
		else if (strcmp(c->args[i], "--replicas") == 0 && i + 1 < c->nargs)
			n = strtol(c->args[++i], NULL, 10);
		else if (c->args[i][0] != '-' && !type)
			kd_resource_ref(c, i, &type, &name);
	}
	if (!type || !name || n < 0) {
		free(type);
		return kd_fail(1, "error: expected 'scale statefulset/NAME --replicas=N'");
	}
	if (strcmp(type, "statefulset") != 0 && strcmp(type, "statefulsets") != 0 && strcmp(type, "sts") != 0 &&
	    strcmp(type, "statefulsets.apps") != 0) {
		rc = kd_fail(1, "error: the double scales statefulsets only, not '%s'", type);
		free(type);
		return rc;
	}
	free(type);
	if (strcmp(name, kd_sts) != 0)
		return kd_not_found("statefulsets.apps", name);
	if (kd_check(c, "patch", "statefulsets", "apps", "scale", name))
		return 1;
	if (c->server_dry_run)
		goto out;
	/* The spec changes only when the count does (a scale to the same count
	 * still runs: it re-adds fenced nodes). */
	if (n != json_integer_value(json_object_get(kd_region_entry(region), "replicas"))) {
		int lock = kd_state_lock();
		json_t *all = kd_load_state("sts.json"), *rec = json_object_get(all, region);
		long long gen = generation_of(rec);

		if (!rec) {
			rec = json_object();
			json_object_set_new(all, region, rec);
		}
		/* A second scale inside the lag keeps the status of before the first. */
		if (!lagging(rec))
			json_object_set_new(rec, "stale", live_status(region, gen));
		json_object_set_new(rec, "generation", json_integer(gen + 1));
		json_object_set_new(rec, "changed", json_integer(clock_mono_ns()));
		kd_save_state("sts.json", all);
		json_decref(all);
		kd_state_unlock(lock);
	}
	rc = cluster_scale(NULL, kd_dir, region, (int)n, &err);
	if (rc != 0)
		return kd_fail(1, "Error from server: %s", err.msg);
out:
	printf("statefulset.apps/%s scaled%s\n", kd_sts, c->server_dry_run ? " (server dry run)" : "");
	return 0;
}
