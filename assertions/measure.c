/* Drill measurements (definitions: measure.h and docs/measurement.md). */
#include "assertions/measure.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertions/logical.h"
#include "assertions/sort.h"
#include "common/strbuf.h"

void measure_value_set(struct measure_value *v, double value)
{
	v->has = true;
	v->value = value;
	v->why[0] = '\0';
}

void measure_value_none(struct measure_value *v, const char *fmt, ...)
{
	va_list ap;

	v->has = false;
	v->value = 0;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

static double ns_to_ms(int64_t ns)
{
	return (double)ns / 1e6;
}

/* An attempt that shows the service was not serving: not ok, or ok but
 * slower than the per-call timeout (a stalled write). */
static bool attempt_bad(const struct history_op *op, int64_t call_timeout_ns)
{
	if (op->outcome != HISTORY_OK)
		return true;
	return call_timeout_ns > 0 && op->complete_ns - op->invoke_ns > call_timeout_ns;
}

/* ---- unavailable intervals ---- */

struct span {
	int64_t start;        /* invoke of the first bad attempt in it */
	int64_t end;          /* completion of the first good write after it */
	int64_t last_bad_end; /* latest completion of a bad attempt in it */
	bool recovered;       /* false: no good write after it; end = window end */
};

static int cmp_span(const void *pa, const void *pb)
{
	const struct span *a = pa, *b = pb;

	return a->start < b->start ? -1 : a->start > b->start;
}

/* Merged unavailable spans, in time order (heap, *out; returns count).
 * Each bad attempt b makes [b.invoke, R(b)] where R(b) is the earliest
 * completion of a good attempt invoked at or after b.invoke: from b's
 * invoke on, no newly started write completed before R(b).  Overlapping
 * spans merge (their union is what "unavailable" means). */
static size_t unavailable_spans(struct span **out, const struct history *h,
				int64_t call_timeout_ns, int64_t window_end)
{
	/* Good attempts: key = invoke (ordered), payload = completion. */
	struct sort_pair *goods = xmalloc((h->count ? h->count : 1) * sizeof(*goods));
	int64_t *suffix_min = NULL;
	struct span *spans = NULL;
	size_t n_good = 0, n_bad = 0, n = 0;
	bool sorted = true;

	for (size_t i = 0; i < h->count; i++) {
		const struct history_op *op = &h->ops[i];

		if (attempt_bad(op, call_timeout_ns)) {
			n_bad++;
			continue;
		}
		goods[n_good].key = sort_key_i64(op->invoke_ns);
		goods[n_good].payload = (uint64_t)op->complete_ns;
		if (n_good > 0 && goods[n_good - 1].key > goods[n_good].key)
			sorted = false;
		n_good++;
	}
	if (n_bad == 0)
		goto out;
	if (!sorted)
		sort_pairs(goods, n_good);
	/* suffix_min[i]: earliest completion among goods[i..]. */
	suffix_min = xmalloc((n_good + 1) * sizeof(*suffix_min));
	suffix_min[n_good] = INT64_MAX;
	for (size_t i = n_good; i-- > 0;)
		suffix_min[i] = (int64_t)goods[i].payload < suffix_min[i + 1]
					? (int64_t)goods[i].payload : suffix_min[i + 1];

	spans = xmalloc(n_bad * sizeof(*spans));
	sorted = true;
	for (size_t i = 0; i < h->count; i++) {
		const struct history_op *op = &h->ops[i];
		size_t lo = 0, hi = n_good;
		struct span *s;

		if (!attempt_bad(op, call_timeout_ns))
			continue;
		while (lo < hi) { /* first good invoked at or after op */
			size_t mid = lo + (hi - lo) / 2;

			if (goods[mid].key < sort_key_i64(op->invoke_ns))
				lo = mid + 1;
			else
				hi = mid;
		}
		s = &spans[n++];
		s->start = op->invoke_ns;
		s->last_bad_end = op->complete_ns;
		s->recovered = suffix_min[lo] != INT64_MAX;
		s->end = s->recovered ? suffix_min[lo] : window_end;
		if (s->end < s->last_bad_end && !s->recovered)
			s->end = s->last_bad_end;
		if (n > 1 && spans[n - 2].start > s->start)
			sorted = false;
	}
	if (!sorted)
		qsort(spans, n, sizeof(*spans), cmp_span);
	/* Merge in place. */
	{
		size_t m = 0;

		for (size_t i = 0; i < n; i++) {
			struct span *last = m ? &spans[m - 1] : NULL;

			if (last && spans[i].start <= last->end) {
				if (spans[i].end > last->end) {
					last->end = spans[i].end;
					last->recovered = spans[i].recovered;
				} else if (spans[i].end == last->end) {
					last->recovered = last->recovered && spans[i].recovered;
				}
				if (spans[i].last_bad_end > last->last_bad_end)
					last->last_bad_end = spans[i].last_bad_end;
			} else {
				spans[m++] = spans[i];
			}
		}
		n = m;
	}
out:
	free(goods);
	free(suffix_min);
	*out = spans;
	return n;
}

/* ---- write figures ---- */

static int64_t latency_at(const struct sort_pair *lat, size_t i)
{
	return (int64_t)(lat[i].key ^ (UINT64_C(1) << 63));
}

/* Sort the k latencies and set the median, p99 and maximum.  Nearest
 * rank: the smallest value with at least p of the samples at or below it. */
static void latency_ranks(struct sort_pair *lat, size_t k, struct measure_value *p50,
			  struct measure_value *p99, struct measure_value *max)
{
	sort_pairs(lat, k);
	measure_value_set(p50, ns_to_ms(latency_at(lat, (k * 50 + 99) / 100 - 1)));
	measure_value_set(p99, ns_to_ms(latency_at(lat, (k * 99 + 99) / 100 - 1)));
	measure_value_set(max, ns_to_ms(latency_at(lat, k - 1)));
}

static void latency_figures(struct measurements *m, const struct history *h)
{
	struct logical *ws = NULL;
	size_t n = logical_build(&ws, h);
	struct sort_pair *lat = xmalloc((n ? n : 1) * sizeof(*lat));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (ws[i].state != HISTORY_OK)
			continue;
		lat[k].key = sort_key_i64(ws[i].ack_ns - ws[i].first_invoke_ns);
		lat[k].payload = 0;
		k++;
	}
	if (k == 0) {
		measure_value_none(&m->max_latency_ms, "no write was acknowledged");
		measure_value_none(&m->latency_p50_ms, "no write was acknowledged");
		measure_value_none(&m->latency_p99_ms, "no write was acknowledged");
		measure_value_none(&m->latency_max_ms, "no write was acknowledged");
		goto out;
	}
	latency_ranks(lat, k, &m->latency_p50_ms, &m->latency_p99_ms, &m->latency_max_ms);
	m->max_latency_ms = m->latency_max_ms;
out:
	free(lat);
	free(ws);
}

