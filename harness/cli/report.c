/* `drillrig report`: review and maintain the drill-results repository.
 *
 *   report list [--stale DUR]      history table (newest first); with --stale,
 *                                  drills with no passing run within DUR, exit 1
 *   report show RUN                a run's summary (RUN: run folder, journal.json,
 *                                  run id from `list`, or "latest")
 *   report compare RUN_A RUN_B     objectives side by side with their limits and
 *                                  deltas; warns when the runs are of different drills
 *   report push                    push runs whose push failed
 *   report publish JOURNAL         commit a journal written elsewhere
 *   report render JOURNAL DIR      write report.md, junit.xml, latency.svg, journal.json
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "harness/cli/cli.h"
#include "harness/core/exit_codes.h"
#include "reports/reports.h"

static const char report_usage[] =
	"usage: drillrig report <list|show|compare|push|publish|render> [options]\n"
	"\n"
	"  list [--stale DUR]          history table, newest first; --stale 35d lists drills\n"
	"                              without a passing run in that time or whose latest run\n"
	"                              did not pass, and exits 1 if any\n"
	"  show RUN                    summary of one run (run folder, journal.json, run id\n"
	"                              as shown by list, or 'latest')\n"
	"  compare RUN_A RUN_B         objectives and measurements side by side, each with the\n"
	"                              limit its run set, and the deltas; warns when the runs\n"
	"                              are of different drills\n"
	"  push                        push committed runs whose push failed earlier\n"
	"  publish JOURNAL [--history FILE] [--commit-history] [--fail-on-regression PCT]\n"
	"                              commit a journal.json into the results repository\n"
	"  render JOURNAL DIR          write the four artefacts of a journal into DIR\n"
	"\n"
	"options (every subcommand):\n"
	"  --results-repo PATH|URL     results repository (default ./drill-results)\n"
	"  --results-branch NAME       branch (default main)\n"
	"  --cache-dir DIR             where a remote repository is cloned\n"
	"  --push                      publish: push after committing\n"
	"\n"
	"environment: DRILLRIG_GIT_TOKEN (HTTPS token, never printed), DRILLRIG_GIT_USER,\n"
	"DRILLRIG_GIT_AUTHOR (\"Name <email>\")\n";

enum { OPT_REPO = 256, OPT_BRANCH, OPT_CACHE, OPT_PUSH, OPT_STALE, OPT_HISTORY,
       OPT_COMMIT_HISTORY, OPT_FAIL_REG, OPT_HELP };

struct report_args {
	struct results_opts ro;
	const char *stale;
	const char *history;
	int nargs;
	char **args;
};

static int parse_args(struct report_args *a, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "results-repo", required_argument, NULL, OPT_REPO },
		{ "results-branch", required_argument, NULL, OPT_BRANCH },
		{ "cache-dir", required_argument, NULL, OPT_CACHE },
		{ "push", no_argument, NULL, OPT_PUSH },
		{ "stale", required_argument, NULL, OPT_STALE },
		{ "history", required_argument, NULL, OPT_HISTORY },
		{ "commit-history", no_argument, NULL, OPT_COMMIT_HISTORY },
		{ "fail-on-regression", required_argument, NULL, OPT_FAIL_REG },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct results_opts dflt = RESULTS_OPTS_INIT;
	int c;

	memset(a, 0, sizeof(*a));
	a->ro = dflt;
	optind = 1;
	opterr = 0;
	/* Options may come before or after the run names (GNU permutation). */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_REPO: a->ro.repo = optarg; break;
		case OPT_BRANCH: a->ro.branch = optarg; break;
		case OPT_CACHE: a->ro.cache_dir = optarg; break;
		case OPT_PUSH: a->ro.push = 1; break;
		case OPT_STALE: a->stale = optarg; break;
		case OPT_HISTORY: a->history = optarg; break;
		case OPT_COMMIT_HISTORY: a->ro.commit_history = 1; break;
		case OPT_FAIL_REG:
			if (parse_double(&a->ro.fail_on_regression_pct, optarg) != 0 ||
			    a->ro.fail_on_regression_pct < 0) {
				fprintf(stderr, "drillrig report: invalid --fail-on-regression '%s'\n", optarg);
				return -1;
			}
			break;
		case 'h':
		case OPT_HELP:
			fputs(report_usage, stdout);
			return 1;
		default:
			fprintf(stderr, "drillrig report: unknown or incomplete option '%s'\n\n%s",
				argv[optind - 1], report_usage);
			return -1;
		}
	}
	a->nargs = argc - optind;
	a->args = argv + optind;
	return 0;
}

