/* The drill lock: an flock(2) on a file in the target's directory, so two
 * drills against the same cluster never overlap.  The kernel drops the lock
 * when the holder dies, so a crashed runner never leaves a stale lock; the
 * file holds the holder's pid only so a refusal can name it. */
#ifndef DR_HARNESS_CORE_LOCK_H
#define DR_HARNESS_CORE_LOCK_H

#include <sys/types.h>

#include "common/error.h"

struct drill_lock {
	int fd;
	char *path;
};

#define DRILL_LOCK_INIT { -1, NULL }

/* Take the lock at path (created if missing) without waiting.  When another
 * process holds it: -1 and err names that process's pid. */
int drill_lock_acquire(struct drill_lock *lock, const char *path, struct dr_error *err);
void drill_lock_release(struct drill_lock *lock);
/* The pid recorded in a lock file, or 0. */
pid_t drill_lock_holder(const char *path);

#endif
