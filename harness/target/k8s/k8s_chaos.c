/* fault_engine: chaos-mesh — pod kills and network partitions as Chaos Mesh
 * objects (chaos-mesh.org/v1alpha1 PodChaos, NetworkChaos) created with
 * kubectl.  Each object is recorded (kt->chaos, the state record and its
 * copy on the Lease) before it is created, so whatever happens next it is
 * deleted: by `heal`, at the end of the drill, or by `drillrig recover`.
 *
 * Pods are selected by statefulset.kubernetes.io/pod-name, the label the
 * StatefulSet controller itself puts on every pod, so no chart-specific
 * label is assumed.  A partition cuts a region's pods off from the
 * addresses the other regions' ledger members advertise
 * (spec.externalTargets): the traffic Raft needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/core/journal.h"
#include "harness/plan/plan.h"
#include "harness/target/k8s/k8s_impl.h"

#define API_VERSION "chaos-mesh.org/v1alpha1"

static unsigned long chaos_seq;

/* A name for a new object: drillrig-<what>-<pid>-<n> (DNS-1123). */
static char *object_name(const char *what)
{
	return xasprintf("drillrig-%s-%ld-%lu", what, (long)getpid(), ++chaos_seq);
}

static json_t *pod_selector(const struct k8s_region *r, const char *pod)
{
	return json_pack("{s:[s],s:{s:s}}", "namespaces", r->namespace, "labelSelectors",
			 "statefulset.kubernetes.io/pod-name", pod);
}

/* Record, then create.  0, 1 (dry run: printed), -1 with err. */
static int create_object(struct k8s_target *kt, const struct action_ctx *ctx,
			 const struct k8s_region *r, const char *kind, const char *name, json_t *spec,
			 struct dr_error *err)
{
	json_t *m = json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:o}", "apiVersion", API_VERSION, "kind", kind,
			      "metadata", "name", name, "namespace", r->namespace, "labels",
			      "app.kubernetes.io/managed-by", "drillrig", "spec", spec);
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	char *text = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	int64_t left = ctx->deadline_ns ? ctx->deadline_ns - clock_mono_ns() : 0;
	int rc;

	if (!kt->dry_run && !kt->server_dry_run) {
		pthread_mutex_lock(&kt->lock);
		json_array_append_new(kt->chaos, json_pack("{s:s,s:s,s:s}", "region", r->name, "kind", kind,
							   "name", name));
		pthread_mutex_unlock(&kt->lock);
		k8s_state_note(kt); /* the record, and its copy on the Lease */
	}
	k8s_cmd_base(&a, kt->cfg, r);
	k8s_argv_add(&a, "create");
	k8s_argv_add(&a, "-f");
	k8s_argv_add(&a, "-");
	if (kt->server_dry_run)
		k8s_argv_add(&a, "--dry-run=server");
	rc = k8s_run(kt, &o, &a, text, left > NS_PER_SEC ? left : NS_PER_SEC, K8S_RUN_CHANGE, ctx->journal,
		     err);
	k8s_out_release(&o);
	k8s_argv_release(&a);
	free(text);
	json_decref(m);
	return rc;
}

static int delete_object(struct k8s_target *kt, const struct action_ctx *ctx, json_t *obj,
			 struct dr_error *err)
{
	const struct k8s_region *r = k8s_config_region(kt->cfg, json_string_value(json_object_get(obj, "region")));
	const char *kind = json_string_value(json_object_get(obj, "kind"));
	const char *name = json_string_value(json_object_get(obj, "name"));
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	int rc;

	if (!r || !kind || !name)
		return dr_error_set(err, "a recorded Chaos Mesh object names no known region");
	k8s_cmd_base(&a, kt->cfg, r);
	k8s_argv_add(&a, "delete");
	k8s_argv_addf(&a, "%s.chaos-mesh.org/%s", strcmp(kind, "PodChaos") == 0 ? "podchaos" : "networkchaos",
		      name);
	k8s_argv_add(&a, "--ignore-not-found");
	rc = k8s_run(kt, &o, &a, NULL, 0, K8S_RUN_CHANGE, ctx ? ctx->journal : NULL, err);
	k8s_out_release(&o);
	k8s_argv_release(&a);
	return rc;
}

/* Delete the recorded objects of kind (NULL: all); the ones deleted leave
 * the record.  Returns how many could not be deleted. */
static int delete_recorded(struct k8s_target *kt, const struct action_ctx *ctx, const char *kind,
			   size_t *deleted, struct strbuf *why)
{
	json_t *list, *obj, *keep = json_array();
	size_t i;
	int failed = 0;

	pthread_mutex_lock(&kt->lock);
	list = json_deep_copy(kt->chaos);
	pthread_mutex_unlock(&kt->lock);
	json_array_foreach(list, i, obj) {
		struct dr_error err = DR_ERROR_INIT;
		const char *k = json_string_value(json_object_get(obj, "kind"));

		if (kind && (!k || strcmp(k, kind) != 0)) {
			json_array_append(keep, obj);
			continue;
		}
		if (delete_object(kt, ctx, obj, &err) < 0) {
			failed++;
			json_array_append(keep, obj);
			strbuf_addf(why, "%s%s", why->len ? "; " : "", err.msg);
		} else {
			(*deleted)++;
		}
	}
	pthread_mutex_lock(&kt->lock);
	json_decref(kt->chaos);
	kt->chaos = keep;
	pthread_mutex_unlock(&kt->lock);
	json_decref(list);
	if (*deleted)
		k8s_state_note(kt);
	return failed;
}

