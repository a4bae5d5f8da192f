/* `drillrig cluster ...`: the bundled ledger cluster on this machine. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "harness/cli/cli.h"
#include "harness/core/exit_codes.h"
#include "harness/plan/duration.h"
#include "ledger/client/client.h"
#include "ledger/cluster/cluster.h"
#include "ledger/cluster/supervisor.h"

static const char cluster_help[] =
	"usage: drillrig cluster <command> --cluster DIR [options]\n"
	"\n"
	"commands:\n"
	"  up       start a cluster in DIR under a detached supervisor\n"
	"           --topology T   regions: primary=2,dr=2,witness=1 (default) or\n"
	"                          name:role=count[/zones],... (role primary|dr|witness)\n"
	"           --timing E/H   election timeout / heartbeat (default 300ms/30ms)\n"
	"           --enable-debug start nodes with their debug faults enabled\n"
	"           --no-admin-token  admin and debug calls need no token (by\n"
	"                          default DIR/admin-token, mode 0600, holds one)\n"
	"           --disk-limit MB each node's data directory is its own tmpfs of\n"
	"                          MB MiB (root only), for the disk_full fault;\n"
	"                          `down` unmounts them and their data is gone\n"
	"           --ledgerd PATH the ledgerd binary (default: next to drillrig,\n"
	"                          $LEDGERD_BIN, PATH)\n"
	"           --timeout D    how long to wait for a leader (default 30s)\n"
	"  status   members table (--json: GetClusterStatus merged with pids)\n"
	"  down     stop every process of the cluster (data stays in DIR)\n"
	"  attach   a new supervisor for a cluster whose supervisor died: its\n"
	"           orphaned nodes stop (SIGTERM) and start again on their data\n"
	"           [--timeout D]; `up` would start an empty cluster instead\n"
	"  kill     NODE [--signal S]   signal a node (default KILL); the supervisor\n"
	"           restarts it like a pod.  --region R signals a whole region\n"
	"  stop     NODE [--signal TERM|KILL]   stop a node; it stays down until\n"
	"           `start`.  TERM (default): graceful, a leader hands over first;\n"
	"           KILL: a crash\n"
	"  start    NODE   start a stopped node\n"
	"  pause    NODE   SIGSTOP a node;  resume NODE: SIGCONT\n"
	"  scale    REGION=N | REGION=normal   desired replicas of a region; a\n"
	"           scale-down stops the highest ordinal first, one after another\n"
	"  promote  --region R --allow-data-loss   unsafe promotion of a region\n"
	"           without quorum (its survivors become the whole cluster)\n"
	"  restore  --from SNAPSHOT   a separate cluster in DIR/restored seeded from\n"
	"           the snapshot;  restore --down takes it down\n"
	"\n"
	"exit codes: 0 ok, 2 usage error or a refused promotion (a quorum is alive),\n"
	"3 the cluster or its supervisor failed\n";

struct opts {
	const char *cluster;
	const char *topology;
	const char *timing;
	const char *ledgerd;
	const char *timeout;
	const char *signal;
	const char *region;
	const char *from;
	const char *disk_limit;
	int json;
	int enable_debug;
	int no_admin_token;
	int allow_data_loss;
	int down;
	int help;
	char **rest;
	int nrest;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "drillrig cluster: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see `drillrig cluster --help`)\n");
	return EXIT_USAGE;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cluster", required_argument, NULL, 'c' },
		{ "topology", required_argument, NULL, 't' },
		{ "timing", required_argument, NULL, 'T' },
		{ "ledgerd", required_argument, NULL, 'l' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "signal", required_argument, NULL, 's' },
		{ "region", required_argument, NULL, 'r' },
		{ "from", required_argument, NULL, 'f' },
		{ "snapshot", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "enable-debug", no_argument, NULL, 'd' },
		{ "no-admin-token", no_argument, NULL, 'N' },
		{ "disk-limit", required_argument, NULL, 'L' },
		{ "allow-data-loss", no_argument, NULL, 'a' },
		{ "down", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 0; /* reinitialise getopt for this argv */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->cluster = optarg; break;
		case 't': o->topology = optarg; break;
		case 'T': o->timing = optarg; break;
		case 'l': o->ledgerd = optarg; break;
		case 'w': o->timeout = optarg; break;
		case 's': o->signal = optarg; break;
		case 'r': o->region = optarg; break;
		case 'f': o->from = optarg; break;
		case 'j': o->json = 1; break;
		case 'd': o->enable_debug = 1; break;
		case 'N': o->no_admin_token = 1; break;
		case 'L': o->disk_limit = optarg; break;
		case 'a': o->allow_data_loss = 1; break;
		case 'D': o->down = 1; break;
		case 'h': o->help = 1; break;
		default:
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	o->rest = argv + optind;
	o->nrest = argc - optind;
	if (!o->help && !o->cluster)
		return usage_error("%s needs --cluster DIR", argv[0]);
	return 0;
}

