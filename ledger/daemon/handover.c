/* A stopping leader hands leadership over (ledgerd_handover_start in
 * ledger/daemon/node.h).
 *
 * Without it a scaled-down leader simply goes away and the cluster waits an
 * election timeout (or more, with pre-vote) before anyone writes again; with
 * it the outage is a transfer's few round trips.  Three steps, all on the
 * loop, the whole bounded by the election timeout from the signal:
 *
 *  1. Drain.  Calls that need the leader are parked (c->parked) from now
 *     on: raft would still take them, but the client is better served by
 *     the new leader.  A barrier commits everything proposed before the
 *     signal, so the writes in flight get their real answer rather than
 *     UNKNOWN_OUTCOME from a leader that stepped down under them.
 *  2. Transfer.  The voters whose match index reached the barrier answered
 *     after the signal and hold every entry: a voter that is stopping or
 *     gone is not among them.  raft_transfer names the first of them that
 *     is not a witness (a witness would only pass leadership on again);
 *     libraft 0.15 refuses new entries until the transfer ends.
 *  3. Done when another node is seen leading: the parked calls get
 *     NOT_LEADER naming it, and the node closes (ledgerd_node_close).
 *
 * It gives up, says why in the log and closes anyway when fewer than a
 * quorum answered within two heartbeats (the rest is stopping too, as when
 * a whole cluster is taken down), when the target fell silent for two
 * heartbeats, when libraft ended the transfer without a new leader, or at
 * the deadline.  Whatever happens, nothing acknowledged is lost: only
 * committed entries were ever acknowledged, and raft closes as it always
 * does. */
#include <stdarg.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/node.h"

enum { HANDOVER_DRAIN = 1, HANDOVER_TRANSFER };

/* A live voter answers every heartbeat; two without a word is a stopped
 * one. */
static int64_t silence_ns(const struct ledgerd_node *n)
{
	return 2 * (int64_t)n->cfg.heartbeat_ms * NS_PER_MS;
}

static unsigned voter_count(const struct raft *r)
{
	unsigned i, voters = 0;

	for (i = 0; i < r->configuration.n; i++)
		voters += r->configuration.servers[i].role == RAFT_VOTER;
	return voters;
}

/* Other voters heard from at or after since (monotonic ns). */
static unsigned voters_heard_since(struct ledgerd_node *n, int64_t since)
{
	const struct raft *r = &n->raft;
	unsigned i, heard = 0;

	for (i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];

		if (s->id != n->cfg.id && s->role == RAFT_VOTER &&
		    ledgerd_transport_heard_ns(&n->transport, s->id) >= since)
			heard++;
	}
	return heard;
}

/* Parked calls get NOT_LEADER: naming the new leader once this node knows
 * one (ledgerd_call_not_leader), or, when all, naming nobody. */
static void answer_parked(struct ledgerd_node *n, int all)
{
	struct ledgerd_call *c, *next;
	raft_id lid = 0;
	const char *laddr = NULL;

	raft_leader(&n->raft, &lid, &laddr);
	if (!all && (!lid || lid == n->cfg.id))
		return;
	for (c = n->inflight; c; c = next) {
		next = c->inflight_next;
		if (c->parked && !c->answered) {
			c->parked = 0;
			ledgerd_call_not_leader(n, c);
		}
	}
}

