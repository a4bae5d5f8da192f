/* A full data directory: refuse cleanly, hand leadership over, recover
 * (ledger/daemon/node.h, above struct ledgerd_disk, says why this way). */
#include "ledger/daemon/node.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "ledger/daemon/log.h"

/* One log write in flight: libraft's request and callback, kept while the
 * uv backend works on our own request. */
struct disk_append {
	struct raft_io_append inner;
	struct raft_io_append *outer;
	raft_io_append_cb cb;
	struct ledgerd_node *node;
};

/* libraft 0.15's raft_strerror says "unknown error" for RAFT_NOSPACE. */
static const char *status_text(int status)
{
	return status == RAFT_NOSPACE ? "no space left on device" : raft_strerror(status);
}

static void append_done(struct raft_io_append *inner, int status)
{
	struct disk_append *a = inner->data;
	struct ledgerd_node *n = a->node;
	struct raft_io_append *outer = a->outer;
	raft_io_append_cb cb = a->cb;

	free(a);
	/* RAFT_CANCELED: closing, nothing was lost. */
	if (status != 0 && status != RAFT_CANCELED && !n->disk.write_failed) {
		n->disk.write_failed = 1;
		n->disk.failed_status = status;
		ledgerd_log("raft log write failed: %s (%s); refusing writes, restarting once space returns",
			    status_text(status), n->io.errmsg);
	}
	cb(outer, status);
}

static int append_wrapped(struct raft_io *io, struct raft_io_append *req,
			  const struct raft_entry entries[], unsigned count, raft_io_append_cb cb)
{
	struct ledgerd_node *n = ((struct raft *)io->data)->data;
	struct disk_append *a = calloc(1, sizeof(*a));
	int rv;

	if (!a)
		return RAFT_NOMEM;
	a->inner.data = a;
	a->outer = req;
	a->cb = cb;
	a->node = n;
	rv = n->disk.uv_append(io, &a->inner, entries, count, append_done);
	if (rv != 0)
		free(a); /* not submitted: no callback comes */
	return rv;
}

static void check_space(struct ledgerd_node *n)
{
	struct statvfs sv;
	uint64_t avail;

	if (statvfs(n->raft_dir, &sv) != 0)
		return; /* keep the last reading: a failed statvfs says nothing */
	avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	n->disk.free_bytes = avail;
	n->disk.checked = 1;
	if (!n->disk.full && avail < LEDGERD_DISK_LOW_BYTES) {
		n->disk.full = 1;
		ledgerd_log("no space left on device: %" PRIu64 " bytes free in '%s' (less than one "
			    "%" PRIu64 "-byte raft segment); refusing writes", avail, n->raft_dir,
			    LEDGERD_SEGMENT_BYTES);
	} else if (n->disk.full && avail >= LEDGERD_DISK_OK_BYTES) {
		n->disk.full = 0;
		ledgerd_log("disk space is back: %" PRIu64 " bytes free in '%s'%s", avail,
			    n->raft_dir, n->disk.write_failed ? "" : "; writes accepted again");
	}
}

void ledgerd_disk_init(struct ledgerd_node *n)
{
	n->disk.uv_append = n->io.append;
	n->io.append = append_wrapped;
	check_space(n);
}

static void transfer_cb(struct raft_transfer *req)
{
	struct ledgerd_node *n = req->data;

	n->disk.transfer_pending = 0;
	ledgerd_log("disk full: leadership transfer finished: %s",
		    raft_state(&n->raft) == RAFT_LEADER ? "still leader, will retry" : "handed over");
}

/* The voter furthest along, a primary or dr node before a witness (which
 * would only hand over again). */
static raft_id transfer_target(struct ledgerd_node *n)
{
	struct raft *r = &n->raft;
	raft_id best = 0;
	raft_index best_match = 0;
	int best_data = 0;

	for (unsigned i = 0; i < r->configuration.n; i++) {
		const struct raft_server *s = &r->configuration.servers[i];
		const char *role = ledgerd_member_str(n, s->id, "region_role");
		int data = role && strcmp(role, "witness") != 0;
		raft_index match = r->leader_state.progress[i].match_index;

		if (s->id == n->cfg.id || s->role != RAFT_VOTER)
			continue;
		if (!best || data > best_data || (data == best_data && match > best_match)) {
			best = s->id;
			best_match = match;
			best_data = data;
		}
	}
	return best;
}

static void hand_over(struct ledgerd_node *n)
{
	raft_id to;

	/* A stopping leader hands over through its graceful stop. */
	if (n->disk.transfer_pending || n->stop_requested || n->handing_over)
		return;
	to = transfer_target(n);
	if (!to)
		return;
	n->disk.transfer.data = n;
	if (raft_transfer(&n->raft, &n->disk.transfer, to, transfer_cb) == 0) {
		n->disk.transfer_pending = 1;
		ledgerd_log("disk full: transferring leadership to node %llu",
			    (unsigned long long)to);
	}
}

void ledgerd_disk_tick(struct ledgerd_node *n, int is_leader)
{
	check_space(n);
	if (n->disk.write_failed && !n->disk.full && n->disk.checked &&
	    n->disk.free_bytes >= LEDGERD_DISK_OK_BYTES) {
		/* libraft's memory no longer matches its disk (node.h, struct ledgerd_disk): start
		 * again from the disk, which holds everything acknowledged. */
		ledgerd_log("space is back after a failed raft log write: exiting (%d) to reload the "
			    "log from disk; the supervisor restarts this node", LEDGERD_EXIT_DISK);
		fflush(stderr);
		_exit(LEDGERD_EXIT_DISK);
	}
	if (is_leader && (n->disk.full || n->disk.write_failed))
		hand_over(n);
}

int ledgerd_disk_refuse(struct ledgerd_node *n, struct ledgerd_call *c)
{
	if (!n->disk.full && !n->disk.write_failed)
		return 0;
	n->disk.refused++;
	if (n->disk.write_failed)
		ledgerd_call_error(n, c, LEDGER_TOO_LARGE,
				   "no space left on device: a raft log write on node %llu failed (%s); "
				   "it restarts once space returns, retry another node",
				   (unsigned long long)n->cfg.id, status_text(n->disk.failed_status));
	else
		ledgerd_call_error(n, c, LEDGER_TOO_LARGE,
				   "no space left on device: node %llu has %" PRIu64 " bytes free for "
				   "its raft log; writes are refused until space returns%s",
				   (unsigned long long)n->cfg.id, n->disk.free_bytes,
				   n->disk.transfer_pending ? " (leadership is being handed over)" : "");
	return 1;
}
