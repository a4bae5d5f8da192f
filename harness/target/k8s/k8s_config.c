#include "harness/target/k8s/k8s_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/numparse.h"
#include "common/strbuf.h"
#include "harness/plan/duration.h"
#include "harness/yaml/yaml_json.h"

#define CONFIG_MAX_BYTES (1u << 20)

struct cfg_ctx {
	const char *path;
	struct yj_doc doc;
	struct dr_error *err;
	int failed;
	/* The top level's transport and address template: the regions' defaults. */
	enum k8s_transport transport;
	char *address_template;
};

static void cfg_err(struct cfg_ctx *c, const json_t *parent, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The first error wins: it is the one the user fixes first. */
static void cfg_err(struct cfg_ctx *c, const json_t *parent, const char *key, const char *fmt, ...)
{
	const struct yj_pos *pos = NULL;
	char msg[768];
	va_list ap;

	if (c->failed)
		return;
	c->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (parent && key)
		pos = yj_key_pos(&c->doc, parent, key);
	if (!pos && parent)
		pos = yj_node_pos(&c->doc, parent);
	if (pos)
		dr_error_set(c->err, "%s:%u:%u: %s%s%s", c->path, pos->line, pos->column,
			     key ? key : "", key ? ": " : "", msg);
	else
		dr_error_set(c->err, "%s: %s%s%s", c->path, key ? key : "", key ? ": " : "", msg);
}

static void on_yj_error(unsigned line, unsigned column, const char *msg, void *payload)
{
	struct cfg_ctx *c = payload;

	if (c->failed)
		return;
	c->failed = 1;
	dr_error_set(c->err, "%s:%u:%u: %s", c->path, line, column, msg);
}

static char *opt_str(struct cfg_ctx *c, json_t *obj, const char *key, const char *dflt)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return dflt ? xstrdup(dflt) : NULL;
	if (!json_is_string(v) || !json_string_value(v)[0]) {
		cfg_err(c, obj, key, "expected a non-empty string");
		return dflt ? xstrdup(dflt) : NULL;
	}
	return xstrdup(json_string_value(v));
}

static char *req_str(struct cfg_ctx *c, json_t *obj, const char *key, const char *where)
{
	char *s = opt_str(c, obj, key, NULL);

	if (!s && !json_object_get(obj, key))
		cfg_err(c, obj, NULL, "%s needs '%s'", where, key);
	return s;
}

static int opt_int(struct cfg_ctx *c, json_t *obj, const char *key, int dflt, int lo, int hi)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return dflt;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
		cfg_err(c, obj, key, "expected an integer from %d to %d", lo, hi);
		return dflt;
	}
	return (int)json_integer_value(v);
}

static char **str_list(struct cfg_ctx *c, json_t *obj, const char *key, size_t *n)
{
	json_t *v = json_object_get(obj, key), *e;
	char **out;
	size_t i;

	*n = 0;
	if (!v)
		return NULL;
	if (!json_is_array(v)) {
		cfg_err(c, obj, key, "expected a list of strings");
		return NULL;
	}
	out = xcalloc(json_array_size(v) + 1, sizeof(char *));
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || !json_string_value(e)[0]) {
			cfg_err(c, obj, key, "item %zu is not a non-empty string", i + 1);
			continue;
		}
		out[(*n)++] = xstrdup(json_string_value(e));
	}
	return out;
}

static void check_keys(struct cfg_ctx *c, json_t *obj, const char *const *known, const char *where)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		int ok = 0;

		for (size_t i = 0; known[i]; i++)
			ok |= strcmp(known[i], key) == 0;
		if (!ok)
			cfg_err(c, obj, key, "unknown key in %s", where);
	}
}

/* Kubernetes object names: DNS-1123 labels/subdomains.  Checked here so a
 * typo never reaches a command line. */
static int dns_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
			return 0;
	}
	return s[0] != '-' && s[n - 1] != '-';
}

/* A Snowflake slug: an unsigned 64-bit integer, given as a YAML integer or
 * a string of digits; kept as its decimal string (proto3 JSON's uint64). */
