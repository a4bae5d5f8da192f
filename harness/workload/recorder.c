#include "harness/workload/recorder.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assertions/check.h"
#include "assertions/history.h"
#include "assertions/measure.h"
#include "assertions/objectives.h"
#include "assertions/results_json.h"
#include "common/clock.h"
#include "common/fsutil.h"
#include "common/strbuf.h"
#include "harness/plan/plan.h"
#include "harness/workload/workload_ledger.h"
#include "ledger/client/client.h"

/* A logical write is retried (same sequence) until acknowledged or until
 * this long after its first attempt; then the workload moves on. */
#define WRITE_DEADLINE_NS (10 * NS_PER_SEC)
/* Pause after a failed attempt when every node refused: a dead cluster
 * must not turn the writer into a busy loop. */
#define FAILED_BACKOFF_NS (5 * NS_PER_MS)
#define ANSWERED_BACKOFF_NS (1 * NS_PER_MS)
#define STATUS_CALL_TIMEOUT_MS 200

struct node_poller {
	struct recorder *r;
	pthread_t thread;
	int running;
	size_t member;          /* index into the target's endpoints */
	/* Latest answer of this node (guarded by r->status_lock). */
	json_t *latest;
	int64_t latest_ns;
};

struct recorder {
	struct target *target;
	struct journal *j;
	struct progress *progress;
	char client_id[96];
	char **endpoints;
	size_t nendpoints;
	int64_t call_timeout_ns;
	int64_t poll_interval_ns;
	double rate;
	int payload_size;
	atomic_int stop;

	/* workload: written by the writer thread only (assertions/history.h) */
	pthread_t writer;
	int writer_running;
	struct history history;

	/* status: node pollers write latest answers; the aggregator thread
	 * owns the timeline */
	pthread_mutex_t status_lock;
	struct node_poller *pollers;
	size_t npollers;        /* one per member when the target has member_status */
	pthread_t aggregator;
	int aggregator_running;
	struct status_timeline timeline;
	uint64_t last_leader;
	uint64_t last_term;

	int64_t drill_end_ns;   /* when the workload stopped */
	int status_only;        /* no workload: measure from the status timeline */
	/* Canary writes (status-only targets that have them): the writer
	 * thread writes through this connection at canary_interval_ns, then
	 * the read-back uses it (owned here, closed by recorder_free). */
	struct workload_conn *canary;
	int64_t canary_interval_ns;
	int64_t canary_baseline_ns;
	int64_t retry_pause_ns; /* between attempts of one write; 0: the fast backoffs */
	atomic_int acked;       /* the writer saw an acknowledged write */
	pthread_mutex_t error_lock;
	char last_error[300];   /* the writer's last failed attempt (error_lock) */
	atomic_llong fault_ns;
	atomic_llong restore_ns;
	int64_t baseline_start_ns;  /* 0: no baseline period */
	int64_t baseline_end_ns;
	int objective_failed;
	char objective_reason[512];
};

static void block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
}

/* ---- workload ----------------------------------------------------------- */

static enum history_error map_error(const struct ledger_append_result *res)
{
	static const struct {
		const char *code;
		enum history_error e;
	} map[] = {
		{ "NOT_LEADER", HISTORY_ERR_NOT_LEADER },
		{ "INVALID_ARGUMENT", HISTORY_ERR_INVALID_ARGUMENT },
		{ "UNAVAILABLE", HISTORY_ERR_UNAVAILABLE },
		{ "UNKNOWN_OUTCOME", HISTORY_ERR_UNKNOWN_OUTCOME },
		{ "TIMEOUT", HISTORY_ERR_TIMEOUT },
		{ "CONNECT", HISTORY_ERR_CONNECT },
	};

	if (res->outcome == LEDGER_OUTCOME_OK)
		return HISTORY_ERR_NONE;
	if (strcmp(res->code, "TRANSPORT") == 0)
		return res->timed_out ? HISTORY_ERR_TIMEOUT :
		       res->refused ? HISTORY_ERR_CONNECT : HISTORY_ERR_OTHER;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(res->code, map[i].code) == 0)
			return map[i].e;
	return HISTORY_ERR_OTHER;
}

