#include "harness/soak/soak_fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/run/executor.h"
#include "ledger/client/client.h"

#define STATUS_TIMEOUT_NS (2 * NS_PER_SEC)

/* Run one action through the executor; ACTION_OK or an error naming it.
 * A partition's injector (nftables or the debug hook) is appended to
 * out->target, so every iteration line says who cut the network. */
static int run_action_noting(struct target *t, const char *action, json_t *args,
			     const struct action_ctx *ctx, struct soak_applied *out,
			     struct dr_error *err)
{
	struct action_result res = ACTION_RESULT_INIT;
	const char *by;
	int rc = 0;

	json_object_set_new(args, "action", json_string(action));
	executor_run(t, action, args, NULL, ctx, &res);
	if (res.status != ACTION_OK)
		rc = dr_error_set(err, "%s %s: %s", action, action_status_name(res.status), res.message);
	by = json_string_value(json_object_get(res.data, "injected_by"));
	if (out && by) {
		size_t len = strlen(out->target);

		snprintf(out->target + len, sizeof(out->target) - len, " (%s)", by);
	}
	action_result_release(&res);
	json_decref(args);
	return rc;
}

static int run_action(struct target *t, const char *action, json_t *args,
		      const struct action_ctx *ctx, struct dr_error *err)
{
	return run_action_noting(t, action, args, ctx, NULL, err);
}

/* Members of the current status, in id order (ledgerd lists them so). */
static int read_members(json_t **status_out, struct target *t, struct dr_error *err)
{
	if (t->status(t, status_out, STATUS_TIMEOUT_NS, err) != 0)
		return dr_error_wrap(err, "cannot read the cluster status");
	if (!json_is_array(json_object_get(*status_out, "members"))) {
		json_decref(*status_out);
		*status_out = NULL;
		return dr_error_set(err, "the cluster status lists no members");
	}
	return 0;
}

enum candidates {
	CAND_ANY,           /* every member */
	CAND_FOLLOWER,      /* every member but the current leader */
	CAND_LEADER_ABLE,   /* non-witness members other than the current leader */
};

/* The pick-th candidate (modulo their number), or 0 when there is none. */
static int64_t pick_node(json_t *status, enum candidates which, uint32_t pick)
{
	json_t *members = json_object_get(status, "members"), *m;
	int64_t leader = json_integer_value(json_object_get(json_object_get(status, "leader"), "id"));
	int64_t ids[CLUSTER_MAX_NODES];
	size_t n = 0, i;

	json_array_foreach(members, i, m) {
		int64_t id = json_integer_value(json_object_get(m, "id"));
		const char *role = json_string_value(json_object_get(m, "region_role"));

		if (which != CAND_ANY && id == leader)
			continue;
		if (which == CAND_LEADER_ABLE && role && strcmp(role, "witness") == 0)
			continue;
		if (n < CLUSTER_MAX_NODES)
			ids[n++] = id;
	}
	return n ? ids[pick % n] : 0;
}

/* A member's debug listener (the debug faults are served over HTTP). */
static const char *member_debug_address(json_t *status, int64_t id)
{
	return json_string_value(json_object_get(
		ledger_member_by_id(json_object_get(status, "members"), id), "http_address"));
}

/* The first node id an action answered with ({"nodes":[...]}). */
static int64_t first_node(const struct action_result *res)
{
	return json_integer_value(json_array_get(json_object_get(res->data, "nodes"), 0));
}

static int kill_role(struct soak_applied *out, struct target *t, const char *what,
		     const struct action_ctx *ctx, struct dr_error *err)
{
	struct action_result res = ACTION_RESULT_INIT;
	json_t *args = json_pack("{s:s,s:s,s:s}", "action", "kill", "what", what, "signal", "KILL");
	int rc = 0;

	executor_run(t, "kill", args, NULL, ctx, &res);
	if (res.status != ACTION_OK) {
		rc = dr_error_set(err, "kill %s %s: %s", what, action_status_name(res.status), res.message);
	} else {
		out->node = first_node(&res);
		snprintf(out->target, sizeof(out->target), "node %lld (%s)", (long long)out->node, what);
	}
	action_result_release(&res);
	json_decref(args);
	return rc;
}

/* Hide one acknowledged entry from the leader's reads: the history check
 * must report it lost. */