static void finish(struct ledgerd_node *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void finish(struct ledgerd_node *n, const char *fmt, ...)
{
	struct ledgerd_handover *h = &n->handover;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	ledgerd_log("graceful stop: %s", sb.buf);
	strbuf_release(&sb);
	uv_timer_stop(&h->timer);
	n->handing_over = 0;
	answer_parked(n, 1);
	ledgerd_log("%s: shutting down", h->signame);
	ledgerd_node_close(n);
}

static void step(struct ledgerd_node *n);

static void on_timer(uv_timer_t *t)
{
	step(t->data);
}

/* From a libraft callback: step soon, but not inside libraft's own call
 * stack (closing raft from there would pull the ground from under it). */
static void kick(struct ledgerd_node *n)
{
	struct ledgerd_handover *h = &n->handover;
	uint64_t period = (uint64_t)uv_timer_get_repeat(&h->timer);

	if (n->handing_over)
		uv_timer_start(&h->timer, on_timer, 0, period ? period : 1);
}

static void barrier_cb(struct raft_barrier *req, int status)
{
	struct ledgerd_node *n = req->data;

	n->handover.barrier_pending = 0;
	n->handover.barrier_status = status;
	kick(n);
}

static void transfer_cb(struct raft_transfer *req)
{
	struct ledgerd_node *n = req->data;

	n->handover.transfer_pending = 0;
	kick(n);
}

/* The voter to hand over to: one that acknowledged the barrier, a
 * non-witness when there is one, in configuration order; 0 when none. */
static raft_id pick_successor(struct ledgerd_node *n)
{
	const struct raft *r = &n->raft;
	raft_id best = 0;
	int best_is_witness = 1;
	unsigned i;

	for (i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		const char *role;
		int witness;

		if (s->id == n->cfg.id || s->role != RAFT_VOTER ||
		    r->leader_state.progress[i].match_index < n->handover.barrier_index)
			continue;
		role = ledgerd_member_str(n, s->id, "region_role");
		witness = role && strcmp(role, "witness") == 0;
		if (!best || (best_is_witness && !witness)) {
			best = s->id;
			best_is_witness = witness;
		}
	}
	return best;
}

static void start_transfer(struct ledgerd_node *n)
{
	struct ledgerd_handover *h = &n->handover;
	struct raft *r = &n->raft;
	raft_id target;
	int rv;

	if (h->barrier_status != 0) {
		finish(n, "the barrier before the handover failed (%s): stopping without handing leadership over",
		       raft_strerror(h->barrier_status));
		return;
	}
	h->phase = HANDOVER_TRANSFER;
	h->transfer_start_ns = clock_mono_ns();
	if (r->transfer) { /* an admin call's or the witness's, started meanwhile */
		h->target = r->transfer->id;
		ledgerd_log("graceful stop: a leadership transfer to node %llu is under way; waiting for it",
			    h->target);
		return;
	}
	target = pick_successor(n);
	if (!target) {
		finish(n, "no other voter holds every entry: stopping without handing leadership over");
		return;
	}
	h->target = target;
	h->transfer.data = n;
	rv = raft_transfer(r, &h->transfer, target, transfer_cb);
	if (rv != 0) {
		finish(n, "cannot transfer leadership to node %llu (%s): stopping anyway", target,
		       raft_errmsg(r));
		return;
	}
	h->transfer_pending = 1;
	ledgerd_log("graceful stop: transferring leadership to node %llu (it holds every entry up to index %llu)",
		    target, h->barrier_index);
}

static void step(struct ledgerd_node *n)
{
	struct ledgerd_handover *h = &n->handover;
	struct raft *r = &n->raft;
	int64_t now = clock_mono_ns();
	raft_id lid = 0;
	const char *laddr = NULL;
	double ms = (double)(now - h->start_ns) / 1e6;

	if (!n->handing_over)
		return;
	raft_leader(r, &lid, &laddr);
	if (raft_state(r) != RAFT_LEADER && lid && lid != n->cfg.id) {
		if (lid == h->target)
			finish(n, "leadership handed to node %llu at term %llu after %.1f ms", lid,
			       r->current_term, ms);
		else
			finish(n, "node %llu leads at term %llu after %.1f ms (the transfer named node %llu)",
			       lid, r->current_term, ms, h->target);
		return;
	}
	if (raft_state(r) == RAFT_LEADER && h->phase == HANDOVER_DRAIN) {
		unsigned quorum = voter_count(r) / 2 + 1;
		unsigned heard = voters_heard_since(n, h->start_ns);

		if (!h->barrier_pending) {
			start_transfer(n);
			return;
		}
		if (now - h->start_ns > silence_ns(n) && heard + 1 < quorum) {
			finish(n, "%u of the other voters answered within %.1f ms, a quorum needs %u: stopping without handing leadership over",
			       heard, ms, quorum - 1);
			return;
		}
	} else if (h->phase == HANDOVER_TRANSFER) {
		/* Still leading, or stepped down for the target's election: a
		 * target that goes quiet is not going to lead (it stopped too). */
		int64_t heard = ledgerd_transport_heard_ns(&n->transport, h->target);

		if (raft_state(r) == RAFT_LEADER && !r->transfer) {
			finish(n, "leadership transfer to node %llu ended after %.1f ms without a new leader: stopping anyway",
			       h->target, ms);
			return;
		}
		if (heard < h->transfer_start_ns)
			heard = h->transfer_start_ns;
		if (now - heard > silence_ns(n)) {
			finish(n, "node %llu stopped answering during the handover: stopping anyway",
			       h->target);
			return;
		}
	}
	if (now >= h->deadline_ns) {
		finish(n, "no new leader within %u ms (the election timeout): stopping anyway",
		       n->cfg.election_ms);
		return;
	}
	answer_parked(n, 0);
}

int ledgerd_handover_start(struct ledgerd_node *n, const char *signame)
{
	struct ledgerd_handover *h = &n->handover;
	struct raft *r = &n->raft;
	uint64_t period = n->cfg.heartbeat_ms < 5 ? n->cfg.heartbeat_ms : 5;
	int rv;

	if (raft_state(r) != RAFT_LEADER || voter_count(r) < 2)
		return -1;
	h->phase = HANDOVER_DRAIN;
	h->signame = signame;
	h->start_ns = clock_mono_ns();
	h->deadline_ns = h->start_ns + (int64_t)n->cfg.election_ms * NS_PER_MS;
	h->barrier_pending = 0;
	h->barrier_status = 0;
	h->transfer_pending = 0;
	h->target = 0;
	if (!r->transfer) {
		h->barrier.data = n;
		rv = raft_barrier(r, &h->barrier, barrier_cb);
		if (rv != 0) {
			ledgerd_log("%s: cannot hand leadership over (barrier: %s)", signame,
				    raft_strerror(rv));
			return -1;
		}
		h->barrier_pending = 1;
		h->barrier_index = h->barrier.index;
	}
	n->handing_over = 1;
	ledgerd_log("%s: handing leadership over before stopping (at most %u ms)", signame,
		    n->cfg.election_ms);
	if (r->transfer)
		start_transfer(n); /* adopts the transfer under way */
	if (n->handing_over)
		uv_timer_start(&h->timer, on_timer, period ? period : 1, period ? period : 1);
	return 0;
}

void ledgerd_handover_cut(struct ledgerd_node *n, const char *signame)
{
	if (n->handing_over)
		finish(n, "%s again: stopping without waiting for the handover", signame);
}
