/* drillrig: chaos and disaster-recovery drills with measured RTO and RPO. */
#include <stdio.h>
#include <string.h>

#include "harness/cli/cli.h"
#include "ledger/client/rpc.h"

/* Read by LeakSanitizer in SANITIZE builds (unused otherwise): Debian's
 * libgit2 1.5 leaks pcre2 match data in git_remote_lookup, which is not
 * ours to fix. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libpcre2-8.so\n";
}

int main(int argc, char **argv)
{
	const struct cli_command *cmd;
	int rc;

	if (argc < 2)
		return cli_usage(1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_usage(0);
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(1, argv + 1);
	cmd = cli_find(argv[1]);
	if (!cmd) {
		fprintf(stderr, "drillrig: unknown command '%s'\n\n", argv[1]);
		return cli_usage(1);
	}
	rc = cmd->run(argc - 1, argv + 1);
	/* Every channel is closed by now; gRPC's own threads go with it. */
	ledger_rpc_shutdown();
	return rc;
}
