/* Partitionable transport: libraft's TCP transport with a filter in front
 * (libraft has no hook of its own for dropping traffic), and the filter on
 * received messages behind Debug/DropInstallSnapshot. */
#include "ledger/daemon/transport.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/log.h"

struct pending_connect {
	struct raft_uv_connect inner;
	struct raft_uv_connect *outer;
	raft_uv_connect_cb cb;
	struct ledgerd_transport *t;
	raft_id id;
	char *address;
};

int ledgerd_transport_blocked(const struct ledgerd_transport *t, raft_id id)
{
	size_t i;

	for (i = 0; i < t->n_blocked; i++)
		if (t->blocked[i] == id)
			return 1;
	return 0;
}

/* Remember the socket under a stream handed to libraft, by fd and address
 * pair: libraft owns (and may close) the stream, so we never keep the
 * handle, only what lets us recognise the same socket later. */
static struct ledgerd_link *link_track(struct ledgerd_transport *t, raft_id id,
				       struct uv_stream_s *stream)
{
	struct ledgerd_link *l;
	uv_os_fd_t fd;
	socklen_t len;

	if (uv_fileno((uv_handle_t *)stream, &fd) != 0)
		return NULL;
	/* libraft 0.15 leaves Nagle on.  A leader that sends one entry of many
	 * appends (group commit, ledger/daemon/svc_append.c) in more than one
	 * write had the tail of it held until the follower's delayed ACK,
	 * 40 ms later: 16-client p99 went from 5 ms to 45 ms.  Raft messages
	 * are sent whole and at once; nothing is gained by coalescing them. */
	{
		int one = 1;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	ledgerd_links_prune(t); /* keeps the table as small as the live links */
	if (t->n_links == t->alloc_links) {
		t->alloc_links = t->alloc_links ? t->alloc_links * 2 : 16;
		t->links = xrealloc(t->links, t->alloc_links * sizeof *t->links);
	}
	l = &t->links[t->n_links];
	memset(l, 0, sizeof *l);
	l->id = id;
	l->fd = fd;
	len = sizeof l->local;
	if (getsockname(fd, (struct sockaddr *)&l->local, &len) != 0)
		return NULL;
	len = sizeof l->peer;
	if (getpeername(fd, (struct sockaddr *)&l->peer, &len) != 0)
		return NULL;
	return &t->links[t->n_links++];
}

/* Is fd still the socket we recorded?  A socket the peer reset has no
 * peer address any more (ENOTCONN) but keeps its local one, and no other
 * socket has the same local address and port: so a reset socket is still
 * recognised, and it must be, or a peer killed while data was in flight
 * (reset, not closed) would go unnoticed (transport_links.c). */
int ledgerd_link_same(const struct ledgerd_link *l)
{
	struct sockaddr_storage a, b;
	socklen_t la = sizeof a, lb = sizeof b;

	if (getsockname(l->fd, (struct sockaddr *)&a, &la) != 0 ||
	    memcmp(&a, &l->local, la) != 0)
		return 0;
	if (getpeername(l->fd, (struct sockaddr *)&b, &lb) != 0)
		return errno == ENOTCONN;
	return memcmp(&b, &l->peer, lb) == 0;
}

static void links_keep_if(struct ledgerd_transport *t, int cut_blocked)
{
	size_t i, kept = 0;

	for (i = 0; i < t->n_links; i++) {
		struct ledgerd_link *l = &t->links[i];
		int keep = ledgerd_link_same(l); /* else closed by libraft meanwhile */

		if (keep && cut_blocked && ledgerd_transport_blocked(t, l->id)) {
			/* libraft sees EOF/EPIPE and closes the stream itself. */
			shutdown(l->fd, SHUT_RDWR);
			keep = 0;
		}
		if (keep)
			t->links[kept++] = *l;
		else
			free(l->address);
	}
	t->n_links = kept;
}

void ledgerd_links_prune(struct ledgerd_transport *t)
{
	links_keep_if(t, 0);
}

static void link_prune_and_cut(struct ledgerd_transport *t)
{
	links_keep_if(t, 1);
}

static void close_free_cb(uv_handle_t *h)
{
	raft_free(h);
}

static int tr_init(struct raft_uv_transport *outer, raft_id id, const char *address)
{
	struct ledgerd_transport *t = outer->impl;
	int rv = t->inner.init(&t->inner, id, address);

	str_copy(t->address, sizeof t->address, address);
	t->id = id;
	if (rv != 0)
		memcpy(outer->errmsg, t->inner.errmsg, sizeof outer->errmsg);
	return rv;
}

static void tr_accept(struct raft_uv_transport *inner, raft_id id, const char *address,
		      struct uv_stream_s *stream)
{
	struct ledgerd_transport *t = inner->data;

