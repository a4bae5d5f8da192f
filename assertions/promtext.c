/* Prometheus text exposition format parser (see promtext.h). */
#include "assertions/promtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/numparse.h"
#include "common/strbuf.h"

/* A cursor over one line, with what the error messages need. */
struct cursor {
	const char *s;     /* the line (not NUL-terminated) */
	size_t len;
	size_t pos;
	unsigned line;
};

static int fail(const struct cursor *c, struct dr_error *err, const char *what)
{
	size_t n = c->len < 80 ? c->len : 80;

	return dr_error_set(err, "line %u: %s in '%.*s%s'", c->line, what, (int)n, c->s,
			    c->len > 80 ? "..." : "");
}

static bool at_end(const struct cursor *c)
{
	return c->pos >= c->len;
}

static char peek(const struct cursor *c)
{
	return at_end(c) ? '\0' : c->s[c->pos];
}

static void skip_blank(struct cursor *c)
{
	while (!at_end(c) && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t'))
		c->pos++;
}

static bool name_start(char ch, bool colon)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	       (colon && ch == ':');
}

static bool name_char(char ch, bool colon)
{
	return name_start(ch, colon) || (ch >= '0' && ch <= '9');
}

/* A metric name (colon allowed) or label name; NULL when none here. */
static char *read_name(struct cursor *c, bool colon)
{
	size_t start = c->pos;

	if (!name_start(peek(c), colon))
		return NULL;
	while (!at_end(c) && name_char(c->s[c->pos], colon))
		c->pos++;
	return xstrndup(c->s + start, c->pos - start);
}

/* A quoted label value at '"', unescaping \\ \" \n. */
static int read_quoted(char **out, struct cursor *c, struct dr_error *err)
{
	struct strbuf sb = STRBUF_INIT;

	*out = NULL;
	if (peek(c) != '"')
		return fail(c, err, "expected '\"' to open a label value");
	c->pos++;
	for (;;) {
		char ch;

		if (at_end(c)) {
			strbuf_release(&sb);
			return fail(c, err, "unterminated label value");
		}
		ch = c->s[c->pos++];
		if (ch == '"')
			break;
		if (ch == '\\') {
			char esc = peek(c);

			if (esc == '\\' || esc == '"')
				strbuf_addch(&sb, esc);
			else if (esc == 'n')
				strbuf_addch(&sb, '\n');
			else {
				strbuf_release(&sb);
				return fail(c, err, "invalid escape in label value (only \\\\, \\\" "
					    "and \\n)");
			}
			c->pos++;
			continue;
		}
		strbuf_addch(&sb, ch);
	}
	*out = strbuf_detach(&sb);
	return 0;
}

void promtext_labels_free(struct prom_label *labels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(labels[i].name);
		free(labels[i].value);
	}
	free(labels);
}

/* Labels between '{' and '}' (c at '{'); allows a trailing comma and
 * blanks around the tokens.  Rejects a label name given twice. */
static int read_labels(struct prom_label **out, size_t *n, struct cursor *c,
		       struct dr_error *err)
{
	struct prom_label *labels = NULL;
	size_t count = 0, alloc = 0;

	c->pos++; /* '{' */
	for (;;) {
		char *name, *value = NULL;

		skip_blank(c);
		if (peek(c) == '}') {
			c->pos++;
			break;
		}
		name = read_name(c, false);
		if (!name) {
			promtext_labels_free(labels, count);
			return fail(c, err, at_end(c) ? "unterminated label set"
					    : "expected a label name");
		}
		for (size_t i = 0; i < count; i++) {
			if (strcmp(labels[i].name, name) == 0) {
				char what[160];

				snprintf(what, sizeof(what), "duplicate label '%s'", name);
				free(name);
				promtext_labels_free(labels, count);
				return fail(c, err, what);
			}
		}
		skip_blank(c);
		if (peek(c) != '=') {
			free(name);
			promtext_labels_free(labels, count);
			return fail(c, err, "expected '=' after a label name");
		}
		c->pos++;
		skip_blank(c);
		if (read_quoted(&value, c, err) < 0) {
			free(name);
			promtext_labels_free(labels, count);
			return -1;
		}
		if (count == alloc) {
			alloc = alloc ? alloc * 2 : 4;
			labels = xrealloc(labels, alloc * sizeof(*labels));
		}
		labels[count].name = name;
		labels[count].value = value;
		count++;
		skip_blank(c);
		if (peek(c) == ',') {
			c->pos++;
			continue;
		}
		if (peek(c) == '}') {
			c->pos++;
			break;
		}
		promtext_labels_free(labels, count);
		return fail(c, err, at_end(c) ? "unterminated label set"
				    : "expected ',' or '}' after a label value");
	}
	*out = labels;
	*n = count;
	return 0;
}

