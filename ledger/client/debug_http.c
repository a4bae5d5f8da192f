/* Debug faults and digests over a node's HTTP listener
 * (ledger_debug_call, ledger/client/client.h).  Its own file: ledgerd links
 * this folder's archive too, and must not pull libcurl in. */
#include "ledger/client/client.h"

#include <stdlib.h>

#include "common/http_pool.h"
#include "common/strbuf.h"

int ledger_debug_call(const char *http_address, const char *admin_token, const char *method,
		      const json_t *req, long timeout_ms, json_t **resp, long *http_status,
		      struct dr_error *err)
{
	struct http_pool *pool = NULL;
	const char *addrs[1] = { http_address };
	char *header = admin_token ? xasprintf("Authorization: Bearer %s", admin_token) : NULL;
	const char *headers[2] = { header, NULL };
	int rc = -1;

	*resp = NULL;
	*http_status = 0;
	if (http_pool_new(&pool, addrs, 1, headers, err) == 0)
		rc = http_pool_call(pool, 0, method, req, timeout_ms, timeout_ms, resp, http_status,
				    err);
	http_pool_free(pool);
	free(header);
	return rc;
}