/* The target's own workload connection, or the ledger client. */
static int open_conn(struct recorder *r, struct workload_conn **out, struct dr_error *err)
{
	char *auth;
	int rc;

	if (r->canary) {
		*out = r->canary;
		return 0;
	}
	if (r->target->workload_connect)
		return r->target->workload_connect(r->target, r->call_timeout_ns, out, err);
	auth = r->target->admin_token ? r->target->admin_token(r->target) : NULL;
	rc = workload_ledger_connect(out, r->endpoints, r->nendpoints, r->call_timeout_ns,
				     r->target->api, r->target->v1_scope, auth, err);
	free(auth);
	return rc;
}

static void sleep_unless_stopped(struct recorder *r, int64_t ns)
{
	int64_t until = clock_mono_ns() + ns;

	while (!atomic_load(&r->stop)) {
		int64_t left = until - clock_mono_ns();

		if (left <= 0)
			return;
		clock_sleep_ns(left < 10 * NS_PER_MS ? left : 10 * NS_PER_MS);
	}
}

static void *writer_main(void *arg)
{
	struct recorder *r = arg;
	struct workload_conn *c = NULL;
	struct dr_error err = DR_ERROR_INIT;
	char *payload = xmalloc((size_t)r->payload_size + 1);
	uint64_t seq = 1;
	uint32_t attempt = 1;
	int64_t first_attempt_ns = 0, next_due = clock_mono_ns();
	int64_t interval = r->rate > 0 ? (int64_t)(1e9 / r->rate) : 0;

	if (open_conn(r, &c, &err) != 0) {
		journal_note(r->j, "workload could not start: %s", err.msg);
		free(payload);
		return NULL;
	}
	memset(payload, 'x', (size_t)r->payload_size);
	payload[r->payload_size] = '\0';
	while (!atomic_load(&r->stop)) {
		struct ledger_append_result res;
		struct history_op op;

		if (interval && attempt == 1) {
			int64_t now = clock_mono_ns();

			if (now < next_due) {
				clock_sleep_ns(next_due - now < 10 * NS_PER_MS ? next_due - now : 10 * NS_PER_MS);
				continue;
			}
			next_due += interval;
		}
		memset(&op, 0, sizeof(op));
		op.sequence = seq;
		op.attempt = attempt;
		op.invoke_ns = clock_mono_ns();
		if (attempt == 1)
			first_attempt_ns = op.invoke_ns;
		c->append(c, r->client_id, seq, payload, &res);
		op.complete_ns = clock_mono_ns();
		op.node = (uint16_t)res.node;
		op.outcome = res.outcome == LEDGER_OUTCOME_OK ? HISTORY_OK :
			     res.outcome == LEDGER_OUTCOME_DEFINITE_FAILURE ? HISTORY_FAILED : HISTORY_UNKNOWN;
		op.error = (uint8_t)map_error(&res);
		op.index = res.outcome == LEDGER_OUTCOME_OK ? res.index : 0;
		if (res.outcome == LEDGER_OUTCOME_OK) {
			atomic_store(&r->acked, 1);
		} else {
			pthread_mutex_lock(&r->error_lock);
			snprintf(r->last_error, sizeof(r->last_error), "%s%s%.250s", res.code,
				 res.message[0] ? ": " : "", res.message);
			pthread_mutex_unlock(&r->error_lock);
		}
		if (history_append(&r->history, &op) != 0) {
			journal_note(r->j, "workload stopped: the history reached its cap of %zu attempts",
				     r->history.max_ops);
			break;
		}
		if (res.outcome == LEDGER_OUTCOME_OK ||
		    op.complete_ns - first_attempt_ns > WRITE_DEADLINE_NS) {
			seq++;
			attempt = 1;
			continue;
		}
		attempt++;
		/* A paced writer (canaries) waits its turn.  Otherwise NOT_LEADER
		 * names the leader: retry there at once.  A live node's refusal is
		 * retried almost at once too (the backoff bounds how precisely the
		 * end of an outage is seen); a dead or silent node backs off a
		 * little so a dead cluster is not hammered. */
		if (r->retry_pause_ns)
			sleep_unless_stopped(r, r->retry_pause_ns);
		else if (op.error != HISTORY_ERR_NOT_LEADER)
			clock_sleep_ns(res.http_status ? ANSWERED_BACKOFF_NS : FAILED_BACKOFF_NS);
	}
	if (c != r->canary)
		c->close(c);
	free(payload);
	return NULL;
}

