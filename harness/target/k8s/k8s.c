#include "harness/target/k8s/k8s.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "harness/core/journal.h"
#include "harness/plan/plan.h"
#include "harness/target/k8s/k8s_canary_api.h"
#include "harness/target/k8s/k8s_impl.h"
#include "reports/redact.h"

#define CAPTURE_MAX ((size_t)8 << 20)
#define STATUS_TIMEOUT_NS (10 * NS_PER_SEC)
/* A kubectl exec round trip (API server, kubelet, the pod) takes a second or
 * more on a real cluster: a status read gets at least this long, whatever
 * the caller's poll budget. */
#define STATUS_MIN_TIMEOUT_NS (5 * NS_PER_SEC)
/* One pod's share of a status read over the runner's own gRPC client. */
#define STATUS_POD_TIMEOUT_NS (2 * NS_PER_SEC)
/* kubectl port-forward starts in well under a second; a slow API server
 * gets this long for every forward together. */
#define FORWARDS_START_NS (20 * NS_PER_SEC)

/* ---- running kubectl ---------------------------------------------------- */

void k8s_out_release(struct k8s_out *res)
{
	free(res->out);
	free(res->errout);
	res->out = res->errout = NULL;
}

/* kubectl's message, trimmed to what a report line can hold. */
static void quote_stderr(char *buf, size_t len, const char *errout, const char *out)
{
	const char *s = errout && errout[strspn(errout, " \t\r\n")] ? errout : out ? out : "";
	size_t n;

	s += strspn(s, " \t\r\n");
	n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n > len - 1)
		n = len - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

/* What a command printed, for the journal.  Admin answers (grpcurl) are
 * kept; kubectl's own output is summarised, even on failure: pod and
 * StatefulSet specs can carry secrets in plain env values, which no
 * redaction would know; read-back pages hold the ledger's entries.  stderr
 * is always kept. */
static char *journal_stdout(const struct k8s_target *kt, const struct k8s_argv *argv, const char *out)
{
	const char *read_method = k8s_call_method(kt->cfg, K8S_CALL_READ);
	int grpcurl = 0;

	if (!out || !*out)
		return NULL;
	for (size_t i = 0; i < argv->n; i++) {
		/* Read pages carry the production ledger's own entries. */
		if (read_method && strcmp(argv->v[i], read_method) == 0)
			return xasprintf("(%zu bytes: a page of ledger entries, not kept)", strlen(out));
		grpcurl |= strcmp(argv->v[i], kt->cfg->grpcurl) == 0;
	}
	if (grpcurl)
		return xstrdup(out);
	return xasprintf("(%zu bytes from kubectl, parsed and not kept: specs can hold secrets)",
			 strlen(out));
}

void k8s_record(struct k8s_target *kt, struct journal *journal, const char *display, int exit_code,
		int64_t start, int64_t dur, unsigned flags, const char *out, const char *errout)
{
	struct journal *j = journal ? journal : NULL;

	pthread_mutex_lock(&kt->lock);
	if (!j)
		j = kt->journal;
	if (flags & K8S_RUN_QUIET) {
		/* Status polls run every few ms during awaits: keep the first and every
		 * change of command or outcome, and count the rest. */
		kt->status_reads++;
		if (kt->last_status_cmd && strcmp(kt->last_status_cmd, display) == 0 &&
		    kt->last_status_exit == exit_code) {
			pthread_mutex_unlock(&kt->lock);
			return;
		}
		free(kt->last_status_cmd);
		kt->last_status_cmd = xstrdup(display);
		kt->last_status_exit = exit_code;
	}
	pthread_mutex_unlock(&kt->lock);
	if (j) {
		journal_add_command_io(j, display, exit_code, start, dur, out, errout);
	} else {
		/* Before start() (the Lease): kept until the journal is known. */
		json_t *c = json_pack("{s:s,s:i,s:I,s:I}", "argv", display, "exit_code", exit_code,
				      "start", (json_int_t)start, "duration", (json_int_t)dur);

		if (out)
			json_object_set_new(c, "stdout", json_string(out));
		if (errout)
			json_object_set_new(c, "stderr", json_string(errout));
		pthread_mutex_lock(&kt->lock);
		json_array_append_new(kt->pending, c);
		pthread_mutex_unlock(&kt->lock);
	}
}

