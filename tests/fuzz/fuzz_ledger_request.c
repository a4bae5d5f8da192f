/* Fuzz ledgerd's request decoding as its HTTP handler does it
 * (ledger/daemon/http.c on_request): the first line is the URL path, the
 * rest the body; route lookup, strict JSON parse (duplicates rejected),
 * "must be an object", then the route's validator from
 * ledger/daemon/svc_validate.c.  The peers-file parser, which reads the
 * other input ledgerd takes from outside, gets the body too. */
#include <stdio.h>

#include "ledger/daemon/config.h"
#include "ledger/daemon/http.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/svc.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_peers peers;
	const struct ledgerd_route *route;
	const uint8_t *body;
	size_t body_len;
	char *url = fuzz_split_line(data, size, &body, &body_len);
	json_t *req = NULL;

	route = ledgerd_route_find(url);
	if (route && route->validate) {
		req = body_len ? json_loadb((const char *)body, body_len, JSON_REJECT_DUPLICATES, NULL)
			       : json_object();
		if (req && json_is_object(req) && route->validate(req, &err) != 0 &&
		    err.msg[0] == '\0') {
			fprintf(stderr, "validator of '%s' failed without a message\n", url);
			abort();
		}
		json_decref(req);
	}
	memset(&peers, 0, sizeof peers);
	if (ledgerd_peers_parse(&peers, (const char *)body, body_len, "fuzz-peers.json", &err) == 0)
		ledgerd_peers_release(&peers);
	free(url);
	return 0;
}
