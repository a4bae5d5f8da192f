/* Topology specs and signal names: every accepted form, every rejection
 * with its cause, and a failed parse leaves the spec untouched. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ledger/cluster/cluster.h"

static void parse_ok(struct cluster_spec *spec, const char *text)
{
	struct dr_error err = DR_ERROR_INIT;

	cluster_spec_init(spec);
	if (cluster_topology_parse(spec, text, &err) != 0)
		fail_msg("'%s' should parse, got: %s", text, err.msg);
}

static void expect_error(const char *text, const char *fragment)
{
	struct dr_error err = DR_ERROR_INIT;
	struct cluster_spec spec, before;

	cluster_spec_init(&spec);
	before = spec;
	assert_int_equal(cluster_topology_parse(&spec, text, &err), -1);
	assert_memory_equal(&spec, &before, sizeof(spec)); /* untouched */
	if (!strstr(err.msg, fragment))
		fail_msg("error for '%s' was '%s', expected it to mention '%s'",
			 text ? text : "(null)", err.msg, fragment);
}

static void test_default_keeps_quorum_without_primary(void **state)
{
	struct cluster_spec spec;
	int total = 0, primary = 0;

	(void)state;
	cluster_spec_init(&spec);
	assert_int_equal(spec.nregions, 3);
	assert_string_equal(spec.regions[0].name, "primary");
	assert_int_equal(spec.regions[0].role, CLUSTER_ROLE_PRIMARY);
	assert_int_equal(spec.regions[1].role, CLUSTER_ROLE_DR);
	assert_int_equal(spec.regions[2].role, CLUSTER_ROLE_WITNESS);
	for (int i = 0; i < spec.nregions; i++) {
		total += spec.regions[i].size;
		if (spec.regions[i].role == CLUSTER_ROLE_PRIMARY)
			primary += spec.regions[i].size;
	}
	/* the whole primary region lost still leaves a majority */
	assert_true(total - primary > total / 2);
	assert_int_equal(spec.election_timeout_ms, 300);
	assert_int_equal(spec.heartbeat_ms, 30);
}

static void test_role_names_as_regions(void **state)
{
	struct cluster_spec spec;

	(void)state;
	parse_ok(&spec, "primary=3,dr=2");
	assert_int_equal(spec.nregions, 2);
	assert_string_equal(spec.regions[0].name, "primary");
	assert_int_equal(spec.regions[0].size, 3);
	assert_int_equal(spec.regions[0].zones, 2);
	assert_string_equal(spec.regions[1].name, "dr");
	assert_int_equal(spec.regions[1].role, CLUSTER_ROLE_DR);
	assert_int_equal(spec.regions[1].size, 2);
	/* timing is not part of a topology */
	assert_int_equal(spec.election_timeout_ms, 300);
}

static void test_named_regions_and_zones(void **state)
{
	struct cluster_spec spec;
	char *text;

	(void)state;
	parse_ok(&spec, "us-west-1:primary=3/3,eu-central-1:dr=2,tie:witness=1");
	assert_int_equal(spec.nregions, 3);
	assert_string_equal(spec.regions[0].name, "us-west-1");
	assert_int_equal(spec.regions[0].role, CLUSTER_ROLE_PRIMARY);
	assert_int_equal(spec.regions[0].zones, 3);
	assert_string_equal(spec.regions[1].name, "eu-central-1");
	assert_int_equal(spec.regions[1].role, CLUSTER_ROLE_DR);
	assert_string_equal(spec.regions[2].name, "tie");
	assert_int_equal(spec.regions[2].role, CLUSTER_ROLE_WITNESS);
	text = cluster_topology_format(&spec);
	assert_string_equal(text, "us-west-1:primary=3/3,eu-central-1:dr=2/2,tie:witness=1/2");
	/* the rendered form parses back to the same regions */
	parse_ok(&spec, text);
	assert_string_equal(spec.regions[0].name, "us-west-1");
	assert_int_equal(spec.regions[0].size, 3);
	assert_int_equal(spec.regions[0].zones, 3);
	free(text);
}

static void test_rejections(void **state)
{
	(void)state;
	expect_error(NULL, "empty topology");
	expect_error("", "empty topology");
	expect_error("primary", "has no '=count'");
	expect_error("primary=0", "count '0' is not a number in 1..64");
	expect_error("primary=x", "count 'x'");
	expect_error("primary=2x", "count '2x'");
	expect_error("primary=-1", "count '-1'");
	expect_error("primary=65", "1..64");
	expect_error("leader=2", "'leader' is not a role");
	expect_error("a:boss=1", "unknown role 'boss'");
	expect_error("primary=2,primary=1", "region 'primary' is given twice");
	expect_error("dr=2,witness=1", "has no region with role primary");
	expect_error("primary=2,", "empty region");
	expect_error(",primary=2", "empty region");
	expect_error("primary=2,,dr=1", "empty region");
	expect_error("Primary:primary=2", "must be lowercase");
	expect_error("1a:primary=2", "must be lowercase");
	expect_error("a-:primary=2", "must be lowercase");
	expect_error(":primary=2", "must be lowercase");
	expect_error("primary=2/0", "zone count '0'");
	expect_error("primary=2/27", "zone count '27'");
	expect_error("primary=40,dr=40", "80 nodes; at most 64");
}

static void test_roles_round_trip(void **state)
{
	enum cluster_role role;

	(void)state;
	for (int r = CLUSTER_ROLE_PRIMARY; r <= CLUSTER_ROLE_WITNESS; r++) {
		assert_int_equal(cluster_role_parse(&role, cluster_role_name((enum cluster_role)r)), 0);
		assert_int_equal(role, r);
	}
	assert_int_equal(cluster_role_parse(&role, "Primary"), -1);
	assert_int_equal(cluster_role_parse(&role, ""), -1);
}

static void test_signal_names(void **state)
{
	(void)state;
	assert_int_equal(cluster_signal_parse("KILL"), SIGKILL);
	assert_int_equal(cluster_signal_parse("SIGKILL"), SIGKILL);
	assert_int_equal(cluster_signal_parse("sigterm"), SIGTERM);
	assert_int_equal(cluster_signal_parse("9"), 9);
	assert_int_equal(cluster_signal_parse("STOP"), SIGSTOP);
	assert_int_equal(cluster_signal_parse("FOO"), -1);
	assert_int_equal(cluster_signal_parse("0"), -1);
	assert_int_equal(cluster_signal_parse("65"), -1);
	assert_int_equal(cluster_signal_parse(""), -1);
	assert_int_equal(cluster_signal_parse(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_keeps_quorum_without_primary),
		cmocka_unit_test(test_role_names_as_regions),
		cmocka_unit_test(test_named_regions_and_zones),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_roles_round_trip),
		cmocka_unit_test(test_signal_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
