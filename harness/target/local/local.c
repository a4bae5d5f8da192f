#include "harness/target/local/local.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/run/executor.h"
#include "harness/core/journal.h"
#include "harness/core/lock.h"
#include "harness/plan/plan.h"
#include "ledger/client/client.h"
#include "ledger/cluster/cluster.h"

#define ADMIN_TIMEOUT_NS (5 * NS_PER_SEC)
#define MAX_IDS CLUSTER_MAX_NODES

struct node_set {
	int ids[MAX_IDS];
	int n;
};

struct local_target {
	struct cluster_spec spec;
	char *dir;
	int attached;         /* --cluster: never torn down by us */
	int keep;
	int up;               /* we started it and it is running */
	struct drill_lock lock;
	char *ledgerd;
	char *role_names[3];  /* region name of the first region of each role */
	json_t *snapshots;    /* step name -> CreateSnapshot answer (+ "copy") */
	struct target *restored; /* the cluster restore_snapshot started (attached) */
	struct node_set stopped; /* ids this drill stopped, for `start what: all` */
	struct node_set paused;
};

/* ---- helpers ------------------------------------------------------------ */

static const char *role_ref(enum cluster_role r)
{
	return cluster_role_name(r);
}

static const char *local_resolve_region(struct target *t, const char *ref)
{
	struct local_target *lt = t->impl;

	if (!ref)
		return NULL;
	for (int i = 0; i < lt->spec.nregions; i++)
		if (strcmp(lt->spec.regions[i].name, ref) == 0)
			return lt->spec.regions[i].name;
	for (int i = 0; i < lt->spec.nregions; i++)
		if (strcmp(role_ref(lt->spec.regions[i].role), ref) == 0)
			return lt->spec.regions[i].name;
	return NULL;
}

/* One admin call to one node's HTTP address. */
static int node_call(json_t **out, const char *address, const char *method, json_t *req,
		     int64_t timeout_ns, struct dr_error *err)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[1] = { address };
	long http = 0;
	int rc;

	opts.timeout_ms = (long)(timeout_ns / NS_PER_MS);
	opts.admin_timeout_ms = opts.timeout_ms;
	if (ledger_client_new(&c, addrs, 1, &opts, err) != 0)
		return -1;
	rc = ledger_call(c, 0, method, req, out, &http, err);
	ledger_client_free(c);
	if (rc == 0 && (http < 200 || http >= 300)) {
		const char *code = json_string_value(json_object_get(*out, "code"));
		const char *msg = json_string_value(json_object_get(*out, "message"));

		dr_error_set(err, "%s answered HTTP %ld %s: %s", address, http, code ? code : "",
			     msg ? msg : "(no message)");
		return -1;
	}
	return rc;
}

static int local_status(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err)
{
	struct local_target *lt = t->impl;

	(void)timeout_ns;
	return cluster_status(out, lt->dir, err);
}

/* Members (from status) matching a selector {what, node, region}. */
static int select_nodes(struct target *t, json_t *args, int *ids,
			int *n, json_t **status_out, struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *what = plan_arg_str(args, "what");
	const char *region = local_resolve_region(t, plan_arg_str(args, "region"));
	json_t *status = NULL, *members, *m, *node_arg = json_object_get(args, "node");
	int64_t leader_id;
	size_t i;

	*n = 0;
	if (local_status(t, &status, ADMIN_TIMEOUT_NS, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot read the cluster status: %s", err.msg);
		return -1;
	}
	leader_id = json_integer_value(json_object_get(json_object_get(status, "leader"), "id"));
	members = json_object_get(status, "members");
	if (!what)
		what = node_arg ? "node" : region ? "region" : "leader";
	json_array_foreach(members, i, m) {
		int64_t id = json_integer_value(json_object_get(m, "id"));
		const char *mr = json_string_value(json_object_get(m, "region"));
		const char *state = json_string_value(json_object_get(m, "state"));
		int in_region = !region || (mr && strcmp(mr, region) == 0);
		int match = 0;

		if (strcmp(what, "leader") == 0)
			match = id == leader_id && in_region;
		else if (strcmp(what, "follower") == 0)
			match = id != leader_id && in_region && *n == 0 &&
				state && strcmp(state, "unreachable") != 0;
		else if (strcmp(what, "node") == 0)
			match = (json_is_integer(node_arg) && json_integer_value(node_arg) == id) ||
				(json_is_string(node_arg) &&
				 ((json_string_value(node_arg)[0] == 'n' &&
				   strtoll(json_string_value(node_arg) + 1, NULL, 10) == id) ||
				  strtoll(json_string_value(node_arg), NULL, 10) == id));
		else if (strcmp(what, "region") == 0)
			match = region && in_region;
		else if (strcmp(what, "all") == 0)
			match = in_region;
		if (match && *n < MAX_IDS)
			ids[(*n)++] = (int)id;
	}
	if (*n == 0) {
		action_result_set(res, ACTION_FAILED, "no node matches what=%s%s%s", what,
				  region ? " in region " : "", region ? region : "");
		json_decref(status);
		return -1;
	}
	if (status_out)
		*status_out = status;
	else
		json_decref(status);
	return 0;
}

static void ids_text(char *buf, size_t len, const int *ids, int n)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%d", i ? "," : "", ids[i]);

		off += w > 0 ? (size_t)w : 0;
	}
}

