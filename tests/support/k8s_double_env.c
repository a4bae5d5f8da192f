#include "tests/support/k8s_double_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "tests/support/drill_proc.h"

static char *build_path(const char *rel)
{
	const char *b = getenv("DRILLRIG_BUILD");

	return xasprintf("%s/%s", b && *b ? b : "build", rel);
}

static int cluster_cmd(const char *verb, const char *cluster, int enable_debug)
{
	char *drillrig = xstrdup(drill_bin());
	/* The double stands in for a ledger whose admin API the kubernetes
	 * target reaches without a credential. */
	int up = strcmp(verb, "up") == 0;
	char *argv[] = { drillrig, (char *)"cluster", (char *)verb, (char *)"--cluster", (char *)cluster,
			 up ? (char *)"--no-admin-token" : NULL, enable_debug ? (char *)"--enable-debug" : NULL,
			 NULL };
	struct dr_error err = DR_ERROR_INIT;
	struct proc_result r;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (proc_run(&r, argv, NULL, 60 * NS_PER_SEC, 1 << 20, &err) != 0)
		fprintf(stderr, "cannot run %s: %s\n", drillrig, err.msg);
	else if (!r.exited || r.exit_code != 0)
		fprintf(stderr, "drillrig cluster %s failed: %s%s\n", verb, r.errout ? r.errout : "",
			r.out ? r.out : "");
	else
		rc = 0;
	proc_result_release(&r);
	free(drillrig);
	return rc;
}

int k8s_double_env_up(struct k8s_double_env *e, const char *tag, int enable_debug)
{
	char *bindir;

	memset(e, 0, sizeof(*e));
	e->dir = drill_tmpdir(tag);
	e->cluster = xasprintf("%s/cluster", e->dir);
	e->log = xasprintf("%s/kubectl.log", e->dir);
	e->argv_log = xasprintf("%s/kubectl-argv.ndjson", e->dir);
	e->kubectl = build_path("tests/doubles/kubectl");
	if (!fs_exists(e->kubectl)) {
		fprintf(stderr, "the kubectl double %s is missing (make test builds it)\n", e->kubectl);
		return -1;
	}
	/* Drills find `kubectl` in PATH: the double comes first. */
	bindir = build_path("tests/doubles");
	e->path_env = xasprintf("%s:%s", bindir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	free(bindir);
	setenv("PATH", e->path_env, 1);
	setenv("KUBECTL_DOUBLE_CLUSTER", e->cluster, 1);
	setenv("KUBECTL_DOUBLE_LOG", e->log, 1);
	setenv("KUBECTL_DOUBLE_ARGV_LOG", e->argv_log, 1);
	/* The double's pods are distroless like the public image unless told
	 * otherwise; these tests drive drillrig's `kubectl exec ... grpcurl`
	 * admin path, which needs an image with grpcurl and kill. */
	setenv("KUBECTL_DOUBLE_IMAGE_TOOLS", "1", 1);
	return cluster_cmd("up", e->cluster, enable_debug);
}

void k8s_double_env_down(struct k8s_double_env *e)
{
	if (e->cluster)
		cluster_cmd("down", e->cluster, 0);
	if (e->dir)
		fs_remove_tree(e->dir, NULL);
	free(e->dir);
	free(e->cluster);
	free(e->log);
	free(e->argv_log);
	free(e->kubectl);
	free(e->path_env);
	memset(e, 0, sizeof(*e));
}
