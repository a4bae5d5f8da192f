/* drillrig run PLAN: load and check the plan, run it against its target,
 * measure, render the reports and commit them to the results repository. */
#include <getopt.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "harness/cli/cli.h"
#include "harness/cli/version.h"
#include "harness/core/exit_codes.h"
#include "harness/core/journal.h"
#include "harness/core/progress.h"
#include "harness/plan/duration.h"
#include "harness/plan/plan.h"
#include "harness/run/run_environment.h"
#include "harness/run/runner.h"
#include "harness/target/registry.h"
#include "reports/render.h"
#include "reports/reports.h"


static const char run_usage[] =
	"usage: drillrig run PLAN [options]\n"
	"\n"
	"Runs a drill plan: steady state, steps, rollback, steady state again, with a\n"
	"continuous workload measuring RTO and RPO; writes report.md, journal.json,\n"
	"junit.xml and latency.svg and commits them to the results repository.\n"
	"\n"
	"options:\n"
	"  --target KIND           local, kubernetes or etcd (default: the plan's target)\n"
	"  --target-config FILE    the target's configuration (kubernetes, etcd)\n"
	"  --api API               runbook or ledger.v1: the ledger services the drill\n"
	"                          calls (default: the plan's api, else the target's)\n"
	"  --cluster DIR           attach to a running bundled cluster instead of starting one\n"
	"  --keep-cluster          leave the bundled cluster running afterwards\n"
	"  --timing E/H            election timeout / heartbeat, e.g. 300ms/30ms\n"
	"  --baseline DURATION     steady writes before the first fault (default: the\n"
	"                          plan's workload.baseline; 0s: none)\n"
	"  --var NAME=VALUE        fill ${NAME} in the plan (repeatable; visible in ps:\n"
	"                          give secrets with --var-file or DRILLRIG_VAR_NAME)\n"
	"  --var-file NAME=PATH    fill ${NAME} with the file's content\n"
	"  --dry-run               print every action it would take; touch nothing;\n"
	"                          no verdict and no report\n"
	"  --dry-run=server        kubernetes only: also send each change with kubectl's\n"
	"                          server-side dry run (validated, never persisted)\n"
	"  --yes                   confirm a run against live infrastructure\n"
	"  --json                  one JSON event per line; the last is {\"event\":\"report\"}\n"
	"  --results-repo PATH|URL where reports are committed (default ./drill-results)\n"
	"  --results-branch NAME   branch of the results repository (default main)\n"
	"  --push                  push the results commit (token: DRILLRIG_GIT_TOKEN)\n"
	"  --commit-history        also commit history.ndjson (every write attempt)\n"
	"  --no-results            write nothing to a results repository\n"
	"  --fail-on-regression P  exit 1 when the RTO is P% worse than the recent median\n"
	"  --notify-webhook URL    post to a Slack-compatible webhook at start and end\n"
	"  --notify-webhook-file PATH  the same, the URL read from PATH (or set\n"
	"                          DRILLRIG_NOTIFY_WEBHOOK): a webhook URL is a secret\n"
	"\n";

/* The options, then the one exit-code table (harness/core/exit_codes.c). */
static void print_usage(FILE *f)
{
	fputs(run_usage, f);
	exit_codes_print(f, "  ");
}

struct run_args {
	const char *plan_path;
	struct target_opts topts;
	const char *target;
	const char *api;
	const char *timing;
	int baseline_set;
	int64_t baseline_ns;
	struct cli_vars vars;
	int json;
	int no_results;
	struct results_opts ro;
	const char *notify_url;
	char *notify_url_owned;  /* read from --notify-webhook-file */
};

