/* The results repository with libgit2: open / init / clone / fetch, commits
 * built in memory, checkout + compare-and-swap on the branch, and pushes
 * that are rebuilt on the new remote tip when rejected.  See gitstore.h. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "reports/gitstore.h"
#include "reports/redact.h"
#include "reports/render.h"
#include "reports/results_private.h"

#define CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void git_setup(void)
{
	git_libgit2_init();
	/* Debian's libgit2 uses mbedTLS, which knows no CA unless told. */
	if (access(CA_BUNDLE, R_OK) == 0)
		git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, CA_BUNDLE, NULL);
}

/* libgit2's message, redacted: it may quote a URL with credentials. */
static int git_fail(struct dr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int git_fail(struct dr_error *err, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	struct strbuf sb = STRBUF_INIT;
	char *what, *msg, *w;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	what = strbuf_detach(&sb);
	msg = redact_text(ge && ge->message ? ge->message : "unknown libgit2 error");
	w = redact_text(what);

	dr_error_set(err, "%s: %s", w, msg);
	free(what);
	free(msg);
	free(w);
	return -1;
}

static const char *token(void)
{
	const char *t = getenv("DRILLRIG_GIT_TOKEN");

	return t && *t ? t : NULL;
}

struct remote_state {
	int cred_calls;
	int rejected;
	char status[256];
};

static int cb_credentials(git_credential **out, const char *url, const char *user_from_url,
			  unsigned int allowed, void *payload)
{
	struct remote_state *rs = payload;
	const char *user;

	(void)url;
	/* libgit2 asks again after a 401: one try each, then give up. */
	if (rs->cred_calls++ > 0)
		return GIT_EAUTH;
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && token()) {
		user = getenv("DRILLRIG_GIT_USER");
		if (!user || !*user)
			user = user_from_url && *user_from_url ? user_from_url : "x-access-token";
		return git_credential_userpass_plaintext_new(out, user, token());
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY)
		return git_credential_ssh_key_from_agent(out, user_from_url ? user_from_url : "git");
	if (allowed & GIT_CREDENTIAL_USERNAME)
		return git_credential_username_new(out, user_from_url ? user_from_url : "git");
	return GIT_PASSTHROUGH;
}

static int cb_push_update(const char *refname, const char *status, void *payload)
{
	struct remote_state *rs = payload;

	(void)refname;
	if (status) {
		rs->rejected = 1;
		str_copy(rs->status, sizeof(rs->status), status);
	}
	return 0;
}

static void callbacks_init(git_remote_callbacks *cb, struct remote_state *rs)
{
	memset(rs, 0, sizeof(*rs));
	cb->credentials = cb_credentials;
	cb->push_update_reference = cb_push_update;
	cb->payload = rs;
}

static int is_url(const char *spec)
{
	const char *colon = strchr(spec, ':'), *slash = strchr(spec, '/');

	if (strstr(spec, "://"))
		return 1;
	/* scp-like "git@host:org/repo.git" */
	return colon && strchr(spec, '@') && strchr(spec, '@') < colon && (!slash || colon < slash);
}

/* A missing path or an empty directory (where `git init` may go). */
static int store_dir_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = 1;

	if (!d)
		return errno == ENOENT;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

/* Cache directory for a URL: credentials stripped, unsafe bytes replaced. */
static char *cache_dir_for(const char *spec)
{
	const char *base = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *clean = redact_text(spec);
	struct strbuf sb = STRBUF_INIT;

	if (base && *base)
		strbuf_addf(&sb, "%s/drillrig/results/", base);
	else
		strbuf_addf(&sb, "%s/.cache/drillrig/results/", home && *home ? home : "/tmp");
	for (const char *p = clean; *p && sb.len < PATH_MAX - 64; p++) {
		char c = *p;

		strbuf_addch(&sb, ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				   (c >= '0' && c <= '9') || c == '-' || c == '.') ? c : '_');
	}
	free(clean);
	return strbuf_detach(&sb);
}

static int set_workdir(struct store *st, struct dr_error *err)
{
	const char *wd = git_repository_workdir(st->repo);
	char real[PATH_MAX];
	size_t n;

	if (!wd)
		return dr_error_set(err, "the results repository has no work tree");
	if (!realpath(wd, real))
		return dr_error_errno(err, errno, "cannot resolve '%s'", wd);
	if (str_copy(st->workdir, sizeof(st->workdir), real) != 0)
		return dr_error_set(err, "path too long: '%s'", real);
	n = strlen(st->workdir);
	while (n > 1 && st->workdir[n - 1] == '/')
		st->workdir[--n] = '\0';
	return 0;
}

