/* ledger.v1 AdminService/GetClusterInfo and CreateSnapshot (loop thread),
 * from the native handlers' sources: the cluster status and the snapshot
 * writer. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/snapfile.h"
#include "ledger/daemon/svc.h"
#include "ledger/daemon/svc_v1.h"

static const char *member_role(const char *role)
{
	if (role && strcmp(role, "voter") == 0)
		return "CLUSTER_MEMBER_ROLE_VOTER";
	if (role && strcmp(role, "standby") == 0) /* replicates, does not vote */
		return "CLUSTER_MEMBER_ROLE_LEARNER";
	return "CLUSTER_MEMBER_ROLE_UNSPECIFIED"; /* a spare: neither */
}

/* This node's own view, as the public ledger answers it (no forwarding):
 * the members of the Raft configuration, the leader it knows, its term. */
void ledgerd_run_v1_cluster_info(struct ledgerd_node *n, struct ledgerd_call *c)
{
	json_t *st = ledgerd_cluster_status(n), *m, *members = json_array();
	json_int_t leader = json_integer_value(json_object_get(json_object_get(st, "leader"), "id"));
	size_t i;

	json_array_foreach(json_object_get(st, "members"), i, m) {
		json_int_t id = json_integer_value(json_object_get(m, "id"));
		const char *addr = json_string_value(json_object_get(m, "address"));

		json_array_append_new(members, json_pack("{s:I, s:s, s:s, s:b}", "node_id", id,
							 "address", addr ? addr : "", "role",
							 member_role(json_string_value(json_object_get(m, "role"))),
							 "is_leader", leader != 0 && id == leader));
	}
	ledgerd_call_ok(n, c, json_pack("{s:o, s:I, s:O}", "members", members, "leader_id", leader,
					"term", json_object_get(st, "term")));
	json_decref(st);
}

/* Helper thread: write what the loop captured. */
static void v1_snapshot_build(struct ledgerd_call *c, void *arg)
{
	struct ledgerd_snapjob *j = arg;
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_snapinfo info;

	if (ledgerd_snapshot_write(j, &info, &err) != 0) {
		ledgerd_built_error(c, LEDGER_UNAVAILABLE, "%s", err.msg);
	} else {
		ledgerd_log("snapshot written: %s (block height %" PRIu64 ", %zu bytes, sha256 %s)",
			    j->path, j->height, info.size, info.sha256);
		ledgerd_built_ok(c, json_pack("{s:I, s:s}", "block_height", (json_int_t)j->height,
					      "snapshot_path", j->path));
	}
	ledgerd_snapjob_free(j);
}

/* The node's applied state (entities and the native ledger) written to a
 * snapshot file on this node, as the native CreateSnapshot writes it:
 * captured on the loop, written off it (ledger/daemon/snapshot_take.c). */
void ledgerd_run_v1_snapshot(struct ledgerd_node *n, struct ledgerd_call *c)
{
	char *path;

	if (ledgerd_snapshot_busy()) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, LEDGERD_SNAPSHOT_BUSY_MSG,
				   LEDGERD_SNAPSHOTS_IN_FLIGHT);
		return;
	}
	path = xasprintf("%s/snapshot-%" PRIu64 "-%" PRId64 ".ledgersnap", n->snap_dir,
			       ledger_fsm_last_index(&n->ledger), clock_wall_ns() / NS_PER_MS);

	ledgerd_call_build(n, c, v1_snapshot_build, ledgerd_snapshot_capture(n, path),
			   ledgerd_snapjob_free);
}
