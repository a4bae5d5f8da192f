/* latency.svg, the user's story of the drill in two panels over one time
 * axis (s since the drill started):
 *
 * 1. Latency of each logical write (measurements.write_series: first
 *    attempt to acknowledgement, what an application felt), on a log
 *    scale whose top decade holds the longest stall, with the failed and
 *    unknown attempts faded behind it.  The legend counts logical writes
 *    from measurements.writes, the figures of report.md's table, so chart
 *    and table cannot disagree; attempts are only ever called attempts.
 * 2. Attempts per bucket (100 ms) stacked by class (ok, CONNECT,
 *    NOT_LEADER, UNAVAILABLE, ...), from measurements.attempts_by_class.
 *
 * Outages (measurements.outages; pre-fault blips are not outages) are
 * shaded in both panels; dashed lines mark the fault, the recovery and the
 * restore.  A journal from before write_series falls back to its attempt
 * series, labelled as attempts.  One <path> per class keeps it small. */
#include <math.h>
#include <string.h>

#include "reports/render.h"
#include "reports/reports.h"

#define W 760.0
#define H 560.0
#define ML 64.0   /* margins: room for the axis labels */
#define MR 20.0
#define PW (W - ML - MR)
#define T1 76.0   /* latency panel: top and height */
#define H1 250.0
#define T2 386.0  /* attempts panel */
#define H2 120.0

struct scale {
	double t_max_ms;
	int dec_lo, dec_hi;  /* log10 range of the y axis */
};

static double x_of(const struct scale *s, double t_ms)
{
	if (t_ms > s->t_max_ms)
		t_ms = s->t_max_ms;
	return ML + PW * ((t_ms > 0 ? t_ms : 0) / s->t_max_ms);
}

static double y_of(const struct scale *s, double lat_ms)
{
	double l = log10(lat_ms > 0 ? lat_ms : pow(10, s->dec_lo));

	if (l < s->dec_lo)
		l = s->dec_lo;
	if (l > s->dec_hi)
		l = s->dec_hi;
	return T1 + H1 * (1.0 - (l - s->dec_lo) / (double)(s->dec_hi - s->dec_lo));
}

/* A tick step of 1, 2 or 5 x 10^k giving at most ~max ticks over span. */
static double nice_step(double span, double max)
{
	double raw = span / max, p = pow(10, floor(log10(raw > 0 ? raw : 1)));

	if (raw <= p)
		return p;
	if (raw <= 2 * p)
		return 2 * p;
	if (raw <= 5 * p)
		return 5 * p;
	return 10 * p;
}

/* Colours by class name; a class this file does not know is grey. */
static const char *class_color(const char *name)
{
	static const struct {
		const char *name, *color;
	} colors[] = {
		{ "ok", "#1f6feb" }, { "CONNECT", "#d1242f" }, { "NOT_LEADER", "#d97706" },
		{ "UNAVAILABLE", "#8250df" }, { "TIMEOUT", "#6e3b00" }, { "UNKNOWN_OUTCOME", "#bf3989" },
		{ "INVALID_ARGUMENT", "#116329" },
	};

	for (size_t i = 0; i < sizeof(colors) / sizeof(colors[0]); i++)
		if (name && strcmp(name, colors[i].name) == 0)
			return colors[i].color;
	return "#8c959f";
}

static void vline(struct strbuf *sb, const struct scale *s, double t_ms, const char *color,
		  const char *label, int row)
{
	double x = x_of(s, t_ms);

	strbuf_addf(sb, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fV%.1f\" stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n",
		    x, T1, T1 + H1, x, T2, T2 + H2, color);
	strbuf_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" text-anchor=\"%s\">%s</text>\n",
		    x + 3, T1 + 12 + 13 * row, color, x > ML + PW * 0.8 ? "end" : "start", label);
}

/* Time ticks under a panel whose bottom is at y. */
static void time_axis(struct strbuf *sb, const struct scale *s, double y)
{
	double step = nice_step(s->t_max_ms / 1000.0, 10);

	strbuf_adds(sb, "<g text-anchor=\"middle\">\n");
	for (double t = 0; t <= s->t_max_ms / 1000.0 + 1e-9; t += step) {
		double x = x_of(s, t * 1000.0);

		strbuf_addf(sb, "<path d=\"M%.1f %.1fv4\" stroke=\"#555555\"/><text x=\"%.1f\" y=\"%.1f\">%g</text>\n",
			    x, y, x, y + 16, t);
	}
	strbuf_adds(sb, "</g>\n");
}

