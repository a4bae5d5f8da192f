/* Chaos Mesh (chaos-mesh.org/v1alpha1), installed only when
 * KUBECTL_DOUBLE_CHAOS_MESH=1; otherwise its kinds have no mapping, as on a
 * cluster without the CRDs.
 *
 *   PodChaos      spec.action pod-kill (the pod is killed and recreated
 *                 after KUBECTL_DOUBLE_RECREATE_MS, new uid),
 *                 container-kill (its container is SIGKILLed and restarts
 *                 in the same pod), pod-failure (the pod's container stays
 *                 down until the object is deleted or spec.duration passed)
 *   NetworkChaos  spec.action partition: Raft traffic between the selected
 *                 pods and the rest (or spec.target's pods, or the nodes
 *                 whose addresses spec.externalTargets name) is dropped in
 *                 both directions (ledgerd's Debug/Partition: the cluster
 *                 must run with debug faults) until the object is deleted
 *                 or spec.duration passed; healing clears every partition
 *                 of the nodes involved
 *
 * Selectors: spec.selector.namespaces (must include the namespace, when
 * given) and spec.selector.labelSelectors with
 * statefulset.kubernetes.io/pod-name and/or app.kubernetes.io/name; mode
 * one (the first selected pod in ordinal order) or all.  Objects live in
 * DIR/k8s-double-chaos.json per region under "<kind>/<name>", with the
 * node ids they hit. */
#include "tests/doubles/kubectl_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"
#include "ledger/cluster/cluster.h"

#define GROUP "chaos-mesh.org"

static int installed(void)
{
	const char *v = getenv("KUBECTL_DOUBLE_CHAOS_MESH");

	return v && strcmp(v, "1") == 0;
}

/* "podchaos", "podchaos.chaos-mesh.org", ... as the kind's lowercase name
 * (NULL when not a Chaos Mesh type). */
static const char *kind_key(const char *type)
{
	if (strcmp(type, "podchaos") == 0 || strcmp(type, "podchaos." GROUP) == 0 || strcmp(type, "PodChaos") == 0)
		return "podchaos";
	if (strcmp(type, "networkchaos") == 0 || strcmp(type, "networkchaos." GROUP) == 0 ||
	    strcmp(type, "NetworkChaos") == 0)
		return "networkchaos";
	return NULL;
}

int kd_is_chaos_type(const char *type)
{
	return kind_key(type) != NULL;
}

static int no_mapping(struct cmd *c, json_t *obj)
{
	return kd_fail(1, "error: resource mapping not found for name: \"%s\" namespace: \"%s\" from \"STDIN\": no "
		       "matches for kind \"%s\" in version \"%s\"\nensure CRDs are installed first",
		       json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")) ?: "", c->ns,
		       json_string_value(json_object_get(obj, "kind")) ?: "",
		       json_string_value(json_object_get(obj, "apiVersion")) ?: "");
}

static int no_type(const char *type)
{
	return kd_fail(1, "error: the server doesn't have a resource type \"%s\"", type);
}

/* Go's time.ParseDuration for what Chaos Mesh objects use: "30s", "1m30s",
 * "500ms", "1h"; -1 when it is not one. */
static long duration_ms(const char *s)
{
	long total = 0;

	if (!s || !*s)
		return -1;
	while (*s) {
		char *end;
		double v = strtod(s, &end);

		if (end == s)
			return -1;
		s = end;
		if (strncmp(s, "ms", 2) == 0) {
			total += (long)v;
			s += 2;
		} else if (*s == 's') {
			total += (long)(v * 1000);
			s++;
		} else if (*s == 'm') {
			total += (long)(v * 60000);
			s++;
		} else if (*s == 'h') {
			total += (long)(v * 3600000);
			s++;
		} else {
			return -1;
		}
	}
	return total;
}

