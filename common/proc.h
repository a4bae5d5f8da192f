/* Child processes, always from an argv array, never through a shell.
 *
 * Every child gets its own process group, so a Ctrl-C on the terminal
 * reaches drillrig alone and its rollback can still use the children.
 */
#ifndef DR_COMMON_PROC_H
#define DR_COMMON_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct proc_spawn_opts {
	const char *stdin_path;   /* NULL: /dev/null */
	const char *stdout_path;  /* NULL: inherit; appended to otherwise */
	const char *stderr_path;  /* NULL: inherit; appended to otherwise */
	const char *cwd;          /* NULL: inherit */
	int new_session;          /* setsid() instead of a new process group */
	char *const *envp;        /* NULL: inherit environ */
	/* A descriptor (a pipe's write end) given to the child as its
	 * stdout/stderr; 0: as the paths say.  The caller keeps and closes it. */
	int stdout_fd;
	int stderr_fd;
};

#define PROC_SPAWN_OPTS_INIT { NULL, NULL, NULL, NULL, 0, NULL, 0, 0 }

/* Start argv[0] (searched in PATH when it has no '/').  *out is the pid. */
int proc_spawn(pid_t *out, char *const argv[],
	       const struct proc_spawn_opts *opts, struct dr_error *err);

struct proc_result {
	int exited;        /* 1 when the child exited normally */
	int exit_code;     /* valid when exited */
	int term_signal;   /* signal that ended it, 0 if none */
	int timed_out;     /* 1 when we killed it at the deadline */
	char *out;         /* captured stdout (NUL-terminated, heap) */
	char *errout;      /* captured stderr */
	int64_t elapsed_ns;
};

/* Run argv to completion, capturing stdout and stderr (each up to
 * max_capture bytes; the rest is drained and dropped), with an optional
 * stdin payload.  After timeout_ns (0: none) the child's process group gets
 * SIGTERM, then SIGKILL 2 s later.  Returns 0 when the child was started and
 * reaped (whatever its exit status), -1 when it could not be started. */
int proc_run(struct proc_result *res, char *const argv[], const char *stdin_data,
	     int64_t timeout_ns, size_t max_capture, struct dr_error *err);
/* proc_run in directory cwd (NULL: ours) with environment envp (NULL:
 * ours; see proc_env_with). */
int proc_run_in(struct proc_result *res, char *const argv[], const char *stdin_data,
		int64_t timeout_ns, size_t max_capture, const char *cwd, char *const envp[],
		struct dr_error *err);
void proc_result_release(struct proc_result *res);

/* Our environment with extra ("NAME=value", NULL-terminated) added; an
 * extra name replaces ours.  Heap; free with proc_env_free. */
char **proc_env_with(char *const extra[]);
void proc_env_free(char **env);

/* Render argv for display: words with spaces or quotes are single-quoted. */
char *proc_argv_display(char *const argv[]);

/* waitpid that retries on EINTR.  Returns the pid, 0 (WNOHANG, still
 * running) or -1. */
pid_t proc_wait(pid_t pid, int *status, int flags);
int proc_alive(pid_t pid);

#endif
