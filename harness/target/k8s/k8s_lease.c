/* The drill lock across machines: a coordination.k8s.io Lease in the
 * primary region's namespace.  `kubectl create` is atomic (AlreadyExists
 * when another runner holds it), so two drills from different runners
 * cannot overlap.  A Lease left by a crashed runner expires after its
 * leaseDurationSeconds and is then taken over; `drillrig recover` deletes
 * it at once when its holder is provably gone (harness/target/k8s/k8s_recover.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/target/k8s/k8s_impl.h"

const struct k8s_region *k8s_lease_region(const struct k8s_config *cfg)
{
	const struct k8s_region *r = k8s_config_region(cfg, "primary");

	return r ? r : &cfg->regions[0];
}

/* RFC 3339 (MicroTime) to seconds since the epoch; -1 when unparsable. */
static int64_t rfc3339_seconds(const char *s)
{
	struct tm tm;
	const char *rest;

	if (!s)
		return -1;
	memset(&tm, 0, sizeof(tm));
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -1;
	return (int64_t)timegm(&tm);
}

static int not_found(const struct k8s_out *o)
{
	return o->errout && (strstr(o->errout, "(NotFound)") || strstr(o->errout, " not found"));
}

int k8s_lease_get(struct k8s_target *kt, struct k8s_lease_info *li, int *absent,
		  struct dr_error *err)
{
	const struct k8s_region *r = k8s_lease_region(kt->cfg);
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	json_t *lease = NULL, *spec;
	int rc;

	memset(li, 0, sizeof(*li));
	li->renew_s = -1;
	if (absent)
		*absent = 0;
	k8s_cmd_lease_get(&a, kt->cfg, r);
	rc = k8s_run(kt, &o, &a, NULL, 0, K8S_RUN_READ, NULL, err);
	if (rc < 0 && absent && o.ran && o.exit_code > 0 && not_found(&o))
		*absent = 1;
	if (rc == 0) {
		lease = json_loads(o.out, 0, NULL);
		spec = json_object_get(lease, "spec");
		if (!json_is_object(spec)) {
			rc = dr_error_set(err, "lease/%s has no spec", kt->cfg->lease_name);
		} else {
			str_copy(li->holder, sizeof(li->holder),
				 json_string_value(json_object_get(spec, "holderIdentity")) ?: "(nobody)");
			li->renew_s = rfc3339_seconds(json_string_value(json_object_get(spec, "renewTime")));
			if (li->renew_s < 0)
				li->renew_s = rfc3339_seconds(json_string_value(json_object_get(spec, "acquireTime")));
			li->duration_s = (int)json_integer_value(json_object_get(spec, "leaseDurationSeconds"));
		}
	}
	json_decref(lease);
	k8s_out_release(&o);
	k8s_argv_release(&a);
	return rc;
}

static int lease_create(struct k8s_target *kt, struct k8s_out *o, struct dr_error *err)
{
	const struct k8s_region *r = k8s_lease_region(kt->cfg);
	struct k8s_argv a = K8S_ARGV_INIT;
	char *manifest = k8s_lease_manifest(kt->cfg, r, kt->holder, clock_wall_ns());
	int rc;

	k8s_cmd_lease_create(&a, kt->cfg, r, kt->server_dry_run);
	rc = k8s_run(kt, o, &a, manifest, 0, K8S_RUN_CHANGE, NULL, err);
	free(manifest);
	k8s_argv_release(&a);
	return rc;
}

int k8s_lease_delete(struct k8s_target *kt, struct dr_error *err)
{
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	int rc;

	k8s_cmd_lease_delete(&a, kt->cfg, k8s_lease_region(kt->cfg), kt->server_dry_run);
	rc = k8s_run(kt, &o, &a, NULL, 0, K8S_RUN_CHANGE, NULL, err);
	k8s_out_release(&o);
	k8s_argv_release(&a);
	return rc;
}

static int already_exists(const struct k8s_out *o)
{
	return (o->errout && (strstr(o->errout, "AlreadyExists") || strstr(o->errout, "already exists")));
}

