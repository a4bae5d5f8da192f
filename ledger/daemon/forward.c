/* Relaying a call to the leader (ledger/daemon/forward.h). */
#include "ledger/daemon/forward.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/strbuf.h"

/* Wait for events on fd until deadline; 1 ready, 0 timed out, -1 error. */
static int wait_until(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int64_t left = deadline - clock_mono_ns();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)(left / NS_PER_MS) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		return 1;
	}
}

/* "host:port" or "[v6]:port" into its parts; -1 when it has no port. */
static int split_addr(char *host, size_t hlen, char *port, size_t plen, const char *addr)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t n;

	if (!colon || !colon[1])
		return -1;
	n = (size_t)(colon - addr);
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		h = addr + 1;
		n -= 2;
	}
	if (n == 0 || n >= hlen || strlen(colon + 1) >= plen)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	return str_copy(port, plen, colon + 1);
}

static int connect_bounded(const char *addr, int64_t deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[16];
	int fd = -1;

	if (split_addr(host, sizeof(host), port, sizeof(port), addr) != 0)
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		int soerr = 0;
		socklen_t slen = sizeof(soerr);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS && wait_until(fd, POLLOUT, deadline) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) == 0 && soerr == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n;

		if (wait_until(fd, POLLOUT, deadline) != 1)
			return -1;
		/* MSG_NOSIGNAL: a leader that went away is a failed relay, not a
		 * SIGPIPE that kills the node. */
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Everything until the leader closes (the request says Connection: close). */
static int read_all(struct strbuf *sb, int fd, int64_t deadline, size_t cap)
{
	for (;;) {
		char chunk[8192];
		ssize_t n;

		if (wait_until(fd, POLLIN, deadline) != 1)
			return -1;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (sb->len + (size_t)n > cap)
			return -1;
		strbuf_add(sb, chunk, (size_t)n);
	}
}

/* The status code and the body of an HTTP/1.x answer held in full.  Our
 * own server answers from a buffer (Content-Length, never chunked); a
 * chunked answer is refused rather than misread. */
static int parse_answer(int *status, const char **body, size_t *blen, const struct strbuf *sb)
{
	const char *text = sb->buf, *end_of_head, *h;
	char code[4];
	int64_t v;

	if (!text || sb->len < 12 || strncmp(text, "HTTP/1.", 7) != 0 || text[8] != ' ')
		return -1;
	memcpy(code, text + 9, 3);
	code[3] = '\0';
	if (parse_int64(&v, code, 100, 599) != 0)
		return -1;
	end_of_head = memmem(text, sb->len, "\r\n\r\n", 4);
	if (!end_of_head)
		return -1;
	for (h = strstr(text, "\r\n"); h && h < end_of_head; h = strstr(h + 2, "\r\n"))
		if (strncasecmp(h + 2, "Transfer-Encoding:", 18) == 0)
			return -1;
	*status = (int)v;
	*body = end_of_head + 4;
	*blen = sb->len - (size_t)(end_of_head + 4 - text);
	return 0;
}

int ledgerd_forward_post(int *status, json_t **body, const char *addr, const char *path,
			 const json_t *req, const char *auth, int64_t connect_timeout_ns,
			 int64_t timeout_ns, size_t max_body)
{
	int64_t start = clock_mono_ns();
	struct strbuf out = STRBUF_INIT, in = STRBUF_INIT;
	char *text = json_dumps(req, JSON_COMPACT);
	const char *answer;
	size_t alen;
	int fd = -1, rc = -1, code;

	*body = NULL;
	if (!text)
		goto out;
	fd = connect_bounded(addr, start + connect_timeout_ns);
	if (fd < 0)
		goto out;
	strbuf_addf(&out, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
		    "X-Ledger-Forwarded: 1\r\n", path, addr);
	if (auth)
		strbuf_addf(&out, "Authorization: %s\r\n", auth);
	strbuf_addf(&out, "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", strlen(text), text);
	if (send_all(fd, out.buf, out.len, start + timeout_ns) != 0 ||
	    read_all(&in, fd, start + timeout_ns, max_body + 4096) != 0 ||
	    parse_answer(&code, &answer, &alen, &in) != 0)
		goto out;
	*body = json_loadb(answer, alen, 0, NULL);
	if (!*body)
		goto out;
	*status = code;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&out);
	strbuf_release(&in);
	free(text);
	return rc;
}
