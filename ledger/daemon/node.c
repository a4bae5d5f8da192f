/* ledgerd node: libraft on the libuv loop, the call queue, the tick that
 * follows leadership, and clean shutdown.  See ledger/daemon/node.h. */
#include "ledger/daemon/node.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "ledger/daemon/frame.h"
#include "ledger/daemon/election.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/snapfile.h"
#include "ledger/daemon/svc.h"

/* How long a call waits for the loop before it is answered without it. */
#define CALL_WAIT_NS (30 * NS_PER_SEC)
/* How often the watchdog looks for calls past CALL_WAIT_NS: a call may
 * wait that much longer.  (No wake-up per call: a busy node's calls come
 * and go without the watchdog ever running.) */
#define WATCHDOG_PERIOD_NS (1 * NS_PER_SEC)
/* How long shutdown waits for the node's own log writes before it closes
 * raft anyway (see close_raft_when_stored): a stuck disk must not keep
 * SIGTERM from stopping the node. */
#define CLOSE_DRAIN_NS (5 * NS_PER_SEC)

/* ---- state machine callbacks (loop thread) ---- */

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
	struct ledgerd_node *n = fsm->data;
	struct dr_error err = DR_ERROR_INIT;
	const void *data;
	size_t len;
	uint64_t index = 0;
	int rv;

	*result = NULL;
	if (ledgerd_frame_decode(&data, &len, buf->base, buf->len) != 0) {
		ledgerd_log("skipping a malformed entry frame of %zu bytes", buf->len);
		return 0;
	}
	rv = ledger_fsm_apply(&n->ledger, &index, data, len, &err);
	if (rv == LEDGER_FSM_UNKNOWN_OP) {
		/* A newer ledgerd proposed it (a cluster running two versions):
		 * skipping it would make this replica's ledger differ from the
		 * others' for good.  Stop instead; the log keeps the entry for
		 * a ledgerd that knows it. */
		ledgerd_log("FATAL: entry %llu holds a command this ledgerd does not know (%s): "
			    "every node of a cluster must run the same ledgerd; stopping",
			    (unsigned long long)n->raft.last_applied + 1, err.msg);
		exit(70);
	}
	if (rv != 0) {
		ledgerd_log("skipping a malformed command: %s", err.msg);
		return 0;
	}
	*result = (void *)(uintptr_t)index;
	return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n_bufs)
{
	struct ledgerd_node *n = fsm->data;
	size_t len = 0;
	char *text = ledger_fsm_serialize(&n->ledger, &len);

	if (!text)
		return RAFT_NOMEM;
	*bufs = raft_malloc(sizeof **bufs);
	if (!*bufs) {
		free(text);
		return RAFT_NOMEM;
	}
	(*bufs)[0].base = raft_malloc(len ? len : 1);
	if (!(*bufs)[0].base) {
		raft_free(*bufs);
		free(text);
		return RAFT_NOMEM;
	}
	memcpy((*bufs)[0].base, text, len);
	(*bufs)[0].len = len;
	*n_bufs = 1;
	free(text);
	return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
	struct ledgerd_node *n = fsm->data;
	struct dr_error err = DR_ERROR_INIT;

	if (ledger_fsm_restore(&n->ledger, buf->base, buf->len, &err) != 0) {
		ledgerd_log("cannot restore raft snapshot: %s", err.msg);
		return RAFT_MALFORMED;
	}
	ledgerd_log("restored state from a raft snapshot: %" PRIu64 " entries, %zu entities at block height %" PRIu64,
		    ledger_fsm_last_index(&n->ledger), n->ledger.ents.n_entities, n->ledger.ents.height);
	raft_free(buf->base); /* the FSM owns the buffer on success */
	return 0;
}

/* ---- calls ---- */

static void call_free(struct ledgerd_call *c)
{
	if (c->build_arg && c->build_release)
		c->build_release(c->build_arg);
	json_decref(c->req);
	json_decref(c->resp);
	json_decref(c->supervisor_msg);
	free(c->forward_addr);
	free(c);
}

void ledgerd_call_unref(struct ledgerd_node *n, struct ledgerd_call *c)
{
	int last;

	pthread_mutex_lock(&n->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&n->mu);
	if (last)
		call_free(c);
}

static void inflight_remove(struct ledgerd_node *n, struct ledgerd_call *c)
{
	if (c->inflight_prev)
		c->inflight_prev->inflight_next = c->inflight_next;
	else if (n->inflight == c)
		n->inflight = c->inflight_next;
	if (c->inflight_next)
		c->inflight_next->inflight_prev = c->inflight_prev;
	c->inflight_prev = c->inflight_next = NULL;
}

/* The loop drops its reference once the call is answered and no libraft
 * callback still points at it. */
static void call_maybe_release(struct ledgerd_node *n, struct ledgerd_call *c)
{
	if (!c->answered || c->pending > 0)
		return;
	inflight_remove(n, c);
	ledgerd_call_unref(n, c);
}

/* mu held: take c off the list of calls waiting without a thread. */
static void waiting_remove(struct ledgerd_node *n, struct ledgerd_call *c)
{
	if (c->wait_prev)
		c->wait_prev->wait_next = c->wait_next;
	else if (n->waiting_head == c)
		n->waiting_head = c->wait_next;
	if (c->wait_next)
		c->wait_next->wait_prev = c->wait_prev;
	else if (n->waiting_tail == c)
		n->waiting_tail = c->wait_prev;
	c->wait_prev = c->wait_next = NULL;
}

static void call_answer(struct ledgerd_node *n, struct ledgerd_call *c)
{
	ledgerd_call_done_fn done = NULL;

	pthread_mutex_lock(&n->mu);
	c->done = 1;
	if (!c->timed_out) {
		waiting_remove(n, c);
		done = c->done_fn;
	}
	pthread_mutex_unlock(&n->mu);
	c->answered = 1;
	call_maybe_release(n, c);
	/* The submitter's reference keeps c alive through done. */
	if (done)
		done(n, c, 0);
}

