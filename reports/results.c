/* The results repository's public operations: publish a run, compute the
 * regression verdict, load the index, push pending runs. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/strbuf.h"
#include "reports/gitstore.h"
#include "reports/redact.h"
#include "reports/render.h"
#include "reports/results_private.h"

#define HISTORY_MAX ((size_t)1 << 30)

static void opts_normalise(struct results_opts *o, const struct results_opts *in)
{
	struct results_opts dflt = RESULTS_OPTS_INIT;

	*o = in ? *in : dflt;
	if (o->regression_runs <= 0)
		o->regression_runs = 5;
	if (o->regression_min_runs <= 0)
		o->regression_min_runs = 1;
	if (o->regression_min_runs > o->regression_runs)
		o->regression_min_runs = o->regression_runs;
	if (o->push_attempts <= 0)
		o->push_attempts = 5;
}

static int timing_equal(const json_t *a, const json_t *b)
{
	if (json_is_null(a) || !a)
		return json_is_null(b) || !b;
	return b && json_equal((json_t *)a, (json_t *)b);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

void results_regression_compute(struct results_regression *out, const json_t *journal,
				const json_t *index, const struct results_opts *in)
{
	struct results_opts opts;
	json_t *me = results_index_entry(journal);
	double vals[64], rto;
	size_t n = 0;

	opts_normalise(&opts, in);
	memset(out, 0, sizeof(*out));
	out->threshold_pct = opts.fail_on_regression_pct;
	out->floor_ms = opts.regression_floor_ms;
	out->gated = opts.fail_on_regression_pct >= 0;
	out->rto_ms = NAN;
	out->baseline_ms = NAN;
	out->needed = opts.regression_min_runs;
	if (j_num(me, "rto_ms", &rto))
		out->rto_ms = rto;
	/* Newest first, previous runs only, comparable ones only. */
	for (size_t i = json_array_size(index); i-- > 0 && n < (size_t)opts.regression_runs && n < 64;) {
		const json_t *e = json_array_get(index, i);
		double v;

		if (strcmp(j_str_or(e, "dir", ""), j_str_or(me, "dir", "-")) == 0 ||
		    strcmp(j_str_or(e, "started_at", ""), j_str_or(me, "started_at", "")) >= 0)
			continue;
		if (strcmp(j_str_or(e, "status", ""), "passed") != 0 || !j_num(e, "rto_ms", &v))
			continue;
		if (strcmp(j_str_or(e, "drill", ""), j_str_or(me, "drill", "")) != 0 ||
		    strcmp(j_str_or(e, "target_kind", ""), j_str_or(me, "target_kind", "")) != 0 ||
		    strcmp(j_str_or(e, "target", ""), j_str_or(me, "target", "")) != 0 ||
		    strcmp(j_str_or(e, "runner_class", ""), j_str_or(me, "runner_class", "")) != 0 ||
		    !timing_equal(json_object_get(e, "timing"), json_object_get(me, "timing")))
			continue;
		vals[n++] = v;
	}
	out->runs = (int)n;
	if (n >= (size_t)opts.regression_min_runs && n > 0 && isfinite(out->rto_ms)) {
		qsort(vals, n, sizeof(vals[0]), cmp_double);
		out->baseline_ms = n % 2 ? vals[n / 2] : (vals[n / 2 - 1] + vals[n / 2]) / 2.0;
		out->delta_ms = out->rto_ms - out->baseline_ms;
		out->delta_pct = out->baseline_ms > 0 ? 100.0 * out->delta_ms / out->baseline_ms : 0.0;
		out->computed = 1;
		out->regressed = out->gated && out->delta_pct > opts.fail_on_regression_pct &&
				 out->delta_ms > opts.regression_floor_ms;
	}
	json_decref(me);
}

