/* ledger.v1 AdminService/CreateBackup and RestoreBackup.  The state is
 * captured on the loop; every file is read, hashed and written off it
 * (ledgerd_call_build: issue 17, file work on the loop stalled heartbeats).
 *
 * A backup is this node's whole applied state (every organization's
 * entities and the native ledger) in a snapshot file, with a manifest:
 *   DATA/backups/backup-<id>.ledgersnap      (ledger/daemon/snapfile.h)
 *   DATA/backups/backup-<id>.manifest.json   (id, tag, heights, sha256)
 * RestoreBackup stages a verified copy for an offline restore, as the
 * public ledger does, and never touches the live state:
 *   DATA/.restore-staging/<id>/snapshot.ledgersnap and manifest.json
 * (a new cluster starts from it with --seed-snapshot). */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "ledger/daemon/log.h"
#include "ledger/daemon/node.h"
#include "ledger/daemon/snapfile.h"
#include "ledger/daemon/svc.h"
#include "ledger/daemon/svc_v1.h"

#define MAX_ARCHIVE ((size_t)2 << 30)

static char *backups_dir(struct ledgerd_node *n)
{
	return xasprintf("%s/backups", n->cfg.data);
}

static int write_manifest(const char *path, json_t *manifest, struct dr_error *err)
{
	char *text = json_dumps(manifest, JSON_INDENT(2) | JSON_SORT_KEYS);
	int rc = fs_write_atomic(path, text, strlen(text), err);

	free(text);
	return rc;
}

/* What CreateBackup captured on the loop. */
struct backup_job {
	struct ledgerd_snapjob *snap;   /* path: the archive */
	char *dir, *id;
	uint64_t org;
	int64_t now_us;
};

static void backup_job_free(void *arg)
{
	struct backup_job *j = arg;

	ledgerd_snapjob_free(j->snap);
	free(j->dir);
	free(j->id);
	free(j);
}

/* Helper thread: the archive, then its manifest. */
static void backup_build(struct ledgerd_call *c, void *arg)
{
	struct backup_job *j = arg;
	struct dr_error err = DR_ERROR_INIT;
	struct ledgerd_snapinfo info;
	const char *tag = json_string_value(json_object_get(c->req, "tag"));
	char *mpath = NULL;
	json_t *manifest;

	if (fs_mkdir_p(j->dir, &err) != 0) {
		ledgerd_built_error(c, LEDGER_UNAVAILABLE, "cannot create the backups directory: %s",
				    err.msg);
		goto out;
	}
	if (ledgerd_snapshot_write(j->snap, &info, &err) != 0) {
		ledgerd_built_error(c, LEDGER_UNAVAILABLE, "cannot write backup '%s': %s", j->id,
				    err.msg);
		goto out;
	}
	manifest = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:I, s:s}", "backup_id", j->id,
			     "tag", tag ? tag : "", "organization", json_sprintf("%" PRIu64, j->org),
			     "block_height", (json_int_t)j->snap->height, "ledger_index",
			     (json_int_t)info.index, "created_unix_ms", (json_int_t)(j->now_us / 1000),
			     "archive", strrchr(j->snap->path, '/') + 1, "size_bytes",
			     (json_int_t)info.size, "sha256", info.sha256);
	mpath = xasprintf("%s/backup-%s.manifest.json", j->dir, j->id);
	if (write_manifest(mpath, manifest, &err) != 0) {
		json_decref(manifest);
		ledgerd_built_error(c, LEDGER_UNAVAILABLE,
				    "cannot write the manifest of backup '%s': %s", j->id, err.msg);
		goto out;
	}
	json_decref(manifest);
	ledgerd_log("backup written: %s (block height %" PRIu64 ", %zu bytes, sha256 %s)",
		    j->snap->path, j->snap->height, info.size, info.sha256);
	ledgerd_built_ok(c, json_pack("{s:s, s:s, s:I}", "backup_id", j->id, "backup_path",
				      j->snap->path, "size_bytes", (json_int_t)info.size));
out:
	free(mpath);
	backup_job_free(j);
}

