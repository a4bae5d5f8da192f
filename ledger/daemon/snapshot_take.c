/* Writing a node's applied state to a snapshot file: CreateSnapshot in both
 * dialects and ledger.v1 CreateBackup (loop thread). */
#include <stdlib.h>

#include "ledger/daemon/node.h"
#include "ledger/daemon/snapfile.h"
#include "ledger/daemon/svc.h"

int ledgerd_snapshot_take(struct ledgerd_node *n, const char *path, struct ledgerd_snapinfo *info,
			  struct dr_error *err)
{
	uint64_t last = ledger_fsm_last_index(&n->ledger);
	const struct ledger_entry *e = ledger_fsm_entry(&n->ledger, last);
	size_t len = 0;
	char *body = ledger_fsm_serialize(&n->ledger, &len);
	int rc = ledgerd_snapfile_write(info, path, body, len, last, e ? e->term : 0, err);

	free(body);
	return rc;
}
