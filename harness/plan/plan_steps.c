/* steps and rollback: action objects against the action table, with the
 * step-level rules (names, fault/undo, expect, timeouts, target support). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/core/target.h"
#include "harness/plan/actions.h"
#include "harness/plan/plan_sections.h"

enum step_mode { MODE_STEP, MODE_UNDO, MODE_ROLLBACK };

static const char *const step_keys[] = { "name", "action", "timeout", "expect", "fault",
					 "undo", "continue_on_failure", "description", NULL };
static const char *const undo_keys[] = { "name", "action", "timeout", "description", NULL };
static const char *const rollback_keys[] = { "name", "action", "timeout", "expect",
					     "description", NULL };

static const struct arg_spec bool_arg = { "flag", ARG_BOOL, 0, NULL, NULL, 0, 0, NULL };

/* Whether kind runs the action: generic actions run everywhere, the others
 * when the kind's own table has them (NULL kind: any target). */
static int kind_runs(const struct target_kind *kind, const struct action_spec *a)
{
	return !kind || (a->flags & ACTION_GENERIC) || target_action_find(kind->actions, a->name);
}

static char *action_list(unsigned flag_mask, const struct target_kind *kind)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; action_specs[i]; i++) {
		const struct action_spec *a = action_specs[i];

		if ((a->flags & flag_mask) != flag_mask || !kind_runs(kind, a))
			continue;
		strbuf_addf(&sb, "%s%s", sb.len ? ", " : "", a->name);
	}
	return strbuf_detach(&sb);
}

/* Keys people bring from other tools, answered with what to write here. */
static void misplaced_keys(struct schema_ctx *ctx, json_t *obj, const char *path)
{
	static const char *const nested[] = { "with", "args", "params", "arguments", NULL };

	for (size_t i = 0; nested[i]; i++) {
		if (!json_object_get(obj, nested[i]))
			continue;
		schema_err_key(ctx, obj, path, nested[i], "arguments go directly in the step "
			       "(e.g. 'region: primary'), not nested under '%s:'", nested[i]);
		json_object_del(obj, nested[i]);
	}
	if (json_object_get(obj, "target")) {
		schema_err_key(ctx, obj, path, "target", "'target' is the plan's target (local, "
			       "kubernetes, etcd); to choose what the action hits use 'what:' "
			       "(leader, follower, node, region)");
		json_object_del(obj, "target");
	}
}

static void check_expect(struct schema_ctx *ctx, json_t *obj, const char *path,
			 const struct action_spec *spec)
{
	json_t *e = json_object_get(obj, "expect");
	char *ep;

	if (!e)
		return;
	if (spec && strcmp(spec->name, "probe") == 0) {
		schema_err_key(ctx, obj, path, "expect", "a probe step's expectations go in its "
			       "probe's 'expect'");
		return;
	}
	if (!json_is_object(e)) {
		schema_err_key(ctx, obj, path, "expect", "expected a mapping of expectations");
		return;
	}
	ep = xasprintf("%s.expect", path);
	schema_check_args(ctx, e, ep, spec && (spec->flags & ACTION_HAS_STDOUT) ?
			  exec_expect_args : step_expect_args, NULL,
			  spec && (spec->flags & ACTION_HAS_STDOUT) ? "exec's expect" :
			  "a step's expect");
	free(ep);
}

/* Check one action object; returns its spec (NULL if the action is
 * unknown or missing).  Defaults are filled in. */
