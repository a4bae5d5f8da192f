/* cluster_up and cluster_down: starting a cluster under a detached
 * supervisor, and leaving nothing running afterwards. */
#include "ledger/cluster/cluster_state.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/proc.h"
#include "common/strbuf.h"

#define SUPERVISOR_START_NS (10 * NS_PER_SEC)
#define SHUTDOWN_NS (60 * NS_PER_SEC)
#define EXIT_WAIT_NS (10 * NS_PER_SEC)

/* 1 when /proc/<pid>/cmdline has an argument equal to arg: guards every
 * kill by pid against a pid reused by an unrelated process. */
static int pid_has_arg(pid_t pid, const char *arg)
{
	struct dr_error err = DR_ERROR_INIT;
	char path[64], *text = NULL;
	size_t len = 0;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	if (fs_read_file(&text, &len, path, 1 << 20, &err) != 0)
		return 0;
	for (size_t off = 0; off < len; off += strlen(text + off) + 1)
		if (strcmp(text + off, arg) == 0)
			found = 1;
	free(text);
	return found;
}

/* The last lines of a log, for error messages. */
static char *log_tail(const char *path, size_t max)
{
	struct dr_error err = DR_ERROR_INIT;
	char *text = NULL, *tail;
	size_t len = 0;

	if (fs_read_file(&text, &len, path, 64u << 20, &err) != 0)
		return xstrdup("(no log)");
	tail = xstrdup(len > max ? text + len - max : text);
	free(text);
	for (char *p = tail; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return tail;
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return 1;
	/* drill.lock: a drill takes its lock before it starts the cluster. */
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, "drill.lock"))
			empty = 0;
	closedir(d);
	return empty;
}

static int supervisor_alive(const struct cluster_state *st)
{
	return st->supervisor_pid > 0 && cluster_pid_running(st->supervisor_pid) &&
	       pid_has_arg(st->supervisor_pid, st->dir);
}

/* A cluster directory from an earlier, stopped cluster is reused: its
 * files are ours to remove.  Anything else that is not empty is refused. */
static int prepare_dir(const char *dir, struct dr_error *err)
{
	struct cluster_state old;
	char *state = cluster_path(dir, "cluster.json");
	int rc = -1;

	memset(&old, 0, sizeof(old));
	if (!fs_exists(state)) {
		if (!dir_is_empty(dir))
			dr_error_set(err, "'%s' is not empty and holds no cluster; use a new directory",
				     dir);
		else
			rc = 0;
		goto out;
	}
	if (cluster_state_load(&old, dir, err) != 0)
		goto out;
	if (supervisor_alive(&old)) {
		dr_error_set(err, "a cluster is already running in '%s' (supervisor pid %d); take it down first with `drillrig cluster down --cluster %s`",
			     dir, (int)old.supervisor_pid, dir);
		goto out;
	}
	/* Stray nodes of a cluster whose supervisor died: cluster_down. */
	for (int i = 0; i < old.nnodes; i++) {
		if (old.nodes[i].pid && cluster_pid_running(old.nodes[i].pid) &&
		    pid_has_arg(old.nodes[i].pid, old.nodes[i].data)) {
			dr_error_set(err, "node %d of an earlier cluster still runs in '%s' (pid %d); run `drillrig cluster down --cluster %s` first",
				     old.nodes[i].id, dir, (int)old.nodes[i].pid, dir);
			goto out;
		}
	}
	if (old.disk_limit_mb > 0 && cluster_disk_unmount_all(&old, err) != 0)
		goto out;
	for (int i = 0; i < old.nnodes; i++) {
		if (fs_remove_tree(old.nodes[i].data, err) != 0)
			goto out;
		unlink(old.nodes[i].log);
	}
	{
		const char *names[] = { "peers.json", "supervisor.sock", "supervisor.log",
					"restored", "cluster.json" };

		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			char *p = cluster_path(dir, names[i]);
			int r = fs_remove_tree(p, err);

			free(p);
			if (r != 0)
				goto out;
		}
	}
	rc = 0;
out:
	cluster_state_release(&old);
	free(state);
	return rc;
}

