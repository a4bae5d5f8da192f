/* A kubectl test double: emulates Kubernetes contexts on top of a bundled
 * ledger cluster (`drillrig cluster up`), so the Kubernetes target runs
 * end to end without an API server.
 *
 *   context  <prefix><region>   (KUBECTL_DOUBLE_CONTEXT_PREFIX, default "drill-")
 *   namespace                   KUBECTL_DOUBLE_NAMESPACE (default inferadb)
 *   statefulset                 KUBECTL_DOUBLE_STATEFULSET (default inferadb-ledger)
 *   pods     <statefulset>-<ordinal>, one per ledger node of the region
 *   nodes    k8s-<zone>-<node id>, labelled topology.kubernetes.io/zone=<zone>
 *
 * Supported: version, auth can-i, scale, get statefulset|pods|pod|nodes|lease,
 * delete pod|lease, create -f - (a Lease), cordon, uncordon, drain, cp, and
 * exec POD -- kill -SIG 1 | grpcurl ... in both API dialects (runbook and
 * ledger.v1), answering in grpcurl's proto3 JSON (camelCase, 64-bit
 * integers as strings, defaults left out).  ledger.v1's WriteService/Write
 * and ReadService/ListEntities (canary writes) are emulated as entities
 * stored in the bundled ledger's entries.
 *
 * Environment: KUBECTL_DOUBLE_CLUSTER (the cluster directory, required),
 * KUBECTL_DOUBLE_LOG (append each command line), KUBECTL_DOUBLE_FAIL (a
 * substring: a matching command fails with exit 1, after taking effect
 * when KUBECTL_DOUBLE_FAIL_AFTER=1; only the first N such commands with
 * KUBECTL_DOUBLE_FAIL_TIMES=N; exit code KUBECTL_DOUBLE_FAIL_EXIT, default
 * 1, above 64 a grpcurl RPC error), KUBECTL_DOUBLE_DENY (a substring of
 * "verb resource" that auth can-i answers "no").
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/base64.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/target/k8s/k8s_api.h"
#include "ledger/client/client.h"
#include "ledger/cluster/cluster.h"

struct cmd {
	const char *context;
	const char *ns;
	char **args;     /* after the global flags */
	int nargs;
	char **rest;     /* after "--" */
	int nrest;
	int server_dry_run;
	int ignore_not_found;
};

static const char *dir;
static const char *prefix = "drill-";
static const char *want_ns = "inferadb";
static const char *sts = "inferadb-ledger";
static json_t *cluster;

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static void print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

	printf("%s\n", s ? s : "null");
	free(s);
}

static char *state_path(const char *name)
{
	return xasprintf("%s/k8s-double-%s", dir, name);
}

static json_t *load_state(const char *name)
{
	char *p = state_path(name);
	json_t *v = json_load_file(p, 0, NULL);

	free(p);
	return v ? v : json_object();
}

static void save_state(const char *name, json_t *v)
{
	struct dr_error err = DR_ERROR_INIT;
	char *p = state_path(name), *s = json_dumps(v, JSON_COMPACT);

	fs_write_atomic(p, s, strlen(s), &err);
	free(s);
	free(p);
}

/* ---- the cluster as Kubernetes objects ------------------------------------ */

static const char *region_of_context(const char *ctx)
{
	size_t n = strlen(prefix);
	json_t *r;
	size_t i;

	if (!ctx || strncmp(ctx, prefix, n) != 0)
		return NULL;
	json_array_foreach(json_object_get(cluster, "regions"), i, r)
		if (strcmp(json_string_value(json_object_get(r, "name")), ctx + n) == 0)
			return json_string_value(json_object_get(r, "name"));
	return NULL;
}

static json_t *node_by_pod(const char *region, const char *pod)
{
	size_t n = strlen(sts);
	json_t *node;
	size_t i;
	long ord;
	char *end;

	if (strncmp(pod, sts, n) != 0 || pod[n] != '-')
		return NULL;
	ord = strtol(pod + n + 1, &end, 10);
	if (*end)
		return NULL;
	json_array_foreach(json_object_get(cluster, "nodes"), i, node)
		if (strcmp(json_string_value(json_object_get(node, "region")), region) == 0 &&
		    json_integer_value(json_object_get(node, "ordinal")) == ord)
			return node;
	return NULL;
}

static char *k8s_node_name(json_t *node)
{
	return xasprintf("k8s-%s-%lld", json_string_value(json_object_get(node, "zone")),
			 (long long)json_integer_value(json_object_get(node, "id")));
}

static int is_cordoned(const char *k8s_node)
{
	json_t *c = load_state("cordoned.json");
	int yes = json_object_get(c, k8s_node) != NULL;

	json_decref(c);
	return yes;
}

static int pod_exists(json_t *node)
{
	const char *p = json_string_value(json_object_get(node, "process"));

	return p && strcmp(p, "scaled-down") != 0 && strcmp(p, "stopped") != 0 &&
	       !json_is_true(json_object_get(node, "stopped"));
}

/* method on the node's gRPC API: 0 when the node answered, *code its wire
 * code and *out the answer or the error {"code","message"}; -1 when no
 * node answered. */
