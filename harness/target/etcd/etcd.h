/* The etcd target: a local etcd cluster from Debian's etcd-server, started
 * fresh from the plan's topology (each region's size becomes that many
 * members) and timing (--heartbeat-interval, --election-timeout), on a
 * random loopback network 127.A.B.x with free ports and data under
 * /dev/shm; or, with --target-config FILE, an existing cluster attached by
 * its client URLs (docs/etcd.md).
 *
 * The members are children of drillrig, supervised in-process
 * (harness/target/etcd/etcd_members.h): a killed member is restarted like a pod.
 * Writes go through etcd's v3 JSON gateway (harness/target/etcd/etcd_http.h), status
 * comes from /v3/maintenance/status of every member (harness/target/etcd/etcd_status.h). */
#ifndef DR_HARNESS_TARGET_ETCD_ETCD_H
#define DR_HARNESS_TARGET_ETCD_ETCD_H

#include "common/error.h"
#include "harness/core/target.h"

struct plan;

struct target_etcd_opts {
	const char *config_path;  /* attach: {"members":[{"address","region","role"}]} */
	const char *root_dir;     /* where the fresh cluster's directory goes; NULL:
				   * $DRILLRIG_CLUSTER_ROOT, /dev/shm, $TMPDIR, /tmp */
	const char *etcd_bin;     /* NULL: $DRILLRIG_ETCD_BIN, else "etcd" from PATH */
	int keep;                 /* leave the started members running at the end */
};

#define TARGET_ETCD_OPTS_INIT { NULL, NULL, NULL, 0 }

/* The kind the registry lists (its create attaches with --target-config). */
extern const struct target_kind target_kind_etcd;

/* An etcd target with options beyond struct target_opts (root_dir, etcd_bin). */
int target_etcd_new(struct target **out, const struct plan *plan,
		    const struct target_etcd_opts *opts, struct dr_error *err);

#endif
