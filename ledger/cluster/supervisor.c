/* The supervisor's process management and its socket loop. */
#include "ledger/cluster/supervisor_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/client/supervisor_socket.h"

#define REQUEST_MAX (64 * 1024)
#define READ_TIMEOUT_MS 5000

static volatile sig_atomic_t got_signal;
/* SIGCHLD wakes the loop at once (self-pipe), so a killed node's restart
 * does not wait for the next poll timeout. */
static int wake_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	got_signal = sig;
}

static void on_child(int sig)
{
	int saved = errno;
	char c = 1;
	ssize_t ignored;

	(void)sig;
	ignored = write(wake_pipe[1], &c, 1); /* full pipe: a wake is pending anyway */
	(void)ignored;
	errno = saved;
}

static void drain_wakes(void)
{
	char buf[64];

	while (read(wake_pipe[0], buf, sizeof(buf)) > 0)
		;
}

void sv_log(const char *fmt, ...)
{
	char stamp[32];
	va_list ap;

	clock_format_utc(stamp, sizeof(stamp), clock_wall_ns());
	fprintf(stderr, "%s supervisor[%d]: ", stamp, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void sv_save(struct supervisor *sv)
{
	struct dr_error err = DR_ERROR_INIT;

	if (cluster_state_save(&sv->st, &err) != 0)
		sv_log("%s", err.msg);
}

int sv_node_wanted(struct supervisor *sv, const struct cluster_node *n)
{
	struct cluster_region *reg = cluster_state_region(&sv->st, n->region);

	return !sv->shutdown && !n->fenced && !n->stopped && reg &&
	       n->ordinal < reg->replicas;
}

static int dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

/* The environment for nodes: ours without proxy settings, because nodes
 * only ever talk to each other on loopback (a follower forwarding to its
 * leader through a proxy from the environment would fail). */
static char **node_env(void)
{
	extern char **environ;
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = xcalloc(n + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);

		if (len >= 6 && strncasecmp(environ[i] + len - 6, "_proxy", 6) == 0)
			continue;
		env[k++] = environ[i];
	}
	env[k] = NULL;
	return env;
}

int sv_node_start(struct supervisor *sv, struct cluster_node *n, struct dr_error *err)
{
	struct proc_spawn_opts opts = PROC_SPAWN_OPTS_INIT;
	char *peers = cluster_path(sv->st.dir, "peers.json");
	char *token = cluster_token_path(sv->st.dir);
	char id[16], election[16], heartbeat[16];
	const char *argv[40];
	char **env = NULL;
	int argc = 0, rc = -1;
	pid_t pid;

	if (fs_mkdir_p(n->data, err) != 0)
		goto out;
	snprintf(id, sizeof(id), "%d", n->id);
	snprintf(election, sizeof(election), "%d", sv->st.election_timeout_ms);
	snprintf(heartbeat, sizeof(heartbeat), "%d", sv->st.heartbeat_ms);
	argv[argc++] = sv->st.ledgerd;
	argv[argc++] = "--id"; argv[argc++] = id;
	argv[argc++] = "--data"; argv[argc++] = n->data;
	argv[argc++] = "--listen"; argv[argc++] = n->address;
	argv[argc++] = "--http"; argv[argc++] = n->http_address;
	argv[argc++] = "--raft"; argv[argc++] = n->raft_address;
	argv[argc++] = "--region"; argv[argc++] = n->region;
	argv[argc++] = "--role"; argv[argc++] = cluster_role_name(n->role);
	argv[argc++] = "--zone"; argv[argc++] = n->zone;
	argv[argc++] = "--peers"; argv[argc++] = peers;
	argv[argc++] = "--election-timeout"; argv[argc++] = election;
	argv[argc++] = "--heartbeat"; argv[argc++] = heartbeat;
	argv[argc++] = "--supervisor-socket"; argv[argc++] = sv->sock_path;
	/* A cluster made before admin tokens has no file: its nodes run open,
	 * as they always did (docs/security.md). */
	if (fs_exists(token)) {
		argv[argc++] = "--admin-token-file";
		argv[argc++] = token;
	}
	if (sv->st.enable_debug)
		argv[argc++] = "--enable-debug";
	/* A seed only makes sense for a node that has no state yet; a member
	 * re-added to a seeded cluster needs it too (the seed state is not in
	 * the Raft log). */
	if (sv->st.seed_snapshot && dir_empty(n->data)) {
		argv[argc++] = "--seed-snapshot";
		argv[argc++] = sv->st.seed_snapshot;
	}
	/* First start of a re-added member: no bootstrap, its log comes from
	 * the leader alone (ledgerd ignores the flag once it has state). */
	if (n->join)
		argv[argc++] = "--join";
	argv[argc] = NULL;
	opts.stdout_path = n->log;
	opts.stderr_path = n->log;
	env = node_env();
	opts.envp = env;
	if (proc_spawn(&pid, (char *const *)argv, &opts, err) != 0) {
		dr_error_wrap(err, "cannot start node %d", n->id);
		goto out;
	}
	n->pid = pid;
	n->paused = 0;
	n->started_ns = clock_mono_ns();
	n->restart_at_ns = 0;
	sv_log("node %d started (pid %d%s)", n->id, (int)pid, n->join ? ", joining" : "");
	rc = 0;
out:
	free(env);
	free(peers);
	free(token);
	return rc;
}

static void describe_exit(char *buf, size_t len, int status)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else
		snprintf(buf, len, "status %d", status);
}

