/* Prometheus text exposition format (version 0.0.4) parser, for `metric`
 * probes: comments, # HELP / # TYPE, labels with escapes (\\ \" \n),
 * optional timestamps, +Inf / -Inf / NaN.  Strict: a malformed line is an
 * error naming its line number and what was wrong, never skipped.
 */
#ifndef DR_ASSERTIONS_PROMTEXT_H
#define DR_ASSERTIONS_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

struct prom_label {
	char *name;
	char *value; /* unescaped */
};

struct prom_sample {
	char *name;
	struct prom_label *labels;
	size_t n_labels;
	double value;
	bool has_timestamp;
	int64_t timestamp_ms;
	unsigned line; /* 1-based line in the text */
};

struct prom_doc {
	struct prom_sample *samples;
	size_t count;
	size_t alloc;
};

#define PROM_DOC_INIT { NULL, 0, 0 }

/* Parse text[0..len).  On failure returns -1 with err like
 * "line 12: unterminated label value in 'x{a=\"b'" and *out empty. */
int promtext_parse(struct prom_doc *out, const char *text, size_t len, struct dr_error *err);
void promtext_release(struct prom_doc *doc);

/* Parse a label filter: "" (none), `a="b",c="d"` or `{a="b"}`, with the
 * same escapes as the format.  *out holds n labels (heap; free with
 * promtext_labels_free). */
int promtext_parse_filter(struct prom_label **out, size_t *n, const char *filter,
			  struct dr_error *err);
void promtext_labels_free(struct prom_label *labels, size_t n);

/* The value of the ONE sample named name whose labels include every label
 * of labels_filter (NULL or "": no constraint).  Errors: parse errors, "no
 * sample 'x' with labels {a="b"} (samples of 'x': {a="c"}, {a="d"})", and
 * "3 samples of 'x' match {…}; add labels to choose one".  */
int promtext_find(double *out, const char *text, const char *name, const char *labels_filter,
		  struct dr_error *err);
/* The same over a parsed document. */
int promtext_doc_find(double *out, const struct prom_doc *doc, const char *name,
		      const char *labels_filter, struct dr_error *err);

#endif
