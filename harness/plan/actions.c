/* The action and probe tables (actions.h).  docs/plan-reference.md lists
 * the same; keep them in step. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/clock.h"
#include "harness/plan/actions.h"
#include "harness/plan/schema_report.h"

#define SEC(n) ((int64_t)(n) * NS_PER_SEC)

/* ---- enums ------------------------------------------------------------- */

static const char *const what_fault[] = { "leader", "follower", "node", "region", NULL };
static const char *const what_restore[] = { "all", "node", "region", NULL };
static const char *const what_partition[] = { "leader", "node", "region", NULL };
static const char *const partition_directions[] = { "both", "outbound", "inbound", NULL };
static const char *const partition_methods[] = { "auto", "nftables", "debug_hook", NULL };
static const char *const what_drain[] = { "leader", "follower", "node", NULL };
static const char *const what_disk_free[] = { "all", "node", NULL };
static const char *const signals[] = { "KILL", "TERM", "INT", "HUP", "QUIT", "ABRT", NULL };
static const char *const stop_signals[] = { "TERM", "KILL", NULL };
static const char *const http_methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH",
					    "DELETE", "OPTIONS", NULL };
static const char *const metric_ops[] = { "lt", "le", "gt", "ge", "eq", "ne", NULL };

#define END_ARGS { NULL, 0, 0, NULL, NULL, 0, 0, NULL }

/* ---- cross-argument rules ----------------------------------------------- */

/* what: node needs node:, what: region needs region:, and node:/region:
 * given with another what is a mistake worth naming. */
static void check_selector(struct schema_ctx *ctx, json_t *obj, const char *path)
{
	const char *what = json_string_value(json_object_get(obj, "what"));

	if (!what)
		return;
	if (strcmp(what, "node") == 0 && !json_object_get(obj, "node"))
		schema_err_obj(ctx, obj, path, "missing required argument 'node' (what: node "
			       "needs the node to act on)");
	if (strcmp(what, "region") == 0 && !json_object_get(obj, "region"))
		schema_err_obj(ctx, obj, path, "missing required argument 'region' (what: region "
			       "needs the region to act on)");
	if (strcmp(what, "node") != 0 && json_object_get(obj, "node"))
		schema_err_key(ctx, obj, path, "node", "'node' is only used with what: node "
			       "(what is '%s')", what);
}

/* The debug hook drops a peer's messages whole and both ways: a one-way
 * cut or a loss rate needs the kernel (nftables). */
static void check_partition(struct schema_ctx *ctx, json_t *obj, const char *path)
{
	const char *method = json_string_value(json_object_get(obj, "method"));
	const char *direction = json_string_value(json_object_get(obj, "direction"));
	json_t *loss = json_object_get(obj, "loss");

	check_selector(ctx, obj, path);
	if (!method || strcmp(method, "debug_hook") != 0)
		return;
	if (direction && strcmp(direction, "both") != 0)
		schema_err_key(ctx, obj, path, "direction", "method: debug_hook cuts both ways only; "
			       "direction: %s needs method: nftables (or auto)", direction);
	if (json_is_integer(loss) && json_integer_value(loss) != 100)
		schema_err_key(ctx, obj, path, "loss", "method: debug_hook drops every packet; "
			       "loss: %lld needs method: nftables (or auto)",
			       (long long)json_integer_value(loss));
}

static void check_transfer(struct schema_ctx *ctx, json_t *obj, const char *path)
{
	schema_require_one_of(ctx, obj, path, "region", "node");
}

static void check_notify(struct schema_ctx *ctx, json_t *obj, const char *path)
{
	schema_require_one_of(ctx, obj, path, "url", "url_env");
}

static void check_metric(struct schema_ctx *ctx, json_t *obj, const char *path)
{
	schema_require_one_of(ctx, obj, path, "name", "query");
	if (json_object_get(obj, "labels") && !json_object_get(obj, "name"))
		schema_err_key(ctx, obj, path, "labels",
			       "'labels' selects samples of a metric 'name'; a 'query' filters itself");
}

/* ---- actions ------------------------------------------------------------ */

static const struct arg_spec scale_args[] = {
	{ "region", ARG_REGION, 1, NULL, NULL, 0, 0, "region to scale (role or name)" },
	{ "replicas", ARG_REPLICAS, 1, NULL, NULL, 0, 0,
	  "replica count, or \"normal\" for the region's size" },
	END_ARGS
};