/* A span the first fault cannot have caused: every bad attempt in it
 * completed before the fault began, or a good write ended it before then.
 * The complement is what RTO and availability count (issue 16: 4-5 ms
 * blips before the fault were drawn and counted as outages). */
static bool span_before_fault(const struct span *s, const struct measure_markers *mk)
{
	return mk->has_fault && (s->last_bad_end < mk->fault_start_ns ||
				 (s->recovered && s->end < mk->fault_start_ns));
}

static void span_out(struct measure_span *out, const struct span *s, int64_t origin)
{
	out->start_ms = ns_to_ms(s->start - origin);
	out->end_ms = ns_to_ms(s->end - origin);
	out->recovered = s->recovered;
}

/* ---- before / during / after ---- */

static int64_t overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
	int64_t lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;

	return hi > lo ? hi - lo : 0;
}

static void phase_none(struct measure_phase *p, const char *why)
{
	p->has = false;
	str_copy(p->why, sizeof(p->why), why);
}

/* One phase's figures over [a, b). */
static void phase_measure(struct measure_phase *p, int64_t a, int64_t b, const struct span *spans,
			  size_t n, const struct logical *ws, size_t nws,
			  const struct measure_markers *mk)
{
	struct sort_pair *lat = xmalloc((nws ? nws : 1) * sizeof(*lat));
	int64_t down = 0;
	size_t k = 0;

	p->has = true;
	p->start_ms = ns_to_ms(a - mk->drill_start_ns);
	p->end_ms = ns_to_ms(b - mk->drill_start_ns);
	for (size_t i = 0; i < n; i++)
		down += overlap(spans[i].start, spans[i].end, a, b);
	measure_value_set(&p->unavailable_ms, ns_to_ms(down));
	measure_value_set(&p->availability, 1.0 - (double)down / (double)(b - a));
	for (size_t i = 0; i < nws; i++) {
		if (ws[i].state != HISTORY_OK || ws[i].ack_ns < a || ws[i].ack_ns >= b)
			continue;
		lat[k].key = sort_key_i64(ws[i].ack_ns - ws[i].first_invoke_ns);
		lat[k].payload = 0;
		k++;
	}
	p->writes_ok = k;
	if (k == 0) {
		measure_value_none(&p->latency_p50_ms, "no write was acknowledged in the window");
		measure_value_none(&p->latency_p99_ms, "no write was acknowledged in the window");
		measure_value_none(&p->latency_max_ms, "no write was acknowledged in the window");
	} else {
		latency_ranks(lat, k, &p->latency_p50_ms, &p->latency_p99_ms, &p->latency_max_ms);
	}
	free(lat);
}