static int drop_entry(struct soak_applied *out, struct target *t, const char *client_id, uint64_t sequence, struct dr_error *err)
{
	json_t *status = NULL, *req = NULL, *answer = NULL;
	const char *addr;
	char *auth;
	long http = 0;
	int rc = -1;

	if (read_members(&status, t, err) != 0)
		return -1;
	/* Hidden entries still count in the digest (ledgerd hides them from
	 * reads only), so the divergence is planted where the history check
	 * reads the ledger back: on the leader. */
	out->node = json_integer_value(json_object_get(json_object_get(status, "leader"), "id"));
	addr = member_debug_address(status, out->node);
	if (!addr) {
		dr_error_set(err, "drop-entry: no node to drop an entry on");
		goto out;
	}
	req = json_pack("{s:s,s:I}", "client_id", client_id, "sequence", (json_int_t)sequence);
	auth = t->admin_token ? t->admin_token(t) : NULL;
	if (ledger_debug_call(addr, auth, "inferadb.ledger.v1.Debug/DropEntry", req, 2000, &answer,
			      &http, err) != 0) {
		free(auth);
		goto out;
	}
	free(auth);
	if (http != 200) {
		dr_error_set(err, "drop-entry on node %lld answered HTTP %ld: %s", (long long)out->node,
			     http, json_string_value(json_object_get(answer, "message")) ?: "(no message)");
		goto out;
	}
	snprintf(out->target, sizeof(out->target), "node %lld seq %llu", (long long)out->node,
		 (unsigned long long)sequence);
	rc = 0;
out:
	json_decref(answer);
	json_decref(req);
	json_decref(status);
	return rc;
}

/* The target's transfer_leader waits until the named node leads.  When it
 * does not within SOAK_TRANSFER_TIMEOUT_NS the transfer is "missed": the
 * cluster is still checked, and the caller reports who leads instead. */
static int transfer(struct target *t, int64_t node, const struct action_ctx *ctx,
		    struct dr_error *err)
{
	struct action_result res = ACTION_RESULT_INIT;
	struct action_ctx bounded = *ctx;
	json_t *args = json_pack("{s:s,s:I}", "action", "transfer_leader", "node", (json_int_t)node);
	json_t *status = NULL;
	int rc = 0;

	if (bounded.deadline_ns == 0 || bounded.deadline_ns > clock_mono_ns() + SOAK_TRANSFER_TIMEOUT_NS)
		bounded.deadline_ns = clock_mono_ns() + SOAK_TRANSFER_TIMEOUT_NS;
	executor_run(t, "transfer_leader", args, NULL, &bounded, &res);
	if (res.status == ACTION_TIMED_OUT) {
		struct dr_error serr = DR_ERROR_INIT;
		json_t *leader = NULL;

		if (t->status(t, &status, STATUS_TIMEOUT_NS, &serr) == 0)
			leader = json_object_get(status, "leader");
		if (json_is_object(leader))
			dr_error_set(err, "leadership did not move to node %lld within %llds: node %lld leads at term %lld",
				     (long long)node, (long long)(SOAK_TRANSFER_TIMEOUT_NS / NS_PER_SEC),
				     (long long)json_integer_value(json_object_get(leader, "id")),
				     (long long)json_integer_value(json_object_get(status, "term")));
		else
			dr_error_set(err, "leadership did not move to node %lld within %llds: no leader",
				     (long long)node, (long long)(SOAK_TRANSFER_TIMEOUT_NS / NS_PER_SEC));
		rc = SOAK_FAULT_MISSED;
	} else if (res.status != ACTION_OK) {
		rc = dr_error_set(err, "transfer_leader %s: %s", action_status_name(res.status), res.message);
	}
	json_decref(status);
	json_decref(args);
	action_result_release(&res);
	return rc;
}