static int parse_args(struct run_args *a, int argc, char **argv)
{
	enum { O_TARGET = 256, O_API, O_TCONFIG, O_CLUSTER, O_KEEP, O_TIMING, O_BASELINE, O_VAR, O_DRY,
	       O_YES, O_JSON,
	       O_REPO, O_BRANCH, O_PUSH, O_HISTORY, O_NORESULTS, O_REGRESSION, O_NOTIFY, O_HELP,
	       O_VAR_FILE, O_NOTIFY_FILE };
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, O_TARGET },
		{ "target-config", required_argument, NULL, O_TCONFIG },
		{ "api", required_argument, NULL, O_API },
		{ "cluster", required_argument, NULL, O_CLUSTER },
		{ "keep-cluster", no_argument, NULL, O_KEEP },
		{ "timing", required_argument, NULL, O_TIMING },
		{ "baseline", required_argument, NULL, O_BASELINE },
		{ "var", required_argument, NULL, O_VAR },
		{ "var-file", required_argument, NULL, O_VAR_FILE },
		{ "dry-run", optional_argument, NULL, O_DRY },
		{ "yes", no_argument, NULL, O_YES },
		{ "json", no_argument, NULL, O_JSON },
		{ "results-repo", required_argument, NULL, O_REPO },
		{ "results-branch", required_argument, NULL, O_BRANCH },
		{ "push", no_argument, NULL, O_PUSH },
		{ "commit-history", no_argument, NULL, O_HISTORY },
		{ "no-results", no_argument, NULL, O_NORESULTS },
		{ "fail-on-regression", required_argument, NULL, O_REGRESSION },
		{ "notify-webhook", required_argument, NULL, O_NOTIFY },
		{ "notify-webhook-file", required_argument, NULL, O_NOTIFY_FILE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct dr_error derr = DR_ERROR_INIT;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_TARGET: a->target = optarg; break;
		case O_TCONFIG: a->topts.config_path = optarg; break;
		case O_API: a->api = optarg; break;
		case O_CLUSTER: a->topts.cluster_dir = optarg; break;
		case O_KEEP: a->topts.keep = 1; break;
		case O_TIMING: a->timing = optarg; break;
		case O_BASELINE:
			if (duration_parse(&a->baseline_ns, optarg, &derr) != 0 || a->baseline_ns < 0) {
				fprintf(stderr, "drillrig run: --baseline: %s\n", derr.msg);
				return -1;
			}
			a->baseline_set = 1;
			break;
		case O_VAR:
			cli_vars_add(&a->vars, optarg);
			break;
		case O_VAR_FILE:
			if (cli_vars_add_file(&a->vars, optarg, &derr) != 0) {
				fprintf(stderr, "drillrig run: %s\n", derr.msg);
				return -1;
			}
			break;
		case O_DRY:
			a->topts.dry_run = 1;
			if (optarg && strcmp(optarg, "server") == 0) {
				a->topts.server_dry_run = 1;
				a->topts.dry_run = 0;
			} else if (optarg && strcmp(optarg, "client") != 0) {
				fprintf(stderr, "drillrig run: --dry-run takes no value, 'client' or 'server'\n");
				return -1;
			}
			break;
		case O_YES: a->topts.yes = 1; break;
		case O_JSON: a->json = 1; break;
		case O_REPO: a->ro.repo = optarg; break;
		case O_BRANCH: a->ro.branch = optarg; break;
		case O_PUSH: a->ro.push = 1; break;
		case O_HISTORY: a->ro.commit_history = 1; break;
		case O_NORESULTS: a->no_results = 1; break;
		case O_REGRESSION:
			if (parse_double(&a->ro.fail_on_regression_pct, optarg) != 0 ||
			    a->ro.fail_on_regression_pct < 0) {
				fprintf(stderr, "drillrig run: --fail-on-regression needs a percentage, got '%s'\n",
					optarg);
				return -1;
			}
			break;
		case O_NOTIFY: a->notify_url = optarg; break;
		case O_NOTIFY_FILE:
			free(a->notify_url_owned);
			a->notify_url_owned = cli_secret_file_read(optarg, &derr);
			if (!a->notify_url_owned) {
				fprintf(stderr, "drillrig run: --notify-webhook-file: %s\n", derr.msg);
				return -1;
			}
			a->notify_url = a->notify_url_owned;
			break;
		case 'h':
		case O_HELP:
			print_usage(stdout);
			exit(EXIT_PASSED);
		default:
			fprintf(stderr, "drillrig run: unknown option '%s'\n\n", argv[optind - 1]);
			print_usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "drillrig run: %s\n\n",
			optind >= argc ? "missing PLAN" : "only one PLAN per run");
		print_usage(stderr);
		return -1;
	}
	a->plan_path = argv[optind];
	if (!a->notify_url && getenv("DRILLRIG_NOTIFY_WEBHOOK") && getenv("DRILLRIG_NOTIFY_WEBHOOK")[0])
		a->notify_url = getenv("DRILLRIG_NOTIFY_WEBHOOK");
	return 0;
}

