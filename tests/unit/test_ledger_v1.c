/* The ledger.v1 codec (ledger/client/ledger_v1.h): the requests drillrig
 * sends in the public dialect, and how it reads the answers.  A key parsed
 * into the wrong client or sequence is a write counted lost or unexpected;
 * a WriteError classified as acknowledged is an RPO the drill never saw. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/strbuf.h"
#include "ledger/client/ledger_v1.h"
#include "ledger/client/methods.h"
#include "ledger/client/pbjson.h"

static const struct ledger_v1_scope scope = { "7", "8", "9", "drillrig/", 0 };

static json_t *parse(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

/* A request must be a message the public proto accepts: pack it through
 * the method's input descriptor. */
static void assert_packs(const char *method, const json_t *req)
{
	const struct ledger_method *m = ledger_method_find(method);
	struct dr_error err = DR_ERROR_INIT;
	void *data = NULL;
	size_t len = 0;

	assert_non_null(m);
	if (pbjson_pack(&data, &len, m->method->input, req, &err) != 0)
		fail_msg("%s request does not pack: %s", method, err.msg);
	free(data);
}

static void test_write_request(void **state)
{
	json_t *a = ledger_v1_write_request(&scope, "drill-1", 42, "hello", 1000);
	json_t *b = ledger_v1_write_request(&scope, "drill-1", 42, "hello", 1000);
	json_t *c = ledger_v1_write_request(&scope, "drill-1", 43, "hello", 1000);
	json_t *op = json_object_get(json_array_get(json_object_get(a, "operations"), 0), "setEntity");
	char *key = ledger_v1_key(&scope, "drill-1", 42);

	(void)state;
	assert_string_equal(key, "drillrig/drill-1/00000000000000000042");
	assert_string_equal(json_string_value(json_object_get(op, "key")), key);
	assert_string_equal(json_string_value(json_object_get(op, "value")), "aGVsbG8="); /* base64 */
	assert_null(json_object_get(op, "expiresAt")); /* ttl 0: kept */
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "vault"), "slug")), "8");
	/* A retry is the same request; the next write another idempotency key. */
	assert_true(json_equal(a, b));
	assert_string_not_equal(json_string_value(json_object_get(a, "idempotencyKey")),
				json_string_value(json_object_get(c, "idempotencyKey")));
	assert_packs(LEDGER_V1_WRITE, a);
	free(key);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void test_list_request(void **state)
{
	json_t *one = ledger_v1_list_request(&scope, "drill-1", "tok", 10);
	json_t *all = ledger_v1_list_request(&scope, NULL, NULL, 0);

	(void)state;
	assert_string_equal(json_string_value(json_object_get(one, "keyPrefix")), "drillrig/drill-1/");
	assert_string_equal(json_string_value(json_object_get(one, "pageToken")), "tok");
	assert_int_equal(json_integer_value(json_object_get(one, "limit")), 10);
	assert_string_equal(json_string_value(json_object_get(all, "keyPrefix")), "drillrig/");
	assert_null(json_object_get(all, "pageToken"));
	assert_string_equal(json_string_value(json_object_get(all, "consistency")),
			    "READ_CONSISTENCY_LINEARIZABLE");
	assert_packs(LEDGER_V1_LIST, one);
	assert_packs(LEDGER_V1_LIST, all);
	json_decref(one);
	json_decref(all);
}

static void classify(const char *text, enum ledger_outcome want, uint64_t index)
{
	struct ledger_append_result res;
	json_t *ans = parse(text);

	memset(&res, 0, sizeof(res));
	ledger_v1_classify_write(ans, &res);
	if (res.outcome != want)
		fail_msg("%s: outcome %d, expected %d (%s)", text, res.outcome, want, res.message);
	assert_int_equal(res.index, index);
	json_decref(ans);
}

static void test_classify_write(void **state)
{
	(void)state;
	classify("{\"success\":{\"block_height\":\"17\"}}", LEDGER_OUTCOME_OK, 17);
	classify("{\"success\":{\"blockHeight\":18}}", LEDGER_OUTCOME_OK, 18);
	classify("{\"error\":{\"code\":\"WRITE_ERROR_CODE_ALREADY_COMMITTED\","
		 "\"committedBlockHeight\":\"16\"}}", LEDGER_OUTCOME_OK, 16);
	classify("{\"error\":{\"code\":\"WRITE_ERROR_CODE_IDEMPOTENCY_KEY_REUSED\"}}",
		 LEDGER_OUTCOME_UNKNOWN, 0);
	classify("{\"error\":{\"code\":\"WRITE_ERROR_CODE_KEY_EXISTS\"}}",
		 LEDGER_OUTCOME_DEFINITE_FAILURE, 0);
	classify("{}", LEDGER_OUTCOME_UNKNOWN, 0);
}