static const struct action_spec *check_action(struct schema_ctx *ctx, json_t *obj,
					      const char *path, enum step_mode mode)
{
	const char *const *keys = mode == MODE_STEP ? step_keys :
				  mode == MODE_UNDO ? undo_keys : rollback_keys;
	const char *names[64], *action, *near;
	const struct action_spec *spec;
	struct strbuf what = STRBUF_INIT;
	json_t *v;
	size_t n = 0;

	for (; action_specs[n] && n < 63; n++)
		names[n] = action_specs[n]->name;
	names[n] = NULL;
	misplaced_keys(ctx, obj, path);
	if (mode != MODE_STEP) {
		if (json_object_get(obj, "fault")) {
			schema_err_key(ctx, obj, path, "fault", mode == MODE_UNDO ?
				       "an undo cannot itself be a fault" :
				       "rollback actions cannot be faults (put faults in steps)");
			json_object_del(obj, "fault");
		}
		if (json_object_get(obj, "undo")) {
			schema_err_key(ctx, obj, path, "undo", mode == MODE_UNDO ?
				       "an undo cannot have its own undo" :
				       "rollback actions have no undo (they are the undo)");
			json_object_del(obj, "undo");
		}
	}
	v = json_object_get(obj, "action");
	action = json_string_value(v);
	if (!v) {
		schema_err_obj(ctx, obj, path, "missing required key 'action'");
		return NULL;
	}
	if (!action) {
		schema_err_key(ctx, obj, path, "action", "expected an action name");
		return NULL;
	}
	spec = action_find(action);
	if (!spec) {
		struct strbuf all = STRBUF_INIT;

		for (size_t i = 0; i < n; i++)
			strbuf_addf(&all, "%s%s", i ? ", " : "", names[i]);
		near = action_closest(action, names, n);
		if (near)
			schema_err_key(ctx, obj, path, "action", "unknown action '%s' (did you mean "
				       "'%s'?)", action, near);
		else
			schema_err_key(ctx, obj, path, "action", "unknown action '%s' (expected one "
				       "of: %s)", action, strbuf_str(&all));
		strbuf_release(&all);
		return NULL;
	}
	strbuf_addf(&what, "action '%s'", action);
	schema_check_args(ctx, obj, path, spec->args, keys, what.buf);
	strbuf_release(&what);
	if (!kind_runs(ctx->target_kind, spec)) {
		char *can = action_list(0, ctx->target_kind);

		schema_err_key(ctx, obj, path, "action", "target '%s' cannot run action '%s' "
			       "(it supports: %s)", ctx->target, action, can);
		free(can);
	}
	if ((v = json_object_get(obj, "name"))) {
		if (!json_is_string(v) || !schema_name_ok(json_string_value(v)))
			schema_err_key(ctx, obj, path, "name", "expected a step name of letters, "
				       "digits, '.', '_' and '-' (at most 64, starting with a letter "
				       "or digit)");
	}
	if ((v = json_object_get(obj, "description")) && !json_is_string(v))
		schema_err_key(ctx, obj, path, "description", "expected a string");
	if (json_object_get(obj, "timeout")) {
		static const struct arg_spec t = { "timeout", ARG_DURATION, 0, NULL, NULL, 0, 0,
						   NULL };

		if (schema_check_value(ctx, obj, "timeout", path, &t) == 0 &&
		    plan_section_duration(json_object_get(obj, "timeout")) <= 0)
			schema_err_key(ctx, obj, path, "timeout", "a step timeout must be positive");
	}
	if (json_object_get(obj, "continue_on_failure"))
		schema_check_value(ctx, obj, "continue_on_failure", path, &bool_arg);
	check_expect(ctx, obj, path, spec);
	if (spec->check)
		spec->check(ctx, obj, path);
	return spec;
}

static int64_t step_timeout(const json_t *obj, const struct action_spec *spec)
{
	const json_t *t = json_object_get(obj, "timeout");

	if (t)
		return plan_section_duration(t);
	if (strcmp(spec->name, "sleep") == 0)
		return plan_section_duration(json_object_get(obj, "duration")) + 5 * NS_PER_SEC;
	return spec->default_timeout_ns;
}

static void fill_step(struct plan_step *st, json_t *obj, const struct action_spec *spec,
		      struct schema_ctx *ctx, size_t index)
{
	const struct yj_pos *p = yj_node_pos(ctx->doc, obj);

	st->name = json_string_value(json_object_get(obj, "name"));
	st->action = spec->name;
	st->spec = spec;
	st->args = obj;
	st->timeout_ns = step_timeout(obj, spec);
	st->fault = json_is_true(json_object_get(obj, "fault"));
	st->continue_on_failure = json_is_true(json_object_get(obj, "continue_on_failure"));
	st->expect = json_object_get(obj, "expect");
	st->line = p ? p->line : 0;
	st->column = p ? p->column : 0;
	st->index = index;
}

/* Names: given, or "<action>-<n>" (n 1-based); unique in their list. */
static void name_step(struct schema_ctx *ctx, json_t *obj, const char *path, json_t *seen,
		      const char *prefix, const char *action, size_t index)
{
	const char *name = json_string_value(json_object_get(obj, "name"));
	json_t *first;

	if (!name) {
		char *derived = xasprintf("%s%s-%zu", prefix, action ? action : "step", index + 1);

		json_object_set_new(obj, "name", json_string(derived));
		free(derived);
		name = json_string_value(json_object_get(obj, "name"));
	}
	first = json_object_get(seen, name);
	if (first) {
		schema_err_key(ctx, obj, path, "name", "duplicate step name '%s' (first used by %s)",
			       name, json_string_value(first));
		return;
	}
	json_object_set_new(seen, name, json_string(path));
}