int k8s_run(struct k8s_target *kt, struct k8s_out *res, const struct k8s_argv *argv,
	    const char *stdin_data, int64_t timeout_ns, unsigned flags, struct journal *journal,
	    struct dr_error *err)
{
	struct proc_result pr;
	int64_t limit = kt->cfg->command_timeout_ns, start;
	char *display = k8s_argv_display(argv);
	char msg[700];
	int rc = -1;

	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (kt->dry_run) {
		/* recover fills secret variables into the undos it replays and
		 * registers them (harness/cli/recover.c): never printed */
		char *shown = redact_text(display);

		fprintf(kt->out, "  would run: %s\n", shown);
		free(shown);
		fflush(kt->out);
		kt->dry_run_commands++;
		res->out = xstrdup("");
		res->errout = xstrdup("");
		free(display);
		return 1;
	}
	/* A change inside a step (a drain, a scale) gets what is left of the
	 * step, never cut at the command timeout; reads keep the cap, so a
	 * hung read does not hold a poll. */
	if (timeout_ns > 0 && (timeout_ns < limit || (flags & K8S_RUN_CHANGE)))
		limit = timeout_ns;
	memset(&pr, 0, sizeof(pr));
	start = clock_mono_ns();
	if (proc_run(&pr, argv->v, stdin_data, limit, CAPTURE_MAX, err) != 0) {
		dr_error_wrap(err, "kubectl is missing or cannot run (install it, or set kubectl: in the target configuration)");
		k8s_record(kt, journal, display, -1, start, clock_mono_ns() - start, flags, NULL, err->msg);
		res->out = xstrdup("");
		res->errout = xstrdup(err->msg);
		goto out;
	}
	res->ran = 1;
	res->timed_out = pr.timed_out;
	res->exit_code = pr.exited ? pr.exit_code : -1;
	res->out = pr.out ? pr.out : xstrdup("");
	res->errout = pr.errout ? pr.errout : xstrdup("");
	pr.out = pr.errout = NULL;
	{
		int code = pr.exited ? pr.exit_code : 128 + pr.term_signal;
		char *kept = journal_stdout(kt, argv, res->out);

		k8s_record(kt, journal, display, code, start, pr.elapsed_ns, flags, kept, res->errout);
		free(kept);
	}
	if (pr.timed_out) {
		char t[32];

		snprintf(t, sizeof(t), "%.1fs", (double)limit / 1e9);
		dr_error_set(err, "'%s' timed out after %s", display, t);
	} else if (!pr.exited) {
		dr_error_set(err, "'%s' was killed by signal %d", display, pr.term_signal);
	} else if (pr.exit_code != 0) {
		quote_stderr(msg, sizeof(msg), res->errout, res->out);
		dr_error_set(err, "'%s' failed (exit %d): %s", display, pr.exit_code,
			     msg[0] ? msg : "(no message)");
	} else {
		rc = 0;
	}
	proc_result_release(&pr);
out:
	free(display);
	return rc;
}

/* ---- reading the cluster ------------------------------------------------ */

int k8s_read_pods(struct k8s_target *kt, const struct k8s_region *r, struct k8s_pod **out,
		  size_t *n, struct journal *journal, struct dr_error *err)
{
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	int rc;

	*out = NULL;
	*n = 0;
	k8s_cmd_get_pods(&a, kt->cfg, r);
	rc = k8s_run(kt, &o, &a, NULL, 0, K8S_RUN_READ | (journal ? 0 : K8S_RUN_QUIET), journal, err);
	if (rc == 0)
		rc = k8s_parse_pods(out, n, o.out, r->statefulset, err);
	k8s_out_release(&o);
	k8s_argv_release(&a);
	return rc;
}

