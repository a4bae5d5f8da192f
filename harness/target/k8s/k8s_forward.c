#include "harness/target/k8s/k8s_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "harness/core/journal.h"

/* A reopen is tried this long after a forward died, doubling up to the
 * maximum while the pod stays away (a scaled-down region stays away for
 * the whole outage; a recreated pod is back within seconds). */
#define REOPEN_FIRST_NS (200 * NS_PER_MS)
#define REOPEN_MAX_NS (2 * NS_PER_SEC)
#define POLL_MS 100
#define LINE_MAX_BYTES 512

struct k8s_forward {
	const struct k8s_region *r;
	char pod[254];
	pid_t pid;             /* 0: not running */
	int out_fd, err_fd;    /* read ends of its stdout and stderr, -1 when closed */
	int port;              /* the local port; kept across reopens */
	int up;                /* listening: "Forwarding from" seen, not exited since */
	int64_t next_try_ns;   /* when down: the next reopen */
	int64_t backoff_ns;
	unsigned opens;        /* times it came up */
	char out_line[LINE_MAX_BYTES];
	size_t out_len;
	char last_error[LINE_MAX_BYTES]; /* kubectl's last stderr line */
	size_t err_len;
	char err_line[LINE_MAX_BYTES];
};

struct k8s_forwards {
	pthread_mutex_t lock;
	pthread_cond_t changed;   /* a forward came up or went down */
	struct k8s_forward *f;
	size_t n, alloc;
	pthread_t keeper;
	int keeper_running;
	atomic_int stopping;
	unsigned opened, lost;
};

/* Wait on c (a CLOCK_MONOTONIC condition, see forwards_of) at most ns. */
static void cond_wait_ns(pthread_cond_t *c, pthread_mutex_t *m, int64_t ns)
{
	int64_t at = clock_mono_ns() + ns;
	struct timespec ts = { (time_t)(at / NS_PER_SEC), (long)(at % NS_PER_SEC) };

	pthread_cond_timedwait(c, m, &ts);
}

int k8s_forward_parse_line(const char *line)
{
	static const char lead[] = "Forwarding from 127.0.0.1:";
	const char *p = strstr(line, lead);
	int64_t port;
	char digits[8];
	size_t n;

	if (!p)
		return 0;
	p += sizeof(lead) - 1;
	n = strspn(p, "0123456789");
	if (n == 0 || n >= sizeof(digits) || strncmp(p + n, " -> ", 4) != 0)
		return 0;
	memcpy(digits, p, n);
	digits[n] = '\0';
	if (parse_int64(&port, digits, 1, 65535) != 0)
		return 0;
	return (int)port;
}

static struct journal *journal_of(struct k8s_target *kt)
{
	struct journal *j;

	pthread_mutex_lock(&kt->lock);
	j = kt->journal;
	pthread_mutex_unlock(&kt->lock);
	return j;
}

