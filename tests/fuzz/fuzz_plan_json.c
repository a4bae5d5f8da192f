/* Fuzz the plan loader with JSON text (jansson with positions -> schema
 * checks). */
#include "tests/fuzz/fuzz_plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_plan_one(data, size, PLAN_LOAD_FORCE_JSON, "fuzz.json");
}