/* "35d", "12h", "2w", "90m": the staleness window in seconds. */
static int parse_window(long long *out, const char *text)
{
	char *end = NULL;
	double v;
	long long mult;

	if (!text || !*text)
		return -1;
	v = strtod(text, &end);
	if (end == text || v <= 0 || !isfinite(v))
		return -1;
	if (strcmp(end, "d") == 0) mult = 86400;
	else if (strcmp(end, "h") == 0) mult = 3600;
	else if (strcmp(end, "w") == 0) mult = 7 * 86400;
	else if (strcmp(end, "m") == 0) mult = 60;
	else if (strcmp(end, "s") == 0) mult = 1;
	else return -1;
	*out = (long long)(v * (double)mult);
	return 0;
}

static time_t parse_utc(const char *t)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (!t || !(end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm)))
		return (time_t)-1;
	return timegm(&tm);
}

static const char *jstr(const json_t *o, const char *k, const char *dflt)
{
	json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static void print_ms(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_number(v))
		printf("%-10.2f", json_number_value(v) / 1000.0);
	else
		printf("%-10s", "n/a");
}

static int report_cmd_list(struct report_args *a)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *index = NULL;
	long long window = 0;
	int rc = EXIT_INFRA, stale = 0;

	if (a->stale && parse_window(&window, a->stale) != 0) {
		fprintf(stderr, "drillrig report list: invalid --stale '%s' (like 35d, 12h, 2w)\n", a->stale);
		return EXIT_USAGE;
	}
	if (results_index_load(&index, NULL, &a->ro, &err) != 0) {
		fprintf(stderr, "drillrig report list: %s\n", err.msg);
		return EXIT_INFRA;
	}
	printf("%-20s %-24s %-11s %-8s %-10s %-10s %-10s %s\n", "DATE (UTC)", "DRILL", "TARGET",
	       "VERDICT", "RTO (s)", "RPO", "PROMO (s)", "RUN");
	for (size_t i = json_array_size(index); i-- > 0;) {
		const json_t *e = json_array_get(index, i);
		const char *t = jstr(e, "started_at", "?"), *dir = jstr(e, "dir", "?"), *st = jstr(e, "status", "?");
		json_t *rpo = json_object_get(e, "rpo_lost_writes");
		char date[20] = "";
		char upper[16];
		size_t k;

		str_copy(date, sizeof(date), t);
		if (strlen(date) > 10)
			date[10] = ' ';
		for (k = 0; st[k] && k < sizeof(upper) - 1; k++)
			upper[k] = (char)(st[k] >= 'a' && st[k] <= 'z' ? st[k] - 32 : st[k]);
		upper[k] = '\0';
		printf("%-20s %-24s %-11s %-8s ", date, jstr(e, "drill", "?"), jstr(e, "target_kind", "?"), upper);
		print_ms(e, "rto_ms");
		if (json_is_number(rpo))
			printf(" %-10.0f ", json_number_value(rpo));
		else
			printf(" %-10s ", "n/a");
		print_ms(e, "promotion_ms");
		printf(" %s\n", strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir);
	}
	rc = EXIT_PASSED;
	if (a->stale) {
		time_t now = time(NULL);
		const char **drills = xcalloc(json_array_size(index) + 1, sizeof(*drills));
		size_t nd = 0;

		for (size_t i = 0; i < json_array_size(index); i++) {
			const char *d = jstr(json_array_get(index, i), "drill", "?");
			size_t k;

			for (k = 0; k < nd && strcmp(drills[k], d) != 0; k++)
				;
			if (k == nd)
				drills[nd++] = d;
		}
		printf("\n");
		for (size_t k = 0; k < nd; k++) {
			const char *last = NULL;
			const json_t *latest = NULL;

			/* The index is oldest first: the last match is the newest. */
			for (size_t i = 0; i < json_array_size(index); i++) {
				const json_t *e = json_array_get(index, i);

				if (strcmp(jstr(e, "drill", ""), drills[k]) != 0)
					continue;
				latest = e;
				if (strcmp(jstr(e, "status", ""), "passed") == 0)
					last = jstr(e, "started_at", NULL);
			}
			/* A drill whose latest run failed is not covered, however
			 * recently it once passed. */
			if (latest && strcmp(jstr(latest, "status", ""), "passed") != 0) {
				printf("stale: %s's latest run %s (%s)%s%s\n", drills[k],
				       jstr(latest, "status", "?"), jstr(latest, "started_at", "?"),
				       last ? "; it last passed " : "; it never passed", last ? last : "");
				stale++;
			} else if (!last) {
				printf("stale: %s has never passed\n", drills[k]);
				stale++;
			} else if (parse_utc(last) == (time_t)-1 || (long long)(now - parse_utc(last)) > window) {
				printf("stale: %s last passed %s (%.0f days ago, window %s)\n", drills[k], last,
				       difftime(now, parse_utc(last)) / 86400.0, a->stale);
				stale++;
			}
		}
		if (!nd)
			printf("stale: no drill has ever run\n");
		if (stale || !nd)
			rc = EXIT_FAILED;
		else
			printf("every drill passed within %s\n", a->stale);
		free(drills);
	}
	json_decref(index);
	return rc;
}

