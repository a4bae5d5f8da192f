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
#include "ledger/client/client.h"

#define LEDGER_V1_WRITE "ledger.v1.WriteService/Write"
#define LEDGER_V1_LIST "ledger.v1.ReadService/ListEntities"

/* Where the writes go and who writes them: ledger.v1 slugs as decimal
 * uint64 strings, the key prefix, a time to live. */
struct ledger_v1_scope {
	const char *organization;
	const char *vault;
	const char *caller;
	const char *key_prefix;   /* "" allowed */
	int64_t ttl_s;            /* expires_at = now + ttl_s; 0: never */
};

/* The entity key of one write (heap). */
char *ledger_v1_key(const struct ledger_v1_scope *s, const char *client_id, uint64_t sequence);

/* The WriteRequest of one write (new reference); now_s: wall seconds, for
 * expires_at (fixed per drill, so a retry is byte for byte the same). */
json_t *ledger_v1_write_request(const struct ledger_v1_scope *s, const char *client_id,
				uint64_t sequence, const char *payload, int64_t now_s);

/* The ListEntities request of one page of the client's writes (new
 * reference); page_token NULL or "" for the first page. */
json_t *ledger_v1_list_request(const struct ledger_v1_scope *s, const char *client_id,
			       const char *page_token, int limit);

/* A WriteResponse (either spelling) into res: success and
 * ALREADY_COMMITTED (a retry of a write that committed) are acknowledged,
 * with the block height as the index; IDEMPOTENCY_KEY_REUSED is an unknown
 * outcome (an earlier attempt reached the ledger, what it became is not
 * said); any other WriteError is a definite failure. */
void ledger_v1_classify_write(const json_t *answer, struct ledger_append_result *res);

/* One ListEntities answer (either spelling): fn sees each of the client's
 * writes on the page (sequence, and the entity's version as its index);
 * *next_token (heap, "" when done) the page token of the next page.  Keys
 * outside the client's prefix are skipped (a server that ignored the
 * prefix must not turn someone else's entities into ours).  -1 with err on
 * an answer of the wrong shape. */
typedef void (*ledger_v1_entry_fn)(uint64_t sequence, uint64_t version, void *payload);
int ledger_v1_parse_page(const json_t *answer, const struct ledger_v1_scope *s,
			 const char *client_id, ledger_v1_entry_fn fn, void *payload,
			 char **next_token, struct dr_error *err);

/* One write attempt through a client (its current node, NOT_LEADER and
 * transport failures handled as ledger_append does): the request of
 * ledger_v1_write_request, classified into res.  0 when acknowledged. */
int ledger_v1_write(struct ledger_client *c, const struct ledger_v1_scope *s,
		    const char *client_id, uint64_t sequence, const char *payload, int64_t now_s,
		    struct ledger_append_result *res);

/* Every write of client_id, page by page from the leader, into fn. */
int ledger_v1_read_all(struct ledger_client *c, const struct ledger_v1_scope *s,
		       const char *client_id, ledger_v1_entry_fn fn, void *payload,
		       struct dr_error *err);

#endif
