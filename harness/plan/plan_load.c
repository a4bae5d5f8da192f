/* plan_load: read, parse (yaml_json), substitute ${vars}, check every
 * section, and hand back a typed struct plan only when nothing is wrong. */
#include <assert.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/core/target.h"
#include "harness/plan/actions.h"
#include "harness/plan/plan_sections.h"
#include "harness/plan/vars.h"
#include "ledger/client/types.h"

#define PLAN_MAX_BYTES (4u << 20)

static const char *const top_keys[] = { "version", "name", "description", "target", "api",
					"topology", "vars", "deadline", "abort_when",
					"objectives", "workload", "steady_state", "steps",
					"rollback", NULL };

static void on_parse_error(unsigned line, unsigned column, const char *msg, void *payload)
{
	struct schema_ctx *ctx = payload;

	plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, line, column, "", "%s", msg);
}

static int looks_like_json(const char *path, const char *text, size_t len)
{
	const char *dot = strrchr(path, '.');

	if (dot && strcmp(dot, ".json") == 0)
		return 1;
	if (dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)text[i]))
			return text[i] == '{';
	return 0;
}

/* ---- variables ------------------------------------------------------------- */

static char *scalar_text(const json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_real(v))
		return xasprintf("%.17g", json_real_value(v));
	if (json_is_boolean(v))
		return xstrdup(json_is_true(v) ? "true" : "false");
	return NULL;
}

static void add_var(struct plan *plan, const char *name)
{
	struct plan_var *v;

	plan->vars = xrealloc(plan->vars, (plan->nvars + 1) * sizeof(*plan->vars));
	v = &plan->vars[plan->nvars++];
	memset(v, 0, sizeof(*v));
	v->name = xstrdup(name);
}

