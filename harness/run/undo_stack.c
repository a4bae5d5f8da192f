#include "harness/run/undo_stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/plan/vars.h"

void undo_stack_init(struct undo_stack *s)
{
	memset(s, 0, sizeof(*s));
}

void undo_stack_push(struct undo_stack *s, const char *step_name, json_t *action)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 8;
		s->items = xrealloc(s->items, s->alloc * sizeof(*s->items));
	}
	s->items[s->n].step_name = xstrdup(step_name);
	s->items[s->n].action = json_incref(action);
	s->n++;
}

int undo_stack_pop(struct undo_stack *s, struct undo_entry *out)
{
	if (s->n == 0)
		return -1;
	*out = s->items[--s->n];
	return 0;
}

void undo_entry_release(struct undo_entry *e)
{
	free(e->step_name);
	json_decref(e->action);
	e->step_name = NULL;
	e->action = NULL;
}

void undo_stack_release(struct undo_stack *s)
{
	for (size_t i = 0; i < s->n; i++)
		undo_entry_release(&s->items[i]);
	free(s->items);
	memset(s, 0, sizeof(*s));
}

char *undo_stack_save(const struct undo_stack *s, const struct undo_stack *kept,
		      const char *path, const struct plan *plan, json_t *target)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *state, *undos, *rollback;
	char *text;

	if (!path)
		return NULL;
	undos = json_array();
	rollback = json_array();
	for (size_t i = 0; i < s->n; i++)
		json_array_append_new(undos, json_pack("{s:s,s:O}", "step", s->items[i].step_name,
						       "action", s->items[i].action));
	for (size_t i = kept ? kept->n : 0; i-- > 0;)
		json_array_append_new(undos, json_pack("{s:s,s:O}", "step", kept->items[i].step_name,
						       "action", kept->items[i].action));
	for (size_t i = 0; plan && i < plan->nrollback; i++)
		json_array_append_new(rollback, json_pack("{s:s,s:O}", "step", plan->rollback[i].name,
							  "action", plan->rollback[i].args));
	if (plan) {
		/* Substituted secrets stay out of the file: each becomes
		 * "${name}" again, and `drillrig recover` fills it from --var,
		 * --var-file or DRILLRIG_VAR_<name> (issue 17). */
		json_t *secret = json_array();

		for (size_t i = 0; i < plan->nvars; i++)
			if (plan->vars[i].secret)
				json_array_append_new(secret, json_string(plan->vars[i].name));
		state = json_pack("{s:i,s:s?,s:O?,s:o,s:o,s:b,s:o}", "pid", (int)getpid(),
				  "plan", plan->path, "target", target,
				  "undos", vars_unexpand_json(undos, plan->vars, plan->nvars),
				  "rollback", vars_unexpand_json(rollback, plan->vars, plan->nvars),
				  "vars_escaped", 1, "secret_vars", secret);
		json_decref(undos);
		json_decref(rollback);
	} else {
		state = json_pack("{s:i,s:s?,s:O?,s:o,s:o}", "pid", (int)getpid(), "plan", NULL,
				  "target", target, "undos", undos, "rollback", rollback);
	}
	text = json_dumps(state, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	/* Private: it names the target's clusters and nodes. */
	if (text && fs_write_atomic_mode(path, text, strlen(text), 0600, &err) != 0)
		fprintf(stderr, "drillrig: warning: %s\n", err.msg);
	json_decref(state);
	return text;
}

void undo_stack_remove_state(const char *path)
{
	if (path)
		unlink(path);
}
