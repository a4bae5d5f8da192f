/* The drill's state in the cluster, on its Lease: renewed while the drill
 * runs (so a short leaseDurationSeconds frees the lock soon after a
 * runner dies), and carrying a copy of the pending undos and of the record
 * (holder, cordoned nodes) as annotations, so `drillrig recover` from any
 * machine — the next CI runner, whose VM never saw the drill — finishes
 * the rollback.  The runner's state directory keeps its own copy
 * (harness/target/k8s/k8s_state.h); the Lease's is written at the same
 * moments, before each fault runs.
 *
 * When a drill ends with undos it could not run, its Lease is not deleted:
 * it is parked (no holder, the annotations kept), so no new drill starts on
 * a half-restored cluster and recover finds what is left. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/core/journal.h"
#include "harness/target/k8s/k8s_impl.h"

#define STATE_KEY "drillrig.io/undos"
#define RECORD_KEY "drillrig.io/record"

struct k8s_lease_keeper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
};

static int lease_patch(struct k8s_target *kt, json_t *patch, struct dr_error *err)
{
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	char *text = json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	k8s_cmd_lease_patch(&a, kt->cfg, k8s_lease_region(kt->cfg), text);
	rc = k8s_run(kt, &o, &a, NULL, 0, K8S_RUN_CHANGE | K8S_RUN_QUIET, NULL, err);
	k8s_out_release(&o);
	k8s_argv_release(&a);
	free(text);
	return rc;
}

static json_t *renewal(int64_t wall_ns)
{
	char when[64];

	k8s_micro_time(when, sizeof(when), wall_ns);
	return json_pack("{s:{s:s}}", "spec", "renewTime", when);
}

/* Renew at a third of the lease's duration: two renewals may fail before
 * anyone could take the lock over. */
