#include "harness/probe/probe_ledger.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "ledger/client/client.h"

/* Probe writes use their own client id, so the workload's history check
 * never sees them. */
static atomic_ullong probe_sequence;

static int in_region(struct target *t, json_t *status, const char *address, const char *ref)
{
	const char *name = t->resolve_region ? t->resolve_region(t, ref) : ref;
	const char *own = t->endpoint_region ? t->endpoint_region(t, address) : NULL;
	json_t *m;
	size_t i;

	if (own)
		return name && strcmp(own, name) == 0;
	json_array_foreach(json_object_get(status, "members"), i, m) {
		const char *a = json_string_value(json_object_get(m, "address"));
		const char *r = json_string_value(json_object_get(m, "region"));

		if (a && strcmp(a, address) == 0)
			return r && name && strcmp(r, name) == 0;
	}
	return 0;
}

/* Both round trips end here when the entry came back. */
static void round_trip_ok(struct probe_result *out, const struct ledger_append_result *res,
			  int64_t start)
{
	double ms = (double)(clock_mono_ns() - start) / 1e6;

	out->ok = 1;
	json_decref(out->data);
	out->data = json_pack("{s:I,s:I,s:f}", "index", (json_int_t)res->index,
			      "term", (json_int_t)res->term, "round_trip_ms", ms);
	snprintf(out->message, sizeof(out->message), "wrote and read back index %llu in %.1f ms",
		 (unsigned long long)res->index, ms);
}

/* The same round trip through a connection of the target's own (etcd's
 * workload connection, a Kubernetes target's canary writes): write, then
 * find the write among the client's entries. */
