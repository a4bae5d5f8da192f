/* `restore`: a separate cluster seeded from a snapshot file, in
 * DIR/restored/.  It is a cluster directory of its own with its own
 * supervisor (so `drillrig cluster ... --cluster DIR/restored` works on it);
 * this supervisor starts it and takes it down with itself. */
#include "ledger/cluster/supervisor_impl.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/strbuf.h"

static char *restored_dir(struct supervisor *sv)
{
	return cluster_path(sv->st.dir, "restored");
}

void sv_restore_down(struct supervisor *sv)
{
	struct dr_error err = DR_ERROR_INIT;
	char *dir = restored_dir(sv);
	char *state = cluster_path(dir, "cluster.json");

	if (fs_exists(state) && cluster_down(dir, &err) != 0)
		sv_log("restored cluster: %s", err.msg);
	free(state);
	free(dir);
}

json_t *sv_cmd_restore(struct supervisor *sv, json_t *req)
{
	const char *snapshot = json_string_value(json_object_get(req, "snapshot"));
	const char *topology = json_string_value(json_object_get(req, "topology"));
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_spec spec;
	struct cluster_state rst;
	char *dir = restored_dir(sv);
	json_t *answer = NULL, *nodes;

	memset(&rst, 0, sizeof(rst));
	if (!snapshot || snapshot[0] != '/') {
		answer = sv_error("'snapshot' must be an absolute path to a snapshot file");
		goto out;
	}
	if (access(snapshot, R_OK) != 0) {
		answer = sv_error("cannot read snapshot '%s'", snapshot);
		goto out;
	}
	cluster_spec_init(&spec);
	spec.nregions = 0;
	for (int i = 0; i < sv->st.nregions; i++) {
		struct cluster_region_spec *r = &spec.regions[spec.nregions++];

		str_copy(r->name, sizeof(r->name), sv->st.regions[i].name);
		r->role = sv->st.regions[i].role;
		r->size = sv->st.regions[i].size;
		r->zones = sv->st.regions[i].zones;
	}
	if (topology && cluster_topology_parse(&spec, topology, &err) != 0) {
		answer = sv_error("restore: %s", err.msg);
		goto out;
	}
	spec.election_timeout_ms = sv->st.election_timeout_ms;
	spec.heartbeat_ms = sv->st.heartbeat_ms;
	spec.enable_debug = sv->st.enable_debug;
	spec.ledgerd_path = sv->st.ledgerd;
	spec.seed_snapshot = snapshot;
	/* a node relaying RestoreFromSnapshot waits 20 s for this answer */
	spec.ready_timeout_ns = 15 * INT64_C(1000000000);
	/* An earlier restored cluster is replaced, never left running. */
	sv_restore_down(sv);
	if (fs_remove_tree(dir, &err) != 0) {
		answer = sv_error("restore: %s", err.msg);
		goto out;
	}
	sv_log("restoring snapshot '%s' into a new cluster in '%s'", snapshot, dir);
	if (cluster_up(dir, &spec, &err) != 0 || cluster_state_load(&rst, dir, &err) != 0) {
		answer = sv_error("restore from '%s': %s", snapshot, err.msg);
		goto out;
	}
	nodes = json_array();
	for (int i = 0; i < rst.nnodes; i++)
		json_array_append_new(nodes, json_pack("{s:i,s:s,s:s,s:s,s:s}", "id",
						       rst.nodes[i].id, "address",
						       rst.nodes[i].address, "http_address",
						       rst.nodes[i].http_address, "raft_address",
						       rst.nodes[i].raft_address, "region",
						       rst.nodes[i].region));
	answer = json_pack("{s:b,s:s,s:s,s:s,s:o}", "ok", 1, "cluster", dir, "cluster_id",
			   rst.cluster_id, "snapshot", snapshot, "nodes", nodes);
out:
	cluster_state_release(&rst);
	free(dir);
	return answer;
}

json_t *sv_cmd_restore_down(struct supervisor *sv, json_t *req)
{
	struct dr_error err = DR_ERROR_INIT;
	char *dir = restored_dir(sv);
	char *state = cluster_path(dir, "cluster.json");
	json_t *answer;

	(void)req;
	if (!fs_exists(state))
		answer = sv_error("no restored cluster in '%s'", dir);
	else if (cluster_down(dir, &err) != 0)
		answer = sv_error("restore-down: %s", err.msg);
	else
		answer = json_pack("{s:b,s:s}", "ok", 1, "cluster", dir);
	free(state);
	free(dir);
	return answer;
}
