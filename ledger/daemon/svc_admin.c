/* Admin methods other than GetClusterStatus (loop thread; snapshot files
 * are written and checked off it, by ledgerd_call_build). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "ledger/daemon/frame.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/snapfile.h"
#include "ledger/daemon/svc.h"

/* Not the leader: forward, or NOT_LEADER when no leader is known. */
static int must_lead(struct ledgerd_node *n, struct ledgerd_call *c)
{
	/* A stopping leader is handing leadership over already. */
	if (raft_state(&n->raft) == RAFT_LEADER && !n->handing_over)
		return 1;
	if (!ledgerd_call_forward_to_leader(n, c))
		ledgerd_call_not_leader(n, c);
	return 0;
}

static int region_exists(struct ledgerd_node *n, const char *region, int by_role)
{
	unsigned i;

	for (i = 0; i < n->raft.configuration.n; i++) {
		const char *v = ledgerd_member_str(n, n->raft.configuration.servers[i].id,
						   by_role ? "region_role" : "region");
		if (v && strcmp(v, region) == 0)
			return 1;
	}
	return 0;
}

static json_t *member_brief(struct ledgerd_node *n, raft_id id)
{
	const char *a = ledgerd_member_str(n, id, "address");
	const char *r = ledgerd_member_str(n, id, "region");

	return json_pack("{s:I, s:o, s:o}", "id", (json_int_t)id, "address",
			 a ? json_string(a) : json_null(), "region", r ? json_string(r) : json_null());
}

static void transfer_cb(struct raft_transfer *req)
{
	struct ledgerd_call *c = req->data;
	struct ledgerd_node *n = c->node;

	if (ledgerd_call_callback(n, c))
		return;
	if (raft_state(&n->raft) == RAFT_LEADER) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE,
				   "leadership transfer to node %llu did not complete", c->target);
		return;
	}
	/* Stepping down is not the same as the target winning: an election
	 * can intervene (the soak saw another node win).  Say only what this
	 * node knows; callers that need the target to lead check the status. */
	{
		raft_id lid = 0;
		const char *laddr = NULL;

		raft_leader(&n->raft, &lid, &laddr);
		if (lid && lid != c->target) {
			ledgerd_log("leadership transfer to node %llu ended with node %llu leading",
				    c->target, (unsigned long long)lid);
			ledgerd_call_error(n, c, LEDGER_UNAVAILABLE,
					   "leadership transfer to node %llu ended with node %llu leading",
					   c->target, (unsigned long long)lid);
			return;
		}
		ledgerd_log("leadership handed to node %llu%s", c->target,
			    lid ? "" : " (its leadership not yet seen here)");
		ledgerd_call_ok(n, c, json_pack("{s:b, s:b, s:b, s:o, s:I}", "transferred", 1,
						"confirmed", lid == c->target, "unsafe", 0,
						"leader", member_brief(n, c->target), "previous_leader",
						(json_int_t)n->cfg.id));
	}
}

/* Leader: move leadership to target (self: nothing to do). */
static void transfer_to(struct ledgerd_node *n, struct ledgerd_call *c, raft_id target)
{
	int rv;

	if (target == n->cfg.id) {
		ledgerd_call_ok(n, c, json_pack("{s:b, s:b, s:o, s:s}", "transferred", 0, "unsafe", 0,
						"leader", member_brief(n, target), "message",
						"leadership is already there"));
		return;
	}
	c->target = target;
	c->transfer.data = c;
	c->pending++;
	rv = raft_transfer(&n->raft, &c->transfer, target, transfer_cb);
	if (rv != 0) {
		c->pending--;
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, "cannot transfer leadership to node %llu: %s",
				   target, raft_errmsg(&n->raft));
		return;
	}
	ledgerd_log("leadership transfer to node %llu started", target);
}

static void transfer_to_region(struct ledgerd_node *n, struct ledgerd_call *c, const char *region)
{
	int by_role = !region_exists(n, region, 0);
	raft_id target;

	if (by_role && !region_exists(n, region, 1)) {
		ledgerd_call_error(n, c, LEDGER_NOT_FOUND, "no voter in region '%s'", region);
		return;
	}
	target = ledgerd_pick_in_region(n, region, by_role, 1);
	if (!target) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE,
				   "no reachable voter in region '%s' to take leadership", region);
		return;
	}
	transfer_to(n, c, target);
}

void ledgerd_run_transfer(struct ledgerd_node *n, struct ledgerd_call *c)
{
	json_t *id = json_object_get(c->req, "node_id");
	unsigned i;

	if (!must_lead(n, c))
		return;
	if (id) {
		raft_id target = (raft_id)json_integer_value(id);
		for (i = 0; i < n->raft.configuration.n; i++)
			if (n->raft.configuration.servers[i].id == target &&
			    n->raft.configuration.servers[i].role == RAFT_VOTER)
				break;
		if (i == n->raft.configuration.n) {
			ledgerd_call_error(n, c, LEDGER_NOT_FOUND, "node %llu is not a voter", target);
			return;
		}
		transfer_to(n, c, target);
		return;
	}
	transfer_to_region(n, c, json_string_value(json_object_get(c->req, "region")));
}