/* RUN -> journal: a folder with journal.json, a journal file, a run id in
 * the results repository, or "latest". */
static json_t *load_run(struct report_args *a, const char *run, struct dr_error *err)
{
	json_t *index = NULL, *j = NULL;
	char repo_dir[PATH_MAX];
	char *path = NULL;
	json_error_t jerr;

	if (fs_exists(run)) {
		char *p = xasprintf("%s/journal.json", run);

		path = fs_exists(p) ? p : (free(p), xstrdup(run));
	} else {
		if (results_index_load(&index, repo_dir, &a->ro, err) != 0)
			goto out;
		for (size_t i = json_array_size(index); i-- > 0;) {
			const char *dir = jstr(json_array_get(index, i), "dir", "");
			const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;

			if (strcmp(run, "latest") == 0 || strcmp(run, dir) == 0 || strcmp(run, base) == 0) {
				path = xasprintf("%s/dr-drill-results/%s/journal.json", repo_dir, dir);
				break;
			}
		}
		if (!path) {
			dr_error_set(err, "no run '%s' in the results repository '%s'", run, repo_dir);
			goto out;
		}
	}
	j = json_load_file(path, 0, &jerr);
	if (!j)
		dr_error_set(err, "cannot read journal '%s': %s", path, jerr.text);
out:
	free(path);
	json_decref(index);
	return j;
}

static int report_cmd_show(struct report_args *a)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *j;
	char *md;

	if (a->nargs != 1) {
		fprintf(stderr, "usage: drillrig report show RUN\n");
		return EXIT_USAGE;
	}
	j = load_run(a, a->args[0], &err);
	if (!j) {
		fprintf(stderr, "drillrig report show: %s\n", err.msg);
		return EXIT_INFRA;
	}
	md = report_summary_markdown(j);
	fputs(md, stdout);
	free(md);
	json_decref(j);
	return EXIT_PASSED;
}

static const json_t *objective(const json_t *j, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(json_object_get(j, "objectives"), i, o)
		if (strcmp(jstr(o, "name", ""), name) == 0)
			return o;
	return NULL;
}

