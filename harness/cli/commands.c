#include <stdio.h>
#include <string.h>

#include "harness/cli/cli.h"
#include "harness/core/exit_codes.h"

const struct cli_command cli_commands[] = {
	{ "run", "run a drill plan and report its measured recovery", cmd_run },
	{ "validate", "check drill plans without running them", cmd_validate },
	{ "list", "list the drill catalog", cmd_list },
	{ "cluster", "start, inspect and break the bundled ledger cluster", cmd_cluster },
	{ "soak", "randomized fault soak: random faults, history check, replica digests", cmd_soak },
	{ "recover", "finish the rollback of a drill whose runner was killed", cmd_recover },
	{ "version", "print the version and the git revision it was built from", cmd_version },
	{ "preflight", "check tools, contexts, RBAC and leader health before a Kubernetes drill", cmd_preflight },
	{ "report", "list, show, compare and push drill results", cmd_report },
	{ "help", "show this help", cmd_help },
	{ NULL, NULL, NULL },
};

const struct cli_command *cli_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int cli_usage(int to_stderr)
{
	FILE *f = to_stderr ? stderr : stdout;

	fprintf(f, "usage: drillrig <command> [options]\n\ncommands:\n");
	for (const struct cli_command *c = cli_commands; c->name; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n");
	exit_codes_print(f, "  ");
	return to_stderr ? EXIT_USAGE : EXIT_PASSED;
}

int cmd_help(int argc, char **argv)
{
	const struct cli_command *c;

	if (argc > 1 && (c = cli_find(argv[1])) != NULL && c->run != cmd_help) {
		char *sub[] = { argv[1], (char *)"--help", NULL };

		return c->run(2, sub);
	}
	return cli_usage(0);
}
