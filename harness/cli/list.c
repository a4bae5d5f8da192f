/* drillrig list [DIR]: the drill catalog as a table (name, target, steps,
 * description).  DIR defaults to ./drills, else the installed catalog
 * $PREFIX/share/drillrig/drills found beside the executable. */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/cli/cli.h"
#include "harness/core/exit_codes.h"
#include "harness/plan/plan.h"
#include "harness/target/registry.h"

static const char list_usage[] =
	"usage: drillrig list [DIR]\n"
	"\n"
	"List the drills in DIR (default: ./drills, else the installed catalog\n"
	"PREFIX/share/drillrig/drills): name, target, steps, description.\n"
	"Invalid plans are listed as INVALID with their first error; run\n"
	"'drillrig validate' on them for every error.\n"
	"\n"
	"exit codes: 0 listed, 2 usage error or no such directory\n";

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* $PREFIX/share/drillrig/drills for an executable in $PREFIX/bin. */
static char *installed_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash, *dir;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	if (!(slash = strrchr(exe, '/')))
		return NULL;
	*slash = '\0';
	dir = xasprintf("%s/../share/drillrig/drills", exe);
	if (is_dir(dir))
		return dir;
	free(dir);
	return NULL;
}

static int plan_file(const char *name)
{
	const char *dot = strrchr(name, '.');

	return name[0] != '.' && dot && (!strcmp(dot, ".yaml") || !strcmp(dot, ".yml") ||
					 !strcmp(dot, ".json"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *first_line(const char *s, size_t max)
{
	size_t n = strcspn(s, "\n");
	char *out;

	if (n > max) {
		out = xasprintf("%.*s...", (int)(max - 3), s);
		return out;
	}
	return xstrndup(s, n);
}

int cmd_list(int argc, char **argv)
{
	char *dir = NULL, **names = NULL;
	size_t n = 0, alloc = 0, invalid = 0;
	DIR *d = NULL;
	struct dirent *e;
	int rc = EXIT_USAGE;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		fputs(list_usage, stdout);
		return EXIT_PASSED;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fputs(list_usage, stderr);
		return EXIT_USAGE;
	}
	if (argc == 2)
		dir = xstrdup(argv[1]);
	else if (is_dir("drills"))
		dir = xstrdup("drills");
	else
		dir = installed_dir();
	if (!dir) {
		fprintf(stderr, "drillrig list: no drills/ directory here and no installed "
			"catalog; give a directory\n");
		goto out;
	}
	if (!(d = opendir(dir))) {
		fprintf(stderr, "drillrig list: cannot open directory '%s': %m\n", dir);
		goto out;
	}
	while ((e = readdir(d))) {
		if (!plan_file(e->d_name))
			continue;
		if (n == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			names = xrealloc(names, alloc * sizeof(*names));
		}
		names[n++] = xstrdup(e->d_name);
	}
	qsort(names, n, sizeof(*names), cmp_str);
	printf("%-22s %-10s %5s  %s\n", "NAME", "TARGET", "STEPS", "DESCRIPTION");
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct plan_load_opts lo = PLAN_LOAD_OPTS_INIT;
		struct plan_diags diags = PLAN_DIAGS_INIT;
		struct plan *plan = NULL;

		lo.targets = target_registry;
		if (plan_load(&plan, path, &lo, &diags) == 0) {
			char *desc = first_line(plan->description, 60);

			printf("%-22s %-10s %5zu  %s\n", plan->name, plan->target, plan->nsteps, desc);
			free(desc);
		} else {
			const struct plan_diag *first = NULL;

			for (size_t j = 0; j < diags.n && !first; j++)
				if (diags.items[j].severity == PLAN_DIAG_ERROR)
					first = &diags.items[j];
			printf("%-22s %-10s %5s  INVALID (%zu error%s; first: %u:%u %s)\n", names[i],
			       "-", "-", diags.errors, diags.errors == 1 ? "" : "s",
			       first ? first->line : 0, first ? first->column : 0,
			       first ? first->message : "");
			invalid++;
		}
		plan_free(plan);
		plan_diags_release(&diags);
		free(path);
	}
	if (n == 0)
		printf("(no plans in %s)\n", dir);
	else if (invalid)
		printf("\n%zu of %zu plans are invalid: drillrig validate %s/<file>\n", invalid, n,
		       dir);
	rc = EXIT_PASSED;
out:
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return rc;
}
