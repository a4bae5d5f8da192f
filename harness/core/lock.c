#include "harness/core/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/numparse.h"
#include "common/strbuf.h"

pid_t drill_lock_holder(const char *path)
{
	char buf[32] = { 0 };
	int64_t pid = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[strcspn(buf, "\n")] = '\0';
	if (parse_int64(&pid, buf, 1, INT32_MAX))
		return 0;
	return (pid_t)pid;
}

int drill_lock_acquire(struct drill_lock *lock, const char *path, struct dr_error *err)
{
	char pidline[32];
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return dr_error_errno(err, errno, "cannot open lock file '%s'", path);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		pid_t holder = drill_lock_holder(path);

		close(fd);
		if (e == EWOULDBLOCK) {
			if (holder)
				return dr_error_set(err, "another drill (pid %ld) holds the lock '%s'; wait for it to finish",
						    (long)holder, path);
			return dr_error_set(err, "another drill holds the lock '%s'", path);
		}
		return dr_error_errno(err, e, "cannot lock '%s'", path);
	}
	snprintf(pidline, sizeof(pidline), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pidline, strlen(pidline), 0) < 0) {
		close(fd);
		return dr_error_errno(err, errno, "cannot write lock file '%s'", path);
	}
	lock->fd = fd;
	lock->path = xstrdup(path);
	return 0;
}

void drill_lock_release(struct drill_lock *lock)
{
	if (lock->fd >= 0) {
		/* Truncate first so nobody reads our pid after we let go. */
		if (ftruncate(lock->fd, 0) != 0) {
			/* nothing to do: the lock itself is released below */
		}
		flock(lock->fd, LOCK_UN);
		close(lock->fd);
	}
	free(lock->path);
	lock->fd = -1;
	lock->path = NULL;
}