static const struct arg_spec kill_args[] = {
	{ "what", ARG_ENUM, 1, NULL, what_fault, 0, 0, "leader | follower | node | region" },
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "node id or name (what: node)" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0,
	  "region (what: region; with leader/follower: pick one in this region)" },
	{ "signal", ARG_ENUM, 0, "KILL", signals, 0, 0, "signal sent to the process" },
	END_ARGS
};

static const struct arg_spec stop_args[] = {
	{ "what", ARG_ENUM, 1, NULL, what_fault, 0, 0, "leader | follower | node | region" },
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "node id or name (what: node)" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0,
	  "region (what: region; with leader/follower: pick one in this region)" },
	{ "signal", ARG_ENUM, 0, "TERM", stop_signals, 0, 0,
	  "TERM: a graceful stop (a leader hands over first); KILL: a crash" },
	END_ARGS
};

static const struct arg_spec pause_args[] = {
	{ "what", ARG_ENUM, 1, NULL, what_fault, 0, 0, "leader | follower | node | region" },
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "node id or name (what: node)" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0,
	  "region (what: region; with leader/follower: pick one in this region)" },
	END_ARGS
};

static const struct arg_spec start_args[] = {
	{ "what", ARG_ENUM, 0, "all", what_restore, 0, 0,
	  "all (every node this drill stopped) | node | region" },
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "node id or name (what: node)" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "region (what: region)" },
	END_ARGS
};

static const struct arg_spec partition_args[] = {
	{ "what", ARG_ENUM, 1, NULL, what_partition, 0, 0,
	  "leader | node | region: cut it off from the rest" },
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "node id or name (what: node)" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "region (what: region)" },
	{ "direction", ARG_ENUM, 0, "both", partition_directions, 0, 0,
	  "both | outbound (what is cut off cannot send to the rest, still hears it) | "
	  "inbound (it cannot hear the rest, still sends)" },
	{ "loss", ARG_INT, 0, "100", NULL, 1, 100,
	  "percent of the packets dropped, at random (100: all of them)" },
	{ "method", ARG_ENUM, 0, "auto", partition_methods, 0, 0,
	  "auto (nftables when root and nft runs, else the debug hook) | nftables | "
	  "debug_hook (ledgerd's Debug/Partition: both ways, every packet)" },
	END_ARGS
};

static const struct arg_spec drain_args[] = {
	{ "what", ARG_ENUM, 1, NULL, what_drain, 0, 0,
	  "leader | follower | node: drain the machine running it" },
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "node id or pod name (what: node)" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "with leader/follower: in this region" },
	END_ARGS
};

static const struct arg_spec disk_full_args[] = {
	{ "what", ARG_ENUM, 1, NULL, what_drain, 0, 0,
	  "leader | follower | node: whose data directory to fill" },
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "node id (what: node)" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "with leader/follower: in this region" },
	END_ARGS
};

static const struct arg_spec disk_free_args[] = {
	{ "what", ARG_ENUM, 0, "all", what_disk_free, 0, 0,
	  "all (every node's fill) | node" },
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "node id (what: node)" },
	END_ARGS
};

static const struct arg_spec zone_args[] = {
	{ "zone", ARG_STRING, 1, NULL, NULL, 0, 0, "zone to take down (local: <region>-a, -b, ...)" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "region of the zone (if ambiguous)" },
	END_ARGS
};

static const struct arg_spec force_election_args[] = {
	{ "region", ARG_REGION, 1, NULL, NULL, 0, 0, "region that must take leadership" },
	{ "allow_data_loss", ARG_BOOL, 0, "false", NULL, 0, 0,
	  "allow promoting a region without quorum (may lose acknowledged writes)" },
	END_ARGS
};

static const struct arg_spec transfer_args[] = {
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "move leadership to a node of this region" },
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "or to this node" },
	END_ARGS
};

static const struct arg_spec snapshot_args[] = {
	{ "node", ARG_NODE, 0, NULL, NULL, 0, 0, "node to snapshot (default: the leader)" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "or a node of this region" },
	{ "copy_to", ARG_STRING, 0, NULL, NULL, 0, 0,
	  "copy the snapshot file out to this path (default: the run's directory)" },
	END_ARGS
};

static const struct arg_spec restore_args[] = {
	{ "from", ARG_SNAPSHOT, 1, NULL, NULL, 0, 0,
	  "name of an earlier snapshot step, or a snapshot file path" },
	{ "size", ARG_INT, 0, "1", NULL, 1, 9, "nodes of the restored cluster" },
	END_ARGS
};

