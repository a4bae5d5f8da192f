#include "tests/support/drill_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"

const char *drill_bin(void)
{
	const char *b = getenv("DRILLRIG_BIN");

	return b && *b ? b : "build/drillrig";
}

char *drill_src_path(const char *rel)
{
	const char *src = getenv("DRILLRIG_SRC");

	return xasprintf("%s/%s", src && *src ? src : ".", rel);
}

char *drill_tmpdir(const char *tag)
{
	struct stat st;
	const char *root = stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp";
	char *t = xasprintf("%s/drillrig-test-%s-XXXXXX", root, tag);

	if (!mkdtemp(t)) {
		free(t);
		return NULL;
	}
	return t;
}

int drill_proc_start(struct drill_proc *p, const char *dir, const char *const args[])
{
	struct proc_spawn_opts opts = PROC_SPAWN_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	const char *argv[64];
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	snprintf(p->out_path, sizeof(p->out_path), "%s/drillrig.out", dir);
	snprintf(p->err_path, sizeof(p->err_path), "%s/drillrig.err", dir);
	argv[n++] = drill_bin();
	for (size_t i = 0; args[i] && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	opts.stdout_path = p->out_path;
	opts.stderr_path = p->err_path;
	if (proc_spawn(&p->pid, (char *const *)argv, &opts, &err) != 0) {
		fprintf(stderr, "cannot start drillrig: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int drill_proc_wait(struct drill_proc *p, int64_t timeout_ms)
{
	int64_t deadline = clock_mono_ns() + timeout_ms * NS_PER_MS;

	for (;;) {
		pid_t r = proc_wait(p->pid, &p->status, WNOHANG);

		if (r == p->pid)
			return WIFEXITED(p->status) ? WEXITSTATUS(p->status) : 128 + WTERMSIG(p->status);
		if (clock_mono_ns() > deadline) {
			fprintf(stderr, "drillrig (pid %ld) did not exit within %lld ms; killing it\n",
				(long)p->pid, (long long)timeout_ms);
			kill(p->pid, SIGKILL);
			proc_wait(p->pid, &p->status, 0);
			return -1;
		}
		clock_sleep_ns(20 * NS_PER_MS);
	}
}

static char *read_all(const char *path)
{
	struct dr_error err = DR_ERROR_INIT;
	char *text = NULL;

	if (fs_read_file(&text, NULL, path, 64u << 20, &err) != 0)
		return xstrdup("");
	return text;
}

char *drill_proc_stdout(struct drill_proc *p)
{
	return read_all(p->out_path);
}

char *drill_proc_stderr(struct drill_proc *p)
{
	return read_all(p->err_path);
}

static int has_event(const char *text, const char *event, const char *step)
{
	const char *line = text;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		json_t *o = json_loadb(line, len, 0, NULL);
		int hit = 0;

		if (o) {
			const char *e = json_string_value(json_object_get(o, "event"));
			const char *s = json_string_value(json_object_get(o, "step"));

			hit = e && strcmp(e, event) == 0 && (!step || (s && strcmp(s, step) == 0));
			json_decref(o);
		}
		if (hit)
			return 1;
		line = end ? end + 1 : NULL;
	}
	return 0;
}

int drill_proc_wait_event(struct drill_proc *p, const char *event, const char *step,
			  int64_t timeout_ms)
{
	int64_t deadline = clock_mono_ns() + timeout_ms * NS_PER_MS;

	while (clock_mono_ns() < deadline) {
		char *text = drill_proc_stdout(p);
		int hit = has_event(text, event, step);

		free(text);
		if (hit)
			return 1;
		clock_sleep_ns(10 * NS_PER_MS);
	}
	return 0;
}

char *drill_proc_report_dir(struct drill_proc *p)
{
	char *text = drill_proc_stdout(p), *line, *dir = NULL;

	/* The last {"event":"report"} line names report.md. */
	for (line = text; line && *line;) {
		char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);
		json_t *o = json_loadb(line, len, 0, NULL);
		const char *e = json_string_value(json_object_get(o, "event"));

		if (e && strcmp(e, "report") == 0) {
			const char *path = json_string_value(json_object_get(o, "path"));
			const char *slash = path ? strrchr(path, '/') : NULL;

			free(dir);
			dir = slash ? xstrndup(path, (size_t)(slash - path)) : NULL;
		}
		json_decref(o);
		line = end ? end + 1 : NULL;
	}
	free(text);
	return dir;
}

json_t *drill_proc_journal(struct drill_proc *p)
{
	char *dir = drill_proc_report_dir(p);
	struct dr_error err = DR_ERROR_INIT;
	json_t *journal = NULL;

	if (dir) {
		char *jpath = xasprintf("%s/journal.json", dir), *jtext = NULL;

		if (fs_read_file(&jtext, NULL, jpath, 256u << 20, &err) == 0)
			journal = json_loads(jtext, 0, NULL);
		free(jtext);
		free(jpath);
	}
	free(dir);
	return journal;
}

int pid_alive(pid_t pid)
{
	char path[64], buf[512];
	FILE *f;
	int alive;

	if (pid <= 0 || kill(pid, 0) != 0)
		return 0;
	/* A zombie is not running: look at its state in /proc. */
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	alive = fgets(buf, sizeof(buf), f) && !strstr(buf, ") Z ");
	fclose(f);
	return alive;
}
