/* Request decoding: every malformed body is refused with a message naming
 * the field; well-formed ones pass. Also the peers file and wire codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ledger/client/wire.h"
#include "ledger/daemon/config.h"
#include "ledger/daemon/svc.h"

typedef int (*validator)(const json_t *, struct dr_error *);

static void check(validator v, const char *body, int ok, const char *fragment)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *req = json_loads(body, 0, NULL);
	int rc;

	assert_non_null(req);
	rc = v(req, &err);
	json_decref(req);
	if (ok && rc != 0)
		fail_msg("'%s' should be accepted, got: %s", body, err.msg);
	if (!ok && rc == 0)
		fail_msg("'%s' should be refused", body);
	if (!ok && fragment && !strstr(err.msg, fragment))
		fail_msg("error for '%s' was '%s', expected '%s'", body, err.msg, fragment);
}

static void test_append_bodies(void **state)
{
	(void)state;
	check(ledgerd_validate_append, "{\"client_id\":\"c1\",\"sequence\":7,\"payload\":\"any\"}", 1, NULL);
	check(ledgerd_validate_append, "{\"client_id\":\"c1\",\"sequence\":0,\"payload\":\"\"}", 1, NULL);
	check(ledgerd_validate_append, "{\"sequence\":7,\"payload\":\"x\"}", 0, "client_id");
	check(ledgerd_validate_append, "{\"client_id\":\"\",\"sequence\":7,\"payload\":\"x\"}", 0, "client_id");
	check(ledgerd_validate_append, "{\"client_id\":5,\"sequence\":7,\"payload\":\"x\"}", 0, "client_id");
	/* proto3: an absent sequence or payload is its zero value, valid */
	check(ledgerd_validate_append, "{\"client_id\":\"c\",\"payload\":\"x\"}", 1, NULL);
	check(ledgerd_validate_append, "{\"client_id\":\"c\"}", 1, NULL);
	check(ledgerd_validate_append, "{\"client_id\":\"c\",\"sequence\":\"7\",\"payload\":\"x\"}", 0, "sequence");
	check(ledgerd_validate_append, "{\"client_id\":\"c\",\"sequence\":1.5,\"payload\":\"x\"}", 0, "sequence");
	check(ledgerd_validate_append, "{\"client_id\":\"c\",\"sequence\":-1,\"payload\":\"x\"}", 0, "sequence");
	check(ledgerd_validate_append, "{\"client_id\":\"c\",\"sequence\":1,\"payload\":null}", 0, "payload");
	check(ledgerd_validate_append, "{\"client_id\":\"c\",\"sequence\":1,\"payload\":{}}", 0, "payload");
}

static void test_admin_bodies(void **state)
{
	(void)state;
	check(ledgerd_validate_read, "{}", 1, NULL);
	check(ledgerd_validate_read, "{\"from_index\":1,\"limit\":1000}", 1, NULL);
	check(ledgerd_validate_read, "{\"from_index\":0}", 0, "from_index");
	check(ledgerd_validate_read, "{\"limit\":100000}", 0, "limit");
	check(ledgerd_validate_transfer, "{\"node_id\":2}", 1, NULL);
	check(ledgerd_validate_transfer, "{\"region\":\"dr\"}", 1, NULL);
	check(ledgerd_validate_transfer, "{}", 0, "exactly one");
	check(ledgerd_validate_transfer, "{\"node_id\":2,\"region\":\"dr\"}", 0, "exactly one");
	check(ledgerd_validate_transfer, "{\"node_id\":\"2\"}", 0, "node_id");
	check(ledgerd_validate_force, "{\"region\":\"dr\",\"allow_data_loss\":true}", 1, NULL);
	check(ledgerd_validate_force, "{\"region\":\"dr\",\"allow_data_loss\":\"yes\"}", 0, "allow_data_loss");
	check(ledgerd_validate_force, "{}", 0, "region");
	check(ledgerd_validate_restore, "{\"path\":3}", 0, "path");
	check(ledgerd_validate_add_member,
	      "{\"id\":4,\"address\":\"127.0.0.4:1\",\"raft_address\":\"127.0.0.4:2\",\"region\":\"p\",\"region_role\":\"primary\",\"zone\":\"a\"}",
	      1, NULL);
	check(ledgerd_validate_add_member,
	      "{\"id\":4,\"address\":\"nohost\",\"raft_address\":\"127.0.0.4:2\",\"region\":\"p\",\"region_role\":\"primary\",\"zone\":\"a\"}",
	      0, "host:port");
	check(ledgerd_validate_add_member,
	      "{\"id\":4,\"address\":\"127.0.0.4:1\",\"raft_address\":\"127.0.0.4:2\",\"region\":\"p\",\"region_role\":\"boss\",\"zone\":\"a\"}",
	      0, "region_role");
	check(ledgerd_validate_partition, "{\"peers\":[1,2]}", 1, NULL);
	check(ledgerd_validate_partition, "{\"peers\":[1,\"x\"]}", 0, "peers");
	check(ledgerd_validate_partition, "{\"peers\":1}", 0, "peers");
	check(ledgerd_validate_refuse, "{\"duration_ms\":0}", 0, "duration_ms");
	check(ledgerd_validate_drop, "{\"client_id\":\"c\"}", 0, "sequence");
	check(ledgerd_validate_drop_install_snapshot, "{\"count\":1}", 1, NULL);
	check(ledgerd_validate_drop_install_snapshot, "{\"count\":0}", 1, NULL);
	check(ledgerd_validate_drop_install_snapshot, "{}", 0, "count");
	check(ledgerd_validate_drop_install_snapshot, "{\"count\":\"1\"}", 0, "count");
	check(ledgerd_validate_drop_install_snapshot, "{\"count\":-1}", 0, "count");
	check(ledgerd_validate_drop_install_snapshot, "{\"count\":1001}", 0, "count");
}

