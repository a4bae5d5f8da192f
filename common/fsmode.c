#include "fsmode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"

int fs_mkdir_p_mode(const char *path, mode_t mode, struct dr_error *err)
{
	char *copy = xstrdup(path);
	char *p;
	int rc = 0;

	for (p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (copy[0] && mkdir(copy, mode) != 0 && errno != EEXIST) {
				rc = dr_error_errno(err, errno, "cannot create directory '%s'", copy);
				break;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	free(copy);
	return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int fs_write_atomic_mode(const char *path, const void *data, size_t len, mode_t mode,
			 struct dr_error *err)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = -1;
	int rc = -1;

	unlink(tmp); /* a leftover of a killed writer with our pid would keep its mode */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		dr_error_errno(err, errno, "cannot create '%s'", tmp);
		goto out;
	}
	if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		dr_error_errno(err, errno, "cannot write '%s'", tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		dr_error_errno(err, errno, "cannot write '%s'", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		dr_error_errno(err, errno, "cannot rename '%s' to '%s'", tmp, path);
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}
