/* Objectives against measurements (rules in objectives.h). */
#include "assertions/objectives.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/strbuf.h"

static struct objective_result *next_result(struct objective_results *out, const char *name,
					    const char *unit, double limit)
{
	struct objective_result *r = &out->items[out->count++];

	memset(r, 0, sizeof(*r));
	str_copy(r->name, sizeof(r->name), name);
	r->unit = unit;
	r->limit = limit;
	return r;
}

static void __attribute__((format(printf, 2, 3)))
say(struct objective_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->message, sizeof(r->message), fmt, ap);
	va_end(ap);
}

/* A number for a message: up to 3 decimals, no trailing zeros, never
 * exponent notation (an hour is 3600000 ms, not 3.6e+06). */
struct num {
	char s[48];
};

static struct num num(double v)
{
	struct num n;
	size_t len;

	snprintf(n.s, sizeof(n.s), "%.3f", v);
	len = strlen(n.s);
	while (len > 0 && n.s[len - 1] == '0')
		n.s[--len] = '\0';
	if (len > 0 && n.s[len - 1] == '.')
		n.s[--len] = '\0';
	if (strcmp(n.s, "-0") == 0)
		str_copy(n.s, sizeof(n.s), "0");
	return n;
}

/* An upper-bound objective (measured <= limit passes). */
static void upper_bound(struct objective_results *out, const char *name, const char *unit,
			double limit, const struct measure_value *v)
{
	struct objective_result *r = next_result(out, name, unit, limit);

	if (!v->has) {
		say(r, "not measured: %s", v->why[0] ? v->why : "no measurement");
		return;
	}
	r->has_measured = true;
	r->measured = v->value;
	r->margin = limit - v->value;
	r->passed = v->value <= limit;
	if (!r->passed)
		say(r, "%s %s %s exceeds the limit %s %s by %s %s", name, num(v->value).s, unit,
		    num(limit).s, unit, num(v->value - limit).s, unit);
}

static double ns_ms(int64_t ns)
{
	return (double)ns / 1e6;
}

static void rto_message(struct objective_result *r, const struct measurements *m)
{
	if (r->passed || !r->has_measured || !m->has_outage)
		return;
	/* Say where the outage began: it helps to read the timeline. */
	say(r, "rto %s ms exceeds the limit %s ms by %s ms (writes failed from %.1f ms, "
	    "recovered at %.1f ms)", num(r->measured).s, num(r->limit).s,
	    num(r->measured - r->limit).s, m->outage_first_failure_ms, m->outage_end_ms);
}

static void rpo_count(struct objective_results *out, const struct objective_limits *lim,
		      const struct measurements *m)
{
	uint64_t allowed = lim->has_rpo ? lim->rpo : 0;
	struct objective_result *r = next_result(out, "rpo", "writes", (double)allowed);
	const struct check_result *c = &m->writes;

	if (!m->rpo_lost_writes.has) {
		say(r, "not measured: %s", m->rpo_lost_writes.why);
		return;
	}
	r->has_measured = true;
	r->measured = (double)c->lost;
	r->margin = (double)allowed - (double)c->lost;
	r->passed = c->lost <= allowed;
	if (!r->passed) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%" PRIu64 " acknowledged write%s lost (limit %" PRIu64 "): sequence",
			    c->lost, c->lost == 1 ? "" : "s", allowed);
		for (size_t i = 0; i < c->n_lost_sequences && i < 10; i++)
			strbuf_addf(&sb, "%s %" PRIu64, i ? "," : "", c->lost_sequences[i]);
		if (c->lost > 10)
			strbuf_adds(&sb, ", ...");
		if (m->rpo_seconds.has && m->rpo_seconds.value > 0)
			strbuf_addf(&sb, "; the oldest was acknowledged %.3f s before the fault",
				    m->rpo_seconds.value);
		say(r, "%s", strbuf_str(&sb));
		strbuf_release(&sb);
	}
}

