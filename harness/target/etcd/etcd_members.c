#include "harness/target/etcd/etcd_members.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"

#define SUPERVISE_NS (5 * NS_PER_MS)

void etcd_cluster_init(struct etcd_cluster *c)
{
	pthread_mutex_init(&c->lock, NULL);
	atomic_store(&c->stop, 0);
	snprintf(c->token, sizeof(c->token), "drillrig-%ld-%lld", (long)getpid(),
		 (long long)(clock_wall_ns() / NS_PER_MS));
}

static char *initial_cluster(const struct etcd_cluster *c)
{
	struct strbuf sb = STRBUF_INIT;

	for (int i = 0; i < c->n; i++)
		strbuf_addf(&sb, "%s%s=http://%s:%d", i ? "," : "", c->m[i].name, c->m[i].ip,
			    c->m[i].peer_port);
	return strbuf_detach(&sb);
}

/* Caller holds the lock.  A restarted member finds its data directory and
 * ignores the --initial-cluster flags, as etcd documents. */
static int spawn_member(struct etcd_cluster *c, struct etcd_member *m, struct dr_error *err)
{
	struct proc_spawn_opts so = PROC_SPAWN_OPTS_INIT;
	char *data = xasprintf("%s/%s", c->dir, m->name);
	char *log = xasprintf("%s/%s.log", c->dir, m->name);
	char *peer = xasprintf("http://%s:%d", m->ip, m->peer_port);
	char *client = xasprintf("http://%s:%d", m->ip, m->client_port);
	char *cluster = initial_cluster(c);
	char hb[16], el[16];
	int rc;

	snprintf(hb, sizeof(hb), "%d", c->heartbeat_ms);
	snprintf(el, sizeof(el), "%d", m->election_ms);
	{
		char *const argv[] = {
			c->etcd_bin, "--name", m->name, "--data-dir", data,
			"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
			"--listen-client-urls", client, "--advertise-client-urls", client,
			"--initial-cluster", cluster, "--initial-cluster-state", "new",
			"--initial-cluster-token", c->token,
			"--heartbeat-interval", hb, "--election-timeout", el,
			"--logger", "zap", "--log-outputs", "stderr", "--log-level", "warn",
			NULL
		};

		so.stdout_path = log;
		so.stderr_path = log;
		rc = proc_spawn(&m->pid, argv, &so, err);
		m->started_ns = clock_mono_ns();
	}
	if (rc != 0)
		dr_error_wrap(err, "cannot start etcd member %s", m->name);
	free(data);
	free(log);
	free(peer);
	free(client);
	free(cluster);
	return rc;
}

/* Reap exited members and restart the wanted ones.  Caller holds the lock. */
static void supervise_once(struct etcd_cluster *c)
{
	for (int i = 0; i < c->n; i++) {
		struct etcd_member *m = &c->m[i];
		int status = 0;

		if (m->pid > 0 && proc_wait(m->pid, &status, WNOHANG) == m->pid) {
			int64_t now = clock_mono_ns();

			m->pid = 0;
			m->paused = 0;
			m->last_status = status;
			/* A kill of a healthy member is restarted at once; a member
			 * that cannot stay up must not become a spawn storm. */
			if (now - m->started_ns < NS_PER_SEC) {
				m->backoff_ns = m->backoff_ns ? m->backoff_ns * 2 : 100 * NS_PER_MS;
				if (m->backoff_ns > 5 * NS_PER_SEC)
					m->backoff_ns = 5 * NS_PER_SEC;
				m->restart_due_ns = now + m->backoff_ns;
			} else {
				m->backoff_ns = 0;
				m->restart_due_ns = 0;
			}
		}
		if (m->pid == 0 && m->wanted && !atomic_load(&c->stop) &&
		    clock_mono_ns() >= m->restart_due_ns) {
			struct dr_error err = DR_ERROR_INIT;

			if (spawn_member(c, m, &err) == 0)
				m->restarts++;
			else
				m->pid = 0;
		}
	}
}

static void *supervisor_main(void *arg)
{
	struct etcd_cluster *c = arg;

	while (!atomic_load(&c->stop)) {
		pthread_mutex_lock(&c->lock);
		supervise_once(c);
		pthread_mutex_unlock(&c->lock);
		clock_sleep_ns(SUPERVISE_NS);
	}
	return NULL;
}

int etcd_cluster_launch(struct etcd_cluster *c, struct dr_error *err)
{
	sigset_t all, old;
	int rc = 0;

	if (fs_mkdir_p(c->dir, err) != 0)
		return -1;
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->n && rc == 0; i++) {
		c->m[i].wanted = 1;
		rc = spawn_member(c, &c->m[i], err);
	}
	pthread_mutex_unlock(&c->lock);
	if (rc != 0)
		return -1;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	c->supervising = pthread_create(&c->supervisor, NULL, supervisor_main, c) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!c->supervising)
		return dr_error_set(err, "cannot start the etcd supervisor thread");
	return 0;
}

