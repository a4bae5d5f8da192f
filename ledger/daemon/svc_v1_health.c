/* ledger.v1 HealthService/Check (loop thread): this node's health with
 * the public enum's names.
 *   HEALTHY      it knows a leader and is ready (a leader: its
 *                post-election barrier applied; a follower: applying
 *                what the leader committed)
 *   DEGRADED     it knows a leader but is not ready: a leader just
 *                elected, or a follower behind the leader's commit for
 *                longer than an election timeout
 *   UNAVAILABLE  it knows no leader (no quorum from here, or an election),
 *                or it is stopping (SIGTERM: a leader hands over first)
 * The answer is a gRPC OK in every case; details carry current_term,
 * leader_id, member_count and block_height. */
#include <inttypes.h>

#include "common/clock.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/svc_v1.h"

static json_t *u64_text(uint64_t v)
{
	return json_sprintf("%" PRIu64, v);
}

void ledgerd_run_v1_health(struct ledgerd_node *n, struct ledgerd_call *c)
{
	struct raft *r = &n->raft;
	raft_id lid = 0;
	const char *laddr = NULL, *status, *message;
	int64_t now = clock_mono_ns();
	json_t *details;
	unsigned voters = 0;

	for (unsigned i = 0; i < r->configuration.n; i++)
		voters += r->configuration.servers[i].role == RAFT_VOTER;
	raft_leader(r, &lid, &laddr);
	if (n->stop_requested) {
		status = "HEALTH_STATUS_UNAVAILABLE";
		message = "node is shutting down";
	} else if (!lid) {
		status = "HEALTH_STATUS_UNAVAILABLE";
		message = "no leader known";
	} else if (lid == n->cfg.id && !n->ready) {
		status = "HEALTH_STATUS_DEGRADED";
		message = "leader just elected, not ready yet";
	} else if (lid != n->cfg.id && n->behind_since_ns &&
		   now - n->behind_since_ns > (int64_t)n->cfg.election_ms * NS_PER_MS) {
		status = "HEALTH_STATUS_DEGRADED";
		message = "catching up with the leader";
	} else {
		status = "HEALTH_STATUS_HEALTHY";
		message = "node is healthy and has a leader";
	}
	details = json_pack("{s:o, s:o, s:o, s:o}", "current_term", u64_text(r->current_term),
			    "member_count", u64_text(voters), "block_height",
			    u64_text(n->ledger.ents.height), "is_leader",
			    json_string(lid == n->cfg.id ? "true" : "false"));
	if (lid)
		json_object_set_new(details, "leader_id", u64_text(lid));
	ledgerd_call_ok(n, c, json_pack("{s:s, s:s, s:o}", "status", status, "message", message,
					"details", details));
}
