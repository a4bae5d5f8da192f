#include "harness/target/k8s/k8s_api.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/numparse.h"
#include "common/strbuf.h"

static json_t *parse_json(const char *text, const char *what, struct dr_error *err)
{
	json_error_t jerr;
	json_t *v = json_loads(text ? text : "", JSON_DECODE_ANY, &jerr);

	if (!v)
		dr_error_set(err, "cannot parse %s as JSON: %s (line %d)", what, jerr.text, jerr.line);
	return v;
}

/* ---- kubectl objects ---------------------------------------------------- */

static int pod_ordinal(const char *name, const char *sts)
{
	size_t n = strlen(sts);
	int64_t v;

	if (strncmp(name, sts, n) != 0 || name[n] != '-' || !isdigit((unsigned char)name[n + 1]))
		return -1;
	if (parse_int64(&v, name + n + 1, 0, 100000) != 0 || v < 0 || v > 100000)
		return -1;
	return (int)v;
}

static int cmp_pod(const void *a, const void *b)
{
	const struct k8s_pod *x = a, *y = b;

	return (x->ordinal > y->ordinal) - (x->ordinal < y->ordinal);
}

int k8s_parse_pods(struct k8s_pod **out, size_t *n, const char *text, const char *statefulset,
		   struct dr_error *err)
{
	json_t *root = parse_json(text, "kubectl get pods", err), *items, *item;
	struct k8s_pod *pods;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (!root)
		return -1;
	items = json_object_get(root, "items");
	if (!json_is_array(items)) {
		json_decref(root);
		return dr_error_set(err, "kubectl get pods answered without an items list");
	}
	pods = xcalloc(json_array_size(items) + 1, sizeof(*pods));
	json_array_foreach(items, i, item) {
		json_t *meta = json_object_get(item, "metadata");
		json_t *status = json_object_get(item, "status"), *cond;
		const char *name = json_string_value(json_object_get(meta, "name"));
		const char *node = json_string_value(json_object_get(json_object_get(item, "spec"), "nodeName"));
		const char *phase = json_string_value(json_object_get(status, "phase"));
		struct k8s_pod *p = &pods[k];
		size_t c;
		int ready = 0;

		if (!name || pod_ordinal(name, statefulset) < 0)
			continue;
		str_copy(p->name, sizeof(p->name), name);
		p->ordinal = pod_ordinal(name, statefulset);
		str_copy(p->node, sizeof(p->node), node ? node : "");
		str_copy(p->phase, sizeof(p->phase), phase ? phase : "");
		p->deleting = json_object_get(meta, "deletionTimestamp") != NULL;
		json_array_foreach(json_object_get(status, "conditions"), c, cond) {
			const char *type = json_string_value(json_object_get(cond, "type"));
			const char *st = json_string_value(json_object_get(cond, "status"));

			if (type && st && strcmp(type, "Ready") == 0)
				ready = strcmp(st, "True") == 0;
		}
		p->ready = ready && !p->deleting;
		k++;
	}
	json_decref(root);
	qsort(pods, k, sizeof(*pods), cmp_pod);
	*out = pods;
	*n = k;
	return 0;
}

static int int_field(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (int)json_integer_value(v) : 0;
}

int k8s_parse_statefulset(struct k8s_sts_state *out, const char *text, struct dr_error *err)
{
	json_t *root = parse_json(text, "kubectl get statefulset", err), *spec, *status;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -1;
	spec = json_object_get(root, "spec");
	status = json_object_get(root, "status");
	if (!json_is_object(spec)) {
		json_decref(root);
		return dr_error_set(err, "kubectl get statefulset answered without a spec");
	}
	/* Zero-valued fields are left out of the status (readyReplicas: 0). */
	out->spec_replicas = json_object_get(spec, "replicas") ? int_field(spec, "replicas") : 1;
	out->replicas = int_field(status, "replicas");
	out->ready = int_field(status, "readyReplicas");
	out->current = int_field(status, "currentReplicas");
	out->updated = int_field(status, "updatedReplicas");
	out->generation = json_integer_value(json_object_get(json_object_get(root, "metadata"), "generation"));
	out->observed_generation = json_integer_value(json_object_get(status, "observedGeneration"));
	json_decref(root);
	return 0;
}

