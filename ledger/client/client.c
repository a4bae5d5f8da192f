/* The ledger client over gRPC (ledger/client/client.h). */
#include "ledger/client/client.h"

#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/client/ledger_v1.h"
#include "ledger/client/pbjson.h"
#include "ledger/client/rpc.h"

#define V1_LIST_PAGE_LIMIT 1000

struct ledger_client {
	struct ledger_channel **ch;   /* one per node */
	size_t n;
	int current;
	struct ledger_client_opts opts;
	char *authorization;          /* "Bearer <token>" or NULL */
	/* LEDGER_API_V1: our copy of the scope (its strings owned) and the
	 * wall second expires_at counts from, fixed so a retried write is the
	 * same request. */
	struct ledger_v1_scope scope;
	int64_t start_s;
};

static const char *const api_names[] = { [LEDGER_API_RUNBOOK] = "runbook",
					   [LEDGER_API_V1] = "ledger.v1" };

const char *ledger_api_name(enum ledger_api api)
{
	return (unsigned)api < sizeof(api_names) / sizeof(api_names[0]) ? api_names[api] : "?";
}

int ledger_api_parse(enum ledger_api *out, const char *name)
{
	for (size_t i = 0; i < sizeof(api_names) / sizeof(api_names[0]); i++)
		if (name && strcmp(name, api_names[i]) == 0) {
			*out = (enum ledger_api)i;
			return 0;
		}
	return -1;
}

int ledger_client_new(struct ledger_client **out, const char *const addresses[], size_t n,
		      const struct ledger_client_opts *opts, struct dr_error *err)
{
	struct ledger_client_opts defaults = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_client *c;

	*out = NULL;
	if (n == 0)
		return dr_error_set(err, "ledger client needs at least one node address");
	c = xcalloc(1, sizeof *c);
	c->opts = opts ? *opts : defaults;
	if (c->opts.timeout_ms <= 0)
		c->opts.timeout_ms = defaults.timeout_ms;
	if (c->opts.admin_timeout_ms <= 0)
		c->opts.admin_timeout_ms = defaults.admin_timeout_ms;
	c->opts.admin_token = NULL; /* the caller's; only our copy is kept */
	if (c->opts.api == LEDGER_API_V1) {
		static const struct ledger_v1_scope bundled = LEDGER_V1_SCOPE_BUNDLED;
		const struct ledger_v1_scope *sc = opts->v1_scope ? opts->v1_scope : &bundled;

		c->scope.organization = xstrdup(sc->organization ? sc->organization : "");
		c->scope.vault = xstrdup(sc->vault ? sc->vault : "");
		c->scope.caller = xstrdup(sc->caller ? sc->caller : "");
		c->scope.key_prefix = xstrdup(sc->key_prefix ? sc->key_prefix : "");
		c->scope.ttl_s = sc->ttl_s;
		c->start_s = clock_wall_ns() / NS_PER_SEC;
	}
	c->opts.v1_scope = NULL;
	if (opts && opts->admin_token)
		c->authorization = xasprintf("Bearer %s", opts->admin_token);
	c->ch = xcalloc(n, sizeof(*c->ch));
	c->n = n;
	for (size_t i = 0; i < n; i++)
		if (ledger_channel_open(&c->ch[i], addresses[i], err) != 0) {
			ledger_client_free(c);
			return -1;
		}
	*out = c;
	return 0;
}

void ledger_client_free(struct ledger_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		ledger_channel_close(c->ch[i]);
	free(c->ch);
	free(c->authorization);
	free((char *)c->scope.organization);
	free((char *)c->scope.vault);
	free((char *)c->scope.caller);
	free((char *)c->scope.key_prefix);
	free(c);
}

size_t ledger_client_size(const struct ledger_client *c)
{
	return c->n;
}

const char *ledger_client_address(const struct ledger_client *c, size_t node)
{
	return node < c->n ? ledger_channel_address(c->ch[node]) : NULL;
}

int ledger_client_current(const struct ledger_client *c)
{
	return c->current;
}

void ledger_client_set_current(struct ledger_client *c, int node)
{
	if (node >= 0 && (size_t)node < c->n)
		c->current = node;
}

