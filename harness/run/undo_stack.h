/* Pending undos of a running drill, newest last.  Each change is also
 * written (atomically) to a state file next to the drill lock, so that
 * `drillrig recover` can finish the job when the runner itself was killed. */
#ifndef DR_HARNESS_RUN_UNDO_STACK_H
#define DR_HARNESS_RUN_UNDO_STACK_H

#include <jansson.h>
#include <stddef.h>

struct plan;

struct undo_entry {
	char *step_name;
	json_t *action;    /* {"action": "scale", "region": ..., ...} */
};

struct undo_stack {
	struct undo_entry *items;
	size_t n, alloc;
};

void undo_stack_init(struct undo_stack *s);
/* action is referenced (json_incref), not stolen. */
void undo_stack_push(struct undo_stack *s, const char *step_name, json_t *action);
/* Pops the newest into *out (caller releases).  -1 when empty. */
int undo_stack_pop(struct undo_stack *s, struct undo_entry *out);
void undo_entry_release(struct undo_entry *e);
void undo_stack_release(struct undo_stack *s);

/* State file: {"pid", "plan", "target", "undos": [...], "rollback": [...]},
 * target being the target's describe() (enough to reattach).  undos are
 * s's entries, oldest first, then kept's (NULL: none) newest first: kept
 * holds, in the order they were popped, the undos a rollback already ran
 * and that failed or never ran, so `recover` still finds them.  NULL path:
 * no-op.  Errors are reported on stderr and otherwise ignored: losing the
 * recovery file must not stop a drill that can still roll back itself.
 * Returns the state as written (heap JSON text, for a copy the target
 * keeps elsewhere), NULL when path is NULL. */
char *undo_stack_save(const struct undo_stack *s, const struct undo_stack *kept,
		      const char *path, const struct plan *plan, json_t *target)
	__attribute__((warn_unused_result));
void undo_stack_remove_state(const char *path);

#endif
