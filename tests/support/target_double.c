#include "tests/support/target_double.h"

#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/clock.h"

static void append_log(struct target_double *d, const char *action, const char *step)
{
	size_t len = strlen(d->log);

	snprintf(d->log + len, sizeof(d->log) - len, "%s(%s) ", action, step ? step : "");
}

static int dbl_start(struct target *t, const struct action_ctx *ctx, struct dr_error *err)
{
	struct target_double *d = t->impl;

	(void)err;
	if (ctx->dry_run)
		return 0;
	d->started = 1;
	append_log(d, "start", "");
	return 0;
}

static int dbl_lock(struct target *t, struct dr_error *err)
{
	struct target_double *d = t->impl;

	if (!d->lock_path) {
		d->locked = 1;
		return 0;
	}
	d->lock_fd = open(d->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (d->lock_fd < 0 || flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (d->lock_fd >= 0)
			close(d->lock_fd);
		d->lock_fd = -1;
		return dr_error_set(err, "another drill holds the lock '%s'", d->lock_path);
	}
	d->locked = 1;
	return 0;
}

static void dbl_unlock(struct target *t)
{
	struct target_double *d = t->impl;

	if (d->lock_fd >= 0) {
		flock(d->lock_fd, LOCK_UN);
		close(d->lock_fd);
		d->lock_fd = -1;
	}
	d->locked = 0;
}

/* One entry for every action: the name comes from the step's own args, as
 * every step and undo carries it. */
static void dbl_action(struct target *t, json_t *args, const struct action_ctx *ctx,
		       struct action_result *res)
{
	struct target_double *d = t->impl;
	const char *action = json_string_value(json_object_get(args, "action"));

	if (!action)
		action = "?";
	if (ctx->dry_run) {
		/* Like a real target: describe, touch nothing. */
		append_log(d, "dry", action);
		action_result_set(res, ACTION_OK, "would run %s", action);
		return;
	}
	append_log(d, action, ctx->step_name);
	if (d->interrupt_action && strcmp(action, d->interrupt_action) == 0 && ctx->interrupts)
		atomic_fetch_add(ctx->interrupts, d->interrupt_times ? d->interrupt_times : 1);
	if (d->lose_leader_action && strcmp(action, d->lose_leader_action) == 0)
		d->leader = 0;
	if (d->move_leader_action && strcmp(action, d->move_leader_action) == 0)
		d->leader++;
	if (d->hang_action && strcmp(action, d->hang_action) == 0) {
		while (!action_ctx_expired(ctx))
			clock_sleep_ns(NS_PER_MS);
		action_result_set(res, action_ctx_cancelled(ctx) ? ACTION_CANCELLED : ACTION_TIMED_OUT,
				  "hung until stopped");
		return;
	}
	if (d->fail_action && strcmp(action, d->fail_action) == 0) {
		if (!d->fail_always)
			d->fail_action = NULL;
		action_result_set(res, ACTION_FAILED, "%s failed on purpose", action);
		return;
	}
	action_result_set(res, ACTION_OK, "done");
}

/* Every target action of the plan schema; dry runs reach the double too
 * (TARGET_ACTION_OWN_DRY_RUN), so tests see what a dry run would have done. */
#define DBL(name) { name, TARGET_ACTION_OWN_DRY_RUN, dbl_action }
static const struct target_action dbl_actions[] = {
	DBL("scale"), DBL("kill"), DBL("stop"), DBL("start"), DBL("pause"), DBL("resume"),
	DBL("partition"), DBL("heal"), DBL("drain_node"), DBL("zone_down"),
	DBL("force_election"), DBL("transfer_leader"), DBL("snapshot"), DBL("restore_snapshot"),
	{ NULL, 0, NULL },
};

static int dbl_status(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err)
{
	struct target_double *d = t->impl;

	(void)timeout_ns;
	(void)err;
	/* "calls": the call log so far, so a test can tell when a status was
	 * taken (journal cluster_before). */
	*out = json_pack("{s:i,s:o,s:b,s:s,s:[{s:i,s:s,s:s,s:s}],s:s}", "term", 1,
			 "leader", d->leader ? json_pack("{s:i,s:s,s:s}", "id", d->leader,
							 "region", "primary", "region_role", "primary")
					     : json_null(),
			 "quorum", 1, "replication", "Fully replicated",
			 "members", "id", 1, "region", "primary", "region_role", "primary",
			 "state", d->leader ? "leader" : "follower", "calls", d->log);
	return 0;
}

static const char *dbl_resolve(struct target *t, const char *ref)
{
	(void)t;
	return ref;
}

static json_t *dbl_describe(struct target *t)
{
	(void)t;
	return json_pack("{s:s,s:s}", "kind", "double", "description", "runner test double");
}

static void dbl_close(struct target *t, int keep)
{
	struct target_double *d = t->impl;

	(void)keep;
	d->closed = 1;
}

void target_double_init(struct target_double *d)
{
	memset(d, 0, sizeof(*d));
	d->leader = 1;
	d->lock_fd = -1;
	d->base.kind = "double";
	d->base.impl = d;
	d->base.start = dbl_start;
	d->base.lock = dbl_lock;
	d->base.unlock = dbl_unlock;
	d->base.actions = dbl_actions;
	d->base.status = dbl_status;
	d->base.endpoints = NULL;
	d->base.resolve_region = dbl_resolve;
	d->base.describe = dbl_describe;
	d->base.close = dbl_close;
}

int target_double_called(const struct target_double *d, const char *needle)
{
	return strstr(d->log, needle) != NULL;
}

int target_double_pos(const struct target_double *d, const char *needle)
{
	const char *p = strstr(d->log, needle);

	return p ? (int)(p - d->log) : -1;
}
