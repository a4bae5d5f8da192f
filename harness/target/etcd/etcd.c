/* The etcd target: a local etcd cluster started by drillrig, or one
 * attached by its client URLs (harness/target/etcd/etcd.h).  Its actions
 * are in etcd_actions.c. */
#include "harness/target/etcd/etcd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/netport.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/target/etcd/etcd_impl.h"
#include "harness/target/etcd/etcd_status.h"
#include "ledger/client/client.h"

/* ---- client pool: keep-alive connections shared by threads -------------- */

struct etcd_client *etcd_pool_take(struct etcd_target *et, long timeout_ms)
{
	struct etcd_client *c = NULL;

	pthread_mutex_lock(&et->pool_lock);
	if (et->npool > 0)
		c = et->pool[--et->npool];
	pthread_mutex_unlock(&et->pool_lock);
	if (!c) {
		const char *addrs[ETCD_MAX_MEMBERS];
		struct dr_error err = DR_ERROR_INIT;

		for (int i = 0; i < et->cl.n; i++)
			addrs[i] = et->cl.m[i].address;
		if (etcd_client_new(&c, addrs, (size_t)et->cl.n, timeout_ms, &err) != 0)
			return NULL;
	}
	etcd_client_set_timeout(c, timeout_ms);
	return c;
}

void etcd_pool_give(struct etcd_target *et, struct etcd_client *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&et->pool_lock);
	if (et->npool < POOL_MAX) {
		et->pool[et->npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&et->pool_lock);
	etcd_client_free(c);
}

/* ---- status --------------------------------------------------------------- */

int etcd_status(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err)
{
	struct etcd_target *et = t->impl;
	struct etcd_member_answer answers[ETCD_MAX_MEMBERS];
	long per = (long)(timeout_ns / NS_PER_MS / (et->cl.n > 0 ? et->cl.n : 1));
	struct etcd_client *c;

	if (per > STATUS_MEMBER_TIMEOUT_MS || per <= 0)
		per = STATUS_MEMBER_TIMEOUT_MS;
	c = etcd_pool_take(et, per);
	if (!c)
		return dr_error_set(err, "cannot create an etcd client");
	for (int i = 0; i < et->cl.n; i++) {
		struct dr_error e = DR_ERROR_INIT;
		json_t *resp = NULL;
		long http = 0;

		memset(&answers[i], 0, sizeof(answers[i]));
		if (etcd_call(c, i, "v3/maintenance/status", NULL, &resp, &http, &e) != 0 ||
		    http != 200 || etcd_answer_parse(&answers[i], resp) != 0)
			answers[i].reachable = 0;
		json_decref(resp);
	}
	etcd_pool_give(et, c);
	pthread_mutex_lock(&et->status_lock);
	*out = etcd_status_build(et->cl.m, answers, et->cl.n, clock_mono_ns());
	pthread_mutex_unlock(&et->status_lock);
	return 0;
}

const char *etcd_resolve_region(struct target *t, const char *ref)
{
	struct etcd_target *et = t->impl;

	if (!ref)
		return NULL;
	for (int i = 0; i < et->cl.n; i++)
		if (strcmp(et->cl.m[i].region, ref) == 0)
			return et->cl.m[i].region;
	for (int i = 0; i < et->cl.n; i++)
		if (strcmp(et->cl.m[i].region_role, ref) == 0)
			return et->cl.m[i].region;
	return NULL;
}

int etcd_member_index(const struct etcd_target *et, int64_t id)
{
	for (int i = 0; i < et->cl.n; i++)
		if (et->cl.m[i].id == id)
			return i;
	return -1;
}

/* ---- workload connection (struct workload_conn) -------------------------- */

static void conn_append(struct workload_conn *c, const char *client_id, uint64_t sequence,
			const char *payload, struct ledger_append_result *res)
{
	etcd_put_once(c->impl, client_id, sequence, payload, res);
}

static int conn_read_all(struct workload_conn *c, const char *client_id,
			 struct ledger_entry_ref **out, size_t *n, struct dr_error *err)
{
	/* The read is paged and may be large: not the per-write timeout. */
	etcd_client_set_timeout(c->impl, 10000);
	return etcd_read_client(c->impl, client_id, out, n, err);
}

static void conn_close(struct workload_conn *c)
{
	if (!c)
		return;
	etcd_client_free(c->impl);
	free(c);
}