/* ---- status ------------------------------------------------------------- */

/* One member's view, polled through the target (struct target's
 * member_status), so one hung member never stalls the others. */
static void *node_poller_main(void *arg)
{
	struct node_poller *np = arg;
	struct recorder *r = np->r;
	struct dr_error err = DR_ERROR_INIT;

	while (!atomic_load(&r->stop)) {
		int64_t start = clock_mono_ns(), left;
		json_t *status = NULL;

		if (r->target->member_status(r->target, np->member, &status,
					     STATUS_CALL_TIMEOUT_MS * NS_PER_MS, &err) == 0) {
			pthread_mutex_lock(&r->status_lock);
			json_decref(np->latest);
			np->latest = status;
			np->latest_ns = clock_mono_ns();
			pthread_mutex_unlock(&r->status_lock);
		} else {
			json_decref(status);
			dr_error_clear(&err);
		}
		left = r->poll_interval_ns - (clock_mono_ns() - start);
		if (left > 0)
			clock_sleep_ns(left);
	}
	return NULL;
}

static void point_from_status(struct status_point *p, json_t *status, int64_t t_ns)
{
	json_t *leader = json_object_get(status, "leader"), *m;
	const char *repl = json_string_value(json_object_get(status, "replication"));
	const char *region = json_string_value(json_object_get(leader, "region"));
	size_t i;

	memset(p, 0, sizeof(*p));
	p->t_ns = t_ns;
	p->term = (uint64_t)json_integer_value(json_object_get(status, "term"));
	p->leader_id = json_is_object(leader) ? (uint64_t)json_integer_value(json_object_get(leader, "id")) : 0;
	if (region)
		str_copy(p->leader_region, sizeof(p->leader_region), region);
	p->quorum = json_is_true(json_object_get(status, "quorum"));
	p->fully_replicated = repl && strcmp(repl, "Fully replicated") == 0;
	json_array_foreach(json_object_get(status, "members"), i, m) {
		const char *state = json_string_value(json_object_get(m, "state"));
		uint64_t lag = (uint64_t)json_integer_value(json_object_get(m, "lag_entries"));
		int64_t lag_ns = (int64_t)(json_number_value(json_object_get(m, "lag_seconds")) * 1e9);

		p->members++;
		if (state && strcmp(state, "unreachable") == 0)
			continue;
		p->members_present++;
		if (lag > p->max_lag_entries)
			p->max_lag_entries = lag;
		if (lag_ns > p->max_lag_ns)
			p->max_lag_ns = lag_ns;
	}
}

/* Every poll interval: trust the freshest answers with the highest term (a
 * partitioned old leader still believes it leads, at an older term). */
