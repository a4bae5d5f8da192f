/* Error codes of the ledger wire contract and their HTTP statuses. */
#include "ledger/client/wire.h"

#include <string.h>

static const struct {
	const char *name;
	int status;
} codes[LEDGER_CODE_COUNT] = {
	[LEDGER_OK] = { "OK", 200 },
	[LEDGER_NOT_LEADER] = { "NOT_LEADER", 421 },
	[LEDGER_UNKNOWN_OUTCOME] = { "UNKNOWN_OUTCOME", 500 },
	[LEDGER_INVALID_ARGUMENT] = { "INVALID_ARGUMENT", 400 },
	[LEDGER_NOT_FOUND] = { "NOT_FOUND", 404 },
	[LEDGER_UNAVAILABLE] = { "UNAVAILABLE", 503 },
	[LEDGER_UNAUTHENTICATED] = { "UNAUTHENTICATED", 401 },
	[LEDGER_FAILED_PRECONDITION] = { "FAILED_PRECONDITION", 412 },
	[LEDGER_METHOD_NOT_ALLOWED] = { "INVALID_ARGUMENT", 405 },
	[LEDGER_TOO_LARGE] = { "INVALID_ARGUMENT", 413 },
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
	return codes[code].status;
}

enum ledger_code ledger_code_parse(const char *name)
{
	int i;

	if (!name)
		return LEDGER_CODE_COUNT;
	for (i = 0; i < LEDGER_METHOD_NOT_ALLOWED; i++)
		if (strcmp(codes[i].name, name) == 0)
			return (enum ledger_code)i;
	return LEDGER_CODE_COUNT;
}
