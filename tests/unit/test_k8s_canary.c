/* Canary writes of the Kubernetes target (harness/target/k8s/k8s_canary.h):
 * how one `kubectl exec ... grpcurl` write is classified (a wrong "definite
 * failure" would make the checker report a violation that never happened;
 * a wrong "ok" would hide a lost write), read-back pages of both dialects,
 * the request bodies and the canary configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/base64.h"
#include "common/strbuf.h"
#include "harness/target/k8s/k8s_canary_api.h"
#include "harness/target/k8s/k8s_config.h"

#define REGIONS "regions:\n" \
	"  p: {role: primary, context: eks-primary, namespace: inferadb, statefulset: inferadb-ledger, " \
	"replicas: 3, node_ids: [1, 2, 3]}\n"
#define V1_CANARY "canary: {organization: 11, vault: \"22\", caller: 33}\n"

static struct k8s_config *parse(const char *text)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = NULL;

	if (k8s_config_parse(&cfg, "t.yaml", text, strlen(text), &err) != 0)
		fail_msg("%s", err.msg);
	return cfg;
}

static struct k8s_config *runbook(void)
{
	return parse("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\ncanary: {}\n" REGIONS);
}

static struct k8s_config *ledger_v1(void)
{
	return parse("version: 1\napi: ledger.v1\nallowed_contexts: [eks-primary]\n" V1_CANARY REGIONS);
}

static void classify(const struct k8s_config *cfg, int ran, int timed_out, int exit_code,
		     const char *out, const char *errout, struct ledger_append_result *res)
{
	struct k8s_canary_exec x = { ran, timed_out, exit_code, out, errout };

	memset(res, 0x5a, sizeof(*res)); /* every field must be set, not left over */
	k8s_canary_classify(cfg, &x, res);
}

static void test_acknowledged_writes(void **state)
{
	struct k8s_config *rb = runbook(), *v1 = ledger_v1();
	struct ledger_append_result res;

	(void)state;
	classify(rb, 1, 0, 0, "{\n  \"index\": \"42\",\n  \"term\": \"3\"\n}\n", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_OK);
	assert_int_equal(res.index, 42);
	assert_int_equal(res.term, 3);
	assert_string_equal(res.code, "");
	classify(v1, 1, 0, 0, "{\"success\":{\"txId\":{\"id\":\"AAEC\"},\"blockHeight\":\"118\","
		 "\"assignedSequence\":\"7\"}}", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_OK);
	assert_int_equal(res.index, 118);
	/* A retry of a write that had committed is acknowledged. */
	classify(v1, 1, 0, 0, "{\"error\":{\"code\":\"WRITE_ERROR_CODE_ALREADY_COMMITTED\","
		 "\"committedBlockHeight\":\"117\"}}", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_OK);
	assert_int_equal(res.index, 117);
	k8s_config_free(rb);
	k8s_config_free(v1);
}