static void write_read_through(struct probe_result *out, struct workload_conn *c, int64_t timeout_ns)
{
	struct ledger_append_result res;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_entry_ref *entries = NULL;
	int64_t start = clock_mono_ns(), deadline = start + timeout_ns;
	char client_id[64];
	uint64_t seq;
	size_t n = 0;
	int found = 0;

	snprintf(client_id, sizeof(client_id), "probe-%ld", (long)getpid());
	seq = (uint64_t)(clock_wall_ns() / 1000) + atomic_fetch_add(&probe_sequence, 1);
	for (;;) {
		c->append(c, client_id, seq, "drillrig write_read probe", &res);
		if (res.outcome == LEDGER_OUTCOME_OK || clock_mono_ns() >= deadline)
			break;
		clock_sleep_ns(50 * NS_PER_MS); /* a refused write is retried, not hammered */
	}
	if (res.outcome != LEDGER_OUTCOME_OK) {
		snprintf(out->message, sizeof(out->message), "write failed: %s%s%s", res.code,
			 res.message[0] ? ": " : "", res.message);
		goto out;
	}
	c->deadline_ns = deadline;
	if (c->read_all(c, client_id, &entries, &n, &err) != 0) {
		snprintf(out->message, sizeof(out->message), "wrote at index %llu but the read failed: %.900s",
			 (unsigned long long)res.index, err.msg);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		found |= entries[i].sequence == seq && entries[i].index == res.index;
	if (!found) {
		snprintf(out->message, sizeof(out->message),
			 "wrote at index %llu but reading it back did not find it",
			 (unsigned long long)res.index);
		goto out;
	}
	round_trip_ok(out, &res, start);
out:
	free(entries);
}

struct found_write {
	uint64_t sequence, index;
	int found;
};

static void find_write(const json_t *entry, void *payload)
{
	struct found_write *f = payload;

	f->found |= (uint64_t)json_integer_value(json_object_get(entry, "sequence")) == f->sequence &&
		    (uint64_t)json_integer_value(json_object_get(entry, "index")) == f->index;
}

void probe_ledger_write_read(struct probe_result *out, struct target *t, json_t *spec,
			     int64_t timeout_ns, const struct action_ctx *ctx)
{
	struct ledger_client_opts opts = LEDGER_CLIENT_OPTS_INIT;
	struct ledger_append_result res;
	struct dr_error err = DR_ERROR_INIT;
	struct ledger_client *c = NULL;
	const char *region = plan_arg_str(spec, "region");
	char **endpoints = NULL, client_id[64], *auth = NULL;
	size_t n = 0;
	json_t *req = NULL, *answer = NULL, *entry, *status = NULL;
	uint64_t seq;
	int64_t start = clock_mono_ns(), deadline = start + timeout_ns;
	enum ledger_code code = LEDGER_CODE_COUNT;

	(void)ctx;
	if (!t->endpoints || t->endpoints(t, &endpoints, &n, &err) != 0 || n == 0) {
		struct workload_conn *canary = NULL;
		struct canary_pace pace;

		/* No endpoints (a Kubernetes target without a workload endpoint):
		 * its canary writes, when configured, are the write path. */
		if (n == 0 && !err.msg[0] && t->canary_connect &&
		    t->canary_connect(t, &canary, &pace, &err) == 0 && canary) {
			write_read_through(out, canary, timeout_ns);
			canary->close(canary);
			goto out;
		}
		snprintf(out->message, sizeof(out->message), "no write path to the ledger: %.900s",
			 err.msg[0] ? err.msg : "the target has none (a Kubernetes target needs "
			 "workload_endpoint or canary in its configuration for write_read)");
		goto out;
	}
	if (region && t->status(t, &status, timeout_ns, &err) == 0) {
		/* The application connects to this region's nodes first; like any
		 * client it follows NOT_LEADER to wherever the leader is. */
		char **ordered = xcalloc(n + 1, sizeof(*ordered));
		size_t k = 0;

		for (size_t i = 0; i < n; i++)
			if (in_region(t, status, endpoints[i], region))
				ordered[k++] = endpoints[i];
		if (k == 0) {
			free(ordered);
			snprintf(out->message, sizeof(out->message), "no node in region %s", region);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if (!in_region(t, status, endpoints[i], region))
				ordered[k++] = endpoints[i];
		free(endpoints);
		endpoints = ordered;
	}
	opts.timeout_ms = (long)(timeout_ns / NS_PER_MS / 2 > 0 ? timeout_ns / NS_PER_MS / 2 : 1);
	opts.admin_timeout_ms = opts.timeout_ms;
	opts.api = t->api;
	opts.v1_scope = t->v1_scope;
	/* the client finds the leader with GetClusterStatus, an admin call */
	auth = t->admin_token ? t->admin_token(t) : NULL;
	opts.admin_token = auth;
	if (t->workload_connect) {
		struct workload_conn *wc = NULL;

		if (t->workload_connect(t, timeout_ns / 2, &wc, &err) != 0) {
			snprintf(out->message, sizeof(out->message), "cannot connect: %.900s", err.msg);
			goto out;
		}
		write_read_through(out, wc, timeout_ns);
		wc->close(wc);
		goto out;
	}
	if (ledger_client_new(&c, (const char *const *)endpoints, n, &opts, &err) != 0) {
		snprintf(out->message, sizeof(out->message), "%s", err.msg);
		goto out;
	}
	snprintf(client_id, sizeof(client_id), "probe-%ld", (long)getpid());
	seq = (uint64_t)(clock_wall_ns() / 1000) + atomic_fetch_add(&probe_sequence, 1);
	/* Follow NOT_LEADER redirects within the probe's own timeout. */
	/* Within the probe's timeout, keep trying: the client moves on to the
	 * next node after a dead one and follows NOT_LEADER (same sequence:
	 * the ledger deduplicates). */
	for (;;) {
		ledger_append(c, client_id, seq, "drillrig write_read probe", &res);
		if (res.outcome == LEDGER_OUTCOME_OK || clock_mono_ns() >= deadline)
			break;
		if (strcmp(res.code, "NOT_LEADER") != 0)
			clock_sleep_ns(5 * NS_PER_MS);
	}
	if (res.outcome != LEDGER_OUTCOME_OK) {
		snprintf(out->message, sizeof(out->message), "append failed: %s%s%s", res.code,
			 res.message[0] ? ": " : "", res.message);
		goto out;
	}
	if (t->api == LEDGER_API_V1) {
		/* ledger.v1 reads by key: list the probe's own prefix. */
		struct found_write f = { seq, res.index, 0 };

		if (ledger_read_client(c, client_id, find_write, &f, &err) != 0)
			snprintf(out->message, sizeof(out->message),
				 "wrote at block height %llu but ListEntities failed: %.900s",
				 (unsigned long long)res.index, err.msg);
		else if (!f.found)
			snprintf(out->message, sizeof(out->message),
				 "wrote at block height %llu but ListEntities did not return it",
				 (unsigned long long)res.index);
		else
			round_trip_ok(out, &res, start);
		goto out;
	}
	req = json_pack("{s:I,s:i}", "from_index", (json_int_t)res.index, "limit", 1);
	if (ledger_call(c, -1, "inferadb.ledger.v1.Ledger/Read", req, &answer, &code, &err) != 0 ||
	    code != LEDGER_OK) {
		if (!err.msg[0])
			snprintf(err.msg, sizeof(err.msg), "%s %s", ledger_code_name(code),
				 json_string_value(json_object_get(answer, "message")) ?: "");
		snprintf(out->message, sizeof(out->message), "appended at index %llu but the read failed: %.900s",
			 (unsigned long long)res.index, err.msg);
		goto out;
	}
	entry = json_array_get(json_object_get(answer, "entries"), 0);
	if (!entry || (uint64_t)json_integer_value(json_object_get(entry, "sequence")) != seq ||
	    strcmp(json_string_value(json_object_get(entry, "client_id")) ?: "", client_id) != 0) {
		snprintf(out->message, sizeof(out->message),
			 "appended at index %llu but reading it back gave another entry",
			 (unsigned long long)res.index);
		goto out;
	}
	round_trip_ok(out, &res, start);
out:
	ledger_client_free(c);
	free(auth);
	json_decref(req);
	json_decref(answer);
	json_decref(status);
	for (size_t i = 0; i < n; i++)
		free(endpoints[i]);
	free(endpoints);
}
