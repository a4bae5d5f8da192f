/* The local target's actions: faults and restores through the cluster's
 * supervisor (ledger/cluster/cluster.h) and the ledger's admin and debug
 * calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/sha256.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/target/local/local.h"
#include "harness/target/local/local_impl.h"

static void do_scale(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	const char *region = local_resolve_region(t, plan_arg_str(args, "region"));
	json_t *replicas = json_object_get(args, "replicas"), *answer = NULL;
	int n = json_is_integer(replicas) ? (int)json_integer_value(replicas) : -1;

	(void)ctx;
	if (!region) {
		action_result_set(res, ACTION_FAILED, "unknown region '%s'", plan_arg_str(args, "region"));
		return;
	}
	if (cluster_scale(&answer, lt->dir, region, n, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot scale region %s: %s", region, err.msg);
		json_decref(answer);
		return;
	}
	if (n < 0)
		action_result_set(res, ACTION_OK, "region %s scaled back to its normal size", region);
	else
		action_result_set(res, ACTION_OK, "region %s scaled to %d", region, n);
	res->data = answer;
}

static void do_kill(struct target *t, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res)
{
	struct local_target *lt = t->impl;
	const char *sig = plan_arg_str(args, "signal");
	int64_t ids[NODE_SELECT_MAX];
	size_t n;
	char list[256];

	(void)ctx;
	if (node_select_ids(ids, NODE_SELECT_MAX, &n, t, args, NULL, "node", NULL, res) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct dr_error err = DR_ERROR_INIT;

		if (cluster_kill(NULL, lt->dir, (int)ids[i], sig ? sig : "KILL", &err) != 0) {
			action_result_set(res, ACTION_FAILED, "cannot kill node %lld: %s",
					  (long long)ids[i], err.msg);
			return;
		}
	}
	node_ids_text(list, sizeof(list), ids, n);
	action_result_set(res, ACTION_OK, "sent SIG%s to node%s %s (the supervisor restarts %s)",
			  sig ? sig : "KILL", n > 1 ? "s" : "", list, n > 1 ? "them" : "it");
	res->data = json_pack("{s:o,s:s}", "nodes", node_ids_json(ids, n), "signal", sig ? sig : "KILL");
}

/* stop/start/pause/resume through the supervisor, by node id.  stop is
 * SIGTERM, a graceful stop (a leader hands over first), unless the plan
 * asks for signal: KILL, a crash. */
static int stop_node(struct target *t, int64_t id, struct dr_error *err)
{
	return cluster_stop(NULL, ((struct local_target *)t->impl)->dir, (int)id, err);
}

static int crash_node(struct target *t, int64_t id, struct dr_error *err)
{
	return cluster_stop_signal(NULL, ((struct local_target *)t->impl)->dir, (int)id, "KILL",
				   err);
}

static int start_node(struct target *t, int64_t id, struct dr_error *err)
{
	return cluster_start(NULL, ((struct local_target *)t->impl)->dir, (int)id, err);
}

static int pause_node(struct target *t, int64_t id, struct dr_error *err)
{
	return cluster_pause(NULL, ((struct local_target *)t->impl)->dir, (int)id, err);
}

static int resume_node(struct target *t, int64_t id, struct dr_error *err)
{
	return cluster_resume(NULL, ((struct local_target *)t->impl)->dir, (int)id, err);
}

static const struct node_op stop_op = { stop_node, "stop", "stopped" };
static const struct node_op crash_op = { crash_node, "crash", "crashed (SIGKILL)" };
static const struct node_op start_op = { start_node, "start", "started" };
static const struct node_op pause_op = { pause_node, "pause", "paused" };
static const struct node_op resume_op = { resume_node, "resume", "resumed" };

static void do_stop(struct target *t, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res)
{
	struct local_target *lt = t->impl;

	const char *sig = plan_arg_str(args, "signal");

	(void)ctx;
	node_set_take_down(&lt->stopped, t, args, NULL,
			   sig && strcmp(sig, "KILL") == 0 ? &crash_op : &stop_op, "node", res);
}

