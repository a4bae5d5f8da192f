/* The git store against real repositories: a fresh `git init`, a bare
 * repository as a local remote with push, a run pushed later after another
 * clone moved the remote, the history table, the regression verdict, and
 * `git fsck` / `git status` / `git log` on everything produced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "reports/reports.h"

static char *tmp_root;

static char *src_path(const char *rel)
{
	const char *src = getenv("DRILLRIG_SRC");

	return xasprintf("%s/%s", src && *src ? src : ".", rel);
}

static json_t *fixture(const char *name)
{
	char *rel = xasprintf("tests/data/journals/%s.json", name), *path = src_path(rel);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j)
		fail_msg("cannot load '%s': %s", path, jerr.text);
	free(rel);
	free(path);
	return j;
}

/* A variant of a fixture at another time with another RTO. */
static json_t *variant(const char *name, const char *started_at, double rto_ms)
{
	json_t *j = fixture(name);

	json_object_set_new(j, "started_at", json_string(started_at));
	json_object_set_new(json_object_get(j, "measurements"), "rto_ms", json_real(rto_ms));
	return j;
}

/* Run git with argv; returns stdout (heap) and fails the test on a non-zero
 * exit unless allow_fail. */
static char *git_out(int allow_fail, const char *first, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;
	struct proc_result res;
	struct dr_error err = DR_ERROR_INIT;
	char *out;

	argv[n++] = (char *)"git";
	argv[n++] = (char *)first;
	va_start(ap, first);
	while (n < 31 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	memset(&res, 0, sizeof(res));
	if (proc_run(&res, argv, NULL, 30 * INT64_C(1000000000), 1 << 20, &err) != 0)
		fail_msg("cannot run git: %s", err.msg);
	if (!allow_fail && (!res.exited || res.exit_code != 0))
		fail_msg("git %s failed (exit %d): %s", first, res.exit_code, res.errout);
	out = xstrdup(res.exited && res.exit_code == 0 ? res.out : "");
	proc_result_release(&res);
	return out;
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* Fails unless s holds both texts, first before then: a missing text is a
 * failure of its own, never a NULL that compares as earlier. */
static void assert_text_before(const char *s, const char *first, const char *then)
{
	const char *a = strstr(s, first), *b = strstr(s, then);

	if (!a)
		fail_msg("'%s' is missing from:\n%s", first, s);
	if (!b)
		fail_msg("'%s' is missing from:\n%s", then, s);
	if (a >= b)
		fail_msg("'%s' comes after '%s' in:\n%s", first, then, s);
}

static void assert_clean_and_fsck(const char *repo)
{
	char *st = git_out(0, "-C", repo, "status", "--porcelain", "--untracked-files=all", NULL);
	char *fsck = git_out(0, "-C", repo, "fsck", "--strict", "--no-dangling", NULL);

	if (st[0])
		fail_msg("work tree of '%s' does not match the commit:\n%s", repo, st);
	free(st);
	free(fsck);
}

static char *mkpath(const char *name)
{
	return xasprintf("%s/%s", tmp_root, name);
}

static int setup(void **state)
{
	char tmpl[] = "/dev/shm/dr-gitstore-XXXXXX";
	char tmpl2[] = "/tmp/dr-gitstore-XXXXXX";
	char *d = mkdtemp(tmpl);

	(void)state;
	if (!d)
		d = mkdtemp(tmpl2);
	assert_non_null(d);
	tmp_root = xstrdup(d);
	/* Tests must not depend on the caller's git identity or cache. */
	setenv("DRILLRIG_GIT_AUTHOR", "Drill Bot <drill-bot@example.com>", 1);
	unsetenv("DRILLRIG_GIT_TOKEN");
	return 0;
}

static int teardown(void **state)
{
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	fs_remove_tree(tmp_root, &err);
	free(tmp_root);
	return 0;
}

static void publish_ok(struct results_outcome *out, json_t *j, const struct results_opts *o,
		       const char *history)
{
	struct dr_error err = DR_ERROR_INIT;

	if (results_publish(out, j, history, o, &err) != 0)
		fail_msg("results_publish: %s", err.msg);
	assert_true(out->committed);
	assert_int_equal(strlen(out->commit_id), 40);
}

static void test_fresh_init_history_grows(void **state)
{
	char *repo = mkpath("fresh/results");
	struct results_opts o = RESULTS_OPTS_INIT;
	struct results_outcome out;
	struct dr_error err = DR_ERROR_INIT;
	const char *names[] = { "passed", "failed-lost-write", "aborted", "kubernetes" };
	char *readme_path = xasprintf("%s/dr-drill-results/README.md", repo), *readme = NULL, *log, *head;

	(void)state;
	o.repo = repo;
	for (int i = 0; i < 4; i++) {
		json_t *j = fixture(names[i]);

		publish_ok(&out, j, &o, NULL);
		assert_true(fs_exists(out.report_path));
		assert_false(out.pushed);
		/* The caller's journal gets the earlier runs the committed
		 * report compares with (its step summary must agree). */
		if (i == 1) {
			const json_t *prev = json_object_get(json_object_get(j, "earlier_runs"), "previous");
			char *md = NULL;

			assert_string_equal(json_string_value(json_object_get(prev, "status")), "passed");
			assert_int_equal(fs_read_file(&md, NULL, out.report_path, 1 << 20, &err), 0);
			assert_non_null(strstr(md, "| RTO | 2.42 s | 5.00 s | 1.42 s | +1.00 s (+70.4 %) |"));
			free(md);
		}
		json_decref(j);
		assert_int_equal(fs_read_file(&readme, NULL, readme_path, 1 << 20, &err), 0);
		/* One row per run: every row links its report. */
		assert_int_equal(count_lines(readme, "/report.md) |"), i + 1);
		free(readme);
		assert_clean_and_fsck(repo);
	}
	assert_int_equal(fs_read_file(&readme, NULL, readme_path, 1 << 20, &err), 0);
	/* Newest first: the December kubernetes run before the November ones. */
	assert_text_before(readme, "2026-12-01 03:00:00 UTC", "2026-11-28 03:00:05 UTC");
	assert_text_before(readme, "2026-11-28 03:00:05 UTC", "2026-11-27 16:10:00 UTC");
	assert_non_null(strstr(readme, "| 1 write (0.01 s) |"));
	free(readme);
	log = git_out(0, "-C", repo, "log", "--format=%an <%ae>|%s", NULL);
	assert_int_equal(count_lines(log, "Drill Bot <drill-bot@example.com>|drill: "), 4);
	assert_non_null(strstr(log, "drill: region-failover PASSED rto=1.42s rpo=0"));
	assert_non_null(strstr(log, "drill: region-failover FAILED rto=2.42s rpo=1"));
	assert_non_null(strstr(log, "drill: region-failover ABORTED rto=n/a rpo=0"));
	free(log);
	/* Publishing the same run again is refused and changes nothing. */
	head = git_out(0, "-C", repo, "rev-parse", "HEAD", NULL);
	{
		json_t *j = fixture("passed");
		char *head2;

		assert_int_equal(results_publish(&out, j, NULL, &o, &err), -1);
		assert_non_null(strstr(err.msg, "already in the results repository"));
		assert_null(json_object_get(j, "earlier_runs"));
		head2 = git_out(0, "-C", repo, "rev-parse", "HEAD", NULL);
		assert_string_equal(head, head2);
		free(head2);
		json_decref(j);
	}
	assert_clean_and_fsck(repo);
	free(head);
	free(readme_path);
	free(repo);
}

/* Two runs of one drill that started in the same second (issue 17: the
 * second's passing report was refused, exit 3): each has its own folder,
 * named by its run id; a journal without a run id keeps the old name. */
static void test_same_second_runs_both_land(void **state)
{
	char *repo = mkpath("same-second/results");
	struct results_opts o = RESULTS_OPTS_INIT;
	struct results_outcome a, b;
	json_t *j1 = fixture("passed"), *j2 = fixture("passed");

	(void)state;
	o.repo = repo;
	json_object_set_new(j1, "run_id", json_string("aaaaaa111111"));
	json_object_set_new(j2, "run_id", json_string("bbbbbb222222"));
	publish_ok(&a, j1, &o, NULL);
	publish_ok(&b, j2, &o, NULL);
	assert_string_not_equal(a.report_path, b.report_path);
	assert_non_null(strstr(a.report_path, "-region-failover-aaaaaa/report.md"));
	assert_non_null(strstr(b.report_path, "-region-failover-bbbbbb/report.md"));
	assert_true(fs_exists(a.report_path));
	assert_true(fs_exists(b.report_path));
	assert_clean_and_fsck(repo);
	json_decref(j1);
	json_decref(j2);
	free(repo);
}

static void test_history_stays_local_unless_asked(void **state)
{
	char *repo = mkpath("hist"), *hist = mkpath("history.ndjson"), *files, *st;
	static const char lines[] = "{\"seq\":1,\"ok\":true}\n{\"seq\":2,\"ok\":false}\n";
	struct results_opts o = RESULTS_OPTS_INIT;
	struct results_outcome out;
	struct dr_error err = DR_ERROR_INIT;
	json_t *j = fixture("passed"), *k = fixture("failed-lost-write");
	char *copy;

	(void)state;
	assert_int_equal(fs_write_atomic(hist, lines, strlen(lines), &err), 0);
	o.repo = repo;
	publish_ok(&out, j, &o, hist);
	copy = xasprintf("%s/history.ndjson", out.run_dir);
	assert_true(fs_exists(copy));
	free(copy);
	files = git_out(0, "-C", repo, "ls-files", NULL);
	assert_null(strstr(files, "history.ndjson"));
	free(files);
	st = git_out(0, "-C", repo, "status", "--porcelain", NULL);
	assert_string_equal(st, ""); /* ignored, not untracked noise */
	free(st);
	o.commit_history = 1;
	publish_ok(&out, k, &o, hist);
	files = git_out(0, "-C", repo, "ls-files", NULL);
	assert_int_equal(count_lines(files, "history.ndjson"), 1);
	free(files);
	assert_clean_and_fsck(repo);
	json_decref(j);
	json_decref(k);
	free(hist);
	free(repo);
}

static void test_bare_remote_push_and_pending(void **state)
{
	char *bare = mkpath("remote.git"), *c1 = mkpath("cache1"), *c2 = mkpath("cache2"), *log, *idx;
	struct results_opts o1 = RESULTS_OPTS_INIT, o2 = RESULTS_OPTS_INIT;
	struct results_outcome out;
	struct dr_error err = DR_ERROR_INIT;
	json_t *a = fixture("passed"), *b = fixture("failed-lost-write"), *c = fixture("aborted"),
	       *d = fixture("kubernetes");

	(void)state;
	free(git_out(0, "init", "-q", "--bare", bare, NULL));
	o1.repo = o2.repo = bare;
	o1.cache_dir = c1;
	o2.cache_dir = c2;
	o1.push = 1;
	publish_ok(&out, a, &o1, NULL);
	assert_true(out.pushed);
	assert_false(out.push_failed);
	publish_ok(&out, b, &o1, NULL);
	assert_true(out.pushed);
	/* Clone 2 commits without pushing (a push that failed) ... */
	publish_ok(&out, c, &o2, NULL);
	assert_false(out.pushed);
	/* ... clone 1 moves the remote meanwhile ... */
	publish_ok(&out, d, &o1, NULL);
	assert_true(out.pushed);
	/* ... and `report push` rebuilds clone 2's run on the new tip. */
	if (results_push_pending(&out, &o2, &err) != 0)
		fail_msg("results_push_pending: %s", err.msg);
	assert_true(out.pushed);
	log = git_out(0, "--git-dir", bare, "log", "--format=%s", "main", NULL);
	assert_int_equal(count_lines(log, "drill: "), 4);
	assert_non_null(strstr(log, "ABORTED"));
	assert_non_null(strstr(log, "k8s-region-failover PASSED"));
	free(log);
	idx = git_out(0, "--git-dir", bare, "show", "main:dr-drill-results/index.ndjson", NULL);
	assert_int_equal(count_lines(idx, "\"dir\""), 4);
	free(idx);
	free(git_out(0, "--git-dir", bare, "fsck", "--strict", "--no-dangling", NULL));
	assert_clean_and_fsck(c1);
	assert_clean_and_fsck(c2);
	/* Nothing left to push: a second call is a no-op. */
	assert_int_equal(results_push_pending(&out, &o2, &err), 0);
	assert_int_equal(out.push_attempts, 0);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(d);
	free(bare);
	free(c1);
	free(c2);
}

static void test_push_without_remote_keeps_commit(void **state)
{
	char *repo = mkpath("noremote"), *log;
	struct results_opts o = RESULTS_OPTS_INIT;
	struct results_outcome out;
	json_t *j = fixture("passed");

	(void)state;
	o.repo = repo;
	o.push = 1;
	publish_ok(&out, j, &o, NULL);
	assert_true(out.push_failed);
	assert_false(out.pushed);
	assert_non_null(strstr(out.push_error, "no remote 'origin'"));
	log = git_out(0, "-C", repo, "log", "--oneline", NULL);
	assert_int_equal(count_lines(log, "drill: "), 1);
	free(log);
	assert_clean_and_fsck(repo);
	json_decref(j);
	free(repo);
}

static void test_regression_verdict(void **state)
{
	char *repo = mkpath("regress");
	struct results_opts o = RESULTS_OPTS_INIT;
	struct results_outcome out;
	struct results_regression r;
	struct dr_error err = DR_ERROR_INIT;
	const double rtos[] = { 1000, 1100, 1200, 1300, 5000, 1400 };
	json_t *j, *rj;

	(void)state;
	o.repo = repo;
	o.fail_on_regression_pct = 20;
	/* No repository yet: no verdict, no error, nothing created. */
	j = variant("passed", "2026-10-01T03:00:00.000Z", 1000);
	assert_int_equal(results_regression(&r, j, &o, &err), 0);
	assert_false(r.computed);
	assert_false(fs_exists(repo));
	json_decref(j);
	for (int i = 0; i < 6; i++) {
		char t[64];

		snprintf(t, sizeof(t), "2026-10-%02dT03:00:00.000Z", i + 1);
		j = variant("passed", t, rtos[i]);
		publish_ok(&out, j, &o, NULL);
		json_decref(j);
	}
	/* Baseline: median of the last 5 (1100 1200 1300 5000 1400) = 1300. */
	j = variant("passed", "2026-10-20T03:00:00.000Z", 1700);
	publish_ok(&out, j, &o, NULL);
	assert_true(out.regression.computed);
	assert_true(out.regression.regressed);
	assert_int_equal(out.regression.runs, 5);
	assert_int_equal(results_regression(&r, j, &o, &err), 0);
	assert_true(r.computed);
	assert_int_equal(r.runs, 5);
	assert_true(r.baseline_ms > 1299.9 && r.baseline_ms < 1300.1);
	assert_true(r.regressed); /* +30.8 % and +400 ms */
	rj = results_regression_json(&r);
	assert_true(json_is_true(json_object_get(rj, "regressed")));
	json_decref(rj);
	json_decref(j);
	/* Over the percentage but under the 250 ms floor: not a regression. */
	j = variant("passed", "2026-10-20T03:00:00.000Z", 1540);
	assert_int_equal(results_regression(&r, j, &o, &err), 0);
	assert_true(r.computed);
	assert_false(r.regressed);
	json_decref(j);
	/* Another runner class is not comparable. */
	j = variant("passed", "2026-10-20T03:00:00.000Z", 9000);
	json_object_set_new(j, "runner_class", json_string("linux-arm64-8cpu"));
	assert_int_equal(results_regression(&r, j, &o, &err), 0);
	assert_false(r.computed);
	assert_false(r.regressed);
	json_decref(j);
	/* Other timing settings are not comparable either. */
	j = variant("passed", "2026-10-20T03:00:00.000Z", 9000);
	json_object_set_new(json_object_get(json_object_get(json_object_get(j, "target"), "topology"), "timing"),
			    "election_timeout_ms", json_integer(1000));
	assert_int_equal(results_regression(&r, j, &o, &err), 0);
	assert_false(r.computed);
	json_decref(j);
	/* Without a gate the verdict is computed but never "regressed". */
	o.fail_on_regression_pct = -1;
	j = variant("passed", "2026-10-20T03:00:00.000Z", 9000);
	assert_int_equal(results_regression(&r, j, &o, &err), 0);
	assert_true(r.computed);
	assert_false(r.regressed);
	json_decref(j);
	free(repo);
}

static void test_refuses_foreign_directory_and_branch(void **state)
{
	char *dir = mkpath("notrepo"), *file = mkpath("notrepo/x"), *repo = mkpath("otherbranch");
	struct results_opts o = RESULTS_OPTS_INIT;
	struct results_outcome out;
	struct dr_error err = DR_ERROR_INIT;
	json_t *j = fixture("passed");

	(void)state;
	assert_int_equal(fs_mkdir_p(dir, &err), 0);
	assert_int_equal(fs_write_atomic(file, "x", 1, &err), 0);
	o.repo = dir;
	assert_int_equal(results_publish(&out, j, NULL, &o, &err), -1);
	assert_non_null(strstr(err.msg, "is not a git repository"));
	o.repo = repo;
	o.branch = "bad..name";
	assert_int_equal(results_publish(&out, j, NULL, &o, &err), -1);
	assert_non_null(strstr(err.msg, "invalid results branch"));
	json_decref(j);
	free(dir);
	free(file);
	free(repo);
}

/* The remote is unreachable: the run is still committed locally, the push
 * failure is reported, and `report push` sends it once the remote is back. */
static void test_offline_commit_then_push_later(void **state)
{
	char *bare = mkpath("remote.git"), *gone = mkpath("remote.gone"), *cache = mkpath("cache"), *log;
	struct results_opts o = RESULTS_OPTS_INIT;
	struct results_outcome out;
	struct dr_error err = DR_ERROR_INIT;
	json_t *a = fixture("passed"), *b = fixture("failed-lost-write");

	(void)state;
	free(git_out(0, "init", "-q", "--bare", bare, NULL));
	o.repo = bare;
	o.cache_dir = cache;
	o.push = 1;
	publish_ok(&out, a, &o, NULL);
	assert_true(out.pushed);
	assert_int_equal(rename(bare, gone), 0);
	publish_ok(&out, b, &o, NULL);
	assert_false(out.pushed);
	assert_true(out.push_failed);
	assert_true(out.push_error[0] != '\0');
	assert_non_null(strstr(out.warning, "last known tip"));
	assert_clean_and_fsck(cache);
	assert_int_equal(results_push_pending(&out, &o, &err), -1);
	assert_int_equal(rename(gone, bare), 0);
	if (results_push_pending(&out, &o, &err) != 0)
		fail_msg("results_push_pending: %s", err.msg);
	assert_true(out.pushed);
	log = git_out(0, "--git-dir", bare, "log", "--format=%s", "main", NULL);
	assert_int_equal(count_lines(log, "drill: "), 2);
	free(log);
	json_decref(a);
	json_decref(b);
	free(bare);
	free(gone);
	free(cache);
}

/* Without DRILLRIG_GIT_AUTHOR the author comes from git config. */
static void test_author_from_git_config(void **state)
{
	char *repo = mkpath("cfg"), *log;
	struct results_opts o = RESULTS_OPTS_INIT;
	struct results_outcome out;
	json_t *j = fixture("passed");

	(void)state;
	unsetenv("DRILLRIG_GIT_AUTHOR");
	free(git_out(0, "init", "-q", "-b", "main", repo, NULL));
	free(git_out(0, "-C", repo, "config", "user.name", "Config User", NULL));
	free(git_out(0, "-C", repo, "config", "user.email", "config-user@example.com", NULL));
	o.repo = repo;
	publish_ok(&out, j, &o, NULL);
	log = git_out(0, "-C", repo, "log", "-1", "--format=%an <%ae>", NULL);
	assert_string_equal(log, "Config User <config-user@example.com>\n");
	free(log);
	assert_clean_and_fsck(repo);
	json_decref(j);
	free(repo);
}

/* Debian's libgit2 1.5 leaks a pcre2 match block on every regex non-match
 * inside git_remote_lookup (config multivar lookups); not ours to fix.
 * AddressSanitizer reads this hook; it is unused otherwise. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libpcre2-8.so\n";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_init_history_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_second_runs_both_land, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_stays_local_unless_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bare_remote_push_and_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_without_remote_keeps_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offline_commit_then_push_later, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regression_verdict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_author_from_git_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_foreign_directory_and_branch, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