int ledgerd_call_callback(struct ledgerd_node *n, struct ledgerd_call *c)
{
	c->pending--;
	if (c->answered) {
		call_maybe_release(n, c);
		return 1;
	}
	return 0;
}

void ledgerd_call_ok(struct ledgerd_node *n, struct ledgerd_call *c, json_t *resp)
{
	if (c->answered) {
		json_decref(resp);
		return;
	}
	c->http_status = 200;
	c->resp = resp;
	c->action = CALL_ANSWER;
	call_answer(n, c);
}

void ledgerd_call_error(struct ledgerd_node *n, struct ledgerd_call *c, enum ledger_code code,
			const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	if (c->answered)
		return;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	c->http_status = ledger_code_http_status(code);
	c->resp = json_pack("{s:s, s:s}", "code", ledger_code_name(code), "message", sb.buf);
	c->action = CALL_ANSWER;
	strbuf_release(&sb);
	call_answer(n, c);
}

void ledgerd_call_not_leader(struct ledgerd_node *n, struct ledgerd_call *c)
{
	raft_id lid = 0;
	const char *laddr = NULL;
	const char *http = NULL;

	if (c->answered)
		return;
	raft_leader(&n->raft, &lid, &laddr);
	if (lid == n->cfg.id) {
		/* A leader that is handing leadership over (a graceful stop, or a
		 * transfer libraft refuses entries during): naming itself would
		 * bring the client straight back. */
		c->http_status = ledger_code_http_status(LEDGER_NOT_LEADER);
		c->resp = json_pack("{s:s, s:s, s:n}", "code", "NOT_LEADER", "message",
				    n->stop_requested ?
				    "this node is shutting down and hands its leadership over; try another node" :
				    "this node is handing its leadership over; try another node",
				    "leader");
		c->action = CALL_ANSWER;
		call_answer(n, c);
		return;
	}
	if (lid)
		http = ledgerd_member_str(n, lid, "address");
	c->http_status = ledger_code_http_status(LEDGER_NOT_LEADER);
	c->resp = json_pack("{s:s, s:s, s:o}", "code", "NOT_LEADER", "message",
			    lid ? "this node is not the leader" : "this node is not the leader and knows no leader",
			    "leader", http ? json_string(http) : json_null());
	if (lid) {
		json_object_set_new(c->resp, "leader_id", json_integer((json_int_t)lid));
		json_object_set_new(c->resp, "leader_term",
				    json_integer((json_int_t)n->raft.current_term));
	}
	c->action = CALL_ANSWER;
	call_answer(n, c);
}

int ledgerd_call_forward_to_leader(struct ledgerd_node *n, struct ledgerd_call *c)
{
	raft_id lid = 0;
	const char *laddr = NULL, *http;

	if (c->forwarded)
		return 0;
	raft_leader(&n->raft, &lid, &laddr);
	if (!lid || lid == n->cfg.id)
		return 0;
	http = ledgerd_member_str(n, lid, "address");
	if (!http)
		return 0;
	c->forward_addr = xstrdup(http);
	c->action = CALL_FORWARD;
	call_answer(n, c);
	return 1;
}

void ledgerd_call_supervisor(struct ledgerd_node *n, struct ledgerd_call *c, json_t *msg)
{
	c->supervisor_msg = msg;
	c->action = CALL_SUPERVISOR;
	call_answer(n, c);
}

void ledgerd_call_build(struct ledgerd_node *n, struct ledgerd_call *c,
			void (*build)(struct ledgerd_call *c, void *arg), void *arg,
			void (*release)(void *arg))
{
	if (c->answered) {
		release(arg);
		return;
	}
	c->build = build;
	c->build_arg = arg;
	c->build_release = release;
	c->action = CALL_BUILD;
	call_answer(n, c);
}

void ledgerd_built_ok(struct ledgerd_call *c, json_t *resp)
{
	json_decref(c->resp);
	c->http_status = 200;
	c->resp = resp;
	c->action = CALL_ANSWER;
}

void ledgerd_built_error(struct ledgerd_call *c, enum ledger_code code, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	json_decref(c->resp);
	c->http_status = ledger_code_http_status(code);
	c->resp = json_pack("{s:s, s:s}", "code", ledger_code_name(code), "message", sb.buf);
	c->action = CALL_ANSWER;
	strbuf_release(&sb);
}

int ledgerd_node_stopping(struct ledgerd_node *n)
{
	int stopping;

	pthread_mutex_lock(&n->mu);
	stopping = n->stopping;
	pthread_mutex_unlock(&n->mu);
	return stopping;
}

/* Queue c for the loop, or answer it when the node is stopping (returns 0
 * then): a health check with the dialect's not-serving answer (a readiness
 * probe reads that, not an error), anything else UNAVAILABLE.  Called and
 * returns with mu held. */
static int enqueue_locked(struct ledgerd_node *n, struct ledgerd_call *c)
{
	c->node = n;
	if (n->stopping && c->route->kind == ROUTE_HEALTH) {
		c->http_status = 200;
		c->resp = ledgerd_health_stopping(c->route);
		c->action = CALL_ANSWER;
		c->done = 1;
		c->refs = 1;
		return 0;
	}
	if (n->stopping) {
		c->http_status = 503;
		c->resp = json_pack("{s:s, s:s}", "code", "UNAVAILABLE", "message",
				    "node is shutting down");
		c->action = CALL_ANSWER;
		c->done = 1;
		c->refs = 1;
		return 0;
	}
	c->refs = 2;
	c->done = 0;
	c->next = NULL;
	if (n->queue_tail)
		n->queue_tail->next = c;
	else
		n->queue_head = c;
	n->queue_tail = c;
	/* Under mu: the loop closes the handle under mu too, after stopping. */
	uv_async_send(&n->wake);
	return 1;
}

