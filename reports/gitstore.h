/* Private: the results repository as a libgit2 work tree (gitstore.c).
 *
 * A store is a non-bare repository whose work tree holds dr-drill-results/.
 * A local path is opened (or created and `git init`-ed); a URL or a bare
 * repository is cloned into a cache directory, or fetched when already
 * cloned.  Every change is made as a commit built in memory from the branch
 * tip, then checked out and the branch moved with compare-and-swap, so the
 * index and work tree either match the new commit or are untouched. */
#ifndef DR_REPORTS_GITSTORE_H
#define DR_REPORTS_GITSTORE_H

#include <limits.h>

#include <git2.h>
#include <jansson.h>

#include "common/error.h"
#include "reports/reports.h"

struct store {
	git_repository *repo;
	char workdir[PATH_MAX];      /* absolute, no trailing slash */
	char branch_ref[256];        /* refs/heads/<branch> */
	char remote_ref[256];        /* refs/remotes/origin/<branch> */
	int has_remote;              /* "origin" exists */
	int cache_clone;             /* we own the work tree (cloned cache) */
	char fetch_error[DR_ERROR_MAX]; /* fetch failed: working from the last known tip */
	int lock_fd;                 /* flock on <gitdir>/drillrig.lock, -1 if none */
};

#define RUN_FILES_MAX 8

/* One run's files as blobs, ready to go into a commit. */
struct store_run {
	json_t *entry;                       /* index entry (owned) */
	size_t n;
	char *paths[RUN_FILES_MAX];          /* repo-relative (owned) */
	git_oid ids[RUN_FILES_MAX];
};

#define STORE_ABSENT 1

/* Open the store for opts, holding an exclusive lock on it (drills that
 * finish together on one machine take turns; 2 minutes at most) until
 * store_close.  */
/* Open the store for opts (a local path is created and `git init`-ed only
 * with `create`; otherwise a missing one returns STORE_ABSENT); fetch (and
 * fast-forward the local branch) when it has a remote and `fetch` is set.
 * On failure (-1) or STORE_ABSENT nothing is left open. */
int store_open(struct store *st, const struct results_opts *opts, int fetch, int create,
	       struct dr_error *err);
void store_close(struct store *st);

/* The branch tip (local or remote-tracking); 0 = found, 1 = none, -1 error. */
int store_tip(git_oid *out, struct store *st, int remote, struct dr_error *err);
/* dr-drill-results/index.ndjson at a commit (NULL: empty index). */
json_t *store_index_at(struct store *st, const git_oid *commit);

/* Commit runs on top of base (NULL: a root commit) with regenerated README,
 * index and trend chart, and move the branch there from `expect` (its
 * current value, NULL: unborn): checkout first, then a compare-and-swap on
 * the ref, checking `expect` out again if that fails.  *out: new commit. */
int store_commit_runs(git_oid *out, struct store *st, const git_oid *base,
		      const git_oid *expect, struct store_run *runs, size_t nruns,
		      const char *message, const struct results_opts *opts, struct dr_error *err);

/* Push the branch; on rejection fetch, rebuild the local runs the remote
 * lacks on its new tip, and retry (opts->push_attempts in total). */
int store_push(struct results_outcome *out, struct store *st,
	       const struct results_opts *opts, struct dr_error *err);

void store_run_release(struct store_run *run);
/* "drill: region-failover PASSED rto=1.42s rpo=0" from an index entry. */
char *store_commit_message(const json_t *entry);

#endif