int store_tip(git_oid *out, struct store *st, int remote, struct dr_error *err)
{
	int rc = git_reference_name_to_id(out, st->repo, remote ? st->remote_ref : st->branch_ref);

	if (rc == GIT_ENOTFOUND)
		return 1;
	if (rc < 0)
		return git_fail(err, "cannot read '%s'", remote ? st->remote_ref : st->branch_ref);
	return 0;
}

static int do_fetch(struct store *st, struct dr_error *err)
{
	git_remote *remote = NULL;
	git_fetch_options fo;
	struct remote_state rs;
	int rc = -1;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	callbacks_init(&fo.callbacks, &rs);
	if (git_remote_lookup(&remote, st->repo, "origin") < 0) {
		git_fail(err, "cannot find remote '%s'", "origin");
		goto out;
	}
	if (git_remote_fetch(remote, NULL, &fo, "drillrig: fetch") < 0) {
		git_fail(err, "cannot fetch the results repository");
		goto out;
	}
	rc = 0;
out:
	git_remote_free(remote);
	return rc;
}

/* Check out commit `to` (tree) over the current HEAD tree. */
static int checkout_commit(struct store *st, const git_oid *to, int force, struct dr_error *err)
{
	git_commit *c = NULL;
	git_checkout_options co;
	int rc = -1;

	git_checkout_options_init(&co, GIT_CHECKOUT_OPTIONS_VERSION);
	co.checkout_strategy = force ? GIT_CHECKOUT_FORCE : GIT_CHECKOUT_SAFE;
	if (git_commit_lookup(&c, st->repo, to) < 0) {
		git_fail(err, "cannot find commit");
		goto out;
	}
	if (git_checkout_tree(st->repo, (git_object *)c, &co) < 0) {
		git_fail(err, "cannot check out the results in '%s'", st->workdir);
		goto out;
	}
	rc = 0;
out:
	git_commit_free(c);
	return rc;
}

struct undo_walk {
	struct store *st;
	git_tree *old_tree; /* NULL: the branch had no commit */
};

/* Remove a file the failed checkout wrote that the old tree does not have,
 * and its directories when that leaves them empty. */
static int undo_new_path(const char *root, const git_tree_entry *entry, void *payload)
{
	struct undo_walk *w = payload;
	git_tree_entry *old = NULL;
	char *rel, *full, *slash;

	if (git_tree_entry_type(entry) != GIT_OBJECT_BLOB)
		return 0;
	rel = xasprintf("%s%s", root, git_tree_entry_name(entry));
	if (w->old_tree && git_tree_entry_bypath(&old, w->old_tree, rel) == 0) {
		git_tree_entry_free(old); /* the old checkout restores it */
		free(rel);
		return 0;
	}
	full = xasprintf("%s/%s", w->st->workdir, rel);
	unlink(full);
	while ((slash = strrchr(full, '/')) && (size_t)(slash - full) > strlen(w->st->workdir)) {
		*slash = '\0';
		if (rmdir(full) != 0)
			break; /* not empty: something else lives there */
	}
	free(full);
	free(rel);
	return 0;
}

/* A checkout that failed half way (a full disk) leaves truncated files,
 * and in a repository with no commit yet nothing restores them: every
 * later run then stops at the dirty work tree.  Remove what only the new
 * tree has, then check the old tree out again over the rest. */
static void undo_checkout(struct store *st, const git_oid *new_id, const git_oid *old_id)
{
	struct dr_error ignored = DR_ERROR_INIT;
	struct undo_walk w = { st, NULL };
	git_commit *nc = NULL, *oc = NULL;
	git_tree *nt = NULL;
	git_index *index = NULL;

	if (git_commit_lookup(&nc, st->repo, new_id) < 0 || git_commit_tree(&nt, nc) < 0)
		goto out;
	if (old_id && (git_commit_lookup(&oc, st->repo, old_id) < 0 ||
		       git_commit_tree(&w.old_tree, oc) < 0))
		goto out;
	git_tree_walk(nt, GIT_TREEWALK_PRE, undo_new_path, &w);
	if (old_id) {
		checkout_commit(st, old_id, 1, &ignored);
	} else if (git_repository_index(&index, st->repo) == 0) {
		/* the index of a branch with no commit is empty */
		git_index_clear(index);
		git_index_write(index);
	}
out:
	git_index_free(index);
	git_tree_free(w.old_tree);
	git_tree_free(nt);
	git_commit_free(oc);
	git_commit_free(nc);
}

