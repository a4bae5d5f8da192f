/* The etcd target's actions: member processes it started (kill, stop,
 * pause, scale) and leadership moves through etcd's v3 API. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/target/etcd/etcd.h"
#include "harness/target/etcd/etcd_impl.h"

static int parse_signal(const char *name)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT }, { "HUP", SIGHUP },
		{ "QUIT", SIGQUIT }, { "ABRT", SIGABRT },
	};

	if (!name)
		return SIGKILL;
	if (strncmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (strcmp(sigs[i].name, name) == 0)
			return sigs[i].sig;
	return -1;
}

/* The member a plan's node names: an id (3, "3", "n3") or a name ("m3"). */
static int member_by_ref(struct etcd_target *et, json_t *node)
{
	struct node_ref ref;

	if (node_ref_parse(&ref, node) != 0)
		return -1;
	if (!ref.name)
		return etcd_member_index(et, ref.id);
	for (int i = 0; i < et->cl.n; i++)
		if (strcmp(et->cl.m[i].name, ref.name) == 0)
			return i;
	return -1;
}

/* ---- leadership ---------------------------------------------------------- */

static int wait_leader_where(struct target *t, int want_idx, const char *region,
			     const struct action_ctx *ctx, json_t **status_out)
{
	struct etcd_target *et = t->impl;

	for (;;) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *status = NULL;

		if (etcd_status(t, &status, NS_PER_SEC, &err) == 0) {
			json_t *leader = json_object_get(status, "leader");
			const char *lr = json_string_value(json_object_get(leader, "region"));
			int64_t lid = json_integer_value(json_object_get(leader, "id"));

			if (json_is_object(leader) &&
			    (want_idx < 0 || et->cl.m[want_idx].id == lid) &&
			    (!region || (lr && strcmp(lr, region) == 0))) {
				*status_out = status;
				return 0;
			}
			json_decref(status);
		}
		if (action_ctx_expired(ctx) || action_ctx_cancelled(ctx))
			return -1;
		action_ctx_sleep(ctx, 20 * NS_PER_MS);
	}
}

/* The most caught-up reachable member of region (or not of the witness
 * role when avoid_witness), other than the leader; -1 if none. */
static int best_member(struct etcd_target *et, json_t *status, const char *region, int avoid_witness)
{
	json_t *members = json_object_get(status, "members");
	int64_t leader = json_integer_value(json_object_get(json_object_get(status, "leader"), "id"));
	int best = -1;
	json_int_t best_index = -1;

	for (int i = 0; i < et->cl.n; i++) {
		json_t *m = json_array_get(members, (size_t)i);
		const char *state = json_string_value(json_object_get(m, "state"));
		json_int_t index = json_integer_value(json_object_get(m, "match_index"));

		if (et->cl.m[i].id == leader || !state || strcmp(state, "unreachable") == 0)
			continue;
		if (region && strcmp(et->cl.m[i].region, region) != 0)
			continue;
		if (avoid_witness && strcmp(et->cl.m[i].region_role, "witness") == 0)
			continue;
		if (index > best_index) {
			best = i;
			best_index = index;
		}
	}
	return best;
}

/* Ask the leader to hand over to member idx (MoveLeader). */
static int transfer_to(struct etcd_target *et, json_t *status, int idx, struct dr_error *err)
{
	const char *leader_addr = json_string_value(json_object_get(json_object_get(status, "leader"),
								   "address"));
	int leader_idx = -1;
	struct etcd_client *c;
	json_t *req, *resp = NULL;
	char target_id[24];
	long http = 0;
	int rc;

	for (int i = 0; leader_addr && i < et->cl.n; i++)
		if (strcmp(et->cl.m[i].address, leader_addr) == 0)
			leader_idx = i;
	if (leader_idx < 0)
		return dr_error_set(err, "no leader to transfer from");
	pthread_mutex_lock(&et->status_lock);
	snprintf(target_id, sizeof(target_id), "%llu", (unsigned long long)et->cl.m[idx].raft_id);
	pthread_mutex_unlock(&et->status_lock);
	c = etcd_pool_take(et, 10000);
	if (!c)
		return dr_error_set(err, "cannot create an etcd client");
	req = json_pack("{s:s}", "targetID", target_id);
	rc = etcd_call(c, leader_idx, "v3/maintenance/transfer-leadership", req, &resp, &http, err);
	if (rc == 0 && http != 200)
		rc = dr_error_set(err, "transfer-leadership on %s answered HTTP %ld: %s",
				  et->cl.m[leader_idx].address, http,
				  json_string_value(json_object_get(resp, "error")) ?: "?");
	json_decref(req);
	json_decref(resp);
	etcd_pool_give(et, c);
	return rc;
}

