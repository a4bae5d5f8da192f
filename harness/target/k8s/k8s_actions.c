/* The Kubernetes target's actions: each one a short sequence of kubectl
 * commands (harness/target/k8s/k8s_cmd.h) and bounded polls of their effect.
 * In a dry run each prints the commands it would run, in order, with
 * <placeholders> where a value would come from reading the cluster, and
 * its result says what it would do ("would ..."), never what it did.  In a
 * server-side dry run a result says which changes the API server accepted
 * and which commands were not run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/core/journal.h"
#include "harness/plan/plan.h"
#include "harness/target/k8s/k8s_impl.h"
#include "ledger/client/client.h"
#include "harness/target/shared/node_select.h"

#define POLL_NS (200 * NS_PER_MS)
#define MAX_PICK 64

struct pick {
	const struct k8s_region *r;
	char pod[254];
	int64_t id;            /* ledger node id, 0 when unknown */
};

static const struct k8s_region *arg_region(struct k8s_target *kt, json_t *args, const char *key)
{
	return k8s_config_region(kt->cfg, plan_arg_str(args, key));
}

/* Run one command for an action: the step's journal, the step's deadline
 * (bounded by the command timeout).  Returns k8s_run's value. */
static int run(struct k8s_target *kt, const struct action_ctx *ctx, struct k8s_argv *a,
	       const char *stdin_data, unsigned flags, struct k8s_out *o, struct dr_error *err)
{
	int64_t left = ctx->deadline_ns ? ctx->deadline_ns - clock_mono_ns() : 0;
	int rc;

	if (ctx->deadline_ns && left < NS_PER_SEC)
		left = NS_PER_SEC; /* a command still gets a chance to report why */
	rc = k8s_run(kt, o, a, stdin_data, left, flags, ctx->journal, err);
	return rc;
}

/* Run and forget the output. */
static int run1(struct k8s_target *kt, const struct action_ctx *ctx, struct k8s_argv *a,
		unsigned flags, struct dr_error *err)
{
	struct k8s_out o = K8S_OUT_INIT;
	int rc = run(kt, ctx, a, NULL, flags, &o, err);

	k8s_out_release(&o);
	k8s_argv_release(a);
	return rc;
}

static int status_now(struct k8s_target *kt, const struct action_ctx *ctx, json_t **out,
		      struct dr_error *err)
{
	return k8s_read_status(kt, out, 5 * NS_PER_SEC, ctx->journal, err);
}

static void fill_pick(struct k8s_target *kt, struct pick *p, json_t *m)
{
	const char *pod = json_string_value(json_object_get(m, "pod"));
	const char *region = json_string_value(json_object_get(m, "region"));

	memset(p, 0, sizeof(*p));
	p->id = json_integer_value(json_object_get(m, "id"));
	p->r = k8s_config_region(kt->cfg, region);
	str_copy(p->pod, sizeof(p->pod), pod ? pod : "");
}

/* what: region: every running pod of the region (from its pods, not the
 * status: a pod that is not a ledger member yet is hit too). */
static int pick_region_pods(struct k8s_target *kt, const struct k8s_region *region,
			    const struct action_ctx *ctx, struct pick *out, size_t *n,
			    struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_pod *pods = NULL;
	size_t np = 0;

	if (kt->dry_run) {
		k8s_read_pods(kt, region, &pods, &np, ctx->journal, &err);
		free(pods);
		out[0].r = region;
		str_copy(out[0].pod, sizeof(out[0].pod), "<each pod>");
		*n = 1;
		return 0;
	}
	if (k8s_read_pods(kt, region, &pods, &np, ctx->journal, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
		return -1;
	}
	for (size_t k = 0; k < np && *n < MAX_PICK; k++) {
		if (pods[k].deleting)
			continue;
		out[*n].r = region;
		str_copy(out[*n].pod, sizeof(out[*n].pod), pods[k].name);
		(*n)++;
	}
	free(pods);
	if (*n == 0) {
		action_result_set(res, ACTION_FAILED, "region %s has no running pod", region->name);
		return -1;
	}
	return 0;
}

/* The members q selects in the status (harness/target/shared/node_select.h),
 * as pods: each must map to a pod and a configured region. */
static int pick_from_status(struct k8s_target *kt, const struct node_query *q,
			    const struct k8s_region *region, const struct action_ctx *ctx,
			    struct pick *out, size_t *n, struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *status = NULL, *picked[MAX_PICK];
	size_t found;
	char why[512];

	if (k8s_read_status(kt, &status, 5 * NS_PER_SEC, ctx->journal, &err) != 0) {
		if (kt->dry_run) {
			out[0].r = region ? region : k8s_config_region(kt->cfg, "primary");
			str_copy(out[0].pod, sizeof(out[0].pod),
				 q->node.name ? q->node.name : strcmp(q->what, "leader") == 0 ? "<leader pod>" :
				 strcmp(q->what, "follower") == 0 ? "<follower pod>" : "<pod of the node>");
			*n = 1;
			return 0;
		}
		action_result_set(res, ACTION_FAILED, "cannot read the cluster status: %s", err.msg);
		return -1;
	}
	found = node_match(picked, MAX_PICK, status, q);
	if (found > 1 && q->node.name) {
		action_result_set(res, ACTION_FAILED, "pod %s exists in several regions: add region:",
				  q->node.name);
		json_decref(status);
		return -1;
	}
	for (size_t i = 0; i < found && i < MAX_PICK; i++) {
		json_t *m = picked[i];

		if (!json_string_value(json_object_get(m, "pod")) ||
		    !k8s_config_region(kt->cfg, json_string_value(json_object_get(m, "region")))) {
			action_result_set(res, ACTION_FAILED,
					  "cannot tell which pod runs ledger node %lld (address %s): add node_ids "
					  "to its region in %s",
					  (long long)json_integer_value(json_object_get(m, "id")),
					  json_string_value(json_object_get(m, "address")) ?: "?", kt->cfg->path);
			json_decref(status);
			return -1;
		}
		fill_pick(kt, &out[(*n)++], m);
	}
	if (*n == 0) {
		node_query_no_match(why, sizeof(why), q, "ledger node", status);
		action_result_set(res, ACTION_FAILED, "%s", why);
	}
	json_decref(status);
	return *n ? 0 : -1;
}

/* Which pods an action hits: {what, node, region} against the status (and
 * the pods, for what: region). */
static int pick_pods(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
		     struct pick *out, size_t *n, struct action_result *res)
{
	const struct k8s_region *region = arg_region(kt, args, "region");
	json_t *node = json_object_get(args, "node");
	struct node_query q;

	*n = 0;
	if (plan_arg_str(args, "region") && !region) {
		action_result_set(res, ACTION_FAILED, "unknown region '%s' (not in %s)",
				  plan_arg_str(args, "region"), kt->cfg->path);
		return -1;
	}
	memset(&q, 0, sizeof(q));
	q.what = plan_arg_str(args, "what");
	if (!q.what)
		q.what = node ? "node" : region ? "region" : "leader";
	if (strcmp(q.what, "region") == 0)
		return pick_region_pods(kt, region, ctx, out, n, res);
	q.region = region ? region->name : NULL;
	q.name_key = "pod";
	q.follower_needs_name = 1;
	if (node) {
		if (node_ref_parse(&q.node, node) != 0) {
			action_result_set(res, ACTION_FAILED, "'node' must be a node id or a pod name");
			return -1;
		}
		q.has_node = 1;
	}
	if (q.node.name && region) {
		/* A pod named in a region needs no status read. */
		out[0].r = region;
		str_copy(out[0].pod, sizeof(out[0].pod), q.node.name);
		*n = 1;
		return 0;
	}
	return pick_from_status(kt, &q, region, ctx, out, n, res);
}

static json_t *picks_json(const struct pick *p, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I}", "region", p[i].r->name,
						   "context", p[i].r->context, "pod", p[i].pod,
						   "node_id", (json_int_t)p[i].id));
	return a;
}

