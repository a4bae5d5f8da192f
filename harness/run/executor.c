#include "harness/run/executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertions/expect.h"
#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/plan/actions.h"
#include "harness/plan/duration.h"
#include "harness/plan/plan.h"
#include "harness/probe/probe.h"
#include "harness/run/notify.h"

#define AWAIT_POLL_NS (50 * NS_PER_MS)

typedef void (*generic_fn)(struct target *t, json_t *args, const struct action_ctx *ctx,
			   struct action_result *res);

/* ---- awaits: bounded polls of the target's status ---------------------- */

struct await_check {
	int (*holds)(struct target *t, json_t *status, json_t *args, const struct action_ctx *ctx,
		     char *why, size_t len);
	const char *what;
};

static int leader_in_region(struct target *t, json_t *status, const char *ref)
{
	json_t *leader = json_object_get(status, "leader");
	const char *region = json_string_value(json_object_get(leader, "region"));
	const char *role = json_string_value(json_object_get(leader, "region_role"));
	const char *name = t->resolve_region ? t->resolve_region(t, ref) : NULL;

	if (!json_is_object(leader))
		return 0;
	if (!ref)
		return 1;
	if (name && region && strcmp(name, region) == 0)
		return 1;
	return role && strcmp(role, ref) == 0;
}

/* await_leader changed: true — the leader before the first fault may still
 * be named for an election timeout (a node keeps its view that long), so
 * only another node proves the fault moved leadership. */
static int leader_changed(json_t *leader, const struct action_ctx *ctx, char *why, size_t len)
{
	json_int_t id = json_integer_value(json_object_get(leader, "id"));

	if (ctx->leader_before_fault == 0) {
		snprintf(why, len, "leader %lld, and the leader before the first fault is not "
			 "known (its status failed; see the journal's notes)", (long long)id);
		return 0;
	}
	if (id > 0 && id == ctx->leader_before_fault) {
		snprintf(why, len, "leader %lld is still the one from before the first fault",
			 (long long)id);
		return 0;
	}
	return 1;
}

static int holds_leader(struct target *t, json_t *status, json_t *args,
			const struct action_ctx *ctx, char *why, size_t len)
{
	const char *region = plan_arg_str(args, "region");
	json_t *leader = json_object_get(status, "leader");
	int changed = plan_arg_bool(args, "changed", 0);

	if (leader_in_region(t, status, region)) {
		if (changed && !leader_changed(leader, ctx, why, len))
			return 0;
		snprintf(why, len, "leader %lld in region %s (term %lld)%s",
			 (long long)json_integer_value(json_object_get(leader, "id")),
			 json_string_value(json_object_get(leader, "region")) ?: "?",
			 (long long)json_integer_value(json_object_get(status, "term")),
			 !changed ? ""
			 : ctx->leader_before_fault > 0 ? ", not the one from before the first fault"
							: ", none led before the first fault");
		return 1;
	}
	if (json_is_object(leader))
		snprintf(why, len, "leader %lld is in region %s, not %s",
			 (long long)json_integer_value(json_object_get(leader, "id")),
			 json_string_value(json_object_get(leader, "region")) ?: "?", region);
	else
		snprintf(why, len, "no leader");
	return 0;
}

static int holds_replicated(struct target *t, json_t *status, json_t *args,
			    const struct action_ctx *ctx, char *why, size_t len)
{
	const char *repl = json_string_value(json_object_get(status, "replication"));
	int64_t max_lag = plan_arg_duration_ns(args, "max_lag", -1);
	json_t *members = json_object_get(status, "members"), *m;
	double worst = 0;
	size_t i;

	(void)t;
	(void)ctx;
	if (!json_is_object(json_object_get(status, "leader"))) {
		snprintf(why, len, "no leader");
		return 0;
	}
	if (max_lag <= 0) {
		snprintf(why, len, "%s", repl ? repl : "replication state unknown");
		return repl && strcmp(repl, "Fully replicated") == 0;
	}
	json_array_foreach(members, i, m) {
		const char *state = json_string_value(json_object_get(m, "state"));
		double lag = json_number_value(json_object_get(m, "lag_seconds"));

		if (state && strcmp(state, "unreachable") == 0) {
			snprintf(why, len, "member %lld is unreachable",
				 (long long)json_integer_value(json_object_get(m, "id")));
			return 0;
		}
		if (lag > worst)
			worst = lag;
	}
	snprintf(why, len, "largest lag %.3fs", worst);
	return worst * 1e9 <= (double)max_lag;
}