json_t *results_regression_json(const struct results_regression *r)
{
	/* A gate that could not be evaluated says so: never a silent pass. */
	if (r && !r->computed && r->gated)
		return json_pack("{s:b, s:i, s:i, s:f, s:s}", "evaluated", 0, "runs", r->runs, "needed",
				 r->needed, "threshold_pct", r->threshold_pct, "reason",
				 isfinite(r->rto_ms) ? "not enough comparable earlier runs"
						     : "this run measured no RTO");
	if (!r || !r->computed)
		return json_null();
	return json_pack("{s:f, s:i, s:f, s:f, s:o, s:f, s:b}",
			 "baseline_ms", r->baseline_ms, "runs", r->runs,
			 "delta_ms", r->delta_ms, "delta_pct", r->delta_pct,
			 "threshold_pct", r->gated ? json_real(r->threshold_pct) : json_null(),
			 "floor_ms", r->floor_ms, "regressed", r->regressed);
}

int results_regression(struct results_regression *out, const json_t *journal,
		       const struct results_opts *in, struct dr_error *err)
{
	struct results_opts opts;
	struct store st;
	json_t *index = NULL;
	git_oid tip;
	int rc = -1, t;

	opts_normalise(&opts, in);
	memset(out, 0, sizeof(*out));
	t = store_open(&st, &opts, 1, 0, err);
	if (t == STORE_ABSENT) {
		results_regression_compute(out, journal, NULL, &opts);
		return 0;
	}
	if (t != 0) {
		dr_error_wrap(err, "cannot compute the regression verdict");
		return -1;
	}
	t = store_tip(&tip, &st, 0, err);
	if (t < 0)
		goto out;
	index = t == 0 ? store_index_at(&st, &tip) : json_array();
	results_regression_compute(out, journal, index, &opts);
	rc = 0;
out:
	json_decref(index);
	store_close(&st);
	return rc;
}

int results_index_load(json_t **out, char *repo_dir_out, const struct results_opts *in,
		       struct dr_error *err)
{
	struct results_opts opts;
	struct store st;
	git_oid tip;
	int t;

	opts_normalise(&opts, in);
	*out = NULL;
	t = store_open(&st, &opts, 1, 0, err);
	if (t == STORE_ABSENT) {
		*out = json_array();
		if (repo_dir_out)
			str_copy(repo_dir_out, PATH_MAX, opts.repo ? opts.repo : "drill-results");
		return 0;
	}
	if (t != 0)
		return -1;
	t = store_tip(&tip, &st, 0, err);
	if (t < 0) {
		store_close(&st);
		return -1;
	}
	*out = t == 0 ? store_index_at(&st, &tip) : json_array();
	if (repo_dir_out)
		str_copy(repo_dir_out, PATH_MAX, st.workdir);
	store_close(&st);
	return 0;
}

static int run_add(struct store_run *run, struct store *st, const char *dir, const char *name,
		   const char *data, size_t len, struct dr_error *err)
{
	run->paths[run->n] = xasprintf(RESULTS_ROOT "/%s/%s", dir, name);
	if (git_blob_create_from_buffer(&run->ids[run->n], st->repo, data, len) < 0) {
		const git_error *ge = git_error_last();

		free(run->paths[run->n]);
		return dr_error_set(err, "cannot store '%s': %s", name,
				    ge && ge->message ? ge->message : "libgit2 error");
	}
	run->n++;
	return 0;
}

static int run_add_rendered(struct store_run *run, struct store *st, const char *dir,
			    const char *name, char *data, struct dr_error *err)
{
	int rc = run_add(run, st, dir, name, data, strlen(data), err);

	free(data);
	return rc;
}

/* 1 (with err set) when a tracked file under RESULTS_ROOT was changed in
 * the work tree: every commit rewrites the index, README and trend there,
 * and the checkout after it would refuse to overwrite the change. */
