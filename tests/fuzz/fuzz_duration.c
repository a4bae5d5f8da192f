/* Fuzz the plan duration parser (harness/plan/duration.h).  Properties checked
 * beyond "no crash": every accepted value is within range, an error has a
 * message, and formatting an accepted value and parsing the result gives
 * exactly the value back.
 *
 * Both bugs it found are fixed and have unit tests (tests/unit/test_duration.c:
 * a long fraction overflowed int64; the formatter was not exact); their
 * reproducers stay in tests/fuzz/crashes/duration/ and are replayed. */
#include <stdio.h>

#include "harness/plan/duration.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dr_error err = DR_ERROR_INIT;
	char *text = fuzz_strndup(data, size);
	char buf[64];
	int64_t ns = -1, again = -1;

	if (duration_parse(&ns, text, &err) == 0) {
		if (ns < 0 || ns > DURATION_MAX_NS) {
			fprintf(stderr, "duration '%s' parsed out of range: %lld\n", text, (long long)ns);
			abort();
		}
		duration_format(buf, sizeof buf, ns);
		if (duration_parse(&again, buf, &err) != 0 || again != ns) {
			fprintf(stderr, "duration '%s' = %lld ns formats as '%s' which parses as %lld\n",
				text, (long long)ns, buf, (long long)again);
			abort();
		}
	} else if (err.msg[0] == '\0') {
		fprintf(stderr, "duration '%s' rejected without a message\n", text);
		abort();
	}
	free(text);
	return 0;
}
