/* The Kubernetes drill lock (harness/target/k8s/k8s_lease.c) through the
 * kubectl test double (tests/doubles/kubectl_double_lease.c), which keeps
 * Leases in a file, per context's region, and needs no running cluster for
 * them (only the regions of a cluster.json):
 * - a free lock is created in our name, and unlock deletes it;
 * - a live Lease of another runner is refused, naming its holder, and left
 *   exactly as it was; so is one whose expiry is unknown;
 * - an expired Lease (renewTime + leaseDurationSeconds at or before now) is
 *   deleted and created again in our name: the runbook's promise that a
 *   crashed runner's lock frees itself;
 * - unlock never deletes a Lease that another runner took over.
 * The program exits 77 when the double is not built (`make test` builds it;
 * `make build/tests/doubles/kubectl` alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/target/k8s/k8s.h"
#include "harness/target/k8s/k8s_impl.h"

#define OTHER "drillrig@other-runner/4242"
#define LEASE "drillrig-drill-lock"

static char *kubectl;

struct fixture {
	char *dir;
	char *leases;   /* the double's Lease store */
	char *log;      /* every command line the double saw */
	struct target *t;
};

static void write_file(const char *path, const char *text)
{
	struct dr_error err = DR_ERROR_INIT;

	if (fs_write_atomic(path, text, strlen(text), &err) != 0)
		fail_msg("%s", err.msg);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/drillrig-k8s-lease.XXXXXX";
	struct fixture *f = calloc(1, sizeof(*f));
	char *path, *cfg;

	assert_non_null(mkdtemp(tmpl));
	f->dir = xstrdup(tmpl);
	f->leases = xasprintf("%s/k8s-double-leases.json", f->dir);
	f->log = xasprintf("%s/kubectl.log", f->dir);
	path = xasprintf("%s/cluster.json", f->dir);
	write_file(path, "{\"regions\": [{\"name\": \"primary\"}, {\"name\": \"dr\"}]}\n");
	free(path);
	cfg = xasprintf("version: 1\nkind: kubernetes\napi: runbook\n"
			"allowed_contexts: [drill-primary, drill-dr]\n"
			"kubectl: %s\ncommand_timeout: 20s\n"
			"lease: {name: " LEASE ", duration_seconds: 600}\n"
			"regions:\n"
			"  primary: {role: primary, context: drill-primary, namespace: inferadb,\n"
			"            statefulset: inferadb-ledger, replicas: 2, node_ids: [1, 2]}\n"
			"  dr: {role: dr, context: drill-dr, namespace: inferadb,\n"
			"       statefulset: inferadb-ledger, replicas: 2, node_ids: [3, 4]}\n", kubectl);
	path = xasprintf("%s/k8s.yaml", f->dir);
	write_file(path, cfg);
	free(cfg);
	setenv("KUBECTL_DOUBLE_CLUSTER", f->dir, 1);
	setenv("KUBECTL_DOUBLE_LOG", f->log, 1);
	{
		char *sd = xasprintf("%s/state", f->dir);

		setenv("DRILLRIG_STATE_DIR", sd, 1);
		free(sd);
	}
	{
		struct target_k8s_opts o = TARGET_K8S_OPTS_INIT;
		struct dr_error err = DR_ERROR_INIT;

		o.config_path = path;
		o.yes = 1;
		o.interactive = 0;
		o.out = stderr;
		if (target_k8s_new(&f->t, NULL, &o, &err) != 0)
			fail_msg("target_k8s_new: %s", err.msg);
	}
	free(path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f->t)
		f->t->close(f->t, 1);
	fs_remove_tree(f->dir, NULL);
	unsetenv("KUBECTL_DOUBLE_CLUSTER");
	unsetenv("KUBECTL_DOUBLE_LOG");
	unsetenv("DRILLRIG_STATE_DIR");
	free(f->dir);
	free(f->leases);
	free(f->log);
	free(f);
	return 0;
}

static const char *our_holder(const struct fixture *f)
{
	return ((const struct k8s_target *)f->t->impl)->holder;
}

static void rfc3339(char *buf, size_t len, int64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;

	assert_non_null(gmtime_r(&t, &tm));
	assert_true(strftime(buf, len, "%Y-%m-%dT%H:%M:%S.000000Z", &tm) > 0);
}

/* A Lease held by holder, renewed renew_ago seconds ago (< 0: no renew or
 * acquire time at all), for 600 s. */
static void plant_lease(const struct fixture *f, const char *holder, int64_t renew_ago)
{
	char when[64];
	json_t *spec = json_pack("{s:s,s:i}", "holderIdentity", holder, "leaseDurationSeconds", 600);
	json_t *all;
	char *text;

	if (renew_ago >= 0) {
		rfc3339(when, sizeof(when), (int64_t)time(NULL) - renew_ago);
		json_object_set_new(spec, "renewTime", json_string(when));
		json_object_set_new(spec, "acquireTime", json_string(when));
	}
	/* The double's store: the drill-primary context's Leases, and the last
	 * resourceVersion it gave out. */
	all = json_pack("{s:i,s:{s:{s:s,s:s,s:{s:s,s:s,s:s},s:o}}}", "rv", 1, "primary", LEASE,
			"apiVersion", "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name", LEASE,
			"namespace", "inferadb", "resourceVersion", "1", "spec", spec);
	text = json_dumps(all, JSON_COMPACT);
	write_file(f->leases, text);
	free(text);
	json_decref(all);
}

