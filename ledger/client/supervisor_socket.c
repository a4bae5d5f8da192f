/* The supervisor socket exchange (ledger/client/supervisor_socket.h). */
#include "ledger/client/supervisor_socket.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"

#define ANSWER_MAX (16u << 20)

int supervisor_socket_addr(struct sockaddr_un *out, const char *path, struct dr_error *err)
{
	memset(out, 0, sizeof(*out));
	out->sun_family = AF_UNIX;
	if (str_copy(out->sun_path, sizeof(out->sun_path), path) != 0)
		return dr_error_set(err, "socket path '%s' is longer than %zu bytes", path,
				    sizeof(out->sun_path) - 1);
	return 0;
}

static int connect_socket(int *out, const char *path, struct dr_error *err)
{
	struct sockaddr_un sa;
	int fd;

	if (supervisor_socket_addr(&sa, path, err) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return dr_error_errno(err, errno, "cannot create a unix socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return dr_error_errno(err, e, "no supervisor answers on '%s' (is the cluster up?)",
					      path);
		return dr_error_errno(err, e, "cannot connect to '%s'", path);
	}
	*out = fd;
	return 0;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left = deadline - clock_mono_ns();

	if (left <= 0)
		return 0;
	return poll(&pfd, 1, (int)(left / NS_PER_MS) + 1);
}

int supervisor_socket_request(json_t **out, const char *path, const json_t *request,
			   int64_t timeout_ns, struct dr_error *err)
{
	char *line = json_dumps(request, JSON_COMPACT);
	struct strbuf sb = STRBUF_INIT;
	int64_t deadline = clock_mono_ns() + timeout_ns;
	const char *cmd = json_string_value(json_object_get(request, "cmd"));
	size_t off = 0, len;
	json_error_t jerr;
	int fd = -1, rc = -1;

	*out = NULL;
	if (!line) {
		dr_error_set(err, "request is not serializable");
		goto out;
	}
	len = strlen(line);
	line[len++] = '\n'; /* json_dumps left room: replace the NUL, send len bytes */
	if (connect_socket(&fd, path, err) != 0)
		goto out;
	while (off < len) {
		ssize_t n;

		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			dr_error_set(err, "supervisor '%s' did not take the request in time", path);
			goto out;
		}
		/* MSG_NOSIGNAL: a supervisor that went away is an error, not a
		 * SIGPIPE that kills the drill runner */
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dr_error_errno(err, errno, "cannot send to '%s'", path);
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		char chunk[8192];
		ssize_t n;
		int w = wait_fd(fd, POLLIN, deadline);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			/* The request is in the socket: a supervisor that was only
			 * slow or paused still runs it when it wakes up. */
			dr_error_set(err, "supervisor '%s' did not answer '%s' within %lld ms; the "
				     "command was sent and may still run when the supervisor "
				     "answers again (check 'drillrig cluster status')", path,
				     cmd ? cmd : "?", (long long)(timeout_ns / NS_PER_MS));
			goto out;
		}
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dr_error_errno(err, errno, "cannot read from '%s'", path);
			goto out;
		}
		if (n == 0 || sb.len + (size_t)n > ANSWER_MAX)
			break;
		strbuf_add(&sb, chunk, (size_t)n);
		if (memchr(chunk, '\n', (size_t)n))
			break;
	}
	*out = json_loadb(sb.buf ? sb.buf : "", sb.len, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!json_is_object(*out)) {
		dr_error_set(err, "supervisor '%s' gave no JSON answer to '%s'%s", path,
			     cmd ? cmd : "?", sb.len ? "" : " (connection closed)");
		json_decref(*out);
		*out = NULL;
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	strbuf_release(&sb);
	return rc;
}
