/* Private: directory copies for the supervisor. */
#ifndef DR_LEDGER_CLUSTER_CLUSTER_FS_H
#define DR_LEDGER_CLUSTER_CLUSTER_FS_H

#include "common/error.h"

/* Copy the regular files and directories under src into dst (created;
 * existing files are overwritten).  Files are fsync'd.  On failure dst may
 * hold a partial copy: callers remove it. */
int cluster_copy_tree(const char *src, const char *dst, struct dr_error *err);

#endif
