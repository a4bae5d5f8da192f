/* The registry of target kinds (harness/target/registry.h). */
#include "harness/target/registry.h"

#include <string.h>

#include "harness/target/etcd/etcd.h"
#include "harness/target/k8s/k8s.h"
#include "harness/target/local/local.h"

const struct target_kind *const target_registry[] = {
	&target_kind_local,
	&target_kind_kubernetes,
	&target_kind_etcd,
	NULL,
};

const struct target_kind *target_kind_find(const char *name)
{
	for (size_t i = 0; name && target_registry[i]; i++)
		if (strcmp(target_registry[i]->name, name) == 0)
			return target_registry[i];
	return NULL;
}

void target_kind_names(struct strbuf *sb, int with_recover, int with_preflight)
{
	size_t before = sb->len;

	for (size_t i = 0; target_registry[i]; i++) {
		const struct target_kind *k = target_registry[i];

		if ((with_recover && !k->recover) || (with_preflight && !k->preflight))
			continue;
		strbuf_addf(sb, "%s%s", sb->len > before ? ", " : "", k->name);
	}
}

int target_create(struct target **out, const char *name, const struct plan *plan,
		  const struct target_opts *opts, struct dr_error *err)
{
	const struct target_kind *kind = target_kind_find(name);
	struct strbuf known = STRBUF_INIT;

	*out = NULL;
	if (kind && opts && opts->server_dry_run && !(kind->flags & TARGET_KIND_SERVER_DRY_RUN)) {
		dr_error_set(err, "--dry-run=server needs a target with a server-side dry run "
			     "(kubernetes); the %s target has none (use --dry-run)", kind->name);
		return TARGET_EUSAGE;
	}
	if (kind)
		return kind->create(out, plan, opts, err);
	target_kind_names(&known, 0, 0);
	dr_error_set(err, "unknown target '%s' (known: %s)", name, known.buf);
	strbuf_release(&known);
	return -1;
}