/* ---- waits ---------------------------------------------------------------- */

/* Poll the StatefulSet until want() holds; records the moment it did. */
static int wait_sts(struct k8s_target *kt, const struct k8s_region *r, int replicas,
		    const struct action_ctx *ctx, int64_t *held_at, struct k8s_sts_state *last,
		    struct dr_error *err)
{
	for (;;) {
		struct k8s_argv a = K8S_ARGV_INIT;
		struct k8s_out o = K8S_OUT_INIT;
		int rc;

		k8s_cmd_get_statefulset(&a, kt->cfg, r);
		rc = run(kt, ctx, &a, NULL, K8S_RUN_READ | K8S_RUN_QUIET, &o, err);
		if (rc == 0 && k8s_parse_statefulset(last, o.out, err) == 0) {
			/* 0: every pod is gone (terminated after its grace period), not
			 * merely asked to go; N: N pods exist and are Ready. */
			/* The status lags the spec: only a status that has seen
			 * this generation (observedGeneration) says anything about
			 * the scale just made. */
			int seen = last->generation <= 0 || last->observed_generation >= last->generation;
			int done = seen && (replicas == 0 ? last->replicas == 0
							  : last->replicas == replicas && last->ready >= replicas);

			if (done) {
				*held_at = clock_mono_ns();
				k8s_out_release(&o);
				k8s_argv_release(&a);
				return 0;
			}
		}
		k8s_out_release(&o);
		k8s_argv_release(&a);
		if (rc == 1)
			return 1; /* dry run: one read printed is enough */
		if (action_ctx_expired(ctx))
			return -1;
		action_ctx_sleep(ctx, POLL_NS);
	}
}

/* Poll the status until the leader is in region (NULL: any) or is node id. */
static int wait_leader(struct k8s_target *kt, const struct k8s_region *r, int64_t id,
		       const struct action_ctx *ctx, json_t **out)
{
	for (;;) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *st = NULL, *leader;

		if (k8s_read_status(kt, &st, 5 * NS_PER_SEC, ctx->journal, &err) == 0) {
			const char *lr;

			leader = json_object_get(st, "leader");
			lr = json_string_value(json_object_get(leader, "region"));
			if (json_is_object(leader) && (!r || (lr && strcmp(lr, r->name) == 0)) &&
			    (id <= 0 || json_integer_value(json_object_get(leader, "id")) == id)) {
				*out = st;
				return 0;
			}
			json_decref(st);
		}
		if (kt->dry_run)
			return 1;
		if (action_ctx_expired(ctx))
			return -1;
		action_ctx_sleep(ctx, POLL_NS);
	}
}

/* ---- actions -------------------------------------------------------------- */

static void do_scale(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	const struct k8s_region *r = arg_region(kt, args, "region");
	json_t *rep = json_object_get(args, "replicas");
	int n = json_is_integer(rep) ? (int)json_integer_value(rep) : -1;
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_sts_state st;
	int64_t start = clock_mono_ns(), done_at = 0;
	int rc;

	if (!r) {
		action_result_set(res, ACTION_FAILED, "unknown region '%s'", plan_arg_str(args, "region"));
		return;
	}
	if (n < 0)
		n = r->replicas;
	k8s_cmd_scale(&a, kt->cfg, r, n, kt->server_dry_run);
	rc = run1(kt, ctx, &a, K8S_RUN_CHANGE, &err);
	if (rc < 0) {
		action_result_set(res, ACTION_FAILED, "cannot scale region %s: %s", r->name, err.msg);
		return;
	}
	if (kt->server_dry_run) {
		action_result_set(res, ACTION_OK, "server dry run: scaling statefulset/%s in %s to %d was "
				  "accepted (nothing changed)", r->statefulset, r->context, n);
		return;
	}
	memset(&st, 0, sizeof(st));
	rc = wait_sts(kt, r, n, ctx, &done_at, &st, &err);
	if (rc == 1) {
		action_result_set(res, ACTION_OK, "would scale region %s (statefulset/%s in %s) to %d",
				  r->name, r->statefulset, r->context, n);
		return;
	}
	if (rc != 0) {
		action_result_set(res, action_ctx_cancelled(ctx) ? ACTION_CANCELLED : ACTION_TIMED_OUT,
				  "region %s scaled to %d but %s (last seen %d pods, %d ready)%s%s", r->name, n,
				  n == 0 ? "its pods were not gone within the timeout"
					 : "its pods were not all Ready within the timeout",
				  st.replicas, st.ready, err.msg[0] ? ": " : "", err.msg);
		return;
	}
	/* Termination grace delays the real fault: the report needs when the
	 * pods were actually gone, not when the scale was accepted. */
	if (ctx->journal)
		journal_event_at(ctx->journal, done_at, n == 0 ? "pods_gone" : "pods_ready",
				 json_pack("{s:s,s:s,s:i,s:f}", "region", r->name, "context", r->context,
					   "replicas", n, "after_ms", (double)(done_at - start) / 1e6));
	action_result_set(res, ACTION_OK, "region %s scaled to %d: %s after %.2fs", r->name, n,
			  n == 0 ? "every pod gone" : "every pod Ready", (double)(done_at - start) / 1e9);
	res->data = json_pack("{s:s,s:s,s:s,s:i,s:f}", "region", r->name, "context", r->context,
			      "statefulset", r->statefulset, "replicas", n,
			      n == 0 ? "pods_gone_after_ms" : "pods_ready_after_ms",
			      (double)(done_at - start) / 1e6);
}

/* A crash is a forced delete, never an exec: a distroless image has no
 * kill, and PID 1 ignores a SIGKILL sent from inside its own PID
 * namespace, so an exec'd kill could "succeed" with nothing killed.  The
 * report says how the fault was injected. */
static void do_kill(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
		    struct action_result *res)
{
	const char *sig = plan_arg_str(args, "signal");
	struct pick picks[MAX_PICK];
	size_t n = 0;
	int graceful, chaos;
	const char *how;

