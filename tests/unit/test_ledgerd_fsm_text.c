/* The append command's text without jansson (ledger/daemon/fsm_text.h):
 * what it writes is what jansson writes, what it reads it reads as jansson
 * does, and everything else is left to jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "common/sha256.h"
#include "ledger/daemon/fsm.h"
#include "ledger/daemon/fsm_text.h"

/* What ledger_cmd_append wrote before it had a path of its own. */
static char *jansson_append(const char *cid, uint64_t seq, const char *payload, uint64_t term,
			    int64_t ts)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:I, s:I}", "op", "append", "client_id", cid,
			      "sequence", (json_int_t)seq, "payload", payload, "term",
			      (json_int_t)term, "ts_ms", (json_int_t)ts);
	char *t = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return t;
}

static void test_encode_is_janssons_text(void **state)
{
	static const struct {
		const char *cid, *payload;
		uint64_t seq, term;
		int64_t ts;
	} cases[] = {
		{ "c", "", 0, 0, 0 },
		{ "tp-0-1234", "benchmark payload of some 40 bytes.....", 1, 7, 1796000000000 },
		{ "a b/c{}[]:,", "~!@#$%^&*()_+`'", 123456789012345678ULL, 99, -1 },
		{ "big", "x", UINT64_MAX, (uint64_t)INT64_MAX + 5, INT64_MIN },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *fast = fsm_text_append_encode(cases[i].cid, cases[i].seq, cases[i].payload,
						    cases[i].term, cases[i].ts);
		char *slow = jansson_append(cases[i].cid, cases[i].seq, cases[i].payload,
					    cases[i].term, cases[i].ts);
		char *cmd = ledger_cmd_append(cases[i].cid, cases[i].seq, cases[i].payload,
					      cases[i].term, cases[i].ts);

		assert_non_null(fast);
		assert_string_equal(fast, slow);
		assert_string_equal(cmd, slow);
		free(fast);
		free(slow);
		free(cmd);
	}
}

static void test_encode_leaves_escapes_to_jansson(void **state)
{
	static const char *const not_plain[] = { "quo\"te", "back\\slash", "tab\there", "nl\n",
						 "caf\xc3\xa9", "del\x7f" };

	(void)state;
	for (size_t i = 0; i < sizeof(not_plain) / sizeof(not_plain[0]); i++) {
		char *slow = jansson_append("c", 1, not_plain[i], 1, 1);
		char *cmd = ledger_cmd_append("c", 1, not_plain[i], 1, 1);

		assert_null(fsm_text_append_encode("c", 1, not_plain[i], 1, 1));
		assert_null(fsm_text_append_encode(not_plain[i], 1, "p", 1, 1));
		assert_string_equal(cmd, slow); /* still written, by jansson */
		free(slow);
		free(cmd);
	}
}

static void test_parse_reads_single_and_batch(void **state)
{
	struct fsm_text_append a[4];
	char *cmds[3];
	char *batch;
	size_t n;

	(void)state;
	cmds[0] = fsm_text_append_encode("c1", 5, "p1", 2, -3);
	cmds[1] = fsm_text_append_encode("c2", 0, "", 2, 4);
	cmds[2] = fsm_text_append_encode("c3", 123456789012345678ULL, "p3", 9, 10);
	assert_int_equal(fsm_text_parse(a, 4, &n, cmds[0], strlen(cmds[0])), 1);
	assert_int_equal(n, 1);
	assert_int_equal(a[0].client_id_len, 2);
	assert_memory_equal(a[0].client_id, "c1", 2);
	assert_int_equal(a[0].payload_len, 2);
	assert_memory_equal(a[0].payload, "p1", 2);
	assert_int_equal(a[0].sequence, 5);
	assert_int_equal(a[0].term, 2);
	assert_int_equal(a[0].ts_ms, -3);

	batch = ledger_cmd_batch(cmds, 3);
	assert_int_equal(fsm_text_parse(a, 4, &n, batch, strlen(batch)), 1);
	assert_int_equal(n, 3);
	assert_int_equal(a[1].payload_len, 0);
	assert_int_equal(a[1].sequence, 0);
	assert_int_equal(a[2].sequence, 123456789012345678LL);
	/* More items than the caller has room for: left to jansson. */
	assert_int_equal(fsm_text_parse(a, 2, &n, batch, strlen(batch)), 0);
	free(batch);
	for (int i = 0; i < 3; i++)
		free(cmds[i]);
}

