/* ledgerd options and the peers file. */
#include "ledger/daemon/config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/strbuf.h"

int ledgerd_addr_valid(const char *addr)
{
	const char *colon = addr ? strrchr(addr, ':') : NULL;
	int port;

	if (!colon || colon == addr)
		return 0;
	return parse_int(&port, colon + 1, 1, 65535) == 0;
}

static int valid_role(const char *role)
{
	return role && (strcmp(role, "primary") == 0 || strcmp(role, "dr") == 0 ||
			strcmp(role, "witness") == 0);
}

int ledgerd_peers_parse(struct ledgerd_peers *out, const char *text, size_t len,
			const char *name, struct dr_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, 0, &jerr), *nodes, *node;
	const char *cluster_id;
	size_t i, j;
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (!root) {
		dr_error_set(err, "cannot parse peers file '%s': %s at line %d column %d", name,
			     jerr.text, jerr.line, jerr.column);
		goto out;
	}
	if (json_unpack_ex(root, &jerr, 0, "{s:s, s:o}", "cluster_id", &cluster_id, "nodes",
			   &nodes) != 0 || !json_is_array(nodes) || json_array_size(nodes) == 0) {
		dr_error_set(err, "peers file '%s' needs a string 'cluster_id' and a non-empty 'nodes' array",
			     name);
		goto out;
	}
	json_array_foreach(nodes, i, node) {
		json_int_t id;
		const char *a, *ra, *region, *role, *zone;
		if (json_unpack_ex(node, &jerr, 0, "{s:I, s:s, s:s, s:s, s:s, s:s}", "id", &id,
				   "address", &a, "raft_address", &ra, "region", &region,
				   "region_role", &role, "zone", &zone) != 0) {
			dr_error_set(err, "peers file '%s' node %zu: %s", name, i, jerr.text);
			goto out;
		}
		if (id < 1 || !ledgerd_addr_valid(a) || !ledgerd_addr_valid(ra) || !valid_role(role)) {
			dr_error_set(err, "peers file '%s' node %zu: id must be >= 1, addresses host:port, region_role primary|dr|witness",
				     name, i);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (json_integer_value(json_object_get(json_array_get(nodes, j), "id")) == id) {
				dr_error_set(err, "peers file '%s': duplicate node id %" JSON_INTEGER_FORMAT,
					     name, id);
				goto out;
			}
	}
	out->cluster_id = xstrdup(cluster_id);
	out->nodes = json_incref(nodes);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

int ledgerd_peers_load(struct ledgerd_peers *out, const char *path, struct dr_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	memset(out, 0, sizeof *out);
	if (fs_read_file(&text, &len, path, 4 << 20, err) != 0)
		return dr_error_wrap(err, "cannot read peers file");
	rc = ledgerd_peers_parse(out, text, len, path, err);
	free(text);
	return rc;
}

void ledgerd_peers_release(struct ledgerd_peers *p)
{
	free(p->cluster_id);
	json_decref(p->nodes);
	memset(p, 0, sizeof *p);
}

json_t *ledgerd_peers_find(const struct ledgerd_peers *p, uint64_t id)
{
	json_t *node;
	size_t i;

	json_array_foreach(p->nodes, i, node)
		if ((uint64_t)json_integer_value(json_object_get(node, "id")) == id)
			return node;
	return NULL;
}

char *ledgerd_peers_dump(const struct ledgerd_peers *p)
{
	json_t *o = json_pack("{s:s, s:O}", "cluster_id", p->cluster_id, "nodes", p->nodes);
	char *text = json_dumps(o, JSON_INDENT(2));

	json_decref(o);
	return text;
}

void ledgerd_usage(void)
{
	fputs("usage: ledgerd --id N --data DIR --listen ADDR:PORT --raft ADDR:PORT [--http ADDR:PORT]\n"
	      "               --region NAME --role primary|dr|witness --zone Z --peers FILE\n"
	      "               [--election-timeout MS] [--heartbeat MS] [--enable-debug]\n"
	      "               [--snapshot-threshold N] [--seed-snapshot FILE]\n"
	      "               [--supervisor-socket PATH] [--admin-token-file F] [--join]\n"
	      "               [--max-client-connections N] [--header-timeout MS]\n"
	      "       ledgerd info --data DIR\n"
	      "       ledgerd recover --data DIR --peers FILE --voters 3,4\n"
	      "See docs/ledger-api.md.\n",
	      stderr);
}

enum {
	OPT_ID = 1, OPT_DATA, OPT_LISTEN, OPT_RAFT, OPT_REGION, OPT_ROLE, OPT_ZONE, OPT_PEERS,
	OPT_ELECTION, OPT_HEARTBEAT, OPT_DEBUG, OPT_SNAP, OPT_SEED, OPT_SUPERVISOR, OPT_TOKEN,
	OPT_JOIN, OPT_HTTP, OPT_MAX_CLIENT, OPT_HEADER_TIMEOUT, OPT_HELP,
};

int ledgerd_config_parse(struct ledgerd_config *out, int argc, char **argv,
			 struct dr_error *err)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, OPT_ID },
		{ "data", required_argument, NULL, OPT_DATA },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "http", required_argument, NULL, OPT_HTTP },
		{ "raft", required_argument, NULL, OPT_RAFT },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "zone", required_argument, NULL, OPT_ZONE },
		{ "peers", required_argument, NULL, OPT_PEERS },
		{ "election-timeout", required_argument, NULL, OPT_ELECTION },
		{ "heartbeat", required_argument, NULL, OPT_HEARTBEAT },
		{ "enable-debug", no_argument, NULL, OPT_DEBUG },
		{ "snapshot-threshold", required_argument, NULL, OPT_SNAP },
		{ "seed-snapshot", required_argument, NULL, OPT_SEED },
		{ "supervisor-socket", required_argument, NULL, OPT_SUPERVISOR },
		{ "admin-token-file", required_argument, NULL, OPT_TOKEN },
		{ "join", no_argument, NULL, OPT_JOIN },
		{ "max-client-connections", required_argument, NULL, OPT_MAX_CLIENT },
		{ "header-timeout", required_argument, NULL, OPT_HEADER_TIMEOUT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c, v;
	int64_t id;

	memset(out, 0, sizeof *out);
	out->election_ms = 1000;
	out->heartbeat_ms = 100;
	/* Taking a snapshot stalls the event loop; at 1024 entries a full-speed
	 * workload saw a 130-200 ms pause every second, which drills measured
	 * as outages.  8192 keeps the log short and the pauses rare. */
	out->snapshot_threshold = 8192;
	/* A drill opens a few connections per client thread to each node, and
	 * on loopback every client, node and probe shares 127.0.0.1: 256 is
	 * far above that and far below what locked clients out (1100 from
	 * one address, issue 17).  A gRPC client sends its preface as soon as
	 * it connects; 10 s is for a loaded machine. */
	out->max_client_conns = 256;
	out->header_timeout_ms = 10000;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ID:
			if (parse_int64(&id, optarg, 1, INT64_MAX) != 0)
				return dr_error_set(err, "--id must be a positive integer, got '%s'", optarg);
			out->id = (uint64_t)id;
			break;
		case OPT_DATA: out->data = optarg; break;
		case OPT_LISTEN: out->listen = optarg; break;
		case OPT_HTTP: out->http = optarg; break;
		case OPT_RAFT: out->raft = optarg; break;
		case OPT_REGION: out->region = optarg; break;
		case OPT_ROLE: out->role = optarg; break;
		case OPT_ZONE: out->zone = optarg; break;
		case OPT_PEERS: out->peers = optarg; break;
		case OPT_ELECTION:
			if (parse_int(&v, optarg, 10, 600000) != 0)
				return dr_error_set(err, "--election-timeout must be 10..600000 ms, got '%s'", optarg);
			out->election_ms = (unsigned)v;
			break;
		case OPT_HEARTBEAT:
			if (parse_int(&v, optarg, 1, 60000) != 0)
				return dr_error_set(err, "--heartbeat must be 1..60000 ms, got '%s'", optarg);
			out->heartbeat_ms = (unsigned)v;
			break;
		case OPT_DEBUG: out->enable_debug = 1; break;
		case OPT_SNAP:
			if (parse_int(&v, optarg, 1, 100000000) != 0)
				return dr_error_set(err, "--snapshot-threshold must be a positive integer, got '%s'", optarg);
			out->snapshot_threshold = (unsigned)v;
			break;
		case OPT_SEED: out->seed_snapshot = optarg; break;
		case OPT_SUPERVISOR: out->supervisor_socket = optarg; break;
		case OPT_TOKEN: out->admin_token_file = optarg; break;
		case OPT_JOIN: out->join = 1; break;
		case OPT_MAX_CLIENT:
			if (parse_int(&v, optarg, 0, 1000000) != 0)
				return dr_error_set(err, "--max-client-connections must be 0..1000000 (0: no bound), got '%s'", optarg);
			out->max_client_conns = (unsigned)v;
			break;
		case OPT_HEADER_TIMEOUT:
			if (parse_int(&v, optarg, 100, 600000) != 0)
				return dr_error_set(err, "--header-timeout must be 100..600000 ms, got '%s'", optarg);
			out->header_timeout_ms = (unsigned)v;
			break;
		case OPT_HELP:
			ledgerd_usage();
			return 1;
		default:
			return dr_error_set(err, "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return dr_error_set(err, "unexpected argument '%s'", argv[optind]);
	if (!out->id || !out->data || !out->listen || !out->raft || !out->region ||
	    !out->role || !out->zone || !out->peers)
		return dr_error_set(err, "--id, --data, --listen, --raft, --region, --role, --zone and --peers are required");
	if (!ledgerd_addr_valid(out->listen) || !ledgerd_addr_valid(out->raft) ||
	    (out->http && !ledgerd_addr_valid(out->http)))
		return dr_error_set(err, "--listen, --raft and --http must be ADDR:PORT");
	if (!valid_role(out->role))
		return dr_error_set(err, "--role must be primary, dr or witness, got '%s'", out->role);
	if (out->heartbeat_ms >= out->election_ms)
		return dr_error_set(err, "--heartbeat (%u) must be below --election-timeout (%u)",
				    out->heartbeat_ms, out->election_ms);
	return 0;
}