static void do_start(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct local_target *lt = t->impl;

	(void)ctx;
	node_set_bring_back(&lt->stopped, t, args, NULL, &start_op, "node", res);
}

static void do_pause(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct local_target *lt = t->impl;

	(void)ctx;
	node_set_take_down(&lt->paused, t, args, NULL, &pause_op, "node", res);
}

static void do_resume(struct target *t, json_t *args, const struct action_ctx *ctx,
		      struct action_result *res)
{
	struct local_target *lt = t->impl;

	(void)ctx;
	node_set_bring_back(&lt->paused, t, args, NULL, &resume_op, "node", res);
}

static void do_zone_down(struct target *t, json_t *args, const struct action_ctx *ctx,
			 struct action_result *res)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	const char *zone = plan_arg_str(args, "zone");
	json_t *status = NULL, *m;
	int64_t ids[NODE_SELECT_MAX];
	size_t i, n = 0;

	(void)ctx;
	if (local_status(t, &status, LOCAL_ADMIN_TIMEOUT_NS, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
		return;
	}
	json_array_foreach(json_object_get(status, "members"), i, m) {
		const char *z = json_string_value(json_object_get(m, "zone"));

		if (z && zone && strcmp(z, zone) == 0 && n < NODE_SELECT_MAX)
			ids[n++] = json_integer_value(json_object_get(m, "id"));
	}
	json_decref(status);
	if (n == 0) {
		action_result_set(res, ACTION_FAILED, "no node is in zone '%s'", zone ? zone : "");
		return;
	}
	for (size_t k = 0; k < n; k++) {
		if (cluster_stop(NULL, lt->dir, (int)ids[k], &err) != 0) {
			action_result_set(res, ACTION_FAILED, "cannot stop node %lld: %s",
					  (long long)ids[k], err.msg);
			return;
		}
		/* `start what: all` brings the zone back. */
		node_set_add(&lt->stopped, ids[k]);
	}
	action_result_set(res, ACTION_OK, "zone %s down: %zu node%s stopped", zone, n,
			  n > 1 ? "s" : "");
}

/* On one machine a drain is a graceful restart: SIGTERM, and the supervisor
 * brings the node back as Kubernetes reschedules an evicted pod. */
static void do_drain(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	json_t *copy = json_deep_copy(args);

	json_object_set_new(copy, "signal", json_string("TERM"));
	do_kill(t, copy, ctx, res);
	json_decref(copy);
}

static const char *leader_address(json_t *status)
{
	return json_string_value(json_object_get(json_object_get(status, "leader"), "address"));
}

static int wait_leader_where(struct target *t, const char *region, int64_t node,
			     const struct action_ctx *ctx, json_t **status_out)
{
	for (;;) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *status = NULL, *leader;

		if (local_status(t, &status, LOCAL_ADMIN_TIMEOUT_NS, &err) == 0) {
			leader = json_object_get(status, "leader");
			if (json_is_object(leader) &&
			    (!region || (json_string_value(json_object_get(leader, "region")) &&
					 strcmp(json_string_value(json_object_get(leader, "region")), region) == 0)) &&
			    (node <= 0 || json_integer_value(json_object_get(leader, "id")) == node)) {
				*status_out = status;
				return 0;
			}
			json_decref(status);
		}
		if (action_ctx_expired(ctx))
			return -1;
		action_ctx_sleep(ctx, 20 * NS_PER_MS);
	}
}

/* ledger.v1's TransferLeadership names a node, never a region: for a
 * region, the member of it that is reachable and least behind. */
