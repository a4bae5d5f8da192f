/* When ledgerd's accept loop hands a connection to gRPC
 * (ledger/daemon/grpc_accept.h): only once the whole client preface and
 * one whole SETTINGS frame have arrived, or at once when the bytes are no
 * HTTP/2 preface.  A check that handed over early would let a half-open
 * connection escape the header timeout; one that waited for more would
 * close real clients after it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "ledger/daemon/grpc_accept.h"

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

/* The preface, then a frame header of type and length, then len bytes. */
static size_t build(unsigned char *b, unsigned type, size_t len)
{
	size_t n = strlen(PREFACE);

	memcpy(b, PREFACE, n);
	b[n++] = (unsigned char)(len >> 16);
	b[n++] = (unsigned char)(len >> 8);
	b[n++] = (unsigned char)len;
	b[n++] = (unsigned char)type;
	memset(b + n, 0, 5); /* flags, stream 0 */
	n += 5;
	memset(b + n, 0, len);
	return n + len;
}

static void test_every_prefix_waits(void **state)
{
	static unsigned char b[64 + 16384];
	size_t n = build(b, 4, 18); /* three settings, as gRPC clients send */

	(void)state;
	for (size_t i = 0; i < n; i++)
		assert_int_equal(grpc_accept_preface_check(b, i), GRPC_ACCEPT_MORE);
	assert_int_equal(grpc_accept_preface_check(b, n), GRPC_ACCEPT_COMPLETE);
	/* what follows (WINDOW_UPDATE, HEADERS) changes nothing */
	assert_int_equal(grpc_accept_preface_check(b, n + 20), GRPC_ACCEPT_COMPLETE);
}

static void test_empty_settings_complete(void **state)
{
	unsigned char b[64];
	size_t n = build(b, 4, 0);

	(void)state;
	assert_int_equal(grpc_accept_preface_check(b, n - 1), GRPC_ACCEPT_MORE);
	assert_int_equal(grpc_accept_preface_check(b, n), GRPC_ACCEPT_COMPLETE);
}

static void test_not_http2_goes_to_grpc_at_once(void **state)
{
	static unsigned char b[64 + 20000];
	const char *http1 = "GET / HTTP/1.1\r\n";
	size_t n;

	(void)state;
	assert_int_equal(grpc_accept_preface_check((const unsigned char *)http1, 1),
			 GRPC_ACCEPT_NOT_H2);
	assert_int_equal(grpc_accept_preface_check((const unsigned char *)"PRX", 3),
			 GRPC_ACCEPT_NOT_H2);
	/* a first frame that is no SETTINGS, or larger than a first frame may be */
	n = build(b, 1, 10);
	assert_int_equal(grpc_accept_preface_check(b, n - 10), GRPC_ACCEPT_NOT_H2);
	n = build(b, 4, 16385);
	assert_int_equal(grpc_accept_preface_check(b, n - 16385), GRPC_ACCEPT_NOT_H2);
	n = build(b, 4, 16384);
	assert_int_equal(grpc_accept_preface_check(b, n - 1), GRPC_ACCEPT_MORE);
	assert_int_equal(grpc_accept_preface_check(b, n), GRPC_ACCEPT_COMPLETE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_prefix_waits),
		cmocka_unit_test(test_empty_settings_complete),
		cmocka_unit_test(test_not_http2_goes_to_grpc_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
