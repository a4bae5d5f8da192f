/* grpcurl inside a pod (KUBECTL_DOUBLE_IMAGE_TOOLS=1: an image that ships
 * it): both API dialects (runbook and ledger.v1), answered in grpcurl's
 * proto3 JSON (camelCase, 64-bit integers as strings, defaults left out).
 * ledger.v1's WriteService/Write and ReadService/ListEntities (canary
 * writes) are emulated as entities stored in the bundled ledger's entries. */
#include "tests/doubles/kubectl_double.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/base64.h"
#include "common/strbuf.h"
#include "harness/target/k8s/k8s_api.h"

/* grpcurl indents by two. */
static void print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);

	printf("%s\n", s ? s : "null");
	free(s);
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
char *kd_pod_path(json_t *node, const char *p)
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

	return kd_fail(64 + status, "ERROR:\n  Code: %s\n  Message: %s",
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

		if (kd_node_call(node, "inferadb.ledger.v1.Ledger/Read", rreq, &ans, code, 30000) != 0) {
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

int kd_grpcurl(json_t *node, char **argv, int argc)
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
		else if (strcmp(argv[i], "-H") == 0 && i + 1 < argc) {
			const char *h = argv[++i];

			if (strncasecmp(h, "authorization:", 14) == 0) {
				h += 14;
				while (*h == ' ')
					h++;
				if (strncmp(h, "Bearer ", 7) == 0)
					kd_call_token = h + 7;
			}
		}
		else if (argv[i][0] != '-' && strchr(argv[i], '/'))
			method = argv[i];
	}
	if (!method)
		return kd_fail(2, "grpcurl: too few arguments");
	if (data) {
		json_t *raw = json_loads(data, 0, NULL);

		if (!raw)
			return kd_fail(1, "Error invoking method \"%s\": error getting request data: invalid JSON", method);
		req = from_proto3(raw);
		json_decref(raw);
	} else {
		req = json_object();
	}
	if (json_is_string(json_object_get(req, "path"))) {
		char *p = kd_pod_path(node, json_string_value(json_object_get(req, "path")));

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
		char *p = kd_pod_path(node, json_string_value(json_object_get(req, "backup_path")) ?: "");

		call = "inferadb.ledger.v1.Admin/RestoreFromSnapshot";
		json_decref(req);
		req = json_pack("{s:s}", "path", p);
		free(p);
	} else if (strcmp(method, "ledger.v1.WriteService/Write") == 0) {
		char why[200];
		json_t *append = write_as_append(req, why, sizeof(why));

		json_decref(req);
		if (!append)
			return kd_fail(64 + 3, "ERROR:\n  Code: InvalidArgument\n  Message: %s", why);
		req = append;
		call = "inferadb.ledger.v1.Ledger/Append";
	} else if (strcmp(method, "ledger.v1.ReadService/ListEntities") == 0) {
		json_t *err_ans = NULL;

		if (list_entities(node, req, &out, &err_ans, &code) != 0) {
			json_decref(req);
			return kd_fail(64 + 14, "Failed to dial target host \"localhost:50051\": connection refused");
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
		return kd_fail(64 + 12, "ERROR:\n  Code: Unimplemented\n  Message: unknown service %.*s",
			    (int)(strchr(method, '/') - method), method);
	}
	if (kd_node_call(node, call, req, &ans, &code, 30000) != 0) {
		json_decref(req);
		return kd_fail(64 + 14, "Failed to dial target host \"localhost:50051\": connection refused");
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

		out = json_pack("{s:s}", "status", st && strcmp(st, "SERVING") == 0 ? "HEALTH_STATUS_HEALTHY" : "HEALTH_STATUS_UNAVAILABLE");
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