	if (ledgerd_transport_blocked(t, id)) {
		uv_close((uv_handle_t *)stream, close_free_cb);
		return;
	}
	link_track(t, id, stream);
	t->accept_cb(&t->outer, id, address, stream);
}

/* libraft 0.15 listens with a backlog of 1 (src/uv_tcp_listen.c).  Peers
 * connect all at once -- to whoever wins an election, to a new leader after
 * a handover -- and the kernel drops the SYNs that do not fit (nstat:
 * TcpExtListenOverflows); the peer resends one second later (the initial
 * SYN retransmission timeout) and queues its messages meanwhile, so a young
 * cluster's new leader could miss a voter's answers for a second.  listen()
 * again on the same socket only raises the backlog.  libraft keeps the
 * socket to itself: it is the one of ours that listens on our raft address
 * (IPv4 "ip:port", as libraft 0.15 parses it). */
static void widen_backlog(const struct ledgerd_transport *t)
{
	struct sockaddr_in want;
	long maxfd = sysconf(_SC_OPEN_MAX);

	if (ledgerd_ipv4_parse(&want, t->address) != 0 || want.sin_port == 0)
		return;
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;
	for (int fd = 0; fd < maxfd; fd++) {
		struct sockaddr_in got;
		socklen_t len = sizeof got;
		int listening = 0;
		socklen_t ilen = sizeof listening;

		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) != 0 || !listening ||
		    getsockname(fd, (struct sockaddr *)&got, &len) != 0 || got.sin_family != AF_INET ||
		    got.sin_port != want.sin_port || got.sin_addr.s_addr != want.sin_addr.s_addr)
			continue;
		if (listen(fd, SOMAXCONN) != 0)
			ledgerd_log("cannot widen the raft listen backlog: %s", strerror(errno));
		return;
	}
}

static int tr_listen(struct raft_uv_transport *outer, raft_uv_accept_cb cb)
{
	struct ledgerd_transport *t = outer->impl;
	int rv;

	t->accept_cb = cb;
	rv = t->inner.listen(&t->inner, tr_accept);
	if (rv != 0)
		memcpy(outer->errmsg, t->inner.errmsg, sizeof outer->errmsg);
	else
		widen_backlog(t);
	return rv;
}

static void tr_connect_cb(struct raft_uv_connect *req, struct uv_stream_s *stream, int status)
{
	struct pending_connect *pc = req->data;
	struct ledgerd_transport *t = pc->t;

	if (status == 0 && ledgerd_transport_blocked(t, pc->id)) {
		uv_close((uv_handle_t *)stream, close_free_cb);
		stream = NULL;
		status = RAFT_NOCONNECTION;
	} else if (status == 0) {
		struct ledgerd_link *l = link_track(t, pc->id, stream);

		if (l) {
			l->outbound = stream;
			l->address = pc->address;
			pc->address = NULL;
			ledgerd_links_watch(t, l);
		}
	}
	pc->cb(pc->outer, stream, status);
	free(pc->address);
	free(pc);
}

static int tr_connect(struct raft_uv_transport *outer, struct raft_uv_connect *req, raft_id id,
		      const char *address, raft_uv_connect_cb cb)
{
	struct ledgerd_transport *t = outer->impl;
	struct pending_connect *pc;
	int rv;

	if (ledgerd_transport_blocked(t, id))
		return RAFT_NOCONNECTION; /* libraft retries after its delay */
	pc = xcalloc(1, sizeof *pc);
	pc->inner.data = pc;
	pc->outer = req;
	pc->cb = cb;
	pc->t = t;
	pc->id = id;
	pc->address = xstrdup(address);
	rv = ledgerd_connect_bound(t, &pc->inner, address, tr_connect_cb);
	if (rv != 0) {
		snprintf(outer->errmsg, sizeof outer->errmsg, "cannot connect to %s", address);
		free(pc->address);
		free(pc);
	}
	return rv;
}

static void tr_closed_one(struct ledgerd_transport *t)
{
	if (--t->pending_closes == 0 && t->close_cb)
		t->close_cb(&t->outer);
}

void ledgerd_transport_connect_closed(struct ledgerd_transport *t)
{
	tr_closed_one(t);
}

static void tr_close_cb(struct raft_uv_transport *inner)
{
	tr_closed_one(inner->data);
}

static void timer_closed(uv_handle_t *h)
{
	tr_closed_one(h->data);
}

static void tr_close(struct raft_uv_transport *outer, raft_uv_transport_close_cb cb)
{
	struct ledgerd_transport *t = outer->impl;

	t->close_cb = cb;
	t->closing = 1;
	t->pending_closes = 3;
	t->pending_closes += ledgerd_connects_abort(t);
	t->pending_closes += ledgerd_dead_leader_abort(t);
	uv_close((uv_handle_t *)&t->link_check, timer_closed);
	uv_close((uv_handle_t *)&t->early_election, timer_closed);
	t->inner.close(&t->inner, tr_close_cb);
}

int ledgerd_transport_init(struct ledgerd_transport *t, struct uv_loop_s *loop)
{
	int rv;

	memset(t, 0, sizeof *t);
	rv = raft_uv_tcp_init(&t->inner, loop);
	if (rv != 0)
		return rv;
	t->loop = loop;
	uv_timer_init(loop, &t->link_check);
	t->link_check.data = t;
	uv_timer_init(loop, &t->early_election);
	t->early_election.data = t;
	t->inner.data = t;
	t->outer.impl = t;
	t->outer.init = tr_init;
	t->outer.listen = tr_listen;
	t->outer.connect = tr_connect;
	t->outer.close = tr_close;
	return 0;
}