/* A sample value: a float, +Inf, -Inf, NaN (any case, as Go parses). */
static int parse_value(double *out, const char *tok)
{
	char *end = NULL;

	if (strcasecmp(tok, "+Inf") == 0 || strcasecmp(tok, "Inf") == 0) {
		*out = INFINITY;
		return 0;
	}
	if (strcasecmp(tok, "-Inf") == 0) {
		*out = -INFINITY;
		return 0;
	}
	if (strcasecmp(tok, "NaN") == 0) {
		*out = NAN;
		return 0;
	}
	/* strtod would also take hex floats and "infinity": not in the format. */
	if (!*tok || strpbrk(tok, "xXnN") || strpbrk(tok, "iI"))
		return -1;
	*out = strtod(tok, &end);
	return *end == '\0' ? 0 : -1;
}

/* The next blank-separated token into buf; returns its length (0: none). */
static size_t read_token(char *buf, size_t len, struct cursor *c)
{
	size_t start = c->pos, n;

	while (!at_end(c) && c->s[c->pos] != ' ' && c->s[c->pos] != '\t')
		c->pos++;
	n = c->pos - start;
	if (n >= len)
		n = len - 1; /* too long to be valid; the parse of it fails */
	memcpy(buf, c->s + start, n);
	buf[n] = '\0';
	return c->pos - start;
}

static void sample_free(struct prom_sample *s)
{
	free(s->name);
	promtext_labels_free(s->labels, s->n_labels);
}

static int parse_sample(struct prom_sample *out, struct cursor *c, struct dr_error *err)
{
	struct prom_sample s;
	char tok[64];
	size_t n;

	memset(&s, 0, sizeof(s));
	s.line = c->line;
	s.name = read_name(c, true);
	if (!s.name)
		return fail(c, err, "expected a metric name");
	{
		size_t after_name = c->pos;

		skip_blank(c);
		if (peek(c) == '{') {
			if (read_labels(&s.labels, &s.n_labels, c, err) < 0)
				goto bad;
			after_name = c->pos;
			skip_blank(c);
		}
		if (!at_end(c) && c->pos == after_name) {
			fail(c, err, "expected a blank before the value");
			goto bad;
		}
	}
	n = read_token(tok, sizeof(tok), c);
	if (n == 0) {
		fail(c, err, "missing value");
		goto bad;
	}
	if (n >= sizeof(tok) || parse_value(&s.value, tok) < 0) {
		char what[128];

		snprintf(what, sizeof(what), "invalid value '%s'", tok);
		fail(c, err, what);
		goto bad;
	}
	skip_blank(c);
	if (!at_end(c)) {
		int64_t ts;

		n = read_token(tok, sizeof(tok), c);
		if (n >= sizeof(tok) || parse_int64(&ts, tok, INT64_MIN, INT64_MAX) < 0) {
			char what[128];

			snprintf(what, sizeof(what), "invalid timestamp '%s' (milliseconds)", tok);
			fail(c, err, what);
			goto bad;
		}
		s.has_timestamp = true;
		s.timestamp_ms = ts;
		skip_blank(c);
		if (!at_end(c)) {
			fail(c, err, "unexpected text after the timestamp");
			goto bad;
		}
	}
	*out = s;
	return 0;
bad:
	sample_free(&s);
	return -1;
}