static int modified_results(struct store *st, struct dr_error *err)
{
	git_status_options o;
	git_status_list *list = NULL;
	char *paths[] = { (char *)RESULTS_ROOT };
	int found = 0;

	git_status_options_init(&o, GIT_STATUS_OPTIONS_VERSION);
	o.show = GIT_STATUS_SHOW_WORKDIR_ONLY;
	o.pathspec.strings = paths;
	o.pathspec.count = 1;
	if (git_status_list_new(&list, st->repo, &o) < 0)
		return 0; /* the commit will say what is wrong */
	for (size_t i = 0; i < git_status_list_entrycount(list) && !found; i++) {
		const git_status_entry *e = git_status_byindex(list, i);

		if (e->status & (GIT_STATUS_WT_MODIFIED | GIT_STATUS_WT_DELETED |
				 GIT_STATUS_WT_TYPECHANGE | GIT_STATUS_WT_RENAMED)) {
			dr_error_set(err, "the results repository '%s' has a changed file '%s' that the "
				     "commit would overwrite (commit, restore or remove it)", st->workdir,
				     e->index_to_workdir && e->index_to_workdir->old_file.path
				     ? e->index_to_workdir->old_file.path : "?");
			found = 1;
		}
	}
	git_status_list_free(list);
	return found;
}

int results_check(const struct results_opts *in, struct dr_error *err)
{
	struct results_opts opts;
	struct store st;
	char *probe;
	int fd;

	opts_normalise(&opts, in);
	if (store_open(&st, &opts, 0, 1, err) != 0)
		return -1;
	/* Writable where the commit writes: the work tree and the object store
	 * (a probe file, since access() says yes to root on a read-only mount). */
	probe = xasprintf("%s/.drillrig-write-check.%ld", st.workdir, (long)getpid());
	fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		dr_error_errno(err, errno, "the results repository '%s' is not writable", st.workdir);
	} else {
		close(fd);
		unlink(probe);
	}
	free(probe);
	if (fd >= 0 && access(git_repository_path(st.repo), W_OK) != 0) {
		dr_error_errno(err, errno, "the results repository's git directory '%s' is not writable",
			       git_repository_path(st.repo));
		fd = -1;
	}
	if (fd >= 0 && !git_repository_is_bare(st.repo) && modified_results(&st, err))
		fd = -1;
	store_close(&st);
	return fd >= 0 ? 0 : -1;
}

