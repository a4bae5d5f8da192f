/* Size-limited node data directories: one tmpfs per node, so that the
 * disk_full fault (harness/target/local/local_disk.c) fills one node's
 * filesystem and nothing else.
 *
 * A running node's data directory cannot be moved onto a new filesystem
 * (libraft holds its segments open and opens new ones by path), so the
 * mount happens when the cluster is created, before any node starts, and
 * only when asked (cluster up --disk-limit, or a drill with a disk_full
 * step): tmpfs is memory, and a fill of N MiB costs N MiB of RAM while it
 * lasts.  Root only (mount(2)); without root cluster_up refuses the limit
 * with the reason.  cluster_down unmounts, so such a cluster's data is
 * gone after `down` (an ordinary cluster keeps it); `attach` after a dead
 * supervisor finds the mounts in place. */
#include "ledger/cluster/cluster_state.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

static int is_tmpfs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
}

static int unmount_one(const char *path, struct dr_error *err)
{
	/* Only a tmpfs we could have put there: never anything the path's
	 * parent filesystem is (the directory itself is not a mount then). */
	if (!is_tmpfs(path))
		return 0;
	if (umount2(path, 0) != 0 && umount2(path, MNT_DETACH) != 0 && errno != EINVAL)
		return dr_error_errno(err, errno, "cannot unmount the tmpfs on '%s'", path);
	return 0;
}

int cluster_disk_mount_all(const struct cluster_state *st, int mb, struct dr_error *err)
{
	char opts[64];

	if (mb <= 0)
		return 0;
	if (mb > CLUSTER_DISK_LIMIT_MAX_MB)
		return dr_error_set(err, "disk limit %d MiB: at most %d", mb, CLUSTER_DISK_LIMIT_MAX_MB);
	if (geteuid() != 0)
		return dr_error_set(err, "a disk limit needs root: each node's data directory is "
				    "mounted as its own size-limited tmpfs (mount(2)), and without it "
				    "disk_full would fill the host's real disk");
	snprintf(opts, sizeof(opts), "size=%dm,mode=0755", mb);
	for (int i = 0; i < st->nnodes; i++) {
		if (mount("drillrig-disk", st->nodes[i].data, "tmpfs", MS_NOSUID | MS_NODEV,
			  opts) != 0) {
			struct dr_error ignored = DR_ERROR_INIT;

			dr_error_errno(err, errno, "cannot mount a %d MiB tmpfs on '%s'", mb,
				       st->nodes[i].data);
			cluster_disk_unmount_all(st, &ignored);
			return -1;
		}
	}
	return 0;
}

int cluster_disk_unmount_all(const struct cluster_state *st, struct dr_error *err)
{
	int rc = 0;

	for (int i = 0; i < st->nnodes; i++) {
		struct dr_error e = DR_ERROR_INIT;

		if (st->nodes[i].data && unmount_one(st->nodes[i].data, &e) != 0 && rc == 0) {
			*err = e;
			rc = -1;
		}
	}
	return rc;
}