/* The three windows (measure.h) over the attempts' time [w0, w1]. */
static void phase_figures(struct measurements *m, const struct history *h, const struct span *spans,
			  size_t n, int64_t w0, int64_t w1, const struct measure_markers *mk)
{
	struct logical *ws = NULL;
	size_t nws;
	int64_t a, b;

	if (!mk->has_fault) {
		for (int i = 0; i < MEASURE_NPHASES; i++)
			phase_none(&m->phases[i], "no fault step ran");
		return;
	}
	nws = logical_build(&ws, h);
	a = mk->has_baseline ? mk->baseline_start_ns : w0;
	b = mk->has_baseline ? mk->baseline_end_ns : mk->fault_start_ns;
	if (b > a)
		phase_measure(&m->phases[MEASURE_BEFORE], a, b, spans, n, ws, nws, mk);
	else
		phase_none(&m->phases[MEASURE_BEFORE], "no write was sent before the fault");
	a = mk->fault_start_ns;
	b = mk->has_restore && mk->restore_start_ns > a ? mk->restore_start_ns : w1;
	if (b > a)
		phase_measure(&m->phases[MEASURE_DURING], a, b, spans, n, ws, nws, mk);
	else
		phase_none(&m->phases[MEASURE_DURING], "no write was sent after the fault");
	if (!mk->has_restore)
		phase_none(&m->phases[MEASURE_AFTER], "the drill had no restore step");
	else if (w1 > mk->restore_start_ns)
		phase_measure(&m->phases[MEASURE_AFTER], mk->restore_start_ns, w1, spans, n, ws, nws,
			      mk);
	else
		phase_none(&m->phases[MEASURE_AFTER], "no write was sent after the restore began");
	free(ws);
}

static void outage_figures(struct measurements *m, const struct history *h,
			   const struct measure_markers *mk)
{
	struct span *spans = NULL;
	int64_t w0 = INT64_MAX, w1 = INT64_MIN, unavailable = 0, blips = 0;
	size_t n;

	for (size_t i = 0; i < h->count; i++) {
		if (h->ops[i].invoke_ns < w0)
			w0 = h->ops[i].invoke_ns;
		if (h->ops[i].complete_ns > w1)
			w1 = h->ops[i].complete_ns;
	}
	n = unavailable_spans(&spans, h, mk->call_timeout_ns, w1);
	for (size_t i = 0; i < n; i++) {
		if (span_before_fault(&spans[i], mk)) {
			blips += spans[i].end - spans[i].start;
			if (m->n_blips < MEASURE_MAX_SPANS)
				span_out(&m->blips[m->n_blips++], &spans[i], mk->drill_start_ns);
			m->n_blips_total++;
			continue;
		}
		unavailable += spans[i].end - spans[i].start;
		if (m->n_spans < MEASURE_MAX_SPANS)
			span_out(&m->spans[m->n_spans++], &spans[i], mk->drill_start_ns);
		m->n_spans_total++;
	}
	m->blips_ms = ns_to_ms(blips);
	phase_figures(m, h, spans, n, w0, w1, mk);
	measure_value_set(&m->unavailable_ms, ns_to_ms(unavailable));
	if (w1 > w0) {
		measure_value_set(&m->availability, 1.0 - (double)unavailable / (double)(w1 - w0));
		measure_value_set(&m->write_window_ms, ns_to_ms(w1 - w0));
	} else {
		measure_value_none(&m->availability, "the workload's writes took no measurable time");
		measure_value_none(&m->write_window_ms, "the workload's writes took no measurable time");
	}

	if (!mk->has_fault) {
		measure_value_none(&m->rto_ms, "no fault step ran");
		goto out;
	}
	/* The fault's outage: from the first span not over before the fault
	 * to the end of the last span that began before the restore (or, with
	 * none, before the drill ended).  One fault can interrupt writes more
	 * than once: a region's graceful stop hands leadership to a node that
	 * loses its quorum when the region's last node exits, so a 6 ms blip
	 * at the handover comes before the real outage; stopping at the first
	 * span measured that blip as the RTO of a quorum loss that lasted
	 * 1.4 s.  Spans after the restore began belong to the restore. */
	for (size_t i = 0; i < n; i++) {
		const struct span *s = &spans[i];

		if (span_before_fault(s, mk))
			continue;
		m->has_outage = true;
		m->outage_start_ms = ns_to_ms(mk->fault_start_ns - mk->drill_start_ns);
		m->outage_first_failure_ms = ns_to_ms(s->start - mk->drill_start_ns);
		for (size_t j = i + 1; j < n; j++)
			if (!mk->has_restore || spans[j].start < mk->restore_start_ns)
				s = &spans[j];
		if (!s->recovered) {
			m->rto_note = "not recovered";
			measure_value_none(&m->rto_ms, "not recovered: no write succeeded after the outage "
				 "that began at %.1f ms", ns_to_ms(s->start - mk->drill_start_ns));
			goto out;
		}
		m->has_outage_end = true;
		m->outage_end_ms = ns_to_ms(s->end - mk->drill_start_ns);
		measure_value_set(&m->rto_ms, ns_to_ms(s->end - mk->fault_start_ns));
		goto out;
	}
	m->rto_note = "no interruption";
	measure_value_set(&m->rto_ms, 0.0);
out:
	free(spans);
}

