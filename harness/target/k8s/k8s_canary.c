/* The canary writes' connection (harness/target/k8s/k8s_canary.h): every write
 * and every read-back page is one call to the leader's pod through the
 * region's transport (harness/target/k8s/k8s_ledger.c), journaled like
 * any kubectl command.
 * Used by the recorder's writer thread, then (after it stopped) by the
 * read-back: never by two threads at once. */
#include "harness/target/k8s/k8s_canary_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/core/journal.h"
#include "harness/target/k8s/k8s_impl.h"

/* One read-back page is retried (re-finding the leader) this long. */
#define READ_BACK_BUDGET_NS (60 * NS_PER_SEC)
#define READ_BACK_RETRY_NS (500 * NS_PER_MS)
/* 10 M entries through kubectl exec is already an hour: a bound, not a goal. */
#define READ_BACK_MAX_PAGES 10000

struct canary_conn {
	struct workload_conn base;
	struct k8s_target *kt;
	const struct k8s_region *region;  /* the leader's region; NULL: find it again */
	char pod[254];                    /* the leader's pod */
	int64_t leader_id;
	uint64_t last_index;              /* the ledger's last index at the last status read */
	uint64_t from_index;              /* runbook read-back starts here (0: not known yet) */
	uint64_t min_acked_index;         /* lowest index a canary was acknowledged at */
	int64_t started_s;                /* wall seconds at connect: every write's expiresAt
					   * derives from it, so a retry is the same write */
};

/* The leader's pod, from the cluster status (members carry their pod). */
static int find_leader(struct canary_conn *cc, struct dr_error *err)
{
	const struct k8s_config *cfg = cc->kt->cfg;
	json_t *st = NULL, *leader, *m;
	const char *pod, *region;
	int64_t id;
	int rc = -1;

	cc->region = NULL;
	if (k8s_read_status(cc->kt, &st, cfg->canary.timeout_ns, NULL, err) != 0)
		return -1;
	cc->last_index = (uint64_t)json_integer_value(json_object_get(st, "last_index"));
	/* Ledger/Read pages through the whole ledger: start where it stood
	 * before the first canary write (none is sent before this succeeds). */
	if (!cc->from_index)
		cc->from_index = cc->last_index + 1;
	leader = json_object_get(st, "leader");
	id = json_integer_value(json_object_get(leader, "id"));
	if (!json_is_object(leader) || id <= 0) {
		dr_error_set(err, "the cluster has no leader");
		goto out;
	}
	m = ledger_member_by_id(json_object_get(st, "members"), id);
	pod = json_string_value(json_object_get(m, "pod"));
	region = json_string_value(json_object_get(m, "region"));
	if (pod && region && k8s_config_region(cfg, region)) {
		str_copy(cc->pod, sizeof(cc->pod), pod);
		cc->region = k8s_config_region(cfg, region);
		cc->leader_id = id;
		rc = 0;
		goto out;
	}
	dr_error_set(err, "the leader (node %lld) maps to no pod of the configuration "
		     "(give each region node_ids)", (long long)id);
out:
	json_decref(st);
	return rc;
}