int k8s_parse_node_names(char ***out, size_t *n, const char *text, struct dr_error *err)
{
	json_t *root = parse_json(text, "kubectl get nodes", err), *items, *item;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!root)
		return -1;
	items = json_object_get(root, "items");
	*out = xcalloc(json_array_size(items) + 1, sizeof(char *));
	json_array_foreach(items, i, item) {
		const char *name = json_string_value(json_object_get(json_object_get(item, "metadata"), "name"));

		if (name)
			(*out)[(*n)++] = xstrdup(name);
	}
	json_decref(root);
	return 0;
}

/* ---- proto3 JSON -------------------------------------------------------- */

/* Integer fields of both dialects (int64/uint64 arrive as strings). */
static const char *const int_keys[] = {
	"id", "node_id", "term", "commit_index", "match_index", "lag_entries", "last_index",
	"voters", "last_contact_ms", "leader_id", "index", "size", "previous_leader",
	"target_node_id", "applied_index", "snapshot_index", NULL,
};

static int is_int_key(const char *k)
{
	for (size_t i = 0; int_keys[i]; i++)
		if (strcmp(int_keys[i], k) == 0)
			return 1;
	return 0;
}

char *k8s_snake_case(const char *k)
{
	struct strbuf sb = STRBUF_INIT;

	for (; *k; k++) {
		if (isupper((unsigned char)*k)) {
			strbuf_addch(&sb, '_');
			strbuf_addch(&sb, (char)tolower((unsigned char)*k));
		} else {
			strbuf_addch(&sb, *k);
		}
	}
	return strbuf_detach(&sb);
}

json_t *k8s_json_normalize(const json_t *in)
{
	if (json_is_object(in)) {
		json_t *o = json_object(), *v;
		const char *k;

		json_object_foreach((json_t *)in, k, v) {
			char *sk = k8s_snake_case(k);
			json_t *nv;
			int64_t iv;

			if (is_int_key(sk) && json_is_string(v) &&
			    parse_int64(&iv, json_string_value(v), INT64_MIN, INT64_MAX) == 0)
				nv = json_integer(iv);
			else
				nv = k8s_json_normalize(v);
			json_object_set_new(o, sk, nv);
			free(sk);
		}
		return o;
	}
	if (json_is_array(in)) {
		json_t *a = json_array(), *v;
		size_t i;

		json_array_foreach(in, i, v)
			json_array_append_new(a, k8s_json_normalize(v));
		return a;
	}
	return json_deep_copy(in);
}

