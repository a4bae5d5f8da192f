/* The etcd target's cluster status in GetClusterStatus shape
 * (docs/ledger-api.md), built from each member's /v3/maintenance/status.
 * Pure: the target fetches the answers, this file decides. */
#ifndef DR_HARNESS_TARGET_ETCD_ETCD_STATUS_H
#define DR_HARNESS_TARGET_ETCD_ETCD_STATUS_H

#include <jansson.h>
#include <stdint.h>

#include "harness/target/etcd/etcd_members.h"

/* A member whose raft index is within this many entries of the leader's
 * counts as replicated: the answers are fetched one member at a time, so
 * under a running workload exact equality would almost never be seen. */
#define ETCD_REPLICATED_MARGIN 64

struct etcd_member_answer {
	int reachable;       /* it answered /v3/maintenance/status */
	uint64_t member_id;  /* header.member_id */
	uint64_t leader;     /* leader (0: none known) */
	uint64_t raft_index;
	uint64_t raft_term;
	uint64_t applied;
};

/* Parse one status answer; -1 when it lacks the fields. */
int etcd_answer_parse(struct etcd_member_answer *out, json_t *answer);

/* {"leader":{id,name,address,region,region_role}|null, "term", "commit_index",
 *  "quorum", "replication", "view":"etcd", "members":[{id,name,address,region,
 *  region_role,zone,role,state,raft_id,match_index,applied_index,lag_entries,
 *  lag_seconds}]}.
 * members[i].raft_id is learned from the answers; caught_up_ns is updated
 * (lag_seconds is the time since a member was last seen caught up).  The
 * leader is the one the highest-term answers name, and only when it
 * answers itself (a dead leader is no leader to a client). */
json_t *etcd_status_build(struct etcd_member *members, const struct etcd_member_answer *answers,
			  int n, int64_t now_ns);

#endif
