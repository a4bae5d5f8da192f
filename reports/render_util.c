/* Formatting helpers shared by the markdown, JUnit and SVG renderers. */
#include <ctype.h>
#include <math.h>
#include <string.h>

#include "reports/render.h"

const char *j_str(const json_t *obj, const char *key)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *j_str_or(const json_t *obj, const char *key, const char *dflt)
{
	const char *s = j_str(obj, key);

	return s ? s : dflt;
}

int j_num(const json_t *obj, const char *key, double *out)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	if (!json_is_number(v))
		return 0;
	*out = json_number_value(v);
	return isfinite(*out) ? 1 : 0;
}

const json_t *j_obj(const json_t *obj, const char *key)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	return json_is_object(v) ? v : NULL;
}

const json_t *j_arr(const json_t *obj, const char *key)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;

	return json_is_array(v) ? v : NULL;
}

void fmt_num(struct strbuf *sb, double v)
{
	char buf[64];
	size_t n;

	if (fabs(v - round(v)) < 1e-9 && fabs(v) < 1e15) {
		strbuf_addf(sb, "%.0f", v);
		return;
	}
	snprintf(buf, sizeof(buf), "%.3f", v);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	strbuf_adds(sb, buf);
}

void fmt_ms(struct strbuf *sb, double ms)
{
	double a = fabs(ms), tenths;
	const char *sign = ms < 0 ? "-" : "";
	long min;

	/* The unit follows the value as shown, not as measured: 999.96 ms is
	 * "1.00 s" (not "1000.0 ms"), 59.999 s is "1 min" (not "60.00 s"),
	 * and 119.99 s is "2 min" (not "1 min 60.0 s"). */
	if (round(a * 10.0) < 10000.0) {
		strbuf_addf(sb, "%.1f ms", ms);
		return;
	}
	if (round(a / 10.0) < 6000.0) {
		strbuf_addf(sb, "%.2f s", ms / 1000.0);
		return;
	}
	tenths = round(a / 100.0);               /* of a second */
	min = (long)(tenths / 600.0);
	tenths -= (double)min * 600.0;
	if (tenths < 0.5)
		strbuf_addf(sb, "%s%ld min", sign, min);
	else
		strbuf_addf(sb, "%s%ld min %.1f s", sign, min, tenths / 10.0);
}

void fmt_offset(struct strbuf *sb, double ms)
{
	if (fabs(ms) < 1000.0)
		strbuf_addf(sb, "+%.1f ms", ms);
	else
		strbuf_addf(sb, "+%.3f s", ms / 1000.0);
}

void fmt_unit(struct strbuf *sb, double v, const char *unit)
{
	if (!unit) {
		fmt_num(sb, v);
	} else if (strcmp(unit, "ms") == 0) {
		fmt_ms(sb, v);
	} else if (strcmp(unit, "writes") == 0) {
		fmt_num(sb, v);
		strbuf_adds(sb, fabs(v) == 1.0 ? " write" : " writes");
	} else if (strcmp(unit, "percent") == 0) {
		strbuf_addf(sb, "%.2f %%", v);
	} else if (strcmp(unit, "s") == 0) {
		strbuf_addf(sb, "%.2f s", v);
	} else {
		fmt_num(sb, v);
		strbuf_addf(sb, " %s", unit);
	}
}

void md_cell(struct strbuf *sb, const char *text)
{
	for (const char *p = text ? text : ""; *p; p++) {
		switch (*p) {
		case '|': strbuf_adds(sb, "\\|"); break;
		case '\n': strbuf_adds(sb, "<br>"); break;
		case '\r': break;
		case '<': strbuf_adds(sb, "&lt;"); break;
		case '>': strbuf_adds(sb, "&gt;"); break;
		default: strbuf_addch(sb, *p); break;
		}
	}
}

void md_code(struct strbuf *sb, const char *text)
{
	const char *t = text ? text : "";
	int ticks = strchr(t, '`') ? 2 : 1;

	strbuf_add(sb, "``", (size_t)ticks);
	if (ticks == 2)
		strbuf_addch(sb, ' ');
	for (const char *p = t; *p; p++) {
		if (*p == '|')
			strbuf_adds(sb, "\\|");
		else if (*p == '\n' || *p == '\r')
			strbuf_addch(sb, ' ');
		else
			strbuf_addch(sb, *p);
	}
	if (ticks == 2)
		strbuf_addch(sb, ' ');
	strbuf_add(sb, "``", (size_t)ticks);
}

void xml_escape(struct strbuf *sb, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
		switch (*p) {
		case '&': strbuf_adds(sb, "&amp;"); break;
		case '<': strbuf_adds(sb, "&lt;"); break;
		case '>': strbuf_adds(sb, "&gt;"); break;
		case '"': strbuf_adds(sb, "&quot;"); break;
		case '\'': strbuf_adds(sb, "&apos;"); break;
		case '\t': case '\n': case '\r': strbuf_addch(sb, (char)*p); break;
		default:
			if (*p >= 0x20)
				strbuf_addch(sb, (char)*p);
			break; /* other C0 controls are not allowed in XML 1.0 */
		}
	}
}

const char *verdict_word(const json_t *journal)
{
	const char *s = j_str(journal, "status");

	if (!s)
		return "UNKNOWN";
	if (strcmp(s, "passed") == 0)
		return "PASSED";
	if (strcmp(s, "failed") == 0)
		return "FAILED";
	if (strcmp(s, "aborted") == 0)
		return "ABORTED";
	if (strcmp(s, "error") == 0)
		return "ERROR";
	return "UNKNOWN";
}

const char *verdict_mark(const char *status)
{
	if (!status)
		return "⚠️ UNKNOWN";
	if (strcmp(status, "passed") == 0)
		return "✅ PASSED";
	if (strcmp(status, "failed") == 0)
		return "❌ FAILED";
	if (strcmp(status, "aborted") == 0)
		return "⚠️ ABORTED";
	return "⚠️ ERROR";
}

void fmt_date(struct strbuf *sb, const char *t)
{
	if (!t) {
		strbuf_adds(sb, "unknown date");
		return;
	}
	if (strlen(t) >= 19 && t[4] == '-' && t[10] == 'T') {
		strbuf_add(sb, t, 10);
		strbuf_addch(sb, ' ');
		strbuf_add(sb, t + 11, 8);
		strbuf_adds(sb, " UTC");
		return;
	}
	strbuf_adds(sb, t);
}

const json_t *find_objective(const json_t *journal, const char *name)
{
	const json_t *arr = j_arr(journal, "objectives");
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		const char *n = j_str(o, "name");

		if (n && strcmp(n, name) == 0)
			return o;
	}
	return NULL;
}