	if (!sig)
		sig = "KILL";
	/* TERM is a graceful restart: delete the pod with its grace period and
	 * let the StatefulSet recreate it. */
	graceful = strcmp(sig, "TERM") == 0;
	chaos = !graceful && kt->cfg->fault_engine == K8S_FAULTS_CHAOS_MESH;
	how = graceful ? "kubectl delete pod with its grace period" :
	      chaos ? "a Chaos Mesh PodChaos pod-kill" : "kubectl delete pod --grace-period=0 --force";
	if (pick_pods(kt, args, ctx, picks, &n, res) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct dr_error err = DR_ERROR_INIT;
		struct k8s_argv a = K8S_ARGV_INIT;

		if (chaos) {
			if (k8s_chaos_kill(kt, ctx, picks[i].r, picks[i].pod, &err) < 0) {
				action_result_set(res, ACTION_FAILED, "cannot kill pod %s in %s: %s", picks[i].pod,
						  picks[i].r->context, err.msg);
				return;
			}
			continue;
		}
		if (graceful)
			k8s_cmd_delete_pod(&a, kt->cfg, picks[i].r, picks[i].pod, kt->server_dry_run);
		else
			k8s_cmd_force_delete_pod(&a, kt->cfg, picks[i].r, picks[i].pod, kt->server_dry_run);
		if (run1(kt, ctx, &a, K8S_RUN_CHANGE, &err) < 0) {
			action_result_set(res, ACTION_FAILED, "cannot delete pod %s in %s: %s", picks[i].pod,
					  picks[i].r->context, err.msg);
			return;
		}
	}
	if (kt->dry_run)
		action_result_set(res, ACTION_OK, "would %s pod %s in %s (%s): the StatefulSet would "
				  "recreate it", graceful ? "delete" : "crash", picks[0].pod,
				  picks[0].r->context, how);
	else if (kt->server_dry_run)
		action_result_set(res, ACTION_OK, "server dry run: deleting %zu pod%s (%s%s) was accepted "
				  "(nothing changed)", n, n == 1 ? "" : "s", picks[0].pod, n > 1 ? ", ..." : "");
	else
		action_result_set(res, ACTION_OK, "%s %zu pod%s (%s%s) with %s%s: the StatefulSet "
				  "recreates them", graceful ? "deleted" : "crashed", n, n == 1 ? "" : "s",
				  picks[0].pod, n > 1 ? ", ..." : "", how,
				  graceful ? "" : " (SIGKILL, no grace period)");
	res->data = json_pack("{s:o,s:s,s:s}", "pods", picks_json(picks, n), "signal", sig, "how", how);
}

static int node_of_pod(struct k8s_target *kt, const struct action_ctx *ctx, const struct pick *p,
		       char *node, size_t len, struct dr_error *err)
{
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	json_t *pod;
	int rc;

	k8s_cmd_get_pod(&a, kt->cfg, p->r, p->pod);
	rc = run(kt, ctx, &a, NULL, K8S_RUN_READ, &o, err);
	k8s_argv_release(&a);
	if (rc == 1) {
		str_copy(node, len, "<node of the pod>");
		k8s_out_release(&o);
		return 0;
	}
	if (rc != 0) {
		k8s_out_release(&o);
		return -1;
	}
	pod = json_loads(o.out, 0, NULL);
	k8s_out_release(&o);
	if (!json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName"))) {
		json_decref(pod);
		return dr_error_set(err, "pod %s is not scheduled on a node", p->pod);
	}
	str_copy(node, len, json_string_value(json_object_get(json_object_get(pod, "spec"), "nodeName")));
	json_decref(pod);
	return 0;
}

static int cordon(struct k8s_target *kt, const struct action_ctx *ctx, const struct k8s_region *r,
		  const char *node, struct dr_error *err)
{
	struct k8s_argv a = K8S_ARGV_INIT;

	k8s_cmd_cordon(&a, kt->cfg, r, node, 0, kt->server_dry_run);
	if (run1(kt, ctx, &a, K8S_RUN_CHANGE, err) < 0)
		return -1;
	/* Remembered before anything else can fail: the end of the drill
	 * uncordons it whatever happens next. */
	if (!kt->dry_run && !kt->server_dry_run) {
		pthread_mutex_lock(&kt->lock);
		json_array_append_new(kt->cordoned, json_pack("{s:s,s:s}", "region", r->name, "node", node));
		pthread_mutex_unlock(&kt->lock);
		k8s_state_note(kt); /* `drillrig recover` uncordons it if we die */
	}
	return 0;
}

static void do_drain(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	struct pick picks[MAX_PICK];
	struct k8s_argv a = K8S_ARGV_INIT;
	char node[254];
	size_t n = 0;
	int64_t left = ctx->deadline_ns ? (ctx->deadline_ns - clock_mono_ns()) / NS_PER_SEC : 300;

	if (pick_pods(kt, args, ctx, picks, &n, res) != 0)
		return;
	if (node_of_pod(kt, ctx, &picks[0], node, sizeof(node), &err) != 0 ||
	    cordon(kt, ctx, picks[0].r, node, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot cordon the node of pod %s: %s", picks[0].pod,
				  err.msg);
		return;
	}
	k8s_cmd_drain(&a, kt->cfg, picks[0].r, node, (int)(left > 5 ? left - 2 : 5), kt->server_dry_run);
	if (run1(kt, ctx, &a, K8S_RUN_CHANGE, &err) < 0) {
		action_result_set(res, ACTION_FAILED, "cannot drain node %s (cordoned; uncordoned at the end): %s",
				  node, err.msg);
		return;
	}
	if (kt->dry_run)
		action_result_set(res, ACTION_OK, "would cordon and drain node %s (running pod %s in %s)",
				  node, picks[0].pod, picks[0].r->context);
	else if (kt->server_dry_run)
		action_result_set(res, ACTION_OK, "server dry run: cordoning and draining node %s (running "
				  "pod %s in %s) was accepted (nothing changed)", node, picks[0].pod,
				  picks[0].r->context);
	else
		action_result_set(res, ACTION_OK, "node %s (running pod %s in %s) cordoned and drained",
				  node, picks[0].pod, picks[0].r->context);
	res->data = json_pack("{s:s,s:s,s:s}", "node", node, "pod", picks[0].pod, "context",
			      picks[0].r->context);
}

static void do_zone_down(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
			 struct action_result *res)
{
	const char *zone = plan_arg_str(args, "zone");
	const struct k8s_region *only = arg_region(kt, args, "region");
	json_t *hit = json_array();
	size_t cordoned = 0, evicted = 0;