/* The Lease's spec as the double holds it; NULL when there is none. */
static json_t *lease_spec(const struct fixture *f)
{
	json_t *all = json_load_file(f->leases, 0, NULL), *spec;

	spec = json_incref(json_object_get(json_object_get(json_object_get(all, "primary"), LEASE), "spec"));
	json_decref(all);
	return spec;
}

static char *file_text(const char *path)
{
	struct dr_error err = DR_ERROR_INIT;
	char *text = NULL;

	if (!fs_exists(path))
		return xstrdup("");
	if (fs_read_file(&text, NULL, path, 1 << 20, &err) != 0)
		fail_msg("%s", err.msg);
	return text;
}

static void assert_held_by(const struct fixture *f, const char *holder)
{
	json_t *spec = lease_spec(f);

	if (!spec)
		fail_msg("no Lease in %s", f->leases);
	assert_string_equal(json_string_value(json_object_get(spec, "holderIdentity")), holder);
	json_decref(spec);
}

static void test_free_lock_is_created_and_released(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	json_t *spec;

	if (f->t->lock(f->t, &err) != 0)
		fail_msg("lock: %s", err.msg);
	assert_held_by(f, our_holder(f));
	spec = lease_spec(f);
	assert_int_equal(json_integer_value(json_object_get(spec, "leaseDurationSeconds")), 600);
	json_decref(spec);
	f->t->unlock(f->t);
	spec = lease_spec(f);
	assert_null(spec);
}

static void test_live_lease_of_another_runner_is_refused(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	char *before, *after, *log;

	plant_lease(f, OTHER, 60);
	before = file_text(f->leases);
	assert_int_equal(f->t->lock(f->t, &err), -1);
	assert_non_null(strstr(err.msg, "another drill holds the lock"));
	assert_non_null(strstr(err.msg, "held by " OTHER));
	assert_non_null(strstr(err.msg, "lease 600s"));
	after = file_text(f->leases);
	assert_string_equal(before, after);
	log = file_text(f->log);
	assert_null(strstr(log, " delete "));
	free(log);
	free(before);
	free(after);
	/* Refused, so unlock has nothing of ours to release. */
	f->t->unlock(f->t);
	assert_held_by(f, OTHER);
}

static void test_lease_without_renew_time_is_refused(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;

	plant_lease(f, OTHER, -1);
	assert_int_equal(f->t->lock(f->t, &err), -1);
	assert_non_null(strstr(err.msg, "held by " OTHER));
	assert_held_by(f, OTHER);
}

static void test_expired_lease_is_taken_over(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;
	char *log, *del;

	plant_lease(f, OTHER, 3600);
	if (f->t->lock(f->t, &err) != 0)
		fail_msg("an expired Lease was not taken over: %s", err.msg);
	assert_held_by(f, our_holder(f));
	/* Deleted, then created again: never an update that could race. */
	log = file_text(f->log);
	del = strstr(log, " delete lease.coordination.k8s.io/" LEASE);
	if (!del || !strstr(del, " create "))
		fail_msg("expected a delete, then a create:\n%s", log);
	free(log);
	f->t->unlock(f->t);
	assert_null(lease_spec(f));
}

/* renewTime + leaseDurationSeconds == now: expired, as recover decides
 * (k8s_lease_decide). */
static void test_lease_expiring_now_is_taken_over(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;

	plant_lease(f, OTHER, 600);
	if (f->t->lock(f->t, &err) != 0)
		fail_msg("a Lease at its expiry was not taken over: %s", err.msg);
	assert_held_by(f, our_holder(f));
}

static void test_unlock_leaves_a_lease_taken_over_by_another(void **state)
{
	struct fixture *f = *state;
	struct dr_error err = DR_ERROR_INIT;

	if (f->t->lock(f->t, &err) != 0)
		fail_msg("lock: %s", err.msg);
	/* Ours expired meanwhile and another runner took it over. */
	plant_lease(f, OTHER, 5);
	f->t->unlock(f->t);
	assert_held_by(f, OTHER);
}

int main(void)
{
	const char *b = getenv("DRILLRIG_BUILD");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_free_lock_is_created_and_released, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_lease_of_another_runner_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_without_renew_time_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_lease_is_taken_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_expiring_now_is_taken_over, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlock_leaves_a_lease_taken_over_by_another, setup, teardown),
	};
	int rc;

	kubectl = xasprintf("%s/tests/doubles/kubectl", b && *b ? b : "build");
	if (access(kubectl, X_OK) != 0) {
		printf("the kubectl double %s is not built (make %s)\n", kubectl, kubectl);
		free(kubectl);
		return 77;
	}
	rc = cmocka_run_group_tests_name("k8s_lease", tests, NULL, NULL);
	free(kubectl);
	return rc;
}
