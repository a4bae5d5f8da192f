/* Debug fault hooks (only with --enable-debug).  Each logs the moment it
 * took effect, on the loop thread where it does. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/svc.h"

void ledgerd_run_partition(struct ledgerd_node *n, struct ledgerd_call *c)
{
	json_t *peers = json_object_get(c->req, "peers"), *v;
	raft_id ids[LEDGERD_MAX_PARTITION];
	struct strbuf sb = STRBUF_INIT;
	size_t i, count = 0;

	json_array_foreach(peers, i, v) {
		if (count < LEDGERD_MAX_PARTITION && (raft_id)json_integer_value(v) != n->cfg.id)
			ids[count++] = (raft_id)json_integer_value(v);
	}
	for (i = 0; i < count; i++)
		strbuf_addf(&sb, "%s%llu", i ? "," : "", ids[i]);
	ledgerd_apply_partition(n, ids, count);
	ledgerd_log("debug: partition took effect: raft traffic to and from nodes [%s] dropped",
		    sb.buf ? sb.buf : "");
	strbuf_release(&sb);
	ledgerd_call_ok(n, c, json_pack("{s:O, s:I}", "partitioned", peers, "mono_ms",
					(json_int_t)(clock_mono_ns() / NS_PER_MS)));
}

void ledgerd_run_heal(struct ledgerd_node *n, struct ledgerd_call *c)
{
	ledgerd_apply_partition(n, NULL, 0);
	ledgerd_log("debug: heal took effect: raft traffic to every node allowed");
	ledgerd_call_ok(n, c, json_pack("{s:b, s:I}", "healed", 1, "mono_ms",
					(json_int_t)(clock_mono_ns() / NS_PER_MS)));
}

void ledgerd_run_refuse(struct ledgerd_node *n, struct ledgerd_call *c)
{
	json_int_t ms = json_integer_value(json_object_get(c->req, "duration_ms"));
	int64_t now = clock_mono_ns();

	n->refusing = 1;
	n->refuse_until_ns = now + (int64_t)ms * NS_PER_MS;
	ledgerd_log("debug: RefuseWrites took effect: every Append answers UNAVAILABLE for %" JSON_INTEGER_FORMAT " ms",
		    ms);
	ledgerd_call_ok(n, c, json_pack("{s:I, s:I, s:I}", "duration_ms", ms, "mono_ms",
					(json_int_t)(now / NS_PER_MS), "until_mono_ms",
					(json_int_t)(n->refuse_until_ns / NS_PER_MS)));
}

void ledgerd_run_drop(struct ledgerd_node *n, struct ledgerd_call *c)
{
	const char *cid = json_string_value(json_object_get(c->req, "client_id"));
	json_int_t seq = json_integer_value(json_object_get(c->req, "sequence"));
	const struct ledger_entry *e = ledger_fsm_find(&n->ledger, cid, (uint64_t)seq);

	if (!e) {
		ledgerd_call_error(n, c, LEDGER_NOT_FOUND, "no entry (%s, %" JSON_INTEGER_FORMAT ") on this node",
				   cid, seq);
		return;
	}
	ledger_fsm_hide(&n->ledger, cid, (uint64_t)seq);
	ledgerd_log("debug: DropEntry took effect: entry %" PRIu64 " (%s, %" JSON_INTEGER_FORMAT ") hidden from reads",
		    e->index, cid, seq);
	ledgerd_call_ok(n, c, json_pack("{s:I, s:b}", "index", (json_int_t)e->index, "hidden", 1));
}

/* Arms a count; the drops themselves happen, and are logged as taking
 * effect, in the transport's receive filter (ledger/daemon/transport.c). */
void ledgerd_run_drop_install_snapshot(struct ledgerd_node *n, struct ledgerd_call *c)
{
	json_int_t count = json_integer_value(json_object_get(c->req, "count"));

	ledgerd_transport_drop_install_snapshot(&n->transport, (unsigned)count);
	ledgerd_log("debug: DropInstallSnapshot armed: the next %" JSON_INTEGER_FORMAT
		    " InstallSnapshot messages this node receives are dropped", count);
	ledgerd_call_ok(n, c, json_pack("{s:I, s:I}", "count", count, "mono_ms",
					(json_int_t)(clock_mono_ns() / NS_PER_MS)));
}

void ledgerd_run_digest(struct ledgerd_node *n, struct ledgerd_call *c)
{
	const struct raft *r = &n->raft;
	char hex[SHA256_HEX_LEN];
	/* The newest snapshot libraft has, counting one it is still writing. */
	raft_index snap = r->snapshot.pending.term ? r->snapshot.pending.index :
			  r->log.snapshot.last_index;

	ledger_fsm_digest(&n->ledger, hex);
	ledgerd_call_ok(n, c, json_pack("{s:s, s:I, s:I, s:I}", "digest", hex, "last_index",
					(json_int_t)ledger_fsm_last_index(&n->ledger), "applied_index",
					(json_int_t)r->last_applied, "snapshot_index",
					(json_int_t)snap));
}
