/* drillrig preflight: before the maintenance window, check read-only that a
 * drill against live Kubernetes contexts can run: kubectl and its version
 * skew, every context reachable, the StatefulSets, RBAC for every verb the
 * plan needs, grpcurl in the admin pods, the current leader and the
 * replication lag.  One line per check; exit 3 when any fails. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "harness/cli/cli.h"
#include "harness/core/exit_codes.h"
#include "harness/plan/plan.h"
#include "harness/target/registry.h"

static const char preflight_usage[] =
	"usage: drillrig preflight --target-config FILE [options]\n"
	"\n"
	"Checks, without changing anything, that a drill can run against the live\n"
	"Kubernetes contexts of FILE: kubectl present and within the supported version\n"
	"skew of each cluster, every context reachable, each region's StatefulSet at\n"
	"its normal size and Ready, `kubectl auth can-i` for every verb the drill\n"
	"needs, grpcurl present in each admin pod, a current leader and the\n"
	"replication lag.  Prints one line per check.\n"
	"\n"
	"options:\n"
	"  --target-config FILE   the Kubernetes target configuration (docs/kubernetes.md)\n"
	"  --target KIND          kubernetes (the only target with a preflight)\n"
	"  --plan PLAN            check only the RBAC verbs this plan's actions need\n"
	"  --json                 one JSON object per check\n"
	"\n"
	"exit codes: 0 every check passed, 2 usage error or invalid configuration,\n"
	"3 a check failed.\n";

int cmd_preflight(int argc, char **argv)
{
	enum { O_TCONFIG = 256, O_TARGET, O_PLAN, O_JSON, O_HELP };
	static const struct option longopts[] = {
		{ "target-config", required_argument, NULL, O_TCONFIG },
		{ "target", required_argument, NULL, O_TARGET },
		{ "plan", required_argument, NULL, O_PLAN },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct plan_load_opts lo = PLAN_LOAD_OPTS_INIT;
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct target_opts topts = TARGET_OPTS_INIT;
	const struct target_kind *kind;
	struct plan *plan = NULL;
	const char *config = NULL, *plan_path = NULL, *target = "kubernetes";
	int json = 0, c, rc, code = EXIT_USAGE;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_TCONFIG: config = optarg; break;
		case O_TARGET: target = optarg; break;
		case O_PLAN: plan_path = optarg; break;
		case O_JSON: json = 1; break;
		case 'h':
		case O_HELP:
			fputs(preflight_usage, stdout);
			return EXIT_PASSED;
		default:
			fprintf(stderr, "drillrig preflight: unknown option '%s'\n\n%s", argv[optind - 1],
				preflight_usage);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || !config) {
		fprintf(stderr, "drillrig preflight: %s\n\n%s",
			!config ? "--target-config FILE is required" : "unexpected argument", preflight_usage);
		return EXIT_USAGE;
	}
	kind = target_kind_find(target);
	if (!kind || !kind->preflight) {
		struct strbuf can = STRBUF_INIT;

		target_kind_names(&can, 0, 1);
		fprintf(stderr, "drillrig preflight: target '%s' has no preflight (targets with one: %s)\n",
			target, can.buf);
		strbuf_release(&can);
		return EXIT_USAGE;
	}
	if (plan_path) {
		lo.target = kind->name;
		lo.targets = target_registry;
		if (plan_load(&plan, plan_path, &lo, &diags) != 0) {
			plan_diags_print(stderr, &diags);
			fprintf(stderr, "drillrig preflight: '%s' is not a valid plan\n", plan_path);
			goto out;
		}
	}
	topts.config_path = config;
	rc = kind->preflight(&topts, plan, json, stdout, &err);
	if (rc < 0) {
		fprintf(stderr, "drillrig preflight: %s\n", err.msg);
		code = rc == TARGET_EUSAGE ? EXIT_USAGE : EXIT_INFRA;
		goto out;
	}
	code = rc == 0 ? EXIT_PASSED : EXIT_INFRA;
out:
	plan_free(plan);
	plan_diags_release(&diags);
	return code;
}
