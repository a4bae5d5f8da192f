/* The local target: the bundled ledger cluster, started fresh or attached
 * (harness/target/local/local.h).  Its actions are in local_actions.c, its
 * recovery in local_recover.c. */
#include "harness/target/local/local.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/target/local/local_impl.h"

/* ---- helpers ------------------------------------------------------------ */

static const char *role_ref(enum cluster_role r)
{
	return cluster_role_name(r);
}

const char *local_resolve_region(struct target *t, const char *ref)
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

int local_node_call(const struct local_target *lt, json_t **out, const char *address,
		    const char *method, json_t *req, int64_t timeout_ns, struct dr_error *err)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_client *c = NULL;
	const char *addrs[1] = { address };
	enum ledger_code code = LEDGER_CODE_COUNT;
	char *token = cluster_admin_token(lt->dir);
	int rc;

	opts.timeout_ms = (long)(timeout_ns / NS_PER_MS);
	opts.admin_timeout_ms = opts.timeout_ms;
	opts.admin_token = token;
	rc = ledger_client_new(&c, addrs, 1, &opts, err);
	free(token);
	if (rc != 0)
		return -1;
	rc = ledger_call(c, 0, method, req, out, &code, err);
	ledger_client_free(c);
	if (rc == 0 && code != LEDGER_OK) {
		const char *msg = json_string_value(json_object_get(*out, "message"));

		dr_error_set(err, "%s answered %s: %s", address, ledger_code_name(code),
			     msg ? msg : "(no message)");
		return -1;
	}
	return rc;
}

int local_debug_call(const struct local_target *lt, json_t **out, const char *http_address,
		     const char *method, json_t *req, int64_t timeout_ns, struct dr_error *err)
{
	long http = 0;
	char *token = cluster_admin_token(lt->dir);
	int rc = ledger_debug_call(http_address, token, method, req,
				   (long)(timeout_ns / NS_PER_MS), out, &http, err);

	free(token);

	if (rc == 0 && (http < 200 || http >= 300)) {
		const char *code = json_string_value(json_object_get(*out, "code"));
		const char *msg = json_string_value(json_object_get(*out, "message"));

		dr_error_set(err, "%s answered HTTP %ld %s: %s", http_address, http, code ? code : "",
			     msg ? msg : "(no message)");
		return -1;
	}
	return rc;
}

int local_status(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err)
{
	struct local_target *lt = t->impl;

	(void)timeout_ns;
	return cluster_status(out, lt->dir, err);
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
	local_transfer_leader(t, args, &bounded, &res);
	json_decref(args);
	action_result_release(&res);
	if (res.status != ACTION_OK)
		return dr_error_set(err, "cannot move the leader into region %s: %s", primary, res.message);
	return 0;
}

/* A machine that cannot inject the plan's faults is an infrastructure
 * error before the cluster starts, not a step that fails mid-drill. */
static int check_needs(unsigned needs, struct dr_error *err)
{
	struct dr_error why = DR_ERROR_INIT;

	if ((needs & PLAN_NEEDS_ROOT) && geteuid() != 0)
		return dr_error_set(err, "this drill needs root (uid %u): %s", (unsigned)geteuid(),
				    needs & PLAN_NEEDS_NFTABLES ?
				    "the kernel injects its partitions (nftables)" :
				    "disk_full fills a size-limited tmpfs of its own per node");
	if ((needs & PLAN_NEEDS_NFTABLES) && cluster_nft_usable(&why) != 0)
		return dr_error_set(err, "this drill's partitions need nftables: %s", why.msg);
	return 0;
}

/* A leader just placed has heard from no member yet: its status says
 * "Fully replicated" only a heartbeat or two later.  The steady state the
 * drill checks next is the cluster's, not this start's: wait for it here
 * (bounded; the steady state still decides if it never comes), so a drill
 * does not spend its probe's retry interval (1 s) on a cluster still
 * starting. */
#define SETTLE_WAIT_NS (5 * NS_PER_SEC)
#define SETTLE_POLL_NS (10 * NS_PER_MS)

static void wait_settled(struct target *t, const struct action_ctx *ctx)
{
	int64_t deadline = clock_mono_ns() + SETTLE_WAIT_NS;

	while (clock_mono_ns() < deadline && !action_ctx_cancelled(ctx)) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *status = NULL;
		int settled = 0;

		if (t->status(t, &status, NS_PER_SEC, &err) == 0) {
			const char *repl = json_string_value(json_object_get(status, "replication"));

			settled = json_is_object(json_object_get(status, "leader")) && repl &&
				  strcmp(repl, "Fully replicated") == 0;
		}
		json_decref(status);
		if (settled || action_ctx_sleep(ctx, SETTLE_POLL_NS))
			return;
	}
}