static void check_fault(struct schema_ctx *ctx, json_t *obj, const char *path,
			const struct action_spec *spec, struct plan_step *st)
{
	json_t *fault = json_object_get(obj, "fault"), *undo = json_object_get(obj, "undo");
	const struct action_spec *uspec;
	struct plan_step *us;
	char *up;

	if (fault && schema_check_value(ctx, obj, "fault", path, &bool_arg) != 0)
		return;
	fault = json_object_get(obj, "fault");  /* "${flag}" became a boolean */
	if (json_is_true(fault) && spec && !(spec->flags & ACTION_MAY_FAULT)) {
		char *all = action_list(ACTION_MAY_FAULT, NULL);

		schema_err_key(ctx, obj, path, "fault", "action '%s' cannot be a fault (faults: "
			       "%s)", spec->name, all);
		free(all);
	}
	if (!undo)
		return;
	if (!json_is_true(fault)) {
		schema_err_key(ctx, obj, path, "undo", "an undo is only allowed on a fault step "
			       "(add 'fault: true', or move this action to rollback)");
		return;
	}
	up = xasprintf("%s.undo", path);
	if (!json_is_object(undo)) {
		schema_err_key(ctx, obj, path, "undo", "expected an action mapping like {action: "
			       "scale, region: primary, replicas: normal}");
		free(up);
		return;
	}
	uspec = check_action(ctx, undo, up, MODE_UNDO);
	if (uspec && st) {
		if (!json_object_get(undo, "name")) {
			char *n = xasprintf("undo-%s", json_string_value(json_object_get(obj, "name")));

			json_object_set_new(undo, "name", json_string(n));
			free(n);
		}
		us = xcalloc(1, sizeof(*us));
		fill_step(us, undo, uspec, ctx, st->index);
		st->undo = undo;
		st->undo_step = us;
	}
	free(up);
}

static struct plan_step *check_list(struct schema_ctx *ctx, json_t *root, const char *key,
				    enum step_mode mode, size_t *count_out)
{
	json_t *list = json_object_get(root, key), *seen;
	struct plan_step *steps;
	size_t n;

	*count_out = 0;
	if (!list) {
		if (mode == MODE_STEP)
			schema_err_obj(ctx, root, "", "missing required key 'steps' (the drill's "
				       "actions)");
		list = json_array();
		json_object_set_new(root, key, list);
		return NULL;
	}
	if (!json_is_array(list)) {
		schema_err_key(ctx, root, "", key, "expected a list of actions");
		return NULL;
	}
	n = json_array_size(list);
	if (n == 0 && mode == MODE_STEP) {
		schema_err_key(ctx, root, "", key, "a drill needs at least one step");
		return NULL;
	}
	steps = xcalloc(n ? n : 1, sizeof(*steps));
	seen = json_object();
	for (size_t i = 0; i < n; i++) {
		json_t *obj = json_array_get(list, i);
		char *path = xasprintf("%s[%zu]", key, i);
		const struct action_spec *spec;

		if (!json_is_object(obj)) {
			const struct yj_pos *p = yj_index_pos(ctx->doc, list, i);

			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, p ? p->line : 0,
				       p ? p->column : 0, path, "expected an action mapping like "
				       "{name: ..., action: ...}");
			free(path);
			continue;
		}
		spec = check_action(ctx, obj, path, mode);
		name_step(ctx, obj, path, seen, mode == MODE_ROLLBACK ? "rollback-" : "",
			  spec ? spec->name : json_string_value(json_object_get(obj, "action")), i);
		if (spec)
			fill_step(&steps[i], obj, spec, ctx, i);
		if (spec && strcmp(spec->name, "await_leader") == 0 &&
		    json_is_true(json_object_get(obj, "changed")) && !ctx->have_fault)
			schema_err_key(ctx, obj, path, "changed", "'changed: true' compares with the "
				       "leader before the first fault, and no fault step comes before "
				       "this one");
		if (mode == MODE_STEP) {
			check_fault(ctx, obj, path, spec, spec ? &steps[i] : NULL);
			steps[i].fault = json_is_true(json_object_get(obj, "fault"));
			if (steps[i].fault)
				ctx->have_fault = 1;
		}
		if (spec && strcmp(spec->name, "snapshot") == 0)
			json_object_set_new(ctx->snapshot_steps,
					    json_string_value(json_object_get(obj, "name")),
					    json_true());
		if (spec && strcmp(spec->name, "restore_snapshot") == 0)
			ctx->have_restore = 1;
		free(path);
	}
	json_decref(seen);
	*count_out = n;
	return steps;
}

void plan_section_steps(struct schema_ctx *ctx, json_t *root, struct plan *plan)
{
	plan->steps = check_list(ctx, root, "steps", MODE_STEP, &plan->nsteps);
}

void plan_section_rollback(struct schema_ctx *ctx, json_t *root, struct plan *plan)
{
	plan->rollback = check_list(ctx, root, "rollback", MODE_ROLLBACK, &plan->nrollback);
}