static int etcd_workload_connect(struct target *t, int64_t call_timeout_ns,
				 struct workload_conn **out, struct dr_error *err)
{
	struct etcd_target *et = t->impl;
	const char *addrs[ETCD_MAX_MEMBERS];
	struct etcd_client *ec = NULL;
	struct workload_conn *c;

	for (int i = 0; i < et->cl.n; i++)
		addrs[i] = et->cl.m[i].address;
	if (etcd_client_new(&ec, addrs, (size_t)et->cl.n, (long)(call_timeout_ns / NS_PER_MS), err) != 0)
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->impl = ec;
	c->append = conn_append;
	c->read_all = conn_read_all;
	c->close = conn_close;
	*out = c;
	return 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int etcd_lock(struct target *t, struct dr_error *err)
{
	struct etcd_target *et = t->impl;

	return drill_lock_acquire(&et->lock, et->lock_path, err);
}

static void etcd_unlock(struct target *t)
{
	struct etcd_target *et = t->impl;

	drill_lock_release(&et->lock);
}

/* Learn every member's etcd id from /v3/cluster/member/list (by name, or by
 * client URL when attached). */
static int learn_ids(struct etcd_target *et, struct dr_error *err)
{
	struct etcd_client *c = etcd_pool_take(et, 2000);
	json_t *resp = NULL, *m;
	long http = 0;
	size_t i;
	int rc = -1;

	if (!c)
		return dr_error_set(err, "cannot create an etcd client");
	for (int k = 0; k < et->cl.n && rc != 0; k++) {
		json_decref(resp);
		resp = NULL;
		if (etcd_call(c, k, "v3/cluster/member/list", NULL, &resp, &http, err) == 0 && http == 200)
			rc = 0;
	}
	if (rc != 0)
		goto out;
	pthread_mutex_lock(&et->status_lock);
	json_array_foreach(json_object_get(resp, "members"), i, m) {
		const char *name = json_string_value(json_object_get(m, "name"));
		const char *url = json_string_value(json_array_get(json_object_get(m, "clientURLs"), 0));
		uint64_t id = 0;

		if (etcd_u64(&id, json_object_get(m, "ID")) != 0)
			continue;
		for (int k = 0; k < et->cl.n; k++)
			if ((name && strcmp(et->cl.m[k].name, name) == 0) ||
			    (url && strcmp(url + (strncmp(url, "http://", 7) == 0 ? 7 : 0),
					   et->cl.m[k].address) == 0))
				et->cl.m[k].raft_id = id;
	}
	pthread_mutex_unlock(&et->status_lock);
out:
	json_decref(resp);
	etcd_pool_give(et, c);
	return rc;
}

static int wait_ready(struct target *t, const struct action_ctx *ctx, struct dr_error *err)
{
	struct etcd_target *et = t->impl;
	int64_t deadline = clock_mono_ns() + READY_TIMEOUT_NS;
	char why[256] = "no answer yet";

	for (;;) {
		json_t *status = NULL;

		if (etcd_status(t, &status, NS_PER_SEC, err) == 0) {
			const char *repl = json_string_value(json_object_get(status, "replication"));

			if (json_is_object(json_object_get(status, "leader")) && repl &&
			    strcmp(repl, "Fully replicated") == 0) {
				json_decref(status);
				return 0;
			}
			snprintf(why, sizeof(why), "%s", repl ? repl : "?");
			json_decref(status);
		}
		for (int i = 0; et->up && i < et->cl.n; i++) {
			pthread_mutex_lock(&et->cl.lock);
			int dead = et->cl.m[i].restarts > 2;
			pthread_mutex_unlock(&et->cl.lock);
			if (dead) {
				char *tail = etcd_member_log_tail(&et->cl, i, 600);

				dr_error_set(err, "etcd member %s keeps exiting: %s", et->cl.m[i].name, tail);
				free(tail);
				return -1;
			}
		}
		if (clock_mono_ns() > deadline || action_ctx_cancelled(ctx))
			return dr_error_set(err, "the etcd cluster was not ready within %lld s: %s",
					    (long long)(READY_TIMEOUT_NS / NS_PER_SEC), why);
		clock_sleep_ns(20 * NS_PER_MS);
	}
}

static int etcd_start(struct target *t, const struct action_ctx *ctx, struct dr_error *err)
{
	struct etcd_target *et = t->impl;
	const char *primary = etcd_resolve_region(t, "primary");

	if (ctx->dry_run)
		return 0;
	if (!et->attached) {
		if (etcd_cluster_launch(&et->cl, err) != 0)
			return dr_error_wrap(err, "cannot start the etcd cluster in '%s'", et->cl.dir);
		et->up = 1;
	}
	if (wait_ready(t, ctx, err) != 0 || learn_ids(et, err) != 0)
		return -1;
	/* A drill starts from the leader in the primary region, as in a real
	 * deployment (a fresh cluster elects whoever times out first). */
	if (primary && !et->attached) {
		struct action_ctx bounded = *ctx;
		struct action_result res = ACTION_RESULT_INIT;
		json_t *args = json_pack("{s:s}", "region", primary);

		bounded.deadline_ns = clock_mono_ns() + 15 * NS_PER_SEC;
		etcd_transfer_leader(t, args, &bounded, &res);
		json_decref(args);
		action_result_release(&res);
		if (res.status != ACTION_OK)
			return dr_error_set(err, "cannot move the leader into region %s: %s", primary,
					    res.message);
	}
	return 0;
}

static int etcd_endpoints(struct target *t, char ***out, size_t *n, struct dr_error *err)
{
	struct etcd_target *et = t->impl;

	(void)err;
	*n = (size_t)et->cl.n;
	*out = xcalloc(*n + 1, sizeof(char *));
	for (int i = 0; i < et->cl.n; i++)
		(*out)[i] = xstrdup(et->cl.m[i].address);
	return 0;
}

static json_t *etcd_describe(struct target *t)
{
	struct etcd_target *et = t->impl;
	json_t *regions = json_array(), *members = json_array(), *d;
	pid_t pids[ETCD_MAX_MEMBERS];
	int np = etcd_cluster_pids(&et->cl, pids, ETCD_MAX_MEMBERS);

	for (int i = 0; i < et->cl.n; i++) {
		const struct etcd_member *m = &et->cl.m[i];
		json_t *r = NULL, *x;
		size_t k;

		json_array_foreach(regions, k, x)
			if (strcmp(json_string_value(json_object_get(x, "name")), m->region) == 0)
				r = x;
		if (!r) {
			r = json_pack("{s:s,s:s,s:i}", "name", m->region, "role", m->region_role, "size", 0);
			json_array_append_new(regions, r);
		}
		json_object_set_new(r, "size", json_integer(json_integer_value(json_object_get(r, "size")) + 1));
		json_array_append_new(members, json_pack("{s:i,s:s,s:s,s:s,s:i,s:I}", "id", m->id,
							 "name", m->name, "address", m->address,
							 "region", m->region, "election_timeout_ms",
							 m->election_ms, "pid",
							 (json_int_t)(i < np ? pids[i] : 0)));
	}
	d = json_pack("{s:s,s:s,s:{s:o,s:{s:i,s:i}},s:n,s:o}",
		      "kind", "etcd",
		      "description", et->attached ? "etcd cluster (attached)" : "local etcd cluster",
		      "topology", "regions", regions,
		      "timing", "election_timeout_ms", et->election_ms,
		      "heartbeat_ms", et->cl.heartbeat_ms,
		      "contexts",
		      "members", members);
	json_object_set_new(d, "nodes", json_integer(et->cl.n));
	json_object_set_new(d, "owned", json_boolean(!et->attached && !et->keep));
	if (!et->attached)
		json_object_set_new(d, "data_dir", json_string(et->cl.dir));
	return d;
}

static char *etcd_state_path(struct target *t)
{
	struct etcd_target *et = t->impl;

	return et->attached ? NULL : xasprintf("%s/drill.state.json", et->cl.dir);
}

static void etcd_close(struct target *t, int keep)
{
	struct etcd_target *et = t->impl;
	struct dr_error err = DR_ERROR_INIT;

	keep = keep || et->keep;
	if (et->up && keep) {
		/* The supervisor thread ends with us; the members run on. */
		atomic_store(&et->cl.stop, 1);
		if (et->cl.supervising)
			pthread_join(et->cl.supervisor, NULL);
		et->cl.supervising = 0;
		fprintf(stderr, "drillrig: the etcd members keep running (data in '%s'; stop them by pid)\n",
			et->cl.dir);
	} else if (!et->attached) {
		etcd_cluster_shutdown(&et->cl);
		if (fs_remove_tree(et->cl.dir, &err) != 0)
			fprintf(stderr, "drillrig: warning: %s\n", err.msg);
	}
	drill_lock_release(&et->lock);
	for (int i = 0; i < et->npool; i++)
		etcd_client_free(et->pool[i]);
	pthread_mutex_destroy(&et->pool_lock);
	pthread_mutex_destroy(&et->status_lock);
	pthread_mutex_destroy(&et->cl.lock);
	free(et->lock_path);
	free(et->cl.dir);
	free(et->cl.etcd_bin);
	free(et);
	free(t);
}

/* ---- construction ------------------------------------------------------------ */

static const char *role_name(enum plan_role r)
{
	return r == PLAN_ROLE_PRIMARY ? "primary" : r == PLAN_ROLE_DR ? "dr" : "witness";
}

static int members_from_plan(struct etcd_target *et, const struct plan *plan, struct dr_error *err)
{
	unsigned seed = (unsigned)(clock_wall_ns() ^ (getpid() * 2654435761u));
	int a = 1 + (int)(rand_r(&seed) % 250), b = 1 + (int)(rand_r(&seed) % 250);
	int n = 0;

	et->election_ms = (int)(plan->topology.election_timeout_ns / NS_PER_MS);
	et->cl.heartbeat_ms = (int)(plan->topology.heartbeat_ns / NS_PER_MS);
	if (et->election_ms <= 0)
		et->election_ms = 300;
	if (et->cl.heartbeat_ms <= 0)
		et->cl.heartbeat_ms = 30;
	if (et->election_ms < 5 * et->cl.heartbeat_ms)
		return dr_error_set(err, "etcd needs an election timeout of at least 5 heartbeats "
				    "(%d ms / %d ms)", et->election_ms, et->cl.heartbeat_ms);
	for (size_t r = 0; r < plan->topology.nregions; r++) {
		const struct plan_region *pr = &plan->topology.regions[r];

		for (int k = 0; k < pr->size; k++) {
			struct etcd_member *m;

			if (n >= ETCD_MAX_MEMBERS)
				return dr_error_set(err, "too many etcd members (at most %d)", ETCD_MAX_MEMBERS);
			m = &et->cl.m[n];
			m->id = n + 1;
			snprintf(m->name, sizeof(m->name), "m%d", n + 1);
			if (str_copy(m->region, sizeof(m->region), pr->name) != 0)
				return dr_error_set(err, "region name '%s' is too long", pr->name);
			str_copy(m->region_role, sizeof(m->region_role), role_name(pr->role));
			snprintf(m->ip, sizeof(m->ip), "127.%d.%d.%d", a, b, n + 1);
			m->client_port = net_free_port(m->ip, 2379);
			m->peer_port = net_free_port(m->ip, 2380);
			if (m->client_port < 0 || m->peer_port < 0)
				return dr_error_set(err, "no free port on %s", m->ip);
			snprintf(m->address, sizeof(m->address), "%s:%d", m->ip, m->client_port);
			m->election_ms = et->election_ms *
					 (pr->role == PLAN_ROLE_WITNESS ? WITNESS_ELECTION_FACTOR : 1);
			n++;
		}
	}
	if (n == 0)
		return dr_error_set(err, "the plan's topology has no members");
	et->cl.n = n;
	return 0;
}

/* --target-config: {"members":[{"address":"10.0.0.1:2379","region":"primary",
 * "role":"primary"}, ...]} (JSON). */
static int members_from_config(struct etcd_target *et, const char *path, struct dr_error *err)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *m;
	size_t i;
	int rc = -1;

