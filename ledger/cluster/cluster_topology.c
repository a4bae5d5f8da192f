/* Topology specs: "primary=2,dr=2,witness=1" and friends. */
#include "ledger/cluster/cluster.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/numparse.h"
#include "common/strbuf.h"

static const char *const role_names[] = { "primary", "dr", "witness" };

const char *cluster_role_name(enum cluster_role role)
{
	return (unsigned)role < 3 ? role_names[role] : "unknown";
}

int cluster_role_parse(enum cluster_role *out, const char *name)
{
	for (int i = 0; i < 3; i++) {
		if (strcmp(name, role_names[i]) == 0) {
			*out = (enum cluster_role)i;
			return 0;
		}
	}
	return -1;
}

static void add_region(struct cluster_spec *spec, const char *name,
		       enum cluster_role role, int size)
{
	struct cluster_region_spec *r = &spec->regions[spec->nregions++];

	str_copy(r->name, sizeof(r->name), name);
	r->role = role;
	r->size = size;
	r->zones = 2;
}

void cluster_spec_init(struct cluster_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	add_region(spec, "primary", CLUSTER_ROLE_PRIMARY, 2);
	add_region(spec, "dr", CLUSTER_ROLE_DR, 2);
	add_region(spec, "witness", CLUSTER_ROLE_WITNESS, 1);
	spec->election_timeout_ms = 300;
	spec->heartbeat_ms = 30;
	spec->ready_timeout_ns = 30 * INT64_C(1000000000);
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CLUSTER_NAME_MAX || !islower((unsigned char)s[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '-')
			return 0;
	return s[n - 1] != '-';
}

/* One item "name=count", "name:role=count", optionally "/zones". */
static int parse_item(struct cluster_spec *out, const char *item,
		      struct dr_error *err)
{
	char buf[128], *eq, *colon, *slash;
	const char *name, *role_text;
	enum cluster_role role;
	int count, zones = 2;

	if (str_copy(buf, sizeof(buf), item) != 0)
		return dr_error_set(err, "region '%.40s...' is too long", item);
	eq = strchr(buf, '=');
	if (!eq)
		return dr_error_set(err, "region '%s' has no '=count' (expected name=count or name:role=count)",
				    item);
	*eq = '\0';
	slash = strchr(eq + 1, '/');
	if (slash) {
		*slash = '\0';
		if (parse_int(&zones, slash + 1, 1, 26) != 0)
			return dr_error_set(err, "region '%s': zone count '%s' is not a number in 1..26",
					    item, slash + 1);
	}
	if (parse_int(&count, eq + 1, 1, CLUSTER_MAX_NODES) != 0)
		return dr_error_set(err, "region '%s': count '%s' is not a number in 1..%d",
				    item, eq + 1, CLUSTER_MAX_NODES);
	colon = strchr(buf, ':');
	if (colon) {
		*colon = '\0';
		name = buf;
		role_text = colon + 1;
	} else {
		name = buf;
		role_text = buf;
	}
	if (!valid_name(name))
		return dr_error_set(err, "region '%s': name '%s' must be lowercase letters, digits and '-', starting with a letter, at most %d characters",
				    item, name, CLUSTER_NAME_MAX);
	if (cluster_role_parse(&role, role_text) != 0) {
		if (colon)
			return dr_error_set(err, "region '%s': unknown role '%s' (primary, dr or witness)",
					    item, role_text);
		return dr_error_set(err, "region '%s': '%s' is not a role; name a region with its role as name:role=count (role primary, dr or witness)",
				    item, name);
	}
	for (int i = 0; i < out->nregions; i++)
		if (strcmp(out->regions[i].name, name) == 0)
			return dr_error_set(err, "region '%s' is given twice", name);
	if (out->nregions == CLUSTER_MAX_REGIONS)
		return dr_error_set(err, "more than %d regions", CLUSTER_MAX_REGIONS);
	add_region(out, name, role, count);
	out->regions[out->nregions - 1].zones = zones;
	return 0;
}

int cluster_topology_parse(struct cluster_spec *spec, const char *text,
			   struct dr_error *err)
{
	struct cluster_spec tmp;
	const char *p = text;
	int total = 0, has_primary = 0, rc = -1;

	memset(&tmp, 0, sizeof(tmp));
	if (!text || !*text) {
		dr_error_set(err, "empty topology (expected e.g. primary=2,dr=2,witness=1)");
		goto out;
	}
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char *item = xstrndup(p, len);
		int r;

		if (len == 0) {
			free(item);
			dr_error_set(err, "empty region in topology '%s'", text);
			goto out;
		}
		r = parse_item(&tmp, item, err);
		free(item);
		if (r != 0)
			goto out;
		p += len;
		if (*p == ',') {
			p++;
			if (!*p) {
				dr_error_set(err, "empty region in topology '%s'", text);
				goto out;
			}
		}
	}
	for (int i = 0; i < tmp.nregions; i++) {
		total += tmp.regions[i].size;
		if (tmp.regions[i].role == CLUSTER_ROLE_PRIMARY)
			has_primary = 1;
	}
	if (!has_primary) {
		dr_error_set(err, "topology '%s' has no region with role primary", text);
		goto out;
	}
	if (total > CLUSTER_MAX_NODES) {
		dr_error_set(err, "topology '%s' has %d nodes; at most %d", text, total,
			     CLUSTER_MAX_NODES);
		goto out;
	}
	memcpy(spec->regions, tmp.regions, sizeof(tmp.regions));
	spec->nregions = tmp.nregions;
	rc = 0;
out:
	return rc;
}

char *cluster_topology_format(const struct cluster_spec *spec)
{
	struct strbuf sb = STRBUF_INIT;

	for (int i = 0; i < spec->nregions; i++) {
		const struct cluster_region_spec *r = &spec->regions[i];

		strbuf_addf(&sb, "%s%s:%s=%d/%d", i ? "," : "", r->name,
			    cluster_role_name(r->role), r->size, r->zones);
	}
	return strbuf_detach(&sb);
}

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
	{ "ABRT", SIGABRT }, { "KILL", SIGKILL }, { "SEGV", SIGSEGV },
	{ "TERM", SIGTERM }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	{ "STOP", SIGSTOP }, { "CONT", SIGCONT }, { "BUS", SIGBUS },
};

int cluster_signal_parse(const char *name)
{
	int n;

	if (!name || !*name)
		return -1;
	if (parse_int(&n, name, 1, 64) == 0)
		return n;
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcasecmp(name, signals[i].name) == 0)
			return signals[i].sig;
	return -1;
}
