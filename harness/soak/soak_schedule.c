#include "harness/soak/soak_schedule.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/plan/duration.h"

#define SCHEDULE_VERSION 1
/* A schedule file larger than this is not one we wrote. */
#define SCHEDULE_MAX_BYTES (16u << 20)
#define SCHEDULE_MAX_FAULTS 1000000

static const char *const kind_names[SOAK_FAULT_KINDS] = {
	[SOAK_KILL_LEADER] = "kill-leader",
	[SOAK_KILL_FOLLOWER] = "kill-follower",
	[SOAK_SCALE_REGION] = "scale-region",
	[SOAK_PARTITION_REGION] = "partition-region",
	[SOAK_PAUSE_NODE] = "pause-node",
	[SOAK_TRANSFER_LEADER] = "transfer-leader",
	[SOAK_DROP_ENTRY] = "drop-entry",
	[SOAK_MUTE_LEADER] = "mute-leader",
	[SOAK_LOSSY_REGION] = "lossy-region",
};

const char *soak_fault_kind_name(enum soak_fault_kind kind)
{
	if ((int)kind < 0 || kind >= SOAK_FAULT_KINDS)
		return NULL;
	return kind_names[kind];
}

int soak_fault_kind_parse(enum soak_fault_kind *out, const char *name)
{
	for (int k = 0; k < SOAK_FAULT_KINDS; k++)
		if (name && strcmp(kind_names[k], name) == 0) {
			*out = (enum soak_fault_kind)k;
			return 0;
		}
	return -1;
}

int soak_fault_kinds_parse(unsigned *out, const char *text, struct dr_error *err)
{
	unsigned mask = 0;
	const char *p = text;

	if (!text || !*text)
		return dr_error_set(err, "no fault kinds given");
	while (*p) {
		size_t len = strcspn(p, ",");
		char *item = xstrndup(p, len);
		enum soak_fault_kind k;

		if (strcmp(item, "all") == 0) {
			mask |= SOAK_DEFAULT_KINDS | SOAK_KERNEL_KINDS;
		} else if (soak_fault_kind_parse(&k, item) == 0) {
			mask |= SOAK_KIND_BIT(k);
		} else {
			struct strbuf known = STRBUF_INIT;

			for (int i = 0; i < SOAK_FAULT_KINDS; i++)
				strbuf_addf(&known, "%s%s", i ? ", " : "", kind_names[i]);
			dr_error_set(err, "unknown fault kind '%s' (known: all, %s)", item, known.buf);
			strbuf_release(&known);
			free(item);
			return -1;
		}
		free(item);
		p += len;
		if (*p == ',')
			p++;
	}
	*out = mask;
	return 0;
}

/* splitmix64 (Steele, Lea, Flood): one 64-bit word of state, good enough
 * statistics for choosing faults, and trivially reproducible. */
