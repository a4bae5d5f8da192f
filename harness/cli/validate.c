/* drillrig validate [--target T] [--var k=v]... [--timing E/H] PLAN...
 * Checks plans without running anything: every error of every file as
 * "file:line:col: path: message"; exit 2 if any plan is invalid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "harness/cli/cli.h"
#include "harness/core/exit_codes.h"
#include "harness/plan/plan.h"
#include "harness/target/registry.h"

static const char validate_usage[] =
	"usage: drillrig validate [options] PLAN...\n"
	"\n"
	"Check drill plans (YAML or JSON) against the schema without running them.\n"
	"Every error is printed as file:line:column: key.path: message.\n"
	"\n"
	"options:\n"
	"  --target T       check against target T (local, kubernetes, etcd)\n"
	"  --var NAME=VALUE set a plan variable (repeatable)\n"
	"  --timing E/H     election timeout / heartbeat override, e.g. 300ms/30ms\n"
	"  -q, --quiet      print errors only, no 'ok:' lines\n"
	"  -h, --help       show this help\n"
	"\n"
	"exit codes: 0 every plan is valid, 2 a plan is invalid or usage error\n";

static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (strcmp(argv[*i], name) == 0) {
		if (*i + 1 >= argc)
			return NULL;
		return argv[++*i];
	}
	return NULL;
}

int cmd_validate(int argc, char **argv)
{
	struct plan_load_opts opts = PLAN_LOAD_OPTS_INIT;
	const char **vars = xcalloc((size_t)argc + 1, sizeof(*vars));
	const char **files = xcalloc((size_t)argc + 1, sizeof(*files));
	size_t nfiles = 0;
	int quiet = 0, rc = EXIT_PASSED;

	opts.targets = target_registry;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fputs(validate_usage, stdout);
			goto out;
		} else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			quiet = 1;
		} else if (strncmp(a, "--target", 8) == 0 && (a[8] == '\0' || a[8] == '=')) {
			if (!(v = opt_value(argc, argv, &i, "--target")))
				goto usage;
			opts.target = v;
		} else if (strncmp(a, "--var", 5) == 0 && (a[5] == '\0' || a[5] == '=')) {
			if (!(v = opt_value(argc, argv, &i, "--var")))
				goto usage;
			vars[opts.nvars++] = v;
		} else if (strncmp(a, "--timing", 8) == 0 && (a[8] == '\0' || a[8] == '=')) {
			if (!(v = opt_value(argc, argv, &i, "--timing")))
				goto usage;
			opts.timing = v;
		} else if (strcmp(a, "--") == 0) {
			while (++i < argc)
				files[nfiles++] = argv[i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "drillrig validate: unknown option '%s'\n", a);
			goto usage;
		} else {
			files[nfiles++] = a;
		}
	}
	if (nfiles == 0) {
		fprintf(stderr, "drillrig validate: no plan given\n");
		goto usage;
	}
	opts.vars = vars;
	for (size_t i = 0; i < nfiles; i++) {
		struct plan_diags diags = PLAN_DIAGS_INIT;
		struct plan *plan = NULL;

		if (plan_load(&plan, files[i], &opts, &diags) != 0) {
			plan_diags_print(stderr, &diags);
			fprintf(stderr, "invalid: %s (%zu error%s)\n", files[i], diags.errors,
				diags.errors == 1 ? "" : "s");
			rc = EXIT_USAGE;
		} else {
			plan_diags_print(stderr, &diags);
			if (!quiet) {
				char *needs = plan_needs_text(plan_needs(plan));

				printf("ok: %s (%zu step%s%s%s)\n", files[i], plan->nsteps,
				       plan->nsteps == 1 ? "" : "s", *needs ? "; needs " : "", needs);
				free(needs);
			}
		}
		plan_free(plan);
		plan_diags_release(&diags);
	}
	goto out;
usage:
	fputs(validate_usage, stderr);
	rc = EXIT_USAGE;
out:
	free(vars);
	free(files);
	fflush(stdout);
	return rc;
}