void ledgerd_run_force(struct ledgerd_node *n, struct ledgerd_call *c)
{
	const char *region = json_string_value(json_object_get(c->req, "region"));
	int allow = json_is_true(json_object_get(c->req, "allow_data_loss"));
	raft_id lid = 0;
	const char *la = NULL;

	if (raft_state(&n->raft) == RAFT_LEADER) {
		transfer_to_region(n, c, region);
		return;
	}
	raft_leader(&n->raft, &lid, &la);
	if (lid) {
		if (!ledgerd_call_forward_to_leader(n, c))
			ledgerd_call_not_leader(n, c);
		return;
	}
	/* No leader known: no quorum is alive from here. */
	if (!allow) {
		ledgerd_call_error(n, c, LEDGER_FAILED_PRECONDITION,
				   "no quorum is alive; an unsafe promotion of region '%s' needs allow_data_loss: true",
				   region);
		return;
	}
	if (!n->cfg.supervisor_socket) {
		ledgerd_call_error(n, c, LEDGER_FAILED_PRECONDITION,
				   "no quorum is alive and the unsafe promotion of region '%s' needs the cluster supervisor (ledgerd was started without --supervisor-socket)",
				   region);
		return;
	}
	ledgerd_log("no quorum: asking the supervisor for an unsafe promotion of region '%s'", region);
	ledgerd_call_supervisor(n, c, json_pack("{s:s, s:s, s:b}", "cmd", "promote", "region", region,
						"allow_data_loss", 1));
}

/* Helper thread: write the captured state (ledger/daemon/snapshot_take.c). */
static void snapshot_build(struct ledgerd_call *c, void *arg)
{
	struct ledgerd_snapjob *j = arg;
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_snapinfo info;

	if (ledgerd_snapshot_write(j, &info, &err) != 0) {
		ledgerd_built_error(c, LEDGER_UNAVAILABLE, "%s", err.msg);
	} else {
		ledgerd_log("snapshot written: %s (index %" PRIu64 ", %zu bytes, sha256 %s)", j->path,
			    j->index, info.size, info.sha256);
		ledgerd_built_ok(c, json_pack("{s:s, s:I, s:I, s:I, s:s}", "path", j->path, "index",
					      (json_int_t)info.index, "term", (json_int_t)info.term,
					      "size", (json_int_t)info.size, "sha256", info.sha256));
	}
	ledgerd_snapjob_free(j);
}

void ledgerd_run_snapshot(struct ledgerd_node *n, struct ledgerd_call *c)
{
	uint64_t last = ledger_fsm_last_index(&n->ledger);
	char *path;

	if (ledgerd_snapshot_busy()) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, LEDGERD_SNAPSHOT_BUSY_MSG,
				   LEDGERD_SNAPSHOTS_IN_FLIGHT);
		return;
	}
	path = xasprintf("%s/snapshot-%" PRIu64 "-%" PRId64 ".ledgersnap", n->snap_dir, last,
			       clock_wall_ns() / NS_PER_MS);

	ledgerd_call_build(n, c, snapshot_build, ledgerd_snapshot_capture(n, path),
			   ledgerd_snapjob_free);
}

static int restore_stop(void *arg)
{
	return ledgerd_node_stopping(arg);
}

static void nothing_to_release(void *arg)
{
	(void)arg;
}

/* Helper thread: the path names anything a caller chose (a FIFO, a file of
 * 512 MiB): checked here, off the loop, then handed to the supervisor. */
static void restore_build(struct ledgerd_call *c, void *arg)
{
	struct ledgerd_node *n = c->node;
	const char *path = json_string_value(json_object_get(c->req, "path"));
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_snapinfo info;

	(void)arg;
	if (!fs_exists(path)) {
		ledgerd_built_error(c, LEDGER_NOT_FOUND, "snapshot '%s' does not exist", path);
		return;
	}
	if (ledgerd_snapfile_check(&info, path, restore_stop, n, &err) != 0) {
		ledgerd_built_error(c, ledgerd_node_stopping(n) ? LEDGER_UNAVAILABLE : LEDGER_INVALID_ARGUMENT,
				    "%s", err.msg);
		return;
	}
	if (!n->cfg.supervisor_socket) {
		ledgerd_built_error(c, LEDGER_FAILED_PRECONDITION,
				    "snapshot '%s' is valid (index %" PRIu64 ", sha256 %s), but restoring into a new cluster needs the cluster supervisor (ledgerd was started without --supervisor-socket)",
				    path, info.index, info.sha256);
		return;
	}
	c->supervisor_msg = json_pack("{s:s, s:s}", "cmd", "restore", "snapshot", path);
	c->action = CALL_SUPERVISOR;
}

void ledgerd_run_restore(struct ledgerd_node *n, struct ledgerd_call *c)
{
	ledgerd_call_build(n, c, restore_build, NULL, nothing_to_release);
}