static json_t *pods_of_all_regions(struct k8s_target *kt, struct journal *journal)
{
	json_t *all = json_object();

	for (size_t i = 0; i < kt->cfg->nregions; i++) {
		struct dr_error err = DR_ERROR_INIT;
		struct k8s_pod *pods = NULL;
		size_t n = 0;
		json_t *list = json_array();

		/* A region that cannot be listed counts as no pod ready. */
		if (k8s_read_pods(kt, &kt->cfg->regions[i], &pods, &n, journal, &err) == 0)
			for (size_t k = 0; k < n; k++)
				json_array_append_new(list, k8s_pod_json(&pods[k]));
		free(pods);
		json_object_set_new(all, kt->cfg->regions[i].name, list);
	}
	return all;
}

/* The status from one pod of r: 0 with *out, -1 with err.  *pods is the
 * pods' readiness (ledger.v1), listed on the first answer and kept for
 * the other pods asked in the same read (the caller releases it). */
static int status_from_pod(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
			   int64_t timeout_ns, struct journal *journal, json_t **pods, json_t **out,
			   struct dr_error *err)
{
	const struct k8s_config *cfg = kt->cfg;
	json_t *answer = NULL;
	int rc;

	rc = k8s_ledger_call(kt, r, pod, K8S_CALL_STATUS, NULL, timeout_ns, K8S_RUN_READ | K8S_RUN_QUIET,
			     journal, &answer, NULL, err);
	if (rc == 1)
		return dr_error_set(err, "dry run: the status is not read");
	if (rc != 0)
		return -1;
	if (cfg->api == K8S_API_LEDGER_V1 && !*pods)
		*pods = pods_of_all_regions(kt, NULL);
	rc = k8s_parse_cluster_status_json(out, cfg, answer, *pods, err);
	json_decref(answer);
	if (rc == 0)
		json_object_set_new(*out, "answered_by", json_pack("{s:s,s:s,s:s}", "region", r->name,
								   "context", r->context, "pod", pod));
	return rc;
}

/* Of two status answers, the one to believe: one that knows a leader
 * over one that does not (a node cut off from the others knows none, and
 * ledger.v1's GetClusterInfo is each node's own view), then the higher
 * term. */
static int better_status(const json_t *a, const json_t *b)
{
	int la = json_is_object(json_object_get(a, "leader")), lb = json_is_object(json_object_get(b, "leader"));

	if (la != lb)
		return la > lb;
	return json_integer_value(json_object_get(a, "term")) > json_integer_value(json_object_get(b, "term"));
}

int k8s_read_status(struct k8s_target *kt, json_t **out, int64_t timeout_ns,
		    struct journal *journal, struct dr_error *err)
{
	const struct k8s_config *cfg = kt->cfg;
	struct strbuf why = STRBUF_INIT;
	json_t *best = NULL, *pods = NULL;
	size_t first, best_region = 0;

	pthread_mutex_lock(&kt->lock);
	first = kt->status_region;
	pthread_mutex_unlock(&kt->lock);
	if (timeout_ns <= 0 || timeout_ns > STATUS_TIMEOUT_NS)
		timeout_ns = STATUS_TIMEOUT_NS;
	/* The region that answered last first: during a region outage the
	 * survivors answer, and we stop asking the lost region's pods first.
	 * An answer without a leader does not end the search. */
	for (size_t k = 0; k < cfg->nregions; k++) {
		size_t idx = (first + k) % cfg->nregions;
		const struct k8s_region *r = &cfg->regions[idx];
		int exec = r->transport == K8S_TRANSPORT_EXEC_GRPCURL;
		/* kubectl exec costs a second or more on a real cluster; a
		 * call of our own to a pod that hangs must not hold the poll. */
		int64_t t = exec ? (timeout_ns < STATUS_MIN_TIMEOUT_NS ? STATUS_MIN_TIMEOUT_NS : timeout_ns)
				 : (timeout_ns > STATUS_POD_TIMEOUT_NS ? STATUS_POD_TIMEOUT_NS : timeout_ns);
		/* exec asks the admin pod; a runner with an address of every pod
		 * asks each in turn (the admin pod first). */
		int npods = exec ? 0 : r->replicas;

		for (int p = -1; p < npods; p++) {
			struct dr_error e = DR_ERROR_INIT;
			json_t *st = NULL;
			char pod[300];

			if (p < 0) {
				str_copy(pod, sizeof(pod), r->admin_pod);
			} else {
				snprintf(pod, sizeof(pod), "%s-%d", r->statefulset, p);
				if (strcmp(pod, r->admin_pod) == 0)
					continue;
			}
			if (status_from_pod(kt, r, pod, t, journal, &pods, &st, &e) == 0) {
				if (!best || better_status(st, best)) {
					json_decref(best);
					best = st;
					best_region = idx;
				} else {
					json_decref(st);
				}
				if (json_is_object(json_object_get(best, "leader")))
					goto done;
			} else if (kt->dry_run) {
				strbuf_release(&why);
				json_decref(pods);
				return dr_error_set(err, "dry run: the status is not read");
			} else if (p < 0) {
				strbuf_addf(&why, "%s%s: %s", why.len ? "; " : "", r->name, e.msg);
			}
		}
	}
done:
	json_decref(pods);
	if (!best) {
		dr_error_set(err, "no ledger pod answered %s: %s", k8s_call_method(cfg, K8S_CALL_STATUS),
			     strbuf_str(&why));
		strbuf_release(&why);
		return -1;
	}
	pthread_mutex_lock(&kt->lock);
	kt->status_region = best_region;
	pthread_mutex_unlock(&kt->lock);
	*out = best;
	strbuf_release(&why);
	return 0;
}