static char *slug(struct cfg_ctx *c, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	uint64_t u;

	if (!v) {
		cfg_err(c, obj, NULL, "canary needs '%s' with api: ledger.v1 (its slug, a number)", key);
		return NULL;
	}
	if (json_is_integer(v) && json_integer_value(v) > 0)
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_string(v) && parse_uint64(&u, json_string_value(v), 1, UINT64_MAX) == 0)
		return xasprintf("%llu", (unsigned long long)u);
	cfg_err(c, obj, key, "expected a slug: an unsigned 64-bit number such as 1234567890123456789");
	return NULL;
}

static void opt_duration(struct cfg_ctx *c, json_t *obj, const char *key, int64_t *out,
			 int64_t lo, const char *range)
{
	json_t *v = json_object_get(obj, key);
	struct dr_error derr = DR_ERROR_INIT;
	int64_t ns;

	if (!v)
		return;
	if (!json_is_string(v) || duration_parse(&ns, json_string_value(v), &derr) != 0 || ns < lo)
		cfg_err(c, obj, key, "expected a duration %s", range);
	else
		*out = ns;
}

static void load_canary(struct cfg_ctx *c, struct k8s_config *cfg, json_t *root)
{
	static const char *const ck[] = { "organization", "vault", "caller", "key_prefix", "interval",
					  "timeout", "ttl", NULL };
	struct k8s_canary *k = &cfg->canary;
	json_t *v = json_object_get(root, "canary");

	k->interval_ns = NS_PER_SEC;
	k->timeout_ns = 10 * NS_PER_SEC;
	k->ttl_ns = 24 * 3600 * NS_PER_SEC;
	if (!v)
		return;
	if (!json_is_object(v)) {
		cfg_err(c, root, "canary", "expected a mapping (interval, timeout; with api: ledger.v1 "
			"also organization, vault, caller)");
		return;
	}
	check_keys(c, v, ck, "canary");
	k->enabled = 1;
	opt_duration(c, v, "interval", &k->interval_ns, 100 * NS_PER_MS, "of at least 100ms, such as 1s");
	opt_duration(c, v, "timeout", &k->timeout_ns, NS_PER_SEC, "of at least 1s, such as 10s");
	opt_duration(c, v, "ttl", &k->ttl_ns, 0, "such as 24h (0: the entries never expire)");
	if (k->ttl_ns > 0 && k->ttl_ns < 3600 * NS_PER_SEC)
		cfg_err(c, v, "ttl", "must be 0 or at least 1h: the entries are read back after the drill");
	if (cfg->api == K8S_API_LEDGER_V1) {
		k->organization = slug(c, v, "organization");
		k->vault = slug(c, v, "vault");
		k->caller = slug(c, v, "caller");
		k->key_prefix = opt_str(c, v, "key_prefix", "drillrig/canary/");
	} else {
		/* The runbook's Ledger/Append has no organization or vault. */
		static const char *const v1_only[] = { "organization", "vault", "caller", "key_prefix", NULL };

		for (size_t i = 0; v1_only[i]; i++)
			if (json_object_get(v, v1_only[i]))
				cfg_err(c, v, v1_only[i], "only with api: ledger.v1 (api: runbook writes "
					"canaries with inferadb.ledger.v1.Ledger/Append)");
	}
}

static void parse_transport(struct cfg_ctx *c, json_t *obj, enum k8s_transport dflt,
			    enum k8s_transport *out)
{
	const char *s = json_string_value(json_object_get(obj, "transport"));

	*out = dflt;
	if (!json_object_get(obj, "transport"))
		return;
	if (s && strcmp(s, "port-forward") == 0)
		*out = K8S_TRANSPORT_PORT_FORWARD;
	else if (s && strcmp(s, "direct") == 0)
		*out = K8S_TRANSPORT_DIRECT;
	else if (s && strcmp(s, "exec-grpcurl") == 0)
		*out = K8S_TRANSPORT_EXEC_GRPCURL;
	else
		cfg_err(c, obj, "transport", "expected port-forward, direct or exec-grpcurl");
}

/* An address template: host:port with only the known placeholders. */
static void check_template(struct cfg_ctx *c, json_t *obj, const char *t)
{
	static const char *const names[] = { "{pod}", "{ordinal}", "{namespace}", "{statefulset}",
					     "{region}", "{context}", NULL };
	const char *p, *colon = strrchr(t, ':');
	int64_t port;

	for (p = strchr(t, '{'); p; p = strchr(p + 1, '{')) {
		size_t k;

		for (k = 0; names[k] && strncmp(p, names[k], strlen(names[k])) != 0; k++)
			;
		if (!names[k]) {
			cfg_err(c, obj, "address_template", "unknown placeholder at '%.20s' (known: {pod}, "
				"{ordinal}, {namespace}, {statefulset}, {region}, {context})", p);
			return;
		}
	}
	if (!colon || colon == t || parse_int64(&port, colon + 1, 1, 65535) != 0)
		cfg_err(c, obj, "address_template", "expected host:port, such as "
			"{pod}.inferadb-ledger.{namespace}.svc.cluster.local:50051");
}

