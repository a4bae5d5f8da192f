/* The etcd target's pure parts: gateway number and base64 decoding, key
 * layout, and the GetClusterStatus shape built from members' answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/base64.h"
#include "common/clock.h"
#include "harness/target/etcd/etcd_http.h"
#include "harness/target/etcd/etcd_status.h"

static void test_u64_from_gateway_strings(void **state)
{
	json_t *doc = json_loads("{\"big\":\"14239534569008811937\",\"n\":7,\"neg\":\"-1\","
				 "\"junk\":\"12x\",\"empty\":\"\"}", 0, NULL);
	uint64_t v = 0;

	(void)state;
	/* Member ids use the whole uint64 range (above INT64_MAX). */
	assert_int_equal(etcd_u64(&v, json_object_get(doc, "big")), 0);
	assert_true(v == UINT64_C(14239534569008811937));
	assert_int_equal(etcd_u64(&v, json_object_get(doc, "n")), 0);
	assert_true(v == 7);
	assert_int_equal(etcd_u64(&v, json_object_get(doc, "neg")), -1);
	assert_int_equal(etcd_u64(&v, json_object_get(doc, "junk")), -1);
	assert_int_equal(etcd_u64(&v, json_object_get(doc, "empty")), -1);
	assert_int_equal(etcd_u64(&v, json_object_get(doc, "absent")), -1);
	json_decref(doc);
}

static void test_base64_round_trip(void **state)
{
	static const char *const cases[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar",
					     "drillrig/c/00000000000000000042" };
	size_t len = 0;
	char *dec;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *enc = b64_encode(cases[i], strlen(cases[i]));

		dec = b64_decode(enc, &len);
		assert_non_null(dec);
		assert_int_equal(len, strlen(cases[i]));
		assert_string_equal(dec, cases[i]);
		free(enc);
		free(dec);
	}
	dec = b64_encode("foobar", 6);
	assert_string_equal(dec, "Zm9vYmFy");
	free(dec);
	assert_null(b64_decode("Zm9", NULL));     /* not a multiple of 4 */
	assert_null(b64_decode("Zm=v", NULL));    /* padding in the middle */
	assert_null(b64_decode("Zm9*", NULL));    /* outside the alphabet */
}

static void test_keys_sort_in_sequence_order(void **state)
{
	char *a = etcd_key("c1", 9), *b = etcd_key("c1", 10);

	(void)state;
	assert_string_equal(a, "drillrig/c1/00000000000000000009");
	assert_true(strcmp(a, b) < 0);
	free(a);
	free(b);
}

static void three_members(struct etcd_member *m)
{
	static const char *const regions[] = { "east", "west", "west" };
	static const char *const roles[] = { "primary", "dr", "dr" };

	memset(m, 0, sizeof(*m) * 3);
	for (int i = 0; i < 3; i++) {
		m[i].id = i + 1;
		snprintf(m[i].name, sizeof(m[i].name), "m%d", i + 1);
		snprintf(m[i].region, sizeof(m[i].region), "%s", regions[i]);
		snprintf(m[i].region_role, sizeof(m[i].region_role), "%s", roles[i]);
		snprintf(m[i].address, sizeof(m[i].address), "127.9.9.%d:2379", i + 1);
	}
}

static void answer(struct etcd_member_answer *a, uint64_t id, uint64_t leader, uint64_t index,
		   uint64_t term)
{
	memset(a, 0, sizeof(*a));
	a->reachable = 1;
	a->member_id = id;
	a->leader = leader;
	a->raft_index = index;
	a->raft_term = term;
	a->applied = index;
}

static void test_parse_gateway_status(void **state)
{
	json_t *doc = json_loads(
		"{\"header\":{\"cluster_id\":\"13107579126183886241\",\"member_id\":\"8151770774076488570\","
		"\"revision\":\"1\",\"raft_term\":\"2\"},\"version\":\"3.4.23\",\"dbSize\":\"40960\","
		"\"leader\":\"12797263885511978875\",\"raftIndex\":\"8\",\"raftTerm\":\"2\","
		"\"raftAppliedIndex\":\"8\",\"dbSizeInUse\":\"24576\"}", 0, NULL);
	struct etcd_member_answer a;

	(void)state;
	assert_int_equal(etcd_answer_parse(&a, doc), 0);
	assert_true(a.member_id == UINT64_C(8151770774076488570));
	assert_true(a.leader == UINT64_C(12797263885511978875));
	assert_true(a.raft_index == 8 && a.raft_term == 2 && a.applied == 8);
	json_decref(doc);
	/* An error answer is no status. */
	doc = json_loads("{\"error\":\"etcdserver: not leader\",\"code\":9}", 0, NULL);
	assert_int_equal(etcd_answer_parse(&a, doc), -1);
	json_decref(doc);
}