static struct cluster_node *node_by_pid(struct supervisor *sv, pid_t pid)
{
	for (int i = 0; i < sv->st.nnodes; i++)
		if (sv->st.nodes[i].pid == pid)
			return &sv->st.nodes[i];
	return NULL;
}

/* Record an exit; a node that is still wanted is scheduled to restart like
 * a pod, with a back-off when it keeps dying soon after starting. */
static void node_exited(struct supervisor *sv, struct cluster_node *n, int status)
{
	int64_t now = clock_mono_ns(), delay = 0;

	describe_exit(n->last_exit, sizeof(n->last_exit), status);
	sv_log("node %d (pid %d) exited: %s", n->id, (int)n->pid, n->last_exit);
	n->pid = 0;
	n->paused = 0;
	if (!sv_node_wanted(sv, n))
		return;
	/* A kill the drill asked for is a deliberate fault, not a crash loop:
	 * the pod comes back at once, as a deleted pod does. */
	if (n->killed)
		n->crash_streak = 0;
	else if (now - n->started_ns < 5 * NS_PER_SEC)
		n->crash_streak++;
	else
		n->crash_streak = 0;
	n->killed = 0;
	if (n->crash_streak > 0) {
		delay = (200 * NS_PER_MS) << (n->crash_streak > 5 ? 5 : n->crash_streak - 1);
		if (delay > 5 * NS_PER_SEC)
			delay = 5 * NS_PER_SEC;
	}
	n->restarts++;
	n->restart_at_ns = now + delay + 1;
}

void sv_reconcile(struct supervisor *sv)
{
	int changed = 0, status;
	int64_t now;
	pid_t pid;

	while ((pid = proc_wait(-1, &status, WNOHANG)) > 0) {
		struct cluster_node *n = node_by_pid(sv, pid);

		if (n) {
			node_exited(sv, n, status);
			changed = 1;
		}
	}
	now = clock_mono_ns();
	for (int i = 0; i < sv->st.nnodes; i++) {
		struct cluster_node *n = &sv->st.nodes[i];
		struct dr_error err = DR_ERROR_INIT;

		if (n->pid || !sv_node_wanted(sv, n) || now < n->restart_at_ns)
			continue;
		if (sv_node_start(sv, n, &err) != 0) {
			sv_log("%s", err.msg);
			n->crash_streak++;
			n->restart_at_ns = now + 2 * NS_PER_SEC;
		}
		changed = 1;
	}
	if (changed)
		sv_save(sv);
}

void sv_nodes_stop(struct supervisor *sv, struct cluster_node **nodes, int count)
{
	sv_nodes_signal_stop(sv, nodes, count, SIGTERM);
}