static void *aggregator_main(void *arg)
{
	struct recorder *r = arg;
	int64_t fresh_window = r->poll_interval_ns * 3 + STATUS_CALL_TIMEOUT_MS * NS_PER_MS;

	while (!atomic_load(&r->stop)) {
		int64_t now = clock_mono_ns();
		json_t *best = NULL;
		int64_t best_term = -1, best_ns = 0;
		struct status_point p;

		pthread_mutex_lock(&r->status_lock);
		for (size_t i = 0; i < r->npollers; i++) {
			struct node_poller *np = &r->pollers[i];
			int64_t term;

			if (!np->latest || now - np->latest_ns > fresh_window)
				continue;
			term = json_integer_value(json_object_get(np->latest, "term"));
			/* Same term: prefer an answer that knows a leader. */
			if (term > best_term ||
			    (term == best_term && !json_is_object(json_object_get(best, "leader")) &&
			     json_is_object(json_object_get(np->latest, "leader")))) {
				best_term = term;
				best = np->latest;
				best_ns = np->latest_ns;
			}
		}
		if (!r->npollers) {
			/* No members to poll one by one: the target's own status (it
			 * applies its own highest-term rule). */
			struct dr_error err = DR_ERROR_INIT;

			pthread_mutex_unlock(&r->status_lock);
			if (r->target->status(r->target, &best, STATUS_CALL_TIMEOUT_MS * NS_PER_MS, &err) == 0) {
				point_from_status(&p, best, clock_mono_ns());
			} else {
				memset(&p, 0, sizeof(p));
				p.t_ns = clock_mono_ns();
			}
			json_decref(best);
		} else if (best) {
			json_incref(best);
			pthread_mutex_unlock(&r->status_lock);
			point_from_status(&p, best, best_ns);
			json_decref(best);
		} else {
			pthread_mutex_unlock(&r->status_lock);
			memset(&p, 0, sizeof(p));
			p.t_ns = now;
		}
		status_timeline_observe(&r->timeline, &p);
		if (p.leader_id != r->last_leader || (p.leader_id && p.term != r->last_term)) {
			journal_event_at(r->j, p.t_ns, "leader_change",
					 p.leader_id ? json_pack("{s:I,s:s,s:I}", "leader", (json_int_t)p.leader_id,
								 "region", p.leader_region,
								 "term", (json_int_t)p.term)
						     : json_pack("{s:n}", "leader"));
			r->last_leader = p.leader_id;
			r->last_term = p.term;
		}
		clock_sleep_ns(r->poll_interval_ns);
	}
	return NULL;
}

/* ---- lifecycle ---------------------------------------------------------- */

/* "ledger": the workload; "canary": status timeline plus canary writes;
 * "status-only": the timeline alone (assertions/measure.h). */
static const char *recorder_mode(const struct recorder *r)
{
	return r->canary ? "canary" : r->status_only ? "status-only" : "ledger";
}

/* Whether anything writes (and is read back and checked). */
static int recorder_writes(const struct recorder *r)
{
	return !r->status_only || r->canary;
}

int recorder_start(struct recorder **out, const struct plan *plan, struct target *t,
		   struct journal *j, struct progress *progress, struct dr_error *err)
{
	struct recorder *r = xcalloc(1, sizeof(*r));
	struct canary_pace pace = { 0, 0 };
	json_t *workload;
	sigset_t old;

