/* The ledger.v1 entity state machine (ledger/daemon/entities.h) through the
 * ledger state machine's commands: blocks and sequences, idempotency keys,
 * expiry, listing and paging, snapshot round trip and digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ledger/daemon/entities.h"
#include "ledger/daemon/fsm.h"

struct op {
	const char *key, *value;
	uint64_t expires_at;
};

/* A Write of ops; idem/tx: every byte of the key/tx id (0: no key). */
static void make_write(struct ledger_write *w, uint64_t org, uint64_t vault, const char *client,
		       unsigned char idem, unsigned char tx, const struct op *ops, size_t n)
{
	memset(w, 0, sizeof *w);
	w->org = org;
	w->vault = vault;
	w->client_id = strdup(client);
	memset(w->idem, idem, sizeof w->idem);
	memset(w->tx_id, tx, sizeof w->tx_id);
	w->ops = calloc(n, sizeof *w->ops);
	w->n_ops = n;
	for (size_t i = 0; i < n; i++) {
		w->ops[i].key = strdup(ops[i].key);
		w->ops[i].value = (unsigned char *)strdup(ops[i].value);
		w->ops[i].value_len = strlen(ops[i].value);
		w->ops[i].expires_at = ops[i].expires_at;
	}
}

/* Apply through the command, as a replica does; the block height. */
static uint64_t apply(struct ledger_fsm *f, uint64_t org, uint64_t vault, const char *client,
		      unsigned char idem, unsigned char tx, const struct op *ops, size_t n)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_write w;
	uint64_t height = 0;
	char *cmd;

	make_write(&w, org, vault, client, idem, tx, ops, n);
	cmd = ledger_cmd_write(&w);
	if (ledger_fsm_apply(f, &height, cmd, strlen(cmd), &err) != 0)
		fail_msg("apply failed: %s", err.msg);
	free(cmd);
	ledger_write_release(&w);
	return height;
}

static const struct ledger_write_result *result_of(const struct ledger_fsm *f, unsigned char tx)
{
	unsigned char id[LEDGER_TX_ID_LEN];

	memset(id, tx, sizeof id);
	return ledger_entities_result(&f->ents, id);
}

static void test_blocks_sequences_versions(void **state)
{
	struct ledger_fsm f;
	const struct op a[] = { { "user:1", "alice", 0 }, { "user:2", "bob", 0 } };
	const struct op b[] = { { "user:1", "alice v2", 0 } };
	const struct op c[] = { { "k", "v", 0 }, { "k", "last wins", 0 } };
	const struct ledger_entity *x;

	(void)state;
	ledger_fsm_init(&f);
	assert_int_equal(apply(&f, 7, 3, "c1", 0, 1, a, 2), 1);
	assert_int_equal(result_of(&f, 1)->outcome, LEDGER_WRITE_APPLIED);
	assert_int_equal(result_of(&f, 1)->sequence, 1);
	assert_int_equal(apply(&f, 7, 3, "c2", 0, 2, b, 1), 2);
	assert_int_equal(result_of(&f, 2)->sequence, 1);            /* per client */
	assert_int_equal(apply(&f, 7, 4, "c1", 0, 3, c, 2), 3);
	assert_int_equal(result_of(&f, 3)->sequence, 1);            /* per vault */
	assert_int_equal(apply(&f, 7, 3, "c1", 0, 4, b, 1), 4);
	assert_int_equal(result_of(&f, 4)->sequence, 2);
	assert_int_equal(result_of(&f, 4)->height, 4);
	assert_memory_equal(result_of(&f, 4)->orig_tx_id, result_of(&f, 4)->tx_id, LEDGER_TX_ID_LEN);
	x = ledger_entities_get(&f.ents, 7, 3, "user:1");
	assert_non_null(x);
	assert_int_equal(x->version, 4);
	assert_memory_equal(x->value, "alice v2", 8);
	assert_int_equal(ledger_entities_get(&f.ents, 7, 3, "user:2")->version, 1);
	x = ledger_entities_get(&f.ents, 7, 4, "k");
	assert_int_equal(x->value_len, strlen("last wins"));
	assert_int_equal(x->version, 3);
	assert_null(ledger_entities_get(&f.ents, 7, 4, "user:1"));  /* vaults are apart */
	assert_null(ledger_entities_get(&f.ents, 8, 3, "user:1"));
	assert_int_equal(f.ents.n_entities, 3);
	/* the native ledger is untouched by entity writes */
	assert_int_equal(ledger_fsm_last_index(&f), 0);
	ledger_fsm_release(&f);
}

