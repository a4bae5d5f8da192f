/* The soak's fault schedule: a seed gives one schedule, region faults only
 * hit regions whose loss keeps a quorum, holds stay in range, drop-entry is
 * never drawn unless asked for, and a saved schedule loads back identical;
 * every malformed schedule names the offending key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "harness/soak/soak_schedule.h"

static void spec_of(struct cluster_spec *spec, const char *topology)
{
	struct dr_error err = DR_ERROR_INIT;

	cluster_spec_init(spec);
	if (topology && cluster_topology_parse(spec, topology, &err) != 0)
		fail_msg("topology '%s': %s", topology, err.msg);
}

static void generate(struct soak_schedule *out, const char *topology, uint64_t seed, size_t n,
		     unsigned kinds)
{
	struct cluster_spec spec;
	struct soak_generate_opts o = { seed, n, kinds, 200 * NS_PER_MS, 3 * NS_PER_SEC, "300ms/30ms" };
	struct dr_error err = DR_ERROR_INIT;

	spec_of(&spec, topology);
	if (soak_schedule_generate(out, &spec, &o, &err) != 0)
		fail_msg("generate: %s", err.msg);
}

static int same_faults(const struct soak_schedule *a, const struct soak_schedule *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++)
		if (a->faults[i].kind != b->faults[i].kind || a->faults[i].pick != b->faults[i].pick ||
		    a->faults[i].hold_ns != b->faults[i].hold_ns ||
		    strcmp(a->faults[i].region, b->faults[i].region) != 0)
			return 0;
	return 1;
}

static void test_same_seed_same_schedule(void **state)
{
	struct soak_schedule a = SOAK_SCHEDULE_INIT, b = SOAK_SCHEDULE_INIT, c = SOAK_SCHEDULE_INIT;

	(void)state;
	generate(&a, NULL, 42, 200, 0);
	generate(&b, NULL, 42, 200, 0);
	generate(&c, NULL, 43, 200, 0);
	assert_true(same_faults(&a, &b));
	assert_false(same_faults(&a, &c));
	assert_int_equal(a.seed, 42);
	assert_string_equal(a.timing, "300ms/30ms");
	assert_non_null(strstr(a.topology, "primary"));
	/* A longer schedule from the same seed starts with the shorter one. */
	soak_schedule_release(&b);
	generate(&b, NULL, 42, 50, 0);
	a.n = 50;
	assert_true(same_faults(&a, &b));
	a.n = 200;
	soak_schedule_release(&a);
	soak_schedule_release(&b);
	soak_schedule_release(&c);
}

static void test_default_kinds_all_drawn_never_drop_entry(void **state)
{
	struct soak_schedule s = SOAK_SCHEDULE_INIT;
	size_t count[SOAK_FAULT_KINDS] = { 0 };

	(void)state;
	generate(&s, NULL, 7, 600, 0);
	for (size_t i = 0; i < s.n; i++) {
		const struct soak_fault *f = &s.faults[i];

		count[f->kind]++;
		assert_true(f->hold_ns >= 200 * NS_PER_MS && f->hold_ns <= 3 * NS_PER_SEC);
		assert_int_equal(f->hold_ns % NS_PER_MS, 0);
		if (SOAK_KIND_HAS_REGION(f->kind))
			assert_true(f->region[0]);
		else
			assert_string_equal(f->region, "");
	}
	for (int k = 0; k < SOAK_FAULT_KINDS; k++) {
		/* The kernel's kinds join only when the caller asks (the CLI
		 * does where nftables runs); drop-entry only by name. */
		if (k == SOAK_DROP_ENTRY || (SOAK_KIND_BIT(k) & SOAK_KERNEL_KINDS))
			assert_int_equal(count[k], 0);
		else if (count[k] < 50) /* 600 draws over 6 kinds: about 100 each */
			fail_msg("%s drawn only %zu times of 600", soak_fault_kind_name((enum soak_fault_kind)k),
				 count[k]);
	}
	soak_schedule_release(&s);
}

static void test_region_faults_keep_quorum(void **state)
{
	struct soak_schedule s = SOAK_SCHEDULE_INIT;
	struct cluster_spec spec;
	const char *names[CLUSTER_MAX_REGIONS];

	(void)state;
	/* 5 voters, quorum 3: losing big (3) is not safe, small (2) is. */
	spec_of(&spec, "big:primary=3,small:dr=2");
	assert_int_equal(soak_quorum_safe_regions(&spec, names, CLUSTER_MAX_REGIONS), 1);
	assert_string_equal(names[0], "small");
	generate(&s, "big:primary=3,small:dr=2", 9, 300,
		 SOAK_KIND_BIT(SOAK_SCALE_REGION) | SOAK_KIND_BIT(SOAK_PARTITION_REGION));
	for (size_t i = 0; i < s.n; i++)
		assert_string_equal(s.faults[i].region, "small");
	soak_schedule_release(&s);
	/* The default topology: every region may go (3 of 5 remain at worst). */
	spec_of(&spec, NULL);
	assert_int_equal(soak_quorum_safe_regions(&spec, names, CLUSTER_MAX_REGIONS), 3);
}

