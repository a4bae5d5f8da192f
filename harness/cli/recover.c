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
#include "harness/plan/vars.h"
#include "harness/run/executor.h"
#include "harness/target/registry.h"
#include "reports/redact.h"

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
	"  --var NAME=VALUE, --var-file NAME=PATH\n"
	"                          a secret variable the drill's undos use: the state\n"
	"                          file keeps ${NAME}, never the value (DRILLRIG_VAR_NAME\n"
	"                          in the environment works too)\n"
	"\n"
	"On Kubernetes it also uncordons the nodes the drill cordoned and releases the\n"
	"drill lock (a Lease) when its holder is gone or it expired; a Lease a live drill\n"
	"holds is left alone (exit 3, naming the holder and when it expires).  With no\n"
	"state file it only releases a stale Lease left by a dead drill on this host.\n"
	"\n"
	"exit codes: 0 restored (or nothing to do), 2 usage (or no --yes off a terminal),\n"
	"3 target unreachable or a drill still running, 5 something could not be restored.\n";


/* The secret variables the state file names ("secret_vars"), with the
 * values recover was given: filled into the undos before they run, and
 * redacted from everything recover prints.  Set by cmd_recover. */
static struct cli_vars recover_cli;
static struct plan_var *secrets;
static size_t nsecrets;

static void secrets_release(void)
{
	for (size_t i = 0; i < nsecrets; i++) {
		free(secrets[i].name);
		if (secrets[i].value)
			memset(secrets[i].value, 0, strlen(secrets[i].value));
		free(secrets[i].value);
	}
	free(secrets);
	secrets = NULL;
	nsecrets = 0;
}

/* Each name of the state's "secret_vars" with its value from --var or
 * --var-file (the last one given), else DRILLRIG_VAR_<name>; a name with
 * no value is left out (an undo that uses it cannot be filled). */
static void secrets_load(const json_t *state)
{
	json_t *name;
	size_t i;

	secrets_release();
	json_array_foreach(json_object_get(state, "secret_vars"), i, name) {
		const char *n = json_string_value(name), *value = NULL;
		char *env;

		if (!n)
			continue;
		for (size_t k = 0; k < recover_cli.n; k++) {
			const char *kv = recover_cli.kv[k];
			size_t l = strlen(n);

			if (strncmp(kv, n, l) == 0 && kv[l] == '=')
				value = kv + l + 1;
		}
		env = xasprintf("DRILLRIG_VAR_%s", n);
		if (!value)
			value = getenv(env);
		free(env);
		if (!value)
			continue;
		secrets = xrealloc(secrets, (nsecrets + 1) * sizeof(*secrets));
		memset(&secrets[nsecrets], 0, sizeof(*secrets));
		secrets[nsecrets].name = xstrdup(n);
		secrets[nsecrets].value = xstrdup(value);
		secrets[nsecrets++].secret = 1;
		/* whatever a target prints of the filled undos (a dry run's
		 * commands) goes through the process-wide redaction */
		redact_add_secret(value);
	}
}

/* The state's undos and rollback list with the secrets filled in (a new
 * state), or NULL after printing which variable is missing. */
static json_t *fill_secrets(json_t *state)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *filled = json_deep_copy(state), *undos, *rollback;

	/* A state file written before secrets were kept out holds its
	 * strings as they ran. */
	if (!json_is_true(json_object_get(state, "vars_escaped")))
		return filled;
	secrets_load(state);
	undos = vars_expand_json(json_object_get(state, "undos"), secrets, nsecrets, &err);
	rollback = undos ? vars_expand_json(json_object_get(state, "rollback"), secrets, nsecrets,
					    &err) : NULL;
	if (!undos || !rollback) {
		struct strbuf missing = STRBUF_INIT;
		json_t *name;
		size_t i;

		json_array_foreach(json_object_get(state, "secret_vars"), i, name) {
			int given = 0;

			for (size_t k = 0; k < nsecrets; k++)
				given |= strcmp(secrets[k].name, json_string_value(name) ?: "") == 0;
			if (!given && json_string_value(name))
				strbuf_addf(&missing, "%s${%s}", missing.len ? ", " : "",
					    json_string_value(name));
		}
		printf("  FAIL the drill's undos use secret variables that were not given (%s); "
		       "give each with --var-file NAME=PATH, --var NAME=VALUE or DRILLRIG_VAR_NAME: "
		       "the state file keeps ${NAME}, never the value. Nothing was run.\n",
		       missing.len ? missing.buf : err.msg);
		strbuf_release(&missing);
		json_decref(undos);
		json_decref(filled);
		return NULL;
	}
	json_object_set_new(filled, "undos", undos);
	json_object_set_new(filled, "rollback", rollback);
	return filled;
}

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
	{
		char *msg = vars_redact(res.message, secrets, nsecrets);

		printf("  %-4s %s (%s) %.2fs: %s\n", rc ? "FAIL" : "ok", label, name,
		       (double)(clock_mono_ns() - start) / 1e9, msg);
		free(msg);
	}
	fflush(stdout);
	action_result_release(&res);
	return rc;
}