static void load_region(struct cfg_ctx *c, struct k8s_region *r, const char *name, json_t *obj)
{
	static const char *const known[] = {
		"role", "kubeconfig", "context", "namespace", "statefulset", "replicas",
		"admin_pod", "container", "zone_label", "ledger_region", "node_ids", "transport",
		"address_template", NULL,
	};
	char where[96];
	json_t *ids;

	snprintf(where, sizeof(where), "region '%s'", name);
	r->name = xstrdup(name);
	if (!json_is_object(obj)) {
		cfg_err(c, NULL, NULL, "region '%s' must be a mapping", name);
		return;
	}
	check_keys(c, obj, known, where);
	r->role = req_str(c, obj, "role", where);
	if (r->role && strcmp(r->role, "primary") != 0 && strcmp(r->role, "dr") != 0 &&
	    strcmp(r->role, "witness") != 0)
		cfg_err(c, obj, "role", "expected primary, dr or witness, got '%s'", r->role);
	r->kubeconfig = opt_str(c, obj, "kubeconfig", NULL);
	r->context = req_str(c, obj, "context", where);
	r->namespace = req_str(c, obj, "namespace", where);
	r->statefulset = req_str(c, obj, "statefulset", where);
	if (!json_object_get(obj, "replicas"))
		cfg_err(c, obj, NULL, "%s needs 'replicas' (its normal size)", where);
	r->replicas = opt_int(c, obj, "replicas", 1, 1, 1000);
	r->container = opt_str(c, obj, "container", NULL);
	r->zone_label = opt_str(c, obj, "zone_label", "topology.kubernetes.io/zone");
	r->ledger_region = opt_str(c, obj, "ledger_region", name);
	if (r->namespace && !dns_name_ok(r->namespace))
		cfg_err(c, obj, "namespace", "'%s' is not a valid Kubernetes name", r->namespace);
	if (r->statefulset && !dns_name_ok(r->statefulset))
		cfg_err(c, obj, "statefulset", "'%s' is not a valid Kubernetes name", r->statefulset);
	if (json_object_get(obj, "admin_pod"))
		r->admin_pod = opt_str(c, obj, "admin_pod", NULL);
	else if (r->statefulset)
		r->admin_pod = xasprintf("%s-0", r->statefulset);
	parse_transport(c, obj, c->transport, &r->transport);
	r->address_template = opt_str(c, obj, "address_template", c->address_template);
	if (r->address_template && json_object_get(obj, "address_template"))
		check_template(c, obj, r->address_template);
	if (r->transport == K8S_TRANSPORT_DIRECT && !r->address_template)
		cfg_err(c, obj, NULL, "%s uses transport: direct and needs an address_template (here or "
			"at the top), such as {pod}.inferadb-ledger.{namespace}.svc.cluster.local:50051",
			where);
	ids = json_object_get(obj, "node_ids");
	if (ids) {
		json_t *e;
		size_t i;

		if (!json_is_array(ids) || json_array_size(ids) == 0) {
			cfg_err(c, obj, "node_ids", "expected a list of ledger node ids, one per ordinal");
			return;
		}
		r->node_ids = xcalloc(json_array_size(ids), sizeof(int64_t));
		json_array_foreach(ids, i, e) {
			/* grpcurl prints 64-bit ids as strings; accept both here too. */
			if (json_is_integer(e) && json_integer_value(e) > 0)
				r->node_ids[r->nnode_ids++] = json_integer_value(e);
			else
				cfg_err(c, obj, "node_ids", "item %zu is not a positive integer", i + 1);
		}
	}
}