void ledgerd_node_submit_async(struct ledgerd_node *n, struct ledgerd_call *c,
			       ledgerd_call_done_fn done)
{
	int queued;

	c->done_fn = done;
	pthread_mutex_lock(&n->mu);
	queued = enqueue_locked(n, c);
	if (queued) {
		c->wait_until_ns = clock_mono_ns() + CALL_WAIT_NS;
		c->wait_next = NULL;
		c->wait_prev = n->waiting_tail;
		if (n->waiting_tail)
			n->waiting_tail->wait_next = c;
		else
			n->waiting_head = c;
		n->waiting_tail = c;
	}
	pthread_mutex_unlock(&n->mu);
	if (!queued)
		done(n, c, 0);
}

/* The watchdog: answers calls submitted without waiting that the loop has
 * not answered within CALL_WAIT_NS (a loop stuck on a disk, a libraft
 * callback that never comes), as a waiting HTTP thread gives up. */
static void *watchdog_main(void *arg)
{
	struct ledgerd_node *n = arg;

	pthread_mutex_lock(&n->mu);
	while (!n->watchdog_stop) {
		struct ledgerd_call *c = n->waiting_head;
		int64_t now = clock_mono_ns();

		if (c && c->wait_until_ns <= now) {
			waiting_remove(n, c);
			c->timed_out = 1;
			pthread_mutex_unlock(&n->mu);
			c->done_fn(n, c, 1);
			pthread_mutex_lock(&n->mu);
			continue;
		}
		{
			int64_t until = now + WATCHDOG_PERIOD_NS;
			struct timespec ts = { (time_t)(until / NS_PER_SEC), (long)(until % NS_PER_SEC) };

			pthread_cond_timedwait(&n->watchdog_cond, &n->mu, &ts);
		}
	}
	pthread_mutex_unlock(&n->mu);
	return NULL;
}

static int watchdog_start(struct ledgerd_node *n)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&n->watchdog_cond, &attr);
	pthread_condattr_destroy(&attr);
	n->watchdog_running = pthread_create(&n->watchdog, NULL, watchdog_main, n) == 0;
	return n->watchdog_running ? 0 : -1;
}

static void watchdog_stop(struct ledgerd_node *n)
{
	if (!n->watchdog_running)
		return;
	pthread_mutex_lock(&n->mu);
	n->watchdog_stop = 1;
	pthread_cond_signal(&n->watchdog_cond);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->watchdog, NULL);
	pthread_cond_destroy(&n->watchdog_cond);
	n->watchdog_running = 0;
}

/* ---- member metadata ---- */

json_t *ledgerd_member_meta(struct ledgerd_node *n, raft_id id)
{
	json_t *m = ledger_fsm_member(&n->ledger, id);

	if (!m)
		m = ledgerd_peers_find(&n->peers, id);
	if (!m && n->peers_arg.nodes)
		m = ledgerd_peers_find(&n->peers_arg, id);
	return m;
}

const char *ledgerd_member_str(struct ledgerd_node *n, raft_id id, const char *key)
{
	json_t *m = ledgerd_member_meta(n, id);

	return m ? json_string_value(json_object_get(m, key)) : NULL;
}

json_t *ledgerd_leader_json(struct ledgerd_node *n)
{
	raft_id lid = 0;
	const char *laddr = NULL, *a, *r, *rr;

	raft_leader(&n->raft, &lid, &laddr);
	if (!lid)
		return json_null();
	a = ledgerd_member_str(n, lid, "address");
	r = ledgerd_member_str(n, lid, "region");
	rr = ledgerd_member_str(n, lid, "region_role");
	return json_pack("{s:I, s:o, s:o, s:o}", "id", (json_int_t)lid, "address",
			 a ? json_string(a) : json_null(), "region", r ? json_string(r) : json_null(),
			 "region_role", rr ? json_string(rr) : json_null());
}

int64_t ledgerd_member_last_contact_ns(struct ledgerd_node *n, raft_id id)
{
	int i;

	for (i = 0; i < LEDGERD_MAX_MEMBERS; i++)
		if (n->contact[i].id == id)
			return n->contact[i].ns;
	return 0;
}

