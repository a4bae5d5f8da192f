#include "harness/run/run_environment.h"

#include <stdlib.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/strbuf.h"

static const char *const allowed_vars[] = {
	"CI", "GITHUB_ACTIONS", "GITHUB_WORKFLOW", "GITHUB_RUN_ID", "GITHUB_RUN_NUMBER",
	"GITHUB_REF", "GITHUB_SHA", "GITHUB_REPOSITORY", "GITHUB_EVENT_NAME", "RUNNER_OS",
	"RUNNER_NAME", "DRILLRIG_RUNNER_CLASS",
};

json_t *run_environment_json(void)
{
	struct utsname u;
	char host[256] = "unknown";
	json_t *vars = json_object();
	char *os;
	json_t *env;

	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	if (uname(&u) == 0)
		os = xasprintf("%s %s %s", u.sysname, u.release, u.machine);
	else
		os = xstrdup("unknown");
	for (size_t i = 0; i < sizeof(allowed_vars) / sizeof(allowed_vars[0]); i++) {
		const char *v = getenv(allowed_vars[i]);

		if (v)
			json_object_set_new(vars, allowed_vars[i], json_string(v));
	}
	env = json_pack("{s:s,s:s,s:i,s:o}", "hostname", host, "os", os,
			"cpus", (int)sysconf(_SC_NPROCESSORS_ONLN), "vars", vars);
	free(os);
	return env;
}

char *run_environment_class(void)
{
	const char *forced = getenv("DRILLRIG_RUNNER_CLASS");
	struct utsname u;

	if (forced && *forced)
		return xstrdup(forced);
	if (uname(&u) != 0)
		return xstrdup("unknown");
	return xasprintf("%s-%s-%ldcpu", "linux", u.machine, sysconf(_SC_NPROCESSORS_ONLN));
}
