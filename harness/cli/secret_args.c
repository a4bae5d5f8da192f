/* Values that must not sit in argv, where every local user reads them
 * (ps, /proc/PID/cmdline): --var-file NAME=PATH and --notify-webhook-file
 * PATH read them from a file, DRILLRIG_VAR_<NAME> and
 * DRILLRIG_NOTIFY_WEBHOOK from the environment (issue 17). */
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/cli/cli.h"

/* A secret's file: at most 64 KiB, one trailing newline (or CRLF) dropped,
 * so `echo $TOKEN > file` and editors' final newline both work. */
#define SECRET_FILE_MAX (64 * 1024)

char *cli_secret_file_read(const char *path, struct dr_error *err)
{
	char *text = NULL;
	size_t len = 0;

	if (fs_read_file(&text, &len, path, SECRET_FILE_MAX, err) != 0)
		return NULL;
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if (len > 0 && text[len - 1] == '\r')
		text[--len] = '\0';
	if (len == 0) {
		free(text);
		dr_error_set(err, "'%s' is empty", path);
		return NULL;
	}
	if (memchr(text, '\0', len)) {
		free(text);
		dr_error_set(err, "'%s' holds a NUL byte", path);
		return NULL;
	}
	return text;
}

void cli_vars_add(struct cli_vars *v, const char *kv)
{
	v->kv = xrealloc(v->kv, (v->n + 1) * sizeof(*v->kv));
	v->kv[v->n++] = kv;
}

int cli_vars_add_file(struct cli_vars *v, const char *arg, struct dr_error *err)
{
	const char *eq = strchr(arg, '=');
	char *value, *kv;

	if (!eq || eq == arg || !eq[1])
		return dr_error_set(err, "--var-file: expected NAME=PATH, got '%s'", arg);
	value = cli_secret_file_read(eq + 1, err);
	if (!value)
		return dr_error_wrap(err, "--var-file %.*s", (int)(eq - arg), arg);
	kv = xasprintf("%.*s=%s", (int)(eq - arg), arg, value);
	memset(value, 0, strlen(value));
	free(value);
	v->owned = xrealloc(v->owned, (v->nowned + 1) * sizeof(*v->owned));
	v->owned[v->nowned++] = kv;
	cli_vars_add(v, kv);
	return 0;
}

void cli_vars_release(struct cli_vars *v)
{
	for (size_t i = 0; i < v->nowned; i++) {
		memset(v->owned[i], 0, strlen(v->owned[i]));
		free(v->owned[i]);
	}
	free(v->owned);
	free(v->kv);
	memset(v, 0, sizeof(*v));
}