static void test_idempotency_keys(void **state)
{
	struct ledger_fsm f;
	const struct op a[] = { { "acct:1", "100", 0 } };
	const struct op other[] = { { "acct:1", "999", 0 } };
	const struct op b[] = { { "acct:2", "5", 0 } };
	const struct ledger_write_result *r;
	struct ledger_write w;
	struct ledger_write_result known;

	(void)state;
	ledger_fsm_init(&f);
	assert_int_equal(apply(&f, 1, 1, "c", 0xAA, 1, a, 1), 1);
	apply(&f, 1, 1, "c", 0xBB, 2, b, 1);
	/* a retry (same key, same operations, new tx id): nothing applied,
	 * the original block answered */
	assert_int_equal(apply(&f, 1, 1, "c", 0xAA, 3, a, 1), 1);
	r = result_of(&f, 3);
	assert_int_equal(r->outcome, LEDGER_WRITE_ALREADY_COMMITTED);
	assert_int_equal(r->height, 1);
	assert_int_equal(r->sequence, 1);
	assert_memory_equal(r->orig_tx_id, result_of(&f, 1)->tx_id, LEDGER_TX_ID_LEN);
	assert_int_equal(f.ents.height, 2);
	assert_int_equal(ledger_entities_get(&f.ents, 1, 1, "acct:1")->version, 1);
	/* the same key with other operations: refused, nothing applied */
	assert_int_equal(apply(&f, 1, 1, "c", 0xAA, 4, other, 1), 1);
	assert_int_equal(result_of(&f, 4)->outcome, LEDGER_WRITE_KEY_REUSED);
	assert_memory_equal(ledger_entities_get(&f.ents, 1, 1, "acct:1")->value, "100", 3);
	assert_int_equal(f.ents.height, 2);
	/* the leader's check before proposing says the same */
	make_write(&w, 1, 1, "c", 0xAA, 5, a, 1);
	assert_int_equal(ledger_entities_check(&f.ents, &w, &known), LEDGER_WRITE_ALREADY_COMMITTED);
	assert_int_equal(known.height, 1);
	ledger_write_release(&w);
	make_write(&w, 1, 1, "c", 0xAA, 5, other, 1);
	assert_int_equal(ledger_entities_check(&f.ents, &w, &known), LEDGER_WRITE_KEY_REUSED);
	ledger_write_release(&w);
	/* keys are per (organization, vault, client): elsewhere they are new */
	assert_int_equal(apply(&f, 1, 1, "d", 0xAA, 6, a, 1), 3);
	assert_int_equal(apply(&f, 1, 2, "c", 0xAA, 7, a, 1), 4);
	assert_int_equal(apply(&f, 2, 1, "c", 0xAA, 8, a, 1), 5);
	/* an all-zero key is no key: every write applies */
	assert_int_equal(apply(&f, 1, 1, "c", 0, 9, a, 1), 6);
	assert_int_equal(apply(&f, 1, 1, "c", 0, 10, a, 1), 7);
	assert_int_equal(result_of(&f, 10)->outcome, LEDGER_WRITE_APPLIED);
	assert_null(result_of(&f, 0x77)); /* never applied here */
	ledger_fsm_release(&f);
}

