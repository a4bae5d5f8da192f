/* The supervisor's commands: one JSON object in, one JSON object out. */
#include "ledger/cluster/supervisor_impl.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"

json_t *sv_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

static json_t *ok(void)
{
	return json_pack("{s:b}", "ok", 1);
}

json_t *sv_status_json(struct supervisor *sv)
{
	json_t *st = cluster_state_to_json(&sv->st);

	json_object_set_new(st, "ok", json_true());
	return st;
}

/* "node": an id of this cluster. */
static struct cluster_node *req_node(struct supervisor *sv, json_t *req, json_t **answer)
{
	json_t *v = json_object_get(req, "node");
	struct cluster_node *n;

	if (!json_is_integer(v)) {
		*answer = sv_error("'node' must be a node id (an integer)");
		return NULL;
	}
	n = cluster_state_node(&sv->st, (int)json_integer_value(v));
	if (!n)
		*answer = sv_error("no node %lld in this cluster",
				   (long long)json_integer_value(v));
	return n;
}

static json_t *node_answer(struct cluster_node *n)
{
	return json_pack("{s:b,s:i,s:i}", "ok", 1, "node", n->id, "pid", (int)n->pid);
}

static json_t *cmd_kill(struct supervisor *sv, json_t *req)
{
	json_t *answer = NULL, *sigv = json_object_get(req, "signal"), *killed;
	struct cluster_node *targets[CLUSTER_MAX_NODES];
	const char *region = json_string_value(json_object_get(req, "region"));
	char signame[16];
	int count = 0, sig;

	if (json_is_integer(sigv))
		snprintf(signame, sizeof(signame), "%lld", (long long)json_integer_value(sigv));
	else if (json_is_string(sigv))
		str_copy(signame, sizeof(signame), json_string_value(sigv));
	else if (!sigv)
		str_copy(signame, sizeof(signame), "KILL");
	else
		return sv_error("'signal' must be a name (\"KILL\") or a number");
	sig = cluster_signal_parse(signame);
	if (sig < 0)
		return sv_error("unknown signal '%s'", signame);
	if (region) {
		if (!cluster_state_region(&sv->st, region))
			return sv_error("no region '%s' in this cluster", region);
		for (int i = 0; i < sv->st.nnodes; i++)
			if (strcmp(sv->st.nodes[i].region, region) == 0 && sv->st.nodes[i].pid)
				targets[count++] = &sv->st.nodes[i];
	} else {
		struct cluster_node *n = req_node(sv, req, &answer);

		if (!n)
			return answer;
		if (!n->pid)
			return sv_error("node %d is not running", n->id);
		targets[count++] = n;
	}
	killed = json_array();
	for (int i = 0; i < count; i++) {
		sv_log("kill node %d (pid %d) with signal %d", targets[i]->id,
		       (int)targets[i]->pid, sig);
		targets[i]->killed = sig != SIGSTOP && sig != SIGCONT;
		if (kill(targets[i]->pid, sig) == 0)
			json_array_append_new(killed, json_pack("{s:i,s:i}", "node",
								targets[i]->id, "pid",
								(int)targets[i]->pid));
		if (sig == SIGSTOP)
			targets[i]->paused = 1;
		else if (sig == SIGCONT)
			targets[i]->paused = 0;
	}
	return json_pack("{s:b,s:i,s:o}", "ok", 1, "signal", sig, "killed", killed);
}

/* "signal": "TERM" (default: a graceful stop) or "KILL" (a crash); the node
 * stays down either way. */
static json_t *cmd_stop(struct supervisor *sv, json_t *req)
{
	json_t *answer = NULL, *sigv = json_object_get(req, "signal");
	const char *name = sigv ? json_string_value(sigv) : "TERM";
	struct cluster_node *n;
	int sig;

	if (!name || (strcmp(name, "TERM") != 0 && strcmp(name, "KILL") != 0))
		return sv_error("'signal' of stop must be \"TERM\" (a graceful stop) or \"KILL\" (a crash)");
	sig = strcmp(name, "KILL") == 0 ? SIGKILL : SIGTERM;
	n = req_node(sv, req, &answer);
	if (!n)
		return answer;
	n->stopped = 1;
	if (sig == SIGKILL)
		sv_log("stop node %d with SIGKILL (a crash; it stays down)", n->id);
	sv_nodes_signal_stop(sv, &n, 1, sig);
	return node_answer(n);
}

static json_t *cmd_start(struct supervisor *sv, json_t *req)
{
	json_t *answer = NULL;
	struct cluster_node *n = req_node(sv, req, &answer);

	if (!n)
		return answer;
	if (n->fenced)
		return sv_error("node %d is fenced after an unsafe promotion; scale its region '%s' up to re-add it as a new member",
				n->id, n->region);
	{
		struct cluster_region *reg = cluster_state_region(&sv->st, n->region);

		if (reg && n->ordinal >= reg->replicas)
			return sv_error("node %d's region '%s' is scaled to %d replicas; scale it up to start the node",
					n->id, n->region, reg->replicas);
	}
	n->stopped = 0;
	n->restart_at_ns = 0;
	sv_reconcile(sv);
	if (!n->pid && sv_node_wanted(sv, n))
		return sv_error("node %d did not start (see '%s')", n->id, n->log);
	return node_answer(n);
}

