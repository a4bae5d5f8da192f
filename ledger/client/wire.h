/* The ledger's wire contract shared by ledgerd and its client: service
 * names, limits, and the error codes with the gRPC status each travels as
 * (and the HTTP status of the debug listener).  See docs/ledger-api.md. */
#ifndef DR_LEDGER_CLIENT_WIRE_H
#define DR_LEDGER_CLIENT_WIRE_H

#define LEDGER_SVC_LEDGER "inferadb.ledger.v1.Ledger"
#define LEDGER_SVC_ADMIN "inferadb.ledger.v1.Admin"
#define LEDGER_SVC_DEBUG "inferadb.ledger.v1.Debug"
#define LEDGER_SVC_HEALTH "grpc.health.v1.Health"

#define LEDGER_PATH_APPEND "/" LEDGER_SVC_LEDGER "/Append"
#define LEDGER_PATH_READ "/" LEDGER_SVC_LEDGER "/Read"
#define LEDGER_PATH_STATUS "/" LEDGER_SVC_ADMIN "/GetClusterStatus"

/* Largest request the daemon accepts (RESOURCE_EXHAUSTED above). */
#define LEDGER_MAX_BODY (1024 * 1024)
/* Limits on Append fields (400 above). */
#define LEDGER_MAX_CLIENT_ID 256
#define LEDGER_MAX_PAYLOAD (512 * 1024)
/* Read: default and largest page. */
#define LEDGER_READ_DEFAULT_LIMIT 1000
/* A Read answer stops before the entry that would take its payloads past
 * this (it always holds one entry): an answer must fit a gRPC client's
 * default 4 MiB receive limit, and twelve concurrent `limit: 10000` reads
 * of big entries once took a leader from 96 MB to 1.5 GB (issue 17).
 * Clients page on: they continue after the last index returned. */
#define LEDGER_READ_MAX_BYTES (2u << 20)
#define LEDGER_READ_MAX_LIMIT 10000

enum ledger_code {
	LEDGER_OK = 0,
	LEDGER_NOT_LEADER,
	LEDGER_UNKNOWN_OUTCOME,
	LEDGER_INVALID_ARGUMENT,
	LEDGER_NOT_FOUND,
	LEDGER_UNAVAILABLE,
	LEDGER_UNAUTHENTICATED,
	LEDGER_FAILED_PRECONDITION,
	LEDGER_UNIMPLEMENTED,      /* no such method */
	LEDGER_METHOD_NOT_ALLOWED, /* HTTP only: code name INVALID_ARGUMENT, status 405 */
	LEDGER_TOO_LARGE,          /* RESOURCE_EXHAUSTED, HTTP 413 */
	LEDGER_CODE_COUNT
};

/* "NOT_LEADER", ...; "OK" for LEDGER_OK. */
const char *ledger_code_name(enum ledger_code code);
/* The HTTP status a code is answered with on the debug listener (NOT_LEADER: 421). */
int ledger_code_http_status(enum ledger_code code);
/* The gRPC status a code travels as (NOT_LEADER: UNAVAILABLE, 14). */
int ledger_code_grpc_status(enum ledger_code code);
/* Parse a code name; LEDGER_CODE_COUNT when unknown. */
enum ledger_code ledger_code_parse(const char *name);

#endif
