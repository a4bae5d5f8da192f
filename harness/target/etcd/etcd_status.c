#include "harness/target/etcd/etcd_status.h"

#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "harness/target/etcd/etcd_http.h"

int etcd_answer_parse(struct etcd_member_answer *out, json_t *answer)
{
	json_t *header = json_object_get(answer, "header");

	memset(out, 0, sizeof(*out));
	if (etcd_u64(&out->member_id, json_object_get(header, "member_id")) != 0 ||
	    etcd_u64(&out->raft_index, json_object_get(answer, "raftIndex")) != 0)
		return -1;
	/* The gateway omits zero values: no "leader" means none is known. */
	if (etcd_u64(&out->leader, json_object_get(answer, "leader")) != 0)
		out->leader = 0;
	if (etcd_u64(&out->raft_term, json_object_get(answer, "raftTerm")) != 0)
		etcd_u64(&out->raft_term, json_object_get(header, "raft_term"));
	if (etcd_u64(&out->applied, json_object_get(answer, "raftAppliedIndex")) != 0)
		out->applied = out->raft_index;
	out->reachable = 1;
	return 0;
}

static int find_by_raft_id(const struct etcd_member *members, int n, uint64_t id)
{
	for (int i = 0; id && i < n; i++)
		if (members[i].raft_id == id)
			return i;
	return -1;
}

json_t *etcd_status_build(struct etcd_member *members, const struct etcd_member_answer *answers,
			  int n, int64_t now_ns)
{
	json_t *out = json_object(), *list = json_array(), *leader = json_null();
	uint64_t term = 0, leader_raft = 0, leader_index = 0, max_lag = 0;
	int leader_idx = -1, reachable = 0, behind = 0;

	for (int i = 0; i < n; i++) {
		if (!answers[i].reachable)
			continue;
		reachable++;
		if (answers[i].member_id)
			members[i].raft_id = answers[i].member_id;
		if (answers[i].raft_term > term)
			term = answers[i].raft_term;
	}
	/* The leader named at the highest term; a member that lags a term
	 * behind may still name a deposed one. */
	for (int i = 0; i < n; i++)
		if (answers[i].reachable && answers[i].raft_term == term && answers[i].leader) {
			leader_raft = answers[i].leader;
			break;
		}
	leader_idx = find_by_raft_id(members, n, leader_raft);
	/* The leader must answer and say so itself: followers keep naming a
	 * killed leader until they time out, and a restarted one answers at
	 * once but leads nothing yet. */
	if (leader_idx >= 0 && (!answers[leader_idx].reachable ||
				answers[leader_idx].leader != answers[leader_idx].member_id))
		leader_idx = -1;
	if (leader_idx >= 0) {
		const struct etcd_member *lm = &members[leader_idx];

		leader_index = answers[leader_idx].raft_index;
		leader = json_pack("{s:i,s:s,s:s,s:s,s:s}", "id", lm->id, "name", lm->name,
				   "address", lm->address, "region", lm->region,
				   "region_role", lm->region_role);
	}
	for (int i = 0; i < n; i++) {
		struct etcd_member *m = &members[i];
		const struct etcd_member_answer *a = &answers[i];
		uint64_t lag = 0;
		const char *state;
		json_t *entry;

		if (!a->reachable)
			state = "unreachable";
		else if (i == leader_idx)
			state = "leader";
		else
			state = "follower";
		if (leader_idx >= 0 && a->reachable && leader_index > a->raft_index)
			lag = leader_index - a->raft_index;
		if (leader_idx >= 0 && a->reachable && lag <= ETCD_REPLICATED_MARGIN)
			m->caught_up_ns = now_ns;
		if (!a->reachable || lag > ETCD_REPLICATED_MARGIN)
			behind++;
		if (lag > max_lag)
			max_lag = lag;
		entry = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", m->id, "name", m->name,
				  "address", m->address, "region", m->region,
				  "region_role", m->region_role, "zone", m->region,
				  "role", "voter", "state", state);
		if (m->raft_id) {
			char id[24];

			snprintf(id, sizeof(id), "%llx", (unsigned long long)m->raft_id);
			json_object_set_new(entry, "raft_id", json_string(id));
		}
		if (a->reachable) {
			json_object_set_new(entry, "match_index", json_integer((json_int_t)a->raft_index));
			json_object_set_new(entry, "applied_index", json_integer((json_int_t)a->applied));
			json_object_set_new(entry, "term", json_integer((json_int_t)a->raft_term));
		}
		json_object_set_new(entry, "lag_entries", json_integer((json_int_t)lag));
		json_object_set_new(entry, "lag_seconds",
				    json_real(lag > ETCD_REPLICATED_MARGIN && m->caught_up_ns > 0
					      ? (double)(now_ns - m->caught_up_ns) / 1e9 : 0.0));
		json_array_append_new(list, entry);
	}
	json_object_set_new(out, "leader", leader);
	json_object_set_new(out, "term", json_integer((json_int_t)term));
	json_object_set_new(out, "commit_index", json_integer((json_int_t)leader_index));
	json_object_set_new(out, "quorum", json_boolean(leader_idx >= 0 && reachable > n / 2));
	if (leader_idx < 0) {
		json_object_set_new(out, "replication", json_string("Unknown (no leader)"));
	} else if (behind == 0) {
		json_object_set_new(out, "replication", json_string("Fully replicated"));
	} else {
		char text[64];

		snprintf(text, sizeof(text), "Replicating (%d of %d members behind or down)", behind, n);
		if (reachable == n)
			snprintf(text, sizeof(text), "Replicating (%llu behind)",
				 (unsigned long long)max_lag);
		json_object_set_new(out, "replication", json_string(text));
	}
	json_object_set_new(out, "view", json_string("etcd"));
	json_object_set_new(out, "voters", json_integer(n));
	json_object_set_new(out, "members", list);
	return out;
}