/* "<=5000", ">=99.9" (availability is the one objective that is a
 * minimum), "-" when the run set none. */
static void fmt_limit(char *buf, size_t len, const json_t *obj)
{
	json_t *v = json_object_get(obj, "limit");

	if (!json_is_number(v)) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%s%.10g", strcmp(jstr(obj, "name", ""), "availability") == 0 ? ">=" : "<=",
		 json_number_value(v));
}

/* A figure of each run with the limit that run set for it (the limits may
 * differ: compare them before the figures), then the change.  A run that
 * has the figure's object but no value did not measure it. */
static void cmp_row(const char *label, const json_t *a, const json_t *b, const char *key,
		    double scale, const char *unit, const json_t *limit_a, const json_t *limit_b)
{
	json_t *va = json_object_get(a, key), *vb = json_object_get(b, key);
	char sa[32] = "-", sb[32] = "-", la[24], lb[24], sd[40] = "";

	if (json_is_number(va))
		snprintf(sa, sizeof(sa), "%.3f", json_number_value(va) * scale);
	else if (a)
		snprintf(sa, sizeof(sa), "not measured");
	if (json_is_number(vb))
		snprintf(sb, sizeof(sb), "%.3f", json_number_value(vb) * scale);
	else if (b)
		snprintf(sb, sizeof(sb), "not measured");
	fmt_limit(la, sizeof(la), limit_a);
	fmt_limit(lb, sizeof(lb), limit_b);
	if (json_is_number(va) && json_is_number(vb)) {
		double x = json_number_value(va) * scale, y = json_number_value(vb) * scale;

		if (x != 0)
			snprintf(sd, sizeof(sd), "%+.3f (%+.1f%%)", y - x, 100.0 * (y - x) / fabs(x));
		else
			snprintf(sd, sizeof(sd), "%+.3f", y - x);
	}
	printf("%-28s %-8s %14s %-10s %14s %-10s  %s\n", label, unit, sa, la, sb, lb, sd);
}

/* Figures of two different drills (or one drill on two kinds of target)
 * side by side look comparable and are not: say so before the table. */
static void compare_warn(const json_t *ja, const json_t *jb)
{
	const char *da = jstr(json_object_get(ja, "drill"), "name", "?");
	const char *db = jstr(json_object_get(jb, "drill"), "name", "?");
	const char *ka = jstr(json_object_get(ja, "target"), "kind", "?");
	const char *kb = jstr(json_object_get(jb, "target"), "kind", "?");

	if (strcmp(da, db) != 0)
		fprintf(stderr, "drillrig report compare: warning: the runs are of different drills "
			"('%s' and '%s'): their figures are not comparable\n", da, db);
	else if (strcmp(ka, kb) != 0)
		fprintf(stderr, "drillrig report compare: warning: the runs are of drill '%s' against "
			"different targets ('%s' and '%s'): their figures are not comparable\n", da, ka, kb);
}