/* ---- the target --------------------------------------------------------- */

static int k8s_status(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err)
{
	return k8s_read_status(t->impl, out, timeout_ns, NULL, err);
}

static const char *k8s_resolve_region(struct target *t, const char *ref)
{
	struct k8s_target *kt = t->impl;
	const struct k8s_region *r = k8s_config_region(kt->cfg, ref);

	return r ? r->name : NULL;
}

/* A dry run measures nothing, but shows what a canary write would run. */
static void print_canary_sample(struct k8s_target *kt)
{
	const struct k8s_region *p = k8s_config_region(kt->cfg, "primary");
	struct k8s_argv a = K8S_ARGV_INIT;
	json_t *req = k8s_canary_write_request(kt->cfg, "<client id>", 1, "<payload>",
					       clock_wall_ns() / NS_PER_SEC);
	char *display;

	k8s_cmd_grpc(&a, kt->cfg, p ? p : &kt->cfg->regions[0], "<leader pod>", K8S_CALL_WRITE, req);
	display = k8s_argv_display(&a);
	fprintf(kt->out, "  each canary write (the leader's region and pod):\n    %s\n", display);
	free(display);
	k8s_argv_release(&a);
	json_decref(req);
}

/* Dry runs of the awaits and probes: the ledger calls each poll makes,
 * pod by pod, with the address each would reach. */
static int k8s_dry_run_calls(struct target *t, const char *action, json_t *args,
			     const struct action_ctx *ctx)
{
	struct k8s_target *kt = t->impl;
	const struct k8s_config *cfg = kt->cfg;
	int probe = strcmp(action, "probe") == 0;

	(void)args;
	if (strncmp(action, "await_", 6) != 0 && !probe)
		return 0;
	fprintf(kt->out, "  %s %s: each poll asks the pods in turn until one answers:\n",
		ctx->step_name ? ctx->step_name : "step", action);
	for (size_t i = 0; i < cfg->nregions; i++) {
		const struct k8s_region *r = &cfg->regions[i];

		for (int k = 0; k < r->replicas; k++) {
			char pod[300];

			snprintf(pod, sizeof(pod), "%s-%d", r->statefulset, k);
			k8s_ledger_call(kt, r, pod, K8S_CALL_STATUS, NULL, 0, K8S_RUN_READ, NULL, NULL, NULL, NULL);
			if (r->transport == K8S_TRANSPORT_EXEC_GRPCURL)
				break; /* exec asks the admin pod only */
		}
	}
	if (cfg->api == K8S_API_LEDGER_V1) {
		/* ledger.v1 members carry no state: the pods' readiness says it. */
		fprintf(kt->out, "  and with each answer, the pods' readiness:\n");
		for (size_t i = 0; i < cfg->nregions; i++) {
			struct dr_error err = DR_ERROR_INIT;
			struct k8s_pod *pods = NULL;
			size_t n = 0;

			k8s_read_pods(kt, &cfg->regions[i], &pods, &n, NULL, &err);
			free(pods);
		}
	}
	if (probe) {
		const struct k8s_region *p = k8s_config_region(cfg, "primary");
		json_t *req = k8s_canary_write_request(cfg, "<client id>", 1, "<payload>",
						       clock_wall_ns() / NS_PER_SEC);

		fprintf(kt->out, "  then, through the leader's pod:\n");
		k8s_ledger_call(kt, p, "<leader pod>", K8S_CALL_WRITE, req, 0, K8S_RUN_CHANGE, NULL, NULL,
				NULL, NULL);
		k8s_ledger_call(kt, p, "<leader pod>", K8S_CALL_READ, NULL, 0, K8S_RUN_READ, NULL, NULL,
				NULL, NULL);
		json_decref(req);
	}
	return 1;
}