static void canary_append(struct workload_conn *c, const char *client_id, uint64_t sequence,
			  const char *payload, struct ledger_append_result *res)
{
	struct canary_conn *cc = c->impl;
	const struct k8s_config *cfg = cc->kt->cfg;
	struct dr_error err = DR_ERROR_INIT;
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	struct k8s_canary_exec x;
	int64_t start = clock_mono_ns();
	json_t *req;

	memset(res, 0, sizeof(*res));
	if (!cc->region && find_leader(cc, &err) != 0) {
		/* Nowhere to send it: nothing was sent. */
		res->outcome = LEDGER_OUTCOME_DEFINITE_FAILURE;
		str_copy(res->code, sizeof(res->code), "UNAVAILABLE");
		/* Truncation is fine: the message is for the journal. */
		str_copy(res->message, sizeof(res->message), "no leader to write through: ");
		str_copy(res->message + strlen(res->message), sizeof(res->message) - strlen(res->message),
			 err.msg);
		res->latency_ns = clock_mono_ns() - start;
		return;
	}
	req = k8s_canary_write_request(cfg, client_id, sequence, payload, cc->started_s);
	if (cc->region->transport != K8S_TRANSPORT_EXEC_GRPCURL) {
		struct k8s_call_result cr = K8S_CALL_RESULT_INIT;
		json_t *ans = NULL;
		int rc = k8s_ledger_call(cc->kt, cc->region, cc->pod, K8S_CALL_WRITE, req,
					 cfg->canary.timeout_ns, K8S_RUN_CHANGE, NULL, &ans, &cr, &err);
		char *text = ans ? json_dumps(ans, JSON_COMPACT) : NULL;

		k8s_canary_classify_call(cfg, rc == 0, text, cr.answered, cr.grpc_code, cr.timed_out,
					 cr.not_sent, err.msg, res);
		free(text);
		json_decref(ans);
	} else {
		k8s_cmd_grpc(&a, cfg, cc->region, cc->pod, K8S_CALL_WRITE, req);
		k8s_run(cc->kt, &o, &a, NULL, cfg->canary.timeout_ns, K8S_RUN_CHANGE, NULL, &err);
		x.ran = o.ran;
		x.timed_out = o.timed_out;
		x.exit_code = o.exit_code;
		x.out = o.out;
		x.errout = o.errout;
		k8s_canary_classify(cfg, &x, res);
	}
	res->node = (int)cc->leader_id;
	if (res->outcome == LEDGER_OUTCOME_OK && res->index &&
	    (!cc->min_acked_index || res->index < cc->min_acked_index))
		cc->min_acked_index = res->index;
	/* Leadership may have moved: ask again before the next write. */
	if (res->outcome != LEDGER_OUTCOME_OK)
		cc->region = NULL;
	res->latency_ns = clock_mono_ns() - start;
	k8s_out_release(&o);
	k8s_argv_release(&a);
	json_decref(req);
}

/* One page, from the leader; 0 when it parsed (page extended). */
static int read_page(struct canary_conn *cc, struct k8s_canary_page *page, const char *client_id,
		     struct dr_error *err)
{
	const struct k8s_config *cfg = cc->kt->cfg;
	struct k8s_argv a = K8S_ARGV_INIT;
	struct k8s_out o = K8S_OUT_INIT;
	size_t before = page->n;
	json_t *req;
	int rc = -1;

	if (!cc->region && find_leader(cc, err) != 0)
		return -1;
	req = k8s_canary_read_request(cfg, client_id, page->next_from, page->next_token);
	k8s_cmd_grpc(&a, cfg, cc->region, cc->pod, K8S_CALL_READ, req);
	if (cc->region->transport != K8S_TRANSPORT_EXEC_GRPCURL) {
		json_t *ans = NULL;
		char *text;

		if (k8s_ledger_call(cc->kt, cc->region, cc->pod, K8S_CALL_READ, req, cfg->canary.timeout_ns,
				    K8S_RUN_READ, NULL, &ans, NULL, err) == 0) {
			text = json_dumps(ans, JSON_COMPACT);
			rc = k8s_canary_parse_page(page, cfg, client_id, text, err) == 0 ? 0 : -1;
			free(text);
		}
		json_decref(ans);
	} else if (k8s_run(cc->kt, &o, &a, NULL, cfg->canary.timeout_ns, K8S_RUN_READ, NULL, err) == 0 &&
		   k8s_canary_parse_page(page, cfg, client_id, o.out, err) == 0) {
		rc = 0;
	}
	if (rc != 0) {
		page->n = before; /* a half-parsed page is read again */
		cc->region = NULL;
	}
	k8s_out_release(&o);
	k8s_argv_release(&a);
	json_decref(req);
	return rc;
}