static void section_vars(struct schema_ctx *ctx, json_t *root, struct plan *plan,
			 const struct plan_load_opts *opts)
{
	static const struct arg_spec args[] = {
		{ "description", ARG_STRING, 0, NULL, NULL, 0, 0, "what it is for" },
		{ "secret", ARG_BOOL, 0, NULL, NULL, 0, 0, "redact its value everywhere" },
		{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
	};
	static const char *const extra[] = { "default", NULL };
	json_t *vars = json_object_get(root, "vars"), *v;
	const char *name;
	size_t nerr;

	if (vars && !json_is_object(vars)) {
		schema_err_key(ctx, root, "", "vars", "expected a mapping of variable names to "
			       "{default, secret, description} (or to a default value)");
		vars = NULL;
	}
	json_object_foreach(vars, name, v) {
		char *path = xasprintf("vars.%s", name);
		struct plan_var *pv;
		json_t *d;

		if (!vars_valid_name(name)) {
			const struct yj_pos *p = yj_key_pos(ctx->doc, vars, name);

			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, p ? p->line : 0,
				       p ? p->column : 0, path, "invalid variable name (letters, "
				       "digits and _, not starting with a digit)");
			free(path);
			continue;
		}
		if (strncmp(name, "__", 2) == 0) {
			const struct yj_pos *p = yj_key_pos(ctx->doc, vars, name);

			/* The state file writes a literal "$" before a secret as
			 * ${__dollar__} (vars.c): a plan variable of that name
			 * would take its place when `recover` reads it back. */
			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, p ? p->line : 0,
				       p ? p->column : 0, path, "variable names starting with '__' "
				       "are drillrig's own (${__dollar__} in the state file)");
			free(path);
			continue;
		}
		add_var(plan, name);
		pv = &plan->vars[plan->nvars - 1];
		if (json_is_object(v)) {
			nerr = ctx->diags->errors;
			schema_check_args(ctx, v, path, args, extra, "a variable");
			if (ctx->diags->errors == nerr) {
				pv->secret = json_is_true(json_object_get(v, "secret"));
				if (json_object_get(v, "description"))
					pv->description = xstrdup(json_string_value(
						json_object_get(v, "description")));
			}
			d = json_object_get(v, "default");
		} else {
			d = v;
		}
		if (d) {
			pv->value = scalar_text(d);
			if (!pv->value)
				schema_err_key(ctx, json_is_object(v) ? v : vars, json_is_object(v) ?
					       path : "vars", json_is_object(v) ? "default" : name,
					       "expected a scalar default (string, number or boolean)");
		}
		free(path);
	}
	for (size_t i = 0; opts && i < opts->nvars; i++) {
		const char *kv = opts->vars[i], *eq = strchr(kv, '=');
		struct plan_var *pv = NULL;
		char *k;

		if (!eq || eq == kv) {
			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, 0, 0, "--var",
				       "expected NAME=VALUE, got '%s'", kv);
			continue;
		}
		k = xstrndup(kv, (size_t)(eq - kv));
		for (size_t j = 0; j < plan->nvars; j++)
			if (strcmp(plan->vars[j].name, k) == 0)
				pv = &plan->vars[j];
		if (!pv) {
			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, 0, 0, "--var",
				       "variable '%s' is not declared in the plan's vars", k);
		} else {
			free(pv->value);
			pv->value = xstrdup(eq + 1);
			pv->from_cli = 1;
		}
		free(k);
	}
	/* DRILLRIG_VAR_<name>: a value kept out of argv (and so out of ps),
	 * below --var and --var-file; names the plan does not declare are
	 * ignored (the environment may serve other plans too). */
	for (size_t i = 0; opts && (opts->flags & PLAN_LOAD_VARS_FROM_ENV) && i < plan->nvars; i++) {
		char *env = xasprintf("DRILLRIG_VAR_%s", plan->vars[i].name);
		const char *val = plan->vars[i].from_cli ? NULL : getenv(env);

		if (val) {
			free(plan->vars[i].value);
			plan->vars[i].value = xstrdup(val);
			plan->vars[i].from_cli = 1;
		}
		free(env);
	}
	for (size_t i = 0; i < plan->nvars; i++) {
		if (plan->vars[i].value)
			continue;
		schema_err_key(ctx, vars, "vars", plan->vars[i].name, "variable '%s' has no default: "
			       "give it with --var %s=VALUE, --var-file %s=PATH or DRILLRIG_VAR_%s",
			       plan->vars[i].name, plan->vars[i].name, plan->vars[i].name,
			       plan->vars[i].name);
		plan->vars[i].value = xstrdup("");
	}
}

static void mark_var(struct schema_ctx *ctx, json_t *parent, const char *key,
		     size_t index, int by_index, unsigned flag)
{
	const struct yj_pos *p = by_index ? yj_index_pos(ctx->doc, parent, index) :
					    yj_value_pos(ctx->doc, parent, key);
	struct yj_pos pos = p ? *p : (struct yj_pos){ 0, 0, 0 };

	pos.flags |= flag;
	if (by_index)
		yj_set_index_pos(ctx->doc, parent, index, &pos);
	else
		yj_set_value_pos(ctx->doc, parent, key, &pos);
}

