/* Plan sections other than steps and rollback (plan_steps.c) and vars
 * (plan_load.c): topology, objectives, workload, steady_state, abort_when.
 * Rules are documented in docs/plan-reference.md. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/plan/duration.h"
#include "harness/plan/plan_sections.h"

#define MS(n) ((int64_t)(n) * NS_PER_MS)

int64_t plan_section_duration(const json_t *v)
{
	struct dr_error err = DR_ERROR_INIT;
	int64_t ns = 0;

	if (json_is_string(v) && duration_parse(&ns, json_string_value(v), &err) == 0)
		return ns;
	return 0;
}

static const char *const role_names[] = { "primary", "dr", "witness", NULL };

const char *plan_role_name(enum plan_role role)
{
	return (unsigned)role < 3 ? role_names[role] : "unknown";
}

/* [a-z][a-z0-9-]*, at most 32, not ending in '-' (the local cluster's
 * naming rule, so every plan region can be started locally). */
static int region_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || !islower((unsigned char)s[0]) || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static void add_region(struct plan *plan, const char *name, enum plan_role role, int size,
		       int zones)
{
	struct plan_topology *t = &plan->topology;
	struct plan_region *r;

	t->regions = xrealloc(t->regions, (t->nregions + 1) * sizeof(*t->regions));
	r = &t->regions[t->nregions++];
	r->name = xstrdup(name);
	r->role = role;
	r->size = size;
	r->zones = zones;
}

