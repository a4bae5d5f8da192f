#include "harness/soak/soak.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/core/exit_codes.h"
#include "harness/core/journal.h"
#include "harness/core/progress.h"
#include "harness/plan/plan.h"
#include "harness/run/executor.h"
#include "harness/soak/soak_digest.h"
#include "harness/soak/soak_fault.h"
#include "harness/workload/recorder.h"

#define ACTION_TIMEOUT_NS (30 * NS_PER_SEC)
#define DEFAULT_WARMUP_NS (300 * NS_PER_MS)
#define DEFAULT_RECOVERY_NS (60 * NS_PER_SEC)
#define DEFAULT_DIGEST_NS (15 * NS_PER_SEC)

struct soak_run_ctx {
	struct plan *plan;
	struct target *t;
	const struct soak_opts *o;
	struct progress *quiet;
	int64_t recovery_timeout_ns;
	FILE *f;                    /* opts->out or stdout */
	size_t total;               /* iterations in the schedule, for "3/10" */
};

static int interrupted(const struct soak_opts *o)
{
	return o->interrupts && *o->interrupts > 0;
}

/* A context for a fault or heal: bounded, never cancelled (a fault that
 * was injected must be healed, whatever the user pressed). */
static void action_ctx_for(struct action_ctx *ctx, struct journal *j, int64_t timeout_ns)
{
	struct action_ctx init = ACTION_CTX_INIT;

	*ctx = init;
	ctx->deadline_ns = clock_mono_ns() + timeout_ns;
	ctx->journal = j;
	ctx->step_name = "soak";
}

/* Healthy (a leader, a quorum, every member answering) and then "Fully
 * replicated".  A second SIGINT gives up waiting. */
static int await_recovered(struct soak_run_ctx *c, struct journal *j, int64_t deadline_ns,
			   char *why, size_t len)
{
	static const char *const checks[] = { "await_healthy", "await_replicated" };

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		struct action_ctx ctx;
		struct action_result res = ACTION_RESULT_INIT;
		json_t *args = json_pack("{s:s}", "action", checks[i]);
		int ok;

		action_ctx_for(&ctx, j, 0);
		ctx.deadline_ns = deadline_ns;
		ctx.interrupts = c->o->interrupts;
		ctx.interrupt_limit = 2;
		executor_run(c->t, checks[i], args, NULL, &ctx, &res);
		ok = res.status == ACTION_OK;
		if (!ok)
			snprintf(why, len, "%s: %.700s", checks[i], res.message);
		action_result_release(&res);
		json_decref(args);
		if (!ok)
			return -1;
	}
	return 0;
}

