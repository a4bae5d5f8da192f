/* A probe's result and its journal form (harness/probe/probe_result.h). */
#include "harness/probe/probe_result.h"

#include "harness/core/journal.h"

void probe_result_release(struct probe_result *r)
{
	json_decref(r->data);
	r->data = NULL;
}

json_t *probe_result_to_json(const struct probe_result *r, struct journal *j)
{
	json_t *o = json_pack("{s:s,s:s,s:b,s:f,s:f,s:i,s:s}", "name", r->name, "kind", r->kind,
			      "ok", r->ok, "t_ms", j ? journal_offset_ms(j, r->start_ns) : 0.0,
			      "duration_ms", (double)r->duration_ns / 1e6, "attempts", r->attempts,
			      "message", r->message);

	if (r->data)
		json_object_set(o, "data", r->data);
	return o;
}

void probe_result_event(struct journal *j, const struct probe_result *r)
{
	json_t *fields = probe_result_to_json(r, j);

	/* The event's own t_ms is the probe's start; its wall clock follows. */
	json_object_del(fields, "t_ms");
	journal_event_at(j, r->start_ns, "probe", fields);
}
