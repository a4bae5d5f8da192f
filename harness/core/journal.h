/* The in-memory journal of one drill: every event with its monotonic offset
 * and wall-clock time, every step and probe result, and the top-level
 * fields of docs/journal.md.  The runner, the target, the workload and the
 * status poller all write to it (it is thread-safe); the measurement and the
 * reports read the finished tree.
 */
#ifndef DR_HARNESS_CORE_JOURNAL_H
#define DR_HARNESS_CORE_JOURNAL_H

#include <jansson.h>
#include <stdint.h>

struct journal;

/* The drill's clock starts now. */
struct journal *journal_new(void);
void journal_free(struct journal *j);

int64_t journal_start_ns(const struct journal *j);
/* Milliseconds since the drill's start for a CLOCK_MONOTONIC time. */
double journal_offset_ms(const struct journal *j, int64_t mono_ns);

/* Add an event {"t_ms", "wall", "type", ...fields}; fields is stolen (may
 * be NULL) and must not carry "t_ms", "wall" or "type" (asserted): an
 * event has one moment.  "events" stays sorted by t_ms (an event of an
 * earlier moment goes before later ones; equal moments keep their order).
 * Returns the event's t_ms. */
double journal_event(struct journal *j, const char *type, json_t *fields);
/* Same, at a given monotonic time: when it happened, for events written
 * after the fact (a background status poll, a span's start). */
double journal_event_at(struct journal *j, int64_t mono_ns, const char *type,
			json_t *fields);
/* Convenience: a "note" event with a message. */
void journal_note(struct journal *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append to the "steps" array (stolen). */
void journal_add_step(struct journal *j, json_t *step);
/* Append to "commands" (an external command run against the target). */
void journal_add_command(struct journal *j, const char *argv_display, int exit_code,
			 int64_t start_ns, int64_t duration_ns);
/* The same with what the command printed (either may be NULL): kept as
 * "stdout" / "stderr", each cut to JOURNAL_OUTPUT_MAX bytes with a note
 * of how much was cut, invalid UTF-8 replaced. */
#define JOURNAL_OUTPUT_MAX 2048
void journal_add_command_io(struct journal *j, const char *argv_display, int exit_code,
			    int64_t start_ns, int64_t duration_ns, const char *out, const char *err);
/* Set a top-level field (value stolen). */
void journal_set(struct journal *j, const char *key, json_t *value);
/* Borrowed top-level field, or NULL. */
json_t *journal_get(struct journal *j, const char *key);

/* Called after every event is appended (from whichever thread appended
 * it), with the event; used for --json progress output.  NULL to remove. */
typedef void (*journal_listener_fn)(const json_t *event, void *payload);
void journal_set_listener(struct journal *j, journal_listener_fn fn, void *payload);

/* A deep copy of the whole tree, safe to read while threads still write. */
json_t *journal_snapshot(struct journal *j);

#endif
