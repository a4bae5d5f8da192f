/* cluster.json and peers.json: the cluster's state on disk. */
#include "ledger/cluster/cluster_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "common/strbuf.h"

char *cluster_path(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

void cluster_new_id(char *buf, size_t len)
{
	snprintf(buf, len, "c-%016llx", (unsigned long long)cluster_random_u64());
}

void cluster_state_from_spec(struct cluster_state *out, const char *dir,
			     const struct cluster_spec *spec, const char *ledgerd,
			     int net_a, int net_b)
{
	int id = 1;

	memset(out, 0, sizeof(*out));
	out->dir = xstrdup(dir);
	cluster_new_id(out->cluster_id, sizeof(out->cluster_id));
	out->net_a = net_a;
	out->net_b = net_b;
	out->election_timeout_ms = spec->election_timeout_ms;
	out->heartbeat_ms = spec->heartbeat_ms;
	out->enable_debug = spec->enable_debug;
	out->disk_limit_mb = spec->disk_limit_mb;
	out->ledgerd = xstrdup(ledgerd);
	out->seed_snapshot = spec->seed_snapshot ? xstrdup(spec->seed_snapshot) : NULL;
	for (int r = 0; r < spec->nregions; r++) {
		const struct cluster_region_spec *rs = &spec->regions[r];
		struct cluster_region *reg = &out->regions[out->nregions++];

		str_copy(reg->name, sizeof(reg->name), rs->name);
		reg->role = rs->role;
		reg->size = rs->size;
		reg->zones = rs->zones > 0 ? rs->zones : 2;
		reg->replicas = rs->size;
		for (int k = 0; k < rs->size && out->nnodes < CLUSTER_MAX_NODES; k++, id++) {
			struct cluster_node *n = &out->nodes[out->nnodes++];

			n->id = id;
			n->ordinal = k;
			str_copy(n->region, sizeof(n->region), rs->name);
			n->role = rs->role;
			snprintf(n->zone, sizeof(n->zone), "%s-%c", rs->name,
				 'a' + k % reg->zones);
			snprintf(n->address, sizeof(n->address), "127.%d.%d.%d:%d",
				 net_a, net_b, id, CLUSTER_GRPC_PORT);
			snprintf(n->http_address, sizeof(n->http_address), "127.%d.%d.%d:%d",
				 net_a, net_b, id, CLUSTER_HTTP_PORT);
			snprintf(n->raft_address, sizeof(n->raft_address), "127.%d.%d.%d:%d",
				 net_a, net_b, id, CLUSTER_RAFT_PORT);
			n->data = xasprintf("%s/n%d", dir, id);
			n->log = xasprintf("%s/n%d.log", dir, id);
		}
	}
}

void cluster_state_release(struct cluster_state *st)
{
	for (int i = 0; i < st->nnodes; i++) {
		free(st->nodes[i].data);
		free(st->nodes[i].log);
	}
	free(st->dir);
	free(st->ledgerd);
	free(st->seed_snapshot);
	memset(st, 0, sizeof(*st));
}

struct cluster_node *cluster_state_node(struct cluster_state *st, int id)
{
	for (int i = 0; i < st->nnodes; i++)
		if (st->nodes[i].id == id)
			return &st->nodes[i];
	return NULL;
}

struct cluster_region *cluster_state_region(struct cluster_state *st,
					    const char *name)
{
	for (int i = 0; i < st->nregions; i++)
		if (strcmp(st->regions[i].name, name) == 0)
			return &st->regions[i];
	return NULL;
}

static const char *node_state_name(const struct cluster_state *st,
				   const struct cluster_node *n)
{
	const struct cluster_region *reg = NULL;

	for (int i = 0; i < st->nregions; i++)
		if (strcmp(st->regions[i].name, n->region) == 0)
			reg = &st->regions[i];
	if (n->fenced)
		return "fenced";
	if (n->stopped)
		return "stopped";
	if (reg && n->ordinal >= reg->replicas)
		return n->pid ? "stopping" : "scaled-down";
	if (n->pid)
		return n->paused ? "paused" : "running";
	return "restarting";
}

static json_t *node_json(const struct cluster_state *st, const struct cluster_node *n,
			 int full)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(n->id));
	json_object_set_new(o, "region", json_string(n->region));
	json_object_set_new(o, "region_role", json_string(cluster_role_name(n->role)));
	json_object_set_new(o, "zone", json_string(n->zone));
	if (full)
		json_object_set_new(o, "pid", json_integer(n->pid));
	json_object_set_new(o, "address", json_string(n->address));
	json_object_set_new(o, "http_address", json_string(n->http_address));
	json_object_set_new(o, "raft_address", json_string(n->raft_address));
	if (!full)
		return o;
	json_object_set_new(o, "data", json_string(n->data));
	json_object_set_new(o, "log", json_string(n->log));
	json_object_set_new(o, "process", json_string(node_state_name(st, n)));
	json_object_set_new(o, "stopped", json_boolean(n->stopped));
	json_object_set_new(o, "fenced", json_boolean(n->fenced));
	json_object_set_new(o, "paused", json_boolean(n->paused));
	json_object_set_new(o, "join", json_boolean(n->join));
	json_object_set_new(o, "restarts", json_integer(n->restarts));
	json_object_set_new(o, "ordinal", json_integer(n->ordinal));
	json_object_set_new(o, "last_exit", json_string(n->last_exit));
	return o;
}

