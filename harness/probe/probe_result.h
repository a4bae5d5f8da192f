/* What a probe found: the result every probe kind fills (harness/probe/),
 * and its journal form. */
#ifndef DR_HARNESS_PROBE_PROBE_RESULT_H
#define DR_HARNESS_PROBE_PROBE_RESULT_H

#include <jansson.h>
#include <stdint.h>

struct journal;

struct probe_result {
	char name[128];
	char kind[32];
	int ok;
	int attempts;
	int64_t start_ns;
	int64_t duration_ns;
	char message[1024];
	json_t *data;        /* details of the last attempt (status code, value, ...) */
};

#define PROBE_RESULT_INIT { { 0 }, { 0 }, 0, 0, 0, 0, { 0 }, NULL }

void probe_result_release(struct probe_result *r);
/* {"name","kind","ok","t_ms","duration_ms","attempts","message",...} */
json_t *probe_result_to_json(const struct probe_result *r, struct journal *j);
/* A "probe" event of the same fields, at the probe's start (its t_ms and
 * wall clock are that moment; duration_ms says how long it took). */
void probe_result_event(struct journal *j, const struct probe_result *r);

#endif
