/* The ledger state machine: an append-only list of entries with a dense
 * ledger index (1, 2, 3, ...) and an index of (client_id, sequence) for
 * idempotency, plus the replicated member metadata (region, zone,
 * addresses) of members added after bootstrap, plus the entities of the
 * ledger.v1 dialect (ledger/daemon/entities.h).
 *
 * Pure logic, no Raft: the daemon feeds it decoded commands on the loop
 * thread, unit tests feed it directly.  Not thread-safe. */
#ifndef DR_LEDGER_DAEMON_FSM_H
#define DR_LEDGER_DAEMON_FSM_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"
#include "common/sha256.h"
#include "ledger/daemon/entities.h"

struct ledger_entry {
	uint64_t index;
	uint64_t term;      /* Raft term the entry was proposed in */
	char *client_id;
	uint64_t sequence;
	char *payload;
	size_t size;        /* strlen(client_id) + strlen(payload): Read's byte cap */
	int64_t ts_ms;      /* leader's wall clock at proposal, ms */
	int hidden;         /* Debug/DropEntry: left out of reads (local only) */
};

struct ledger_fsm {
	struct ledger_entry *entries; /* entries[i].index == i + 1 */
	size_t n;
	size_t alloc;
	json_t *idem;     /* "client_id\x1fsequence" -> index */
	json_t *members;  /* "id" -> {id, address, raft_address, region, region_role, zone} */
	struct ledger_entities ents; /* ledger.v1 Writes */
	/* Serialization cache: entries[0..ser_n) already rendered as JSON
	 * rows, each followed by a comma.  The ledger is append-only, so a
	 * snapshot renders only what was appended since the last one (a full
	 * render stalled the loop for 100+ ms on large ledgers). */
	char *ser;
	size_t ser_len, ser_alloc, ser_n;
	/* Owner of the entries' strings (ledger_fsm_keep) */
	struct ledger_fsm_keep *keep;
};

void ledger_fsm_init(struct ledger_fsm *f);
void ledger_fsm_release(struct ledger_fsm *f);

/* Reading entries on another thread (answers built off the loop).  An
 * entry's client_id and payload never change once applied and are freed
 * only when the state is released or replaced (ledger_fsm_release,
 * ledger_fsm_restore); the entries array itself moves as it grows.  So a
 * reader copies the struct ledger_entry values it wants on the FSM's
 * thread and takes a keep: the strings they point to stay valid until
 * ledger_fsm_unkeep, even when the state is replaced or released
 * meanwhile.  ledger_fsm_keep on the FSM's thread; ledger_fsm_unkeep on any
 * thread (an atomic count: the last one frees what was retired). */
struct ledger_fsm_keep *ledger_fsm_keep(struct ledger_fsm *f);
void ledger_fsm_unkeep(struct ledger_fsm_keep *k);

/* Command encoders (JSON text, heap; free()). */
char *ledger_cmd_append(const char *client_id, uint64_t sequence, const char *payload,
			uint64_t term, int64_t ts_ms);
/* Several append commands (each from ledger_cmd_append) as one command,
 * so one Raft entry carries them: applied in order, all or none. */
char *ledger_cmd_batch(char *const *cmds, size_t n);
/* member: object with at least an integer "id". */
char *ledger_cmd_member(const json_t *member);

/* Apply one command.  For an append *index_out is the new entry's index,
 * or the original index when (client_id, sequence) was seen before (nothing
 * is appended then), for a batch that of its last append; for a write
 * (ledger_cmd_write) the block height (the original one for a known
 * idempotency key; details in f->ents.last); 0 for other commands.
 * Returns -1 with err set for a malformed command, LEDGER_FSM_UNKNOWN_OP
 * for a well-formed one this version does not know (a newer ledgerd wrote
 * it); the state is untouched either way. */
#define LEDGER_FSM_UNKNOWN_OP (-2)
int ledger_fsm_apply(struct ledger_fsm *f, uint64_t *index_out, const char *cmd,
		     size_t len, struct dr_error *err);

const struct ledger_entry *ledger_fsm_find(const struct ledger_fsm *f,
					   const char *client_id, uint64_t sequence);
/* Entry by ledger index (1-based), NULL when out of range. */
const struct ledger_entry *ledger_fsm_entry(const struct ledger_fsm *f, uint64_t index);
uint64_t ledger_fsm_last_index(const struct ledger_fsm *f);
/* Hide an entry from reads (Debug/DropEntry).  -1 when absent. */
int ledger_fsm_hide(struct ledger_fsm *f, const char *client_id, uint64_t sequence);
/* Member metadata by id (borrowed), NULL when unknown. */
json_t *ledger_fsm_member(const struct ledger_fsm *f, uint64_t id);
/* Add or replace member metadata (also used for the bootstrap peers). */
void ledger_fsm_set_member(struct ledger_fsm *f, const json_t *member);

/* Whole state as JSON text (heap, *len bytes).  Hidden flags are local and
 * not part of it.  Format ledgerd-state version 1 while no entity was
 * written, version 2 (with "entities") after: an older ledgerd refuses a
 * state it would otherwise restore without its entities.  Extends the
 * serialization cache (hence not const). */
char *ledger_fsm_serialize(struct ledger_fsm *f, size_t *len);
/* Replace the whole state with a serialized one (version 1 or 2).  On
 * error f is untouched. */
int ledger_fsm_restore(struct ledger_fsm *f, const char *text, size_t len,
		       struct dr_error *err);
/* SHA-256 over every entry (index, term, client_id, sequence, payload)
 * and, once any was written, the entity state (entities, sequences,
 * idempotency records), equal on replicas that applied the same commands. */
void ledger_fsm_digest(const struct ledger_fsm *f, char hex[SHA256_HEX_LEN]);

#endif
