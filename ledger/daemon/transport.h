/* A raft_uv_transport that wraps libraft's TCP transport and can cut
 * chosen peers off (Debug/Partition), and a filter on the messages the raft
 * io receives that can lose InstallSnapshot messages
 * (Debug/DropInstallSnapshot).
 *
 * While a peer is partitioned: outgoing connects to it fail, incoming
 * connections from it are closed right after the handshake, and every
 * established stream to or from it is shut down (both directions), so
 * libraft sees a dead link and keeps retrying into the refusal.
 *
 * A dropped InstallSnapshot was read off the wire in full (the leader's send
 * succeeded) and is then freed before libraft sees it: not applied, not
 * answered, as if the node had lost it between receiving and replying.
 * libraft decodes messages itself from the streams the transport hands it,
 * so one message can only be caught where the io delivers it: the receive
 * callback raft_start gives io->start.  Only touch any of it on the loop
 * thread. */
#ifndef DR_LEDGER_DAEMON_TRANSPORT_H
#define DR_LEDGER_DAEMON_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>

#define LEDGERD_MAX_PARTITION 64
#define LEDGERD_MAX_HEARD 64

struct ledgerd_link {
	raft_id id;
	int fd;
	struct sockaddr_storage local, peer; /* to recognise the same socket later */
};

struct ledgerd_transport {
	struct raft_uv_transport outer;  /* what libraft uses */
	struct raft_uv_transport inner;  /* libraft's TCP transport */
	raft_uv_accept_cb accept_cb;
	char address[64];                /* ours, "ip:port" (tr_init) */
	raft_uv_transport_close_cb close_cb;
	raft_id blocked[LEDGERD_MAX_PARTITION];
	size_t n_blocked;
	struct ledgerd_link *links;
	size_t n_links, alloc_links;
	/* the receive filter (ledgerd_transport_filter_recv) */
	struct raft_io *io;
	int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
			raft_io_recv_cb recv);
	raft_io_recv_cb recv_cb;
	unsigned drop_install_snapshot; /* InstallSnapshot messages still to drop */
	struct ledgerd_transport *next_filter;
	/* When a message from each peer last arrived (monotonic ns): libraft
	 * keeps no such time, and a graceful stop must tell a peer that
	 * answers from one that stopped (ledger/daemon/handover.c). */
	struct { raft_id id; int64_t ns; } heard[LEDGERD_MAX_HEARD];
};

/* Set up the wrapper around a fresh TCP transport on loop.  Returns 0 or a
 * RAFT_* code. */
int ledgerd_transport_init(struct ledgerd_transport *t, struct uv_loop_s *loop);
/* Free memory after the transport was closed (through raft's io close). */
void ledgerd_transport_release(struct ledgerd_transport *t);
/* Replace the set of blocked peers (n == 0 heals) and shut down streams to
 * newly blocked ones. */
void ledgerd_transport_partition(struct ledgerd_transport *t, const raft_id *ids, size_t n);
int ledgerd_transport_blocked(const struct ledgerd_transport *t, raft_id id);
/* Put t's receive filter between io and libraft: call after
 * raft_uv_init(io, ..., &t->outer) and before raft_start (it replaces
 * io->start).  Until t is released, every message io receives goes through
 * t first. */
void ledgerd_transport_filter_recv(struct ledgerd_transport *t, struct raft_io *io);
/* Drop the next count InstallSnapshot messages the filtered io receives
 * (replaces the previous count; 0 disarms).  Each drop is logged
 * "debug: DropInstallSnapshot took effect". */
void ledgerd_transport_drop_install_snapshot(struct ledgerd_transport *t, unsigned count);
/* Monotonic time (ns) the filtered io last received a message from peer
 * id, any type; 0 when none arrived since start (or the table is full). */
int64_t ledgerd_transport_heard_ns(const struct ledgerd_transport *t, raft_id id);

#endif
