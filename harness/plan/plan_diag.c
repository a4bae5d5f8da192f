/* Plan diagnostics: collected, kept in file order, printed compiler-style. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "harness/plan/plan.h"

void plan_diags_add(struct plan_diags *diags, enum plan_diag_severity sev,
		    const char *file, unsigned line, unsigned column,
		    const char *path, const char *fmt, ...)
{
	struct plan_diag *d;
	struct strbuf msg = STRBUF_INIT;
	va_list ap;
	size_t at;

	va_start(ap, fmt);
	strbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (diags->n == diags->alloc) {
		diags->alloc = diags->alloc ? diags->alloc * 2 : 16;
		diags->items = xrealloc(diags->items, diags->alloc * sizeof(*diags->items));
	}
	/* Insert in (file, line, column) order among this file's items, so the
	 * output reads top to bottom whatever order the checks ran in.  The
	 * same message at the same place is reported once. */
	at = diags->n;
	while (at > 0) {
		const struct plan_diag *p = &diags->items[at - 1];

		if (strcmp(p->file, file ? file : "") != 0)
			break;
		if (p->line == line && p->column == column &&
		    strcmp(p->message, strbuf_str(&msg)) == 0 &&
		    strcmp(p->path, path ? path : "") == 0) {
			strbuf_release(&msg);
			return;
		}
		if (p->line < line || (p->line == line && p->column <= column))
			break;
		at--;
	}
	memmove(&diags->items[at + 1], &diags->items[at],
		(diags->n - at) * sizeof(*diags->items));
	d = &diags->items[at];
	d->severity = sev;
	d->file = xstrdup(file ? file : "");
	d->line = line;
	d->column = line ? column : 0;
	d->path = xstrdup(path ? path : "");
	d->message = strbuf_detach(&msg);
	diags->n++;
	if (sev == PLAN_DIAG_ERROR)
		diags->errors++;
	else
		diags->warnings++;
}

void plan_diags_print(FILE *f, const struct plan_diags *diags)
{
	for (size_t i = 0; i < diags->n; i++) {
		const struct plan_diag *d = &diags->items[i];

		fputs(d->file, f);
		if (d->line)
			fprintf(f, ":%u:%u", d->line, d->column);
		fputs(": ", f);
		if (d->severity == PLAN_DIAG_WARNING)
			fputs("warning: ", f);
		if (d->path[0])
			fprintf(f, "%s: ", d->path);
		fprintf(f, "%s\n", d->message);
	}
}

void plan_diags_release(struct plan_diags *diags)
{
	for (size_t i = 0; i < diags->n; i++) {
		free(diags->items[i].file);
		free(diags->items[i].path);
		free(diags->items[i].message);
	}
	free(diags->items);
	memset(diags, 0, sizeof(*diags));
}