static void rpo_figures(struct measurements *m, const struct check_result *c,
			const struct measure_markers *mk)
{
	measure_value_set(&m->rpo_lost_writes, (double)c->lost);
	if (c->lost == 0) {
		measure_value_set(&m->rpo_seconds, 0.0);
	} else if (!mk->has_fault) {
		measure_value_none(&m->rpo_seconds, "%llu acknowledged writes were lost but no fault step "
			 "ran to measure the window from", (unsigned long long)c->lost);
	} else {
		int64_t window = mk->fault_start_ns - c->oldest_lost_ack_ns;

		/* A write lost although acknowledged after the fault lost no
		 * time before it: the window is 0, the count still fails. */
		measure_value_set(&m->rpo_seconds, window > 0 ? (double)window / 1e9 : 0.0);
	}
}

/* ---- status figures ---- */

static bool is_dr_region(const struct measure_markers *mk, const char *region)
{
	for (size_t i = 0; i < mk->n_dr_regions; i++)
		if (mk->dr_regions[i] && strcmp(mk->dr_regions[i], region) == 0)
			return true;
	return false;
}

static void dr_region_list(char *buf, size_t len, const struct measure_markers *mk)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < mk->n_dr_regions; i++)
		strbuf_addf(&sb, "%s'%s'", i ? ", " : "", mk->dr_regions[i] ? mk->dr_regions[i] : "");
	str_copy(buf, len, strbuf_str(&sb));
	strbuf_release(&sb);
}

/* Index of the point in effect at t (or the first point after t). */
static size_t point_from(const struct status_timeline *tl, int64_t t)
{
	const struct status_point *p = status_timeline_at(tl, t);

	return p ? (size_t)(p - tl->points) : 0;
}

static bool dr_leads(const struct measure_markers *mk, const struct status_point *p)
{
	return p->leader_id != 0 && is_dr_region(mk, p->leader_region);
}

/* Where the DR leadership that points[from] shows ends: the index of the
 * first later point without a DR leader that comes before the boundary
 * (the first fault step to start after points[from], else the restore,
 * else the end of the drill), or tl->count when it held until then. */
static size_t dr_leadership_lost(const struct status_timeline *tl, size_t from,
				 const struct measure_markers *mk)
{
	int64_t since = tl->points[from].t_ns, until = INT64_MAX;

	/* First seen once the restore had begun (the status poller may see a
	 * promotion after the next step started): the restore may end it on
	 * purpose, as failback's transfer back does.  It held. */
	if (mk->has_restore && mk->restore_start_ns <= since)
		return tl->count;
	for (size_t k = 0; k < mk->n_fault_starts; k++)
		if (mk->fault_starts_ns[k] > since) {
			until = mk->fault_starts_ns[k];
			break;
		}
	if (mk->has_restore && mk->restore_start_ns > since && mk->restore_start_ns < until)
		until = mk->restore_start_ns;
	for (size_t k = from + 1; k < tl->count && tl->points[k].t_ns < until; k++)
		if (!dr_leads(mk, &tl->points[k]))
			return k;
	return tl->count;
}