	r->j = j;
	r->progress = progress;
	r->call_timeout_ns = plan->workload.timeout_ns > 0 ? plan->workload.timeout_ns : 200 * NS_PER_MS;
	r->poll_interval_ns = plan->workload.poll_interval_ns > 0 ? plan->workload.poll_interval_ns
								   : 20 * NS_PER_MS;
	r->rate = plan->workload.rate;
	r->payload_size = plan->workload.payload_size > 0 ? plan->workload.payload_size : 64;
	/* Tests that tamper with the workload's own entries (Debug/DropEntry)
	 * need to know its client id in advance. */
	if (getenv("DRILLRIG_WORKLOAD_CLIENT_ID") && *getenv("DRILLRIG_WORKLOAD_CLIENT_ID"))
		snprintf(r->client_id, sizeof(r->client_id), "%s", getenv("DRILLRIG_WORKLOAD_CLIENT_ID"));
	else
		snprintf(r->client_id, sizeof(r->client_id), "drill-%s-%lld-%ld", plan->name,
			 (long long)(clock_wall_ns() / NS_PER_SEC), (long)getpid());
	history_init(&r->history, 0);
	status_timeline_init(&r->timeline, 0);
	pthread_mutex_init(&r->status_lock, NULL);
	pthread_mutex_init(&r->error_lock, NULL);
	r->target = t;
	if (!t->workload_connect && t->endpoints &&
	    t->endpoints(t, &r->endpoints, &r->nendpoints, err) != 0) {
		dr_error_wrap(err, "cannot list the %s target's ledger endpoints", t->kind);
		recorder_free(r);
		return -1;
	}
	/* Nothing to write to (a Kubernetes target without a workload
	 * endpoint): the cluster status alone is watched and the report says
	 * that RTO came from it. */
	r->status_only = !t->workload_connect && r->nendpoints == 0;
	if (r->status_only && t->canary_connect && t->canary_connect(t, &r->canary, &pace, err) != 0) {
		dr_error_wrap(err, "cannot start the %s target's canary writes", t->kind);
		recorder_free(r);
		return -1;
	}
	if (r->canary) {
		/* A canary is a marker, not load: small whatever the plan's
		 * payload (it travels in kubectl's argv), paced by the target,
		 * and a retry waits its turn (each attempt is a kubectl exec). */
		r->payload_size = 32;
		r->canary_interval_ns = pace.interval_ns > 0 ? pace.interval_ns : NS_PER_SEC;
		r->canary_baseline_ns = pace.baseline_ns > 0 ? pace.baseline_ns : 30 * NS_PER_SEC;
		r->rate = 1e9 / (double)r->canary_interval_ns;
		r->retry_pause_ns = r->canary_interval_ns;
	}
	workload = json_pack("{s:s,s:s,s:f}", "client_id", r->client_id, "mode", recorder_mode(r),
			     "rate", r->rate);
	/* A canary's per-call timeout is the target's (canary.timeout). */
	if (!r->canary)
		json_object_set_new(workload, "timeout_ms", json_real((double)r->call_timeout_ns / 1e6));
	journal_set(j, "workload", workload);
	r->npollers = t->member_status ? r->nendpoints : 0;
	r->pollers = xcalloc(r->npollers, sizeof(*r->pollers));
	/* Status read through the target alone (kubectl exec: slow): one read
	 * now, before any step, so the timeline has the state before the
	 * fault and RTO a baseline. */
	if (!r->npollers) {
		json_t *st = NULL;
		struct dr_error serr = DR_ERROR_INIT;
		struct status_point p;

		if (t->status(t, &st, STATUS_CALL_TIMEOUT_MS * NS_PER_MS, &serr) == 0) {
			point_from_status(&p, st, clock_mono_ns());
			status_timeline_observe(&r->timeline, &p);
		}
		json_decref(st);
	}
	block_signals(&old);
	for (size_t i = 0; i < r->npollers; i++) {
		r->pollers[i].r = r;
		r->pollers[i].member = i;
		r->pollers[i].running = pthread_create(&r->pollers[i].thread, NULL,
						       node_poller_main, &r->pollers[i]) == 0;
	}
	r->aggregator_running = pthread_create(&r->aggregator, NULL, aggregator_main, r) == 0;
	if (recorder_writes(r))
		r->writer_running = pthread_create(&r->writer, NULL, writer_main, r) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if ((recorder_writes(r) && !r->writer_running) || !r->aggregator_running) {
		recorder_free(r);
		return dr_error_set(err, "cannot start the workload threads");
	}
	if (r->canary)
		progress_line(progress, "workload: none (the %s target has no write endpoint); "
			      "measuring RTO from the cluster status and RPO from a canary write "
			      "every %.1fs (client %s)", t->kind, (double)r->canary_interval_ns / 1e9,
			      r->client_id);
	else if (r->status_only)
		progress_line(progress, "workload: none (the %s target has no write endpoint); "
			      "measuring from the cluster status", t->kind);
	else if (r->nendpoints)
		progress_line(progress, "workload: writing as client %s to %zu nodes", r->client_id,
			      r->nendpoints);
	else
		progress_line(progress, "workload: writing as client %s through the %s target",
			      r->client_id, t->kind);
	*out = r;
	return 0;
}

