/* `kubectl port-forward POD [LOCAL]:REMOTE ...`: forwards for real.
 *
 * Listens on 127.0.0.1:LOCAL (an ephemeral port when LOCAL is empty or 0;
 * IPv4 only, as with --address 127.0.0.1) and relays every accepted
 * connection byte for byte to the pod's ledger node (its gRPC address in
 * cluster.json), in one poll loop: gRPC's HTTP/2 streams are long-lived
 * and many run at once.  Only the container's port 50051 listens; another
 * remote port fails its first connection as kubelet does ("connection
 * refused" inside the pod's network namespace).
 *
 * Like kubectl since 1.23, the forward ends (exit 1, "lost connection to
 * pod") when the pod goes away: its process dies, is killed or stopped,
 * the pod is deleted or scaled away (checked every 100 ms), or a
 * connection inside the pod is refused.  SIGTERM and SIGINT end it quietly
 * with exit 0. */
#include "tests/doubles/kubectl_double.h"

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/cluster/cluster.h"

#define POD_PORT 50051
#define MAX_PORTS 8
#define MAX_CONNS 512
#define BUF_SIZE 65536
#define CHECK_NS (100 * NS_PER_MS)

struct pipe_half {
	char buf[BUF_SIZE];
	size_t len, off;  /* pending bytes are buf[off, len) */
	int eof;          /* the reading side ended */
	int shut;         /* the writing side was shut down after eof */
};

struct conn {
	int cfd, ufd;           /* the local client, the pod's port */
	int connecting;
	int local, remote;      /* the ports it came in on and goes to */
	struct pipe_half up;    /* client -> pod */
	struct pipe_half down;  /* pod -> client */
};

struct forward {
	int lfd[MAX_PORTS];
	int local[MAX_PORTS], remote[MAX_PORTS];
	int nports;
	struct conn *conns[MAX_CONNS];
	int nconns;
	long long node_id;
	pid_t pid;               /* the pod's process when the forward began */
	char *uid;
	char *pod;
	struct sockaddr_in addr; /* the node's gRPC address */
};

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

/* A klog error line, as kubectl's runtime.HandleError prints it. */
static void klog_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void klog_error(const char *fmt, ...)
{
	struct timespec ts;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "E%02d%02d %02d:%02d:%02d.%06ld %7d portforward.go:413] ", tm.tm_mon + 1, tm.tm_mday,
		tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int lost(struct forward *f, int local, int remote, const char *why)
{
	klog_error("an error occurred forwarding %d -> %d: error forwarding port %d to pod %s, uid : %s", local,
		   remote, remote, f->uid, why);
	fprintf(stderr, "error: lost connection to pod\n");
	return 1;
}

static int refused(struct forward *f, int local, int remote)
{
	char *why = xasprintf("failed to execute portforward in network namespace \"/var/run/netns/cni-%s\": failed "
			      "to connect to localhost:%d inside namespace \"%s\", IPv4: dial tcp4 127.0.0.1:%d: "
			      "connect: connection refused IPv6 dial tcp6 [::1]:%d: connect: connection refused ",
			      f->uid, remote, f->uid, remote, remote);
	int rc = lost(f, local, remote, why);

	free(why);
	return rc;
}

/* Is the pod the forward began with still there, its process alive? */
static int pod_still_there(struct forward *f)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *cl = NULL, *node;
	int yes;

	if (cluster_load(&cl, kd_dir, &err) != 0)
		return 0;
	node = kd_node_by_id(cl, f->node_id);
	yes = node && kd_pod_running(node) && (pid_t)json_integer_value(json_object_get(node, "pid")) == f->pid;
	json_decref(cl);
	return yes;
}

static int parse_port(const char *s, int *out, int allow_zero)
{
	char *end;
	long v;

	if (!*s) {
		*out = 0;
		return allow_zero ? 0 : -1;
	}
	v = strtol(s, &end, 10);
	if (*end || v < (allow_zero ? 0 : 1) || v > 65535)
		return -1;
	*out = (int)v;
	return 0;
}

/* "LOCAL:REMOTE", ":REMOTE" or "PORT" (the same port on both sides). */
static int parse_spec(const char *spec, int *local, int *remote)
{
	const char *colon = strchr(spec, ':');
	char *l;
	int rc;

	if (!colon)
		return parse_port(spec, remote, 0) == 0 && (*local = *remote) ? 0 : -1;
	l = xstrndup(spec, (size_t)(colon - spec));
	rc = parse_port(l, local, 1) == 0 && parse_port(colon + 1, remote, 0) == 0 ? 0 : -1;
	free(l);
	return rc;
}

