/* The four artefacts of one run, each rendered from a redacted journal and
 * written atomically into the run directory. */
#include <stdlib.h>
#include <string.h>

#include "common/fsutil.h"
#include "reports/redact.h"
#include "reports/render.h"
#include "reports/reports.h"

/* The end of the JSON string that starts at s (after its closing quote). */
static const char *string_end(const char *s)
{
	for (s++; *s && *s != '"'; s++)
		if (*s == '\\' && s[1])
			s++;
	return *s ? s + 1 : s;
}

/* Where the array opening at s closes (after ']'), or NULL when it holds
 * an array or an object: only arrays of scalars are put on one line. */
static const char *scalar_array_end(const char *s)
{
	for (s++; *s; s++) {
		if (*s == '"')
			s = string_end(s) - 1;
		else if (*s == '[' || *s == '{')
			return NULL;
		else if (*s == ']')
			return s + 1;
	}
	return NULL;
}

/* jansson's JSON_INDENT puts every element of every array on a line of its
 * own: a 2000-point series of [t_ms, latency_ms, "ok"] took five lines a
 * point and half the file.  An array of scalars goes on one line
 * ([12.0, 1.2, "ok"], [3, 9, 0, ...]); objects stay indented. */
static void add_collapsed(struct strbuf *sb, const char *pretty)
{
	for (const char *c = pretty; *c;) {
		const char *end;

		if (*c == '"') {
			end = string_end(c);
			strbuf_add(sb, c, (size_t)(end - c));
			c = end;
		} else if (*c == '[' && (end = scalar_array_end(c)) != NULL) {
			int gap = 0;

			for (const char *e = c; e < end;) {
				const char *next = *e == '"' ? string_end(e) : e + 1;

				if (*e == ' ' || *e == '\n') {
					gap = 1;
				} else {
					if (gap && sb->len && sb->buf[sb->len - 1] == ',')
						strbuf_addch(sb, ' ');
					gap = 0;
					strbuf_add(sb, e, (size_t)(next - e));
				}
				e = next;
			}
			c = end;
		} else {
			strbuf_addch(sb, *c++);
		}
	}
}

char *report_render_journal(const json_t *journal)
{
	json_t *j = redact_json(journal);
	char *dump = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	struct strbuf sb = STRBUF_INIT;

	add_collapsed(&sb, dump ? dump : "null");
	strbuf_addch(&sb, '\n');
	free(dump);
	json_decref(j);
	return strbuf_detach(&sb);
}

char *report_render_latency_svg(const json_t *journal)
{
	json_t *j = redact_json(journal);
	char *svg = svg_latency(j), *out = redact_text(svg);

	free(svg);
	json_decref(j);
	return out;
}

static int write_one(const char *dir, const char *name, char *data, struct dr_error *err)
{
	char *path = xasprintf("%s/%s", dir, name);
	int rc = fs_write_atomic(path, data, strlen(data), err);

	if (rc != 0)
		dr_error_wrap(err, "cannot write '%s'", name);
	free(path);
	free(data);
	return rc;
}

int report_write_artifacts(const json_t *journal, const char *run_dir, struct dr_error *err)
{
	int rc = -1;

	if (!json_is_object(journal)) {
		dr_error_set(err, "cannot render the reports: the journal is not a JSON object");
		goto out;
	}
	if (fs_mkdir_p(run_dir, err) != 0)
		goto out;
	if (write_one(run_dir, REPORT_FILE_JOURNAL, report_render_journal(journal), err) ||
	    write_one(run_dir, REPORT_FILE_MARKDOWN, report_render_markdown(journal), err) ||
	    write_one(run_dir, REPORT_FILE_JUNIT, report_render_junit(journal), err) ||
	    write_one(run_dir, REPORT_FILE_CHART, report_render_latency_svg(journal), err))
		goto out;
	rc = 0;
out:
	return rc;
}