	if (!root)
		return dr_error_set(err, "cannot load etcd target config '%s': %s (line %d)", path,
				    jerr.text, jerr.line);
	json_array_foreach(json_object_get(root, "members"), i, m) {
		struct etcd_member *em;
		const char *addr = json_string_value(json_object_get(m, "address"));
		const char *region = json_string_value(json_object_get(m, "region"));
		const char *role = json_string_value(json_object_get(m, "role"));

		if (i >= ETCD_MAX_MEMBERS) {
			dr_error_set(err, "%s: too many members (at most %d)", path, ETCD_MAX_MEMBERS);
			goto out;
		}
		if (!addr) {
			dr_error_set(err, "%s: members[%zu] has no 'address'", path, i);
			goto out;
		}
		em = &et->cl.m[i];
		em->id = (int)i + 1;
		snprintf(em->name, sizeof(em->name), "m%zu", i + 1);
		if (strncmp(addr, "http://", 7) == 0)
			addr += 7;
		if (str_copy(em->address, sizeof(em->address), addr) != 0 ||
		    str_copy(em->region, sizeof(em->region), region ? region : "primary") != 0 ||
		    str_copy(em->region_role, sizeof(em->region_role), role ? role : region ? region : "primary") != 0) {
			dr_error_set(err, "%s: members[%zu] has a value that is too long", path, i);
			goto out;
		}
		et->cl.n = (int)i + 1;
	}
	if (et->cl.n == 0) {
		dr_error_set(err, "%s: no 'members'", path);
		goto out;
	}
	rc = 0;
out:
	json_decref(root);
	return rc;
}

