/* Leases (coordination.k8s.io/v1) the way the API server keeps them: per
 * context (each context is its own cluster), with metadata.uid,
 * creationTimestamp and a resourceVersion that moves on every write;
 * `create -f -`, `replace -f -` and `patch --type merge` (RFC 7386) with
 * optimistic concurrency on resourceVersion and strict field validation
 * (an unknown field is an error, not dropped).
 *
 * DIR/k8s-double-leases.json: {"rv": last resourceVersion,
 * "<region>": {"<name>": the stored object}}. */
#include "tests/doubles/kubectl_double.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"

#define LEASES "leases.coordination.k8s.io"

static const char *const meta_fields[] = {
	"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
	"creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
	"ownerReferences", "finalizers", "managedFields", NULL
};
static const char *const spec_fields[] = {
	"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime", "leaseTransitions", NULL
};

static int known(const char *const *list, const char *k)
{
	for (; *list; list++)
		if (strcmp(*list, k) == 0)
			return 1;
	return 0;
}

static void unknown_fields(struct strbuf *sb, json_t *obj, const char *prefix, const char *const *fields)
{
	const char *k;
	json_t *v;

	json_object_foreach(obj, k, v) {
		if (known(fields, k))
			continue;
		strbuf_addf(sb, "%sunknown field \"%s%s\"", sb->len ? ", " : "", prefix, k);
	}
}

/* Go's json decoder's complaint for a value of the wrong type. */
static const char *json_kind(json_t *v)
{
	if (json_is_string(v))
		return "string";
	if (json_is_number(v))
		return "number";
	if (json_is_boolean(v))
		return "bool";
	if (json_is_array(v))
		return "array";
	return "object";
}

/* NULL when obj decodes as a Lease, else the API server's reason (heap). */
static char *lease_invalid(json_t *obj)
{
	static const char *const top[] = { "apiVersion", "kind", "metadata", "spec", NULL };
	static const char *const ints[] = { "leaseDurationSeconds", "leaseTransitions", NULL };
	static const char *const strs[] = { "holderIdentity", "acquireTime", "renewTime", NULL };
	json_t *md = json_object_get(obj, "metadata"), *spec = json_object_get(obj, "spec");
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; ints[i]; i++) {
		json_t *v = json_object_get(spec, ints[i]);

		if (v && !json_is_null(v) && !json_is_integer(v))
			return xasprintf("Lease in version \"v1\" cannot be handled as a Lease: json: cannot unmarshal "
					 "%s into Go struct field LeaseSpec.spec.%s of type int32", json_kind(v), ints[i]);
	}
	for (size_t i = 0; strs[i]; i++) {
		json_t *v = json_object_get(spec, strs[i]);

		if (v && !json_is_null(v) && !json_is_string(v))
			return xasprintf("Lease in version \"v1\" cannot be handled as a Lease: json: cannot unmarshal "
					 "%s into Go struct field LeaseSpec.spec.%s of type %s", json_kind(v), strs[i],
					 i ? "v1.MicroTime" : "string");
	}
	unknown_fields(&sb, obj, "", top);
	if (json_is_object(md))
		unknown_fields(&sb, md, "metadata.", meta_fields);
	if (json_is_object(spec))
		unknown_fields(&sb, spec, "spec.", spec_fields);
	if (!sb.len)
		return NULL;
	{
		char *why = xasprintf("Lease in version \"v1\" cannot be handled as a Lease: strict decoding error: %s",
				      strbuf_str(&sb));

		strbuf_release(&sb);
		return why;
	}
}

static int is_lease_type(const char *t)
{
	return strcmp(t, "lease") == 0 || strcmp(t, "leases") == 0 || strcmp(t, "lease.coordination.k8s.io") == 0 ||
	       strcmp(t, LEASES) == 0;
}

static json_t *load(void)
{
	return kd_load_state("leases.json");
}

/* The region's leases (borrowed; created empty). */
static json_t *region_leases(json_t *all, const char *region)
{
	json_t *r = json_object_get(all, region);

	if (!r) {
		r = json_object();
		json_object_set_new(all, region, r);
	}
	return r;
}

static char *next_rv(json_t *all)
{
	long long rv = json_integer_value(json_object_get(all, "rv")) + 1;

	json_object_set_new(all, "rv", json_integer(rv));
	return xasprintf("%lld", rv);
}

static void print_result(struct cmd *c, json_t *obj, const char *name, const char *what)
{
	if (c->output && strcmp(c->output, "json") == 0)
		kd_print_json(obj);
	else
		printf("lease.coordination.k8s.io/%s %s%s\n", name, what, c->server_dry_run ? " (server dry run)" : "");
}

