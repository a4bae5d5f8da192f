/* A raft_uv_transport that wraps libraft's TCP transport and can cut
 * chosen peers off (Debug/Partition), and a filter on the messages the raft
 * io receives that can lose InstallSnapshot messages
 * (Debug/DropInstallSnapshot).  It also notices a dead outbound stream
 * (transport_links.c) and applies the thesis's vote rule (transport_votes.c);
 * see there for the libraft 0.15 behaviours both work around.
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
	struct uv_stream_s *outbound;   /* a stream libraft writes to, NULL for inbound */
	char *address;                  /* the peer's raft address (outbound only) */
};

#define LEDGERD_MAX_PEERS 64

/* Raft traffic counters for /metrics: written on the loop thread, read by
 * the metrics renderer on another thread, so every access is a relaxed
 * __atomic (a torn count is harmless, a data race is not). */
struct ledgerd_raft_counters {
	uint64_t dead_links;       /* outbound streams found closed by the peer */
	uint64_t stalled_links;    /* outbound streams dropped: nothing acknowledged in time */
	uint64_t connect_timeouts; /* connects abandoned: no answer in time */
	uint64_t leader_forgotten; /* votes considered after the leader fell silent */
	uint64_t dead_leader_votes;     /* votes considered after the leader's process went */
	uint64_t dead_leader_elections; /* elections started early for that reason */
	uint64_t closed_leader_listening; /* leader closed a stream, still listened */
	unsigned n_peers;
	struct {
		raft_id id;
		uint64_t votes_sent;     /* RequestVote (pre-vote or vote) handed to the io */
		uint64_t votes_received; /* RequestVote received from that peer */
	} peer[LEDGERD_MAX_PEERS];
};