static void test_peers_file(void **state)
{
	struct ledgerd_peers p;
	struct dr_error err = DR_ERROR_INIT;
	const char *good = "{\"cluster_id\":\"c-1\",\"nodes\":[{\"id\":1,\"address\":\"127.0.0.1:5\",\"raft_address\":\"127.0.0.1:6\",\"region\":\"us-west-1\",\"region_role\":\"primary\",\"zone\":\"a\"}]}";
	const char *dup = "{\"cluster_id\":\"c-1\",\"nodes\":[{\"id\":1,\"address\":\"127.0.0.1:5\",\"raft_address\":\"127.0.0.1:6\",\"region\":\"r\",\"region_role\":\"primary\",\"zone\":\"a\"},{\"id\":1,\"address\":\"127.0.0.2:5\",\"raft_address\":\"127.0.0.2:6\",\"region\":\"r\",\"region_role\":\"dr\",\"zone\":\"a\"}]}";

	(void)state;
	assert_int_equal(ledgerd_peers_parse(&p, good, strlen(good), "peers.json", &err), 0);
	assert_string_equal(p.cluster_id, "c-1");
	assert_non_null(ledgerd_peers_find(&p, 1));
	assert_null(ledgerd_peers_find(&p, 2));
	ledgerd_peers_release(&p);
	assert_int_equal(ledgerd_peers_parse(&p, dup, strlen(dup), "peers.json", &err), -1);
	assert_non_null(strstr(err.msg, "duplicate"));
	assert_int_equal(ledgerd_peers_parse(&p, "{\"nodes\":[]}", 12, "peers.json", &err), -1);
	assert_non_null(strstr(err.msg, "peers.json"));
}

static void test_wire_codes(void **state)
{
	(void)state;
	assert_int_equal(ledger_code_http_status(LEDGER_NOT_LEADER), 421);
	assert_int_equal(ledger_code_http_status(LEDGER_UNKNOWN_OUTCOME), 500);
	assert_int_equal(ledger_code_http_status(LEDGER_INVALID_ARGUMENT), 400);
	assert_int_equal(ledger_code_http_status(LEDGER_TOO_LARGE), 413);
	/* the gRPC status each code travels as (the ledger-code trailer tells
	 * NOT_LEADER from the node's own UNAVAILABLE) */
	assert_int_equal(ledger_code_grpc_status(LEDGER_OK), 0);
	assert_int_equal(ledger_code_grpc_status(LEDGER_NOT_LEADER), 14);
	assert_int_equal(ledger_code_grpc_status(LEDGER_UNAVAILABLE), 14);
	assert_int_equal(ledger_code_grpc_status(LEDGER_UNKNOWN_OUTCOME), 2);
	assert_int_equal(ledger_code_grpc_status(LEDGER_INVALID_ARGUMENT), 3);
	assert_int_equal(ledger_code_grpc_status(LEDGER_METHOD_NOT_ALLOWED), 3);
	assert_int_equal(ledger_code_grpc_status(LEDGER_NOT_FOUND), 5);
	assert_int_equal(ledger_code_grpc_status(LEDGER_TOO_LARGE), 8);
	assert_int_equal(ledger_code_grpc_status(LEDGER_FAILED_PRECONDITION), 9);
	assert_int_equal(ledger_code_grpc_status(LEDGER_UNIMPLEMENTED), 12);
	assert_int_equal(ledger_code_grpc_status(LEDGER_UNAUTHENTICATED), 16);
	assert_int_equal(ledger_code_parse("NOT_LEADER"), LEDGER_NOT_LEADER);
	assert_int_equal(ledger_code_parse("RESOURCE_EXHAUSTED"), LEDGER_TOO_LARGE);
	assert_int_equal(ledger_code_parse("UNAVAILABLE"), LEDGER_UNAVAILABLE);
	assert_int_equal(ledger_code_parse("BOGUS"), LEDGER_CODE_COUNT);
	assert_string_equal(ledger_code_name(LEDGER_METHOD_NOT_ALLOWED), "INVALID_ARGUMENT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_bodies),
		cmocka_unit_test(test_admin_bodies),
		cmocka_unit_test(test_peers_file),
		cmocka_unit_test(test_wire_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