int recorder_await_baseline(struct recorder *r, const struct action_ctx *ctx, struct dr_error *err)
{
	int64_t deadline = clock_mono_ns() + r->canary_baseline_ns;

	if (!r->canary)
		return 0;
	while (!atomic_load(&r->acked)) {
		if (!r->writer_running)
			return dr_error_set(err, "the canary writer is not running");
		if (action_ctx_expired(ctx) || clock_mono_ns() > deadline) {
			char last[300];

			pthread_mutex_lock(&r->error_lock);
			snprintf(last, sizeof(last), "%s", r->last_error[0] ? r->last_error : "no answer yet");
			pthread_mutex_unlock(&r->error_lock);
			return dr_error_set(err, "no canary write was acknowledged before the first step "
					    "(last attempt: %s)", last);
		}
		action_ctx_sleep(ctx, 20 * NS_PER_MS);
	}
	return 0;
}

void recorder_mark_fault(struct recorder *r, int64_t mono_ns)
{
	long long zero = 0;

	atomic_compare_exchange_strong(&r->fault_ns, &zero, mono_ns);
}

void recorder_mark_restore(struct recorder *r, int64_t mono_ns)
{
	long long zero = 0;

	atomic_compare_exchange_strong(&r->restore_ns, &zero, mono_ns);
}

void recorder_mark_baseline(struct recorder *r, int64_t start_ns, int64_t end_ns)
{
	r->baseline_start_ns = start_ns;
	r->baseline_end_ns = end_ns;
}

/* Each node once, synchronously: the freshest answers win as in the
 * aggregator.  Runs after the poller threads have stopped. */
static void final_poll(struct recorder *r)
{
	json_t *best = NULL;
	int64_t best_term = -1;
	struct status_point p;

	if (!r->npollers) {
		struct dr_error err = DR_ERROR_INIT;

		if (r->target->status(r->target, &best, STATUS_CALL_TIMEOUT_MS * NS_PER_MS, &err) != 0) {
			json_decref(best);
			best = NULL;
		}
	}
	for (size_t i = 0; i < r->npollers; i++) {
		struct dr_error err = DR_ERROR_INIT;
		json_t *status = NULL;

		if (r->target->member_status(r->target, i, &status, STATUS_CALL_TIMEOUT_MS * NS_PER_MS,
					     &err) == 0 &&
		    json_integer_value(json_object_get(status, "term")) > best_term) {
			best_term = json_integer_value(json_object_get(status, "term"));
			json_decref(best);
			best = status;
			status = NULL;
		}
		json_decref(status);
	}
	if (!best)
		return;
	point_from_status(&p, best, clock_mono_ns());
	status_timeline_observe(&r->timeline, &p);
	json_decref(best);
}

void recorder_stop(struct recorder *r)
{
	int was_polling = r->aggregator_running;

	atomic_store(&r->stop, 1);
	if (r->writer_running) {
		pthread_join(r->writer, NULL);
		r->drill_end_ns = clock_mono_ns();
	} else if (!r->drill_end_ns) {
		r->drill_end_ns = clock_mono_ns();
	}
	if (r->aggregator_running)
		pthread_join(r->aggregator, NULL);
	for (size_t i = 0; r->pollers && i < r->npollers; i++)
		if (r->pollers[i].running)
			pthread_join(r->pollers[i].thread, NULL);
	r->writer_running = r->aggregator_running = 0;
	if (was_polling)
		final_poll(r);
	for (size_t i = 0; r->pollers && i < r->npollers; i++) {
		r->pollers[i].running = 0;
		json_decref(r->pollers[i].latest);
		r->pollers[i].latest = NULL;
	}
}

/* Our client's entries in the final store (the ledger: read from the leader). */
static int read_back(struct ledger_entry_ref **out, size_t *n, struct recorder *r,
		     struct dr_error *err)
{
	struct workload_conn *c = NULL;
	int rc;

	if (open_conn(r, &c, err) != 0)
		return -1;
	rc = c->read_all(c, r->client_id, out, n, err);
	if (c != r->canary)
		c->close(c);
	return rc;
}

