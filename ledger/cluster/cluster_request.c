/* Commands to a cluster's supervisor over DIR/supervisor.sock. */
#include "ledger/cluster/cluster_state.h"

#include <stdlib.h>

#include "common/clock.h"
#include "ledger/client/supervisor_socket.h"

int cluster_request(json_t **out, const char *dir, json_t *request,
		    int64_t timeout_ns, struct dr_error *err)
{
	char *path = cluster_path(dir, "supervisor.sock");
	int rc = supervisor_socket_request(out, path, request, timeout_ns, err);

	free(path);
	if (rc != 0)
		return rc;
	if (!json_is_true(json_object_get(*out, "ok"))) {
		const char *e = json_string_value(json_object_get(*out, "error"));

		return dr_error_set(err, "%s", e ? e : "supervisor refused the request");
	}
	return 0;
}

/* Send {"cmd":cmd, ...extra}; *out may be NULL. */
static int simple(json_t **out, const char *dir, json_t *req, int64_t timeout_ns,
		  struct dr_error *err)
{
	json_t *answer = NULL;
	int rc = cluster_request(&answer, dir, req, timeout_ns, err);

	json_decref(req);
	if (out)
		*out = answer;
	else
		json_decref(answer);
	return rc;
}

#define SHORT_NS (15 * NS_PER_SEC)
#define LONG_NS (120 * NS_PER_SEC)

int cluster_kill(json_t **out, const char *dir, int node, const char *signal_name,
		 struct dr_error *err)
{
	return simple(out, dir, json_pack("{s:s,s:i,s:s}", "cmd", "kill", "node", node,
					  "signal", signal_name ? signal_name : "KILL"),
		      SHORT_NS, err);
}

int cluster_stop(json_t **out, const char *dir, int node, struct dr_error *err)
{
	return cluster_stop_signal(out, dir, node, NULL, err);
}

int cluster_stop_signal(json_t **out, const char *dir, int node, const char *signal_name,
			struct dr_error *err)
{
	return simple(out, dir, json_pack("{s:s,s:i,s:s}", "cmd", "stop", "node", node, "signal",
					  signal_name ? signal_name : "TERM"),
		      SHORT_NS, err);
}

int cluster_start(json_t **out, const char *dir, int node, struct dr_error *err)
{
	return simple(out, dir, json_pack("{s:s,s:i}", "cmd", "start", "node", node),
		      SHORT_NS, err);
}

int cluster_pause(json_t **out, const char *dir, int node, struct dr_error *err)
{
	return simple(out, dir, json_pack("{s:s,s:i}", "cmd", "pause", "node", node),
		      SHORT_NS, err);
}

int cluster_resume(json_t **out, const char *dir, int node, struct dr_error *err)
{
	return simple(out, dir, json_pack("{s:s,s:i}", "cmd", "resume", "node", node),
		      SHORT_NS, err);
}

int cluster_scale(json_t **out, const char *dir, const char *region, int replicas,
		  struct dr_error *err)
{
	json_t *req = json_pack("{s:s,s:s}", "cmd", "scale", "region", region);

	json_object_set_new(req, "replicas",
			    replicas < 0 ? json_string("normal") : json_integer(replicas));
	/* Scaling a fenced region up waits for each new member's catch-up. */
	return simple(out, dir, req, LONG_NS, err);
}

int cluster_promote(json_t **out, const char *dir, const char *region,
		    int allow_data_loss, struct dr_error *err)
{
	return simple(out, dir, json_pack("{s:s,s:s,s:b,s:b}", "cmd", "promote", "region", region,
					  "allow_data_loss", allow_data_loss, "wait", 1),
		      LONG_NS, err);
}

int cluster_restore(json_t **out, const char *dir, const char *snapshot,
		    struct dr_error *err)
{
	return simple(out, dir, json_pack("{s:s,s:s}", "cmd", "restore", "snapshot", snapshot),
		      LONG_NS, err);
}

int cluster_supervisor_status(json_t **out, const char *dir, struct dr_error *err)
{
	return simple(out, dir, json_pack("{s:s}", "cmd", "status"), SHORT_NS, err);
}
