/* A raft_uv_transport that wraps libraft's TCP transport and can cut
 * chosen peers off (Debug/Partition).
 *
 * While a peer is partitioned: outgoing connects to it fail, incoming
 * connections from it are closed right after the handshake, and every
 * established stream to or from it is shut down (both directions), so
 * libraft sees a dead link and keeps retrying into the refusal.  Only touch
 * it on the loop thread. */
#ifndef DR_LEDGER_DAEMON_TRANSPORT_H
#define DR_LEDGER_DAEMON_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>

#define LEDGERD_MAX_PARTITION 64

struct ledgerd_link {
	raft_id id;
	int fd;
	struct sockaddr_storage local, peer; /* to recognise the same socket later */
};

struct ledgerd_transport {
	struct raft_uv_transport outer;  /* what libraft uses */
	struct raft_uv_transport inner;  /* libraft's TCP transport */
	raft_uv_accept_cb accept_cb;
	raft_uv_transport_close_cb close_cb;
	raft_id blocked[LEDGERD_MAX_PARTITION];
	size_t n_blocked;
	struct ledgerd_link *links;
	size_t n_links, alloc_links;
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

#endif