static void test_definite_failures(void **state)
{
	struct k8s_config *rb = runbook(), *v1 = ledger_v1();
	struct ledger_append_result res;

	(void)state;
	classify(v1, 1, 0, 0, "{\"error\":{\"code\":\"WRITE_ERROR_CODE_KEY_EXISTS\",\"message\":\"taken\"}}",
		 "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_non_null(strstr(res.message, "WRITE_ERROR_CODE_KEY_EXISTS: taken"));
	classify(rb, 1, 0, 64 + 9, "", "ERROR:\n  Code: FailedPrecondition\n  Message: not the leader\n", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_string_equal(res.code, "FAILED_PRECONDITION");
	assert_non_null(strstr(res.message, "not the leader"));
	classify(rb, 1, 0, 64 + 16, "", "ERROR:\n  Code: Unauthenticated\n  Message: no token\n", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	/* Nothing was sent: kubectl did not run, the pod is gone, grpcurl
	 * could not dial. */
	classify(rb, 0, 0, -1, "", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	assert_true(res.refused);
	classify(rb, 1, 0, 1, "", "Error from server (NotFound): pods \"inferadb-ledger-0\" not found\n", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	classify(rb, 1, 0, 1, "", "Failed to dial target host \"localhost:50051\": connection refused\n", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_DEFINITE_FAILURE);
	k8s_config_free(rb);
	k8s_config_free(v1);
}

/* Whatever may have reached the ledger is unknown, never a failure. */
static void test_unknown_outcomes(void **state)
{
	struct k8s_config *rb = runbook(), *v1 = ledger_v1();
	struct ledger_append_result res;

	(void)state;
	classify(rb, 1, 0, 64 + 14, "", "ERROR:\n  Code: Unavailable\n  Message: transport is closing\n", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	assert_string_equal(res.code, "UNAVAILABLE");
	classify(rb, 1, 0, 64 + 4, "", "ERROR:\n  Code: DeadlineExceeded\n", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	classify(rb, 1, 0, 64 + 2, "", "ERROR:\n  Code: Unknown\n  Message: UNKNOWN_OUTCOME\n", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	classify(rb, 1, 1, -1, "", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	assert_true(res.timed_out);
	classify(rb, 1, 0, 1, "", "error: lost connection to pod\n", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	classify(rb, 1, 0, 137, "", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	classify(rb, 1, 0, 0, "not json", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	classify(rb, 1, 0, 0, "{}", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	classify(v1, 1, 0, 0, "{}", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	/* The key reached the ledger before: not a failure, not proof either. */
	classify(v1, 1, 0, 0, "{\"error\":{\"code\":\"WRITE_ERROR_CODE_IDEMPOTENCY_KEY_REUSED\"}}", "", &res);
	assert_int_equal(res.outcome, LEDGER_OUTCOME_UNKNOWN);
	k8s_config_free(rb);
	k8s_config_free(v1);
}

static void test_runbook_read_back_pages(void **state)
{
	struct k8s_config *cfg = runbook();
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_canary_page page;

	(void)state;
	memset(&page, 0, sizeof(page));
	assert_int_equal(k8s_canary_parse_page(&page, cfg, "c1",
		"{\"entries\":[{\"index\":\"101\",\"term\":\"2\",\"clientId\":\"c1\",\"sequence\":\"1\",\"payload\":\"x\"},"
		"{\"index\":\"102\",\"term\":\"2\",\"clientId\":\"app\",\"sequence\":\"9\"},"
		"{\"index\":\"103\",\"term\":\"3\",\"clientId\":\"c1\",\"sequence\":\"2\"}],\"lastIndex\":\"150\"}",
		&err), 0);
	assert_int_equal(page.n, 2);
	assert_int_equal(page.entries[0].sequence, 1);
	assert_int_equal(page.entries[0].index, 101);
	assert_int_equal(page.entries[1].sequence, 2);
	assert_int_equal(page.entries[1].index, 103);
	assert_true(page.more);
	assert_int_equal(page.next_from, 104);
	assert_int_equal(k8s_canary_parse_page(&page, cfg, "c1",
		"{\"entries\":[{\"index\":\"150\",\"clientId\":\"c1\",\"sequence\":\"3\"}],\"lastIndex\":\"150\"}",
		&err), 0);
	assert_int_equal(page.n, 3);
	assert_false(page.more);
	/* proto3 leaves an empty list out. */
	assert_int_equal(k8s_canary_parse_page(&page, cfg, "c1", "{\"lastIndex\":\"150\"}", &err), 0);
	assert_false(page.more);
	assert_int_equal(page.n, 3);
	assert_int_not_equal(k8s_canary_parse_page(&page, cfg, "c1", "{\"entries\":{}}", &err), 0);
	assert_int_not_equal(k8s_canary_parse_page(&page, cfg, "c1",
		"{\"entries\":[{\"clientId\":\"c1\",\"sequence\":\"4\"}]}", &err), 0);
	assert_non_null(strstr(err.msg, "without an index"));
	assert_int_not_equal(k8s_canary_parse_page(&page, cfg, "c1", "ERROR", &err), 0);
	free(page.entries);
	k8s_config_free(cfg);
}

static void test_ledger_v1_read_back_pages(void **state)
{
	struct k8s_config *cfg = ledger_v1();
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_canary_page page;

	(void)state;
	memset(&page, 0, sizeof(page));
	assert_int_equal(k8s_canary_parse_page(&page, cfg, "c1",
		"{\"entities\":[{\"key\":\"drillrig/canary/c1/00000000000000000001\",\"value\":\"eA==\",\"version\":\"40\"},"
		"{\"key\":\"drillrig/canary/c10/00000000000000000001\",\"version\":\"41\"},"
		"{\"key\":\"drillrig/canary/c1/00000000000000000002\",\"version\":\"44\"}],"
		"\"blockHeight\":\"50\",\"nextPageToken\":\"b2Zmc2V0OjI=\"}", &err), 0);
	/* c10's entity is not ours although it shares the prefix "c1". */
	assert_int_equal(page.n, 2);
	assert_int_equal(page.entries[1].sequence, 2);
	assert_int_equal(page.entries[1].index, 44);
	assert_true(page.more);
	assert_string_equal(page.next_token, "b2Zmc2V0OjI=");
	assert_int_equal(k8s_canary_parse_page(&page, cfg, "c1", "{\"blockHeight\":\"50\"}", &err), 0);
	assert_false(page.more);
	assert_string_equal(page.next_token, "");
	free(page.entries);
	k8s_config_free(cfg);
}

static void test_requests(void **state)
{
	struct k8s_config *cfg = ledger_v1(), *rb = runbook();
	json_t *a = k8s_canary_write_request(cfg, "c1", 7, "payload", 1000);
	json_t *b = k8s_canary_write_request(cfg, "c1", 7, "payload", 2000);
	json_t *c = k8s_canary_write_request(cfg, "c1", 8, "payload", 1000);
	json_t *set = json_object_get(json_array_get(json_object_get(a, "operations"), 0), "setEntity");
	const char *ka = json_string_value(json_object_get(a, "idempotencyKey"));
	size_t len = 0;
	char *raw = b64_decode(ka, &len), *value;
	json_t *r;

	(void)state;
	/* A retry is the same write: same key, whatever the clock (and the
	 * connection passes the same clock to every attempt, so the same
	 * expiresAt: the server refuses a reused key with another body). */
	assert_string_equal(ka, json_string_value(json_object_get(b, "idempotencyKey")));
	{
		json_t *again = k8s_canary_write_request(cfg, "c1", 7, "payload", 1000);

		assert_true(json_equal(a, again));
		json_decref(again);
	}
	assert_string_not_equal(ka, json_string_value(json_object_get(c, "idempotencyKey")));
	assert_non_null(raw);
	assert_int_equal(len, 16);
	assert_int_equal((unsigned char)raw[6] >> 4, 8); /* UUID version 8 */
	assert_int_equal((unsigned char)raw[8] >> 6, 2); /* RFC 9562 variant */
	assert_string_equal(json_string_value(json_object_get(set, "key")),
			    "drillrig/canary/c1/00000000000000000007");
	value = b64_decode(json_string_value(json_object_get(set, "value")), NULL);
	assert_string_equal(value, "payload");
	assert_string_equal(json_string_value(json_object_get(set, "expiresAt")), "87400"); /* +24h */
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "organization"), "slug")), "11");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "vault"), "slug")), "22");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "caller"), "slug")), "33");
	r = k8s_canary_write_request(rb, "c1", 7, "payload", 1000);
	assert_int_equal(json_integer_value(json_object_get(r, "sequence")), 7);
	assert_string_equal(json_string_value(json_object_get(r, "clientId")), "c1");
	json_decref(r);
	r = k8s_canary_read_request(rb, "c1", 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(r, "fromIndex")), 1);
	json_decref(r);
	free(raw);
	free(value);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	k8s_config_free(cfg);
	k8s_config_free(rb);
}

static void expect_config_error(const char *text, const char *want)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_config *cfg = NULL;

	assert_int_not_equal(k8s_config_parse(&cfg, "t.yaml", text, strlen(text), &err), 0);
	if (!strstr(err.msg, want))
		fail_msg("error '%s' does not contain '%s'", err.msg, want);
}