static int validate_spec(const struct cluster_spec *spec, struct dr_error *err)
{
	int total = 0;

	if (spec->nregions < 1)
		return dr_error_set(err, "the topology has no region");
	for (int i = 0; i < spec->nregions; i++) {
		if (spec->regions[i].size < 1)
			return dr_error_set(err, "region '%s' has no node", spec->regions[i].name);
		total += spec->regions[i].size;
	}
	if (total > CLUSTER_MAX_NODES)
		return dr_error_set(err, "the topology has %d nodes; at most %d", total,
				    CLUSTER_MAX_NODES);
	if (spec->heartbeat_ms < 1 || spec->election_timeout_ms < 2 * spec->heartbeat_ms)
		return dr_error_set(err, "timing %d/%d ms: the election timeout must be at least twice the heartbeat",
				    spec->election_timeout_ms, spec->heartbeat_ms);
	return 0;
}

static int wait_supervisor(const char *dir, pid_t pid, struct dr_error *err)
{
	int64_t deadline = clock_mono_ns() + SUPERVISOR_START_NS;
	char *log = cluster_path(dir, "supervisor.log");
	int rc = -1;

	for (;;) {
		struct dr_error e = DR_ERROR_INIT;
		json_t *req = json_pack("{s:s}", "cmd", "ping"), *answer = NULL;
		int r = cluster_request(&answer, dir, req, 2 * NS_PER_SEC, &e);

		json_decref(req);
		json_decref(answer);
		if (r == 0) {
			rc = 0;
			break;
		}
		if (!cluster_pid_running(pid)) {
			char *tail = log_tail(log, 600);

			dr_error_set(err, "the supervisor exited at start: %s", tail);
			free(tail);
			break;
		}
		if (clock_mono_ns() > deadline) {
			dr_error_set(err, "the supervisor did not answer within %lld s: %s",
				     (long long)(SUPERVISOR_START_NS / NS_PER_SEC), e.msg);
			break;
		}
		clock_sleep_ns(20 * NS_PER_MS);
	}
	free(log);
	return rc;
}

/* Start `drillrig cluster supervise` for the cluster in abs (its own
 * session: it outlives us and no terminal signal reaches it). */
static int start_supervisor(const char *abs, const char *drillrig, pid_t *pid,
			    struct dr_error *err)
{
	struct proc_spawn_opts opts = PROC_SPAWN_OPTS_INIT;
	char *log = cluster_path(abs, "supervisor.log");
	char *argv[] = { (char *)drillrig, (char *)"cluster", (char *)"supervise",
			 (char *)"--cluster", (char *)abs, NULL };
	int rc;

	opts.stdout_path = log;
	opts.stderr_path = log;
	opts.cwd = "/";
	opts.new_session = 1;
	rc = proc_spawn(pid, argv, &opts, err);
	if (rc != 0)
		dr_error_wrap(err, "cannot start the supervisor");
	free(log);
	return rc;
}

