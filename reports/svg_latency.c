/* latency.svg: write latency (log scale, ms) over time (s).  Successful
 * writes are short blue dashes in one path, unknown outcomes orange, failed
 * writes red crosses; vertical lines mark the fault, the recovery (outage
 * end) and the restore start.  One <path> per class keeps it small. */
#include <math.h>
#include <string.h>

#include "reports/render.h"
#include "reports/reports.h"

#define W 760.0
#define H 340.0
#define ML 64.0   /* margins: room for the axis labels */
#define MR 20.0
#define MT 50.0
#define MB 48.0
#define PW (W - ML - MR)
#define PH (H - MT - MB)

struct scale {
	double t_max_ms;
	int dec_lo, dec_hi;  /* log10 range of the y axis */
};

static double x_of(const struct scale *s, double t_ms)
{
	return ML + PW * (t_ms / s->t_max_ms);
}

static double y_of(const struct scale *s, double lat_ms)
{
	double l = log10(lat_ms > 0 ? lat_ms : pow(10, s->dec_lo));

	if (l < s->dec_lo)
		l = s->dec_lo;
	if (l > s->dec_hi)
		l = s->dec_hi;
	return MT + PH * (1.0 - (l - s->dec_lo) / (double)(s->dec_hi - s->dec_lo));
}

/* A tick step of 1, 2 or 5 x 10^k seconds giving at most ~10 ticks. */
static double tick_step_s(double span_s)
{
	double raw = span_s / 10.0, p = pow(10, floor(log10(raw > 0 ? raw : 1)));

	if (raw <= p)
		return p;
	if (raw <= 2 * p)
		return 2 * p;
	if (raw <= 5 * p)
		return 5 * p;
	return 10 * p;
}

static void vline(struct strbuf *sb, const struct scale *s, double t_ms, const char *color,
		  const char *label, int row)
{
	double x = x_of(s, t_ms);

	strbuf_addf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n",
		    x, MT, x, MT + PH, color);
	strbuf_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"%s\">%s</text>\n",
		    x + 3, MT + 12 + 13 * row, color, x > ML + PW * 0.8 ? "end" : "start", label);
}