static int find_node(const struct ledger_client *c, const char *address)
{
	if (!address)
		return -1;
	if (strncmp(address, "http://", 7) == 0)
		address += 7;
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(ledger_channel_address(c->ch[i]), address) == 0)
			return (int)i;
	return -1;
}

static void next_node(struct ledger_client *c)
{
	c->current = (int)(((size_t)c->current + 1) % c->n);
}

static int rpc(struct ledger_client *c, int node, const char *method, const json_t *req,
	       long timeout_ms, unsigned json_flags, struct ledger_rpc_result *res,
	       struct dr_error *err)
{
	struct ledger_rpc_opts opts = LEDGER_RPC_OPTS_INIT;

	opts.timeout_ns = (int64_t)timeout_ms * NS_PER_MS;
	opts.authorization = c->authorization;
	opts.json_flags = json_flags;
	return ledger_rpc(c->ch[node], method, req, &opts, res, err);
}

int ledger_attempt(struct ledger_client *c, const char *method, const json_t *req,
		   json_t **answer, struct ledger_append_result *res)
{
	struct ledger_rpc_result r = LEDGER_RPC_RESULT_INIT;
	struct dr_error err = DR_ERROR_INIT;
	int node = c->current, rc;

	*answer = NULL;
	memset(res, 0, sizeof *res);
	res->node = node;
	rc = rpc(c, node, method, req, c->opts.timeout_ms, 0, &r, &err);
	res->latency_ns = r.latency_ns;
	if (rc != 0) {
		/* The request never left: it does not fit the message. */
		str_copy(res->code, sizeof res->code, "INVALID_ARGUMENT");
		str_copy(res->message, sizeof res->message, err.msg);
		res->outcome = LEDGER_OUTCOME_DEFINITE_FAILURE;
		return -1;
	}
	if (r.code == LEDGER_OK) {
		res->outcome = LEDGER_OUTCOME_OK;
		res->http_status = 200;
		*answer = json_incref(r.body);
		ledger_rpc_result_release(&r);
		return 0;
	}
	str_copy(res->message, sizeof res->message, r.message);
	if (r.code == LEDGER_CODE_COUNT) {
		/* No node answered: definite only when the request never left. */
		str_copy(res->code, sizeof res->code, "TRANSPORT");
		res->refused = r.refused;
		res->timed_out = r.timed_out;
		res->outcome = r.refused ? LEDGER_OUTCOME_DEFINITE_FAILURE : LEDGER_OUTCOME_UNKNOWN;
		next_node(c);
	} else {
		str_copy(res->code, sizeof res->code, ledger_code_name(r.code));
		res->http_status = ledger_code_http_status(r.code);
		if (r.code == LEDGER_UNKNOWN_OUTCOME) {
			res->outcome = LEDGER_OUTCOME_UNKNOWN;
		} else {
			res->outcome = LEDGER_OUTCOME_DEFINITE_FAILURE;
			if (r.code == LEDGER_NOT_LEADER) {
				int l = find_node(c, r.leader);

				str_copy(res->leader, sizeof res->leader, r.leader);
				if (l >= 0 && l != node)
					c->current = l;
				else
					next_node(c);
			}
		}
	}
	ledger_rpc_result_release(&r);
	return -1;
}

/* ledger.v1: one Write attempt, classified (ledger_v1.h). */
static int v1_write(struct ledger_client *c, const struct ledger_v1_scope *s,
		    const char *client_id, uint64_t sequence, const char *payload, int64_t now_s,
		    struct ledger_append_result *res)
{
	json_t *req = ledger_v1_write_request(s, client_id, sequence, payload, now_s), *answer = NULL;
	int rc = ledger_attempt(c, LEDGER_V1_WRITE, req, &answer, res);

	json_decref(req);
	if (rc != 0)
		return -1;
	ledger_v1_classify_write(answer, res);
	json_decref(answer);
	return res->outcome == LEDGER_OUTCOME_OK ? 0 : -1;
}

static int v1_read_all(struct ledger_client *c, const struct ledger_v1_scope *s,
		       const char *client_id, ledger_v1_entry_fn fn, void *payload,
		       struct dr_error *err)
{
	char *token = xstrdup("");
	int leader = ledger_leader_index(c, err), tries = 0, rc = -1;