static int listen_on(struct forward *f, int i)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)f->local[i]);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	/* Go's listeners set SO_REUSEADDR: a port in TIME_WAIT is free. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		int e = errno;

		fprintf(stderr, "Unable to listen on port %d: Listeners failed to create with the following errors: "
			"[unable to create listener: Error listen tcp4 127.0.0.1:%d: bind: %s]\n", f->local[i],
			f->local[i], e == EADDRINUSE ? "address already in use" : strerror(e));
		close(fd);
		return -1;
	}
	f->lfd[i] = fd;
	f->local[i] = ntohs(sa.sin_port);
	printf("Forwarding from 127.0.0.1:%d -> %d\n", f->local[i], f->remote[i]);
	fflush(stdout);
	return 0;
}

static void conn_close(struct conn *c)
{
	if (c->cfd >= 0)
		close(c->cfd);
	if (c->ufd >= 0)
		close(c->ufd);
	free(c);
}

static int accept_one(struct forward *f, int i)
{
	int fd = accept4(f->lfd[i], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	struct conn *c;

	if (fd < 0)
		return 0;
	printf("Handling connection for %d\n", f->local[i]);
	fflush(stdout);
	if (f->remote[i] != POD_PORT) {
		close(fd);
		return refused(f, f->local[i], f->remote[i]);
	}
	if (f->nconns == MAX_CONNS) {
		close(fd);
		return 0;
	}
	c = xcalloc(1, sizeof(*c));
	c->cfd = fd;
	c->local = f->local[i];
	c->remote = f->remote[i];
	c->ufd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->ufd < 0 || (connect(c->ufd, (struct sockaddr *)&f->addr, sizeof(f->addr)) != 0 &&
			   errno != EINPROGRESS)) {
		int local = c->local;

		conn_close(c);
		return pod_still_there(f) ? refused(f, local, POD_PORT) : lost(f, local, POD_PORT, "lost connection to pod");
	}
	c->connecting = 1;
	f->conns[f->nconns++] = c;
	return 0;
}

/* Move bytes from -> to through h (to is tried whenever bytes wait: it
 * is non-blocking); -1 when the connection is broken. */