static int node_call(json_t *node, const char *method, json_t *req, json_t **out,
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
	if (ledger_client_new(&c, addrs, 1, &o, &err) != 0)
		return -1;
	rc = ledger_call(c, 0, method, req, out, code, &err);
	ledger_client_free(c);
	if (rc != 0)
		fprintf(stderr, "%s\n", err.msg);
	return rc;
}

static int pod_ready(json_t *node)
{
	json_t *ans = NULL;
	enum ledger_code code;
	int ok;

	if (!pod_exists(node) || strcmp(json_string_value(json_object_get(node, "process")) ?: "", "running") != 0)
		return 0;
	ok = node_call(node, "grpc.health.v1.Health/Check", NULL, &ans, &code, 300) == 0 &&
	     code == LEDGER_OK;
	json_decref(ans);
	return ok;
}

static json_t *pod_json(json_t *node, const char *ns)
{
	char *name = xasprintf("%s-%lld", sts, (long long)json_integer_value(json_object_get(node, "ordinal")));
	char *kn = k8s_node_name(node);
	int ready = pod_ready(node);
	int cordoned_pending = !pod_exists(node);
	json_t *p = json_pack("{s:s,s:s,s:{s:s,s:s,s:[{s:s,s:s}]},s:{s:s},s:{s:s,s:[{s:s,s:s}]}}",
			      "apiVersion", "v1", "kind", "Pod",
			      "metadata", "name", name, "namespace", ns, "ownerReferences",
			      "kind", "StatefulSet", "name", sts,
			      "spec", "nodeName", kn,
			      "status", "phase", cordoned_pending ? "Pending" : "Running",
			      "conditions", "type", "Ready", "status", ready ? "True" : "False");

	if (cordoned_pending)
		json_object_del(json_object_get(p, "spec"), "nodeName");
	free(name);
	free(kn);
	return p;
}

static json_t *region_entry(const char *region)
{
	json_t *r;
	size_t i;

	json_array_foreach(json_object_get(cluster, "regions"), i, r)
		if (strcmp(json_string_value(json_object_get(r, "name")), region) == 0)
			return r;
	return NULL;
}

static int not_found(const char *kind, const char *name)
{
	return fail(1, "Error from server (NotFound): %s \"%s\" not found", kind, name);
}

/* ---- grpcurl ---------------------------------------------------------------- */

static char *camel(const char *k)
{
	struct strbuf sb = STRBUF_INIT;

	for (; *k; k++) {
		if (*k == '_' && k[1]) {
			k++;
			strbuf_addch(&sb, (char)toupper((unsigned char)*k));
		} else {
			strbuf_addch(&sb, *k);
		}
	}
	return strbuf_detach(&sb);
}

/* The server side of grpcurl: proto3 JSON as protojson prints it. */
static json_t *to_proto3(json_t *v)
{
	if (json_is_object(v)) {
		json_t *o = json_object(), *x;
		const char *k;

		json_object_foreach(v, k, x) {
			char *ck;

			/* Defaults are left out. */
			if (json_is_null(x) || json_is_false(x) || (json_is_integer(x) && json_integer_value(x) == 0) ||
			    (json_is_real(x) && json_real_value(x) == 0) ||
			    (json_is_string(x) && !json_string_value(x)[0]))
				continue;
			ck = camel(k);
			json_object_set_new(o, ck, to_proto3(x));
			free(ck);
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array(), *x;
		size_t i;

		json_array_foreach(v, i, x)
			json_array_append_new(a, to_proto3(x));
		return a;
	}
	if (json_is_integer(v))
		return json_sprintf("%lld", (long long)json_integer_value(v)); /* int64 */
	return json_deep_copy(v);
}

static json_t *from_proto3(json_t *v)
{
	if (json_is_object(v)) {
		json_t *o = json_object(), *x;
		const char *k;

		json_object_foreach(v, k, x) {
			char *sk = k8s_snake_case(k);

			json_object_set_new(o, sk, from_proto3(x));
			free(sk);
		}
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array(), *x;
		size_t i;

		json_array_foreach(v, i, x)
			json_array_append_new(a, from_proto3(x));
		return a;
	}
	return json_deep_copy(v);
}

/* Pod paths under /var/lib/ledger/ live in the node's data directory. */
static char *pod_path(json_t *node, const char *p)
{
	static const char root[] = "/var/lib/ledger/";

	if (strncmp(p, root, sizeof(root) - 1) == 0)
		return xasprintf("%s/%s", json_string_value(json_object_get(node, "data")), p + sizeof(root) - 1);
	return xstrdup(p);
}

/* A node's error as grpcurl prints it and exits: the gRPC status the wire
 * code travels as (NOT_LEADER: UNAVAILABLE, ledger/client/wire.c) under
 * grpcurl's name for it, and exit 64 + that status. */
static int rpc_error(enum ledger_code code, json_t *ans)
{
	static const char *const names[] = { "OK", "Canceled", "Unknown", "InvalidArgument",
		"DeadlineExceeded", "NotFound", "AlreadyExists", "PermissionDenied",
		"ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange",
		"Unimplemented", "Internal", "Unavailable", "DataLoss", "Unauthenticated" };
	int status = ledger_code_grpc_status(code);

	return fail(64 + status, "ERROR:\n  Code: %s\n  Message: %s",
		    status >= 0 && status < (int)(sizeof(names) / sizeof(names[0])) ? names[status] : "Unknown",
		    json_string_value(json_object_get(ans, "message")) ?: "");
}

/* ---- ledger.v1 entities, emulated on the bundled ledger's entries ------- */

/* WriteService/Write with one setEntity: an Append whose payload is the
 * entity {key, value}.  The idempotency key's first 7 bytes are the
 * sequence, so a retry of the same write is deduplicated like the real
 * server's (client_id, idempotency_key). */
static json_t *write_as_append(json_t *req, char *why, size_t len)
{
	json_t *ops = json_object_get(req, "operations");
	json_t *set = json_object_get(json_array_get(ops, 0), "set_entity");
	const char *cid = json_string_value(json_object_get(json_object_get(req, "client_id"), "id"));
	const char *idem = json_string_value(json_object_get(req, "idempotency_key"));
	const char *key = json_string_value(json_object_get(set, "key"));
	size_t ilen = 0;
	char *raw = idem ? b64_decode(idem, &ilen) : NULL;
	uint64_t seq = 0;
	json_t *entity, *append;
	char *payload;

	if (json_array_size(ops) != 1 || !key || !cid || !raw || ilen != 16 ||
	    !json_is_object(json_object_get(req, "organization"))) {
		snprintf(why, len, "the double writes one setEntity with client_id, a 16-byte "
			 "idempotency_key and an organization");
		free(raw);
		return NULL;
	}
	for (int i = 0; i < 7; i++)
		seq = seq << 8 | (unsigned char)raw[i];
	free(raw);
	entity = json_pack("{s:s,s:s}", "key", key, "value",
			   json_string_value(json_object_get(set, "value")) ?: "");
	payload = json_dumps(entity, JSON_COMPACT | JSON_SORT_KEYS);
	append = json_pack("{s:s,s:I,s:s}", "client_id", cid, "sequence", (json_int_t)seq, "payload", payload);
	free(payload);
	json_decref(entity);
	return append;
}

static int cmp_entity(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "key")),
		      json_string_value(json_object_get(*(json_t *const *)b, "key")));
}

