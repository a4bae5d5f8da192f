/* drillrig recover on Kubernetes: the state of an interrupted drill is in
 * the runner's state directory (harness/target/k8s/k8s_state.h), named after
 * the drill lock's context, namespace and Lease.  Before anything changes,
 * the drill lock is settled: the Lease an interrupted drill left behind
 * goes when its holder is gone (k8s_lease_decide), a live drill's is
 * refused (exit 3); then the undos are replayed, the nodes the drill
 * cordoned uncordoned, and the Lease released. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/core/exit_codes.h"
#include "harness/core/journal.h"
#include "harness/target/k8s/k8s.h"
#include "harness/target/k8s/k8s_impl.h"
#include "harness/target/k8s/k8s_state.h"
#include "harness/target/shared/state_file.h"

/* kill(pid, 0) says whether the pid exists; EPERM means it does (another
 * user's process).  A zombie (killed, not yet reaped by its parent) is
 * gone.  A recycled pid reads as alive: we then refuse, which is the safe
 * side (the Lease still expires). */
static int local_pid_alive(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* The record's cordoned nodes become t's, so that uncordoning covers them. */
static void adopt_cordoned(struct k8s_target *kt, json_t *record)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(record, "cordoned"), i, c) {
		const char *region = json_string_value(json_object_get(c, "region"));
		const char *node = json_string_value(json_object_get(c, "node"));

		/* A record from another configuration could name a region we lack. */
		if (!region || !node || !k8s_config_region(kt->cfg, region))
			continue;
		pthread_mutex_lock(&kt->lock);
		json_array_append_new(kt->cordoned, json_pack("{s:s,s:s}", "region", region, "node", node));
		pthread_mutex_unlock(&kt->lock);
	}
}

int target_k8s_recover_lock(struct target *t, json_t *record, int take, char *msg, size_t len,
			    struct dr_error *err)
{
	struct k8s_target *kt = t->impl;
	const struct k8s_region *r = k8s_lease_region(kt->cfg);
	struct k8s_lease_facts f;
	struct k8s_lease_info li;
	enum k8s_lease_verdict v;
	char host[256] = "", hhost[256], why[700];
	long pid = 0;
	int absent = 0, rc;

	msg[0] = '\0';
	if (kt->dry_run) {
		/* Nothing is read in a dry run: show what a recovery runs. */
		k8s_lease_get(kt, &li, NULL, err);
		fprintf(kt->out, "  (the Lease is deleted only when its holder is gone or it expired)\n");
		k8s_lease_delete(kt, err);
		snprintf(msg, len, "dry run: the drill lock lease/%s in %s/%s would be checked",
			 kt->cfg->lease_name, r->context, r->namespace);
		if (take) {
			adopt_cordoned(kt, record);
			k8s_chaos_adopt(kt, record);
		}
		return 0;
	}
	rc = k8s_lease_get(kt, &li, &absent, err);
	if (rc != 0 && !absent)
		return dr_error_wrap(err, "cannot read the drill lock lease/%s in %s/%s",
				     kt->cfg->lease_name, r->context, r->namespace);
	gethostname(host, sizeof(host) - 1);
	memset(&f, 0, sizeof(f));
	f.holder = absent ? NULL : li.holder;
	f.renew_s = li.renew_s;
	f.duration_s = li.duration_s;
	f.now_s = clock_wall_ns() / NS_PER_SEC;
	f.recorded = json_string_value(json_object_get(record, "holder"));
	f.self = kt->holder;
	f.host = host;
	if (f.holder && k8s_holder_parse(f.holder, hhost, sizeof(hhost), &pid) == 0 &&
	    strcmp(hhost, host) == 0)
		f.holder_pid_alive = local_pid_alive(pid);
	v = k8s_lease_decide(&f, why, sizeof(why));
	if (v == K8S_LEASE_REFUSE) {
		dr_error_set(err, "%s (lease/%s in %s/%s); nothing was changed", why,
			     kt->cfg->lease_name, r->context, r->namespace);
		return TARGET_K8S_EHELD;
	}
	if (v == K8S_LEASE_RELEASE) {
		if (k8s_lease_delete(kt, err) != 0)
			return dr_error_wrap(err, "cannot release the drill lock held by %s", li.holder);
		snprintf(msg, len, "released: %s", why);
	} else {
		snprintf(msg, len, "%s", why);
	}
	if (!take)
		return 0;
	if (k8s_lease_acquire(kt, err) != 0)
		return dr_error_wrap(err, "cannot take the drill lock for the recovery");
	adopt_cordoned(kt, record);
	k8s_chaos_adopt(kt, record);
	return 0;
}

/* No state file here (another machine ran the drill, or its VM is gone):
 * the copy on the drill lock's annotations, kept in this machine's state
 * directory too from now on.  1 when it was found. */
static int adopt_lease_state(struct k8s_target *kt, json_t **state, json_t **record,
			     const char *state_path)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *cs = NULL, *cr = NULL;
	char *text;

	if (k8s_lease_cluster_state(kt, &cs, &cr, &err) != 0) {
		fprintf(stderr, "drillrig recover: warning: cannot read the undos on the drill lock: %s\n",
			err.msg);
		return 0;
	}
	if (!cs || json_array_size(json_object_get(cs, "undos")) == 0) {
		json_decref(cs);
		json_decref(cr);
		return 0;
	}
	text = json_dumps(cs, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	{
		char *dir = xstrdup(state_path), *slash = strrchr(dir, '/');

		if (slash)
			*slash = '\0';
		fs_mkdir_p_mode(dir, 0700, &err);
		free(dir);
		dr_error_clear(&err);
	}
	if (!text || fs_write_atomic_mode(state_path, text, strlen(text), 0600, &err) != 0)
		fprintf(stderr, "drillrig recover: warning: the undos stay only on the drill lock: %s\n",
			err.msg);
	free(text);
	*state = cs;
	if (!*record)
		*record = cr;
	else
		json_decref(cr);
	return 1;
}

