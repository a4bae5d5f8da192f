/* Private helpers shared by the renderers (not part of the module's face).
 * Every formatter is deterministic: C locale number formatting only. */
#ifndef DR_REPORTS_RENDER_H
#define DR_REPORTS_RENDER_H

#include <jansson.h>

#include "common/strbuf.h"

/* Field access that tolerates missing keys and wrong types. */
const char *j_str(const json_t *obj, const char *key);        /* NULL if not a string */
int j_num(const json_t *obj, const char *key, double *out);  /* 1 if a number */
const json_t *j_obj(const json_t *obj, const char *key);     /* NULL if not an object */
const json_t *j_arr(const json_t *obj, const char *key);     /* NULL if not an array */
/* j_str with a fallback for NULL. */
const char *j_str_or(const json_t *obj, const char *key, const char *dflt);

/* "12.5 ms", "1.42 s", "2 min 3.1 s": rounded to 0.1 ms, 10 ms or 0.1 s,
 * the unit chosen after rounding. */
void fmt_ms(struct strbuf *sb, double ms);
/* An offset since the drill's start: "+12.5 ms" / "+1.420 s". */
void fmt_offset(struct strbuf *sb, double ms);
/* A value in an objective's unit (ms, writes, percent, or a bare number). */
void fmt_unit(struct strbuf *sb, double v, const char *unit);
/* A plain number without trailing zeros ("60000", "0.84"). */
void fmt_num(struct strbuf *sb, double v);

/* Escape for a markdown table cell: pipes, newlines, HTML angle brackets. */
void md_cell(struct strbuf *sb, const char *text);
/* Inline code in a table cell (backticks chosen to fit, pipes escaped). */
void md_code(struct strbuf *sb, const char *text);
/* XML text/attribute escaping; control characters XML forbids are dropped. */
void xml_escape(struct strbuf *sb, const char *text);

/* "PASSED" / "FAILED" / "ABORTED" / "ERROR" (upper case of status). */
const char *verdict_word(const json_t *journal);
/* "✅ PASSED", "❌ FAILED", "⚠️ ABORTED", "⚠️ ERROR" from a status string. */
const char *verdict_mark(const char *status);
/* "2026-11-27 14:44:20 UTC" from an RFC 3339 string (copied as-is when it
 * does not look like one). */
void fmt_date(struct strbuf *sb, const char *rfc3339);

/* The before / during / after table of measurements.phases (nothing when
 * the journal has none): report_phases.c. */
void report_phases(struct strbuf *sb, const json_t *measurements);

/* The unsafe promotion's indexes and writes at risk and lost
 * (measurements.unsafe_promotion; nothing when null): report_promotion.c. */
void report_unsafe_promotion(struct strbuf *sb, const json_t *measurements);

/* The objective named `name` or NULL. */
const json_t *find_objective(const json_t *journal, const char *name);

/* The latency chart and RTO trend chart (svg_*.c). */
char *svg_latency(const json_t *journal);
char *svg_rto_trend(const json_t *index);
/* README.md of dr-drill-results from the index (oldest first). */
char *readme_render(const json_t *index);

#endif
