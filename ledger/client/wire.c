/* Error codes of the ledger wire contract, with the gRPC status each
 * travels as and the HTTP status of the debug and metrics listener. */
#include "ledger/client/wire.h"

#include <string.h>

static const struct {
	const char *name;
	int grpc;
	int http;
} codes[LEDGER_CODE_COUNT] = {
	[LEDGER_OK] = { "OK", 0, 200 },
	[LEDGER_NOT_LEADER] = { "NOT_LEADER", 14, 421 },
	[LEDGER_UNKNOWN_OUTCOME] = { "UNKNOWN_OUTCOME", 2, 500 },
	[LEDGER_INVALID_ARGUMENT] = { "INVALID_ARGUMENT", 3, 400 },
	[LEDGER_NOT_FOUND] = { "NOT_FOUND", 5, 404 },
	[LEDGER_UNAVAILABLE] = { "UNAVAILABLE", 14, 503 },
	[LEDGER_UNAUTHENTICATED] = { "UNAUTHENTICATED", 16, 401 },
	[LEDGER_FAILED_PRECONDITION] = { "FAILED_PRECONDITION", 9, 412 },
	[LEDGER_UNIMPLEMENTED] = { "UNIMPLEMENTED", 12, 404 },
	[LEDGER_METHOD_NOT_ALLOWED] = { "INVALID_ARGUMENT", 3, 405 },
	[LEDGER_TOO_LARGE] = { "RESOURCE_EXHAUSTED", 8, 413 },
};

const char *ledger_code_name(enum ledger_code code)
{
	if ((unsigned)code >= LEDGER_CODE_COUNT)
		return "UNKNOWN";
	return codes[code].name;
}

int ledger_code_http_status(enum ledger_code code)
{
	if ((unsigned)code >= LEDGER_CODE_COUNT)
		return 500;
	return codes[code].http;
}

int ledger_code_grpc_status(enum ledger_code code)
{
	if ((unsigned)code >= LEDGER_CODE_COUNT)
		return 2;
	return codes[code].grpc;
}

enum ledger_code ledger_code_parse(const char *name)
{
	int i;

	if (!name)
		return LEDGER_CODE_COUNT;
	/* METHOD_NOT_ALLOWED shares INVALID_ARGUMENT's name: parse to the latter. */
	for (i = 0; i < LEDGER_CODE_COUNT; i++)
		if (i != LEDGER_METHOD_NOT_ALLOWED && strcmp(codes[i].name, name) == 0)
			return (enum ledger_code)i;
	return LEDGER_CODE_COUNT;
}