static void test_parse_leaves_the_rest_to_jansson(void **state)
{
	static const char *const others[] = {
		/* escapes and non-ASCII in strings */
		"{\"op\":\"append\",\"client_id\":\"a\\\"b\",\"sequence\":1,\"payload\":\"p\",\"term\":1,\"ts_ms\":1}",
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"\xc3\xa9\",\"term\":1,\"ts_ms\":1}",
		/* numbers jansson reads otherwise or refuses */
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":01,\"payload\":\"p\",\"term\":1,\"ts_ms\":1}",
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"p\",\"term\":1,\"ts_ms\":-0}",
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1.5,\"payload\":\"p\",\"term\":1,\"ts_ms\":1}",
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1e3,\"payload\":\"p\",\"term\":1,\"ts_ms\":1}",
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1234567890123456789,\"payload\":\"p\",\"term\":1,\"ts_ms\":1}",
		/* malformed for the state machine: its error comes from jansson's path */
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":-1,\"payload\":\"p\",\"term\":1,\"ts_ms\":1}",
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"p\",\"term\":-1,\"ts_ms\":1}",
		/* another shape */
		"{\"client_id\":\"a\",\"op\":\"append\",\"sequence\":1,\"payload\":\"p\",\"term\":1,\"ts_ms\":1}",
		"{\"op\": \"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"p\",\"term\":1,\"ts_ms\":1}",
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"p\",\"term\":1,\"ts_ms\":1} ",
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"p\",\"term\":1}",
		"{\"op\":\"batch\",\"cmds\":[]}",
		"{\"op\":\"batch\",\"cmds\":[{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"p\",\"term\":1,\"ts_ms\":1},]}",
		"{\"op\":\"member\",\"member\":{\"id\":1}}",
		"",
	};
	struct fsm_text_append a[4];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_int_equal(fsm_text_parse(a, 4, &n, others[i], strlen(others[i])), 0);
}

static void digest_of(char hex[SHA256_HEX_LEN], const char *const *cmds, size_t n)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_fsm f;
	uint64_t index;

	ledger_fsm_init(&f);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(ledger_fsm_apply(&f, &index, cmds[i], strlen(cmds[i]), &err), 0);
	ledger_fsm_digest(&f, hex);
	ledger_fsm_release(&f);
}

/* The same commands, once in ledgerd's shape (read here) and once with a
 * space jansson ignores (read by jansson): the same state, including a
 * repeated (client_id, sequence) applied once. */
static void test_both_paths_apply_the_same(void **state)
{
	static const char *const fast[] = {
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"p1\",\"term\":2,\"ts_ms\":5}",
		"{\"op\":\"batch\",\"cmds\":[{\"op\":\"append\",\"client_id\":\"b\",\"sequence\":7,\"payload\":\"\",\"term\":2,\"ts_ms\":6},"
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"again\",\"term\":2,\"ts_ms\":6}]}",
	};
	static const char *const slow[] = {
		"{\"op\": \"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"p1\",\"term\":2,\"ts_ms\":5}",
		"{\"op\": \"batch\",\"cmds\":[{\"op\":\"append\",\"client_id\":\"b\",\"sequence\":7,\"payload\":\"\",\"term\":2,\"ts_ms\":6},"
		"{\"op\":\"append\",\"client_id\":\"a\",\"sequence\":1,\"payload\":\"again\",\"term\":2,\"ts_ms\":6}]}",
	};
	char d1[SHA256_HEX_LEN], d2[SHA256_HEX_LEN];
	struct fsm_text_append a[4];
	size_t n;

	(void)state;
	assert_int_equal(fsm_text_parse(a, 4, &n, fast[1], strlen(fast[1])), 1);
	assert_int_equal(fsm_text_parse(a, 4, &n, slow[1], strlen(slow[1])), 0);
	digest_of(d1, fast, 2);
	digest_of(d2, slow, 2);
	assert_string_equal(d1, d2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_is_janssons_text),
		cmocka_unit_test(test_encode_leaves_escapes_to_jansson),
		cmocka_unit_test(test_parse_reads_single_and_batch),
		cmocka_unit_test(test_parse_leaves_the_rest_to_jansson),
		cmocka_unit_test(test_both_paths_apply_the_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