static void contact_set(struct ledgerd_node *n, raft_id id, int64_t ns)
{
	int i, free_slot = -1;

	for (i = 0; i < LEDGERD_MAX_MEMBERS; i++) {
		if (n->contact[i].id == id) {
			n->contact[i].ns = ns;
			return;
		}
		if (!n->contact[i].id && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		n->contact[free_slot].id = id;
		n->contact[free_slot].ns = ns;
	}
}

int64_t ledgerd_ring_time(struct ledgerd_node *n, raft_index index)
{
	int64_t best_ns = 0;
	raft_index best = 0;
	size_t i;

	/* The oldest recorded entry at or after index. */
	for (i = 0; i < LEDGERD_RING; i++) {
		if (!n->ring[i].index || n->ring[i].index < index)
			continue;
		if (!best || n->ring[i].index < best) {
			best = n->ring[i].index;
			best_ns = n->ring[i].ns;
		}
	}
	return best_ns;
}

void ledgerd_ring_record(struct ledgerd_node *n, raft_index index)
{
	n->ring[n->ring_next].index = index;
	n->ring[n->ring_next].ns = clock_mono_ns();
	n->ring_next = (n->ring_next + 1) % LEDGERD_RING;
}

static int region_matches(struct ledgerd_node *n, raft_id id, const char *region, int by_role)
{
	const char *v = ledgerd_member_str(n, id, by_role ? "region_role" : "region");

	return v && strcmp(v, region) == 0;
}

raft_id ledgerd_pick_in_region(struct ledgerd_node *n, const char *region, int by_role,
			       int include_self)
{
	struct raft *r = &n->raft;
	raft_id best = 0, fallback = 0;
	raft_index best_match = 0, fallback_match = 0;
	int64_t now = clock_mono_ns();
	unsigned i;

	if (raft_state(r) != RAFT_LEADER)
		return 0;
	for (i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		raft_index match;
		int64_t contact;
		if (s->role != RAFT_VOTER || !region_matches(n, s->id, region, by_role))
			continue;
		if (s->id == n->cfg.id) {
			if (include_self)
				return s->id; /* already there */
			continue;
		}
		match = r->leader_state.progress[i].match_index;
		contact = ledgerd_member_last_contact_ns(n, s->id);
		if (!contact || now - contact > (int64_t)n->cfg.election_ms * NS_PER_MS) {
			/* Not heard from lately (or leadership is brand new):
			 * only if nobody better is reachable. */
			if (!fallback || match > fallback_match) {
				fallback = s->id;
				fallback_match = match;
			}
			continue;
		}
		if (!best || match > best_match) {
			best = s->id;
			best_match = match;
		}
	}
	return best ? best : fallback;
}

void ledgerd_apply_partition(struct ledgerd_node *n, const raft_id *ids, size_t count)
{
	ledgerd_transport_partition(&n->transport, ids, count);
}

/* ---- the loop ---- */

static void on_wake(uv_async_t *h)
{
	struct ledgerd_node *n = h->data;
	struct ledgerd_call *c, *next;

	pthread_mutex_lock(&n->mu);
	c = n->queue_head;
	n->queue_head = n->queue_tail = NULL;
	pthread_mutex_unlock(&n->mu);
	for (; c; c = next) {
		next = c->next;
		c->step = 0;
		c->tick = NULL;
		c->answered = 0;
		c->pending = 0;
		c->inflight_prev = NULL;
		c->inflight_next = n->inflight;
		if (n->inflight)
			n->inflight->inflight_prev = c;
		n->inflight = c;
		if (n->closing)
			ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, "node is shutting down");
		else
			c->route->run(n, c);
	}
	ledgerd_append_flush(n);
}

static void ready_barrier_cb(struct raft_barrier *req, int status)
{
	struct ledgerd_node *n = req->data;

	n->ready_barrier_pending = 0;
	if (status != 0 || raft_state(&n->raft) != RAFT_LEADER) {
		ledgerd_log("post-election barrier failed: %s", raft_strerror(status));
		return;
	}
	n->ready = 1;
	ledgerd_log("leader ready: post-election barrier applied at term %llu, commit index %llu",
		    n->raft.current_term, n->raft.commit_index);
}

static void witness_transfer_cb(struct raft_transfer *req)
{
	struct ledgerd_node *n = req->data;

	n->witness_transfer_pending = 0;
	ledgerd_log("witness leadership transfer finished: %s",
		    raft_state(&n->raft) == RAFT_LEADER ? "still leader, will retry" : "handed over");
}

static void witness_hand_over(struct ledgerd_node *n)
{
	struct raft *r = &n->raft;
	raft_id best = 0;
	raft_index best_match = 0;
	unsigned i;
	int rv;

	/* A stopping witness hands over through its graceful stop. */
	if (n->witness_transfer_pending || n->stop_requested)
		return;
	for (i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		const char *role = ledgerd_member_str(n, s->id, "region_role");
		if (s->id == n->cfg.id || s->role != RAFT_VOTER || !role ||
		    (strcmp(role, "primary") != 0 && strcmp(role, "dr") != 0))
			continue;
		/* Only a voter that acknowledged this leader's entries: libraft
		 * starts every match index at 0 when a node becomes leader, and
		 * the first one at 0 may be the dead node whose loss made the
		 * witness win; a transfer to it waits an election timeout for
		 * nothing.  The next tick tries again once the others answered. */
		if (r->leader_state.progress[i].match_index == 0)
			continue;
		if (!best || r->leader_state.progress[i].match_index > best_match) {
			best = s->id;
			best_match = r->leader_state.progress[i].match_index;
		}
	}
	if (!best)
		return;
	n->witness_transfer.data = n;
	rv = raft_transfer(r, &n->witness_transfer, best, witness_transfer_cb);
	if (rv == 0) {
		n->witness_transfer_pending = 1;
		ledgerd_log("witness won the election: transferring leadership to node %llu", best);
	}
}

static void publish_gauges(struct ledgerd_node *n, int is_leader, raft_id lid, double lag)
{
	struct raft *r = &n->raft;
	struct ledgerd_gauges g;
	int64_t now = clock_mono_ns();
	unsigned i;

	memset(&g, 0, sizeof g);
	g.running = !n->stop_requested;
	g.knows_leader = lid != 0;
	g.is_leader = is_leader;
	g.term = r->current_term;
	g.commit_index = r->commit_index;
	g.last_applied = r->last_applied;
	g.ledger_last_index = ledger_fsm_last_index(&n->ledger);
	g.lag_seconds = lag;
	g.append_batches = n->append_batches;
	g.appends_batched = n->appends_batched;
	g.disk_full = n->disk.full || n->disk.write_failed;
	g.disk_free_bytes = n->disk.checked ? (double)n->disk.free_bytes : -1;
	g.peers_connected = -1;
	for (i = 0; i < r->configuration.n; i++)
		if (r->configuration.servers[i].role == RAFT_VOTER)
			g.voters++;
	g.quorum_size = g.voters / 2 + 1;
	if (is_leader) {
		g.peers_connected = 0;
		for (i = 0; i < r->configuration.n; i++) {
			const struct raft_server *s = &r->configuration.servers[i];
			int64_t contact = s->id == n->cfg.id ? now : ledgerd_member_last_contact_ns(n, s->id);
			if (s->role == RAFT_VOTER && contact &&
			    now - contact <= (int64_t)n->cfg.election_ms * NS_PER_MS)
				g.peers_connected++;
		}
	}
	pthread_mutex_lock(&n->mu);
	n->gauges = g;
	pthread_mutex_unlock(&n->mu);
}

