/* Fuzz the reports-side redaction (reports/redact.h), which every artefact,
 * commit message and notification passes through.  Properties: a
 * registered secret and a token-like environment variable's value never
 * survive in redact_text's output, redaction is idempotent, and
 * redact_json of the text as a JSON string (and as a key) keeps neither
 * secret. */
#include <stdio.h>

#include "reports/redact.h"
#include "tests/fuzz/fuzz_util.h"

#define REG_SECRET "fz-registered-4242"
#define ENV_SECRET "fz-env-token-7373"

static void must_not_hold(const char *out, const char *in, const char *what)
{
	if (strstr(out, REG_SECRET) || strstr(out, ENV_SECRET)) {
		fprintf(stderr, "%s kept a secret:\n in: %s\nout: %s\n", what, in, out);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	char *in = fuzz_strndup(data, size), *out, *again;
	const char *key;
	json_t *val;
	json_t *v, *r;

	if (!ready) {
		redact_add_secret(REG_SECRET);
		setenv("FUZZ_DEPLOY_TOKEN", ENV_SECRET, 1);
		ready = 1;
	}
	out = redact_text(in);
	must_not_hold(out, in, "redact_text");
	again = redact_text(out);
	if (strcmp(again, out) != 0) {
		fprintf(stderr, "redact_text is not idempotent:\n in: %s\nout: %s\nagain: %s\n", in,
			out, again);
		abort();
	}
	v = json_string(in); /* NULL for invalid UTF-8 */
	if (v) {
		json_t *obj = json_object();

		json_object_set_new(obj, "text", v);
		json_object_set_new(obj, in, json_true()); /* the text as a key too */
		r = redact_json(obj);
		/* The strings themselves: a dump would escape control bytes
		 * ("\f" + "z-..." reads as "\\fz-..."). */
		json_object_foreach(r, key, val) {
			must_not_hold(key, in, "redact_json (key)");
			if (json_is_string(val))
				must_not_hold(json_string_value(val), in, "redact_json (value)");
		}
		json_decref(r);
		json_decref(obj);
	}
	free(again);
	free(out);
	free(in);
	return 0;
}
