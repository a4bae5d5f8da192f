/* Filesystem helpers.  Files that must never be seen half-written (reports,
 * journals, state, snapshots) go through fs_write_atomic: written to a
 * temporary name in the same directory, fsync'd, then renamed into place. */
#ifndef DR_COMMON_FSUTIL_H
#define DR_COMMON_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* Create dir and its parents (mode 0755).  Existing directories are fine. */
int fs_mkdir_p(const char *path, struct dr_error *err);
/* The same with an explicit mode (0700 for private state; the umask can
 * only narrow it).  Existing directories are left as they are. */
int fs_mkdir_p_mode(const char *path, mode_t mode, struct dr_error *err);
/* Write data to path atomically (file mode 0644).  On failure path is
 * untouched and no temporary file is left behind. */
int fs_write_atomic(const char *path, const void *data, size_t len,
		    struct dr_error *err);
/* The same with the file created as mode (0600 for state that names
 * clusters, nodes and Lease holders). */
int fs_write_atomic_mode(const char *path, const void *data, size_t len, mode_t mode,
			 struct dr_error *err);
/* Read a whole file into a NUL-terminated heap buffer (free()).  *len_out
 * may be NULL.  Refuses files over max_len bytes. */
int fs_read_file(char **out, size_t *len_out, const char *path,
		 size_t max_len, struct dr_error *err);
/* fs_read_file for a path someone else named: only a regular file (a FIFO,
 * a device such as /dev/zero or a directory is refused without blocking),
 * refused by its size before any byte is read. */
int fs_read_regular_file(char **out, size_t *len_out, const char *path, size_t max_len,
			 struct dr_error *err);
/* Remove a directory tree (like rm -rf, without a shell).  A missing path
 * is success. */
int fs_remove_tree(const char *path, struct dr_error *err);
int fs_exists(const char *path);

#endif