static void close_raft_when_stored(struct ledgerd_node *n); /* shutdown, below */

static void on_tick(uv_timer_t *t)
{
	struct ledgerd_node *n = t->data;
	struct raft *r = &n->raft;
	raft_id lid = 0;
	const char *laddr = NULL;
	int64_t now = clock_mono_ns();
	int is_leader;
	double lag = 0;
	unsigned i;

	if (n->closing) {
		close_raft_when_stored(n);
		return;
	}
	is_leader = raft_state(r) == RAFT_LEADER;
	ledgerd_election_redraw(r, &n->timeout_drawn_term);
	raft_leader(r, &lid, &laddr);
	if (is_leader && !n->was_leader) {
		ledgerd_log("became leader at term %llu", r->current_term);
		n->ready = 0;
		n->leader_since_ns = now;
		memset(n->contact, 0, sizeof n->contact);
		if (!n->ready_barrier_pending) {
			n->ready_barrier.data = n;
			if (raft_barrier(r, &n->ready_barrier, ready_barrier_cb) == 0)
				n->ready_barrier_pending = 1;
		}
	} else if (is_leader && !n->ready && !n->ready_barrier_pending) {
		/* The post-election barrier failed while we kept leadership:
		 * try again, or writes would stay refused for the whole term. */
		n->ready_barrier.data = n;
		if (raft_barrier(r, &n->ready_barrier, ready_barrier_cb) == 0)
			n->ready_barrier_pending = 1;
	} else if (!is_leader && n->was_leader) {
		ledgerd_log("lost leadership at term %llu", r->current_term);
		n->ready = 0;
	}
	n->was_leader = is_leader;
	if (lid != n->logged_leader) {
		if (lid)
			ledgerd_log("leader is node %llu (%s) at term %llu", lid, laddr ? laddr : "?",
				    r->current_term);
		else
			ledgerd_log("no leader known at term %llu", r->current_term);
		n->logged_leader = lid;
		if (!lid)
			n->no_leader_since_ns = now;
	}
	if (is_leader) {
		for (i = 0; i < r->configuration.n; i++)
			if (r->leader_state.progress[i].recent_recv)
				contact_set(n, r->configuration.servers[i].id, now);
		contact_set(n, n->cfg.id, now);
		if (strcmp(n->cfg.role, "witness") == 0)
			witness_hand_over(n);
	}
	ledgerd_disk_tick(n, is_leader);
	/* Calls waiting for the cluster to change (answering one may free it). */
	{
		struct ledgerd_call *c, *next;

		for (c = n->inflight; c; c = next) {
			next = c->inflight_next;
			if (c->tick && !c->answered)
				c->tick(n, c);
		}
	}
	if (n->refusing && now >= n->refuse_until_ns) {
		n->refusing = 0;
		/* Appends compare the clock themselves; this line is the tick's
		 * notice, so it names the exact end. */
		ledgerd_log("debug: RefuseWrites window ended at mono_ms=%" PRId64 ": writes accepted again",
			    n->refuse_until_ns / NS_PER_MS);
	}
	/* This node's lag behind the leader's commit. */
	if (is_leader) {
		n->behind_since_ns = 0;
	} else if (!lid) {
		lag = n->no_leader_since_ns ? (double)(now - n->no_leader_since_ns) / 1e9 : 0;
	} else if (r->last_applied < r->commit_index) {
		if (!n->behind_since_ns)
			n->behind_since_ns = now;
		lag = (double)(now - n->behind_since_ns) / 1e9;
	} else {
		n->behind_since_ns = 0;
	}
	publish_gauges(n, is_leader, lid, lag);
}

/* A leadership change seen the moment the deciding message arrives: the
 * post-election barrier starts and the gauges say so then, not up to a
 * tick later (a tick is a heartbeat: 15 ms at 150/15, part of the RTO). */
static void on_state_changed(void *arg)
{
	struct ledgerd_node *n = arg;

	on_tick(&n->tick);
}

/* ---- shutdown ---- */

static void handle_closed(uv_handle_t *h)
{
	(void)h;
}

/* libraft 0.15's uv backend can fire its close callback twice: a segment
 * writer whose handles are still closing when the callback fires checks
 * again when they are closed, finds nothing left open and fires it again
 * (fixed upstream in cowsql/raft#45).  raft's own callback would then free
 * the node's address, log and configuration a second time and call
 * on_raft_closed again, so this wrapper of io->close passes the callback
 * on once.  That late check reads the backend's struct, too: raft_uv_close
 * waits until the loop has run every close callback (ledgerd_node_run). */
static void io_closed_once(struct raft_io *io)
{
	struct ledgerd_node *n = ((struct raft *)io->data)->data;
	raft_io_close_cb cb = n->io_close_cb;

	n->io_close_cb = NULL;
	if (cb)
		cb(io);
}

static void io_close(struct raft_io *io, raft_io_close_cb cb)
{
	struct ledgerd_node *n = ((struct raft *)io->data)->data;

	n->io_close_cb = cb;
	n->uv_io_close(io, io_closed_once);
}

static void on_raft_closed(struct raft *r)
{
	struct ledgerd_node *n = r->data;
	struct ledgerd_call *c, *next;

	/* Answer whatever libraft did not call back for, then let go. */
	for (c = n->inflight; c; c = next) {
		next = c->inflight_next;
		/* raft_close failed every request it held before this (and
		 * io_closed_once makes sure this runs once) */
		c->pending = 0;
		if (c->answered)
			call_maybe_release(n, c);
		else if (c->wrote)
			ledgerd_call_error(n, c, LEDGER_UNKNOWN_OUTCOME,
					   "node shut down before the entry was known to commit");
		else
			ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, "node is shutting down");
	}
	n->raft_closed = 1; /* io and transport are released once uv_run returns */
	pthread_mutex_lock(&n->mu);
	uv_close((uv_handle_t *)&n->wake, handle_closed);
	pthread_mutex_unlock(&n->mu);
	uv_close((uv_handle_t *)&n->tick, handle_closed);
	uv_close((uv_handle_t *)&n->handover.timer, handle_closed);
	uv_close((uv_handle_t *)&n->sigterm, handle_closed);
	uv_close((uv_handle_t *)&n->sigint, handle_closed);
	ledgerd_log("raft closed");
}

