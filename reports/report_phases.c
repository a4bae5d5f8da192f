/* report.md's "Before, during and after the fault" table: availability and
 * latency over each window of measurements.phases (assertions/measure.h
 * defines the windows), each window stated, so "99.9 %" always says of
 * what. */
#include "reports/render.h"

static void phase_cell_ms(struct strbuf *sb, const json_t *obj, const char *key)
{
	double v;

	if (j_num(obj, key, &v))
		fmt_ms(sb, v);
	else
		strbuf_adds(sb, "n/a");
}

void report_phases(struct strbuf *sb, const json_t *m)
{
	static const struct { const char *key, *title; } rows[] = {
		{ "before", "Before the fault" },
		{ "during", "During (fault to restore)" },
		{ "after", "After the restore" },
	};
	const json_t *phases = j_obj(m, "phases");
	int any = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		any |= j_obj(phases, rows[i].key) != NULL;
	if (!any)
		return;
	strbuf_adds(sb, "\n| Period | Window | Availability | Unavailable | Writes ok | "
		    "Latency p50 | p99 | max |\n|---|---|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const json_t *p = j_obj(phases, rows[i].key), *lat = j_obj(p, "latency_ms");
		double a, b;

		strbuf_addf(sb, "| %s | ", rows[i].title);
		if (!p) {
			strbuf_adds(sb, "not measured | n/a | n/a | n/a | n/a | n/a | n/a |\n");
			continue;
		}
		if (j_num(p, "start_ms", &a) && j_num(p, "end_ms", &b)) {
			fmt_offset(sb, a);
			strbuf_adds(sb, " to ");
			fmt_offset(sb, b);
			strbuf_adds(sb, " (");
			fmt_ms(sb, b - a);
			strbuf_adds(sb, ")");
		}
		strbuf_adds(sb, " | ");
		if (j_num(p, "availability", &a))
			strbuf_addf(sb, "%.2f %%", a * 100.0);
		else
			strbuf_adds(sb, "n/a");
		strbuf_adds(sb, " | ");
		phase_cell_ms(sb, p, "unavailable_ms");
		strbuf_adds(sb, " | ");
		if (j_num(p, "writes_ok", &a))
			fmt_num(sb, a);
		else
			strbuf_adds(sb, "n/a");
		strbuf_adds(sb, " | ");
		phase_cell_ms(sb, lat, "p50");
		strbuf_adds(sb, " | ");
		phase_cell_ms(sb, lat, "p99");
		strbuf_adds(sb, " | ");
		phase_cell_ms(sb, lat, "max");
		strbuf_adds(sb, " |\n");
	}
}
