/* Ledger/Read and Health/Check, and what every write checks and does first
 * (loop thread).  Ledger/Append: ledger/daemon/svc_append.c. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/frame.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/svc.h"
#include "ledger/daemon/svc_v1.h"

int ledgerd_leader_ready(struct ledgerd_node *n, struct ledgerd_call *c)
{
	if (n->handing_over) {
		/* raft would still take it, but a write the old leader acknowledged
		 * during the handover would only make the client wait; answered
		 * NOT_LEADER naming the new leader once there is one. */
		c->parked = 1;
		return 0;
	}
	if (raft_state(&n->raft) != RAFT_LEADER) {
		ledgerd_call_not_leader(n, c);
		return 0;
	}
	if (!n->ready) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE,
				   "leader was just elected and is not ready yet; retry");
		return 0;
	}
	return 1;
}

int ledgerd_write_ready(struct ledgerd_node *n, struct ledgerd_call *c)
{
	/* The window ends exactly when it said, not at the next loop tick that
	 * clears the flag: drills measure this outage to the millisecond. */
	if (n->refusing && clock_mono_ns() < n->refuse_until_ns) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE,
				   "writes are refused for a while (Debug/RefuseWrites)");
		return 0;
	}
	/* Only where the write would be taken: a follower still names the
	 * leader, whatever its own disk. */
	return ledgerd_leader_ready(n, c) && !ledgerd_disk_refuse(n, c);
}

int ledgerd_propose(struct ledgerd_node *n, struct ledgerd_call *c, char *cmd, raft_apply_cb cb,
		    const char *noun, const char *verb)
{
	struct raft_buffer buf;
	int rv = ledgerd_frame_encode(&buf.base, &buf.len, cmd, strlen(cmd));

	free(cmd);
	if (rv != 0) {
		ledgerd_call_error(n, c, LEDGER_INVALID_ARGUMENT, "%s is too large", noun);
		return -1;
	}
	c->apply.data = c;
	c->pending++;
	rv = raft_apply(&n->raft, &c->apply, &buf, 1, cb);
	if (rv != 0) {
		c->pending--;
		raft_free(buf.base); /* not taken by raft (notes, gotcha 5) */
		if (rv == RAFT_NOTLEADER)
			ledgerd_call_not_leader(n, c);
		else
			ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, "cannot %s: %s", verb,
					   raft_strerror(rv));
		return -1;
	}
	c->wrote = 1;
	ledgerd_ring_record(n, c->apply.index);
	return 0;
}

int ledgerd_write_applied(struct ledgerd_node *n, struct ledgerd_call *c, int status)
{
	if (ledgerd_call_callback(n, c))
		return 0;
	if (status != 0) {
		/* The entry may still commit (notes, gotcha 6). */
		ledgerd_call_error(n, c, LEDGER_UNKNOWN_OUTCOME, "outcome unknown: %s",
				   raft_strerror(status));
		return 0;
	}
	return 1;
}

/* A page of Read, chosen on the loop and answered off it: the chosen
 * entries' values (their strings kept valid by keep, ledger/daemon/fsm.h)
 * and the ledger's last index when the page was chosen. */
struct read_view {
	struct ledger_fsm_keep *keep;
	struct ledger_entry *rows;
	size_t n;
	uint64_t last;
};

static void read_view_free(void *arg)
{
	struct read_view *v = arg;

	ledger_fsm_unkeep(v->keep);
	free(v->rows);
	free(v);
}

/* Helper thread: the JSON of the page (jansson copies and checks every
 * payload: the expensive part of a page of large entries). */
static void read_build(struct ledgerd_call *c, void *arg)
{
	struct read_view *v = arg;
	json_t *entries = json_array();

	for (size_t i = 0; i < v->n; i++) {
		const struct ledger_entry *e = &v->rows[i];

		json_array_append_new(entries, json_pack("{s:I, s:I, s:s, s:I, s:s}", "index",
							 (json_int_t)e->index, "term", (json_int_t)e->term,
							 "client_id", e->client_id, "sequence",
							 (json_int_t)e->sequence, "payload", e->payload));
	}
	ledgerd_built_ok(c, json_pack("{s:o, s:I}", "entries", entries, "last_index",
				      (json_int_t)v->last));
	read_view_free(v);
}

static void read_cb(struct raft_barrier *req, int status)
{
	struct ledgerd_call *c = req->data;
	struct ledgerd_node *n = c->node;
	json_int_t from = 1, limit = LEDGER_READ_DEFAULT_LIMIT;
	struct read_view *v;
	uint64_t i;
	size_t bytes = 0, alloc = 0;

	if (ledgerd_call_callback(n, c))
		return;
	if (status != 0) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, "read barrier failed: %s",
				   raft_strerror(status));
		return;
	}
	if (json_object_get(c->req, "from_index"))
		from = json_integer_value(json_object_get(c->req, "from_index"));
	if (json_object_get(c->req, "limit"))
		limit = json_integer_value(json_object_get(c->req, "limit"));
	/* On the loop: only which entries, by the same byte cap (the page's
	 * row structs with their sizes; no payload is read or copied). */
	v = xcalloc(1, sizeof *v);
	v->last = ledger_fsm_last_index(&n->ledger);
	for (i = (uint64_t)from; i <= v->last && v->n < (size_t)limit; i++) {
		const struct ledger_entry *e = ledger_fsm_entry(&n->ledger, i);

		if (e->hidden)
			continue;
		if (v->n > 0 && bytes + e->size > LEDGER_READ_MAX_BYTES)
			break; /* the client asks again from here */
		bytes += e->size;
		if (v->n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			v->rows = xrealloc(v->rows, alloc * sizeof *v->rows);
		}
		v->rows[v->n++] = *e;
	}
	v->keep = ledger_fsm_keep(&n->ledger);
	ledgerd_call_build(n, c, read_build, v, read_view_free);
}

void ledgerd_read_barrier(struct ledgerd_node *n, struct ledgerd_call *c, raft_barrier_cb cb)
{
	int rv;

	/* A barrier is a log entry: a full disk cannot take it either. */
	if (!ledgerd_leader_ready(n, c) || ledgerd_disk_refuse(n, c))
		return;
	/* A barrier makes the read linearizable: everything committed before
	 * the call started is applied when it fires. */
	c->barrier.data = c;
	c->pending++;
	rv = raft_barrier(&n->raft, &c->barrier, cb);
	if (rv != 0) {
		c->pending--;
		if (rv == RAFT_NOTLEADER)
			ledgerd_call_not_leader(n, c);
		else
			ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, "cannot read: %s", raft_strerror(rv));
	}
}

void ledgerd_run_read(struct ledgerd_node *n, struct ledgerd_call *c)
{
	ledgerd_read_barrier(n, c, read_cb);
}

json_t *ledgerd_health_stopping(const struct ledgerd_route *route)
{
	if (route->run == ledgerd_run_v1_health)
		return json_pack("{s:s, s:s}", "status", "HEALTH_STATUS_UNAVAILABLE", "message",
				 "node is shutting down");
	return json_pack("{s:s}", "status", "NOT_SERVING");
}

void ledgerd_run_health(struct ledgerd_node *n, struct ledgerd_call *c)
{
	raft_id lid = 0;
	const char *addr = NULL;

	if (n->stop_requested) { /* not ready: drained, whatever it knows */
		ledgerd_call_ok(n, c, ledgerd_health_stopping(c->route));
		return;
	}
	raft_leader(&n->raft, &lid, &addr);
	ledgerd_call_ok(n, c, json_pack("{s:s}", "status", lid ? "SERVING" : "NOT_SERVING"));
}
