#include "harness/run/runner.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "harness/core/exit_codes.h"
#include "harness/plan/duration.h"
#include "harness/plan/plan.h"
#include "harness/probe/probe.h"
#include "harness/run/executor.h"
#include "harness/run/undo_stack.h"
#include "harness/workload/recorder.h"

/* Signals needed to cancel: the first SIGINT stops the steps; rollback
 * ignores the second and gives up at the third (exit 5). */
#define STEPS_INTERRUPT_LIMIT 1
#define ROLLBACK_INTERRUPT_LIMIT 3

struct run {
	const struct plan *plan;
	struct target *t;
	struct journal *j;
	const struct runner_opts *opts;
	struct runner_result *out;
	struct undo_stack undos;
	/* Undos the rollback popped that failed or never ran, in the order
	 * popped: they stay in the state file for `drillrig recover`. */
	struct undo_stack kept;
	atomic_int abort_requested;
	char abort_reason[512];
	int64_t first_fault_ns;
	int64_t restore_start_ns;
	int steps_failed;
	int rollback_failed;
	int steps_completed;  /* every step ran (continue_on_failure ones included) */
	int interrupted;
	int locked;           /* the drill lock is ours */
	int started;          /* the target was started */
	int cluster_before_taken; /* "cluster_before" is in the journal */
	int baseline_done;        /* the baseline period was held */
	int64_t leader_before_fault; /* struct action_ctx says what it holds */
	struct dr_error err;  /* why a target or recorder call failed */
	struct recorder *recorder;
	char *state_path;     /* pending undos for `drillrig recover` */
	int state_path_foreign; /* left by an earlier drill: never ours to remove */
	json_t *target_desc;
	/* abort_when monitor */
	pthread_t monitor;
	int monitor_running;
	atomic_int monitor_stop;    /* set by the runner, read by the monitor thread */
};