static uint64_t count_of(json_t *o, const char *key)
{
	double v = json_number_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* The history checker's figures, from the journal recorder_finish filled. */
static void take_measurements(struct soak_iteration *it, struct journal *j)
{
	json_t *m = journal_get(j, "measurements");
	json_t *w = json_object_get(m, "writes");
	json_t *rto = json_object_get(m, "rto_ms");

	it->ok = count_of(w, "ok");
	it->failed = count_of(w, "failed");
	it->unknown = count_of(w, "unknown");
	it->lost = count_of(w, "lost");
	it->duplicated = count_of(w, "duplicated");
	it->other_violations = count_of(w, "definite_failed_present") + count_of(w, "reordered") +
			       count_of(w, "unexpected");
	it->outage_ms = json_is_number(rto) ? json_number_value(rto) : -1;
	if (!json_is_object(w)) {
		it->verdict = SOAK_INFRA;
		snprintf(it->note, sizeof(it->note), "the recorder measured no writes");
	}
}

static void note_append(struct soak_iteration *it, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note_append(struct soak_iteration *it, const char *fmt, ...)
{
	size_t off = strlen(it->note);
	va_list ap;

	if (off + 3 >= sizeof(it->note))
		return;
	if (off) {
		memcpy(it->note + off, "; ", 3);
		off += 2;
	}
	va_start(ap, fmt);
	vsnprintf(it->note + off, sizeof(it->note) - off, fmt, ap);
	va_end(ap);
}

static void judge(struct soak_iteration *it)
{
	if (it->verdict != SOAK_PASSED)
		return;
	if (it->lost || it->duplicated || it->other_violations) {
		it->verdict = SOAK_VIOLATION;
		note_append(it, "history: %llu lost, %llu duplicated, %llu other violations",
			    (unsigned long long)it->lost, (unsigned long long)it->duplicated,
			    (unsigned long long)it->other_violations);
	}
	if (it->digests_checked && !it->digests_equal)
		it->verdict = SOAK_VIOLATION;
}

/* Every member's debug listener (its http_address in the cluster status),
 * where the digests are read. */
static int debug_endpoints(char ***out, size_t *n, struct target *t, struct dr_error *err)
{
	json_t *status = NULL, *m;
	size_t i;

	*out = NULL;
	*n = 0;
	if (t->status(t, &status, DEFAULT_DIGEST_NS, err) != 0) {
		json_decref(status);
		return -1;
	}
	*out = xcalloc(json_array_size(json_object_get(status, "members")) + 1, sizeof(char *));
	json_array_foreach(json_object_get(status, "members"), i, m)
		if (json_string_value(json_object_get(m, "http_address")))
			(*out)[(*n)++] = xstrdup(json_string_value(json_object_get(m, "http_address")));
	json_decref(status);
	return *n ? 0 : dr_error_set(err, "the cluster status names no member's debug listener");
}

static void check_digests(struct soak_iteration *it, struct soak_run_ctx *c)
{
	struct dr_error err = DR_ERROR_INIT;
	struct soak_digests d;
	char **endpoints = NULL, *auth = c->t->admin_token ? c->t->admin_token(c->t) : NULL;
	size_t n = 0;
	int rc;

	rc = debug_endpoints(&endpoints, &n, c->t, &err) != 0 ||
	     soak_digests_compare(&d, endpoints, n, auth,
				  c->o->digest_timeout_ns > 0 ? c->o->digest_timeout_ns : DEFAULT_DIGEST_NS,
				  &err) != 0;
	free(auth);
	if (rc) {
		it->verdict = SOAK_INFRA;
		note_append(it, "cannot compare digests: %s", err.msg);
		goto out;
	}
	it->digests_checked = 1;
	it->digests_equal = d.equal;
	it->nodes = d.nodes;
	it->ledger_index = d.last_index;
	if (!d.settled)
		note_append(it, "replicas did not settle at one applied index: %s", d.detail);
	else if (!d.equal)
		note_append(it, "digests differ: %s", d.detail);
out:
	for (size_t i = 0; i < n; i++)
		free(endpoints[i]);
	free(endpoints);
}

static void run_iteration(struct soak_iteration *it, struct soak_run_ctx *c, size_t index,
			  const struct soak_fault *f)
{
	struct dr_error err = DR_ERROR_INIT;
	struct journal *j = journal_new();
	struct recorder *r = NULL;
	struct soak_applied applied;
	struct action_ctx ctx;
	const char *client_id;
	char *history_path = NULL;
	int64_t start, hold_start, heal_ns;
	int rc, anomaly = 0, cut_short;
	char why[768];

	memset(it, 0, sizeof(*it));
	it->number = index + 1;
	it->fault = *f;
	it->inject_ns = -1;
	it->recovery_ns = -1;
	it->outage_ms = -1;
	/* A fresh client id per iteration: the recorder derives it from the
	 * plan's name, and the history checker reads back only its own writes. */
	free(c->plan->name);
	c->plan->name = xasprintf("soak-%zu", index + 1);
	if (recorder_start(&r, c->plan, c->t, j, c->quiet, &err) != 0) {
		it->verdict = SOAK_INFRA;
		note_append(it, "cannot start the workload: %s", err.msg);
		goto out;
	}
	client_id = json_string_value(json_object_get(journal_get(j, "workload"), "client_id"));
	action_ctx_for(&ctx, j, c->o->warmup_ns > 0 ? c->o->warmup_ns : DEFAULT_WARMUP_NS);
	ctx.interrupts = c->o->interrupts;
	ctx.interrupt_limit = 1;
	if (action_ctx_sleep(&ctx, c->o->warmup_ns > 0 ? c->o->warmup_ns : DEFAULT_WARMUP_NS)) {
		/* Interrupted before anything was broken: nothing to heal or check. */
		it->verdict = SOAK_INTERRUPTED;
		note_append(it, "interrupted before the fault");
		goto out;
	}

	start = clock_mono_ns();
	recorder_mark_fault(r, start);
	action_ctx_for(&ctx, j, ACTION_TIMEOUT_NS);
	rc = soak_fault_inject(&applied, c->t, f, client_id ? client_id : "", 1, &ctx, &err);
	if (rc < 0) {
		it->verdict = SOAK_INFRA;
		note_append(it, "cannot inject %s: %s", soak_fault_kind_name(f->kind), err.msg);
	} else if (rc == SOAK_FAULT_MISSED) {
		anomaly = 1;
		note_append(it, "anomaly: %s", err.msg);
	}
	str_copy(it->target, sizeof(it->target), applied.target);
	/* The hold starts once the fault is in place (a transfer takes a
	 * while); SIGINT cuts it short, and the fault is still healed. */
	hold_start = clock_mono_ns();
	if (rc >= 0) {
		/* Flushed at once: a user watching a long soak (or a test
		 * that must act during the fault) sees it is in place. */
		it->inject_ns = hold_start - start;
		soak_fault_applied_print(c->f, it, c->total, rc == SOAK_FAULT_MISSED);
		fflush(c->f);
	}
	while (rc >= 0 && clock_mono_ns() - hold_start < f->hold_ns && !interrupted(c->o))
		clock_sleep_ns(10 * NS_PER_MS);
	heal_ns = clock_mono_ns();
	it->held_ns = heal_ns - hold_start;
	cut_short = rc >= 0 && interrupted(c->o);
	if (cut_short) {
		/* The user waits for the soak to stop: say what it does now. */
		soak_interrupt_print(c->f, it, c->total);
		fflush(c->f);
	}
	recorder_mark_restore(r, heal_ns);
	action_ctx_for(&ctx, j, ACTION_TIMEOUT_NS);
	if (soak_fault_heal(c->t, f, &applied, &ctx, &err) != 0) {
		it->verdict = SOAK_INFRA;
		note_append(it, "cannot heal %s: %s", soak_fault_kind_name(f->kind), err.msg);
	} else if (cut_short) {
		soak_heal_print(c->f, it, c->total, applied.needs_heal);
		fflush(c->f);
	}
	if (await_recovered(c, j, heal_ns + c->recovery_timeout_ns, why, sizeof(why)) == 0) {
		it->recovery_ns = clock_mono_ns() - heal_ns;
	} else if (it->verdict == SOAK_PASSED && interrupted(c->o) && *c->o->interrupts > 1) {
		/* The second Ctrl-C gave up waiting: not a recovery failure. */
		it->verdict = SOAK_INTERRUPTED;
		note_append(it, "recovery not awaited (interrupted twice): %s", why);
	} else if (it->verdict == SOAK_PASSED) {
		it->verdict = interrupted(c->o) ? SOAK_INTERRUPTED : SOAK_NOT_RECOVERED;
		note_append(it, "not recovered within %llds: %s",
			    (long long)(c->recovery_timeout_ns / NS_PER_SEC), why);
	}
	if (it->verdict == SOAK_INTERRUPTED)
		goto out;
	if (c->o->history_dir)
		history_path = xasprintf("%s/soak-iteration-%zu.history.ndjson", c->o->history_dir,
					 index + 1);
	if (recorder_finish(r, c->plan, c->t, j, history_path, &err) != 0) {
		if (it->verdict == SOAK_PASSED)
			it->verdict = SOAK_INFRA;
		note_append(it, "cannot check the history: %s", err.msg);
	} else {
		take_measurements(it, j);
	}
	if (it->verdict == SOAK_PASSED || it->verdict == SOAK_NOT_RECOVERED)
		check_digests(it, c);
	judge(it);
	if (anomaly && it->verdict == SOAK_PASSED)
		it->verdict = SOAK_ANOMALY;
	if (history_path && (it->verdict == SOAK_PASSED || it->verdict == SOAK_ANOMALY))
		unlink(history_path);
	else if (history_path)
		note_append(it, "history: %s", history_path);
out:
	recorder_free(r);
	journal_free(j);
	free(history_path);
}

/* Every node must answer Debug/Digest before anything is broken: an
 * attached cluster started without --enable-debug fails here, not after
 * its first fault. */
static int preflight_digests(struct soak_run_ctx *c, char *why, size_t len)
{
	struct soak_iteration probe;
	struct soak_run_ctx bounded = *c;
	struct soak_opts o = *c->o;

	memset(&probe, 0, sizeof(probe));
	o.digest_timeout_ns = 5 * NS_PER_SEC;
	bounded.o = &o;
	check_digests(&probe, &bounded);
	if (probe.digests_checked && probe.digests_equal)
		return 0;
	snprintf(why, len, "the replicas cannot be compared before the first fault (a soak needs "
		 "ledgerd's debug endpoints: drillrig cluster up --enable-debug): %.600s", probe.note);
	return -1;
}

static int verdict_exit(enum soak_verdict v, int strict)
{
	switch (v) {
	case SOAK_PASSED: return EXIT_PASSED;
	case SOAK_ANOMALY: return strict ? EXIT_FAILED : EXIT_PASSED;
	case SOAK_VIOLATION:
	case SOAK_NOT_RECOVERED: return EXIT_FAILED;
	case SOAK_INFRA: return EXIT_INFRA;
	case SOAK_INTERRUPTED: return EXIT_ABORTED;
	}
	return EXIT_INFRA;
}

void soak_run(struct soak_result *out, struct plan *plan, struct target *t,
	      const struct soak_schedule *s, const struct soak_opts *opts)
{
	struct soak_run_ctx c;
	FILE *f = opts->out ? opts->out : stdout;
	char why[768];

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.plan = plan;
	c.t = t;
	c.o = opts;
	c.quiet = progress_new(f, PROGRESS_QUIET);
	c.f = f;
	c.total = s->n;
	c.recovery_timeout_ns = opts->recovery_timeout_ns > 0 ? opts->recovery_timeout_ns
							      : DEFAULT_RECOVERY_NS;
	out->iterations = xcalloc(s->n ? s->n : 1, sizeof(*out->iterations));
	{
		/* Every iteration starts from a healthy, fully replicated cluster. */
		struct journal *j = journal_new();
		int rc = await_recovered(&c, j, clock_mono_ns() + c.recovery_timeout_ns, why,
					 sizeof(why));

		journal_free(j);
		if (rc != 0) {
			fprintf(stderr, "drillrig soak: the cluster is not healthy before the first fault: %s\n",
				why);
			out->exit_code = EXIT_INFRA;
			goto out;
		}
		if (preflight_digests(&c, why, sizeof(why)) != 0) {
			fprintf(stderr, "drillrig soak: %s\n", why);
			out->exit_code = EXIT_INFRA;
			goto out;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		struct soak_iteration *it = &out->iterations[i];

		run_iteration(it, &c, i, &s->faults[i]);
		out->n = i + 1;
		if (interrupted(opts) && verdict_exit(it->verdict, opts->strict) == EXIT_PASSED) {
			/* Checked, but the user wants out. */
			soak_iteration_print(f, it, s->n);
			out->exit_code = exit_code_merge(out->exit_code, EXIT_ABORTED);
			break;
		}
		soak_iteration_print(f, it, s->n);
		fflush(f);
		out->exit_code = exit_code_merge(out->exit_code, verdict_exit(it->verdict, opts->strict));
		if (verdict_exit(it->verdict, opts->strict) != EXIT_PASSED)
			break;
	}
out:
	progress_free(c.quiet);
}

void soak_result_release(struct soak_result *r)
{
	free(r->iterations);
	memset(r, 0, sizeof(*r));
}
