/* What a person (or a log) sees while a drill runs.
 *
 * Three modes: a terminal gets one live line per step with a spinner and
 * the elapsed time, then its result; anything else (and NO_COLOR) gets
 * plain lines; --json prints every journal event as one JSON line.
 * Thread-safe: the workload and poller threads may report too.
 */
#ifndef DR_HARNESS_CORE_PROGRESS_H
#define DR_HARNESS_CORE_PROGRESS_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

enum progress_mode {
	PROGRESS_PLAIN,
	PROGRESS_TTY,
	PROGRESS_JSON,
	PROGRESS_QUIET,
};

struct progress;

/* mode PROGRESS_PLAIN is upgraded to PROGRESS_TTY when out is a terminal
 * and NO_COLOR is unset. */
struct progress *progress_new(FILE *out, enum progress_mode mode);
void progress_free(struct progress *p);
enum progress_mode progress_mode(const struct progress *p);

void progress_step_start(struct progress *p, const char *phase, const char *name,
			 const char *action);
void progress_step_end(struct progress *p, const char *name, const char *result,
		       int64_t elapsed_ns, const char *message);
/* A line of its own ("steady state: ok", "report: path"). Not in JSON mode. */
void progress_line(struct progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* JSON mode: print one object as a line (the final {"event":"report"}). */
void progress_json(struct progress *p, json_t *obj);
/* Journal listener for JSON mode. */
void progress_journal_listener(const json_t *event, void *payload);

#endif
