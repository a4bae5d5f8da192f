/* ledger.v1 request documents: every malformed request is refused with a
 * message naming the field, well-formed ones pass; page tokens round-trip
 * and are bound to their query. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ledger/daemon/svc_v1.h"

typedef int (*validator)(const json_t *, struct dr_error *);

static void check(validator v, const char *body, int ok, const char *fragment)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *req = json_loads(body, JSON_ALLOW_NUL, NULL);
	int rc;

	if (!req)
		fail_msg("test body is not JSON: %s", body);
	rc = v(req, &err);
	json_decref(req);
	if (ok && rc != 0)
		fail_msg("'%s' should be accepted, got: %s", body, err.msg);
	if (!ok && rc == 0)
		fail_msg("'%s' should be refused", body);
	if (!ok && fragment && !strstr(err.msg, fragment))
		fail_msg("error for '%s' was '%s', expected '%s'", body, err.msg, fragment);
}

/* base64 of 16 bytes "0123456789abcdef" and of 3 bytes "abc" */
#define KEY16 "MDEyMzQ1Njc4OWFiY2RlZg=="
#define KEY3 "YWJj"
#define ORGV "\"organization\":{\"slug\":7},\"vault\":{\"slug\":3},"
#define SET(k) "{\"set_entity\":{\"key\":\"" k "\",\"value\":\"djE=\"}}"

static void test_write_requests(void **state)
{
	validator v = ledgerd_validate_v1_write;

	(void)state;
	check(v, "{" ORGV "\"idempotency_key\":\"" KEY16 "\",\"operations\":[" SET("user:1") "]}", 1, NULL);
	check(v, "{" ORGV "\"client_id\":{\"id\":\"c1\"},\"idempotency_key\":\"" KEY16
		 "\",\"operations\":[" SET("a") "," SET("b") "]}", 1, NULL);
	/* uint64 slugs above 2^63 arrive as strings */
	check(v, "{\"organization\":{\"slug\":\"18446744073709551615\"},\"vault\":{\"slug\":3},"
		 "\"idempotency_key\":\"" KEY16 "\",\"operations\":[" SET("a") "]}", 1, NULL);
	check(v, "{\"vault\":{\"slug\":3},\"idempotency_key\":\"" KEY16 "\",\"operations\":[" SET("a") "]}",
	      0, "'organization' is required");
	check(v, "{\"organization\":{},\"vault\":{\"slug\":3},\"idempotency_key\":\"" KEY16
		 "\",\"operations\":[" SET("a") "]}", 0, "'organization.slug' must be non-zero");
	check(v, "{\"organization\":{\"slug\":7},\"idempotency_key\":\"" KEY16 "\",\"operations\":[" SET("a") "]}",
	      0, "'vault' is required");
	check(v, "{" ORGV "\"operations\":[" SET("a") "]}", 0, "'idempotency_key' is required");
	check(v, "{" ORGV "\"idempotency_key\":\"" KEY3 "\",\"operations\":[" SET("a") "]}", 0,
	      "'idempotency_key' must be exactly 16 bytes, not 3");
	check(v, "{" ORGV "\"idempotency_key\":\"" KEY16 "\"}", 0, "'operations'");
	check(v, "{" ORGV "\"idempotency_key\":\"" KEY16 "\",\"operations\":[" SET("a") ",{}]}", 0,
	      "'operations[1]' has no operation");
	check(v, "{" ORGV "\"idempotency_key\":\"" KEY16 "\",\"operations\":[" SET("a") "," SET("no space")
		 "]}", 0, "'operations[1].set_entity.key'");
	check(v, "{" ORGV "\"idempotency_key\":\"" KEY16 "\",\"operations\":[" SET("_system") "]}", 0,
	      "reserved");
	check(v, "{" ORGV "\"idempotency_key\":\"" KEY16 "\",\"operations\":[{\"set_entity\":{\"value\":\"eA==\"}}]}",
	      0, "'operations[0].set_entity.key' must not be empty");
	check(v, "{" ORGV "\"client_id\":{\"id\":\"a\\u0000b\"},\"idempotency_key\":\"" KEY16
		 "\",\"operations\":[" SET("a") "]}", 0, "client_id.id");
}

