/* Unsafe promotion of a region without quorum, and re-adding the nodes it
 * fenced.
 *
 * Promotion: stop the region's survivors, pick the one with the highest
 * term then the longest log (`ledgerd info`), force a configuration of just
 * the survivors on it (`ledgerd recover`, libraft's raft_recover, which
 * needs a stopped node), copy its data to the other survivors and restart
 * them under a new cluster id.  Every other node is fenced: it still holds
 * a quorum of the old configuration, so starting it with its old data
 * would be split brain.  Scaling a fenced node's region back up wipes its
 * data and joins it as a new member (AddMember on the leader). */
#include "ledger/cluster/supervisor_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/cluster/cluster_fs.h"

#define TOOL_TIMEOUT_NS (30 * NS_PER_SEC)
#define ADD_MEMBER_TIMEOUT_NS (60 * NS_PER_SEC)

/* ledgerd keeps who it is and its cluster's members in DATA/ledgerd.json.
 * A survivor given a copy of the chosen node's data must keep its own id:
 * its copy of the file is rewritten here. */
static int write_identity(struct supervisor *sv, struct cluster_node *n, struct dr_error *err)
{
	json_t *peers = cluster_state_peers_json(&sv->st);
	char *path = xasprintf("%s/ledgerd.json", n->data), *text;
	int rc;

	json_object_set_new(peers, "self_id", json_integer(n->id));
	text = json_dumps(peers, JSON_INDENT(2));
	rc = fs_write_atomic(path, text, strlen(text), err);
	free(text);
	free(path);
	json_decref(peers);
	return rc;
}

struct raft_info {
	long long term;
	long long last_term;   /* term of the last log entry (Raft's up-to-date rule) */
	long long last_index;
	long long ledger_last_index; /* -1: not printed (an older ledgerd) */
	long long block_height;      /* ledger.v1's index; -1: not printed */
};

/* Run ledgerd with argv after the binary; capture and check its exit. */
static int run_ledgerd(char **out_stdout, struct supervisor *sv, const char **args,
		       struct dr_error *err)
{
	const char *argv[16];
	struct proc_result res;
	char *shown;
	int argc = 0, rc = -1;

	argv[argc++] = sv->st.ledgerd;
	for (int i = 0; args[i] && argc < 15; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	shown = proc_argv_display((char *const *)argv);
	sv_log("run %s", shown);
	if (proc_run(&res, (char *const *)argv, NULL, TOOL_TIMEOUT_NS, 1 << 20, err) != 0)
		goto out;
	if (!res.exited || res.exit_code != 0) {
		dr_error_set(err, "'%s' failed (%s%d): %.400s", shown,
			     res.exited ? "exit " : "signal ",
			     res.exited ? res.exit_code : res.term_signal,
			     res.errout && *res.errout ? res.errout : "(no output)");
		proc_result_release(&res);
		goto out;
	}
	if (out_stdout)
		*out_stdout = xstrdup(res.out ? res.out : "");
	proc_result_release(&res);
	rc = 0;
out:
	free(shown);
	return rc;
}

static int node_info(struct raft_info *out, struct supervisor *sv,
		     struct cluster_node *n, struct dr_error *err)
{
	const char *args[] = { "info", "--data", n->data, NULL };
	char *text = NULL;
	json_t *root = NULL;
	json_error_t jerr;
	int rc = -1;