/* Expand ${var} in every string under node (keys stay as written). */
static void substitute(struct schema_ctx *ctx, json_t *node, const char *path,
		       const struct plan *plan)
{
	const char *key;
	json_t *v;

	if (json_is_object(node)) {
		json_object_foreach(node, key, v) {
			char *p;

			if (node == ctx->doc->root && strcmp(key, "vars") == 0)
				continue;
			p = path[0] ? xasprintf("%s.%s", path, key) : xstrdup(key);
			if (json_is_string(v)) {
				struct dr_error err = DR_ERROR_INIT;
				char *out;
				int whole, rc;

				rc = vars_expand(&out, &whole, json_string_value(v), plan->vars,
						 plan->nvars, &err);
				if (rc < 0) {
					schema_err_key(ctx, node, path, key, "%s", err.msg);
					mark_var(ctx, node, key, 0, 0, YJ_VAR_ERROR);
				} else if (rc > 0) {
					json_object_set_new(node, key, json_string(out));
					if (whole)
						mark_var(ctx, node, key, 0, 0, YJ_FROM_VAR);
					free(out);
				}
			} else {
				substitute(ctx, v, p, plan);
			}
			free(p);
		}
	} else if (json_is_array(node)) {
		for (size_t i = 0; i < json_array_size(node); i++) {
			char *p = xasprintf("%s[%zu]", path, i);

			v = json_array_get(node, i);
			if (json_is_string(v)) {
				struct dr_error err = DR_ERROR_INIT;
				char *out;
				int whole, rc;

				rc = vars_expand(&out, &whole, json_string_value(v), plan->vars,
						 plan->nvars, &err);
				if (rc < 0) {
					const struct yj_pos *pos = yj_index_pos(ctx->doc, node, i);

					plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file,
						       pos ? pos->line : 0, pos ? pos->column : 0, p,
						       "%s", err.msg);
					mark_var(ctx, node, NULL, i, 1, YJ_VAR_ERROR);
				} else if (rc > 0) {
					json_array_set_new(node, i, json_string(out));
					if (whole)
						mark_var(ctx, node, NULL, i, 1, YJ_FROM_VAR);
					free(out);
				}
			} else {
				substitute(ctx, v, p, plan);
			}
			free(p);
		}
	}
}

/* ---- top level --------------------------------------------------------------- */

static const struct target_kind *find_kind(const struct target_kind *const *kinds,
					   const char *name)
{
	for (size_t i = 0; kinds[i]; i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return kinds[i];
	return NULL;
}

/* The plan's target and its kind; an unknown one is reported and the plan
 * is checked as for the first kind (local), so its other errors show too. */
static void check_target(struct schema_ctx *ctx, json_t *root, struct plan *plan,
			 const struct plan_load_opts *opts)
{
	const struct target_kind *const *kinds = opts->targets;
	json_t *v = json_object_get(root, "target");
	const char *target = opts->target ? opts->target :
			     json_is_string(v) ? json_string_value(v) : kinds[0]->name;
	const char *names[16];
	struct strbuf list = STRBUF_INIT;
	size_t n = 0;

	for (; kinds[n] && n < 15; n++) {
		names[n] = kinds[n]->name;
		strbuf_addf(&list, "%s%s", n ? ", " : "", kinds[n]->name);
	}
	names[n] = NULL;
	if (v && !json_is_string(v)) {
		schema_err_key(ctx, root, "", "target", "expected one of: %s", list.buf);
		target = kinds[0]->name;
	} else if (!find_kind(kinds, target)) {
		const char *near = action_closest(target, names, n);

		if (opts->target)
			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, 0, 0, "--target",
				       "unknown target '%s' (expected one of: %s)", target, list.buf);
		else
			schema_err_key(ctx, root, "", "target", "unknown target '%s' (%s%s%s"
				       "expected one of: %s)", target, near ? "did you mean '" : "",
				       near ? near : "", near ? "'? " : "", list.buf);
		target = kinds[0]->name;
	}
	strbuf_release(&list);
	plan->target = xstrdup(target);
	plan->target_kind = find_kind(kinds, target);
	ctx->target = plan->target;
	ctx->target_kind = plan->target_kind;
}

/* The ledger dialect: a name the client knows, on a kind that speaks the
 * ledger API (etcd has its own). */
