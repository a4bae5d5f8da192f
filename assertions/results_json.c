/* Journal JSON for measurements, objectives, outage and series (names:
 * docs/journal.md). */
#include "assertions/results_json.h"

#include <math.h>
#include <string.h>

#include "assertions/history.h"

/* Round to `digits` decimals: the journal shows microseconds for *_ms
 * figures (the clocks are not better than that in practice), not
 * 591.553568.  Adding 0.0 turns a -0.0 into 0.0. */
static double rounded(double v, int digits)
{
	double scale = pow(10.0, digits);

	return round(v * scale) / scale + 0.0;
}

/* A figure in ms, or null when it does not apply (never 0). */
static json_t *value_json(const struct measure_value *v)
{
	if (!v->has || !isfinite(v->value))
		return json_null();
	return json_real(rounded(v->value, 3));
}

/* A fraction or seconds: six decimals. */
static json_t *fine_json(const struct measure_value *v)
{
	if (!v->has || !isfinite(v->value))
		return json_null();
	return json_real(rounded(v->value, 6));
}

static json_t *ms_json(double v)
{
	return json_real(rounded(v, 3));
}

static json_t *count_json(uint64_t n)
{
	/* jansson integers are json_int_t (long long); counts fit easily. */
	return json_integer((json_int_t)n);
}

static json_t *sequences_json(const uint64_t *seqs, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, count_json(seqs[i]));
	return a;
}

static json_t *writes_json(const struct check_result *c)
{
	json_t *w = json_object();

	json_object_set_new(w, "ok", count_json(c->ok));
	json_object_set_new(w, "failed", count_json(c->failed));
	json_object_set_new(w, "unknown", count_json(c->unknown));
	json_object_set_new(w, "unknown_present", count_json(c->unknown_present));
	json_object_set_new(w, "lost", count_json(c->lost));
	json_object_set_new(w, "duplicated", count_json(c->duplicated));
	json_object_set_new(w, "definite_failed_present", count_json(c->definite_failed_present));
	json_object_set_new(w, "reordered", count_json(c->reordered));
	json_object_set_new(w, "unexpected", count_json(c->unexpected));
	return w;
}

/* Unavailable spans (the first MEASURE_MAX_SPANS), for timelines and for
 * finding one particular outage; [] when none or not measured. */
static json_t *spans_json(const struct measure_span *spans, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct measure_span *sp = &spans[i];

		json_array_append_new(a, json_pack("{s:o,s:o,s:o,s:b}",
						   "start_ms", ms_json(sp->start_ms),
						   "end_ms", ms_json(sp->end_ms),
						   "duration_ms", ms_json(sp->end_ms - sp->start_ms),
						   "recovered", sp->recovered));
	}
	return a;
}

/* {"before", "during", "after"}: each its window and figures, or null
 * when it does not apply (measure.h says which window is which). */
static json_t *phases_json(const struct measurements *m)
{
	static const char *const names[MEASURE_NPHASES] = { "before", "during", "after" };
	json_t *o = json_object();

	for (int i = 0; i < MEASURE_NPHASES; i++) {
		const struct measure_phase *p = &m->phases[i];

		if (!p->has) {
			json_object_set_new(o, names[i], json_null());
			continue;
		}
		json_object_set_new(o, names[i],
			json_pack("{s:o,s:o,s:o,s:o,s:o,s:{s:o,s:o,s:o}}",
				  "start_ms", ms_json(p->start_ms), "end_ms", ms_json(p->end_ms),
				  "availability", fine_json(&p->availability),
				  "unavailable_ms", value_json(&p->unavailable_ms),
				  "writes_ok", count_json(p->writes_ok),
				  "latency_ms", "p50", value_json(&p->latency_p50_ms),
				  "p99", value_json(&p->latency_p99_ms),
				  "max", value_json(&p->latency_max_ms)));
	}
	return o;
}

/* null when no unsafe promotion ran; counts and indexes as integers, each
 * null with its reason beside it when not measured. */
static json_t *index_json(const struct measure_value *v)
{
	return v->has ? count_json((uint64_t)v->value) : json_null();
}

