/* The Kubernetes target's state on the runner's machine: where a drill's
 * pending undos live (t->state_path), the record of whose Lease it is and
 * which nodes it cordoned, and recover's decision about a Lease.
 * harness/target/k8s/k8s_state.h has the layout. */
#include "harness/target/k8s/k8s_state.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "harness/target/k8s/k8s_impl.h"

#define CONTEXT_NAME_MAX 100

int k8s_state_dir(char **out, struct dr_error *err)
{
	const char *v = getenv("DRILLRIG_STATE_DIR");
	struct passwd *pw;

	*out = NULL;
	if (v && *v) {
		*out = xstrdup(v);
		return 0;
	}
	/* The XDG base directory spec: a relative value is to be ignored. */
	v = getenv("XDG_STATE_HOME");
	if (v && v[0] == '/') {
		*out = xasprintf("%s/drillrig", v);
		return 0;
	}
	v = getenv("HOME");
	if (!v || !*v) {
		pw = getpwuid(getuid());
		v = pw ? pw->pw_dir : NULL;
	}
	if (!v || !*v)
		return dr_error_set(err, "no state directory for the drill's pending undos: set "
				    "DRILLRIG_STATE_DIR (or XDG_STATE_HOME, or HOME)");
	*out = xasprintf("%s/.local/state/drillrig", v);
	return 0;
}

/* FNV-1a over the names with a separator no name contains. */
static uint32_t names_hash(const char *context, const char *ns, const char *lease)
{
	const char *parts[3] = { context, ns, lease };
	uint32_t h = 2166136261u;

	for (int i = 0; i < 3; i++) {
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++) {
			h ^= *p;
			h *= 16777619u;
		}
		h ^= 0xff;
		h *= 16777619u;
	}
	return h;
}

/* Appends name with unsafe characters replaced; 1 when it changed anything. */
static int add_safe(struct strbuf *sb, const char *name, size_t max)
{
	int changed = 0;
	size_t n = 0;

	for (const char *p = name; *p; p++, n++) {
		char c = *p;

		if (n == max)
			return 1;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			c = '-';
			changed = 1;
		}
		strbuf_addch(sb, c);
	}
	return changed || n == 0;
}

char *k8s_state_file_name(const char *context, const char *ns, const char *lease)
{
	struct strbuf sb = STRBUF_INIT;
	int changed;

	strbuf_adds(&sb, "k8s_");
	changed = add_safe(&sb, context, CONTEXT_NAME_MAX);
	strbuf_addch(&sb, '_');
	changed |= add_safe(&sb, ns, 63);
	strbuf_addch(&sb, '_');
	changed |= add_safe(&sb, lease, 63);
	if (changed)
		strbuf_addf(&sb, "-%08x", names_hash(context, ns, lease));
	strbuf_adds(&sb, ".state.json");
	return strbuf_detach(&sb);
}

char *k8s_state_record_path(const char *state_path)
{
	static const char suffix[] = ".state.json";
	size_t n = strlen(state_path), k = sizeof(suffix) - 1;

	if (n > k && strcmp(state_path + n - k, suffix) == 0)
		return xasprintf("%.*s.lease.json", (int)(n - k), state_path);
	return xasprintf("%s.lease.json", state_path);
}

int k8s_holder_parse(const char *holder, char *host, size_t hostlen, long *pid)
{
	static const char prefix[] = "drillrig@";
	const char *h, *slash;
	int64_t v;

	if (!holder || strncmp(holder, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	h = holder + sizeof(prefix) - 1;
	slash = strrchr(h, '/');
	if (!slash || slash == h || (size_t)(slash - h) >= hostlen)
		return -1;
	if (parse_int64(&v, slash + 1, 1, 0x7fffffff) != 0)
		return -1;
	memcpy(host, h, (size_t)(slash - h));
	host[slash - h] = '\0';
	*pid = (long)v;
	return 0;
}

/* Whole seconds, RFC 3339 UTC: a Lease's times can lie beyond what
 * nanoseconds in an int64 reach (clock_format_utc). */
static void format_utc(char *buf, size_t len, int64_t secs)
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)secs);
}

enum k8s_lease_verdict k8s_lease_decide(const struct k8s_lease_facts *f, char *why, size_t len)
{
	char host[256], when[40];
	long pid = 0;
	int ours = 0;
	int64_t expires;