static json_t *vars_json(const struct plan *plan)
{
	json_t *o = json_object();

	for (size_t i = 0; i < plan->nvars; i++)
		json_object_set_new(o, plan->vars[i].name,
				    json_string(plan->vars[i].secret ? "[REDACTED]" : plan->vars[i].value));
	return o;
}

static void journal_header(struct journal *j, const struct plan *plan)
{
	char *klass = run_environment_class();

	journal_set(j, "tool", json_pack("{s:s,s:s,s:s}", "name", "drillrig",
					 "version", DRILLRIG_VERSION, "revision", drillrig_revision()));
	journal_set(j, "drill", json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", plan->name,
					  "description", plan->description ? plan->description : "",
					  "plan_path", plan->path, "plan_source", plan->source,
					  "vars", vars_json(plan)));
	journal_set(j, "runner_class", json_string(klass));
	journal_set(j, "environment", run_environment_json());
	free(klass);
}

static void notify(const char *url, json_t *message)
{
	struct dr_error err = DR_ERROR_INIT;

	if (url && message && notify_webhook(url, message, 10 * NS_PER_SEC, &err) != 0)
		fprintf(stderr, "drillrig: notification failed (the verdict is unchanged): %s\n", err.msg);
	json_decref(message);
}

/* In a GitHub Actions job, the run's summary goes on the job's page. */
static void write_step_summary(const json_t *journal)
{
	const char *path = getenv("GITHUB_STEP_SUMMARY");
	char *text;
	FILE *f;

	if (!path || !*path)
		return;
	text = report_summary_markdown(journal);
	f = fopen(path, "a");
	if (f) {
		fputs(text, f);
		fputc('\n', f);
		fclose(f);
	} else {
		fprintf(stderr, "drillrig: cannot append to $GITHUB_STEP_SUMMARY '%s'\n", path);
	}
	free(text);
}

/* Render and commit; returns the exit code contribution (0, 1 regression, 3 push). */
/* why (len bytes): what changed the exit code, if anything did. */
static int publish(struct run_args *a, json_t *journal, const char *history_path,
		   struct progress *progress, char **report_path, char *why, size_t len)
{
	struct dr_error err = DR_ERROR_INIT;
	struct results_regression reg;
	struct results_outcome outcome;
	int code = EXIT_PASSED;

	if (results_regression(&reg, journal, &a->ro, &err) == 0) {
		json_object_set_new(journal, "regression", results_regression_json(&reg));
		if (reg.regressed) {
			code = EXIT_FAILED;
			snprintf(why, len, "RTO regressed against earlier runs");
			progress_line(progress, "regression: RTO %.0f ms is %.0f%% above the median %.0f ms of the last %d runs",
				      reg.rto_ms, reg.delta_pct, reg.baseline_ms, reg.runs);
		} else if (reg.gated && !reg.computed) {
			progress_line(progress, "regression gate not evaluated: %d of %d comparable runs%s",
				      reg.runs, reg.needed, isfinite(reg.rto_ms) ? "" : " (this run measured no RTO)");
		}
	} else {
		fprintf(stderr, "drillrig: cannot compare with earlier runs: %s\n", err.msg);
	}
	if (history_path && !fs_exists(history_path))
		history_path = NULL; /* no workload ran */
	if (results_publish(&outcome, journal, history_path, &a->ro, &err) != 0) {
		fprintf(stderr, "drillrig: cannot commit the results: %s\n", err.msg);
		snprintf(why, len, "the results could not be committed");
		return EXIT_INFRA;
	}
	if (outcome.push_failed) {
		fprintf(stderr, "drillrig: the results were committed locally but not pushed: %s\n"
			"drillrig: run 'drillrig report push' to send them later\n", outcome.push_error);
		code = exit_code_merge(code, EXIT_INFRA);
		snprintf(why, len, "the results were committed but not pushed");
	}
	if (outcome.warning[0])
		fprintf(stderr, "drillrig: warning: %s\n", outcome.warning);
	progress_line(progress, "results: committed %.12s to %s%s", outcome.commit_id,
		      outcome.repo_dir, outcome.pushed ? " and pushed" : "");
	*report_path = xstrdup(outcome.report_path);
	return code;
}

