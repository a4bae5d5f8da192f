/* ${name} substitution and secret redaction (vars.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "harness/plan/actions.h"
#include "harness/plan/vars.h"

int vars_valid_name(const char *name)
{
	if (!name || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
		return 0;
	for (const char *p = name + 1; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return 0;
	return 1;
}

static const struct plan_var *find_var(const struct plan_var *vars, size_t n,
				       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(vars[i].name, name) == 0)
			return &vars[i];
	return NULL;
}

static int undeclared(struct dr_error *err, const char *name, const struct plan_var *vars,
		      size_t n)
{
	const char **names = xcalloc(n + 1, sizeof(*names));
	const char *near;

	for (size_t i = 0; i < n; i++)
		names[i] = vars[i].name;
	near = action_closest(name, names, n);
	if (near)
		dr_error_set(err, "undeclared variable '${%s}' (did you mean '${%s}'?)", name,
			     near);
	else if (n == 0)
		dr_error_set(err, "undeclared variable '${%s}' (declare it under 'vars:', "
			     "or write '$${' for a literal '${')", name);
	else
		dr_error_set(err, "undeclared variable '${%s}' (declare it under 'vars:')", name);
	free(names);
	return -1;
}

int vars_expand(char **out, int *whole, const char *s, const struct plan_var *vars,
		size_t nvars, struct dr_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	int refs = 0, escapes = 0, rc = -1;
	const char *p = s;

	*out = NULL;
	if (whole)
		*whole = 0;
	if (!strchr(s, '$'))
		return 0;
	while (*p) {
		const char *close;
		const struct plan_var *v;
		char *name;

		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			strbuf_adds(&sb, "${");
			p += 3;
			escapes++;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			strbuf_addch(&sb, *p++);
			continue;
		}
		close = strchr(p + 2, '}');
		if (!close) {
			dr_error_set(err, "unterminated '${' in '%s' (expected ${name}; write $${ "
				     "for a literal)", s);
			goto out;
		}
		name = xstrndup(p + 2, (size_t)(close - p - 2));
		if (!vars_valid_name(name)) {
			dr_error_set(err, "invalid variable reference '${%s}' (names are letters, "
				     "digits and _)", name);
			free(name);
			goto out;
		}
		v = find_var(vars, nvars, name);
		if (!v) {
			undeclared(err, name, vars, nvars);
			free(name);
			goto out;
		}
		free(name);
		strbuf_adds(&sb, v->value ? v->value : "");
		refs++;
		if (whole && p == s && close[1] == '\0' && refs == 1 && escapes == 0)
			*whole = 1;
		p = close + 1;
	}
	if (refs == 0 && escapes == 0) {
		rc = 0;
		goto out;
	}
	*out = strbuf_detach(&sb);
	rc = 1;
out:
	strbuf_release(&sb);
	return rc;
}

char *vars_redact(const char *text, const struct plan_var *vars, size_t nvars)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = text ? text : "";

	while (*p) {
		size_t best = 0;

		/* The longest secret matching here wins, so a secret that
		 * contains another is hidden whole. */
		for (size_t i = 0; i < nvars; i++) {
			size_t l;

			if (!vars[i].secret || !vars[i].value || !vars[i].value[0])
				continue;
			l = strlen(vars[i].value);
			if (l > best && strncmp(p, vars[i].value, l) == 0)
				best = l;
		}
		if (best) {
			strbuf_adds(&sb, "[REDACTED]");
			p += best;
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	return strbuf_detach(&sb);
}

/* The plan grammar has no escape for a lone "$" just before a reference
 * ("$${" is a literal "${"), so a literal "$" followed by a secret is
 * written as this variable, which vars_expand_json always knows. */
#define DOLLAR_VAR "__dollar__"

/* One string for a state file: secret values become "${name}" (the
 * longest match first, as vars_redact), a literal "${" becomes "$${", a
 * literal "$" right before a secret "${__dollar__}". */
static char *unexpand_string(const char *s, const struct plan_var *vars, size_t nvars)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = s;
	char *redacted;

	while (*p) {
		size_t best = 0, which = 0;

		for (size_t i = 0; i < nvars; i++) {
			size_t l;

			if (!vars[i].secret || !vars[i].value || !vars[i].value[0])
				continue;
			l = strlen(vars[i].value);
			if (l > best && strncmp(p, vars[i].value, l) == 0) {
				best = l;
				which = i;
			}
		}
		if (best) {
			/* the output's last "$" can only be a literal one: an
			 * escape ends in "{", a reference in "}" */
			if (sb.len > 0 && sb.buf[sb.len - 1] == '$') {
				sb.buf[--sb.len] = '\0';
				strbuf_adds(&sb, "${" DOLLAR_VAR "}");
			}
			strbuf_addf(&sb, "${%s}", vars[which].name);
			p += best;
		} else if (p[0] == '$' && p[1] == '{') {
			strbuf_adds(&sb, "$${");
			p += 2;
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	/* A secret that starts inside an escaped "${" (a value beginning
	 * with "{") would survive the scan: never write it, whatever recover
	 * can then do with the string. */
	redacted = vars_redact(sb.buf ? sb.buf : "", vars, nvars);
	if (strcmp(redacted, sb.buf ? sb.buf : "") != 0) {
		strbuf_release(&sb);
		return redacted;
	}
	free(redacted);
	return strbuf_detach(&sb);
}

json_t *vars_unexpand_json(const json_t *v, const struct plan_var *vars, size_t nvars)
{
	json_t *out, *item;
	const char *key;
	size_t i;

	if (json_is_string(v)) {
		char *s = unexpand_string(json_string_value(v), vars, nvars);

		out = json_string(s);
		free(s);
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, item)
			json_array_append_new(out, vars_unexpand_json(item, vars, nvars));
		return out;
	}
	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach((json_t *)v, key, item)
			json_object_set_new(out, key, vars_unexpand_json(item, vars, nvars));
		return out;
	}
	return json_deep_copy(v);
}

static json_t *expand_json(const json_t *v, const struct plan_var *vars, size_t nvars,
			   struct dr_error *err)
{
	json_t *out, *item, *sub;
	const char *key;
	size_t i;

	if (json_is_string(v)) {
		char *s = NULL;
		int rc = vars_expand(&s, NULL, json_string_value(v), vars, nvars, err);

		if (rc < 0)
			return NULL;
		out = json_string(rc ? s : json_string_value(v));
		free(s);
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, item) {
			if (!(sub = expand_json(item, vars, nvars, err))) {
				json_decref(out);
				return NULL;
			}
			json_array_append_new(out, sub);
		}
		return out;
	}
	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach((json_t *)v, key, item) {
			if (!(sub = expand_json(item, vars, nvars, err))) {
				json_decref(out);
				return NULL;
			}
			json_object_set_new(out, key, sub);
		}
		return out;
	}
	return json_deep_copy(v);
}

json_t *vars_expand_json(const json_t *v, const struct plan_var *vars, size_t nvars,
			 struct dr_error *err)
{
	struct plan_var *all = xcalloc(nvars + 1, sizeof(*all));
	json_t *out;

	if (nvars)
		memcpy(all, vars, nvars * sizeof(*vars));
	all[nvars].name = (char *)DOLLAR_VAR;
	all[nvars].value = (char *)"$";
	out = expand_json(v, all, nvars + 1, err);
	free(all);
	return out;
}
