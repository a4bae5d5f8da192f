/* Outgoing raft connections from this node's own raft address.
 *
 * libraft 0.15's TCP transport (src/uv_tcp_connect.c) connects without
 * binding, so on loopback every node's outgoing stream leaves from
 * 127.0.0.1 and no packet filter can tell one node's traffic from
 * another's.  Real nodes each have their own address; the bundled cluster
 * gives every node its own loopback address (127.a.b.<id>), and binding the
 * outgoing side to it makes the nodes distinguishable to the kernel, so
 * drillrig can partition them with nftables (harness/target/local/
 * local_nft.c) instead of asking ledgerd to cooperate with its own fault.
 *
 * The connect is libraft's own, step for step: TCP connect, then the
 * handshake libraft's listener expects (protocol 1: three little-endian
 * 64-bit words -- protocol, our id, the padded length of our address --
 * then our address, NUL-padded to 8 bytes; uvTcpEncodeHandshake in
 * v0.15.0), then the stream goes to the connect callback.  libraft frees
 * the stream with raft_free, so it is allocated with raft_malloc.  An own
 * address that is not an IPv4 "ip:port" is connected unbound, as libraft
 * would; one the kernel refuses to bind fails the attempt (libuv reports
 * the bind error at connect) and libraft retries after its delay.
 *
 * A cut network must not outlast itself.  The kernel retries an
 * unanswered SYN after 1, 3, 7, 15 s ... and unacknowledged data with a
 * backoff that doubles up to 2 minutes, so after a partition heals a node
 * could wait that long for the next retry before it hears from its peers
 * again (a follower cut off for 12 s caught up 2.1 s after the heal).  So
 * a connect that has no answer within ledgerd_connect_timeout_ms (half an
 * election timeout) is abandoned and libraft makes a new one after its
 * 100 ms delay, and an established stream carries TCP_USER_TIMEOUT of
 * ledgerd_stall_ms (twice the election timeout, at least 1 s: a lossy
 * link's retransmissions fit in it): the kernel drops the stream when
 * what it sent stays unacknowledged that long, and the stream is made
 * again (the link check, transport_links.c, sees ETIMEDOUT, or libraft's
 * next write fails). */
#include "ledger/daemon/transport.h"

#include <arpa/inet.h>
#include <assert.h>
#include <endian.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/log.h"

#define HANDSHAKE_PROTOCOL 1

struct ledgerd_bound_connect {
	struct ledgerd_transport *t;
	struct raft_uv_connect *req;
	raft_uv_connect_cb cb;
	uv_tcp_t *tcp;              /* raft_malloc: libraft frees it */
	uv_connect_t connect;
	uv_write_t write;
	uv_buf_t handshake;
	int status;                 /* handed to cb when the handle is closed */
	int holds_close;            /* the transport's close waits for this one */
	int64_t started_ns;         /* CLOCK_MONOTONIC of the connect */
	int connected;              /* the TCP connect succeeded */
	struct ledgerd_bound_connect *next;
};

int ledgerd_ipv4_parse(struct sockaddr_in *out, const char *address)
{
	const char *colon = strrchr(address, ':');
	char host[64];
	long port;
	char *end;

	if (!colon || (size_t)(colon - address) >= sizeof host)
		return -1;
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return -1;
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

static void handshake_encode(uv_buf_t *buf, raft_id id, const char *address)
{
	size_t addr_len = (strlen(address) + 1 + 7) / 8 * 8;
	uint64_t words[3] = { htole64(HANDSHAKE_PROTOCOL), htole64(id), htole64(addr_len) };

	buf->len = sizeof words + addr_len;
	buf->base = xcalloc(1, buf->len);
	memcpy(buf->base, words, sizeof words);
	memcpy(buf->base + sizeof words, address, strlen(address));
}

static void unlink_connect(struct ledgerd_bound_connect *bc)
{
	struct ledgerd_bound_connect **p;

	for (p = &bc->t->connecting; *p; p = &(*p)->next) {
		if (*p == bc) {
			*p = bc->next;
			return;
		}
	}
}

static void finish(struct ledgerd_bound_connect *bc, struct uv_stream_s *stream)
{
	struct raft_uv_connect *req = bc->req;
	raft_uv_connect_cb cb = bc->cb;
	int status = bc->status;

	unlink_connect(bc);
	free(bc->handshake.base);
	free(bc);
	cb(req, stream, status);
}

static void free_handle_cb(uv_handle_t *h)
{
	raft_free(h);
}

static void closed_cb(uv_handle_t *h)
{
	struct ledgerd_bound_connect *bc = h->data;
	struct ledgerd_transport *t = bc->t;
	int holds_close = bc->holds_close;

	raft_free(bc->tcp);
	finish(bc, NULL);
	if (holds_close)
		ledgerd_transport_connect_closed(t);
}

static void fail(struct ledgerd_bound_connect *bc, int status)
{
	bc->status = status;
	uv_close((uv_handle_t *)bc->tcp, closed_cb);
}

static void write_cb(uv_write_t *w, int status)
{
	struct ledgerd_bound_connect *bc = w->data;

	if (status == UV_ECANCELED || bc->status != 0)
		return; /* aborted: closed_cb finishes it */
	if (status != 0) {
		fail(bc, RAFT_NOCONNECTION);
		return;
	}
	finish(bc, (struct uv_stream_s *)bc->tcp);
}

static unsigned election_ms(const struct ledgerd_transport *t)
{
	const struct raft *r = t->io ? t->io->data : NULL;

	return r && r->election_timeout ? r->election_timeout : 1000;
}

/* Long enough for TCP's own retransmissions (200 ms, then 400 ms more) on
 * a lossy link: a stream is given up only when the network is cut. */
unsigned ledgerd_stall_ms(const struct ledgerd_transport *t)
{
	unsigned twice = 2 * election_ms(t);

	return twice < 1000 ? 1000 : twice;
}

/* A SYN needs one round trip; a lost one is better sent again soon. */
unsigned ledgerd_connect_timeout_ms(const struct ledgerd_transport *t)
{
	unsigned half = election_ms(t) / 2;

	return half < 100 ? 100 : half;
}

static void connect_cb(uv_connect_t *c, int status)
{
	struct ledgerd_bound_connect *bc = c->data;
	uv_os_fd_t fd;

	if (status == UV_ECANCELED || bc->status != 0)
		return;
	if (status == 0) {
		unsigned ms = ledgerd_stall_ms(bc->t);

		bc->connected = 1;
		/* best effort: without it a cut stream waits for TCP's backoff */
		if (uv_fileno((uv_handle_t *)bc->tcp, &fd) == 0)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof ms);
	}
	if (status != 0 || uv_write(&bc->write, (uv_stream_t *)bc->tcp, &bc->handshake, 1,
				    write_cb) != 0)
		fail(bc, RAFT_NOCONNECTION);
}