/* "MEMBER_ROLE_VOTER", "VOTER", "voter" -> "voter". */
static char *enum_word(const char *v)
{
	const char *u = strrchr(v, '_');
	char *s = xstrdup(u ? u + 1 : v);

	for (char *p = s; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

/* ---- status ------------------------------------------------------------- */

static const struct k8s_region *region_of_ledger(const struct k8s_config *cfg, const char *name)
{
	for (size_t i = 0; name && i < cfg->nregions; i++)
		if (strcmp(cfg->regions[i].ledger_region, name) == 0)
			return &cfg->regions[i];
	return name ? k8s_config_region(cfg, name) : NULL;
}

/* Which pod runs the member with id and address (the public ledger's
 * members carry no region): node_ids when configured; else the address a
 * region's address_template gives one of its pods; else the address's
 * first DNS label when it is <statefulset>-<n> (a headless-service name)
 * of exactly one region's StatefulSet.  NULL when none says. */
static const struct k8s_region *member_pod(const struct k8s_config *cfg, int64_t id,
					   const char *addr, int *ord)
{
	const struct k8s_region *found = NULL;
	size_t len;
	char *label;

	if ((found = k8s_config_node_region(cfg, id, ord)) != NULL || !addr || !*addr)
		return found;
	for (size_t i = 0; i < cfg->nregions; i++) {
		const struct k8s_region *r = &cfg->regions[i];

		if (!r->address_template)
			continue;
		/* A region scaled above its normal size still maps. */
		for (int k = 0; k < r->replicas * 2 + 2; k++) {
			char pod[300], *a;
			int same;

			snprintf(pod, sizeof(pod), "%s-%d", r->statefulset, k);
			a = k8s_config_direct_address(r, pod);
			same = strcmp(a, addr) == 0;
			free(a);
			if (same) {
				*ord = k;
				return r;
			}
		}
	}
	len = strcspn(addr, ".:");
	label = xstrndup(addr, len);
	for (size_t i = 0; i < cfg->nregions; i++) {
		int o = pod_ordinal(label, cfg->regions[i].statefulset);

		if (o < 0)
			continue;
		if (found) { /* the same name in two regions: ambiguous */
			found = NULL;
			break;
		}
		found = &cfg->regions[i];
		*ord = o;
	}
	free(label);
	return found;
}

/* The pod of a member (member_pod), or from the address's first DNS label
 * in the region the runbook's status names. */
static void annotate_pod(json_t *m, const struct k8s_config *cfg, const struct k8s_region *r)
{
	int64_t id = json_integer_value(json_object_get(m, "id"));
	const char *addr = json_string_value(json_object_get(m, "address"));
	const struct k8s_region *nr;
	int ord = -1;

	if ((nr = member_pod(cfg, id, addr, &ord)) != NULL) {
		json_object_set_new(m, "pod", json_sprintf("%s-%d", nr->statefulset, ord));
		json_object_set_new(m, "context", json_string(nr->context));
		return;
	}
	if (r && addr) {
		size_t len = strcspn(addr, ".:");
		char *label = xstrndup(addr, len);

		if (pod_ordinal(label, r->statefulset) >= 0)
			json_object_set_new(m, "pod", json_string(label));
		free(label);
	}
	if (r)
		json_object_set_new(m, "context", json_string(r->context));
}

static void relabel_region(json_t *obj, const struct k8s_config *cfg)
{
	const char *lr = json_string_value(json_object_get(obj, "region"));
	const struct k8s_region *r = region_of_ledger(cfg, lr);

	if (r) {
		json_object_set_new(obj, "region", json_string(r->name));
		json_object_set_new(obj, "region_role", json_string(r->role));
	}
}

static int parse_runbook(json_t **out, const struct k8s_config *cfg, json_t *raw, struct dr_error *err)
{
	json_t *st = k8s_json_normalize(raw), *members, *m, *leader;
	size_t i;

	members = json_object_get(st, "members");
	if (!json_is_array(members)) {
		json_decref(st);
		return dr_error_set(err, "GetClusterStatus answered without members");
	}
	/* proto3 leaves defaults out: put them back so readers see every field. */
	if (!json_object_get(st, "quorum"))
		json_object_set_new(st, "quorum", json_false());
	if (!json_object_get(st, "term"))
		json_object_set_new(st, "term", json_integer(0));
	leader = json_object_get(st, "leader");
	if (!json_is_object(leader) || json_integer_value(json_object_get(leader, "id")) <= 0)
		json_object_set_new(st, "leader", json_null());
	else
		relabel_region(leader, cfg);
	json_array_foreach(members, i, m) {
		const struct k8s_region *r;

		if (!json_object_get(m, "lag_entries"))
			json_object_set_new(m, "lag_entries", json_integer(0));
		if (!json_object_get(m, "lag_seconds"))
			json_object_set_new(m, "lag_seconds", json_real(0));
		if (!json_object_get(m, "match_index"))
			json_object_set_new(m, "match_index", json_integer(0));
		if (json_is_string(json_object_get(m, "state")) ) {
			char *w = enum_word(json_string_value(json_object_get(m, "state")));

			json_object_set_new(m, "state", json_string(w));
			free(w);
		}
		if (json_is_string(json_object_get(m, "role"))) {
			char *w = enum_word(json_string_value(json_object_get(m, "role")));

			json_object_set_new(m, "role", json_string(w));
			free(w);
		}
		r = region_of_ledger(cfg, json_string_value(json_object_get(m, "region")));
		relabel_region(m, cfg);
		annotate_pod(m, cfg, r);
	}
	json_object_set_new(st, "api", json_string("runbook"));
	*out = st;
	return 0;
}

static const json_t *find_pod(const json_t *pods, const char *region, int ordinal)
{
	const json_t *list = json_object_get(pods, region), *p;
	size_t i;

	json_array_foreach(list, i, p)
		if (json_integer_value(json_object_get(p, "ordinal")) == ordinal)
			return p;
	return NULL;
}

static int parse_ledger_v1(json_t **out, const struct k8s_config *cfg, json_t *raw,
			   const json_t *pods, struct dr_error *err)
{
	json_t *info = k8s_json_normalize(raw), *members, *m, *st, *list, *leader = json_null();
	int64_t leader_id = json_integer_value(json_object_get(info, "leader_id"));
	size_t i, voters = 0, voters_up = 0, down = 0;

	members = json_object_get(info, "members");
	if (!json_is_array(members)) {
		json_decref(info);
		return dr_error_set(err, "GetClusterInfo answered without members");
	}
	list = json_array();
	json_array_foreach(members, i, m) {
		int64_t id = json_integer_value(json_object_get(m, "node_id"));
		const char *addr = json_string_value(json_object_get(m, "address"));
		const char *role_raw = json_string_value(json_object_get(m, "role"));
		char *role = enum_word(role_raw ? role_raw : "voter");
		int is_leader = json_is_true(json_object_get(m, "is_leader")) || (leader_id && id == leader_id);
		int ord = -1;
		const struct k8s_region *r = member_pod(cfg, id, addr, &ord);
		const json_t *pod = r && pods ? find_pod(pods, r->name, ord) : NULL;
		int up = pods ? pod && json_is_true(json_object_get(pod, "ready")) : 1;
		json_t *mm;

		if (is_leader && !leader_id)
			leader_id = id;
		mm = json_pack("{s:I,s:s,s:s?,s:s?,s:s,s:s,s:i,s:f}", "id", (json_int_t)id,
			       "address", addr ? addr : "", "region", r ? r->name : NULL,
			       "region_role", r ? r->role : NULL, "role", role,
			       "state", !up ? "unreachable" : is_leader ? "leader" : "follower",
			       "lag_entries", 0, "lag_seconds", 0.0);
		if (r) {
			json_object_set_new(mm, "pod", json_sprintf("%s-%d", r->statefulset, ord));
			json_object_set_new(mm, "context", json_string(r->context));
		}
		if (strcmp(role, "voter") == 0) {
			voters++;
			voters_up += up;
		}
		down += !up;
		if (is_leader)
			leader = json_pack("{s:I,s:s,s:s?,s:s?}", "id", (json_int_t)id,
					   "address", addr ? addr : "", "region", r ? r->name : NULL,
					   "region_role", r ? r->role : NULL);
		json_array_append_new(list, mm);
		free(role);
	}
	st = json_pack("{s:I,s:o,s:b,s:i,s:o,s:s}",
		       "term", (json_int_t)json_integer_value(json_object_get(info, "term")),
		       "leader", leader, "quorum", voters > 0 && voters_up * 2 > voters,
		       "voters", (int)voters, "members", list, "api", "ledger.v1");
	/* ledger.v1 reports no per-member lag: "Fully replicated" means a leader
	 * and every member's pod Ready (a pod turns Ready once its node serves). */
	if (!json_is_object(leader))
		json_object_set_new(st, "replication", json_string("Unknown (no leader)"));
	else if (!pods)
		json_object_set_new(st, "replication", json_string("Unknown (no pod readiness)"));
	else if (down == 0)
		json_object_set_new(st, "replication", json_string("Fully replicated"));
	else
		json_object_set_new(st, "replication",
				    json_sprintf("Replicating (%zu member%s not ready)", down, down == 1 ? "" : "s"));
	json_decref(info);
	*out = st;
	return 0;
}

int k8s_parse_cluster_status_json(json_t **out, const struct k8s_config *cfg, const json_t *raw,
				  const json_t *pods, struct dr_error *err)
{
	if (!json_is_object(raw))
		return dr_error_set(err, "the status answer is not a JSON object");
	return cfg->api == K8S_API_LEDGER_V1 ? parse_ledger_v1(out, cfg, (json_t *)raw, pods, err)
					     : parse_runbook(out, cfg, (json_t *)raw, err);
}

int k8s_parse_cluster_status(json_t **out, const struct k8s_config *cfg, const char *text,
			     const json_t *pods, struct dr_error *err)
{
	json_t *raw = parse_json(text, "the status answer", err);
	int rc;

	if (!raw)
		return -1;
	rc = k8s_parse_cluster_status_json(out, cfg, raw, pods, err);
	json_decref(raw);
	return rc;
}

int k8s_parse_health(const struct k8s_config *cfg, const char *text, char *why, size_t len)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *raw = parse_json(text, "the health answer", &err);
	const char *st;
	int ok;

	if (!raw) {
		snprintf(why, len, "%s", err.msg);
		return 0;
	}
	/* proto3 leaves an enum at 0 out: UNKNOWN / UNSPECIFIED. */
	st = json_string_value(json_object_get(raw, "status"));
	if (!st)
		st = "UNKNOWN";
	/* The enum names as the servers send them (ledger.v1.HealthStatus,
	 * grpc.health.v1's ServingStatus). */
	ok = cfg->api == K8S_API_LEDGER_V1 ? strcmp(st, "HEALTH_STATUS_HEALTHY") == 0
					   : strcmp(st, "SERVING") == 0;
	snprintf(why, len, "%s", st);
	json_decref(raw);
	return ok;
}

json_t *k8s_payload_transfer(const struct k8s_config *cfg, int64_t node_id, const char *ledger_region,
			     int64_t timeout_ms)
{
	if (cfg->api == K8S_API_LEDGER_V1)
		return node_id > 0 ? json_pack("{s:I,s:I}", "targetNodeId", (json_int_t)node_id,
					       "timeoutMs", (json_int_t)timeout_ms) : NULL;
	if (node_id > 0)
		return json_pack("{s:I}", "nodeId", (json_int_t)node_id);
	return json_pack("{s:s}", "region", ledger_region ? ledger_region : "");
}

json_t *k8s_payload_force_election(const struct k8s_config *cfg, const char *ledger_region,
				   int allow_data_loss)
{
	if (cfg->api == K8S_API_LEDGER_V1)
		return NULL;
	return json_pack("{s:s,s:b}", "region", ledger_region ? ledger_region : "", "allowDataLoss",
			 allow_data_loss);
}

json_t *k8s_payload_restore(const struct k8s_config *cfg, const char *what)
{
	/* ledger.v1's RestoreBackup names a backup the server keeps, by id. */
	if (cfg->api == K8S_API_LEDGER_V1)
		return json_pack("{s:s}", "backupId", what);
	return json_pack("{s:s}", "path", what);
}

json_t *k8s_pod_json(const struct k8s_pod *p)
{
	return json_pack("{s:s,s:i,s:b,s:b,s:s,s:s}", "name", p->name, "ordinal", p->ordinal,
			 "ready", p->ready, "deleting", p->deleting, "node", p->node, "phase", p->phase);
}