/* ReadService/ListEntities: every entry read from the leader, the entities
 * under key_prefix in key order, paged by limit with the offset as the
 * page token.  *out in ledger snake_case (to_proto3 prints it). */
static int list_entities(json_t *node, json_t *req, json_t **out, json_t **err_ans,
			 enum ledger_code *code)
{
	const char *key_prefix = json_string_value(json_object_get(req, "key_prefix")) ?: "";
	const char *token = json_string_value(json_object_get(req, "page_token"));
	json_t *lim = json_object_get(req, "limit");
	long long limit = json_is_string(lim) ? strtoll(json_string_value(lim), NULL, 10) : json_integer_value(lim);
	long long from = 1, last = 0, offset = token ? strtoll(token, NULL, 10) : 0;
	json_t *found = json_array(), *page = json_array();
	size_t n, i;
	json_t **sorted;

	if (limit <= 0)
		limit = 100;
	for (;;) {
		json_t *rreq = json_pack("{s:I,s:i}", "from_index", (json_int_t)from, "limit", 10000), *ans = NULL, *e;

		if (node_call(node, "inferadb.ledger.v1.Ledger/Read", rreq, &ans, code, 30000) != 0) {
			json_decref(rreq);
			json_decref(found);
			json_decref(page);
			return -1;
		}
		json_decref(rreq);
		if (*code != LEDGER_OK) {
			*err_ans = ans;
			json_decref(found);
			json_decref(page);
			return 0;
		}
		last = json_integer_value(json_object_get(ans, "last_index"));
		json_array_foreach(json_object_get(ans, "entries"), i, e) {
			json_t *ent = json_loads(json_string_value(json_object_get(e, "payload")) ?: "", 0, NULL);
			const char *k = json_string_value(json_object_get(ent, "key"));

			from = json_integer_value(json_object_get(e, "index")) + 1;
			if (k && strncmp(k, key_prefix, strlen(key_prefix)) == 0)
				json_array_append_new(found, json_pack("{s:s,s:O,s:I}", "key", k, "value",
								      json_object_get(ent, "value"), "version",
								      json_integer_value(json_object_get(e, "index"))));
			json_decref(ent);
		}
		n = json_array_size(json_object_get(ans, "entries"));
		json_decref(ans);
		if (n == 0 || from > last)
			break;
	}
	n = json_array_size(found);
	sorted = calloc(n + 1, sizeof(*sorted));
	for (i = 0; i < n; i++)
		sorted[i] = json_array_get(found, i);
	qsort(sorted, n, sizeof(*sorted), cmp_entity);
	for (i = (size_t)(offset > 0 ? offset : 0); i < n && (long long)json_array_size(page) < limit; i++)
		json_array_append(page, sorted[i]);
	*out = json_pack("{s:o,s:I}", "entities", page, "block_height", (json_int_t)last);
	if (i < n)
		json_object_set_new(*out, "next_page_token", json_sprintf("%zu", i));
	free(sorted);
	json_decref(found);
	*code = LEDGER_OK;
	return 0;
}