static int64_t v1_transfer_node(const json_t *status, const char *region)
{
	json_t *m;
	int64_t best = 0, best_lag = INT64_MAX;
	size_t i;

	json_array_foreach(json_object_get(status, "members"), i, m) {
		const char *r = json_string_value(json_object_get(m, "region"));
		const char *st = json_string_value(json_object_get(m, "state"));
		int64_t lag = json_integer_value(json_object_get(m, "lag_entries"));

		if (!r || strcmp(r, region) != 0 || !st || strcmp(st, "follower") != 0)
			continue;
		if (lag < best_lag) {
			best_lag = lag;
			best = json_integer_value(json_object_get(m, "id"));
		}
	}
	return best;
}

/* One TransferLeadership request to the leader at addr; what went wrong
 * goes to last. */
static void transfer_v1(const struct local_target *lt, const json_t *status, const char *addr, int64_t node_id, const char *region,
			char *last, size_t last_size)
{
	struct dr_error err = DR_ERROR_INIT;
	int64_t to = node_id > 0 ? node_id : region ? v1_transfer_node(status, region) : 0;
	json_t *req, *answer = NULL;

	if (to <= 0) {
		snprintf(last, last_size, "no reachable follower in region %s to transfer to",
			 region ? region : "?");
		return;
	}
	if (!addr)
		return;
	/* The server waits for the move up to timeout_ms: stay inside our own
	 * call's deadline, so a slow move is an answer, not a timeout. */
	req = json_pack("{s:I,s:i}", "target_node_id", (json_int_t)to, "timeout_ms",
			(int)(LOCAL_ADMIN_TIMEOUT_NS / NS_PER_MS) - 1000);
	if (local_node_call(lt, &answer, addr, "ledger.v1.AdminService/TransferLeadership", req,
			    LOCAL_ADMIN_TIMEOUT_NS, &err) != 0)
		snprintf(last, last_size, "TransferLeadership to node %lld: %.400s", (long long)to,
			 err.msg);
	else if (!json_is_true(json_object_get(answer, "success")))
		snprintf(last, last_size, "TransferLeadership to node %lld: %.400s", (long long)to,
			 json_string_value(json_object_get(answer, "message")) ?: "not successful");
	json_decref(req);
	json_decref(answer);
}

/* Leadership transfers are best effort in Raft: the target may not catch
 * up in time, a new election may intervene, or the leader we asked may
 * just have lost its role.  So ask, wait a few election timeouts, and ask
 * again until the step's own deadline. */
void local_transfer_leader(struct target *t, json_t *args, const struct action_ctx *ctx,
			   struct action_result *res)
{
	struct local_target *lt = t->impl;
	const char *region = local_resolve_region(t, plan_arg_str(args, "region"));
	json_t *node = json_object_get(args, "node");
	struct node_ref ref = { 0, NULL };
	int64_t node_id, settle;
	char last[512] = "no attempt yet";
	int attempts = 0;

	if (node && (node_ref_parse(&ref, node) != 0 || ref.name)) {
		action_result_set(res, ACTION_FAILED, "'node' must be a node id such as 3 or n3, not '%s'",
				  json_string_value(node) ?: "?");
		return;
	}
	node_id = ref.id;
	settle = 4 * (int64_t)lt->spec.election_timeout_ms * NS_PER_MS;
	if (settle < NS_PER_SEC)
		settle = NS_PER_SEC;
	for (;;) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *status = NULL, *leader, *req, *answer = NULL;
		struct action_ctx wait = *ctx;
		const char *addr, *lr;
		int64_t lid;

