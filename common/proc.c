/* Child processes, always from an argv array with posix_spawn, never a
 * shell and never a bare fork(): drillrig and ledgerd run gRPC core, whose
 * threads (executor, timers, pollers) do not survive a fork; a forked
 * child that touched gRPC, or even held one of its locks at the moment of
 * the fork, can deadlock (fork support is off in gRPC 1.51).  posix_spawn
 * goes straight to exec, so the child never runs our code. */
#include "common/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"

extern char **environ;

static int add_open(posix_spawn_file_actions_t *fa, int fd, const char *path,
		    int flags)
{
	return posix_spawn_file_actions_addopen(fa, fd, path, flags, 0644);
}

int proc_spawn(pid_t *out, char *const argv[],
	       const struct proc_spawn_opts *opts, struct dr_error *err)
{
	struct proc_spawn_opts defaults = PROC_SPAWN_OPTS_INIT;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	int rc;

	if (!opts)
		opts = &defaults;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	add_open(&fa, 0, opts->stdin_path ? opts->stdin_path : "/dev/null", O_RDONLY);
	if (opts->stdout_fd > 2)
		posix_spawn_file_actions_adddup2(&fa, opts->stdout_fd, 1);
	else if (opts->stdout_path)
		add_open(&fa, 1, opts->stdout_path, O_WRONLY | O_CREAT | O_APPEND);
	if (opts->stderr_fd > 2)
		posix_spawn_file_actions_adddup2(&fa, opts->stderr_fd, 2);
	else if (opts->stderr_path)
		add_open(&fa, 2, opts->stderr_path, O_WRONLY | O_CREAT | O_APPEND);
	if (opts->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, opts->cwd);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	if (opts->new_session) {
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID |
					 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	} else {
		posix_spawnattr_setpgroup(&attr, 0);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
					 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	}
	rc = posix_spawnp(out, argv[0], &fa, &attr, argv,
			  opts->envp ? opts->envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0)
		return dr_error_errno(err, rc, "cannot run '%s'", argv[0]);
	return 0;
}

pid_t proc_wait(pid_t pid, int *status, int flags)
{
	pid_t r;

	do {
		r = waitpid(pid, status, flags);
	} while (r < 0 && errno == EINTR);
	return r;
}

int proc_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

static void drain(int *fd, struct strbuf *sb, size_t max)
{
	char chunk[8192];
	ssize_t n = read(*fd, chunk, sizeof(chunk));

	if (n > 0) {
		if (sb->len < max)
			strbuf_add(sb, chunk, (size_t)n > max - sb->len ? max - sb->len : (size_t)n);
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(*fd);
		*fd = -1;
	}
}

/* Past the deadline: SIGTERM to the child's process group, SIGKILL 2 s
 * later if it is still there. */
static void enforce_deadline(pid_t pid, int64_t elapsed, int64_t timeout_ns, int64_t now,
			     int64_t *killed_at, struct proc_result *res)
{
	if (timeout_ns <= 0 || elapsed <= timeout_ns)
		return;
	if (!*killed_at) {
		kill(-pid, SIGTERM);
		*killed_at = now;
		res->timed_out = 1;
	} else if (now - *killed_at > 2 * NS_PER_SEC) {
		kill(-pid, SIGKILL);
	}
}

int proc_run(struct proc_result *res, char *const argv[], const char *stdin_data,
	     int64_t timeout_ns, size_t max_capture, struct dr_error *err)
{
	return proc_run_in(res, argv, stdin_data, timeout_ns, max_capture, NULL, NULL, err);
}