struct ledgerd_transport {
	struct raft_uv_transport outer;  /* what libraft uses */
	struct raft_uv_transport inner;  /* libraft's TCP transport (listens) */
	struct uv_loop_s *loop;
	raft_id id;                      /* ours (tr_init) */
	struct ledgerd_bound_connect *connecting; /* transport_connect.c */
	int bind_failure_logged;         /* transport_connect.c */
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
	raft_io_tick_cb tick_cb;        /* libraft's tick: runs an early election */
	unsigned drop_install_snapshot; /* InstallSnapshot messages still to drop */
	int (*io_send)(struct raft_io *io, struct raft_io_send *req,
		       const struct raft_message *message, raft_io_send_cb cb);
	struct ledgerd_transport *next_filter;
	int closing;                    /* no more sacrificial sends (transport_links.c) */
	/* called on the loop right after a received message changed the raft
	 * state (e.g. the vote that makes this node leader), or NULL */
	void (*state_changed)(void *arg);
	void *state_changed_arg;
	uv_timer_t link_check;          /* looks at the outbound sockets (transport_links.c) */
	/* The leader whose process was found gone, and the election this
	 * follower will start for it (transport_dead_leader.c). */
	struct {
		raft_id id;             /* 0: none */
		int64_t ns;             /* when its stream was found closed */
		int gone;               /* its raft port refused a connection since */
		int other_stood;        /* a vote request arrived since */
		int refused_while_probing; /* one arrived before the verdict */
	} dead_leader;
	struct ledgerd_leader_probe *leader_probe; /* in flight, or NULL */
	uv_timer_t early_election;
	int pending_closes;             /* handles still closing before close_cb */
	struct ledgerd_raft_counters counters;
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
/* Read back a counter of t->counters (any thread). */
uint64_t ledgerd_counter_get(const uint64_t *counter);
/* 1 when the peer closed (*err 0) or reset (*err an errno) the outbound
 * socket fd, 0 while it looks alive; bytes the peer should never have sent
 * are read and dropped. */
int ledgerd_link_peer_gone(int fd, int *err);
/* Is l's fd still the socket recorded for it (a reset one included)? */
int ledgerd_link_same(const struct ledgerd_link *l);
/* Start watching an outbound stream libraft got from a connect
 * (transport_links.c): a peer that closes it is noticed at once. */
void ledgerd_links_watch(struct ledgerd_transport *t, struct ledgerd_link *l);
/* Look at the outbound streams to peer id now, as the periodic check does
 * (transport_links.c); 1 when one of them was found closed by the peer. */
int ledgerd_links_check_peer(struct ledgerd_transport *t, raft_id id);
/* The follower side of a leader's death (transport_dead_leader.c), loop
 * thread: the outbound stream to peer id was found closed by the peer. */
void ledgerd_dead_leader_seen(struct ledgerd_transport *t, raft_id id);
/* 1 when peer id's process was found gone (a closed stream, then a
 * refused connection to its raft port) and id has sent nothing since. */
int ledgerd_dead_leader_is(struct ledgerd_transport *t, raft_id id);
/* Another node asked for votes: it stands, so this one does not. */
void ledgerd_dead_leader_vote_seen(struct ledgerd_transport *t);
/* Forget the links whose sockets libraft has closed since (transport.c). */
void ledgerd_links_prune(struct ledgerd_transport *t);
/* The vote bookkeeping of the filters (transport_votes.c), loop thread. */
void ledgerd_votes_on_send(struct ledgerd_transport *t, const struct raft_message *m);
void ledgerd_votes_on_recv(struct ledgerd_transport *t, struct raft_io *io,
			   const struct raft_message *m);
/* Render the counters as Prometheus text with the node's labels. */
struct strbuf;
void ledgerd_raft_counters_render(struct strbuf *sb, const struct ledgerd_raft_counters *c,
				  const char *labels);
/* "a.b.c.d:port" as libraft 0.15 writes raft addresses: 0, or -1. */
struct sockaddr_in;
int ledgerd_ipv4_parse(struct sockaddr_in *out, const char *address);
/* Connect to a peer from our own raft address (transport_connect.c);
 * the same contract as raft_uv_transport's connect. */
int ledgerd_connect_bound(struct ledgerd_transport *t, struct raft_uv_connect *req,
			  const char *address, raft_uv_connect_cb cb);
/* Bind tcp (not yet connected) to our raft address, port 0, so that the
 * connection leaves from this node's own address as every raft connection
 * of ours does (transport_connect.c); a refused bind is logged once and
 * the connection leaves from wherever the kernel picks. */
void ledgerd_tcp_bind_own(struct ledgerd_transport *t, uv_tcp_t *tcp);
/* How long what an established raft stream sent may stay unacknowledged
 * before the kernel drops it (TCP_USER_TIMEOUT): twice the election
 * timeout, at least 1 s.  A connect is given up sooner, after
 * ledgerd_connect_timeout_ms: half the election timeout, at least 100 ms
 * (transport_connect.c). */
unsigned ledgerd_stall_ms(const struct ledgerd_transport *t);
unsigned ledgerd_connect_timeout_ms(const struct ledgerd_transport *t);
/* Give up the connects in flight for longer than ledgerd_connect_timeout_ms
 * (the periodic link check calls it); libraft then connects again. */
void ledgerd_connects_expire(struct ledgerd_transport *t, int64_t now_ns);
/* Cancel the connects in flight; returns how many the close must wait for,
 * each reported through ledgerd_transport_connect_closed. */
int ledgerd_connects_abort(struct ledgerd_transport *t);
void ledgerd_transport_connect_closed(struct ledgerd_transport *t);
/* Cancel a leader probe in flight; returns how many the close must wait
 * for (0 or 1), reported through ledgerd_transport_connect_closed. */
int ledgerd_dead_leader_abort(struct ledgerd_transport *t);
/* Stop sacrificial sends: the io is closing (call before raft_close). */
void ledgerd_transport_closing(struct ledgerd_transport *t);
/* Drop the next count InstallSnapshot messages the filtered io receives
 * (replaces the previous count; 0 disarms).  Each drop is logged
 * "debug: DropInstallSnapshot took effect". */
void ledgerd_transport_drop_install_snapshot(struct ledgerd_transport *t, unsigned count);
/* Monotonic time (ns) the filtered io last received a message from peer
 * id, any type; 0 when none arrived since start (or the table is full). */
int64_t ledgerd_transport_heard_ns(const struct ledgerd_transport *t, raft_id id);

#endif