	if (run_ledgerd(&text, sv, args, err) != 0)
		goto out;
	root = json_loads(text, 0, &jerr);
	if (!json_is_integer(json_object_get(root, "term")) ||
	    !json_is_integer(json_object_get(root, "last_index"))) {
		dr_error_set(err, "'ledgerd info --data %s' did not print {\"term\":N,\"last_index\":N}: %.200s",
			     n->data, text);
		goto out;
	}
	out->term = json_integer_value(json_object_get(root, "term"));
	out->last_index = json_integer_value(json_object_get(root, "last_index"));
	/* Older ledgerd printed no last_term: fall back to the current term. */
	out->last_term = json_is_integer(json_object_get(root, "last_term"))
			 ? json_integer_value(json_object_get(root, "last_term")) : out->term;
	out->ledger_last_index = json_is_integer(json_object_get(root, "ledger_last_index"))
				 ? json_integer_value(json_object_get(root, "ledger_last_index")) : -1;
	out->block_height = json_is_integer(json_object_get(root, "block_height"))
			    ? json_integer_value(json_object_get(root, "block_height")) : -1;
	rc = 0;
out:
	json_decref(root);
	free(text);
	return rc;
}

json_t *sv_cmd_promote(struct supervisor *sv, json_t *req)
{
	const char *region = json_string_value(json_object_get(req, "region"));
	struct cluster_node *surv[CLUSTER_MAX_NODES], *others[CLUSTER_MAX_NODES];
	struct raft_info info[CLUSTER_MAX_NODES];
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_region *reg;
	struct strbuf voters = STRBUF_INIT;
	char old_id[64];
	json_t *answer = NULL, *fenced = NULL, *vj = NULL;
	int nsurv = 0, nothers = 0, best = 0;

	if (!region)
		return sv_error("'region' must be a region name");
	reg = cluster_state_region(&sv->st, region);
	if (!reg)
		return sv_error("no region '%s' in this cluster", region);
	if (reg->role == CLUSTER_ROLE_WITNESS)
		return sv_error("region '%s' is a witness region and cannot take over", region);
	if (!json_is_true(json_object_get(req, "allow_data_loss")))
		return sv_error("promoting region '%s' without a quorum is unsafe (acknowledged writes may be lost): it needs \"allow_data_loss\": true",
				region);
	for (int i = 0; i < sv->st.nnodes; i++) {
		struct cluster_node *n = &sv->st.nodes[i];

		if (n->fenced)
			continue;
		if (strcmp(n->region, region) == 0 && n->pid)
			surv[nsurv++] = n;
		else
			others[nothers++] = n;
	}
	if (nsurv == 0)
		return sv_error("region '%s' has no running node to promote", region);
	if (!json_is_true(json_object_get(req, "wait"))) {
		json_t *ids = json_array();

		for (int i = 0; i < nsurv; i++)
			json_array_append_new(ids, json_integer(surv[i]->id));
		json_decref(sv->deferred);
		sv->deferred = json_deep_copy(req);
		json_object_set_new(sv->deferred, "wait", json_true());
		sv_log("unsafe promotion of region '%s' accepted; it runs once answered", region);
		return json_pack("{s:b,s:b,s:b,s:s,s:o}", "ok", 1, "unsafe", 1, "accepted", 1,
				 "region", region, "survivors", ids);
	}
	sv_log("unsafe promotion of region '%s': %d survivors", region, nsurv);
	/* Stop the survivors; they are restarted below (or by the reconcile
	 * loop with their old data if anything fails before the recovery). */
	sv_nodes_stop(sv, surv, nsurv);
	for (int i = 0; i < nsurv; i++) {
		if (node_info(&info[i], sv, surv[i], &err) != 0) {
			answer = sv_error("promote '%s': %s", region, err.msg);
			goto out;
		}
		sv_log("node %d: term %lld, last index %lld", surv[i]->id, info[i].term,
		       info[i].last_index);
		/* Raft's "at least as up-to-date": the last entry's term first,
		 * then the log length.  A node that merely voted in a newer term
		 * (a higher current term) can have the shorter log. */
		if (info[i].last_term > info[best].last_term ||
		    (info[i].last_term == info[best].last_term &&
		     info[i].last_index > info[best].last_index))
			best = i;
	}
	/* From here on the old configuration is abandoned: fence everything
	 * outside the survivors (stopping what still runs) before any survivor
	 * comes back under the new configuration. */
	fenced = json_array();
	for (int i = 0; i < nothers; i++) {
		others[i]->fenced = 1;
		json_array_append_new(fenced, json_integer(others[i]->id));
	}
	sv_nodes_stop(sv, others, nothers);
	str_copy(old_id, sizeof(old_id), sv->st.cluster_id);
	cluster_new_id(sv->st.cluster_id, sizeof(sv->st.cluster_id));
	vj = json_array();
	for (int i = 0; i < nsurv; i++) {
		strbuf_addf(&voters, "%s%d", i ? "," : "", surv[i]->id);
		json_array_append_new(vj, json_integer(surv[i]->id));
	}
	if (cluster_state_write_peers(&sv->st, &err) != 0) {
		answer = sv_error("promote '%s': %s", region, err.msg);
		goto out;
	}
	sv_save(sv);
	{
		char *peers = cluster_path(sv->st.dir, "peers.json");
		const char *args[] = { "recover", "--data", surv[best]->data, "--peers", peers,
				       "--voters", voters.buf, NULL };
		int r = run_ledgerd(NULL, sv, args, &err);

		free(peers);
		if (r != 0) {
			answer = sv_error("promote '%s': %s", region, err.msg);
			goto out;
		}
	}
	for (int i = 0; i < nsurv; i++) {
		if (i == best)
			continue;
		if (fs_remove_tree(surv[i]->data, &err) != 0 ||
		    cluster_copy_tree(surv[best]->data, surv[i]->data, &err) != 0 ||
		    write_identity(sv, surv[i], &err) != 0) {
			answer = sv_error("promote '%s': copying node %d's data to node %d: %s",
					  region, surv[best]->id, surv[i]->id, err.msg);
			goto out;
		}
	}
	sv_log("region '%s' promoted: voters %s from node %d (term %lld, last index %lld), cluster id %s -> %s",
	       region, voters.buf, surv[best]->id, info[best].term, info[best].last_index,
	       old_id, sv->st.cluster_id);
	sv_reconcile(sv);
	answer = json_pack("{s:b,s:b,s:s,s:s,s:s,s:O,s:O,s:{s:i,s:I,s:I}}",
			   "ok", 1, "unsafe", 1,
			   "warning", "unsafe promotion without quorum: acknowledged writes the chosen node had not received are lost",
			   "cluster_id", sv->st.cluster_id, "previous_cluster_id", old_id,
			   "voters", vj, "fenced", fenced,
			   "chosen", "node", surv[best]->id, "term", (json_int_t)info[best].term,
			   "last_index", (json_int_t)info[best].last_index);
	/* last_index is a Raft index; what the new cluster's ledger starts from
	 * is the ledger index, or for ledger.v1 Writes the block height
	 * (several Appends share one Raft entry). */
	if (info[best].ledger_last_index >= 0)
		json_object_set_new(json_object_get(answer, "chosen"), "ledger_last_index",
				    json_integer(info[best].ledger_last_index));
	if (info[best].block_height >= 0)
		json_object_set_new(json_object_get(answer, "chosen"), "block_height",
				    json_integer(info[best].block_height));
out:
	json_decref(vj);
	json_decref(fenced);
	strbuf_release(&voters);
	sv_save(sv);
	return answer;
}

/* The leader's HTTP address as some running node reports it. */
static int find_leader(char *buf, size_t len, struct supervisor *sv, const char *auth,
		       struct dr_error *err)
{
	for (int i = 0; i < sv->st.nnodes; i++) {
		struct cluster_node *n = &sv->st.nodes[i];
		json_t *status = NULL, *leader;
		struct dr_error e = DR_ERROR_INIT;

		if (!n->pid || n->paused)
			continue;
		if (cluster_api_call(&status, auth, n->address,
				      "inferadb.ledger.v1.Admin/GetClusterStatus", NULL,
				      2 * NS_PER_SEC, &e) == 0) {
			leader = json_object_get(status, "leader");
			if (json_is_string(json_object_get(leader, "address"))) {
				str_copy(buf, len, json_string_value(json_object_get(leader, "address")));
				json_decref(status);
				return 0;
			}
		}
		json_decref(status);
	}
	return dr_error_set(err, "no running node knows a leader to add members to");
}

static int add_member(struct supervisor *sv, struct cluster_node *n, struct dr_error *err)
{
	int64_t deadline = clock_mono_ns() + ADD_MEMBER_TIMEOUT_NS;
	json_t *body = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s,s:s}", "id", n->id,
				 "address", n->address, "http_address", n->http_address,
				 "raft_address", n->raft_address,
				 "region", n->region, "region_role", cluster_role_name(n->role),
				 "zone", n->zone);
	char *auth = cluster_admin_token(sv->st.dir);
	int rc = -1;

	/* Retried: leadership may move, and a fresh leader may still be
	 * finishing its barrier. */
	while (rc != 0 && clock_mono_ns() < deadline) {
		char leader[64];
		json_t *answer = NULL;

		if (!cluster_pid_live(n->pid)) {
			dr_error_set(err, "node %d exited while joining (%s)", n->id, n->log);
			break;
		}
		if (find_leader(leader, sizeof(leader), sv, auth, err) == 0 &&
		    cluster_api_call(&answer, auth, leader, "inferadb.ledger.v1.Admin/AddMember",
				      body, 30 * NS_PER_SEC, err) == 0)
			rc = 0;
		json_decref(answer);
		if (rc != 0)
			clock_sleep_ns(200 * NS_PER_MS);
	}
	if (rc != 0)
		dr_error_wrap(err, "cannot add node %d as a member", n->id);
	json_decref(body);
	free(auth);
	return rc;
}

int sv_rejoin_fenced(struct supervisor *sv, struct cluster_node **nodes, int count,
		     struct dr_error *err)
{
	for (int i = 0; i < count; i++) {
		struct cluster_node *n = nodes[i];

		sv_log("re-adding fenced node %d as a new member (its old data is wiped)", n->id);
		if (fs_remove_tree(n->data, err) != 0 || fs_mkdir_p(n->data, err) != 0)
			return -1;
		n->fenced = 0;
		n->join = 1;
		if (cluster_state_write_peers(&sv->st, err) != 0)
			return -1;
		/* Start it first: the leader's catch-up before the promotion to
		 * voter needs the new node to answer. */
		if (sv_node_start(sv, n, err) != 0)
			return -1;
		sv_save(sv);
		if (add_member(sv, n, err) != 0)
			return -1;
		sv_log("node %d is a member again", n->id);
	}
	return 0;
}
