/* Finding the executables a cluster runs: ledgerd and drillrig (which hosts
 * the supervisor as a hidden `cluster supervise` command). */
#include "ledger/cluster/cluster.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/strbuf.h"

static char *self_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return xstrdup(buf);
}

static int executable(const char *path)
{
	return path && *path && access(path, X_OK) == 0;
}

static char *search_path(const char *name)
{
	const char *path = getenv("PATH"), *p;

	for (p = path; p && *p;) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		char *cand = xasprintf("%.*s/%s", (int)len, p, name);

		if (len && executable(cand))
			return cand;
		free(cand);
		p += len;
		if (*p == ':')
			p++;
	}
	return NULL;
}

/* name next to this executable, then $env_var, then PATH. */
static int find(char **out, const char *name, const char *env_var, struct dr_error *err)
{
	char *dir = self_dir(), *cand = NULL;
	const char *env = getenv(env_var);

	*out = NULL;
	if (dir) {
		cand = xasprintf("%s/%s", dir, name);
		free(dir);
		if (executable(cand)) {
			*out = cand;
			return 0;
		}
		free(cand);
	}
	if (executable(env)) {
		*out = xstrdup(env);
		return 0;
	}
	*out = search_path(name);
	if (*out)
		return 0;
	return dr_error_set(err, "cannot find '%s': not next to this program, not in $%s, not in PATH (build it with `make`)",
			    name, env_var);
}

int cluster_find_ledgerd(char **out, struct dr_error *err)
{
	return find(out, "ledgerd", "LEDGERD_BIN", err);
}

int cluster_find_drillrig(char **out, struct dr_error *err)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n > 0) {
		const char *base;

		buf[n] = '\0';
		base = strrchr(buf, '/');
		base = base ? base + 1 : buf;
		if (strcmp(base, "drillrig") == 0) {
			*out = xstrdup(buf);
			return 0;
		}
	}
	return find(out, "drillrig", "DRILLRIG_BIN", err);
}