/* The slowest latency the chart must show: the table's maximum and every
 * point drawn. */
static double longest(const json_t *m, const json_t *points, double *min_out, int *of_write)
{
	const json_t *pt;
	double max = 0, min = INFINITY, v;
	size_t i;

	*of_write = 0;
	if (j_num(m, "max_latency_ms", &v) && v > max)
		max = v;
	if (j_num(j_obj(m, "latency_ms"), "max", &v) && v > max)
		max = v;
	*of_write = max > 0;
	json_array_foreach(points, i, pt) {
		double l = json_number_value(json_array_get(pt, 1));

		if (l > max) {
			max = l;
			*of_write = 0;
		}
		if (l > 0 && l < min)
			min = l;
	}
	*min_out = min;
	return max;
}

static int is_outcome(const json_t *pt, const char *outcome)
{
	const char *res = json_string_value(json_array_get(pt, 2));

	return res && strcmp(res, outcome) == 0;
}

/* Panel 1's marks: each point of `points` into ok / unknown / failed
 * paths; returns how many of each were drawn. */
static void draw_points(struct strbuf *sb, const struct scale *s, const json_t *points, int faded,
			size_t counts[3])
{
	struct strbuf ok = STRBUF_INIT, unk = STRBUF_INIT, bad = STRBUF_INIT, wait = STRBUF_INIT;
	const json_t *pt;
	size_t i;

	json_array_foreach(points, i, pt) {
		double t = json_number_value(json_array_get(pt, 0));
		double l = json_number_value(json_array_get(pt, 1));
		double x = x_of(s, t), y = y_of(s, l);

		/* A write that needed retries: a bar from its first attempt to
		 * its end at its latency, the wait the application sat
		 * through, ending in a ring so a stall at an outage's edge is
		 * not lost under the lines that mark it. */
		if (!faded && json_integer_value(json_array_get(pt, 3)) > 1)
			strbuf_addf(&wait, "M%.1f %.1fH%.1fm-3 0a3 3 0 1 0 6 0a3 3 0 1 0 -6 0",
				    x_of(s, t - l), y, x);

		if (is_outcome(pt, "failed")) {
			strbuf_addf(&bad, "M%.1f %.1fl6 6m0 -6l-6 6", x - 3, y - 3);
			counts[2]++;
		} else if (is_outcome(pt, "unknown")) {
			strbuf_addf(&unk, "M%.1f %.1fv6", x, y - 3);
			counts[1]++;
		} else if (!faded) {
			/* Attempts that succeeded are the logical writes'
			 * last attempts: drawn once, as writes. */
			strbuf_addf(&ok, "M%.1f %.1fh2", x - 1, y);
			counts[0]++;
		}
	}
	if (wait.len)
		strbuf_addf(sb, "<path d=\"%s\" stroke=\"#0a3069\" stroke-width=\"1.5\" fill=\"none\"/>\n", wait.buf);
	if (ok.len)
		strbuf_addf(sb, "<path d=\"%s\" stroke=\"#1f6feb\" stroke-width=\"2\" fill=\"none\"/>\n", ok.buf);
	if (unk.len)
		strbuf_addf(sb, "<path d=\"%s\" stroke=\"#d97706\" stroke-width=\"%s\" fill=\"none\"%s/>\n",
			    unk.buf, faded ? "1" : "2", faded ? " opacity=\"0.35\"" : "");
	if (bad.len)
		strbuf_addf(sb, "<path d=\"%s\" stroke=\"#d1242f\" stroke-width=\"%s\" fill=\"none\"%s/>\n",
			    bad.buf, faded ? "1" : "2", faded ? " opacity=\"0.35\"" : "");
	strbuf_release(&ok);
	strbuf_release(&unk);
	strbuf_release(&bad);
	strbuf_release(&wait);
}

/* The logical-write counts of report.md's table (measurements.writes);
 * without them (no history check), the points drawn. */
static void write_count(struct strbuf *sb, const json_t *writes, const char *key, size_t drawn)
{
	const json_t *v = json_object_get(writes, key);

	if (json_is_integer(v))
		strbuf_addf(sb, "%lld", (long long)json_integer_value(v));
	else
		strbuf_addf(sb, "%zu", drawn);
}