void etcd_transfer_leader(struct target *t, json_t *args, const struct action_ctx *ctx,
			  struct action_result *res)
{
	struct etcd_target *et = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	const char *region = etcd_resolve_region(t, plan_arg_str(args, "region"));
	json_t *node = json_object_get(args, "node"), *status = NULL, *leader;
	int idx = node ? member_by_ref(et, node) : -1;
	int64_t from;

	if (node && idx < 0) {
		action_result_set(res, ACTION_FAILED, "no member %s", json_is_string(node) ?
				  json_string_value(node) : "with that id");
		return;
	}
	if (!node && !region) {
		action_result_set(res, ACTION_FAILED, "unknown region '%s'", plan_arg_str(args, "region"));
		return;
	}
	if (etcd_status(t, &status, 2 * NS_PER_SEC, &err) != 0 ||
	    !json_is_object(leader = json_object_get(status, "leader"))) {
		action_result_set(res, ACTION_FAILED, "no leader to transfer from");
		goto out;
	}
	from = json_integer_value(json_object_get(leader, "id"));
	if ((idx >= 0 && et->cl.m[idx].id == from) ||
	    (idx < 0 && strcmp(json_string_value(json_object_get(leader, "region")) ?: "", region) == 0)) {
		action_result_set(res, ACTION_OK, "leader member %lld is already there", (long long)from);
		res->data = json_pack("{s:b,s:I}", "transferred", 0, "leader", (json_int_t)from);
		goto out;
	}
	if (idx < 0 && (idx = best_member(et, status, region, 0)) < 0) {
		action_result_set(res, ACTION_FAILED, "no reachable member in region %s", region);
		goto out;
	}
	if (transfer_to(et, status, idx, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot transfer leadership: %s", err.msg);
		goto out;
	}
	json_decref(status);
	status = NULL;
	if (wait_leader_where(t, idx, NULL, ctx, &status) != 0) {
		action_result_set(res, ACTION_TIMED_OUT, "leadership did not move to member %d within the timeout",
				  et->cl.m[idx].id);
		goto out;
	}
	action_result_set(res, ACTION_OK, "leader is now member %d in %s", et->cl.m[idx].id,
			  et->cl.m[idx].region);
	res->data = json_pack("{s:b,s:I,s:i}", "transferred", 1, "previous_leader", (json_int_t)from,
			      "leader", et->cl.m[idx].id);
out:
	json_decref(status);
}

/* After members left gracefully (an etcd leader hands over on SIGTERM), a
 * witness may have received leadership: move it to the most caught-up
 * member of another region, as the bundled ledger's witness does. */
static void keep_witness_out(struct target *t, const struct action_ctx *ctx)
{
	struct etcd_target *et = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	struct action_ctx bounded = *ctx;
	json_t *status = NULL;
	int idx;

	bounded.deadline_ns = clock_mono_ns() + 5 * NS_PER_SEC;
	if (wait_leader_where(t, -1, NULL, &bounded, &status) != 0)
		return;
	if (strcmp(json_string_value(json_object_get(json_object_get(status, "leader"),
						     "region_role")) ?: "", "witness") == 0 &&
	    (idx = best_member(et, status, NULL, 1)) >= 0 && transfer_to(et, status, idx, &err) == 0) {
		json_decref(status);
		status = NULL;
		wait_leader_where(t, idx, NULL, &bounded, &status);
	}
	json_decref(status);
}

/* Members drillrig did not launch (attached) have no process to act on. */
static int refuse_when_attached(struct target *t, json_t *args, struct action_result *res)
{
	struct etcd_target *et = t->impl;

	if (!et->attached)
		return 0;
	action_result_set(res, ACTION_UNSUPPORTED, "'%s' needs members drillrig started; an "
			  "attached etcd cluster supports transfer_leader, awaits and probes",
			  plan_arg_str(args, "action") ?: "?");
	return 1;
}

static void do_scale(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct etcd_target *et = t->impl;
	const char *region = etcd_resolve_region(t, plan_arg_str(args, "region"));
	json_t *replicas = json_object_get(args, "replicas");
	int want = json_is_integer(replicas) ? (int)json_integer_value(replicas) : -1;
	int k = 0, stopped = 0, started = 0;

	if (refuse_when_attached(t, args, res))
		return;
	if (!region) {
		action_result_set(res, ACTION_FAILED, "unknown region '%s'", plan_arg_str(args, "region"));
		return;
	}
	int in_region[ETCD_MAX_MEMBERS], n = 0;
	json_t *order = json_array(); /* member ids in the order they stopped */

	for (int i = 0; i < et->cl.n && n < ETCD_MAX_MEMBERS; i++)
		if (strcmp(et->cl.m[i].region, region) == 0)
			in_region[n++] = i;
	/* Like a StatefulSet: the first `replicas` members (the lowest
	 * ordinals) stay or start; the rest get SIGTERM from the highest
	 * ordinal down, each waited for before the next, as the local
	 * target's scale does, so both targets measure the same handover. */
	for (k = 0; k < n && (want < 0 || k < want); k++) {
		struct dr_error err = DR_ERROR_INIT;
		int i = in_region[k];

		if (!etcd_member_running(&et->cl, i)) {
			if (etcd_member_start(&et->cl, i, &err) != 0) {
				action_result_set(res, ACTION_FAILED, "cannot start member %d: %s",
						  et->cl.m[i].id, err.msg);
				json_decref(order);
				return;
			}
			started++;
		}
		node_set_remove(&et->stopped, et->cl.m[i].id);
	}
	for (int o = n - 1; o >= k; o--) {
		struct dr_error err = DR_ERROR_INIT;
		int i = in_region[o];

		if (etcd_member_running(&et->cl, i)) {
			stopped++;
			json_array_append_new(order, json_integer(et->cl.m[i].id));
		}
		if (etcd_member_stop(&et->cl, i, SIGTERM, SCALE_GRACE_NS, &err) != 0) {
			action_result_set(res, ACTION_FAILED, "cannot stop member %d: %s",
					  et->cl.m[i].id, err.msg);
			json_decref(order);
			return;
		}
	}
	k = n;
	if (stopped)
		keep_witness_out(t, ctx);
	if (want < 0)
		action_result_set(res, ACTION_OK, "region %s scaled back to its normal size (%d started)",
				  region, started);
	else
		action_result_set(res, ACTION_OK, "region %s scaled to %d (%d stopped, %d started)",
				  region, want, stopped, started);
	res->data = json_pack("{s:s,s:i,s:i,s:i,s:o}", "region", region, "replicas",
			      want < 0 ? k : want, "stopped", stopped, "started", started,
			      "stopped_ids", order);
}

static void do_kill(struct target *t, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res)
{
	struct etcd_target *et = t->impl;
	const char *name = plan_arg_str(args, "signal");
	int sig = parse_signal(name);
	int64_t ids[NODE_SELECT_MAX];
	size_t n;
	char list[128];

	(void)ctx;
	if (refuse_when_attached(t, args, res))
		return;
	if (sig < 0) {
		action_result_set(res, ACTION_FAILED, "unknown signal '%s'", name);
		return;
	}
	if (node_select_ids(ids, NODE_SELECT_MAX, &n, t, args, "name", "member", NULL, res) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct dr_error err = DR_ERROR_INIT;

		if (etcd_member_signal(&et->cl, etcd_member_index(et, ids[i]), sig, &err) != 0) {
			action_result_set(res, ACTION_FAILED, "cannot kill member %lld: %s",
					  (long long)ids[i], err.msg);
			return;
		}
	}
	node_ids_text(list, sizeof(list), ids, n);
	action_result_set(res, ACTION_OK, "sent SIG%s to member%s %s (restarted like a pod)",
			  name ? name : "KILL", n > 1 ? "s" : "", list);
	res->data = json_pack("{s:o,s:s}", "nodes", node_ids_json(ids, n), "signal", name ? name : "KILL");
}

/* stop/start/pause/resume of a member we launched, by id. */
static int stop_member(struct target *t, int64_t id, struct dr_error *err)
{
	struct etcd_target *et = t->impl;

	return etcd_member_stop(&et->cl, etcd_member_index(et, id), SIGTERM, STOP_GRACE_NS, err);
}

/* signal: KILL, a crash: etcd gets no chance to hand leadership over. */
static int crash_member(struct target *t, int64_t id, struct dr_error *err)
{
	struct etcd_target *et = t->impl;

	return etcd_member_stop(&et->cl, etcd_member_index(et, id), SIGKILL, STOP_GRACE_NS, err);
}

static int start_member(struct target *t, int64_t id, struct dr_error *err)
{
	struct etcd_target *et = t->impl;

	return etcd_member_start(&et->cl, etcd_member_index(et, id), err);
}

static int pause_member(struct target *t, int64_t id, struct dr_error *err)
{
	struct etcd_target *et = t->impl;

	return etcd_member_pause(&et->cl, etcd_member_index(et, id), 1, err);
}

static int resume_member(struct target *t, int64_t id, struct dr_error *err)
{
	struct etcd_target *et = t->impl;

	return etcd_member_pause(&et->cl, etcd_member_index(et, id), 0, err);
}

static const struct node_op stop_op = { stop_member, "stop", "stopped" };
static const struct node_op crash_op = { crash_member, "crash", "crashed (SIGKILL)" };
static const struct node_op start_op = { start_member, "start", "started" };
static const struct node_op pause_op = { pause_member, "pause", "paused" };
static const struct node_op resume_op = { resume_member, "resume", "resumed" };

static void do_stop(struct target *t, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res)
{
	struct etcd_target *et = t->impl;
	const char *sig = plan_arg_str(args, "signal");

	(void)ctx;
	if (!refuse_when_attached(t, args, res))
		node_set_take_down(&et->stopped, t, args, "name",
				   sig && strcmp(sig, "KILL") == 0 ? &crash_op : &stop_op, "member",
				   res);
}

static void do_start(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct etcd_target *et = t->impl;

	(void)ctx;
	if (!refuse_when_attached(t, args, res))
		node_set_bring_back(&et->stopped, t, args, "name", &start_op, "member", res);
}

static void do_pause(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct etcd_target *et = t->impl;

	(void)ctx;
	if (!refuse_when_attached(t, args, res))
		node_set_take_down(&et->paused, t, args, "name", &pause_op, "member", res);
}

static void do_resume(struct target *t, json_t *args, const struct action_ctx *ctx,
		      struct action_result *res)
{
	struct etcd_target *et = t->impl;

	(void)ctx;
	if (!refuse_when_attached(t, args, res))
		node_set_bring_back(&et->paused, t, args, "name", &resume_op, "member", res);
}

const struct target_action etcd_actions[] = {
	{ "scale", 0, do_scale },
	{ "kill", 0, do_kill },
	{ "stop", 0, do_stop },
	{ "start", 0, do_start },
	{ "pause", 0, do_pause },
	{ "resume", 0, do_resume },
	{ "transfer_leader", 0, etcd_transfer_leader },
	{ NULL, 0, NULL },
};