uint64_t soak_rand_next(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

uint64_t soak_rand_below(uint64_t *state, uint64_t n)
{
	/* Rejection sampling: no modulo bias. */
	uint64_t limit = UINT64_MAX - UINT64_MAX % n, v;

	do
		v = soak_rand_next(state);
	while (v >= limit);
	return v % n;
}

static int spec_voters(const struct cluster_spec *spec)
{
	int total = 0;

	for (int i = 0; i < spec->nregions; i++)
		total += spec->regions[i].size;
	return total;
}

size_t soak_quorum_safe_regions(const struct cluster_spec *spec, const char **names, size_t max)
{
	int total = spec_voters(spec), quorum = total / 2 + 1;
	size_t n = 0;

	for (int i = 0; i < spec->nregions && n < max; i++)
		if (total - spec->regions[i].size >= quorum)
			names[n++] = spec->regions[i].name;
	return n;
}

/* Nodes that may lead: everything but witnesses. */
static int spec_leaders(const struct cluster_spec *spec)
{
	int n = 0;

	for (int i = 0; i < spec->nregions; i++)
		if (spec->regions[i].role != CLUSTER_ROLE_WITNESS)
			n += spec->regions[i].size;
	return n;
}

static int kind_possible(enum soak_fault_kind k, const struct cluster_spec *spec, size_t nsafe)
{
	switch (k) {
	case SOAK_KILL_FOLLOWER:
		return spec_voters(spec) >= 2;
	case SOAK_TRANSFER_LEADER:
	case SOAK_MUTE_LEADER:
		return spec_leaders(spec) >= 2;
	case SOAK_SCALE_REGION:
	case SOAK_PARTITION_REGION:
	case SOAK_LOSSY_REGION:
		return nsafe > 0;
	default:
		return 1;
	}
}

int soak_schedule_generate(struct soak_schedule *out, const struct cluster_spec *spec,
			   const struct soak_generate_opts *opts, struct dr_error *err)
{
	const char *safe[CLUSTER_MAX_REGIONS];
	size_t nsafe = soak_quorum_safe_regions(spec, safe, CLUSTER_MAX_REGIONS);
	enum soak_fault_kind kinds[SOAK_FAULT_KINDS];
	unsigned mask = opts->kinds ? opts->kinds : SOAK_DEFAULT_KINDS;
	int64_t span_ms = (opts->hold_max_ns - opts->hold_min_ns) / NS_PER_MS;
	uint64_t state = opts->seed;
	size_t nkinds = 0;

	if (opts->hold_min_ns < 0 || opts->hold_max_ns < opts->hold_min_ns)
		return dr_error_set(err, "the hold range must be MIN/MAX with 0 <= MIN <= MAX");
	for (int k = 0; k < SOAK_FAULT_KINDS; k++)
		if ((mask & SOAK_KIND_BIT(k)) &&
		    kind_possible((enum soak_fault_kind)k, spec, nsafe))
			kinds[nkinds++] = (enum soak_fault_kind)k;
	if (nkinds == 0)
		return dr_error_set(err, "none of the requested faults is possible on this topology "
				    "(a region fault needs a region whose loss keeps a quorum)");
	memset(out, 0, sizeof(*out));
	out->seed = opts->seed;
	out->topology = cluster_topology_format(spec);
	out->timing = xstrdup(opts->timing ? opts->timing : "300ms/30ms");
	out->n = opts->iterations;
	out->faults = xcalloc(out->n ? out->n : 1, sizeof(*out->faults));
	for (size_t i = 0; i < out->n; i++) {
		struct soak_fault *f = &out->faults[i];

		/* Always draw the same number of values per fault, so a fault's
		 * choices never shift the ones after it. */
		uint64_t rk = soak_rand_next(&state), rr = soak_rand_next(&state);
		uint64_t rp = soak_rand_next(&state), rh = soak_rand_next(&state);

		f->kind = kinds[rk % nkinds];
		if (SOAK_KIND_HAS_REGION(f->kind) && nsafe)
			str_copy(f->region, sizeof(f->region), safe[rr % nsafe]);
		f->pick = (uint32_t)(rp % 1000);
		f->hold_ns = opts->hold_min_ns +
			     (span_ms > 0 ? (int64_t)(rh % (uint64_t)(span_ms + 1)) * NS_PER_MS : 0);
	}
	return 0;
}

json_t *soak_schedule_to_json(const struct soak_schedule *s)
{
	json_t *faults = json_array();
	char seed[32];

	for (size_t i = 0; i < s->n; i++) {
		const struct soak_fault *f = &s->faults[i];
		json_t *o = json_pack("{s:s,s:I,s:I}", "fault", soak_fault_kind_name(f->kind),
				      "pick", (json_int_t)f->pick,
				      "hold_ms", (json_int_t)(f->hold_ns / NS_PER_MS));

		if (f->region[0])
			json_object_set_new(o, "region", json_string(f->region));
		json_array_append_new(faults, o);
	}
	snprintf(seed, sizeof(seed), "%" PRIu64, s->seed);
	return json_pack("{s:i,s:s,s:s,s:s,s:o}", "version", SCHEDULE_VERSION, "seed", seed,
			 "topology", s->topology ? s->topology : "",
			 "timing", s->timing ? s->timing : "", "faults", faults);
}

int soak_seed_parse(uint64_t *out, const char *text)
{
	uint64_t v = 0;

	if (!text || !*text || strlen(text) > 20 || strspn(text, "0123456789") != strlen(text))
		return -1;
	for (const char *p = text; *p; p++) {
		uint64_t d = (uint64_t)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int field_error(struct dr_error *err, const char *what, const char *path, const char *msg)
{
	return dr_error_set(err, "%s: %s: %s", what, path, msg);
}

static int fault_from_json(struct soak_fault *f, json_t *o, const char *what, size_t i,
			   struct dr_error *err)
{
	char path[64];
	const char *name = json_string_value(json_object_get(o, "fault"));
	json_t *pick = json_object_get(o, "pick"), *hold = json_object_get(o, "hold_ms");
	json_t *region = json_object_get(o, "region");
	int rc = -1;

	snprintf(path, sizeof(path), "faults[%zu]", i);
	if (!json_is_object(o))
		return field_error(err, what, path, "expected an object");
	if (!name || soak_fault_kind_parse(&f->kind, name) != 0) {
		dr_error_set(err, "%s: %s.fault: unknown fault '%s'", what, path, name ? name : "(missing)");
		goto out;
	}
	if (!json_is_integer(pick) || json_integer_value(pick) < 0 ||
	    json_integer_value(pick) > UINT32_MAX) {
		dr_error_set(err, "%s: %s.pick: expected a non-negative integer", what, path);
		goto out;
	}
	if (!json_is_integer(hold) || json_integer_value(hold) < 0 ||
	    json_integer_value(hold) > 24 * 3600 * 1000) {
		dr_error_set(err, "%s: %s.hold_ms: expected milliseconds between 0 and one day", what, path);
		goto out;
	}
	f->pick = (uint32_t)json_integer_value(pick);
	f->hold_ns = (int64_t)json_integer_value(hold) * NS_PER_MS;
	f->region[0] = '\0';
	if (SOAK_KIND_HAS_REGION(f->kind)) {
		if (!json_is_string(region) ||
		    str_copy(f->region, sizeof(f->region), json_string_value(region)) != 0 ||
		    !f->region[0]) {
			dr_error_set(err, "%s: %s.region: a %s fault needs a region name", what, path, name);
			goto out;
		}
	}
	rc = 0;
out:
	return rc;
}

int soak_schedule_from_json(struct soak_schedule *out, const json_t *root, const char *what,
			    struct dr_error *err)
{
	struct soak_schedule s = SOAK_SCHEDULE_INIT;
	json_t *faults = json_object_get(root, "faults"), *o;
	const char *seed = json_string_value(json_object_get(root, "seed"));
	const char *topology = json_string_value(json_object_get(root, "topology"));
	const char *timing = json_string_value(json_object_get(root, "timing"));
	uint64_t seed_value = 0;
	size_t i;
	int rc = -1;

	if (!json_is_object(root))
		return dr_error_set(err, "%s: expected a JSON object", what);
	if (json_integer_value(json_object_get(root, "version")) != SCHEDULE_VERSION)
		return field_error(err, what, "version", "expected 1");
	/* The seed is informational on replay; it must still be a number. */
	if (!seed || soak_seed_parse(&seed_value, seed) != 0)
		return field_error(err, what, "seed", "expected a decimal string");
	if (!topology || !*topology)
		return field_error(err, what, "topology", "expected a topology like primary=2,dr=2,witness=1");
	if (!timing || !*timing)
		return field_error(err, what, "timing", "expected election/heartbeat like 300ms/30ms");
	if (!json_is_array(faults) || json_array_size(faults) == 0 ||
	    json_array_size(faults) > SCHEDULE_MAX_FAULTS)
		return field_error(err, what, "faults", "expected a non-empty list of faults");
	s.seed = seed_value;
	s.topology = xstrdup(topology);
	s.timing = xstrdup(timing);
	s.n = json_array_size(faults);
	s.faults = xcalloc(s.n, sizeof(*s.faults));
	json_array_foreach(faults, i, o)
		if (fault_from_json(&s.faults[i], o, what, i, err) != 0)
			goto out;
	*out = s;
	memset(&s, 0, sizeof(s));
	rc = 0;
out:
	soak_schedule_release(&s);
	return rc;
}

int soak_schedule_save(const struct soak_schedule *s, const char *path, struct dr_error *err)
{
	json_t *root = soak_schedule_to_json(s);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	struct strbuf sb = STRBUF_INIT;
	int rc;

	strbuf_adds(&sb, text ? text : "{}");
	strbuf_addch(&sb, '\n');
	rc = fs_write_atomic(path, sb.buf, sb.len, err);
	if (rc != 0)
		dr_error_wrap(err, "cannot write the schedule '%s'", path);
	strbuf_release(&sb);
	free(text);
	json_decref(root);
	return rc;
}

int soak_schedule_load(struct soak_schedule *out, const char *path, struct dr_error *err)
{
	char *data = NULL, *what = xasprintf("schedule '%s'", path);
	size_t len = 0;
	json_error_t jerr;
	json_t *root = NULL;
	int rc = -1;

	if (fs_read_file(&data, &len, path, SCHEDULE_MAX_BYTES, err) != 0) {
		dr_error_wrap(err, "cannot read the %s", what);
		goto out;
	}
	root = json_loadb(data, len, 0, &jerr);
	if (!root) {
		dr_error_set(err, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
		goto out;
	}
	rc = soak_schedule_from_json(out, root, what, err);
out:
	json_decref(root);
	free(data);
	free(what);
	return rc;
}

void soak_fault_describe(char *buf, size_t len, const struct soak_fault *f)
{
	char hold[32];

	duration_format(hold, sizeof(hold), f->hold_ns);
	snprintf(buf, len, "%s%s%s hold %s", soak_fault_kind_name(f->kind) ?: "?",
		 f->region[0] ? " " : "", f->region, hold);
}

void soak_schedule_release(struct soak_schedule *s)
{
	free(s->topology);
	free(s->timing);
	free(s->faults);
	memset(s, 0, sizeof(*s));
}