static const struct arg_spec await_leader_args[] = {
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "the leader must be in this region" },
	{ "changed", ARG_BOOL, 0, "false", NULL, 0, 0,
	  "the leader must be another node than the one that led when the first fault began" },
	END_ARGS
};

static const struct arg_spec await_replicated_args[] = {
	{ "max_lag", ARG_DURATION, 0, "0", NULL, 0, 0,
	  "largest replication lag accepted (0: \"Fully replicated\")" },
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "only this region's members" },
	END_ARGS
};

static const struct arg_spec await_healthy_args[] = {
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "only this region's members" },
	END_ARGS
};

static const struct arg_spec probe_action_args[] = {
	{ "probe", ARG_PROBE, 1, NULL, NULL, 0, 0, "the probe to run (see Probes)" },
	END_ARGS
};

static const struct arg_spec exec_args[] = {
	{ "argv", ARG_ARGV, 1, NULL, NULL, 0, 0, "program and arguments (never a shell string)" },
	{ "env", ARG_STRMAP, 0, NULL, NULL, 0, 0, "extra environment variables" },
	{ "cwd", ARG_STRING, 0, NULL, NULL, 0, 0, "working directory" },
	{ "stdin", ARG_STRING, 0, NULL, NULL, 0, 0, "text fed to standard input" },
	END_ARGS
};

static const struct arg_spec sleep_args[] = {
	{ "duration", ARG_DURATION, 1, NULL, NULL, 0, 0, "how long to wait" },
	END_ARGS
};

static const struct arg_spec notify_args[] = {
	{ "url", ARG_URL, 0, NULL, NULL, 0, 0, "webhook URL" },
	{ "url_env", ARG_STRING, 0, NULL, NULL, 0, 0,
	  "name of an environment variable holding the webhook URL" },
	{ "message", ARG_STRING, 1, NULL, NULL, 0, 0, "text posted as {\"text\": message}" },
	END_ARGS
};

#define FAULT ACTION_MAY_FAULT
#define GENERIC ACTION_GENERIC

static const struct action_spec a_scale = { "scale", "set a region's replica count",
	scale_args, SEC(120), FAULT, NULL };
static const struct action_spec a_kill = { "kill",
	"signal a node's process; it is restarted like a pod", kill_args, SEC(30), FAULT,
	check_selector };
static const struct action_spec a_stop = { "stop",
	"stop a node; it stays down until started, like a lost machine", stop_args, SEC(30),
	FAULT, check_selector };
/* On Kubernetes, start uncordons what drain_node / zone_down cordoned. */
static const struct action_spec a_start = { "start", "start stopped nodes again",
	start_args, SEC(60), 0, check_selector };
static const struct action_spec a_pause = { "pause", "freeze a node (SIGSTOP)",
	pause_args, SEC(10), FAULT, check_selector };
static const struct action_spec a_resume = { "resume", "thaw paused nodes (SIGCONT)",
	start_args, SEC(10), 0, check_selector };
static const struct action_spec a_partition = { "partition",
	"cut a region or node off from the rest of the cluster", partition_args, SEC(10), FAULT,
	check_partition };
static const struct action_spec a_heal = { "heal", "remove network partitions",
	start_args, SEC(10), 0, check_selector };
static const struct action_spec a_drain = { "drain_node",
	"cordon and drain the machine running a node", drain_args, SEC(300), FAULT,
	check_selector };
/* The undo needs no memory of the node: disk_free what: all. */
static const struct action_spec a_disk_full = { "disk_full",
	"fill a node's data directory until writes fail with ENOSPC", disk_full_args, SEC(30),
	FAULT, check_selector };
static const struct action_spec a_disk_free = { "disk_free",
	"remove what disk_full wrote", disk_free_args, SEC(30), 0, check_selector };
static const struct action_spec a_zone = { "zone_down", "lose every node of one zone",
	zone_args, SEC(300), FAULT, NULL };
static const struct action_spec a_force = { "force_election",
	"force a leader election in a region (ForceLeaderElection)", force_election_args,
	SEC(30), FAULT, NULL };
static const struct action_spec a_transfer = { "transfer_leader",
	"move leadership to a region or node (RequestLeaderTransfer)", transfer_args, SEC(30),
	FAULT, check_transfer };
static const struct action_spec a_snapshot = { "snapshot",
	"create a snapshot (CreateSnapshot) and copy it out", snapshot_args, SEC(120), 0, NULL };
