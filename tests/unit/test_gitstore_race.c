/* Two runners publishing to one results repository at the same moment,
 * without a web server: the remote is a local bare repository (a file
 * path), and another clone pushes between our fetch and our push (the
 * store's test barrier, DRILLRIG_TEST_PUSH_BARRIER, holds our push until
 * it has).  Our first push is refused (libgit2 will not push over a remote
 * tip our clone does not have: not a fast-forward); the store fetches,
 * rebuilds our run on the new tip and pushes again, and both runs end up in
 * the remote, neither overwritten.  tests/integration/test_gitstore_http.sh
 * runs the same race over smart HTTP (lighttpd) between two processes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "reports/reports.h"

static char *tmp_root;

static json_t *fixture(const char *name)
{
	const char *src = getenv("DRILLRIG_SRC");
	char *path = xasprintf("%s/tests/data/journals/%s.json", src && *src ? src : ".", name);
	json_error_t jerr;
	json_t *j = json_load_file(path, 0, &jerr);

	if (!j)
		fail_msg("cannot load '%s': %s", path, jerr.text);
	free(path);
	return j;
}

/* git with argv (NULL-terminated); its stdout (heap), or NULL when it
 * failed (the reason in *why, heap, when why is given). */
static char *git_run(char **why, char *const argv[])
{
	struct proc_result res;
	struct dr_error err = DR_ERROR_INIT;
	char *out = NULL;

	memset(&res, 0, sizeof(res));
	if (proc_run(&res, argv, NULL, 30 * NS_PER_SEC, 1 << 20, &err) != 0) {
		if (why)
			*why = xasprintf("cannot run git: %s", err.msg);
		return NULL;
	}
	if (res.exited && res.exit_code == 0)
		out = xstrdup(res.out);
	else if (why)
		*why = xasprintf("%s (exit %d)", res.errout, res.exit_code);
	proc_result_release(&res);
	return out;
}

static char *git_ok(char *const argv[])
{
	char *why = NULL, *out = git_run(&why, argv);

	if (!out)
		fail_msg("git %s failed: %s", argv[1], why);
	return out;
}

static int count(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* The other runner: waits (bounded) until our push is held at the barrier,
 * pushes its own clone, then lets ours go. */
struct other_runner {
	char *barrier;
	char *clone;
	int waited;      /* our push reached the barrier */
	int pushed;      /* the other clone's push went through */
	char *why;       /* why not (heap) */
};

static int ready_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".ready") && !strstr(de->d_name, ".tmp"))
			n++;
	if (d)
		closedir(d);
	return n;
}

static void *other_runner_main(void *arg)
{
	struct other_runner *o = arg;
	struct dr_error err = DR_ERROR_INIT;
	char *mark, *out;
	char *argv[] = { (char *)"git", (char *)"-C", o->clone, (char *)"push", (char *)"-q",
			 (char *)"origin", (char *)"main", NULL };

	for (int i = 0; i < 3000 && !o->waited; i++) { /* 30 s */
		if (ready_files(o->barrier) >= 1)
			o->waited = 1;
		else
			clock_sleep_ns(10 * NS_PER_MS);
	}
	if (o->waited) {
		out = git_run(&o->why, argv);
		o->pushed = out != NULL;
		free(out);
	}
	/* Release our push in any case, so a failure cannot hang the test. */
	mark = xasprintf("%s/other-runner.ready", o->barrier);
	fs_write_atomic(mark, "", 0, &err);
	free(mark);
	return NULL;
}