		if (local_status(t, &status, LOCAL_ADMIN_TIMEOUT_NS, &err) == 0 &&
		    json_is_object(leader = json_object_get(status, "leader"))) {
			lr = json_string_value(json_object_get(leader, "region"));
			lid = json_integer_value(json_object_get(leader, "id"));
			if ((node_id > 0 && lid == node_id) ||
			    (node_id <= 0 && region && lr && strcmp(lr, region) == 0)) {
				action_result_set(res, ACTION_OK, "leader is node %lld in %s%s", (long long)lid,
						  lr ? lr : "?", attempts ? "" : " (already)");
				json_decref(status);
				return;
			}
			addr = leader_address(status);
			attempts++;
			if (t->api == LEDGER_API_V1)
				transfer_v1(lt, status, addr, node_id, region, last, sizeof(last));
			else {
				req = node_id > 0 ? json_pack("{s:I}", "node_id", (json_int_t)node_id) :
						    json_pack("{s:s}", "region", region ? region : "");
				if (addr && local_node_call(lt, &answer, addr,
							    "inferadb.ledger.v1.Admin/RequestLeaderTransfer",
							    req, LOCAL_ADMIN_TIMEOUT_NS, &err) != 0)
					snprintf(last, sizeof(last), "RequestLeaderTransfer: %.400s", err.msg);
				json_decref(req);
				json_decref(answer);
			}
		} else {
			snprintf(last, sizeof(last), "no leader to transfer from%s%.400s",
				 err.msg[0] ? ": " : "", err.msg);
		}
		json_decref(status);
		status = NULL;
		if (!wait.deadline_ns || wait.deadline_ns > clock_mono_ns() + settle)
			wait.deadline_ns = clock_mono_ns() + settle;
		if (wait_leader_where(t, node_id > 0 ? NULL : region, node_id, &wait, &status) == 0) {
			json_decref(status);
			continue; /* the loop head reports it */
		}
		if (action_ctx_expired(ctx)) {
			action_result_set(res, action_ctx_cancelled(ctx) ? ACTION_CANCELLED : ACTION_TIMED_OUT,
					  "leadership did not move to %s%s after %d request%s: %s",
					  node_id > 0 ? "node " : "region ",
					  node_id > 0 ? plan_arg_str(args, "node") ?: "?" : region ? region : "?",
					  attempts, attempts == 1 ? "" : "s", last);
			return;
		}
	}
}

static void do_force_election(struct target *t, json_t *args, const struct action_ctx *ctx,
			      struct action_result *res)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	const char *region = local_resolve_region(t, plan_arg_str(args, "region"));
	int unsafe = plan_arg_bool(args, "allow_data_loss", 0);
	json_t *status = NULL, *answer = NULL, *m, *req;
	const char *addr = NULL;
	size_t i;

	if (!region) {
		action_result_set(res, ACTION_FAILED, "unknown region '%s'", plan_arg_str(args, "region"));
		return;
	}
	if (local_status(t, &status, LOCAL_ADMIN_TIMEOUT_NS, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
		return;
	}
	if (unsafe && !json_is_true(json_object_get(status, "quorum"))) {
		/* Without a quorum nobody can serve the call: the supervisor stops the
		 * survivors and forces the new configuration (ledger/cluster/cluster.h). */
		if (cluster_promote(&answer, lt->dir, region, 1, &err) != 0) {
			action_result_set(res, ACTION_FAILED, "unsafe promotion of %s failed: %s", region, err.msg);
			goto out;
		}
	} else {
		json_array_foreach(json_object_get(status, "members"), i, m) {
			const char *mr = json_string_value(json_object_get(m, "region"));
			const char *st = json_string_value(json_object_get(m, "state"));

			if (mr && strcmp(mr, region) == 0 && st && strcmp(st, "unreachable") != 0) {
				addr = json_string_value(json_object_get(m, "address"));
				break;
			}
		}
		if (!addr)
			addr = leader_address(status);
		if (!addr) {
			action_result_set(res, ACTION_FAILED, "no live node to ask in region %s", region);
			goto out;
		}
		req = json_pack("{s:s,s:b}", "region", region, "allow_data_loss", unsafe);
		if (local_node_call(lt, &answer, addr, "inferadb.ledger.v1.Admin/ForceLeaderElection", req,
			      LOCAL_ADMIN_TIMEOUT_NS * 6, &err) != 0) {
			json_decref(req);
			action_result_set(res, ACTION_FAILED, "ForceLeaderElection failed: %s", err.msg);
			goto out;
		}
		json_decref(req);
	}
	json_decref(status);
	status = NULL;
	if (wait_leader_where(t, region, 0, ctx, &status) != 0) {
		action_result_set(res, ACTION_TIMED_OUT, "no leader in region %s within the timeout", region);
		goto out;
	}
	action_result_set(res, ACTION_OK, "%sleader is now node %lld in %s",
			  json_is_true(json_object_get(answer, "unsafe")) || unsafe ? "unsafe promotion: " : "",
			  (long long)json_integer_value(json_object_get(json_object_get(status, "leader"), "id")),
			  region);
	res->data = answer;
	answer = NULL;
out:
	json_decref(answer);
	json_decref(status);
}