static int do_grpcurl(json_t *node, char **argv, int argc)
{
	const char *method = NULL, *data = NULL;
	json_t *req = NULL, *ans = NULL, *out = NULL;
	const char *call;
	enum ledger_code code = LEDGER_CODE_COUNT;
	int rc = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-version") == 0) {
			printf("grpcurl v1.9.1 (double)\n");
			return 0;
		}
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
			data = argv[++i];
		else if (strcmp(argv[i], "-H") == 0 && i + 1 < argc)
			i++;
		else if (argv[i][0] != '-' && strchr(argv[i], '/'))
			method = argv[i];
	}
	if (!method)
		return fail(2, "grpcurl: too few arguments");
	if (data) {
		json_t *raw = json_loads(data, 0, NULL);

		if (!raw)
			return fail(1, "Error invoking method \"%s\": error getting request data: invalid JSON", method);
		req = from_proto3(raw);
		json_decref(raw);
	} else {
		req = json_object();
	}
	if (json_is_string(json_object_get(req, "path"))) {
		char *p = pod_path(node, json_string_value(json_object_get(req, "path")));

		json_object_set_new(req, "path", json_string(p));
		free(p);
	}
	/* ledger.v1 names onto the bundled ledger's runbook names. */
	call = method;
	if (strcmp(method, "ledger.v1.AdminService/GetClusterInfo") == 0)
		call = "inferadb.ledger.v1.Admin/GetClusterStatus";
	else if (strcmp(method, "ledger.v1.HealthService/Check") == 0)
		call = "grpc.health.v1.Health/Check";
	else if (strcmp(method, "ledger.v1.AdminService/CreateSnapshot") == 0 ||
		 strcmp(method, "ledger.v1.AdminService/CreateBackup") == 0)
		call = "inferadb.ledger.v1.Admin/CreateSnapshot";
	else if (strcmp(method, "ledger.v1.AdminService/TransferLeadership") == 0) {
		json_t *id = json_object_get(req, "target_node_id");
		long long v = json_is_string(id) ? strtoll(json_string_value(id), NULL, 10) : json_integer_value(id);

		call = "inferadb.ledger.v1.Admin/RequestLeaderTransfer";
		json_decref(req);
		req = json_pack("{s:I}", "node_id", (json_int_t)v);
	} else if (strcmp(method, "ledger.v1.AdminService/RestoreBackup") == 0) {
		char *p = pod_path(node, json_string_value(json_object_get(req, "backup_path")) ?: "");

		call = "inferadb.ledger.v1.Admin/RestoreFromSnapshot";
		json_decref(req);
		req = json_pack("{s:s}", "path", p);
		free(p);
	} else if (strcmp(method, "ledger.v1.WriteService/Write") == 0) {
		char why[200];
		json_t *append = write_as_append(req, why, sizeof(why));

		json_decref(req);
		if (!append)
			return fail(64 + 3, "ERROR:\n  Code: InvalidArgument\n  Message: %s", why);
		req = append;
		call = "inferadb.ledger.v1.Ledger/Append";
	} else if (strcmp(method, "ledger.v1.ReadService/ListEntities") == 0) {
		json_t *err_ans = NULL;

		if (list_entities(node, req, &out, &err_ans, &code) != 0) {
			json_decref(req);
			return fail(64 + 14, "Failed to dial target host \"localhost:50051\": connection refused");
		}
		json_decref(req);
		if (err_ans) {
			rc = rpc_error(code, err_ans);
			json_decref(err_ans);
			return rc;
		}
		req = to_proto3(out);
		print_json(req);
		json_decref(req);
		json_decref(out);
		return 0;
	} else if (strncmp(method, "inferadb.ledger.v1.", 19) != 0 && strncmp(method, "grpc.health.v1.", 15) != 0) {
		json_decref(req);
		return fail(64 + 12, "ERROR:\n  Code: Unimplemented\n  Message: unknown service %.*s",
			    (int)(strchr(method, '/') - method), method);
	}
	if (node_call(node, call, req, &ans, &code, 30000) != 0) {
		json_decref(req);
		return fail(64 + 14, "Failed to dial target host \"localhost:50051\": connection refused");
	}
	json_decref(req);
	if (code != LEDGER_OK) {
		rc = rpc_error(code, ans);
		json_decref(ans);
		return rc;
	}
	if (strcmp(method, "ledger.v1.AdminService/GetClusterInfo") == 0) {
		json_t *members = json_array(), *m, *leader = json_object_get(ans, "leader");
		size_t i;

		json_array_foreach(json_object_get(ans, "members"), i, m)
			json_array_append_new(members, json_pack("{s:I,s:s,s:s,s:b}",
				"node_id", json_integer_value(json_object_get(m, "id")),
				"address", json_string_value(json_object_get(m, "address")),
				"role", strcmp(json_string_value(json_object_get(m, "role")) ?: "voter", "voter") == 0
					? "MEMBER_ROLE_VOTER" : "MEMBER_ROLE_LEARNER",
				"is_leader", json_integer_value(json_object_get(leader, "id")) ==
					     json_integer_value(json_object_get(m, "id"))));
		out = json_pack("{s:o,s:I,s:I}", "members", members,
				"leader_id", json_integer_value(json_object_get(leader, "id")),
				"term", json_integer_value(json_object_get(ans, "term")));
	} else if (strcmp(method, "ledger.v1.WriteService/Write") == 0) {
		out = json_pack("{s:{s:I,s:I}}", "success", "block_height",
				json_integer_value(json_object_get(ans, "index")), "assigned_sequence",
				json_integer_value(json_object_get(ans, "index")));
	} else if (strcmp(method, "ledger.v1.HealthService/Check") == 0) {
		const char *st = json_string_value(json_object_get(ans, "status"));

		out = json_pack("{s:s}", "status", st && strcmp(st, "SERVING") == 0 ? "HEALTHY" : "UNAVAILABLE");
	} else {
		out = json_incref(ans);
	}
	req = to_proto3(out);
	print_json(req);
	json_decref(req);
	json_decref(out);
	json_decref(ans);
	return 0;
}

