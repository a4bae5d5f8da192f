/* A kubectl test double: emulates Kubernetes contexts on top of a bundled
 * ledger cluster (`drillrig cluster up`), so the Kubernetes target runs end
 * to end without an API server, against pods that behave like the public
 * InferaDB ledger image's.
 *
 *   context     <prefix><region>   (KUBECTL_DOUBLE_CONTEXT_PREFIX, default "drill-")
 *   namespace   KUBECTL_DOUBLE_NAMESPACE (default inferadb)
 *   statefulset KUBECTL_DOUBLE_STATEFULSET (default inferadb-ledger)
 *   pods        <statefulset>-<ordinal>, one per ledger node of the region,
 *               labelled app.kubernetes.io/name=<statefulset> and
 *               statefulset.kubernetes.io/pod-name=<pod>; container "ledger"
 *               (image KUBECTL_DOUBLE_IMAGE), gRPC API on port 50051
 *   nodes       k8s-<zone>-<node id>, labelled topology.kubernetes.io/zone=<zone>
 *
 * Commands (global flags --context, -n, --kubeconfig, -o, --dry-run=server,
 * --ignore-not-found anywhere; the double refuses a command without
 * --context or -n):
 *
 *   version [-o json]   client and server version KUBECTL_DOUBLE_VERSION
 *                       (default v1.29.4; the client's is
 *                       KUBECTL_DOUBLE_CLIENT_VERSION, default the same).
 *   auth can-i VERB RESOURCE[.GROUP][/SUB] [--subresource S]
 *                       "yes" (exit 0) or "no" (exit 1), from KUBECTL_DOUBLE_DENY.
 *   port-forward [pod/]P [LOCAL]:REMOTE ...
 *                       forwards for real (kubectl_double_forward.c): listens
 *                       on 127.0.0.1:LOCAL (ephemeral when empty or 0), prints
 *                       "Forwarding from 127.0.0.1:N -> 50051", relays every
 *                       connection to the node's gRPC address ("Handling
 *                       connection for N"), exits 1 with "lost connection to
 *                       pod" when the pod's process goes (or a connection in
 *                       the pod is refused), 0 on SIGTERM/SIGINT.  NotFound,
 *                       "pod is not running. Current status=Pending", and
 *                       "address already in use" as kubectl says them.
 *   exec P [-c C] -- CMD, cp
 *                       the image is distroless: exec fails ("OCI runtime exec
 *                       failed ... exec: "CMD": executable file not found in
 *                       $PATH", exit 1) and so does cp (no tar), unless
 *                       KUBECTL_DOUBLE_IMAGE_TOOLS=1: then grpcurl answers
 *                       both API dialects (kubectl_double_grpcurl.c), cp copies
 *                       (/var/lib/ledger/ is the node's data directory), and
 *                       `kill -SIG 1` delivers only what PID 1 handles (TERM,
 *                       INT: ledgerd exits and restarts); -9/KILL and others
 *                       do nothing and exit 0, as from inside a PID namespace.
 *   get statefulset NAME, scale statefulset/NAME --replicas=N
 *                       metadata.generation moves at once; status (observed-
 *                       Generation, replica counts) lags by
 *                       KUBECTL_DOUBLE_STATUS_LAG_MS (default 300), then
 *                       shows the pods as they are.
 *   get pods, get pod P pods with uid, creationTimestamp, phase, Ready,
 *                       containerStatuses[0] (restartCount, state, lastState).
 *   delete pod P [--grace-period=N] [--force] [--now] [--wait=false]
 *                       graceful: SIGTERM; the pod shows deletionTimestamp
 *                       (Terminating, not Ready) until its process exited,
 *                       then its successor (new uid) runs.  --force (grace
 *                       0): the Warning on stderr, `pod "P" force deleted`,
 *                       SIGKILL at once, the successor starts
 *                       KUBECTL_DOUBLE_RECREATE_MS (default 500) later
 *                       (Pending meanwhile).  --now is --grace-period=1
 *                       (graceful), as in kubectl.  On a cordoned node the
 *                       successor stays Pending until uncordon.
 *   get nodes [-l topology.kubernetes.io/zone=Z], cordon, uncordon, drain
 *                       drain evicts (graceful) and the pods stay Pending.
 *   get|delete lease NAME, create|replace -f - (a Lease),
 *   patch lease NAME --type merge -p JSON
 *                       leases per context with uid, creationTimestamp and a
 *                       resourceVersion moved by every write; a stale
 *                       resourceVersion is a Conflict; unknown fields are
 *                       rejected as the server's strict validation does
 *                       (kubectl_double_lease.c).
 *   create -f - (chaos-mesh.org/v1alpha1 PodChaos, NetworkChaos),
 *   get|delete podchaos|networkchaos NAME
 *                       with KUBECTL_DOUBLE_CHAOS_MESH=1 only; otherwise "no
 *                       matches for kind" (kubectl_double_chaos.c).
 *
 * Environment: KUBECTL_DOUBLE_CLUSTER (the cluster directory, required),
 * KUBECTL_DOUBLE_LOG (append each command line), KUBECTL_DOUBLE_FAIL (a
 * substring: a matching command fails with exit 1, after taking effect
 * when KUBECTL_DOUBLE_FAIL_AFTER=1; only the first N such commands with
 * KUBECTL_DOUBLE_FAIL_TIMES=N; exit code KUBECTL_DOUBLE_FAIL_EXIT, default
 * 1, above 64 a grpcurl RPC error), KUBECTL_DOUBLE_DENY (comma-separated
 * substrings of "VERB RESOURCE[/SUB]" or "VERB RESOURCE.GROUP[/SUB]", e.g.
 * "create pods/portforward", "patch statefulsets/scale", "delete pods",
 * "patch leases", "create pods/eviction": auth can-i answers "no" and the
 * command itself fails with the API server's Forbidden, as user
 * KUBECTL_DOUBLE_USER, default "drill"), and the variables named above.
 * The double keeps its own state next to the cluster, in
 * DIR/k8s-double-*.json.
 */