/* Every region's StatefulSet answers: the contexts exist, the credentials
 * work and the names are right, before anything changes. */
static int k8s_start(struct target *t, const struct action_ctx *ctx, struct dr_error *err)
{
	struct k8s_target *kt = t->impl;
	json_t *pending;
	size_t i;
	json_t *c;

	pthread_mutex_lock(&kt->lock);
	kt->journal = ctx->journal;
	pending = kt->pending;
	kt->pending = json_array();
	pthread_mutex_unlock(&kt->lock);
	json_array_foreach(pending, i, c)
		if (ctx->journal)
			journal_add_command_io(ctx->journal, json_string_value(json_object_get(c, "argv")),
					       (int)json_integer_value(json_object_get(c, "exit_code")),
					       json_integer_value(json_object_get(c, "start")),
					       json_integer_value(json_object_get(c, "duration")),
					       json_string_value(json_object_get(c, "stdout")),
					       json_string_value(json_object_get(c, "stderr")));
	json_decref(pending);
	if (kt->dry_run) {
		fprintf(kt->out, "dry run: every kubectl command is printed, none runs\n");
		k8s_print_plan(kt->cfg, kt->out);
		if (kt->cfg->canary.enabled && !kt->cfg->workload_endpoint)
			print_canary_sample(kt);
		/* The runner takes no lock in a dry run; show the one a real run takes. */
		if (k8s_forwards_start(kt, NULL, 0, err) != 0)
			return -1;
		fprintf(kt->out, "  take the drill lock:\n");
		return k8s_lease_acquire(kt, err);
	}
	for (i = 0; i < kt->cfg->nregions; i++) {
		const struct k8s_region *r = &kt->cfg->regions[i];
		struct k8s_argv a = K8S_ARGV_INIT;
		struct k8s_out o = K8S_OUT_INIT;
		struct k8s_sts_state st;
		int rc;

		k8s_cmd_get_statefulset(&a, kt->cfg, r);
		rc = k8s_run(kt, &o, &a, NULL, 0, K8S_RUN_READ, ctx->journal, err);
		if (rc == 0)
			rc = k8s_parse_statefulset(&st, o.out, err);
		k8s_out_release(&o);
		k8s_argv_release(&a);
		if (rc != 0)
			return dr_error_wrap(err, "region '%s' (context %s, namespace %s)", r->name,
					     r->context, r->namespace);
	}
	/* Before the first fault, so a failover measures the ledger, not
	 * kubectl's start-up. */
	return k8s_forwards_start(kt, ctx->journal, FORWARDS_START_NS, err);
}

static int k8s_lock(struct target *t, struct dr_error *err)
{
	return k8s_lease_acquire(t->impl, err);
}

/* The end of the drill: nodes this drill cordoned are uncordoned whatever
 * the plan's undos did, then the Lease goes. */
static void k8s_unlock(struct target *t)
{
	struct k8s_target *kt = t->impl;
	struct action_ctx ctx = ACTION_CTX_INIT;

	ctx.journal = kt->journal;
	ctx.step_name = "unlock";
	k8s_uncordon_all(kt, &ctx);
	k8s_chaos_delete_all(kt, &ctx);
	k8s_lease_release(kt);
}