/* Integrity of the history: no limit, always 0. */
static void history_integrity(struct objective_results *out, const struct measurements *m)
{
	struct objective_result *r = next_result(out, "history", "violations", 0);
	const struct check_result *c = &m->writes;
	uint64_t v = check_integrity_violations(c);
	struct strbuf sb = STRBUF_INIT;

	if (!m->has_writes) {
		say(r, "not measured: the workload's history was not checked");
		return;
	}
	r->has_measured = true;
	r->measured = (double)v;
	r->margin = 0.0 - (double)v; /* not -0.0 when clean */
	if (c->duplicated)
		strbuf_addf(&sb, "%s%" PRIu64 " write%s duplicated (first: sequence %" PRIu64 ")",
			    sb.len ? "; " : "", c->duplicated, c->duplicated == 1 ? "" : "s",
			    c->duplicated_sequences[0]);
	if (c->definite_failed_present)
		strbuf_addf(&sb, "%s%" PRIu64 " rejected write%s present in the ledger (first: "
			    "sequence %" PRIu64 ")", sb.len ? "; " : "", c->definite_failed_present,
			    c->definite_failed_present == 1 ? "" : "s",
			    c->definite_failed_present_sequences[0]);
	if (c->reordered)
		strbuf_addf(&sb, "%s%" PRIu64 " write%s out of real-time order (sequence %" PRIu64
			    " acknowledged at index %" PRIu64 " before sequence %" PRIu64
			    " was sent, which got index %" PRIu64 ")", sb.len ? "; " : "",
			    c->reordered, c->reordered == 1 ? "" : "s", c->reorder_first_seq,
			    c->reorder_first_index,
			    c->reorder_second_seq, c->reorder_second_index);
	if (c->unexpected)
		strbuf_addf(&sb, "%s%" PRIu64 " ledger entr%s of this client never sent by the "
			    "workload", sb.len ? "; " : "", c->unexpected,
			    c->unexpected == 1 ? "y" : "ies");
	if (c->history_overflow)
		strbuf_addf(&sb, "%sthe history overflowed its cap (%" PRIu64 " attempts dropped): "
			    "the check is incomplete", sb.len ? "; " : "", c->history_dropped);
	r->passed = v == 0 && !c->history_overflow;
	if (!r->passed)
		say(r, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
}

void objectives_evaluate(struct objective_results *out, const struct objective_limits *lim,
			 const struct measurements *m)
{
	/* The history was checked (the workload or canary writes): the RPO
	 * count and the history objective always apply. */
	bool ledger = strcmp(m->workload_mode, "ledger") == 0 || strcmp(m->workload_mode, "canary") == 0;

	memset(out, 0, sizeof(*out));
	if (lim->has_rto) {
		upper_bound(out, "rto", "ms", ns_ms(lim->rto_ns), &m->rto_ms);
		rto_message(&out->items[out->count - 1], m);
	}
	if (lim->has_promotion)
		upper_bound(out, "promotion", "ms", ns_ms(lim->promotion_ns), &m->promotion_ms);
	if (lim->has_resync)
		upper_bound(out, "resync", "ms", ns_ms(lim->resync_ns), &m->resync_ms);
	if (lim->has_max_lag)
		upper_bound(out, "max_lag", "ms", ns_ms(lim->max_lag_ns), &m->max_lag_ms);
	if (lim->has_rpo_window) {
		struct measure_value ms = m->rpo_seconds;

		ms.value *= 1000.0;
		upper_bound(out, "rpo_window", "ms", ns_ms(lim->rpo_window_ns), &ms);
	}
	if (lim->has_rpo || ledger)
		rpo_count(out, lim, m);
	if (lim->has_availability) {
		struct objective_result *r = next_result(out, "availability", "percent",
							 lim->availability_pct);

		if (!m->availability.has) {
			say(r, "not measured: %s", m->availability.why);
		} else {
			r->has_measured = true;
			r->measured = m->availability.value * 100.0;
			r->margin = r->measured - r->limit;
			r->passed = r->measured >= r->limit;
			if (!r->passed)
				say(r, "availability %.3f%% is below the objective %s%% (writes could "
				    "not complete for %.1f ms)", r->measured, num(r->limit).s,
				    m->unavailable_ms.has ? m->unavailable_ms.value : 0.0);
		}
	}
	if (ledger)
		history_integrity(out, m);
}

bool objectives_all_passed(const struct objective_results *r)
{
	return objectives_first_failure(r) == NULL;
}

const struct objective_result *objectives_first_failure(const struct objective_results *r)
{
	for (size_t i = 0; i < r->count; i++)
		if (!r->items[i].passed)
			return &r->items[i];
	return NULL;
}
