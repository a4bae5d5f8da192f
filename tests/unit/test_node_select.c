/* Node selection shared by every target (harness/target/shared/node_select.h):
 * checked node references, what: leader/follower/node/region/all against a
 * status, the messages when nothing matches, and the take-down bookkeeping
 * that `start what: all` relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "harness/target/shared/node_select.h"

static void test_node_ref_accepts_ids_and_names(void **state)
{
	struct node_ref ref;
	json_t *v;

	(void)state;
	v = json_integer(3);
	assert_int_equal(node_ref_parse(&ref, v), 0);
	assert_int_equal(ref.id, 3);
	assert_null(ref.name);
	json_decref(v);

	v = json_string("n12");
	assert_int_equal(node_ref_parse(&ref, v), 0);
	assert_int_equal(ref.id, 12);
	json_decref(v);

	v = json_string("7");
	assert_int_equal(node_ref_parse(&ref, v), 0);
	assert_int_equal(ref.id, 7);
	json_decref(v);

	v = json_string("inferadb-ledger-2");
	assert_int_equal(node_ref_parse(&ref, v), 0);
	assert_int_equal(ref.id, 0);
	assert_string_equal(ref.name, "inferadb-ledger-2");
	json_decref(v);
}

/* strtoll read "1x" as node 1: the checked parse keeps it a name, so it
 * can never select node 1 by accident. */
static void test_node_ref_with_trailing_characters_is_a_name(void **state)
{
	static const char *const names[] = { "1x", "n3x", "3 ", "n", "-2", "n0", "99999999999999999999" };
	struct node_ref ref;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		json_t *v = json_string(names[i]);

		assert_int_equal(node_ref_parse(&ref, v), 0);
		assert_int_equal(ref.id, 0);
		assert_string_equal(ref.name, names[i]);
		json_decref(v);
	}
}

static void test_node_ref_rejects_what_is_no_reference(void **state)
{
	json_t *zero = json_integer(0), *neg = json_integer(-4), *empty = json_string(""),
	       *flag = json_true();
	struct node_ref ref;

	(void)state;
	assert_int_equal(node_ref_parse(&ref, zero), -1);
	assert_int_equal(node_ref_parse(&ref, neg), -1);
	assert_int_equal(node_ref_parse(&ref, empty), -1);
	assert_int_equal(node_ref_parse(&ref, flag), -1);
	assert_int_equal(node_ref_parse(&ref, NULL), -1);
	json_decref(zero);
	json_decref(neg);
	json_decref(empty);
	json_decref(flag);
}

/* Five members in two regions; leader 2; member 4 unreachable. */
static json_t *five_members(int64_t leader)
{
	json_t *st = json_pack("{s:[{s:i,s:s,s:s,s:s},{s:i,s:s,s:s,s:s},{s:i,s:s,s:s,s:s},"
			       "{s:i,s:s,s:s,s:s},{s:i,s:s,s:s,s:s}]}", "members",
			       "id", 1, "region", "us-east", "state", "follower", "name", "m1",
			       "id", 2, "region", "us-east", "state", "leader", "name", "m2",
			       "id", 3, "region", "us-west", "state", "follower", "name", "m3",
			       "id", 4, "region", "us-west", "state", "unreachable", "name", "m4",
			       "id", 5, "region", "us-west", "state", "follower", "name", "m5");

	json_object_set_new(st, "leader", leader ? json_pack("{s:I}", "id", (json_int_t)leader)
						 : json_null());
	return st;
}

static size_t match_ids(int64_t *ids, json_t *status, const struct node_query *q)
{
	json_t *picked[NODE_SELECT_MAX];
	size_t n = node_match(picked, NODE_SELECT_MAX, status, q);

	for (size_t i = 0; i < n; i++)
		ids[i] = json_integer_value(json_object_get(picked[i], "id"));
	return n;
}