/* The workload's address of pod k of r: its direct address or its
 * forward's local port (heap); NULL when it has none yet. */
static char *pod_endpoint(struct k8s_target *kt, const struct k8s_region *r, int k)
{
	char pod[300];
	int port;

	snprintf(pod, sizeof(pod), "%s-%d", r->statefulset, k);
	if (r->transport == K8S_TRANSPORT_DIRECT)
		return k8s_config_direct_address(r, pod);
	if ((port = k8s_forward_port(kt, r, pod)) > 0)
		return xasprintf("127.0.0.1:%d", port);
	if (kt->dry_run)
		return xasprintf("<port-forward of %s in %s>", pod, r->context);
	return NULL;
}

/* workload_endpoint: pods — every pod of the normal size, at the address
 * its transport gives (a forward keeps its local port when reopened, so
 * the workload's fixed list stays right through the drill). */
static int pods_endpoints(struct k8s_target *kt, char ***out, size_t *n, struct dr_error *err)
{
	size_t total = 0;

	for (size_t i = 0; i < kt->cfg->nregions; i++)
		total += (size_t)kt->cfg->regions[i].replicas;
	*out = xcalloc(total + 1, sizeof(char *));
	for (size_t i = 0; i < kt->cfg->nregions; i++)
		for (int k = 0; k < kt->cfg->regions[i].replicas; k++)
			if (((*out)[*n] = pod_endpoint(kt, &kt->cfg->regions[i], k)) != NULL)
				(*n)++;
	if (*n == 0)
		return dr_error_set(err, "workload_endpoint: pods, but no pod has an address yet");
	return 0;
}

/* Which region's pod an endpoint of pods_endpoints() reaches. */
static const char *k8s_endpoint_region(struct target *t, const char *endpoint)
{
	struct k8s_target *kt = t->impl;

	for (size_t i = 0; i < kt->cfg->nregions; i++) {
		const struct k8s_region *r = &kt->cfg->regions[i];

		for (int k = 0; k < r->replicas; k++) {
			char *a = pod_endpoint(kt, r, k);
			int same = a && strcmp(a, endpoint) == 0;

			free(a);
			if (same)
				return r->name;
		}
	}
	return NULL;
}

static int k8s_endpoints(struct target *t, char ***out, size_t *n, struct dr_error *err)
{
	struct k8s_target *kt = t->impl;
	const char *ep = kt->cfg->workload_endpoint;
	json_t *status = NULL, *m;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!ep)
		return 0; /* status-only measurement */
	if (strcmp(ep, "pods") == 0)
		return pods_endpoints(kt, out, n, err);
	if (strcmp(ep, "members") != 0) {
		*out = xcalloc(2, sizeof(char *));
		(*out)[0] = xstrdup(ep);
		*n = 1;
		return 0;
	}
	/* The runner sits in the mesh: every member's own address. */
	if (k8s_read_status(kt, &status, 0, NULL, err) != 0)
		return dr_error_wrap(err, "workload_endpoint: members needs the cluster status");
	*out = xcalloc(json_array_size(json_object_get(status, "members")) + 1, sizeof(char *));
	json_array_foreach(json_object_get(status, "members"), i, m) {
		const char *a = json_string_value(json_object_get(m, "address"));

		if (a && *a)
			(*out)[(*n)++] = xstrdup(a);
	}
	json_decref(status);
	return 0;
}