static void validate(struct cfg_ctx *c, struct k8s_config *cfg, json_t *root)
{
	json_t *regions = json_object_get(root, "regions");
	int primaries = 0;

	for (size_t i = 0; i < cfg->nregions; i++) {
		struct k8s_region *r = &cfg->regions[i];

		if (r->role && strcmp(r->role, "primary") == 0)
			primaries++;
		/* Anything else is refused before the first command runs. */
		if (r->context && !k8s_config_context_allowed(cfg, r->context))
			cfg_err(c, json_object_get(regions, r->name), "context",
				"context '%s' of region '%s' is not in allowed_contexts", r->context,
				r->name);
		for (size_t k = 0; k < i; k++)
			if (cfg->regions[k].node_ids && r->node_ids)
				for (size_t a = 0; a < r->nnode_ids; a++)
					for (size_t b = 0; b < cfg->regions[k].nnode_ids; b++)
						if (r->node_ids[a] == cfg->regions[k].node_ids[b])
							cfg_err(c, json_object_get(regions, r->name), "node_ids",
								"node %lld is also in region '%s'",
								(long long)r->node_ids[a], cfg->regions[k].name);
	}
	if (primaries != 1)
		cfg_err(c, root, "regions", "exactly one region must have role: primary (found %d)",
			primaries);
}

/* The continuous workload: with a ledger the runner can reach, it writes
 * through every pod (write-level RTO, as on the bundled cluster), unless
 * the configuration asks for canaries or nothing ("none"). */
static void pick_workload(struct cfg_ctx *c, struct k8s_config *cfg, json_t *root)
{
	const char *ep = cfg->workload_endpoint;

	if (ep && strcmp(ep, "none") == 0) {
		free(cfg->workload_endpoint);
		cfg->workload_endpoint = NULL;
		return;
	}
	if (ep && strcmp(ep, "pods") == 0 && k8s_config_uses_transport(cfg, K8S_TRANSPORT_EXEC_GRPCURL))
		cfg_err(c, root, "workload_endpoint", "pods needs every region on transport port-forward "
			"or direct (exec-grpcurl cannot carry a continuous workload)");
	if (!ep && !cfg->canary.enabled && !k8s_config_uses_transport(cfg, K8S_TRANSPORT_EXEC_GRPCURL))
		cfg->workload_endpoint = xstrdup("pods");
}