static void test_match_each_what(void **state)
{
	json_t *st = five_members(2);
	struct node_query q;
	int64_t ids[8];

	(void)state;
	memset(&q, 0, sizeof(q));
	q.what = "leader";
	assert_int_equal(match_ids(ids, st, &q), 1);
	assert_int_equal(ids[0], 2);

	q.region = "us-west";
	assert_int_equal(match_ids(ids, st, &q), 0); /* the leader is not in us-west */

	q.what = "follower"; /* the first reachable non-leader of the region */
	assert_int_equal(match_ids(ids, st, &q), 1);
	assert_int_equal(ids[0], 3);

	q.what = "region";
	assert_int_equal(match_ids(ids, st, &q), 3);
	assert_int_equal(ids[0], 3);
	assert_int_equal(ids[2], 5);

	q.what = "all";
	q.region = NULL;
	assert_int_equal(match_ids(ids, st, &q), 5);

	q.what = "node";
	q.has_node = 1;
	q.node.id = 4;
	assert_int_equal(match_ids(ids, st, &q), 1);
	assert_int_equal(ids[0], 4);
	json_decref(st);
}

/* A follower is never picked among unreachable members: a fault on it
 * would change nothing. */
static void test_follower_skips_an_unreachable_member(void **state)
{
	json_t *st = five_members(3);
	struct node_query q;
	int64_t ids[8];

	(void)state;
	memset(&q, 0, sizeof(q));
	q.what = "follower";
	q.region = "us-west"; /* 3 leads, 4 is unreachable */
	assert_int_equal(match_ids(ids, st, &q), 1);
	assert_int_equal(ids[0], 5);
	json_decref(st);
}

static void test_match_by_name_only_where_members_have_names(void **state)
{
	json_t *st = five_members(2);
	struct node_query q;
	int64_t ids[8];

	(void)state;
	memset(&q, 0, sizeof(q));
	q.what = "node";
	q.has_node = 1;
	q.node.name = "m5";
	assert_int_equal(match_ids(ids, st, &q), 0); /* no name_key: names mean nothing */
	q.name_key = "name";
	assert_int_equal(match_ids(ids, st, &q), 1);
	assert_int_equal(ids[0], 5);
	q.node.name = "1x";
	assert_int_equal(match_ids(ids, st, &q), 0);
	json_decref(st);
}

static void test_follower_that_needs_a_name_skips_nameless_members(void **state)
{
	json_t *st = five_members(2);
	struct node_query q;
	int64_t ids[8];

	(void)state;
	json_object_del(json_array_get(json_object_get(st, "members"), 0), "name");
	memset(&q, 0, sizeof(q));
	q.what = "follower";
	q.name_key = "name";
	q.follower_needs_name = 1;
	assert_int_equal(match_ids(ids, st, &q), 1);
	assert_int_equal(ids[0], 3); /* member 1 has no name, 2 leads */
	json_decref(st);
}

static void test_no_match_message_names_the_reference(void **state)
{
	json_t *st = five_members(0);
	struct node_query q;
	char msg[512];

	(void)state;
	memset(&q, 0, sizeof(q));
	q.what = "node";
	q.has_node = 1;
	q.node.name = "1x";
	node_query_no_match(msg, sizeof(msg), &q, "node", st);
	assert_string_equal(msg, "no node matches what=node (node '1x': not an id such as 3 or "
			    "n3, and members here have no names)");
	q.what = "leader";
	q.has_node = 0;
	q.region = "us-west";
	node_query_no_match(msg, sizeof(msg), &q, "member", st);
	assert_string_equal(msg, "no member matches what=leader in region us-west (no leader now)");
	json_decref(st);
}

/* A minimal target: a status and a region resolver, nodes taken down
 * recorded by the op. */
struct fake {
	json_t *status;
	char ops[256];
	int64_t fail_id;
};

static int fake_status(struct target *t, json_t **out, int64_t timeout_ns, struct dr_error *err)
{
	struct fake *f = t->impl;

	(void)timeout_ns;
	(void)err;
	*out = json_incref(f->status);
	return 0;
}

static const char *fake_resolve(struct target *t, const char *ref)
{
	(void)t;
	return strcmp(ref, "dr") == 0 ? "us-west" : strcmp(ref, "us-east") == 0 ? "us-east" : NULL;
}

static int fake_op(struct target *t, int64_t id, struct dr_error *err)
{
	struct fake *f = t->impl;
	size_t len = strlen(f->ops);

	if (id == f->fail_id)
		return dr_error_set(err, "refused");
	snprintf(f->ops + len, sizeof(f->ops) - len, "%lld ", (long long)id);
	return 0;
}

