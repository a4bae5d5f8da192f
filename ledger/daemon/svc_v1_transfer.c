/* ledger.v1 AdminService/TransferLeadership (loop thread), as the public
 * ledger does it: the leader hands leadership to target_node_id (0: the
 * best candidate it sees), then waits up to timeout_ms until it knows a
 * leader other than itself and answers where leadership went, which is
 * not always the target (an election can intervene). */
#include <inttypes.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/svc_v1.h"

static int is_other_voter(struct ledgerd_node *n, raft_id id)
{
	for (unsigned i = 0; i < n->raft.configuration.n; i++)
		if (n->raft.configuration.servers[i].id == id)
			return id != n->cfg.id && n->raft.configuration.servers[i].role == RAFT_VOTER;
	return 0;
}

/* The most caught-up voter other than this node, preferring those heard
 * from within an election timeout and those that are not witnesses (a
 * witness hands leadership on at once); 0 when there is no other voter. */
static raft_id best_candidate(struct ledgerd_node *n)
{
	struct raft *r = &n->raft;
	int64_t now = clock_mono_ns(), timeout = (int64_t)n->cfg.election_ms * NS_PER_MS;
	raft_id best = 0;
	int best_rank = -1;
	raft_index best_match = 0;

	for (unsigned i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		const char *role = ledgerd_member_str(n, s->id, "region_role");
		int64_t contact = ledgerd_member_last_contact_ns(n, s->id);
		raft_index match = r->leader_state.progress[i].match_index;
		int rank;

		if (s->id == n->cfg.id || s->role != RAFT_VOTER)
			continue;
		rank = (contact && now - contact <= timeout ? 2 : 0) +
		       (!role || strcmp(role, "witness") != 0 ? 1 : 0);
		if (rank > best_rank || (rank == best_rank && match > best_match)) {
			best = s->id;
			best_rank = rank;
			best_match = match;
		}
	}
	return best;
}

/* Tick: done once a leader other than this node is known. */
static void wait_new_leader(struct ledgerd_node *n, struct ledgerd_call *c)
{
	raft_id lid = 0;
	const char *laddr = NULL;

	raft_leader(&n->raft, &lid, &laddr);
	if (lid && lid != n->cfg.id) {
		c->tick = NULL;
		if (lid == c->target)
			ledgerd_log("leadership transferred to node %llu", lid);
		else
			ledgerd_log("leadership transfer to node %llu ended with node %llu leading",
				    c->target, lid);
		ledgerd_call_ok(n, c, json_pack("{s:b, s:I, s:o}", "success", 1, "new_leader_id",
						(json_int_t)lid, "message",
						lid == c->target
							? json_sprintf("leadership transferred to node %llu", lid)
							: json_sprintf("node %llu won the election instead of node %llu",
								       lid, c->target)));
		return;
	}
	if (clock_mono_ns() >= c->deadline_ns) {
		c->tick = NULL;
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE,
				   "leadership transfer to node %llu: no new leader within the timeout%s",
				   c->target, lid == n->cfg.id ? " (this node leads again)" : "");
	}
}

static void transfer_cb(struct raft_transfer *req)
{
	struct ledgerd_call *c = req->data;
	struct ledgerd_node *n = c->node;

	if (ledgerd_call_callback(n, c))
		return;
	if (raft_state(&n->raft) == RAFT_LEADER) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE,
				   "leadership transfer to node %llu did not complete (this node still leads)",
				   c->target);
		return;
	}
	c->tick = wait_new_leader;
	wait_new_leader(n, c);
}

void ledgerd_run_v1_transfer(struct ledgerd_node *n, struct ledgerd_call *c)
{
	uint64_t target = 0, timeout_ms = 0;
	int rv;

	v1_u64(&target, json_object_get(c->req, "target_node_id"));
	v1_u64(&timeout_ms, json_object_get(c->req, "timeout_ms"));
	if (raft_state(&n->raft) != RAFT_LEADER) {
		ledgerd_call_not_leader(n, c);
		return;
	}
	if (timeout_ms == 0)
		timeout_ms = LEDGER_V1_TRANSFER_DEFAULT_MS;
	if (timeout_ms > LEDGER_V1_TRANSFER_MAX_MS)
		timeout_ms = LEDGER_V1_TRANSFER_MAX_MS;
	if (timeout_ms > LEDGER_V1_TRANSFER_WAIT_MAX_MS)
		timeout_ms = LEDGER_V1_TRANSFER_WAIT_MAX_MS;
	if (target == 0 && (target = best_candidate(n)) == 0) {
		ledgerd_call_error(n, c, LEDGER_FAILED_PRECONDITION,
				   "no eligible transfer target: there is no other voter");
		return;
	}
	if (!is_other_voter(n, (raft_id)target)) {
		ledgerd_call_error(n, c, LEDGER_FAILED_PRECONDITION,
				   "no eligible transfer target: node %" PRIu64 " is not another voter",
				   target);
		return;
	}
	c->target = (raft_id)target;
	c->deadline_ns = clock_mono_ns() + (int64_t)timeout_ms * NS_PER_MS;
	c->transfer.data = c;
	c->pending++;
	rv = raft_transfer(&n->raft, &c->transfer, c->target, transfer_cb);
	if (rv != 0) {
		c->pending--;
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE,
				   "cannot transfer leadership to node %llu: %s", c->target,
				   raft_errmsg(&n->raft));
		return;
	}
	ledgerd_log("leadership transfer to node %llu started (ledger.v1, timeout %" PRIu64 " ms)",
		    c->target, timeout_ms);
}