json_t *cluster_state_to_json(const struct cluster_state *st)
{
	json_t *root = json_object(), *nodes = json_array(), *regions = json_array();
	char *sock = cluster_path(st->dir, "supervisor.sock");
	char *peers = cluster_path(st->dir, "peers.json");
	char net[32];

	snprintf(net, sizeof(net), "127.%d.%d.0", st->net_a, st->net_b);
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "cluster_id", json_string(st->cluster_id));
	json_object_set_new(root, "network", json_string(net));
	for (int i = 0; i < st->nnodes; i++)
		json_array_append_new(nodes, node_json(st, &st->nodes[i], 1));
	json_object_set_new(root, "nodes", nodes);
	for (int i = 0; i < st->nregions; i++) {
		const struct cluster_region *r = &st->regions[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(r->name));
		json_object_set_new(o, "role", json_string(cluster_role_name(r->role)));
		json_object_set_new(o, "size", json_integer(r->size));
		json_object_set_new(o, "zones", json_integer(r->zones));
		json_object_set_new(o, "replicas", json_integer(r->replicas));
		json_array_append_new(regions, o);
	}
	json_object_set_new(root, "regions", regions);
	json_object_set_new(root, "supervisor_pid", json_integer(st->supervisor_pid));
	json_object_set_new(root, "socket", json_string(sock));
	json_object_set_new(root, "peers", json_string(peers));
	json_object_set_new(root, "timing",
			    json_pack("{s:i,s:i}", "election_timeout_ms",
				      st->election_timeout_ms, "heartbeat_ms",
				      st->heartbeat_ms));
	json_object_set_new(root, "enable_debug", json_boolean(st->enable_debug));
	/* Each node's data directory is its own tmpfs of this size (cluster_disk.c). */
	if (st->disk_limit_mb > 0)
		json_object_set_new(root, "disk_limit_mb", json_integer(st->disk_limit_mb));
	json_object_set_new(root, "ledgerd", json_string(st->ledgerd));
	json_object_set_new(root, "seed_snapshot",
			    st->seed_snapshot ? json_string(st->seed_snapshot) : json_null());
	free(sock);
	free(peers);
	return root;
}

/* Field readers that name what was wrong. */
static int get_str(char *buf, size_t len, json_t *o, const char *key,
		   const char *where, struct dr_error *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		return dr_error_set(err, "%s: '%s' must be a string", where, key);
	if (str_copy(buf, len, json_string_value(v)) != 0)
		return dr_error_set(err, "%s: '%s' is too long", where, key);
	return 0;
}

static int get_int(int *out, json_t *o, const char *key, int min, int max,
		   const char *where, struct dr_error *err)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return dr_error_set(err, "%s: '%s' must be an integer in %d..%d", where,
				    key, min, max);
	*out = (int)json_integer_value(v);
	return 0;
}