static void promotion_figure(struct measurements *m, const struct status_timeline *tl,
			     const struct measure_markers *mk)
{
	char regions[96];
	const struct status_point *at;
	bool transient_seen = false;
	double transient_ms = 0;
	size_t i;

	if (!mk->has_fault) {
		measure_value_none(&m->promotion_ms, "no fault step ran");
		return;
	}
	if (mk->n_dr_regions == 0) {
		measure_value_none(&m->promotion_ms, "the target has no DR region");
		return;
	}
	dr_region_list(regions, sizeof(regions), mk);
	if (!tl || tl->count == 0) {
		measure_value_none(&m->promotion_ms, "no cluster status was recorded");
		return;
	}
	at = status_timeline_at(tl, mk->fault_start_ns);
	i = point_from(tl, mk->fault_start_ns);
	for (; i < tl->count; i++) {
		const struct status_point *p = &tl->points[i];
		size_t lost;

		if (!dr_leads(mk, p))
			continue;
		/* A DR leader already in charge at the fault is no promotion:
		 * wait for a leader of a later term (a re-election). */
		if (at && dr_leads(mk, at) && p->term <= at->term)
			continue;
		lost = dr_leadership_lost(tl, i, mk);
		if (lost < tl->count) {
			/* Lost before the next fault step or the restore: a
			 * leader that appeared in passing (the handover while
			 * the primary region stopped gracefully, before it
			 * lost its quorum), not what the drill's promotion
			 * produced.  Look for one that held. */
			if (!transient_seen)
				transient_ms = ns_to_ms(p->t_ns - mk->fault_start_ns);
			transient_seen = true;
			i = lost;
			continue;
		}
		measure_value_set(&m->promotion_ms,
			  ns_to_ms(p->t_ns > mk->fault_start_ns ? p->t_ns - mk->fault_start_ns : 0));
		return;
	}
	if (transient_seen)
		measure_value_none(&m->promotion_ms, "a leader in DR region %s at +%.1f ms after the fault did "
			 "not hold (lost before the next fault step or the restore), and none held "
			 "after it", regions, transient_ms);
	else
		measure_value_none(&m->promotion_ms, "no leader in DR region %s was seen after the fault",
			 regions);
}

static bool resynced(const struct status_point *p, const struct measure_markers *mk)
{
	return p->fully_replicated && p->members > 0 && p->members_present == p->members &&
	       (mk->expected_members == 0 || p->members >= mk->expected_members);
}

static void resync_figure(struct measurements *m, const struct status_timeline *tl,
			  const struct measure_markers *mk)
{
	int seen_after = 0;

	if (!mk->has_restore) {
		measure_value_none(&m->resync_ms, "the drill had no restore step");
		return;
	}
	if (!tl || tl->count == 0) {
		measure_value_none(&m->resync_ms, "no cluster status was recorded");
		return;
	}
	/* Points are changes only.  The first change from the restore on
	 * that shows the cluster resynced is the figure. */
	for (size_t i = 0; i < tl->count; i++) {
		const struct status_point *p = &tl->points[i];

		if (p->t_ns < mk->restore_start_ns)
			continue;
		seen_after = 1;
		if (!resynced(p, mk))
			continue;
		measure_value_set(&m->resync_ms, ns_to_ms(p->t_ns - mk->restore_start_ns));
		return;
	}
	/* No change since the restore: the state as of the restore held,
	 * which says something only if the poller kept looking after the
	 * restore began.  (Otherwise a state from before the fault, the
	 * poller's last word when it stopped, would pass a resync that never
	 * happened as 0 ms.) */
	if (!seen_after) {
		const struct status_point *at = status_timeline_at(tl, mk->restore_start_ns);

		if (tl->last_observed_ns < mk->restore_start_ns) {
			measure_value_none(&m->resync_ms, "no cluster status was observed after the restore began");
			return;
		}
		if (at && resynced(at, mk)) {
			measure_value_set(&m->resync_ms, 0);
			return;
		}
	}
	measure_value_none(&m->resync_ms, "the cluster was not fully replicated with every member "
		 "present by the end of the drill");
}

static void lag_figure(struct measurements *m, const struct status_timeline *tl)
{
	if (!tl || tl->observations == 0) {
		measure_value_none(&m->max_lag_ms, "no cluster status was recorded");
		return;
	}
	measure_value_set(&m->max_lag_ms, ns_to_ms(tl->max_lag_ns));
}

/* Canaries prove RPO only if some were acknowledged before the fault:
 * those are the writes a failover could lose.  None (the caller may not
 * write, the write method is missing, exec always fails) is "not
 * measured", never a clean 0. */
static void canary_coverage(struct measurements *out, const struct history *h,
			    const struct measure_markers *mk)
{
	uint64_t before = 0, any = 0;

	for (size_t i = 0; h && i < h->count; i++) {
		const struct history_op *op = &h->ops[i];

		if (op->outcome != HISTORY_OK)
			continue;
		any++;
		if (!mk->has_fault || op->complete_ns < mk->fault_start_ns)
			before++;
	}
	if (before > 0)
		return;
	if (!any)
		measure_value_none(&out->rpo_lost_writes, "no canary write was acknowledged (%llu attempts): "
			 "RPO could not be measured", (unsigned long long)(h ? h->count : 0));
	else
		measure_value_none(&out->rpo_lost_writes, "no canary write was acknowledged before the fault: "
			 "none could be lost, so RPO was not measured");
	measure_value_none(&out->rpo_seconds, "%s", out->rpo_lost_writes.why);
}