	if (leader < 0)
		goto out;
	for (;;) {
		json_t *req = ledger_v1_list_request(s, client_id, token, V1_LIST_PAGE_LIMIT), *resp = NULL;
		enum ledger_code code = LEDGER_CODE_COUNT;
		int crc = ledger_call(c, leader, LEDGER_V1_LIST, req, &resp, &code, err);

		json_decref(req);
		if (crc != 0 || code != LEDGER_OK) {
			if (crc == 0)
				dr_error_set(err, "ListEntities answered %s: %s", ledger_code_name(code),
					     json_string_value(json_object_get(resp, "message")) ?: "");
			json_decref(resp);
			if (++tries > 20)
				goto out;
			clock_sleep_ns(50 * NS_PER_MS);
			leader = ledger_leader_index(c, err);
			if (leader < 0)
				leader = 0;
			continue;
		}
		free(token);
		token = NULL;
		crc = ledger_v1_parse_page(resp, s, client_id, fn, payload, &token, err);
		json_decref(resp);
		if (crc != 0)
			goto out;
		if (!*token)
			break;
	}
	rc = 0;
out:
	free(token);
	return rc;
}

struct v1_each {
	ledger_entry_fn fn;
	void *payload;
};

static void v1_entry(const char *client_id, uint64_t sequence, uint64_t version,
		     const char *value_b64, void *payload)
{
	struct v1_each *e = payload;
	size_t len = 0;
	char *value = b64_decode(value_b64, &len);
	json_t *entry = json_pack("{s:I,s:i,s:s,s:I,s:s%}", "index", (json_int_t)version, "term", 0,
				  "client_id", client_id, "sequence", (json_int_t)sequence,
				  "payload", value ? value : "", value ? len : (size_t)0);

	e->fn(entry, e->payload);
	json_decref(entry);
	free(value);
}

int ledger_append(struct ledger_client *c, const char *client_id, uint64_t sequence,
		  const char *payload, struct ledger_append_result *res)
{
	if (c->opts.api == LEDGER_API_V1)
		return v1_write(c, &c->scope, client_id, sequence, payload, c->start_s, res);

	json_t *req = json_pack("{s:s, s:I, s:s}", "client_id", client_id, "sequence",
				(json_int_t)sequence, "payload", payload);
	json_t *answer = NULL;
	int rc = ledger_attempt(c, LEDGER_SVC_LEDGER "/Append", req, &answer, res);

	json_decref(req);
	if (rc != 0)
		return -1;
	if (!json_is_integer(json_object_get(answer, "index"))) {
		/* An OK without an index cannot be placed in the history. */
		res->outcome = LEDGER_OUTCOME_UNKNOWN;
		str_copy(res->code, sizeof res->code, "UNKNOWN_OUTCOME");
		str_copy(res->message, sizeof res->message, "Append answered without an index");
		json_decref(answer);
		return -1;
	}
	res->index = (uint64_t)json_integer_value(json_object_get(answer, "index"));
	res->term = (uint64_t)json_integer_value(json_object_get(answer, "term"));
	json_decref(answer);
	return 0;
}

int ledger_call(struct ledger_client *c, int node, const char *method, const json_t *req,
		json_t **resp, enum ledger_code *code, struct dr_error *err)
{
	struct ledger_rpc_result r = LEDGER_RPC_RESULT_INIT;

	*resp = NULL;
	*code = LEDGER_CODE_COUNT;
	if (node < 0)
		node = c->current;
	if ((size_t)node >= c->n)
		return dr_error_set(err, "no node %d (client has %zu)", node, c->n);
	if (rpc(c, node, method, req, c->opts.admin_timeout_ms, PBJSON_EMIT_DEFAULTS, &r, err) != 0)
		return -1;
	if (r.code == LEDGER_CODE_COUNT) {
		dr_error_set(err, "cannot call %s on '%s': %s%s", method,
			     ledger_client_address(c, (size_t)node), r.timed_out ? "timed out: " : "",
			     r.message[0] ? r.message : "no answer");
		ledger_rpc_result_release(&r);
		return -1;
	}
	*code = r.code;
	*resp = r.code == LEDGER_OK ? json_incref(r.body) : ledger_rpc_error_json(&r);
	ledger_rpc_result_release(&r);
	return 0;
}

