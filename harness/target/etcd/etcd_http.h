/* etcd's v3 JSON gateway (grpc-gateway) as the etcd target needs it: one
 * put attempt classified like ledger_append, a paged range read of a
 * client's keys, and one POST to one member.  Keys are
 * "drillrig/<client_id>/<sequence:020>", so a client's keys sort in
 * sequence order and one prefix range reads them all.
 *
 * The gateway prints int64/uint64 fields as JSON strings and bytes as
 * base64; etcd_u64 and common/base64.h convert.
 *
 * A struct etcd_client keeps one CURL easy handle per member (keep-alive)
 * and a current member; it is NOT thread-safe: one per thread. */
#ifndef DR_HARNESS_TARGET_ETCD_ETCD_HTTP_H
#define DR_HARNESS_TARGET_ETCD_ETCD_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "assertions/check.h"
#include "common/error.h"
#include "ledger/client/client.h"

struct etcd_client;

/* addresses: "host:port" of the members' client URLs (copied).  timeout_ms
 * bounds every request (connect: min(100, timeout_ms)). */
int etcd_client_new(struct etcd_client **out, const char *const addresses[], size_t n,
		    long timeout_ms, struct dr_error *err);
void etcd_client_free(struct etcd_client *c);
void etcd_client_set_timeout(struct etcd_client *c, long timeout_ms);
/* The member the next put goes to (out-of-range values are ignored). */
void etcd_client_set_current(struct etcd_client *c, int member);

/* POST /<path> (e.g. "v3/maintenance/status") with req (NULL: {}) to member
 * (-1: the current one).  0 when an HTTP answer with a JSON body arrived
 * (*resp a new reference, *http its status); -1 with err otherwise. */
int etcd_call(struct etcd_client *c, int member, const char *path, const json_t *req,
	      json_t **resp, long *http, struct dr_error *err);

/* One put of the client's key for sequence, classified as ledger_append
 * does: OK with index = the put's header.revision and term = raft_term; a
 * refused connection is a definite failure, a timeout or a gateway error
 * other than "no leader" is unknown.  After a failure the next call goes to
 * the next member (etcd followers forward writes, so any live member
 * serves).  Returns 0 on OK, -1 otherwise. */
int etcd_put_once(struct etcd_client *c, const char *client_id, uint64_t sequence,
		  const char *payload, struct ledger_append_result *res);

/* Every key of client_id (linearizable range over its prefix, paged), as
 * {sequence, index = mod_revision} in sequence order: a compact heap array
 * (*out, *n; the caller frees), never the whole answer as JSON, so a long
 * drill's read-back stays small.  Tries each member in turn. */
int etcd_read_client(struct etcd_client *c, const char *client_id,
		     struct ledger_entry_ref **out, size_t *n, struct dr_error *err);

/* "drillrig/<client_id>/<sequence:020>" (heap). */
char *etcd_key(const char *client_id, uint64_t sequence);
/* A gateway number (string or integer) into *out; -1 when absent or bad. */
int etcd_u64(uint64_t *out, const json_t *v);

#endif