static json_t *unsafe_promotion_json(const struct measure_promotion_risk *r)
{
	json_t *o;

	if (!r->has)
		return json_null();
	o = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o}", "step", r->step, "t_ms", ms_json(r->t_ms),
		      "dr_last_index", index_json(&r->dr_last_index),
		      "primary_acked_index", index_json(&r->primary_acked_index),
		      "writes_at_risk", index_json(&r->writes_at_risk),
		      "writes_lost", index_json(&r->writes_lost));
	json_object_set_new(o, "note", r->writes_at_risk.has ? json_null()
							     : json_string(r->writes_at_risk.why));
	return o;
}

json_t *measurements_to_json(const struct measurements *m)
{
	json_t *o = json_object();
	json_t *lat = json_object();

	json_object_set_new(o, "rto_ms", value_json(&m->rto_ms));
	json_object_set_new(o, "rto_note", m->rto_note ? json_string(m->rto_note) : json_null());
	json_object_set_new(o, "unavailable_ms", value_json(&m->unavailable_ms));
	json_object_set_new(o, "max_latency_ms", value_json(&m->max_latency_ms));
	json_object_set_new(o, "promotion_ms", value_json(&m->promotion_ms));
	json_object_set_new(o, "resync_ms", value_json(&m->resync_ms));
	json_object_set_new(o, "max_lag_ms", value_json(&m->max_lag_ms));
	json_object_set_new(o, "rpo_lost_writes",
			    m->rpo_lost_writes.has ? count_json(m->writes.lost) : json_null());
	json_object_set_new(o, "rpo_seconds", fine_json(&m->rpo_seconds));
	json_object_set_new(o, "unsafe_promotion", unsafe_promotion_json(&m->unsafe_promotion));
	json_object_set_new(o, "availability", fine_json(&m->availability));
	json_object_set_new(o, "write_window_ms", value_json(&m->write_window_ms));
	json_object_set_new(lat, "p50", value_json(&m->latency_p50_ms));
	json_object_set_new(lat, "p99", value_json(&m->latency_p99_ms));
	json_object_set_new(lat, "max", value_json(&m->latency_max_ms));
	json_object_set_new(o, "latency_ms", lat);
	json_object_set_new(o, "outages", spans_json(m->spans, m->n_spans));
	json_object_set_new(o, "phases", phases_json(m));
	/* Over before the first fault: not the fault's doing, not counted. */
	json_object_set_new(o, "pre_fault_blips", spans_json(m->blips, m->n_blips));
	json_object_set_new(o, "pre_fault_blips_ms",
			    m->unavailable_ms.has ? ms_json(m->blips_ms) : json_null());
	if (m->has_writes) {
		json_object_set_new(o, "writes", writes_json(&m->writes));
		json_object_set_new(o, "lost_sequences", sequences_json(m->writes.lost_sequences,
									 m->writes.n_lost_sequences));
		json_object_set_new(o, "duplicated_sequences",
				    sequences_json(m->writes.duplicated_sequences,
						   m->writes.n_duplicated_sequences));
	} else {
		json_object_set_new(o, "writes", json_null());
		json_object_set_new(o, "lost_sequences", json_array());
		json_object_set_new(o, "duplicated_sequences", json_array());
	}
	json_object_set_new(o, "workload_mode", json_string(m->workload_mode[0] ? m->workload_mode
										 : "none"));
	return o;
}

json_t *objectives_to_json(const struct objective_results *r)
{
	json_t *a = json_array();

	for (size_t i = 0; i < r->count; i++) {
		const struct objective_result *it = &r->items[i];
		json_t *o = json_object();

		json_object_set_new(o, "name", json_string(it->name));
		json_object_set_new(o, "unit", json_string(it->unit));
		json_object_set_new(o, "limit", ms_json(it->limit));
		json_object_set_new(o, "measured", it->has_measured && isfinite(it->measured)
							   ? ms_json(it->measured) : json_null());
		json_object_set_new(o, "margin", it->has_measured && isfinite(it->margin)
							 ? ms_json(it->margin) : json_null());
		json_object_set_new(o, "passed", json_boolean(it->passed));
		json_object_set_new(o, "message", it->message[0] ? json_string(it->message)
								 : json_null());
		json_array_append_new(a, o);
	}
	return a;
}