int measure_compute(struct measurements *out, const struct history *h,
		    const struct check_result *check, const struct status_timeline *tl,
		    const struct measure_markers *mk, struct dr_error *err)
{
	const char *mode = mk->workload_mode ? mk->workload_mode : "ledger";
	bool ledger = strcmp(mode, "ledger") == 0;
	bool canary = strcmp(mode, "canary") == 0;

	memset(out, 0, sizeof(*out));
	if (mk->drill_end_ns < mk->drill_start_ns)
		return dr_error_set(err, "invalid drill markers: the drill ends before it starts");
	if (mk->has_fault && mk->fault_start_ns < mk->drill_start_ns)
		return dr_error_set(err, "invalid drill markers: the fault starts before the drill");
	if (mk->has_restore && mk->restore_start_ns < mk->drill_start_ns)
		return dr_error_set(err, "invalid drill markers: the restore starts before the drill");
	if (mk->has_baseline && (mk->baseline_start_ns < mk->drill_start_ns ||
				 mk->baseline_end_ns < mk->baseline_start_ns))
		return dr_error_set(err, "invalid drill markers: the baseline period is not within the drill");
	if ((ledger || canary) && !check)
		return dr_error_set(err, "workload mode '%s' needs the history check result", mode);

	str_copy(out->workload_mode, sizeof(out->workload_mode), mode);
	out->has_fault = mk->has_fault;
	if (mk->has_fault)
		out->fault_start_ms = ns_to_ms(mk->fault_start_ns - mk->drill_start_ns);
	out->has_restore = mk->has_restore;
	if (mk->has_restore)
		out->restore_start_ms = ns_to_ms(mk->restore_start_ns - mk->drill_start_ns);

	promotion_figure(out, tl, mk);
	measure_promotion_risk(&out->unsafe_promotion, h, (ledger || canary) ? check : NULL, mk);
	resync_figure(out, tl, mk);
	lag_figure(out, tl);

	if (canary) {
		/* A canary write every second or so, through kubectl exec: enough
		 * to prove no acknowledged write was lost, far too sparse (and too
		 * slow) to time an outage or the ledger's latency. */
		struct measure_value *none[] = {
			&out->rto_ms, &out->unavailable_ms, &out->max_latency_ms,
			&out->availability, &out->write_window_ms, &out->latency_p50_ms,
			&out->latency_p99_ms,
			&out->latency_max_ms,
		};

		for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
			measure_value_none(none[i], "canary writes are too sparse to time (RTO comes from the "
				 "cluster status)");
		for (int i = 0; i < MEASURE_NPHASES; i++)
			phase_none(&out->phases[i], "canary writes are too sparse to time");
		out->has_writes = true;
		out->writes = *check;
		rpo_figures(out, check, mk);
		canary_coverage(out, h, mk);
		return 0;
	}
	if (!ledger || !h || h->count == 0) {
		const char *why = !ledger ? "the workload did not write to the ledger"
					  : "the workload recorded no write";
		struct measure_value *none[] = {
			&out->rto_ms, &out->unavailable_ms, &out->max_latency_ms,
			&out->availability, &out->write_window_ms, &out->latency_p50_ms,
			&out->latency_p99_ms,
			&out->latency_max_ms, &out->rpo_lost_writes, &out->rpo_seconds,
		};

		for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
			measure_value_none(none[i], "%s", why);
		for (int i = 0; i < MEASURE_NPHASES; i++)
			phase_none(&out->phases[i], why);
		if (ledger && check) {
			/* An empty history still has a (trivially clean) check. */
			out->has_writes = true;
			out->writes = *check;
			rpo_figures(out, check, mk);
		}
		return 0;
	}
	out->has_writes = true;
	out->writes = *check;
	rpo_figures(out, check, mk);
	latency_figures(out, h);
	outage_figures(out, h, mk);
	return 0;
}

/* ---- RTO without writes ---- */

void measure_rto_from_status(struct measurements *m, const struct status_timeline *tl,
			    const struct measure_markers *mk)
{
	int64_t lost_at = 0;
	uint64_t term_before = 0;

	if (!mk->has_fault) {
		measure_value_none(&m->rto_ms, "no fault step ran");
		return;
	}
	for (size_t i = 0; i < tl->count; i++) {
		const struct status_point *p = &tl->points[i];
		int healthy = p->leader_id != 0 && p->quorum;

		if (p->t_ns < mk->fault_start_ns) {
			if (p->leader_id)
				term_before = p->term;
			continue;
		}
		if (!healthy && !lost_at)
			lost_at = p->t_ns;
		/* No status before the fault (the first read through kubectl can
		 * land after it): the first one after it is the baseline. */
		if (!term_before && healthy && !lost_at) {
			term_before = p->term;
			continue;
		}
		if (healthy && (lost_at || (term_before && p->term > term_before))) {
			measure_value_set(&m->rto_ms, (double)(p->t_ns - mk->fault_start_ns) / 1e6);
			m->rto_note = lost_at ? "from the cluster status (no workload)"
					      : "from the cluster status (no workload): a new leader, "
						"the leaderless gap fell between two status reads";
			return;
		}
	}
	if (!lost_at) {
		measure_value_set(&m->rto_ms, 0);
		m->rto_note = "no interruption seen in the cluster status (no workload)";
	} else {
		measure_value_none(&m->rto_ms, "not recovered: no status after the fault showed a leader with a "
			 "quorum again");
		m->rto_note = "not recovered (cluster status)";
	}
}