static size_t list(const struct ledger_fsm *f, struct ledger_list_query *q, const char **keys,
		   int *more)
{
	const struct ledger_entity *out[64];
	size_t n;

	assert_true(q->limit <= 64);
	n = ledger_entities_list(&f->ents, q, out, more);
	for (size_t i = 0; i < n; i++)
		keys[i] = out[i]->key;
	return n;
}

static void test_listing_paging_expiry(void **state)
{
	struct ledger_fsm f;
	struct ledger_list_query q;
	const char *keys[64];
	char key[32];
	size_t n, seen = 0;
	int more;
	unsigned i;

	(void)state;
	ledger_fsm_init(&f);
	/* written out of order: listed in key order */
	for (i = 0; i < 25; i++) {
		struct op o = { key, "v", 0 };
		snprintf(key, sizeof key, "item:%02u", (i * 7) % 25);
		apply(&f, 5, 5, "c", 0, (unsigned char)(i + 1), &o, 1);
	}
	{
		const struct op o[] = { { "other:1", "x", 0 }, { "item:zz-expired", "x", 1000 },
					{ "item:zz-future", "x", 2000 } };
		apply(&f, 5, 5, "c", 0, 100, o, 3);
	}
	memset(&q, 0, sizeof q);
	q.org = 5;
	q.vault = 5;
	q.prefix = "item:";
	q.now_s = 1500;
	q.limit = 10;
	/* pages of 10, 10, 6 (25 items and the unexpired one), each resuming
	 * after the last key of the one before */
	for (int page = 0; page < 3; page++) {
		n = list(&f, &q, keys, &more);
		assert_int_equal(n, page < 2 ? 10 : 6);
		assert_int_equal(more, page < 2);
		for (i = 0; i < n; i++) {
			if (seen + i < 25) {
				snprintf(key, sizeof key, "item:%02zu", seen + i);
				assert_string_equal(keys[i], key);
			} else {
				assert_string_equal(keys[i], "item:zz-future");
			}
		}
		seen += n;
		q.after = keys[n - 1];
	}
	/* expired entities only with include_expired */
	q.after = "item:24";
	q.include_expired = 1;
	n = list(&f, &q, keys, &more);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0], "item:zz-expired");
	/* a resume key before the prefix starts at the prefix; the prefix
	 * bounds the listing */
	q.after = "a";
	q.prefix = "item:1";
	q.limit = 64;
	n = list(&f, &q, keys, &more);
	assert_int_equal(n, 10);
	assert_string_equal(keys[0], "item:10");
	assert_int_equal(more, 0);
	/* no prefix: every key of the vault; an unknown vault: nothing */
	q.prefix = NULL;
	q.after = NULL;
	assert_int_equal(list(&f, &q, keys, &more), 28);
	q.vault = 6;
	assert_int_equal(list(&f, &q, keys, &more), 0);
	/* the byte budget ends a page early but never empties it */
	q.vault = 5;
	q.max_bytes = 1;
	assert_int_equal(list(&f, &q, keys, &more), 1);
	assert_int_equal(more, 1);
	ledger_fsm_release(&f);
}

/* A ListEntities page encoded off the Raft loop (issue 17) holds its
 * values by reference: a value stays readable after a Set overwrote it, a
 * restore replaced the state and the state was released; the last unref
 * frees it.  Under ASan a value freed early is a use-after-free here, one
 * never freed a leak. */
