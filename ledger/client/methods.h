/* Every gRPC method of the ledger, both dialects, with its request and
 * answer types: the one table the server (ledgerd) and the client route by.
 * Paths are gRPC's: "/inferadb.ledger.v1.Admin/GetClusterStatus". */
#ifndef DR_LEDGER_CLIENT_METHODS_H
#define DR_LEDGER_CLIENT_METHODS_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

struct ledger_method {
	char path[128];                          /* "/<package>.<Service>/<Method>" */
	const ProtobufCServiceDescriptor *service;
	const ProtobufCMethodDescriptor *method;  /* name, input, output */
};

/* The method at path ("/svc/Method", or "svc/Method" without the slash),
 * NULL when the ledger has none.  Thread-safe. */
const struct ledger_method *ledger_method_find(const char *path);

/* Every method, for listing (reflection, docs tests); *n set. */
const struct ledger_method *ledger_methods(size_t *n);

#endif
