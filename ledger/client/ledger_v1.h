/* drillrig's writes in the public ledger.v1 dialect: one SetEntity per
 * write, keyed <key_prefix><client id>/<sequence:020> with an idempotency
 * key derived from (client id, sequence), so a retry is the same write;
 * read back with ListEntities on the client's prefix, linearizable, paged.
 * The same codec serves the bundled ledger over drillrig's gRPC client and
 * a Kubernetes ledger through `grpcurl` (the canary writes): requests are
 * proto3 JSON (lowerCamelCase, which ledger/client/pbjson.c accepts too),
 * and answers are read in either spelling. */
#ifndef DR_LEDGER_CLIENT_LEDGER_V1_H
#define DR_LEDGER_CLIENT_LEDGER_V1_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "ledger/client/types.h"

#define LEDGER_V1_WRITE "ledger.v1.WriteService/Write"
#define LEDGER_V1_LIST "ledger.v1.ReadService/ListEntities"
#define LEDGER_V1_CLUSTER_INFO "ledger.v1.AdminService/GetClusterInfo"
#define LEDGER_V1_TRANSFER "ledger.v1.AdminService/TransferLeadership"
#define LEDGER_V1_HEALTH "ledger.v1.HealthService/Check"

/* The entity key of one write (heap). */
char *ledger_v1_key(const struct ledger_v1_scope *s, const char *client_id, uint64_t sequence);

/* The WriteRequest of one write (new reference); now_s: wall seconds, for
 * expires_at (fixed per drill, so a retry is byte for byte the same). */
json_t *ledger_v1_write_request(const struct ledger_v1_scope *s, const char *client_id,
				uint64_t sequence, const char *payload, int64_t now_s);

/* The ListEntities request of one page of the client's writes (new
 * reference); client_id NULL: every client's; page_token NULL or "" for
 * the first page. */
json_t *ledger_v1_list_request(const struct ledger_v1_scope *s, const char *client_id,
			       const char *page_token, int limit);

/* A WriteResponse (either spelling) into res: success and
 * ALREADY_COMMITTED (a retry of a write that committed) are acknowledged,
 * with the block height as the index; IDEMPOTENCY_KEY_REUSED is an unknown
 * outcome (an earlier attempt reached the ledger, what it became is not
 * said); any other WriteError is a definite failure. */
void ledger_v1_classify_write(const json_t *answer, struct ledger_append_result *res);

/* One ListEntities answer (either spelling): fn sees each of the client's
 * writes on the page (client_id NULL: every client's under the key
 * prefix): its client id, sequence, the entity's version as its index and
 * its value (base64 as on the wire, borrowed); *next_token (heap, "" when
 * done) the page token of the next page.  Keys outside the prefix are
 * skipped (a server that ignored the prefix must not turn someone else's
 * entities into ours).  -1 with err on an answer of the wrong shape. */
typedef void (*ledger_v1_entry_fn)(const char *client_id, uint64_t sequence, uint64_t version,
				   const char *value_b64, void *payload);
int ledger_v1_parse_page(const json_t *answer, const struct ledger_v1_scope *s,
			 const char *client_id, ledger_v1_entry_fn fn, void *payload,
			 char **next_token, struct dr_error *err);

/* A GetClusterInfo answer (either spelling) in GetClusterStatus shape, as
 * far as ledger.v1 goes: {term, leader: {id, address} or null, voters,
 * members: [{id, address, role, state: "leader"|"follower"}], "api":
 * "ledger.v1"}.  New reference; -1 with err when it has no members list. */
int ledger_v1_status_of_info(const json_t *info, json_t **out, struct dr_error *err);

#endif
