/* Confirmation before a drill changes live clusters: the operator sees the
 * resolved contexts, namespaces and StatefulSets and types "yes"; a run
 * without a terminal needs --yes. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness/target/k8s/k8s.h"
#include "harness/target/k8s/k8s_impl.h"

void k8s_print_plan(const struct k8s_config *cfg, FILE *out)
{
	fprintf(out, "kubernetes target (%s, api %s):\n", cfg->path, k8s_api_name(cfg->api));
	for (size_t i = 0; i < cfg->nregions; i++) {
		const struct k8s_region *r = &cfg->regions[i];

		fprintf(out, "  region %-10s role %-8s context %-20s namespace %-12s statefulset/%s (normal %d replicas)%s%s\n",
			r->name, r->role, r->context, r->namespace, r->statefulset, r->replicas,
			r->kubeconfig ? " kubeconfig " : "", r->kubeconfig ? r->kubeconfig : "");
	}
	fprintf(out, "  drill lock: lease/%s in namespace %s of the primary region\n", cfg->lease_name,
		k8s_config_region(cfg, "primary") ? k8s_config_region(cfg, "primary")->namespace : "?");
	/* They write into the production ledger: the operator must know. */
	if (cfg->canary.enabled && !cfg->workload_endpoint)
		fprintf(out, "  canary writes: one every %.1fs into the ledger (%s), read back after the drill\n",
			(double)cfg->canary.interval_ns / 1e9, k8s_call_method(cfg, K8S_CALL_WRITE));
	fflush(out);
}

int k8s_confirm(const struct k8s_config *cfg, int yes, int interactive, FILE *in, FILE *out,
		struct dr_error *err)
{
	char answer[32];

	if (yes)
		return 0;
	if (interactive < 0)
		interactive = isatty(fileno(in)) && isatty(fileno(out));
	if (!interactive) {
		dr_error_set(err, "refusing to drill live Kubernetes contexts without confirmation: "
			     "not on a terminal, so pass --yes (or --dry-run to only print the commands)");
		return TARGET_EUSAGE;
	}
	k8s_print_plan(cfg, out);
	fprintf(out, "This drill changes these live clusters. Type 'yes' to continue: ");
	fflush(out);
	if (!fgets(answer, sizeof(answer), in) || strcmp(answer, "yes\n") != 0) {
		dr_error_set(err, "not confirmed: nothing was changed");
		return TARGET_EUSAGE;
	}
	return 0;
}