int ledger_cluster_status(struct ledger_client *c, json_t **out, struct dr_error *err)
{
	struct dr_error last = DR_ERROR_INIT;
	int v1 = c->opts.api == LEDGER_API_V1;
	const char *method_name = v1 ? "GetClusterInfo" : "GetClusterStatus";
	size_t i;

	*out = NULL;
	for (i = 0; i < c->n; i++) {
		int node = (int)(((size_t)c->current + i) % c->n);
		enum ledger_code code;
		json_t *resp = NULL;

		if (ledger_call(c, node, v1 ? LEDGER_V1_CLUSTER_INFO : LEDGER_SVC_ADMIN "/GetClusterStatus",
				NULL, &resp, &code, &last) != 0)
			continue;
		if (code == LEDGER_OK && !v1) {
			*out = resp;
			return 0;
		}
		if (code == LEDGER_OK) {
			int rc = ledger_v1_status_of_info(resp, out, &last);

			json_decref(resp);
			if (rc == 0)
				return 0;
			continue;
		}
		dr_error_set(&last, "%s on '%s' answered %s: %s", method_name,
			     ledger_client_address(c, (size_t)node), ledger_code_name(code),
			     json_string_value(json_object_get(resp, "message")) ?: "");
		json_decref(resp);
	}
	return dr_error_set(err, "no node answered %s: %s", method_name, last.msg);
}

/* The node of ours that says it leads, when the leader's own address is
 * not one of ours (every node reached through a port-forward or a proxy):
 * ledger.v1's HealthService/Check says so in its details (is_leader).  -1
 * when none says (the runbook's health check does not tell). */
static int leader_behind_proxy(struct ledger_client *c)
{
	if (c->opts.api != LEDGER_API_V1)
		return -1;
	for (size_t i = 0; i < c->n; i++) {
		struct dr_error e = DR_ERROR_INIT;
		enum ledger_code code = LEDGER_CODE_COUNT;
		json_t *resp = NULL;
		const char *is_leader;
		int yes;

		if (ledger_call(c, (int)i, LEDGER_V1_HEALTH, NULL, &resp, &code, &e) != 0)
			continue;
		is_leader = json_string_value(json_object_get(json_object_get(resp, "details"), "is_leader"));
		yes = code == LEDGER_OK && is_leader && strcmp(is_leader, "true") == 0;
		json_decref(resp);
		if (yes)
			return (int)i;
	}
	return -1;
}

int ledger_leader_index(struct ledger_client *c, struct dr_error *err)
{
	json_t *st = NULL;
	const char *addr;
	int idx;

	if (ledger_cluster_status(c, &st, err) != 0)
		return -1;
	addr = json_string_value(json_object_get(json_object_get(st, "leader"), "address"));
	if (!addr) {
		json_decref(st);
		return dr_error_set(err, "the cluster reports no leader");
	}
	idx = find_node(c, addr);
	if (idx < 0)
		idx = leader_behind_proxy(c);
	if (idx < 0)
		dr_error_set(err, "leader '%s' is not one of the client's nodes", addr);
	json_decref(st);
	return idx;
}

json_t *ledger_member_by_id(const json_t *members, json_int_t id)
{
	size_t i;
	json_t *m;

	json_array_foreach((json_t *)members, i, m)
		if (json_integer_value(json_object_get(m, "id")) == id)
			return m;
	return NULL;
}

struct one_client {
	const char *client_id;
	ledger_entry_fn fn;
	void *payload;
};

static void of_one_client(const json_t *entry, void *payload)
{
	struct one_client *o = payload;
	const char *cid = json_string_value(json_object_get(entry, "client_id"));

	if (cid && strcmp(cid, o->client_id) == 0)
		o->fn(entry, o->payload);
}