/* The pending undos newest first, then the rollback list, then the kind's
 * extra action, then the final wait for full replication; one failure
 * never skips the rest (target_replay_fn).  0 when everything succeeded. */
static int replay(struct target *t, struct journal *j, json_t *saved, json_t *extra, int dry_run)
{
	json_t *state = fill_secrets(saved), *undos, *item, *wait_args;
	size_t i;
	int failed = 0;

	if (!state)
		return -1;
	undos = json_object_get(state, "undos");

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
	json_decref(state);
	return failed ? -1 : 0;
}

int cmd_recover(int argc, char **argv)
{
	enum { O_CLUSTER = 256, O_KEEP, O_TARGET, O_TARGET_CONFIG, O_YES, O_DRY, O_HELP, O_VAR,
	       O_VAR_FILE };
	static const struct option longopts[] = {
		{ "cluster", required_argument, NULL, O_CLUSTER },
		{ "keep-cluster", no_argument, NULL, O_KEEP },
		{ "target", required_argument, NULL, O_TARGET },
		{ "target-config", required_argument, NULL, O_TARGET_CONFIG },
		{ "yes", no_argument, NULL, O_YES },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "var", required_argument, NULL, O_VAR },
		{ "var-file", required_argument, NULL, O_VAR_FILE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct target_recover_args args = { TARGET_OPTS_INIT, NULL, NULL, "" };
	const struct target_kind *kind;
	const char *target = NULL;
	struct dr_error err = DR_ERROR_INIT;
	int c, code = EXIT_USAGE;

	optind = 1;
	opterr = 0;
	memset(&recover_cli, 0, sizeof(recover_cli));
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_VAR:
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fprintf(stderr, "drillrig recover: --var: expected NAME=VALUE, got '%s'\n",
					optarg);
				goto out;
			}
			cli_vars_add(&recover_cli, optarg);
			break;
		case O_VAR_FILE:
			if (cli_vars_add_file(&recover_cli, optarg, &err) != 0) {
				fprintf(stderr, "drillrig recover: %s\n", err.msg);
				goto out;
			}
			break;
		case O_CLUSTER: args.opts.cluster_dir = optarg; break;
		case O_KEEP: args.opts.keep = 1; break;
		case O_TARGET: target = optarg; break;
		case O_TARGET_CONFIG: args.opts.config_path = optarg; break;
		case O_YES: args.opts.yes = 1; break;
		case O_DRY: args.opts.dry_run = 1; break;
		case 'h':
		case O_HELP:
			fputs(recover_usage, stdout);
			code = EXIT_PASSED;
			goto out;
		default:
			fprintf(stderr, "drillrig recover: unknown option '%s'\n\n%s", argv[optind - 1],
				recover_usage);
			goto out;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "drillrig recover: unexpected argument '%s'\n\n%s", argv[optind],
			recover_usage);
		goto out;
	}
	kind = target_kind_find(target ? target : "local");
	if (!kind || !kind->recover) {
		struct strbuf can = STRBUF_INIT;

		target_kind_names(&can, 1, 0);
		fprintf(stderr, "drillrig recover: cannot recover target '%s' (targets with a "
			"recovery: %s)\n\n%s", target, can.buf, recover_usage);
		strbuf_release(&can);
		goto out;
	}
	args.replay = replay;
	args.catch_interrupts = cli_count_interrupts;
	code = kind->recover(&args);
	if (code == EXIT_USAGE && args.usage_error[0])
		fprintf(stderr, "drillrig recover: %s\n\n%s", args.usage_error, recover_usage);
out:
	secrets_release();
	cli_vars_release(&recover_cli);
	return code;
}
