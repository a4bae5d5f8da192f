/* ledgerd's accept loop for the gRPC port (ledger/daemon/grpc_accept.h).
 *
 * One thread, one epoll set: the listeners and an eventfd that stops the
 * thread.  A connection goes to gRPC as soon as it is accepted, so gRPC
 * sends its SETTINGS at once as it always did: drillrig's client gives a
 * connection attempt only its reconnect backoff (5-100 ms) to see them,
 * and waiting for the client's preface first cost that under load (an
 * ASan build beside 256 busy HTTP connections: 2 runs in 3 failed).  The
 * loop keeps a duplicate of each new descriptor until the client has sent
 * a preface's worth of bytes (TCP_INFO's bytes received); one that has not
 * by its deadline is shut down through it, which gRPC sees as the peer
 * going away.  The thread never blocks on a client. */
#include "ledger/daemon/grpc_accept.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <linux/tcp.h>   /* struct tcp_info with tcpi_bytes_received */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/daemon/log.h"

#define MAX_LISTENERS 4
/* The client preface (RFC 9113 3.4) and the header of the SETTINGS frame
 * that must follow it: a client that sent fewer bytes has not spoken. */
#define PREFACE_BYTES (24 + 9)
/* Refusals are logged at most this often (an attack makes thousands). */
#define LOG_EVERY_NS (10 * NS_PER_SEC)
/* accept() out of descriptors: retry after this long, not in a busy loop. */
#define EMFILE_PAUSE_NS (100 * NS_PER_MS)

struct peer {
	sa_family_t family;
	unsigned char addr[16];
};

/* A connection handed to gRPC: fd is gRPC's (dev/ino tell whether it
 * still names the same socket: gRPC may have closed it and the number been
 * reused); dupfd is ours, kept until the client has sent its preface or
 * its deadline passed (-1 after). */
struct conn {
	struct peer peer;
	int fd, dupfd;
	int64_t deadline_ns;
	dev_t dev;
	ino_t ino;
};

static struct {
	int listeners[MAX_LISTENERS];
	int nlisteners;
	int epfd, stopfd;
	pthread_t thread;
	int running;
	grpc_server *server;
	grpc_server_credentials *creds;
	unsigned max_per_client;
	int64_t header_timeout_ns;
	struct conn **conns;
	size_t nconns, cap;
	int64_t paused_until;   /* accept() failed with EMFILE: listeners off */
	int64_t last_log_ns;
	unsigned long refused, timed_out;
} acc = { .epfd = -1, .stopfd = -1 };

static int split_addr(char *host, size_t hostlen, const char **port, const char *addr)
{
	const char *colon = strrchr(addr, ':');
	size_t n;

	if (!colon)
		return -1;
	*port = colon + 1;
	if (addr[0] == '[' && colon > addr && colon[-1] == ']')
		addr++, colon--; /* [::1]:50051 */
	n = (size_t)(colon - addr);
	if (n >= hostlen)
		return -1;
	memcpy(host, addr, n);
	host[n] = '\0';
	return 0;
}

/* 0, or the errno of the failure. */
static int listen_one(const struct addrinfo *ai)
{
	int one = 1, e;
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);

	if (fd < 0)
		return errno;
	/* A node restarted by its supervisor binds the port its predecessor's
	 * connections still hold in TIME_WAIT, as gRPC's own listener does. */
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ai->ai_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
		e = errno;
		close(fd);
		return e;
	}
	acc.listeners[acc.nlisteners++] = fd;
	return 0;
}

int grpc_accept_listen(const char *addr, struct dr_error *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	const char *port;
	int rv;

	if (split_addr(host, sizeof host, &port, addr) != 0)
		return dr_error_set(err, "--listen '%s' is not host:port", addr);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rv = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rv != 0)
		return dr_error_set(err, "cannot resolve --listen '%s': %s", addr, gai_strerror(rv));
	for (ai = res; ai && acc.nlisteners < MAX_LISTENERS; ai = ai->ai_next) {
		int e = listen_one(ai);

		if (e == 0)
			continue;
		/* "localhost" also names ::1, which a host without IPv6 lacks:
		 * like gRPC, an address of several that does not exist here is
		 * no error; a port in use is. */
		if (e != EADDRNOTAVAIL && e != EAFNOSUPPORT) {
			freeaddrinfo(res);
			grpc_accept_stop();
			return dr_error_errno(err, e, "cannot listen for gRPC on '%s' (address in use?)",
					      addr);
		}
		ledgerd_log("grpc: not listening on one address of '%s': %s", addr, strerror(e));
	}
	freeaddrinfo(res);
	if (acc.nlisteners == 0)
		return dr_error_set(err, "cannot listen for gRPC on '%s' (no address could be bound)",
				    addr);
	return 0;
}

