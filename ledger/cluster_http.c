/* One JSON call to one node, for the launcher's health checks and the
 * supervisor's AddMember: a thin layer over the shared client
 * (ledger/client.h) that turns non-2xx answers into errors. */
#include "cluster_state.h"

#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "common/strbuf.h"

int cluster_http_call(json_t **out, long *status_out, const char *address,
		      const char *path, json_t *body, int64_t timeout_ns,
		      struct dr_error *err)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_client *client = NULL;
	const char *addrs[1] = { address };
	long status = 0, ms = (long)(timeout_ns / 1000000);
	int rc = -1;

	*out = NULL;
	if (status_out)
		*status_out = 0;
	opts.admin_timeout_ms = ms > 0 ? ms : 1;
	opts.connect_timeout_ms = ms > 0 && ms < 1000 ? ms : 1000;
	if (ledger_client_new(&client, addrs, 1, &opts, err) != 0)
		goto out;
	if (ledger_call(client, 0, path, body, out, &status, err) != 0)
		goto out;
	if (status_out)
		*status_out = status;
	if (status < 200 || status > 299) {
		json_t *code = json_object_get(*out, "code");
		json_t *msg = json_object_get(*out, "message");

		dr_error_set(err, "%s on '%s': HTTP %ld %s: %s", path, address, status,
			     json_is_string(code) ? json_string_value(code) : "",
			     json_is_string(msg) ? json_string_value(msg) : "");
		goto out;
	}
	rc = 0;
out:
	ledger_client_free(client);
	return rc;
}
