/* Fuzz the plan loader with YAML text (libyaml -> jansson tree with
 * positions -> schema checks). */
#include "tests/fuzz/fuzz_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_plan_one(data, size, PLAN_LOAD_FORCE_YAML, "fuzz.yaml");
}