static void check_region_entry(struct schema_ctx *ctx, json_t *entry, const char *path,
			       const char *name_from_key, struct plan *plan)
{
	static const char *const roles[] = { "primary", "dr", "witness", NULL };
	static const struct arg_spec list_args[] = {
		{ "name", ARG_STRING, 1, NULL, NULL, 0, 0, "region name" },
		{ "role", ARG_ENUM, 1, NULL, roles, 0, 0, "primary | dr | witness" },
		{ "size", ARG_INT, 0, NULL, NULL, 1, 9, "nodes" },
		{ "zones", ARG_INT, 0, NULL, NULL, 1, 9, "zones" },
		{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
	};
	const struct arg_spec *args = name_from_key ? list_args + 1 : list_args;
	size_t before = ctx->diags->errors;
	const char *name, *role_s;
	enum plan_role role = PLAN_ROLE_PRIMARY;
	int size, zones;

	if (!json_is_object(entry)) {
		schema_err_obj(ctx, entry, path, "expected a region mapping {%srole, size}",
			       name_from_key ? "" : "name, ");
		return;
	}
	if (name_from_key && json_object_get(entry, "name")) {
		schema_err_key(ctx, entry, path, "name", "in the mapping form a region's name is "
			       "its key ('%s'); remove 'name'", name_from_key);
		json_object_del(entry, "name");
	}
	schema_check_args(ctx, entry, path, args, NULL, "a region");
	if (ctx->diags->errors > before)
		return;
	name = name_from_key ? name_from_key : json_string_value(json_object_get(entry, "name"));
	role_s = json_string_value(json_object_get(entry, "role"));
	for (int i = 0; i < 3; i++)
		if (strcmp(role_s, role_names[i]) == 0)
			role = (enum plan_role)i;
	if (!region_name_ok(name)) {
		if (name_from_key)
			schema_err_obj(ctx, entry, path, "invalid region name '%s' (lowercase letters, "
				       "digits and '-', starting with a letter, at most 32)", name);
		else
			schema_err_key(ctx, entry, path, "name", "invalid region name '%s' (lowercase "
				       "letters, digits and '-', starting with a letter, at most 32)",
				       name);
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (strcmp(name, role_names[i]) == 0 && (int)role != i) {
			schema_err_obj(ctx, entry, path, "region '%s' has role '%s': a region named "
				       "after a role must have that role", name, role_s);
			return;
		}
	}
	if (strcmp(name, "restored") == 0) {
		schema_err_obj(ctx, entry, path, "region name 'restored' is reserved for the "
			       "cluster a restore_snapshot step starts");
		return;
	}
	for (size_t i = 0; i < plan->topology.nregions; i++) {
		if (strcmp(plan->topology.regions[i].name, name) == 0) {
			schema_err_obj(ctx, entry, path, "duplicate region name '%s'", name);
			return;
		}
	}
	size = (int)json_integer_value(json_object_get(entry, "size"));
	if (!json_object_get(entry, "size"))
		size = role == PLAN_ROLE_WITNESS ? 1 : 2;
	zones = json_object_get(entry, "zones") ?
		(int)json_integer_value(json_object_get(entry, "zones")) : (size < 2 ? size : 2);
	if (zones > size) {
		schema_err_key(ctx, entry, path, "zones", "%d zones for %d node%s: a zone needs at "
			       "least one node", zones, size, size == 1 ? "" : "s");
		return;
	}
	if (role == PLAN_ROLE_WITNESS && size > 3) {
		schema_err_key(ctx, entry, path, "size", "a witness region holds at most 3 nodes "
			       "(it only breaks ties)");
		return;
	}
	add_region(plan, name, role, size, zones);
}

static int parse_timing(int64_t *e, int64_t *h, const char *text)
{
	const char *slash = strchr(text, '/');
	struct dr_error err = DR_ERROR_INIT;
	char *a;
	int rc;

	if (!slash)
		return -1;
	a = xstrndup(text, (size_t)(slash - text));
	rc = duration_parse(e, a, &err) || duration_parse(h, slash + 1, &err) ? -1 : 0;
	free(a);
	return rc;
}

void plan_section_topology(struct schema_ctx *ctx, json_t *root, struct plan *plan,
			   const char *timing_override)
{
	static const char *const topo_keys[] = { "regions", "timing", NULL };
	static const struct arg_spec timing_args[] = {
		{ "election_timeout", ARG_DURATION, 0, NULL, NULL, 0, 0, "election timeout" },
		{ "heartbeat", ARG_DURATION, 0, NULL, NULL, 0, 0, "heartbeat interval" },
		{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
	};
	json_t *topo = json_object_get(root, "topology"), *regions, *timing;
	struct plan_topology *t = &plan->topology;
	size_t before = ctx->diags->errors;
	int primaries = 0, witnesses = 0, total = 0;

	t->election_timeout_ns = MS(300);
	t->heartbeat_ns = MS(30);
	if (topo && !json_is_object(topo)) {
		schema_err_key(ctx, root, "", "topology", "expected a mapping {regions, timing}");
		topo = NULL;
	}
	if (topo) {
		t->has_topology = 1;
		schema_check_args(ctx, topo, "topology", NULL, topo_keys, "topology");
		regions = json_object_get(topo, "regions");
		if (!regions) {
			schema_err_obj(ctx, topo, "topology", "missing required key 'regions'");
		} else if (json_is_array(regions)) {
			for (size_t i = 0; i < json_array_size(regions); i++) {
				char *p = xasprintf("topology.regions[%zu]", i);
				json_t *e = json_array_get(regions, i);

				if (!json_is_object(e)) {
					const struct yj_pos *pos = yj_index_pos(ctx->doc, regions, i);

					plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file,
						       pos ? pos->line : 0, pos ? pos->column : 0, p,
						       "expected a region mapping {name, role, size}");
				} else {
					check_region_entry(ctx, e, p, NULL, plan);
				}
				free(p);
			}
		} else if (json_is_object(regions)) {
			const char *k;
			json_t *e;

			json_object_foreach(regions, k, e) {
				char *p = xasprintf("topology.regions.%s", k);

				if (!json_is_object(e))
					schema_err_key(ctx, regions, "topology.regions", k,
						       "expected a region mapping {role, size}");
				else
					check_region_entry(ctx, e, p, k, plan);
				free(p);
			}
		} else {
			schema_err_key(ctx, topo, "topology", "regions", "expected a list of "
				       "{name, role, size} or a mapping name -> {role, size}");
		}
		if (t->nregions == 0 && ctx->diags->errors == before)
			schema_err_key(ctx, topo, "topology", "regions", "a topology needs at least "
				       "one region");
		timing = json_object_get(topo, "timing");
		if (timing && !json_is_object(timing)) {
			schema_err_key(ctx, topo, "topology", "timing", "expected a mapping "
				       "{election_timeout, heartbeat}");
		} else if (timing) {
			if (schema_check_args(ctx, timing, "topology.timing", timing_args, NULL,
					      "timing") == 0) {
				t->has_timing = 1;
				if (json_object_get(timing, "election_timeout"))
					t->election_timeout_ns = plan_section_duration(
						json_object_get(timing, "election_timeout"));
				if (json_object_get(timing, "heartbeat"))
					t->heartbeat_ns = plan_section_duration(
						json_object_get(timing, "heartbeat"));
				if (t->heartbeat_ns <= 0 || t->election_timeout_ns <= 0 ||
				    t->heartbeat_ns >= t->election_timeout_ns)
					schema_err_obj(ctx, timing, "topology.timing",
						       "heartbeat must be positive and shorter than "
						       "election_timeout");
				else if (t->election_timeout_ns > 60 * NS_PER_SEC)
					schema_err_key(ctx, timing, "topology.timing",
						       "election_timeout", "election_timeout over 60s "
						       "would make every failover slower than the RTO");
			}
		}
		for (size_t i = 0; i < t->nregions; i++) {
			total += t->regions[i].size;
			if (t->regions[i].role == PLAN_ROLE_PRIMARY)
				primaries++;
			if (t->regions[i].role == PLAN_ROLE_WITNESS)
				witnesses++;
		}
		if (t->nregions > 0 && primaries != 1)
			schema_err_key(ctx, topo, "topology", "regions", "expected exactly one "
				       "region with role primary, found %d", primaries);
		if (witnesses > 1)
			schema_err_key(ctx, topo, "topology", "regions", "expected at most one "
				       "witness region, found %d", witnesses);
		if (ctx->diags->errors == before && total > 15)
			schema_err_key(ctx, topo, "topology", "regions", "%d nodes in all: at most "
				       "15", total);
	} else {
		add_region(plan, "primary", PLAN_ROLE_PRIMARY, 2, 2);
		add_region(plan, "dr", PLAN_ROLE_DR, 2, 2);
		add_region(plan, "witness", PLAN_ROLE_WITNESS, 1, 1);
	}
	if (timing_override) {
		int64_t e, h;

		if (parse_timing(&e, &h, timing_override) != 0 || h <= 0 || h >= e)
			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, 0, 0, "--timing",
				       "invalid '%s': expected ELECTION/HEARTBEAT like 300ms/30ms, "
				       "the heartbeat shorter", timing_override);
		else {
			t->election_timeout_ns = e;
			t->heartbeat_ns = h;
			t->has_timing = 1;
		}
	}
}

