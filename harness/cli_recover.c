/* drillrig recover: finish the rollback of a drill whose runner died.
 *
 * A running drill keeps its pending undos and its rollback list in a state
 * file next to the drill lock (harness/undo_stack.h).  recover reattaches
 * to the target, runs the pending undos newest first, then the rollback
 * list, waits for full replication, and removes the state file. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/cli.h"
#include "harness/executor.h"
#include "harness/exit_codes.h"
#include "harness/journal.h"
#include "harness/targets.h"
#include "ledger/cluster.h"

static const char recover_usage[] =
	"usage: drillrig recover --cluster DIR [--keep-cluster]\n"
	"\n"
	"Finishes the rollback of a drill whose runner was killed: runs its pending\n"
	"undos (newest first) and its rollback list, waits until the cluster is fully\n"
	"replicated, and removes the drill's state file.  A cluster the interrupted\n"
	"drill had started itself is taken down afterwards unless --keep-cluster.\n"
	"\n"
	"exit codes: 0 restored, 2 usage, 3 target unreachable or a drill still\n"
	"running, 5 something could not be restored.\n";

static volatile sig_atomic_t recover_interrupts;

static void on_signal(int sig)
{
	(void)sig;
	recover_interrupts++;
}

/* One action from the state file; 0 when it succeeded. */
static int run_one(struct target *t, struct journal *j, const char *label, json_t *action)
{
	struct action_result res = ACTION_RESULT_INIT;
	struct action_ctx ctx = ACTION_CTX_INIT;
	const char *name = json_string_value(json_object_get(action, "action"));
	int64_t start = clock_mono_ns();
	int rc;

	ctx.deadline_ns = start + executor_default_timeout(action);
	ctx.interrupts = &recover_interrupts;
	ctx.interrupt_limit = 3; /* like a rollback: only a third Ctrl-C gives up */
	ctx.journal = j;
	ctx.step_name = label;
	if (!name) {
		printf("  FAIL %s: the state file has no action\n", label);
		return -1;
	}
	executor_run(t, name, action, NULL, &ctx, &res);
	rc = res.status == ACTION_OK ? 0 : -1;
	printf("  %-4s %s (%s) %.2fs: %s\n", rc ? "FAIL" : "ok", label, name,
	       (double)(clock_mono_ns() - start) / 1e9, res.message);
	action_result_release(&res);
	return rc;
}

int cmd_recover(int argc, char **argv)
{
	enum { O_CLUSTER = 256, O_KEEP, O_HELP };
	static const struct option longopts[] = {
		{ "cluster", required_argument, NULL, O_CLUSTER },
		{ "keep-cluster", no_argument, NULL, O_KEEP },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct target_opts topts = TARGET_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct target *t = NULL;
	struct journal *j = NULL;
	const char *cluster = NULL;
	char *state_path = NULL, *text = NULL;
	json_t *state = NULL, *undos, *rollback, *item, *wait_args = NULL;
	int keep = 0, c, code = EXIT_USAGE, failed = 0, locked = 0;
	size_t i;
	struct sigaction sa;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_CLUSTER: cluster = optarg; break;
		case O_KEEP: keep = 1; break;
		case 'h':
		case O_HELP: fputs(recover_usage, stdout); return EXIT_PASSED;
		default:
			fprintf(stderr, "drillrig recover: unknown option '%s'\n\n%s", argv[optind - 1],
				recover_usage);
			return EXIT_USAGE;
		}
	}
	if (!cluster || optind != argc) {
		fprintf(stderr, "drillrig recover: --cluster DIR is required\n\n%s", recover_usage);
		return EXIT_USAGE;
	}
	state_path = xasprintf("%s/drill.state.json", cluster);
	if (!fs_exists(state_path)) {
		printf("nothing to recover: no interrupted drill left state in '%s'\n", cluster);
		code = EXIT_PASSED;
		goto out;
	}
	if (fs_read_file(&text, NULL, state_path, 16u << 20, &err) != 0 ||
	    !(state = json_loads(text, 0, NULL))) {
		fprintf(stderr, "drillrig recover: cannot read '%s': %s\n", state_path,
			err.msg[0] ? err.msg : "not JSON");
		code = EXIT_INFRA;
		goto out;
	}
	topts.cluster_dir = cluster;
	if (target_create(&t, "local", NULL, &topts, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		code = EXIT_INFRA;
		goto out;
	}
	if (t->lock(t, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		code = EXIT_INFRA;
		goto out;
	}
	locked = 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	j = journal_new();
	{
		struct action_ctx ctx = ACTION_CTX_INIT;

		if (t->start(t, &ctx, &err) != 0) {
			fprintf(stderr, "drillrig recover: %s\n", err.msg);
			code = EXIT_INFRA;
			goto out;
		}
	}
	printf("recovering the drill of pid %lld (plan %s) in %s\n",
	       (long long)json_integer_value(json_object_get(state, "pid")),
	       json_string_value(json_object_get(state, "plan")) ?: "?", cluster);
	undos = json_object_get(state, "undos");
	for (i = json_array_size(undos); i-- > 0;) {
		char *label;

		item = json_array_get(undos, i);
		label = xasprintf("undo %s", json_string_value(json_object_get(item, "step")) ?: "?");
		failed |= run_one(t, j, label, json_object_get(item, "action")) != 0;
		free(label);
	}
	rollback = json_object_get(state, "rollback");
	json_array_foreach(rollback, i, item)
		failed |= run_one(t, j, json_string_value(json_object_get(item, "step")) ?: "rollback",
				  json_object_get(item, "action")) != 0;
	wait_args = json_pack("{s:s,s:s}", "action", "await_replicated", "timeout", "60s");
	failed |= run_one(t, j, "final check", wait_args) != 0;
	if (failed) {
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
	json_decref(wait_args);
	json_decref(state);
	free(text);
	free(state_path);
	return code;
}