static int report_cmd_compare(struct report_args *a)
{
	static const struct {
		const char *label, *key, *objective, *unit;
		double scale;
		int latency;
	} rows[] = {
		{ "rto", "rto_ms", "rto", "ms", 1.0, 0 },
		{ "unavailable", "unavailable_ms", NULL, "ms", 1.0, 0 },
		{ "promotion", "promotion_ms", "promotion", "ms", 1.0, 0 },
		{ "resync", "resync_ms", "resync", "ms", 1.0, 0 },
		{ "max lag", "max_lag_ms", "max_lag", "ms", 1.0, 0 },
		{ "rpo lost writes", "rpo_lost_writes", "rpo", "writes", 1.0, 0 },
		{ "availability", "availability", "availability", "percent", 100.0, 0 },
		{ "latency p99", "p99", NULL, "ms", 1.0, 1 },
		{ "latency max", "max", NULL, "ms", 1.0, 1 },
	};
	struct dr_error err = DR_ERROR_INIT;
	json_t *ja = NULL, *jb = NULL;
	const json_t *ma, *mb;
	size_t i;
	json_t *o;
	int rc = EXIT_INFRA;

	if (a->nargs != 2) {
		fprintf(stderr, "usage: drillrig report compare RUN_A RUN_B\n");
		return EXIT_USAGE;
	}
	if (!(ja = load_run(a, a->args[0], &err)) || !(jb = load_run(a, a->args[1], &err))) {
		fprintf(stderr, "drillrig report compare: %s\n", err.msg);
		goto out;
	}
	compare_warn(ja, jb);
	printf("A: %s on %s %s %s\nB: %s on %s %s %s\n\n",
	       jstr(json_object_get(ja, "drill"), "name", "?"), jstr(json_object_get(ja, "target"), "kind", "?"),
	       jstr(ja, "started_at", "?"), jstr(ja, "status", "?"),
	       jstr(json_object_get(jb, "drill"), "name", "?"), jstr(json_object_get(jb, "target"), "kind", "?"),
	       jstr(jb, "started_at", "?"), jstr(jb, "status", "?"));
	printf("%-28s %-8s %14s %-10s %14s %-10s  %s\n", "OBJECTIVE / MEASUREMENT", "UNIT", "A", "LIMIT A",
	       "B", "LIMIT B", "DELTA (B-A)");
	json_array_foreach(json_object_get(ja, "objectives"), i, o) {
		const json_t *ob = objective(jb, jstr(o, "name", ""));
		char label[64];

		snprintf(label, sizeof(label), "%s [%s/%s]", jstr(o, "name", "?"),
			 json_is_true(json_object_get(o, "passed")) ? "pass" : "FAIL",
			 !ob ? "-" : json_is_true(json_object_get(ob, "passed")) ? "pass" : "FAIL");
		cmp_row(label, o, ob, "measured", 1.0, jstr(o, "unit", ""), o, ob);
	}
	json_array_foreach(json_object_get(jb, "objectives"), i, o) {
		if (!objective(ja, jstr(o, "name", ""))) {
			char label[64];

			snprintf(label, sizeof(label), "%s [-/%s]", jstr(o, "name", "?"),
				 json_is_true(json_object_get(o, "passed")) ? "pass" : "FAIL");
			cmp_row(label, NULL, o, "measured", 1.0, jstr(o, "unit", ""), NULL, o);
		}
	}
	ma = json_object_get(ja, "measurements");
	mb = json_object_get(jb, "measurements");
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const json_t *xa = rows[i].latency ? json_object_get(ma, "latency_ms") : ma;
		const json_t *xb = rows[i].latency ? json_object_get(mb, "latency_ms") : mb;

		cmp_row(rows[i].label, xa, xb, rows[i].key, rows[i].scale, rows[i].unit,
			rows[i].objective ? objective(ja, rows[i].objective) : NULL,
			rows[i].objective ? objective(jb, rows[i].objective) : NULL);
	}
	rc = EXIT_PASSED;
out:
	json_decref(ja);
	json_decref(jb);
	return rc;
}

static void print_outcome(const struct results_outcome *out)
{
	if (out->warning[0])
		fprintf(stderr, "drillrig: warning: %s\n", out->warning);
	if (out->committed)
		printf("committed %s in %s\n", out->commit_id, out->repo_dir);
	if (out->pushed)
		printf("pushed after %d attempt%s\n", out->push_attempts, out->push_attempts == 1 ? "" : "s");
	if (out->push_failed)
		fprintf(stderr, "drillrig: push failed, the commit stays local (retry with "
			"`drillrig report push`): %s\n", out->push_error);
}

static int report_cmd_push(struct report_args *a)
{
	struct dr_error err = DR_ERROR_INIT;
	struct results_outcome out;

	if (results_push_pending(&out, &a->ro, &err) != 0) {
		fprintf(stderr, "drillrig report push: %s\n", err.msg);
		return EXIT_INFRA;
	}
	if (out.push_attempts == 0)
		printf("nothing to push: the remote has every run\n");
	else
		print_outcome(&out);
	return EXIT_PASSED;
}