static int holds_healthy(struct target *t, json_t *status, json_t *args,
			 const struct action_ctx *ctx, char *why, size_t len)
{
	json_t *members = json_object_get(status, "members"), *m;
	size_t i;

	(void)t;
	(void)args;
	(void)ctx;
	if (!json_is_object(json_object_get(status, "leader"))) {
		snprintf(why, len, "no leader");
		return 0;
	}
	if (!json_is_true(json_object_get(status, "quorum"))) {
		snprintf(why, len, "no quorum");
		return 0;
	}
	json_array_foreach(members, i, m) {
		const char *state = json_string_value(json_object_get(m, "state"));

		if (!state || strcmp(state, "unreachable") == 0) {
			snprintf(why, len, "member %lld is %s",
				 (long long)json_integer_value(json_object_get(m, "id")),
				 state ? state : "in an unknown state");
			return 0;
		}
	}
	snprintf(why, len, "leader present, quorum, %zu members answering", json_array_size(members));
	return 1;
}

static const struct await_check await_leader_check = { holds_leader, "a leader" };
static const struct await_check await_replicated_check = { holds_replicated, "full replication" };
static const struct await_check await_healthy_check = { holds_healthy, "a healthy cluster" };

static void run_await(const struct await_check *chk, struct target *t, json_t *args,
		      const struct action_ctx *ctx, struct action_result *res)
{
	char why[512] = "no status yet";
	int64_t start = clock_mono_ns();

	for (;;) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *status = NULL;

		if (t->status(t, &status, 1 * NS_PER_SEC, &err) == 0) {
			int ok = chk->holds(t, status, args, ctx, why, sizeof(why));

			json_decref(status);
			if (ok) {
				action_result_set(res, ACTION_OK, "%s after %.2fs", why,
						  (double)(clock_mono_ns() - start) / 1e9);
				return;
			}
		} else {
			snprintf(why, sizeof(why), "%.500s", err.msg);
		}
		if (action_ctx_cancelled(ctx)) {
			action_result_set(res, ACTION_CANCELLED, "interrupted while waiting for %s (%s)",
					  chk->what, why);
			return;
		}
		if (action_ctx_expired(ctx)) {
			action_result_set(res, ACTION_TIMED_OUT, "no %s within the timeout: last seen %s",
					  chk->what + (strncmp(chk->what, "a ", 2) == 0 ? 2 : 0), why);
			return;
		}
		action_ctx_sleep(ctx, AWAIT_POLL_NS);
	}
}

static void act_await_leader(struct target *t, json_t *args, const struct action_ctx *ctx,
			     struct action_result *res)
{
	run_await(&await_leader_check, t, args, ctx, res);
}

static void act_await_replicated(struct target *t, json_t *args, const struct action_ctx *ctx,
				 struct action_result *res)
{
	run_await(&await_replicated_check, t, args, ctx, res);
}

static void act_await_healthy(struct target *t, json_t *args, const struct action_ctx *ctx,
			      struct action_result *res)
{
	run_await(&await_healthy_check, t, args, ctx, res);
}

/* ---- the other generic actions ------------------------------------------ */

static void act_sleep(struct target *t, json_t *args, const struct action_ctx *ctx,
		      struct action_result *res)
{
	int64_t ns = plan_arg_duration_ns(args, "duration", 0);
	char d[32];

	(void)t;
	duration_format(d, sizeof(d), ns);
	if (action_ctx_sleep(ctx, ns))
		action_result_set(res, ACTION_CANCELLED, "interrupted during a %s sleep", d);
	else
		action_result_set(res, ACTION_OK, "slept %s", d);
}

static void act_probe(struct target *t, json_t *args, const struct action_ctx *ctx,
		      struct action_result *res)
{
	struct probe_result pr = PROBE_RESULT_INIT;
	json_t *spec = json_object_get(args, "probe");

	probe_run(&pr, t, json_is_object(spec) ? spec : args, ctx);
	if (action_ctx_cancelled(ctx) && !pr.ok)
		action_result_set(res, ACTION_CANCELLED, "interrupted: %s", pr.message);
	else
		action_result_set(res, pr.ok ? ACTION_OK : ACTION_FAILED, "%s", pr.message);
	res->data = probe_result_to_json(&pr, ctx->journal);
	probe_result_release(&pr);
}

static void act_exec(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct probe_result pr = PROBE_RESULT_INIT;

	probe_run_command(&pr, t, args, json_object_get(args, "expect"), ctx);
	action_result_set(res, pr.ok ? ACTION_OK : ACTION_FAILED, "%s", pr.message);
	res->data = probe_result_to_json(&pr, ctx->journal);
	probe_result_release(&pr);
}

