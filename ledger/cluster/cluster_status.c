/* The cluster as its nodes and its supervisor see it. */
#include "ledger/cluster/cluster_state.h"

#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"

#define STATUS_PATH "inferadb.ledger.v1.Admin/GetClusterStatus"

static int should_run(json_t *n)
{
	const char *p = json_string_value(json_object_get(n, "process"));

	return p && (strcmp(p, "running") == 0 || strcmp(p, "restarting") == 0);
}

int cluster_status(json_t **out, const char *dir, struct dr_error *err)
{
	json_t *sup = NULL, *status = NULL, *fallback = NULL, *nodes, *members, *m;
	json_t *unanswered = json_array();
	char *auth = cluster_admin_token(dir);
	size_t i, asked = 0;
	int rc = -1;

	*out = NULL;
	if (cluster_supervisor_status(&sup, dir, err) != 0) {
		dr_error_wrap(err, "cluster '%s'", dir);
		goto out;
	}
	nodes = json_object_get(sup, "nodes");
	json_array_foreach(nodes, i, m) {
		struct dr_error e = DR_ERROR_INIT;
		json_t *s = NULL;
		const char *addr = json_string_value(json_object_get(m, "address"));
		const char *proc = json_string_value(json_object_get(m, "process"));

		if (!addr || !proc || strcmp(proc, "running") != 0)
			continue;
		asked++;
		if (cluster_api_call(&s, auth, addr, STATUS_PATH, NULL, 2 * NS_PER_SEC, &e) != 0) {
			/* Its process runs but it did not answer us: what the
			 * leader says of it may still be right, but this view is
			 * not the whole cluster's (issue 17: a node drowned in
			 * connections was shown "unreachable" and nothing more). */
			json_array_append_new(unanswered, json_pack("{s:O,s:s}", "id",
					      json_object_get(m, "id"), "error", e.msg));
			json_decref(s);
			continue;
		}
		/* Ask every node and trust the highest term: a deposed leader cut
		 * off by a partition still calls itself leader for a while. */
		if (json_is_object(json_object_get(s, "leader")) &&
		    (!status || json_integer_value(json_object_get(s, "term")) >
				json_integer_value(json_object_get(status, "term")))) {
			json_decref(status);
			status = s;
		} else if (!fallback) {
			fallback = s;
		} else {
			json_decref(s);
		}
	}
	if (!status) {
		status = fallback;
		fallback = NULL;
	}
	if (!status)
		status = json_pack("{s:O,s:n,s:b,s:s,s:[]}", "cluster_id",
				   json_object_get(sup, "cluster_id"), "leader", "quorum", 0,
				   "replication", "unknown: no node answers", "members");
	members = json_object_get(status, "members");
	json_array_foreach(members, i, m) {
		json_t *n = ledger_member_by_id(nodes, json_integer_value(json_object_get(m, "id")));

		if (!n)
			continue;
		json_object_set(m, "pid", json_object_get(n, "pid"));
		json_object_set(m, "process", json_object_get(n, "process"));
		json_object_set(m, "restarts", json_object_get(n, "restarts"));
	}
	json_object_set(status, "nodes", nodes);
	json_object_set_new(status, "coverage", json_pack("{s:s,s:I,s:I,s:O}", "view",
			    json_array_size(unanswered) ? "partial" : "complete", "asked",
			    (json_int_t)asked, "answered",
			    (json_int_t)(asked - json_array_size(unanswered)), "unanswered",
			    unanswered));
	json_object_set(status, "regions", json_object_get(sup, "regions"));
	json_object_set(status, "supervisor_pid", json_object_get(sup, "supervisor_pid"));
	json_object_set_new(status, "cluster_dir", json_string(dir));
	*out = status;
	status = NULL;
	rc = 0;
out:
	json_decref(sup);
	json_decref(fallback);
	json_decref(status);
	json_decref(unanswered);
	free(auth);
	return rc;
}

int cluster_wait_ready(const char *dir, int64_t timeout_ns, struct dr_error *err)
{
	int64_t deadline = clock_mono_ns() + timeout_ns;
	struct strbuf why = STRBUF_INIT;
	char *auth = cluster_admin_token(dir);
	int rc = -1;

	for (;;) {
		json_t *sup = NULL, *nodes, *n;
		int all = 1, leader = 0;
		size_t i;

		strbuf_reset(&why);
		if (cluster_supervisor_status(&sup, dir, err) != 0) {
			json_decref(sup);
			goto out;
		}
		nodes = json_object_get(sup, "nodes");
		json_array_foreach(nodes, i, n) {
			struct dr_error e = DR_ERROR_INIT;
			json_t *s = NULL;
			const char *addr = json_string_value(json_object_get(n, "address"));
			json_int_t id = json_integer_value(json_object_get(n, "id"));

			if (!should_run(n))
				continue;
			if (json_integer_value(json_object_get(n, "pid")) == 0) {
				strbuf_addf(&why, "node %lld is not running", (long long)id);
				all = 0;
				break;
			}
			if (cluster_api_call(&s, auth, addr ? addr : "", STATUS_PATH, NULL,
					      NS_PER_SEC, &e) != 0) {
				strbuf_addf(&why, "node %lld does not answer: %s", (long long)id, e.msg);
				all = 0;
				json_decref(s);
				break;
			}
			if (json_is_object(json_object_get(s, "leader")))
				leader = 1;
			json_decref(s);
		}
		json_decref(sup);
		if (all && leader) {
			rc = 0;
			break;
		}
		if (all && !leader)
			strbuf_adds(&why, "no leader elected");
		if (clock_mono_ns() > deadline) {
			dr_error_set(err, "not ready after %lld ms: %s",
				     (long long)(timeout_ns / NS_PER_MS), why.buf);
			break;
		}
		/* a fresh cluster elects within a heartbeat or two of its
		 * start: a coarser poll only adds to every drill's start */
		clock_sleep_ns(20 * NS_PER_MS);
	}
out:
	strbuf_release(&why);
	free(auth);
	return rc;
}