static int get_bool(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

static int parse_node(struct cluster_node *n, json_t *o, int index,
		      struct dr_error *err)
{
	char where[32], role[16], data[4096], log[4096];
	int pid = 0;

	snprintf(where, sizeof(where), "nodes[%d]", index);
	if (!json_is_object(o))
		return dr_error_set(err, "%s must be an object", where);
	if (get_int(&n->id, o, "id", 1, 255, where, err) ||
	    get_str(n->region, sizeof(n->region), o, "region", where, err) ||
	    get_str(role, sizeof(role), o, "region_role", where, err) ||
	    get_str(n->zone, sizeof(n->zone), o, "zone", where, err) ||
	    get_str(n->address, sizeof(n->address), o, "address", where, err) ||
	    get_str(n->http_address, sizeof(n->http_address), o, "http_address", where, err) ||
	    get_str(n->raft_address, sizeof(n->raft_address), o, "raft_address", where, err) ||
	    get_str(data, sizeof(data), o, "data", where, err) ||
	    get_int(&pid, o, "pid", 0, 1 << 30, where, err))
		return -1;
	if (cluster_role_parse(&n->role, role) != 0)
		return dr_error_set(err, "%s: unknown region_role '%s'", where, role);
	if (get_str(log, sizeof(log), o, "log", where, err) != 0)
		return -1;
	n->pid = pid;
	n->data = xstrdup(data);
	n->log = xstrdup(log);
	n->stopped = get_bool(o, "stopped");
	n->fenced = get_bool(o, "fenced");
	n->paused = get_bool(o, "paused");
	n->join = get_bool(o, "join");
	if (json_is_integer(json_object_get(o, "restarts")))
		n->restarts = (int)json_integer_value(json_object_get(o, "restarts"));
	if (json_is_integer(json_object_get(o, "ordinal")))
		n->ordinal = (int)json_integer_value(json_object_get(o, "ordinal"));
	if (json_is_string(json_object_get(o, "last_exit")))
		str_copy(n->last_exit, sizeof(n->last_exit),
			 json_string_value(json_object_get(o, "last_exit")));
	return 0;
}

int cluster_state_from_json(struct cluster_state *out, const char *dir,
			    json_t *root, struct dr_error *err)
{
	json_t *nodes, *regions, *timing, *v;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->dir = xstrdup(dir);
	if (!json_is_object(root)) {
		dr_error_set(err, "cluster.json must hold an object");
		goto out;
	}
	if (get_str(out->cluster_id, sizeof(out->cluster_id), root, "cluster_id",
		    "cluster.json", err) != 0)
		goto out;
	v = json_object_get(root, "network");
	if (!json_is_string(v) ||
	    sscanf(json_string_value(v), "127.%d.%d.0", &out->net_a, &out->net_b) != 2) {
		dr_error_set(err, "cluster.json: 'network' must be \"127.A.B.0\"");
		goto out;
	}
	nodes = json_object_get(root, "nodes");
	regions = json_object_get(root, "regions");
	if (!json_is_array(nodes) || json_array_size(nodes) > CLUSTER_MAX_NODES ||
	    !json_is_array(regions) || json_array_size(regions) > CLUSTER_MAX_REGIONS) {
		dr_error_set(err, "cluster.json: 'nodes' and 'regions' must be arrays (at most %d nodes)",
			     CLUSTER_MAX_NODES);
		goto out;
	}
	for (i = 0; i < json_array_size(nodes); i++) {
		if (parse_node(&out->nodes[i], json_array_get(nodes, i), (int)i, err) != 0)
			goto out;
		out->nnodes++;
	}
	for (i = 0; i < json_array_size(regions); i++) {
		struct cluster_region *r = &out->regions[i];
		json_t *o = json_array_get(regions, i);
		char where[32], role[16];

		snprintf(where, sizeof(where), "regions[%zu]", i);
		if (get_str(r->name, sizeof(r->name), o, "name", where, err) ||
		    get_str(role, sizeof(role), o, "role", where, err) ||
		    get_int(&r->size, o, "size", 0, CLUSTER_MAX_NODES, where, err) ||
		    get_int(&r->zones, o, "zones", 1, 26, where, err) ||
		    get_int(&r->replicas, o, "replicas", 0, CLUSTER_MAX_NODES, where, err))
			goto out;
		if (cluster_role_parse(&r->role, role) != 0) {
			dr_error_set(err, "%s: unknown role '%s'", where, role);
			goto out;
		}
		out->nregions++;
	}
	timing = json_object_get(root, "timing");
	if (get_int(&out->election_timeout_ms, timing, "election_timeout_ms", 1, 600000,
		    "cluster.json timing", err) ||
	    get_int(&out->heartbeat_ms, timing, "heartbeat_ms", 1, 600000,
		    "cluster.json timing", err))
		goto out;
	v = json_object_get(root, "ledgerd");
	if (!json_is_string(v)) {
		dr_error_set(err, "cluster.json: 'ledgerd' must be a string");
		goto out;
	}
	out->ledgerd = xstrdup(json_string_value(v));
	v = json_object_get(root, "seed_snapshot");
	if (json_is_string(v))
		out->seed_snapshot = xstrdup(json_string_value(v));
	out->enable_debug = get_bool(root, "enable_debug");
	v = json_object_get(root, "disk_limit_mb");
	if (v && get_int(&out->disk_limit_mb, root, "disk_limit_mb", 1, CLUSTER_DISK_LIMIT_MAX_MB,
			 "cluster.json", err) != 0)
		goto out;
	v = json_object_get(root, "supervisor_pid");
	if (json_is_integer(v))
		out->supervisor_pid = (pid_t)json_integer_value(v);
	rc = 0;
out:
	if (rc != 0)
		cluster_state_release(out);
	return rc;
}

int cluster_load(json_t **out, const char *dir, struct dr_error *err)
{
	char *path = cluster_path(dir, "cluster.json");
	json_error_t jerr;
	int rc = 0;

	*out = json_load_file(path, 0, &jerr);
	if (!*out) {
		if (!fs_exists(path))
			rc = dr_error_set(err, "no cluster in '%s': '%s' does not exist",
					  dir, path);
		else
			rc = dr_error_set(err, "cannot read '%s': %s (line %d)", path,
					  jerr.text, jerr.line);
	}
	free(path);
	return rc;
}

int cluster_state_load(struct cluster_state *out, const char *dir,
		       struct dr_error *err)
{
	json_t *root = NULL;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if (cluster_load(&root, dir, err) != 0)
		goto out;
	rc = cluster_state_from_json(out, dir, root, err);
out:
	json_decref(root);
	return rc;
}

static int save_json(const char *path, json_t *root, struct dr_error *err)
{
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	struct strbuf sb = STRBUF_INIT;
	int rc;

	strbuf_adds(&sb, text);
	strbuf_addch(&sb, '\n');
	rc = fs_write_atomic(path, sb.buf, sb.len, err);
	strbuf_release(&sb);
	free(text);
	return rc;
}

int cluster_state_save(const struct cluster_state *st, struct dr_error *err)
{
	char *path = cluster_path(st->dir, "cluster.json");
	json_t *root = cluster_state_to_json(st);
	int rc = save_json(path, root, err);

	json_decref(root);
	free(path);
	return rc;
}

json_t *cluster_state_peers_json(const struct cluster_state *st)
{
	json_t *nodes = json_array();

	for (int i = 0; i < st->nnodes; i++)
		if (!st->nodes[i].fenced)
			json_array_append_new(nodes, node_json(st, &st->nodes[i], 0));
	return json_pack("{s:s,s:o}", "cluster_id", st->cluster_id, "nodes", nodes);
}

int cluster_state_write_peers(const struct cluster_state *st, struct dr_error *err)
{
	char *path = cluster_path(st->dir, "peers.json");
	json_t *root = cluster_state_peers_json(st);
	int rc = save_json(path, root, err);

	json_decref(root);
	free(path);
	return rc;
}