/* libraft 0.15 must not close while two or more of its own log appends
 * wait in the uv backend's queue: uvClose cancels them in order, the first
 * one's appendLeaderCb truncates the log from its index (taking the later
 * ones' entries with it), and the next one truncates past the end of the
 * log.  Debian builds libraft without asserts, so that walks off the log
 * array: SIGSEGV in raft_close under concurrent Appends
 * (canonical/raft#338, fixed upstream in 0.17.1).  So shutdown closes raft
 * only once every entry in the log is stored, which means no append is
 * queued or being written; new calls are refused meanwhile, so that comes
 * within a write or two.  Called from on_signal, then from the tick until
 * it closes. */
static void close_raft_when_stored(struct ledgerd_node *n)
{
	int stored = n->raft.last_stored >= raft_last_index(&n->raft);

	if (n->raft_closing || (!stored && clock_mono_ns() < n->close_deadline_ns))
		return;
	if (!stored)
		ledgerd_log("closing raft with log writes still pending (stored %llu of %llu)",
			    n->raft.last_stored, raft_last_index(&n->raft));
	n->raft_closing = 1;
	uv_timer_stop(&n->tick);
	ledgerd_transport_closing(&n->transport);
	raft_close(&n->raft, on_raft_closed);
}

void ledgerd_node_close(struct ledgerd_node *n)
{
	if (n->closing)
		return;
	pthread_mutex_lock(&n->mu);
	n->stopping = 1;
	pthread_mutex_unlock(&n->mu);
	n->closing = 1;
	n->close_deadline_ns = clock_mono_ns() + CLOSE_DRAIN_NS;
	on_wake(&n->wake); /* answer what is queued */
	uv_signal_stop(&n->sigterm);
	uv_signal_stop(&n->sigint);
	/* The tick keeps running until raft is closed: it polls for that,
	 * every millisecond rather than every heartbeat, because a scale-down
	 * waits for this node to exit before it stops the next one. */
	uv_timer_start(&n->tick, on_tick, 1, 1);
	close_raft_when_stored(n);
}

/* SIGTERM and SIGINT are a graceful stop: a leader hands leadership over
 * first (ledger/daemon/handover.c), everyone else closes at once.  A
 * second signal during the handover cuts it short.  SIGKILL is the crash. */
static void on_signal(uv_signal_t *s, int signum)
{
	struct ledgerd_node *n = s->data;
	const char *name = signum == SIGTERM ? "SIGTERM" : "SIGINT";

	if (n->closing)
		return;
	if (n->stop_requested) {
		ledgerd_handover_cut(n, name);
		return;
	}
	n->stop_requested = 1;
	pthread_mutex_lock(&n->mu);
	n->gauges.running = 0;
	pthread_mutex_unlock(&n->mu);
	if (ledgerd_handover_start(n, name) == 0)
		return; /* it closes the node when it is done */
	ledgerd_log("%s: shutting down", name);
	ledgerd_node_close(n);
}

/* ---- start-up ---- */

/* In a cluster that never elected a leader, the node that stands for
 * the first election a heartbeat after start (ledger/daemon/election.c):
 * the lowest-id voter of the primary region, where the cluster's leader
 * belongs, or the lowest-id voter when no member names its region role.
 * Every node computes the same choice from the bootstrap configuration. */
static int stands_first(struct ledgerd_node *n)
{
	const struct raft_configuration *conf = &n->raft.configuration;
	raft_id lowest = 0, lowest_primary = 0;

	if (!ledgerd_election_never_elected(&n->raft))
		return 0;
	for (unsigned i = 0; i < conf->n; i++) {
		const char *role = ledgerd_member_str(n, conf->servers[i].id, "region_role");

		if (conf->servers[i].role != RAFT_VOTER)
			continue;
		if (!lowest || conf->servers[i].id < lowest)
			lowest = conf->servers[i].id;
		if (role && strcmp(role, "primary") == 0 &&
		    (!lowest_primary || conf->servers[i].id < lowest_primary))
			lowest_primary = conf->servers[i].id;
	}
	return (lowest_primary ? lowest_primary : lowest) == n->cfg.id;
}

static int write_identity(struct ledgerd_node *n, const char *path, struct dr_error *err)
{
	json_t *o = json_pack("{s:s, s:O, s:I}", "cluster_id", n->peers.cluster_id, "nodes",
			      n->peers.nodes, "self_id", (json_int_t)n->cfg.id);
	char *text = json_dumps(o, JSON_INDENT(2));
	int rc = fs_write_atomic(path, text, strlen(text), err);

	free(text);
	json_decref(o);
	return rc;
}

static int seed_from_snapshot(struct ledgerd_node *n, const char *seed_path, struct dr_error *err)
{
	struct ledgerd_snapinfo info;
	char *body = NULL;
	size_t len = 0;
	int rc = -1;

	if (ledgerd_snapfile_read(&body, &len, &info, n->cfg.seed_snapshot, err) != 0) {
		dr_error_wrap(err, "refusing --seed-snapshot");
		goto out;
	}
	if (ledger_fsm_restore(&n->ledger, body, len, err) != 0) {
		dr_error_wrap(err, "refusing --seed-snapshot '%s'", n->cfg.seed_snapshot);
		goto out;
	}
	if (fs_write_atomic(seed_path, body, len, err) != 0)
		goto out;
	ledgerd_log("seeded from snapshot '%s': %" PRIu64 " entries, %zu entities at block height %" PRIu64 ", sha256 %s",
		    n->cfg.seed_snapshot, info.index, n->ledger.ents.n_entities, n->ledger.ents.height,
		    info.sha256);
	rc = 0;
out:
	free(body);
	return rc;
}