static json_t *cmd_pause(struct supervisor *sv, json_t *req, int pause)
{
	json_t *answer = NULL;
	struct cluster_node *n = req_node(sv, req, &answer);

	if (!n)
		return answer;
	if (!n->pid)
		return sv_error("node %d is not running", n->id);
	if (kill(n->pid, pause ? SIGSTOP : SIGCONT) != 0)
		return sv_error("cannot signal node %d (pid %d)", n->id, (int)n->pid);
	n->paused = pause;
	sv_log("node %d %s", n->id, pause ? "paused (SIGSTOP)" : "resumed (SIGCONT)");
	sv_save(sv);
	return node_answer(n);
}

static json_t *cmd_scale(struct supervisor *sv, json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "region"));
	json_t *rv = json_object_get(req, "replicas"), *stopped, *rejoined;
	struct cluster_node *down[CLUSTER_MAX_NODES], *fenced[CLUSTER_MAX_NODES];
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_region *reg;
	int replicas, ndown = 0, nfenced = 0;

	if (!name)
		return sv_error("'region' must be a region name");
	reg = cluster_state_region(&sv->st, name);
	if (!reg)
		return sv_error("no region '%s' in this cluster", name);
	if (json_is_string(rv) && strcmp(json_string_value(rv), "normal") == 0)
		replicas = reg->size;
	else if (json_is_integer(rv) && json_integer_value(rv) >= 0 &&
		 json_integer_value(rv) <= reg->size)
		replicas = (int)json_integer_value(rv);
	else
		return sv_error("'replicas' must be an integer in 0..%d (region '%s' has %d nodes) or \"normal\"",
				reg->size, name, reg->size);
	sv_log("scale region '%s' from %d to %d replicas", name, reg->replicas, replicas);
	reg->replicas = replicas;
	for (int i = 0; i < sv->st.nnodes; i++) {
		struct cluster_node *n = &sv->st.nodes[i];

		if (strcmp(n->region, name) != 0)
			continue;
		if (n->ordinal >= replicas && n->pid)
			down[ndown++] = n;
		else if (n->ordinal < replicas && n->fenced)
			fenced[nfenced++] = n;
	}
	stopped = json_array();
	rejoined = json_array();
	if (ndown)
		sv_nodes_stop_in_order(sv, down, ndown);
	for (int i = 0; i < ndown; i++) /* in the order they stopped */
		json_array_append_new(stopped, json_integer(down[i]->id));
	if (nfenced && sv_rejoin_fenced(sv, fenced, nfenced, &err) != 0) {
		json_decref(stopped);
		json_decref(rejoined);
		sv_save(sv);
		return sv_error("scale '%s': %s", name, err.msg);
	}
	for (int i = 0; i < nfenced; i++)
		json_array_append_new(rejoined, json_integer(fenced[i]->id));
	sv_reconcile(sv);
	sv_save(sv);
	return json_pack("{s:b,s:s,s:i,s:o,s:o}", "ok", 1, "region", name, "replicas",
			 replicas, "stopped", stopped, "rejoined", rejoined);
}

static json_t *cmd_shutdown(struct supervisor *sv)
{
	sv_log("shutdown requested");
	sv_shutdown_all(sv);
	return ok();
}

json_t *sv_handle(struct supervisor *sv, json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));

	if (!json_is_object(req))
		return sv_error("a request must be a JSON object with a 'cmd'");
	if (!cmd)
		return sv_error("'cmd' must be a string");
	if (strcmp(cmd, "ping") == 0)
		return json_pack("{s:b,s:i}", "ok", 1, "pid", (int)getpid());
	if (strcmp(cmd, "status") == 0)
		return sv_status_json(sv);
	if (strcmp(cmd, "kill") == 0)
		return cmd_kill(sv, req);
	if (strcmp(cmd, "stop") == 0)
		return cmd_stop(sv, req);
	if (strcmp(cmd, "start") == 0)
		return cmd_start(sv, req);
	if (strcmp(cmd, "pause") == 0)
		return cmd_pause(sv, req, 1);
	if (strcmp(cmd, "resume") == 0)
		return cmd_pause(sv, req, 0);
	if (strcmp(cmd, "scale") == 0)
		return cmd_scale(sv, req);
	if (strcmp(cmd, "promote") == 0)
		return sv_cmd_promote(sv, req);
	if (strcmp(cmd, "restore") == 0)
		return sv_cmd_restore(sv, req);
	if (strcmp(cmd, "restore-down") == 0)
		return sv_cmd_restore_down(sv, req);
	if (strcmp(cmd, "shutdown") == 0)
		return cmd_shutdown(sv);
	return sv_error("unknown command '%s' (ping, status, kill, stop, start, pause, resume, scale, promote, restore, restore-down, shutdown)",
			cmd);
}