/* ---- verbs ------------------------------------------------------------------ */

static int do_exec(struct cmd *c, const char *region)
{
	const char *podname = NULL;
	json_t *node;

	for (int i = 1; i < c->nargs; i++) {
		if (strcmp(c->args[i], "-c") == 0) {
			i++;
			continue;
		}
		if (c->args[i][0] == '-')
			return fail(1, "error: unknown flag %s (the double refuses -t/-i: stderr must not mix into stdout)",
				    c->args[i]);
		podname = c->args[i];
	}
	if (!podname || c->nrest == 0)
		return fail(1, "error: expected 'exec POD -- COMMAND [args...]'");
	node = node_by_pod(region, podname);
	if (!node)
		return not_found("pods", podname);
	if (!pod_exists(node) || strcmp(json_string_value(json_object_get(node, "process")) ?: "", "running") != 0)
		return fail(1, "error: unable to upgrade connection: container not found (\"ledger\")");
	if (strcmp(c->rest[0], "kill") == 0 && c->nrest == 3 && strcmp(c->rest[2], "1") == 0) {
		struct dr_error err = DR_ERROR_INIT;
		const char *sig = c->rest[1] + 1;

		if (strcmp(sig, "9") == 0)
			sig = "KILL";
		if (cluster_kill(NULL, dir, (int)json_integer_value(json_object_get(node, "id")), sig, &err) != 0)
			return fail(137, "%s", err.msg);
		return 0;
	}
	if (strcmp(c->rest[0], "grpcurl") == 0)
		return do_grpcurl(node, c->rest + 1, c->nrest - 1);
	return fail(127, "OCI runtime exec failed: exec: \"%s\": executable file not found in $PATH", c->rest[0]);
}

static int do_get(struct cmd *c, const char *region)
{
	const char *what = c->nargs > 1 ? c->args[1] : "";
	json_t *node, *items = json_array();
	size_t i;

	if (strncmp(what, "statefulset/", 12) == 0 || strcmp(what, "statefulset") == 0) {
		const char *name = strchr(what, '/') ? strchr(what, '/') + 1 : c->args[2];
		json_t *r = region_entry(region);
		int exist = 0, ready = 0;

		json_decref(items);
		if (strcmp(name, sts) != 0)
			return not_found("statefulsets.apps", name);
		json_array_foreach(json_object_get(cluster, "nodes"), i, node)
			if (strcmp(json_string_value(json_object_get(node, "region")), region) == 0) {
				exist += pod_exists(node);
				ready += pod_ready(node);
			}
		node = json_pack("{s:s,s:s,s:{s:s,s:s,s:i},s:{s:I},s:{s:i,s:i,s:i,s:i}}",
				 "apiVersion", "apps/v1", "kind", "StatefulSet",
				 "metadata", "name", sts, "namespace", c->ns, "generation", 1,
				 "spec", "replicas", json_integer_value(json_object_get(r, "replicas")),
				 "status", "replicas", exist, "readyReplicas", ready, "currentReplicas", exist,
				 "observedGeneration", 1);
		/* As the API server does: omitempty counters vanish at zero. */
		if (!ready)
			json_object_del(json_object_get(node, "status"), "readyReplicas");
		if (!exist)
			json_object_del(json_object_get(node, "status"), "currentReplicas");
		print_json(node);
		json_decref(node);
		return 0;
	}
	if (strcmp(what, "pods") == 0) {
		json_array_foreach(json_object_get(cluster, "nodes"), i, node) {
			if (strcmp(json_string_value(json_object_get(node, "region")), region) != 0)
				continue;
			if (!pod_exists(node)) {
				char *kn = k8s_node_name(node);
				int pending = is_cordoned(kn);

				free(kn);
				if (!pending)
					continue;
			}
			json_array_append_new(items, pod_json(node, c->ns));
		}
		node = json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind", "List", "items", items);
		print_json(node);
		json_decref(node);
		return 0;
	}
	if (strncmp(what, "pod/", 4) == 0) {
		json_decref(items);
		node = node_by_pod(region, what + 4);
		if (!node)
			return not_found("pods", what + 4);
		items = pod_json(node, c->ns);
		print_json(items);
		json_decref(items);
		return 0;
	}
	if (strcmp(what, "nodes") == 0) {
		const char *sel = NULL;
		const char *label = "topology.kubernetes.io/zone=";

		for (int k = 2; k < c->nargs; k++)
			if (strcmp(c->args[k], "-l") == 0 && k + 1 < c->nargs)
				sel = c->args[k + 1];
		json_array_foreach(json_object_get(cluster, "nodes"), i, node) {
			char *kn;

			if (strcmp(json_string_value(json_object_get(node, "region")), region) != 0)
				continue;
			if (sel && (strncmp(sel, label, strlen(label)) != 0 ||
				    strcmp(sel + strlen(label), json_string_value(json_object_get(node, "zone"))) != 0))
				continue;
			kn = k8s_node_name(node);
			json_array_append_new(items, json_pack("{s:{s:s,s:{s:s}}}", "metadata", "name", kn,
				"labels", "topology.kubernetes.io/zone", json_string_value(json_object_get(node, "zone"))));
			free(kn);
		}
		node = json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind", "List", "items", items);
		print_json(node);
		json_decref(node);
		return 0;
	}
	json_decref(items);
	if (strncmp(what, "lease.coordination.k8s.io/", 26) == 0) {
		json_t *leases = load_state("leases.json"), *l = json_object_get(leases, what + 26);

		if (!l) {
			json_decref(leases);
			return not_found("leases.coordination.k8s.io", what + 26);
		}
		print_json(l);
		json_decref(leases);
		return 0;
	}
	return fail(1, "error: the server doesn't have a resource type \"%s\"", what);
}

