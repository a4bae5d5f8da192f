/* Admin/GetClusterStatus: the leader's view of replication (libraft keeps
 * per-follower progress on the leader only), or a node's own view when it
 * knows no leader. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/svc.h"

static const char *role_name(int role)
{
	switch (role) {
	case RAFT_VOTER: return "voter";
	case RAFT_STANDBY: return "standby";
	default: return "spare";
	}
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *ledgerd_cluster_status(struct ledgerd_node *n)
{
	struct raft *r = &n->raft;
	int is_leader = raft_state(r) == RAFT_LEADER;
	int64_t now = clock_mono_ns(), timeout = (int64_t)n->cfg.election_ms * NS_PER_MS;
	raft_index last = raft_last_index(r);
	uint64_t max_behind = 0;
	unsigned i, voters = 0, alive = 0, unreachable = 0;
	json_t *members = json_array(), *st;
	char *replication;

	for (i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		json_t *m = json_object();
		const char *state;
		raft_index match = 0;
		int64_t contact = 0;
		double lag_s = 0;

		if (s->id == n->cfg.id) {
			state = is_leader ? "leader" : raft_state(r) == RAFT_CANDIDATE ? "candidate" : "follower";
			match = last;
			contact = now;
		} else if (is_leader) {
			contact = ledgerd_member_last_contact_ns(n, s->id);
			state = contact && now - contact <= timeout ? "follower" : "unreachable";
			match = r->leader_state.progress[i].match_index;
		} else {
			raft_id lid = 0;
			const char *la = NULL;
			raft_leader(r, &lid, &la);
			state = lid == s->id ? "leader" : "unreachable";
		}
		if (s->role == RAFT_VOTER) {
			voters++;
			if (!strcmp(state, "leader") || !strcmp(state, "follower") ||
			    (s->id == n->cfg.id && is_leader))
				alive++;
		}
		if (is_leader && match < last) {
			int64_t t = ledgerd_ring_time(n, match + 1);
			if (!t)
				t = n->leader_since_ns;
			lag_s = t ? (double)(now - t) / 1e9 : 0;
		}
		/* Entries appended within the last heartbeat are in flight to a
		 * healthy follower, not lag: under a steady write load a strict
		 * "match == last" would never report "Fully replicated". */
		if (is_leader && s->role != RAFT_SPARE && last - match > max_behind &&
		    (lag_s * 1e9 > (double)n->cfg.heartbeat_ms * NS_PER_MS || strcmp(state, "unreachable") == 0))
			max_behind = last - match;
		if (is_leader && s->role != RAFT_SPARE && strcmp(state, "unreachable") == 0)
			unreachable++;
		json_object_set_new(m, "id", json_integer((json_int_t)s->id));
		json_object_set_new(m, "address", str_or_null(ledgerd_member_str(n, s->id, "address")));
		if (ledgerd_member_str(n, s->id, "http_address"))
			json_object_set_new(m, "http_address",
					    json_string(ledgerd_member_str(n, s->id, "http_address")));
		json_object_set_new(m, "raft_address", json_string(s->address));
		json_object_set_new(m, "region", str_or_null(ledgerd_member_str(n, s->id, "region")));
		json_object_set_new(m, "region_role",
				    str_or_null(ledgerd_member_str(n, s->id, "region_role")));
		json_object_set_new(m, "zone", str_or_null(ledgerd_member_str(n, s->id, "zone")));
		json_object_set_new(m, "role", json_string(role_name(s->role)));
		json_object_set_new(m, "state", json_string(state));
		json_object_set_new(m, "match_index", json_integer((json_int_t)match));
		json_object_set_new(m, "lag_entries", json_integer(is_leader ? (json_int_t)(last - match) : 0));
		json_object_set_new(m, "lag_seconds", json_real(lag_s));
		json_object_set_new(m, "last_contact_ms",
				    contact ? json_integer((json_int_t)((now - contact) / NS_PER_MS))
					    : json_null());
		json_array_append_new(members, m);
	}
	if (!is_leader)
		replication = xstrdup("Unknown (no leader view)");
	else if (max_behind == 0 && unreachable == 0)
		replication = xstrdup("Fully replicated");
	else if (unreachable)
		replication = xasprintf("Replicating (%" PRIu64 " behind, %u unreachable)", max_behind,
					unreachable);
	else
		replication = xasprintf("Replicating (%" PRIu64 " behind)", max_behind);
	st = json_pack("{s:s, s:I, s:I, s:I, s:o, s:b, s:s, s:I, s:I, s:o}",
		       "cluster_id", n->peers.cluster_id, "node_id", (json_int_t)n->cfg.id,
		       "term", (json_int_t)r->current_term,
		       "commit_index", (json_int_t)r->commit_index,
		       "leader", ledgerd_leader_json(n),
		       "quorum", is_leader && alive >= voters / 2 + 1,
		       "replication", replication,
		       "last_index", (json_int_t)ledger_fsm_last_index(&n->ledger),
		       "voters", (json_int_t)voters,
		       "members", members);
	json_object_set_new(st, "view", json_string(is_leader ? "leader" : "own"));
	free(replication);
	return st;
}

void ledgerd_run_status(struct ledgerd_node *n, struct ledgerd_call *c)
{
	if (raft_state(&n->raft) != RAFT_LEADER && ledgerd_call_forward_to_leader(n, c))
		return;
	ledgerd_call_ok(n, c, ledgerd_cluster_status(n));
}