static void check_api(struct schema_ctx *ctx, json_t *root, struct plan *plan,
		      const struct plan_load_opts *opts)
{
	json_t *v = json_object_get(root, "api");
	const char *api = opts->api ? opts->api : json_string_value(v);
	enum ledger_api parsed;

	if (!opts->api && v && !json_is_string(v)) {
		schema_err_key(ctx, root, "", "api", "expected runbook or ledger.v1");
		return;
	}
	if (!api)
		return;
	if (ledger_api_parse(&parsed, api) != 0) {
		if (opts->api)
			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, 0, 0, "--api",
				       "unknown ledger API '%s' (expected runbook or ledger.v1)", api);
		else
			schema_err_key(ctx, root, "", "api", "unknown ledger API '%s' (expected "
				       "runbook or ledger.v1)", api);
		return;
	}
	if (!(plan->target_kind->flags & TARGET_KIND_LEDGER_API)) {
		if (opts->api)
			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, 0, 0, "--api",
				       "the %s target does not speak the ledger API (--api applies "
				       "to the local and kubernetes targets)", plan->target);
		else
			schema_err_key(ctx, root, "", "api", "the %s target does not speak the "
				       "ledger API (api applies to the local and kubernetes targets)",
				       plan->target);
		return;
	}
	plan->api = xstrdup(ledger_api_name(parsed));
}

static void check_header(struct schema_ctx *ctx, json_t *root, struct plan *plan,
			 const struct plan_load_opts *opts)
{
	json_t *v;

	v = json_object_get(root, "version");
	if (!v)
		schema_err_obj(ctx, root, "", "missing required key 'version' (add 'version: 1')");
	else if (!json_is_integer(v))
		schema_err_key(ctx, root, "", "version", "expected the integer 1");
	else if (json_integer_value(v) != 1)
		schema_err_key(ctx, root, "", "version", "unsupported plan version %"
			       JSON_INTEGER_FORMAT " (this drillrig reads version 1)",
			       json_integer_value(v));
	plan->version = 1;

	v = json_object_get(root, "name");
	if (!v)
		schema_err_obj(ctx, root, "", "missing required key 'name'");
	else if (!json_is_string(v) || !schema_name_ok(json_string_value(v)))
		schema_err_key(ctx, root, "", "name", "expected a plan name of letters, digits, "
			       "'.', '_' and '-' (at most 64, starting with a letter or digit)");
	else
		plan->name = xstrdup(json_string_value(v));

	v = json_object_get(root, "description");
	if (v && !json_is_string(v))
		schema_err_key(ctx, root, "", "description", "expected a string");
	plan->description = xstrdup(json_is_string(v) ? json_string_value(v) : "");

	check_target(ctx, root, plan, opts);
	check_api(ctx, root, plan, opts);

	v = json_object_get(root, "deadline");
	if (v) {
		static const struct arg_spec d = { "deadline", ARG_DURATION, 0, NULL, NULL, 0, 0,
						   NULL };

		if (schema_check_value(ctx, root, "deadline", "", &d) == 0)
			plan->deadline_ns = plan_section_duration(json_object_get(root, "deadline"));
	}
}

static void check_top_keys(struct schema_ctx *ctx, json_t *root)
{
	const char **known = xcalloc(json_object_size(root) + 16, sizeof(*known));
	const char *key;
	json_t *v;
	size_t n = 0;

	while (top_keys[n]) {
		known[n] = top_keys[n];
		n++;
	}
	/* Keys starting with "x-" are the user's own (a home for YAML
	 * anchors, as in docker-compose); they are not checked. */
	json_object_foreach(root, key, v)
		if (strncmp(key, "x-", 2) == 0)
			known[n++] = key;
	known[n] = NULL;
	/* Every top key is an "extra" key here; each section checks its own
	 * value. */
	schema_check_args(ctx, root, "", NULL, known, "a plan");
	free(known);
}

/* Regions a step may name: the roles, plus the topology's names (when the
 * plan has a topology or runs on the local target, which uses the
 * default one); other targets take names from their configuration. */