static int write_history(struct recorder *r, const char *path, struct dr_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char line[HISTORY_NDJSON_MAX];
	int rc;

	for (size_t i = 0; i < r->history.count; i++) {
		int n = history_format_ndjson(line, sizeof(line), &r->history.ops[i],
					      journal_start_ns(r->j));

		if (n > 0)
			strbuf_add(&sb, line, (size_t)n);
	}
	rc = fs_write_atomic(path, sb.buf ? sb.buf : "", sb.len, err);
	strbuf_release(&sb);
	return rc;
}

static void limits_from_plan(struct objective_limits *l, const struct plan *plan,
			     const struct recorder *r)
{
	const struct plan_objectives *o = &plan->objectives;

	memset(l, 0, sizeof(*l));
	l->has_rto = o->has_rto;               l->rto_ns = o->rto_ns;
	l->has_promotion = o->has_promotion;   l->promotion_ns = o->promotion_ns;
	l->has_resync = o->has_resync;         l->resync_ns = o->resync_ns;
	l->has_max_lag = o->has_max_lag;       l->max_lag_ns = o->max_lag_ns;
	l->has_rpo_window = o->has_rpo_window; l->rpo_window_ns = o->rpo_window_ns;
	/* Always on when writes were checked; a stated rpo the drill could not
	 * measure (status-only) fails as "not measured". */
	l->has_rpo = recorder_writes(r) || o->rpo_stated;          l->rpo = (uint64_t)(o->has_rpo_writes ? o->rpo_writes : 0);
	l->has_availability = o->has_availability;
	l->availability_pct = o->availability_pct;
}

/* The start of every fault step the journal records, in order: a DR
 * leader lost before the next one began was no promotion (measure.h). */
static void fault_markers(struct measure_markers *mk, const json_t *journal)
{
	const json_t *step;
	size_t i;

	json_array_foreach(json_object_get(journal, "steps"), i, step) {
		const json_t *start = json_object_get(step, "start_ms");

		if (!json_is_true(json_object_get(step, "fault")) || !json_is_number(start) ||
		    mk->n_fault_starts >= MEASURE_MAX_FAULTS)
			continue;
		mk->fault_starts_ns[mk->n_fault_starts++] =
			mk->drill_start_ns + (int64_t)(json_number_value(start) * 1e6);
	}
}

/* The first unsafe promotion the journal's steps record (a force_election
 * whose data says "unsafe"), with the index of the node it chose in the
 * workload's own terms: the ledger index, or with the ledger.v1 dialect
 * (whose writes answer a block height) the block height. */
static void unsafe_promotion_marker(struct measure_markers *mk, const json_t *journal)
{
	const char *api = json_string_value(json_object_get(json_object_get(journal, "target"), "api"));
	const char *key = api && strcmp(api, "ledger.v1") == 0 ? "block_height" : "ledger_last_index";
	const json_t *step;
	size_t i;

	json_array_foreach(json_object_get(journal, "steps"), i, step) {
		const json_t *data = json_object_get(step, "data");
		const json_t *idx = json_object_get(json_object_get(data, "chosen"), key);
		const char *action = json_string_value(json_object_get(step, "action"));
		const json_t *start = json_object_get(step, "start_ms");

		if (!action || strcmp(action, "force_election") != 0 ||
		    !json_is_true(json_object_get(data, "unsafe")) || !json_is_number(start))
			continue;
		mk->has_unsafe_promotion = true;
		mk->unsafe_promotion_ns = mk->drill_start_ns + (int64_t)(json_number_value(start) * 1e6);
		mk->unsafe_promotion_step = json_string_value(json_object_get(step, "name"));
		if (json_is_integer(idx) && json_integer_value(idx) >= 0) {
			mk->has_dr_ledger_index = true;
			mk->dr_ledger_index = (uint64_t)json_integer_value(idx);
		}
		return;
	}
}

int recorder_finish(struct recorder *r, const struct plan *plan, struct target *t,
		    struct journal *j, const char *history_path, struct dr_error *err)
{
	struct ledger_entry_ref *entries = NULL;
	struct measure_markers mk = MEASURE_MARKERS_INIT;
	struct check_result check;
	struct measurements m;
	struct objective_results results;
	struct objective_limits limits;
	struct series series = SERIES_INIT;
	const struct objective_result *failed;
	json_t *root = NULL;
	size_t n = 0;
	int rc = -1;