	for (size_t i = 0; i < kt->cfg->nregions; i++) {
		const struct k8s_region *r = &kt->cfg->regions[i];
		struct dr_error err = DR_ERROR_INIT;
		struct k8s_argv a = K8S_ARGV_INIT;
		struct k8s_out o = K8S_OUT_INIT;
		struct k8s_pod *pods = NULL;
		char **nodes = NULL;
		size_t nn = 0, np = 0;
		int rc;

		if (only && only != r)
			continue;
		k8s_cmd_get_nodes_in_zone(&a, kt->cfg, r, zone);
		rc = run(kt, ctx, &a, NULL, K8S_RUN_READ, &o, &err);
		k8s_argv_release(&a);
		if (rc == 1) {
			nodes = xcalloc(2, sizeof(char *));
			nodes[0] = xstrdup("<each node in the zone>");
			nn = 1;
		} else if (rc != 0 || k8s_parse_node_names(&nodes, &nn, o.out, &err) != 0) {
			k8s_out_release(&o);
			action_result_set(res, ACTION_FAILED, "cannot list the nodes of zone %s in %s: %s", zone,
					  r->context, err.msg);
			goto out;
		}
		k8s_out_release(&o);
		if (nn > 0 && k8s_read_pods(kt, r, &pods, &np, ctx->journal, &err) < 0) {
			action_result_set(res, ACTION_FAILED, "%s", err.msg);
			for (size_t k = 0; k < nn; k++)
				free(nodes[k]);
			free(nodes);
			goto out;
		}
		for (size_t k = 0; k < nn; k++) {
			if (cordon(kt, ctx, r, nodes[k], &err) != 0) {
				action_result_set(res, ACTION_FAILED, "cannot cordon node %s: %s", nodes[k], err.msg);
				goto next_fail;
			}
			cordoned++;
			json_array_append_new(hit, json_pack("{s:s,s:s}", "context", r->context, "node", nodes[k]));
			/* Evict the ledger pods on it (graceful deletes): with zonal volumes
			 * they stay Pending until the zone comes back, as in a real outage. */
			for (size_t p = 0; p < np || (kt->dry_run && p == 0); p++) {
				const char *pod = kt->dry_run ? "<each ledger pod on the node>" : pods[p].name;

				if (!kt->dry_run && strcmp(pods[p].node, nodes[k]) != 0)
					continue;
				k8s_cmd_delete_pod(&a, kt->cfg, r, pod, kt->server_dry_run);
				if (run1(kt, ctx, &a, K8S_RUN_CHANGE, &err) < 0) {
					action_result_set(res, ACTION_FAILED, "cannot evict pod %s: %s", pod, err.msg);
					goto next_fail;
				}
				evicted++;
				if (kt->dry_run)
					break;
			}
		}
		for (size_t k = 0; k < nn; k++)
			free(nodes[k]);
		free(nodes);
		free(pods);
		continue;
next_fail:
		for (size_t k = 0; k < nn; k++)
			free(nodes[k]);
		free(nodes);
		free(pods);
		goto out;
	}
	if (cordoned == 0) {
		action_result_set(res, ACTION_FAILED, "no node has %s=%s", kt->cfg->regions[0].zone_label, zone);
		goto out;
	}
	if (kt->dry_run)
		action_result_set(res, ACTION_OK, "would take zone %s down%s%s: cordon each of its nodes "
				  "and evict the ledger pods on them", zone, only ? " in " : "",
				  only ? only->context : "");
	else if (kt->server_dry_run)
		action_result_set(res, ACTION_OK, "server dry run: zone %s down (%zu node%s cordoned, %zu "
				  "ledger pod%s evicted) was accepted (nothing changed)", zone, cordoned,
				  cordoned == 1 ? "" : "s", evicted, evicted == 1 ? "" : "s");
	else
		action_result_set(res, ACTION_OK, "zone %s down: %zu node%s cordoned, %zu ledger pod%s "
				  "evicted", zone, cordoned, cordoned == 1 ? "" : "s", evicted,
				  evicted == 1 ? "" : "s");
	res->data = json_pack("{s:s,s:O,s:I}", "zone", zone, "nodes", hit, "evicted", (json_int_t)evicted);
out:
	json_decref(hit);
}

/* Uncordon every node this drill cordoned (drain_node and zone_down undo). */
static int uncordon_all(struct k8s_target *kt, const struct action_ctx *ctx, size_t *count,
			struct dr_error *err)
{
	json_t *list;
	size_t i;
	json_t *c;
	int rc = 0;

	pthread_mutex_lock(&kt->lock);
	list = kt->cordoned;
	kt->cordoned = json_array();
	pthread_mutex_unlock(&kt->lock);
	*count = 0;
	json_array_foreach(list, i, c) {
		const struct k8s_region *r = k8s_config_region(kt->cfg, json_string_value(json_object_get(c, "region")));
		struct k8s_argv a = K8S_ARGV_INIT;
		struct dr_error e = DR_ERROR_INIT;

		k8s_cmd_cordon(&a, kt->cfg, r, json_string_value(json_object_get(c, "node")), 1,
			       kt->server_dry_run);
		if (run1(kt, ctx, &a, K8S_RUN_CHANGE, &e) < 0) {
			/* Keep it for a later attempt (unlock tries again). */
			pthread_mutex_lock(&kt->lock);
			json_array_append(kt->cordoned, c);
			pthread_mutex_unlock(&kt->lock);
			if (rc == 0)
				dr_error_set(err, "%s", e.msg);
			rc = -1;
		} else {
			(*count)++;
		}
	}
	json_decref(list);
	if (*count)
		k8s_state_note(kt);
	return rc;
}

void k8s_uncordon_all(struct k8s_target *kt, const struct action_ctx *ctx)
{
	struct dr_error err = DR_ERROR_INIT;
	size_t n = 0;

	if (uncordon_all(kt, ctx, &n, &err) != 0)
		fprintf(stderr, "drillrig: warning: cannot uncordon a node this drill cordoned: %s\n", err.msg);
}

/* `start` (what: all) on Kubernetes: bring back what drain_node and
 * zone_down took away by uncordoning their nodes. */
static void do_uncordon(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
			struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	size_t n = 0;

	(void)args;
	if (uncordon_all(kt, ctx, &n, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot uncordon: %s", err.msg);
		return;
	}
	/* Dry runs cordon nothing, so there is nothing to uncordon either. */
	if (kt->dry_run)
		action_result_set(res, ACTION_OK, "would uncordon the nodes this drill cordoned");
	else if (kt->server_dry_run)
		action_result_set(res, ACTION_OK, "server dry run: no node was cordoned, none to uncordon");
	else
		action_result_set(res, ACTION_OK, n ? "uncordoned %zu node%s" : "nothing to uncordon", n,
				  n == 1 ? "" : "s");
}

/* A pod to make an admin call from: the region's first Ready pod (the
 * admin pod when it is Ready), else the pod that answered the status. */
static int admin_pod_in(struct k8s_target *kt, const struct action_ctx *ctx, const struct k8s_region *r,
			char *pod, size_t len, int64_t *node_id, struct dr_error *err)
{
	struct k8s_pod *pods = NULL;
	size_t n = 0;

	*node_id = 0;
	if (kt->dry_run) {
		str_copy(pod, len, r->admin_pod);
		return 0;
	}
	if (k8s_read_pods(kt, r, &pods, &n, ctx->journal, err) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!pods[i].ready)
			continue;
		str_copy(pod, len, pods[i].name);
		if (pods[i].ordinal >= 0 && (size_t)pods[i].ordinal < r->nnode_ids)
			*node_id = r->node_ids[pods[i].ordinal];
		free(pods);
		return 0;
	}
	free(pods);
	return dr_error_set(err, "region %s has no Ready pod (context %s)", r->name, r->context);
}

