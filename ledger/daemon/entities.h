/* The entity state of the ledger.v1 dialect: organizations, vaults and
 * keys of entities written by WriteService/Write, as the public InferaDB
 * ledger keeps them.
 *
 * - Every applied Write is one block: the block height is a dense counter
 *   (1, 2, 3, ...) of applied Writes, shared by every organization and
 *   vault, the same on every replica.  It is neither the Raft index nor
 *   the native Ledger's entry index.  An entity's version is the height of
 *   the block that last set it.
 * - A Write's assigned_sequence counts the Writes of one client in one
 *   (organization, vault): 1, 2, 3, ... (the public ledger's
 *   server-assigned sequences).
 * - An idempotency key (16 bytes, all zero: none) is remembered per
 *   (organization, vault, client_id) with a hash of the operations: the
 *   same key with the same operations applies nothing and answers the
 *   original block; with other operations it applies nothing either
 *   (IDEMPOTENCY_KEY_REUSED).
 *
 * Pure logic on the loop thread (ledger/daemon/fsm.c feeds it commands;
 * unit tests feed it directly); not thread-safe.  Serialization and the
 * digest are in ledger/daemon/entities_state.c. */
#ifndef DR_LEDGER_DAEMON_ENTITIES_H
#define DR_LEDGER_DAEMON_ENTITIES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "common/sha256.h"

#define LEDGER_ENTITY_KEY_MAX 1024        /* bytes, as the public ledger */
#define LEDGER_ENTITY_VALUE_MAX (1024 * 1024)
#define LEDGER_WRITE_MAX_OPS 1000
#define LEDGER_CLIENT_ID_MAX 256
#define LEDGER_IDEM_LEN 16
#define LEDGER_TX_ID_LEN 16
#define LEDGER_RECENT_RESULTS 1024

/* An entity's value: its bytes never change once set (a Set makes a new
 * value), and they carry a reference count in front of them, so a reader
 * on another thread (a ListEntities page encoded off the Raft loop,
 * ledger/daemon/svc_v1_read.c) can hold them while the loop overwrites or
 * releases the entity.  new: count 1, len bytes (at least 1 allocated);
 * ref on the loop; unref on any thread (atomic: the last one frees). */
unsigned char *ledger_value_new(size_t len);
unsigned char *ledger_value_ref(unsigned char *value);
void ledger_value_unref(unsigned char *value);

struct ledger_entity {
	char *key;
	unsigned char *value;
	size_t value_len;
	uint64_t expires_at;   /* Unix seconds; 0: never */
	uint64_t version;      /* block height of the Write that last set it */
};

/* One (organization, vault): its entities sorted by key (strcmp). */
struct ledger_vault {
	uint64_t org, vault;
	struct ledger_entity *ents;
	size_t n, alloc;
};

/* A Write as a command: what the leader proposes (ledger_cmd_write). */
struct ledger_set_op {
	char *key;
	unsigned char *value;
	size_t value_len;
	uint64_t expires_at;
};

struct ledger_write {
	uint64_t org, vault;
	char *client_id;                        /* "" when the request had none */
	unsigned char idem[LEDGER_IDEM_LEN];    /* all zero: no idempotency */
	unsigned char tx_id[LEDGER_TX_ID_LEN];  /* chosen by the leader */
	struct ledger_set_op *ops;
	size_t n_ops;
};

enum ledger_write_outcome {
	LEDGER_WRITE_NEW = 0,           /* not seen: apply it (idem check only) */
	LEDGER_WRITE_APPLIED,           /* applied as a new block */
	LEDGER_WRITE_ALREADY_COMMITTED, /* same key, same operations: nothing applied */
	LEDGER_WRITE_KEY_REUSED,        /* same key, other operations: nothing applied */
};

/* What a Write did (or, for a duplicate, what the original did). */
struct ledger_write_result {
	enum ledger_write_outcome outcome;
	unsigned char tx_id[LEDGER_TX_ID_LEN];      /* the command's own tx id */
	unsigned char orig_tx_id[LEDGER_TX_ID_LEN]; /* the block's tx id (== tx_id when applied) */
	uint64_t height;                            /* the block's height */
	uint64_t sequence;                          /* the block's assigned_sequence */
};