static int cmd_publish(struct report_args *a)
{
	struct dr_error err = DR_ERROR_INIT;
	struct results_outcome out;
	struct results_regression reg;
	json_error_t jerr;
	json_t *j;
	int rc = EXIT_PASSED;

	if (a->nargs != 1) {
		fprintf(stderr, "usage: drillrig report publish JOURNAL [options]\n");
		return EXIT_USAGE;
	}
	j = json_load_file(a->args[0], 0, &jerr);
	if (!json_is_object(j)) {
		fprintf(stderr, "drillrig report publish: cannot read journal '%s': %s\n", a->args[0],
			j ? "not an object" : jerr.text);
		json_decref(j);
		return EXIT_USAGE;
	}
	if (results_regression(&reg, j, &a->ro, &err) == 0) {
		json_object_set_new(j, "regression", results_regression_json(&reg));
		if (reg.regressed) {
			fprintf(stderr, "drillrig: RTO regressed: %.1f ms against a baseline of %.1f ms (%+.1f %%)\n",
				reg.rto_ms, reg.baseline_ms, reg.delta_pct);
			rc = EXIT_FAILED;
		} else if (reg.gated && !reg.computed) {
			fprintf(stderr, "drillrig: regression gate not evaluated: %d of %d comparable runs%s\n",
				reg.runs, reg.needed, isfinite(reg.rto_ms) ? "" : " (this run measured no RTO)");
		}
	} else {
		fprintf(stderr, "drillrig: warning: no regression verdict: %s\n", err.msg);
		dr_error_clear(&err);
	}
	if (results_publish(&out, j, a->history, &a->ro, &err) != 0) {
		fprintf(stderr, "drillrig report publish: %s\n", err.msg);
		json_decref(j);
		return EXIT_INFRA;
	}
	print_outcome(&out);
	if (out.push_failed)
		rc = exit_code_merge(rc, EXIT_INFRA);
	printf("%s\n", out.report_path);
	json_decref(j);
	return rc;
}

static int cmd_render(struct report_args *a)
{
	struct dr_error err = DR_ERROR_INIT;
	json_error_t jerr;
	json_t *j;
	int rc = EXIT_PASSED;

	if (a->nargs != 2) {
		fprintf(stderr, "usage: drillrig report render JOURNAL DIR\n");
		return EXIT_USAGE;
	}
	j = json_load_file(a->args[0], 0, &jerr);
	if (!json_is_object(j)) {
		fprintf(stderr, "drillrig report render: cannot read journal '%s': %s\n", a->args[0],
			j ? "not an object" : jerr.text);
		json_decref(j);
		return EXIT_USAGE;
	}
	if (report_write_artifacts(j, a->args[1], &err) != 0) {
		fprintf(stderr, "drillrig report render: %s\n", err.msg);
		rc = EXIT_INFRA;
	} else {
		printf("%s/report.md\n", a->args[1]);
	}
	json_decref(j);
	return rc;
}

int cmd_report(int argc, char **argv)
{
	struct report_args a;
	const char *sub;
	int r;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(report_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_PASSED;
	}
	sub = argv[1];
	r = parse_args(&a, argc - 1, argv + 1);
	if (r != 0)
		return r > 0 ? EXIT_PASSED : EXIT_USAGE;
	if (strcmp(sub, "list") == 0)
		return report_cmd_list(&a);
	if (strcmp(sub, "show") == 0)
		return report_cmd_show(&a);
	if (strcmp(sub, "compare") == 0)
		return report_cmd_compare(&a);
	if (strcmp(sub, "push") == 0)
		return report_cmd_push(&a);
	if (strcmp(sub, "publish") == 0)
		return cmd_publish(&a);
	if (strcmp(sub, "render") == 0)
		return cmd_render(&a);
	fprintf(stderr, "drillrig report: unknown subcommand '%s'\n\n%s", sub, report_usage);
	return EXIT_USAGE;
}
