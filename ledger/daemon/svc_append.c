/* Ledger/Append (loop thread), with group commit.
 *
 * One pass of the loop over its queue of calls (node.c, on_wake) collects
 * the appends it runs into the node's batch; the end of the pass proposes
 * them together as one Raft entry (ledger_cmd_batch).  A lone append is
 * proposed as it always was.  So under load -- calls queue up while the
 * loop is busy with the previous entry -- one entry, one disk write and
 * one AppendEntries message per follower carry many appends, and with a
 * single client nothing waits for company: the batch is whatever is
 * already queued, never a timer.
 *
 * Each call keeps its own answer: once the entry is applied, every call
 * finds its entry by (client_id, sequence), which also answers a retry of
 * an append that was applied before with the original entry. */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/frame.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/svc.h"

/* One proposed batch: libraft's request and the calls waiting for it. */
struct append_batch {
	struct raft_apply apply;
	struct ledgerd_node *node;
	size_t n;
	struct ledgerd_call *calls[LEDGERD_BATCH_MAX];
};

/* Answer c from the applied state; status is the apply's. */
static void append_answer(struct ledgerd_node *n, struct ledgerd_call *c, int status)
{
	const char *client_id = json_string_value(json_object_get(c->req, "client_id")) ?: "";
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(c->req, "sequence"));
	const struct ledger_entry *e;

	if (!ledgerd_write_applied(n, c, status))
		return;
	e = ledger_fsm_find(&n->ledger, client_id, seq);
	if (!e) {
		ledgerd_call_error(n, c, LEDGER_UNKNOWN_OUTCOME, "entry was applied but not found");
		return;
	}
	ledgerd_call_ok(n, c, json_pack("{s:I, s:I}", "index", (json_int_t)e->index, "term",
					(json_int_t)e->term));
}

static void single_cb(struct raft_apply *req, int status, void *result)
{
	struct ledgerd_call *c = req->data;

	(void)result;
	append_answer(c->node, c, status);
}

static void batch_cb(struct raft_apply *req, int status, void *result)
{
	struct append_batch *b = req->data;

	(void)result;
	for (size_t i = 0; i < b->n; i++)
		append_answer(b->node, b->calls[i], status);
	free(b);
}

/* Propose the batch's commands (taken) as one entry for its calls. */
static void propose_batch(struct ledgerd_node *n, struct ledgerd_call **calls, char **cmds,
			  size_t k)
{
	struct append_batch *b;
	struct raft_buffer buf;
	char *cmd = ledger_cmd_batch(cmds, k);
	int rv;

	for (size_t i = 0; i < k; i++)
		free(cmds[i]);
	rv = ledgerd_frame_encode(&buf.base, &buf.len, cmd, strlen(cmd));
	free(cmd);
	if (rv != 0) { /* cannot happen below LEDGERD_BATCH_MAX_BYTES; answered anyway */
		for (size_t i = 0; i < k; i++)
			ledgerd_call_error(n, calls[i], LEDGER_UNAVAILABLE, "cannot append: out of memory");
		return;
	}
	b = xcalloc(1, sizeof(*b));
	b->node = n;
	b->n = k;
	b->apply.data = b;
	for (size_t i = 0; i < k; i++) {
		b->calls[i] = calls[i];
		calls[i]->pending++;
	}
	rv = raft_apply(&n->raft, &b->apply, &buf, 1, batch_cb);
	if (rv != 0) {
		raft_free(buf.base); /* not taken by raft (notes, gotcha 5) */
		for (size_t i = 0; i < k; i++) {
			calls[i]->pending--;
			if (rv == RAFT_NOTLEADER)
				ledgerd_call_not_leader(n, calls[i]);
			else
				ledgerd_call_error(n, calls[i], LEDGER_UNAVAILABLE, "cannot append: %s",
						   raft_strerror(rv));
		}
		free(b);
		return;
	}
	for (size_t i = 0; i < k; i++)
		calls[i]->wrote = 1;
	ledgerd_ring_record(n, b->apply.index);
	n->appends_batched += k;
	n->append_batches++;
}

void ledgerd_append_flush(struct ledgerd_node *n)
{
	size_t k = n->batch_n;

	if (k == 0)
		return;
	n->batch_n = 0;
	n->batch_bytes = 0;
	if (k == 1)
		ledgerd_propose(n, n->batch_calls[0], n->batch_cmds[0], single_cb, "entry", "append");
	else
		propose_batch(n, n->batch_calls, n->batch_cmds, k);
}

void ledgerd_run_append(struct ledgerd_node *n, struct ledgerd_call *c)
{
	const char *client_id = json_string_value(json_object_get(c->req, "client_id"));
	/* Absent at their proto3 zero value (svc_validate.c): "" and 0. */
	const char *payload = json_string_value(json_object_get(c->req, "payload")) ?: "";
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(c->req, "sequence"));
	const struct ledger_entry *e;
	char *cmd;
	size_t len;

	if (!ledgerd_write_ready(n, c))
		return;
	e = ledger_fsm_find(&n->ledger, client_id, seq);
	if (e) { /* already applied, hence committed: the original answer */
		ledgerd_call_ok(n, c, json_pack("{s:I, s:I}", "index", (json_int_t)e->index, "term",
						(json_int_t)e->term));
		return;
	}
	cmd = ledger_cmd_append(client_id, seq, payload, n->raft.current_term,
				clock_wall_ns() / NS_PER_MS);
	len = strlen(cmd);
	if (n->batch_n == LEDGERD_BATCH_MAX ||
	    (n->batch_n > 0 && n->batch_bytes + len > LEDGERD_BATCH_MAX_BYTES))
		ledgerd_append_flush(n);
	n->batch_calls[n->batch_n] = c;
	n->batch_cmds[n->batch_n++] = cmd;
	n->batch_bytes += len;
}