/* Move the branch from old (NULL: unborn) to new, with the work tree and
 * index checked out first.  The ref update is a compare-and-swap; if it
 * or the checkout fails the old work tree is put back. */
static int store_advance(struct store *st, const git_oid *new_id, const git_oid *old_id,
			 int force_checkout, struct dr_error *err)
{
	git_reference *ref = NULL;
	int rc = -1, r;

	if (checkout_commit(st, new_id, force_checkout, err) != 0) {
		undo_checkout(st, new_id, old_id);
		goto out;
	}
	if (old_id)
		r = git_reference_create_matching(&ref, st->repo, st->branch_ref, new_id, 1, old_id,
						  "drillrig: results");
	else
		r = git_reference_create(&ref, st->repo, st->branch_ref, new_id, 0, "drillrig: results");
	if (r < 0) {
		git_fail(err, "cannot move branch '%s'", st->branch_ref);
		undo_checkout(st, new_id, old_id);
		goto out;
	}
	if (git_repository_set_head(st->repo, st->branch_ref) < 0) {
		git_fail(err, "cannot point HEAD at '%s'", st->branch_ref);
		goto out;
	}
	rc = 0;
out:
	git_reference_free(ref);
	return rc;
}

/* After a fetch: fast-forward the local branch to the remote one when it
 * has nothing of its own; keep it when it has unpushed runs. */
static int store_sync(struct store *st, struct dr_error *err)
{
	git_oid local, remote;
	int lr, rr;

	rr = store_tip(&remote, st, 1, err);
	if (rr != 0)
		return rr < 0 ? -1 : 0;
	lr = store_tip(&local, st, 0, err);
	if (lr < 0)
		return -1;
	if (lr == 1)
		return store_advance(st, &remote, NULL, st->cache_clone, err);
	if (git_oid_equal(&local, &remote))
		return 0;
	if (git_graph_descendant_of(st->repo, &remote, &local) == 1)
		return store_advance(st, &remote, &local, st->cache_clone, err);
	return 0; /* local commits the remote lacks: pushed (and merged) later */
}

static int check_head(struct store *st, struct dr_error *err)
{
	git_reference *head = NULL;
	int rc = 0;

	if (git_repository_head_unborn(st->repo) == 1) {
		/* A fresh repository: its first commit goes on our branch. */
		if (git_repository_set_head(st->repo, st->branch_ref) < 0)
			rc = git_fail(err, "cannot point HEAD at '%s'", st->branch_ref);
		return rc;
	}
	if (git_reference_lookup(&head, st->repo, "HEAD") < 0)
		return git_fail(err, "cannot read HEAD");
	if (git_reference_type(head) != GIT_REFERENCE_SYMBOLIC ||
	    strcmp(git_reference_symbolic_target(head), st->branch_ref) != 0)
		rc = dr_error_set(err, "the results repository '%s' has another branch checked out "
				  "than '%s'", st->workdir, st->branch_ref + strlen("refs/heads/"));
	git_reference_free(head);
	return rc;
}

static int open_clone(struct store *st, const char *spec, const struct results_opts *opts,
		      struct dr_error *err)
{
	char *dir = opts->cache_dir ? xstrdup(opts->cache_dir) : cache_dir_for(spec);
	git_clone_options co;
	struct remote_state rs;
	git_remote *remote = NULL;
	int rc = -1;

