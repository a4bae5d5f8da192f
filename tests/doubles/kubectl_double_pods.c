/* Pods: a ledger node's pod, its identity across deletions, how the API
 * server prints it, and `delete pod`.
 *
 * A pod is the node of its ordinal; deleting it makes a new pod of the same
 * name (the StatefulSet recreates it) with a new metadata.uid.  What the
 * cluster does not know is kept in DIR/k8s-double-pods.json, per node id:
 *   gen        how many times the pod was deleted (the uid derives from it)
 *   base       the supervisor's restart count when this pod was created
 *              (restartCount counts the container's restarts since)
 *   created    its creationTimestamp (ns)
 *   term       a graceful delete in progress: the old pod's pid, uid, base
 *              and deletionTimestamp; shown until that process exited
 *   recreate   a force-deleted pod waiting to be recreated (Pending)
 *   failing    its container is held down (Chaos Mesh pod-failure) */
#include "tests/doubles/kubectl_double.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/proc.h"
#include "common/strbuf.h"
#include "ledger/client/supervisor_socket.h"
#include "ledger/cluster/cluster.h"

static const char *image(void)
{
	const char *v = getenv("KUBECTL_DOUBLE_IMAGE");

	return v && *v ? v : "inferadb/ledger:latest";
}

/* The node's record in pods (borrowed; created empty when missing). */
static json_t *record_in(json_t *pods, json_t *node)
{
	char key[32];
	json_t *r;

	snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(json_object_get(node, "id")));
	r = json_object_get(pods, key);
	if (!r) {
		r = json_object();
		json_object_set_new(pods, key, r);
	}
	return r;
}

/* A copy of the node's record (caller owns). */
static json_t *record(json_t *node)
{
	json_t *pods = kd_load_state("pods.json");
	json_t *r = json_incref(record_in(pods, node));

	json_decref(pods);
	return r;
}

static pid_t node_pid(json_t *node)
{
	return (pid_t)json_integer_value(json_object_get(node, "pid"));
}

static int node_process(json_t *node, const char *state)
{
	const char *p = json_string_value(json_object_get(node, "process"));

	return p && strcmp(p, state) == 0;
}

/* The supervisor keeps the node's process (or restarts it): the pod is
 * there, whatever its container does. */
static int node_has_pod(json_t *node)
{
	return !node_process(node, "scaled-down") && !node_process(node, "stopped") &&
	       !json_is_true(json_object_get(node, "stopped"));
}

static int flagged(json_t *node, const char *flag)
{
	json_t *r = record(node);
	int yes = json_object_get(r, flag) != NULL;

	json_decref(r);
	return yes;
}

int kd_pod_exists(json_t *node)
{
	return node_has_pod(node) ||
	       (!node_process(node, "scaled-down") && (flagged(node, "recreate") || flagged(node, "failing")));
}

int kd_pod_running(json_t *node)
{
	pid_t pid = node_pid(node);

	return node_has_pod(node) && (node_process(node, "running") || node_process(node, "paused")) &&
	       pid > 0 && proc_alive(pid);
}

int kd_pod_terminating(json_t *node)
{
	json_t *r = record(node);
	json_t *term = json_object_get(r, "term");
	pid_t pid = (pid_t)json_integer_value(json_object_get(term, "pid"));
	int yes = term && pid > 0 && pid == node_pid(node) && proc_alive(pid);

	json_decref(r);
	return yes;
}

int kd_pod_ready(json_t *node)
{
	json_t *ans = NULL;
	enum ledger_code code;
	int ok;

	if (!kd_pod_running(node) || !node_process(node, "running") || kd_pod_terminating(node))
		return 0;
	ok = kd_node_call(node, "grpc.health.v1.Health/Check", NULL, &ans, &code, 300) == 0 &&
	     code == LEDGER_OK;
	json_decref(ans);
	return ok;
}

static char *uid_of(long long gen, json_t *node)
{
	return kd_uid(json_string_value(json_object_get(kd_cluster, "cluster_id")) ?: "",
		      (long long)json_integer_value(json_object_get(node, "id")), gen);
}