static void test_impossible_kinds_rejected(void **state)
{
	struct cluster_spec spec;
	struct soak_schedule s = SOAK_SCHEDULE_INIT;
	struct soak_generate_opts o = { 1, 10, SOAK_KIND_BIT(SOAK_SCALE_REGION), 0, 0, NULL };
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	spec_of(&spec, "primary=3");
	assert_int_equal(soak_schedule_generate(&s, &spec, &o, &err), -1);
	assert_non_null(strstr(err.msg, "none of the requested faults is possible"));
	/* A witness cannot take leadership: one leader-able node is too few. */
	spec_of(&spec, "primary=1,witness=2");
	o.kinds = SOAK_KIND_BIT(SOAK_TRANSFER_LEADER);
	assert_int_equal(soak_schedule_generate(&s, &spec, &o, &err), -1);
	/* Impossible kinds are left out when others remain. */
	o.kinds = SOAK_KIND_BIT(SOAK_TRANSFER_LEADER) | SOAK_KIND_BIT(SOAK_KILL_LEADER);
	assert_int_equal(soak_schedule_generate(&s, &spec, &o, &err), 0);
	for (size_t i = 0; i < s.n; i++)
		assert_int_equal(s.faults[i].kind, SOAK_KILL_LEADER);
	soak_schedule_release(&s);
	o.hold_min_ns = 2 * NS_PER_SEC;
	o.hold_max_ns = NS_PER_SEC;
	assert_int_equal(soak_schedule_generate(&s, &spec, &o, &err), -1);
	assert_non_null(strstr(err.msg, "hold range"));
}

static void test_kind_names(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	enum soak_fault_kind k;
	unsigned mask = 0;

	(void)state;
	for (int i = 0; i < SOAK_FAULT_KINDS; i++) {
		assert_int_equal(soak_fault_kind_parse(&k, soak_fault_kind_name((enum soak_fault_kind)i)), 0);
		assert_int_equal(k, i);
	}
	assert_null(soak_fault_kind_name(SOAK_FAULT_KINDS));
	assert_int_equal(soak_fault_kinds_parse(&mask, "all", &err), 0);
	assert_int_equal(mask, SOAK_DEFAULT_KINDS | SOAK_KERNEL_KINDS);
	assert_int_equal(soak_fault_kinds_parse(&mask, "mute-leader,lossy-region", &err), 0);
	assert_int_equal(mask, SOAK_KERNEL_KINDS);
	assert_int_equal(soak_fault_kinds_parse(&mask, "kill-leader,drop-entry", &err), 0);
	assert_int_equal(mask, SOAK_KIND_BIT(SOAK_KILL_LEADER) | SOAK_KIND_BIT(SOAK_DROP_ENTRY));
	assert_int_equal(soak_fault_kinds_parse(&mask, "kill-leader,kill-everything", &err), -1);
	assert_non_null(strstr(err.msg, "unknown fault kind 'kill-everything'"));
	assert_non_null(strstr(err.msg, "pause-node"));
	assert_int_equal(soak_fault_kinds_parse(&mask, "", &err), -1);
}