static int infra(const char *what, const struct dr_error *err)
{
	fprintf(stderr, "drillrig cluster %s: %s\n", what, err->msg);
	return EXIT_INFRA;
}

static void print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	printf("%s\n", text);
	free(text);
}

static const char *str_or(json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : dflt;
}

static void print_table(json_t *status)
{
	json_t *leader = json_object_get(status, "leader");
	json_t *members = json_object_get(status, "members");
	json_t *nodes = json_object_get(status, "nodes"), *n;
	size_t i;

	printf("cluster %s  term %lld  commit %lld  quorum %s\n",
	       str_or(status, "cluster_id", "?"),
	       (long long)json_integer_value(json_object_get(status, "term")),
	       (long long)json_integer_value(json_object_get(status, "commit_index")),
	       json_is_true(json_object_get(status, "quorum")) ? "yes" : "no");
	if (json_is_object(leader))
		printf("leader %lld (%s, %s)\n",
		       (long long)json_integer_value(json_object_get(leader, "id")),
		       str_or(leader, "region", "?"), str_or(leader, "address", "?"));
	else
		printf("leader none\n");
	printf("%-4s %-12s %-8s %-14s %-11s %-11s %-8s %-8s %-12s %s\n", "ID", "REGION",
	       "ROLE", "ZONE", "STATE", "PROCESS", "PID", "MATCH", "LAG", "RESTARTS");
	json_array_foreach(nodes, i, n) {
		json_int_t id = json_integer_value(json_object_get(n, "id"));
		json_t *m = ledger_member_by_id(members, id);
		char match[24] = "-", lag[32] = "-";

		if (m && json_is_integer(json_object_get(m, "match_index")))
			snprintf(match, sizeof(match), "%lld",
				 (long long)json_integer_value(json_object_get(m, "match_index")));
		if (m && json_is_integer(json_object_get(m, "lag_entries")))
			snprintf(lag, sizeof(lag), "%lld/%.1fs",
				 (long long)json_integer_value(json_object_get(m, "lag_entries")),
				 json_number_value(json_object_get(m, "lag_seconds")));
		printf("%-4lld %-12s %-8s %-14s %-11s %-11s %-8lld %-8s %-12s %lld\n",
		       (long long)id, str_or(n, "region", "?"), str_or(n, "region_role", "?"),
		       str_or(n, "zone", "?"), m ? str_or(m, "state", "?") : "-",
		       str_or(n, "process", "?"),
		       (long long)json_integer_value(json_object_get(n, "pid")), match, lag,
		       (long long)json_integer_value(json_object_get(n, "restarts")));
	}
	printf("%s\n", str_or(status, "replication", "replication unknown"));
	{
		json_t *coverage = json_object_get(status, "coverage"), *u;

		json_array_foreach(json_object_get(coverage, "unanswered"), i, u)
			printf("view partial: node %lld's process runs but it did not answer this "
			       "status call (%s); its STATE is what the others see\n",
			       (long long)json_integer_value(json_object_get(u, "id")),
			       str_or(u, "error", "no answer"));
	}
}

static int do_status(struct opts *o)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *status = NULL;

	if (cluster_status(&status, o->cluster, &err) != 0)
		return infra("status", &err);
	if (o->json)
		print_json(status);
	else
		print_table(status);
	json_decref(status);
	return EXIT_PASSED;
}

static int parse_timing(struct cluster_spec *spec, const char *text, struct dr_error *err)
{
	const char *slash = strchr(text, '/');
	int64_t election = 0, heartbeat = 0;
	char *first = NULL;
	int rc = -1;

	if (!slash) {
		dr_error_set(err, "timing '%s' must be election/heartbeat, e.g. 300ms/30ms", text);
		goto out;
	}
	first = xstrndup(text, (size_t)(slash - text));
	if (duration_parse(&election, first, err) != 0 ||
	    duration_parse(&heartbeat, slash + 1, err) != 0) {
		dr_error_wrap(err, "timing '%s'", text);
		goto out;
	}
	election /= NS_PER_MS;
	heartbeat /= NS_PER_MS;
	if (heartbeat < 1 || election < 2 * heartbeat || election > 60000) {
		dr_error_set(err, "timing '%s': the heartbeat must be at least 1ms, the election timeout at least twice the heartbeat and at most 60s",
			     text);
		goto out;
	}
	spec->election_timeout_ms = (int)election;
	spec->heartbeat_ms = (int)heartbeat;
	rc = 0;
out:
	free(first);
	return rc;
}