static int load_seed(struct ledgerd_node *n, const char *seed_path, struct dr_error *err)
{
	char *body = NULL;
	size_t len = 0;
	int rc;

	if (!fs_exists(seed_path))
		return 0;
	if (fs_read_file(&body, &len, seed_path, (size_t)2 << 30, err) != 0)
		return -1;
	rc = ledger_fsm_restore(&n->ledger, body, len, err);
	free(body);
	return rc;
}

static int bootstrap(struct ledgerd_node *n, struct dr_error *err)
{
	struct raft_configuration conf;
	json_t *node;
	size_t i;
	int rv;

	raft_configuration_init(&conf);
	json_array_foreach(n->peers.nodes, i, node) {
		rv = raft_configuration_add(&conf, (raft_id)json_integer_value(json_object_get(node, "id")),
					    json_string_value(json_object_get(node, "raft_address")),
					    RAFT_VOTER);
		if (rv != 0) {
			raft_configuration_close(&conf);
			return dr_error_set(err, "cannot build the bootstrap configuration: %s",
					    raft_strerror(rv));
		}
	}
	rv = raft_bootstrap(&n->raft, &conf);
	raft_configuration_close(&conf);
	if (rv != 0 && rv != RAFT_CANTBOOTSTRAP)
		return dr_error_set(err, "cannot bootstrap raft: %s", raft_errmsg(&n->raft));
	ledgerd_log("bootstrapped a %zu-member configuration for cluster %s",
		    json_array_size(n->peers.nodes), n->peers.cluster_id);
	return 0;
}

static int node_setup(struct ledgerd_node *n, struct dr_error *err)
{
	char *ident = xasprintf("%s/ledgerd.json", n->cfg.data);
	char *seed = xasprintf("%s/seed.ledgerstate", n->cfg.data);
	int first, stand, rv, rc = -1;
	json_t *self;

	n->raft_dir = xasprintf("%s/raft", n->cfg.data);
	n->snap_dir = xasprintf("%s/snapshots", n->cfg.data);
	if (fs_mkdir_p(n->raft_dir, err) != 0 || fs_mkdir_p(n->snap_dir, err) != 0)
		goto out;
	if (ledgerd_peers_load(&n->peers_arg, n->cfg.peers, err) != 0)
		goto out;
	first = !fs_exists(ident);
	if (first) {
		char *text = ledgerd_peers_dump(&n->peers_arg);
		rv = ledgerd_peers_parse(&n->peers, text, strlen(text), n->cfg.peers, err);
		free(text);
		if (rv != 0)
			goto out;
	} else if (ledgerd_peers_load(&n->peers, ident, err) != 0) {
		goto out;
	}
	self = ledgerd_peers_find(&n->peers, n->cfg.id);
	if (first && !self) {
		dr_error_set(err, "node id %" PRIu64 " is not in peers file '%s'", n->cfg.id, n->cfg.peers);
		goto out;
	}
	if (first && n->cfg.seed_snapshot && seed_from_snapshot(n, seed, err) != 0)
		goto out;
	if (!first && load_seed(n, seed, err) != 0)
		goto out;

	rv = ledgerd_transport_init(&n->transport, &n->loop);
	if (rv != 0) {
		dr_error_set(err, "cannot set up the raft transport: %s", raft_strerror(rv));
		goto out;
	}
	rv = raft_uv_init(&n->io, &n->loop, n->raft_dir, &n->transport.outer);
	if (rv != 0) {
		dr_error_set(err, "cannot set up raft storage in '%s': %s", n->raft_dir, n->io.errmsg);
		goto out;
	}
	n->uv_io_close = n->io.close; /* see io_closed_once */
	n->io.close = io_close;
	ledgerd_disk_init(n);
	/* Every time an open segment fills, libraft 0.15's uv backend stalls
	 * appends while it switches to the next one: with 256 KiB segments,
	 * at 5000 writes/s (16 clients) that was every 220-280 ms, each stall
	 * over 15 ms for all 16 clients at once, and a 16-client p99 of 30 ms
	 * (etcd: 8-16 ms).  At 4 MiB the switch comes every few seconds and
	 * the p99 was 6.3 ms; the stalls left are snapshots (bench/README.md).
	 * Each node preallocates a few segments of this size. */
	raft_uv_set_segment_size(&n->io, 4 * 1024 * 1024);
	raft_uv_set_auto_recovery(&n->io, false);
	raft_uv_set_connect_retry_delay(&n->io, 100);
	ledgerd_transport_filter_recv(&n->transport, &n->io); /* Debug/DropInstallSnapshot */
	n->transport.state_changed = on_state_changed;
	n->transport.state_changed_arg = n;
	n->fsm.version = 1;
	n->fsm.data = n;
	n->fsm.apply = fsm_apply;
	n->fsm.snapshot = fsm_snapshot;
	n->fsm.restore = fsm_restore;
	rv = raft_init(&n->raft, &n->io, &n->fsm, n->cfg.id, n->cfg.raft);
	if (rv != 0) {
		dr_error_set(err, "cannot initialise raft: %s", raft_errmsg(&n->raft));
		goto out;
	}
	n->raft.data = n;
	raft_set_election_timeout(&n->raft, n->cfg.election_ms);
	raft_set_heartbeat_timeout(&n->raft, n->cfg.heartbeat_ms);
	raft_set_pre_vote(&n->raft, true);
	raft_set_snapshot_threshold(&n->raft, n->cfg.snapshot_threshold);
	raft_set_snapshot_trailing(&n->raft, n->cfg.snapshot_threshold);
	/* libraft retries a lost snapshot transfer only after this (30 s by
	 * default): the soak saw a restarted follower stall that long.  A few
	 * election timeouts is plenty for a local snapshot. */
	raft_set_install_snapshot_timeout(&n->raft, 5 * n->cfg.election_ms > 2000 ?
					  5 * n->cfg.election_ms : 2000);
	if (first) {
		/* A joining node starts with an empty log and no configuration:
		 * the leader's AddMember brings it in (bootstrapping it too
		 * would give it an index 1 that differs from the cluster's). */
		if (n->cfg.join)
			ledgerd_log("joining: no bootstrap, waiting for the leader to add node %" PRIu64,
				    n->cfg.id);
		else if (bootstrap(n, err) != 0)
			goto out;
		if (write_identity(n, ident, err) != 0)
			goto out;
	}
	rv = raft_start(&n->raft);
	if (rv != 0) {
		dr_error_set(err, "cannot start raft: %s", raft_errmsg(&n->raft));
		goto out;
	}
	stand = stands_first(n);
	ledgerd_election_boot(&n->raft, stand);
	/* libraft just drew this term's timeout, which the boot advance was
	 * computed from: the tick's redraw waits for the next term. */
	n->timeout_drawn_term = n->raft.current_term;
	if (stand)
		ledgerd_log("no leader was ever elected: standing for the first election one heartbeat after start");
	ledgerd_log("raft started: id %" PRIu64 " raft %s http %s region %s role %s zone %s, term %llu, %" PRIu64 " entries applied",
		    n->cfg.id, n->cfg.raft, n->cfg.listen, n->cfg.region, n->cfg.role, n->cfg.zone,
		    n->raft.current_term, ledger_fsm_last_index(&n->ledger));
	rc = 0;
out:
	free(ident);
	free(seed);
	return rc;
}