/* AddMember: 0 metadata entry, 1 raft_add, 2 raft_assign voter. */
static void add_member_step(struct ledgerd_node *n, struct ledgerd_call *c);

static void add_member_apply_cb(struct raft_apply *req, int status, void *result)
{
	struct ledgerd_call *c = req->data;

	(void)result;
	if (ledgerd_call_callback(c->node, c))
		return;
	if (status != 0) {
		ledgerd_call_error(c->node, c, LEDGER_UNAVAILABLE, "cannot record member metadata: %s",
				   raft_strerror(status));
		return;
	}
	c->step = 1;
	add_member_step(c->node, c);
}

static void add_member_change_cb(struct raft_change *req, int status)
{
	struct ledgerd_call *c = req->data;

	if (ledgerd_call_callback(c->node, c))
		return;
	if (status != 0) {
		ledgerd_call_error(c->node, c, LEDGER_UNAVAILABLE, "membership change failed: %s",
				   raft_strerror(status));
		return;
	}
	c->step++;
	add_member_step(c->node, c);
}

static void add_member_step(struct ledgerd_node *n, struct ledgerd_call *c)
{
	raft_id id = (raft_id)json_integer_value(json_object_get(c->req, "id"));
	const char *ra = json_string_value(json_object_get(c->req, "raft_address"));
	const struct raft_server *s = NULL;
	unsigned i;
	int rv = 0;

	for (i = 0; i < n->raft.configuration.n; i++)
		if (n->raft.configuration.servers[i].id == id)
			s = &n->raft.configuration.servers[i];
	if (c->step == 1 && s)
		c->step = 2; /* already a member */
	if (c->step == 2 && s && s->role == RAFT_VOTER)
		c->step = 3;
	c->change.data = c;
	switch (c->step) {
	case 1:
		c->pending++;
		rv = raft_add(&n->raft, &c->change, id, ra, add_member_change_cb);
		break;
	case 2:
		c->pending++;
		rv = raft_assign(&n->raft, &c->change, id, RAFT_VOTER, add_member_change_cb);
		break;
	default:
		ledgerd_log("member %llu (%s) is a voter", id, ra);
		ledgerd_call_ok(n, c, json_pack("{s:b, s:I}", "added", 1, "id", (json_int_t)id));
		return;
	}
	if (rv != 0) {
		c->pending--;
		ledgerd_call_error(n, c, rv == RAFT_NOTLEADER ? LEDGER_NOT_LEADER : LEDGER_UNAVAILABLE,
				   "membership change for node %llu failed: %s", id, raft_errmsg(&n->raft));
	}
}

void ledgerd_run_add_member(struct ledgerd_node *n, struct ledgerd_call *c)
{
	json_t *meta;
	struct raft_buffer buf;
	char *cmd;
	int rv;

	if (!must_lead(n, c))
		return;
	meta = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O}", "id", json_object_get(c->req, "id"),
			 "address", json_object_get(c->req, "address"), "raft_address",
			 json_object_get(c->req, "raft_address"), "region",
			 json_object_get(c->req, "region"), "region_role",
			 json_object_get(c->req, "region_role"), "zone", json_object_get(c->req, "zone"));
	if (json_is_string(json_object_get(c->req, "http_address")))
		json_object_set(meta, "http_address", json_object_get(c->req, "http_address"));
	cmd = ledger_cmd_member(meta);
	json_decref(meta);
	rv = ledgerd_frame_encode(&buf.base, &buf.len, cmd, strlen(cmd));
	free(cmd);
	if (rv != 0) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, "out of memory");
		return;
	}
	c->apply.data = c;
	c->pending++;
	rv = raft_apply(&n->raft, &c->apply, &buf, 1, add_member_apply_cb);
	if (rv != 0) {
		c->pending--;
		raft_free(buf.base);
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, "cannot record member metadata: %s",
				   raft_strerror(rv));
	}
}

static void remove_member_cb(struct raft_change *req, int status)
{
	struct ledgerd_call *c = req->data;

	if (ledgerd_call_callback(c->node, c))
		return;
	if (status != 0) {
		ledgerd_call_error(c->node, c, LEDGER_UNAVAILABLE, "removing node %llu failed: %s",
				   c->target, raft_strerror(status));
		return;
	}
	ledgerd_log("member %llu removed", c->target);
	ledgerd_call_ok(c->node, c, json_pack("{s:b, s:I}", "removed", 1, "id", (json_int_t)c->target));
}

void ledgerd_run_remove_member(struct ledgerd_node *n, struct ledgerd_call *c)
{
	int rv;

	if (!must_lead(n, c))
		return;
	c->target = (raft_id)json_integer_value(json_object_get(c->req, "id"));
	c->change.data = c;
	c->pending++;
	rv = raft_remove(&n->raft, &c->change, c->target, remove_member_cb);
	if (rv != 0) {
		c->pending--;
		ledgerd_call_error(n, c, rv == RAFT_BADID ? LEDGER_NOT_FOUND : LEDGER_UNAVAILABLE,
				   "cannot remove node %llu: %s", c->target, raft_errmsg(&n->raft));
	}
}