void sv_nodes_signal_stop(struct supervisor *sv, struct cluster_node **nodes, int count, int sig)
{
	int64_t start = clock_mono_ns();
	int killed = sig == SIGKILL, left;

	for (int i = 0; i < count; i++) {
		if (!nodes[i]->pid)
			continue;
		kill(nodes[i]->pid, sig);
		kill(nodes[i]->pid, SIGCONT);
	}
	for (;;) {
		left = 0;
		for (int i = 0; i < count; i++) {
			struct cluster_node *n = nodes[i];
			int status = 0;
			pid_t r;

			if (!n->pid)
				continue;
			r = proc_wait(n->pid, &status, WNOHANG);
			if (r == n->pid || (r < 0 && errno == ECHILD)) {
				describe_exit(n->last_exit, sizeof(n->last_exit), status);
				sv_log("node %d (pid %d) stopped: %s", n->id, (int)n->pid,
				       n->last_exit);
				n->pid = 0;
				n->paused = 0;
				n->restart_at_ns = 0;
				n->crash_streak = 0;
				continue;
			}
			left++;
		}
		if (!left)
			break;
		/* A process stuck in the kernel survives even SIGKILL for a while:
		 * give up waiting; the reconcile loop reaps it when it goes. */
		if (killed && clock_mono_ns() - start > 2 * sv->stop_grace_ns) {
			for (int i = 0; i < count; i++)
				if (nodes[i]->pid)
					sv_log("node %d (pid %d) has not exited after SIGKILL",
					       nodes[i]->id, (int)nodes[i]->pid);
			break;
		}
		if (!killed && clock_mono_ns() - start > sv->stop_grace_ns) {
			for (int i = 0; i < count; i++) {
				if (nodes[i]->pid) {
					sv_log("node %d did not stop within the grace period: SIGKILL",
					       nodes[i]->id);
					kill(nodes[i]->pid, SIGKILL);
				}
			}
			killed = 1;
		}
		/* SIGCHLD wakes this at once: a scale-down stops its nodes one
		 * after another, and each wait adds to the drill's outage. */
		{
			struct pollfd pfd = { .fd = wake_pipe[0], .events = POLLIN };

			if (wake_pipe[0] < 0 || poll(&pfd, 1, 10) > 0)
				drain_wakes();
			if (wake_pipe[0] < 0)
				clock_sleep_ns(10 * NS_PER_MS);
		}
	}
	sv_save(sv);
}