static void peer_of(struct peer *p, const struct sockaddr_storage *ss)
{
	memset(p, 0, sizeof *p);
	p->family = ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(p->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(p->addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
}

/* Is the connection still open in gRPC? */
static int handed_alive(const struct conn *c)
{
	struct stat st;

	return fstat(c->fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == c->dev &&
	       st.st_ino == c->ino;
}

static void conn_remove(size_t i)
{
	struct conn *c = acc.conns[i];

	if (c->dupfd >= 0)
		close(c->dupfd);
	free(c);
	acc.conns[i] = acc.conns[--acc.nconns];
}

/* Connections p holds, forgetting those gRPC has closed. */
static unsigned count_peer(const struct peer *p)
{
	unsigned n = 0;

	for (size_t i = 0; i < acc.nconns;) {
		struct conn *c = acc.conns[i];

		if (memcmp(&c->peer, p, sizeof *p) != 0) {
			i++;
		} else if (!handed_alive(c)) {
			conn_remove(i);
		} else {
			n++;
			i++;
		}
	}
	return n;
}

static void log_refusals(int64_t now)
{
	if (now - acc.last_log_ns < LOG_EVERY_NS || (!acc.refused && !acc.timed_out))
		return;
	ledgerd_log("grpc: closed %lu connections over the per-client bound (%u) and %lu that "
		    "sent no HTTP/2 preface within %lld ms", acc.refused, acc.max_per_client,
		    acc.timed_out, (long long)(acc.header_timeout_ns / NS_PER_MS));
	acc.refused = acc.timed_out = 0;
	acc.last_log_ns = now;
}

static void on_accept(int lfd, int64_t now)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		struct stat st;
		struct conn *c;
		struct peer p;
		int one = 1, fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				ledgerd_log("grpc: cannot accept a connection: %s; retrying in %lld ms",
					    strerror(errno), (long long)(EMFILE_PAUSE_NS / NS_PER_MS));
				acc.paused_until = now + EMFILE_PAUSE_NS;
				for (int k = 0; k < acc.nlisteners; k++)
					(void)epoll_ctl(acc.epfd, EPOLL_CTL_DEL, acc.listeners[k], NULL);
			}
			return; /* EAGAIN: all taken; others: the client is gone */
		}
		peer_of(&p, &ss);
		if (acc.max_per_client && count_peer(&p) >= acc.max_per_client) {
			close(fd);
			acc.refused++;
			continue;
		}
		if (fstat(fd, &st) != 0) {
			close(fd);
			continue;
		}
		/* As gRPC's own listener sets up what it accepts. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = xcalloc(1, sizeof *c);
		c->peer = p;
		c->fd = fd;
		/* The duplicate is how a silent client's deadline is enforced.
		 * Without one (out of descriptors: the very exhaustion this
		 * guards against) the connection is refused, never served with
		 * no deadline; with a header timeout of 0 none is kept. */
		c->dupfd = -1;
		if (acc.header_timeout_ns > 0 && (c->dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
			free(c);
			close(fd);
			acc.refused++;
			continue;
		}
		c->deadline_ns = now + acc.header_timeout_ns;
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		if (acc.nconns == acc.cap) {
			acc.cap = acc.cap ? 2 * acc.cap : 256;
			acc.conns = xrealloc(acc.conns, acc.cap * sizeof *acc.conns);
		}
		acc.conns[acc.nconns++] = c;
		grpc_server_add_channel_from_fd(acc.server, fd, acc.creds);
	}
}

static void arm_listeners(void)
{
	for (int k = 0; k < acc.nlisteners; k++) {
		struct epoll_event ev;

		memset(&ev, 0, sizeof ev);
		ev.events = EPOLLIN;
		ev.data.ptr = &acc.listeners[k];
		(void)epoll_ctl(acc.epfd, EPOLL_CTL_ADD, acc.listeners[k], &ev);
	}
}

/* Has the client sent a preface's worth of bytes?  (1 when the kernel
 * cannot say: no deadline then.) */
static int spoke(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;

	memset(&ti, 0, sizeof ti);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
		return 1;
	return ti.tcpi_bytes_received >= PREFACE_BYTES;
}