static void set_region_names(struct schema_ctx *ctx, struct plan *plan, const char ***store)
{
	const char **names;
	size_t n = 0;

	if (!plan->topology.has_topology && !(plan->target_kind->flags & TARGET_KIND_PLAN_TOPOLOGY))
		return;
	names = xcalloc(plan->topology.nregions + 4, sizeof(*names));
	names[n++] = "primary";
	names[n++] = "dr";
	names[n++] = "witness";
	for (size_t i = 0; i < plan->topology.nregions; i++) {
		const char *r = plan->topology.regions[i].name;

		if (strcmp(r, "primary") && strcmp(r, "dr") && strcmp(r, "witness"))
			names[n++] = r;
	}
	names[n] = NULL;
	ctx->region_names = names;
	ctx->nregion_names = n;
	*store = names;
}

/* A topology where losing the primary region leaves no quorum cannot fail
 * over by itself; say so unless the plan plans for it. */
static void warn_quorum(struct schema_ctx *ctx, json_t *root, struct plan *plan)
{
	int total = 0, primary = 0, forced = 0;

	if (!plan->topology.has_topology)
		return;
	for (size_t i = 0; i < plan->topology.nregions; i++) {
		total += plan->topology.regions[i].size;
		if (plan->topology.regions[i].role == PLAN_ROLE_PRIMARY)
			primary += plan->topology.regions[i].size;
	}
	for (size_t i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].spec && strcmp(plan->steps[i].action, "force_election") == 0 &&
		    plan_arg_bool(plan->steps[i].args, "allow_data_loss", 0))
			forced = 1;
	if (total > primary && (total - primary) * 2 <= total && !forced)
		schema_warn_obj(ctx, json_object_get(root, "topology"), "topology",
				"losing the primary region leaves %d of %d voters, no quorum: "
				"failover then needs force_election with allow_data_loss",
				total - primary, total);
}

int plan_load_text(struct plan **out, const char *path, const char *text, size_t len,
		   const struct plan_load_opts *opts, struct plan_diags *diags)
{
	struct yj_doc doc = YJ_DOC_INIT;
	struct schema_ctx ctx;
	struct plan *plan = xcalloc(1, sizeof(*plan));
	const char **region_names = NULL;
	size_t errors_before = diags->errors;
	size_t diags_before = diags->n;
	json_t *root;
	int is_json, rc = -1;

	*out = NULL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.file = path;
	ctx.doc = &doc;
	ctx.diags = diags;
	ctx.snapshot_steps = json_object();
	assert(opts && opts->targets && opts->targets[0]);
	ctx.target = opts->targets[0]->name;
	ctx.target_kind = opts->targets[0];
	ctx.plan = plan;
	plan->path = xstrdup(path);
	plan->source = xstrndup(text, len);
	if (opts && (opts->flags & PLAN_LOAD_FORCE_JSON))
		is_json = 1;
	else if (opts && (opts->flags & PLAN_LOAD_FORCE_YAML))
		is_json = 0;
	else
		is_json = looks_like_json(path, text, len);
	plan->is_json = is_json;
	if (strlen(plan->source) != len) {
		plan_diags_add(diags, PLAN_DIAG_ERROR, path, 0, 0, "", "the file contains a NUL "
			       "byte: not a text plan");
		goto out;
	}
	if (yj_load(&doc, text, len, is_json ? YJ_JSON : YJ_YAML, on_parse_error, &ctx) < 0)
		goto out;
	root = doc.root;
	if (!json_is_object(root)) {
		plan_diags_add(diags, PLAN_DIAG_ERROR, path, root ? 1 : 0, root ? 1 : 0, "",
			       root ? "a plan is a mapping of keys (version, name, steps, ...), "
			       "not a list or a scalar" : "the plan is empty");
		goto out;
	}
	plan->root = json_incref(root);
	section_vars(&ctx, root, plan, opts);
	/* Substitute everywhere but in vars itself (defaults are literal). */
	substitute(&ctx, root, "", plan);
	check_top_keys(&ctx, root);
	check_header(&ctx, root, plan, opts);
	plan_section_topology(&ctx, root, plan, opts ? opts->timing : NULL);
	set_region_names(&ctx, plan, &region_names);
	plan_section_objectives(&ctx, root, plan);
	plan_section_workload(&ctx, root, plan);
	plan_section_steady_state(&ctx, root, plan);
	plan_section_abort_when(&ctx, root, plan);
	plan_section_steps(&ctx, root, plan);
	plan_section_rollback(&ctx, root, plan);
	if (diags->errors == errors_before)
		warn_quorum(&ctx, root, plan);
	if (diags->errors == errors_before)
		rc = 0;
	/* Messages quote offending values; a secret variable's value must not
	 * reach the terminal through them. */
	for (size_t i = diags_before; i < diags->n; i++) {
		char *clean = vars_redact(diags->items[i].message, plan->vars, plan->nvars);

		free(diags->items[i].message);
		diags->items[i].message = clean;
	}
out:
	json_decref(ctx.snapshot_steps);
	free(region_names);
	yj_doc_release(&doc);
	if (rc == 0)
		*out = plan;
	else
		plan_free(plan);
	return rc;
}

