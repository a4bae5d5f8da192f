/* The soak's judgement and output: the digest comparison settles only when
 * every node answered at one applied index and is equal only when every
 * digest is the same; the per-iteration line and the final table carry the
 * figures a reader needs (faults by kind, recovery min/median/max, writes,
 * violations); the lines printed while an iteration runs ("fault applied",
 * "interrupted", "healed") line up with it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/clock.h"
#include "harness/soak/soak.h"
#include "harness/soak/soak_digest.h"

static json_t *answer(const char *digest, int last, int applied)
{
	return json_pack("{s:s,s:i,s:i}", "digest", digest, "last_index", last, "applied_index", applied);
}

static void release(json_t **a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(a[i]);
}

static void test_digests_equal(void **state)
{
	json_t *a[3] = { answer("aa", 10, 12), answer("aa", 10, 12), answer("aa", 10, 12) };
	struct soak_digests d;

	(void)state;
	soak_digests_judge(&d, a, 3);
	assert_true(d.settled);
	assert_true(d.equal);
	assert_int_equal(d.nodes, 3);
	assert_int_equal(d.answered, 3);
	assert_int_equal(d.last_index, 10);
	assert_string_equal(d.digest, "aa");
	release(a, 3);
}

static void test_digests_differ_at_same_index(void **state)
{
	json_t *a[3] = { answer("aa", 10, 12), answer("aa", 10, 12), answer("bb", 10, 12) };
	struct soak_digests d;

	(void)state;
	soak_digests_judge(&d, a, 3);
	assert_true(d.settled);
	assert_false(d.equal);
	assert_non_null(strstr(d.detail, "node#3 bb at index 10"));
	release(a, 3);
}

static void test_digests_not_settled(void **state)
{
	json_t *lagging[2] = { answer("aa", 10, 12), answer("cc", 9, 11) };
	json_t *missing[3] = { answer("aa", 10, 12), NULL, answer("aa", 10, 12) };
	struct soak_digests d;

	(void)state;
	/* A replica a heartbeat behind is not a divergence yet. */
	soak_digests_judge(&d, lagging, 2);
	assert_false(d.settled);
	assert_false(d.equal);
	soak_digests_judge(&d, missing, 3);
	assert_false(d.settled);
	assert_false(d.equal);
	assert_int_equal(d.answered, 2);
	assert_non_null(strstr(d.detail, "node#2 no answer"));
	soak_digests_judge(&d, NULL, 0);
	assert_false(d.equal);
	release(lagging, 2);
	release(missing, 3);
}

static void test_median(void **state)
{
	int64_t odd[] = { 5, 1, 3 }, even[] = { 4, 1, 3, 2 };

	(void)state;
	assert_int_equal(soak_median_ns(odd, 3), 3);
	assert_int_equal(soak_median_ns(even, 4), 2); /* (2 + 3) / 2 rounded down */
	assert_int_equal(soak_median_ns(NULL, 0), 0);
	assert_int_equal(odd[0], 5); /* the input is not reordered */
}

static char *capture(void (*fn)(FILE *f, const void *arg), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, arg);
	fclose(f);
	return buf;
}

static void print_summary(FILE *f, const void *arg)
{
	soak_summary_print(f, arg);
}

static void print_second(FILE *f, const void *arg)
{
	const struct soak_result *r = arg;

	soak_iteration_print(f, &r->iterations[1], r->n);
}

static void fill(struct soak_iteration *it, size_t number, enum soak_fault_kind kind,
		 int64_t recovery_ms, uint64_t ok)
{
	memset(it, 0, sizeof(*it));
	it->number = number;
	it->fault.kind = kind;
	it->held_ns = 840 * NS_PER_MS + 123;
	it->recovery_ns = recovery_ms < 0 ? -1 : recovery_ms * NS_PER_MS;
	it->outage_ms = recovery_ms < 0 ? -1 : (double)recovery_ms / 2;
	it->ok = ok;
	it->digests_checked = 1;
	it->digests_equal = 1;
	it->nodes = 5;
	it->ledger_index = 100 * number;
	snprintf(it->target, sizeof(it->target), "node %zu (leader)", number);
}