static char *cluster_root(const struct target_etcd_opts *opts)
{
	const char *root = opts->root_dir ? opts->root_dir : getenv("DRILLRIG_CLUSTER_ROOT");

	if ((!root || !*root) && access("/dev/shm", W_OK) == 0)
		root = "/dev/shm";
	if (!root || !*root)
		root = getenv("TMPDIR");
	return xstrdup(root && *root ? root : "/tmp");
}

int target_etcd_new(struct target **out, const struct plan *plan,
		    const struct target_etcd_opts *opts, struct dr_error *err)
{
	struct target_etcd_opts defaults = TARGET_ETCD_OPTS_INIT;
	struct etcd_target *et = xcalloc(1, sizeof(*et));
	struct target *t = xcalloc(1, sizeof(*t));
	const char *bin;
	char *root = NULL;

	if (!opts)
		opts = &defaults;
	etcd_cluster_init(&et->cl);
	pthread_mutex_init(&et->pool_lock, NULL);
	pthread_mutex_init(&et->status_lock, NULL);
	et->lock.fd = -1;
	et->keep = opts->keep;
	bin = opts->etcd_bin ? opts->etcd_bin : getenv("DRILLRIG_ETCD_BIN");
	et->cl.etcd_bin = xstrdup(bin && *bin ? bin : "etcd");
	if (opts->config_path) {
		et->attached = 1;
		if (members_from_config(et, opts->config_path, err) != 0)
			goto fail;
		et->lock_path = xasprintf("%s.lock", opts->config_path);
	} else {
		char *tmpl;

		if (!plan) {
			dr_error_set(err, "the etcd target needs a plan or --target-config");
			goto fail;
		}
		if (members_from_plan(et, plan, err) != 0)
			goto fail;
		root = cluster_root(opts);
		if (fs_mkdir_p(root, err) != 0)
			goto fail;
		tmpl = xasprintf("%s/drillrig-etcd-%s-XXXXXX", root, plan->name);
		if (!mkdtemp(tmpl)) {
			dr_error_errno(err, errno, "cannot create an etcd directory under '%s'", root);
			free(tmpl);
			goto fail;
		}
		et->cl.dir = tmpl;
		et->lock_path = xasprintf("%s/drill.lock", tmpl);
	}
	free(root);
	t->kind = "etcd";
	t->actions = etcd_actions;
	t->dry_run_where = "on the etcd cluster";
	t->impl = et;
	t->start = etcd_start;
	t->lock = etcd_lock;
	t->unlock = etcd_unlock;
	t->status = etcd_status;
	t->endpoints = etcd_endpoints;
	t->resolve_region = etcd_resolve_region;
	t->describe = etcd_describe;
	t->state_path = etcd_state_path;
	t->close = etcd_close;
	t->workload_connect = etcd_workload_connect;
	*out = t;
	return 0;
fail:
	free(root);
	free(et->lock_path);
	free(et->cl.dir);
	free(et->cl.etcd_bin);
	pthread_mutex_destroy(&et->pool_lock);
	pthread_mutex_destroy(&et->status_lock);
	pthread_mutex_destroy(&et->cl.lock);
	free(et);
	free(t);
	return -1;
}

static int etcd_create(struct target **out, const struct plan *plan,
		       const struct target_opts *opts, struct dr_error *err)
{
	struct target_etcd_opts eo = TARGET_ETCD_OPTS_INIT;

	eo.config_path = opts->config_path;
	eo.keep = opts->keep;
	return target_etcd_new(out, plan, &eo, err);
}

const struct target_kind target_kind_etcd = {
	"etcd", 0, etcd_actions, etcd_create, NULL, NULL,
};