static void test_status_leader_and_replication(void **state)
{
	struct etcd_member m[3];
	struct etcd_member_answer a[3];
	json_t *st, *leader;

	(void)state;
	three_members(m);
	answer(&a[0], 100, 200, 50, 4);
	answer(&a[1], 200, 200, 52, 4);
	answer(&a[2], 300, 200, 51, 4);
	st = etcd_status_build(m, a, 3, 10 * NS_PER_SEC);
	leader = json_object_get(st, "leader");
	assert_true(json_is_object(leader));
	assert_int_equal(json_integer_value(json_object_get(leader, "id")), 2);
	assert_string_equal(json_string_value(json_object_get(leader, "region")), "west");
	assert_string_equal(json_string_value(json_object_get(leader, "region_role")), "dr");
	assert_int_equal(json_integer_value(json_object_get(st, "term")), 4);
	assert_true(json_is_true(json_object_get(st, "quorum")));
	assert_string_equal(json_string_value(json_object_get(st, "replication")), "Fully replicated");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(st, "members"), 1), "state")), "leader");
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(json_object_get(st, "members"), 0), "lag_entries")), 2);
	assert_true(m[0].raft_id == 100 && m[2].raft_id == 300);
	json_decref(st);

	/* One member far behind: replicating, with its lag in entries and the
	 * seconds since it was last seen caught up. */
	a[1].raft_index = 200;
	a[2].raft_index = 199;
	a[0].raft_index = 200 - ETCD_REPLICATED_MARGIN - 10;
	st = etcd_status_build(m, a, 3, 12 * NS_PER_SEC);
	assert_string_equal(json_string_value(json_object_get(st, "replication")),
			    "Replicating (74 behind)");
	assert_true(json_real_value(json_object_get(json_array_get(json_object_get(st, "members"), 0),
						    "lag_seconds")) > 1.9);
	json_decref(st);
}

static void test_dead_leader_is_no_leader(void **state)
{
	struct etcd_member m[3];
	struct etcd_member_answer a[3];
	json_t *st;

	(void)state;
	three_members(m);
	answer(&a[0], 100, 200, 50, 4);
	answer(&a[1], 200, 200, 50, 4);
	answer(&a[2], 300, 200, 50, 4);
	json_decref(etcd_status_build(m, a, 3, NS_PER_SEC));
	/* The leader was killed; the followers still name it until they time out. */
	memset(&a[1], 0, sizeof(a[1]));
	st = etcd_status_build(m, a, 3, 2 * NS_PER_SEC);
	assert_true(json_is_null(json_object_get(st, "leader")));
	assert_false(json_is_true(json_object_get(st, "quorum")));
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(json_object_get(st, "members"), 1), "state")), "unreachable");
	json_decref(st);

	/* The killed leader restarted: it answers, but leads nothing yet while
	 * the followers still name it. */
	answer(&a[1], 200, 0, 50, 4);
	st = etcd_status_build(m, a, 3, 2 * NS_PER_SEC);
	assert_true(json_is_null(json_object_get(st, "leader")));
	json_decref(st);
	memset(&a[1], 0, sizeof(a[1]));

	/* A member still at the old term names the deposed leader; the
	 * higher-term answer wins. */
	answer(&a[0], 100, 200, 60, 4);
	answer(&a[2], 300, 300, 61, 5);
	st = etcd_status_build(m, a, 3, 3 * NS_PER_SEC);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "leader"), "id")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "term")), 5);
	assert_true(json_is_true(json_object_get(st, "quorum")));
	/* Quorum holds with 2 of 3, but a down member is not replicated. */
	assert_string_not_equal(json_string_value(json_object_get(st, "replication")),
				"Fully replicated");
	json_decref(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_u64_from_gateway_strings),
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_keys_sort_in_sequence_order),
		cmocka_unit_test(test_parse_gateway_status),
		cmocka_unit_test(test_status_leader_and_replication),
		cmocka_unit_test(test_dead_leader_is_no_leader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