int soak_fault_inject(struct soak_applied *out, struct target *t, const struct soak_fault *f,
		      const char *client_id, uint64_t sequence, const struct action_ctx *ctx,
		      struct dr_error *err)
{
	json_t *status = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	switch (f->kind) {
	case SOAK_KILL_LEADER:
		return kill_role(out, t, "leader", ctx, err);
	case SOAK_KILL_FOLLOWER:
		/* The target's own what=follower always takes the first one:
		 * pick among all of them instead. */
		if (read_members(&status, t, err) != 0)
			return -1;
		out->node = pick_node(status, CAND_FOLLOWER, f->pick);
		json_decref(status);
		if (!out->node)
			return dr_error_set(err, "kill-follower: the cluster has no follower");
		snprintf(out->target, sizeof(out->target), "node %lld (follower)", (long long)out->node);
		return run_action(t, "kill", json_pack("{s:s,s:I,s:s}", "what", "node", "node",
						       (json_int_t)out->node, "signal", "KILL"), ctx, err);
	case SOAK_SCALE_REGION:
		snprintf(out->target, sizeof(out->target), "region %s", f->region);
		out->needs_heal = 1;
		return run_action(t, "scale", json_pack("{s:s,s:i}", "region", f->region, "replicas", 0),
				  ctx, err);
	case SOAK_PARTITION_REGION:
		snprintf(out->target, sizeof(out->target), "region %s", f->region);
		/* Heal even when the partition failed half-way. */
		out->needs_heal = 1;
		return run_action_noting(t, "partition", json_pack("{s:s,s:s}", "what", "region",
								   "region", f->region), ctx, out, err);
	case SOAK_MUTE_LEADER:
		if (read_members(&status, t, err) != 0)
			return -1;
		out->node = json_integer_value(json_object_get(json_object_get(status, "leader"), "id"));
		json_decref(status);
		if (!out->node)
			return dr_error_set(err, "mute-leader: the cluster has no leader");
		snprintf(out->target, sizeof(out->target), "node %lld (leader) cannot send",
			 (long long)out->node);
		out->needs_heal = 1;
		return run_action_noting(t, "partition",
					 json_pack("{s:s,s:I,s:s,s:s}", "what", "node", "node",
						   (json_int_t)out->node, "direction", "outbound",
						   "method", "nftables"), ctx, out, err);
	case SOAK_LOSSY_REGION:
		snprintf(out->target, sizeof(out->target), "region %s loses 30%%", f->region);
		out->needs_heal = 1;
		return run_action_noting(t, "partition",
					 json_pack("{s:s,s:s,s:i,s:s}", "what", "region", "region",
						   f->region, "loss", 30, "method", "nftables"),
					 ctx, out, err);
	case SOAK_PAUSE_NODE:
		if (read_members(&status, t, err) != 0)
			return -1;
		out->node = pick_node(status, CAND_ANY, f->pick);
		json_decref(status);
		snprintf(out->target, sizeof(out->target), "node %lld", (long long)out->node);
		out->needs_heal = 1;
		return run_action(t, "pause", json_pack("{s:s,s:I}", "what", "node", "node",
							(json_int_t)out->node), ctx, err);
	case SOAK_TRANSFER_LEADER:
		if (read_members(&status, t, err) != 0)
			return -1;
		out->node = pick_node(status, CAND_LEADER_ABLE, f->pick);
		json_decref(status);
		if (!out->node)
			return dr_error_set(err, "transfer-leader: no other node can lead");
		snprintf(out->target, sizeof(out->target), "to node %lld", (long long)out->node);
		return transfer(t, out->node, ctx, err);
	case SOAK_DROP_ENTRY:
		return drop_entry(out, t, client_id, sequence, err);
	default:
		break;
	}
	dr_error_set(err, "unknown fault kind %d", (int)f->kind);
	return rc;
}

int soak_fault_heal(struct target *t, const struct soak_fault *f, const struct soak_applied *a,
		    const struct action_ctx *ctx, struct dr_error *err)
{
	if (!a->needs_heal)
		return 0;
	switch (f->kind) {
	case SOAK_SCALE_REGION:
		return run_action(t, "scale", json_pack("{s:s,s:s}", "region", f->region,
							"replicas", "normal"), ctx, err);
	case SOAK_PARTITION_REGION:
	case SOAK_MUTE_LEADER:
	case SOAK_LOSSY_REGION:
		return run_action(t, "heal", json_object(), ctx, err);
	case SOAK_PAUSE_NODE:
		return run_action(t, "resume", json_pack("{s:s,s:I}", "what", "node", "node",
							 (json_int_t)a->node), ctx, err);
	default:
		return 0;
	}
}