static json_t *ids_json(const int *ids, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	return a;
}

static void remember(int *list, int *n, int id)
{
	for (int i = 0; i < *n; i++)
		if (list[i] == id)
			return;
	if (*n < MAX_IDS)
		list[(*n)++] = id;
}

static void forget(int *list, int *n, int id)
{
	for (int i = 0; i < *n; i++)
		if (list[i] == id) {
			list[i] = list[--*n];
			return;
		}
}

typedef int (*node_op_fn)(json_t **out, const char *dir, int node, struct dr_error *err);

static void per_node(struct local_target *lt, const int *ids, int n, node_op_fn fn,
		     const char *verb, struct action_result *res)
{
	char list[256];

	for (int i = 0; i < n; i++) {
		struct dr_error err = DR_ERROR_INIT;

		if (fn(NULL, lt->dir, ids[i], &err) != 0) {
			action_result_set(res, ACTION_FAILED, "cannot %s node %d: %s", verb, ids[i], err.msg);
			return;
		}
	}
	ids_text(list, sizeof(list), ids, n);
	action_result_set(res, ACTION_OK, "%s node%s %s", verb, n > 1 ? "s" : "", list);
	res->data = json_pack("{s:o}", "nodes", ids_json(ids, n));
}

/* ---- actions ------------------------------------------------------------ */

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
	int ids[MAX_IDS], n;
	char list[256];

	(void)ctx;
	if (select_nodes(t, args, ids, &n, NULL, res) != 0)
		return;
	for (int i = 0; i < n; i++) {
		struct dr_error err = DR_ERROR_INIT;

		if (cluster_kill(NULL, lt->dir, ids[i], sig ? sig : "KILL", &err) != 0) {
			action_result_set(res, ACTION_FAILED, "cannot kill node %d: %s", ids[i], err.msg);
			return;
		}
	}
	ids_text(list, sizeof(list), ids, n);
	action_result_set(res, ACTION_OK, "sent SIG%s to node%s %s (the supervisor restarts %s)",
			  sig ? sig : "KILL", n > 1 ? "s" : "", list, n > 1 ? "them" : "it");
	res->data = json_pack("{s:o,s:s}", "nodes", ids_json(ids, n), "signal", sig ? sig : "KILL");
}

/* A node set this drill took down (stopped or paused), so that `start` /
 * `resume` with what: all bring back exactly those. */
static void take_down(struct target *t, json_t *args, struct node_set *set, node_op_fn fn,
		      const char *verb, struct action_result *res)
{
	int ids[MAX_IDS], n;

	if (select_nodes(t, args, ids, &n, NULL, res) != 0)
		return;
	per_node(t->impl, ids, n, fn, verb, res);
	if (res->status == ACTION_OK)
		for (int i = 0; i < n; i++)
			remember(set->ids, &set->n, ids[i]);
}

static void bring_back(struct target *t, json_t *args, struct node_set *set, node_op_fn fn,
		       const char *verb, struct action_result *res)
{
	const char *what = plan_arg_str(args, "what");
	int ids[MAX_IDS], n = set->n;

	if (!what || strcmp(what, "all") == 0) {
		if (n == 0) {
			action_result_set(res, ACTION_OK, "nothing to do: this drill %s no node", verb);
			return;
		}
		memcpy(ids, set->ids, sizeof(int) * (size_t)n);
	} else if (select_nodes(t, args, ids, &n, NULL, res) != 0) {
		return;
	}
	per_node(t->impl, ids, n, fn, verb, res);
	if (res->status == ACTION_OK)
		for (int i = 0; i < n; i++)
			forget(set->ids, &set->n, ids[i]);
}

