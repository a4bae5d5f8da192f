/* JSON <-> protobuf through the descriptors (ledger/client/pbjson.h) and
 * the method table (ledger/client/methods.h): what the gRPC layers on both
 * sides convert with, so a field lost or mistyped here is lost on the wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "common/error.h"
#include "inferadb/ledger/v1/ledger.pb-c.h"
#include "ledger/client/methods.h"
#include "ledger/client/pbjson.h"
#include "ledger/v1/ledger.pb-c.h"

static json_t *roundtrip(const ProtobufCMessageDescriptor *d, const char *text, unsigned flags)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *in = json_loads(text, 0, NULL), *out = NULL;
	void *data = NULL;
	size_t len = 0;

	assert_non_null(in);
	if (pbjson_pack(&data, &len, d, in, &err) != 0)
		fail_msg("pack: %s", err.msg);
	if (pbjson_unpack(&out, d, data, len, flags, &err) != 0)
		fail_msg("unpack: %s", err.msg);
	free(data);
	json_decref(in);
	return out;
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, 0, NULL);

	assert_non_null(want);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);

		fail_msg("got %s, want %s", g, w);
	}
	json_decref(want);
}

static void test_cluster_status_keeps_every_field(void **state)
{
	static const char status[] =
		"{\"cluster_id\":\"c-1\",\"node_id\":2,\"term\":7,\"commit_index\":41,"
		"\"leader\":{\"id\":3,\"address\":\"127.0.0.3:50051\",\"region\":\"dr\","
		"\"region_role\":\"dr\"},\"quorum\":true,\"replication\":\"Fully replicated\","
		"\"last_index\":40,\"voters\":5,\"view\":\"leader\",\"members\":[{\"id\":1,"
		"\"address\":\"127.0.0.1:50051\",\"raft_address\":\"127.0.0.1:7001\","
		"\"region\":\"primary\",\"region_role\":\"primary\",\"zone\":\"primary-a\","
		"\"role\":\"voter\",\"state\":\"unreachable\",\"match_index\":12,\"lag_entries\":29,"
		"\"lag_seconds\":1.5,\"last_contact_ms\":-1}]}";
	json_t *out = roundtrip(&inferadb__ledger__v1__cluster_status__descriptor, status, 0);

	(void)state;
	assert_json(out, status);
	json_decref(out);
}

static void test_defaults_are_left_out_or_emitted_on_request(void **state)
{
	json_t *sparse, *full;

	(void)state;
	sparse = roundtrip(&inferadb__ledger__v1__cluster_status__descriptor,
			   "{\"term\":1,\"quorum\":false,\"members\":[]}", 0);
	assert_json(sparse, "{\"term\":1}");
	full = roundtrip(&inferadb__ledger__v1__cluster_status__descriptor, "{\"term\":1}",
			 PBJSON_EMIT_DEFAULTS);
	/* What the services answered over HTTP: every key, no leader is null. */
	assert_true(json_is_null(json_object_get(full, "leader")));
	assert_true(json_is_false(json_object_get(full, "quorum")));
	assert_int_equal(json_array_size(json_object_get(full, "members")), 0);
	assert_string_equal(json_string_value(json_object_get(full, "replication")), "");
	json_decref(sparse);
	json_decref(full);
}

/* grpcurl sends lowerCamelCase keys, 64-bit numbers as strings, enums by
 * name and bytes as base64: the public ledger's canary bodies must load. */
static void test_grpcurl_style_body_loads(void **state)
{
	json_t *out = roundtrip(&ledger__v1__list_entities_request__descriptor,
				"{\"organization\":{\"slug\":\"7318125913479823360\"},"
				"\"keyPrefix\":\"drillrig/canary/\",\"pageToken\":\"k1\",\"limit\":1000,"
				"\"consistency\":\"READ_CONSISTENCY_LINEARIZABLE\","
				"\"caller\":{\"slug\":\"18446744073709551615\"}}", 0);

	(void)state;
	assert_json(out, "{\"organization\":{\"slug\":7318125913479823360},"
		    "\"key_prefix\":\"drillrig/canary/\",\"page_token\":\"k1\",\"limit\":1000,"
		    "\"consistency\":\"READ_CONSISTENCY_LINEARIZABLE\","
		    "\"caller\":{\"slug\":\"18446744073709551615\"}}");
	json_decref(out);
}