char *svg_latency(const json_t *j)
{
	const json_t *series = j_arr(j_obj(j, "workload"), "series"), *pt, *outage = j_obj(j, "outage");
	struct strbuf sb = STRBUF_INIT, ok = STRBUF_INIT, unk = STRBUF_INIT, bad = STRBUF_INIT;
	struct scale s = { 1000.0, -1, 3 };
	double max_lat = 0.0, min_lat = INFINITY, dur = 0, v, step;
	size_t i, n_ok = 0, n_unk = 0, n_bad = 0;

	if (j_num(j, "duration_ms", &dur) && dur > s.t_max_ms)
		s.t_max_ms = dur;
	json_array_foreach(series, i, pt) {
		double t = json_number_value(json_array_get(pt, 0));
		double l = json_number_value(json_array_get(pt, 1));

		if (t > s.t_max_ms)
			s.t_max_ms = t;
		if (l > max_lat)
			max_lat = l;
		if (l > 0 && l < min_lat)
			min_lat = l;
	}
	if (max_lat > 0) {
		s.dec_hi = (int)ceil(log10(max_lat));
		s.dec_lo = (int)floor(log10(min_lat));
		if (s.dec_lo < -2)
			s.dec_lo = -2;
		if (s.dec_hi <= s.dec_lo)
			s.dec_hi = s.dec_lo + 1;
		if (s.dec_hi - s.dec_lo < 2)
			s.dec_lo = s.dec_hi - 2;
	}
	strbuf_addf(&sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"11\">\n",
		    W, H, W, H);
	strbuf_adds(&sb, "<title>Write latency over time: ");
	xml_escape(&sb, j_str_or(j_obj(j, "drill"), "name", "drill"));
	strbuf_adds(&sb, "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
	strbuf_addf(&sb, "<text x=\"%.1f\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Write latency: ", ML);
	xml_escape(&sb, j_str_or(j_obj(j, "drill"), "name", "drill"));
	strbuf_addf(&sb, " (%s)</text>\n", verdict_word(j));
	/* Outage bands under everything else: every window without
	 * successful writes, or the one outage of an older journal. */
	{
		const json_t *list = j_arr(j_obj(j, "measurements"), "outages");
		size_t n = json_array_size(list);

		for (size_t k = 0; k < (n ? n : 1); k++) {
			const json_t *o = n ? json_array_get(list, k) : outage;
			double end;

			if (!o || !j_num(o, "start_ms", &v))
				continue;
			if (!j_num(o, "end_ms", &end))
				end = s.t_max_ms;
			strbuf_addf(&sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fde2e2\"/>\n",
				    x_of(&s, v), MT, x_of(&s, end) - x_of(&s, v), PH);
		}
	}
	/* Axes, grid and labels. */
	strbuf_addf(&sb, "<g stroke=\"#dddddd\">\n");
	for (int d = s.dec_lo; d <= s.dec_hi; d++)
		strbuf_addf(&sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
			    ML, y_of(&s, pow(10, d)), ML + PW, y_of(&s, pow(10, d)));
	strbuf_adds(&sb, "</g>\n<g text-anchor=\"end\">\n");
	for (int d = s.dec_lo; d <= s.dec_hi; d++) {
		strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\">", ML - 6, y_of(&s, pow(10, d)) + 4);
		if (d < 0)
			strbuf_addf(&sb, "%.*f", -d, pow(10, d));
		else
			strbuf_addf(&sb, "%.0f", pow(10, d));
		strbuf_adds(&sb, "</text>\n");
	}
	strbuf_adds(&sb, "</g>\n<g text-anchor=\"middle\">\n");
	step = tick_step_s(s.t_max_ms / 1000.0);
	for (double t = 0; t <= s.t_max_ms / 1000.0 + 1e-9; t += step) {
		double x = x_of(&s, t * 1000.0);

		strbuf_addf(&sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n",
			    x, MT + PH, x, MT + PH + 4);
		strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\">%g</text>\n", x, MT + PH + 16, t);
	}
	strbuf_adds(&sb, "</g>\n");
	strbuf_addf(&sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#555555\"/>\n",
		    ML, MT, PW, PH);
	strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since the drill started (s)</text>\n",
		    ML + PW / 2, H - 10);
	strbuf_addf(&sb, "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">write latency (ms, log scale)</text>\n",
		    MT + PH / 2);
	/* Points. */
	json_array_foreach(series, i, pt) {
		double t = json_number_value(json_array_get(pt, 0));
		double l = json_number_value(json_array_get(pt, 1));
		const char *res = json_string_value(json_array_get(pt, 2));
		double x = x_of(&s, t), y = y_of(&s, l);

		if (res && strcmp(res, "failed") == 0) {
			strbuf_addf(&bad, "M%.1f %.1fl6 6m0 -6l-6 6", x - 3, y - 3);
			n_bad++;
		} else if (res && strcmp(res, "unknown") == 0) {
			strbuf_addf(&unk, "M%.1f %.1fv6", x, y - 3);
			n_unk++;
		} else {
			strbuf_addf(&ok, "M%.1f %.1fh2", x - 1, y);
			n_ok++;
		}
	}
	if (n_ok)
		strbuf_addf(&sb, "<path d=\"%s\" stroke=\"#1f6feb\" stroke-width=\"2\" fill=\"none\"/>\n", ok.buf);
	if (n_unk)
		strbuf_addf(&sb, "<path d=\"%s\" stroke=\"#d97706\" stroke-width=\"2\" fill=\"none\"/>\n", unk.buf);
	if (n_bad)
		strbuf_addf(&sb, "<path d=\"%s\" stroke=\"#d1242f\" stroke-width=\"1.5\" fill=\"none\"/>\n", bad.buf);
	if (!n_ok && !n_unk && !n_bad)
		strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555555\">no writes recorded</text>\n",
			    ML + PW / 2, MT + PH / 2);
	/* Moments. */
	if (j_num(j, "fault_start_ms", &v))
		vline(&sb, &s, v, "#d1242f", "fault", 0);
	if (outage && j_num(outage, "end_ms", &v))
		vline(&sb, &s, v, "#1a7f37", "recovered", 1);
	if (j_num(j, "restore_start_ms", &v))
		vline(&sb, &s, v, "#6e7781", "restore", 2);
	/* Legend. */
	strbuf_addf(&sb, "<g transform=\"translate(%.1f 38)\">\n", ML + PW - 330);
	strbuf_addf(&sb, "<path d=\"M0 -4h10\" stroke=\"#1f6feb\" stroke-width=\"2\"/><text x=\"14\" y=\"0\">ok (%zu)</text>\n", n_ok);
	strbuf_addf(&sb, "<path d=\"M90 -8v8\" stroke=\"#d97706\" stroke-width=\"2\"/><text x=\"96\" y=\"0\">unknown (%zu)</text>\n", n_unk);
	strbuf_addf(&sb, "<path d=\"M190 -8l6 6m0 -6l-6 6\" stroke=\"#d1242f\" stroke-width=\"1.5\"/><text x=\"202\" y=\"0\">failed (%zu)</text>\n", n_bad);
	strbuf_adds(&sb, "<rect x=\"270\" y=\"-9\" width=\"10\" height=\"10\" fill=\"#fde2e2\"/><text x=\"284\" y=\"0\">outage</text>\n");
	strbuf_adds(&sb, "</g>\n</svg>\n");
	strbuf_release(&ok);
	strbuf_release(&unk);
	strbuf_release(&bad);
	return strbuf_detach(&sb);
}
