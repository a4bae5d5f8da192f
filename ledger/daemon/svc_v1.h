/* The public ledger.v1 subset (ledger/proto/ledger/v1/ledger.proto) with
 * the public InferaDB ledger's semantics, one file per concern:
 *   svc_v1_req.c       reading the request documents (slugs, a Write)
 *   svc_v1_validate.c  validators (gRPC threads; INVALID_ARGUMENT naming the field)
 *   svc_v1_write.c     WriteService/Write
 *   svc_v1_read.c      ReadService/ListEntities (page tokens: v1_page_token.c)
 *   svc_v1_admin.c     AdminService/GetClusterInfo, CreateSnapshot
 *   svc_v1_transfer.c  AdminService/TransferLeadership
 *   svc_v1_backup.c    AdminService/CreateBackup, RestoreBackup
 *   svc_v1_health.c    HealthService/Check
 * Requests arrive as proto3 JSON with proto field names and zero values
 * left out (grpc_server.c); answers are encoded with the method's output
 * descriptor.  docs/ledger-api.md says what differs from the public ledger. */
#ifndef DR_LEDGER_DAEMON_SVC_V1_H
#define DR_LEDGER_DAEMON_SVC_V1_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "ledger/daemon/entities.h"

struct ledgerd_node;
struct ledgerd_call;

/* ListEntities: default and largest page, and the bytes (keys + values)
 * after which a page ends early, so a page stays well under gRPC's 4 MiB
 * default receive limit. */
#define LEDGER_V1_LIST_DEFAULT 100
#define LEDGER_V1_LIST_MAX 1000
#define LEDGER_V1_LIST_MAX_BYTES (2 * 1024 * 1024)
/* TransferLeadership: default and largest timeout_ms (the public ledger's);
 * the wait here also ends before the node's 30 s call limit. */
#define LEDGER_V1_TRANSFER_DEFAULT_MS 10000
#define LEDGER_V1_TRANSFER_MAX_MS 60000
#define LEDGER_V1_TRANSFER_WAIT_MAX_MS 25000

/* ---- request documents (svc_v1_req.c) ---- */

/* A uint64 of proto3 JSON (an integer, or a decimal string above 2^63):
 * 0 when absent, -1 when it is neither. */
int v1_u64(uint64_t *out, const json_t *v);
/* The slug of {"slug": N} at req[field]: 0 with *out (0: absent or zero),
 * -1 when malformed. */
int v1_slug(uint64_t *out, const json_t *req, const char *field);
/* A required non-zero slug; -1 with err naming the field. */
int v1_want_slug(uint64_t *out, const json_t *req, const char *field, struct dr_error *err);
/* A WriteRequest into *out (release with ledger_write_release); tx_id is
 * left zero.  -1 with err naming the offending field. */
int v1_write_parse(struct ledger_write *out, const json_t *req, struct dr_error *err);
/* A backup id made only of [A-Za-z0-9._-], not "." or "..", at most 128
 * bytes (it names a file under the backups directory). */
int v1_backup_id_ok(const char *id);

/* ---- page tokens (v1_page_token.c) ---- */

struct v1_page {
	uint64_t org, vault;
	char *prefix;          /* "" when none */
	int include_expired;
	char *last_key;        /* the last key of the previous page */
};

/* An opaque token for the page after last_key (heap string). */
char *v1_page_token_encode(const struct v1_page *p);
/* Decode a token into *out (release with v1_page_release); -1 with err
 * when it is malformed. */
int v1_page_token_decode(struct v1_page *out, const char *token, struct dr_error *err);
void v1_page_release(struct v1_page *p);

/* ---- validators (gRPC threads) ---- */

int ledgerd_validate_v1_write(const json_t *req, struct dr_error *err);
int ledgerd_validate_v1_list(const json_t *req, struct dr_error *err);
int ledgerd_validate_v1_transfer(const json_t *req, struct dr_error *err);
int ledgerd_validate_v1_snapshot(const json_t *req, struct dr_error *err);
int ledgerd_validate_v1_backup(const json_t *req, struct dr_error *err);
int ledgerd_validate_v1_restore(const json_t *req, struct dr_error *err);

/* ---- handlers (loop thread) ---- */

void ledgerd_run_v1_write(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_v1_list(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_v1_cluster_info(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_v1_transfer(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_v1_snapshot(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_v1_backup(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_v1_restore(struct ledgerd_node *n, struct ledgerd_call *c);
void ledgerd_run_v1_health(struct ledgerd_node *n, struct ledgerd_call *c);

#endif
