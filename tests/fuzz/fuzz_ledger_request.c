/* Fuzz ledgerd's request decoding as its front ends do it: the first line
 * is the method path, the rest the body.  As the gRPC front end
 * (ledger/daemon/grpc_server.c serve): route and method lookup, the body
 * decoded as the method's protobuf message into JSON (pbjson), then the
 * route's validator from ledger/daemon/svc_validate.c.  As the HTTP debug
 * listener (ledger/daemon/http.c): strict JSON parse (duplicates
 * rejected), "must be an object", the validator.  The peers-file parser,
 * which reads the other input ledgerd takes from outside, gets the body
 * too. */
#include <stdio.h>

#include "ledger/client/methods.h"
#include "ledger/client/pbjson.h"
#include "ledger/daemon/config.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/routes.h"
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
	if (route && ledger_method_find(url)) {
		const struct ledger_method *m = ledger_method_find(url);

		if (pbjson_unpack(&req, m->method->input, body, body_len, 0, &err) == 0 &&
		    route->validate && route->validate(req, &err) != 0 && err.msg[0] == '\0') {
			fprintf(stderr, "validator of '%s' failed without a message\n", url);
			abort();
		}
		json_decref(req);
		req = NULL;
	}
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