/* The step's budget, as the deadline of one call (never a fixed cap that
 * cuts a legitimate long transfer or snapshot; the command timeout only
 * when the step has no deadline). */
static int64_t budget_ns(const struct k8s_target *kt, const struct action_ctx *ctx)
{
	int64_t left = ctx->deadline_ns ? ctx->deadline_ns - clock_mono_ns() : kt->cfg->command_timeout_ns;

	return left < NS_PER_SEC ? NS_PER_SEC : left; /* still a chance to say why */
}

/* One ledger call of an action, on the step's journal and budget;
 * k8s_ledger_call's value.  cr may be NULL. */
static int grpc_call_x(struct k8s_target *kt, const struct action_ctx *ctx, const struct k8s_region *r,
		       const char *pod, enum k8s_call call, json_t *payload, json_t **answer,
		       struct k8s_call_result *cr, struct dr_error *err)
{
	return k8s_ledger_call(kt, r, pod, call, payload, budget_ns(kt, ctx), K8S_RUN_CHANGE, ctx->journal,
			       answer, cr, err);
}

static int grpc_call(struct k8s_target *kt, const struct action_ctx *ctx, const struct k8s_region *r,
		     const char *pod, enum k8s_call call, json_t *payload, json_t **answer,
		     struct dr_error *err)
{
	return grpc_call_x(kt, ctx, r, pod, call, payload, answer, NULL, err);
}

/* Wait for the leader a transfer or an election asked for: in region r, or
 * node id when r is NULL.  what is the request ("transfer leadership"),
 * prep how it meets its target ("to", "in"). */
static void finish_leader_wait(struct k8s_target *kt, const struct action_ctx *ctx,
			       const struct k8s_region *r, int64_t id, json_t *answer, const char *what,
			       const char *prep, struct action_result *res)
{
	json_t *st = NULL;
	int rc = wait_leader(kt, r, id, ctx, &st);

	if (rc == 1 && r) {
		action_result_set(res, ACTION_OK, "would %s %s region %s", what, prep, r->name);
	} else if (rc == 1) {
		action_result_set(res, ACTION_OK, "would %s %s node %lld", what, prep, (long long)id);
	} else if (rc != 0 && r) {
		action_result_set(res, action_ctx_cancelled(ctx) ? ACTION_CANCELLED : ACTION_TIMED_OUT,
				  "%s: no leader in region %s within the timeout", what, r->name);
	} else if (rc != 0) {
		action_result_set(res, action_ctx_cancelled(ctx) ? ACTION_CANCELLED : ACTION_TIMED_OUT,
				  "%s: node %lld did not become the leader within the timeout", what,
				  (long long)id);
	} else {
		json_t *leader = json_object_get(st, "leader");

		action_result_set(res, ACTION_OK, "leader is now node %lld in %s (term %lld)",
				  (long long)json_integer_value(json_object_get(leader, "id")),
				  json_string_value(json_object_get(leader, "region")) ?: "?",
				  (long long)json_integer_value(json_object_get(st, "term")));
	}
	res->data = answer ? json_incref(answer) : NULL;
	json_decref(st);
}

/* One transfer request, sent from a live pod (the one that answered the
 * status).  Returns grpc_call's code. */
static int issue_transfer(struct k8s_target *kt, const struct action_ctx *ctx,
			  const struct k8s_region *r, int64_t id, json_t **answer,
			  struct k8s_call_result *cr, struct dr_error *err)
{
	const struct k8s_region *from;
	json_t *st = NULL, *payload;
	char pod[254];
	int rc;

	cr->timed_out = 0;
	cr->answered = 0; /* no status: as retryable as a pod that did not answer */
	if (status_now(kt, ctx, &st, err) == 0) {
		/* To the leader's pod: a follower refuses a transfer (NOT_LEADER,
		 * as the public ledger answers); the pod that answered the status
		 * when the leader maps to none. */
		json_t *lm = ledger_member_by_id(json_object_get(st, "members"),
						 json_integer_value(json_object_get(json_object_get(st, "leader"), "id")));
		json_t *by = lm && json_string_value(json_object_get(lm, "pod")) ? lm
										 : json_object_get(st, "answered_by");

		from = k8s_config_region(kt->cfg, json_string_value(json_object_get(by, "region")));
		str_copy(pod, sizeof(pod), json_string_value(json_object_get(by, "pod")) ?: "");
		if (!from) {
			by = json_object_get(st, "answered_by");
			from = k8s_config_region(kt->cfg, json_string_value(json_object_get(by, "region")));
			str_copy(pod, sizeof(pod), json_string_value(json_object_get(by, "pod")) ?: "");
		}
	} else if (kt->dry_run) {
		from = k8s_config_region(kt->cfg, "primary");
		str_copy(pod, sizeof(pod), from->admin_pod);
	} else {
		return dr_error_wrap(err, "cannot read the cluster status");
	}
	payload = k8s_payload_transfer(kt->cfg, id, r ? r->ledger_region : NULL,
				       ctx->deadline_ns ? (ctx->deadline_ns - clock_mono_ns()) / NS_PER_MS : 10000);
	rc = grpc_call_x(kt, ctx, from, pod, K8S_CALL_TRANSFER, payload, answer, cr, err);
	json_decref(payload);
	json_decref(st);
	return rc;
}

/* A refusal worth asking again: the ledger was busy electing
 * (UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED or UNKNOWN) or the pod asked
 * did not answer.  RBAC, a wrong method, a bad request fail at once. */
static int transfer_retryable(const struct k8s_call_result *cr)
{
	if (cr->kubectl_failed)
		return 0;
	return !cr->answered || cr->grpc_code == 14 || cr->grpc_code == 10 || cr->grpc_code == 4 ||
	       cr->grpc_code == 2;
}

/* A transfer can end with another node winning the election (a target
 * that restarted a moment ago may miss the request): the leader is then
 * asked again, every TRANSFER_ROUND_NS, until the step's deadline. */
#define TRANSFER_ROUND_NS (5 * NS_PER_SEC)