/* Durations as the report shows them (fmt_ms: "613.2 ms", "1.25 s",
 * "1 min"), so the console and report.md never disagree on a figure. */
static void format_value(char *buf, size_t len, const char *unit, json_t *v)
{
	double x = json_number_value(v);

	if (!json_is_number(v)) {
		snprintf(buf, len, "n/a");
	} else if (strcmp(unit, "ms") == 0) {
		struct strbuf sb = STRBUF_INIT;

		fmt_ms(&sb, x);
		snprintf(buf, len, "%s", sb.buf);
		strbuf_release(&sb);
	} else if (strcmp(unit, "percent") == 0)
		snprintf(buf, len, "%.2f%%", x);
	else
		snprintf(buf, len, "%.0f %s", x, unit);
}

/* One line per objective: what was measured against what was promised. */
static void print_objectives(struct progress *progress, struct journal *j)
{
	json_t *objectives = journal_get(j, "objectives"), *o;
	size_t i;

	json_array_foreach(objectives, i, o) {
		const char *unit = json_string_value(json_object_get(o, "unit")) ?: "";
		const char *msg = json_string_value(json_object_get(o, "message"));
		char measured[48], limit[48];

		format_value(measured, sizeof(measured), unit, json_object_get(o, "measured"));
		format_value(limit, sizeof(limit), unit, json_object_get(o, "limit"));
		progress_line(progress, "  %-4s %-12s %10s   limit %s%s%s",
			      json_is_true(json_object_get(o, "passed")) ? "ok" : "FAIL",
			      json_string_value(json_object_get(o, "name")) ?: "?", measured, limit,
			      msg ? "  " : "", msg ? msg : "");
	}
}

/* A dry run's last line: it ran no drill, so it passes no verdict. */
static void print_dry_run_end(struct progress *progress, const struct run_args *a, int code,
			      const char *reason)
{
	const char *kind = a->topts.server_dry_run ? "server dry run" : "dry run";

	if (code == EXIT_PASSED)
		progress_line(progress, "%s complete (exit 0): nothing was %s", kind,
			      a->topts.server_dry_run ? "persisted" : "touched");
	else
		progress_line(progress, "%s stopped (exit %d)%s%s", kind, code, reason[0] ? ": " : "",
			      reason);
}

/* The plan, checked; its warnings printed.  0, or -1 after printing why. */
static int load_plan(struct plan **plan, const struct run_args *a)
{
	struct plan_load_opts lo = PLAN_LOAD_OPTS_INIT;
	struct plan_diags diags = PLAN_DIAGS_INIT;
	int rc;

	lo.targets = target_registry;
	lo.target = a->target;
	lo.api = a->api;
	lo.vars = a->vars.kv;
	lo.nvars = a->vars.n;
	lo.flags |= PLAN_LOAD_VARS_FROM_ENV;
	lo.timing = a->timing;
	rc = plan_load(plan, a->plan_path, &lo, &diags);
	plan_diags_print(stderr, &diags);
	if (rc != 0)
		fprintf(stderr, "drillrig run: '%s' is not a valid plan (%zu error%s)\n", a->plan_path,
			diags.errors, diags.errors == 1 ? "" : "s");
	plan_diags_release(&diags);
	return rc;
}

/* A run directory for the write history (the report lands beside it when
 * there is no results repository).  NULL after printing why. */
static char *make_run_dir(void)
{
	char *dir = xstrdup("/tmp/drillrig-run-XXXXXX");

	if (mkdtemp(dir))
		return dir;
	fprintf(stderr, "drillrig run: cannot create a temporary directory\n");
	free(dir);
	return NULL;
}

/* After the drill: the redacted journal becomes the report, committed to
 * the results repository (or left in the run directory with
 * --no-results); the webhook and the CI step summary hear the end.
 * Returns the exit code merged with the publication's; *tmpdir is kept
 * (set to NULL) when the report stays in it. */
/* The report written into the run's temporary folder, which then stays
 * (*tmpdir NULL): --no-results, or a commit that failed.  -1 when it could
 * not be written (said on stderr). */
