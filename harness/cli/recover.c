/* drillrig recover: finish the rollback of a drill whose runner died.
 *
 * A running drill keeps its pending undos and its rollback list in a state
 * file next to the drill lock (harness/run/undo_stack.h).  Where that file
 * is, how the target is reattached and how its lock is settled is the
 * target kind's recover hook (struct target_kind); the replay itself
 * (pending undos newest first, the rollback list, a wait for full
 * replication) is here, the same for every kind. */
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
#include "harness/core/exit_codes.h"
#include "harness/core/journal.h"
#include "harness/run/executor.h"
#include "harness/target/registry.h"

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

/* The pending undos newest first, then the rollback list, then the kind's
 * extra action, then the final wait for full replication; one failure
 * never skips the rest (target_replay_fn).  0 when everything succeeded. */
static int replay(struct target *t, struct journal *j, json_t *state, json_t *extra, int dry_run)
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
	if (extra)
		failed |= run_one(t, j, json_string_value(json_object_get(extra, "step")) ?: "extra",
				  json_object_get(extra, "action"), dry_run) != 0;
	wait_args = json_pack("{s:s,s:s}", "action", "await_replicated", "timeout", "60s");
	failed |= run_one(t, j, "final check", wait_args, dry_run) != 0;
	json_decref(wait_args);
	return failed ? -1 : 0;
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
	struct target_recover_args args = { TARGET_OPTS_INIT, NULL, NULL, "" };
	const struct target_kind *kind;
	const char *target = NULL;
	int c, code;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_CLUSTER: args.opts.cluster_dir = optarg; break;
		case O_KEEP: args.opts.keep = 1; break;
		case O_TARGET: target = optarg; break;
		case O_TARGET_CONFIG: args.opts.config_path = optarg; break;
		case O_YES: args.opts.yes = 1; break;
		case O_DRY: args.opts.dry_run = 1; break;
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
	kind = target_kind_find(target ? target : "local");
	if (!kind || !kind->recover) {
		struct strbuf can = STRBUF_INIT;

		target_kind_names(&can, 1, 0);
		fprintf(stderr, "drillrig recover: cannot recover target '%s' (targets with a "
			"recovery: %s)\n\n%s", target, can.buf, recover_usage);
		strbuf_release(&can);
		return EXIT_USAGE;
	}
	args.replay = replay;
	args.catch_interrupts = cli_count_interrupts;
	code = kind->recover(&args);
	if (code == EXIT_USAGE && args.usage_error[0])
		fprintf(stderr, "drillrig recover: %s\n\n%s", args.usage_error, recover_usage);
	return code;
}