static const struct action_spec a_restore = { "restore_snapshot",
	"start a separate cluster from a snapshot (RestoreFromSnapshot); later steps address "
	"it as region 'restored'", restore_args, SEC(300), 0, NULL };
static const struct action_spec a_await_leader = { "await_leader",
	"wait until a leader is elected (in a region)", await_leader_args, SEC(60), GENERIC, NULL };
static const struct action_spec a_await_repl = { "await_replicated",
	"wait until every member caught up (\"Fully replicated\")", await_replicated_args,
	SEC(120), GENERIC, NULL };
static const struct action_spec a_await_healthy = { "await_healthy",
	"wait until every member answers its health check", await_healthy_args, SEC(120), GENERIC,
	NULL };
static const struct action_spec a_probe = { "probe", "run one probe; the step fails if it fails",
	probe_action_args, SEC(60), GENERIC, NULL };
static const struct action_spec a_exec = { "exec", "run a program from an argv list",
	exec_args, SEC(60), FAULT | ACTION_HAS_STDOUT | GENERIC, NULL };
static const struct action_spec a_sleep = { "sleep", "wait a fixed time", sleep_args,
	0 /* duration + 5s */, GENERIC, NULL };
static const struct action_spec a_notify = { "notify",
	"post a message to a webhook; never fails the drill", notify_args, SEC(10), GENERIC,
	check_notify };

const struct action_spec *const action_specs[] = {
	&a_scale, &a_kill, &a_stop, &a_start, &a_pause, &a_resume, &a_partition, &a_heal,
	&a_drain, &a_zone, &a_force, &a_transfer, &a_snapshot, &a_restore, &a_await_leader,
	&a_await_repl, &a_await_healthy, &a_probe, &a_exec, &a_sleep, &a_notify, &a_disk_full,
	&a_disk_free, NULL,
};

const struct action_spec *action_find(const char *name)
{
	for (size_t i = 0; name && action_specs[i]; i++)
		if (strcmp(action_specs[i]->name, name) == 0)
			return action_specs[i];
	return NULL;
}

/* ---- probes -------------------------------------------------------------- */

const struct arg_spec probe_common_args[] = {
	{ "type", ARG_STRING, 1, NULL, NULL, 0, 0, "http | tcp | write_read | cluster_status | "
	  "metric | command" },
	{ "name", ARG_STRING, 0, NULL, NULL, 0, 0, "label in reports" },
	{ "retries", ARG_INT, 0, "2", NULL, 0, 100, "extra attempts before the probe fails" },
	{ "interval", ARG_DURATION, 0, PROBE_DEFAULT_INTERVAL, NULL, 0, 0,
	  "pause between attempts" },
	{ "timeout", ARG_DURATION, 0, PROBE_DEFAULT_TIMEOUT, NULL, 0, 0, "per attempt" },
	END_ARGS
};

static const struct arg_spec http_args[] = {
	{ "url", ARG_URL, 1, NULL, NULL, 0, 0, "http:// or https:// URL" },
	{ "method", ARG_ENUM, 0, "GET", http_methods, 0, 0, "request method" },
	{ "headers", ARG_STRMAP, 0, NULL, NULL, 0, 0, "request headers" },
	{ "body", ARG_STRING, 0, NULL, NULL, 0, 0, "request body" },
	END_ARGS
};

static const struct arg_spec http_expect[] = {
	{ "status", ARG_STATUS, 0, "200", NULL, 0, 0, "status code or list of codes" },
	{ "body_regex", ARG_REGEX, 0, NULL, NULL, 0, 0, "PCRE2 pattern the body must match" },
	{ "json", ARG_JSON_EXPECT, 0, NULL, NULL, 0, 0, "checks on fields of a JSON body" },
	END_ARGS
};

static const struct arg_spec tcp_args[] = {
	{ "address", ARG_STRING, 1, NULL, NULL, 0, 0, "host:port that must accept a connection" },
	END_ARGS
};

static const struct arg_spec write_read_args[] = {
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "send through a node of this region" },
	END_ARGS
};

static const struct arg_spec cluster_status_args[] = {
	{ "region", ARG_REGION, 0, NULL, NULL, 0, 0, "ask a node of this region" },
	END_ARGS
};

