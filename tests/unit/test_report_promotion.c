/* report.md after an unsafe promotion: the DR index against the highest
 * acknowledged one, then the writes at risk and lost; "Nothing could be
 * lost" only when none was at risk; "not measured" with the reason when
 * the DR index was not reported; nothing for a drill without one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "reports/reports.h"

static char *render(json_t *unsafe)
{
	json_t *j = json_pack("{s:i,s:s,s:{s:s},s:s,s:i,s:{s:s,s:o}}", "schema_version", 1,
			      "status", "passed", "drill", "name", "quorum-loss",
			      "started_at", "2026-12-07T15:00:00.000Z", "exit_code", 0,
			      "measurements", "workload_mode", "ledger", "unsafe_promotion",
			      unsafe ? unsafe : json_null());
	char *md = report_render_markdown(j);

	json_decref(j);
	assert_non_null(md);
	return md;
}

static void assert_contains(const char *md, const char *needle)
{
	if (!strstr(md, needle))
		fail_msg("report.md lacks '%s':\n%s", needle, md);
}

static void test_writes_at_risk_and_lost(void **state)
{
	char *md = render(json_pack("{s:s,s:f,s:i,s:i,s:i,s:i,s:n}", "step", "force-dr-promotion",
				    "t_ms", 1413.4, "dr_last_index", 117, "primary_acked_index", 120,
				    "writes_at_risk", 3, "writes_lost", 3, "note"));

	(void)state;
	assert_contains(md, "**Unsafe promotion** at `force-dr-promotion` (+1.413 s): the DR node "
			"chosen had the ledger up to index 117; the old primary had acknowledged "
			"writes up to index 120");
	assert_contains(md, "| At risk (acknowledged above the DR index) | 3 |");
	assert_contains(md, "| Lost (acknowledged, missing afterwards) | 3 |");
	assert_null(strstr(md, "Nothing could be lost"));
	free(md);
}

static void test_nothing_at_risk_says_so(void **state)
{
	char *md = render(json_pack("{s:s,s:f,s:i,s:i,s:i,s:i,s:n}", "step", "promote",
				    "t_ms", 900.0, "dr_last_index", 120, "primary_acked_index", 120,
				    "writes_at_risk", 0, "writes_lost", 0, "note"));

	(void)state;
	assert_contains(md, "| At risk (acknowledged above the DR index) | 0 |");
	assert_contains(md, "Nothing could be lost");
	free(md);
}

static void test_not_measured_and_absent(void **state)
{
	char *md = render(json_pack("{s:s,s:f,s:n,s:i,s:n,s:i,s:s}", "step", "promote",
				    "t_ms", 900.0, "dr_last_index", "primary_acked_index", 120,
				    "writes_at_risk", "writes_lost", 0, "note",
				    "the promotion did not report the chosen node's ledger index"));

	(void)state;
	assert_contains(md, "up to an index not reported");
	assert_contains(md, "| not measured: the promotion did not report the chosen node's "
			"ledger index |");
	assert_null(strstr(md, "Nothing could be lost"));
	free(md);
	md = render(NULL);
	assert_null(strstr(md, "Unsafe promotion"));
	free(md);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writes_at_risk_and_lost),
		cmocka_unit_test(test_nothing_at_risk_says_so),
		cmocka_unit_test(test_not_measured_and_absent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