	if (!f->holder) {
		snprintf(why, len, "no drill lock is held");
		return K8S_LEASE_NONE;
	}
	/* Parked by a drill that ended with undos it could not run. */
	if (!*f->holder || strcmp(f->holder, "(nobody)") == 0) {
		snprintf(why, len, "the drill lock has no holder (a drill left it with its undos)");
		return K8S_LEASE_RELEASE;
	}
	ours = k8s_holder_parse(f->holder, host, sizeof(host), &pid) == 0 && f->host &&
	       strcmp(host, f->host) == 0;
	if (f->self && strcmp(f->holder, f->self) == 0) {
		snprintf(why, len, "the drill lock is held by this process (%s)", f->holder);
		return K8S_LEASE_RELEASE;
	}
	expires = f->renew_s >= 0 && f->duration_s > 0 ? f->renew_s + f->duration_s : -1;
	if (expires >= 0 && expires <= f->now_s) {
		snprintf(why, len, "the drill lock held by %s expired %llds ago", f->holder,
			 (long long)(f->now_s - expires));
		return K8S_LEASE_RELEASE;
	}
	if (ours && !f->holder_pid_alive) {
		if (f->recorded && strcmp(f->recorded, f->holder) == 0)
			snprintf(why, len, "the drill lock is held by the interrupted drill %s, "
				 "whose process %ld on this host is gone", f->holder, pid);
		else
			snprintf(why, len, "stale drill lock: its holder %s ran on this host and "
				 "process %ld is gone", f->holder, pid);
		return K8S_LEASE_RELEASE;
	}
	if (expires >= 0) {
		format_utc(when, sizeof(when), expires);
		snprintf(why, len, "the drill lock is held by %s, %s; it expires at %s (in %llds)",
			 f->holder, ours ? "a drill still running on this host" :
			 "a drill on another runner (run `drillrig recover` there)",
			 when, (long long)(expires - f->now_s));
	} else {
		snprintf(why, len, "the drill lock is held by %s, %s; its expiry is unknown", f->holder,
			 ours ? "a drill still running on this host" : "a drill on another runner");
	}
	return K8S_LEASE_REFUSE;
}

/* ---- the running drill's side -------------------------------------------- */

static char *state_path_of(const struct k8s_config *cfg, struct dr_error *err)
{
	const struct k8s_region *r = k8s_lease_region(cfg);
	char *dir = NULL, *name, *path;

	if (k8s_state_dir(&dir, err) != 0)
		return NULL;
	name = k8s_state_file_name(r->context, r->namespace, cfg->lease_name);
	path = xasprintf("%s/%s", dir, name);
	free(name);
	free(dir);
	return path;
}

int target_k8s_state_path(char **out, struct target *t, struct dr_error *err)
{
	struct k8s_target *kt = t->impl;

	*out = state_path_of(kt->cfg, err);
	return *out ? 0 : -1;
}

void k8s_state_note(struct k8s_target *kt)
{
	const struct k8s_region *r = k8s_lease_region(kt->cfg);
	struct dr_error err = DR_ERROR_INIT;
	char host[256] = "unknown", *text;
	json_t *rec;

	if (!kt->record_path[0])
		return;
	gethostname(host, sizeof(host) - 1);
	pthread_mutex_lock(&kt->lock);
	rec = json_pack("{s:s,s:s,s:I,s:s,s:s,s:s,s:s,s:O,s:O}", "holder", kt->holder, "host", host,
			"pid", (json_int_t)getpid(), "context", r->context, "namespace", r->namespace,
			"lease", kt->cfg->lease_name, "config", kt->cfg->path, "cordoned", kt->cordoned,
			"chaos", kt->chaos);
	pthread_mutex_unlock(&kt->lock);
	text = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!text || fs_write_atomic_mode(kt->record_path, text, strlen(text), 0600, &err) != 0)
		fprintf(stderr, "drillrig: warning: cannot record the drill lock holder: %s\n",
			err.msg[0] ? err.msg : "out of memory");
	free(text);
	json_decref(rec);
	k8s_lease_note_record(kt);
}

void k8s_state_forget(struct k8s_target *kt)
{
	if (!kt->record_path[0])
		return;
	unlink(kt->record_path);
	kt->record_path[0] = '\0';
}

char *k8s_state_path_hook(struct target *t)
{
	struct k8s_target *kt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	char *path, *record, *dir;

	/* Nothing changes in a dry run: nothing to recover. */
	if (kt->dry_run || kt->server_dry_run)
		return NULL;
	path = state_path_of(kt->cfg, &err);
	if (!path) {
		fprintf(stderr, "drillrig: warning: %s; `drillrig recover` will not know this drill's undos\n",
			err.msg);
		return NULL;
	}
	dir = xstrdup(path);
	*strrchr(dir, '/') = '\0';
	if (fs_mkdir_p_mode(dir, 0700, &err) != 0)
		fprintf(stderr, "drillrig: warning: %s\n", err.msg);
	free(dir);
	/* An earlier drill's state is not ours to overwrite: the runner refuses
	 * to start, and recover needs that drill's record. */
	if (!fs_exists(path)) {
		record = k8s_state_record_path(path);
		if (strlen(record) < sizeof(kt->record_path)) {
			str_copy(kt->record_path, sizeof(kt->record_path), record);
			k8s_state_note(kt);
		}
		free(record);
	}
	return path;
}