static void test_bytes_oneof_and_maps(void **state)
{
	json_t *w = roundtrip(&ledger__v1__write_request__descriptor,
			      "{\"idempotency_key\":\"AAECAwQFBgcICQoLDA0ODw==\",\"operations\":["
			      "{\"set_entity\":{\"key\":\"k\",\"value\":\"aGk=\",\"expires_at\":9}}]}", 0);
	json_t *r = roundtrip(&ledger__v1__write_response__descriptor,
			      "{\"error\":{\"code\":\"WRITE_ERROR_CODE_ALREADY_COMMITTED\","
			      "\"committed_block_height\":12}}", 0);
	json_t *d = roundtrip(&ledger__v1__error_details__descriptor,
			      "{\"error_code\":\"2000\",\"is_retryable\":true,\"context\":{"
			      "\"leader_id\":\"3\",\"leader_endpoint\":\"127.0.0.3:50051\"}}", 0);

	(void)state;
	assert_json(w, "{\"idempotency_key\":\"AAECAwQFBgcICQoLDA0ODw==\",\"operations\":["
		    "{\"set_entity\":{\"key\":\"k\",\"value\":\"aGk=\",\"expires_at\":9}}]}");
	/* Only the member of the oneof that is set. */
	assert_json(r, "{\"error\":{\"code\":\"WRITE_ERROR_CODE_ALREADY_COMMITTED\","
		    "\"committed_block_height\":12}}");
	assert_json(d, "{\"error_code\":\"2000\",\"is_retryable\":true,\"context\":{"
		    "\"leader_id\":\"3\",\"leader_endpoint\":\"127.0.0.3:50051\"}}");
	json_decref(w);
	json_decref(r);
	json_decref(d);
}

/* The supervisor's free-form answer travels as a google.protobuf.Struct. */
static void test_struct_carries_any_json(void **state)
{
	json_t *out = roundtrip(&inferadb__ledger__v1__force_leader_election_response__descriptor,
				"{\"unsafe\":true,\"supervisor\":{\"ok\":true,\"nodes\":[3,4],"
				"\"note\":null,\"detail\":{\"ms\":12.5,\"who\":\"dr\"}}}", 0);

	(void)state;
	assert_json(out, "{\"unsafe\":true,\"supervisor\":{\"ok\":true,\"nodes\":[3,4],"
		    "\"note\":null,\"detail\":{\"ms\":12.5,\"who\":\"dr\"}}}");
	json_decref(out);
}

static void expect_error(const ProtobufCMessageDescriptor *d, const char *text, const char *msg)
{
	struct dr_error err = DR_ERROR_INIT;
	ProtobufCMessage *m = (ProtobufCMessage *)1;
	json_t *in = json_loads(text, JSON_ALLOW_NUL, NULL);

	assert_non_null(in);
	assert_int_equal(pbjson_to_message(&m, d, in, &err), -1);
	assert_null(m);
	if (!strstr(err.msg, msg))
		fail_msg("%s: error '%s' does not say '%s'", text, err.msg, msg);
	json_decref(in);
}

static void test_bad_input_is_named_by_its_path(void **state)
{
	const ProtobufCMessageDescriptor *append = &inferadb__ledger__v1__append_request__descriptor;
	const ProtobufCMessageDescriptor *status = &inferadb__ledger__v1__cluster_status__descriptor;

	(void)state;
	expect_error(append, "{\"client_id\":\"c\",\"extra\":1}", "extra: unknown field");
	expect_error(append, "{\"sequence\":-1}", "sequence: expected a non-negative integer");
	expect_error(append, "{\"sequence\":\"12x\"}", "sequence: expected a non-negative integer");
	expect_error(append, "{\"client_id\":7}", "client_id: expected a string");
	expect_error(append, "{\"client_id\":\"a\\u0000b\"}", "client_id: a string must not contain NUL");
	expect_error(append, "[1]", "the message: expected an object");
	expect_error(status, "{\"members\":[{\"id\":1},{\"lag_seconds\":\"x\"}]}",
		     "members[1].lag_seconds: expected a number");
	expect_error(status, "{\"voters\":4294967296}", "voters: expected a non-negative integer");
	expect_error(&ledger__v1__list_entities_request__descriptor,
		     "{\"consistency\":\"READ_CONSISTENCY_SOMETIMES\"}", "consistency: not a value of the enum");
	expect_error(&ledger__v1__write_request__descriptor, "{\"idempotency_key\":\"!!\"}",
		     "idempotency_key: expected base64 bytes");
	expect_error(&ledger__v1__write_response__descriptor,
		     "{\"success\":{},\"error\":{}}", "more than one member of a oneof");
}