static void test_config(void **state)
{
	struct k8s_config *cfg = runbook();

	(void)state;
	assert_true(cfg->canary.enabled);
	assert_int_equal(cfg->canary.interval_ns, 1000000000LL);
	k8s_config_free(cfg);
	cfg = parse("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\n" REGIONS);
	assert_false(cfg->canary.enabled); /* no canary: mapping, no writes */
	k8s_config_free(cfg);
	cfg = parse("version: 1\napi: ledger.v1\nallowed_contexts: [eks-primary]\n"
		    "canary: {organization: \"18446744073709551615\", vault: 2, caller: 3, ttl: \"0\"}\n" REGIONS);
	assert_string_equal(cfg->canary.organization, "18446744073709551615");
	assert_int_equal(cfg->canary.ttl_ns, 0);
	k8s_config_free(cfg);
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\ncanary: {organization: 1}\n" REGIONS,
			    "t.yaml:4:10: organization: only with api: ledger.v1");
	expect_config_error("version: 1\napi: ledger.v1\nallowed_contexts: [eks-primary]\n"
			    "canary: {organization: acme, vault: 2, caller: 3}\n" REGIONS,
			    "t.yaml:4:10: organization: expected a slug");
	expect_config_error("version: 1\napi: ledger.v1\nallowed_contexts: [eks-primary]\n"
			    "canary: {organization: \"-1\", vault: 2, caller: 3}\n" REGIONS,
			    "organization: expected a slug");
	expect_config_error("version: 1\napi: ledger.v1\nallowed_contexts: [eks-primary]\n"
			    "canary: {organization: 1, vault: 2}\n" REGIONS, "canary needs 'caller'");
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\ncanary: {interval: 10ms}\n" REGIONS,
			    "interval: expected a duration of at least 100ms");
	expect_config_error("version: 1\napi: ledger.v1\nallowed_contexts: [eks-primary]\n"
			    "canary: {organization: 1, vault: 2, caller: 3, ttl: 30m}\n" REGIONS,
			    "ttl: must be 0 or at least 1h");
	expect_config_error("version: 1\napi: runbook\nallowed_contexts: [eks-primary]\ncanary: {rate: 2}\n" REGIONS,
			    "rate: unknown key in canary");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acknowledged_writes),
		cmocka_unit_test(test_definite_failures),
		cmocka_unit_test(test_unknown_outcomes),
		cmocka_unit_test(test_runbook_read_back_pages),
		cmocka_unit_test(test_ledger_v1_read_back_pages),
		cmocka_unit_test(test_requests),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