int results_publish(struct results_outcome *out, json_t *journal, const char *history_path,
		    const struct results_opts *in, struct dr_error *err)
{
	struct results_opts opts;
	struct store st;
	struct store_run run;
	json_t *index = NULL, *rendered = NULL;
	char dir[512], *history = NULL, *msg = NULL;
	size_t history_len = 0;
	git_oid base, commit;
	int have_base, rc = -1, opened = 0;

	opts_normalise(&opts, in);
	memset(out, 0, sizeof(*out));
	memset(&run, 0, sizeof(run));
	if (!json_is_object(journal)) {
		dr_error_set(err, "cannot publish the run: the journal is not a JSON object");
		goto out;
	}
	if (results_run_dir_name(dir, sizeof(dir), journal, err) != 0)
		goto out;
	if (history_path && fs_read_file(&history, &history_len, history_path, HISTORY_MAX, err) != 0) {
		dr_error_wrap(err, "cannot read the write history");
		goto out;
	}
	if (store_open(&st, &opts, 1, 1, err) != 0)
		goto out;
	opened = 1;
	str_copy(out->repo_dir, sizeof(out->repo_dir), st.workdir);
	if (st.fetch_error[0]) {
		char *w = xasprintf("cannot update from the remote, committing on the last known tip: %s",
				    st.fetch_error);

		str_copy(out->warning, sizeof(out->warning), w);
		free(w);
	}
	have_base = store_tip(&base, &st, 0, err);
	if (have_base < 0)
		goto out;
	index = have_base == 0 ? store_index_at(&st, &base) : json_array();
	if (results_index_has(index, dir)) {
		dr_error_set(err, "run '%s' is already in the results repository", dir);
		goto out;
	}
	results_regression_compute(&out->regression, journal, index, &opts);
	run.entry = results_index_entry(journal);
	/* The report's headline compares with the earlier runs of this drill
	 * in the history this commit is built on; the journal keeps them too,
	 * so `report render` and `report show` give the same answer later.
	 * (A run rebuilt on a moved remote by store_push keeps what it saw
	 * here.)  Rendered from a shallow copy: the caller's journal gets them
	 * only once the commit is made. */
	rendered = json_copy(journal);
	json_object_set_new(rendered, "earlier_runs", results_earlier_runs(journal, index));
	if (run_add_rendered(&run, &st, dir, REPORT_FILE_JOURNAL, report_render_journal(rendered), err) ||
	    run_add_rendered(&run, &st, dir, REPORT_FILE_MARKDOWN, report_render_markdown(rendered), err) ||
	    run_add_rendered(&run, &st, dir, REPORT_FILE_JUNIT, report_render_junit(rendered), err) ||
	    run_add_rendered(&run, &st, dir, REPORT_FILE_CHART, report_render_latency_svg(rendered), err))
		goto out;
	if (history && opts.commit_history &&
	    run_add(&run, &st, dir, REPORT_FILE_HISTORY, history, history_len, err) != 0)
		goto out;
	msg = store_commit_message(run.entry);
	if (store_commit_runs(&commit, &st, have_base == 0 ? &base : NULL,
			      have_base == 0 ? &base : NULL, &run, 1, msg, &opts, err) != 0)
		goto out;
	out->committed = 1;
	git_oid_tostr(out->commit_id, sizeof(out->commit_id), &commit);
	/* So that a summary rendered after this ($GITHUB_STEP_SUMMARY) says
	 * what the committed report says. */
	json_object_set(journal, "earlier_runs", json_object_get(rendered, "earlier_runs"));
	{
		char *p = xasprintf("%s/" RESULTS_ROOT "/%s", st.workdir, dir);

		str_copy(out->run_dir, sizeof(out->run_dir), p);
		free(p);
		p = xasprintf("%s/" REPORT_FILE_MARKDOWN, out->run_dir);
		str_copy(out->report_path, sizeof(out->report_path), p);
		free(p);
	}
	if (history && !opts.commit_history) {
		/* Beside the run, ignored by dr-drill-results/.gitignore. */
		char *p = xasprintf("%s/" REPORT_FILE_HISTORY, out->run_dir);
		struct dr_error herr = DR_ERROR_INIT;

		if (fs_write_atomic(p, history, history_len, &herr) != 0)
			str_copy(out->warning, sizeof(out->warning), herr.msg);
		free(p);
	}
	rc = 0;
	if (opts.push) {
		struct dr_error perr = DR_ERROR_INIT;

		/* The commit stands even if the push does not: `report push`. */
		if (store_push(out, &st, &opts, &perr) != 0)
			out->push_failed = 1;
		else if (store_tip(&commit, &st, 0, &perr) == 0)
			git_oid_tostr(out->commit_id, sizeof(out->commit_id), &commit);
	}
out:
	free(msg);
	free(history);
	json_decref(rendered);
	json_decref(index);
	store_run_release(&run);
	if (opened)
		store_close(&st);
	return rc;
}

int results_push_pending(struct results_outcome *out, const struct results_opts *in,
			 struct dr_error *err)
{
	struct results_opts opts;
	struct store st;
	git_oid local, remote;
	int rc = -1, lr, rr;

	opts_normalise(&opts, in);
	memset(out, 0, sizeof(*out));
	lr = store_open(&st, &opts, 1, 0, err);
	if (lr == STORE_ABSENT)
		return dr_error_set(err, "nothing to push: there is no results repository '%s'",
				    opts.repo ? opts.repo : "drill-results");
	if (lr != 0)
		return -1;
	str_copy(out->repo_dir, sizeof(out->repo_dir), st.workdir);
	if (!st.has_remote) {
		dr_error_set(err, "cannot push: the results repository '%s' has no remote 'origin'", st.workdir);
		goto out;
	}
	lr = store_tip(&local, &st, 0, err);
	if (lr < 0)
		goto out;
	if (lr == 1) {
		dr_error_set(err, "nothing to push: the results repository has no runs yet");
		goto out;
	}
	rr = store_tip(&remote, &st, 1, err);
	if (rr < 0)
		goto out;
	if (rr == 0 && (git_oid_equal(&local, &remote) ||
			git_graph_descendant_of(st.repo, &remote, &local) == 1)) {
		out->pushed = 1; /* nothing pending */
		git_oid_tostr(out->commit_id, sizeof(out->commit_id), &remote);
		rc = 0;
		goto out;
	}
	rc = store_push(out, &st, &opts, err);
out:
	store_close(&st);
	return rc;
}