static int usage_error(struct target_recover_args *args, const char *msg)
{
	snprintf(args->usage_error, sizeof(args->usage_error), "%s", msg);
	return EXIT_USAGE;
}

/* No pending undos: only a Lease a dead drill left can be in the way. */
static int release_stale_lock(struct target *t, json_t *record, const char *state_path,
			      const char *record_path, int dry_run)
{
	struct dr_error err = DR_ERROR_INIT;
	char msg[1024];

	if (target_k8s_recover_lock(t, record, 0, msg, sizeof(msg), &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		return EXIT_INFRA;
	}
	if (record && !dry_run)
		unlink(record_path); /* its drill finished; only its Lease was left */
	if (strncmp(msg, "released", 8) == 0)
		printf("no interrupted drill left state in '%s'; %s\n", state_path, msg);
	else
		printf("nothing to recover: no interrupted drill left state in '%s', and %s\n",
		       state_path, dry_run ? "this is a dry run" : msg);
	return EXIT_PASSED;
}

int k8s_recover(struct target_recover_args *args)
{
	const struct target_opts *o = &args->opts;
	struct dr_error err = DR_ERROR_INIT;
	struct action_ctx ctx = ACTION_CTX_INIT;
	struct target *t = NULL;
	struct journal *j = NULL;
	char *state_path = NULL, *record_path = NULL, msg[1024];
	json_t *state = NULL, *record = NULL, *uncordon = NULL;
	int code = EXIT_INFRA, locked = 0, missing = 0, no_record = 0, from_lease = 0, rc;

	if (o->cluster_dir || o->keep)
		return usage_error(args, "--cluster and --keep-cluster are for the local target, not "
				   "--target kubernetes");
	if (!o->config_path)
		return usage_error(args, "--target kubernetes needs --target-config FILE (the "
				   "configuration the drill ran with)");
	/* Loads and checks the configuration, and asks for confirmation (or
	 * needs --yes) before a single kubectl command runs. */
	rc = target_kind_kubernetes.create(&t, NULL, o, &err);
	if (rc != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		code = rc == TARGET_EUSAGE ? EXIT_USAGE : EXIT_INFRA;
		goto out;
	}
	if (target_k8s_state_path(&state_path, t, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	record_path = k8s_state_record_path(state_path);
	if (state_file_load(&state, &missing, state_path, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	if (state_file_load(&record, &no_record, record_path, &err) != 0)
		fprintf(stderr, "drillrig recover: warning: %s; the Lease holder is not known\n", err.msg);
	if (!state && !o->dry_run)
		from_lease = adopt_lease_state(t->impl, &state, &record, state_path);
	args->catch_interrupts();
	if (!state) {
		code = release_stale_lock(t, record, state_path, record_path, o->dry_run);
		goto out;
	}
	/* Settle the lock before touching anything: a live drill's is refused. */
	if (target_k8s_recover_lock(t, record, 1, msg, sizeof(msg), &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	locked = !o->dry_run;
	printf("drill lock: %s\n", msg);
	/* Our new Lease carries the undos until they ran: a recovery that is
	 * itself interrupted leaves them for the next one, on any machine. */
	if (locked) {
		char *text = json_dumps(state, JSON_COMPACT);

		k8s_state_saved_hook(t, text);
		free(text);
	}
	j = journal_new();
	ctx.journal = j;
	ctx.dry_run = o->dry_run;
	if (t->start(t, &ctx, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	printf("recovering the drill of pid %lld (plan %s%s%s) from %s\n",
	       (long long)json_integer_value(json_object_get(state, "pid")),
	       json_string_value(json_object_get(state, "plan")) ?: "?",
	       record ? ", lock holder " : "",
	       record ? json_string_value(json_object_get(record, "holder")) ?: "?" : "",
	       from_lease ? "the drill lock's copy" : state_path);
	fflush(stdout);
	if (json_array_size(json_object_get(record, "cordoned")) > 0)
		uncordon = json_pack("{s:s,s:{s:s,s:s}}", "step", "uncordon the nodes the drill cordoned",
				     "action", "action", "start", "what", "all");
	if (args->replay(t, j, state, uncordon, o->dry_run) != 0) {
		printf("not everything was restored; the state stays in %s\n", state_path);
		code = EXIT_ROLLBACK_FAILED;
		goto out;
	}
	if (o->dry_run) {
		printf("dry run: nothing ran; the state stays in %s\n", state_path);
		code = EXIT_PASSED;
		goto out;
	}
	unlink(state_path);
	unlink(record_path);
	k8s_state_saved_hook(t, NULL);
	printf("restored: the cluster is fully replicated; the drill lock is released\n");
	code = EXIT_PASSED;
out:
	if (t) {
		if (locked)
			t->unlock(t); /* uncordons what is left, then deletes our Lease */
		t->close(t, 1);
	}
	journal_free(j);
	json_decref(uncordon);
	json_decref(record);
	json_decref(state);
	free(record_path);
	free(state_path);
	return code;
}