static void set_reason(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Keep the first reason: it is what went wrong; later ones are fallout. */
static void set_reason(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->out->reason[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->out->reason, sizeof(r->out->reason), fmt, ap);
	va_end(ap);
}

static void raise_exit(struct run *r, int code)
{
	r->out->exit_code = exit_code_merge(r->out->exit_code, code);
}

/* Dry runs (ours or the target's server-side one) change nothing, so there
 * is nothing to observe: no steady state, workload or measurement. */
static int quiet_run(const struct runner_opts *opts)
{
	return opts->dry_run || opts->server_dry_run;
}

static void ctx_for(struct run *r, struct action_ctx *ctx, const char *step_name,
		    int64_t timeout_ns, int in_rollback)
{
	struct action_ctx init = ACTION_CTX_INIT;

	*ctx = init;
	ctx->deadline_ns = timeout_ns > 0 ? clock_mono_ns() + timeout_ns : 0;
	ctx->interrupts = r->opts->interrupts;
	ctx->interrupt_limit = in_rollback ? ROLLBACK_INTERRUPT_LIMIT : STEPS_INTERRUPT_LIMIT;
	ctx->abort_requested = in_rollback ? NULL : &r->abort_requested;
	ctx->journal = r->j;
	ctx->step_name = step_name;
	ctx->dry_run = r->opts->dry_run;
	ctx->server_dry_run = r->opts->server_dry_run;
	ctx->leader_before_fault = r->leader_before_fault;
}

/* The pending undos to the state file, and to the target's own copy. */
static void save_undos(struct run *r)
{
	char *text = undo_stack_save(&r->undos, &r->kept, r->state_path, r->plan, r->target_desc);

	if (text && r->t->state_saved && !r->opts->dry_run)
		r->t->state_saved(r->t, text);
	free(text);
}

static int interrupts(const struct run *r)
{
	return r->opts->interrupts ? atomic_load(r->opts->interrupts) : 0;
}

/* Run one action (a step, an undo, a rollback entry) and journal it. */
static enum action_status run_action(struct run *r, const char *phase, const char *name,
				     const char *action, json_t *args, int64_t timeout_ns,
				     json_t *expect, int fault, struct action_result *res)
{
	struct action_ctx ctx;
	int64_t start = clock_mono_ns(), elapsed;
	json_t *step, *shown_args = NULL;

	ctx_for(r, &ctx, name, timeout_ns, strcmp(phase, "steps") != 0);
	progress_step_start(r->opts->progress, phase, name, action);
	journal_event_at(r->j, start, "step_start",
			 json_pack("{s:s,s:s,s:s}", "step", name, "phase", phase, "action", action));
	if (fault) {
		if (!r->first_fault_ns) {
			r->first_fault_ns = start;
			if (r->recorder)
				recorder_mark_fault(r->recorder, start);
		}
		journal_event_at(r->j, start, "fault_start", json_pack("{s:s}", "step", name));
	}
	executor_run(r->t, action, args, expect, &ctx, res);
	if (res->status == ACTION_OK && ctx.deadline_ns && clock_mono_ns() > ctx.deadline_ns + 50 * NS_PER_MS)
		action_result_set(res, ACTION_TIMED_OUT, "took longer than its timeout");
	elapsed = clock_mono_ns() - start;
	{
		/* Substituted secret variables must not reach the terminal, the
		 * journal or the reports. */
		char *clean = plan_redact(r->plan, res->message);

		snprintf(res->message, sizeof(res->message), "%s", clean);
		free(clean);
		if (res->data) {
			json_t *d = plan_redact_json(r->plan, res->data);

			json_decref(res->data);
			res->data = d;
		}
		shown_args = args ? plan_redact_json(r->plan, args) : NULL;
	}
	progress_step_end(r->opts->progress, name, action_status_name(res->status), elapsed,
			  res->message);
	journal_event(r->j, "step_end",
		      json_pack("{s:s,s:s,s:s,s:s?}", "step", name, "phase", phase,
				"result", action_status_name(res->status),
				"message", res->message[0] ? res->message : NULL));
	step = json_pack("{s:s,s:s,s:s,s:o?,s:b,s:f,s:f,s:s,s:s?}",
			 "name", name, "action", action, "phase", phase, "args", shown_args,
			 "fault", fault,
			 "start_ms", journal_offset_ms(r->j, start),
			 "duration_ms", (double)elapsed / 1e6,
			 "result", action_status_name(res->status),
			 "message", res->message[0] ? res->message : NULL);
	if (res->data)
		json_object_set(step, "data", res->data);
	journal_add_step(r->j, step);
	return res->status;
}

/* Steady-state probes: every one must hold.  Returns 0 when all held. */
static int steady_state(struct run *r, const char *when)
{
	json_t *results = json_array();
	json_t *ss = journal_get(r->j, "steady_state");
	size_t i;
	json_t *spec;
	int failed = 0;

	journal_event(r->j, "steady_state_start", json_pack("{s:s}", "when", when));
	json_array_foreach(r->plan->steady_state, i, spec) {
		struct probe_result pr = PROBE_RESULT_INIT;
		struct action_ctx ctx;

		ctx_for(r, &ctx, "steady-state", 0, strcmp(when, "after") == 0);
		probe_run(&pr, r->t, spec, &ctx);
		json_array_append_new(results, probe_result_to_json(&pr, r->j));
		probe_result_event(r->j, &pr);
		progress_line(r->opts->progress, "  %-4s steady state %s: %s%s%s",
			      pr.ok ? "ok" : "FAIL", when, pr.name,
			      pr.message[0] ? ": " : "", pr.message);
		if (!pr.ok) {
			failed++;
			if (strcmp(when, "before") == 0)
				set_reason(r, "steady state before the first fault did not hold: probe '%s' failed: %s",
					   pr.name, pr.message);
			else
				set_reason(r, "steady state after the last restore did not hold: probe '%s' failed: %s",
					   pr.name, pr.message);
		}
		probe_result_release(&pr);
	}
	if (!json_is_object(ss)) {
		ss = json_object();
		journal_set(r->j, "steady_state", ss);
	}
	json_object_set_new(ss, when, results);
	journal_event(r->j, "steady_state_end", json_pack("{s:s,s:b}", "when", when, "ok", !failed));
	return failed ? -1 : 0;
}

static void *monitor_main(void *arg);

static void start_monitor(struct run *r)
{
	sigset_t all, old;

	if (r->opts->dry_run || (!r->plan->deadline_ns && json_array_size(r->plan->abort_when) == 0))
		return;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (pthread_create(&r->monitor, NULL, monitor_main, r) == 0)
		r->monitor_running = 1;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void stop_monitor(struct run *r)
{
	if (!r->monitor_running)
		return;
	atomic_store(&r->monitor_stop, 1);
	pthread_join(r->monitor, NULL);
	r->monitor_running = 0;
}

static void trip_abort(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void trip_abort(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (atomic_load(&r->abort_requested))
		return;
	va_start(ap, fmt);
	vsnprintf(r->abort_reason, sizeof(r->abort_reason), fmt, ap);
	va_end(ap);
	/* The reason is written before the flag that publishes it. */
	atomic_store(&r->abort_requested, 1);
	journal_event(r->j, "abort", json_pack("{s:s}", "message", r->abort_reason));
}

/* Background checks of the whole-drill deadline and abort_when conditions.
 * Each condition trips when it has failed continuously for its `for`. */
static void *monitor_main(void *arg)
{
	struct run *r = arg;
	size_t n = json_array_size(r->plan->abort_when);
	int64_t *failing_since = xcalloc(n ? n : 1, sizeof(*failing_since));
	int64_t start = clock_mono_ns();

	while (!atomic_load(&r->monitor_stop) && !atomic_load(&r->abort_requested)) {
		int64_t now = clock_mono_ns();
		size_t i;
		json_t *cond;

		if (r->plan->deadline_ns && now - start > r->plan->deadline_ns) {
			char d[32];

			duration_format(d, sizeof(d), r->plan->deadline_ns);
			trip_abort(r, "the drill's deadline of %s passed", d);
			break;
		}
		json_array_foreach(r->plan->abort_when, i, cond) {
			struct abort_check chk = ABORT_CHECK_INIT;
			struct action_ctx ctx;

			ctx_for(r, &ctx, "abort_when", 0, 1);
			ctx.abort_requested = NULL;
			if (probe_abort_condition(&chk, r->t, cond, &ctx) != 0) {
				failing_since[i] = 0;
				continue;
			}
			if (chk.holds) {
				failing_since[i] = 0;
				continue;
			}
			if (!failing_since[i])
				failing_since[i] = now;
			if (now - failing_since[i] >= chk.for_ns) {
				trip_abort(r, "abort condition %zu tripped: %s", i + 1, chk.message);
				break;
			}
		}
		for (int k = 0; k < 10 && !atomic_load(&r->monitor_stop); k++)
			clock_sleep_ns(10 * NS_PER_MS);
	}
	free(failing_since);
	return NULL;
}

static int plan_has_fault(const struct plan *plan)
{
	for (size_t i = 0; i < plan->nsteps; i++)
		if (plan->steps[i].fault)
			return 1;
	return 0;
}

/* "cluster_before": the cluster as the first fault finds it.  Taken just
 * before that step, after the steady state held and the workload settled:
 * taken earlier it showed a cluster still starting ("no quorum, 4
 * unreachable") for a drill whose steady state passed (issue 16).  A plan
 * without a fault step takes it before its first step; a drill that stopped
 * before its first fault (the steady state or an earlier step failed), as
 * it stopped: the evidence of why. */
static void take_cluster_before(struct run *r)
{
	struct dr_error err = DR_ERROR_INIT;
	json_t *status = NULL;

	if (r->cluster_before_taken || quiet_run(r->opts) || !r->started)
		return;
	r->cluster_before_taken = 1;
	if (r->t->status(r->t, &status, 2 * NS_PER_SEC, &err) == 0) {
		json_t *leader = json_object_get(status, "leader");
		json_int_t id = json_integer_value(json_object_get(leader, "id"));

		if (!json_is_object(leader))
			r->leader_before_fault = ACTION_NO_LEADER_BEFORE;
		else if (id > 0)
			r->leader_before_fault = id;
		journal_set(r->j, "cluster_before", status);
	} else
		journal_note(r->j, "the cluster's status before the first fault is not recorded: %s",
			     err.msg);
}

/* The baseline period: the workload writes undisturbed for the plan's
 * workload.baseline just before the first fault, so the measurements have
 * a "before" to set "during" and "after" against (journal "baseline").
 * Returns -1 when interrupted or aborted during it. */
static int hold_baseline(struct run *r, const struct plan_step *s)
{
	int64_t len = r->opts->baseline_set ? r->opts->baseline_ns : r->plan->workload.baseline_ns;
	int64_t start, end;
	struct action_ctx ctx;
	char d[32];
	int cancelled;

	if (r->baseline_done || !s->fault || !r->recorder || len <= 0)
		return 0;
	r->baseline_done = 1;
	duration_format(d, sizeof(d), len);
	ctx_for(r, &ctx, "baseline", 0, 0);
	start = clock_mono_ns();
	journal_event_at(r->j, start, "baseline_start", json_pack("{s:f}", "planned_ms",
								  (double)len / 1e6));
	progress_line(r->opts->progress, "baseline: %s of writes before the first fault", d);
	cancelled = action_ctx_sleep(&ctx, len);
	end = clock_mono_ns();
	journal_event_at(r->j, end, "baseline_end", json_pack("{s:b}", "completed", !cancelled));
	journal_set(r->j, "baseline", json_pack("{s:f,s:f}", "start_ms", journal_offset_ms(r->j, start),
						"end_ms", journal_offset_ms(r->j, end)));
	recorder_mark_baseline(r->recorder, start, end);
	return cancelled ? -1 : 0;
}

static void skip_rest(struct run *r, size_t from, const char *why)
{
	for (size_t k = from; k < r->plan->nsteps; k++)
		journal_add_step(r->j, json_pack("{s:s,s:s,s:s,s:s,s:s}",
			"name", r->plan->steps[k].name, "action", r->plan->steps[k].action,
			"phase", "steps", "result", "skipped", "message", why));
}

static void run_steps(struct run *r)
{
	int has_fault = plan_has_fault(r->plan);

	for (size_t i = 0; i < r->plan->nsteps; i++) {
		const struct plan_step *s = &r->plan->steps[i];
		struct action_result res = ACTION_RESULT_INIT;
		enum action_status st;

		if (interrupts(r) >= STEPS_INTERRUPT_LIMIT || atomic_load(&r->abort_requested) ||
		    hold_baseline(r, s) != 0) {
			skip_rest(r, i, "not run: the drill was stopped");
			return;
		}
		/* Register the undo before the fault runs: if the fault half-happens
		 * and we are interrupted, the undo still runs. */
		if (s->fault && s->undo) {
			undo_stack_push(&r->undos, s->name, s->undo);
			save_undos(r);
		}
		if (is_restore_action(s) && !r->restore_start_ns && r->first_fault_ns) {
			r->restore_start_ns = clock_mono_ns();
			if (r->recorder)
				recorder_mark_restore(r->recorder, r->restore_start_ns);
		}
		if (s->fault || !has_fault)
			take_cluster_before(r);
		st = run_action(r, "steps", s->name, s->action, s->args, s->timeout_ns,
				s->expect, s->fault, &res);
		if (st != ACTION_OK && strcmp(s->action, "notify") == 0) {
			/* A notification never decides a drill. */
			journal_note(r->j, "notify step '%s' failed (ignored): %s", s->name, res.message);
			st = ACTION_OK;
		}
		if (st == ACTION_CANCELLED ||
		    (st != ACTION_OK && (interrupts(r) || atomic_load(&r->abort_requested)))) {
			action_result_release(&res);
			continue; /* the loop head records the rest as skipped */
		}
		if (st != ACTION_OK) {
			r->steps_failed = 1;
			raise_exit(r, EXIT_FAILED);
			set_reason(r, "step '%s' (%s) %s: %s", s->name, s->action,
				   st == ACTION_TIMED_OUT ? "timed out" : "failed", res.message);
			if (s->continue_on_failure) {
				/* The verdict is already failed; the plan asked to go on. */
				action_result_release(&res);
				continue;
			}
			action_result_release(&res);
			for (size_t k = i + 1; k < r->plan->nsteps; k++)
				journal_add_step(r->j, json_pack("{s:s,s:s,s:s,s:s,s:s}",
					"name", r->plan->steps[k].name, "action", r->plan->steps[k].action,
					"phase", "steps", "result", "skipped",
					"message", "not run: an earlier step failed"));
			return;
		}
		action_result_release(&res);
	}
	r->steps_completed = 1;
}

/* Undos in reverse, then the rollback list.  One failure never skips the
 * rest.  At the third interrupt we stop and name what was not restored. */
static void run_rollback(struct run *r)
{
	struct undo_entry e;
	int reported_second = 0;

	while (undo_stack_pop(&r->undos, &e) == 0) {
		struct action_result res = ACTION_RESULT_INIT;

		/* A plan that restores only through its undos resyncs from here. */
		if (!r->restore_start_ns && r->first_fault_ns) {
			r->restore_start_ns = clock_mono_ns();
			if (r->recorder)
				recorder_mark_restore(r->recorder, r->restore_start_ns);
		}
		char *name = xasprintf("undo %s", e.step_name);
		const char *action = json_string_value(json_object_get(e.action, "action"));

		if (interrupts(r) >= 2 && !reported_second) {
			progress_line(r->opts->progress, "second interrupt: rollback continues (a third one gives up)");
			journal_note(r->j, "second interrupt during rollback ignored");
			reported_second = 1;
		}
		if (interrupts(r) >= ROLLBACK_INTERRUPT_LIMIT) {
			r->rollback_failed = 1;
			undo_stack_push(&r->kept, e.step_name, e.action);
			journal_note(r->j, "not restored: %s", name);
			progress_line(r->opts->progress, "not restored: %s", name);
		} else if (run_action(r, "undo", name, action ? action : "?", e.action,
				      executor_default_timeout(e.action), NULL, 0, &res) != ACTION_OK) {
			r->rollback_failed = 1;
			undo_stack_push(&r->kept, e.step_name, e.action);
			set_reason(r, "undo of step '%s' failed: %s", e.step_name, res.message);
		}
		journal_event(r->j, "undo", json_pack("{s:s,s:s}", "step", e.step_name,
				"result", interrupts(r) >= ROLLBACK_INTERRUPT_LIMIT ? "not run" :
				action_status_name(res.status)));
		action_result_release(&res);
		undo_entry_release(&e);
		free(name);
		save_undos(r);
	}
	for (size_t i = 0; i < r->plan->nrollback; i++) {
		const struct plan_step *s = &r->plan->rollback[i];
		struct action_result res = ACTION_RESULT_INIT;

		if (interrupts(r) >= ROLLBACK_INTERRUPT_LIMIT) {
			r->rollback_failed = 1;
			journal_note(r->j, "not restored: rollback '%s'", s->name);
			progress_line(r->opts->progress, "not restored: rollback '%s'", s->name);
			continue;
		}
		if (run_action(r, "rollback", s->name, s->action, s->args, s->timeout_ns,
			       s->expect, 0, &res) != ACTION_OK) {
			r->rollback_failed = 1;
			set_reason(r, "rollback '%s' failed: %s", s->name, res.message);
		}
		journal_event(r->j, "rollback", json_pack("{s:s,s:s}", "step", s->name,
				"result", action_status_name(res.status)));
		action_result_release(&res);
	}
	if (r->rollback_failed)
		raise_exit(r, EXIT_ROLLBACK_FAILED);
}

static void finish(struct run *r)
{
	const char *status;
	char wall[40];

	/* A dry run is no drill: it passes no verdict, it completes. */
	if (r->out->exit_code == EXIT_PASSED && quiet_run(r->opts))
		status = "dry_run";
	else if (r->out->exit_code == EXIT_PASSED)
		status = "passed";
	else if (r->interrupted || atomic_load(&r->abort_requested))
		status = "aborted";
	else if (r->out->exit_code == EXIT_FAILED)
		status = "failed";
	else if (r->out->exit_code == EXIT_ROLLBACK_FAILED && r->steps_failed)
		status = "failed";
	else
		status = "error";
	r->out->status = status;
	clock_format_utc(wall, sizeof(wall), clock_wall_ns());
	journal_set(r->j, "finished_at", json_string(wall));
	journal_set(r->j, "duration_ms", json_real(journal_offset_ms(r->j, clock_mono_ns())));
	journal_set(r->j, "status", json_string(status));
	journal_set(r->j, "exit_code", json_integer(r->out->exit_code));
	journal_set(r->j, "reason", r->out->reason[0] ? json_string(r->out->reason) : json_null());
	journal_event(r->j, "drill_end", json_pack("{s:s,s:i,s:s?}", "status", status,
						   "exit_code", r->out->exit_code,
						   "reason", r->out->reason[0] ? r->out->reason : NULL));
}

/* The drill lock, then a refusal when an earlier drill left pending undos.
 * Returns 0, or -1 with the exit code and reason set. */
static int take_lock(struct run *r)
{
	struct target *t = r->t;

	if (t->lock(t, &r->err) != 0) {
		raise_exit(r, EXIT_INFRA);
		set_reason(r, "cannot take the drill lock: %s", r->err.msg);
		return -1;
	}
	r->locked = 1;
	if (t->state_path)
		r->state_path = t->state_path(t);
	if (r->state_path && access(r->state_path, F_OK) == 0) {
		/* The lock is ours, so whoever wrote it is gone without
		 * restoring: refuse rather than drill a degraded target. */
		r->state_path_foreign = 1;
		raise_exit(r, EXIT_INFRA);
		set_reason(r, "an earlier drill was interrupted and left pending undos in '%s'; "
			   "run 'drillrig recover' first", r->state_path);
		return -1;
	}
	return 0;
}

/* The "target" event and progress line, from the journal's description. */
static void announce_target(struct run *r)
{
	json_t *d = journal_get(r->j, "target");
	const char *dir = json_string_value(json_object_get(d, "cluster_dir"));

	journal_event(r->j, "target", json_pack("{s:s,s:s?,s:s?}", "kind", r->t->kind,
			"description", json_string_value(json_object_get(d, "description")),
			"cluster_dir", dir));
	progress_line(r->opts->progress, "target: %s%s%s%s",
		      json_string_value(json_object_get(d, "description")) ?: r->t->kind,
		      dir ? " in " : "", dir ? dir : "", "");
}

/* Start the target, journal what it is and save the (still empty) undo
 * state for `drillrig recover`.  Returns 0, or -1 with the exit code and
 * reason set. */
static int connect_target(struct run *r)
{
	struct target *t = r->t;
	struct action_ctx ctx;

	ctx_for(r, &ctx, "connect", 0, 0);
	if (t->start(t, &ctx, &r->err) != 0) {
		raise_exit(r, interrupts(r) ? EXIT_ABORTED : EXIT_INFRA);
		set_reason(r, "cannot reach the %s target: %s", t->kind, r->err.msg);
		return -1;
	}
	r->started = 1;
	journal_set(r->j, "target", t->describe(t));
	if (r->state_path && !r->opts->dry_run) {
		r->target_desc = t->describe(t);
		save_undos(r);
	}
	announce_target(r);
	return 0;
}

/* The writer and poller, then the wait for their canary baseline.
 * Returns 0, or -1 with the exit code and reason set. */
static int start_workload(struct run *r)
{
	struct action_ctx ctx;

	if (recorder_start(&r->recorder, r->plan, r->t, r->j, r->opts->progress, &r->err) != 0) {
		raise_exit(r, EXIT_INFRA);
		set_reason(r, "cannot start the workload: %s", r->err.msg);
		return -1;
	}
	ctx_for(r, &ctx, "canary baseline", 0, 0);
	if (recorder_await_baseline(r->recorder, &ctx, &r->err) != 0) {
		raise_exit(r, interrupts(r) ? EXIT_ABORTED : EXIT_INFRA);
		set_reason(r, "%s", r->err.msg);
		return -1;
	}
	return 0;
}

/* Before the first step (nothing to observe in a dry run): the steady
 * state, which must hold, and the workload.  Returns -1 when the steps must
 * not run; the rollback still does. */
static int before_steps(struct run *r)
{
	if (quiet_run(r->opts))
		return 0;
	if (steady_state(r, "before") != 0) {
		raise_exit(r, EXIT_INFRA);
		return -1;
	}
	if (!r->opts->no_workload && r->plan->workload.enabled)
		return start_workload(r);
	return 0;
}

#define INTERRUPTED_REASON "the drill was interrupted by a signal"

/* Why the steps stopped early, if they did: a signal or an abort. */
static void record_stop(struct run *r)
{
	if (interrupts(r)) {
		r->interrupted = 1;
		journal_event(r->j, "abort", json_pack("{s:s}", "message", "interrupted by a signal"));
		set_reason(r, "%s", INTERRUPTED_REASON);
		raise_exit(r, EXIT_ABORTED);
	} else if (atomic_load(&r->abort_requested)) {
		set_reason(r, "the drill was aborted: %s", r->abort_reason);
		raise_exit(r, EXIT_FAILED);
	}
}

/* The recorded history checked and its objectives measured; the recorder
 * freed. */
static void finish_workload(struct run *r)
{
	if (recorder_finish(r->recorder, r->plan, r->t, r->j, r->opts->history_path,
			    &r->err) != 0) {
		raise_exit(r, EXIT_INFRA);
		set_reason(r, "cannot check the recorded history: %s", r->err.msg);
	} else if (recorder_failed_objective(r->recorder, r->out->reason, sizeof(r->out->reason))) {
		raise_exit(r, EXIT_FAILED);
	}
	recorder_free(r->recorder);
	r->recorder = NULL;
}

/* After the rollback: the workload stopped, the steady state again (unless
 * the rollback failed or the target was never healthy), the cluster's
 * status, then the measurements. */
/* Steps that stopped early leave recovery to the rollback: keep the
 * workload and the status poller running until the cluster is fully
 * replicated again (bounded by the resync objective, else 60 s), so the
 * recovery the rollback brought is measured, not cut off a few
 * milliseconds after the undo.  A step of its own, so the report shows it. */
static void await_recovery_by_rollback(struct run *r)
{
	const struct plan_objectives *o = &r->plan->objectives;
	int64_t limit = o->has_resync && o->resync_ns > 0 ? o->resync_ns : 60 * NS_PER_SEC;
	struct action_result res = ACTION_RESULT_INIT;
	json_t *args;

	if (!r->recorder || !r->first_fault_ns || r->steps_completed || r->rollback_failed ||
	    interrupts(r) >= ROLLBACK_INTERRUPT_LIMIT || quiet_run(r->opts))
		return;
	args = json_pack("{s:s}", "action", "await_replicated");
	journal_note(r->j, "the steps stopped early: recovery is measured through the rollback "
		     "(the workload runs until the cluster is fully replicated)");
	if (run_action(r, "rollback", "recovery by rollback", "await_replicated", args, limit,
		       NULL, 0, &res) != ACTION_OK) {
		r->rollback_failed = 1;
		set_reason(r, "the cluster did not recover after the rollback: %s", res.message);
	}
	action_result_release(&res);
	json_decref(args);
}

static void after_rollback(struct run *r)
{
	json_t *status = NULL;

	await_recovery_by_rollback(r);
	/* The final steady state checks a settled cluster: under a live write
	 * load a busy machine shows followers a few entries behind. */
	if (r->recorder)
		recorder_stop(r->recorder);
	if (!quiet_run(r->opts) && !r->rollback_failed && r->out->exit_code != EXIT_INFRA &&
	    interrupts(r) < ROLLBACK_INTERRUPT_LIMIT) {
		if (steady_state(r, "after") != 0)
			raise_exit(r, EXIT_FAILED);
	}
	if (r->started && !quiet_run(r->opts) &&
	    r->t->status(r->t, &status, 2 * NS_PER_SEC, &r->err) == 0)
		journal_set(r->j, "cluster_after", status);
	if (r->recorder)
		finish_workload(r);
}

/* Unlock and drop the undo state, except one an earlier drill left and one
 * whose rollback did not finish (an undo or a rollback step failed or never
 * ran): those stay for `drillrig recover`. */
static void release_run(struct run *r)
{
	stop_monitor(r);
	/* Nothing left to undo: the target's copy goes before its lock. */
	if (r->state_path && !r->opts->dry_run && r->locked && !r->state_path_foreign &&
	    !r->rollback_failed && r->t->state_saved)
		r->t->state_saved(r->t, NULL);
	if (r->locked)
		r->t->unlock(r->t);
	if (r->state_path && !r->opts->dry_run && r->locked && !r->state_path_foreign) {
		if (r->rollback_failed)
			snprintf(r->out->state_kept, sizeof(r->out->state_kept), "%s",
				 r->state_path);
		else
			undo_stack_remove_state(r->state_path);
	}
	undo_stack_release(&r->undos);
	undo_stack_release(&r->kept);
	free(r->state_path);
	json_decref(r->target_desc);
}

void runner_run(struct runner_result *out, const struct plan *plan, struct target *t,
		struct journal *j, const struct runner_opts *opts)
{
	struct run r;

	memset(out, 0, sizeof(*out));
	memset(&r, 0, sizeof(r));
	r.plan = plan;
	r.t = t;
	r.j = j;
	r.opts = opts;
	r.out = out;
	undo_stack_init(&r.undos);
	undo_stack_init(&r.kept);
	journal_event(j, "drill_start", json_pack("{s:s}", "drill", plan->name));

	if (!opts->dry_run && take_lock(&r) != 0)
		goto done;
	if (connect_target(&r) != 0)
		goto done;
	if (before_steps(&r) == 0) {
		start_monitor(&r);
		run_steps(&r);
		stop_monitor(&r);
	}
	take_cluster_before(&r); /* when no fault step ran */
	record_stop(&r);
	run_rollback(&r);
	if (r.interrupted && strcmp(out->reason, INTERRUPTED_REASON) == 0)
		snprintf(out->reason + strlen(out->reason), sizeof(out->reason) - strlen(out->reason),
			 "; %s", r.rollback_failed ? "the rollback did not finish" : "rollback ran");
	after_rollback(&r);
done:
	release_run(&r);
	finish(&r);
}
