/* Where a Kubernetes drill keeps its pending undos and what recover decides
 * about the drill lock:
 * - the state directory follows DRILLRIG_STATE_DIR, XDG_STATE_HOME (absolute
 *   only), HOME, in that order;
 * - the state file is named from the Lease's context, namespace and name,
 *   with unsafe characters replaced and a hash keeping distinct names apart;
 * - the target's state_path hook creates the directory 0700 and this
 *   drill's record 0600 (holder identity, cordoned nodes), never overwrites
 *   an earlier drill's record, and has no state in a dry run;
 * - the Lease decision (pure): release ours, an expired one, or one whose
 *   holder ran on this host and is gone; refuse a live one, naming it and
 *   its expiry; never presume a holder on another host dead. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/run/undo_stack.h"
#include "harness/target/k8s/k8s.h"
#include "harness/target/k8s/k8s_impl.h"
#include "harness/target/k8s/k8s_state.h"

static char *tmpdir(void)
{
	char tmpl[] = "/dev/shm/drillrig-k8s-state.XXXXXX";
	char tmpl2[] = "/tmp/drillrig-k8s-state.XXXXXX";
	char *d = mkdtemp(tmpl);

	if (!d)
		d = mkdtemp(tmpl2);
	assert_non_null(d);
	return xstrdup(d);
}

static void clear_env(void)
{
	unsetenv("DRILLRIG_STATE_DIR");
	unsetenv("XDG_STATE_HOME");
}

static char *state_dir(void)
{
	struct dr_error err = DR_ERROR_INIT;
	char *d = NULL;

	if (k8s_state_dir(&d, &err) != 0)
		fail_msg("%s", err.msg);
	return d;
}

static void test_state_dir_precedence(void **state)
{
	char *home = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL, *d;

	(void)state;
	clear_env();
	setenv("HOME", "/home/sre", 1);
	d = state_dir();
	assert_string_equal(d, "/home/sre/.local/state/drillrig");
	free(d);
	/* A relative XDG_STATE_HOME is invalid by the spec: ignored. */
	setenv("XDG_STATE_HOME", "relative/state", 1);
	d = state_dir();
	assert_string_equal(d, "/home/sre/.local/state/drillrig");
	free(d);
	setenv("XDG_STATE_HOME", "/var/xdg", 1);
	d = state_dir();
	assert_string_equal(d, "/var/xdg/drillrig");
	free(d);
	setenv("DRILLRIG_STATE_DIR", "/srv/drillrig-state", 1);
	d = state_dir();
	assert_string_equal(d, "/srv/drillrig-state");
	free(d);
	/* Empty means unset. */
	setenv("DRILLRIG_STATE_DIR", "", 1);
	d = state_dir();
	assert_string_equal(d, "/var/xdg/drillrig");
	free(d);
	clear_env();
	if (home)
		setenv("HOME", home, 1);
	free(home);
}

static void test_state_file_names(void **state)
{
	char *a, *b, *c, *long1, *long2;
	char ctx1[301], ctx2[301];

	(void)state;
	a = k8s_state_file_name("eks-primary", "inferadb", "drillrig-drill-lock");
	assert_string_equal(a, "k8s_eks-primary_inferadb_drillrig-drill-lock.state.json");
	free(a);
	/* GKE contexts keep their underscores. */
	a = k8s_state_file_name("gke_proj_us-east1_ledger", "inferadb", "lock");
	assert_string_equal(a, "k8s_gke_proj_us-east1_ledger_inferadb_lock.state.json");
	free(a);
	/* An EKS ARN: no '/' or ':' reaches the file name, and a hash keeps it
	 * apart from a context that happens to read like the replacement. */
	a = k8s_state_file_name("arn:aws:eks:us-east-1:123456789012:cluster/prod", "inferadb", "lock");
	b = k8s_state_file_name("arn-aws-eks-us-east-1-123456789012-cluster-prod", "inferadb", "lock");
	c = k8s_state_file_name("arn:aws:eks:us-east-1:123456789012:cluster/prod", "inferadb", "lock");
	assert_null(strchr(a, '/'));
	assert_null(strchr(a, ':'));
	assert_true(strncmp(a, "k8s_arn-aws-eks-us-east-1-123456789012-cluster-prod_inferadb_lock-", 66) == 0);
	assert_string_equal(b, "k8s_arn-aws-eks-us-east-1-123456789012-cluster-prod_inferadb_lock.state.json");
	assert_string_not_equal(a, b);
	assert_string_equal(a, c); /* deterministic: recover finds the runner's file */
	free(a);
	free(b);
	free(c);
	/* Namespace and lease name are part of the identity. */
	a = k8s_state_file_name("eks-primary", "inferadb", "lock-a");
	b = k8s_state_file_name("eks-primary", "inferadb", "lock-b");
	c = k8s_state_file_name("eks-primary", "other", "lock-a");
	assert_string_not_equal(a, b);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
	/* Long contexts are cut, and still told apart. */
	memset(ctx1, 'x', 300);
	ctx1[300] = '\0';
	memcpy(ctx2, ctx1, sizeof(ctx1));
	ctx2[299] = 'y';
	long1 = k8s_state_file_name(ctx1, "inferadb", "lock");
	long2 = k8s_state_file_name(ctx2, "inferadb", "lock");
	assert_true(strlen(long1) < 200);
	assert_string_not_equal(long1, long2);
	free(long1);
	free(long2);
}

