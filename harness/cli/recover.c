/* drillrig recover: finish the rollback of a drill whose runner died.
 *
 * A running drill keeps its pending undos and its rollback list in a state
 * file next to the drill lock (harness/run/undo_stack.h): in the cluster
 * directory for the local target, in the runner's state directory for the
 * Kubernetes target (harness/target/k8s/k8s_state.h).  recover reattaches to the
 * target, runs the pending undos newest first, then the rollback list,
 * waits for full replication, and removes the state file.  On Kubernetes it
 * also settles the drill lock (a Lease): one whose holder is gone is
 * released, a live drill's is refused (exit 3) before anything changes. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/cli/cli.h"
#include "harness/run/executor.h"
#include "harness/core/exit_codes.h"
#include "harness/core/journal.h"
#include "harness/target/k8s/k8s_state.h"
#include "harness/target/registry.h"
#include "ledger/cluster/cluster.h"

static const char recover_usage[] =
	"usage: drillrig recover --cluster DIR [--keep-cluster]\n"
	"       drillrig recover --target kubernetes --target-config FILE [--yes] [--dry-run]\n"
	"\n"
	"Finishes the rollback of a drill whose runner was killed: runs its pending\n"
	"undos (newest first) and its rollback list, waits until the cluster is fully\n"
	"replicated, and removes the drill's state file.\n"
	"\n"
	"  --cluster DIR           the local target: the state is in DIR; a cluster the\n"
	"                          interrupted drill had started itself is taken down\n"
	"                          afterwards unless --keep-cluster\n"
	"  --target kubernetes     the Kubernetes target: the state is in the runner's\n"
	"                          state directory ($DRILLRIG_STATE_DIR, else\n"
	"                          $XDG_STATE_HOME/drillrig, else ~/.local/state/drillrig),\n"
	"                          named after the drill lock's context, namespace and Lease\n"
	"  --target-config FILE    the Kubernetes target configuration the drill ran with\n"
	"  --yes                   confirm changes to live contexts without a terminal\n"
	"  --dry-run               print every kubectl command it would run; run none\n"
	"\n"
	"On Kubernetes it also uncordons the nodes the drill cordoned and releases the\n"
	"drill lock (a Lease) when its holder is gone or it expired; a Lease a live drill\n"
	"holds is left alone (exit 3, naming the holder and when it expires).  With no\n"
	"state file it only releases a stale Lease left by a dead drill on this host.\n"
	"\n"
	"exit codes: 0 restored (or nothing to do), 2 usage (or no --yes off a terminal),\n"
	"3 target unreachable or a drill still running, 5 something could not be restored.\n";


/* One action from the state file; 0 when it succeeded. */
static int run_one(struct target *t, struct journal *j, const char *label, json_t *action,
		   int dry_run)
{
	struct action_result res = ACTION_RESULT_INIT;
	struct action_ctx ctx = ACTION_CTX_INIT;
	const char *name = json_string_value(json_object_get(action, "action"));
	int64_t start = clock_mono_ns();
	int rc;

	ctx.deadline_ns = start + executor_default_timeout(action);
	ctx.interrupts = &cli_interrupts;
	ctx.interrupt_limit = 3; /* like a rollback: only a third Ctrl-C gives up */
	ctx.journal = j;
	ctx.step_name = label;
	ctx.dry_run = dry_run;
	if (!name) {
		printf("  FAIL %s: the state file has no action\n", label);
		return -1;
	}
	executor_run(t, name, action, NULL, &ctx, &res);
	rc = res.status == ACTION_OK ? 0 : -1;
	printf("  %-4s %s (%s) %.2fs: %s\n", rc ? "FAIL" : "ok", label, name,
	       (double)(clock_mono_ns() - start) / 1e9, res.message);
	fflush(stdout);
	action_result_release(&res);
	return rc;
}

/* The pending undos newest first, then the rollback list, then the final
 * wait for full replication; one failure never skips the rest.  0 when
 * everything succeeded. */
static int replay(struct target *t, struct journal *j, json_t *state, json_t *extra_undo,
		  int dry_run)
{
	json_t *undos = json_object_get(state, "undos"), *item, *wait_args;
	size_t i;
	int failed = 0;

	for (i = json_array_size(undos); i-- > 0;) {
		char *label;

		item = json_array_get(undos, i);
		label = xasprintf("undo %s", json_string_value(json_object_get(item, "step")) ?: "?");
		failed |= run_one(t, j, label, json_object_get(item, "action"), dry_run) != 0;
		free(label);
	}
	json_array_foreach(json_object_get(state, "rollback"), i, item)
		failed |= run_one(t, j, json_string_value(json_object_get(item, "step")) ?: "rollback",
				  json_object_get(item, "action"), dry_run) != 0;
	if (extra_undo)
		failed |= run_one(t, j, "uncordon the nodes the drill cordoned", extra_undo, dry_run) != 0;
	wait_args = json_pack("{s:s,s:s}", "action", "await_replicated", "timeout", "60s");
	failed |= run_one(t, j, "final check", wait_args, dry_run) != 0;
	json_decref(wait_args);
	return failed ? -1 : 0;
}