int k8s_lease_acquire(struct k8s_target *kt, struct dr_error *err)
{
	const struct k8s_region *r = k8s_lease_region(kt->cfg);
	struct k8s_out o = K8S_OUT_INIT;
	struct k8s_lease_info li;
	int64_t now;
	int rc;

	rc = lease_create(kt, &o, err);
	if (rc == 0 || rc == 1) {
		kt->lease_held = rc == 0 && !kt->server_dry_run;
		if (kt->lease_held)
			k8s_lease_keeper_start(kt);
		k8s_out_release(&o);
		return 0;
	}
	if (!already_exists(&o)) {
		k8s_out_release(&o);
		return dr_error_wrap(err, "cannot create the drill lock lease/%s in %s/%s",
				     kt->cfg->lease_name, r->context, r->namespace);
	}
	k8s_out_release(&o);
	if (k8s_lease_get(kt, &li, NULL, err) != 0)
		return dr_error_wrap(err, "the drill lock lease/%s exists but cannot be read",
				     kt->cfg->lease_name);
	now = clock_wall_ns() / NS_PER_SEC;
	if (strcmp(li.holder, "(nobody)") == 0)
		return dr_error_set(err, "a drill that could not finish its rollback left its undos on "
				    "lease/%s in %s/%s: run `drillrig recover --target kubernetes "
				    "--target-config %s` (from any machine) first", kt->cfg->lease_name,
				    r->context, r->namespace, kt->cfg->path);
	if (li.renew_s < 0 || li.duration_s <= 0 || li.renew_s + li.duration_s > now)
		return dr_error_set(err, "another drill holds the lock: lease/%s in %s/%s is held by %s "
				    "(renewed %llds ago, lease %ds); wait, or run `drillrig recover` on that runner",
				    kt->cfg->lease_name, r->context, r->namespace, li.holder,
				    (long long)(li.renew_s >= 0 ? now - li.renew_s : 0), li.duration_s);
	/* Expired: its runner died without releasing it.  Delete and create
	 * again; if another runner wins the race, our create fails. */
	if (k8s_lease_delete(kt, err) != 0)
		return dr_error_wrap(err, "cannot remove the expired drill lock held by %s", li.holder);
	rc = lease_create(kt, &o, err);
	k8s_out_release(&o);
	if (rc != 0)
		return dr_error_wrap(err, "cannot take over the expired drill lock lease/%s",
				     kt->cfg->lease_name);
	kt->lease_held = !kt->server_dry_run;
	if (kt->lease_held)
		k8s_lease_keeper_start(kt);
	return 0;
}

void k8s_lease_release(struct k8s_target *kt)
{
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_lease_info li;
	int pending;

	k8s_lease_keeper_stop(kt);
	if (!kt->lease_held)
		return;
	pthread_mutex_lock(&kt->lock);
	pending = kt->state_pending;
	pthread_mutex_unlock(&kt->lock);
	/* Only our own: a Lease taken over after ours expired belongs to someone else. */
	if (k8s_lease_get(kt, &li, NULL, &err) == 0 && strcmp(li.holder, kt->holder) != 0) {
		kt->lease_held = 0;
		fprintf(stderr, "drillrig: warning: the drill lock is now held by %s; left in place\n",
			li.holder);
		k8s_state_forget(kt);
		return;
	}
	if (pending) {
		/* Undos left: the Lease keeps them for recover, on any machine. */
		kt->lease_held = 0;
		if (k8s_lease_park(kt, &err) != 0)
			fprintf(stderr, "drillrig: warning: cannot hand the drill lock to recover: %s\n",
				err.msg);
		else
			fprintf(stderr, "drillrig: the undos the drill could not run stay on lease/%s: "
				"`drillrig recover --target kubernetes --target-config %s` finishes them "
				"from any machine\n", kt->cfg->lease_name, kt->cfg->path);
		return;
	}
	kt->lease_held = 0;
	if (k8s_lease_delete(kt, &err) < 0) {
		/* The record stays: `drillrig recover` finds whose Lease it is. */
		fprintf(stderr, "drillrig: warning: cannot release the drill lock: %s\n", err.msg);
		return;
	}
	k8s_state_forget(kt);
}