static int copy_file(const char *from, const char *to, struct dr_error *err)
{
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (fs_read_file(&data, &len, from, (size_t)1 << 31, err) != 0)
		return -1;
	rc = fs_write_atomic(to, data, len, err);
	free(data);
	return rc;
}

/* ledger.v1's CreateSnapshot answers a block height and a path, no digest:
 * the answer in the native shape, so plans and restore do not depend on
 * the dialect ("index" is the block height, size and sha256 are of the
 * file as written). */
static int v1_snapshot(const struct local_target *lt, json_t **out, const char *addr,
		       struct dr_error *err)
{
	json_t *req = json_object(), *answer = NULL;
	const char *path;
	char hex[SHA256_HEX_LEN], *data = NULL;
	size_t len = 0;
	json_int_t height;
	int rc = local_node_call(lt, &answer, addr, "ledger.v1.AdminService/CreateSnapshot", req,
				 LOCAL_ADMIN_TIMEOUT_NS * 6, err);

	json_decref(req);
	*out = NULL;
	if (rc != 0)
		return -1;
	path = json_string_value(json_object_get(answer, "snapshot_path"));
	if (!path || !*path) {
		json_decref(answer);
		return dr_error_set(err, "CreateSnapshot answered without a snapshot_path");
	}
	if (fs_read_file(&data, &len, path, (size_t)1 << 31, err) != 0) {
		json_decref(answer);
		return -1;
	}
	sha256_hex(hex, data, len);
	free(data);
	height = json_integer_value(json_object_get(answer, "block_height"));
	*out = json_pack("{s:s,s:I,s:I,s:I,s:s}", "path", path, "index", height,
			 "block_height", height, "size", (json_int_t)len, "sha256", hex);
	json_decref(answer);
	return 0;
}

static void do_snapshot(struct target *t, json_t *args, const struct action_ctx *ctx,
			struct action_result *res)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	json_t *status = NULL, *answer = NULL, *req = json_object();
	const char *addr, *path;
	char *copy = NULL;
	const char *copy_to = plan_arg_str(args, "copy_to");

	if (local_status(t, &status, LOCAL_ADMIN_TIMEOUT_NS, &err) != 0 || !(addr = leader_address(status))) {
		action_result_set(res, ACTION_FAILED, "no leader to snapshot%s%s", err.msg[0] ? ": " : "",
				  err.msg);
		goto out;
	}
	if (t->api == LEDGER_API_V1) {
		if (v1_snapshot(lt, &answer, addr, &err) != 0) {
			action_result_set(res, ACTION_FAILED, "CreateSnapshot failed: %s", err.msg);
			goto out;
		}
	} else if (local_node_call(lt, &answer, addr, "inferadb.ledger.v1.Admin/CreateSnapshot", req,
				   LOCAL_ADMIN_TIMEOUT_NS * 6, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "CreateSnapshot failed: %s", err.msg);
		goto out;
	}
	path = json_string_value(json_object_get(answer, "path"));
	if (!path) {
		action_result_set(res, ACTION_FAILED, "CreateSnapshot answered without a path");
		goto out;
	}
	/* Copy it out of the node's data directory, as the runbook's kubectl cp
	 * does: the node may lose its data later in the drill. */
	copy = copy_to ? xstrdup(copy_to) : xasprintf("%s/snapshot-%s.bin", lt->dir,
						      ctx->step_name ? ctx->step_name : "drill");
	if (copy_file(path, copy, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot copy the snapshot out: %s", err.msg);
		goto out;
	}
	json_object_set_new(answer, "copy", json_string(copy));
	json_object_set(lt->snapshots, ctx->step_name ? ctx->step_name : "snapshot", answer);
	action_result_set(res, ACTION_OK, "snapshot at %s %lld (%lld bytes, sha256 %.12s...) copied to %s",
			  t->api == LEDGER_API_V1 ? "block height" : "index",
			  (long long)json_integer_value(json_object_get(answer, "index")),
			  (long long)json_integer_value(json_object_get(answer, "size")),
			  json_string_value(json_object_get(answer, "sha256")) ?: "?", copy);
	res->data = answer;
	answer = NULL;
out:
	free(copy);
	json_decref(req);
	json_decref(answer);
	json_decref(status);
}