char *kd_pod_uid(json_t *node)
{
	json_t *r = record(node);
	char *uid;

	if (kd_pod_terminating(node))
		uid = xstrdup(json_string_value(json_object_get(json_object_get(r, "term"), "uid")) ?: "");
	else
		uid = uid_of(json_integer_value(json_object_get(r, "gen")), node);
	json_decref(r);
	return uid;
}

/* When the process started, from /proc (0 when unknown): a container's
 * startedAt, and the creationTimestamp of a pod the double never saw made. */
static int64_t started_ns(pid_t pid)
{
	char path[64], *buf = NULL, *p, *line;
	long long ticks = 0, btime = 0;
	FILE *f;
	size_t cap = 0;
	int field;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (getline(&buf, &cap, f) > 0 && (p = strrchr(buf, ')')) != NULL) {
		/* Field 22 is starttime; p + 2 is field 3. */
		for (field = 3, p += 2; field < 22 && p; field++) {
			p = strchr(p, ' ');
			if (p)
				p++;
		}
		if (p)
			ticks = strtoll(p, NULL, 10);
	}
	fclose(f);
	f = fopen("/proc/stat", "r");
	while (f && getline(&buf, &cap, f) > 0) {
		line = buf;
		if (strncmp(line, "btime ", 6) == 0)
			btime = strtoll(line + 6, NULL, 10);
	}
	if (f)
		fclose(f);
	free(buf);
	if (!btime || !ticks)
		return 0;
	return (int64_t)btime * NS_PER_SEC + ticks * NS_PER_SEC / sysconf(_SC_CLK_TCK);
}

/* "signal 9" / "exit 3" (the supervisor's last_exit) as a terminated state. */
static json_t *last_state(json_t *node)
{
	const char *e = json_string_value(json_object_get(node, "last_exit")) ?: "";
	long code;

	if (strncmp(e, "signal ", 7) == 0)
		code = 128 + strtol(e + 7, NULL, 10);
	else if (strncmp(e, "exit ", 5) == 0)
		code = strtol(e + 5, NULL, 10);
	else
		return json_object();
	return json_pack("{s:{s:i,s:s}}", "terminated", "exitCode", (int)code, "reason",
			 code == 0 ? "Completed" : "Error");
}