static void fw_event(struct k8s_target *kt, const struct k8s_forward *f, const char *state,
		     const char *message)
{
	struct journal *j = journal_of(kt);
	json_t *ev;

	if (!j)
		return;
	ev = json_pack("{s:s,s:s,s:s,s:i}", "pod", f->pod, "region", f->r->name, "state", state,
		       "local_port", f->port);
	if (message && *message)
		json_object_set_new(ev, "message", json_string(message));
	journal_event_at(j, clock_mono_ns(), "port_forward", ev);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Start kubectl port-forward for f (lock held).  0, or -1 with f->last_error. */
static int fw_spawn(struct k8s_target *kt, struct k8s_forward *f)
{
	struct proc_spawn_opts o = PROC_SPAWN_OPTS_INIT;
	struct k8s_argv a = K8S_ARGV_INIT;
	struct dr_error err = DR_ERROR_INIT;
	int out[2], errp[2], rc;

	if (pipe2(out, O_CLOEXEC) != 0)
		return -1;
	if (pipe2(errp, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	k8s_cmd_port_forward(&a, kt->cfg, f->r, f->pod, f->port);
	o.stdout_fd = out[1];
	o.stderr_fd = errp[1];
	rc = proc_spawn(&f->pid, a.v, &o, &err);
	close(out[1]);
	close(errp[1]);
	k8s_argv_release(&a);
	if (rc != 0) {
		close(out[0]);
		close(errp[0]);
		f->pid = 0;
		str_copy(f->last_error, sizeof(f->last_error), err.msg);
		return -1;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(errp[0], F_SETFL, O_NONBLOCK);
	f->out_fd = out[0];
	f->err_fd = errp[0];
	f->out_len = f->err_len = 0;
	return 0;
}

static void fw_schedule(struct k8s_forward *f)
{
	f->backoff_ns = f->backoff_ns ? f->backoff_ns * 2 : REOPEN_FIRST_NS;
	if (f->backoff_ns > REOPEN_MAX_NS)
		f->backoff_ns = REOPEN_MAX_NS;
	f->next_try_ns = clock_mono_ns() + f->backoff_ns;
}

/* One complete line of kubectl's output (lock held). */
static void fw_line(struct k8s_target *kt, struct k8s_forwards *fs, struct k8s_forward *f,
		    const char *line, int is_err)
{
	int port;

	if (is_err) {
		if (line[strspn(line, " \t\r")])
			str_copy(f->last_error, sizeof(f->last_error), line);
		return;
	}
	port = k8s_forward_parse_line(line);
	if (!port || f->up)
		return; /* "Handling connection for N" and the [::1] line */
	f->port = port;
	f->up = 1;
	f->backoff_ns = 0;
	f->last_error[0] = '\0';
	fs->opened++;
	fw_event(kt, f, f->opens++ ? "reopened" : "open", NULL);
	pthread_cond_broadcast(&fs->changed);
}

static void fw_read(struct k8s_target *kt, struct k8s_forwards *fs, struct k8s_forward *f,
		    int is_err)
{
	int *fd = is_err ? &f->err_fd : &f->out_fd;
	char *buf = is_err ? f->err_line : f->out_line;
	size_t *len = is_err ? &f->err_len : &f->out_len;
	char chunk[1024];
	ssize_t n;

	while ((n = read(*fd, chunk, sizeof(chunk))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (chunk[i] == '\n') {
				buf[*len] = '\0';
				fw_line(kt, fs, f, buf, is_err);
				*len = 0;
			} else if (*len < LINE_MAX_BYTES - 1) {
				buf[(*len)++] = chunk[i];
			}
		}
	}
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		close_fd(fd);
}

/* Reap f when kubectl exited (lock held). */
static void fw_reap(struct k8s_target *kt, struct k8s_forwards *fs, struct k8s_forward *f)
{
	int status = 0;

	if (!f->pid || proc_wait(f->pid, &status, WNOHANG) == 0)
		return;
	/* Whatever it still printed explains why it ended. */
	if (f->err_fd >= 0)
		fw_read(kt, fs, f, 1);
	if (f->err_len) {
		f->err_line[f->err_len] = '\0';
		fw_line(kt, fs, f, f->err_line, 1);
		f->err_len = 0;
	}
	close_fd(&f->out_fd);
	close_fd(&f->err_fd);
	f->pid = 0;
	if (f->up) {
		fs->lost++;
		fw_event(kt, f, "lost", f->last_error);
	}
	f->up = 0;
	fw_schedule(f);
	pthread_cond_broadcast(&fs->changed);
}

static void *keeper_main(void *arg)
{
	struct k8s_target *kt = arg;
	struct k8s_forwards *fs = kt->forwards;
	struct pollfd *pfd = NULL;
	size_t cap = 0;

	while (!atomic_load(&fs->stopping)) {
		size_t np = 0;
		int64_t now;

		pthread_mutex_lock(&fs->lock);
		if (cap < fs->n * 2) {
			cap = fs->n * 2;
			pfd = xrealloc(pfd, cap * sizeof(*pfd));
		}
		for (size_t i = 0; i < fs->n; i++) {
			if (fs->f[i].out_fd >= 0)
				pfd[np++] = (struct pollfd){ fs->f[i].out_fd, POLLIN, 0 };
			if (fs->f[i].err_fd >= 0)
				pfd[np++] = (struct pollfd){ fs->f[i].err_fd, POLLIN, 0 };
		}
		pthread_mutex_unlock(&fs->lock);
		if (poll(pfd, np, POLL_MS) < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&fs->lock);
		now = clock_mono_ns();
		for (size_t i = 0; i < fs->n; i++) {
			struct k8s_forward *f = &fs->f[i];

			if (f->out_fd >= 0)
				fw_read(kt, fs, f, 0);
			if (f->err_fd >= 0)
				fw_read(kt, fs, f, 1);
			fw_reap(kt, fs, f);
			if (!f->pid && !atomic_load(&fs->stopping) && now >= f->next_try_ns &&
			    fw_spawn(kt, f) != 0)
				fw_schedule(f);
		}
		pthread_mutex_unlock(&fs->lock);
	}
	free(pfd);
	return NULL;
}

static struct k8s_forwards *forwards_of(struct k8s_target *kt)
{
	struct k8s_forwards *fs;

	pthread_mutex_lock(&kt->lock);
	if (!kt->forwards) {
		fs = xcalloc(1, sizeof(*fs));
		pthread_mutex_init(&fs->lock, NULL);
		pthread_condattr_t attr;

		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&fs->changed, &attr);
		pthread_condattr_destroy(&attr);
		atomic_init(&fs->stopping, 0);
		kt->forwards = fs;
	}
	fs = kt->forwards;
	pthread_mutex_unlock(&kt->lock);
	return fs;
}

/* The forward of pod in r, added (and spawned) when new (lock held). */
static struct k8s_forward *fw_find(struct k8s_target *kt, struct k8s_forwards *fs,
				   const struct k8s_region *r, const char *pod, int add)
{
	struct k8s_forward *f;

	for (size_t i = 0; i < fs->n; i++)
		if (fs->f[i].r == r && strcmp(fs->f[i].pod, pod) == 0)
			return &fs->f[i];
	if (!add)
		return NULL;
	if (fs->n == fs->alloc) {
		fs->alloc = fs->alloc ? fs->alloc * 2 : 8;
		fs->f = xrealloc(fs->f, fs->alloc * sizeof(*fs->f));
	}
	f = &fs->f[fs->n++];
	memset(f, 0, sizeof(*f));
	f->r = r;
	f->out_fd = f->err_fd = -1;
	str_copy(f->pod, sizeof(f->pod), pod);
	if (fw_spawn(kt, f) != 0)
		fw_schedule(f);
	return f;
}

static void start_keeper(struct k8s_target *kt, struct k8s_forwards *fs)
{
	if (!fs->keeper_running && pthread_create(&fs->keeper, NULL, keeper_main, kt) == 0)
		fs->keeper_running = 1;
}

int k8s_forwards_start(struct k8s_target *kt, struct journal *journal, int64_t timeout_ns,
		       struct dr_error *err)
{
	struct k8s_forwards *fs;
	struct strbuf why = STRBUF_INIT;
	int64_t deadline = clock_mono_ns() + timeout_ns;
	size_t up = 0;

	(void)journal;
	if (!k8s_config_uses_transport(kt->cfg, K8S_TRANSPORT_PORT_FORWARD))
		return 0;
	if (kt->dry_run) {
		fprintf(kt->out, "  open a port-forward to every ledger pod (kept open for the drill):\n");
		for (size_t i = 0; i < kt->cfg->nregions; i++) {
			const struct k8s_region *r = &kt->cfg->regions[i];

			if (r->transport != K8S_TRANSPORT_PORT_FORWARD)
				continue;
			for (int k = 0; k < r->replicas; k++) {
				struct k8s_argv a = K8S_ARGV_INIT;
				char pod[300], *d;

				snprintf(pod, sizeof(pod), "%s-%d", r->statefulset, k);
				k8s_cmd_port_forward(&a, kt->cfg, r, pod, 0);
				d = k8s_argv_display(&a);
				fprintf(kt->out, "  would run: %s\n", d);
				kt->dry_run_commands++;
				free(d);
				k8s_argv_release(&a);
			}
		}
		return 0;
	}
	fs = forwards_of(kt);
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < kt->cfg->nregions; i++) {
		const struct k8s_region *r = &kt->cfg->regions[i];

		if (r->transport != K8S_TRANSPORT_PORT_FORWARD)
			continue;
		for (int k = 0; k < r->replicas; k++) {
			char pod[300];

			snprintf(pod, sizeof(pod), "%s-%d", r->statefulset, k);
			fw_find(kt, fs, r, pod, 1);
		}
	}
	start_keeper(kt, fs);
	/* Every forward listening (or given up on) before the first fault. */
	for (;;) {
		size_t pending = 0;

		up = 0;
		for (size_t i = 0; i < fs->n; i++) {
			up += fs->f[i].up;
			pending += !fs->f[i].up && fs->f[i].pid;
		}
		if (pending == 0 || clock_mono_ns() >= deadline)
			break;
		cond_wait_ns(&fs->changed, &fs->lock, 100 * NS_PER_MS);
	}
	for (size_t i = 0; i < fs->n; i++)
		if (!fs->f[i].up)
			strbuf_addf(&why, "%s%s/%s: %s", why.len ? "; " : "", fs->f[i].r->context,
				    fs->f[i].pod, fs->f[i].last_error[0] ? fs->f[i].last_error
									 : "no answer from kubectl port-forward");
	pthread_mutex_unlock(&fs->lock);
	if (up == 0) {
		dr_error_set(err, "no kubectl port-forward to a ledger pod came up: %s", strbuf_str(&why));
		strbuf_release(&why);
		return -1;
	}
	if (why.len && journal)
		journal_note(journal, "port-forwards not up before the drill (retried in the background): %s",
			     strbuf_str(&why));
	strbuf_release(&why);
	return 0;
}

int k8s_forward_address(struct k8s_target *kt, const struct k8s_region *r, const char *pod,
			int64_t wait_ns, char *addr, size_t len, struct dr_error *err)
{
	struct k8s_forwards *fs = forwards_of(kt);
	int64_t deadline = clock_mono_ns() + wait_ns;
	struct k8s_forward *f;
	int rc = -1;

	pthread_mutex_lock(&fs->lock);
	f = fw_find(kt, fs, r, pod, !atomic_load(&fs->stopping));
	start_keeper(kt, fs);
	for (;;) {
		/* fw_find may have moved the array: look the forward up again. */
		f = fw_find(kt, fs, r, pod, 0);
		if (!f)
			break;
		if (f->up) {
			snprintf(addr, len, "127.0.0.1:%d", f->port);
			rc = 0;
			break;
		}
		/* Waiting helps only while a kubectl is starting: one that
		 * already failed (RBAC, no such pod) is retried by the keeper
		 * later, and the caller hears why now. */
		if (clock_mono_ns() >= deadline || atomic_load(&fs->stopping) ||
		    (!f->pid && f->last_error[0]))
			break;
		cond_wait_ns(&fs->changed, &fs->lock, 50 * NS_PER_MS);
	}
	if (rc != 0)
		dr_error_set(err, "the port-forward to pod %s in %s is down: %s", pod, r->context,
			     f && f->last_error[0] ? f->last_error : "kubectl port-forward has not started");
	pthread_mutex_unlock(&fs->lock);
	return rc;
}

int k8s_forward_port(struct k8s_target *kt, const struct k8s_region *r, const char *pod)
{
	struct k8s_forwards *fs = forwards_of(kt);
	struct k8s_forward *f;
	int port;

	pthread_mutex_lock(&fs->lock);
	f = fw_find(kt, fs, r, pod, 0);
	port = f ? f->port : 0;
	pthread_mutex_unlock(&fs->lock);
	return port;
}

void k8s_forwards_counts(struct k8s_target *kt, unsigned *opened, unsigned *lost)
{
	struct k8s_forwards *fs = forwards_of(kt);

	pthread_mutex_lock(&fs->lock);
	*opened = fs->opened;
	*lost = fs->lost;
	pthread_mutex_unlock(&fs->lock);
}

void k8s_forwards_stop(struct k8s_target *kt)
{
	struct k8s_forwards *fs;
	int64_t deadline;

	pthread_mutex_lock(&kt->lock);
	fs = kt->forwards;
	pthread_mutex_unlock(&kt->lock);
	if (!fs)
		return;
	atomic_store(&fs->stopping, 1);
	if (fs->keeper_running) {
		pthread_join(fs->keeper, NULL);
		fs->keeper_running = 0;
	}
	pthread_mutex_lock(&fs->lock);
	for (size_t i = 0; i < fs->n; i++)
		if (fs->f[i].pid)
			kill(-fs->f[i].pid, SIGTERM); /* its own process group (common/proc.h) */
	deadline = clock_mono_ns() + 2 * NS_PER_SEC;
	for (size_t i = 0; i < fs->n; i++) {
		struct k8s_forward *f = &fs->f[i];
		int status;

		while (f->pid && proc_wait(f->pid, &status, WNOHANG) == 0) {
			if (clock_mono_ns() >= deadline) {
				kill(-f->pid, SIGKILL);
				proc_wait(f->pid, &status, 0);
				break;
			}
			clock_sleep_ns(10 * NS_PER_MS);
		}
		f->pid = 0;
		f->up = 0;
		close_fd(&f->out_fd);
		close_fd(&f->err_fd);
	}
	pthread_mutex_unlock(&fs->lock);
}

void k8s_forwards_free(struct k8s_target *kt)
{
	struct k8s_forwards *fs = kt->forwards;

	if (!fs)
		return;
	k8s_forwards_stop(kt);
	pthread_cond_destroy(&fs->changed);
	pthread_mutex_destroy(&fs->lock);
	free(fs->f);
	free(fs);
	kt->forwards = NULL;
}