static json_t *k8s_describe(struct target *t)
{
	struct k8s_target *kt = t->impl;
	const struct k8s_config *cfg = kt->cfg;
	json_t *regions = json_array(), *contexts = json_array(), *d;
	int nodes = 0;

	for (size_t i = 0; i < cfg->nregions; i++) {
		const struct k8s_region *r = &cfg->regions[i];

		json_array_append_new(regions, json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "name", r->name,
			"role", r->role, "size", r->replicas, "context", r->context,
			"namespace", r->namespace, "statefulset", r->statefulset));
		json_array_append_new(contexts, json_string(r->context));
		nodes += r->replicas;
	}
	d = json_pack("{s:s,s:s,s:{s:o},s:o,s:s,s:s,s:i,s:s}",
		      "kind", "kubernetes",
		      "description", kt->dry_run ? "live Kubernetes contexts (dry run)" :
				     kt->server_dry_run ? "live Kubernetes contexts (server-side dry run)" :
				     "live Kubernetes contexts",
		      "topology", "regions", regions,
		      "contexts", contexts,
		      "api", k8s_api_name(cfg->api),
		      "config", cfg->path,
		      "nodes", nodes,
		      "measurement", cfg->workload_endpoint ? "workload" :
				     cfg->canary.enabled ? "canary" : "status-only");
	return d;
}

static void k8s_close(struct target *t, int keep)
{
	struct k8s_target *kt = t->impl;

	(void)keep;
	if (kt->dry_run) {
		fprintf(kt->out, "  release the drill lock:\n");
		kt->lease_held = 1;
	}
	k8s_lease_release(kt);
	k8s_forwards_free(kt);
	k8s_ledger_close(kt);
	k8s_config_free(kt->cfg);
	json_decref(kt->snapshots);
	json_decref(kt->cordoned);
	json_decref(kt->chaos);
	json_decref(kt->pending);
	free(kt->last_status_cmd);
	free(kt->cluster_state);
	pthread_mutex_destroy(&kt->lock);
	free(kt);
	free(t);
}

/* What the configuration cannot do, found before anything runs: a region
 * the configuration lacks, a forced election with data loss in ledger.v1. */
static int check_action(const struct k8s_config *cfg, json_t *a, const char *where,
			struct dr_error *err)
{
	const char *action = json_string_value(json_object_get(a, "action"));
	const char *region = json_string_value(json_object_get(a, "region"));

	if (!action)
		return 0;
	if (region && !k8s_config_region(cfg, region))
		return dr_error_set(err, "%s: region '%s' is not in the target configuration '%s' "
				    "(regions are named by their key or their role)", where, region, cfg->path);
	if ((strcmp(action, "partition") == 0 || strcmp(action, "heal") == 0) &&
	    cfg->fault_engine != K8S_FAULTS_CHAOS_MESH)
		return dr_error_set(err, "%s: %s needs fault_engine: chaos-mesh in '%s' (kubectl alone "
				    "cannot cut a network; Chaos Mesh's NetworkChaos can)", where, action,
				    cfg->path);
	if (strcmp(action, "partition") == 0 &&
	    ((json_is_string(json_object_get(a, "direction")) &&
	      strcmp(json_string_value(json_object_get(a, "direction")), "both") != 0) ||
	     (json_is_integer(json_object_get(a, "loss")) &&
	      json_integer_value(json_object_get(a, "loss")) != 100) ||
	     (json_is_string(json_object_get(a, "method")) &&
	      strcmp(json_string_value(json_object_get(a, "method")), "auto") != 0)))
		return dr_error_set(err, "%s: partition on Kubernetes is a Chaos Mesh NetworkChaos, both "
				    "ways and every packet: direction, loss and method are for the local "
				    "target (nftables)", where);
	if (cfg->api == K8S_API_LEDGER_V1 && strcmp(action, "force_election") == 0 &&
	    json_is_true(json_object_get(a, "allow_data_loss")))
		return dr_error_set(err, "%s: force_election with allow_data_loss is not possible with "
				    "api: ledger.v1 (it has no forced election; use transfer_leader)", where);
	return 0;
}

static int check_plan(const struct k8s_config *cfg, const struct plan *plan, struct dr_error *err)
{
	char where[160];

	if (!plan)
		return 0;
	/* The configuration says what the cluster speaks; a plan (or --api)
	 * asking for the other dialect would measure a client that does not
	 * exist. */
	if (plan->api && strcmp(plan->api, k8s_api_name(cfg->api)) != 0)
		return dr_error_set(err, "%s: api %s, but '%s' says the cluster speaks %s (set api "
				    "there, or drop it from the plan and --api)", plan->path, plan->api,
				    cfg->path, k8s_api_name(cfg->api));
	for (size_t i = 0; i < plan->nsteps; i++) {
		snprintf(where, sizeof(where), "%s: step '%s'", plan->path, plan->steps[i].name);
		if (check_action(cfg, plan->steps[i].args, where, err) != 0 ||
		    (plan->steps[i].undo && check_action(cfg, plan->steps[i].undo, where, err) != 0))
			return -1;
	}
	for (size_t i = 0; i < plan->nrollback; i++) {
		snprintf(where, sizeof(where), "%s: rollback '%s'", plan->path, plan->rollback[i].name);
		if (check_action(cfg, plan->rollback[i].args, where, err) != 0)
			return -1;
	}
	return 0;
}