/* The node ids a selector picks in region (a JSON array, caller owns). */
static json_t *select_nodes(struct cmd *c, const char *region, json_t *sel, const char *mode)
{
	json_t *nss = json_object_get(sel, "namespaces"), *labels = json_object_get(sel, "labelSelectors");
	const char *want_pod = json_string_value(json_object_get(labels, "statefulset.kubernetes.io/pod-name"));
	const char *want_app = json_string_value(json_object_get(labels, "app.kubernetes.io/name"));
	json_t *ids = json_array(), *node, *ns;
	size_t i;
	int ns_ok = !json_array_size(nss);

	json_array_foreach(nss, i, ns)
		ns_ok |= json_is_string(ns) && strcmp(json_string_value(ns), c->ns) == 0;
	if (!ns_ok || (want_app && strcmp(want_app, kd_sts) != 0))
		return ids;
	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node) {
		char *pod;
		int hit;

		if (strcmp(json_string_value(json_object_get(node, "region")), region) != 0 || !kd_pod_exists(node))
			continue;
		pod = kd_pod_name(node);
		hit = !want_pod || strcmp(want_pod, pod) == 0;
		free(pod);
		if (!hit)
			continue;
		json_array_append_new(ids, json_integer(json_integer_value(json_object_get(node, "id"))));
		if (mode && strcmp(mode, "one") == 0)
			break;
	}
	return ids;
}

static int id_in(json_t *ids, json_int_t id)
{
	json_t *v;
	size_t i;

	json_array_foreach(ids, i, v)
		if (json_integer_value(v) == id)
			return 1;
	return 0;
}

/* The other side of a partition: spec.target's pods, the nodes whose
 * address hosts (or host:port) spec.externalTargets names, or every other
 * member of the cluster. */
static json_t *other_side(struct cmd *c, const char *region, json_t *spec, json_t *selected)
{
	json_t *target = json_object_get(spec, "target"), *ext = json_object_get(spec, "externalTargets");
	json_t *ids = json_array(), *node, *t;
	size_t i, k;

	if (json_is_object(target)) {
		json_decref(ids);
		return select_nodes(c, region, json_object_get(target, "selector"),
				    json_string_value(json_object_get(target, "mode")));
	}
	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node) {
		json_int_t id = json_integer_value(json_object_get(node, "id"));
		int hit = !json_array_size(ext);

		json_array_foreach(ext, k, t) {
			const char *want = json_string_value(t) ?: "";
			const char *addrs[] = { json_string_value(json_object_get(node, "address")),
						json_string_value(json_object_get(node, "raft_address")),
						json_string_value(json_object_get(node, "http_address")) };

			for (size_t a = 0; a < 3; a++) {
				const char *colon = addrs[a] ? strrchr(addrs[a], ':') : NULL;

				if (!addrs[a])
					continue;
				if (strcmp(addrs[a], want) == 0 ||
				    (colon && strlen(want) == (size_t)(colon - addrs[a]) &&
				     strncmp(addrs[a], want, strlen(want)) == 0))
					hit = 1;
			}
		}
		if (hit && !id_in(selected, id))
			json_array_append_new(ids, json_integer(id));
	}
	return ids;
}

/* Debug/Partition on every node of a (dropping b) and of b (dropping a). */
static int partition(json_t *a, json_t *b, struct dr_error *err)
{
	/* The double plays the network (a NetworkPolicy), so it holds the
	 * bundled cluster's admin token that the debug faults need. */
	char *auth = cluster_admin_token(kd_dir);
	json_t *node;
	size_t i;
	int failed = 0;

	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node) {
		json_int_t id = json_integer_value(json_object_get(node, "id"));
		json_t *req, *ans = NULL;
		long http = 0;
		int rc;

		if (!id_in(a, id) && !id_in(b, id))
			continue;
		req = json_pack("{s:O}", "peers", id_in(a, id) ? b : a);
		rc = ledger_debug_call(json_string_value(json_object_get(node, "http_address")), auth,
				       "inferadb.ledger.v1.Debug/Partition", req, 5000, &ans, &http, err);
		json_decref(req);
		if (rc == 0 && (http < 200 || http >= 300)) {
			dr_error_set(err, "node %lld refused Debug/Partition (HTTP %ld: %s): the cluster needs "
				     "--enable-debug", (long long)id, http,
				     json_string_value(json_object_get(ans, "message")) ?: "");
			rc = -1;
		}
		json_decref(ans);
		if (rc != 0) {
			failed = 1;
			break;
		}
	}
	free(auth);
	return failed ? -1 : 0;
}