int plan_load(struct plan **out, const char *path, const struct plan_load_opts *opts,
	      struct plan_diags *diags)
{
	struct dr_error err = DR_ERROR_INIT;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (fs_read_file(&text, &len, path, PLAN_MAX_BYTES, &err) != 0) {
		plan_diags_add(diags, PLAN_DIAG_ERROR, path, 0, 0, "", "%s", err.msg);
		return -1;
	}
	rc = plan_load_text(out, path, text, len, opts, diags);
	free(text);
	return rc;
}

void plan_free(struct plan *plan)
{
	if (!plan)
		return;
	free(plan->path);
	free(plan->source);
	free(plan->name);
	free(plan->description);
	free(plan->target);
	free(plan->api);
	for (size_t i = 0; i < plan->topology.nregions; i++)
		free(plan->topology.regions[i].name);
	free(plan->topology.regions);
	for (size_t i = 0; i < plan->nsteps; i++)
		free((void *)plan->steps[i].undo_step);
	free(plan->steps);
	free(plan->rollback);
	for (size_t i = 0; i < plan->nvars; i++) {
		free(plan->vars[i].name);
		free(plan->vars[i].value);
		free(plan->vars[i].description);
	}
	free(plan->vars);
	json_decref(plan->root);
	free(plan);
}

const struct plan_step *plan_find_step(const struct plan *plan, const char *name)
{
	for (size_t i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].name && strcmp(plan->steps[i].name, name) == 0)
			return &plan->steps[i];
	return NULL;
}

const struct plan_region *plan_find_region(const struct plan *plan, const char *name_or_role)
{
	const struct plan_topology *t = &plan->topology;

	for (size_t i = 0; i < t->nregions; i++)
		if (strcmp(t->regions[i].name, name_or_role) == 0)
			return &t->regions[i];
	for (size_t i = 0; i < t->nregions; i++)
		if (strcmp(plan_role_name(t->regions[i].role), name_or_role) == 0)
			return &t->regions[i];
	return NULL;
}

char *plan_redact(const struct plan *plan, const char *text)
{
	return vars_redact(text, plan->vars, plan->nvars);
}

json_t *plan_redact_json(const struct plan *plan, const json_t *value)
{
	json_t *copy;

	if (json_is_string(value)) {
		char *r = plan_redact(plan, json_string_value(value));

		copy = json_string(r);
		free(r);
		return copy;
	}
	if (json_is_object(value)) {
		const char *k;
		json_t *v;

		copy = json_object();
		json_object_foreach((json_t *)value, k, v)
			json_object_set_new(copy, k, plan_redact_json(plan, v));
		return copy;
	}
	if (json_is_array(value)) {
		copy = json_array();
		for (size_t i = 0; i < json_array_size(value); i++)
			json_array_append_new(copy, plan_redact_json(plan, json_array_get(value, i)));
		return copy;
	}
	return json_deep_copy(value);
}
