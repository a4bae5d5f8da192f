/* ledgerd client (see client.h). */
#include "ledger/client/client.h"

#include <string.h>

#include "common/clock.h"
#include "common/http_pool.h"
#include "common/strbuf.h"
#include "ledger/client/wire.h"

struct ledger_client {
	struct http_pool *pool;   /* one keep-alive connection per node */
	size_t n;
	int current;
	struct ledger_client_opts opts;
};

int ledger_client_new(struct ledger_client **out, const char *const addresses[], size_t n,
		      const struct ledger_client_opts *opts, struct dr_error *err)
{
	struct ledger_client_opts defaults = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_client *c;
	char *token_header = NULL;
	const char *headers[2] = { NULL, NULL };
	int rc;

	*out = NULL;
	if (n == 0)
		return dr_error_set(err, "ledger client needs at least one node address");
	c = xcalloc(1, sizeof *c);
	c->opts = opts ? *opts : defaults;
	if (c->opts.timeout_ms <= 0)
		c->opts.timeout_ms = defaults.timeout_ms;
	if (c->opts.connect_timeout_ms <= 0)
		c->opts.connect_timeout_ms = defaults.connect_timeout_ms;
	if (c->opts.admin_timeout_ms <= 0)
		c->opts.admin_timeout_ms = defaults.admin_timeout_ms;
	c->opts.admin_token = NULL; /* the caller's; only the header keeps it */
	if (opts && opts->admin_token)
		headers[0] = token_header = xasprintf("Authorization: Bearer %s", opts->admin_token);
	c->n = n;
	rc = http_pool_new(&c->pool, addresses, n, headers, err);
	free(token_header);
	if (rc != 0) {
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void ledger_client_free(struct ledger_client *c)
{
	if (!c)
		return;
	http_pool_free(c->pool);
	free(c);
}

size_t ledger_client_size(const struct ledger_client *c)
{
	return c->n;
}

const char *ledger_client_address(const struct ledger_client *c, size_t node)
{
	return http_pool_address(c->pool, node);
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
	return http_pool_find(c->pool, address);
}

static void next_node(struct ledger_client *c)
{
	c->current = (int)(((size_t)c->current + 1) % c->n);
}

int ledger_append(struct ledger_client *c, const char *client_id, uint64_t sequence,
		  const char *payload, struct ledger_append_result *res)
{
	json_t *req = json_pack("{s:s, s:I, s:s}", "client_id", client_id, "sequence",
				(json_int_t)sequence, "payload", payload);
	char *body = json_dumps(req, JSON_COMPACT);
	int64_t start = clock_mono_ns();
	struct http_answer ans;
	json_t *resp = NULL;
	const char *code, *msg, *leader;
	int node = c->current;

	json_decref(req);
	memset(res, 0, sizeof *res);
	res->node = node;
	http_pool_post(c->pool, (size_t)node, LEDGER_SVC_LEDGER "/Append", body, c->opts.timeout_ms,
		       c->opts.connect_timeout_ms, &ans);
	free(body);
	res->latency_ns = clock_mono_ns() - start;
	res->http_status = ans.status;
	if (!ans.ok) {
		str_copy(res->code, sizeof res->code, "TRANSPORT");
		str_copy(res->message, sizeof res->message, ans.error);
		res->refused = ans.refused;
		res->timed_out = ans.timed_out;
		res->outcome = res->refused ? LEDGER_OUTCOME_DEFINITE_FAILURE : LEDGER_OUTCOME_UNKNOWN;
		next_node(c);
		return -1;
	}
	resp = json_loadb(ans.body, ans.len, 0, NULL);
	if (res->http_status == 200 && resp && json_is_integer(json_object_get(resp, "index"))) {
		res->outcome = LEDGER_OUTCOME_OK;
		res->index = (uint64_t)json_integer_value(json_object_get(resp, "index"));
		res->term = (uint64_t)json_integer_value(json_object_get(resp, "term"));
		json_decref(resp);
		return 0;
	}
	code = json_string_value(json_object_get(resp, "code"));
	msg = json_string_value(json_object_get(resp, "message"));
	leader = json_string_value(json_object_get(resp, "leader"));
	str_copy(res->code, sizeof res->code, code ? code : "UNKNOWN_OUTCOME");
	str_copy(res->message, sizeof res->message, msg ? msg : "unparseable answer");
	if (leader)
		str_copy(res->leader, sizeof res->leader, leader);
	if (!code || strcmp(code, "UNKNOWN_OUTCOME") == 0) {
		res->outcome = LEDGER_OUTCOME_UNKNOWN;
	} else {
		res->outcome = LEDGER_OUTCOME_DEFINITE_FAILURE;
		if (strcmp(code, "NOT_LEADER") == 0) {
			int l = find_node(c, leader);
			if (l >= 0 && l != node)
				c->current = l;
			else
				next_node(c);
		}
	}
	json_decref(resp);
	return -1;
}

int ledger_call(struct ledger_client *c, int node, const char *method, const json_t *req,
		json_t **resp, long *http_status, struct dr_error *err)
{
	*resp = NULL;
	if (node < 0)
		node = c->current;
	if ((size_t)node >= c->n)
		return dr_error_set(err, "no node %d (client has %zu)", node, c->n);
	return http_pool_call(c->pool, (size_t)node, method, req, c->opts.admin_timeout_ms,
			      c->opts.connect_timeout_ms, resp, http_status, err);
}

int ledger_cluster_status(struct ledger_client *c, json_t **out, struct dr_error *err)
{
	struct dr_error last = DR_ERROR_INIT;
	size_t i;

	*out = NULL;
	for (i = 0; i < c->n; i++) {
		int node = (int)(((size_t)c->current + i) % c->n);
		json_t *resp = NULL;
		long status = 0;
		if (ledger_call(c, node, LEDGER_SVC_ADMIN "/GetClusterStatus", NULL, &resp, &status,
				&last) != 0)
			continue;
		if (status == 200) {
			*out = resp;
			return 0;
		}
		dr_error_set(&last, "GetClusterStatus on '%s' answered HTTP %ld", ledger_client_address(c, (size_t)node),
			     status);
		json_decref(resp);
	}
	return dr_error_set(err, "no node answered GetClusterStatus: %s", last.msg);
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

int ledger_read_each(struct ledger_client *c, ledger_entry_fn fn, void *payload,
		     struct dr_error *err)
{
	json_int_t from = 1;
	int leader = ledger_leader_index(c, err), tries = 0;

	if (leader < 0)
		return -1;
	for (;;) {
		json_t *req = json_pack("{s:I, s:i}", "from_index", from, "limit", 1000);
		json_t *resp = NULL, *page, *e;
		long status = 0;
		size_t i;
		int rc = ledger_call(c, leader, LEDGER_SVC_LEDGER "/Read", req, &resp, &status, err);
		json_decref(req);
		if (rc != 0 || status != 200) {
			const char *l = json_string_value(json_object_get(resp, "leader"));
			int next = find_node(c, l);
			if (rc == 0)
				dr_error_set(err, "Read on '%s' answered HTTP %ld: %s", ledger_client_address(c, (size_t)leader),
					     status, json_string_value(json_object_get(resp, "message")));
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