static void heal(json_t *cluster, json_t *ids)
{
	struct dr_error err = DR_ERROR_INIT;
	char *auth = cluster_admin_token(kd_dir);
	json_t *node;
	size_t i;

	json_array_foreach(json_object_get(cluster, "nodes"), i, node) {
		json_t *req = json_object(), *ans = NULL;
		long http = 0;

		if (id_in(ids, json_integer_value(json_object_get(node, "id"))))
			ledger_debug_call(json_string_value(json_object_get(node, "http_address")), auth,
					  "inferadb.ledger.v1.Debug/Heal", req, 5000, &ans, &http, &err);
		json_decref(req);
		json_decref(ans);
	}
	free(auth);
}

static void start_nodes(json_t *cluster, json_t *ids)
{
	json_t *v, *node;
	size_t i;

	json_array_foreach(ids, i, v)
		if ((node = kd_node_by_id(cluster, json_integer_value(v))) != NULL)
			kd_pod_unfail(node);
}

/* Undo what rec did (a pod-failure's stopped pods, a partition). */
static void recover(json_t *cluster, json_t *rec)
{
	const char *action = json_string_value(json_object_get(rec, "action")) ?: "";

	if (strcmp(action, "pod-failure") == 0)
		start_nodes(cluster, json_object_get(rec, "ids"));
	else if (strcmp(action, "partition") == 0)
		heal(cluster, json_object_get(rec, "ids"));
}

/* spec.duration passed: recover, unless the object is gone or replaced. */
static void recover_later(const char *region, const char *key, const char *uid, long ms)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *all, *rec, *todo = NULL, *cluster = NULL;
	int lock;

	if (!kd_detach_after(ms))
		return;
	lock = kd_state_lock();
	all = kd_load_state("chaos.json");
	rec = json_object_get(json_object_get(all, region), key);
	if (rec && strcmp(json_string_value(json_object_get(json_object_get(json_object_get(rec, "object"), "metadata"),
							    "uid")) ?: "", uid) == 0 &&
	    !json_is_true(json_object_get(rec, "recovered"))) {
		todo = json_deep_copy(rec);
		json_object_set_new(rec, "recovered", json_true());
		kd_save_state("chaos.json", all);
	}
	json_decref(all);
	/* Recovering takes the pods' lock: not under this one. */
	kd_state_unlock(lock);
	if (todo && cluster_load(&cluster, kd_dir, &err) == 0)
		recover(cluster, todo);
	json_decref(cluster);
	json_decref(todo);
	_exit(0);
}

/* Carry out the fault; rec gets "action" and "ids". */
static int inject(struct cmd *c, const char *region, const char *key, json_t *obj, json_t *rec,
		  struct dr_error *err)
{
	json_t *spec = json_object_get(obj, "spec"), *ids, *v;
	const char *action = json_string_value(json_object_get(spec, "action")) ?: "";
	const char *mode = json_string_value(json_object_get(spec, "mode")) ?: "one";
	size_t i;

