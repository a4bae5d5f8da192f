/* Noticing that a peer closed an outbound stream.
 *
 * libraft 0.15 sends to each peer over one outbound TCP stream and never
 * reads from it (src/uv_send.c, checked against Debian's libraft 0.15.0).
 * When the peer's process dies or restarts, the stream to the old process
 * is dead but still looks available: the next message is written into it
 * and vanishes (the peer's kernel answers with a reset), and only the write
 * after that fails and makes libraft reconnect.  If the lost message is a
 * RequestVote, the election waits another timeout; if it is the TimeoutNow
 * of a leadership transfer, another node ends up leading (issue 19,
 * bench/README.md).  Upstream, cowsql/raft#188 reads these streams for the
 * same reason; Debian's 0.15 does not.
 *
 * So ledgerd looks at every outbound socket every few milliseconds with a
 * non-blocking MSG_PEEK: a libraft server answers over its own outbound
 * stream, never over this one, so end of file or an error means the peer's
 * process is gone.  (Not uv_read_start on libraft's handle: after a read
 * error libuv marks the handle unwritable, every later uv_write fails at
 * once, and libraft, which only lets go of a stream in a write callback,
 * would keep that dead stream forever.)  libraft drops the message whose
 * write failed, so the socket's sending side is shut down, then one
 * sacrificial message is sent through the io: its write fails at once (it
 * never leaves this host), libraft closes the stream and connects again,
 * and the next real message waits for the new connection instead of
 * vanishing into the old one.  Loop thread only. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/transport.h"

static void sacrifice_sent(struct raft_io_send *req, int status)
{
	(void)status; /* a failure is the point */
	free(req);
}

/* A vote result for term 0: no server acts on a term-0 answer, and after
 * the shutdown above the write fails before anything is sent. */
static void send_sacrifice(struct ledgerd_transport *t, const struct ledgerd_link *l)
{
	struct raft_message m = { 0 };
	struct raft_io_send *req;

	if (!t->io || !t->io_send || t->closing || !l->address)
		return;
	m.type = RAFT_IO_REQUEST_VOTE_RESULT;
	m.server_id = l->id;
	m.server_address = l->address;
	m.request_vote_result.term = 0;
	m.request_vote_result.vote_granted = false;
	m.request_vote_result.pre_vote = raft_tribool_unknown;
	req = calloc(1, sizeof *req);
	if (!req)
		return;
	/* the io's own send: the vote counters must not count it */
	if (t->io_send(t->io, req, &m, sacrifice_sent) != 0)
		free(req);
}

/* How often the outbound sockets are looked at: a restart takes longer
 * than this, so the stream is replaced before anything needs it. */
#define LINK_CHECK_MS 10

int ledgerd_link_peer_gone(int fd, int *err)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);

	*err = 0;
	if (n > 0) {
		/* unexpected bytes: not libraft's protocol on this stream, dropped */
		while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
			;
		return 0;
	}
	if (n == 0)
		return 1;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	*err = errno;
	return 1;
}

enum link_state { LINK_ALIVE, LINK_CLOSED, LINK_STALLED };

/* LINK_CLOSED when l is an outbound stream libraft still owns and its peer
 * closed it, LINK_STALLED when the kernel dropped it because what it sent
 * stayed unacknowledged (TCP_USER_TIMEOUT, transport_connect.c: a cut
 * network, not a gone process); either way it is shut and replaced as the
 * comment at the top says. */
static enum link_state link_check(struct ledgerd_transport *t, struct ledgerd_link *l)
{
	int err;

	/* libraft may have closed it since (the fd may be reused) */
	if (!l->outbound || !ledgerd_link_same(l) || !ledgerd_link_peer_gone(l->fd, &err))
		return LINK_ALIVE;
	l->outbound = NULL;
	if (err == ETIMEDOUT) {
		__atomic_add_fetch(&t->counters.stalled_links, 1, __ATOMIC_RELAXED);
		ledgerd_log("raft: nothing this node sent to node %llu was acknowledged for %u ms "
			    "(a cut network?): reconnecting", l->id, ledgerd_stall_ms(t));
	} else {
		__atomic_add_fetch(&t->counters.dead_links, 1, __ATOMIC_RELAXED);
		ledgerd_log("raft: node %llu closed the stream this node sends on (%s): "
			    "reconnecting before the next message", l->id,
			    err ? strerror(err) : "it stopped or restarted");
	}
	shutdown(l->fd, SHUT_WR);
	send_sacrifice(t, l);
	return err == ETIMEDOUT ? LINK_STALLED : LINK_CLOSED;
}

int ledgerd_links_check_peer(struct ledgerd_transport *t, raft_id id)
{
	size_t i;
	int gone = 0;

	for (i = 0; i < t->n_links && !t->closing; i++)
		if (t->links[i].id == id && link_check(t, &t->links[i]) == LINK_CLOSED)
			gone = 1;
	return gone;
}

static void check_links(uv_timer_t *timer)
{
	struct ledgerd_transport *t = timer->data;
	size_t i;

	for (i = 0; i < t->n_links && !t->closing; i++)
		if (link_check(t, &t->links[i]) == LINK_CLOSED)
			ledgerd_dead_leader_seen(t, t->links[i].id);
	if (!t->closing)
		ledgerd_connects_expire(t, clock_mono_ns());
}

void ledgerd_links_watch(struct ledgerd_transport *t, struct ledgerd_link *l)
{
	(void)l;
	if (!uv_is_active((uv_handle_t *)&t->link_check))
		uv_timer_start(&t->link_check, check_links, LINK_CHECK_MS, LINK_CHECK_MS);
}

void ledgerd_transport_closing(struct ledgerd_transport *t)
{
	t->closing = 1;
}

uint64_t ledgerd_counter_get(const uint64_t *counter)
{
	return __atomic_load_n(counter, __ATOMIC_RELAXED);
}