int etcd_member_signal(struct etcd_cluster *c, int idx, int sig, struct dr_error *err)
{
	struct etcd_member *m = &c->m[idx];
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (m->pid <= 0)
		rc = dr_error_set(err, "member %s is not running", m->name);
	else if (kill(m->pid, sig) != 0)
		rc = dr_error_errno(err, errno, "cannot signal member %s (pid %ld)", m->name, (long)m->pid);
	else if (sig == SIGKILL || sig == SIGTERM)
		m->paused = 0;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int etcd_member_stop(struct etcd_cluster *c, int idx, int sig, int64_t grace_ns,
		     struct dr_error *err)
{
	struct etcd_member *m = &c->m[idx];
	int64_t deadline = clock_mono_ns() + grace_ns, hard = deadline + 5 * NS_PER_SEC;
	int killed = sig == SIGKILL;

	pthread_mutex_lock(&c->lock);
	m->wanted = 0;
	if (m->pid > 0) {
		kill(m->pid, sig);
		if (m->paused)
			kill(m->pid, SIGCONT); /* a frozen process never handles TERM */
	}
	for (;;) {
		int status = 0;

		if (m->pid <= 0)
			break;
		if (proc_wait(m->pid, &status, WNOHANG) == m->pid) {
			m->pid = 0;
			m->paused = 0;
			m->last_status = status;
			break;
		}
		if (!killed && clock_mono_ns() >= deadline) {
			kill(m->pid, SIGKILL);
			killed = 1;
		}
		if (clock_mono_ns() >= hard) {
			pthread_mutex_unlock(&c->lock);
			return dr_error_set(err, "member %s (pid %ld) survived SIGKILL", m->name,
					    (long)m->pid);
		}
		pthread_mutex_unlock(&c->lock);
		clock_sleep_ns(2 * NS_PER_MS);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

int etcd_member_start(struct etcd_cluster *c, int idx, struct dr_error *err)
{
	struct etcd_member *m = &c->m[idx];
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	m->wanted = 1;
	m->backoff_ns = 0;
	m->restart_due_ns = 0;
	if (m->pid > 0 && m->paused) {
		kill(m->pid, SIGCONT);
		m->paused = 0;
	} else if (m->pid <= 0) {
		rc = spawn_member(c, m, err);
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int etcd_member_pause(struct etcd_cluster *c, int idx, int pause, struct dr_error *err)
{
	struct etcd_member *m = &c->m[idx];
	int rc = 0;

	pthread_mutex_lock(&c->lock);
	if (m->pid <= 0)
		rc = dr_error_set(err, "member %s is not running", m->name);
	else if (kill(-m->pid, pause ? SIGSTOP : SIGCONT) != 0 &&
		 kill(m->pid, pause ? SIGSTOP : SIGCONT) != 0)
		rc = dr_error_errno(err, errno, "cannot %s member %s", pause ? "pause" : "resume",
				    m->name);
	else
		m->paused = pause;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int etcd_member_running(struct etcd_cluster *c, int idx)
{
	int up;

	pthread_mutex_lock(&c->lock);
	up = c->m[idx].pid > 0;
	pthread_mutex_unlock(&c->lock);
	return up;
}

void etcd_cluster_shutdown(struct etcd_cluster *c)
{
	int64_t deadline = clock_mono_ns() + 5 * NS_PER_SEC;
	int left;

	atomic_store(&c->stop, 1);
	if (c->supervising) {
		pthread_join(c->supervisor, NULL);
		c->supervising = 0;
	}
	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->n; i++) {
		c->m[i].wanted = 0;
		if (c->m[i].pid > 0) {
			kill(c->m[i].pid, SIGTERM);
			if (c->m[i].paused)
				kill(c->m[i].pid, SIGCONT);
		}
	}
	do {
		left = 0;
		for (int i = 0; i < c->n; i++) {
			int status;

			if (c->m[i].pid <= 0)
				continue;
			if (proc_wait(c->m[i].pid, &status, WNOHANG) == c->m[i].pid) {
				c->m[i].pid = 0;
				continue;
			}
			left++;
			if (clock_mono_ns() >= deadline)
				kill(c->m[i].pid, SIGKILL);
		}
		if (left)
			clock_sleep_ns(5 * NS_PER_MS);
	} while (left && clock_mono_ns() < deadline + 5 * NS_PER_SEC);
	pthread_mutex_unlock(&c->lock);
}

char *etcd_member_log_tail(struct etcd_cluster *c, int idx, size_t max)
{
	struct dr_error err = DR_ERROR_INIT;
	char *path = xasprintf("%s/%s.log", c->dir, c->m[idx].name), *text = NULL, *tail;
	size_t len = 0;

	if (fs_read_file(&text, &len, path, 16u << 20, &err) != 0) {
		free(path);
		return xstrdup("(no log)");
	}
	free(path);
	tail = xstrdup(len > max ? text + len - max : text);
	free(text);
	return tail;
}

int etcd_cluster_pids(struct etcd_cluster *c, pid_t *pids, int max)
{
	int n = 0;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->n && n < max; i++)
		pids[n++] = c->m[i].pid;
	pthread_mutex_unlock(&c->lock);
	return n;
}
