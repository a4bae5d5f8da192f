/* Fuzz ledgerd's answer to one server-reflection request
 * (ledgerd_reflection_answer, ledger/daemon/reflection.h), the bytes a
 * client sends on a ServerReflectionInfo stream, against the descriptors
 * compiled into ledgerd.  Properties beyond "no crash, no leak": an input
 * that does not decode is refused with nothing allocated; an answer always
 * decodes as a ServerReflectionResponse with one of its answers set and the
 * request echoed back. */
#include <stdio.h>

#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "ledger/daemon/descriptors.h"
#include "ledger/daemon/reflection.h"
#include "ledger/proto/protoset.h"
#include "tests/fuzz/fuzz_util.h"

/* Loaded once, like ledgerd does at start; reachable until exit. */
static struct ledgerd_descriptors desc;
static int loaded;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dr_error err = DR_ERROR_INIT;
	Grpc__Reflection__V1alpha__ServerReflectionResponse *r;
	uint8_t *out = NULL;
	size_t len = 0;

	if (!loaded) {
		if (ledgerd_descriptors_load(&desc, ledger_protoset, ledger_protoset_len, &err) != 0) {
			fprintf(stderr, "cannot load the descriptors: %s\n", err.msg);
			abort();
		}
		loaded = 1;
	}
	if (ledgerd_reflection_answer(&out, &len, &desc, data, size) != 0) {
		if (out) {
			fprintf(stderr, "a refused request left an answer behind\n");
			abort();
		}
		return 0;
	}
	r = grpc__reflection__v1alpha__server_reflection_response__unpack(NULL, len, out);
	if (!r || !r->original_request ||
	    r->message_response_case ==
		    GRPC__REFLECTION__V1ALPHA__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE__NOT_SET) {
		fprintf(stderr, "the answer does not decode, or answers nothing\n");
		abort();
	}
	grpc__reflection__v1alpha__server_reflection_response__free_unpacked(r, NULL);
	free(out);
	return 0;
}