void k8s_chaos_delete_all(struct k8s_target *kt, const struct action_ctx *ctx)
{
	struct strbuf why = STRBUF_INIT;
	size_t n = 0;

	if (kt->dry_run || kt->server_dry_run)
		return;
	if (delete_recorded(kt, ctx, NULL, &n, &why) > 0)
		fprintf(stderr, "drillrig: warning: Chaos Mesh objects this drill created are left: %s\n",
			strbuf_str(&why));
	strbuf_release(&why);
}

void k8s_chaos_adopt(struct k8s_target *kt, const json_t *record)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(record, "chaos"), i, c) {
		if (!k8s_config_region(kt->cfg, json_string_value(json_object_get(c, "region"))))
			continue;
		pthread_mutex_lock(&kt->lock);
		json_array_append(kt->chaos, c);
		pthread_mutex_unlock(&kt->lock);
	}
}

int k8s_chaos_kill(struct k8s_target *kt, const struct action_ctx *ctx, const struct k8s_region *r,
		   const char *pod, struct dr_error *err)
{
	char *name = object_name("pod-kill");
	json_t *spec = json_pack("{s:s,s:s,s:o}", "action", "pod-kill", "mode", "one", "selector",
				 pod_selector(r, pod));
	int rc = create_object(kt, ctx, r, "PodChaos", name, spec, err);

	free(name);
	return rc;
}

/* The hosts the other regions' members advertise (Raft's addresses). */
static json_t *other_hosts(json_t *status, const struct k8s_region *r)
{
	json_t *hosts = json_array(), *m;
	size_t i;

	json_array_foreach(json_object_get(status, "members"), i, m) {
		const char *region = json_string_value(json_object_get(m, "region"));
		const char *addr = json_string_value(json_object_get(m, "address"));

		if (!region || !addr || !*addr || strcmp(region, r->name) == 0)
			continue;
		json_array_append_new(hosts, json_stringn(addr, strcspn(addr, ":")));
	}
	return hosts;
}

void k8s_chaos_partition(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
			 struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *what = plan_arg_str(args, "what");
	const struct k8s_region *r = k8s_config_region(kt->cfg, plan_arg_str(args, "region"));
	json_t *status = NULL, *hosts;
	size_t made = 0;

	if (!what || strcmp(what, "region") != 0 || !r) {
		action_result_set(res, ACTION_FAILED, "partition on Kubernetes cuts off a region "
				  "(what: region, region: <name>)");
		return;
	}
	/* One Chaos Mesh partition per pod, both ways, every packet: the
	 * kernel's one-way cuts and loss rates are the bundled cluster's. */
	if ((plan_arg_str(args, "direction") && strcmp(plan_arg_str(args, "direction"), "both") != 0) ||
	    plan_arg_int(args, "loss", 100) != 100 ||
	    (plan_arg_str(args, "method") && strcmp(plan_arg_str(args, "method"), "auto") != 0)) {
		action_result_set(res, ACTION_FAILED, "partition on Kubernetes cuts a region off both "
				  "ways with Chaos Mesh: direction, loss and method are for the local "
				  "target (nftables)");
		return;
	}
	if (kt->dry_run) {
		hosts = json_pack("[s]", "<the other regions' member hosts>");
	} else if (k8s_read_status(kt, &status, 5 * NS_PER_SEC, ctx->journal, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot read the members to cut off: %s", err.msg);
		return;
	} else {
		hosts = other_hosts(status, r);
	}
	if (json_array_size(hosts) == 0) {
		action_result_set(res, ACTION_FAILED, "no member outside region %s maps to an address "
				  "(give node_ids or an address_template)", r->name);
		json_decref(hosts);
		json_decref(status);
		return;
	}
	for (int k = 0; k < r->replicas; k++) {
		char pod[300], *name = object_name("partition");
		json_t *spec;
		int rc;

		snprintf(pod, sizeof(pod), "%s-%d", r->statefulset, k);
		spec = json_pack("{s:s,s:s,s:o,s:s,s:O}", "action", "partition", "mode", "all", "selector",
				 pod_selector(r, pod), "direction", "both", "externalTargets", hosts);
		rc = create_object(kt, ctx, r, "NetworkChaos", name, spec, &err);
		free(name);
		if (rc < 0) {
			action_result_set(res, ACTION_FAILED, "cannot create the NetworkChaos for pod %s in %s: "
					  "%s", pod, r->context, err.msg);
			json_decref(hosts);
			json_decref(status);
			return;
		}
		made++;
	}
	if (kt->dry_run)
		action_result_set(res, ACTION_OK, "would cut region %s off from the other regions with %zu "
				  "NetworkChaos objects", r->name, made);
	else
		action_result_set(res, ACTION_OK, "region %s cut off from %zu member addresses of the other "
				  "regions (%zu NetworkChaos objects, Chaos Mesh)", r->name, json_array_size(hosts),
				  made);
	res->data = json_pack("{s:s,s:O,s:i}", "region", r->name, "external_targets", hosts, "objects",
			      (int)made);
	json_decref(hosts);
	json_decref(status);
}

void k8s_chaos_heal(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res)
{
	struct strbuf why = STRBUF_INIT;
	size_t n = 0;

	(void)args;
	if (kt->dry_run || kt->server_dry_run) {
		action_result_set(res, ACTION_OK, "would delete the NetworkChaos objects this drill created");
		return;
	}
	if (delete_recorded(kt, ctx, "NetworkChaos", &n, &why) > 0)
		action_result_set(res, ACTION_FAILED, "cannot delete a NetworkChaos: %s", strbuf_str(&why));
	else
		action_result_set(res, ACTION_OK, n ? "deleted %zu NetworkChaos object%s: the partition "
				  "is healed" : "no partition to heal", n, n == 1 ? "" : "s");
	strbuf_release(&why);
}

