/* The ledger client finds a node again as soon as it is back, however long
 * its calls were refused while it was down: a real ledgerd stopped with
 * SIGTERM (it says goodbye with GOAWAY), called while down, restarted on
 * the same address.  Before the client set the resolver's minimum time
 * between resolutions (ledger/client/rpc.c), the channel came back ~4.4 s
 * after the node did, and a drill would have counted that as outage. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "common/clock.h"
#include "ledger/client/client.h"
#include "tests/support/ledger_testnet.h"

#define BACK_WITHIN_NS (1000 * NS_PER_MS)

static int health_ok(struct ledger_client *c)
{
	struct dr_error err = DR_ERROR_INIT;
	enum ledger_code code;
	json_t *r = NULL;
	int ok = ledger_call(c, 0, "grpc.health.v1.Health/Check", NULL, &r, &code, &err) == 0 &&
		 code == LEDGER_OK;

	json_decref(r);
	return ok;
}

static void test_node_found_again_after_refusals(void **state)
{
	static struct testnet t;
	struct ledger_client_opts o = LEDGER_CLIENT_OPTS_INIT;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *addr[1];
	int64_t deadline, back, took = -1;
	int round;

	(void)state;
	assert_int_equal(testnet_start(&t, 3, NULL), 0);
	assert_true(testnet_wait_leader(&t, 10000, -1) >= 0);
	addr[0] = t.addr[1];
	o.admin_timeout_ms = 300;
	assert_int_equal(ledger_client_new(&c, addr, 1, &o, &err), 0);
	assert_true(health_ok(c));
	for (round = 0; round < 2; round++) {
		testnet_kill(&t, 1, SIGTERM);
		/* calls while it is down, as a workload makes them */
		deadline = clock_mono_ns() + 800 * NS_PER_MS;
		while (clock_mono_ns() < deadline) {
			assert_false(health_ok(c));
			clock_sleep_ns(100 * NS_PER_MS);
		}
		assert_int_equal(testnet_start_node(&t, 1), 0);
		back = clock_mono_ns();
		/* Bounded poll: the node itself answers within milliseconds of
		 * its start (measured), the question is when the client sees it. */
		deadline = back + 10 * NS_PER_SEC;
		took = -1;
		while (clock_mono_ns() < deadline) {
			if (health_ok(c)) {
				took = clock_mono_ns() - back;
				break;
			}
			clock_sleep_ns(5 * NS_PER_MS);
		}
		if (took < 0)
			fail_msg("round %d: the client never reached the restarted node within 10 s", round);
		fprintf(stderr, "# round %d: first answer %.0f ms after the restart\n", round,
			(double)took / NS_PER_MS);
		if (took > BACK_WITHIN_NS)
			fail_msg("round %d: the client found the restarted node only %.0f ms after it "
				 "started (want < %lld ms)", round, (double)took / NS_PER_MS,
				 (long long)(BACK_WITHIN_NS / NS_PER_MS));
	}
	ledger_client_free(c);
	testnet_destroy(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_found_again_after_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