void ledgerd_run_v1_backup(struct ledgerd_node *n, struct ledgerd_call *c)
{
	/* Loop only: ids stay unique while earlier backups are still being
	 * written off the loop (their files do not exist yet). */
	static int64_t last_us;
	struct backup_job *j;
	char *archive = NULL;

	if (ledgerd_snapshot_busy()) {
		ledgerd_call_error(n, c, LEDGER_UNAVAILABLE, LEDGERD_SNAPSHOT_BUSY_MSG,
				   LEDGERD_SNAPSHOTS_IN_FLIGHT);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->dir = backups_dir(n);
	v1_slug(&j->org, c->req, "organization");
	j->now_us = clock_wall_ns() / 1000;
	/* <block height>-<Unix microseconds>, unique in the directory */
	do {
		if (j->now_us <= last_us)
			j->now_us = last_us + 1;
		last_us = j->now_us;
		free(j->id);
		free(archive);
		j->id = xasprintf("%" PRIu64 "-%" PRId64, n->ledger.ents.height, j->now_us);
		archive = xasprintf("%s/backup-%s.ledgersnap", j->dir, j->id);
	} while (fs_exists(archive));
	j->snap = ledgerd_snapshot_capture(n, archive);
	ledgerd_call_build(n, c, backup_build, j, backup_job_free);
}

/* Read and verify backup id: its file checksum, the manifest's sha256 when
 * there is a manifest, and its state as a ledger state.  0 with *data (the
 * archive's bytes) and *manifest (new reference); else -1 with *code. */
static int verify(char **data, size_t *len, json_t **manifest, enum ledger_code *code,
		  struct ledgerd_node *n, const char *id, struct dr_error *err)
{
	char *dir = backups_dir(n);
	char *archive = xasprintf("%s/backup-%s.ledgersnap", dir, id);
	char *mpath = xasprintf("%s/backup-%s.manifest.json", dir, id);
	struct ledgerd_snapinfo info;
	struct ledger_fsm check;
	char *body = NULL;
	size_t body_len = 0;
	int rc = -1;

	*data = NULL;
	*manifest = NULL;
	*code = LEDGER_FAILED_PRECONDITION;
	ledger_fsm_init(&check);
	if (!fs_exists(archive)) {
		*code = LEDGER_NOT_FOUND;
		dr_error_set(err, "backup '%s' not found (no %s)", id, archive);
		goto out;
	}
	if (ledgerd_snapfile_read(&body, &body_len, &info, archive, err) != 0 ||
	    ledger_fsm_restore(&check, body, body_len, err) != 0) {
		dr_error_wrap(err, "backup '%s' does not verify", id);
		goto out;
	}
	if (fs_exists(mpath)) {
		json_error_t jerr;
		const char *sum;

		*manifest = json_load_file(mpath, JSON_REJECT_DUPLICATES, &jerr);
		sum = json_string_value(json_object_get(*manifest, "sha256"));
		if (!sum || strcmp(sum, info.sha256) != 0) {
			dr_error_set(err, "backup '%s' does not verify: its manifest %s", id,
				     sum ? "names another sha256" : "is unreadable");
			goto out;
		}
	} else {
		*manifest = json_pack("{s:s, s:s}", "backup_id", id, "sha256", info.sha256);
	}
	if (fs_read_file(data, len, archive, MAX_ARCHIVE, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		json_decref(*manifest);
		*manifest = NULL;
	}
	ledger_fsm_release(&check);
	free(body);
	free(dir);
	free(archive);
	free(mpath);
	return rc;
}

/* Two restores run on two helpers at once (the loop used to serialize
 * them): one's remove-and-write of the staging directory must not
 * interleave with the other's, or an answer "staged" would name files the
 * other call removed or replaced.  Held for the staging alone. */
static pthread_mutex_t staging_lock = PTHREAD_MUTEX_INITIALIZER;

/* Helper thread: reads, parses and writes files only (the backups
 * directory comes from the node's immutable config). */
static void v1_restore_build(struct ledgerd_call *c, void *arg)
{
	struct ledgerd_node *n = c->node;
	const char *id = json_string_value(json_object_get(c->req, "backup_id"));
	struct dr_error err = DR_ERROR_INIT;
	enum ledger_code code;
	json_t *manifest = NULL;
	char *data = NULL, *staging = xasprintf("%s/.restore-staging/%s", n->cfg.data, id);
	char *snap = xasprintf("%s/snapshot.ledgersnap", staging);
	char *mpath = xasprintf("%s/manifest.json", staging);
	size_t len = 0;

	(void)arg;
	if (verify(&data, &len, &manifest, &code, n, id, &err) != 0) {
		ledgerd_built_error(c, code, "%s", err.msg);
		goto out;
	}
	pthread_mutex_lock(&staging_lock);
	if (fs_remove_tree(staging, &err) != 0 || fs_mkdir_p(staging, &err) != 0 ||
	    fs_write_atomic(snap, data, len, &err) != 0 || write_manifest(mpath, manifest, &err) != 0) {
		pthread_mutex_unlock(&staging_lock);
		ledgerd_built_error(c, LEDGER_UNAVAILABLE, "cannot stage backup '%s': %s", id, err.msg);
		goto out;
	}
	pthread_mutex_unlock(&staging_lock);
	ledgerd_log("backup '%s' staged for an offline restore in %s", id, staging);
	ledgerd_built_ok(c, json_pack("{s:s}", "staging_dir", staging));
out:
	json_decref(manifest);
	free(data);
	free(staging);
	free(snap);
	free(mpath);
}

static void nothing_to_release(void *arg)
{
	(void)arg;
}

void ledgerd_run_v1_restore(struct ledgerd_node *n, struct ledgerd_call *c)
{
	ledgerd_call_build(n, c, v1_restore_build, NULL, nothing_to_release);
}