static int do_scale(struct cmd *c, const char *region)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *what = c->nargs > 1 ? c->args[1] : "";
	long n = -1;

	for (int i = 2; i < c->nargs; i++)
		if (strncmp(c->args[i], "--replicas=", 11) == 0)
			n = strtol(c->args[i] + 11, NULL, 10);
	if (strncmp(what, "statefulset/", 12) != 0 || n < 0)
		return fail(1, "error: expected 'scale statefulset/NAME --replicas=N'");
	if (strcmp(what + 12, sts) != 0)
		return not_found("statefulsets.apps", what + 12);
	if (!c->server_dry_run && cluster_scale(NULL, dir, region, (int)n, &err) != 0)
		return fail(1, "Error from server: %s", err.msg);
	printf("statefulset.apps/%s scaled%s\n", sts, c->server_dry_run ? " (server dry run)" : "");
	return 0;
}

static int do_delete(struct cmd *c, const char *region)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *what = c->nargs > 1 ? c->args[1] : "";

	for (int i = 2; i < c->nargs; i++)
		if (strcmp(c->args[i], "--force") == 0 || strncmp(c->args[i], "--grace-period", 14) == 0)
			return fail(1, "error: the double refuses forced deletes of StatefulSet pods");
	if (strncmp(what, "pod/", 4) == 0) {
		json_t *node = node_by_pod(region, what + 4);
		char *kn;
		int id, rc;

		if (!node || !pod_exists(node))
			return not_found("pods", what + 4);
		if (c->server_dry_run) {
			printf("pod \"%s\" deleted (server dry run)\n", what + 4);
			return 0;
		}
		id = (int)json_integer_value(json_object_get(node, "id"));
		kn = k8s_node_name(node);
		/* On a cordoned node with a zonal volume the pod stays Pending. */
		rc = is_cordoned(kn) ? cluster_stop(NULL, dir, id, &err) : cluster_kill(NULL, dir, id, "TERM", &err);
		free(kn);
		if (rc != 0)
			return fail(1, "Error from server: %s", err.msg);
		printf("pod \"%s\" deleted\n", what + 4);
		return 0;
	}
	if (strncmp(what, "lease.coordination.k8s.io/", 26) == 0) {
		json_t *leases = load_state("leases.json");

		if (!json_object_get(leases, what + 26)) {
			json_decref(leases);
			return c->ignore_not_found ? 0 : not_found("leases.coordination.k8s.io", what + 26);
		}
		if (!c->server_dry_run) {
			json_object_del(leases, what + 26);
			save_state("leases.json", leases);
		}
		json_decref(leases);
		printf("lease.coordination.k8s.io \"%s\" deleted\n", what + 26);
		return 0;
	}
	return fail(1, "error: the double cannot delete '%s'", what);
}

static int do_create(struct cmd *c)
{
	json_error_t jerr;
	json_t *obj = json_loadf(stdin, 0, &jerr), *leases;
	const char *name;

	if (!obj)
		return fail(1, "error: error parsing STDIN: %s", jerr.text);
	name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	if (!name || strcmp(json_string_value(json_object_get(obj, "kind")) ?: "", "Lease") != 0) {
		json_decref(obj);
		return fail(1, "error: the double creates Leases only");
	}
	leases = load_state("leases.json");
	if (json_object_get(leases, name)) {
		int rc = fail(1, "Error from server (AlreadyExists): error when creating \"STDIN\": "
			      "leases.coordination.k8s.io \"%s\" already exists", name);

		json_decref(obj);
		json_decref(leases);
		return rc;
	}
	if (!c->server_dry_run) {
		json_object_set(leases, name, obj);
		save_state("leases.json", leases);
	}
	print_json(obj);
	json_decref(obj);
	json_decref(leases);
	return 0;
}

static int do_cordon(struct cmd *c, const char *region, int on)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *name = c->nargs > 1 ? c->args[1] : "";
	json_t *cordoned = load_state("cordoned.json"), *node;
	size_t i;
	int found = 0;

	json_array_foreach(json_object_get(cluster, "nodes"), i, node) {
		char *kn = k8s_node_name(node);

		if (strcmp(kn, name) == 0 && strcmp(json_string_value(json_object_get(node, "region")), region) == 0) {
			found = 1;
			/* Uncordoning lets its Pending pod start again. */
			if (!on && !c->server_dry_run && json_is_true(json_object_get(node, "stopped")))
				cluster_start(NULL, dir, (int)json_integer_value(json_object_get(node, "id")), &err);
		}
		free(kn);
	}
	if (!found) {
		json_decref(cordoned);
		return not_found("nodes", name);
	}
	if (!c->server_dry_run) {
		if (on)
			json_object_set_new(cordoned, name, json_true());
		else
			json_object_del(cordoned, name);
		save_state("cordoned.json", cordoned);
	}
	json_decref(cordoned);
	printf("node/%s %s%s\n", name, on ? "cordoned" : "uncordoned", c->server_dry_run ? " (server dry run)" : "");
	return 0;
}