static int canary_read_all(struct workload_conn *c, const char *client_id,
			   struct ledger_entry_ref **out, size_t *n, struct dr_error *err)
{
	struct canary_conn *cc = c->impl;
	struct k8s_canary_page page;
	int pages = 0;

	memset(&page, 0, sizeof(page));
	/* After an unsafe promotion the new leader's log can be shorter than
	 * it stood at the start: never start above an acknowledged canary. */
	page.next_from = cc->from_index ? cc->from_index : 1;
	if (cc->min_acked_index && cc->min_acked_index < page.next_from)
		page.next_from = cc->min_acked_index;
	/* Read from the leader as it is now, not the last write's pod. */
	cc->region = NULL;
	do {
		int64_t deadline = clock_mono_ns() + READ_BACK_BUDGET_NS;

		if (c->deadline_ns && c->deadline_ns < deadline)
			deadline = c->deadline_ns;

		while (read_page(cc, &page, client_id, err) != 0) {
			if (clock_mono_ns() + READ_BACK_RETRY_NS > deadline) {
				free(page.entries);
				return dr_error_wrap(err, "cannot read the canary writes back (page %d, "
						     "retried for %llds)", pages + 1,
						     (long long)(READ_BACK_BUDGET_NS / NS_PER_SEC));
			}
			clock_sleep_ns(READ_BACK_RETRY_NS);
		}
	} while (page.more && ++pages < READ_BACK_MAX_PAGES);
	if (page.more) {
		free(page.entries);
		return dr_error_set(err, "the canary read-back stopped after %d pages: the ledger grew "
				    "faster than it can be read through kubectl exec", READ_BACK_MAX_PAGES);
	}
	*out = page.entries;
	*n = page.n;
	return 0;
}

static void canary_close(struct workload_conn *c)
{
	free(c->impl);
}

int k8s_canary_connect(struct target *t, struct workload_conn **out, struct canary_pace *pace,
		       struct dr_error *err)
{
	struct k8s_target *kt = t->impl;
	struct canary_conn *cc;

	*out = NULL;
	/* Canaries write into the production ledger: only when asked, and
	 * never when a workload measures RPO already. */
	if (!kt->cfg->canary.enabled || kt->cfg->workload_endpoint)
		return 0;
	cc = xcalloc(1, sizeof(*cc));
	cc->kt = kt;
	cc->started_s = clock_wall_ns() / NS_PER_SEC;
	/* No leader right now is not fatal: each write looks for it again. */
	if (find_leader(cc, err) != 0 && kt->journal)
		journal_note(kt->journal, "canary: no leader yet (%s); the first write looks again", err->msg);
	dr_error_clear(err);
	if (kt->cfg->api == K8S_API_RUNBOOK && cc->from_index == 1 && kt->journal)
		journal_note(kt->journal, "canary: the status carries no last_index; the read-back "
			     "reads the ledger from index 1");
	cc->base.impl = cc;
	cc->base.append = canary_append;
	cc->base.read_all = canary_read_all;
	cc->base.close = canary_close;
	pace->interval_ns = kt->cfg->canary.interval_ns;
	/* Finding the leader and one write, a few times over. */
	pace->baseline_ns = 3 * kt->cfg->canary.timeout_ns;
	*out = &cc->base;
	return 0;
}

int k8s_canary_check(struct k8s_target *kt, char *where, size_t where_len, struct dr_error *err)
{
	struct canary_conn cc;
	struct k8s_canary_page page;
	char client[64];
	int rc;

	memset(&cc, 0, sizeof(cc));
	memset(&page, 0, sizeof(page));
	cc.kt = kt;
	snprintf(where, where_len, "cluster");
	if (find_leader(&cc, err) != 0)
		return -1;
	snprintf(where, where_len, "%s/%s", cc.region->context, cc.pod);
	snprintf(client, sizeof(client), "drillrig-preflight-%lld", (long long)(clock_wall_ns() / NS_PER_SEC));
	page.next_from = cc.last_index + 1;
	rc = read_page(&cc, &page, client, err);
	free(page.entries);
	return rc;
}