static void test_seed_parse(void **state)
{
	uint64_t v = 5;

	(void)state;
	assert_int_equal(soak_seed_parse(&v, "18446744073709551615"), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(soak_seed_parse(&v, "0"), 0);
	assert_true(v == 0);
	v = 5;
	assert_int_equal(soak_seed_parse(&v, "18446744073709551616"), -1);
	assert_int_equal(soak_seed_parse(&v, "-1"), -1);
	assert_int_equal(soak_seed_parse(&v, "12x"), -1);
	assert_int_equal(soak_seed_parse(&v, ""), -1);
	assert_true(v == 5);
}

static void test_rand_below_covers_range(void **state)
{
	uint64_t st = 1;
	int seen[7] = { 0 };

	(void)state;
	for (int i = 0; i < 700; i++) {
		uint64_t v = soak_rand_below(&st, 7);

		assert_true(v < 7);
		seen[v]++;
	}
	for (int i = 0; i < 7; i++)
		assert_true(seen[i] > 50);
}

static void test_json_round_trip_and_file(void **state)
{
	struct soak_schedule a = SOAK_SCHEDULE_INIT, b = SOAK_SCHEDULE_INIT;
	struct dr_error err = DR_ERROR_INIT;
	char dir[] = "/tmp/test-soak-XXXXXX", path[64];
	json_t *j;

	(void)state;
	generate(&a, "us:primary=3,eu:dr=2,w:witness=1", UINT64_MAX - 3, 40, 0);
	j = soak_schedule_to_json(&a);
	assert_string_equal(json_string_value(json_object_get(j, "seed")), "18446744073709551612");
	assert_int_equal(soak_schedule_from_json(&b, j, "test", &err), 0);
	assert_true(same_faults(&a, &b));
	assert_true(b.seed == a.seed);
	assert_string_equal(b.topology, a.topology);
	assert_string_equal(b.timing, a.timing);
	json_decref(j);
	soak_schedule_release(&b);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.json", dir);
	assert_int_equal(soak_schedule_save(&a, path, &err), 0);
	assert_int_equal(soak_schedule_load(&b, path, &err), 0);
	assert_true(same_faults(&a, &b));
	soak_schedule_release(&b);
	assert_int_equal(fs_write_atomic(path, "{\"version\":1,\n  oops", 20, &err), 0);
	assert_int_equal(soak_schedule_load(&b, path, &err), -1);
	if (!strstr(err.msg, path) || !strstr(err.msg, ":2:"))
		fail_msg("a JSON error names the file and line: %s", err.msg);
	unlink(path);
	assert_int_equal(soak_schedule_load(&b, path, &err), -1);
	assert_non_null(strstr(err.msg, "cannot read the schedule"));
	rmdir(dir);
	soak_schedule_release(&a);
}

static void expect_bad(const char *text, const char *fragment)
{
	struct soak_schedule s = SOAK_SCHEDULE_INIT;
	struct dr_error err = DR_ERROR_INIT;
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	assert_non_null(j);
	assert_int_equal(soak_schedule_from_json(&s, j, "schedule 'x.json'", &err), -1);
	if (!strstr(err.msg, fragment) || !strstr(err.msg, "schedule 'x.json'"))
		fail_msg("error for %s was '%s', expected '%s'", text, err.msg, fragment);
	assert_null(s.faults);
	json_decref(j);
}

#define HEAD "\"version\":1,\"seed\":\"3\",\"topology\":\"primary=2,dr=2,witness=1\",\"timing\":\"300ms/30ms\""

static void test_malformed_schedules(void **state)
{
	(void)state;
	expect_bad("[]", "expected a JSON object");
	expect_bad("{\"version\":2}", "version: expected 1");
	expect_bad("{\"version\":1,\"seed\":3}", "seed: expected a decimal string");
	expect_bad("{\"version\":1,\"seed\":\"3\"}", "topology:");
	expect_bad("{" HEAD ",\"faults\":[]}", "faults: expected a non-empty list");
	expect_bad("{" HEAD ",\"faults\":[{\"fault\":\"kill-all\",\"pick\":1,\"hold_ms\":5}]}",
		   "faults[0].fault: unknown fault 'kill-all'");
	expect_bad("{" HEAD ",\"faults\":[{\"fault\":\"kill-leader\",\"pick\":1,\"hold_ms\":5},"
		   "{\"fault\":\"scale-region\",\"pick\":1,\"hold_ms\":5}]}",
		   "faults[1].region: a scale-region fault needs a region name");
	expect_bad("{" HEAD ",\"faults\":[{\"fault\":\"pause-node\",\"pick\":-1,\"hold_ms\":5}]}",
		   "faults[0].pick");
	expect_bad("{" HEAD ",\"faults\":[{\"fault\":\"pause-node\",\"pick\":1,\"hold_ms\":\"5s\"}]}",
		   "faults[0].hold_ms");
	expect_bad("{" HEAD ",\"faults\":[7]}", "faults[0]: expected an object");
}

static void test_describe(void **state)
{
	struct soak_fault f = { SOAK_SCALE_REGION, "dr", 3, 1200 * NS_PER_MS };
	char buf[128];

	(void)state;
	soak_fault_describe(buf, sizeof(buf), &f);
	assert_string_equal(buf, "scale-region dr hold 1.2s");
	f.kind = SOAK_KILL_LEADER;
	f.region[0] = '\0';
	f.hold_ns = 840 * NS_PER_MS;
	soak_fault_describe(buf, sizeof(buf), &f);
	assert_string_equal(buf, "kill-leader hold 840ms");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_same_schedule),
		cmocka_unit_test(test_default_kinds_all_drawn_never_drop_entry),
		cmocka_unit_test(test_region_faults_keep_quorum),
		cmocka_unit_test(test_impossible_kinds_rejected),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_seed_parse),
		cmocka_unit_test(test_rand_below_covers_range),
		cmocka_unit_test(test_json_round_trip_and_file),
		cmocka_unit_test(test_malformed_schedules),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