	recorder_stop(r);
	memset(&check, 0, sizeof(check));
	if (recorder_writes(r)) {
		if (history_path && write_history(r, history_path, err) != 0)
			return -1;
		if (read_back(&entries, &n, r, err) != 0)
			return dr_error_wrap(err, "cannot read the ledger back");
		if (history_check(&check, &r->history, entries, n, err) != 0)
			goto out;
	}
	mk.drill_start_ns = journal_start_ns(j);
	mk.drill_end_ns = r->drill_end_ns ? r->drill_end_ns : clock_mono_ns();
	mk.has_fault = atomic_load(&r->fault_ns) != 0;
	mk.fault_start_ns = atomic_load(&r->fault_ns);
	mk.has_restore = atomic_load(&r->restore_ns) != 0;
	mk.restore_start_ns = atomic_load(&r->restore_ns);
	mk.has_baseline = r->baseline_start_ns != 0;
	mk.baseline_start_ns = r->baseline_start_ns;
	mk.baseline_end_ns = r->baseline_end_ns;
	mk.call_timeout_ns = r->call_timeout_ns;
	for (size_t i = 0; i < plan->topology.nregions && mk.n_dr_regions < MEASURE_MAX_DR_REGIONS; i++)
		if (plan->topology.regions[i].role == PLAN_ROLE_DR)
			mk.dr_regions[mk.n_dr_regions++] = plan->topology.regions[i].name;
	for (size_t i = 0; i < plan->topology.nregions; i++)
		mk.expected_members += (unsigned)plan->topology.regions[i].size;
	(void)t;
	mk.workload_mode = recorder_mode(r);
	root = journal_snapshot(j);
	unsafe_promotion_marker(&mk, root);
	fault_markers(&mk, root);
	if (measure_compute(&m, &r->history, recorder_writes(r) ? &check : NULL, &r->timeline, &mk,
			    err) != 0)
		goto out;
	if (r->status_only)
		measure_rto_from_status(&m, &r->timeline, &mk);
	limits_from_plan(&limits, plan, r);
	objectives_evaluate(&results, &limits, &m);
	/* Canary latencies are kubectl exec round trips, not the ledger's. */
	if (!r->canary)
		series_build(&series, &r->history, journal_start_ns(j), 0);
	if (results_json_set(root, &m, &results, &series) != 0) {
		dr_error_set(err, "cannot encode the measurements");
		goto out;
	}
	{
		static const char *const keys[] = { "measurements", "objectives", "outage",
						    "fault_start_ms", "restore_start_ms" };
		json_t *workload = journal_get(j, "workload");

		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			journal_set(j, keys[i], json_incref(json_object_get(root, keys[i])));
		if (json_is_object(workload))
			json_object_set(workload, "series",
					json_object_get(json_object_get(root, "workload"), "series"));
	}
	failed = objectives_first_failure(&results);
	if (failed) {
		r->objective_failed = 1;
		snprintf(r->objective_reason, sizeof(r->objective_reason), "objective %s failed: %s",
			 failed->name, failed->message);
	}
	rc = 0;
out:
	json_decref(root);
	series_release(&series);
	free(entries);
	return rc;
}

int recorder_failed_objective(const struct recorder *r, char *reason, size_t len)
{
	if (!r->objective_failed)
		return 0;
	if (!reason[0])
		snprintf(reason, len, "%s", r->objective_reason);
	return 1;
}

void recorder_free(struct recorder *r)
{
	if (!r)
		return;
	recorder_stop(r);
	for (size_t i = 0; i < r->nendpoints; i++)
		free(r->endpoints[i]);
	free(r->endpoints);
	free(r->pollers);
	if (r->canary)
		r->canary->close(r->canary);
	history_release(&r->history);
	status_timeline_release(&r->timeline);
	pthread_mutex_destroy(&r->status_lock);
	pthread_mutex_destroy(&r->error_lock);
	free(r);
}
