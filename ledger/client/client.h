/* ledger client: drillrig's gRPC client of the ledger API (both dialects,
 * JSON in and out through ledger/client/rpc.h), shared by the drill harness
 * (workload thread, status pollers, probes, the local target's admin
 * calls, the soak), the cluster supervisor and the tests.
 *
 * One instance keeps one gRPC channel per node and a "current node".  An
 * instance is NOT thread-safe: use one per thread.
 *
 * ledger_append makes exactly ONE attempt against the current node and
 * classifies the outcome; the caller retries with the same (client_id,
 * sequence), which the ledger deduplicates.  After NOT_LEADER the current
 * node becomes the named leader (or the next node); after a connection
 * failure or a timeout it becomes the next node. */
#ifndef DR_LEDGER_CLIENT_CLIENT_H
#define DR_LEDGER_CLIENT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "ledger/client/types.h"
#include "ledger/client/wire.h"

struct ledger_client;

struct ledger_client_opts {
	long timeout_ms;         /* per Append call (its gRPC deadline); default 200 */
	long connect_timeout_ms; /* unused over gRPC: the deadline covers connecting */
	long admin_timeout_ms;   /* ledger_call / status / read; default 2000 */
	const char *admin_token; /* sent as "authorization: Bearer ..." (copied); NULL: none */
	enum ledger_api api;     /* default LEDGER_API_RUNBOOK */
	/* LEDGER_API_V1: the scope of writes and reads (copied); NULL: the
	 * bundled one. */
	const struct ledger_v1_scope *v1_scope;
};

#define LEDGER_CLIENT_OPTS_INIT { 200, 100, 2000, NULL, LEDGER_API_RUNBOOK, NULL }

/* addresses: the nodes' gRPC API "host:port" (an "http://" prefix is
 * ignored), copied.  Returns 0 or -1 with err set (no addresses). */
int ledger_client_new(struct ledger_client **out, const char *const addresses[], size_t n,
		      const struct ledger_client_opts *opts, struct dr_error *err);
void ledger_client_free(struct ledger_client *c);

size_t ledger_client_size(const struct ledger_client *c);
const char *ledger_client_address(const struct ledger_client *c, size_t node);
int ledger_client_current(const struct ledger_client *c);
void ledger_client_set_current(struct ledger_client *c, int node);

/* One write attempt; see the header comment: Append, or in the ledger.v1
 * dialect one Write of the entity ledger_v1_key names, its idempotency key
 * derived from (client_id, sequence).  Returns 0 when the outcome is OK,
 * -1 otherwise (res says why). */
int ledger_append(struct ledger_client *c, const char *client_id, uint64_t sequence,
		  const char *payload, struct ledger_append_result *res);

/* One attempt of a write-like call (method, req) on the current node,
 * classified and followed like ledger_append: NOT_LEADER moves the client
 * to the named leader, a node that did not answer to the next.  0 with
 * *answer (new reference) when the node answered OK; -1 otherwise (res
 * says why, *answer NULL). */
int ledger_attempt(struct ledger_client *c, const char *method, const json_t *req,
		   json_t **answer, struct ledger_append_result *res);

/* Generic call of method ("service/Method", e.g.
 * "inferadb.ledger.v1.Admin/GetClusterStatus", either dialect) with req
 * (NULL: {}) on node (-1: current).  Returns 0 when the node answered: *code
 * is LEDGER_OK and *resp the answer (every field, zero values included), or
 * *code the wire code and *resp the error {"code","message"[,"leader",
 * "leader_id"]}; -1 with err when no node answered (unreachable, timed out,
 * req does not fit the method).  *resp is a new reference. */
int ledger_call(struct ledger_client *c, int node, const char *method, const json_t *req,
		json_t **resp, enum ledger_code *code, struct dr_error *err);

/* GetClusterStatus from the first node that answers OK, starting at the
 * current one (followers forward to the leader).  In the ledger.v1 dialect
 * GetClusterInfo, in the same shape as far as it goes: term, leader
 * {id,address}, members [{id,address,role,state}], "api":"ledger.v1" (no
 * lag, no commit index: ledger.v1 does not report them).  *out is a new
 * reference. */
int ledger_cluster_status(struct ledger_client *c, json_t **out, struct dr_error *err);
/* Index (into the addresses) of the node the cluster reports as leader;
 * -1 with err set when there is none or it is not among the addresses. */
int ledger_leader_index(struct ledger_client *c, struct dr_error *err);
/* The object with this "id" in a GetClusterStatus members array (or the
 * supervisor's nodes array), NULL when none.  Borrowed from members. */
json_t *ledger_member_by_id(const json_t *members, json_int_t id);
/* Every entry, in index order, paged with Read from the leader.  *entries
 * is a new JSON array of {index, term, client_id, sequence, payload}.  In
 * the ledger.v1 dialect every entity under the scope's key prefix, paged
 * with ListEntities (linearizable) in key order, as {index: its version,
 * term: 0, client_id, sequence, payload}. */
int ledger_read_all(struct ledger_client *c, json_t **entries, struct dr_error *err);
/* The same, one page at a time: fn sees every entry (borrowed, valid during
 * the call) in index order, so a reader of a long ledger holds one page. */
typedef void (*ledger_entry_fn)(const json_t *entry, void *payload);
int ledger_read_each(struct ledger_client *c, ledger_entry_fn fn, void *payload,
		     struct dr_error *err);
/* The entries of one client id, the same way: in the ledger.v1 dialect only
 * that client's key prefix is listed; the runbook's Read has no filter, so
 * every entry is read and the others skipped. */
int ledger_read_client(struct ledger_client *c, const char *client_id, ledger_entry_fn fn,
		       void *payload, struct dr_error *err);

/* Move leadership to node_id (RequestLeaderTransfer {node_id}, or
 * TransferLeadership {target_node_id}), asking the leader the cluster
 * reports.  0 when the ledger accepted (it may still not move: Raft
 * transfers are best effort; callers watch the status), -1 with err. */
int ledger_transfer_leader(struct ledger_client *c, int64_t node_id, struct dr_error *err);

/* A debug fault or digest (inferadb.ledger.v1.Debug/<Method>) on a node's
 * HTTP listener (its --http address, cluster.json "http_address"): POST
 * with req (NULL: {}), timeout_ms for the whole call; admin_token (NULL for
 * a node without one) is sent as "Authorization: Bearer <token>".  Returns 0 when an
 * HTTP answer with a JSON body arrived (any status; *resp a new reference,
 * *http_status its status), -1 with err otherwise. */
int ledger_debug_call(const char *http_address, const char *admin_token, const char *method,
		      const json_t *req, long timeout_ms, json_t **resp, long *http_status,
		      struct dr_error *err);

#endif