/* "99.5%" or a number 0..100. */
static int parse_percent(double *out, const json_t *v)
{
	const char *s;
	char *end;
	double d;

	if (json_is_number(v)) {
		d = json_number_value(v);
	} else if ((s = json_string_value(v))) {
		size_t n = strlen(s);

		if (n < 2 || s[n - 1] != '%')
			return -1;
		d = strtod(s, &end);
		if (end != s + n - 1 || end == s)
			return -1;
	} else {
		return -1;
	}
	if (!isfinite(d) || d < 0 || d > 100)
		return -1;
	*out = d;
	return 0;
}

void plan_section_objectives(struct schema_ctx *ctx, json_t *root, struct plan *plan)
{
	static const struct arg_spec args[] = {
		{ "rto", ARG_DURATION, 0, NULL, NULL, 0, 0, "longest write outage" },
		{ "promotion", ARG_DURATION, 0, NULL, NULL, 0, 0, "fault to a leader in DR" },
		{ "resync", ARG_DURATION, 0, NULL, NULL, 0, 0, "restore to Fully replicated" },
		{ "max_lag", ARG_DURATION, 0, NULL, NULL, 0, 0, "largest replication lag" },
		{ "rpo_window", ARG_DURATION, 0, NULL, NULL, 0, 0, "age of the oldest lost write" },
		{ "rpo", ARG_INT, 0, NULL, NULL, 0, INT64_MAX, "lost acknowledged writes" },
		{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
	};
	static const char *const extra[] = { "availability", NULL };
	json_t *o = json_object_get(root, "objectives"), *v;
	struct plan_objectives *ob = &plan->objectives;

	ob->has_rpo_writes = 1;
	ob->rpo_writes = 0;
	if (!o)
		return;
	if (!json_is_object(o)) {
		schema_err_key(ctx, root, "", "objectives", "expected a mapping of objectives "
			       "(rto, promotion, resync, max_lag, rpo_window, rpo, availability)");
		return;
	}
	schema_check_args(ctx, o, "objectives", args, extra, "objectives");
#define DUR(field, key) \
	if ((v = json_object_get(o, key))) { ob->has_##field = 1; ob->field##_ns = plan_section_duration(v); }
	DUR(rto, "rto")
	DUR(promotion, "promotion")
	DUR(resync, "resync")
	DUR(max_lag, "max_lag")
	DUR(rpo_window, "rpo_window")
#undef DUR
	if ((v = json_object_get(o, "rpo"))) {
		ob->rpo_writes = json_integer_value(v);
		ob->rpo_stated = 1;
	}
	if ((v = json_object_get(o, "availability"))) {
		if (parse_percent(&ob->availability_pct, v) != 0)
			schema_err_key(ctx, o, "objectives", "availability", "expected a percentage "
				       "like '99.5%%' or a number from 0 to 100");
		else
			ob->has_availability = 1;
	}
}

#define MAX_BASELINE_NS (600 * (int64_t)1000000000)

void plan_section_workload(struct schema_ctx *ctx, json_t *root, struct plan *plan)
{
	static const struct arg_spec args[] = {
		{ "enabled", ARG_BOOL, 0, "true", NULL, 0, 0, "run the writer" },
		{ "rate", ARG_NUMBER, 0, "0", NULL, 0, 100000, "writes per second (0: closed loop)" },
		{ "timeout", ARG_DURATION, 0, "200ms", NULL, 0, 0, "per call" },
		{ "poll_interval", ARG_DURATION, 0, "20ms", NULL, 0, 0, "between status polls" },
		{ "payload_size", ARG_INT, 0, "64", NULL, 1, 1048576, "bytes per write" },
		{ "baseline", ARG_DURATION, 0, "0s", NULL, 0, 0,
		  "steady writes before the first fault (0s: none)" },
		{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
	};
	json_t *w = json_object_get(root, "workload");
	struct plan_workload *wl = &plan->workload;

	wl->enabled = 1;
	wl->rate = 0;
	wl->timeout_ns = MS(200);
	wl->poll_interval_ns = MS(20);
	wl->payload_size = 64;
	wl->baseline_ns = 0;
	if (!w)
		return;
	if (!json_is_object(w)) {
		schema_err_key(ctx, root, "", "workload", "expected a mapping {enabled, rate, "
			       "timeout, poll_interval, payload_size, baseline}");
		return;
	}
	if (schema_check_args(ctx, w, "workload", args, NULL, "workload"))
		return;
	wl->enabled = json_is_true(json_object_get(w, "enabled"));
	wl->rate = json_number_value(json_object_get(w, "rate"));
	wl->timeout_ns = plan_section_duration(json_object_get(w, "timeout"));
	wl->poll_interval_ns = plan_section_duration(json_object_get(w, "poll_interval"));
	wl->payload_size = (int)json_integer_value(json_object_get(w, "payload_size"));
	if (wl->timeout_ns <= 0)
		schema_err_key(ctx, w, "workload", "timeout", "the call timeout must be positive");
	if (wl->poll_interval_ns <= 0)
		schema_err_key(ctx, w, "workload", "poll_interval", "must be positive");
	wl->baseline_ns = plan_section_duration(json_object_get(w, "baseline"));
	/* A baseline is a few seconds of normal writes, not a soak. */
	if (wl->baseline_ns > MAX_BASELINE_NS)
		schema_err_key(ctx, w, "workload", "baseline", "must be at most 10m");
}

void plan_section_steady_state(struct schema_ctx *ctx, json_t *root, struct plan *plan)
{
	json_t *ss = json_object_get(root, "steady_state");

	if (!ss) {
		ss = json_array();
		json_object_set_new(root, "steady_state", ss);
	}
	plan->steady_state = ss;
	if (!json_is_array(ss)) {
		schema_err_key(ctx, root, "", "steady_state", "expected a list of probes");
		return;
	}
	for (size_t i = 0; i < json_array_size(ss); i++) {
		char *p = xasprintf("steady_state[%zu]", i);
		json_t *e = json_array_get(ss, i);

		if (!json_is_object(e)) {
			const struct yj_pos *pos = yj_index_pos(ctx->doc, ss, i);

			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, pos ? pos->line : 0,
				       pos ? pos->column : 0, p, "expected a probe mapping like "
				       "{type: write_read}");
		} else {
			schema_check_probe(ctx, e, p);
		}
		free(p);
	}
}

void plan_section_abort_when(struct schema_ctx *ctx, json_t *root, struct plan *plan)
{
	static const struct arg_spec args[] = {
		{ "name", ARG_STRING, 0, NULL, NULL, 0, 0, "label" },
		{ "probe", ARG_PROBE, 0, NULL, NULL, 0, 0, "probe checked in the background" },
		{ "for", ARG_DURATION, 0, NULL, NULL, 0, 0, "failing continuously this long" },
		{ "no_leader_for", ARG_DURATION, 0, NULL, NULL, 0, 0, "no leader for this long" },
		{ NULL, 0, 0, NULL, NULL, 0, 0, NULL },
	};
	json_t *aw = json_object_get(root, "abort_when");

	if (!aw) {
		aw = json_array();
		json_object_set_new(root, "abort_when", aw);
	}
	plan->abort_when = aw;
	if (!json_is_array(aw)) {
		schema_err_key(ctx, root, "", "abort_when", "expected a list of conditions like "
			       "{no_leader_for: 30s} or {probe: {...}, for: 10s}");
		return;
	}
	for (size_t i = 0; i < json_array_size(aw); i++) {
		char *p = xasprintf("abort_when[%zu]", i);
		json_t *e = json_array_get(aw, i);

		if (!json_is_object(e)) {
			const struct yj_pos *pos = yj_index_pos(ctx->doc, aw, i);

			plan_diags_add(ctx->diags, PLAN_DIAG_ERROR, ctx->file, pos ? pos->line : 0,
				       pos ? pos->column : 0, p, "expected a condition like "
				       "{no_leader_for: 30s} or {probe: {...}, for: 10s}");
			free(p);
			continue;
		}
		schema_check_args(ctx, e, p, args, NULL, "an abort condition");
		schema_require_one_of(ctx, e, p, "probe", "no_leader_for");
		if (json_object_get(e, "for") && !json_object_get(e, "probe"))
			schema_err_key(ctx, e, p, "for", "'for' applies to a probe condition");
		else if (json_object_get(e, "probe") && !json_object_get(e, "for"))
			json_object_set_new(e, "for", json_string("0s"));
		free(p);
	}
}
