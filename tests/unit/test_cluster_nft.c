/* The nftables rulesets of kernel-injected partitions: the cluster's own
 * table is replaced whole in one transaction, a cut both ways drops every
 * packet between the sides, a one-way cut only the packets to the other
 * side's raft port (so the TCP acknowledgements of the other direction
 * still flow), a loss rate drops that share at random, every rule counts
 * what it drops, and the table is named after the cluster's network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ledger/cluster/cluster.h"

static const char *const cut_side[] = { "127.5.6.1", "127.5.6.2" };
static const char *const rest_side[] = { "127.5.6.3" };

static void test_table_named_after_the_network(void **state)
{
	json_t *info = json_pack("{s:s}", "network", "127.5.6.0");
	char *name = cluster_nft_table(info);

	(void)state;
	assert_string_equal(name, "drillrig_127_5_6_0");
	free(name);
	json_decref(info);
	info = json_object();
	assert_null(cluster_nft_table(info));
	json_decref(info);
}

static void test_both_ways_drops_everything_between_the_sides(void **state)
{
	struct cluster_nft_cut cuts[] = {
		{ cut_side, 2, rest_side, 1, 0, 100 },
		{ rest_side, 1, cut_side, 2, 0, 100 },
	};
	char *rules = cluster_nft_ruleset("drillrig_t", cuts, 2);

	(void)state;
	assert_string_equal(rules,
		"table inet drillrig_t\n"
		"delete table inet drillrig_t\n"
		"table inet drillrig_t {\n"
		"\tchain output {\n"
		"\t\ttype filter hook output priority 0; policy accept;\n"
		"\t\tip saddr { 127.5.6.1, 127.5.6.2 } ip daddr { 127.5.6.3 } counter drop\n"
		"\t\tip saddr { 127.5.6.3 } ip daddr { 127.5.6.1, 127.5.6.2 } counter drop\n"
		"\t}\n"
		"}\n");
	free(rules);
}

static void test_one_way_and_loss(void **state)
{
	struct cluster_nft_cut one_way = { cut_side, 2, rest_side, 1, 7001, 100 };
	struct cluster_nft_cut lossy = { rest_side, 1, cut_side, 2, 0, 30 };
	char *a = cluster_nft_ruleset("t", &one_way, 1), *b = cluster_nft_ruleset("t", &lossy, 1);

	(void)state;
	assert_non_null(strstr(a, "\t\tip saddr { 127.5.6.1, 127.5.6.2 } ip daddr { 127.5.6.3 } "
				  "tcp dport 7001 counter drop\n"));
	assert_null(strstr(a, "numgen"));
	assert_non_null(strstr(b, "\t\tip saddr { 127.5.6.3 } ip daddr { 127.5.6.1, 127.5.6.2 } "
				  "numgen random mod 100 < 30 counter drop\n"));
	free(a);
	free(b);
}

static void test_empty_side_adds_no_rule(void **state)
{
	struct cluster_nft_cut cut = { cut_side, 2, rest_side, 0, 0, 100 };
	char *rules = cluster_nft_ruleset("t", &cut, 1);

	(void)state;
	/* An empty set is a syntax error to nft; a cut with no one on the
	 * other side cuts nothing. */
	assert_null(strstr(rules, "saddr"));
	assert_non_null(strstr(rules, "policy accept;\n\t}\n}\n"));
	free(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_named_after_the_network),
		cmocka_unit_test(test_both_ways_drops_everything_between_the_sides),
		cmocka_unit_test(test_one_way_and_loss),
		cmocka_unit_test(test_empty_side_adds_no_rule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