int ledger_read_client(struct ledger_client *c, const char *client_id, ledger_entry_fn fn,
		       void *payload, struct dr_error *err)
{
	struct one_client o = { client_id, fn, payload };

	if (c->opts.api == LEDGER_API_V1) {
		struct v1_each e = { fn, payload };

		return v1_read_all(c, &c->scope, client_id, v1_entry, &e, err);
	}
	return ledger_read_each(c, of_one_client, &o, err);
}

int ledger_read_each(struct ledger_client *c, ledger_entry_fn fn, void *payload,
		     struct dr_error *err)
{
	json_int_t from = 1;
	int leader, tries = 0;

	if (c->opts.api == LEDGER_API_V1) {
		struct v1_each e = { fn, payload };

		return v1_read_all(c, &c->scope, NULL, v1_entry, &e, err);
	}
	leader = ledger_leader_index(c, err);
	if (leader < 0)
		return -1;
	for (;;) {
		json_t *req = json_pack("{s:I, s:i}", "from_index", from, "limit", 1000);
		json_t *resp = NULL, *page, *e;
		enum ledger_code code = LEDGER_CODE_COUNT;
		size_t i;
		int rc = ledger_call(c, leader, LEDGER_SVC_LEDGER "/Read", req, &resp, &code, err);

		json_decref(req);
		if (rc != 0 || code != LEDGER_OK) {
			const char *l = json_string_value(json_object_get(resp, "leader"));
			int next = find_node(c, l);

			if (rc == 0)
				dr_error_set(err, "Read on '%s' answered %s: %s",
					     ledger_client_address(c, (size_t)leader), ledger_code_name(code),
					     json_string_value(json_object_get(resp, "message")));
			json_decref(resp);
			if (++tries > 20)
				return -1;
			clock_sleep_ns(50 * NS_PER_MS);
			leader = next >= 0 ? next : (leader + 1) % (int)c->n;
			continue;
		}
		page = json_object_get(resp, "entries");
		json_array_foreach(page, i, e)
			fn(e, payload);
		/* Pages are by index and hidden entries leave holes: continue
		 * after the last entry returned, not after from + limit. */
		if (json_array_size(page) == 0) {
			json_decref(resp);
			break;
		}
		from = json_integer_value(json_object_get(json_array_get(page, json_array_size(page) - 1),
							  "index")) + 1;
		if (from > json_integer_value(json_object_get(resp, "last_index"))) {
			json_decref(resp);
			break;
		}
		json_decref(resp);
	}
	return 0;
}

static void append_entry(const json_t *entry, void *payload)
{
	json_array_append((json_t *)payload, (json_t *)entry);
}

int ledger_read_all(struct ledger_client *c, json_t **entries, struct dr_error *err)
{
	json_t *all = json_array();

	*entries = NULL;
	if (ledger_read_each(c, append_entry, all, err) != 0) {
		json_decref(all);
		return -1;
	}
	*entries = all;
	return 0;
}

int ledger_transfer_leader(struct ledger_client *c, int64_t node_id, struct dr_error *err)
{
	int v1 = c->opts.api == LEDGER_API_V1;
	int leader = ledger_leader_index(c, err);
	json_t *req, *resp = NULL;
	enum ledger_code code = LEDGER_CODE_COUNT;
	int rc;

	if (leader < 0)
		return -1;
	req = v1 ? json_pack("{s:I}", "target_node_id", (json_int_t)node_id)
		 : json_pack("{s:I}", "node_id", (json_int_t)node_id);
	rc = ledger_call(c, leader, v1 ? LEDGER_V1_TRANSFER : LEDGER_SVC_ADMIN "/RequestLeaderTransfer",
			 req, &resp, &code, err);
	json_decref(req);
	if (rc == 0 && code != LEDGER_OK)
		rc = dr_error_set(err, "%s on '%s' answered %s: %s",
				  v1 ? "TransferLeadership" : "RequestLeaderTransfer",
				  ledger_client_address(c, (size_t)leader), ledger_code_name(code),
				  json_string_value(json_object_get(resp, "message")) ?: "");
	else if (rc == 0 && v1 && json_is_false(json_object_get(resp, "success")))
		rc = dr_error_set(err, "TransferLeadership to node %lld refused: %s", (long long)node_id,
				  json_string_value(json_object_get(resp, "message")) ?: "(no message)");
	json_decref(resp);
	return rc;
}