json_t *kd_pod_json(json_t *node, const char *ns)
{
	json_t *r = record(node), *term = json_object_get(r, "term");
	int terminating = kd_pod_terminating(node), running = kd_pod_running(node);
	int failing = json_object_get(r, "failing") != NULL;
	int pending = !node_has_pod(node) && !failing, ready = kd_pod_ready(node);
	long long base = json_integer_value(json_object_get(terminating ? term : r, "base"));
	long long restarts = json_integer_value(json_object_get(node, "restarts")) - base;
	int64_t created = json_integer_value(json_object_get(r, "created"));
	int64_t started = running ? started_ns(node_pid(node)) : 0;
	char *name = kd_pod_name(node), *kn = kd_k8s_node_name(node), *uid = kd_pod_uid(node);
	char *ord = xasprintf("%lld", (long long)json_integer_value(json_object_get(node, "ordinal")));
	char *created_s, *started_s = started ? kd_timestamp(started, 0) : NULL;
	json_t *p, *state, *cs;

	if (!created)
		created = started ? started : clock_wall_ns();
	created_s = kd_timestamp(created, 0);
	if (running)
		state = json_pack("{s:{s:s}}", "running", "startedAt", started_s ? started_s : created_s);
	else
		state = json_pack("{s:{s:s}}", "waiting", "reason", pending ? "ContainerCreating" : "CrashLoopBackOff");
	cs = json_pack("{s:s,s:s,s:b,s:b,s:I,s:o,s:o}", "name", "ledger", "image", image(), "ready", ready,
		       "started", running, "restartCount", (json_int_t)(restarts > 0 ? restarts : 0), "state", state,
		       "lastState", last_state(node));
	p = json_pack("{s:s,s:s,"
		      "s:{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:[{s:s,s:s,s:s,s:b}]},"
		      "s:{s:s,s:[{s:s,s:s,s:[{s:i,s:s,s:s}]}]},"
		      "s:{s:s,s:[{s:s,s:s}],s:[o]}}",
		      "apiVersion", "v1", "kind", "Pod",
		      "metadata", "name", name, "namespace", ns, "uid", uid, "creationTimestamp", created_s,
		      "labels", "app.kubernetes.io/name", kd_sts, "statefulset.kubernetes.io/pod-name", name,
		      "apps.kubernetes.io/pod-index", ord,
		      "ownerReferences", "apiVersion", "apps/v1", "kind", "StatefulSet", "name", kd_sts,
		      "controller", 1,
		      "spec", "nodeName", kn, "containers", "name", "ledger", "image", image(), "ports",
		      "containerPort", 50051, "name", "grpc", "protocol", "TCP",
		      "status", "phase", pending ? "Pending" : "Running", "conditions", "type", "Ready", "status",
		      ready ? "True" : "False", "containerStatuses", cs);
	if (terminating) {
		json_t *md = json_object_get(p, "metadata");
		char *at = kd_timestamp(json_integer_value(json_object_get(term, "at")), 0);

		json_object_set_new(md, "deletionTimestamp", json_string(at));
		json_object_set_new(md, "deletionGracePeriodSeconds", json_integer(30));
		free(at);
	}
	/* A Pending pod on a cordoned node (or not yet placed) has no node. */
	if (pending)
		json_object_del(json_object_get(p, "spec"), "nodeName");
	json_decref(r);
	free(name);
	free(kn);
	free(uid);
	free(ord);
	free(created_s);
	free(started_s);
	return p;
}

/* ---- delete --------------------------------------------------------------- */

/* SIGKILL the node's process and have the supervisor keep it down (a
 * force-deleted pod's container dies at once; its successor starts after
 * the recreate delay).  The supervisor restarts a process that dies while
 * it is wanted, so the stop must reach it before it reaps the dead one: the
 * connection is made first (it then serves that connection before its
 * reconcile loop runs again), the process killed, and only then the
 * request sent. */