/* A JSON file, or NULL with err (a missing file is not an error: NULL, *missing). */
static json_t *load_json(const char *path, int *missing, struct dr_error *err)
{
	char *text = NULL;
	json_t *v = NULL;
	json_error_t jerr;

	*missing = !fs_exists(path);
	if (*missing)
		return NULL;
	if (fs_read_file(&text, NULL, path, 16u << 20, err) != 0)
		return NULL;
	v = json_loads(text, 0, &jerr);
	if (!v)
		dr_error_set(err, "cannot read '%s': not JSON: %s (line %d)", path, jerr.text, jerr.line);
	free(text);
	return v;
}

/* drillrig recover --target kubernetes --target-config FILE. */
static int recover_k8s(const char *config, int yes, int dry_run)
{
	struct target_opts topts = TARGET_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct target *t = NULL;
	struct journal *j = NULL;
	char *state_path = NULL, *record_path = NULL, msg[1024];
	json_t *state = NULL, *record = NULL, *uncordon = NULL;
	int code = EXIT_INFRA, locked = 0, missing = 0, no_record = 0, rc;

	topts.config_path = config;
	topts.yes = yes;
	topts.dry_run = dry_run;
	/* Loads and checks the configuration, and asks for confirmation (or
	 * needs --yes) before a single kubectl command runs. */
	rc = target_create(&t, "kubernetes", NULL, &topts, &err);
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
	state = load_json(state_path, &missing, &err);
	if (!state && !missing) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	record = load_json(record_path, &no_record, &err);
	if (!record && !no_record)
		fprintf(stderr, "drillrig recover: warning: %s; the Lease holder is not known\n", err.msg);
	cli_count_interrupts();
	if (!state) {
		/* No pending undos: only a Lease a dead drill left can be in the way. */
		rc = target_k8s_recover_lock(t, record, 0, msg, sizeof(msg), &err);
		if (rc != 0) {
			fprintf(stderr, "drillrig recover: %s\n", err.msg);
			goto out;
		}
		if (record && !dry_run)
			unlink(record_path); /* its drill finished; only its Lease was left */
		if (strncmp(msg, "released", 8) == 0)
			printf("no interrupted drill left state in '%s'; %s\n", state_path, msg);
		else
			printf("nothing to recover: no interrupted drill left state in '%s', and %s\n",
			       state_path, dry_run ? "this is a dry run" : msg);
		code = EXIT_PASSED;
		goto out;
	}
	/* Settle the lock before touching anything: a live drill's is refused. */
	rc = target_k8s_recover_lock(t, record, 1, msg, sizeof(msg), &err);
	if (rc != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	locked = !dry_run;
	printf("drill lock: %s\n", msg);
	j = journal_new();
	{
		struct action_ctx ctx = ACTION_CTX_INIT;

		ctx.journal = j;
		ctx.dry_run = dry_run;
		if (t->start(t, &ctx, &err) != 0) {
			fprintf(stderr, "drillrig recover: %s\n", err.msg);
			goto out;
		}
	}
	printf("recovering the drill of pid %lld (plan %s%s%s) from %s\n",
	       (long long)json_integer_value(json_object_get(state, "pid")),
	       json_string_value(json_object_get(state, "plan")) ?: "?",
	       record ? ", lock holder " : "",
	       record ? json_string_value(json_object_get(record, "holder")) ?: "?" : "", state_path);
	fflush(stdout);
	if (json_array_size(json_object_get(record, "cordoned")) > 0)
		uncordon = json_pack("{s:s,s:s}", "action", "start", "what", "all");
	if (replay(t, j, state, uncordon, dry_run) != 0) {
		printf("not everything was restored; the state stays in %s\n", state_path);
		code = EXIT_ROLLBACK_FAILED;
		goto out;
	}
	if (dry_run) {
		printf("dry run: nothing ran; the state stays in %s\n", state_path);
		code = EXIT_PASSED;
		goto out;
	}
	unlink(state_path);
	unlink(record_path);
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

/* drillrig recover --cluster DIR: the local target. */
static int recover_local(const char *cluster, int keep)
{
	struct target_opts topts = TARGET_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct target *t = NULL;
	struct journal *j = NULL;
	char *state_path = NULL;
	json_t *state = NULL;
	int code = EXIT_INFRA, locked = 0, missing = 0;

	state_path = xasprintf("%s/drill.state.json", cluster);
	state = load_json(state_path, &missing, &err);
	if (missing) {
		printf("nothing to recover: no interrupted drill left state in '%s'\n", cluster);
		code = EXIT_PASSED;
		goto out;
	}
	if (!state) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	topts.cluster_dir = cluster;
	if (target_create(&t, "local", NULL, &topts, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	if (t->lock(t, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	locked = 1;
	cli_count_interrupts();
	j = journal_new();
	{
		struct action_ctx ctx = ACTION_CTX_INIT;

		if (t->start(t, &ctx, &err) != 0) {
			fprintf(stderr, "drillrig recover: %s\n", err.msg);
			goto out;
		}
	}
	printf("recovering the drill of pid %lld (plan %s) in %s\n",
	       (long long)json_integer_value(json_object_get(state, "pid")),
	       json_string_value(json_object_get(state, "plan")) ?: "?", cluster);
	if (replay(t, j, state, NULL, 0) != 0) {
		printf("not everything was restored; the state stays in %s\n", state_path);
		code = EXIT_ROLLBACK_FAILED;
		goto out;
	}
	unlink(state_path);
	printf("restored: the cluster is fully replicated\n");
	code = EXIT_PASSED;
	if (json_is_true(json_object_get(json_object_get(state, "target"), "owned")) && !keep) {
		t->unlock(t);
		locked = 0;
		if (cluster_down(cluster, &err) != 0) {
			fprintf(stderr, "drillrig recover: %s\n", err.msg);
			code = EXIT_INFRA;
		} else {
			printf("the interrupted drill had started this cluster: it is down now\n");
			fs_remove_tree(cluster, &err);
		}
	}
out:
	if (t) {
		if (locked)
			t->unlock(t);
		t->close(t, 1);
	}
	journal_free(j);
	json_decref(state);
	free(state_path);
	return code;
}

int cmd_recover(int argc, char **argv)
{
	enum { O_CLUSTER = 256, O_KEEP, O_TARGET, O_TARGET_CONFIG, O_YES, O_DRY, O_HELP };
	static const struct option longopts[] = {
		{ "cluster", required_argument, NULL, O_CLUSTER },
		{ "keep-cluster", no_argument, NULL, O_KEEP },
		{ "target", required_argument, NULL, O_TARGET },
		{ "target-config", required_argument, NULL, O_TARGET_CONFIG },
		{ "yes", no_argument, NULL, O_YES },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *cluster = NULL, *target = NULL, *config = NULL;
	int keep = 0, yes = 0, dry_run = 0, c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_CLUSTER: cluster = optarg; break;
		case O_KEEP: keep = 1; break;
		case O_TARGET: target = optarg; break;
		case O_TARGET_CONFIG: config = optarg; break;
		case O_YES: yes = 1; break;
		case O_DRY: dry_run = 1; break;
		case 'h':
		case O_HELP: fputs(recover_usage, stdout); return EXIT_PASSED;
		default:
			fprintf(stderr, "drillrig recover: unknown option '%s'\n\n%s", argv[optind - 1],
				recover_usage);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "drillrig recover: unexpected argument '%s'\n\n%s", argv[optind],
			recover_usage);
		return EXIT_USAGE;
	}
	if (target && strcmp(target, "kubernetes") == 0) {
		if (cluster || keep) {
			fprintf(stderr, "drillrig recover: --cluster and --keep-cluster are for the local "
				"target, not --target kubernetes\n\n%s", recover_usage);
			return EXIT_USAGE;
		}
		if (!config) {
			fprintf(stderr, "drillrig recover: --target kubernetes needs --target-config FILE "
				"(the configuration the drill ran with)\n\n%s", recover_usage);
			return EXIT_USAGE;
		}
		return recover_k8s(config, yes, dry_run);
	}
	if (target && strcmp(target, "local") != 0) {
		fprintf(stderr, "drillrig recover: cannot recover target '%s' (local with --cluster DIR, "
			"or kubernetes with --target-config FILE)\n\n%s", target, recover_usage);
		return EXIT_USAGE;
	}
	if (!cluster || config || dry_run) {
		fprintf(stderr, "drillrig recover: %s\n\n%s",
			!cluster ? "--cluster DIR (local) or --target kubernetes --target-config FILE is required"
				 : "--target-config and --dry-run are for --target kubernetes",
			recover_usage);
		return EXIT_USAGE;
	}
	return recover_local(cluster, keep);
}
