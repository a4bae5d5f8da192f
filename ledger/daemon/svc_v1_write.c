/* ledger.v1 WriteService/Write (loop thread): one Write is one Raft entry
 * and, once applied, one block of the entity state (ledger/daemon/entities.h).
 *
 * A known idempotency key is answered before anything is proposed; two
 * retries racing each other are both proposed, and the state machine
 * applies only the first (the second's result says ALREADY_COMMITTED). */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/base64.h"
#include "common/clock.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/svc.h"
#include "ledger/daemon/svc_v1.h"

static json_t *tx_json(const unsigned char id[LEDGER_TX_ID_LEN])
{
	char *b64 = b64_encode(id, LEDGER_TX_ID_LEN);
	json_t *o = json_pack("{s:s}", "id", b64);

	free(b64);
	return o;
}

/* The WriteResponse of a result. */
static json_t *answer_of(const struct ledger_write_result *r)
{
	switch (r->outcome) {
	case LEDGER_WRITE_ALREADY_COMMITTED:
		return json_pack("{s:{s:s, s:s, s:o, s:I, s:I}}", "error", "code",
				 "WRITE_ERROR_CODE_ALREADY_COMMITTED", "message",
				 "Request already committed (same idempotency key and operations)",
				 "committed_tx_id", tx_json(r->orig_tx_id), "committed_block_height",
				 (json_int_t)r->height, "assigned_sequence", (json_int_t)r->sequence);
	case LEDGER_WRITE_KEY_REUSED:
		return json_pack("{s:{s:s, s:s}}", "error", "code",
				 "WRITE_ERROR_CODE_IDEMPOTENCY_KEY_REUSED", "message",
				 "Idempotency key was already used with a different request payload");
	default:
		return json_pack("{s:{s:o, s:I, s:I}}", "success", "tx_id", tx_json(r->orig_tx_id),
				 "block_height", (json_int_t)r->height, "assigned_sequence",
				 (json_int_t)r->sequence);
	}
}

/* A UUID version 4 from the kernel's random source. */
static void new_tx_id(unsigned char id[LEDGER_TX_ID_LEN])
{
	size_t got = 0;

	while (got < LEDGER_TX_ID_LEN) {
		ssize_t r = getrandom(id + got, LEDGER_TX_ID_LEN - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < LEDGER_TX_ID_LEN) { /* no entropy source: unique is enough */
		int64_t t = clock_wall_ns() ^ clock_mono_ns();
		memcpy(id, &t, sizeof t);
		t = clock_mono_ns();
		memcpy(id + 8, &t, sizeof t);
	}
	id[6] = (unsigned char)((id[6] & 0x0f) | 0x40);
	id[8] = (unsigned char)((id[8] & 0x3f) | 0x80);
}

static void write_cb(struct raft_apply *req, int status, void *result)
{
	struct ledgerd_call *c = req->data;
	struct ledgerd_node *n = c->node;
	const struct ledger_write_result *r;

	(void)result;
	if (!ledgerd_write_applied(n, c, status))
		return;
	r = ledger_entities_result(&n->ledger.ents, c->tx_id);
	if (!r) {
		ledgerd_call_error(n, c, LEDGER_UNKNOWN_OUTCOME, "write was applied but its result is gone");
		return;
	}
	ledgerd_call_ok(n, c, answer_of(r));
}

void ledgerd_run_v1_write(struct ledgerd_node *n, struct ledgerd_call *c)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_write_result known;
	struct ledger_write w;
	char *cmd;

	/* Debug/RefuseWrites refuses both dialects' writes, to the millisecond. */
	if (!ledgerd_write_ready(n, c))
		return;
	if (v1_write_parse(&w, c->req, &err) != 0) { /* validated already */
		ledgerd_call_error(n, c, LEDGER_INVALID_ARGUMENT, "%s", err.msg);
		return;
	}
	if (ledger_entities_check(&n->ledger.ents, &w, &known) != LEDGER_WRITE_NEW) {
		/* applied already, hence committed: the original block */
		ledgerd_call_ok(n, c, answer_of(&known));
		ledger_write_release(&w);
		return;
	}
	new_tx_id(w.tx_id);
	memcpy(c->tx_id, w.tx_id, LEDGER_TX_ID_LEN);
	cmd = ledger_cmd_write(&w);
	ledger_write_release(&w);
	ledgerd_propose(n, c, cmd, write_cb, "write", "write");
}
