/* The body of the two plan-loader targets (fuzz_plan_yaml.c,
 * fuzz_plan_json.c): load the input as a plan in the given format, print
 * every diagnostic (the printer walks the positions), and on success run
 * the redaction helpers over the source and the tree. */
#ifndef DR_TESTS_FUZZ_PLAN_H
#define DR_TESTS_FUZZ_PLAN_H

#include <stdio.h>

#include "harness/plan/plan.h"
#include "harness/target/registry.h"
#include "tests/fuzz/fuzz_util.h"

static inline int fuzz_plan_one(const uint8_t *data, size_t size, unsigned flags,
				const char *name)
{
	static FILE *devnull;
	struct plan_load_opts opts = PLAN_LOAD_OPTS_TARGETS(target_registry);
	struct plan_diags diags = PLAN_DIAGS_INIT;
	struct plan *plan = NULL;
	char *text = fuzz_strndup(data, size);

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	opts.flags = flags;
	if (plan_load_text(&plan, name, text, size, &opts, &diags) == 0) {
		char *red = plan_redact(plan, plan->source);
		json_t *tree = plan_redact_json(plan, plan->root);

		if (!red || !tree)
			abort();
		free(red);
		json_decref(tree);
		plan_free(plan);
	} else if (plan || diags.errors == 0) {
		fprintf(stderr, "plan_load_text failed without an error diagnostic\n");
		abort();
	}
	if (devnull)
		plan_diags_print(devnull, &diags);
	plan_diags_release(&diags);
	free(text);
	return 0;
}

#endif