struct ledger_entities {
	struct ledger_vault *vaults;  /* sorted by (org, vault) */
	size_t n_vaults, alloc_vaults;
	uint64_t height;              /* blocks applied so far */
	size_t n_entities;
	json_t *sequences;  /* "org/vault/client" -> last assigned sequence */
	json_t *idem;       /* "org/vault/client/hexkey" -> [hash, tx_id, height, sequence] */
	/* Local, not replicated: the results of the last Writes applied here,
	 * by tx id, for the leader's apply callbacks.  libraft 0.15 calls a
	 * callback right after fsm->apply of its entry; later versions queue
	 * callbacks behind a batch of applies, which the ring covers (calls in
	 * flight are bounded by the gRPC worker pool). */
	struct ledger_write_result recent[LEDGER_RECENT_RESULTS];
	size_t recent_next;
};

void ledger_entities_init(struct ledger_entities *e);
void ledger_entities_release(struct ledger_entities *e);
void ledger_write_release(struct ledger_write *w);

/* SHA-256 of a Write's operations (keys, values, expiry, in order): what
 * "the same payload" means for an idempotency key. */
void ledger_write_hash(const struct ledger_write *w, unsigned char out[SHA256_DIGEST_LEN]);

/* The "write" command for w (JSON text, heap; free()). */
char *ledger_cmd_write(const struct ledger_write *w);
/* Parse a "write" command object into *out (release it).  -1 with err for
 * a malformed one (bad numbers, base64, key or sizes). */
int ledger_write_from_cmd(struct ledger_write *out, const json_t *cmd, struct dr_error *err);

/* Apply a Write: a new block, or nothing for a known idempotency key.
 * *height_out is the block's height (the original one for a duplicate);
 * the details: ledger_entities_result(e, w->tx_id). */
void ledger_entities_apply(struct ledger_entities *e, const struct ledger_write *w,
			   uint64_t *height_out);

/* The idempotency record of w's key: LEDGER_WRITE_NEW when none (or the key
 * is all zero), else ALREADY_COMMITTED or KEY_REUSED with the original
 * block in *out. */
enum ledger_write_outcome ledger_entities_check(const struct ledger_entities *e,
						const struct ledger_write *w,
						struct ledger_write_result *out);

/* The result of the Write with tx_id applied here lately, or NULL (not
 * applied here, or too long ago). */
const struct ledger_write_result *ledger_entities_result(const struct ledger_entities *e,
							 const unsigned char tx_id[LEDGER_TX_ID_LEN]);

/* The namespace (org, vault), NULL when nothing was ever written there. */
const struct ledger_vault *ledger_entities_vault(const struct ledger_entities *e, uint64_t org,
						 uint64_t vault);
/* An entity by key, NULL when absent (expired entities included). */
const struct ledger_entity *ledger_entities_get(const struct ledger_entities *e, uint64_t org,
						uint64_t vault, const char *key);

struct ledger_list_query {
	uint64_t org, vault;
	const char *prefix;         /* "" or NULL: every key */
	const char *after;          /* resume after this key (a page token's), or NULL */
	int include_expired;
	uint64_t now_s;             /* entities with 0 < expires_at <= now_s are expired */
	size_t limit;               /* >= 1 */
	size_t max_bytes;           /* stop a page once keys + values reach it (0: no limit) */
};

/* Up to q->limit entities in key order into out[] (room for q->limit),
 * their count returned; *more is 1 when another matching entity follows. */
size_t ledger_entities_list(const struct ledger_entities *e, const struct ledger_list_query *q,
			    const struct ledger_entity **out, int *more);

/* Validity of an entity key (the public ledger's rule): non-empty, at
 * most LEDGER_ENTITY_KEY_MAX bytes, only [a-zA-Z0-9:/_.-], not starting
 * with '_'.  -1 with err naming field otherwise. */
int ledger_entity_key_check(const char *key, const char *field, struct dr_error *err);

/* Serialization (ledger/daemon/entities_state.c). */
/* The replicated state as a JSON object (new reference). */
json_t *ledger_entities_to_json(const struct ledger_entities *e);
/* Replace *e with the state in j.  On error *e is untouched. */
int ledger_entities_from_json(struct ledger_entities *e, const json_t *j, struct dr_error *err);
/* Feed the replicated state to s in a canonical order (replicas that
 * applied the same Writes feed the same bytes). */
void ledger_entities_digest(const struct ledger_entities *e, struct sha256 *s);

#endif