static int do_up(struct opts *o)
{
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_spec spec;
	int64_t start = clock_mono_ns();

	cluster_spec_init(&spec);
	if (o->topology && cluster_topology_parse(&spec, o->topology, &err) != 0)
		return usage_error("%s", err.msg);
	if (o->timing && parse_timing(&spec, o->timing, &err) != 0)
		return usage_error("%s", err.msg);
	if (o->timeout && duration_parse(&spec.ready_timeout_ns, o->timeout, &err) != 0)
		return usage_error("--timeout: %s", err.msg);
	spec.enable_debug = o->enable_debug;
	spec.no_admin_token = o->no_admin_token;
	spec.ledgerd_path = o->ledgerd;
	if (o->disk_limit) {
		char *end = NULL;
		long mb;

		errno = 0;
		mb = strtol(o->disk_limit, &end, 10);
		/* A node preallocates three 4 MiB raft segments and refuses
		 * writes below one more free (ledger/daemon/node.h, struct ledgerd_disk). */
		if (errno || end == o->disk_limit || *end || mb < 32 || mb > CLUSTER_DISK_LIMIT_MAX_MB)
			return usage_error("--disk-limit '%s': MiB per node, an integer in 32..%d",
					   o->disk_limit, CLUSTER_DISK_LIMIT_MAX_MB);
		spec.disk_limit_mb = (int)mb;
	}
	if (cluster_up(o->cluster, &spec, &err) != 0)
		return infra("up", &err);
	fprintf(stderr, "cluster up in '%s' after %lld ms\n", o->cluster,
		(long long)((clock_mono_ns() - start) / NS_PER_MS));
	return do_status(o);
}

static int do_attach(struct opts *o)
{
	struct dr_error err = DR_ERROR_INIT;
	int64_t timeout = 0, start = clock_mono_ns();

	if (o->timeout && duration_parse(&timeout, o->timeout, &err) != 0)
		return usage_error("--timeout: %s", err.msg);
	if (cluster_attach(o->cluster, timeout, &err) != 0)
		return infra("attach", &err);
	fprintf(stderr, "cluster in '%s' supervised again after %lld ms\n", o->cluster,
		(long long)((clock_mono_ns() - start) / NS_PER_MS));
	return do_status(o);
}

static int do_down(struct opts *o)
{
	struct dr_error err = DR_ERROR_INIT;

	if (cluster_down(o->cluster, &err) != 0)
		return infra("down", &err);
	fprintf(stderr, "cluster in '%s' is down\n", o->cluster);
	return EXIT_PASSED;
}

/* Send a request, print the answer (JSON), map failures to exit codes. */
static int request(struct opts *o, const char *what, json_t *req, int64_t timeout_ns)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *answer = NULL;
	int rc = cluster_request(&answer, o->cluster, req, timeout_ns, &err);

	json_decref(req);
	if (rc != 0) {
		json_decref(answer);
		return infra(what, &err);
	}
	print_json(answer);
	json_decref(answer);
	return EXIT_PASSED;
}

static int node_arg(int *out, struct opts *o, const char *what)
{
	if (o->nrest != 1)
		return usage_error("%s takes one node id", what);
	if (parse_int(out, o->rest[0], 1, 255) != 0)
		return usage_error("node id '%s' is not a number in 1..255", o->rest[0]);
	return 0;
}

static int do_node_cmd(struct opts *o, const char *cmd)
{
	json_t *req;
	int node = 0, rc;

	if (strcmp(cmd, "kill") == 0 && o->region) {
		if (o->signal && cluster_signal_parse(o->signal) < 0)
			return usage_error("unknown signal '%s'", o->signal);
		req = json_pack("{s:s,s:s,s:s}", "cmd", "kill", "region", o->region, "signal",
				o->signal ? o->signal : "KILL");
		return request(o, cmd, req, 15 * NS_PER_SEC);
	}
	rc = node_arg(&node, o, cmd);
	if (rc != 0)
		return rc;
	if (o->signal && cluster_signal_parse(o->signal) < 0)
		return usage_error("unknown signal '%s'", o->signal);
	req = json_pack("{s:s,s:i}", "cmd", cmd, "node", node);
	if (strcmp(cmd, "kill") == 0) {
		json_object_set_new(req, "signal", json_string(o->signal ? o->signal : "KILL"));
	} else if (strcmp(cmd, "stop") == 0 && o->signal) {
		int sig = cluster_signal_parse(o->signal);

		if (sig != SIGTERM && sig != SIGKILL) {
			json_decref(req);
			return usage_error("stop --signal must be TERM or KILL, got '%s'", o->signal);
		}
		json_object_set_new(req, "signal", json_string(sig == SIGKILL ? "KILL" : "TERM"));
	}
	return request(o, cmd, req, 30 * NS_PER_SEC);
}

