/* drillrig recover for the local target: the state is DIR/drill.state.json
 * next to the cluster's drill lock; a cluster the interrupted drill had
 * started itself is taken down afterwards unless --keep-cluster. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/core/exit_codes.h"
#include "harness/core/journal.h"
#include "harness/target/local/local.h"
#include "harness/target/local/local_impl.h"
#include "harness/target/shared/state_file.h"

static int usage_error(struct target_recover_args *args, const char *msg)
{
	snprintf(args->usage_error, sizeof(args->usage_error), "%s", msg);
	return EXIT_USAGE;
}

/* A cluster the interrupted drill had started goes down with it. */
static int take_down_owned(struct target *t, const char *cluster, json_t *state, int keep,
			   int *locked)
{
	struct dr_error err = DR_ERROR_INIT;

	if (!json_is_true(json_object_get(json_object_get(state, "target"), "owned")) || keep)
		return EXIT_PASSED;
	t->unlock(t);
	*locked = 0;
	if (cluster_down(cluster, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		return EXIT_INFRA;
	}
	printf("the interrupted drill had started this cluster: it is down now\n");
	fs_remove_tree(cluster, &err);
	return EXIT_PASSED;
}

int local_recover(struct target_recover_args *args)
{
	const struct target_opts *o = &args->opts;
	struct target_opts topts = TARGET_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct action_ctx ctx = ACTION_CTX_INIT;
	struct target *t = NULL;
	struct journal *j = NULL;
	char *state_path = NULL;
	json_t *state = NULL;
	int code = EXIT_INFRA, locked = 0, missing = 0;

	if (!o->cluster_dir)
		return usage_error(args, "--cluster DIR (local) or --target kubernetes "
				   "--target-config FILE is required");
	if (o->config_path || o->dry_run)
		return usage_error(args, "--target-config and --dry-run are for --target kubernetes");
	state_path = xasprintf("%s/drill.state.json", o->cluster_dir);
	if (state_file_load(&state, &missing, state_path, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	if (missing) {
		printf("nothing to recover: no interrupted drill left state in '%s'\n", o->cluster_dir);
		code = EXIT_PASSED;
		goto out;
	}
	topts.cluster_dir = o->cluster_dir;
	if (target_kind_local.create(&t, NULL, &topts, &err) != 0 || t->lock(t, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	locked = 1;
	args->catch_interrupts();
	j = journal_new();
	if (t->start(t, &ctx, &err) != 0) {
		fprintf(stderr, "drillrig recover: %s\n", err.msg);
		goto out;
	}
	printf("recovering the drill of pid %lld (plan %s) in %s\n",
	       (long long)json_integer_value(json_object_get(state, "pid")),
	       json_string_value(json_object_get(state, "plan")) ?: "?", o->cluster_dir);
	if (args->replay(t, j, state, NULL, 0) != 0) {
		printf("not everything was restored; the state stays in %s\n", state_path);
		code = EXIT_ROLLBACK_FAILED;
		goto out;
	}
	unlink(state_path);
	printf("restored: the cluster is fully replicated\n");
	code = take_down_owned(t, o->cluster_dir, state, o->keep, &locked);
out:
	if (t) {
		if (locked)
			t->unlock(t);
		t->close(t, 1);
	}
	journal_free(j);
	json_decref(state);
	free(state_path);
	return code;
}