static int keep_report(const json_t *journal, char **tmpdir, char **report_path)
{
	struct dr_error err = DR_ERROR_INIT;
	char *dir = xasprintf("%s/report", *tmpdir);
	int rc = report_write_artifacts(journal, dir, &err);

	if (rc == 0) {
		*report_path = xasprintf("%s/%s", dir, REPORT_FILE_MARKDOWN);
		free(*tmpdir);
		*tmpdir = NULL;
	} else {
		fprintf(stderr, "drillrig run: %s\n", err.msg);
	}
	free(dir);
	return rc;
}

/* "artifacts": the files written beside journal.json, by name, so a script
 * reading the journal finds them; history.ndjson only when it is kept
 * there (a published run with a workload). */
static void set_artifacts(json_t *journal, int with_history)
{
	json_object_set_new(journal, "artifacts",
			    json_pack("{s:s?,s:s,s:s,s:s}",
				      "history", with_history ? REPORT_FILE_HISTORY : NULL,
				      "report", REPORT_FILE_MARKDOWN, "junit", REPORT_FILE_JUNIT,
				      "chart", REPORT_FILE_CHART));
}

static int deliver(struct run_args *a, const struct plan *plan, struct journal *j,
		   const char *history_path, struct progress *progress, char **tmpdir,
		   char **report_path, int code, char *why, size_t why_len)
{
	json_t *raw = journal_snapshot(j);
	/* One last pass: commands and probe details may quote a secret. */
	json_t *journal = plan_redact_json(plan, raw);

	json_decref(raw);
	if (!a->no_results) {
		set_artifacts(journal, history_path && fs_exists(history_path));
		code = exit_code_merge(code, publish(a, journal, history_path, progress, report_path,
						     why, why_len));
		/* Not committed: the report is kept where it can be found,
		 * without the history (nothing copies it there). */
		if (!*report_path) {
			set_artifacts(journal, 0);
			if (keep_report(journal, tmpdir, report_path) == 0)
				fprintf(stderr, "drillrig: the report was not committed; it is kept in %.*s\n",
					(int)(strrchr(*report_path, '/') - *report_path), *report_path);
		}
	} else {
		/* No results repository: no earlier runs to compare with, and
		 * the history is not kept. */
		json_object_set_new(journal, "regression", json_null());
		set_artifacts(journal, 0);
		keep_report(journal, tmpdir, report_path);
	}
	notify(a->notify_url, notify_end_message(journal));
	write_step_summary(journal);
	json_decref(journal);
	return code;
}

/* "verdict: STATUS (exit CODE): REASON; AFTER", CODE being the exit code
 * the process ends with and AFTER what changed it after the drill (a
 * regression, a commit or push that failed), "" when nothing did. */
static void print_verdict(struct progress *progress, const struct runner_result *result,
			  int code, const char *after)
{
	struct strbuf why = STRBUF_INIT;

	strbuf_adds(&why, result->reason);
	if (after[0])
		strbuf_addf(&why, "%s%s", why.len ? "; " : "", after);
	progress_line(progress, "verdict: %s (exit %d)%s%s", result->status, code,
		      why.len ? ": " : "", why.len ? why.buf : "");
	strbuf_release(&why);
}

/* The last line: where the report is (a JSON event with --json). */
static void announce_report(const struct run_args *a, struct progress *progress,
			    const char *report_path, int code, const char *status)
{
	json_t *ev;

	if (!a->json) {
		printf("%s\n", report_path);
		return;
	}
	ev = json_pack("{s:s,s:s,s:i,s:s}", "event", "report", "path", report_path, "exit_code",
		       code, "status", status);
	progress_json(progress, ev);
	json_decref(ev);
}

