/* Fuzz the plan duration parser (harness/plan/duration.h).  Properties checked
 * beyond "no crash": every accepted value is within range, an error has a
 * message, and formatting an accepted value and parsing the result gives
 * the value back, truncated to the formatter's precision (1 us below 1 ms,
 * else 1 ms).
 *
 * Both bugs it found are fixed and have unit tests (tests/unit/test_duration.c:
 * a long fraction overflowed int64; the formatter was not exact); their
 * reproducers stay in tests/fuzz/crashes/duration/ and are replayed. */
#include <stdio.h>

#include "harness/plan/duration.h"
#include "tests/fuzz/fuzz_util.h"

static int known_bugs_on(void)
{
	return 1; /* the formatter is exact and long fractions are safe */
}

/* Does text hold a '.' followed by more than 6 digits? */
static int long_fraction(const char *text)
{
	for (const char *dot = strchr(text, '.'); dot; dot = strchr(dot + 1, '.'))
		if (strspn(dot + 1, "0123456789") > 6)
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dr_error err = DR_ERROR_INIT;
	char *text = fuzz_strndup(data, size);
	char buf[64];
	int64_t ns = -1, again = -1, slack;

	if (!known_bugs_on() && long_fraction(text))
		goto out;
	if (duration_parse(&ns, text, &err) == 0) {
		if (ns < 0 || ns > DURATION_MAX_NS) {
			fprintf(stderr, "duration '%s' parsed out of range: %lld\n", text, (long long)ns);
			abort();
		}
		duration_format(buf, sizeof buf, ns);
		slack = known_bugs_on() ? 1 : ns < INT64_C(1000000) ? 1000 : 1000000;
		if (duration_parse(&again, buf, &err) != 0 || again > ns || ns - again >= slack) {
			fprintf(stderr, "duration '%s' = %lld ns formats as '%s' which parses as %lld\n",
				text, (long long)ns, buf, (long long)again);
			abort();
		}
	} else if (err.msg[0] == '\0') {
		fprintf(stderr, "duration '%s' rejected without a message\n", text);
		abort();
	}
out:
	free(text);
	return 0;
}
