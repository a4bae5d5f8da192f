/* Snapshot files: write/read round trip, checksum of the whole file, and
 * every kind of corruption refused with a clear message; a path that names
 * a FIFO, a device or an oversized file is refused at once, before a byte
 * is read (issue 17: RestoreFromSnapshot of a FIFO blocked the node's Raft
 * loop, /dev/zero made it allocate 2 GiB). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/sha256.h"
#include "common/strbuf.h"
#include "ledger/daemon/snapfile.h"

static char dir[] = "/tmp/ledgerd-snap-XXXXXX";

static void test_sha256_known_vectors(void **state)
{
	char hex[SHA256_HEX_LEN];

	(void)state;
	sha256_hex(hex, "", 0);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_hex(hex, "abc", 3);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex(hex, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_round_trip(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_snapinfo w, r;
	char *path = xasprintf("%s/a.ledgersnap", dir), *body = NULL, *file = NULL;
	const char *state_text = "{\"format\":\"ledgerd-state\"}";
	char hex[SHA256_HEX_LEN];
	size_t len = 0, flen = 0;

	(void)state;
	assert_int_equal(ledgerd_snapfile_write(&w, path, state_text, strlen(state_text), 42, 3, &err), 0);
	assert_int_equal(ledgerd_snapfile_read(&body, &len, &r, path, &err), 0);
	assert_string_equal(body, state_text);
	assert_int_equal(r.index, 42);
	assert_int_equal(r.term, 3);
	assert_int_equal(r.size, w.size);
	assert_string_equal(r.sha256, w.sha256);
	/* The answered checksum is what sha256sum prints for the file. */
	assert_int_equal(fs_read_file(&file, &flen, path, 1 << 20, &err), 0);
	assert_int_equal(flen, w.size);
	sha256_hex(hex, file, flen);
	assert_string_equal(hex, w.sha256);
	free(file);
	free(body);
	free(path);
}

static void expect_refused(const char *content, size_t len, const char *fragment)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_snapinfo r;
	char *path = xasprintf("%s/bad.ledgersnap", dir), *body = NULL;
	size_t blen = 0;

	assert_int_equal(fs_write_atomic(path, content, len, &err), 0);
	assert_int_equal(ledgerd_snapfile_read(&body, &blen, &r, path, &err), -1);
	assert_null(body);
	if (!strstr(err.msg, fragment))
		fail_msg("error '%s' should mention '%s'", err.msg, fragment);
	/* the streaming check (RestoreFromSnapshot) refuses it the same way */
	assert_int_equal(ledgerd_snapfile_check(&r, path, NULL, NULL, &err), -1);
	if (!strstr(err.msg, fragment))
		fail_msg("check: error '%s' should mention '%s'", err.msg, fragment);
	free(path);
}

static void test_corruption_refused(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_snapinfo w;
	char *path = xasprintf("%s/good.ledgersnap", dir), *file = NULL;
	size_t flen = 0;

	(void)state;
	assert_int_equal(ledgerd_snapfile_write(&w, path, "{\"entries\":[1,2,3]}", 19, 3, 1, &err), 0);
	assert_int_equal(fs_read_file(&file, &flen, path, 1 << 20, &err), 0);
	file[flen - 3] ^= 1; /* one flipped bit in the body */
	expect_refused(file, flen, "sha256 mismatch");
	file[flen - 3] ^= 1;
	expect_refused(file, flen - 1, "corrupt"); /* truncated */
	expect_refused("hello\n", 6, "not a ledgerd snapshot");
	expect_refused("LEDGERD-SNAPSHOT 1 index=x term=1 bytes=0 sha256=00\n", 52, "malformed header");
	{
		struct ledgerd_snapinfo r;
		char *body = NULL;
		size_t blen;
		char *missing = xasprintf("%s/missing", dir);
		assert_int_equal(ledgerd_snapfile_read(&body, &blen, &r, missing, &err), -1);
		assert_non_null(strstr(err.msg, "missing"));
		free(missing);
	}
	free(file);
	free(path);
}

static void expect_path_refused(const char *path, const char *why)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_snapinfo r;
	char *body = NULL;
	size_t blen = 0;

	assert_int_equal(ledgerd_snapfile_read(&body, &blen, &r, path, &err), -1);
	assert_null(body);
	if (!strstr(err.msg, why))
		fail_msg("'%s' refused as '%s', wanted '%s'", path, err.msg, why);
	assert_int_equal(ledgerd_snapfile_check(&r, path, NULL, NULL, &err), -1);
	if (!strstr(err.msg, why))
		fail_msg("check: '%s' refused as '%s', wanted '%s'", path, err.msg, why);
}

static int stop_now(void *arg)
{
	(void)arg;
	return 1;
}

/* The streaming check of RestoreFromSnapshot (off the Raft loop, issue 17)
 * answers what the reader answers, across its 1 MiB chunks: the same index,
 * term, size and checksum of a valid file, a flipped bit in the last chunk
 * refused; and it stops when asked. */
static void test_streaming_check_agrees_with_the_reader(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_snapinfo w, r, k;
	size_t blen = (3u << 20) + 17, flen = 0, got = 0;
	char *text = xmalloc(blen), *path = xasprintf("%s/chunks.ledgersnap", dir);
	char *body = NULL, *file = NULL;

	(void)state;
	for (size_t i = 0; i < blen; i++)
		text[i] = (char)('a' + i % 26);
	assert_int_equal(ledgerd_snapfile_write(&w, path, text, blen, 7, 2, &err), 0);
	assert_int_equal(ledgerd_snapfile_read(&body, &got, &r, path, &err), 0);
	assert_int_equal(ledgerd_snapfile_check(&k, path, NULL, NULL, &err), 0);
	assert_int_equal(k.index, 7);
	assert_int_equal(k.term, 2);
	assert_int_equal(k.size, r.size);
	assert_string_equal(k.sha256, r.sha256);
	assert_string_equal(k.sha256, w.sha256);
	assert_int_equal(ledgerd_snapfile_check(&k, path, stop_now, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "stopped"));
	assert_int_equal(fs_read_file(&file, &flen, path, 8u << 20, &err), 0);
	file[flen - 2] ^= 1;
	assert_int_equal(fs_write_atomic(path, file, flen, &err), 0);
	assert_int_equal(ledgerd_snapfile_check(&k, path, NULL, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "sha256 mismatch"));
	free(file);
	free(body);
	free(text);
	free(path);
}

static void test_only_regular_files_of_bounded_size(void **state)
{
	char *fifo = xasprintf("%s/fifo", dir), *big = xasprintf("%s/big.ledgersnap", dir);
	FILE *f;

	(void)state;
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* Without a writer, a blocking open of the FIFO would never return:
	 * the alarm ends the test instead of hanging the suite. */
	alarm(10);
	expect_path_refused(fifo, "not a regular file");
	alarm(0);
	expect_path_refused("/dev/zero", "not a regular file");
	expect_path_refused(dir, "not a regular file");
	/* 4 GiB, sparse: refused by its size, nothing allocated. */
	f = fopen(big, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), (off_t)4 << 30), 0);
	fclose(f);
	expect_path_refused(big, "larger than");
	free(fifo);
	free(big);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	return fs_remove_tree(dir, &err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_known_vectors),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_corruption_refused),
		cmocka_unit_test(test_only_regular_files_of_bounded_size),
		cmocka_unit_test(test_streaming_check_agrees_with_the_reader),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
