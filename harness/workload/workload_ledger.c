#include "harness/workload/workload_ledger.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"

static void ledger_conn_append(struct workload_conn *c, const char *client_id, uint64_t sequence,
			       const char *payload, struct ledger_append_result *res)
{
	ledger_append(c->impl, client_id, sequence, payload, res);
}

struct refs {
	const char *client_id;
	struct ledger_entry_ref *items;
	size_t n, alloc;
};

static void collect_ref(const json_t *e, void *payload)
{
	struct refs *r = payload;
	const char *cid = json_string_value(json_object_get(e, "client_id"));

	if (!cid || strcmp(cid, r->client_id) != 0)
		return;
	if (r->n == r->alloc) {
		r->alloc = r->alloc ? r->alloc * 2 : 4096;
		r->items = xrealloc(r->items, r->alloc * sizeof(*r->items));
	}
	r->items[r->n].sequence = (uint64_t)json_integer_value(json_object_get(e, "sequence"));
	r->items[r->n].index = (uint64_t)json_integer_value(json_object_get(e, "index"));
	r->n++;
}

/* Page by page into the compact array: an hour-long drill's ledger never
 * sits in memory as JSON. */
static int ledger_conn_read_all(struct workload_conn *c, const char *client_id,
				struct ledger_entry_ref **out, size_t *n, struct dr_error *err)
{
	struct refs r = { client_id, NULL, 0, 0 };

	if (ledger_read_client(c->impl, client_id, collect_ref, &r, err) != 0) {
		free(r.items);
		return -1;
	}
	*out = r.items ? r.items : xcalloc(1, sizeof(**out));
	*n = r.n;
	return 0;
}

static void ledger_conn_close(struct workload_conn *c)
{
	if (!c)
		return;
	ledger_client_free(c->impl);
	free(c);
}

int workload_ledger_connect(struct workload_conn **out, char *const *endpoints, size_t n,
			    int64_t call_timeout_ns, enum ledger_api api,
			    const struct ledger_v1_scope *v1_scope, const char *admin_token,
			    struct dr_error *err)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_client *client = NULL;
	struct workload_conn *c;

	opts.timeout_ms = (long)(call_timeout_ns / NS_PER_MS);
	/* Reading the whole ledger back pages through it: give that room. */
	opts.admin_timeout_ms = 10000;
	opts.api = api;
	opts.v1_scope = v1_scope;
	opts.admin_token = admin_token;
	if (ledger_client_new(&client, (const char *const *)endpoints, n, &opts, err) != 0)
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->impl = client;
	c->append = ledger_conn_append;
	c->read_all = ledger_conn_read_all;
	c->close = ledger_conn_close;
	*out = c;
	return 0;
}
