#include "harness/soak/soak_digest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "ledger/client/client.h"

#define DIGEST_CALL_TIMEOUT_MS 2000
#define DIGEST_POLL_NS (50 * NS_PER_MS)

static void detail_add(struct soak_digests *out, size_t *off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void detail_add(struct soak_digests *out, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*off >= sizeof(out->detail))
		return;
	va_start(ap, fmt);
	w = vsnprintf(out->detail + *off, sizeof(out->detail) - *off, fmt, ap);
	va_end(ap);
	*off += w > 0 ? (size_t)w : 0;
}

void soak_digests_judge(struct soak_digests *out, json_t *const *answers, size_t n)
{
	const char *first_digest = NULL;
	json_int_t first_applied = -1;
	int same_applied = 1, same_digest = 1;
	size_t off = 0;

	memset(out, 0, sizeof(out[0]));
	out->nodes = n;
	for (size_t i = 0; i < n; i++) {
		const char *d = json_string_value(json_object_get(answers[i], "digest"));
		json_int_t applied = json_integer_value(json_object_get(answers[i], "applied_index"));

		if (!answers[i] || !d)
			continue;
		out->answered++;
		if (!first_digest) {
			first_digest = d;
			first_applied = applied;
			out->last_index = (uint64_t)json_integer_value(json_object_get(answers[i], "last_index"));
			str_copy(out->digest, sizeof(out->digest), d);
			continue;
		}
		same_applied &= applied == first_applied;
		same_digest &= strcmp(d, first_digest) == 0;
	}
	out->settled = n > 0 && out->answered == n && same_applied;
	out->equal = out->settled && same_digest;
	if (out->equal)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *d = json_string_value(json_object_get(answers[i], "digest"));

		if (!answers[i] || !d)
			detail_add(out, &off, "%snode#%zu no answer", i ? ", " : "", i + 1);
		else
			detail_add(out, &off, "%snode#%zu %.12s at index %lld (applied %lld)",
				   i ? ", " : "", i + 1, d,
				   (long long)json_integer_value(json_object_get(answers[i], "last_index")),
				   (long long)json_integer_value(json_object_get(answers[i], "applied_index")));
	}
}

int soak_digests_compare(struct soak_digests *out, char *const *endpoints, size_t n,
			 const char *admin_token, int64_t timeout_ns, struct dr_error *err)
{
	json_t **answers = xcalloc(n ? n : 1, sizeof(*answers));
	int64_t deadline = clock_mono_ns() + timeout_ns;

	(void)err;
	for (;;) {
		for (size_t i = 0; i < n; i++) {
			struct dr_error cerr = DR_ERROR_INIT;
			json_t *req = json_object();
			long http = 0;

			json_decref(answers[i]);
			answers[i] = NULL;
			if (ledger_debug_call(endpoints[i], admin_token, "inferadb.ledger.v1.Debug/Digest", req,
					      DIGEST_CALL_TIMEOUT_MS, &answers[i], &http, &cerr) != 0 ||
			    http != 200) {
				json_decref(answers[i]);
				answers[i] = NULL;
			}
			json_decref(req);
		}
		soak_digests_judge(out, answers, n);
		if (out->settled || clock_mono_ns() >= deadline)
			break;
		clock_sleep_ns(DIGEST_POLL_NS);
	}
	for (size_t i = 0; i < n; i++)
		json_decref(answers[i]);
	free(answers);
	return 0;
}
