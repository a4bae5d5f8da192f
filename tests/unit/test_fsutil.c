/* common/fsutil: fs_write_atomic leaves the whole new file or the old one,
 * never a temporary, and makes the rename durable by syncing the directory
 * after it (issue 17: it never did, so a crash could bring the old file
 * back after a write was reported done); fs_read_regular_file refuses what
 * is not a regular file.
 *
 * fsync is interposed here (a test double of the system call, defined in
 * this program so fsutil.c's calls reach it first): it records which
 * inodes were synced, then syncs for real. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/fsutil.h"
#include "common/strbuf.h"

static char dir[] = "/tmp/drillrig-fsutil-XXXXXX";

#define SYNCED_MAX 64
static struct {
	ino_t ino;
	int is_dir;
} synced[SYNCED_MAX];
static int nsynced;

int fsync(int fd)
{
	struct stat st;

	if (nsynced < SYNCED_MAX && fstat(fd, &st) == 0) {
		synced[nsynced].ino = st.st_ino;
		synced[nsynced].is_dir = S_ISDIR(st.st_mode);
		nsynced++;
	}
	return (int)syscall(SYS_fsync, fd);
}

static ino_t inode_of(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_ino;
}

static void test_atomic_write_syncs_file_then_directory(void **state)
{
	char *path = xasprintf("%s/state.json", dir), *text = NULL;
	size_t len = 0;
	int file_at = -1, dir_at = -1;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	assert_int_equal(fs_write_atomic(path, "old", 3, &err), 0);
	nsynced = 0;
	assert_int_equal(fs_write_atomic(path, "new contents", 12, &err), 0);
	for (int i = 0; i < nsynced; i++) {
		if (!synced[i].is_dir && synced[i].ino == inode_of(path))
			file_at = i;
		if (synced[i].is_dir && synced[i].ino == inode_of(dir))
			dir_at = i;
	}
	if (file_at < 0)
		fail_msg("the new file's data was not synced before the rename");
	if (dir_at < 0)
		fail_msg("the directory was not synced after the rename (%d fsyncs seen)", nsynced);
	assert_true(file_at < dir_at);
	assert_int_equal(fs_read_file(&text, &len, path, 1024, &err), 0);
	assert_string_equal(text, "new contents");
	free(text);
	free(path);
}

static void test_no_temporary_left_behind(void **state)
{
	char *path = xasprintf("%s/sub/missing-dir/file", dir), *tmp;
	struct dr_error err = DR_ERROR_INIT;

	(void)state;
	assert_int_equal(fs_write_atomic(path, "x", 1, &err), -1);
	assert_non_null(strstr(err.msg, "cannot create"));
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	assert_false(fs_exists(tmp));
	free(tmp);
	free(path);
}

static void test_read_regular_file_refuses_others(void **state)
{
	struct dr_error err = DR_ERROR_INIT;
	char *text = NULL, *path = xasprintf("%s/ten", dir);
	size_t len;

	(void)state;
	assert_int_equal(fs_read_regular_file(&text, &len, "/dev/null", 10, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_null(text);
	assert_int_equal(fs_write_atomic(path, "0123456789", 10, &err), 0);
	assert_int_equal(fs_read_regular_file(&text, &len, path, 9, &err), -1);
	assert_non_null(strstr(err.msg, "larger than 9"));
	assert_int_equal(fs_read_regular_file(&text, &len, path, 10, &err), 0);
	assert_int_equal(len, 10);
	free(text);
	free(path);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return fs_remove_tree(dir, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write_syncs_file_then_directory),
		cmocka_unit_test(test_no_temporary_left_behind),
		cmocka_unit_test(test_read_regular_file_refuses_others),
	};

	return cmocka_run_group_tests_name("fsutil", tests, setup, teardown);
}