#include "tests/doubles/kubectl_double.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "ledger/cluster/cluster.h"

const char *kd_dir;
const char *kd_sts = "inferadb-ledger";
const char *kd_context_prefix = "drill-";
json_t *kd_cluster;
static const char *want_ns = "inferadb";

static int is_type(const char *t, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(t, *names) == 0)
			return 1;
	return 0;
}

static const char *const sts_types[] = { "statefulset", "statefulsets", "sts", "statefulset.apps",
					   "statefulsets.apps", NULL };
static const char *const pod_types[] = { "pod", "pods", "po", NULL };
static const char *const node_types[] = { "node", "nodes", "no", NULL };
static const char *const lease_types[] = { "lease", "leases", "lease.coordination.k8s.io",
					     "leases.coordination.k8s.io", NULL };

static int get_pods(struct cmd *c, const char *region)
{
	json_t *node, *items, *list;
	size_t i;

	if (kd_check(c, "list", "pods", "", NULL, NULL))
		return 1;
	items = json_array();
	json_array_foreach(json_object_get(kd_cluster, "nodes"), i, node) {
		if (strcmp(json_string_value(json_object_get(node, "region")), region) != 0)
			continue;
		if (!kd_pod_exists(node)) {
			char *kn = kd_k8s_node_name(node);
			/* Evicted from a cordoned node: Pending, not gone. */
			int pending = kd_is_cordoned(kn);

			free(kn);
			if (!pending)
				continue;
		}
		json_array_append_new(items, kd_pod_json(node, c->ns));
	}
	list = json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind", "List", "items", items);
	kd_print_json(list);
	json_decref(list);
	return 0;
}

