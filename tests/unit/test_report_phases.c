/* report.md shows what the measurements set apart: pre-fault blips as
 * such (not as outages) and the before / during / after figures, each
 * with its window; neither when the journal has none (older journals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "reports/reports.h"

static json_t *journal_with(json_t *measurements)
{
	return json_pack("{s:i,s:s,s:{s:s},s:s,s:i,s:o}", "schema_version", 1, "status", "passed",
			 "drill", "name", "phases", "started_at", "2026-12-07T15:00:00.000Z",
			 "exit_code", 0, "measurements", measurements);
}

static void assert_contains(const char *md, const char *needle)
{
	if (!strstr(md, needle))
		fail_msg("report.md lacks '%s':\n%s", needle, md);
}

static void test_phases_and_blips_shown(void **state)
{
	json_t *m = json_pack("{s:s,s:f,s:f,s:f,s:[{s:f,s:f,s:f,s:b}],s:f,s:{s:o,s:o,s:n}}",
			      "workload_mode", "ledger", "rto_ms", 51.0, "unavailable_ms", 51.0,
			      "availability", 0.83,
			      "pre_fault_blips", "start_ms", 20.0, "end_ms", 24.0, "duration_ms", 4.0,
			      "recovered", 1,
			      "pre_fault_blips_ms", 4.0,
			      "phases",
			      "before", json_pack("{s:f,s:f,s:f,s:f,s:i,s:{s:f,s:f,s:f}}",
						  "start_ms", 50.0, "end_ms", 3050.0,
						  "availability", 1.0, "unavailable_ms", 0.0,
						  "writes_ok", 2900, "latency_ms", "p50", 0.9,
						  "p99", 4.2, "max", 6.1),
			      "during", json_pack("{s:f,s:f,s:f,s:f,s:i,s:{s:f,s:f,s:f}}",
						  "start_ms", 3050.0, "end_ms", 3250.0,
						  "availability", 0.745, "unavailable_ms", 51.0,
						  "writes_ok", 120, "latency_ms", "p50", 0.8,
						  "p99", 51.0, "max", 51.0),
			      "after");
	json_t *j = journal_with(m);
	char *md = report_render_markdown(j);

	(void)state;
	assert_contains(md, "| Pre-fault blips (not counted) | 1, 4.0 ms in all |");
	assert_contains(md, "| Before the fault | +50.0 ms to +3.050 s (3.00 s) | 100.00 % |");
	assert_contains(md, "| During (fault to restore) | +3.050 s to +3.250 s (200.0 ms) | 74.50 % | "
			    "51.0 ms | 120 |");
	assert_contains(md, "| After the restore | not measured |");
	free(md);
	json_decref(j);
}

static void test_nothing_shown_without_them(void **state)
{
	json_t *j = journal_with(json_pack("{s:s,s:f}", "workload_mode", "ledger", "rto_ms", 1.0));
	char *md = report_render_markdown(j);

	(void)state;
	assert_null(strstr(md, "Pre-fault blips"));
	assert_null(strstr(md, "Before the fault"));
	free(md);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phases_and_blips_shown),
		cmocka_unit_test(test_nothing_shown_without_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