static void test_held_values_outlive_overwrite_restore_and_release(void **state)
{
	struct ledger_fsm f, g;
	struct dr_error err = DR_ERROR_INIT;
	const struct op first[] = { { "k", "first value", 0 } };
	const struct op second[] = { { "k", "second value", 0 } };
	unsigned char *held, *held2;
	char *text;
	size_t len = 0;

	(void)state;
	ledger_fsm_init(&f);
	ledger_fsm_init(&g);
	apply(&f, 1, 1, "c", 0, 1, first, 1);
	held = ledger_value_ref(ledger_entities_get(&f.ents, 1, 1, "k")->value);
	apply(&f, 1, 1, "c", 0, 2, second, 1);
	assert_memory_equal(ledger_entities_get(&f.ents, 1, 1, "k")->value, "second value", 12);
	assert_memory_equal(held, "first value", 11);
	held2 = ledger_value_ref(ledger_entities_get(&f.ents, 1, 1, "k")->value);
	text = ledger_fsm_serialize(&g, &len); /* an empty state replaces f's */
	assert_int_equal(ledger_fsm_restore(&f, text, len, &err), 0);
	free(text);
	assert_null(ledger_entities_get(&f.ents, 1, 1, "k"));
	assert_memory_equal(held2, "second value", 12);
	ledger_fsm_release(&f);
	ledger_fsm_release(&g);
	assert_memory_equal(held, "first value", 11);
	ledger_value_unref(held);
	ledger_value_unref(held2);
}

static void test_snapshot_round_trip_and_digest(void **state)
{
	struct ledger_fsm a, b, c;
	struct dr_error err = DR_ERROR_INIT;
	char da[SHA256_HEX_LEN], db[SHA256_HEX_LEN], d0[SHA256_HEX_LEN];
	const struct op o1[] = { { "k:1", "one", 0 }, { "k:2", "two\n\"quoted\"", 42 } };
	const struct op o2[] = { { "k:1", "uno", 0 } };
	char *append = ledger_cmd_append("c", 1, "native", 1, 5), *text;
	uint64_t index;
	size_t len;

	(void)state;
	ledger_fsm_init(&a);
	ledger_fsm_init(&b);
	ledger_fsm_init(&c);
	assert_int_equal(ledger_fsm_apply(&a, &index, append, strlen(append), &err), 0);
	ledger_fsm_digest(&a, d0);
	/* no entity yet: version 1, as before the dialect existed */
	text = ledger_fsm_serialize(&a, &len);
	assert_non_null(strstr(text, "\"version\":1"));
	assert_null(strstr(text, "\"entities\""));
	free(text);
	apply(&a, 9, 1, "c", 0x11, 1, o1, 2);
	apply(&a, 9, 2, "c", 0, 2, o2, 1);
	apply(&a, 9, 1, "c", 0x12, 3, o2, 1);
	ledger_fsm_digest(&a, da);
	assert_string_not_equal(da, d0); /* the digest covers entities */
	text = ledger_fsm_serialize(&a, &len);
	assert_non_null(strstr(text, "\"version\":2"));
	assert_int_equal(ledger_fsm_restore(&b, text, len, &err), 0);
	ledger_fsm_digest(&b, db);
	assert_string_equal(da, db);
	assert_int_equal(b.ents.height, 3);
	assert_int_equal(ledger_entities_get(&b.ents, 9, 1, "k:2")->expires_at, 42);
	assert_memory_equal(ledger_entities_get(&b.ents, 9, 1, "k:2")->value, "two\n\"quoted\"", 12);
	assert_int_equal(ledger_entities_get(&b.ents, 9, 1, "k:1")->version, 3);
	assert_int_equal(ledger_fsm_last_index(&b), 1);
	/* sequences and idempotency records survive: a retry is still known,
	 * the next write of the client gets the next sequence */
	assert_int_equal(apply(&b, 9, 1, "c", 0x11, 4, o1, 2), 1);
	assert_int_equal(result_of(&b, 4)->outcome, LEDGER_WRITE_ALREADY_COMMITTED);
	assert_int_equal(apply(&b, 9, 1, "c", 0x13, 5, o2, 1), 4);
	assert_int_equal(result_of(&b, 5)->sequence, 3);
	/* the same commands in the same order on another replica: same digest */
	apply(&a, 9, 1, "c", 0x11, 4, o1, 2);
	apply(&a, 9, 1, "c", 0x13, 5, o2, 1);
	ledger_fsm_digest(&a, da);
	ledger_fsm_digest(&b, db);
	assert_string_equal(da, db);
	/* one entity's value differs: the digest differs */
	{
		const struct op o3[] = { { "k:9", "x", 0 } }, o4[] = { { "k:9", "y", 0 } };
		assert_int_equal(ledger_fsm_restore(&c, text, len, &err), 0);
		apply(&c, 9, 1, "c", 0, 6, o3, 1);
		ledger_fsm_restore(&b, text, len, &err);
		apply(&b, 9, 1, "c", 0, 6, o4, 1);
		ledger_fsm_digest(&b, db);
		ledger_fsm_digest(&c, da);
		assert_string_not_equal(da, db);
	}
	free(text);
	free(append);
	ledger_fsm_release(&a);
	ledger_fsm_release(&b);
	ledger_fsm_release(&c);
}