static void test_record_path(void **state)
{
	char *p;

	(void)state;
	p = k8s_state_record_path("/s/k8s_a_b_c.state.json");
	assert_string_equal(p, "/s/k8s_a_b_c.lease.json");
	free(p);
	p = k8s_state_record_path("/s/other");
	assert_string_equal(p, "/s/other.lease.json");
	free(p);
}

static void test_holder_parse(void **state)
{
	char host[64];
	long pid = 0;

	(void)state;
	assert_int_equal(k8s_holder_parse("drillrig@runner-7/4242", host, sizeof(host), &pid), 0);
	assert_string_equal(host, "runner-7");
	assert_int_equal(pid, 4242);
	assert_int_equal(k8s_holder_parse("drillrig@/1", host, sizeof(host), &pid), -1);
	assert_int_equal(k8s_holder_parse("drillrig@h/", host, sizeof(host), &pid), -1);
	assert_int_equal(k8s_holder_parse("drillrig@h/0", host, sizeof(host), &pid), -1);
	assert_int_equal(k8s_holder_parse("drillrig@h/12x", host, sizeof(host), &pid), -1);
	assert_int_equal(k8s_holder_parse("kube-controller/1", host, sizeof(host), &pid), -1);
	assert_int_equal(k8s_holder_parse(NULL, host, sizeof(host), &pid), -1);
	assert_int_equal(k8s_holder_parse("drillrig@a-very-long-host-name/1", host, 8, &pid), -1);
}

/* 2026-11-27T12:00:00Z */
#define NOW INT64_C(1795780800)

static struct k8s_lease_facts facts(const char *holder, int64_t renew_ago, const char *recorded,
				    int alive)
{
	struct k8s_lease_facts f;

	memset(&f, 0, sizeof(f));
	f.holder = holder;
	f.renew_s = renew_ago < 0 ? -1 : NOW - renew_ago;
	f.duration_s = 600;
	f.now_s = NOW;
	f.recorded = recorded;
	f.self = "drillrig@runner-1/100";
	f.host = "runner-1";
	f.holder_pid_alive = alive;
	return f;
}

static enum k8s_lease_verdict decide(struct k8s_lease_facts f, char *why)
{
	return k8s_lease_decide(&f, why, 512);
}

static void test_lease_decision(void **state)
{
	char why[512];

	(void)state;
	/* No Lease: nothing to release. */
	assert_int_equal(decide(facts(NULL, 0, "drillrig@runner-1/7", 0), why), K8S_LEASE_NONE);
	/* Our own identity. */
	assert_int_equal(decide(facts("drillrig@runner-1/100", 5, NULL, 1), why), K8S_LEASE_RELEASE);
	/* The interrupted drill named in the record, on this host, gone. */
	assert_int_equal(decide(facts("drillrig@runner-1/7", 5, "drillrig@runner-1/7", 0), why),
			 K8S_LEASE_RELEASE);
	assert_non_null(strstr(why, "interrupted drill drillrig@runner-1/7"));
	/* No state, but a stale Lease of a dead process on this host. */
	assert_int_equal(decide(facts("drillrig@runner-1/8", 5, NULL, 0), why), K8S_LEASE_RELEASE);
	assert_non_null(strstr(why, "stale"));
	assert_non_null(strstr(why, "process 8 is gone"));
	/* The recorded drill still runs (its state file exists while it runs). */
	assert_int_equal(decide(facts("drillrig@runner-1/7", 5, "drillrig@runner-1/7", 1), why),
			 K8S_LEASE_REFUSE);
	assert_non_null(strstr(why, "held by drillrig@runner-1/7"));
	assert_non_null(strstr(why, "still running on this host"));
	assert_non_null(strstr(why, "expires at 2026-11-27T12:09:55"));
	assert_non_null(strstr(why, "(in 595s)"));
	/* A live drill on another runner. */
	assert_int_equal(decide(facts("drillrig@runner-2/9", 60, NULL, 0), why), K8S_LEASE_REFUSE);
	assert_non_null(strstr(why, "held by drillrig@runner-2/9"));
	assert_non_null(strstr(why, "expires at 2026-11-27T12:09:00"));
	/* Another host is never presumed dead, even when the record names it. */
	assert_int_equal(decide(facts("drillrig@runner-2/9", 60, "drillrig@runner-2/9", 0), why),
			 K8S_LEASE_REFUSE);
	/* Expired: released whoever held it; the boundary counts as expired,
	 * as the lock's own takeover does. */
	assert_int_equal(decide(facts("drillrig@runner-2/9", 601, NULL, 0), why), K8S_LEASE_RELEASE);
	assert_non_null(strstr(why, "expired 1s ago"));
	assert_int_equal(decide(facts("drillrig@runner-2/9", 600, NULL, 0), why), K8S_LEASE_RELEASE);
	assert_int_equal(decide(facts("drillrig@runner-2/9", 599, NULL, 0), why), K8S_LEASE_REFUSE);
	assert_int_equal(decide(facts("drillrig@runner-1/7", 700, "drillrig@runner-1/7", 1), why),
			 K8S_LEASE_RELEASE);
	/* A holder that is not drillrig's, live: refused. */
	assert_int_equal(decide(facts("someone-else", 5, NULL, 0), why), K8S_LEASE_REFUSE);
	/* No renew time: expiry unknown, refused unless provably gone. */
	assert_int_equal(decide(facts("drillrig@runner-2/9", -1, NULL, 0), why), K8S_LEASE_REFUSE);
	assert_non_null(strstr(why, "expiry is unknown"));
	assert_int_equal(decide(facts("drillrig@runner-1/9", -1, NULL, 0), why), K8S_LEASE_RELEASE);
}