static void act_notify(struct target *t, json_t *args, const struct action_ctx *ctx,
		       struct action_result *res)
{
	struct dr_error err = DR_ERROR_INIT;
	const char *message = plan_arg_str(args, "message");

	(void)t;
	if (notify_send_from_args(args, message ? message : "drillrig drill notification",
				  ctx, &err) != 0)
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
	else
		action_result_set(res, ACTION_OK, "notification sent");
}

static const struct {
	const char *name;
	generic_fn fn;
} generic_actions[] = {
	{ "sleep", act_sleep },
	{ "probe", act_probe },
	{ "exec", act_exec },
	{ "notify", act_notify },
	{ "await_leader", act_await_leader },
	{ "await_replicated", act_await_replicated },
	{ "await_healthy", act_await_healthy },
};

int executor_is_generic(const char *action)
{
	for (size_t i = 0; i < sizeof(generic_actions) / sizeof(generic_actions[0]); i++)
		if (strcmp(generic_actions[i].name, action) == 0)
			return 1;
	return 0;
}

static char *action_args_display(json_t *args)
{
	static const char *const bookkeeping[] = { "name", "action", "fault", "undo",
						   "continue_on_failure" };
	json_t *shown = json_is_object(args) ? json_deep_copy(args) : json_object();
	char *text;

	for (size_t i = 0; i < sizeof(bookkeeping) / sizeof(bookkeeping[0]); i++)
		json_object_del(shown, bookkeeping[i]);
	text = json_dumps(shown, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(shown);
	return text ? text : xstrdup("{}");
}

/* A dry run's answer: ok, "would run <action> <args> <where>". */
static void describe_dry_run(struct action_result *res, const char *action, json_t *args,
			     const char *where)
{
	char *text = action_args_display(args);

	action_result_set(res, ACTION_OK, "would run %s %s%s%s", action, text, where ? " " : "",
			  where ? where : "");
	free(text);
}

static void executor_dispatch(struct target *t, const char *action, json_t *args,
			      const struct action_ctx *ctx, struct action_result *res);

/* A generic action's dry run: the calls the target says it would make
 * (dry_run_calls), else a description. */
static void describe_generic_dry_run(struct target *t, const char *action, json_t *args,
				     const struct action_ctx *ctx, struct action_result *res)
{
	char *text;

	if (!ctx->dry_run || !t->dry_run_calls || !t->dry_run_calls(t, action, args, ctx)) {
		describe_dry_run(res, action, args, NULL);
		return;
	}
	text = action_args_display(args);
	action_result_set(res, ACTION_OK, "would make the calls printed above (%s %s)", action, text);
	free(text);
}

/* A step's `expect: {json: [{path, equals|...}]}` against its result data. */
/* 1 when a check's `targets` (absent: every target) include kind. */
static int check_applies(json_t *item, const char *kind)
{
	json_t *targets = json_object_get(item, "targets"), *t;
	size_t i;

	if (!targets)
		return 1;
	json_array_foreach(targets, i, t)
		if (kind && json_string_value(t) && strcmp(json_string_value(t), kind) == 0)
			return 1;
	return 0;
}

static void check_step_expect(json_t *expect, const char *kind, struct action_result *res)
{
	json_t *list = json_object_get(expect, "json"), *item;
	struct strbuf skipped = STRBUF_INIT;
	size_t i;

	if (res->status != ACTION_OK || !json_is_array(list))
		return;
	json_array_foreach(list, i, item) {
		static const char *const ops[] = { "equals", "not_equals", "ne", "matches", "lt", "le",
						   "gt", "ge" };
		const char *path = json_string_value(json_object_get(item, "path"));
		json_t *exists = json_object_get(item, "exists");

		/* Evidence this target does not give: said, never passed in silence. */
		if (!check_applies(item, kind)) {
			strbuf_addf(&skipped, "%s%s", skipped.len ? ", " : "", path ? path : "?");
			continue;
		}

		if (json_is_boolean(exists)) {
			struct dr_error err = DR_ERROR_INIT;
			json_t *found = NULL;
			int present = json_path_lookup(&found, res->data ? res->data : json_null(),
						       path ? path : "", &err) == 0 && found;

			if (present != json_is_true(exists)) {
				action_result_set(res, ACTION_FAILED, "expectation failed: %s is %s",
						  path ? path : "?", present ? "present" : "absent");
				goto out;
			}
		}
		for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
			struct dr_error err = DR_ERROR_INIT;
			struct expect_result er;
			json_t *want = json_object_get(item, ops[k]);
			enum expect_op op;

			if (!want)
				continue;
			if (expect_op_parse(&op, ops[k], &err) != 0 ||
			    expect_json_field(&er, res->data ? res->data : json_null(), path, op, want,
					      &err) != 0) {
				action_result_set(res, ACTION_FAILED, "expectation on %s: %.800s",
						  path ? path : "?", err.msg);
				goto out;
			}
			if (!er.passed) {
				action_result_set(res, ACTION_FAILED, "expectation failed: %.800s", er.message);
				goto out;
			}
		}
	}
	if (skipped.len) {
		size_t used = strlen(res->message);

		snprintf(res->message + used, sizeof(res->message) - used, "%s(not checked on the %s "
			 "target, which does not report it: %s)", used ? " " : "", kind ? kind : "?",
			 strbuf_str(&skipped));
	}
out:
	strbuf_release(&skipped);
}