static void do_transfer(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
			struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	const struct k8s_region *r = arg_region(kt, args, "region");
	json_t *node = json_object_get(args, "node"), *answer = NULL;
	struct node_ref ref = { 0, NULL };
	int64_t id;
	char pod[254];
	int rc, round = 0;

	if (node && (node_ref_parse(&ref, node) != 0 || ref.name)) {
		action_result_set(res, ACTION_FAILED, "transfer_leader names a node by its ledger id "
				  "(3 or n3), not '%s'", json_string_value(node) ?: "?");
		return;
	}
	id = ref.id;
	if (!r && id <= 0) {
		action_result_set(res, ACTION_FAILED, "transfer_leader needs a known region or a node id");
		return;
	}
	/* ledger.v1 moves leadership to a node: resolve the region to one. */
	if (kt->cfg->api == K8S_API_LEDGER_V1 && id <= 0) {
		if (admin_pod_in(kt, ctx, r, pod, sizeof(pod), &id, &err) != 0 ||
		    (id <= 0 && !kt->dry_run)) {
			action_result_set(res, ACTION_FAILED, "cannot pick a node of region %s: %s", r->name,
					  err.msg[0] ? err.msg : "no node_ids for its Ready pods");
			return;
		}
		if (kt->dry_run && id <= 0)
			id = r->nnode_ids ? r->node_ids[0] : 0;
	}
	for (;;) {
		struct action_ctx this_round = *ctx;
		json_t *st = NULL;
		int64_t round_end = clock_mono_ns() + TRANSFER_ROUND_NS;

		struct k8s_call_result cr = K8S_CALL_RESULT_INIT;

		round++;
		json_decref(answer);
		answer = NULL;
		dr_error_clear(&err);
		rc = issue_transfer(kt, ctx, r, id, &answer, &cr, &err);
		if (rc == 1 && kt->server_dry_run) {
			action_result_set(res, ACTION_OK, "server dry run: leadership transfer not run");
			break;
		}
		/* Cut at the step's budget: timed out, not refused. */
		if (rc < 0 && cr.timed_out && action_ctx_expired(ctx)) {
			action_result_set(res, ACTION_TIMED_OUT, "%s timed out at the step's deadline: %s",
					  k8s_call_method(kt->cfg, K8S_CALL_TRANSFER), err.msg);
			break;
		}
		if (rc < 0 && (kt->dry_run || action_ctx_expired(ctx) || !transfer_retryable(&cr))) {
			action_result_set(res, ACTION_FAILED, "%s failed: %s",
					  k8s_call_method(kt->cfg, K8S_CALL_TRANSFER), err.msg);
			break;
		}
		if (kt->dry_run)
			break;
		/* A refused request (another node won, no leader yet) is retried
		 * like a transfer that landed elsewhere. */
		if (!ctx->deadline_ns || round_end < ctx->deadline_ns)
			this_round.deadline_ns = round_end;
		if (rc == 0) {
			int w = wait_leader(kt, id > 0 ? NULL : r, id, &this_round, &st);

			json_decref(st);
			if (w != -1 || action_ctx_expired(ctx))
				break;
		} else {
			/* Refused while the cluster elects: the next round. */
			int64_t left = round_end - clock_mono_ns();

			if (left > 0)
				action_ctx_sleep(ctx, left);
		}
		if (action_ctx_expired(ctx))
			break;
		if (ctx->journal)
			journal_note(ctx->journal, "%s: leadership is not where it was sent after round %d "
				     "(%s); asking again", ctx->step_name ? ctx->step_name : "transfer_leader",
				     round, rc < 0 ? err.msg : "another node leads");
	}
	if (!res->message[0])
		finish_leader_wait(kt, ctx, id > 0 ? NULL : r, id, answer, "transfer leadership", "to",
				   res);
	json_decref(answer);
}