/* Shut down the connections that have not spoken by their deadline and
 * let go of the duplicates of those that have; with full set (a system
 * call or two each, so not on every wake-up), forget the connections gRPC
 * has closed.  The earliest deadline left, or -1. */
static int64_t sweep(int64_t now, int full)
{
	int64_t next = -1;

	for (size_t i = 0; i < acc.nconns;) {
		struct conn *c = acc.conns[i];

		if (c->dupfd >= 0 && (full || c->deadline_ns <= now)) {
			int said = spoke(c->dupfd);

			if (!said && c->deadline_ns <= now) {
				/* gRPC reads end-of-file and closes its side. */
				(void)shutdown(c->dupfd, SHUT_RDWR);
				acc.timed_out++;
			}
			if (said || c->deadline_ns <= now) {
				close(c->dupfd);
				c->dupfd = -1;
			}
		}
		if (full && !handed_alive(c)) {
			conn_remove(i);
			continue;
		}
		if (c->dupfd >= 0 && (next < 0 || c->deadline_ns < next))
			next = c->deadline_ns;
		i++;
	}
	return next;
}

static int is_listener(const void *ptr)
{
	return ptr >= (const void *)&acc.listeners[0] &&
	       ptr < (const void *)&acc.listeners[MAX_LISTENERS];
}

static void *accept_main(void *arg)
{
	struct epoll_event evs[64];
	int64_t last_full = 0;

	(void)arg;
	for (;;) {
		int64_t now = clock_mono_ns(), next, wait_ns = NS_PER_SEC;
		int full = now - last_full >= NS_PER_SEC, n;

		next = sweep(now, full);
		if (full)
			last_full = now;
		log_refusals(now);
		if (acc.paused_until && now >= acc.paused_until) {
			acc.paused_until = 0;
			arm_listeners();
		}
		if (next >= 0 && next - now < wait_ns)
			wait_ns = next - now;
		if (acc.paused_until && acc.paused_until - now < wait_ns)
			wait_ns = acc.paused_until - now;
		n = epoll_wait(acc.epfd, evs, 64, (int)((wait_ns + NS_PER_MS - 1) / NS_PER_MS));
		now = clock_mono_ns();
		for (int i = 0; i < n; i++) {
			void *ptr = evs[i].data.ptr;

			if (ptr == &acc.stopfd)
				return NULL;
			if (is_listener(ptr))
				on_accept(*(int *)ptr, now);
		}
	}
}

int grpc_accept_run(grpc_server *server, unsigned max_per_client, unsigned header_timeout_ms,
		    struct dr_error *err)
{
	struct epoll_event ev;

	acc.server = server;
	acc.creds = grpc_insecure_server_credentials_create();
	acc.max_per_client = max_per_client;
	acc.header_timeout_ns = (int64_t)header_timeout_ms * NS_PER_MS;
	acc.epfd = epoll_create1(EPOLL_CLOEXEC);
	acc.stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (acc.epfd < 0 || acc.stopfd < 0)
		return dr_error_errno(err, errno, "grpc: cannot set up the accept loop");
	memset(&ev, 0, sizeof ev);
	ev.events = EPOLLIN;
	ev.data.ptr = &acc.stopfd;
	if (epoll_ctl(acc.epfd, EPOLL_CTL_ADD, acc.stopfd, &ev) != 0)
		return dr_error_errno(err, errno, "grpc: cannot set up the accept loop");
	arm_listeners();
	if (pthread_create(&acc.thread, NULL, accept_main, NULL) != 0)
		return dr_error_set(err, "grpc: cannot start the accept thread");
	acc.running = 1;
	return 0;
}

void grpc_accept_stop(void)
{
	uint64_t one = 1;

	if (acc.running) {
		if (write(acc.stopfd, &one, sizeof one) != (ssize_t)sizeof one)
			ledgerd_log("grpc: cannot stop the accept loop: %s", strerror(errno));
		pthread_join(acc.thread, NULL);
		acc.running = 0;
	}
	for (int k = 0; k < acc.nlisteners; k++)
		close(acc.listeners[k]);
	acc.nlisteners = 0;
	while (acc.nconns)
		conn_remove(acc.nconns - 1);
	free(acc.conns);
	acc.conns = NULL;
	acc.cap = 0;
	if (acc.epfd >= 0)
		close(acc.epfd);
	if (acc.stopfd >= 0)
		close(acc.stopfd);
	acc.epfd = acc.stopfd = -1;
	if (acc.creds)
		grpc_server_credentials_release(acc.creds);
	acc.creds = NULL;
}