/* ---- latency series ---- */

static int cmp_point(const void *pa, const void *pb)
{
	const struct series_point *a = pa, *b = pb;

	return a->t_ms < b->t_ms ? -1 : a->t_ms > b->t_ms;
}

static void series_add(struct series *s, const struct history_op *op, int64_t origin_ns)
{
	struct series_point *p = &s->points[s->count++];

	p->t_ms = ns_to_ms(op->complete_ns - origin_ns);
	p->latency_ms = ns_to_ms(op->complete_ns - op->invoke_ns);
	p->outcome = op->outcome;
}

static void attempt_points(struct series *out, const struct history *h, int64_t origin_ns,
			   size_t max_points)
{
	size_t n_bad = 0, n_ok, budget;
	size_t *best = NULL;
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;

	for (size_t i = 0; i < h->count; i++) {
		if (h->ops[i].outcome != HISTORY_OK) {
			n_bad++;
			continue;
		}
		if (h->ops[i].complete_ns < t0)
			t0 = h->ops[i].complete_ns;
		if (h->ops[i].complete_ns > t1)
			t1 = h->ops[i].complete_ns;
	}
	n_ok = h->count - n_bad;
	out->points = xmalloc(max_points * sizeof(*out->points));

	if (n_bad > max_points) {
		/* Too many failures to keep them all: every (n_bad/max)-th. */
		size_t k = 0;

		out->failures_thinned = true;
		for (size_t i = 0; i < h->count && out->count < max_points; i++) {
			if (h->ops[i].outcome == HISTORY_OK)
				continue;
			if ((k * max_points) / n_bad != ((k + 1) * max_points) / n_bad)
				series_add(out, &h->ops[i], origin_ns);
			k++;
		}
		goto sort;
	}
	budget = max_points - n_bad;
	if (n_ok <= budget) {
		for (size_t i = 0; i < h->count; i++)
			series_add(out, &h->ops[i], origin_ns);
		goto sort;
	}
	/* ok attempts: budget equal time buckets over [t0, t1], the slowest
	 * of each bucket; SIZE_MAX marks an empty bucket. */
	best = xmalloc((budget ? budget : 1) * sizeof(*best));
	for (size_t b = 0; b < budget; b++)
		best[b] = SIZE_MAX;
	for (size_t i = 0; i < h->count; i++) {
		const struct history_op *op = &h->ops[i];
		size_t b;

		if (op->outcome != HISTORY_OK) {
			series_add(out, op, origin_ns);
			continue;
		}
		if (budget == 0)
			continue;
		b = t1 > t0 ? (size_t)((double)(op->complete_ns - t0) / (double)(t1 - t0) *
				       (double)budget) : 0;
		if (b >= budget)
			b = budget - 1;
		if (best[b] == SIZE_MAX ||
		    op->complete_ns - op->invoke_ns >
			    h->ops[best[b]].complete_ns - h->ops[best[b]].invoke_ns)
			best[b] = i;
	}
	for (size_t b = 0; b < budget; b++)
		if (best[b] != SIZE_MAX)
			series_add(out, &h->ops[best[b]], origin_ns);
sort:
	qsort(out->points, out->count, sizeof(*out->points), cmp_point);
	free(best);
}

static int cmp_write(const void *pa, const void *pb)
{
	const struct series_write *a = pa, *b = pb;

	return a->t_ms < b->t_ms ? -1 : a->t_ms > b->t_ms;
}

static void write_add(struct series *s, const struct logical *w, int64_t origin_ns)
{
	struct series_write *p = &s->writes[s->n_writes++];
	int64_t end = w->state == HISTORY_OK ? w->ack_ns : w->last_complete_ns;

	p->t_ms = ns_to_ms(end - origin_ns);
	p->latency_ms = ns_to_ms(end - w->first_invoke_ns);
	p->outcome = w->state;
	p->attempts = w->attempts;
}

/* The logical writes, thinned as attempt_points() thins attempts: the
 * chart must show every write that did not succeed and the slowest ones,
 * since the stall is the story, not the thousands of 1 ms writes. */