/* "# HELP name text" and "# TYPE name kind"; other comments are ignored. */
static int parse_comment(struct cursor *c, struct dr_error *err)
{
	static const char *const kinds[] = { "counter", "gauge", "histogram", "summary",
					     "untyped" };
	char word[16];
	char *name;
	size_t n;

	c->pos++; /* '#' */
	skip_blank(c);
	n = read_token(word, sizeof(word), c);
	if (!(n == 4 && (strcmp(word, "HELP") == 0 || strcmp(word, "TYPE") == 0)))
		return 0;
	skip_blank(c);
	name = read_name(c, true);
	if (!name)
		return fail(c, err, word[0] == 'H' ? "expected a metric name after HELP"
						   : "expected a metric name after TYPE");
	free(name);
	if (word[0] == 'H') {
		/* Docstring: anything, with \\ and \n escapes; nothing to keep. */
		if (!at_end(c) && c->s[c->pos] != ' ' && c->s[c->pos] != '\t')
			return fail(c, err, "invalid metric name after HELP");
		return 0;
	}
	if (at_end(c) || (c->s[c->pos] != ' ' && c->s[c->pos] != '\t'))
		return fail(c, err, "expected a type after the metric name");
	skip_blank(c);
	n = read_token(word, sizeof(word), c);
	for (size_t i = 0; n < sizeof(word) && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(word, kinds[i]) == 0) {
			skip_blank(c);
			return at_end(c) ? 0 : fail(c, err, "unexpected text after the type");
		}
	}
	return fail(c, err, "unknown metric type (counter, gauge, histogram, summary, untyped)");
}

void promtext_release(struct prom_doc *doc)
{
	for (size_t i = 0; i < doc->count; i++)
		sample_free(&doc->samples[i]);
	free(doc->samples);
	memset(doc, 0, sizeof(*doc));
}

int promtext_parse(struct prom_doc *out, const char *text, size_t len, struct dr_error *err)
{
	struct prom_doc doc = PROM_DOC_INIT;
	size_t pos = 0;
	unsigned line = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		struct cursor c = { text + pos, end - pos, 0, ++line };

		if (c.len > 0 && c.s[c.len - 1] == '\r')
			c.len--;
		if (memchr(c.s, '\0', c.len)) {
			fail(&c, err, "NUL byte");
			goto bad;
		}
		pos = end + 1;
		skip_blank(&c);
		if (at_end(&c))
			continue;
		if (peek(&c) == '#') {
			if (parse_comment(&c, err) < 0)
				goto bad;
			continue;
		}
		if (doc.count == doc.alloc) {
			doc.alloc = doc.alloc ? doc.alloc * 2 : 64;
			doc.samples = xrealloc(doc.samples, doc.alloc * sizeof(*doc.samples));
		}
		if (parse_sample(&doc.samples[doc.count], &c, err) < 0)
			goto bad;
		doc.count++;
	}
	*out = doc;
	return 0;
bad:
	promtext_release(&doc);
	return -1;
}

int promtext_parse_filter(struct prom_label **out, size_t *n, const char *filter,
			  struct dr_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	struct cursor c;
	int ret;
	size_t i = 0;

	*out = NULL;
	*n = 0;
	if (!filter)
		return 0;
	while (filter[i] == ' ' || filter[i] == '\t')
		i++;
	if (!filter[i])
		return 0;
	/* Accept both `a="b"` and `{a="b"}`: read it as a label set. */
	if (filter[i] != '{')
		strbuf_addch(&sb, '{');
	strbuf_adds(&sb, filter + i);
	if (filter[i] != '{')
		strbuf_addch(&sb, '}');
	c.s = sb.buf;
	c.len = sb.len;
	c.pos = 0;
	c.line = 1;
	ret = read_labels(out, n, &c, err);
	if (ret == 0) {
		skip_blank(&c);
		if (!at_end(&c)) {
			promtext_labels_free(*out, *n);
			*out = NULL;
			*n = 0;
			ret = -1;
			dr_error_set(err, "invalid label filter '%s': unexpected text after '}'",
				     filter);
		}
	} else {
		dr_error_wrap(err, "invalid label filter '%s'", filter);
	}
	strbuf_release(&sb);
	return ret;
}