	if (strcmp(mode, "one") != 0 && strcmp(mode, "all") != 0) {
		dr_error_set(err, "spec.mode: Unsupported value: \"%s\": supported values: \"one\", \"all\" (the double)",
			     mode);
		return -1;
	}
	ids = select_nodes(c, region, json_object_get(spec, "selector"), mode);
	json_object_set_new(rec, "action", json_string(action));
	json_object_set_new(rec, "ids", ids);
	if (strcmp(key, "podchaos") == 0 &&
	    (strcmp(action, "pod-kill") == 0 || strcmp(action, "pod-failure") == 0)) {
		json_array_foreach(ids, i, v) {
			json_t *node = kd_node_by_id(kd_cluster, json_integer_value(v));
			int rc = strcmp(action, "pod-kill") == 0 ? kd_pod_kill(node, 1, err) : kd_pod_fail(node, err);

			if (rc != 0)
				return -1;
		}
		return 0;
	}
	if (strcmp(key, "podchaos") == 0 && strcmp(action, "container-kill") == 0) {
		json_array_foreach(ids, i, v)
			if (cluster_kill(NULL, kd_dir, (int)json_integer_value(v), "KILL", err) != 0)
				return -1;
		return 0;
	}
	if (strcmp(key, "networkchaos") == 0 && strcmp(action, "partition") == 0) {
		json_t *other = other_side(c, region, spec, ids), *both;
		int rc;

		if (strcmp(json_string_value(json_object_get(spec, "direction")) ?: "both", "both") != 0) {
			json_decref(other);
			dr_error_set(err, "the double partitions in direction both only");
			return -1;
		}
		rc = partition(ids, other, err);
		both = json_deep_copy(ids);
		json_array_extend(both, other);
		json_object_set_new(rec, "ids", both);
		json_decref(other);
		return rc;
	}
	dr_error_set(err, "spec.action: Unsupported value: \"%s\" (the double knows pod-kill, container-kill, "
		     "pod-failure and partition)", action);
	return -1;
}

int kd_create_chaos(struct cmd *c, const char *region, json_t *obj)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *kind = json_string_value(json_object_get(obj, "kind")) ?: "";
	const char *key = kind_key(kind);
	json_t *md = json_object_get(obj, "metadata"), *all = NULL, *mine, *rec = NULL, *stored = NULL;
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *dur = json_string_value(json_object_get(json_object_get(obj, "spec"), "duration"));
	char *path = NULL, *uid = NULL, *ts = NULL;
	long ms = dur ? duration_ms(dur) : -1;
	int lock = -1, rc = 1;

	if (!installed() || !key || strcmp(json_string_value(json_object_get(obj, "apiVersion")) ?: "", GROUP "/v1alpha1") != 0)
		return no_mapping(c, obj);
	if (kd_denied("create", key, GROUP, NULL))
		return kd_forbidden(c, "create", key, GROUP, NULL, NULL, 1);
	if (!name || !*name)
		return kd_fail(1, "Error from server (Invalid): error when creating \"STDIN\": %s.%s \"\" is invalid: "
			       "metadata.name: Required value: name or generateName is required", key, GROUP);
	if (dur && ms < 0)
		return kd_fail(1, "Error from server (Invalid): error when creating \"STDIN\": %s.%s \"%s\" is invalid: "
			       "spec.duration: Invalid value: \"%s\": time: invalid duration \"%s\"", key, GROUP, name,
			       dur, dur);
	path = xasprintf("%s/%s", key, name);
	lock = kd_state_lock();
	all = kd_load_state("chaos.json");
	mine = json_object_get(all, region);
	if (!mine) {
		mine = json_object();
		json_object_set_new(all, region, mine);
	}
	if (json_object_get(mine, path)) {
		kd_fail(1, "Error from server (AlreadyExists): error when creating \"STDIN\": %s.%s \"%s\" already exists",
			key, GROUP, name);
		goto out;
	}
	/* The fault takes the pods' own lock: not under this one. */
	json_decref(all);
	all = NULL;
	kd_state_unlock(lock);
	lock = -1;
	stored = json_deep_copy(obj);
	md = json_object_get(stored, "metadata");
	uid = kd_uid(path, (long long)clock_wall_ns(), (long long)getpid());
	ts = kd_timestamp(clock_wall_ns(), 0);
	json_object_set_new(md, "namespace", json_string(c->ns));
	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "creationTimestamp", json_string(ts));
	rec = json_pack("{s:O}", "object", stored);
	if (c->server_dry_run) {
		printf("%s.%s/%s created (server dry run)\n", key, GROUP, name);
		rc = 0;
		goto out;
	}
	if (inject(c, region, key, stored, rec, &err) != 0) {
		kd_fail(1, "Error from server: error when creating \"STDIN\": admission webhook \"v%s.kb.io\" denied "
			"the request: %s", key, err.msg);
		goto out;
	}
	lock = kd_state_lock();
	all = kd_load_state("chaos.json");
	mine = json_object_get(all, region);
	if (!mine) {
		mine = json_object();
		json_object_set_new(all, region, mine);
	}
	json_object_set(mine, path, rec);
	kd_save_state("chaos.json", all);
	kd_state_unlock(lock);
	lock = -1;
	if (ms >= 0)
		recover_later(region, path, uid, ms);
	printf("%s.%s/%s created\n", key, GROUP, name);
	rc = 0;