int k8s_config_parse(struct k8s_config **out, const char *path, const char *text,
		     size_t len, struct dr_error *err)
{
	static const char *const known[] = {
		"version", "kind", "api", "allowed_contexts", "regions", "kubectl", "grpcurl",
		"admin_port", "grpcurl_flags", "workload_endpoint", "lease", "snapshot_dir",
		"command_timeout", "canary", "transport", "address_template", "fault_engine", NULL,
	};
	struct cfg_ctx c = { path, YJ_DOC_INIT, err, 0, K8S_TRANSPORT_PORT_FORWARD, NULL };
	struct k8s_config *cfg = xcalloc(1, sizeof(*cfg));
	json_t *root, *v, *regions;
	const char *s;
	size_t off = strspn(text, " \t\r\n");
	int rc;

	rc = yj_load(&c.doc, text, len, off < len && (text[off] == '{') ? YJ_JSON : YJ_YAML,
		     on_yj_error, &c);
	if (rc < 0 || !c.doc.root) {
		if (!c.failed)
			dr_error_set(err, "%s: not valid YAML or JSON", path);
		c.failed = 1;
		goto out;
	}
	root = c.doc.root;
	cfg->path = xstrdup(path);
	if (!json_is_object(root)) {
		cfg_err(&c, NULL, NULL, "the configuration must be a mapping");
		goto out;
	}
	check_keys(&c, root, known, "the configuration");
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1)
		cfg_err(&c, root, "version", "expected version: 1");
	s = json_string_value(json_object_get(root, "kind"));
	if (json_object_get(root, "kind") && (!s || strcmp(s, "kubernetes") != 0))
		cfg_err(&c, root, "kind", "expected kind: kubernetes");
	s = json_string_value(json_object_get(root, "api"));
	/* No default: the wrong dialect fails every call, and the public
	 * ledger and the runbook's ledger are both called "v1". */
	if (!json_object_get(root, "api"))
		cfg_err(&c, root, NULL, "'api' is required: ledger.v1 (the public InferaDB ledger: "
			"ledger.v1.AdminService, ...) or runbook (inferadb.ledger.v1.Admin, ...)");
	else if (s && strcmp(s, "runbook") == 0)
		cfg->api = K8S_API_RUNBOOK;
	else if (s && strcmp(s, "ledger.v1") == 0)
		cfg->api = K8S_API_LEDGER_V1;
	else
		cfg_err(&c, root, "api", "expected runbook or ledger.v1");
	cfg->allowed_contexts = str_list(&c, root, "allowed_contexts", &cfg->nallowed);
	if (cfg->nallowed == 0)
		cfg_err(&c, root, "allowed_contexts",
			"required: the only contexts drillrig may touch (a non-empty list)");
	cfg->kubectl = opt_str(&c, root, "kubectl", "kubectl");
	cfg->grpcurl = opt_str(&c, root, "grpcurl", "grpcurl");
	cfg->admin_port = opt_int(&c, root, "admin_port", 50051, 1, 65535);
	if (json_object_get(root, "grpcurl_flags")) {
		cfg->grpcurl_flags = str_list(&c, root, "grpcurl_flags", &cfg->ngrpcurl_flags);
	} else {
		cfg->grpcurl_flags = xcalloc(2, sizeof(char *));
		cfg->grpcurl_flags[0] = xstrdup("-plaintext");
		cfg->ngrpcurl_flags = 1;
	}
	parse_transport(&c, root, K8S_TRANSPORT_PORT_FORWARD, &c.transport);
	c.address_template = opt_str(&c, root, "address_template", NULL);
	if (c.address_template)
		check_template(&c, root, c.address_template);
	s = json_string_value(json_object_get(root, "fault_engine"));
	if (!json_object_get(root, "fault_engine") || (s && strcmp(s, "kubectl") == 0))
		cfg->fault_engine = K8S_FAULTS_KUBECTL;
	else if (s && strcmp(s, "chaos-mesh") == 0)
		cfg->fault_engine = K8S_FAULTS_CHAOS_MESH;
	else
		cfg_err(&c, root, "fault_engine", "expected kubectl or chaos-mesh");
	cfg->workload_endpoint = opt_str(&c, root, "workload_endpoint", NULL);
	cfg->snapshot_dir = opt_str(&c, root, "snapshot_dir", "/var/lib/ledger/snapshots");
	cfg->command_timeout_ns = 30 * NS_PER_SEC;
	if ((v = json_object_get(root, "command_timeout"))) {
		struct dr_error derr = DR_ERROR_INIT;

		if (!json_is_string(v) ||
		    duration_parse(&cfg->command_timeout_ns, json_string_value(v), &derr) != 0 ||
		    cfg->command_timeout_ns <= 0)
			cfg_err(&c, root, "command_timeout", "expected a duration such as 30s");
	}
	v = json_object_get(root, "lease");
	cfg->lease_seconds = 120;
	if (v && !json_is_object(v)) {
		cfg_err(&c, root, "lease", "expected a mapping {name, duration_seconds}");
	} else if (v) {
		static const char *const lk[] = { "name", "duration_seconds", NULL };

		check_keys(&c, v, lk, "lease");
		cfg->lease_name = opt_str(&c, v, "name", NULL);
		cfg->lease_seconds = opt_int(&c, v, "duration_seconds", 120, 15, 86400);
	}
	if (!cfg->lease_name)
		cfg->lease_name = xstrdup("drillrig-drill-lock");
	if (!dns_name_ok(cfg->lease_name))
		cfg_err(&c, json_object_get(root, "lease"), "name", "'%s' is not a valid Kubernetes name",
			cfg->lease_name);
	load_canary(&c, cfg, root);
	regions = json_object_get(root, "regions");
	if (!json_is_object(regions) || json_object_size(regions) == 0) {
		cfg_err(&c, root, "regions", "required: a mapping of region name to its context");
	} else {
		const char *name;
		size_t i = 0;

		cfg->regions = xcalloc(json_object_size(regions), sizeof(*cfg->regions));
		/* jansson keeps insertion order: regions stay in file order. */
		json_object_foreach(regions, name, v) {
			load_region(&c, &cfg->regions[i++], name, v);
			cfg->nregions = i;
		}
	}
	if (!c.failed)
		validate(&c, cfg, root);
	if (!c.failed)
		pick_workload(&c, cfg, root);