/* Panel 2: attempts per bucket stacked by class, with its own legend. */
static void attempts_panel(struct strbuf *sb, const struct scale *s, const json_t *abc)
{
	const json_t *classes = j_arr(abc, "classes"), *c;
	size_t nb = 0, i;
	double bw = 0, peak = 0, top, step, lx = ML;
	double *base;

	strbuf_addf(sb, "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">attempts",
		    T2 + H2 / 2);
	if (j_num(abc, "bucket_ms", &bw) && bw > 0) {
		strbuf_adds(sb, " per ");
		fmt_num(sb, bw);
		strbuf_adds(sb, " ms");
	}
	strbuf_adds(sb, "</text>\n");
	json_array_foreach(classes, i, c)
		if (json_array_size(j_arr(c, "counts")) > nb)
			nb = json_array_size(j_arr(c, "counts"));
	if (!(bw > 0) || nb == 0) {
		strbuf_addf(sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555555\">no attempt counts by class in this journal</text>\n",
			    ML + PW / 2, T2 + H2 / 2);
		return;
	}
	base = xcalloc(nb, sizeof(*base));
	json_array_foreach(classes, i, c)
		for (size_t b = 0; b < nb; b++)
			base[b] += json_number_value(json_array_get(j_arr(c, "counts"), b));
	for (size_t b = 0; b < nb; b++)
		if (base[b] > peak)
			peak = base[b];
	step = nice_step(peak > 0 ? peak : 1, 2);
	top = step * ceil((peak > 0 ? peak : 1) / step);
	memset(base, 0, nb * sizeof(*base));
	strbuf_addf(sb, "<g stroke=\"#dddddd\" text-anchor=\"end\">\n");
	for (double v = 0; v <= top + 1e-9; v += step) {
		double y = T2 + H2 * (1 - v / top);

		strbuf_addf(sb, "<path d=\"M%.1f %.1fH%.1f\"/><text x=\"%.1f\" y=\"%.1f\" stroke=\"none\">%g</text>\n",
			    ML, y, ML + PW, ML - 6, y + 4, v);
	}
	strbuf_adds(sb, "</g>\n");
	json_array_foreach(classes, i, c) {
		const char *name = j_str(c, "class");
		struct strbuf d = STRBUF_INIT;
		double total = 0;

		for (size_t b = 0; b < nb; b++) {
			double n = json_number_value(json_array_get(j_arr(c, "counts"), b));
			double x0 = x_of(s, (double)b * bw), x1 = x_of(s, (double)(b + 1) * bw);
			double h = H2 * n / top;

			if (n <= 0)
				continue;
			strbuf_addf(&d, "M%.1f %.1fh%.1fv%.1fh%.1fz", x0, T2 + H2 - H2 * base[b] / top - h,
				    x1 - x0, h, x0 - x1);
			base[b] += n;
			total += n;
		}
		if (d.len)
			strbuf_addf(sb, "<path d=\"%s\" fill=\"%s\"/>\n", d.buf, class_color(name));
		strbuf_release(&d);
		/* Legend, under the title of the panel, one entry per class. */
		if (!j_num(c, "total", &total))
			total = 0;
		strbuf_addf(sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\">",
			    lx, T2 - 17, class_color(name), lx + 14, T2 - 8);
		xml_escape(sb, name ? name : "?");
		{
			size_t before = sb->len;

			strbuf_addf(sb, " (%.0f)</text>\n", total);
			/* ~7 px a character at 11 px sans-serif, then a gap. */
			lx += 14 + 7.0 * (double)(strlen(name ? name : "?") + sb->len - before - 8) + 16;
		}
	}
	free(base);
	strbuf_addf(sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#555555\"/>\n",
		    ML, T2, PW, H2);
}