static int do_drain(struct cmd *c, const char *region)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *name = c->nargs > 1 ? c->args[1] : "";
	json_t *node;
	size_t i;
	int rc = do_cordon(c, region, 1);

	if (rc != 0)
		return rc;
	json_array_foreach(json_object_get(cluster, "nodes"), i, node) {
		char *kn = k8s_node_name(node);

		if (strcmp(kn, name) == 0 && pod_exists(node) && !c->server_dry_run) {
			printf("evicting pod %s/%s-%lld\n", c->ns, sts,
			       (long long)json_integer_value(json_object_get(node, "ordinal")));
			if (cluster_stop(NULL, dir, (int)json_integer_value(json_object_get(node, "id")), &err) != 0)
				rc = fail(1, "error when evicting: %s", err.msg);
		}
		free(kn);
	}
	if (rc == 0)
		printf("node/%s drained\n", name);
	return rc;
}

static int do_cp(struct cmd *c, const char *region)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *a = NULL, *b = NULL;
	char *data = NULL, *from, *to;
	size_t len = 0;
	int rc;

	for (int i = 1; i < c->nargs; i++) {
		if (strcmp(c->args[i], "-c") == 0) {
			i++;
			continue;
		}
		if (!a)
			a = c->args[i];
		else
			b = c->args[i];
	}
	if (!a || !b)
		return fail(1, "error: expected 'cp SRC DST'");
	if (strchr(a, ':')) {
		char *pod = xstrndup(a, (size_t)(strchr(a, ':') - a));
		json_t *node = node_by_pod(region, pod);

		free(pod);
		if (!node)
			return not_found("pods", a);
		from = pod_path(node, strchr(a, ':') + 1);
		to = xstrdup(b);
	} else {
		char *pod = xstrndup(b, (size_t)(strchr(b, ':') ? strchr(b, ':') - b : 0));
		json_t *node = node_by_pod(region, pod);

		free(pod);
		if (!node || !strchr(b, ':'))
			return not_found("pods", b);
		from = xstrdup(a);
		to = pod_path(node, strchr(b, ':') + 1);
		if (strrchr(to, '/')) {
			char *d = xstrndup(to, (size_t)(strrchr(to, '/') - to));

			fs_mkdir_p(d, &err);
			free(d);
		}
	}
	rc = fs_read_file(&data, &len, from, (size_t)1 << 30, &err) == 0 && fs_write_atomic(to, data, len, &err) == 0
		     ? 0 : fail(1, "error: %s", err.msg);
	free(data);
	free(from);
	free(to);
	return rc;
}

/* ---- main ------------------------------------------------------------------- */

static void log_line(int argc, char **argv)
{
	const char *path = getenv("KUBECTL_DOUBLE_LOG");
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "a")))
		return;
	for (int i = 0; i < argc; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	fputc('\n', f);
	fclose(f);
}

static int dispatch(struct cmd *c)
{
	const char *verb = c->nargs > 0 ? c->args[0] : "";
	const char *region;
	struct dr_error err = DR_ERROR_INIT;

	if (strcmp(verb, "version") == 0 && !c->context)
		return fail(1, "error: the double needs --context");
	if (!c->context)
		return fail(1, "error: the double refuses commands without --context");
	if (!c->ns)
		return fail(1, "error: the double refuses commands without -n");
	if (cluster_load(&cluster, dir, &err) != 0)
		return fail(1, "Unable to connect to the server: %s", err.msg);
	region = region_of_context(c->context);
	if (!region)
		return fail(1, "error: context \"%s\" does not exist", c->context);
	if (strcmp(c->ns, want_ns) != 0 && strcmp(verb, "cordon") != 0 && strcmp(verb, "uncordon") != 0 &&
	    strcmp(verb, "version") != 0 && strcmp(verb, "auth") != 0)
		return fail(1, "Error from server (NotFound): namespaces \"%s\" not found", c->ns);
	if (strcmp(verb, "version") == 0) {
		printf("{\n  \"clientVersion\": {\"major\": \"1\", \"minor\": \"30\", \"gitVersion\": \"v1.30.2\"},\n"
		       "  \"serverVersion\": {\"major\": \"1\", \"minor\": \"29\", \"gitVersion\": \"v1.29.6-eks\"}\n}\n");
		return 0;
	}
	if (strcmp(verb, "auth") == 0 && c->nargs >= 4 && strcmp(c->args[1], "can-i") == 0) {
		const char *deny = getenv("KUBECTL_DOUBLE_DENY");
		struct strbuf q = STRBUF_INIT;
		int no;

		for (int i = 2; i < c->nargs; i++)
			strbuf_addf(&q, "%s%s", i > 2 ? " " : "", c->args[i]);
		no = deny && *deny && strstr(strbuf_str(&q), deny);
		strbuf_release(&q);
		printf("%s\n", no ? "no" : "yes");
		return no ? 1 : 0;
	}
	if (strcmp(verb, "get") == 0)
		return do_get(c, region);
	if (strcmp(verb, "scale") == 0)
		return do_scale(c, region);
	if (strcmp(verb, "delete") == 0)
		return do_delete(c, region);
	if (strcmp(verb, "create") == 0)
		return do_create(c);
	if (strcmp(verb, "exec") == 0)
		return do_exec(c, region);
	if (strcmp(verb, "cordon") == 0)
		return do_cordon(c, region, 1);
	if (strcmp(verb, "uncordon") == 0)
		return do_cordon(c, region, 0);
	if (strcmp(verb, "drain") == 0)
		return do_drain(c, region);
	if (strcmp(verb, "cp") == 0)
		return do_cp(c, region);
	return fail(1, "error: unknown command \"%s\" for \"kubectl\" (double)", verb);
}