out:
	kd_state_unlock(lock);
	json_decref(rec);
	json_decref(stored);
	json_decref(all);
	free(path);
	free(uid);
	free(ts);
	return rc;
}

int kd_get_chaos(struct cmd *c, const char *region, const char *type, const char *name)
{
	const char *key = kind_key(type);
	json_t *all, *rec, *o, *records, *v;
	char *path;
	size_t i;
	int done;

	if (!installed())
		return no_type(type);
	if (!name)
		return kd_fail(1, "error: the double gets one %s by name", key);
	if (kd_check(c, "get", key, GROUP, NULL, name))
		return 1;
	path = xasprintf("%s/%s", key, name);
	all = kd_load_state("chaos.json");
	rec = json_object_get(json_object_get(all, region), path);
	free(path);
	if (!rec) {
		json_decref(all);
		return kd_not_found(key, name);
	}
	done = json_is_true(json_object_get(rec, "recovered"));
	o = json_deep_copy(json_object_get(rec, "object"));
	records = json_array();
	json_array_foreach(json_object_get(rec, "ids"), i, v) {
		json_t *node = kd_node_by_id(kd_cluster, json_integer_value(v));
		char *pod = node ? kd_pod_name(node) : xstrdup("?");
		char *id = xasprintf("%s/%s", c->ns, pod);

		json_array_append_new(records, json_pack("{s:s,s:s}", "id", id, "phase", done ? "Recovered" : "Injected"));
		free(pod);
		free(id);
	}
	json_object_set_new(o, "status", json_pack("{s:{s:s,s:o}}", "experiment", "desiredPhase", done ? "Stop" : "Run",
						   "containerRecords", records));
	kd_print_json(o);
	json_decref(o);
	json_decref(all);
	return 0;
}

int kd_delete_chaos(struct cmd *c, const char *region, const char *type, const char *name)
{
	const char *key = kind_key(type);
	json_t *all, *mine, *rec, *todo = NULL;
	char *path;
	int lock;

	if (!installed())
		return no_type(type);
	if (kd_check(c, "delete", key, GROUP, NULL, name))
		return 1;
	path = xasprintf("%s/%s", key, name);
	lock = kd_state_lock();
	all = kd_load_state("chaos.json");
	mine = json_object_get(all, region);
	rec = json_object_get(mine, path);
	if (!rec) {
		json_decref(all);
		kd_state_unlock(lock);
		free(path);
		return c->ignore_not_found ? 0 : kd_not_found(key, name);
	}
	if (!c->server_dry_run) {
		if (!json_is_true(json_object_get(rec, "recovered")))
			todo = json_deep_copy(rec);
		json_object_del(mine, path);
		kd_save_state("chaos.json", all);
	}
	json_decref(all);
	kd_state_unlock(lock);
	/* Chaos Mesh's finalizer undoes the fault before the object goes
	 * (after the lock: recovering takes the pods' own). */
	if (todo)
		recover(kd_cluster, todo);
	json_decref(todo);
	free(path);
	printf("%s.%s \"%s\" deleted%s\n", key, GROUP, name, c->server_dry_run ? " (server dry run)" : "");
	return 0;
}