static struct target *make_target(int dry_run)
{
	const char *s = getenv("DRILLRIG_SRC");
	char *path = xasprintf("%s/tests/data/k8s/eks-runbook.yaml", s && *s ? s : ".");
	struct target_k8s_opts o = TARGET_K8S_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct target *t = NULL;

	o.config_path = path;
	o.yes = 1;
	o.dry_run = dry_run;
	o.out = stderr;
	if (target_k8s_new(&t, NULL, &o, &err) != 0)
		fail_msg("%s", err.msg);
	free(path);
	return t;
}

static json_t *load(const char *path)
{
	json_t *v = json_load_file(path, 0, NULL);

	if (!v)
		fail_msg("cannot load %s", path);
	return v;
}

static void test_state_path_hook(void **state)
{
	char *dir = tmpdir(), *sdir = xasprintf("%s/nested/state", dir), *p, *rec, *want, *holder;
	char host[256] = "";
	struct target *t, *t2;
	struct undo_stack us;
	struct stat st;
	json_t *r, *action;

	(void)state;
	clear_env();
	setenv("DRILLRIG_STATE_DIR", sdir, 1);
	/* A dry run changes nothing: nothing to recover. */
	t = make_target(1);
	assert_null(t->state_path(t));
	assert_false(fs_exists(sdir));
	t->close(t, 1);

	t = make_target(0);
	p = t->state_path(t);
	want = xasprintf("%s/k8s_eks-primary_inferadb_drillrig-drill-lock.state.json", sdir);
	assert_string_equal(p, want);
	assert_int_equal(stat(sdir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	rec = k8s_state_record_path(p);
	assert_int_equal(stat(rec, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	r = load(rec);
	gethostname(host, sizeof(host) - 1);
	holder = xasprintf("drillrig@%s/%ld", host, (long)getpid());
	assert_string_equal(json_string_value(json_object_get(r, "holder")), holder);
	assert_string_equal(json_string_value(json_object_get(r, "context")), "eks-primary");
	assert_string_equal(json_string_value(json_object_get(r, "lease")), "drillrig-drill-lock");
	assert_int_equal(json_array_size(json_object_get(r, "cordoned")), 0);
	json_decref(r);

	/* A cordon is recorded at once. */
	{
		struct k8s_target *kt = t->impl;

		json_array_append_new(kt->cordoned, json_pack("{s:s,s:s}", "region", "dr", "node", "ip-10-1-2-3"));
		k8s_state_note(kt);
		r = load(rec);
		assert_string_equal(json_string_value(json_object_get(
			json_array_get(json_object_get(r, "cordoned"), 0), "node")), "ip-10-1-2-3");
		json_decref(r);
	}
	/* The runner's state file is private too. */
	undo_stack_init(&us);
	action = json_pack("{s:s,s:s,s:s}", "action", "scale", "region", "primary", "replicas", "normal");
	undo_stack_push(&us, "scale-primary-to-zero", action);
	free(undo_stack_save(&us, NULL, p, NULL, NULL));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	undo_stack_release(&us);
	json_decref(action);

	/* A second drill while that state exists (its lock taken over after
	 * expiry): the earlier drill's record is left as it was. */
	t2 = make_target(0);
	free(t2->state_path(t2));
	r = load(rec);
	assert_string_equal(json_string_value(json_object_get(r, "holder")), holder);
	assert_int_equal(json_array_size(json_object_get(r, "cordoned")), 1);
	json_decref(r);
	assert_string_equal(((struct k8s_target *)t2->impl)->record_path, "");
	t2->close(t2, 1);

	/* Forgetting (the Lease was released) removes only our own record. */
	k8s_state_forget(t->impl);
	assert_false(fs_exists(rec));
	t->close(t, 1);

	clear_env();
	fs_remove_tree(dir, NULL);
	free(holder);
	free(want);
	free(rec);
	free(p);
	free(sdir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_dir_precedence),
		cmocka_unit_test(test_state_file_names),
		cmocka_unit_test(test_record_path),
		cmocka_unit_test(test_holder_parse),
		cmocka_unit_test(test_lease_decision),
		cmocka_unit_test(test_state_path_hook),
	};

	return cmocka_run_group_tests_name("k8s_state", tests, NULL, NULL);
}