char *svg_latency(const json_t *j)
{
	const json_t *m = j_obj(j, "measurements"), *outage = j_obj(j, "outage");
	const json_t *attempts = j_arr(j_obj(j, "workload"), "series");
	const json_t *writes = j_arr(m, "write_series"), *abc = j_obj(m, "attempts_by_class");
	const json_t *points = writes ? writes : attempts;
	struct strbuf sb = STRBUF_INIT;
	struct scale s = { 1000.0, -1, 3 };
	double max_lat, min_lat, dur = 0, v;
	size_t drawn[3] = { 0, 0, 0 }, behind[3] = { 0, 0, 0 }, i;
	int of_write;
	const json_t *pt;

	if (j_num(j, "duration_ms", &dur) && dur > s.t_max_ms)
		s.t_max_ms = dur;
	json_array_foreach(attempts, i, pt)
		if (json_number_value(json_array_get(pt, 0)) > s.t_max_ms)
			s.t_max_ms = json_number_value(json_array_get(pt, 0));
	json_array_foreach(writes, i, pt)
		if (json_number_value(json_array_get(pt, 0)) > s.t_max_ms)
			s.t_max_ms = json_number_value(json_array_get(pt, 0));
	max_lat = longest(m, points, &min_lat, &of_write);
	of_write |= writes != NULL;
	if (max_lat > 0) {
		/* ceil: the top decade holds the longest stall, so the table's
		 * maximum is on the chart, never clipped at its edge. */
		s.dec_hi = (int)ceil(log10(max_lat));
		s.dec_lo = isfinite(min_lat) ? (int)floor(log10(min_lat)) : s.dec_hi - 2;
		if (s.dec_lo < -2)
			s.dec_lo = -2;
		if (s.dec_hi - s.dec_lo < 2)
			s.dec_lo = s.dec_hi - 2;
	}
	strbuf_addf(&sb, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"11\">\n",
		    W, H, W, H);
	strbuf_adds(&sb, "<title>Write latency and attempts over time: ");
	xml_escape(&sb, j_str_or(j_obj(j, "drill"), "name", "drill"));
	strbuf_adds(&sb, "</title>\n<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
	strbuf_addf(&sb, "<text x=\"%.1f\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Write latency: ", ML);
	xml_escape(&sb, j_str_or(j_obj(j, "drill"), "name", "drill"));
	strbuf_addf(&sb, " (%s)</text>\n", verdict_word(j));
	/* Outage bands under everything else.  measurements.outages when the
	 * journal has it (an empty list: no outage; blips are not in it),
	 * else the one outage of an older journal. */
	{
		const json_t *list = j_arr(m, "outages");
		size_t n = list ? json_array_size(list) : (outage ? 1 : 0);

		for (size_t k = 0; k < n; k++) {
			const json_t *o = list ? json_array_get(list, k) : outage;
			double end, x0, x1;

			if (!j_num(o, "start_ms", &v))
				continue;
			if (!j_num(o, "end_ms", &end))
				end = s.t_max_ms;
			x0 = x_of(&s, v);
			x1 = x_of(&s, end);
			strbuf_addf(&sb, "<path d=\"M%.1f %.1fh%.1fv%.1fh%.1fzM%.1f %.1fh%.1fv%.1fh%.1fz\" fill=\"#fde2e2\"/>\n",
				    x0, T1, x1 - x0, H1, x0 - x1, x0, T2, x1 - x0, H2, x0 - x1);
		}
	}
	/* Latency panel: grid, labels. */
	strbuf_adds(&sb, "<g stroke=\"#dddddd\">\n");
	for (int d = s.dec_lo; d <= s.dec_hi; d++)
		strbuf_addf(&sb, "<path d=\"M%.1f %.1fH%.1f\"/>\n", ML, y_of(&s, pow(10, d)), ML + PW);
	strbuf_adds(&sb, "</g>\n<g text-anchor=\"end\">\n");
	for (int d = s.dec_lo; d <= s.dec_hi; d++) {
		strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\">", ML - 6, y_of(&s, pow(10, d)) + 4);
		if (d < 0)
			strbuf_addf(&sb, "%.*f", -d, pow(10, d));
		else
			strbuf_addf(&sb, "%.0f", pow(10, d));
		strbuf_adds(&sb, "</text>\n");
	}
	strbuf_adds(&sb, "</g>\n");
	time_axis(&sb, &s, T1 + H1);
	time_axis(&sb, &s, T2 + H2);
	strbuf_addf(&sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#555555\"/>\n",
		    ML, T1, PW, H1);
	strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time since the drill started (s)</text>\n",
		    ML + PW / 2, H - 10);
	strbuf_addf(&sb, "<text transform=\"translate(16 %.1f) rotate(-90)\" text-anchor=\"middle\">%s (ms, log scale)</text>\n",
		    T1 + H1 / 2, writes ? "write latency" : "attempt latency");
	/* The failed attempts behind the writes, then the writes. */
	if (writes)
		draw_points(&sb, &s, attempts, 1, behind);
	draw_points(&sb, &s, points, 0, drawn);
	if (!drawn[0] && !drawn[1] && !drawn[2])
		strbuf_addf(&sb, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555555\">no writes recorded</text>\n",
			    ML + PW / 2, T1 + H1 / 2);
	/* The longest stall, named: the figure of the table's "Latency max". */
	if (max_lat > 0) {
		double y = y_of(&s, max_lat);

		strbuf_addf(&sb, "<path d=\"M%.1f %.1fH%.1f\" stroke=\"#555555\" stroke-dasharray=\"2 2\"/>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555555\">longest ",
			    ML, y, ML + PW, ML + PW - 4, y < T1 + 12 ? y + 12 : y - 3);
		strbuf_adds(&sb, of_write ? "write " : "attempt ");
		fmt_ms(&sb, max_lat);
		strbuf_adds(&sb, "</text>\n");
	}
	/* Moments. */
	if (j_num(j, "fault_start_ms", &v))
		vline(&sb, &s, v, "#d1242f", "fault", 0);
	if (outage && j_num(outage, "end_ms", &v))
		vline(&sb, &s, v, "#1a7f37", "recovered", 1);
	if (j_num(j, "restore_start_ms", &v))
		vline(&sb, &s, v, "#6e7781", "restore", 2);
	/* Legend of the latency panel: logical writes counted as the table
	 * counts them; attempts only as attempts. */
	strbuf_addf(&sb, "<g transform=\"translate(%.1f 40)\">\n", ML);
	if (writes) {
		const json_t *w = j_obj(m, "writes");
		double failed_attempts = 0, total = 0;
		const json_t *c;

		strbuf_adds(&sb, "<text x=\"0\" y=\"0\">logical writes:</text>\n");
		strbuf_adds(&sb, "<path d=\"M90 -4h10\" stroke=\"#1f6feb\" stroke-width=\"2\"/><text x=\"104\" y=\"0\">ok (");
		write_count(&sb, w, "ok", drawn[0]);
		strbuf_adds(&sb, ")</text>\n<path d=\"M190 -8v8\" stroke=\"#d97706\" stroke-width=\"2\"/><text x=\"196\" y=\"0\">unknown (");
		write_count(&sb, w, "unknown", drawn[1]);
		strbuf_adds(&sb, ")</text>\n<path d=\"M290 -8l6 6m0 -6l-6 6\" stroke=\"#d1242f\" stroke-width=\"2\"/><text x=\"302\" y=\"0\">failed (");
		write_count(&sb, w, "failed", drawn[2]);
		strbuf_adds(&sb, ")</text>\n");
		/* Behind them: every attempt that was not ok, counted from the
		 * class totals (the faded marks may be thinned). */
		json_array_foreach(j_arr(abc, "classes"), i, c)
			if (j_num(c, "total", &v)) {
				total += v;
				if (strcmp(j_str_or(c, "class", ""), "ok") != 0)
					failed_attempts += v;
			}
		strbuf_adds(&sb, "<path d=\"M200 14H220m-3 0a3 3 0 1 0 6 0a3 3 0 1 0 -6 0\" stroke=\"#0a3069\" stroke-width=\"1.5\" fill=\"none\"/><text x=\"230\" y=\"18\">a write retried: its wait, first attempt to end</text>\n");
		strbuf_addf(&sb, "<path d=\"M390 -8l6 6m0 -6l-6 6M402 -8v8\" stroke=\"#d1242f\" stroke-width=\"1\" opacity=\"0.35\"/><text x=\"410\" y=\"0\">attempts not ok, faded (%.0f of %.0f attempts)</text>\n",
			    abc ? failed_attempts : (double)(behind[1] + behind[2]),
			    abc ? total : (double)json_array_size(attempts));
	} else {
		strbuf_addf(&sb, "<text x=\"0\" y=\"0\">attempts (this journal has no logical writes):</text>\n"
			    "<path d=\"M250 -4h10\" stroke=\"#1f6feb\" stroke-width=\"2\"/><text x=\"264\" y=\"0\">ok (%zu)</text>\n"
			    "<path d=\"M330 -8v8\" stroke=\"#d97706\" stroke-width=\"2\"/><text x=\"336\" y=\"0\">unknown (%zu)</text>\n"
			    "<path d=\"M420 -8l6 6m0 -6l-6 6\" stroke=\"#d1242f\" stroke-width=\"2\"/><text x=\"432\" y=\"0\">failed (%zu)</text>\n",
			    drawn[0], drawn[1], drawn[2]);
	}
	strbuf_addf(&sb, "<rect x=\"0\" y=\"9\" width=\"10\" height=\"10\" fill=\"#fde2e2\"/><text x=\"14\" y=\"18\">outage (no successful write)</text>\n");
	strbuf_adds(&sb, "</g>\n");
	attempts_panel(&sb, &s, abc);
	strbuf_adds(&sb, "</svg>\n");
	return strbuf_detach(&sb);
}
