#include "harness/target/registry.h"

#include <string.h>

#include "harness/target/etcd/etcd.h"
#include "harness/target/k8s/k8s.h"
#include "harness/target/local/local.h"

typedef int (*target_ctor)(struct target **out, const struct plan *plan,
			   const struct target_opts *opts, struct dr_error *err);

static int make_local(struct target **out, const struct plan *plan,
		      const struct target_opts *opts, struct dr_error *err)
{
	struct target_local_opts lo = TARGET_LOCAL_OPTS_INIT;

	lo.cluster_dir = opts->cluster_dir;
	lo.keep = opts->keep;
	return target_local_new(out, plan, &lo, err);
}

static int make_kubernetes(struct target **out, const struct plan *plan,
			   const struct target_opts *opts, struct dr_error *err)
{
	struct target_k8s_opts ko = TARGET_K8S_OPTS_INIT;
	int rc;

	ko.config_path = opts->config_path;
	ko.yes = opts->yes;
	ko.dry_run = opts->dry_run;
	ko.server_dry_run = opts->server_dry_run;
	rc = target_k8s_new(out, plan, &ko, err);
	return rc == TARGET_K8S_EUSAGE ? TARGET_EUSAGE : rc;
}

static int make_etcd(struct target **out, const struct plan *plan,
		     const struct target_opts *opts, struct dr_error *err)
{
	struct target_etcd_opts eo = TARGET_ETCD_OPTS_INIT;

	eo.config_path = opts->config_path;
	eo.keep = opts->keep;
	return target_etcd_new(out, plan, &eo, err);
}

static const struct {
	const char *kind;
	target_ctor make;
} target_table[] = {
	{ "local", make_local },
	{ "kubernetes", make_kubernetes },
	{ "etcd", make_etcd },
};

int target_create(struct target **out, const char *kind, const struct plan *plan,
		  const struct target_opts *opts, struct dr_error *err)
{
	for (size_t i = 0; i < sizeof(target_table) / sizeof(target_table[0]); i++)
		if (strcmp(target_table[i].kind, kind) == 0)
			return target_table[i].make(out, plan, opts, err);
	return dr_error_set(err, "unknown target '%s' (known: %s)", kind, target_kinds());
}

const char *target_kinds(void)
{
	return "local, kubernetes, etcd";
}
