/* Helpers for integration tests that run the real drillrig binary: start
 * it with an argv, follow its --json event stream, signal it, wait for it
 * with a bound, and load the journal it wrote. */
#ifndef DR_TESTS_DRILL_PROC_H
#define DR_TESTS_DRILL_PROC_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

struct drill_proc {
	pid_t pid;
	char out_path[256];   /* its stdout */
	char err_path[256];   /* its stderr */
	int status;           /* valid after drill_proc_wait */
};

/* $DRILLRIG_BIN (or build/drillrig).  Static string. */
const char *drill_bin(void);
/* $DRILLRIG_SRC joined with rel ("drills/region-failover.yaml"); heap. */
char *drill_src_path(const char *rel);
/* A fresh directory under /dev/shm (or /tmp); heap; removed by the caller. */
char *drill_tmpdir(const char *tag);

/* Start drillrig with args (NULL-terminated, without argv[0]); output goes
 * to files in dir.  Returns 0 or -1. */
int drill_proc_start(struct drill_proc *p, const char *dir, const char *const args[]);
/* Wait up to timeout_ms for exit; -1 on timeout (the process is then
 * killed).  On success returns the exit code (or 128+signal). */
int drill_proc_wait(struct drill_proc *p, int64_t timeout_ms);
/* Poll stdout for a JSON line whose "event" equals event (and "step" equals
 * step when given) for up to timeout_ms.  1 when seen. */
int drill_proc_wait_event(struct drill_proc *p, const char *event, const char *step,
			  int64_t timeout_ms);
/* The journal.json next to the report named by the final {"event":"report"}
 * line; NULL when there is none. */
json_t *drill_proc_journal(struct drill_proc *p);
/* The folder of that report (heap), NULL when there is none. */
char *drill_proc_report_dir(struct drill_proc *p);
/* Whole stdout / stderr (heap). */
char *drill_proc_stdout(struct drill_proc *p);
char *drill_proc_stderr(struct drill_proc *p);

/* 1 when pid is alive (and not a zombie). */
int pid_alive(pid_t pid);

#endif
