/* ledgerd: one node of the bundled multi-region Raft ledger.
 * Exit codes: 0 clean shutdown or subcommand success, 1 runtime error,
 * 2 usage error.  See docs/ledger-api.md. */
#include <stdio.h>
#include <string.h>

#include "ledger/daemon/config.h"
#include "ledger/daemon/grpc_server.h"
#include "ledger/daemon/http.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/offline.h"

int main(int argc, char **argv)
{
	struct ledgerd_config cfg;
	struct dr_error err = DR_ERROR_INIT;
	const struct ledgerd_frontend *fes[3];
	size_t nfes = 0;
	int rc;

	if (argc > 1 && strcmp(argv[1], "info") == 0)
		return ledgerd_cmd_info(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "recover") == 0)
		return ledgerd_cmd_recover(argc - 1, argv + 1);
	rc = ledgerd_config_parse(&cfg, argc, argv, &err);
	if (rc == 1)
		return 0;
	if (rc != 0) {
		fprintf(stderr, "ledgerd: %s\n", err.msg);
		ledgerd_usage();
		return 2;
	}
	/* The API over gRPC; /metrics, the debug faults and /healthz over HTTP
	 * when --http is given. */
	fes[nfes++] = &ledgerd_grpc_frontend;
	if (cfg.http)
		fes[nfes++] = &ledgerd_http_frontend;
	fes[nfes] = NULL;
	return ledgerd_node_run(&cfg, fes);
}