static int get_pod(struct cmd *c, const char *region, const char *name)
{
	json_t *node = kd_node_by_pod(region, name), *p;

	if (kd_check(c, "get", "pods", "", NULL, name))
		return 1;
	if (!node || !kd_pod_exists(node))
		return kd_not_found("pods", name);
	p = kd_pod_json(node, c->ns);
	kd_print_json(p);
	json_decref(p);
	return 0;
}

static int do_get(struct cmd *c, const char *region)
{
	const char *name;
	char *type;
	int rc;

	kd_resource_ref(c, 1, &type, &name);
	if (is_type(type, sts_types))
		rc = kd_get_statefulset(c, region, name);
	else if (is_type(type, pod_types))
		rc = name ? get_pod(c, region, name) : get_pods(c, region);
	else if (is_type(type, node_types))
		rc = kd_get_nodes(c, region);
	else if (is_type(type, lease_types))
		rc = kd_get_lease(c, region, name);
	else if (kd_is_chaos_type(type))
		rc = kd_get_chaos(c, region, type, name);
	else
		rc = kd_fail(1, "error: the server doesn't have a resource type \"%s\"", type);
	free(type);
	return rc;
}

static int do_delete(struct cmd *c, const char *region)
{
	const char *name;
	char *type;
	int rc;

	kd_resource_ref(c, 1, &type, &name);
	if (!name)
		rc = kd_fail(1, "error: resource(s) were provided, but no name was specified");
	else if (is_type(type, pod_types))
		rc = kd_delete_pod(c, region, name);
	else if (is_type(type, lease_types))
		rc = kd_delete_lease(c, region, name);
	else if (kd_is_chaos_type(type))
		rc = kd_delete_chaos(c, region, type, name);
	else
		rc = kd_fail(1, "error: the double cannot delete '%s'", type);
	free(type);
	return rc;
}

/* create -f - / replace -f -: the object's kind picks the resource. */
static int do_create(struct cmd *c, const char *region, int replace)
{
	json_error_t jerr;
	json_t *obj = json_loadf(stdin, 0, &jerr);
	const char *api, *kind;
	int rc;

	if (!obj)
		return kd_fail(1, "error: error parsing STDIN: %s", jerr.text);
	api = json_string_value(json_object_get(obj, "apiVersion")) ?: "";
	kind = json_string_value(json_object_get(obj, "kind")) ?: "";
	if (strcmp(kind, "Lease") == 0 && strcmp(api, "coordination.k8s.io/v1") == 0)
		rc = kd_create_lease(c, region, obj, replace);
	else if (strncmp(api, "chaos-mesh.org/", 15) == 0 && !replace)
		rc = kd_create_chaos(c, region, obj);
	else
		rc = kd_fail(1, "error: resource mapping not found for name: \"%s\" namespace: \"%s\" from \"STDIN\": "
			     "no matches for kind \"%s\" in version \"%s\"\nensure CRDs are installed first",
			     json_string_value(json_object_get(json_object_get(obj, "metadata"), "name")) ?: "",
			     c->ns, kind, api);
	json_decref(obj);
	return rc;
}

/* ---- main ------------------------------------------------------------------- */

static void log_line(int argc, char **argv)
{
	const char *path = getenv("KUBECTL_DOUBLE_LOG");
	FILE *f;

	if (!path || !*path || !(f = fopen(path, "a")))
		return;
	for (int i = 0; i < argc; i++)
		fprintf(f, "%s%s", i ? " " : "", argv[i]);
	fputc('\n', f);
	fclose(f);
}

/* The exact argv, one JSON array per line, for replaying against the real
 * kubectl (tests/support/kubectl_real.c): the spaced log above loses the
 * word boundaries of a JSON patch. */