struct seen {
	struct strbuf sb;
};

static void collect(const char *client_id, uint64_t sequence, uint64_t version,
		    const char *value_b64, void *payload)
{
	struct seen *s = payload;

	strbuf_addf(&s->sb, "%s:%llu@%llu=%s;", client_id, (unsigned long long)sequence,
		    (unsigned long long)version, value_b64);
}

static void test_parse_page(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct seen s = { STRBUF_INIT };
	char *token = NULL;
	json_t *ans = parse("{\"entities\":["
			    "{\"key\":\"drillrig/drill-1/00000000000000000001\",\"value\":\"YQ==\","
			    "\"version\":\"5\"},"
			    "{\"key\":\"drillrig/a/b/00000000000000000002\",\"version\":6},"
			    "{\"key\":\"other/drill-1/00000000000000000003\",\"version\":7},"
			    "{\"key\":\"drillrig/drill-1/x\",\"version\":8},"
			    "{\"key\":\"drillrig/00000000000000000009\",\"version\":9}],"
			    "\"nextPageToken\":\"p2\"}");

	(void)state;
	/* Every client: the client id is everything before the last '/'. */
	assert_int_equal(ledger_v1_parse_page(ans, &scope, NULL, collect, &s, &token, &err), 0);
	assert_string_equal(s.sb.buf, "drill-1:1@5=YQ==;a/b:2@6=;");
	assert_string_equal(token, "p2");
	free(token);
	strbuf_release(&s.sb);
	/* One client: someone else's keys are skipped even if the server sent them. */
	assert_int_equal(ledger_v1_parse_page(ans, &scope, "drill-1", collect, &s, &token, &err), 0);
	assert_string_equal(s.sb.buf, "drill-1:1@5=YQ==;");
	free(token);
	strbuf_release(&s.sb);
	json_decref(ans);

	ans = parse("{\"entities\":{}}");
	assert_int_equal(ledger_v1_parse_page(ans, &scope, NULL, collect, &s, &token, &err), -1);
	assert_non_null(strstr(err.msg, "not a list"));
	json_decref(ans);
	ans = parse("{}");
	assert_int_equal(ledger_v1_parse_page(ans, &scope, NULL, collect, &s, &token, &err), 0);
	assert_string_equal(token, "");
	free(token);
	json_decref(ans);
}

static void test_status_of_info(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *info = parse("{\"members\":["
			     "{\"node_id\":\"1\",\"address\":\"127.0.0.1:50051\",\"role\":\"CLUSTER_MEMBER_ROLE_VOTER\"},"
			     "{\"nodeId\":\"2\",\"address\":\"127.0.0.2:50051\",\"role\":\"CLUSTER_MEMBER_ROLE_VOTER\","
			     "\"isLeader\":true},"
			     "{\"node_id\":\"3\",\"address\":\"127.0.0.3:50051\",\"role\":\"CLUSTER_MEMBER_ROLE_LEARNER\"}],"
			     "\"leaderId\":\"2\",\"term\":\"4\"}");
	json_t *st = NULL, *m;

	(void)state;
	assert_int_equal(ledger_v1_status_of_info(info, &st, &err), 0);
	assert_int_equal(json_integer_value(json_object_get(st, "term")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "leader"), "id")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(st, "leader"), "address")),
			    "127.0.0.2:50051");
	assert_int_equal(json_integer_value(json_object_get(st, "voters")), 2);
	m = json_array_get(json_object_get(st, "members"), 2);
	assert_string_equal(json_string_value(json_object_get(m, "role")), "learner");
	assert_string_equal(json_string_value(json_object_get(m, "state")), "follower");
	json_decref(st);
	json_decref(info);

	info = parse("{\"members\":[{\"node_id\":1}],\"leader_id\":0}");
	assert_int_equal(ledger_v1_status_of_info(info, &st, &err), 0);
	assert_true(json_is_null(json_object_get(st, "leader")));
	json_decref(st);
	json_decref(info);
	info = parse("{\"leader_id\":1}");
	assert_int_equal(ledger_v1_status_of_info(info, &st, &err), -1);
	assert_null(st);
	json_decref(info);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_request),
		cmocka_unit_test(test_list_request),
		cmocka_unit_test(test_classify_write),
		cmocka_unit_test(test_parse_page),
		cmocka_unit_test(test_status_of_info),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
