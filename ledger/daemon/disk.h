/* A node's data directory running out of space (issue 17, the disk_full
 * fault), on the loop thread.
 *
 * libraft 0.15's uv backend writes into preallocated 4 MiB segments and
 * only needs new space when it prepares the next one (uv_prepare.c); that
 * prepare failing with ENOSPC fails the append (RAFT_NOSPACE).  On a leader
 * the failed entry is then dropped from its in-memory log although it may
 * already be on followers (replication.c, appendLeaderCb), and a follower
 * keeps unpersisted entries in memory and never writes them again: after a
 * failed log write the node's memory and disk disagree.  So ledgerd keeps
 * libraft away from that edge:
 *
 *  - every tick it reads the free space of its Raft directory (statvfs);
 *    below one segment the disk is "full": writes and reads (a read
 *    appends a barrier) are refused with RESOURCE_EXHAUSTED "no space left
 *    on device", and a leader hands leadership to an up-to-date voter, so a
 *    quorum of the others keeps serving writes; once two segments are free
 *    again the node serves as before, without a restart;
 *  - should a log write fail anyway (the preallocated segments ran out
 *    first, as on a follower filled long enough), the node refuses and
 *    hands over the same way, and once space is back it exits with
 *    LEDGERD_EXIT_DISK (a crash, as after kill -9: everything it
 *    acknowledged is on disk) so that the supervisor restarts it like a
 *    pod and it reloads its log from disk. */
#ifndef DR_LEDGER_DAEMON_DISK_H
#define DR_LEDGER_DAEMON_DISK_H

#include <stdint.h>

#include <raft.h>

/* node.c's raft_uv_set_segment_size. */
#define LEDGERD_SEGMENT_BYTES ((uint64_t)4 * 1024 * 1024)
/* Below this much free space the disk is full... */
#define LEDGERD_DISK_LOW_BYTES LEDGERD_SEGMENT_BYTES
/* ...and it is not any more from this much (hysteresis). */
#define LEDGERD_DISK_OK_BYTES (2 * LEDGERD_SEGMENT_BYTES)
/* EX_TEMPFAIL: restarted after a failed Raft log write, once space is back. */
#define LEDGERD_EXIT_DISK 75

struct ledgerd_node;
struct ledgerd_call;

struct ledgerd_disk {
	int full;                 /* loop: below LEDGERD_DISK_LOW_BYTES free */
	int write_failed;         /* loop: a Raft log write failed (status below) */
	int failed_status;
	uint64_t free_bytes;      /* loop: at the last check */
	int checked;              /* a statvfs answered at least once */
	int transfer_pending;
	struct raft_transfer transfer;
	uint64_t refused;         /* calls refused for lack of space */
	/* libraft's io->append, wrapped to see every log write's status */
	int (*uv_append)(struct raft_io *io, struct raft_io_append *req,
			 const struct raft_entry entries[], unsigned n, raft_io_append_cb cb);
};

/* After raft_uv_init: wrap the io's append and take a first reading. */
void ledgerd_disk_init(struct ledgerd_node *n);
/* Every tick: read the free space, log changes, hand leadership over while
 * the disk is full, and exit for a restart once a node whose log write
 * failed has space again. */
void ledgerd_disk_tick(struct ledgerd_node *n, int is_leader);
/* 1 (and c answered RESOURCE_EXHAUSTED) when the node cannot take a write
 * or a read barrier for lack of space; 0 otherwise. */
int ledgerd_disk_refuse(struct ledgerd_node *n, struct ledgerd_call *c);

#endif