int proc_run_in(struct proc_result *res, char *const argv[], const char *stdin_data,
		int64_t timeout_ns, size_t max_capture, const char *cwd, char *const envp[],
		struct dr_error *err)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	struct strbuf out = STRBUF_INIT, errout = STRBUF_INIT;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	size_t in_len = stdin_data ? strlen(stdin_data) : 0, in_off = 0;
	int64_t start = clock_mono_ns(), killed_at = 0;
	int status = 0, rc;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (pipe2(outp, O_CLOEXEC) || pipe2(errp, O_CLOEXEC) ||
	    (stdin_data && pipe2(inp, O_CLOEXEC))) {
		rc = dr_error_errno(err, errno, "cannot create pipe");
		goto fail_pipes;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	if (stdin_data)
		posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
	else
		add_open(&fa, 0, "/dev/null", O_RDONLY);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
				 POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&pid, argv[0], &fa, &attr, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		struct stat st;

		/* posix_spawn reports a failed chdir as the program's error. */
		if (cwd && (stat(cwd, &st) != 0 || !S_ISDIR(st.st_mode)))
			rc = dr_error_set(err, "cannot run '%s' in '%s': not a directory", argv[0],
					  cwd);
		else
			rc = dr_error_errno(err, rc, "cannot run '%s'", argv[0]);
		goto fail_pipes;
	}
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	if (stdin_data) {
		close(inp[0]);
		inp[0] = -1;
		fcntl(inp[1], F_SETFL, O_NONBLOCK);
		if (in_len == 0) {
			close(inp[1]);
			inp[1] = -1;
		}
	}
	while (outp[0] >= 0 || errp[0] >= 0) {
		struct pollfd pfd[3];
		int n = 0, wait_ms = 100;
		int64_t now = clock_mono_ns();

		enforce_deadline(pid, now - start, timeout_ns, now, &killed_at, res);
		pfd[n].fd = outp[0]; pfd[n].events = POLLIN; n++;
		pfd[n].fd = errp[0]; pfd[n].events = POLLIN; n++;
		pfd[n].fd = inp[1]; pfd[n].events = POLLOUT; n++;
		if (poll(pfd, (nfds_t)n, wait_ms) < 0 && errno != EINTR)
			break;
		if (outp[0] >= 0 && (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(&outp[0], &out, max_capture);
		if (errp[0] >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			drain(&errp[0], &errout, max_capture);
		if (inp[1] >= 0 && (pfd[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(inp[1], stdin_data + in_off, in_len - in_off);

			if (w > 0)
				in_off += (size_t)w;
			if ((w < 0 && errno != EAGAIN && errno != EINTR) || in_off == in_len) {
				close(inp[1]);
				inp[1] = -1;
			}
		}
	}
	if (inp[1] >= 0)
		close(inp[1]);
	for (;;) {
		pid_t r = proc_wait(pid, &status, WNOHANG);
		int64_t now = clock_mono_ns();

		if (r != 0)
			break;
		enforce_deadline(pid, now - start, timeout_ns, now, &killed_at, res);
		clock_sleep_ns(5 * NS_PER_MS);
	}
	res->elapsed_ns = clock_mono_ns() - start;
	if (WIFEXITED(status)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->term_signal = WTERMSIG(status);
	}
	res->out = strbuf_detach(&out);
	res->errout = strbuf_detach(&errout);
	return 0;

fail_pipes:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0) close(outp[i]);
		if (errp[i] >= 0) close(errp[i]);
		if (inp[i] >= 0) close(inp[i]);
	}
	strbuf_release(&out);
	strbuf_release(&errout);
	return rc;
}

char **proc_env_with(char *const extra[])
{
	size_t n = 0, k = 0, nx = 0;
	char **env;

	while (environ[n])
		n++;
	while (extra && extra[nx])
		nx++;
	env = xcalloc(n + nx + 1, sizeof(*env));
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t name_len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		int overridden = 0;

		for (size_t j = 0; j < nx && !overridden; j++)
			overridden = strncmp(extra[j], environ[i], name_len) == 0 &&
				     extra[j][name_len] == '=';
		if (!overridden)
			env[k++] = xstrdup(environ[i]);
	}
	for (size_t j = 0; j < nx; j++)
		env[k++] = xstrdup(extra[j]);
	return env;
}

void proc_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

void proc_result_release(struct proc_result *res)
{
	free(res->out);
	free(res->errout);
	res->out = res->errout = NULL;
}

char *proc_argv_display(char *const argv[])
{
	struct strbuf sb = STRBUF_INIT;

	for (int i = 0; argv[i]; i++) {
		const char *a = argv[i];

		if (i)
			strbuf_addch(&sb, ' ');
		if (*a && !strpbrk(a, " \t\n'\"\\$`*?[]{}()<>|&;#~")) {
			strbuf_adds(&sb, a);
			continue;
		}
		strbuf_addch(&sb, '\'');
		for (; *a; a++) {
			if (*a == '\'')
				strbuf_adds(&sb, "'\\''");
			else
				strbuf_addch(&sb, *a);
		}
		strbuf_addch(&sb, '\'');
	}
	return strbuf_detach(&sb);
}
