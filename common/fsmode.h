/* Private files and directories: state that only its owner may read (a
 * drill's pending undos name clusters, nodes and Lease holders).  Same
 * contracts as fsutil.h, with the mode given explicitly instead of
 * 0755/0644 (the umask can only narrow it). */
#ifndef DR_COMMON_FSMODE_H
#define DR_COMMON_FSMODE_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Create dir and any missing parents with mode (e.g. 0700).  Existing
 * directories are left as they are. */
int fs_mkdir_p_mode(const char *path, mode_t mode, struct dr_error *err);
/* fs_write_atomic with the file created as mode (e.g. 0600): temporary
 * name, fsync, rename.  On failure path is untouched and no temporary file
 * is left behind. */
int fs_write_atomic_mode(const char *path, const void *data, size_t len, mode_t mode,
			 struct dr_error *err);

#endif
