/* Writing a node's applied state to a snapshot file: CreateSnapshot in both
 * dialects and ledger.v1 CreateBackup.  The state is captured on the loop
 * (the serialization cache makes that a copy of what is already rendered);
 * hashing, writing and fsyncing the file -- hundreds of MiB for a large
 * ledger -- happen off it (issue 17: file work on the loop stalled
 * heartbeats). */
#include <stdatomic.h>
#include <stdlib.h>

#include "common/strbuf.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/snapfile.h"
#include "ledger/daemon/svc.h"

/* Captured states not yet freed: each is a copy of the whole state (up to
 * the 512 MiB a snapshot file may hold), captured on the loop at once and
 * then waiting for a helper, so callers are bounded (ledgerd_snapshot_busy)
 * rather than each holding its own copy.  The loop increments, whichever
 * thread frees the job decrements. */
static atomic_int captured_live;

int ledgerd_snapshot_busy(void)
{
	return atomic_load(&captured_live) >= LEDGERD_SNAPSHOTS_IN_FLIGHT;
}

struct ledgerd_snapjob *ledgerd_snapshot_capture(struct ledgerd_node *n, char *path)
{
	struct ledgerd_snapjob *j = xcalloc(1, sizeof *j);

	atomic_fetch_add(&captured_live, 1);
	const struct ledger_entry *e;

	j->path = path;
	j->index = ledger_fsm_last_index(&n->ledger);
	e = ledger_fsm_entry(&n->ledger, j->index);
	j->term = e ? e->term : 0;
	j->height = n->ledger.ents.height;
	j->body = ledger_fsm_serialize(&n->ledger, &j->len);
	return j;
}

int ledgerd_snapshot_write(struct ledgerd_snapjob *j, struct ledgerd_snapinfo *info,
			   struct dr_error *err)
{
	return ledgerd_snapfile_write(info, j->path, j->body, j->len, j->index, j->term, err);
}

void ledgerd_snapjob_free(void *arg)
{
	struct ledgerd_snapjob *j = arg;

	if (!j)
		return;
	atomic_fetch_sub(&captured_live, 1);
	free(j->path);
	free(j->body);
	free(j);
}

int ledgerd_snapshot_take(struct ledgerd_node *n, const char *path, struct ledgerd_snapinfo *info,
			  struct dr_error *err)
{
	struct ledgerd_snapjob *j = ledgerd_snapshot_capture(n, xstrdup(path));
	int rc = ledgerd_snapshot_write(j, info, err);

	ledgerd_snapjob_free(j);
	return rc;
}