static const struct arg_spec cluster_status_expect[] = {
	{ "leader", ARG_BOOL, 0, NULL, NULL, 0, 0, "a leader is known (true) or not (false)" },
	{ "leader_region", ARG_REGION, 0, NULL, NULL, 0, 0, "the leader is in this region" },
	{ "quorum", ARG_BOOL, 0, NULL, NULL, 0, 0, "a quorum of voters is connected" },
	{ "replicated", ARG_BOOL, 0, NULL, NULL, 0, 0, "\"Fully replicated\"" },
	{ "max_lag", ARG_DURATION, 0, NULL, NULL, 0, 0, "every member's lag is at most this" },
	{ "members_up", ARG_INT, 0, NULL, NULL, 0, 1000, "at least this many members answer" },
	END_ARGS
};

static const struct arg_spec metric_args[] = {
	{ "url", ARG_URL, 1, NULL, NULL, 0, 0,
	  "Prometheus text endpoint (/metrics) or query API base" },
	{ "name", ARG_STRING, 0, NULL, NULL, 0, 0, "metric name in the text format" },
	{ "labels", ARG_STRMAP, 0, NULL, NULL, 0, 0, "label values a sample must have" },
	{ "query", ARG_STRING, 0, NULL, NULL, 0, 0, "PromQL for /api/v1/query (instead of name)" },
	{ "op", ARG_ENUM, 1, NULL, metric_ops, 0, 0, "comparison: lt le gt ge eq ne" },
	{ "value", ARG_NUMBER, 1, NULL, NULL, 0, 0, "threshold" },
	END_ARGS
};

static const struct arg_spec command_args[] = {
	{ "argv", ARG_ARGV, 1, NULL, NULL, 0, 0, "program and arguments" },
	END_ARGS
};

const struct arg_spec exec_expect_args[] = {
	{ "exit_code", ARG_INT, 0, "0", NULL, 0, 255, "expected exit status" },
	{ "stdout_regex", ARG_REGEX, 0, NULL, NULL, 0, 0, "pattern standard output must match" },
	{ "stderr_regex", ARG_REGEX, 0, NULL, NULL, 0, 0, "pattern standard error must match" },
	{ "json", ARG_STEP_JSON_EXPECT, 0, NULL, NULL, 0, 0, "checks on fields of the JSON result" },
	END_ARGS
};

const struct arg_spec step_expect_args[] = {
	{ "json", ARG_STEP_JSON_EXPECT, 0, NULL, NULL, 0, 0, "checks on fields of the JSON result" },
	END_ARGS
};

static const struct probe_spec p_http = { "http", "an HTTP request", http_args, http_expect,
	NULL };
static const struct probe_spec p_tcp = { "tcp", "a TCP connect", tcp_args, NULL, NULL };
static const struct probe_spec p_write_read = { "write_read",
	"append an entry through the ledger client and read it back", write_read_args, NULL,
	NULL };
static const struct probe_spec p_cluster_status = { "cluster_status",
	"GetClusterStatus with expectations", cluster_status_args, cluster_status_expect, NULL };
static const struct probe_spec p_metric = { "metric",
	"a Prometheus sample compared with a threshold", metric_args, NULL, check_metric };
static const struct probe_spec p_command = { "command", "run a program (argv)",
	command_args, exec_expect_args, NULL };

const struct probe_spec *const probe_specs[] = {
	&p_http, &p_tcp, &p_write_read, &p_cluster_status, &p_metric, &p_command, NULL,
};

const struct probe_spec *probe_find(const char *type)
{
	for (size_t i = 0; type && probe_specs[i]; i++)
		if (strcmp(probe_specs[i]->name, type) == 0)
			return probe_specs[i];
	return NULL;
}

/* ---- suggestions ---------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), *row, result;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	row = calloc(lb + 1, sizeof(*row));
	if (!row)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best;
			int same = a[i - 1] == b[j - 1] ||
				   ((a[i - 1] == '-' || a[i - 1] == '_') &&
				    (b[j - 1] == '-' || b[j - 1] == '_'));

			best = diag + (same ? 0 : 1);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	result = row[lb];
	free(row);
	return result;
}

const char *action_closest(const char *word, const char *const *candidates, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, limit;

	if (!word)
		return NULL;
	limit = strlen(word) / 3 + 1;
	if (limit > 3)
		limit = 3;
	for (size_t i = 0; i < n && candidates[i]; i++) {
		size_t d = edit_distance(word, candidates[i]);

		/* A prefix ("await" for "await_leader") is a plausible typo too. */
		if (d > limit && strlen(word) >= 3 &&
		    strncmp(candidates[i], word, strlen(word)) == 0)
			d = limit;
		if (d < best_d) {
			best_d = d;
			best = candidates[i];
		}
	}
	return best_d <= limit ? best : NULL;
}