static int by_ordinal_desc(const void *a, const void *b)
{
	const struct cluster_node *x = *(struct cluster_node *const *)a;
	const struct cluster_node *y = *(struct cluster_node *const *)b;

	if (x->ordinal != y->ordinal)
		return x->ordinal < y->ordinal ? 1 : -1;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

void sv_nodes_stop_in_order(struct supervisor *sv, struct cluster_node **nodes, int count)
{
	qsort(nodes, (size_t)count, sizeof(*nodes), by_ordinal_desc);
	for (int i = 0; i < count; i++) {
		if (!nodes[i]->pid)
			continue;
		sv_log("stopping node %d (ordinal %d of region '%s')%s", nodes[i]->id,
		       nodes[i]->ordinal, nodes[i]->region,
		       i + 1 < count ? "; the next waits until it exited" : "");
		sv_nodes_stop(sv, &nodes[i], 1);
	}
}

static int listen_socket(const char *path, struct dr_error *err)
{
	struct sockaddr_un sa;
	int fd;

	if (supervisor_socket_addr(&sa, path, err) != 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return dr_error_errno(err, errno, "cannot create a unix socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		dr_error_errno(err, errno, "cannot listen on '%s'", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Read one line (up to REQUEST_MAX) with a deadline; NULL on failure. */
static char *read_line(int fd)
{
	struct strbuf sb = STRBUF_INIT;
	int64_t deadline = clock_mono_ns() + READ_TIMEOUT_MS * NS_PER_MS;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char chunk[4096];
		ssize_t got;
		int64_t left = deadline - clock_mono_ns();

		if (left <= 0 || sb.len > REQUEST_MAX)
			break;
		if (poll(&pfd, 1, (int)(left / NS_PER_MS) + 1) <= 0)
			continue;
		got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			if (sb.len)
				return strbuf_detach(&sb); /* last line without '\n' */
			break;
		}
		strbuf_add(&sb, chunk, (size_t)got);
		if (memchr(chunk, '\n', (size_t)got)) {
			*strchr(sb.buf, '\n') = '\0';
			return strbuf_detach(&sb);
		}
	}
	strbuf_release(&sb);
	return NULL;
}

static void write_all(int fd, const char *data, size_t len)
{
	int64_t deadline = clock_mono_ns() + READ_TIMEOUT_MS * NS_PER_MS;

	while (len > 0 && clock_mono_ns() < deadline) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				poll(&pfd, 1, 100);
				continue;
			}
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

static void serve_one(struct supervisor *sv, int fd)
{
	char *line = read_line(fd), *text;
	json_t *req = NULL, *answer;
	json_error_t jerr;

	if (!line) {
		answer = sv_error("no request line within %d ms (or over %d bytes)",
				  READ_TIMEOUT_MS, REQUEST_MAX);
	} else if (!(req = json_loads(line, 0, &jerr))) {
		answer = sv_error("request is not JSON: %s", jerr.text);
	} else {
		answer = sv_handle(sv, req);
	}
	text = json_dumps(answer, JSON_COMPACT);
	write_all(fd, text, strlen(text));
	write_all(fd, "\n", 1);
	free(text);
	json_decref(answer);
	json_decref(req);
	free(line);
}

/* A promotion requested by a node (ForceLeaderElection) is answered
 * first and carried out afterwards: it stops that very node, which could
 * not relay a late answer. */
static void run_deferred(struct supervisor *sv)
{
	json_t *req = sv->deferred, *answer;
	char *text;

	if (!req)
		return;
	sv->deferred = NULL;
	answer = sv_handle(sv, req);
	text = json_dumps(answer, JSON_COMPACT);
	sv_log("deferred request done: %s", text ? text : "?");
	free(text);
	json_decref(answer);
	json_decref(req);
}

void sv_shutdown_all(struct supervisor *sv)
{
	struct cluster_node *all[CLUSTER_MAX_NODES];
	int count = 0;

	sv->shutdown = 1;
	for (int i = 0; i < sv->st.nnodes; i++)
		all[count++] = &sv->st.nodes[i];
	sv_nodes_stop(sv, all, count);
	sv_restore_down(sv);
}

int supervisor_run(const char *dir, struct dr_error *err)
{
	struct supervisor sv;
	struct sigaction sa;
	int rc = -1;

	/* Descriptors the launching process leaked to us (a test harness's
	 * pipe, a drill runner's sockets) must not live as long as we do. */
	close_range(3, ~0U, 0);
	memset(&sv, 0, sizeof(sv));
	sv.listen_fd = -1;
	sv.stop_grace_ns = 5 * NS_PER_SEC;
	if (cluster_state_load(&sv.st, dir, err) != 0)
		goto out;
	sv.sock_path = cluster_path(dir, "supervisor.sock");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		dr_error_errno(err, errno, "cannot create a pipe");
		goto out;
	}
	sa.sa_handler = on_child;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* The socket exists before any node starts: a node may forward to it. */
	sv.listen_fd = listen_socket(sv.sock_path, err);
	if (sv.listen_fd < 0)
		goto out;
	sv.st.supervisor_pid = getpid();
	for (int i = 0; i < sv.st.nnodes; i++) {
		sv.st.nodes[i].pid = 0; /* pids of a previous supervisor are not ours */
		sv.st.nodes[i].paused = 0;
	}
	sv_log("supervising %d nodes in '%s' (cluster %s)", sv.st.nnodes, dir,
	       sv.st.cluster_id);
	sv_save(&sv);
	while (!sv.shutdown) {
		struct pollfd pfd[2] = { { .fd = sv.listen_fd, .events = POLLIN },
					 { .fd = wake_pipe[0], .events = POLLIN } };

		if (got_signal) {
			sv_log("signal %d: shutting down", (int)got_signal);
			break;
		}
		drain_wakes();
		sv_reconcile(&sv);
		/* the timeout paces back-off restarts and signal checks */
		if (poll(pfd, 2, 50) > 0 && (pfd[0].revents & POLLIN)) {
			int fd = accept4(sv.listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				serve_one(&sv, fd);
				close(fd);
			}
			run_deferred(&sv);
		}
	}
	sv_shutdown_all(&sv);
	sv_log("all nodes stopped; exiting");
	rc = 0;
out:
	if (sv.listen_fd >= 0) {
		close(sv.listen_fd);
		unlink(sv.sock_path);
	}
	signal(SIGCHLD, SIG_DFL);
	for (int i = 0; i < 2; i++) {
		if (wake_pipe[i] >= 0)
			close(wake_pipe[i]);
		wake_pipe[i] = -1;
	}
	if (sv.st.dir) {
		sv.st.supervisor_pid = 0;
		if (rc == 0)
			sv_save(&sv);
	}
	free(sv.sock_path);
	json_decref(sv.deferred);
	cluster_state_release(&sv.st);
	return rc;
}