static void test_list_requests(void **state)
{
	validator v = ledgerd_validate_v1_list;
	struct v1_page p = { 7, 3, "user:", 0, "user:9" };
	char *token = v1_page_token_encode(&p), body[1024];

	(void)state;
	check(v, "{" ORGV "\"limit\":5}", 1, NULL);
	check(v, "{" ORGV "\"key_prefix\":\"user:\",\"consistency\":\"READ_CONSISTENCY_LINEARIZABLE\"}", 1, NULL);
	check(v, "{\"vault\":{\"slug\":3}}", 0, "'organization' is required");
	check(v, "{\"organization\":{\"slug\":7}}", 0, "'vault' is required");
	check(v, "{" ORGV "\"key_prefix\":\"_meta\"}", 0, "'key_prefix' must not start with '_'");
	check(v, "{" ORGV "\"consistency\":9}", 0, "'consistency'");
	check(v, "{" ORGV "\"page_token\":\"bm90IGEgdG9rZW4=\"}", 0, "'page_token' is not a token");
	/* the token of this query passes; with another prefix, vault or
	 * include_expired it is refused */
	snprintf(body, sizeof body, "{" ORGV "\"key_prefix\":\"user:\",\"page_token\":\"%s\"}", token);
	check(v, body, 1, NULL);
	snprintf(body, sizeof body, "{" ORGV "\"key_prefix\":\"use\",\"page_token\":\"%s\"}", token);
	check(v, body, 0, "belongs to another query");
	snprintf(body, sizeof body, "{\"organization\":{\"slug\":7},\"vault\":{\"slug\":4},"
		 "\"key_prefix\":\"user:\",\"page_token\":\"%s\"}", token);
	check(v, body, 0, "belongs to another query");
	snprintf(body, sizeof body, "{" ORGV "\"key_prefix\":\"user:\",\"include_expired\":true,"
		 "\"page_token\":\"%s\"}", token);
	check(v, body, 0, "belongs to another query");
	free(token);
}

static void test_page_token_round_trip(void **state)
{
	struct v1_page p = { UINT64_MAX, 2, "", 1, "a:b/c" }, q;
	struct dr_error err = DR_ERROR_INIT;
	char *token = v1_page_token_encode(&p);

	(void)state;
	assert_int_equal(v1_page_token_decode(&q, token, &err), 0);
	assert_true(q.org == UINT64_MAX);
	assert_int_equal(q.vault, 2);
	assert_string_equal(q.prefix, "");
	assert_int_equal(q.include_expired, 1);
	assert_string_equal(q.last_key, "a:b/c");
	v1_page_release(&q);
	/* damaged tokens are refused, never half-read */
	token[strlen(token) - 4] = '\0'; /* cut short */
	assert_int_equal(v1_page_token_decode(&q, token, &err), -1);
	assert_int_equal(v1_page_token_decode(&q, "", &err), -1);
	assert_int_equal(v1_page_token_decode(&q, "e30=", &err), -1); /* {} */
	free(token);
}

static void test_admin_requests(void **state)
{
	(void)state;
	check(ledgerd_validate_v1_transfer, "{}", 1, NULL);
	check(ledgerd_validate_v1_transfer, "{\"target_node_id\":2,\"timeout_ms\":500}", 1, NULL);
	check(ledgerd_validate_v1_transfer, "{\"target_node_id\":\"x\"}", 0, "target_node_id");
	check(ledgerd_validate_v1_snapshot, "{}", 1, NULL);
	check(ledgerd_validate_v1_snapshot, "{\"organization\":5}", 0, "'organization'");
	check(ledgerd_validate_v1_backup, "{\"tag\":\"nightly\",\"organization\":{\"slug\":1}}", 1, NULL);
	check(ledgerd_validate_v1_backup, "{\"tag\":7}", 0, "'tag'");
	check(ledgerd_validate_v1_restore, "{\"backup_id\":\"12-1796624456298548\"}", 1, NULL);
	check(ledgerd_validate_v1_restore, "{}", 0, "'backup_id' is required");
	check(ledgerd_validate_v1_restore, "{\"backup_id\":\"../etc\"}", 0, "'backup_id'");
	check(ledgerd_validate_v1_restore, "{\"backup_id\":\"a/b\"}", 0, "'backup_id'");
	check(ledgerd_validate_v1_restore, "{\"backup_id\":\"..\"}", 0, "'backup_id'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_requests),
		cmocka_unit_test(test_list_requests),
		cmocka_unit_test(test_page_token_round_trip),
		cmocka_unit_test(test_admin_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