static void write_points(struct series *out, const struct history *h, int64_t origin_ns,
			 size_t max_points)
{
	struct logical *ws = NULL;
	size_t n = logical_build(&ws, h), n_bad = 0, budget, k = 0;
	size_t *best = NULL;
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;

	out->n_writes_total = n;
	out->writes = xmalloc(max_points * sizeof(*out->writes));
	for (size_t i = 0; i < n; i++) {
		if (ws[i].state != HISTORY_OK) {
			n_bad++;
			continue;
		}
		if (ws[i].ack_ns < t0)
			t0 = ws[i].ack_ns;
		if (ws[i].ack_ns > t1)
			t1 = ws[i].ack_ns;
	}
	if (n <= max_points) {
		for (size_t i = 0; i < n; i++)
			write_add(out, &ws[i], origin_ns);
		goto sort;
	}
	if (n_bad >= max_points) {
		for (size_t i = 0; i < n && out->n_writes < max_points; i++) {
			if (ws[i].state == HISTORY_OK)
				continue;
			if ((k * max_points) / n_bad != ((k + 1) * max_points) / n_bad)
				write_add(out, &ws[i], origin_ns);
			k++;
		}
		goto sort;
	}
	budget = max_points - n_bad;
	best = xmalloc(budget * sizeof(*best));
	for (size_t b = 0; b < budget; b++)
		best[b] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		size_t b;

		if (ws[i].state != HISTORY_OK) {
			write_add(out, &ws[i], origin_ns);
			continue;
		}
		b = t1 > t0 ? (size_t)((double)(ws[i].ack_ns - t0) / (double)(t1 - t0) *
				       (double)budget) : 0;
		if (b >= budget)
			b = budget - 1;
		if (best[b] == SIZE_MAX || ws[i].ack_ns - ws[i].first_invoke_ns >
					       ws[best[b]].ack_ns - ws[best[b]].first_invoke_ns)
			best[b] = i;
	}
	for (size_t b = 0; b < budget; b++)
		if (best[b] != SIZE_MAX)
			write_add(out, &ws[best[b]], origin_ns);
sort:
	qsort(out->writes, out->n_writes, sizeof(*out->writes), cmp_write);
	free(best);
	free(ws);
}

const char *series_class_name(size_t c)
{
	return c == SERIES_CLASS_OK ? "ok" : history_error_name((int)c);
}

static size_t attempt_class(const struct history_op *op)
{
	if (op->outcome == HISTORY_OK)
		return SERIES_CLASS_OK;
	if (op->error == HISTORY_ERR_NONE || op->error >= SERIES_NCLASSES)
		return HISTORY_ERR_OTHER;
	return op->error;
}

/* Attempts per bucket by class.  Bucketed by completion: the moment the
 * client learnt the answer, the same x as the attempt points. */
static void class_buckets(struct series *out, const struct history *h, int64_t origin_ns)
{
	static const double wider[] = { 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000 };
	int64_t last = 0;
	size_t k = 0;

	out->attempts = h->count;
	if (h->count == 0)
		return;
	for (size_t i = 0; i < h->count; i++)
		if (h->ops[i].complete_ns - origin_ns > last)
			last = h->ops[i].complete_ns - origin_ns;
	out->bucket_ms = SERIES_BUCKET_MS;
	while (ns_to_ms(last) / out->bucket_ms >= SERIES_MAX_BUCKETS &&
	       k < sizeof(wider) / sizeof(wider[0]))
		out->bucket_ms = wider[k++];
	if (ns_to_ms(last) / out->bucket_ms >= SERIES_MAX_BUCKETS) /* over a day: no round step */
		out->bucket_ms = ceil(ns_to_ms(last) / (SERIES_MAX_BUCKETS - 1));
	out->n_buckets = (size_t)(ns_to_ms(last) / out->bucket_ms) + 1;
	out->counts = xcalloc(SERIES_NCLASSES * out->n_buckets, sizeof(*out->counts));
	for (size_t i = 0; i < h->count; i++) {
		const struct history_op *op = &h->ops[i];
		int64_t t = op->complete_ns - origin_ns;
		size_t c = attempt_class(op), b = t > 0 ? (size_t)(ns_to_ms(t) / out->bucket_ms) : 0;

		if (b >= out->n_buckets)
			b = out->n_buckets - 1;
		out->counts[c * out->n_buckets + b]++;
		out->class_totals[c]++;
	}
}

void series_build(struct series *out, const struct history *h, int64_t origin_ns,
		  size_t max_points)
{
	memset(out, 0, sizeof(*out));
	if (max_points == 0)
		max_points = SERIES_DEFAULT_MAX;
	attempt_points(out, h, origin_ns, max_points);
	write_points(out, h, origin_ns, max_points);
	class_buckets(out, h, origin_ns);
}

void series_release(struct series *s)
{
	free(s->points);
	free(s->writes);
	free(s->counts);
	memset(s, 0, sizeof(*s));
}