void executor_run(struct target *t, const char *action, json_t *args, json_t *expect,
		  const struct action_ctx *ctx, struct action_result *res)
{
	executor_dispatch(t, action, args, ctx, res);
	if (!ctx->dry_run && !ctx->server_dry_run && strcmp(action, "exec") != 0)
		check_step_expect(expect, t->kind, res);
}

/* A generic action aimed at a separate cluster (region: restored) runs
 * against that cluster's own target, without the region filter. */
static struct target *scoped(struct target *t, json_t *args, json_t **scoped_args)
{
	json_t *probe = json_object_get(args, "probe");
	const char *ref = plan_arg_str(args, "region");
	struct target *sub;

	*scoped_args = NULL;
	if (!ref && json_is_object(probe))
		ref = plan_arg_str(probe, "region");
	if (!ref || !t->scope || !(sub = t->scope(t, ref)))
		return t;
	*scoped_args = json_deep_copy(args);
	json_object_del(*scoped_args, "region");
	json_object_del(json_object_get(*scoped_args, "probe"), "region");
	return sub;
}

static void executor_dispatch(struct target *t, const char *action, json_t *args,
			      const struct action_ctx *ctx, struct action_result *res)
{
	const struct target_action *own;

	for (size_t i = 0; i < sizeof(generic_actions) / sizeof(generic_actions[0]); i++) {
		if (strcmp(generic_actions[i].name, action) != 0)
			continue;
		if (ctx->dry_run || ctx->server_dry_run) {
			describe_generic_dry_run(t, action, args, ctx, res);
			return;
		}
		{
			json_t *sargs = NULL;
			struct target *st = scoped(t, args, &sargs);

			generic_actions[i].fn(st, sargs ? sargs : args, ctx, res);
			json_decref(sargs);
		}
		return;
	}
	own = target_action_find(t->actions, action);
	if (!own) {
		action_result_set(res, ACTION_UNSUPPORTED, "the %s target cannot run '%s'", t->kind,
				  action);
		return;
	}
	/* Some actions describe their own dry run: the Kubernetes target prints
	 * the exact commands it would run. */
	if (ctx->dry_run && !(own->flags & TARGET_ACTION_OWN_DRY_RUN)) {
		describe_dry_run(res, action, args, t->dry_run_where);
		return;
	}
	own->run(t, args, ctx, res);
	if (res->status == ACTION_UNSUPPORTED && !res->message[0])
		action_result_set(res, ACTION_UNSUPPORTED, "the %s target cannot run '%s'",
				  t->kind, action);
}

int64_t executor_default_timeout(json_t *action_obj)
{
	const char *name = json_string_value(json_object_get(action_obj, "action"));
	const struct action_spec *spec = name ? action_find(name) : NULL;
	int64_t dflt = spec ? spec->default_timeout_ns : 60 * NS_PER_SEC;

	return plan_arg_duration_ns(action_obj, "timeout", dflt);
}

int is_restore_action(const struct plan_step *step)
{
	static const char *const restoring[] = { "scale", "start", "resume", "heal", "disk_free" };

	if (step->fault)
		return 0;
	/* Scaling down without fault: true is not bringing anything back. */
	if (strcmp(step->action, "scale") == 0) {
		json_t *replicas = json_object_get(step->args, "replicas");

		return json_is_string(replicas) || json_integer_value(replicas) > 0;
	}
	for (size_t i = 0; i < sizeof(restoring) / sizeof(restoring[0]); i++)
		if (strcmp(step->action, restoring[i]) == 0)
			return 1;
	return 0;
}