static void test_push_rejected_by_a_race_is_retried(void **state)
{
	char *bare = xasprintf("%s/remote.git", tmp_root), *c1 = xasprintf("%s/cache1", tmp_root);
	char *c2 = xasprintf("%s/cache2", tmp_root), *barrier = xasprintf("%s/barrier", tmp_root);
	char *log, *idx, *other_commit, *base;
	struct results_opts o1 = RESULTS_OPTS_INIT, o2 = RESULTS_OPTS_INIT;
	struct results_outcome out;
	struct dr_error err = DR_ERROR_INIT;
	struct other_runner other;
	pthread_t th;
	json_t *a = fixture("passed"), *b = fixture("failed-lost-write"), *c = fixture("aborted");

	(void)state;
	free(git_ok((char *[]){ (char *)"git", (char *)"init", (char *)"-q", (char *)"--bare", bare, NULL }));
	assert_int_equal(fs_mkdir_p(barrier, &err), 0);
	o1.repo = o2.repo = bare;
	o1.cache_dir = c1;
	o2.cache_dir = c2;
	o1.push = 1;
	/* Runner 1 publishes a first run; runner 2 commits one on that tip. */
	if (results_publish(&out, a, NULL, &o1, &err) != 0 || !out.pushed)
		fail_msg("first publish: %s %s", err.msg, out.push_error);
	if (results_publish(&out, b, NULL, &o2, &err) != 0)
		fail_msg("second clone's commit: %s", err.msg);
	other_commit = git_ok((char *[]){ (char *)"git", (char *)"-C", c2, (char *)"rev-parse",
					  (char *)"HEAD", NULL });
	if (strchr(other_commit, '\n'))
		*strchr(other_commit, '\n') = '\0';
	/* Runner 1's next push waits at the barrier while runner 2 pushes. */
	memset(&other, 0, sizeof(other));
	other.barrier = barrier;
	other.clone = c2;
	setenv("DRILLRIG_TEST_PUSH_BARRIER", barrier, 1);
	setenv("DRILLRIG_TEST_PUSH_BARRIER_N", "2", 1);
	assert_int_equal(pthread_create(&th, NULL, other_runner_main, &other), 0);
	memset(&out, 0, sizeof(out));
	if (results_publish(&out, c, NULL, &o1, &err) != 0)
		fail_msg("racing publish: %s", err.msg);
	pthread_join(th, NULL);
	unsetenv("DRILLRIG_TEST_PUSH_BARRIER");
	unsetenv("DRILLRIG_TEST_PUSH_BARRIER_N");
	if (!other.waited)
		fail_msg("the racing push never reached the barrier");
	if (!other.pushed)
		fail_msg("the other clone's push failed: %s", other.why);
	/* The race was lost once, then won on the second attempt. */
	if (!out.pushed || out.push_failed)
		fail_msg("the push was not retried after the race: %s", out.push_error);
	assert_int_equal(out.push_attempts, 2);
	/* Both runs are in the remote, runner 2's commit untouched below ours. */
	log = git_ok((char *[]){ (char *)"git", (char *)"--git-dir", bare, (char *)"log",
				 (char *)"--format=%s", (char *)"main", NULL });
	assert_int_equal(count(log, "drill: "), 3);
	assert_non_null(strstr(log, "ABORTED"));
	assert_non_null(strstr(log, "FAILED"));
	base = git_run(NULL, (char *[]){ (char *)"git", (char *)"--git-dir", bare, (char *)"merge-base",
					 (char *)"--is-ancestor", other_commit, (char *)"main", NULL });
	if (!base)
		fail_msg("the other runner's commit %s was overwritten:\n%s", other_commit, log);
	idx = git_ok((char *[]){ (char *)"git", (char *)"--git-dir", bare, (char *)"show",
				 (char *)"main:dr-drill-results/index.ndjson", NULL });
	assert_int_equal(count(idx, "\"dir\""), 3);
	free(git_ok((char *[]){ (char *)"git", (char *)"--git-dir", bare, (char *)"fsck", (char *)"--strict",
				(char *)"--no-dangling", NULL }));
	free(idx);
	free(base);
	free(log);
	free(other_commit);
	free(other.why);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	free(bare);
	free(c1);
	free(c2);
	free(barrier);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/dr-gitstore-race-XXXXXX";

	(void)state;
	assert_non_null(mkdtemp(tmpl));
	tmp_root = xstrdup(tmpl);
	/* Tests must not depend on the caller's git identity or cache. */
	setenv("DRILLRIG_GIT_AUTHOR", "Drill Bot <drill-bot@example.com>", 1);
	unsetenv("DRILLRIG_GIT_TOKEN");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_remove_tree(tmp_root, NULL);
	free(tmp_root);
	return 0;
}

/* Debian's libgit2 1.5 leaks a pcre2 match block inside git_remote_lookup
 * (tests/unit/test_gitstore.c says more); AddressSanitizer reads this. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libpcre2-8.so\n";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push_rejected_by_a_race_is_retried, setup, teardown),
	};

	return cmocka_run_group_tests_name("gitstore_race", tests, NULL, NULL);
}
