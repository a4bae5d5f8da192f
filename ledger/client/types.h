/* The ledger client's value types, shared by the client (client.h) and its
 * dialect codecs (ledger_v1.h), which must not include the client. */
#ifndef DR_LEDGER_CLIENT_TYPES_H
#define DR_LEDGER_CLIENT_TYPES_H

#include <stdint.h>

/* Which of the ledger's two service sets the client's drill calls use:
 * the runbook's native inferadb.ledger.v1 (Append, Read, GetClusterStatus,
 * RequestLeaderTransfer) or the public ledger.v1 (Write with idempotency
 * keys, ListEntities, GetClusterInfo, TransferLeadership). */
enum ledger_api {
	LEDGER_API_RUNBOOK = 0,
	LEDGER_API_V1,
};

/* "runbook" / "ledger.v1"; ledger_api_parse: 0, or -1 for another name. */
const char *ledger_api_name(enum ledger_api api);
int ledger_api_parse(enum ledger_api *out, const char *name);

/* Where writes go in the ledger.v1 dialect and who writes them: slugs as
 * decimal uint64 strings, the key prefix of drillrig's entities, a time to
 * live (expires_at = the client's start + ttl_s; 0: never). */
struct ledger_v1_scope {
	const char *organization;
	const char *vault;
	const char *caller;
	const char *key_prefix;   /* "" allowed */
	int64_t ttl_s;
};

/* The scope drillrig uses on the bundled ledger (organization 1, vault 1,
 * caller 1, keys under "drillrig/", kept forever). */
#define LEDGER_V1_SCOPE_BUNDLED { "1", "1", "1", "drillrig/", 0 }

enum ledger_outcome {
	LEDGER_OUTCOME_OK = 0,            /* acknowledged: committed at index/term */
	LEDGER_OUTCOME_DEFINITE_FAILURE,  /* certainly not appended */
	LEDGER_OUTCOME_UNKNOWN,           /* may or may not be appended */
};

struct ledger_append_result {
	enum ledger_outcome outcome;
	uint64_t index;          /* OK only */
	uint64_t term;           /* OK only */
	char code[32];           /* error code ("NOT_LEADER", ...), "TRANSPORT" when no
				  * node answered, "" on OK */
	char message[256];       /* error text, "" on OK */
	char leader[128];        /* NOT_LEADER: leader's address, "" when unknown */
	int node;                /* index of the node the attempt went to */
	long http_status;        /* the answer's status in HTTP terms (a gRPC answer:
				  * its wire code's, 200, 421, 503, ...); 0 when no
				  * answer arrived */
	int64_t latency_ns;
	int timed_out;           /* TRANSPORT: the per-call timeout expired */
	int refused;             /* TRANSPORT: no connection (request never sent) */
};

#endif