static void do_force_election(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
			      struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	const struct k8s_region *r = arg_region(kt, args, "region");
	int unsafe = plan_arg_bool(args, "allow_data_loss", 0);
	json_t *payload, *answer = NULL;
	char pod[254];
	int64_t id = 0;
	int rc;

	if (!r) {
		action_result_set(res, ACTION_FAILED, "unknown region '%s'", plan_arg_str(args, "region"));
		return;
	}
	if (kt->cfg->api == K8S_API_LEDGER_V1) {
		if (unsafe) {
			action_result_set(res, ACTION_FAILED, "api ledger.v1 has no forced election: "
					  "allow_data_loss cannot be honoured");
			return;
		}
		/* Without data loss a forced election is a transfer to the region. */
		do_transfer(kt, args, ctx, res);
		return;
	}
	if (admin_pod_in(kt, ctx, r, pod, sizeof(pod), &id, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot force an election in %s: %s", r->name, err.msg);
		return;
	}
	payload = k8s_payload_force_election(kt->cfg, r->ledger_region, unsafe);
	rc = grpc_call(kt, ctx, r, pod, K8S_CALL_FORCE_ELECTION, payload, &answer, &err);
	json_decref(payload);
	if (rc < 0) {
		action_result_set(res, ACTION_FAILED, "ForceLeaderElection failed: %s", err.msg);
		return;
	}
	if (rc == 1 && kt->server_dry_run) {
		action_result_set(res, ACTION_OK, "server dry run: ForceLeaderElection not run");
		return;
	}
	finish_leader_wait(kt, ctx, r, 0, answer, "force an election", "in", res);
	json_decref(answer);
}

/* ledger.v1 without exec: CreateSnapshot (its block height and the
 * server-side path) and CreateBackup (the id RestoreBackup takes).  Both
 * stay on the server: nothing is copied out. */
static int snapshot_v1(struct k8s_target *kt, const struct action_ctx *ctx, const struct pick *p,
		       json_t **answer, struct dr_error *err)
{
	json_t *snap = NULL, *backup = NULL, *req;
	int rc;

	rc = grpc_call(kt, ctx, p->r, p->pod, K8S_CALL_SNAPSHOT, NULL, &snap, err);
	if (rc != 0)
		return rc;
	req = json_pack("{s:s}", "tag", ctx->step_name ? ctx->step_name : "drillrig");
	rc = grpc_call(kt, ctx, p->r, p->pod, K8S_CALL_BACKUP, req, &backup, err);
	json_decref(req);
	if (rc != 0) {
		json_decref(snap);
		return rc;
	}
	if (!kt->dry_run && !json_string_value(json_object_get(backup, "backup_id"))) {
		json_decref(snap);
		json_decref(backup);
		return dr_error_set(err, "CreateBackup answered no backup id: nothing to restore from");
	}
	json_object_update(snap, backup);
	json_decref(backup);
	/* The names every target's snapshot result has (docs/plan-reference.md):
	 * the ledger position it covers and its size. */
	json_object_set(snap, "index", json_object_get(snap, "block_height"));
	json_object_set(snap, "size", json_object_get(snap, "size_bytes"));
	*answer = snap;
	return 0;
}

static void do_snapshot(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
			struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	struct pick picks[MAX_PICK];
	struct k8s_argv a = K8S_ARGV_INIT;
	json_t *sel = json_object(), *answer = NULL;
	const char *copy_to = plan_arg_str(args, "copy_to"), *path;
	char *copy = NULL, *pod_path = NULL;
	size_t n = 0;
	int rc, exec;

	if (json_object_get(args, "node")) {
		json_object_set_new(sel, "what", json_string("node"));
		json_object_set(sel, "node", json_object_get(args, "node"));
	} else {
		json_object_set_new(sel, "what", json_string("leader"));
	}
	if (json_object_get(args, "region") && !json_object_get(args, "node")) {
		json_object_set_new(sel, "what", json_string("follower"));
		json_object_set(sel, "region", json_object_get(args, "region"));
	}
	rc = pick_pods(kt, sel, ctx, picks, &n, res);
	json_decref(sel);
	if (rc != 0)
		return;
	exec = picks[0].r->transport == K8S_TRANSPORT_EXEC_GRPCURL;
	if (kt->cfg->api == K8S_API_LEDGER_V1 && !exec)
		rc = snapshot_v1(kt, ctx, &picks[0], &answer, &err);
	else
		rc = grpc_call(kt, ctx, picks[0].r, picks[0].pod, K8S_CALL_SNAPSHOT, NULL, &answer, &err);
	if (rc < 0) {
		action_result_set(res, ACTION_FAILED, "%s in pod %s failed: %s",
				  k8s_call_method(kt->cfg, K8S_CALL_SNAPSHOT), picks[0].pod, err.msg);
		goto out;
	}
	if (rc == 1 && kt->server_dry_run) {
		action_result_set(res, ACTION_OK, "server dry run: CreateSnapshot not run");
		goto out;
	}
	if (!answer)
		answer = json_object();
	path = json_string_value(json_object_get(answer, "path"));
	if (!path)
		path = json_string_value(json_object_get(answer, "snapshot_path"));
	pod_path = xstrdup(path ? path : kt->dry_run ? "<path CreateSnapshot answers>" : kt->cfg->snapshot_dir);
	json_object_set_new(answer, "pod", json_string(picks[0].pod));
	json_object_set_new(answer, "region", json_string(picks[0].r->name));
	json_object_set_new(answer, "pod_path", json_string(pod_path));
	/* A copy out needs tar in the image: only over exec. */
	if (exec) {
		/* The runbook copies the whole snapshot directory when no file is named. */
		copy = copy_to ? xstrdup(copy_to) : xasprintf("snapshot-%s%s", ctx->step_name ? ctx->step_name
											    : "drill",
							       path ? ".bin" : "");
		k8s_cmd_cp(&a, kt->cfg, picks[0].r, picks[0].pod, pod_path, copy, 1);
		if (run1(kt, ctx, &a, K8S_RUN_READ, &err) < 0) {
			action_result_set(res, ACTION_FAILED, "snapshot taken but copying it out failed: %s",
					  err.msg);
			goto out;
		}
		json_object_set_new(answer, "copy", json_string(copy));
	}
	pthread_mutex_lock(&kt->lock);
	json_object_set(kt->snapshots, ctx->step_name ? ctx->step_name : "snapshot", answer);
	pthread_mutex_unlock(&kt->lock);
	if (kt->dry_run)
		action_result_set(res, ACTION_OK, "would take a snapshot in pod %s in %s%s%s", picks[0].pod,
				  picks[0].r->context, copy ? " and copy it to " : " (kept on the server)",
				  copy ? copy : "");
	else if (copy)
		action_result_set(res, ACTION_OK, "snapshot (index %lld) of pod %s in %s copied to %s",
				  (long long)json_integer_value(json_object_get(answer, "index")),
				  picks[0].pod, picks[0].r->context, copy);
	else if (json_object_get(answer, "backup_id"))
		action_result_set(res, ACTION_OK, "snapshot at block height %lld (%s) and backup %s "
				  "(%s) taken by pod %s in %s; both stay on the server",
				  (long long)json_integer_value(json_object_get(answer, "block_height")),
				  pod_path, json_string_value(json_object_get(answer, "backup_id")),
				  json_string_value(json_object_get(answer, "backup_path")) ?: "?",
				  picks[0].pod, picks[0].r->context);
	else
		action_result_set(res, ACTION_OK, "snapshot (index %lld) taken by pod %s in %s at %s "
				  "(kept on the server)",
				  (long long)json_integer_value(json_object_get(answer, "index")),
				  picks[0].pod, picks[0].r->context, pod_path);
	res->data = answer;
	answer = NULL;
out:
	free(copy);
	free(pod_path);
	json_decref(answer);
}

/* ledger.v1: RestoreBackup only stages the archive for an offline restore
 * (the public ledger restores when it is restarted from the staging
 * directory); the result says so, and what it did and did not verify. */
static void restore_v1(struct k8s_target *kt, const struct action_ctx *ctx, json_t *snap,
		       const struct k8s_region *r, const char *pod, struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *id = json_string_value(json_object_get(snap, "backup_id"));
	json_t *payload, *answer = NULL;
	int rc;

	if (!id && !kt->dry_run) {
		action_result_set(res, ACTION_FAILED, "the snapshot step has no backup id to restore "
				  "(CreateBackup answered none)");
		return;
	}
	payload = k8s_payload_restore(kt->cfg, id ? id : "<backup id>");
	rc = grpc_call(kt, ctx, r, pod, K8S_CALL_RESTORE, payload, &answer, &err);
	json_decref(payload);
	if (rc < 0) {
		action_result_set(res, ACTION_FAILED, "%s failed: %s", k8s_call_method(kt->cfg, K8S_CALL_RESTORE),
				  err.msg);
	} else if (rc == 1) {
		action_result_set(res, ACTION_OK, "would stage backup %s for an offline restore through pod "
				  "%s in %s", id ? id : "<backup id>", pod, r->context);
	} else if (!json_string_value(json_object_get(answer, "staging_dir")) ||
		   !*json_string_value(json_object_get(answer, "staging_dir"))) {
		action_result_set(res, ACTION_FAILED, "%s answered no staging directory: backup %s was "
				  "not staged", k8s_call_method(kt->cfg, K8S_CALL_RESTORE), id);
	} else {
		action_result_set(res, ACTION_OK, "backup %s staged for an offline restore in %s on pod %s "
				  "in %s: verified that the server accepted and unpacked it; not verified: a "
				  "restart from it (the ledger keeps serving its current state)", id,
				  json_string_value(json_object_get(answer, "staging_dir")), pod,
				  r->context);
		json_object_set_new(answer, "staged_only", json_true());
		json_object_set_new(answer, "backup_id", json_string(id));
		res->data = answer;
		answer = NULL;
	}
	json_decref(answer);
}

static void do_restore(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
		       struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *from = plan_arg_str(args, "from");
	json_t *snap, *payload, *answer = NULL;
	const struct k8s_region *r;
	const char *local, *base;
	char pod[254], *pod_path = NULL;
	struct k8s_argv a = K8S_ARGV_INIT;
	int64_t id;
	int rc;

	pthread_mutex_lock(&kt->lock);
	snap = json_incref(json_object_get(kt->snapshots, from ? from : ""));
	pthread_mutex_unlock(&kt->lock);
	r = snap ? k8s_config_region(kt->cfg, json_string_value(json_object_get(snap, "region")))
		 : k8s_config_region(kt->cfg, "primary");
	if (r && r->transport != K8S_TRANSPORT_EXEC_GRPCURL) {
		/* Nothing to copy in: the server kept what the snapshot step took. */
		const char *spod = json_string_value(json_object_get(snap, "pod"));

		if (!snap && !kt->dry_run) {
			action_result_set(res, ACTION_FAILED, "no snapshot step named '%s' in this drill "
					  "(without kubectl cp only a snapshot the drill took can be restored)",
					  from ? from : "");
		} else if (kt->cfg->api == K8S_API_LEDGER_V1) {
			restore_v1(kt, ctx, snap, r, spod ? spod : r->admin_pod, res);
		} else {
			const char *path = json_string_value(json_object_get(snap, "pod_path"));

			payload = k8s_payload_restore(kt->cfg, path ? path : "<path CreateSnapshot answered>");
			rc = grpc_call(kt, ctx, r, spod ? spod : r->admin_pod, K8S_CALL_RESTORE, payload,
				       &answer, &err);
			json_decref(payload);
			if (rc < 0)
				action_result_set(res, ACTION_FAILED, "%s failed: %s",
						  k8s_call_method(kt->cfg, K8S_CALL_RESTORE), err.msg);
			else if (rc == 1)
				action_result_set(res, ACTION_OK, "would restore pod %s in %s from %s",
						  spod ? spod : r->admin_pod, r->context, path ? path : "its snapshot");
			else
				action_result_set(res, ACTION_OK, "restored pod %s in %s from %s (kept on the "
						  "server)", spod ? spod : r->admin_pod, r->context, path);
			res->data = answer;
			answer = NULL;
		}
		json_decref(snap);
		return;
	}
	local = snap ? json_string_value(json_object_get(snap, "copy")) : from;
	if (!local || !r) {
		action_result_set(res, ACTION_FAILED, "no snapshot named '%s'", from ? from : "");
		json_decref(snap);
		return;
	}
	if (admin_pod_in(kt, ctx, r, pod, sizeof(pod), &id, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "cannot restore: %s", err.msg);
		json_decref(snap);
		return;
	}
	/* Copy it in (the runbook's kubectl cp ./backup/ POD:DIR), then restore. */
	base = strrchr(local, '/') ? strrchr(local, '/') + 1 : local;
	pod_path = xasprintf("%s/%s", kt->cfg->snapshot_dir, base);
	k8s_cmd_cp(&a, kt->cfg, r, pod, pod_path, local, 0);
	if (kt->server_dry_run) {
		char *d = k8s_argv_display(&a);

		fprintf(kt->out, "  server dry run: not run (cp cannot be dry-run): %s\n", d);
		free(d);
		k8s_argv_release(&a);
		action_result_set(res, ACTION_OK, "server dry run: restore not run");
		goto out;
	}
	if (run1(kt, ctx, &a, K8S_RUN_CHANGE, &err) < 0) {
		action_result_set(res, ACTION_FAILED, "cannot copy the snapshot into pod %s: %s", pod, err.msg);
		goto out;
	}
	payload = k8s_payload_restore(kt->cfg, pod_path);
	rc = grpc_call(kt, ctx, r, pod, K8S_CALL_RESTORE, payload, &answer, &err);
	json_decref(payload);
	if (rc < 0) {
		action_result_set(res, ACTION_FAILED, "%s failed: %s", k8s_call_method(kt->cfg, K8S_CALL_RESTORE),
				  err.msg);
		goto out;
	}
	if (kt->dry_run)
		action_result_set(res, ACTION_OK, "would copy %s into pod %s in %s and restore from it",
				  local, pod, r->context);
	else
		action_result_set(res, ACTION_OK, "restored from %s through pod %s in %s", local, pod,
				  r->context);
	res->data = answer;
	answer = NULL;
out:
	free(pod_path);
	json_decref(answer);
	json_decref(snap);
}

typedef void (*k8s_action_fn)(struct k8s_target *kt, json_t *args, const struct action_ctx *ctx,
			      struct action_result *res);

/* Every action runs through here: a dry run runs it too (the executor
 * leaves dry runs to actions flagged TARGET_ACTION_OWN_DRY_RUN), and its
 * printed commands are headed by the step and the action. */
static void run_action(const char *name, k8s_action_fn fn, struct target *t, json_t *args,
		       const struct action_ctx *ctx, struct action_result *res)
{
	struct k8s_target *kt = t->impl;

	if (kt->dry_run)
		fprintf(kt->out, "  %s %s:\n", ctx->step_name ? ctx->step_name : "step", name);
	fn(kt, args, ctx, res);
	if (kt->dry_run && res->status == ACTION_OK && !res->message[0])
		action_result_set(res, ACTION_OK, "would run the commands printed above");
}

#define K8S_ACTION(entry, name, fn)                                                          \
	static void entry(struct target *t, json_t *args, const struct action_ctx *ctx,      \
			  struct action_result *res)                                         \
	{                                                                                    \
		run_action(name, fn, t, args, ctx, res);                                     \
	}

K8S_ACTION(scale_entry, "scale", do_scale)
K8S_ACTION(kill_entry, "kill", do_kill)
K8S_ACTION(drain_entry, "drain_node", do_drain)
K8S_ACTION(zone_down_entry, "zone_down", do_zone_down)
K8S_ACTION(start_entry, "start", do_uncordon)
K8S_ACTION(transfer_entry, "transfer_leader", do_transfer)
K8S_ACTION(force_election_entry, "force_election", do_force_election)
K8S_ACTION(snapshot_entry, "snapshot", do_snapshot)
K8S_ACTION(restore_entry, "restore_snapshot", do_restore)
K8S_ACTION(partition_entry, "partition", k8s_chaos_partition)
K8S_ACTION(heal_entry, "heal", k8s_chaos_heal)

#define OWN TARGET_ACTION_OWN_DRY_RUN

const struct target_action k8s_actions[] = {
	{ "scale", OWN, scale_entry },
	{ "kill", OWN, kill_entry },
	{ "drain_node", OWN, drain_entry },
	{ "zone_down", OWN, zone_down_entry },
	{ "start", OWN, start_entry },
	{ "transfer_leader", OWN, transfer_entry },
	{ "force_election", OWN, force_election_entry },
	{ "snapshot", OWN, snapshot_entry },
	{ "restore_snapshot", OWN, restore_entry },
	{ "partition", OWN, partition_entry },  /* fault_engine: chaos-mesh */
	{ "heal", OWN, heal_entry },
	{ NULL, 0, NULL },
};
