/* Copying a node's data directory (unsafe promotion hands the chosen
 * survivor's state to the other survivors). */
#define _XOPEN_SOURCE 700
#include "ledger/cluster/cluster_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"

static int copy_file(const char *src, const char *dst, mode_t mode,
		     struct dr_error *err)
{
	char buf[65536];
	int in = -1, out = -1, rc = -1;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		dr_error_errno(err, errno, "cannot open '%s'", src);
		goto out;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode & 0777);
	if (out < 0) {
		dr_error_errno(err, errno, "cannot create '%s'", dst);
		goto out;
	}
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			dr_error_errno(err, errno, "cannot read '%s'", src);
			goto out;
		}
		if (n == 0)
			break;
		while (off < n) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				dr_error_errno(err, errno, "cannot write '%s'", dst);
				goto out;
			}
			off += w;
		}
	}
	if (fsync(out) != 0) {
		dr_error_errno(err, errno, "cannot write '%s'", dst);
		goto out;
	}
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) != 0 && rc == 0)
		rc = dr_error_errno(err, errno, "cannot write '%s'", dst);
	return rc;
}

int cluster_copy_tree(const char *src, const char *dst, struct dr_error *err)
{
	DIR *d = NULL;
	struct dirent *e;
	int rc = -1;

	if (mkdir(dst, 0755) != 0 && errno != EEXIST)
		return dr_error_errno(err, errno, "cannot create directory '%s'", dst);
	d = opendir(src);
	if (!d)
		return dr_error_errno(err, errno, "cannot open directory '%s'", src);
	while ((e = readdir(d)) != NULL) {
		char *s, *t;
		struct stat st;
		int r = 0;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		s = xasprintf("%s/%s", src, e->d_name);
		t = xasprintf("%s/%s", dst, e->d_name);
		if (lstat(s, &st) != 0)
			r = dr_error_errno(err, errno, "cannot stat '%s'", s);
		else if (S_ISDIR(st.st_mode))
			r = cluster_copy_tree(s, t, err);
		else if (S_ISREG(st.st_mode))
			r = copy_file(s, t, st.st_mode, err);
		/* sockets, links and the like have no place in a data dir */
		free(s);
		free(t);
		if (r != 0)
			goto out;
	}
	rc = 0;
out:
	closedir(d);
	return rc;
}