static void log_argv(int argc, char **argv)
{
	const char *path = getenv("KUBECTL_DOUBLE_ARGV_LOG");
	json_t *words = json_array();
	char *line;
	FILE *f;

	if (!path || !*path)
		goto out;
	for (int i = 1; i < argc; i++)
		json_array_append_new(words, json_string(argv[i]));
	line = json_dumps(words, JSON_COMPACT);
	if (line && (f = fopen(path, "a"))) {
		fprintf(f, "%s\n", line);
		fclose(f);
	}
	free(line);
out:
	json_decref(words);
}

static int dispatch(struct cmd *c)
{
	const char *verb = c->nargs > 0 ? c->args[0] : "";
	const char *region;
	struct dr_error err = DR_ERROR_INIT;

	if (!c->context)
		return kd_fail(1, "error: the double refuses commands without --context");
	if (!c->ns)
		return kd_fail(1, "error: the double refuses commands without -n");
	if (cluster_load(&kd_cluster, kd_dir, &err) != 0)
		return kd_fail(1, "Unable to connect to the server: %s", err.msg);
	region = kd_region_of_context(c->context);
	if (!region)
		return kd_fail(1, "error: context \"%s\" does not exist", c->context);
	if (strcmp(c->ns, want_ns) != 0 && strcmp(verb, "cordon") != 0 && strcmp(verb, "uncordon") != 0 &&
	    strcmp(verb, "version") != 0 && strcmp(verb, "auth") != 0)
		return kd_fail(1, "Error from server (NotFound): namespaces \"%s\" not found", c->ns);
	if (strcmp(verb, "version") == 0)
		return kd_version(c);
	if (strcmp(verb, "auth") == 0 && c->nargs >= 2 && strcmp(c->args[1], "can-i") == 0)
		return kd_can_i(c);
	if (strcmp(verb, "get") == 0)
		return do_get(c, region);
	if (strcmp(verb, "scale") == 0)
		return kd_scale(c, region);
	if (strcmp(verb, "delete") == 0)
		return do_delete(c, region);
	if (strcmp(verb, "create") == 0)
		return do_create(c, region, 0);
	if (strcmp(verb, "replace") == 0)
		return do_create(c, region, 1);
	if (strcmp(verb, "patch") == 0)
		return kd_patch(c, region);
	if (strcmp(verb, "exec") == 0)
		return kd_exec(c, region);
	if (strcmp(verb, "port-forward") == 0)
		return kd_port_forward(c, region);
	if (strcmp(verb, "cordon") == 0)
		return kd_cordon(c, region, 1);
	if (strcmp(verb, "uncordon") == 0)
		return kd_cordon(c, region, 0);
	if (strcmp(verb, "drain") == 0)
		return kd_drain(c, region);
	if (strcmp(verb, "cp") == 0)
		return kd_cp(c, region);
	return kd_fail(1, "error: unknown command \"%s\" for \"kubectl\" (double)", verb);
}

/* KUBECTL_DOUBLE_FAIL_TIMES=N: only the first N matching commands fail
 * (counted in a file next to the cluster, so across processes).  Returns 1
 * when this one must fail. */
static int injected_failure_left(void)
{
	const char *times = getenv("KUBECTL_DOUBLE_FAIL_TIMES");
	char *path, buf[32];
	long limit, used = 0;
	ssize_t n;
	int fd, left;

	if (!times || !*times)
		return 1;
	limit = strtol(times, NULL, 10);
	path = xasprintf("%s/kubectl-double-failures", kd_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0)
		return 1;
	/* Concurrent kubectl processes (a poller and a step) count once each. */
	flock(fd, LOCK_EX);
	n = read(fd, buf, sizeof(buf) - 1);
	if (n > 0) {
		buf[n] = '\0';
		used = strtol(buf, NULL, 10);
	}
	left = used < limit;
	if (left) {
		int len = snprintf(buf, sizeof(buf), "%ld\n", used + 1);

		if (lseek(fd, 0, SEEK_SET) == 0 && write(fd, buf, (size_t)len) == len)
			(void)ftruncate(fd, len);
	}
	close(fd); /* releases the lock */
	return left;
}