json_t *outage_to_json(const struct measurements *m)
{
	json_t *o;

	if (!m->has_outage)
		return json_null();
	o = json_object();
	json_object_set_new(o, "start_ms", ms_json(m->outage_start_ms));
	json_object_set_new(o, "end_ms", m->has_outage_end ? ms_json(m->outage_end_ms)
							   : json_null());
	return o;
}

/* Whether ok attempt p is the whole of a write of s->writes (a write of one
 * attempt: same end, same latency): that write's point says it all.  *w
 * walks s->writes in time order alongside the attempts. */
static bool said_by_a_write(const struct series *s, size_t *w, const struct series_point *p)
{
	while (*w < s->n_writes && s->writes[*w].t_ms < p->t_ms)
		(*w)++;
	for (size_t k = *w; k < s->n_writes && s->writes[k].t_ms == p->t_ms; k++)
		if (s->writes[k].attempts == 1 && s->writes[k].outcome == HISTORY_OK &&
		    s->writes[k].latency_ms == p->latency_ms)
			return true;
	return false;
}

json_t *series_to_json(const struct series *s)
{
	json_t *a = json_array();
	size_t w = 0;

	for (size_t i = 0; i < s->count; i++) {
		const struct series_point *p = &s->points[i];

		/* Most attempts are ok writes of one attempt, and
		 * write_series holds each of those already: written twice,
		 * they doubled the journal. */
		if (s->writes && p->outcome == HISTORY_OK && said_by_a_write(s, &w, p))
			continue;
		json_array_append_new(a, json_pack("[f, f, s]", rounded(p->t_ms, 3),
						   rounded(p->latency_ms, 3),
						   history_outcome_name(p->outcome)));
	}
	return a;
}

json_t *write_series_to_json(const struct series *s)
{
	json_t *a = json_array();

	for (size_t i = 0; i < s->n_writes; i++) {
		const struct series_write *p = &s->writes[i];

		json_array_append_new(a, json_pack("[f, f, s, I]", rounded(p->t_ms, 3),
						   rounded(p->latency_ms, 3),
						   history_outcome_name(p->outcome),
						   (json_int_t)p->attempts));
	}
	return a;
}

json_t *attempt_classes_to_json(const struct series *s)
{
	json_t *classes = json_array();

	/* Only the classes that occurred: a drill without CONNECT errors
	 * carries no row of zeros for them. */
	for (size_t c = 0; c < SERIES_NCLASSES; c++) {
		json_t *counts;

		if (s->class_totals[c] == 0)
			continue;
		counts = json_array();
		for (size_t b = 0; b < s->n_buckets; b++)
			json_array_append_new(counts, count_json(s->counts[c * s->n_buckets + b]));
		json_array_append_new(classes, json_pack("{s:s,s:o,s:o}", "class", series_class_name(c),
							 "total", count_json(s->class_totals[c]),
							 "counts", counts));
	}
	return json_pack("{s:o,s:o,s:o}", "bucket_ms", s->n_buckets ? ms_json(s->bucket_ms)
								      : json_null(),
			 "attempts", count_json(s->attempts), "classes", classes);
}

int results_json_set(json_t *journal, const struct measurements *m,
		     const struct objective_results *r, const struct series *s)
{
	if (!json_is_object(journal))
		return -1;
	json_object_set_new(journal, "outage", outage_to_json(m));
	json_object_set_new(journal, "fault_start_ms",
			    m->has_fault ? ms_json(m->fault_start_ms) : json_null());
	json_object_set_new(journal, "restore_start_ms",
			    m->has_restore ? ms_json(m->restore_start_ms) : json_null());
	json_object_set_new(journal, "measurements", measurements_to_json(m));
	if (r)
		json_object_set_new(journal, "objectives", objectives_to_json(r));
	if (s) {
		json_t *w = json_object_get(journal, "workload");

		if (!json_is_object(w)) {
			w = json_object();
			json_object_set_new(journal, "workload", w);
		}
		json_object_set_new(w, "series", series_to_json(s));
		/* The history's summaries sit with the other figures drawn
		 * from it, where the report reads the table's counts. */
		json_object_set_new(json_object_get(journal, "measurements"), "write_series",
				    s->writes ? write_series_to_json(s) : json_null());
		json_object_set_new(json_object_get(journal, "measurements"), "attempts_by_class",
				    s->writes ? attempt_classes_to_json(s) : json_null());
	}
	return 0;
}
