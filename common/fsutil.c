#define _XOPEN_SOURCE 700
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"

int fs_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

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
				rc = dr_error_errno(err, errno,
						    "cannot create directory '%s'", copy);
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

int fs_mkdir_p(const char *path, struct dr_error *err)
{
	return fs_mkdir_p_mode(path, 0755, err);
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

static int sync_parent_dir(const char *path, struct dr_error *err)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? (slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path)))
			  : xstrdup(".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	/* EINVAL: a file system that cannot sync a directory (nothing to do). */
	if (fd < 0 || (fsync(fd) != 0 && errno != EINVAL))
		rc = dr_error_errno(err, errno, "cannot sync directory '%s'", dir);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
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
	/* The rename is durable only once the directory is: without this a
	 * crash can bring back the old file (or none) after we said it was
	 * written. */
	if (sync_parent_dir(path, err) != 0)
		goto out;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

int fs_write_atomic(const char *path, const void *data, size_t len,
		    struct dr_error *err)
{
	return fs_write_atomic_mode(path, data, len, 0644, err);
}

static int read_fd(char **out, size_t *len_out, int fd, const char *path, size_t max_len,
		   struct dr_error *err);

int fs_read_file(char **out, size_t *len_out, const char *path,
		 size_t max_len, struct dr_error *err)
{
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dr_error_errno(err, errno, "cannot open '%s'", path);
	return read_fd(out, len_out, fd, path, max_len, err);
}

int fs_read_regular_file(char **out, size_t *len_out, const char *path, size_t max_len,
			 struct dr_error *err)
{
	struct stat st;
	int fd;

	*out = NULL;
	/* O_NONBLOCK: opening a FIFO without a writer must not wait. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return dr_error_errno(err, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) != 0) {
		dr_error_errno(err, errno, "cannot stat '%s'", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return dr_error_set(err, "'%s' is not a regular file", path);
	}
	if ((uintmax_t)st.st_size > (uintmax_t)max_len) {
		close(fd);
		return dr_error_set(err, "cannot read '%s': %jd bytes, larger than %zu", path,
				    (intmax_t)st.st_size, max_len);
	}
	return read_fd(out, len_out, fd, path, max_len, err);
}

/* Read fd to its end and close it. */
static int read_fd(char **out, size_t *len_out, int fd, const char *path, size_t max_len,
		   struct dr_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[65536];

	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			dr_error_errno(err, errno, "cannot read '%s'", path);
			goto fail;
		}
		if (n == 0)
			break;
		if (sb.len + (size_t)n > max_len) {
			dr_error_set(err, "cannot read '%s': larger than %zu bytes",
				     path, max_len);
			goto fail;
		}
		strbuf_add(&sb, chunk, (size_t)n);
	}
	close(fd);
	if (len_out)
		*len_out = sb.len;
	*out = strbuf_detach(&sb);
	return 0;
fail:
	close(fd);
	strbuf_release(&sb);
	return -1;
}

static int remove_entry(const char *fpath, const struct stat *sb, int flag,
			struct FTW *ftwbuf)
{
	(void)sb;
	(void)flag;
	(void)ftwbuf;
	return remove(fpath) != 0 && errno != ENOENT ? -1 : 0;
}

int fs_remove_tree(const char *path, struct dr_error *err)
{
	if (!fs_exists(path))
		return 0;
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
		return dr_error_errno(err, errno, "cannot remove '%s'", path);
	return 0;
}