static void test_lines_and_table(void **state)
{
	struct soak_iteration its[3];
	struct soak_result r = { its, 3, 1 };
	char *text;

	(void)state;
	fill(&its[0], 1, SOAK_KILL_LEADER, 400, 10);
	fill(&its[1], 2, SOAK_KILL_LEADER, 800, 20);
	fill(&its[2], 3, SOAK_PAUSE_NODE, -1, 30);
	its[2].verdict = SOAK_NOT_RECOVERED;
	its[2].digests_checked = 0;
	its[1].lost = 2;
	its[1].verdict = SOAK_VIOLATION;
	snprintf(its[1].note, sizeof(its[1].note), "history: 2 lost");

	text = capture(print_second, &r);
	assert_non_null(strstr(text, "soak 2/3  kill-leader node 2 (leader)"));
	assert_non_null(strstr(text, "hold 840ms"));
	assert_non_null(strstr(text, "recovery 0.80s  outage 0.40s "));
	assert_non_null(strstr(text, "writes ok 20 lost 2 dup 0"));
	assert_non_null(strstr(text, "digests equal (5 nodes, index 200)"));
	assert_non_null(strstr(text, "VIOLATION\nsoak 2/3  history: 2 lost\n"));
	free(text);

	text = capture(print_summary, &r);
	/* kill-leader: 2 faults, recovery 0.40 / 0.60 / 0.80 */
	if (!strstr(text, "kill-leader             2      0.40s      0.60s      0.80s        0.40s\n"))
		fail_msg("kill-leader row missing:\n%s", text);
	/* a fault that never recovered counts, without a recovery time */
	if (!strstr(text, "pause-node              1          -          -          -            -\n"))
		fail_msg("pause-node row missing:\n%s", text);
	assert_non_null(strstr(text, "all                     3      0.40s      0.60s      0.80s        0.40s\n"));
	assert_non_null(strstr(text, "anomalies (a fault that missed its effect): 0"));
	assert_non_null(strstr(text, "writes checked: 60 acknowledged"));
	assert_non_null(strstr(text, "lost acknowledged writes: 2"));
	assert_non_null(strstr(text, "digests equal: 2 of 2 compared"));
	assert_non_null(strstr(text, "iterations passed: 1 of 3"));
	assert_null(strstr(text, "transfer-leader")); /* kinds that did not run are not listed */
	free(text);
}

static void print_events(FILE *f, const void *arg)
{
	const struct soak_iteration *it = arg;

	soak_fault_applied_print(f, it, 10, 0);
	soak_fault_applied_print(f, it, 10, 1);
	soak_interrupt_print(f, it, 10);
	soak_heal_print(f, it, 10, 1);
	soak_heal_print(f, it, 10, 0);
}

/* The lines printed while an iteration runs: aligned like its iteration
 * line, naming the fault and its target, with the hold that was scheduled
 * (whole milliseconds) and the time actually held. */
static void test_event_lines(void **state)
{
	struct soak_iteration it, pair[2];
	struct soak_result r = { pair, 10, 0 }; /* print_second prints pair[1] of 10 */
	char *text;

	(void)state;
	fill(&it, 3, SOAK_PARTITION_REGION, 100, 10);
	snprintf(it.target, sizeof(it.target), "region dr");
	it.fault.hold_ns = 20 * NS_PER_SEC + 456;
	it.inject_ns = 12 * NS_PER_MS;
	it.held_ns = 1520 * NS_PER_MS;
	text = capture(print_events, &it);
	assert_string_equal(text,
		"soak  3/10  fault applied: partition-region region dr in 0.01s, holding 20s\n"
		"soak  3/10  fault applied: partition-region region dr in 0.01s (missed its effect, see below), holding 20s\n"
		"soak  3/10  interrupted after 1.52s of the 20s hold\n"
		"soak  3/10  healed partition-region region dr; waiting for recovery (Ctrl-C again stops waiting)\n"
		"soak  3/10  partition-region region dr needs no undo (the cluster recovers by itself); "
		"waiting for recovery (Ctrl-C again stops waiting)\n");
	free(text);

	/* The iteration line of the same iteration starts at the same column. */
	pair[1] = it;
	text = capture(print_second, &r);
	assert_non_null(strstr(text, "soak  3/10  partition-region region dr "));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digests_equal),
		cmocka_unit_test(test_digests_differ_at_same_index),
		cmocka_unit_test(test_digests_not_settled),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_lines_and_table),
		cmocka_unit_test(test_event_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