int cluster_up(const char *dir, const struct cluster_spec *spec, struct dr_error *err)
{
	struct cluster_state st;
	char *abs = NULL, *ledgerd = NULL, *drillrig = NULL, *sock = NULL;
	char real[PATH_MAX];
	int a, b, total = 0, spawned = 0, mounted = 0, rc = -1;
	pid_t pid = 0;

	memset(&st, 0, sizeof(st));
	if (validate_spec(spec, err) != 0 || fs_mkdir_p(dir, err) != 0)
		goto out;
	if (!realpath(dir, real)) {
		dr_error_errno(err, errno, "cannot resolve '%s'", dir);
		goto out;
	}
	abs = xstrdup(real);
	sock = cluster_path(abs, "supervisor.sock");
	if (strlen(sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		dr_error_set(err, "cluster directory '%s' is too long for a unix socket path; use a shorter one",
			     abs);
		goto out;
	}
	if (prepare_dir(abs, err) != 0)
		goto out;
	if (spec->ledgerd_path) {
		if (!realpath(spec->ledgerd_path, real) || access(real, X_OK) != 0) {
			dr_error_errno(err, errno, "cannot run ledgerd '%s'", spec->ledgerd_path);
			goto out;
		}
		ledgerd = xstrdup(real);
	} else if (cluster_find_ledgerd(&ledgerd, err) != 0) {
		goto out;
	}
	if (cluster_find_drillrig(&drillrig, err) != 0)
		goto out;
	for (int i = 0; i < spec->nregions; i++)
		total += spec->regions[i].size;
	if (cluster_net_pick(&a, &b, total, err) != 0)
		goto out;
	cluster_state_from_spec(&st, abs, spec, ledgerd, a, b);
	cluster_nft_forget_net(a, b);
	for (int i = 0; i < st.nnodes; i++)
		if (fs_mkdir_p(st.nodes[i].data, err) != 0)
			goto out;
	if (cluster_disk_mount_all(&st, spec->disk_limit_mb, err) != 0)
		goto out;
	mounted = spec->disk_limit_mb > 0;
	/* A new token for every new cluster: admin and debug calls need it. */
	if ((!spec->no_admin_token && cluster_token_create(abs, err) != 0) ||
	    cluster_state_write_peers(&st, err) != 0 ||
	    cluster_state_save(&st, err) != 0)
		goto out;
	if (start_supervisor(abs, drillrig, &pid, err) != 0)
		goto out;
	spawned = 1;
	if (wait_supervisor(abs, pid, err) != 0 ||
	    cluster_wait_ready(abs, spec->ready_timeout_ns > 0 ? spec->ready_timeout_ns
							       : 30 * NS_PER_SEC, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0 && spawned) {
		struct dr_error ignored = DR_ERROR_INIT;

		dr_error_wrap(err, "cluster in '%s' did not come up (logs: %s/n<id>.log, %s/supervisor.log)",
			      abs, abs, abs);
		cluster_down(abs, &ignored);
		/* the supervisor may not have cleaned up if it never started */
		if (cluster_pid_running(pid))
			kill(pid, SIGKILL);
		cluster_pid_running(pid);
	}
	if (rc != 0 && mounted && !spawned) {
		struct dr_error ignored = DR_ERROR_INIT;

		cluster_disk_unmount_all(&st, &ignored);
	}
	cluster_state_release(&st);
	free(abs);
	free(ledgerd);
	free(drillrig);
	free(sock);
	return rc;
}

/* Wait until none of pids runs any more; returns how many still do. */
static int wait_gone(const pid_t *pids, int count, int64_t timeout_ns)
{
	int64_t deadline = clock_mono_ns() + timeout_ns;
	int left;

	for (;;) {
		left = 0;
		for (int i = 0; i < count; i++)
			if (pids[i] > 0 && cluster_pid_running(pids[i]))
				left++;
		if (!left || clock_mono_ns() > deadline)
			return left;
		clock_sleep_ns(20 * NS_PER_MS);
	}
}

/* Signal the nodes of st that still run (a dead supervisor's orphans:
 * each pid's command line is checked, so a reused pid is never hit), with
 * SIGCONT too so a paused node acts on it; their pids go to pids. */
static int signal_strays(const struct cluster_state *st, int sig, pid_t *pids)
{
	int count = 0;

	for (int i = 0; i < st->nnodes; i++) {
		pid_t p = st->nodes[i].pid;

		if (p > 0 && cluster_pid_running(p) && pid_has_arg(p, st->nodes[i].data)) {
			kill(p, sig);
			kill(p, SIGCONT);
			pids[count++] = p;
		}
	}
	return count;
}

/* The saved state of the cluster in dir_arg, loaded under its absolute
 * path (dir, PATH_MAX bytes), which the supervisor's argv names. */
static int load_by_path(struct cluster_state *st, char *dir, const char *dir_arg,
			struct dr_error *err)
{
	if (!realpath(dir_arg, dir))
		return dr_error_errno(err, errno, "no cluster in '%s'", dir_arg);
	return cluster_state_load(st, dir, err);
}

int cluster_down(const char *dir_arg, struct dr_error *err)
{
	struct cluster_state st;
	pid_t pids[CLUSTER_MAX_NODES];
	char *restored = NULL, *restored_state = NULL, *sock = NULL;
	char dir[PATH_MAX];
	int count = 0, rc = -1;

	memset(&st, 0, sizeof(st));
	if (load_by_path(&st, dir, dir_arg, err) != 0)
		goto out;
	if (supervisor_alive(&st)) {
		struct dr_error e = DR_ERROR_INIT;
		json_t *req = json_pack("{s:s}", "cmd", "shutdown"), *answer = NULL;
		pid_t sup = st.supervisor_pid;

		/* The supervisor stops its nodes (and a restored cluster) before
		 * it answers; a SIGKILL is the fallback for a stuck one. */
		cluster_request(&answer, dir, req, SHUTDOWN_NS, &e);
		json_decref(req);
		json_decref(answer);
		if (wait_gone(&sup, 1, EXIT_WAIT_NS) > 0) {
			kill(sup, SIGCONT);
			kill(sup, SIGKILL);
			wait_gone(&sup, 1, EXIT_WAIT_NS);
		}
		cluster_state_release(&st);
		if (cluster_state_load(&st, dir, err) != 0)
			goto out;
	}
	/* Nodes a dead supervisor left behind. */
	count = signal_strays(&st, SIGKILL, pids);
	if (wait_gone(pids, count, EXIT_WAIT_NS) > 0) {
		dr_error_set(err, "node processes of '%s' survived SIGKILL", dir);
		goto out;
	}
	restored = cluster_path(dir, "restored");
	restored_state = cluster_path(restored, "cluster.json");
	if (fs_exists(restored_state) && cluster_down(restored, err) != 0) {
		dr_error_wrap(err, "restored cluster");
		goto out;
	}
	if (st.supervisor_pid || count) {
		for (int i = 0; i < st.nnodes; i++)
			st.nodes[i].pid = 0;
		st.supervisor_pid = 0;
		if (cluster_state_save(&st, err) != 0)
			goto out;
	}
	/* Nothing runs on them any more; their data goes with them. */
	if (st.disk_limit_mb > 0 && cluster_disk_unmount_all(&st, err) != 0)
		goto out;
	sock = cluster_path(dir, "supervisor.sock");
	unlink(sock);
	cluster_nft_forget_net(st.net_a, st.net_b);
	rc = 0;
out:
	cluster_state_release(&st);
	free(restored);
	free(restored_state);
	free(sock);
	return rc;
}

/* A supervisor that died (killed, the machine's OOM killer) leaves its
 * nodes running unsupervised: nothing restarts a crashed one and no
 * command reaches them.  `cluster up` on the directory would start a new
 * cluster and delete the data; this keeps it.  The orphaned nodes get
 * SIGTERM (a graceful stop: a leader hands over), SIGKILL after the wait,
 * and a new supervisor starts every node the saved state wants running,
 * on its own data, with the same ids and addresses. */
int cluster_attach(const char *dir_arg, int64_t ready_timeout_ns, struct dr_error *err)
{
	struct cluster_state st;
	pid_t pids[CLUSTER_MAX_NODES] = { 0 }, sup = 0;
	char dir[PATH_MAX];
	char *drillrig = NULL, *sock = NULL;
	int count = 0, rc = -1;

	memset(&st, 0, sizeof(st));
	if (load_by_path(&st, dir, dir_arg, err) != 0)
		goto out;
	if (supervisor_alive(&st)) {
		dr_error_set(err, "a supervisor already runs the cluster in '%s' (pid %d): nothing to attach",
			     dir, (int)st.supervisor_pid);
		goto out;
	}
	if (cluster_find_drillrig(&drillrig, err) != 0)
		goto out;
	count = signal_strays(&st, SIGTERM, pids);
	if (wait_gone(pids, count, EXIT_WAIT_NS) > 0) {
		for (int i = 0; i < count; i++)
			kill(pids[i], SIGKILL);
		if (wait_gone(pids, count, EXIT_WAIT_NS) > 0) {
			dr_error_set(err, "node processes of '%s' survived SIGKILL", dir);
			goto out;
		}
	}
	for (int i = 0; i < st.nnodes; i++)
		st.nodes[i].pid = 0;
	st.supervisor_pid = 0;
	if (cluster_state_save(&st, err) != 0)
		goto out;
	sock = cluster_path(dir, "supervisor.sock");
	unlink(sock);
	if (start_supervisor(dir, drillrig, &sup, err) != 0)
		goto out;
	if (wait_supervisor(dir, sup, err) != 0 ||
	    cluster_wait_ready(dir, ready_timeout_ns > 0 ? ready_timeout_ns : 30 * NS_PER_SEC,
			       err) != 0) {
		dr_error_wrap(err, "the cluster in '%s' did not come back (logs: %s/n<id>.log, %s/supervisor.log)",
			      dir, dir, dir);
		goto out;
	}
	rc = 0;
out:
	cluster_state_release(&st);
	free(drillrig);
	free(sock);
	return rc;
}