static int load_token(struct ledgerd_node *n, struct dr_error *err)
{
	char *text = NULL;
	size_t len = 0;

	if (!n->cfg.admin_token_file)
		return 0;
	{
		struct stat st;

		/* A token others can read protects nothing. */
		if (stat(n->cfg.admin_token_file, &st) == 0 && (st.st_mode & 0077))
			return dr_error_set(err, "admin token file '%s' is readable by others (mode %03o); "
					    "chmod 600 it", n->cfg.admin_token_file,
					    (unsigned)(st.st_mode & 0777));
	}
	if (fs_read_file(&text, &len, n->cfg.admin_token_file, 4096, err) != 0)
		return dr_error_wrap(err, "cannot read --admin-token-file");
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!len) {
		free(text);
		return dr_error_set(err, "admin token file '%s' is empty", n->cfg.admin_token_file);
	}
	n->admin_token = text;
	return 0;
}

int ledgerd_node_run(const struct ledgerd_config *cfg, const struct ledgerd_frontend *const *fes)
{
	struct ledgerd_node *n = xcalloc(1, sizeof *n);
	struct dr_error err = DR_ERROR_INIT;
	int rc = 1, loop_ok = 0;
	size_t nfes = 0;

	n->cfg = *cfg;
	ledgerd_log_set_id(cfg->id);
	pthread_mutex_init(&n->mu, NULL);
	ledger_fsm_init(&n->ledger);
	ledgerd_metrics_init(&n->metrics);
	signal(SIGPIPE, SIG_IGN);
	if (uv_loop_init(&n->loop) != 0) {
		dr_error_set(&err, "cannot create the event loop");
		goto out;
	}
	loop_ok = 1;
	if (load_token(n, &err) != 0 || node_setup(n, &err) != 0)
		goto out;
	uv_async_init(&n->loop, &n->wake, on_wake);
	n->wake.data = n;
	uv_timer_init(&n->loop, &n->tick);
	n->tick.data = n;
	uv_timer_start(&n->tick, on_tick, 0, n->cfg.heartbeat_ms < 50 ? n->cfg.heartbeat_ms : 50);
	uv_timer_init(&n->loop, &n->handover.timer);
	n->handover.timer.data = n;
	uv_signal_init(&n->loop, &n->sigterm);
	n->sigterm.data = n;
	uv_signal_start(&n->sigterm, on_signal, SIGTERM);
	uv_signal_init(&n->loop, &n->sigint);
	n->sigint.data = n;
	uv_signal_start(&n->sigint, on_signal, SIGINT);
	if (watchdog_start(n) != 0) {
		dr_error_set(&err, "cannot start the call watchdog thread");
		on_signal(&n->sigterm, SIGTERM);
		uv_run(&n->loop, UV_RUN_DEFAULT);
		goto out;
	}
	while (fes[nfes] && fes[nfes]->start(n, &err) == 0)
		nfes++;
	if (fes[nfes]) {
		ledgerd_log("error: %s", err.msg);
		on_signal(&n->sigterm, SIGTERM);
		uv_run(&n->loop, UV_RUN_DEFAULT);
		while (nfes > 0)
			fes[--nfes]->stop(n);
		watchdog_stop(n);
		goto out;
	}
	uv_run(&n->loop, UV_RUN_DEFAULT);
	while (nfes > 0)
		fes[--nfes]->stop(n);
	watchdog_stop(n);
	ledgerd_log("stopped cleanly");
	rc = 0;
out:
	if (rc != 0 && err.msg[0])
		fprintf(stderr, "ledgerd: %s\n", err.msg);
	if (n->raft_closed) { /* uv_run returned: libraft closes nothing more */
		raft_uv_close(&n->io);
		ledgerd_transport_release(&n->transport);
	}
	if (loop_ok)
		uv_loop_close(&n->loop);
	ledger_fsm_release(&n->ledger);
	ledgerd_peers_release(&n->peers);
	ledgerd_peers_release(&n->peers_arg);
	ledgerd_metrics_release(&n->metrics);
	free(n->raft_dir);
	free(n->snap_dir);
	free(n->admin_token);
	free(n);
	return rc;
}
