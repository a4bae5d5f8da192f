/* ledger.v1 ReadService/ListEntities: one page of an (organization,
 * vault)'s entities in key order.  LINEARIZABLE reads run on the leader
 * behind a Raft barrier (a follower answers NOT_LEADER); EVENTUAL (and
 * UNSPECIFIED) read this node's applied state.  The page is chosen on the
 * loop -- its rows copied, keys included, values by reference (an
 * entity's value never changes once set: entities.h) -- and encoded off
 * it (issue 17: answers built on the loop cost the leader its
 * leadership). */
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/svc.h"
#include "ledger/daemon/svc_v1.h"

/* A chosen page: copies of its entities, owned. */
struct list_view {
	struct ledger_entity *rows;
	size_t n;
	uint64_t height;
	char *next_token;   /* NULL: no more */
};

static void list_view_free(void *arg)
{
	struct list_view *v = arg;

	for (size_t i = 0; i < v->n; i++) {
		free(v->rows[i].key);
		ledger_value_unref(v->rows[i].value);
	}
	free(v->rows);
	free(v->next_token);
	free(v);
}

static json_t *entity_json(const struct ledger_entity *x)
{
	char *b64 = b64_encode(x->value, x->value_len);
	json_t *o = json_pack("{s:s, s:s, s:I}", "key", x->key, "value", b64, "version",
			      (json_int_t)x->version);

	free(b64);
	if (x->expires_at)
		json_object_set_new(o, "expires_at", json_sprintf("%llu",
								  (unsigned long long)x->expires_at));
	return o;
}

/* Helper thread: base64 and JSON of the page. */
static void list_build(struct ledgerd_call *c, void *arg)
{
	struct list_view *v = arg;
	json_t *ents = json_array(), *resp;

	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(ents, entity_json(&v->rows[i]));
	resp = json_pack("{s:o, s:I}", "entities", ents, "block_height", (json_int_t)v->height);
	if (v->next_token)
		json_object_set_new(resp, "next_page_token", json_string(v->next_token));
	ledgerd_built_ok(c, resp);
	list_view_free(v);
}

static void list_now(struct ledgerd_node *n, struct ledgerd_call *c)
{
	const json_t *req = c->req;
	const char *token = json_string_value(json_object_get(req, "page_token"));
	struct ledger_list_query q;
	struct v1_page page = { 0 };
	struct dr_error err = DR_ERROR_INIT;
	const struct ledger_entity **found;
	struct list_view *v;
	uint64_t limit = 0;
	size_t count;
	int more = 0;

	memset(&q, 0, sizeof q);
	v1_slug(&q.org, req, "organization");
	v1_slug(&q.vault, req, "vault");
	v1_u64(&limit, json_object_get(req, "limit"));
	q.limit = limit == 0 ? LEDGER_V1_LIST_DEFAULT
			     : limit > LEDGER_V1_LIST_MAX ? LEDGER_V1_LIST_MAX : (size_t)limit;
	q.prefix = json_string_value(json_object_get(req, "key_prefix"));
	q.include_expired = json_is_true(json_object_get(req, "include_expired"));
	q.now_s = (uint64_t)(clock_wall_ns() / NS_PER_SEC);
	q.max_bytes = LEDGER_V1_LIST_MAX_BYTES;
	if (token) {
		if (v1_page_token_decode(&page, token, &err) != 0) { /* validated already */
			ledgerd_call_error(n, c, LEDGER_INVALID_ARGUMENT, "%s", err.msg);
			return;
		}
		q.after = page.last_key;
	}
	found = xcalloc(q.limit, sizeof *found);
	count = ledger_entities_list(&n->ledger.ents, &q, found, &more);
	v = xcalloc(1, sizeof *v);
	v->rows = xcalloc(count ? count : 1, sizeof *v->rows);
	for (size_t i = 0; i < count; i++) {
		v->rows[i] = *found[i];
		v->rows[i].key = xstrdup(found[i]->key);
		v->rows[i].value = ledger_value_ref(found[i]->value);
	}
	v->n = count;
	v->height = n->ledger.ents.height;
	if (more) {
		struct v1_page next = { q.org, q.vault, (char *)(q.prefix ? q.prefix : ""),
					q.include_expired, found[count - 1]->key };

		v->next_token = v1_page_token_encode(&next);
	}
	free(found);
	v1_page_release(&page);
	ledgerd_call_build(n, c, list_build, v, list_view_free);
}

static void barrier_cb(struct raft_barrier *req, int status)
{
	struct ledgerd_call *c = req->data;
	struct ledgerd_node *n = c->node;

	if (ledgerd_call_callback(n, c))
		return;
	if (status != 0) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, "read barrier failed: %s",
				   raft_strerror(status));
		return;
	}
	list_now(n, c);
}

void ledgerd_run_v1_list(struct ledgerd_node *n, struct ledgerd_call *c)
{
	const char *consistency = json_string_value(json_object_get(c->req, "consistency"));

	if (!consistency || strcmp(consistency, "READ_CONSISTENCY_LINEARIZABLE") != 0) {
		list_now(n, c);
		return;
	}
	ledgerd_read_barrier(n, c, barrier_cb);
}
