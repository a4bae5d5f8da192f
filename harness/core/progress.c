#include "harness/core/progress.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"

struct progress {
	FILE *out;
	enum progress_mode mode;
	pthread_mutex_t lock;
	/* TTY spinner state: a ticker thread redraws the live line. */
	pthread_t ticker;
	int ticker_running;
	int stop;
	char *live_name;
	char *live_phase;
	int64_t live_start;
	int spin;
};

static const char *const spinner[] = { "|", "/", "-", "\\" };

static void redraw_locked(struct progress *p)
{
	double secs;

	if (!p->live_name)
		return;
	secs = (double)(clock_mono_ns() - p->live_start) / 1e9;
	fprintf(p->out, "\r\033[K  %s %-8s %s  %.1fs", spinner[p->spin++ % 4],
		p->live_phase, p->live_name, secs);
	fflush(p->out);
}

static void *ticker_main(void *arg)
{
	struct progress *p = arg;

	for (;;) {
		clock_sleep_ns(100 * NS_PER_MS);
		pthread_mutex_lock(&p->lock);
		if (p->stop) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		redraw_locked(p);
		pthread_mutex_unlock(&p->lock);
	}
}

struct progress *progress_new(FILE *out, enum progress_mode mode)
{
	struct progress *p = xcalloc(1, sizeof(*p));
	const char *no_color = getenv("NO_COLOR");

	p->out = out;
	p->mode = mode;
	if (mode == PROGRESS_PLAIN && isatty(fileno(out)) && !(no_color && *no_color))
		p->mode = PROGRESS_TTY;
	pthread_mutex_init(&p->lock, NULL);
	if (p->mode == PROGRESS_TTY) {
		sigset_t all, old;

		/* The ticker must never take a signal meant for the runner. */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (pthread_create(&p->ticker, NULL, ticker_main, p) == 0)
			p->ticker_running = 1;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return p;
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	if (p->ticker_running) {
		pthread_mutex_lock(&p->lock);
		p->stop = 1;
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->ticker, NULL);
	}
	free(p->live_name);
	free(p->live_phase);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

enum progress_mode progress_mode(const struct progress *p)
{
	return p->mode;
}

void progress_step_start(struct progress *p, const char *phase, const char *name,
			 const char *action)
{
	pthread_mutex_lock(&p->lock);
	switch (p->mode) {
	case PROGRESS_TTY:
		free(p->live_name);
		free(p->live_phase);
		p->live_name = xasprintf("%s (%s)", name, action);
		p->live_phase = xstrdup(phase);
		p->live_start = clock_mono_ns();
		redraw_locked(p);
		break;
	case PROGRESS_PLAIN:
		fprintf(p->out, "%-8s %s (%s) ...\n", phase, name, action);
		fflush(p->out);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&p->lock);
}

void progress_step_end(struct progress *p, const char *name, const char *result,
		       int64_t elapsed_ns, const char *message)
{
	double secs = (double)elapsed_ns / 1e9;
	const char *mark = strcmp(result, "ok") == 0 ? "ok" : result;

	pthread_mutex_lock(&p->lock);
	switch (p->mode) {
	case PROGRESS_TTY:
		fprintf(p->out, "\r\033[K  %-4s %-8s %s  %.2fs%s%s\n",
			strcmp(result, "ok") == 0 ? "ok" : "FAIL",
			p->live_phase ? p->live_phase : "", p->live_name ? p->live_name : name,
			secs, message && *message ? "  " : "", message ? message : "");
		free(p->live_name);
		p->live_name = NULL;
		fflush(p->out);
		break;
	case PROGRESS_PLAIN:
		fprintf(p->out, "%-8s %s: %s in %.2fs%s%s\n", "", name, mark, secs,
			message && *message ? ": " : "", message ? message : "");
		fflush(p->out);
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&p->lock);
}

void progress_line(struct progress *p, const char *fmt, ...)
{
	va_list ap;

	if (p->mode == PROGRESS_JSON || p->mode == PROGRESS_QUIET)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->mode == PROGRESS_TTY && p->live_name)
		fprintf(p->out, "\r\033[K");
	va_start(ap, fmt);
	vfprintf(p->out, fmt, ap);
	va_end(ap);
	fputc('\n', p->out);
	if (p->mode == PROGRESS_TTY)
		redraw_locked(p);
	fflush(p->out);
	pthread_mutex_unlock(&p->lock);
}

void progress_json(struct progress *p, json_t *obj)
{
	char *line;

	if (p->mode != PROGRESS_JSON)
		return;
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!line)
		return;
	pthread_mutex_lock(&p->lock);
	fprintf(p->out, "%s\n", line);
	fflush(p->out);
	pthread_mutex_unlock(&p->lock);
	free(line);
}

void progress_journal_listener(const json_t *event, void *payload)
{
	struct progress *p = payload;
	json_t *copy = json_deep_copy(event);

	/* "event" names the kind in the JSON stream, as the final report line does. */
	json_object_set(copy, "event", json_object_get(event, "type"));
	json_object_del(copy, "type");
	progress_json(p, copy);
	json_decref(copy);
}