out:
	free(c.address_template);
	yj_doc_release(&c.doc);
	if (c.failed) {
		k8s_config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int k8s_config_load(struct k8s_config **out, const char *path, struct dr_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (fs_read_file(&text, &len, path, CONFIG_MAX_BYTES, err) != 0)
		return dr_error_wrap(err, "cannot read the target configuration");
	rc = k8s_config_parse(out, path, text, len, err);
	free(text);
	return rc;
}

static void free_list(char **l, size_t n)
{
	for (size_t i = 0; l && i < n; i++)
		free(l[i]);
	free(l);
}

void k8s_config_free(struct k8s_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nregions; i++) {
		struct k8s_region *r = &cfg->regions[i];

		free(r->name);
		free(r->role);
		free(r->kubeconfig);
		free(r->context);
		free(r->namespace);
		free(r->statefulset);
		free(r->admin_pod);
		free(r->container);
		free(r->zone_label);
		free(r->ledger_region);
		free(r->node_ids);
		free(r->address_template);
	}
	free(cfg->regions);
	free_list(cfg->grpcurl_flags, cfg->ngrpcurl_flags);
	free_list(cfg->allowed_contexts, cfg->nallowed);
	free(cfg->path);
	free(cfg->kubectl);
	free(cfg->grpcurl);
	free(cfg->workload_endpoint);
	free(cfg->lease_name);
	free(cfg->snapshot_dir);
	free(cfg->canary.organization);
	free(cfg->canary.vault);
	free(cfg->canary.caller);
	free(cfg->canary.key_prefix);
	free(cfg);
}

int k8s_config_context_allowed(const struct k8s_config *cfg, const char *ctx)
{
	for (size_t i = 0; ctx && i < cfg->nallowed; i++)
		if (strcmp(cfg->allowed_contexts[i], ctx) == 0)
			return 1;
	return 0;
}

const struct k8s_region *k8s_config_region(const struct k8s_config *cfg, const char *ref)
{
	if (!ref)
		return NULL;
	for (size_t i = 0; i < cfg->nregions; i++)
		if (strcmp(cfg->regions[i].name, ref) == 0)
			return &cfg->regions[i];
	for (size_t i = 0; i < cfg->nregions; i++)
		if (cfg->regions[i].role && strcmp(cfg->regions[i].role, ref) == 0)
			return &cfg->regions[i];
	for (size_t i = 0; i < cfg->nregions; i++)
		if (strcmp(cfg->regions[i].ledger_region, ref) == 0)
			return &cfg->regions[i];
	return NULL;
}

const struct k8s_region *k8s_config_node_region(const struct k8s_config *cfg, int64_t id,
						 int *ordinal)
{
	for (size_t i = 0; i < cfg->nregions; i++)
		for (size_t k = 0; k < cfg->regions[i].nnode_ids; k++)
			if (cfg->regions[i].node_ids[k] == id) {
				if (ordinal)
					*ordinal = (int)k;
				return &cfg->regions[i];
			}
	return NULL;
}

const char *k8s_api_name(enum k8s_api api)
{
	return api == K8S_API_LEDGER_V1 ? "ledger.v1" : "runbook";
}

const char *k8s_transport_name(enum k8s_transport t)
{
	return t == K8S_TRANSPORT_DIRECT ? "direct" : t == K8S_TRANSPORT_EXEC_GRPCURL ? "exec-grpcurl"
										 : "port-forward";
}

int k8s_config_uses_transport(const struct k8s_config *cfg, enum k8s_transport t)
{
	for (size_t i = 0; i < cfg->nregions; i++)
		if (cfg->regions[i].transport == t)
			return 1;
	return 0;
}

char *k8s_config_direct_address(const struct k8s_region *r, const char *pod)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = r->address_template ? r->address_template : "{pod}:50051";
	const char *dash = strrchr(pod, '-');

	while (*p) {
		const char *v = NULL;
		size_t skip = 0;

		if (*p == '{') {
			static const char *const keys[] = { "{pod}", "{ordinal}", "{namespace}",
							    "{statefulset}", "{region}", "{context}" };
			const char *vals[6];

			vals[0] = pod;
			vals[1] = dash ? dash + 1 : "0";
			vals[2] = r->namespace;
			vals[3] = r->statefulset;
			vals[4] = r->name;
			vals[5] = r->context;
			for (size_t k = 0; k < 6 && !v; k++)
				if (strncmp(p, keys[k], strlen(keys[k])) == 0) {
					v = vals[k];
					skip = strlen(keys[k]);
				}
		}
		if (v) {
			strbuf_adds(&sb, v);
			p += skip;
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	return strbuf_detach(&sb);
}