/* KUBECTL_DOUBLE_FAIL_TIMES=N: only the first N matching commands fail
 * (counted in a file next to the cluster, so across processes).  Returns 1
 * when this one must fail. */
static int injected_failure_left(void)
{
	const char *times = getenv("KUBECTL_DOUBLE_FAIL_TIMES");
	char *path, buf[32];
	long limit, used = 0;
	ssize_t n;
	int fd, left;

	if (!times || !*times)
		return 1;
	limit = strtol(times, NULL, 10);
	path = xasprintf("%s/kubectl-double-failures", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return 1;
	/* Concurrent kubectl processes (a poller and a step) count once each. */
	flock(fd, LOCK_EX);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		used = strtol(buf, NULL, 10);
	}
	left = used < limit;
	if (left) {
		int len = snprintf(buf, sizeof(buf), "%ld\n", used + 1);

		if (lseek(fd, 0, SEEK_SET) == 0 && write(fd, buf, (size_t)len) == len)
			(void)ftruncate(fd, len);
	}
	close(fd); /* releases the lock */
	return left;
}

int main(int argc, char **argv)
{
	struct cmd c;
	const char *failon = getenv("KUBECTL_DOUBLE_FAIL");
	int after = getenv("KUBECTL_DOUBLE_FAIL_AFTER") && strcmp(getenv("KUBECTL_DOUBLE_FAIL_AFTER"), "1") == 0;
	struct strbuf line = STRBUF_INIT;
	int rc;

	memset(&c, 0, sizeof(c));
	log_line(argc, argv);
	dir = getenv("KUBECTL_DOUBLE_CLUSTER");
	if (getenv("KUBECTL_DOUBLE_CONTEXT_PREFIX"))
		prefix = getenv("KUBECTL_DOUBLE_CONTEXT_PREFIX");
	if (getenv("KUBECTL_DOUBLE_NAMESPACE"))
		want_ns = getenv("KUBECTL_DOUBLE_NAMESPACE");
	if (getenv("KUBECTL_DOUBLE_STATEFULSET"))
		sts = getenv("KUBECTL_DOUBLE_STATEFULSET");
	if (!dir || !*dir)
		return fail(1, "error: KUBECTL_DOUBLE_CLUSTER is not set (the double needs a bundled cluster)");
	c.args = xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 1; i < argc; i++) {
		strbuf_addf(&line, "%s%s", i > 1 ? " " : "", argv[i]);
		if (strcmp(argv[i], "--") == 0) {
			c.rest = argv + i + 1;
			c.nrest = argc - i - 1;
			for (int k = i + 1; k < argc; k++)
				strbuf_addf(&line, " %s", argv[k]);
			break;
		}
		if (strcmp(argv[i], "--context") == 0 && i + 1 < argc)
			c.context = argv[++i];
		else if ((strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--namespace") == 0) && i + 1 < argc)
			c.ns = argv[++i];
		else if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
			i++;
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			i++;
		else if (strcmp(argv[i], "--dry-run=server") == 0)
			c.server_dry_run = 1;
		else if (strcmp(argv[i], "--ignore-not-found") == 0)
			c.ignore_not_found = 1;
		else
			c.args[c.nargs++] = argv[i];
	}
	if (failon && *failon && strstr(strbuf_str(&line), failon) && !injected_failure_left()) {
		failon = NULL; /* KUBECTL_DOUBLE_FAIL_TIMES used up: run normally */
	}
	if (failon && *failon && strstr(strbuf_str(&line), failon) && !after) {
		const char *code = getenv("KUBECTL_DOUBLE_FAIL_EXIT");
		int exit_code = code && *code ? (int)strtol(code, NULL, 10) : 1;

		strbuf_release(&line);
		free(c.args);
		/* 64 + a gRPC code: as grpcurl reports an RPC error. */
		if (exit_code > 64)
			return fail(exit_code, "ERROR:\n  Code: injected\n  Message: injected failure "
				    "(KUBECTL_DOUBLE_FAIL=%s)", failon);
		return fail(exit_code, "error: injected failure (KUBECTL_DOUBLE_FAIL=%s)", failon);
	}
	rc = dispatch(&c);
	if (failon && *failon && strstr(strbuf_str(&line), failon) && after)
		rc = fail(1, "error: injected failure after the command took effect (KUBECTL_DOUBLE_FAIL=%s)", failon);
	strbuf_release(&line);
	json_decref(cluster);
	free(c.args);
	return rc;
}
