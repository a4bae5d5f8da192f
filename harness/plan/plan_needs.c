/* What a plan needs from the machine that runs it, beyond drillrig: a
 * one-way cut or a loss rate (or method: nftables) needs the kernel's
 * packet filter, a disk_full a size-limited tmpfs per node, i.e. root.
 * Known before anything runs, so a machine that cannot inject a drill's
 * faults is an infrastructure error up front, never a failed drill
 * half-way through, and `make drill-all` can leave such drills out. */
#include "harness/plan/plan.h"

#include <string.h>

#include "common/strbuf.h"

static unsigned step_needs(const struct plan_step *s)
{
	const char *direction, *method;

	if (!s->action)
		return 0;
	if (strcmp(s->action, "disk_full") == 0)
		return PLAN_NEEDS_ROOT;
	if (strcmp(s->action, "partition") != 0)
		return 0;
	direction = plan_arg_str(s->args, "direction");
	method = plan_arg_str(s->args, "method");
	if ((method && strcmp(method, "nftables") == 0) ||
	    (direction && strcmp(direction, "both") != 0) || plan_arg_int(s->args, "loss", 100) < 100)
		return PLAN_NEEDS_NFTABLES | PLAN_NEEDS_ROOT;
	return 0;
}

unsigned plan_needs(const struct plan *plan)
{
	unsigned needs = 0;

	for (size_t i = 0; plan && i < plan->nsteps; i++)
		needs |= step_needs(&plan->steps[i]);
	for (size_t i = 0; plan && i < plan->nrollback; i++)
		needs |= step_needs(&plan->rollback[i]);
	return needs;
}

char *plan_needs_text(unsigned needs)
{
	struct strbuf sb = STRBUF_INIT;

	if (needs & PLAN_NEEDS_ROOT)
		strbuf_adds(&sb, "root");
	if (needs & PLAN_NEEDS_NFTABLES)
		strbuf_addf(&sb, "%snftables", sb.len ? ", " : "");
	return strbuf_detach(&sb);
}
