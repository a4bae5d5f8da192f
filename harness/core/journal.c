#include "harness/core/journal.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"

struct journal {
	pthread_mutex_t lock;
	int64_t start_mono;
	int64_t start_wall;
	json_t *root;      /* owns events, steps, commands */
	journal_listener_fn listener;
	void *listener_payload;
};

void journal_set_listener(struct journal *j, journal_listener_fn fn, void *payload)
{
	pthread_mutex_lock(&j->lock);
	j->listener = fn;
	j->listener_payload = payload;
	pthread_mutex_unlock(&j->lock);
}

/* 12 hex digits from the kernel's random source: two drills that start in
 * the same second (on one machine or two) still get different run folders
 * (reports: results_run_dir_name). */
static const char *new_run_id(char *buf, size_t len)
{
	unsigned char r[6];
	uint64_t fallback = (uint64_t)clock_wall_ns() ^ ((uint64_t)getpid() << 32);

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memcpy(r, &fallback, sizeof(r));
	snprintf(buf, len, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
	return buf;
}

struct journal *journal_new(void)
{
	struct journal *j = xcalloc(1, sizeof(*j));
	char wall[40], run_id[16];

	pthread_mutex_init(&j->lock, NULL);
	j->start_mono = clock_mono_ns();
	j->start_wall = clock_wall_ns();
	clock_format_utc(wall, sizeof(wall), j->start_wall);
	j->root = json_object();
	json_object_set_new(j->root, "schema_version", json_integer(1));
	json_object_set_new(j->root, "run_id", json_string(new_run_id(run_id, sizeof(run_id))));
	json_object_set_new(j->root, "started_at", json_string(wall));
	json_object_set_new(j->root, "events", json_array());
	json_object_set_new(j->root, "steps", json_array());
	json_object_set_new(j->root, "commands", json_array());
	return j;
}

void journal_free(struct journal *j)
{
	if (!j)
		return;
	json_decref(j->root);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

int64_t journal_start_ns(const struct journal *j)
{
	return j->start_mono;
}

double journal_offset_ms(const struct journal *j, int64_t mono_ns)
{
	return (double)(mono_ns - j->start_mono) / 1e6;
}

/* Index at which an event at t_ms keeps "events" sorted: after every
 * event at or before it, so events of the same moment keep their order.
 * Most events arrive in order, so the search starts from the end. */
static size_t event_slot(const json_t *events, double t_ms)
{
	size_t i = json_array_size(events);

	while (i > 0 && json_real_value(json_object_get(json_array_get(events, i - 1), "t_ms")) > t_ms)
		i--;
	return i;
}

double journal_event_at(struct journal *j, int64_t mono_ns, const char *type,
			json_t *fields)
{
	json_t *ev = json_object();
	double t_ms = journal_offset_ms(j, mono_ns);
	char wall[40];
	journal_listener_fn fn;
	void *payload;
	json_t *events;

	/* One moment per event: t_ms and wall are the same instant, and no
	 * field may replace either (a probe's start once overwrote t_ms and
	 * left wall a second later). */
	clock_format_utc(wall, sizeof(wall), j->start_wall + (mono_ns - j->start_mono));
	json_object_set_new(ev, "t_ms", json_real(t_ms));
	json_object_set_new(ev, "wall", json_string(wall));
	json_object_set_new(ev, "type", json_string(type));
	if (fields) {
		assert(!json_object_get(fields, "t_ms") && !json_object_get(fields, "wall") &&
		       !json_object_get(fields, "type"));
		json_object_update_missing(ev, fields);
		json_decref(fields);
	}
	pthread_mutex_lock(&j->lock);
	/* Events observed earlier than they are written (a status answer
	 * polled in the background, pods seen gone) go in their place: the
	 * array is in t_ms order, as docs/journal.md promises. */
	events = json_object_get(j->root, "events");
	json_array_insert(events, event_slot(events, t_ms), ev);
	fn = j->listener;
	payload = j->listener_payload;
	pthread_mutex_unlock(&j->lock);
	if (fn)
		fn(ev, payload);
	json_decref(ev);
	return t_ms;
}

double journal_event(struct journal *j, const char *type, json_t *fields)
{
	return journal_event_at(j, clock_mono_ns(), type, fields);
}

void journal_note(struct journal *j, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	journal_event(j, "note", json_pack("{s:s}", "message", strbuf_str(&sb)));
	strbuf_release(&sb);
}

void journal_add_step(struct journal *j, json_t *step)
{
	pthread_mutex_lock(&j->lock);
	json_array_append_new(json_object_get(j->root, "steps"), step);
	pthread_mutex_unlock(&j->lock);
}

/* A command's output as a JSON string: at most JOURNAL_OUTPUT_MAX bytes,
 * cut on a character boundary, with the number of bytes left out. */
static json_t *output_json(const char *text)
{
	size_t len = strlen(text), keep = len > JOURNAL_OUTPUT_MAX ? JOURNAL_OUTPUT_MAX : len;
	struct strbuf sb = STRBUF_INIT;
	json_t *v;

	while (keep > 0 && keep < len && ((unsigned char)text[keep] & 0xc0) == 0x80)
		keep--;
	strbuf_add(&sb, text, keep);
	if (keep < len)
		strbuf_addf(&sb, "\n... (%zu more bytes)", len - keep);
	v = json_stringn(sb.buf ? sb.buf : "", sb.len);
	if (!v) {
		/* Not UTF-8 (a binary answer): keep its ASCII. */
		for (size_t i = 0; i < sb.len; i++)
			if ((unsigned char)sb.buf[i] >= 0x80 || sb.buf[i] == '\0')
				sb.buf[i] = '?';
		v = json_stringn(sb.buf, sb.len);
	}
	strbuf_release(&sb);
	return v;
}

void journal_add_command(struct journal *j, const char *argv_display, int exit_code,
			 int64_t start_ns, int64_t duration_ns)
{
	journal_add_command_io(j, argv_display, exit_code, start_ns, duration_ns, NULL, NULL);
}

void journal_add_command_io(struct journal *j, const char *argv_display, int exit_code,
			    int64_t start_ns, int64_t duration_ns, const char *out, const char *err)
{
	json_t *cmd = json_pack("{s:f,s:s,s:i,s:f}",
				"t_ms", journal_offset_ms(j, start_ns),
				"argv", argv_display,
				"exit_code", exit_code,
				"duration_ms", (double)duration_ns / 1e6);

	if (out && *out)
		json_object_set_new(cmd, "stdout", output_json(out));
	if (err && *err)
		json_object_set_new(cmd, "stderr", output_json(err));
	pthread_mutex_lock(&j->lock);
	json_array_append_new(json_object_get(j->root, "commands"), cmd);
	pthread_mutex_unlock(&j->lock);
}

void journal_set(struct journal *j, const char *key, json_t *value)
{
	pthread_mutex_lock(&j->lock);
	json_object_set_new(j->root, key, value ? value : json_null());
	pthread_mutex_unlock(&j->lock);
}

json_t *journal_get(struct journal *j, const char *key)
{
	json_t *v;

	pthread_mutex_lock(&j->lock);
	v = json_object_get(j->root, key);
	pthread_mutex_unlock(&j->lock);
	return v;
}

json_t *journal_snapshot(struct journal *j)
{
	json_t *copy;

	pthread_mutex_lock(&j->lock);
	copy = json_deep_copy(j->root);
	pthread_mutex_unlock(&j->lock);
	return copy;
}