static void test_corrupt_entity_state_refused(void **state)
{
	const char *bad[] = {
		/* version 2 without entities, version 1 with them */
		"{\"format\":\"ledgerd-state\",\"version\":2,\"members\":{},\"entries\":[]}",
		"{\"format\":\"ledgerd-state\",\"version\":1,\"members\":{},\"entries\":[],"
		"\"entities\":{\"height\":0,\"vaults\":[],\"sequences\":{},\"idem\":{}}}",
		/* keys out of order */
		"{\"format\":\"ledgerd-state\",\"version\":2,\"members\":{},\"entries\":[],"
		"\"entities\":{\"height\":2,\"vaults\":[{\"org\":\"1\",\"vault\":\"1\",\"entities\":"
		"[[\"b\",\"eA==\",\"0\",1],[\"a\",\"eA==\",\"0\",2]]}],\"sequences\":{},\"idem\":{}}}",
		/* a version above the height */
		"{\"format\":\"ledgerd-state\",\"version\":2,\"members\":{},\"entries\":[],"
		"\"entities\":{\"height\":1,\"vaults\":[{\"org\":\"1\",\"vault\":\"1\",\"entities\":"
		"[[\"a\",\"eA==\",\"0\",2]]}],\"sequences\":{},\"idem\":{}}}",
		/* a value that is not base64 */
		"{\"format\":\"ledgerd-state\",\"version\":2,\"members\":{},\"entries\":[],"
		"\"entities\":{\"height\":1,\"vaults\":[{\"org\":\"1\",\"vault\":\"1\",\"entities\":"
		"[[\"a\",\"!!\",\"0\",1]]}],\"sequences\":{},\"idem\":{}}}",
		/* a malformed idempotency record */
		"{\"format\":\"ledgerd-state\",\"version\":2,\"members\":{},\"entries\":[],"
		"\"entities\":{\"height\":1,\"vaults\":[],\"sequences\":{},\"idem\":{\"x\":[1,2]}}}",
		/* vault 0 */
		"{\"format\":\"ledgerd-state\",\"version\":2,\"members\":{},\"entries\":[],"
		"\"entities\":{\"height\":1,\"vaults\":[{\"org\":\"1\",\"vault\":\"0\",\"entities\":[]}],"
		"\"sequences\":{},\"idem\":{}}}",
	};
	struct ledger_fsm f;
	struct dr_error err = DR_ERROR_INIT;
	const struct op o[] = { { "keep", "me", 0 } };

	(void)state;
	ledger_fsm_init(&f);
	apply(&f, 1, 1, "c", 0, 1, o, 1);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		dr_error_clear(&err);
		if (ledger_fsm_restore(&f, bad[i], strlen(bad[i]), &err) == 0)
			fail_msg("state %zu was accepted", i);
		assert_true(err.msg[0] != '\0');
	}
	/* refused states leave the machine as it was */
	assert_non_null(ledger_entities_get(&f.ents, 1, 1, "keep"));
	assert_int_equal(f.ents.height, 1);
	ledger_fsm_release(&f);
}