static int do_scale(struct opts *o)
{
	json_t *req;
	char region[64];
	const char *eq;
	int replicas = -1;

	if (o->nrest != 1 || !(eq = strchr(o->rest[0], '=')) ||
	    (size_t)(eq - o->rest[0]) >= sizeof(region) || eq == o->rest[0])
		return usage_error("scale takes REGION=N or REGION=normal, got '%s'",
				   o->nrest ? o->rest[0] : "");
	memcpy(region, o->rest[0], (size_t)(eq - o->rest[0]));
	region[eq - o->rest[0]] = '\0';
	if (strcmp(eq + 1, "normal") != 0 && parse_int(&replicas, eq + 1, 0, 255) != 0)
		return usage_error("replicas '%s' must be a number or 'normal'", eq + 1);
	req = json_pack("{s:s,s:s}", "cmd", "scale", "region", region);
	json_object_set_new(req, "replicas",
			    replicas < 0 ? json_string("normal") : json_integer(replicas));
	return request(o, "scale", req, 180 * NS_PER_SEC);
}

/* An unsafe promotion fences every node outside the region: with a live
 * quorum that throws away a healthy cluster and the writes only the fenced
 * nodes hold (313 of 738 acknowledged writes, measured before this check).
 * Refused as the API refuses ForceLeaderElection: while a leader is known. */
static int refuse_live_quorum(struct opts *o)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *st = NULL, *leader;
	int rc = 0;

	if (cluster_status(&st, o->cluster, &err) != 0)
		return infra("promote", &err);
	leader = json_object_get(st, "leader");
	if (json_is_object(leader)) {
		fprintf(stderr, "drillrig cluster promote: refused: a quorum is alive (leader %lld in "
			"region '%s'); an unsafe promotion would fence every node outside region '%s' "
			"and lose the writes only they hold. It is for a region cut off from a lost "
			"quorum.\n",
			(long long)json_integer_value(json_object_get(leader, "id")),
			json_string_value(json_object_get(leader, "region")) ?: "?", o->region);
		rc = EXIT_USAGE;
	}
	json_decref(st);
	return rc;
}

static int do_promote(struct opts *o)
{
	int rc;

	if (!o->region)
		return usage_error("promote needs --region R");
	if (!o->allow_data_loss)
		return usage_error("promote is an unsafe promotion without quorum that can lose acknowledged writes; pass --allow-data-loss to confirm");
	if ((rc = refuse_live_quorum(o)) != 0)
		return rc;
	return request(o, "promote",
		       json_pack("{s:s,s:s,s:b,s:b}", "cmd", "promote", "region", o->region,
				 "allow_data_loss", 1, "wait", 1),
		       180 * NS_PER_SEC);
}

static int do_restore(struct opts *o)
{
	char real[PATH_MAX];

	if (o->down)
		return request(o, "restore", json_pack("{s:s}", "cmd", "restore-down"),
			       120 * NS_PER_SEC);
	if (!o->from)
		return usage_error("restore needs --from SNAPSHOT (or --down)");
	if (!realpath(o->from, real)) {
		fprintf(stderr, "drillrig cluster restore: cannot read snapshot '%s'\n", o->from);
		return EXIT_USAGE;
	}
	return request(o, "restore",
		       json_pack("{s:s,s:s}", "cmd", "restore", "snapshot", real),
		       180 * NS_PER_SEC);
}

static int do_supervise(struct opts *o)
{
	struct dr_error err = DR_ERROR_INIT;

	if (supervisor_run(o->cluster, &err) != 0)
		return infra("supervise", &err);
	return EXIT_PASSED;
}

int cmd_cluster(int argc, char **argv)
{
	struct opts o;
	const char *sub;
	int rc;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(cluster_help, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_PASSED;
	}
	sub = argv[1];
	rc = parse_opts(&o, argc - 1, argv + 1);
	if (rc != 0)
		return rc;
	if (o.help) {
		fputs(cluster_help, stdout);
		return EXIT_PASSED;
	}
	if (strcmp(sub, "up") == 0)
		return do_up(&o);
	if (strcmp(sub, "status") == 0)
		return do_status(&o);
	if (strcmp(sub, "down") == 0)
		return do_down(&o);
	if (strcmp(sub, "attach") == 0)
		return do_attach(&o);
	if (strcmp(sub, "kill") == 0 || strcmp(sub, "stop") == 0 ||
	    strcmp(sub, "start") == 0 || strcmp(sub, "pause") == 0 ||
	    strcmp(sub, "resume") == 0)
		return do_node_cmd(&o, sub);
	if (strcmp(sub, "scale") == 0)
		return do_scale(&o);
	if (strcmp(sub, "promote") == 0)
		return do_promote(&o);
	if (strcmp(sub, "restore") == 0)
		return do_restore(&o);
	if (strcmp(sub, "supervise") == 0) /* hidden: run by cluster_up */
		return do_supervise(&o);
	return usage_error("unknown command '%s'", sub);
}