int main(int argc, char **argv)
{
	struct cmd c;
	const char *failon = getenv("KUBECTL_DOUBLE_FAIL");
	int after = getenv("KUBECTL_DOUBLE_FAIL_AFTER") && strcmp(getenv("KUBECTL_DOUBLE_FAIL_AFTER"), "1") == 0;
	struct strbuf line = STRBUF_INIT;
	int rc;

	memset(&c, 0, sizeof(c));
	log_line(argc, argv);
	log_argv(argc, argv);
	kd_dir = getenv("KUBECTL_DOUBLE_CLUSTER");
	if (getenv("KUBECTL_DOUBLE_CONTEXT_PREFIX"))
		kd_context_prefix = getenv("KUBECTL_DOUBLE_CONTEXT_PREFIX");
	if (getenv("KUBECTL_DOUBLE_NAMESPACE"))
		want_ns = getenv("KUBECTL_DOUBLE_NAMESPACE");
	if (getenv("KUBECTL_DOUBLE_STATEFULSET"))
		kd_sts = getenv("KUBECTL_DOUBLE_STATEFULSET");
	if (!kd_dir || !*kd_dir)
		return kd_fail(1, "error: KUBECTL_DOUBLE_CLUSTER is not set (the double needs a bundled cluster)");
	c.args = xcalloc((size_t)argc + 1, sizeof(char *));
	for (int i = 1; i < argc; i++) {
		strbuf_addf(&line, "%s%s", i > 1 ? " " : "", argv[i]);
		if (strcmp(argv[i], "--") == 0) {
			c.rest = argv + i + 1;
			c.nrest = argc - i - 1;
			for (int k = i + 1; k < argc; k++)
				strbuf_addf(&line, " %s", argv[k]);
			break;
		}
		if (strcmp(argv[i], "--context") == 0 && i + 1 < argc)
			c.context = argv[++i];
		else if ((strcmp(argv[i], "-n") == 0 || strcmp(argv[i], "--namespace") == 0) && i + 1 < argc)
			c.ns = argv[++i];
		else if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc)
			i++;
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			c.output = argv[++i];
		else if (strncmp(argv[i], "-o=", 3) == 0 || strncmp(argv[i], "--output=", 9) == 0)
			c.output = strchr(argv[i], '=') + 1;
		else if (strcmp(argv[i], "--dry-run=server") == 0)
			c.server_dry_run = 1;
		else if (strcmp(argv[i], "--ignore-not-found") == 0)
			c.ignore_not_found = 1;
		else
			c.args[c.nargs++] = argv[i];
	}
	if (failon && *failon && strstr(strbuf_str(&line), failon) && !injected_failure_left()) {
		failon = NULL; /* KUBECTL_DOUBLE_FAIL_TIMES used up: run normally */
	}
	if (failon && *failon && strstr(strbuf_str(&line), failon) && !after) {
		const char *code = getenv("KUBECTL_DOUBLE_FAIL_EXIT");
		int exit_code = code && *code ? (int)strtol(code, NULL, 10) : 1;

		strbuf_release(&line);
		free(c.args);
		/* 64 + a gRPC code: as grpcurl reports an RPC error. */
		if (exit_code > 64)
			return kd_fail(exit_code, "ERROR:\n  Code: injected\n  Message: injected failure "
				    "(KUBECTL_DOUBLE_FAIL=%s)", failon);
		return kd_fail(exit_code, "error: injected failure (KUBECTL_DOUBLE_FAIL=%s)", failon);
	}
	rc = dispatch(&c);
	if (failon && *failon && strstr(strbuf_str(&line), failon) && after)
		rc = kd_fail(1, "error: injected failure after the command took effect (KUBECTL_DOUBLE_FAIL=%s)", failon);
	strbuf_release(&line);
	json_decref(kd_cluster);
	free(c.args);
	return rc;
}