int kd_get_lease(struct cmd *c, const char *region, const char *name)
{
	json_t *all = load(), *mine = region_leases(all, region), *l;
	int rc = 0;

	if (kd_check(c, name ? "get" : "list", "leases", "coordination.k8s.io", NULL, name)) {
		json_decref(all);
		return 1;
	}
	if (!name) {
		json_t *items = json_array(), *list;
		const char *k;

		json_object_foreach(mine, k, l)
			json_array_append(items, l);
		list = json_pack("{s:s,s:s,s:o}", "apiVersion", "v1", "kind", "List", "items", items);
		kd_print_json(list);
		json_decref(list);
	} else if ((l = json_object_get(mine, name)) != NULL) {
		kd_print_json(l);
	} else {
		rc = kd_not_found(LEASES, name);
	}
	json_decref(all);
	return rc;
}

int kd_delete_lease(struct cmd *c, const char *region, const char *name)
{
	int lock, rc = 0;
	json_t *all, *mine;

	if (kd_check(c, "delete", "leases", "coordination.k8s.io", NULL, name))
		return 1;
	lock = kd_state_lock();
	all = load();
	mine = region_leases(all, region);
	if (!json_object_get(mine, name)) {
		rc = c->ignore_not_found ? 0 : kd_not_found(LEASES, name);
	} else {
		if (!c->server_dry_run) {
			json_object_del(mine, name);
			kd_save_state("leases.json", all);
		}
		printf("lease.coordination.k8s.io \"%s\" deleted%s\n", name, c->server_dry_run ? " (server dry run)" : "");
	}
	json_decref(all);
	kd_state_unlock(lock);
	return rc;
}

static int conflict(const char *context, const char *name)
{
	return kd_fail(1, "Error from server (Conflict): %sOperation cannot be fulfilled on " LEASES " \"%s\": the "
		       "object has been modified; please apply your changes to the latest version and try again",
		       context, name);
}

int kd_create_lease(struct cmd *c, const char *region, json_t *obj, int replace)
{
	const char *verb = replace ? "replacing" : "creating";
	json_t *md = json_object_get(obj, "metadata"), *all = NULL, *mine, *old, *stored;
	const char *name = json_string_value(json_object_get(md, "name"));
	const char *ns = json_string_value(json_object_get(md, "namespace"));
	const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
	char *why, *newrv;
	int lock = -1, rc = 1;

	if (ns && strcmp(ns, c->ns) != 0)
		return kd_fail(1, "error: the namespace from the provided object \"%s\" does not match the namespace "
			       "\"%s\". You must pass '--namespace=%s' to perform this operation.", ns, c->ns, ns);
	if (!replace && kd_denied("create", "leases", "coordination.k8s.io", NULL))
		return kd_forbidden(c, "create", "leases", "coordination.k8s.io", NULL, NULL, 1);
	if (replace && kd_check(c, "update", "leases", "coordination.k8s.io", NULL, name))
		return 1;
	why = lease_invalid(obj);
	if (why) {
		kd_fail(1, "Error from server (BadRequest): error when %s \"STDIN\": %s", verb, why);
		free(why);
		return 1;
	}
	if (!name || !*name)
		return kd_fail(1, "Error from server (Invalid): error when %s \"STDIN\": Lease.coordination.k8s.io \"\" "
			       "is invalid: metadata.name: Required value: name or generateName is required", verb);
	if (!replace && rv && *rv)
		return kd_fail(1, "Error from server (BadRequest): error when creating \"STDIN\": resourceVersion "
			       "should not be set on objects to be created");
	lock = kd_state_lock();
	all = load();
	mine = region_leases(all, region);
	old = json_object_get(mine, name);
	if (!replace && old) {
		kd_fail(1, "Error from server (AlreadyExists): error when creating \"STDIN\": " LEASES
			" \"%s\" already exists", name);
		goto out;
	}
	if (replace && !old) {
		kd_fail(1, "Error from server (NotFound): error when replacing \"STDIN\": " LEASES " \"%s\" not found", name);
		goto out;
	}
	if (replace && rv && *rv &&
	    strcmp(rv, json_string_value(json_object_get(json_object_get(old, "metadata"), "resourceVersion")) ?: "")) {
		conflict("error when replacing \"STDIN\": ", name);
		goto out;
	}
	stored = json_deep_copy(obj);
	md = json_object_get(stored, "metadata");
	json_object_set_new(md, "namespace", json_string(c->ns));
	if (replace) {
		json_t *omd = json_object_get(old, "metadata");

		json_object_set(md, "uid", json_object_get(omd, "uid"));
		json_object_set(md, "creationTimestamp", json_object_get(omd, "creationTimestamp"));
	} else {
		char *uid = kd_uid(name, (long long)clock_wall_ns(), json_integer_value(json_object_get(all, "rv")));
		char *ts = kd_timestamp(clock_wall_ns(), 0);

		json_object_set_new(md, "uid", json_string(uid));
		json_object_set_new(md, "creationTimestamp", json_string(ts));
		free(uid);
		free(ts);
	}
	newrv = next_rv(all);
	json_object_set_new(md, "resourceVersion", json_string(newrv));
	free(newrv);
	if (!c->server_dry_run) {
		json_object_set(mine, name, stored);
		kd_save_state("leases.json", all);
	}
	print_result(c, stored, name, replace ? "replaced" : "created");
	json_decref(stored);
	rc = 0;
out:
	json_decref(all);
	kd_state_unlock(lock);
	return rc;
}

