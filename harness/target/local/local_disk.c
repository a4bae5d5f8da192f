/* disk_full / disk_free on the local target: fill one node's data
 * directory until the kernel says ENOSPC, and free it again.
 *
 * Only a data directory that is its own size-limited tmpfs is ever filled
 * (cluster up --disk-limit, ledger/cluster/cluster_disk.c; a drill with a
 * disk_full step starts its cluster that way when it runs as root): a fill
 * anywhere else would fill the host's real disk, so it is refused with the
 * reason.  The fill is one file per node, DATA/FILL_NAME, allocated with
 * posix_fallocate (tmpfs reserves the pages, nothing is written), and
 * disk_free removes it on every node that has one: the undo needs no
 * memory of which node the fault picked, so `drillrig recover` runs it
 * from the state file alone. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/target/local/local_impl.h"

#define FILL_NAME "drillrig-disk-full.fill"
#define FILL_CHUNK ((off_t)1 << 20)
#define FILL_MIN_CHUNK ((off_t)4096)

int local_disk_limit_mb(const struct plan *plan)
{
	if (!plan || geteuid() != 0)
		return 0;
	for (size_t i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].action && strcmp(plan->steps[i].action, "disk_full") == 0)
			return LOCAL_DISK_LIMIT_MB;
	return 0;
}

/* 0 when path is a tmpfs mounted on itself (not merely a folder of a
 * tmpfs such as /dev/shm, whose space the whole machine shares). */
static int check_own_tmpfs(const char *path, struct dr_error *err)
{
	struct statfs sf;
	struct stat self, parent;
	char *up = xasprintf("%s/..", path);
	int rc = 0;

	if (statfs(path, &sf) != 0 || stat(path, &self) != 0 || stat(up, &parent) != 0)
		rc = dr_error_errno(err, errno, "cannot inspect '%s'", path);
	else if (sf.f_type != TMPFS_MAGIC || self.st_dev == parent.st_dev)
		rc = dr_error_set(err, "'%s' is not its own size-limited tmpfs", path);
	free(up);
	return rc;
}

/* Allocate until ENOSPC, halving the chunk down to a page. */
static int fill(const char *path, off_t *filled, struct dr_error *err)
{
	off_t off = 0, chunk = FILL_CHUNK;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600), rc = 0;

	if (fd < 0)
		return dr_error_errno(err, errno, "cannot create '%s'", path);
	{
		struct stat st;

		if (fstat(fd, &st) == 0)
			off = st.st_size; /* a second fill tops up the first */
	}
	while (chunk >= FILL_MIN_CHUNK) {
		int e = posix_fallocate(fd, off, chunk);

		if (e == 0) {
			off += chunk;
		} else if (e == ENOSPC) {
			chunk /= 2;
		} else {
			rc = dr_error_errno(err, e, "cannot allocate in '%s'", path);
			break;
		}
	}
	close(fd);
	*filled = off;
	return rc;
}

static json_t *node_by_id(json_t *info, int64_t id)
{
	json_t *node;
	size_t i;

	json_array_foreach(json_object_get(info, "nodes"), i, node)
		if (json_integer_value(json_object_get(node, "id")) == id)
			return node;
	return NULL;
}

void local_disk_full(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	json_t *info = NULL, *filled = json_array();
	int64_t ids[NODE_SELECT_MAX];
	size_t n;
	char list[256];

	(void)ctx;
	if (node_select_ids(ids, NODE_SELECT_MAX, &n, t, args, NULL, "node", NULL, res) != 0)
		goto out;
	if (cluster_load(&info, lt->dir, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
		goto out;
	}
	/* Every node is checked before any is filled: all or nothing. */
	for (size_t i = 0; i < n; i++) {
		const char *data = json_string_value(json_object_get(node_by_id(info, ids[i]), "data"));

		if (!data) {
			action_result_set(res, ACTION_FAILED, "node %lld is not in '%s/cluster.json'",
					  (long long)ids[i], lt->dir);
			goto out;
		}
		if (json_integer_value(json_object_get(info, "disk_limit_mb")) <= 0 ||
		    check_own_tmpfs(data, &err) != 0) {
			action_result_set(res, ACTION_FAILED,
					  "cannot fill node %lld's disk: %s; disk_full only fills a data "
					  "directory that is its own size-limited tmpfs, never a real disk: "
					  "run the drill as root (it then starts its cluster so), or start "
					  "the cluster with `drillrig cluster up --disk-limit MB` as root",
					  (long long)ids[i],
					  err.msg[0] ? err.msg : "the cluster was started without --disk-limit");
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *data = json_string_value(json_object_get(node_by_id(info, ids[i]), "data"));
		char *path = xasprintf("%s/%s", data, FILL_NAME);
		off_t bytes = 0;
		int rc = fill(path, &bytes, &err);

		free(path);
		if (rc != 0) {
			action_result_set(res, ACTION_FAILED, "cannot fill node %lld's disk: %s",
					  (long long)ids[i], err.msg);
			goto out;
		}
		json_array_append_new(filled, json_pack("{s:I,s:I}", "node", (json_int_t)ids[i],
							"fill_bytes", (json_int_t)bytes));
	}
	node_ids_text(list, sizeof(list), ids, n);
	action_result_set(res, ACTION_OK, "disk of node%s %s full (no space left on device); "
			  "disk_free frees it", n > 1 ? "s" : "", list);
	res->data = json_pack("{s:o,s:O}", "nodes", node_ids_json(ids, n), "filled", filled);
out:
	json_decref(filled);
	json_decref(info);
}

void local_disk_free(struct target *t, json_t *args, const struct action_ctx *ctx,
		     struct action_result *res)
{
	struct local_target *lt = t->impl;
	struct dr_error err = DR_ERROR_INIT;
	const char *what = plan_arg_str(args, "what");
	json_t *info = NULL, *node, *freed = json_array();
	struct node_ref ref = { 0, NULL };
	size_t i;

	(void)ctx;
	if (what && strcmp(what, "node") == 0 &&
	    (node_ref_parse(&ref, json_object_get(args, "node")) != 0 || ref.name)) {
		action_result_set(res, ACTION_FAILED, "'node' must be a node id such as 3 or n3");
		goto out;
	}
	if (cluster_load(&info, lt->dir, &err) != 0) {
		action_result_set(res, ACTION_FAILED, "%s", err.msg);
		goto out;
	}
	json_array_foreach(json_object_get(info, "nodes"), i, node) {
		int64_t id = json_integer_value(json_object_get(node, "id"));
		const char *data = json_string_value(json_object_get(node, "data"));
		char *path;

		if (!data || (ref.id > 0 && id != ref.id))
			continue;
		path = xasprintf("%s/%s", data, FILL_NAME);
		if (unlink(path) == 0) {
			json_array_append_new(freed, json_integer(id));
		} else if (errno != ENOENT) {
			action_result_set(res, ACTION_FAILED, "cannot free node %lld's disk: "
					  "cannot remove '%s': %s", (long long)id, path, strerror(errno));
			free(path);
			goto out;
		}
		free(path);
	}
	if (json_array_size(freed) == 0)
		action_result_set(res, ACTION_OK, "no disk to free: no node's disk was filled");
	else
		action_result_set(res, ACTION_OK, "freed the disk of %zu node%s",
				  json_array_size(freed), json_array_size(freed) == 1 ? "" : "s");
	res->data = json_pack("{s:O}", "freed", freed);
out:
	json_decref(freed);
	json_decref(info);
}