static int local_start(struct target *t, const struct action_ctx *ctx, struct dr_error *err)
{
	struct local_target *lt = t->impl;

	if (ctx->dry_run)
		return 0;
	if (check_needs(lt->needs, err) != 0)
		return -1;
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
	if (place_leader_in_primary(t, ctx, err) != 0)
		return -1;
	wait_settled(t, ctx);
	return 0;
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

/* GetClusterStatus from the member behind endpoints()[i], through a client
 * kept per member so every poll reuses its connection (a new connection
 * per poll would leave thousands of sockets in TIME_WAIT over a drill). */
static int local_member_status(struct target *t, size_t i, json_t **out, int64_t timeout_ns,
			       struct dr_error *err)
{
	struct local_target *lt = t->impl;
	struct ledger_client *c = NULL;
	enum ledger_code code = LEDGER_CODE_COUNT;
	json_t *req;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&lt->member_lock);
	if (!lt->member_addrs)
		rc = local_endpoints(t, &lt->member_addrs, &lt->nmembers, err);
	if (rc == 0 && i >= lt->nmembers)
		rc = dr_error_set(err, "no member %zu (the cluster has %zu)", i, lt->nmembers);
	if (rc == 0 && !lt->member_clients)
		lt->member_clients = xcalloc(lt->nmembers, sizeof(*lt->member_clients));
	if (rc == 0 && !lt->member_clients[i]) {
		struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
		const char *addr = lt->member_addrs[i];
		char *token = cluster_admin_token(lt->dir);

		opts.timeout_ms = (long)(timeout_ns / NS_PER_MS);
		opts.admin_timeout_ms = opts.timeout_ms;
		opts.admin_token = token;
		rc = ledger_client_new(&lt->member_clients[i], &addr, 1, &opts, err);
		free(token);
	}
	if (rc == 0)
		c = lt->member_clients[i];
	pthread_mutex_unlock(&lt->member_lock);
	if (rc != 0)
		return -1;
	/* Only this member's poller uses c (struct target's contract). */
	req = json_object();
	rc = ledger_call(c, 0, "inferadb.ledger.v1.Admin/GetClusterStatus", req, out, &code, err);
	json_decref(req);
	if (rc == 0 && code != LEDGER_OK) {
		json_decref(*out);
		*out = NULL;
		return dr_error_set(err, "%s answered %s", lt->member_addrs[i], ledger_code_name(code));
	}
	return rc;
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
				     : lt->dir ? "bundled ledger cluster"
					       : "bundled ledger cluster (dry run: none is started)",
		      "topology", "regions", regions,
		      "timing", "election_timeout_ms", lt->spec.election_timeout_ms,
		      "heartbeat_ms", lt->spec.heartbeat_ms,
		      "contexts",
		      "cluster_dir", lt->dir ? lt->dir : "");
	json_object_set_new(d, "nodes", json_integer(nodes));
	json_object_set_new(d, "api", json_string(ledger_api_name(t->api)));
	/* `recover` tears down a cluster the interrupted drill had started. */
	json_object_set_new(d, "owned", json_boolean(!lt->attached && !lt->keep));
	if (!lt->dir)
		json_object_del(d, "cluster_dir");
	else if (cluster_load(&info, lt->dir, &err) == 0)
		json_object_set(d, "supervisor_pid", json_object_get(info, "supervisor_pid"));
	json_decref(info);
	return d;
}

static struct target *local_scope(struct target *t, const char *ref)
{
	struct local_target *lt = t->impl;

	return ref && strcmp(ref, "restored") == 0 ? lt->restored : NULL;
}

static char *local_admin_token(struct target *t)
{
	return cluster_admin_token(((struct local_target *)t->impl)->dir);
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
	if (lt->dir && !lt->attached && !(lt->up && keep)) {
		/* The directory is ours (mkdtemp), started or not; a dry run
		 * made none. */
		if (lt->up && cluster_down(lt->dir, &err) != 0)
			fprintf(stderr, "drillrig: warning: %s\n", err.msg);
		else if (fs_remove_tree(lt->dir, &err) != 0)
			fprintf(stderr, "drillrig: warning: %s\n", err.msg);
	} else if (lt->up && keep) {
		fprintf(stderr, "drillrig: the cluster keeps running in '%s' (drillrig cluster down --cluster %s)\n",
			lt->dir, lt->dir);
	}
	drill_lock_release(&lt->lock);
	for (size_t i = 0; i < lt->nmembers; i++) {
		if (lt->member_clients)
			ledger_client_free(lt->member_clients[i]);
		free(lt->member_addrs[i]);
	}
	free(lt->member_clients);
	free(lt->member_addrs);
	pthread_mutex_destroy(&lt->member_lock);
	json_decref(lt->snapshots);
	free(lt->dir);
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
	spec->disk_limit_mb = local_disk_limit_mb(plan);
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

	pthread_mutex_init(&lt->member_lock, NULL);
	if (!opts)
		opts = &defaults;
	lt->needs = plan_needs(plan);
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
	} else if (!opts->dry_run) {
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
	if (plan && plan->api)
		ledger_api_parse(&t->api, plan->api); /* checked by the plan loader */
	t->actions = local_actions;
	t->dry_run_where = "on the bundled cluster";
	t->start = local_start;
	t->lock = local_lock;
	t->unlock = local_unlock;
	t->status = local_status;
	t->member_status = local_member_status;
	t->endpoints = local_endpoints;
	t->resolve_region = local_resolve_region;
	t->describe = local_describe;
	t->admin_token = local_admin_token;
	t->state_path = local_state_path;
	t->scope = local_scope;
	t->close = local_close;
	*out = t;
	return 0;
fail:
	pthread_mutex_destroy(&lt->member_lock);
	json_decref(lt->snapshots);
	free(lt->dir);
	free(lt);
	free(t);
	return -1;
}

static int local_create(struct target **out, const struct plan *plan,
			const struct target_opts *opts, struct dr_error *err)
{
	struct target_local_opts lo = TARGET_LOCAL_OPTS_INIT;

	lo.cluster_dir = opts->cluster_dir;
	lo.keep = opts->keep;
	lo.dry_run = opts->dry_run;
	return target_local_new(out, plan, &lo, err);
}

const struct target_kind target_kind_local = {
	"local", TARGET_KIND_PLAN_TOPOLOGY | TARGET_KIND_LEDGER_API, local_actions, local_create, local_recover, NULL,
};