static void test_garbage_bytes_are_refused(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *out = NULL;
	static const unsigned char junk[] = { 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f };

	(void)state;
	assert_int_equal(pbjson_unpack(&out, &inferadb__ledger__v1__append_request__descriptor, junk,
				       sizeof(junk), 0, &err), -1);
	assert_null(out);
	assert_non_null(strstr(err.msg, "inferadb.ledger.v1.AppendRequest"));
}

/* protobuf-c keeps strings NUL-terminated: a NUL inside a string must be
 * refused, not read as a shorter string ("a\0b" as "a"); a string that is
 * not UTF-8 is refused by name, in nested messages too. */
static void test_strings_with_nul_or_bad_utf8_are_refused(void **state)
{
	static const unsigned char nul[] = { 0x0a, 0x01, 'c', 0x10, 0x01, 0x1a, 0x03, 'a', 0x00, 'b' };
	static const unsigned char latin1[] = { 0x0a, 0x02, 'c', 0xe9, 0x10, 0x01, 0x1a, 0x01, 'x' };
	/* ReadResponse { entries { payload "a\0" } } */
	static const unsigned char nested[] = { 0x0a, 0x04, 0x2a, 0x02, 'a', 0x00 };
	static const unsigned char utf8[] = { 0x0a, 0x01, 'c', 0x10, 0x01, 0x1a, 0x02, 0xc3, 0xa9 };
	struct dr_error err = DR_ERROR_INIT;
	json_t *out = NULL;

	(void)state;
	assert_int_equal(pbjson_unpack(&out, &inferadb__ledger__v1__append_request__descriptor, nul,
				       sizeof(nul), 0, &err), -1);
	assert_null(out);
	assert_non_null(strstr(err.msg, "'payload' contains a NUL"));
	assert_int_equal(pbjson_unpack(&out, &inferadb__ledger__v1__append_request__descriptor, latin1,
				       sizeof(latin1), 0, &err), -1);
	assert_non_null(strstr(err.msg, "'client_id' is not UTF-8"));
	assert_int_equal(pbjson_unpack(&out, &inferadb__ledger__v1__read_response__descriptor, nested,
				       sizeof(nested), 0, &err), -1);
	assert_non_null(strstr(err.msg, "'payload' contains a NUL"));
	/* valid UTF-8 beyond ASCII is kept whole */
	assert_int_equal(pbjson_unpack(&out, &inferadb__ledger__v1__append_request__descriptor, utf8,
				       sizeof(utf8), 0, &err), 0);
	assert_string_equal(json_string_value(json_object_get(out, "payload")), "\xc3\xa9");
	json_decref(out);
}

static void test_method_table_routes_both_dialects(void **state)
{
	const struct ledger_method *m;
	size_t n;

	(void)state;
	m = ledger_method_find("/inferadb.ledger.v1.Admin/GetClusterStatus");
	assert_non_null(m);
	assert_ptr_equal(m->method->output, &inferadb__ledger__v1__cluster_status__descriptor);
	m = ledger_method_find("ledger.v1.WriteService/Write");
	assert_non_null(m);
	assert_string_equal(m->path, "/ledger.v1.WriteService/Write");
	assert_non_null(ledger_method_find("/grpc.health.v1.Health/Check"));
	assert_null(ledger_method_find("/inferadb.ledger.v1.Admin/DropEverything"));
	assert_null(ledger_method_find("/inferadb.ledger.v1.Debug/Partition"));
	ledger_methods(&n);
	assert_true(n >= 17);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cluster_status_keeps_every_field),
		cmocka_unit_test(test_defaults_are_left_out_or_emitted_on_request),
		cmocka_unit_test(test_grpcurl_style_body_loads),
		cmocka_unit_test(test_bytes_oneof_and_maps),
		cmocka_unit_test(test_struct_carries_any_json),
		cmocka_unit_test(test_bad_input_is_named_by_its_path),
		cmocka_unit_test(test_garbage_bytes_are_refused),
		cmocka_unit_test(test_strings_with_nul_or_bad_utf8_are_refused),
		cmocka_unit_test(test_method_table_routes_both_dialects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