static void labels_render(struct strbuf *sb, const struct prom_label *labels, size_t n)
{
	strbuf_addch(sb, '{');
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(sb, "%s%s=\"", i ? "," : "", labels[i].name);
		for (const char *p = labels[i].value; *p; p++) {
			if (*p == '\\' || *p == '"')
				strbuf_addch(sb, '\\');
			if (*p == '\n')
				strbuf_adds(sb, "\\n");
			else
				strbuf_addch(sb, *p);
		}
		strbuf_addch(sb, '"');
	}
	strbuf_addch(sb, '}');
}

static bool labels_include(const struct prom_sample *s, const struct prom_label *want,
			   size_t n_want)
{
	for (size_t i = 0; i < n_want; i++) {
		bool found = false;

		for (size_t j = 0; j < s->n_labels && !found; j++)
			found = strcmp(s->labels[j].name, want[i].name) == 0 &&
				strcmp(s->labels[j].value, want[i].value) == 0;
		/* Prometheus semantics: a missing label equals "". */
		if (!found && want[i].value[0] != '\0')
			return false;
		if (!found) {
			for (size_t j = 0; j < s->n_labels; j++)
				if (strcmp(s->labels[j].name, want[i].name) == 0)
					return false;
		}
	}
	return true;
}

int promtext_doc_find(double *out, const struct prom_doc *doc, const char *name,
		      const char *labels_filter, struct dr_error *err)
{
	struct prom_label *want = NULL;
	size_t n_want = 0, matches = 0, same_name = 0;
	const struct prom_sample *found = NULL;
	struct strbuf sb = STRBUF_INIT, filt = STRBUF_INIT;
	int ret = -1;

	if (promtext_parse_filter(&want, &n_want, labels_filter, err) < 0)
		goto out;
	for (size_t i = 0; i < doc->count; i++) {
		const struct prom_sample *s = &doc->samples[i];

		if (strcmp(s->name, name) != 0)
			continue;
		same_name++;
		if (!labels_include(s, want, n_want))
			continue;
		if (matches++ == 0)
			found = s;
	}
	labels_render(&filt, want, n_want);
	if (matches == 1) {
		*out = found->value;
		ret = 0;
		goto out;
	}
	if (matches > 1) {
		dr_error_set(err, "%zu samples of '%s' match %s; add labels to choose one", matches,
			     name, strbuf_str(&filt));
		goto out;
	}
	if (same_name == 0) {
		dr_error_set(err, "no sample named '%s'", name);
		goto out;
	}
	for (size_t i = 0, shown = 0; i < doc->count && shown < 5; i++) {
		if (strcmp(doc->samples[i].name, name) != 0)
			continue;
		if (shown++)
			strbuf_adds(&sb, ", ");
		labels_render(&sb, doc->samples[i].labels, doc->samples[i].n_labels);
	}
	dr_error_set(err, "no sample '%s' with labels %s (samples of '%s': %s%s)", name,
		     strbuf_str(&filt), name, strbuf_str(&sb), same_name > 5 ? ", ..." : "");
out:
	promtext_labels_free(want, n_want);
	strbuf_release(&sb);
	strbuf_release(&filt);
	return ret;
}

int promtext_find(double *out, const char *text, const char *name, const char *labels_filter,
		  struct dr_error *err)
{
	struct prom_doc doc = PROM_DOC_INIT;
	int ret;

	if (promtext_parse(&doc, text, text ? strlen(text) : 0, err) < 0)
		return dr_error_wrap(err, "cannot parse metrics");
	ret = promtext_doc_find(out, &doc, name, labels_filter, err);
	promtext_release(&doc);
	return ret;
}