static void test_malformed_write_commands(void **state)
{
	const char *bad[] = {
		"{\"op\":\"write\"}",
		"{\"op\":\"write\",\"org\":\"0\",\"vault\":\"1\",\"client_id\":\"\",\"idem\":\"00000000000000000000000000000000\","
		"\"tx_id\":\"00000000000000000000000000000001\",\"ops\":[{\"key\":\"k\",\"value\":\"\",\"expires_at\":\"0\"}]}",
		"{\"op\":\"write\",\"org\":\"1\",\"vault\":\"1\",\"client_id\":\"\",\"idem\":\"00\","
		"\"tx_id\":\"00000000000000000000000000000001\",\"ops\":[{\"key\":\"k\",\"value\":\"\",\"expires_at\":\"0\"}]}",
		"{\"op\":\"write\",\"org\":\"1\",\"vault\":\"1\",\"client_id\":\"\",\"idem\":\"00000000000000000000000000000000\","
		"\"tx_id\":\"00000000000000000000000000000001\",\"ops\":[]}",
		"{\"op\":\"write\",\"org\":\"1\",\"vault\":\"1\",\"client_id\":\"\",\"idem\":\"00000000000000000000000000000000\","
		"\"tx_id\":\"00000000000000000000000000000001\",\"ops\":[{\"key\":\"bad key\",\"value\":\"\",\"expires_at\":\"0\"}]}",
		"{\"op\":\"write\",\"org\":\"1\",\"vault\":\"1\",\"client_id\":\"\",\"idem\":\"00000000000000000000000000000000\","
		"\"tx_id\":\"00000000000000000000000000000001\",\"ops\":[{\"key\":\"k\",\"value\":\"%%\",\"expires_at\":\"0\"}]}",
	};
	struct ledger_fsm f;
	struct dr_error err = DR_ERROR_INIT;
	uint64_t h;

	(void)state;
	ledger_fsm_init(&f);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		dr_error_clear(&err);
		if (ledger_fsm_apply(&f, &h, bad[i], strlen(bad[i]), &err) == 0)
			fail_msg("command %zu was applied", i);
	}
	assert_int_equal(f.ents.height, 0);
	assert_int_equal(f.ents.n_vaults, 0);
	ledger_fsm_release(&f);
}

static void test_entity_keys(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	char long_key[LEDGER_ENTITY_KEY_MAX + 2];

	(void)state;
	assert_int_equal(ledger_entity_key_check("user:1/a_b.c-d", "key", &err), 0);
	assert_int_equal(ledger_entity_key_check("", "key", &err), -1);
	assert_int_equal(ledger_entity_key_check("_meta", "key", &err), -1);
	assert_non_null(strstr(err.msg, "reserved"));
	assert_int_equal(ledger_entity_key_check("a b", "ops[3].key", &err), -1);
	assert_non_null(strstr(err.msg, "ops[3].key"));
	memset(long_key, 'k', sizeof long_key - 1);
	long_key[sizeof long_key - 1] = '\0';
	assert_int_equal(ledger_entity_key_check(long_key, "key", &err), -1);
	long_key[LEDGER_ENTITY_KEY_MAX] = '\0';
	assert_int_equal(ledger_entity_key_check(long_key, "key", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_sequences_versions),
		cmocka_unit_test(test_idempotency_keys),
		cmocka_unit_test(test_listing_paging_expiry),
		cmocka_unit_test(test_snapshot_round_trip_and_digest),
		cmocka_unit_test(test_corrupt_entity_state_refused),
		cmocka_unit_test(test_malformed_write_commands),
		cmocka_unit_test(test_entity_keys),
		cmocka_unit_test(test_held_values_outlive_overwrite_restore_and_release),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