static int pump(struct pipe_half *h, int from, int to, short rev_from)
{
	if (h->off == h->len && !h->eof && (rev_from & (POLLIN | POLLHUP | POLLERR))) {
		ssize_t n = read(from, h->buf, sizeof(h->buf));

		if (n > 0) {
			h->off = 0;
			h->len = (size_t)n;
		} else if (n == 0) {
			h->eof = 1;
		} else if (errno != EAGAIN && errno != EINTR) {
			return -1;
		}
	}
	if (h->off < h->len) {
		ssize_t n = write(to, h->buf + h->off, h->len - h->off);

		if (n > 0)
			h->off += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	if (h->eof && h->off == h->len && !h->shut) {
		shutdown(to, SHUT_WR);
		h->shut = 1;
	}
	return 0;
}

/* One connection's turn: 1 when it is done (closed), 0 when it goes on,
 * -1 when the pod refused it (the forward ends). */
static int conn_step(struct conn *c, short crev, short urev)
{
	if (c->connecting) {
		int e = 0;
		socklen_t len = sizeof(e);

		if (!(urev & (POLLOUT | POLLERR | POLLHUP)))
			return 0;
		getsockopt(c->ufd, SOL_SOCKET, SO_ERROR, &e, &len);
		if (e)
			return -1;
		c->connecting = 0;
		urev = 0;
	}
	if (pump(&c->up, c->cfd, c->ufd, crev) != 0 || pump(&c->down, c->ufd, c->cfd, urev) != 0)
		return 1;
	return c->up.shut && c->down.shut;
}

static short events_for(struct pipe_half *in, struct pipe_half *out)
{
	short ev = 0;

	if (in->off == in->len && !in->eof)
		ev |= POLLIN;
	if (out->off < out->len)
		ev |= POLLOUT;
	return ev;
}

static int relay(struct forward *f)
{
	struct pollfd pfd[MAX_PORTS + 2 * MAX_CONNS];
	int64_t next_check = clock_mono_ns() + CHECK_NS;

	while (!stop_signal) {
		int n = 0, rc;

		for (int i = 0; i < f->nports; i++)
			pfd[n++] = (struct pollfd){ .fd = f->lfd[i], .events = POLLIN };
		for (int i = 0; i < f->nconns; i++) {
			struct conn *c = f->conns[i];

			pfd[n++] = (struct pollfd){ .fd = c->cfd, .events = c->connecting ? 0 : events_for(&c->up, &c->down) };
			pfd[n++] = (struct pollfd){ .fd = c->ufd, .events = c->connecting ? POLLOUT
										  : events_for(&c->down, &c->up) };
		}
		rc = poll(pfd, (nfds_t)n, 100);
		if (rc < 0 && errno != EINTR)
			return kd_fail(1, "error: poll: %s", strerror(errno));
		if (stop_signal)
			break;
		if (clock_mono_ns() >= next_check) {
			next_check = clock_mono_ns() + CHECK_NS;
			if (!pod_still_there(f))
				return lost(f, f->local[0], f->remote[0], "lost connection to pod");
		}
		if (rc <= 0)
			continue;
		for (int i = 0, live = 0, count = f->nconns; i < count; i++) {
			struct conn *c = f->conns[i];
			int done = conn_step(c, pfd[f->nports + 2 * i].revents, pfd[f->nports + 2 * i + 1].revents);

			if (done < 0) {
				int local = c->local;

				return pod_still_there(f) ? refused(f, local, POD_PORT)
							  : lost(f, local, POD_PORT, "lost connection to pod");
			}
			if (done)
				conn_close(c);
			else
				f->conns[live++] = c;
			if (i == count - 1)
				f->nconns = live;
		}
		for (int i = 0; i < f->nports; i++)
			if (pfd[i].revents & POLLIN && accept_one(f, i) != 0)
				return 1;
	}
	return 0;
}

static int node_address(struct sockaddr_in *out, json_t *node)
{
	const char *a = json_string_value(json_object_get(node, "address")) ?: "";
	const char *colon = strrchr(a, ':');
	char *host;
	int port, rc;

	if (!colon || parse_port(colon + 1, &port, 0) != 0)
		return -1;
	host = xstrndup(a, (size_t)(colon - a));
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	rc = inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
	free(host);
	return rc;
}

int kd_port_forward(struct cmd *c, const char *region)
{
	struct forward f;
	struct sigaction sa;
	const char *pod = NULL;
	json_t *node;
	int rc = 1, listening = 0;

	memset(&f, 0, sizeof(f));
	for (int i = 1; i < c->nargs; i++) {
		const char *a = c->args[i];

		if (strncmp(a, "--address=", 10) == 0 || strcmp(a, "--address") == 0) {
			const char *v = a[9] == '=' ? a + 10 : (i + 1 < c->nargs ? c->args[++i] : "");

			if (strcmp(v, "localhost") != 0 && strcmp(v, "127.0.0.1") != 0)
				return kd_fail(1, "error: the double listens on 127.0.0.1 only, not '%s'", v);
		} else if (a[0] == '-') {
			continue; /* --pod-running-timeout and the like */
		} else if (!pod) {
			pod = a;
		} else if (f.nports == MAX_PORTS || parse_spec(a, &f.local[f.nports], &f.remote[f.nports]) != 0) {
			return kd_fail(1, "error: Error parsing local port '%s': invalid port spec", a);
		} else {
			f.nports++;
		}
	}
	if (!pod || !f.nports)
		return kd_fail(1, "error: TYPE/NAME and list of ports are required for port-forward");
	if (strncmp(pod, "pod/", 4) == 0 || strncmp(pod, "pods/", 5) == 0)
		pod = strchr(pod, '/') + 1;
	else if (strchr(pod, '/'))
		return kd_fail(1, "error: the double forwards to pods only, not '%s'", pod);
	node = kd_node_by_pod(region, pod);
	if (kd_check(c, "get", "pods", "", NULL, pod))
		return 1;
	if (!node || !kd_pod_exists(node))
		return kd_not_found("pods", pod);
	if (!kd_pod_running(node)) {
		json_t *p = kd_pod_json(node, c->ns);

		rc = kd_fail(1, "error: unable to forward port because pod is not running. Current status=%s",
			     json_string_value(json_object_get(json_object_get(p, "status"), "phase")));
		json_decref(p);
		return rc;
	}
	/* kubectl asks for the upgrade to the pod's portforward subresource. */
	if (kd_denied("create", "pods", "", "portforward"))
		return kd_fail(1, "error: error upgrading connection: pods \"%s\" is forbidden: User \"%s\" cannot create "
			       "resource \"pods/portforward\" in API group \"\" in the namespace \"%s\"", pod,
			       getenv("KUBECTL_DOUBLE_USER") && *getenv("KUBECTL_DOUBLE_USER") ? getenv("KUBECTL_DOUBLE_USER")
											       : "drill", c->ns);
	if (node_address(&f.addr, node) != 0)
		return kd_fail(1, "error: the double cannot read node %lld's address",
			       (long long)json_integer_value(json_object_get(node, "id")));
	f.node_id = json_integer_value(json_object_get(node, "id"));
	f.pid = (pid_t)json_integer_value(json_object_get(node, "pid"));
	f.uid = kd_pod_uid(node);
	f.pod = xstrdup(pod);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < f.nports; i++) {
		f.lfd[i] = -1;
		if (listen_on(&f, i) == 0)
			listening++;
	}
	if (!listening) {
		struct strbuf sb = STRBUF_INIT;

		for (int i = 0; i < f.nports; i++)
			strbuf_addf(&sb, "%s{%d %d}", i ? " " : "", f.local[i], f.remote[i]);
		rc = kd_fail(1, "error: unable to listen on any of the requested ports: [%s]", strbuf_str(&sb));
		strbuf_release(&sb);
		goto out;
	}
	rc = relay(&f);
out:
	for (int i = 0; i < f.nconns; i++)
		conn_close(f.conns[i]);
	for (int i = 0; i < f.nports; i++)
		if (f.lfd[i] > 0)
			close(f.lfd[i]);
	free(f.uid);
	free(f.pod);
	return rc;
}