/* RFC 7386: null removes a member, an object merges, anything else
 * replaces. */
static json_t *merge_patch(json_t *target, json_t *patch)
{
	json_t *out, *v;
	const char *k;

	if (!json_is_object(patch))
		return json_deep_copy(patch);
	out = json_is_object(target) ? json_deep_copy(target) : json_object();
	json_object_foreach(patch, k, v) {
		if (json_is_null(v))
			json_object_del(out, k);
		else
			json_object_set_new(out, k, merge_patch(json_object_get(out, k), v));
	}
	return out;
}

int kd_patch(struct cmd *c, const char *region)
{
	const char *name = NULL, *type_flag = "strategic", *patch_text = NULL, *rv;
	char *type = NULL, *why = NULL;
	json_t *patch = NULL, *all = NULL, *mine, *old, *merged = NULL, *md, *omd;
	json_error_t jerr;
	int lock = -1, rc = 1;

	for (int i = 1; i < c->nargs; i++) {
		const char *a = c->args[i];

		if (strncmp(a, "--type=", 7) == 0)
			type_flag = a + 7;
		else if (strcmp(a, "--type") == 0 && i + 1 < c->nargs)
			type_flag = c->args[++i];
		else if (strncmp(a, "-p=", 3) == 0 || strncmp(a, "--patch=", 8) == 0)
			patch_text = strchr(a, '=') + 1;
		else if ((strcmp(a, "-p") == 0 || strcmp(a, "--patch") == 0) && i + 1 < c->nargs)
			patch_text = c->args[++i];
		else if (a[0] != '-' && !type) {
			kd_resource_ref(c, i, &type, &name);
			if (!strchr(a, '/'))
				i++;
		}
	}
	if (!type || !name || !patch_text) {
		kd_fail(1, "error: expected 'patch TYPE NAME --type merge -p PATCH'");
		goto out;
	}
	if (!is_lease_type(type)) {
		kd_fail(1, "error: the double patches leases only, not '%s'", type);
		goto out;
	}
	if (strcmp(type_flag, "merge") != 0 && strcmp(type_flag, "strategic") != 0) {
		kd_fail(1, "error: the double applies merge patches only (--type merge), not '%s'", type_flag);
		goto out;
	}
	patch = json_loads(patch_text, 0, &jerr);
	if (!json_is_object(patch)) {
		kd_fail(1, "error: unable to parse \"%s\": %s", patch_text, patch ? "not an object" : jerr.text);
		goto out;
	}
	if (kd_check(c, "patch", "leases", "coordination.k8s.io", NULL, name))
		goto out;
	lock = kd_state_lock();
	all = load();
	mine = region_leases(all, region);
	old = json_object_get(mine, name);
	if (!old) {
		kd_not_found(LEASES, name);
		goto out;
	}
	omd = json_object_get(old, "metadata");
	rv = json_string_value(json_object_get(json_object_get(patch, "metadata"), "resourceVersion"));
	if (rv && strcmp(rv, json_string_value(json_object_get(omd, "resourceVersion")) ?: "") != 0) {
		conflict("", name);
		goto out;
	}
	merged = merge_patch(old, patch);
	why = lease_invalid(merged);
	if (why) {
		kd_fail(1, "Error from server (BadRequest): %s", why);
		goto out;
	}
	/* What the server owns stays as it was; empty maps are not kept. */
	md = json_object_get(merged, "metadata");
	if (json_is_object(json_object_get(md, "annotations")) && !json_object_size(json_object_get(md, "annotations")))
		json_object_del(md, "annotations");
	if (json_is_object(json_object_get(md, "labels")) && !json_object_size(json_object_get(md, "labels")))
		json_object_del(md, "labels");
	json_object_set(md, "name", json_object_get(omd, "name"));
	json_object_set(md, "namespace", json_object_get(omd, "namespace"));
	json_object_set(md, "uid", json_object_get(omd, "uid"));
	json_object_set(md, "creationTimestamp", json_object_get(omd, "creationTimestamp"));
	json_object_set(md, "resourceVersion", json_object_get(omd, "resourceVersion"));
	if (json_equal(merged, old)) {
		print_result(c, old, name, "patched (no change)");
		rc = 0;
		goto out;
	}
	{
		char *newrv = next_rv(all);

		json_object_set_new(md, "resourceVersion", json_string(newrv));
		free(newrv);
	}
	if (!c->server_dry_run) {
		json_object_set(mine, name, merged);
		kd_save_state("leases.json", all);
	}
	print_result(c, merged, name, "patched");
	rc = 0;
out:
	free(type);
	free(why);
	json_decref(patch);
	json_decref(merged);
	json_decref(all);
	kd_state_unlock(lock);
	return rc;
}
