/* One ledger API call to one node, for the launcher's health checks and
 * status and the supervisor's AddMember (cluster_api_call,
 * ledger/cluster/cluster_state.h).  A one-shot channel: these calls are
 * rare and need no kept connection. */
#include "ledger/cluster/cluster_state.h"

#include <stdlib.h>

#include "common/strbuf.h"
#include "ledger/client/rpc.h"

int cluster_api_call(json_t **out, const char *admin_token, const char *address,
		     const char *method, json_t *body, int64_t timeout_ns, struct dr_error *err)
{
	struct ledger_rpc_opts opts = LEDGER_RPC_OPTS_INIT;
	struct ledger_rpc_result res = LEDGER_RPC_RESULT_INIT;
	struct ledger_channel *ch = NULL;
	char *authorization = admin_token ? xasprintf("Bearer %s", admin_token) : NULL;
	int rc = -1;

	*out = NULL;
	opts.timeout_ns = timeout_ns;
	opts.authorization = authorization;
	if (ledger_channel_open(&ch, address, err) != 0) {
		free(authorization);
		return -1;
	}
	if (ledger_rpc(ch, method, body, &opts, &res, err) != 0)
		goto out;
	if (res.code == LEDGER_OK) {
		*out = json_incref(res.body);
		rc = 0;
	} else if (res.code == LEDGER_CODE_COUNT) {
		dr_error_set(err, "%s on %s: %s", method, address,
			     res.message[0] ? res.message : "no answer");
	} else {
		dr_error_set(err, "%s: %s", ledger_code_name(res.code), res.message);
	}
out:
	ledger_rpc_result_release(&res);
	ledger_channel_close(ch);
	free(authorization);
	return rc;
}