/* The supervisor's restore with the restored cluster's size: one region
 * (a restore builds a new cluster, not a copy of the topology). */
static int request_restore(json_t **answer, const char *dir, const char *path, int64_t size,
			   struct dr_error *err)
{
	char topo[32];
	json_t *req;
	int rc;

	snprintf(topo, sizeof(topo), "primary=%lld", (long long)(size > 0 ? size : 1));
	req = json_pack("{s:s,s:s,s:s}", "cmd", "restore", "snapshot", path, "topology", topo);
	rc = cluster_request(answer, dir, req, 60 * NS_PER_SEC, err);
	json_decref(req);
	return rc;
}

static void do_restore(struct target *t, json_t *args, const struct action_ctx *ctx,
		       struct action_result *res)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	const char *from = plan_arg_str(args, "from");
	json_t *snap = from ? json_object_get(lt->snapshots, from) : NULL, *answer = NULL;
	const char *path = snap ? json_string_value(json_object_get(snap, "copy")) : from;

	(void)ctx;
	if (!path) {
		action_result_set(res, ACTION_FAILED, "no snapshot named '%s'", from ? from : "");
		return;
	}
	if (request_restore(&answer, lt->dir, path, plan_arg_int(args, "size", 1), &err) != 0) {
		action_result_set(res, ACTION_FAILED, "restore from '%s' failed: %s", path, err.msg);
		json_decref(answer);
		return;
	}
	if (snap)
		json_object_set(answer, "snapshot", snap);
	/* Later steps address it as region `restored`. */
	if (lt->restored) {
		lt->restored->close(lt->restored, 1);
		lt->restored = NULL;
	}
	{
		struct target_local_opts ro = TARGET_LOCAL_OPTS_INIT;
		char *rdir = xasprintf("%s/restored", lt->dir);

		ro.cluster_dir = rdir;
		if (target_local_new(&lt->restored, NULL, &ro, &err) != 0) {
			action_result_set(res, ACTION_FAILED, "restored, but cannot attach to '%s': %s",
					  rdir, err.msg);
			free(rdir);
			json_decref(answer);
			return;
		}
		free(rdir);
		/* Probes of the restored cluster speak the drill's dialect. */
		lt->restored->api = t->api;
	}
	action_result_set(res, ACTION_OK, "restored a separate cluster from %s", path);
	res->data = answer;
}

const struct target_action local_actions[] = {
	{ "scale", 0, do_scale },
	{ "kill", 0, do_kill },
	{ "stop", 0, do_stop },
	{ "start", 0, do_start },
	{ "pause", 0, do_pause },
	{ "resume", 0, do_resume },
	{ "partition", 0, local_partition },
	{ "heal", 0, local_heal },
	{ "zone_down", 0, do_zone_down },
	{ "drain_node", 0, do_drain },
	{ "transfer_leader", 0, local_transfer_leader },
	{ "force_election", 0, do_force_election },
	{ "snapshot", 0, do_snapshot },
	{ "restore_snapshot", 0, do_restore },
	{ "disk_full", 0, local_disk_full },
	{ "disk_free", 0, local_disk_free },
	{ NULL, 0, NULL },
};
