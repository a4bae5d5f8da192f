/* The kubectl double's small helpers: messages, state files, times, uids. */
#include "tests/doubles/kubectl_double.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"

int kd_fail(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

void kd_print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(4) | JSON_SORT_KEYS);

	printf("%s\n", s ? s : "null");
	free(s);
}

static char *state_path(const char *name)
{
	return xasprintf("%s/k8s-double-%s", kd_dir, name);
}

json_t *kd_load_state(const char *name)
{
	char *p = state_path(name);
	json_t *v = json_load_file(p, 0, NULL);

	free(p);
	return v ? v : json_object();
}

void kd_save_state(const char *name, json_t *v)
{
	struct dr_error err = DR_ERROR_INIT;
	char *p = state_path(name), *s = json_dumps(v, JSON_COMPACT);

	fs_write_atomic(p, s, strlen(s), &err);
	free(s);
	free(p);
}

int kd_state_lock(void)
{
	char *p = state_path("lock");
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	free(p);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

void kd_state_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the lock */
}

int kd_detach_after(long delay_ms)
{
	pid_t pid;
	int nul;

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return 0;
	/* Whoever ran the double reads its output until EOF: keep none of its
	 * pipes, and no terminal's signals. */
	setsid();
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	close_range(3, ~0U, 0);
	clock_sleep_ns((int64_t)delay_ms * NS_PER_MS);
	return 1;
}

long kd_env_ms(const char *name, long def)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	return *end || n < 0 ? def : n;
}

char *kd_timestamp(int64_t wall_ns, int micro)
{
	time_t secs = (time_t)(wall_ns / 1000000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	if (micro)
		return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
				 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				 (long)(wall_ns % 1000000000 / 1000));
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* FNV-1a: only has to spread the words over the uid's digits. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

char *kd_uid(const char *a, long long b, long long c)
{
	uint64_t h1 = fnv(UINT64_C(14695981039346656037), a, strlen(a)), h2;

	h1 = fnv(h1, &b, sizeof(b));
	h1 = fnv(h1, &c, sizeof(c));
	h2 = fnv(h1 ^ UINT64_C(0x9e3779b97f4a7c15), &h1, sizeof(h1));
	return xasprintf("%08x-%04x-4%03x-%04x-%012llx", (unsigned)(h1 >> 32), (unsigned)(h1 >> 16 & 0xffff),
			 (unsigned)(h1 & 0xfff), (unsigned)(0x8000 | (h2 >> 48 & 0x3fff)),
			 (unsigned long long)(h2 & UINT64_C(0xffffffffffff)));
}

int kd_not_found(const char *kind, const char *name)
{
	return kd_fail(1, "Error from server (NotFound): %s \"%s\" not found", kind, name);
}

void kd_resource_ref(const struct cmd *c, int at, char **type, const char **name)
{
	const char *a = at < c->nargs ? c->args[at] : "";
	const char *slash = strchr(a, '/');

	if (slash) {
		*type = xstrndup(a, (size_t)(slash - a));
		*name = slash + 1;
		return;
	}
	*type = xstrdup(a);
	*name = at + 1 < c->nargs && c->args[at + 1][0] != '-' ? c->args[at + 1] : NULL;
}