static void *keeper_main(void *arg)
{
	struct k8s_target *kt = arg;
	struct k8s_lease_keeper *k = kt->lease_keeper;
	int64_t every = (int64_t)kt->cfg->lease_seconds * NS_PER_SEC / 3;

	pthread_mutex_lock(&k->lock);
	while (!k->stop) {
		int64_t at = clock_mono_ns() + every;
		struct timespec ts = { (time_t)(at / NS_PER_SEC), (long)(at % NS_PER_SEC) };
		struct dr_error err = DR_ERROR_INIT;
		json_t *p;

		pthread_cond_timedwait(&k->wake, &k->lock, &ts);
		if (k->stop)
			break;
		pthread_mutex_unlock(&k->lock);
		p = renewal(clock_wall_ns());
		if (lease_patch(kt, p, &err) != 0) {
			struct journal *j;

			pthread_mutex_lock(&kt->lock);
			j = kt->journal;
			pthread_mutex_unlock(&kt->lock);
			if (j)
				journal_note(j, "cannot renew the drill lock: %s", err.msg);
		}
		json_decref(p);
		pthread_mutex_lock(&k->lock);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

void k8s_lease_keeper_start(struct k8s_target *kt)
{
	struct k8s_lease_keeper *k;
	pthread_condattr_t attr;

	if (kt->lease_keeper || kt->dry_run || kt->server_dry_run)
		return;
	k = xcalloc(1, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&k->wake, &attr);
	pthread_condattr_destroy(&attr);
	kt->lease_keeper = k;
	if (pthread_create(&k->thread, NULL, keeper_main, kt) != 0) {
		fprintf(stderr, "drillrig: warning: the drill lock will not be renewed (no thread)\n");
		pthread_cond_destroy(&k->wake);
		pthread_mutex_destroy(&k->lock);
		free(k);
		kt->lease_keeper = NULL;
	}
}

void k8s_lease_keeper_stop(struct k8s_target *kt)
{
	struct k8s_lease_keeper *k = kt->lease_keeper;

	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->stop = 1;
	pthread_cond_signal(&k->wake);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->wake);
	pthread_mutex_destroy(&k->lock);
	free(k);
	kt->lease_keeper = NULL;
}

/* The record as the state directory keeps it: holder and cordoned nodes. */
static char *record_text(struct k8s_target *kt)
{
	json_t *rec;
	char *text;

	pthread_mutex_lock(&kt->lock);
	rec = json_pack("{s:s,s:O,s:O}", "holder", kt->holder, "cordoned", kt->cordoned, "chaos", kt->chaos);
	pthread_mutex_unlock(&kt->lock);
	text = json_dumps(rec, JSON_COMPACT);
	json_decref(rec);
	return text;
}

/* Write both annotations (state NULL: removed) with a renewal. */
static void mirror(struct k8s_target *kt, const char *state)
{
	struct dr_error err = DR_ERROR_INIT;
	char *rec = record_text(kt);
	json_t *p = renewal(clock_wall_ns());

	json_object_set_new(p, "metadata", json_pack("{s:{s:s?,s:s?}}", "annotations", STATE_KEY, state,
						     RECORD_KEY, state ? rec : NULL));
	if (!state) { /* a merge patch removes a key set to null */
		json_t *ann = json_object_get(json_object_get(p, "metadata"), "annotations");

		json_object_set_new(ann, STATE_KEY, json_null());
		json_object_set_new(ann, RECORD_KEY, json_null());
	}
	if (lease_patch(kt, p, &err) != 0) {
		fprintf(stderr, "drillrig: warning: the undos are not copied onto the drill lock (only "
			"this machine's state directory has them): %s\n", err.msg);
		if (kt->journal)
			journal_note(kt->journal, "cannot copy the undos onto the drill lock: %s", err.msg);
	}
	json_decref(p);
	free(rec);
}

/* 1 when a state's undo list is not empty. */
static int has_undos(const char *state)
{
	json_t *s = state ? json_loads(state, 0, NULL) : NULL;
	int n = json_array_size(json_object_get(s, "undos")) > 0;

	json_decref(s);
	return n;
}

void k8s_state_saved_hook(struct target *t, const char *state)
{
	struct k8s_target *kt = t->impl;

	if (!kt->lease_held || kt->dry_run || kt->server_dry_run)
		return;
	pthread_mutex_lock(&kt->lock);
	free(kt->cluster_state);
	kt->cluster_state = state ? xstrdup(state) : NULL;
	kt->state_pending = has_undos(state);
	pthread_mutex_unlock(&kt->lock);
	mirror(kt, state);
}

void k8s_lease_note_record(struct k8s_target *kt)
{
	char *state;

	if (!kt->lease_held || kt->dry_run || kt->server_dry_run)
		return;
	pthread_mutex_lock(&kt->lock);
	state = kt->cluster_state ? xstrdup(kt->cluster_state) : NULL;
	pthread_mutex_unlock(&kt->lock);
	if (state)
		mirror(kt, state);
	free(state);
}

int k8s_lease_park(struct k8s_target *kt, struct dr_error *err)
{
	json_t *p = json_pack("{s:{s:n}}", "spec", "holderIdentity");
	int rc = lease_patch(kt, p, err);

	json_decref(p);
	return rc;
}

int k8s_lease_cluster_state(struct k8s_target *kt, json_t **state, json_t **record,
			    struct dr_error *err)
{
	const struct k8s_region *r = k8s_lease_region(kt->cfg);
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	json_t *lease, *ann;
	int rc;

	*state = *record = NULL;
	k8s_cmd_lease_get(&a, kt->cfg, r);
	rc = k8s_run(kt, &o, &a, NULL, 0, K8S_RUN_READ, NULL, err);
	k8s_argv_release(&a);
	if (rc != 0) {
		int absent = o.ran && o.errout && (strstr(o.errout, "(NotFound)") || strstr(o.errout, " not found"));

		k8s_out_release(&o);
		if (absent)
			dr_error_clear(err);
		return absent ? 0 : rc;
	}
	lease = json_loads(o.out, 0, NULL);
	k8s_out_release(&o);
	ann = json_object_get(json_object_get(lease, "metadata"), "annotations");
	if (json_is_string(json_object_get(ann, STATE_KEY))) {
		*state = json_loads(json_string_value(json_object_get(ann, STATE_KEY)), 0, NULL);
		if (!json_is_object(*state)) {
			json_decref(*state);
			*state = NULL;
			json_decref(lease);
			return dr_error_set(err, "lease/%s carries an unreadable %s annotation",
					    kt->cfg->lease_name, STATE_KEY);
		}
	}
	if (json_is_string(json_object_get(ann, RECORD_KEY)))
		*record = json_loads(json_string_value(json_object_get(ann, RECORD_KEY)), 0, NULL);
	json_decref(lease);
	return 0;
}
