/* recover's side of the Kubernetes drill lock: decide whether the Lease an
 * interrupted drill left behind may go (k8s_lease_decide), delete it, and
 * take it for the recovery itself. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/target/k8s/k8s_impl.h"
#include "harness/target/k8s/k8s_state.h"

/* kill(pid, 0) says whether the pid exists; EPERM means it does (another
 * user's process).  A zombie (killed, not yet reaped by its parent) is
 * gone.  A recycled pid reads as alive: we then refuse, which is the safe
 * side (the Lease still expires). */
static int local_pid_alive(long pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* "pid (comm) S ...": the state follows the last ')'. */
	p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* The record's cordoned nodes become t's, so that uncordoning covers them. */
static void adopt_cordoned(struct k8s_target *kt, json_t *record)
{
	json_t *c;
	size_t i;

	json_array_foreach(json_object_get(record, "cordoned"), i, c) {
		const char *region = json_string_value(json_object_get(c, "region"));
		const char *node = json_string_value(json_object_get(c, "node"));

		/* A record from another configuration could name a region we lack. */
		if (!region || !node || !k8s_config_region(kt->cfg, region))
			continue;
		pthread_mutex_lock(&kt->lock);
		json_array_append_new(kt->cordoned, json_pack("{s:s,s:s}", "region", region, "node", node));
		pthread_mutex_unlock(&kt->lock);
	}
}

int target_k8s_recover_lock(struct target *t, json_t *record, int take, char *msg, size_t len,
			    struct dr_error *err)
{
	struct k8s_target *kt = t->impl;
	const struct k8s_region *r = k8s_lease_region(kt->cfg);
	struct k8s_lease_facts f;
	struct k8s_lease_info li;
	enum k8s_lease_verdict v;
	char host[256] = "", hhost[256], why[700];
	long pid = 0;
	int absent = 0, rc;

	msg[0] = '\0';
	if (kt->dry_run) {
		/* Nothing is read in a dry run: show what a recovery runs. */
		k8s_lease_get(kt, &li, NULL, err);
		fprintf(kt->out, "  (the Lease is deleted only when its holder is gone or it expired)\n");
		k8s_lease_delete(kt, err);
		snprintf(msg, len, "dry run: the drill lock lease/%s in %s/%s would be checked",
			 kt->cfg->lease_name, r->context, r->namespace);
		if (take)
			adopt_cordoned(kt, record);
		return 0;
	}
	rc = k8s_lease_get(kt, &li, &absent, err);
	if (rc != 0 && !absent)
		return dr_error_wrap(err, "cannot read the drill lock lease/%s in %s/%s",
				     kt->cfg->lease_name, r->context, r->namespace);
	gethostname(host, sizeof(host) - 1);
	memset(&f, 0, sizeof(f));
	f.holder = absent ? NULL : li.holder;
	f.renew_s = li.renew_s;
	f.duration_s = li.duration_s;
	f.now_s = clock_wall_ns() / NS_PER_SEC;
	f.recorded = json_string_value(json_object_get(record, "holder"));
	f.self = kt->holder;
	f.host = host;
	if (f.holder && k8s_holder_parse(f.holder, hhost, sizeof(hhost), &pid) == 0 &&
	    strcmp(hhost, host) == 0)
		f.holder_pid_alive = local_pid_alive(pid);
	v = k8s_lease_decide(&f, why, sizeof(why));
	if (v == K8S_LEASE_REFUSE) {
		dr_error_set(err, "%s (lease/%s in %s/%s); nothing was changed", why,
			     kt->cfg->lease_name, r->context, r->namespace);
		return TARGET_K8S_EHELD;
	}
	if (v == K8S_LEASE_RELEASE) {
		if (k8s_lease_delete(kt, err) != 0)
			return dr_error_wrap(err, "cannot release the drill lock held by %s", li.holder);
		snprintf(msg, len, "released: %s", why);
	} else {
		snprintf(msg, len, "%s", why);
	}
	if (!take)
		return 0;
	if (k8s_lease_acquire(kt, err) != 0)
		return dr_error_wrap(err, "cannot take the drill lock for the recovery");
	adopt_cordoned(kt, record);
	return 0;
}