	git_clone_options_init(&co, GIT_CLONE_OPTIONS_VERSION);
	st->cache_clone = 1;
	st->has_remote = 1;
	if (git_repository_open_ext(&st->repo, dir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
		/* Follow a changed URL (or token-free spelling) of the same remote. */
		if (git_remote_set_url(st->repo, "origin", spec) < 0) {
			git_fail(err, "cannot set the remote of '%s'", dir);
			goto out;
		}
		rc = 0;
		goto out;
	}
	callbacks_init(&co.fetch_opts.callbacks, &rs);
	if (fs_mkdir_p(dir, err) != 0)
		goto out;
	if (git_clone(&st->repo, spec, dir, &co) < 0) {
		char *clean = redact_text(spec);

		git_fail(err, "cannot clone the results repository '%s'", clean);
		free(clean);
		goto out;
	}
	rc = 0;
out:
	git_remote_free(remote);
	free(dir);
	return rc;
}

static int open_local(struct store *st, const char *path, const struct results_opts *opts,
		      int create, struct dr_error *err)
{
	git_repository_init_options io;
	git_remote *remote = NULL;
	const char *branch = opts->branch ? opts->branch : "main";

	git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
	if (!store_dir_empty(path) &&
	    git_repository_open_ext(&st->repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0) {
		if (git_repository_is_bare(st->repo)) {
			/* Absolute, so the clone's origin works from any cwd. */
			char real[PATH_MAX];

			git_repository_free(st->repo);
			st->repo = NULL;
			return open_clone(st, realpath(path, real) ? real : path, opts, err);
		}
		if (git_remote_lookup(&remote, st->repo, "origin") == 0)
			st->has_remote = 1;
		git_remote_free(remote);
		return 0;
	}
	if (!store_dir_empty(path))
		return dr_error_set(err, "'%s' exists and is not a git repository", path);
	{
		/* A bare repository we cloned before and cannot reach now
		 * (unmounted, moved): work in its clone, never init over it. */
		char *cache = opts->cache_dir ? xstrdup(opts->cache_dir) : cache_dir_for(path);
		git_repository *probe = NULL;
		int cloned = git_repository_open_ext(&probe, cache, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0;

		git_repository_free(probe);
		free(cache);
		if (cloned)
			return open_clone(st, path, opts, err);
	}
	if (!create)
		return STORE_ABSENT;
	io.flags = GIT_REPOSITORY_INIT_MKPATH;
	io.initial_head = branch;
	if (git_repository_init_ext(&st->repo, path, &io) < 0)
		return git_fail(err, "cannot create the results repository '%s'", path);
	return 0;
}

#define STORE_LOCK_WAIT_NS (120 * NS_PER_SEC)

/* Two drills finishing together on one machine share a work tree: they
 * take turns.  A bounded wait, then a clear error. */
static int store_lock(struct store *st, struct dr_error *err)
{
	char *path = xasprintf("%s/drillrig.lock", git_repository_path(st->repo));
	int64_t deadline = clock_mono_ns() + STORE_LOCK_WAIT_NS;
	int rc = -1;

	st->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (st->lock_fd < 0) {
		dr_error_errno(err, errno, "cannot open '%s'", path);
		goto out;
	}
	while (flock(st->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			dr_error_errno(err, errno, "cannot lock '%s'", path);
			goto out;
		}
		if (clock_mono_ns() > deadline) {
			dr_error_set(err, "the results repository '%s' is busy: another drillrig has held "
				     "'%s' for 2 minutes", st->workdir, path);
			goto out;
		}
		clock_sleep_ns(50 * NS_PER_MS);
	}
	rc = 0;
out:
	if (rc != 0 && st->lock_fd >= 0) {
		close(st->lock_fd);
		st->lock_fd = -1;
	}
	free(path);
	return rc;
}

int store_open(struct store *st, const struct results_opts *opts, int fetch, int create,
	       struct dr_error *err)
{
	const char *spec = opts->repo && *opts->repo ? opts->repo : "drill-results";
	const char *branch = opts->branch && *opts->branch ? opts->branch : "main";
	int rc = -1;

	pthread_once(&git_once, git_setup);
	memset(st, 0, sizeof(*st));
	st->lock_fd = -1;
	if (token())
		redact_add_secret(token());
	snprintf(st->branch_ref, sizeof(st->branch_ref), "refs/heads/%s", branch);
	snprintf(st->remote_ref, sizeof(st->remote_ref), "refs/remotes/origin/%s", branch);
	{
		int valid = 0;

		if (git_reference_name_is_valid(&valid, st->branch_ref) < 0 || !valid) {
			dr_error_set(err, "invalid results branch '%s'", branch);
			goto out;
		}
	}
	rc = is_url(spec) ? open_clone(st, spec, opts, err) : open_local(st, spec, opts, create, err);
	if (rc == STORE_ABSENT)
		return STORE_ABSENT;
	if (rc != 0) {
		rc = -1;
		goto out;
	}
	rc = -1;
	if (set_workdir(st, err) != 0 || store_lock(st, err) != 0)
		goto out;
	if (fetch && st->has_remote) {
		struct dr_error ferr = DR_ERROR_INIT;

		/* Offline: keep going on the last known tip, so the run is
		 * committed locally and `report push` can send it later. */
		if (do_fetch(st, &ferr) != 0)
			str_copy(st->fetch_error, sizeof(st->fetch_error), ferr.msg);
		else if (store_sync(st, err) != 0)
			goto out;
	}
	if (check_head(st, err) != 0)
		goto out;
	rc = 0;
out:
	if (rc != 0) {
		char *m = redact_text(err->msg);

		str_copy(err->msg, sizeof(err->msg), m);
		free(m);
		store_close(st);
	}
	return rc;
}

void store_close(struct store *st)
{
	git_repository_free(st->repo);
	st->repo = NULL;
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
	st->lock_fd = -1;
}

static char *blob_at(struct store *st, const git_oid *commit_id, const char *path)
{
	git_commit *c = NULL;
	git_tree *t = NULL;
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	char *out = NULL;

	if (!commit_id || git_commit_lookup(&c, st->repo, commit_id) < 0 ||
	    git_commit_tree(&t, c) < 0 || git_tree_entry_bypath(&e, t, path) < 0 ||
	    git_blob_lookup(&b, st->repo, git_tree_entry_id(e)) < 0)
		goto out;
	out = xstrndup(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b));
out:
	git_blob_free(b);
	git_tree_entry_free(e);
	git_tree_free(t);
	git_commit_free(c);
	return out;
}

json_t *store_index_at(struct store *st, const git_oid *commit)
{
	char *text = blob_at(st, commit, RESULTS_ROOT "/" RESULTS_INDEX);
	json_t *idx = results_index_parse(text);

	free(text);
	return idx;
}

static int add_blob(git_tree_update *u, struct store *st, const char *path, const char *data,
		    size_t len, struct dr_error *err)
{
	memset(u, 0, sizeof(*u));
	u->action = GIT_TREE_UPDATE_UPSERT;
	u->filemode = GIT_FILEMODE_BLOB;
	u->path = path;
	if (git_blob_create_from_buffer(&u->id, st->repo, data, len) < 0)
		return git_fail(err, "cannot store '%s'", path);
	return 0;
}

static int signature(git_signature **out, struct store *st, const struct results_opts *opts)
{
	const char *a = opts->author && *opts->author ? opts->author : getenv("DRILLRIG_GIT_AUTHOR");

	if (a && *a) {
		const char *lt = strchr(a, '<'), *gt = lt ? strchr(lt, '>') : NULL;

		if (lt && gt && gt > lt + 1) {
			char *name = xstrndup(a, (size_t)(lt - a)), *email = xstrndup(lt + 1, (size_t)(gt - lt - 1));
			size_t n = strlen(name);
			int rc;

			while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'))
				name[--n] = '\0';
			rc = git_signature_now(out, n ? name : "drillrig", email);
			free(name);
			free(email);
			if (rc == 0)
				return 0;
		}
	}
	if (git_signature_default(out, st->repo) == 0)
		return 0;
	return git_signature_now(out, "drillrig", "drillrig@localhost");
}

static int cmp_update_path(const void *a, const void *b)
{
	return strcmp(((const git_tree_update *)a)->path, ((const git_tree_update *)b)->path);
}

int store_commit_runs(git_oid *out, struct store *st, const git_oid *base,
		      const git_oid *expect, struct store_run *runs, size_t nruns,
		      const char *message, const struct results_opts *opts, struct dr_error *err)
{
	git_commit *parent = NULL;
	git_tree *base_tree = NULL, *tree = NULL;
	git_signature *sig = NULL;
	git_tree_update *ups = NULL;
	json_t *index = NULL;
	char *readme = NULL, *trend = NULL, *dump = NULL, *gitignore = NULL, *msg = NULL;
	git_oid tree_id;
	size_t nups = 0, cap;
	int rc = -1;

	cap = 4;
	for (size_t i = 0; i < nruns; i++)
		cap += runs[i].n;
	ups = xcalloc(cap, sizeof(*ups));
	if (base) {
		if (git_commit_lookup(&parent, st->repo, base) < 0 || git_commit_tree(&base_tree, parent) < 0) {
			git_fail(err, "cannot read the branch tip");
			goto out;
		}
	}
	index = store_index_at(st, base);
	for (size_t i = 0; i < nruns; i++) {
		const char *dir = j_str_or(runs[i].entry, "dir", "");

		if (!results_index_has(index, dir))
			json_array_append(index, runs[i].entry);
		for (size_t k = 0; k < runs[i].n; k++) {
			ups[nups].action = GIT_TREE_UPDATE_UPSERT;
			ups[nups].filemode = GIT_FILEMODE_BLOB;
			ups[nups].path = runs[i].paths[k];
			git_oid_cpy(&ups[nups].id, &runs[i].ids[k]);
			nups++;
		}
	}
	results_index_sort(index);
	dump = results_index_dump(index);
	{
		char *r = readme_render(index), *t = svg_rto_trend(index);

		readme = redact_text(r);
		trend = redact_text(t);
		free(r);
		free(t);
	}
	if (add_blob(&ups[nups++], st, RESULTS_ROOT "/" RESULTS_INDEX, dump, strlen(dump), err) ||
	    add_blob(&ups[nups++], st, RESULTS_ROOT "/" RESULTS_README, readme, strlen(readme), err) ||
	    add_blob(&ups[nups++], st, RESULTS_ROOT "/" RESULTS_TREND, trend, strlen(trend), err))
		goto out;
	gitignore = blob_at(st, base, RESULTS_ROOT "/.gitignore");
	if (!gitignore) {
		/* history.ndjson stays beside the run, uncommitted unless asked. */
		static const char ign[] = "# drillrig: per-write histories stay local unless --commit-history\n"
					  REPORT_FILE_HISTORY "\n";

		if (add_blob(&ups[nups++], st, RESULTS_ROOT "/.gitignore", ign, strlen(ign), err))
			goto out;
	}
	qsort(ups, nups, sizeof(*ups), cmp_update_path);
	if (git_tree_create_updated(&tree_id, st->repo, base_tree, nups, ups) < 0 ||
	    git_tree_lookup(&tree, st->repo, &tree_id) < 0) {
		git_fail(err, "cannot build the results tree");
		goto out;
	}
	if (signature(&sig, st, opts) < 0) {
		git_fail(err, "cannot make a commit signature");
		goto out;
	}
	msg = redact_text(message);
	{
		const git_commit *parents[1] = { parent };

		if (git_commit_create(out, st->repo, NULL, sig, sig, NULL, msg, tree, parent ? 1 : 0,
				      parents) < 0) {
			git_fail(err, "cannot commit the results");
			goto out;
		}
	}
	if (store_advance(st, out, expect, st->cache_clone, err) != 0)
		goto out;
	rc = 0;
out:
	free(msg);
	free(gitignore);
	free(readme);
	free(trend);
	free(dump);
	json_decref(index);
	free(ups);
	git_signature_free(sig);
	git_tree_free(tree);
	git_tree_free(base_tree);
	git_commit_free(parent);
	return rc;
}

void store_run_release(struct store_run *run)
{
	for (size_t i = 0; i < run->n; i++)
		free(run->paths[i]);
	json_decref(run->entry);
	memset(run, 0, sizeof(*run));
}

char *store_commit_message(const json_t *e)
{
	struct strbuf sb = STRBUF_INIT;
	const char *st = j_str_or(e, "status", "error");
	double v;

	strbuf_addf(&sb, "drill: %s ", j_str_or(e, "drill", "?"));
	for (const char *p = st; *p; p++)
		strbuf_addch(&sb, (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p));
	if (j_num(e, "rto_ms", &v))
		strbuf_addf(&sb, " rto=%.2fs", v / 1000.0);
	else
		strbuf_adds(&sb, " rto=n/a");
	if (j_num(e, "rpo_lost_writes", &v))
		strbuf_addf(&sb, " rpo=%.0f", v);
	else
		strbuf_adds(&sb, " rpo=n/a");
	strbuf_addf(&sb, "\n\nTarget: %s (%s)\nStarted: %s\nReport: " RESULTS_ROOT "/%s/report.md\n",
		    j_str_or(e, "target_kind", "?"), j_str_or(e, "target", ""),
		    j_str_or(e, "started_at", "?"), j_str_or(e, "dir", "?"));
	return strbuf_detach(&sb);
}

/* Collect the blobs of dr-drill-results/<dir>/ at a commit. */
static int collect_run(struct store_run *run, struct store *st, const git_oid *commit,
		       const json_t *entry, struct dr_error *err)
{
	git_commit *c = NULL;
	git_tree *t = NULL, *sub = NULL;
	git_tree_entry *te = NULL;
	char *path = xasprintf(RESULTS_ROOT "/%s", j_str_or(entry, "dir", ""));
	int rc = -1;

	memset(run, 0, sizeof(*run));
	run->entry = json_deep_copy(entry);
	if (git_commit_lookup(&c, st->repo, commit) < 0 || git_commit_tree(&t, c) < 0 ||
	    git_tree_entry_bypath(&te, t, path) < 0 ||
	    git_tree_lookup(&sub, st->repo, git_tree_entry_id(te)) < 0) {
		git_fail(err, "cannot read run '%s'", path);
		goto out;
	}
	for (size_t i = 0; i < git_tree_entrycount(sub) && run->n < RUN_FILES_MAX; i++) {
		const git_tree_entry *f = git_tree_entry_byindex(sub, i);

		if (git_tree_entry_type(f) != GIT_OBJECT_BLOB)
			continue;
		run->paths[run->n] = xasprintf("%s/%s", path, git_tree_entry_name(f));
		git_oid_cpy(&run->ids[run->n], git_tree_entry_id(f));
		run->n++;
	}
	rc = 0;
out:
	free(path);
	git_tree_entry_free(te);
	git_tree_free(sub);
	git_tree_free(t);
	git_commit_free(c);
	return rc;
}

/* Rebuild the runs `local` has and `remote` lacks on top of `remote`. */
static int store_rebase_runs(struct store *st, const git_oid *remote, const git_oid *local,
			     const struct results_opts *opts, struct dr_error *err)
{
	json_t *ri = store_index_at(st, remote), *li = store_index_at(st, local), *e;
	struct store_run *runs = xcalloc(json_array_size(li) + 1, sizeof(*runs));
	struct strbuf msg = STRBUF_INIT;
	size_t n = 0, i;
	git_oid new_id;
	int rc = -1;

	json_array_foreach(li, i, e) {
		if (results_index_has(ri, j_str_or(e, "dir", "")))
			continue;
		if (collect_run(&runs[n], st, local, e, err) != 0) {
			n++;
			goto out;
		}
		n++;
	}
	if (n == 0) {
		/* Everything we had is there already: take the remote tip. */
		rc = store_advance(st, remote, local, 1, err);
		goto out;
	}
	if (n == 1) {
		char *m = store_commit_message(runs[0].entry);

		strbuf_adds(&msg, m);
		free(m);
	} else {
		strbuf_addf(&msg, "drill: publish %zu runs\n\n", n);
		for (i = 0; i < n; i++) {
			char *m = store_commit_message(runs[i].entry), *nl = strchr(m, '\n');

			if (nl)
				*nl = '\0';
			strbuf_addf(&msg, "- %s\n", m);
			free(m);
		}
	}
	/* Our old commit is replaced: force the work tree onto the new one. */
	{
		int saved = st->cache_clone;

		st->cache_clone = 1;
		rc = store_commit_runs(&new_id, st, remote, local, runs, n, msg.buf, opts, err);
		st->cache_clone = saved;
	}
	if (rc != 0) {
		/* The branch still points at `local`; nothing half-done. */
		goto out;
	}
out:
	for (i = 0; i < n; i++)
		store_run_release(&runs[i]);
	free(runs);
	strbuf_release(&msg);
	json_decref(ri);
	json_decref(li);
	return rc;
}

static int push_once(struct store *st, struct remote_state *rs, struct dr_error *err)
{
	git_remote *remote = NULL;
	git_push_options po;
	char spec[600];
	char *specs[] = { spec };
	git_strarray refspecs = { specs, 1 };
	int rc = -1;

	git_push_options_init(&po, GIT_PUSH_OPTIONS_VERSION);
	snprintf(spec, sizeof(spec), "%s:%s", st->branch_ref, st->branch_ref);
	callbacks_init(&po.callbacks, rs);
	if (git_remote_lookup(&remote, st->repo, "origin") < 0) {
		git_fail(err, "cannot find remote '%s'", "origin");
		goto out;
	}
	if (git_remote_push(remote, &refspecs, &po) < 0) {
		git_fail(err, "push to the results repository failed");
		goto out;
	}
	if (rs->rejected) {
		char *s = redact_text(rs->status);

		dr_error_set(err, "push to the results repository was rejected: %s", s);
		free(s);
		goto out;
	}
	rc = 0;
out:
	git_remote_free(remote);
	return rc;
}

/* Test hook, off unless DRILLRIG_TEST_PUSH_BARRIER names a directory:
 * before its first push each process drops a file there and waits (30 s at
 * most) until DRILLRIG_TEST_PUSH_BARRIER_N (default 2) have, so concurrent
 * pushes from the same tip really race and one is rejected. */
static void test_push_barrier(void)
{
	const char *dir = getenv("DRILLRIG_TEST_PUSH_BARRIER"), *nv = getenv("DRILLRIG_TEST_PUSH_BARRIER_N");
	long want = nv ? strtol(nv, NULL, 10) : 2;
	char *mark;
	struct dr_error ignored = DR_ERROR_INIT;

	if (!dir || !*dir)
		return;
	mark = xasprintf("%s/%ld.ready", dir, (long)getpid());
	fs_write_atomic(mark, "", 0, &ignored);
	free(mark);
	for (int i = 0; i < 3000; i++) { /* 30 s: slow machines, sanitizer builds */
		DIR *d = opendir(dir);
		struct dirent *de;
		long n = 0;

		while (d && (de = readdir(d)) != NULL)
			if (strstr(de->d_name, ".ready") && !strstr(de->d_name, ".tmp"))
				n++;
		if (d)
			closedir(d);
		if (n >= want)
			return;
		clock_sleep_ns(10 * NS_PER_MS);
	}
}

/* Fetch, then put the local runs the remote lacks on top of its tip.  *tip
 * is the remote tip the branch now descends from; 1 when the remote has
 * every local commit already (nothing to push). */
static int store_catch_up(git_oid *tip, int *have_tip, struct store *st,
			  const struct results_opts *opts, struct dr_error *err)
{
	git_oid local;
	int rr;

	*have_tip = 0;
	if (do_fetch(st, err) != 0)
		return -1;
	if (store_tip(&local, st, 0, err) != 0)
		return -1;
	rr = store_tip(tip, st, 1, err);
	if (rr < 0)
		return -1;
	if (rr == 1)
		return 0; /* the remote has no such branch yet: a plain push creates it */
	*have_tip = 1;
	if (git_oid_equal(&local, tip) || git_graph_descendant_of(st->repo, tip, &local) == 1)
		return 1;
	if (git_graph_descendant_of(st->repo, &local, tip) == 1)
		return 0;
	if (store_rebase_runs(st, tip, &local, opts, err) != 0)
		return -1;
	if (store_tip(&local, st, 0, err) != 0)
		return -1;
	return git_oid_equal(&local, tip) ? 1 : 0;
}

int store_push(struct results_outcome *out, struct store *st,
	       const struct results_opts *opts, struct dr_error *err)
{
	int attempts = opts->push_attempts > 0 ? opts->push_attempts : 1;
	struct dr_error perr = DR_ERROR_INIT;
	git_oid local, tip, prev_tip;
	int have_tip = 0, had_prev = 0, r;

	if (!st->has_remote) {
		dr_error_set(err, "cannot push: the results repository '%s' has no remote 'origin'",
			     st->workdir);
		goto fail;
	}
	for (int a = 1; a <= attempts; a++) {
		struct remote_state rs;

		/* Catch up first: libgit2's local transport does not refuse a
		 * non-fast-forward, and over HTTP it saves a round trip. */
		r = store_catch_up(&tip, &have_tip, st, opts, err);
		if (r < 0)
			goto fail;
		if (r == 1)
			goto done; /* the remote has our runs already */
		if (a > 1 && had_prev == have_tip && (!have_tip || git_oid_equal(&tip, &prev_tip))) {
			/* Rejected although nobody else pushed: not a race. */
			str_copy(err->msg, sizeof(err->msg), perr.msg);
			goto fail;
		}
		out->push_attempts = a;
		dr_error_clear(&perr);
		if (a == 1)
			test_push_barrier();
		if (push_once(st, &rs, &perr) == 0)
			goto done;
		had_prev = have_tip;
		if (have_tip)
			git_oid_cpy(&prev_tip, &tip);
	}
	str_copy(err->msg, sizeof(err->msg), perr.msg);
fail:
	out->push_failed = 1;
	str_copy(out->push_error, sizeof(out->push_error), err->msg);
	return -1;
done:
	out->pushed = 1;
	out->push_failed = 0;
	if (store_tip(&local, st, 0, err) == 0) {
		char hex[GIT_OID_HEXSZ + 1];

		git_oid_tostr(hex, sizeof(hex), &local);
		str_copy(out->commit_id, sizeof(out->commit_id), hex);
	}
	return 0;
}