/* ---- the receive filter ---- */

/* The transports whose io's messages are filtered.  libraft calls io->start
 * and the receive callback with the io alone, and both of the io's own
 * pointers are taken (data: the struct raft, impl: libuv backend's state),
 * so the filter finds its transport here.  Loop thread only; ledgerd runs
 * one node, so the list holds one entry. */
static struct ledgerd_transport *filters;

static struct ledgerd_transport *filter_find(const struct raft_io *io)
{
	struct ledgerd_transport *t;

	for (t = filters; t; t = t->next_filter)
		if (t->io == io)
			return t;
	return NULL;
}

static void heard_set(struct ledgerd_transport *t, raft_id id)
{
	size_t i;

	for (i = 0; i < LEDGERD_MAX_HEARD; i++) {
		if (t->heard[i].id == id || !t->heard[i].id) {
			t->heard[i].id = id;
			t->heard[i].ns = clock_mono_ns();
			return;
		}
	}
}

int64_t ledgerd_transport_heard_ns(const struct ledgerd_transport *t, raft_id id)
{
	size_t i;

	for (i = 0; i < LEDGERD_MAX_HEARD && t->heard[i].id; i++)
		if (t->heard[i].id == id)
			return t->heard[i].ns;
	return 0;
}

static void filter_recv(struct raft_io *io, struct raft_message *m)
{
	struct ledgerd_transport *t = filter_find(io);
	struct raft *r = io->data;
	int before = r ? r->state : -1;

	assert(t && t->recv_cb);
	/* A dropped InstallSnapshot was heard too: the peer is alive. */
	heard_set(t, m->server_id);
	if (m->type == RAFT_IO_INSTALL_SNAPSHOT && t->drop_install_snapshot > 0) {
		struct raft_install_snapshot *is = &m->install_snapshot;

		t->drop_install_snapshot--;
		ledgerd_log("debug: DropInstallSnapshot took effect: InstallSnapshot from node %llu "
			    "(last index %llu, term %llu, %zu bytes) dropped, not applied and not "
			    "answered; %u more to drop",
			    m->server_id, is->last_index, is->last_term, is->data.len,
			    t->drop_install_snapshot);
		/* What the message owns, freed as libraft's own recvCb does
		 * for a message that arrives while it is unavailable. */
		raft_configuration_close(&is->conf);
		raft_free(is->data.base);
		return;
	}
	ledgerd_votes_on_recv(t, io, m);
	t->recv_cb(io, m);
	/* libraft 0.15 has no state-change callback; a message is what makes
	 * a candidate a leader or a leader a follower, so this is the moment */
	if (r && r->state != before && t->state_changed)
		t->state_changed(t->state_changed_arg);
}

static int filter_send(struct raft_io *io, struct raft_io_send *req,
		       const struct raft_message *m, raft_io_send_cb cb)
{
	struct ledgerd_transport *t = filter_find(io);

	assert(t && t->io_send);
	ledgerd_votes_on_send(t, m);
	return t->io_send(io, req, m, cb);
}

static int filter_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
			raft_io_recv_cb recv)
{
	struct ledgerd_transport *t = filter_find(io);

	assert(t && t->io_start);
	t->recv_cb = recv;
	t->tick_cb = tick;
	return t->io_start(io, msecs, tick, filter_recv);
}

void ledgerd_transport_filter_recv(struct ledgerd_transport *t, struct raft_io *io)
{
	assert(!t->io && !filter_find(io));
	t->io = io;
	t->io_start = io->start;
	io->start = filter_start;
	t->io_send = io->send;
	io->send = filter_send;
	t->next_filter = filters;
	filters = t;
}

void ledgerd_transport_drop_install_snapshot(struct ledgerd_transport *t, unsigned count)
{
	t->drop_install_snapshot = count;
}

static void filter_remove(struct ledgerd_transport *t)
{
	struct ledgerd_transport **p;

	for (p = &filters; *p; p = &(*p)->next_filter) {
		if (*p == t) {
			*p = t->next_filter;
			break;
		}
	}
	t->next_filter = NULL;
	t->io = NULL;
}

void ledgerd_transport_release(struct ledgerd_transport *t)
{
	size_t i;

	filter_remove(t);
	raft_uv_tcp_close(&t->inner);
	for (i = 0; i < t->n_links; i++)
		free(t->links[i].address);
	free(t->links);
	t->links = NULL;
	t->n_links = t->alloc_links = 0;
}

void ledgerd_transport_partition(struct ledgerd_transport *t, const raft_id *ids, size_t n)
{
	size_t i;

	if (n > LEDGERD_MAX_PARTITION)
		n = LEDGERD_MAX_PARTITION;
	for (i = 0; i < n; i++)
		t->blocked[i] = ids[i];
	t->n_blocked = n;
	link_prune_and_cut(t);
}