int cmd_run(int argc, char **argv)
{
	struct run_args a;
	struct results_opts ro_init = RESULTS_OPTS_INIT;
	struct target_opts to_init = TARGET_OPTS_INIT;
	struct runner_opts ropts = RUNNER_OPTS_INIT;
	struct runner_result result;
	struct dr_error err = DR_ERROR_INIT;
	struct plan *plan = NULL;
	struct target *t = NULL;
	struct journal *j = NULL;
	struct progress *progress = NULL;
	char *history_path = NULL, *report_path = NULL, *tmpdir = NULL;
	int code = EXIT_USAGE, rc, dry;

	memset(&a, 0, sizeof(a));
	a.ro = ro_init;
	a.topts = to_init;
	if (parse_args(&a, argc, argv) != 0 || load_plan(&plan, &a) != 0)
		goto out;
	progress = progress_new(stdout, a.json ? PROGRESS_JSON : PROGRESS_PLAIN);
	/* Either dry run measures nothing: no history, no webhook, no report. */
	dry = a.topts.dry_run || a.topts.server_dry_run;
	rc = target_create(&t, plan->target, plan, &a.topts, &err);
	if (rc != 0) {
		fprintf(stderr, "drillrig run: %s\n", err.msg);
		/* A usage error (TARGET_EUSAGE) touched nothing: exit 2. */
		code = rc == TARGET_EUSAGE ? EXIT_USAGE : EXIT_INFRA;
		goto out;
	}
	/* A drill whose report cannot be committed is found out before its
	 * first fault, not after the whole drill. */
	if (!dry && !a.no_results && results_check(&a.ro, &err) != 0) {
		fprintf(stderr, "drillrig run: %s\ndrillrig run: nothing was run; fix the results "
			"repository, or run with --no-results\n", err.msg);
		code = EXIT_INFRA;
		goto out;
	}
	cli_count_interrupts();
	j = journal_new();
	if (a.json)
		journal_set_listener(j, progress_journal_listener, progress);
	journal_header(j, plan);
	progress_line(progress, "drill %s (%s)%s", plan->name, plan->path,
		      a.topts.dry_run ? ": dry run, nothing is touched"
		      : a.topts.server_dry_run ? ": server dry run, nothing is persisted" : "");
	if (!dry) {
		if (!(tmpdir = make_run_dir())) {
			code = EXIT_INFRA;
			goto out;
		}
		history_path = xasprintf("%s/%s", tmpdir, REPORT_FILE_HISTORY);
	}
	ropts.dry_run = a.topts.dry_run;
	ropts.server_dry_run = a.topts.server_dry_run;
	ropts.progress = progress;
	ropts.interrupts = &cli_interrupts;
	ropts.history_path = history_path;
	ropts.baseline_set = a.baseline_set;
	ropts.baseline_ns = a.baseline_ns;
	if (a.notify_url && !dry) {
		json_t *snap = journal_snapshot(j);

		notify(a.notify_url, notify_start_message(snap));
		json_decref(snap);
	}
	runner_run(&result, plan, t, j, &ropts);
	code = result.exit_code;
	{
		/* A cluster the drill started goes down with it: nothing is
		 * left to recover there. */
		json_t *desc = t->describe(t);
		int goes_down = json_is_true(json_object_get(desc, "owned"));

		json_decref(desc);
		if (result.state_kept[0] && !goes_down) {
			json_t *ev = json_pack("{s:s,s:s,s:s}", "event", "recover_needed",
					       "state_file", result.state_kept, "message",
					       "the rollback did not finish: run 'drillrig recover'");

			progress_line(progress, "the rollback did not finish: what it left is in %s; "
				      "run 'drillrig recover' (docs/cli.md)", result.state_kept);
			progress_json(progress, ev);
			json_decref(ev);
		}
	}
	t->close(t, a.topts.keep);
	t = NULL;
	print_objectives(progress, j);
	if (dry) {
		print_dry_run_end(progress, &a, code, result.reason);
	} else {
		/* The verdict line names the exit code the process ends with:
		 * after the results are committed (or could not be). */
		char why[256] = "";

		code = deliver(&a, plan, j, history_path, progress, &tmpdir, &report_path, code, why,
			       sizeof(why));
		print_verdict(progress, &result, code, code != result.exit_code ? why : "");
	}
	if (report_path)
		announce_report(&a, progress, report_path, code, result.status);
out:
	if (t)
		t->close(t, a.topts.keep);
	if (history_path)
		unlink(history_path);
	if (tmpdir)
		rmdir(tmpdir);
	free(history_path);
	free(tmpdir);
	free(report_path);
	journal_free(j);
	progress_free(progress);
	plan_free(plan);
	cli_vars_release(&a.vars);
	free(a.notify_url_owned);
	return code;
}