static void do_stop(struct target *t, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res)
{
	struct local_target *lt = t->impl;

	(void)ctx;
	take_down(t, args, &lt->stopped, cluster_stop, "stopped", res);
}

static void do_start(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct local_target *lt = t->impl;

	(void)ctx;
	bring_back(t, args, &lt->stopped, cluster_start, "started", res);
}

static void do_pause(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct local_target *lt = t->impl;

	(void)ctx;
	take_down(t, args, &lt->paused, cluster_pause, "paused", res);
}

static void do_resume(struct target *t, json_t *args, const struct action_ctx *ctx,
		      struct action_result *res)
{
	struct local_target *lt = t->impl;

	(void)ctx;
	bring_back(t, args, &lt->paused, cluster_resume, "resumed", res);
}

/* Cut the selected nodes off from every other member, both ways: each side
 * drops the other's Raft traffic (ledgerd's Debug/Partition). */
static void do_partition(struct target *t, json_t *args, const struct action_ctx *ctx,
			 struct action_result *res)
{
	json_t *status = NULL, *members, *m, *side_a, *side_b;
	int ids[MAX_IDS], n;
	char list[256];
	size_t i;

	(void)ctx;
	if (select_nodes(t, args, ids, &n, &status, res) != 0)
		return;
	side_a = ids_json(ids, n);
	side_b = json_array();
	members = json_object_get(status, "members");
	json_array_foreach(members, i, m) {
		int64_t id = json_integer_value(json_object_get(m, "id"));
		int in_a = 0;

		for (int k = 0; k < n; k++)
			in_a |= ids[k] == id;
		if (!in_a)
			json_array_append_new(side_b, json_integer(id));
	}
	json_array_foreach(members, i, m) {
		struct dr_error err = DR_ERROR_INIT;
		int64_t id = json_integer_value(json_object_get(m, "id"));
		const char *addr = json_string_value(json_object_get(m, "address"));
		int in_a = 0;
		json_t *req, *answer = NULL;

		for (int k = 0; k < n; k++)
			in_a |= ids[k] == id;
		req = json_pack("{s:O}", "peers", in_a ? side_b : side_a);
		if (!addr || node_call(&answer, addr, "inferadb.ledger.v1.Debug/Partition", req,
				       ADMIN_TIMEOUT_NS, &err) != 0) {
			const char *state = json_string_value(json_object_get(m, "state"));

			/* A node that is down cannot be told; it is cut off anyway, and
			 * heal reaches it once it is back. */
			if (!(state && strcmp(state, "unreachable") == 0)) {
				action_result_set(res, ACTION_FAILED, "cannot partition node %lld: %s",
						  (long long)id, err.msg);
				json_decref(req);
				json_decref(answer);
				goto out;
			}
		}
		json_decref(req);
		json_decref(answer);
	}
	ids_text(list, sizeof(list), ids, n);
	action_result_set(res, ACTION_OK, "node%s %s cut off from the other %zu member%s",
			  n > 1 ? "s" : "", list, json_array_size(side_b),
			  json_array_size(side_b) == 1 ? "" : "s");
	res->data = json_pack("{s:O,s:O}", "isolated", side_a, "rest", side_b);
out:
	json_decref(side_a);
	json_decref(side_b);
	json_decref(status);
}