int target_k8s_new(struct target **out, const struct plan *plan,
		   const struct target_k8s_opts *opts, struct dr_error *err)
{
	struct k8s_config *cfg = NULL;
	struct k8s_target *kt;
	struct target *t;
	char host[128] = "unknown";
	int rc;

	if (!opts || !opts->config_path) {
		dr_error_set(err, "the kubernetes target needs --target-config FILE (see docs/kubernetes.md)");
		return TARGET_EUSAGE;
	}
	if (k8s_config_load(&cfg, opts->config_path, err) != 0)
		return TARGET_EUSAGE;
	if (check_plan(cfg, plan, err) != 0) {
		k8s_config_free(cfg);
		return TARGET_EUSAGE;
	}
	/* Ask before the first command: the Lease is already a change. */
	if (!opts->dry_run && !opts->server_dry_run &&
	    (rc = k8s_confirm(cfg, opts->yes, opts->interactive, stdin, stderr, err)) != 0) {
		k8s_config_free(cfg);
		return rc;
	}
	kt = xcalloc(1, sizeof(*kt));
	t = xcalloc(1, sizeof(*t));
	kt->cfg = cfg;
	kt->dry_run = opts->dry_run;
	kt->server_dry_run = opts->server_dry_run;
	kt->out = opts->out ? opts->out : stdout;
	pthread_mutex_init(&kt->lock, NULL);
	kt->snapshots = json_object();
	kt->cordoned = json_array();
	kt->chaos = json_array();
	kt->pending = json_array();
	gethostname(host, sizeof(host) - 1);
	snprintf(kt->holder, sizeof(kt->holder), "drillrig@%s/%ld", host, (long)getpid());
	t->kind = "kubernetes";
	t->impl = kt;
	t->api = cfg->api == K8S_API_LEDGER_V1 ? LEDGER_API_V1 : LEDGER_API_RUNBOOK;
	if (cfg->canary.organization) {
		kt->v1_scope = k8s_canary_scope(cfg);
		t->v1_scope = &kt->v1_scope;
	}
	t->actions = k8s_actions;
	t->start = k8s_start;
	t->lock = k8s_lock;
	t->unlock = k8s_unlock;
	t->status = k8s_status;
	t->endpoints = k8s_endpoints;
	t->endpoint_region = k8s_endpoint_region;
	t->canary_connect = k8s_canary_connect;
	t->resolve_region = k8s_resolve_region;
	t->describe = k8s_describe;
	t->dry_run_calls = k8s_dry_run_calls;
	t->state_path = k8s_state_path_hook; /* harness/target/k8s/k8s_state.c */
	t->state_saved = k8s_state_saved_hook; /* harness/target/k8s/k8s_lease_state.c */
	t->close = k8s_close;
	*out = t;
	return 0;
}

static int k8s_create(struct target **out, const struct plan *plan,
		      const struct target_opts *opts, struct dr_error *err)
{
	struct target_k8s_opts ko = TARGET_K8S_OPTS_INIT;

	ko.config_path = opts->config_path;
	ko.yes = opts->yes;
	ko.dry_run = opts->dry_run;
	ko.server_dry_run = opts->server_dry_run;
	return target_k8s_new(out, plan, &ko, err);
}

const struct target_kind target_kind_kubernetes = {
	"kubernetes", TARGET_KIND_LEDGER_API | TARGET_KIND_SERVER_DRY_RUN, k8s_actions, k8s_create,
	k8s_recover, k8s_preflight,
};