static const struct node_op stop_op = { fake_op, "stop", "stopped" };

static void test_take_down_then_bring_back_all(void **state)
{
	struct fake f = { five_members(2), "", 0 };
	struct target t;
	struct node_set set = { { 0 }, 0 };
	struct action_result res = ACTION_RESULT_INIT;
	json_t *args = json_pack("{s:s,s:s}", "what", "region", "region", "dr");
	json_t *all = json_pack("{s:s}", "what", "all");

	(void)state;
	memset(&t, 0, sizeof(t));
	t.impl = &f;
	t.status = fake_status;
	t.resolve_region = fake_resolve;
	node_set_take_down(&set, &t, args, NULL, &stop_op, "node", &res);
	assert_int_equal(res.status, ACTION_OK);
	assert_string_equal(res.message, "stopped nodes 3,4,5");
	assert_string_equal(f.ops, "3 4 5 ");
	assert_int_equal(set.n, 3);
	action_result_release(&res);

	f.ops[0] = '\0';
	node_set_bring_back(&set, &t, all, NULL, &stop_op, "node", &res);
	assert_int_equal(res.status, ACTION_OK);
	assert_string_equal(f.ops, "3 4 5 ");
	assert_int_equal(set.n, 0);
	action_result_release(&res);

	node_set_bring_back(&set, &t, all, NULL, &stop_op, "node", &res);
	assert_string_equal(res.message, "nothing to do: this drill stopped no node");
	action_result_release(&res);
	json_decref(args);
	json_decref(all);
	json_decref(f.status);
}

/* A failure part way keeps what did go down in the set, so `start what:
 * all` still brings it back. */
static void test_take_down_failure_keeps_what_went_down(void **state)
{
	struct fake f = { five_members(2), "", 4 };
	struct target t;
	struct node_set set = { { 0 }, 0 };
	struct action_result res = ACTION_RESULT_INIT;
	json_t *args = json_pack("{s:s,s:s}", "what", "region", "region", "dr");

	(void)state;
	memset(&t, 0, sizeof(t));
	t.impl = &f;
	t.status = fake_status;
	t.resolve_region = fake_resolve;
	node_set_take_down(&set, &t, args, NULL, &stop_op, "node", &res);
	assert_int_equal(res.status, ACTION_FAILED);
	assert_string_equal(res.message, "cannot stop node 4: refused");
	assert_int_equal(set.n, 1);
	assert_int_equal(set.ids[0], 3);
	action_result_release(&res);
	json_decref(args);
	json_decref(f.status);
}

static void test_unknown_region_is_an_error_not_a_wildcard(void **state)
{
	struct fake f = { five_members(2), "", 0 };
	struct target t;
	struct action_result res = ACTION_RESULT_INIT;
	json_t *args = json_pack("{s:s,s:s}", "what", "region", "region", "mars");
	int64_t ids[8];
	size_t n = 99;

	(void)state;
	memset(&t, 0, sizeof(t));
	t.impl = &f;
	t.status = fake_status;
	t.resolve_region = fake_resolve;
	assert_int_equal(node_select_ids(ids, 8, &n, &t, args, NULL, "node", NULL, &res), -1);
	assert_int_equal(n, 0);
	assert_string_equal(res.message, "unknown region 'mars'");
	action_result_release(&res);
	json_decref(args);
	json_decref(f.status);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_ref_accepts_ids_and_names),
		cmocka_unit_test(test_node_ref_with_trailing_characters_is_a_name),
		cmocka_unit_test(test_node_ref_rejects_what_is_no_reference),
		cmocka_unit_test(test_match_each_what),
		cmocka_unit_test(test_follower_skips_an_unreachable_member),
		cmocka_unit_test(test_match_by_name_only_where_members_have_names),
		cmocka_unit_test(test_follower_that_needs_a_name_skips_nameless_members),
		cmocka_unit_test(test_no_match_message_names_the_reference),
		cmocka_unit_test(test_take_down_then_bring_back_all),
		cmocka_unit_test(test_take_down_failure_keeps_what_went_down),
		cmocka_unit_test(test_unknown_region_is_an_error_not_a_wildcard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