static void do_heal(struct target *t, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *info = NULL, *nodes, *node;
	struct local_target *lt = t->impl;
	size_t i, healed = 0;

	(void)args;
	(void)ctx;
	if (cluster_load(&info, lt->dir, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
		return;
	}
	nodes = json_object_get(info, "nodes");
	json_array_foreach(nodes, i, node) {
		const char *addr = json_string_value(json_object_get(node, "address"));
		json_t *req = json_object(), *answer = NULL;

		if (addr && node_call(&answer, addr, "inferadb.ledger.v1.Debug/Heal", req,
				      ADMIN_TIMEOUT_NS, &err) == 0)
			healed++;
		json_decref(req);
		json_decref(answer);
	}
	json_decref(info);
	action_result_set(res, healed ? ACTION_OK : ACTION_FAILED, "healed %zu node%s%s%s", healed,
			  healed == 1 ? "" : "s", healed ? "" : ": ", healed ? "" : err.msg);
}

static void do_zone_down(struct target *t, json_t *args, const struct action_ctx *ctx,
			 struct action_result *res)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	const char *zone = plan_arg_str(args, "zone");
	json_t *status = NULL, *m;
	int ids[MAX_IDS], n = 0;
	size_t i;

	(void)ctx;
	if (local_status(t, &status, ADMIN_TIMEOUT_NS, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
		return;
	}
	json_array_foreach(json_object_get(status, "members"), i, m) {
		const char *z = json_string_value(json_object_get(m, "zone"));

		if (z && zone && strcmp(z, zone) == 0 && n < MAX_IDS)
			ids[n++] = (int)json_integer_value(json_object_get(m, "id"));
	}
	json_decref(status);
	if (n == 0) {
		action_result_set(res, ACTION_FAILED, "no node is in zone '%s'", zone ? zone : "");
		return;
	}
	per_node(lt, ids, n, cluster_stop, "stopped", res);
	if (res->status == ACTION_OK) {
		for (int k = 0; k < n; k++)
			remember(lt->stopped.ids, &lt->stopped.n, ids[k]);
		action_result_set(res, ACTION_OK, "zone %s down: %d node%s stopped", zone, n,
				  n > 1 ? "s" : "");
	}
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

		if (local_status(t, &status, ADMIN_TIMEOUT_NS, &err) == 0) {
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

/* Leadership transfers are best effort in Raft: the target may not catch
 * up in time, a new election may intervene, or the leader we asked may
 * just have lost its role.  So ask, wait a few election timeouts, and ask
 * again until the step's own deadline. */
static void do_transfer(struct target *t, json_t *args, const struct action_ctx *ctx,
			struct action_result *res)
{
	struct local_target *lt = t->impl;
	const char *region = local_resolve_region(t, plan_arg_str(args, "region"));
	json_t *node = json_object_get(args, "node");
	int64_t node_id = json_is_integer(node) ? json_integer_value(node) :
			  json_is_string(node) ? strtoll(json_string_value(node) +
						 (json_string_value(node)[0] == 'n'), NULL, 10) : 0;
	int64_t settle = 4 * (int64_t)lt->spec.election_timeout_ms * NS_PER_MS;
	char last[512] = "no attempt yet";
	int attempts = 0;

	if (settle < NS_PER_SEC)
		settle = NS_PER_SEC;
	for (;;) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *status = NULL, *leader, *req, *answer = NULL;
		struct action_ctx wait = *ctx;
		const char *addr, *lr;
		int64_t lid;

		if (local_status(t, &status, ADMIN_TIMEOUT_NS, &err) == 0 &&
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
			req = node_id > 0 ? json_pack("{s:I}", "node_id", (json_int_t)node_id) :
					    json_pack("{s:s}", "region", region ? region : "");
			attempts++;
			if (addr && node_call(&answer, addr, "inferadb.ledger.v1.Admin/RequestLeaderTransfer",
					      req, ADMIN_TIMEOUT_NS, &err) != 0)
				snprintf(last, sizeof(last), "RequestLeaderTransfer: %.400s", err.msg);
			json_decref(req);
			json_decref(answer);
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
	if (local_status(t, &status, ADMIN_TIMEOUT_NS, &err) != 0) {
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
		if (node_call(&answer, addr, "inferadb.ledger.v1.Admin/ForceLeaderElection", req,
			      ADMIN_TIMEOUT_NS * 6, &err) != 0) {
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

static void do_snapshot(struct target *t, json_t *args, const struct action_ctx *ctx,
			struct action_result *res)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	json_t *status = NULL, *answer = NULL, *req = json_object();
	const char *addr, *path;
	char *copy = NULL;
	const char *copy_to = plan_arg_str(args, "copy_to");

	if (local_status(t, &status, ADMIN_TIMEOUT_NS, &err) != 0 || !(addr = leader_address(status))) {
		action_result_set(res, ACTION_FAILED, "no leader to snapshot%s%s", err.msg[0] ? ": " : "",
				  err.msg);
		goto out;
	}
	if (node_call(&answer, addr, "inferadb.ledger.v1.Admin/CreateSnapshot", req,
		      ADMIN_TIMEOUT_NS * 6, &err) != 0) {
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
	action_result_set(res, ACTION_OK, "snapshot at index %lld (%lld bytes, sha256 %.12s...) copied to %s",
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
	}
	action_result_set(res, ACTION_OK, "restored a separate cluster from %s", path);
	res->data = answer;
}

static const struct {
	const char *name;
	void (*fn)(struct target *t, json_t *args, const struct action_ctx *ctx,
		   struct action_result *res);
} local_actions[] = {
	{ "scale", do_scale },
	{ "kill", do_kill },
	{ "stop", do_stop },
	{ "start", do_start },
	{ "pause", do_pause },
	{ "resume", do_resume },
	{ "partition", do_partition },
	{ "heal", do_heal },
	{ "zone_down", do_zone_down },
	{ "drain_node", do_drain },
	{ "transfer_leader", do_transfer },
	{ "force_election", do_force_election },
	{ "snapshot", do_snapshot },
	{ "restore_snapshot", do_restore },
};

static void local_action(struct target *t, const char *action, json_t *args,
			 const struct action_ctx *ctx, struct action_result *res)
{
	for (size_t i = 0; i < sizeof(local_actions) / sizeof(local_actions[0]); i++) {
		if (strcmp(local_actions[i].name, action) != 0)
			continue;
		if (ctx->dry_run) {
			action_result_would_run(res, action, args, "on the bundled cluster");
			return;
		}
		local_actions[i].fn(t, args, ctx, res);
		return;
	}
	action_result_set(res, ACTION_UNSUPPORTED, "the local target cannot run '%s'", action);
}

/* ---- lifecycle ---------------------------------------------------------- */

static int local_lock(struct target *t, struct dr_error *err)
{
	struct local_target *lt = t->impl;
	char *path = xasprintf("%s/drill.lock", lt->dir);
	int rc = drill_lock_acquire(&lt->lock, path, err);

	free(path);
	return rc;
}

static void local_unlock(struct target *t)
{
	struct local_target *lt = t->impl;

	drill_lock_release(&lt->lock);
}

/* A fresh cluster elects whoever times out first; a real deployment's
 * leader sits in its primary region, and that is the state a drill starts
 * from (leadership otherwise stays where elections put it). */
static int place_leader_in_primary(struct target *t, const struct action_ctx *ctx,
				   struct dr_error *err)
{
	const char *primary = local_resolve_region(t, "primary");
	struct action_ctx bounded = *ctx;
	struct action_result res = ACTION_RESULT_INIT;
	json_t *args;

	if (!primary)
		return 0;
	bounded.deadline_ns = clock_mono_ns() + 15 * NS_PER_SEC;
	args = json_pack("{s:s}", "region", primary);
	do_transfer(t, args, &bounded, &res);
	json_decref(args);
	action_result_release(&res);
	if (res.status != ACTION_OK)
		return dr_error_set(err, "cannot move the leader into region %s: %s", primary, res.message);
	return 0;
}

static int local_start(struct target *t, const struct action_ctx *ctx, struct dr_error *err)
{
	struct local_target *lt = t->impl;

	if (ctx->dry_run)
		return 0;
	if (lt->attached) {
		json_t *info = NULL;

		if (cluster_wait_ready(lt->dir, 10 * NS_PER_SEC, err) != 0)
			return dr_error_wrap(err, "cluster in '%s' is not ready", lt->dir);
		json_decref(info);
		return 0;
	}
	if (cluster_up(lt->dir, &lt->spec, err) != 0)
		return dr_error_wrap(err, "cannot start the bundled cluster in '%s'", lt->dir);
	lt->up = 1;
	return place_leader_in_primary(t, ctx, err);
}

static int local_endpoints(struct target *t, char ***out, size_t *n, struct dr_error *err)
{
	struct local_target *lt = t->impl;
	json_t *info = NULL, *nodes, *node;
	size_t i;

	if (cluster_load(&info, lt->dir, err) != 0)
		return -1;
	nodes = json_object_get(info, "nodes");
	*n = json_array_size(nodes);
	*out = xcalloc(*n + 1, sizeof(char *));
	json_array_foreach(nodes, i, node)
		(*out)[i] = xstrdup(json_string_value(json_object_get(node, "address")) ?: "");
	json_decref(info);
	return 0;
}

static json_t *local_describe(struct target *t)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	json_t *regions = json_array(), *info = NULL, *d;
	int nodes = 0;

	for (int i = 0; i < lt->spec.nregions; i++) {
		json_array_append_new(regions, json_pack("{s:s,s:s,s:i}",
			"name", lt->spec.regions[i].name,
			"role", cluster_role_name(lt->spec.regions[i].role),
			"size", lt->spec.regions[i].size));
		nodes += lt->spec.regions[i].size;
	}
	d = json_pack("{s:s,s:s,s:{s:o,s:{s:i,s:i}},s:n,s:s}",
		      "kind", "local",
		      "description", lt->attached ? "bundled ledger cluster (attached)"
						  : "bundled ledger cluster",
		      "topology", "regions", regions,
		      "timing", "election_timeout_ms", lt->spec.election_timeout_ms,
		      "heartbeat_ms", lt->spec.heartbeat_ms,
		      "contexts",
		      "cluster_dir", lt->dir);
	json_object_set_new(d, "nodes", json_integer(nodes));
	/* `recover` tears down a cluster the interrupted drill had started. */
	json_object_set_new(d, "owned", json_boolean(!lt->attached && !lt->keep));
	if (cluster_load(&info, lt->dir, &err) == 0)
		json_object_set(d, "supervisor_pid", json_object_get(info, "supervisor_pid"));
	json_decref(info);
	return d;
}

static struct target *local_scope(struct target *t, const char *ref)
{
	struct local_target *lt = t->impl;

	return ref && strcmp(ref, "restored") == 0 ? lt->restored : NULL;
}

static char *local_state_path(struct target *t)
{
	struct local_target *lt = t->impl;

	return xasprintf("%s/drill.state.json", lt->dir);
}

static void local_close(struct target *t, int keep)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;

	keep = keep || lt->keep;
	if (lt->restored) {
		lt->restored->close(lt->restored, 1);
		/* The drill's restored cluster goes with the drill.  An owned
		 * cluster's teardown below takes it along; an attached one stays,
		 * so its restored cluster is removed here. */
		if (lt->attached && !keep) {
			json_t *req = json_pack("{s:s}", "cmd", "restore-down"), *answer = NULL;

			if (cluster_request(&answer, lt->dir, req, 30 * NS_PER_SEC, &err) != 0)
				fprintf(stderr, "drillrig: warning: cannot remove the restored cluster: %s\n",
					err.msg);
			json_decref(answer);
			json_decref(req);
			dr_error_clear(&err);
		}
	}
	if (!lt->attached && !(lt->up && keep)) {
		/* The directory is ours (mkdtemp), started or not. */
		if (lt->up && cluster_down(lt->dir, &err) != 0)
			fprintf(stderr, "drillrig: warning: %s\n", err.msg);
		else if (fs_remove_tree(lt->dir, &err) != 0)
			fprintf(stderr, "drillrig: warning: %s\n", err.msg);
	} else if (lt->up && keep) {
		fprintf(stderr, "drillrig: the cluster keeps running in '%s' (drillrig cluster down --cluster %s)\n",
			lt->dir, lt->dir);
	}
	drill_lock_release(&lt->lock);
	json_decref(lt->snapshots);
	free(lt->dir);
	free(lt->ledgerd);
	free(lt);
	free(t);
}

static int spec_from_plan(struct cluster_spec *spec, const struct plan *plan, struct dr_error *err)
{
	cluster_spec_init(spec);
	if (plan->topology.nregions > CLUSTER_MAX_REGIONS)
		return dr_error_set(err, "too many regions (%zu, at most %d)", plan->topology.nregions,
				    CLUSTER_MAX_REGIONS);
	if (plan->topology.nregions > 0) {
		spec->nregions = (int)plan->topology.nregions;
		for (size_t i = 0; i < plan->topology.nregions; i++) {
			const struct plan_region *r = &plan->topology.regions[i];
			struct cluster_region_spec *cr = &spec->regions[i];

			if (str_copy(cr->name, sizeof(cr->name), r->name) != 0)
				return dr_error_set(err, "region name '%s' is too long", r->name);
			cr->role = r->role == PLAN_ROLE_PRIMARY ? CLUSTER_ROLE_PRIMARY :
				   r->role == PLAN_ROLE_DR ? CLUSTER_ROLE_DR : CLUSTER_ROLE_WITNESS;
			cr->size = r->size;
			cr->zones = r->zones > 0 ? r->zones : 1;
		}
	}
	spec->election_timeout_ms = (int)(plan->topology.election_timeout_ns / NS_PER_MS);
	spec->heartbeat_ms = (int)(plan->topology.heartbeat_ns / NS_PER_MS);
	/* Drills need the debug faults (partition, digest). */
	spec->enable_debug = 1;
	return 0;
}

static void spec_from_cluster(struct cluster_spec *spec, json_t *info)
{
	json_t *regions = json_object_get(info, "regions"), *r;
	json_t *timing = json_object_get(info, "timing");
	size_t i;

	cluster_spec_init(spec);
	spec->nregions = 0;
	json_array_foreach(regions, i, r) {
		struct cluster_region_spec *cr;
		const char *name = json_string_value(json_object_get(r, "name"));

		if (!name || spec->nregions >= CLUSTER_MAX_REGIONS)
			continue;
		cr = &spec->regions[spec->nregions++];
		str_copy(cr->name, sizeof(cr->name), name);
		if (cluster_role_parse(&cr->role, json_string_value(json_object_get(r, "role")) ?: "") != 0)
			cr->role = CLUSTER_ROLE_DR;
		cr->size = (int)json_integer_value(json_object_get(r, "size"));
		cr->zones = (int)json_integer_value(json_object_get(r, "zones"));
	}
	if (json_integer_value(json_object_get(timing, "election_timeout_ms")) > 0)
		spec->election_timeout_ms = (int)json_integer_value(json_object_get(timing, "election_timeout_ms"));
	if (json_integer_value(json_object_get(timing, "heartbeat_ms")) > 0)
		spec->heartbeat_ms = (int)json_integer_value(json_object_get(timing, "heartbeat_ms"));
}

int target_local_new(struct target **out, const struct plan *plan,
		     const struct target_local_opts *opts, struct dr_error *err)
{
	struct target_local_opts defaults = TARGET_LOCAL_OPTS_INIT;
	struct local_target *lt = xcalloc(1, sizeof(*lt));
	struct target *t = xcalloc(1, sizeof(*t));

	if (!opts)
		opts = &defaults;
	if (plan && spec_from_plan(&lt->spec, plan, err) != 0)
		goto fail;
	if (!plan && !opts->cluster_dir) {
		dr_error_set(err, "a local target without a plan must attach to a cluster");
		goto fail;
	}
	lt->keep = opts->keep;
	lt->snapshots = json_object();
	if (opts->cluster_dir) {
		json_t *info = NULL;


		lt->dir = xstrdup(opts->cluster_dir);
		lt->attached = 1;
		if (cluster_load(&info, lt->dir, err) != 0) {
			dr_error_wrap(err, "no cluster in '%s' (start one with drillrig cluster up)", lt->dir);
			goto fail;
		}
		/* The running cluster's topology, not the plan's, says what
		 * "primary" and "normal" mean. */
		spec_from_cluster(&lt->spec, info);
		json_decref(info);
	} else {
		const char *root = opts->root_dir ? opts->root_dir : getenv("DRILLRIG_CLUSTER_ROOT");
		char *tmpl;

		if (!root || !*root)
			root = getenv("TMPDIR");
		if (!root || !*root)
			root = "/tmp";
		if (fs_mkdir_p(root, err) != 0)
			goto fail;
		tmpl = xasprintf("%s/drillrig-%s-XXXXXX", root, plan->name);
		if (!mkdtemp(tmpl)) {
			dr_error_errno(err, errno, "cannot create a cluster directory under '%s'", root);
			free(tmpl);
			goto fail;
		}
		lt->dir = tmpl;
	}
	t->kind = "local";
	t->impl = lt;
	t->start = local_start;
	t->lock = local_lock;
	t->unlock = local_unlock;
	t->action = local_action;
	t->status = local_status;
	t->endpoints = local_endpoints;
	t->resolve_region = local_resolve_region;
	t->describe = local_describe;
	t->state_path = local_state_path;
	t->scope = local_scope;
	t->close = local_close;
	*out = t;
	return 0;
fail:
	json_decref(lt->snapshots);
	free(lt->dir);
	free(lt);
	free(t);
	return -1;
}