void ledgerd_tcp_bind_own(struct ledgerd_transport *t, uv_tcp_t *tcp)
{
	struct sockaddr_in self;
	int rv;

	if (ledgerd_ipv4_parse(&self, t->address) != 0)
		return;
	self.sin_port = 0;
	rv = uv_tcp_bind(tcp, (struct sockaddr *)&self, 0);
	/* Said once: libraft retries every 100 ms. */
	if (rv != 0 && !t->bind_failure_logged) {
		t->bind_failure_logged = 1;
		ledgerd_log("cannot bind raft connections to %s: %s", t->address, uv_strerror(rv));
	}
}

int ledgerd_connect_bound(struct ledgerd_transport *t, struct raft_uv_connect *req,
			  const char *address, raft_uv_connect_cb cb)
{
	struct sockaddr_in peer;
	struct ledgerd_bound_connect *bc;
	int rv;

	if (ledgerd_ipv4_parse(&peer, address) != 0)
		return RAFT_NOCONNECTION;
	bc = xcalloc(1, sizeof *bc);
	bc->t = t;
	bc->req = req;
	bc->cb = cb;
	bc->tcp = raft_malloc(sizeof *bc->tcp);
	if (!bc->tcp) {
		free(bc);
		return RAFT_NOMEM;
	}
	uv_tcp_init(t->loop, bc->tcp);
	bc->tcp->data = bc;
	bc->connect.data = bc;
	bc->write.data = bc;
	handshake_encode(&bc->handshake, t->id, t->address);
	ledgerd_tcp_bind_own(t, bc->tcp);
	bc->started_ns = clock_mono_ns();
	bc->next = t->connecting;
	t->connecting = bc;
	ledgerd_links_watch(t, NULL); /* its periodic check expires connects too */
	rv = uv_tcp_connect(&bc->connect, bc->tcp, (struct sockaddr *)&peer, connect_cb);
	if (rv != 0) {
		/* The request fails now (not through cb): libraft retries it. */
		unlink_connect(bc);
		free(bc->handshake.base);
		uv_close((uv_handle_t *)bc->tcp, free_handle_cb);
		free(bc);
		return RAFT_NOCONNECTION;
	}
	return 0;
}

/* 1 while the kernel still waits for the peer's SYN-ACK.  A loop slowed
 * down (valgrind, a long callback) runs its timers before the connect
 * callback of a connect that has long succeeded: that one is not expired. */
static int still_connecting(struct ledgerd_bound_connect *bc)
{
	uv_os_fd_t fd;
	struct pollfd p;

	if (uv_fileno((uv_handle_t *)bc->tcp, &fd) != 0)
		return 0;
	p.fd = fd;
	p.events = POLLOUT;
	p.revents = 0;
	return poll(&p, 1, 0) == 0;
}

void ledgerd_connects_expire(struct ledgerd_transport *t, int64_t now_ns)
{
	int64_t limit = (int64_t)ledgerd_connect_timeout_ms(t) * NS_PER_MS;

	/* fail() only starts the close: the list changes in closed_cb, later */
	for (struct ledgerd_bound_connect *bc = t->connecting; bc; bc = bc->next) {
		if (bc->status != 0 || bc->connected || now_ns - bc->started_ns < limit ||
		    !still_connecting(bc))
			continue;
		__atomic_add_fetch(&t->counters.connect_timeouts, 1, __ATOMIC_RELAXED);
		fail(bc, RAFT_NOCONNECTION);
	}
}

/* Every connect still in flight ends with RAFT_CANCELED (those already
 * failing keep their status); the transport's close waits for each, as
 * libraft's own close waits for its aborting connects. */
int ledgerd_connects_abort(struct ledgerd_transport *t)
{
	int n = 0;

	for (struct ledgerd_bound_connect *bc = t->connecting; bc; bc = bc->next) {
		bc->holds_close = 1;
		n++;
		if (bc->status == 0)
			fail(bc, RAFT_CANCELED);
	}
	return n;
}