static int kill_and_stop(json_t *node, struct dr_error *err)
{
	char *path = xasprintf("%s/supervisor.sock", kd_dir);
	char *line = xasprintf("{\"cmd\":\"stop\",\"node\":%lld}\n",
			       (long long)json_integer_value(json_object_get(node, "id")));
	struct sockaddr_un sa;
	struct strbuf ans = STRBUF_INIT;
	json_t *v = NULL;
	pid_t pid = node_pid(node);
	int fd = -1, rc = -1;
	size_t off = 0, len = strlen(line);

	if (supervisor_socket_addr(&sa, path, err) != 0)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		dr_error_set(err, "cannot reach the supervisor at '%s': %s", path, strerror(errno));
		goto out;
	}
	if (pid > 0 && kd_pod_running(node))
		kill(pid, SIGKILL);
	while (off < len) {
		ssize_t n = write(fd, line + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			dr_error_set(err, "cannot write to the supervisor: %s", strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		char buf[512];
		ssize_t n;

		if (poll(&pfd, 1, 30000) <= 0) {
			dr_error_set(err, "the supervisor did not answer the stop within 30 s");
			goto out;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		strbuf_add(&ans, buf, (size_t)n);
		if (memchr(buf, '\n', (size_t)n))
			break;
	}
	v = json_loads(strbuf_str(&ans), JSON_DISABLE_EOF_CHECK, NULL);
	if (!json_is_true(json_object_get(v, "ok"))) {
		dr_error_set(err, "the supervisor refused the stop: %s",
			     json_string_value(json_object_get(v, "error")) ?: strbuf_str(&ans));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	json_decref(v);
	strbuf_release(&ans);
	free(line);
	free(path);
	return rc;
}

/* The StatefulSet controller makes the successor: a detached process (the
 * double's own command returns at once, as kubectl does) waits the recreate
 * delay and starts the node, unless the pod was deleted again meanwhile. */
static void recreate_later(json_t *node, long long gen, long delay_ms)
{
	struct dr_error err = DR_ERROR_INIT;
	int id = (int)json_integer_value(json_object_get(node, "id"));
	json_t *pods, *r;
	int start, lock;

	if (!kd_detach_after(delay_ms))
		return;
	lock = kd_state_lock();
	pods = kd_load_state("pods.json");
	r = record_in(pods, node);
	start = json_object_get(r, "recreate") && json_integer_value(json_object_get(r, "gen")) == gen;
	if (start) {
		json_object_del(r, "recreate");
		json_object_set_new(r, "created", json_integer(clock_wall_ns()));
		kd_save_state("pods.json", pods);
	}
	json_decref(pods);
	kd_state_unlock(lock);
	if (start)
		cluster_start(NULL, kd_dir, id, &err);
	_exit(0);
}

int kd_pod_kill(json_t *node, int recreate, struct dr_error *err)
{
	int lock = kd_state_lock();
	json_t *pods = kd_load_state("pods.json"), *r = record_in(pods, node);
	long long gen = json_integer_value(json_object_get(r, "gen")) + 1;
	int rc = 0;

	json_object_set_new(r, "gen", json_integer(gen));
	json_object_set_new(r, "base", json_integer(json_integer_value(json_object_get(node, "restarts"))));
	json_object_set_new(r, "created", json_integer(clock_wall_ns()));
	json_object_del(r, "term");
	if (recreate)
		json_object_set_new(r, "recreate", json_true());
	else
		json_object_del(r, "recreate");
	kd_save_state("pods.json", pods);
	json_decref(pods);
	kd_state_unlock(lock);
	if (node_has_pod(node))
		rc = kill_and_stop(node, err);
	if (rc == 0 && recreate)
		recreate_later(node, gen, kd_env_ms("KUBECTL_DOUBLE_RECREATE_MS", 500));
	return rc;
}

struct delete_opts {
	int force;
	long grace;  /* -1: the pod's own (30 s) */
	int now;
};

static int delete_flags(struct delete_opts *o, const struct cmd *c)
{
	o->force = 0;
	o->grace = -1;
	o->now = 0;
	for (int i = 2; i < c->nargs; i++) {
		const char *a = c->args[i];

		if (strcmp(a, "--force") == 0 || strcmp(a, "--force=true") == 0)
			o->force = 1;
		else if (strncmp(a, "--grace-period=", 15) == 0)
			o->grace = strtol(a + 15, NULL, 10);
		else if (strcmp(a, "--grace-period") == 0 && i + 1 < c->nargs)
			o->grace = strtol(c->args[++i], NULL, 10);
		else if (strcmp(a, "--now") == 0 || strcmp(a, "--now=true") == 0)
			o->now = 1;
	}
	if (o->now && o->grace >= 0)
		return kd_fail(1, "error: --now and --grace-period cannot be specified together");
	/* kubectl's own rules: --now is --grace-period=1; --grace-period=0
	 * without --force is turned into 1; --force alone means 0. */
	if (o->now)
		o->grace = 1;
	if (o->grace == 0 && !o->force)
		o->grace = 1;
	if (o->force && o->grace < 0)
		o->grace = 0;
	return 0;
}

int kd_delete_pod(struct cmd *c, const char *region, const char *pod)
{
	struct dr_error err = DR_ERROR_INIT;
	struct delete_opts o;
	json_t *node = kd_node_by_pod(region, pod), *pods, *r;
	int immediate, cordoned, lock, rc = 0;
	long long restarts;
	char *kn;

	if (delete_flags(&o, c) != 0)
		return 1;
	immediate = o.force && o.grace == 0;
	if (!node || !kd_pod_exists(node))
		return c->ignore_not_found ? 0 : kd_not_found("pods", pod);
	if (kd_check(c, "delete", "pods", "", NULL, pod))
		return 1;
	if (immediate)
		fprintf(stderr, "Warning: Immediate deletion does not wait for confirmation that the running "
			"resource has been terminated. The resource may continue to run on the cluster "
			"indefinitely.\n");
	if (c->server_dry_run) {
		printf("pod \"%s\" %sdeleted (server dry run)\n", pod, immediate ? "force " : "");
		return 0;
	}
	kn = kd_k8s_node_name(node);
	cordoned = kd_is_cordoned(kn);
	free(kn);
	if (immediate) {
		rc = kd_pod_kill(node, !cordoned, &err);
		goto out;
	}
	restarts = json_integer_value(json_object_get(node, "restarts"));
	lock = kd_state_lock();
	pods = kd_load_state("pods.json");
	r = record_in(pods, node);
	if (kd_pod_running(node) && !cordoned) {
		char *old = kd_pod_uid(node);

		json_object_set_new(r, "term", json_pack("{s:I,s:s,s:I,s:I}", "pid", (json_int_t)node_pid(node),
							 "uid", old, "base", json_integer_value(json_object_get(r, "base")),
							 "at", (json_int_t)clock_wall_ns()));
		free(old);
		/* The supervisor counts the TERM's restart: the new pod starts at 0. */
		restarts++;
	}
	json_object_set_new(r, "gen", json_integer(json_integer_value(json_object_get(r, "gen")) + 1));
	json_object_set_new(r, "base", json_integer(restarts));
	json_object_set_new(r, "created", json_integer(clock_wall_ns()));
	kd_save_state("pods.json", pods);
	json_decref(pods);
	kd_state_unlock(lock);
	if (cordoned) {
		/* On a cordoned node with a zonal volume the new pod stays Pending. */
		rc = node_has_pod(node) ? cluster_stop(NULL, kd_dir, (int)json_integer_value(json_object_get(node, "id")),
						       &err) : 0;
	} else if (kd_pod_running(node)) {
		rc = cluster_kill(NULL, kd_dir, (int)json_integer_value(json_object_get(node, "id")), "TERM", &err);
	}
out:
	if (rc != 0)
		return kd_fail(1, "Error from server: %s", err.msg);
	printf("pod \"%s\" %sdeleted\n", pod, immediate ? "force " : "");
	return 0;
}

int kd_pod_fail(json_t *node, struct dr_error *err)
{
	int lock = kd_state_lock();
	json_t *pods = kd_load_state("pods.json");

	json_object_set_new(record_in(pods, node), "failing", json_true());
	kd_save_state("pods.json", pods);
	json_decref(pods);
	kd_state_unlock(lock);
	return node_has_pod(node) ? kill_and_stop(node, err) : 0;
}

void kd_pod_unfail(json_t *node)
{
	struct dr_error err = DR_ERROR_INIT;
	int lock = kd_state_lock();
	json_t *pods = kd_load_state("pods.json"), *r = record_in(pods, node);
	int was = json_object_get(r, "failing") != NULL;

	json_object_del(r, "failing");
	kd_save_state("pods.json", pods);
	json_decref(pods);
	kd_state_unlock(lock);
	if (was)
		cluster_start(NULL, kd_dir, (int)json_integer_value(json_object_get(node, "id")), &err);
}

void kd_pod_replaced(json_t *node)
{
	int lock = kd_state_lock();
	json_t *pods = kd_load_state("pods.json"), *r = record_in(pods, node);

	json_object_set_new(r, "gen", json_integer(json_integer_value(json_object_get(r, "gen")) + 1));
	json_object_set_new(r, "base", json_integer(json_integer_value(json_object_get(node, "restarts"))));
	json_object_set_new(r, "created", json_integer(clock_wall_ns()));
	json_object_del(r, "term");
	json_object_del(r, "recreate");
	kd_save_state("pods.json", pods);
	json_decref(pods);
	kd_state_unlock(lock);
}
